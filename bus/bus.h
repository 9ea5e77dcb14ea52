/*
 * bus.h - the bus library: the one piece every espace peer links (services,
 * the edge, libespace, the admin CLI). It speaks the frames of
 * docs/protocol.md to the broker (broker.h).
 *
 * Three roles:
 *   - client  (DEALER to the broker's request endpoint): pipelined requests
 *     matched to replies by id, each with a deadline; a blocking bus_call
 *     helper on top; AUTH to bind a session to the connection;
 *   - worker  (DEALER): registers under a service name with a capacity (how
 *     many requests it accepts in flight), heartbeats, detects a dead broker
 *     and reconnects on a fresh socket, re-registering;
 *   - events  publisher (PUB to the broker's XSUB) and subscriber (SUB to its
 *     XPUB): topic in frame 1, espace.v1.Event in frame 2.
 *
 * Transport: "ipc://path" (no CURVE: local and trusted) or "tcp://host:port"
 * (CURVE: needs server_key and the peer's own keypair; the broker's ZAP
 * handler admits only registered keys).
 *
 * THREAD SAFETY: every object here wraps ZeroMQ sockets and belongs to the
 * thread that created it. The ZeroMQ context passed in may be shared.
 *
 * Errors: 0 or a negative es_status (proto/status.h).
 */
#ifndef ES_BUS_H
#define ES_BUS_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/codec.h"
#include "espace/v1/common.pb-c.h"
#include "espace/v1/bus.pb-c.h"

#define BUS_HEARTBEAT_MS 1000       /* default heartbeat interval, both directions */
#define BUS_LIVENESS 3              /* intervals of silence before a peer is dead */
#define BUS_DEFAULT_TIMEOUT_MS 5000 /* deadline when a request gives none */
#define BUS_MAX_TIMEOUT_MS 600000   /* longest deadline accepted */
#define BUS_MAX_MSG CODEC_MAX_WIRE  /* ZMQ_MAXMSGSIZE on every socket */
#define BUS_MAX_SERVICE 64          /* longest service name */
#define BUS_MAX_TOPIC 255           /* longest event topic */
#define BUS_KEY_Z85 41              /* Z85 key text incl. NUL */
/* Events queued per peer on the event sockets before libzmq drops (PUB,
 * XPUB, SUB, XSUB drop silently at the high-water mark): about a second of
 * the busiest stream we measure, so a peer that stalls briefly loses
 * nothing; bounded, so one that stops reading costs at most this many
 * events of memory. Subscriptions, which go the other way, are never
 * dropped: their direction has no mark (bus_events.c, broker.c). */
#define BUS_EVENT_HWM 100000
#define BUS_MAX_CLIENT_SUBS 16      /* SUBSCRIBE prefixes per connection (broker) */
#define BUS_CLIENT_EVENTS 256       /* events a client keeps until bus_client_recv_event */

/* Methods of the broker's own commands (docs/protocol.md): AUTH carries the
 * method of the session-check contract (bus.proto, service SessionCheck),
 * SUBSCRIBE carries "Subscribe". */
#define BUS_SESSION_METHOD (espace__v1__session_check__descriptor.methods[0].name)
#define BUS_SUBSCRIBE_METHOD "Subscribe"

/* Protocol header frames (docs/protocol.md). */
#define BUS_CLIENT_PROTO "EC01"
#define BUS_WORKER_PROTO "EW01"
enum bus_cmd {
    BUS_C_REQUEST = 0x01,   /* client -> broker */
    BUS_C_REPLY = 0x02,     /* broker -> client */
    BUS_C_AUTH = 0x03,      /* client -> broker: bind a session token */
    BUS_C_SUBSCRIBE = 0x04, /* client -> broker: live events (professional sessions) */
    BUS_C_EVENT = 0x05,     /* broker -> client: one event of a subscribed prefix */
    BUS_W_READY = 0x01,     /* worker -> broker */
    BUS_W_REQUEST = 0x02,   /* broker -> worker */
    BUS_W_REPLY = 0x03,     /* worker -> broker */
    BUS_W_HEARTBEAT = 0x05, /* both ways */
    BUS_W_DISCONNECT = 0x06 /* both ways */
};

