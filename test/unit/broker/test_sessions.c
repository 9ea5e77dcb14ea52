/*
 * test_sessions.c - caller stamping and sessions (broker/session.c): the
 * caller stamped over ipc and tcp (CURVE + ZAP), AUTH and revocation, and
 * the session check going to the service the options name (or nowhere).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>

#include "test/harness/harness.h"
#include "bus/codec.h"
#include "bus/frames.h"

/* The Caller the worker saw ("who"). */
static int s_who(bus_client_t *c, const Espace__V1__Caller *send_caller,
                 Espace__V1__Caller **out)
{
    bus_reply_t r;
    int rc = bus_call(c, "echo", "who", NULL, &espace__v1__caller__descriptor, 2000,
                      send_caller, (ProtobufCMessage **)out, &r);
    return rc;
}

/* The peers: registered pro, gateway and service keys, and an unknown one. */
typedef struct tkeys {
    h_peer_t pro, svc, bad, gw;
} tkeys_t;

/* Broker with tcp endpoints, a pro, a gateway and a service key registered. */
static void s_tcp_setup(harness_t *h, tkeys_t *k)
{
    assert_int_equal(h_setup(h, 1), 0);
    crypto_box_keypair(k->bad.pub, k->bad.sec);
    assert_int_equal(h_peer_add(h, &k->pro, ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE, "pro"), 0);
    assert_int_equal(h_peer_add(h, &k->gw, ESPACE__V1__PEER_ROLE__PEER_GATEWAY, "gw"), 0);
    assert_int_equal(h_peer_add(h, &k->svc, ESPACE__V1__PEER_ROLE__PEER_SERVICE, "svc"), 0);
    assert_int_equal(h_tcp_start(h), 0);
}

static void test_tcp_caller_stamping(void **state)
{
    (void)state;
    harness_t h;
    tkeys_t k;
    s_tcp_setup(&h, &k);
    tworker_t w;
    assert_int_equal(tw_start(&w, h.ctx, h_ipc(h.req_ipc), "echo", 4, 0), 0);
    h_sleep_ms(50);

    Espace__V1__Caller forged = ESPACE__V1__CALLER__INIT;
    forged.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
    forged.principal = "ffffffffffffffffffffffffffffffff";
    forged.peer_role = ESPACE__V1__PEER_ROLE__PEER_GATEWAY;

    /* tcp pro peer: its Caller frame is ignored */
    bus_conn_t pc = h_tcp(&h, h.req_tcp, &k.pro);
    bus_client_t *pro = NULL;
    assert_int_equal(bus_client_new(h.ctx, &pc, &pro), 0);
    Espace__V1__Caller *seen = NULL;
    assert_int_equal(s_who(pro, &forged, &seen), 0);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE);
    assert_int_equal(seen->peer_role, ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE);
    char z85[BUS_KEY_Z85];
    bus_key_z85(k.pro.pub, z85);
    assert_string_equal(seen->peer_key, z85);
    assert_string_equal(seen->principal, "");
    codec_free(&seen->base);

    /* ipc peer: honoured, but peer_role/key come from the transport */
    bus_client_t *loc = NULL;
    assert_int_equal(h_client(&h, &loc), 0);
    assert_int_equal(s_who(loc, &forged, &seen), 0);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    assert_string_equal(seen->principal, forged.principal);
    assert_int_equal(seen->peer_role, ESPACE__V1__PEER_ROLE__PEER_LOCAL);
    assert_string_equal(seen->peer_key, "");
    codec_free(&seen->base);

    /* tcp gateway: stamps its patients, but never an operator or a service */
    bus_conn_t gc = h_tcp(&h, h.req_tcp, &k.gw);
    bus_client_t *gw = NULL;
    assert_int_equal(bus_client_new(h.ctx, &gc, &gw), 0);
    assert_int_equal(s_who(gw, &forged, &seen), 0);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    assert_int_equal(seen->peer_role, ESPACE__V1__PEER_ROLE__PEER_GATEWAY);
    codec_free(&seen->base);
    Espace__V1__Caller op = ESPACE__V1__CALLER__INIT;
    op.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR;
    op.principal = "operator";
    bus_reply_t gr;
    assert_int_equal(bus_call(gw, "echo", "who", NULL, &espace__v1__caller__descriptor, 2000, &op,
                              NULL, &gr),
                     ES_PERMISSION_DENIED);
    assert_string_equal(gr.field, "caller");
    op.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE;
    assert_int_equal(bus_call(gw, "echo", "who", NULL, &espace__v1__caller__descriptor, 2000, &op,
                              NULL, NULL),
                     ES_PERMISSION_DENIED);
    bus_client_destroy(&gw);

    /* unregistered key: no answer at all, the call times out locally */
    bus_conn_t bc = h_tcp(&h, h.req_tcp, &k.bad);
    bus_client_t *bad = NULL;
    assert_int_equal(bus_client_new(h.ctx, &bc, &bad), 0);
    assert_int_equal(bus_call(bad, "echo", "echo", NULL, NULL, 300, NULL, NULL, NULL),
                     ES_DEADLINE_EXCEEDED);
    /* registered service key is served */
    bus_conn_t sc = h_tcp(&h, h.req_tcp, &k.svc);
    bus_client_t *svc = NULL;
    assert_int_equal(bus_client_new(h.ctx, &sc, &svc), 0);
    assert_int_equal(bus_call(svc, "echo", "echo", NULL, NULL, 2000, NULL, NULL, NULL), 0);

    /* a pro peer may not register as a worker */
    tworker_t pw;
    assert_int_equal(tw_start(&pw, h.ctx, pc, "prosvc", 1, 0), 0);
    h_sleep_ms(200);
    assert_int_equal(bus_call(svc, "prosvc", "echo", NULL, NULL, 1000, NULL, NULL, NULL),
                     ES_UNAVAILABLE);
    /* a service key may */
    tworker_t sw;
    assert_int_equal(tw_start(&sw, h.ctx, sc, "svcsvc", 1, 0), 0);
    int ok = 0;
    for (int i = 0; i < 40 && !ok; i++) {
        if (bus_call(pro, "svcsvc", "echo", NULL, NULL, 1000, NULL, NULL, NULL) == 0)
            ok = 1;
        else
            h_sleep_ms(25);
    }
    assert_true(ok);

    tw_stop(&pw);
    tw_stop(&sw);
    bus_client_destroy(&pro);
    bus_client_destroy(&loc);
    bus_client_destroy(&bad);
    bus_client_destroy(&svc);
    tw_stop(&w);
    h_teardown(&h);
}

