/*
 * broker.c - the espace broker (broker.h): request routing with tickets,
 * worker heartbeats, caller stamping, session binding (AUTH), a manual
 * XSUB/XPUB event proxy that also watches identity.session.revoked, and
 * live events for professionals' sessions (SUBSCRIBE / EVENT on the request
 * sockets).
 *
 * One thread, one zmq_poll loop, its own ZeroMQ context. Frames follow
 * docs/protocol.md; they are checked by frames_parse and decoded through
 * codec_decode. Nothing from the network reaches an assert.
 */
#include "broker/broker.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "bus/bus.h"
#include "bus/frames.h"
#include "espace/v1/identity.pb-c.h"
#include "broker/keys.h"
#include "process/log.h"
#include "proto/status.h"
#include "storage/store.h"
#include "broker/zap.h"

#define S_IPC 0             /* index of the ipc sockets */
#define S_TCP 1             /* index of the tcp sockets */
#define S_MAX_RID 255       /* longest ZeroMQ routing id */
#define S_MAX_SERVICES BROKER_MAX_WORKERS
#define S_SESSION_BUCKETS 65536
#define S_MAX_SID 64        /* longest session id kept */
#define S_DRAIN 256         /* messages handled per socket per loop turn */
#define S_SESSION_SWEEP_MS 60000
#define S_REVOKED_TOPIC "identity.session.revoked"
#define S_IDENTITY "identity"
#define S_BROKER "broker"    /* service frame of the broker's own replies (SUBSCRIBE) */
#define S_SUB_BUCKETS 4096   /* client subscriptions, hashed by "pro.<rpps>." */
#define S_PRO_PREFIX "pro."
#define S_STALE_MAX 16       /* gone connections unbound per event */

typedef struct s_peer {
    int sock;                 /* S_IPC or S_TCP */
    uint8_t rid[S_MAX_RID];   /* routing id */
    size_t rid_len;
    int role;                 /* PeerRole */
    char key[BUS_KEY_Z85];    /* Z85 CURVE key, "" on ipc */
} s_peer_t;

typedef struct s_worker {
    int used;
    int sock;                 /* request socket it came on */
    uint8_t rid[S_MAX_RID];
    size_t rid_len;
    int service;              /* index in services */
    uint32_t capacity;        /* requests it accepts in flight */
    uint32_t inflight;        /* requests it holds */
    int64_t expiry;           /* dead if silent past this (mono ms) */
} s_worker_t;

typedef struct s_service {
    int used;
    char name[BUS_MAX_SERVICE + 1];
    int workers;              /* live workers */
    uint64_t *queue;          /* ring of tickets waiting (may hold stale ones) */
    size_t qhead, qlen;       /* ring position and length */
    size_t queued;            /* live queued requests */
} s_service_t;

typedef struct s_pending {
    uint64_t ticket;          /* 0 = free slot */
    int sock;                 /* client's socket */
    uint8_t rid[S_MAX_RID];   /* client's routing id */
    size_t rid_len;
    uint64_t req_id;          /* Request.id, echoed in the reply */
    int service;              /* index in services */
    int worker;               /* index in workers, -1 = not held by one */
    int queued;               /* waiting in its service's queue */
    int64_t deadline;         /* mono ms */
    int auth;                 /* AUTH: bind the session on OK */
    int peer_role;            /* the client's transport role */
    char peer_key[BUS_KEY_Z85];
    uint8_t *req;             /* Request bytes */
    size_t req_len;
    uint8_t *caller;          /* stamped Caller bytes */
    size_t caller_len;
} s_pending_t;

struct s_session;

/* One SUBSCRIBE prefix of a connection; chained in b->subs by the hash of
 * its "pro.<rpps>." head, so an event finds its subscribers in one bucket. */
typedef struct s_sub {
    struct s_sub *next;          /* bucket chain */
    struct s_session *sess;      /* owner */
    size_t len;
    char prefix[BUS_MAX_TOPIC + 1];
} s_sub_t;

typedef struct s_session {
    struct s_session *next;
    int sock;
    uint8_t rid[S_MAX_RID];
    size_t rid_len;
    int peer_role;            /* transport role of the peer that bound it */
    char peer_key[BUS_KEY_Z85]; /* its Z85 CURVE key ("" on ipc): a routing id
                                 * can be chosen by a client, the key cannot */
    uint8_t sid[S_MAX_SID];   /* session id */
    size_t sid_len;
    int64_t expires_ms;       /* wall ms; 0 = none given */
    uint8_t *caller;          /* Caller bytes stamped on this connection's requests */
    size_t caller_len;
    int kind;                 /* PrincipalKind of the caller */
    char principal[65];       /* its principal (RPPS for a professional) */
    s_sub_t *subs[BUS_MAX_CLIENT_SUBS]; /* SUBSCRIBE prefixes */
    size_t nsubs;
    uint64_t ev_seq;          /* last event forwarded (no duplicates for overlapping prefixes) */
} s_session_t;

typedef struct s_broker {
    const broker_opts_t *o;
    void *ctx;
    void *req[2];             /* ROUTERs: ipc, tcp */
    void *xsub[2];            /* events in */
    void *xpub[2];            /* events out */
    void *zap;                /* ZAP handler */
    store_t *keys;            /* broker store (key registry) */
    unsigned hb;              /* heartbeat interval */
    unsigned def_timeout;     /* default request deadline */
    s_worker_t workers[BROKER_MAX_WORKERS];
    s_service_t services[S_MAX_SERVICES];
    s_pending_t *pending;     /* BROKER_MAX_PENDING slots, by ticket mod size */
    size_t npending;
    uint64_t next_ticket;
    int64_t next_deadline;    /* earliest pending deadline (may be stale-early) */
    int64_t hb_at;            /* next heartbeat round */
    int64_t sweep_at;         /* next session sweep */
    s_session_t **sessions;   /* S_SESSION_BUCKETS chains */
    size_t nsessions;
    uint64_t dropped;         /* malformed messages dropped */
    s_sub_t **subs;           /* S_SUB_BUCKETS chains of client subscriptions */
    size_t nsubs;
    uint64_t ev_seq;          /* events seen on XSUB */
    uint64_t ev_forwarded;    /* EVENTs sent to clients */
    uint64_t ev_dropped;      /* EVENTs dropped (client at its high-water mark) */
} s_broker_t;

/* ---------------------------------------------------------------- sending */

static int s_send_to(s_broker_t *b, int sock, const uint8_t *rid, size_t rid_len,
                     const frame_ref_t *f, size_t n)
{
    frame_ref_t all[FRAMES_MAX + 1];
    all[0] = (frame_ref_t){rid, rid_len};
    for (size_t i = 0; i < n; i++)
        all[i + 1] = f[i];
    return frames_send(b->req[sock], all, n + 1);
}

static void s_send_worker_cmd(s_broker_t *b, int sock, const uint8_t *rid, size_t rid_len,
                              uint8_t cmd)
{
    frame_ref_t f[2] = {{(const uint8_t *)BUS_WORKER_PROTO, 4}, {&cmd, 1}};
    s_send_to(b, sock, rid, rid_len, f, 2);
}

/* REPLY to a client with the given Reply bytes. */
static void s_reply_raw(s_broker_t *b, int sock, const uint8_t *rid, size_t rid_len,
                        const char *service, const uint8_t *rep, size_t rep_len)
{
    uint8_t cmd = BUS_C_REPLY;
    frame_ref_t f[4] = {{(const uint8_t *)BUS_CLIENT_PROTO, 4},
                        {&cmd, 1},
                        {(const uint8_t *)service, strlen(service)},
                        {rep, rep_len}};
    s_send_to(b, sock, rid, rid_len, f, 4); /* a vanished client is not an error */
}

