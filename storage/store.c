/*
 * store.c - LMDB + libsodium implementation of store.h.
 *
 * Layout of the code: key file and open/close, values (seal/open), read and
 * write transactions, cursors, group commit with map growth, backup.
 *
 * Map growth: mdb_env_set_mapsize is only legal while no transaction is
 * active in the process. Every transaction started through this module
 * (store_read_begin, the read snapshot of store_backup) is counted under
 * s->lock; the writer grows the map only after the count drops to zero,
 * waiting at most STORE_GROW_WAIT_MS, and new readers wait while it grows.
 */
#include "storage/store.h"

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

#define STORE_MAX_TABLE_NAME 64    /* bytes of a table name */
#define STORE_MAX_GROWS 12         /* map doublings per store_write_group */
#define STORE_GROW_WAIT_MS 1000    /* longest wait for readers before a grow */
#define STORE_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define STORE_TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define STORE_KDF_CONTEXT "espstore"
#define STORE_KDF_VALUE 1          /* subkey id: value sealing */
#define STORE_KDF_HASH 2           /* subkey id: keyed hash */
#define STORE_KEY_FILE "store.key"
#define STORE_AD_MAX (STORE_MAX_TABLE_NAME + 1 + STORE_MAX_KEY)

struct store {
    MDB_env *env;                              /* the LMDB environment */
    size_t mapsize;                            /* current map size */
    size_t ntables;                            /* number of tables */
    char *names[STORE_MAX_TABLES];             /* table names (owned) */
    size_t name_lens[STORE_MAX_TABLES];        /* strlen of each name */
    MDB_dbi dbis[STORE_MAX_TABLES];            /* DBI of each table */
    uint8_t master[STORE_KEY_BYTES];           /* key file bytes (for backup) */
    uint8_t value_key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES]; /* sealing key */
    uint8_t hash_key[crypto_generichash_KEYBYTES];                  /* keyed hash key */
    pthread_mutex_t lock;                      /* guards active and growing */
    pthread_cond_t cond;                       /* signalled when either changes */
    int active;                                /* read txns open through this module */
    int growing;                               /* 1 while the writer resizes the map */
};

/* One allocation owned by a transaction (decrypted values, copied keys). */
typedef struct store_block {
    struct store_block *next; /* next block of the same txn */
    size_t len;               /* bytes in data (wiped on free) */
    unsigned char data[];     /* payload */
} store_block_t;

struct store_txn {
    store_t *s;               /* owning store */
    MDB_txn *txn;             /* LMDB txn; NULL once ended */
    int write;                /* 1 for a group item (nested write txn) */
    int ended;                /* group item ended by the callback */
    int map_full;             /* a write hit MDB_MAP_FULL */
    int fatal;                /* a write hit another LMDB failure (mdb code) */
    store_block_t *blocks;    /* memory handed out by this txn */
    store_cursor_t *cursors;  /* open cursors */
};

struct store_cursor {
    store_txn_t *t;                   /* owning transaction */
    MDB_cursor *cur;                  /* LMDB cursor */
    size_t table;                     /* table index */
    int reverse;                      /* 1: walk backwards */
    int started;                      /* positioned at least once */
    size_t flen;                      /* bytes in from (0: no bound) */
    uint8_t from[STORE_MAX_KEY];      /* start bound */
    store_cursor_t *prev, *next;      /* links in t->cursors */
};

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */

static int s_mdb_status(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return ES_OK;
    case MDB_NOTFOUND:
        return ES_NOT_FOUND;
    case MDB_KEYEXIST:
        return ES_ALREADY_EXISTS;
    case MDB_MAP_FULL:
    case MDB_READERS_FULL:
    case MDB_TXN_FULL:
    case ENOMEM:
        return ES_RESOURCE_EXHAUSTED;
    default:
        return ES_INTERNAL;
    }
}

