/*
 * test_dmp_review.c - the dmp service tried as an attacker and as a careless
 * client would (dmp_fixture.h): every refused call is followed by a read of
 * the state it must not have changed.
 *   - a document has at most DMP_VERSIONS_MAX versions (SetMasked masks
 *     every version it lists: none escapes the masking);
 *   - a version the patient sees cannot be replaced by one hidden from the
 *     patient (its `replaced_by` would announce the hidden one);
 *   - an app (not a professional) cannot file a document hidden from the
 *     patient who authorised it;
 *   - titles and comments refuse C1 controls, line separators and bidi
 *     overrides (what would make a title read otherwise);
 *   - BeginUpload resumed after a replacement was filed answers the filed
 *     version (a lost reply retried), not "already superseded";
 *   - SearchDocuments refuses an inverted or negative creation period;
 *   - AddMeasure refuses NaN / Inf / huge / fractional values and a unit
 *     conversion, and a refused measure leaves the series as it was (-0
 *     arrives as 0: proto3 does not send it);
 *   - ListMeasures refuses inverted, negative and huge periods, and a
 *     forged cursor answers an empty page, or one within the period;
 *   - a measure id is a retry only for the caller that recorded it: anyone
 *     else gets ALREADY_EXISTS, not the measure.
 */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "services/dmp/dmp_int.h"
#include "test/service/consent_requests.h"
#include "test/service/dmp_fixture.h"

#define RPPS "81000000041"
#define DOC ESPACE__V1__CATEGORY__CATEGORY_DOCUMENTS
#define RD ESPACE__V1__ACTION__ACTION_READ
#define WR ESPACE__V1__ACTION__ACTION_WRITE
#define K(x) ESPACE__V1__MEASURE_KIND__MEASURE_KIND_##x
#define CUR ESPACE__V1__AVAILABILITY__AVAILABILITY_CURRENT

static const uint8_t s_data[] = "a small document";

/* The metadata of version id as (kind, who) sees it (GetDocument): the
 * status; *out (codec_free *hold). */
static int s_get(int kind, const char *who, const char *pid, const uint8_t id[ID_BYTES],
                 Espace__V1__GetDocumentReply **out, bus_reply_t *r)
{
    Espace__V1__GetDocumentRequest g = ESPACE__V1__GET_DOCUMENT_REQUEST__INIT;
    g.patient_id = (char *)pid;
    g.document_id = (ProtobufCBinaryData){ID_BYTES, (uint8_t *)id};
    return df_call(kind, who, SERVICE_DMP, "GetDocument", &g.base,
                   &espace__v1__get_document_reply__descriptor, (ProtobufCMessage **)out, r);
}

/* File a new version of prev (NULL: a new document) as the patient; its id
 * into id. */
static void s_patient_version(const char *pid, const uint8_t *prev, uint8_t id[ID_BYTES])
{
    Espace__V1__DocumentMeta m, *out = NULL;
    ProtobufCMessage *hold = NULL;
    bus_reply_t r;
    df_meta(&m, "DOCPAT01");
    int rc = df_upload(K_PATIENT, pid, pid, &m, s_data, sizeof s_data, prev, &out, &hold, &r);
    DF_OK(rc, r);
    memcpy(id, out->id.data, ID_BYTES);
    codec_free(hold);
}