/* REPLY with a status produced by the broker itself. */
static void s_reply_status(s_broker_t *b, int sock, const uint8_t *rid, size_t rid_len,
                           const char *service, uint64_t id, int status, const char *message,
                           const char *field)
{
    Espace__V1__Status st = ESPACE__V1__STATUS__INIT;
    st.code = (Espace__V1__Code)es_to_code(status);
    st.message = (char *)(message ? message : "");
    st.field = (char *)(field ? field : "");
    Espace__V1__Reply rep = ESPACE__V1__REPLY__INIT;
    rep.id = id;
    rep.status = &st;
    uint8_t buf[512];
    size_t len = espace__v1__reply__get_packed_size(&rep);
    if (len > sizeof(buf))
        return;
    espace__v1__reply__pack(&rep, buf);
    s_reply_raw(b, sock, rid, rid_len, service, buf, len);
}

/* ---------------------------------------------------------- subscriptions */

/* Length of the "pro.<id>." head of a topic or prefix, or 0 if it has none. */
static size_t s_pro_head(const char *t, size_t len)
{
    size_t pl = strlen(S_PRO_PREFIX);
    if (len <= pl || memcmp(t, S_PRO_PREFIX, pl) != 0)
        return 0;
    const char *dot = memchr(t + pl, '.', len - pl);
    if (dot == NULL || dot == t + pl)
        return 0;
    return (size_t)(dot - t) + 1;
}

static size_t s_sub_hash(const char *head, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)head[i];
        h *= 1099511628211ull;
    }
    return (size_t)(h % S_SUB_BUCKETS);
}

/* Subscribe (on = 1) or unsubscribe the XSUB sockets to a prefix. */
static void s_upstream(s_broker_t *b, const char *prefix, size_t len, int on)
{
    char msg[1 + BUS_MAX_TOPIC];
    msg[0] = (char)(on ? 1 : 0);
    memcpy(msg + 1, prefix, len);
    for (int i = 0; i < 2; i++)
        if (b->xsub[i] != NULL && zmq_send(b->xsub[i], msg, 1 + len, ZMQ_DONTWAIT) < 0)
            log_warn("broker", "upstream.failed", "on=%d", on);
}

/* How many subscriptions in the bucket of `head` have exactly this prefix. */
static size_t s_sub_count(s_broker_t *b, size_t bucket, const char *prefix, size_t len)
{
    size_t n = 0;
    for (s_sub_t *x = b->subs[bucket]; x != NULL; x = x->next)
        if (x->len == len && memcmp(x->prefix, prefix, len) == 0)
            n++;
    return n;
}

/* Add a prefix (validated by the caller: it has a "pro.<id>." head) to a
 * session. 0 (also when already there) or ES_RESOURCE_EXHAUSTED. The XSUB
 * sockets subscribe when the first connection asks for a prefix. */
static int s_sub_add(s_broker_t *b, s_session_t *sess, const char *prefix, size_t len)
{
    for (size_t i = 0; i < sess->nsubs; i++)
        if (sess->subs[i]->len == len && memcmp(sess->subs[i]->prefix, prefix, len) == 0)
            return 0;
    if (sess->nsubs >= BUS_MAX_CLIENT_SUBS)
        return ES_RESOURCE_EXHAUSTED;
    s_sub_t *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return ES_RESOURCE_EXHAUSTED;
    memcpy(x->prefix, prefix, len);
    x->len = len;
    x->sess = sess;
    size_t bucket = s_sub_hash(prefix, s_pro_head(prefix, len));
    if (s_sub_count(b, bucket, prefix, len) == 0)
        s_upstream(b, prefix, len, 1);
    x->next = b->subs[bucket];
    b->subs[bucket] = x;
    sess->subs[sess->nsubs++] = x;
    b->nsubs++;
    return 0;
}

/* End every subscription of a session; the XSUB sockets unsubscribe a
 * prefix when its last connection goes. */
static void s_sub_remove_all(s_broker_t *b, s_session_t *sess)
{
    for (size_t i = 0; i < sess->nsubs; i++) {
        s_sub_t *x = sess->subs[i];
        size_t bucket = s_sub_hash(x->prefix, s_pro_head(x->prefix, x->len));
        for (s_sub_t **pp = &b->subs[bucket]; *pp != NULL; pp = &(*pp)->next)
            if (*pp == x) {
                *pp = x->next;
                break;
            }
        if (s_sub_count(b, bucket, x->prefix, x->len) == 0)
            s_upstream(b, x->prefix, x->len, 0);
        free(x);
        b->nsubs--;
    }
    sess->nsubs = 0;
}

/* --------------------------------------------------------------- sessions */

static size_t s_session_hash(int sock, const uint8_t *rid, size_t len)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)sock;
    for (size_t i = 0; i < len; i++) {
        h ^= rid[i];
        h *= 1099511628211ull;
    }
    return (size_t)(h % S_SESSION_BUCKETS);
}

static s_session_t **s_session_slot(s_broker_t *b, int sock, const uint8_t *rid, size_t len)
{
    s_session_t **pp = &b->sessions[s_session_hash(sock, rid, len)];
    while (*pp != NULL) {
        s_session_t *s = *pp;
        if (s->sock == sock && s->rid_len == len && memcmp(s->rid, rid, len) == 0)
            return pp;
        pp = &s->next;
    }
    return pp;
}

/* Free a session (its subscriptions must be out of b->subs, or the broker
 * going away). */
static void s_session_free(s_session_t *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nsubs; i++)
        free(s->subs[i]);
    free(s->caller);
    free(s);
}

static void s_session_unlink(s_broker_t *b, s_session_t **pp)
{
    s_session_t *s = *pp;
    *pp = s->next;
    if (s->nsubs > 0) {
        log_info("broker", "events.unsubscribed", "subscriptions=%zu", s->nsubs);
        s_sub_remove_all(b, s);
    }
    s_session_free(s);
    b->nsessions--;
}

/* Remove expired sessions (and, with sid, those of that session). Returns
 * how many went. */
static size_t s_session_sweep(s_broker_t *b, const uint8_t *sid, size_t sid_len)
{
    int64_t now = bus_wall_ms();
    size_t removed = 0;
    for (size_t i = 0; i < S_SESSION_BUCKETS && b->nsessions > 0; i++) {
        s_session_t **pp = &b->sessions[i];
        while (*pp != NULL) {
            s_session_t *s = *pp;
            int expired = s->expires_ms > 0 && now >= s->expires_ms;
            int named = sid != NULL && s->sid_len == sid_len && sid_len > 0 &&
                        memcmp(s->sid, sid, sid_len) == 0;
            if (expired || named) {
                s_session_unlink(b, pp);
                removed++;
            } else {
                pp = &s->next;
            }
        }
    }
    return removed;
}

/* Bind (replacing) a session to a connection. Takes ownership of caller;
 * kind and principal are those of the Caller it packs; peer_role and
 * peer_key (borrowed) are the transport identity of the peer that bound it. */
static int s_session_bind(s_broker_t *b, int sock, const uint8_t *rid, size_t rid_len,
                          int peer_role, const char *peer_key,
                          const uint8_t *sid, size_t sid_len, int64_t expires_ms,
                          uint8_t *caller, size_t caller_len, int kind, const char *principal)
{
    s_session_t **pp = s_session_slot(b, sock, rid, rid_len);
    if (*pp != NULL)
        s_session_unlink(b, pp);
    if (b->nsessions >= BROKER_MAX_SESSIONS)
        s_session_sweep(b, NULL, 0);
    if (b->nsessions >= BROKER_MAX_SESSIONS || sid_len > S_MAX_SID) {
        free(caller);
        return ES_RESOURCE_EXHAUSTED;
    }
    s_session_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        free(caller);
        return ES_RESOURCE_EXHAUSTED;
    }
    s->sock = sock;
    memcpy(s->rid, rid, rid_len);
    s->rid_len = rid_len;
    s->peer_role = peer_role;
    snprintf(s->peer_key, sizeof(s->peer_key), "%s", peer_key ? peer_key : "");
    if (sid_len > 0)
        memcpy(s->sid, sid, sid_len);
    s->sid_len = sid_len;
    s->expires_ms = expires_ms;
    s->caller = caller;
    s->caller_len = caller_len;
    s->kind = kind;
    snprintf(s->principal, sizeof(s->principal), "%s", principal ? principal : "");
    pp = s_session_slot(b, sock, rid, rid_len);
    *pp = s;
    b->nsessions++;
    return 0;
}

