/*
 * store.h - the LMDB layer every espace service persists through.
 *
 * One store_t is one LMDB environment in its own folder, owned by one
 * service. It gives:
 *   - named tables (LMDB DBIs), declared once at open;
 *   - big-endian key helpers, so integer keys sort in numeric order and
 *     range scans work with memcmp;
 *   - encryption at rest: every value is sealed with XChaCha20-Poly1305 under
 *     the store's key, with (table name, key) as associated data, so a value
 *     copied under another key or table fails to open. Keys are stored in the
 *     clear: never put personal data in a key (hash it with store_keyed_hash);
 *   - read transactions (store_read_begin);
 *   - group commit (store_write_group): the writes that arrive together run in
 *     one LMDB transaction; an item that fails after writing is replayed out
 *     of it, so one failed item leaves no partial write (store_write_group);
 *     they are acknowledged only after the commit
 *     is durable. MDB_MAP_FULL is handled by growing the map and replaying;
 *   - an online, compacting backup (store_backup).
 *
 * On-disk layout of a store folder:
 *   data.mdb, lock.mdb   LMDB files
 *   store.key            32-byte secret, mode 0600, created on first open
 *
 * Value format: 24-byte nonce | ciphertext | 16-byte tag. The nonce is
 * random, drawn from a per-thread pool of CSPRNG bytes (nonce.c says why
 * that is safe, forks included).
 *
 * THREAD SAFETY: a store_t may be shared by threads for reads (MDB_NOTLS),
 * but store_write_group must be called from one thread only (the writer).
 * A store_txn_t belongs to the thread that began it.
 *
 * Errors: functions return 0 or a negative es_status (proto/status.h):
 * ES_NOT_FOUND for a missing key, ES_TOO_LARGE for a key over
 * STORE_MAX_KEY or a value over STORE_MAX_VALUE, ES_INTERNAL for LMDB/IO
 * failures and for a value that fails authentication (tampering, wrong key).
 */
#ifndef ES_STORE_H
#define ES_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_MAX_TABLES 32            /* tables per store */
#define STORE_MAX_KEY 480              /* bytes; under LMDB's 511 */
#define STORE_MAX_VALUE (16u << 20)    /* clear bytes per value */
#define STORE_KEY_BYTES 32             /* secret key file size */
#define STORE_HASH_BYTES 32            /* store_keyed_hash output */
#define STORE_SEAL_OVERHEAD (24 + 16)  /* nonce + tag added to each value */
#define STORE_DEFAULT_MAPSIZE ((size_t)64 << 30) /* 64 GiB of address space */
#define STORE_GROUP_MAX 256            /* most items per store_write_group */

typedef struct store store_t;
typedef struct store_txn store_txn_t;
typedef struct store_cursor store_cursor_t;

/* Options for store_open. Zero-initialise, then set what you need. */
typedef struct store_opts {
    size_t mapsize;        /* initial map size; 0 = STORE_DEFAULT_MAPSIZE */
    const char **tables;   /* NULL-terminated table names (<= STORE_MAX_TABLES) */
    int no_sync;           /* 1: skip fsync (tests only); commits stay atomic */
} store_opts_t;

/* Open (creating if needed) the store in folder `dir` (created 0700 if
 * missing), with its key file (created 0600 with random bytes if missing;
 * refused with ES_INTERNAL if it exists with group/other permissions or the
 * wrong size). All tables are created in one transaction.
 * On success *out owns the store; free with store_close. */
int store_open(const char *dir, const store_opts_t *opts, store_t **out);

/* Close the store and wipe its key from memory. Idempotent; NULLs *s.
 * No transaction may be open. */
void store_close(store_t **s);

/* Keyed hash (BLAKE2b under the store's key, domain-separated by `label`)
 * of personal data used as an index key, e.g. an INS. Writes
 * STORE_HASH_BYTES to out. */
void store_keyed_hash(const store_t *s, const char *label, const void *data, size_t len,
                      uint8_t out[STORE_HASH_BYTES]);

/* ---- key helpers (big-endian, so memcmp order = numeric order) ---- */
void store_be64_put(uint8_t out[8], uint64_t v);
uint64_t store_be64_get(const uint8_t in[8]);
void store_be32_put(uint8_t out[4], uint32_t v);
uint32_t store_be32_get(const uint8_t in[4]);

/* ---- transactions ---- */

/* Begin a read-only transaction. Values returned by store_get / cursors are
 * valid until the transaction ends. End it with store_txn_end. */
int store_read_begin(store_t *s, store_txn_t **out);

/* End a read-only transaction (or abort a write one). Idempotent; NULLs *t.
 * Frees every value returned inside it. */
void store_txn_end(store_txn_t **t);

