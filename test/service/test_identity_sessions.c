/*
 * test_identity_sessions.c - services/identity/sessions.c on a live bus
 * (identity_fixture.h): Login and its token, Authenticate, WhoAmI,
 * ListSessions, RevokeSession and Logout with their revocation events,
 * failed logins and their throttle, the cap of sessions per
 * device, and the session check of every non-public method.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "bus/codec.h"
#include "proto/status.h"
#include "services/identity/identity.h"
#include "services/identity/identity_int.h"
#include "test/service/identity_fixture.h"

/* ListSessions on session client c (it must succeed); caller frees. */
static Espace__V1__ListSessionsReply *s_list_sessions(bus_client_t *c, bus_reply_t *r)
{
    Espace__V1__ListSessionsRequest req = ESPACE__V1__LIST_SESSIONS_REQUEST__INIT;
    Espace__V1__ListSessionsReply *rep = NULL;
    assert_int_equal(idf_call(c, "ListSessions", &req.base,
                              &espace__v1__list_sessions_reply__descriptor, NULL,
                              (ProtobufCMessage **)&rep, r),
                     0);
    return rep;
}

static void test_login_and_authenticate(void **state)
{
    (void)state;
    char ins[16], pid[33], lower[40];
    bus_reply_t r;
    idf_new_ins(ins);
    assert_int_equal(idf_sign_up(ins, pid, &r), 0);

    Espace__V1__LoginReply *rep = NULL;
    snprintf(lower, sizeof lower, " %s ", ins);
    assert_int_equal(idf_login(lower, NULL, IDF_PASSWORD, NULL, NULL, &rep, &r), 0);
    assert_int_equal(rep->session_id.len, 16);
    assert_int_equal(rep->device_id.len, 16);
    assert_non_null(rep->caller);
    assert_int_equal(rep->caller->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    assert_string_equal(rep->caller->principal, pid);
    assert_true(rep->expires_ms > bus_wall_ms() + IDENTITY_SESSION_MS - 60000);
    assert_true(rep->caller->session_expires_ms == rep->expires_ms);

    /* the token verifies with the published key and says the same */
    token_fields_t tf;
    assert_int_equal(token_verify(idf->token_pk, rep->token, bus_wall_ms(), &tf), 0);
    assert_int_equal(tf.kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    assert_string_equal(tf.principal, pid);
    assert_memory_equal(tf.session_id, rep->session_id.data, 16);
    assert_memory_equal(tf.device_id, rep->device_id.data, 16);
    assert_true(tf.expires_ms == rep->expires_ms);

    /* Authenticate, directly */
    Espace__V1__AuthenticateReply *arep = NULL;
    assert_int_equal(idf_authenticate(rep->token, &arep), 0);
    assert_non_null(arep->caller);
    assert_string_equal(arep->caller->principal, pid);
    assert_memory_equal(arep->caller->session_id.data, rep->session_id.data, 16);
    assert_memory_equal(arep->caller->device_id.data, rep->device_id.data, 16);
    assert_true(arep->caller->session_expires_ms == rep->expires_ms);
    codec_free(&arep->base);

    /* a tampered token and garbage are refused */
    char bad[TOKEN_MAX_TEXT];
    snprintf(bad, sizeof bad, "%s", rep->token);
    bad[20] = bad[20] == 'A' ? 'B' : 'A';
    assert_int_equal(idf_authenticate(bad, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(idf_authenticate("garbage", NULL), ES_UNAUTHENTICATED);
    assert_int_equal(idf_authenticate("", NULL), ES_UNAUTHENTICATED);

    /* WhoAmI through a connection bound with AUTH */
    bus_client_t *c = idf_session_client(rep->token);
    Espace__V1__WhoAmIRequest wreq = ESPACE__V1__WHO_AM_IREQUEST__INIT;
    Espace__V1__WhoAmIReply *wrep = NULL;
    assert_int_equal(idf_call(c, "WhoAmI", &wreq.base, &espace__v1__who_am_ireply__descriptor, NULL,
                              (ProtobufCMessage **)&wrep, &r),
                     0);
    assert_string_equal(wrep->display_name, "Marie Dupont");
    assert_string_equal(wrep->caller->principal, pid);
    assert_memory_equal(wrep->caller->session_id.data, rep->session_id.data, 16);
    codec_free(&wrep->base);

    /* a second login reusing the device: same device, a new session */
    Espace__V1__LoginReply *rep2 = NULL;
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, &rep->device_id, NULL, &rep2, &r), 0);
    assert_memory_equal(rep2->device_id.data, rep->device_id.data, 16);
    assert_memory_not_equal(rep2->session_id.data, rep->session_id.data, 16);

    /* ListSessions: both, the first one current */
    Espace__V1__ListSessionsReply *lrep = s_list_sessions(c, &r);
    assert_int_equal(lrep->n_sessions, 2);
    int current = 0;
    for (size_t i = 0; i < lrep->n_sessions; i++) {
        if (lrep->sessions[i]->current) {
            current++;
            assert_memory_equal(lrep->sessions[i]->session_id.data, rep->session_id.data, 16);
        }
        assert_memory_equal(lrep->sessions[i]->device_id.data, rep->device_id.data, 16);
    }
    assert_int_equal(current, 1);
    codec_free(&lrep->base);

    /* RevokeSession of the second one: its token is refused afterwards and
     * the revocation is published */
    bus_sub_t *sub = idf_subscriber();
    Espace__V1__RevokeSessionRequest rreq = ESPACE__V1__REVOKE_SESSION_REQUEST__INIT;
    rreq.session_id = rep2->session_id;
    assert_int_equal(idf_call(c, "RevokeSession", &rreq.base, NULL, NULL, NULL, &r), 0);
    assert_int_equal(idf_wait_revoked(sub, rep2->session_id.data), 0);
    assert_int_equal(idf_authenticate(rep2->token, NULL), ES_UNAUTHENTICATED);
    bus_client_t *c2 = NULL;
    assert_int_equal(h_client(&idf->h, &c2), 0);
    assert_int_equal(bus_client_auth(c2, rep2->token, IDF_T_MS, NULL, &r), ES_UNAUTHENTICATED);
    bus_client_destroy(&c2);
    /* revoking it again is harmless; an unknown id is NOT_FOUND */
    assert_int_equal(idf_call(c, "RevokeSession", &rreq.base, NULL, NULL, NULL, &r), 0);
    uint8_t rnd[16];
    randombytes_buf(rnd, sizeof rnd);
    rreq.session_id.data = rnd;
    assert_int_equal(idf_call(c, "RevokeSession", &rreq.base, NULL, NULL, NULL, &r), ES_NOT_FOUND);
    rreq.session_id.len = 3;
    assert_int_equal(idf_call(c, "RevokeSession", &rreq.base, NULL, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "session_id");

    /* a caller stamped with the revoked session (as a gateway could) is
     * refused by the service's own check */
    Espace__V1__Caller stamped = ESPACE__V1__CALLER__INIT;
    stamped.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
    stamped.principal = pid;
    stamped.session_id = rep2->session_id;
    stamped.device_id = rep2->device_id;
    stamped.peer_role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
    assert_int_equal(idf_call(idf->local, "WhoAmI", &wreq.base, NULL, &stamped, NULL, &r),
                     ES_UNAUTHENTICATED);
    /* ... and with the live session but another principal too */
    stamped.session_id = rep->session_id;
    stamped.principal = "00000000000000000000000000000000";
    assert_int_equal(idf_call(idf->local, "WhoAmI", &wreq.base, NULL, &stamped, NULL, &r),
                     ES_UNAUTHENTICATED);
    stamped.principal = pid;
    assert_int_equal(idf_call(idf->local, "WhoAmI", &wreq.base, NULL, &stamped, NULL, &r), 0);

    /* Logout: event, then the token is dead */
    Espace__V1__LogoutRequest oreq = ESPACE__V1__LOGOUT_REQUEST__INIT;
    assert_int_equal(idf_call(c, "Logout", &oreq.base, NULL, NULL, NULL, &r), 0);
    assert_int_equal(idf_wait_revoked(sub, rep->session_id.data), 0);
    assert_int_equal(idf_authenticate(rep->token, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(idf_call(idf->local, "WhoAmI", &wreq.base, NULL, &stamped, NULL, &r),
                     ES_UNAUTHENTICATED);

    bus_sub_destroy(&sub);
    bus_client_destroy(&c);
    codec_free(&rep2->base);
    codec_free(&rep->base);
}

/* Failed logins: an unknown account and a wrong password answer the same;
 * past IDENTITY_LOGIN_SOURCE_BURST failures from one source the answer is
 * RESOURCE_EXHAUSTED for both, without a password check (the right one
 * too), and never a lock-out: other accounts, and the owner's own device,
 * still log in. (Sources seen from other peers: test_identity_throttle.c.) */
static void test_login_failures_throttled(void **state)
{
    (void)state;
    char ins[16], other[16];
    bus_reply_t r, r2;
    Espace__V1__LoginReply *ok = NULL;
    idf_new_ins(ins);
    idf_new_ins(other); /* never signed up */
    assert_int_equal(idf_sign_up(ins, NULL, &r), 0);
    /* a device of the owner, from an earlier login */
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, NULL, &ok, &r), 0);
    ProtobufCBinaryData dev = ok->device_id;

    /* malformed identifiers are INVALID_ARGUMENT with the field */
    assert_int_equal(idf_login("123", NULL, IDF_PASSWORD, NULL, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "ins");
    assert_int_equal(idf_login(NULL, "123", IDF_PASSWORD, NULL, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "rpps");

    /* unknown account and wrong password: the same answers, attempt by attempt */
    for (int i = 0; i < IDENTITY_LOGIN_SOURCE_BURST; i++) {
        assert_int_equal(idf_login(other, NULL, IDF_PASSWORD, NULL, NULL, NULL, &r),
                         ES_UNAUTHENTICATED);
        assert_int_equal(idf_login(ins, NULL, "wrong password!", NULL, NULL, NULL, &r2),
                         ES_UNAUTHENTICATED);
        assert_string_equal(r.message, "invalid credentials");
        assert_string_equal(r.message, r2.message);
        assert_string_equal(r.field, r2.field);
    }
    /* then both are throttled alike; the right password is not even checked */
    assert_int_equal(idf_login(other, NULL, IDF_PASSWORD, NULL, NULL, NULL, &r),
                     ES_RESOURCE_EXHAUSTED);
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, NULL, NULL, &r2),
                     ES_RESOURCE_EXHAUSTED);
    assert_string_equal(r.message, r2.message);
    assert_non_null(strstr(r.message, "too many attempts; retry in"));
    /* the throttle is per account */
    char ins3[16];
    idf_new_ins(ins3);
    assert_int_equal(idf_sign_up(ins3, NULL, &r), 0);
    assert_int_equal(idf_login(ins3, NULL, IDF_PASSWORD, NULL, NULL, NULL, &r), 0);
    /* and the owner's own device is its own source: not locked out */
    Espace__V1__LoginReply *again = NULL;
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, &dev, NULL, &again, &r), 0);
    assert_memory_equal(again->device_id.data, dev.data, 16);
    codec_free(&again->base);
    /* on that device a success refills its bucket: 4 failures, a success, 4
     * more failures, and the right password still logs in */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < IDENTITY_LOGIN_SOURCE_BURST - 1; i++)
            assert_int_equal(idf_login(ins, NULL, "wrong password!", &dev, NULL, NULL, &r),
                             ES_UNAUTHENTICATED);
        assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, &dev, NULL, NULL, &r), 0);
    }
    codec_free(&ok->base);
}