static void test_versions_cap(void **state)
{
    (void)state;
    char pid[ID_HEX];
    df_patient_id(pid);
    df_grant(pid, RPPS, DOC, RD, NULL, 0, NULL);
    uint8_t id[ID_BYTES], next[ID_BYTES];
    s_patient_version(pid, NULL, id);
    for (int v = 2; v <= DMP_VERSIONS_MAX; v++) {
        s_patient_version(pid, id, next);
        memcpy(id, next, ID_BYTES);
    }
    /* one more is refused, and nothing changed */
    Espace__V1__DocumentMeta m;
    df_meta(&m, "DOCPAT01");
    bus_reply_t r;
    int rc = df_upload(K_PATIENT, pid, pid, &m, s_data, sizeof s_data, id, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_FAILED_PRECONDITION, "replaces");
    Espace__V1__GetDocumentReply *g = NULL;
    rc = s_get(K_PATIENT, pid, pid, id, &g, &r);
    DF_OK(rc, r);
    assert_int_equal(g->document->availability, CUR);
    assert_int_equal(g->document->version, DMP_VERSIONS_MAX);
    assert_int_equal(g->document->replaced_by.len, 0);
    assert_int_equal(g->n_versions, DMP_VERSIONS_MAX);
    codec_free(&g->base);
    /* masking the document hides every version of it, the newest included */
    Espace__V1__SetMaskedRequest sm = ESPACE__V1__SET_MASKED_REQUEST__INIT;
    sm.document_id = (ProtobufCBinaryData){ID_BYTES, id};
    sm.masked = 1;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "SetMasked", &sm.base,
                 &espace__v1__set_masked_reply__descriptor, NULL, &r);
    DF_OK(rc, r);
    rc = s_get(K_PRO, RPPS, pid, id, &g, &r);
    DF_EXPECT(rc, r, ES_NOT_FOUND, "document_id");
    Espace__V1__SearchDocumentsReply *s = NULL;
    rc = df_search(K_PRO, RPPS, pid, NULL, &s, &r);
    DF_OK(rc, r);
    assert_int_equal(s->n_documents, 0);
    codec_free(&s->base);
    df_drain();
}

static void test_invisible_replacement(void **state)
{
    (void)state;
    char pid[ID_HEX];
    df_patient_id(pid);
    df_grant(pid, RPPS, DOC, WR, NULL, 0, NULL);
    df_grant(pid, RPPS, DOC, RD, NULL, 0, NULL);
    Espace__V1__DocumentMeta m, *out = NULL;
    ProtobufCMessage *hold = NULL;
    bus_reply_t r;
    df_meta(&m, "11502-2");
    int rc = df_upload(K_PRO, RPPS, pid, &m, s_data, sizeof s_data, NULL, &out, &hold, &r);
    DF_OK(rc, r);
    uint8_t v1[ID_BYTES];
    memcpy(v1, out->id.data, ID_BYTES);
    codec_free(hold);
    /* the patient sees v1: a hidden v2 would show through v1's replaced_by */
    m.invisible_patient = 1;
    rc = df_upload(K_PRO, RPPS, pid, &m, s_data, sizeof s_data, v1, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_FAILED_PRECONDITION, "document.invisible_patient");
    Espace__V1__GetDocumentReply *g = NULL;
    rc = s_get(K_PATIENT, pid, pid, v1, &g, &r);
    DF_OK(rc, r);
    assert_int_equal(g->document->availability, CUR);
    assert_int_equal(g->document->replaced_by.len, 0);
    assert_int_equal(g->n_versions, 1);
    codec_free(&g->base);
    /* a hidden document may get a hidden new version */
    rc = df_upload(K_PRO, RPPS, pid, &m, s_data, sizeof s_data, NULL, &out, &hold, &r);
    DF_OK(rc, r);
    uint8_t h1[ID_BYTES];
    memcpy(h1, out->id.data, ID_BYTES);
    codec_free(hold);
    rc = df_upload(K_PRO, RPPS, pid, &m, s_data, sizeof s_data, h1, &out, &hold, &r);
    DF_OK(rc, r);
    assert_int_equal(out->version, 2);
    assert_true(out->invisible_patient);
    codec_free(hold);
    Espace__V1__SearchDocumentsReply *s = NULL;
    rc = df_search(K_PATIENT, pid, pid, NULL, &s, &r);
    DF_OK(rc, r);
    assert_int_equal(s->n_documents, 1); /* v1 only */
    codec_free(&s->base);
    df_drain();
}

/* Operator AddApp of app `id` with DOCUMENTS read and write scopes, then the
 * patient pid grants them to it. */
