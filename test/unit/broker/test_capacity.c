/*
 * test_capacity.c - the broker's view of a worker's capacity is the
 * worker's real queue (issue 11 section 1): a per-connection cap on pending
 * requests, a busy worker that is not taken for a dead one, requests whose
 * deadline passed that the worker does not start (and the count that comes
 * back), the time left handed to the worker, and the maximum deadline.
 * Real broker, real service runtime, real sockets (ipc, and tcp + CURVE for
 * a professional's key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>

#include "test/harness/harness.h"

/* ---- a slow service: "Work" sleeps s_work_ms, counting the starts ---- */

static int s_work_ms;
static int s_started;

static int s_work(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
{
    (void)state;
    (void)call;
    (void)req;
    (void)txn;
    __atomic_add_fetch(&s_started, 1, __ATOMIC_SEQ_CST);
    h_sleep_ms(__atomic_load_n(&s_work_ms, __ATOMIC_SEQ_CST));
    return 0;
}

/* Its tick blocks the service thread for s_block_ms once when set, so that
 * requests pile up on the worker socket and the next batch takes many. */
static int s_block_ms;

static int s_block(void *state, svc_call_t *call, store_txn_t *txn)
{
    (void)state;
    (void)call;
    (void)txn;
    int ms = __atomic_exchange_n(&s_block_ms, 0, __ATOMIC_SEQ_CST);
    if (ms > 0)
        h_sleep_ms(ms);
    return 0;
}

static const svc_method_t s_methods[] = {{"Work", NULL, s_work, SVC_PUBLIC}};
static const char *s_tables[] = {"t", NULL};
static const svc_def_t s_slow = {.name = "slow",
                                 .tables = s_tables,
                                 .methods = s_methods,
                                 .n_methods = 1,
                                 .tick = s_block,
                                 .tick_ms = 10};

static int s_get(int *v)
{
    return __atomic_load_n(v, __ATOMIC_SEQ_CST);
}

static void s_set(int *v, int x)
{
    __atomic_store_n(v, x, __ATOMIC_SEQ_CST);
}

/* Broker (tcp too when tcp = 1: call h_peer_add before) and the slow
 * service, served; a local client in *c. */
static void s_setup(harness_t *h, h_svc_t *svc, bus_client_t **c, int tcp)
{
    if (tcp)
        assert_int_equal(h_tcp_start(h), 0);
    else
        assert_int_equal(h_broker_start(h), 0);
    assert_int_equal(h_client(h, c), 0);
    s_set(&s_work_ms, 0);
    assert_int_equal(h_svc_start_served(h, svc, &s_slow, *c, "Work", NULL, NULL), 0);
    s_set(&s_started, 0);
}

static void s_teardown(harness_t *h, h_svc_t *svc, bus_client_t **c)
{
    bus_client_destroy(c);
    assert_int_equal(h_svc_stop(svc), 0);
    assert_int_equal(h_teardown(h), 0);
}

/* Send n "Work" requests with timeout_ms on c; their ids in ids. */
static void s_send_n(bus_client_t *c, int n, uint32_t timeout_ms, uint64_t *ids)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(bus_client_send(c, "slow", "Work", NULL, timeout_ms, NULL, &ids[i]), 0);
}

/* Receive n replies on c (each within ms); count them by status. */
typedef struct s_tally {
    int ok, deadline, exhausted, other;
    int capped; /* of exhausted: refused by the per-connection cap */
} s_tally_t;

static void s_count(s_tally_t *t, const bus_reply_t *r)
{
    if (r->status == 0)
        t->ok++;
    else if (r->status == ES_DEADLINE_EXCEEDED)
        t->deadline++;
    else if (r->status == ES_RESOURCE_EXHAUSTED)
        t->exhausted++;
    else
        t->other++;
    if (r->status == ES_RESOURCE_EXHAUSTED && strstr(r->message, "pending on this connection"))
        t->capped++;
}

static s_tally_t s_recv_n(bus_client_t *c, int n, int ms)
{
    s_tally_t t = {0, 0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        bus_reply_t r;
        if (bus_client_recv(c, ms, &r) != 0)
            fail_msg("reply %d of %d never came (ok %d, deadline %d, exhausted %d)", i + 1,
                     n, t.ok, t.deadline, t.exhausted);
        s_count(&t, &r);
        bus_reply_clear(&r);
    }
    return t;
}

/* The replies already waiting on c. */
static s_tally_t s_recv_ready(bus_client_t *c)
{
    s_tally_t t = {0, 0, 0, 0, 0};
    bus_reply_t r;
    while (bus_client_recv(c, 0, &r) == 0) {
        s_count(&t, &r);
        bus_reply_clear(&r);
    }
    return t;
}

static void s_tally_add(s_tally_t *t, const s_tally_t *more, int *got)
{
    t->ok += more->ok;
    t->deadline += more->deadline;
    t->exhausted += more->exhausted;
    t->other += more->other;
    t->capped += more->capped;
    *got += more->ok + more->deadline + more->exhausted + more->other;
}

