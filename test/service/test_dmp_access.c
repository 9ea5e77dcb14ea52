/*
 * test_dmp_access.c - who reaches a record, on the dmp fixture
 * (dmp_fixture.h): a professional without a grant is refused and the
 * refusal is in the patient's audit trail; another patient is refused before
 * consent is asked; a grant narrowed to a class code opens only that class
 * (and only when the request names it); a grant narrowed to a LOINC code
 * opens only that measure; with consent stopped others get UNAVAILABLE
 * while the patient is served.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "services/dmp/dmp_int.h"
#include "test/service/dmp_fixture.h"

#define RPPS "81000000051"
#define DOC ESPACE__V1__CATEGORY__CATEGORY_DOCUMENTS
#define MES ESPACE__V1__CATEGORY__CATEGORY_MEASURES
#define RD ESPACE__V1__ACTION__ACTION_READ
#define WR ESPACE__V1__ACTION__ACTION_WRITE
#define K(x) ESPACE__V1__MEASURE_KIND__MEASURE_KIND_##x

static void s_weight(Espace__V1__AddMeasureRequest *q, const char *pid, const char *code)
{
    espace__v1__add_measure_request__init(q);
    q->patient_id = (char *)pid;
    q->kind = K(WEIGHT);
    q->value = 70;
    q->code = (char *)(code ? code : "");
    q->effective_ms = 1767268800000LL;
}

static void test_no_grant(void **state)
{
    (void)state;
    char pid[ID_HEX], other[ID_HEX];
    df_patient_id(pid);
    df_patient_id(other);
    uint8_t data[10] = {1, 2, 3};
    Espace__V1__DocumentMeta m;
    df_meta(&m, "11488-4");
    bus_reply_t r;
    ProtobufCMessage *hold = NULL;
    int rc = df_upload(K_PRO, RPPS, pid, &m, data, sizeof data, NULL, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "");
    Espace__V1__AuditEntry *a = df_last_audit(pid, &hold);
    assert_string_equal(a->actor, RPPS);
    assert_false(a->allowed);
    assert_int_equal(a->category, DOC);
    assert_int_equal(a->action, WR);
    assert_string_equal(a->service, SERVICE_DMP);
    codec_free(hold);
    Espace__V1__SearchDocumentsReply *s = NULL;
    rc = df_search(K_PRO, RPPS, pid, NULL, &s, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "");
    a = df_last_audit(pid, &hold);
    assert_int_equal(a->action, RD);
    assert_false(a->allowed);
    codec_free(hold);
    Espace__V1__AddMeasureRequest q;
    s_weight(&q, pid, NULL);
    rc = df_add(K_PRO, RPPS, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "");
    a = df_last_audit(pid, &hold);
    assert_int_equal(a->category, MES);
    codec_free(hold);
    /* another patient: refused before consent, on the patient field */
    rc = df_search(K_PATIENT, other, pid, NULL, &s, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "patient_id");
    rc = df_add(K_PATIENT, other, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "patient_id");
    /* the patient's own record: nothing was written by the refused calls */
    rc = df_search(K_PATIENT, pid, pid, NULL, &s, &r);
    DF_OK(rc, r);
    assert_int_equal(s->n_documents, 0);
    codec_free(&s->base);
    /* a download without a ticket */
    Espace__V1__DownloadDocumentChunkRequest d = ESPACE__V1__DOWNLOAD_DOCUMENT_CHUNK_REQUEST__INIT;
    uint8_t id[ID_BYTES] = {0};
    d.document_id = (ProtobufCBinaryData){ID_BYTES, id};
    rc = df_call(K_PRO, RPPS, SERVICE_DMP, "DownloadDocumentChunk", &d.base,
                 &espace__v1__download_document_chunk_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "ticket");
}

