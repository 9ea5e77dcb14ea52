/*
 * agenda.c - the write scenarios (agenda_int.h):
 *
 *   agenda   pairs of connections, the two devices of one patient. Write i
 *            goes to pair i % pairs; within a pair the writer alternates
 *            between the devices (so each connection sends rate / connections
 *            per second, under the edge's 50/s per-connection limit up to
 *            50 000/s with 1 000 connections), and the write counts as
 *            delivered when it reaches the *other* device.
 *   fanout   one group of all connections, each a device of the first
 *            patient of the accounts file (its seeded tokens round robin:
 *            the edge lets several connections resume one session). Write i
 *            is sent by connection i % conns and must reach every one of them,
 *            the writer's own included: deliveries = writes x connections.
 *   relay    the pairs of `agenda`, each write a message from one device to
 *            the other: against espace a messaging Send (msg.c), against an
 *            XMPP server a <message> (xmpp.c); --target relay as in agenda.
 *
 * Targets: espace (each write an agenda Create whose description is
 * `payload` bytes of text, its live event the delivery), relay
 * (test/bench/relay.c: the same bytes forwarded to the paired connection,
 * no login, no reply) and mosquitto (agenda_mqtt.c).
 *
 * Phases, on a 1 ms timer: connect (open at connect_rate, make ready) ->
 * send (open loop, sched.h) -> drain (wait drain_s for late deliveries)
 * -> done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/load/agenda_int.h"
#include "clients/load/wire.h"
#include "proto/status.h"

#define S_TICK_MS 1
#define S_CONNECT_GRACE_NS (INT64_C(30) * 1000000000)
#define S_MSG_MAX (WIRE_MAX_PAYLOAD + 512)

enum { S_CONNECTING, S_SENDING, S_DRAINING, S_DONE };

unsigned agenda_writer(const agenda_t *a, uint64_t seq)
{
    return (unsigned)((seq % a->groups) * a->group + (seq / a->groups) % a->group);
}

void agenda_ready(agenda_t *a, unsigned conn, int ok)
{
    if (a->ready[conn] != 0)
        return;
    a->ready[conn] = ok ? 1 : 2;
    a->resolved++;
}

static void s_fail(agenda_t *a, uint64_t seq)
{
    if (!(a->state[seq] & (AGENDA_FAILED | AGENDA_DONE))) {
        a->state[seq] |= AGENDA_FAILED;
        a->done++;
    }
}

/* Deliveries write seq must make (its group's ready connections then). */
static uint32_t s_expected(const agenda_t *a, uint64_t seq)
{
    unsigned ready = a->group_ready[seq % a->groups];
    return a->count_writer || ready == 0 ? ready : ready - 1;
}

void agenda_acked(agenda_t *a, uint64_t seq, int code, int64_t now)
{
    run_t *r = a->r;
    if (seq >= a->sends.next || (a->state[seq] & AGENDA_ACKED)) {
        r->unmatched++;
        return;
    }
    a->state[seq] |= AGENDA_ACKED;
    a->replied++;
    run_count_status(r, code);
    if (code == 0)
        hist_record(r->ack, (now - a->at[seq]) / 1000);
    else
        s_fail(a, seq);
}

void agenda_delivered(agenda_t *a, unsigned conn, uint64_t seq, int64_t now)
{
    run_t *r = a->r;
    if (seq >= a->sends.next || conn / a->group != seq % a->groups) {
        r->unmatched++;
        return;
    }
    if (!a->count_writer && conn == agenda_writer(a, seq))
        return; /* the writer's own device gets it too: not measured */
    uint64_t bit = seq * a->group + conn % a->group;
    if (a->seen[bit / 8] & (1u << bit % 8)) {
        r->duplicates++;
        return;
    }
    a->seen[bit / 8] |= (uint8_t)(1u << bit % 8);
    a->got[seq]++;
    r->delivered++;
    hist_record(r->deliver, (now - a->at[seq]) / 1000);
    if (a->got[seq] >= s_expected(a, seq) && !(a->state[seq] & AGENDA_DONE)) {
        if (!(a->state[seq] & AGENDA_FAILED))
            a->done++;
        a->state[seq] |= AGENDA_DONE;
    }
}

/* ---- the espace target: login or resume, agenda Create, live events ---- */

