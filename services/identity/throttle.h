/*
 * throttle.h - rate limits of the identity service: token buckets kept in
 * memory, in a table of bounded size (GCRA: one "theoretical arrival time"
 * per bucket).
 *
 * A rule is a burst and a refill interval: a full bucket holds `burst`
 * tokens, each taken token comes back `refill_ms` later. A bucket is named
 * by a THROTTLE_KEY_BYTES key that the caller derives with a keyed hash
 * (throttle_key), so the table holds no personal data and nobody outside
 * can aim keys at one set of the table. A key never seen is a full bucket.
 *
 * Bounds: the table has a fixed number of slots in sets of THROTTLE_WAYS.
 * A new key takes a slot of its set whose bucket is full again (nothing is
 * lost), else the slot closest to full: under a flood of distinct keys the
 * buckets that are nearly full are forgotten first.
 *
 * The state is lost at restart (a restart refills every bucket).
 *
 * THREAD SAFETY: none; one throttle_t per thread (identity's service
 * thread). The functions are pure given `now`.
 */
#ifndef ES_THROTTLE_H
#define ES_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#define THROTTLE_KEY_BYTES 32
#define THROTTLE_WAYS 8 /* slots per set */

typedef struct throttle_rule {
    uint32_t burst;    /* tokens of a full bucket (>= 1) */
    int64_t refill_ms; /* one token comes back after this (>= 1) */
} throttle_rule_t;

typedef struct throttle throttle_t;

/* A table of about `slots` buckets (rounded up to whole sets; at least one
 * set) and a fresh random key for throttle_key. 0 or ES_RESOURCE_EXHAUSTED. */
int throttle_new(size_t slots, throttle_t **out);
/* Free t and NULL it (idempotent). */
void throttle_destroy(throttle_t **t);

/* The key of the bucket named by (label, a, b): BLAKE2b under t's secret
 * key, domain-separated by label; a and b (alen, blen bytes) may be empty. */
void throttle_key(const throttle_t *t, const char *label, const void *a, size_t alen,
                  const void *b, size_t blen, uint8_t key[THROTTLE_KEY_BYTES]);

/* Milliseconds until bucket `key` holds a token under r at now: 0 when it
 * holds one. */
int64_t throttle_wait_ms(const throttle_t *t, const uint8_t key[THROTTLE_KEY_BYTES],
                         const throttle_rule_t *r, int64_t now);

/* Take a token from bucket `key`: 0, or ES_RESOURCE_EXHAUSTED when it is
 * empty (nothing taken). */
int throttle_take(throttle_t *t, const uint8_t key[THROTTLE_KEY_BYTES], const throttle_rule_t *r,
                  int64_t now);

/* Refill bucket `key` (forget it). */
void throttle_forget(throttle_t *t, const uint8_t key[THROTTLE_KEY_BYTES]);

#endif
