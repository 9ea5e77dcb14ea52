/*
 * edge.h - the websocket edge: the door web clients (patients) come in by.
 *
 * One process, one thread: libwebsockets 4.1 on its libuv event-lib plugin
 * with a uv loop of our own (STACK.md pitfalls 3, 12, 13), and the ZeroMQ
 * sockets watched from the same loop (uv_poll on ZMQ_FD, drained while
 * ZMQ_EVENTS has POLLIN: pitfall 1; ZMQ_FD is never handed to lws: pitfall 2).
 *
 * It serves:
 *   - static files from web_root, with strict security headers (a CSP with no
 *     inline script, no framing, nosniff, no referrer; HSTS under TLS);
 *   - GET /healthz ("ok") and GET /metrics (Prometheus text);
 *   - websockets with subprotocol "espace.v1": binary frames, one protobuf
 *     message each (proto/espace/v1/edge.proto, docs/protocol.md section
 *     "Websocket edge"). A connection logs in (identity Login) or resumes a
 *     session (identity Authenticate with its token) once, and is then bound
 *     to that session's Caller: every call it makes goes to the broker with
 *     that Caller frame, never with anything the client wrote, plus the
 *     client's address (Caller.source_address). A call is forwarded only if
 *     the allow-list (allow.c) lists its service method for the connection's
 *     kind of caller (not bound yet, or patient): anything else is answered
 *     PERMISSION_DENIED by the edge. Only patients may bind for now. Live events "patient.<id>.*" reach every connection of
 *     that patient; "identity.session.revoked" closes the connections of the
 *     revoked session.
 *   Events may be lost (broker restart, high-water marks), so the edge also
 *   keeps each bound connection's session token (wiped on close) and every
 *   revalidate_s seconds (spread over time) asks identity Authenticate again:
 *   a refusal (UNAUTHENTICATED) closes the connection with
 *   Closing{UNAUTHENTICATED}; no answer or UNAVAILABLE keeps the binding.
 *
 * Limits: each is a named constant below and an option (0 = the default).
 *
 * The edge reaches the broker as a gateway: on ipc (`espace up`) it is a
 * local peer, on tcp it needs a CURVE keypair registered with role
 * `gateway`. Either way the broker honours the Caller frame it stamps.
 *
 * THREAD SAFETY: edge_run owns everything it opens (uv loop, lws context,
 * ZeroMQ context and sockets) on the calling thread. edge_cert_generate is
 * thread-safe.
 *
 * Errors: 0 or a negative es_status (proto/status.h).
 */
#ifndef ES_EDGE_H
#define ES_EDGE_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"

#define EDGE_SUBPROTOCOL "espace.v1"
#define EDGE_DEFAULT_HOST "127.0.0.1"
#define EDGE_DEFAULT_PORT 8080

/* Limits and their defaults. */
#define EDGE_MAX_MESSAGE (256u * 1024)     /* one websocket message; over it: close 1009 */
#define EDGE_RATE_PER_S 50                 /* requests per second per connection (token bucket) */
#define EDGE_RATE_BURST 100                /* bucket size */
#define EDGE_QUEUE_MSGS 256                /* outgoing messages queued per connection */
#define EDGE_QUEUE_BYTES (1024u * 1024)    /* outgoing bytes queued per connection */
#define EDGE_MAX_INFLIGHT 64               /* requests in flight per connection */
#define EDGE_PING_S 20                     /* ping after this many idle seconds */
#define EDGE_IDLE_S 30                     /* hang up after this many idle seconds */
#define EDGE_MAX_CONNS 10000               /* websocket connections; more: HTTP 503 */
#define EDGE_REQUEST_TIMEOUT_MS 5000       /* deadline of a call that gives none */
#define EDGE_MAX_REQUEST_TIMEOUT_MS 60000  /* longest deadline a client may ask for */
#define EDGE_MAX_BAD 16                    /* malformed messages before close 1008 */
#define EDGE_MAX_PENDING BUS_CLIENT_MAX_INFLIGHT /* requests in flight through the
                                              edge, all connections together */
#define EDGE_REVALIDATE_S 300              /* re-check each bound session this often */

/* Unauthenticated calls: log-in, sign-up and activation (allow.c marks
 * them), which anyone may send and each cost identity an Argon2id hash. Two
 * token buckets, checked before the call leaves the edge; over either the
 * edge answers RESOURCE_EXHAUSTED "retry in N s" itself.
 *  - Per client address (the TCP peer; an IPv6 /64 counts as one): a person
 *    needs a handful (a typo, a sign-up then an activation), a household or
 *    an office behind one NAT a few dozen at once; 2 a second sustained lets
 *    a few hundred people behind one address through, while one machine's
 *    flood costs identity at most 2 hashes a second.
 *  - For the whole edge: identity spends at most half its time hashing for
 *    such calls (IDENTITY_PWHASH_SHARE_OTHER, some 5-10 hashes a second at
 *    the production cost); admitting 20 a second bounds its queue of them to
 *    a few seconds of work whatever the number of addresses, and leaves room
 *    for the cheap refusals. An address over its own rate takes nothing
 *    from the global bucket, so a flood from a few addresses never empties
 *    it for everyone else. */
