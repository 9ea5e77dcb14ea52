/*
 * test_broker.c - the broker end to end: routing, pipelining, load sharing,
 * UNAVAILABLE / DEADLINE_EXCEEDED, worker death, broker restart, malformed
 * frames, caller stamping over ipc and tcp (CURVE + ZAP), events, AUTH,
 * live events for professionals (SUBSCRIBE / EVENT).
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

/* The Caller the worker saw ("who"). */
static int s_who(bus_client_t *c, const Espace__V1__Caller *send_caller,
                 Espace__V1__Caller **out)
{
    bus_reply_t r;
    int rc = bus_call(c, "echo", "who", NULL, &espace__v1__caller__descriptor, 2000,
                      send_caller, (ProtobufCMessage **)out, &r);
    return rc;
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

typedef struct tkeys {
    uint8_t pro_pub[32], pro_sec[32];
    uint8_t svc_pub[32], svc_sec[32];
    uint8_t bad_pub[32], bad_sec[32];
    uint8_t gw_pub[32], gw_sec[32];
} tkeys_t;

static bus_conn_t s_tcp(harness_t *h, const char *endpoint, const uint8_t *pub,
                        const uint8_t *sec)
{
    bus_conn_t c = h_ipc(endpoint);
    c.server_key = h->server_key;
    c.public_key = pub;
    c.secret_key = sec;
    return c;
}

/* Broker with tcp endpoints, a pro and a service key registered. */
static void s_tcp_setup(harness_t *h, tkeys_t *k)
{
    assert_int_equal(h_setup(h, 1), 0);
    crypto_box_keypair(k->pro_pub, k->pro_sec);
    crypto_box_keypair(k->svc_pub, k->svc_sec);
    crypto_box_keypair(k->bad_pub, k->bad_sec);
    crypto_box_keypair(k->gw_pub, k->gw_sec);
    assert_int_equal(h_key_add(h, k->pro_pub, ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE, "pro"),
                     0);
    assert_int_equal(h_key_add(h, k->gw_pub, ESPACE__V1__PEER_ROLE__PEER_GATEWAY, "gw"), 0);
    assert_int_equal(h_key_add(h, k->svc_pub, ESPACE__V1__PEER_ROLE__PEER_SERVICE, "svc"), 0);
    assert_int_equal(h_broker_start(h), 0);
    assert_int_equal(h_server_key(h), 0);
}

static void test_tcp_caller_stamping(void **state)
{
    (void)state;
    harness_t h;
    tkeys_t k;
    s_tcp_setup(&h, &k);
    tworker_t w;
    assert_int_equal(tw_start(&w, h.ctx, h_ipc(h.req_ipc), "echo", 4, 0), 0);
    h_sleep_ms(50);

    Espace__V1__Caller forged = ESPACE__V1__CALLER__INIT;
    forged.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
    forged.principal = "ffffffffffffffffffffffffffffffff";
    forged.peer_role = ESPACE__V1__PEER_ROLE__PEER_GATEWAY;

    /* tcp pro peer: its Caller frame is ignored */
    bus_conn_t pc = s_tcp(&h, h.req_tcp, k.pro_pub, k.pro_sec);
    bus_client_t *pro = NULL;
    assert_int_equal(bus_client_new(h.ctx, &pc, &pro), 0);
    Espace__V1__Caller *seen = NULL;
    assert_int_equal(s_who(pro, &forged, &seen), 0);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE);
    assert_int_equal(seen->peer_role, ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE);
    char z85[BUS_KEY_Z85];
    bus_key_z85(k.pro_pub, z85);
    assert_string_equal(seen->peer_key, z85);
    assert_string_equal(seen->principal, "");
    codec_free(&seen->base);

    /* ipc peer: honoured, but peer_role/key come from the transport */
    bus_client_t *loc = NULL;
    assert_int_equal(h_client(&h, &loc), 0);
    assert_int_equal(s_who(loc, &forged, &seen), 0);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    assert_string_equal(seen->principal, forged.principal);
    assert_int_equal(seen->peer_role, ESPACE__V1__PEER_ROLE__PEER_LOCAL);
    assert_string_equal(seen->peer_key, "");
    codec_free(&seen->base);

    /* tcp gateway: stamps its patients, but never an operator or a service */
    bus_conn_t gc = s_tcp(&h, h.req_tcp, k.gw_pub, k.gw_sec);
    bus_client_t *gw = NULL;
    assert_int_equal(bus_client_new(h.ctx, &gc, &gw), 0);
    assert_int_equal(s_who(gw, &forged, &seen), 0);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    assert_int_equal(seen->peer_role, ESPACE__V1__PEER_ROLE__PEER_GATEWAY);
    codec_free(&seen->base);
    Espace__V1__Caller op = ESPACE__V1__CALLER__INIT;
    op.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR;
    op.principal = "operator";
    bus_reply_t gr;
    assert_int_equal(bus_call(gw, "echo", "who", NULL, &espace__v1__caller__descriptor, 2000, &op,
                              NULL, &gr),
                     ES_PERMISSION_DENIED);
    assert_string_equal(gr.field, "caller");
    op.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE;
    assert_int_equal(bus_call(gw, "echo", "who", NULL, &espace__v1__caller__descriptor, 2000, &op,
                              NULL, NULL),
                     ES_PERMISSION_DENIED);
    bus_client_destroy(&gw);

    /* unregistered key: no answer at all, the call times out locally */
    bus_conn_t bc = s_tcp(&h, h.req_tcp, k.bad_pub, k.bad_sec);
    bus_client_t *bad = NULL;
    assert_int_equal(bus_client_new(h.ctx, &bc, &bad), 0);
    assert_int_equal(bus_call(bad, "echo", "echo", NULL, NULL, 300, NULL, NULL, NULL),
                     ES_DEADLINE_EXCEEDED);
    /* registered service key is served */
    bus_conn_t sc = s_tcp(&h, h.req_tcp, k.svc_pub, k.svc_sec);
    bus_client_t *svc = NULL;
    assert_int_equal(bus_client_new(h.ctx, &sc, &svc), 0);
    assert_int_equal(bus_call(svc, "echo", "echo", NULL, NULL, 2000, NULL, NULL, NULL), 0);

    /* a pro peer may not register as a worker */
    tworker_t pw;
    assert_int_equal(tw_start(&pw, h.ctx, pc, "prosvc", 1, 0), 0);
    h_sleep_ms(200);
    assert_int_equal(bus_call(svc, "prosvc", "echo", NULL, NULL, 1000, NULL, NULL, NULL),
                     ES_UNAVAILABLE);
    /* a service key may */
    tworker_t sw;
    assert_int_equal(tw_start(&sw, h.ctx, sc, "svcsvc", 1, 0), 0);
    int ok = 0;
    for (int i = 0; i < 40 && !ok; i++) {
        if (bus_call(pro, "svcsvc", "echo", NULL, NULL, 1000, NULL, NULL, NULL) == 0)
            ok = 1;
        else
            h_sleep_ms(25);
    }
    assert_true(ok);

    tw_stop(&pw);
    tw_stop(&sw);
    bus_client_destroy(&pro);
    bus_client_destroy(&loc);
    bus_client_destroy(&bad);
    bus_client_destroy(&svc);
    tw_stop(&w);
    h_teardown(&h);
}

