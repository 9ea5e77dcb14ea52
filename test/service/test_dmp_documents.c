/*
 * test_dmp_documents.c - DMP documents on a live bus (dmp_fixture.h): every
 * document type of the tender (by a professional with a grant) and every
 * DOCPAT type (by the patient) round-trips with the same bytes and hash, and
 * its FHIR DocumentReference carries the exact type and class codes;
 * uploads refused with a precise status (unknown type, hash mismatch, size
 * limit, DOCPAT by a professional); a replaced version stays readable and
 * is listed as superseded; MASQUE_PS hides a document from a professional
 * with a documents grant (search, get, download, export) but not from the
 * patient; INVISIBLE_PATIENT hides it from the patient until its author
 * releases it; live events; a restart keeps filed documents and the
 * offset of an unfinished upload, which then resumes.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/dmp/dmp_int.h"
#include "test/service/dmp_fixture.h"

#define RPPS "81000000041"
#define RPPS2 "81000000042"
#define DOC ESPACE__V1__CATEGORY__CATEGORY_DOCUMENTS
#define RD ESPACE__V1__ACTION__ACTION_READ
#define WR ESPACE__V1__ACTION__ACTION_WRITE

static void s_fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 31 + seed);
}

static void s_both_grants(const char *pid, const char *rpps)
{
    df_grant(pid, rpps, DOC, WR, NULL, 0, NULL);
    df_grant(pid, rpps, DOC, RD, NULL, 0, NULL);
}

static char *s_export(int kind, const char *who, const char *pid, const uint8_t id[ID_BYTES],
                      bus_reply_t *r, int *rc)
{
    Espace__V1__ExportDocumentRequest e = ESPACE__V1__EXPORT_DOCUMENT_REQUEST__INIT;
    e.patient_id = (char *)pid;
    e.document_id = (ProtobufCBinaryData){ID_BYTES, (uint8_t *)id};
    ProtobufCMessage *rep = NULL;
    *rc = df_call(kind, who, SERVICE_DMP, "ExportDocument", &e.base,
                  &espace__v1__export_document_reply__descriptor, &rep, r);
    char *s = NULL;
    if (*rc == 0)
        s = strdup(((Espace__V1__ExportDocumentReply *)rep)->json);
    codec_free(rep);
    return s;
}

/* Upload, download (same bytes and hash) and export one document of type
 * ty as (kind, who). */
static void s_roundtrip(int kind, const char *who, const char *pid, const dmp_doc_type_t *ty,
                        size_t len, unsigned seed)
{
    uint8_t *data = malloc(len), hash[32], got_hash[32];
    assert_non_null(data);
    s_fill(data, len, seed);
    crypto_generichash(hash, 32, data, len, NULL, 0);
    Espace__V1__DocumentMeta m, *out = NULL;
    df_meta(&m, ty->code);
    ProtobufCMessage *hold = NULL;
    bus_reply_t r;
    int rc = df_upload(kind, who, pid, &m, data, len, NULL, &out, &hold, &r);
    DF_OK(rc, r);
    assert_string_equal(out->type_code, ty->code);
    assert_string_equal(out->class_code, ty->class_code);
    assert_int_equal(out->category, ty->category);
    assert_int_equal(out->availability, ESPACE__V1__AVAILABILITY__AVAILABILITY_CURRENT);
    assert_int_equal(out->version, 1);
    assert_int_equal(out->size, len);
    assert_memory_equal(out->hash.data, hash, 32);
    assert_int_equal(out->author->kind, kind);
    assert_string_equal(out->author->principal, who);
    uint8_t id[ID_BYTES];
    memcpy(id, out->id.data, ID_BYTES);
    codec_free(hold);
    uint8_t *back = NULL;
    size_t blen = 0;
    rc = df_download(K_PATIENT, pid, pid, id, NULL, &back, &blen, got_hash, &r);
    DF_OK(rc, r);
    assert_int_equal(blen, len);
    assert_memory_equal(back, data, len);
    assert_memory_equal(got_hash, hash, 32);
    free(back);
    char *json = s_export(kind, who, pid, id, &r, &rc);
    DF_OK(rc, r);
    char want[512];
    snprintf(want, sizeof want, "\"type\":{\"coding\":[{\"system\":\"%s\",\"code\":\"%s\"",
             dmp_system_uri[ty->system], ty->code);
    if (!strstr(json, want))
        fail_msg("%s not in %s", want, json);
    snprintf(want, sizeof want, "\"category\":[{\"coding\":[{\"system\":\"%s\",\"code\":\"%s\"",
             dmp_system_uri[DMP_SYS_TRE_A03], ty->class_code);
    if (!strstr(json, want))
        fail_msg("%s not in %s", want, json);
    assert_non_null(strstr(json, "\"resourceType\":\"DocumentReference\""));
    assert_non_null(strstr(json, "\"status\":\"current\""));
    snprintf(want, sizeof want, "\"size\":%zu", len);
    assert_non_null(strstr(json, want));
    free(json);
    free(data);
}

