/*
 * msg.c - the espace target of the `relay` scenario (agenda_int.h): pairs of
 * devices sending each other messages through the messaging service, over
 * the edge's websocket, as a patient's app does (docs/benchmarks.md
 * "relay").
 *
 * A pair is the two seeded devices of one patient, in the conversation a
 * professional started with that patient (`espace admin seed --pros`: the
 * professional holds a MESSAGING grant and publishes no device). The
 * conversation's recipients are then exactly the pair: a Send from one
 * device carries one copy, for the other (the sender's other devices get a
 * copy; the professional, with no published device, none).
 *
 * Setup of each connection, one call after the other: resume -> Unpublish
 * (a previous run's keys; NOT_FOUND is fine) -> PublishKeys (a fresh
 * identity, signed and last-resort prekeys, S_OPK one-time prekeys); device
 * 0 of the pair also ListConversations (the newest) and, once both devices
 * are published, ClaimBundles (the other device's bundle, hence its id) and
 * Sends a hello message. The pair is ready when the hello reaches device 1.
 * A setup call answered RESOURCE_EXHAUSTED (the service's admission: 2000
 * connections set up at once) is sent again later, up to S_RETRIES times
 * (a refused hello: claimed again).
 *
 * Modes (run_opts.mode):
 *   e2e     the hello is the X3DH initial message (e2e_x3dh_initiate on the
 *           claimed bundle, e2e_x3dh_respond at device 1): one Double Ratchet
 *           session per pair. Each write's plaintext (payload bytes: the
 *           write's marker then filler) is ratchet-encrypted just before its
 *           Send, and decrypted at delivery, where the marker must match.
 *   opaque  the copies are payload bytes of random data (the server cannot
 *           tell); no session.
 * Message ids are 8 random bytes of the run || the write's number (big
 * endian; S_HELLO + pair for the hello): a delivery names its write by
 * its id.
 * Acks: the receiving device acknowledges its queue (Ack up_to_seq,
 * cumulative) at most every S_ACK_MS; the sender's Send reply (sent once
 * the copies are committed) is the write's ack latency.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "clients/e2e/e2e.h"
#include "clients/load/agenda_int.h"
#include "clients/load/wire.h"
#include "espace/v1/messaging.pb-c.h"
#include "proto/status.h"

#define S_OPK 4                       /* one-time prekeys published per device */
#define S_ACK_NS (INT64_C(100) * 1000000) /* a device acks at most this often */
#define S_ACK_SCAN_NS (INT64_C(10) * 1000000)
#define S_CT_MAX 2048                 /* largest copy built (payload <= S_PLAIN_MAX) */
#define S_PLAIN_MAX 1024
#define S_HELLO (UINT64_C(1) << 63)   /* write number of pair p's hello: S_HELLO + p */
#define S_CTL (UINT64_C(1) << 62)     /* ClientMessage ids of the calls below */
#define S_RETRIES 20                  /* a setup call answered "busy" is sent again */
#define S_RETRY_NS (INT64_C(50) * 1000000) /* after this many ns times the attempt */

enum { C_UNPUB = 1, C_PUB, C_LIST, C_CLAIM, C_HELLO, C_ACK };

typedef struct s_dev {
    e2e_identity_t ik;
    e2e_prekey_t spk, lrk, opk[S_OPK];
    e2e_session_t *s;          /* e2e: the pair's session */
    uint8_t peer[16];          /* the other device of the pair */
    int have_peer, published;
    uint64_t last_seq, acked_seq; /* queue sequence received, acknowledged */
    int64_t last_ack_ns;
    unsigned retry, retries;   /* setup call to send again (0: none), attempts */
    int64_t retry_ns;
} s_dev_t;

typedef struct s_msg {
    int e2e;
    uint8_t run_id[8];
    uint8_t noise[S_PLAIN_MAX]; /* opaque copies */
    uint8_t (*conv)[16];       /* per pair: the conversation */
    uint8_t *have_conv;
    s_dev_t *dev;
    int64_t next_scan_ns;
} s_msg_t;

static void s_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t s_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void s_msg_id(const s_msg_t *m, uint64_t seq, uint8_t id[16])
{
    memcpy(id, m->run_id, 8);
    s_be64(id + 8, seq);
}

