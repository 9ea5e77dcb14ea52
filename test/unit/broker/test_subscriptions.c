/*
 * test_subscriptions.c - live events for professionals (broker/subs.c):
 * SUBSCRIBE rules, EVENT forwarding, and the end of both with the session
 * binding, which belongs to the peer (role + CURVE key), not to the routing
 * id a client chooses.
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


/* ---- live events for professionals (SUBSCRIBE / EVENT) ---- */

#define P_RPPS_A "10000000001"
#define P_RPPS_B "10000000002"

/* An "identity" worker answering Authenticate by token: "pro-A", "pro-A2"
 * (same RPPS, another session), "pro-B", "pro-short" (RPPS A, expires in
 * 400 ms), "patient"; anything else UNAUTHENTICATED. Session id: 16 bytes of
 * the token's first byte after "pro-" (or 'P'). */
typedef struct pid_worker {
    void *ctx;
    bus_conn_t conn;
    volatile int stop, started;
    pthread_t th;
} pid_worker_t;

static void s_pid_answer(bus_worker_t *w, bus_request_t *r)
{
    Espace__V1__AuthenticateRequest *ar = NULL;
    if (strcmp(r->req->method, "Authenticate") != 0 ||
        codec_decode(&espace__v1__authenticate_request__descriptor, r->req->body.data,
                     r->req->body.len, 0, (ProtobufCMessage **)&ar, NULL) != 0) {
        bus_worker_reply(w, r, ES_UNIMPLEMENTED, "unknown method", "method", NULL, 0);
        return;
    }
    const char *tok = ar->token;
    uint8_t sid[16];
    Espace__V1__Caller c = ESPACE__V1__CALLER__INIT;
    c.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL;
    c.session_expires_ms = bus_wall_ms() + 60000;
    if (strcmp(tok, "pro-A") == 0) {
        c.principal = P_RPPS_A;
        memset(sid, 'A', 16);
    } else if (strcmp(tok, "pro-A2") == 0) {
        c.principal = P_RPPS_A;
        memset(sid, '2', 16);
    } else if (strcmp(tok, "pro-B") == 0) {
        c.principal = P_RPPS_B;
        memset(sid, 'B', 16);
    } else if (strcmp(tok, "pro-short") == 0) {
        c.principal = P_RPPS_A;
        memset(sid, 's', 16);
        c.session_expires_ms = bus_wall_ms() + 400;
    } else if (strcmp(tok, "patient") == 0) {
        c.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
        c.principal = "0123456789abcdef0123456789abcdef";
        memset(sid, 'P', 16);
    } else {
        bus_worker_reply(w, r, ES_UNAUTHENTICATED, "bad token", NULL, NULL, 0);
        codec_free(&ar->base);
        return;
    }
    c.session_id.data = sid;
    c.session_id.len = 16;
    Espace__V1__AuthenticateReply rep = ESPACE__V1__AUTHENTICATE_REPLY__INIT;
    rep.caller = &c;
    uint8_t buf[512];
    size_t len = espace__v1__authenticate_reply__pack(&rep, buf);
    bus_worker_reply(w, r, 0, NULL, NULL, buf, len);
    codec_free(&ar->base);
}

static void *s_pid_main(void *arg)
{
    pid_worker_t *t = arg;
    bus_worker_t *w = NULL;
    if (bus_worker_new(t->ctx, &t->conn, "identity", 4, &w) != 0) {
        t->started = -1;
        return NULL;
    }
    t->started = 1;
    while (!t->stop) {
        int wait = bus_worker_tick(w);
        zmq_pollitem_t it = {bus_worker_socket(w), 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, wait > 10 ? 10 : wait);
        bus_request_t r;
        while (bus_worker_recv(w, &r) == 0) {
            s_pid_answer(w, &r);
            bus_request_release(&r);
        }
    }
    bus_worker_destroy(&w);
    return NULL;
}

/* A harness with its broker and the fake identity service running. */
static void s_pid_setup(harness_t *h, pid_worker_t *idw)
{
    assert_int_equal(h_setup(h, 0), 0);
    assert_int_equal(h_broker_start(h), 0);
    *idw = (pid_worker_t){.ctx = h->ctx, .conn = h_ipc(h->req_ipc)};
    assert_int_equal(pthread_create(&idw->th, NULL, s_pid_main, idw), 0);
}

static void s_pid_teardown(harness_t *h, pid_worker_t *idw)
{
    idw->stop = 1;
    pthread_join(idw->th, NULL);
    assert_int_equal(h_teardown(h), 0);
}

