/*
 * test_agenda_flow.c - services/agenda through the real runtime, on the
 * agenda scenarios' fixture (agenda_fixture.h): the method contracts, the
 * state machine over the bus, version conflicts, idempotent upsert,
 * reschedule, ListChanges, paging, exports and live events. Reminders:
 * test_agenda_reminders.c; consent and access: test_agenda_access.c.
 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/service/agenda_fixture.h"

/* ------------------------------------------------------------------ flow */

static void test_patient_flow(void **state)
{
    (void)state;
    const char *P = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
    char tp[128], tpro[128];
    ag_topic(tp, sizeof tp, "patient", P, ".agenda");
    ag_topic(tpro, sizeof tpro, "pro", RPPS, ".agenda");
    ag_drain();
    evfix_t f;
    ag_ev(&f, ag_day(2030, 5, 2, 8), "Consultation");
    f.e.description = "Douleur thoracique";
    f.e.location = "Cabinet";
    f.e.n_reminder_minutes = 0;
    Espace__V1__AgendaEvent *e = NULL;
    bus_reply_t r;
    assert_int_equal(ag_create(K_PATIENT, P, "", &f.e, &e, &r), 0);
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
    Espace__V1__AgendaChange *ch = ag_change_on(tp, 3000);
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
    ch = ag_change_on(tpro, 3000);
    assert_non_null(ch);
    assert_int_equal(ch->kind, CH(CREATED));
    assert_int_equal(ch->change_version, 1);
    assert_null(ch->previous);
    ag_assert_notice(ch, P, &e->id, 1);
    codec_free(&ch->base);

    /* Get */
    Espace__V1__AgendaGetReply *gr = ag_get(P, e->id);
    assert_string_equal(gr->event->title, "Consultation");
    codec_free(&gr->base);

    /* Update: illegal status, then legal, then stale */
    Espace__V1__AgendaEvent u = *e;
    u.status = ST(PROPOSED);
    u.title = "Consultation cardio";
    Espace__V1__AgendaEvent *e2 = NULL;
    int rc = ag_update(P, &u, &e2, &r);
    EXPECT_FAIL(rc, r, ES_FAILED_PRECONDITION, "event.status");
    u.status = ST(ARRIVED);
    assert_int_equal(ag_update(P, &u, &e2, &r), 0);
    assert_int_equal(e2->version, 2);
    assert_int_equal(e2->status, ST(ARRIVED));
    assert_string_equal(e2->title, "Consultation cardio");
    assert_int_equal(e2->created_ms, e->created_ms);
    assert_int_equal(e2->change_version, 2);
    ch = ag_change_on(tp, 3000);
    assert_non_null(ch);
    assert_int_equal(ch->kind, CH(UPDATED));
    assert_int_equal(ch->event->version, 2);
    assert_string_equal(ch->event->title, "Consultation cardio");
    codec_free(&ch->base);
    ch = ag_change_on(tpro, 3000);
    assert_non_null(ch);
    assert_int_equal(ch->kind, CH(UPDATED));
    assert_int_equal(ch->change_version, 2);
    ag_assert_notice(ch, P, &e->id, 2);
    codec_free(&ch->base);
    u.title = "stale";
    rc = ag_update(P, &u, NULL, &r); /* still version 1 */
    EXPECT_FAIL(rc, r, ES_ABORTED, "event.version");

    /* Cancel from arrived: refused */
    Espace__V1__AgendaCancelRequest cr = ESPACE__V1__AGENDA_CANCEL_REQUEST__INIT;
    cr.event_id = e->id;
    cr.reason = "Empêchement";
    rc = ag_call(K_PATIENT, P, "Cancel", &cr.base, &espace__v1__agenda_cancel_reply__descriptor,
                NULL, &r);
    EXPECT_FAIL(rc, r, ES_FAILED_PRECONDITION, "status");
    /* arrived -> fulfilled; then final: only entered-in-error */
    Espace__V1__AgendaEvent u2 = *e2;
    u2.status = ST(FULFILLED);
    Espace__V1__AgendaEvent *e3 = NULL;
    assert_int_equal(ag_update(P, &u2, &e3, &r), 0);
    assert_int_equal(e3->version, 3);
    Espace__V1__AgendaEvent u3 = *e3;
    u3.status = ST(BOOKED);
    rc = ag_update(P, &u3, NULL, &r);
    EXPECT_FAIL(rc, r, ES_FAILED_PRECONDITION, "event.status");
    u3.status = ST(FULFILLED);
    u3.title = "changed after the fact";
    rc = ag_update(P, &u3, NULL, &r);
    EXPECT_FAIL(rc, r, ES_FAILED_PRECONDITION, "event.status");
    u3.status = ST(ENTERED_IN_ERROR);
    Espace__V1__AgendaEvent *e4 = NULL;
    assert_int_equal(ag_update(P, &u3, &e4, &r), 0);
    assert_int_equal(e4->status, ST(ENTERED_IN_ERROR));
    assert_string_equal(e4->title, "Consultation cardio"); /* only the status moved */
    codec_free(&e4->base);
    codec_free(&e3->base);
    codec_free(&e2->base);

    /* A second event, cancelled with a reason */
    ag_ev(&f, ag_day(2030, 5, 3, 8), "Dentiste");
    f.e.status = ST(PROPOSED);
    Espace__V1__AgendaEvent *b = NULL;
    assert_int_equal(ag_create(K_PATIENT, P, P, &f.e, &b, &r), 0);
    assert_int_equal(b->status, ST(PROPOSED));
    cr.event_id = b->id;
    cr.expected_version = 9;
    rc = ag_call(K_PATIENT, P, "Cancel", &cr.base, &espace__v1__agenda_cancel_reply__descriptor,
                NULL, &r);
    EXPECT_FAIL(rc, r, ES_ABORTED, "expected_version");
    cr.expected_version = 1;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(ag_call(K_PATIENT, P, "Cancel", &cr.base,
                            &espace__v1__agenda_cancel_reply__descriptor, &rep, &r),
                     0);
    Espace__V1__AgendaEvent *bc = ((Espace__V1__AgendaCancelReply *)rep)->event;
    assert_int_equal(bc->status, ST(CANCELLED));
    assert_string_equal(bc->cancel_reason, "Empêchement");
    assert_int_equal(bc->version, 2);
    codec_free(rep);
    rc = ag_call(K_PATIENT, P, "Cancel", &cr.base, &espace__v1__agenda_cancel_reply__descriptor,
                NULL, &r);
    EXPECT_FAIL(rc, r, ES_ABORTED, "expected_version");
    cr.expected_version = 0;
    rc = ag_call(K_PATIENT, P, "Cancel", &cr.base, &espace__v1__agenda_cancel_reply__descriptor,
                NULL, &r);
    EXPECT_FAIL(rc, r, ES_FAILED_PRECONDITION, "status");

    /* ListChanges: one entry per event, latest state, in order */
    Espace__V1__AgendaListChangesReply *lc = ag_changes(K_PATIENT, P, "", 0);
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
    lc = ag_changes(K_PATIENT, P, "", head);
    assert_int_equal(lc->n_changes, 0);
    assert_int_equal(lc->last_version, head);
    codec_free(&lc->base);
    lc = ag_changes(K_PATIENT, P, "", 5); /* only the cancel is after 5 */
    assert_int_equal(lc->n_changes, 1);
    codec_free(&lc->base);

    /* Delete: the patient only, version checked, tombstone in the changes */
    Espace__V1__AgendaDeleteRequest dr = ESPACE__V1__AGENDA_DELETE_REQUEST__INIT;
    dr.event_id = b->id;
    rc = ag_call(K_PRO, RPPS, "Delete", &dr.base, &espace__v1__agenda_delete_reply__descriptor,
                NULL, &r);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    dr.expected_version = 1;
    rc = ag_call(K_PATIENT, P, "Delete", &dr.base, &espace__v1__agenda_delete_reply__descriptor,
                NULL, &r);
    EXPECT_FAIL(rc, r, ES_ABORTED, "expected_version");
    dr.expected_version = 2;
    ag_drain();
    rep = NULL;
    assert_int_equal(ag_call(K_PATIENT, P, "Delete", &dr.base,
                            &espace__v1__agenda_delete_reply__descriptor, &rep, &r),
                     0);
    assert_int_equal(((Espace__V1__AgendaDeleteReply *)rep)->change_version, head + 1);
    codec_free(rep);
    ch = ag_change_on(tp, 3000);
    assert_non_null(ch);
    assert_int_equal(ch->kind, CH(DELETED));
    assert_memory_equal(ch->event->id.data, b->id.data, 16);
    assert_string_equal(ch->event->title, "");
    codec_free(&ch->base);
    Espace__V1__AgendaGetRequest g = ESPACE__V1__AGENDA_GET_REQUEST__INIT;
    g.event_id = b->id;
    rc = ag_call(K_PATIENT, P, "Get", &g.base, &espace__v1__agenda_get_reply__descriptor, NULL, &r);
    EXPECT_FAIL(rc, r, ES_NOT_FOUND, "event_id");
    lc = ag_changes(K_PATIENT, P, "", head);
    assert_int_equal(lc->n_changes, 1);
    assert_int_equal(lc->changes[0]->kind, CH(DELETED));
    assert_int_equal(lc->changes[0]->change_version, head + 1);
    codec_free(&lc->base);
    rc = ag_call(K_PATIENT, P, "Delete", &dr.base, &espace__v1__agenda_delete_reply__descriptor,
                NULL, &r);
    EXPECT_FAIL(rc, r, ES_NOT_FOUND, "event_id");

    /* Another patient does not see it, even by id */
    g.event_id = e->id;
    rc = ag_call(K_PATIENT, "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "Get", &g.base,
                &espace__v1__agenda_get_reply__descriptor, NULL, &r);
    EXPECT_FAIL(rc, r, ES_NOT_FOUND, "event_id");
    /* ... and naming the owner's id is refused before consent is asked */
    g.patient_id = (char *)P;
    rc = ag_call(K_PATIENT, "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "Get", &g.base,
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
    ag_ev(&f, ag_day(2030, 6, 1, 9), "ok");
    f.e.end_ms = f.e.start_ms - 60000;
    rc = ag_create(K_PATIENT, P, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.end_ms");
    ag_ev(&f, ag_day(2030, 6, 1, 9), "ok");
    f.e.kind = 12;
    rc = ag_create(K_PATIENT, P, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.kind");
    char title[260];
    memset(title, 't', 201);
    title[201] = '\0';
    ag_ev(&f, ag_day(2030, 6, 1, 9), title);
    rc = ag_create(K_PATIENT, P, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.title");
    ag_ev(&f, ag_day(2030, 6, 1, 9), "ok");
    f.p[0].actor_id = "1234";
    rc = ag_create(K_PATIENT, P, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.participants[0].actor_id");
    ag_ev(&f, ag_day(2030, 6, 1, 9), "ok");
    for (uint32_t i = 0; i < 6; i++)
        f.rem[i] = i + 1;
    f.e.reminder_minutes = f.rem;
    f.e.n_reminder_minutes = 6;
    rc = ag_create(K_PATIENT, P, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_TOO_LARGE, "event.reminder_minutes");
    ag_ev(&f, ag_day(2030, 6, 1, 9), "ok");
    f.e.status = ST(CANCELLED);
    rc = ag_create(K_PATIENT, P, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.status");
    ag_ev(&f, ag_day(2030, 6, 1, 9), "ok");
    f.e.source = ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_BOOKING_SERVICE;
    rc = ag_create(K_PATIENT, P, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.source");
    ag_ev(&f, ag_day(2030, 6, 1, 9), "ok");
    f.e.all_day = 1;
    rc = ag_create(K_PATIENT, P, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.start_ms");
    rc = ag_create(K_PATIENT, P, "", NULL, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event");
    ag_ev(&f, ag_day(2030, 6, 1, 9), "ok");
    rc = ag_create(K_PATIENT, P, "XYZ", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "patient_id");
    rc = ag_create(K_PRO, RPPS, "", &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "patient_id");
    /* Update needs id and version */
    Espace__V1__AgendaEvent u = f.e;
    rc = ag_update(P, &u, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.id");
    uint8_t id[16] = {1};
    u.id.data = id;
    u.id.len = 16;
    rc = ag_update(P, &u, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.version");
    u.version = 1;
    rc = ag_update(P, &u, NULL, &r);
    EXPECT_FAIL(rc, r, ES_NOT_FOUND, "event_id");
    /* List arguments */
    Espace__V1__AgendaListRequest lr = ESPACE__V1__AGENDA_LIST_REQUEST__INIT;
    lr.from_ms = 10;
    lr.to_ms = 10;
    rc = ag_call(K_PATIENT, P, "List", &lr.base, &espace__v1__agenda_list_reply__descriptor, NULL,
                &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "to_ms");
    lr.to_ms = 20;
    lr.limit = 501;
    rc = ag_call(K_PATIENT, P, "List", &lr.base, &espace__v1__agenda_list_reply__descriptor, NULL,
                &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "limit");
    lr.limit = 0;
    lr.cursor.data = id;
    lr.cursor.len = 5;
    rc = ag_call(K_PATIENT, P, "List", &lr.base, &espace__v1__agenda_list_reply__descriptor, NULL,
                &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "cursor");
    /* an unknown method, a malformed body */
    rc = ag_call(K_PATIENT, P, "Frobnicate", &lr.base, &espace__v1__agenda_list_reply__descriptor,
                NULL, &r);
    assert_int_equal(rc, ES_UNIMPLEMENTED);
    /* nothing was stored */
    assert_int_equal(ag_head(P), 0);
}

/* ------------------------------------------------------------- conflict */

static void test_conflict(void **state)
{
    (void)state;
    const char *P = "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4";
    evfix_t f;
    bus_reply_t r;
    ag_ev(&f, ag_day(2030, 7, 1, 9), "Kiné");
    Espace__V1__AgendaEvent *e = NULL;
    assert_int_equal(ag_create(K_PATIENT, P, "", &f.e, &e, &r), 0);
    /* two clients update version 1 at once (pipelined: one batch) */
    Espace__V1__AgendaEvent u1 = *e, u2 = *e;
    u1.title = "Kiné A";
    u2.title = "Kiné B";
    Espace__V1__AgendaUpdateRequest q1 = ESPACE__V1__AGENDA_UPDATE_REQUEST__INIT;
    Espace__V1__AgendaUpdateRequest q2 = ESPACE__V1__AGENDA_UPDATE_REQUEST__INIT;
    q1.event = &u1;
    q2.event = &u2;
    Espace__V1__Caller c = h_caller(K_PATIENT, P);
    uint64_t id1, id2;
    assert_int_equal(bus_client_send(AG.cl, SERVICE_AGENDA, "Update", &q1.base, CALL_MS, &c, &id1),
                     0);
    assert_int_equal(bus_client_send(AG.cl, SERVICE_AGENDA, "Update", &q2.base, CALL_MS, &c, &id2),
                     0);
    int ok = 0, aborted = 0;
    for (int i = 0; i < 2; i++) {
        bus_reply_t rr;
        memset(&rr, 0, sizeof rr);
        assert_int_equal(bus_client_recv(AG.cl, CALL_MS, &rr), 0);
        if (rr.status == 0)
            ok++;
        else if (rr.status == ES_ABORTED && strcmp(rr.field, "event.version") == 0)
            aborted++;
        bus_reply_clear(&rr);
    }
    assert_int_equal(ok, 1);
    assert_int_equal(aborted, 1);
    Espace__V1__AgendaGetReply *gr = ag_get(P, e->id);
    Espace__V1__AgendaEvent *now = gr->event;
    assert_int_equal(now->version, 2);
    assert_true(strcmp(now->title, "Kiné A") == 0 || strcmp(now->title, "Kiné B") == 0);
    codec_free(&gr->base);
    codec_free(&e->base);
}

/* ------------------------------------------------- upsert and reschedule */

/* 1 if the agenda's LMDB file holds these bytes anywhere (issue 11
 * section 5: a source id is not kept in clear, not even in an index key). */
static int s_agenda_file_has(const char *bytes)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s/data.mdb", AG.h.dir, SERVICE_AGENDA);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    int found = memmem(buf, (size_t)n, bytes, strlen(bytes)) != NULL;
    free(buf);
    return found;
}

static int s_upsert(const char *pid, Espace__V1__AgendaEvent *e,
                    Espace__V1__AgendaUpsertReply **out, bus_reply_t *r)
{
    Espace__V1__AgendaUpsertRequest req = ESPACE__V1__AGENDA_UPSERT_REQUEST__INIT;
    req.patient_id = (char *)pid;
    req.event = e;
    ProtobufCMessage *rep = NULL;
    int rc = ag_call(K_PRO, RPPS, "Upsert", &req.base, &espace__v1__agenda_upsert_reply__descriptor,
                    &rep, r);
    *out = (Espace__V1__AgendaUpsertReply *)rep;
    return rc;
}

static void test_upsert_reschedule(void **state)
{
    (void)state;
    const char *P = "f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6";
    char tp[128], tpro[128];
    ag_topic(tp, sizeof tp, "patient", P, ".agenda");
    ag_topic(tpro, sizeof tpro, "pro", RPPS, ".agenda");
    assert_int_equal(ag_grant(P, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, RPPS, 1, 1, NULL), 0);
    evfix_t f;
    bus_reply_t r;
    int rc;
    ag_ev(&f, ag_day(2030, 9, 1, 9), "Échographie");
    f.e.source_id = "cab:rdv-1";
    f.rem[0] = 60;
    f.e.reminder_minutes = f.rem;
    f.e.n_reminder_minutes = 1;
    Espace__V1__AgendaUpsertReply *u1 = NULL, *u2 = NULL, *u3 = NULL;
    assert_int_equal(s_upsert(P, &f.e, &u1, &r), 0);
    assert_false(s_agenda_file_has("cab:rdv-1")); /* committed, and not in clear */
    assert_true(u1->created);
    assert_true(u1->changed);
    assert_int_equal(u1->event->version, 1);
    uint64_t head = ag_head(P);
    /* resend: same event, nothing written */
    assert_int_equal(s_upsert(P, &f.e, &u2, &r), 0);
    assert_false(u2->created);
    assert_false(u2->changed);
    assert_memory_equal(u2->event->id.data, u1->event->id.data, 16);
    assert_int_equal(u2->event->version, 1);
    assert_int_equal(ag_head(P), head);
    codec_free(&u2->base);
    /* new content: updated in place */
    f.e.title = "Échographie abdominale";
    assert_int_equal(s_upsert(P, &f.e, &u2, &r), 0);
    assert_false(u2->created);
    assert_true(u2->changed);
    assert_memory_equal(u2->event->id.data, u1->event->id.data, 16);
    assert_int_equal(u2->event->version, 2);
    assert_int_equal(ag_head(P), head + 1);
    /* Create with the same source id: taken */
    rc = ag_create(K_PRO, RPPS, P, &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_ALREADY_EXISTS, "event.source_id");
    /* Upsert without a source id */
    f.e.source_id = "";
    rc = s_upsert(P, &f.e, &u3, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.source_id");
    f.e.source_id = "cab:rdv-1";

    /* Reschedule: atomically cancel + new linked event */
    ag_drain();
    Espace__V1__AgendaRescheduleRequest rr = ESPACE__V1__AGENDA_RESCHEDULE_REQUEST__INIT;
    rr.patient_id = (char *)P;
    rr.event_id = u1->event->id;
    rr.expected_version = 2;
    rr.reason = "Praticien absent";
    rr.start_ms = ag_day(2030, 9, 8, 14);
    rr.end_ms = rr.start_ms - 1;
    rc = ag_call(K_PRO, RPPS, "Reschedule", &rr.base,
                &espace__v1__agenda_reschedule_reply__descriptor, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "end_ms");
    rr.end_ms = rr.start_ms + 45 * 60000;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(ag_call(K_PRO, RPPS, "Reschedule", &rr.base,
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
    Espace__V1__AgendaChange *ch = ag_change_on(tp, 3000);
    assert_non_null(ch);
    assert_int_equal(ch->kind, CH(RESCHEDULED));
    assert_non_null(ch->previous);
    assert_memory_equal(ch->previous->id.data, u1->event->id.data, 16);
    assert_memory_equal(ch->event->id.data, rs->event->id.data, 16);
    codec_free(&ch->base);
    ch = ag_change_on(tpro, 3000); /* the professional's notice: both ids, no content */
    assert_non_null(ch);
    assert_int_equal(ch->kind, CH(RESCHEDULED));
    ag_assert_notice(ch, P, &rs->event->id, 1);
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
    rc = ag_call(K_PRO, RPPS, "Reschedule", &rr.base,
                &espace__v1__agenda_reschedule_reply__descriptor, NULL, &r);
    EXPECT_FAIL(rc, r, ES_FAILED_PRECONDITION, "status");
    /* ListChanges: the old one cancelled, then the new one */
    Espace__V1__AgendaListChangesReply *lc = ag_changes(K_PRO, RPPS, P, 0);
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
        ag_ev(&f, mon + (int64_t)i * CIVIL_DAY_MS + 10 * 3600000LL, "Séance, kiné; n°");
        if (i == 6) {
            f.e.all_day = 1;
            f.e.start_ms = civil_paris_midnight(2030, 10, 27);
            f.e.end_ms = 0;
        }
        f.rem[0] = 30;
        f.e.reminder_minutes = f.rem;
        f.e.n_reminder_minutes = 1;
        Espace__V1__AgendaEvent *e = NULL;
        assert_int_equal(ag_create(K_PATIENT, P, "", &f.e, &e, &r), 0);
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
        assert_int_equal(ag_call(K_PATIENT, P, "List", &lr.base,
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
    assert_int_equal(ag_call(K_PATIENT, P, "List", &lr.base,
                            &espace__v1__agenda_list_reply__descriptor, &rep, &r),
                     0);
    Espace__V1__AgendaListReply *l = (Espace__V1__AgendaListReply *)rep;
    assert_int_equal(l->n_events, 2);
    codec_free(rep);

    /* iCalendar */
    Espace__V1__AgendaExportIcsRequest ir = ESPACE__V1__AGENDA_EXPORT_ICS_REQUEST__INIT;
    rep = NULL;
    assert_int_equal(ag_call(K_PATIENT, P, "ExportIcs", &ir.base,
                            &espace__v1__agenda_export_ics_reply__descriptor, &rep, &r),
                     0);
    const char *ics = ((Espace__V1__AgendaExportIcsReply *)rep)->ics;
    assert_false(((Espace__V1__AgendaExportIcsReply *)rep)->truncated);
    assert_int_equal(strncmp(ics, "BEGIN:VCALENDAR\r\n", 17), 0);
    for (int i = 0; i < 7; i++) {
        char uid[80];
        char hex[ID_HEX];
        snprintf(uid, sizeof uid, "\r\nUID:%s@espace\r\n", id_hex(ids[i], hex));
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
    assert_int_equal(ag_call(K_PATIENT, P, "ExportIcs", &ir.base,
                            &espace__v1__agenda_export_ics_reply__descriptor, &rep, &r),
                     0);
    char hex0[ID_HEX];
    id_hex(ids[0], hex0);
    assert_non_null(strstr(((Espace__V1__AgendaExportIcsReply *)rep)->ics, hex0));
    codec_free(rep);

    /* FHIR: one Appointment, then a Bundle of the range */
    Espace__V1__AgendaExportFhirRequest fr = ESPACE__V1__AGENDA_EXPORT_FHIR_REQUEST__INIT;
    fr.event_id.data = ids[0];
    fr.event_id.len = 16;
    rep = NULL;
    assert_int_equal(ag_call(K_PATIENT, P, "ExportFhir", &fr.base,
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
    assert_int_equal(ag_call(K_PATIENT, P, "ExportFhir", &fr.base,
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
    int rc = ag_call(K_PATIENT, P, "ExportFhir", &fr.base,
                    &espace__v1__agenda_export_fhir_reply__descriptor, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "to_ms");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patient_flow),      cmocka_unit_test(test_validation),
        cmocka_unit_test(test_conflict),          cmocka_unit_test(test_upsert_reschedule),
        cmocka_unit_test(test_paging_exports),
    };
    return cmocka_run_group_tests(tests, ag_setup, ag_teardown);
}