/* How to reach one broker endpoint. */
typedef struct bus_conn {
    const char *endpoint;        /* "ipc://..." or "tcp://..." */
    const char *server_key;      /* broker's public key, Z85 (tcp only) */
    const uint8_t *public_key;   /* own CURVE public key, 32 bytes (tcp only) */
    const uint8_t *secret_key;   /* own CURVE secret key, 32 bytes (tcp only) */
    unsigned heartbeat_ms;       /* 0 = BUS_HEARTBEAT_MS (workers) */
    unsigned hwm;                /* send and receive high-water marks of a client's
                                    socket (bus_client_new); 0 = ZeroMQ's 1000. A
                                    gateway keeping many requests in flight raises it */
} bus_conn_t;

/* ---- CURVE keypairs ---- */

/* Load the keypair kept in `path` (secret, 0600, 32 raw bytes) and
 * `path`.pub (public key in Z85 text). With create = 1, make both files when
 * absent. ES_NOT_FOUND if absent and create = 0; ES_INTERNAL if the secret
 * file is readable by group/others or malformed. */
int bus_keypair_load(const char *path, int create, uint8_t public_key[32],
                     uint8_t secret_key[32]);

/* Z85 text of a 32-byte key into out[BUS_KEY_Z85]. */
void bus_key_z85(const uint8_t key[32], char out[BUS_KEY_Z85]);

/* Parse Z85 (40 chars) into 32 bytes; ES_INVALID_ARGUMENT if malformed. */
int bus_key_parse(const char *z85, uint8_t key[32]);

/* ---- client side ---- */

typedef struct bus_client bus_client_t;

/* A reply as received. body is malloc'd (caller frees with bus_reply_clear). */
typedef struct bus_reply {
    uint64_t id;        /* the request id it answers */
    int status;         /* es_status, 0 = OK */
    char message[256];  /* Status.message, truncated */
    char field[128];    /* Status.field, truncated */
    uint8_t *body;      /* reply body bytes, NULL if empty */
    size_t body_len;
} bus_reply_t;

void bus_reply_clear(bus_reply_t *r);

int bus_client_new(void *zctx, const bus_conn_t *conn, bus_client_t **out);
void bus_client_destroy(bus_client_t **c);

/* Queue a request (never blocks: ES_RESOURCE_EXHAUSTED when the socket is
 * at its high-water mark). `body` may be NULL for an empty body. `caller` is
 * sent only by gateways and local (ipc) peers, which the broker lets stamp
 * their own callers; others pass NULL. *id receives the request id. */
int bus_client_send(bus_client_t *c, const char *service, const char *method,
                    const ProtobufCMessage *body, uint32_t timeout_ms,
                    const Espace__V1__Caller *caller, uint64_t *id);

/* Wait up to timeout_ms (-1 = forever, 0 = poll) for the next reply.
 * ES_DEADLINE_EXCEEDED if none came (out untouched). Malformed replies are
 * dropped. Events (EVENT, after bus_client_subscribe) that arrive meanwhile
 * are kept for bus_client_recv_event, at most BUS_CLIENT_EVENTS (later ones
 * are dropped and counted: events are hints). */
int bus_client_recv(bus_client_t *c, int timeout_ms, bus_reply_t *out);

/* Blocking call: send, wait for the reply with the same id (discarding
 * others), decode its body as `reply_desc` through codec_decode.
 * Returns the reply's status (0 = OK and *reply set, caller frees with
 * codec_free; reply may be NULL to ignore the body). When the broker is
 * unreachable the local deadline gives ES_DEADLINE_EXCEEDED. `r`, if not
 * NULL, receives message/field of the status (its body is left NULL). */
int bus_call(bus_client_t *c, const char *service, const char *method,
             const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_desc,
             uint32_t timeout_ms, const Espace__V1__Caller *caller, ProtobufCMessage **reply,
             bus_reply_t *r);

/* Bind a session to this connection: the broker checks `token` with the
 * identity service; afterwards every request of this client carries that
 * session's caller. On success *caller (may be NULL) receives the caller
 * (free with codec_free). */
