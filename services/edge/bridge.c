/*
 * bridge.c - the edge's side of the bus (edge_int.h): a gateway, not a
 * service.
 *
 * Requests go out as raw requests of a bus client (bus.h): the edge forwards
 * body bytes it never decodes, stamped with the connection's Caller, and the
 * bus client owns the request ids, the local deadlines and the matching of
 * replies. Each request's user pointer is an edge_pending_t on its
 * connection's list: a closing connection cancels its requests, so a late
 * reply finds nothing and is dropped.
 *
 * Both ZeroMQ sockets are watched with uv_poll on their ZMQ_FD and drained
 * until empty (edge-triggered fd). Any zmq_send/setsockopt may consume the
 * fd's edge, so after those need_drain gets that socket's bit and the
 * uv_prepare handle drains it before the loop blocks again. Each drain
 * ends with a read that finds nothing, which costs a poll() and a getpid()
 * in libzmq: a socket is drained only when its fd fired or it was used.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bus/codec.h"
#include "espace/v1/edge.pb-c.h"
#include "espace/v1/identity.pb-c.h"
#include "process/log.h"
#include "proto/ids.h"
#include "proto/names.h"
#include "proto/status.h"
#include "services/edge/edge_int.h"

#define S_HWM 100000 /* high-water marks of the bus client's socket */

/* ---- requests in flight, per connection ---- */

/* Unlink p from its connection and free it. */
static void s_release(edge_pending_t *p)
{
    edge_conn_t *c = p->conn;
    if (p->cprev)
        p->cprev->cnext = p->cnext;
    else
        c->pending = p->cnext;
    if (p->cnext)
        p->cnext->cprev = p->cprev;
    c->inflight--;
    if (p->kind == EDGE_P_LOGIN || p->kind == EDGE_P_RESUME)
        c->auth_pending = 0;
    if (p->kind == EDGE_P_REVALIDATE)
        c->revalidating = 0;
    free(p);
}

void edge_bridge_forget(edge_t *e, edge_conn_t *c)
{
    while (c->pending != NULL) {
        edge_pending_t *p = c->pending;
        (void)bus_client_cancel(e->bus, p->bus_id);
        s_release(p);
    }
}

int edge_bridge_send(edge_t *e, edge_conn_t *c, uint64_t client_id, int kind,
                     const char *service, const char *method, const uint8_t *body,
                     size_t body_len, uint32_t timeout_ms, const Espace__V1__Caller *caller)
{
    if (e->bus == NULL)
        return ES_UNAVAILABLE;
    edge_pending_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return ES_RESOURCE_EXHAUSTED;
    /* the caller as bound, plus where the client comes from (packed now) */
    Espace__V1__Caller stamped = *caller;
    stamped.source_address = c->addr.text;
    int rc = bus_client_send_raw(e->bus, service, method, body, body_len, timeout_ms, &stamped, p,
                                 &p->bus_id);
    e->need_drain |= EDGE_H_BUS;
    if (rc != 0) {
        free(p);
        return rc;
    }
    p->client_id = client_id;
    p->conn = c;
    p->kind = kind;
    snprintf(p->service, sizeof(p->service), "%s", service);
    p->sent_us = edge_now_us();
    p->cnext = c->pending;
    if (c->pending)
        c->pending->cprev = p;
    c->pending = p;
    c->inflight++;
    if (kind == EDGE_P_LOGIN || kind == EDGE_P_RESUME)
        c->auth_pending = 1;
    return 0;
}

