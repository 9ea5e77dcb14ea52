/* prekeys.c - a device's keys: its identity (Ed25519 with the derived
 * X25519 pair), its prekeys (signed, one-time, last-resort) and the bundle
 * it publishes (docs/e2e.md "Keys" and "Prekeys"). */
#include <sodium.h>
#include <string.h>

#include "clients/e2e/e2e_int.h"

/* ---- identity ---- */

static int s_identity_derive(e2e_identity_t *id)
{
    if (crypto_sign_ed25519_pk_to_curve25519(id->dh_pk, id->sign_pk) != 0 ||
        crypto_sign_ed25519_sk_to_curve25519(id->dh_sk, id->sign_sk) != 0) {
        e2e_identity_wipe(id);
        return ES_INVALID_ARGUMENT;
    }
    return ES_OK;
}

int e2e_identity_generate(e2e_identity_t *id)
{
    if (!id)
        return ES_INVALID_ARGUMENT;
    uint8_t seed[E2E_SEED_BYTES];
    randombytes_buf(seed, sizeof seed);
    int rc = e2e_identity_from_seed(id, seed);
    sodium_memzero(seed, sizeof seed);
    return rc;
}

int e2e_identity_from_seed(e2e_identity_t *id, const uint8_t seed[E2E_SEED_BYTES])
{
    if (!id || !seed)
        return ES_INVALID_ARGUMENT;
    memset(id, 0, sizeof *id);
    if (crypto_sign_seed_keypair(id->sign_pk, id->sign_sk, seed) != 0)
        return ES_INTERNAL;
    return s_identity_derive(id);
}

int e2e_identity_from_secret(e2e_identity_t *id, const uint8_t sign_sk[E2E_SIGN_SECRET_BYTES])
{
    if (!id || !sign_sk)
        return ES_INVALID_ARGUMENT;
    /* libsodium's secret key is seed || public key: rebuild from the seed and
     * require the stored public half to match. */
    int rc = e2e_identity_from_seed(id, sign_sk);
    if (rc == ES_OK && sodium_memcmp(id->sign_pk, sign_sk + E2E_SEED_BYTES, E2E_KEY_BYTES) != 0) {
        e2e_identity_wipe(id);
        rc = ES_INVALID_ARGUMENT;
    }
    return rc;
}

void e2e_identity_wipe(e2e_identity_t *id)
{
    if (id)
        sodium_memzero(id, sizeof *id);
}

/* ---- prekeys ---- */

static int s_signed_kind(uint8_t kind)
{
    return kind == E2E_PREKEY_SIGNED || kind == E2E_PREKEY_LAST_RESORT;
}

/* The signed message: label || kind || id (big-endian) || pk. */
#define S_SIGNED_LEN (sizeof E2E_LABEL_PREKEY - 1 + 1 + 4 + E2E_KEY_BYTES)

static void s_signed_message(uint8_t m[S_SIGNED_LEN], uint8_t kind, uint32_t key_id,
                             const uint8_t pk[E2E_KEY_BYTES])
{
    size_t l = sizeof E2E_LABEL_PREKEY - 1;
    memcpy(m, E2E_LABEL_PREKEY, l);
    m[l] = kind;
    m[l + 1] = (uint8_t)(key_id >> 24);
    m[l + 2] = (uint8_t)(key_id >> 16);
    m[l + 3] = (uint8_t)(key_id >> 8);
    m[l + 4] = (uint8_t)key_id;
    memcpy(m + l + 5, pk, E2E_KEY_BYTES);
}

int e2e_prekey_from_secret(e2e_prekey_t *pk, const e2e_identity_t *id, e2e_prekey_kind kind,
                           uint32_t key_id, int64_t now_s, const uint8_t sk[32])
{
    if (!pk || !sk)
        return ES_INVALID_ARGUMENT;
    if (kind != E2E_PREKEY_ONE_TIME && (!s_signed_kind((uint8_t)kind) || !id))
        return ES_INVALID_ARGUMENT;
    memset(pk, 0, sizeof *pk);
    pk->kind = (uint8_t)kind;
    pk->id = key_id;
    pk->created_s = now_s;
    memcpy(pk->sk, sk, E2E_KEY_BYTES);
    if (crypto_scalarmult_base(pk->pk, pk->sk) != 0) {
        e2e_prekey_wipe(pk);
        return ES_INVALID_ARGUMENT;
    }
    if (s_signed_kind((uint8_t)kind)) {
        uint8_t m[S_SIGNED_LEN];
        s_signed_message(m, pk->kind, key_id, pk->pk);
        crypto_sign_detached(pk->sig, NULL, m, sizeof m, id->sign_sk);
    }
    return ES_OK;
}

