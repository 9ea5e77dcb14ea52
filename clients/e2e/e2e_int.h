/*
 * e2e_int.h - the inside of es_e2e, shared by its files, its tests and the
 * test-vector generator (test/vectors/e2e/gen.c). Not for clients.
 *
 * The *_det functions are the deterministic cores of the public calls: they
 * take as arguments the randomness the public calls draw from randombytes
 * (X3DH ephemeral key, ratchet keys), so the shared test vectors can pin
 * every output byte. Everything else is as documented in e2e.h.
 */
#ifndef ES_E2E_INT_H
#define ES_E2E_INT_H

#include "clients/e2e/e2e.h"

/* ---- kdf.c: keyed BLAKE2b-512 extract/expand (docs/e2e.md "KDF") ---- */

#define E2E_PRK_BYTES 64
#define E2E_AEAD_NONCE_BYTES 24

#define E2E_LABEL_X3DH "espace.e2e.v1.x3dh"
#define E2E_LABEL_ROOT "espace.e2e.v1.root"
#define E2E_LABEL_CHAIN "espace.e2e.v1.chain"
#define E2E_LABEL_MESSAGE "espace.e2e.v1.message"
#define E2E_LABEL_PREKEY "espace.e2e.v1.prekey"
#define E2E_LABEL_SAFETY "espace.e2e.v1.safety-number"

/* prk = BLAKE2b-512(key = salt[salt_len], message = ikm[ikm_len]);
 * salt_len in 16..64. 0 or ES_INVALID_ARGUMENT. */
int e2e_kdf_extract(uint8_t prk[E2E_PRK_BYTES], const uint8_t *salt, size_t salt_len,
                    const uint8_t *ikm, size_t ikm_len);

/* out[out_len] = first out_len bytes of T(1) || T(2) || ... where
 * T(i) = BLAKE2b-512(key = prk, message = T(i-1) || label || i), T(0) empty,
 * i one byte; prk_len in 16..64, out_len in 1..255*64. 0 or
 * ES_INVALID_ARGUMENT. */
int e2e_kdf_expand(uint8_t *out, size_t out_len, const uint8_t *prk, size_t prk_len,
                   const char *label);

/* rk', ck = split(expand(extract(salt = rk, ikm = dh), "root", 64)). */
void e2e_kdf_root(uint8_t rk_out[32], uint8_t ck_out[32], const uint8_t rk[32],
                  const uint8_t dh[32]);

/* ck', mk = split(expand(ck, "chain", 64)). ck_out may alias ck. */
void e2e_kdf_chain(uint8_t ck_out[32], uint8_t mk[32], const uint8_t ck[32]);

/* key, nonce = split(expand(mk, "message", 56)). */
void e2e_kdf_message(uint8_t key[32], uint8_t nonce[E2E_AEAD_NONCE_BYTES], const uint8_t mk[32]);

/* sk = expand(extract(salt = 32 zero bytes, ikm = 32 x 0xff || dh[dh_len]),
 * "x3dh", 32); dh_len is 96 or 128. */
void e2e_kdf_x3dh(uint8_t sk[32], const uint8_t *dh, size_t dh_len);

/* ---- header.c: the fixed binary header ---- */

#define E2E_VERSION 1
#define E2E_KIND_RATCHET 0
#define E2E_KIND_INITIAL 1

/* Write the header of *h into out (E2E_INITIAL_HEADER_BYTES room); returns
 * its length (h->initial picks the layout). */
size_t e2e_header_encode(const e2e_message_info_t *h, uint8_t out[E2E_INITIAL_HEADER_BYTES]);

/* ---- session.c / ratchet.c: the state ---- */

typedef struct e2e_skipped {
    uint8_t dh[E2E_KEY_BYTES];   /* ratchet key of the chain */
    uint32_t n;                  /* message number */
    uint8_t mk[E2E_KEY_BYTES];   /* its message key */
} e2e_skipped_t;

#define E2E_SKIPPED_BYTES 68     /* serialized e2e_skipped_t */

/* Session flags (serialized as one byte). */
#define E2E_F_INITIATOR 0x01     /* we ran e2e_x3dh_initiate */
#define E2E_F_X3DH_PENDING 0x02  /* initiator: no reply yet, send initial headers */
#define E2E_F_HAS_DHR 0x04       /* dhr is set */
#define E2E_F_HAS_CKS 0x08       /* cks is set */
#define E2E_F_HAS_CKR 0x10       /* ckr is set */
#define E2E_F_SEND_STEP 0x20     /* a new dhr came: step before the next send */
#define E2E_F_ALL 0x3f

struct e2e_session {
    uint8_t flags;
    uint8_t ad[2 * E2E_KEY_BYTES]; /* initiator's ik || responder's ik (Ed25519) */
    uint8_t rk[32];
    uint8_t dhs_sk[32];
    uint8_t dhs_pk[32];
    uint8_t dhr[32];
    uint8_t cks[32];
    uint8_t ckr[32];
    uint32_t ns, nr, pn;
    /* the X3DH that made the session (initial headers; recognising them) */
    uint8_t ek[32];
    uint32_t spk_id;
    uint8_t opk_kind;
    uint32_t opk_id;
    /* past receiving ratchet keys, oldest first (replays of their chains) */
    uint8_t nprev;
    uint8_t prev[E2E_MAX_PREV_CHAINS][E2E_KEY_BYTES];
    /* skipped message keys, oldest first */
    uint32_t nskipped;
    uint32_t skipped_cap;
    e2e_skipped_t *skipped;
};

/* A zeroed session (skipped store empty). NULL when out of memory. */
e2e_session_t *e2e_session_alloc(void);

/* Make room for `more` skipped keys beyond nskipped (wipes the old store when
 * it moves). 0 or ES_RESOURCE_EXHAUSTED. */
int e2e_session_reserve(e2e_session_t *s, uint32_t more);

/* ---- deterministic cores ---- */

/* e2e_x3dh_initiate with the ephemeral secret ek_sk and the first ratchet
 * secret dhs_sk given. */
int e2e_x3dh_initiate_det(e2e_session_t **out, const e2e_identity_t *me, const e2e_bundle_t *peer,
                          const uint8_t ek_sk[32], const uint8_t dhs_sk[32]);

/* The X3DH shared secret both sides compute (sk) and the associated data
 * (ad = ik_initiator || ik_responder), for the vectors. */
int e2e_x3dh_secret_initiator(uint8_t sk[32], const e2e_identity_t *me, const e2e_bundle_t *peer,
                              const uint8_t ek_sk[32]);

/* e2e_prekey_generate with the X25519 secret given. */
int e2e_prekey_from_secret(e2e_prekey_t *pk, const e2e_identity_t *id, e2e_prekey_kind kind,
                           uint32_t key_id, int64_t now_s, const uint8_t sk[32]);

/* e2e_session_encrypt with the ratchet secret for a pending step given
 * (unused when no step is pending). */
int e2e_session_encrypt_det(e2e_session_t *s, const uint8_t *plain, size_t plen, uint8_t *out,
                            size_t cap, size_t *out_len, const uint8_t dhs_sk[32]);

/* 1 when the next e2e_session_encrypt steps the ratchet (needs a new key). */
int e2e_session_send_step_pending(const e2e_session_t *s);

#endif
