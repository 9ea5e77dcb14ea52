/* ratchet.c - the Double Ratchet: encrypt and decrypt on a session
 * (docs/e2e.md "Double Ratchet"). Every step is computed on local copies
 * and written to the session only once the message is sealed or has
 * authenticated, so a refused message leaves the session as it was.
 *
 * The sending half of a DH ratchet step is deferred to the next encrypt
 * (E2E_F_SEND_STEP): decrypting never needs randomness, and the keys are
 * the same as the step done at once (docs/e2e.md explains why). */
#include <sodium.h>
#include <string.h>

#include "clients/e2e/e2e_int.h"

#define S_AD_MAX (2 * E2E_KEY_BYTES + E2E_INITIAL_HEADER_BYTES)

/* The AEAD associated data: the session's X3DH AD || the header bytes. */
static size_t s_ad(uint8_t ad[S_AD_MAX], const e2e_session_t *s, const uint8_t *header,
                   size_t hlen)
{
    memcpy(ad, s->ad, sizeof s->ad);
    memcpy(ad + sizeof s->ad, header, hlen);
    return sizeof s->ad + hlen;
}

/* Open msg (header hlen bytes, then ciphertext) with message key mk. */
static int s_open(const e2e_session_t *s, const uint8_t mk[32], const uint8_t *msg, size_t len,
                  size_t hlen, uint8_t *plain, size_t *plain_len)
{
    uint8_t key[32], nonce[E2E_AEAD_NONCE_BYTES], ad[S_AD_MAX];
    size_t adlen = s_ad(ad, s, msg, hlen);
    unsigned long long mlen = 0;
    e2e_kdf_message(key, nonce, mk);
    int ok = crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &mlen, NULL, msg + hlen,
                                                        len - hlen, ad, adlen, nonce, key) == 0;
    sodium_memzero(key, sizeof key);
    if (!ok)
        return ES_UNAUTHENTICATED;
    *plain_len = (size_t)mlen;
    return ES_OK;
}

static void s_skipped_remove(e2e_session_t *s, uint32_t i)
{
    memmove(&s->skipped[i], &s->skipped[i + 1], (s->nskipped - i - 1) * sizeof *s->skipped);
    s->nskipped--;
    sodium_memzero(&s->skipped[s->nskipped], sizeof *s->skipped);
}

/* Keep at most E2E_MAX_SKIPPED skipped keys: drop the oldest. */
static void s_skipped_trim(e2e_session_t *s)
{
    if (s->nskipped <= E2E_MAX_SKIPPED)
        return;
    uint32_t drop = s->nskipped - E2E_MAX_SKIPPED;
    sodium_memzero(s->skipped, drop * sizeof *s->skipped);
    memmove(s->skipped, s->skipped + drop, E2E_MAX_SKIPPED * sizeof *s->skipped);
    sodium_memzero(s->skipped + E2E_MAX_SKIPPED, drop * sizeof *s->skipped);
    s->nskipped = E2E_MAX_SKIPPED;
}

/* Remember the current receiving ratchet key as past (drop the oldest). */
static void s_prev_push(e2e_session_t *s)
{
    if (s->nprev == E2E_MAX_PREV_CHAINS) {
        memmove(s->prev[0], s->prev[1], (E2E_MAX_PREV_CHAINS - 1) * sizeof s->prev[0]);
        s->nprev--;
    }
    memcpy(s->prev[s->nprev++], s->dhr, 32);
}

/* Derive the keys of messages from..to-1 of chain `dh` into the store's
 * uncommitted slots starting at *k; ck advances. */
static void s_skip(e2e_session_t *s, uint32_t *k, const uint8_t dh[32], uint8_t ck[32],
                   uint32_t from, uint32_t to)
{
    for (uint32_t n = from; n < to; n++, (*k)++) {
        e2e_skipped_t *e = &s->skipped[s->nskipped + *k];
        memcpy(e->dh, dh, 32);
        e->n = n;
        e2e_kdf_chain(ck, e->mk, ck);
    }
}

/* A header the session can take: initial messages only from its own X3DH,
 * and only to the responder. */