/* 1 if the event ev, received on topic t, is on `topic` and carries a
 * Period starting at mark. */
static int s_event_has(const char *t, const Espace__V1__Event *ev, const char *topic,
                       int64_t mark)
{
    int ok = strcmp(t, topic) == 0 && strcmp(ev->topic, topic) == 0;
    Espace__V1__Period *p = NULL;
    if (ok && codec_decode(&espace__v1__period__descriptor, ev->body.data, ev->body.len, 0,
                           (ProtobufCMessage **)&p, NULL) == 0) {
        ok = p->start_ms == mark;
        codec_free(&p->base);
    }
    return ok;
}

/* Publish on pub until sub gets topic, up to ~2 s. 1 if received. */
static int s_pubsub(bus_pub_t *pub, bus_sub_t *sub, const char *topic, int64_t mark)
{
    Espace__V1__Period body = ESPACE__V1__PERIOD__INIT;
    body.start_ms = mark;
    for (int i = 0; i < 40; i++) {
        if (bus_publish(pub, topic, &body.base) != 0)
            return 0;
        char t[BUS_MAX_TOPIC + 1];
        Espace__V1__Event *ev = NULL;
        while (bus_sub_recv(sub, 50, t, &ev) == 0) {
            if (strcmp(t, topic) != 0) { /* an earlier event: skip */
                codec_free(&ev->base);
                continue;
            }
            int ok = s_event_has(t, ev, topic, mark);
            codec_free(&ev->base);
            return ok;
        }
    }
    return 0;
}