int bus_client_auth(bus_client_t *c, const char *token, uint32_t timeout_ms,
                    Espace__V1__Caller **caller, bus_reply_t *r);

/* Ask the broker for live events on `prefix` (SUBSCRIBE, docs/protocol.md):
 * only for a connection whose bound session (bus_client_auth) is a
 * professional's, and only prefixes starting with "pro.<own RPPS>.".
 * Returns the reply's status: 0, ES_UNAUTHENTICATED (no bound session),
 * ES_PERMISSION_DENIED (not a professional, or another prefix),
 * ES_INVALID_ARGUMENT (prefix empty, too long or not printable ASCII),
 * ES_RESOURCE_EXHAUSTED (BUS_MAX_CLIENT_SUBS reached), ES_DEADLINE_EXCEEDED
 * (no answer). `r`, if not NULL, receives message/field. Subscribing again to
 * the same prefix is a no-op. Subscriptions last until the session is unbound
 * (revoked, expired, replaced by a new AUTH) or the connection is gone.
 * Events published right after the reply may still be missed while the
 * subscription travels to the publishers. */
int bus_client_subscribe(bus_client_t *c, const char *prefix, uint32_t timeout_ms,
                         bus_reply_t *r);

/* Next event for this connection: one kept while waiting for replies, else
 * one arriving within timeout_ms (-1 = forever, 0 = poll). 0 and topic
 * (NUL-terminated) and *event (free with codec_free) set, or
 * ES_DEADLINE_EXCEEDED. Replies arriving while it waits are dropped (and
 * counted): call it when no request is in flight on this client. */
int bus_client_recv_event(bus_client_t *c, int timeout_ms, char topic[BUS_MAX_TOPIC + 1],
                          Espace__V1__Event **event);

/* Events dropped by this client (queue full) plus replies dropped by
 * bus_client_recv_event and by bus_client_process (no request in flight). */
uint64_t bus_client_dropped(const bus_client_t *c);

/* Wait up to timeout_ms (-1 = forever) until the connection to the broker
 * is up and can take a request (ZMQ_IMMEDIATE: nothing is queued before).
 * 0 or ES_DEADLINE_EXCEEDED. bus_call and bus_client_auth do it themselves;
 * the first bus_client_send of a new client waits up to 1 s for it too. */
int bus_client_wait(bus_client_t *c, int timeout_ms);

/* File descriptor to poll for readability (ZMQ_FD; edge-triggered: after it
 * fires, call bus_client_recv with timeout 0 until ES_DEADLINE_EXCEEDED, or
 * bus_client_process for raw requests). Never close it. */
int bus_client_fd(bus_client_t *c);

/* ---- client side: raw requests (gateways) ----
 * A gateway (the edge) forwards request bodies it never decodes, keeps many
 * requests in flight on one client and runs on its own event loop:
 *   - bus_client_send_raw queues a request whose body is already serialized.
 *     It never blocks and never waits for the connection. The client keeps
 *     the request in flight (its id, its local deadline = its deadline +
 *     BUS_CALL_MARGIN_MS, and the caller's `user` pointer);
 *   - bus_client_process reads every message waiting on the socket and hands
 *     each reply to a request in flight to `fn`, with the status and the body
 *     bytes as received (the body is not decoded). Call it when bus_client_fd
 *     becomes readable AND after any send on this client before the loop
 *     blocks again: ZMQ_FD is edge-triggered, and a send may consume the
 *     notification of replies already queued (STACK.md section 0, pitfall 1);
 *   - bus_client_expire, called periodically, hands to `fn` every request
 *     past its local deadline with ES_DEADLINE_EXCEEDED (the broker never
 *     answered: dead or unreachable); a reply arriving later is dropped;
 *   - bus_client_cancel forgets a request (its reply will be dropped).
 * Each request reaches `fn` exactly once, unless cancelled. Raw requests and
 * bus_call / bus_client_recv / bus_client_auth do not mix on one client: each
 * drops the replies the other waits for. */

#define BUS_CALL_MARGIN_MS 500          /* local deadline = request deadline + this */
#define BUS_CLIENT_MAX_INFLIGHT 65536   /* raw requests in flight on one client */

