/*
 * connect.c - the `connect` scenario (run.h): open `conns` connections at
 * connect_rate per second, authenticate each one (resume with a seeded
 * device token, round robin over the accounts file, or log in), keep them
 * all open and idle for hold_s seconds, then close. The server's RSS is
 * sampled before the first connection (srv_idle) and at the end of the
 * hold (srv1): (srv1 - srv_idle) / connections open = memory per idle
 * authenticated connection.
 *
 * One process holds at most what its descriptor limit allows (ulimit -n,
 * 20 000 here) and one source address ~28 000 ports: spread bigger runs
 * over several processes with --source 127.0.0.2, 127.0.0.3... (any
 * 127.x address reaches a server listening on 127.0.0.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/load/run.h"
#include "clients/load/sched.h"
#include "clients/load/wire.h"
#include "proto/status.h"

#define S_TICK_MS 5
#define S_CONNECT_GRACE_NS (INT64_C(30) * 1000000000)
#define S_SETTLE_NS (INT64_C(1000) * 1000000) /* after the last connection, before sampling */

enum { S_CONNECTING, S_SETTLING, S_HOLDING, S_DONE };

typedef struct conn_scen {
    run_t *r;
    int relay;
    int phase;
    uv_timer_t tick;
    sched_t opens;
    int64_t deadline;
    unsigned resolved, ready_now;
    uint8_t *ready; /* 0 pending, 1 ready, 2 failed */
} conn_scen_t;

static void s_resolve(conn_scen_t *c, unsigned conn, int ok)
{
    if (c->ready[conn] != 0)
        return;
    c->ready[conn] = ok ? 1 : 2;
    c->resolved++;
    if (ok)
        c->ready_now++;
}

static void s_opened(net_t *n, unsigned conn, void *user)
{
    (void)n;
    conn_scen_t *c = user;
    run_t *r = c->r;
    r->conn_opened++;
    if (c->relay) {
        s_resolve(c, conn, 1);
        return;
    }
    size_t np = r->creds->n_patients;
    const creds_patient_t *p = &r->creds->patients[conn % np];
    if (run_auth(r, conn, p, (unsigned)(conn / np)) < 0) {
        r->auth_failed++;
        s_resolve(c, conn, 0);
    }
}

static void s_closed(net_t *n, unsigned conn, int was_open, void *user)
{
    (void)n;
    conn_scen_t *c = user;
    if (!was_open)
        c->r->conn_failed++;
    else if (c->phase != S_DONE)
        c->r->conn_closed++;
    if (c->ready[conn] == 1 && c->phase != S_DONE) {
        c->ready[conn] = 2;
        c->ready_now--;
    }
    s_resolve(c, conn, 0);
}

static void s_message(net_t *n, unsigned conn, const uint8_t *data, size_t len, void *user)
{
    (void)n;
    conn_scen_t *c = user;
    Espace__V1__ServerMessage *m = wire_parse(data, len);
    if (!m) {
        c->r->bad_messages++;
        return;
    }
    if (m->kind_case == ESPACE__V1__SERVER_MESSAGE__KIND_REPLY && m->id == RUN_AUTH_ID) {
        int code = m->reply->status ? m->reply->status->code : 0;
        run_count_status(c->r, code);
        if (code == 0)
            c->r->auth_ok++;
        else
            c->r->auth_failed++;
        s_resolve(c, conn, code == 0);
    } else {
        c->r->unmatched++;
    }
    wire_free(m);
}

static void s_tick(uv_timer_t *t)
{
    conn_scen_t *c = t->data;
    run_t *r = c->r;
    int64_t now = run_now_ns(), at;
    if (c->ready_now > r->conns_peak)
        r->conns_peak = c->ready_now;
    switch (c->phase) {
    case S_CONNECTING:
        while (sched_next_due(&c->opens, now, &at) == 1)
            if (run_open(r, (unsigned)c->opens.next - 1) < 0)
                s_resolve(c, (unsigned)c->opens.next - 1, 0);
        if (c->resolved >= r->o.conns || now > c->deadline) {
            r->connect_s = (double)(now - r->t0_ns) / 1e9;
            c->phase = S_SETTLING;
            c->deadline = now + S_SETTLE_NS;
        }
        break;
    case S_SETTLING:
        if (now > c->deadline) {
            fprintf(stderr, "espace-load: %u of %u connections open and authenticated, holding "
                            "%.0f s\n", c->ready_now, r->o.conns, r->o.hold_s);
            if (run_sample_server(r, &r->srv0) < 0)
                r->o.server_pid = 0;
            r->send_start_ns = now;
            c->phase = S_HOLDING;
            c->deadline = now + (int64_t)(r->o.hold_s * 1e9);
        }
        break;
    case S_HOLDING:
        if (now > c->deadline) {
            r->send_end_ns = now;
            r->conns_peak = c->ready_now; /* still open at the end */
            if (run_sample_server(r, &r->srv1) == 0 && r->o.server_pid)
                r->have_server = 1;
            c->phase = S_DONE;
            uv_timer_stop(&c->tick);
            net_stop(r->net);
        }
        break;
    default:
        break;
    }
}

int connect_run(run_t *r)
{
    conn_scen_t c;
    memset(&c, 0, sizeof c);
    c.r = r;
    c.relay = !strcmp(r->o.target, "relay");
    r->conns_target = r->o.conns;
    if (!c.relay && (!r->creds || r->creds->n_patients == 0)) {
        fprintf(stderr, "espace-load: connect needs patients in the accounts file\n");
        return ES_INVALID_ARGUMENT;
    }
    int rc = ES_RESOURCE_EXHAUSTED;
    if (!(c.ready = calloc(r->o.conns, 1)))
        return rc;
    static const net_handlers_t h = {s_opened, s_message, s_closed};
    net_opts_t no = {.host = r->o.host, .port = r->o.port, .path = r->o.path,
                     .subprotocol = "espace.v1", .max_conns = r->o.conns, .handlers = &h,
                     .user = &c};
    if ((rc = net_new(&no, &r->net)) < 0) {
        fprintf(stderr, "espace-load: cannot create the lws context\n");
        goto out;
    }
    if (r->o.server_pid && run_sample_server(r, &r->srv_idle) < 0) {
        fprintf(stderr, "espace-load: cannot read /proc/%d\n", (int)r->o.server_pid);
        r->o.server_pid = 0;
    }
    int64_t now = run_now_ns();
    if ((rc = sched_init(&c.opens, now, r->o.connect_rate, r->o.conns)) < 0)
        goto out;
    c.deadline = now + (int64_t)r->o.conns * 1000000000 / r->o.connect_rate + S_CONNECT_GRACE_NS;
    uv_timer_init(net_loop(r->net), &c.tick);
    c.tick.data = &c;
    uv_timer_start(&c.tick, s_tick, S_TICK_MS, S_TICK_MS);
    run_progress_start(r);
    net_run(r->net);
    run_progress_stop(r);
    uv_close((uv_handle_t *)&c.tick, NULL);
    uv_run(net_loop(r->net), UV_RUN_NOWAIT);
    rc = c.phase == S_DONE ? 0 : ES_INTERNAL;
out:
    net_destroy(&r->net);
    free(c.ready);
    return rc;
}