static char *s_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int s_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* mkdir with 0700 if missing; ES_INTERNAL when it cannot be made or is not a folder. */
static int s_mkdir(const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0700) == 0)
        return ES_OK;
    if (errno != EEXIST)
        return ES_INTERNAL;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return ES_INVALID_ARGUMENT;
    return ES_OK;
}

/* Write exactly len bytes of key to path, created 0600 (O_EXCL). */
static int s_write_key(const char *path, const uint8_t *key, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? ES_ALREADY_EXISTS : ES_INTERNAL;
    int rc = ES_INTERNAL;
    size_t off = 0;
    if (fchmod(fd, 0600) != 0)
        goto close_fd;
    while (off < len) {
        ssize_t w = write(fd, key + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto close_fd;
        off += (size_t)w;
    }
    if (fsync(fd) != 0)
        goto close_fd;
    rc = ES_OK;
close_fd:
    close(fd);
    if (rc != ES_OK)
        unlink(path);
    return rc;
}

/* Read the key file; ES_NOT_FOUND if absent, ES_INTERNAL if unsafe or malformed. */
static int s_read_key(const char *path, uint8_t key[STORE_KEY_BYTES])
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? ES_NOT_FOUND : ES_INTERNAL;
    int rc = ES_INTERNAL;
    struct stat st;
    size_t off = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto close_fd;
    if ((st.st_mode & 077) != 0 || st.st_size != STORE_KEY_BYTES)
        goto close_fd;
    while (off < STORE_KEY_BYTES) {
        ssize_t r = read(fd, key + off, STORE_KEY_BYTES - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto close_fd;
        off += (size_t)r;
    }
    rc = ES_OK;
close_fd:
    close(fd);
    if (rc != ES_OK)
        sodium_memzero(key, STORE_KEY_BYTES);
    return rc;
}

/* Load the store key from dir, creating it when the store is new. */
static int s_load_key(const char *dir, uint8_t key[STORE_KEY_BYTES])
{
    int rc = ES_INTERNAL;
    char *kpath = s_path(dir, STORE_KEY_FILE);
    char *dpath = s_path(dir, "data.mdb");
    if (!kpath || !dpath) {
        rc = ES_RESOURCE_EXHAUSTED;
        goto free_paths;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        rc = s_read_key(kpath, key);
        if (rc != ES_NOT_FOUND)
            goto free_paths;
        /* A data file without its key: refuse rather than seal new data
         * under a fresh key next to values nobody can open. */
        if (access(dpath, F_OK) == 0) {
            rc = ES_INTERNAL;
            goto free_paths;
        }
        randombytes_buf(key, STORE_KEY_BYTES);
        rc = s_write_key(kpath, key, STORE_KEY_BYTES);
        if (rc == ES_OK) {
            (void)s_fsync_dir(dir);
            goto free_paths;
        }
        sodium_memzero(key, STORE_KEY_BYTES);
        if (rc != ES_ALREADY_EXISTS) /* lost a creation race: read it again */
            goto free_paths;
    }
    rc = ES_INTERNAL;
free_paths:
    free(kpath);
    free(dpath);
    return rc;
}

static int s_table(const store_t *s, const char *table, size_t *idx)
{
    if (!table)
        return ES_INVALID_ARGUMENT;
    for (size_t i = 0; i < s->ntables; i++) {
        if (strcmp(s->names[i], table) == 0) {
            *idx = i;
            return ES_OK;
        }
    }
    return ES_INVALID_ARGUMENT;
}

static int s_check_key(const void *key, size_t klen)
{
    if (klen == 0 || !key)
        return ES_INVALID_ARGUMENT;
    if (klen > STORE_MAX_KEY)
        return ES_TOO_LARGE;
    return ES_OK;
}

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
static void s_txn_release(store_txn_t *t)
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
    return s_mdb_status(rc);
}

/* ------------------------------------------------------------------------ */
/* reader accounting and map growth                                         */

