/*
 * bridge.c - the edge's side of the bus (edge_int.h).
 *
 * Requests go out on a DEALER of our own (bus.h's bus_client packs the body
 * from a protobuf message, while the edge forwards bytes it never decodes),
 * with the frames of docs/protocol.md: "EC01", 0x01, service, Request,
 * Caller. Replies are matched by Request.id in a hash of requests in flight;
 * an entry dies with its connection, so a late reply for a closed connection
 * finds nothing and is dropped.
 *
 * Both ZeroMQ sockets are watched with uv_poll on ZMQ_FD and drained until
 * empty (edge-triggered fd). Any zmq_send/setsockopt may consume the fd's
 * edge, so after those need_drain is set and the uv_prepare handle drains
 * before the loop blocks again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "espace/v1/bus.pb-c.h"
#include "bus/codec.h"
#include "espace/v1/edge.pb-c.h"
#include "services/edge/edge_int.h"
#include "bus/frames.h"
#include "espace/v1/identity.pb-c.h"
#include "process/log.h"
#include "proto/status.h"

#define S_HWM 100000            /* DEALER send/receive high-water marks */
#define S_DEADLINE_MARGIN_MS 1000 /* local deadline = request deadline + margin */
#define S_TOPIC_REVOKED "identity.session.revoked"

/* ---- pending table ---- */

static size_t s_hash_id(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)(x & (EDGE_PENDING_BUCKETS - 1));
}

static edge_pending_t *s_take(edge_t *e, uint64_t id)
{
    edge_pending_t **pp = &e->pbuckets[s_hash_id(id)];
    for (; *pp != NULL; pp = &(*pp)->hnext) {
        if ((*pp)->bus_id == id) {
            edge_pending_t *p = *pp;
            *pp = p->hnext;
            return p;
        }
    }
    return NULL;
}

/* Unlink p from its connection and the global list (not the hash) and free. */
static void s_release(edge_t *e, edge_pending_t *p)
{
    edge_conn_t *c = p->conn;
    if (p->cprev)
        p->cprev->cnext = p->cnext;
    else
        c->pending = p->cnext;
    if (p->cnext)
        p->cnext->cprev = p->cprev;
    if (p->gprev)
        p->gprev->gnext = p->gnext;
    else
        e->phead = p->gnext;
    if (p->gnext)
        p->gnext->gprev = p->gprev;
    else
        e->ptail = p->gprev;
    c->inflight--;
    if (p->kind == EDGE_P_LOGIN || p->kind == EDGE_P_RESUME)
        c->auth_pending = 0;
    if (p->kind == EDGE_P_REVALIDATE)
        c->revalidating = 0;
    e->n_pending--;
    free(p);
}

void edge_bridge_forget(edge_t *e, edge_conn_t *c)
{
    while (c->pending != NULL) {
        edge_pending_t *p = c->pending;
        edge_pending_t *q = s_take(e, p->bus_id);
        (void)q;
        s_release(e, p);
    }
}

/* ---- sending ---- */

