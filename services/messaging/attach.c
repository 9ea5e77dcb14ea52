/*
 * attach.c - encrypted attachments: BeginAttachment (declare or resume an
 * upload into a conversation), UploadChunk (the next piece; the last one
 * checks the BLAKE2b-256 of the whole ciphertext), DownloadAttachment
 * (pieces of a complete attachment, for members of its conversation only).
 * Pieces are stored as they come, under attachment id | offset, by the
 * shared piece store (storage/blob.h, also used by dmp documents).
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/status.h"
#include "storage/blob.h"
#include "services/messaging/messaging_int.h"

#define S_HASH_BYTES BLOB_HASH_BYTES /* BLAKE2b-256 (crypto_generichash, no key) */

static int s_load(store_txn_t *t, const uint8_t id[ID_BYTES],
                  Espace__V1__MsgAttachmentRecord **out)
{
    return msg_db_load(t, MSG_T_ATTACH, id, ID_BYTES,
                       &espace__v1__msg_attachment_record__descriptor, (ProtobufCMessage **)out);
}

int msg_attach_delete(store_txn_t *t, const uint8_t id[ID_BYTES])
{
    int rc = blob_delete(t, MSG_T_CHUNKS, id);
    if (rc == 0)
        rc = store_del(t, MSG_T_ATTACH, id, ID_BYTES);
    return rc == ES_NOT_FOUND ? ES_OK : rc;
}

