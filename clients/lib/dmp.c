/* dmp.c - libespace, typed calls of the DMP service (dmp.h). */
#include "clients/lib/dmp.h"

#include <sodium.h>
#include <string.h>

#include "clients/lib/pieces.h"
#include "clients/lib/rpc.h"
#include "proto/names.h"
#include "proto/status.h"

_Static_assert(ESPACE_DMP_HASH == ESPACE_PIECES_HASH, "one hash for pieces");

/* One method of the dmp service (its schema's `service Dmp`). */
static int s_call(espace_t *e, const char *method, const ProtobufCMessage *req,
                  ProtobufCMessage **reply, espace_error_t *err)
{
    return espace_rpc(e, SERVICE_DMP, &espace__v1__dmp__descriptor, method, req, reply, err);
}

static int s_missing(espace_error_t *err)
{
    return espace_err_set(err, ES_INVALID_ARGUMENT, NULL, "missing argument");
}

static char *s_str(const char *s)
{
    return (char *)(s ? s : "");
}

static ProtobufCBinaryData s_id(const uint8_t *id)
{
    return (ProtobufCBinaryData){id ? ESPACE_DMP_ID : 0, (uint8_t *)id};
}

/* ---- documents ---- */

int espace_dmp_begin_upload(espace_t *e, const char *patient_id,
                            const uint8_t upload_id[ESPACE_DMP_ID], uint64_t size,
                            const uint8_t hash[ESPACE_DMP_HASH],
                            const Espace__V1__DocumentMeta *doc,
                            const uint8_t replaces[ESPACE_DMP_ID],
                            Espace__V1__BeginUploadReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !upload_id || !hash || !doc)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__BeginUploadRequest req = ESPACE__V1__BEGIN_UPLOAD_REQUEST__INIT;
    req.patient_id = s_str(patient_id);
    req.upload_id = s_id(upload_id);
    req.size = size;
    req.hash = (ProtobufCBinaryData){ESPACE_DMP_HASH, (uint8_t *)hash};
    req.document = (Espace__V1__DocumentMeta *)doc;
    req.replaces = s_id(replaces);
    int rc = s_call(e, "BeginUpload", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_dmp_upload_document_chunk(espace_t *e, const uint8_t upload_id[ESPACE_DMP_ID],
                                     uint64_t offset, const uint8_t *data, size_t len,
                                     Espace__V1__UploadDocumentChunkReply **out,
                                     espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !upload_id || (!data && len))
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__UploadDocumentChunkRequest req = ESPACE__V1__UPLOAD_DOCUMENT_CHUNK_REQUEST__INIT;
    req.upload_id = s_id(upload_id);
    req.offset = offset;
    req.data = (ProtobufCBinaryData){len, (uint8_t *)data};
    int rc = s_call(e, "UploadDocumentChunk", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_dmp_search_documents(espace_t *e, const Espace__V1__SearchDocumentsRequest *req,
                                Espace__V1__SearchDocumentsReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !req)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    int rc = s_call(e, "SearchDocuments", &req->base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_dmp_get_document(espace_t *e, const char *patient_id,
                            const uint8_t document_id[ESPACE_DMP_ID], const char *class_code,
                            Espace__V1__GetDocumentReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !document_id)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__GetDocumentRequest req = ESPACE__V1__GET_DOCUMENT_REQUEST__INIT;
    req.patient_id = s_str(patient_id);
    req.document_id = s_id(document_id);
    req.class_code = s_str(class_code);
    int rc = s_call(e, "GetDocument", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_dmp_download_document_chunk(espace_t *e, const uint8_t document_id[ESPACE_DMP_ID],
                                       const ProtobufCBinaryData *ticket, uint64_t offset,
                                       uint32_t max_bytes,
                                       Espace__V1__DownloadDocumentChunkReply **out,
                                       espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !document_id || !ticket)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__DownloadDocumentChunkRequest req =
        ESPACE__V1__DOWNLOAD_DOCUMENT_CHUNK_REQUEST__INIT;
    req.document_id = s_id(document_id);
    req.ticket = *ticket;
    req.offset = offset;
    req.max_bytes = max_bytes;
    int rc = s_call(e, "DownloadDocumentChunk", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_dmp_set_masked(espace_t *e, const uint8_t document_id[ESPACE_DMP_ID], int masked,
                          Espace__V1__SetMaskedReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !document_id)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__SetMaskedRequest req = ESPACE__V1__SET_MASKED_REQUEST__INIT;
    req.document_id = s_id(document_id);
    req.masked = masked != 0;
    int rc = s_call(e, "SetMasked", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_dmp_release(espace_t *e, const char *patient_id,
                       const uint8_t document_id[ESPACE_DMP_ID], const char *class_code,
                       Espace__V1__ReleaseReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !document_id)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__ReleaseRequest req = ESPACE__V1__RELEASE_REQUEST__INIT;
    req.patient_id = s_str(patient_id);
    req.document_id = s_id(document_id);
    req.class_code = s_str(class_code);
    int rc = s_call(e, "Release", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

/* ---- whole documents, in pieces ---- */

typedef struct s_up {
    espace_t *e;
    const char *pid;
    const Espace__V1__DocumentMeta *doc;
    const uint8_t *replaces;
    uint8_t id[ESPACE_DMP_ID], hash[ESPACE_DMP_HASH];
    size_t len;
    ProtobufCMessage *done;              /* the reply that carries the filed metadata */
    Espace__V1__DocumentMeta *filed;
} s_up_t;

static void s_done(s_up_t *u, ProtobufCMessage *m, Espace__V1__DocumentMeta *doc)
{
    espace_free(u->done);
    u->done = m;
    u->filed = doc;
}

static int s_begin(void *ctx, uint64_t *next, espace_error_t *err)
{
    s_up_t *u = ctx;
    Espace__V1__BeginUploadReply *b = NULL;
    int rc = espace_dmp_begin_upload(u->e, u->pid, u->id, u->len, u->hash, u->doc, u->replaces,
                                     &b, err);
    if (rc < 0)
        return rc;
    *next = b->next_offset;
    if (b->complete && b->document) {
        s_done(u, &b->base, b->document);
        return 1;
    }
    espace_free(&b->base);
    return 0;
}

static int s_put(void *ctx, uint64_t off, const uint8_t *data, size_t n, uint64_t *next,
                 int *complete, espace_error_t *err)
{
    s_up_t *u = ctx;
    Espace__V1__UploadDocumentChunkReply *r = NULL;
    int rc = espace_dmp_upload_document_chunk(u->e, u->id, off, data, n, &r, err);
    if (rc < 0)
        return rc;
    *next = r->next_offset;
    *complete = r->complete && r->document;
    if (*complete)
        s_done(u, &r->base, r->document);
    else
        espace_free(&r->base);
    return 0;
}

int espace_dmp_upload(espace_t *e, const char *patient_id, const Espace__V1__DocumentMeta *doc,
                      const uint8_t *data, size_t len, const uint8_t replaces[ESPACE_DMP_ID],
                      ProtobufCMessage **reply, Espace__V1__DocumentMeta **filed,
                      espace_error_t *err)
{
    if (reply)
        *reply = NULL;
    if (filed)
        *filed = NULL;
    if (!e || !doc || !data || !len)
        return s_missing(err);
    if (len > ESPACE_DMP_DOC_MAX)
        return espace_err_set(err, ES_TOO_LARGE, "size", "at most %llu bytes",
                              (unsigned long long)ESPACE_DMP_DOC_MAX);
    static const espace_pieces_up_t ops = {s_begin, s_put};
    s_up_t u = {.e = e, .pid = patient_id, .doc = doc, .replaces = replaces, .len = len};
    randombytes_buf(u.id, sizeof u.id);
    crypto_generichash(u.hash, sizeof u.hash, data, len, NULL, 0);
    int rc = espace_pieces_upload(&ops, &u, data, len, ESPACE_DMP_PIECE, err);
    if (rc == 0 && reply) {
        *reply = u.done;
        if (filed)
            *filed = u.filed;
    } else {
        espace_free(u.done);
    }
    return rc;
}

typedef struct s_down {
    espace_t *e;
    const uint8_t *id;
    const ProtobufCBinaryData *ticket;
} s_down_t;

static int s_get(void *ctx, uint64_t off, ProtobufCBinaryData *data, uint64_t *size,
                 ProtobufCBinaryData *hash, ProtobufCMessage **hold, espace_error_t *err)
{
    s_down_t *d = ctx;
    Espace__V1__DownloadDocumentChunkReply *r = NULL;
    int rc = espace_dmp_download_document_chunk(d->e, d->id, d->ticket, off, 0, &r, err);
    if (rc < 0)
        return rc;
    *data = r->data;
    *size = r->size;
    *hash = r->hash;
    *hold = &r->base;
    return 0;
}

int espace_dmp_download(espace_t *e, const char *patient_id,
                        const uint8_t document_id[ESPACE_DMP_ID], const char *class_code,
                        uint8_t **data, size_t *len, uint8_t hash[ESPACE_DMP_HASH],
                        espace_error_t *err)
{
    if (data)
        *data = NULL;
    if (len)
        *len = 0;
    if (!e || !document_id || !data || !len)
        return s_missing(err);
    Espace__V1__GetDocumentReply *g = NULL;
    int rc = espace_dmp_get_document(e, patient_id, document_id, class_code, &g, err);
    if (rc < 0)
        return rc;
    if (!g->document || g->document->hash.len != ESPACE_DMP_HASH) {
        espace_free(&g->base);
        return espace_err_set(err, ES_INTERNAL, "hash", "no hash in the metadata");
    }
    s_down_t d = {e, document_id, &g->download_ticket};
    rc = espace_pieces_download(s_get, &d, ESPACE_DMP_DOC_MAX, g->document->hash.data,
                                "the content does not match the document's hash", data, len,
                                hash, err);
    espace_free(&g->base);
    return rc;
}

/* ---- measures ---- */

int espace_dmp_add_measure(espace_t *e, const Espace__V1__AddMeasureRequest *req,
                           Espace__V1__AddMeasureReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !req)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    int rc = s_call(e, "AddMeasure", &req->base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_dmp_list_measures(espace_t *e, const Espace__V1__ListMeasuresRequest *req,
                             Espace__V1__ListMeasuresReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !req)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    int rc = s_call(e, "ListMeasures", &req->base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_dmp_latest_measures(espace_t *e, const char *patient_id,
                               Espace__V1__LatestMeasuresReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__LatestMeasuresRequest req = ESPACE__V1__LATEST_MEASURES_REQUEST__INIT;
    req.patient_id = s_str(patient_id);
    int rc = s_call(e, "LatestMeasures", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

/* ---- exports ---- */

int espace_dmp_export_document(espace_t *e, const char *patient_id,
                               const uint8_t document_id[ESPACE_DMP_ID], const char *class_code,
                               Espace__V1__ExportDocumentReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !document_id)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__ExportDocumentRequest req = ESPACE__V1__EXPORT_DOCUMENT_REQUEST__INIT;
    req.patient_id = s_str(patient_id);
    req.document_id = s_id(document_id);
    req.class_code = s_str(class_code);
    int rc = s_call(e, "ExportDocument", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_dmp_export_measure(espace_t *e, const char *patient_id,
                              const uint8_t measure_id[ESPACE_DMP_ID], const char *code,
                              Espace__V1__ExportMeasureReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !measure_id)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__ExportMeasureRequest req = ESPACE__V1__EXPORT_MEASURE_REQUEST__INIT;
    req.patient_id = s_str(patient_id);
    req.measure_id = s_id(measure_id);
    req.code = s_str(code);
    int rc = s_call(e, "ExportMeasure", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_dmp_export_series(espace_t *e, const Espace__V1__ExportSeriesRequest *req,
                             Espace__V1__ExportSeriesReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !req)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    int rc = s_call(e, "ExportSeries", &req->base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}
