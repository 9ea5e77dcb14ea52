/*
 * test_throttle.c - services/identity/throttle.h: buckets fill, empty and
 * refill at the rule's pace; keys are separate; forgetting refills; the
 * table stays bounded under a flood of keys and keeps the emptiest buckets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/status.h"
#include "services/identity/throttle.h"

static const throttle_rule_t s_rule = {3, 1000}; /* 3 at once, then one a second */

static void test_burst_then_refill(void **state)
{
    (void)state;
    throttle_t *t = NULL;
    uint8_t k[THROTTLE_KEY_BYTES];
    assert_int_equal(throttle_new(64, &t), 0);
    throttle_key(t, "test", "a", 1, NULL, 0, k);
    int64_t now = 1000000;
    assert_int_equal(throttle_wait_ms(t, k, &s_rule, now), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(throttle_take(t, k, &s_rule, now), 0);
    assert_int_equal(throttle_take(t, k, &s_rule, now), ES_RESOURCE_EXHAUSTED);
    assert_int_equal(throttle_wait_ms(t, k, &s_rule, now), 1000);
    assert_int_equal(throttle_wait_ms(t, k, &s_rule, now + 400), 600);
    /* one token back after the refill interval, not two */
    assert_int_equal(throttle_take(t, k, &s_rule, now + 1000), 0);
    assert_int_equal(throttle_take(t, k, &s_rule, now + 1000), ES_RESOURCE_EXHAUSTED);
    /* full again after burst * refill */
    now += 1000 + 3000;
    for (int i = 0; i < 3; i++)
        assert_int_equal(throttle_take(t, k, &s_rule, now), 0);
    assert_int_equal(throttle_take(t, k, &s_rule, now), ES_RESOURCE_EXHAUSTED);
    /* forgetting refills */
    throttle_forget(t, k);
    assert_int_equal(throttle_wait_ms(t, k, &s_rule, now), 0);
    throttle_destroy(&t);
    assert_null(t);
    throttle_destroy(&t); /* idempotent */
}

static void test_keys_are_separate(void **state)
{
    (void)state;
    throttle_t *t = NULL, *t2 = NULL;
    uint8_t a[THROTTLE_KEY_BYTES], b[THROTTLE_KEY_BYTES], c[THROTTLE_KEY_BYTES],
        a2[THROTTLE_KEY_BYTES];
    assert_int_equal(throttle_new(64, &t), 0);
    assert_int_equal(throttle_new(64, &t2), 0);
    throttle_key(t, "test", "ab", 2, "c", 1, a);
    throttle_key(t, "test", "a", 1, "bc", 2, b); /* same bytes, other split */
    throttle_key(t, "other", "ab", 2, "c", 1, c);
    throttle_key(t2, "test", "ab", 2, "c", 1, a2); /* another table's secret */
    assert_memory_not_equal(a, b, THROTTLE_KEY_BYTES);
    assert_memory_not_equal(a, c, THROTTLE_KEY_BYTES);
    assert_memory_not_equal(a, a2, THROTTLE_KEY_BYTES);
    int64_t now = 5000;
    for (int i = 0; i < 3; i++)
        assert_int_equal(throttle_take(t, a, &s_rule, now), 0);
    assert_int_equal(throttle_take(t, a, &s_rule, now), ES_RESOURCE_EXHAUSTED);
    assert_int_equal(throttle_take(t, b, &s_rule, now), 0);
    assert_int_equal(throttle_take(t, c, &s_rule, now), 0);
    throttle_destroy(&t);
    throttle_destroy(&t2);
}

/* A flood of distinct keys into a small table: bounded, and an empty
 * bucket outlives the nearly full ones of its set. */
static void test_bounded_keeps_emptiest(void **state)
{
    (void)state;
    throttle_t *t = NULL;
    uint8_t hot[THROTTLE_KEY_BYTES], k[THROTTLE_KEY_BYTES];
    assert_int_equal(throttle_new(1, &t), 0); /* one set of THROTTLE_WAYS */
    int64_t now = 100000;
    throttle_key(t, "test", "hot", 3, NULL, 0, hot);
    for (int i = 0; i < 3; i++)
        assert_int_equal(throttle_take(t, hot, &s_rule, now), 0);
    for (uint32_t i = 0; i < 10000; i++) {
        throttle_key(t, "test", &i, sizeof i, NULL, 0, k);
        assert_int_equal(throttle_take(t, k, &s_rule, now), 0); /* one token each */
    }
    assert_int_equal(throttle_take(t, hot, &s_rule, now), ES_RESOURCE_EXHAUSTED);
    throttle_destroy(&t);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refill),
        cmocka_unit_test(test_keys_are_separate),
        cmocka_unit_test(test_bounded_keeps_emptiest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
