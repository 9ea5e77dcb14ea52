/*
 * reminders.c - the reminder index and the tick that fires due reminders
 * (agenda_int.h). A pending reminder is one key of table "reminders":
 * due (8) | event id (16) | offset minutes (4). Firing it publishes
 * "patient.<id>.agenda.reminder" and deletes the key in the same
 * transaction, so each reminder fires once, and one that fell due while the
 * service was down fires at the first tick after it comes back.
 */
#include <stdio.h>
#include <string.h>

#include "services/agenda/agenda_int.h"
#include "bus/codec.h"
#include "process/log.h"
#include "proto/status.h"

#define KEY_REM (8 + ID_BYTES + 4)

static void s_key(uint8_t k[KEY_REM], int64_t due, const uint8_t id[ID_BYTES],
                  uint32_t off)
{
    store_be64_put(k, (uint64_t)due);
    memcpy(k + 8, id, ID_BYTES);
    store_be32_put(k + 8 + ID_BYTES, off);
}

static int s_armed(const Espace__V1__AgendaEvent *e)
{
    return e && e->kind != 0 && !agenda_status_final(e->status);
}

/* 1 if e (armed) has reminder `off` with the same due time. */
static int s_has(const Espace__V1__AgendaEvent *e, int64_t due, uint32_t off)
{
    if (!s_armed(e))
        return 0;
    for (size_t i = 0; i < e->n_reminder_minutes; i++)
        if (e->reminder_minutes[i] == off && e->start_ms - (int64_t)off * 60000 == due)
            return 1;
    return 0;
}

int agenda_reminders_sync(store_txn_t *t, const Espace__V1__AgendaEvent *old,
                          const Espace__V1__AgendaEvent *ev, int64_t now)
{
    uint8_t k[KEY_REM];
    int rc;
    if (s_armed(old)) {
        for (size_t i = 0; i < old->n_reminder_minutes; i++) {
            uint32_t off = old->reminder_minutes[i];
            int64_t due = old->start_ms - (int64_t)off * 60000;
            if (s_has(ev, due, off))
                continue; /* unchanged: keep it pending (or fired) */
            s_key(k, due, old->id.data, off);
            rc = store_del(t, AGENDA_T_REMINDERS, k, sizeof k);
            if (rc != 0 && rc != ES_NOT_FOUND)
                return rc;
        }
    }
    if (!s_armed(ev))
        return ES_OK;
    uint8_t pid[ID_BYTES];
    if (id_parse(ev->patient_id, pid) != 0)
        return ES_INTERNAL;
    for (size_t i = 0; i < ev->n_reminder_minutes; i++) {
        uint32_t off = ev->reminder_minutes[i];
        int64_t due = ev->start_ms - (int64_t)off * 60000;
        if (s_has(old, due, off) || due <= now)
            continue;
        s_key(k, due, ev->id.data, off);
        if ((rc = store_put(t, AGENDA_T_REMINDERS, k, sizeof k, pid, sizeof pid)) != 0)
            return rc;
    }
    return ES_OK;
}

int agenda_reminders_tick(void *state, svc_call_t *c, store_txn_t *t)
{
    (void)state;
    int64_t now = svc_now_ms(c);
    uint8_t keys[AGENDA_REMINDERS_PER_TICK + 1][KEY_REM];
    size_t n = 0;
    store_cursor_t *cur = NULL;
    int rc = store_cursor_open(t, AGENDA_T_REMINDERS, NULL, 0, &cur);
    if (rc != 0)
        return rc;
    while (n < AGENDA_REMINDERS_PER_TICK + 1) {
        const void *kp = NULL;
        size_t kl = 0;
        rc = store_cursor_next(cur, &kp, &kl, NULL, NULL);
        if (rc == ES_NOT_FOUND)
            break;
        if (rc != 0) {
            store_cursor_close(&cur);
            return rc;
        }
        if (kl != KEY_REM)
            continue; /* not ours: ignore */
        if ((int64_t)store_be64_get(kp) > now)
            break;
        memcpy(keys[n++], kp, KEY_REM);
    }
    store_cursor_close(&cur);
    int again = n > AGENDA_REMINDERS_PER_TICK;
    if (again)
        n = AGENDA_REMINDERS_PER_TICK;

    for (size_t i = 0; i < n; i++) {
        const uint8_t *k = keys[i];
        if ((rc = store_del(t, AGENDA_T_REMINDERS, k, KEY_REM)) != 0)
            return rc;
        Espace__V1__AgendaEvent *e = NULL;
        rc = agenda_db_load(t, k + 8, NULL, 0, &e);
        if (rc == ES_NOT_FOUND)
            continue; /* deleted meanwhile */
        if (rc != 0)
            return rc;
        Espace__V1__AgendaReminder r = ESPACE__V1__AGENDA_REMINDER__INIT;
        r.event = e;
        r.offset_minutes = store_be32_get(k + 8 + ID_BYTES);
        r.due_ms = (int64_t)store_be64_get(k);
        char topic[TOPIC_MAX + 1];
        if (s_armed(e)) {
            rc = topic_patient(topic, sizeof topic, e->patient_id, TOPIC_AREA_AGENDA_REMINDER);
            if (rc == 0)
                rc = svc_publish(c, topic, &r.base);
            if (rc != 0)
                log_warn(SERVICE_AGENDA, "reminder.publish.fail", "status=%s",
                         es_status_name(rc));
            else
                log_info(SERVICE_AGENDA, "reminder.fired", "late_ms=%lld",
                         (long long)(now - r.due_ms));
        }
        codec_free(&e->base);
    }
    return again ? SVC_TICK_AGAIN : ES_OK;
}
