/*
 * db.c - the agenda's store layout (agenda_int.h): events, the time and
 * source indexes, the per-patient change log and heads.
 */
#include <stdlib.h>
#include <string.h>

#include "services/agenda/agenda_int.h"
#include "bus/codec.h"
#include "process/log.h"
#include "proto/status.h"

#define KEY_TIME (ID_BYTES + 8 + ID_BYTES)
#define KEY_CHANGE (ID_BYTES + 8)

/* ---- events ---- */

static int s_save(store_txn_t *t, const Espace__V1__AgendaEvent *e)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = codec_pack(&e->base, &buf, &len);
    if (rc != 0)
        return rc;
    rc = store_put(t, AGENDA_T_EVENTS, e->id.data, ID_BYTES, buf, len);
    free(buf);
    return rc;
}

int agenda_db_load(store_txn_t *t, const uint8_t id[ID_BYTES], const uint8_t *pid,
                   int tombstones_too, Espace__V1__AgendaEvent **out)
{
    const void *val = NULL;
    size_t vlen = 0;
    *out = NULL;
    int rc = store_get(t, AGENDA_T_EVENTS, id, ID_BYTES, &val, &vlen);
    if (rc != 0)
        return rc;
    ProtobufCMessage *m = NULL;
    if (codec_decode(&espace__v1__agenda_event__descriptor, val, vlen, STORE_MAX_VALUE, &m,
                     NULL) != 0) {
        log_error(SERVICE_AGENDA, "record.corrupt", "table=%s", AGENDA_T_EVENTS);
        return ES_INTERNAL;
    }
    Espace__V1__AgendaEvent *e = (Espace__V1__AgendaEvent *)m;
    uint8_t epid[ID_BYTES];
    if ((!tombstones_too && e->kind == 0) ||
        (pid && (id_parse(e->patient_id, epid) != 0 ||
                 memcmp(epid, pid, ID_BYTES) != 0))) {
        codec_free(m);
        return ES_NOT_FOUND;
    }
    *out = e;
    return ES_OK;
}

/* ---- heads ---- */

int agenda_db_head(store_txn_t *t, const uint8_t pid[ID_BYTES], uint64_t *cv,
                   int64_t *longest)
{
    const void *val = NULL;
    size_t vlen = 0;
    *cv = 0;
    *longest = 0;
    int rc = store_get(t, AGENDA_T_HEADS, pid, ID_BYTES, &val, &vlen);
    if (rc == ES_NOT_FOUND)
        return ES_OK;
    if (rc != 0)
        return rc;
    if (vlen != 16)
        return ES_INTERNAL;
    *cv = store_be64_get(val);
    *longest = (int64_t)store_be64_get((const uint8_t *)val + 8);
    return ES_OK;
}

static int s_head_put(store_txn_t *t, const uint8_t pid[ID_BYTES], uint64_t cv,
                      int64_t longest)
{
    uint8_t v[16];
    store_be64_put(v, cv);
    store_be64_put(v + 8, (uint64_t)longest);
    return store_put(t, AGENDA_T_HEADS, pid, ID_BYTES, v, sizeof v);
}

/* ---- keys ---- */

static void s_time_key(uint8_t k[KEY_TIME], const uint8_t pid[ID_BYTES], int64_t start,
                       const uint8_t id[ID_BYTES])
{
    memcpy(k, pid, ID_BYTES);
    store_be64_put(k + ID_BYTES, (uint64_t)start);
    memcpy(k + ID_BYTES + 8, id, ID_BYTES);
}

static void s_change_key(uint8_t k[KEY_CHANGE], const uint8_t pid[ID_BYTES], uint64_t cv)
{
    memcpy(k, pid, ID_BYTES);
    store_be64_put(k + ID_BYTES, cv);
}

static int s_pid(const Espace__V1__AgendaEvent *e, uint8_t pid[ID_BYTES])
{
    return id_parse(e->patient_id, pid) == 0 && e->id.len == ID_BYTES
               ? ES_OK
               : ES_INTERNAL;
}

/* Record a change of event `id`: next change version, change log entry
 * (replacing the event's previous one). */
static int s_change(store_txn_t *t, const uint8_t pid[ID_BYTES],
                    const uint8_t id[ID_BYTES], uint64_t old_cv, int kind, int64_t dur,
                    uint64_t *cv)
{
    uint64_t head = 0;
    int64_t longest = 0;
    int rc = agenda_db_head(t, pid, &head, &longest);
    if (rc != 0)
        return rc;
    uint8_t k[KEY_CHANGE];
    if (old_cv) {
        s_change_key(k, pid, old_cv);
        rc = store_del(t, AGENDA_T_CHANGES, k, sizeof k);
        if (rc != 0 && rc != ES_NOT_FOUND)
            return rc;
    }
    *cv = head + 1;
    s_change_key(k, pid, *cv);
    uint8_t v[ID_BYTES + 1];
    memcpy(v, id, ID_BYTES);
    v[ID_BYTES] = (uint8_t)kind;
    if ((rc = store_put(t, AGENDA_T_CHANGES, k, sizeof k, v, sizeof v)) != 0)
        return rc;
    return s_head_put(t, pid, *cv, dur > longest ? dur : longest);
}

