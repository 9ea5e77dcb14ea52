/*
 * upload.c - documents coming in: BeginUpload (declare, validate the
 * metadata, or resume), UploadDocumentChunk (the next piece; the last one
 * checks the BLAKE2b-256 and files the version, superseding the one it
 * replaces, in the same commit), and the expiry of unfinished uploads.
 * Pieces go to the shared piece store (storage/blob.h), sealed by the store.
 */
#include <sodium.h>
#include <string.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/status.h"
#include "services/dmp/dmp_int.h"
#include "storage/blob.h"

#define PK(x) ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_##x

_Static_assert(DMP_HASH_BYTES == BLOB_HASH_BYTES, "one hash for uploads");

static int s_load(store_txn_t *t, const uint8_t id[ID_BYTES], Espace__V1__DmpUploadRecord **out)
{
    int rc = dmp_db_load(t, DMP_T_UPLOADS, id, ID_BYTES,
                         &espace__v1__dmp_upload_record__descriptor, (ProtobufCMessage **)out);
    if (rc == 0 && (!(*out)->uploader || !(*out)->meta || !(*out)->patient_id ||
                    (*out)->hash.len != DMP_HASH_BYTES)) {
        codec_free(&(*out)->base);
        *out = NULL;
        return ES_INTERNAL;
    }
    return rc;
}

static int s_expiry(store_txn_t *t, int64_t due, const uint8_t id[ID_BYTES], int add)
{
    static const uint8_t one = 1;
    uint8_t k[8 + ID_BYTES];
    store_be64_put(k, (uint64_t)(due < 0 ? 0 : due));
    memcpy(k + 8, id, ID_BYTES);
    if (add)
        return store_put(t, DMP_T_EXPIRY, k, sizeof k, &one, 1);
    int rc = store_del(t, DMP_T_EXPIRY, k, sizeof k);
    return rc == ES_NOT_FOUND ? ES_OK : rc;
}

static int s_same_author(const Espace__V1__Author *a, const Espace__V1__Author *b)
{
    return a && b && a->kind == b->kind && a->principal && b->principal &&
           strcmp(a->principal, b->principal) == 0;
}

/* The version `replaces` names, checked for a replacement by this caller:
 * 0 and *out, or the call failed. */
static int s_replaced(svc_call_t *c, store_txn_t *t, const ProtobufCBinaryData *replaces,
                      Espace__V1__DmpDocRecord **out)
{
    int rc = dmp_doc_open(c, t, replaces, "replaces", NULL, out);
    if (rc != 0)
        return rc;
    const Espace__V1__DocumentMeta *old = (*out)->meta;
    if (old->availability != ESPACE__V1__AVAILABILITY__AVAILABILITY_CURRENT)
        rc = svc_fail(c, ES_FAILED_PRECONDITION, "replaces", "this version is already superseded");
    else if (old->version >= DMP_VERSIONS_MAX)
        rc = svc_fail(c, ES_FAILED_PRECONDITION, "replaces", "a document has at most %d versions",
                      DMP_VERSIONS_MAX);
    else if (dmp_is_patient(c) != (old->author && old->author->kind == PK(PATIENT)))
        rc = svc_fail(c, ES_PERMISSION_DENIED, "replaces",
                      dmp_is_patient(c) ? "the patient replaces only their own documents"
                                        : "a professional replaces only professionals' documents");
    if (rc != 0) {
        codec_free(&(*out)->base);
        *out = NULL;
    }
    return rc;
}

