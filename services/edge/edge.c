/*
 * edge.c - edge_run: the uv loop, the lws context on it (libuv event-lib
 * plugin, foreign loop), the timers, and the clean stop (edge.h).
 *
 * Stop sequence: stop_fd readable -> every websocket gets
 * Closing{CODE_UNAVAILABLE} and a 1001 close once its queue drained (or is
 * cut after S_STOP_GRACE_MS) -> our uv handles are closed and the lws
 * context destroyed -> uv_run returns when the last handle closed -> the
 * ZeroMQ sockets and context are closed -> uv_loop_close.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "services/edge/edge_int.h"
#include "process/log.h"
#include "proto/status.h"

#define S_SWEEP_MS 250        /* deadlines and session expiry checked this often */
#define S_STOP_SWEEP_MS 20    /* ... and this often while stopping */
#define S_STOP_GRACE_MS 1000  /* connections get this long to flush their Closing */
/* lws's receive buffer of one websocket connection, allocated at the
 * upgrade and kept while it lives: the biggest item of an idle connection
 * (16 KiB cost ~8 KiB of RSS each, 1 KiB ~4 KiB all told; docs/benchmarks.md,
 * "Many idle connections across edges"). A message up to it arrives in one
 * callback and is decoded in place; a longer one in chunks of it, assembled
 * (conn.c s_receive). Sends keep lws's 16 KiB (S_TX_CHUNK: without
 * tx_packet_size, lws would cut them at the receive size). */
#define S_RX_CHUNK 1024
#define S_TX_CHUNK 16384
#define S_VHOST "edge"

int64_t edge_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void edge_opts_default(edge_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->host = EDGE_DEFAULT_HOST;
    o->port = EDGE_DEFAULT_PORT;
    o->stop_fd = -1;
    o->ready_fd = -1;
    o->max_message = EDGE_MAX_MESSAGE;
    o->rate_per_s = EDGE_RATE_PER_S;
    o->rate_burst = EDGE_RATE_BURST;
    o->queue_msgs = EDGE_QUEUE_MSGS;
    o->queue_bytes = EDGE_QUEUE_BYTES;
    o->max_inflight = EDGE_MAX_INFLIGHT;
    o->ping_s = EDGE_PING_S;
    o->idle_s = EDGE_IDLE_S;
    o->max_conns = EDGE_MAX_CONNS;
    o->request_timeout_ms = EDGE_REQUEST_TIMEOUT_MS;
    o->max_bad = EDGE_MAX_BAD;
    o->revalidate_s = EDGE_REVALIDATE_S;
    o->unauth_addr_rate = EDGE_UNAUTH_ADDR_RATE_PER_S;
    o->unauth_addr_burst = EDGE_UNAUTH_ADDR_BURST;
    o->unauth_rate = EDGE_UNAUTH_RATE_PER_S;
    o->unauth_burst = EDGE_UNAUTH_BURST;
    o->queue_total_bytes = EDGE_QUEUE_TOTAL_BYTES;
}

#define S_DEF(field, value)                                                                    \
    do {                                                                                       \
        if (e->o.field == 0)                                                                   \
            e->o.field = (value);                                                              \
    } while (0)

