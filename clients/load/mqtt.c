/* mqtt.c - MQTT 3.1.1 packets for espace-load (mqtt.h). */
#include "clients/load/mqtt.h"

#include <stdlib.h>
#include <string.h>

#include "proto/status.h"

#define S_MAX_REMAINING 268435455u /* four bytes of remaining length */

/* A packet being written: bytes go to out while they fit; `full` remembers
 * that one did not. */
typedef struct s_out {
    uint8_t *p;
    size_t cap, len;
    int full;
} s_out_t;

static void s_byte(s_out_t *o, uint8_t b)
{
    if (o->len < o->cap)
        o->p[o->len] = b;
    else
        o->full = 1;
    o->len++;
}

static void s_u16(s_out_t *o, uint16_t v)
{
    s_byte(o, (uint8_t)(v >> 8));
    s_byte(o, (uint8_t)v);
}

static void s_bytes(s_out_t *o, const uint8_t *b, size_t n)
{
    if (o->full || n > o->cap - o->len) {
        o->full = 1;
        o->len += n;
        return;
    }
    if (n)
        memcpy(o->p + o->len, b, n);
    o->len += n;
}

static void s_str(s_out_t *o, const char *s, size_t n)
{
    s_u16(o, (uint16_t)n);
    s_bytes(o, (const uint8_t *)s, n);
}

/* Size of the remaining-length field for rem. */
static size_t s_varint_size(size_t rem)
{
    return rem < 128 ? 1 : rem < 16384 ? 2 : rem < 2097152 ? 3 : 4;
}

/* Fixed header: first byte and remaining length. */
static int s_header(s_out_t *o, uint8_t first, size_t rem)
{
    if (rem > S_MAX_REMAINING || 1 + s_varint_size(rem) + rem > MQTT_MAX_PACKET)
        return ES_INVALID_ARGUMENT;
    s_byte(o, first);
    do {
        uint8_t b = rem % 128;
        rem /= 128;
        s_byte(o, (uint8_t)(rem ? b | 128 : b));
    } while (rem);
    return 0;
}

static int s_done(const s_out_t *o, size_t *len)
{
    if (o->full)
        return ES_RESOURCE_EXHAUSTED;
    *len = o->len;
    return 0;
}

int mqtt_connect(uint8_t *out, size_t cap, const char *client_id, uint16_t keepalive_s,
                 size_t *len)
{
    size_t idl = client_id ? strlen(client_id) : 0;
    if (idl > 65535)
        return ES_INVALID_ARGUMENT;
    s_out_t o = {out, cap, 0, 0};
    int rc = s_header(&o, MQTT_CONNECT << 4, 10 + 2 + idl);
    if (rc < 0)
        return rc;
    s_str(&o, "MQTT", 4);
    s_byte(&o, 4);    /* protocol level: 3.1.1 */
    s_byte(&o, 0x02); /* clean session */
    s_u16(&o, keepalive_s);
    s_str(&o, client_id ? client_id : "", idl);
    return s_done(&o, len);
}

int mqtt_subscribe(uint8_t *out, size_t cap, uint16_t packet_id, const char *filter,
                   unsigned qos, size_t *len)
{
    size_t fl = filter ? strlen(filter) : 0;
    if (!packet_id || !fl || fl > 65535 || qos > 1)
        return ES_INVALID_ARGUMENT;
    s_out_t o = {out, cap, 0, 0};
    int rc = s_header(&o, MQTT_SUBSCRIBE << 4 | 0x2, 2 + 2 + fl + 1);
    if (rc < 0)
        return rc;
    s_u16(&o, packet_id);
    s_str(&o, filter, fl);
    s_byte(&o, (uint8_t)qos);
    return s_done(&o, len);
}

