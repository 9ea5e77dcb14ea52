/*
 * test_agenda.c - services/agenda through the real runtime: a broker (thread,
 * ipc, with its event proxy), the consent service and the agenda service
 * (svc_run in threads), bus clients with local Caller frames acting as
 * patients, professionals and apps, and a subscriber for the live events.
 * Covers the method contracts, the state machine over the bus, version
 * conflicts, idempotent upsert, reschedule, ListChanges, paging, exports,
 * access through consent (with the audit trail), live events, and reminders
 * that fire once, also after a restart (the runtime's tick).
 *
 * Each test uses its own patient so they do not depend on each other.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

#include "services/agenda/agenda.h"
#include "espace/v1/agenda.pb-c.h"
#include "services/agenda/agenda_int.h"
#include "broker/broker.h"
#include "bus/bus.h"
#include "bus/codec.h"
#include "services/consent/consent.h"
#include "espace/v1/consent.pb-c.h"
#include "runtime/service.h"
#include "proto/status.h"

#define HB_MS 200
#define CALL_MS 5000

#define K_PATIENT ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT
#define K_PRO ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL
#define K_APP ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_APP
#define K_OP ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR
#define ST(x) ESPACE__V1__AGENDA_STATUS__AGENDA_STATUS_##x
#define CH(x) ESPACE__V1__AGENDA_CHANGE_KIND__AGENDA_CHANGE_##x

static const char RPPS[] = "81000000001";
static const char RPPS2[] = "81000000002";

/* ---------------------------------------------------------------- fixture */

typedef struct runner {
    pthread_t th;
    int stop[2];
    int ready[2];
    int rc;
    int running;
} runner_t;

typedef struct fix {
    char dir[64];
    char req[160], pub[160], sub[160];
    runner_t broker, consent, agenda;
    broker_opts_t bo;
    svc_opts_t co, ao;
    void *ctx;
    bus_client_t *cl;
    bus_sub_t *events;
} fix_t;

static fix_t F;

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *s_broker_main(void *arg)
{
    F.broker.rc = broker_run(arg);
    return NULL;
}

static void *s_consent_main(void *arg)
{
    F.consent.rc = svc_run(&consent_service, arg);
    return NULL;
}

static void *s_agenda_main(void *arg)
{
    F.agenda.rc = svc_run(&agenda_service, arg);
    return NULL;
}

static int s_runner_start(runner_t *r, svc_opts_t *o, void *(*fn)(void *))
{
    if (pipe(r->stop) != 0 || pipe(r->ready) != 0)
        return -1;
    o->stop_fd = r->stop[0];
    o->ready_fd = r->ready[1];
    if (pthread_create(&r->th, NULL, fn, o) != 0)
        return -1;
    r->running = 1;
    char c;
    return read(r->ready[0], &c, 1) == 1 ? 0 : -1;
}

static void s_runner_stop(runner_t *r)
{
    if (!r->running)
        return;
    if (write(r->stop[1], "x", 1) != 1)
        abort();
    pthread_join(r->th, NULL);
    r->running = 0;
    close(r->stop[0]);
    close(r->stop[1]);
    close(r->ready[0]);
    close(r->ready[1]);
}

/* ------------------------------------------------------------ principals */

static Espace__V1__Caller s_who(Espace__V1__PrincipalKind kind, const char *principal)
{
    Espace__V1__Caller c = ESPACE__V1__CALLER__INIT;
    c.kind = kind;
    c.principal = (char *)principal;
    c.peer_role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
    return c;
}

static int s_call_svc(const char *service, Espace__V1__PrincipalKind kind, const char *principal,
                      const char *method, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *rdesc, ProtobufCMessage **rep,
                      bus_reply_t *r)
{
    Espace__V1__Caller c = s_who(kind, principal);
    bus_reply_t tmp;
    memset(&tmp, 0, sizeof tmp);
    return bus_call(F.cl, service, method, req, rdesc, CALL_MS, &c, rep, r ? r : &tmp);
}

/* Call agenda; on an unexpected status, print it. */
static int s_call(Espace__V1__PrincipalKind kind, const char *principal, const char *method,
                  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rdesc,
                  ProtobufCMessage **rep, bus_reply_t *r)
{
    return s_call_svc(AGENDA_SERVICE, kind, principal, method, req, rdesc, rep, r);
}

/* Get event id of patient P as the patient; it must succeed (codec_free). */
static Espace__V1__AgendaGetReply *s_get(const char *P, ProtobufCBinaryData id)
{
    Espace__V1__AgendaGetRequest g = ESPACE__V1__AGENDA_GET_REQUEST__INIT;
    g.event_id = id;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(s_call(K_PATIENT, P, "Get", &g.base, &espace__v1__agenda_get_reply__descriptor,
                            &rep, NULL),
                     0);
    return (Espace__V1__AgendaGetReply *)rep;
}

/* Expect status and field of a call's reply. */
#define EXPECT_FAIL(rc, r, st, fld)                                                              \
    do {                                                                                         \
        if ((rc) != (st) || strcmp((r).field, (fld)) != 0)                                       \
            fail_msg("want %s field '%s', got %s field '%s' (%s)", es_status_name(st), (fld),   \
                     es_status_name(rc), (r).field, (r).message);                                \
    } while (0)

static int s_wait_service(const char *service, const char *method,
                          const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rdesc)
{
    for (int i = 0; i < 200; i++) {
        Espace__V1__Caller op = s_who(K_OP, "");
        bus_reply_t r;
        memset(&r, 0, sizeof r);
        ProtobufCMessage *rep = NULL;
        int rc = bus_call(F.cl, service, method, req, rdesc, 1000, &op, &rep, &r);
        codec_free(rep);
        if (rc != ES_UNAVAILABLE)
            return 0;
        s_sleep_ms(25);
    }
    return -1;
}

static int s_wait_agenda(void)
{
    Espace__V1__AgendaListChangesRequest req = ESPACE__V1__AGENDA_LIST_CHANGES_REQUEST__INIT;
    return s_wait_service(AGENDA_SERVICE, "ListChanges", &req.base,
                          &espace__v1__agenda_list_changes_reply__descriptor);
}

static void s_agenda_start(void)
{
    assert_int_equal(s_runner_start(&F.agenda, &F.ao, s_agenda_main), 0);
    assert_int_equal(s_wait_agenda(), 0);
}

