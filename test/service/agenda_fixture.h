/*
 * agenda_fixture.h - the agenda scenarios' fixture (library
 * es_test_agenda, test/service/agenda_fixture.c), on the compiled harness
 * (test/harness/harness.h): a broker thread with its event proxy, the
 * consent and agenda services (svc_run in threads), one local client that
 * stamps its own Caller on each call (acting as patients, professionals,
 * apps, the operator), and a subscriber to "patient." and "pro." events.
 *
 * Used by test_agenda_flow.c (method contracts, live events, exports,
 * reminders) and test_agenda_access.c (consent: grants, audit, consent down,
 * slow or back). Each test uses its own patient so they do not depend on
 * each other.
 */
#ifndef ES_TEST_AGENDA_SCENARIO_H
#define ES_TEST_AGENDA_SCENARIO_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bus/codec.h"
#include "espace/v1/agenda.pb-c.h"
#include "espace/v1/consent.pb-c.h"
#include "proto/civil_time.h"
#include "proto/ids.h"
#include "proto/names.h"
#include "services/agenda/agenda.h"
#include "services/consent/consent.h"
#include "test/harness/harness.h"
#include "test/service/scenario_fixture.h"

#define HB_MS 200    /* heartbeat of the broker and services */
#define CALL_MS 5000 /* deadline of the test's calls */

#define K_PATIENT ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT
#define K_PRO ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL
#define K_APP ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_APP
#define K_OP ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR
#define ST(x) ESPACE__V1__AGENDA_STATUS__AGENDA_STATUS_##x
#define CH(x) ESPACE__V1__AGENDA_CHANGE_KIND__AGENDA_CHANGE_##x

#define RPPS "81000000001"  /* the professional of the scenarios */
#define RPPS2 "81000000002" /* another one */

typedef struct ag_fix {
    harness_t h;         /* broker, folder, endpoints, the test's context */
    h_svc_t consent;     /* consent service thread */
    h_svc_t agenda;      /* agenda service thread */
    bus_client_t *cl;    /* local client (stamps its own Caller) */
    bus_sub_t *events;   /* subscribed to "patient." and "pro." */
} ag_fix_t;

extern ag_fix_t AG;

/* cmocka group setup / teardown: start everything / stop and clean. */
int ag_setup(void **state);
int ag_teardown(void **state);

/* (Re)start a service and wait until the broker routes to it. */
void ag_agenda_start(void);
void ag_consent_start(void);

/* Expect status and field of a call's reply. */
#define EXPECT_FAIL(rc, r, st, fld)                                                              \
    do {                                                                                         \
        if ((rc) != (st) || strcmp((r).field, (fld)) != 0)                                       \
            fail_msg("want %s field '%s', got %s field '%s' (%s)", es_status_name(st), (fld),   \
                     es_status_name(rc), (r).field, (r).message);                                \
    } while (0)

/* An event under construction: one professional participant (RPPS). */
typedef struct evfix {
    Espace__V1__AgendaEvent e;
    Espace__V1__AgendaParticipant p[4];
    Espace__V1__AgendaParticipant *pp[4];
    uint32_t rem[6];
} evfix_t;

/* Call `service` as (kind, principal); the status (r may be NULL). */
int ag_call_svc(const char *service, Espace__V1__PrincipalKind kind, const char *principal,
                      const char *method, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *rdesc, ProtobufCMessage **rep,
                      bus_reply_t *r);

/* The same on agenda. */
int ag_call(Espace__V1__PrincipalKind kind, const char *principal, const char *method,
                  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rdesc,
                  ProtobufCMessage **rep, bus_reply_t *r);

/* Get event id of patient P as the patient; it must succeed (codec_free). */
Espace__V1__AgendaGetReply *ag_get(const char *P, ProtobufCBinaryData id);

/* Next live event on exactly `topic` within timeout_ms, decoded as desc
 * (others skipped), or NULL. ag_change_on: an AgendaChange. */
ProtobufCMessage *ag_event_on(const char *topic, const ProtobufCMessageDescriptor *desc,
                                    int timeout_ms);

Espace__V1__AgendaChange *ag_change_on(const char *topic, int timeout_ms);

/* ch is a notice of pro.<rpps>.agenda: ids and versions only. */
void ag_assert_notice(const Espace__V1__AgendaChange *ch, const char *patient,
                            const ProtobufCBinaryData *id, uint64_t version);

/* Drop every event received so far. */
void ag_drain(void);

/* "<who>.<id><suffix>" into out. */
void ag_topic(char *out, size_t n, const char *who, const char *id, const char *suffix);

/* A 30-minute RDV at start with one professional participant. */
void ag_ev(evfix_t *f, int64_t start, const char *title);

/* UTC ms of y-m-d hh:00 UTC. */
int64_t ag_day(int64_t y, unsigned m, unsigned d, int hh);

/* A copy of e that is its own decoded message (codec_free). */
Espace__V1__AgendaEvent *ag_dup(const Espace__V1__AgendaEvent *e);

/* Create as (kind, principal) for patient pid; the status, *out a copy of
 * the event (codec_free). ag_update: Update as the patient pid. */
int ag_create(Espace__V1__PrincipalKind kind, const char *principal, const char *pid,
                    Espace__V1__AgendaEvent *e, Espace__V1__AgendaEvent **out, bus_reply_t *r);

int ag_update(const char *pid, Espace__V1__AgendaEvent *e, Espace__V1__AgendaEvent **out,
                    bus_reply_t *r);

/* ListChanges, which must succeed (codec_free); ag_head: the patient's
 * last change version. */
Espace__V1__AgendaListChangesReply *ag_changes(Espace__V1__PrincipalKind kind,
                                                     const char *principal, const char *pid,
                                                     uint64_t since);

uint64_t ag_head(const char *pid);

/* The patient grants AGENDA read and/or write to a grantee; the status, and
 * the grant's id into id (16 bytes) when not NULL. ag_revoke: the patient
 * revokes it; the status. */
int ag_grant(const char *pid, int gkind, const char *grantee, int read, int write, uint8_t *id);
int ag_revoke(const char *pid, const uint8_t id[16]);

/* The operator lists an app with AGENDA read and write in the catalogue. */
void ag_add_app(const char *id);

/* Newest audit entry of patient pid (*hold: codec_free). */
Espace__V1__AuditEntry *ag_last_audit(const char *pid, ProtobufCMessage **hold);

/* List everything of pid as (kind, who); the status, *n the events. */
int ag_list(Espace__V1__PrincipalKind kind, const char *who, const char *pid,
                  bus_reply_t *r, size_t *n);;

#endif