/* The bound, unexpired session of a connection, or NULL. Keyed by
 * (socket, routing id) only: who is behind them is checked by
 * s_session_get_peer, which every use on behalf of a peer goes through. */
static s_session_t *s_session_get(s_broker_t *b, int sock, const uint8_t *rid, size_t rid_len)
{
    if (b->nsessions == 0)
        return NULL;
    s_session_t **pp = s_session_slot(b, sock, rid, rid_len);
    if (*pp == NULL)
        return NULL;
    if ((*pp)->expires_ms > 0 && bus_wall_ms() >= (*pp)->expires_ms) {
        s_session_unlink(b, pp);
        return NULL;
    }
    return *pp;
}

/* The session bound to this peer: same socket and routing id, and also the
 * same transport role and CURVE key as the peer that bound it. A client
 * chooses its routing id (ZMQ_ROUTING_ID), so after a professional
 * disconnects another registered key may reconnect under the same id: the
 * binding it would find is stale and is dropped (with its subscriptions).
 * NULL when nothing (valid) is bound. */
static s_session_t *s_session_get_peer(s_broker_t *b, const s_peer_t *peer)
{
    s_session_t *s = s_session_get(b, peer->sock, peer->rid, peer->rid_len);
    if (s == NULL)
        return NULL;
    if (s->peer_role == peer->role && strncmp(s->peer_key, peer->key, sizeof(s->peer_key)) == 0)
        return s;
    log_warn("broker", "auth.unbound", "reason=peer_changed peer_role=%s",
             keys_role_name(peer->role));
    s_session_unlink(b, s_session_slot(b, peer->sock, peer->rid, peer->rid_len));
    return NULL;
}

/* Drop the binding of (peer's socket, routing id) if another peer made it. */
static void s_session_check(s_broker_t *b, const s_peer_t *peer)
{
    (void)s_session_get_peer(b, peer);
}

/* ---------------------------------------------------------------- pending */

static s_pending_t *s_pending_get(s_broker_t *b, uint64_t ticket)
{
    if (ticket == 0)
        return NULL;
    s_pending_t *p = &b->pending[ticket % BROKER_MAX_PENDING];
    return p->ticket == ticket ? p : NULL;
}

static s_pending_t *s_pending_new(s_broker_t *b)
{
    if (b->npending >= BROKER_MAX_PENDING)
        return NULL;
    for (size_t i = 0; i < BROKER_MAX_PENDING; i++) {
        uint64_t t = b->next_ticket++;
        if (t == 0)
            t = b->next_ticket++;
        s_pending_t *p = &b->pending[t % BROKER_MAX_PENDING];
        if (p->ticket == 0) {
            memset(p, 0, sizeof(*p));
            p->ticket = t;
            p->worker = -1;
            b->npending++;
            return p;
        }
    }
    return NULL;
}

/* Free a pending slot; the worker's in-flight count goes down. */
static void s_pending_done(s_broker_t *b, s_pending_t *p)
{
    if (p->worker >= 0 && b->workers[p->worker].used && b->workers[p->worker].inflight > 0)
        b->workers[p->worker].inflight--;
    if (p->queued && b->services[p->service].queued > 0)
        b->services[p->service].queued--;
    /* request bodies may hold credentials (Login, SignUpPatient): wipe them */
    if (p->req != NULL)
        sodium_memzero(p->req, p->req_len);
    free(p->req);
    free(p->caller);
    memset(p, 0, sizeof(*p));
    b->npending--;
}

static void s_pending_fail(s_broker_t *b, s_pending_t *p, int status, const char *message)
{
    const char *svc = p->auth ? S_IDENTITY : b->services[p->service].name;
    s_reply_status(b, p->sock, p->rid, p->rid_len, svc, p->req_id, status, message, NULL);
    s_pending_done(b, p);
}

/* ---------------------------------------------------------------- workers */

static int s_worker_find(s_broker_t *b, int sock, const uint8_t *rid, size_t rid_len)
{
    for (int i = 0; i < BROKER_MAX_WORKERS; i++) {
        s_worker_t *w = &b->workers[i];
        if (w->used && w->sock == sock && w->rid_len == rid_len &&
            memcmp(w->rid, rid, rid_len) == 0)
            return i;
    }
    return -1;
}

static int s_service_find(s_broker_t *b, const uint8_t *name, size_t len)
{
    for (int i = 0; i < S_MAX_SERVICES; i++) {
        s_service_t *s = &b->services[i];
        if (s->used && strlen(s->name) == len && memcmp(s->name, name, len) == 0)
            return i;
    }
    return -1;
}

static void s_service_release(s_broker_t *b, int si)
{
    s_service_t *s = &b->services[si];
    /* every queued request of a service without workers is answered now */
    while (s->qlen > 0) {
        uint64_t t = s->queue[s->qhead];
        s->qhead = (s->qhead + 1) % BROKER_MAX_QUEUE;
        s->qlen--;
        s_pending_t *p = s_pending_get(b, t);
        if (p != NULL && p->queued && p->service == si)
            s_pending_fail(b, p, ES_UNAVAILABLE, "no live worker");
    }
    free(s->queue);
    memset(s, 0, sizeof(*s));
}

/* Remove a worker: every request it held is answered UNAVAILABLE. */
static void s_worker_remove(s_broker_t *b, int wi, const char *why)
{
    s_worker_t *w = &b->workers[wi];
    if (!w->used)
        return;
    for (size_t i = 0; i < BROKER_MAX_PENDING && w->inflight > 0; i++) {
        s_pending_t *p = &b->pending[i];
        if (p->ticket != 0 && p->worker == wi)
            s_pending_fail(b, p, ES_UNAVAILABLE, "worker died");
    }
    int si = w->service;
    log_info("broker", "worker.gone", "service=%s reason=%s", b->services[si].name, why);
    memset(w, 0, sizeof(*w));
    if (--b->services[si].workers == 0)
        s_service_release(b, si);
}

/* Send a pending request to worker wi. 0, or an error (worker unreachable). */
static int s_send_request(s_broker_t *b, s_pending_t *p, int wi)
{
    s_worker_t *w = &b->workers[wi];
    uint8_t route[1 + S_MAX_RID];
    route[0] = (uint8_t)p->sock;
    memcpy(route + 1, p->rid, p->rid_len);
    uint8_t ticket[FRAMES_TICKET];
    store_be64_put(ticket, p->ticket);
    uint8_t cmd = BUS_W_REQUEST;
    frame_ref_t f[6] = {{(const uint8_t *)BUS_WORKER_PROTO, 4},
                        {&cmd, 1},
                        {route, 1 + p->rid_len},
                        {ticket, FRAMES_TICKET},
                        {p->caller, p->caller_len},
                        {p->req, p->req_len}};
    return s_send_to(b, w->sock, w->rid, w->rid_len, f, 6);
}

/* The live worker of service si with the most free capacity, or -1. */
static int s_worker_pick(s_broker_t *b, int si)
{
    int best = -1;
    uint32_t best_free = 0;
    for (int i = 0; i < BROKER_MAX_WORKERS; i++) {
        s_worker_t *w = &b->workers[i];
        if (!w->used || w->service != si || w->inflight >= w->capacity)
            continue;
        uint32_t free_slots = w->capacity - w->inflight;
        if (free_slots > best_free) {
            best_free = free_slots;
            best = i;
        }
    }
    return best;
}

/* Try to hand p to a worker. 1 = sent, 0 = no free worker (p untouched),
 * -1 = no live worker left (p answered and freed). */