static int s_resolve(edge_t *e, const edge_opts_t *in)
{
    e->o = *in;
    if (e->o.host == NULL)
        e->o.host = EDGE_DEFAULT_HOST;
    S_DEF(max_message, EDGE_MAX_MESSAGE);
    S_DEF(rate_per_s, EDGE_RATE_PER_S);
    S_DEF(rate_burst, EDGE_RATE_BURST);
    S_DEF(queue_msgs, EDGE_QUEUE_MSGS);
    S_DEF(queue_bytes, EDGE_QUEUE_BYTES);
    S_DEF(max_inflight, EDGE_MAX_INFLIGHT);
    S_DEF(ping_s, EDGE_PING_S);
    S_DEF(idle_s, EDGE_IDLE_S);
    S_DEF(max_conns, EDGE_MAX_CONNS);
    S_DEF(request_timeout_ms, EDGE_REQUEST_TIMEOUT_MS);
    S_DEF(max_bad, EDGE_MAX_BAD);
    S_DEF(revalidate_s, EDGE_REVALIDATE_S);
    S_DEF(unauth_addr_rate, EDGE_UNAUTH_ADDR_RATE_PER_S);
    S_DEF(unauth_addr_burst, EDGE_UNAUTH_ADDR_BURST);
    S_DEF(unauth_rate, EDGE_UNAUTH_RATE_PER_S);
    S_DEF(unauth_burst, EDGE_UNAUTH_BURST);
    S_DEF(queue_total_bytes, EDGE_QUEUE_TOTAL_BYTES);
    if (e->o.request_timeout_ms > EDGE_MAX_REQUEST_TIMEOUT_MS)
        e->o.request_timeout_ms = EDGE_MAX_REQUEST_TIMEOUT_MS;
    if (e->o.idle_s <= e->o.ping_s)
        e->o.idle_s = e->o.ping_s + 1;
    if (e->o.port < 0 || e->o.port > 65535 || e->o.bus.endpoint == NULL || e->o.stop_fd < 0 ||
        e->o.ping_s > 65535 || e->o.idle_s > 65535 || e->o.queue_msgs < 2 ||
        e->o.max_message > CODEC_MAX_WIRE)
        return ES_INVALID_ARGUMENT;
    if ((e->o.tls_cert == NULL) != (e->o.tls_key == NULL))
        return ES_INVALID_ARGUMENT;
    e->tls = e->o.tls_cert != NULL;
    e->retry.secs_since_valid_ping = (uint16_t)e->o.ping_s;
    e->retry.secs_since_valid_hangup = (uint16_t)e->o.idle_s;
    return 0;
}

static void s_lws_log(int level, const char *line)
{
    char q[512];
    log_quote(line, q, sizeof(q));
    if (level & LLL_ERR)
        log_error(EDGE_COMP, "lws", "msg=%s", q);
    else
        log_warn(EDGE_COMP, "lws", "msg=%s", q);
}

/* ---- stop ---- */

static void s_finish(edge_t *e)
{
    if (e->destroyed)
        return;
    e->destroyed = 1;
    if (e->handles & EDGE_H_BUS)
        uv_close((uv_handle_t *)&e->bus_poll, NULL);
    if (e->handles & EDGE_H_SUB)
        uv_close((uv_handle_t *)&e->sub_poll, NULL);
    if (e->handles & EDGE_H_PREPARE)
        uv_close((uv_handle_t *)&e->prepare, NULL);
    if (e->handles & EDGE_H_STOP)
        uv_close((uv_handle_t *)&e->stop_poll, NULL);
    if (e->handles & EDGE_H_SWEEP)
        uv_close((uv_handle_t *)&e->sweep, NULL);
    e->handles = 0;
    if (e->ctx != NULL)
        lws_context_destroy(e->ctx); /* completes as the loop runs; pcontext NULLs e->ctx */
}

static void s_sweep_cb(uv_timer_t *t)
{
    edge_t *e = t->data;
    edge_bridge_sweep(e);
    edge_conns_sweep(e);
    if (e->stopping && (e->n_conns == 0 || edge_now_us() / 1000 >= e->stop_at_ms))
        s_finish(e);
}

static void s_stop_cb(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    edge_t *e = h->data;
    if (e->stopping)
        return;
    e->stopping = 1;
    uv_poll_stop(&e->stop_poll);
    log_info(EDGE_COMP, "stop.begin", "conns=%zu pending=%zu", e->n_conns,
             bus_client_inflight(e->bus));
    for (edge_conn_t *c = e->conns; c != NULL; c = c->next)
        edge_conn_close(c, ES_UNAVAILABLE, "edge shutting down", LWS_CLOSE_STATUS_GOINGAWAY);
    e->stop_at_ms = edge_now_us() / 1000 + S_STOP_GRACE_MS;
    uv_timer_start(&e->sweep, s_sweep_cb, S_STOP_SWEEP_MS, S_STOP_SWEEP_MS);
}

/* ---- run ---- */

/* Why the vhost could not listen on host:port, as one English phrase in
 * why: lws does not tell, so try to bind a socket there ourselves (closed
 * at once) and name its errno. */
