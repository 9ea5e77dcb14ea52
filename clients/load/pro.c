/*
 * pro.c - the `pro` scenario (run.h): professionals' writes through the
 * broker with libespace (clients/lib/espace.h), over tcp + CURVE, each one
 * checked against the patient's consent by the agenda service.
 *
 * --conns connections, one thread each (libespace is blocking: one call in
 * flight per connection), connection k acting for professional k % pros of
 * the accounts file (`espace admin seed --pros`), with the keypair seed made
 * for it (<accounts>.keys/<RPPS>.key, registered with the broker) and a
 * password login (espace_login_pro). Write i of the run (an agenda Create,
 * wire_agenda_event) is due at start + i / rate (sched.h) and goes to
 * connection i % conns, for the next of its professional's patients (round
 * robin). Its latency runs from that scheduled time to the reply, which
 * comes once the event is committed: a connection still waiting for the
 * previous reply sends late, and the wait counts in the latency (no
 * coordinated omission); offered rate per connection = rate / conns.
 *
 * Counted: sent, acked (OK replies), errors by status, send_failed (the
 * login of that connection failed, or the run's deadline passed), ack
 * latency. A thread stops sending drain_s + its call timeout after the end
 * of the schedule (a server that no longer answers ends the run).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "clients/lib/espace.h"
#include "clients/load/run.h"
#include "clients/load/sched.h"
#include "clients/load/wire.h"
#include "proto/status.h"

#define PRO_MAX_CONNS 256
#define S_TIMEOUT_MS 10000
#define S_READY_WAIT_S 120 /* logins (Argon2id each) before sending */
#define S_PATH_MAX 4096

typedef struct pro_scen pro_scen_t;

typedef struct pro_worker {
    pro_scen_t *s;
    unsigned index;
    const creds_pro_t *pro;
    pthread_t th;
    int started;
    hist_t *lat;
    _Atomic uint64_t sent, acked;
    uint64_t send_failed, errors[RUN_CODES];
    int64_t max_lag_ns, end_ns;
    _Atomic int finished;      /* end_ns is set */
    int login_status;
} pro_worker_t;

struct pro_scen {
    run_t *r;
    unsigned n;
    uint64_t count;
    sched_t sends;             /* read only once go is set */
    int64_t deadline_ns;       /* no send starts after it */
    _Atomic unsigned logged;   /* workers past their login */
    _Atomic int go;            /* 1: send; -1: give up */
    pro_worker_t *w;
};

static void s_sleep_until(int64_t at_ns)
{
    struct timespec t = {.tv_sec = at_ns / 1000000000, .tv_nsec = at_ns % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) != 0) {
    }
}

static int s_login(pro_worker_t *w, espace_t **e)
{
    const run_t *r = w->s->r;
    char key[S_PATH_MAX];
    snprintf(key, sizeof key, "%s.keys/%s.key", r->o.accounts, w->pro->rpps);
    espace_opts_t o = {.endpoint = r->o.broker, .broker_key = r->o.broker_key,
                       .keypair_path = key, .timeout_ms = S_TIMEOUT_MS};
    espace_error_t err = {0};
    int rc = espace_open(&o, e);
    if (rc == 0) {
        espace_session_t ss;
        rc = espace_login_pro(*e, w->pro->rpps, w->pro->password, "espace-load", &ss, &err);
        sodium_memzero(&ss, sizeof ss);
        if (rc < 0)
            fprintf(stderr, "espace-load: pro %s: login: %s %s\n", w->pro->rpps,
                    es_status_name(rc), err.message);
    } else {
        fprintf(stderr, "espace-load: pro %s: cannot open %s with %s: %s\n", w->pro->rpps,
                r->o.broker, key, es_status_name(rc));
    }
    return rc;
}

static void s_write(pro_worker_t *w, espace_t *e, uint64_t i, int64_t at)
{
    pro_scen_t *s = w->s;
    char title[WIRE_TITLE_MAX], desc[WIRE_MAX_PAYLOAD + 1];
    Espace__V1__AgendaEvent ev;
    const char *patient = w->pro->patients[(i / s->n) % w->pro->n_patients];
    int rc = wire_agenda_event(&ev, i, s->r->o.payload, title, desc);
    Espace__V1__AgendaCreateReply *reply = NULL;
    if (rc == 0)
        rc = espace_agenda_create(e, patient, &ev, &reply, NULL);
    int64_t now = run_now_ns();
    atomic_fetch_add_explicit(&w->sent, 1, memory_order_relaxed);
    if (rc == 0) {
        atomic_fetch_add_explicit(&w->acked, 1, memory_order_relaxed);
        hist_record(w->lat, (now - at) / 1000);
        espace_free(&reply->base);
    } else {
        w->errors[-rc < RUN_CODES ? -rc : -ES_INTERNAL]++;
    }
}

static void *s_worker(void *arg)
{
    pro_worker_t *w = arg;
    pro_scen_t *s = w->s;
    espace_t *e = NULL;
    w->login_status = s_login(w, &e);
    atomic_fetch_add(&s->logged, 1);
    int go;
    while ((go = atomic_load(&s->go)) == 0)
        s_sleep_until(run_now_ns() + 1000000);
    for (uint64_t i = w->index; go > 0 && i < s->count; i += s->n) {
        int64_t at = sched_time(&s->sends, i), now = run_now_ns();
        if (w->login_status < 0 || now > s->deadline_ns) {
            w->send_failed++;
            continue;
        }
        if (now < at)
            s_sleep_until(at);
        else if (now - at > w->max_lag_ns)
            w->max_lag_ns = now - at;
        s_write(w, e, i, at);
    }
    w->end_ns = run_now_ns();
    atomic_store(&w->finished, 1);
    espace_close(&e);
    return NULL;
}

