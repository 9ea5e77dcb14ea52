/*
 * test_routing.c - broker routing end to end (broker/route.c): a request
 * reaches a worker and its reply comes back by id, pipelining, load sharing
 * by free capacity, queues, UNAVAILABLE / DEADLINE_EXCEEDED, worker death,
 * broker restart, and malformed frames on the request socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>

#include "test/harness/harness.h"
#include "bus/codec.h"
#include "bus/frames.h"

/* ---- helpers ---- */

static int s_call_echo(bus_client_t *c, const char *service, const char *method,
                       uint32_t timeout_ms, bus_reply_t *out)
{
    Espace__V1__Period body = ESPACE__V1__PERIOD__INIT;
    body.start_ms = 42;
    uint64_t id = 0;
    int rc = bus_client_send(c, service, method, &body.base, timeout_ms, NULL, &id);
    if (rc != 0)
        return rc;
    for (;;) {
        rc = bus_client_recv(c, (int)timeout_ms + 1000, out);
        if (rc != 0)
            return rc;
        if (out->id == id)
            return out->status;
        bus_reply_clear(out);
    }
}

/* Broker on ipc, an "echo" test worker (capacity, freeze: see tworker_t),
 * settle_ms of sleep, then a local client. */
static void s_echo_setup(harness_t *h, tworker_t *w, uint32_t capacity, int freeze,
                         int settle_ms, bus_client_t **c)
{
    assert_int_equal(h_setup(h, 0), 0);
    assert_int_equal(h_broker_start(h), 0);
    assert_int_equal(tw_start(w, h->ctx, h_ipc(h->req_ipc), "echo", capacity, freeze), 0);
    assert_int_equal(tw_wait_registered(w, 5000), 0);
    if (settle_ms > 0)
        h_sleep_ms(settle_ms);
    assert_int_equal(h_client(h, c), 0);
}

static void s_echo_teardown(harness_t *h, tworker_t *w, bus_client_t **c)
{
    bus_client_destroy(c);
    tw_stop(w);
    h_teardown(h);
}

static void s_raw(void *sock, const char **frames, const size_t *lens, size_t n);

/* ---- tests ---- */

static void test_routed_with_id(void **state)
{
    (void)state;
    harness_t h;
    tworker_t w;
    bus_client_t *c = NULL;
    s_echo_setup(&h, &w, 4, 0, 0, &c);
    bus_reply_t r;
    assert_int_equal(s_call_echo(c, "echo", "echo", 2000, &r), 0);
    assert_int_equal(r.id, 1);
    Espace__V1__Period *p = NULL;
    assert_int_equal(codec_decode(&espace__v1__period__descriptor, r.body, r.body_len, 0,
                                  (ProtobufCMessage **)&p, NULL),
                     0);
    assert_int_equal(p->start_ms, 42);
    codec_free(&p->base);
    bus_reply_clear(&r);
    /* unknown method comes back with the worker's status */
    assert_int_equal(s_call_echo(c, "echo", "nope", 2000, &r), ES_UNIMPLEMENTED);
    assert_int_equal(r.id, 2);
    assert_string_equal(r.field, "method");
    bus_reply_clear(&r);
    /* bad service name -> INVALID_ARGUMENT from the broker */
    uint64_t id;
    assert_int_equal(bus_client_send(c, "a b", "echo", NULL, 1000, NULL, &id), 0);
    assert_int_equal(bus_client_recv(c, 2000, &r), 0);
    assert_int_equal(r.id, id);
    assert_int_equal(r.status, ES_INVALID_ARGUMENT);
    bus_reply_clear(&r);
    s_echo_teardown(&h, &w, &c);
}

