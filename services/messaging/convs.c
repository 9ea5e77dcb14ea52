/*
 * convs.c - conversations: StartConversation (a professional, under the
 * patient's MESSAGING grant: the guard; or the patient, with one
 * professional who holds that grant: the guard's holder), GetConversation and
 * ListConversations (members only), CloseConversation (a professional
 * member closes it to replies).
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/status.h"
#include "services/messaging/messaging_int.h"

#define K_PRO ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL

static const uint8_t s_one = 1;

static void s_member_key(uint8_t k[MSG_KEY_MEMBER], const uint8_t hash[MSG_HASH],
                         int64_t started, const uint8_t id[ID_BYTES])
{
    memcpy(k, hash, MSG_HASH);
    store_be64_put(k + MSG_HASH, (uint64_t)started);
    memcpy(k + MSG_HASH + 8, id, ID_BYTES);
}

/* Reply a conversation with its members' devices (Start and Get answer
 * the same shape). */
static int s_reply_conv(msg_state_t *st, svc_call_t *c, store_txn_t *t,
                        Espace__V1__Conversation *v, int start)
{
    msg_devlist_t *l = malloc(sizeof *l);
    if (!l)
        return svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
    int rc = msg_db_devlist(st, t, v, l);
    if (rc != 0) {
        free(l);
        return svc_fail(c, rc, NULL, "storage failure");
    }
    if (start) {
        Espace__V1__StartConversationReply rep = ESPACE__V1__START_CONVERSATION_REPLY__INIT;
        rep.conversation = v;
        rep.devices = l->pmd;
        rep.n_devices = l->n;
        rc = svc_reply(c, &rep.base);
    } else {
        Espace__V1__GetConversationReply rep = ESPACE__V1__GET_CONVERSATION_REPLY__INIT;
        rep.conversation = v;
        rep.devices = l->pmd;
        rep.n_devices = l->n;
        rc = svc_reply(c, &rep.base);
    }
    msg_devlist_free(l);
    free(l);
    return rc ? svc_fail(c, rc, NULL, "reply failed") : ES_OK;
}

