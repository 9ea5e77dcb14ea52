/*
 * test_bus.c - the bus library (bus.h) and the frame parser (frames.h):
 * keypairs, Z85, socket options, frame validation, client deadlines with no
 * broker, a worker re-registering after DISCONNECT, zap decisions, and the
 * raw requests of gateways (pipelined, driven by the edge-triggered fd like
 * the edge's loop, bodies intact, deadlines, cancel, caller stamping).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <sys/stat.h>

#include "test/harness/harness.h"
#include "bus/codec.h"
#include "bus/frames.h"
#include "broker/zap.h"

static void test_keypair(void **state)
{
    (void)state;
    char dir[64], path[128], pubpath[160];
    assert_int_equal(h_mkdtemp(dir, "es_bus_"), 0);
    snprintf(path, sizeof(path), "%s/curve.key", dir);
    snprintf(pubpath, sizeof(pubpath), "%s.pub", path);
    uint8_t pub[32], sec[32], pub2[32], sec2[32];
    assert_int_equal(bus_keypair_load(path, 0, pub, sec), ES_NOT_FOUND);
    assert_int_equal(bus_keypair_load(path, 1, pub, sec), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    /* reload gives the same pair; the public key is the secret's */
    assert_int_equal(bus_keypair_load(path, 0, pub2, sec2), 0);
    assert_memory_equal(pub, pub2, 32);
    assert_memory_equal(sec, sec2, 32);
    uint8_t derived[32];
    crypto_scalarmult_base(derived, sec);
    assert_memory_equal(derived, pub, 32);
    /* .pub holds the Z85 text */
    FILE *fp = fopen(pubpath, "r");
    assert_non_null(fp);
    char line[64] = {0};
    assert_non_null(fgets(line, sizeof(line), fp));
    fclose(fp);
    line[40] = '\0';
    uint8_t parsed[32];
    assert_int_equal(bus_key_parse(line, parsed), 0);
    assert_memory_equal(parsed, pub, 32);
    /* a .pub that does not match is refused */
    fp = fopen(pubpath, "w");
    char other[BUS_KEY_Z85];
    uint8_t zero[32] = {0};
    bus_key_z85(zero, other);
    fprintf(fp, "%s\n", other);
    fclose(fp);
    assert_int_equal(bus_keypair_load(path, 0, pub2, sec2), ES_INTERNAL);
    unlink(pubpath);
    assert_int_equal(bus_keypair_load(path, 0, pub2, sec2), 0); /* .pub absent: fine */
    /* group-readable secret is refused */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(bus_keypair_load(path, 0, pub2, sec2), ES_INTERNAL);
    assert_int_equal(chmod(path, 0600), 0);
    /* wrong size */
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
    assert_int_equal(bus_keypair_load(path, 1, pub2, sec2), ES_INTERNAL);
    assert_int_equal(bus_keypair_load(NULL, 1, pub2, sec2), ES_INVALID_ARGUMENT);
    assert_int_equal(h_rmtree(dir), 0);
}

static void test_z85(void **state)
{
    (void)state;
    uint8_t k[32], back[32];
    randombytes_buf(k, sizeof(k));
    char z[BUS_KEY_Z85];
    bus_key_z85(k, z);
    assert_int_equal(strlen(z), 40);
    assert_int_equal(bus_key_parse(z, back), 0);
    assert_memory_equal(k, back, 32);
    assert_int_equal(bus_key_parse("short", back), ES_INVALID_ARGUMENT);
    char bad[41];
    memcpy(bad, z, 41);
    bad[3] = ' ';
    assert_int_equal(bus_key_parse(bad, back), ES_INVALID_ARGUMENT);
    bad[3] = '"';
    assert_int_equal(bus_key_parse(bad, back), ES_INVALID_ARGUMENT);
    assert_int_equal(bus_key_parse(NULL, back), ES_INVALID_ARGUMENT);
}

