/* test_x3dh.c - clients/e2e/x3dh.c: X3DH as initiator and responder, with
 * each kind of bundle, and what either side refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "test/unit/e2e/e2e_fixture.h"

static void s_handshake(fx_pair_t *p, const e2e_prekey_t *opk)
{
    uint8_t m[FX_MSG_MAX], plain[FX_MSG_MAX];
    size_t plen;
    e2e_bundle_t b;
    e2e_message_info_t info;
    assert_int_equal(e2e_bundle_make(&b, &p->bob, &p->spk, opk), ES_OK);
    assert_int_equal(e2e_x3dh_initiate(&p->a, &p->alice, &b), ES_OK);
    size_t len = fx_send(p->a, "bonjour", m);
    assert_int_equal(e2e_message_info(&info, m, len), ES_OK);
    assert_true(info.initial);
    assert_memory_equal(info.ik, p->alice.sign_pk, 32);
    assert_int_equal(info.spk_id, p->spk.id);
    assert_int_equal(info.opk_kind, opk ? opk->kind : E2E_PREKEY_NONE);
    assert_int_equal(info.opk_id, opk ? opk->id : 0);
    assert_int_equal(e2e_x3dh_respond(&p->b, &p->bob, &p->spk, opk, m, len, plain, sizeof plain,
                                      &plen),
                     ES_OK);
    assert_int_equal(plen, 7);
    assert_memory_equal(plain, "bonjour", 7);
    uint8_t ik[32];
    e2e_session_peer_identity(p->b, ik);
    assert_memory_equal(ik, p->alice.sign_pk, 32);
    e2e_session_local_identity(p->b, ik);
    assert_memory_equal(ik, p->bob.sign_pk, 32);
    e2e_session_peer_identity(p->a, ik);
    assert_memory_equal(ik, p->bob.sign_pk, 32);
    /* and back */
    char text[FX_MSG_MAX];
    len = fx_send(p->b, "reçu", m);
    assert_int_equal(fx_recv(p->a, m, len, text), ES_OK);
    assert_string_equal(text, "reçu");
}

static void test_each_bundle(void **state)
{
    (void)state;
    fx_pair_t p;
    fx_keys(&p);
    s_handshake(&p, &p.opk);
    fx_close(&p);
    fx_keys(&p);
    s_handshake(&p, &p.lrk);
    fx_close(&p);
    fx_keys(&p);
    s_handshake(&p, NULL);
    fx_close(&p);
}

static void test_initial_until_reply(void **state)
{
    (void)state;
    fx_pair_t p;
    uint8_t m[3][FX_MSG_MAX], plain[FX_MSG_MAX];
    size_t len[3], plen;
    char text[FX_MSG_MAX];
    e2e_message_info_t info;
    fx_keys(&p);
    assert_int_equal(e2e_x3dh_initiate(&p.a, &p.alice, &p.bundle), ES_OK);
    len[0] = fx_send(p.a, "un", m[0]);
    len[1] = fx_send(p.a, "deux", m[1]);
    assert_int_equal(e2e_message_info(&info, m[1], len[1]), ES_OK);
    assert_true(info.initial);
    /* the second arrives first: it opens the session as well */
    assert_int_equal(e2e_x3dh_respond(&p.b, &p.bob, &p.spk, &p.opk, m[1], len[1], plain,
                                      sizeof plain, &plen),
                     ES_OK);
    assert_int_equal(fx_recv(p.b, m[0], len[0], text), ES_OK);
    assert_string_equal(text, "un");
    assert_int_equal(fx_recv(p.b, m[0], len[0], text), ES_ALREADY_EXISTS);
    /* the responder never sends initial messages; the initiator stops after a reply */
    len[2] = fx_send(p.b, "trois", m[2]);
    assert_int_equal(e2e_message_info(&info, m[2], len[2]), ES_OK);
    assert_false(info.initial);
    assert_int_equal(fx_recv(p.a, m[2], len[2], text), ES_OK);
    len[0] = fx_send(p.a, "quatre", m[0]);
    assert_int_equal(e2e_message_info(&info, m[0], len[0]), ES_OK);
    assert_false(info.initial);
    assert_int_equal(fx_recv(p.b, m[0], len[0], text), ES_OK);
    /* an initial message to the initiator */
    assert_int_equal(fx_recv(p.a, m[1], len[1], text), ES_FAILED_PRECONDITION);
    fx_close(&p);
}

static void test_new_x3dh_on_old_session(void **state)
{
    (void)state;
    fx_pair_t p;
    uint8_t m[FX_MSG_MAX];
    char text[FX_MSG_MAX];
    fx_open(&p);
    /* alice starts over (lost her state): bob's session refuses her new
     * initial messages as another X3DH; the client then responds afresh */
    e2e_session_t *again = NULL;
    e2e_bundle_t b;
    assert_int_equal(e2e_bundle_make(&b, &p.bob, &p.spk, NULL), ES_OK);
    assert_int_equal(e2e_x3dh_initiate(&again, &p.alice, &b), ES_OK);
    size_t len = fx_send(again, "c'est encore moi", m);
    assert_int_equal(fx_recv(p.b, m, len, text), ES_FAILED_PRECONDITION);
    e2e_session_t *fresh = NULL;
    size_t plen;
    assert_int_equal(e2e_x3dh_respond(&fresh, &p.bob, &p.spk, NULL, m, len, (uint8_t *)text,
                                      sizeof text, &plen),
                     ES_OK);
    e2e_session_destroy(&fresh);
    e2e_session_destroy(&again);
    fx_close(&p);
}