/* ---- replies ---- */

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
        edge_conn_reply(c, p->client_id, ES_INTERNAL, "malformed identity reply", NULL, NULL, 0);
        return;
    }
    caller = p->kind == EDGE_P_LOGIN ? ((Espace__V1__LoginReply *)m)->caller
                                     : ((Espace__V1__AuthenticateReply *)m)->caller;
    if (caller == NULL || caller->principal == NULL) {
        edge_conn_reply(c, p->client_id, ES_UNAUTHENTICATED, "no caller", NULL, NULL, 0);
        goto done;
    }
    if (caller->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT) {
        edge_conn_reply(c, p->client_id, ES_PERMISSION_DENIED,
                        "only patients may use the web edge", NULL, NULL, 0);
        goto done;
    }
    if (!id_hex_valid(caller->principal)) {
        edge_conn_reply(c, p->client_id, ES_INTERNAL, "bad principal", NULL, NULL, 0);
        goto done;
    }
    /* an independent copy of the caller: the reply holds the token */
    uint8_t *cb = NULL;
    size_t cl = 0;
    if (codec_pack(&caller->base, &cb, &cl) != 0 ||
        codec_decode(&espace__v1__caller__descriptor, cb, cl, BUS_MAX_MSG,
                     (ProtobufCMessage **)&copy, NULL) != 0) {
        free(cb);
        edge_conn_reply(c, p->client_id, ES_INTERNAL, "out of memory", NULL, NULL, 0);
        goto done;
    }
    free(cb);
    rc = edge_conn_bind(c, copy);
    if (rc != 0) {
        edge_conn_reply(c, p->client_id, rc, "cannot bind the session", NULL, NULL, 0);
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
            sodium_memzero(lr->token, strlen(lr->token));
    }
    codec_free(m);
}

/* A request's answer from the bus client: the broker's reply, or
 * DEADLINE_EXCEEDED when the broker gave none in time (bus_client_expire). */
static void s_on_reply(void *arg, const bus_raw_reply_t *r)
{
    edge_t *e = arg;
    edge_pending_t *p = r->user;
    edge_conn_t *c = p->conn;
    edge_metrics_request(&e->metrics, p->service, r->status,
                         (double)(edge_now_us() - p->sent_us) / 1e6);
    /* the pending entry is released first so the connection's counters are right
     * even if the reply closes it */
    edge_pending_t copy = *p;
    s_release(p);
    if (copy.kind == EDGE_P_REVALIDATE) { /* never answered to the client */
        edge_conn_revalidated(c, r->status, r->body, r->body_len);
        return;
    }
    if (c->closing)
        return;
    if (r->status == 0 && copy.kind != EDGE_P_CALL)
        s_auth_reply(c, &copy, r->body, r->body_len);
    else
        edge_conn_reply(c, copy.client_id, r->status, r->message, r->field, r->body, r->body_len);
    if (copy.kind != EDGE_P_CALL && c->caller == NULL)
        (void)edge_conn_token_set(c, NULL); /* login/resume refused: forget it */
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
            edge_conn_close(c, ES_UNAUTHENTICATED, "session revoked",
                            LWS_CLOSE_STATUS_POLICY_VIOLATION);
        }
    }
    codec_free((ProtobufCMessage *)sr);
}

/* 1 if connection c may receive an event addressed to device dev (NULL:
 * not device-addressed, every connection of the patient may). */
static int s_conn_device(const edge_conn_t *c, const uint8_t *dev)
{
    if (dev == NULL)
        return 1;
    const Espace__V1__Caller *k = c->caller;
    return k && k->device_id.len == ID_BYTES && memcmp(k->device_id.data, dev, ID_BYTES) == 0;
}

/* An event "patient.<id>.<area>" goes to every connection of that patient;
 * "patient.<id>.device.<device>.<area>" only to those whose session is of
 * that device (a malformed device part is dropped). */
static void s_on_patient_event(edge_t *e, const char *topic, const Espace__V1__Event *ev)
{
    char pid[ID_HEX];
    if (topic_patient_id(topic, pid) != 0)
        return;
    edge_principal_t *pr = edge_principal_find(e, pid);
    if (pr == NULL)
        return;
    uint8_t dev[ID_BYTES];
    int drc = topic_device_id(topic, dev);
    if (drc != 0 && drc != ES_NOT_FOUND)
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
        if (s_conn_device(c, drc == 0 ? dev : NULL))
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
        if (strcmp(topic, TOPIC_SESSION_REVOKED) == 0)
            s_on_revoked(e, ev);
        else
            s_on_patient_event(e, topic, ev);
        codec_free((ProtobufCMessage *)ev);
    }
}

