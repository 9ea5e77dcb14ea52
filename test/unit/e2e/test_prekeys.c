/* test_prekeys.c - clients/e2e/prekeys.c: identities, prekeys, rotation
 * and bundles. */
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

static void test_identity(void **state)
{
    (void)state;
    uint8_t seed[32], x[32];
    e2e_identity_t a, b;
    memset(seed, 42, sizeof seed);
    assert_int_equal(e2e_identity_from_seed(&a, seed), ES_OK);
    assert_int_equal(e2e_identity_from_seed(&b, seed), ES_OK);
    assert_memory_equal(&a, &b, sizeof a);
    /* the X25519 pair is the Ed25519 pair's birational image */
    assert_int_equal(crypto_sign_ed25519_pk_to_curve25519(x, a.sign_pk), 0);
    assert_memory_equal(x, a.dh_pk, 32);
    assert_int_equal(crypto_scalarmult_base(x, a.dh_sk), 0);
    assert_memory_equal(x, a.dh_pk, 32);
    /* from the 64-byte secret the web app keeps */
    assert_int_equal(e2e_identity_from_secret(&b, a.sign_sk), ES_OK);
    assert_memory_equal(&a, &b, sizeof a);
    uint8_t bad[64];
    memcpy(bad, a.sign_sk, 64);
    bad[40] ^= 1;
    assert_int_equal(e2e_identity_from_secret(&b, bad), ES_INVALID_ARGUMENT);
    assert_true(sodium_is_zero((const uint8_t *)&b, sizeof b));
    assert_int_equal(e2e_identity_generate(&b), ES_OK);
    assert_memory_not_equal(a.sign_pk, b.sign_pk, 32);
    e2e_identity_wipe(&a);
    assert_true(sodium_is_zero((const uint8_t *)&a, sizeof a));
    e2e_identity_wipe(NULL);
    assert_int_equal(e2e_identity_from_seed(&a, NULL), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_identity_generate(NULL), ES_INVALID_ARGUMENT);
}

static void test_prekeys(void **state)
{
    (void)state;
    e2e_identity_t id;
    e2e_prekey_t spk, lrk, opk[3];
    assert_int_equal(e2e_identity_generate(&id), ES_OK);
    assert_int_equal(e2e_prekey_generate(&spk, &id, E2E_PREKEY_SIGNED, 5, 1000), ES_OK);
    assert_int_equal(spk.kind, E2E_PREKEY_SIGNED);
    assert_int_equal(spk.id, 5);
    assert_int_equal(e2e_prekey_verify(id.sign_pk, E2E_PREKEY_SIGNED, 5, spk.pk, spk.sig), ES_OK);
    /* the signature binds kind, id and key */
    assert_int_equal(e2e_prekey_verify(id.sign_pk, E2E_PREKEY_LAST_RESORT, 5, spk.pk, spk.sig),
                     ES_UNAUTHENTICATED);
    assert_int_equal(e2e_prekey_verify(id.sign_pk, E2E_PREKEY_SIGNED, 6, spk.pk, spk.sig),
                     ES_UNAUTHENTICATED);
    assert_int_equal(e2e_prekey_verify(id.sign_pk, E2E_PREKEY_ONE_TIME, 5, spk.pk, spk.sig),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_prekey_generate(&lrk, &id, E2E_PREKEY_LAST_RESORT, 6, 1000), ES_OK);
    assert_int_equal(e2e_prekey_verify(id.sign_pk, E2E_PREKEY_LAST_RESORT, 6, lrk.pk, lrk.sig),
                     ES_OK);

    assert_int_equal(e2e_prekeys_generate(opk, 3, 100, 1000), ES_OK);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(opk[i].id, 100 + i);
        assert_int_equal(opk[i].kind, E2E_PREKEY_ONE_TIME);
        assert_true(sodium_is_zero(opk[i].sig, 64));
    }
    assert_memory_not_equal(opk[0].sk, opk[1].sk, 32);
    assert_int_equal(e2e_prekeys_generate(opk, 2, UINT32_MAX, 0), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_prekeys_generate(opk, 1, UINT32_MAX, 0), ES_OK);
    assert_int_equal(e2e_prekeys_generate(NULL, 1, 0, 0), ES_INVALID_ARGUMENT);

    assert_int_equal(e2e_prekey_generate(&spk, NULL, E2E_PREKEY_SIGNED, 1, 0), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_prekey_generate(&spk, &id, E2E_PREKEY_NONE, 1, 0), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_prekey_generate(&spk, &id, (e2e_prekey_kind)9, 1, 0),
                     ES_INVALID_ARGUMENT);
    e2e_prekey_wipe(&lrk);
    assert_true(sodium_is_zero((const uint8_t *)&lrk, sizeof lrk));
}

