/* report.c - JSON summary and table of a run (report.h). */
#include "clients/load/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/json.h"
#include "proto/status.h"

static const double s_pcts[] = {50, 90, 99, 99.9};
static const char *const s_pct_names[] = {"p50", "p90", "p99", "p999"};

static void s_hist_json(json_t *j, const char *key, const hist_t *h)
{
    json_obj_open(j, key);
    json_int(j, "count", (int64_t)hist_count(h));
    json_int(j, "min", hist_min(h));
    json_int(j, "mean", (int64_t)hist_mean(h));
    for (size_t i = 0; i < 4; i++)
        json_int(j, s_pct_names[i], hist_percentile(h, s_pcts[i]));
    json_int(j, "max", hist_max(h));
    json_obj_close(j);
}

static uint64_t s_errors(const run_t *r)
{
    uint64_t e = r->send_failed;
    for (int i = 1; i < RUN_CODES; i++)
        e += r->errors[i];
    return e;
}

static int64_t s_window_ns(const run_t *r)
{
    int64_t w = r->send_end_ns - r->send_start_ns;
    return w > 0 ? w : 1;
}

static int64_t s_server_cpu_us(const run_t *r)
{
    return r->have_server ? r->srv1.cpu_us - r->srv0.cpu_us : 0;
}

static void s_server_json(json_t *j, const run_t *r)
{
    if (!r->have_server)
        return;
    int64_t cpu = s_server_cpu_us(r);
    int64_t wall_us = (r->srv1.at_ns - r->srv0.at_ns) / 1000;
    json_obj_open(j, "server");
    json_int(j, "pid", r->o.server_pid);
    json_int(j, "cpu_us", cpu);
    json_int(j, "wall_us", wall_us);
    json_int(j, "cpu_permille", wall_us > 0 ? cpu * 1000 / wall_us : 0);
    if (r->delivered)
        json_int(j, "cpu_ns_per_delivery", cpu * 1000 / (int64_t)r->delivered);
    if (r->sent)
        json_int(j, "cpu_ns_per_send", cpu * 1000 / (int64_t)r->sent);
    json_int(j, "rss_kib", r->srv1.rss_kib);
    json_int(j, "rss_anon_kib", r->srv1.anon_kib);
    json_int(j, "rss_peak_kib", r->rss_peak_kib);
    json_int(j, "rss_anon_peak_kib", r->anon_peak_kib);
    json_arr_open(j, "threads");
    for (unsigned i = 0; i < r->srv1.n_threads; i++) {
        const procstat_thread_t *t = &r->srv1.threads[i];
        int64_t before = procstat_thread_cpu(&r->srv0, t->tid);
        json_obj_open(j, NULL);
        json_int(j, "tid", t->tid);
        json_str(j, "name", t->name);
        json_int(j, "cpu_us", t->cpu_us - (before < 0 ? 0 : before));
        json_obj_close(j);
    }
    json_arr_close(j);
    json_obj_close(j);
}

static void s_connect_json(json_t *j, const run_t *r)
{
    if (strcmp(r->o.scenario, "connect"))
        return;
    json_obj_open(j, "connect");
    json_int(j, "target", r->conns_target);
    json_int(j, "peak_open", r->conns_peak);
    json_int(j, "connect_ms", (int64_t)(r->connect_s * 1000));
    if (r->have_server && r->conns_peak) {
        json_int(j, "rss_idle_kib", r->srv_idle.rss_kib);
        json_int(j, "rss_anon_idle_kib", r->srv_idle.anon_kib);
        json_int(j, "rss_bytes_per_conn",
                 (r->srv1.rss_kib - r->srv_idle.rss_kib) * 1024 / (int64_t)r->conns_peak);
        json_int(j, "rss_anon_bytes_per_conn",
                 (r->srv1.anon_kib - r->srv_idle.anon_kib) * 1024 / (int64_t)r->conns_peak);
    }
    json_obj_close(j);
}

static char *s_json(const run_t *r, size_t *len)
{
    json_t j;
    json_init(&j);
    json_obj_open(&j, NULL);
    json_str(&j, "scenario", r->o.scenario);
    json_str(&j, "target", r->o.target);
    if (!strcmp(r->o.target, "mosquitto") || !strcmp(r->o.target, "xmpp"))
        json_int(&j, "qos", r->o.qos);
    if (r->o.mode)
        json_str(&j, "mode", r->o.mode);
    json_int(&j, "connections", r->o.conns);
    json_int(&j, "offered_per_s", (int64_t)r->o.rate);
    json_int(&j, "duration_ms", (int64_t)(r->o.duration_s * 1000));
    json_int(&j, "payload_bytes", (int64_t)r->o.payload);
    json_int(&j, "sent", (int64_t)r->sent);
    json_int(&j, "acked", (int64_t)r->acked);
    json_int(&j, "delivered", (int64_t)r->delivered);
    json_int(&j, "deliveries_expected", (int64_t)r->expected);
    json_int(&j, "lost", (int64_t)r->lost);
    json_int(&j, "duplicates", (int64_t)r->duplicates);
    if (!strcmp(r->o.scenario, "relay")) {
        json_int(&j, "device_acks", (int64_t)r->device_acks);
        json_int(&j, "undecryptable", (int64_t)r->undecryptable);
    }
    json_int(&j, "errors", (int64_t)s_errors(r));
    json_obj_open(&j, "error_detail");
    json_int(&j, "send_failed", (int64_t)r->send_failed);
    for (int i = 1; i < RUN_CODES; i++)
        if (r->errors[i])
            json_int(&j, es_status_name(-i), (int64_t)r->errors[i]);
    json_int(&j, "bad_messages", (int64_t)r->bad_messages);
    json_int(&j, "unmatched", (int64_t)r->unmatched);
    json_obj_close(&j);
    json_int(&j, "delivered_per_s", (int64_t)r->delivered * 1000000000 / s_window_ns(r));
    json_int(&j, "acked_per_s", (int64_t)r->acked * 1000000000 / s_window_ns(r));
    json_int(&j, "sender_max_lag_us", r->max_lag_ns / 1000);
    json_obj_open(&j, "conns");
    json_int(&j, "opened", (int64_t)r->conn_opened);
    json_int(&j, "failed", (int64_t)r->conn_failed);
    json_int(&j, "closed_early", (int64_t)r->conn_closed);
    json_int(&j, "auth_ok", (int64_t)r->auth_ok);
    json_int(&j, "auth_failed", (int64_t)r->auth_failed);
    json_obj_close(&j);
    json_obj_open(&j, "latency_us");
    s_hist_json(&j, "deliver", r->deliver);
    s_hist_json(&j, "ack", r->ack);
    json_obj_close(&j);
    s_server_json(&j, r);
    s_connect_json(&j, r);
    json_obj_close(&j);
    return json_take(&j, len);
}

