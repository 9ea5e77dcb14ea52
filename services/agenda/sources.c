/*
 * sources.c - the agenda's source index (agenda_int.h): which event holds
 * (patient, source, source_id).
 *
 * A source id is the id of the appointment in the software that sent it
 * (a hospital's booking number, say): it can name the patient's care, so
 * it is not kept in clear in a key (LMDB keys are not encrypted, store.h).
 * The key carries its keyed hash (store_keyed_hash, label
 * AGENDA_SOURCE_HASH_LABEL) instead; the event itself keeps the source id,
 * sealed like every value.
 *
 * Stores written before kept the source id in clear in the table
 * AGENDA_T_BY_SOURCE_CLEAR; agenda_sources_migrate moves its entries to the
 * hashed index when the service starts (docs/agenda.md).
 */
#include <stdlib.h>
#include <string.h>

#include "process/log.h"
#include "proto/status.h"
#include "services/agenda/agenda_int.h"

#define AGENDA_SOURCE_HASH_LABEL "agenda.source_id"
#define S_KEY (ID_BYTES + 1 + STORE_HASH_BYTES)
#define S_CLEAR_KEY_MAX (ID_BYTES + 1 + AGENDA_MAX_SOURCE_ID)
#define S_MIGRATE_BATCH 256 /* clear entries read per cursor pass */

static void s_key(uint8_t k[S_KEY], const store_t *s, const uint8_t pid[ID_BYTES], int source,
                  const char *sid, size_t sid_len)
{
    memcpy(k, pid, ID_BYTES);
    k[ID_BYTES] = (uint8_t)source;
    store_keyed_hash(s, AGENDA_SOURCE_HASH_LABEL, sid, sid_len, k + ID_BYTES + 1);
}

static size_t s_sid_len(const char *sid)
{
    size_t n = strlen(sid);
    return n > AGENDA_MAX_SOURCE_ID ? AGENDA_MAX_SOURCE_ID : n; /* validated before */
}

int agenda_db_source_find(const store_t *s, store_txn_t *t, const uint8_t pid[ID_BYTES],
                          int source, const char *source_id, uint8_t id[ID_BYTES])
{
    uint8_t k[S_KEY];
    s_key(k, s, pid, source, source_id, s_sid_len(source_id));
    const void *val = NULL;
    size_t vlen = 0;
    int rc = store_get(t, AGENDA_T_BY_SOURCE, k, sizeof k, &val, &vlen);
    if (rc != 0)
        return rc;
    if (vlen != ID_BYTES)
        return ES_INTERNAL;
    memcpy(id, val, ID_BYTES);
    return ES_OK;
}

int agenda_db_source_claim(const store_t *s, store_txn_t *t, const Espace__V1__AgendaEvent *ev)
{
    uint8_t pid[ID_BYTES];
    if (!ev->source_id || !ev->source_id[0])
        return ES_OK;
    if (id_parse(ev->patient_id, pid) != 0 || ev->id.len != ID_BYTES)
        return ES_INTERNAL;
    uint8_t k[S_KEY];
    s_key(k, s, pid, ev->source, ev->source_id, s_sid_len(ev->source_id));
    return store_put(t, AGENDA_T_BY_SOURCE, k, sizeof k, ev->id.data, ID_BYTES);
}

int agenda_db_source_release(const store_t *s, store_txn_t *t,
                             const Espace__V1__AgendaEvent *old)
{
    uint8_t pid[ID_BYTES], held[ID_BYTES];
    if (!old->source_id || !old->source_id[0])
        return ES_OK;
    if (id_parse(old->patient_id, pid) != 0 || old->id.len != ID_BYTES)
        return ES_INTERNAL;
    int rc = agenda_db_source_find(s, t, pid, old->source, old->source_id, held);
    if (rc == ES_NOT_FOUND || (rc == 0 && memcmp(held, old->id.data, ID_BYTES) != 0))
        return ES_OK; /* the key is another event's now (a reschedule took it) */
    if (rc != 0)
        return rc;
    uint8_t k[S_KEY];
    s_key(k, s, pid, old->source, old->source_id, s_sid_len(old->source_id));
    return store_del(t, AGENDA_T_BY_SOURCE, k, sizeof k);
}

/* One pass: up to S_MIGRATE_BATCH clear entries moved. *n = how many. */
static int s_migrate_pass(const store_t *s, store_txn_t *t, size_t *n)
{
    typedef struct {
        uint8_t key[S_CLEAR_KEY_MAX];
        size_t len;
    } clear_key_t;
    clear_key_t *keys = malloc(S_MIGRATE_BATCH * sizeof *keys);
    if (keys == NULL)
        return ES_RESOURCE_EXHAUSTED;
    store_cursor_t *cur = NULL;
    int rc = store_cursor_open(t, AGENDA_T_BY_SOURCE_CLEAR, NULL, 0, &cur);
    *n = 0;
    while (rc == 0 && *n < S_MIGRATE_BATCH) {
        const void *k = NULL;
        size_t kl = 0;
        rc = store_cursor_next(cur, &k, &kl, NULL, NULL); /* keys only */
        if (rc == ES_NOT_FOUND) {
            rc = 0;
            break;
        }
        if (rc == 0 && kl <= S_CLEAR_KEY_MAX) {
            memcpy(keys[*n].key, k, kl);
            keys[(*n)++].len = kl;
        }
    }
    store_cursor_close(&cur);
    for (size_t i = 0; rc == 0 && i < *n; i++) {
        const uint8_t *k = keys[i].key;
        const void *val = NULL;
        size_t vlen = 0;
        int grc = store_get(t, AGENDA_T_BY_SOURCE_CLEAR, k, keys[i].len, &val, &vlen);
        if (grc == 0 && vlen == ID_BYTES && keys[i].len > ID_BYTES + 1) {
            uint8_t hk[S_KEY];
            s_key(hk, s, k, k[ID_BYTES], (const char *)k + ID_BYTES + 1,
                  keys[i].len - ID_BYTES - 1);
            rc = store_put(t, AGENDA_T_BY_SOURCE, hk, sizeof hk, val, vlen);
        } /* else unreadable: dropped (the event keeps its source id) */
        if (rc == 0)
            rc = store_del(t, AGENDA_T_BY_SOURCE_CLEAR, k, keys[i].len);
    }
    free(keys);
    return rc;
}

int agenda_sources_migrate(const store_t *s, store_txn_t *t, size_t *moved)
{
    *moved = 0;
    for (;;) {
        size_t n = 0;
        int rc = s_migrate_pass(s, t, &n);
        if (rc != 0)
            return rc;
        if (n == 0)
            return ES_OK;
        *moved += n;
    }
}
