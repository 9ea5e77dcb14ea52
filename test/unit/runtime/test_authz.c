/*
 * test_authz.c - runtime/authz.c through a real broker (thread, ipc) and the
 * real consent service (svc_run in a thread), started and stopped by the
 * tests: the patient is allowed locally; others are decided by pipelined
 * Decides matched by ticket, per grant, with no cache (a revocation holds
 * from the next Decide); consent down or mute means deny ES_UNAVAILABLE, by
 * the deadline at the latest; at most AUTHZ_MAX_PENDING Decides in flight.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bus/codec.h"
#include "espace/v1/consent.pb-c.h"
#include "proto/names.h"
#include "proto/status.h"
#include "runtime/authz.h"
#include "services/consent/consent.h"
#include "test/harness/harness.h"

#define HB_MS 200
#define K_PATIENT ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT
#define K_PRO ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL
#define MEASURES ESPACE__V1__CATEGORY__CATEGORY_MEASURES
#define READ ESPACE__V1__ACTION__ACTION_READ
#define WRITE ESPACE__V1__ACTION__ACTION_WRITE

typedef struct fix {
    harness_t h;      /* broker thread, folder, endpoints, context */
    h_svc_t consent;  /* the consent service thread, when started */
    bus_client_t *cl; /* local client: stamps its own Caller */
    authz_t *az;
} fix_t;

static fix_t F;

static const char PAT[] = "abcdefabcdefabcdefabcdefabcdef01";
static const char RPPS[] = "81000000001";

static authz_need_t s_need(const char *pid, Espace__V1__Category cat, Espace__V1__Action act,
                           const char *detail)
{
    authz_need_t n;
    memset(&n, 0, sizeof n);
    snprintf(n.patient_id, sizeof n.patient_id, "%s", pid);
    n.category = cat;
    n.action = act;
    snprintf(n.detail, sizeof n.detail, "%s", detail ? detail : "");
    return n;
}

/* Collect the decisions of tickets[0..n) within ms (any order): 0, or -1
 * if one is missing. Decisions of other tickets fail the test. */
static int s_collect(const uint64_t *tickets, authz_decision_t *out, size_t n, int ms)
{
    size_t got = 0;
    int64_t end = bus_mono_ms() + ms;
    while (got < n && bus_mono_ms() < end) {
        uint64_t t = 0;
        authz_decision_t d;
        if (authz_next(F.az, &t, &d) != 0) {
            zmq_pollitem_t it = {NULL, authz_fd(F.az), ZMQ_POLLIN, 0};
            zmq_poll(&it, 1, 10);
            continue;
        }
        size_t i = 0;
        while (i < n && tickets[i] != t)
            i++;
        assert_true(i < n);
        out[i] = d;
        got++;
    }
    return got == n ? 0 : -1;
}

/* Ask once and wait for the decision (at most 2 deadlines); its status. */
static int s_decide(const Espace__V1__Caller *who, authz_need_t need, authz_decision_t *d)
{
    uint64_t t = 0;
    assert_int_equal(authz_ask(F.az, who, &need, &t), 0);
    assert_int_not_equal(t, 0);
    assert_int_equal(s_collect(&t, d, 1, 2 * AUTHZ_TIMEOUT_MS), 0);
    return d->status;
}

static void s_consent_start(void)
{
    assert_int_equal(h_svc_start(&F.h, &F.consent, &consent_service), 0);
    /* wait until the broker routes to it */
    Espace__V1__Caller op = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "");
    Espace__V1__ListAppsRequest req = ESPACE__V1__LIST_APPS_REQUEST__INIT;
    assert_int_equal(h_call_served(F.cl, SERVICE_CONSENT, "ListApps", &req.base,
                                   &espace__v1__list_apps_reply__descriptor, 1000, &op, NULL,
                                   NULL),
                     0);
    /* consent knows PAT (authz_tell, as identity registers an activation) */
    Espace__V1__RegisterPatientRequest reg = ESPACE__V1__REGISTER_PATIENT_REQUEST__INIT;
    reg.patient_id = (char *)PAT;
    uint64_t t = 0;
    authz_decision_t d;
    assert_int_equal(authz_tell(F.az, "RegisterPatient", &reg.base, &t), 0);
    assert_int_equal(s_collect(&t, &d, 1, AUTHZ_TIMEOUT_MS), 0);
    assert_int_equal(d.status, ES_OK);
}