static void s_espace_opened(agenda_t *a, unsigned conn)
{
    run_t *r = a->r;
    const creds_patient_t *p = &r->creds->patients[conn / a->group];
    if (run_auth(r, conn, p, conn % a->group) < 0) {
        r->auth_failed++;
        agenda_ready(a, conn, 0);
    }
}

static void s_espace_message(agenda_t *a, unsigned conn, const uint8_t *data, size_t len,
                             int64_t now)
{
    run_t *r = a->r;
    Espace__V1__ServerMessage *m = wire_parse(data, len);
    if (!m) {
        r->bad_messages++;
        return;
    }
    uint64_t seq;
    switch (m->kind_case) {
    case ESPACE__V1__SERVER_MESSAGE__KIND_REPLY: {
        int code = m->reply->status ? m->reply->status->code : 0;
        if (m->id == RUN_AUTH_ID) {
            if (code == 0)
                r->auth_ok++;
            else
                r->auth_failed++;
            agenda_ready(a, conn, code == 0);
        } else if (m->id >= 2) {
            agenda_acked(a, m->id - 2, code, now);
        } else {
            r->unmatched++;
        }
        break;
    }
    case ESPACE__V1__SERVER_MESSAGE__KIND_EVENT:
        if (wire_find_seq(m->event->body.data, m->event->body.len, &seq))
            agenda_delivered(a, conn, seq, now);
        else
            r->unmatched++;
        break;
    case ESPACE__V1__SERVER_MESSAGE__KIND_RESYNC:
        r->errors[-ES_RESOURCE_EXHAUSTED]++; /* events dropped by the edge */
        break;
    default:
        break;
    }
    wire_free(m);
}

static int s_espace_write(agenda_t *a, unsigned writer, uint64_t seq, uint8_t *buf, size_t cap,
                          size_t *len)
{
    (void)writer;
    return wire_agenda_create(buf, cap, seq + 2, seq, a->r->o.payload, NULL, len);
}

const agenda_target_t agenda_target_espace = {
    .name = "espace", .subprotocol = "espace.v1", .opened = s_espace_opened,
    .message = s_espace_message, .write = s_espace_write,
};

/* ---- the relay target: the same bytes, forwarded to the pair ---- */

static void s_relay_opened(agenda_t *a, unsigned conn)
{
    agenda_ready(a, conn, 1);
}

static void s_relay_message(agenda_t *a, unsigned conn, const uint8_t *data, size_t len,
                            int64_t now)
{
    uint64_t seq;
    if (wire_find_seq(data, len, &seq))
        agenda_delivered(a, conn, seq, now);
    else
        a->r->unmatched++;
}

const agenda_target_t agenda_target_relay = {
    .name = "relay", .subprotocol = "espace.v1", .opened = s_relay_opened,
    .message = s_relay_message, .write = s_espace_write,
};

/* ---- the run ---- */

static void s_opened(net_t *n, unsigned conn, void *user)
{
    (void)n;
    agenda_t *a = user;
    a->r->conn_opened++;
    a->t->opened(a, conn);
}

static void s_closed(net_t *n, unsigned conn, int was_open, void *user)
{
    (void)n;
    agenda_t *a = user;
    if (!was_open)
        a->r->conn_failed++;
    else if (a->phase != S_DONE)
        a->r->conn_closed++;
    if (a->t->closed)
        a->t->closed(a, conn);
    agenda_ready(a, conn, 0);
}

