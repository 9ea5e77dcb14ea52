/* Tests of proto/ins.c: INS normalisation and key check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/ins.h"
#include "proto/status.h"

/* REFERENCE.md section 5.1 vectors */
static const char *s_valid[] = {
    "295109912611193", /* python-stdnum doctest */
    "253072B07300470", /* Corsica 2B */
    "253072A07300443", /* Corsica 2A */
    "255081416802538", /* betagouv/nir_validate README */
    "279035121518989", /* ANS INS-NIR test example */
};

static void test_reference_vectors(void **state)
{
    (void)state;
    char out[INS_LEN + 1];
    for (size_t i = 0; i < sizeof s_valid / sizeof s_valid[0]; i++) {
        memset(out, 'x', sizeof out);
        assert_int_equal(ins_validate(s_valid[i], out), 0);
        assert_string_equal(out, s_valid[i]);
    }
    assert_int_equal(ins_validate("295109912611199", out), ES_INVALID_ARGUMENT); /* bad key */
}

static void test_every_wrong_key_refused(void **state)
{
    (void)state;
    char s[INS_LEN + 1];
    /* for each valid vector, only its own key passes */
    for (size_t i = 0; i < sizeof s_valid / sizeof s_valid[0]; i++) {
        int ok = 0;
        for (int k = 0; k < 100; k++) {
            memcpy(s, s_valid[i], INS_LEN + 1);
            s[13] = (char)('0' + k / 10);
            s[14] = (char)('0' + k % 10);
            if (ins_validate(s, NULL) == 0) {
                ok++;
                assert_memory_equal(s, s_valid[i], INS_LEN);
            }
        }
        assert_int_equal(ok, 1);
    }
}

static void test_corsica_letters(void **state)
{
    (void)state;
    char out[INS_LEN + 1];
    /* 2A vector with the 2B letter (or the other way) fails the key */
    assert_int_equal(ins_validate("253072B07300443", out), ES_INVALID_ARGUMENT);
    assert_int_equal(ins_validate("253072A07300470", out), ES_INVALID_ARGUMENT);
    /* lower-case letters are upper-cased */
    assert_int_equal(ins_validate("253072b07300470", out), 0);
    assert_string_equal(out, "253072B07300470");
    assert_int_equal(ins_validate("253072a07300443", out), 0);
    assert_string_equal(out, "253072A07300443");
    /* other letters in the department, or a letter with another first digit */
    assert_int_equal(ins_validate("253072C07300470", out), ES_INVALID_ARGUMENT);
    assert_int_equal(ins_validate("253073A07300443", out), ES_INVALID_ARGUMENT);
}

static void test_spaces_ignored(void **state)
{
    (void)state;
    char out[INS_LEN + 1];
    assert_int_equal(ins_validate("2 95 10 99 126 111 93", out), 0);
    assert_string_equal(out, "295109912611193");
    assert_int_equal(ins_validate("  295109912611193  ", out), 0);
    assert_string_equal(out, "295109912611193");
    assert_int_equal(ins_validate("2 53 07 2b 073 004 70", out), 0);
    assert_string_equal(out, "253072B07300470");
    /* tabs or other separators are not spaces */
    assert_int_equal(ins_validate("2\t95109912611193", out), ES_INVALID_ARGUMENT);
    assert_int_equal(ins_validate("2-95109912611193", out), ES_INVALID_ARGUMENT);
}

static void test_wrong_length(void **state)
{
    (void)state;
    char out[INS_LEN + 1];
    assert_int_equal(ins_validate("", out), ES_INVALID_ARGUMENT);
    assert_int_equal(ins_validate("   ", out), ES_INVALID_ARGUMENT);
    assert_int_equal(ins_validate("29510991261119", out), ES_INVALID_ARGUMENT);   /* 14 */
    assert_int_equal(ins_validate("2951099126111930", out), ES_INVALID_ARGUMENT); /* 16 */
    assert_int_equal(ins_validate("2951099126111", out), ES_INVALID_ARGUMENT);    /* no key */
    assert_int_equal(ins_validate(NULL, out), ES_INVALID_ARGUMENT);
    char longer[200];
    memset(longer, '1', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(ins_validate(longer, out), ES_INVALID_ARGUMENT);
}

static void test_letters_elsewhere(void **state)
{
    (void)state;
    char s[INS_LEN + 1];
    for (int pos = 0; pos < INS_LEN; pos++) {
        if (pos == 6)
            continue; /* the Corsica letter position, tested above */
        memcpy(s, "295109912611193", INS_LEN + 1);
        s[pos] = 'A';
        assert_int_equal(ins_validate(s, NULL), ES_INVALID_ARGUMENT);
        s[pos] = 'b';
        assert_int_equal(ins_validate(s, NULL), ES_INVALID_ARGUMENT);
    }
    /* non-ASCII bytes */
    assert_int_equal(ins_validate("29510991261119\xc3\xa9", NULL), ES_INVALID_ARGUMENT);
}

static void test_first_digit(void **state)
{
    (void)state;
    char s[INS_LEN + 1];
    /* Only 1 and 2 are accepted as the first character. Recompute a valid key
     * for each first digit so only the first-digit rule can refuse it. */
    for (int d = 0; d <= 9; d++) {
        memcpy(s, "195109912611100", INS_LEN + 1);
        s[0] = (char)('0' + d);
        uint64_t body = 0;
        for (int i = 0; i < 13; i++)
            body = body * 10 + (uint64_t)(s[i] - '0');
        unsigned key = 97u - (unsigned)(body % 97u);
        s[13] = (char)('0' + key / 10);
        s[14] = (char)('0' + key % 10);
        int rc = ins_validate(s, NULL);
        if (d == 1 || d == 2)
            assert_int_equal(rc, 0);
        else
            assert_int_equal(rc, ES_INVALID_ARGUMENT);
    }
}

static void test_normalise(void **state)
{
    (void)state;
    char out[INS_LEN + 1];
    assert_int_equal(ins_normalise("ab cd ef gh ij klm no", out), 0);
    assert_string_equal(out, "ABCDEFGHIJKLMNO");
    assert_int_equal(ins_normalise("abc", out), ES_INVALID_ARGUMENT);
    assert_int_equal(ins_normalise("295109912611193!", out), ES_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_vectors), cmocka_unit_test(test_every_wrong_key_refused),
        cmocka_unit_test(test_corsica_letters),   cmocka_unit_test(test_spaces_ignored),
        cmocka_unit_test(test_wrong_length),      cmocka_unit_test(test_letters_elsewhere),
        cmocka_unit_test(test_first_digit),       cmocka_unit_test(test_normalise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
