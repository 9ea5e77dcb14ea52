/*
 * test_identity_throttle.c - the log-in throttle of services/identity
 * (limits.c) seen from several sources: professionals' software peers over
 * tcp + CURVE, each a source of its own (identity_fixture.h with
 * idf_tcp_peers). A stranger's guesses from elsewhere neither tell nor lock
 * out: per (account, source) buckets, a slower per-account bucket for the
 * sources the account does not know, and the owner's own device outside it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bus/codec.h"
#include "proto/status.h"
#include "services/identity/identity.h"
#include "test/service/identity_fixture.h"

#define S_STRANGERS 4 /* peers 0..3 guess; peer 4 is the owner's practice */
#define S_OWNER 4

static int s_setup(void **state)
{
    idf_tcp_peers = S_STRANGERS + 1;
    return idf_setup(state);
}

/* A professional account (by the operator). */
static void s_pro(const char *rpps)
{
    bus_reply_t r;
    Espace__V1__CreateProfessionalRequest req = ESPACE__V1__CREATE_PROFESSIONAL_REQUEST__INIT;
    req.rpps = (char *)rpps;
    req.last_name = "Petit";
    req.first_name = "Lou";
    req.profession = "Médecin";
    req.password = IDF_PASSWORD;
    assert_int_equal(
        idf_call(idf->local, "CreateProfessional", &req.base, NULL, idf_operator(), NULL, &r), 0);
}

/* One source's bucket: IDENTITY_LOGIN_SOURCE_BURST failures, then even the
 * right password is refused there, not from another source. */
static void test_per_source(void **state)
{
    (void)state;
    const char *rpps = "10005000001";
    bus_reply_t r;
    s_pro(rpps);
    bus_client_t *a = idf_peer_client(0), *owner = idf_peer_client(S_OWNER);
    for (int i = 0; i < IDENTITY_LOGIN_SOURCE_BURST; i++)
        assert_int_equal(idf_login_via(a, NULL, rpps, "guess guess guess", NULL, NULL, NULL, &r),
                         ES_UNAUTHENTICATED);
    assert_int_equal(idf_login_via(a, NULL, rpps, IDF_PASSWORD, NULL, NULL, NULL, &r),
                     ES_RESOURCE_EXHAUSTED);
    /* from the owner's practice: logs in */
    assert_int_equal(idf_login_via(owner, NULL, rpps, IDF_PASSWORD, NULL, NULL, NULL, &r), 0);
    bus_client_destroy(&a);
    bus_client_destroy(&owner);
}

/* An unknown account gets exactly the answers of a known one, from every
 * source, throttle included. */
static void test_unknown_account_alike(void **state)
{
    (void)state;
    const char *known = "10005000002", *unknown = "10005000003";
    bus_reply_t rk, ru;
    s_pro(known);
    bus_client_t *a = idf_peer_client(1);
    for (int i = 0; i <= IDENTITY_LOGIN_SOURCE_BURST; i++) {
        int ck = idf_login_via(a, NULL, known, "guess guess guess", NULL, NULL, NULL, &rk);
        int cu = idf_login_via(a, NULL, unknown, "guess guess guess", NULL, NULL, NULL, &ru);
        assert_int_equal(ck, cu);
        assert_int_equal(ck, i < IDENTITY_LOGIN_SOURCE_BURST ? ES_UNAUTHENTICATED
                                                             : ES_RESOURCE_EXHAUSTED);
        assert_string_equal(rk.message, ru.message);
        assert_string_equal(rk.field, ru.field);
    }
    bus_client_destroy(&a);
}

/* Strangers on many sources empty the account's bucket of unknown sources:
 * a new source is then refused too (guessing stays slow, whoever guesses),
 * but the owner's own device still logs in. */
static void test_account_bucket_spares_known_device(void **state)
{
    (void)state;
    const char *rpps = "10005000004";
    bus_reply_t r;
    s_pro(rpps);
    bus_client_t *owner = idf_peer_client(S_OWNER);
    Espace__V1__LoginReply *first = NULL;
    assert_int_equal(idf_login_via(owner, NULL, rpps, IDF_PASSWORD, NULL, NULL, &first, &r), 0);
    ProtobufCBinaryData dev = first->device_id;

    int failures = 0;
    for (int s = 0; s < S_STRANGERS; s++) {
        bus_client_t *c = idf_peer_client(s);
        for (int i = 0; i < IDENTITY_LOGIN_SOURCE_BURST; i++) {
            int rc = idf_login_via(c, NULL, rpps, "guess guess guess", NULL, NULL, NULL, &r);
            if (rc == ES_UNAUTHENTICATED)
                failures++;
            else
                assert_int_equal(rc, ES_RESOURCE_EXHAUSTED);
        }
        bus_client_destroy(&c);
    }
    assert_int_equal(failures, IDENTITY_LOGIN_ACCOUNT_BURST);
    /* the owner's practice without its device: an unknown source, refused */
    assert_int_equal(idf_login_via(owner, NULL, rpps, IDF_PASSWORD, NULL, NULL, NULL, &r),
                     ES_RESOURCE_EXHAUSTED);
    /* with its device: logs in */
    Espace__V1__LoginReply *again = NULL;
    assert_int_equal(idf_login_via(owner, NULL, rpps, IDF_PASSWORD, &dev, NULL, &again, &r), 0);
    assert_memory_equal(again->device_id.data, dev.data, 16);
    codec_free(&again->base);
    codec_free(&first->base);
    bus_client_destroy(&owner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_source),
        cmocka_unit_test(test_unknown_account_alike),
        cmocka_unit_test(test_account_bucket_spares_known_device),
    };
    return cmocka_run_group_tests(tests, s_setup, idf_teardown);
}
