/*
 * edge_int.h - the edge's private modules (not part of the public API).
 *
 *   queue.c    refcounted outgoing messages, the bounded per-connection
 *              queue, the token bucket and the websocket message assembler
 *              (pure: no lws or zmq calls, unit-tested in test_edge.c);
 *   metrics.c  counters and the latency histogram, Prometheus rendering (pure);
 *   allow.c    the allow-list: which service methods each kind of caller may
 *              call through the edge (pure, one table);
 *   limit.c    the buckets of unauthenticated calls, per client address and
 *              for the whole edge (pure);
 *   conn.c     the "espace.v1" websocket protocol: per-connection state,
 *              ClientMessage handling, binding, closing;
 *   send.c     the writes: a queued frame written at once when nothing
 *              waits before it, else from the WRITEABLE callback; Resync,
 *              close frame, shedding of the slowest readers;
 *   bridge.c   the broker side: a bus client (bus.h, raw requests) for
 *              requests and a SUB for events, both on uv_poll; each
 *              connection's requests in flight; subscriptions;
 *   http.c     the "http" protocol: security headers, /healthz, /metrics,
 *              the connection cap;
 *   edge.c     edge_run: uv loop, lws context, timers, stop;
 *   cert.c     edge_cert_generate.
 *
 * THREAD SAFETY: everything runs on the edge_run thread.
 */
#ifndef ES_EDGE_INT_H
#define ES_EDGE_INT_H

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "bus/bus.h"
#include "espace/v1/common.pb-c.h"
#include "proto/ids.h"
#include "proto/status.h"
#include "services/edge/edge.h"

#define EDGE_COMP "edge"

/* ---- queue.c: outgoing messages ---- */

/* One packed ServerMessage with LWS_PRE bytes of headroom before it (lws
 * writes the frame header there). Shared by every queue holding it (an event
 * goes to all connections of a patient as one buffer). */
typedef struct edge_msg {
    uint32_t refs;   /* owners; freed at 0 */
    size_t len;      /* payload bytes after the headroom */
    uint8_t data[];  /* LWS_PRE + len bytes */
} edge_msg_t;

/* New message of len payload bytes, refs = 1; NULL on allocation failure. */
edge_msg_t *edge_msg_new(size_t len);
/* The payload (after the headroom). */
uint8_t *edge_msg_payload(edge_msg_t *m);
/* Pack a protobuf message into a new edge_msg (refs = 1); NULL on failure. */
edge_msg_t *edge_msg_pack(const ProtobufCMessage *pb);
void edge_msg_ref(edge_msg_t *m);
/* Drop one reference; frees at 0. *m is set to NULL. NULL is a no-op. */
void edge_msg_unref(edge_msg_t **m);

/* Bounded FIFO of messages for one connection. Replies may use the whole
 * capacity (max_msgs messages, max_bytes bytes); events only 3/4 of it, so a
 * burst of events never makes room short for replies. The ring grows on
 * demand from 8 slots up to max_msgs. */
typedef struct edge_outq {
    edge_msg_t **ring; /* slots */
    uint32_t cap;      /* slots allocated */
    uint32_t head;     /* index of the oldest */
    uint32_t count;    /* messages queued */
    size_t bytes;      /* payload bytes queued */
    uint32_t max_msgs; /* limit on count */
    size_t max_bytes;  /* limit on bytes */
    size_t *total;     /* bytes queued by every queue sharing it (the edge's
                          whole reply memory), or NULL; kept by push/pop */
} edge_outq_t;

/* total (borrowed, may be NULL) is added every byte this queue holds: one
 * counter shared by all the edge's queues. A message shared by several
 * queues (an event) counts once per queue: an upper bound of the memory. */
void edge_outq_init(edge_outq_t *q, uint32_t max_msgs, size_t max_bytes, size_t *total);
/* Drop every message and free the ring. */
void edge_outq_fini(edge_outq_t *q);
/* Append m (taking one new reference on success). event = 1 applies the
 * event share. 0, or ES_RESOURCE_EXHAUSTED when it does not fit (m untouched). */
int edge_outq_push(edge_outq_t *q, edge_msg_t *m, int event);
/* The oldest message (borrowed), or NULL when empty. */
edge_msg_t *edge_outq_peek(const edge_outq_t *q);
/* Remove the oldest message (dropping the queue's reference). */
void edge_outq_pop(edge_outq_t *q);

/* ---- queue.c: token bucket ---- */

