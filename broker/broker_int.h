/*
 * broker_int.h - the broker's insides, shared by its files (private to
 * broker/; the public manual is broker.h).
 *
 * Module map (one concern per file):
 *   broker.c   the loop and the wiring: sockets and their options, the poll
 *              loop, reading a request-socket message and handing it to the
 *              module it concerns, timers, start and teardown; the send
 *              helpers every module answers with (broker_send...)
 *   route.c    routing: services, workers (READY, heartbeats, death),
 *              capacity and load balancing, per-service queues, pending
 *              requests and their deadlines, worker replies
 *   session.c  sessions: the AUTH binding of a session to a client
 *              connection (keyed by socket + routing id, owned by the peer's
 *              role + key), the caller stamped on each request, expiry and
 *              revocation
 *   subs.c     professionals' live events: SUBSCRIBE to "pro.<rpps>."
 *              prefixes and EVENT forwarding to their connections
 *   events.c   the XSUB/XPUB event proxy, the upstream subscriptions and
 *              the revoked-sessions topic
 *   conn.c     connections: each peer's (socket, routing id) and fd, its
 *              count of pending requests, and the socket monitor that
 *              reports ended connections (their state is dropped)
 *   zap.c      the ZAP handler (zap.h)
 *   keys.c     the key registry (keys.h)
 *
 * Everything runs on the broker thread; nothing here is thread-safe.
 * Network bytes are checked where they are read; nothing from the network
 * reaches an assert.
 */
#ifndef ES_BROKER_INT_H
#define ES_BROKER_INT_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "broker/broker.h"
#include "bus/bus.h"
#include "bus/frames.h"
#include "storage/store.h"

#define BROKER_IPC 0            /* index of the ipc sockets */
#define BROKER_TCP 1            /* index of the tcp sockets */
#define BROKER_MAX_RID 255      /* longest ZeroMQ routing id */
#define BROKER_MAX_SERVICES BROKER_MAX_WORKERS
#define BROKER_SERVICE "broker" /* service frame of the broker's own replies (SUBSCRIBE) */
#define SESSION_BUCKETS 65536
#define SESSION_MAX_SID 64      /* longest session id kept */
#define SESSION_MAX_PRINCIPAL 64
#define SESSION_SWEEP_MS 60000
#define SUBS_BUCKETS 4096       /* client subscriptions, hashed by "pro.<rpps>." */
#define SUBS_STALE_MAX 16       /* gone connections unbound per event */
#define CONN_BUCKETS 65536      /* connections, hashed by routing id and by fd */
#define CONN_MAX_FD (1 << 20)   /* fds above are not watched (no state dropped) */

/* Who sent a message on a request socket. */
typedef struct broker_peer {
    int sock;                      /* BROKER_IPC or BROKER_TCP */
    uint8_t rid[BROKER_MAX_RID];   /* routing id */
    size_t rid_len;
    int role;                      /* PeerRole: LOCAL on ipc, from the ZAP user id on tcp */
    char key[BUS_KEY_Z85];         /* Z85 CURVE key, "" on ipc */
    int fd;                        /* its connection's fd (ZMQ_SRCFD), -1 inproc */
} broker_peer_t;

/* A peer's connection (conn.c), from its first message until the monitor
 * reports it ended. */
typedef struct conn {
    struct conn *next;             /* chain by (sock, routing id) */
    struct conn *fd_next;          /* chain by (sock, fd); fd -1 is in none */
    int sock;
    int fd;
    uint8_t rid[BROKER_MAX_RID];
    size_t rid_len;
    uint32_t pending;              /* its requests not answered yet */
} conn_t;

typedef struct route_worker {
    int used;
    int sock;                      /* request socket it came on */
    uint8_t rid[BROKER_MAX_RID];
    size_t rid_len;
    int service;                   /* index in services */
    uint32_t capacity;             /* requests it accepts in flight */
    uint32_t inflight;             /* requests it holds */
    int64_t expiry;                /* dead if silent past this (mono ms) */
} route_worker_t;

typedef struct route_service {
    int used;
    char name[BUS_MAX_SERVICE + 1];
    int workers;                   /* live workers */
    uint64_t *queue;               /* ring of tickets waiting (may hold stale ones) */
    size_t qhead, qlen;            /* ring position and length */
    size_t queued;                 /* live queued requests */
} route_service_t;