/* One call on conn: 0, or an es_status (counted by the caller). */
static int s_call(agenda_t *a, unsigned conn, unsigned what, const char *method,
                  const ProtobufCMessage *req)
{
    uint8_t buf[S_CT_MAX + 512];
    size_t len = 0;
    int rc = wire_call(buf, sizeof buf, S_CTL + what, "messaging", method, req, &len);
    return rc ? rc : net_send(a->r->net, conn, buf, len);
}

static void s_fail_pair(agenda_t *a, unsigned conn, const char *why, int rc)
{
    unsigned first = conn - conn % 2;
    if (a->ready[first] == 0 || a->ready[first + 1] == 0)
        fprintf(stderr, "espace-load: pair %u: %s: %s\n", conn / 2, why, es_status_name(rc));
    agenda_ready(a, first, 0);
    agenda_ready(a, first + 1, 0);
}

/* The plaintext of write seq: its marker, then filler. */
static size_t s_plain(const agenda_t *a, uint64_t seq, uint8_t *out)
{
    size_t n = a->r->o.payload;
    memset(out, 'x', n);
    char mark[40];
    int k = snprintf(mark, sizeof mark, WIRE_MARK "%016llx", (unsigned long long)seq);
    memcpy(out, mark, (size_t)k < n ? (size_t)k : n);
    return n;
}

/* A Send of write seq (or the hello) from conn to its peer into buf. */
static int s_encode_send(agenda_t *a, unsigned conn, uint64_t seq, uint64_t id, uint8_t *buf,
                         size_t cap, size_t *len)
{
    s_msg_t *m = a->ts;
    s_dev_t *d = &m->dev[conn];
    uint8_t ct[S_CT_MAX], plain[S_PLAIN_MAX], mid[16];
    size_t clen = a->r->o.payload;
    if (m->e2e) {
        size_t plen = s_plain(a, seq, plain);
        int rc = d->s ? e2e_session_encrypt(d->s, plain, plen, ct, sizeof ct, &clen)
                      : ES_FAILED_PRECONDITION;
        if (rc < 0)
            return rc;
    } else {
        memcpy(ct, m->noise, clen);
        if (clen >= 8)
            s_be64(ct, seq); /* no two copies alike */
    }
    s_msg_id(m, seq, mid);
    Espace__V1__Copy cp = ESPACE__V1__COPY__INIT, *cps[1] = {&cp};
    cp.device_id.data = d->peer;
    cp.device_id.len = 16;
    cp.ciphertext.data = ct;
    cp.ciphertext.len = clen;
    Espace__V1__SendRequest req = ESPACE__V1__SEND_REQUEST__INIT;
    req.conversation_id.data = m->conv[conn / 2];
    req.conversation_id.len = 16;
    req.message_id.data = mid;
    req.message_id.len = 16;
    req.copies = cps;
    req.n_copies = 1;
    return wire_call(buf, cap, id, "messaging", "Send", &req.base, len);
}

static int s_publish(agenda_t *a, unsigned conn)
{
    s_dev_t *d = &((s_msg_t *)a->ts)->dev[conn];
    int64_t now = (int64_t)time(NULL);
    if (e2e_identity_generate(&d->ik) < 0 ||
        e2e_prekey_generate(&d->spk, &d->ik, E2E_PREKEY_SIGNED, 1, now) < 0 ||
        e2e_prekey_generate(&d->lrk, &d->ik, E2E_PREKEY_LAST_RESORT, 2, now) < 0 ||
        e2e_prekeys_generate(d->opk, S_OPK, 10, now) < 0)
        return ES_INTERNAL;
    Espace__V1__SignedPrekey spk = ESPACE__V1__SIGNED_PREKEY__INIT;
    Espace__V1__SignedPrekey lrk = ESPACE__V1__SIGNED_PREKEY__INIT;
    Espace__V1__OneTimePrekey otk[S_OPK], *otp[S_OPK];
    spk.id = d->spk.id;
    spk.key = (ProtobufCBinaryData){E2E_KEY_BYTES, d->spk.pk};
    spk.sig = (ProtobufCBinaryData){E2E_SIG_BYTES, d->spk.sig};
    lrk.id = d->lrk.id;
    lrk.key = (ProtobufCBinaryData){E2E_KEY_BYTES, d->lrk.pk};
    lrk.sig = (ProtobufCBinaryData){E2E_SIG_BYTES, d->lrk.sig};
    for (unsigned i = 0; i < S_OPK; i++) {
        espace__v1__one_time_prekey__init(&otk[i]);
        otk[i].id = d->opk[i].id;
        otk[i].key = (ProtobufCBinaryData){E2E_KEY_BYTES, d->opk[i].pk};
        otp[i] = &otk[i];
    }
    Espace__V1__PublishKeysRequest req = ESPACE__V1__PUBLISH_KEYS_REQUEST__INIT;
    req.identity_key = (ProtobufCBinaryData){E2E_KEY_BYTES, d->ik.sign_pk};
    req.signed_prekey = &spk;
    req.last_resort = &lrk;
    req.one_time = otp;
    req.n_one_time = S_OPK;
    return s_call(a, conn, C_PUB, "PublishKeys", &req.base);
}