static int s_setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    snprintf(F.dir, sizeof F.dir, "/tmp/es_agenda_XXXXXX");
    if (!mkdtemp(F.dir))
        return -1;
    snprintf(F.req, sizeof F.req, "ipc://%s/run/bus.ipc", F.dir);
    snprintf(F.pub, sizeof F.pub, "ipc://%s/run/events-in.ipc", F.dir);
    snprintf(F.sub, sizeof F.sub, "ipc://%s/run/events-out.ipc", F.dir);
    F.bo.data_dir = F.dir;
    F.bo.req_ipc = F.req;
    F.bo.pub_ipc = F.pub;
    F.bo.sub_ipc = F.sub;
    F.bo.heartbeat_ms = HB_MS;
    F.bo.no_sync = 1;
    if (pipe(F.broker.stop) != 0 || pipe(F.broker.ready) != 0)
        return -1;
    F.bo.stop_fd = F.broker.stop[0];
    F.bo.ready_fd = F.broker.ready[1];
    if (pthread_create(&F.broker.th, NULL, s_broker_main, &F.bo) != 0)
        return -1;
    F.broker.running = 1;
    char c;
    if (read(F.broker.ready[0], &c, 1) != 1)
        return -1;
    svc_opts_t base;
    memset(&base, 0, sizeof base);
    base.data_dir = F.dir;
    base.bus.endpoint = F.req;
    base.bus.heartbeat_ms = HB_MS;
    base.pub.endpoint = F.pub;
    base.no_sync = 1;
    F.co = base;
    F.ao = base;
    F.ctx = zmq_ctx_new();
    bus_conn_t conn;
    memset(&conn, 0, sizeof conn);
    conn.endpoint = F.req;
    if (bus_client_new(F.ctx, &conn, &F.cl) != 0)
        return -1;
    bus_conn_t sc;
    memset(&sc, 0, sizeof sc);
    sc.endpoint = F.sub;
    if (bus_sub_new(F.ctx, &sc, &F.events) != 0 || bus_subscribe(F.events, "patient.") != 0 ||
        bus_subscribe(F.events, "pro.") != 0)
        return -1;
    if (s_runner_start(&F.consent, &F.co, s_consent_main) != 0)
        return -1;
    Espace__V1__ListAppsRequest la = ESPACE__V1__LIST_APPS_REQUEST__INIT;
    if (s_wait_service(CONSENT_SERVICE, "ListApps", &la.base,
                       &espace__v1__list_apps_reply__descriptor) != 0)
        return -1;
    if (s_runner_start(&F.agenda, &F.ao, s_agenda_main) != 0 || s_wait_agenda() != 0)
        return -1;
    s_sleep_ms(300); /* subscriptions reach the publishers */
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    bus_sub_destroy(&F.events);
    bus_client_destroy(&F.cl);
    s_runner_stop(&F.agenda);
    s_runner_stop(&F.consent);
    s_runner_stop(&F.broker);
    zmq_ctx_term(F.ctx);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", F.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    return 0;
}

/* ---------------------------------------------------------------- events */

/* Next live event on exactly `topic` within timeout_ms, decoded as desc
 * (others are skipped). NULL if none. */
static ProtobufCMessage *s_event_on(const char *topic, const ProtobufCMessageDescriptor *desc,
                                    int timeout_ms)
{
    int64_t end = bus_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = end - bus_mono_ms();
        if (left <= 0)
            return NULL;
        char t[BUS_MAX_TOPIC + 1];
        Espace__V1__Event *ev = NULL;
        if (bus_sub_recv(F.events, (int)left, t, &ev) != 0)
            continue;
        ProtobufCMessage *m = NULL;
        if (strcmp(t, topic) == 0)
            codec_decode(desc, ev->body.data, ev->body.len, 0, &m, NULL);
        codec_free(&ev->base);
        if (m)
            return m;
    }
}

static Espace__V1__AgendaChange *s_change_on(const char *topic, int timeout_ms)
{
    return (Espace__V1__AgendaChange *)s_event_on(
        topic, &espace__v1__agenda_change__descriptor, timeout_ms);
}

/* ch is a notice of pro.<rpps>.agenda: the ids and versions only, no
 * clinical content (title, description, times, place, participants...). */
static void s_assert_notice(const Espace__V1__AgendaChange *ch, const char *patient,
                            const ProtobufCBinaryData *id, uint64_t version)
{
    assert_non_null(ch->event);
    assert_string_equal(ch->event->patient_id, patient);
    assert_int_equal(ch->event->id.len, 16);
    assert_memory_equal(ch->event->id.data, id->data, 16);
    assert_int_equal(ch->event->version, version);
    assert_int_equal(ch->event->change_version, ch->change_version);
    const Espace__V1__AgendaEvent *evs[2] = {ch->event, ch->previous};
    for (int i = 0; i < 2; i++) {
        const Espace__V1__AgendaEvent *e = evs[i];
        if (!e)
            continue;
        assert_string_equal(e->title, "");
        assert_string_equal(e->description, "");
        assert_string_equal(e->location, "");
        assert_string_equal(e->cancel_reason, "");
        assert_string_equal(e->source_id, "");
        assert_string_equal(e->updated_by, "");
        assert_int_equal(e->start_ms, 0);
        assert_int_equal(e->end_ms, 0);
        assert_int_equal(e->kind, 0);
        assert_int_equal(e->status, 0);
        assert_int_equal(e->n_participants, 0);
        assert_int_equal(e->n_reminder_minutes, 0);
        assert_int_equal(e->created_ms, 0);
        assert_int_equal(e->updated_ms, 0);
    }
}

/* Drop every event received so far. */
static void s_drain(void)
{
    char t[BUS_MAX_TOPIC + 1];
    Espace__V1__Event *ev = NULL;
    while (bus_sub_recv(F.events, 50, t, &ev) == 0)
        codec_free(&ev->base);
}

static void s_topic(char *out, size_t n, const char *who, const char *id, const char *suffix)
{
    snprintf(out, n, "%s.%s%s", who, id, suffix);
}

/* ---------------------------------------------------------------- events */

typedef struct evfix {
    Espace__V1__AgendaEvent e;
    Espace__V1__AgendaParticipant p[4];
    Espace__V1__AgendaParticipant *pp[4];
    uint32_t rem[6];
} evfix_t;

static void s_ev(evfix_t *f, int64_t start, const char *title)
{
    memset(f, 0, sizeof *f);
    espace__v1__agenda_event__init(&f->e);
    f->e.kind = ESPACE__V1__AGENDA_KIND__AGENDA_KIND_RDV;
    f->e.title = (char *)title;
    f->e.start_ms = start;
    f->e.end_ms = start + 30 * 60000;
    for (int i = 0; i < 4; i++) {
        espace__v1__agenda_participant__init(&f->p[i]);
        f->pp[i] = &f->p[i];
    }
    f->p[0].actor_type = ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PROFESSIONAL;
    f->p[0].actor_id = (char *)RPPS;
    f->p[0].display = "Dr Martin";
    f->e.participants = f->pp;
    f->e.n_participants = 1;
}

static int64_t s_day(int64_t y, unsigned m, unsigned d, int hh)
{
    return civil_days_from_date(y, m, d) * AGENDA_DAY_MS + (int64_t)hh * 3600000;
}

/* A copy of e that is its own decoded message (codec_free). */
static Espace__V1__AgendaEvent *s_dup(const Espace__V1__AgendaEvent *e)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(codec_pack(&e->base, &buf, &len), 0);
    ProtobufCMessage *m = NULL;
    assert_int_equal(codec_decode(&espace__v1__agenda_event__descriptor, buf, len, 0, &m, NULL), 0);
    free(buf);
    return (Espace__V1__AgendaEvent *)m;
}

/* Create as (kind, principal) for patient pid; returns the status, *out a
 * copy of the event (codec_free). */
static int s_create(Espace__V1__PrincipalKind kind, const char *principal, const char *pid,
                    Espace__V1__AgendaEvent *e, Espace__V1__AgendaEvent **out, bus_reply_t *r)
{
    Espace__V1__AgendaCreateRequest req = ESPACE__V1__AGENDA_CREATE_REQUEST__INIT;
    req.patient_id = (char *)pid;
    req.event = e;
    ProtobufCMessage *rep = NULL;
    int rc = s_call(kind, principal, "Create", &req.base,
                    &espace__v1__agenda_create_reply__descriptor, &rep, r);
    if (out)
        *out = NULL;
    if (rc == 0 && out)
        *out = s_dup(((Espace__V1__AgendaCreateReply *)rep)->event);
    codec_free(rep);
    return rc;
}

static int s_update(const char *pid, Espace__V1__AgendaEvent *e, Espace__V1__AgendaEvent **out,
                    bus_reply_t *r)
{
    Espace__V1__AgendaUpdateRequest req = ESPACE__V1__AGENDA_UPDATE_REQUEST__INIT;
    req.event = e;
    ProtobufCMessage *rep = NULL;
    int rc = s_call(K_PATIENT, pid, "Update", &req.base,
                    &espace__v1__agenda_update_reply__descriptor, &rep, r);
    if (out)
        *out = NULL;
    if (rc == 0 && out)
        *out = s_dup(((Espace__V1__AgendaUpdateReply *)rep)->event);
    codec_free(rep);
    return rc;
}