static int s_reader_enter(store_t *s)
{
    if (pthread_mutex_lock(&s->lock) != 0)
        return ES_INTERNAL;
    while (s->growing)
        pthread_cond_wait(&s->cond, &s->lock);
    s->active++;
    pthread_mutex_unlock(&s->lock);
    return ES_OK;
}

static void s_reader_leave(store_t *s)
{
    pthread_mutex_lock(&s->lock);
    assert(s->active > 0);
    s->active--;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* Resize the map to newsize (0 = adopt the size on disk) once no read
 * transaction is open. The caller holds no transaction. */
static int s_grow(store_t *s, size_t newsize)
{
    int rc = ES_OK;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += STORE_GROW_WAIT_MS / 1000;
    deadline.tv_nsec += (long)(STORE_GROW_WAIT_MS % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    if (pthread_mutex_lock(&s->lock) != 0)
        return ES_INTERNAL;
    s->growing = 1;
    while (s->active > 0) {
        if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == ETIMEDOUT &&
            s->active > 0) {
            rc = ES_RESOURCE_EXHAUSTED;
            goto done;
        }
    }
    if (mdb_env_set_mapsize(s->env, newsize) != MDB_SUCCESS) {
        rc = ES_INTERNAL;
        goto done;
    }
    MDB_envinfo info;
    if (mdb_env_info(s->env, &info) == MDB_SUCCESS)
        s->mapsize = info.me_mapsize;
done:
    s->growing = 0;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* open / close                                                             */

static int s_open_tables(store_t *s, const char **tables)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != MDB_SUCCESS)
        return s_mdb_status(rc);
    for (size_t i = 0; i < s->ntables; i++) {
        rc = mdb_dbi_open(txn, tables[i], MDB_CREATE, &s->dbis[i]);
        if (rc != MDB_SUCCESS) {
            mdb_txn_abort(txn);
            return s_mdb_status(rc);
        }
    }
    rc = mdb_txn_commit(txn); /* frees txn either way */
    return s_mdb_status(rc);
}

static int s_copy_tables(store_t *s, const char **tables)
{
    size_t n = 0;
    if (!tables)
        return ES_OK;
    while (tables[n]) {
        if (n == STORE_MAX_TABLES)
            return ES_INVALID_ARGUMENT;
        size_t len = strlen(tables[n]);
        if (len == 0 || len > STORE_MAX_TABLE_NAME)
            return ES_INVALID_ARGUMENT;
        for (size_t j = 0; j < n; j++)
            if (strcmp(tables[j], tables[n]) == 0)
                return ES_INVALID_ARGUMENT;
        s->names[n] = strdup(tables[n]);
        if (!s->names[n])
            return ES_RESOURCE_EXHAUSTED;
        s->name_lens[n] = len;
        s->ntables = ++n;
    }
    return ES_OK;
}