static void test_events(void **state)
{
    (void)state;
    harness_t h;
    tkeys_t k;
    s_tcp_setup(&h, &k);
    bus_conn_t pc = h_ipc(h.pub_ipc), sc = h_ipc(h.sub_ipc);
    bus_pub_t *pub = NULL;
    bus_sub_t *sub = NULL;
    assert_int_equal(bus_pub_new(h.ctx, &pc, &pub), 0);
    assert_int_equal(bus_sub_new(h.ctx, &sc, &sub), 0);
    assert_int_equal(bus_subscribe(sub, "test."), 0);
    assert_true(s_pubsub(pub, sub, "test.one", 7));
    assert_int_equal(bus_publish(pub, "", NULL), ES_INVALID_ARGUMENT);

    /* tcp: a service subscriber gets events, a pro subscriber is refused */
    bus_conn_t tsvc = s_tcp(&h, h.sub_tcp, k.svc_pub, k.svc_sec);
    bus_conn_t tpro = s_tcp(&h, h.sub_tcp, k.pro_pub, k.pro_sec);
    bus_sub_t *ssvc = NULL, *spro = NULL;
    assert_int_equal(bus_sub_new(h.ctx, &tsvc, &ssvc), 0);
    assert_int_equal(bus_sub_new(h.ctx, &tpro, &spro), 0);
    assert_int_equal(bus_subscribe(ssvc, ""), 0);
    assert_int_equal(bus_subscribe(spro, ""), 0);
    assert_true(s_pubsub(pub, ssvc, "test.two", 8));
    for (int i = 0; i < 5; i++)
        assert_int_equal(bus_publish(pub, "test.three", NULL), 0);
    char t[BUS_MAX_TOPIC + 1];
    Espace__V1__Event *ev = NULL;
    assert_int_equal(bus_sub_recv(spro, 300, t, &ev), ES_DEADLINE_EXCEEDED);
    /* a tcp service publisher reaches the ipc subscriber */
    bus_conn_t tpub = s_tcp(&h, h.pub_tcp, k.svc_pub, k.svc_sec);
    bus_pub_t *pub2 = NULL;
    assert_int_equal(bus_pub_new(h.ctx, &tpub, &pub2), 0);
    assert_true(s_pubsub(pub2, sub, "test.four", 9));

    bus_pub_destroy(&pub);
    bus_pub_destroy(&pub2);
    bus_sub_destroy(&sub);
    bus_sub_destroy(&ssvc);
    bus_sub_destroy(&spro);
    h_teardown(&h);
}

static void test_auth_and_revocation(void **state)
{
    (void)state;
    harness_t h;
    assert_int_equal(h_setup(&h, 0), 0);
    assert_int_equal(h_broker_start(&h), 0);
    tworker_t idw, ew;
    assert_int_equal(tw_start(&idw, h.ctx, h_ipc(h.req_ipc), "identity", 4, 0), 0);
    assert_int_equal(tw_start(&ew, h.ctx, h_ipc(h.req_ipc), "echo", 4, 0), 0);
    h_sleep_ms(50);
    bus_client_t *c = NULL;
    assert_int_equal(h_client(&h, &c), 0);

    Espace__V1__Caller *caller = NULL;
    bus_reply_t r;
    assert_int_equal(bus_client_auth(c, "bad", 2000, &caller, &r), ES_UNAUTHENTICATED);
    assert_null(caller);
    assert_string_equal(r.message, "bad token");
    Espace__V1__Caller *seen = NULL;
    assert_int_equal(s_who(c, NULL, &seen), 0);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE);
    codec_free(&seen->base);

    assert_int_equal(bus_client_auth(c, "good", 2000, &caller, &r), 0);
    assert_non_null(caller);
    assert_int_equal(caller->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    codec_free(&caller->base);

    /* later requests carry the session caller, peer fields from the transport;
     * a Caller frame sent alongside does not override the bound session */
    Espace__V1__Caller forged = ESPACE__V1__CALLER__INIT;
    forged.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR;
    assert_int_equal(s_who(c, &forged, &seen), 0);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    assert_string_equal(seen->principal, "0123456789abcdef0123456789abcdef");
    assert_int_equal(seen->peer_role, ESPACE__V1__PEER_ROLE__PEER_LOCAL);
    assert_string_equal(seen->peer_key, "");
    assert_int_equal(seen->session_id.len, 16);
    codec_free(&seen->base);

    /* another connection is not bound */
    bus_client_t *c2 = NULL;
    assert_int_equal(h_client(&h, &c2), 0);
    assert_int_equal(s_who(c2, NULL, &seen), 0);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE);
    codec_free(&seen->base);

    /* revocation event unbinds */
    bus_conn_t pc = h_ipc(h.pub_ipc);
    bus_pub_t *pub = NULL;
    assert_int_equal(bus_pub_new(h.ctx, &pc, &pub), 0);
    h_sleep_ms(100);
    Espace__V1__SessionRevoked sr = ESPACE__V1__SESSION_REVOKED__INIT;
    sr.session_id.data = idw.session_id;
    sr.session_id.len = 16;
    assert_int_equal(bus_publish(pub, "identity.session.revoked", &sr.base), 0);
    int unbound = 0;
    for (int i = 0; i < 40 && !unbound; i++) {
        assert_int_equal(s_who(c, NULL, &seen), 0);
        unbound = seen->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE;
        codec_free(&seen->base);
        if (!unbound) {
            h_sleep_ms(50);
            bus_publish(pub, "identity.session.revoked", &sr.base);
        }
    }
    assert_true(unbound);

    bus_pub_destroy(&pub);
    bus_client_destroy(&c);
    bus_client_destroy(&c2);
    tw_stop(&idw);
    tw_stop(&ew);
    h_teardown(&h);
}

