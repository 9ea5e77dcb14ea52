/*
 * agenda_int.h - what the modules of the agenda service share (not for other
 * services: they use the bus). Tests include it for the pure parts.
 *
 * Modules: agenda.c (method table and guards, drafts, init), event.c
 * (validation and the status state machine, pure; Europe/Paris time comes
 * from proto/civil_time.h), db.c (store layout), sources.c (the source
 * index), methods.c (write methods), query.c (read
 * methods and exports), ical.c (RFC 5545 text), fhir.c (FHIR R4 JSON),
 * reminders.c (reminder index and the tick).
 *
 * Key layouts (ids raw 16 bytes, integers big-endian):
 *   events     event id (16)                        -> AgendaEvent (kind 0 = tombstone:
 *                                                      id, patient_id, change_version only)
 *   by_time    patient (16) | start (8) | id (16)   -> end (8)
 *   sources    patient (16) | source (1) | keyed hash of source_id (32)
 *                                                   -> event id (16)
 *                (store_keyed_hash: a source id may name the patient's care,
 *                and keys are stored in clear)
 *   by_source  patient (16) | source (1) | source_id -> event id (16)
 *                (stores written before the hash; emptied into `sources`
 *                at start, agenda_sources_migrate)
 *   changes    patient (16) | change version (8)    -> event id (16) | change kind (1)
 *                (one entry per event: its latest change)
 *   heads      patient (16)                         -> change version (8) | longest duration (8)
 *   reminders  due (8) | event id (16) | offset minutes (4) -> patient (16)
 *                (pending reminders; deleted when fired)
 * Patient ids are espace's random ids, not personal data (no INS in keys).
 * Handlers and the tick get the service's state, agenda_state_t (init).
 *
 * THREAD SAFETY: everything runs on the service thread; event.c is pure and
 * thread-safe.
 */
#ifndef ES_AGENDA_INT_H
#define ES_AGENDA_INT_H

#include <stddef.h>
#include <stdint.h>

#include "espace/v1/agenda.pb-c.h"
#include "proto/civil_time.h"
#include "proto/ids.h"
#include "proto/names.h"
#include "services/agenda/agenda.h"
#include "storage/store.h"

#define AGENDA_CURSOR_BYTES 24 /* start (8) | id (16) */
#define AGENDA_DAY_MS CIVIL_DAY_MS
#define AGENDA_REPLY_BUDGET ((size_t)768 << 10) /* bytes of events in one reply */

#define AGENDA_T_EVENTS "events"
#define AGENDA_T_BY_TIME "by_time"
#define AGENDA_T_BY_SOURCE "sources"
#define AGENDA_T_BY_SOURCE_CLEAR "by_source" /* before the hash: migrated at start */
#define AGENDA_T_CHANGES "changes"
#define AGENDA_T_HEADS "heads"
#define AGENDA_T_REMINDERS "reminders"

/* ---- event.c: validation and the state machine (pure) ---- */

/* A validation failure: status, dotted field, English message. */
typedef struct agenda_err {
    int status;      /* negative es_status */
    char field[96];  /* e.g. "event.participants[2].actor_id" */
    char msg[128];
} agenda_err_t;

/* 1 if `to` may follow `from` (from != to) in the state machine. */
int agenda_status_can_move(int from, int to);
/* 1 for the final statuses (fulfilled, cancelled, noshow, entered-in-error). */
int agenda_status_final(int s);
/* 1 if an event may be created in status s (not cancelled / entered-in-error). */
int agenda_status_initial(int s);
/* FHIR code of a status ("booked"), NULL if unknown. */
const char *agenda_status_code(int s);
/* iCalendar STATUS of a status (TENTATIVE / CONFIRMED / CANCELLED). */
const char *agenda_status_ical(int s);
/* Name of a kind ("RDV"), NULL if unknown. */
const char *agenda_kind_name(int k);

/* Check times; for all-day events end 0 becomes the next Paris midnight.
 * `prefix` is the field path prefix ("event." or ""). 0 and *end_out, or
 * the error in err. */
int agenda_times_check(int64_t start, int64_t end, int all_day, const char *prefix,
                       int64_t *end_out, agenda_err_t *err);
/* Check a free text: at most max chars of valid UTF-8; control characters
 * refused unless multiline (then \n, \t and \r are allowed). min 0/1. */
