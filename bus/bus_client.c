/*
 * bus_client.c - the client role of the bus library (bus.h): pipelined
 * requests over a DEALER, replies matched by id; live events (EVENT after
 * SUBSCRIBE) kept in a bounded ring until bus_client_recv_event. The raw
 * requests of gateways are in bus_raw.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bus/bus.h"
#include "bus/bus_client_int.h"
#include "bus/frames.h"
#include "espace/v1/identity.pb-c.h"
#include "proto/status.h"

void bus_reply_clear(bus_reply_t *r)
{
    if (r == NULL)
        return;
    free(r->body);
    memset(r, 0, sizeof(*r));
}

int bus_client_new(void *zctx, const bus_conn_t *conn, bus_client_t **out)
{
    int rc = ES_INTERNAL;
    if (zctx == NULL || conn == NULL || out == NULL)
        return ES_INVALID_ARGUMENT;
    *out = NULL;
    bus_client_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ES_RESOURCE_EXHAUSTED;
    c->next_id = 1;
    c->sock = zmq_socket(zctx, ZMQ_DEALER);
    if (c->sock == NULL)
        goto fail;
    int one = 1;
    if ((rc = bus_socket_setup(c->sock, conn)) != 0)
        goto fail;
    rc = ES_INTERNAL;
    if (zmq_setsockopt(c->sock, ZMQ_IMMEDIATE, &one, sizeof(one)) != 0)
        goto fail;
    int hwm = (int)conn->hwm;
    if (hwm > 0 && (zmq_setsockopt(c->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
                    zmq_setsockopt(c->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0))
        goto fail;
    if (zmq_connect(c->sock, conn->endpoint) != 0) {
        rc = ES_INVALID_ARGUMENT;
        goto fail;
    }
    *out = c;
    return 0;
fail:
    bus_client_destroy(&c);
    return rc;
}

void bus_client_destroy(bus_client_t **c)
{
    if (c == NULL || *c == NULL)
        return;
    if ((*c)->sock != NULL)
        zmq_close((*c)->sock);
    for (size_t i = 0; (*c)->events != NULL && i < (*c)->ev_len; i++)
        codec_free((ProtobufCMessage *)(*c)->events[((*c)->ev_head + i) % BUS_CLIENT_EVENTS].ev);
    free((*c)->events);
    for (size_t i = 0; i < (*c)->n_raw; i++)
        free((*c)->raw_heap[i]);
    free((*c)->raw_heap);
    free((*c)->raw_buckets);
    free(*c);
    *c = NULL;
}

int bus_client_wait(bus_client_t *c, int timeout_ms)
{
    if (c == NULL)
        return ES_INVALID_ARGUMENT;
    int64_t deadline = timeout_ms < 0 ? -1 : bus_mono_ms() + timeout_ms;
    for (;;) {
        zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLOUT, 0};
        long wait = -1;
        if (deadline >= 0) {
            wait = (long)(deadline - bus_mono_ms());
            if (wait < 0)
                wait = 0;
        }
        int n = zmq_poll(&it, 1, wait);
        if (n > 0 && (it.revents & ZMQ_POLLOUT))
            return 0;
        if (n < 0 && zmq_errno() != EINTR)
            return ES_INTERNAL;
        if (deadline >= 0 && bus_mono_ms() >= deadline)
            return ES_DEADLINE_EXCEEDED;
    }
}

/* Send frames. A blocking caller (wait = 1) waits briefly for the
 * connection on the very first message of a socket (ZMQ_IMMEDIATE refuses to
 * queue before it is up). */
static int s_send(bus_client_t *c, const frame_ref_t *f, size_t n, int wait)
{
    int rc = frames_send(c->sock, f, n);
    if (rc == ES_RESOURCE_EXHAUSTED && wait && !c->sent_once &&
        bus_client_wait(c, BUS_FIRST_SEND_WAIT) == 0)
        rc = frames_send(c->sock, f, n);
    if (rc == 0)
        c->sent_once = 1;
    return rc;
}

