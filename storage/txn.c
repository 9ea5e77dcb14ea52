/*
 * txn.c - transactions of store.h: sealed values (XChaCha20-Poly1305 with
 * table and key as associated data), reads, writes, counts and cursors.
 */
#include "storage/store_int.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proto/status.h"

/* Associated data: table name, a 0 byte, key. Returns its length. */
static size_t s_ad(const store_t *s, size_t table, const void *key, size_t klen,
                   uint8_t ad[STORE_AD_MAX])
{
    size_t n = s->name_lens[table];
    memcpy(ad, s->names[table], n);
    ad[n] = 0;
    memcpy(ad + n + 1, key, klen);
    return n + 1 + klen;
}

static store_block_t *s_block(store_txn_t *t, size_t len)
{
    if (len > SIZE_MAX - sizeof(store_block_t))
        return NULL;
    store_block_t *b = malloc(sizeof(*b) + len);
    if (!b)
        return NULL;
    b->len = len;
    b->next = t->blocks;
    t->blocks = b;
    return b;
}

static void s_blocks_free(store_txn_t *t)
{
    while (t->blocks) {
        store_block_t *b = t->blocks;
        t->blocks = b->next;
        sodium_memzero(b->data, b->len);
        free(b);
    }
}

/* Open sealed value `data` of (table, key) into memory owned by t.
 * If kout is non-NULL the key is copied in front of the clear value. */
static int s_open_value(store_txn_t *t, size_t table, const MDB_val *k, const MDB_val *data,
                        const void **kout, const void **val, size_t *vlen)
{
    store_t *s = t->s;
    uint8_t ad[STORE_AD_MAX];
    if (k->mv_size == 0 || k->mv_size > STORE_MAX_KEY)
        return ES_INTERNAL;
    if (data->mv_size < STORE_SEAL_OVERHEAD ||
        data->mv_size - STORE_SEAL_OVERHEAD > STORE_MAX_VALUE)
        return ES_INTERNAL;
    size_t clear = data->mv_size - STORE_SEAL_OVERHEAD;
    size_t kcopy = kout ? k->mv_size : 0;
    int want_val = val != NULL || vlen != NULL;
    store_block_t *b = s_block(t, kcopy + (want_val ? clear : 0));
    if (!b)
        return ES_RESOURCE_EXHAUSTED;
    if (kout) {
        memcpy(b->data, k->mv_data, k->mv_size);
        *kout = b->data;
    }
    if (!want_val)
        return ES_OK;
    size_t adlen = s_ad(s, table, k->mv_data, k->mv_size, ad);
    const unsigned char *sealed = data->mv_data;
    unsigned long long mlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            b->data + kcopy, &mlen, NULL, sealed + STORE_NONCE_BYTES,
            (unsigned long long)(data->mv_size - STORE_NONCE_BYTES), ad,
            (unsigned long long)adlen, sealed, s->value_key) != 0)
        return ES_INTERNAL; /* block stays on the list, freed at txn end */
    if (val)
        *val = b->data + kcopy;
    if (vlen)
        *vlen = (size_t)mlen;
    return ES_OK;
}

static void s_cursor_unlink(store_cursor_t *c)
{
    store_txn_t *t = c->t;
    if (c->prev)
        c->prev->next = c->next;
    else
        t->cursors = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->cur)
        mdb_cursor_close(c->cur);
    free(c);
}

/* Close cursors and free memory of t; its LMDB txn stays as it is. */
void store_txn_release(store_txn_t *t)
{
    while (t->cursors)
        s_cursor_unlink(t->cursors);
    s_blocks_free(t);
}

/* Record an LMDB write failure on a group item. */
static int s_write_failed(store_txn_t *t, int rc)
{
    if (rc == MDB_MAP_FULL)
        t->map_full = 1;
    else if (!t->fatal)
        t->fatal = rc;
    return store_mdb_status(rc);
}

/* ------------------------------------------------------------------------ */
/* transactions                                                             */

int store_read_begin(store_t *s, store_txn_t **out)
{
    if (!s || !out)
        return ES_INVALID_ARGUMENT;
    *out = NULL;
    store_txn_t *t = calloc(1, sizeof(*t));
    if (!t)
        return ES_RESOURCE_EXHAUSTED;
    t->s = s;
    int rc = store_reader_enter(s);
    if (rc != ES_OK) {
        free(t);
        return rc;
    }
    int mrc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t->txn);
    if (mrc != MDB_SUCCESS) {
        store_reader_leave(s);
        free(t);
        return store_mdb_status(mrc);
    }
    *out = t;
    return ES_OK;
}