int agenda_text_check(const char *s, size_t min, size_t max, int multiline, const char *field,
                      agenda_err_t *err);
/* Validate and normalise the content of e in place (scalars only: status,
 * end_ms, participant enums): kind, status (0 -> booked), title,
 * description, times, location, participants, reminders, source_id.
 * Field paths start with `prefix` ("event."). 0 or the error in err. */
int agenda_event_check(Espace__V1__AgendaEvent *e, const char *prefix, agenda_err_t *err);
/* 1 if s is a FINESS (9 of [0-9AB]). RPPS: proto/rpps.h; ids: proto/ids.h. */
int agenda_finess_valid(const char *s);

/* ---- agenda.c: helpers ---- */

/* A stored event under construction: a shallow AgendaEvent whose strings
 * point into the loaded/requested messages it was made from (which must
 * outlive it), with its own participant copies and id buffers. Never
 * codec_free'd. */
typedef struct agenda_draft {
    Espace__V1__AgendaEvent ev;
    Espace__V1__AgendaParticipant parts[AGENDA_MAX_PARTICIPANTS];
    Espace__V1__AgendaParticipant *pp[AGENDA_MAX_PARTICIPANTS];
    uint8_t id[ID_BYTES], prev[ID_BYTES], next[ID_BYTES];
    char patient[ID_HEX];
} agenda_draft_t;

/* d = a shallow copy of base (may be NULL: an empty event), with ids copied
 * into d's buffers. */
void agenda_draft_init(agenda_draft_t *d, const Espace__V1__AgendaEvent *base);
/* Replace the content fields of d with src's (kind, status, title,
 * description, start, end, all_day, location, participants (copied, at most
 * AGENDA_MAX_PARTICIPANTS, more are kept for validation to refuse),
 * reminder_minutes). Returns ES_TOO_LARGE if src has too many participants. */
int agenda_draft_content(agenda_draft_t *d, const Espace__V1__AgendaEvent *src);

/* The patient whose agenda a guarded request reaches (svc_access: resolved
 * and allowed by the runtime before the handler runs; service.h ACCESS).
 * 0 and *out, or the call failed INTERNAL (a method without a guard). */
int agenda_patient(svc_call_t *c, const svc_access_t **out);

/* Fail the call with err. Returns err->status. */
int agenda_fail(svc_call_t *c, const agenda_err_t *err);

/* 0 if id is an event id (16 bytes), else fails the call (INVALID_ARGUMENT
 * on field) and returns that status. */
int agenda_event_id_check(svc_call_t *c, const ProtobufCBinaryData *id, const char *field);
/* agenda_db_load(t, id, pid, 0, out) for a call: 0 and *out (codec_free), or
 * the call failed (NOT_FOUND on event_id, or the storage error) and its status. */
int agenda_event_load(svc_call_t *c, store_txn_t *t, const uint8_t *id, const uint8_t *pid,
                      Espace__V1__AgendaEvent **out);
/* The event a request names in its event_id (untrusted): checked with
 * agenda_event_id_check on "event_id", then agenda_event_load. */
int agenda_event_get(svc_call_t *c, store_txn_t *t, const ProtobufCBinaryData *id,
                     const uint8_t *pid, Espace__V1__AgendaEvent **out);

/* ---- db.c: store layout ---- */

/* Load event id (codec_free). ES_NOT_FOUND if absent, or a tombstone and
 * !tombstones_too, or (pid not NULL) another patient's. */
int agenda_db_load(store_txn_t *t, const uint8_t id[ID_BYTES],
                   const uint8_t *pid, int tombstones_too, Espace__V1__AgendaEvent **out);
/* Current change version and longest duration of a patient (0, 0 if none). */
int agenda_db_head(store_txn_t *t, const uint8_t pid[ID_BYTES], uint64_t *cv,
                   int64_t *longest);
/* Store ev (new when old is NULL, else replacing old, same id): assigns
 * ev->change_version (the patient's next), maintains by_time, changes,
 * heads and the reminders (armed when due after now). A new event with a
 * source_id takes its key with agenda_db_source_claim. */
int agenda_db_write(store_txn_t *t, const Espace__V1__AgendaEvent *old,
                    Espace__V1__AgendaEvent *ev, int change_kind, int64_t now);
/* Replace old by a tombstone (its source key released); *cv = its change
 * version. s: the agenda's store (its keyed hash). */
