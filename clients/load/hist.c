/* hist.c - log-linear latency histogram (hist.h). */
#include "clients/load/hist.h"

#include <stdlib.h>
#include <string.h>

#include "proto/status.h"

#define S_HALF (HIST_SUB / 2)

struct hist {
    uint64_t n;
    uint64_t clamped;
    int64_t min;
    int64_t max;
    double sum;
    uint64_t counts[HIST_BUCKETS];
};

int hist_new(hist_t **out)
{
    hist_t *h = calloc(1, sizeof *h);
    if (!h)
        return ES_RESOURCE_EXHAUSTED;
    *out = h;
    return 0;
}

void hist_destroy(hist_t **h)
{
    if (h && *h) {
        free(*h);
        *h = NULL;
    }
}

void hist_reset(hist_t *h)
{
    memset(h, 0, sizeof *h);
}

static int s_msb(uint64_t v) /* v > 0 */
{
    return 63 - __builtin_clzll(v);
}

unsigned hist_bucket_of(int64_t value)
{
    if (value < 0)
        value = 0;
    if (value > HIST_MAX_VALUE)
        value = HIST_MAX_VALUE;
    uint64_t v = (uint64_t)value;
    if (v < HIST_SUB)
        return (unsigned)v;
    /* v >> shift lands in [S_HALF, HIST_SUB) */
    unsigned shift = (unsigned)(s_msb(v) - (HIST_SUB_BITS - 1));
    return HIST_SUB + (shift - 1) * S_HALF + (unsigned)((v >> shift) - S_HALF);
}

int64_t hist_bucket_low(unsigned b)
{
    if (b < HIST_SUB)
        return b;
    unsigned k = b - HIST_SUB;
    unsigned shift = k / S_HALF + 1;
    uint64_t sub = k % S_HALF + S_HALF;
    return (int64_t)(sub << shift);
}

int64_t hist_bucket_high(unsigned b)
{
    if (b < HIST_SUB)
        return b;
    unsigned k = b - HIST_SUB;
    unsigned shift = k / S_HALF + 1;
    uint64_t sub = k % S_HALF + S_HALF;
    return (int64_t)(((sub + 1) << shift) - 1);
}

void hist_record_n(hist_t *h, int64_t value, uint64_t n)
{
    if (n == 0)
        return;
    if (value < 0)
        value = 0;
    if (value > HIST_MAX_VALUE) {
        value = HIST_MAX_VALUE;
        h->clamped += n;
    }
    if (h->n == 0 || value < h->min)
        h->min = value;
    if (h->n == 0 || value > h->max)
        h->max = value;
    h->n += n;
    h->sum += (double)value * (double)n;
    h->counts[hist_bucket_of(value)] += n;
}

void hist_record(hist_t *h, int64_t value)
{
    hist_record_n(h, value, 1);
}

void hist_merge(hist_t *dst, const hist_t *src)
{
    if (src->n == 0)
        return;
    if (dst->n == 0 || src->min < dst->min)
        dst->min = src->min;
    if (dst->n == 0 || src->max > dst->max)
        dst->max = src->max;
    dst->n += src->n;
    dst->clamped += src->clamped;
    dst->sum += src->sum;
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
}

uint64_t hist_count(const hist_t *h) { return h->n; }
uint64_t hist_clamped(const hist_t *h) { return h->clamped; }
int64_t hist_min(const hist_t *h) { return h->n ? h->min : 0; }
int64_t hist_max(const hist_t *h) { return h->n ? h->max : 0; }
double hist_mean(const hist_t *h) { return h->n ? h->sum / (double)h->n : 0.0; }

int64_t hist_percentile(const hist_t *h, double p)
{
    if (h->n == 0)
        return 0;
    if (!(p > 0.0))
        return h->min;
    if (p > 100.0)
        p = 100.0;
    /* rank of the recording asked for, 1-based: ceil(p/100 * n) */
    double want = p / 100.0 * (double)h->n;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want)
        rank++;
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            int64_t v = hist_bucket_high(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}
