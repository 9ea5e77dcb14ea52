/*
 * queue.c - one queue per device, ordered by the device's sequence: the
 * copies sent to it and the receipts of what it sent. Fetch reads after a
 * sequence, Ack deletes up to one (and queues the senders' receipts), the
 * tick deletes what passed its expiry: message ids and attachments through
 * the expiry index (messaging_int.h "expiry"), queue entries by the sweep.
 * A queue value is expires (8) | the packed Entry.
 *
 * One put per queued entry: the entry carries its expiry time, and neither
 * an expiry key nor the device's head is written with it (the head's last
 * seq is completed from the queue's last key: msg_db_last).
 *
 * The sweep: a device's entries expire in sequence order (each expires
 * the retention period after it was queued), so the tick visits devices in
 * key order, MSG_SWEEP_DEVICES per call, resuming after the last one it
 * visited (in memory: from the first device after a restart), and deletes
 * each device's oldest entries while they are due, up to
 * MSG_EXPIRE_PER_TICK per call. Before deleting it writes the device's
 * head: the last seq (sequences never go back) and the acked seq moved past
 * the deleted entries (so a device's entries are always the seqs after
 * acked up to its last: Fetch's scan ends at the last). An entry is
 * deleted at most one full sweep (devices / MSG_SWEEP_DEVICES ticks) after
 * its expiry; an entry queued after the clock stepped back waits for the
 * older ones before it.
 */
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/status.h"
#include "services/messaging/messaging_int.h"

#define K_PATIENT ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT
#define KIND(x) ESPACE__V1__ENTRY_KIND__ENTRY_KIND_##x

static void s_qkey(uint8_t k[MSG_KEY_QUEUE], const uint8_t dev[ID_BYTES], uint64_t seq)
{
    memcpy(k, dev, ID_BYTES);
    store_be64_put(k + ID_BYTES, seq);
}

/* Publish e on the device's topic: in full for a patient's device (the edge
 * gives it to that device's connections only), without ciphertext for a
 * professional's (a notice: the software fetches). */
static void s_publish(svc_call_t *c, const uint8_t dev[ID_BYTES], const msg_who_t *owner,
                      const Espace__V1__Entry *e)
{
    char topic[TOPIC_MAX + 1];
    Espace__V1__Entry notice = *e;
    int rc;
    if (owner->kind == K_PATIENT) {
        rc = topic_patient_device(topic, sizeof topic, owner->principal, dev,
                                  TOPIC_AREA_MESSAGING);
    } else {
        notice.ciphertext.data = NULL;
        notice.ciphertext.len = 0;
        rc = topic_pro_device(topic, sizeof topic, owner->principal, dev, TOPIC_AREA_MESSAGING);
    }
    if (rc == 0)
        rc = svc_publish(c, topic, &notice.base);
    if (rc != 0)
        log_debug(SERVICE_MESSAGING, "publish.skip", "status=%s", es_status_name(rc));
}

int msg_enqueue(msg_state_t *st, svc_call_t *c, store_txn_t *t, const uint8_t dev[ID_BYTES],
                const msg_who_t *owner, Espace__V1__Entry *e)
{
    uint64_t last = 0, acked = 0;
    int rc = msg_db_last(t, dev, &last, &acked);
    if (rc != 0)
        return rc;
    e->seq = last + 1;
    int64_t expires = svc_now_ms(c) + st->retention_ms;
    size_t len = protobuf_c_message_get_packed_size(&e->base);
    uint8_t *v = malloc(8 + len);
    if (!v)
        return ES_RESOURCE_EXHAUSTED;
    store_be64_put(v, (uint64_t)expires);
    protobuf_c_message_pack(&e->base, v + 8);
    uint8_t k[MSG_KEY_QUEUE];
    s_qkey(k, dev, e->seq);
    rc = store_put(t, MSG_T_QUEUE, k, sizeof k, v, 8 + len);
    free(v);
    if (rc == 0)
        s_publish(c, dev, owner, e);
    return rc;
}

/* Decode a queue value: its expiry and entry (codec_free). */
static int s_entry(const void *val, size_t vlen, int64_t *expires, Espace__V1__Entry **out)
{
    *out = NULL;
    if (vlen < 8)
        return ES_INTERNAL;
    *expires = (int64_t)store_be64_get(val);
    if (codec_decode(&espace__v1__entry__descriptor, (const uint8_t *)val + 8, vlen - 8,
                     STORE_MAX_VALUE, (ProtobufCMessage **)out, NULL) != 0) {
        log_error(SERVICE_MESSAGING, "record.corrupt", "table=%s", MSG_T_QUEUE);
        return ES_INTERNAL;
    }
    return ES_OK;
}