/* A client bound with `token` (retries while identity is not routed yet). */
static bus_client_t *s_pro_client(harness_t *h, const char *token)
{
    bus_client_t *c = NULL;
    assert_int_equal(h_client(h, &c), 0);
    bus_reply_t r;
    int rc = ES_UNAVAILABLE;
    for (int i = 0; i < 100 && rc == ES_UNAVAILABLE; i++) {
        rc = bus_client_auth(c, token, 2000, NULL, &r);
        if (rc == ES_UNAVAILABLE)
            h_sleep_ms(20);
    }
    assert_int_equal(rc, 0);
    return c;
}

/* Nothing at all arrives on c within ms (after draining what was queued
 * before `drain_first`). 1 if silent. */
static int s_silent(bus_client_t *c, int ms)
{
    char t[BUS_MAX_TOPIC + 1];
    Espace__V1__Event *ev = NULL;
    if (bus_client_recv_event(c, ms, t, &ev) == 0) {
        fprintf(stderr, "unexpected event %s\n", t);
        codec_free(&ev->base);
        return 0;
    }
    return 1;
}

static void s_drain(bus_client_t *c)
{
    char t[BUS_MAX_TOPIC + 1];
    Espace__V1__Event *ev = NULL;
    while (bus_client_recv_event(c, 100, t, &ev) == 0)
        codec_free(&ev->base);
}

