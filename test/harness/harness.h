/*
 * harness.h - the one compiled test harness (library es_test_harness),
 * shared by the tests that need a live bus (test/unit/bus, broker, runtime
 * and the scenarios in test/service):
 *   - harness_t: a mkdtemp folder, ipc endpoints under <dir>/run (and
 *     optionally tcp 127.0.0.1 with CURVE), a ZeroMQ context for the test,
 *     and broker_run in a thread with its own stop and ready pipes;
 *   - h_svc_t: svc_run of any svc_def_t in a thread on that broker, data
 *     under the same folder, with its own stop and ready pipes;
 *   - local (ipc) clients and subscribers, local Callers, a probe that
 *     waits until the broker routes to a service;
 *   - test workers (tworker_t) answering echo/who/late/Authenticate;
 *   - raw client sockets (h_raw_*): a DEALER with a chosen routing id (and
 *     CURVE keys on tcp) speaking the client commands frame by frame.
 * Order of teardown: destroy clients, h_svc_stop each service, h_teardown.
 */
#ifndef ES_TEST_HARNESS_H
#define ES_TEST_HARNESS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "broker/broker.h"
#include "bus/bus.h"
#include "espace/v1/identity.pb-c.h"
#include "broker/keys.h"
#include "runtime/service.h"
#include "proto/status.h"
#include "storage/store.h"
#include "test/harness/tmpdir.h"

#define H_HB 100 /* heartbeat of tests, ms */

/* A thread of the harness (the broker, a service): it ends when a byte
 * comes on stop[0] and writes one on ready[1] once up. */
typedef struct h_thread {
    pthread_t th;
    int stop[2];
    int ready[2];
    int running;
    int rc; /* what its main returned (0 while it runs) */
} h_thread_t;

typedef struct harness {
    char dir[64];
    char req_ipc[128], pub_ipc[128], sub_ipc[128];
    char req_tcp[64], pub_tcp[64], sub_tcp[64];
    char server_key[BUS_KEY_Z85];
    int tcp;
    broker_opts_t o;
    h_thread_t run; /* the broker's thread */
    unsigned hb; /* heartbeat of the broker and services, ms; 0 = H_HB */
    void *ctx;   /* the test's context */
} harness_t;

void h_sleep_ms(int ms);

int h_free_port(void);

/* Wait (at most ms) for one byte on fd and read it. 0 or -1. */
int h_wait_byte(int fd, int ms);

unsigned h_hb(const harness_t *h);

/* Start (or restart) the broker thread; waits until bound. 0 or -1. The
 * session service is h->o.session_service if a test set it, else
 * SERVICE_IDENTITY. */
int h_broker_start(harness_t *h);

/* Stop the broker thread (if running) and close its pipes; its rc. */
int h_broker_stop(harness_t *h);

/* Open the broker's store (keys tables; the broker must not be running). */
int h_broker_store_open(const harness_t *h, store_t **out);

/* Register a key in the broker store (broker must not be running). */
int h_key_add(harness_t *h, const uint8_t pub[32], int role, const char *name);

/* Set up folder and endpoints, then start. tcp = 1 adds CURVE endpoints. */
int h_setup(harness_t *h, int tcp);

/* Broker public key (after the first start). */
int h_server_key(harness_t *h);

/* Stop the broker, end the context (clients and services must be gone),
 * remove the folder. 0, or -1 if the broker's rc was not 0 or the folder
 * could not be removed. */
int h_teardown(harness_t *h);

bus_conn_t h_ipc(const char *endpoint);

/* ---- CURVE peers on the broker's tcp endpoints (h_setup(h, 1)) ---- */

typedef struct h_peer {
    uint8_t pub[32], sec[32];
} h_peer_t;

/* A fresh keypair into p, registered with role and name (h_key_add: the
 * broker must not be running). 0 or -1. */
int h_peer_add(harness_t *h, h_peer_t *p, int role, const char *name);

/* Start the broker (peers added) and read its server key. 0 or -1. */
int h_tcp_start(harness_t *h);

/* A CURVE connection as p to one of the broker's tcp endpoints (req_tcp,
 * pub_tcp, sub_tcp); borrows h's server key and p's keys. */
bus_conn_t h_tcp(const harness_t *h, const char *endpoint, const h_peer_t *p);

/* 1 if the event ev, received on topic t, is on `topic` and carries a
 * Period starting at mark (the tests' event body). */
int h_event_has(const char *t, const Espace__V1__Event *ev, const char *topic, int64_t mark);

/* How h_publish_until receives: bus_sub_recv or bus_client_recv_event on
 * `from` (h_recv_sub, h_recv_client). */
typedef int (*h_recv_fn)(void *from, int timeout_ms, char topic[BUS_MAX_TOPIC + 1],
                         Espace__V1__Event **event);
int h_recv_sub(void *sub, int timeout_ms, char topic[BUS_MAX_TOPIC + 1],
               Espace__V1__Event **event);
int h_recv_client(void *client, int timeout_ms, char topic[BUS_MAX_TOPIC + 1],
                  Espace__V1__Event **event);