static void test_pipelined_1000(void **state)
{
    (void)state;
    harness_t h;
    tworker_t w;
    bus_client_t *c = NULL;
    s_echo_setup(&h, &w, 64, 0, 0, &c);
    assert_int_equal(bus_client_wait(c, 2000), 0);
    enum { N = 1000 };
    static uint8_t seen[N + 1];
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < N; i++) {
        uint64_t id;
        assert_int_equal(bus_client_send(c, "echo", "echo", NULL, 10000, NULL, &id), 0);
        assert_int_equal(id, (uint64_t)i + 1);
    }
    for (int i = 0; i < N; i++) {
        bus_reply_t r;
        assert_int_equal(bus_client_recv(c, 5000, &r), 0);
        assert_int_equal(r.status, 0);
        assert_true(r.id >= 1 && r.id <= N);
        assert_int_equal(seen[r.id], 0);
        seen[r.id] = 1;
        bus_reply_clear(&r);
    }
    bus_reply_t extra;
    assert_int_equal(bus_client_recv(c, 100, &extra), ES_DEADLINE_EXCEEDED);
    s_echo_teardown(&h, &w, &c);
}

/* The broker's loop polls the sockets' fds itself (broker.c): a message
 * must never wait in a socket whose fd did not fire (one the broker had
 * just sent on, or left with messages) until a timer wakes the loop. With
 * no heartbeat round nor expiry for 5 s, each of these round trips (after
 * an idle gap, then in bursts longer than a turn's 256 messages) answers
 * at once or not within its 1 s. */
static void test_loop_never_waits_for_a_timer(void **state)
{
    (void)state;
    harness_t h;
    tworker_t w;
    bus_client_t *c = NULL;
    assert_int_equal(h_setup(&h, 0), 0);
    h.hb = 5000;
    assert_int_equal(h_broker_start(&h), 0);
    assert_int_equal(tw_start(&w, h.ctx, h_ipc(h.req_ipc), "echo", 64, 0), 0);
    assert_int_equal(tw_wait_registered(&w, 5000), 0);
    assert_int_equal(h_client(&h, &c), 0);
    assert_int_equal(bus_client_wait(c, 2000), 0);
    bus_reply_t r;
    for (int i = 0; i < 200; i++) {
        if (i % 50 == 0)
            h_sleep_ms(20); /* everyone idle: the broker sleeps in poll() */
        assert_int_equal(s_call_echo(c, "echo", "echo", 1000, &r), 0);
        bus_reply_clear(&r);
    }
    for (int round = 0; round < 3; round++) {
        enum { N = 600 };
        for (int i = 0; i < N; i++) {
            uint64_t id;
            assert_int_equal(bus_client_send(c, "echo", "echo", NULL, 10000, NULL, &id), 0);
        }
        for (int i = 0; i < N; i++) {
            assert_int_equal(bus_client_recv(c, 1000, &r), 0);
            assert_int_equal(r.status, 0);
            bus_reply_clear(&r);
        }
    }
    s_echo_teardown(&h, &w, &c);
}

static void test_two_workers_share(void **state)
{
    (void)state;
    harness_t h;
    assert_int_equal(h_setup(&h, 0), 0);
    assert_int_equal(h_broker_start(&h), 0);
    tworker_t w1, w2;
    assert_int_equal(tw_start(&w1, h.ctx, h_ipc(h.req_ipc), "echo", 1, 0), 0);
    assert_int_equal(tw_start(&w2, h.ctx, h_ipc(h.req_ipc), "echo", 1, 0), 0);
    /* both registered, or the first burst may all go to one of them */
    assert_int_equal(tw_wait_registered(&w1, 5000), 0);
    assert_int_equal(tw_wait_registered(&w2, 5000), 0);
    bus_client_t *c = NULL;
    assert_int_equal(h_client(&h, &c), 0);
    assert_int_equal(bus_client_wait(c, 2000), 0);
    for (int i = 0; i < 200; i++)
        assert_int_equal(bus_client_send(c, "echo", "echo", NULL, 10000, NULL, NULL), 0);
    for (int i = 0; i < 200; i++) {
        bus_reply_t r;
        assert_int_equal(bus_client_recv(c, 5000, &r), 0);
        assert_int_equal(r.status, 0);
        bus_reply_clear(&r);
    }
    assert_true(w1.handled > 20);
    assert_true(w2.handled > 20);
    assert_int_equal(w1.handled + w2.handled, 200);
    bus_client_destroy(&c);
    tw_stop(&w1);
    tw_stop(&w2);
    h_teardown(&h);
}

