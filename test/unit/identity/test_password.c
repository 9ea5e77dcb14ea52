/*
 * test_password.c - services/identity/password.c: Argon2id hashes in PHC
 * form, verification, and what is refused (wrong password, malformed or
 * unterminated hash, NULLs). Cost "min" (ESPACE_PWHASH) except where the
 * cost itself is checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/status.h"
#include "services/identity/password.h"

static int s_setup(void **state)
{
    (void)state;
    setenv("ESPACE_PWHASH", "min", 1);
    return sodium_init() < 0 ? -1 : 0;
}

static void test_hash_and_verify(void **state)
{
    (void)state;
    char h[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];
    const char *pw = "correct horse battery";
    assert_int_equal(password_hash(pw, strlen(pw), h), 0);
    assert_int_equal(strncmp(h, "$argon2id$", 10), 0);
    assert_int_equal(password_verify(h, pw, strlen(pw)), 0);
    /* salted: the same password hashes differently */
    assert_int_equal(password_hash(pw, strlen(pw), h2), 0);
    assert_string_not_equal(h, h2);
    assert_int_equal(password_verify(h2, pw, strlen(pw)), 0);
    /* len counts, not the NUL: a prefix is another password */
    assert_int_equal(password_verify(h, pw, strlen(pw) - 1), ES_UNAUTHENTICATED);
    assert_int_equal(password_verify(h, "correct horse batterz", strlen(pw)),
                     ES_UNAUTHENTICATED);
    assert_int_equal(password_verify(h, "", 0), ES_UNAUTHENTICATED);
    /* the cost recorded in the hash is the one used to verify */
    assert_int_equal(setenv("ESPACE_PWHASH", "interactive", 1), 0);
    assert_int_equal(password_verify(h, pw, strlen(pw)), 0);
    assert_int_equal(setenv("ESPACE_PWHASH", "min", 1), 0);
}

static void test_refused(void **state)
{
    (void)state;
    char h[PASSWORD_HASH_MAX], bad[PASSWORD_HASH_MAX + 8];
    const char *pw = "correct horse battery";
    assert_int_equal(password_hash(pw, strlen(pw), h), 0);
    assert_int_equal(password_verify(NULL, pw, strlen(pw)), ES_UNAUTHENTICATED);
    assert_int_equal(password_verify(h, NULL, 0), ES_UNAUTHENTICATED);
    assert_int_equal(password_verify("", pw, strlen(pw)), ES_UNAUTHENTICATED);
    assert_int_equal(password_verify("$argon2id$garbage", pw, strlen(pw)), ES_UNAUTHENTICATED);
    /* a tampered hash */
    snprintf(bad, sizeof bad, "%s", h);
    size_t n = strlen(bad);
    bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(password_verify(bad, pw, strlen(pw)), ES_UNAUTHENTICATED);
    /* a hash without a NUL within PASSWORD_HASH_MAX bytes */
    memset(bad, 'a', sizeof bad - 1);
    bad[sizeof bad - 1] = '\0';
    assert_int_equal(password_verify(bad, pw, strlen(pw)), ES_UNAUTHENTICATED);
    assert_int_equal(password_hash(NULL, 0, h), ES_INVALID_ARGUMENT);
    assert_int_equal(password_hash(pw, strlen(pw), NULL), ES_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_and_verify),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
