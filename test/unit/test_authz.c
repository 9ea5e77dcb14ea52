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

#include "authz.h"
#include "broker.h"
#include "bus.h"
#include "codec.h"
#include "consent.h"
#include "consent.pb-c.h"
#include "service.h"
#include "status.h"

#define HB_MS 200

typedef struct fix {
    char dir[64];
    char req[160], pub[160];
    pthread_t bth, cth;
    int bstop[2], bready[2], cstop[2], cready[2];
    int crunning;
    broker_opts_t bo;
    svc_opts_t so;
    void *ctx;
    bus_client_t *cl;
    authz_t *az;
} fix_t;

static fix_t F;

static const char PAT[] = "abcdefabcdefabcdefabcdefabcdef01";
static const char RPPS[] = "81000000001";

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *s_broker_main(void *arg)
{
    broker_run(arg);
    return NULL;
}

static void *s_consent_main(void *arg)
{
    svc_run(&consent_service, arg);
    return NULL;
}

static Espace__V1__Caller s_caller(Espace__V1__PrincipalKind kind, const char *principal)
{
    Espace__V1__Caller c = ESPACE__V1__CALLER__INIT;
    c.kind = kind;
    c.principal = (char *)principal;
    c.peer_role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
    return c;
}

static void s_consent_start(void)
{
    assert_int_equal(pipe(F.cstop), 0);
    assert_int_equal(pipe(F.cready), 0);
    memset(&F.so, 0, sizeof F.so);
    F.so.data_dir = F.dir;
    F.so.bus.endpoint = F.req;
    F.so.bus.heartbeat_ms = HB_MS;
    F.so.no_sync = 1;
    F.so.stop_fd = F.cstop[0];
    F.so.ready_fd = F.cready[1];
    assert_int_equal(pthread_create(&F.cth, NULL, s_consent_main, &F.so), 0);
    F.crunning = 1;
    char c;
    assert_int_equal(read(F.cready[0], &c, 1), 1);
    /* wait until the broker routes to it */
    Espace__V1__Caller op = s_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "");
    Espace__V1__ListAppsRequest req = ESPACE__V1__LIST_APPS_REQUEST__INIT;
    int rc = ES_UNAVAILABLE;
    for (int i = 0; i < 200 && rc == ES_UNAVAILABLE; i++) {
        rc = bus_call(F.cl, CONSENT_SERVICE, "ListApps", &req.base,
                      &espace__v1__list_apps_reply__descriptor, 1000, &op, NULL, NULL);
        if (rc == ES_UNAVAILABLE)
            s_sleep_ms(25);
    }
    assert_int_equal(rc, 0);
}

static void s_consent_stop(void)
{
    if (!F.crunning)
        return;
    assert_int_equal(write(F.cstop[1], "x", 1), 1);
    pthread_join(F.cth, NULL);
    F.crunning = 0;
    close(F.cstop[0]);
    close(F.cstop[1]);
    close(F.cready[0]);
    close(F.cready[1]);
}

static int s_setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    snprintf(F.dir, sizeof F.dir, "/tmp/es_authz_XXXXXX");
    if (!mkdtemp(F.dir))
        return -1;
    snprintf(F.req, sizeof F.req, "ipc://%s/run/bus.ipc", F.dir);
    snprintf(F.pub, sizeof F.pub, "ipc://%s/run/events-in.ipc", F.dir);
    if (pipe(F.bstop) != 0 || pipe(F.bready) != 0)
        return -1;
    F.bo.data_dir = F.dir;
    F.bo.req_ipc = F.req;
    F.bo.pub_ipc = F.pub;
    F.bo.heartbeat_ms = HB_MS;
    F.bo.no_sync = 1;
    F.bo.stop_fd = F.bstop[0];
    F.bo.ready_fd = F.bready[1];
    if (pthread_create(&F.bth, NULL, s_broker_main, &F.bo) != 0)
        return -1;
    char c;
    if (read(F.bready[0], &c, 1) != 1)
        return -1;
    F.ctx = zmq_ctx_new();
    bus_conn_t conn;
    memset(&conn, 0, sizeof conn);
    conn.endpoint = F.req;
    if (bus_client_new(F.ctx, &conn, &F.cl) != 0)
        return -1;
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
    if (F.crunning)
        s_consent_stop();
    if (write(F.bstop[1], "x", 1) != 1)
        return -1;
    pthread_join(F.bth, NULL);
    zmq_ctx_term(F.ctx);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", F.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    return 0;
}

/* Consent not running: the patient is allowed, anyone else denied. */
static void test_without_consent(void **state)
{
    (void)state;
    authz_decision_t d;
    Espace__V1__Caller self = s_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT, PAT);
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
        s_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT, "00000000000000000000000000000000");
    assert_int_equal(authz_check(F.az, &other, PAT, ESPACE__V1__CATEGORY__CATEGORY_AGENDA,
                                 ESPACE__V1__ACTION__ACTION_READ, NULL, &d),
                     ES_UNAVAILABLE);
    assert_false(d.allowed);
    Espace__V1__Caller pro = s_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL, RPPS);
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
    Espace__V1__Caller pro = s_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL, RPPS);
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
    Espace__V1__Caller pat = s_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT, PAT);
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
    Espace__V1__Caller app = s_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_APP, "app.any");
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
    s_consent_stop();
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