static void s_docs_app(const char *id, const char *pid)
{
    Espace__V1__Scope s[2];
    Espace__V1__Scope *sp[2] = {&s[0], &s[1]};
    for (int i = 0; i < 2; i++) {
        espace__v1__scope__init(&s[i]);
        s[i].category = DOC;
        s[i].action = i ? WR : RD;
    }
    Espace__V1__Purpose purposes[1] = {ESPACE__V1__PURPOSE__PURPOSE_SOINS};
    cr_app_t a;
    cr_app_init(&a, id, 7);
    a.app.name = (char *)"Coffre";
    a.app.publisher = (char *)"Coffre SAS";
    a.app.description_fr = (char *)"Vos documents.";
    a.app.purposes = purposes;
    a.app.n_purposes = 1;
    a.app.scopes = sp;
    a.app.n_scopes = 2;
    bus_reply_t r;
    int rc = df_call(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "", SERVICE_CONSENT, "AddApp",
                     &a.req.base, &espace__v1__add_app_reply__descriptor, NULL, &r);
    if (rc != ES_ALREADY_EXISTS)
        DF_OK(rc, r);
    Espace__V1__GrantRequest g;
    cr_grant(&g, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, id, sp, 2, NULL);
    rc = df_call(K_PATIENT, pid, SERVICE_CONSENT, "Grant", &g.base,
                 &espace__v1__grant_reply__descriptor, NULL, &r);
    DF_OK(rc, r);
}

static void test_app_invisible(void **state)
{
    (void)state;
    char pid[ID_HEX];
    df_patient_id(pid);
    s_docs_app("app.coffre", pid);
    int app = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_APP;
    Espace__V1__DocumentMeta m;
    df_meta(&m, "11502-2");
    m.invisible_patient = 1;
    bus_reply_t r;
    int rc = df_upload(app, "app.coffre", pid, &m, s_data, sizeof s_data, NULL, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "document.invisible_patient");
    /* titles and comments: no C1 control, line separator or bidi override */
    const char *bad[] = {"CR\xc2\x85suite", "CR\xc2\x9b" "2J", "CR\xe2\x80\xa9",
                         "\xe2\x80\xae" "fdp.exe", "CR \xe2\x81\xa7x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        df_meta(&m, "DOCPAT01");
        m.title = (char *)bad[i];
        rc = df_upload(K_PATIENT, pid, pid, &m, s_data, sizeof s_data, NULL, NULL, NULL, &r);
        DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "document.title");
        df_meta(&m, "DOCPAT01");
        m.comments = (char *)bad[i];
        rc = df_upload(K_PATIENT, pid, pid, &m, s_data, sizeof s_data, NULL, NULL, NULL, &r);
        DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "document.comments");
    }
    df_meta(&m, "DOCPAT01");
    m.title = (char *)"Compte rendu \xc3\xa9t\xc3\xa9 \xe2\x80\x94 f\xc3\xa9vrier";
    rc = df_upload(K_PATIENT, pid, pid, &m, s_data, sizeof s_data, NULL, NULL, NULL, &r);
    DF_OK(rc, r);
    Espace__V1__SearchDocumentsReply *s = NULL;
    rc = df_search(app, "app.coffre", pid, NULL, &s, &r);
    DF_OK(rc, r);
    assert_int_equal(s->n_documents, 1); /* the patient's, not a hidden one */
    codec_free(&s->base);
    df_drain();
}