static int s_try_dispatch(s_broker_t *b, s_pending_t *p)
{
    int si = p->service;
    for (;;) {
        if (!b->services[si].used || b->services[si].workers == 0) {
            s_pending_fail(b, p, ES_UNAVAILABLE, "no live worker");
            return -1;
        }
        int wi = s_worker_pick(b, si);
        if (wi < 0)
            return 0;
        if (s_send_request(b, p, wi) == 0) {
            p->worker = wi;
            b->workers[wi].inflight++;
            return 1;
        }
        /* unreachable worker: it is gone; try the others */
        int last = b->services[si].workers == 1;
        if (last) {
            /* removing it would release the service (and queue) under p */
            s_pending_fail(b, p, ES_UNAVAILABLE, "no live worker");
            s_worker_remove(b, wi, "unreachable");
            return -1;
        }
        s_worker_remove(b, wi, "unreachable");
    }
}

static int s_queue_push(s_broker_t *b, int si, s_pending_t *q)
{
    s_service_t *s = &b->services[si];
    if (s->queued >= BROKER_MAX_QUEUE)
        return ES_RESOURCE_EXHAUSTED;
    if (s->queue == NULL) {
        s->queue = calloc(BROKER_MAX_QUEUE, sizeof(uint64_t));
        if (s->queue == NULL)
            return ES_RESOURCE_EXHAUSTED;
    }
    if (s->qlen == BROKER_MAX_QUEUE) { /* ring full of stale tickets: compact */
        uint64_t *flat = calloc(BROKER_MAX_QUEUE, sizeof(uint64_t));
        if (flat == NULL)
            return ES_RESOURCE_EXHAUSTED;
        size_t n = 0;
        for (size_t i = 0; i < s->qlen; i++) {
            uint64_t t = s->queue[(s->qhead + i) % BROKER_MAX_QUEUE];
            s_pending_t *p = s_pending_get(b, t);
            if (p != NULL && p->queued && p->service == si)
                flat[n++] = t;
        }
        free(s->queue);
        s->queue = flat;
        s->qhead = 0;
        s->qlen = n;
        if (n == BROKER_MAX_QUEUE)
            return ES_RESOURCE_EXHAUSTED;
    }
    s->queue[(s->qhead + s->qlen) % BROKER_MAX_QUEUE] = q->ticket;
    s->qlen++;
    s->queued++;
    q->queued = 1;
    return 0;
}

/* Hand queued requests of service si to free workers. */
static void s_queue_drain(s_broker_t *b, int si)
{
    s_service_t *s = &b->services[si];
    while (s->used && s->qlen > 0) {
        uint64_t t = s->queue[s->qhead];
        s_pending_t *p = s_pending_get(b, t);
        if (p == NULL || !p->queued || p->service != si) {
            s->qhead = (s->qhead + 1) % BROKER_MAX_QUEUE;
            s->qlen--;
            continue;
        }
        if (s_worker_pick(b, si) < 0)
            return;
        s->qhead = (s->qhead + 1) % BROKER_MAX_QUEUE;
        s->qlen--;
        s->queued--;
        p->queued = 0;
        int r = s_try_dispatch(b, p);
        if (r == 0) { /* cannot happen (a worker was free), but keep it queued */
            if (s_queue_push(b, si, p) != 0)
                s_pending_fail(b, p, ES_RESOURCE_EXHAUSTED, "service queue full");
            return;
        }
        if (r < 0)
            return; /* service released */
    }
}

/* ------------------------------------------------------------ caller stamp */

/* Pack a Caller with peer_role/peer_key overwritten from the transport. */
static int s_caller_pack(Espace__V1__Caller *c, const s_peer_t *peer, uint8_t **out,
                         size_t *len)
{
    char *saved_key = c->peer_key;
    Espace__V1__PeerRole saved_role = c->peer_role;
    c->peer_role = (Espace__V1__PeerRole)peer->role;
    c->peer_key = (char *)peer->key;
    int rc = codec_pack(&c->base, out, len);
    c->peer_key = saved_key;
    c->peer_role = saved_role;
    return rc;
}

/* Caller bytes to stamp on a request from peer (see docs/protocol.md). */
static int s_stamp(s_broker_t *b, const s_peer_t *peer, frame_ref_t caller_frame, int auth,
                   uint8_t **out, size_t *len)
{
    if (!auth) {
        s_session_t *s = s_session_get_peer(b, peer);
        if (s != NULL) {
            *out = malloc(s->caller_len ? s->caller_len : 1);
            if (*out == NULL)
                return ES_RESOURCE_EXHAUSTED;
            if (s->caller_len)
                memcpy(*out, s->caller, s->caller_len);
            *len = s->caller_len;
            return 0;
        }
        if (caller_frame.data != NULL && (peer->role == ESPACE__V1__PEER_ROLE__PEER_GATEWAY ||
                                          peer->role == ESPACE__V1__PEER_ROLE__PEER_LOCAL)) {
            Espace__V1__Caller *c = NULL;
            int rc = codec_decode(&espace__v1__caller__descriptor, caller_frame.data,
                                  caller_frame.len, BUS_MAX_MSG, (ProtobufCMessage **)&c, NULL);
            if (rc != 0)
                return ES_INVALID_ARGUMENT;
            /* A gateway (edge) speaks for the users it authenticated, never as
             * the operator or a service: those kinds come only over ipc. */
            if (peer->role == ESPACE__V1__PEER_ROLE__PEER_GATEWAY &&
                c->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE &&
                c->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT &&
                c->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL) {
                codec_free(&c->base);
                return ES_PERMISSION_DENIED;
            }
            rc = s_caller_pack(c, peer, out, len);
            codec_free(&c->base);
            return rc;
        }
    }
    Espace__V1__Caller anon = ESPACE__V1__CALLER__INIT;
    anon.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE;
    return s_caller_pack(&anon, peer, out, len);
}

/* ---------------------------------------------------------------- clients */

static void s_on_client_request(s_broker_t *b, const s_peer_t *peer, const frames_msg_t *m,
                                int auth)
{
    Espace__V1__Request *req = NULL;
    if (codec_decode(&espace__v1__request__descriptor, m->body.data, m->body.len, BUS_MAX_MSG,
                     (ProtobufCMessage **)&req, NULL) != 0) {
        b->dropped++;
        return; /* no id to answer */
    }
    char svc[BUS_MAX_SERVICE + 1];
    if (auth) {
        strcpy(svc, S_IDENTITY);
    } else if (frames_service_valid(m->service)) {
        memcpy(svc, m->service.data, m->service.len);
        svc[m->service.len] = '\0';
    } else {
        s_reply_status(b, peer->sock, peer->rid, peer->rid_len, "", req->id,
                       ES_INVALID_ARGUMENT, "bad service name", "service");
        goto done;
    }
    if (auth && strcmp(req->method, "Authenticate") != 0) {
        s_reply_status(b, peer->sock, peer->rid, peer->rid_len, svc, req->id,
                       ES_INVALID_ARGUMENT, "AUTH carries method Authenticate", "method");
        goto done;
    }
    int si = s_service_find(b, (const uint8_t *)svc, strlen(svc));
    if (si < 0 || b->services[si].workers == 0) {
        s_reply_status(b, peer->sock, peer->rid, peer->rid_len, svc, req->id, ES_UNAVAILABLE,
                       "no live worker", NULL);
        goto done;
    }
    uint8_t *caller = NULL;
    size_t caller_len = 0;
    int rc = s_stamp(b, peer, m->caller, auth, &caller, &caller_len);
    if (rc != 0) {
        s_reply_status(b, peer->sock, peer->rid, peer->rid_len, svc, req->id, rc,
                       rc == ES_PERMISSION_DENIED ? "a gateway may not act as this kind of caller"
                                                  : "bad caller frame",
                       "caller");
        goto done;
    }
    s_pending_t *p = s_pending_new(b);
    uint8_t *req_copy = malloc(m->body.len ? m->body.len : 1);
    if (p == NULL || req_copy == NULL) {
        free(caller);
        free(req_copy);
        if (p != NULL)
            s_pending_done(b, p);
        s_reply_status(b, peer->sock, peer->rid, peer->rid_len, svc, req->id,
                       ES_RESOURCE_EXHAUSTED, "broker busy", NULL);
        goto done;
    }
    if (m->body.len)
        memcpy(req_copy, m->body.data, m->body.len);
    uint32_t t = req->timeout_ms ? req->timeout_ms : b->def_timeout;
    if (t > BUS_MAX_TIMEOUT_MS)
        t = BUS_MAX_TIMEOUT_MS;
    p->sock = peer->sock;
    memcpy(p->rid, peer->rid, peer->rid_len);
    p->rid_len = peer->rid_len;
    p->req_id = req->id;
    p->service = si;
    p->worker = -1;
    p->deadline = bus_mono_ms() + t;
    p->auth = auth;
    p->peer_role = peer->role;
    memcpy(p->peer_key, peer->key, BUS_KEY_Z85);
    p->req = req_copy;
    p->req_len = m->body.len;
    p->caller = caller;
    p->caller_len = caller_len;
    if (p->deadline < b->next_deadline)
        b->next_deadline = p->deadline;
    int r = s_try_dispatch(b, p);
    if (r == 0) {
        if (s_queue_push(b, si, p) != 0)
            s_pending_fail(b, p, ES_RESOURCE_EXHAUSTED, "service queue full");
    }
done:
    codec_free(&req->base);
}

