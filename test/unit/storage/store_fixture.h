/*
 * store_fixture.h - shared fixture of the storage tests: a temporary root
 * folder per test, a store with tables "t" and "u", a generic group item,
 * expectations, and raw LMDB rewrites of sealed values.
 */
#ifndef ES_STORE_FIXTURE_H
#define ES_STORE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <lmdb.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include "proto/status.h"
#include "storage/store.h"

typedef struct fx {
    char root[64];  /* mkdtemp folder */
    char path[128]; /* root/db: the store */
} fx_t;

enum { OP_PUT, OP_PUT_NEW, OP_DEL, OP_END_SELF };

typedef struct op {
    int kind;          /* OP_* */
    const char *table; /* target table */
    const void *key;   /* key bytes */
    size_t klen;       /* key length */
    const void *val;   /* value (puts) */
    size_t vlen;       /* value length */
    int then;          /* returned when the op succeeded */
    int rc;            /* rc of the op, last call */
    int calls;         /* times applied (replays included) */
} op_t;

typedef void (*raw_fn)(uint8_t *buf, size_t len);

extern const char *fx_tables[];

void fx_rm_rf(const char *path);
int fx_setup(void **state);
int fx_teardown(void **state);
store_t *fx_open(const char *path, size_t mapsize);
int fx_apply(store_txn_t *t, void *item, void *ctx);
int fx_do(store_t *s, int kind, const char *table, const void *key, size_t klen,
                const void *val, size_t vlen);
int fx_put_str(store_t *s, const char *table, const char *key, const char *val);
void fx_expect(store_t *s, const char *table, const char *key, const char *val);
void fx_raw_rewrite(const char *path, const char *table, const char *key,
                          const char *table2, const char *key2, raw_fn fn,
                          size_t *sealed_len, uint8_t **copy_out);
void fx_flip_last(uint8_t *buf, size_t len);
void fx_flip_cipher(uint8_t *buf, size_t len);
/* Write keys lo..hi (be64) in table "t", value be32(i), in one group. */
void fx_fill_range(store_t *s, uint64_t lo, uint64_t hi);

#endif
