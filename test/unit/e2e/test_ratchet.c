/* test_ratchet.c - clients/e2e/ratchet.c: the Double Ratchet under loss,
 * reordering, duplication and tampering; the skipped-key and chain bounds.
 * Every refused message is checked (in fx_recv) to leave the session's
 * serialized state unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "test/unit/e2e/e2e_fixture.h"

/* ---- a network that drops, reorders and duplicates ---- */

#define S_POOL 64

typedef struct wire {
    uint8_t m[FX_MSG_MAX];
    size_t len;
    char text[32];
    int to_alice;
    int delivered;
} wire_t;

static uint32_t s_rand_state = 12345;

static uint32_t s_rand(uint32_t n)
{
    s_rand_state = s_rand_state * 1103515245u + 12345u;
    return (s_rand_state >> 8) % n;
}

static void s_deliver(fx_pair_t *p, wire_t *w)
{
    char text[FX_MSG_MAX];
    int rc = fx_recv(w->to_alice ? p->a : p->b, w->m, w->len, text);
    if (w->delivered) {
        assert_int_equal(rc, ES_ALREADY_EXISTS);
        return;
    }
    assert_int_equal(rc, ES_OK);
    assert_string_equal(text, w->text);
    w->delivered = 1;
}

static void test_lossy_network(void **state)
{
    (void)state;
    fx_pair_t p;
    static wire_t pool[S_POOL];
    int sent = 0, delivered = 0, dropped = 0;
    fx_open(&p);
    for (int round = 0; round < 40; round++) {
        int n = 0;
        wire_t *batch[8];
        /* one or two senders, up to 4 messages each */
        for (int who = 0; who < 2; who++) {
            if (s_rand(3) == 0)
                continue;
            int k = 1 + (int)s_rand(4);
            for (int i = 0; i < k; i++) {
                wire_t *w = &pool[sent % S_POOL];
                memset(w, 0, sizeof *w);
                w->to_alice = who;
                snprintf(w->text, sizeof w->text, "message %d", sent);
                w->len = fx_send(who ? p.b : p.a, w->text, w->m);
                batch[n++] = w;
                sent++;
            }
        }
        /* shuffle, drop one in five, duplicate one in four */
        for (int i = n - 1; i > 0; i--) {
            int j = (int)s_rand((uint32_t)i + 1);
            wire_t *t = batch[i];
            batch[i] = batch[j];
            batch[j] = t;
        }
        for (int i = 0; i < n; i++) {
            if (s_rand(5) == 0) {
                dropped++;
                continue;
            }
            s_deliver(&p, batch[i]);
            delivered++;
            if (s_rand(4) == 0)
                s_deliver(&p, batch[i]);
        }
    }
    assert_true(sent > 60 && dropped > 5);
    assert_int_equal(delivered + dropped, sent);
    fx_close(&p);
}

/* ---- bounds ---- */