/* A prefix a session may subscribe to: printable ASCII, at most
 * BUS_MAX_TOPIC, starting with "pro.<its principal>.". 0, or the status to
 * answer (ES_INVALID_ARGUMENT, ES_PERMISSION_DENIED). */
static int s_prefix_allowed(const s_session_t *s, const char *prefix, size_t len)
{
    if (len == 0 || len > BUS_MAX_TOPIC)
        return ES_INVALID_ARGUMENT;
    for (size_t i = 0; i < len; i++)
        if ((uint8_t)prefix[i] < 0x21 || (uint8_t)prefix[i] > 0x7e)
            return ES_INVALID_ARGUMENT;
    size_t pl = strlen(S_PRO_PREFIX), il = strlen(s->principal);
    if (il == 0 || len < pl + il + 1 || memcmp(prefix, S_PRO_PREFIX, pl) != 0 ||
        memcmp(prefix + pl, s->principal, il) != 0 || prefix[pl + il] != '.')
        return ES_PERMISSION_DENIED;
    return 0;
}

/* SUBSCRIBE: "EC01", 0x04, Request{method "Subscribe", body SubscribeRequest}.
 * Answered by a REPLY of service "broker". */
static void s_on_client_subscribe(s_broker_t *b, const s_peer_t *peer, frame_ref_t body)
{
    Espace__V1__Request *req = NULL;
    Espace__V1__SubscribeRequest *sr = NULL;
    if (body.len > BUS_MAX_MSG ||
        codec_decode(&espace__v1__request__descriptor, body.data, body.len, BUS_MAX_MSG,
                     (ProtobufCMessage **)&req, NULL) != 0) {
        b->dropped++;
        return; /* no id to answer */
    }
    int rc = 0;
    const char *why = NULL, *field = NULL;
    s_session_t *s = NULL;
    if (strcmp(req->method, "Subscribe") != 0) {
        rc = ES_INVALID_ARGUMENT;
        why = "SUBSCRIBE carries method Subscribe";
        field = "method";
    } else if (codec_decode(&espace__v1__subscribe_request__descriptor, req->body.data,
                            req->body.len, BUS_MAX_MSG, (ProtobufCMessage **)&sr, NULL) != 0) {
        rc = ES_INVALID_ARGUMENT;
        why = "bad SubscribeRequest";
        field = "body";
    } else if ((s = s_session_get_peer(b, peer)) == NULL) {
        rc = ES_UNAUTHENTICATED;
        why = "subscribing needs a bound session (AUTH)";
    } else if (s->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL) {
        rc = ES_PERMISSION_DENIED;
        why = "live events through the broker are for professionals";
    } else if ((rc = s_prefix_allowed(s, sr->prefix, strlen(sr->prefix))) != 0) {
        why = rc == ES_INVALID_ARGUMENT ? "prefix: 1..255 printable ASCII characters"
                                        : "prefix must start with pro.<your RPPS>.";
        field = "prefix";
    } else if ((rc = s_sub_add(b, s, sr->prefix, strlen(sr->prefix))) != 0) {
        why = "too many subscriptions on this connection";
    } else {
        char q[300];
        log_info("broker", "events.subscribed", "rpps=%s prefix=%s subscriptions=%zu",
                 s->principal, log_quote(sr->prefix, q, sizeof(q)), s->nsubs);
    }
    s_reply_status(b, peer->sock, peer->rid, peer->rid_len, S_BROKER, req->id, rc, why, field);
    codec_free((ProtobufCMessage *)sr);
    codec_free(&req->base);
}

/* AUTH reply OK: bind the caller of the AuthenticateReply to the connection. */
static int s_bind_from_reply(s_broker_t *b, s_pending_t *p, const Espace__V1__Reply *rep)
{
    Espace__V1__AuthenticateReply *ar = NULL;
    if (codec_decode(&espace__v1__authenticate_reply__descriptor, rep->body.data, rep->body.len,
                     BUS_MAX_MSG, (ProtobufCMessage **)&ar, NULL) != 0)
        return ES_INTERNAL;
    int rc = ES_INTERNAL;
    Espace__V1__Caller *c = ar->caller;
    if (c == NULL || c->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE)
        goto done;
    s_peer_t peer;
    memset(&peer, 0, sizeof(peer));
    peer.role = p->peer_role;
    memcpy(peer.key, p->peer_key, BUS_KEY_Z85);
    uint8_t *buf = NULL;
    size_t len = 0;
    if ((rc = s_caller_pack(c, &peer, &buf, &len)) != 0)
        goto done;
    if (c->principal != NULL && strlen(c->principal) >= sizeof(((s_session_t *)0)->principal)) {
        free(buf);
        rc = ES_INVALID_ARGUMENT;
        goto done;
    }
    rc = s_session_bind(b, p->sock, p->rid, p->rid_len, p->peer_role, p->peer_key,
                        c->session_id.data, c->session_id.len,
                        c->session_expires_ms, buf, len, (int)c->kind, c->principal);
    if (rc == 0) {
        char sid[2 * 16 + 1];
        log_info("broker", "auth.bound", "kind=%d session=%s peer_role=%s", (int)c->kind,
                 log_hex(c->session_id.data, c->session_id.len < 16 ? c->session_id.len : 16,
                         sid, sizeof(sid)),
                 keys_role_name(p->peer_role));
    }
done:
    codec_free(&ar->base);
    return rc;
}

/* ---------------------------------------------------------------- workers */

