/*
 * agenda_mqtt.c - the mosquitto target of the agenda scenario
 * (agenda_int.h): the same pairs over MQTT 3.1.1 on websockets
 * (subprotocol "mqtt", mqtt.h).
 *
 * Each connection CONNECTs (clean session, client id "el-<pid>-<conn>"),
 * then SUBSCRIBEs to its own topic "el/<conn>" at --qos; it is ready at the
 * SUBACK. Write seq is a PUBLISH from the writer to the topic of the other
 * device of its pair, a `payload`-byte payload starting with the marker of
 * seq (wire.h); it is delivered when that PUBLISH reaches the other device.
 * At QoS 1 the publisher gets a PUBACK (the ack latency; sending stays open
 * loop: nothing waits for it) and the subscriber PUBACKs each delivery.
 * A PINGREQ goes to every connection each S_PING_S seconds (keepalive
 * S_KEEPALIVE_S).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clients/load/agenda_int.h"
#include "clients/load/mqtt.h"
#include "clients/load/wire.h"
#include "proto/status.h"

#define S_KEEPALIVE_S 60
#define S_PING_NS (INT64_C(20) * 1000000000)
#define S_SUB_ID 1
#define S_INFLIGHT 1024 /* PUBLISH ids remembered per connection (> NET_QUEUE_MSGS) */
#define S_TOPIC_MAX 32

typedef struct s_mconn {
    mqtt_stream_t in;
    uint16_t next_id;
    uint64_t inflight[S_INFLIGHT]; /* by packet id % S_INFLIGHT: seq + 1, 0 = free */
} s_mconn_t;

typedef struct s_mqtt {
    s_mconn_t *c;
    int64_t next_ping;
} s_mqtt_t;

/* What a packet handler needs. */
typedef struct s_ctx {
    agenda_t *a;
    unsigned conn;
    int64_t now;
} s_ctx_t;

static int s_init(agenda_t *a)
{
    s_mqtt_t *m = calloc(1, sizeof *m);
    if (!m || !(m->c = calloc(a->r->o.conns, sizeof *m->c))) {
        free(m);
        return ES_RESOURCE_EXHAUSTED;
    }
    a->ts = m;
    return 0;
}

static void s_fini(agenda_t *a)
{
    s_mqtt_t *m = a->ts;
    if (!m)
        return;
    for (unsigned i = 0; i < a->r->o.conns; i++)
        mqtt_stream_clear(&m->c[i].in);
    free(m->c);
    free(m);
    a->ts = NULL;
}

static void s_topic(unsigned conn, char out[S_TOPIC_MAX])
{
    snprintf(out, S_TOPIC_MAX, "el/%u", conn);
}

static void s_opened(agenda_t *a, unsigned conn)
{
    uint8_t b[128];
    size_t len = 0;
    char id[48];
    snprintf(id, sizeof id, "el-%ld-%u", (long)getpid(), conn);
    if (mqtt_connect(b, sizeof b, id, S_KEEPALIVE_S, &len) < 0 ||
        net_send(a->r->net, conn, b, len) < 0) {
        a->r->auth_failed++;
        agenda_ready(a, conn, 0);
    }
}

static void s_closed(agenda_t *a, unsigned conn)
{
    s_mqtt_t *m = a->ts;
    mqtt_stream_clear(&m->c[conn].in);
}

static void s_connack(agenda_t *a, unsigned conn, const mqtt_packet_t *p)
{
    uint8_t b[64];
    size_t len = 0;
    char topic[S_TOPIC_MAX];
    s_topic(conn, topic);
    if (p->return_code != 0 ||
        mqtt_subscribe(b, sizeof b, S_SUB_ID, topic, (unsigned)a->r->o.qos, &len) < 0 ||
        net_send(a->r->net, conn, b, len) < 0) {
        a->r->auth_failed++;
        agenda_ready(a, conn, 0);
    }
}

