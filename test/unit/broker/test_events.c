/*
 * test_events.c - the broker's event proxy (broker/events.c): publishers on
 * the events-in endpoints reach subscribers on the events-out endpoints,
 * over ipc and over tcp, where only service and gateway keys are admitted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>
#include <sodium.h>

#include "test/harness/harness.h"
#include "bus/codec.h"
#include "bus/frames.h"

/* The peers: a service (may publish and subscribe on tcp) and a
 * professional's software (may not). */
typedef struct tkeys {
    h_peer_t pro, svc;
} tkeys_t;

/* Broker with tcp endpoints, the two keys registered. */
static void s_tcp_setup(harness_t *h, tkeys_t *k)
{
    assert_int_equal(h_setup(h, 1), 0);
    assert_int_equal(h_peer_add(h, &k->pro, ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE, "pro"), 0);
    assert_int_equal(h_peer_add(h, &k->svc, ESPACE__V1__PEER_ROLE__PEER_SERVICE, "svc"), 0);
    assert_int_equal(h_tcp_start(h), 0);
}

/* The broker of s_tcp_setup, an ipc publisher and an ipc subscriber to
 * `prefix`, shown connected by an event on `topic` reaching it. */
static void s_ipc_pair(harness_t *h, tkeys_t *k, bus_pub_t **pub, bus_sub_t **sub,
                       const char *prefix, const char *topic)
{
    s_tcp_setup(h, k);
    bus_conn_t pc = h_ipc(h->pub_ipc), sc = h_ipc(h->sub_ipc);
    assert_int_equal(bus_pub_new(h->ctx, &pc, pub), 0);
    assert_int_equal(bus_sub_new(h->ctx, &sc, sub), 0);
    assert_int_equal(bus_subscribe(*sub, prefix), 0);
    assert_true(h_publish_until(*pub, topic, 7, h_recv_sub, *sub));
}

static void test_events(void **state)
{
    (void)state;
    harness_t h;
    tkeys_t k;
    bus_pub_t *pub = NULL;
    bus_sub_t *sub = NULL;
    s_ipc_pair(&h, &k, &pub, &sub, "test.", "test.one");
    assert_int_equal(bus_publish(pub, "", NULL), ES_INVALID_ARGUMENT);

    /* tcp: a service subscriber gets events, a pro subscriber is refused */
    bus_conn_t tsvc = h_tcp(&h, h.sub_tcp, &k.svc);
    bus_conn_t tpro = h_tcp(&h, h.sub_tcp, &k.pro);
    bus_sub_t *ssvc = NULL, *spro = NULL;
    assert_int_equal(bus_sub_new(h.ctx, &tsvc, &ssvc), 0);
    assert_int_equal(bus_sub_new(h.ctx, &tpro, &spro), 0);
    assert_int_equal(bus_subscribe(ssvc, ""), 0);
    assert_int_equal(bus_subscribe(spro, ""), 0);
    assert_true(h_publish_until(pub, "test.two", 8, h_recv_sub, ssvc));
    for (int i = 0; i < 5; i++)
        assert_int_equal(bus_publish(pub, "test.three", NULL), 0);
    char t[BUS_MAX_TOPIC + 1];
    Espace__V1__Event *ev = NULL;
    assert_int_equal(bus_sub_recv(spro, 300, t, &ev), ES_DEADLINE_EXCEEDED);
    /* a tcp service publisher reaches the ipc subscriber */
    bus_conn_t tpub = h_tcp(&h, h.pub_tcp, &k.svc);
    bus_pub_t *pub2 = NULL;
    assert_int_equal(bus_pub_new(h.ctx, &tpub, &pub2), 0);
    assert_true(h_publish_until(pub2, "test.four", 9, h_recv_sub, sub));

    /* a publisher sending more frames than any bus message has: proxied or
     * dropped, the broker keeps serving (under ASan: no overflow) */
    void *raw = zmq_socket(h.ctx, ZMQ_PUB);
    int zero = 0;
    zmq_setsockopt(raw, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(raw, h.pub_ipc), 0);
    h_sleep_ms(100); /* the "test." subscription reaches the new publisher */
    for (int i = 0; i < 5; i++)
        for (int j = 0; j <= FRAMES_MAX; j++)
            zmq_send(raw, j == 0 ? "test.nine" : "x", j == 0 ? 9 : 1,
                     j < FRAMES_MAX ? ZMQ_SNDMORE : 0);
    zmq_close(raw);
    assert_true(h_publish_until(pub, "test.five", 10, h_recv_sub, sub));

    bus_pub_destroy(&pub);
    bus_pub_destroy(&pub2);
    bus_sub_destroy(&sub);
    bus_sub_destroy(&ssvc);
    bus_sub_destroy(&spro);
    h_teardown(&h);
}

/* Subscriptions are never dropped. A subscriber subscribes and unsubscribes
 * many prefixes while the publisher is idle (a service with nothing to
 * publish reads the subscriptions sent to it only when it next touches its
 * socket); it must still receive every event on the prefixes it kept.
 * libzmq drops (un)subscriptions silently at the high-water mark of the
 * sockets that carry them upstream (SUB, XSUB): the edge lost every live
 * event of the connections that bound right after a thousand had ended. */
static void test_subscription_churn(void **state)
{
    (void)state;
    enum { N = 400, ROUNDS = 40 };
    harness_t h;
    tkeys_t k;
    bus_pub_t *pub = NULL;
    bus_sub_t *sub = NULL;
    s_ipc_pair(&h, &k, &pub, &sub, "warm.", "warm.up");

    static char topics[N][48];
    for (int i = 0; i < N; i++)
        snprintf(topics[i], sizeof(topics[i]), "patient.%032x.", i);
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < N; i++)
            assert_int_equal(bus_subscribe(sub, topics[i]), 0);
        for (int i = 0; i < N; i++)
            assert_int_equal(bus_unsubscribe(sub, topics[i]), 0);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(bus_subscribe(sub, topics[i]), 0);

    /* every kept prefix gets its event: publish to those not yet heard
     * from until all are, for at most 10 s */
    static uint8_t got[N];
    int have = 0;
    for (int turn = 0; turn < 100 && have < N; turn++) {
        for (int i = 0; i < N; i++)
            if (!got[i])
                assert_int_equal(bus_publish(pub, topics[i], NULL), 0);
        char t[BUS_MAX_TOPIC + 1];
        Espace__V1__Event *ev = NULL;
        while (bus_sub_recv(sub, 100, t, &ev) == 0) {
            unsigned idx = 0;
            if (sscanf(t, "patient.%32x.", &idx) == 1 && idx < N && !got[idx]) {
                got[idx] = 1;
                have++;
            }
            codec_free(&ev->base);
        }
    }
    assert_int_equal(have, N);
    bus_pub_destroy(&pub);
    bus_sub_destroy(&sub);
    h_teardown(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_subscription_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