int msg_start_conversation(void *state, svc_call_t *c, const ProtobufCMessage *m,
                           store_txn_t *t)
{
    msg_state_t *st = state;
    const Espace__V1__StartConversationRequest *r =
        (const Espace__V1__StartConversationRequest *)m;
    const svc_access_t *a = svc_access(c);
    msg_who_t who;
    msg_err_t err;
    int rc;
    if (!a)
        return svc_fail(c, ES_INTERNAL, NULL, "no access resolved");
    if ((rc = msg_caller(st, c, &who)) != 0)
        return rc;
    /* A professional starts with the others listed; the patient with the
     * one professional the guard checked (its holder), who is the starter
     * of the care team. */
    int by_pro = who.kind == K_PRO;
    if (by_pro &&
        msg_pros_check(r->professionals, r->n_professionals, who.principal, &err) != 0)
        return msg_fail(c, &err);
    if (!by_pro && r->n_professionals != 1)
        return svc_fail(c, ES_INTERNAL, NULL, "no professional checked");

    uint8_t id[ID_BYTES];
    randombytes_buf(id, sizeof id);
    char *pros[MSG_MAX_PROS];
    size_t n_pros = 0;
    if (by_pro)
        pros[n_pros++] = who.principal;
    for (size_t i = 0; i < r->n_professionals; i++)
        pros[n_pros++] = r->professionals[i];
    Espace__V1__Conversation v = ESPACE__V1__CONVERSATION__INIT;
    v.id.data = id;
    v.id.len = ID_BYTES;
    v.patient_id = (char *)a->patient_id;
    v.professionals = pros;
    v.n_professionals = n_pros;
    v.started_by = by_pro ? who.principal : (char *)a->patient_id;
    v.started_ms = svc_now_ms(c);
    Espace__V1__MsgConversationRecord rec = ESPACE__V1__MSG_CONVERSATION_RECORD__INIT;
    rec.conversation = &v;
    if ((rc = msg_db_save(t, MSG_T_CONVS, id, ID_BYTES, &rec.base)) != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    for (size_t i = 0; i < msg_conv_members(&v); i++) {
        msg_who_t w;
        uint8_t k[MSG_KEY_MEMBER];
        if ((rc = msg_conv_who(st, &v, i, &w)) != 0)
            return svc_fail(c, ES_INTERNAL, NULL, "bad member");
        s_member_key(k, w.hash, v.started_ms, id);
        if ((rc = store_put(t, MSG_T_BY_MEMBER, k, sizeof k, &s_one, 1)) != 0)
            return svc_fail(c, rc, NULL, "storage failure");
    }
    char hex[ID_HEX];
    log_info(SERVICE_MESSAGING, "conversation.start", "conversation=%s members=%zu",
             id_hex(id, hex), msg_conv_members(&v));
    return s_reply_conv(st, c, t, &v, 1);
}

int msg_get_conversation(void *state, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    msg_state_t *st = state;
    const Espace__V1__GetConversationRequest *r = (const Espace__V1__GetConversationRequest *)m;
    msg_who_t who;
    Espace__V1__MsgConversationRecord *conv = NULL;
    int rc;
    if ((rc = msg_caller(st, c, &who)) != 0 ||
        (rc = msg_conv_open(c, t, &r->conversation_id, "conversation_id", &who, &conv)) != 0)
        return rc;
    rc = s_reply_conv(st, c, t, conv->conversation, 0);
    codec_free(&conv->base);
    return rc;
}

int msg_list_conversations(void *state, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    msg_state_t *st = state;
    const Espace__V1__ListConversationsRequest *r =
        (const Espace__V1__ListConversationsRequest *)m;
    msg_who_t who;
    int rc;
    if ((rc = msg_caller(st, c, &who)) != 0)
        return rc;
    if (r->limit > MSG_LIST_MAX)
        return svc_fail(c, ES_INVALID_ARGUMENT, "limit", "at most %d", MSG_LIST_MAX);
    if (r->cursor.len != 0 && r->cursor.len != MSG_CURSOR_BYTES)
        return svc_fail(c, ES_INVALID_ARGUMENT, "cursor", "malformed cursor");
    size_t limit = r->limit ? r->limit : MSG_LIST_DEFAULT;
    /* Newest first: backwards from the cursor (exclusive), or from the end
     * of the member's keys. */
    uint8_t from[MSG_KEY_MEMBER];
    memcpy(from, who.hash, MSG_HASH);
    if (r->cursor.len)
        memcpy(from + MSG_HASH, r->cursor.data, MSG_CURSOR_BYTES);
    else
        memset(from + MSG_HASH, 0xff, MSG_CURSOR_BYTES);
    Espace__V1__MsgConversationRecord **recs = calloc(limit, sizeof *recs);
    Espace__V1__Conversation **out = calloc(limit, sizeof *out);
    store_cursor_t *cur = NULL;
    size_t n = 0;
    int more = 0;
    uint8_t next[MSG_CURSOR_BYTES];
    if (!recs || !out) {
        rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
        goto done;
    }
    if ((rc = store_cursor_open_reverse(t, MSG_T_BY_MEMBER, from, sizeof from, &cur)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    const void *k = NULL;
    size_t kl = 0;
    while ((rc = store_cursor_next(cur, &k, &kl, NULL, NULL)) == 0) {
        if (kl != MSG_KEY_MEMBER || memcmp(k, who.hash, MSG_HASH) != 0)
            break;
        if (n == limit) {
            more = 1;
            break;
        }
        const uint8_t *id = (const uint8_t *)k + MSG_HASH + 8;
        if ((rc = msg_db_load(t, MSG_T_CONVS, id, ID_BYTES,
                              &espace__v1__msg_conversation_record__descriptor,
                              (ProtobufCMessage **)&recs[n])) != 0)
            break;
        if (!recs[n]->conversation) {
            rc = ES_INTERNAL;
            break;
        }
        out[n] = recs[n]->conversation;
        memcpy(next, (const uint8_t *)k + MSG_HASH, MSG_CURSOR_BYTES);
        n++;
    }
    if (rc != 0 && rc != ES_NOT_FOUND) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    Espace__V1__ListConversationsReply rep = ESPACE__V1__LIST_CONVERSATIONS_REPLY__INIT;
    rep.conversations = out;
    rep.n_conversations = n;
    if (more) {
        rep.next_cursor.data = next;
        rep.next_cursor.len = sizeof next;
    }
    rc = svc_reply(c, &rep.base);
    if (rc != 0)
        rc = svc_fail(c, rc, NULL, "reply failed");
done:
    store_cursor_close(&cur);
    for (size_t i = 0; recs && i < limit; i++)
        if (recs[i])
            codec_free(&recs[i]->base);
    free(recs);
    free(out);
    return rc;
}

int msg_close_conversation(void *state, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    msg_state_t *st = state;
    const Espace__V1__CloseConversationRequest *r =
        (const Espace__V1__CloseConversationRequest *)m;
    msg_who_t who;
    Espace__V1__MsgConversationRecord *conv = NULL;
    int rc;
    if ((rc = msg_caller(st, c, &who)) != 0 ||
        (rc = msg_conv_open(c, t, &r->conversation_id, "conversation_id", &who, &conv)) != 0)
        return rc;
    Espace__V1__Conversation *v = conv->conversation;
    if (who.kind != K_PRO) {
        rc = svc_fail(c, ES_PERMISSION_DENIED, NULL, "a professional closes a conversation");
        goto done;
    }
    if (!v->closed) {
        /* Swap in the caller's RPPS for the save, then put the record's own
         * string back so codec_free frees what it allocated. */
        char *own = v->closed_by;
        v->closed = 1;
        v->closed_by = who.principal;
        v->closed_ms = svc_now_ms(c);
        rc = msg_db_save(t, MSG_T_CONVS, v->id.data, ID_BYTES, &conv->base);
        if (rc == 0) {
            Espace__V1__CloseConversationReply rep = ESPACE__V1__CLOSE_CONVERSATION_REPLY__INIT;
            rep.conversation = v;
            rc = svc_reply(c, &rep.base);
        }
        v->closed_by = own;
        if (rc != 0)
            rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    Espace__V1__CloseConversationReply rep = ESPACE__V1__CLOSE_CONVERSATION_REPLY__INIT;
    rep.conversation = v;
    rc = svc_reply(c, &rep.base);
    if (rc != 0)
        rc = svc_fail(c, rc, NULL, "reply failed");
done:
    codec_free(&conv->base);
    return rc;
}
