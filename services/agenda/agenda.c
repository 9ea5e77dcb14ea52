/*
 * agenda.c - the agenda service: method table, the access each method needs
 * (guards: the runtime asks consent before a request runs), and the helpers
 * the other modules share (agenda_int.h).
 */
#include "services/agenda/agenda.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/agenda/agenda_int.h"
#include "process/log.h"
#include "proto/status.h"

/* ---- drafts ---- */

static void s_copy_id(ProtobufCBinaryData *dst, uint8_t buf[ID_BYTES],
                      const ProtobufCBinaryData *src)
{
    if (src && src->len == ID_BYTES) {
        memcpy(buf, src->data, ID_BYTES);
        dst->data = buf;
        dst->len = ID_BYTES;
    } else {
        dst->data = NULL;
        dst->len = 0;
    }
}

void agenda_draft_init(agenda_draft_t *d, const Espace__V1__AgendaEvent *base)
{
    memset(d, 0, sizeof *d);
    if (base)
        d->ev = *base;
    else
        espace__v1__agenda_event__init(&d->ev);
    s_copy_id(&d->ev.id, d->id, base ? &base->id : NULL);
    s_copy_id(&d->ev.previous_id, d->prev, base ? &base->previous_id : NULL);
    s_copy_id(&d->ev.next_id, d->next, base ? &base->next_id : NULL);
    snprintf(d->patient, sizeof d->patient, "%s",
             base && base->patient_id ? base->patient_id : "");
    d->ev.patient_id = d->patient;
    size_t n = d->ev.n_participants;
    if (n > AGENDA_MAX_PARTICIPANTS)
        n = AGENDA_MAX_PARTICIPANTS; /* never stored: validated on the way in */
    for (size_t i = 0; i < n; i++) {
        d->parts[i] = *d->ev.participants[i];
        d->pp[i] = &d->parts[i];
    }
    d->ev.participants = n ? d->pp : NULL;
    d->ev.n_participants = n;
}

int agenda_draft_content(agenda_draft_t *d, const Espace__V1__AgendaEvent *src)
{
    Espace__V1__AgendaEvent *e = &d->ev;
    e->kind = src->kind;
    e->status = src->status;
    e->title = src->title;
    e->description = src->description;
    e->start_ms = src->start_ms;
    e->end_ms = src->end_ms;
    e->all_day = src->all_day;
    e->location = src->location;
    e->reminder_minutes = src->reminder_minutes;
    e->n_reminder_minutes = src->n_reminder_minutes;
    if (src->n_participants > AGENDA_MAX_PARTICIPANTS) {
        /* Keep the request's array: validation refuses it (too many). */
        e->participants = src->participants;
        e->n_participants = src->n_participants;
        return ES_TOO_LARGE;
    }
    for (size_t i = 0; i < src->n_participants; i++) {
        d->parts[i] = *src->participants[i];
        d->pp[i] = &d->parts[i];
    }
    e->participants = src->n_participants ? d->pp : NULL;
    e->n_participants = src->n_participants;
    return ES_OK;
}

/* ---- access ---- */

int agenda_fail(svc_call_t *c, const agenda_err_t *err)
{
    return svc_fail(c, err->status, err->field[0] ? err->field : NULL, "%s", err->msg);
}

int agenda_event_id_check(svc_call_t *c, const ProtobufCBinaryData *id, const char *field)
{
    if (id->len != ID_BYTES)
        return svc_fail(c, ES_INVALID_ARGUMENT, field, "an event id is 16 bytes");
    return ES_OK;
}

