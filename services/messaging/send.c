/*
 * send.c - Send: one message of the caller's device into a conversation,
 * one ciphertext per current device of the members (the sender's other
 * devices included), written in the caller's nested transaction of the
 * group commit: every copy, its queue sequence and expiry, and the message
 * id, or nothing. A device set that does not match stores nothing and
 * answers the current list; a message id already stored answers what its
 * first Send did. No signature is checked per message: the sessions were
 * set up with verified bundles.
 */
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/status.h"
#include "services/messaging/messaging_int.h"

#define R(x) ESPACE__V1__SEND_RESULT__SEND_RESULT_##x

/* The message id was stored before: DUPLICATE with its time, when it is
 * the same sender device and conversation; else the id is taken. */
static int s_duplicate(svc_call_t *c, const Espace__V1__MsgSentRecord *s,
                       const Espace__V1__SendRequest *r, const uint8_t dev[ID_BYTES])
{
    if (s->sender_device.len != ID_BYTES || memcmp(s->sender_device.data, dev, ID_BYTES) != 0 ||
        s->conversation_id.len != ID_BYTES ||
        memcmp(s->conversation_id.data, r->conversation_id.data, ID_BYTES) != 0)
        return svc_fail(c, ES_ALREADY_EXISTS, "message_id", "message id taken");
    Espace__V1__SendReply rep = ESPACE__V1__SEND_REPLY__INIT;
    rep.result = R(DUPLICATE);
    rep.sent_ms = s->sent_ms;
    int rc = svc_reply(c, &rep.base);
    return rc ? svc_fail(c, rc, NULL, "reply failed") : ES_OK;
}

/* Answer DEVICES_CHANGED with the current list (nothing stored). */
static int s_devices_changed(msg_state_t *st, svc_call_t *c, store_txn_t *t,
                             const Espace__V1__Conversation *v, const msg_devset_t *set,
                             const Espace__V1__SendRequest *r, const size_t *missing,
                             size_t n_missing, const size_t *stale, size_t n_stale)
{
    msg_devlist_t *l = malloc(sizeof *l);
    if (!l)
        return svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
    int rc = msg_db_devlist(st, t, v, l);
    if (rc != 0) {
        free(l);
        return svc_fail(c, rc, NULL, "storage failure");
    }
    ProtobufCBinaryData miss[MSG_DEVSET_MAX], old[MSG_MAX_COPIES];
    for (size_t i = 0; i < n_missing; i++) {
        miss[i].data = (uint8_t *)set->id[missing[i]];
        miss[i].len = ID_BYTES;
    }
    for (size_t i = 0; i < n_stale; i++)
        old[i] = r->copies[stale[i]]->device_id;
    Espace__V1__SendReply rep = ESPACE__V1__SEND_REPLY__INIT;
    rep.result = R(DEVICES_CHANGED);
    rep.missing = miss;
    rep.n_missing = n_missing;
    rep.stale = old;
    rep.n_stale = n_stale;
    rep.devices = l->pmd;
    rep.n_devices = l->n;
    rc = svc_reply(c, &rep.base);
    msg_devlist_free(l);
    free(l);
    return rc ? svc_fail(c, rc, NULL, "reply failed") : ES_OK;
}

/* The rate limits of a send by `who` to the other members of v. */
static int s_rate(msg_state_t *st, svc_call_t *c, const msg_who_t *who,
                  const Espace__V1__Conversation *v)
{
    int64_t now = svc_now_ms(c);
    uint8_t k[MSG_HASH];
    msg_rate_key(k, "send", who->hash, NULL);
    unsigned x = st->rate_scale;
    if (!msg_rate_take(st->rate, k, MSG_RATE_SEND_PER_MIN * x, MSG_RATE_SEND_BURST * x, now))
        return svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "too many messages: retry later");
    for (size_t i = 0; i < msg_conv_members(v); i++) {
        msg_who_t w;
        if (msg_conv_who(st, v, i, &w) != 0)
            return svc_fail(c, ES_INTERNAL, NULL, "bad member");
        if (memcmp(w.hash, who->hash, MSG_HASH) == 0)
            continue;
        msg_rate_key(k, "pair", who->hash, w.hash);
        if (!msg_rate_take(st->rate, k, MSG_RATE_PAIR_PER_MIN * x, MSG_RATE_PAIR_BURST * x, now))
            return svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL,
                            "too many messages to this member: retry later");
    }
    return ES_OK;
}