static void test_no_worker_unavailable(void **state)
{
    (void)state;
    harness_t h;
    assert_int_equal(h_setup(&h, 0), 0);
    assert_int_equal(h_broker_start(&h), 0);
    bus_client_t *c = NULL;
    assert_int_equal(h_client(&h, &c), 0);
    int64_t t0 = bus_mono_ms();
    assert_int_equal(bus_call(c, "nobody", "x", NULL, NULL, 5000, NULL, NULL, NULL),
                     ES_UNAVAILABLE);
    assert_true(bus_mono_ms() - t0 < 1000);
    bus_client_destroy(&c);
    h_teardown(&h);
}

static void test_worker_dies(void **state)
{
    (void)state;
    harness_t h;
    tworker_t w;
    bus_client_t *c = NULL;
    s_echo_setup(&h, &w, 4, 1, 50, &c);
    int64_t t0 = bus_mono_ms();
    assert_int_equal(bus_call(c, "echo", "echo", NULL, NULL, 10000, NULL, NULL, NULL),
                     ES_UNAVAILABLE);
    int64_t dt = bus_mono_ms() - t0;
    assert_true(dt >= H_HB * 2 && dt < H_HB * 10);
    assert_int_equal(w.handled, 1);
    /* no worker left: at once */
    assert_int_equal(bus_call(c, "echo", "echo", NULL, NULL, 10000, NULL, NULL, NULL),
                     ES_UNAVAILABLE);
    s_echo_teardown(&h, &w, &c);
}

/* A worker whose connection ends (its process died: no DISCONNECT) is
 * removed at once by the socket monitor (broker/conn.c), not after
 * BUS_LIVENESS silent intervals: its request is answered UNAVAILABLE. */
static void test_worker_connection_ends(void **state)
{
    (void)state;
    harness_t h;
    bus_client_t *c = NULL;
    assert_int_equal(h_setup(&h, 0), 0);
    h.hb = 5000; /* no heartbeat round (nor expiry) during the test */
    assert_int_equal(h_broker_start(&h), 0);
    void *w = h_raw_dealer(&h, h.req_ipc, NULL, NULL, "raw-worker", 10);
    assert_non_null(w);
    Espace__V1__WorkerReady ready = ESPACE__V1__WORKER_READY__INIT;
    ready.service = "raw";
    ready.capacity = 1;
    uint8_t buf[64];
    size_t len = espace__v1__worker_ready__pack(&ready, buf);
    const char *rf[] = {BUS_WORKER_PROTO, "\x01", (const char *)buf};
    size_t rl[] = {4, 1, len};
    s_raw(w, rf, rl, 3);
    assert_int_equal(h_client(&h, &c), 0);
    assert_int_equal(bus_client_wait(c, 2000), 0);
    uint64_t id = 0;
    int taken = 0;
    for (int i = 0; i < 100 && !taken; i++) { /* until the broker routes to it */
        assert_int_equal(bus_client_send(c, "raw", "x", NULL, 10000, NULL, &id), 0);
        zmq_pollitem_t it = {w, 0, ZMQ_POLLIN, 0};
        for (int k = 0; k < 10 && !taken && zmq_poll(&it, 1, 20) > 0; k++) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            int more = 1;
            while (more && zmq_msg_recv(&m, w, 0) >= 0) {
                if (zmq_msg_size(&m) == 1 && ((uint8_t *)zmq_msg_data(&m))[0] == BUS_W_REQUEST)
                    taken = 1;
                more = zmq_msg_more(&m);
            }
            zmq_msg_close(&m);
        }
        bus_reply_t r;
        while (!taken && bus_client_recv(c, 20, &r) == 0)
            bus_reply_clear(&r); /* UNAVAILABLE while not registered yet */
    }
    assert_true(taken);
    const char *hf[] = {BUS_WORKER_PROTO, "\x05"};
    size_t hl[] = {4, 1};
    s_raw(w, hf, hl, 2); /* alive just now */
    int64_t t0 = bus_mono_ms();
    zmq_close(w); /* linger 0, no DISCONNECT */
    bus_reply_t r;
    assert_int_equal(bus_client_recv(c, 2000, &r), 0);
    int64_t dt = bus_mono_ms() - t0;
    assert_int_equal(r.id, id);
    assert_int_equal(r.status, ES_UNAVAILABLE);
    bus_reply_clear(&r);
    if (dt >= 400)
        fail_msg("answered after %lld ms: the end of the connection was not seen",
                 (long long)dt);
    bus_client_destroy(&c);
    assert_int_equal(h_teardown(&h), 0);
}