static Espace__V1__AgendaListChangesReply *s_changes(Espace__V1__PrincipalKind kind,
                                                     const char *principal, const char *pid,
                                                     uint64_t since)
{
    Espace__V1__AgendaListChangesRequest req = ESPACE__V1__AGENDA_LIST_CHANGES_REQUEST__INIT;
    req.patient_id = (char *)pid;
    req.since_version = since;
    ProtobufCMessage *rep = NULL;
    bus_reply_t r;
    int rc = s_call(kind, principal, "ListChanges", &req.base,
                    &espace__v1__agenda_list_changes_reply__descriptor, &rep, &r);
    if (rc != 0)
        fail_msg("ListChanges: %s %s", es_status_name(rc), r.message);
    return (Espace__V1__AgendaListChangesReply *)rep;
}

static uint64_t s_head(const char *pid)
{
    Espace__V1__AgendaListChangesReply *lc = s_changes(K_PATIENT, pid, "", 0);
    uint64_t v = lc->last_version;
    codec_free(&lc->base);
    return v;
}

/* ------------------------------------------------------------------ flow */

static void test_patient_flow(void **state)
{
    (void)state;
    const char *P = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
    char tp[128], tpro[128];
    s_topic(tp, sizeof tp, "patient", P, ".agenda");
    s_topic(tpro, sizeof tpro, "pro", RPPS, ".agenda");
    s_drain();
    evfix_t f;
    s_ev(&f, s_day(2030, 5, 2, 8), "Consultation");
    f.e.description = "Douleur thoracique";
    f.e.location = "Cabinet";
    f.e.n_reminder_minutes = 0;
    Espace__V1__AgendaEvent *e = NULL;
    bus_reply_t r;
    assert_int_equal(s_create(K_PATIENT, P, "", &f.e, &e, &r), 0);
    assert_int_equal(e->id.len, 16);
    assert_int_equal(e->version, 1);
    assert_int_equal(e->status, ST(BOOKED));
    assert_int_equal(e->source, ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_PATIENT);
    assert_string_equal(e->patient_id, P);
    assert_int_equal(e->change_version, 1);
    assert_int_equal(e->updated_by_kind, K_PATIENT);
    assert_int_equal(e->participants[0]->answer,
                     ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_NEEDS_ACTION);
    /* live: the patient's topic and the professional's */
    Espace__V1__AgendaChange *ch = s_change_on(tp, 3000);
    assert_non_null(ch);
    assert_int_equal(ch->kind, CH(CREATED));
    assert_int_equal(ch->change_version, 1);
    assert_memory_equal(ch->event->id.data, e->id.data, 16);
    /* the patient's own topic carries the content */
    assert_string_equal(ch->event->title, "Consultation");
    assert_string_equal(ch->event->description, "Douleur thoracique");
    assert_int_equal(ch->event->start_ms, e->start_ms);
    codec_free(&ch->base);
    /* the professional's topic only a notice: no title, description, times */
    ch = s_change_on(tpro, 3000);
    assert_non_null(ch);
    assert_int_equal(ch->kind, CH(CREATED));
    assert_int_equal(ch->change_version, 1);
    assert_null(ch->previous);
    s_assert_notice(ch, P, &e->id, 1);
    codec_free(&ch->base);

    /* Get */
    Espace__V1__AgendaGetReply *gr = s_get(P, e->id);
    assert_string_equal(gr->event->title, "Consultation");
    codec_free(&gr->base);

    /* Update: illegal status, then legal, then stale */
    Espace__V1__AgendaEvent u = *e;
    u.status = ST(PROPOSED);
    u.title = "Consultation cardio";
    Espace__V1__AgendaEvent *e2 = NULL;
    int rc = s_update(P, &u, &e2, &r);
    EXPECT_FAIL(rc, r, ES_FAILED_PRECONDITION, "event.status");
    u.status = ST(ARRIVED);
    assert_int_equal(s_update(P, &u, &e2, &r), 0);
    assert_int_equal(e2->version, 2);
    assert_int_equal(e2->status, ST(ARRIVED));
    assert_string_equal(e2->title, "Consultation cardio");
    assert_int_equal(e2->created_ms, e->created_ms);
    assert_int_equal(e2->change_version, 2);
    ch = s_change_on(tp, 3000);
    assert_non_null(ch);
    assert_int_equal(ch->kind, CH(UPDATED));
    assert_int_equal(ch->event->version, 2);
    assert_string_equal(ch->event->title, "Consultation cardio");
    codec_free(&ch->base);
    ch = s_change_on(tpro, 3000);
    assert_non_null(ch);
    assert_int_equal(ch->kind, CH(UPDATED));
    assert_int_equal(ch->change_version, 2);
    s_assert_notice(ch, P, &e->id, 2);
    codec_free(&ch->base);
    u.title = "stale";
    rc = s_update(P, &u, NULL, &r); /* still version 1 */
    EXPECT_FAIL(rc, r, ES_ABORTED, "event.version");

    /* Cancel from arrived: refused */
    Espace__V1__AgendaCancelRequest cr = ESPACE__V1__AGENDA_CANCEL_REQUEST__INIT;
    cr.event_id = e->id;
    cr.reason = "Empêchement";
    rc = s_call(K_PATIENT, P, "Cancel", &cr.base, &espace__v1__agenda_cancel_reply__descriptor,
                NULL, &r);
    EXPECT_FAIL(rc, r, ES_FAILED_PRECONDITION, "status");
    /* arrived -> fulfilled; then final: only entered-in-error */
    Espace__V1__AgendaEvent u2 = *e2;
    u2.status = ST(FULFILLED);
    Espace__V1__AgendaEvent *e3 = NULL;
    assert_int_equal(s_update(P, &u2, &e3, &r), 0);
    assert_int_equal(e3->version, 3);
    Espace__V1__AgendaEvent u3 = *e3;
    u3.status = ST(BOOKED);
    rc = s_update(P, &u3, NULL, &r);
    EXPECT_FAIL(rc, r, ES_FAILED_PRECONDITION, "event.status");
    u3.status = ST(FULFILLED);
    u3.title = "changed after the fact";
    rc = s_update(P, &u3, NULL, &r);
    EXPECT_FAIL(rc, r, ES_FAILED_PRECONDITION, "event.status");
    u3.status = ST(ENTERED_IN_ERROR);
    Espace__V1__AgendaEvent *e4 = NULL;
    assert_int_equal(s_update(P, &u3, &e4, &r), 0);
    assert_int_equal(e4->status, ST(ENTERED_IN_ERROR));
    assert_string_equal(e4->title, "Consultation cardio"); /* only the status moved */
    codec_free(&e4->base);
    codec_free(&e3->base);
    codec_free(&e2->base);

    /* A second event, cancelled with a reason */
    s_ev(&f, s_day(2030, 5, 3, 8), "Dentiste");
    f.e.status = ST(PROPOSED);
    Espace__V1__AgendaEvent *b = NULL;
    assert_int_equal(s_create(K_PATIENT, P, P, &f.e, &b, &r), 0);
    assert_int_equal(b->status, ST(PROPOSED));
    cr.event_id = b->id;
    cr.expected_version = 9;
    rc = s_call(K_PATIENT, P, "Cancel", &cr.base, &espace__v1__agenda_cancel_reply__descriptor,
                NULL, &r);
    EXPECT_FAIL(rc, r, ES_ABORTED, "expected_version");
    cr.expected_version = 1;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(s_call(K_PATIENT, P, "Cancel", &cr.base,
                            &espace__v1__agenda_cancel_reply__descriptor, &rep, &r),
                     0);
    Espace__V1__AgendaEvent *bc = ((Espace__V1__AgendaCancelReply *)rep)->event;
    assert_int_equal(bc->status, ST(CANCELLED));
    assert_string_equal(bc->cancel_reason, "Empêchement");
    assert_int_equal(bc->version, 2);
    codec_free(rep);
    rc = s_call(K_PATIENT, P, "Cancel", &cr.base, &espace__v1__agenda_cancel_reply__descriptor,
                NULL, &r);
    EXPECT_FAIL(rc, r, ES_ABORTED, "expected_version");
    cr.expected_version = 0;
    rc = s_call(K_PATIENT, P, "Cancel", &cr.base, &espace__v1__agenda_cancel_reply__descriptor,
                NULL, &r);
    EXPECT_FAIL(rc, r, ES_FAILED_PRECONDITION, "status");

    /* ListChanges: one entry per event, latest state, in order */
    Espace__V1__AgendaListChangesReply *lc = s_changes(K_PATIENT, P, "", 0);
    assert_int_equal(lc->n_changes, 2);
    assert_memory_equal(lc->changes[0]->event->id.data, e->id.data, 16);
    assert_int_equal(lc->changes[0]->kind, CH(UPDATED));
    assert_int_equal(lc->changes[0]->event->status, ST(ENTERED_IN_ERROR));
    assert_memory_equal(lc->changes[1]->event->id.data, b->id.data, 16);
    assert_int_equal(lc->changes[1]->kind, CH(CANCELLED));
    assert_true(lc->changes[0]->change_version < lc->changes[1]->change_version);
    assert_int_equal(lc->last_version, lc->changes[1]->change_version);
    assert_false(lc->more);
    uint64_t head = lc->last_version;
    assert_int_equal(head, 6); /* create, 3 updates, create, cancel */
    codec_free(&lc->base);
    lc = s_changes(K_PATIENT, P, "", head);
    assert_int_equal(lc->n_changes, 0);
    assert_int_equal(lc->last_version, head);
    codec_free(&lc->base);
    lc = s_changes(K_PATIENT, P, "", 5); /* only the cancel is after 5 */
    assert_int_equal(lc->n_changes, 1);
    codec_free(&lc->base);

    /* Delete: the patient only, version checked, tombstone in the changes */
    Espace__V1__AgendaDeleteRequest dr = ESPACE__V1__AGENDA_DELETE_REQUEST__INIT;
    dr.event_id = b->id;
    rc = s_call(K_PRO, RPPS, "Delete", &dr.base, &espace__v1__agenda_delete_reply__descriptor,
                NULL, &r);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    dr.expected_version = 1;
    rc = s_call(K_PATIENT, P, "Delete", &dr.base, &espace__v1__agenda_delete_reply__descriptor,
                NULL, &r);
    EXPECT_FAIL(rc, r, ES_ABORTED, "expected_version");
    dr.expected_version = 2;
    s_drain();
    rep = NULL;
    assert_int_equal(s_call(K_PATIENT, P, "Delete", &dr.base,
                            &espace__v1__agenda_delete_reply__descriptor, &rep, &r),
                     0);
    assert_int_equal(((Espace__V1__AgendaDeleteReply *)rep)->change_version, head + 1);
    codec_free(rep);
    ch = s_change_on(tp, 3000);
    assert_non_null(ch);
    assert_int_equal(ch->kind, CH(DELETED));
    assert_memory_equal(ch->event->id.data, b->id.data, 16);
    assert_string_equal(ch->event->title, "");
    codec_free(&ch->base);
    Espace__V1__AgendaGetRequest g = ESPACE__V1__AGENDA_GET_REQUEST__INIT;
    g.event_id = b->id;
    rc = s_call(K_PATIENT, P, "Get", &g.base, &espace__v1__agenda_get_reply__descriptor, NULL, &r);
    EXPECT_FAIL(rc, r, ES_NOT_FOUND, "event_id");
    lc = s_changes(K_PATIENT, P, "", head);
    assert_int_equal(lc->n_changes, 1);
    assert_int_equal(lc->changes[0]->kind, CH(DELETED));
    assert_int_equal(lc->changes[0]->change_version, head + 1);
    codec_free(&lc->base);
    rc = s_call(K_PATIENT, P, "Delete", &dr.base, &espace__v1__agenda_delete_reply__descriptor,
                NULL, &r);
    EXPECT_FAIL(rc, r, ES_NOT_FOUND, "event_id");

    /* Another patient does not see it, even by id */
    g.event_id = e->id;
    rc = s_call(K_PATIENT, "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "Get", &g.base,
                &espace__v1__agenda_get_reply__descriptor, NULL, &r);
    EXPECT_FAIL(rc, r, ES_NOT_FOUND, "event_id");
    /* ... and naming the owner's id is refused before consent is asked */
    g.patient_id = (char *)P;
    rc = s_call(K_PATIENT, "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "Get", &g.base,
                &espace__v1__agenda_get_reply__descriptor, NULL, &r);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "patient_id");
    g.patient_id = "";
    codec_free(&b->base);
    codec_free(&e->base);
}