void edge_bridge_drain(edge_t *e, int which)
{
    e->need_drain &= ~which;
    if ((which & EDGE_H_BUS) && e->bus && bus_client_process(e->bus, s_on_reply, e) != 0)
        log_error(EDGE_COMP, "bus.recv_failed", "errno=%d", zmq_errno());
    if ((which & EDGE_H_SUB) && e->sub)
        s_drain_sub(e);
}

int edge_bridge_subscribe(edge_t *e, const char *prefix, int on)
{
    if (e->sub == NULL)
        return 0;
    e->need_drain |= EDGE_H_SUB;
    return on ? bus_subscribe(e->sub, prefix) : bus_unsubscribe(e->sub, prefix);
}

void edge_bridge_sweep(edge_t *e)
{
    if (e->bus)
        (void)bus_client_expire(e->bus, s_on_reply, e);
}

/* ---- sockets on the loop ---- */

static void s_poll_cb(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    edge_t *e = h->data;
    edge_bridge_drain(e, h == &e->bus_poll ? EDGE_H_BUS : EDGE_H_SUB);
}

static void s_prepare_cb(uv_prepare_t *h)
{
    edge_t *e = h->data;
    /* a drain may send (an answer that starts a request): twice at most */
    for (int i = 0; i < 2 && e->need_drain; i++)
        edge_bridge_drain(e, e->need_drain);
}

static int s_fd(void *sock)
{
    int fd = -1;
    size_t sz = sizeof(fd);
    if (zmq_getsockopt(sock, ZMQ_FD, &fd, &sz) != 0)
        return -1;
    return fd;
}

static int s_watch(edge_t *e, uv_poll_t *h, int fd, int bit)
{
    if (fd < 0 || uv_poll_init(&e->loop, h, fd) != 0)
        return ES_INTERNAL;
    e->handles |= bit;
    h->data = e;
    uv_poll_start(h, UV_READABLE, s_poll_cb);
    return 0;
}

int edge_bridge_open(edge_t *e)
{
    int rc;
    e->zctx = e->o.zctx ? e->o.zctx : zmq_ctx_new();
    if (e->zctx == NULL)
        return ES_INTERNAL;
    bus_conn_t conn = e->o.bus;
    if (conn.hwm == 0)
        conn.hwm = S_HWM;
    if ((rc = bus_client_new(e->zctx, &conn, &e->bus)) != 0)
        return rc;
    if (e->o.events.endpoint != NULL) {
        if ((rc = bus_sub_new(e->zctx, &e->o.events, &e->sub)) != 0)
            return rc;
        if ((rc = bus_subscribe(e->sub, TOPIC_SESSION_REVOKED)) != 0)
            return rc;
    }
    if ((rc = s_watch(e, &e->bus_poll, bus_client_fd(e->bus), EDGE_H_BUS)) != 0)
        return rc;
    if (e->sub &&
        (rc = s_watch(e, &e->sub_poll, s_fd(bus_sub_socket(e->sub)), EDGE_H_SUB)) != 0)
        return rc;
    if (uv_prepare_init(&e->loop, &e->prepare) != 0)
        return ES_INTERNAL;
    e->handles |= EDGE_H_PREPARE;
    e->prepare.data = e;
    uv_prepare_start(&e->prepare, s_prepare_cb);
    e->need_drain = EDGE_H_BUS | EDGE_H_SUB;
    return 0;
}

/* Stop watching (handles are closed by edge.c); sockets stay until
 * edge_bridge_close. */
void edge_bridge_close(edge_t *e)
{
    /* every connection was closed (and cancelled its requests) by now */
    size_t left = bus_client_inflight(e->bus);
    if (left > 0)
        log_warn(EDGE_COMP, "stop.requests_left", "count=%zu", left);
    bus_client_destroy(&e->bus);
    bus_sub_destroy(&e->sub);
    if (e->zctx && e->zctx != e->o.zctx)
        zmq_ctx_term(e->zctx);
    e->zctx = NULL;
}
