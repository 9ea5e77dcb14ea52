/*
 * bus_worker.c - the worker role of the bus library (bus.h): READY,
 * heartbeats both ways, reconnection on a fresh socket when the broker goes
 * silent or says DISCONNECT.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bus/bus.h"
#include "bus/frames.h"
#include "process/log.h"
#include "proto/status.h"

struct bus_worker {
    void *zctx;                       /* borrowed context */
    char endpoint[512];               /* copy of conn->endpoint */
    char server_key[BUS_KEY_Z85];     /* copy of conn->server_key ("" = none) */
    uint8_t public_key[32];           /* copy of conn->public_key */
    uint8_t secret_key[32];           /* copy of conn->secret_key (wiped on destroy) */
    int has_keys;                     /* keys were given */
    char service[BUS_MAX_SERVICE + 1];
    uint32_t capacity;
    unsigned heartbeat_ms;
    void *sock;                       /* DEALER, replaced on reconnect */
    int64_t heartbeat_at;             /* next HEARTBEAT to send (mono ms) */
    int64_t broker_expiry;            /* broker dead if silent past this (mono ms) */
    uint64_t reconnects;              /* how many times it reconnected */
    int64_t connected_at;             /* last socket opened (mono ms) */
    int64_t ready_at;                 /* READY postponed to then (0 = sent) */
    int registered;                   /* the broker spoke since our last READY */
};

static void s_conn(const bus_worker_t *w, bus_conn_t *conn)
{
    memset(conn, 0, sizeof(*conn));
    conn->endpoint = w->endpoint;
    conn->server_key = w->server_key[0] ? w->server_key : NULL;
    conn->public_key = w->has_keys ? w->public_key : NULL;
    conn->secret_key = w->has_keys ? w->secret_key : NULL;
    conn->heartbeat_ms = w->heartbeat_ms;
}

static int s_send_cmd(bus_worker_t *w, uint8_t cmd, const uint8_t *body, size_t len)
{
    frame_ref_t f[3] = {{(const uint8_t *)BUS_WORKER_PROTO, 4}, {&cmd, 1}, {body, len}};
    return frames_send(w->sock, f, body != NULL ? 3 : 2);
}

static int s_send_ready(bus_worker_t *w)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    Espace__V1__WorkerReady ready = ESPACE__V1__WORKER_READY__INIT;
    ready.service = w->service;
    ready.capacity = w->capacity;
    int rc = codec_pack(&ready.base, &buf, &len);
    if (rc == 0)
        rc = s_send_cmd(w, BUS_W_READY, buf, len);
    free(buf);
    w->ready_at = 0;
    w->registered = 0;
    return rc;
}

/* Open a new socket and send READY; when the previous socket was opened
 * less than a heartbeat ago (a broker answering DISCONNECT to each READY),
 * READY waits for bus_worker_tick, so refusals cannot spin. */
static int s_connect(bus_worker_t *w)
{
    int rc = ES_INTERNAL;
    bus_conn_t conn;
    s_conn(w, &conn);
    w->sock = zmq_socket(w->zctx, ZMQ_DEALER);
    if (w->sock == NULL)
        return ES_INTERNAL;
    if ((rc = bus_socket_setup(w->sock, &conn)) != 0)
        goto fail;
    if (zmq_connect(w->sock, w->endpoint) != 0) {
        rc = ES_INVALID_ARGUMENT;
        goto fail;
    }
    int64_t now = bus_mono_ms();
    if (w->connected_at != 0 && now - w->connected_at < (int64_t)w->heartbeat_ms) {
        w->ready_at = w->connected_at + w->heartbeat_ms;
    } else if ((rc = s_send_ready(w)) != 0) {
        goto fail;
    }
    w->connected_at = now;
    w->heartbeat_at = now + w->heartbeat_ms;
    w->broker_expiry = now + (int64_t)w->heartbeat_ms * (BUS_LIVENESS + 1);
    return 0;
fail:
    zmq_close(w->sock);
    w->sock = NULL;
    return rc;
}

static int s_reconnect(bus_worker_t *w)
{
    if (w->sock != NULL) {
        zmq_close(w->sock);
        w->sock = NULL;
    }
    w->reconnects++;
    log_info("bus", "worker.reconnect", "service=%s", w->service);
    return s_connect(w);
}

