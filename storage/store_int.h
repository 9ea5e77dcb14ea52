/*
 * store_int.h - internals shared by the files of the store (store.h is the
 * manual): the structures behind the opaque types, the limits of the
 * implementation, and the helpers one file defines for another.
 *
 * Module map: store.c (key file, open/close, tables, map growth, keyed
 * hashes, key helpers), txn.c (sealed values, read and write transactions,
 * cursors), nonce.c (the nonces of sealed values), group.c (group commit),
 * backup.c (online backup).
 */
#ifndef ES_STORE_INT_H
#define ES_STORE_INT_H

#include <lmdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

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
    int write;                /* 1 for a group item (its own write txn or the group's) */
    int flat;                 /* group item sharing the group's txn (group.c): ending
                                 it only marks it ended */
    unsigned writes;          /* puts and deletes tried (group item) */
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

/* ---- shared helpers ---- */

/* store.c: LMDB return code -> es_status. */
int store_mdb_status(int rc);
/* store.c: "<dir>/<name>", malloc'd (caller frees), or NULL. */
char *store_path(const char *dir, const char *name);
/* store.c: mkdir with 0700 if missing; ES_INTERNAL when it cannot be made or
 * is not a folder. */
int store_mkdir(const char *dir);
/* store.c: fsync a folder (so a new file's entry is durable). 0 or ES_INTERNAL. */
int store_fsync_dir(const char *dir);
/* store.c: write exactly len bytes of key to path, created 0600 (O_EXCL). */
int store_write_key(const char *path, const uint8_t *key, size_t len);
/* store.c: index of a table by name. 0, or ES_INVALID_ARGUMENT if unknown. */
int store_table_index(const store_t *s, const char *table, size_t *idx);
/* store.c: 0 if 1..STORE_MAX_KEY bytes, else ES_INVALID_ARGUMENT. */
int store_key_check(const void *key, size_t klen);
/* store.c: count a read transaction in (waits while the map grows) / out. */
int store_reader_enter(store_t *s);
void store_reader_leave(store_t *s);
/* store.c: resize the map to newsize (0 = adopt the size on disk) once no
 * read transaction is open. The caller holds no transaction. */
int store_grow(store_t *s, size_t newsize);
/* nonce.c: a fresh random nonce for one sealed value (a per-thread pool
 * refilled from randombytes_buf; emptied in a forked child). Thread-safe. */
void store_nonce(uint8_t out[STORE_NONCE_BYTES]);
/* txn.c: close cursors and free memory of t; its LMDB txn stays as it is. */
void store_txn_release(store_txn_t *t);

#endif