static void test_deadline_late_reply_dropped(void **state)
{
    (void)state;
    harness_t h;
    tworker_t w;
    bus_client_t *c = NULL;
    s_echo_setup(&h, &w, 4, 0, 50, &c);
    int64_t t0 = bus_mono_ms();
    bus_reply_t r;
    assert_int_equal(bus_call(c, "echo", "late", NULL, NULL, 100, NULL, NULL, &r),
                     ES_DEADLINE_EXCEEDED);
    assert_true(bus_mono_ms() - t0 < 400);
    /* the late reply (at 400 ms) is dropped by the broker: nothing more */
    bus_reply_t extra;
    assert_int_equal(bus_client_recv(c, 700, &extra), ES_DEADLINE_EXCEEDED);
    /* the worker still serves */
    assert_int_equal(s_call_echo(c, "echo", "echo", 2000, &r), 0);
    bus_reply_clear(&r);
    s_echo_teardown(&h, &w, &c);
}

static void test_queue_when_full(void **state)
{
    (void)state;
    harness_t h;
    tworker_t w;
    bus_client_t *c = NULL;
    s_echo_setup(&h, &w, 1, 0, 50, &c);
    assert_int_equal(bus_client_wait(c, 2000), 0);
    /* capacity 1: the second and third wait in the queue behind a late one */
    uint64_t id1, id2, id3;
    assert_int_equal(bus_client_send(c, "echo", "late", NULL, 5000, NULL, &id1), 0);
    assert_int_equal(bus_client_send(c, "echo", "echo", NULL, 5000, NULL, &id2), 0);
    assert_int_equal(bus_client_send(c, "echo", "echo", NULL, 5000, NULL, &id3), 0);
    bus_reply_t r;
    assert_int_equal(bus_client_recv(c, 3000, &r), 0);
    assert_int_equal(r.id, id1); /* queued ones came after */
    assert_int_equal(r.status, 0);
    bus_reply_clear(&r);
    assert_int_equal(bus_client_recv(c, 3000, &r), 0);
    assert_int_equal(r.id, id2);
    bus_reply_clear(&r);
    assert_int_equal(bus_client_recv(c, 3000, &r), 0);
    assert_int_equal(r.id, id3);
    bus_reply_clear(&r);
    s_echo_teardown(&h, &w, &c);
}

/* Admission: once the oldest queued request has waited the admission
 * window, a new request is refused at once; the queued ones are served. */
