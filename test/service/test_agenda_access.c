/*
 * test_agenda_access.c - who reaches an agenda, on the agenda scenarios'
 * fixture (agenda_fixture.h): the patient directly, professionals and apps
 * per consent grant (deny by default, every access audited), a revocation
 * effective from the next request, and the agenda never blocked by consent
 * (runtime/service.h, ACCESS): with consent stopped the patient is served
 * and others are refused UNAVAILABLE at once; with consent up but mute the
 * patient is served promptly while a professional's request waits, which
 * is refused UNAVAILABLE by the deadline; at most SVC_MAX_PARKED requests
 * wait (one more: RESOURCE_EXHAUSTED); consent back, grants work again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/service/agenda_fixture.h"

#define G_PRO ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL

/* ---------------------------------------------------------------- access */


static void test_access(void **state)
{
    (void)state;
    const char *P = "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5";
    evfix_t f;
    bus_reply_t r;
    int rc;
    size_t n = 0;
    ProtobufCMessage *hold = NULL;
    ag_ev(&f, ag_day(2030, 8, 1, 9), "Bilan");
    /* a patient consent does not know: NOT_FOUND, no trail; then identity
     * registers the activation */
    rc = ag_create(K_PRO, RPPS, P, &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_NOT_FOUND, "");
    Espace__V1__RegisterPatientRequest reg = ESPACE__V1__REGISTER_PATIENT_REQUEST__INIT;
    reg.patient_id = (char *)P;
    Espace__V1__Caller idc = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE, "identity");
    assert_int_equal(bus_call(AG.cl, SERVICE_CONSENT, "RegisterPatient", &reg.base, NULL, 5000,
                              &idc, NULL, &r),
                     0);
    /* professional without a grant: denied, and audited */
    rc = ag_create(K_PRO, RPPS, P, &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    Espace__V1__AuditEntry *a = ag_last_audit(P, &hold);
    assert_string_equal(a->actor, RPPS);
    assert_int_equal(a->actor_kind, K_PRO);
    assert_false(a->allowed);
    assert_int_equal(a->category, ESPACE__V1__CATEGORY__CATEGORY_AGENDA);
    assert_int_equal(a->action, ESPACE__V1__ACTION__ACTION_WRITE);
    assert_string_equal(a->service, SERVICE_AGENDA);
    codec_free(hold);
    rc = ag_list(K_PRO, RPPS, P, &r, &n);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    a = ag_last_audit(P, &hold);
    assert_int_equal(a->action, ESPACE__V1__ACTION__ACTION_READ);
    assert_false(a->allowed);
    codec_free(hold);
    assert_int_equal(ag_head(P), 0); /* nothing written */

    /* read-only grant: list yes, create no */
    assert_int_equal(ag_grant(P, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, RPPS, 1, 0, NULL), 0);
    assert_int_equal(ag_list(K_PRO, RPPS, P, &r, &n), 0);
    assert_int_equal(n, 0);
    a = ag_last_audit(P, &hold);
    assert_true(a->allowed);
    assert_string_equal(a->actor, RPPS);
    codec_free(hold);
    rc = ag_create(K_PRO, RPPS, P, &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    /* write grant: create, as PRO_SOFTWARE */
    assert_int_equal(ag_grant(P, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, RPPS, 0, 1, NULL), 0);
    Espace__V1__AgendaEvent *e = NULL;
    assert_int_equal(ag_create(K_PRO, RPPS, P, &f.e, &e, &r), 0);
    assert_int_equal(e->source, ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_PRO_SOFTWARE);
    assert_string_equal(e->updated_by, RPPS);
    assert_string_equal(e->patient_id, P);
    codec_free(&e->base);
    f.e.source = ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_PATIENT;
    rc = ag_create(K_PRO, RPPS, P, &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_INVALID_ARGUMENT, "event.source");
    f.e.source = 0;
    /* another professional: still denied */
    rc = ag_list(K_PRO, RPPS2, P, &r, &n);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    /* the patient sees the professional's event */
    assert_int_equal(ag_list(K_PATIENT, P, "", &r, &n), 0);
    assert_int_equal(n, 1);

    /* an app: denied, then read only */
    ag_add_app("app.rdv");
    rc = ag_list(K_APP, "app.rdv", P, &r, &n);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    a = ag_last_audit(P, &hold);
    assert_string_equal(a->actor, "app.rdv");
    assert_int_equal(a->actor_kind, K_APP);
    assert_false(a->allowed);
    codec_free(hold);
    assert_int_equal(ag_grant(P, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.rdv", 1, 0, NULL), 0);
    assert_int_equal(ag_list(K_APP, "app.rdv", P, &r, &n), 0);
    assert_int_equal(n, 1);
    rc = ag_create(K_APP, "app.rdv", P, &f.e, NULL, &r);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    /* only the patient deletes */
    assert_int_equal(ag_grant(P, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.rdv", 0, 1, NULL), 0);
    assert_int_equal(ag_create(K_APP, "app.rdv", P, &f.e, &e, &r), 0);
    assert_int_equal(e->source, ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_BOOKING_SERVICE);
    Espace__V1__AgendaDeleteRequest dr = ESPACE__V1__AGENDA_DELETE_REQUEST__INIT;
    dr.event_id = e->id;
    rc = ag_call(K_APP, "app.rdv", "Delete", &dr.base, &espace__v1__agenda_delete_reply__descriptor,
                NULL, &r);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    codec_free(&e->base);
}

/* ------------------------------------------------------------ revocation */

static void test_revocation(void **state)
{
    (void)state;
    const char *P = "e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6";
    bus_reply_t r;
    size_t n = 0;
    uint8_t gid[16];
    assert_int_equal(ag_grant(P, G_PRO, RPPS, 1, 0, gid), 0);
    assert_int_equal(ag_list(K_PRO, RPPS, P, &r, &n), 0);
    assert_int_equal(ag_revoke(P, gid), 0);
    /* no cache: the very next request is decided again, and denied */
    int rc = ag_list(K_PRO, RPPS, P, &r, &n);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "");
    ProtobufCMessage *hold = NULL;
    Espace__V1__AuditEntry *a = ag_last_audit(P, &hold);
    assert_false(a->allowed);
    assert_string_equal(a->actor, RPPS);
    codec_free(hold);
}

/* ---------------------------------------------------------- consent down */

/* Send Create of a fresh event for P as the professional on client cl
 * without waiting; the request id. */
static uint64_t s_send_pro_create(bus_client_t *cl, const char *P, int64_t start)
{
    evfix_t f;
    ag_ev(&f, start, "Bilan");
    Espace__V1__AgendaCreateRequest req = ESPACE__V1__AGENDA_CREATE_REQUEST__INIT;
    req.patient_id = (char *)P;
    req.event = &f.e;
    Espace__V1__Caller c = h_caller(K_PRO, RPPS);
    uint64_t id = 0;
    assert_int_equal(bus_client_send(cl, SERVICE_AGENDA, "Create", &req.base, CALL_MS, &c, &id),
                     0);
    return id;
}

/* The patient's own read and write, each answered within ms. */
static void s_patient_served(bus_client_t *cl, const char *P, int ms)
{
    bus_client_t *keep = AG.cl;
    AG.cl = cl;
    evfix_t f;
    bus_reply_t r;
    size_t n = 0;
    ag_ev(&f, ag_day(2031, 1, 2, 9), "Kiné");
    int64_t t0 = bus_mono_ms();
    assert_int_equal(ag_create(K_PATIENT, P, "", &f.e, NULL, &r), 0);
    int64_t t1 = bus_mono_ms();
    assert_int_equal(ag_list(K_PATIENT, P, "", &r, &n), 0);
    int64_t t2 = bus_mono_ms();
    AG.cl = keep;
    if (t1 - t0 >= ms || t2 - t1 >= ms)
        fail_msg("the patient waited: write %lld ms, read %lld ms (limit %d)",
                 (long long)(t1 - t0), (long long)(t2 - t1), ms);
    assert_true(n >= 1);
}

/* Consent stopped: the patient keeps using their agenda; a professional,
 * even with a grant, is refused UNAVAILABLE at once and nothing is written;
 * a patient naming another one is still refused before consent. Consent
 * back: the grant works again. */
static void test_consent_down(void **state)
{
    (void)state;
    const char *P = "e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7";
    bus_reply_t r;
    assert_int_equal(ag_grant(P, G_PRO, RPPS, 1, 1, NULL), 0);
    evfix_t f;
    ag_ev(&f, ag_day(2031, 1, 1, 9), "Bilan");
    assert_int_equal(ag_create(K_PRO, RPPS, P, &f.e, NULL, &r), 0);
    uint64_t head = ag_head(P);

    assert_int_equal(h_svc_stop(&AG.consent), 0);
    s_patient_served(AG.cl, P, AUTHZ_TIMEOUT_MS / 4);
    head++;
    assert_int_equal(ag_head(P), head);
    int64_t t0 = bus_mono_ms();
    int rc = ag_create(K_PRO, RPPS, P, &f.e, NULL, &r);
    int64_t took = bus_mono_ms() - t0;
    EXPECT_FAIL(rc, r, ES_UNAVAILABLE, "");
    assert_true(took < AUTHZ_TIMEOUT_MS + 500);
    size_t n = 0;
    rc = ag_list(K_PRO, RPPS, P, &r, &n);
    EXPECT_FAIL(rc, r, ES_UNAVAILABLE, "");
    assert_int_equal(ag_head(P), head); /* nothing written */
    rc = ag_list(K_PATIENT, "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", P, &r, &n);
    EXPECT_FAIL(rc, r, ES_PERMISSION_DENIED, "patient_id");

    ag_consent_start();
    assert_int_equal(ag_create(K_PRO, RPPS, P, &f.e, NULL, &r), 0);
    assert_int_equal(ag_head(P), head + 1);
}

/* Consent up but mute (takes the Decides, never answers): while a
 * professional's Create waits for its decision the patient is served
 * promptly; the Create is refused UNAVAILABLE by the deadline, not a hang.
 * SVC_MAX_PARKED requests wait at most; one more is RESOURCE_EXHAUSTED at
 * once, and the patient is still served. */
static tworker_t s_mute;      /* the mute consent of test_consent_slow */
static int s_mute_on;         /* s_mute is running */
static bus_client_t *s_pat;   /* the patient's own client there */

/* test_consent_slow's teardown, also after a failure: the context cannot
 * end while a socket of the test is open. */
static int s_slow_teardown(void **state)
{
    (void)state;
    if (s_mute_on)
        tw_stop(&s_mute);
    s_mute_on = 0;
    bus_client_destroy(&s_pat);
    return 0;
}

static void test_consent_slow(void **state)
{
    (void)state;
    const char *P = "e8e8e8e8e8e8e8e8e8e8e8e8e8e8e8e8";
    assert_int_equal(ag_grant(P, G_PRO, RPPS, 1, 1, NULL), 0);
    uint64_t head = ag_head(P);
    assert_int_equal(h_client(&AG.h, &s_pat), 0);
    bus_client_t *pat = s_pat;
    assert_int_equal(h_svc_stop(&AG.consent), 0);
    tworker_t *mute = &s_mute;
    bus_conn_t conn = h_ipc(AG.h.req_ipc);
    conn.heartbeat_ms = h_hb(&AG.h); /* the broker's, so it never looks dead */
    assert_int_equal(tw_start_mute(mute, AG.h.ctx, conn, SERVICE_CONSENT, 1024), 0);
    s_mute_on = 1;
    assert_int_equal(tw_wait_registered(mute, 5000), 0);

    int64_t t0 = bus_mono_ms();
    uint64_t id = s_send_pro_create(AG.cl, P, ag_day(2031, 2, 1, 9));
    for (int i = 0; i < 400 && mute->handled < 1; i++)
        h_sleep_ms(5);
    assert_int_equal(mute->handled, 1); /* its Decide is pending */
    s_patient_served(pat, P, AUTHZ_TIMEOUT_MS / 8);
    bus_reply_t rr;
    memset(&rr, 0, sizeof rr);
    assert_int_equal(bus_client_recv(AG.cl, 2 * AUTHZ_TIMEOUT_MS, &rr), 0);
    int64_t took = bus_mono_ms() - t0;
    assert_int_equal(rr.id, id);
    assert_int_equal(rr.status, ES_UNAVAILABLE);
    bus_reply_clear(&rr);
    /* not a hang; and it was pending well after the patient was served */
    if (took < AUTHZ_TIMEOUT_MS / 2 || took > AUTHZ_TIMEOUT_MS + 1000)
        fail_msg("refused after %lld ms, deadline %d", (long long)took, AUTHZ_TIMEOUT_MS);
    assert_int_equal(ag_head(P), head + 1); /* the patient's event only */

    /* SVC_MAX_PARKED + 1 professional reads at once */
    enum { N = SVC_MAX_PARKED + 1 };
    Espace__V1__AgendaListRequest lr = ESPACE__V1__AGENDA_LIST_REQUEST__INIT;
    lr.patient_id = (char *)P;
    lr.to_ms = INT64_MAX;
    Espace__V1__Caller c = h_caller(K_PRO, RPPS);
    for (int i = 0; i < N; i++)
        assert_int_equal(
            bus_client_send(AG.cl, SERVICE_AGENDA, "List", &lr.base, CALL_MS, &c, NULL), 0);
    /* the one over the limit is answered at once */
    memset(&rr, 0, sizeof rr);
    assert_int_equal(bus_client_recv(AG.cl, AUTHZ_TIMEOUT_MS / 2, &rr), 0);
    assert_int_equal(rr.status, ES_RESOURCE_EXHAUSTED);
    bus_reply_clear(&rr);
    s_patient_served(pat, P, AUTHZ_TIMEOUT_MS / 8);
    int unavailable = 0;
    for (int i = 1; i < N; i++) {
        memset(&rr, 0, sizeof rr);
        if (bus_client_recv(AG.cl, 2 * AUTHZ_TIMEOUT_MS, &rr) != 0)
            break;
        unavailable += rr.status == ES_UNAVAILABLE;
        bus_reply_clear(&rr);
    }
    assert_int_equal(unavailable, N - 1);

    /* consent back: the grant works again */
    s_slow_teardown(NULL);
    ag_consent_start();
    evfix_t f;
    bus_reply_t r;
    ag_ev(&f, ag_day(2031, 2, 2, 9), "Bilan");
    assert_int_equal(ag_create(K_PRO, RPPS, P, &f.e, NULL, &r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_access),
        cmocka_unit_test(test_revocation),
        cmocka_unit_test(test_consent_down),
        cmocka_unit_test_teardown(test_consent_slow, s_slow_teardown),
    };
    return cmocka_run_group_tests(tests, ag_setup, ag_teardown);
}
