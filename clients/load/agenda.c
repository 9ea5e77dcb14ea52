/*
 * agenda.c - the `agenda` scenario (run.h): pairs of connections, the two
 * devices of one patient. Write i goes to pair i % pairs; within a pair the
 * writer alternates between the devices (so each connection sends
 * rate / connections per second, under the edge's 50/s per-connection
 * limit up to 50 000/s with 1 000 connections), and the write counts as
 * delivered when its live event reaches the *other* device. Each write is
 * an agenda Create whose description is `payload` bytes of text.
 *
 * Against the relay (test/bench/relay.c) the same bytes go to the relay,
 * which forwards them to the paired connection: no login, no reply.
 *
 * Phases, on a 1 ms timer: connect (open at connect_rate, authenticate) ->
 * send (open loop, sched.h) -> drain (wait drain_s for late deliveries)
 * -> done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/load/run.h"
#include "clients/load/sched.h"
#include "clients/load/wire.h"
#include "proto/status.h"

#define S_TICK_MS 1
#define S_CONNECT_GRACE_NS (INT64_C(30) * 1000000000)
#define S_MSG_MAX (WIRE_MAX_PAYLOAD + 512)

enum { S_CONNECTING, S_SENDING, S_DRAINING, S_DONE };
enum { S_ACKED = 1, S_DELIVERED = 2, S_FAILED = 4 };

typedef struct agenda {
    run_t *r;
    int relay;
    unsigned pairs;
    int phase;
    uv_timer_t tick;
    sched_t opens;            /* connection openings */
    sched_t sends;
    int64_t connect_deadline, drain_deadline;
    unsigned resolved;        /* connections ready or failed */
    uint8_t *ready;           /* per connection */
    int64_t *at;              /* per write: scheduled time */
    uint8_t *state;           /* per write: S_ACKED | S_DELIVERED | S_FAILED */
    uint64_t done;            /* writes delivered or failed */
} agenda_t;

static unsigned s_writer(const agenda_t *a, uint64_t seq)
{
    return (unsigned)(2 * (seq % a->pairs) + (seq / a->pairs) % 2);
}

static unsigned s_reader(const agenda_t *a, uint64_t seq)
{
    return s_writer(a, seq) ^ 1u;
}

static void s_resolve(agenda_t *a, unsigned conn, int ok)
{
    if (a->ready[conn] != 0)
        return;
    a->ready[conn] = ok ? 1 : 2;
    a->resolved++;
}

static void s_opened(net_t *n, unsigned conn, void *user)
{
    (void)n;
    agenda_t *a = user;
    run_t *r = a->r;
    r->conn_opened++;
    if (a->relay) {
        s_resolve(a, conn, 1);
        return;
    }
    const creds_patient_t *p = &r->creds->patients[conn / 2];
    if (run_auth(r, conn, p, conn % 2) < 0) {
        r->auth_failed++;
        s_resolve(a, conn, 0);
    }
}

static void s_closed(net_t *n, unsigned conn, int was_open, void *user)
{
    (void)n;
    agenda_t *a = user;
    if (!was_open)
        a->r->conn_failed++;
    else if (a->phase != S_DONE)
        a->r->conn_closed++;
    s_resolve(a, conn, 0);
}

static void s_fail(agenda_t *a, uint64_t seq)
{
    if (!(a->state[seq] & (S_FAILED | S_DELIVERED))) {
        a->state[seq] |= S_FAILED;
        a->done++;
    }
}

static void s_reply(agenda_t *a, unsigned conn, const Espace__V1__ServerMessage *m, int64_t now)
{
    run_t *r = a->r;
    int code = m->reply->status ? m->reply->status->code : 0;
    if (m->id == RUN_AUTH_ID) {
        if (code == 0)
            r->auth_ok++;
        else
            r->auth_failed++;
        s_resolve(a, conn, code == 0);
        return;
    }
    uint64_t seq = m->id - 2;
    if (m->id < 2 || seq >= a->sends.next || (a->state[seq] & S_ACKED)) {
        r->unmatched++;
        return;
    }
    a->state[seq] |= S_ACKED;
    run_count_status(r, code);
    if (code == 0)
        hist_record(r->ack, (now - a->at[seq]) / 1000);
    else
        s_fail(a, seq);
}