int edge_bridge_send(edge_t *e, edge_conn_t *c, uint64_t client_id, int kind,
                     const char *service, const char *method, const uint8_t *body,
                     size_t body_len, uint32_t timeout_ms, const Espace__V1__Caller *caller)
{
    uint8_t *req_buf = NULL, *caller_buf = NULL;
    size_t req_len = 0, caller_len = 0;
    int rc;
    if (e->dealer == NULL)
        return ES_UNAVAILABLE;
    if (e->n_pending >= EDGE_MAX_PENDING)
        return ES_RESOURCE_EXHAUSTED;
    edge_pending_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return ES_RESOURCE_EXHAUSTED;
    Espace__V1__Request req = ESPACE__V1__REQUEST__INIT;
    req.id = ++e->next_bus_id;
    req.method = (char *)method;
    req.timeout_ms = timeout_ms;
    req.body.data = (uint8_t *)body;
    req.body.len = body_len;
    if ((rc = codec_pack(&req.base, &req_buf, &req_len)) != 0 ||
        (rc = codec_pack(&caller->base, &caller_buf, &caller_len)) != 0)
        goto done;
    if (req_len > BUS_MAX_MSG) {
        rc = ES_TOO_LARGE;
        goto done;
    }
    uint8_t cmd = BUS_C_REQUEST;
    frame_ref_t f[5] = {
        {(const uint8_t *)BUS_CLIENT_PROTO, 4},
        {&cmd, 1},
        {(const uint8_t *)service, strlen(service)},
        {req_buf, req_len},
        {caller_buf, caller_len},
    };
    rc = frames_send(e->dealer, f, 5);
    e->need_drain = 1;
    if (rc != 0) {
        /* EAGAIN: not connected (ZMQ_IMMEDIATE) or at the high-water mark */
        rc = ES_UNAVAILABLE;
        goto done;
    }
    p->bus_id = req.id;
    p->client_id = client_id;
    p->conn = c;
    p->kind = kind;
    snprintf(p->service, sizeof(p->service), "%s", service);
    p->sent_us = edge_now_us();
    p->deadline_ms = p->sent_us / 1000 + timeout_ms + S_DEADLINE_MARGIN_MS;
    size_t h = s_hash_id(p->bus_id);
    p->hnext = e->pbuckets[h];
    e->pbuckets[h] = p;
    p->cnext = c->pending;
    if (c->pending)
        c->pending->cprev = p;
    c->pending = p;
    p->gprev = e->ptail;
    if (e->ptail)
        e->ptail->gnext = p;
    else
        e->phead = p;
    e->ptail = p;
    c->inflight++;
    if (kind == EDGE_P_LOGIN || kind == EDGE_P_RESUME)
        c->auth_pending = 1;
    e->n_pending++;
    p = NULL;
done:
    free(p);
    free(req_buf);
    free(caller_buf);
    return rc;
}

/* ---- replies ---- */

static int s_patient_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* Login/resume answered OK: check and bind, then answer the client. */
static void s_auth_reply(edge_conn_t *c, const edge_pending_t *p, const uint8_t *body,
                         size_t len)
{
    ProtobufCMessage *m = NULL;
    Espace__V1__Caller *caller = NULL, *copy = NULL;
    const ProtobufCMessageDescriptor *d = p->kind == EDGE_P_LOGIN
                                              ? &espace__v1__login_reply__descriptor
                                              : &espace__v1__authenticate_reply__descriptor;
    int rc = codec_decode(d, body, len, BUS_MAX_MSG, &m, NULL);
    if (rc != 0) {
        edge_conn_reply(c, p->client_id, -ES_INTERNAL, "malformed identity reply", NULL, NULL, 0);
        return;
    }
    caller = p->kind == EDGE_P_LOGIN ? ((Espace__V1__LoginReply *)m)->caller
                                     : ((Espace__V1__AuthenticateReply *)m)->caller;
    if (caller == NULL || caller->principal == NULL) {
        edge_conn_reply(c, p->client_id, -ES_UNAUTHENTICATED, "no caller", NULL, NULL, 0);
        goto done;
    }
    if (caller->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT) {
        edge_conn_reply(c, p->client_id, -ES_PERMISSION_DENIED,
                        "only patients may use the web edge", NULL, NULL, 0);
        goto done;
    }
    if (!s_patient_id_ok(caller->principal)) {
        edge_conn_reply(c, p->client_id, -ES_INTERNAL, "bad principal", NULL, NULL, 0);
        goto done;
    }
    /* an independent copy of the caller: the reply holds the token */
    uint8_t *cb = NULL;
    size_t cl = 0;
    if (codec_pack(&caller->base, &cb, &cl) != 0 ||
        codec_decode(&espace__v1__caller__descriptor, cb, cl, BUS_MAX_MSG,
                     (ProtobufCMessage **)&copy, NULL) != 0) {
        free(cb);
        edge_conn_reply(c, p->client_id, -ES_INTERNAL, "out of memory", NULL, NULL, 0);
        goto done;
    }
    free(cb);
    rc = edge_conn_bind(c, copy);
    if (rc != 0) {
        edge_conn_reply(c, p->client_id, -rc, "cannot bind the session", NULL, NULL, 0);
        goto done;
    }
    /* keep the token for revalidation (resume stored it when sending) */
    if (p->kind == EDGE_P_LOGIN &&
        edge_conn_token_set(c, ((Espace__V1__LoginReply *)m)->token) != 0)
        log_warn(EDGE_COMP, "conn.token_not_kept", "conn=%llu", (unsigned long long)c->id);
    edge_conn_reply(c, p->client_id, 0, NULL, NULL, body, len);
done:
    if (p->kind == EDGE_P_LOGIN) {
        Espace__V1__LoginReply *lr = (Espace__V1__LoginReply *)m;
        if (lr->token)
            memset(lr->token, 0, strlen(lr->token));
    }
    codec_free(m);
}

