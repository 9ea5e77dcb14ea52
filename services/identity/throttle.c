/*
 * throttle.c - token buckets in a bounded table (throttle.h).
 */
#include "services/identity/throttle.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/status.h"

typedef struct throttle_slot {
    uint8_t key[THROTTLE_KEY_BYTES];
    int64_t tat; /* theoretical arrival time: full again at tat; 0 = unused */
} throttle_slot_t;

struct throttle {
    uint8_t secret[crypto_generichash_KEYBYTES];
    size_t sets;
    throttle_slot_t *slots; /* sets * THROTTLE_WAYS */
};

int throttle_new(size_t slots, throttle_t **out)
{
    *out = NULL;
    throttle_t *t = calloc(1, sizeof *t);
    if (!t)
        return ES_RESOURCE_EXHAUSTED;
    t->sets = (slots + THROTTLE_WAYS - 1) / THROTTLE_WAYS;
    if (t->sets == 0)
        t->sets = 1;
    t->slots = calloc(t->sets * THROTTLE_WAYS, sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return ES_RESOURCE_EXHAUSTED;
    }
    randombytes_buf(t->secret, sizeof t->secret);
    *out = t;
    return 0;
}

void throttle_destroy(throttle_t **t)
{
    if (!t || !*t)
        return;
    sodium_memzero((*t)->secret, sizeof (*t)->secret);
    free((*t)->slots);
    free(*t);
    *t = NULL;
}

void throttle_key(const throttle_t *t, const char *label, const void *a, size_t alen,
                  const void *b, size_t blen, uint8_t key[THROTTLE_KEY_BYTES])
{
    crypto_generichash_state s;
    uint8_t la = (uint8_t)(alen > 255 ? 255 : alen); /* lengths keep (a, b) unambiguous */
    crypto_generichash_init(&s, t->secret, sizeof t->secret, THROTTLE_KEY_BYTES);
    crypto_generichash_update(&s, (const uint8_t *)label, strlen(label) + 1);
    crypto_generichash_update(&s, &la, 1);
    if (alen)
        crypto_generichash_update(&s, a, la);
    if (blen)
        crypto_generichash_update(&s, b, blen);
    crypto_generichash_final(&s, key, THROTTLE_KEY_BYTES);
}

/* The set of key: its first 8 bytes (uniform: a keyed hash). */
static throttle_slot_t *s_set(const throttle_t *t, const uint8_t key[THROTTLE_KEY_BYTES])
{
    uint64_t h;
    memcpy(&h, key, sizeof h);
    return &t->slots[(h % t->sets) * THROTTLE_WAYS];
}

static throttle_slot_t *s_find(const throttle_t *t, const uint8_t key[THROTTLE_KEY_BYTES])
{
    throttle_slot_t *set = s_set(t, key);
    for (size_t i = 0; i < THROTTLE_WAYS; i++)
        if (set[i].tat != 0 && memcmp(set[i].key, key, THROTTLE_KEY_BYTES) == 0)
            return &set[i];
    return NULL;
}

int64_t throttle_wait_ms(const throttle_t *t, const uint8_t key[THROTTLE_KEY_BYTES],
                         const throttle_rule_t *r, int64_t now)
{
    const throttle_slot_t *s = s_find(t, key);
    if (!s || s->tat <= now)
        return 0;
    /* a token is there while tat + refill <= now + burst * refill */
    int64_t over = s->tat + r->refill_ms - (now + (int64_t)r->burst * r->refill_ms);
    return over > 0 ? over : 0;
}

int throttle_take(throttle_t *t, const uint8_t key[THROTTLE_KEY_BYTES], const throttle_rule_t *r,
                  int64_t now)
{
    if (throttle_wait_ms(t, key, r, now) > 0)
        return ES_RESOURCE_EXHAUSTED;
    throttle_slot_t *s = s_find(t, key);
    if (!s) {
        /* a slot full again, else the one closest to full */
        throttle_slot_t *set = s_set(t, key);
        s = &set[0];
        for (size_t i = 0; i < THROTTLE_WAYS; i++) {
            if (set[i].tat <= now) {
                s = &set[i];
                break;
            }
            if (set[i].tat < s->tat)
                s = &set[i];
        }
        memcpy(s->key, key, THROTTLE_KEY_BYTES);
        s->tat = 0;
    }
    s->tat = (s->tat > now ? s->tat : now) + r->refill_ms;
    return 0;
}

void throttle_forget(throttle_t *t, const uint8_t key[THROTTLE_KEY_BYTES])
{
    throttle_slot_t *s = s_find(t, key);
    if (s)
        memset(s, 0, sizeof *s);
}
