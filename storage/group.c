/*
 * group.c - group commit (store_write_group): many requests' writes in one
 * LMDB transaction (flat, or one nested transaction each), with map growth.
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
/*
 * Two ways to run a group, with the same outcome (store.h):
 *   - flat (first): every item writes straight into the group's one
 *     transaction. Most items succeed, and an item that fails before writing
 *     anything (a refused request: bad input, not found, denied) leaves
 *     nothing to undo. Only an item that fails (or ends its transaction)
 *     after writing taints the group: it is aborted and replayed without
 *     that item (its result kept), at most S_FLAT_TRIES times;
 *   - nested (fallback): one nested transaction per item, so a failed item's
 *     writes are discarded alone. A nested transaction costs a copy of every
 *     page the item touches (measured: ~30 % more instructions per put).
 */

#define S_FLAT_TRIES 3     /* flat attempts before the nested fallback */
#define S_TAINTED (-30000) /* s_group_flat: replay without the item marked */

/* One flat attempt over the items not in skip[]: 0 committed, S_TAINTED (an
 * item failed after writing: skip[i] set, results[i] kept, nothing
 * committed), MDB_MAP_FULL / MDB_MAP_RESIZED / another mdb code. */
static int s_group_flat(store_t *s, store_apply_fn apply, void **items, size_t n,
                        int *results, void *ctx, unsigned char *skip)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != MDB_SUCCESS)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (skip[i])
            continue;
        store_txn_t item = {.s = s, .write = 1, .flat = 1, .txn = txn};
        int r = apply(&item, items[i], ctx);
        store_txn_release(&item);
        if (item.map_full || item.fatal) {
            rc = item.map_full ? MDB_MAP_FULL : item.fatal;
            goto abort;
        }
        if (r == ES_OK && item.ended)
            r = ES_ABORTED; /* the callback ended its own transaction */
        results[i] = r == ES_OK ? ES_OK : r > 0 ? ES_INTERNAL : r;
        if (r != ES_OK && item.writes > 0) {
            skip[i] = 1;
            rc = S_TAINTED;
            goto abort;
        }
    }
    return mdb_txn_commit(txn); /* frees txn even on failure */
abort:
    mdb_txn_abort(txn);
    return rc;
}

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
    unsigned char skip[STORE_GROUP_MAX] = {0}; /* items failed after writing */
    int flat_tries = 0;
    for (int grows = 0; grows <= STORE_MAX_GROWS;) {
        for (size_t i = 0; i < n; i++)
            if (!skip[i])
                results[i] = ES_INTERNAL;
        int rc;
        if (flat_tries < S_FLAT_TRIES) {
            flat_tries++;
            rc = s_group_flat(s, apply, items, n, results, ctx, skip);
            if (rc == S_TAINTED)
                continue; /* replay without the tainted item */
        } else {
            rc = s_group_once(s, apply, items, n, results, ctx);
        }
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
        grows++;
    }
    return ES_RESOURCE_EXHAUSTED;
}