int agenda_db_write(store_txn_t *t, const Espace__V1__AgendaEvent *old,
                    Espace__V1__AgendaEvent *ev, int change_kind, int64_t now)
{
    uint8_t pid[ID_BYTES];
    int rc = s_pid(ev, pid);
    if (rc != 0)
        return rc;
    uint8_t k[KEY_TIME];
    if (old && old->start_ms != ev->start_ms) {
        s_time_key(k, pid, old->start_ms, old->id.data);
        rc = store_del(t, AGENDA_T_BY_TIME, k, sizeof k);
        if (rc != 0 && rc != ES_NOT_FOUND)
            return rc;
    }
    s_time_key(k, pid, ev->start_ms, ev->id.data);
    uint8_t end[8];
    store_be64_put(end, (uint64_t)ev->end_ms);
    if ((rc = store_put(t, AGENDA_T_BY_TIME, k, sizeof k, end, sizeof end)) != 0)
        return rc;
    uint64_t cv = 0;
    rc = s_change(t, pid, ev->id.data, old ? old->change_version : 0, change_kind,
                  ev->end_ms - ev->start_ms, &cv);
    if (rc != 0)
        return rc;
    ev->change_version = cv;
    if ((rc = agenda_reminders_sync(t, old, ev, now)) != 0)
        return rc;
    return s_save(t, ev);
}

int agenda_db_tombstone(const store_t *s, store_txn_t *t, const Espace__V1__AgendaEvent *old,
                        int64_t now, uint64_t *cv)
{
    uint8_t pid[ID_BYTES];
    int rc = s_pid(old, pid);
    if (rc != 0)
        return rc;
    uint8_t k[KEY_TIME];
    s_time_key(k, pid, old->start_ms, old->id.data);
    rc = store_del(t, AGENDA_T_BY_TIME, k, sizeof k);
    if (rc != 0 && rc != ES_NOT_FOUND)
        return rc;
    if ((rc = agenda_db_source_release(s, t, old)) != 0)
        return rc;
    if ((rc = agenda_reminders_sync(t, old, NULL, now)) != 0)
        return rc;
    rc = s_change(t, pid, old->id.data, old->change_version,
                  ESPACE__V1__AGENDA_CHANGE_KIND__AGENDA_CHANGE_DELETED, 0, cv);
    if (rc != 0)
        return rc;
    Espace__V1__AgendaEvent tomb = ESPACE__V1__AGENDA_EVENT__INIT;
    tomb.id = old->id;
    tomb.patient_id = old->patient_id;
    tomb.change_version = *cv;
    tomb.updated_ms = now;
    return s_save(t, &tomb);
}

/* ---- pages ---- */

/* The next entry of cur if its key is klen bytes and starts with pid: 1
 * (*key, *vp set), 0 past pid's entries, ES_INTERNAL if its value is not
 * vlen bytes, or another negative es_status. */