static void s_table(FILE *f, const run_t *r)
{
    if (!strcmp(r->o.scenario, "connect"))
        fprintf(f, "\nconnect -> %s: %u connections, held %.1f s\n", r->o.target, r->o.conns,
                r->o.hold_s);
    else
        fprintf(f, "\n%s -> %s%s%s%s: %u connections, offered %llu/s for %.1f s\n",
                r->o.scenario, r->o.target,
                !strcmp(r->o.target, "mosquitto") ? (r->o.qos ? " QoS 1" : " QoS 0") : "",
                r->o.mode ? " mode " : "", r->o.mode ? r->o.mode : "",
                r->o.conns, (unsigned long long)r->o.rate, r->o.duration_s);
    fprintf(f, "  sent %llu  acked %llu  delivered %llu (%llu/s)  lost %llu  errors %llu\n",
            (unsigned long long)r->sent, (unsigned long long)r->acked,
            (unsigned long long)r->delivered,
            (unsigned long long)(r->delivered * 1000000000ULL / (uint64_t)s_window_ns(r)),
            (unsigned long long)r->lost, (unsigned long long)s_errors(r));
    if (!strcmp(r->o.scenario, "relay"))
        fprintf(f, "  duplicates %llu  undecryptable %llu  device acks %llu\n",
                (unsigned long long)r->duplicates, (unsigned long long)r->undecryptable,
                (unsigned long long)r->device_acks);
    fprintf(f, "  %-8s %9s %9s %9s %9s %9s %9s\n", "latency", "mean", "p50", "p90", "p99",
            "p99.9", "max");
    const hist_t *hs[2] = {r->deliver, r->ack};
    const char *names[2] = {"deliver", "ack"};
    for (int k = 0; k < 2; k++) {
        if (!hist_count(hs[k]))
            continue;
        fprintf(f, "  %-8s %7.2fms", names[k], hist_mean(hs[k]) / 1000.0);
        for (size_t i = 0; i < 4; i++)
            fprintf(f, " %7.2fms", (double)hist_percentile(hs[k], s_pcts[i]) / 1000.0);
        fprintf(f, " %7.2fms\n", (double)hist_max(hs[k]) / 1000.0);
    }
    if (r->have_server) {
        int64_t cpu = s_server_cpu_us(r);
        double wall = (double)(r->srv1.at_ns - r->srv0.at_ns) / 1e9;
        fprintf(f, "  server: %.2f s CPU in %.2f s (%.0f%% of a core)", (double)cpu / 1e6, wall,
                wall > 0 ? (double)cpu / 1e4 / wall : 0.0);
        if (r->delivered)
            fprintf(f, ", %.1f us CPU per delivery", (double)cpu / (double)r->delivered);
        else if (r->sent)
            fprintf(f, ", %.1f us CPU per write", (double)cpu / (double)r->sent);
        fprintf(f, "; RSS %lld KiB (anon %lld), peak %lld KiB\n", (long long)r->srv1.rss_kib,
                (long long)r->srv1.anon_kib, (long long)r->rss_peak_kib);
    }
    if (!strcmp(r->o.scenario, "connect") && r->conns_peak) {
        fprintf(f, "  connect: %u of %u open (in %.1f s)", r->conns_peak, r->conns_target,
                r->connect_s);
        if (r->have_server)
            fprintf(f, ", server RSS +%.0f B/conn (anon +%.0f B/conn)",
                    (double)(r->srv1.rss_kib - r->srv_idle.rss_kib) * 1024 / r->conns_peak,
                    (double)(r->srv1.anon_kib - r->srv_idle.anon_kib) * 1024 / r->conns_peak);
        fputc('\n', f);
    }
}

int report_write(const run_t *r)
{
    size_t len = 0;
    char *js = s_json(r, &len);
    if (!js)
        return ES_INTERNAL;
    int rc = 0;
    FILE *table = stderr;
    if (r->o.json_path) {
        FILE *f = fopen(r->o.json_path, "w");
        if (!f || fwrite(js, 1, len, f) != len || fputc('\n', f) == EOF)
            rc = ES_INTERNAL;
        if (f && fclose(f) != 0)
            rc = ES_INTERNAL;
        table = stdout;
    } else {
        fwrite(js, 1, len, stdout);
        fputc('\n', stdout);
    }
    s_table(table, r);
    free(js);
    return rc;
}
