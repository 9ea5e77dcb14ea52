/* End-to-end tests of services/identity through the real runtime: a broker
 * thread and an identity service thread on ipc endpoints in a mkdtemp
 * folder; requests through bus_client, events through bus_sub. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <poll.h>
#include <sys/stat.h>
#include <pthread.h>
#include <sodium.h>
#include <unistd.h>
#include <zmq.h>

#include "test/harness/harness.h"
#include "bus/codec.h"
#include "services/identity/identity.h"
#include "services/identity/identity_int.h"
#include "proto/names.h"
#include "espace/v1/identity.pb-c.h"
#include "proto/status.h"
#include "services/identity/token.h"

#define T_MS 5000
#define PASSWORD "correct horse battery"

typedef struct env {
    harness_t h;  /* broker thread, folder, endpoints, context */
    h_svc_t svc;  /* the identity service thread */
    bus_client_t *local; /* ipc client: may stamp its own Caller */
    uint8_t token_pk[TOKEN_PUBLIC_BYTES];
    unsigned ins_seq;
} env_t;

static env_t *E;

/* ------------------------------------------------------------- harness */

static int s_setup(void **state)
{
    (void)state;
    env_t *e = calloc(1, sizeof *e);
    if (!e || sodium_init() < 0)
        return -1;
    setenv("ESPACE_PWHASH", "min", 1);
    E = e;
    if (h_setup(&e->h, 0) != 0)
        return -1;
    e->h.hb = BUS_HEARTBEAT_MS;
    if (h_broker_start(&e->h) != 0 || h_svc_start(&e->h, &e->svc, &identity_service) != 0)
        return -1;
    if (h_client(&e->h, &e->local) != 0)
        return -1;
    /* the service may have sent READY before the broker took it in: wait
     * until identity answers (bounded) */
    Espace__V1__AuthenticateRequest areq = ESPACE__V1__AUTHENTICATE_REQUEST__INIT;
    areq.token = "x";
    if (h_call_served(e->local, SERVICE_IDENTITY, "Authenticate", &areq.base, NULL, 1000, NULL,
                      NULL, NULL) != ES_UNAUTHENTICATED)
        return -1;
    char pub[256];
    snprintf(pub, sizeof pub, "%s/identity/%s.pub", e->h.dir, IDENTITY_TOKEN_KEY);
    if (token_public_load(pub, e->token_pk) != 0)
        return -1;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    env_t *e = E;
    if (!e)
        return -1;
    bus_client_destroy(&e->local);
    int ok = h_svc_stop(&e->svc) == 0;
    ok = h_teardown(&e->h) == 0 && ok;
    free(e);
    E = NULL;
    return ok ? 0 : -1;
}

/* A fresh valid INS (13-digit body + key), distinct per call. */
static void s_new_ins(char out[16])
{
    unsigned n = ++E->ins_seq;
    snprintf(out, 16, "1850675%06u", n % 1000000u);
    uint64_t body = 0;
    for (int i = 0; i < 13; i++)
        body = body * 10 + (uint64_t)(out[i] - '0');
    unsigned key = 97u - (unsigned)(body % 97u);
    out[13] = (char)('0' + key / 10);
    out[14] = (char)('0' + key % 10);
    out[15] = '\0';
}

/* Call identity from the local client, optionally stamped with a caller. */
static int s_call(bus_client_t *c, const char *method, const ProtobufCMessage *req,
                  const ProtobufCMessageDescriptor *rd, const Espace__V1__Caller *caller,
                  ProtobufCMessage **reply, bus_reply_t *r)
{
    return bus_call(c, SERVICE_IDENTITY, method, req, rd, T_MS, caller, reply, r);
}

static const Espace__V1__Caller *s_operator(void)
{
    static Espace__V1__Caller op;
    op = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "operator");
    return &op;
}

static char *s_first_names_default[] = {"Marie", "Claire"};

static int s_sign_up(const char *ins, char patient_id[33], bus_reply_t *r)
{
    Espace__V1__SignUpPatientRequest req = ESPACE__V1__SIGN_UP_PATIENT_REQUEST__INIT;
    req.ins = (char *)ins;
    req.birth_names = "Dupont";
    req.n_first_names = 2;
    req.first_names = s_first_names_default;
    req.birth_date = "1985-06-07";
    req.password = PASSWORD;
    Espace__V1__SignUpPatientReply *rep = NULL;
    int rc = s_call(E->local, "SignUpPatient", &req.base,
                    &espace__v1__sign_up_patient_reply__descriptor, NULL,
                    (ProtobufCMessage **)&rep, r);
    if (rc == 0) {
        if (patient_id)
            snprintf(patient_id, 33, "%s", rep->patient_id);
        codec_free(&rep->base);
    }
    return rc;
}

/* Login by INS (or RPPS when rpps != NULL). *out freed by the caller. */
static int s_login(const char *ins, const char *rpps, const char *password,
                   const ProtobufCBinaryData *device_id, Espace__V1__DeviceKeys *keys,
                   Espace__V1__LoginReply **out, bus_reply_t *r)
{
    Espace__V1__LoginRequest req = ESPACE__V1__LOGIN_REQUEST__INIT;
    if (rpps) {
        req.who_case = ESPACE__V1__LOGIN_REQUEST__WHO_RPPS;
        req.rpps = (char *)rpps;
    } else {
        req.who_case = ESPACE__V1__LOGIN_REQUEST__WHO_INS;
        req.ins = (char *)ins;
    }
    req.password = (char *)password;
    if (device_id)
        req.device_id = *device_id;
    req.device_name = "test browser";
    req.device_keys = keys;
    Espace__V1__LoginReply *rep = NULL;
    int rc = s_call(E->local, "Login", &req.base, &espace__v1__login_reply__descriptor, NULL,
                    (ProtobufCMessage **)&rep, r);
    if (out)
        *out = rep;
    else
        codec_free((ProtobufCMessage *)rep);
    return rc;
}