static void test_narrowed(void **state)
{
    (void)state;
    char pid[ID_HEX];
    df_patient_id(pid);
    const char *const cls[] = {"10"};
    df_grant(pid, RPPS, DOC, RD, cls, 1, NULL);
    df_grant(pid, RPPS, DOC, WR, cls, 1, NULL);
    bus_reply_t r;
    uint8_t data[10] = {4, 5, 6};
    Espace__V1__DocumentMeta m, *out = NULL;
    ProtobufCMessage *hold = NULL;
    /* a class-10 report naming its class: allowed; without the class: the
     * whole category, which the narrowed grant does not cover */
    df_meta(&m, "11488-4");
    int rc = df_upload(K_PRO, RPPS, pid, &m, data, sizeof data, NULL, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "");
    m.class_code = (char *)"10";
    rc = df_upload(K_PRO, RPPS, pid, &m, data, sizeof data, NULL, &out, &hold, &r);
    DF_OK(rc, r);
    uint8_t c10[ID_BYTES];
    memcpy(c10, out->id.data, ID_BYTES);
    codec_free(hold);
    Espace__V1__AuditEntry *a = df_last_audit(pid, &hold);
    assert_true(a->allowed);
    assert_string_equal(a->detail, "10");
    codec_free(hold);
    /* a class-11 synthesis: refused */
    df_meta(&m, "18761-7");
    m.class_code = (char *)"11";
    rc = df_upload(K_PRO, RPPS, pid, &m, data, sizeof data, NULL, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "");
    /* a second professional, with a grant on the whole category, files it */
    df_grant(pid, "81000000052", DOC, WR, NULL, 0, NULL);
    rc = df_upload(K_PRO, "81000000052", pid, &m, data, sizeof data, NULL, &out, &hold, &r);
    DF_OK(rc, r);
    uint8_t c11[ID_BYTES];
    memcpy(c11, out->id.data, ID_BYTES);
    codec_free(hold);
    /* search: only with the class, and then only that class */
    Espace__V1__SearchDocumentsReply *s = NULL;
    rc = df_search(K_PRO, RPPS, pid, NULL, &s, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "");
    rc = df_search(K_PRO, RPPS, pid, "10", &s, &r);
    DF_OK(rc, r);
    assert_int_equal(s->n_documents, 1);
    assert_memory_equal(s->documents[0]->id.data, c10, ID_BYTES);
    codec_free(&s->base);
    rc = df_search(K_PRO, RPPS, pid, "11", &s, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "");
    /* a class-11 document named under class 10: as unknown */
    uint8_t *back = NULL, hash[32];
    size_t blen = 0;
    rc = df_download(K_PRO, RPPS, pid, c11, "10", &back, &blen, hash, &r);
    DF_EXPECT(rc, r, ES_NOT_FOUND, "document_id");
    rc = df_download(K_PRO, RPPS, pid, c10, "10", &back, &blen, hash, &r);
    DF_OK(rc, r);
    free(back);

    /* measures narrowed to the weight's LOINC code */
    const char *const loinc[] = {"29463-7"};
    df_grant(pid, RPPS, MES, WR, loinc, 1, NULL);
    Espace__V1__AddMeasureRequest q;
    s_weight(&q, pid, NULL);
    rc = df_add(K_PRO, RPPS, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "");
    s_weight(&q, pid, "29463-7");
    Espace__V1__AddMeasureReply *mo = NULL;
    rc = df_add(K_PRO, RPPS, &q, &mo, &r);
    DF_OK(rc, r);
    assert_int_equal(mo->measure->source,
                     ESPACE__V1__MEASURE_SOURCE__MEASURE_SOURCE_PROFESSIONAL);
    assert_int_equal(mo->measure->recorded_by->kind, K_PRO);
    assert_string_equal(mo->measure->recorded_by->principal, RPPS);
    codec_free(&mo->base);
    a = df_last_audit(pid, &hold);
    assert_true(a->allowed);
    assert_string_equal(a->detail, "29463-7");
    codec_free(hold);
    s_weight(&q, pid, "8867-4");
    q.kind = K(HEART_RATE);
    rc = df_add(K_PRO, RPPS, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "");
    /* no read grant: the series stays closed */
    Espace__V1__ListMeasuresRequest lq = ESPACE__V1__LIST_MEASURES_REQUEST__INIT;
    lq.patient_id = pid;
    lq.kind = K(WEIGHT);
    lq.code = (char *)"29463-7";
    rc = df_call(K_PRO, RPPS, SERVICE_DMP, "ListMeasures", &lq.base,
                 &espace__v1__list_measures_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "");
    df_drain();
}

static void test_consent_down(void **state)
{
    (void)state;
    char pid[ID_HEX];
    df_patient_id(pid);
    df_grant(pid, RPPS, MES, WR, NULL, 0, NULL);
    assert_int_equal(h_svc_stop(&DF.consent), 0);
    Espace__V1__AddMeasureRequest q;
    s_weight(&q, pid, NULL);
    bus_reply_t r;
    int64_t t0 = bus_mono_ms();
    int rc = df_add(K_PRO, RPPS, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_UNAVAILABLE, "");
    assert_true(bus_mono_ms() - t0 < DF_CALL_MS);
    rc = df_add(K_PATIENT, pid, &q, NULL, &r); /* the patient: served */
    DF_OK(rc, r);
    df_consent_start();
    rc = df_add(K_PRO, RPPS, &q, NULL, &r);
    DF_OK(rc, r);
    df_drain();
}