/* Device 0 of the pair: claim the other's bundle once both are published
 * and the conversation is known. */
static void s_maybe_claim(agenda_t *a, unsigned pair)
{
    s_msg_t *m = a->ts;
    unsigned c0 = pair * 2;
    if (!m->have_conv[pair] || !m->dev[c0].published || !m->dev[c0 + 1].published)
        return;
    Espace__V1__ClaimBundlesRequest req = ESPACE__V1__CLAIM_BUNDLES_REQUEST__INIT;
    req.conversation_id.data = m->conv[pair];
    req.conversation_id.len = 16;
    int rc = s_call(a, c0, C_CLAIM, "ClaimBundles", &req.base);
    if (rc < 0)
        s_fail_pair(a, c0, "claim", rc);
}

/* The bundle of the other device: session (e2e), then the hello. */
static void s_claimed(agenda_t *a, unsigned conn, const Espace__V1__ClaimBundlesReply *rep)
{
    s_msg_t *m = a->ts;
    s_dev_t *d = &m->dev[conn];
    int rc = ES_NOT_FOUND;
    for (size_t i = 0; i < rep->n_bundles && rc == ES_NOT_FOUND; i++) {
        const Espace__V1__Bundle *b = rep->bundles[i];
        if (b->device_id.len != 16 || b->identity_key.len != E2E_KEY_BYTES ||
            memcmp(b->identity_key.data, m->dev[conn + 1].ik.sign_pk, E2E_KEY_BYTES))
            continue;
        memcpy(d->peer, b->device_id.data, 16);
        d->have_peer = 1;
        rc = 0;
        if (m->e2e) {
            e2e_bundle_t eb;
            memset(&eb, 0, sizeof eb);
            const Espace__V1__SignedPrekey *s = b->signed_prekey;
            if (!s || s->key.len != 32 || s->sig.len != 64 || b->prekey.len != 32)
                return s_fail_pair(a, conn, "bundle", ES_INVALID_ARGUMENT);
            memcpy(eb.ik, b->identity_key.data, 32);
            eb.spk_id = s->id;
            memcpy(eb.spk, s->key.data, 32);
            memcpy(eb.spk_sig, s->sig.data, 64);
            eb.opk_kind = (uint8_t)b->prekey_kind;
            eb.opk_id = b->prekey_id;
            memcpy(eb.opk, b->prekey.data, 32);
            if (b->prekey_sig.len == 64)
                memcpy(eb.opk_sig, b->prekey_sig.data, 64);
            e2e_session_destroy(&d->s); /* a claim again after a refused hello */
            rc = e2e_x3dh_initiate(&d->s, &d->ik, &eb);
        }
    }
    if (rc < 0)
        return s_fail_pair(a, conn, "no bundle of the other device", rc);
    uint8_t buf[S_CT_MAX + 512];
    size_t len = 0;
    rc = s_encode_send(a, conn, S_HELLO + conn / 2, S_CTL + C_HELLO, buf, sizeof buf, &len);
    if (rc == 0)
        rc = net_send(a->r->net, conn, buf, len);
    if (rc < 0)
        s_fail_pair(a, conn, "hello", rc);
}