/* A client bound to the session of `token`. */
static bus_client_t *s_session_client(const char *token)
{
    bus_client_t *c = NULL;
    assert_int_equal(h_client(&E->h, &c), 0);
    Espace__V1__Caller *caller = NULL;
    bus_reply_t r;
    assert_int_equal(bus_client_auth(c, token, T_MS, &caller, &r), 0);
    assert_non_null(caller);
    codec_free(&caller->base);
    return c;
}

static int s_authenticate(const char *token, Espace__V1__AuthenticateReply **out)
{
    Espace__V1__AuthenticateRequest req = ESPACE__V1__AUTHENTICATE_REQUEST__INIT;
    req.token = (char *)token;
    Espace__V1__AuthenticateReply *rep = NULL;
    int rc = s_call(E->local, "Authenticate", &req.base,
                    &espace__v1__authenticate_reply__descriptor, NULL, (ProtobufCMessage **)&rep,
                    NULL);
    if (out)
        *out = rep;
    else
        codec_free((ProtobufCMessage *)rep);
    return rc;
}

static void s_make_keys(Espace__V1__DeviceKeys *k, uint8_t sign_pk[32], uint8_t dh_pk[32])
{
    uint8_t sk[64], dsk[32];
    crypto_sign_keypair(sign_pk, sk);
    crypto_box_keypair(dh_pk, dsk);
    espace__v1__device_keys__init(k);
    k->sign_public.data = sign_pk;
    k->sign_public.len = 32;
    k->dh_public.data = dh_pk;
    k->dh_public.len = 32;
}

/* Wait for a revocation event naming session `sid`. */
static int s_wait_revoked(bus_sub_t *sub, const uint8_t sid[16])
{
    int64_t end = bus_mono_ms() + T_MS;
    while (bus_mono_ms() < end) {
        char topic[BUS_MAX_TOPIC + 1];
        Espace__V1__Event *ev = NULL;
        if (bus_sub_recv(sub, 500, topic, &ev) != 0)
            continue;
        int match = 0;
        Espace__V1__SessionRevoked *sr = NULL;
        if (strcmp(topic, TOPIC_SESSION_REVOKED) == 0 &&
            codec_decode(&espace__v1__session_revoked__descriptor, ev->body.data, ev->body.len, 0,
                         (ProtobufCMessage **)&sr, NULL) == 0) {
            match = sr->session_id.len == 16 && memcmp(sr->session_id.data, sid, 16) == 0 &&
                    sr->expires_ms > 0 && sr->principal[0] != '\0';
            codec_free(&sr->base);
        }
        codec_free(&ev->base);
        if (match)
            return 0;
    }
    return -1;
}

static bus_sub_t *s_subscriber(void)
{
    bus_sub_t *sub = NULL;
    assert_int_equal(h_sub(&E->h, &sub), 0);
    assert_int_equal(bus_subscribe(sub, TOPIC_SESSION_REVOKED), 0);
    /* slow joiner: let the subscription reach the broker */
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return sub;
}

/* --------------------------------------------------------------- tests */

static void test_lock_schedule(void **state)
{
    (void)state;
    assert_true(identity_lock_ms(0) == 0);
    assert_true(identity_lock_ms(4) == 0);
    assert_true(identity_lock_ms(5) == 1000);
    assert_true(identity_lock_ms(6) == 2000);
    assert_true(identity_lock_ms(14) == 512000);
    assert_true(identity_lock_ms(15) == IDENTITY_LOCK_MAX_MS);
    assert_true(identity_lock_ms(1000) == IDENTITY_LOCK_MAX_MS);
    assert_true(identity_lock_ms(UINT32_MAX) == IDENTITY_LOCK_MAX_MS);
}

static void test_sign_up_ok_and_duplicate(void **state)
{
    (void)state;
    char ins[16], pid[33], spaced[40];
    bus_reply_t r;
    s_new_ins(ins);
    assert_int_equal(s_sign_up(ins, pid, &r), 0);
    assert_int_equal(strlen(pid), 32);
    for (int i = 0; i < 32; i++)
        assert_non_null(strchr("0123456789abcdef", pid[i]));
    /* the same INS written with spaces is the same INS */
    snprintf(spaced, sizeof spaced, "%.1s %.2s %.2s %.2s %.3s %.3s %.2s", ins, ins + 1, ins + 3,
             ins + 5, ins + 7, ins + 10, ins + 13);
    assert_int_equal(s_sign_up(spaced, NULL, &r), ES_ALREADY_EXISTS);
    assert_string_equal(r.field, "ins");
}