/* ---- tests ---- */

/* A professional's key queueing thousands of requests with long deadlines
 * gets those over its cap refused at once; another client's request is
 * then served behind at most that cap (before: the queue aged behind A's
 * thousands and B was refused as "service busy", or waited behind them). */
static void test_connection_cap(void **state)
{
    (void)state;
    enum { N = 3000 };
    harness_t h;
    h_svc_t svc;
    bus_client_t *loc = NULL, *a = NULL, *b = NULL;
    h_peer_t pa, pb;
    assert_int_equal(h_setup(&h, 1), 0);
    assert_int_equal(h_peer_add(&h, &pa, ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE, "a"), 0);
    assert_int_equal(h_peer_add(&h, &pb, ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE, "b"), 0);
    s_setup(&h, &svc, &loc, 1);
    bus_conn_t ca = h_tcp(&h, h.req_tcp, &pa);
    ca.hwm = 2 * N;
    assert_int_equal(bus_client_new(h.ctx, &ca, &a), 0);
    bus_conn_t cb = h_tcp(&h, h.req_tcp, &pb);
    assert_int_equal(bus_client_new(h.ctx, &cb, &b), 0);
    assert_int_equal(bus_client_wait(a, 2000), 0);
    assert_int_equal(bus_client_wait(b, 2000), 0);

    s_set(&s_work_ms, 2);
    /* A reads its refusals as it goes (the broker drops answers to a
     * client at its high-water mark, as it must) */
    s_tally_t t = {0, 0, 0, 0, 0};
    int got = 0;
    for (int i = 0; i < N; i++) {
        uint64_t id;
        assert_int_equal(bus_client_send(a, "slow", "Work", NULL, 60000, NULL, &id), 0);
        if (i % 250 == 249) {
            for (int k = 0; k < 20; k++) {
                h_sleep_ms(5);
                s_tally_t more = s_recv_ready(a);
                s_tally_add(&t, &more, &got);
            }
        }
    }
    h_sleep_ms(100); /* A's flood is in */
    int64_t t0 = bus_mono_ms();
    assert_int_equal(bus_call(b, "slow", "Work", NULL, NULL, 3000, NULL, NULL, NULL), 0);
    int64_t took = bus_mono_ms() - t0;
    if (took > 2000)
        fail_msg("B waited %lld ms behind A", (long long)took);

    s_tally_t rest = s_recv_n(a, N - got, 5000);
    s_tally_add(&t, &rest, &got);
    assert_int_equal(t.ok + t.exhausted, N);
    assert_int_equal(t.capped, t.exhausted); /* none refused as "service busy" */
    assert_true(t.capped > N / 2);
    bus_client_destroy(&a);
    bus_client_destroy(&b);
    s_teardown(&h, &svc, &loc);
}

/* A worker busy far longer than the heartbeat expiry (BUS_LIVENESS x
 * H_HB = 300 ms) keeps its heartbeats flowing and is not dropped: every
 * request is answered OK (before: with 40 requests waiting, the batch, sized
 * on a guess of the cost of a request, took 16 x 50 ms in silence and the
 * broker answered everything UNAVAILABLE). */
static void test_busy_worker_not_dropped(void **state)
{
    (void)state;
    enum { N = 40 };
    harness_t h;
    h_svc_t svc;
    bus_client_t *c = NULL;
    assert_int_equal(h_setup(&h, 0), 0);
    s_setup(&h, &svc, &c, 0);
    s_set(&s_work_ms, 50); /* 2 s of work in all */
    s_set(&s_block_ms, 200);
    h_sleep_ms(50); /* the service thread is blocked: requests pile up */
    uint64_t ids[N];
    s_send_n(c, N, 20000, ids);
    s_tally_t t = s_recv_n(c, N, 5000);
    assert_int_equal(t.ok, N);
    assert_int_equal(s_get(&s_started), N);
    s_teardown(&h, &svc, &c);
}

/* Requests whose deadline passed are answered by the broker, and the worker
 * does not start them; the broker counts them against the worker until it
 * answered them, then its whole capacity serves again. */
static void test_expired_not_started(void **state)
{
    (void)state;
    enum { N = 60 };
    harness_t h;
    h_svc_t svc;
    bus_client_t *c = NULL;
    assert_int_equal(h_setup(&h, 0), 0);
    s_setup(&h, &svc, &c, 0);
    s_set(&s_work_ms, 20); /* about 15 fit in 300 ms */
    uint64_t ids[STORE_GROUP_MAX];
    s_send_n(c, N, 300, ids);
    s_tally_t t = s_recv_n(c, N, 3000);
    assert_int_equal(t.ok + t.deadline, N);
    assert_true(t.deadline > 0);
    h_sleep_ms(500); /* the worker has gone through what it held */
    int started = s_get(&s_started);
    if (started > N / 2)
        fail_msg("%d of %d started, most after their deadline", started, N);
    assert_true(started >= t.ok);
    h_sleep_ms(200);
    assert_int_equal(s_get(&s_started), started); /* nothing more */

    /* the count came back: a full capacity's worth is served at once */
    s_set(&s_work_ms, 0);
    s_send_n(c, STORE_GROUP_MAX, 5000, ids);
    t = s_recv_n(c, STORE_GROUP_MAX, 3000);
    assert_int_equal(t.ok, STORE_GROUP_MAX);
    s_teardown(&h, &svc, &c);
}