int bus_worker_new(void *zctx, const bus_conn_t *conn, const char *service, uint32_t capacity,
                   bus_worker_t **out)
{
    if (out != NULL)
        *out = NULL;
    if (zctx == NULL || conn == NULL || conn->endpoint == NULL || service == NULL ||
        out == NULL)
        return ES_INVALID_ARGUMENT;
    frame_ref_t sv = {(const uint8_t *)service, strlen(service)};
    if (!frames_service_valid(sv) || strlen(conn->endpoint) >= 512)
        return ES_INVALID_ARGUMENT;
    if (conn->server_key != NULL && strlen(conn->server_key) != BUS_KEY_Z85 - 1)
        return ES_INVALID_ARGUMENT;
    bus_worker_t *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return ES_RESOURCE_EXHAUSTED;
    w->zctx = zctx;
    strcpy(w->endpoint, conn->endpoint);
    if (conn->server_key != NULL)
        memcpy(w->server_key, conn->server_key, BUS_KEY_Z85);
    if (conn->public_key != NULL && conn->secret_key != NULL) {
        memcpy(w->public_key, conn->public_key, 32);
        memcpy(w->secret_key, conn->secret_key, 32);
        w->has_keys = 1;
    }
    memcpy(w->service, service, sv.len + 1);
    w->capacity = capacity == 0 ? 1 : capacity;
    w->heartbeat_ms = conn->heartbeat_ms ? conn->heartbeat_ms : BUS_HEARTBEAT_MS;
    int rc = s_connect(w);
    if (rc != 0) {
        bus_worker_destroy(&w);
        return rc;
    }
    *out = w;
    return 0;
}

void bus_worker_destroy(bus_worker_t **w)
{
    if (w == NULL || *w == NULL)
        return;
    bus_worker_t *p = *w;
    if (p->sock != NULL) {
        s_send_cmd(p, BUS_W_DISCONNECT, NULL, 0);
        zmq_close(p->sock);
    }
    sodium_memzero(p->secret_key, sizeof(p->secret_key));
    free(p);
    *w = NULL;
}

void *bus_worker_socket(bus_worker_t *w)
{
    return w ? w->sock : NULL;
}

void bus_request_release(bus_request_t *r)
{
    if (r == NULL)
        return;
    codec_free((ProtobufCMessage *)r->caller);
    codec_free((ProtobufCMessage *)r->req);
    memset(r, 0, sizeof(*r));
}

/* Handle one message. 0 = a request filled, ES_NOT_FOUND = nothing waiting,
 * 1 = handled (heartbeat, malformed...): try again. */
static int s_recv_one(bus_worker_t *w, bus_request_t *out)
{
    zmq_msg_t msgs[FRAMES_MAX];
    size_t n = 0;
    int rc = frames_recv(w->sock, msgs, FRAMES_MAX, &n, ZMQ_DONTWAIT);
    if (rc == ES_NOT_FOUND)
        return ES_NOT_FOUND;
    if (rc == ES_INVALID_ARGUMENT)
        return 1;
    if (rc != 0)
        return rc;
    w->broker_expiry = bus_mono_ms() + (int64_t)w->heartbeat_ms * BUS_LIVENESS;
    if (w->ready_at == 0)
        w->registered = 1;
    frame_ref_t f[FRAMES_MAX];
    for (size_t i = 0; i < n; i++)
        f[i] = (frame_ref_t){zmq_msg_data(&msgs[i]), zmq_msg_size(&msgs[i])};
    frames_msg_t m;
    rc = 1;
    if (frames_parse(f, n, &m) != 0)
        goto done;
    if (m.kind == FRAMES_W_DISCONNECT) {
        frames_close(msgs, n);
        n = 0;
        int r2 = s_reconnect(w);
        return r2 != 0 ? r2 : 1;
    }
    if (m.kind != FRAMES_W_REQUEST)
        goto done; /* heartbeat or unexpected: liveness only */
    memset(out, 0, sizeof(*out));
    if (codec_decode(&espace__v1__caller__descriptor, m.caller.data, m.caller.len, BUS_MAX_MSG,
                     (ProtobufCMessage **)&out->caller, NULL) != 0 ||
        codec_decode(&espace__v1__request__descriptor, m.body.data, m.body.len, BUS_MAX_MSG,
                     (ProtobufCMessage **)&out->req, NULL) != 0) {
        bus_request_release(out);
        goto done;
    }
    memcpy(out->client, m.route.data, m.route.len);
    out->client_len = m.route.len;
    memcpy(out->ticket, m.ticket.data, FRAMES_TICKET);
    rc = 0;
done:
    frames_close(msgs, n);
    return rc;
}

