/* session.c - a session's life: allocation, the skipped-key store, the
 * peer's identity, serialization (docs/e2e.md "Session state") and
 * destruction. The ratchet itself is in ratchet.c. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "clients/e2e/e2e_int.h"

/* Serialized size of everything but the skipped keys. */
#define S_FIXED (1 + 1 + 64 + 6 * 32 + 3 * 4 + 32 + 4 + 1 + 4 + 1 + 32 * E2E_MAX_PREV_CHAINS + 4)
#define S_FORMAT 1

e2e_session_t *e2e_session_alloc(void)
{
    return calloc(1, sizeof(e2e_session_t));
}

int e2e_session_reserve(e2e_session_t *s, uint32_t more)
{
    uint32_t need = s->nskipped + more; /* both <= E2E_MAX_SKIPPED + E2E_MAX_SKIP */
    if (need <= s->skipped_cap)
        return ES_OK;
    e2e_skipped_t *p = calloc(need, sizeof *p);
    if (!p)
        return ES_RESOURCE_EXHAUSTED;
    if (s->skipped) {
        memcpy(p, s->skipped, s->nskipped * sizeof *p);
        sodium_memzero(s->skipped, s->skipped_cap * sizeof *p);
        free(s->skipped);
    }
    s->skipped = p;
    s->skipped_cap = need;
    return ES_OK;
}

void e2e_session_destroy(e2e_session_t **sp)
{
    if (!sp || !*sp)
        return;
    e2e_session_t *s = *sp;
    if (s->skipped) {
        sodium_memzero(s->skipped, s->skipped_cap * sizeof *s->skipped);
        free(s->skipped);
    }
    sodium_memzero(s, sizeof *s);
    free(s);
    *sp = NULL;
}

void e2e_session_peer_identity(const e2e_session_t *s, uint8_t ik[E2E_KEY_BYTES])
{
    memcpy(ik, s->ad + ((s->flags & E2E_F_INITIATOR) ? E2E_KEY_BYTES : 0), E2E_KEY_BYTES);
}

void e2e_session_local_identity(const e2e_session_t *s, uint8_t ik[E2E_KEY_BYTES])
{
    memcpy(ik, s->ad + ((s->flags & E2E_F_INITIATOR) ? 0 : E2E_KEY_BYTES), E2E_KEY_BYTES);
}

size_t e2e_session_serialized_size(const e2e_session_t *s)
{
    return S_FIXED + (size_t)s->nskipped * E2E_SKIPPED_BYTES;
}

/* ---- byte writer / reader ---- */

static uint8_t *s_put(uint8_t *p, const void *v, size_t n)
{
    memcpy(p, v, n);
    return p + n;
}

static uint8_t *s_put32(uint8_t *p, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return s_put(p, b, 4);
}

static const uint8_t *s_get(const uint8_t *p, void *v, size_t n)
{
    memcpy(v, p, n);
    return p + n;
}

static const uint8_t *s_get32(const uint8_t *p, uint32_t *v)
{
    *v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return p + 4;
}

int e2e_session_serialize(const e2e_session_t *s, uint8_t *out, size_t cap, size_t *len)
{
    if (!s || !out || !len || cap < e2e_session_serialized_size(s))
        return ES_INVALID_ARGUMENT;
    uint8_t *p = out;
    *p++ = S_FORMAT;
    *p++ = s->flags;
    p = s_put(p, s->ad, sizeof s->ad);
    p = s_put(p, s->rk, 32);
    p = s_put(p, s->dhs_sk, 32);
    p = s_put(p, s->dhs_pk, 32);
    p = s_put(p, s->dhr, 32);
    p = s_put(p, s->cks, 32);
    p = s_put(p, s->ckr, 32);
    p = s_put32(p, s->ns);
    p = s_put32(p, s->nr);
    p = s_put32(p, s->pn);
    p = s_put(p, s->ek, 32);
    p = s_put32(p, s->spk_id);
    *p++ = s->opk_kind;
    p = s_put32(p, s->opk_id);
    *p++ = s->nprev;
    p = s_put(p, s->prev, sizeof s->prev);
    p = s_put32(p, s->nskipped);
    for (uint32_t i = 0; i < s->nskipped; i++) {
        p = s_put(p, s->skipped[i].dh, 32);
        p = s_put32(p, s->skipped[i].n);
        p = s_put(p, s->skipped[i].mk, 32);
    }
    *len = (size_t)(p - out);
    return ES_OK;
}