/* Send the client command cmd: Request{next id, method, timeout_ms, body
 * bytes}, with the service frame and the Caller frame (if any) for REQUEST.
 * *id (may be NULL) receives the id. */
int bus_client_send_bytes(bus_client_t *c, uint8_t cmd, const char *service, const char *method,
                        const uint8_t *body, size_t body_len, uint32_t timeout_ms,
                        const Espace__V1__Caller *caller, int wait, uint64_t *id)
{
    uint8_t *req_buf = NULL, *caller_buf = NULL;
    size_t req_len = 0, caller_len = 0;
    int rc;
    Espace__V1__Request req = ESPACE__V1__REQUEST__INIT;
    req.id = c->next_id;
    req.method = (char *)(method ? method : "");
    req.timeout_ms = timeout_ms;
    req.body.data = (uint8_t *)body;
    req.body.len = body_len;
    if ((rc = codec_pack(&req.base, &req_buf, &req_len)) != 0)
        goto done;
    if (caller != NULL && (rc = codec_pack(&caller->base, &caller_buf, &caller_len)) != 0)
        goto done;
    if (req_len > BUS_MAX_MSG || caller_len > BUS_MAX_MSG) {
        rc = ES_TOO_LARGE;
        goto done;
    }
    uint8_t cmdb = cmd;
    frame_ref_t f[5];
    size_t n = 0;
    f[n++] = (frame_ref_t){(const uint8_t *)BUS_CLIENT_PROTO, 4};
    f[n++] = (frame_ref_t){&cmdb, 1};
    if (cmd == BUS_C_REQUEST)
        f[n++] = (frame_ref_t){(const uint8_t *)service, strlen(service)};
    f[n++] = (frame_ref_t){req_buf, req_len};
    if (cmd == BUS_C_REQUEST && caller_buf != NULL)
        f[n++] = (frame_ref_t){caller_buf, caller_len};
    if ((rc = s_send(c, f, n, wait)) != 0)
        goto done;
    if (id != NULL)
        *id = c->next_id;
    c->next_id++;
done:
    free(req_buf);
    free(caller_buf);
    return rc;
}

static int s_send_request(bus_client_t *c, uint8_t cmd, const char *service, const char *method,
                          const ProtobufCMessage *body, uint32_t timeout_ms,
                          const Espace__V1__Caller *caller, uint64_t *id)
{
    uint8_t *body_buf = NULL;
    size_t body_len = 0;
    int rc = body != NULL ? codec_pack(body, &body_buf, &body_len) : 0;
    if (rc == 0)
        rc = bus_client_send_bytes(c, cmd, service, method, body_buf, body_len, timeout_ms, caller, 1, id);
    free(body_buf);
    return rc;
}

int bus_client_service_ok(const char *service)
{
    size_t sl = service != NULL ? strlen(service) : 0;
    return sl > 0 && sl <= BUS_MAX_SERVICE;
}

int bus_client_send(bus_client_t *c, const char *service, const char *method,
                    const ProtobufCMessage *body, uint32_t timeout_ms,
                    const Espace__V1__Caller *caller, uint64_t *id)
{
    if (c == NULL || !bus_client_service_ok(service) || method == NULL)
        return ES_INVALID_ARGUMENT;
    return s_send_request(c, BUS_C_REQUEST, service, method, body, timeout_ms, caller, id);
}

static void s_copy_str(char *dst, size_t cap, const char *src)
{
    if (src == NULL) {
        dst[0] = '\0';
        return;
    }
    snprintf(dst, cap, "%s", src);
}

/* EVENT: "EC01", 0x05, topic, Event. 1 if f is one (parsed or not). */
static int s_is_event(const frame_ref_t *f, size_t n)
{
    return n >= 2 && f[0].len == 4 && memcmp(f[0].data, BUS_CLIENT_PROTO, 4) == 0 &&
           f[1].len == 1 && f[1].data[0] == BUS_C_EVENT;
}

/* Queue an EVENT message: BUS_GOT_EVENT, or ES_INVALID_ARGUMENT (malformed,
 * dropped). A full ring drops the new event (counted). */
