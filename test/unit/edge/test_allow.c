/*
 * test_allow.c - the edge's allow-list (services/edge/allow.c): the table
 * matches the schema, each kind of caller reaches only its own methods, and
 * everything else is PERMISSION_DENIED.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proto/names.h"
#include "proto/status.h"
#include "services/edge/edge_int.h"

#define ANON EDGE_WHO_ANONYMOUS
#define PATIENT EDGE_WHO_PATIENT

static void test_table_matches_schema(void **state)
{
    (void)state;
    const edge_allow_t *bad = NULL;
    assert_int_equal(edge_allow_verify(&bad), 0);
    assert_null(bad);
    size_t n = 0;
    const edge_allow_t *t = edge_allow_table(&n);
    assert_true(n >= 20);
    for (size_t i = 0; i < n; i++) {
        /* every entry is reachable by who it names, and only them */
        assert_int_equal(edge_allow_check(t[i].service, t[i].method, t[i].who & ANON ? ANON : PATIENT,
                                          NULL), 0);
        /* only sign-up and activation are unauthenticated: whatever is
         * callable before log-in counts in the unauthenticated buckets */
        if (t[i].who & ANON)
            assert_true(t[i].flags & EDGE_ALLOW_UNAUTH);
    }
}

static void test_before_login(void **state)
{
    (void)state;
    const edge_allow_t *a = NULL;
    assert_int_equal(edge_allow_check(SERVICE_IDENTITY, "SignUpPatient", ANON, &a), 0);
    assert_non_null(a);
    assert_true(a->flags & EDGE_ALLOW_UNAUTH);
    assert_int_equal(edge_allow_check(SERVICE_IDENTITY, "ActivateAccount", ANON, NULL), 0);
    /* a patient's method: log in first */
    assert_int_equal(edge_allow_check(SERVICE_IDENTITY, "WhoAmI", ANON, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(edge_allow_check(SERVICE_CONSENT, "ListGrants", ANON, NULL),
                     ES_UNAUTHENTICATED);
    /* log-in is the edge's own ClientMessage.login, never a call */
    assert_int_equal(edge_allow_check(SERVICE_IDENTITY, "Login", ANON, NULL), ES_PERMISSION_DENIED);
    assert_int_equal(edge_allow_check(SERVICE_IDENTITY, "Authenticate", ANON, NULL),
                     ES_PERMISSION_DENIED);
}

static void test_patient(void **state)
{
    (void)state;
    static const char *const ok[][2] = {
        {SERVICE_IDENTITY, "WhoAmI"},       {SERVICE_IDENTITY, "RevokeSession"},
        {SERVICE_CONSENT, "AnswerRequest"}, {SERVICE_CONSENT, "RevokeGrant"},
        {SERVICE_AGENDA, "ListChanges"},    {SERVICE_MESSAGING, "Send"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(edge_allow_check(ok[i][0], ok[i][1], PATIENT, NULL), 0);
    /* the operator's, the professionals', the services' methods */
    static const char *const denied[][2] = {
        {SERVICE_IDENTITY, "Login"},              /* a pro's RPPS through a patient's socket */
        {SERVICE_IDENTITY, "CreateProfessional"}, {SERVICE_IDENTITY, "IssueActivationCode"},
        {SERVICE_IDENTITY, "ResolvePatient"},     {SERVICE_IDENTITY, "Authenticate"},
        {SERVICE_IDENTITY, "SignUpPatient"},      /* not once logged in */
        {SERVICE_CONSENT, "Decide"},              {SERVICE_CONSENT, "Grant"},
        {SERVICE_CONSENT, "RequestAccess"},       {SERVICE_CONSENT, "DeclareEmergency"},
        {SERVICE_CONSENT, "AddApp"},              {SERVICE_AGENDA, "Delete"},
        {SERVICE_AGENDA, "Upsert"},               {SERVICE_MESSAGING, "CloseConversation"},
        {"dmp", "Get"},                           {"broker", "Subscribe"},
        {"identity ", "WhoAmI"},                  {SERVICE_IDENTITY, "whoami"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
        assert_int_equal(edge_allow_check(denied[i][0], denied[i][1], PATIENT, NULL),
                         ES_PERMISSION_DENIED);
    assert_int_equal(edge_allow_check(SERVICE_CONSENT, "Decide", ANON, NULL), ES_PERMISSION_DENIED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_schema),
        cmocka_unit_test(test_before_login),
        cmocka_unit_test(test_patient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