/* ---- live events for professionals (SUBSCRIBE / EVENT) ---- */

#define P_RPPS_A "10000000001"
#define P_RPPS_B "10000000002"

/* An "identity" worker answering Authenticate by token: "pro-A", "pro-A2"
 * (same RPPS, another session), "pro-B", "pro-short" (RPPS A, expires in
 * 400 ms), "patient"; anything else UNAUTHENTICATED. Session id: 16 bytes of
 * the token's first byte after "pro-" (or 'P'). */
typedef struct pid_worker {
    void *ctx;
    bus_conn_t conn;
    volatile int stop, started;
    pthread_t th;
} pid_worker_t;

static void s_pid_answer(bus_worker_t *w, bus_request_t *r)
{
    Espace__V1__AuthenticateRequest *ar = NULL;
    if (strcmp(r->req->method, "Authenticate") != 0 ||
        codec_decode(&espace__v1__authenticate_request__descriptor, r->req->body.data,
                     r->req->body.len, 0, (ProtobufCMessage **)&ar, NULL) != 0) {
        bus_worker_reply(w, r, ES_UNIMPLEMENTED, "unknown method", "method", NULL, 0);
        return;
    }
    const char *tok = ar->token;
    uint8_t sid[16];
    Espace__V1__Caller c = ESPACE__V1__CALLER__INIT;
    c.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL;
    c.session_expires_ms = bus_wall_ms() + 60000;
    if (strcmp(tok, "pro-A") == 0) {
        c.principal = P_RPPS_A;
        memset(sid, 'A', 16);
    } else if (strcmp(tok, "pro-A2") == 0) {
        c.principal = P_RPPS_A;
        memset(sid, '2', 16);
    } else if (strcmp(tok, "pro-B") == 0) {
        c.principal = P_RPPS_B;
        memset(sid, 'B', 16);
    } else if (strcmp(tok, "pro-short") == 0) {
        c.principal = P_RPPS_A;
        memset(sid, 's', 16);
        c.session_expires_ms = bus_wall_ms() + 400;
    } else if (strcmp(tok, "patient") == 0) {
        c.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
        c.principal = "0123456789abcdef0123456789abcdef";
        memset(sid, 'P', 16);
    } else {
        bus_worker_reply(w, r, ES_UNAUTHENTICATED, "bad token", NULL, NULL, 0);
        codec_free(&ar->base);
        return;
    }
    c.session_id.data = sid;
    c.session_id.len = 16;
    Espace__V1__AuthenticateReply rep = ESPACE__V1__AUTHENTICATE_REPLY__INIT;
    rep.caller = &c;
    uint8_t buf[512];
    size_t len = espace__v1__authenticate_reply__pack(&rep, buf);
    bus_worker_reply(w, r, 0, NULL, NULL, buf, len);
    codec_free(&ar->base);
}

static void *s_pid_main(void *arg)
{
    pid_worker_t *t = arg;
    bus_worker_t *w = NULL;
    if (bus_worker_new(t->ctx, &t->conn, "identity", 4, &w) != 0) {
        t->started = -1;
        return NULL;
    }
    t->started = 1;
    while (!t->stop) {
        int wait = bus_worker_tick(w);
        zmq_pollitem_t it = {bus_worker_socket(w), 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, wait > 10 ? 10 : wait);
        bus_request_t r;
        while (bus_worker_recv(w, &r) == 0) {
            s_pid_answer(w, &r);
            bus_request_release(&r);
        }
    }
    bus_worker_destroy(&w);
    return NULL;
}

/* A harness with its broker and the fake identity service running. */
static void s_pid_setup(harness_t *h, pid_worker_t *idw)
{
    assert_int_equal(h_setup(h, 0), 0);
    assert_int_equal(h_broker_start(h), 0);
    *idw = (pid_worker_t){.ctx = h->ctx, .conn = h_ipc(h->req_ipc)};
    assert_int_equal(pthread_create(&idw->th, NULL, s_pid_main, idw), 0);
}

static void s_pid_teardown(harness_t *h, pid_worker_t *idw)
{
    idw->stop = 1;
    pthread_join(idw->th, NULL);
    assert_int_equal(h_teardown(h), 0);
}

