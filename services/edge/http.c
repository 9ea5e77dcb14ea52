/*
 * http.c - the "http" protocol of the edge (edge_int.h): security headers on
 * every file served, GET /healthz and GET /metrics, and no websocket without
 * the "espace.v1" subprotocol.
 */
#include <stdlib.h>
#include <string.h>

#include "services/edge/edge_int.h"
#include "process/log.h"
#include "proto/status.h"

/* libsodium-wrappers-sumo compiles WebAssembly, hence 'wasm-unsafe-eval';
 * no inline script or style anywhere. */
#define S_CSP                                                                                   \
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "              \
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "      \
    "form-action 'self'"
#define S_HSTS "max-age=31536000"

/* Per-transaction state of the http protocol. */
typedef struct s_http {
    uint8_t *body; /* LWS_PRE + len bytes to send, or NULL */
    size_t len;
} s_http_t;

static int s_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                    unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

int edge_http_security_headers(edge_t *e, struct lws *wsi, unsigned char **p, unsigned char *end)
{
    if (s_header(wsi, "content-security-policy:", S_CSP, p, end) ||
        s_header(wsi, "x-frame-options:", "DENY", p, end) ||
        s_header(wsi, "x-content-type-options:", "nosniff", p, end) ||
        s_header(wsi, "referrer-policy:", "no-referrer", p, end) ||
        s_header(wsi, "cross-origin-opener-policy:", "same-origin", p, end))
        return -1;
    if (e->tls && s_header(wsi, "strict-transport-security:", S_HSTS, p, end))
        return -1;
    return 0;
}

static void s_clear(s_http_t *h)
{
    if (h == NULL)
        return;
    free(h->body);
    h->body = NULL;
    h->len = 0;
}

/* Answer status with body (copied) of content type `type`. */
static int s_respond(edge_t *e, struct lws *wsi, s_http_t *h, unsigned status, const char *type,
                     const char *body, size_t len)
{
    unsigned char buf[LWS_PRE + 2048];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    s_clear(h);
    h->body = malloc(LWS_PRE + len + 1);
    if (h->body == NULL)
        return -1;
    memcpy(h->body + LWS_PRE, body, len);
    h->len = len;
    if (lws_add_http_common_headers(wsi, status, type, (lws_filepos_t)len, &p, end) ||
        edge_http_security_headers(e, wsi, &p, end) ||
        s_header(wsi, "cache-control:", "no-store", &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int s_http(edge_t *e, struct lws *wsi, s_http_t *h)
{
    char uri[128];
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
        return s_respond(e, wsi, h, HTTP_STATUS_METHOD_NOT_ALLOWED, "text/plain",
                         "method not allowed\n", 19);
    if (strcmp(uri, "/healthz") == 0)
        return s_respond(e, wsi, h, HTTP_STATUS_OK, "text/plain", "ok\n", 3);
    if (strcmp(uri, "/metrics") == 0) {
        char *text = malloc(EDGE_METRICS_TEXT_MAX);
        size_t len = 0;
        int rc = -1;
        e->metrics.queued_bytes = e->queued;
        if (text != NULL && edge_metrics_render(&e->metrics, text, EDGE_METRICS_TEXT_MAX, &len) == 0)
            rc = s_respond(e, wsi, h, HTTP_STATUS_OK, "text/plain; version=0.0.4", text, len);
        free(text);
        return rc;
    }
    return s_respond(e, wsi, h, HTTP_STATUS_NOT_FOUND, "text/plain", "not found\n", 10);
}

int edge_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    edge_t *e = lws_context_user(lws_get_context(wsi));
    s_http_t *h = user;
    switch (reason) {
    case LWS_CALLBACK_ADD_HEADERS: {
        struct lws_process_html_args *a = in;
        unsigned char *p = (unsigned char *)a->p, *end = p + a->max_len;
        if (edge_http_security_headers(e, wsi, &p, end))
            return -1;
        a->max_len -= (int)(p - (unsigned char *)a->p);
        a->p = (char *)p;
        return 0;
    }
    case LWS_CALLBACK_HTTP:
        if (h == NULL)
            return -1;
        return s_http(e, wsi, h) ? -1 : 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (h == NULL || h->body == NULL)
            break;
        {
            int n = lws_write(wsi, h->body + LWS_PRE, h->len, LWS_WRITE_HTTP_FINAL);
            int short_write = n < 0 || (size_t)n < h->len;
            s_clear(h);
            if (short_write || lws_http_transaction_completed(wsi))
                return -1;
        }
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        s_clear(h);
        break;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        /* a websocket without the espace.v1 subprotocol */
        log_info(EDGE_COMP, "http.ws_refused", "reason=\"no subprotocol\"");
        return -1;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

size_t edge_http_pss_size(void)
{
    return sizeof(s_http_t);
}