void store_txn_end(store_txn_t **tp)
{
    if (!tp || !*tp)
        return;
    store_txn_t *t = *tp;
    *tp = NULL;
    store_txn_release(t);
    if (t->write) {
        /* A group item: abort its nested txn (a flat item shares the
         * group's: the group discards it); the group owns the handle. */
        if (t->txn && !t->flat)
            mdb_txn_abort(t->txn);
        t->txn = NULL;
        t->ended = 1;
        return;
    }
    if (t->txn)
        mdb_txn_abort(t->txn);
    store_reader_leave(t->s);
    free(t);
}

/* The index of table in t's store, with key checked (store_key_check). */
static int s_table_key(const store_txn_t *t, const char *table, const void *key, size_t klen,
                       size_t *ti)
{
    int rc = store_table_index(t->s, table, ti);
    return rc == ES_OK ? store_key_check(key, klen) : rc;
}

int store_get(store_txn_t *t, const char *table, const void *key, size_t klen,
              const void **val, size_t *vlen)
{
    size_t ti;
    if (!t || !t->txn || !val || !vlen)
        return ES_INVALID_ARGUMENT;
    int rc = s_table_key(t, table, key, klen, &ti);
    if (rc != ES_OK)
        return rc;
    MDB_val k = {klen, (void *)key}, d;
    int mrc = mdb_get(t->txn, t->s->dbis[ti], &k, &d);
    if (mrc != MDB_SUCCESS)
        return store_mdb_status(mrc);
    return s_open_value(t, ti, &k, &d, NULL, val, vlen);
}

static int s_put(store_txn_t *t, const char *table, const void *key, size_t klen,
                 const void *val, size_t vlen, unsigned int flags)
{
    size_t ti;
    if (!t || !t->txn || !t->write || (!val && vlen))
        return ES_INVALID_ARGUMENT;
    int rc = s_table_key(t, table, key, klen, &ti);
    if (rc != ES_OK)
        return rc;
    if (vlen > STORE_MAX_VALUE)
        return ES_TOO_LARGE;
    store_t *s = t->s;
    uint8_t ad[STORE_AD_MAX];
    size_t adlen = s_ad(s, ti, key, klen, ad);
    MDB_val k = {klen, (void *)key};
    MDB_val d = {vlen + STORE_SEAL_OVERHEAD, NULL};
    int mrc = mdb_put(t->txn, s->dbis[ti], &k, &d, flags | MDB_RESERVE);
    if (mrc == MDB_KEYEXIST)
        return ES_ALREADY_EXISTS;
    if (mrc != MDB_SUCCESS)
        return s_write_failed(t, mrc);
    t->writes++; /* a failed put or delete changed nothing */
    unsigned char *sealed = d.mv_data;
    unsigned long long clen = 0;
    store_nonce(sealed);
    crypto_aead_xchacha20poly1305_ietf_encrypt(sealed + STORE_NONCE_BYTES, &clen, val,
                                               (unsigned long long)vlen, ad,
                                               (unsigned long long)adlen, NULL, sealed,
                                               s->value_key);
    assert(clen == vlen + STORE_TAG_BYTES);
    return ES_OK;
}

int store_put(store_txn_t *t, const char *table, const void *key, size_t klen,
              const void *val, size_t vlen)
{
    return s_put(t, table, key, klen, val, vlen, 0);
}

int store_put_new(store_txn_t *t, const char *table, const void *key, size_t klen,
                  const void *val, size_t vlen)
{
    return s_put(t, table, key, klen, val, vlen, MDB_NOOVERWRITE);
}

int store_del(store_txn_t *t, const char *table, const void *key, size_t klen)
{
    size_t ti;
    if (!t || !t->txn || !t->write)
        return ES_INVALID_ARGUMENT;
    int rc = s_table_key(t, table, key, klen, &ti);
    if (rc != ES_OK)
        return rc;
    MDB_val k = {klen, (void *)key};
    int mrc = mdb_del(t->txn, t->s->dbis[ti], &k, NULL);
    if (mrc == MDB_NOTFOUND)
        return ES_NOT_FOUND;
    if (mrc != MDB_SUCCESS)
        return s_write_failed(t, mrc);
    t->writes++;
    return ES_OK;
}