int store_open(const char *dir, const store_opts_t *opts, store_t **out)
{
    static const store_opts_t none = {0};
    store_t *s = NULL;
    int rc;
    if (!dir || !*dir || !out)
        return ES_INVALID_ARGUMENT;
    *out = NULL;
    if (!opts)
        opts = &none;
    if (sodium_init() < 0)
        return ES_INTERNAL;

    s = calloc(1, sizeof(*s));
    if (!s)
        return ES_RESOURCE_EXHAUSTED;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return ES_INTERNAL;
    }
    if (pthread_cond_init(&s->cond, NULL) != 0) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return ES_INTERNAL;
    }
    rc = s_copy_tables(s, opts->tables);
    if (rc != ES_OK)
        goto fail;
    rc = s_mkdir(dir);
    if (rc != ES_OK)
        goto fail;
    rc = s_load_key(dir, s->master);
    if (rc != ES_OK)
        goto fail;
    if (crypto_kdf_derive_from_key(s->value_key, sizeof(s->value_key), STORE_KDF_VALUE,
                                   STORE_KDF_CONTEXT, s->master) != 0 ||
        crypto_kdf_derive_from_key(s->hash_key, sizeof(s->hash_key), STORE_KDF_HASH,
                                   STORE_KDF_CONTEXT, s->master) != 0) {
        rc = ES_INTERNAL;
        goto fail;
    }

    rc = ES_INTERNAL;
    if (mdb_env_create(&s->env) != MDB_SUCCESS) {
        s->env = NULL;
        goto fail;
    }
    if (mdb_env_set_maxdbs(s->env, STORE_MAX_TABLES) != MDB_SUCCESS)
        goto fail;
    s->mapsize = opts->mapsize ? opts->mapsize : STORE_DEFAULT_MAPSIZE;
    if (mdb_env_set_mapsize(s->env, s->mapsize) != MDB_SUCCESS)
        goto fail;
    unsigned int flags = MDB_NOTLS | (opts->no_sync ? MDB_NOSYNC : 0);
    int mrc = mdb_env_open(s->env, dir, flags, 0600);
    if (mrc != MDB_SUCCESS) {
        rc = s_mdb_status(mrc);
        goto fail;
    }
    if (mdb_env_get_maxkeysize(s->env) < STORE_MAX_KEY)
        goto fail;
    MDB_envinfo info;
    if (mdb_env_info(s->env, &info) == MDB_SUCCESS)
        s->mapsize = info.me_mapsize;
    int dead = 0;
    (void)mdb_reader_check(s->env, &dead);
    rc = s_open_tables(s, opts->tables);
    if (rc != ES_OK)
        goto fail;
    *out = s;
    return ES_OK;
fail:
    store_close(&s);
    return rc;
}

void store_close(store_t **sp)
{
    if (!sp || !*sp)
        return;
    store_t *s = *sp;
    assert(s->active == 0 && "store_close with a transaction open");
    if (s->env)
        mdb_env_close(s->env);
    for (size_t i = 0; i < s->ntables; i++)
        free(s->names[i]);
    sodium_memzero(s->master, sizeof(s->master));
    sodium_memzero(s->value_key, sizeof(s->value_key));
    sodium_memzero(s->hash_key, sizeof(s->hash_key));
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
    *sp = NULL;
}

void store_keyed_hash(const store_t *s, const char *label, const void *data, size_t len,
                      uint8_t out[STORE_HASH_BYTES])
{
    static const unsigned char zero = 0;
    crypto_generichash_state st;
    assert(s && out && (data || len == 0));
    if (!label)
        label = "";
    crypto_generichash_init(&st, s->hash_key, sizeof(s->hash_key), STORE_HASH_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)label, strlen(label));
    crypto_generichash_update(&st, &zero, 1);
    if (len)
        crypto_generichash_update(&st, data, (unsigned long long)len);
    crypto_generichash_final(&st, out, STORE_HASH_BYTES);
    sodium_memzero(&st, sizeof(st));
}

/* ------------------------------------------------------------------------ */
/* key helpers                                                              */

