/* kdf.c - es_e2e's key derivation: an HKDF-like extract/expand on keyed
 * BLAKE2b-512 (libsodium 1.0.18 has no HKDF), and the four derivations the
 * protocol makes with it (docs/e2e.md "KDF"). */
#include <sodium.h>
#include <string.h>

#include "clients/e2e/e2e_int.h"

#define S_KEY_MIN crypto_generichash_KEYBYTES_MIN /* 16 */
#define S_KEY_MAX crypto_generichash_KEYBYTES_MAX /* 64 */
#define S_BLOCK crypto_generichash_BYTES_MAX      /* 64 */

int e2e_kdf_extract(uint8_t prk[E2E_PRK_BYTES], const uint8_t *salt, size_t salt_len,
                    const uint8_t *ikm, size_t ikm_len)
{
    if (!prk || !salt || salt_len < S_KEY_MIN || salt_len > S_KEY_MAX || (!ikm && ikm_len))
        return ES_INVALID_ARGUMENT;
    crypto_generichash(prk, E2E_PRK_BYTES, ikm, ikm_len, salt, salt_len);
    return ES_OK;
}

int e2e_kdf_expand(uint8_t *out, size_t out_len, const uint8_t *prk, size_t prk_len,
                   const char *label)
{
    if (!out || !prk || !label || prk_len < S_KEY_MIN || prk_len > S_KEY_MAX || out_len == 0 ||
        out_len > 255 * S_BLOCK)
        return ES_INVALID_ARGUMENT;
    uint8_t t[S_BLOCK];
    size_t tlen = 0, done = 0;
    for (uint8_t i = 1; done < out_len; i++) {
        crypto_generichash_state st;
        crypto_generichash_init(&st, prk, prk_len, S_BLOCK);
        crypto_generichash_update(&st, t, tlen);
        crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
        crypto_generichash_update(&st, &i, 1);
        crypto_generichash_final(&st, t, S_BLOCK);
        sodium_memzero(&st, sizeof st);
        tlen = S_BLOCK;
        size_t take = out_len - done < S_BLOCK ? out_len - done : S_BLOCK;
        memcpy(out + done, t, take);
        done += take;
    }
    sodium_memzero(t, sizeof t);
    return ES_OK;
}

void e2e_kdf_root(uint8_t rk_out[32], uint8_t ck_out[32], const uint8_t rk[32],
                  const uint8_t dh[32])
{
    uint8_t prk[E2E_PRK_BYTES], okm[64];
    e2e_kdf_extract(prk, rk, 32, dh, 32);
    e2e_kdf_expand(okm, sizeof okm, prk, sizeof prk, E2E_LABEL_ROOT);
    memcpy(rk_out, okm, 32);
    memcpy(ck_out, okm + 32, 32);
    sodium_memzero(prk, sizeof prk);
    sodium_memzero(okm, sizeof okm);
}

void e2e_kdf_chain(uint8_t ck_out[32], uint8_t mk[32], const uint8_t ck[32])
{
    uint8_t okm[64];
    e2e_kdf_expand(okm, sizeof okm, ck, 32, E2E_LABEL_CHAIN);
    memcpy(ck_out, okm, 32);
    memcpy(mk, okm + 32, 32);
    sodium_memzero(okm, sizeof okm);
}

void e2e_kdf_message(uint8_t key[32], uint8_t nonce[E2E_AEAD_NONCE_BYTES], const uint8_t mk[32])
{
    uint8_t okm[32 + E2E_AEAD_NONCE_BYTES];
    e2e_kdf_expand(okm, sizeof okm, mk, 32, E2E_LABEL_MESSAGE);
    memcpy(key, okm, 32);
    memcpy(nonce, okm + 32, E2E_AEAD_NONCE_BYTES);
    sodium_memzero(okm, sizeof okm);
}

void e2e_kdf_x3dh(uint8_t sk[32], const uint8_t *dh, size_t dh_len)
{
    uint8_t salt[32] = {0}, ikm[32 + 4 * 32], prk[E2E_PRK_BYTES];
    memset(ikm, 0xff, 32);
    memcpy(ikm + 32, dh, dh_len); /* dh_len <= 128: callers pass 96 or 128 */
    e2e_kdf_extract(prk, salt, sizeof salt, ikm, 32 + dh_len);
    e2e_kdf_expand(sk, 32, prk, sizeof prk, E2E_LABEL_X3DH);
    sodium_memzero(ikm, sizeof ikm);
    sodium_memzero(prk, sizeof prk);
}
