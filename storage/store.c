/*
 * store.c - the store itself (store.h): key file, open/close, tables, map
 * growth with its reader count, keyed hashes, big-endian key helpers.
 *
 * Map growth: mdb_env_set_mapsize is only legal while no transaction is
 * active in the process. Every transaction started through this module
 * (store_read_begin, the read snapshot of store_backup) is counted under
 * s->lock; the writer grows the map only after the count drops to zero,
 * waiting at most STORE_GROW_WAIT_MS, and new readers wait while it grows.
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

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */

int store_mdb_status(int rc)
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

char *store_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int store_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* mkdir with 0700 if missing; ES_INTERNAL when it cannot be made or is not a folder. */
int store_mkdir(const char *dir)
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
int store_write_key(const char *path, const uint8_t *key, size_t len)
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
    char *kpath = store_path(dir, STORE_KEY_FILE);
    char *dpath = store_path(dir, "data.mdb");
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
        rc = store_write_key(kpath, key, STORE_KEY_BYTES);
        if (rc == ES_OK) {
            (void)store_fsync_dir(dir);
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

int store_table_index(const store_t *s, const char *table, size_t *idx)
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

int store_key_check(const void *key, size_t klen)
{
    if (klen == 0 || !key)
        return ES_INVALID_ARGUMENT;
    if (klen > STORE_MAX_KEY)
        return ES_TOO_LARGE;
    return ES_OK;
}

/* ------------------------------------------------------------------------ */
/* reader accounting and map growth                                         */

int store_reader_enter(store_t *s)
{
    if (pthread_mutex_lock(&s->lock) != 0)
        return ES_INTERNAL;
    while (s->growing)
        pthread_cond_wait(&s->cond, &s->lock);
    s->active++;
    pthread_mutex_unlock(&s->lock);
    return ES_OK;
}

void store_reader_leave(store_t *s)
{
    pthread_mutex_lock(&s->lock);
    assert(s->active > 0);
    s->active--;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* Resize the map to newsize (0 = adopt the size on disk) once no read
 * transaction is open. The caller holds no transaction. */
int store_grow(store_t *s, size_t newsize)
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
        return store_mdb_status(rc);
    for (size_t i = 0; i < s->ntables; i++) {
        rc = mdb_dbi_open(txn, tables[i], MDB_CREATE, &s->dbis[i]);
        if (rc != MDB_SUCCESS) {
            mdb_txn_abort(txn);
            return store_mdb_status(rc);
        }
    }
    rc = mdb_txn_commit(txn); /* frees txn either way */
    return store_mdb_status(rc);
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
    rc = store_mkdir(dir);
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
        rc = store_mdb_status(mrc);
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