typedef struct edge_bucket {
    double tokens;   /* available now */
    int64_t last_us; /* last refill, monotonic microseconds */
} edge_bucket_t;

void edge_bucket_init(edge_bucket_t *b, unsigned burst, int64_t now_us);
/* Refill at rate per second up to burst, then take one token: 1 if taken,
 * 0 if the bucket is empty. */
int edge_bucket_take(edge_bucket_t *b, unsigned rate, unsigned burst, int64_t now_us);

/* ---- queue.c: message assembler ---- */

/* The fragments of one websocket message, added up. */
typedef struct edge_rx {
    uint8_t *buf; /* malloc'd */
    size_t len;   /* bytes held */
    size_t cap;   /* bytes allocated */
    int binary;   /* the message's first frame was binary */
} edge_rx_t;

/* Append a chunk. 0, ES_TOO_LARGE when len would pass max (nothing
 * appended), ES_RESOURCE_EXHAUSTED on allocation failure. */
int edge_rx_append(edge_rx_t *rx, const void *data, size_t n, size_t max);
/* Forget the message; keeps a small buffer (<= 16 KiB) for the next one. */
void edge_rx_reset(edge_rx_t *rx);
void edge_rx_free(edge_rx_t *rx);

/* ---- allow.c: the allow-list ---- */

/* Kinds of caller, as the edge knows them: a connection not bound yet, and
 * a connection bound to a patient's session. Professionals do not log in
 * at the edge (their software speaks to the broker). */
#define EDGE_WHO_ANONYMOUS 1u
#define EDGE_WHO_PATIENT 2u
/* Entry flag: the call counts in the buckets of unauthenticated calls
 * (limit.c): sign-up and activation, whose work (Argon2id) anyone can ask
 * for. */
#define EDGE_ALLOW_UNAUTH 1u

typedef struct edge_allow {
    const char *service; /* bus name (proto/names.h) */
    const char *method;  /* rpc name in that service's .proto */
    unsigned who;        /* EDGE_WHO_* bits that may call it */
    unsigned flags;      /* EDGE_ALLOW_* */
} edge_allow_t;

/* May a caller of kind `who` (one EDGE_WHO_*) call service.method? 0 and
 * *out (the entry, static; out may be NULL); ES_UNAUTHENTICATED when the
 * method is listed for bound patients only (log in first);
 * ES_PERMISSION_DENIED when it is not listed for `who` at all. */
int edge_allow_check(const char *service, const char *method, unsigned who,
                     const edge_allow_t **out);
/* Check the table against the schema: each entry names a method of its
 * service's generated descriptor, with a known who, at most once. 0, or
 * ES_INTERNAL and *bad (the first bad entry; bad may be NULL). edge_run
 * refuses to start on ES_INTERNAL. */
int edge_allow_verify(const edge_allow_t **bad);
/* The table (for tests): its entries and their count. */
const edge_allow_t *edge_allow_table(size_t *n);

/* ---- limit.c: buckets of unauthenticated calls ---- */

/* Where a connection comes from: its address as text (logs, the Caller's
 * source_address) and as the key of its bucket: the IPv4 address, or the
 * /64 of an IPv6 address (what one subscriber gets; an IPv4 address mapped
 * in IPv6 counts as IPv4). */
#define EDGE_ADDR_TEXT 46 /* INET6_ADDRSTRLEN */
#define EDGE_ADDR_KEY 17  /* family byte + up to 16 address bytes */
typedef struct edge_addr {
    char text[EDGE_ADDR_TEXT]; /* "" when unknown */
    uint8_t key[EDGE_ADDR_KEY];
    uint8_t key_len;           /* 0 when unknown */
} edge_addr_t;

/* The address of the peer of socket fd into a; an unknown one (not a TCP
 * socket) has text "unknown" and no key: such calls share one bucket. */
void edge_addr_of_fd(int fd, edge_addr_t *a);
/* The same from a sockaddr (sa_len bytes); 0 or ES_INVALID_ARGUMENT
 * (a zeroed). */
int edge_addr_from_sockaddr(const void *sa, size_t sa_len, edge_addr_t *a);

typedef struct edge_limiter edge_limiter_t;

/* Per-address buckets (about `slots`, in sets of 8) of addr_burst tokens
 * refilled at addr_rate per second, and one global bucket of burst tokens
 * refilled at rate per second. NULL on allocation failure. */
