/*
 * test_access.c - runtime/access.c: the guards of a service definition are
 * checked (svc_def_check): each names a method of the table, once, with a
 * request type, a category, an action, and paths to string fields; the
 * holders name a guarded method, once, with a hook. Guarded
 * requests through consent are the scenarios of test_authz.c and
 * test/service/test_agenda_access.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "espace/v1/agenda.pb-c.h"
#include "proto/status.h"
#include "test/unit/runtime/counter_fixture.h"

/* Guards are checked: each names a method of the table, once, with a
 * request type, a category, an action, and paths to string fields. */
static void test_guard_check(void **state)
{
    (void)state;
    char why[256];
    const ProtobufCServiceDescriptor *api = &espace__v1__agenda__descriptor;
    svc_method_t m[32];
    size_t n = cnt_methods_of(api, m);
    svc_def_t d = cnt_service;
    d.methods = m;
    d.n_methods = n;
    d.api = api;
    svc_guard_t g[2] = {
        {"Get", ESPACE__V1__CATEGORY__CATEGORY_AGENDA, ESPACE__V1__ACTION__ACTION_READ,
         "patient_id", NULL},
        {"Create", ESPACE__V1__CATEGORY__CATEGORY_AGENDA, ESPACE__V1__ACTION__ACTION_WRITE,
         "event.patient_id", "event.title"},
    };
    d.guards = g;
    d.n_guards = 2;
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_OK);
    const char *bad[] = {"event.nope", "event", "patient_id.x", "", "event..title"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        g[1].patient_field = bad[i];
        assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
        assert_non_null(strstr(why, "not a string"));
    }
    g[1].patient_field = "patient_id";
    g[1].detail_field = "event.participants"; /* repeated */
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
    g[1].detail_field = NULL;
    g[1].method = "Get";
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
    assert_non_null(strstr(why, "two guards"));
    g[1].method = "Nope";
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
    assert_non_null(strstr(why, "names no method"));
    g[1].method = "Create";
    g[1].action = ESPACE__V1__ACTION__ACTION_UNSPECIFIED;
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
    assert_non_null(strstr(why, "category and an action"));
    g[1].action = ESPACE__V1__ACTION__ACTION_WRITE;
    d.api = NULL;        /* guards are checked without an api too */
    m[0].request = NULL; /* a guarded method needs a request type */
    g[1].method = m[0].name;
    g[1].patient_field = "patient_id";
    if (strcmp(m[0].name, "Get") != 0) {
        assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
        assert_non_null(strstr(why, "no request type"));
    }
    m[0].request = api->methods[0].input;
    d.guards = NULL;
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
}

static int s_hook(const ProtobufCMessage *req, Espace__V1__PrincipalKind *kind, char *principal,
                  size_t n, const char **field, const char **why)
{
    (void)req, (void)kind, (void)principal, (void)n, (void)field, (void)why;
    return 0;
}

/* Holders are checked: each names a guarded method, once, with a hook. */
static void test_holder_check(void **state)
{
    (void)state;
    char why[256];
    const ProtobufCServiceDescriptor *api = &espace__v1__agenda__descriptor;
    svc_method_t m[32];
    size_t n = cnt_methods_of(api, m);
    svc_def_t d = cnt_service;
    d.methods = m;
    d.n_methods = n;
    d.api = api;
    svc_guard_t g[1] = {{"Get", ESPACE__V1__CATEGORY__CATEGORY_AGENDA,
                         ESPACE__V1__ACTION__ACTION_READ, "patient_id", NULL}};
    d.guards = g;
    d.n_guards = 1;
    svc_holder_t h[2] = {{"Get", s_hook}, {"Get", s_hook}};
    d.holders = h;
    d.n_holders = 1;
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_OK);
    d.n_holders = 2; /* twice */
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
    assert_non_null(strstr(why, "holder of Get"));
    d.n_holders = 1;
    h[0].method = "Create"; /* a method without a guard */
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
    h[0].method = "Get";
    h[0].fn = NULL;
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
    d.holders = NULL;
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guard_check),
        cmocka_unit_test(test_holder_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