/* ---- Fetch ---- */

int msg_fetch(void *state, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    msg_state_t *st = state;
    const Espace__V1__FetchRequest *r = (const Espace__V1__FetchRequest *)m;
    msg_who_t who;
    uint8_t dev[ID_BYTES];
    int rc;
    if ((rc = msg_caller(st, c, &who)) != 0 || (rc = msg_caller_device(c, dev)) != 0)
        return rc;
    if (r->limit > MSG_FETCH_MAX)
        return svc_fail(c, ES_INVALID_ARGUMENT, "limit", "at most %d", MSG_FETCH_MAX);
    size_t limit = r->limit ? r->limit : MSG_FETCH_DEFAULT;
    uint64_t last = 0, acked = 0;
    if ((rc = msg_db_last(t, dev, &last, &acked)) != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    uint64_t after = r->after_seq > acked ? r->after_seq : acked;
    Espace__V1__Entry **es = calloc(limit, sizeof *es);
    store_cursor_t *cur = NULL;
    size_t n = 0, bytes = 0;
    int caught_up = 0;
    if (!es)
        return svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
    uint8_t from[MSG_KEY_QUEUE];
    s_qkey(from, dev, after + 1);
    /* The scan stops at the device's last seq: it never opens the next
     * device's first value (neither its cost nor its failure is ours). */
    if (after >= last) {
        caught_up = 1; /* nothing comes after */
    } else if ((rc = store_cursor_open(t, MSG_T_QUEUE, from, sizeof from, &cur)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    while (cur) {
        const void *k = NULL, *v = NULL;
        size_t kl = 0, vl = 0;
        rc = store_cursor_next(cur, &k, &kl, &v, &vl);
        if (rc == ES_NOT_FOUND || (rc == 0 && (kl != MSG_KEY_QUEUE || memcmp(k, dev, ID_BYTES)))) {
            caught_up = 1;
            rc = ES_OK;
            break;
        }
        if (rc != 0)
            break;
        if (n == limit || (n > 0 && bytes + vl > MSG_FETCH_BYTES))
            break;
        int64_t expires;
        if ((rc = s_entry(v, vl, &expires, &es[n])) != 0)
            break;
        bytes += vl;
        if (es[n++]->seq >= last) {
            caught_up = 1;
            break;
        }
    }
    if (rc != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    Espace__V1__FetchReply rep = ESPACE__V1__FETCH_REPLY__INIT;
    Espace__V1__PrekeyHint hint;
    if ((rc = msg_keys_hint(t, dev, &hint)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    rep.entries = es;
    rep.n_entries = n;
    rep.caught_up = caught_up;
    rep.last_seq = n ? es[n - 1]->seq : after;
    rep.hint = &hint;
    rc = svc_reply(c, &rep.base);
    if (rc != 0)
        rc = svc_fail(c, rc, NULL, "reply failed");
done:
    store_cursor_close(&cur);
    for (size_t i = 0; i < n; i++)
        codec_free(&es[i]->base);
    free(es);
    return rc;
}

/* ---- Ack ---- */

/* Delete entry seq of dev; for a message copy from another principal,
 * queue a receipt for its sending device. */
static int s_ack_one(msg_state_t *st, svc_call_t *c, store_txn_t *t, const msg_who_t *who,
                     const uint8_t dev[ID_BYTES], uint64_t seq)
{
    uint8_t k[MSG_KEY_QUEUE];
    s_qkey(k, dev, seq);
    const void *v = NULL;
    size_t vl = 0;
    int rc = store_get(t, MSG_T_QUEUE, k, sizeof k, &v, &vl);
    if (rc == ES_NOT_FOUND)
        return ES_OK; /* expired */
    if (rc != 0)
        return rc;
    int64_t expires = 0;
    Espace__V1__Entry *e = NULL;
    if ((rc = s_entry(v, vl, &expires, &e)) != 0)
        return rc;
    if ((rc = store_del(t, MSG_T_QUEUE, k, sizeof k)) != 0)
        goto done;
    msg_who_t sender;
    if (e->kind != KIND(MESSAGE) || !e->sender || e->sender_device.len != ID_BYTES ||
        msg_who_same(who, e->sender->kind, e->sender->principal) ||
        msg_who(st, e->sender->kind, e->sender->principal, &sender) != 0)
        goto done;
    Espace__V1__Member me;
    msg_member_of(&me, who);
    Espace__V1__Entry rcpt = ESPACE__V1__ENTRY__INIT;
    rcpt.kind = KIND(RECEIPT);
    rcpt.message_id = e->message_id;
    rcpt.conversation_id = e->conversation_id;
    rcpt.receipt_device.data = (uint8_t *)dev;
    rcpt.receipt_device.len = ID_BYTES;
    rcpt.receipt_member = &me;
    rcpt.receipt_ms = svc_now_ms(c);
    rc = msg_enqueue(st, c, t, e->sender_device.data, &sender, &rcpt);
done:
    codec_free(&e->base);
    return rc;
}

int msg_ack(void *state, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    msg_state_t *st = state;
    const Espace__V1__AckRequest *r = (const Espace__V1__AckRequest *)m;
    msg_who_t who;
    uint8_t dev[ID_BYTES];
    int rc;
    if ((rc = msg_caller(st, c, &who)) != 0 || (rc = msg_caller_device(c, dev)) != 0)
        return rc;
    uint64_t last = 0, acked = 0;
    if ((rc = msg_db_last(t, dev, &last, &acked)) != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    if (r->up_to_seq > last)
        return svc_fail(c, ES_INVALID_ARGUMENT, "up_to_seq", "beyond the last sequence (%llu)",
                        (unsigned long long)last);
    uint64_t to = r->up_to_seq;
    if (to > acked && to - acked > MSG_ACK_MAX)
        to = acked + MSG_ACK_MAX;
    /* Sequences are dense (one per entry, never reused): entries between
     * acked and to are exactly those seqs, minus the expired ones. */
    for (uint64_t s = acked + 1; s <= to; s++)
        if ((rc = s_ack_one(st, c, t, &who, dev, s)) != 0)
            return svc_fail(c, rc, NULL, "storage failure");
    if (to > acked && (rc = msg_db_head_put(t, dev, last, to)) != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    Espace__V1__AckReply rep = ESPACE__V1__ACK_REPLY__INIT;
    rep.acked_seq = to > acked ? to : acked;
    rc = svc_reply(c, &rep.base);
    return rc ? svc_fail(c, rc, NULL, "reply failed") : ES_OK;
}

/* ---- expiry ---- */

/* The device after dev in key order into next; 0 past the last one. */
static int s_next_device(uint8_t next[ID_BYTES], const uint8_t dev[ID_BYTES])
{
    memcpy(next, dev, ID_BYTES);
    for (int i = ID_BYTES - 1; i >= 0; i--)
        if (++next[i] != 0)
            return 1;
    return 0;
}

/* Sweep the device whose first entry is at or after key `from`: its due
 * entries (at most `room`) are deleted, its head written first (last seq
 * kept, acked past them). *dev gets the device visited; *n the entries
 * deleted.
 * ES_NOT_FOUND when no device is left after `from`. */
static int s_sweep_device(store_txn_t *t, const uint8_t from[ID_BYTES], int64_t now,
                          size_t room, uint8_t dev[ID_BYTES], size_t *n)
{
    uint64_t seqs[MSG_EXPIRE_PER_TICK];
    size_t due = 0;
    int found = 0;
    *n = 0;
    if (room > MSG_EXPIRE_PER_TICK)
        room = MSG_EXPIRE_PER_TICK;
    store_cursor_t *cur = NULL;
    int rc = store_cursor_open(t, MSG_T_QUEUE, from, ID_BYTES, &cur);
    while (rc == 0 && due < room) {
        const void *k = NULL, *v = NULL;
        size_t kl = 0, vl = 0;
        if ((rc = store_cursor_next(cur, &k, &kl, NULL, NULL)) != 0)
            break;
        if (kl < ID_BYTES)
            continue; /* not a queue key: nothing to expire */
        if (!found) {
            memcpy(dev, k, ID_BYTES);
            found = 1;
        } else if (memcmp(dev, k, ID_BYTES) != 0) {
            break;
        }
        /* The value is opened apart from the scan, so a value that fails
         * authentication holds back its device only (Fetch reports it),
         * not the tick. */
        if (kl != MSG_KEY_QUEUE || store_get(t, MSG_T_QUEUE, k, kl, &v, &vl) != 0 || vl < 8) {
            log_error(SERVICE_MESSAGING, "record.corrupt", "table=%s", MSG_T_QUEUE);
            break;
        }
        if ((int64_t)store_be64_get(v) > now)
            break;
        seqs[due++] = store_be64_get((const uint8_t *)k + ID_BYTES);
    }
    store_cursor_close(&cur);
    if (rc == ES_NOT_FOUND)
        rc = found ? ES_OK : ES_NOT_FOUND;
    if (rc != 0 || due == 0)
        return rc;
    /* The due entries are the device's first ones: every seq up to the
     * last of them is gone, as if acknowledged (so Fetch starts after it,
     * and its scan ends at the device's last entry). */
    uint64_t last = 0, acked = 0;
    if ((rc = msg_db_last(t, dev, &last, &acked)) != 0)
        return rc;
    if (seqs[due - 1] > acked)
        acked = seqs[due - 1];
    if ((rc = msg_db_head_put(t, dev, last, acked)) != 0)
        return rc;
    for (size_t i = 0; i < due && rc == 0; i++) {
        uint8_t k[MSG_KEY_QUEUE];
        s_qkey(k, dev, seqs[i]);
        rc = store_del(t, MSG_T_QUEUE, k, sizeof k);
    }
    if (rc == 0)
        *n = due;
    return rc;
}

/* Sweep up to MSG_SWEEP_DEVICES devices from st->sweep_from; *deleted
 * gets the entries deleted (at most room). */
static int s_sweep(msg_state_t *st, store_txn_t *t, int64_t now, size_t room, size_t *deleted)
{
    *deleted = 0;
    for (size_t d = 0; d < MSG_SWEEP_DEVICES && *deleted < room; d++) {
        uint8_t dev[ID_BYTES];
        size_t n = 0;
        int rc = s_sweep_device(t, st->sweep_from, now, room - *deleted, dev, &n);
        if (rc == ES_NOT_FOUND || (rc == 0 && !s_next_device(st->sweep_from, dev))) {
            memset(st->sweep_from, 0, ID_BYTES); /* around again next tick */
            return ES_OK;
        }
        if (rc != 0)
            return rc;
        *deleted += n;
        if (*deleted == room) /* more may be due here: visit it again */
            memcpy(st->sweep_from, dev, ID_BYTES);
    }
    return ES_OK;
}

int msg_expire_tick(void *state, svc_call_t *c, store_txn_t *t)
{
    msg_state_t *st = state;
    int64_t now = svc_now_ms(c);
    enum { KMAX = 8 + 1 + MSG_KEY_QUEUE }; /* kind 1 keys of the old layout too */
    uint8_t (*keys)[KMAX] = malloc(MSG_EXPIRE_PER_TICK * sizeof *keys);
    size_t klen[MSG_EXPIRE_PER_TICK];
    size_t n = 0;
    if (!keys)
        return ES_RESOURCE_EXHAUSTED;
    store_cursor_t *cur = NULL;
    int rc = store_cursor_open(t, MSG_T_EXPIRY, NULL, 0, &cur);
    while (rc == 0 && n < MSG_EXPIRE_PER_TICK) {
        const void *k = NULL;
        size_t kl = 0;
        rc = store_cursor_next(cur, &k, &kl, NULL, NULL);
        if (rc != 0)
            break;
        if (kl < 9 || kl > KMAX || (int64_t)store_be64_get(k) > now)
            break;
        memcpy(keys[n], k, kl);
        klen[n++] = kl;
    }
    store_cursor_close(&cur);
    if (rc == ES_NOT_FOUND)
        rc = ES_OK;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const uint8_t *key = keys[i] + 9;
        size_t kl = klen[i] - 9;
        switch (keys[i][8]) {
        case MSG_EXP_SENT:
            rc = store_del(t, MSG_T_SENT, key, kl);
            break;
        case MSG_EXP_ATTACH:
            rc = kl == ID_BYTES ? msg_attach_delete(t, key) : ES_OK;
            break;
        default:
            break;
        }
        if (rc == ES_NOT_FOUND)
            rc = ES_OK;
        if (rc == 0)
            rc = store_del(t, MSG_T_EXPIRY, keys[i], klen[i]);
    }
    free(keys);
    size_t swept = 0;
    if (rc == 0)
        rc = s_sweep(st, t, now, MSG_EXPIRE_PER_TICK, &swept);
    if (rc != 0)
        return rc;
    if (n || swept)
        log_debug(SERVICE_MESSAGING, "expired", "n=%zu entries=%zu", n, swept);
    return n == MSG_EXPIRE_PER_TICK || swept == MSG_EXPIRE_PER_TICK ? SVC_TICK_AGAIN : ES_OK;
}