/* Queue every copy and remember the message id. */
static int s_store(msg_state_t *st, svc_call_t *c, store_txn_t *t,
                   const Espace__V1__Conversation *v, const msg_devset_t *set,
                   const msg_who_t *who, const uint8_t dev[ID_BYTES],
                   const Espace__V1__SendRequest *r)
{
    int64_t now = svc_now_ms(c);
    Espace__V1__Member sender;
    msg_member_of(&sender, who);
    int rc = ES_OK;
    for (size_t j = 0; j < r->n_copies && rc == 0; j++) {
        const Espace__V1__Copy *cp = r->copies[j];
        long i = msg_devset_find(set, cp->device_id.data);
        msg_who_t owner;
        if (i < 0 || msg_conv_who(st, v, set->member[i], &owner) != 0)
            return ES_INTERNAL; /* checked by the caller */
        Espace__V1__Entry e = ESPACE__V1__ENTRY__INIT;
        e.kind = ESPACE__V1__ENTRY_KIND__ENTRY_KIND_MESSAGE;
        e.message_id = r->message_id;
        e.conversation_id = r->conversation_id;
        e.sender = &sender;
        e.sender_device.data = (uint8_t *)dev;
        e.sender_device.len = ID_BYTES;
        e.sent_ms = now;
        e.ciphertext = cp->ciphertext;
        rc = msg_enqueue(st, c, t, cp->device_id.data, &owner, &e);
    }
    if (rc != 0)
        return rc;
    Espace__V1__MsgSentRecord s = ESPACE__V1__MSG_SENT_RECORD__INIT;
    s.conversation_id = r->conversation_id;
    s.sender = &sender;
    s.sender_device.data = (uint8_t *)dev;
    s.sender_device.len = ID_BYTES;
    s.sent_ms = now;
    s.expires_ms = now + st->retention_ms;
    if ((rc = msg_db_save(t, MSG_T_SENT, r->message_id.data, ID_BYTES, &s.base)) != 0)
        return rc;
    return msg_db_expiry(t, s.expires_ms, MSG_EXP_SENT, r->message_id.data, ID_BYTES, 1);
}

int msg_send(void *state, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    msg_state_t *st = state;
    const Espace__V1__SendRequest *r = (const Espace__V1__SendRequest *)m;
    const svc_access_t *a = svc_access(c);
    msg_who_t who;
    uint8_t dev[ID_BYTES];
    msg_err_t err;
    Espace__V1__MsgConversationRecord *conv = NULL;
    Espace__V1__MsgSentRecord *sent = NULL;
    msg_devset_t *set = NULL;
    int rc;
    if (!a)
        return svc_fail(c, ES_INTERNAL, NULL, "no access resolved");
    if ((rc = msg_caller(st, c, &who)) != 0 || (rc = msg_caller_device(c, dev)) != 0)
        return rc;
    if (msg_id_check(&r->message_id, "message_id", &err) != 0 ||
        msg_copies_check(r->copies, r->n_copies, &err) != 0)
        return msg_fail(c, &err);
    if ((rc = msg_conv_open(c, t, &r->conversation_id, "conversation_id", &who, &conv)) != 0)
        return rc;
    const Espace__V1__Conversation *v = conv->conversation;
    if (strcmp(v->patient_id, a->patient_id) != 0) {
        rc = svc_fail(c, ES_INVALID_ARGUMENT, "patient_id", "not the conversation's patient");
        goto done;
    }
    rc = msg_db_load(t, MSG_T_SENT, r->message_id.data, ID_BYTES,
                     &espace__v1__msg_sent_record__descriptor, (ProtobufCMessage **)&sent);
    if (rc == 0) {
        rc = s_duplicate(c, sent, r, dev);
        goto done;
    }
    if (rc != ES_NOT_FOUND) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    if (v->closed) {
        rc = svc_fail(c, ES_FAILED_PRECONDITION, "conversation_id",
                      "the conversation is closed to replies");
        goto done;
    }
    if (!(set = malloc(sizeof *set))) {
        rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
        goto done;
    }
    if ((rc = msg_db_devset(st, t, v, set)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    size_t missing[MSG_DEVSET_MAX], stale[MSG_MAX_COPIES], nm = 0, ns = 0;
    if (msg_devset_diff(set, dev, r->copies, r->n_copies, missing, &nm, stale, &ns)) {
        rc = s_devices_changed(st, c, t, v, set, r, missing, nm, stale, ns);
        goto done;
    }
    if ((rc = s_rate(st, c, &who, v)) != 0)
        goto done;
    if ((rc = s_store(st, c, t, v, set, &who, dev, r)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    Espace__V1__SendReply rep = ESPACE__V1__SEND_REPLY__INIT;
    rep.result = R(STORED);
    rep.sent_ms = svc_now_ms(c);
    rc = svc_reply(c, &rep.base);
    if (rc != 0)
        rc = svc_fail(c, rc, NULL, "reply failed");
done:
    free(set);
    codec_free(sent ? &sent->base : NULL);
    codec_free(&conv->base);
    return rc;
}
