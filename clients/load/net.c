/* net.c - websocket client connections on lws + libuv (net.h). */
#include "clients/load/net.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "proto/status.h"

#define S_RX_CHUNK 16384
#define S_CONNECT_TIMEOUT_S 20

typedef enum { S_FREE = 0, S_CONNECTING, S_OPEN } s_state_t;

typedef struct s_msg {
    uint8_t *buf; /* LWS_PRE + len bytes */
    size_t len;
} s_msg_t;

typedef struct s_conn {
    net_t *net;
    unsigned index;
    s_state_t state;
    int closing;
    struct lws *wsi;
    s_msg_t q[NET_QUEUE_MSGS];
    unsigned q_head, q_len;
    uint8_t *rx;      /* message being reassembled */
    size_t rx_len, rx_cap;
} s_conn_t;

struct net {
    uv_loop_t loop;
    struct lws_context *ctx;
    net_opts_t o;
    char host[256], path[256], subprotocol[64];
    int text;                 /* send text frames (net_opts.text) */
    s_conn_t *conns;
    unsigned open;
};

static void s_queue_clear(s_conn_t *c)
{
    while (c->q_len) {
        free(c->q[c->q_head].buf);
        c->q[c->q_head].buf = NULL;
        c->q_head = (c->q_head + 1) % NET_QUEUE_MSGS;
        c->q_len--;
    }
    c->q_head = 0;
    free(c->rx);
    c->rx = NULL;
    c->rx_len = c->rx_cap = 0;
}

/* The connection ended (failed or closed): tell the caller once. */
static void s_ended(s_conn_t *c)
{
    if (c->state == S_FREE)
        return;
    int was_open = c->state == S_OPEN;
    if (was_open)
        c->net->open--;
    c->state = S_FREE;
    c->closing = 0;
    c->wsi = NULL;
    s_queue_clear(c);
    net_t *n = c->net;
    if (n->o.handlers->closed)
        n->o.handlers->closed(n, c->index, was_open, n->o.user);
}

