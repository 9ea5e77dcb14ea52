/*
 * test_civil_time.c - proto/civil_time.c: Europe/Paris offsets and
 * midnights around the DST changes, the short and the long day, dates
 * across the year boundary, and the civil day count over four centuries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/civil_time.h"

static int64_t s_utc(int64_t y, unsigned m, unsigned d, int hh, int mi)
{
    return civil_days_from_date(y, m, d) * CIVIL_DAY_MS + (int64_t)hh * 3600000 + (int64_t)mi * 60000;
}

static void test_paris_time(void **state)
{
    (void)state;
    /* 2024: CEST from 31 March 01:00Z to 27 October 01:00Z */
    assert_int_equal(civil_paris_offset_ms(s_utc(2024, 3, 31, 0, 59)), 3600000);
    assert_int_equal(civil_paris_offset_ms(s_utc(2024, 3, 31, 1, 0)), 7200000);
    assert_int_equal(civil_paris_offset_ms(s_utc(2024, 10, 27, 0, 59)), 7200000);
    assert_int_equal(civil_paris_offset_ms(s_utc(2024, 10, 27, 1, 0)), 3600000);
    assert_int_equal(civil_paris_offset_ms(s_utc(2025, 3, 30, 1, 0)), 7200000);
    assert_int_equal(civil_paris_offset_ms(s_utc(2025, 3, 29, 12, 0)), 3600000);
    /* midnights */
    assert_int_equal(civil_paris_midnight(2024, 3, 31), s_utc(2024, 3, 30, 23, 0));
    assert_int_equal(civil_paris_midnight(2024, 4, 1), s_utc(2024, 3, 31, 22, 0));
    assert_int_equal(civil_paris_midnight(2024, 10, 27), s_utc(2024, 10, 26, 22, 0));
    assert_int_equal(civil_paris_midnight(2024, 10, 28), s_utc(2024, 10, 27, 23, 0));
    /* the short and the long day */
    assert_int_equal(civil_paris_next_midnight(civil_paris_midnight(2024, 3, 31)) -
                         civil_paris_midnight(2024, 3, 31),
                     23 * 3600000LL);
    assert_int_equal(civil_paris_next_midnight(civil_paris_midnight(2024, 10, 27)) -
                         civil_paris_midnight(2024, 10, 27),
                     25 * 3600000LL);
    assert_true(civil_paris_is_midnight(s_utc(2024, 12, 31, 23, 0)));
    assert_false(civil_paris_is_midnight(s_utc(2024, 12, 31, 0, 0)));
    /* year boundary: 23:30Z on 31 December is already next year in Paris */
    int64_t y;
    unsigned m, d;
    civil_paris_date(s_utc(2024, 12, 31, 23, 30), &y, &m, &d);
    assert_int_equal(y, 2025);
    assert_int_equal(m, 1);
    assert_int_equal(d, 1);
    civil_paris_date(s_utc(2024, 2, 29, 22, 59), &y, &m, &d);
    assert_int_equal(m, 2);
    assert_int_equal(d, 29);
    /* civil round trip over four centuries */
    for (int64_t z = -200000; z < 200000; z += 37) {
        civil_date_from_days(z, &y, &m, &d);
        assert_int_equal(civil_days_from_date(y, m, d), z);
    }
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paris_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