static void s_listen_error(const char *host, int port, int tls, char *why, size_t n)
{
    struct addrinfo hints, *ai = NULL;
    char service[16];
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(service, sizeof(service), "%d", port);
    int err = 0;
    if (getaddrinfo(host, service, &hints, &ai) != 0 || ai == NULL) {
        snprintf(why, n, "cannot resolve the listen address %s", host);
        return;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    int one = 1;
    if (fd < 0)
        err = errno;
    else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
             bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1) != 0)
        err = errno;
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    if (err == EADDRINUSE)
        snprintf(why, n, "port %d is already in use", port);
    else if (err == EACCES)
        snprintf(why, n, "no permission to listen on port %d", port);
    else if (err == EADDRNOTAVAIL)
        snprintf(why, n, "address %s is not on this host", host);
    else if (err != 0)
        snprintf(why, n, "cannot listen on port %d (errno %d)", port, err);
    else if (tls)
        snprintf(why, n, "cannot start TLS (certificate or key unreadable or invalid)");
    else
        snprintf(why, n, "cannot listen on port %d", port);
}

static const struct lws_protocol_vhost_options s_mime[] = {
    {&s_mime[1], NULL, ".wasm", "application/wasm"},
    {&s_mime[2], NULL, ".mjs", "text/javascript"},
    {&s_mime[3], NULL, ".map", "application/json"},
    {&s_mime[4], NULL, ".webmanifest", "application/manifest+json"},
    {&s_mime[5], NULL, ".svg", "image/svg+xml"},
    {&s_mime[6], NULL, ".json", "application/json"},
    {NULL, NULL, ".woff2", "font/woff2"},
};