/* Send setup call `what` from conn: 0 or an es_status. */
static int s_issue(agenda_t *a, unsigned conn, unsigned what)
{
    switch (what) {
    case C_UNPUB: {
        Espace__V1__UnpublishRequest req = ESPACE__V1__UNPUBLISH_REQUEST__INIT;
        return s_call(a, conn, C_UNPUB, "Unpublish", &req.base);
    }
    case C_PUB:
        return s_publish(a, conn);
    case C_LIST: {
        Espace__V1__ListConversationsRequest req = ESPACE__V1__LIST_CONVERSATIONS_REQUEST__INIT;
        req.limit = 1;
        return s_call(a, conn, C_LIST, "ListConversations", &req.base);
    }
    case C_CLAIM:
        s_maybe_claim(a, conn / 2);
        return 0;
    default:
        return ES_INVALID_ARGUMENT;
    }
}

/* The reply of setup call `what` on conn. */
static void s_setup_reply(agenda_t *a, unsigned conn, unsigned what, int code,
                          const ProtobufCBinaryData *body)
{
    s_msg_t *m = a->ts;
    int st = es_from_code(code), rc = 0;
    if (what == C_ACK) {
        if (st == 0)
            a->r->device_acks++;
        else
            run_count_status(a->r, code);
        return;
    }
    static const char *const names[] = {"", "Unpublish", "PublishKeys", "ListConversations",
                                         "ClaimBundles", "Send (hello)"};
    s_dev_t *d = &m->dev[conn];
    if (st == ES_RESOURCE_EXHAUSTED && d->retries < S_RETRIES) { /* busy: again later */
        d->retries++;
        d->retry = what == C_HELLO ? C_CLAIM : what; /* a new hello, from a new claim */
        d->retry_ns = run_now_ns() + S_RETRY_NS * d->retries;
        return;
    }
    if (st < 0 && !(what == C_UNPUB && st == ES_NOT_FOUND))
        return s_fail_pair(a, conn, what < C_ACK ? names[what] : "?", st);
    switch (what) {
    case C_UNPUB:
        rc = s_issue(a, conn, C_PUB);
        break;
    case C_PUB:
        m->dev[conn].published = 1;
        if (conn % 2 == 0)
            rc = s_issue(a, conn, C_LIST);
        else
            s_maybe_claim(a, conn / 2);
        break;
    case C_LIST: {
        Espace__V1__ListConversationsReply *l =
            espace__v1__list_conversations_reply__unpack(NULL, body->len, body->data);
        rc = ES_NOT_FOUND;
        if (l && l->n_conversations && l->conversations[0]->id.len == 16) {
            memcpy(m->conv[conn / 2], l->conversations[0]->id.data, 16);
            m->have_conv[conn / 2] = 1;
            rc = 0;
        }
        if (l)
            espace__v1__list_conversations_reply__free_unpacked(l, NULL);
        if (rc == 0)
            s_maybe_claim(a, conn / 2);
        else
            fprintf(stderr, "espace-load: no conversation for pair %u: seed with --pros\n",
                    conn / 2);
        break;
    }
    case C_CLAIM: {
        Espace__V1__ClaimBundlesReply *c =
            espace__v1__claim_bundles_reply__unpack(NULL, body->len, body->data);
        if (!c)
            return s_fail_pair(a, conn, "claim reply", ES_INVALID_ARGUMENT);
        s_claimed(a, conn, c);
        espace__v1__claim_bundles_reply__free_unpacked(c, NULL);
        break;
    }
    case C_HELLO: {
        Espace__V1__SendReply *s = espace__v1__send_reply__unpack(NULL, body->len, body->data);
        if (!s || s->result != ESPACE__V1__SEND_RESULT__SEND_RESULT_STORED)
            rc = ES_FAILED_PRECONDITION;
        if (s)
            espace__v1__send_reply__free_unpacked(s, NULL);
        break;
    }
    default:
        break;
    }
    if (rc < 0)
        s_fail_pair(a, conn, "setup", rc);
}

/* A write's Send reply: STORED is the ack; DEVICES_CHANGED or DUPLICATE
 * count as FAILED_PRECONDITION and ALREADY_EXISTS. */
