/*
 * route.c - routing (broker_int.h): services and their workers, capacity
 * and load balancing, per-service queues, pending requests with tickets and
 * deadlines, worker replies. Each request gets exactly one answer: a reply
 * for a ticket that is no longer pending is dropped.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_int.h"
#include "broker/keys.h"
#include "process/log.h"
#include "proto/status.h"
#include "storage/store.h"

#define S_LEFT_ROOM 6 /* bytes kept after a Request for its time left (s_time_left) */

/* ---------------------------------------------------------------- pending */

static route_pending_t *s_pending_get(broker_t *b, uint64_t ticket)
{
    if (ticket == 0)
        return NULL;
    route_pending_t *p = &b->pending[ticket % BROKER_MAX_PENDING];
    return p->ticket == ticket ? p : NULL;
}

static route_pending_t *s_pending_new(broker_t *b)
{
    if (b->npending >= BROKER_MAX_PENDING)
        return NULL;
    for (size_t i = 0; i < BROKER_MAX_PENDING; i++) {
        uint64_t t = b->next_ticket++;
        if (t == 0)
            t = b->next_ticket++;
        route_pending_t *p = &b->pending[t % BROKER_MAX_PENDING];
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

/* The client's part of p is over (answered, or its connection ended): its
 * connection's count goes down, and the request bytes go (wiped: bodies may
 * hold credentials, Login, SignUpPatient). */
static void s_client_done(broker_t *b, route_pending_t *p)
{
    if (p->answered)
        return;
    p->answered = 1;
    if (p->conn != NULL && p->conn->pending > 0 && --p->conn->pending == 0)
        conn_idle(b, &p->from); /* frees an idle inproc connection */
    p->conn = NULL;
    if (p->req != NULL)
        sodium_memzero(p->req, p->req_len);
    free(p->req);
    free(p->caller);
    p->req = p->caller = NULL;
    p->req_len = p->caller_len = 0;
}

/* Free a pending slot; the worker's in-flight count goes down. */
static void s_pending_done(broker_t *b, route_pending_t *p)
{
    s_client_done(b, p);
    if (p->worker >= 0 && b->workers[p->worker].used && b->workers[p->worker].inflight > 0)
        b->workers[p->worker].inflight--;
    if (p->queued && b->services[p->service].queued > 0)
        b->services[p->service].queued--;
    memset(p, 0, sizeof(*p));
    b->npending--;
}

/* The client is answered or gone. A request a worker holds stays counted
 * against the worker until the worker answers it (or is removed): the
 * broker's count is the worker's real queue (broker.h "Capacity"). */
static void s_pending_close(broker_t *b, route_pending_t *p)
{
    if (p->worker >= 0)
        s_client_done(b, p);
    else
        s_pending_done(b, p);
}

/* Answer the client (unless it was) and free the slot. */
static void s_pending_fail(broker_t *b, route_pending_t *p, int status, const char *message)
{
    if (!p->answered)
        broker_reply_status(b, p->from.sock, p->from.rid, p->from.rid_len,
                            b->services[p->service].name, p->req_id, status, message, NULL);
    s_pending_done(b, p);
}

/* -------------------------------------------------------- services, workers */

int route_worker_find(broker_t *b, int sock, const uint8_t *rid, size_t rid_len)
{
    for (int i = 0; i < b->workers_top; i++) {
        route_worker_t *w = &b->workers[i];
        if (w->used && w->sock == sock && w->rid_len == rid_len &&
            memcmp(w->rid, rid, rid_len) == 0)
            return i;
    }
    return -1;
}

void route_worker_seen(broker_t *b, int wi)
{
    b->workers[wi].expiry = bus_mono_ms() + (int64_t)b->hb * BUS_LIVENESS;
}

static int s_service_find(broker_t *b, const char *name, size_t len)
{
    for (int i = 0; i < BROKER_MAX_SERVICES; i++) {
        route_service_t *s = &b->services[i];
        if (s->used && strlen(s->name) == len && memcmp(s->name, name, len) == 0)
            return i;
    }
    return -1;
}

static void s_service_release(broker_t *b, int si)
{
    route_service_t *s = &b->services[si];
    /* every queued request of a service without workers is answered now */
    while (s->qlen > 0) {
        uint64_t t = s->queue[s->qhead];
        s->qhead = (s->qhead + 1) % BROKER_MAX_QUEUE;
        s->qlen--;
        route_pending_t *p = s_pending_get(b, t);
        if (p != NULL && p->queued && p->service == si)
            s_pending_fail(b, p, ES_UNAVAILABLE, "no live worker");
    }
    free(s->queue);
    memset(s, 0, sizeof(*s));
}

void route_worker_remove(broker_t *b, int wi, const char *why)
{
    route_worker_t *w = &b->workers[wi];
    if (!w->used)
        return;
    for (size_t i = 0; i < BROKER_MAX_PENDING && w->inflight > 0; i++) {
        route_pending_t *p = &b->pending[i];
        if (p->ticket != 0 && p->worker == wi)
            s_pending_fail(b, p, ES_UNAVAILABLE, "worker died");
    }
    int si = w->service;
    log_info("broker", "worker.gone", "service=%s reason=%s", b->services[si].name, why);
    memset(w, 0, sizeof(*w));
    if (--b->services[si].workers == 0)
        s_service_release(b, si);
}

/* Request.timeout_ms (field 3, varint) set to the time left, appended to
 * the envelope's bytes in the room kept after them (S_LEFT_ROOM): a parser
 * keeps the last value of a scalar field it sees twice (protobuf encoding
 * rules), so the worker reads the time left without the broker decoding
 * and packing the request again. Returns the bytes to send. */
static size_t s_time_left(route_pending_t *p, int64_t now)
{
    if (p->req_len + S_LEFT_ROOM > BUS_MAX_MSG)
        return p->req_len; /* no room under the frame cap: the client's own */
    int64_t left = p->deadline - now;
    uint32_t v = left < 1 ? 1 : left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
    uint8_t *o = p->req + p->req_len;
    size_t n = 0;
    o[n++] = 3 << 3; /* field 3, wire type 0 */
    while (v >= 0x80) {
        o[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    o[n++] = (uint8_t)v;
    return p->req_len + n;
}

/* Send a pending request to worker wi. 0, or an error (worker unreachable). */
static int s_send_request(broker_t *b, route_pending_t *p, int wi)
{
    route_worker_t *w = &b->workers[wi];
    uint8_t route[1 + BROKER_MAX_RID];
    route[0] = (uint8_t)p->from.sock;
    memcpy(route + 1, p->from.rid, p->from.rid_len);
    uint8_t ticket[FRAMES_TICKET];
    store_be64_put(ticket, p->ticket);
    uint8_t cmd = BUS_W_REQUEST;
    frame_ref_t f[6] = {{(const uint8_t *)BUS_WORKER_PROTO, 4},
                        {&cmd, 1},
                        {route, 1 + p->from.rid_len},
                        {ticket, FRAMES_TICKET},
                        {p->caller, p->caller_len},
                        {p->req, s_time_left(p, bus_mono_ms())}};
    return broker_send(b, w->sock, w->rid, w->rid_len, f, 6);
}

/* The live worker of service si with the most free capacity, or -1. */
static int s_worker_pick(broker_t *b, int si)
{
    int best = -1;
    uint32_t best_free = 0;
    for (int i = 0; i < b->workers_top; i++) {
        route_worker_t *w = &b->workers[i];
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
static int s_try_dispatch(broker_t *b, route_pending_t *p)
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
            route_worker_remove(b, wi, "unreachable");
            return -1;
        }
        route_worker_remove(b, wi, "unreachable");
    }
}

/* ------------------------------------------------------------------ queues */

static int s_queue_push(broker_t *b, int si, route_pending_t *q)
{
    route_service_t *s = &b->services[si];
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
            route_pending_t *p = s_pending_get(b, t);
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
    if (q->queued_at == 0)
        q->queued_at = bus_mono_ms();
    return 0;
}

/* 1 if the oldest live request queued for service si has waited the
 * admission window or more (stale tickets at the head are dropped). */
static int s_queue_late(broker_t *b, int si)
{
    route_service_t *s = &b->services[si];
    while (s->qlen > 0) {
        route_pending_t *p = s_pending_get(b, s->queue[s->qhead]);
        if (p != NULL && p->queued && p->service == si)
            return bus_mono_ms() - p->queued_at >= (int64_t)b->admit_ms;
        s->qhead = (s->qhead + 1) % BROKER_MAX_QUEUE;
        s->qlen--;
    }
    return 0;
}

/* Hand queued requests of service si to free workers. */
static void s_queue_drain(broker_t *b, int si)
{
    route_service_t *s = &b->services[si];
    while (s->used && s->qlen > 0) {
        uint64_t t = s->queue[s->qhead];
        route_pending_t *p = s_pending_get(b, t);
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

/* ----------------------------------------------------------------- clients */

/* The service a client message names into svc: its service frame, or for
 * AUTH the session service, with the SessionCheck method. 0, or the status
 * to answer (under svc, maybe "") with *why (in why_buf or static) and
 * *field. */
static int s_target(broker_t *b, const frames_msg_t *m, const Espace__V1__Request *req,
                    int auth, char svc[BUS_MAX_SERVICE + 1], char *why_buf, size_t why_len,
                    const char **why, const char **field)
{
    svc[0] = '\0';
    if (!auth) {
        if (!frames_service_valid(m->service)) {
            *why = "bad service name";
            *field = "service";
            return ES_INVALID_ARGUMENT;
        }
        memcpy(svc, m->service.data, m->service.len);
        svc[m->service.len] = '\0';
        return 0;
    }
    if (b->session_service == NULL) {
        *why = "no session service";
        return ES_UNAVAILABLE;
    }
    snprintf(svc, BUS_MAX_SERVICE + 1, "%s", b->session_service);
    if (strcmp(req->method, b->auth_method) != 0) {
        snprintf(why_buf, why_len, "AUTH carries method %s", b->auth_method);
        *why = why_buf;
        *field = "method";
        return ES_INVALID_ARGUMENT;
    }
    return 0;
}

void route_client_request(broker_t *b, const broker_peer_t *peer, conn_t *conn,
                          const frames_msg_t *m, int auth)
{
    Espace__V1__Request *req = NULL;
    if (codec_decode(&espace__v1__request__descriptor, m->body.data, m->body.len, BUS_MAX_MSG,
                     (ProtobufCMessage **)&req, NULL) != 0) {
        b->dropped++;
        return; /* no id to answer */
    }
    char svc[BUS_MAX_SERVICE + 1];
    char why_buf[80];
    const char *why = NULL, *field = NULL;
    int rc = s_target(b, m, req, auth, svc, why_buf, sizeof(why_buf), &why, &field);
    if (rc != 0) {
        broker_reply_status(b, peer->sock, peer->rid, peer->rid_len, svc, req->id, rc, why,
                            field);
        goto done;
    }
    int si = s_service_find(b, svc, strlen(svc));
    if (si < 0 || b->services[si].workers == 0) {
        broker_reply_status(b, peer->sock, peer->rid, peer->rid_len, svc, req->id,
                            ES_UNAVAILABLE, "no live worker", NULL);
        goto done;
    }
    if (conn->pending >= conn_cap(b, peer)) { /* per connection (broker.h) */
        b->conn_refused++;
        broker_reply_status(b, peer->sock, peer->rid, peer->rid_len, svc, req->id,
                            ES_RESOURCE_EXHAUSTED,
                            "too many requests pending on this connection", NULL);
        goto done;
    }
    if (s_queue_late(b, si)) { /* admission (broker.h) */
        b->refused++;
        broker_reply_status(b, peer->sock, peer->rid, peer->rid_len, svc, req->id,
                            ES_RESOURCE_EXHAUSTED, "service busy", NULL);
        goto done;
    }
    uint8_t *caller = NULL;
    size_t caller_len = 0;
    rc = session_stamp(b, peer, m->caller, auth, &caller, &caller_len);
    if (rc != 0) {
        broker_reply_status(b, peer->sock, peer->rid, peer->rid_len, svc, req->id, rc,
                            rc == ES_PERMISSION_DENIED
                                ? "a gateway may not act as this kind of caller"
                                : "bad caller frame",
                            "caller");
        goto done;
    }
    route_pending_t *p = s_pending_new(b);
    uint8_t *req_copy = malloc(m->body.len + S_LEFT_ROOM);
    if (p == NULL || req_copy == NULL) {
        free(caller);
        free(req_copy);
        if (p != NULL)
            s_pending_done(b, p);
        broker_reply_status(b, peer->sock, peer->rid, peer->rid_len, svc, req->id,
                            ES_RESOURCE_EXHAUSTED, "broker busy", NULL);
        goto done;
    }
    if (m->body.len)
        memcpy(req_copy, m->body.data, m->body.len);
    uint32_t t = req->timeout_ms ? req->timeout_ms : b->def_timeout;
    if (t > b->max_timeout)
        t = b->max_timeout; /* clamped (broker.h) */
    p->from = *peer;
    p->conn = conn;
    conn->pending++;
    p->req_id = req->id;
    p->service = si;
    p->worker = -1;
    p->deadline = bus_mono_ms() + t;
    p->auth = auth;
    p->req = req_copy;
    p->req_len = m->body.len;
    p->caller = caller;
    p->caller_len = caller_len;
    if (p->deadline < b->next_deadline)
        b->next_deadline = p->deadline;
    if (s_try_dispatch(b, p) == 0 && s_queue_push(b, si, p) != 0)
        s_pending_fail(b, p, ES_RESOURCE_EXHAUSTED, "service queue full");
done:
    codec_free(&req->base);
}

/* ----------------------------------------------------------------- workers */

/* The index of the service named by a READY (created if new), or -1. */
static int s_service_of(broker_t *b, const char *name)
{
    frame_ref_t f = {(const uint8_t *)name, strlen(name)};
    if (!frames_service_valid(f))
        return -1;
    int si = s_service_find(b, name, f.len);
    for (int i = 0; si < 0 && i < BROKER_MAX_SERVICES; i++)
        if (!b->services[i].used) {
            si = i;
            b->services[i].used = 1;
            memcpy(b->services[i].name, name, f.len);
            b->services[i].name[f.len] = '\0';
        }
    return si;
}

void route_ready(broker_t *b, const broker_peer_t *peer, const frames_msg_t *m)
{
    char kq[64];
    if (peer->sock == BROKER_TCP && peer->role != ESPACE__V1__PEER_ROLE__PEER_SERVICE) {
        log_info("broker", "peer.refused", "reason=ready_not_service role=%s key=%s",
                 keys_role_name(peer->role), log_quote(peer->key, kq, sizeof(kq)));
        broker_worker_cmd(b, peer->sock, peer->rid, peer->rid_len, BUS_W_DISCONNECT);
        return;
    }
    int wi = route_worker_find(b, peer->sock, peer->rid, peer->rid_len);
    if (wi >= 0) { /* READY twice: a protocol error */
        route_worker_remove(b, wi, "ready_twice");
        broker_worker_cmd(b, peer->sock, peer->rid, peer->rid_len, BUS_W_DISCONNECT);
        return;
    }
    Espace__V1__WorkerReady *r = NULL;
    if (codec_decode(&espace__v1__worker_ready__descriptor, m->body.data, m->body.len,
                     BUS_MAX_MSG, (ProtobufCMessage **)&r, NULL) != 0) {
        b->dropped++;
        return;
    }
    int si = s_service_of(b, r->service);
    for (int i = 0; si >= 0 && wi < 0 && i < BROKER_MAX_WORKERS; i++)
        if (!b->workers[i].used)
            wi = i;
    if (si < 0 || wi < 0) {
        if (si >= 0 && b->services[si].workers == 0)
            s_service_release(b, si);
        log_warn("broker", "peer.refused", "reason=%s", si < 0 ? "bad_service" : "too_many");
        broker_worker_cmd(b, peer->sock, peer->rid, peer->rid_len, BUS_W_DISCONNECT);
        codec_free(&r->base);
        return;
    }
    route_worker_t *w = &b->workers[wi];
    w->used = 1;
    if (wi >= b->workers_top)
        b->workers_top = wi + 1;
    w->sock = peer->sock;
    memcpy(w->rid, peer->rid, peer->rid_len);
    w->rid_len = peer->rid_len;
    w->service = si;
    w->capacity = r->capacity ? r->capacity : 1;
    w->inflight = 0;
    route_worker_seen(b, wi);
    b->services[si].workers++;
    log_info("broker", "worker.ready", "service=%s capacity=%u transport=%s",
             b->services[si].name, w->capacity, peer->sock == BROKER_TCP ? "tcp" : "ipc");
    /* Acknowledge at once: the worker knows it is registered (and may say
     * it is ready) when this first heartbeat arrives. */
    broker_worker_cmd(b, peer->sock, peer->rid, peer->rid_len, BUS_W_HEARTBEAT);
    codec_free(&r->base);
    s_queue_drain(b, si);
}

void route_worker_reply(broker_t *b, int wi, const frames_msg_t *m)
{
    uint64_t ticket = store_be64_get(m->ticket.data);
    route_pending_t *p = s_pending_get(b, ticket);
    if (p == NULL || p->worker != wi)
        return; /* foreign: dropped */
    int si = p->service;
    if (p->answered) { /* past its deadline, or its client left: the count comes back */
        s_pending_done(b, p);
        s_queue_drain(b, si);
        return;
    }
    Espace__V1__Reply *rep = NULL;
    if (codec_decode(&espace__v1__reply__descriptor, m->body.data, m->body.len, BUS_MAX_MSG,
                     (ProtobufCMessage **)&rep, NULL) != 0 ||
        rep->id != p->req_id) {
        b->dropped++;
        s_pending_fail(b, p, ES_INTERNAL, "malformed worker reply");
        goto drain;
    }
    int ok = rep->status == NULL || rep->status->code == ESPACE__V1__CODE__CODE_OK;
    if (p->auth && ok && session_bind_reply(b, &p->from, rep->body.data, rep->body.len) != 0) {
        s_pending_fail(b, p, ES_UNAUTHENTICATED, "session not bound");
        goto drain;
    }
    broker_reply_raw(b, p->from.sock, p->from.rid, p->from.rid_len, b->services[si].name,
                     m->body.data, m->body.len);
    s_pending_done(b, p);
drain:
    codec_free((ProtobufCMessage *)rep);
    s_queue_drain(b, si);
}

/* ------------------------------------------------------------------ timers */

void route_heartbeat(broker_t *b, int64_t now)
{
    for (int i = 0; i < b->workers_top; i++) {
        route_worker_t *w = &b->workers[i];
        if (!w->used)
            continue;
        if (now >= w->expiry) {
            route_worker_remove(b, i, "expired");
            continue;
        }
        uint8_t cmd = BUS_W_HEARTBEAT;
        frame_ref_t f[2] = {{(const uint8_t *)BUS_WORKER_PROTO, 4}, {&cmd, 1}};
        if (broker_send(b, w->sock, w->rid, w->rid_len, f, 2) == ES_UNAVAILABLE)
            route_worker_remove(b, i, "unreachable");
    }
}

void route_expire(broker_t *b, int64_t now)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < BROKER_MAX_PENDING && b->npending > 0; i++) {
        route_pending_t *p = &b->pending[i];
        if (p->ticket == 0 || p->answered)
            continue;
        if (p->deadline <= now) {
            broker_reply_status(b, p->from.sock, p->from.rid, p->from.rid_len,
                                b->services[p->service].name, p->req_id,
                                ES_DEADLINE_EXCEEDED, "deadline exceeded", NULL);
            s_pending_close(b, p);
        } else if (p->deadline < next) {
            next = p->deadline;
        }
    }
    b->next_deadline = next;
}

void route_conn_gone(broker_t *b, conn_t *c)
{
    int wi = route_worker_find(b, c->sock, c->rid, c->rid_len);
    if (wi >= 0)
        route_worker_remove(b, wi, "disconnected");
    for (size_t i = 0; i < BROKER_MAX_PENDING && c->pending > 0; i++) {
        route_pending_t *p = &b->pending[i];
        if (p->ticket != 0 && p->conn == c)
            s_pending_close(b, p); /* never answered: the routing id may be reused */
    }
}

void route_free(broker_t *b)
{
    if (b->pending != NULL) {
        for (size_t i = 0; i < BROKER_MAX_PENDING; i++) {
            free(b->pending[i].req);
            free(b->pending[i].caller);
        }
        free(b->pending);
        b->pending = NULL;
    }
    for (int i = 0; i < BROKER_MAX_SERVICES; i++) {
        free(b->services[i].queue);
        b->services[i].queue = NULL;
    }
}