static void test_socket_setup(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    bus_conn_t c;
    memset(&c, 0, sizeof(c));
    c.endpoint = "ipc:///tmp/x.ipc";
    assert_int_equal(bus_socket_setup(s, &c), 0);
    int linger = -1;
    size_t len = sizeof(linger);
    zmq_getsockopt(s, ZMQ_LINGER, &linger, &len);
    assert_int_equal(linger, 0);
    int64_t maxmsg = 0;
    len = sizeof(maxmsg);
    zmq_getsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, &len);
    assert_int_equal(maxmsg, BUS_MAX_MSG);
    c.endpoint = "tcp://127.0.0.1:1";
    assert_int_equal(bus_socket_setup(s, &c), ES_INVALID_ARGUMENT); /* no keys */
    uint8_t pub[32], sec[32];
    crypto_box_keypair(pub, sec);
    char z[BUS_KEY_Z85];
    bus_key_z85(pub, z);
    c.server_key = z;
    c.public_key = pub;
    assert_int_equal(bus_socket_setup(s, &c), ES_INVALID_ARGUMENT); /* no secret */
    c.secret_key = sec;
    assert_int_equal(bus_socket_setup(s, &c), 0);
    c.server_key = "not z85";
    assert_int_equal(bus_socket_setup(s, &c), ES_INVALID_ARGUMENT);
    c.endpoint = "udp://x";
    assert_int_equal(bus_socket_setup(s, &c), ES_INVALID_ARGUMENT);
    zmq_close(s);
    zmq_ctx_term(ctx);
    assert_true(bus_mono_ms() > 0);
    assert_true(bus_wall_ms() > 1600000000000LL);
}

#define F(s) {(const uint8_t *)(s), sizeof(s) - 1}