static void s_on_reply(edge_t *e, const Espace__V1__Reply *rep)
{
    edge_pending_t *p = s_take(e, rep->id);
    if (p == NULL)
        return; /* its connection closed, or it timed out here */
    edge_conn_t *c = p->conn;
    int code = rep->status ? (int)rep->status->code : 0;
    const char *msg = rep->status ? rep->status->message : NULL;
    const char *field = rep->status ? rep->status->field : NULL;
    double secs = (double)(edge_now_us() - p->sent_us) / 1e6;
    edge_metrics_request(&e->metrics, p->service, code, secs);
    /* the pending entry is released first so the connection's counters are right
     * even if the reply closes it */
    edge_pending_t copy = *p;
    s_release(e, p);
    if (c->closing)
        return;
    if (copy.kind == EDGE_P_REVALIDATE) {
        edge_conn_revalidated(c, code, rep->body.data, rep->body.len);
        return;
    }
    if (code == 0 && copy.kind != EDGE_P_CALL)
        s_auth_reply(c, &copy, rep->body.data, rep->body.len);
    else
        edge_conn_reply(c, copy.client_id, code, msg, field, rep->body.data, rep->body.len);
    if (copy.kind != EDGE_P_CALL && c->caller == NULL)
        (void)edge_conn_token_set(c, NULL); /* login/resume refused: forget it */
}

static void s_drain_dealer(edge_t *e)
{
    for (;;) {
        zmq_msg_t msgs[FRAMES_MAX];
        size_t n = 0;
        int rc = frames_recv(e->dealer, msgs, FRAMES_MAX, &n, ZMQ_DONTWAIT);
        if (rc == ES_NOT_FOUND)
            return;
        if (rc == ES_INVALID_ARGUMENT)
            continue;
        if (rc != 0) {
            log_error(EDGE_COMP, "bus.recv_failed", "errno=%d", zmq_errno());
            return;
        }
        frame_ref_t f[FRAMES_MAX];
        for (size_t i = 0; i < n; i++)
            f[i] = (frame_ref_t){zmq_msg_data(&msgs[i]), zmq_msg_size(&msgs[i])};
        frames_msg_t m;
        Espace__V1__Reply *rep = NULL;
        if (frames_parse(f, n, &m) == 0 && m.kind == FRAMES_C_REPLY &&
            codec_decode(&espace__v1__reply__descriptor, m.body.data, m.body.len, BUS_MAX_MSG,
                         (ProtobufCMessage **)&rep, NULL) == 0)
            s_on_reply(e, rep);
        else
            log_warn(EDGE_COMP, "bus.bad_reply", NULL);
        codec_free((ProtobufCMessage *)rep);
        frames_close(msgs, n);
    }
}

/* ---- events ---- */