typedef struct route_pending {
    uint64_t ticket;               /* 0 = free slot */
    broker_peer_t from;            /* the client (its transport identity binds on AUTH) */
    conn_t *conn;                  /* its connection while the client waits, else NULL */
    int answered;                  /* the client has its answer (or is gone): the slot
                                    * only waits for the worker's reply (capacity) */
    uint64_t req_id;               /* Request.id, echoed in the reply */
    int service;                   /* index in services */
    int worker;                    /* index in workers, -1 = not held by one */
    int queued;                    /* waiting in its service's queue */
    int64_t deadline;              /* mono ms */
    int64_t queued_at;             /* mono ms it joined its service's queue */
    int auth;                      /* AUTH: bind the session on OK */
    uint8_t *req;                  /* Request bytes */
    size_t req_len;
    uint8_t *caller;               /* stamped Caller bytes */
    size_t caller_len;
} route_pending_t;

struct session;

/* One SUBSCRIBE prefix of a connection; chained in b->subs by the hash of
 * its "pro.<rpps>." head, so an event finds its subscribers in one bucket. */
typedef struct subs_entry {
    struct subs_entry *next;       /* bucket chain */
    struct session *sess;          /* owner */
    size_t len;
    char prefix[BUS_MAX_TOPIC + 1];
} subs_entry_t;

/* A session bound to a connection by AUTH. */
typedef struct session {
    struct session *next;
    int sock;
    uint8_t rid[BROKER_MAX_RID];
    size_t rid_len;
    int peer_role;                 /* transport role of the peer that bound it */
    char peer_key[BUS_KEY_Z85];    /* its Z85 CURVE key ("" on ipc): a routing id
                                    * can be chosen by a client, the key cannot */
    uint8_t sid[SESSION_MAX_SID];  /* session id */
    size_t sid_len;
    int64_t expires_ms;            /* wall ms; 0 = none given */
    uint8_t *caller;               /* Caller bytes stamped on this connection's requests */
    size_t caller_len;
    int kind;                      /* PrincipalKind of the caller */
    char principal[SESSION_MAX_PRINCIPAL + 1]; /* its principal (RPPS for a professional) */
    subs_entry_t *subs[BUS_MAX_CLIENT_SUBS];   /* SUBSCRIBE prefixes */
    size_t nsubs;
    uint64_t ev_seq;               /* last event forwarded (no duplicates for overlapping prefixes) */
} session_t;

typedef struct broker {
    const broker_opts_t *o;
    void *ctx;
    void *req[2];                  /* ROUTERs: ipc, tcp */
    void *xsub[2];                 /* events in */
    void *xpub[2];                 /* events out */
    void *zap;                     /* ZAP handler */
    store_t *keys;                 /* broker store (key registry) */
    unsigned hb;                   /* heartbeat interval */
    unsigned def_timeout;          /* default request deadline */
    unsigned admit_ms;             /* admission window (broker.h) */
    unsigned conn_pending;         /* per-connection caps (broker.h) */
    unsigned gateway_pending;
    unsigned max_timeout;          /* longest deadline */
    void *mon[2];                  /* monitors of req[] (PAIR), or NULL */
    conn_t **conns;                /* CONN_BUCKETS chains by (sock, routing id) */
    conn_t **conns_fd;             /* CONN_BUCKETS chains by (sock, fd) */
    size_t nconns;
    uint8_t *closed[2];            /* per fd of req[i]: 1 between its connection's
                                    * end and the next accepted one */
    size_t nclosed[2];             /* entries of closed[i] */
    uint64_t conn_refused;         /* requests refused by the per-connection cap */
    uint64_t refused;              /* requests refused by admission */
    const char *session_service;   /* serves AUTH (opts), NULL = none */
    const char *auth_method;       /* SessionCheck's method name */
    route_worker_t workers[BROKER_MAX_WORKERS];
    int workers_top;               /* one past the highest slot ever used: the bound
                                    * of the scans of workers[] (per message) */
    route_service_t services[BROKER_MAX_SERVICES];
    route_pending_t *pending;      /* BROKER_MAX_PENDING slots, by ticket mod size */
    size_t npending;
    uint64_t next_ticket;
    int64_t next_deadline;         /* earliest pending deadline (may be stale-early) */
    int64_t hb_at;                 /* next heartbeat round */
    int64_t sweep_at;              /* next session sweep */
    session_t **sessions;          /* SESSION_BUCKETS chains */
    size_t nsessions;
    uint64_t dropped;              /* malformed messages dropped */
    subs_entry_t **subs;           /* SUBS_BUCKETS chains of client subscriptions */
    size_t nsubs;
    uint64_t ev_seq;               /* events seen on XSUB */
    uint64_t ev_forwarded;         /* EVENTs sent to clients */
    uint64_t ev_dropped;           /* EVENTs dropped (client at its high-water mark) */
    unsigned sent;                 /* BROKER_SENT_* of the sockets sent on since they
                                    * were last read empty (broker.c's loop) */
} broker_t;