/* ------------------------------------------------------------ validation */

static void test_validation(void **state)
{
    (void)state;
    const char *P = "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3";
    evfix_t f;
    bus_reply_t r;
    int rc;
    s_ev(&f, s_day(2030, 6, 1, 9), "ok");
    f.e.end_ms = f.e.start_ms - 60000;
    rc = s_create(K_PATIENT, P, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.end_ms");
    s_ev(&f, s_day(2030, 6, 1, 9), "ok");
    f.e.kind = 12;
    rc = s_create(K_PATIENT, P, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.kind");
    char title[260];
    memset(title, 't', 201);
    title[201] = '\0';
    s_ev(&f, s_day(2030, 6, 1, 9), title);
    rc = s_create(K_PATIENT, P, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.title");
    s_ev(&f, s_day(2030, 6, 1, 9), "ok");
    f.p[0].actor_id = "1234";
    rc = s_create(K_PATIENT, P, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.participants[0].actor_id");
    s_ev(&f, s_day(2030, 6, 1, 9), "ok");
    for (uint32_t i = 0; i < 6; i++)
        f.rem[i] = i + 1;
    f.e.reminder_minutes = f.rem;
    f.e.n_reminder_minutes = 6;
    rc = s_create(K_PATIENT, P, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_TOO_LARGE, "event.reminder_minutes");
    s_ev(&f, s_day(2030, 6, 1, 9), "ok");
    f.e.status = ST(CANCELLED);
    rc = s_create(K_PATIENT, P, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.status");
    s_ev(&f, s_day(2030, 6, 1, 9), "ok");
    f.e.source = ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_BOOKING_SERVICE;
    rc = s_create(K_PATIENT, P, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.source");
    s_ev(&f, s_day(2030, 6, 1, 9), "ok");
    f.e.all_day = 1;
    rc = s_create(K_PATIENT, P, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.start_ms");
    rc = s_create(K_PATIENT, P, "", NULL, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event");
    s_ev(&f, s_day(2030, 6, 1, 9), "ok");
    rc = s_create(K_PATIENT, P, "XYZ", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "patient_id");
    rc = s_create(K_PRO, RPPS, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "patient_id");
    /* Update needs id and version */
    Espace__V1__AgendaEvent u = f.e;
    rc = s_update(P, &u, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.id");
    uint8_t id[16] = {1};
    u.id.data = id;
    u.id.len = 16;
    rc = s_update(P, &u, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.version");
    u.version = 1;
    rc = s_update(P, &u, NULL, &r);
    EXPECT_FAIL(rc, r, ES_NOT_FOUND, "event_id");
    /* List arguments */
    Espace__V1__AgendaListRequest lr = ESPACE__V1__AGENDA_LIST_REQUEST__INIT;
    lr.from_ms = 10;
    lr.to_ms = 10;
    rc = s_call(K_PATIENT, P, "List", &lr.base, &espace__v1__agenda_list_reply__descriptor, NULL,
                &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "to_ms");
    lr.to_ms = 20;
    lr.limit = 501;
    rc = s_call(K_PATIENT, P, "List", &lr.base, &espace__v1__agenda_list_reply__descriptor, NULL,
                &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "limit");
    lr.limit = 0;
    lr.cursor.data = id;
    lr.cursor.len = 5;
    rc = s_call(K_PATIENT, P, "List", &lr.base, &espace__v1__agenda_list_reply__descriptor, NULL,
                &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "cursor");
    /* an unknown method, a malformed body */
    rc = s_call(K_PATIENT, P, "Frobnicate", &lr.base, &espace__v1__agenda_list_reply__descriptor,
                NULL, &r);
    assert_int_equal(rc, ES_UNIMPLEMENTED);
    /* nothing was stored */
    assert_int_equal(s_head(P), 0);
}

/* ------------------------------------------------------------- conflict */

static void test_conflict(void **state)
{
    (void)state;
    const char *P = "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4";
    evfix_t f;
    bus_reply_t r;
    s_ev(&f, s_day(2030, 7, 1, 9), "Kiné");
    Espace__V1__AgendaEvent *e = NULL;
    assert_int_equal(s_create(K_PATIENT, P, "", &f.e, &e, &r), 0);
    /* two clients update version 1 at once (pipelined: one batch) */
    Espace__V1__AgendaEvent u1 = *e, u2 = *e;
    u1.title = "Kiné A";
    u2.title = "Kiné B";
    Espace__V1__AgendaUpdateRequest q1 = ESPACE__V1__AGENDA_UPDATE_REQUEST__INIT;
    Espace__V1__AgendaUpdateRequest q2 = ESPACE__V1__AGENDA_UPDATE_REQUEST__INIT;
    q1.event = &u1;
    q2.event = &u2;
    Espace__V1__Caller c = s_who(K_PATIENT, P);
    uint64_t id1, id2;
    assert_int_equal(bus_client_send(F.cl, AGENDA_SERVICE, "Update", &q1.base, CALL_MS, &c, &id1),
                     0);
    assert_int_equal(bus_client_send(F.cl, AGENDA_SERVICE, "Update", &q2.base, CALL_MS, &c, &id2),
                     0);
    int ok = 0, aborted = 0;
    for (int i = 0; i < 2; i++) {
        bus_reply_t rr;
        memset(&rr, 0, sizeof rr);
        assert_int_equal(bus_client_recv(F.cl, CALL_MS, &rr), 0);
        if (rr.status == 0)
            ok++;
        else if (rr.status == ES_ABORTED && strcmp(rr.field, "event.version") == 0)
            aborted++;
        bus_reply_clear(&rr);
    }
    assert_int_equal(ok, 1);
    assert_int_equal(aborted, 1);
    Espace__V1__AgendaGetReply *gr = s_get(P, e->id);
    Espace__V1__AgendaEvent *now = gr->event;
    assert_int_equal(now->version, 2);
    assert_true(strcmp(now->title, "Kiné A") == 0 || strcmp(now->title, "Kiné B") == 0);
    codec_free(&gr->base);
    codec_free(&e->base);
}

/* --------------------------------------------------------------- access */

static int s_grant(const char *pid, int gkind, const char *grantee, int read, int write)
{
    Espace__V1__Scope s[2];
    Espace__V1__Scope *sp[2];
    size_t n = 0;
    if (read) {
        espace__v1__scope__init(&s[n]);
        s[n].category = ESPACE__V1__CATEGORY__CATEGORY_AGENDA;
        s[n].action = ESPACE__V1__ACTION__ACTION_READ;
        sp[n] = &s[n];
        n++;
    }
    if (write) {
        espace__v1__scope__init(&s[n]);
        s[n].category = ESPACE__V1__CATEGORY__CATEGORY_AGENDA;
        s[n].action = ESPACE__V1__ACTION__ACTION_WRITE;
        sp[n] = &s[n];
        n++;
    }
    Espace__V1__GrantRequest req = ESPACE__V1__GRANT_REQUEST__INIT;
    req.grantee_kind = (Espace__V1__GranteeKind)gkind;
    req.grantee_id = (char *)grantee;
    req.scopes = sp;
    req.n_scopes = n;
    req.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = s_call_svc(CONSENT_SERVICE, K_PATIENT, pid, "Grant", &req.base,
                        &espace__v1__grant_reply__descriptor, NULL, &r);
    if (rc != 0)
        fprintf(stderr, "Grant: %s %s %s\n", es_status_name(rc), r.field, r.message);
    return rc;
}

static void s_add_app(const char *id)
{
    Espace__V1__Scope s[2];
    Espace__V1__Scope *sp[2] = {&s[0], &s[1]};
    espace__v1__scope__init(&s[0]);
    espace__v1__scope__init(&s[1]);
    s[0].category = s[1].category = ESPACE__V1__CATEGORY__CATEGORY_AGENDA;
    s[0].action = ESPACE__V1__ACTION__ACTION_READ;
    s[1].action = ESPACE__V1__ACTION__ACTION_WRITE;
    Espace__V1__Purpose purposes[1] = {ESPACE__V1__PURPOSE__PURPOSE_SOINS};
    uint8_t key[32];
    memset(key, 9, sizeof key);
    Espace__V1__App a = ESPACE__V1__APP__INIT;
    a.id = (char *)id;
    a.name = "Prise de RDV";
    a.publisher = "RDV SAS";
    a.description_fr = "Prise de rendez-vous en ligne.";
    a.purposes = purposes;
    a.n_purposes = 1;
    a.scopes = sp;
    a.n_scopes = 2;
    a.curve_public_key.data = key;
    a.curve_public_key.len = 32;
    a.terms_url = "https://example.fr/cgu";
    a.privacy_url = "https://example.fr/privacy";
    Espace__V1__AddAppRequest req = ESPACE__V1__ADD_APP_REQUEST__INIT;
    req.app = &a;
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = s_call_svc(CONSENT_SERVICE, K_OP, "", "AddApp", &req.base,
                        &espace__v1__add_app_reply__descriptor, NULL, &r);
    if (rc != 0)
        fprintf(stderr, "AddApp: %s %s %s\n", es_status_name(rc), r.field, r.message);
    assert_int_equal(rc, 0);
}

/* Newest audit entry of patient pid. */
static Espace__V1__AuditEntry *s_last_audit(const char *pid, ProtobufCMessage **hold)
{
    Espace__V1__ReadAuditRequest req = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    req.limit = 1;
    assert_int_equal(s_call_svc(CONSENT_SERVICE, K_PATIENT, pid, "ReadAudit", &req.base,
                                &espace__v1__read_audit_reply__descriptor, hold, NULL),
                     0);
    Espace__V1__ReadAuditReply *rep = (Espace__V1__ReadAuditReply *)*hold;
    assert_int_equal(rep->n_entries, 1);
    return rep->entries[0];
}

static int s_list(Espace__V1__PrincipalKind kind, const char *who, const char *pid,
                  bus_reply_t *r, size_t *n)
{
    Espace__V1__AgendaListRequest lr = ESPACE__V1__AGENDA_LIST_REQUEST__INIT;
    lr.patient_id = (char *)pid;
    lr.from_ms = 0;
    lr.to_ms = INT64_MAX;
    ProtobufCMessage *rep = NULL;
    int rc = s_call(kind, who, "List", &lr.base, &espace__v1__agenda_list_reply__descriptor, &rep,
                    r);
    if (rc == 0 && n)
        *n = ((Espace__V1__AgendaListReply *)rep)->n_events;
    codec_free(rep);
    return rc;
}

static void test_access(void **state)
{
    (void)state;
    const char *P = "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5";
    evfix_t f;
    bus_reply_t r;
    int rc;
    size_t n = 0;
    ProtobufCMessage *hold = NULL;
    s_ev(&f, s_day(2030, 8, 1, 9), "Bilan");
    /* professional without a grant: denied, and audited */
    rc = s_create(K_PRO, RPPS, P, &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    Espace__V1__AuditEntry *a = s_last_audit(P, &hold);
    assert_string_equal(a->actor, RPPS);
    assert_int_equal(a->actor_kind, K_PRO);
    assert_false(a->allowed);
    assert_int_equal(a->category, ESPACE__V1__CATEGORY__CATEGORY_AGENDA);
    assert_int_equal(a->action, ESPACE__V1__ACTION__ACTION_WRITE);
    assert_string_equal(a->service, AGENDA_SERVICE);
    codec_free(hold);
    rc = s_list(K_PRO, RPPS, P, &r, &n);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    a = s_last_audit(P, &hold);
    assert_int_equal(a->action, ESPACE__V1__ACTION__ACTION_READ);
    assert_false(a->allowed);
    codec_free(hold);
    assert_int_equal(s_head(P), 0); /* nothing written */

    /* read-only grant: list yes, create no */
    assert_int_equal(s_grant(P, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, RPPS, 1, 0), 0);
    assert_int_equal(s_list(K_PRO, RPPS, P, &r, &n), 0);
    assert_int_equal(n, 0);
    a = s_last_audit(P, &hold);
    assert_true(a->allowed);
    assert_string_equal(a->actor, RPPS);
    codec_free(hold);
    rc = s_create(K_PRO, RPPS, P, &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    /* write grant: create, as PRO_SOFTWARE */
    assert_int_equal(s_grant(P, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, RPPS, 0, 1), 0);
    Espace__V1__AgendaEvent *e = NULL;
    assert_int_equal(s_create(K_PRO, RPPS, P, &f.e, &e, &r), 0);
    assert_int_equal(e->source, ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_PRO_SOFTWARE);
    assert_string_equal(e->updated_by, RPPS);
    assert_string_equal(e->patient_id, P);
    codec_free(&e->base);
    f.e.source = ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_PATIENT;
    rc = s_create(K_PRO, RPPS, P, &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.source");
    f.e.source = 0;
    /* another professional: still denied */
    rc = s_list(K_PRO, RPPS2, P, &r, &n);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    /* the patient sees the professional's event */
    assert_int_equal(s_list(K_PATIENT, P, "", &r, &n), 0);
    assert_int_equal(n, 1);

    /* an app: denied, then read only */
    s_add_app("app.rdv");
    rc = s_list(K_APP, "app.rdv", P, &r, &n);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    a = s_last_audit(P, &hold);
    assert_string_equal(a->actor, "app.rdv");
    assert_int_equal(a->actor_kind, K_APP);
    assert_false(a->allowed);
    codec_free(hold);
    assert_int_equal(s_grant(P, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.rdv", 1, 0), 0);
    assert_int_equal(s_list(K_APP, "app.rdv", P, &r, &n), 0);
    assert_int_equal(n, 1);
    rc = s_create(K_APP, "app.rdv", P, &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    /* only the patient deletes */
    assert_int_equal(s_grant(P, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.rdv", 0, 1), 0);
    assert_int_equal(s_create(K_APP, "app.rdv", P, &f.e, &e, &r), 0);
    assert_int_equal(e->source, ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_BOOKING_SERVICE);
    Espace__V1__AgendaDeleteRequest dr = ESPACE__V1__AGENDA_DELETE_REQUEST__INIT;
    dr.event_id = e->id;
    rc = s_call(K_APP, "app.rdv", "Delete", &dr.base, &espace__v1__agenda_delete_reply__descriptor,
                NULL, &r);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    codec_free(&e->base);
}

/* ------------------------------------------------- upsert and reschedule */

static int s_upsert(const char *pid, Espace__V1__AgendaEvent *e,
                    Espace__V1__AgendaUpsertReply **out, bus_reply_t *r)
{
    Espace__V1__AgendaUpsertRequest req = ESPACE__V1__AGENDA_UPSERT_REQUEST__INIT;
    req.patient_id = (char *)pid;
    req.event = e;
    ProtobufCMessage *rep = NULL;
    int rc = s_call(K_PRO, RPPS, "Upsert", &req.base, &espace__v1__agenda_upsert_reply__descriptor,
                    &rep, r);
    *out = (Espace__V1__AgendaUpsertReply *)rep;
    return rc;
}

static void test_upsert_reschedule(void **state)
{
    (void)state;
    const char *P = "f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6";
    char tp[128], tpro[128];
    s_topic(tp, sizeof tp, "patient", P, ".agenda");
    s_topic(tpro, sizeof tpro, "pro", RPPS, ".agenda");
    assert_int_equal(s_grant(P, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, RPPS, 1, 1), 0);
    evfix_t f;
    bus_reply_t r;
    int rc;
    s_ev(&f, s_day(2030, 9, 1, 9), "Échographie");
    f.e.source_id = "cab:rdv-1";
    f.rem[0] = 60;
    f.e.reminder_minutes = f.rem;
    f.e.n_reminder_minutes = 1;
    Espace__V1__AgendaUpsertReply *u1 = NULL, *u2 = NULL, *u3 = NULL;
    assert_int_equal(s_upsert(P, &f.e, &u1, &r), 0);
    assert_true(u1->created);
    assert_true(u1->changed);
    assert_int_equal(u1->event->version, 1);
    uint64_t head = s_head(P);
    /* resend: same event, nothing written */
    assert_int_equal(s_upsert(P, &f.e, &u2, &r), 0);
    assert_false(u2->created);
    assert_false(u2->changed);
    assert_memory_equal(u2->event->id.data, u1->event->id.data, 16);
    assert_int_equal(u2->event->version, 1);
    assert_int_equal(s_head(P), head);
    codec_free(&u2->base);
    /* new content: updated in place */
    f.e.title = "Échographie abdominale";
    assert_int_equal(s_upsert(P, &f.e, &u2, &r), 0);
    assert_false(u2->created);
    assert_true(u2->changed);
    assert_memory_equal(u2->event->id.data, u1->event->id.data, 16);
    assert_int_equal(u2->event->version, 2);
    assert_int_equal(s_head(P), head + 1);
    /* Create with the same source id: taken */
    rc = s_create(K_PRO, RPPS, P, &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_ALREADY_EXISTS, "event.source_id");
    /* Upsert without a source id */
    f.e.source_id = "";
    rc = s_upsert(P, &f.e, &u3, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.source_id");
    f.e.source_id = "cab:rdv-1";

    /* Reschedule: atomically cancel + new linked event */
    s_drain();
    Espace__V1__AgendaRescheduleRequest rr = ESPACE__V1__AGENDA_RESCHEDULE_REQUEST__INIT;
    rr.patient_id = (char *)P;
    rr.event_id = u1->event->id;
    rr.expected_version = 2;
    rr.reason = "Praticien absent";
    rr.start_ms = s_day(2030, 9, 8, 14);
    rr.end_ms = rr.start_ms - 1;
    rc = s_call(K_PRO, RPPS, "Reschedule", &rr.base,
                &espace__v1__agenda_reschedule_reply__descriptor, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "end_ms");
    rr.end_ms = rr.start_ms + 45 * 60000;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(s_call(K_PRO, RPPS, "Reschedule", &rr.base,
                            &espace__v1__agenda_reschedule_reply__descriptor, &rep, &r),
                     0);
    Espace__V1__AgendaRescheduleReply *rs = (Espace__V1__AgendaRescheduleReply *)rep;
    assert_int_equal(rs->cancelled->status, ST(CANCELLED));
    assert_string_equal(rs->cancelled->cancel_reason, "Praticien absent");
    assert_int_equal(rs->cancelled->version, 3);
    assert_memory_equal(rs->cancelled->next_id.data, rs->event->id.data, 16);
    assert_memory_equal(rs->event->previous_id.data, u1->event->id.data, 16);
    assert_int_equal(rs->event->version, 1);
    assert_int_equal(rs->event->status, ST(BOOKED));
    assert_int_equal(rs->event->start_ms, rr.start_ms);
    assert_string_equal(rs->event->title, "Échographie abdominale");
    assert_string_equal(rs->event->source_id, "cab:rdv-1");
    assert_int_equal(rs->event->change_version, head + 3);
    Espace__V1__AgendaChange *ch = s_change_on(tp, 3000);
    assert_non_null(ch);
    assert_int_equal(ch->kind, CH(RESCHEDULED));
    assert_non_null(ch->previous);
    assert_memory_equal(ch->previous->id.data, u1->event->id.data, 16);
    assert_memory_equal(ch->event->id.data, rs->event->id.data, 16);
    codec_free(&ch->base);
    ch = s_change_on(tpro, 3000); /* the professional's notice: both ids, no content */
    assert_non_null(ch);
    assert_int_equal(ch->kind, CH(RESCHEDULED));
    s_assert_notice(ch, P, &rs->event->id, 1);
    assert_non_null(ch->previous);
    assert_memory_equal(ch->previous->id.data, u1->event->id.data, 16);
    assert_int_equal(ch->previous->version, 3);
    codec_free(&ch->base);
    /* the source id now names the new event */
    f.e.start_ms = rr.start_ms;
    f.e.end_ms = rr.end_ms;
    f.e.title = "Échographie (à jeun)";
    assert_int_equal(s_upsert(P, &f.e, &u3, &r), 0);
    assert_memory_equal(u3->event->id.data, rs->event->id.data, 16);
    assert_int_equal(u3->event->version, 2);
    codec_free(&u3->base);
    /* a cancelled event cannot be rescheduled */
    rr.expected_version = 0;
    rc = s_call(K_PRO, RPPS, "Reschedule", &rr.base,
                &espace__v1__agenda_reschedule_reply__descriptor, NULL, &r);
    EXPECT_FAIL(rc, r, ES_FAILED_PRECONDITION, "status");
    /* ListChanges: the old one cancelled, then the new one */
    Espace__V1__AgendaListChangesReply *lc = s_changes(K_PRO, RPPS, P, 0);
    assert_int_equal(lc->n_changes, 2);
    assert_int_equal(lc->changes[0]->kind, CH(CANCELLED));
    assert_memory_equal(lc->changes[0]->event->id.data, u1->event->id.data, 16);
    assert_int_equal(lc->changes[1]->kind, CH(UPDATED));
    assert_memory_equal(lc->changes[1]->event->id.data, rs->event->id.data, 16);
    codec_free(&lc->base);
    codec_free(rep);
    codec_free(&u2->base);
    codec_free(&u1->base);
}

/* ------------------------------------------------------ paging, exports */

static void test_paging_exports(void **state)
{
    (void)state;
    const char *P = "a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7";
    evfix_t f;
    bus_reply_t r;
    uint8_t ids[7][16];
    /* 7 events over the autumn DST change week (Paris) */
    int64_t mon = civil_paris_midnight(2030, 10, 21);
    for (int i = 0; i < 7; i++) {
        s_ev(&f, mon + (int64_t)i * AGENDA_DAY_MS + 10 * 3600000LL, "Séance, kiné; n°");
        if (i == 6) {
            f.e.all_day = 1;
            f.e.start_ms = civil_paris_midnight(2030, 10, 27);
            f.e.end_ms = 0;
        }
        f.rem[0] = 30;
        f.e.reminder_minutes = f.rem;
        f.e.n_reminder_minutes = 1;
        Espace__V1__AgendaEvent *e = NULL;
        assert_int_equal(s_create(K_PATIENT, P, "", &f.e, &e, &r), 0);
        memcpy(ids[i], e->id.data, 16);
        if (i == 6)
            assert_int_equal(e->end_ms - e->start_ms, 25 * 3600000LL);
        codec_free(&e->base);
    }
    Espace__V1__AgendaListRequest lr = ESPACE__V1__AGENDA_LIST_REQUEST__INIT;
    lr.from_ms = mon;
    lr.to_ms = civil_paris_midnight(2030, 10, 28);
    lr.limit = 3;
    int got = 0, pages = 0;
    uint8_t cur[64];
    for (;;) {
        ProtobufCMessage *rep = NULL;
        assert_int_equal(s_call(K_PATIENT, P, "List", &lr.base,
                                &espace__v1__agenda_list_reply__descriptor, &rep, &r),
                         0);
        Espace__V1__AgendaListReply *l = (Espace__V1__AgendaListReply *)rep;
        pages++;
        for (size_t i = 0; i < l->n_events; i++)
            assert_memory_equal(l->events[i]->id.data, ids[got + (int)i], 16);
        got += (int)l->n_events;
        int more = l->next_cursor.len > 0;
        if (more) {
            assert_true(l->next_cursor.len <= sizeof cur);
            memcpy(cur, l->next_cursor.data, l->next_cursor.len);
            lr.cursor.data = cur;
            lr.cursor.len = l->next_cursor.len;
        }
        codec_free(rep);
        if (!more)
            break;
    }
    assert_int_equal(got, 7);
    assert_int_equal(pages, 3);
    /* a narrower range: from Saturday 10:15 (inside Saturday's session) to
     * the end of Sunday 27 (the long day): Saturday's session and Sunday */
    lr.cursor.len = 0;
    lr.limit = 0;
    lr.from_ms = civil_paris_midnight(2030, 10, 26) + 10 * 3600000LL + 15 * 60000;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(s_call(K_PATIENT, P, "List", &lr.base,
                            &espace__v1__agenda_list_reply__descriptor, &rep, &r),
                     0);
    Espace__V1__AgendaListReply *l = (Espace__V1__AgendaListReply *)rep;
    assert_int_equal(l->n_events, 2);
    codec_free(rep);

    /* iCalendar */
    Espace__V1__AgendaExportIcsRequest ir = ESPACE__V1__AGENDA_EXPORT_ICS_REQUEST__INIT;
    rep = NULL;
    assert_int_equal(s_call(K_PATIENT, P, "ExportIcs", &ir.base,
                            &espace__v1__agenda_export_ics_reply__descriptor, &rep, &r),
                     0);
    const char *ics = ((Espace__V1__AgendaExportIcsReply *)rep)->ics;
    assert_false(((Espace__V1__AgendaExportIcsReply *)rep)->truncated);
    assert_int_equal(strncmp(ics, "BEGIN:VCALENDAR\r\n", 17), 0);
    for (int i = 0; i < 7; i++) {
        char uid[80];
        char hex[AGENDA_HEX_ID];
        snprintf(uid, sizeof uid, "\r\nUID:%s@espace\r\n", agenda_id_hex(ids[i], hex));
        assert_non_null(strstr(ics, uid));
    }
    assert_non_null(strstr(ics, "\r\nSUMMARY:Séance\\, kiné\\; n°\r\n"));
    assert_non_null(strstr(ics, "\r\nDTSTART;VALUE=DATE:20301027\r\n"));
    assert_non_null(strstr(ics, "\r\nDTEND;VALUE=DATE:20301028\r\n"));
    assert_non_null(strstr(ics, "\r\nTRIGGER:-PT30M\r\n"));
    /* no bare LF anywhere */
    for (const char *p = ics; *p; p++)
        if (*p == '\n')
            assert_int_equal(p[-1], '\r');
    codec_free(rep);
    /* the same UIDs on a second export */
    rep = NULL;
    assert_int_equal(s_call(K_PATIENT, P, "ExportIcs", &ir.base,
                            &espace__v1__agenda_export_ics_reply__descriptor, &rep, &r),
                     0);
    char hex0[AGENDA_HEX_ID];
    agenda_id_hex(ids[0], hex0);
    assert_non_null(strstr(((Espace__V1__AgendaExportIcsReply *)rep)->ics, hex0));
    codec_free(rep);

    /* FHIR: one Appointment, then a Bundle of the range */
    Espace__V1__AgendaExportFhirRequest fr = ESPACE__V1__AGENDA_EXPORT_FHIR_REQUEST__INIT;
    fr.event_id.data = ids[0];
    fr.event_id.len = 16;
    rep = NULL;
    assert_int_equal(s_call(K_PATIENT, P, "ExportFhir", &fr.base,
                            &espace__v1__agenda_export_fhir_reply__descriptor, &rep, &r),
                     0);
    const char *json = ((Espace__V1__AgendaExportFhirReply *)rep)->json;
    assert_int_equal(strncmp(json, "{\"resourceType\":\"Appointment\",\"id\":\"", 36), 0);
    assert_non_null(strstr(json, hex0));
    assert_non_null(strstr(json, "\"status\":\"booked\""));
    assert_non_null(strstr(json, "\"value\":\"881000000001\""));
    codec_free(rep);
    fr.event_id.len = 0;
    fr.from_ms = mon;
    fr.to_ms = civil_paris_midnight(2030, 10, 24);
    rep = NULL;
    assert_int_equal(s_call(K_PATIENT, P, "ExportFhir", &fr.base,
                            &espace__v1__agenda_export_fhir_reply__descriptor, &rep, &r),
                     0);
    json = ((Espace__V1__AgendaExportFhirReply *)rep)->json;
    assert_int_equal(strncmp(json, "{\"resourceType\":\"Bundle\",\"type\":\"collection\"", 44), 0);
    int entries = 0;
    for (const char *p = json; (p = strstr(p, "\"fullUrl\"")) != NULL; p++)
        entries++;
    assert_int_equal(entries, 3);
    codec_free(rep);
    fr.to_ms = 5;
    int rc = s_call(K_PATIENT, P, "ExportFhir", &fr.base,
                    &espace__v1__agenda_export_fhir_reply__descriptor, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "to_ms");
}

/* ------------------------------------------------------------ reminders */

/* Collect reminders on patient pid's reminder topic for ms; counts per
 * event (by the last id byte pattern index in ids). */
static int s_collect(const char *pid, uint8_t (*ids)[16], int n, int *count, int ms,
                     int64_t *min_late)
{
    char topic[128];
    s_topic(topic, sizeof topic, "patient", pid, ".agenda.reminder");
    int total = 0;
    int64_t end = bus_mono_ms() + ms;
    while (bus_mono_ms() < end) {
        Espace__V1__AgendaReminder *rm = (Espace__V1__AgendaReminder *)s_event_on(
            topic, &espace__v1__agenda_reminder__descriptor, (int)(end - bus_mono_ms()));
        if (!rm)
            break;
        int64_t late = bus_wall_ms() - rm->due_ms;
        if (min_late && late < *min_late)
            *min_late = late;
        for (int i = 0; i < n; i++)
            if (rm->event && rm->event->id.len == 16 &&
                memcmp(rm->event->id.data, ids[i], 16) == 0)
                count[i]++;
        total++;
        codec_free(&rm->base);
    }
    return total;
}

static void test_reminders_live(void **state)
{
    (void)state;
    const char *P = "b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8";
    evfix_t f;
    bus_reply_t r;
    enum { N = 20 };
    uint8_t ids[N + 1][16];
    int count[N + 1] = {0};
    /* 20 reminders due at once (more than one tick fires: SVC_TICK_AGAIN),
     * plus one whose event is cancelled before (must not fire) */
    int64_t due = bus_wall_ms() + 1500;
    for (int i = 0; i <= N; i++) {
        s_ev(&f, due + 60000, "Prise de sang");
        f.e.n_participants = 0;
        f.rem[0] = 1;
        f.e.reminder_minutes = f.rem;
        f.e.n_reminder_minutes = 1;
        Espace__V1__AgendaEvent *e = NULL;
        assert_int_equal(s_create(K_PATIENT, P, "", &f.e, &e, &r), 0);
        memcpy(ids[i], e->id.data, 16);
        codec_free(&e->base);
    }
    Espace__V1__AgendaCancelRequest cr = ESPACE__V1__AGENDA_CANCEL_REQUEST__INIT;
    cr.event_id.data = ids[N];
    cr.event_id.len = 16;
    assert_int_equal(s_call(K_PATIENT, P, "Cancel", &cr.base,
                            &espace__v1__agenda_cancel_reply__descriptor, NULL, &r),
                     0);
    int64_t min_late = INT64_MAX;
    int total = s_collect(P, ids, N + 1, count, 5000, &min_late);
    assert_int_equal(total, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(count[i], 1);
    assert_int_equal(count[N], 0);
    assert_true(min_late >= 0); /* never before it is due */
}

static void test_reminder_restart(void **state)
{
    (void)state;
    const char *P = "c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9";
    evfix_t f;
    bus_reply_t r;
    uint8_t ids[1][16];
    int count[1] = {0};
    int64_t due = bus_wall_ms() + 1500;
    s_ev(&f, due + 5 * 60000, "Vaccin grippe");
    f.e.kind = ESPACE__V1__AGENDA_KIND__AGENDA_KIND_RAPPEL;
    f.rem[0] = 5;
    f.e.reminder_minutes = f.rem;
    f.e.n_reminder_minutes = 1;
    Espace__V1__AgendaEvent *e = NULL;
    assert_int_equal(s_create(K_PATIENT, P, "", &f.e, &e, &r), 0);
    memcpy(ids[0], e->id.data, 16);
    codec_free(&e->base);
    /* stop before it is due, start again after */
    s_runner_stop(&F.agenda);
    assert_int_equal(F.agenda.rc, 0);
    while (bus_wall_ms() < due + 800)
        s_sleep_ms(50);
    assert_int_equal(s_collect(P, ids, 1, count, 100, NULL), 0); /* nobody fired it */
    s_agenda_start();
    int total = s_collect(P, ids, 1, count, 5000, NULL);
    assert_int_equal(total, 1);
    assert_int_equal(count[0], 1);
    /* once: not again after another restart */
    s_runner_stop(&F.agenda);
    s_agenda_start();
    assert_int_equal(s_collect(P, ids, 1, count, 2500, NULL), 0);
    assert_int_equal(count[0], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patient_flow),   cmocka_unit_test(test_validation),
        cmocka_unit_test(test_conflict),       cmocka_unit_test(test_access),
        cmocka_unit_test(test_upsert_reschedule), cmocka_unit_test(test_paging_exports),
        cmocka_unit_test(test_reminders_live), cmocka_unit_test(test_reminder_restart),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