static void test_every_type(void **state)
{
    (void)state;
    char pid[ID_HEX];
    df_patient_id(pid);
    s_both_grants(pid, RPPS);
    size_t pro = 0, pat = 0;
    for (size_t i = 0; i < dmp_n_doc_types; i++) {
        const dmp_doc_type_t *ty = &dmp_doc_types[i];
        /* sizes: empty tail, one piece, several pieces with a short tail */
        size_t len = i == 0 ? 3 * DF_PIECE + 17 : 100 + i;
        if (ty->patient) {
            s_roundtrip(K_PATIENT, pid, pid, ty, len, (unsigned)i);
            pat++;
        } else {
            s_roundtrip(K_PRO, RPPS, pid, ty, len, (unsigned)i);
            pro++;
        }
    }
    assert_int_equal(pro, 35); /* the tender's 34, "Synthèse du dossier médical" twice */
    assert_int_equal(pat, 9);
    Espace__V1__SearchDocumentsReply *s = NULL;
    bus_reply_t r;
    int rc = df_search(K_PATIENT, pid, pid, NULL, &s, &r);
    DF_OK(rc, r);
    assert_int_equal(s->n_documents, dmp_n_doc_types);
    codec_free(&s->base);
    df_drain();
}

static void test_refusals(void **state)
{
    (void)state;
    char pid[ID_HEX];
    df_patient_id(pid);
    s_both_grants(pid, RPPS);
    uint8_t data[100];
    s_fill(data, sizeof data, 1);
    Espace__V1__DocumentMeta m;
    bus_reply_t r;
    df_meta(&m, "12345-6");
    int rc = df_upload(K_PRO, RPPS, pid, &m, data, sizeof data, NULL, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "document.type_code");
    df_meta(&m, "DOCPAT03");
    rc = df_upload(K_PRO, RPPS, pid, &m, data, sizeof data, NULL, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "document.type_code");
    df_meta(&m, "11488-4");
    rc = df_upload(K_PATIENT, pid, pid, &m, data, sizeof data, NULL, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "document.type_code");
    m.class_code = (char *)"77";
    rc = df_upload(K_PRO, RPPS, pid, &m, data, sizeof data, NULL, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "document.class_code");
    df_meta(&m, "11488-4");
    m.mime_type = (char *)"application/x-msdownload";
    rc = df_upload(K_PRO, RPPS, pid, &m, data, sizeof data, NULL, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "document.mime_type");
    df_meta(&m, "11488-4");
    m.title = (char *)"";
    rc = df_upload(K_PRO, RPPS, pid, &m, data, sizeof data, NULL, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "document.title");

    /* size limit and hash mismatch */
    uint8_t uid[ID_BYTES], hash[32] = {0};
    randombytes_buf(uid, sizeof uid);
    df_meta(&m, "11488-4");
    Espace__V1__BeginUploadRequest b = ESPACE__V1__BEGIN_UPLOAD_REQUEST__INIT;
    b.patient_id = pid;
    b.upload_id = (ProtobufCBinaryData){ID_BYTES, uid};
    b.size = DMP_DOC_MAX + 1;
    b.hash = (ProtobufCBinaryData){32, hash};
    b.document = &m;
    rc = df_call(K_PRO, RPPS, SERVICE_DMP, "BeginUpload", &b.base,
                 &espace__v1__begin_upload_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_TOO_LARGE, "size");
    b.size = sizeof data; /* hash of zeros: wrong */
    rc = df_call(K_PRO, RPPS, SERVICE_DMP, "BeginUpload", &b.base,
                 &espace__v1__begin_upload_reply__descriptor, NULL, &r);
    DF_OK(rc, r);
    Espace__V1__UploadDocumentChunkRequest c = ESPACE__V1__UPLOAD_DOCUMENT_CHUNK_REQUEST__INIT;
    c.upload_id = b.upload_id;
    c.data = (ProtobufCBinaryData){sizeof data, data};
    /* another caller cannot push pieces into it */
    rc = df_call(K_PRO, RPPS2, SERVICE_DMP, "UploadDocumentChunk", &c.base,
                 &espace__v1__upload_document_chunk_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_NOT_FOUND, "upload_id");
    c.offset = 5;
    rc = df_call(K_PRO, RPPS, SERVICE_DMP, "UploadDocumentChunk", &c.base,
                 &espace__v1__upload_document_chunk_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_FAILED_PRECONDITION, "offset");
    c.offset = 0;
    rc = df_call(K_PRO, RPPS, SERVICE_DMP, "UploadDocumentChunk", &c.base,
                 &espace__v1__upload_document_chunk_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "hash");
    /* restarted from 0: resuming tells it */
    ProtobufCMessage *rep = NULL;
    rc = df_call(K_PRO, RPPS, SERVICE_DMP, "BeginUpload", &b.base,
                 &espace__v1__begin_upload_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    assert_int_equal(((Espace__V1__BeginUploadReply *)rep)->next_offset, 0);
    assert_false(((Espace__V1__BeginUploadReply *)rep)->complete);
    codec_free(rep);
    Espace__V1__SearchDocumentsReply *s = NULL;
    rc = df_search(K_PATIENT, pid, pid, NULL, &s, &r);
    DF_OK(rc, r);
    assert_int_equal(s->n_documents, 0); /* nothing filed */
    codec_free(&s->base);
}

static void test_versions(void **state)
{
    (void)state;
    char pid[ID_HEX], topic[TOPIC_MAX + 1];
    df_patient_id(pid);
    assert_int_equal(topic_patient(topic, sizeof topic, pid, TOPIC_AREA_DMP), 0);
    s_both_grants(pid, RPPS);
    df_drain();
    uint8_t v1data[50], v2data[70];
    s_fill(v1data, sizeof v1data, 3);
    s_fill(v2data, sizeof v2data, 4);
    Espace__V1__DocumentMeta m, *out = NULL;
    ProtobufCMessage *hold = NULL;
    bus_reply_t r;
    df_meta(&m, "11502-2");
    int rc = df_upload(K_PRO, RPPS, pid, &m, v1data, sizeof v1data, NULL, &out, &hold, &r);
    DF_OK(rc, r);
    uint8_t v1[ID_BYTES], unique[ID_BYTES];
    memcpy(v1, out->id.data, ID_BYTES);
    memcpy(unique, out->unique_id.data, ID_BYTES);
    codec_free(hold);
    Espace__V1__DmpEvent *ev = df_event(topic, 2000);
    assert_non_null(ev);
    assert_int_equal(ev->kind, ESPACE__V1__DMP_EVENT_KIND__DMP_EVENT_KIND_DOCUMENT_FILED);
    assert_memory_equal(ev->document->id.data, v1, ID_BYTES);
    codec_free(&ev->base);

    /* another class for the new version: refused */
    m.class_code = (char *)"11";
    rc = df_upload(K_PRO, RPPS, pid, &m, v2data, sizeof v2data, v1, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "document.class_code");
    /* the patient cannot replace a professional's document */
    df_meta(&m, "DOCPAT05");
    rc = df_upload(K_PATIENT, pid, pid, &m, v2data, sizeof v2data, v1, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "replaces");
    df_meta(&m, "11502-2");
    rc = df_upload(K_PRO, RPPS, pid, &m, v2data, sizeof v2data, v1, &out, &hold, &r);
    DF_OK(rc, r);
    uint8_t v2[ID_BYTES];
    memcpy(v2, out->id.data, ID_BYTES);
    assert_int_equal(out->version, 2);
    assert_memory_equal(out->unique_id.data, unique, ID_BYTES);
    assert_memory_equal(out->replaces.data, v1, ID_BYTES);
    codec_free(hold);
    /* v1 is superseded: replacing it again is refused */
    rc = df_upload(K_PRO, RPPS, pid, &m, v2data, sizeof v2data, v1, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_FAILED_PRECONDITION, "replaces");

    /* both listed, each with its status; the old one still readable */
    Espace__V1__SearchDocumentsReply *s = NULL;
    rc = df_search(K_PRO, RPPS, pid, NULL, &s, &r);
    DF_OK(rc, r);
    assert_int_equal(s->n_documents, 2);
    assert_memory_equal(s->documents[0]->id.data, v2, ID_BYTES); /* newest first */
    assert_int_equal(s->documents[0]->availability, ESPACE__V1__AVAILABILITY__AVAILABILITY_CURRENT);
    assert_memory_equal(s->documents[1]->id.data, v1, ID_BYTES);
    assert_int_equal(s->documents[1]->availability,
                     ESPACE__V1__AVAILABILITY__AVAILABILITY_SUPERSEDED);
    assert_memory_equal(s->documents[1]->replaced_by.data, v2, ID_BYTES);
    codec_free(&s->base);
    uint8_t *back = NULL, hash[32];
    size_t blen = 0;
    rc = df_download(K_PRO, RPPS, pid, v1, NULL, &back, &blen, hash, &r);
    DF_OK(rc, r);
    assert_int_equal(blen, sizeof v1data);
    assert_memory_equal(back, v1data, sizeof v1data);
    free(back);
    /* GetDocument lists both versions */
    Espace__V1__GetDocumentRequest g = ESPACE__V1__GET_DOCUMENT_REQUEST__INIT;
    g.patient_id = pid;
    g.document_id = (ProtobufCBinaryData){ID_BYTES, v2};
    ProtobufCMessage *rep = NULL;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "GetDocument", &g.base,
                 &espace__v1__get_document_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    Espace__V1__GetDocumentReply *gr = (Espace__V1__GetDocumentReply *)rep;
    assert_int_equal(gr->n_versions, 2);
    assert_int_equal(gr->versions[0]->version, 1);
    assert_int_equal(gr->versions[1]->version, 2);
    codec_free(rep);
    /* the superseded FHIR status and the RPLC relation */
    char *json = s_export(K_PRO, RPPS, pid, v1, &r, &rc);
    DF_OK(rc, r);
    assert_non_null(strstr(json, "\"status\":\"superseded\""));
    free(json);
    json = s_export(K_PRO, RPPS, pid, v2, &r, &rc);
    DF_OK(rc, r);
    assert_non_null(strstr(json, "\"relatesTo\":[{\"code\":\"replaces\""));
    free(json);
    /* search filters: availability, type, author, category */
    Espace__V1__SearchDocumentsRequest sr = ESPACE__V1__SEARCH_DOCUMENTS_REQUEST__INIT;
    sr.patient_id = pid;
    sr.availability = ESPACE__V1__AVAILABILITY__AVAILABILITY_CURRENT;
    rep = NULL;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "SearchDocuments", &sr.base,
                 &espace__v1__search_documents_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    assert_int_equal(((Espace__V1__SearchDocumentsReply *)rep)->n_documents, 1);
    codec_free(rep);
    sr.availability = 0;
    sr.category = ESPACE__V1__DOC_CATEGORY__DOC_CATEGORY_IMAGING;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "SearchDocuments", &sr.base,
                 &espace__v1__search_documents_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    assert_int_equal(((Espace__V1__SearchDocumentsReply *)rep)->n_documents, 0);
    codec_free(rep);
    sr.category = ESPACE__V1__DOC_CATEGORY__DOC_CATEGORY_BIOLOGY;
    sr.limit = 1;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "SearchDocuments", &sr.base,
                 &espace__v1__search_documents_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    Espace__V1__SearchDocumentsReply *p1 = (Espace__V1__SearchDocumentsReply *)rep;
    assert_int_equal(p1->n_documents, 1);
    assert_int_equal(p1->next_cursor.len, DMP_DOC_CURSOR);
    uint8_t cur[DMP_DOC_CURSOR];
    memcpy(cur, p1->next_cursor.data, sizeof cur);
    codec_free(rep);
    sr.cursor = (ProtobufCBinaryData){sizeof cur, cur};
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "SearchDocuments", &sr.base,
                 &espace__v1__search_documents_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    p1 = (Espace__V1__SearchDocumentsReply *)rep;
    assert_int_equal(p1->n_documents, 1);
    assert_memory_equal(p1->documents[0]->id.data, v1, ID_BYTES);
    assert_int_equal(p1->next_cursor.len, 0);
    codec_free(rep);
    Espace__V1__Author au = ESPACE__V1__AUTHOR__INIT;
    au.kind = K_PRO;
    au.principal = (char *)RPPS2;
    sr.cursor = (ProtobufCBinaryData){0, NULL};
    sr.limit = 0;
    sr.author = &au;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "SearchDocuments", &sr.base,
                 &espace__v1__search_documents_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    assert_int_equal(((Espace__V1__SearchDocumentsReply *)rep)->n_documents, 0);
    codec_free(rep);
    df_drain();
}

static void test_masking(void **state)
{
    (void)state;
    char pid[ID_HEX], topic[TOPIC_MAX + 1];
    df_patient_id(pid);
    assert_int_equal(topic_patient(topic, sizeof topic, pid, TOPIC_AREA_DMP), 0);
    s_both_grants(pid, RPPS);
    s_both_grants(pid, RPPS2);
    uint8_t data[40];
    s_fill(data, sizeof data, 9);
    Espace__V1__DocumentMeta m, *out = NULL;
    ProtobufCMessage *hold = NULL;
    bus_reply_t r;
    df_meta(&m, "34112-3");
    int rc = df_upload(K_PRO, RPPS, pid, &m, data, sizeof data, NULL, &out, &hold, &r);
    DF_OK(rc, r);
    uint8_t id[ID_BYTES];
    memcpy(id, out->id.data, ID_BYTES);
    codec_free(hold);

    /* the patient masks it: invisible to a professional with a documents grant */
    Espace__V1__SetMaskedRequest sm = ESPACE__V1__SET_MASKED_REQUEST__INIT;
    sm.document_id = (ProtobufCBinaryData){ID_BYTES, id};
    sm.masked = 1;
    rc = df_call(K_PRO, RPPS, SERVICE_DMP, "SetMasked", &sm.base,
                 &espace__v1__set_masked_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "");
    /* a ticket taken before the masking stops working after it */
    Espace__V1__GetDocumentRequest g = ESPACE__V1__GET_DOCUMENT_REQUEST__INIT;
    g.patient_id = pid;
    g.document_id = (ProtobufCBinaryData){ID_BYTES, id};
    ProtobufCMessage *rep = NULL;
    rc = df_call(K_PRO, RPPS2, SERVICE_DMP, "GetDocument", &g.base,
                 &espace__v1__get_document_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    uint8_t ticket[DMP_TICKET_BYTES];
    memcpy(ticket, ((Espace__V1__GetDocumentReply *)rep)->download_ticket.data, sizeof ticket);
    codec_free(rep);
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "SetMasked", &sm.base,
                 &espace__v1__set_masked_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    assert_true(((Espace__V1__SetMaskedReply *)rep)->document->masked_ps);
    codec_free(rep);
    Espace__V1__SearchDocumentsReply *s = NULL;
    rc = df_search(K_PRO, RPPS2, pid, NULL, &s, &r);
    DF_OK(rc, r);
    assert_int_equal(s->n_documents, 0);
    codec_free(&s->base);
    rc = df_call(K_PRO, RPPS2, SERVICE_DMP, "GetDocument", &g.base,
                 &espace__v1__get_document_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_NOT_FOUND, "document_id");
    Espace__V1__DownloadDocumentChunkRequest d = ESPACE__V1__DOWNLOAD_DOCUMENT_CHUNK_REQUEST__INIT;
    d.document_id = g.document_id;
    d.ticket = (ProtobufCBinaryData){sizeof ticket, ticket};
    rc = df_call(K_PRO, RPPS2, SERVICE_DMP, "DownloadDocumentChunk", &d.base,
                 &espace__v1__download_document_chunk_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_NOT_FOUND, "document_id");
    /* the ticket is bound to its caller */
    rc = df_call(K_PRO, RPPS, SERVICE_DMP, "DownloadDocumentChunk", &d.base,
                 &espace__v1__download_document_chunk_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "ticket");
    int erc = 0;
    char *json = s_export(K_PRO, RPPS2, pid, id, &r, &erc);
    assert_null(json);
    DF_EXPECT(erc, r, ES_NOT_FOUND, "document_id");
    /* even its author no longer sees it, nor replaces it */
    rc = df_upload(K_PRO, RPPS, pid, &m, data, sizeof data, id, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_NOT_FOUND, "replaces");
    /* the patient does, marked */
    rc = df_search(K_PATIENT, pid, pid, NULL, &s, &r);
    DF_OK(rc, r);
    assert_int_equal(s->n_documents, 1);
    assert_true(s->documents[0]->masked_ps);
    codec_free(&s->base);
    json = s_export(K_PATIENT, pid, pid, id, &r, &erc);
    DF_OK(erc, r);
    assert_non_null(strstr(json, "\"code\":\"MASQUE_PS\""));
    free(json);
    uint8_t *back = NULL, hash[32];
    size_t blen = 0;
    rc = df_download(K_PATIENT, pid, pid, id, NULL, &back, &blen, hash, &r);
    DF_OK(rc, r);
    free(back);
    /* resuming the finished upload of a masked document does not give it out */
    {
        uint8_t uid[ID_BYTES], h[32];
        randombytes_buf(uid, sizeof uid);
        crypto_generichash(h, sizeof h, data, sizeof data, NULL, 0);
        Espace__V1__DocumentMeta m2;
        df_meta(&m2, "11488-4");
        Espace__V1__BeginUploadRequest b = ESPACE__V1__BEGIN_UPLOAD_REQUEST__INIT;
        b.patient_id = pid;
        b.upload_id = (ProtobufCBinaryData){ID_BYTES, uid};
        b.size = sizeof data;
        b.hash = (ProtobufCBinaryData){32, h};
        b.document = &m2;
        rc = df_call(K_PRO, RPPS, SERVICE_DMP, "BeginUpload", &b.base,
                     &espace__v1__begin_upload_reply__descriptor, NULL, &r);
        DF_OK(rc, r);
        Espace__V1__UploadDocumentChunkRequest c = ESPACE__V1__UPLOAD_DOCUMENT_CHUNK_REQUEST__INIT;
        c.upload_id = b.upload_id;
        c.data = (ProtobufCBinaryData){sizeof data, data};
        rc = df_call(K_PRO, RPPS, SERVICE_DMP, "UploadDocumentChunk", &c.base,
                     &espace__v1__upload_document_chunk_reply__descriptor, &rep, &r);
        DF_OK(rc, r);
        Espace__V1__SetMaskedRequest sm2 = ESPACE__V1__SET_MASKED_REQUEST__INIT;
        sm2.document_id = ((Espace__V1__UploadDocumentChunkReply *)rep)->document->id;
        sm2.masked = 1;
        rc = df_call(K_PATIENT, pid, SERVICE_DMP, "SetMasked", &sm2.base,
                     &espace__v1__set_masked_reply__descriptor, NULL, &r);
        DF_OK(rc, r);
        codec_free(rep);
        rc = df_call(K_PRO, RPPS, SERVICE_DMP, "BeginUpload", &b.base,
                     &espace__v1__begin_upload_reply__descriptor, NULL, &r);
        DF_EXPECT(rc, r, ES_NOT_FOUND, "upload_id");
    }
    /* unmasked: visible again */
    sm.masked = 0;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "SetMasked", &sm.base,
                 &espace__v1__set_masked_reply__descriptor, NULL, &r);
    DF_OK(rc, r);
    rc = df_search(K_PRO, RPPS2, pid, NULL, &s, &r);
    DF_OK(rc, r);
    assert_int_equal(s->n_documents, 1);
    assert_false(s->documents[0]->masked_ps);
    codec_free(&s->base);
    df_drain();

    /* INVISIBLE_PATIENT: not shown to the patient until its author releases it */
    df_meta(&m, "11502-2");
    m.invisible_patient = 1;
    rc = df_upload(K_PRO, RPPS, pid, &m, data, sizeof data, NULL, &out, &hold, &r);
    DF_OK(rc, r);
    uint8_t hid[ID_BYTES];
    memcpy(hid, out->id.data, ID_BYTES);
    codec_free(hold);
    Espace__V1__DmpEvent *ev = df_event(topic, 300);
    assert_null(ev); /* not published to the patient */
    rc = df_search(K_PATIENT, pid, pid, NULL, &s, &r);
    DF_OK(rc, r);
    assert_int_equal(s->n_documents, 2); /* the two filed above, not this one */
    codec_free(&s->base);
    rc = df_download(K_PATIENT, pid, pid, hid, NULL, &back, &blen, hash, &r);
    DF_EXPECT(rc, r, ES_NOT_FOUND, "document_id");
    rc = df_search(K_PRO, RPPS2, pid, NULL, &s, &r);
    DF_OK(rc, r);
    assert_int_equal(s->n_documents, 2); /* this one and the unmasked one */
    codec_free(&s->base);
    /* the patient cannot file invisible documents */
    df_meta(&m, "DOCPAT01");
    m.invisible_patient = 1;
    rc = df_upload(K_PATIENT, pid, pid, &m, data, sizeof data, NULL, NULL, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "document.invisible_patient");
    /* only its author releases it */
    Espace__V1__ReleaseRequest rl = ESPACE__V1__RELEASE_REQUEST__INIT;
    rl.patient_id = pid;
    rl.document_id = (ProtobufCBinaryData){ID_BYTES, hid};
    rc = df_call(K_PRO, RPPS2, SERVICE_DMP, "Release", &rl.base,
                 &espace__v1__release_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_PERMISSION_DENIED, "document_id");
    rc = df_call(K_PRO, RPPS, SERVICE_DMP, "Release", &rl.base,
                 &espace__v1__release_reply__descriptor, NULL, &r);
    DF_OK(rc, r);
    ev = df_event(topic, 2000);
    assert_non_null(ev);
    assert_int_equal(ev->kind, ESPACE__V1__DMP_EVENT_KIND__DMP_EVENT_KIND_DOCUMENT_RELEASED);
    codec_free(&ev->base);
    rc = df_download(K_PATIENT, pid, pid, hid, NULL, &back, &blen, hash, &r);
    DF_OK(rc, r);
    assert_int_equal(blen, sizeof data);
    free(back);
    df_drain();
}

static void test_restart(void **state)
{
    (void)state;
    char pid[ID_HEX];
    df_patient_id(pid);
    s_both_grants(pid, RPPS);
    enum { LEN = 3 * DF_PIECE };
    uint8_t *data = malloc(LEN), uid[ID_BYTES], hash[32];
    assert_non_null(data);
    s_fill(data, LEN, 77);
    crypto_generichash(hash, sizeof hash, data, LEN, NULL, 0);
    randombytes_buf(uid, sizeof uid);
    Espace__V1__DocumentMeta m;
    df_meta(&m, "34874-8");
    Espace__V1__BeginUploadRequest b = ESPACE__V1__BEGIN_UPLOAD_REQUEST__INIT;
    b.patient_id = pid;
    b.upload_id = (ProtobufCBinaryData){ID_BYTES, uid};
    b.size = LEN;
    b.hash = (ProtobufCBinaryData){32, hash};
    b.document = &m;
    bus_reply_t r;
    int rc = df_call(K_PRO, RPPS, SERVICE_DMP, "BeginUpload", &b.base,
                     &espace__v1__begin_upload_reply__descriptor, NULL, &r);
    DF_OK(rc, r);
    Espace__V1__UploadDocumentChunkRequest c = ESPACE__V1__UPLOAD_DOCUMENT_CHUNK_REQUEST__INIT;
    c.upload_id = b.upload_id;
    c.data = (ProtobufCBinaryData){DF_PIECE, data};
    rc = df_call(K_PRO, RPPS, SERVICE_DMP, "UploadDocumentChunk", &c.base,
                 &espace__v1__upload_document_chunk_reply__descriptor, NULL, &r);
    DF_OK(rc, r);
    /* restart: the acknowledged piece is there */
    assert_int_equal(h_svc_stop(&DF.dmp), 0);
    df_dmp_start();
    ProtobufCMessage *rep = NULL;
    rc = df_call(K_PRO, RPPS, SERVICE_DMP, "BeginUpload", &b.base,
                 &espace__v1__begin_upload_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    assert_int_equal(((Espace__V1__BeginUploadReply *)rep)->next_offset, DF_PIECE);
    codec_free(rep);
    for (uint64_t off = DF_PIECE; off < LEN; off += DF_PIECE) {
        c.offset = off;
        c.data = (ProtobufCBinaryData){DF_PIECE, data + off};
        rep = NULL;
        rc = df_call(K_PRO, RPPS, SERVICE_DMP, "UploadDocumentChunk", &c.base,
                     &espace__v1__upload_document_chunk_reply__descriptor, &rep, &r);
        DF_OK(rc, r);
        if (off + DF_PIECE < LEN)
            codec_free(rep);
    }
    Espace__V1__UploadDocumentChunkReply *u = (Espace__V1__UploadDocumentChunkReply *)rep;
    assert_true(u->complete);
    uint8_t id[ID_BYTES];
    memcpy(id, u->document->id.data, ID_BYTES);
    codec_free(rep);
    /* resuming a filed upload answers the document */
    rc = df_call(K_PRO, RPPS, SERVICE_DMP, "BeginUpload", &b.base,
                 &espace__v1__begin_upload_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    assert_true(((Espace__V1__BeginUploadReply *)rep)->complete);
    assert_memory_equal(((Espace__V1__BeginUploadReply *)rep)->document->id.data, id, ID_BYTES);
    codec_free(rep);
    /* restart again: the filed document reads back whole */
    assert_int_equal(h_svc_stop(&DF.dmp), 0);
    df_dmp_start();
    uint8_t *back = NULL, got[32];
    size_t blen = 0;
    rc = df_download(K_PATIENT, pid, pid, id, NULL, &back, &blen, got, &r);
    DF_OK(rc, r);
    assert_int_equal(blen, LEN);
    assert_memory_equal(back, data, LEN);
    assert_memory_equal(got, hash, 32);
    free(back);
    free(data);
    df_drain();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_masking),
        cmocka_unit_test(test_restart),
    };
    return cmocka_run_group_tests(tests, df_setup, df_teardown);
}
