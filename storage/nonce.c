/*
 * nonce.c - the nonces of sealed values (store_int.h store_nonce): drawn
 * from a per-thread pool of random bytes, refilled with randombytes_buf
 * one block at a time, instead of one getrandom system call per value.
 *
 * Why random nonces stay safe: a value is sealed with XChaCha20-Poly1305,
 * whose nonce is 192 bits. Every nonce is still 24 fresh bytes of the
 * system's CSPRNG (only fetched 170 at a time), so two values share a nonce
 * with probability about n^2 / 2^193: below 2^-100 after 2^46 values under
 * one key. Nonces are not secret (they are stored next to the ciphertext),
 * so holding them in memory before use exposes nothing.
 *
 * What could repeat a nonce, and why it does not:
 *   - two threads: each has its own pool (thread-local), filled by its own
 *     randombytes_buf calls;
 *   - fork: a child would inherit its parent's unused pool and hand out the
 *     same nonces as the parent. A pthread_atfork child handler empties the
 *     pool of the thread that forked (the only thread of the child), so the
 *     child refills from the CSPRNG first;
 *   - bytes handed out twice: a nonce's bytes are zeroed as they are taken.
 */
#include "storage/store_int.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#define S_POOL_NONCES 170 /* nonces per refill: one 4 KiB getrandom */

typedef struct s_pool {
    size_t used; /* nonces taken from bytes since the last refill */
    int filled;  /* bytes holds a refill */
    uint8_t bytes[S_POOL_NONCES * STORE_NONCE_BYTES];
} s_pool_t;

static _Thread_local s_pool_t s_pool;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

/* In the child of a fork: forget the parent's pool. */
static void s_after_fork_child(void)
{
    sodium_memzero(&s_pool, sizeof s_pool);
}

static void s_register(void)
{
    (void)pthread_atfork(NULL, NULL, s_after_fork_child);
}

void store_nonce(uint8_t out[STORE_NONCE_BYTES])
{
    (void)pthread_once(&s_once, s_register);
    if (!s_pool.filled || s_pool.used == S_POOL_NONCES) {
        randombytes_buf(s_pool.bytes, sizeof s_pool.bytes);
        s_pool.used = 0;
        s_pool.filled = 1;
    }
    uint8_t *n = s_pool.bytes + s_pool.used++ * STORE_NONCE_BYTES;
    memcpy(out, n, STORE_NONCE_BYTES);
    sodium_memzero(n, STORE_NONCE_BYTES);
}