int agenda_event_load(svc_call_t *c, store_txn_t *t, const uint8_t *id, const uint8_t *pid,
                      Espace__V1__AgendaEvent **out)
{
    int rc = agenda_db_load(t, id, pid, 0, out);
    if (rc == ES_NOT_FOUND)
        return svc_fail(c, ES_NOT_FOUND, "event_id", "no such event");
    if (rc != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    return ES_OK;
}

int agenda_event_get(svc_call_t *c, store_txn_t *t, const ProtobufCBinaryData *id,
                     const uint8_t *pid, Espace__V1__AgendaEvent **out)
{
    int rc = agenda_event_id_check(c, id, "event_id");
    return rc != 0 ? rc : agenda_event_load(c, t, id->data, pid, out);
}

int agenda_patient(svc_call_t *c, const svc_access_t **out)
{
    *out = svc_access(c);
    return *out ? ES_OK : svc_fail(c, ES_INTERNAL, NULL, "no access resolved");
}

/* ---- the service ---- */

static const char *s_tables[] = {AGENDA_T_EVENTS,  AGENDA_T_BY_TIME, AGENDA_T_BY_SOURCE,
                                 AGENDA_T_CHANGES, AGENDA_T_HEADS,   AGENDA_T_REMINDERS,
                                 AGENDA_T_BY_SOURCE_CLEAR, NULL};

/* store_write_group item of the migration: item = the moved count. */
static int s_migrate(store_txn_t *t, void *item, void *ctx)
{
    return agenda_sources_migrate(ctx, t, item);
}

/* The state, and the clear source index of an older store moved to the
 * hashed one (agenda_int.h) before any request. */
static int s_init(const svc_env_t *env, void **state)
{
    agenda_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return ES_RESOURCE_EXHAUSTED;
    st->store = env->store;
    size_t moved = 0;
    void *items[1] = {&moved};
    int results[1] = {0};
    int rc = store_write_group(env->store, s_migrate, items, 1, results, env->store);
    if (rc == 0)
        rc = results[0];
    if (rc != 0) {
        log_error(SERVICE_AGENDA, "sources.migrate.fail", "status=%s", es_status_name(rc));
        free(st);
        return rc;
    }
    if (moved > 0)
        log_info(SERVICE_AGENDA, "sources.migrated", "entries=%zu", moved);
    *state = st;
    return ES_OK;
}

static void s_fini(void *state)
{
    free(state);
}

#define M(n, d, h, f) {n, &espace__v1__agenda_##d##__descriptor, h, f}
static const svc_method_t s_methods[] = {
    M("Create", create_request, agenda_create, SVC_WRITE),
    M("Update", update_request, agenda_update, SVC_WRITE),
    M("Cancel", cancel_request, agenda_cancel, SVC_WRITE),
    M("Delete", delete_request, agenda_delete, SVC_WRITE),
    M("Upsert", upsert_request, agenda_upsert, SVC_WRITE),
    M("Reschedule", reschedule_request, agenda_reschedule, SVC_WRITE),
    M("Get", get_request, agenda_get, 0),
    M("List", list_request, agenda_list, 0),
    M("ListChanges", list_changes_request, agenda_list_changes, 0),
    M("ExportIcs", export_ics_request, agenda_export_ics, 0),
    M("ExportFhir", export_fhir_request, agenda_export_fhir, 0),
};
#undef M

/* What each method needs of consent (runtime/service.h, ACCESS): the
 * patient named by the request's patient_id (empty = the patient caller).
 * Delete has none: the patient only, checked by its handler. */
#define G(m, a) {m, ESPACE__V1__CATEGORY__CATEGORY_AGENDA, ESPACE__V1__ACTION__ACTION_##a, "patient_id", NULL}
static const svc_guard_t s_guards[] = {
    G("Create", WRITE), G("Update", WRITE),     G("Cancel", WRITE),
    G("Upsert", WRITE), G("Reschedule", WRITE), G("Get", READ),
    G("List", READ),    G("ListChanges", READ), G("ExportIcs", READ),
    G("ExportFhir", READ),
};
#undef G

const svc_def_t agenda_service = {
    .name = SERVICE_AGENDA,
    .tables = s_tables,
    .methods = s_methods,
    .n_methods = sizeof s_methods / sizeof s_methods[0],
    .guards = s_guards,
    .n_guards = sizeof s_guards / sizeof s_guards[0],
    .api = &espace__v1__agenda__descriptor,
    .init = s_init,
    .fini = s_fini,
    .tick = agenda_reminders_tick,
    .tick_ms = AGENDA_TICK_MS,
};