static int s_queue_event(bus_client_t *c, const frame_ref_t *f, size_t n)
{
    if (n != 4 || f[2].len == 0 || f[2].len > BUS_MAX_TOPIC || memchr(f[2].data, 0, f[2].len))
        return ES_INVALID_ARGUMENT;
    if (c->events == NULL && (c->events = calloc(BUS_CLIENT_EVENTS, sizeof(bus_event_slot_t))) == NULL)
        return ES_RESOURCE_EXHAUSTED;
    if (c->ev_len == BUS_CLIENT_EVENTS) {
        c->dropped++;
        return BUS_GOT_EVENT;
    }
    Espace__V1__Event *ev = NULL;
    if (codec_decode(&espace__v1__event__descriptor, f[3].data, f[3].len, BUS_MAX_MSG,
                     (ProtobufCMessage **)&ev, NULL) != 0)
        return ES_INVALID_ARGUMENT;
    bus_event_slot_t *slot = &c->events[(c->ev_head + c->ev_len) % BUS_CLIENT_EVENTS];
    memcpy(slot->topic, f[2].data, f[2].len);
    slot->topic[f[2].len] = '\0';
    slot->ev = ev;
    c->ev_len++;
    return BUS_GOT_EVENT;
}

/* Receive one message: a reply (0, *rep decoded, free with codec_free) or
 * an event (BUS_GOT_EVENT, queued); ES_NOT_FOUND if nothing waiting,
 * ES_INVALID_ARGUMENT if it was malformed (dropped). */
int bus_client_recv_reply(bus_client_t *c, Espace__V1__Reply **rep)
{
    zmq_msg_t msgs[FRAMES_MAX];
    size_t n = 0;
    *rep = NULL;
    int rc = frames_recv(c->sock, msgs, FRAMES_MAX, &n, ZMQ_DONTWAIT);
    if (rc != 0)
        return rc;
    frame_ref_t f[FRAMES_MAX];
    for (size_t i = 0; i < n; i++)
        f[i] = (frame_ref_t){zmq_msg_data(&msgs[i]), zmq_msg_size(&msgs[i])};
    frames_msg_t m;
    if (s_is_event(f, n)) {
        rc = s_queue_event(c, f, n);
    } else if (frames_parse(f, n, &m) != 0 || m.kind != FRAMES_C_REPLY ||
               codec_decode(&espace__v1__reply__descriptor, m.body.data, m.body.len,
                            BUS_MAX_MSG, (ProtobufCMessage **)rep, NULL) != 0) {
        rc = ES_INVALID_ARGUMENT;
    }
    frames_close(msgs, n);
    return rc;
}

int bus_client_reply_status(const Espace__V1__Reply *rep)
{
    return rep->status != NULL ? es_from_code((int)rep->status->code) : 0;
}

/* Receive one message: a reply (0, copied into out) or as bus_client_recv_reply. */
static int s_recv_one(bus_client_t *c, bus_reply_t *out)
{
    Espace__V1__Reply *rep = NULL;
    int rc = bus_client_recv_reply(c, &rep);
    if (rc != 0)
        return rc;
    memset(out, 0, sizeof(*out));
    out->id = rep->id;
    out->status = bus_client_reply_status(rep);
    if (rep->status != NULL) {
        s_copy_str(out->message, sizeof(out->message), rep->status->message);
        s_copy_str(out->field, sizeof(out->field), rep->status->field);
    }
    if (rep->body.len > 0) {
        out->body = malloc(rep->body.len);
        if (out->body == NULL) {
            rc = ES_RESOURCE_EXHAUSTED;
            goto done;
        }
        memcpy(out->body, rep->body.data, rep->body.len);
        out->body_len = rep->body.len;
    }
done:
    codec_free((ProtobufCMessage *)rep);
    return rc;
}

