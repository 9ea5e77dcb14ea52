/*
 * bus_raw.c - gateways' raw requests (bus.h: bus_client_send_raw,
 * bus_client_process, bus_client_expire, bus_client_cancel): kept in flight
 * in a table (a hash by id, a min-heap by local deadline) until their reply,
 * their deadline or a cancel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bus/bus.h"
#include "bus/bus_client_int.h"
#include "proto/status.h"

/* ---- raw requests in flight: hash by id, min-heap by deadline ---- */

static size_t s_raw_hash(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)(x & (BUS_RAW_BUCKETS - 1));
}

static void s_heap_set(bus_client_t *c, size_t i, bus_raw_t *r)
{
    c->raw_heap[i] = r;
    r->heap_i = i;
}

/* Move the entry at i up or down until the heap order holds again. */
static void s_heap_fix(bus_client_t *c, size_t i)
{
    bus_raw_t *r = c->raw_heap[i];
    while (i > 0 && c->raw_heap[(i - 1) / 2]->deadline > r->deadline) {
        s_heap_set(c, i, c->raw_heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t k = 2 * i + 1;
        if (k >= c->n_raw)
            break;
        if (k + 1 < c->n_raw && c->raw_heap[k + 1]->deadline < c->raw_heap[k]->deadline)
            k++;
        if (c->raw_heap[k]->deadline >= r->deadline)
            break;
        s_heap_set(c, i, c->raw_heap[k]);
        i = k;
    }
    s_heap_set(c, i, r);
}

static int s_raw_add(bus_client_t *c, uint64_t id, int64_t deadline, void *user)
{
    if (c->raw_buckets == NULL) {
        c->raw_buckets = calloc(BUS_RAW_BUCKETS, sizeof(*c->raw_buckets));
        c->raw_heap = malloc(BUS_CLIENT_MAX_INFLIGHT * sizeof(*c->raw_heap));
        if (c->raw_buckets == NULL || c->raw_heap == NULL) {
            free(c->raw_buckets);
            free(c->raw_heap);
            c->raw_buckets = NULL;
            c->raw_heap = NULL;
            return ES_RESOURCE_EXHAUSTED;
        }
    }
    if (c->n_raw >= BUS_CLIENT_MAX_INFLIGHT)
        return ES_RESOURCE_EXHAUSTED;
    bus_raw_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return ES_RESOURCE_EXHAUSTED;
    r->id = id;
    r->deadline = deadline;
    r->user = user;
    size_t h = s_raw_hash(id);
    r->hnext = c->raw_buckets[h];
    c->raw_buckets[h] = r;
    s_heap_set(c, c->n_raw++, r);
    s_heap_fix(c, r->heap_i);
    return 0;
}

/* Remove the entry of id from both structures; its user pointer into *user.
 * 0 or ES_NOT_FOUND. */
static int bus_raw_take(bus_client_t *c, uint64_t id, void **user)
{
    if (c->raw_buckets == NULL)
        return ES_NOT_FOUND;
    bus_raw_t **pp = &c->raw_buckets[s_raw_hash(id)];
    while (*pp != NULL && (*pp)->id != id)
        pp = &(*pp)->hnext;
    bus_raw_t *r = *pp;
    if (r == NULL)
        return ES_NOT_FOUND;
    *pp = r->hnext;
    size_t i = r->heap_i;
    bus_raw_t *last = c->raw_heap[--c->n_raw];
    if (last != r) {
        s_heap_set(c, i, last);
        s_heap_fix(c, i);
    }
    if (user != NULL)
        *user = r->user;
    free(r);
    return 0;
}

/* ---- raw requests: the API ---- */

int bus_client_send_raw(bus_client_t *c, const char *service, const char *method,
                        const uint8_t *body, size_t body_len, uint32_t timeout_ms,
                        const Espace__V1__Caller *caller, void *user, uint64_t *id)
{
    if (c == NULL || !bus_client_service_ok(service) || method == NULL || (body == NULL && body_len > 0))
        return ES_INVALID_ARGUMENT;
    if (timeout_ms > BUS_MAX_TIMEOUT_MS)
        timeout_ms = BUS_MAX_TIMEOUT_MS;
    uint64_t rid = c->next_id;
    int rc = s_raw_add(c, rid, bus_client_local_deadline(timeout_ms), user);
    if (rc != 0)
        return rc;
    rc = bus_client_send_bytes(c, BUS_C_REQUEST, service, method, body, body_len, timeout_ms, caller, 0,
                      NULL);
    if (rc != 0) {
        (void)bus_raw_take(c, rid, NULL);
        return rc == ES_RESOURCE_EXHAUSTED ? ES_UNAVAILABLE : rc;
    }
    if (id != NULL)
        *id = rid;
    return 0;
}

int bus_client_process(bus_client_t *c, bus_raw_fn fn, void *arg)
{
    if (c == NULL || fn == NULL)
        return ES_INVALID_ARGUMENT;
    for (;;) {
        Espace__V1__Reply *rep = NULL;
        int rc = bus_client_recv_reply(c, &rep);
        if (rc == ES_NOT_FOUND)
            return 0; /* read until EAGAIN: the edge-triggered fd is armed again */
        if (rc == ES_INTERNAL)
            return rc;
        if (rc != 0)
            continue; /* an event (kept), a malformed message (dropped) */
        bus_raw_reply_t r = {.id = rep->id, .status = bus_client_reply_status(rep), .message = "",
                             .field = ""};
        if (bus_raw_take(c, rep->id, &r.user) != 0) {
            c->dropped++;
        } else {
            if (rep->status != NULL && rep->status->message != NULL)
                r.message = rep->status->message;
            if (rep->status != NULL && rep->status->field != NULL)
                r.field = rep->status->field;
            if (rep->body.len > 0) {
                r.body = rep->body.data;
                r.body_len = rep->body.len;
            }
            fn(arg, &r);
        }
        codec_free(&rep->base);
    }
}

size_t bus_client_expire(bus_client_t *c, bus_raw_fn fn, void *arg)
{
    size_t n = 0;
    if (c == NULL || fn == NULL)
        return 0;
    int64_t now = bus_mono_ms();
    while (c->n_raw > 0 && c->raw_heap[0]->deadline <= now) {
        bus_raw_reply_t r = {.id = c->raw_heap[0]->id, .status = ES_DEADLINE_EXCEEDED,
                             .message = BUS_NO_ANSWER, .field = ""};
        (void)bus_raw_take(c, r.id, &r.user);
        fn(arg, &r);
        n++;
    }
    return n;
}

int bus_client_cancel(bus_client_t *c, uint64_t id)
{
    if (c == NULL)
        return ES_NOT_FOUND;
    return bus_raw_take(c, id, NULL);
}

size_t bus_client_inflight(const bus_client_t *c)
{
    return c != NULL ? c->n_raw : 0;
}
