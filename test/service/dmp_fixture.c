/* dmp_fixture.c - the dmp scenarios' fixture (dmp_fixture.h). */
#include "test/service/dmp_fixture.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

df_t DF;

/* ---- fixture ---- */

void df_consent_start(void)
{
    sc_consent_start(&DF.h, &DF.consent, DF.cl);
}

void df_dmp_start(void)
{
    /* An unguarded method any caller may make: a DownloadDocumentChunk with
     * no ticket answers PERMISSION_DENIED, which still proves routing. Use
     * a patient's LatestMeasures instead: served, allowed at once. */
    Espace__V1__LatestMeasuresRequest req = ESPACE__V1__LATEST_MEASURES_REQUEST__INIT;
    assert_int_equal(h_svc_start(&DF.h, &DF.dmp, &dmp_service), 0);
    int64_t end = bus_mono_ms() + 5000;
    int rc = -1;
    while (rc != 0 && bus_mono_ms() < end) {
        ProtobufCMessage *rep = NULL;
        rc = df_call(K_PATIENT, "00000000000000000000000000000001", SERVICE_DMP, "LatestMeasures",
                     &req.base, &espace__v1__latest_measures_reply__descriptor, &rep, NULL);
        codec_free(rep);
        if (rc != 0)
            h_sleep_ms(20);
    }
    assert_int_equal(rc, 0);
}

int df_setup(void **state)
{
    (void)state;
    static const char *const prefixes[] = {"patient.", NULL};
    memset(&DF, 0, sizeof DF);
    if (sodium_init() < 0 || sc_setup(&DF.h, DF_HB_MS, &DF.cl, &DF.events, prefixes) != 0)
        return -1;
    df_consent_start();
    df_dmp_start();
    h_sleep_ms(300); /* subscriptions reach the publishers */
    return 0;
}

int df_teardown(void **state)
{
    (void)state;
    return sc_teardown(&DF.h, &DF.cl, &DF.events, &DF.dmp, &DF.consent);
}

void df_patient_id(char out[ID_HEX])
{
    sc_patient_id(DF.cl, DF_CALL_MS, out);
}

/* ---- calls ---- */

int df_call(int kind, const char *who, const char *service, const char *method,
            const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rdesc,
            ProtobufCMessage **rep, bus_reply_t *r)
{
    bus_reply_t tmp;
    ProtobufCMessage *own = NULL;
    memset(&tmp, 0, sizeof tmp);
    Espace__V1__Caller c = h_caller((Espace__V1__PrincipalKind)kind, who);
    int rc = bus_call(DF.cl, service, method, req, rdesc, DF_CALL_MS, &c, rep ? rep : &own,
                      r ? r : &tmp);
    codec_free(own);
    return rc;
}

void df_grant(const char *pid, const char *rpps, Espace__V1__Category cat,
              Espace__V1__Action action, const char *const *codes, size_t n, uint8_t *gid)
{
    Espace__V1__Scope s = ESPACE__V1__SCOPE__INIT;
    s.category = cat;
    s.action = action;
    s.codes = (char **)codes;
    s.n_codes = n;
    Espace__V1__Scope *sp[1] = {&s};
    Espace__V1__GrantRequest req = ESPACE__V1__GRANT_REQUEST__INIT;
    req.grantee_kind = ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL;
    req.grantee_id = (char *)rpps;
    req.scopes = sp;
    req.n_scopes = 1;
    req.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    bus_reply_t r;
    ProtobufCMessage *rep = NULL;
    memset(&r, 0, sizeof r);
    int rc = df_call(K_PATIENT, pid, SERVICE_CONSENT, "Grant", &req.base,
                     &espace__v1__grant_reply__descriptor, &rep, &r);
    if (rc != 0)
        fail_msg("Grant: %s %s %s", es_status_name(rc), r.field, r.message);
    Espace__V1__GrantReply *g = (Espace__V1__GrantReply *)rep;
    if (gid && g->grant && g->grant->id.len == ID_BYTES)
        memcpy(gid, g->grant->id.data, ID_BYTES);
    codec_free(rep);
}

Espace__V1__AuditEntry *df_last_audit(const char *pid, ProtobufCMessage **hold)
{
    Espace__V1__ReadAuditRequest req = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    req.limit = 1;
    assert_int_equal(df_call(K_PATIENT, pid, SERVICE_CONSENT, "ReadAudit", &req.base,
                             &espace__v1__read_audit_reply__descriptor, hold, NULL),
                     0);
    Espace__V1__ReadAuditReply *rep = (Espace__V1__ReadAuditReply *)*hold;
    assert_int_equal(rep->n_entries, 1);
    return rep->entries[0];
}

/* ---- documents ---- */

void df_meta(Espace__V1__DocumentMeta *m, const char *type_code)
{
    espace__v1__document_meta__init(m);
    m->type_code = (char *)type_code;
    m->title = (char *)"t";
    m->mime_type = (char *)"application/pdf";
}