edge_limiter_t *edge_limiter_new(size_t slots, unsigned addr_rate, unsigned addr_burst,
                                 unsigned rate, unsigned burst, int64_t now_us);
void edge_limiter_destroy(edge_limiter_t **l);

/* Which bucket refused a call. */
#define EDGE_LIMIT_ADDR 1
#define EDGE_LIMIT_GLOBAL 2

/* Take a token for one unauthenticated call from a: from its address's
 * bucket, then from the global one (a call its address's bucket refuses
 * takes nothing from the global; one the global refuses still spent its
 * address's token). 0; or ES_RESOURCE_EXHAUSTED, *which
 * (EDGE_LIMIT_*) and *retry_ms (>= 1: until that bucket holds a token
 * again). A new address takes a slot of its set that is full again (nothing
 * lost), else the one closest to full. */
int edge_limiter_take(edge_limiter_t *l, const edge_addr_t *a, int64_t now_us, int *which,
                      int64_t *retry_ms);

/* ---- metrics.c ---- */

#define EDGE_METRICS_SERVICES 16 /* distinct service labels; others count as "other" */
#define EDGE_METRICS_CODES (1 - ES_STATUS_MIN) /* espace.v1.Code values 0..13 */
#define EDGE_METRICS_BUCKETS 12  /* latency histogram buckets (+Inf apart) */

typedef struct edge_metrics {
    uint64_t connections;                       /* gauge: open websockets */
    uint64_t connections_total;                 /* websockets accepted */
    uint64_t refused_total;                     /* upgrades refused (max_conns) */
    char services[EDGE_METRICS_SERVICES][BUS_MAX_SERVICE + 1]; /* labels seen */
    size_t n_services;                          /* used entries of services */
    uint64_t requests[EDGE_METRICS_SERVICES + 1][EDGE_METRICS_CODES]; /* last row: other */
    uint64_t latency[EDGE_METRICS_BUCKETS + 1]; /* per bucket (not cumulative); last: +Inf */
    double latency_sum;                         /* seconds */
    uint64_t latency_count;                     /* observations */
    uint64_t queue_drops;                       /* events dropped on full queues */
    uint64_t events;                            /* events received from the bus */
    uint64_t bad_messages;                      /* malformed client messages */
    uint64_t oversize;                          /* closes 1009 */
    uint64_t unauth_limited[2];                 /* unauthenticated calls refused by
                                                   [0] their address's bucket, [1] the
                                                   global one */
    uint64_t denied;                            /* calls outside the allow-list */
    uint64_t shed;                              /* connections closed: reply memory full */
    uint64_t frames[2];                         /* frames written [0] at once (send.c),
                                                   [1] from the WRITEABLE callback */
    uint64_t queued_bytes;                      /* gauge: bytes of every queue */
} edge_metrics_t;

/* Upper bounds of the latency buckets, seconds. */
extern const double edge_metrics_bounds[EDGE_METRICS_BUCKETS];

/* Count one request answered with `status` (0 or a negative es_status,
 * counted under its wire code, es_to_code: unknown = INTERNAL) for `service`
 * (names that are not [a-z0-9._-]{1,64}, and names past the first
 * EDGE_METRICS_SERVICES, count as "other"). seconds < 0: no latency
 * observation. */
void edge_metrics_request(edge_metrics_t *m, const char *service, int status, double seconds);

/* Render the Prometheus text exposition into buf (cap bytes). 0 and *len,
 * or ES_TOO_LARGE when cap is too small. */
int edge_metrics_render(const edge_metrics_t *m, char *buf, size_t cap, size_t *len);

/* Room edge_metrics_render may need at most. */
#define EDGE_METRICS_TEXT_MAX 32768

/* ---- the edge state (edge.c, conn.c, bridge.c, http.c) ---- */

typedef struct edge edge_t;
typedef struct edge_conn edge_conn_t;
typedef struct edge_pending edge_pending_t;
typedef struct edge_principal edge_principal_t;

/* LOGIN/RESUME bind the connection; CALL is a client call; REVALIDATE is
 * the edge's own periodic Authenticate of a bound session (never answered
 * to the client). */
enum edge_pkind { EDGE_P_LOGIN = 1, EDGE_P_RESUME = 2, EDGE_P_CALL = 3, EDGE_P_REVALIDATE = 4 };

/* One request in flight to the broker: the user pointer of its raw request
 * on the bus client, which owns its id and deadline (bus.h). */
