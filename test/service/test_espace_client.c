/* test_espace_client.c - libespace (clients/lib/espace.h): argument checks,
 * keypair handling, "no answer" errors, and a real login/whoami/logout
 * against a broker and the identity service running in threads (ipc). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "test/harness/harness.h"
#include "bus/codec.h"
#include "clients/lib/espace.h"
#include "services/identity/identity.h"
#include "espace/v1/identity.pb-c.h"
#include "runtime/service.h"
#include "proto/status.h"

static char s_dir[64];

static int s_setup(void **state)
{
    (void)state;
    return h_mkdtemp(s_dir, "es-client-");
}

static int s_teardown(void **state)
{
    (void)state;
    return h_rmtree(s_dir);
}

static void test_open_bad_args(void **state)
{
    (void)state;
    espace_t *e = (espace_t *)1;
    assert_int_equal(espace_open(NULL, &e), ES_INVALID_ARGUMENT);
    espace_opts_t o = {.endpoint = "http://x"};
    assert_int_equal(espace_open(&o, &e), ES_INVALID_ARGUMENT);
    assert_null(e);
    o.endpoint = "tcp://127.0.0.1:1";
    assert_int_equal(espace_open(&o, &e), ES_INVALID_ARGUMENT); /* no key */
    o.broker_key = "not-a-key";
    o.keypair_path = "/nonexistent/k";
    assert_int_equal(espace_open(&o, &e), ES_INVALID_ARGUMENT);
    assert_null(e);
    espace_close(&e); /* NULL: no-op */
    espace_close(NULL);
}

static void test_keypair(void **state)
{
    (void)state;
    uint8_t pk[32], sk[32];
    char bkey[BUS_KEY_Z85], path[128], pub[140];
    struct stat st;
    snprintf(path, sizeof path, "%s/broker.key", s_dir);
    assert_int_equal(bus_keypair_load(path, 1, pk, sk), 0);
    bus_key_z85(pk, bkey);
    snprintf(path, sizeof path, "%s/pro.key", s_dir);
    espace_opts_t o = {.endpoint = "tcp://127.0.0.1:1", .broker_key = bkey, .keypair_path = path};
    espace_t *e = NULL;
    assert_int_equal(espace_open(&o, &e), ES_NOT_FOUND);
    assert_null(e);
    o.create_keypair = 1;
    assert_int_equal(espace_open(&o, &e), 0);
    assert_non_null(e);
    assert_string_equal(espace_endpoint(e), "tcp://127.0.0.1:1");
    espace_close(&e);
    assert_null(e);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(pub, sizeof pub, "%s.pub", path);
    assert_int_equal(access(pub, F_OK), 0);
    o.create_keypair = 0; /* now it exists */
    assert_int_equal(espace_open(&o, &e), 0);
    espace_close(&e);
}

/* Nothing listens: every call ends UNAVAILABLE within about the timeout. */
static void test_no_answer(void **state)
{
    (void)state;
    char ep[128];
    snprintf(ep, sizeof ep, "ipc://%s/nobody.ipc", s_dir);
    espace_opts_t o = {.endpoint = ep, .timeout_ms = 300};
    espace_t *e = NULL;
    espace_error_t err;
    espace_whoami_t w;
    espace_session_t s;
    assert_int_equal(espace_open(&o, &e), 0);
    int64_t t0 = bus_mono_ms();
    assert_int_equal(espace_whoami(e, &w, &err), ES_UNAVAILABLE);
    assert_int_equal(err.status, ES_UNAVAILABLE);
    assert_non_null(strstr(err.message, "no answer from ipc://"));
    assert_true(bus_mono_ms() - t0 < 3000);
    assert_int_equal(espace_resume(e, "abc", &err), ES_UNAVAILABLE);
    assert_int_equal(espace_resume(e, "", &err), ES_INVALID_ARGUMENT);
    assert_string_equal(err.field, "token");
    assert_int_equal(espace_login_pro(e, "10001234567", "x", NULL, &s, &err), ES_UNAVAILABLE);
    assert_int_equal(espace_login_pro(e, NULL, "x", NULL, &s, &err), ES_INVALID_ARGUMENT);
    ProtobufCMessage *m = (ProtobufCMessage *)1;
    assert_int_equal(espace_call(e, "identity", "WhoAmI", NULL, NULL, &m, &err),
                     ES_INVALID_ARGUMENT);
    assert_null(m);
    espace_close(&e);

    /* tcp: a port nobody listens on */
    uint8_t pk[32], sk[32];
    char bkey[BUS_KEY_Z85], path[128];
    snprintf(path, sizeof path, "%s/b2.key", s_dir);
    assert_int_equal(bus_keypair_load(path, 1, pk, sk), 0);
    bus_key_z85(pk, bkey);
    snprintf(path, sizeof path, "%s/p2.key", s_dir);
    espace_opts_t t = {.endpoint = "tcp://127.0.0.1:9", .broker_key = bkey,
                       .keypair_path = path, .create_keypair = 1, .timeout_ms = 300};
    assert_int_equal(espace_open(&t, &e), 0);
    assert_int_equal(espace_whoami(e, &w, &err), ES_UNAVAILABLE);
    assert_non_null(strstr(err.message, "is the key registered?"));
    espace_close(&e);
}