static void test_resume_filed_replacement(void **state)
{
    (void)state;
    char pid[ID_HEX];
    df_patient_id(pid);
    uint8_t v1[ID_BYTES], uid[ID_BYTES], hash[32];
    s_patient_version(pid, NULL, v1);
    randombytes_buf(uid, sizeof uid);
    crypto_generichash(hash, sizeof hash, s_data, sizeof s_data, NULL, 0);
    Espace__V1__DocumentMeta m;
    df_meta(&m, "DOCPAT01");
    Espace__V1__BeginUploadRequest b = ESPACE__V1__BEGIN_UPLOAD_REQUEST__INIT;
    b.patient_id = pid;
    b.upload_id = (ProtobufCBinaryData){ID_BYTES, uid};
    b.size = sizeof s_data;
    b.hash = (ProtobufCBinaryData){32, hash};
    b.document = &m;
    b.replaces = (ProtobufCBinaryData){ID_BYTES, v1};
    bus_reply_t r;
    int rc = df_call(K_PATIENT, pid, SERVICE_DMP, "BeginUpload", &b.base,
                     &espace__v1__begin_upload_reply__descriptor, NULL, &r);
    DF_OK(rc, r);
    Espace__V1__UploadDocumentChunkRequest c = ESPACE__V1__UPLOAD_DOCUMENT_CHUNK_REQUEST__INIT;
    c.upload_id = b.upload_id;
    c.data = (ProtobufCBinaryData){sizeof s_data, (uint8_t *)s_data};
    ProtobufCMessage *rep = NULL;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "UploadDocumentChunk", &c.base,
                 &espace__v1__upload_document_chunk_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    uint8_t v2[ID_BYTES];
    memcpy(v2, ((Espace__V1__UploadDocumentChunkReply *)rep)->document->id.data, ID_BYTES);
    codec_free(rep);
    /* the reply was lost: the client begins again with the same request */
    rep = NULL;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "BeginUpload", &b.base,
                 &espace__v1__begin_upload_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    Espace__V1__BeginUploadReply *br = (Espace__V1__BeginUploadReply *)rep;
    assert_true(br->complete);
    assert_non_null(br->document);
    assert_memory_equal(br->document->id.data, v2, ID_BYTES);
    assert_int_equal(br->document->version, 2);
    codec_free(rep);
    /* another upload id replacing v1 is still refused */
    randombytes_buf(uid, sizeof uid);
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "BeginUpload", &b.base,
                 &espace__v1__begin_upload_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_FAILED_PRECONDITION, "replaces");
    /* the same upload id with another content is not a resumption */
    memcpy(uid, b.upload_id.data, ID_BYTES);
    b.size = sizeof s_data + 1;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "BeginUpload", &b.base,
                 &espace__v1__begin_upload_reply__descriptor, NULL, &r);
    assert_int_not_equal(rc, 0);
    df_drain();
}

static void test_search_periods(void **state)
{
    (void)state;
    char pid[ID_HEX];
    df_patient_id(pid);
    uint8_t v1[ID_BYTES];
    s_patient_version(pid, NULL, v1);
    Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
    Espace__V1__SearchDocumentsRequest q = ESPACE__V1__SEARCH_DOCUMENTS_REQUEST__INIT;
    q.patient_id = pid;
    q.created = &p;
    bus_reply_t r;
    const int64_t bad[][2] = {{2000, 1000}, {-1, 0}, {0, -5}, {5000, 5000}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p.start_ms = bad[i][0];
        p.end_ms = bad[i][1];
        int rc = df_call(K_PATIENT, pid, SERVICE_DMP, "SearchDocuments", &q.base,
                         &espace__v1__search_documents_reply__descriptor, NULL, &r);
        DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "created");
    }
    /* unbounded on either side, and a forged cursor, still answer */
    p.start_ms = 1;
    p.end_ms = 0;
    uint8_t forged[DMP_DOC_CURSOR];
    memset(forged, 0xee, sizeof forged);
    q.cursor = (ProtobufCBinaryData){sizeof forged, forged};
    ProtobufCMessage *rep = NULL;
    int rc = df_call(K_PATIENT, pid, SERVICE_DMP, "SearchDocuments", &q.base,
                     &espace__v1__search_documents_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    assert_int_equal(((Espace__V1__SearchDocumentsReply *)rep)->n_documents, 1);
    codec_free(rep);
    df_drain();
}

