/*
 * relay.c - the benchmark's yardstick: a minimal libwebsockets relay, no
 * storage, no protocol. A websocket to /pair/<n> (subprotocol espace.v1,
 * so espace-load talks to it unchanged) is paired with the other one that
 * names the same <n>; every message from one is sent, as received, to the
 * other. It runs lws exactly as the espace edge does (libuv event-lib
 * plugin, one thread, one lws_write per writeable callback, a queue per
 * connection), so the CPU it spends per message is the floor any websocket
 * server on this stack pays: espace's cost per delivery is compared to it
 * (docs/benchmarks.md).
 *
 *   relay PORT   listen on 127.0.0.1:PORT until SIGINT/SIGTERM; prints
 *                "relay listening on PORT" once ready.
 *
 * Limits: RELAY_MAX_PAIRS pairs, RELAY_QUEUE messages queued per connection
 * (past that, messages for it are dropped and counted), RELAY_MAX_MESSAGE
 * bytes per message (larger: close 1009).
 */
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define RELAY_MAX_PAIRS 100000
#define RELAY_QUEUE 256
#define RELAY_MAX_MESSAGE (64u * 1024)

typedef struct conn {
    struct lws *wsi;
    long pair;          /* -1 until ESTABLISHED */
    uint8_t *q[RELAY_QUEUE]; /* LWS_PRE + len each */
    size_t qlen[RELAY_QUEUE];
    unsigned head, n;
    uint8_t *rx;
    size_t rx_len;
} conn_t;

static struct lws *s_pairs[RELAY_MAX_PAIRS][2];
static unsigned long long s_relayed, s_dropped;
static uv_loop_t s_loop;
static uv_signal_t s_sigint, s_sigterm;
static struct lws_context *s_ctx;

static struct lws *s_partner(conn_t *c)
{
    if (c->pair < 0)
        return NULL;
    struct lws **p = s_pairs[c->pair];
    return p[0] == c->wsi ? p[1] : p[0];
}

static void s_forward(conn_t *from, const uint8_t *data, size_t len)
{
    struct lws *to = s_partner(from);
    conn_t *t = to ? lws_wsi_user(to) : NULL;
    if (!t || t->n >= RELAY_QUEUE) {
        s_dropped++;
        return;
    }
    uint8_t *b = malloc(LWS_PRE + len);
    if (!b) {
        s_dropped++;
        return;
    }
    memcpy(b + LWS_PRE, data, len);
    unsigned slot = (t->head + t->n) % RELAY_QUEUE;
    t->q[slot] = b;
    t->qlen[slot] = len;
    t->n++;
    s_relayed++;
    lws_callback_on_writable(to);
}

static int s_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                size_t len)
{
    conn_t *c = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED: {
        char uri[64];
        c->wsi = wsi;
        c->pair = -1;
        if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 ||
            strncmp(uri, "/pair/", 6))
            return -1;
        long p = strtol(uri + 6, NULL, 10);
        if (p < 0 || p >= RELAY_MAX_PAIRS)
            return -1;
        int side = s_pairs[p][0] == NULL ? 0 : s_pairs[p][1] == NULL ? 1 : -1;
        if (side < 0)
            return -1;
        s_pairs[p][side] = wsi;
        c->pair = p;
        return 0;
    }
    case LWS_CALLBACK_RECEIVE: {
        int first = lws_is_first_fragment(wsi);
        int final = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
        if (first && final) {
            s_forward(c, in, len);
            return 0;
        }
        if (first)
            c->rx_len = 0;
        if (c->rx_len + len > RELAY_MAX_MESSAGE) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
            return -1;
        }
        if (!c->rx && !(c->rx = malloc(RELAY_MAX_MESSAGE)))
            return -1;
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
        if (final)
            s_forward(c, c->rx, c->rx_len);
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        if (!c->n)
            return 0;
        uint8_t *b = c->q[c->head];
        size_t l = c->qlen[c->head];
        c->head = (c->head + 1) % RELAY_QUEUE;
        c->n--;
        int w = lws_write(wsi, b + LWS_PRE, l, LWS_WRITE_BINARY);
        free(b);
        if (w < (int)l)
            return -1;
        if (c->n)
            lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_CLOSED:
        if (c->pair >= 0) {
            struct lws **p = s_pairs[c->pair];
            if (p[0] == wsi)
                p[0] = NULL;
            if (p[1] == wsi)
                p[1] = NULL;
        }
        while (c->n) {
            free(c->q[c->head]);
            c->head = (c->head + 1) % RELAY_QUEUE;
            c->n--;
        }
        free(c->rx);
        c->rx = NULL;
        return 0;
    default:
        return 0;
    }
}

static void s_signal(uv_signal_t *h, int sig)
{
    (void)sig;
    (void)h;
    uv_signal_stop(&s_sigint);
    uv_signal_stop(&s_sigterm);
    uv_close((uv_handle_t *)&s_sigint, NULL);
    uv_close((uv_handle_t *)&s_sigterm, NULL);
    lws_context_destroy(s_ctx);
}

int main(int argc, char **argv)
{
    int port = argc == 2 ? atoi(argv[1]) : 0;
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "usage: relay PORT\n");
        return 2;
    }
    static const struct lws_protocols protocols[] = {
        {"http", lws_callback_http_dummy, 0, 0, 0, NULL, 0},
        {"espace.v1", s_cb, sizeof(conn_t), 16384, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
    };
    uv_loop_init(&s_loop);
    uv_signal_init(&s_loop, &s_sigint);
    uv_signal_init(&s_loop, &s_sigterm);
    uv_signal_start(&s_sigint, s_signal, SIGINT);
    uv_signal_start(&s_sigterm, s_signal, SIGTERM);
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {&s_loop};
    info.options = LWS_SERVER_OPTION_LIBUV;
    info.foreign_loops = loops;
    info.port = port;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.pcontext = &s_ctx;
    s_ctx = lws_create_context(&info);
    if (!s_ctx) {
        fprintf(stderr, "relay: cannot listen on %d\n", port);
        return 1;
    }
    printf("relay listening on %d\n", port);
    fflush(stdout);
    uv_run(&s_loop, UV_RUN_DEFAULT);
    if (s_ctx) {
        lws_context_destroy(s_ctx);
        uv_run(&s_loop, UV_RUN_DEFAULT);
    }
    uv_loop_close(&s_loop);
    fprintf(stderr, "relay: relayed=%llu dropped=%llu\n", s_relayed, s_dropped);
    return 0;
}