/* Publish (topic, a Period starting at mark) on pub until recv on `from`
 * gets it (h_event_has), up to ~2 s; other events are skipped. 1 if it
 * came, 0 if not or if publishing failed. */
int h_publish_until(bus_pub_t *pub, const char *topic, int64_t mark, h_recv_fn recv, void *from);

/* A local client on the broker's ipc request endpoint (it may stamp its
 * own Caller on each call; see h_caller). Caller destroys it. */
int h_client(harness_t *h, bus_client_t **out);

/* A subscriber on the broker's ipc events-out endpoint. Caller destroys it. */
int h_sub(harness_t *h, bus_sub_t **out);

/* A Caller a local client may stamp: kind, principal (borrowed), peer role
 * LOCAL. */
Espace__V1__Caller h_caller(Espace__V1__PrincipalKind kind, const char *principal);

/* Call until the broker routes to the service: retries (every 25 ms, 200
 * times at most) while the status is UNAVAILABLE or DEADLINE_EXCEEDED (the
 * worker's READY may still be on its way). Returns the last status; the
 * arguments are those of bus_call. */
int h_call_served(bus_client_t *c, const char *service, const char *method,
                                const ProtobufCMessage *req,
                                const ProtobufCMessageDescriptor *rdesc, uint32_t timeout_ms,
                                const Espace__V1__Caller *caller, ProtobufCMessage **out,
                                bus_reply_t *r);

/* ---- a service (svc_run of a svc_def_t) in a thread ---- */
typedef struct h_svc {
    const svc_def_t *def;
    svc_opts_t o;
    h_thread_t run; /* the service's thread */
} h_svc_t;

/* Start `def` in a thread on h's broker (data under h->dir, events to the
 * broker, heartbeat h_hb, no fsync) and wait for its ready byte (10 s).
 * The broker may not route to it yet: see h_call_served. Restartable after
 * h_svc_stop. 0 or -1. */
int h_svc_start(harness_t *h, h_svc_t *s, const svc_def_t *def);

/* h_svc_start, then call `method` (request req, reply type rdesc) as the
 * local operator through client c until the broker routes to the service
 * (h_call_served): the service is then served. 0, or -1 if it did not start
 * or was not reached. */
int h_svc_start_served(harness_t *h, h_svc_t *s, const svc_def_t *def, bus_client_t *c,
                       const char *method, const ProtobufCMessage *req,
                       const ProtobufCMessageDescriptor *rdesc);

/* Stop the service thread (if running; the batch in progress is answered
 * first), close its pipes; svc_run's rc. */
int h_svc_stop(h_svc_t *s);

/* ---- test workers ----
 * Methods: "echo" (body back), "who" (body = the stamped Caller), "late"
 * (answers after 400 ms), "Authenticate" (token "good" -> a patient session).
 * freeze = 1: after the first request, stop everything (no heartbeat, no
 * reply) until told to stop; the socket is then closed without DISCONNECT. */
typedef struct tworker {
    void *ctx;
    bus_conn_t conn;
    const char *service;
    uint32_t capacity;
    int freeze;
    volatile int stop;
    volatile int started;
    volatile int registered; /* the broker acknowledged its READY */
    volatile int handled;
    pthread_t th;
    uint8_t session_id[16];
} tworker_t;

#define TW_LATE_MAX 64

void tw_answer(bus_worker_t *w, tworker_t *t, bus_request_t *r);

/* Wait (at most ms) until the broker registered the worker. 0 or -1. */
int tw_wait_registered(tworker_t *t, int ms);

int tw_start(tworker_t *t, void *ctx, bus_conn_t conn, const char *service,
                           uint32_t capacity, int freeze);

void tw_stop(tworker_t *t);

/* A mute worker: registered as `service` with `capacity`, it takes every
 * request (counting them in t->handled) and never answers, while it keeps
 * heartbeating, so the broker holds each request until its deadline: a peer
 * that is up but slow. Stop it with tw_stop. 0 or -1. */
int tw_start_mute(tworker_t *t, void *ctx, bus_conn_t conn, const char *service,
                  uint32_t capacity);

/* ---- raw client sockets (chosen routing id) ---- */

/* A DEALER connected to endpoint with routing id rid (rid_len bytes); on
 * tcp, CURVE with the harness's server key and pub/sec (32 bytes each).
 * Linger 0. NULL on failure; caller zmq_close()s it. */
void *h_raw_dealer(harness_t *h, const char *endpoint, const uint8_t *pub,
                                 const uint8_t *sec, const void *rid, size_t rid_len);

/* Send one client command on a raw socket: "EC01", cmd, [service (REQUEST
 * only)], Request{id, method, body}. 0 or -1. */
int h_raw_send(void *s, uint8_t cmd, const char *service, uint64_t id,
                             const char *method, const ProtobufCMessage *body);

/* Wait up to ms for the C_REPLY to request id on a raw socket (other
 * messages are skipped). The decoded Reply (caller frees with
 * espace__v1__reply__free_unpacked(r, NULL)), or NULL on timeout. */
Espace__V1__Reply *h_raw_reply(void *s, uint64_t id, int ms);

#endif