static void test_auth_and_revocation(void **state)
{
    (void)state;
    harness_t h;
    assert_int_equal(h_setup(&h, 0), 0);
    assert_int_equal(h_broker_start(&h), 0);
    tworker_t idw, ew;
    assert_int_equal(tw_start(&idw, h.ctx, h_ipc(h.req_ipc), "identity", 4, 0), 0);
    assert_int_equal(tw_start(&ew, h.ctx, h_ipc(h.req_ipc), "echo", 4, 0), 0);
    h_sleep_ms(50);
    bus_client_t *c = NULL;
    assert_int_equal(h_client(&h, &c), 0);

    Espace__V1__Caller *caller = NULL;
    bus_reply_t r;
    assert_int_equal(bus_client_auth(c, "bad", 2000, &caller, &r), ES_UNAUTHENTICATED);
    assert_null(caller);
    assert_string_equal(r.message, "bad token");
    Espace__V1__Caller *seen = NULL;
    assert_int_equal(s_who(c, NULL, &seen), 0);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE);
    codec_free(&seen->base);

    assert_int_equal(bus_client_auth(c, "good", 2000, &caller, &r), 0);
    assert_non_null(caller);
    assert_int_equal(caller->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    codec_free(&caller->base);

    /* later requests carry the session caller, peer fields from the transport;
     * a Caller frame sent alongside does not override the bound session */
    Espace__V1__Caller forged = ESPACE__V1__CALLER__INIT;
    forged.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR;
    assert_int_equal(s_who(c, &forged, &seen), 0);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    assert_string_equal(seen->principal, "0123456789abcdef0123456789abcdef");
    assert_int_equal(seen->peer_role, ESPACE__V1__PEER_ROLE__PEER_LOCAL);
    assert_string_equal(seen->peer_key, "");
    assert_int_equal(seen->session_id.len, 16);
    codec_free(&seen->base);

    /* another connection is not bound */
    bus_client_t *c2 = NULL;
    assert_int_equal(h_client(&h, &c2), 0);
    assert_int_equal(s_who(c2, NULL, &seen), 0);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE);
    codec_free(&seen->base);

    /* revocation event unbinds */
    bus_conn_t pc = h_ipc(h.pub_ipc);
    bus_pub_t *pub = NULL;
    assert_int_equal(bus_pub_new(h.ctx, &pc, &pub), 0);
    h_sleep_ms(100);
    Espace__V1__SessionRevoked sr = ESPACE__V1__SESSION_REVOKED__INIT;
    sr.session_id.data = idw.session_id;
    sr.session_id.len = 16;
    assert_int_equal(bus_publish(pub, "identity.session.revoked", &sr.base), 0);
    int unbound = 0;
    for (int i = 0; i < 40 && !unbound; i++) {
        assert_int_equal(s_who(c, NULL, &seen), 0);
        unbound = seen->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE;
        codec_free(&seen->base);
        if (!unbound) {
            h_sleep_ms(50);
            bus_publish(pub, "identity.session.revoked", &sr.base);
        }
    }
    assert_true(unbound);

    bus_pub_destroy(&pub);
    bus_client_destroy(&c);
    bus_client_destroy(&c2);
    tw_stop(&idw);
    tw_stop(&ew);
    h_teardown(&h);
}

