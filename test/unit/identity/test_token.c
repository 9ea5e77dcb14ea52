/* Tests of services/identity/token.c: session token sign/verify and key files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/status.h"
#include "services/identity/token.h"

#define NOW 1700000000000LL

typedef struct fixture {
    uint8_t pk[TOKEN_PUBLIC_BYTES];
    uint8_t sk[TOKEN_SECRET_BYTES];
    token_fields_t f;
    char dir[64];
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *x = calloc(1, sizeof *x);
    if (!x || sodium_init() < 0)
        return -1;
    crypto_sign_keypair(x->pk, x->sk);
    x->f.kind = 1;
    for (int i = 0; i < 16; i++) {
        x->f.session_id[i] = (uint8_t)i;
        x->f.device_id[i] = (uint8_t)(0xf0 | i);
    }
    x->f.expires_ms = NOW + 3600000;
    x->f.issued_ms = NOW;
    snprintf(x->f.principal, sizeof x->f.principal, "0123456789abcdef0123456789abcdef");
    snprintf(x->dir, sizeof x->dir, "/tmp/es-token-XXXXXX");
    if (!mkdtemp(x->dir))
        return -1;
    *state = x;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *x = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", x->dir);
    if (system(cmd) != 0)
        return -1;
    free(x);
    return 0;
}

static void test_round_trip(void **state)
{
    fixture_t *x = *state;
    char text[TOKEN_MAX_TEXT];
    token_fields_t got;
    assert_int_equal(token_sign(x->sk, &x->f, text), 0);
    /* base64url alphabet, no padding */
    for (const char *p = text; *p; p++)
        assert_true((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_');
    /* 50 + 32 + 64 = 146 bytes -> 195 chars */
    assert_int_equal(strlen(text), 195);
    assert_int_equal(token_verify(x->pk, text, NOW, &got), 0);
    assert_int_equal(got.kind, 1);
    assert_memory_equal(got.session_id, x->f.session_id, 16);
    assert_memory_equal(got.device_id, x->f.device_id, 16);
    assert_true(got.expires_ms == x->f.expires_ms);
    assert_true(got.issued_ms == x->f.issued_ms);
    assert_string_equal(got.principal, x->f.principal);
    /* an RPPS principal, a professional, the longest principal */
    x->f.kind = 2;
    snprintf(x->f.principal, sizeof x->f.principal, "10002673899");
    assert_int_equal(token_sign(x->sk, &x->f, text), 0);
    assert_int_equal(token_verify(x->pk, text, NOW, &got), 0);
    assert_string_equal(got.principal, "10002673899");
    memset(x->f.principal, 'p', TOKEN_MAX_PRINCIPAL);
    x->f.principal[TOKEN_MAX_PRINCIPAL] = '\0';
    assert_int_equal(token_sign(x->sk, &x->f, text), 0);
    assert_true(strlen(text) < TOKEN_MAX_TEXT);
    assert_int_equal(token_verify(x->pk, text, NOW, NULL), 0);
}

static void test_payload_layout(void **state)
{
    fixture_t *x = *state;
    char text[TOKEN_MAX_TEXT];
    uint8_t bin[TOKEN_MAX_BIN];
    size_t len = 0;
    assert_int_equal(token_sign(x->sk, &x->f, text), 0);
    assert_int_equal(sodium_base642bin(bin, sizeof bin, text, strlen(text), NULL, &len, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    assert_int_equal(len, 50 + 32 + 64);
    assert_int_equal(bin[0], TOKEN_VERSION);
    assert_int_equal(bin[1], 1);
    assert_memory_equal(bin + 2, x->f.session_id, 16);
    assert_memory_equal(bin + 18, x->f.device_id, 16);
    uint64_t exp = 0;
    for (int i = 0; i < 8; i++)
        exp = (exp << 8) | bin[34 + i];
    assert_true(exp == (uint64_t)x->f.expires_ms);
    assert_memory_equal(bin + 50, x->f.principal, 32);
    assert_int_equal(crypto_sign_verify_detached(bin + 82, bin, 82, x->pk), 0);
}

static void test_tampered(void **state)
{
    fixture_t *x = *state;
    char text[TOKEN_MAX_TEXT], bad[TOKEN_MAX_TEXT];
    token_fields_t got;
    assert_int_equal(token_sign(x->sk, &x->f, text), 0);
    size_t n = strlen(text);
    /* change each character (to another base64url character) */
    for (size_t i = 0; i < n; i++) {
        memcpy(bad, text, n + 1);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        int rc = token_verify(x->pk, bad, NOW, &got);
        /* the last character carries 2 unused bits for some lengths; a change
         * there is either refused as non-canonical or must decode the same */
        if (i == n - 1 && rc == 0)
            continue;
        assert_int_equal(rc, ES_UNAUTHENTICATED);
        assert_int_equal(got.kind, 0); /* zeroed on failure */
    }
}

static void test_wrong_key(void **state)
{
    fixture_t *x = *state;
    char text[TOKEN_MAX_TEXT];
    uint8_t pk2[32], sk2[64];
    crypto_sign_keypair(pk2, sk2);
    assert_int_equal(token_sign(x->sk, &x->f, text), 0);
    assert_int_equal(token_verify(pk2, text, NOW, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(token_sign(sk2, &x->f, text), 0);
    assert_int_equal(token_verify(x->pk, text, NOW, NULL), ES_UNAUTHENTICATED);
}

static void test_expired(void **state)
{
    fixture_t *x = *state;
    char text[TOKEN_MAX_TEXT];
    assert_int_equal(token_sign(x->sk, &x->f, text), 0);
    assert_int_equal(token_verify(x->pk, text, x->f.expires_ms - 1, NULL), 0);
    assert_int_equal(token_verify(x->pk, text, x->f.expires_ms, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(token_verify(x->pk, text, x->f.expires_ms + 1000, NULL),
                     ES_UNAUTHENTICATED);
}

static void test_truncated_and_garbage(void **state)
{
    fixture_t *x = *state;
    char text[TOKEN_MAX_TEXT], cut[TOKEN_MAX_TEXT];
    assert_int_equal(token_sign(x->sk, &x->f, text), 0);
    size_t n = strlen(text);
    for (size_t k = 0; k < n; k++) {
        memcpy(cut, text, k);
        cut[k] = '\0';
        assert_int_equal(token_verify(x->pk, cut, NOW, NULL), ES_UNAUTHENTICATED);
    }
    /* appended bytes */
    char longer[TOKEN_MAX_TEXT + 8];
    snprintf(longer, sizeof longer, "%sAAAA", text);
    assert_int_equal(token_verify(x->pk, longer, NOW, NULL), ES_UNAUTHENTICATED);
    /* padding, standard alphabet, spaces, garbage */
    snprintf(longer, sizeof longer, "%s=", text);
    assert_int_equal(token_verify(x->pk, longer, NOW, NULL), ES_UNAUTHENTICATED);
    memcpy(cut, text, n + 1);
    cut[10] = '+';
    assert_int_equal(token_verify(x->pk, cut, NOW, NULL), ES_UNAUTHENTICATED);
    cut[10] = ' ';
    assert_int_equal(token_verify(x->pk, cut, NOW, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(token_verify(x->pk, "!!!!not base64!!!!", NOW, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(token_verify(x->pk, "", NOW, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(token_verify(x->pk, NULL, NOW, NULL), ES_UNAUTHENTICATED);
    char huge[4096];
    memset(huge, 'A', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(token_verify(x->pk, huge, NOW, NULL), ES_UNAUTHENTICATED);
}

/* A well-signed payload with a bad version, kind or principal is refused. */
static void test_signed_but_malformed(void **state)
{
    fixture_t *x = *state;
    uint8_t bin[TOKEN_MAX_BIN];
    char text[TOKEN_MAX_TEXT];
    struct {
        uint8_t version, kind;
        const char *principal;
    } cases[] = {{2, 1, "abc"}, {1, 0, "abc"}, {1, 6, "abc"}, {1, 1, "\xff\xfe"}, {1, 1, ""}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memset(bin, 0, sizeof bin);
        bin[0] = cases[c].version;
        bin[1] = cases[c].kind;
        bin[34] = 0x7f; /* far future expiry */
        size_t plen = strlen(cases[c].principal);
        memcpy(bin + 50, cases[c].principal, plen);
        crypto_sign_detached(bin + 50 + plen, NULL, bin, 50 + plen, x->sk);
        sodium_bin2base64(text, sizeof text, bin, 50 + plen + 64,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        assert_int_equal(token_verify(x->pk, text, NOW, NULL), ES_UNAUTHENTICATED);
    }
}

static void test_sign_refuses_bad_fields(void **state)
{
    fixture_t *x = *state;
    char text[TOKEN_MAX_TEXT];
    token_fields_t f = x->f;
    f.kind = 0;
    assert_int_equal(token_sign(x->sk, &f, text), ES_INVALID_ARGUMENT);
    f = x->f;
    f.principal[0] = '\0';
    assert_int_equal(token_sign(x->sk, &f, text), ES_INVALID_ARGUMENT);
    f = x->f;
    snprintf(f.principal, sizeof f.principal, "\xc3\x28");
    assert_int_equal(token_sign(x->sk, &f, text), ES_INVALID_ARGUMENT);
    f = x->f;
    f.expires_ms = -1;
    assert_int_equal(token_sign(x->sk, &f, text), ES_INVALID_ARGUMENT);
}

static void test_key_files(void **state)
{
    fixture_t *x = *state;
    char path[128], pub[140];
    uint8_t pk[32], sk[64], pk2[32], sk2[64], pk3[32];
    struct stat st;
    snprintf(path, sizeof path, "%s/token.key", x->dir);
    snprintf(pub, sizeof pub, "%s.pub", path);

    assert_int_equal(token_keypair_load(path, 0, pk, sk), ES_NOT_FOUND);
    assert_int_equal(token_public_load(pub, pk3), ES_NOT_FOUND);
    assert_int_equal(token_keypair_load(path, 1, pk, sk), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 64);
    assert_int_equal(stat(pub, &st), 0);
    assert_int_equal(st.st_size, 65); /* 64 hex + newline */
    /* loads the same pair again, and the public file matches */
    assert_int_equal(token_keypair_load(path, 1, pk2, sk2), 0);
    assert_memory_equal(pk, pk2, 32);
    assert_memory_equal(sk, sk2, 64);
    assert_int_equal(token_public_load(pub, pk3), 0);
    assert_memory_equal(pk, pk3, 32);
    /* a token signed with the loaded key verifies with the public file */
    char text[TOKEN_MAX_TEXT];
    assert_int_equal(token_sign(sk, &x->f, text), 0);
    assert_int_equal(token_verify(pk3, text, NOW, NULL), 0);
    /* a missing .pub is rewritten */
    assert_int_equal(unlink(pub), 0);
    assert_int_equal(token_keypair_load(path, 0, pk2, sk2), 0);
    assert_int_equal(token_public_load(pub, pk3), 0);
    assert_memory_equal(pk, pk3, 32);
    /* group-readable secret refused */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(token_keypair_load(path, 1, pk2, sk2), ES_INTERNAL);
    assert_int_equal(chmod(path, 0600), 0);
    /* corrupted secret (public half no longer matches the seed) refused */
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, 40, SEEK_SET);
    fputc(sk[40] ^ 1, fp);
    fclose(fp);
    assert_int_equal(token_keypair_load(path, 0, pk2, sk2), ES_INTERNAL);
    /* wrong size refused */
    assert_int_equal(truncate(path, 32), 0);
    assert_int_equal(token_keypair_load(path, 0, pk2, sk2), ES_INTERNAL);
    /* malformed public file refused */
    fp = fopen(pub, "w");
    assert_non_null(fp);
    fputs("not hex at all\n", fp);
    fclose(fp);
    assert_int_equal(token_public_load(pub, pk3), ES_INTERNAL);
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(sk2, sizeof sk2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_payload_layout, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tampered, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_expired, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_and_garbage, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_signed_but_malformed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sign_refuses_bad_fields, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_key_files, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