int df_upload(int kind, const char *who, const char *pid, const Espace__V1__DocumentMeta *m,
              const uint8_t *data, size_t len, const uint8_t *replaces,
              Espace__V1__DocumentMeta **out, ProtobufCMessage **hold, bus_reply_t *r)
{
    uint8_t uid[ID_BYTES], hash[32];
    randombytes_buf(uid, sizeof uid);
    crypto_generichash(hash, sizeof hash, data, len, NULL, 0);
    Espace__V1__BeginUploadRequest b = ESPACE__V1__BEGIN_UPLOAD_REQUEST__INIT;
    b.patient_id = (char *)(pid ? pid : "");
    b.upload_id = (ProtobufCBinaryData){ID_BYTES, uid};
    b.size = len;
    b.hash = (ProtobufCBinaryData){32, hash};
    b.document = (Espace__V1__DocumentMeta *)m;
    if (replaces)
        b.replaces = (ProtobufCBinaryData){ID_BYTES, (uint8_t *)replaces};
    ProtobufCMessage *rep = NULL;
    int rc = df_call(kind, who, SERVICE_DMP, "BeginUpload", &b.base,
                     &espace__v1__begin_upload_reply__descriptor, &rep, r);
    codec_free(rep);
    rep = NULL;
    if (rc != 0)
        return rc;
    for (size_t off = 0; off < len;) {
        size_t n = len - off < DF_PIECE ? len - off : DF_PIECE;
        Espace__V1__UploadDocumentChunkRequest c = ESPACE__V1__UPLOAD_DOCUMENT_CHUNK_REQUEST__INIT;
        c.upload_id = (ProtobufCBinaryData){ID_BYTES, uid};
        c.offset = off;
        c.data = (ProtobufCBinaryData){n, (uint8_t *)data + off};
        codec_free(rep);
        rep = NULL;
        rc = df_call(kind, who, SERVICE_DMP, "UploadDocumentChunk", &c.base,
                     &espace__v1__upload_document_chunk_reply__descriptor, &rep, r);
        if (rc != 0) {
            codec_free(rep);
            return rc;
        }
        off += n;
    }
    Espace__V1__UploadDocumentChunkReply *u = (Espace__V1__UploadDocumentChunkReply *)rep;
    assert_true(u->complete);
    assert_non_null(u->document);
    if (out && hold) {
        *out = u->document;
        *hold = rep;
    } else {
        codec_free(rep);
    }
    return 0;
}

int df_download(int kind, const char *who, const char *pid, const uint8_t id[ID_BYTES],
                const char *class_code, uint8_t **data, size_t *len, uint8_t hash[32],
                bus_reply_t *r)
{
    Espace__V1__GetDocumentRequest g = ESPACE__V1__GET_DOCUMENT_REQUEST__INIT;
    g.patient_id = (char *)(pid ? pid : "");
    g.document_id = (ProtobufCBinaryData){ID_BYTES, (uint8_t *)id};
    g.class_code = (char *)(class_code ? class_code : "");
    ProtobufCMessage *rep = NULL;
    *data = NULL;
    *len = 0;
    int rc = df_call(kind, who, SERVICE_DMP, "GetDocument", &g.base,
                     &espace__v1__get_document_reply__descriptor, &rep, r);
    if (rc != 0)
        return rc;
    Espace__V1__GetDocumentReply *gr = (Espace__V1__GetDocumentReply *)rep;
    size_t size = gr->document->size;
    uint8_t *buf = malloc(size ? size : 1);
    assert_non_null(buf);
    size_t at = 0;
    while (at < size && rc == 0) {
        Espace__V1__DownloadDocumentChunkRequest d =
            ESPACE__V1__DOWNLOAD_DOCUMENT_CHUNK_REQUEST__INIT;
        d.document_id = (ProtobufCBinaryData){ID_BYTES, (uint8_t *)id};
        d.ticket = gr->download_ticket;
        d.offset = at;
        ProtobufCMessage *dr = NULL;
        rc = df_call(kind, who, SERVICE_DMP, "DownloadDocumentChunk", &d.base,
                     &espace__v1__download_document_chunk_reply__descriptor, &dr, r);
        if (rc == 0) {
            Espace__V1__DownloadDocumentChunkReply *c = (Espace__V1__DownloadDocumentChunkReply *)dr;
            assert_true(c->data.len > 0 && c->data.len <= size - at);
            memcpy(buf + at, c->data.data, c->data.len);
            at += c->data.len;
            assert_int_equal(c->hash.len, 32);
            memcpy(hash, c->hash.data, 32);
        }
        codec_free(dr);
    }
    codec_free(rep);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *data = buf;
    *len = size;
    return 0;
}

int df_search(int kind, const char *who, const char *pid, const char *class_code,
              Espace__V1__SearchDocumentsReply **out, bus_reply_t *r)
{
    Espace__V1__SearchDocumentsRequest s = ESPACE__V1__SEARCH_DOCUMENTS_REQUEST__INIT;
    s.patient_id = (char *)(pid ? pid : "");
    s.class_code = (char *)(class_code ? class_code : "");
    s.limit = DMP_SEARCH_MAX;
    return df_call(kind, who, SERVICE_DMP, "SearchDocuments", &s.base,
                   &espace__v1__search_documents_reply__descriptor, (ProtobufCMessage **)out, r);
}

/* ---- measures ---- */

int df_add(int kind, const char *who, Espace__V1__AddMeasureRequest *req,
           Espace__V1__AddMeasureReply **out, bus_reply_t *r)
{
    return df_call(kind, who, SERVICE_DMP, "AddMeasure", &req->base,
                   &espace__v1__add_measure_reply__descriptor, (ProtobufCMessage **)out, r);
}

/* ---- events ---- */

Espace__V1__DmpEvent *df_event(const char *topic, int ms)
{
    return (Espace__V1__DmpEvent *)sc_event(DF.events, topic, &espace__v1__dmp_event__descriptor,
                                            ms);
}

void df_drain(void)
{
    sc_drain(DF.events);
}
