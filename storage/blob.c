/*
 * blob.c - byte objects stored in pieces (blob.h). Moved here from the
 * messaging attachments so that messaging and dmp share one implementation.
 */
#include "storage/blob.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "proto/status.h"

#define S_BATCH 64 /* keys deleted per cursor pass */

static void s_key(uint8_t k[BLOB_KEY_BYTES], const uint8_t id[BLOB_ID_BYTES], uint64_t off)
{
    memcpy(k, id, BLOB_ID_BYTES);
    store_be64_put(k + BLOB_ID_BYTES, off);
}

static int s_mine(const void *k, size_t kl, const uint8_t id[BLOB_ID_BYTES])
{
    return kl == BLOB_KEY_BYTES && memcmp(k, id, BLOB_ID_BYTES) == 0;
}

int blob_put(store_txn_t *t, const char *table, const uint8_t id[BLOB_ID_BYTES], uint64_t offset,
             const void *data, size_t len)
{
    uint8_t k[BLOB_KEY_BYTES];
    s_key(k, id, offset);
    return store_put(t, table, k, sizeof k, data, len);
}

int blob_delete(store_txn_t *t, const char *table, const uint8_t id[BLOB_ID_BYTES])
{
    for (;;) {
        store_cursor_t *cur = NULL;
        int rc = store_cursor_open(t, table, id, BLOB_ID_BYTES, &cur);
        if (rc != 0)
            return rc == ES_NOT_FOUND ? ES_OK : rc;
        uint8_t keys[S_BATCH][BLOB_KEY_BYTES];
        size_t n = 0;
        const void *k = NULL;
        size_t kl = 0;
        while (n < S_BATCH && (rc = store_cursor_next(cur, &k, &kl, NULL, NULL)) == 0 &&
               s_mine(k, kl, id))
            memcpy(keys[n++], k, BLOB_KEY_BYTES);
        store_cursor_close(&cur);
        if (rc != 0 && rc != ES_NOT_FOUND)
            return rc;
        for (size_t i = 0; i < n; i++)
            if ((rc = store_del(t, table, keys[i], BLOB_KEY_BYTES)) != 0)
                return rc;
        if (n < S_BATCH)
            return ES_OK;
    }
}

int blob_hash(store_txn_t *t, const char *table, const uint8_t id[BLOB_ID_BYTES], uint64_t size,
              uint8_t out[BLOB_HASH_BYTES])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, BLOB_HASH_BYTES);
    store_cursor_t *cur = NULL;
    int rc = store_cursor_open(t, table, id, BLOB_ID_BYTES, &cur);
    uint64_t at = 0;
    while (rc == 0) {
        const void *k = NULL, *v = NULL;
        size_t kl = 0, vl = 0;
        rc = store_cursor_next(cur, &k, &kl, &v, &vl);
        if (rc != 0 || !s_mine(k, kl, id))
            break;
        if (store_be64_get((const uint8_t *)k + BLOB_ID_BYTES) != at) {
            rc = ES_INTERNAL;
            break;
        }
        crypto_generichash_update(&h, v, vl);
        at += vl;
    }
    store_cursor_close(&cur);
    if (rc == ES_NOT_FOUND || rc == 0)
        rc = at == size ? ES_OK : ES_INTERNAL;
    crypto_generichash_final(&h, out, BLOB_HASH_BYTES);
    return rc;
}

int blob_read(store_txn_t *t, const char *table, const uint8_t id[BLOB_ID_BYTES], uint64_t offset,
              uint8_t *buf, size_t max, size_t *n)
{
    *n = 0;
    if (offset == UINT64_MAX)
        return ES_INTERNAL;
    /* The piece holding offset: the last key at or before id | offset. */
    uint8_t from[BLOB_KEY_BYTES];
    s_key(from, id, offset + 1);
    store_cursor_t *cur = NULL;
    int rc = store_cursor_open_reverse(t, table, from, sizeof from, &cur);
    const void *k = NULL;
    size_t kl = 0;
    if (rc == 0)
        rc = store_cursor_next(cur, &k, &kl, NULL, NULL);
    uint8_t start[BLOB_KEY_BYTES];
    if (rc == 0 && !s_mine(k, kl, id))
        rc = ES_INTERNAL;
    if (rc == 0)
        memcpy(start, k, BLOB_KEY_BYTES);
    store_cursor_close(&cur);
    if (rc != 0)
        return rc == ES_NOT_FOUND ? ES_INTERNAL : rc;
    if ((rc = store_cursor_open(t, table, start, sizeof start, &cur)) != 0)
        return rc;
    uint64_t at = offset;
    while (*n < max) {
        const void *v = NULL;
        size_t vl = 0;
        rc = store_cursor_next(cur, &k, &kl, &v, &vl);
        if (rc != 0 || !s_mine(k, kl, id))
            break;
        uint64_t off = store_be64_get((const uint8_t *)k + BLOB_ID_BYTES);
        if (at < off || at - off >= vl) {
            rc = ES_INTERNAL;
            break;
        }
        size_t skip = (size_t)(at - off), take = vl - skip;
        if (take > max - *n)
            take = max - *n;
        memcpy(buf + *n, (const uint8_t *)v + skip, take);
        *n += take;
        at += take;
    }
    store_cursor_close(&cur);
    return rc == ES_NOT_FOUND || rc == 0 ? ES_OK : rc;
}

static int s_err(blob_err_t *err, int status, const char *field)
{
    err->status = status;
    err->field = field;
    return status;
}

int blob_piece_check(uint64_t next, uint64_t size, uint64_t offset, size_t len, size_t min,
                     size_t max, blob_err_t *err)
{
    err->msg[0] = '\0';
    if (offset != next) {
        snprintf(err->msg, sizeof err->msg, "next offset is %llu", (unsigned long long)next);
        return s_err(err, ES_FAILED_PRECONDITION, "offset");
    }
    if (len == 0 || len > max) {
        snprintf(err->msg, sizeof err->msg, "1..%zu bytes", max);
        return s_err(err, len ? ES_TOO_LARGE : ES_INVALID_ARGUMENT, "data");
    }
    if (offset > size || len > size - offset) {
        snprintf(err->msg, sizeof err->msg, "past the declared size");
        return s_err(err, ES_INVALID_ARGUMENT, "data");
    }
    if (len < min && offset + len < size) {
        snprintf(err->msg, sizeof err->msg, "at least %zu bytes but for the last piece", min);
        return s_err(err, ES_INVALID_ARGUMENT, "data");
    }
    return ES_OK;
}
