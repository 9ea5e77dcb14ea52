/* run.c - the parts of a run every scenario shares (run.h). */
#include "clients/load/run.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clients/load/wire.h"
#include "proto/status.h"

int64_t run_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

void run_count_status(run_t *r, int wire_code)
{
    int st = es_from_code(wire_code);
    if (st == 0)
        r->acked++;
    else
        r->errors[-st < RUN_CODES ? -st : -ES_INTERNAL]++;
}

int run_sample_server(run_t *r, procstat_t *s)
{
    if (!r->o.server_pid)
        return 0;
    int rc = procstat_read(r->o.server_pid, s);
    if (rc == 0) {
        if (s->rss_kib > r->rss_peak_kib)
            r->rss_peak_kib = s->rss_kib;
        if (s->anon_kib > r->anon_peak_kib)
            r->anon_peak_kib = s->anon_kib;
    }
    return rc;
}

static void s_progress_cb(uv_timer_t *t)
{
    run_t *r = t->data;
    procstat_t s;
    char srv[96] = "";
    if (r->o.server_pid && run_sample_server(r, &s) == 0)
        snprintf(srv, sizeof srv, " server_rss=%lldKiB", (long long)s.rss_kib);
    if (r->o.quiet)
        return;
    double el = (double)(run_now_ns() - r->t0_ns) / 1e9;
    uint64_t errs = r->send_failed;
    for (int i = 1; i < RUN_CODES; i++)
        errs += r->errors[i];
    fprintf(stderr,
            "[%6.1fs] open=%u sent=%llu (+%llu/s) delivered=%llu (+%llu/s) acked=%llu "
            "errors=%llu p99=%.2fms lag=%.1fms%s\n",
            el, net_open_count(r->net), (unsigned long long)r->sent,
            (unsigned long long)(r->sent - r->last_sent), (unsigned long long)r->delivered,
            (unsigned long long)(r->delivered - r->last_delivered), (unsigned long long)r->acked,
            (unsigned long long)errs, (double)hist_percentile(r->deliver, 99) / 1000.0,
            (double)r->max_lag_ns / 1e6, srv);
    r->last_sent = r->sent;
    r->last_delivered = r->delivered;
}

void run_progress_start(run_t *r)
{
    if (r->progress_on)
        return;
    uv_timer_init(net_loop(r->net), &r->progress);
    r->progress.data = r;
    uv_timer_start(&r->progress, s_progress_cb, 1000, 1000);
    r->progress_on = 1;
}

void run_progress_stop(run_t *r)
{
    if (!r->progress_on)
        return;
    uv_timer_stop(&r->progress);
    uv_close((uv_handle_t *)&r->progress, NULL);
    r->progress_on = 0;
}

int run_open(run_t *r, unsigned conn)
{
    static unsigned next_source;
    const char *src = NULL;
    if (r->o.n_sources)
        src = r->o.sources[next_source++ % r->o.n_sources];
    char path[64];
    /* the relay pairs the two connections that name the same pair */
    snprintf(path, sizeof path, "/pair/%u", conn / 2);
    int rc = net_connect(r->net, conn, src, strcmp(r->o.target, "relay") ? NULL : path);
    if (rc < 0)
        r->conn_failed++;
    return rc;
}

int run_auth(run_t *r, unsigned conn, const creds_patient_t *p, unsigned device)
{
    uint8_t buf[2048];
    size_t len = 0;
    int rc = p->n_tokens ? wire_resume(buf, sizeof buf, RUN_AUTH_ID,
                                       p->tokens[device % p->n_tokens], &len)
                         : wire_login(buf, sizeof buf, RUN_AUTH_ID, p->ins, p->password, &len);
    if (rc == 0)
        rc = net_send(r->net, conn, buf, len);
    volatile uint8_t *v = buf; /* the token or password */
    for (size_t i = 0; i < len; i++)
        v[i] = 0;
    return rc;
}
