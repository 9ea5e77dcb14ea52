/*
 * agenda.c - the agenda service: method table, start-up, access checks and
 * the helpers the other modules share (agenda_int.h).
 */
#include "services/agenda/agenda.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "services/agenda/agenda_int.h"
#include "process/log.h"
#include "proto/status.h"

/* ---- ids ---- */

int agenda_id_parse(const char *hex, uint8_t out[AGENDA_ID_BYTES])
{
    if (!agenda_hex_id_valid(hex))
        return ES_INVALID_ARGUMENT;
    for (size_t i = 0; i < AGENDA_ID_BYTES; i++) {
        unsigned v = 0;
        for (size_t j = 0; j < 2; j++) {
            char ch = hex[2 * i + j];
            v = (v << 4) | (unsigned)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
        }
        out[i] = (uint8_t)v;
    }
    return ES_OK;
}

const char *agenda_id_hex(const uint8_t id[AGENDA_ID_BYTES], char out[AGENDA_HEX_ID])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < AGENDA_ID_BYTES; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 0xf];
    }
    out[2 * AGENDA_ID_BYTES] = '\0';
    return out;
}

/* ---- drafts ---- */

static void s_copy_id(ProtobufCBinaryData *dst, uint8_t buf[AGENDA_ID_BYTES],
                      const ProtobufCBinaryData *src)
{
    if (src && src->len == AGENDA_ID_BYTES) {
        memcpy(buf, src->data, AGENDA_ID_BYTES);
        dst->data = buf;
        dst->len = AGENDA_ID_BYTES;
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
    if (id->len != AGENDA_ID_BYTES)
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

int agenda_access(agenda_state_t *st, svc_call_t *c, const char *patient_id, int action,
                  uint8_t pid[AGENDA_ID_BYTES], char hex[AGENDA_HEX_ID])
{
    const Espace__V1__Caller *who = svc_caller(c);
    if (!patient_id || !patient_id[0]) {
        if (who->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT)
            return svc_fail(c, ES_INVALID_ARGUMENT, "patient_id", "patient_id is required");
        patient_id = who->principal;
    }
    if (agenda_id_parse(patient_id, pid) != 0)
        return svc_fail(c, ES_INVALID_ARGUMENT, "patient_id", "patient_id must be 32 hex");
    memcpy(hex, patient_id, AGENDA_HEX_ID - 1);
    hex[AGENDA_HEX_ID - 1] = '\0';
    /* A patient reaches only their own agenda: refused here, before consent,
     * so another patient's audit trail is not filled with denials. */
    if (who->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT &&
        strcasecmp(who->principal, hex) != 0)
        return svc_fail(c, ES_PERMISSION_DENIED, "patient_id",
                        "a patient reaches only their own agenda");
    authz_decision_t d;
    int rc = authz_check(st->az, who, hex, ESPACE__V1__CATEGORY__CATEGORY_AGENDA,
                         (Espace__V1__Action)action, NULL, &d);
    if (rc != 0)
        return svc_fail(c, rc, NULL, "%s", d.reason[0] ? d.reason : "access denied");
    return ES_OK;
}

/* ---- the service ---- */

static const char *s_tables[] = {AGENDA_T_EVENTS,  AGENDA_T_BY_TIME, AGENDA_T_BY_SOURCE,
                                 AGENDA_T_CHANGES, AGENDA_T_HEADS,   AGENDA_T_REMINDERS,
                                 NULL};

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

static int s_init(const svc_env_t *env, void **state)
{
    agenda_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return ES_RESOURCE_EXHAUSTED;
    int rc = authz_new(NULL, env->bus, AGENDA_SERVICE, &st->az);
    if (rc != 0) {
        free(st);
        return rc;
    }
    *state = st;
    return ES_OK;
}

static void s_fini(void *state)
{
    agenda_state_t *st = state;
    if (!st)
        return;
    authz_destroy(&st->az);
    free(st);
}

const svc_def_t agenda_service = {
    .name = AGENDA_SERVICE,
    .tables = s_tables,
    .methods = s_methods,
    .n_methods = sizeof s_methods / sizeof s_methods[0],
    .api = &espace__v1__agenda__descriptor,
    .init = s_init,
    .fini = s_fini,
    .tick = agenda_reminders_tick,
    .tick_ms = AGENDA_TICK_MS,
};