int bus_client_recv(bus_client_t *c, int timeout_ms, bus_reply_t *out)
{
    if (c == NULL || out == NULL)
        return ES_INVALID_ARGUMENT;
    int64_t deadline = timeout_ms < 0 ? -1 : bus_mono_ms() + timeout_ms;
    for (;;) {
        bus_reply_t tmp;
        int rc = s_recv_one(c, &tmp);
        if (rc == 0) {
            *out = tmp;
            return 0;
        }
        if (rc == ES_INVALID_ARGUMENT || rc == BUS_GOT_EVENT)
            continue; /* malformed: dropped; an event: kept */
        if (rc != ES_NOT_FOUND)
            return rc;
        if ((rc = frames_wait(c->sock, deadline)) != 0)
            return rc;
    }
}

static int s_pop_event(bus_client_t *c, char topic[BUS_MAX_TOPIC + 1], Espace__V1__Event **event)
{
    bus_event_slot_t *slot = &c->events[c->ev_head];
    memcpy(topic, slot->topic, BUS_MAX_TOPIC + 1);
    *event = slot->ev;
    slot->ev = NULL;
    c->ev_head = (c->ev_head + 1) % BUS_CLIENT_EVENTS;
    c->ev_len--;
    return 0;
}

int bus_client_recv_event(bus_client_t *c, int timeout_ms, char topic[BUS_MAX_TOPIC + 1],
                          Espace__V1__Event **event)
{
    if (c == NULL || topic == NULL || event == NULL)
        return ES_INVALID_ARGUMENT;
    *event = NULL;
    int64_t deadline = timeout_ms < 0 ? -1 : bus_mono_ms() + timeout_ms;
    for (;;) {
        if (c->ev_len > 0)
            return s_pop_event(c, topic, event);
        bus_reply_t tmp;
        int rc = s_recv_one(c, &tmp);
        if (rc == 0) { /* a reply nobody waits for here */
            bus_reply_clear(&tmp);
            c->dropped++;
            continue;
        }
        if (rc == ES_INVALID_ARGUMENT || rc == BUS_GOT_EVENT)
            continue;
        if (rc != ES_NOT_FOUND)
            return rc;
        if ((rc = frames_wait(c->sock, deadline)) != 0)
            return rc;
    }
}

uint64_t bus_client_dropped(const bus_client_t *c)
{
    return c ? c->dropped : 0;
}

/* Wait for the reply with this id until the local deadline; others dropped. */
static int s_wait_id(bus_client_t *c, uint64_t id, int64_t deadline, bus_reply_t *out)
{
    for (;;) {
        long wait = (long)(deadline - bus_mono_ms());
        if (wait < 0)
            wait = 0;
        int rc = bus_client_recv(c, (int)wait, out);
        if (rc != 0)
            return rc;
        if (out->id == id)
            return 0;
        bus_reply_clear(out);
    }
}

int64_t bus_client_local_deadline(uint32_t timeout_ms)
{
    uint32_t t = timeout_ms == 0 ? BUS_DEFAULT_TIMEOUT_MS : timeout_ms;
    if (t > BUS_MAX_TIMEOUT_MS)
        t = BUS_MAX_TIMEOUT_MS;
    return bus_mono_ms() + t + BUS_CALL_MARGIN_MS;
}

/* Common tail of bus_call / bus_client_auth. */
static int s_finish(bus_reply_t *rep, const ProtobufCMessageDescriptor *desc,
                    ProtobufCMessage **reply, bus_reply_t *r)
{
    int rc = rep->status;
    if (rc == 0 && reply != NULL && desc != NULL) {
        rc = codec_decode(desc, rep->body, rep->body_len, BUS_MAX_MSG, reply, NULL);
        if (rc != 0)
            rc = ES_INTERNAL;
    }
    if (r != NULL) {
        *r = *rep;
        r->body = NULL;
        r->body_len = 0;
    }
    bus_reply_clear(rep);
    return rc;
}

/* Send request cmd (to service, or to the broker when service is NULL) once
 * connected, within timeout_ms, and wait for its answer in *rep. A service
 * name is checked after the wait, as bus_client_send does. */
