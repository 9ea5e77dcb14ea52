/* Tests of proto/rpps.c: 11 digits, no check digit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/rpps.h"
#include "proto/status.h"

static void test_valid(void **state)
{
    (void)state;
    /* ANS example / test values; they fail Luhn and must still pass */
    assert_int_equal(rpps_validate("10002673899"), 0);
    assert_int_equal(rpps_validate("10100050075"), 0);
    assert_int_equal(rpps_validate("11102058236"), 0);
    assert_int_equal(rpps_validate("00000000000"), 0);
}

static void test_invalid(void **state)
{
    (void)state;
    assert_int_equal(rpps_validate(NULL), ES_INVALID_ARGUMENT);
    assert_int_equal(rpps_validate(""), ES_INVALID_ARGUMENT);
    assert_int_equal(rpps_validate("1000267389"), ES_INVALID_ARGUMENT);   /* 10 */
    assert_int_equal(rpps_validate("100026738990"), ES_INVALID_ARGUMENT); /* 12 */
    assert_int_equal(rpps_validate("1000267389A"), ES_INVALID_ARGUMENT);
    assert_int_equal(rpps_validate("1000 267389"), ES_INVALID_ARGUMENT);
    assert_int_equal(rpps_validate(" 10002673899"), ES_INVALID_ARGUMENT);
    assert_int_equal(rpps_validate("10002673899 "), ES_INVALID_ARGUMENT);
    assert_int_equal(rpps_validate("-1002673899"), ES_INVALID_ARGUMENT);
    assert_int_equal(rpps_validate("8100026738990"), ES_INVALID_ARGUMENT); /* idNatPs form */
    assert_int_equal(rpps_validate("１0002673899"), ES_INVALID_ARGUMENT);  /* full-width 1 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