static void test_skip_bound(void **state)
{
    (void)state;
    fx_pair_t p;
    char text[FX_MSG_MAX];
    static uint8_t m[E2E_MAX_SKIP + 3][FX_MSG_MAX];
    static size_t len[E2E_MAX_SKIP + 3];
    fx_open(&p); /* bob has read alice's n = 0 */
    for (uint32_t n = 1; n <= E2E_MAX_SKIP + 2; n++) {
        snprintf(text, sizeof text, "n%u", n);
        len[n] = fx_send(p.a, text, m[n]);
    }
    /* n = 1002 would skip 1001 keys: refused, nothing changes */
    assert_int_equal(fx_recv(p.b, m[E2E_MAX_SKIP + 2], len[E2E_MAX_SKIP + 2], text),
                     ES_RESOURCE_EXHAUSTED);
    /* n = 1001 skips exactly E2E_MAX_SKIP */
    assert_int_equal(fx_recv(p.b, m[E2E_MAX_SKIP + 1], len[E2E_MAX_SKIP + 1], text), ES_OK);
    assert_int_equal(p.b->nskipped, E2E_MAX_SKIP);
    assert_int_equal(fx_recv(p.b, m[E2E_MAX_SKIP + 2], len[E2E_MAX_SKIP + 2], text), ES_OK);
    assert_string_equal(text, "n1002");
    assert_int_equal(fx_recv(p.b, m[1], len[1], text), ES_OK);
    assert_string_equal(text, "n1");
    assert_int_equal(fx_recv(p.b, m[1], len[1], text), ES_ALREADY_EXISTS);

    /* the store keeps E2E_MAX_SKIPPED keys: a new chain that skips 5 more
     * drops the 5 oldest (n = 2..6 of alice's first chain) */
    uint8_t r[FX_MSG_MAX];
    size_t rlen = fx_send(p.b, "reply", r);
    assert_int_equal(fx_recv(p.a, r, rlen, text), ES_OK);
    uint8_t a2[7][FX_MSG_MAX];
    size_t a2len[7];
    assert_int_equal(p.b->nskipped, E2E_MAX_SKIP - 1);
    for (int i = 0; i < 7; i++)
        a2len[i] = fx_send(p.a, "second chain", a2[i]);
    assert_int_equal(fx_recv(p.b, a2[6], a2len[6], text), ES_OK); /* skips 6 */
    assert_int_equal(p.b->nskipped, E2E_MAX_SKIPPED);
    for (uint32_t n = 2; n <= 6; n++) /* dropped: refused as already gone */
        assert_int_equal(fx_recv(p.b, m[n], len[n], text), ES_ALREADY_EXISTS);
    assert_int_equal(fx_recv(p.b, m[7], len[7], text), ES_OK);
    assert_string_equal(text, "n7");
    for (int i = 0; i < 6; i++)
        assert_int_equal(fx_recv(p.b, a2[i], a2len[i], text), ES_OK);
    fx_close(&p);
}

static void test_chain_bound(void **state)
{
    (void)state;
    fx_pair_t p;
    uint8_t m[FX_MSG_MAX];
    size_t len;
    char text[FX_MSG_MAX];
    fx_open(&p);
    /* the sender stops at E2E_MAX_CHAIN messages in one chain */
    p.a->ns = E2E_MAX_CHAIN - 1;
    len = fx_send(p.a, "last of the chain", m);
    uint8_t before[4096], after[4096];
    size_t blen, alen;
    assert_int_equal(e2e_session_serialize(p.a, before, sizeof before, &blen), ES_OK);
    assert_int_equal(e2e_session_encrypt(p.a, (const uint8_t *)"x", 1, m, sizeof m, &len),
                     ES_RESOURCE_EXHAUSTED);
    assert_int_equal(e2e_session_serialize(p.a, after, sizeof after, &alen), ES_OK);
    assert_int_equal(blen, alen);
    assert_memory_equal(before, after, blen);
    /* after a reply, a new chain starts */
    len = fx_send(p.b, "reply", m);
    assert_int_equal(fx_recv(p.a, m, len, text), ES_OK);
    len = fx_send(p.a, "new chain", m);
    assert_int_equal(p.a->ns, 1);
    assert_int_equal(p.a->pn, E2E_MAX_CHAIN);
    /* bob never got those E2E_MAX_CHAIN messages: too many to skip */
    assert_int_equal(fx_recv(p.b, m, len, text), ES_RESOURCE_EXHAUSTED);
    fx_close(&p);
}

/* ---- tampering ---- */