static void s_on_ready(s_broker_t *b, const s_peer_t *peer, const frames_msg_t *m)
{
    char kq[64];
    if (peer->sock == S_TCP && peer->role != ESPACE__V1__PEER_ROLE__PEER_SERVICE) {
        log_info("broker", "peer.refused", "reason=ready_not_service role=%s key=%s",
                 keys_role_name(peer->role), log_quote(peer->key, kq, sizeof(kq)));
        s_send_worker_cmd(b, peer->sock, peer->rid, peer->rid_len, BUS_W_DISCONNECT);
        return;
    }
    int wi = s_worker_find(b, peer->sock, peer->rid, peer->rid_len);
    if (wi >= 0) { /* READY twice: a protocol error */
        s_worker_remove(b, wi, "ready_twice");
        s_send_worker_cmd(b, peer->sock, peer->rid, peer->rid_len, BUS_W_DISCONNECT);
        return;
    }
    Espace__V1__WorkerReady *r = NULL;
    if (codec_decode(&espace__v1__worker_ready__descriptor, m->body.data, m->body.len,
                     BUS_MAX_MSG, (ProtobufCMessage **)&r, NULL) != 0) {
        b->dropped++;
        return;
    }
    frame_ref_t name = {(const uint8_t *)r->service, strlen(r->service)};
    int si = -1;
    if (frames_service_valid(name)) {
        si = s_service_find(b, name.data, name.len);
        for (int i = 0; si < 0 && i < S_MAX_SERVICES; i++)
            if (!b->services[i].used) {
                si = i;
                b->services[i].used = 1;
                memcpy(b->services[i].name, name.data, name.len);
                b->services[i].name[name.len] = '\0';
            }
    }
    for (int i = 0; si >= 0 && wi < 0 && i < BROKER_MAX_WORKERS; i++)
        if (!b->workers[i].used)
            wi = i;
    if (si < 0 || wi < 0) {
        if (si >= 0 && b->services[si].workers == 0)
            s_service_release(b, si);
        log_warn("broker", "peer.refused", "reason=%s", si < 0 ? "bad_service" : "too_many");
        s_send_worker_cmd(b, peer->sock, peer->rid, peer->rid_len, BUS_W_DISCONNECT);
        codec_free(&r->base);
        return;
    }
    s_worker_t *w = &b->workers[wi];
    w->used = 1;
    w->sock = peer->sock;
    memcpy(w->rid, peer->rid, peer->rid_len);
    w->rid_len = peer->rid_len;
    w->service = si;
    w->capacity = r->capacity ? r->capacity : 1;
    w->inflight = 0;
    w->expiry = bus_mono_ms() + (int64_t)b->hb * BUS_LIVENESS;
    b->services[si].workers++;
    log_info("broker", "worker.ready", "service=%s capacity=%u transport=%s",
             b->services[si].name, w->capacity, peer->sock == S_TCP ? "tcp" : "ipc");
    /* Acknowledge at once: the worker knows it is registered (and may say
     * it is ready) when this first heartbeat arrives. */
    s_send_worker_cmd(b, peer->sock, peer->rid, peer->rid_len, BUS_W_HEARTBEAT);
    codec_free(&r->base);
    s_queue_drain(b, si);
}

static void s_on_worker_reply(s_broker_t *b, int wi, const frames_msg_t *m)
{
    uint64_t ticket = store_be64_get(m->ticket.data);
    s_pending_t *p = s_pending_get(b, ticket);
    if (p == NULL || p->worker != wi)
        return; /* late or foreign: dropped, the request was answered */
    int si = p->service;
    Espace__V1__Reply *rep = NULL;
    const char *svc = p->auth ? S_IDENTITY : b->services[si].name;
    if (codec_decode(&espace__v1__reply__descriptor, m->body.data, m->body.len, BUS_MAX_MSG,
                     (ProtobufCMessage **)&rep, NULL) != 0 ||
        rep->id != p->req_id) {
        b->dropped++;
        s_pending_fail(b, p, ES_INTERNAL, "malformed worker reply");
        goto drain;
    }
    int ok = rep->status == NULL || rep->status->code == ESPACE__V1__CODE__CODE_OK;
    if (p->auth && ok && s_bind_from_reply(b, p, rep) != 0) {
        s_pending_fail(b, p, ES_UNAUTHENTICATED, "session not bound");
        goto drain;
    }
    s_reply_raw(b, p->sock, p->rid, p->rid_len, svc, m->body.data, m->body.len);
    s_pending_done(b, p);
drain:
    codec_free((ProtobufCMessage *)rep);
    s_queue_drain(b, si);
}

/* ---------------------------------------------------------------- dispatch */

static int s_peer_of(s_broker_t *b, int sock, zmq_msg_t *first, zmq_msg_t *meta,
                     s_peer_t *peer)
{
    (void)b;
    memset(peer, 0, sizeof(*peer));
    size_t len = zmq_msg_size(first);
    if (len == 0 || len > S_MAX_RID)
        return -1;
    peer->sock = sock;
    memcpy(peer->rid, zmq_msg_data(first), len);
    peer->rid_len = len;
    if (sock == S_IPC) {
        peer->role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
        return 0;
    }
    const char *uid = zmq_msg_gets(meta, "User-Id");
    if (uid == NULL || zap_parse_user_id(uid, &peer->role, peer->key) != 0)
        return -1;
    return 0;
}

static void s_on_request_msg(s_broker_t *b, int sock, zmq_msg_t *msgs, size_t n)
{
    s_peer_t peer;
    if (n < 2 || s_peer_of(b, sock, &msgs[0], &msgs[1], &peer) != 0) {
        b->dropped++;
        return;
    }
    /* a binding made by another peer under this routing id is stale: drop
     * it before anything (stamping, SUBSCRIBE) looks the session up */
    s_session_check(b, &peer);
    frame_ref_t f[FRAMES_MAX];
    for (size_t i = 1; i < n; i++)
        f[i - 1] = (frame_ref_t){zmq_msg_data(&msgs[i]), zmq_msg_size(&msgs[i])};
    /* SUBSCRIBE is parsed here (frames.c knows the older commands) */
    if (n - 1 >= 2 && f[0].len == 4 && memcmp(f[0].data, BUS_CLIENT_PROTO, 4) == 0 &&
        f[1].len == 1 && f[1].data[0] == BUS_C_SUBSCRIBE) {
        if (n - 1 == 3)
            s_on_client_subscribe(b, &peer, f[2]);
        else
            b->dropped++;
        return;
    }
    frames_msg_t m;
    if (frames_parse(f, n - 1, &m) != 0) {
        b->dropped++;
        return;
    }
    int wi = s_worker_find(b, sock, peer.rid, peer.rid_len);
    if (wi >= 0)
        b->workers[wi].expiry = bus_mono_ms() + (int64_t)b->hb * BUS_LIVENESS;
    switch (m.kind) {
    case FRAMES_C_REQUEST:
        s_on_client_request(b, &peer, &m, 0);
        break;
    case FRAMES_C_AUTH:
        s_on_client_request(b, &peer, &m, 1);
        break;
    case FRAMES_W_READY:
        s_on_ready(b, &peer, &m);
        break;
    case FRAMES_W_REPLY:
        if (wi < 0)
            s_send_worker_cmd(b, sock, peer.rid, peer.rid_len, BUS_W_DISCONNECT);
        else
            s_on_worker_reply(b, wi, &m);
        break;
    case FRAMES_W_HEARTBEAT:
        if (wi < 0) /* unknown worker (e.g. broker restarted): make it register again */
            s_send_worker_cmd(b, sock, peer.rid, peer.rid_len, BUS_W_DISCONNECT);
        break;
    case FRAMES_W_DISCONNECT:
        if (wi >= 0)
            s_worker_remove(b, wi, "disconnect");
        break;
    case FRAMES_W_REQUEST:
        s_send_worker_cmd(b, sock, peer.rid, peer.rid_len, BUS_W_DISCONNECT);
        break;
    default:
        b->dropped++; /* C_REPLY from a peer: nonsense, dropped */
        break;
    }
}

/* ----------------------------------------------------------------- events */

static void s_on_revoked(s_broker_t *b, zmq_msg_t *ev_msg)
{
    Espace__V1__Event *ev = NULL;
    Espace__V1__SessionRevoked *sr = NULL;
    if (codec_decode(&espace__v1__event__descriptor, zmq_msg_data(ev_msg), zmq_msg_size(ev_msg),
                     BUS_MAX_MSG, (ProtobufCMessage **)&ev, NULL) != 0)
        return;
    if (codec_decode(&espace__v1__session_revoked__descriptor, ev->body.data, ev->body.len,
                     BUS_MAX_MSG, (ProtobufCMessage **)&sr, NULL) == 0 &&
        sr->session_id.len > 0) {
        size_t n = s_session_sweep(b, sr->session_id.data, sr->session_id.len);
        if (n > 0)
            log_info("broker", "auth.unbound", "reason=revoked connections=%zu", n);
    }
    codec_free((ProtobufCMessage *)sr);
    codec_free(&ev->base);
}