struct edge_pending {
    uint64_t bus_id;                     /* Request.id on the bus (bus_client_send_raw) */
    uint64_t client_id;                  /* ClientMessage.id to answer */
    edge_conn_t *conn;                   /* who asked; entries die with their conn */
    int kind;                            /* edge_pkind */
    char service[BUS_MAX_SERVICE + 1];   /* for metrics */
    int64_t sent_us;                     /* monotonic, for latency */
    edge_pending_t *cprev, *cnext;       /* the connection's list */
};

/* A patient with at least one bound connection. */
struct edge_principal {
    char id[ID_HEX];          /* patient id (ids.h text form) */
    uint32_t refs;            /* bound connections */
    edge_conn_t *conns;       /* their list (pnext/pprev) */
    edge_principal_t *hnext;  /* hash chain */
};

/* Per-connection state: the lws per-session data of "espace.v1" (zeroed by
 * lws, freed by lws after LWS_CALLBACK_CLOSED; nothing points to it after). */
struct edge_conn {
    edge_t *edge;
    struct lws *wsi;
    uint64_t id;                       /* for logs */
    int open;                          /* ESTABLISHED seen, CLOSED not yet */
    edge_conn_t *prev, *next;          /* every open connection */
    edge_conn_t *pprev, *pnext;        /* connections of the same principal */
    edge_principal_t *principal;       /* bound principal, or NULL */
    Espace__V1__Caller *caller;        /* bound caller (codec_free), or NULL */
    int auth_pending;                  /* a login/resume is in flight */
    char *token;                       /* session token (malloc'd; sodium_memzero
                                          before free): set by resume/login, kept
                                          while bound, for revalidation */
    int64_t revalidate_ms;             /* monotonic ms of the next revalidation */
    int revalidating;                  /* a revalidation is in flight */
    edge_rx_t rx;                      /* message being assembled */
    edge_outq_t q;                     /* outgoing */
    int64_t stalled_us;                /* monotonic: the queue has waited since
                                          (its first message, or the last write) */
    uint32_t dropped;                  /* events dropped since the last Resync */
    edge_bucket_t bucket;              /* rate limit */
    edge_addr_t addr;                  /* the client's address (TCP peer) */
    uint32_t inflight;                 /* requests in flight */
    uint32_t bad;                      /* malformed messages so far */
    edge_pending_t *pending;           /* requests in flight (cprev/cnext) */
    int closing;                       /* close requested: no more input */
    int close_now;                     /* close without flushing the queue */
    int killed;                        /* the close itself was started */
    int close_code;                    /* websocket close status */
    char close_reason[64];             /* close reason text */
};

#define EDGE_PRINCIPAL_BUCKETS 4096

/* Bits of edge.handles: the uv handles initialised. */
enum {
    EDGE_H_BUS = 1,     /* bus_poll */
    EDGE_H_SUB = 2,     /* sub_poll */
    EDGE_H_PREPARE = 4, /* prepare */
    EDGE_H_STOP = 8,    /* stop_poll */
    EDGE_H_SWEEP = 16   /* sweep */
};

struct edge {
    edge_opts_t o;                      /* options with defaults applied */
    uv_loop_t loop;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    lws_retry_bo_t retry;               /* ping / idle policy (outlives ctx) */
    int tls;                            /* serving https/wss */
    /* bridge */
    void *zctx;
    bus_client_t *bus;                  /* to the broker's request endpoint (raw requests) */
    bus_sub_t *sub;                     /* SUB to events-out, or NULL */
    uv_poll_t bus_poll, sub_poll, stop_poll;
    uv_timer_t sweep;                   /* 250 ms: deadlines, session expiry, stop */
    uv_prepare_t prepare;               /* drains ZeroMQ after sends (edge-triggered fd) */
    int handles;                        /* bit set of uv handles initialised */
    int need_drain;                     /* EDGE_H_BUS / EDGE_H_SUB: a zmq call on that
                                         * socket may have eaten its fd edge */
    uint64_t next_conn_id;
    edge_principal_t *prbuckets[EDGE_PRINCIPAL_BUCKETS];
    edge_conn_t *conns;                 /* open websockets */
    size_t n_conns;
    edge_metrics_t metrics;
    edge_limiter_t *unauth;             /* buckets of unauthenticated calls */
    size_t queued;                      /* bytes of every connection's queue */
    int stopping;                       /* stop requested */
    int64_t stop_at_ms;                 /* monotonic: give up flushing then */
    int destroyed;                      /* lws context destroyed */
};

