/*
 * test_rate.c - the token buckets of the messaging service
 * (services/messaging/rate.c): burst, refill, separate keys, bounded table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "services/messaging/messaging_int.h"

static void test_burst_and_refill(void **state)
{
    (void)state;
    msg_rate_t *r = msg_rate_new(64);
    assert_non_null(r);
    uint8_t a[MSG_HASH] = {1}, b[MSG_HASH] = {2};
    int64_t t = 1000000;
    for (int i = 0; i < 5; i++)
        assert_int_equal(msg_rate_take(r, a, 60, 5, t), 1);
    assert_int_equal(msg_rate_take(r, a, 60, 5, t), 0);
    assert_int_equal(msg_rate_take(r, b, 60, 5, t), 1); /* its own bucket */
    /* 60 per minute: one token a second */
    assert_int_equal(msg_rate_take(r, a, 60, 5, t + 500), 0);
    assert_int_equal(msg_rate_take(r, a, 60, 5, t + 1000), 1);
    assert_int_equal(msg_rate_take(r, a, 60, 5, t + 1000), 0);
    /* never more than the burst, however long the pause */
    for (int i = 0; i < 5; i++)
        assert_int_equal(msg_rate_take(r, a, 60, 5, t + 3600000), 1);
    assert_int_equal(msg_rate_take(r, a, 60, 5, t + 3600000), 0);
    /* n at once: all or nothing */
    assert_int_equal(msg_rate_take_n(r, b, 60, 5, 5, t), 0);
    assert_int_equal(msg_rate_take_n(r, b, 60, 5, 4, t), 1);
    assert_int_equal(msg_rate_take(r, b, 60, 5, t), 0);
    msg_rate_destroy(&r);
    assert_null(r);
    msg_rate_destroy(&r);
}

static void test_bounded_table(void **state)
{
    (void)state;
    /* a tiny table: many keys, the limited one is not forgotten while the
     * others are full buckets */
    msg_rate_t *r = msg_rate_new(8);
    uint8_t hot[MSG_HASH] = {0};
    int64_t t = 5000;
    assert_int_equal(msg_rate_take_n(r, hot, 60, 3, 3, t), 1);
    for (int i = 1; i < 200; i++) {
        uint8_t k[MSG_HASH] = {0};
        memcpy(k + 8, &i, sizeof i);
        k[0] = (uint8_t)i;
        (void)msg_rate_take(r, k, 60, 3, t);
    }
    assert_int_equal(msg_rate_take(r, hot, 60, 3, t), 0);
    /* keys of different tags never share a bucket */
    uint8_t p[MSG_HASH] = {9}, q[MSG_HASH] = {8}, k1[MSG_HASH], k2[MSG_HASH], k3[MSG_HASH];
    msg_rate_key(k1, "send", p, NULL);
    msg_rate_key(k2, "claim", p, NULL);
    msg_rate_key(k3, "pair", p, q);
    assert_memory_not_equal(k1, k2, MSG_HASH);
    assert_memory_not_equal(k1, k3, MSG_HASH);
    msg_rate_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_and_refill),
        cmocka_unit_test(test_bounded_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