static void test_rotation(void **state)
{
    (void)state;
    e2e_prekey_t spk = {.kind = E2E_PREKEY_SIGNED, .created_s = 1000};
    assert_false(e2e_prekey_rotation_due(&spk, 1000 + E2E_SPK_ROTATE_S - 1));
    assert_true(e2e_prekey_rotation_due(&spk, 1000 + E2E_SPK_ROTATE_S));
    assert_false(e2e_prekey_expired(&spk, 1000 + E2E_SPK_ROTATE_S + E2E_SPK_KEEP_S - 1));
    assert_true(e2e_prekey_expired(&spk, 1000 + E2E_SPK_ROTATE_S + E2E_SPK_KEEP_S));
    assert_false(e2e_prekey_rotation_due(NULL, 0));
}

static void test_bundle(void **state)
{
    (void)state;
    e2e_identity_t id;
    e2e_prekey_t spk, lrk, opk;
    e2e_bundle_t b, g;
    assert_int_equal(e2e_identity_generate(&id), ES_OK);
    assert_int_equal(e2e_prekey_generate(&spk, &id, E2E_PREKEY_SIGNED, 1, 0), ES_OK);
    assert_int_equal(e2e_prekey_generate(&lrk, &id, E2E_PREKEY_LAST_RESORT, 2, 0), ES_OK);
    assert_int_equal(e2e_prekeys_generate(&opk, 1, 3, 0), ES_OK);

    assert_int_equal(e2e_bundle_make(&b, &id, &spk, NULL), ES_OK);
    assert_int_equal(b.opk_kind, E2E_PREKEY_NONE);
    assert_int_equal(e2e_bundle_verify(&b), ES_OK);
    assert_int_equal(e2e_bundle_make(&b, &id, &spk, &opk), ES_OK);
    assert_int_equal(e2e_bundle_verify(&b), ES_OK);
    assert_int_equal(e2e_bundle_make(&g, &id, &spk, &lrk), ES_OK);
    assert_int_equal(e2e_bundle_verify(&g), ES_OK);
    assert_int_equal(e2e_bundle_make(&b, &id, &lrk, NULL), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_bundle_make(&b, &id, &spk, &spk), ES_INVALID_ARGUMENT);

    /* a bad prekey signature is refused */
    b = g;
    b.spk_sig[0] ^= 1;
    assert_int_equal(e2e_bundle_verify(&b), ES_UNAUTHENTICATED);
    b = g;
    b.spk[31] ^= 1;
    assert_int_equal(e2e_bundle_verify(&b), ES_UNAUTHENTICATED);
    b = g;
    b.opk_sig[63] ^= 1;
    assert_int_equal(e2e_bundle_verify(&b), ES_UNAUTHENTICATED);
    b = g;
    b.opk_id++;
    assert_int_equal(e2e_bundle_verify(&b), ES_UNAUTHENTICATED);
    /* another identity's signature */
    e2e_identity_t other;
    assert_int_equal(e2e_identity_generate(&other), ES_OK);
    b = g;
    memcpy(b.ik, other.sign_pk, 32);
    assert_int_equal(e2e_bundle_verify(&b), ES_UNAUTHENTICATED);
    /* malformed */
    b = g;
    b.opk_kind = 7;
    assert_int_equal(e2e_bundle_verify(&b), ES_INVALID_ARGUMENT);
    b = g;
    b.opk_kind = E2E_PREKEY_ONE_TIME; /* a one-time prekey carries no signature */
    assert_int_equal(e2e_bundle_verify(&b), ES_INVALID_ARGUMENT);
    b = g;
    b.opk_kind = E2E_PREKEY_NONE;
    assert_int_equal(e2e_bundle_verify(&b), ES_INVALID_ARGUMENT);
    b = g;
    memset(b.ik, 0, 32);
    assert_int_equal(e2e_bundle_verify(&b), ES_INVALID_ARGUMENT);
    b.ik[0] = 1; /* the neutral point */
    assert_int_equal(e2e_bundle_verify(&b), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_bundle_verify(NULL), ES_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_prekeys),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_bundle),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