/* The LatestMeasures of pid as the patient: the number of measures. */
static size_t s_latest_count(const char *pid, Espace__V1__LatestMeasuresReply **out)
{
    Espace__V1__LatestMeasuresRequest lq = ESPACE__V1__LATEST_MEASURES_REQUEST__INIT;
    lq.patient_id = (char *)pid;
    bus_reply_t r;
    int rc = df_call(K_PATIENT, pid, SERVICE_DMP, "LatestMeasures", &lq.base,
                     &espace__v1__latest_measures_reply__descriptor, (ProtobufCMessage **)out, &r);
    DF_OK(rc, r);
    return (*out)->n_measures;
}

static void test_measure_values(void **state)
{
    (void)state;
    char pid[ID_HEX];
    df_patient_id(pid);
    int64_t now = (int64_t)time(NULL) * 1000;
    Espace__V1__AddMeasureRequest q = ESPACE__V1__ADD_MEASURE_REQUEST__INIT;
    q.patient_id = pid;
    q.effective_ms = now - 60000;
    bus_reply_t r;
    /* refused values write nothing */
    const struct { int kind; double v; const char *field; } bad[] = {
        {K(WEIGHT), NAN, "value"},       {K(WEIGHT), INFINITY, "value"},
        {K(WEIGHT), -INFINITY, "value"}, {K(WEIGHT), 1e308, "value"},
        {K(WEIGHT), -0.0, "value"},      {K(PAIN), 10.5, "value"},
        {K(PAIN), 11, "value"},          {K(BMI), 22, "kind"},
        {K(STEPS), 0.5, "value"},        {K(HEIGHT), -1e-300, "value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        q.kind = bad[i].kind;
        q.value = bad[i].v;
        int rc = df_add(K_PATIENT, pid, &q, NULL, &r);
        DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, bad[i].field);
    }
    q.kind = K(WEIGHT);
    q.value = 70;
    q.unit = (char *)"[lb_av]";
    int rc = df_add(K_PATIENT, pid, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "unit");
    q.unit = NULL;
    Espace__V1__LatestMeasuresReply *l = NULL;
    assert_int_equal(s_latest_count(pid, &l), 0);
    codec_free(&l->base);
    /* -0 arrives as 0 (a proto3 zero is not sent) */
    q.kind = K(PAIN);
    q.value = -0.0;
    Espace__V1__AddMeasureReply *a = NULL;
    rc = df_add(K_PATIENT, pid, &q, &a, &r);
    DF_OK(rc, r);
    assert_false(signbit(a->measure->value));
    codec_free(&a->base);
    assert_int_equal(s_latest_count(pid, &l), 1);
    assert_false(signbit(l->measures[0]->value));
    codec_free(&l->base);
    df_drain();
}

static void test_series_ranges(void **state)
{
    (void)state;
    char pid[ID_HEX];
    df_patient_id(pid);
    Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
    Espace__V1__ListMeasuresRequest q = ESPACE__V1__LIST_MEASURES_REQUEST__INIT;
    q.patient_id = pid;
    q.kind = K(WEIGHT);
    q.period = &p;
    bus_reply_t r;
    const struct { int64_t s, e; int mode; const char *field; } bad[] = {
        {1, INT64_MAX, 0, "period"},
        {1, INT64_MAX, ESPACE__V1__SERIES_MODE__SERIES_MODE_DAILY, "period"},
        {0, 0, ESPACE__V1__SERIES_MODE__SERIES_MODE_DAILY, "period.start_ms"},
        {INT64_MAX, 1, 0, "period"},
        {-1, 0, 0, "period"},
        {INT64_MIN, INT64_MAX, ESPACE__V1__SERIES_MODE__SERIES_MODE_DAILY, "period"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p.start_ms = bad[i].s;
        p.end_ms = bad[i].e;
        q.mode = bad[i].mode;
        int rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ListMeasures", &q.base,
                         &espace__v1__list_measures_reply__descriptor, NULL, &r);
        DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, bad[i].field);
    }
    /* RAW over all time, with a forged cursor: an empty page */
    p.start_ms = 0;
    p.end_ms = INT64_MAX;
    q.mode = ESPACE__V1__SERIES_MODE__SERIES_MODE_RAW;
    uint8_t forged[DMP_SERIES_CURSOR];
    memset(forged, 0xff, sizeof forged);
    q.cursor = (ProtobufCBinaryData){sizeof forged, forged};
    ProtobufCMessage *rep = NULL;
    int rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ListMeasures", &q.base,
                     &espace__v1__list_measures_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    assert_int_equal(((Espace__V1__ListMeasuresReply *)rep)->n_measures, 0);
    codec_free(rep);
    df_drain();
}