/* Forward an event (topic, Event) to the connections that subscribed to a
 * prefix of its topic: EVENT with ZMQ_DONTWAIT; a client at its high-water
 * mark loses it (counted: events are hints); a connection that is gone
 * (EHOSTUNREACH) or whose session expired is unbound. */
static void s_forward(s_broker_t *b, frame_ref_t topic, frame_ref_t event)
{
    if (b->nsubs == 0 || topic.len == 0 || topic.len > BUS_MAX_TOPIC)
        return;
    const char *t = (const char *)topic.data;
    size_t head = s_pro_head(t, topic.len);
    if (head == 0)
        return;
    uint64_t seq = ++b->ev_seq;
    int64_t now = bus_wall_ms();
    s_session_t *stale[S_STALE_MAX];
    size_t nstale = 0;
    uint8_t cmd = BUS_C_EVENT;
    frame_ref_t f[4] = {{(const uint8_t *)BUS_CLIENT_PROTO, 4}, {&cmd, 1}, topic, event};
    for (s_sub_t *x = b->subs[s_sub_hash(t, head)]; x != NULL; x = x->next) {
        s_session_t *s = x->sess;
        if (x->len > topic.len || memcmp(x->prefix, t, x->len) != 0 || s->ev_seq == seq)
            continue;
        s->ev_seq = seq;
        int rc = (s->expires_ms > 0 && now >= s->expires_ms)
                     ? ES_UNAUTHENTICATED
                     : s_send_to(b, s->sock, s->rid, s->rid_len, f, 4);
        if (rc == 0) {
            b->ev_forwarded++;
        } else if (rc == ES_RESOURCE_EXHAUSTED) {
            b->ev_dropped++;
        } else if (rc == ES_UNAVAILABLE || rc == ES_UNAUTHENTICATED) {
            if (nstale < S_STALE_MAX)
                stale[nstale++] = s;
        } else {
            b->ev_dropped++;
        }
    }
    for (size_t i = 0; i < nstale; i++) {
        s_session_t **pp = s_session_slot(b, stale[i]->sock, stale[i]->rid, stale[i]->rid_len);
        if (*pp == stale[i])
            s_session_unlink(b, pp);
    }
}

static void s_on_event(s_broker_t *b, zmq_msg_t *msgs, size_t n)
{
    if (n == 2 && zmq_msg_size(&msgs[0]) == strlen(S_REVOKED_TOPIC) &&
        memcmp(zmq_msg_data(&msgs[0]), S_REVOKED_TOPIC, strlen(S_REVOKED_TOPIC)) == 0)
        s_on_revoked(b, &msgs[1]);
    frame_ref_t f[FRAMES_MAX];
    for (size_t i = 0; i < n; i++)
        f[i] = (frame_ref_t){zmq_msg_data(&msgs[i]), zmq_msg_size(&msgs[i])};
    for (int i = 0; i < 2; i++)
        if (b->xpub[i] != NULL)
            frames_send(b->xpub[i], f, n);
    if (n == 2)
        s_forward(b, f[0], f[1]);
}

static void s_on_subscription(s_broker_t *b, zmq_msg_t *msgs, size_t n)
{
    frame_ref_t f[FRAMES_MAX];
    for (size_t i = 0; i < n; i++)
        f[i] = (frame_ref_t){zmq_msg_data(&msgs[i]), zmq_msg_size(&msgs[i])};
    for (int i = 0; i < 2; i++)
        if (b->xsub[i] != NULL)
            frames_send(b->xsub[i], f, n);
}

/* ----------------------------------------------------------------- timers */

static void s_heartbeat(s_broker_t *b, int64_t now)
{
    for (int i = 0; i < BROKER_MAX_WORKERS; i++) {
        s_worker_t *w = &b->workers[i];
        if (!w->used)
            continue;
        if (now >= w->expiry) {
            s_worker_remove(b, i, "expired");
            continue;
        }
        uint8_t cmd = BUS_W_HEARTBEAT;
        frame_ref_t f[2] = {{(const uint8_t *)BUS_WORKER_PROTO, 4}, {&cmd, 1}};
        if (s_send_to(b, w->sock, w->rid, w->rid_len, f, 2) == ES_UNAVAILABLE)
            s_worker_remove(b, i, "unreachable");
    }
}

static void s_expire(s_broker_t *b, int64_t now)
{
    int64_t next = INT64_MAX;
    int touched[S_MAX_SERVICES] = {0};
    for (size_t i = 0; i < BROKER_MAX_PENDING && b->npending > 0; i++) {
        s_pending_t *p = &b->pending[i];
        if (p->ticket == 0)
            continue;
        if (p->deadline <= now) {
            if (p->worker >= 0)
                touched[p->service] = 1;
            s_pending_fail(b, p, ES_DEADLINE_EXCEEDED, "deadline exceeded");
        } else if (p->deadline < next) {
            next = p->deadline;
        }
    }
    b->next_deadline = next;
    for (int i = 0; i < S_MAX_SERVICES; i++)
        if (touched[i] && b->services[i].used)
            s_queue_drain(b, i);
}

/* ------------------------------------------------------------------ setup */

static int s_mkdir_parent(const char *endpoint)
{
    if (strncmp(endpoint, "ipc://", 6) != 0)
        return 0;
    const char *path = endpoint + 6;
    const char *slash = strrchr(path, '/');
    if (slash == NULL || slash == path)
        return 0;
    char dir[PATH_MAX];
    size_t len = (size_t)(slash - path);
    if (len >= sizeof(dir))
        return ES_INVALID_ARGUMENT;
    memcpy(dir, path, len);
    dir[len] = '\0';
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return ES_INTERNAL;
    return 0;
}

static int s_bind(s_broker_t *b, void **out, int type, const char *endpoint, int tcp,
                  const char *domain, const uint8_t secret[32])
{
    if (endpoint == NULL)
        return 0;
    if (tcp != (strncmp(endpoint, "tcp://", 6) == 0))
        return ES_INVALID_ARGUMENT;
    int rc = s_mkdir_parent(endpoint);
    if (rc != 0)
        return rc;
    void *s = zmq_socket(b->ctx, type);
    if (s == NULL)
        return ES_INTERNAL;
    int linger = 0, one = 1;
    int64_t maxmsg = (int64_t)BUS_MAX_MSG;
    rc = ES_INTERNAL;
    if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0)
        goto fail;
    if (type == ZMQ_ROUTER && zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) != 0)
        goto fail;
    if (tcp && (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
                zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret, 32) != 0 ||
                zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0))
        goto fail;
    if (zmq_bind(s, endpoint) != 0) {
        int err = zmq_errno();
        rc = err == EADDRINUSE ? ES_UNAVAILABLE : ES_INVALID_ARGUMENT;
        char q1[256], q2[128];
        log_error("broker", "bind.failed", "endpoint=%s error=%s",
                  log_quote(endpoint, q1, sizeof(q1)), log_quote(zmq_strerror(err), q2, sizeof(q2)));
        goto fail;
    }
    *out = s;
    return 0;
fail:
    zmq_close(s);
    return rc;
}

static void s_teardown(s_broker_t *b)
{
    for (int i = 0; i < 2; i++) {
        if (b->req[i])
            zmq_close(b->req[i]);
        if (b->xsub[i])
            zmq_close(b->xsub[i]);
        if (b->xpub[i])
            zmq_close(b->xpub[i]);
    }
    if (b->zap)
        zmq_close(b->zap);
    if (b->ctx)
        zmq_ctx_term(b->ctx);
    if (b->pending != NULL) {
        for (size_t i = 0; i < BROKER_MAX_PENDING; i++) {
            free(b->pending[i].req);
            free(b->pending[i].caller);
        }
        free(b->pending);
    }
    if (b->sessions != NULL) {
        for (size_t i = 0; i < S_SESSION_BUCKETS; i++) {
            s_session_t *s = b->sessions[i];
            while (s != NULL) {
                s_session_t *next = s->next;
                s_session_free(s);
                s = next;
            }
        }
        free(b->sessions);
    }
    free(b->subs); /* the entries went with their sessions */
    for (int i = 0; i < S_MAX_SERVICES; i++)
        free(b->services[i].queue);
    store_close(&b->keys);
}