static void test_tampering(void **state)
{
    (void)state;
    fx_pair_t p;
    uint8_t m[FX_MSG_MAX], t[FX_MSG_MAX];
    char text[FX_MSG_MAX];
    fx_open(&p);
    size_t len = fx_send(p.b, "ordonnance", m); /* a ratchet step: new chain for alice */
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            memcpy(t, m, len);
            t[i] ^= (uint8_t)(1u << bit);
            int rc = fx_recv(p.a, t, len, text); /* fx_recv checks the state stayed */
            assert_int_not_equal(rc, ES_OK);
        }
    }
    assert_int_equal(fx_recv(p.a, m, len - 1, text), ES_UNAUTHENTICATED); /* truncated tag */
    assert_int_equal(fx_recv(p.a, m, E2E_HEADER_BYTES + 15, text), ES_INVALID_ARGUMENT);
    assert_int_equal(fx_recv(p.a, m, len, text), ES_OK);
    assert_string_equal(text, "ordonnance");
    /* same-chain tampering once the chain is known */
    len = fx_send(p.b, "deux", m);
    m[len - 3] ^= 1;
    assert_int_equal(fx_recv(p.a, m, len, text), ES_UNAUTHENTICATED);
    m[len - 3] ^= 1;
    m[40] ^= 1; /* n: another message number of the same chain */
    assert_int_not_equal(fx_recv(p.a, m, len, text), ES_OK);
    m[40] ^= 1;
    assert_int_equal(fx_recv(p.a, m, len, text), ES_OK);
    /* a message of another session */
    fx_pair_t q;
    fx_open(&q);
    len = fx_send(q.b, "autre", m);
    assert_int_equal(fx_recv(p.a, m, len, text), ES_UNAUTHENTICATED);
    fx_close(&q);
    fx_close(&p);
}

/* ---- arguments ---- */

static void test_arguments(void **state)
{
    (void)state;
    fx_pair_t p;
    static uint8_t big[E2E_MAX_PLAINTEXT + 1], out[E2E_MESSAGE_MAX + 16];
    uint8_t m[FX_MSG_MAX], plain[FX_MSG_MAX];
    size_t len, plen;
    fx_open(&p);
    assert_int_equal(e2e_session_encrypt(p.a, big, sizeof big, out, sizeof out, &len),
                     ES_TOO_LARGE);
    assert_int_equal(e2e_session_encrypt(p.a, big, E2E_MAX_PLAINTEXT, out, sizeof out, &len),
                     ES_OK);
    assert_int_equal(len, E2E_MESSAGE_LEN(1, E2E_MAX_PLAINTEXT)); /* no reply yet: initial */
    assert_int_equal(e2e_session_decrypt(p.b, out, len, big, sizeof big, &plen), ES_OK);
    assert_int_equal(plen, E2E_MAX_PLAINTEXT);
    assert_int_equal(e2e_session_encrypt(p.a, big, 10, m, E2E_MESSAGE_LEN(0, 10) - 1, &len),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_session_encrypt(p.a, NULL, 1, m, sizeof m, &len), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_session_encrypt(NULL, big, 1, m, sizeof m, &len), ES_INVALID_ARGUMENT);
    /* empty message */
    assert_int_equal(e2e_session_encrypt(p.a, NULL, 0, m, sizeof m, &len), ES_OK);
    assert_int_equal(len, E2E_MESSAGE_LEN(1, 0));
    assert_int_equal(e2e_session_decrypt(p.b, m, len, plain, sizeof plain, &plen), ES_OK);
    assert_int_equal(plen, 0);
    /* output too small for the plaintext: refused, still decryptable after */
    len = fx_send(p.a, "0123456789", m);
    assert_int_equal(e2e_session_decrypt(p.b, m, len, plain, 9, &plen), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_session_decrypt(p.b, m, len, plain, 10, &plen), ES_OK);
    assert_int_equal(e2e_session_decrypt(p.b, m, len, plain, 10, NULL), ES_INVALID_ARGUMENT);
    /* a responder's session cannot send before its first message */
    e2e_session_t *empty = e2e_session_alloc();
    assert_non_null(empty);
    assert_int_equal(e2e_session_encrypt(empty, big, 1, m, sizeof m, &len),
                     ES_FAILED_PRECONDITION);
    e2e_session_destroy(&empty);
    fx_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lossy_network),
        cmocka_unit_test(test_skip_bound),
        cmocka_unit_test(test_chain_bound),
        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
