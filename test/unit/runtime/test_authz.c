/*
 * test_authz.c - runtime/authz.c through a real broker (thread, ipc) and the
 * real consent service (svc_run in a thread), started and stopped by the
 * tests: the patient is allowed without consent running, others are
 * allowed or denied per grant, and consent down means deny ES_UNAVAILABLE.
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

#include "runtime/authz.h"
#include "test/harness/harness.h"
#include "bus/codec.h"
#include "services/consent/consent.h"
#include "espace/v1/consent.pb-c.h"
#include "runtime/service.h"
#include "proto/status.h"

#define HB_MS 200

typedef struct fix {
    harness_t h;      /* broker thread, folder, endpoints, context */
    h_svc_t consent;  /* the consent service thread, when started */
    bus_client_t *cl; /* local client: stamps its own Caller */
    authz_t *az;
} fix_t;

static fix_t F;

static const char PAT[] = "abcdefabcdefabcdefabcdefabcdef01";
static const char RPPS[] = "81000000001";

static void s_consent_start(void)
{
    assert_int_equal(h_svc_start(&F.h, &F.consent, &consent_service), 0);
    /* wait until the broker routes to it */
    Espace__V1__Caller op = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "");
    Espace__V1__ListAppsRequest req = ESPACE__V1__LIST_APPS_REQUEST__INIT;
    assert_int_equal(h_call_served(F.cl, CONSENT_SERVICE, "ListApps", &req.base,
                                   &espace__v1__list_apps_reply__descriptor, 1000, &op, NULL,
                                   NULL),
                     0);
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
    if (authz_new(NULL, &conn, "agenda", &F.az) != 0)
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

/* Consent not running: the patient is allowed, anyone else denied. */
static void test_without_consent(void **state)
{
    (void)state;
    authz_decision_t d;
    Espace__V1__Caller self = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT, PAT);
    assert_int_equal(authz_check(F.az, &self, PAT, ESPACE__V1__CATEGORY__CATEGORY_DOCUMENTS,
                                 ESPACE__V1__ACTION__ACTION_WRITE, "10", &d),
                     0);
    assert_true(d.allowed);
    assert_int_equal(d.basis, ESPACE__V1__BASIS__BASIS_SELF);
    /* even without a helper at all */
    assert_int_equal(authz_check(NULL, &self, PAT, ESPACE__V1__CATEGORY__CATEGORY_AGENDA,
                                 ESPACE__V1__ACTION__ACTION_READ, NULL, NULL),
                     0);

    Espace__V1__Caller other =
        h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT, "00000000000000000000000000000000");
    assert_int_equal(authz_check(F.az, &other, PAT, ESPACE__V1__CATEGORY__CATEGORY_AGENDA,
                                 ESPACE__V1__ACTION__ACTION_READ, NULL, &d),
                     ES_UNAVAILABLE);
    assert_false(d.allowed);
    Espace__V1__Caller pro = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL, RPPS);
    assert_int_equal(authz_check(F.az, &pro, PAT, ESPACE__V1__CATEGORY__CATEGORY_AGENDA,
                                 ESPACE__V1__ACTION__ACTION_READ, NULL, &d),
                     ES_UNAVAILABLE);
    assert_false(d.allowed);
    assert_int_equal(authz_check(NULL, &pro, PAT, ESPACE__V1__CATEGORY__CATEGORY_AGENDA,
                                 ESPACE__V1__ACTION__ACTION_READ, NULL, &d),
                     ES_UNAVAILABLE);
    /* malformed */
    assert_int_equal(authz_check(F.az, &pro, "abc", ESPACE__V1__CATEGORY__CATEGORY_AGENDA,
                                 ESPACE__V1__ACTION__ACTION_READ, NULL, &d),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(authz_check(F.az, NULL, PAT, ESPACE__V1__CATEGORY__CATEGORY_AGENDA,
                                 ESPACE__V1__ACTION__ACTION_READ, NULL, &d),
                     ES_INVALID_ARGUMENT);
    assert_false(d.allowed);
    bus_conn_t none;
    memset(&none, 0, sizeof none);
    authz_t *bad = NULL;
    assert_int_equal(authz_new(NULL, &none, "agenda", &bad), ES_INVALID_ARGUMENT);
    assert_null(bad);
}