static void test_frames_parse(void **state)
{
    (void)state;
    frames_msg_t m;
    frame_ref_t req[] = {F("EC01"), F("\x01"), F("svc"), F("body"), F("caller")};
    assert_int_equal(frames_parse(req, 4, &m), 0);
    assert_int_equal(m.kind, FRAMES_C_REQUEST);
    assert_int_equal(m.service.len, 3);
    assert_null(m.caller.data);
    assert_int_equal(frames_parse(req, 5, &m), 0);
    assert_int_equal(m.caller.len, 6);
    assert_int_equal(frames_parse(req, 3, &m), ES_INVALID_ARGUMENT);
    assert_int_equal(frames_parse(req, 1, &m), ES_INVALID_ARGUMENT);
    assert_int_equal(frames_parse(NULL, 0, &m), ES_INVALID_ARGUMENT);
    frame_ref_t rep[] = {F("EC01"), F("\x02"), F("svc"), F("body"), F("x")};
    assert_int_equal(frames_parse(rep, 4, &m), 0);
    assert_int_equal(m.kind, FRAMES_C_REPLY);
    assert_int_equal(frames_parse(rep, 5, &m), ES_INVALID_ARGUMENT);
    frame_ref_t auth[] = {F("EC01"), F("\x03"), F("body")};
    assert_int_equal(frames_parse(auth, 3, &m), 0);
    assert_int_equal(m.kind, FRAMES_C_AUTH);
    frame_ref_t badhdr[] = {F("EC02"), F("\x01"), F("svc"), F("body")};
    assert_int_equal(frames_parse(badhdr, 4, &m), ES_INVALID_ARGUMENT);
    frame_ref_t badcmd[] = {F("EC01"), F("\x01\x01"), F("svc"), F("body")};
    assert_int_equal(frames_parse(badcmd, 4, &m), ES_INVALID_ARGUMENT);
    frame_ref_t wreq[] = {F("EW01"), F("\x02"), F("\x00route"), F("12345678"), F("c"), F("r")};
    assert_int_equal(frames_parse(wreq, 6, &m), 0);
    assert_int_equal(m.kind, FRAMES_W_REQUEST);
    assert_int_equal(m.route.len, 6);
    assert_int_equal(m.ticket.len, 8);
    frame_ref_t wrep[] = {F("EW01"), F("\x03"), F("r"), F("1234567"), F("r")};
    assert_int_equal(frames_parse(wrep, 5, &m), ES_INVALID_ARGUMENT); /* short ticket */
    frame_ref_t wrep2[] = {F("EW01"), F("\x03"), F(""), F("12345678"), F("r")};
    assert_int_equal(frames_parse(wrep2, 5, &m), ES_INVALID_ARGUMENT); /* empty route */
    uint8_t longroute[FRAMES_MAX_ROUTE + 1] = {0};
    frame_ref_t wrep3[] = {F("EW01"), F("\x03"), {longroute, sizeof(longroute)}, F("12345678"),
                           F("r")};
    assert_int_equal(frames_parse(wrep3, 5, &m), ES_INVALID_ARGUMENT);
    frame_ref_t hb[] = {F("EW01"), F("\x05"), F("x")};
    assert_int_equal(frames_parse(hb, 2, &m), 0);
    assert_int_equal(m.kind, FRAMES_W_HEARTBEAT);
    assert_int_equal(frames_parse(hb, 3, &m), ES_INVALID_ARGUMENT);
    frame_ref_t dc[] = {F("EW01"), F("\x06")};
    assert_int_equal(frames_parse(dc, 2, &m), 0);
    assert_int_equal(m.kind, FRAMES_W_DISCONNECT);
    frame_ref_t w4[] = {F("EW01"), F("\x04")};
    assert_int_equal(frames_parse(w4, 2, &m), ES_INVALID_ARGUMENT);
    frame_ref_t nul[] = {{NULL, 3}, F("\x01")};
    assert_int_equal(frames_parse(nul, 2, &m), ES_INVALID_ARGUMENT);

    assert_true(frames_service_valid((frame_ref_t)F("identity")));
    assert_true(frames_service_valid((frame_ref_t)F("a.b-c_9")));
    assert_false(frames_service_valid((frame_ref_t)F("")));
    assert_false(frames_service_valid((frame_ref_t)F("a b")));
    char longname[BUS_MAX_SERVICE + 2];
    memset(longname, 'a', sizeof(longname));
    assert_false(frames_service_valid((frame_ref_t){(const uint8_t *)longname, BUS_MAX_SERVICE + 1}));
    assert_true(frames_service_valid((frame_ref_t){(const uint8_t *)longname, BUS_MAX_SERVICE}));
}