static void test_pro_subscribe_rules(void **state)
{
    (void)state;
    harness_t h;
    pid_worker_t idw;
    s_pid_setup(&h, &idw);
    bus_reply_t r;

    /* an unbound connection is refused */
    bus_client_t *anon = NULL;
    assert_int_equal(h_client(&h, &anon), 0);
    assert_int_equal(bus_client_subscribe(anon, "pro." P_RPPS_A ".", 2000, &r),
                     ES_UNAUTHENTICATED);
    /* a patient session is refused */
    bus_client_t *pat = s_pro_client(&h, "patient");
    assert_int_equal(bus_client_subscribe(pat, "patient.0123456789abcdef0123456789abcdef.", 2000,
                                          &r),
                     ES_PERMISSION_DENIED);
    /* a professional: own prefixes only */
    bus_client_t *a = s_pro_client(&h, "pro-A");
    const char *denied[] = {"pro." P_RPPS_B ".",       "pro." P_RPPS_B ".agenda",
                            "patient.",                "pro.",
                            "pro." P_RPPS_A,           "pro.1000000000",
                            "identity.session.revoked", "pro." P_RPPS_A "0.agenda"};
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        assert_int_equal(bus_client_subscribe(a, denied[i], 2000, &r), ES_PERMISSION_DENIED);
        assert_string_equal(r.field, "prefix");
    }
    assert_int_equal(bus_client_subscribe(a, "", 2000, &r), ES_INVALID_ARGUMENT);
    assert_int_equal(bus_client_subscribe(a, "pro." P_RPPS_A ".a b", 2000, &r),
                     ES_INVALID_ARGUMENT);
    char longp[BUS_MAX_TOPIC + 2];
    memset(longp, 'x', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    memcpy(longp, "pro." P_RPPS_A ".", strlen("pro." P_RPPS_A "."));
    assert_int_equal(bus_client_subscribe(a, longp, 2000, &r), ES_INVALID_ARGUMENT);
    assert_int_equal(bus_client_subscribe(a, "pro." P_RPPS_A ".", 2000, &r), 0);
    assert_int_equal(bus_client_subscribe(a, "pro." P_RPPS_A ".", 2000, &r), 0); /* no-op */
    /* at most BUS_MAX_CLIENT_SUBS prefixes per connection */
    for (int i = 1; i < BUS_MAX_CLIENT_SUBS; i++) {
        char p[64];
        snprintf(p, sizeof p, "pro." P_RPPS_A ".x%d", i);
        assert_int_equal(bus_client_subscribe(a, p, 2000, &r), 0);
    }
    assert_int_equal(bus_client_subscribe(a, "pro." P_RPPS_A ".one-more", 2000, &r),
                     ES_RESOURCE_EXHAUSTED);

    /* a raw SUBSCRIBE with another method, or a body that does not decode */
    void *raw = zmq_socket(h.ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(raw, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_connect(raw, h.req_ipc), 0);
    Espace__V1__Request req = ESPACE__V1__REQUEST__INIT;
    req.id = 77;
    req.method = "Unsubscribe";
    uint8_t buf[64];
    size_t len = espace__v1__request__pack(&req, buf);
    const char cmd = BUS_C_SUBSCRIBE;
    zmq_send(raw, BUS_CLIENT_PROTO, 4, ZMQ_SNDMORE);
    zmq_send(raw, &cmd, 1, ZMQ_SNDMORE);
    zmq_send(raw, buf, len, 0);
    req.method = "Subscribe";
    req.id = 78;
    req.body.data = (uint8_t *)"\xff\xff";
    req.body.len = 2;
    len = espace__v1__request__pack(&req, buf);
    zmq_send(raw, BUS_CLIENT_PROTO, 4, ZMQ_SNDMORE);
    zmq_send(raw, &cmd, 1, ZMQ_SNDMORE);
    zmq_send(raw, buf, len, 0);
    for (int k = 0; k < 2; k++) {
        zmq_pollitem_t it = {raw, 0, ZMQ_POLLIN, 0};
        assert_int_equal(zmq_poll(&it, 1, 2000), 1);
        zmq_msg_t m[FRAMES_MAX];
        size_t n = 0;
        assert_int_equal(frames_recv(raw, m, FRAMES_MAX, &n, 0), 0);
        assert_int_equal(n, 4);
        Espace__V1__Reply *rep = NULL;
        assert_int_equal(codec_decode(&espace__v1__reply__descriptor, zmq_msg_data(&m[3]),
                                      zmq_msg_size(&m[3]), 0, (ProtobufCMessage **)&rep, NULL),
                         0);
        assert_int_equal(rep->id, 77 + (uint64_t)k);
        assert_int_equal(rep->status->code, ESPACE__V1__CODE__CODE_INVALID_ARGUMENT);
        assert_string_equal(rep->status->field, k == 0 ? "method" : "body");
        codec_free(&rep->base);
        frames_close(m, n);
    }
    zmq_close(raw);

    bus_client_destroy(&anon);
    bus_client_destroy(&pat);
    bus_client_destroy(&a);
    s_pid_teardown(&h, &idw);
}

static void test_pro_events_forwarded(void **state)
{
    (void)state;
    harness_t h;
    pid_worker_t idw;
    s_pid_setup(&h, &idw);
    bus_conn_t pc = h_ipc(h.pub_ipc);
    bus_pub_t *pub = NULL;
    assert_int_equal(bus_pub_new(h.ctx, &pc, &pub), 0);
    bus_reply_t r;

    bus_client_t *a = s_pro_client(&h, "pro-A");
    bus_client_t *a2 = s_pro_client(&h, "pro-A2");
    bus_client_t *b = s_pro_client(&h, "pro-B");
    bus_client_t *sh = s_pro_client(&h, "pro-short");
    assert_int_equal(bus_client_subscribe(a, "pro." P_RPPS_A ".agenda", 2000, &r), 0);
    assert_int_equal(bus_client_subscribe(a, "pro." P_RPPS_A ".", 2000, &r), 0); /* overlaps */
    assert_int_equal(bus_client_subscribe(a2, "pro." P_RPPS_A ".agenda", 2000, &r), 0);
    assert_int_equal(bus_client_subscribe(b, "pro." P_RPPS_B ".", 2000, &r), 0);
    assert_int_equal(bus_client_subscribe(sh, "pro." P_RPPS_A ".agenda", 2000, &r), 0);

    /* each receives its own events */
    assert_true(h_publish_until(pub, "pro." P_RPPS_A ".agenda", 1, h_recv_client, a));
    assert_true(h_publish_until(pub, "pro." P_RPPS_A ".agenda", 2, h_recv_client, a2));
    assert_true(h_publish_until(pub, "pro." P_RPPS_B ".agenda", 3, h_recv_client, b));
    assert_true(h_publish_until(pub, "pro." P_RPPS_A ".documents", 4, h_recv_client, a));
    s_drain(a);
    s_drain(a2);
    s_drain(b);
    /* one copy per event although two prefixes of a match; nothing of
     * another RPPS or a patient topic */
    Espace__V1__Period body = ESPACE__V1__PERIOD__INIT;
    assert_int_equal(bus_publish(pub, "pro." P_RPPS_B ".agenda", &body.base), 0);
    assert_int_equal(bus_publish(pub, "patient.0123456789abcdef0123456789abcdef.agenda",
                                 &body.base),
                     0);
    assert_int_equal(bus_publish(pub, "pro." P_RPPS_A "0.agenda", &body.base), 0);
    body.start_ms = 5;
    assert_int_equal(bus_publish(pub, "pro." P_RPPS_A ".agenda", &body.base), 0);
    char t[BUS_MAX_TOPIC + 1];
    Espace__V1__Event *ev = NULL;
    assert_int_equal(bus_client_recv_event(a, 2000, t, &ev), 0);
    assert_string_equal(t, "pro." P_RPPS_A ".agenda");
    codec_free(&ev->base);
    assert_true(s_silent(a, 200));

    /* events arriving during a call are kept for bus_client_recv_event */
    assert_int_equal(bus_publish(pub, "pro." P_RPPS_A ".agenda", &body.base), 0);
    h_sleep_ms(100);
    assert_int_equal(bus_client_subscribe(a, "pro." P_RPPS_A ".agenda", 2000, &r), 0);
    assert_int_equal(bus_client_recv_event(a, 0, t, &ev), 0);
    codec_free(&ev->base);

    /* an expired session ends forwarding */
    h_sleep_ms(450);
    s_drain(sh);
    assert_int_equal(bus_publish(pub, "pro." P_RPPS_A ".agenda", &body.base), 0);
    assert_true(s_silent(sh, 300));
    assert_int_equal(bus_client_subscribe(sh, "pro." P_RPPS_A ".agenda", 2000, &r),
                     ES_UNAUTHENTICATED);

    /* revocation of A's session ends A's forwarding, not A2's (same prefix) */
    Espace__V1__SessionRevoked sr = ESPACE__V1__SESSION_REVOKED__INIT;
    uint8_t sid[16];
    memset(sid, 'A', 16);
    sr.session_id.data = sid;
    sr.session_id.len = 16;
    int unbound = 0;
    for (int i = 0; i < 40 && !unbound; i++) {
        assert_int_equal(bus_publish(pub, "identity.session.revoked", &sr.base), 0);
        h_sleep_ms(50);
        unbound = bus_client_subscribe(a, "pro." P_RPPS_A ".agenda", 2000, &r) ==
                  ES_UNAUTHENTICATED;
    }
    assert_true(unbound);
    s_drain(a);
    s_drain(a2);
    assert_true(h_publish_until(pub, "pro." P_RPPS_A ".agenda", 6, h_recv_client, a2));
    assert_true(s_silent(a, 300));

    /* a connection that went away is dropped at the next event (no crash,
     * the others still served) */
    bus_client_destroy(&b);
    h_sleep_ms(100);
    assert_int_equal(bus_publish(pub, "pro." P_RPPS_B ".agenda", &body.base), 0);
    assert_true(h_publish_until(pub, "pro." P_RPPS_A ".agenda", 7, h_recv_client, a2));

    bus_pub_destroy(&pub);
    bus_client_destroy(&a);
    bus_client_destroy(&a2);
    bus_client_destroy(&sh);
    s_pid_teardown(&h, &idw);
}

/* ---- a session is bound to the peer (role + CURVE key), not to its
 * routing id, which a client chooses ---- */

/* A raw call until answered (the broker may not route the new pipe yet, or
 * identity may not be registered): 200 tries, 25-200 ms each. The Reply, or
 * NULL. */
static Espace__V1__Reply *s_raw_call(void *s, uint8_t cmd, const char *service,
                                     const char *method, const ProtobufCMessage *body,
                                     uint64_t *next_id)
{
    for (int i = 0; i < 200; i++) {
        uint64_t id = (*next_id)++;
        if (h_raw_send(s, cmd, service, id, method, body) != 0)
            return NULL;
        Espace__V1__Reply *r = h_raw_reply(s, id, 200);
        if (r != NULL && r->status != NULL &&
            r->status->code == ESPACE__V1__CODE__CODE_UNAVAILABLE) {
            espace__v1__reply__free_unpacked(r, NULL);
            r = NULL;
            h_sleep_ms(25);
        }
        if (r != NULL)
            return r;
    }
    return NULL;
}

static int s_raw_code(const Espace__V1__Reply *r)
{
    return r->status != NULL ? (int)r->status->code : 0;
}

/* The Caller "who" saw on a raw socket; caller frees. */
static Espace__V1__Caller *s_raw_who(void *s, uint64_t *next_id)
{
    Espace__V1__Reply *r = s_raw_call(s, BUS_C_REQUEST, "echo", "who", NULL, next_id);
    assert_non_null(r);
    assert_int_equal(s_raw_code(r), 0);
    Espace__V1__Caller *c =
        espace__v1__caller__unpack(NULL, r->body.len, r->body.data);
    espace__v1__reply__free_unpacked(r, NULL);
    assert_non_null(c);
    return c;
}

static void test_session_bound_to_peer_key(void **state)
{
    (void)state;
    harness_t h;
    h_peer_t p1, p2;
    assert_int_equal(h_setup(&h, 1), 0);
    assert_int_equal(h_peer_add(&h, &p1, ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE, "p1"), 0);
    assert_int_equal(h_peer_add(&h, &p2, ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE, "p2"), 0);
    assert_int_equal(h_tcp_start(&h), 0);
    pid_worker_t idw = {.ctx = h.ctx, .conn = h_ipc(h.req_ipc)};
    assert_int_equal(pthread_create(&idw.th, NULL, s_pid_main, &idw), 0);
    tworker_t ew;
    assert_int_equal(tw_start(&ew, h.ctx, h_ipc(h.req_ipc), "echo", 4, 0), 0);
    assert_int_equal(tw_wait_registered(&ew, 5000), 0);

    static const char rid[] = "fixed-routing-id";
    uint64_t next = 1;
    char z1[BUS_KEY_Z85], z2[BUS_KEY_Z85];
    bus_key_z85(p1.pub, z1);
    bus_key_z85(p2.pub, z2);

    /* P binds a professional session on tcp, subscribes, then disconnects */
    void *a = h_raw_dealer(&h, h.req_tcp, p1.pub, p1.sec, rid, sizeof rid - 1);
    assert_non_null(a);
    Espace__V1__AuthenticateRequest ar = ESPACE__V1__AUTHENTICATE_REQUEST__INIT;
    ar.token = "pro-A";
    Espace__V1__Reply *r = s_raw_call(a, BUS_C_AUTH, NULL, "Authenticate", &ar.base, &next);
    assert_non_null(r);
    assert_int_equal(s_raw_code(r), 0);
    espace__v1__reply__free_unpacked(r, NULL);
    Espace__V1__Caller *seen = s_raw_who(a, &next);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL);
    assert_string_equal(seen->principal, P_RPPS_A);
    assert_string_equal(seen->peer_key, z1);
    espace__v1__caller__free_unpacked(seen, NULL);
    Espace__V1__SubscribeRequest sr = ESPACE__V1__SUBSCRIBE_REQUEST__INIT;
    sr.prefix = "pro." P_RPPS_A ".";
    r = s_raw_call(a, BUS_C_SUBSCRIBE, NULL, "Subscribe", &sr.base, &next);
    assert_non_null(r);
    assert_int_equal(s_raw_code(r), 0);
    espace__v1__reply__free_unpacked(r, NULL);
    zmq_close(a);
    h_sleep_ms(100);

    /* another registered pro key with the same routing id inherits nothing:
     * SUBSCRIBE is refused, requests are stamped anonymous */
    void *b = h_raw_dealer(&h, h.req_tcp, p2.pub, p2.sec, rid, sizeof rid - 1);
    assert_non_null(b);
    r = s_raw_call(b, BUS_C_SUBSCRIBE, NULL, "Subscribe", &sr.base, &next);
    assert_non_null(r);
    assert_int_equal(s_raw_code(r), ESPACE__V1__CODE__CODE_UNAUTHENTICATED);
    espace__v1__reply__free_unpacked(r, NULL);
    seen = s_raw_who(b, &next);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE);
    assert_string_equal(seen->principal, "");
    assert_int_equal(seen->peer_role, ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE);
    assert_string_equal(seen->peer_key, z2);
    espace__v1__caller__free_unpacked(seen, NULL);
    zmq_close(b);
    h_sleep_ms(100);

    /* the stale binding was dropped, not merely hidden: P itself, back with
     * the same routing id, must authenticate again */
    a = h_raw_dealer(&h, h.req_tcp, p1.pub, p1.sec, rid, sizeof rid - 1);
    assert_non_null(a);
    seen = s_raw_who(a, &next);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE);
    espace__v1__caller__free_unpacked(seen, NULL);
    zmq_close(a);

    tw_stop(&ew);
    s_pid_teardown(&h, &idw);
}