/* Consent running: per grant; then consent stops: deny UNAVAILABLE. */
static void test_with_consent(void **state)
{
    (void)state;
    s_consent_start();
    authz_decision_t d;
    Espace__V1__Caller pro = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL, RPPS);
    assert_int_equal(authz_check(F.az, &pro, PAT, ESPACE__V1__CATEGORY__CATEGORY_MEASURES,
                                 ESPACE__V1__ACTION__ACTION_READ, "29463-7", &d),
                     ES_PERMISSION_DENIED);
    assert_false(d.allowed);
    assert_int_equal(d.basis, ESPACE__V1__BASIS__BASIS_NONE);

    /* The patient grants measures read, narrowed to body weight. */
    char *codes[1] = {"29463-7"};
    Espace__V1__Scope s = ESPACE__V1__SCOPE__INIT;
    s.category = ESPACE__V1__CATEGORY__CATEGORY_MEASURES;
    s.action = ESPACE__V1__ACTION__ACTION_READ;
    s.codes = codes;
    s.n_codes = 1;
    Espace__V1__Scope *sp[1] = {&s};
    Espace__V1__GrantRequest gr = ESPACE__V1__GRANT_REQUEST__INIT;
    gr.grantee_kind = ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL;
    gr.grantee_id = (char *)RPPS;
    gr.scopes = sp;
    gr.n_scopes = 1;
    gr.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    Espace__V1__Caller pat = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT, PAT);
    ProtobufCMessage *rep = NULL;
    assert_int_equal(bus_call(F.cl, CONSENT_SERVICE, "Grant", &gr.base,
                              &espace__v1__grant_reply__descriptor, 5000, &pat, &rep, NULL),
                     0);
    uint8_t gid[16];
    memcpy(gid, ((Espace__V1__GrantReply *)rep)->grant->id.data, 16);
    codec_free(rep);

    assert_int_equal(authz_check(F.az, &pro, PAT, ESPACE__V1__CATEGORY__CATEGORY_MEASURES,
                                 ESPACE__V1__ACTION__ACTION_READ, "29463-7", &d),
                     0);
    assert_true(d.allowed);
    assert_int_equal(d.basis, ESPACE__V1__BASIS__BASIS_GRANT);
    assert_true(d.has_grant);
    assert_memory_equal(d.grant_id, gid, 16);
    assert_int_equal(authz_check(F.az, &pro, PAT, ESPACE__V1__CATEGORY__CATEGORY_MEASURES,
                                 ESPACE__V1__ACTION__ACTION_READ, "8302-2", &d),
                     ES_PERMISSION_DENIED);
    assert_int_equal(authz_check(F.az, &pro, PAT, ESPACE__V1__CATEGORY__CATEGORY_MEASURES,
                                 ESPACE__V1__ACTION__ACTION_WRITE, "29463-7", &d),
                     ES_PERMISSION_DENIED);
    Espace__V1__Caller app = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_APP, "app.any");
    assert_int_equal(authz_check(F.az, &app, PAT, ESPACE__V1__CATEGORY__CATEGORY_MEASURES,
                                 ESPACE__V1__ACTION__ACTION_READ, "29463-7", &d),
                     ES_PERMISSION_DENIED);

    /* Every check by someone else is in the patient's trail (4 above + 1). */
    Espace__V1__ReadAuditRequest ra = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    assert_int_equal(bus_call(F.cl, CONSENT_SERVICE, "ReadAudit", &ra.base,
                              &espace__v1__read_audit_reply__descriptor, 5000, &pat, &rep, NULL),
                     0);
    assert_int_equal(((Espace__V1__ReadAuditReply *)rep)->n_entries, 5);
    assert_string_equal(((Espace__V1__ReadAuditReply *)rep)->entries[0]->service, "agenda");
    codec_free(rep);

    /* Consent stops: deny, UNAVAILABLE; the patient is still served. */
    h_svc_stop(&F.consent);
    assert_int_equal(authz_check(F.az, &pro, PAT, ESPACE__V1__CATEGORY__CATEGORY_MEASURES,
                                 ESPACE__V1__ACTION__ACTION_READ, "29463-7", &d),
                     ES_UNAVAILABLE);
    assert_false(d.allowed);
    assert_int_equal(authz_check(F.az, &pat, PAT, ESPACE__V1__CATEGORY__CATEGORY_MEASURES,
                                 ESPACE__V1__ACTION__ACTION_READ, "29463-7", &d),
                     0);
    /* And back: the grant is durable. */
    s_consent_start();
    assert_int_equal(authz_check(F.az, &pro, PAT, ESPACE__V1__CATEGORY__CATEGORY_MEASURES,
                                 ESPACE__V1__ACTION__ACTION_READ, "29463-7", &d),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_without_consent),
        cmocka_unit_test(test_with_consent),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