static void s_progress(pro_scen_t *s, uint64_t *last)
{
    run_t *r = s->r;
    uint64_t sent = 0, acked = 0;
    for (unsigned k = 0; k < s->n; k++) {
        sent += atomic_load_explicit(&s->w[k].sent, memory_order_relaxed);
        acked += atomic_load_explicit(&s->w[k].acked, memory_order_relaxed);
    }
    if (!r->o.quiet)
        fprintf(stderr, "[%6.1fs] pro conns=%u sent=%llu (+%llu/s) acked=%llu\n",
                (double)(run_now_ns() - r->t0_ns) / 1e9, s->n, (unsigned long long)sent,
                (unsigned long long)(sent - *last), (unsigned long long)acked);
    *last = sent;
}

/* Add up what the workers counted into the run. */
static void s_collect(pro_scen_t *s)
{
    run_t *r = s->r;
    for (unsigned k = 0; k < s->n; k++) {
        pro_worker_t *w = &s->w[k];
        r->sent += w->sent;
        r->acked += w->acked;
        r->send_failed += w->send_failed;
        for (int c = 1; c < RUN_CODES; c++)
            r->errors[c] += w->errors[c];
        if (w->login_status == 0)
            r->auth_ok++;
        else
            r->auth_failed++;
        if (w->max_lag_ns > r->max_lag_ns)
            r->max_lag_ns = w->max_lag_ns;
        if (w->end_ns > r->send_end_ns)
            r->send_end_ns = w->end_ns;
        hist_merge(r->ack, w->lat);
    }
}

/* Accounts: every connection's professional has patients. */
static int s_check(const run_t *r)
{
    if (!r->creds || r->creds->n_pros == 0) {
        fprintf(stderr, "espace-load: pro needs pro lines in the accounts file "
                        "(espace admin seed --pros M)\n");
        return ES_INVALID_ARGUMENT;
    }
    if (r->o.conns > PRO_MAX_CONNS) {
        fprintf(stderr, "espace-load: pro runs at most %d connections\n", PRO_MAX_CONNS);
        return ES_INVALID_ARGUMENT;
    }
    for (size_t k = 0; k < r->creds->n_pros && k < r->o.conns; k++)
        if (r->creds->pros[k].n_patients == 0) {
            fprintf(stderr, "espace-load: pro %s has no patient\n", r->creds->pros[k].rpps);
            return ES_INVALID_ARGUMENT;
        }
    return 0;
}

int pro_run(run_t *r)
{
    int rc = s_check(r);
    if (rc < 0)
        return rc;
    pro_scen_t s;
    memset(&s, 0, sizeof s);
    s.r = r;
    s.n = r->o.conns;
    s.count = (uint64_t)((double)r->o.rate * r->o.duration_s);
    rc = ES_RESOURCE_EXHAUSTED;
    if (!(s.w = calloc(s.n, sizeof *s.w)))
        return rc;
    for (unsigned k = 0; k < s.n; k++) {
        pro_worker_t *w = &s.w[k];
        w->s = &s;
        w->index = k;
        w->pro = &r->creds->pros[k % r->creds->n_pros];
        if (hist_new(&w->lat) < 0 || pthread_create(&w->th, NULL, s_worker, w) != 0)
            goto stop;
        w->started = 1;
    }
    int64_t until = run_now_ns() + (int64_t)S_READY_WAIT_S * 1000000000;
    while (atomic_load(&s.logged) < s.n && run_now_ns() < until)
        s_sleep_until(run_now_ns() + 10000000);
    if (atomic_load(&s.logged) < s.n) {
        fprintf(stderr, "espace-load: logins did not finish in %d s\n", S_READY_WAIT_S);
        goto stop;
    }
    int64_t now = run_now_ns();
    sched_init(&s.sends, now + 10000000, r->o.rate, s.count);
    s.deadline_ns = sched_time(&s.sends, s.count) +
                    (int64_t)((r->o.drain_s + S_TIMEOUT_MS / 1000.0) * 1e9);
    if (run_sample_server(r, &r->srv0) < 0)
        r->o.server_pid = 0;
    r->send_start_ns = s.sends.start_ns;
    fprintf(stderr, "espace-load: %u pro connections logged in, sending\n", s.n);
    atomic_store(&s.go, 1);
    uint64_t last = 0;
    for (int64_t tick = now + 1000000000; run_now_ns() < s.deadline_ns + 1000000000;
         tick += 1000000000) {
        s_sleep_until(tick);
        s_progress(&s, &last);
        unsigned running = 0;
        for (unsigned k = 0; k < s.n; k++)
            running += !atomic_load(&s.w[k].finished);
        if (!running)
            break;
    }
    rc = 0;
stop:
    if (rc < 0)
        atomic_store(&s.go, -1);
    for (unsigned k = 0; k < s.n; k++)
        if (s.w[k].started)
            pthread_join(s.w[k].th, NULL);
    if (rc == 0) {
        if (run_sample_server(r, &r->srv1) == 0 && r->o.server_pid)
            r->have_server = 1;
        s_collect(&s);
    }
    for (unsigned k = 0; k < s.n; k++)
        hist_destroy(&s.w[k].lat);
    free(s.w);
    return rc;
}
