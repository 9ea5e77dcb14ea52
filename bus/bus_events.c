/*
 * bus_events.c - event publisher (PUB) and subscriber (SUB) of the bus
 * library (bus.h): frame 1 = topic, frame 2 = espace.v1.Event.
 */
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bus/bus.h"
#include "bus/frames.h"
#include "proto/status.h"

struct bus_pub {
    void *sock; /* PUB to the broker's XSUB */
};

struct bus_sub {
    void *sock; /* SUB to the broker's XPUB */
};

/* Open a PUB or SUB socket. Events flow PUB -> broker -> SUB with a
 * bounded mark (BUS_EVENT_HWM); subscriptions flow back with none, since
 * libzmq drops a subscription silently at the mark and the subscriber then
 * never hears of its topic. */
static void *s_open(void *zctx, const bus_conn_t *conn, int type, int *rc)
{
    void *sock = zmq_socket(zctx, type);
    if (sock == NULL) {
        *rc = ES_INTERNAL;
        return NULL;
    }
    int events = BUS_EVENT_HWM, unbounded = 0;
    int out = type == ZMQ_PUB ? events : unbounded, in = type == ZMQ_PUB ? unbounded : events;
    if (zmq_setsockopt(sock, ZMQ_SNDHWM, &out, sizeof(out)) != 0 ||
        zmq_setsockopt(sock, ZMQ_RCVHWM, &in, sizeof(in)) != 0) {
        *rc = ES_INTERNAL;
        goto fail;
    }
    if ((*rc = bus_socket_setup(sock, conn)) != 0)
        goto fail;
    if (zmq_connect(sock, conn->endpoint) != 0) {
        *rc = ES_INVALID_ARGUMENT;
        goto fail;
    }
    *rc = 0;
    return sock;
fail:
    zmq_close(sock);
    return NULL;
}