/* Malformed requests: a precise refusal each, nothing crashes. */
static void test_malformed(void **state)
{
    (void)state;
    char pid[ID_HEX];
    df_patient_id(pid);
    bus_reply_t r;
    int rc;
    Espace__V1__SearchDocumentsRequest s = ESPACE__V1__SEARCH_DOCUMENTS_REQUEST__INIT;
    uint8_t junk[5] = {1, 2, 3, 4, 5};
    s.cursor = (ProtobufCBinaryData){sizeof junk, junk};
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "SearchDocuments", &s.base,
                 &espace__v1__search_documents_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "cursor");
    s.cursor = (ProtobufCBinaryData){0, NULL};
    s.limit = DMP_SEARCH_MAX + 1;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "SearchDocuments", &s.base,
                 &espace__v1__search_documents_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "limit");
    s.limit = 0;
    s.category = (Espace__V1__DocCategory)99;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "SearchDocuments", &s.base,
                 &espace__v1__search_documents_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "category");
    s.category = 0;
    s.type_code = (char *)"nope";
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "SearchDocuments", &s.base,
                 &espace__v1__search_documents_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "type_code");
    /* a patient id that is not one */
    s.type_code = NULL;
    s.patient_id = (char *)"not-hex";
    rc = df_call(K_PRO, RPPS, SERVICE_DMP, "SearchDocuments", &s.base,
                 &espace__v1__search_documents_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "patient_id");
    /* ids of the wrong length */
    Espace__V1__GetDocumentRequest g = ESPACE__V1__GET_DOCUMENT_REQUEST__INIT;
    g.document_id = (ProtobufCBinaryData){sizeof junk, junk};
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "GetDocument", &g.base,
                 &espace__v1__get_document_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "document_id");
    uint8_t id[ID_BYTES] = {9};
    g.document_id = (ProtobufCBinaryData){ID_BYTES, id};
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "GetDocument", &g.base,
                 &espace__v1__get_document_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_NOT_FOUND, "document_id");
    Espace__V1__UploadDocumentChunkRequest c = ESPACE__V1__UPLOAD_DOCUMENT_CHUNK_REQUEST__INIT;
    c.upload_id = (ProtobufCBinaryData){ID_BYTES, id};
    c.data = (ProtobufCBinaryData){sizeof junk, junk};
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "UploadDocumentChunk", &c.base,
                 &espace__v1__upload_document_chunk_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_NOT_FOUND, "upload_id");
    Espace__V1__SetMaskedRequest sm = ESPACE__V1__SET_MASKED_REQUEST__INIT;
    sm.document_id = (ProtobufCBinaryData){ID_BYTES, id};
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "SetMasked", &sm.base,
                 &espace__v1__set_masked_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_NOT_FOUND, "document_id");
    /* measures: unknown kind, a period backwards, a wrong cursor, a mode out of range */
    Espace__V1__ListMeasuresRequest l = ESPACE__V1__LIST_MEASURES_REQUEST__INIT;
    l.kind = (Espace__V1__MeasureKind)99;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ListMeasures", &l.base,
                 &espace__v1__list_measures_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "kind");
    l.kind = K(WEIGHT);
    Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
    p.start_ms = 2000;
    p.end_ms = 1000;
    l.period = &p;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ListMeasures", &l.base,
                 &espace__v1__list_measures_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "period");
    l.period = NULL;
    l.cursor = (ProtobufCBinaryData){sizeof junk, junk};
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ListMeasures", &l.base,
                 &espace__v1__list_measures_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "cursor");
    l.cursor = (ProtobufCBinaryData){0, NULL};
    l.mode = (Espace__V1__SeriesMode)7;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ListMeasures", &l.base,
                 &espace__v1__list_measures_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "mode");
    l.mode = 0;
    l.code = (char *)"8302-2";
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ListMeasures", &l.base,
                 &espace__v1__list_measures_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "code");
    Espace__V1__ExportMeasureRequest em = ESPACE__V1__EXPORT_MEASURE_REQUEST__INIT;
    em.measure_id = (ProtobufCBinaryData){ID_BYTES, id};
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ExportMeasure", &em.base,
                 &espace__v1__export_measure_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_NOT_FOUND, "measure_id");
    /* an unauthenticated caller */
    rc = df_call(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE, "", SERVICE_DMP, "ListMeasures",
                 &l.base, &espace__v1__list_measures_reply__descriptor, NULL, &r);
    assert_int_equal(rc, ES_UNAUTHENTICATED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_grant),
        cmocka_unit_test(test_narrowed),
        cmocka_unit_test(test_consent_down),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, df_setup, df_teardown);
}
