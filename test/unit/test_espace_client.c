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
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "broker.h"
#include "bus.h"
#include "codec.h"
#include "espace.h"
#include "identity.h"
#include "identity.pb-c.h"
#include "service.h"
#include "status.h"

static char s_dir[64];

static int s_setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/es-client-XXXXXX");
    return mkdtemp(s_dir) ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
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

typedef struct part {
    pthread_t th;
    int rc;
    int ready[2];
    broker_opts_t b;
    svc_opts_t s;
} part_t;

static void *s_broker(void *arg)
{
    part_t *p = arg;
    p->rc = broker_run(&p->b);
    return NULL;
}

static void *s_identity(void *arg)
{
    part_t *p = arg;
    p->rc = svc_run(&identity_service, &p->s);
    return NULL;
}

static void s_wait_ready(int fd)
{
    struct timeval tv = {10, 0};
    fd_set set;
    FD_ZERO(&set);
    FD_SET(fd, &set);
    assert_int_equal(select(fd + 1, &set, NULL, NULL, &tv), 1);
    char b;
    assert_int_equal(read(fd, &b, 1), 1);
}

static void s_create_pro(const char *ep, const char *rpps, const char *pw)
{
    void *zctx = zmq_ctx_new();
    bus_client_t *c = NULL;
    bus_conn_t conn = {.endpoint = ep};
    assert_int_equal(bus_client_new(zctx, &conn, &c), 0);
    Espace__V1__Caller op = ESPACE__V1__CALLER__INIT;
    op.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR;
    op.principal = (char *)"operator";
    Espace__V1__CreateProfessionalRequest req = ESPACE__V1__CREATE_PROFESSIONAL_REQUEST__INIT;
    req.rpps = (char *)rpps;
    req.last_name = (char *)"Martin";
    req.first_name = (char *)"Claire";
    req.profession = (char *)"Infirmière";
    req.password = (char *)pw;
    ProtobufCMessage *r = NULL;
    bus_reply_t br;
    int rc;
    /* the worker's READY may still be on its way to the broker */
    for (int i = 0; i < 100; i++) {
        rc = bus_call(c, "identity", "CreateProfessional", &req.base,
                      &espace__v1__create_professional_reply__descriptor, 5000, &op, &r, &br);
        if (rc != ES_UNAVAILABLE)
            break;
        poll(NULL, 0, 20);
    }
    if (rc)
        fprintf(stderr, "create-pro: %s %s %s\n", es_status_name(rc), br.message, br.field);
    assert_int_equal(rc, 0);
    codec_free(r);
    bus_client_destroy(&c);
    zmq_ctx_term(zctx);
}

static void test_login_flow(void **state)
{
    (void)state;
    setenv("ESPACE_PWHASH", "min", 1);
    char run[96], req[128], pub[128], sub[128];
    int stop[2];
    assert_int_equal(pipe(stop), 0);
    snprintf(run, sizeof run, "%s/run", s_dir);
    assert_int_equal(mkdir(run, 0700), 0);
    snprintf(req, sizeof req, "ipc://%s/bus.ipc", run);
    snprintf(pub, sizeof pub, "ipc://%s/in.ipc", run);
    snprintf(sub, sizeof sub, "ipc://%s/out.ipc", run);
    part_t b, s;
    memset(&b, 0, sizeof b);
    memset(&s, 0, sizeof s);
    assert_int_equal(pipe(b.ready), 0);
    assert_int_equal(pipe(s.ready), 0);
    b.b = (broker_opts_t){.data_dir = s_dir, .req_ipc = req, .pub_ipc = pub, .sub_ipc = sub,
                          .heartbeat_ms = 200, .stop_fd = stop[0], .ready_fd = b.ready[1],
                          .no_sync = 1};
    assert_int_equal(pthread_create(&b.th, NULL, s_broker, &b), 0);
    s_wait_ready(b.ready[0]);
    s.s.data_dir = s_dir;
    s.s.bus.endpoint = req;
    s.s.bus.heartbeat_ms = 200;
    s.s.pub.endpoint = pub;
    s.s.stop_fd = stop[0];
    s.s.ready_fd = s.ready[1];
    s.s.no_sync = 1;
    assert_int_equal(pthread_create(&s.th, NULL, s_identity, &s), 0);
    s_wait_ready(s.ready[0]);

    const char *pw = "correct horse battery staple";
    s_create_pro(req, "10001234567", pw);

    espace_opts_t o = {.endpoint = req, .timeout_ms = 3000};
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

    assert_int_equal(write(stop[1], "x", 1), 1);
    pthread_join(s.th, NULL);
    pthread_join(b.th, NULL);
    assert_int_equal(s.rc, 0);
    assert_int_equal(b.rc, 0);
    close(stop[0]);
    close(stop[1]);
    close(b.ready[0]);
    close(b.ready[1]);
    close(s.ready[0]);
    close(s.ready[1]);
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