static void test_admission_refuses_when_late(void **state)
{
    (void)state;
    harness_t h;
    tworker_t w;
    bus_client_t *c = NULL;
    assert_int_equal(h_setup(&h, 0), 0);
    h.o.admit_ms = 100;
    assert_int_equal(h_broker_start(&h), 0);
    assert_int_equal(tw_start(&w, h.ctx, h_ipc(h.req_ipc), "echo", 1, 0), 0);
    assert_int_equal(tw_wait_registered(&w, 5000), 0);
    h_sleep_ms(50);
    assert_int_equal(h_client(&h, &c), 0);
    assert_int_equal(bus_client_wait(c, 2000), 0);
    uint64_t id1, id2, id3, id4;
    assert_int_equal(bus_client_send(c, "echo", "late", NULL, 5000, NULL, &id1), 0); /* 400 ms */
    assert_int_equal(bus_client_send(c, "echo", "echo", NULL, 5000, NULL, &id2), 0); /* queued */
    assert_int_equal(bus_client_send(c, "echo", "echo", NULL, 5000, NULL, &id3), 0); /* young */
    h_sleep_ms(200);
    int64_t t0 = bus_mono_ms();
    assert_int_equal(bus_client_send(c, "echo", "echo", NULL, 5000, NULL, &id4), 0); /* late */
    bus_reply_t r;
    assert_int_equal(bus_client_recv(c, 3000, &r), 0);
    assert_int_equal(r.id, id4); /* refused at once, before the late one ends */
    assert_int_equal(r.status, ES_RESOURCE_EXHAUSTED);
    assert_true(bus_mono_ms() - t0 < 150);
    bus_reply_clear(&r);
    uint64_t want[3] = {id1, id2, id3};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(bus_client_recv(c, 3000, &r), 0);
        assert_int_equal(r.id, want[i]);
        assert_int_equal(r.status, 0);
        bus_reply_clear(&r);
    }
    /* the queue is empty again: admitted */
    assert_int_equal(s_call_echo(c, "echo", "echo", 2000, &r), 0);
    bus_reply_clear(&r);
    s_echo_teardown(&h, &w, &c);
}

static void test_broker_restart(void **state)
{
    (void)state;
    harness_t h;
    tworker_t w;
    bus_client_t *c = NULL;
    s_echo_setup(&h, &w, 4, 0, 0, &c);
    assert_int_equal(bus_call(c, "echo", "echo", NULL, NULL, 2000, NULL, NULL, NULL), 0);
    h_broker_stop(&h);
    h_sleep_ms(H_HB * 2);
    assert_int_equal(h_broker_start(&h), 0);
    int ok = 0;
    for (int i = 0; i < 60 && !ok; i++) {
        int rc = bus_call(c, "echo", "echo", NULL, NULL, 200, NULL, NULL, NULL);
        if (rc == 0)
            ok = 1;
        else
            h_sleep_ms(50);
    }
    assert_true(ok);
    s_echo_teardown(&h, &w, &c);
}

/* Send raw frames from a DEALER. */
static void s_raw(void *sock, const char **frames, const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++)
        zmq_send(sock, frames[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0);
}