static int s_setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    if (h_setup(&F.h, 0) != 0)
        return -1;
    F.h.hb = HB_MS;
    if (h_broker_start(&F.h) != 0)
        return -1;
    if (h_client(&F.h, &F.cl) != 0)
        return -1;
    bus_conn_t conn = h_ipc(F.h.req_ipc);
    if (authz_new(F.h.ctx, &conn, "agenda", &F.az) != 0)
        return -1;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    authz_destroy(&F.az);
    authz_destroy(&F.az); /* idempotent */
    bus_client_destroy(&F.cl);
    h_svc_stop(&F.consent);
    h_teardown(&F.h);
    return 0;
}

/* authz_local: the patient on their own data only, and malformed input. */
static void test_local(void **state)
{
    (void)state;
    authz_decision_t d;
    Espace__V1__Caller self = h_caller(K_PATIENT, PAT);
    authz_need_t n = s_need(PAT, ESPACE__V1__CATEGORY__CATEGORY_DOCUMENTS, WRITE, "10");
    assert_int_equal(authz_local(&self, &n, &d), 0);
    assert_true(d.allowed);
    assert_int_equal(d.status, 0);
    assert_int_equal(d.basis, ESPACE__V1__BASIS__BASIS_SELF);
    Espace__V1__Caller other = h_caller(K_PATIENT, "00000000000000000000000000000000");
    assert_int_equal(authz_local(&other, &n, &d), AUTHZ_ASK);
    Espace__V1__Caller pro = h_caller(K_PRO, RPPS);
    assert_int_equal(authz_local(&pro, &n, &d), AUTHZ_ASK);
    /* a professional whose principal happens to be the id is not the patient */
    Espace__V1__Caller fake = h_caller(K_PRO, PAT);
    assert_int_equal(authz_local(&fake, &n, &d), AUTHZ_ASK);
    authz_need_t bad = s_need("ABCDEFABCDEFABCDEFABCDEFABCDEF01", MEASURES, READ, NULL);
    assert_int_equal(authz_local(&self, &bad, &d), ES_INVALID_ARGUMENT);
    assert_false(d.allowed);
    assert_int_equal(authz_local(NULL, &n, &d), ES_INVALID_ARGUMENT);
    uint64_t t = 0;
    assert_int_equal(authz_ask(F.az, &pro, &bad, &t), ES_INVALID_ARGUMENT);
    assert_int_equal(authz_ask(F.az, NULL, &n, &t), ES_INVALID_ARGUMENT);
    assert_int_equal(authz_pending(F.az), 0);
    assert_int_equal(authz_timeout_ms(F.az), -1);

    bus_conn_t none;
    memset(&none, 0, sizeof none);
    authz_t *a = NULL;
    assert_int_equal(authz_new(F.h.ctx, &none, "agenda", &a), ES_INVALID_ARGUMENT);
    assert_null(a);
    bus_conn_t conn = h_ipc(F.h.req_ipc);
    assert_int_equal(authz_new(NULL, &conn, "agenda", &a), ES_INVALID_ARGUMENT);
    assert_int_equal(authz_new(F.h.ctx, &conn, "", &a), ES_INVALID_ARGUMENT);
    assert_null(a);
}

/* Consent not running: the broker answers at once, deny UNAVAILABLE. */
static void test_without_consent(void **state)
{
    (void)state;
    authz_decision_t d;
    Espace__V1__Caller pro = h_caller(K_PRO, RPPS);
    int64_t t0 = bus_mono_ms();
    assert_int_equal(s_decide(&pro, s_need(PAT, MEASURES, READ, NULL), &d), ES_UNAVAILABLE);
    assert_true(bus_mono_ms() - t0 < AUTHZ_TIMEOUT_MS);
    assert_false(d.allowed);
    assert_int_equal(d.basis, ESPACE__V1__BASIS__BASIS_NONE);
    assert_int_equal(authz_pending(F.az), 0);
}