static int s_next_of(store_cursor_t *cur, const uint8_t *pid, size_t klen, size_t vlen,
                     const uint8_t **key, const void **vp)
{
    const void *kp = NULL;
    size_t kl = 0, vl = 0;
    int rc = store_cursor_next(cur, &kp, &kl, vp, &vl);
    if (rc == ES_NOT_FOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (kl != klen || memcmp(kp, pid, ID_BYTES) != 0)
        return 0;
    if (vl != vlen)
        return ES_INTERNAL;
    *key = kp;
    return 1;
}

/* 1 once a page holds limit items or max_bytes (it then has more), else 0. */
static int s_page_full(size_t n, size_t limit, size_t bytes, size_t max_bytes)
{
    return n == limit || bytes >= max_bytes;
}

/* agenda_db_load of an event an index names: missing, the index is broken. */
static int s_load_indexed(store_txn_t *t, const uint8_t *id, const uint8_t *pid, int any,
                          Espace__V1__AgendaEvent **out)
{
    int rc = agenda_db_load(t, id, pid, any, out);
    return rc == ES_NOT_FOUND ? ES_INTERNAL : rc;
}

void agenda_page_free(agenda_page_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        codec_free(&p->events[i]->base);
    free(p->events);
    memset(p, 0, sizeof *p);
}

int agenda_db_list(store_txn_t *t, const uint8_t pid[ID_BYTES], int64_t from,
                   int64_t to, const uint8_t *after, size_t limit, size_t max_bytes,
                   agenda_page_t *out)
{
    memset(out, 0, sizeof *out);
    uint64_t cv;
    int64_t longest;
    int rc = agenda_db_head(t, pid, &cv, &longest);
    if (rc != 0)
        return rc;
    if (limit == 0)
        return ES_OK;
    out->events = calloc(limit, sizeof *out->events);
    if (!out->events)
        return ES_RESOURCE_EXHAUSTED;
    /* Events starting before from - longest cannot reach from. */
    int64_t lo = from - longest;
    if (lo < 0)
        lo = 0;
    uint8_t k0[KEY_TIME];
    memcpy(k0, pid, ID_BYTES);
    if (after) {
        memcpy(k0 + ID_BYTES, after, AGENDA_CURSOR_BYTES);
    } else {
        store_be64_put(k0 + ID_BYTES, (uint64_t)lo);
        memset(k0 + ID_BYTES + 8, 0, ID_BYTES);
    }
    store_cursor_t *cur = NULL;
    if ((rc = store_cursor_open(t, AGENDA_T_BY_TIME, k0, sizeof k0, &cur)) != 0)
        goto fail;
    size_t bytes = 0;
    const uint8_t *key = NULL;
    const void *vp = NULL;
    while ((rc = s_next_of(cur, pid, KEY_TIME, 8, &key, &vp)) == 1) {
        if (after && memcmp(key, k0, KEY_TIME) == 0)
            continue; /* the cursor's own entry */
        int64_t start = (int64_t)store_be64_get(key + ID_BYTES);
        if (start >= to)
            break;
        int64_t end = (int64_t)store_be64_get(vp);
        if (end <= from || start < lo)
            continue;
        if ((out->more = s_page_full(out->n, limit, bytes, max_bytes)))
            break;
        Espace__V1__AgendaEvent *e = NULL;
        if ((rc = s_load_indexed(t, key + ID_BYTES + 8, pid, 0, &e)) != 0)
            goto fail;
        bytes += protobuf_c_message_get_packed_size(&e->base);
        out->events[out->n++] = e;
        memcpy(out->next, key + ID_BYTES, AGENDA_CURSOR_BYTES);
    }
    if (rc < 0)
        goto fail;
    store_cursor_close(&cur);
    return ES_OK;
fail:
    store_cursor_close(&cur);
    agenda_page_free(out);
    return rc;
}

/* ---- changes ---- */

void agenda_changes_free(agenda_changes_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        Espace__V1__AgendaChange *ch = c->changes[i];
        if (ch->event)
            codec_free(&ch->event->base);
        if (ch->previous)
            codec_free(&ch->previous->base);
        free(ch);
    }
    free(c->changes);
    memset(c, 0, sizeof *c);
}

int agenda_db_changes(store_txn_t *t, const uint8_t pid[ID_BYTES], uint64_t since,
                      size_t limit, size_t max_bytes, agenda_changes_t *out)
{
    memset(out, 0, sizeof *out);
    uint64_t head;
    int64_t longest;
    int rc = agenda_db_head(t, pid, &head, &longest);
    if (rc != 0)
        return rc;
    out->last = head > since ? head : since;
    if (limit == 0 || since >= head)
        return ES_OK;
    out->changes = calloc(limit, sizeof *out->changes);
    if (!out->changes)
        return ES_RESOURCE_EXHAUSTED;
    uint8_t k0[KEY_CHANGE];
    s_change_key(k0, pid, since + 1);
    store_cursor_t *cur = NULL;
    if ((rc = store_cursor_open(t, AGENDA_T_CHANGES, k0, sizeof k0, &cur)) != 0)
        goto fail;
    size_t bytes = 0;
    const uint8_t *key = NULL;
    const void *vp = NULL;
    while ((rc = s_next_of(cur, pid, KEY_CHANGE, ID_BYTES + 1, &key, &vp)) == 1) {
        if ((out->more = s_page_full(out->n, limit, bytes, max_bytes)))
            break;
        uint64_t cv = store_be64_get(key + ID_BYTES);
        Espace__V1__AgendaChange *ch = malloc(sizeof *ch);
        if (!ch) {
            rc = ES_RESOURCE_EXHAUSTED;
            goto fail;
        }
        espace__v1__agenda_change__init(ch);
        out->changes[out->n++] = ch;
        ch->kind = (Espace__V1__AgendaChangeKind)((const uint8_t *)vp)[ID_BYTES];
        ch->change_version = cv;
        if ((rc = s_load_indexed(t, vp, pid, 1, &ch->event)) != 0)
            goto fail;
        if (ch->kind == ESPACE__V1__AGENDA_CHANGE_KIND__AGENDA_CHANGE_RESCHEDULED &&
            ch->event->previous_id.len == ID_BYTES &&
            agenda_db_load(t, ch->event->previous_id.data, pid, 0, &ch->previous) != 0)
            ch->previous = NULL; /* deleted since: the change stands alone */
        bytes += protobuf_c_message_get_packed_size(&ch->base);
        out->last = cv;
    }
    if (rc < 0)
        goto fail;
    if (!out->more)
        out->last = head;
    store_cursor_close(&cur);
    return ES_OK;
fail:
    store_cursor_close(&cur);
    agenda_changes_free(out);
    return rc;
}