static void test_measure_ids_and_cursors(void **state)
{
    (void)state;
    char pid[ID_HEX];
    df_patient_id(pid);
    const char *weight[] = {"29463-7"};
    df_grant(pid, RPPS, ESPACE__V1__CATEGORY__CATEGORY_MEASURES, WR, weight, 1, NULL);
    int64_t now = (int64_t)time(NULL) * 1000;
    uint8_t mid[ID_BYTES];
    randombytes_buf(mid, sizeof mid);
    Espace__V1__AddMeasureRequest q = ESPACE__V1__ADD_MEASURE_REQUEST__INIT;
    q.patient_id = pid;
    q.kind = K(WEIGHT);
    q.value = 71.5;
    q.measure_id = (ProtobufCBinaryData){ID_BYTES, mid};
    bus_reply_t r;
    int64_t days[] = {4, 3, 2};
    for (size_t i = 0; i < 3; i++) {
        q.effective_ms = now - days[i] * 86400000LL;
        if (i)
            randombytes_buf(mid, sizeof mid);
        int rc = df_add(K_PATIENT, pid, &q, NULL, &r);
        DF_OK(rc, r);
    }
    /* the patient's last measure id, sent again by a professional who may
     * only write weights: not a retry of theirs, nothing handed back */
    q.code = (char *)"29463-7";
    q.source = 0;
    q.value = 80;
    Espace__V1__AddMeasureReply *a = NULL;
    int rc = df_add(K_PRO, RPPS, &q, &a, &r);
    DF_EXPECT(rc, r, ES_ALREADY_EXISTS, "measure_id");
    codec_free(a ? &a->base : NULL);
    /* the patient's own retry is a duplicate */
    q.code = NULL;
    q.value = 71.5;
    a = NULL;
    rc = df_add(K_PATIENT, pid, &q, &a, &r);
    DF_OK(rc, r);
    assert_true(a->duplicate);
    codec_free(&a->base);
    /* a cursor forged before the period does not reach out of it */
    Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
    p.start_ms = now - 2 * 86400000LL - 3600000;
    Espace__V1__ListMeasuresRequest lq = ESPACE__V1__LIST_MEASURES_REQUEST__INIT;
    lq.patient_id = pid;
    lq.kind = K(WEIGHT);
    lq.period = &p;
    lq.mode = ESPACE__V1__SERIES_MODE__SERIES_MODE_RAW;
    uint8_t cursor[DMP_SERIES_CURSOR] = {0};
    lq.cursor = (ProtobufCBinaryData){sizeof cursor, cursor};
    ProtobufCMessage *rep = NULL;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ListMeasures", &lq.base,
                 &espace__v1__list_measures_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    Espace__V1__ListMeasuresReply *l = (Espace__V1__ListMeasuresReply *)rep;
    assert_int_equal(l->n_measures, 1);
    assert_true(l->measures[0]->effective_ms >= p.start_ms);
    codec_free(rep);
    df_drain();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions_cap),
        cmocka_unit_test(test_invisible_replacement),
        cmocka_unit_test(test_app_invisible),
        cmocka_unit_test(test_resume_filed_replacement),
        cmocka_unit_test(test_search_periods),
        cmocka_unit_test(test_measure_values),
        cmocka_unit_test(test_series_ranges),
        cmocka_unit_test(test_measure_ids_and_cursors),
    };
    return cmocka_run_group_tests(tests, df_setup, df_teardown);
}