/* Consent running: pipelined Decides, per grant, audited, no cache. */
static void test_with_consent(void **state)
{
    (void)state;
    s_consent_start();
    Espace__V1__Caller pro = h_caller(K_PRO, RPPS);
    Espace__V1__Caller app = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_APP, "app.any");
    Espace__V1__Caller pat = h_caller(K_PATIENT, PAT);

    /* Three in flight at once, before any grant: all denied, each matched. */
    authz_need_t needs[3] = {s_need(PAT, MEASURES, READ, "29463-7"),
                             s_need(PAT, MEASURES, WRITE, "29463-7"),
                             s_need(PAT, MEASURES, READ, "8302-2")};
    uint64_t t[3];
    authz_decision_t d[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(authz_ask(F.az, &pro, &needs[i], &t[i]), 0);
    assert_int_equal(authz_pending(F.az), 3);
    assert_true(t[0] != t[1] && t[1] != t[2]);
    int left = authz_timeout_ms(F.az);
    assert_true(left > 0 && left <= AUTHZ_TIMEOUT_MS);
    assert_int_equal(s_collect(t, d, 3, AUTHZ_TIMEOUT_MS), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(d[i].status, ES_PERMISSION_DENIED);
        assert_false(d[i].allowed);
    }
    assert_int_equal(authz_pending(F.az), 0);

    /* A patient consent does not know: NOT_FOUND, for a Decide as for a
     * HoldsGrant; a record consent refuses comes out denied too. */
    authz_need_t unknown = s_need("abababababababababababababababab", MEASURES, READ, NULL);
    assert_int_equal(s_decide(&pro, unknown, &d[0]), ES_NOT_FOUND);
    assert_int_equal(authz_ask_holds(F.az, &pro, &unknown, &t[0]), 0);
    assert_int_equal(s_collect(t, d, 1, AUTHZ_TIMEOUT_MS), 0);
    assert_int_equal(d[0].status, ES_NOT_FOUND);
    Espace__V1__RegisterPatientRequest bad = ESPACE__V1__REGISTER_PATIENT_REQUEST__INIT;
    bad.patient_id = "nope";
    assert_int_equal(authz_tell(F.az, "RegisterPatient", &bad.base, &t[0]), 0);
    assert_int_equal(s_collect(t, d, 1, AUTHZ_TIMEOUT_MS), 0);
    assert_int_equal(d[0].status, ES_INVALID_ARGUMENT);
    assert_int_equal(authz_tell(F.az, "", &bad.base, &t[0]), ES_INVALID_ARGUMENT);

    /* The patient grants measures read, narrowed to body weight. */
    Espace__V1__Scope s = ESPACE__V1__SCOPE__INIT;
    char *codes[1] = {"29463-7"};
    s.category = MEASURES;
    s.action = READ;
    s.codes = codes;
    s.n_codes = 1;
    Espace__V1__Scope *sp[1] = {&s};
    Espace__V1__GrantRequest gr = ESPACE__V1__GRANT_REQUEST__INIT;
    gr.grantee_kind = ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL;
    gr.grantee_id = (char *)RPPS;
    gr.scopes = sp;
    gr.n_scopes = 1;
    gr.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(bus_call(F.cl, SERVICE_CONSENT, "Grant", &gr.base,
                              &espace__v1__grant_reply__descriptor, 5000, &pat, &rep, NULL),
                     0);
    uint8_t gid[16];
    memcpy(gid, ((Espace__V1__GrantReply *)rep)->grant->id.data, 16);
    codec_free(rep);

    /* Again three in flight: the grant decides each one on its own. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(authz_ask(F.az, &pro, &needs[i], &t[i]), 0);
    uint64_t ta;
    authz_decision_t da;
    assert_int_equal(authz_ask(F.az, &app, &needs[0], &ta), 0);
    assert_int_equal(s_collect(t, d, 3, AUTHZ_TIMEOUT_MS), 0);
    assert_int_equal(s_collect(&ta, &da, 1, AUTHZ_TIMEOUT_MS), 0);
    assert_int_equal(d[0].status, 0);
    assert_true(d[0].allowed);
    assert_int_equal(d[0].basis, ESPACE__V1__BASIS__BASIS_GRANT);
    assert_true(d[0].has_grant);
    assert_memory_equal(d[0].grant_id, gid, 16);
    assert_int_equal(d[1].status, ES_PERMISSION_DENIED); /* write */
    assert_int_equal(d[2].status, ES_PERMISSION_DENIED); /* another code */
    assert_int_equal(da.status, ES_PERMISSION_DENIED);   /* another grantee */

    /* Every Decide by someone else is in the patient's trail (3 + 4). */
    Espace__V1__ReadAuditRequest ra = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    assert_int_equal(bus_call(F.cl, SERVICE_CONSENT, "ReadAudit", &ra.base,
                              &espace__v1__read_audit_reply__descriptor, 5000, &pat, &rep, NULL),
                     0);
    assert_int_equal(((Espace__V1__ReadAuditReply *)rep)->n_entries, 7);
    assert_string_equal(((Espace__V1__ReadAuditReply *)rep)->entries[0]->service, "agenda");
    codec_free(rep);

    /* No cache: revoked, the very next Decide is denied. */
    Espace__V1__RevokeGrantRequest rv = ESPACE__V1__REVOKE_GRANT_REQUEST__INIT;
    rv.grant_id.data = gid;
    rv.grant_id.len = 16;
    assert_int_equal(bus_call(F.cl, SERVICE_CONSENT, "RevokeGrant", &rv.base,
                              &espace__v1__revoke_grant_reply__descriptor, 5000, &pat, NULL,
                              NULL),
                     0);
    assert_int_equal(s_decide(&pro, needs[0], &da), ES_PERMISSION_DENIED);
    h_svc_stop(&F.consent);
}

