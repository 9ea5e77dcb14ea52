/* e2e_fixture.h - what the es_e2e tests share: two devices (alice, bob),
 * bob's prekeys and bundle, an open pair of sessions, and send/receive
 * helpers that check a refused message leaves the session as it was. */
#ifndef ES_TEST_E2E_FIXTURE_H
#define ES_TEST_E2E_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "clients/e2e/e2e_int.h"

#define FX_MSG_MAX 512 /* messages of the tests are short */

typedef struct fx_pair {
    e2e_identity_t alice, bob;
    e2e_prekey_t spk, opk, lrk; /* bob's */
    e2e_bundle_t bundle;        /* bob's, with the one-time prekey */
    e2e_session_t *a, *b;       /* alice's and bob's sessions */
} fx_pair_t;

/* sodium_init, fresh random identities and bob's prekeys and bundle. */
void fx_keys(fx_pair_t *p);

/* fx_keys, then alice initiates, sends "hello" and bob responds: both
 * sessions open. */
void fx_open(fx_pair_t *p);

/* Destroy the sessions and wipe the keys. */
void fx_close(fx_pair_t *p);

/* Encrypt text on s (asserts success); returns the message length. */
size_t fx_send(e2e_session_t *s, const char *text, uint8_t out[FX_MSG_MAX]);

/* Decrypt m on s into text (NUL-terminated, FX_MSG_MAX room); returns the
 * status and asserts that a refused message changed nothing in s. */
int fx_recv(e2e_session_t *s, const uint8_t *m, size_t len, char *text);

#endif
