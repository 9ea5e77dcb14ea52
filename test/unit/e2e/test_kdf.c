/* test_kdf.c - clients/e2e/kdf.c: the keyed-BLAKE2b extract/expand and the
 * protocol's derivations (known answers: test/vectors/e2e/kdf.json). */
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

static void test_extract_is_keyed_blake2b(void **state)
{
    (void)state;
    uint8_t salt[32], prk[64], want[64];
    memset(salt, 7, sizeof salt);
    assert_int_equal(e2e_kdf_extract(prk, salt, sizeof salt, (const uint8_t *)"ikm", 3), ES_OK);
    crypto_generichash(want, 64, (const uint8_t *)"ikm", 3, salt, sizeof salt);
    assert_memory_equal(prk, want, 64);
    assert_int_equal(e2e_kdf_extract(prk, salt, 0, NULL, 0), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_kdf_extract(prk, salt, 15, NULL, 0), ES_INVALID_ARGUMENT);
    uint8_t big[65] = {0};
    assert_int_equal(e2e_kdf_extract(prk, big, 65, NULL, 0), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_kdf_extract(prk, big, 64, NULL, 0), ES_OK);
    assert_int_equal(e2e_kdf_extract(prk, big, 64, NULL, 1), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_kdf_extract(NULL, big, 64, NULL, 0), ES_INVALID_ARGUMENT);
}

static void test_expand_blocks(void **state)
{
    (void)state;
    uint8_t prk[64], long_out[200], short_out[64], block[64], msg[64 + 32];
    memset(prk, 3, sizeof prk);
    assert_int_equal(e2e_kdf_expand(long_out, 200, prk, 64, "espace.e2e.v1.t"), ES_OK);
    assert_int_equal(e2e_kdf_expand(short_out, 20, prk, 64, "espace.e2e.v1.t"), ES_OK);
    assert_memory_equal(long_out, short_out, 20); /* a prefix does not depend on the length */
    /* T(1) = BLAKE2b-512(prk, label || 1); T(2) = BLAKE2b-512(prk, T(1) || label || 2) */
    size_t l = strlen("espace.e2e.v1.t");
    memcpy(msg, "espace.e2e.v1.t", l);
    msg[l] = 1;
    crypto_generichash(block, 64, msg, l + 1, prk, 64);
    assert_memory_equal(long_out, block, 64);
    memcpy(msg, block, 64);
    memcpy(msg + 64, "espace.e2e.v1.t", l);
    msg[64 + l] = 2;
    crypto_generichash(block, 64, msg, 64 + l + 1, prk, 64);
    assert_memory_equal(long_out + 64, block, 64);
    /* labels separate domains */
    assert_int_equal(e2e_kdf_expand(short_out, 64, prk, 64, "espace.e2e.v1.u"), ES_OK);
    assert_memory_not_equal(long_out, short_out, 64);
}

static void test_expand_rejects(void **state)
{
    (void)state;
    uint8_t prk[64] = {0}, out[8];
    assert_int_equal(e2e_kdf_expand(out, 0, prk, 64, "x"), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_kdf_expand(out, 255 * 64 + 1, prk, 64, "x"), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_kdf_expand(out, 8, prk, 15, "x"), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_kdf_expand(out, 8, prk, 65, "x"), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_kdf_expand(out, 8, prk, 64, NULL), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_kdf_expand(NULL, 8, prk, 64, "x"), ES_INVALID_ARGUMENT);
}

static void test_derivations(void **state)
{
    (void)state;
    uint8_t rk[32], dh[32], rk2[32], ck[32], ck2[32], mk[32], okm[64], key[32], nonce[24];
    uint8_t prk[64];
    memset(rk, 1, 32);
    memset(dh, 2, 32);
    e2e_kdf_root(rk2, ck, rk, dh);
    e2e_kdf_extract(prk, rk, 32, dh, 32);
    e2e_kdf_expand(okm, 64, prk, 64, E2E_LABEL_ROOT);
    assert_memory_equal(rk2, okm, 32);
    assert_memory_equal(ck, okm + 32, 32);

    e2e_kdf_chain(ck2, mk, ck);
    e2e_kdf_expand(okm, 64, ck, 32, E2E_LABEL_CHAIN);
    assert_memory_equal(ck2, okm, 32);
    assert_memory_equal(mk, okm + 32, 32);
    e2e_kdf_chain(ck, mk, ck); /* in place */
    assert_memory_equal(ck, ck2, 32);

    e2e_kdf_message(key, nonce, mk);
    e2e_kdf_expand(okm, 56, mk, 32, E2E_LABEL_MESSAGE);
    assert_memory_equal(key, okm, 32);
    assert_memory_equal(nonce, okm + 32, 24);

    uint8_t dhs[128], ikm[160], sk[32], sk3[32], salt[32] = {0};
    memset(dhs, 9, sizeof dhs);
    e2e_kdf_x3dh(sk, dhs, 128);
    memset(ikm, 0xff, 32);
    memcpy(ikm + 32, dhs, 128);
    e2e_kdf_extract(prk, salt, 32, ikm, 160);
    e2e_kdf_expand(okm, 32, prk, 64, E2E_LABEL_X3DH);
    assert_memory_equal(sk, okm, 32);
    e2e_kdf_x3dh(sk3, dhs, 96);
    assert_memory_not_equal(sk, sk3, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extract_is_keyed_blake2b),
        cmocka_unit_test(test_expand_blocks),
        cmocka_unit_test(test_expand_rejects),
        cmocka_unit_test(test_derivations),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