/* edge.c */
int64_t edge_now_us(void);

/* conn.c */
int edge_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);
/* Queue a CallReply for client id with status (0 or a negative es_status,
 * sent as es_to_code(status)); body only with status 0. A reply that does not
 * fit closes the connection ("too slow"). */
void edge_conn_reply(edge_conn_t *c, uint64_t id, int status, const char *message,
                     const char *field, const uint8_t *body, size_t body_len);
/* Close c with ws_status. status < 0 (an es_status): queue
 * Closing{es_to_code(status), message} first (if it fits) and close after the
 * queue drained; EDGE_NO_CLOSING: close at once, without Closing. Idempotent. */
#define EDGE_NO_CLOSING 0
void edge_conn_close(edge_conn_t *c, int status, const char *message, int ws_status);
/* Queue a shared event message (dropped and counted when the queue is full). */
void edge_conn_event(edge_conn_t *c, edge_msg_t *m);

/* send.c: the write path of a connection. */
/* Queue m on c (takes the reference; NULL or a full queue closes c "too
 * slow") and send it: written at once when nothing waits before it (in c's
 * queue or in lws) and c has its own socket, else drained from the
 * WRITEABLE callback; then shed if over the total cap (c itself may be
 * closed). */
void edge_conn_push(edge_conn_t *c, edge_msg_t *m);
/* The message just queued on c (a reply or a live event) goes out: written
 * at once when it is the only one queued, no event was dropped before it,
 * lws holds nothing of c's and c has its own socket; else from the next
 * WRITEABLE callback. May close c when the socket fails. */
void edge_conn_send(edge_conn_t *c);
/* Every queue together over o.queue_total_bytes: close the slowest
 * readers at once and free their queues until under. */
void edge_conn_shed(edge_t *e);
/* lws's WRITEABLE callback of c: the close frame, or up to 64 queued frames
 * (then a Resync after dropped events). 0, or -1 to drop the socket. */
int edge_conn_writeable(edge_conn_t *c);
/* Bind c to caller (takes ownership of caller). 0 or a negative es_status
 * (caller freed). */
int edge_conn_bind(edge_conn_t *c, Espace__V1__Caller *caller);
/* Principal map. */
edge_principal_t *edge_principal_find(edge_t *e, const char *id);
/* The 250 ms sweep of connections: expired sessions, revalidations due. */
void edge_conns_sweep(edge_t *e);
/* Keep a copy of the session token of c (replacing and wiping the old one);
 * NULL or "" wipes it. 0 or ES_RESOURCE_EXHAUSTED. */
int edge_conn_token_set(edge_conn_t *c, const char *token);
/* A revalidation of c was answered: status (0 or a negative es_status) and
 * the AuthenticateReply body. Refused (UNAUTHENTICATED, or another session):
 * close. */
void edge_conn_revalidated(edge_conn_t *c, int status, const uint8_t *body, size_t len);

/* bridge.c */
int edge_bridge_open(edge_t *e);
void edge_bridge_close(edge_t *e);
/* Forward a request for c, stamped with caller (the connection's bound
 * Caller, or the anonymous one). 0 or a negative es_status (nothing sent):
 * those of bus_client_send_raw (ES_UNAVAILABLE: broker unreachable). */
int edge_bridge_send(edge_t *e, edge_conn_t *c, uint64_t client_id, int kind,
                     const char *service, const char *method, const uint8_t *body,
                     size_t body_len, uint32_t timeout_ms, const Espace__V1__Caller *caller);
/* Forget every request of c (its replies will be dropped). */
void edge_bridge_forget(edge_t *e, edge_conn_t *c);
/* Answer DEADLINE_EXCEEDED to requests past their local deadline. */
void edge_bridge_sweep(edge_t *e);
/* Drain the sockets of `which` (EDGE_H_BUS: replies, EDGE_H_SUB: events). */
void edge_bridge_drain(edge_t *e, int which);
/* Subscribe (on = 1) or unsubscribe the events of a topic prefix. 0 or a
 * negative es_status. */
int edge_bridge_subscribe(edge_t *e, const char *prefix, int on);

/* http.c */
int edge_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len);
/* Size of the http protocol's per-transaction state. */
size_t edge_http_pss_size(void);
/* Add the security headers (HSTS when e->tls) at *p (up to end). 0 or -1. */
int edge_http_security_headers(edge_t *e, struct lws *wsi, unsigned char **p,
                               unsigned char *end);

#endif
