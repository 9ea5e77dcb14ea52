/*
 * limit.c - the buckets of unauthenticated calls (edge_int.h): one token
 * bucket per client address and one for the whole edge. Pure: no lws or
 * zmq calls (edge_addr_of_fd reads the socket's peer once).
 *
 * The per-address table is bounded: EDGE_UNAUTH_ADDR_SLOTS buckets in sets
 * of S_WAYS, the set chosen by a keyed hash (a fresh random key per edge,
 * so nobody can aim addresses at one set). A new address takes a slot of
 * its set whose bucket is full again (nothing is lost), else the one
 * closest to full: under a flood of distinct addresses the buckets nearly
 * full are forgotten first, and the global bucket still holds.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/status.h"
#include "services/edge/edge_int.h"

#define S_WAYS 8 /* slots per set */

typedef struct s_slot {
    uint8_t key[EDGE_ADDR_KEY];
    uint8_t key_len; /* 0: free */
    edge_bucket_t b;
} s_slot_t;

struct edge_limiter {
    s_slot_t *slots;
    size_t sets;
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
    unsigned addr_rate, addr_burst;
    unsigned rate, burst;
    edge_bucket_t global;
};

/* ---- addresses ---- */

int edge_addr_from_sockaddr(const void *sa, size_t sa_len, edge_addr_t *a)
{
    memset(a, 0, sizeof(*a));
    const struct sockaddr *s = sa;
    if (sa == NULL || sa_len < sizeof(s->sa_family))
        return ES_INVALID_ARGUMENT;
    if (s->sa_family == AF_INET && sa_len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *v4 = sa;
        inet_ntop(AF_INET, &v4->sin_addr, a->text, sizeof(a->text));
        a->key[0] = 4;
        memcpy(a->key + 1, &v4->sin_addr, 4);
        a->key_len = 5;
        return 0;
    }
    if (s->sa_family == AF_INET6 && sa_len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *v6 = sa;
        const uint8_t *b = v6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            inet_ntop(AF_INET, b + 12, a->text, sizeof(a->text));
            a->key[0] = 4;
            memcpy(a->key + 1, b + 12, 4);
            a->key_len = 5;
            return 0;
        }
        inet_ntop(AF_INET6, b, a->text, sizeof(a->text));
        a->key[0] = 6;
        memcpy(a->key + 1, b, 8); /* the /64 */
        a->key_len = 9;
        return 0;
    }
    return ES_INVALID_ARGUMENT;
}

void edge_addr_of_fd(int fd, edge_addr_t *a)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    memset(a, 0, sizeof(*a));
    if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
        (void)edge_addr_from_sockaddr(&ss, len, a);
    if (a->key_len == 0) /* still stamped: the call came through a gateway */
        memcpy(a->text, "unknown", sizeof("unknown"));
}

/* ---- buckets ---- */

edge_limiter_t *edge_limiter_new(size_t slots, unsigned addr_rate, unsigned addr_burst,
                                 unsigned rate, unsigned burst, int64_t now_us)
{
    edge_limiter_t *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->sets = slots / S_WAYS ? slots / S_WAYS : 1;
    l->slots = calloc(l->sets * S_WAYS, sizeof(s_slot_t));
    if (l->slots == NULL) {
        free(l);
        return NULL;
    }
    randombytes_buf(l->hash_key, sizeof(l->hash_key));
    l->addr_rate = addr_rate;
    l->addr_burst = addr_burst;
    l->rate = rate;
    l->burst = burst;
    edge_bucket_init(&l->global, burst, now_us);
    return l;
}

void edge_limiter_destroy(edge_limiter_t **l)
{
    if (l == NULL || *l == NULL)
        return;
    free((*l)->slots);
    sodium_memzero((*l)->hash_key, sizeof((*l)->hash_key));
    free(*l);
    *l = NULL;
}

/* Tokens bucket b would hold at now (not stored). */
static double s_level(const edge_bucket_t *b, unsigned rate, unsigned burst, int64_t now_us)
{
    double t = b->tokens;
    if (now_us > b->last_us)
        t += (double)(now_us - b->last_us) * (double)rate / 1e6;
    return t > (double)burst ? (double)burst : t;
}

/* Milliseconds until b holds one token (>= 1). */
static int64_t s_wait_ms(const edge_bucket_t *b, unsigned rate, unsigned burst, int64_t now_us)
{
    double missing = 1.0 - s_level(b, rate, burst, now_us);
    int64_t ms = rate ? (int64_t)(missing * 1000.0 / (double)rate) + 1 : 60000;
    return ms < 1 ? 1 : ms;
}

/* The bucket of address a: found in its set, or a slot taken for it. */
static edge_bucket_t *s_bucket(edge_limiter_t *l, const edge_addr_t *a, int64_t now_us)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, a->key, a->key_len, l->hash_key);
    uint64_t v;
    memcpy(&v, h, sizeof(v));
    s_slot_t *set = &l->slots[(v % l->sets) * S_WAYS];
    s_slot_t *pick = NULL;
    double best = -1.0;
    for (int i = 0; i < S_WAYS; i++) {
        s_slot_t *s = &set[i];
        if (s->key_len == a->key_len && memcmp(s->key, a->key, a->key_len) == 0)
            return &s->b;
        double level = s->key_len == 0
                           ? (double)l->addr_burst + 1.0
                           : s_level(&s->b, l->addr_rate, l->addr_burst, now_us);
        if (level > best) {
            best = level;
            pick = s;
        }
    }
    memcpy(pick->key, a->key, a->key_len);
    pick->key_len = a->key_len;
    edge_bucket_init(&pick->b, l->addr_burst, now_us);
    return &pick->b;
}

int edge_limiter_take(edge_limiter_t *l, const edge_addr_t *a, int64_t now_us, int *which,
                      int64_t *retry_ms)
{
    edge_bucket_t *b = s_bucket(l, a, now_us);
    if (!edge_bucket_take(b, l->addr_rate, l->addr_burst, now_us)) {
        *which = EDGE_LIMIT_ADDR;
        *retry_ms = s_wait_ms(b, l->addr_rate, l->addr_burst, now_us);
        return ES_RESOURCE_EXHAUSTED;
    }
    /* The address's token stays spent even when the global bucket refuses:
     * refunding it would let every address retry at will while the global
     * bucket is empty, and a few flooding addresses would then take each
     * global token as it comes back. */
    if (!edge_bucket_take(&l->global, l->rate, l->burst, now_us)) {
        *which = EDGE_LIMIT_GLOBAL;
        *retry_ms = s_wait_ms(&l->global, l->rate, l->burst, now_us);
        return ES_RESOURCE_EXHAUSTED;
    }
    return 0;
}