/* ---- time left and maximum deadline, seen by a worker of the test ---- */

/* Wait (ms at most) for a request on w, keeping its heartbeat. 0 or -1. */
static int s_take(bus_worker_t *w, bus_request_t *r, int ms)
{
    int64_t end = bus_mono_ms() + ms;
    while (bus_mono_ms() < end) {
        int wait = bus_worker_tick(w);
        if (bus_worker_recv(w, r) == 0)
            return 0;
        zmq_pollitem_t it = {bus_worker_socket(w), 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, wait > 10 ? 10 : wait);
    }
    return -1;
}

/* Keep w alive for ms without taking requests. */
static void s_idle(bus_worker_t *w, int ms)
{
    int64_t end = bus_mono_ms() + ms;
    while (bus_mono_ms() < end) {
        bus_worker_tick(w);
        h_sleep_ms(10);
    }
}

static void test_time_left_and_max_deadline(void **state)
{
    (void)state;
    harness_t h;
    bus_client_t *c = NULL;
    assert_int_equal(h_setup(&h, 0), 0);
    h.o.max_timeout_ms = 800;
    assert_int_equal(h_broker_start(&h), 0);
    bus_conn_t wc = h_ipc(h.req_ipc);
    wc.heartbeat_ms = h_hb(&h);
    bus_worker_t *w = NULL;
    assert_int_equal(bus_worker_new(h.ctx, &wc, "hold", 1, &w), 0);
    for (int i = 0; i < 200 && !bus_worker_registered(w); i++) {
        bus_request_t none;
        if (bus_worker_recv(w, &none) == 0)
            bus_request_release(&none);
        s_idle(w, 10);
    }
    assert_true(bus_worker_registered(w));
    assert_int_equal(h_client(&h, &c), 0);
    assert_int_equal(bus_client_wait(c, 2000), 0);

    /* capacity 1: the second waits in the broker's queue while the first is
     * held; both asked far more than the maximum */
    uint64_t id1, id2;
    assert_int_equal(bus_client_send(c, "hold", "x", NULL, 5000, NULL, &id1), 0);
    assert_int_equal(bus_client_send(c, "hold", "x", NULL, 100000, NULL, &id2), 0);
    bus_request_t r1, r2;
    assert_int_equal(s_take(w, &r1, 2000), 0);
    assert_true(r1.req->timeout_ms <= 800); /* clamped */
    assert_true(r1.req->timeout_ms >= 600);
    s_idle(w, 500);
    assert_int_equal(bus_worker_reply(w, &r1, 0, NULL, NULL, NULL, 0), 0);
    bus_request_release(&r1);
    assert_int_equal(s_take(w, &r2, 2000), 0);
    /* the time left after 500 ms in the queue, not the 800 ms asked */
    if (r2.req->timeout_ms > 350)
        fail_msg("worker told %u ms left", (unsigned)r2.req->timeout_ms);
    assert_int_equal(bus_worker_reply(w, &r2, 0, NULL, NULL, NULL, 0), 0);
    bus_request_release(&r2);
    bus_reply_t r;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(bus_client_recv(c, 2000, &r), 0);
        assert_int_equal(r.status, 0);
        bus_reply_clear(&r);
    }

    /* a deadline asked beyond the maximum ends at the maximum */
    uint64_t id3;
    int64_t t0 = bus_mono_ms();
    assert_int_equal(bus_client_send(c, "hold", "x", NULL, 100000, NULL, &id3), 0);
    bus_request_t r3;
    assert_int_equal(s_take(w, &r3, 2000), 0);
    int got = 0;
    while (!got && bus_mono_ms() - t0 < 3000) {
        bus_worker_tick(w);
        got = bus_client_recv(c, 10, &r) == 0;
    }
    assert_true(got);
    assert_int_equal(r.id, id3);
    assert_int_equal(r.status, ES_DEADLINE_EXCEEDED);
    int64_t took = bus_mono_ms() - t0;
    assert_true(took >= 750 && took < 1500);
    bus_reply_clear(&r);
    bus_request_release(&r3);

    bus_client_destroy(&c);
    bus_worker_destroy(&w);
    assert_int_equal(h_teardown(&h), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connection_cap),
        cmocka_unit_test(test_busy_worker_not_dropped),
        cmocka_unit_test(test_expired_not_started),
        cmocka_unit_test(test_time_left_and_max_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