int dmp_begin_upload(void *state, svc_call_t *c, const ProtobufCMessage *msg, store_txn_t *t)
{
    (void)state;
    const Espace__V1__BeginUploadRequest *r = (const Espace__V1__BeginUploadRequest *)msg;
    const svc_access_t *acc = svc_access(c);
    Espace__V1__DmpDocRecord *old = NULL;
    Espace__V1__DmpUploadRecord *up = NULL;
    dmp_err_t err;
    int rc;
    if (dmp_id_check(&r->upload_id, "upload_id", &err) != 0)
        return dmp_fail(c, &err);
    if (r->size == 0)
        return svc_fail(c, ES_INVALID_ARGUMENT, "size", "empty document");
    if (r->size > DMP_DOC_MAX)
        return svc_fail(c, ES_TOO_LARGE, "size", "at most %llu bytes",
                        (unsigned long long)DMP_DOC_MAX);
    if (r->hash.len != DMP_HASH_BYTES)
        return svc_fail(c, ES_INVALID_ARGUMENT, "hash", "BLAKE2b-256: 32 bytes");
    if (!r->document)
        return svc_fail(c, ES_INVALID_ARGUMENT, "document", "required");
    Espace__V1__Author me;
    dmp_author_of(c, &me);
    Espace__V1__BeginUploadReply rep = ESPACE__V1__BEGIN_UPLOAD_REPLY__INIT;
    Espace__V1__DocumentMeta view;
    /* A known upload id resumes first: once filed, the version it replaced
     * is superseded, and a retried BeginUpload still gets its answer. */
    rc = s_load(t, r->upload_id.data, &up);
    if (rc == 0) {
        if (!s_same_author(up->uploader, &me) || up->size != r->size ||
            memcmp(up->hash.data, r->hash.data, DMP_HASH_BYTES) != 0 ||
            strcmp(up->patient_id, acc->patient_id) != 0) {
            rc = svc_fail(c, ES_ALREADY_EXISTS, "upload_id", "upload id taken");
            goto done;
        }
        rep.next_offset = up->next_offset;
        if (up->document_id.len == ID_BYTES) {
            Espace__V1__DmpDocRecord *d = NULL;
            if ((rc = dmp_doc_load(t, up->document_id.data, &d)) != 0) {
                rc = dmp_fail_storage(c, rc);
                goto done;
            }
            if (!dmp_doc_visible(c, d->meta, acc->patient_id, NULL)) {
                /* masked since it was filed: it does not leave the service */
                codec_free(&d->base);
                rc = svc_fail(c, ES_NOT_FOUND, "upload_id", "no such document");
                goto done;
            }
            dmp_doc_view(c, d->meta, &view);
            rep.complete = 1;
            rep.document = &view;
            rc = svc_reply(c, &rep.base);
            codec_free(&d->base);
            goto done;
        }
        rc = svc_reply(c, &rep.base);
        goto done;
    }
    if (rc != ES_NOT_FOUND) {
        rc = dmp_fail_storage(c, rc);
        goto done;
    }
    Espace__V1__DocumentMeta meta = *r->document; /* shallow: the input fields */
    int kind = dmp_is_patient(c) ? PK(PATIENT) : (int)me.kind;
    if (r->replaces.len) {
        if ((rc = s_replaced(c, t, &r->replaces, &old)) != 0)
            goto done;
        if (!meta.class_code || !meta.class_code[0])
            meta.class_code = old->meta->class_code;
    }
    if (dmp_meta_check(&meta, kind, svc_now_ms(c), &err) != 0) {
        rc = dmp_fail(c, &err);
        goto done;
    }
    if (old && strcmp(meta.class_code, old->meta->class_code) != 0) {
        rc = svc_fail(c, ES_INVALID_ARGUMENT, "document.class_code",
                      "a new version keeps the class code of the document (%s)",
                      old->meta->class_code);
        goto done;
    }
    if (old && meta.invisible_patient && !old->meta->invisible_patient) {
        rc = svc_fail(c, ES_FAILED_PRECONDITION, "document.invisible_patient",
                      "the patient sees this document: a new version is not hidden from them");
        goto done;
    }
    Espace__V1__DmpUploadRecord u = ESPACE__V1__DMP_UPLOAD_RECORD__INIT;
    u.uploader = &me;
    u.patient_id = (char *)acc->patient_id;
    u.size = r->size;
    u.hash = r->hash;
    u.meta = &meta;
    u.replaces = r->replaces;
    u.created_ms = svc_now_ms(c);
    u.expires_ms = u.created_ms + DMP_UPLOAD_TTL_MS;
    if ((rc = dmp_db_save(t, DMP_T_UPLOADS, r->upload_id.data, ID_BYTES, &u.base)) != 0 ||
        (rc = s_expiry(t, u.expires_ms, r->upload_id.data, 1)) != 0) {
        rc = dmp_fail_storage(c, rc);
        goto done;
    }
    rc = svc_reply(c, &rep.base);
done:
    codec_free(up ? &up->base : NULL);
    codec_free(old ? &old->base : NULL);
    return rc;
}

/* File the complete upload `uid` as a new version: 0 and the new record in
 * *out (its meta is up->meta, pointing into up, nid, unique and prev: the
 * caller restores up's pointers before freeing it), or the call failed. */