static void test_malformed_frames(void **state)
{
    (void)state;
    harness_t h;
    assert_int_equal(h_setup(&h, 0), 0);
    assert_int_equal(h_broker_start(&h), 0);
    tworker_t w;
    assert_int_equal(tw_start(&w, h.ctx, h_ipc(h.req_ipc), "echo", 4, 0), 0);
    void *raw = zmq_socket(h.ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(raw, ZMQ_LINGER, &linger, sizeof(linger));
    assert_int_equal(zmq_connect(raw, h.req_ipc), 0);
    h_sleep_ms(50);
    static const char garbage[] = "\xff\xff\xff\xff\x0f\x01\x02";
    {
        const char *f[] = {"XX01", "\x01", "echo", "abc"};
        size_t l[] = {4, 1, 4, 3};
        s_raw(raw, f, l, 4); /* wrong header */
    }
    {
        const char *f[] = {"EC01", "\x01"};
        size_t l[] = {4, 1};
        s_raw(raw, f, l, 2); /* too few frames */
    }
    {
        const char *f[] = {"EC01", "\x01", "echo", "a", "b", "c", "d"};
        size_t l[] = {4, 1, 4, 1, 1, 1, 1};
        s_raw(raw, f, l, 7); /* too many frames */
    }
    {
        const char *f[] = {"EC01", "\x01", "echo", garbage};
        size_t l[] = {4, 1, 4, sizeof(garbage) - 1};
        s_raw(raw, f, l, 4); /* garbage protobuf */
    }
    {
        const char *f[] = {"EC01", "\x09", "echo", "x"};
        size_t l[] = {4, 1, 4, 1};
        s_raw(raw, f, l, 4); /* unknown command */
    }
    {
        const char *f[] = {"EW01", "\x01", garbage};
        size_t l[] = {4, 1, sizeof(garbage) - 1};
        s_raw(raw, f, l, 3); /* READY with garbage */
    }
    {
        const char *f[] = {"EW01", "\x03", "r", "12345678", garbage};
        size_t l[] = {4, 1, 1, 8, sizeof(garbage) - 1};
        s_raw(raw, f, l, 5); /* REPLY from a non-worker */
    }
    {
        const char *f[] = {"EW01", "\x03", "r", "1234", "x"};
        size_t l[] = {4, 1, 1, 4, 1};
        s_raw(raw, f, l, 5); /* short ticket */
    }
    {
        const char *f[] = {"", "", ""};
        size_t l[] = {0, 0, 0};
        s_raw(raw, f, l, 3); /* empty frames */
    }
    /* a valid request whose Caller frame is garbage (ipc: honoured, so checked) */
    {
        Espace__V1__Request rq = ESPACE__V1__REQUEST__INIT;
        rq.id = 77;
        rq.method = "who";
        uint8_t buf[64];
        size_t len = espace__v1__request__pack(&rq, buf);
        const char *f[] = {"EC01", "\x01", "echo", (const char *)buf, garbage};
        size_t l[] = {4, 1, 4, len, sizeof(garbage) - 1};
        s_raw(raw, f, l, 5);
        zmq_pollitem_t it = {raw, 0, ZMQ_POLLIN, 0};
        zmq_msg_t m[4];
        for (;;) { /* skip the DISCONNECTs earned by the bad worker frames */
            assert_int_equal(zmq_poll(&it, 1, 2000), 1);
            int n = 0, more = 1;
            while (more) {
                zmq_msg_t t;
                zmq_msg_init(&t);
                assert_true(zmq_msg_recv(&t, raw, 0) >= 0);
                more = zmq_msg_more(&t);
                if (n < 4)
                    m[n++] = t;
                else
                    zmq_msg_close(&t);
            }
            if (n == 4 && memcmp(zmq_msg_data(&m[0]), "EC01", 4) == 0)
                break;
            for (int i = 0; i < n; i++)
                zmq_msg_close(&m[i]);
        }
        Espace__V1__Reply *rep = espace__v1__reply__unpack(NULL, zmq_msg_size(&m[3]),
                                                           zmq_msg_data(&m[3]));
        assert_non_null(rep);
        assert_int_equal(rep->id, 77);
        assert_int_equal(rep->status->code, ESPACE__V1__CODE__CODE_INVALID_ARGUMENT);
        espace__v1__reply__free_unpacked(rep, NULL);
        for (int i = 0; i < 4; i++)
            zmq_msg_close(&m[i]);
    }
    /* oversize: over BUS_MAX_MSG; the broker drops the connection */
    {
        size_t big = BUS_MAX_MSG + 16;
        char *buf = calloc(1, big);
        const char *f[] = {"EC01", "\x01", "echo", buf};
        size_t l[] = {4, 1, 4, big};
        s_raw(raw, f, l, 4);
        free(buf);
    }
    h_sleep_ms(100);
    /* still serving */
    bus_client_t *c = NULL;
    assert_int_equal(h_client(&h, &c), 0);
    bus_reply_t r;
    assert_int_equal(s_call_echo(c, "echo", "echo", 2000, &r), 0);
    bus_reply_clear(&r);
    zmq_close(raw);
    s_echo_teardown(&h, &w, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routed_with_id),
        cmocka_unit_test(test_pipelined_1000),
        cmocka_unit_test(test_loop_never_waits_for_a_timer),
        cmocka_unit_test(test_two_workers_share),
        cmocka_unit_test(test_no_worker_unavailable),
        cmocka_unit_test(test_worker_dies),
        cmocka_unit_test(test_worker_connection_ends),
        cmocka_unit_test(test_deadline_late_reply_dropped),
        cmocka_unit_test(test_queue_when_full),
        cmocka_unit_test(test_admission_refuses_when_late),
        cmocka_unit_test(test_broker_restart),
        cmocka_unit_test(test_malformed_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