/* Decrypted value of (table, key). *val points into memory owned by the
 * transaction (valid until it ends). ES_NOT_FOUND if absent; ES_INVALID_ARGUMENT
 * for an unknown table. */
int store_get(store_txn_t *t, const char *table, const void *key, size_t klen,
              const void **val, size_t *vlen);

/* Encrypt and store (table, key) = val, replacing any previous value.
 * Only inside a write transaction (from store_write_group). */
int store_put(store_txn_t *t, const char *table, const void *key, size_t klen,
              const void *val, size_t vlen);

/* Like store_put but ES_ALREADY_EXISTS if the key is present.
 * store_put, store_put_new and store_del return ES_INVALID_ARGUMENT in a
 * read-only transaction. */
int store_put_new(store_txn_t *t, const char *table, const void *key, size_t klen,
                  const void *val, size_t vlen);

/* Delete (table, key); ES_NOT_FOUND if absent. */
int store_del(store_txn_t *t, const char *table, const void *key, size_t klen);

/* ---- cursors: ordered scans ---- */

/* Open a cursor on `table`, positioned before the first key >= `from`
 * (from = NULL/0 means the first key). Free with store_cursor_close (or it
 * is freed when the transaction ends). */
int store_cursor_open(store_txn_t *t, const char *table, const void *from, size_t flen,
                      store_cursor_t **out);

/* Move to the next entry (the first, on the first call). Returns 0 and sets
 * key/val (decrypted; valid until the transaction ends), or ES_NOT_FOUND at
 * the end. Any output pointer may be NULL; with val and vlen both NULL the
 * value is not decrypted (key-only scan). ES_INTERNAL for a value that fails
 * authentication (the cursor has moved past it). */
int store_cursor_next(store_cursor_t *c, const void **key, size_t *klen, const void **val,
                      size_t *vlen);

/* Like store_cursor_next, backwards: positioned at the last key < `from`
 * (or the last key of the table when from is NULL) on the first call. */
int store_cursor_open_reverse(store_txn_t *t, const char *table, const void *from, size_t flen,
                              store_cursor_t **out);

void store_cursor_close(store_cursor_t **c);

/* ---- group commit ---- */

/* Apply one item of a group inside write transaction `t` (the group's, or
 * a nested one of it). Return 0 to keep its writes, or a negative
 * es_status to discard them (the other items are unaffected). It may be
 * called again for the same item (replay after the map grows, or without
 * an item that failed after writing): it must
 * produce its outputs afresh each time. */
typedef int (*store_apply_fn)(store_txn_t *t, void *item, void *ctx);

/* Run apply(item[i]) for i in [0, n) (n <= STORE_GROUP_MAX) in one write
 * transaction, then commit once, durably. results[i] receives each item's
 * return value. An item that fails discards its own writes only: the items
 * run straight in the group's transaction, and when one fails after writing
 * (a put or delete that succeeded), the group is aborted and replayed
 * without it (its result kept); past a few such items it runs each item in
 * a nested transaction instead (group.c). A refused item that wrote nothing
 * costs nothing more. Returns 0 when the group committed (then every item
 * with results[i] == 0 is durable), or a negative es_status when nothing was
 * committed (then no item's writes exist, whatever its result).
 * An item whose callback ends its own transaction (store_txn_end) counts as
 * discarded: results[i] = ES_ABORTED if the callback returned 0.
 * An LMDB failure inside an item other than not-found/exists (I/O, corrupt
 * page) discards the whole group: ES_INTERNAL, nothing committed.
 * MAP GROWTH: on MDB_MAP_FULL the group is aborted, the map doubled and the
 * group replayed (at most 12 times, then ES_RESOURCE_EXHAUSTED). LMDB allows
 * the resize only while no transaction is open in the process, so it waits
 * (up to 1 s) for every read transaction of this store, in any thread, to
 * end (new ones wait for the resize), then gives up with
 * ES_RESOURCE_EXHAUSTED and nothing committed. So a writer must not hold a
 * read transaction of its own store while calling store_write_group, and
 * readers must stay short. */
int store_write_group(store_t *s, store_apply_fn apply, void **items, size_t n, int *results,
                      void *ctx);

/* ---- operations ---- */

/* Hot, consistent, compacted copy of the store into folder `dir` (created if
 * missing, must be empty), with a copy of the key file. Safe while the store
 * is in use, by this process or another. ES_ALREADY_EXISTS if dir is not
 * empty, ES_INVALID_ARGUMENT if it exists and is not a folder, ES_INTERNAL on
 * an I/O failure (a partial data.mdb is removed). The copy opens with
 * store_open like the original. */
int store_backup(store_t *s, const char *dir);

/* Number of entries in table (for tests and metrics). */
int store_count(store_txn_t *t, const char *table, uint64_t *out);

#endif
