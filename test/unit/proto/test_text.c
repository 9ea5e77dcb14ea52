/* test_text.c - proto/text.c: free text that reads as it is stored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/text.h"

static void test_accepted(void **state)
{
    (void)state;
    size_t n = 99;
    assert_int_equal(text_display_ok(NULL, 0, &n), 1);
    assert_int_equal(n, 0);
    assert_int_equal(text_display_ok("Dr Élise Müller-D’Aubigné", 0, &n), 1);
    assert_int_equal(n, 25); /* code points, not bytes */
    assert_int_equal(text_display_ok("ligne 1\n\tligne 2", 1, &n), 1);
    assert_int_equal(text_display_ok("中文 العربية", 0, NULL), 1); /* right-to-left script itself */
    assert_int_equal(text_display_ok("\xe2\x80\xa7", 0, NULL), 1); /* U+2027, next to U+2028 */
    assert_int_equal(text_display_ok("\xe2\x81\xa5", 0, NULL), 1); /* U+2065, before U+2066 */
    assert_int_equal(text_display_ok("\xc2\xa0", 0, NULL), 1);     /* U+00A0, after C1 */
}

static void test_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "a\nb",             /* newline in a one-line text */
        "a\tb",             /* tab in a one-line text */
        "a\x1b[31mb",       /* terminal escape */
        "a\x7f",            /* DEL */
        "a\xc2\x85",        /* NEL, U+0085 (C1) */
        "a\xc2\x9b" "31m",  /* CSI, U+009B (C1) */
        "a\xe2\x80\xa8",    /* line separator U+2028 */
        "a\xe2\x80\xa9",    /* paragraph separator U+2029 */
        "\xe2\x80\xaeHouse", /* right-to-left override U+202E */
        "\xe2\x80\xaa",     /* U+202A */
        "\xe2\x81\xa6x",    /* left-to-right isolate U+2066 */
        "\xe2\x81\xa9",     /* pop directional isolate U+2069 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(text_display_ok(bad[i], 0, NULL), 0);
    assert_int_equal(text_display_ok("a\x1b", 1, NULL), 0); /* multiline keeps only \n, \t */
    assert_int_equal(text_display_ok("a\r\n", 1, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
