/*
 * broker.h - the espace broker: request routing and event fan-out.
 *
 * Requests (docs/protocol.md): clients send REQUEST to a service name; the
 * broker stamps the caller (the session bound by AUTH on this connection, or
 * the caller a gateway/local peer supplies, or an anonymous caller with just
 * the peer role and key), and hands the request to the live worker of that
 * service with the most free capacity. With no live worker it answers
 * UNAVAILABLE at once; past the request deadline DEADLINE_EXCEEDED; when a
 * worker dies (no heartbeat for BUS_LIVENESS intervals, DISCONNECT, or its
 * connection ends) every request it held is answered UNAVAILABLE. A reply
 * arriving after that is dropped: each request gets exactly one answer.
 *
 * Admission: a request that finds no free worker waits in its service's
 * queue (at most BROKER_MAX_QUEUE). While the oldest request of that queue
 * has waited opts->admit_ms or more, the service is not keeping up: new
 * requests for it are answered RESOURCE_EXHAUSTED ("service busy") at once,
 * instead of joining seconds of backlog, and the admitted ones keep their
 * latency. A burst is admitted whole (its requests join a young queue); the
 * refusals stop as soon as the queue is young again.
 *
 * Per connection: at most opts->conn_pending requests of one client
 * connection wait for their answer (opts->gateway_pending for a gateway or a
 * local peer, which speak for many users); one more is answered
 * RESOURCE_EXHAUSTED ("too many requests pending on this connection") at
 * once, so one peer queueing thousands of requests holds at most its cap of
 * a service's queue. A deadline longer than opts->max_timeout_ms is
 * clamped to it (the client learns it by a DEADLINE_EXCEEDED at that time).
 *
 * Capacity: the broker counts a request against its worker until the
 * worker answers it, even after the broker answered the client
 * DEADLINE_EXCEEDED, so it never hands a worker more than the capacity it
 * declared. When it hands a request over it sets Request.timeout_ms to the
 * time left (docs/protocol.md), and the service runtime answers a request
 * whose time is up without running it (runtime/service.h): the worker drops
 * the work nobody waits for, and its count comes back at once.
 *
 * Connections: a socket monitor on each request socket reports the
 * connections that end (ZMQ_EVENT_DISCONNECTED, with the connection's fd;
 * each message's fd is ZMQ_SRCFD). When a client connection ends, its
 * session binding and its subscriptions are dropped and the answers still
 * owed to it are forgotten; when a worker's connection ends the worker is
 * removed at once (its requests answered UNAVAILABLE). A later peer that
 * reuses the routing id therefore starts with nothing of the previous one.
 * In-process (inproc) peers have no fd: they end with the process.
 *
 * Sessions: the broker knows no service by name. AUTH is the session check
 * of proto/espace/v1/bus.proto (service SessionCheck, method Authenticate):
 * the broker sends it to the service named by opts->session_service (`espace
 * up` names SERVICE_IDENTITY) and, on OK, binds the reply's Caller to the
 * connection until the session expires or a SessionRevoked on
 * TOPIC_SESSION_REVOKED (proto/names.h) names it.
 *
 * Live events for professionals: SUBSCRIBE to prefixes of a professional
 * session's own "pro.<rpps>." topics; matching events come as EVENT on the
 * request connection.
 *
 * Events: an XSUB/XPUB proxy (publishers connect to the "pub" endpoints,
 * subscribers to the "sub" endpoints). On tcp only peers with role service
 * or gateway may publish or subscribe.
 *
 * Security: tcp endpoints are CURVE servers with the broker's keypair
 * (<data>/broker/curve.key); a ZAP handler admits only public keys
 * registered in the broker's store (keys.h) and tags each peer with its role.
 * ipc endpoints are for one host: the socket files live in a 0700 folder.
 *
 * In-process peers: with req_inproc/pub_inproc/sub_inproc and a shared
 * context (opts->zctx), the ipc sockets also bind those inproc endpoints,
 * so the parts of one process (espace up) reach the broker without
 * crossing the kernel or ZeroMQ's I/O threads. An inproc peer is local, like
 * an ipc peer (role LOCAL).
 *
 * THREAD SAFETY: broker_run owns every socket it opens; run it in its own
 * thread (or process). It uses opts->zctx, or creates its own ZeroMQ
 * context when that is NULL.
 */