/* A client bound with `token` (retries while identity is not routed yet). */
static bus_client_t *s_pro_client(harness_t *h, const char *token)
{
    bus_client_t *c = NULL;
    assert_int_equal(h_client(h, &c), 0);
    bus_reply_t r;
    int rc = ES_UNAVAILABLE;
    for (int i = 0; i < 100 && rc == ES_UNAVAILABLE; i++) {
        rc = bus_client_auth(c, token, 2000, NULL, &r);
        if (rc == ES_UNAVAILABLE)
            h_sleep_ms(20);
    }
    assert_int_equal(rc, 0);
    return c;
}

/* Publish (topic, mark) until c receives an event on `topic` carrying mark,
 * up to ~2 s; events on other topics or with other marks are skipped. 1 if
 * it came. */
static int s_pro_gets(bus_pub_t *pub, bus_client_t *c, const char *topic, int64_t mark)
{
    Espace__V1__Period body = ESPACE__V1__PERIOD__INIT;
    body.start_ms = mark;
    for (int i = 0; i < 40; i++) {
        if (bus_publish(pub, topic, &body.base) != 0)
            return 0;
        char t[BUS_MAX_TOPIC + 1];
        Espace__V1__Event *ev = NULL;
        while (bus_client_recv_event(c, 50, t, &ev) == 0) {
            int ok = s_event_has(t, ev, topic, mark);
            codec_free(&ev->base);
            if (ok)
                return 1;
        }
    }
    return 0;
}

/* Nothing at all arrives on c within ms (after draining what was queued
 * before `drain_first`). 1 if silent. */
static int s_silent(bus_client_t *c, int ms)
{
    char t[BUS_MAX_TOPIC + 1];
    Espace__V1__Event *ev = NULL;
    if (bus_client_recv_event(c, ms, t, &ev) == 0) {
        fprintf(stderr, "unexpected event %s\n", t);
        codec_free(&ev->base);
        return 0;
    }
    return 1;
}

static void s_drain(bus_client_t *c)
{
    char t[BUS_MAX_TOPIC + 1];
    Espace__V1__Event *ev = NULL;
    while (bus_client_recv_event(c, 100, t, &ev) == 0)
        codec_free(&ev->base);
}

