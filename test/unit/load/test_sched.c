/* test_sched.c - clients/load/sched.c: open-loop schedule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clients/load/sched.h"
#include "proto/status.h"

static void test_times(void **state)
{
    (void)state;
    sched_t s;
    assert_int_equal(sched_init(&s, 0, 0, 10), ES_INVALID_ARGUMENT);
    assert_int_equal(sched_init(&s, 0, SCHED_MAX_RATE + 1, 10), ES_INVALID_ARGUMENT);
    assert_int_equal(sched_init(&s, 1000, 3, 10), 0);
    assert_int_equal(sched_time(&s, 0), 1000);
    assert_int_equal(sched_time(&s, 1), 1000 + 333333333);
    assert_int_equal(sched_time(&s, 3), 1000 + 1000000000);
    /* no drift and no overflow far out: 10^12 sends at 10^6/s = 10^6 s */
    assert_int_equal(sched_init(&s, 0, 1000000, 10), 0);
    assert_int_equal(sched_time(&s, 1000000000000ULL), (int64_t)1000000 * 1000000000);
}

/* Sends come out at their time, not earlier; late ones all at once, each
 * with its own scheduled time (no coordinated omission). */
static void test_due(void **state)
{
    (void)state;
    sched_t s;
    int64_t at = -1;
    assert_int_equal(sched_init(&s, 100, 1000, 5), 0); /* every 1 ms from 100 ns */
    assert_int_equal(sched_next_due(&s, 99, &at), 0);
    assert_int_equal(sched_wait_ns(&s, 99), 1);
    assert_int_equal(sched_next_due(&s, 100, &at), 1);
    assert_int_equal(at, 100);
    assert_int_equal(sched_next_due(&s, 100, &at), 0);
    assert_int_equal(sched_wait_ns(&s, 100), 1000000);
    /* the sender stalls 3.5 ms: the 3 overdue sends come at once */
    int64_t now = 100 + 3500000;
    assert_int_equal(sched_lag_ns(&s, now), 2500000);
    int got = 0;
    int64_t times[5];
    while (sched_next_due(&s, now, &at) == 1)
        times[got++] = at;
    assert_int_equal(got, 3);
    assert_int_equal(times[0], 100 + 1000000);
    assert_int_equal(times[2], 100 + 3000000);
    assert_int_equal(sched_lag_ns(&s, now), 0);
    assert_false(sched_done(&s));
    /* the last one, then the run is over */
    assert_int_equal(sched_next_due(&s, 100 + 4000000, &at), 1);
    assert_true(sched_done(&s));
    assert_int_equal(sched_next_due(&s, INT64_MAX, &at), 0);
    assert_int_equal(sched_wait_ns(&s, 0), -1);
    assert_int_equal(sched_lag_ns(&s, INT64_MAX), 0);
}

/* Over one second of 1 ms polls, exactly `rate` sends come out. */
static void test_rate(void **state)
{
    (void)state;
    sched_t s;
    int64_t at;
    assert_int_equal(sched_init(&s, 0, 30000, 1000000), 0);
    uint64_t n = 0;
    for (int64_t now = 0; now < 1000000000; now += 1000000)
        while (sched_next_due(&s, now, &at) == 1)
            n++;
    assert_int_equal(n, 30000 - 30 + 1); /* sends 0..29970 are due by 999 ms */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_due),
        cmocka_unit_test(test_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