static void s_send_reply(agenda_t *a, uint64_t seq, int code, const ProtobufCBinaryData *body,
                         int64_t now)
{
    if (code == 0) {
        Espace__V1__SendReply *s = espace__v1__send_reply__unpack(NULL, body->len, body->data);
        int res = s ? (int)s->result : 0;
        if (s)
            espace__v1__send_reply__free_unpacked(s, NULL);
        if (res == ESPACE__V1__SEND_RESULT__SEND_RESULT_DUPLICATE)
            code = es_to_code(ES_ALREADY_EXISTS);
        else if (res != ESPACE__V1__SEND_RESULT__SEND_RESULT_STORED)
            code = es_to_code(ES_FAILED_PRECONDITION);
    }
    agenda_acked(a, seq, code, now);
}

/* A copy arrived on conn: the hello (device 1: answer the X3DH, the pair is
 * ready) or a write (decrypt and check its marker in e2e mode). */
static void s_entry(agenda_t *a, unsigned conn, const Espace__V1__Entry *e, int64_t now)
{
    s_msg_t *m = a->ts;
    run_t *r = a->r;
    s_dev_t *d = &m->dev[conn];
    if (e->kind != ESPACE__V1__ENTRY_KIND__ENTRY_KIND_MESSAGE || e->message_id.len != 16 ||
        memcmp(e->message_id.data, m->run_id, 8) || e->sender_device.len != 16) {
        r->unmatched++; /* a receipt, or a message of an earlier run */
        return;
    }
    if (e->seq > d->last_seq)
        d->last_seq = e->seq;
    uint64_t seq = s_get_be64(e->message_id.data + 8);
    uint8_t plain[E2E_MAX_PLAINTEXT];
    size_t plen = 0;
    int rc = 0;
    if (seq >= S_HELLO) {
        if (conn % 2 != 1 || a->ready[conn] != 0)
            return;
        memcpy(d->peer, e->sender_device.data, 16);
        d->have_peer = 1;
        if (m->e2e) {
            e2e_message_info_t info;
            rc = e2e_message_info(&info, e->ciphertext.data, e->ciphertext.len);
            const e2e_prekey_t *opk = NULL;
            for (unsigned i = 0; rc == 0 && i < S_OPK; i++)
                if (info.opk_kind == E2E_PREKEY_ONE_TIME && d->opk[i].id == info.opk_id)
                    opk = &d->opk[i];
            if (rc == 0 && info.opk_kind == E2E_PREKEY_LAST_RESORT)
                opk = &d->lrk;
            if (rc == 0)
                rc = e2e_x3dh_respond(&d->s, &d->ik, &d->spk, opk, e->ciphertext.data,
                                      e->ciphertext.len, plain, sizeof plain, &plen);
        }
        if (rc < 0)
            return s_fail_pair(a, conn, "hello does not decrypt", rc);
        agenda_ready(a, conn - 1, 1);
        agenda_ready(a, conn, 1);
        return;
    }
    if (m->e2e) {
        rc = d->s ? e2e_session_decrypt(d->s, e->ciphertext.data, e->ciphertext.len, plain,
                                        sizeof plain, &plen)
                  : ES_FAILED_PRECONDITION;
        uint64_t inner;
        if (rc == ES_ALREADY_EXISTS) {
            r->duplicates++;
            return;
        }
        if (rc < 0 || !wire_find_seq(plain, plen, &inner) || inner != seq) {
            r->undecryptable++;
            return;
        }
    }
    agenda_delivered(a, conn, seq, now);
}

static void s_opened(agenda_t *a, unsigned conn)
{
    run_t *r = a->r;
    const creds_patient_t *p = &r->creds->patients[conn / 2];
    if (run_auth(r, conn, p, conn % 2) < 0) {
        r->auth_failed++;
        agenda_ready(a, conn, 0);
    }
}