static void s_delivered(agenda_t *a, unsigned conn, const uint8_t *data, size_t len,
                        int64_t now)
{
    run_t *r = a->r;
    uint64_t seq;
    if (!wire_find_seq(data, len, &seq) || seq >= a->sends.next) {
        r->unmatched++;
        return;
    }
    if (conn == s_writer(a, seq))
        return; /* the writer's own device gets it too: not measured */
    if (conn != s_reader(a, seq) || (a->state[seq] & S_DELIVERED)) {
        r->unmatched++;
        return;
    }
    int was_failed = a->state[seq] & S_FAILED;
    a->state[seq] |= S_DELIVERED;
    if (!was_failed)
        a->done++;
    r->delivered++;
    hist_record(r->deliver, (now - a->at[seq]) / 1000);
}

static void s_message(net_t *n, unsigned conn, const uint8_t *data, size_t len, void *user)
{
    (void)n;
    agenda_t *a = user;
    int64_t now = run_now_ns();
    if (a->relay) {
        s_delivered(a, conn, data, len, now);
        return;
    }
    Espace__V1__ServerMessage *m = wire_parse(data, len);
    if (!m) {
        a->r->bad_messages++;
        return;
    }
    switch (m->kind_case) {
    case ESPACE__V1__SERVER_MESSAGE__KIND_REPLY:
        s_reply(a, conn, m, now);
        break;
    case ESPACE__V1__SERVER_MESSAGE__KIND_EVENT:
        s_delivered(a, conn, m->event->body.data, m->event->body.len, now);
        break;
    case ESPACE__V1__SERVER_MESSAGE__KIND_RESYNC:
        a->r->errors[-ES_RESOURCE_EXHAUSTED]++; /* events dropped by the edge */
        break;
    default:
        break;
    }
    wire_free(m);
}

static void s_send_due(agenda_t *a, int64_t now)
{
    run_t *r = a->r;
    uint8_t buf[S_MSG_MAX];
    int64_t at;
    int64_t lag = sched_lag_ns(&a->sends, now);
    if (lag > r->max_lag_ns)
        r->max_lag_ns = lag;
    while (sched_next_due(&a->sends, now, &at) == 1) {
        uint64_t seq = a->sends.next - 1;
        a->at[seq] = at;
        unsigned w = s_writer(a, seq);
        size_t len = 0;
        int rc = ES_UNAVAILABLE;
        if (a->ready[w] == 1 && a->ready[w ^ 1u] == 1)
            rc = wire_agenda_create(buf, sizeof buf, seq + 2, seq, r->o.payload, NULL, &len);
        if (rc == 0)
            rc = net_send(r->net, w, buf, len);
        if (rc == 0) {
            r->sent++;
        } else {
            r->send_failed++;
            s_fail(a, seq);
        }
    }
}

static void s_finish(agenda_t *a)
{
    run_t *r = a->r;
    a->phase = S_DONE;
    r->lost = 0;
    for (uint64_t i = 0; i < a->sends.next; i++)
        if (!(a->state[i] & (S_DELIVERED | S_FAILED)))
            r->lost++;
    if (run_sample_server(r, &r->srv1) == 0 && r->o.server_pid)
        r->have_server = 1;
    uv_timer_stop(&a->tick);
    net_stop(r->net);
}

