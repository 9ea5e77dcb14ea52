/*
 * net.h - many websocket client connections on one libwebsockets context,
 * on one thread, on a libuv loop (the lws event-lib plugin: epoll
 * underneath, so thousands of mostly idle connections cost nothing per
 * wake-up; STACK.md pitfall 13). Scenarios add their own uv timers to the
 * loop (net_loop).
 *
 * Connections are numbered 0..max_conns-1 by the caller, who keeps any
 * per-connection state in its own arrays indexed the same way. Each
 * message sent is one binary websocket message; each message received is
 * handed over whole (fragments added up, at most NET_MAX_MESSAGE bytes;
 * past that the connection is closed).
 *
 * Each message sent is a binary frame, or a text frame with opts.text.
 * Sending: net_send copies the message into the connection's queue
 * (NET_QUEUE_MSGS messages) and asks lws for a writeable callback; the
 * queue drains one lws_write per callback (lws rule). A full queue is
 * ES_RESOURCE_EXHAUSTED: the caller counts it as a failed send.
 *
 * Handlers run on the loop thread, from inside lws callbacks: they may call
 * net_send and net_close (also on other connections), not net_destroy.
 *
 * Errors: ES_INVALID_ARGUMENT (bad index, not open), ES_RESOURCE_EXHAUSTED
 * (queue full, no memory), ES_UNAVAILABLE (lws refused the connection).
 * Memory: net_new allocates, net_destroy frees and NULLs.
 * THREAD SAFETY: one thread (the one that runs the loop).
 */
#ifndef ES_LOAD_NET_H
#define ES_LOAD_NET_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define NET_QUEUE_MSGS 256           /* messages queued per connection */
#define NET_MAX_MESSAGE (1024u * 1024) /* largest message received */

typedef struct net net_t;

typedef struct net_handlers {
    /* the websocket handshake succeeded */
    void (*opened)(net_t *n, unsigned conn, void *user);
    /* one whole message (data borrowed for the call) */
    void (*message)(net_t *n, unsigned conn, const uint8_t *data, size_t len, void *user);
    /* the connection failed (was_open 0) or closed (was_open 1); the slot
     * may be connected again */
    void (*closed)(net_t *n, unsigned conn, int was_open, void *user);
} net_handlers_t;

typedef struct net_opts {
    const char *host;         /* server address, e.g. "127.0.0.1" */
    int port;
    const char *path;         /* NULL = "/" */
    const char *subprotocol;  /* websocket subprotocol asked for, NULL = none */
    unsigned max_conns;       /* connection slots */
    const net_handlers_t *handlers;
    void *user;               /* passed to handlers */
    int text;                 /* 1: messages go as text frames (XMPP, RFC 7395) */
} net_opts_t;

/* A loop and an lws client context: 0, or ES_INVALID_ARGUMENT,
 * ES_RESOURCE_EXHAUSTED, ES_INTERNAL (lws or libuv failed). */
int net_new(const net_opts_t *o, net_t **out);

/* Close every connection, destroy the context and the loop. The caller's
 * own uv handles on the loop must be closed (uv_close) before. Idempotent. */
void net_destroy(net_t **n);

/* The loop, to add timers to (borrowed until net_destroy). */
uv_loop_t *net_loop(net_t *n);

/* Run the loop until net_stop is called from a handler or timer. */
void net_run(net_t *n);
void net_stop(net_t *n);

/* Open connection `conn` (a free slot) from local address source_ip
 * (NULL = any) to `path` (NULL = the options' path; copied): 0 (the outcome
 * comes to opened or closed later), or an error. */
int net_connect(net_t *n, unsigned conn, const char *source_ip, const char *path);

/* Queue one binary message (copied). */
int net_send(net_t *n, unsigned conn, const uint8_t *data, size_t len);

/* Close a connection (its closed handler follows). No-op if not open. */
void net_close(net_t *n, unsigned conn);

/* 1 while the websocket is open. */
int net_is_open(const net_t *n, unsigned conn);

/* Connections open now. */
unsigned net_open_count(const net_t *n);

#endif
