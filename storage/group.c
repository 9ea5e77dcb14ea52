/*
 * group.c - group commit (store_write_group): many requests' writes in one
 * LMDB transaction, each in its own nested transaction, with map growth.
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
        store_txn_release(&item);
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
            rc = store_grow(s, 0);
        } else if (rc == MDB_MAP_FULL) {
            if (s->mapsize > SIZE_MAX / 2)
                return ES_RESOURCE_EXHAUSTED;
            rc = store_grow(s, s->mapsize * 2);
        } else {
            return rc == MDB_TXN_FULL || rc == ENOMEM ? ES_RESOURCE_EXHAUSTED : ES_INTERNAL;
        }
        if (rc != ES_OK)
            return rc;
    }
    return ES_RESOURCE_EXHAUSTED;
}