static void test_sign_up_invalid_fields(void **state)
{
    (void)state;
    char ins[16], bad_ins[16], long_name[120], long_first[70], long_pw[300];
    s_new_ins(ins);
    memcpy(bad_ins, ins, sizeof ins);
    bad_ins[14] = bad_ins[14] == '9' ? '0' : (char)(bad_ins[14] + 1);
    memset(long_name, 'a', 101);
    long_name[101] = '\0';
    memset(long_first, 'b', 61);
    long_first[61] = '\0';
    memset(long_pw, 'p', 257);
    long_pw[257] = '\0';
    char *one[] = {"Marie"};
    char *empty_second[] = {"Marie", ""};
    char *too_long_first[] = {long_first};
    char *eleven[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"};
    char *ctrl_first[] = {"Ma\x01rie"};

    struct {
        const char *ins, *birth_names, *birth_date, *password;
        char **first;
        size_t n_first;
        const char *field;
    } cases[] = {
        {bad_ins, "Dupont", "1985-06-07", PASSWORD, one, 1, "ins"},
        {"12345", "Dupont", "1985-06-07", PASSWORD, one, 1, "ins"},
        {"", "Dupont", "1985-06-07", PASSWORD, one, 1, "ins"},
        {ins, "", "1985-06-07", PASSWORD, one, 1, "birth_names"},
        {ins, "   ", "1985-06-07", PASSWORD, one, 1, "birth_names"},
        {ins, long_name, "1985-06-07", PASSWORD, one, 1, "birth_names"},
        {ins, "Du\npont", "1985-06-07", PASSWORD, one, 1, "birth_names"},
        {ins, "Dupont", "1985-06-07", PASSWORD, NULL, 0, "first_names"},
        {ins, "Dupont", "1985-06-07", PASSWORD, eleven, 11, "first_names"},
        {ins, "Dupont", "1985-06-07", PASSWORD, empty_second, 2, "first_names[1]"},
        {ins, "Dupont", "1985-06-07", PASSWORD, too_long_first, 1, "first_names[0]"},
        {ins, "Dupont", "1985-06-07", PASSWORD, ctrl_first, 1, "first_names[0]"},
        {ins, "Dupont", "2023-02-29", PASSWORD, one, 1, "birth_date"},
        {ins, "Dupont", "1889-12-31", PASSWORD, one, 1, "birth_date"},
        {ins, "Dupont", "2999-01-01", PASSWORD, one, 1, "birth_date"},
        {ins, "Dupont", "1985-13-01", PASSWORD, one, 1, "birth_date"},
        {ins, "Dupont", "1985-6-07", PASSWORD, one, 1, "birth_date"},
        {ins, "Dupont", "07/06/1985", PASSWORD, one, 1, "birth_date"},
        {ins, "Dupont", "", PASSWORD, one, 1, "birth_date"},
        {ins, "Dupont", "1985-06-07", "short pw 11", one, 1, "password"},
        {ins, "Dupont", "1985-06-07", long_pw, one, 1, "password"},
        {ins, "Dupont", "1985-06-07", "twelve chars\x7f", one, 1, "password"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Espace__V1__SignUpPatientRequest req = ESPACE__V1__SIGN_UP_PATIENT_REQUEST__INIT;
        req.ins = (char *)cases[i].ins;
        req.birth_names = (char *)cases[i].birth_names;
        req.first_names = cases[i].first;
        req.n_first_names = cases[i].n_first;
        req.birth_date = (char *)cases[i].birth_date;
        req.password = (char *)cases[i].password;
        bus_reply_t r;
        int rc = s_call(E->local, "SignUpPatient", &req.base,
                        &espace__v1__sign_up_patient_reply__descriptor, NULL, NULL, &r);
        if (rc != ES_INVALID_ARGUMENT || strcmp(r.field, cases[i].field) != 0)
            fail_msg("case %zu: rc=%d field=%s (want %s)", i, rc, r.field, cases[i].field);
    }
    /* edge values that are valid: 1890-01-01, a leap day, 12 and 256 chars,
     * 10 first names, accents (multi-byte characters count as one) */
    Espace__V1__SignUpPatientRequest req = ESPACE__V1__SIGN_UP_PATIENT_REQUEST__INIT;
    char *ten[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "Élodie"};
    char pw256[260];
    memset(pw256, 'x', 256);
    pw256[256] = '\0';
    char name100[220] = "";
    for (int i = 0; i < 100; i++)
        strcat(name100, "é");
    req.ins = ins;
    req.birth_names = name100;
    req.first_names = ten;
    req.n_first_names = 10;
    req.birth_date = "2000-02-29";
    req.password = pw256;
    Espace__V1__SignUpPatientReply *rep = NULL;
    bus_reply_t r;
    /* nothing of the refused attempts was stored: this INS is still free */
    assert_int_equal(s_call(E->local, "SignUpPatient", &req.base,
                            &espace__v1__sign_up_patient_reply__descriptor, NULL,
                            (ProtobufCMessage **)&rep, &r),
                     0);
    codec_free(&rep->base);
    s_new_ins(ins);
    req.ins = ins;
    req.birth_names = "Dupont";
    req.birth_date = "1890-01-01";
    req.password = "exactly12chr";
    assert_int_equal(s_call(E->local, "SignUpPatient", &req.base, NULL, NULL, NULL, &r), 0);
}

static void test_login_and_authenticate(void **state)
{
    (void)state;
    char ins[16], pid[33], lower[40];
    bus_reply_t r;
    s_new_ins(ins);
    assert_int_equal(s_sign_up(ins, pid, &r), 0);

    Espace__V1__LoginReply *rep = NULL;
    snprintf(lower, sizeof lower, " %s ", ins);
    assert_int_equal(s_login(lower, NULL, PASSWORD, NULL, NULL, &rep, &r), 0);
    assert_int_equal(rep->session_id.len, 16);
    assert_int_equal(rep->device_id.len, 16);
    assert_non_null(rep->caller);
    assert_int_equal(rep->caller->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    assert_string_equal(rep->caller->principal, pid);
    assert_true(rep->expires_ms > bus_wall_ms() + IDENTITY_SESSION_MS - 60000);
    assert_true(rep->caller->session_expires_ms == rep->expires_ms);

    /* the token verifies with the published key and says the same */
    token_fields_t tf;
    assert_int_equal(token_verify(E->token_pk, rep->token, bus_wall_ms(), &tf), 0);
    assert_int_equal(tf.kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    assert_string_equal(tf.principal, pid);
    assert_memory_equal(tf.session_id, rep->session_id.data, 16);
    assert_memory_equal(tf.device_id, rep->device_id.data, 16);
    assert_true(tf.expires_ms == rep->expires_ms);

    /* Authenticate, directly */
    Espace__V1__AuthenticateReply *arep = NULL;
    assert_int_equal(s_authenticate(rep->token, &arep), 0);
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
    assert_int_equal(s_authenticate(bad, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(s_authenticate("garbage", NULL), ES_UNAUTHENTICATED);
    assert_int_equal(s_authenticate("", NULL), ES_UNAUTHENTICATED);

    /* WhoAmI through a connection bound with AUTH */
    bus_client_t *c = s_session_client(rep->token);
    Espace__V1__WhoAmIRequest wreq = ESPACE__V1__WHO_AM_IREQUEST__INIT;
    Espace__V1__WhoAmIReply *wrep = NULL;
    assert_int_equal(s_call(c, "WhoAmI", &wreq.base, &espace__v1__who_am_ireply__descriptor,
                            NULL, (ProtobufCMessage **)&wrep, &r),
                     0);
    assert_string_equal(wrep->display_name, "Marie Dupont");
    assert_string_equal(wrep->caller->principal, pid);
    assert_memory_equal(wrep->caller->session_id.data, rep->session_id.data, 16);
    codec_free(&wrep->base);

    /* a second login reusing the device: same device, a new session */
    Espace__V1__LoginReply *rep2 = NULL;
    assert_int_equal(s_login(ins, NULL, PASSWORD, &rep->device_id, NULL, &rep2, &r), 0);
    assert_memory_equal(rep2->device_id.data, rep->device_id.data, 16);
    assert_memory_not_equal(rep2->session_id.data, rep->session_id.data, 16);

    /* ListSessions: both, the first one current */
    Espace__V1__ListSessionsRequest lreq = ESPACE__V1__LIST_SESSIONS_REQUEST__INIT;
    Espace__V1__ListSessionsReply *lrep = NULL;
    assert_int_equal(s_call(c, "ListSessions", &lreq.base,
                            &espace__v1__list_sessions_reply__descriptor, NULL,
                            (ProtobufCMessage **)&lrep, &r),
                     0);
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
    bus_sub_t *sub = s_subscriber();
    Espace__V1__RevokeSessionRequest rreq = ESPACE__V1__REVOKE_SESSION_REQUEST__INIT;
    rreq.session_id = rep2->session_id;
    assert_int_equal(s_call(c, "RevokeSession", &rreq.base, NULL, NULL, NULL, &r), 0);
    assert_int_equal(s_wait_revoked(sub, rep2->session_id.data), 0);
    assert_int_equal(s_authenticate(rep2->token, NULL), ES_UNAUTHENTICATED);
    bus_client_t *c2 = NULL;
    assert_int_equal(h_client(&E->h, &c2), 0);
    assert_int_equal(bus_client_auth(c2, rep2->token, T_MS, NULL, &r), ES_UNAUTHENTICATED);
    bus_client_destroy(&c2);
    /* revoking it again is harmless; an unknown id is NOT_FOUND */
    assert_int_equal(s_call(c, "RevokeSession", &rreq.base, NULL, NULL, NULL, &r), 0);
    uint8_t rnd[16];
    randombytes_buf(rnd, sizeof rnd);
    rreq.session_id.data = rnd;
    assert_int_equal(s_call(c, "RevokeSession", &rreq.base, NULL, NULL, NULL, &r), ES_NOT_FOUND);
    rreq.session_id.len = 3;
    assert_int_equal(s_call(c, "RevokeSession", &rreq.base, NULL, NULL, NULL, &r),
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
    assert_int_equal(s_call(E->local, "WhoAmI", &wreq.base, NULL, &stamped, NULL, &r),
                     ES_UNAUTHENTICATED);
    /* ... and with the live session but another principal too */
    stamped.session_id = rep->session_id;
    stamped.principal = "00000000000000000000000000000000";
    assert_int_equal(s_call(E->local, "WhoAmI", &wreq.base, NULL, &stamped, NULL, &r),
                     ES_UNAUTHENTICATED);
    stamped.principal = pid;
    assert_int_equal(s_call(E->local, "WhoAmI", &wreq.base, NULL, &stamped, NULL, &r), 0);

    /* Logout: event, then the token is dead */
    Espace__V1__LogoutRequest oreq = ESPACE__V1__LOGOUT_REQUEST__INIT;
    assert_int_equal(s_call(c, "Logout", &oreq.base, NULL, NULL, NULL, &r), 0);
    assert_int_equal(s_wait_revoked(sub, rep->session_id.data), 0);
    assert_int_equal(s_authenticate(rep->token, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(s_call(E->local, "WhoAmI", &wreq.base, NULL, &stamped, NULL, &r),
                     ES_UNAUTHENTICATED);

    bus_sub_destroy(&sub);
    bus_client_destroy(&c);
    codec_free(&rep2->base);
    codec_free(&rep->base);
}

static void test_login_failures_and_lockout(void **state)
{
    (void)state;
    char ins[16], other[16];
    bus_reply_t r, r2;
    s_new_ins(ins);
    s_new_ins(other); /* never signed up */
    assert_int_equal(s_sign_up(ins, NULL, &r), 0);

    /* unknown account and wrong password: same answer */
    assert_int_equal(s_login(other, NULL, PASSWORD, NULL, NULL, NULL, &r), ES_UNAUTHENTICATED);
    assert_int_equal(s_login(ins, NULL, "wrong password!", NULL, NULL, NULL, &r2),
                     ES_UNAUTHENTICATED);
    assert_string_equal(r.message, r2.message);
    assert_string_equal(r.field, r2.field);
    /* malformed identifiers are INVALID_ARGUMENT with the field */
    assert_int_equal(s_login("123", NULL, PASSWORD, NULL, NULL, NULL, &r), ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "ins");
    assert_int_equal(s_login(NULL, "123", PASSWORD, NULL, NULL, NULL, &r), ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "rpps");

    /* 4 more failures (5 in a row): the account locks for 1 s */
    for (int i = 0; i < 4; i++)
        assert_int_equal(s_login(ins, NULL, "wrong password!", NULL, NULL, NULL, &r),
                         ES_UNAUTHENTICATED);
    /* even the right password is not checked while locked */
    assert_int_equal(s_login(ins, NULL, PASSWORD, NULL, NULL, NULL, &r), ES_RESOURCE_EXHAUSTED);
    /* the lock is per account */
    char ins3[16];
    s_new_ins(ins3);
    assert_int_equal(s_sign_up(ins3, NULL, &r), 0);
    assert_int_equal(s_login(ins3, NULL, PASSWORD, NULL, NULL, NULL, &r), 0);

    struct timespec ts = {1, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_int_equal(s_login(ins, NULL, PASSWORD, NULL, NULL, NULL, &r), 0);
    /* the success reset the count: one failure does not lock */
    assert_int_equal(s_login(ins, NULL, "wrong password!", NULL, NULL, NULL, &r),
                     ES_UNAUTHENTICATED);
    assert_int_equal(s_login(ins, NULL, PASSWORD, NULL, NULL, NULL, &r), 0);
}

/* CreateProfessional req, by the operator, fails with status on field. */
static void s_create_pro_fails(const Espace__V1__CreateProfessionalRequest *req, int status,
                               const char *field)
{
    bus_reply_t r;
    assert_int_equal(s_call(E->local, "CreateProfessional", &req->base, NULL, s_operator(), NULL,
                            &r),
                     status);
    assert_string_equal(r.field, field);
}

static void test_professionals(void **state)
{
    (void)state;
    bus_reply_t r;
    Espace__V1__CreateProfessionalRequest req = ESPACE__V1__CREATE_PROFESSIONAL_REQUEST__INIT;
    req.rpps = "10002673899";
    req.last_name = "Martin";
    req.first_name = "Paul";
    req.profession = "Médecin";
    req.password = PASSWORD;

    /* anonymous: refused, and nothing created */
    assert_int_not_equal(s_call(E->local, "CreateProfessional", &req.base, NULL, NULL, NULL, &r),
                         0);
    /* a patient session: PERMISSION_DENIED */
    char ins[16];
    s_new_ins(ins);
    assert_int_equal(s_sign_up(ins, NULL, &r), 0);
    Espace__V1__LoginReply *lrep = NULL;
    assert_int_equal(s_login(ins, NULL, PASSWORD, NULL, NULL, &lrep, &r), 0);
    bus_client_t *pc = s_session_client(lrep->token);
    assert_int_equal(s_call(pc, "CreateProfessional", &req.base, NULL, NULL, NULL, &r),
                     ES_PERMISSION_DENIED);
    bus_client_destroy(&pc);
    codec_free(&lrep->base);

    /* invalid fields */
    req.rpps = "1000267389A";
    s_create_pro_fails(&req, ES_INVALID_ARGUMENT, "rpps");
    req.rpps = "10002673899";
    req.profession = "";
    s_create_pro_fails(&req, ES_INVALID_ARGUMENT, "profession");
    req.profession = "Médecin";
    req.password = "too short";
    s_create_pro_fails(&req, ES_INVALID_ARGUMENT, "password");
    req.password = PASSWORD;

    /* the operator creates it; a second time is ALREADY_EXISTS */
    Espace__V1__CreateProfessionalReply *crep = NULL;
    assert_int_equal(s_call(E->local, "CreateProfessional", &req.base,
                            &espace__v1__create_professional_reply__descriptor, s_operator(),
                            (ProtobufCMessage **)&crep, &r),
                     0);
    assert_string_equal(crep->rpps, "10002673899");
    codec_free(&crep->base);
    s_create_pro_fails(&req, ES_ALREADY_EXISTS, "rpps");

    /* the professional logs in by RPPS */
    assert_int_equal(s_login(NULL, "10002673899", PASSWORD, NULL, NULL, &lrep, &r), 0);
    assert_int_equal(lrep->caller->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL);
    assert_string_equal(lrep->caller->principal, "10002673899");
    bus_client_t *c = s_session_client(lrep->token);
    Espace__V1__WhoAmIRequest wreq = ESPACE__V1__WHO_AM_IREQUEST__INIT;
    Espace__V1__WhoAmIReply *wrep = NULL;
    assert_int_equal(s_call(c, "WhoAmI", &wreq.base, &espace__v1__who_am_ireply__descriptor, NULL,
                            (ProtobufCMessage **)&wrep, &r),
                     0);
    assert_string_equal(wrep->display_name, "Paul Martin");
    assert_string_equal(wrep->profession, "Médecin");
    codec_free(&wrep->base);
    bus_client_destroy(&c);
    codec_free(&lrep->base);
    assert_int_equal(s_login(NULL, "10002673899", "wrong password!", NULL, NULL, NULL, &r),
                     ES_UNAUTHENTICATED);
}

static void test_devices(void **state)
{
    (void)state;
    bus_reply_t r;
    char ins[16], pid[33], ins2[16];
    s_new_ins(ins);
    s_new_ins(ins2);
    assert_int_equal(s_sign_up(ins, pid, &r), 0);
    assert_int_equal(s_sign_up(ins2, NULL, &r), 0);

    Espace__V1__LoginReply *a = NULL, *b = NULL;
    assert_int_equal(s_login(ins, NULL, PASSWORD, NULL, NULL, &a, &r), 0);
    assert_int_equal(s_login(ins2, NULL, PASSWORD, NULL, NULL, &b, &r), 0);
    bus_client_t *ca = s_session_client(a->token);
    bus_client_t *cb = s_session_client(b->token);

    /* register the keys of a's device: bad keys refused, then once only */
    Espace__V1__DeviceKeys keys;
    uint8_t spk[32], dpk[32];
    s_make_keys(&keys, spk, dpk);
    Espace__V1__RegisterDeviceKeysRequest kreq = ESPACE__V1__REGISTER_DEVICE_KEYS_REQUEST__INIT;
    Espace__V1__DeviceKeys bad = keys;
    uint8_t ff[32];
    memset(ff, 0xff, sizeof ff);
    bad.sign_public.data = ff; /* not a valid Ed25519 point */
    kreq.keys = &bad;
    assert_int_equal(s_call(ca, "RegisterDeviceKeys", &kreq.base, NULL, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "keys.sign_public");
    bad = keys;
    bad.dh_public.len = 31;
    assert_int_equal(s_call(ca, "RegisterDeviceKeys", &kreq.base, NULL, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "keys.dh_public");
    kreq.keys = NULL;
    assert_int_equal(s_call(ca, "RegisterDeviceKeys", &kreq.base, NULL, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    kreq.keys = &keys;
    assert_int_equal(s_call(ca, "RegisterDeviceKeys", &kreq.base, NULL, NULL, NULL, &r), 0);
    assert_int_equal(s_call(ca, "RegisterDeviceKeys", &kreq.base, NULL, NULL, NULL, &r),
                     ES_FAILED_PRECONDITION);

    /* ListDevices: a's one device with its name and keys */
    Espace__V1__ListDevicesRequest lreq = ESPACE__V1__LIST_DEVICES_REQUEST__INIT;
    Espace__V1__ListDevicesReply *lrep = NULL;
    assert_int_equal(s_call(ca, "ListDevices", &lreq.base,
                            &espace__v1__list_devices_reply__descriptor, NULL,
                            (ProtobufCMessage **)&lrep, &r),
                     0);
    assert_int_equal(lrep->n_devices, 1);
    assert_memory_equal(lrep->devices[0]->device_id.data, a->device_id.data, 16);
    assert_string_equal(lrep->devices[0]->name, "test browser");
    assert_non_null(lrep->devices[0]->keys);
    assert_memory_equal(lrep->devices[0]->keys->sign_public.data, spk, 32);
    assert_false(lrep->devices[0]->revoked);
    codec_free(&lrep->base);

    /* b fetches a's keys (no device name for others); the operator too */
    Espace__V1__GetDeviceKeysRequest greq = ESPACE__V1__GET_DEVICE_KEYS_REQUEST__INIT;
    greq.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
    greq.principal = pid;
    Espace__V1__GetDeviceKeysReply *grep = NULL;
    assert_int_equal(s_call(cb, "GetDeviceKeys", &greq.base,
                            &espace__v1__get_device_keys_reply__descriptor, NULL,
                            (ProtobufCMessage **)&grep, &r),
                     0);
    assert_int_equal(grep->n_devices, 1);
    assert_memory_equal(grep->devices[0]->keys->sign_public.data, spk, 32);
    assert_memory_equal(grep->devices[0]->keys->dh_public.data, dpk, 32);
    assert_string_equal(grep->devices[0]->name, "");
    codec_free(&grep->base);
    assert_int_equal(s_call(E->local, "GetDeviceKeys", &greq.base, NULL, s_operator(), NULL, &r),
                     0);
    /* anonymous callers are refused; bad principals are INVALID_ARGUMENT */
    assert_int_equal(s_call(E->local, "GetDeviceKeys", &greq.base, NULL, NULL, NULL, &r),
                     ES_UNAUTHENTICATED);
    greq.principal = "not-an-id";
    assert_int_equal(s_call(cb, "GetDeviceKeys", &greq.base, NULL, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "principal");
    greq.principal = "0123456789abcdef0123456789abcdef";
    assert_int_equal(s_call(cb, "GetDeviceKeys", &greq.base, NULL, NULL, NULL, &r), ES_NOT_FOUND);
    greq.principal = pid;

    /* a login with keys on a new device registers them at once */
    Espace__V1__DeviceKeys keys2;
    uint8_t spk2[32], dpk2[32];
    s_make_keys(&keys2, spk2, dpk2);
    Espace__V1__LoginReply *a2 = NULL;
    assert_int_equal(s_login(ins, NULL, PASSWORD, NULL, &keys2, &a2, &r), 0);
    assert_memory_not_equal(a2->device_id.data, a->device_id.data, 16);
    assert_int_equal(s_call(cb, "GetDeviceKeys", &greq.base,
                            &espace__v1__get_device_keys_reply__descriptor, NULL,
                            (ProtobufCMessage **)&grep, &r),
                     0);
    assert_int_equal(grep->n_devices, 2);
    codec_free(&grep->base);
    /* invalid keys at login */
    Espace__V1__DeviceKeys bad2 = keys2;
    bad2.sign_public.data = ff;
    assert_int_equal(s_login(ins, NULL, PASSWORD, NULL, &bad2, NULL, &r), ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "device_keys.sign_public");

    /* b cannot revoke a's device */
    Espace__V1__RevokeDeviceRequest dreq = ESPACE__V1__REVOKE_DEVICE_REQUEST__INIT;
    dreq.device_id = a->device_id;
    assert_int_equal(s_call(cb, "RevokeDevice", &dreq.base, NULL, NULL, NULL, &r), ES_NOT_FOUND);
    /* nor a's sessions */
    Espace__V1__RevokeSessionRequest rreq = ESPACE__V1__REVOKE_SESSION_REQUEST__INIT;
    rreq.session_id = a->session_id;
    assert_int_equal(s_call(cb, "RevokeSession", &rreq.base, NULL, NULL, NULL, &r), ES_NOT_FOUND);
    assert_int_equal(s_authenticate(a->token, NULL), 0);

    /* a revokes its first device from the second one: the session on it ends */
    bus_sub_t *sub = s_subscriber();
    bus_client_t *ca2 = s_session_client(a2->token);
    assert_int_equal(s_call(ca2, "RevokeDevice", &dreq.base, NULL, NULL, NULL, &r), 0);
    assert_int_equal(s_wait_revoked(sub, a->session_id.data), 0);
    assert_int_equal(s_authenticate(a->token, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(s_authenticate(a2->token, NULL), 0);
    /* GetDeviceKeys omits the revoked device; ListDevices shows it revoked */
    assert_int_equal(s_call(cb, "GetDeviceKeys", &greq.base,
                            &espace__v1__get_device_keys_reply__descriptor, NULL,
                            (ProtobufCMessage **)&grep, &r),
                     0);
    assert_int_equal(grep->n_devices, 1);
    assert_memory_equal(grep->devices[0]->device_id.data, a2->device_id.data, 16);
    codec_free(&grep->base);
    assert_int_equal(s_call(ca2, "ListDevices", &lreq.base,
                            &espace__v1__list_devices_reply__descriptor, NULL,
                            (ProtobufCMessage **)&lrep, &r),
                     0);
    assert_int_equal(lrep->n_devices, 2);
    int revoked = 0;
    for (size_t i = 0; i < lrep->n_devices; i++)
        revoked += lrep->devices[i]->revoked ? 1 : 0;
    assert_int_equal(revoked, 1);
    codec_free(&lrep->base);
    /* a login asking for the revoked device gets a new one */
    Espace__V1__LoginReply *a3 = NULL;
    assert_int_equal(s_login(ins, NULL, PASSWORD, &a->device_id, NULL, &a3, &r), 0);
    assert_memory_not_equal(a3->device_id.data, a->device_id.data, 16);
    /* a device of someone else is not reused either */
    Espace__V1__LoginReply *b2 = NULL;
    assert_int_equal(s_login(ins2, NULL, PASSWORD, &a2->device_id, NULL, &b2, &r), 0);
    assert_memory_not_equal(b2->device_id.data, a2->device_id.data, 16);

    bus_sub_destroy(&sub);
    bus_client_destroy(&ca);
    bus_client_destroy(&ca2);
    bus_client_destroy(&cb);
    codec_free(&a->base);
    codec_free(&a2->base);
    codec_free(&a3->base);
    codec_free(&b->base);
    codec_free(&b2->base);
}

/* Logins on one device keep at most IDENTITY_MAX_DEVICE_SESSIONS live
 * sessions: the oldest is revoked (and announced). */
static void test_sessions_per_device_capped(void **state)
{
    (void)state;
    bus_reply_t r;
    char ins[16];
    s_new_ins(ins);
    assert_int_equal(s_sign_up(ins, NULL, &r), 0);
    Espace__V1__LoginReply *first = NULL, *last = NULL;
    assert_int_equal(s_login(ins, NULL, PASSWORD, NULL, NULL, &first, &r), 0);
    struct timespec ts = {0, 5 * 1000 * 1000}; /* strictly the oldest */
    nanosleep(&ts, NULL);
    for (int i = 1; i < IDENTITY_MAX_DEVICE_SESSIONS; i++) {
        codec_free((ProtobufCMessage *)last);
        assert_int_equal(s_login(ins, NULL, PASSWORD, &first->device_id, NULL, &last, &r), 0);
    }
    assert_int_equal(s_authenticate(first->token, NULL), 0);
    codec_free((ProtobufCMessage *)last);
    assert_int_equal(s_login(ins, NULL, PASSWORD, &first->device_id, NULL, &last, &r), 0);
    assert_int_equal(s_authenticate(first->token, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(s_authenticate(last->token, NULL), 0);
    bus_client_t *c = s_session_client(last->token);
    Espace__V1__ListSessionsRequest lreq = ESPACE__V1__LIST_SESSIONS_REQUEST__INIT;
    Espace__V1__ListSessionsReply *lrep = NULL;
    assert_int_equal(s_call(c, "ListSessions", &lreq.base,
                            &espace__v1__list_sessions_reply__descriptor, NULL,
                            (ProtobufCMessage **)&lrep, &r),
                     0);
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
    const char *methods[] = {"WhoAmI",        "Logout",      "ListSessions", "RevokeSession",
                             "RegisterDeviceKeys", "ListDevices", "RevokeDevice"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        /* anonymous */
        assert_int_equal(s_call(E->local, methods[i], &wreq.base, NULL, NULL, NULL, &r),
                         ES_UNAUTHENTICATED);
        /* the operator has no session */
        assert_int_equal(s_call(E->local, methods[i], &wreq.base, NULL, s_operator(), NULL, &r),
                         ES_UNAUTHENTICATED);
    }
}

/* ResolvePatient: INS -> patient id, for professionals with a live session only. */
static void test_resolve_patient(void **state)
{
    (void)state;
    bus_reply_t r;
    char ins[16], pid[33], other[16];
    s_new_ins(ins);
    s_new_ins(other);
    assert_int_equal(s_sign_up(ins, pid, &r), 0);

    Espace__V1__CreateProfessionalRequest creq = ESPACE__V1__CREATE_PROFESSIONAL_REQUEST__INIT;
    creq.rpps = "10003000007";
    creq.last_name = "Roux";
    creq.first_name = "Anne";
    creq.profession = "Infirmier";
    creq.password = PASSWORD;
    assert_int_equal(s_call(E->local, "CreateProfessional", &creq.base, NULL, s_operator(), NULL,
                            &r),
                     0);
    Espace__V1__LoginReply *lrep = NULL;
    assert_int_equal(s_login(NULL, "10003000007", PASSWORD, NULL, NULL, &lrep, &r), 0);
    bus_client_t *pro = s_session_client(lrep->token);

    Espace__V1__ResolvePatientRequest req = ESPACE__V1__RESOLVE_PATIENT_REQUEST__INIT;
    Espace__V1__ResolvePatientReply *rep = NULL;
    /* the professional resolves the INS (spaces ignored, as in sign-up) */
    char spaced[24];
    snprintf(spaced, sizeof spaced, "%.1s %.12s %.2s", ins, ins + 1, ins + 13);
    req.ins = spaced;
    assert_int_equal(s_call(pro, "ResolvePatient", &req.base,
                            &espace__v1__resolve_patient_reply__descriptor, NULL,
                            (ProtobufCMessage **)&rep, &r),
                     0);
    assert_string_equal(rep->patient_id, pid);
    codec_free(&rep->base);
    /* malformed INS (bad key) */
    char bad[16];
    memcpy(bad, ins, sizeof bad);
    bad[14] = bad[14] == '9' ? '0' : (char)(bad[14] + 1);
    req.ins = bad;
    assert_int_equal(s_call(pro, "ResolvePatient", &req.base, NULL, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "ins");
    req.ins = "";
    assert_int_equal(s_call(pro, "ResolvePatient", &req.base, NULL, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    /* a valid INS without an account */
    req.ins = other;
    assert_int_equal(s_call(pro, "ResolvePatient", &req.base, NULL, NULL, NULL, &r),
                     ES_NOT_FOUND);
    assert_string_equal(r.field, "ins");

    /* everyone else is refused: anonymous, operator, a patient session, a
     * local caller claiming to be a professional without a live session */
    req.ins = ins;
    assert_int_equal(s_call(E->local, "ResolvePatient", &req.base, NULL, NULL, NULL, &r),
                     ES_UNAUTHENTICATED); /* the runtime: no principal at all */
    assert_int_equal(s_call(E->local, "ResolvePatient", &req.base, NULL, s_operator(), NULL, &r),
                     ES_PERMISSION_DENIED);
    Espace__V1__LoginReply *plrep = NULL;
    assert_int_equal(s_login(ins, NULL, PASSWORD, NULL, NULL, &plrep, &r), 0);
    bus_client_t *pc = s_session_client(plrep->token);
    assert_int_equal(s_call(pc, "ResolvePatient", &req.base, NULL, NULL, NULL, &r),
                     ES_PERMISSION_DENIED);
    bus_client_destroy(&pc);
    codec_free(&plrep->base);
    Espace__V1__Caller fake = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL,
                                       "10003000007");
    assert_int_equal(s_call(E->local, "ResolvePatient", &req.base, NULL, &fake, NULL, &r),
                     ES_UNAUTHENTICATED);

    /* after logout the session no longer resolves */
    Espace__V1__LogoutRequest oreq = ESPACE__V1__LOGOUT_REQUEST__INIT;
    assert_int_equal(s_call(pro, "Logout", &oreq.base, NULL, NULL, NULL, &r), 0);
    int got = ES_OK;
    for (int i = 0; i < 50; i++) { /* the broker unbinds on the revocation event */
        got = s_call(pro, "ResolvePatient", &req.base, NULL, NULL, NULL, &r);
        if (got != ES_OK)
            break;
        h_sleep_ms(20);
    }
    assert_true(got == ES_UNAUTHENTICATED || got == ES_PERMISSION_DENIED);
    bus_client_destroy(&pro);
    codec_free(&lrep->base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_schedule),
        cmocka_unit_test(test_sign_up_ok_and_duplicate),
        cmocka_unit_test(test_sign_up_invalid_fields),
        cmocka_unit_test(test_login_and_authenticate),
        cmocka_unit_test(test_login_failures_and_lockout),
        cmocka_unit_test(test_professionals),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_sessions_per_device_capped),
        cmocka_unit_test(test_methods_need_a_session),
        cmocka_unit_test(test_resolve_patient),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