static void test_pro_subscribe_rules(void **state)
{
    (void)state;
    harness_t h;
    pid_worker_t idw;
    s_pid_setup(&h, &idw);
    bus_reply_t r;

    /* an unbound connection is refused */
    bus_client_t *anon = NULL;
    assert_int_equal(h_client(&h, &anon), 0);
    assert_int_equal(bus_client_subscribe(anon, "pro." P_RPPS_A ".", 2000, &r),
                     ES_UNAUTHENTICATED);
    /* a patient session is refused */
    bus_client_t *pat = s_pro_client(&h, "patient");
    assert_int_equal(bus_client_subscribe(pat, "patient.0123456789abcdef0123456789abcdef.", 2000,
                                          &r),
                     ES_PERMISSION_DENIED);
    /* a professional: own prefixes only */
    bus_client_t *a = s_pro_client(&h, "pro-A");
    const char *denied[] = {"pro." P_RPPS_B ".",       "pro." P_RPPS_B ".agenda",
                            "patient.",                "pro.",
                            "pro." P_RPPS_A,           "pro.1000000000",
                            "identity.session.revoked", "pro." P_RPPS_A "0.agenda"};
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        assert_int_equal(bus_client_subscribe(a, denied[i], 2000, &r), ES_PERMISSION_DENIED);
        assert_string_equal(r.field, "prefix");
    }
    assert_int_equal(bus_client_subscribe(a, "", 2000, &r), ES_INVALID_ARGUMENT);
    assert_int_equal(bus_client_subscribe(a, "pro." P_RPPS_A ".a b", 2000, &r),
                     ES_INVALID_ARGUMENT);
    char longp[BUS_MAX_TOPIC + 2];
    memset(longp, 'x', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    memcpy(longp, "pro." P_RPPS_A ".", strlen("pro." P_RPPS_A "."));
    assert_int_equal(bus_client_subscribe(a, longp, 2000, &r), ES_INVALID_ARGUMENT);
    assert_int_equal(bus_client_subscribe(a, "pro." P_RPPS_A ".", 2000, &r), 0);
    assert_int_equal(bus_client_subscribe(a, "pro." P_RPPS_A ".", 2000, &r), 0); /* no-op */
    /* at most BUS_MAX_CLIENT_SUBS prefixes per connection */
    for (int i = 1; i < BUS_MAX_CLIENT_SUBS; i++) {
        char p[64];
        snprintf(p, sizeof p, "pro." P_RPPS_A ".x%d", i);
        assert_int_equal(bus_client_subscribe(a, p, 2000, &r), 0);
    }
    assert_int_equal(bus_client_subscribe(a, "pro." P_RPPS_A ".one-more", 2000, &r),
                     ES_RESOURCE_EXHAUSTED);

    /* a raw SUBSCRIBE with another method, or a body that does not decode */
    void *raw = zmq_socket(h.ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(raw, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(raw, h.req_ipc), 0);
    Espace__V1__Request req = ESPACE__V1__REQUEST__INIT;
    req.id = 77;
    req.method = "Unsubscribe";
    uint8_t buf[64];
    size_t len = espace__v1__request__pack(&req, buf);
    const char cmd = BUS_C_SUBSCRIBE;
    zmq_send(raw, BUS_CLIENT_PROTO, 4, ZMQ_SNDMORE);
    zmq_send(raw, &cmd, 1, ZMQ_SNDMORE);
    zmq_send(raw, buf, len, 0);
    req.method = "Subscribe";
    req.id = 78;
    req.body.data = (uint8_t *)"\xff\xff";
    req.body.len = 2;
    len = espace__v1__request__pack(&req, buf);
    zmq_send(raw, BUS_CLIENT_PROTO, 4, ZMQ_SNDMORE);
    zmq_send(raw, &cmd, 1, ZMQ_SNDMORE);
    zmq_send(raw, buf, len, 0);
    for (int k = 0; k < 2; k++) {
        zmq_pollitem_t it = {raw, 0, ZMQ_POLLIN, 0};
        assert_int_equal(zmq_poll(&it, 1, 2000), 1);
        zmq_msg_t m[FRAMES_MAX];
        size_t n = 0;
        assert_int_equal(frames_recv(raw, m, FRAMES_MAX, &n, 0), 0);
        assert_int_equal(n, 4);
        Espace__V1__Reply *rep = NULL;
        assert_int_equal(codec_decode(&espace__v1__reply__descriptor, zmq_msg_data(&m[3]),
                                      zmq_msg_size(&m[3]), 0, (ProtobufCMessage **)&rep, NULL),
                         0);
        assert_int_equal(rep->id, 77 + (uint64_t)k);
        assert_int_equal(rep->status->code, ESPACE__V1__CODE__CODE_INVALID_ARGUMENT);
        assert_string_equal(rep->status->field, k == 0 ? "method" : "body");
        codec_free(&rep->base);
        frames_close(m, n);
    }
    zmq_close(raw);

    bus_client_destroy(&anon);
    bus_client_destroy(&pat);
    bus_client_destroy(&a);
    s_pid_teardown(&h, &idw);
}

static void test_pro_events_forwarded(void **state)
{
    (void)state;
    harness_t h;
    pid_worker_t idw;
    s_pid_setup(&h, &idw);
    bus_conn_t pc = h_ipc(h.pub_ipc);
    bus_pub_t *pub = NULL;
    assert_int_equal(bus_pub_new(h.ctx, &pc, &pub), 0);
    bus_reply_t r;

    bus_client_t *a = s_pro_client(&h, "pro-A");
    bus_client_t *a2 = s_pro_client(&h, "pro-A2");
    bus_client_t *b = s_pro_client(&h, "pro-B");
    bus_client_t *sh = s_pro_client(&h, "pro-short");
    assert_int_equal(bus_client_subscribe(a, "pro." P_RPPS_A ".agenda", 2000, &r), 0);
    assert_int_equal(bus_client_subscribe(a, "pro." P_RPPS_A ".", 2000, &r), 0); /* overlaps */
    assert_int_equal(bus_client_subscribe(a2, "pro." P_RPPS_A ".agenda", 2000, &r), 0);
    assert_int_equal(bus_client_subscribe(b, "pro." P_RPPS_B ".", 2000, &r), 0);
    assert_int_equal(bus_client_subscribe(sh, "pro." P_RPPS_A ".agenda", 2000, &r), 0);

    /* each receives its own events */
    assert_true(s_pro_gets(pub, a, "pro." P_RPPS_A ".agenda", 1));
    assert_true(s_pro_gets(pub, a2, "pro." P_RPPS_A ".agenda", 2));
    assert_true(s_pro_gets(pub, b, "pro." P_RPPS_B ".agenda", 3));
    assert_true(s_pro_gets(pub, a, "pro." P_RPPS_A ".documents", 4));
    s_drain(a);
    s_drain(a2);
    s_drain(b);
    /* one copy per event although two prefixes of a match; nothing of
     * another RPPS or a patient topic */
    Espace__V1__Period body = ESPACE__V1__PERIOD__INIT;
    assert_int_equal(bus_publish(pub, "pro." P_RPPS_B ".agenda", &body.base), 0);
    assert_int_equal(bus_publish(pub, "patient.0123456789abcdef0123456789abcdef.agenda",
                                 &body.base),
                     0);
    assert_int_equal(bus_publish(pub, "pro." P_RPPS_A "0.agenda", &body.base), 0);
    body.start_ms = 5;
    assert_int_equal(bus_publish(pub, "pro." P_RPPS_A ".agenda", &body.base), 0);
    char t[BUS_MAX_TOPIC + 1];
    Espace__V1__Event *ev = NULL;
    assert_int_equal(bus_client_recv_event(a, 2000, t, &ev), 0);
    assert_string_equal(t, "pro." P_RPPS_A ".agenda");
    codec_free(&ev->base);
    assert_true(s_silent(a, 200));

    /* events arriving during a call are kept for bus_client_recv_event */
    assert_int_equal(bus_publish(pub, "pro." P_RPPS_A ".agenda", &body.base), 0);
    h_sleep_ms(100);
    assert_int_equal(bus_client_subscribe(a, "pro." P_RPPS_A ".agenda", 2000, &r), 0);
    assert_int_equal(bus_client_recv_event(a, 0, t, &ev), 0);
    codec_free(&ev->base);

    /* an expired session ends forwarding */
    h_sleep_ms(450);
    s_drain(sh);
    assert_int_equal(bus_publish(pub, "pro." P_RPPS_A ".agenda", &body.base), 0);
    assert_true(s_silent(sh, 300));
    assert_int_equal(bus_client_subscribe(sh, "pro." P_RPPS_A ".agenda", 2000, &r),
                     ES_UNAUTHENTICATED);

    /* revocation of A's session ends A's forwarding, not A2's (same prefix) */
    Espace__V1__SessionRevoked sr = ESPACE__V1__SESSION_REVOKED__INIT;
    uint8_t sid[16];
    memset(sid, 'A', 16);
    sr.session_id.data = sid;
    sr.session_id.len = 16;
    int unbound = 0;
    for (int i = 0; i < 40 && !unbound; i++) {
        assert_int_equal(bus_publish(pub, "identity.session.revoked", &sr.base), 0);
        h_sleep_ms(50);
        unbound = bus_client_subscribe(a, "pro." P_RPPS_A ".agenda", 2000, &r) ==
                  ES_UNAUTHENTICATED;
    }
    assert_true(unbound);
    s_drain(a);
    s_drain(a2);
    assert_true(s_pro_gets(pub, a2, "pro." P_RPPS_A ".agenda", 6));
    assert_true(s_silent(a, 300));

    /* a connection that went away is dropped at the next event (no crash,
     * the others still served) */
    bus_client_destroy(&b);
    h_sleep_ms(100);
    assert_int_equal(bus_publish(pub, "pro." P_RPPS_B ".agenda", &body.base), 0);
    assert_true(s_pro_gets(pub, a2, "pro." P_RPPS_A ".agenda", 7));

    bus_pub_destroy(&pub);
    bus_client_destroy(&a);
    bus_client_destroy(&a2);
    bus_client_destroy(&sh);
    s_pid_teardown(&h, &idw);
}

/* ---- a session is bound to the peer (role + CURVE key), not to its
 * routing id, which a client chooses ---- */

/* A raw call until answered (the broker may not route the new pipe yet, or
 * identity may not be registered): 200 tries, 25-200 ms each. The Reply, or
 * NULL. */
static Espace__V1__Reply *s_raw_call(void *s, uint8_t cmd, const char *service,
                                     const char *method, const ProtobufCMessage *body,
                                     uint64_t *next_id)
{
    for (int i = 0; i < 200; i++) {
        uint64_t id = (*next_id)++;
        if (h_raw_send(s, cmd, service, id, method, body) != 0)
            return NULL;
        Espace__V1__Reply *r = h_raw_reply(s, id, 200);
        if (r != NULL && r->status != NULL &&
            r->status->code == ESPACE__V1__CODE__CODE_UNAVAILABLE) {
            espace__v1__reply__free_unpacked(r, NULL);
            r = NULL;
            h_sleep_ms(25);
        }
        if (r != NULL)
            return r;
    }
    return NULL;
}

static int s_raw_code(const Espace__V1__Reply *r)
{
    return r->status != NULL ? (int)r->status->code : 0;
}

/* The Caller "who" saw on a raw socket; caller frees. */
static Espace__V1__Caller *s_raw_who(void *s, uint64_t *next_id)
{
    Espace__V1__Reply *r = s_raw_call(s, BUS_C_REQUEST, "echo", "who", NULL, next_id);
    assert_non_null(r);
    assert_int_equal(s_raw_code(r), 0);
    Espace__V1__Caller *c =
        espace__v1__caller__unpack(NULL, r->body.len, r->body.data);
    espace__v1__reply__free_unpacked(r, NULL);
    assert_non_null(c);
    return c;
}

static void test_session_bound_to_peer_key(void **state)
{
    (void)state;
    harness_t h;
    uint8_t p1_pub[32], p1_sec[32], p2_pub[32], p2_sec[32];
    assert_int_equal(h_setup(&h, 1), 0);
    crypto_box_keypair(p1_pub, p1_sec);
    crypto_box_keypair(p2_pub, p2_sec);
    assert_int_equal(h_key_add(&h, p1_pub, ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE, "p1"), 0);
    assert_int_equal(h_key_add(&h, p2_pub, ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE, "p2"), 0);
    assert_int_equal(h_broker_start(&h), 0);
    assert_int_equal(h_server_key(&h), 0);
    pid_worker_t idw = {.ctx = h.ctx, .conn = h_ipc(h.req_ipc)};
    assert_int_equal(pthread_create(&idw.th, NULL, s_pid_main, &idw), 0);
    tworker_t ew;
    assert_int_equal(tw_start(&ew, h.ctx, h_ipc(h.req_ipc), "echo", 4, 0), 0);
    assert_int_equal(tw_wait_registered(&ew, 5000), 0);

    static const char rid[] = "fixed-routing-id";
    uint64_t next = 1;
    char z1[BUS_KEY_Z85], z2[BUS_KEY_Z85];
    bus_key_z85(p1_pub, z1);
    bus_key_z85(p2_pub, z2);

    /* P binds a professional session on tcp, subscribes, then disconnects */
    void *a = h_raw_dealer(&h, h.req_tcp, p1_pub, p1_sec, rid, sizeof rid - 1);
    assert_non_null(a);
    Espace__V1__AuthenticateRequest ar = ESPACE__V1__AUTHENTICATE_REQUEST__INIT;
    ar.token = "pro-A";
    Espace__V1__Reply *r = s_raw_call(a, BUS_C_AUTH, NULL, "Authenticate", &ar.base, &next);
    assert_non_null(r);
    assert_int_equal(s_raw_code(r), 0);
    espace__v1__reply__free_unpacked(r, NULL);
    Espace__V1__Caller *seen = s_raw_who(a, &next);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL);
    assert_string_equal(seen->principal, P_RPPS_A);
    assert_string_equal(seen->peer_key, z1);
    espace__v1__caller__free_unpacked(seen, NULL);
    Espace__V1__SubscribeRequest sr = ESPACE__V1__SUBSCRIBE_REQUEST__INIT;
    sr.prefix = "pro." P_RPPS_A ".";
    r = s_raw_call(a, BUS_C_SUBSCRIBE, NULL, "Subscribe", &sr.base, &next);
    assert_non_null(r);
    assert_int_equal(s_raw_code(r), 0);
    espace__v1__reply__free_unpacked(r, NULL);
    zmq_close(a);
    h_sleep_ms(100);

    /* another registered pro key with the same routing id inherits nothing:
     * SUBSCRIBE is refused, requests are stamped anonymous */
    void *b = h_raw_dealer(&h, h.req_tcp, p2_pub, p2_sec, rid, sizeof rid - 1);
    assert_non_null(b);
    r = s_raw_call(b, BUS_C_SUBSCRIBE, NULL, "Subscribe", &sr.base, &next);
    assert_non_null(r);
    assert_int_equal(s_raw_code(r), ESPACE__V1__CODE__CODE_UNAUTHENTICATED);
    espace__v1__reply__free_unpacked(r, NULL);
    seen = s_raw_who(b, &next);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE);
    assert_string_equal(seen->principal, "");
    assert_int_equal(seen->peer_role, ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE);
    assert_string_equal(seen->peer_key, z2);
    espace__v1__caller__free_unpacked(seen, NULL);
    zmq_close(b);
    h_sleep_ms(100);

    /* the stale binding was dropped, not merely hidden: P itself, back with
     * the same routing id, must authenticate again */
    a = h_raw_dealer(&h, h.req_tcp, p1_pub, p1_sec, rid, sizeof rid - 1);
    assert_non_null(a);
    seen = s_raw_who(a, &next);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE);
    espace__v1__caller__free_unpacked(seen, NULL);
    zmq_close(a);

    tw_stop(&ew);
    s_pid_teardown(&h, &idw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routed_with_id),
        cmocka_unit_test(test_pipelined_1000),
        cmocka_unit_test(test_two_workers_share),
        cmocka_unit_test(test_no_worker_unavailable),
        cmocka_unit_test(test_worker_dies),
        cmocka_unit_test(test_deadline_late_reply_dropped),
        cmocka_unit_test(test_queue_when_full),
        cmocka_unit_test(test_broker_restart),
        cmocka_unit_test(test_malformed_frames),
        cmocka_unit_test(test_tcp_caller_stamping),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_auth_and_revocation),
        cmocka_unit_test(test_pro_subscribe_rules),
        cmocka_unit_test(test_pro_events_forwarded),
        cmocka_unit_test(test_session_bound_to_peer_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