static void s_start_sending(agenda_t *a, int64_t now)
{
    run_t *r = a->r;
    a->phase = S_SENDING;
    fprintf(stderr, "espace-load: %u of %u connections ready, sending\n",
            (unsigned)r->auth_ok + (a->relay ? (unsigned)r->conn_opened : 0), r->o.conns);
    if (run_sample_server(r, &r->srv0) < 0)
        r->o.server_pid = 0;
    r->send_start_ns = now;
    sched_init(&a->sends, now, r->o.rate, a->sends.count);
}

static void s_tick(uv_timer_t *t)
{
    agenda_t *a = t->data;
    run_t *r = a->r;
    int64_t now = run_now_ns(), at;
    switch (a->phase) {
    case S_CONNECTING:
        while (sched_next_due(&a->opens, now, &at) == 1)
            if (run_open(r, (unsigned)a->opens.next - 1) < 0)
                s_resolve(a, (unsigned)a->opens.next - 1, 0);
        if (a->resolved >= r->o.conns || now > a->connect_deadline)
            s_start_sending(a, now);
        break;
    case S_SENDING:
        s_send_due(a, now);
        if (sched_done(&a->sends)) {
            r->send_end_ns = now;
            a->phase = S_DRAINING;
            a->drain_deadline = now + (int64_t)(r->o.drain_s * 1e9);
        }
        break;
    case S_DRAINING:
        if (a->done >= a->sends.next || now > a->drain_deadline)
            s_finish(a);
        break;
    default:
        break;
    }
}

int agenda_run(run_t *r)
{
    agenda_t a;
    memset(&a, 0, sizeof a);
    a.r = r;
    a.relay = !strcmp(r->o.target, "relay");
    a.pairs = r->o.conns / 2;
    if (a.pairs == 0 || r->o.conns % 2) {
        fprintf(stderr, "espace-load: agenda needs an even number of connections\n");
        return ES_INVALID_ARGUMENT;
    }
    if (!a.relay && (!r->creds || r->creds->n_patients < a.pairs)) {
        fprintf(stderr, "espace-load: agenda needs %u patients in the accounts file, it has %zu\n",
                a.pairs, r->creds ? r->creds->n_patients : (size_t)0);
        return ES_INVALID_ARGUMENT;
    }
    uint64_t count = (uint64_t)((double)r->o.rate * r->o.duration_s);
    a.ready = calloc(r->o.conns, 1);
    a.at = calloc(count ? count : 1, sizeof *a.at);
    a.state = calloc(count ? count : 1, 1);
    int rc = ES_RESOURCE_EXHAUSTED;
    if (!a.ready || !a.at || !a.state)
        goto out;
    static const net_handlers_t h = {s_opened, s_message, s_closed};
    net_opts_t no = {.host = r->o.host, .port = r->o.port, .path = r->o.path,
                     .subprotocol = "espace.v1", .max_conns = r->o.conns, .handlers = &h,
                     .user = &a};
    if ((rc = net_new(&no, &r->net)) < 0) {
        fprintf(stderr, "espace-load: cannot create the lws context\n");
        goto out;
    }
    int64_t now = run_now_ns();
    if ((rc = sched_init(&a.opens, now, r->o.connect_rate, r->o.conns)) < 0 ||
        (rc = sched_init(&a.sends, now, r->o.rate, count)) < 0)
        goto out;
    a.connect_deadline =
        now + (int64_t)r->o.conns * 1000000000 / r->o.connect_rate + S_CONNECT_GRACE_NS;
    uv_timer_init(net_loop(r->net), &a.tick);
    a.tick.data = &a;
    uv_timer_start(&a.tick, s_tick, S_TICK_MS, S_TICK_MS);
    run_progress_start(r);
    net_run(r->net);
    run_progress_stop(r);
    uv_close((uv_handle_t *)&a.tick, NULL);
    uv_run(net_loop(r->net), UV_RUN_NOWAIT);
    rc = a.phase == S_DONE ? 0 : ES_INTERNAL;
out:
    net_destroy(&r->net);
    free(a.ready);
    free(a.at);
    free(a.state);
    return rc;
}
