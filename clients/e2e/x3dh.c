/* x3dh.c - X3DH key agreement (docs/e2e.md "X3DH"): the initiator's side
 * from a peer's bundle, the responder's from an initial message, each
 * ending in a Double Ratchet session. */
#include <sodium.h>
#include <string.h>

#include "clients/e2e/e2e_int.h"

/* dh[i*32..] = X25519(sk_i, pk_i) for the n pairs; ES_INVALID_ARGUMENT when
 * a public key has low order (all-zero output). */
static int s_dh(uint8_t *dh, size_t n, const uint8_t *const sk[], const uint8_t *const pk[])
{
    for (size_t i = 0; i < n; i++)
        if (crypto_scalarmult(dh + 32 * i, sk[i], pk[i]) != 0)
            return ES_INVALID_ARGUMENT;
    return ES_OK;
}

int e2e_x3dh_secret_initiator(uint8_t sk[32], const e2e_identity_t *me, const e2e_bundle_t *peer,
                              const uint8_t ek_sk[32])
{
    if (!sk || !me || !peer || !ek_sk)
        return ES_INVALID_ARGUMENT;
    int rc = e2e_bundle_verify(peer);
    if (rc != ES_OK)
        return rc;
    uint8_t ikx[32], dh[4 * 32];
    if (crypto_sign_ed25519_pk_to_curve25519(ikx, peer->ik) != 0)
        return ES_INVALID_ARGUMENT;
    const uint8_t *const sks[4] = {me->dh_sk, ek_sk, ek_sk, ek_sk};
    const uint8_t *const pks[4] = {peer->spk, ikx, peer->spk, peer->opk};
    size_t n = peer->opk_kind == E2E_PREKEY_NONE ? 3 : 4;
    rc = s_dh(dh, n, sks, pks);
    if (rc == ES_OK)
        e2e_kdf_x3dh(sk, dh, 32 * n);
    sodium_memzero(dh, sizeof dh);
    return rc;
}

int e2e_x3dh_initiate_det(e2e_session_t **out, const e2e_identity_t *me, const e2e_bundle_t *peer,
                          const uint8_t ek_sk[32], const uint8_t dhs_sk[32])
{
    if (!out)
        return ES_INVALID_ARGUMENT;
    *out = NULL;
    if (!dhs_sk)
        return ES_INVALID_ARGUMENT;
    uint8_t sk[32], dh[32];
    e2e_session_t *s = NULL;
    int rc = e2e_x3dh_secret_initiator(sk, me, peer, ek_sk);
    if (rc != ES_OK)
        goto wipe;
    if (!(s = e2e_session_alloc())) {
        rc = ES_RESOURCE_EXHAUSTED;
        goto wipe;
    }
    s->flags = E2E_F_INITIATOR | E2E_F_X3DH_PENDING | E2E_F_HAS_DHR | E2E_F_HAS_CKS;
    memcpy(s->ad, me->sign_pk, 32);
    memcpy(s->ad + 32, peer->ik, 32);
    memcpy(s->dhs_sk, dhs_sk, 32);
    memcpy(s->dhr, peer->spk, 32);
    if (crypto_scalarmult_base(s->ek, ek_sk) != 0 || crypto_scalarmult_base(s->dhs_pk, dhs_sk) != 0 ||
        crypto_scalarmult(dh, s->dhs_sk, s->dhr) != 0) {
        rc = ES_INVALID_ARGUMENT;
        goto wipe;
    }
    e2e_kdf_root(s->rk, s->cks, sk, dh);
    s->spk_id = peer->spk_id;
    s->opk_kind = peer->opk_kind;
    s->opk_id = peer->opk_id;
    *out = s;
    s = NULL;
wipe:
    e2e_session_destroy(&s);
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(dh, sizeof dh);
    return rc;
}

int e2e_x3dh_initiate(e2e_session_t **out, const e2e_identity_t *me, const e2e_bundle_t *peer)
{
    uint8_t r[64];
    randombytes_buf(r, sizeof r);
    int rc = e2e_x3dh_initiate_det(out, me, peer, r, r + 32);
    sodium_memzero(r, sizeof r);
    return rc;
}

/* The prekeys given are the ones the initial message names. */
static int s_prekeys_match(const e2e_message_info_t *h, const e2e_prekey_t *spk,
                           const e2e_prekey_t *opk)
{
    if (!spk || spk->kind != E2E_PREKEY_SIGNED || spk->id != h->spk_id)
        return 0;
    if (h->opk_kind == E2E_PREKEY_NONE)
        return opk == NULL;
    return opk && opk->kind == h->opk_kind && opk->id == h->opk_id;
}

int e2e_x3dh_respond(e2e_session_t **out, const e2e_identity_t *me, const e2e_prekey_t *spk,
                     const e2e_prekey_t *opk, const uint8_t *msg, size_t msg_len, uint8_t *plain,
                     size_t cap, size_t *plain_len)
{
    if (!out)
        return ES_INVALID_ARGUMENT;
    *out = NULL;
    e2e_message_info_t h;
    int rc = e2e_message_info(&h, msg, msg_len);
    if (rc != ES_OK)
        return rc;
    if (!me || !h.initial || !s_prekeys_match(&h, spk, opk))
        return ES_INVALID_ARGUMENT;

    uint8_t ikx[32], dh[4 * 32], sk[32];
    e2e_session_t *s = NULL;
    if (crypto_sign_ed25519_pk_to_curve25519(ikx, h.ik) != 0)
        return ES_INVALID_ARGUMENT;
    const uint8_t *const sks[4] = {spk->sk, me->dh_sk, spk->sk, opk ? opk->sk : NULL};
    const uint8_t *const pks[4] = {ikx, h.ek, h.ek, h.ek};
    size_t n = opk ? 4 : 3;
    if ((rc = s_dh(dh, n, sks, pks)) != ES_OK)
        goto wipe;
    e2e_kdf_x3dh(sk, dh, 32 * n);
    if (!(s = e2e_session_alloc())) {
        rc = ES_RESOURCE_EXHAUSTED;
        goto wipe;
    }
    memcpy(s->ad, h.ik, 32);
    memcpy(s->ad + 32, me->sign_pk, 32);
    memcpy(s->rk, sk, 32);
    memcpy(s->dhs_sk, spk->sk, 32);
    memcpy(s->dhs_pk, spk->pk, 32);
    memcpy(s->ek, h.ek, 32);
    s->spk_id = h.spk_id;
    s->opk_kind = h.opk_kind;
    s->opk_id = h.opk_id;
    if ((rc = e2e_session_decrypt(s, msg, msg_len, plain, cap, plain_len)) != ES_OK)
        goto wipe;
    *out = s;
    s = NULL;
wipe:
    e2e_session_destroy(&s);
    sodium_memzero(dh, sizeof dh);
    sodium_memzero(sk, sizeof sk);
    return rc;
}