int e2e_prekey_generate(e2e_prekey_t *pk, const e2e_identity_t *id, e2e_prekey_kind kind,
                        uint32_t key_id, int64_t now_s)
{
    uint8_t sk[E2E_KEY_BYTES];
    randombytes_buf(sk, sizeof sk);
    int rc = e2e_prekey_from_secret(pk, id, kind, key_id, now_s, sk);
    sodium_memzero(sk, sizeof sk);
    return rc;
}

int e2e_prekeys_generate(e2e_prekey_t *out, size_t count, uint32_t first_id, int64_t now_s)
{
    if ((!out && count) || (count && count - 1 > (size_t)(UINT32_MAX - first_id)))
        return ES_INVALID_ARGUMENT;
    for (size_t i = 0; i < count; i++) {
        int rc = e2e_prekey_generate(&out[i], NULL, E2E_PREKEY_ONE_TIME, first_id + (uint32_t)i,
                                     now_s);
        if (rc != ES_OK) {
            sodium_memzero(out, count * sizeof *out);
            return rc;
        }
    }
    return ES_OK;
}

int e2e_prekey_rotation_due(const e2e_prekey_t *spk, int64_t now_s)
{
    return spk && now_s - spk->created_s >= E2E_SPK_ROTATE_S;
}

int e2e_prekey_expired(const e2e_prekey_t *spk, int64_t now_s)
{
    return spk && now_s - spk->created_s >= E2E_SPK_ROTATE_S + E2E_SPK_KEEP_S;
}

int e2e_prekey_verify(const uint8_t ik[E2E_KEY_BYTES], uint8_t kind, uint32_t key_id,
                      const uint8_t pk[E2E_KEY_BYTES], const uint8_t sig[E2E_SIG_BYTES])
{
    if (!ik || !pk || !sig || !s_signed_kind(kind))
        return ES_INVALID_ARGUMENT;
    uint8_t m[S_SIGNED_LEN];
    s_signed_message(m, kind, key_id, pk);
    return crypto_sign_verify_detached(sig, m, sizeof m, ik) == 0 ? ES_OK : ES_UNAUTHENTICATED;
}

void e2e_prekey_wipe(e2e_prekey_t *pk)
{
    if (pk)
        sodium_memzero(pk, sizeof *pk);
}

/* ---- bundles ---- */

int e2e_bundle_make(e2e_bundle_t *b, const e2e_identity_t *id, const e2e_prekey_t *spk,
                    const e2e_prekey_t *opk)
{
    if (!b || !id || !spk || spk->kind != E2E_PREKEY_SIGNED ||
        (opk && opk->kind != E2E_PREKEY_ONE_TIME && opk->kind != E2E_PREKEY_LAST_RESORT))
        return ES_INVALID_ARGUMENT;
    memset(b, 0, sizeof *b);
    memcpy(b->ik, id->sign_pk, E2E_KEY_BYTES);
    b->spk_id = spk->id;
    memcpy(b->spk, spk->pk, E2E_KEY_BYTES);
    memcpy(b->spk_sig, spk->sig, E2E_SIG_BYTES);
    if (opk) {
        b->opk_kind = opk->kind;
        b->opk_id = opk->id;
        memcpy(b->opk, opk->pk, E2E_KEY_BYTES);
        if (opk->kind == E2E_PREKEY_LAST_RESORT)
            memcpy(b->opk_sig, opk->sig, E2E_SIG_BYTES);
    }
    return ES_OK;
}

int e2e_bundle_verify(const e2e_bundle_t *b)
{
    if (!b)
        return ES_INVALID_ARGUMENT;
    uint8_t x[E2E_KEY_BYTES];
    if (crypto_sign_ed25519_pk_to_curve25519(x, b->ik) != 0)
        return ES_INVALID_ARGUMENT; /* not a valid Ed25519 point of the main subgroup */
    switch (b->opk_kind) {
    case E2E_PREKEY_NONE:
        if (b->opk_id != 0 || !sodium_is_zero(b->opk, E2E_KEY_BYTES) ||
            !sodium_is_zero(b->opk_sig, E2E_SIG_BYTES))
            return ES_INVALID_ARGUMENT;
        break;
    case E2E_PREKEY_ONE_TIME:
        if (!sodium_is_zero(b->opk_sig, E2E_SIG_BYTES))
            return ES_INVALID_ARGUMENT;
        break;
    case E2E_PREKEY_LAST_RESORT:
        break;
    default:
        return ES_INVALID_ARGUMENT;
    }
    int rc = e2e_prekey_verify(b->ik, E2E_PREKEY_SIGNED, b->spk_id, b->spk, b->spk_sig);
    if (rc == ES_OK && b->opk_kind == E2E_PREKEY_LAST_RESORT)
        rc = e2e_prekey_verify(b->ik, E2E_PREKEY_LAST_RESORT, b->opk_id, b->opk, b->opk_sig);
    return rc;
}