#ifndef ES_BROKER_H
#define ES_BROKER_H

#include <stddef.h>

#define BROKER_MAX_PENDING 65536   /* requests in flight through the broker */
#define BROKER_MAX_QUEUE 4096      /* requests waiting per service */
#define BROKER_ADMIT_MS 100        /* default admission window (opts.admit_ms) */
#define BROKER_MAX_WORKERS 256     /* live workers */
#define BROKER_MAX_SESSIONS 100000 /* connections with a bound session */
#define BROKER_MAX_CONNS 100000    /* client and worker connections tracked */
/* Requests of one connection waiting for their answer (opts.conn_pending):
 * a professional's software pipelines a few dozen at most; 256 leaves room
 * and keeps one key from filling a service's queue (BROKER_MAX_QUEUE). */
#define BROKER_CONN_PENDING 256
/* The same for a gateway or a local peer (opts.gateway_pending): the edge
 * carries every patient's calls on one connection (BUS_CLIENT_MAX_INFLIGHT
 * of its own); a quarter of the broker's table (BROKER_MAX_PENDING). */
#define BROKER_GATEWAY_PENDING 16384
/* Longest deadline (opts.max_timeout_ms): nothing of espace takes a minute
 * (the edge caps its clients at 60 s too); a longer one only holds broker
 * memory and a service's queue for callers that have given up. */
#define BROKER_MAX_TIMEOUT_MS 60000

typedef struct broker_opts {
    const char *data_dir;       /* root data folder; the broker uses <data_dir>/broker */
    const char *req_ipc;        /* request endpoint on ipc, or NULL */
    const char *req_tcp;        /* request endpoint on tcp (CURVE), or NULL */
    const char *pub_ipc;        /* events in (XSUB) on ipc, or NULL */
    const char *pub_tcp;        /* events in (XSUB) on tcp (CURVE), or NULL */
    const char *sub_ipc;        /* events out (XPUB) on ipc, or NULL */
    const char *sub_tcp;        /* events out (XPUB) on tcp (CURVE), or NULL */
    const char *req_inproc;     /* request endpoint on inproc (needs zctx), or NULL */
    const char *pub_inproc;     /* events in on inproc (needs zctx), or NULL */
    const char *sub_inproc;     /* events out on inproc (needs zctx), or NULL */
    void *zctx;                 /* ZeroMQ context shared with the in-process peers
                                 * (borrowed: the caller terminates it after
                                 * broker_run returned), or NULL = its own */
    const char *session_service;/* bus name of the service serving the session check
                                 * (SessionCheck.Authenticate) that AUTH goes to, e.g.
                                 * SERVICE_IDENTITY; NULL = none: AUTH is answered
                                 * UNAVAILABLE. Borrowed for the run. */
    unsigned heartbeat_ms;      /* 0 = BUS_HEARTBEAT_MS */
    unsigned default_timeout_ms;/* 0 = BUS_DEFAULT_TIMEOUT_MS */
    unsigned admit_ms;          /* admission window (above); 0 = BROKER_ADMIT_MS */
    unsigned conn_pending;      /* per-connection cap (above); 0 = BROKER_CONN_PENDING */
    unsigned gateway_pending;   /* the same for gateways and local peers;
                                 * 0 = BROKER_GATEWAY_PENDING */
    unsigned max_timeout_ms;    /* longest deadline; 0 = BROKER_MAX_TIMEOUT_MS,
                                 * at most BUS_MAX_TIMEOUT_MS */
    int stop_fd;                /* broker_run returns when this fd is readable */
    int ready_fd;               /* if >= 0, one byte is written when all endpoints are bound */
    int no_sync;                /* store without fsync (tests) */
} broker_opts_t;

/* Run the broker until opts->stop_fd becomes readable. Returns 0 after a
 * clean stop, or a negative es_status if it could not start (bad endpoint,
 * address in use, unreadable key, session_service not a valid service
 * name). */
int broker_run(const broker_opts_t *opts);

#endif
