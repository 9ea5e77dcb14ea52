/*
 * hist.h - a latency histogram with log-linear buckets (the HdrHistogram
 * idea, small): exact below HIST_SUB, then each power of two is cut into
 * HIST_SUB / 2 equal buckets, so every recorded value is known to within
 * 1 / (HIST_SUB / 2) = 1.6 % of itself, whatever its size, in a fixed
 * 18 KiB table.
 *
 * Values are non-negative integers in whatever unit the caller picks
 * (espace-load records microseconds). Negative values count as 0; values
 * over HIST_MAX_VALUE count as HIST_MAX_VALUE (and in hist_clamped).
 *
 * Percentiles: hist_percentile(h, p) is the highest value of the bucket
 * holding the ceil(p/100 * count)-th smallest recording (HdrHistogram's
 * "highest equivalent value"), never above the largest value recorded. So a
 * reported p99 is never below the true p99 and at most 1.6 % above it.
 *
 * Memory: hist_new allocates, hist_destroy frees and NULLs.
 * THREAD SAFETY: none; one owner (espace-load uses one thread).
 */
#ifndef ES_LOAD_HIST_H
#define ES_LOAD_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)         /* exact values below this */
#define HIST_MAX_BITS 40                       /* largest power of two kept */
#define HIST_MAX_VALUE ((INT64_C(1) << HIST_MAX_BITS) - 1) /* ~12.7 days in us */

typedef struct hist hist_t;

/* A new empty histogram: 0, or ES_RESOURCE_EXHAUSTED. */
int hist_new(hist_t **out);

/* Free; idempotent; NULLs *h. */
void hist_destroy(hist_t **h);

/* Forget every recording. */
void hist_reset(hist_t *h);

/* Record `value` once / n times. */
void hist_record(hist_t *h, int64_t value);
void hist_record_n(hist_t *h, int64_t value, uint64_t n);

/* Add every recording of src into dst. */
void hist_merge(hist_t *dst, const hist_t *src);

uint64_t hist_count(const hist_t *h);
uint64_t hist_clamped(const hist_t *h); /* recordings above HIST_MAX_VALUE */
int64_t hist_min(const hist_t *h);      /* 0 when empty */
int64_t hist_max(const hist_t *h);      /* 0 when empty (clamped values: HIST_MAX_VALUE) */
double hist_mean(const hist_t *h);      /* exact (sum / count), 0 when empty */

/* The p-th percentile, p in [0, 100] (clamped): see above. 0 when empty. */
int64_t hist_percentile(const hist_t *h, double p);

/* Bucket arithmetic, exposed for the tests: the bucket of a value, and the
 * lowest and highest value a bucket holds. HIST_BUCKETS buckets in all. */
#define HIST_BUCKETS (HIST_SUB + (HIST_MAX_BITS - HIST_SUB_BITS) * (HIST_SUB / 2))
unsigned hist_bucket_of(int64_t value);
int64_t hist_bucket_low(unsigned bucket);
int64_t hist_bucket_high(unsigned bucket);

#endif