static void s_message(agenda_t *a, unsigned conn, const uint8_t *data, size_t len, int64_t now)
{
    run_t *r = a->r;
    Espace__V1__ServerMessage *sm = wire_parse(data, len);
    if (!sm) {
        r->bad_messages++;
        return;
    }
    if (sm->kind_case == ESPACE__V1__SERVER_MESSAGE__KIND_REPLY) {
        int code = sm->reply->status ? sm->reply->status->code : 0;
        const ProtobufCBinaryData *body = &sm->reply->body;
        if (sm->id == RUN_AUTH_ID) {
            if (code == 0) {
                r->auth_ok++;
                int rc = s_issue(a, conn, C_UNPUB);
                if (rc < 0)
                    s_fail_pair(a, conn, "unpublish", rc);
            } else {
                r->auth_failed++;
                agenda_ready(a, conn, 0);
            }
        } else if (sm->id > S_CTL) {
            s_setup_reply(a, conn, (unsigned)(sm->id - S_CTL), code, body);
        } else if (sm->id >= 2) {
            s_send_reply(a, sm->id - 2, code, body, now);
        } else {
            r->unmatched++;
        }
    } else if (sm->kind_case == ESPACE__V1__SERVER_MESSAGE__KIND_EVENT) {
        Espace__V1__Entry *e =
            espace__v1__entry__unpack(NULL, sm->event->body.len, sm->event->body.data);
        if (e)
            s_entry(a, conn, e, now);
        else
            r->bad_messages++;
        if (e)
            espace__v1__entry__free_unpacked(e, NULL);
    } else if (sm->kind_case == ESPACE__V1__SERVER_MESSAGE__KIND_RESYNC) {
        r->errors[-ES_RESOURCE_EXHAUSTED]++; /* events dropped by the edge */
    }
    wire_free(sm);
}

static int s_write(agenda_t *a, unsigned writer, uint64_t seq, uint8_t *buf, size_t cap,
                   size_t *len)
{
    return s_encode_send(a, writer, seq, seq + 2, buf, cap, len);
}

/* Every S_ACK_SCAN_NS: each device with unacknowledged copies older than
 * S_ACK_NS acknowledges its queue. */
static void s_tick(agenda_t *a, int64_t now)
{
    s_msg_t *m = a->ts;
    if (now < m->next_scan_ns)
        return;
    m->next_scan_ns = now + S_ACK_SCAN_NS;
    for (unsigned c = 0; c < a->r->o.conns; c++) {
        s_dev_t *d = &m->dev[c];
        if (d->retry && now >= d->retry_ns) {
            unsigned what = d->retry;
            d->retry = 0;
            int rc = s_issue(a, c, what);
            if (rc < 0)
                s_fail_pair(a, c, "setup retry", rc);
        }
        if (d->last_seq <= d->acked_seq || now - d->last_ack_ns < S_ACK_NS)
            continue;
        Espace__V1__AckRequest req = ESPACE__V1__ACK_REQUEST__INIT;
        req.up_to_seq = d->last_seq;
        if (s_call(a, c, C_ACK, "Ack", &req.base) == 0) {
            d->acked_seq = d->last_seq;
            d->last_ack_ns = now;
        }
    }
}

static int s_init(agenda_t *a)
{
    run_t *r = a->r;
    if (sodium_init() < 0)
        return ES_INTERNAL;
    if (r->o.payload > S_PLAIN_MAX || r->o.payload < 32) {
        fprintf(stderr, "espace-load: relay takes --payload 32 to %d\n", S_PLAIN_MAX);
        return ES_INVALID_ARGUMENT;
    }
    s_msg_t *m = calloc(1, sizeof *m);
    if (!m)
        return ES_RESOURCE_EXHAUSTED;
    a->ts = m;
    m->e2e = !r->o.mode || strcmp(r->o.mode, "opaque") != 0;
    randombytes_buf(m->run_id, sizeof m->run_id);
    randombytes_buf(m->noise, sizeof m->noise);
    m->conv = calloc(a->groups, sizeof *m->conv);
    m->have_conv = calloc(a->groups, 1);
    m->dev = calloc(r->o.conns, sizeof *m->dev);
    return m->conv && m->have_conv && m->dev ? 0 : ES_RESOURCE_EXHAUSTED;
}

static void s_fini(agenda_t *a)
{
    s_msg_t *m = a->ts;
    if (!m)
        return;
    for (unsigned c = 0; m->dev && c < a->r->o.conns; c++) {
        e2e_session_destroy(&m->dev[c].s);
        sodium_memzero(&m->dev[c], sizeof m->dev[c]);
    }
    free(m->dev);
    free(m->conv);
    free(m->have_conv);
    free(m);
    a->ts = NULL;
}

const agenda_target_t agenda_target_msg = {
    .name = "espace", .subprotocol = "espace.v1", .settle_ms = 2000, .init = s_init, .fini = s_fini,
    .opened = s_opened, .message = s_message, .write = s_write, .tick = s_tick,
};