static int s_request(bus_client_t *c, uint8_t cmd, const char *service, const char *method,
                     const ProtobufCMessage *body, uint32_t timeout_ms,
                     const Espace__V1__Caller *caller, bus_reply_t *rep)
{
    int64_t deadline = bus_client_local_deadline(timeout_ms);
    if (bus_client_wait(c, (int)(deadline - bus_mono_ms())) != 0)
        return ES_DEADLINE_EXCEEDED;
    if (service != NULL && !bus_client_service_ok(service))
        return ES_INVALID_ARGUMENT;
    uint64_t id = 0;
    int rc = s_send_request(c, cmd, service, method, body, timeout_ms, caller, &id);
    if (rc != 0)
        return rc == ES_RESOURCE_EXHAUSTED ? ES_UNAVAILABLE : rc;
    return s_wait_id(c, id, deadline, rep);
}

int bus_call(bus_client_t *c, const char *service, const char *method,
             const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_desc,
             uint32_t timeout_ms, const Espace__V1__Caller *caller, ProtobufCMessage **reply,
             bus_reply_t *r)
{
    if (reply != NULL)
        *reply = NULL;
    if (r != NULL)
        memset(r, 0, sizeof(*r));
    if (c == NULL || service == NULL || method == NULL)
        return ES_INVALID_ARGUMENT;
    bus_reply_t rep;
    int rc = s_request(c, BUS_C_REQUEST, service, method, req, timeout_ms, caller, &rep);
    if (rc != 0)
        return rc;
    return s_finish(&rep, reply_desc, reply, r);
}

int bus_client_auth(bus_client_t *c, const char *token, uint32_t timeout_ms,
                    Espace__V1__Caller **caller, bus_reply_t *r)
{
    if (caller != NULL)
        *caller = NULL;
    if (r != NULL)
        memset(r, 0, sizeof(*r));
    if (c == NULL || token == NULL)
        return ES_INVALID_ARGUMENT;
    Espace__V1__AuthenticateRequest areq = ESPACE__V1__AUTHENTICATE_REQUEST__INIT;
    areq.token = (char *)token;
    bus_reply_t rep;
    int rc = s_request(c, BUS_C_AUTH, NULL, BUS_SESSION_METHOD, &areq.base, timeout_ms, NULL, &rep);
    if (rc != 0)
        return rc;
    Espace__V1__AuthenticateReply *arep = NULL;
    rc = s_finish(&rep, &espace__v1__authenticate_reply__descriptor, (ProtobufCMessage **)&arep,
                  r);
    if (rc != 0)
        return rc;
    if (caller != NULL && arep->caller != NULL) {
        uint8_t *buf = NULL;
        size_t len = 0;
        rc = codec_pack(&arep->caller->base, &buf, &len);
        if (rc == 0)
            rc = codec_decode(&espace__v1__caller__descriptor, buf, len, BUS_MAX_MSG,
                              (ProtobufCMessage **)caller, NULL);
        free(buf);
    }
    codec_free((ProtobufCMessage *)arep);
    return rc;
}

int bus_client_subscribe(bus_client_t *c, const char *prefix, uint32_t timeout_ms,
                         bus_reply_t *r)
{
    if (r != NULL)
        memset(r, 0, sizeof(*r));
    if (c == NULL || prefix == NULL)
        return ES_INVALID_ARGUMENT;
    Espace__V1__SubscribeRequest sreq = ESPACE__V1__SUBSCRIBE_REQUEST__INIT;
    sreq.prefix = (char *)prefix;
    bus_reply_t rep;
    int rc = s_request(c, BUS_C_SUBSCRIBE, NULL, BUS_SUBSCRIBE_METHOD, &sreq.base, timeout_ms,
                   NULL, &rep);
    if (rc != 0)
        return rc;
    return s_finish(&rep, NULL, NULL, r);
}

int bus_client_fd(bus_client_t *c)
{
    if (c == NULL)
        return -1;
    int fd = -1;
    size_t len = sizeof(fd);
    if (zmq_getsockopt(c->sock, ZMQ_FD, &fd, &len) != 0)
        return -1;
    return fd;
}