static void s_on_revoked(edge_t *e, const Espace__V1__Event *ev)
{
    Espace__V1__SessionRevoked *sr = NULL;
    if (codec_decode(&espace__v1__session_revoked__descriptor, ev->body.data, ev->body.len,
                     BUS_MAX_MSG, (ProtobufCMessage **)&sr, NULL) != 0)
        return;
    edge_principal_t *pr = sr->principal ? edge_principal_find(e, sr->principal) : NULL;
    for (edge_conn_t *c = pr ? pr->conns : NULL; c != NULL; c = c->pnext) {
        const Espace__V1__Caller *k = c->caller;
        if (k && k->session_id.len == sr->session_id.len && sr->session_id.len > 0 &&
            memcmp(k->session_id.data, sr->session_id.data, sr->session_id.len) == 0) {
            log_info(EDGE_COMP, "conn.revoked", "conn=%llu", (unsigned long long)c->id);
            edge_conn_close(c, -ES_UNAUTHENTICATED, "session revoked",
                            LWS_CLOSE_STATUS_POLICY_VIOLATION);
        }
    }
    codec_free((ProtobufCMessage *)sr);
}

static void s_on_patient_event(edge_t *e, const char *topic, const Espace__V1__Event *ev)
{
    const char *id = topic + strlen("patient.");
    const char *dot = strchr(id, '.');
    char pid[65];
    if (dot == NULL || dot == id || (size_t)(dot - id) >= sizeof(pid))
        return;
    memcpy(pid, id, (size_t)(dot - id));
    pid[dot - id] = '\0';
    edge_principal_t *pr = edge_principal_find(e, pid);
    if (pr == NULL)
        return;
    Espace__V1__LiveEvent le = ESPACE__V1__LIVE_EVENT__INIT;
    le.topic = (char *)topic;
    le.at_ms = ev->at_ms;
    le.body = ev->body;
    Espace__V1__ServerMessage sm = ESPACE__V1__SERVER_MESSAGE__INIT;
    sm.kind_case = ESPACE__V1__SERVER_MESSAGE__KIND_EVENT;
    sm.event = &le;
    edge_msg_t *m = edge_msg_pack(&sm.base);
    if (m == NULL)
        return;
    for (edge_conn_t *c = pr->conns; c != NULL; c = c->pnext)
        edge_conn_event(c, m);
    edge_msg_unref(&m);
}

static void s_drain_sub(edge_t *e)
{
    for (;;) {
        char topic[BUS_MAX_TOPIC + 1];
        Espace__V1__Event *ev = NULL;
        int rc = bus_sub_recv(e->sub, 0, topic, &ev);
        if (rc != 0)
            return;
        e->metrics.events++;
        if (strcmp(topic, S_TOPIC_REVOKED) == 0)
            s_on_revoked(e, ev);
        else if (strncmp(topic, "patient.", 8) == 0)
            s_on_patient_event(e, topic, ev);
        codec_free((ProtobufCMessage *)ev);
    }
}

void edge_bridge_drain(edge_t *e)
{
    e->need_drain = 0;
    if (e->dealer)
        s_drain_dealer(e);
    if (e->sub)
        s_drain_sub(e);
}

int edge_bridge_subscribe(edge_t *e, const char *prefix, int on)
{
    if (e->sub == NULL)
        return 0;
    e->need_drain = 1;
    if (on)
        return bus_subscribe(e->sub, prefix);
    if (zmq_setsockopt(bus_sub_socket(e->sub), ZMQ_UNSUBSCRIBE, prefix, strlen(prefix)) != 0)
        return ES_INTERNAL;
    return 0;
}

void edge_bridge_sweep(edge_t *e)
{
    int64_t now = edge_now_us() / 1000;
    edge_pending_t *p = e->phead;
    while (p != NULL) {
        edge_pending_t *next = p->gnext;
        if (now >= p->deadline_ms) {
            edge_conn_t *c = p->conn;
            uint64_t cid = p->client_id;
            int kind = p->kind;
            edge_metrics_request(&e->metrics, p->service, -ES_DEADLINE_EXCEEDED,
                                 (double)(edge_now_us() - p->sent_us) / 1e6);
            (void)s_take(e, p->bus_id);
            s_release(e, p);
            if (kind == EDGE_P_REVALIDATE) /* no answer: the binding stays */
                edge_conn_revalidated(c, -ES_DEADLINE_EXCEEDED, NULL, 0);
            else if (!c->closing)
                edge_conn_reply(c, cid, -ES_DEADLINE_EXCEEDED, "no answer from the broker", NULL,
                                NULL, 0);
            if (kind != EDGE_P_CALL && kind != EDGE_P_REVALIDATE && c->caller == NULL)
                (void)edge_conn_token_set(c, NULL);
        }
        p = next;
    }
}