int bus_worker_recv(bus_worker_t *w, bus_request_t *out)
{
    if (w == NULL || out == NULL)
        return ES_INVALID_ARGUMENT;
    for (int i = 0; i < 1000; i++) {
        if (w->sock == NULL && s_connect(w) != 0)
            return ES_UNAVAILABLE;
        int rc = s_recv_one(w, out);
        if (rc <= 0)
            return rc;
    }
    return ES_NOT_FOUND; /* a flood of non-requests: let the caller breathe */
}

int bus_worker_reply(bus_worker_t *w, const bus_request_t *req, int status, const char *message,
                     const char *field, const uint8_t *body, size_t body_len)
{
    if (w == NULL || req == NULL || req->req == NULL || req->client_len == 0 ||
        req->client_len > FRAMES_MAX_ROUTE || (body == NULL && body_len != 0))
        return ES_INVALID_ARGUMENT;
    if (w->sock == NULL)
        return ES_UNAVAILABLE;
    Espace__V1__Status st = ESPACE__V1__STATUS__INIT;
    st.code = (Espace__V1__Code)es_to_code(status);
    st.message = (char *)(message ? message : "");
    st.field = (char *)(field ? field : "");
    Espace__V1__Reply rep = ESPACE__V1__REPLY__INIT;
    rep.id = req->req->id;
    rep.status = &st;
    if (status == 0 && body_len > 0) {
        rep.body.data = (uint8_t *)body;
        rep.body.len = body_len;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = codec_pack(&rep.base, &buf, &len);
    if (rc != 0)
        return rc;
    if (len > BUS_MAX_MSG) {
        free(buf);
        return ES_TOO_LARGE;
    }
    uint8_t cmd = BUS_W_REPLY;
    frame_ref_t f[5] = {{(const uint8_t *)BUS_WORKER_PROTO, 4},
                        {&cmd, 1},
                        {req->client, req->client_len},
                        {req->ticket, FRAMES_TICKET},
                        {buf, len}};
    rc = frames_send(w->sock, f, 5);
    free(buf);
    return rc;
}

int bus_worker_heartbeat(bus_worker_t *w)
{
    if (w == NULL || w->sock == NULL || w->ready_at != 0)
        return 0; /* not registered: READY comes first (bus_worker_tick) */
    int64_t now = bus_mono_ms();
    if (now < w->heartbeat_at)
        return 0;
    w->heartbeat_at = now + w->heartbeat_ms;
    return s_send_cmd(w, BUS_W_HEARTBEAT, NULL, 0);
}

int bus_worker_tick(bus_worker_t *w)
{
    if (w == NULL)
        return BUS_HEARTBEAT_MS;
    int64_t now = bus_mono_ms();
    /* Silence is judged on what was read: with messages waiting unread the
     * broker is alive, the caller just has not read them yet. */
    int events = 0;
    size_t elen = sizeof events;
    if (w->sock != NULL && now >= w->broker_expiry &&
        zmq_getsockopt(w->sock, ZMQ_EVENTS, &events, &elen) == 0 && (events & ZMQ_POLLIN)) {
        bus_worker_heartbeat(w); /* alive, only behind in its reading */
        return 0;
    }
    if (w->sock == NULL || now >= w->broker_expiry) {
        if (s_reconnect(w) != 0)
            return (int)w->heartbeat_ms;
        now = bus_mono_ms();
    }
    if (w->ready_at != 0) {
        if (now < w->ready_at) {
            int64_t wait = w->ready_at - now;
            return (int)wait;
        }
        s_send_ready(w);
        w->broker_expiry = now + (int64_t)w->heartbeat_ms * BUS_LIVENESS;
        w->heartbeat_at = now + w->heartbeat_ms;
    }
    if (now >= w->heartbeat_at) {
        s_send_cmd(w, BUS_W_HEARTBEAT, NULL, 0);
        w->heartbeat_at = now + w->heartbeat_ms;
    }
    int64_t next = w->heartbeat_at < w->broker_expiry ? w->heartbeat_at : w->broker_expiry;
    int64_t wait = next - now;
    if (wait < 0)
        wait = 0;
    return (int)wait;
}

int bus_worker_registered(const bus_worker_t *w)
{
    return w != NULL && w->sock != NULL && w->ready_at == 0 && w->registered;
}