int mqtt_publish(uint8_t *out, size_t cap, const char *topic, unsigned qos, uint16_t packet_id,
                 const uint8_t *payload, size_t payload_len, size_t *len)
{
    size_t tl = topic ? strlen(topic) : 0;
    if (!tl || tl > 65535 || qos > 1 || (qos && !packet_id) || payload_len > MQTT_MAX_PACKET ||
        (payload_len && !payload))
        return ES_INVALID_ARGUMENT;
    s_out_t o = {out, cap, 0, 0};
    int rc = s_header(&o, (uint8_t)(MQTT_PUBLISH << 4 | qos << 1),
                      2 + tl + (qos ? 2 : 0) + payload_len);
    if (rc < 0)
        return rc;
    s_str(&o, topic, tl);
    if (qos)
        s_u16(&o, packet_id);
    s_bytes(&o, payload, payload_len);
    return s_done(&o, len);
}

int mqtt_puback(uint8_t *out, size_t cap, uint16_t packet_id, size_t *len)
{
    if (!packet_id)
        return ES_INVALID_ARGUMENT;
    s_out_t o = {out, cap, 0, 0};
    (void)s_header(&o, MQTT_PUBACK << 4, 2);
    s_u16(&o, packet_id);
    return s_done(&o, len);
}

static int s_empty(uint8_t *out, size_t cap, unsigned type, size_t *len)
{
    s_out_t o = {out, cap, 0, 0};
    (void)s_header(&o, (uint8_t)(type << 4), 0);
    return s_done(&o, len);
}

int mqtt_pingreq(uint8_t *out, size_t cap, size_t *len)
{
    return s_empty(out, cap, MQTT_PINGREQ, len);
}

int mqtt_disconnect(uint8_t *out, size_t cap, size_t *len)
{
    return s_empty(out, cap, MQTT_DISCONNECT, len);
}

/* ---- decoding ---- */

typedef struct s_in {
    const uint8_t *p;
    size_t len, at;
} s_in_t;

static int s_get_u16(s_in_t *in, uint16_t *v)
{
    if (in->len - in->at < 2)
        return -1;
    *v = (uint16_t)(in->p[in->at] << 8 | in->p[in->at + 1]);
    in->at += 2;
    return 0;
}

static int s_get_str(s_in_t *in, const uint8_t **s, size_t *n)
{
    uint16_t l;
    if (s_get_u16(in, &l) < 0 || in->len - in->at < l)
        return -1;
    *s = in->p + in->at;
    *n = l;
    in->at += l;
    return 0;
}

/* The variable header and payload of p (body: rem bytes). */
static int s_body(mqtt_packet_t *p, const uint8_t *body, size_t rem)
{
    s_in_t in = {body, rem, 0};
    const uint8_t *name;
    size_t nl;
    uint16_t v;
    switch (p->type) {
    case MQTT_CONNECT:
        if (p->flags || s_get_str(&in, &name, &nl) < 0 || nl != 4 || memcmp(name, "MQTT", 4) ||
            rem - in.at < 4 || body[in.at] != 4)
            return -1;
        in.at += 2; /* level, connect flags */
        if (s_get_u16(&in, &v) < 0 || s_get_str(&in, &p->payload, &p->payload_len) < 0)
            return -1;
        p->packet_id = 0;
        return 0;
    case MQTT_CONNACK:
        if (p->flags || rem != 2 || (body[0] & 0xfe))
            return -1;
        p->session_present = body[0];
        p->return_code = body[1];
        return 0;
    case MQTT_PUBLISH:
        p->qos = (p->flags >> 1) & 3;
        p->dup = (p->flags >> 3) & 1;
        p->retain = p->flags & 1;
        if (p->qos == 3 || (p->qos == 0 && p->dup) ||
            s_get_str(&in, &p->topic, &p->topic_len) < 0)
            return -1;
        if (p->qos && (s_get_u16(&in, &p->packet_id) < 0 || p->packet_id == 0))
            return -1;
        p->payload = body + in.at;
        p->payload_len = rem - in.at;
        return 0;
    case MQTT_PUBACK:
        if (p->flags || rem != 2 || s_get_u16(&in, &p->packet_id) < 0 || !p->packet_id)
            return -1;
        return 0;
    case MQTT_SUBSCRIBE:
        if (p->flags != 2 || s_get_u16(&in, &p->packet_id) < 0 || !p->packet_id ||
            s_get_str(&in, &p->topic, &p->topic_len) < 0 || !p->topic_len || in.at >= rem ||
            body[in.at] > 2)
            return -1;
        p->qos = body[in.at];
        return 0;
    case MQTT_SUBACK:
        if (p->flags || rem < 3 || s_get_u16(&in, &p->packet_id) < 0 || !p->packet_id)
            return -1;
        p->payload = body + in.at;
        p->payload_len = rem - in.at;
        return 0;
    case MQTT_PINGREQ:
    case MQTT_PINGRESP:
    case MQTT_DISCONNECT:
        return p->flags || rem ? -1 : 0;
    default:
        return -1; /* reserved, or a packet this client never receives */
    }
}