int agenda_db_tombstone(const store_t *s, store_txn_t *t, const Espace__V1__AgendaEvent *old,
                        int64_t now, uint64_t *cv);

/* ---- sources.c: the source index (keyed hash of the source id) ---- */

/* The agenda's state (svc_def_t.init): its store, for the keyed hash. */
typedef struct agenda_state {
    store_t *store; /* borrowed from svc_run */
} agenda_state_t;

/* Event id holding (patient, source, source_id): 0, or ES_NOT_FOUND. */
int agenda_db_source_find(const store_t *s, store_txn_t *t, const uint8_t pid[ID_BYTES],
                          int source, const char *source_id, uint8_t id[ID_BYTES]);
/* ev (stored) takes the key of its source id, if it has one (replacing the
 * holder: a reschedule hands it to the new event). 0 or a store error. */
int agenda_db_source_claim(const store_t *s, store_txn_t *t, const Espace__V1__AgendaEvent *ev);
/* old leaves the index: its key is deleted if it still holds it. */
int agenda_db_source_release(const store_t *s, store_txn_t *t,
                             const Espace__V1__AgendaEvent *old);
/* Move every entry of the clear index (AGENDA_T_BY_SOURCE_CLEAR) to the
 * hashed one, inside write transaction t; *moved = how many. An entry
 * whose value cannot be read is dropped (its event keeps the source id). */
int agenda_sources_migrate(const store_t *s, store_txn_t *t, size_t *moved);

/* A page of events (each codec_free'd by agenda_page_free). */
typedef struct agenda_page {
    Espace__V1__AgendaEvent **events;
    size_t n;
    int more;                           /* a next page exists */
    uint8_t next[AGENDA_CURSOR_BYTES];  /* its cursor, when more */
} agenda_page_t;
void agenda_page_free(agenda_page_t *p);
/* Events overlapping [from, to) (start < to, end > from), by start then id,
 * after cursor `after` (NULL = from the first), at most limit events and
 * about max_bytes of packed events. */
int agenda_db_list(store_txn_t *t, const uint8_t pid[ID_BYTES], int64_t from,
                   int64_t to, const uint8_t *after, size_t limit, size_t max_bytes,
                   agenda_page_t *out);

/* Changes after since, in order (changes[i] owned: agenda_changes_free). */
typedef struct agenda_changes {
    Espace__V1__AgendaChange **changes;
    size_t n;
    int more;
    uint64_t last; /* change version to resume from */
} agenda_changes_t;
void agenda_changes_free(agenda_changes_t *c);
int agenda_db_changes(store_txn_t *t, const uint8_t pid[ID_BYTES], uint64_t since,
                      size_t limit, size_t max_bytes, agenda_changes_t *out);

/* ---- reminders.c ---- */

/* Keep the reminder index in step with a change from old to ev (either may
 * be NULL): drop the reminders that no longer exist, arm the new ones due
 * after now. Reminders of final or deleted events are dropped. */
int agenda_reminders_sync(store_txn_t *t, const Espace__V1__AgendaEvent *old,
                          const Espace__V1__AgendaEvent *ev, int64_t now);
/* The tick: fire the due reminders (svc_def_t.tick). */
int agenda_reminders_tick(void *state, svc_call_t *c, store_txn_t *t);

/* ---- ical.c ---- */

/* The VCALENDAR of events[0..n) (malloc'd, NUL-terminated; caller frees),
 * or NULL on allocation failure. `stamp_ms` is DTSTAMP of every VEVENT. */
char *agenda_ics(Espace__V1__AgendaEvent *const *events, size_t n, int64_t stamp_ms,
                 size_t *len);

/* ---- fhir.c ---- */

/* FHIR R4 Appointment JSON of one event / a Bundle (collection) of events
 * (malloc'd; caller frees), or NULL on failure. */
char *agenda_fhir_appointment(const Espace__V1__AgendaEvent *e, size_t *len);
char *agenda_fhir_bundle(Espace__V1__AgendaEvent *const *events, size_t n, int64_t now_ms,
                         size_t *len);

/* ---- methods.c / query.c: handlers ---- */
int agenda_create(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int agenda_update(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int agenda_cancel(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int agenda_delete(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int agenda_upsert(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int agenda_reschedule(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int agenda_get(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int agenda_list(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int agenda_list_changes(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int agenda_export_ics(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int agenda_export_fhir(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);

#endif