static void test_refusals(void **state)
{
    (void)state;
    fx_pair_t p;
    uint8_t m[FX_MSG_MAX], plain[FX_MSG_MAX];
    size_t plen;
    e2e_session_t *s = (e2e_session_t *)&p; /* must come back NULL */
    fx_keys(&p);

    /* bad prekey signature */
    e2e_bundle_t b = p.bundle;
    b.spk_sig[5] ^= 1;
    assert_int_equal(e2e_x3dh_initiate(&s, &p.alice, &b), ES_UNAUTHENTICATED);
    assert_null(s);
    /* a signed low-order prekey: the DH fails */
    b = p.bundle;
    memset(b.spk, 0, 32);
    uint8_t sm[sizeof E2E_LABEL_PREKEY - 1 + 5 + 32] = {0};
    memcpy(sm, E2E_LABEL_PREKEY, sizeof E2E_LABEL_PREKEY - 1);
    sm[sizeof E2E_LABEL_PREKEY - 1] = E2E_PREKEY_SIGNED;
    sm[sizeof E2E_LABEL_PREKEY - 1 + 4] = (uint8_t)b.spk_id;
    crypto_sign_detached(b.spk_sig, NULL, sm, sizeof sm, p.bob.sign_sk);
    assert_int_equal(e2e_bundle_verify(&b), ES_OK);
    assert_int_equal(e2e_x3dh_initiate(&s, &p.alice, &b), ES_INVALID_ARGUMENT);
    assert_null(s);
    assert_int_equal(e2e_x3dh_initiate(NULL, &p.alice, &p.bundle), ES_INVALID_ARGUMENT);

    assert_int_equal(e2e_x3dh_initiate(&p.a, &p.alice, &p.bundle), ES_OK);
    size_t len = fx_send(p.a, "secret", m);
    s = (e2e_session_t *)&p;
    /* prekeys other than the ones named */
    assert_int_equal(
        e2e_x3dh_respond(&s, &p.bob, &p.spk, NULL, m, len, plain, sizeof plain, &plen),
        ES_INVALID_ARGUMENT);
    assert_null(s);
    assert_int_equal(
        e2e_x3dh_respond(&s, &p.bob, &p.spk, &p.lrk, m, len, plain, sizeof plain, &plen),
        ES_INVALID_ARGUMENT);
    assert_int_equal(
        e2e_x3dh_respond(&s, &p.bob, &p.lrk, &p.opk, m, len, plain, sizeof plain, &plen),
        ES_INVALID_ARGUMENT);
    /* a prekey with the right id but the wrong secret, or another device */
    e2e_prekey_t wrong = p.opk;
    wrong.sk[3] ^= 1;
    assert_int_equal(
        e2e_x3dh_respond(&s, &p.bob, &p.spk, &wrong, m, len, plain, sizeof plain, &plen),
        ES_UNAUTHENTICATED);
    assert_int_equal(
        e2e_x3dh_respond(&s, &p.alice, &p.spk, &p.opk, m, len, plain, sizeof plain, &plen),
        ES_UNAUTHENTICATED);
    /* any byte tampered */
    for (size_t i = 0; i < len; i++) {
        m[i] ^= 0x40;
        int rc = e2e_x3dh_respond(&s, &p.bob, &p.spk, &p.opk, m, len, plain, sizeof plain, &plen);
        assert_int_not_equal(rc, ES_OK);
        assert_null(s);
        m[i] ^= 0x40;
    }
    /* not an initial message */
    assert_int_equal(
        e2e_x3dh_respond(&s, &p.bob, &p.spk, &p.opk, m, len, plain, sizeof plain, &plen), ES_OK);
    uint8_t r[FX_MSG_MAX];
    size_t rlen = fx_send(s, "réponse", r);
    e2e_session_t *t = NULL;
    assert_int_equal(
        e2e_x3dh_respond(&t, &p.alice, &p.spk, &p.opk, r, rlen, plain, sizeof plain, &plen),
        ES_INVALID_ARGUMENT);
    e2e_session_destroy(&s);
    fx_close(&p);
}

static void test_secret_agrees(void **state)
{
    (void)state;
    fx_pair_t p;
    uint8_t ek[32], dhs[32], sk1[32], sk2[32];
    fx_keys(&p);
    randombytes_buf(ek, 32);
    randombytes_buf(dhs, 32);
    assert_int_equal(e2e_x3dh_secret_initiator(sk1, &p.alice, &p.bundle, ek), ES_OK);
    assert_int_equal(e2e_x3dh_secret_initiator(sk2, &p.alice, &p.bundle, ek), ES_OK);
    assert_memory_equal(sk1, sk2, 32);
    e2e_bundle_t b;
    assert_int_equal(e2e_bundle_make(&b, &p.bob, &p.spk, NULL), ES_OK);
    assert_int_equal(e2e_x3dh_secret_initiator(sk2, &p.alice, &b, ek), ES_OK);
    assert_memory_not_equal(sk1, sk2, 32); /* the one-time prekey counts */
    fx_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_bundle),
        cmocka_unit_test(test_initial_until_reply),
        cmocka_unit_test(test_new_x3dh_on_old_session),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_secret_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