static int s_open(s_broker_t *b)
{
    const broker_opts_t *o = b->o;
    int rc = ES_INTERNAL;
    uint8_t pub[32], sec[32];
    char path[PATH_MAX];
    if (o->data_dir == NULL)
        return ES_INVALID_ARGUMENT;
    if (snprintf(path, sizeof(path), "%s/broker", o->data_dir) >= (int)sizeof(path))
        return ES_INVALID_ARGUMENT;
    store_opts_t so;
    memset(&so, 0, sizeof(so));
    so.tables = keys_tables;
    so.no_sync = o->no_sync;
    if ((rc = store_open(path, &so, &b->keys)) != 0)
        return rc;
    if (snprintf(path, sizeof(path), "%s/broker/curve.key", o->data_dir) >= (int)sizeof(path))
        return ES_INVALID_ARGUMENT;
    if ((rc = bus_keypair_load(path, 1, pub, sec)) != 0)
        return rc;
    b->pending = calloc(BROKER_MAX_PENDING, sizeof(*b->pending));
    b->sessions = calloc(S_SESSION_BUCKETS, sizeof(*b->sessions));
    b->subs = calloc(S_SUB_BUCKETS, sizeof(*b->subs));
    b->ctx = zmq_ctx_new();
    rc = ES_RESOURCE_EXHAUSTED;
    if (b->pending == NULL || b->sessions == NULL || b->subs == NULL || b->ctx == NULL)
        goto wipe;
    rc = ES_INTERNAL;
    /* ZAP first: a CURVE server bound without a handler admits anyone */
    if ((b->zap = zap_open(b->ctx)) == NULL)
        goto wipe;
    if ((rc = s_bind(b, &b->req[S_IPC], ZMQ_ROUTER, o->req_ipc, 0, NULL, NULL)) != 0 ||
        (rc = s_bind(b, &b->req[S_TCP], ZMQ_ROUTER, o->req_tcp, 1, ZAP_DOMAIN_REQ, sec)) != 0 ||
        (rc = s_bind(b, &b->xsub[S_IPC], ZMQ_XSUB, o->pub_ipc, 0, NULL, NULL)) != 0 ||
        (rc = s_bind(b, &b->xsub[S_TCP], ZMQ_XSUB, o->pub_tcp, 1, ZAP_DOMAIN_EVENTS, sec)) != 0 ||
        (rc = s_bind(b, &b->xpub[S_IPC], ZMQ_XPUB, o->sub_ipc, 0, NULL, NULL)) != 0 ||
        (rc = s_bind(b, &b->xpub[S_TCP], ZMQ_XPUB, o->sub_tcp, 1, ZAP_DOMAIN_EVENTS, sec)) != 0)
        goto wipe;
    /* the broker listens to revocations itself: publishers send only what
     * someone subscribed to */
    for (int i = 0; i < 2; i++) {
        char sub[1 + sizeof(S_REVOKED_TOPIC)];
        sub[0] = 1;
        memcpy(sub + 1, S_REVOKED_TOPIC, strlen(S_REVOKED_TOPIC));
        if (b->xsub[i] != NULL &&
            zmq_send(b->xsub[i], sub, 1 + strlen(S_REVOKED_TOPIC), ZMQ_DONTWAIT) < 0)
            goto wipe;
    }
    rc = 0;
wipe:
    sodium_memzero(sec, sizeof(sec));
    return rc;
}

int broker_run(const broker_opts_t *opts)
{
    if (opts == NULL)
        return ES_INVALID_ARGUMENT;
    s_broker_t *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return ES_RESOURCE_EXHAUSTED;
    b->o = opts;
    b->hb = opts->heartbeat_ms ? opts->heartbeat_ms : BUS_HEARTBEAT_MS;
    b->def_timeout = opts->default_timeout_ms ? opts->default_timeout_ms : BUS_DEFAULT_TIMEOUT_MS;
    b->next_ticket = 1;
    b->next_deadline = INT64_MAX;
    int rc = s_open(b);
    if (rc != 0) {
        log_error("broker", "start.failed", "error=%s", es_status_name(rc));
        goto done;
    }
    log_info("broker", "started", "heartbeat_ms=%u", b->hb);
    if (opts->ready_fd >= 0) {
        char one = 1;
        if (write(opts->ready_fd, &one, 1) != 1)
            log_warn("broker", "ready_fd.failed", "%s", "");
    }
    int64_t now = bus_mono_ms();
    b->hb_at = now + b->hb;
    b->sweep_at = now + S_SESSION_SWEEP_MS;

    zmq_pollitem_t items[8];
    void *socks[8];
    int kinds[8]; /* 0 stop, 1 zap, 2 req, 3 xsub, 4 xpub */
    int idx[8];
    int n = 0;
    items[n] = (zmq_pollitem_t){NULL, opts->stop_fd, ZMQ_POLLIN, 0};
    kinds[n] = 0;
    socks[n] = NULL;
    idx[n++] = 0;
    items[n] = (zmq_pollitem_t){b->zap, 0, ZMQ_POLLIN, 0};
    kinds[n] = 1;
    socks[n] = b->zap;
    idx[n++] = 0;
    for (int i = 0; i < 2; i++) {
        void *ss[3] = {b->req[i], b->xsub[i], b->xpub[i]};
        for (int k = 0; k < 3; k++) {
            if (ss[k] == NULL)
                continue;
            items[n] = (zmq_pollitem_t){ss[k], 0, ZMQ_POLLIN, 0};
            socks[n] = ss[k];
            kinds[n] = 2 + k;
            idx[n++] = i;
        }
    }
    for (;;) {
        now = bus_mono_ms();
        int64_t next = b->hb_at < b->next_deadline ? b->hb_at : b->next_deadline;
        long wait = next <= now ? 0 : (long)(next - now);
        int pr = zmq_poll(items, n, wait);
        if (pr < 0 && zmq_errno() != EINTR) {
            rc = ES_INTERNAL;
            break;
        }
        if (opts->stop_fd >= 0 && (items[0].revents & ZMQ_POLLIN))
            break;
        for (int i = 1; i < n && pr > 0; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            if (kinds[i] == 1) {
                zap_handle(b->zap, b->keys);
                continue;
            }
            for (int k = 0; k < S_DRAIN; k++) {
                zmq_msg_t msgs[FRAMES_MAX + 1];
                size_t cnt = 0;
                int r = frames_recv(socks[i], msgs, FRAMES_MAX + 1, &cnt, ZMQ_DONTWAIT);
                if (r == ES_NOT_FOUND)
                    break;
                if (r != 0) {
                    b->dropped++;
                    continue;
                }
                if (kinds[i] == 2)
                    s_on_request_msg(b, idx[i], msgs, cnt);
                else if (kinds[i] == 3)
                    s_on_event(b, msgs, cnt);
                else
                    s_on_subscription(b, msgs, cnt);
                frames_close(msgs, cnt);
            }
        }
        now = bus_mono_ms();
        if (now >= b->hb_at) {
            s_heartbeat(b, now);
            b->hb_at = now + b->hb;
        }
        if (now >= b->next_deadline)
            s_expire(b, now);
        if (now >= b->sweep_at) {
            s_session_sweep(b, NULL, 0);
            b->sweep_at = now + S_SESSION_SWEEP_MS;
        }
    }
    log_info("broker", "stopped", "dropped=%llu events_forwarded=%llu events_dropped=%llu",
             (unsigned long long)b->dropped, (unsigned long long)b->ev_forwarded,
             (unsigned long long)b->ev_dropped);
done:
    s_teardown(b);
    free(b);
    return rc;
}