/* ---- against a real broker + identity (ipc) ---- */

static void s_create_pro(harness_t *h, const char *rpps, const char *pw)
{
    bus_client_t *c = NULL;
    assert_int_equal(h_client(h, &c), 0);
    Espace__V1__Caller op = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "operator");
    Espace__V1__CreateProfessionalRequest req = ESPACE__V1__CREATE_PROFESSIONAL_REQUEST__INIT;
    req.rpps = (char *)rpps;
    req.last_name = (char *)"Martin";
    req.first_name = (char *)"Claire";
    req.profession = (char *)"Infirmière";
    req.password = (char *)pw;
    ProtobufCMessage *r = NULL;
    bus_reply_t br;
    memset(&br, 0, sizeof br);
    /* the worker's READY may still be on its way to the broker */
    int rc = h_call_served(c, "identity", "CreateProfessional", &req.base,
                           &espace__v1__create_professional_reply__descriptor, 5000, &op, &r,
                           &br);
    if (rc)
        fprintf(stderr, "create-pro: %s %s %s\n", es_status_name(rc), br.message, br.field);
    assert_int_equal(rc, 0);
    codec_free(r);
    bus_client_destroy(&c);
}

static void test_login_flow(void **state)
{
    (void)state;
    setenv("ESPACE_PWHASH", "min", 1);
    harness_t h;
    h_svc_t s;
    assert_int_equal(h_setup(&h, 0), 0);
    h.hb = 200;
    assert_int_equal(h_broker_start(&h), 0);
    assert_int_equal(h_svc_start(&h, &s, &identity_service), 0);

    const char *pw = "correct horse battery staple";
    s_create_pro(&h, "10001234567", pw);

    espace_opts_t o = {.endpoint = h.req_ipc, .timeout_ms = 3000};
    espace_t *e = NULL;
    espace_error_t err;
    espace_session_t ses;
    espace_whoami_t w;
    assert_int_equal(espace_open(&o, &e), 0);
    /* no session yet */
    assert_int_equal(espace_whoami(e, &w, &err), ES_UNAUTHENTICATED);
    assert_int_equal(err.status, ES_UNAUTHENTICATED);
    /* wrong password */
    assert_int_equal(espace_login_pro(e, "10001234567", "wrong password here", "pc", &ses, &err),
                     ES_UNAUTHENTICATED);
    /* bad token */
    assert_int_equal(espace_resume(e, "AAAA", &err), ES_UNAUTHENTICATED);
    /* unknown method, generic call */
    ProtobufCMessage *m = NULL;
    assert_int_equal(espace_call(e, "identity", "NoSuchMethod", NULL,
                                 &espace__v1__logout_reply__descriptor, &m, &err),
                     ES_UNIMPLEMENTED);
    assert_null(m);
    /* no such service */
    assert_int_equal(espace_call(e, "nosuch", "X", NULL, &espace__v1__logout_reply__descriptor,
                                 &m, &err),
                     ES_UNAVAILABLE);
    /* login */
    assert_int_equal(espace_login_pro(e, "10001234567", pw, "pc", &ses, &err), 0);
    assert_string_equal(ses.principal, "10001234567");
    assert_true(ses.expires_ms > bus_wall_ms());
    assert_true(strlen(ses.token) > 40);
    assert_int_equal(espace_whoami(e, &w, &err), 0);
    assert_string_equal(w.principal, "10001234567");
    assert_int_equal(w.kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL);
    assert_string_equal(w.display_name, "Claire Martin");
    assert_string_equal(w.profession, "Infirmière");
    espace_close(&e);

    /* resume on a new connection, then logout */
    assert_int_equal(espace_open(&o, &e), 0);
    assert_int_equal(espace_resume(e, ses.token, &err), 0);
    assert_int_equal(espace_whoami(e, &w, &err), 0);
    assert_int_equal(espace_logout(e, &err), 0);
    espace_close(&e);
    /* the token is dead */
    assert_int_equal(espace_open(&o, &e), 0);
    assert_int_equal(espace_resume(e, ses.token, &err), ES_UNAUTHENTICATED);
    espace_close(&e);

    assert_int_equal(h_svc_stop(&s), 0);
    assert_int_equal(h_teardown(&h), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_bad_args),
        cmocka_unit_test(test_keypair),
        cmocka_unit_test(test_no_answer),
        cmocka_unit_test(test_login_flow),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