int store_count(store_txn_t *t, const char *table, uint64_t *out)
{
    size_t ti;
    MDB_stat st;
    if (!t || !t->txn || !out)
        return ES_INVALID_ARGUMENT;
    int rc = store_table_index(t->s, table, &ti);
    if (rc != ES_OK)
        return rc;
    int mrc = mdb_stat(t->txn, t->s->dbis[ti], &st);
    if (mrc != MDB_SUCCESS)
        return store_mdb_status(mrc);
    *out = (uint64_t)st.ms_entries;
    return ES_OK;
}

/* ------------------------------------------------------------------------ */
/* cursors                                                                  */

static int s_cursor_open(store_txn_t *t, const char *table, const void *from, size_t flen,
                         int reverse, store_cursor_t **out)
{
    size_t ti;
    if (!t || !t->txn || !out || (!from && flen))
        return ES_INVALID_ARGUMENT;
    *out = NULL;
    int rc = store_table_index(t->s, table, &ti);
    if (rc != ES_OK)
        return rc;
    if (flen > STORE_MAX_KEY)
        return ES_TOO_LARGE;
    store_cursor_t *c = calloc(1, sizeof(*c));
    if (!c)
        return ES_RESOURCE_EXHAUSTED;
    int mrc = mdb_cursor_open(t->txn, t->s->dbis[ti], &c->cur);
    if (mrc != MDB_SUCCESS) {
        free(c);
        return store_mdb_status(mrc);
    }
    c->t = t;
    c->table = ti;
    c->reverse = reverse;
    c->flen = flen;
    if (flen)
        memcpy(c->from, from, flen);
    c->next = t->cursors;
    if (t->cursors)
        t->cursors->prev = c;
    t->cursors = c;
    *out = c;
    return ES_OK;
}

int store_cursor_open(store_txn_t *t, const char *table, const void *from, size_t flen,
                      store_cursor_t **out)
{
    return s_cursor_open(t, table, from, flen, 0, out);
}

int store_cursor_open_reverse(store_txn_t *t, const char *table, const void *from, size_t flen,
                              store_cursor_t **out)
{
    return s_cursor_open(t, table, from, flen, 1, out);
}

/* Position c on its next entry; MDB_* code. */
static int s_cursor_step(store_cursor_t *c, MDB_val *k, MDB_val *d)
{
    if (c->started)
        return mdb_cursor_get(c->cur, k, d, c->reverse ? MDB_PREV : MDB_NEXT);
    c->started = 1;
    if (c->flen == 0)
        return mdb_cursor_get(c->cur, k, d, c->reverse ? MDB_LAST : MDB_FIRST);
    k->mv_size = c->flen;
    k->mv_data = c->from;
    int rc = mdb_cursor_get(c->cur, k, d, MDB_SET_RANGE);
    if (!c->reverse)
        return rc;
    if (rc == MDB_SUCCESS) /* first key >= from: step before it */
        return mdb_cursor_get(c->cur, k, d, MDB_PREV);
    if (rc == MDB_NOTFOUND) /* every key is < from */
        return mdb_cursor_get(c->cur, k, d, MDB_LAST);
    return rc;
}

int store_cursor_next(store_cursor_t *c, const void **key, size_t *klen, const void **val,
                      size_t *vlen)
{
    if (!c || !c->t->txn)
        return ES_INVALID_ARGUMENT;
    MDB_val k = {0, NULL}, d = {0, NULL};
    int mrc = s_cursor_step(c, &k, &d);
    if (mrc != MDB_SUCCESS)
        return store_mdb_status(mrc);
    const void *kp = NULL;
    int rc = s_open_value(c->t, c->table, &k, &d, key ? &kp : NULL, val, vlen);
    if (rc != ES_OK)
        return rc;
    if (key)
        *key = kp;
    if (klen)
        *klen = k.mv_size;
    return ES_OK;
}

void store_cursor_close(store_cursor_t **cp)
{
    if (!cp || !*cp)
        return;
    s_cursor_unlink(*cp);
    *cp = NULL;
}