#define EDGE_UNAUTH_ADDR_RATE_PER_S 2
#define EDGE_UNAUTH_ADDR_BURST 30
#define EDGE_UNAUTH_RATE_PER_S 20
#define EDGE_UNAUTH_BURST 100
#define EDGE_UNAUTH_ADDR_SLOTS 16384  /* addresses remembered (about 40 bytes each) */
/* Replies and events waiting for connections that do not read, all
 * connections together: each connection may hold EDGE_QUEUE_BYTES, and
 * EDGE_MAX_CONNS of them could hold 10 GiB. Over this cap the slowest
 * readers (the queues that waited longest without a write going out, then
 * the biggest) are closed at once (1008 "too slow: edge reply memory full")
 * and their queues freed. */
#define EDGE_QUEUE_TOTAL_BYTES (256u * 1024 * 1024)

typedef struct edge_opts {
    const char *host;       /* listen address; NULL = EDGE_DEFAULT_HOST */
    int port;               /* TCP port; 0 = any free port (see bound_port).
                               edge_opts_default sets EDGE_DEFAULT_PORT */
    const char *web_root;   /* folder of static files served at "/" (index.html
                               by default), or NULL for none (404) */
    const char *tls_cert;   /* PEM certificate; TLS (https/wss) when both */
    const char *tls_key;    /* ... tls_cert and tls_key are set */
    bus_conn_t bus;         /* broker request endpoint (ipc, or tcp + CURVE
                               with a `gateway` key) */
    bus_conn_t events;      /* broker events-out endpoint (XPUB); endpoint NULL
                               = no live events */
    void *zctx;             /* ZeroMQ context for the bus sockets (shared with an
                               in-process broker: inproc endpoints), borrowed:
                               the caller terminates it after edge_run returned;
                               NULL = the edge creates its own */
    int stop_fd;            /* edge_run returns when this fd is readable (not read) */
    int ready_fd;           /* if >= 0, one byte written once it listens */
    int *bound_port;        /* if not NULL, receives the listening port before
                               the ready byte is written */
    /* limits, 0 = default */
    size_t max_message;         /* EDGE_MAX_MESSAGE */
    unsigned rate_per_s;        /* EDGE_RATE_PER_S */
    unsigned rate_burst;        /* EDGE_RATE_BURST */
    unsigned queue_msgs;        /* EDGE_QUEUE_MSGS */
    size_t queue_bytes;         /* EDGE_QUEUE_BYTES */
    unsigned max_inflight;      /* EDGE_MAX_INFLIGHT */
    unsigned ping_s;            /* EDGE_PING_S */
    unsigned idle_s;            /* EDGE_IDLE_S (kept > ping_s) */
    unsigned max_conns;         /* EDGE_MAX_CONNS */
    unsigned request_timeout_ms;/* EDGE_REQUEST_TIMEOUT_MS */
    unsigned max_bad;           /* EDGE_MAX_BAD */
    unsigned revalidate_s;      /* EDGE_REVALIDATE_S */
    unsigned unauth_addr_rate;  /* EDGE_UNAUTH_ADDR_RATE_PER_S */
    unsigned unauth_addr_burst; /* EDGE_UNAUTH_ADDR_BURST */
    unsigned unauth_rate;       /* EDGE_UNAUTH_RATE_PER_S */
    unsigned unauth_burst;      /* EDGE_UNAUTH_BURST */
    size_t queue_total_bytes;   /* EDGE_QUEUE_TOTAL_BYTES */
} edge_opts_t;

/* Fill o with the defaults: host 127.0.0.1, port 8080, every limit at its
 * constant, stop_fd/ready_fd -1, everything else NULL/0. */
void edge_opts_default(edge_opts_t *o);

/* Serve until o->stop_fd is readable. On stop every websocket gets
 * Closing{CODE_UNAVAILABLE} and a 1001 close, then the context and the loop
 * are torn down. Returns 0 after a clean stop, or a negative es_status if it
 * could not start: ES_INVALID_ARGUMENT (bad options or endpoint),
 * ES_UNAVAILABLE (cannot listen: address in use, unreadable certificate, lws
 * event-lib plugin missing), ES_INTERNAL. */
int edge_run(const edge_opts_t *o);

/* Write a self-signed certificate for local use: EC P-256 key, SHA-256
 * signature, valid one year from now, subject and issuer CN=common_name,
 * subjectAltName DNS:common_name, DNS:localhost, IP:127.0.0.1. cert_path gets
 * mode 0644, key_path 0600 (both replaced if present). 0, ES_INVALID_ARGUMENT
 * (NULL or empty argument), ES_INTERNAL (OpenSSL or file error; no partial
 * key file is left). */
int edge_cert_generate(const char *cert_path, const char *key_path, const char *common_name);

#endif