/* The low `width` bytes of v, big-endian, into out. */
static void s_be_put(uint8_t *out, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

/* `width` big-endian bytes of in as an integer. */
static uint64_t s_be_get(const uint8_t *in, int width)
{
    uint64_t v = 0;
    for (int i = 0; i < width; i++)
        v = (v << 8) | in[i];
    return v;
}

void store_be64_put(uint8_t out[8], uint64_t v)
{
    s_be_put(out, v, 8);
}

uint64_t store_be64_get(const uint8_t in[8])
{
    return s_be_get(in, 8);
}

void store_be32_put(uint8_t out[4], uint32_t v)
{
    s_be_put(out, v, 4);
}

uint32_t store_be32_get(const uint8_t in[4])
{
    return (uint32_t)s_be_get(in, 4);
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
    int rc = s_reader_enter(s);
    if (rc != ES_OK) {
        free(t);
        return rc;
    }
    int mrc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t->txn);
    if (mrc != MDB_SUCCESS) {
        s_reader_leave(s);
        free(t);
        return s_mdb_status(mrc);
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
    s_txn_release(t);
    if (t->write) {
        /* A group item: abort its nested txn; the group owns the handle. */
        if (t->txn)
            mdb_txn_abort(t->txn);
        t->txn = NULL;
        t->ended = 1;
        return;
    }
    if (t->txn)
        mdb_txn_abort(t->txn);
    s_reader_leave(t->s);
    free(t);
}

int store_get(store_txn_t *t, const char *table, const void *key, size_t klen,
              const void **val, size_t *vlen)
{
    size_t ti;
    if (!t || !t->txn || !val || !vlen)
        return ES_INVALID_ARGUMENT;
    int rc = s_table(t->s, table, &ti);
    if (rc == ES_OK)
        rc = s_check_key(key, klen);
    if (rc != ES_OK)
        return rc;
    MDB_val k = {klen, (void *)key}, d;
    int mrc = mdb_get(t->txn, t->s->dbis[ti], &k, &d);
    if (mrc != MDB_SUCCESS)
        return s_mdb_status(mrc);
    return s_open_value(t, ti, &k, &d, NULL, val, vlen);
}

static int s_put(store_txn_t *t, const char *table, const void *key, size_t klen,
                 const void *val, size_t vlen, unsigned int flags)
{
    size_t ti;
    if (!t || !t->txn || !t->write || (!val && vlen))
        return ES_INVALID_ARGUMENT;
    int rc = s_table(t->s, table, &ti);
    if (rc == ES_OK)
        rc = s_check_key(key, klen);
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
    unsigned char *sealed = d.mv_data;
    unsigned long long clen = 0;
    randombytes_buf(sealed, STORE_NONCE_BYTES);
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
    int rc = s_table(t->s, table, &ti);
    if (rc == ES_OK)
        rc = s_check_key(key, klen);
    if (rc != ES_OK)
        return rc;
    MDB_val k = {klen, (void *)key};
    int mrc = mdb_del(t->txn, t->s->dbis[ti], &k, NULL);
    if (mrc == MDB_NOTFOUND)
        return ES_NOT_FOUND;
    if (mrc != MDB_SUCCESS)
        return s_write_failed(t, mrc);
    return ES_OK;
}

int store_count(store_txn_t *t, const char *table, uint64_t *out)
{
    size_t ti;
    MDB_stat st;
    if (!t || !t->txn || !out)
        return ES_INVALID_ARGUMENT;
    int rc = s_table(t->s, table, &ti);
    if (rc != ES_OK)
        return rc;
    int mrc = mdb_stat(t->txn, t->s->dbis[ti], &st);
    if (mrc != MDB_SUCCESS)
        return s_mdb_status(mrc);
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
    int rc = s_table(t->s, table, &ti);
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
        return s_mdb_status(mrc);
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
        return s_mdb_status(mrc);
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

/* ------------------------------------------------------------------------ */
/* group commit                                                             */

/* One attempt: 0 committed, MDB_MAP_FULL to grow and replay, MDB_MAP_RESIZED
 * to adopt another process's size, another code for a hard failure. */
static int s_group_once(store_t *s, store_apply_fn apply, void **items, size_t n,
                        int *results, void *ctx)
{
    MDB_txn *parent = NULL;
    int rc = mdb_txn_begin(s->env, NULL, 0, &parent);
    if (rc != MDB_SUCCESS)
        return rc;
    for (size_t i = 0; i < n; i++) {
        store_txn_t item = {.s = s, .write = 1};
        rc = mdb_txn_begin(s->env, parent, 0, &item.txn);
        if (rc != MDB_SUCCESS)
            goto abort_parent;
        store_txn_t *tp = &item;
        int r = apply(tp, items[i], ctx);
        s_txn_release(&item);
        if (item.map_full || item.fatal) {
            rc = item.map_full ? MDB_MAP_FULL : item.fatal;
            if (item.txn)
                mdb_txn_abort(item.txn);
            goto abort_parent;
        }
        if (r == ES_OK && item.ended)
            r = ES_ABORTED; /* the callback ended its own transaction */
        if (r != ES_OK) {
            if (item.txn)
                mdb_txn_abort(item.txn);
            results[i] = r > 0 ? ES_INTERNAL : r;
            continue;
        }
        rc = mdb_txn_commit(item.txn); /* merges into parent; frees the handle */
        if (rc != MDB_SUCCESS)
            goto abort_parent;
        results[i] = ES_OK;
    }
    return mdb_txn_commit(parent); /* frees parent even on failure */
abort_parent:
    mdb_txn_abort(parent);
    return rc;
}

int store_write_group(store_t *s, store_apply_fn apply, void **items, size_t n, int *results,
                      void *ctx)
{
    if (!s || n > STORE_GROUP_MAX)
        return ES_INVALID_ARGUMENT;
    if (n == 0)
        return ES_OK;
    if (!apply || !items || !results)
        return ES_INVALID_ARGUMENT;
    for (int grows = 0; grows <= STORE_MAX_GROWS; grows++) {
        for (size_t i = 0; i < n; i++)
            results[i] = ES_INTERNAL;
        int rc = s_group_once(s, apply, items, n, results, ctx);
        if (rc == MDB_SUCCESS)
            return ES_OK;
        if (rc == MDB_MAP_RESIZED) {
            rc = s_grow(s, 0);
        } else if (rc == MDB_MAP_FULL) {
            if (s->mapsize > SIZE_MAX / 2)
                return ES_RESOURCE_EXHAUSTED;
            rc = s_grow(s, s->mapsize * 2);
        } else {
            return rc == MDB_TXN_FULL || rc == ENOMEM ? ES_RESOURCE_EXHAUSTED : ES_INTERNAL;
        }
        if (rc != ES_OK)
            return rc;
    }
    return ES_RESOURCE_EXHAUSTED;
}

/* ------------------------------------------------------------------------ */
/* backup                                                                   */

/* ES_OK if dir is (now) an empty folder. */
static int s_empty_dir(const char *dir)
{
    int rc = s_mkdir(dir);
    if (rc != ES_OK)
        return rc;
    DIR *d = opendir(dir);
    if (!d)
        return ES_INTERNAL;
    struct dirent *e;
    rc = ES_OK;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            rc = ES_ALREADY_EXISTS;
            break;
        }
    }
    closedir(d);
    return rc;
}