static int s_check_initial(const e2e_session_t *s, const e2e_message_info_t *h)
{
    if (!h->initial)
        return ES_OK;
    if ((s->flags & E2E_F_INITIATOR) || sodium_memcmp(h->ek, s->ek, 32) != 0 ||
        sodium_memcmp(h->ik, s->ad, 32) != 0 || h->spk_id != s->spk_id ||
        h->opk_kind != s->opk_kind || h->opk_id != s->opk_id)
        return ES_FAILED_PRECONDITION;
    return ES_OK;
}

int e2e_session_decrypt(e2e_session_t *s, const uint8_t *msg, size_t msg_len, uint8_t *plain,
                        size_t cap, size_t *plain_len)
{
    e2e_message_info_t h;
    if (!s || !plain_len)
        return ES_INVALID_ARGUMENT;
    int rc = e2e_message_info(&h, msg, msg_len);
    if (rc != ES_OK)
        return rc;
    if ((!plain && h.plaintext_len) || cap < h.plaintext_len)
        return ES_INVALID_ARGUMENT;
    if ((rc = s_check_initial(s, &h)) != ES_OK)
        return rc;

    /* 1. a skipped key */
    for (uint32_t i = 0; i < s->nskipped; i++) {
        if (s->skipped[i].n != h.n || sodium_memcmp(s->skipped[i].dh, h.dh, 32) != 0)
            continue;
        rc = s_open(s, s->skipped[i].mk, msg, msg_len, h.header_len, plain, plain_len);
        if (rc == ES_OK)
            s_skipped_remove(s, i);
        return rc;
    }

    /* 2. a past chain: its keys are gone */
    for (uint32_t i = 0; i < s->nprev; i++)
        if (sodium_memcmp(s->prev[i], h.dh, 32) == 0)
            return ES_ALREADY_EXISTS;

    /* 3. the current receiving chain or a new one */
    uint8_t rk[32], ck[32], mk[32], dh[32];
    uint32_t k = 0, old = 0;
    int same = (s->flags & E2E_F_HAS_DHR) && sodium_memcmp(h.dh, s->dhr, 32) == 0;
    if (same) {
        if (!(s->flags & E2E_F_HAS_CKR))
            return ES_UNAUTHENTICATED; /* our own sending target: no peer sends on it */
        if (h.n < s->nr)
            return ES_ALREADY_EXISTS;
        if (h.n - s->nr > E2E_MAX_SKIP)
            return ES_RESOURCE_EXHAUSTED;
        if ((rc = e2e_session_reserve(s, h.n - s->nr)) != ES_OK)
            return rc;
        memcpy(ck, s->ckr, 32);
        s_skip(s, &k, h.dh, ck, s->nr, h.n);
    } else {
        if ((s->flags & E2E_F_HAS_CKR) && h.pn > s->nr)
            old = h.pn - s->nr;
        if (old + h.n > E2E_MAX_SKIP)
            return ES_RESOURCE_EXHAUSTED;
        if (crypto_scalarmult(dh, s->dhs_sk, h.dh) != 0)
            return ES_INVALID_ARGUMENT; /* low-order ratchet key */
        if ((rc = e2e_session_reserve(s, old + h.n)) != ES_OK)
            goto wipe;
        if (old) {
            memcpy(ck, s->ckr, 32);
            s_skip(s, &k, s->dhr, ck, s->nr, h.pn);
        }
        e2e_kdf_root(rk, ck, s->rk, dh);
        s_skip(s, &k, h.dh, ck, 0, h.n);
    }
    e2e_kdf_chain(ck, mk, ck);
    rc = s_open(s, mk, msg, msg_len, h.header_len, plain, plain_len);
    if (rc != ES_OK) {
        sodium_memzero(s->skipped + s->nskipped, k * sizeof *s->skipped);
        goto wipe;
    }

    /* 4. commit */
    s->nskipped += k;
    s_skipped_trim(s);
    if (!same && (s->flags & E2E_F_HAS_CKR))
        s_prev_push(s);
    if (!same) {
        memcpy(s->rk, rk, 32);
        memcpy(s->dhr, h.dh, 32);
        s->flags |= E2E_F_HAS_DHR | E2E_F_HAS_CKR | E2E_F_SEND_STEP;
    }
    memcpy(s->ckr, ck, 32);
    s->nr = h.n + 1;
    s->flags &= (uint8_t)~E2E_F_X3DH_PENDING;
wipe:
    sodium_memzero(rk, sizeof rk);
    sodium_memzero(ck, sizeof ck);
    sodium_memzero(mk, sizeof mk);
    sodium_memzero(dh, sizeof dh);
    return rc;
}

