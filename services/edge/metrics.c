/* metrics.c - the edge's counters and their Prometheus text (edge_int.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "services/edge/edge_int.h"
#include "proto/status.h"

const double edge_metrics_bounds[EDGE_METRICS_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0};

static int s_label_ok(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
        if (n >= BUS_MAX_SERVICE)
            return 0;
    }
    return n > 0;
}

static size_t s_service_row(edge_metrics_t *m, const char *service)
{
    if (service == NULL || !s_label_ok(service))
        return EDGE_METRICS_SERVICES;
    for (size_t i = 0; i < m->n_services; i++)
        if (strcmp(m->services[i], service) == 0)
            return i;
    if (m->n_services == EDGE_METRICS_SERVICES)
        return EDGE_METRICS_SERVICES;
    snprintf(m->services[m->n_services], sizeof(m->services[0]), "%s", service);
    return m->n_services++;
}

void edge_metrics_request(edge_metrics_t *m, const char *service, int status, double seconds)
{
    m->requests[s_service_row(m, service)][es_to_code(status)]++;
    if (seconds < 0)
        return;
    size_t b = 0;
    while (b < EDGE_METRICS_BUCKETS && seconds > edge_metrics_bounds[b])
        b++;
    m->latency[b]++;
    m->latency_sum += seconds;
    m->latency_count++;
}

typedef struct s_out {
    char *buf;
    size_t cap, len;
    int full;
} s_out_t;

static void s_put(s_out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_put(s_out_t *o, const char *fmt, ...)
{
    if (o->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= o->cap - o->len) {
        o->full = 1;
        return;
    }
    o->len += (size_t)w;
}

static const char *s_code_name(int code)
{
    return es_status_name(es_from_code(code));
}

/* The HELP and TYPE lines of a metric. */
static void s_head(s_out_t *o, const char *name, const char *type, const char *help)
{
    s_put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric of one value, with its HELP and TYPE lines. */
static void s_metric(s_out_t *o, const char *name, const char *type, const char *help,
                     uint64_t value)
{
    s_head(o, name, type, help);
    s_put(o, "%s %llu\n", name, (unsigned long long)value);
}

/* A counter of two values told apart by one label: name{label="a"} and
 * name{label="b"}, with its HELP and TYPE lines. */
static void s_pair(s_out_t *o, const char *name, const char *help, const char *label,
                   const char *a, const char *b, const uint64_t v[2])
{
    s_head(o, name, "counter", help);
    s_put(o, "%s{%s=\"%s\"} %llu\n", name, label, a, (unsigned long long)v[0]);
    s_put(o, "%s{%s=\"%s\"} %llu\n", name, label, b, (unsigned long long)v[1]);
}

int edge_metrics_render(const edge_metrics_t *m, char *buf, size_t cap, size_t *len)
{
    s_out_t o = {buf, cap, 0, cap == 0};
    s_metric(&o, "espace_edge_connections", "gauge", "Open websocket connections.", m->connections);
    s_metric(&o, "espace_edge_connections_total", "counter",
             "Websocket connections accepted.", m->connections_total);
    s_metric(&o, "espace_edge_refused_total", "counter",
             "Websocket upgrades refused (connection cap).", m->refused_total);
    s_head(&o, "espace_edge_requests_total", "counter",
           "Client requests answered, by service and status.");
    for (size_t r = 0; r <= EDGE_METRICS_SERVICES; r++) {
        if (r < EDGE_METRICS_SERVICES && r >= m->n_services)
            continue;
        const char *svc = r < EDGE_METRICS_SERVICES ? m->services[r] : "other";
        for (int c = 0; c < EDGE_METRICS_CODES; c++)
            if (m->requests[r][c] > 0)
                s_put(&o, "espace_edge_requests_total{service=\"%s\",status=\"%s\"} %llu\n", svc,
                      s_code_name(c), (unsigned long long)m->requests[r][c]);
    }
    s_head(&o, "espace_edge_request_seconds", "histogram",
           "Time from a client request to its answer.");
    uint64_t cum = 0;
    for (size_t b = 0; b < EDGE_METRICS_BUCKETS; b++) {
        cum += m->latency[b];
        s_put(&o, "espace_edge_request_seconds_bucket{le=\"%g\"} %llu\n", edge_metrics_bounds[b],
              (unsigned long long)cum);
    }
    cum += m->latency[EDGE_METRICS_BUCKETS];
    s_put(&o, "espace_edge_request_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    s_put(&o, "espace_edge_request_seconds_sum %.6f\n", m->latency_sum);
    s_put(&o, "espace_edge_request_seconds_count %llu\n", (unsigned long long)m->latency_count);
    s_metric(&o, "espace_edge_queue_drops_total", "counter",
             "Events dropped on full connection queues.", m->queue_drops);
    s_metric(&o, "espace_edge_events_total", "counter",
             "Live events received from the bus.", m->events);
    s_metric(&o, "espace_edge_bad_messages_total", "counter",
             "Malformed client messages.", m->bad_messages);
    s_metric(&o, "espace_edge_oversize_total", "counter",
             "Connections closed for an oversize message.", m->oversize);
    s_pair(&o, "espace_edge_unauth_limited_total",
           "Unauthenticated calls (sign-up, log-in, activation) refused, by bucket.", "bucket",
           "address", "global", m->unauth_limited);
    s_metric(&o, "espace_edge_denied_total", "counter",
             "Calls refused by the allow-list.", m->denied);
    s_metric(&o, "espace_edge_shed_total", "counter",
             "Connections closed because the edge's reply memory was full.", m->shed);
    s_pair(&o, "espace_edge_frames_total",
           "Frames written, at once or from the WRITEABLE callback (after a wait).", "path",
           "at_once", "callback", m->frames);
    s_metric(&o, "espace_edge_queued_bytes", "gauge",
             "Bytes waiting in every connection's queue.", m->queued_bytes);
    if (o.full)
        return ES_TOO_LARGE;
    *len = o.len;
    return 0;
}