static int s_rx(s_conn_t *c, struct lws *wsi, const uint8_t *in, size_t len)
{
    net_t *n = c->net;
    int first = lws_is_first_fragment(wsi), final = lws_is_final_fragment(wsi) &&
                                                   lws_remaining_packet_payload(wsi) == 0;
    if (first && final && c->rx_len == 0) {
        if (n->o.handlers->message)
            n->o.handlers->message(n, c->index, in, len, n->o.user);
        return 0;
    }
    if (first)
        c->rx_len = 0;
    if (c->rx_len + len > NET_MAX_MESSAGE)
        return -1;
    if (c->rx_len + len > c->rx_cap) {
        size_t cap = c->rx_cap ? c->rx_cap : 4096;
        while (cap < c->rx_len + len)
            cap *= 2;
        uint8_t *p = realloc(c->rx, cap);
        if (!p)
            return -1;
        c->rx = p;
        c->rx_cap = cap;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (final) {
        size_t l = c->rx_len;
        c->rx_len = 0;
        if (n->o.handlers->message)
            n->o.handlers->message(n, c->index, c->rx, l, n->o.user);
    }
    return 0;
}

static int s_writeable(s_conn_t *c, struct lws *wsi)
{
    if (c->closing)
        return -1;
    if (c->q_len == 0)
        return 0;
    s_msg_t *m = &c->q[c->q_head];
    enum lws_write_protocol kind = c->net->text ? LWS_WRITE_TEXT : LWS_WRITE_BINARY;
    int w = lws_write(wsi, m->buf + LWS_PRE, m->len, kind);
    free(m->buf);
    m->buf = NULL;
    c->q_head = (c->q_head + 1) % NET_QUEUE_MSGS;
    c->q_len--;
    if (w < (int)m->len)
        return -1;
    if (c->q_len)
        lws_callback_on_writable(wsi);
    return 0;
}

static int s_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len)
{
    (void)user;
    s_conn_t *c = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!c)
            return -1;
        c->state = S_OPEN;
        c->net->open++;
        if (c->net->o.handlers->opened)
            c->net->o.handlers->opened(c->net, c->index, c->net->o.user);
        if (c->q_len)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!c || c->state != S_OPEN)
            return -1;
        return s_rx(c, wsi, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!c || c->state != S_OPEN)
            return -1;
        return s_writeable(c, wsi);
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        /* whichever comes first ends it; later ones find no slot */
        if (c) {
            lws_set_opaque_user_data(wsi, NULL);
            s_ended(c);
        }
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols s_protocols[] = {
    {"espace-load", s_callback, 0, S_RX_CHUNK, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int net_new(const net_opts_t *o, net_t **out)
{
    if (!o || !o->host || o->port <= 0 || o->port > 65535 || !o->max_conns || !o->handlers)
        return ES_INVALID_ARGUMENT;
    net_t *n = calloc(1, sizeof *n);
    if (!n)
        return ES_RESOURCE_EXHAUSTED;
    n->o = *o;
    snprintf(n->host, sizeof n->host, "%s", o->host);
    snprintf(n->path, sizeof n->path, "%s", o->path ? o->path : "/");
    snprintf(n->subprotocol, sizeof n->subprotocol, "%s", o->subprotocol ? o->subprotocol : "");
    n->text = o->text;
    n->conns = calloc(o->max_conns, sizeof *n->conns);
    if (!n->conns) {
        free(n);
        return ES_RESOURCE_EXHAUSTED;
    }
    for (unsigned i = 0; i < o->max_conns; i++) {
        n->conns[i].net = n;
        n->conns[i].index = i;
    }
    if (uv_loop_init(&n->loop) != 0) {
        free(n->conns);
        free(n);
        return ES_INTERNAL;
    }
    lws_set_log_level(getenv("ES_LWS_DEBUG") ? 0xffff : LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {&n->loop};
    info.options = LWS_SERVER_OPTION_LIBUV;
    info.foreign_loops = loops;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = s_protocols;
    info.timeout_secs = S_CONNECT_TIMEOUT_S;
    info.pcontext = &n->ctx;
    n->ctx = lws_create_context(&info);
    if (!n->ctx) {
        uv_loop_close(&n->loop);
        free(n->conns);
        free(n);
        return ES_INTERNAL;
    }
    *out = n;
    return 0;
}

void net_destroy(net_t **np)
{
    if (!np || !*np)
        return;
    net_t *n = *np;
    if (n->ctx)
        lws_context_destroy(n->ctx);
    uv_run(&n->loop, UV_RUN_DEFAULT); /* lets the context's handles close */
    if (n->ctx) {
        lws_context_destroy(n->ctx);
        uv_run(&n->loop, UV_RUN_DEFAULT);
    }
    uv_loop_close(&n->loop);
    for (unsigned i = 0; i < n->o.max_conns; i++)
        s_queue_clear(&n->conns[i]);
    free(n->conns);
    free(n);
    *np = NULL;
}

uv_loop_t *net_loop(net_t *n)
{
    return &n->loop;
}

void net_run(net_t *n)
{
    uv_run(&n->loop, UV_RUN_DEFAULT);
}

void net_stop(net_t *n)
{
    uv_stop(&n->loop);
}

int net_connect(net_t *n, unsigned conn, const char *source_ip, const char *path)
{
    if (conn >= n->o.max_conns || n->conns[conn].state != S_FREE)
        return ES_INVALID_ARGUMENT;
    s_conn_t *c = &n->conns[conn];
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = n->ctx;
    ci.address = n->host;
    ci.port = n->o.port;
    ci.path = path ? path : n->path; /* lws copies it into the request */
    ci.host = n->host;
    ci.origin = n->host;
    ci.protocol = n->subprotocol[0] ? n->subprotocol : NULL;
    ci.local_protocol_name = s_protocols[0].name;
    ci.iface = source_ip;
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    c->state = S_CONNECTING;
    c->closing = 0;
    if (!lws_client_connect_via_info(&ci)) {
        /* lws may have reported CONNECTION_ERROR already: then the closed
         * handler ran and told the caller */
        if (c->state == S_FREE)
            return 0;
        c->state = S_FREE;
        c->wsi = NULL;
        return ES_UNAVAILABLE;
    }
    return 0;
}

int net_send(net_t *n, unsigned conn, const uint8_t *data, size_t len)
{
    if (conn >= n->o.max_conns || n->conns[conn].state == S_FREE || n->conns[conn].closing)
        return ES_INVALID_ARGUMENT;
    s_conn_t *c = &n->conns[conn];
    if (c->q_len >= NET_QUEUE_MSGS)
        return ES_RESOURCE_EXHAUSTED;
    uint8_t *b = malloc(LWS_PRE + len);
    if (!b)
        return ES_RESOURCE_EXHAUSTED;
    memcpy(b + LWS_PRE, data, len);
    s_msg_t *m = &c->q[(c->q_head + c->q_len) % NET_QUEUE_MSGS];
    m->buf = b;
    m->len = len;
    c->q_len++;
    if (c->state == S_OPEN && c->wsi)
        lws_callback_on_writable(c->wsi);
    return 0;
}

void net_close(net_t *n, unsigned conn)
{
    if (conn >= n->o.max_conns)
        return;
    s_conn_t *c = &n->conns[conn];
    if (c->state != S_OPEN || !c->wsi)
        return;
    c->closing = 1;
    lws_callback_on_writable(c->wsi);
}

int net_is_open(const net_t *n, unsigned conn)
{
    return conn < n->o.max_conns && n->conns[conn].state == S_OPEN;
}

unsigned net_open_count(const net_t *n)
{
    return n->open;
}
