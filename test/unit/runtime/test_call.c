/*
 * test_call.c - runtime/call.c: what a handler of the counter service
 * (counter_fixture.h) sees and produces through its call handle: the
 * stamped caller, svc_reply, svc_fail (status, field, formatted message;
 * with or without keeping the writes), svc_publish (events after the commit
 * only, in order, at most SVC_MAX_EVENTS a call) and a reply over the bus
 * limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bus/codec.h"
#include "proto/status.h"
#include "test/unit/runtime/counter_fixture.h"

static void test_reply_and_read(void **state)
{
    cnt_fix_t *f = *state;
    int64_t v = 0;
    assert_int_equal(atomic_load(&cnt_inits), 1);
    assert_int_equal(cnt_call(f, "Add", 5, 1, cnt_patient(), &v, NULL), 0);
    assert_int_equal(v, 5);
    assert_int_equal(cnt_call(f, "Add", 3, 1, cnt_patient(), &v, NULL), 0);
    assert_int_equal(v, 8);
    assert_int_equal(cnt_call(f, "Get", 0, 1, cnt_patient(), &v, NULL), 0);
    assert_int_equal(v, 8);
    /* The handler sees the caller stamped by the broker. */
    assert_int_equal(cnt_call(f, "Ping", 0, 0, cnt_patient(), &v, NULL), 0);
    assert_int_equal(v, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    /* svc_fail from a read handler: status, field and formatted message. */
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(cnt_call(f, "Get", 0, 99, cnt_patient(), &v, &r), ES_NOT_FOUND);
    assert_string_equal(r.field, "end_ms");
    assert_string_equal(r.message, "no counter 99");
}

static void test_fail_discards(void **state)
{
    cnt_fix_t *f = *state;
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(cnt_call(f, "Fail", 9, 3, cnt_patient(), NULL, &r), ES_FAILED_PRECONDITION);
    assert_string_equal(r.message, "refused 7 of seven");
    assert_string_equal(r.field, "start_ms");
    assert_int_equal(cnt_call(f, "Get", 0, 3, cnt_patient(), NULL, NULL), ES_NOT_FOUND);

    /* A bare error return: its code with a generic message, write discarded. */
    memset(&r, 0, sizeof r);
    assert_int_equal(cnt_call(f, "Raw", 9, 4, cnt_patient(), NULL, &r), ES_ABORTED);
    assert_string_equal(r.message, es_strerror(ES_ABORTED));
    assert_string_equal(r.field, "");
    assert_int_equal(cnt_call(f, "Get", 0, 4, cnt_patient(), NULL, NULL), ES_NOT_FOUND);
}

static void test_fail_keep(void **state)
{
    cnt_fix_t *f = *state;
    int64_t v = 0;
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(cnt_call(f, "FailKeep", 11, 5, cnt_patient(), NULL, &r), ES_UNAUTHENTICATED);
    assert_string_equal(r.message, "bad password");
    assert_int_equal(cnt_call(f, "Get", 0, 5, cnt_patient(), &v, NULL), 0);
    assert_int_equal(v, 11);
}

static void test_events(void **state)
{
    cnt_fix_t *f = *state;
    bus_sub_t *sub = NULL;
    assert_int_equal(h_sub(&f->h, &sub), 0);
    assert_int_equal(bus_subscribe(sub, "counter."), 0);

    /* Subscriptions propagate asynchronously: emit until one arrives. */
    char topic[BUS_MAX_TOPIC + 1];
    Espace__V1__Event *ev = NULL;
    int got = 0;
    for (int i = 0; i < 100 && !got; i++) {
        assert_int_equal(cnt_call(f, "Emit", 1, 100, cnt_patient(), NULL, NULL), 0);
        got = bus_sub_recv(sub, 100, topic, &ev) == 0;
    }
    assert_true(got);
    assert_string_equal(topic, CNT_TOPIC);
    codec_free(&ev->base);
    ev = NULL;
    /* Drain the extra ones from the warm-up. */
    while (bus_sub_recv(sub, 200, topic, &ev) == 0) {
        codec_free(&ev->base);
        ev = NULL;
    }

    /* A failed call publishes nothing; a good one publishes all it queued,
     * in order, after the failed one was answered. */
    assert_int_equal(cnt_call(f, "EmitFail", 0, 666, cnt_patient(), NULL, NULL), ES_ABORTED);
    assert_int_equal(cnt_call(f, "Emit", 3, 777, cnt_patient(), NULL, NULL), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(bus_sub_recv(sub, 2000, topic, &ev), 0);
        assert_string_equal(topic, CNT_TOPIC);
        assert_string_equal(ev->topic, CNT_TOPIC);
        assert_true(ev->at_ms > 0);
        ProtobufCMessage *m = NULL;
        assert_int_equal(codec_decode(CNT_PERIOD, ev->body.data, ev->body.len, 0, &m, NULL), 0);
        Espace__V1__Period *p = (Espace__V1__Period *)m;
        assert_int_equal(p->end_ms, 777); /* never 666 */
        assert_int_equal(p->start_ms, i);
        codec_free(m);
        codec_free(&ev->base);
        ev = NULL;
    }
    assert_int_equal(bus_sub_recv(sub, 200, topic, &ev), ES_DEADLINE_EXCEEDED);

    /* Over SVC's per-call bound: the handler's svc_publish fails, the call
     * fails, and nothing is published. */
    assert_int_equal(cnt_call(f, "Emit", SVC_MAX_EVENTS + 1, 888, cnt_patient(), NULL, NULL),
                     ES_RESOURCE_EXHAUSTED);
    assert_int_equal(cnt_call(f, "Emit", SVC_MAX_EVENTS, 889, cnt_patient(), NULL, NULL), 0);
    for (int i = 0; i < SVC_MAX_EVENTS; i++) {
        assert_int_equal(bus_sub_recv(sub, 2000, topic, &ev), 0);
        ProtobufCMessage *m = NULL;
        assert_int_equal(codec_decode(CNT_PERIOD, ev->body.data, ev->body.len, 0, &m, NULL), 0);
        assert_int_equal(((Espace__V1__Period *)m)->end_ms, 889);
        codec_free(m);
        codec_free(&ev->base);
        ev = NULL;
    }
    bus_sub_destroy(&sub);
}

static void test_reply_too_large(void **state)
{
    cnt_fix_t *f = *state;
    assert_int_equal(cnt_call(f, "Big", 0, 0, cnt_patient(), NULL, NULL), ES_TOO_LARGE);
    /* The service is still fine. */
    assert_int_equal(cnt_call(f, "Ping", 0, 0, cnt_patient(), NULL, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply_and_read, cnt_setup, cnt_teardown),
        cmocka_unit_test_setup_teardown(test_fail_discards, cnt_setup, cnt_teardown),
        cmocka_unit_test_setup_teardown(test_fail_keep, cnt_setup, cnt_teardown),
        cmocka_unit_test_setup_teardown(test_events, cnt_setup, cnt_teardown),
        cmocka_unit_test_setup_teardown(test_reply_too_large, cnt_setup, cnt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
