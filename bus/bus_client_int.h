/*
 * bus_client_int.h - what the two files of the client role share:
 * bus_client.c (connection, requests and replies, events, calls, AUTH,
 * SUBSCRIBE) and bus_raw.c (gateways' raw requests in flight). Not for
 * other modules: bus.h is the manual.
 */
#ifndef ES_BUS_CLIENT_INT_H
#define ES_BUS_CLIENT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "bus/frames.h"

#define BUS_FIRST_SEND_WAIT 1000 /* a new connection may take this long to come up */
#define BUS_RAW_BUCKETS 8192       /* hash chains of raw requests in flight (power of 2) */
#define BUS_NO_ANSWER "no answer from the broker"

#define BUS_GOT_EVENT 1 /* bus_client_recv_reply: an event was queued */

typedef struct bus_event_slot {
    char topic[BUS_MAX_TOPIC + 1];
    Espace__V1__Event *ev;
} bus_event_slot_t;

/* A raw request in flight. */
typedef struct bus_raw {
    uint64_t id;
    int64_t deadline;    /* bus_mono_ms: local deadline */
    void *user;          /* handed back to bus_raw_fn */
    size_t heap_i;       /* its slot in the heap */
    struct bus_raw *hnext; /* hash chain */
} bus_raw_t;

struct bus_client {
    void *sock;       /* DEALER to the broker's request endpoint */
    uint64_t next_id; /* next request id (from 1) */
    int sent_once;    /* a message went out on this socket */
    bus_event_slot_t *events; /* ring of BUS_CLIENT_EVENTS, allocated at the first event */
    size_t ev_head, ev_len;
    uint64_t dropped; /* events over the ring, replies dropped while waiting for events */
    bus_raw_t **raw_buckets; /* BUS_RAW_BUCKETS chains; allocated at the first raw send */
    bus_raw_t **raw_heap;    /* BUS_CLIENT_MAX_INFLIGHT slots, min-heap by deadline */
    size_t n_raw;          /* raw requests in flight */
};

/* bus_mono_ms() deadline of a request sent with timeout_ms (0 = default),
 * with the margin for the broker's own answer. */
int64_t bus_client_local_deadline(uint32_t timeout_ms);
/* Receive one message: a reply (0, *rep decoded, free with codec_free) or
 * an event (BUS_GOT_EVENT, queued); ES_NOT_FOUND if nothing waiting,
 * ES_INVALID_ARGUMENT if it was malformed (dropped). */
int bus_client_recv_reply(bus_client_t *c, Espace__V1__Reply **rep);
/* es_status of a Reply's status. */
int bus_client_reply_status(const Espace__V1__Reply *rep);
/* Send the client command cmd: Request{next id, method, timeout_ms, body
 * bytes}, with the service frame and the Caller frame (if any) for REQUEST.
 * *id (may be NULL) receives the id. */
int bus_client_send_bytes(bus_client_t *c, uint8_t cmd, const char *service, const char *method,
                        const uint8_t *body, size_t body_len, uint32_t timeout_ms,
                        const Espace__V1__Caller *caller, int wait, uint64_t *id);
/* 1 if service is a valid bus service name. */
int bus_client_service_ok(const char *service);

#endif
