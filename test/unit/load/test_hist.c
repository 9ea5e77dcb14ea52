/* test_hist.c - clients/load/hist.c: buckets, percentiles, merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "clients/load/hist.h"

/* Every value falls in a bucket whose bounds hold it; buckets are
 * contiguous and each is at most 1/64 of its values wide. */
static void test_buckets(void **state)
{
    (void)state;
    assert_int_equal(hist_bucket_of(0), 0);
    assert_int_equal(hist_bucket_of(HIST_SUB - 1), HIST_SUB - 1);
    assert_int_equal(hist_bucket_of(HIST_SUB), HIST_SUB);
    assert_int_equal(hist_bucket_of(HIST_MAX_VALUE), HIST_BUCKETS - 1);
    assert_int_equal(hist_bucket_of(-5), 0);
    assert_int_equal(hist_bucket_high(HIST_BUCKETS - 1), HIST_MAX_VALUE);
    for (unsigned b = 0; b + 1 < HIST_BUCKETS; b++) {
        assert_int_equal(hist_bucket_high(b) + 1, hist_bucket_low(b + 1));
        int64_t lo = hist_bucket_low(b), hi = hist_bucket_high(b);
        assert_true(hi >= lo);
        assert_true((hi - lo) * 64 <= lo || lo < HIST_SUB);
        assert_int_equal(hist_bucket_of(lo), b);
        assert_int_equal(hist_bucket_of(hi), b);
    }
    uint64_t x = 88172645463325252ULL; /* xorshift: values of every size */
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t v = (int64_t)(x >> (24 + x % 40)) & HIST_MAX_VALUE;
        unsigned b = hist_bucket_of(v);
        assert_true(b < HIST_BUCKETS);
        assert_true(hist_bucket_low(b) <= v && v <= hist_bucket_high(b));
    }
}

static void test_empty(void **state)
{
    (void)state;
    hist_t *h = NULL;
    assert_int_equal(hist_new(&h), 0);
    assert_int_equal(hist_count(h), 0);
    assert_int_equal(hist_percentile(h, 99), 0);
    assert_int_equal(hist_min(h), 0);
    assert_int_equal(hist_max(h), 0);
    assert_true(hist_mean(h) == 0.0);
    hist_destroy(&h);
    assert_null(h);
    hist_destroy(&h); /* idempotent */
}

/* 1..10000 once each: percentiles within 1.6 % above the exact value. */
static void test_percentiles(void **state)
{
    (void)state;
    hist_t *h = NULL;
    assert_int_equal(hist_new(&h), 0);
    for (int64_t v = 1; v <= 10000; v++)
        hist_record(h, v);
    assert_int_equal(hist_count(h), 10000);
    assert_int_equal(hist_min(h), 1);
    assert_int_equal(hist_max(h), 10000);
    assert_true(hist_mean(h) > 5000.49 && hist_mean(h) < 5000.51);
    const double ps[] = {1, 50, 90, 99, 99.9};
    const int64_t exact[] = {100, 5000, 9000, 9900, 9990};
    for (size_t i = 0; i < 5; i++) {
        int64_t got = hist_percentile(h, ps[i]);
        assert_true(got >= exact[i]);
        assert_true((double)got <= (double)exact[i] * 1.016 + 1);
    }
    assert_int_equal(hist_percentile(h, 100), 10000);
    assert_int_equal(hist_percentile(h, 0), 1);
    assert_int_equal(hist_percentile(h, 250), 10000);
    /* small values are exact */
    hist_reset(h);
    hist_record_n(h, 3, 99);
    hist_record(h, 100);
    assert_int_equal(hist_percentile(h, 99), 3);
    assert_int_equal(hist_percentile(h, 99.5), 100);
    hist_destroy(&h);
}

static void test_clamp_and_merge(void **state)
{
    (void)state;
    hist_t *a = NULL, *b = NULL;
    assert_int_equal(hist_new(&a), 0);
    assert_int_equal(hist_new(&b), 0);
    hist_record(a, -7);
    hist_record(a, INT64_MAX);
    assert_int_equal(hist_clamped(a), 1);
    assert_int_equal(hist_min(a), 0);
    assert_int_equal(hist_max(a), HIST_MAX_VALUE);
    for (int i = 0; i < 1000; i++)
        hist_record(b, 2000);
    hist_merge(a, b);
    assert_int_equal(hist_count(a), 1002);
    assert_int_equal(hist_clamped(a), 1);
    int64_t p50 = hist_percentile(a, 50);
    assert_true(p50 >= 2000 && p50 <= 2032);
    assert_int_equal(hist_percentile(a, 100), HIST_MAX_VALUE);
    hist_destroy(&a);
    hist_destroy(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_percentiles),
        cmocka_unit_test(test_clamp_and_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