int e2e_session_send_step_pending(const e2e_session_t *s)
{
    return (s->flags & E2E_F_SEND_STEP) != 0;
}

int e2e_session_encrypt_det(e2e_session_t *s, const uint8_t *plain, size_t plen, uint8_t *out,
                            size_t cap, size_t *out_len, const uint8_t dhs_sk[32])
{
    if (!s || (!plain && plen) || !out || !out_len)
        return ES_INVALID_ARGUMENT;
    if (plen > E2E_MAX_PLAINTEXT)
        return ES_TOO_LARGE;
    int initial = (s->flags & E2E_F_X3DH_PENDING) != 0;
    int step = (s->flags & E2E_F_SEND_STEP) != 0;
    if (cap < E2E_MESSAGE_LEN(initial, plen) || (step && !dhs_sk))
        return ES_INVALID_ARGUMENT;
    if (!step && !(s->flags & E2E_F_HAS_CKS))
        return ES_FAILED_PRECONDITION; /* a responder sends after the first message only */

    uint8_t rk[32], cks[32], sk[32], pk[32], dh[32], mk[32], key[32], nonce[E2E_AEAD_NONCE_BYTES];
    uint8_t ad[S_AD_MAX];
    uint32_t ns = s->ns, pn = s->pn;
    int rc = ES_OK;
    memcpy(rk, s->rk, 32);
    memcpy(cks, s->cks, 32);
    memcpy(sk, s->dhs_sk, 32);
    memcpy(pk, s->dhs_pk, 32);
    if (step) {
        memcpy(sk, dhs_sk, 32);
        if (crypto_scalarmult_base(pk, sk) != 0 || crypto_scalarmult(dh, sk, s->dhr) != 0) {
            rc = ES_INTERNAL; /* dhr was checked when it arrived */
            goto wipe;
        }
        e2e_kdf_root(rk, cks, s->rk, dh);
        pn = ns;
        ns = 0;
    }
    if (ns >= E2E_MAX_CHAIN) {
        rc = ES_RESOURCE_EXHAUSTED;
        goto wipe;
    }
    e2e_kdf_chain(cks, mk, cks);

    e2e_message_info_t h = {.initial = (uint8_t)initial, .pn = pn, .n = ns};
    memcpy(h.dh, pk, 32);
    if (initial) {
        memcpy(h.ik, s->ad, 32);
        memcpy(h.ek, s->ek, 32);
        h.spk_id = s->spk_id;
        h.opk_kind = s->opk_kind;
        h.opk_id = s->opk_id;
    }
    size_t hlen = e2e_header_encode(&h, out);
    size_t adlen = s_ad(ad, s, out, hlen);
    e2e_kdf_message(key, nonce, mk);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + hlen, NULL, plain, plen, ad, adlen, NULL,
                                               nonce, key);
    *out_len = hlen + plen + E2E_TAG_BYTES;

    memcpy(s->rk, rk, 32);
    memcpy(s->cks, cks, 32);
    memcpy(s->dhs_sk, sk, 32);
    memcpy(s->dhs_pk, pk, 32);
    s->pn = pn;
    s->ns = ns + 1;
    s->flags = (uint8_t)((s->flags | E2E_F_HAS_CKS) & ~E2E_F_SEND_STEP);
wipe:
    sodium_memzero(rk, sizeof rk);
    sodium_memzero(cks, sizeof cks);
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(dh, sizeof dh);
    sodium_memzero(mk, sizeof mk);
    sodium_memzero(key, sizeof key);
    return rc;
}

int e2e_session_encrypt(e2e_session_t *s, const uint8_t *plain, size_t plen, uint8_t *out,
                        size_t cap, size_t *out_len)
{
    uint8_t sk[32];
    randombytes_buf(sk, sizeof sk);
    int rc = e2e_session_encrypt_det(s, plain, plen, out, cap, out_len, sk);
    sodium_memzero(sk, sizeof sk);
    return rc;
}