static int s_file(dmp_state_t *st, svc_call_t *c, store_txn_t *t, const uint8_t uid[ID_BYTES],
                  Espace__V1__DmpUploadRecord *up, uint8_t nid[ID_BYTES], uint8_t unique[ID_BYTES],
                  uint8_t prev[ID_BYTES], Espace__V1__DmpDocRecord *out)
{
    Espace__V1__DmpDocRecord *old = NULL;
    int rc = 0;
    if (up->replaces.len && (rc = s_replaced(c, t, &up->replaces, &old)) != 0)
        return rc;
    Espace__V1__DocumentMeta *m = up->meta;
    randombytes_buf(nid, ID_BYTES);
    if (old)
        memcpy(unique, old->meta->unique_id.data, ID_BYTES);
    else
        randombytes_buf(unique, ID_BYTES);
    m->id.data = nid;
    m->id.len = ID_BYTES;
    m->unique_id.data = unique;
    m->unique_id.len = ID_BYTES;
    m->patient_id = up->patient_id;
    m->author = up->uploader;
    m->size = up->size;
    m->hash = up->hash;
    m->availability = ESPACE__V1__AVAILABILITY__AVAILABILITY_CURRENT;
    m->version = old ? old->meta->version + 1 : 1;
    m->replaces = (ProtobufCBinaryData){0, NULL};
    if (old) {
        memcpy(prev, old->meta->id.data, ID_BYTES);
        m->replaces = (ProtobufCBinaryData){ID_BYTES, prev};
    }
    m->replaced_by = (ProtobufCBinaryData){0, NULL};
    m->masked_ps = old ? old->meta->masked_ps : 0; /* the patient's choice holds */
    m->filed_ms = svc_now_ms(c);
    m->released_ms = 0;
    espace__v1__dmp_doc_record__init(out);
    out->meta = m;
    out->content_id.data = (uint8_t *)uid;
    out->content_id.len = ID_BYTES;
    if ((rc = dmp_doc_save(st, t, out)) != 0)
        goto storage;
    if (old) {
        old->meta->availability = ESPACE__V1__AVAILABILITY__AVAILABILITY_SUPERSEDED;
        old->meta->replaced_by = m->id;
        if ((rc = dmp_doc_save(st, t, old)) != 0)
            goto storage;
        old->meta->replaced_by = (ProtobufCBinaryData){0, NULL}; /* borrowed: not freed */
    }
    up->document_id = m->id;
    codec_free(old ? &old->base : NULL);
    return ES_OK;
storage:
    if (old)
        old->meta->replaced_by = (ProtobufCBinaryData){0, NULL};
    codec_free(old ? &old->base : NULL);
    return dmp_fail_storage(c, rc);
}

