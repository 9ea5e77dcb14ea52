/*
 * agenda.h - the agenda service (SERVICE_AGENDA, "agenda"): a patient's health events
 * (rendez-vous, hospitalisations, rappels, tâches de santé) with live
 * updates, reminders and iCalendar / FHIR exports (docs/agenda.md).
 *
 * Methods (proto/espace/v1/agenda.proto; flags of runtime/service.h):
 *   Create, Update, Cancel, Upsert, Reschedule   write (AGENDA WRITE)
 *   Delete                                      write, the patient only
 *   Get, List, ListChanges, ExportIcs, ExportFhir  read (AGENDA READ)
 * Every method but Delete has a guard (runtime/service.h, ACCESS): the
 * runtime resolves the request's patient_id before the handler runs. The
 * patient reaches their own agenda at once; professionals and apps are
 * decided by the consent service (deny by default, each access audited),
 * asked asynchronously: the agenda keeps serving others meanwhile. If
 * consent cannot answer the access is denied (CODE_UNAVAILABLE).
 *
 * Events, published after the commit (body AgendaChange):
 *   "patient.<patient id>.agenda"   every change of the patient's agenda, in
 *                                   full (the edge sends it only to that
 *                                   patient's own connections)
 *   "pro.<rpps>.agenda"             a notice of every change of an event a
 *                                   professional takes part in (before or
 *                                   after it): kind, change_version and, in
 *                                   event (and previous), only id,
 *                                   patient_id, version and change_version;
 *                                   no clinical content. The professional
 *                                   reads the event with Get, which asks
 *                                   consent and audits (DESIGN.md section 2).
 *   "patient.<patient id>.agenda.reminder"  (AgendaReminder) a reminder fell
 *                                   due; once, also across restarts.
 * Note that a prefix subscription to "patient.<id>.agenda" receives the
 * reminders too: tell them apart by topic.
 *
 * Data (<data>/agenda): tables AGENDA_TABLES (layout in agenda_int.h).
 *
 * Logs carry event ids, patient ids and status names, never titles,
 * descriptions or places.
 *
 * THREAD SAFETY: the service runs on the thread of svc_run.
 */
#ifndef ES_AGENDA_H
#define ES_AGENDA_H

#include "proto/names.h" /* SERVICE_AGENDA, topic_patient, topic_pro, TOPIC_AREA_AGENDA* */
#include "runtime/service.h"

/* Limits (validation answers CODE_INVALID_ARGUMENT, or CODE_TOO_LARGE for
 * counts, with Status.field naming the field). */
#define AGENDA_MAX_TITLE 200          /* characters */
#define AGENDA_MAX_DESCRIPTION 4000   /* characters */
#define AGENDA_MAX_LOCATION 300       /* characters */
#define AGENDA_MAX_REASON 500         /* cancel reason, characters */
#define AGENDA_MAX_DISPLAY 200        /* participant display, characters */
#define AGENDA_MAX_SOURCE_ID 128      /* printable ASCII */
#define AGENDA_MAX_PARTICIPANTS 20
#define AGENDA_MAX_PROS 6             /* professional participants per event */
#define AGENDA_MAX_REMINDERS 5
#define AGENDA_MAX_REMINDER_MIN (60u * 24 * 60) /* 60 days, in minutes */
#define AGENDA_MAX_DURATION_MS (366LL * 86400 * 1000) /* end - start */
#define AGENDA_MAX_TIME_MS 253402300800000LL /* 10000-01-01T00:00:00Z */
#define AGENDA_LIST_DEFAULT 100       /* List / ListChanges page */
#define AGENDA_LIST_MAX 500
#define AGENDA_EXPORT_MAX 2000        /* events in one export */
#define AGENDA_TICK_MS 1000           /* reminder check period */
#define AGENDA_REMINDERS_PER_TICK 15  /* reminders fired per tick call (< SVC_MAX_EVENTS) */

extern const svc_def_t agenda_service;

#endif