int bus_pub_new(void *zctx, const bus_conn_t *conn, bus_pub_t **out)
{
    if (out != NULL)
        *out = NULL;
    if (zctx == NULL || conn == NULL || out == NULL)
        return ES_INVALID_ARGUMENT;
    bus_pub_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return ES_RESOURCE_EXHAUSTED;
    int rc;
    p->sock = s_open(zctx, conn, ZMQ_PUB, &rc);
    if (p->sock == NULL) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void bus_pub_destroy(bus_pub_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    if ((*p)->sock != NULL)
        zmq_close((*p)->sock);
    free(*p);
    *p = NULL;
}

int bus_pub_pump(bus_pub_t *p)
{
    if (p == NULL)
        return ES_INVALID_ARGUMENT;
    int ev = 0;
    size_t len = sizeof(ev);
    return zmq_getsockopt(p->sock, ZMQ_EVENTS, &ev, &len) == 0 ? 0 : ES_INTERNAL;
}

int bus_publish(bus_pub_t *p, const char *topic, const ProtobufCMessage *body)
{
    if (p == NULL || topic == NULL)
        return ES_INVALID_ARGUMENT;
    size_t tl = strlen(topic);
    if (tl == 0 || tl > BUS_MAX_TOPIC || !codec_utf8_valid(topic, tl))
        return ES_INVALID_ARGUMENT;
    uint8_t *body_buf = NULL, *ev_buf = NULL;
    size_t body_len = 0, ev_len = 0;
    int rc = 0;
    if (body != NULL && (rc = codec_pack(body, &body_buf, &body_len)) != 0)
        return rc;
    Espace__V1__Event ev = ESPACE__V1__EVENT__INIT;
    ev.topic = (char *)topic;
    ev.at_ms = bus_wall_ms();
    ev.body.data = body_buf;
    ev.body.len = body_len;
    if ((rc = codec_pack(&ev.base, &ev_buf, &ev_len)) != 0)
        goto done;
    if (ev_len > BUS_MAX_MSG) {
        rc = ES_TOO_LARGE;
        goto done;
    }
    frame_ref_t f[2] = {{(const uint8_t *)topic, tl}, {ev_buf, ev_len}};
    rc = frames_send(p->sock, f, 2);
done:
    free(body_buf);
    free(ev_buf);
    return rc;
}

int bus_sub_new(void *zctx, const bus_conn_t *conn, bus_sub_t **out)
{
    if (out != NULL)
        *out = NULL;
    if (zctx == NULL || conn == NULL || out == NULL)
        return ES_INVALID_ARGUMENT;
    bus_sub_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return ES_RESOURCE_EXHAUSTED;
    int rc;
    s->sock = s_open(zctx, conn, ZMQ_SUB, &rc);
    if (s->sock == NULL) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void bus_sub_destroy(bus_sub_t **s)
{
    if (s == NULL || *s == NULL)
        return;
    if ((*s)->sock != NULL)
        zmq_close((*s)->sock);
    free(*s);
    *s = NULL;
}

/* ZMQ_SUBSCRIBE or ZMQ_UNSUBSCRIBE `prefix` on s. */
static int s_subscription(bus_sub_t *s, int option, const char *prefix)
{
    if (s == NULL || prefix == NULL || strlen(prefix) > BUS_MAX_TOPIC)
        return ES_INVALID_ARGUMENT;
    if (zmq_setsockopt(s->sock, option, prefix, strlen(prefix)) != 0)
        return ES_INTERNAL;
    return 0;
}

int bus_subscribe(bus_sub_t *s, const char *prefix)
{
    return s_subscription(s, ZMQ_SUBSCRIBE, prefix);
}

int bus_unsubscribe(bus_sub_t *s, const char *prefix)
{
    return s_subscription(s, ZMQ_UNSUBSCRIBE, prefix);
}

/* One event, or ES_NOT_FOUND when none waiting, ES_INVALID_ARGUMENT when
 * malformed (dropped). */
static int s_recv_one(bus_sub_t *s, char topic[BUS_MAX_TOPIC + 1], Espace__V1__Event **event)
{
    zmq_msg_t msgs[2];
    size_t n = 0;
    int rc = frames_recv(s->sock, msgs, 2, &n, ZMQ_DONTWAIT);
    if (rc != 0)
        return rc;
    rc = ES_INVALID_ARGUMENT;
    if (n != 2)
        goto done;
    size_t tl = zmq_msg_size(&msgs[0]);
    if (tl == 0 || tl > BUS_MAX_TOPIC || !codec_utf8_valid(zmq_msg_data(&msgs[0]), tl))
        goto done;
    Espace__V1__Event *ev = NULL;
    if (codec_decode(&espace__v1__event__descriptor, zmq_msg_data(&msgs[1]),
                     zmq_msg_size(&msgs[1]), BUS_MAX_MSG, (ProtobufCMessage **)&ev, NULL) != 0)
        goto done;
    memcpy(topic, zmq_msg_data(&msgs[0]), tl);
    topic[tl] = '\0';
    *event = ev;
    rc = 0;
done:
    frames_close(msgs, n);
    return rc;
}

int bus_sub_recv(bus_sub_t *s, int timeout_ms, char topic[BUS_MAX_TOPIC + 1],
                 Espace__V1__Event **event)
{
    if (s == NULL || topic == NULL || event == NULL)
        return ES_INVALID_ARGUMENT;
    *event = NULL;
    int64_t deadline = timeout_ms < 0 ? -1 : bus_mono_ms() + timeout_ms;
    for (;;) {
        int rc = s_recv_one(s, topic, event);
        if (rc == 0)
            return 0;
        if (rc == ES_INVALID_ARGUMENT)
            continue;
        if (rc != ES_NOT_FOUND)
            return rc;
        if ((rc = frames_wait(s->sock, deadline)) != 0)
            return rc;
    }
}

void *bus_sub_socket(bus_sub_t *s)
{
    return s ? s->sock : NULL;
}