/* Bits of broker_t.sent. A send may process a socket's pending commands
 * (libzmq does so now and then), which resets its ZMQ_FD while messages
 * wait: the loop checks ZMQ_EVENTS of every socket sent on before it
 * sleeps in poll(). */
#define BROKER_SENT_REQ(i) (1u << (i))
#define BROKER_SENT_XSUB(i) (1u << (2 + (i)))
#define BROKER_SENT_XPUB(i) (1u << (4 + (i)))
#define BROKER_SENT_ZAP (1u << 6)

/* FNV-1a of len bytes, its offset basis xor'ed with salt: the hash of the
 * session and subscription tables. */
static inline uint64_t broker_hash(uint64_t salt, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t h = 1469598103934665603ull ^ salt;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* ---- broker.c: sending on the request sockets ----
 * All sends are ZMQ_DONTWAIT on a ROUTER_MANDATORY socket. */

/* Send frames f[0..n) to the peer (sock, rid). 0, ES_UNAVAILABLE (peer
 * gone), ES_RESOURCE_EXHAUSTED (peer at its high-water mark), or another
 * es_status (frames_send). */
int broker_send(broker_t *b, int sock, const uint8_t *rid, size_t rid_len,
                const frame_ref_t *f, size_t n);

/* A worker command without body (HEARTBEAT, DISCONNECT); failures ignored. */
void broker_worker_cmd(broker_t *b, int sock, const uint8_t *rid, size_t rid_len, uint8_t cmd);

/* REPLY to a client with Reply bytes (borrowed) under `service`. */
void broker_reply_raw(broker_t *b, int sock, const uint8_t *rid, size_t rid_len,
                      const char *service, const uint8_t *rep, size_t rep_len);

/* REPLY with a status of the broker itself (message and field may be NULL). */
void broker_reply_status(broker_t *b, int sock, const uint8_t *rid, size_t rid_len,
                         const char *service, uint64_t id, int status, const char *message,
                         const char *field);

/* ---- conn.c ---- */

/* Start the monitors of the request sockets (after they are bound). 0 or
 * ES_INTERNAL. */
int conn_monitor_open(broker_t *b);

/* Read the monitor of req[sock]: an ended connection's state is dropped
 * (conn_gone), its fd marked closed until a connection is accepted on it.
 * Call before reading each message of req[sock], so that no message of a
 * new connection on a reused fd is read before the end of the old one. */
void conn_monitor_read(broker_t *b, int sock);

/* The connection a message came on (created on its first message), or NULL
 * when it must be dropped: its fd is closed (a message of a connection that
 * ended), or the table is full. A connection seen with another fd than the
 * one recorded under its routing id is a new one: the old one's state goes. */
conn_t *conn_seen(broker_t *b, const broker_peer_t *peer);

/* An in-process (inproc) peer's connection is kept only while requests of
 * it are pending (no monitor reports its end): the connection of peer is
 * freed when its fd is -1 and nothing of it is pending; else a no-op.
 * Called after each message of the peer and when its last pending request
 * is answered. */
void conn_idle(broker_t *b, const broker_peer_t *peer);

/* The cap on pending requests of peer's connection (broker.h). */
uint32_t conn_cap(const broker_t *b, const broker_peer_t *peer);

/* Free every connection (teardown; answers nothing). */
void conn_free_all(broker_t *b);

/* ---- route.c ---- */

/* REQUEST (auth = 0) or AUTH (auth = 1, to the session service) from a
 * client on connection conn: stamp, then dispatch or queue; errors are
 * answered. */
void route_client_request(broker_t *b, const broker_peer_t *peer, conn_t *conn,
                          const frames_msg_t *m, int auth);

/* A connection ended: the worker on it is removed, and the requests it
 * waits for are forgotten (never answered: another peer may reuse its
 * routing id); those held by a worker stay counted until it answers. */
void route_conn_gone(broker_t *b, conn_t *c);

/* READY: register the peer as a worker of the named service, or DISCONNECT. */
void route_ready(broker_t *b, const broker_peer_t *peer, const frames_msg_t *m);

/* REPLY from worker wi: answer the client (binding the session for AUTH). */
void route_worker_reply(broker_t *b, int wi, const frames_msg_t *m);

/* The index of the worker at (sock, rid), or -1. */
int route_worker_find(broker_t *b, int sock, const uint8_t *rid, size_t rid_len);

/* Any message from worker wi: it lives BUS_LIVENESS more intervals. */
void route_worker_seen(broker_t *b, int wi);

/* Remove worker wi: every request it held is answered UNAVAILABLE. */
void route_worker_remove(broker_t *b, int wi, const char *why);

/* Heartbeat every worker; remove the expired and the unreachable. */
void route_heartbeat(broker_t *b, int64_t now);

/* Answer DEADLINE_EXCEEDED to pending requests past their deadline. */
void route_expire(broker_t *b, int64_t now);

/* Free the pending table and the queues (at teardown; answers nothing). */
void route_free(broker_t *b);

/* ---- session.c ---- */

/* The Caller bytes to stamp on a request (or AUTH) from peer: the bound
 * session's, else from a gateway/local peer its Caller frame, else
 * anonymous; peer_role and peer_key always from the transport. *out is
 * malloc'ed (caller frees). 0, ES_INVALID_ARGUMENT (bad Caller frame),
 * ES_PERMISSION_DENIED (a gateway acting as a kind it may not),
 * ES_RESOURCE_EXHAUSTED. */
int session_stamp(broker_t *b, const broker_peer_t *peer, frame_ref_t caller_frame, int auth,
                  uint8_t **out, size_t *len);

/* AUTH answered OK with body (AuthenticateReply bytes): bind its caller to
 * the connection of `peer`. 0, or ES_INTERNAL (no caller, bad reply),
 * ES_INVALID_ARGUMENT, ES_RESOURCE_EXHAUSTED (table full). */
int session_bind_reply(broker_t *b, const broker_peer_t *peer, const uint8_t *body, size_t len);

/* The session bound to this peer: same socket and routing id, and the
 * same transport role and CURVE key as the peer that bound it; a binding
 * made by another peer under that routing id is stale and is dropped (with
 * its subscriptions). NULL when nothing (valid) is bound. */
session_t *session_get_peer(broker_t *b, const broker_peer_t *peer);

/* Remove expired sessions and, with sid, those of that session (revoked).
 * Returns how many went. */
size_t session_sweep(broker_t *b, const uint8_t *sid, size_t sid_len);

/* 1 if s has expired at wall time now. */
int session_expired(const session_t *s, int64_t now);

/* Unbind s (found by a scan, still bound) with its subscriptions. */
void session_drop(broker_t *b, session_t *s);

/* Unbind the session of (sock, rid), if any, with its subscriptions (its
 * connection ended). */
void session_forget(broker_t *b, int sock, const uint8_t *rid, size_t rid_len);

/* Free every session (teardown). */
void session_free_all(broker_t *b);

/* ---- subs.c ---- */

/* SUBSCRIBE: "EC01", 0x04, Request{method "Subscribe", body
 * SubscribeRequest}, answered by a REPLY of service BROKER_SERVICE. */
void subs_client_subscribe(broker_t *b, const broker_peer_t *peer, frame_ref_t body);

/* End every subscription of s; the XSUB sockets unsubscribe a prefix when
 * its last connection goes. */
void subs_remove_all(broker_t *b, session_t *s);

/* Forward an event (topic, Event frames) as EVENT to the connections that
 * subscribed to a prefix of its topic. */
void subs_forward(broker_t *b, frame_ref_t topic, frame_ref_t event);

/* ---- events.c ---- */

/* Subscribe (on = 1) or unsubscribe the XSUB sockets to a prefix (len
 * bytes). 0, or ES_INTERNAL (logged) if a socket refused. */
int events_upstream(broker_t *b, const char *prefix, size_t len, int on);

/* Subscribe the XSUB sockets to the revoked-sessions topic (at start:
 * publishers send only what someone subscribed to). 0 or ES_INTERNAL. */
int events_watch(broker_t *b);

/* A message on an XSUB socket (topic, Event): to every XPUB socket, to the
 * subscribed client connections, and, for the revoked-sessions topic, to
 * the session table. */
void events_on_publish(broker_t *b, zmq_msg_t *msgs, size_t n);

/* A (un)subscription on an XPUB socket: passed up to the XSUB sockets. */
void events_on_subscription(broker_t *b, zmq_msg_t *msgs, size_t n);

#endif
