/* messaging.c - libespace, typed calls of the messaging service and the
 * helpers every messaging client shares (messaging.h). */
#include "clients/lib/messaging.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "bus/codec.h"
#include "clients/lib/pieces.h"
#include "clients/lib/rpc.h"
#include "espace/v1/identity.pb-c.h"
#include "proto/names.h"

#define S_SS_CHUNK (ESPACE_MSG_PLAIN_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES)

_Static_assert(ESPACE_MSG_ID == 16, "ids of messaging.h");

static int s_call(espace_t *e, const char *method, const ProtobufCMessage *req,
                  ProtobufCMessage **reply, espace_error_t *err)
{
    return espace_rpc(e, SERVICE_MESSAGING, &espace__v1__messaging__descriptor, method, req,
                      reply, err);
}

static int s_missing(espace_error_t *err)
{
    return espace_err_set(err, ES_INVALID_ARGUMENT, NULL, "missing argument");
}

static ProtobufCBinaryData s_bin(const uint8_t *p, size_t n)
{
    ProtobufCBinaryData b = {.len = n, .data = (uint8_t *)p};
    return b;
}

/* ---- key directory ---- */

static void s_signed(Espace__V1__SignedPrekey *out, const e2e_prekey_t *k)
{
    espace__v1__signed_prekey__init(out);
    out->id = k->id;
    out->key = s_bin(k->pk, E2E_KEY_BYTES);
    out->sig = s_bin(k->sig, E2E_SIG_BYTES);
}

