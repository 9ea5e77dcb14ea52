/* test_safety.c - clients/e2e/safety.c: safety numbers. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "clients/e2e/e2e_int.h"

static int s_setup(void **state)
{
    (void)state;
    return sodium_init() < 0;
}

static void test_symmetric_and_shaped(void **state)
{
    (void)state;
    e2e_identity_t a, b, c;
    char ab[E2E_SAFETY_TEXT], ba[E2E_SAFETY_TEXT], ac[E2E_SAFETY_TEXT], other[E2E_SAFETY_TEXT];
    assert_int_equal(e2e_identity_generate(&a), ES_OK);
    assert_int_equal(e2e_identity_generate(&b), ES_OK);
    assert_int_equal(e2e_identity_generate(&c), ES_OK);
    const char *pa = "patient:0123456789abcdef0123456789abcdef", *pb = "rpps:10001234567";
    assert_int_equal(e2e_safety_number(ab, a.sign_pk, pa, b.sign_pk, pb), ES_OK);
    assert_int_equal(e2e_safety_number(ba, b.sign_pk, pb, a.sign_pk, pa), ES_OK);
    assert_string_equal(ab, ba);
    assert_int_equal(strlen(ab), E2E_SAFETY_TEXT - 1);
    for (int i = 0; i < E2E_SAFETY_TEXT - 1; i++)
        assert_true(i % 6 == 5 ? ab[i] == ' ' : isdigit((unsigned char)ab[i]));
    /* another key (a key swapped by a server) gives another number */
    assert_int_equal(e2e_safety_number(ac, a.sign_pk, pa, c.sign_pk, pb), ES_OK);
    assert_string_not_equal(ab, ac);
    /* so does another stable id */
    assert_int_equal(e2e_safety_number(other, a.sign_pk, pa, b.sign_pk, "rpps:10001234568"),
                     ES_OK);
    assert_string_not_equal(ab, other);
}

static void test_rejects(void **state)
{
    (void)state;
    uint8_t k[32] = {1};
    char out[E2E_SAFETY_TEXT], id[E2E_SAFETY_ID_MAX + 2];
    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    assert_int_equal(e2e_safety_number(out, k, id, k, "b"), ES_INVALID_ARGUMENT);
    id[E2E_SAFETY_ID_MAX] = '\0';
    assert_int_equal(e2e_safety_number(out, k, id, k, "b"), ES_OK);
    assert_int_equal(e2e_safety_number(out, k, NULL, k, "b"), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_safety_number(out, NULL, "a", k, "b"), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_safety_number(NULL, k, "a", k, "b"), ES_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symmetric_and_shaped),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