/* ---- sockets on the loop ---- */

static void s_poll_cb(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    edge_bridge_drain(h->data);
}

static void s_prepare_cb(uv_prepare_t *h)
{
    edge_t *e = h->data;
    if (e->need_drain)
        edge_bridge_drain(e);
}

static int s_fd(void *sock)
{
    int fd = -1;
    size_t sz = sizeof(fd);
    if (zmq_getsockopt(sock, ZMQ_FD, &fd, &sz) != 0)
        return -1;
    return fd;
}

int edge_bridge_open(edge_t *e)
{
    int rc = ES_INTERNAL;
    e->zctx = zmq_ctx_new();
    if (e->zctx == NULL)
        return ES_INTERNAL;
    e->dealer = zmq_socket(e->zctx, ZMQ_DEALER);
    if (e->dealer == NULL)
        return ES_INTERNAL;
    if ((rc = bus_socket_setup(e->dealer, &e->o.bus)) != 0)
        return rc;
    int one = 1, hwm = S_HWM;
    if (zmq_setsockopt(e->dealer, ZMQ_IMMEDIATE, &one, sizeof(one)) != 0 ||
        zmq_setsockopt(e->dealer, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
        zmq_setsockopt(e->dealer, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0)
        return ES_INTERNAL;
    if (zmq_connect(e->dealer, e->o.bus.endpoint) != 0)
        return ES_INVALID_ARGUMENT;
    if (e->o.events.endpoint != NULL) {
        if ((rc = bus_sub_new(e->zctx, &e->o.events, &e->sub)) != 0)
            return rc;
        if ((rc = bus_subscribe(e->sub, S_TOPIC_REVOKED)) != 0)
            return rc;
    }
    int fd = s_fd(e->dealer);
    if (fd < 0 || uv_poll_init(&e->loop, &e->dealer_poll, fd) != 0)
        return ES_INTERNAL;
    e->handles |= 1;
    e->dealer_poll.data = e;
    uv_poll_start(&e->dealer_poll, UV_READABLE, s_poll_cb);
    if (e->sub) {
        fd = s_fd(bus_sub_socket(e->sub));
        if (fd < 0 || uv_poll_init(&e->loop, &e->sub_poll, fd) != 0)
            return ES_INTERNAL;
        e->handles |= 2;
        e->sub_poll.data = e;
        uv_poll_start(&e->sub_poll, UV_READABLE, s_poll_cb);
    }
    if (uv_prepare_init(&e->loop, &e->prepare) != 0)
        return ES_INTERNAL;
    e->handles |= 4;
    e->prepare.data = e;
    uv_prepare_start(&e->prepare, s_prepare_cb);
    e->need_drain = 1;
    return 0;
}

/* Stop watching (handles are closed by edge.c); sockets stay until
 * edge_bridge_close. */
void edge_bridge_close(edge_t *e)
{
    /* every connection was closed (and forgot its requests) by now; free
     * any leftover without touching its connection */
    while (e->phead != NULL) {
        edge_pending_t *p = e->phead;
        e->phead = p->gnext;
        free(p);
    }
    e->ptail = NULL;
    e->n_pending = 0;
    memset(e->pbuckets, 0, sizeof(e->pbuckets));
    if (e->dealer)
        zmq_close(e->dealer);
    e->dealer = NULL;
    bus_sub_destroy(&e->sub);
    if (e->zctx)
        zmq_ctx_term(e->zctx);
    e->zctx = NULL;
}