int edge_run(const edge_opts_t *o)
{
    int rc;
    if (o == NULL)
        return ES_INVALID_ARGUMENT;
    edge_t *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return ES_RESOURCE_EXHAUSTED;
    if ((rc = s_resolve(e, o)) != 0) {
        log_error(EDGE_COMP, "start.failed", "reason=\"bad options\"");
        free(e);
        return rc;
    }
    const edge_allow_t *bad = NULL;
    if (edge_allow_verify(&bad) != 0) {
        log_error(EDGE_COMP, "start.failed", "reason=\"allow-list names an unknown method\" "
                  "service=%s method=%s", bad->service, bad->method);
        free(e);
        return ES_INTERNAL;
    }
    e->unauth = edge_limiter_new(EDGE_UNAUTH_ADDR_SLOTS, e->o.unauth_addr_rate,
                                 e->o.unauth_addr_burst, e->o.unauth_rate, e->o.unauth_burst,
                                 edge_now_us());
    if (e->unauth == NULL) {
        free(e);
        return ES_RESOURCE_EXHAUSTED;
    }
    if (uv_loop_init(&e->loop) != 0) {
        edge_limiter_destroy(&e->unauth);
        free(e);
        return ES_INTERNAL;
    }
    lws_set_log_level(getenv("ES_LWS_DEBUG") ? 0xffff : (LLL_ERR | LLL_WARN), s_lws_log);

    struct lws_protocols protocols[3];
    memset(protocols, 0, sizeof(protocols));
    protocols[0].name = "http";
    protocols[0].callback = edge_http_callback;
    protocols[0].per_session_data_size = edge_http_pss_size();
    protocols[1].name = EDGE_SUBPROTOCOL;
    protocols[1].callback = edge_ws_callback;
    protocols[1].per_session_data_size = sizeof(edge_conn_t);
    protocols[1].rx_buffer_size = S_RX_CHUNK;
    protocols[1].tx_packet_size = S_TX_CHUNK;

    struct lws_http_mount m_files, m_health, m_metrics;
    memset(&m_files, 0, sizeof(m_files));
    memset(&m_health, 0, sizeof(m_health));
    memset(&m_metrics, 0, sizeof(m_metrics));
    m_health.mountpoint = "/healthz";
    m_health.mountpoint_len = 8;
    m_health.origin = "http";
    m_health.origin_protocol = LWSMPRO_CALLBACK;
    m_health.mount_next = &m_metrics;
    m_metrics.mountpoint = "/metrics";
    m_metrics.mountpoint_len = 8;
    m_metrics.origin = "http";
    m_metrics.origin_protocol = LWSMPRO_CALLBACK;
    if (e->o.web_root != NULL) {
        m_metrics.mount_next = &m_files;
        m_files.mountpoint = "/";
        m_files.mountpoint_len = 1;
        m_files.origin = e->o.web_root;
        m_files.def = "index.html";
        m_files.protocol = "http"; /* its callback adds the security headers */
        m_files.origin_protocol = LWSMPRO_FILE;
        m_files.extra_mimetypes = s_mime;
    }

    if ((rc = edge_bridge_open(e)) != 0) {
        log_error(EDGE_COMP, "start.failed", "reason=\"bus\" status=%s", es_status_name(rc));
        goto cleanup;
    }
    rc = ES_INTERNAL;
    if (uv_poll_init(&e->loop, &e->stop_poll, e->o.stop_fd) != 0)
        goto cleanup;
    e->handles |= EDGE_H_STOP;
    e->stop_poll.data = e;
    uv_poll_start(&e->stop_poll, UV_READABLE, s_stop_cb);
    if (uv_timer_init(&e->loop, &e->sweep) != 0)
        goto cleanup;
    e->handles |= EDGE_H_SWEEP;
    e->sweep.data = e;
    uv_timer_start(&e->sweep, s_sweep_cb, S_SWEEP_MS, S_SWEEP_MS);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    void *loops[1] = {&e->loop};
    info.options = LWS_SERVER_OPTION_LIBUV;
    info.foreign_loops = loops;
    info.port = e->o.port;
    info.iface = e->o.host;
    info.vhost_name = S_VHOST;
    info.protocols = protocols;
    info.mounts = &m_health;
    info.user = e;
    info.pcontext = &e->ctx;
    info.retry_and_idle_policy = &e->retry;
    info.alpn = "http/1.1"; /* no h2: send.c writes outside WRITEABLE callbacks */
    if (e->tls) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = e->o.tls_cert;
        info.ssl_private_key_filepath = e->o.tls_key;
    }
    /* The context first, with no vhost: the vhost (the listening socket)
     * is created next, so that when it cannot listen the context is whole
     * and is torn down like at a stop. With the default vhost made inside
     * lws_create_context, a bind failure left a half-made context whose
     * teardown unloaded the libuv event-lib plugin while its handles were
     * still on our loop: SIGSEGV in the next uv_run. */
    info.options |= LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    e->ctx = lws_create_context(&info);
    if (e->ctx == NULL) {
        log_error(EDGE_COMP, "start.failed", "reason=\"cannot create the lws context\" tls=%d",
                  e->tls);
        rc = ES_UNAVAILABLE;
        goto cleanup;
    }
    e->vhost = lws_create_vhost(e->ctx, &info);
    int port = e->vhost ? lws_get_vhost_listen_port(e->vhost) : -1;
    if (port <= 0) {
        char why[96];
        s_listen_error(e->o.host, e->o.port, e->tls, why, sizeof(why));
        log_error(EDGE_COMP, "start.failed", "reason=\"%s\" host=%s port=%d", why, e->o.host,
                  e->o.port);
        rc = ES_UNAVAILABLE;
        goto cleanup;
    }
    if (e->o.bound_port != NULL)
        *e->o.bound_port = port;
    log_info(EDGE_COMP, "listen", "host=%s port=%d tls=%d web_root=%d max_conns=%u", e->o.host,
             port, e->tls, e->o.web_root != NULL, e->o.max_conns);
    if (e->o.ready_fd >= 0 && write(e->o.ready_fd, "r", 1) != 1)
        log_warn(EDGE_COMP, "ready.write_failed", NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    rc = 0;
cleanup:
    s_finish(e);
    uv_run(&e->loop, UV_RUN_DEFAULT); /* let closes and the context teardown finish */
    if (e->ctx != NULL) {
        lws_context_destroy(e->ctx);
        uv_run(&e->loop, UV_RUN_DEFAULT);
    }
    edge_bridge_close(e);
    if (uv_loop_close(&e->loop) != 0)
        log_warn(EDGE_COMP, "stop.loop_busy", NULL);
    log_info(EDGE_COMP, "stop", "status=%s", es_status_name(rc));
    edge_limiter_destroy(&e->unauth);
    free(e);
    return rc;
}