static void s_publish(agenda_t *a, unsigned conn, const mqtt_packet_t *p, int64_t now)
{
    uint64_t seq;
    if (wire_find_seq(p->payload, p->payload_len, &seq))
        agenda_delivered(a, conn, seq, now);
    else
        a->r->unmatched++;
    uint8_t b[8];
    size_t len = 0;
    if (p->qos == 1 && mqtt_puback(b, sizeof b, p->packet_id, &len) == 0 &&
        net_send(a->r->net, conn, b, len) < 0)
        a->r->errors[-ES_RESOURCE_EXHAUSTED]++; /* the PUBACK could not be queued */
}

static void s_packet(const mqtt_packet_t *p, void *user)
{
    s_ctx_t *x = user;
    agenda_t *a = x->a;
    s_mconn_t *c = &((s_mqtt_t *)a->ts)->c[x->conn];
    switch (p->type) {
    case MQTT_CONNACK:
        s_connack(a, x->conn, p);
        break;
    case MQTT_SUBACK: {
        int ok = p->packet_id == S_SUB_ID && p->payload[0] != 0x80;
        if (ok)
            a->r->auth_ok++;
        else
            a->r->auth_failed++;
        agenda_ready(a, x->conn, ok);
        break;
    }
    case MQTT_PUBLISH:
        s_publish(a, x->conn, p, x->now);
        break;
    case MQTT_PUBACK: {
        uint64_t *slot = &c->inflight[p->packet_id % S_INFLIGHT];
        if (*slot) {
            agenda_acked(a, *slot - 1, 0, x->now);
            *slot = 0;
        } else {
            a->r->unmatched++;
        }
        break;
    }
    case MQTT_PINGRESP:
        break;
    default:
        a->r->unmatched++;
        break;
    }
}

static void s_message(agenda_t *a, unsigned conn, const uint8_t *data, size_t len, int64_t now)
{
    s_mqtt_t *m = a->ts;
    s_ctx_t x = {a, conn, now};
    if (mqtt_stream_feed(&m->c[conn].in, data, len, s_packet, &x) < 0) {
        a->r->bad_messages++;
        net_close(a->r->net, conn);
    }
}

static int s_write(agenda_t *a, unsigned writer, uint64_t seq, uint8_t *buf, size_t cap,
                   size_t *len)
{
    s_mconn_t *c = &((s_mqtt_t *)a->ts)->c[writer];
    size_t n = a->r->o.payload;
    uint8_t payload[WIRE_MAX_PAYLOAD + 1];
    char mark[sizeof WIRE_MARK + 17];
    int ml = snprintf(mark, sizeof mark, WIRE_MARK "%016" PRIx64, seq);
    if (n < (size_t)ml)
        n = (size_t)ml; /* the marker always fits */
    if (n > WIRE_MAX_PAYLOAD)
        return ES_INVALID_ARGUMENT;
    memcpy(payload, mark, (size_t)ml);
    memset(payload + ml, 'x', n - (size_t)ml);
    char topic[S_TOPIC_MAX];
    s_topic(writer ^ 1u, topic);
    unsigned qos = (unsigned)a->r->o.qos;
    uint16_t id = 0;
    if (qos) {
        if (++c->next_id == 0)
            c->next_id = 1;
        id = c->next_id;
    }
    int rc = mqtt_publish(buf, cap, topic, qos, id, payload, n, len);
    if (rc == 0 && qos)
        c->inflight[id % S_INFLIGHT] = seq + 1;
    return rc;
}

static void s_tick(agenda_t *a, int64_t now)
{
    s_mqtt_t *m = a->ts;
    if (now < m->next_ping)
        return;
    if (m->next_ping) {
        uint8_t b[2];
        size_t len = 0;
        (void)mqtt_pingreq(b, sizeof b, &len);
        for (unsigned i = 0; i < a->r->o.conns; i++)
            if (a->ready[i] == 1 && net_is_open(a->r->net, i))
                (void)net_send(a->r->net, i, b, len);
    }
    m->next_ping = now + S_PING_NS;
}

const agenda_target_t agenda_target_mqtt = {
    .name = "mosquitto", .subprotocol = "mqtt", .init = s_init, .fini = s_fini,
    .opened = s_opened, .closed = s_closed, .message = s_message, .write = s_write,
    .tick = s_tick,
};
