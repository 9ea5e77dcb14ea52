/*
 * agenda.h - libespace, typed calls of the agenda service (part of the
 * manual espace.h; schema: proto/espace/v1/agenda.proto, service Agenda;
 * rules: docs/agenda.md). Errors and memory as in conn.h: each call's *out
 * (may be NULL to ignore it) is the method's reply, free it with
 * espace_free; on error *out is NULL.
 *
 * patient_id: a professional or an app names the patient (32 hex; see
 * espace_patient_id) and needs an AGENDA grant of that patient (READ for
 * Get, List, ListChanges; WRITE for the others), else ES_PERMISSION_DENIED;
 * a patient passes NULL or "" (their own agenda).
 *
 * Labels of the agenda enums (kinds, statuses, change kinds) are
 * proto/names.h enum_label/enum_parse of the schema ("rdv", "booked",
 * "entered-in-error", "updated").
 */
#ifndef ESPACE_LIB_AGENDA_H
#define ESPACE_LIB_AGENDA_H

#include "clients/lib/conn.h"
#include "espace/v1/agenda.pb-c.h"

/* Create: a new event (kind, title, start_ms, end_ms... of `ev`; the
 * service sets id, version and the other service-set fields). */
int espace_agenda_create(espace_t *e, const char *patient_id, const Espace__V1__AgendaEvent *ev,
                         Espace__V1__AgendaCreateReply **out, espace_error_t *err);

/* Upsert: create or update the event of (source, ev->source_id),
 * idempotently. */
int espace_agenda_upsert(espace_t *e, const char *patient_id, const Espace__V1__AgendaEvent *ev,
                         Espace__V1__AgendaUpsertReply **out, espace_error_t *err);

/* Get: one event. ES_NOT_FOUND for an unknown id or another patient's. */
int espace_agenda_get(espace_t *e, const char *patient_id, const uint8_t event_id[16],
                      Espace__V1__AgendaGetReply **out, espace_error_t *err);

/* Update: replace the changeable fields of ev->id; ev->version must be the
 * current version, else ES_ABORTED (field "event.version"). */
int espace_agenda_update(espace_t *e, const char *patient_id, const Espace__V1__AgendaEvent *ev,
                         Espace__V1__AgendaUpdateReply **out, espace_error_t *err);

/* Cancel: status cancelled, with a reason (may be ""). expected_version 0
 * = any, else ES_ABORTED unless it is the current one. */
int espace_agenda_cancel(espace_t *e, const char *patient_id, const uint8_t event_id[16],
                         const char *reason, uint64_t expected_version,
                         Espace__V1__AgendaCancelReply **out, espace_error_t *err);

/* Delete (the patient only, own agenda). expected_version as in Cancel. */
int espace_agenda_delete(espace_t *e, const uint8_t event_id[16], uint64_t expected_version,
                         Espace__V1__AgendaDeleteReply **out, espace_error_t *err);

/* List, one page: events overlapping [from_ms, to_ms), by start, at most
 * limit (0 = 100, at most 500). `cursor` (zeroed for the first page) moves
 * to the next page; loop while cursor->more, with the same from/to. */
int espace_agenda_list(espace_t *e, const char *patient_id, int64_t from_ms, int64_t to_ms,
                       uint32_t limit, espace_cursor_t *cursor,
                       Espace__V1__AgendaListReply **out, espace_error_t *err);

/* ListChanges: events changed after since_version (0 = all), each once,
 * at most limit (0 = 100); call again from out->last_version while
 * out->more. */
int espace_agenda_list_changes(espace_t *e, const char *patient_id, uint64_t since_version,
                               uint32_t limit, Espace__V1__AgendaListChangesReply **out,
                               espace_error_t *err);

/* Live changes of the events the logged-in professional takes part in:
 * subscribe to "pro.<RPPS>.agenda" (espace_subscribe; the topic is written
 * into topic when not NULL). ES_UNAUTHENTICATED without a session (login or
 * resume), or once it ended: calling it again checks the session. The
 * notices have no clinical content (docs/agenda.md): read the event with
 * espace_agenda_get, which asks consent and audits. */
int espace_agenda_watch(espace_t *e, char topic[ESPACE_TOPIC_MAX], espace_error_t *err);

/* Wait up to timeout_ms (-1 = forever, 0 = poll) for the next notice of
 * espace_agenda_watch: 0 and *out (free with espace_free; out->event holds
 * id, patient_id, version and change_version), or ES_DEADLINE_EXCEEDED.
 * Events of other subscriptions, and undecodable ones, are skipped. */
int espace_agenda_next_change(espace_t *e, int timeout_ms, Espace__V1__AgendaChange **out,
                              espace_error_t *err);

#endif