int msg_begin_attachment(void *state, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    msg_state_t *st = state;
    const Espace__V1__BeginAttachmentRequest *r = (const Espace__V1__BeginAttachmentRequest *)m;
    msg_who_t who;
    uint8_t dev[ID_BYTES];
    msg_err_t err;
    Espace__V1__MsgConversationRecord *conv = NULL;
    Espace__V1__MsgAttachmentRecord *old = NULL;
    int rc;
    if ((rc = msg_caller(st, c, &who)) != 0 || (rc = msg_caller_device(c, dev)) != 0)
        return rc;
    if (msg_id_check(&r->attachment_id, "attachment_id", &err) != 0)
        return msg_fail(c, &err);
    if (r->size == 0)
        return svc_fail(c, ES_INVALID_ARGUMENT, "size", "empty attachment");
    if (r->size > MSG_ATTACH_MAX)
        return svc_fail(c, ES_TOO_LARGE, "size", "at most %llu bytes",
                        (unsigned long long)MSG_ATTACH_MAX);
    if (r->hash.len != S_HASH_BYTES)
        return svc_fail(c, ES_INVALID_ARGUMENT, "hash", "BLAKE2b-256: 32 bytes");
    if ((rc = msg_conv_open(c, t, &r->conversation_id, "conversation_id", &who, &conv)) != 0)
        return rc;
    if (conv->conversation->closed) {
        rc = svc_fail(c, ES_FAILED_PRECONDITION, "conversation_id",
                      "the conversation is closed to replies");
        goto done;
    }
    Espace__V1__BeginAttachmentReply rep = ESPACE__V1__BEGIN_ATTACHMENT_REPLY__INIT;
    rc = s_load(t, r->attachment_id.data, &old);
    if (rc == 0) {
        if (old->size != r->size || old->hash.len != S_HASH_BYTES ||
            memcmp(old->hash.data, r->hash.data, S_HASH_BYTES) != 0 ||
            old->uploader_device.len != ID_BYTES ||
            memcmp(old->uploader_device.data, dev, ID_BYTES) != 0 ||
            old->conversation_id.len != ID_BYTES ||
            memcmp(old->conversation_id.data, r->conversation_id.data, ID_BYTES) != 0) {
            rc = svc_fail(c, ES_ALREADY_EXISTS, "attachment_id", "attachment id taken");
            goto done;
        }
        rep.next_offset = old->next_offset;
        rep.complete = old->complete;
    } else if (rc == ES_NOT_FOUND) {
        Espace__V1__MsgAttachmentRecord a = ESPACE__V1__MSG_ATTACHMENT_RECORD__INIT;
        a.conversation_id = r->conversation_id;
        a.uploader_device.data = dev;
        a.uploader_device.len = ID_BYTES;
        a.size = r->size;
        a.hash = r->hash;
        a.created_ms = svc_now_ms(c);
        a.expires_ms = a.created_ms + MSG_UPLOAD_TTL_MS;
        if ((rc = msg_db_save(t, MSG_T_ATTACH, r->attachment_id.data, ID_BYTES, &a.base)) != 0 ||
            (rc = msg_db_expiry(t, a.expires_ms, MSG_EXP_ATTACH, r->attachment_id.data,
                                ID_BYTES, 1)) != 0) {
            rc = svc_fail(c, rc, NULL, "storage failure");
            goto done;
        }
    } else {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    rc = svc_reply(c, &rep.base);
    if (rc != 0)
        rc = svc_fail(c, rc, NULL, "reply failed");
done:
    codec_free(old ? &old->base : NULL);
    codec_free(&conv->base);
    return rc;
}

/* The last piece arrived: check the hash. 1 if it matched, 0 if not (the
 * upload was reset to 0), or a negative status. */
static int s_complete(msg_state_t *st, svc_call_t *c, store_txn_t *t, const uint8_t id[ID_BYTES],
                      Espace__V1__MsgAttachmentRecord *a)
{
    uint8_t h[S_HASH_BYTES];
    int rc = blob_hash(t, MSG_T_CHUNKS, id, a->size, h);
    if (rc != 0)
        return rc;
    if (sodium_memcmp(h, a->hash.data, S_HASH_BYTES) != 0) {
        a->next_offset = 0;
        return blob_delete(t, MSG_T_CHUNKS, id) == 0 ? 0 : ES_INTERNAL;
    }
    if ((rc = msg_db_expiry(t, a->expires_ms, MSG_EXP_ATTACH, id, ID_BYTES, 0)) != 0)
        return rc;
    a->complete = 1;
    a->expires_ms = svc_now_ms(c) + st->retention_ms;
    if ((rc = msg_db_expiry(t, a->expires_ms, MSG_EXP_ATTACH, id, ID_BYTES, 1)) != 0)
        return rc;
    return 1;
}

int msg_upload_chunk(void *state, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    msg_state_t *st = state;
    const Espace__V1__UploadChunkRequest *r = (const Espace__V1__UploadChunkRequest *)m;
    msg_who_t who;
    uint8_t dev[ID_BYTES];
    msg_err_t err;
    Espace__V1__MsgAttachmentRecord *a = NULL;
    int rc;
    if ((rc = msg_caller(st, c, &who)) != 0 || (rc = msg_caller_device(c, dev)) != 0)
        return rc;
    if (msg_id_check(&r->attachment_id, "attachment_id", &err) != 0)
        return msg_fail(c, &err);
    const uint8_t *id = r->attachment_id.data;
    rc = s_load(t, id, &a);
    if (rc == 0 && (a->uploader_device.len != ID_BYTES ||
                    memcmp(a->uploader_device.data, dev, ID_BYTES) != 0))
        rc = ES_NOT_FOUND;
    if (rc != 0) {
        rc = svc_fail(c, rc, rc == ES_NOT_FOUND ? "attachment_id" : NULL,
                      rc == ES_NOT_FOUND ? "no such upload of this device" : "storage failure");
        goto done;
    }
    if (a->complete) {
        rc = svc_fail(c, ES_FAILED_PRECONDITION, "attachment_id", "already complete");
        goto done;
    }
    blob_err_t perr;
    size_t len = r->data.len;
    if (blob_piece_check(a->next_offset, a->size, r->offset, len, MSG_CHUNK_MIN, MSG_CHUNK_MAX,
                         &perr) != 0) {
        rc = svc_fail(c, perr.status, perr.field, "%s", perr.msg);
        goto done;
    }
    if ((rc = blob_put(t, MSG_T_CHUNKS, id, r->offset, r->data.data, len)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    a->next_offset += len;
    int matched = 1;
    if (a->next_offset == a->size && (matched = s_complete(st, c, t, id, a)) < 0) {
        rc = svc_fail(c, matched, NULL, "storage failure");
        goto done;
    }
    if ((rc = msg_db_save(t, MSG_T_ATTACH, id, ID_BYTES, &a->base)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    if (!matched) {
        /* Keep the reset (writes kept), answer the mismatch. */
        svc_fail(c, ES_INVALID_ARGUMENT, "hash", "the ciphertext does not match its hash: "
                                                 "upload again from offset 0");
        rc = ES_OK;
        goto done;
    }
    Espace__V1__UploadChunkReply rep = ESPACE__V1__UPLOAD_CHUNK_REPLY__INIT;
    rep.next_offset = a->next_offset;
    rep.complete = a->complete;
    rc = svc_reply(c, &rep.base);
    if (rc != 0)
        rc = svc_fail(c, rc, NULL, "reply failed");
done:
    codec_free(a ? &a->base : NULL);
    return rc;
}

int msg_download_attachment(void *state, svc_call_t *c, const ProtobufCMessage *m,
                            store_txn_t *t)
{
    msg_state_t *st = state;
    const Espace__V1__DownloadAttachmentRequest *r =
        (const Espace__V1__DownloadAttachmentRequest *)m;
    msg_who_t who;
    msg_err_t err;
    Espace__V1__MsgAttachmentRecord *a = NULL;
    Espace__V1__MsgConversationRecord *conv = NULL;
    uint8_t *buf = NULL;
    int rc;
    if ((rc = msg_caller(st, c, &who)) != 0)
        return rc;
    if (msg_id_check(&r->attachment_id, "attachment_id", &err) != 0)
        return msg_fail(c, &err);
    if (r->max_bytes > MSG_CHUNK_MAX)
        return svc_fail(c, ES_INVALID_ARGUMENT, "max_bytes", "at most %zu", MSG_CHUNK_MAX);
    rc = s_load(t, r->attachment_id.data, &a);
    if (rc == 0 && a->conversation_id.len == ID_BYTES)
        rc = msg_db_load(t, MSG_T_CONVS, a->conversation_id.data, ID_BYTES,
                         &espace__v1__msg_conversation_record__descriptor,
                         (ProtobufCMessage **)&conv);
    if (rc == 0 && (!conv || !conv->conversation ||
                    !msg_conv_member(conv->conversation, who.kind, who.principal)))
        rc = ES_NOT_FOUND; /* a non-member learns nothing, not even that it exists */
    if (rc != 0) {
        rc = svc_fail(c, rc, rc == ES_NOT_FOUND ? "attachment_id" : NULL,
                      rc == ES_NOT_FOUND ? "no such attachment" : "storage failure");
        goto done;
    }
    if (!a->complete) {
        rc = svc_fail(c, ES_FAILED_PRECONDITION, "attachment_id", "upload not complete");
        goto done;
    }
    if (r->offset >= a->size) {
        rc = svc_fail(c, ES_INVALID_ARGUMENT, "offset", "at or past the end (%llu)",
                      (unsigned long long)a->size);
        goto done;
    }
    size_t max = r->max_bytes ? r->max_bytes : MSG_CHUNK_MAX, n = 0;
    if (!(buf = malloc(max))) {
        rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
        goto done;
    }
    if ((rc = blob_read(t, MSG_T_CHUNKS, r->attachment_id.data, r->offset, buf, max, &n)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    Espace__V1__DownloadAttachmentReply rep = ESPACE__V1__DOWNLOAD_ATTACHMENT_REPLY__INIT;
    rep.data.data = buf;
    rep.data.len = n;
    rep.size = a->size;
    rep.hash = a->hash;
    rc = svc_reply(c, &rep.base);
    if (rc != 0)
        rc = svc_fail(c, rc, NULL, "reply failed");
done:
    free(buf);
    codec_free(conv ? &conv->base : NULL);
    codec_free(a ? &a->base : NULL);
    return rc;
}
