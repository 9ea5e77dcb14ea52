/*
 * test_bus.c - the bus library (bus.h) and the frame parser (frames.h):
 * keypairs, Z85, socket options, frame validation, client deadlines with no
 * broker, a worker re-registering after DISCONNECT, and zap decisions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