/* Anything (a REPLY or an EVENT) arriving on raw socket s within ms: 1 if
 * something came. */
static int s_raw_anything(void *s, int ms)
{
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) <= 0)
        return 0;
    char buf[64];
    int more = 1;
    size_t len = sizeof more;
    while (more) { /* read it whole, to print what it was */
        int n = zmq_recv(s, buf, sizeof buf, ZMQ_DONTWAIT);
        if (n < 0)
            break;
        zmq_getsockopt(s, ZMQ_RCVMORE, &more, &len);
    }
    return 1;
}

/* Issue 11 section 5: the same peer identity (ipc: role LOCAL, no key)
 * reusing a departed client's routing id inherits nothing of it: not its
 * session, not its subscriptions' events, not the answer to its request
 * still in flight. The socket monitor ends them with the connection. */
static void test_routing_id_reused_after_disconnect(void **state)
{
    (void)state;
    harness_t h;
    pid_worker_t idw;
    s_pid_setup(&h, &idw);
    tworker_t ew;
    assert_int_equal(tw_start(&ew, h.ctx, h_ipc(h.req_ipc), "echo", 4, 0), 0);
    assert_int_equal(tw_wait_registered(&ew, 5000), 0);
    bus_conn_t pc = h_ipc(h.pub_ipc);
    bus_pub_t *pub = NULL;
    assert_int_equal(bus_pub_new(h.ctx, &pc, &pub), 0);
    /* a witness subscribed to the same prefix: an event it receives went
     * through the broker's forwarding */
    bus_client_t *w = s_pro_client(&h, "pro-A2");
    bus_reply_t r0;
    assert_int_equal(bus_client_subscribe(w, "pro." P_RPPS_A ".", 2000, &r0), 0);

    static const char rid[] = "reused-routing-id";
    uint64_t next = 1;
    void *a = h_raw_dealer(&h, h.req_ipc, NULL, NULL, rid, sizeof rid - 1);
    assert_non_null(a);
    Espace__V1__AuthenticateRequest ar = ESPACE__V1__AUTHENTICATE_REQUEST__INIT;
    ar.token = "pro-A";
    Espace__V1__Reply *r = s_raw_call(a, BUS_C_AUTH, NULL, "Authenticate", &ar.base, &next);
    assert_non_null(r);
    assert_int_equal(s_raw_code(r), 0);
    espace__v1__reply__free_unpacked(r, NULL);
    Espace__V1__SubscribeRequest sr = ESPACE__V1__SUBSCRIBE_REQUEST__INIT;
    sr.prefix = "pro." P_RPPS_A ".";
    r = s_raw_call(a, BUS_C_SUBSCRIBE, NULL, "Subscribe", &sr.base, &next);
    assert_non_null(r);
    assert_int_equal(s_raw_code(r), 0);
    espace__v1__reply__free_unpacked(r, NULL);
    assert_true(h_publish_until(pub, "pro." P_RPPS_A ".agenda", 1, h_recv_client, w));
    assert_true(s_raw_anything(a, 1000)); /* A had its events */
    /* a request still in flight (answered in 400 ms) when A leaves */
    assert_int_equal(h_raw_send(a, BUS_C_REQUEST, "echo", next++, "late", NULL), 0);
    h_sleep_ms(50);
    zmq_close(a);
    h_sleep_ms(100);

    /* B: same routing id, same transport identity, sends nothing yet */
    void *b = h_raw_dealer(&h, h.req_ipc, NULL, NULL, rid, sizeof rid - 1);
    assert_non_null(b);
    h_sleep_ms(100);
    s_drain(w);
    assert_true(h_publish_until(pub, "pro." P_RPPS_A ".agenda", 2, h_recv_client, w));
    /* neither A's events nor the late answer to A's request */
    assert_false(s_raw_anything(b, 600));
    /* nor A's session: B is anonymous, and may not subscribe */
    Espace__V1__Caller *seen = s_raw_who(b, &next);
    assert_int_equal(seen->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE);
    assert_string_equal(seen->principal, "");
    espace__v1__caller__free_unpacked(seen, NULL);
    r = s_raw_call(b, BUS_C_SUBSCRIBE, NULL, "Subscribe", &sr.base, &next);
    assert_non_null(r);
    assert_int_equal(s_raw_code(r), ESPACE__V1__CODE__CODE_UNAUTHENTICATED);
    espace__v1__reply__free_unpacked(r, NULL);
    zmq_close(b);

    bus_client_destroy(&w);
    bus_pub_destroy(&pub);
    tw_stop(&ew);
    s_pid_teardown(&h, &idw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pro_subscribe_rules),
        cmocka_unit_test(test_pro_events_forwarded),
        cmocka_unit_test(test_session_bound_to_peer_key),
        cmocka_unit_test(test_routing_id_reused_after_disconnect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