/* ---- the session check goes to the configured service ---- */

/* AUTH reaches the service named in broker_opts_t.session_service (here
 * "sessions"), never "identity", and binds the session it answers; an AUTH
 * with another method than SessionCheck's is refused. */
static void test_auth_to_configured_service(void **state)
{
    (void)state;
    harness_t h;
    assert_int_equal(h_setup(&h, 0), 0);
    h.o.session_service = "sessions";
    assert_int_equal(h_broker_start(&h), 0);
    tworker_t sw, idw, ew;
    assert_int_equal(tw_start(&sw, h.ctx, h_ipc(h.req_ipc), "sessions", 4, 0), 0);
    assert_int_equal(tw_start(&idw, h.ctx, h_ipc(h.req_ipc), "identity", 4, 0), 0);
    assert_int_equal(tw_start(&ew, h.ctx, h_ipc(h.req_ipc), "echo", 4, 0), 0);
    assert_int_equal(tw_wait_registered(&sw, 5000), 0);
    assert_int_equal(tw_wait_registered(&idw, 5000), 0);
    assert_int_equal(tw_wait_registered(&ew, 5000), 0);
    bus_client_t *c = NULL;
    assert_int_equal(h_client(&h, &c), 0);

    Espace__V1__Caller *caller = NULL;
    bus_reply_t r;
    assert_int_equal(bus_client_auth(c, "bad", 2000, &caller, &r), ES_UNAUTHENTICATED);
    assert_int_equal(sw.handled, 1);
    assert_int_equal(bus_client_auth(c, "good", 2000, &caller, &r), 0);
    assert_non_null(caller);
    assert_int_equal(caller->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    codec_free(&caller->base);
    assert_int_equal(sw.handled, 2);
    assert_int_equal(idw.handled, 0);
    Espace__V1__Caller *seen = NULL;
    assert_int_equal(s_who(c, NULL, &seen), 0);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    assert_int_equal(seen->peer_role, ESPACE__V1__PEER_ROLE__PEER_LOCAL);
    codec_free(&seen->base);

    /* AUTH carries SessionCheck's method, nothing else */
    void *raw = h_raw_dealer(&h, h.req_ipc, NULL, NULL, "raw", 3);
    assert_non_null(raw);
    Espace__V1__AuthenticateRequest ar = ESPACE__V1__AUTHENTICATE_REQUEST__INIT;
    ar.token = "good";
    assert_int_equal(h_raw_send(raw, BUS_C_AUTH, NULL, 9, "Login", &ar.base), 0);
    Espace__V1__Reply *rep = h_raw_reply(raw, 9, 2000);
    assert_non_null(rep);
    assert_int_equal(rep->status->code, ESPACE__V1__CODE__CODE_INVALID_ARGUMENT);
    assert_string_equal(rep->status->field, "method");
    espace__v1__reply__free_unpacked(rep, NULL);
    assert_int_equal(sw.handled, 2);
    zmq_close(raw);

    /* without a live session service AUTH is UNAVAILABLE, even with an
     * "identity" worker there */
    tw_stop(&sw);
    int rc = 0;
    for (int i = 0; i < 100 && rc != ES_UNAVAILABLE; i++) {
        rc = bus_client_auth(c, "good", 2000, NULL, &r);
        if (rc != ES_UNAVAILABLE)
            h_sleep_ms(20);
    }
    assert_int_equal(rc, ES_UNAVAILABLE);
    assert_int_equal(idw.handled, 0);

    bus_client_destroy(&c);
    tw_stop(&idw);
    tw_stop(&ew);
    assert_int_equal(h_teardown(&h), 0);
}

/* A broker run without the harness (which always names a session
 * service), on h's folder and endpoints. */
typedef struct bare {
    broker_opts_t o;
    int stop[2], ready[2];
    pthread_t th;
    int rc;
} bare_t;

static void s_bare_opts(const harness_t *h, bare_t *x)
{
    memset(x, 0, sizeof(*x));
    x->o.data_dir = h->dir;
    x->o.req_ipc = h->req_ipc;
    x->o.pub_ipc = h->pub_ipc;
    x->o.sub_ipc = h->sub_ipc;
    x->o.heartbeat_ms = H_HB;
    x->o.stop_fd = -1;
    x->o.ready_fd = -1;
    x->o.no_sync = 1;
}

static void *s_bare_main(void *arg)
{
    bare_t *x = arg;
    x->rc = broker_run(&x->o);
    return NULL;
}

/* A session service that is not a service name: the broker does not start. */
static void test_bad_session_service(void **state)
{
    (void)state;
    harness_t h;
    assert_int_equal(h_setup(&h, 0), 0);
    bare_t x;
    s_bare_opts(&h, &x);
    const char *bad[] = {"", "not a name", "identity\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        x.o.session_service = bad[i];
        assert_int_equal(broker_run(&x.o), ES_INVALID_ARGUMENT);
    }
    assert_int_equal(h_teardown(&h), 0);
}

/* No session service (NULL): AUTH is UNAVAILABLE, whoever is registered;
 * the rest of the broker works. */
static void test_no_session_service(void **state)
{
    (void)state;
    harness_t h;
    assert_int_equal(h_setup(&h, 0), 0);
    bare_t x;
    s_bare_opts(&h, &x);
    assert_int_equal(pipe(x.stop), 0);
    assert_int_equal(pipe(x.ready), 0);
    x.o.stop_fd = x.stop[0];
    x.o.ready_fd = x.ready[1];
    assert_int_equal(pthread_create(&x.th, NULL, s_bare_main, &x), 0);
    assert_int_equal(h_wait_byte(x.ready[0], 10000), 0);
    tworker_t idw;
    assert_int_equal(tw_start(&idw, h.ctx, h_ipc(h.req_ipc), "identity", 4, 0), 0);
    assert_int_equal(tw_wait_registered(&idw, 5000), 0);
    bus_client_t *c = NULL;
    assert_int_equal(h_client(&h, &c), 0);
    bus_reply_t r;
    assert_int_equal(bus_client_auth(c, "good", 2000, NULL, &r), ES_UNAVAILABLE);
    assert_string_equal(r.message, "no session service");
    assert_int_equal(idw.handled, 0);
    assert_int_equal(bus_call(c, "identity", "echo", NULL, NULL, 2000, NULL, NULL, NULL), 0);
    bus_client_destroy(&c);
    tw_stop(&idw);
    assert_int_equal(write(x.stop[1], "x", 1), 1);
    pthread_join(x.th, NULL);
    assert_int_equal(x.rc, 0);
    for (int i = 0; i < 2; i++) {
        close(x.stop[i]);
        close(x.ready[i]);
    }
    assert_int_equal(h_teardown(&h), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_caller_stamping),
        cmocka_unit_test(test_auth_and_revocation),
        cmocka_unit_test(test_auth_to_configured_service),
        cmocka_unit_test(test_bad_session_service),
        cmocka_unit_test(test_no_session_service),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
