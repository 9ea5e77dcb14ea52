/* queue.c - outgoing messages, the per-connection queue, the token bucket
 * and the message assembler (edge_int.h). Pure: no lws or zmq calls. */
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "services/edge/edge_int.h"
#include "proto/status.h"

#define S_RING_MIN 8                 /* first ring size */
#define S_RX_KEEP (16u * 1024)       /* assembler buffer kept between messages */

/* ---- messages ---- */

edge_msg_t *edge_msg_new(size_t len)
{
    if (len > SIZE_MAX - sizeof(edge_msg_t) - LWS_PRE)
        return NULL;
    edge_msg_t *m = malloc(sizeof(edge_msg_t) + LWS_PRE + len);
    if (m == NULL)
        return NULL;
    m->refs = 1;
    m->len = len;
    return m;
}

uint8_t *edge_msg_payload(edge_msg_t *m)
{
    return m->data + LWS_PRE;
}

edge_msg_t *edge_msg_pack(const ProtobufCMessage *pb)
{
    size_t len = protobuf_c_message_get_packed_size(pb);
    edge_msg_t *m = edge_msg_new(len);
    if (m == NULL)
        return NULL;
    protobuf_c_message_pack(pb, edge_msg_payload(m));
    return m;
}

void edge_msg_ref(edge_msg_t *m)
{
    m->refs++;
}

void edge_msg_unref(edge_msg_t **m)
{
    if (m == NULL || *m == NULL)
        return;
    if (--(*m)->refs == 0)
        free(*m);
    *m = NULL;
}

/* ---- queue ---- */

void edge_outq_init(edge_outq_t *q, uint32_t max_msgs, size_t max_bytes, size_t *total)
{
    memset(q, 0, sizeof(*q));
    q->max_msgs = max_msgs;
    q->max_bytes = max_bytes;
    q->total = total;
}

void edge_outq_fini(edge_outq_t *q)
{
    while (q->count > 0)
        edge_outq_pop(q);
    free(q->ring);
    q->ring = NULL;
    q->cap = 0;
    q->head = 0;
}

static int s_grow(edge_outq_t *q)
{
    uint32_t cap = q->cap == 0 ? S_RING_MIN : q->cap * 2;
    if (cap > q->max_msgs)
        cap = q->max_msgs;
    if (cap <= q->cap)
        return ES_RESOURCE_EXHAUSTED;
    edge_msg_t **r = malloc(sizeof(*r) * cap);
    if (r == NULL)
        return ES_RESOURCE_EXHAUSTED;
    for (uint32_t i = 0; i < q->count; i++)
        r[i] = q->ring[(q->head + i) % q->cap];
    free(q->ring);
    q->ring = r;
    q->cap = cap;
    q->head = 0;
    return 0;
}

int edge_outq_push(edge_outq_t *q, edge_msg_t *m, int event)
{
    uint32_t max_msgs = q->max_msgs;
    size_t max_bytes = q->max_bytes;
    if (event) {
        max_msgs -= max_msgs / 4;
        max_bytes -= max_bytes / 4;
    }
    if (q->count >= max_msgs || m->len > max_bytes || q->bytes > max_bytes - m->len)
        return ES_RESOURCE_EXHAUSTED;
    if (q->count == q->cap && s_grow(q) != 0)
        return ES_RESOURCE_EXHAUSTED;
    q->ring[(q->head + q->count) % q->cap] = m;
    q->count++;
    q->bytes += m->len;
    if (q->total != NULL)
        *q->total += m->len;
    edge_msg_ref(m);
    return 0;
}

edge_msg_t *edge_outq_peek(const edge_outq_t *q)
{
    return q->count ? q->ring[q->head] : NULL;
}

void edge_outq_pop(edge_outq_t *q)
{
    if (q->count == 0)
        return;
    edge_msg_t *m = q->ring[q->head];
    q->ring[q->head] = NULL;
    q->head = (q->head + 1) % q->cap;
    q->count--;
    q->bytes -= m->len;
    if (q->total != NULL)
        *q->total -= m->len;
    edge_msg_unref(&m);
}

/* ---- token bucket ---- */

void edge_bucket_init(edge_bucket_t *b, unsigned burst, int64_t now_us)
{
    b->tokens = (double)burst;
    b->last_us = now_us;
}

int edge_bucket_take(edge_bucket_t *b, unsigned rate, unsigned burst, int64_t now_us)
{
    if (now_us > b->last_us) {
        b->tokens += (double)(now_us - b->last_us) * (double)rate / 1e6;
        if (b->tokens > (double)burst)
            b->tokens = (double)burst;
        b->last_us = now_us;
    }
    if (b->tokens < 1.0)
        return 0;
    b->tokens -= 1.0;
    return 1;
}

/* ---- assembler ---- */

int edge_rx_append(edge_rx_t *rx, const void *data, size_t n, size_t max)
{
    if (n > max || rx->len > max - n)
        return ES_TOO_LARGE;
    if (n == 0)
        return 0;
    if (rx->len + n > rx->cap) {
        size_t cap = rx->cap ? rx->cap : 1024;
        while (cap < rx->len + n)
            cap = cap > max / 2 ? max : cap * 2;
        uint8_t *b = realloc(rx->buf, cap);
        if (b == NULL)
            return ES_RESOURCE_EXHAUSTED;
        rx->buf = b;
        rx->cap = cap;
    }
    memcpy(rx->buf + rx->len, data, n);
    rx->len += n;
    return 0;
}

void edge_rx_reset(edge_rx_t *rx)
{
    rx->len = 0;
    rx->binary = 0;
    if (rx->cap > S_RX_KEEP) {
        free(rx->buf);
        rx->buf = NULL;
        rx->cap = 0;
    }
}

void edge_rx_free(edge_rx_t *rx)
{
    free(rx->buf);
    memset(rx, 0, sizeof(*rx));
}