static void s_message(net_t *n, unsigned conn, const uint8_t *data, size_t len, void *user)
{
    (void)n;
    agenda_t *a = user;
    a->t->message(a, conn, data, len, run_now_ns());
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
        unsigned w = agenda_writer(a, seq);
        size_t len = 0;
        int rc = ES_UNAVAILABLE;
        if (a->ready[w] == 1 && s_expected(a, seq) > 0)
            rc = a->t->write(a, w, seq, buf, sizeof buf, &len);
        if (rc == 0)
            rc = net_send(r->net, w, buf, len);
        if (rc == 0) {
            r->sent++;
            a->expected += s_expected(a, seq);
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
        if (!(a->state[i] & (AGENDA_DONE | AGENDA_FAILED)))
            r->lost++;
    r->expected = a->expected;
    if (run_sample_server(r, &r->srv1) == 0 && r->o.server_pid)
        r->have_server = 1;
    uv_timer_stop(&a->tick);
    net_stop(r->net);
}

static void s_start_sending(agenda_t *a, int64_t now)
{
    run_t *r = a->r;
    unsigned ready = 0;
    for (unsigned c = 0; c < r->o.conns; c++)
        if (a->ready[c] == 1) {
            a->group_ready[c / a->group]++;
            ready++;
        }
    a->phase = S_SENDING;
    fprintf(stderr, "espace-load: %u of %u connections ready, sending\n", ready, r->o.conns);
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
    if (a->t->tick)
        a->t->tick(a, now);
    switch (a->phase) {
    case S_CONNECTING:
        while (sched_next_due(&a->opens, now, &at) == 1)
            if (run_open(r, (unsigned)a->opens.next - 1) < 0)
                agenda_ready(a, (unsigned)a->opens.next - 1, 0);
        if ((a->resolved >= r->o.conns || now > a->connect_deadline) && !a->settle_deadline)
            a->settle_deadline = now + (int64_t)a->t->settle_ms * 1000000;
        if (a->settle_deadline && now >= a->settle_deadline)
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
        if ((a->done >= a->sends.next && (!a->wait_acks || a->replied >= r->sent)) ||
            now > a->drain_deadline)
            s_finish(a);
        break;
    default:
        break;
    }
}

/* The scenario's shape and target; 0, or a message and ES_INVALID_ARGUMENT. */
static int s_setup(agenda_t *a, run_t *r)
{
    int fanout = !strcmp(r->o.scenario, "fanout");
    int relay = !strcmp(r->o.scenario, "relay");
    const char *t = r->o.target;
    a->t = !strcmp(t, "relay")       ? &agenda_target_relay
           : !strcmp(t, "mosquitto") ? &agenda_target_mqtt
           : !strcmp(t, "xmpp")      ? &agenda_target_xmpp
           : relay                   ? &agenda_target_msg
                                     : &agenda_target_espace;
    a->group = fanout ? r->o.conns : 2;
    a->groups = r->o.conns / a->group;
    a->count_writer = fanout;
    /* targets that answer each write: wait for the replies too */
    a->wait_acks = a->t == &agenda_target_espace || a->t == &agenda_target_msg || r->o.qos == 1;
    if (fanout && a->t != &agenda_target_espace) {
        fprintf(stderr, "espace-load: fanout runs against espace only\n");
        return ES_INVALID_ARGUMENT;
    }
    if (!fanout && (a->groups == 0 || r->o.conns % 2)) {
        fprintf(stderr, "espace-load: agenda needs an even number of connections\n");
        return ES_INVALID_ARGUMENT;
    }
    int accounts = a->t == &agenda_target_espace || a->t == &agenda_target_msg;
    if (accounts && (!r->creds || r->creds->n_patients < a->groups)) {
        fprintf(stderr, "espace-load: %s needs %u patients in the accounts file, it has %zu\n",
                r->o.scenario, a->groups, r->creds ? r->creds->n_patients : (size_t)0);
        return ES_INVALID_ARGUMENT;
    }
    return 0;
}

int agenda_run(run_t *r)
{
    agenda_t a;
    memset(&a, 0, sizeof a);
    a.r = r;
    int rc = s_setup(&a, r);
    if (rc < 0)
        return rc;
    uint64_t count = (uint64_t)((double)r->o.rate * r->o.duration_s), n = count ? count : 1;
    rc = ES_RESOURCE_EXHAUSTED;
    if (n > UINT64_MAX / 8 / a.group)
        return rc;
    a.ready = calloc(r->o.conns, 1);
    a.group_ready = calloc(a.groups, sizeof *a.group_ready);
    a.at = calloc(n, sizeof *a.at);
    a.state = calloc(n, 1);
    a.got = calloc(n, sizeof *a.got);
    a.seen = calloc((n * a.group + 7) / 8, 1);
    if (!a.ready || !a.group_ready || !a.at || !a.state || !a.got || !a.seen)
        goto out;
    if (a.t->init && (rc = a.t->init(&a)) < 0)
        goto out;
    static const net_handlers_t h = {s_opened, s_message, s_closed};
    net_opts_t no = {.host = r->o.host, .port = r->o.port, .path = r->o.path,
                     .subprotocol = a.t->subprotocol, .text = a.t->text,
                     .max_conns = r->o.conns, .handlers = &h,
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
    if (a.t && a.t->fini)
        a.t->fini(&a);
    free(a.ready);
    free(a.group_ready);
    free(a.at);
    free(a.state);
    free(a.got);
    free(a.seen);
    return rc;
}