/* The invariants every session keeps (so a deserialized one is canonical:
 * serializing it again gives the same bytes). */
static int s_valid(const e2e_session_t *s)
{
    uint8_t pk[32];
    uint8_t f = s->flags;
    if ((f & ~E2E_F_ALL) || ((f & E2E_F_X3DH_PENDING) && !(f & E2E_F_INITIATOR)) ||
        ((f & E2E_F_SEND_STEP) && !(f & E2E_F_HAS_DHR)) ||
        ((f & E2E_F_HAS_CKR) && !(f & E2E_F_HAS_DHR)))
        return 0;
    if (!(f & E2E_F_HAS_DHR) && !sodium_is_zero(s->dhr, 32))
        return 0;
    if (!(f & E2E_F_HAS_CKS) && !sodium_is_zero(s->cks, 32))
        return 0;
    if (!(f & E2E_F_HAS_CKR) && !sodium_is_zero(s->ckr, 32))
        return 0;
    if (s->ns > E2E_MAX_CHAIN || s->nr > E2E_MAX_CHAIN || s->pn > E2E_MAX_CHAIN)
        return 0;
    if (s->opk_kind != E2E_PREKEY_NONE && s->opk_kind != E2E_PREKEY_ONE_TIME &&
        s->opk_kind != E2E_PREKEY_LAST_RESORT)
        return 0;
    if (crypto_scalarmult_base(pk, s->dhs_sk) != 0 || sodium_memcmp(pk, s->dhs_pk, 32) != 0)
        return 0;
    if (s->nprev > E2E_MAX_PREV_CHAINS ||
        !sodium_is_zero((const uint8_t *)s->prev + (size_t)s->nprev * 32,
                        (E2E_MAX_PREV_CHAINS - s->nprev) * 32))
        return 0;
    for (uint32_t i = 0; i < s->nskipped; i++)
        if (s->skipped[i].n >= E2E_MAX_CHAIN)
            return 0;
    return 1;
}

int e2e_session_deserialize(e2e_session_t **out, const uint8_t *in, size_t len)
{
    if (!out)
        return ES_INVALID_ARGUMENT;
    *out = NULL;
    if (!in || len < S_FIXED || in[0] != S_FORMAT)
        return ES_INVALID_ARGUMENT;
    uint32_t nskipped;
    s_get32(in + S_FIXED - 4, &nskipped);
    if (nskipped > E2E_MAX_SKIPPED || len != S_FIXED + (size_t)nskipped * E2E_SKIPPED_BYTES)
        return ES_INVALID_ARGUMENT;
    e2e_session_t *s = e2e_session_alloc();
    if (!s || e2e_session_reserve(s, nskipped) != ES_OK) {
        e2e_session_destroy(&s);
        return ES_RESOURCE_EXHAUSTED;
    }
    const uint8_t *p = in + 1;
    s->flags = *p++;
    p = s_get(p, s->ad, sizeof s->ad);
    p = s_get(p, s->rk, 32);
    p = s_get(p, s->dhs_sk, 32);
    p = s_get(p, s->dhs_pk, 32);
    p = s_get(p, s->dhr, 32);
    p = s_get(p, s->cks, 32);
    p = s_get(p, s->ckr, 32);
    p = s_get32(p, &s->ns);
    p = s_get32(p, &s->nr);
    p = s_get32(p, &s->pn);
    p = s_get(p, s->ek, 32);
    p = s_get32(p, &s->spk_id);
    s->opk_kind = *p++;
    p = s_get32(p, &s->opk_id);
    s->nprev = *p++;
    p = s_get(p, s->prev, sizeof s->prev);
    p += 4; /* nskipped, read above */
    for (uint32_t i = 0; i < nskipped; i++) {
        p = s_get(p, s->skipped[i].dh, 32);
        p = s_get32(p, &s->skipped[i].n);
        p = s_get(p, s->skipped[i].mk, 32);
    }
    s->nskipped = nskipped;
    if (!s_valid(s)) {
        e2e_session_destroy(&s);
        return ES_INVALID_ARGUMENT;
    }
    *out = s;
    return ES_OK;
}