/* A reply handed to bus_raw_fn. Every pointer is borrowed for the call only. */
typedef struct bus_raw_reply {
    uint64_t id;            /* the request's id (as bus_client_send_raw gave it) */
    void *user;             /* the request's user pointer */
    int status;             /* es_status: 0, the answer's status (es_from_code of
                               its Code), or ES_DEADLINE_EXCEEDED from
                               bus_client_expire */
    const char *message;    /* Status.message; never NULL ("" if none) */
    const char *field;      /* Status.field; never NULL */
    const uint8_t *body;    /* reply body bytes as received; NULL when empty */
    size_t body_len;
} bus_raw_reply_t;

/* Called once per request; it may send, cancel or expire on the same client. */
typedef void (*bus_raw_fn)(void *arg, const bus_raw_reply_t *reply);

/* Queue REQUEST (service, Request{id, method, timeout_ms, body}, and the
 * Caller frame when caller is not NULL: only gateways and local peers may
 * stamp it, docs/protocol.md) without blocking. body may be NULL when
 * body_len is 0; it is copied. timeout_ms 0 = the broker's default
 * (BUS_DEFAULT_TIMEOUT_MS locally); capped at BUS_MAX_TIMEOUT_MS. `user` is
 * handed back to fn. 0 and *id (may be NULL), or (nothing in flight then):
 *   ES_INVALID_ARGUMENT   c/service/method NULL, service empty or longer than
 *                         BUS_MAX_SERVICE, body NULL with body_len > 0;
 *   ES_TOO_LARGE          the Request is over BUS_MAX_MSG;
 *   ES_RESOURCE_EXHAUSTED BUS_CLIENT_MAX_INFLIGHT in flight, out of memory;
 *   ES_UNAVAILABLE        not connected to the broker, or the socket is at its
 *                         high-water mark (ZMQ_IMMEDIATE: nothing queued). */
int bus_client_send_raw(bus_client_t *c, const char *service, const char *method,
                        const uint8_t *body, size_t body_len, uint32_t timeout_ms,
                        const Espace__V1__Caller *caller, void *user, uint64_t *id);

/* Read every message waiting (never blocks): each reply to a raw request in
 * flight goes to fn(arg, ...) and leaves the table; replies to no request in
 * flight (cancelled, expired) are dropped and counted in bus_client_dropped;
 * malformed ones are dropped; events are kept as by bus_client_recv. Returns
 * when nothing is left to read (the fd is then armed again): 0, or
 * ES_INVALID_ARGUMENT (c or fn NULL), ES_INTERNAL (socket error). */
int bus_client_process(bus_client_t *c, bus_raw_fn fn, void *arg);

/* Hand every raw request whose local deadline has passed to fn with
 * ES_DEADLINE_EXCEEDED and message "no answer from the broker", earliest
 * first. Returns how many. */
size_t bus_client_expire(bus_client_t *c, bus_raw_fn fn, void *arg);

/* Forget a raw request in flight: fn will not see it. 0 or ES_NOT_FOUND. */
int bus_client_cancel(bus_client_t *c, uint64_t id);

/* Raw requests in flight. */
size_t bus_client_inflight(const bus_client_t *c);

/* ---- worker side ---- */

typedef struct bus_worker bus_worker_t;

/* One request handed to a worker. Release with bus_request_release. */
typedef struct bus_request {
    uint8_t client[256];            /* broker's route back (opaque) */
    size_t client_len;
    uint8_t ticket[8];              /* broker's ticket (opaque) */
    Espace__V1__Caller *caller;     /* stamped by the broker; never NULL */
    Espace__V1__Request *req;       /* decoded envelope; never NULL */
} bus_request_t;

void bus_request_release(bus_request_t *r);

/* Connect and send READY for `service` with `capacity` requests in flight. */
int bus_worker_new(void *zctx, const bus_conn_t *conn, const char *service, uint32_t capacity,
                   bus_worker_t **out);
void bus_worker_destroy(bus_worker_t **w);

/* ZeroMQ socket to put in a zmq_pollitem_t (ZMQ_POLLIN). */
void *bus_worker_socket(bus_worker_t *w);

