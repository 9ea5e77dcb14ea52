/* test_session.c - clients/e2e/session.c: serialization (a session kept
 * on disk and resumed), its checks, destruction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "test/unit/e2e/e2e_fixture.h"

#define S_STATE_MAX 4096 /* states of these tests: a few skipped keys */

static size_t s_save(const e2e_session_t *s, uint8_t *buf)
{
    size_t len;
    assert_int_equal(e2e_session_serialize(s, buf, S_STATE_MAX, &len), ES_OK);
    assert_int_equal(len, e2e_session_serialized_size(s));
    return len;
}

static void test_round_trip(void **state)
{
    (void)state;
    fx_pair_t p;
    uint8_t m[4][FX_MSG_MAX], buf[S_STATE_MAX], again[S_STATE_MAX];
    size_t len[4];
    char text[FX_MSG_MAX];
    fx_open(&p);
    for (int i = 0; i < 4; i++)
        len[i] = fx_send(p.a, "à garder", m[i]);
    assert_int_equal(fx_recv(p.b, m[3], len[3], text), ES_OK); /* 3 skipped keys */
    size_t blen = s_save(p.b, buf);

    e2e_session_t *r = NULL;
    assert_int_equal(e2e_session_deserialize(&r, buf, blen), ES_OK);
    assert_int_equal(s_save(r, again), blen);
    assert_memory_equal(buf, again, blen);
    /* the restored copy carries on exactly like the original */
    assert_int_equal(fx_recv(r, m[1], len[1], text), ES_OK);
    assert_int_equal(fx_recv(p.b, m[1], len[1], text), ES_OK);
    assert_int_equal(fx_recv(r, m[1], len[1], text), ES_ALREADY_EXISTS);
    uint8_t x[FX_MSG_MAX];
    size_t xlen = fx_send(r, "réponse", x);
    assert_int_equal(fx_recv(p.a, x, xlen, text), ES_OK);
    assert_string_equal(text, "réponse");
    uint8_t ik[32];
    e2e_session_peer_identity(r, ik);
    assert_memory_equal(ik, p.alice.sign_pk, 32);
    e2e_session_destroy(&r);
    assert_null(r);
    e2e_session_destroy(&r);
    e2e_session_destroy(NULL);

    assert_int_equal(e2e_session_serialize(p.b, buf, e2e_session_serialized_size(p.b) - 1,
                                           &blen),
                     ES_INVALID_ARGUMENT);
    fx_close(&p);
}

static int s_load(const uint8_t *buf, size_t len)
{
    e2e_session_t *r = (e2e_session_t *)&len; /* must come back NULL on error */
    int rc = e2e_session_deserialize(&r, buf, len);
    if (rc != ES_OK)
        assert_null(r);
    e2e_session_destroy(&r);
    return rc;
}

static void test_rejects(void **state)
{
    (void)state;
    fx_pair_t p;
    uint8_t m[2][FX_MSG_MAX], buf[S_STATE_MAX], bad[S_STATE_MAX];
    size_t len[2];
    char text[FX_MSG_MAX];
    fx_open(&p);
    len[0] = fx_send(p.a, "un", m[0]);
    len[1] = fx_send(p.a, "deux", m[1]);
    assert_int_equal(fx_recv(p.b, m[1], len[1], text), ES_OK); /* one skipped key */
    size_t blen = s_save(p.b, buf);
    assert_int_equal(s_load(buf, blen), ES_OK);
    /* every truncation and an extra byte */
    for (size_t l = 0; l < blen; l++)
        assert_int_equal(s_load(buf, l), ES_INVALID_ARGUMENT);
    memcpy(bad, buf, blen);
    bad[blen] = 0;
    assert_int_equal(s_load(bad, blen + 1), ES_INVALID_ARGUMENT);
    assert_int_equal(s_load(NULL, blen), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_session_deserialize(NULL, buf, blen), ES_INVALID_ARGUMENT);
    /* fields (offsets from docs/e2e.md "Session state") */
    static const struct {
        size_t off;
        uint8_t x;
    } flips[] = {
        {0, 1},      /* format version */
        {1, 0x40},   /* unknown flag */
        {1, 0x02},   /* X3DH pending on the responder */
        {130, 1},    /* dhs secret no longer matches its public key */
        {259, 0x20}, /* ns above E2E_MAX_CHAIN */
        {306, 9},    /* opk kind */
    };
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        memcpy(bad, buf, blen);
        bad[flips[i].off] ^= flips[i].x;
        assert_int_equal(s_load(bad, blen), ES_INVALID_ARGUMENT);
    }
    /* a skipped-key count beyond E2E_MAX_SKIPPED */
    size_t count_at = blen - E2E_SKIPPED_BYTES - 4;
    memcpy(bad, buf, blen);
    bad[count_at + 2] = 0xff;
    assert_int_equal(s_load(bad, blen), ES_INVALID_ARGUMENT);
    /* a past chain slot set beyond nprev */
    memcpy(bad, buf, blen);
    bad[count_at - 1] = 1;
    assert_int_equal(s_load(bad, blen), ES_INVALID_ARGUMENT);
    /* random bytes never crash, rarely load */
    for (int i = 0; i < 200; i++) {
        randombytes_buf(bad, blen);
        bad[0] = 1;
        (void)s_load(bad, blen);
    }
    fx_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