int store_backup(store_t *s, const char *dir)
{
    if (!s || !dir || !*dir)
        return ES_INVALID_ARGUMENT;
    int rc = s_empty_dir(dir);
    if (rc != ES_OK)
        return rc;
    char *kpath = s_path(dir, STORE_KEY_FILE);
    char *dpath = s_path(dir, "data.mdb");
    if (!kpath || !dpath) {
        rc = ES_RESOURCE_EXHAUSTED;
        goto free_paths;
    }
    /* mdb_env_copy2 runs its own read transaction: count it, so that the
     * writer does not resize the map under it. */
    rc = s_reader_enter(s);
    if (rc != ES_OK)
        goto free_paths;
    int mrc = mdb_env_copy2(s->env, dir, MDB_CP_COMPACT);
    s_reader_leave(s);
    if (mrc != MDB_SUCCESS) {
        rc = s_mdb_status(mrc);
        unlink(dpath);
        goto free_paths;
    }
    rc = s_write_key(kpath, s->master, sizeof(s->master));
    if (rc != ES_OK) {
        rc = ES_INTERNAL;
        unlink(dpath);
        goto free_paths;
    }
    if (s_fsync_dir(dir) != 0)
        rc = ES_INTERNAL;
free_paths:
    free(kpath);
    free(dpath);
    return rc;
}