int espace_messaging_publish_keys(espace_t *e, const uint8_t ik[E2E_KEY_BYTES],
                                  const e2e_prekey_t *spk, const e2e_prekey_t *lrk,
                                  const e2e_prekey_t *opks, size_t n,
                                  Espace__V1__PublishKeysReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || (!spk != !lrk) || (n && !opks) || n > E2E_OPK_BATCH)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__PublishKeysRequest req = ESPACE__V1__PUBLISH_KEYS_REQUEST__INIT;
    Espace__V1__SignedPrekey sp, lr;
    Espace__V1__OneTimePrekey ot[E2E_OPK_BATCH], *otp[E2E_OPK_BATCH];
    if (ik)
        req.identity_key = s_bin(ik, E2E_KEY_BYTES);
    if (spk) {
        s_signed(&sp, spk);
        s_signed(&lr, lrk);
        req.signed_prekey = &sp;
        req.last_resort = &lr;
    }
    for (size_t i = 0; i < n; i++) {
        espace__v1__one_time_prekey__init(&ot[i]);
        ot[i].id = opks[i].id;
        ot[i].key = s_bin(opks[i].pk, E2E_KEY_BYTES);
        otp[i] = &ot[i];
    }
    req.one_time = otp;
    req.n_one_time = n;
    int rc = s_call(e, "PublishKeys", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_messaging_unpublish(espace_t *e, espace_error_t *err)
{
    if (!e)
        return s_missing(err);
    Espace__V1__UnpublishRequest req = ESPACE__V1__UNPUBLISH_REQUEST__INIT;
    return s_call(e, "Unpublish", &req.base, NULL, err);
}

int espace_messaging_key_status(espace_t *e, Espace__V1__KeyStatusReply **out,
                                espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__KeyStatusRequest req = ESPACE__V1__KEY_STATUS_REQUEST__INIT;
    int rc = s_call(e, "KeyStatus", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_messaging_claim_bundles(espace_t *e, const uint8_t conv[ESPACE_MSG_ID],
                                   const uint8_t (*devices)[ESPACE_MSG_ID], size_t n,
                                   Espace__V1__ClaimBundlesReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    ProtobufCBinaryData ids[ESPACE_MSG_MAX_COPIES];
    if (!e || !conv || (n && !devices))
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    if (n > ESPACE_MSG_MAX_COPIES)
        ESPACE_RETURN_REPLY(out, m,
                            espace_err_set(err, ES_TOO_LARGE, "device_ids", "at most %d devices",
                                           ESPACE_MSG_MAX_COPIES));
    Espace__V1__ClaimBundlesRequest req = ESPACE__V1__CLAIM_BUNDLES_REQUEST__INIT;
    req.conversation_id = s_bin(conv, ESPACE_MSG_ID);
    for (size_t i = 0; i < n; i++)
        ids[i] = s_bin(devices[i], ESPACE_MSG_ID);
    req.device_ids = ids;
    req.n_device_ids = n;
    int rc = s_call(e, "ClaimBundles", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

static int s_copy_key(uint8_t *dst, const ProtobufCBinaryData *src, size_t want, int optional)
{
    if (src->len == 0 && optional) {
        memset(dst, 0, want);
        return 0;
    }
    if (src->len != want)
        return ES_INVALID_ARGUMENT;
    memcpy(dst, src->data, want);
    return 0;
}

int espace_messaging_bundle(const Espace__V1__Bundle *in, e2e_bundle_t *out)
{
    if (!in || !out || !in->signed_prekey)
        return ES_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (s_copy_key(out->ik, &in->identity_key, E2E_KEY_BYTES, 0) < 0 ||
        s_copy_key(out->spk, &in->signed_prekey->key, E2E_KEY_BYTES, 0) < 0 ||
        s_copy_key(out->spk_sig, &in->signed_prekey->sig, E2E_SIG_BYTES, 0) < 0 ||
        s_copy_key(out->opk, &in->prekey, E2E_KEY_BYTES, 1) < 0 ||
        s_copy_key(out->opk_sig, &in->prekey_sig, E2E_SIG_BYTES, 1) < 0)
        return ES_INVALID_ARGUMENT;
    out->spk_id = in->signed_prekey->id;
    out->opk_kind = (uint8_t)in->prekey_kind;
    out->opk_id = in->prekey_id;
    return 0;
}

/* ---- conversations ---- */

int espace_messaging_start_conversation(espace_t *e, const char *patient_id,
                                        const char *const *pros, size_t n,
                                        Espace__V1__StartConversationReply **out,
                                        espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !patient_id || (n && !pros))
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__StartConversationRequest req = ESPACE__V1__START_CONVERSATION_REQUEST__INIT;
    req.patient_id = (char *)patient_id;
    req.professionals = (char **)pros;
    req.n_professionals = n;
    int rc = s_call(e, "StartConversation", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_messaging_get_conversation(espace_t *e, const uint8_t conv[ESPACE_MSG_ID],
                                      Espace__V1__GetConversationReply **out,
                                      espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !conv)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__GetConversationRequest req = ESPACE__V1__GET_CONVERSATION_REQUEST__INIT;
    req.conversation_id = s_bin(conv, ESPACE_MSG_ID);
    int rc = s_call(e, "GetConversation", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_messaging_list_conversations(espace_t *e, uint32_t limit, espace_cursor_t *cursor,
                                        Espace__V1__ListConversationsReply **out,
                                        espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !cursor)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__ListConversationsRequest req = ESPACE__V1__LIST_CONVERSATIONS_REQUEST__INIT;
    req.limit = limit;
    req.cursor = s_bin(cursor->data, cursor->len);
    int rc = s_call(e, "ListConversations", &req.base, &m, err);
    if (rc == 0)
        espace_cursor_advance(cursor, &((Espace__V1__ListConversationsReply *)m)->next_cursor);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_messaging_close_conversation(espace_t *e, const uint8_t conv[ESPACE_MSG_ID],
                                        Espace__V1__CloseConversationReply **out,
                                        espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !conv)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__CloseConversationRequest req = ESPACE__V1__CLOSE_CONVERSATION_REQUEST__INIT;
    req.conversation_id = s_bin(conv, ESPACE_MSG_ID);
    int rc = s_call(e, "CloseConversation", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

/* ---- messages ---- */

int espace_messaging_send(espace_t *e, const uint8_t conv[ESPACE_MSG_ID],
                          const uint8_t msg_id[ESPACE_MSG_ID], const char *patient_id,
                          Espace__V1__Copy *const *copies, size_t n,
                          Espace__V1__SendReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !conv || !msg_id || (n && !copies))
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__SendRequest req = ESPACE__V1__SEND_REQUEST__INIT;
    req.conversation_id = s_bin(conv, ESPACE_MSG_ID);
    req.message_id = s_bin(msg_id, ESPACE_MSG_ID);
    req.patient_id = (char *)(patient_id ? patient_id : "");
    req.copies = (Espace__V1__Copy **)copies;
    req.n_copies = n;
    int rc = s_call(e, "Send", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_messaging_fetch(espace_t *e, uint64_t after_seq, uint32_t limit,
                           Espace__V1__FetchReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__FetchRequest req = ESPACE__V1__FETCH_REQUEST__INIT;
    req.after_seq = after_seq;
    req.limit = limit;
    int rc = s_call(e, "Fetch", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_messaging_ack(espace_t *e, uint64_t up_to_seq, uint64_t *acked, espace_error_t *err)
{
    if (acked)
        *acked = 0;
    if (!e)
        return s_missing(err);
    Espace__V1__AckRequest req = ESPACE__V1__ACK_REQUEST__INIT;
    req.up_to_seq = up_to_seq;
    ProtobufCMessage *m = NULL;
    int rc = s_call(e, "Ack", &req.base, &m, err);
    if (rc == 0 && acked)
        *acked = ((Espace__V1__AckReply *)m)->acked_seq;
    espace_free(m);
    return rc;
}

/* ---- attachments: the calls ---- */

int espace_messaging_begin_attachment(espace_t *e, const uint8_t conv[ESPACE_MSG_ID],
                                      const uint8_t att[ESPACE_MSG_ID], uint64_t size,
                                      const uint8_t hash[ESPACE_MSG_HASH],
                                      Espace__V1__BeginAttachmentReply **out,
                                      espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !conv || !att || !hash)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__BeginAttachmentRequest req = ESPACE__V1__BEGIN_ATTACHMENT_REQUEST__INIT;
    req.conversation_id = s_bin(conv, ESPACE_MSG_ID);
    req.attachment_id = s_bin(att, ESPACE_MSG_ID);
    req.size = size;
    req.hash = s_bin(hash, ESPACE_MSG_HASH);
    int rc = s_call(e, "BeginAttachment", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_messaging_upload_chunk(espace_t *e, const uint8_t att[ESPACE_MSG_ID], uint64_t offset,
                                  const uint8_t *data, size_t len,
                                  Espace__V1__UploadChunkReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !att || (len && !data))
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__UploadChunkRequest req = ESPACE__V1__UPLOAD_CHUNK_REQUEST__INIT;
    req.attachment_id = s_bin(att, ESPACE_MSG_ID);
    req.offset = offset;
    req.data = s_bin(data, len);
    int rc = s_call(e, "UploadChunk", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_messaging_download_attachment(espace_t *e, const uint8_t att[ESPACE_MSG_ID],
                                         uint64_t offset, uint32_t max_bytes,
                                         Espace__V1__DownloadAttachmentReply **out,
                                         espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !att)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__DownloadAttachmentRequest req = ESPACE__V1__DOWNLOAD_ATTACHMENT_REQUEST__INIT;
    req.attachment_id = s_bin(att, ESPACE_MSG_ID);
    req.offset = offset;
    req.max_bytes = max_bytes;
    int rc = s_call(e, "DownloadAttachment", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

/* ---- attachments: seal, move, open ---- */

int espace_messaging_attachment_seal(const uint8_t *plain, size_t len,
                                     uint8_t key[ESPACE_MSG_ATTACH_KEY], uint8_t **ct,
                                     size_t *ct_len, uint8_t hash[ESPACE_MSG_HASH])
{
    const size_t hdr = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
    const size_t ab = crypto_secretstream_xchacha20poly1305_ABYTES;
    if (!key || !ct || !ct_len || !hash || (len && !plain))
        return ES_INVALID_ARGUMENT;
    *ct = NULL;
    *ct_len = 0;
    size_t chunks = len ? (len - 1) / ESPACE_MSG_PLAIN_CHUNK + 1 : 1; /* the last is FINAL */
    if (len > ESPACE_MSG_ATTACH_MAX || hdr + len + chunks * ab > ESPACE_MSG_ATTACH_MAX)
        return ES_TOO_LARGE;
    size_t total = hdr + len + chunks * ab;
    uint8_t *out = malloc(total);
    if (!out)
        return ES_RESOURCE_EXHAUSTED;
    crypto_secretstream_xchacha20poly1305_state st;
    crypto_secretstream_xchacha20poly1305_keygen(key);
    crypto_secretstream_xchacha20poly1305_init_push(&st, out, key);
    size_t off = 0, w = hdr;
    for (size_t i = 0; i < chunks; i++) {
        size_t n = len - off < ESPACE_MSG_PLAIN_CHUNK ? len - off : ESPACE_MSG_PLAIN_CHUNK;
        uint8_t tag = i + 1 == chunks ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0;
        unsigned long long clen = 0;
        crypto_secretstream_xchacha20poly1305_push(&st, out + w, &clen, plain ? plain + off : NULL,
                                                   n, NULL, 0, tag);
        off += n;
        w += (size_t)clen;
    }
    sodium_memzero(&st, sizeof st);
    crypto_generichash(hash, ESPACE_MSG_HASH, out, w, NULL, 0);
    *ct = out;
    *ct_len = w;
    return 0;
}

int espace_messaging_attachment_open(const uint8_t key[ESPACE_MSG_ATTACH_KEY], const uint8_t *ct,
                                     size_t ct_len, uint8_t **plain, size_t *len)
{
    const size_t hdr = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
    const size_t ab = crypto_secretstream_xchacha20poly1305_ABYTES;
    if (!key || !ct || !plain || !len)
        return ES_INVALID_ARGUMENT;
    *plain = NULL;
    *len = 0;
    if (ct_len < hdr + ab)
        return ES_UNAUTHENTICATED;
    uint8_t *out = malloc(ct_len - hdr - ab + 1);
    if (!out)
        return ES_RESOURCE_EXHAUSTED;
    crypto_secretstream_xchacha20poly1305_state st;
    int rc = ES_UNAUTHENTICATED;
    if (crypto_secretstream_xchacha20poly1305_init_pull(&st, ct, key) != 0)
        goto fail;
    size_t r = hdr, w = 0;
    uint8_t tag = 0;
    while (r < ct_len && tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
        size_t n = ct_len - r < S_SS_CHUNK ? ct_len - r : S_SS_CHUNK;
        unsigned long long mlen = 0;
        if (n < ab ||
            crypto_secretstream_xchacha20poly1305_pull(&st, out + w, &mlen, &tag, ct + r, n,
                                                       NULL, 0) != 0)
            goto fail;
        r += n;
        w += (size_t)mlen;
    }
    if (tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL || r != ct_len)
        goto fail;
    sodium_memzero(&st, sizeof st);
    *plain = out;
    *len = w;
    return 0;
fail:
    sodium_memzero(&st, sizeof st);
    sodium_memzero(out, ct_len - hdr - ab + 1);
    free(out);
    return rc;
}

/* BeginAttachment: the next offset into *next; 1 when complete. */
/* The upload calls of one attachment, for the shared piece loop. */
typedef struct s_up {
    espace_t *e;
    const uint8_t *conv, *att, *hash;
    size_t len;
} s_up_t;

static int s_begin(void *ctx, uint64_t *next, espace_error_t *err)
{
    s_up_t *u = ctx;
    Espace__V1__BeginAttachmentReply *b = NULL;
    int rc = espace_messaging_begin_attachment(u->e, u->conv, u->att, u->len, u->hash, &b, err);
    if (rc < 0)
        return rc;
    *next = b->next_offset;
    rc = b->complete ? 1 : 0;
    espace_free(&b->base);
    return rc;
}

static int s_put(void *ctx, uint64_t off, const uint8_t *data, size_t n, uint64_t *next,
                 int *complete, espace_error_t *err)
{
    s_up_t *u = ctx;
    Espace__V1__UploadChunkReply *r = NULL;
    int rc = espace_messaging_upload_chunk(u->e, u->att, off, data, n, &r, err);
    if (rc < 0)
        return rc;
    *next = r->next_offset;
    *complete = r->complete;
    espace_free(&r->base);
    return 0;
}

int espace_messaging_upload(espace_t *e, const uint8_t conv[ESPACE_MSG_ID],
                            const uint8_t att[ESPACE_MSG_ID], const uint8_t *ct, size_t len,
                            const uint8_t hash[ESPACE_MSG_HASH], espace_error_t *err)
{
    if (!e || !conv || !att || !ct || !hash || !len)
        return s_missing(err);
    static const espace_pieces_up_t ops = {s_begin, s_put};
    s_up_t u = {e, conv, att, hash, len};
    return espace_pieces_upload(&ops, &u, ct, len, ESPACE_MSG_PIECE, err);
}

typedef struct s_down {
    espace_t *e;
    const uint8_t *att;
} s_down_t;

static int s_get(void *ctx, uint64_t off, ProtobufCBinaryData *data, uint64_t *size,
                 ProtobufCBinaryData *hash, ProtobufCMessage **hold, espace_error_t *err)
{
    s_down_t *d = ctx;
    Espace__V1__DownloadAttachmentReply *r = NULL;
    int rc = espace_messaging_download_attachment(d->e, d->att, off, 0, &r, err);
    if (rc < 0)
        return rc;
    *data = r->data;
    *size = r->size;
    *hash = r->hash;
    *hold = &r->base;
    return 0;
}

int espace_messaging_download(espace_t *e, const uint8_t att[ESPACE_MSG_ID],
                              const uint8_t hash[ESPACE_MSG_HASH], uint8_t **ct, size_t *len,
                              espace_error_t *err)
{
    if (!e || !att || !hash || !ct || !len)
        return s_missing(err);
    s_down_t d = {e, att};
    return espace_pieces_download(s_get, &d, ESPACE_MSG_ATTACH_MAX, hash,
                                  "the attachment is not the one the message names", ct, len,
                                  NULL, err);
}

/* ---- the session's device and live notices ---- */

int espace_messaging_device(espace_t *e, uint8_t device[ESPACE_MSG_ID], espace_error_t *err)
{
    if (!e || !device)
        return s_missing(err);
    Espace__V1__WhoAmIRequest req = ESPACE__V1__WHO_AM_IREQUEST__INIT;
    ProtobufCMessage *m = NULL;
    int rc = espace_rpc(e, SERVICE_IDENTITY, &espace__v1__identity__descriptor, "WhoAmI",
                        &req.base, &m, err);
    if (rc < 0)
        return rc;
    Espace__V1__WhoAmIReply *w = (Espace__V1__WhoAmIReply *)m;
    if (!w->caller || w->caller->device_id.len != ESPACE_MSG_ID)
        rc = espace_err_set(err, ES_FAILED_PRECONDITION, "device_id", "the session has no device");
    else
        memcpy(device, w->caller->device_id.data, ESPACE_MSG_ID);
    espace_free(m);
    return rc;
}

int espace_messaging_watch(espace_t *e, const uint8_t device[ESPACE_MSG_ID],
                           char topic[ESPACE_TOPIC_MAX], espace_error_t *err)
{
    char t[ESPACE_TOPIC_MAX];
    if (!e || !device)
        return s_missing(err);
    const char *rpps = espace_principal(e);
    if (!*rpps)
        return espace_err_set(err, ES_UNAUTHENTICATED, NULL,
                              "no session on this connection (login or resume first)");
    if (topic_pro_device(t, sizeof t, rpps, device, TOPIC_AREA_MESSAGING) < 0)
        return espace_err_set(err, ES_PERMISSION_DENIED, NULL,
                              "live messaging notices are for professionals");
    int rc = espace_subscribe(e, t, err);
    if (rc == 0 && topic)
        memcpy(topic, t, sizeof t);
    return rc;
}

/* 1 if topic is "pro.<rpps>.device.<hex>.messaging" of this connection. */
static int s_notice_topic(const espace_t *e, const char *topic)
{
    char head[ESPACE_TOPIC_MAX];
    uint8_t dev[ESPACE_MSG_ID];
    int w = snprintf(head, sizeof head, "%s%s.%s", TOPIC_PRO, espace_principal(e), TOPIC_DEVICE);
    size_t n = strlen(topic), an = strlen("." TOPIC_AREA_MESSAGING);
    return w > 0 && (size_t)w < sizeof head && !strncmp(topic, head, (size_t)w) &&
           topic_device_id(topic, dev) == 0 && n > an &&
           !strcmp(topic + n - an, "." TOPIC_AREA_MESSAGING);
}

int espace_messaging_next_notice(espace_t *e, int timeout_ms, Espace__V1__Entry **out,
                                 espace_error_t *err)
{
    if (out)
        *out = NULL;
    if (!e || !out)
        return s_missing(err);
    int64_t end = timeout_ms < 0 ? INT64_MAX : bus_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = end == INT64_MAX ? -1 : end - bus_mono_ms();
        if (left < 0 && end != INT64_MAX)
            left = 0;
        char topic[ESPACE_TOPIC_MAX];
        Espace__V1__Event *ev = NULL;
        int rc = espace_next_event(e, left > INT32_MAX ? INT32_MAX : (int)left, topic, &ev, err);
        if (rc < 0)
            return rc;
        ProtobufCMessage *entry = NULL;
        if (s_notice_topic(e, topic))
            codec_decode(&espace__v1__entry__descriptor, ev->body.data, ev->body.len, 0, &entry,
                         NULL);
        espace_free(&ev->base);
        if (entry) {
            *out = (Espace__V1__Entry *)entry;
            return 0;
        }
        if (left == 0)
            return espace_err_set(err, ES_DEADLINE_EXCEEDED, NULL, "no notice within %d ms",
                                  timeout_ms);
    }
}