int dmp_upload_chunk(void *state, svc_call_t *c, const ProtobufCMessage *msg, store_txn_t *t)
{
    dmp_state_t *st = state;
    const Espace__V1__UploadDocumentChunkRequest *r =
        (const Espace__V1__UploadDocumentChunkRequest *)msg;
    Espace__V1__DmpUploadRecord *up = NULL;
    dmp_err_t err;
    int rc;
    if (dmp_id_check(&r->upload_id, "upload_id", &err) != 0)
        return dmp_fail(c, &err);
    const uint8_t *id = r->upload_id.data;
    Espace__V1__Author me;
    dmp_author_of(c, &me);
    rc = s_load(t, id, &up);
    if (rc == 0 && !s_same_author(up->uploader, &me))
        rc = ES_NOT_FOUND;
    if (rc != 0) {
        codec_free(up ? &up->base : NULL);
        return rc == ES_NOT_FOUND ? svc_fail(c, rc, "upload_id", "no such upload of this caller")
                                  : dmp_fail_storage(c, rc);
    }
    ProtobufCBinaryData keep_doc = up->document_id, keep_id = up->meta->id,
                        keep_unique = up->meta->unique_id, keep_rep = up->meta->replaces,
                        keep_by = up->meta->replaced_by, keep_hash = up->meta->hash;
    Espace__V1__Author *keep_author = up->meta->author;
    char *keep_patient = up->meta->patient_id;
    if (up->document_id.len) {
        rc = svc_fail(c, ES_FAILED_PRECONDITION, "upload_id", "already complete");
        goto done;
    }
    blob_err_t perr;
    size_t len = r->data.len;
    if (blob_piece_check(up->next_offset, up->size, r->offset, len, DMP_CHUNK_MIN, DMP_CHUNK_MAX,
                         &perr) != 0) {
        rc = svc_fail(c, perr.status, perr.field, "%s", perr.msg);
        goto done;
    }
    if ((rc = blob_put(t, DMP_T_CONTENT, id, r->offset, r->data.data, len)) != 0) {
        rc = dmp_fail_storage(c, rc);
        goto done;
    }
    up->next_offset += len;
    Espace__V1__UploadDocumentChunkReply rep = ESPACE__V1__UPLOAD_DOCUMENT_CHUNK_REPLY__INIT;
    Espace__V1__DocumentMeta view;
    Espace__V1__DmpDocRecord filed;
    uint8_t nid[ID_BYTES], unique[ID_BYTES], prev[ID_BYTES];
    if (up->next_offset == up->size) {
        uint8_t h[DMP_HASH_BYTES];
        if ((rc = blob_hash(t, DMP_T_CONTENT, id, up->size, h)) != 0) {
            rc = dmp_fail_storage(c, rc);
            goto done;
        }
        if (sodium_memcmp(h, up->hash.data, DMP_HASH_BYTES) != 0) {
            up->next_offset = 0;
            if ((rc = blob_delete(t, DMP_T_CONTENT, id)) != 0 ||
                (rc = dmp_db_save(t, DMP_T_UPLOADS, id, ID_BYTES, &up->base)) != 0) {
                rc = dmp_fail_storage(c, rc);
                goto done;
            }
            /* Keep the reset (writes kept), answer the mismatch. */
            svc_fail(c, ES_INVALID_ARGUMENT, "hash",
                     "the content does not match its hash: upload again from offset 0");
            rc = ES_OK;
            goto done;
        }
        if ((rc = s_file(st, c, t, id, up, nid, unique, prev, &filed)) != 0)
            goto done;
        if ((rc = s_expiry(t, up->expires_ms, id, 0)) != 0) {
            rc = dmp_fail_storage(c, rc);
            goto done;
        }
        rep.complete = 1;
        dmp_doc_view(c, filed.meta, &view);
        rep.document = &view;
        if (!filed.meta->invisible_patient) {
            Espace__V1__DmpEvent ev = ESPACE__V1__DMP_EVENT__INIT;
            ev.kind = ESPACE__V1__DMP_EVENT_KIND__DMP_EVENT_KIND_DOCUMENT_FILED;
            ev.document = filed.meta;
            dmp_publish(c, filed.meta->patient_id, &ev);
        }
        log_info(SERVICE_DMP, "document.filed", "version=%u size=%llu class=%s",
                 filed.meta->version, (unsigned long long)filed.meta->size,
                 filed.meta->class_code);
    }
    if ((rc = dmp_db_save(t, DMP_T_UPLOADS, id, ID_BYTES, &up->base)) != 0) {
        rc = dmp_fail_storage(c, rc);
        goto done;
    }
    rep.next_offset = up->next_offset;
    rc = svc_reply(c, &rep.base);
done:
    /* Give back what s_file pointed into stack buffers or shared. */
    up->document_id = keep_doc;
    up->meta->id = keep_id;
    up->meta->unique_id = keep_unique;
    up->meta->replaces = keep_rep;
    up->meta->replaced_by = keep_by;
    up->meta->hash = keep_hash;
    up->meta->author = keep_author;
    up->meta->patient_id = keep_patient;
    codec_free(&up->base);
    return rc;
}

int dmp_expire_tick(void *state, svc_call_t *c, store_txn_t *t)
{
    (void)state;
    int64_t now = svc_now_ms(c);
    uint8_t keys[DMP_EXPIRE_PER_TICK][8 + ID_BYTES];
    size_t n = 0;
    store_cursor_t *cur = NULL;
    int rc = store_cursor_open(t, DMP_T_EXPIRY, NULL, 0, &cur);
    while (rc == 0 && n < DMP_EXPIRE_PER_TICK) {
        const void *k = NULL;
        size_t kl = 0;
        if ((rc = store_cursor_next(cur, &k, &kl, NULL, NULL)) != 0)
            break;
        if (kl != 8 + ID_BYTES || (int64_t)store_be64_get(k) > now)
            break;
        memcpy(keys[n++], k, kl);
    }
    store_cursor_close(&cur);
    if (rc == ES_NOT_FOUND)
        rc = ES_OK;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const uint8_t *id = keys[i] + 8;
        Espace__V1__DmpUploadRecord *up = NULL;
        int lr = s_load(t, id, &up);
        if (lr == 0 && up->document_id.len == 0)
            rc = blob_delete(t, DMP_T_CONTENT, id); /* unfinished: its pieces go */
        codec_free(up ? &up->base : NULL);
        if (rc == 0 && lr != ES_NOT_FOUND)
            rc = store_del(t, DMP_T_UPLOADS, id, ID_BYTES);
        if (rc == ES_NOT_FOUND)
            rc = ES_OK;
        if (rc == 0)
            rc = store_del(t, DMP_T_EXPIRY, keys[i], sizeof keys[i]);
    }
    if (n)
        log_info(SERVICE_DMP, "uploads.expired", "n=%zu", n);
    return rc;
}