/* Logins on one device keep at most IDENTITY_MAX_DEVICE_SESSIONS live
 * sessions: the oldest is revoked (and announced). */
static void test_sessions_per_device_capped(void **state)
{
    (void)state;
    bus_reply_t r;
    char ins[16];
    idf_new_ins(ins);
    assert_int_equal(idf_sign_up(ins, NULL, &r), 0);
    Espace__V1__LoginReply *first = NULL, *last = NULL;
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, NULL, &first, &r), 0);
    struct timespec ts = {0, 5 * 1000 * 1000}; /* strictly the oldest */
    nanosleep(&ts, NULL);
    for (int i = 1; i < IDENTITY_MAX_DEVICE_SESSIONS; i++) {
        codec_free((ProtobufCMessage *)last);
        assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, &first->device_id, NULL, &last, &r), 0);
    }
    assert_int_equal(idf_authenticate(first->token, NULL), 0);
    codec_free((ProtobufCMessage *)last);
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, &first->device_id, NULL, &last, &r), 0);
    assert_int_equal(idf_authenticate(first->token, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(idf_authenticate(last->token, NULL), 0);
    bus_client_t *c = idf_session_client(last->token);
    Espace__V1__ListSessionsReply *lrep = s_list_sessions(c, &r);
    assert_int_equal(lrep->n_sessions, IDENTITY_MAX_DEVICE_SESSIONS);
    codec_free(&lrep->base);
    bus_client_destroy(&c);
    codec_free(&first->base);
    codec_free(&last->base);
}

static void test_methods_need_a_session(void **state)
{
    (void)state;
    bus_reply_t r;
    Espace__V1__WhoAmIRequest wreq = ESPACE__V1__WHO_AM_IREQUEST__INIT;
    const char *methods[] = {
        "WhoAmI",      "Logout",      "ListSessions", "RevokeSession", "RegisterDeviceKeys",
        "ListDevices", "RevokeDevice"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        /* anonymous */
        assert_int_equal(idf_call(idf->local, methods[i], &wreq.base, NULL, NULL, NULL, &r),
                         ES_UNAUTHENTICATED);
        /* the operator has no session */
        assert_int_equal(
            idf_call(idf->local, methods[i], &wreq.base, NULL, idf_operator(), NULL, &r),
            ES_UNAUTHENTICATED);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_and_authenticate),
        cmocka_unit_test(test_login_failures_throttled),
        cmocka_unit_test(test_sessions_per_device_capped),
        cmocka_unit_test(test_methods_need_a_session),
    };
    return cmocka_run_group_tests(tests, idf_setup, idf_teardown);
}