static tworker_t s_mute; /* the mute consent of test_mute_consent */
static int s_mute_on;    /* s_mute is running */

/* test_mute_consent's teardown, also after a failure: the context cannot
 * end while the worker's socket is open. */
static int s_mute_teardown(void **state)
{
    (void)state;
    if (s_mute_on)
        tw_stop(&s_mute);
    s_mute_on = 0;
    return 0;
}

/* Consent up but mute: nothing before the deadline, then UNAVAILABLE; at
 * most AUTHZ_MAX_PENDING in flight; a live consent decides again after. */
static void test_mute_consent(void **state)
{
    (void)state;
    bus_conn_t conn = h_ipc(F.h.req_ipc);
    conn.heartbeat_ms = h_hb(&F.h); /* the broker's, so it never looks dead */
    assert_int_equal(tw_start_mute(&s_mute, F.h.ctx, conn, SERVICE_CONSENT, 1024), 0);
    s_mute_on = 1;
    tworker_t *mute = &s_mute;
    assert_int_equal(tw_wait_registered(mute, 5000), 0);
    Espace__V1__Caller pro = h_caller(K_PRO, RPPS);
    authz_need_t n = s_need(PAT, MEASURES, READ, "29463-7");
    uint64_t t0 = 0;
    int64_t start = bus_mono_ms();
    assert_int_equal(authz_ask(F.az, &pro, &n, &t0), 0);
    /* the Decide reached consent, and no decision comes meanwhile */
    for (int i = 0; i < 200 && mute->handled < 1; i++)
        h_sleep_ms(5);
    assert_int_equal(mute->handled, 1);
    uint64_t t = 0;
    authz_decision_t d;
    assert_int_equal(authz_next(F.az, &t, &d), ES_NOT_FOUND);
    assert_int_equal(authz_pending(F.az), 1);

    /* fill the table: one more is refused at once */
    static uint64_t many[AUTHZ_MAX_PENDING];
    static authz_decision_t dm[AUTHZ_MAX_PENDING];
    many[0] = t0;
    for (size_t i = 1; i < AUTHZ_MAX_PENDING; i++)
        assert_int_equal(authz_ask(F.az, &pro, &n, &many[i]), 0);
    assert_int_equal(authz_pending(F.az), AUTHZ_MAX_PENDING);
    assert_int_equal(authz_ask(F.az, &pro, &n, &t), ES_RESOURCE_EXHAUSTED);

    /* every one denied UNAVAILABLE by its deadline, not earlier than ~it */
    assert_int_equal(s_collect(many, dm, AUTHZ_MAX_PENDING, 2 * AUTHZ_TIMEOUT_MS), 0);
    int64_t took = bus_mono_ms() - start;
    assert_true(took >= AUTHZ_TIMEOUT_MS / 2); /* pending well after the checks above */
    assert_true(took < 2 * AUTHZ_TIMEOUT_MS);
    for (size_t i = 0; i < AUTHZ_MAX_PENDING; i++) {
        assert_int_equal(dm[i].status, ES_UNAVAILABLE);
        assert_false(dm[i].allowed);
    }
    assert_int_equal(authz_pending(F.az), 0);
    assert_int_equal(authz_timeout_ms(F.az), -1);
    s_mute_teardown(NULL);

    /* consent back: decided again (denied: no grant for this code) */
    s_consent_start();
    authz_need_t w = s_need(PAT, MEASURES, READ, "8302-2");
    assert_int_equal(s_decide(&pro, w, &d), ES_PERMISSION_DENIED);
    assert_string_not_equal(d.reason, "consent unreachable");
    h_svc_stop(&F.consent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local),
        cmocka_unit_test(test_without_consent),
        cmocka_unit_test(test_with_consent),
        cmocka_unit_test_teardown(test_mute_consent, s_mute_teardown),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
