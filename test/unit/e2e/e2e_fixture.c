/* e2e_fixture.c - see e2e_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "test/unit/e2e/e2e_fixture.h"

void fx_keys(fx_pair_t *p)
{
    assert_true(sodium_init() >= 0);
    memset(p, 0, sizeof *p);
    assert_int_equal(e2e_identity_generate(&p->alice), ES_OK);
    assert_int_equal(e2e_identity_generate(&p->bob), ES_OK);
    assert_int_equal(e2e_prekey_generate(&p->spk, &p->bob, E2E_PREKEY_SIGNED, 1, 1000), ES_OK);
    assert_int_equal(e2e_prekey_generate(&p->lrk, &p->bob, E2E_PREKEY_LAST_RESORT, 2, 1000),
                     ES_OK);
    assert_int_equal(e2e_prekeys_generate(&p->opk, 1, 100, 1000), ES_OK);
    assert_int_equal(e2e_bundle_make(&p->bundle, &p->bob, &p->spk, &p->opk), ES_OK);
}

void fx_open(fx_pair_t *p)
{
    uint8_t m[FX_MSG_MAX], plain[FX_MSG_MAX];
    size_t plen;
    fx_keys(p);
    assert_int_equal(e2e_x3dh_initiate(&p->a, &p->alice, &p->bundle), ES_OK);
    size_t len = fx_send(p->a, "hello", m);
    assert_int_equal(e2e_x3dh_respond(&p->b, &p->bob, &p->spk, &p->opk, m, len, plain,
                                      sizeof plain, &plen),
                     ES_OK);
    assert_int_equal(plen, 5);
    assert_memory_equal(plain, "hello", 5);
}

void fx_close(fx_pair_t *p)
{
    e2e_session_destroy(&p->a);
    e2e_session_destroy(&p->b);
    sodium_memzero(p, sizeof *p);
}

size_t fx_send(e2e_session_t *s, const char *text, uint8_t out[FX_MSG_MAX])
{
    size_t len = 0;
    assert_int_equal(
        e2e_session_encrypt(s, (const uint8_t *)text, strlen(text), out, FX_MSG_MAX, &len),
        ES_OK);
    return len;
}

/* The serialized state of s (malloc'd; *len its size). */
static uint8_t *s_state(const e2e_session_t *s, size_t *len)
{
    size_t cap = e2e_session_serialized_size(s);
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    assert_int_equal(e2e_session_serialize(s, buf, cap, len), ES_OK);
    assert_int_equal(*len, cap);
    return buf;
}

int fx_recv(e2e_session_t *s, const uint8_t *m, size_t len, char *text)
{
    size_t blen, alen, plen = 0;
    uint8_t *before = s_state(s, &blen);
    int rc = e2e_session_decrypt(s, m, len, (uint8_t *)text, FX_MSG_MAX - 1, &plen);
    uint8_t *after = s_state(s, &alen);
    if (rc != ES_OK) {
        assert_int_equal(alen, blen);
        assert_memory_equal(before, after, blen);
        text[0] = '\0';
    } else {
        text[plen] = '\0';
    }
    free(before);
    free(after);
    return rc;
}