static void test_client_no_broker(void **state)
{
    (void)state;
    char dir[64], ep[128];
    assert_int_equal(h_mkdtemp(dir, "es_bus_"), 0);
    snprintf(ep, sizeof(ep), "ipc://%s/none.ipc", dir);
    void *ctx = zmq_ctx_new();
    bus_conn_t c = h_ipc(ep);
    bus_client_t *cl = NULL;
    assert_int_equal(bus_client_new(ctx, &c, &cl), 0);
    int64_t t0 = bus_mono_ms();
    assert_int_equal(bus_call(cl, "echo", "x", NULL, NULL, 200, NULL, NULL, NULL),
                     ES_DEADLINE_EXCEEDED);
    int64_t dt = bus_mono_ms() - t0;
    assert_true(dt >= 200 && dt < 2000);
    assert_int_equal(bus_client_wait(cl, 50), ES_DEADLINE_EXCEEDED);
    bus_reply_t r;
    assert_int_equal(bus_client_recv(cl, 0, &r), ES_DEADLINE_EXCEEDED);
    assert_int_equal(bus_client_auth(cl, "tok", 100, NULL, NULL), ES_DEADLINE_EXCEEDED);
    assert_true(bus_client_fd(cl) >= 0);
    assert_int_equal(bus_client_send(cl, "", "x", NULL, 0, NULL, NULL), ES_INVALID_ARGUMENT);
    /* raw requests: never wait for the connection, nothing stays in flight */
    uint64_t id = 0;
    assert_int_equal(bus_client_send_raw(cl, "echo", "x", NULL, 0, 100, NULL, NULL, &id),
                     ES_UNAVAILABLE);
    const uint8_t b[1] = {1};
    char longname[BUS_MAX_SERVICE + 2];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[BUS_MAX_SERVICE + 1] = '\0';
    assert_int_equal(bus_client_send_raw(cl, "", "x", b, 1, 0, NULL, NULL, NULL),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(bus_client_send_raw(cl, longname, "x", b, 1, 0, NULL, NULL, NULL),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(bus_client_send_raw(cl, "echo", NULL, b, 1, 0, NULL, NULL, NULL),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(bus_client_send_raw(cl, "echo", "x", NULL, 1, 0, NULL, NULL, NULL),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(bus_client_send_raw(NULL, "echo", "x", b, 1, 0, NULL, NULL, NULL),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(bus_client_inflight(cl), 0);
    assert_int_equal(bus_client_process(cl, NULL, NULL), ES_INVALID_ARGUMENT);
    assert_int_equal(bus_client_cancel(cl, 1), ES_NOT_FOUND);
    bus_client_destroy(&cl);
    bus_client_destroy(&cl); /* idempotent */
    assert_null(cl);
    /* bad arguments */
    bus_worker_t *w = NULL;
    assert_int_equal(bus_worker_new(ctx, &c, "bad name", 1, &w), ES_INVALID_ARGUMENT);
    bus_conn_t tc = h_ipc("tcp://127.0.0.1:1");
    assert_int_equal(bus_client_new(ctx, &tc, &cl), ES_INVALID_ARGUMENT);
    zmq_ctx_term(ctx);
    assert_int_equal(h_rmtree(dir), 0);
}

/* A worker whose broker restarts re-registers and serves, and one whose
 * broker says DISCONNECT reconnects. */
static void test_worker_reregisters(void **state)
{
    (void)state;
    harness_t h;
    assert_int_equal(h_setup(&h, 0), 0);
    assert_int_equal(h_broker_start(&h), 0);
    tworker_t w;
    assert_int_equal(tw_start(&w, h.ctx, h_ipc(h.req_ipc), "echo", 2, 0), 0);
    bus_client_t *c = NULL;
    assert_int_equal(h_client(&h, &c), 0);
    Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
    p.end_ms = 99;
    Espace__V1__Period *back = NULL;
    assert_int_equal(bus_call(c, "echo", "echo", &p.base, &espace__v1__period__descriptor, 2000,
                              NULL, (ProtobufCMessage **)&back, NULL),
                     0);
    assert_int_equal(back->end_ms, 99);
    codec_free(&back->base);
    for (int round = 0; round < 2; round++) {
        h_broker_stop(&h);
        if (round == 1)
            h_sleep_ms(H_HB * (BUS_LIVENESS + 2)); /* silence: the worker reconnects itself */
        assert_int_equal(h_broker_start(&h), 0);
        int ok = 0;
        for (int i = 0; i < 60 && !ok; i++) {
            if (bus_call(c, "echo", "echo", NULL, NULL, 200, NULL, NULL, NULL) == 0)
                ok = 1;
            else
                h_sleep_ms(50);
        }
        assert_true(ok);
    }
    bus_client_destroy(&c);
    tw_stop(&w);
    h_teardown(&h);
}

static void test_zap_decide(void **state)
{
    (void)state;
    harness_t h;
    assert_int_equal(h_setup(&h, 0), 0);
    uint8_t svc[32], pro[32], unk[32], sec[32];
    crypto_box_keypair(svc, sec);
    crypto_box_keypair(pro, sec);
    crypto_box_keypair(unk, sec);
    assert_int_equal(h_key_add(&h, svc, ESPACE__V1__PEER_ROLE__PEER_SERVICE, "s"), 0);
    assert_int_equal(h_key_add(&h, pro, ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE, "p"), 0);
    store_t *s = NULL;
    assert_int_equal(h_broker_store_open(&h, &s), 0);
    char uid[128];
    assert_int_equal(zap_decide(s, "req", 3, "CURVE", 5, svc, 32, uid, sizeof(uid)), 200);
    int role;
    char key[BUS_KEY_Z85], z[BUS_KEY_Z85];
    assert_int_equal(zap_parse_user_id(uid, &role, key), 0);
    assert_int_equal(role, ESPACE__V1__PEER_ROLE__PEER_SERVICE);
    bus_key_z85(svc, z);
    assert_string_equal(key, z);
    assert_int_equal(zap_decide(s, "events", 6, "CURVE", 5, svc, 32, uid, sizeof(uid)), 200);
    assert_int_equal(zap_decide(s, "req", 3, "CURVE", 5, pro, 32, uid, sizeof(uid)), 200);
    assert_int_equal(zap_decide(s, "events", 6, "CURVE", 5, pro, 32, uid, sizeof(uid)), 400);
    assert_int_equal(zap_decide(s, "req", 3, "CURVE", 5, unk, 32, uid, sizeof(uid)), 400);
    assert_int_equal(zap_decide(s, "other", 5, "CURVE", 5, svc, 32, uid, sizeof(uid)), 400);
    assert_int_equal(zap_decide(s, "req", 3, "PLAIN", 5, svc, 32, uid, sizeof(uid)), 400);
    assert_int_equal(zap_decide(s, "req", 3, "CURVE", 5, svc, 31, uid, sizeof(uid)), 400);
    assert_int_equal(zap_parse_user_id("service", &role, key), ES_INVALID_ARGUMENT);
    assert_int_equal(zap_parse_user_id("root:abc", &role, key), ES_INVALID_ARGUMENT);
    store_close(&s);
    h_teardown(&h);
}

/* ---- raw requests ---- */

#define S_RAW_N 300 /* requests in flight at once in test_raw_pipelined */

/* What the raw callback saw. */
typedef struct s_got {
    size_t n;
    struct {
        uint64_t id;
        void *user;
        int status;
        char message[64];
        char field[32];
        uint8_t *body;
        size_t len;
    } r[S_RAW_N];
} s_got_t;

static void s_collect(void *arg, const bus_raw_reply_t *r)
{
    s_got_t *g = arg;
    assert_true(g->n < S_RAW_N);
    assert_non_null(r->message);
    assert_non_null(r->field);
    g->r[g->n].id = r->id;
    g->r[g->n].user = r->user;
    g->r[g->n].status = r->status;
    snprintf(g->r[g->n].message, sizeof(g->r[0].message), "%s", r->message);
    snprintf(g->r[g->n].field, sizeof(g->r[0].field), "%s", r->field);
    g->r[g->n].len = r->body_len;
    g->r[g->n].body = NULL;
    if (r->body_len > 0) {
        assert_non_null(r->body);
        g->r[g->n].body = malloc(r->body_len);
        memcpy(g->r[g->n].body, r->body, r->body_len);
    } else {
        assert_null(r->body);
    }
    g->n++;
}

static void s_got_clear(s_got_t *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->r[i].body);
    g->n = 0;
}

/* Drive c the way the edge's loop does: process once after the sends (a
 * send may swallow the fd's edge), then only when the edge-triggered fd
 * fires, until g holds `want` replies or `ms` passed. A missed edge makes
 * this time out. */
static void s_pump(bus_client_t *c, s_got_t *g, size_t want, int ms)
{
    int64_t end = bus_mono_ms() + ms;
    assert_int_equal(bus_client_process(c, s_collect, g), 0);
    while (g->n < want) {
        int64_t left = end - bus_mono_ms();
        if (left <= 0)
            break;
        struct pollfd p = {bus_client_fd(c), POLLIN, 0};
        if (poll(&p, 1, (int)left) > 0)
            assert_int_equal(bus_client_process(c, s_collect, g), 0);
    }
}

/* A broker, an "echo" worker and a raw client connected to it. */
static void s_raw_setup(harness_t *h, tworker_t *w, bus_client_t **c)
{
    assert_int_equal(h_setup(h, 0), 0);
    assert_int_equal(h_broker_start(h), 0);
    assert_int_equal(tw_start(w, h->ctx, h_ipc(h->req_ipc), "echo", 8, 0), 0);
    assert_int_equal(tw_wait_registered(w, 5000), 0);
    bus_conn_t conn = h_ipc(h->req_ipc);
    conn.hwm = 10000;
    assert_int_equal(bus_client_new(h->ctx, &conn, c), 0);
    assert_int_equal(bus_client_wait(*c, 2000), 0);
}

/* Hundreds of raw requests in flight at once, every body (empty, binary,
 * large) back intact to the right request; the Caller frame goes through. */
static void test_raw_pipelined(void **state)
{
    (void)state;
    harness_t h;
    tworker_t w;
    bus_client_t *c = NULL;
    s_raw_setup(&h, &w, &c);
    static uint8_t *bodies[S_RAW_N];
    static size_t lens[S_RAW_N];
    static uint64_t ids[S_RAW_N];
    for (size_t i = 0; i < S_RAW_N; i++) {
        lens[i] = i == 0 ? 0 : i == 1 ? 600 * 1024 : (i * 997) % 20000;
        bodies[i] = malloc(lens[i] + 1);
        randombytes_buf(bodies[i], lens[i]);
        assert_int_equal(bus_client_send_raw(c, "echo", "echo", lens[i] ? bodies[i] : NULL,
                                             lens[i], 5000, NULL, &bodies[i], &ids[i]),
                         0);
        assert_true(i == 0 || ids[i] != ids[i - 1]);
    }
    assert_int_equal(bus_client_inflight(c), S_RAW_N);
    s_got_t *g = calloc(1, sizeof(*g));
    s_pump(c, g, S_RAW_N, 10000);
    assert_int_equal(g->n, S_RAW_N);
    assert_int_equal(bus_client_inflight(c), 0);
    static int seen[S_RAW_N];
    memset(seen, 0, sizeof(seen));
    for (size_t k = 0; k < g->n; k++) {
        size_t i = (size_t)((uint8_t **)g->r[k].user - bodies);
        assert_true(i < S_RAW_N);
        assert_false(seen[i]);
        seen[i] = 1;
        assert_int_equal(g->r[k].status, 0);
        assert_int_equal(g->r[k].id, ids[i]);
        assert_int_equal(g->r[k].len, lens[i]);
        if (lens[i] > 0)
            assert_memory_equal(g->r[k].body, bodies[i], lens[i]);
    }
    s_got_clear(g);
    /* the stamped Caller reaches the worker ("who" answers it) */
    Espace__V1__Caller who = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT,
                                      "0123456789abcdef0123456789abcdef");
    assert_int_equal(bus_client_send_raw(c, "echo", "who", NULL, 0, 2000, &who, NULL, NULL), 0);
    s_pump(c, g, 1, 3000);
    assert_int_equal(g->n, 1);
    assert_int_equal(g->r[0].status, 0);
    Espace__V1__Caller *back = NULL;
    assert_int_equal(codec_decode(&espace__v1__caller__descriptor, g->r[0].body, g->r[0].len, 0,
                                  (ProtobufCMessage **)&back, NULL),
                     0);
    assert_int_equal(back->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    assert_string_equal(back->principal, who.principal);
    assert_int_equal(back->peer_role, ESPACE__V1__PEER_ROLE__PEER_LOCAL);
    codec_free(&back->base);
    s_got_clear(g);
    free(g);
    for (size_t i = 0; i < S_RAW_N; i++)
        free(bodies[i]);
    bus_client_destroy(&c);
    tw_stop(&w);
    assert_int_equal(h_teardown(&h), 0);
}

/* Unknown service, unknown method, the broker's deadline, cancel, and the
 * local deadline when the broker is gone. */
static void test_raw_deadlines(void **state)
{
    (void)state;
    harness_t h;
    tworker_t w;
    bus_client_t *c = NULL;
    s_raw_setup(&h, &w, &c);
    s_got_t *g = calloc(1, sizeof(*g));
    int u1, u2, u3;
    /* no such service: UNAVAILABLE from the broker */
    assert_int_equal(bus_client_send_raw(c, "nosuch", "x", NULL, 0, 2000, NULL, &u1, NULL), 0);
    /* a method the worker does not know: its status and field come back */
    assert_int_equal(bus_client_send_raw(c, "echo", "nope", NULL, 0, 2000, NULL, &u2, NULL), 0);
    /* "late" answers after 400 ms: the broker's deadline (100 ms) comes first */
    assert_int_equal(bus_client_send_raw(c, "echo", "late", NULL, 0, 100, NULL, &u3, NULL), 0);
    s_pump(c, g, 3, 3000);
    assert_int_equal(g->n, 3);
    for (size_t k = 0; k < g->n; k++) {
        if (g->r[k].user == &u1) {
            assert_int_equal(g->r[k].status, ES_UNAVAILABLE);
        } else if (g->r[k].user == &u2) {
            assert_int_equal(g->r[k].status, ES_UNIMPLEMENTED);
            assert_string_equal(g->r[k].field, "method");
        } else {
            assert_ptr_equal(g->r[k].user, &u3);
            assert_int_equal(g->r[k].status, ES_DEADLINE_EXCEEDED);
            /* the broker's own answer, before the worker's (status 0) */
            assert_string_not_equal(g->r[k].message, "no answer from the broker");
        }
    }
    s_got_clear(g);
    /* a cancelled request never reaches the callback; its reply is dropped */
    uint64_t id = 0;
    uint64_t dropped = bus_client_dropped(c);
    assert_int_equal(bus_client_send_raw(c, "echo", "echo", (const uint8_t *)"x", 1, 2000, NULL,
                                         &u1, &id),
                     0);
    assert_int_equal(bus_client_cancel(c, id), 0);
    assert_int_equal(bus_client_cancel(c, id), ES_NOT_FOUND);
    assert_int_equal(bus_client_inflight(c), 0);
    for (int i = 0; i < 100 && bus_client_dropped(c) == dropped; i++) {
        s_pump(c, g, 1, 20);
        assert_int_equal(g->n, 0);
    }
    assert_int_equal(bus_client_dropped(c), dropped + 1);
    /* the broker goes away with a request in flight: the local deadline
     * (request deadline + BUS_CALL_MARGIN_MS) answers it, once */
    int64_t t0 = bus_mono_ms();
    assert_int_equal(bus_client_send_raw(c, "echo", "late", NULL, 0, 300, NULL, &u2, &id), 0);
    assert_int_equal(h_broker_stop(&h), 0);
    assert_int_equal(bus_client_expire(c, s_collect, g), 0);
    while (g->n == 0 && bus_mono_ms() - t0 < 300 + BUS_CALL_MARGIN_MS + 2000) {
        h_sleep_ms(20);
        int64_t now = bus_mono_ms();
        size_t n = bus_client_expire(c, s_collect, g);
        if (n > 0)
            assert_true(now - t0 >= 300 + BUS_CALL_MARGIN_MS);
    }
    assert_int_equal(g->n, 1);
    assert_ptr_equal(g->r[0].user, &u2);
    assert_int_equal(g->r[0].id, id);
    assert_int_equal(g->r[0].status, ES_DEADLINE_EXCEEDED);
    assert_string_equal(g->r[0].message, "no answer from the broker");
    assert_int_equal(bus_client_inflight(c), 0);
    assert_int_equal(bus_client_expire(c, s_collect, g), 0);
    assert_int_equal(bus_client_process(c, s_collect, g), 0);
    assert_int_equal(g->n, 1);
    s_got_clear(g);
    free(g);
    bus_client_destroy(&c);
    tw_stop(&w);
    assert_int_equal(h_teardown(&h), 0);
}

/* Over tcp with a `gateway` key, as the edge: a patient's Caller is stamped
 * with the gateway role; an operator's is refused. */
static void test_raw_gateway(void **state)
{
    (void)state;
    harness_t h;
    assert_int_equal(h_setup(&h, 1), 0);
    h_peer_t gw;
    assert_int_equal(h_peer_add(&h, &gw, ESPACE__V1__PEER_ROLE__PEER_GATEWAY, "gw"), 0);
    assert_int_equal(h_tcp_start(&h), 0);
    tworker_t w;
    assert_int_equal(tw_start(&w, h.ctx, h_ipc(h.req_ipc), "echo", 4, 0), 0);
    assert_int_equal(tw_wait_registered(&w, 5000), 0);
    bus_conn_t conn = h_tcp(&h, h.req_tcp, &gw);
    bus_client_t *c = NULL;
    assert_int_equal(bus_client_new(h.ctx, &conn, &c), 0);
    assert_int_equal(bus_client_wait(c, 3000), 0);
    Espace__V1__Caller pat = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT,
                                      "0123456789abcdef0123456789abcdef");
    pat.peer_role = ESPACE__V1__PEER_ROLE__PEER_SERVICE; /* the broker overwrites it */
    Espace__V1__Caller op = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "root");
    int u1, u2;
    s_got_t *g = calloc(1, sizeof(*g));
    /* the CURVE handshake may still be under way: retry while UNAVAILABLE */
    for (int i = 0; i < 100; i++) {
        int rc = bus_client_send_raw(c, "echo", "who", NULL, 0, 2000, &pat, &u1, NULL);
        if (rc == 0)
            break;
        assert_int_equal(rc, ES_UNAVAILABLE);
        h_sleep_ms(20);
    }
    assert_int_equal(bus_client_send_raw(c, "echo", "who", NULL, 0, 2000, &op, &u2, NULL), 0);
    s_pump(c, g, 2, 5000);
    assert_int_equal(g->n, 2);
    for (size_t k = 0; k < 2; k++) {
        if (g->r[k].user == &u2) {
            assert_int_equal(g->r[k].status, ES_PERMISSION_DENIED);
            assert_string_equal(g->r[k].field, "caller");
            continue;
        }
        assert_int_equal(g->r[k].status, 0);
        Espace__V1__Caller *back = NULL;
        assert_int_equal(codec_decode(&espace__v1__caller__descriptor, g->r[k].body,
                                      g->r[k].len, 0, (ProtobufCMessage **)&back, NULL),
                         0);
        assert_int_equal(back->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
        assert_string_equal(back->principal, pat.principal);
        assert_int_equal(back->peer_role, ESPACE__V1__PEER_ROLE__PEER_GATEWAY);
        codec_free(&back->base);
    }
    s_got_clear(g);
    free(g);
    bus_client_destroy(&c);
    tw_stop(&w);
    assert_int_equal(h_teardown(&h), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keypair),
        cmocka_unit_test(test_z85),
        cmocka_unit_test(test_socket_setup),
        cmocka_unit_test(test_frames_parse),
        cmocka_unit_test(test_client_no_broker),
        cmocka_unit_test(test_worker_reregisters),
        cmocka_unit_test(test_zap_decide),
        cmocka_unit_test(test_raw_pipelined),
        cmocka_unit_test(test_raw_deadlines),
        cmocka_unit_test(test_raw_gateway),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