/* Receive the next request without blocking: 0 and *out filled, or
 * ES_NOT_FOUND when none is waiting. Heartbeats and DISCONNECT are handled
 * inside (a DISCONNECT reconnects). Malformed frames are dropped. */
int bus_worker_recv(bus_worker_t *w, bus_request_t *out);

/* Send the reply to `req`: status (es_status), message and field (may be
 * NULL), and body (may be NULL/0). */
int bus_worker_reply(bus_worker_t *w, const bus_request_t *req, int status, const char *message,
                     const char *field, const uint8_t *body, size_t body_len);

/* 1 once the broker has answered the current registration (it acknowledges
 * READY with a HEARTBEAT), 0 before and again after a reconnect. A service
 * announces itself ready only then, so its first request never meets
 * "no live worker". */
int bus_worker_registered(const bus_worker_t *w);

/* Send a HEARTBEAT if one is due, and nothing else (never reads, never
 * reconnects): for a worker busy between two reads, e.g. the service
 * runtime between the requests of a long batch, so that the broker does not
 * take a busy worker for a dead one (it is dead after BUS_LIVENESS silent
 * intervals). Cheap when none is due. 0, or the es_status of the send. */
int bus_worker_heartbeat(bus_worker_t *w);

/* Timers: send heartbeats when due, reconnect when the broker went silent
 * for BUS_LIVENESS intervals. Call at least every heartbeat interval; returns
 * the milliseconds until it wants to run again. */
int bus_worker_tick(bus_worker_t *w);

/* ---- events ---- */

typedef struct bus_pub bus_pub_t;
typedef struct bus_sub bus_sub_t;

/* Publisher connected to the broker's XSUB endpoint. */
int bus_pub_new(void *zctx, const bus_conn_t *conn, bus_pub_t **out);
void bus_pub_destroy(bus_pub_t **p);

/* Take in the subscriptions the broker sent (libzmq applies them only when
 * the socket is next used). A publisher with nothing to publish must call
 * it regularly, e.g. every turn of its loop: subscriptions have no
 * high-water mark, so they queue in memory until read. Cheap. 0, or
 * ES_INTERNAL. */
int bus_pub_pump(bus_pub_t *p);

/* Publish `body` on `topic` (<= BUS_MAX_TOPIC): frame 1 = topic, frame 2 =
 * Event{topic, at_ms = now, body}. Never blocks. An event is dropped
 * silently by libzmq (PUB) while BUS_EVENT_HWM events wait for the broker:
 * publishing cannot tell. */
int bus_publish(bus_pub_t *p, const char *topic, const ProtobufCMessage *body);

/* Subscriber connected to the broker's XPUB endpoint. */
int bus_sub_new(void *zctx, const bus_conn_t *conn, bus_sub_t **out);
void bus_sub_destroy(bus_sub_t **s);

/* Subscribe to every topic starting with `prefix` ("" = all). */
int bus_subscribe(bus_sub_t *s, const char *prefix);
/* Drop one subscription to `prefix` (libzmq counts them: a prefix
 * subscribed twice needs two). */
int bus_unsubscribe(bus_sub_t *s, const char *prefix);

/* Wait up to timeout_ms for an event. 0 and topic (NUL-terminated, up to
 * BUS_MAX_TOPIC) and *event (free with codec_free) set; ES_DEADLINE_EXCEEDED
 * if none. */
int bus_sub_recv(bus_sub_t *s, int timeout_ms, char topic[BUS_MAX_TOPIC + 1],
                 Espace__V1__Event **event);

void *bus_sub_socket(bus_sub_t *s);

/* Set linger 0, ZMQ_MAXMSGSIZE, and (tcp) CURVE client options on a socket
 * according to conn. Shared by every socket this library opens. */
int bus_socket_setup(void *sock, const bus_conn_t *conn);

/* Current time in ms, CLOCK_MONOTONIC (for deadlines). */
int64_t bus_mono_ms(void);
/* Current time in ms since the epoch, CLOCK_REALTIME. */
int64_t bus_wall_ms(void);

#endif