int mqtt_decode(const uint8_t *data, size_t len, mqtt_packet_t *p, size_t *used)
{
    if (len < 2)
        return 0;
    size_t rem = 0, i = 1;
    for (unsigned mult = 1;; mult *= 128) {
        if (i >= len)
            return 0;
        if (i > 4)
            return ES_INVALID_ARGUMENT; /* a fifth length byte */
        rem += (size_t)(data[i] & 127) * mult;
        if (!(data[i++] & 128))
            break;
    }
    if (i + rem > MQTT_MAX_PACKET)
        return ES_INVALID_ARGUMENT;
    if (len - i < rem)
        return 0;
    memset(p, 0, sizeof *p);
    p->type = data[0] >> 4;
    p->flags = data[0] & 15;
    if (s_body(p, data + i, rem) < 0)
        return ES_INVALID_ARGUMENT;
    *used = i + rem;
    return 1;
}

/* ---- stream ---- */

/* Hand over the whole packets of data; *rest = bytes of an unfinished one. */
static int s_drain(const uint8_t *data, size_t len, mqtt_packet_fn fn, void *user, size_t *rest)
{
    size_t at = 0;
    for (;;) {
        mqtt_packet_t p;
        size_t used = 0;
        int rc = mqtt_decode(data + at, len - at, &p, &used);
        if (rc < 0)
            return rc;
        if (rc == 0)
            break;
        fn(&p, user);
        at += used;
    }
    *rest = len - at;
    return 0;
}

static int s_grow(mqtt_stream_t *s, size_t need)
{
    if (need <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : 256;
    while (cap < need)
        cap *= 2;
    uint8_t *b = realloc(s->buf, cap);
    if (!b)
        return ES_RESOURCE_EXHAUSTED;
    s->buf = b;
    s->cap = cap;
    return 0;
}

int mqtt_stream_feed(mqtt_stream_t *s, const uint8_t *data, size_t len, mqtt_packet_fn fn,
                     void *user)
{
    size_t rest = 0;
    int rc;
    if (s->len == 0) { /* the usual case: whole packets, straight from the message */
        if ((rc = s_drain(data, len, fn, user, &rest)) < 0 || rest == 0)
            return rc;
        if ((rc = s_grow(s, rest)) < 0)
            return rc;
        memcpy(s->buf, data + len - rest, rest);
        s->len = rest;
        return 0;
    }
    /* an unfinished packet is at most MQTT_MAX_PACKET: more is malformed */
    if (len > 2 * MQTT_MAX_PACKET || s->len + len > 2 * MQTT_MAX_PACKET)
        return ES_INVALID_ARGUMENT;
    if ((rc = s_grow(s, s->len + len)) < 0)
        return rc;
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    if ((rc = s_drain(s->buf, s->len, fn, user, &rest)) < 0)
        return rc;
    memmove(s->buf, s->buf + s->len - rest, rest);
    s->len = rest;
    return 0;
}

void mqtt_stream_clear(mqtt_stream_t *s)
{
    free(s->buf);
    memset(s, 0, sizeof *s);
}
