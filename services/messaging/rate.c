/*
 * rate.c - token buckets in the service's memory, keyed by 32-byte keyed
 * hashes (a sender principal, a sender -> recipient pair, a claimer). A
 * fixed table, open addressing with a short probe: when the probed slots
 * are all taken, the fullest bucket (after refill) is reused, so a busy
 * table forgets first the keys that are not being limited.
 *
 * Buckets live outside the store: a restart refills them, and a handler
 * replayed after map growth takes its token twice (harmless: a limit, not
 * an account).
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "services/messaging/messaging_int.h"

#define S_PROBE 8

typedef struct s_bucket {
    uint8_t key[MSG_HASH];
    int used;
    double tokens;
    int64_t last_ms;
} s_bucket_t;

struct msg_rate {
    size_t slots;
    s_bucket_t b[];
};

msg_rate_t *msg_rate_new(size_t slots)
{
    if (slots == 0)
        return NULL;
    msg_rate_t *r = calloc(1, sizeof *r + slots * sizeof(s_bucket_t));
    if (r)
        r->slots = slots;
    return r;
}

void msg_rate_destroy(msg_rate_t **r)
{
    if (r && *r) {
        free(*r);
        *r = NULL;
    }
}

static void s_refill(s_bucket_t *b, unsigned per_min, unsigned burst, int64_t now_ms)
{
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * per_min / 60000.0;
        b->last_ms = now_ms;
    }
    if (b->tokens > burst)
        b->tokens = burst;
}

static s_bucket_t *s_bucket(msg_rate_t *r, const uint8_t key[MSG_HASH], unsigned per_min,
                            unsigned burst, int64_t now_ms)
{
    uint64_t h;
    memcpy(&h, key, sizeof h);
    s_bucket_t *victim = NULL;
    for (size_t p = 0; p < S_PROBE && p < r->slots; p++) {
        s_bucket_t *b = &r->b[(h + p) % r->slots];
        if (b->used && memcmp(b->key, key, MSG_HASH) == 0) {
            s_refill(b, per_min, burst, now_ms);
            return b;
        }
        if (!b->used) {
            if (!victim || victim->used)
                victim = b;
            continue;
        }
        if (victim && !victim->used)
            continue;
        s_refill(b, per_min, burst, now_ms);
        if (!victim || b->tokens > victim->tokens)
            victim = b;
    }
    memcpy(victim->key, key, MSG_HASH);
    victim->used = 1;
    victim->tokens = burst;
    victim->last_ms = now_ms;
    return victim;
}

int msg_rate_take_n(msg_rate_t *r, const uint8_t key[MSG_HASH], unsigned per_min,
                    unsigned burst, unsigned n, int64_t now_ms)
{
    s_bucket_t *b = s_bucket(r, key, per_min, burst, now_ms);
    if (b->tokens < (double)n)
        return 0;
    b->tokens -= n;
    return 1;
}

int msg_rate_take(msg_rate_t *r, const uint8_t key[MSG_HASH], unsigned per_min, unsigned burst,
                  int64_t now_ms)
{
    return msg_rate_take_n(r, key, per_min, burst, 1, now_ms);
}

void msg_rate_key(uint8_t out[MSG_HASH], const char *tag, const uint8_t a[MSG_HASH],
                  const uint8_t *b)
{
    crypto_generichash_state s;
    crypto_generichash_init(&s, NULL, 0, MSG_HASH);
    crypto_generichash_update(&s, (const uint8_t *)tag, strlen(tag) + 1);
    crypto_generichash_update(&s, a, MSG_HASH);
    if (b)
        crypto_generichash_update(&s, b, MSG_HASH);
    crypto_generichash_final(&s, out, MSG_HASH);
}
