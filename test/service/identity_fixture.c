/*
 * identity_fixture.c - the scenario fixture of the identity tests
 * (identity_fixture.h).
 */
#include "test/service/identity_fixture.h"

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
#include "proto/names.h"
#include "proto/status.h"
#include "services/consent/consent.h"
#include "services/identity/identity.h"

idf_env_t *idf;
const char *idf_pwhash = "min";
int idf_tcp_peers = 0;

int idf_setup(void **state)
{
    (void)state;
    idf_env_t *e = calloc(1, sizeof *e);
    if (!e || sodium_init() < 0)
        return -1;
    setenv("ESPACE_PWHASH", idf_pwhash, 1);
    idf = e;
    int peers = idf_tcp_peers < IDF_PEERS_MAX ? idf_tcp_peers : IDF_PEERS_MAX;
    if (h_setup(&e->h, peers > 0) != 0)
        return -1;
    e->h.hb = BUS_HEARTBEAT_MS;
    for (int i = 0; i < peers; i++) {
        char name[16];
        snprintf(name, sizeof name, "pro%d", i);
        if (h_peer_add(&e->h, &e->peers[i], ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE, name) != 0)
            return -1;
    }
    if ((peers > 0 ? h_tcp_start(&e->h) : h_broker_start(&e->h)) != 0 ||
        h_svc_start(&e->h, &e->svc, &identity_service) != 0 ||
        h_svc_start(&e->h, &e->consent, &consent_service) != 0)
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
    if (idf_consent_wait() != 0)
        return -1;
    char pub[256];
    snprintf(pub, sizeof pub, "%s/identity/%s.pub", e->h.dir, IDENTITY_TOKEN_KEY);
    if (token_public_load(pub, e->token_pk) != 0)
        return -1;
    return 0;
}

int idf_consent_wait(void)
{
    Espace__V1__Caller op = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "");
    Espace__V1__ListAppsRequest req = ESPACE__V1__LIST_APPS_REQUEST__INIT;
    return h_call_served(idf->local, SERVICE_CONSENT, "ListApps", &req.base, NULL, 1000, &op,
                         NULL, NULL);
}

int idf_teardown(void **state)
{
    (void)state;
    idf_env_t *e = idf;
    if (!e)
        return -1;
    bus_client_destroy(&e->local);
    int ok = h_svc_stop(&e->svc) == 0;
    ok = h_svc_stop(&e->consent) == 0 && ok;
    ok = h_teardown(&e->h) == 0 && ok;
    free(e);
    idf = NULL;
    return ok ? 0 : -1;
}

/* A fresh valid INS (13-digit body + key), distinct per call. */
void idf_new_ins(char out[16])
{
    idf_ins_born('1', "85", "06", out);
}

void idf_ins_born(char sex, const char *yy, const char *mm, char out[16])
{
    unsigned n = ++idf->ins_seq;
    snprintf(out, 16, "%c%.2s%.2s75%06u", sex, yy, mm, n % 1000000u);
    uint64_t body = 0;
    for (int i = 0; i < 13; i++)
        body = body * 10 + (uint64_t)(out[i] - '0');
    unsigned key = 97u - (unsigned)(body % 97u);
    out[13] = (char)('0' + key / 10);
    out[14] = (char)('0' + key % 10);
    out[15] = '\0';
}

/* Call identity from the local client, optionally stamped with a caller. */
int idf_call(bus_client_t *c, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *rd, const Espace__V1__Caller *caller,
             ProtobufCMessage **reply, bus_reply_t *r)
{
    return bus_call(c, SERVICE_IDENTITY, method, req, rd, IDF_T_MS, caller, reply, r);
}

const Espace__V1__Caller *idf_operator(void)
{
    static Espace__V1__Caller op;
    op = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "operator");
    return &op;
}

static char *s_first_names_default[] = {"Marie", "Claire"};

int idf_sign_up_pending(const char *ins, const char *password, bus_reply_t *r)
{
    Espace__V1__SignUpPatientRequest req = ESPACE__V1__SIGN_UP_PATIENT_REQUEST__INIT;
    req.ins = (char *)ins;
    req.birth_names = "Dupont";
    req.n_first_names = 2;
    req.first_names = s_first_names_default;
    req.birth_date = "1985-06-07";
    req.sex = ESPACE__V1__SEX__SEX_MALE;
    req.password = (char *)password;
    Espace__V1__SignUpPatientReply *rep = NULL;
    int rc = idf_call(idf->local, "SignUpPatient", &req.base,
                      &espace__v1__sign_up_patient_reply__descriptor, NULL,
                      (ProtobufCMessage **)&rep, r);
    codec_free((ProtobufCMessage *)rep);
    return rc;
}

int idf_issue_code(const char *ins, char code[IDF_CODE_MAX], bus_reply_t *r)
{
    Espace__V1__IssueActivationCodeRequest req = ESPACE__V1__ISSUE_ACTIVATION_CODE_REQUEST__INIT;
    req.ins = (char *)ins;
    Espace__V1__IssueActivationCodeReply *rep = NULL;
    int rc = idf_call(idf->local, "IssueActivationCode", &req.base,
                      &espace__v1__issue_activation_code_reply__descriptor, idf_operator(),
                      (ProtobufCMessage **)&rep, r);
    if (rc == 0)
        snprintf(code, IDF_CODE_MAX, "%s", rep->code);
    codec_free((ProtobufCMessage *)rep);
    return rc;
}

int idf_activate(const char *ins, const char *code, const char *password, char patient_id[33],
                 bus_reply_t *r)
{
    Espace__V1__ActivateAccountRequest req = ESPACE__V1__ACTIVATE_ACCOUNT_REQUEST__INIT;
    req.ins = (char *)ins;
    req.code = (char *)code;
    req.password = (char *)password;
    Espace__V1__ActivateAccountReply *rep = NULL;
    int rc = idf_call(idf->local, "ActivateAccount", &req.base,
                      &espace__v1__activate_account_reply__descriptor, NULL,
                      (ProtobufCMessage **)&rep, r);
    if (rc == 0 && patient_id)
        snprintf(patient_id, 33, "%s", rep->patient_id);
    codec_free((ProtobufCMessage *)rep);
    return rc;
}

int idf_sign_up(const char *ins, char patient_id[33], bus_reply_t *r)
{
    char code[IDF_CODE_MAX];
    int rc = idf_sign_up_pending(ins, IDF_PASSWORD, r);
    if (rc == 0)
        rc = idf_issue_code(ins, code, r);
    if (rc == 0)
        rc = idf_activate(ins, code, IDF_PASSWORD, patient_id, r);
    return rc;
}

bus_client_t *idf_peer_client(int i)
{
    bus_conn_t conn = h_tcp(&idf->h, idf->h.req_tcp, &idf->peers[i]);
    bus_client_t *c = NULL;
    assert_int_equal(bus_client_new(idf->h.ctx, &conn, &c), 0);
    return c;
}

/* Login by INS (or RPPS when rpps != NULL). *out freed by the caller. */
int idf_login(const char *ins, const char *rpps, const char *password,
              const ProtobufCBinaryData *device_id, Espace__V1__DeviceKeys *keys,
              Espace__V1__LoginReply **out, bus_reply_t *r)
{
    return idf_login_via(idf->local, ins, rpps, password, device_id, keys, out, r);
}

int idf_login_via(bus_client_t *c, const char *ins, const char *rpps, const char *password,
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
    int rc = idf_call(c, "Login", &req.base, &espace__v1__login_reply__descriptor, NULL,
                      (ProtobufCMessage **)&rep, r);
    if (out)
        *out = rep;
    else
        codec_free((ProtobufCMessage *)rep);
    return rc;
}

/* A client bound to the session of `token`. */
bus_client_t *idf_session_client(const char *token)
{
    bus_client_t *c = NULL;
    assert_int_equal(h_client(&idf->h, &c), 0);
    Espace__V1__Caller *caller = NULL;
    bus_reply_t r;
    assert_int_equal(bus_client_auth(c, token, IDF_T_MS, &caller, &r), 0);
    assert_non_null(caller);
    codec_free(&caller->base);
    return c;
}

int idf_authenticate(const char *token, Espace__V1__AuthenticateReply **out)
{
    Espace__V1__AuthenticateRequest req = ESPACE__V1__AUTHENTICATE_REQUEST__INIT;
    req.token = (char *)token;
    Espace__V1__AuthenticateReply *rep = NULL;
    int rc =
        idf_call(idf->local, "Authenticate", &req.base, &espace__v1__authenticate_reply__descriptor,
                 NULL, (ProtobufCMessage **)&rep, NULL);
    if (out)
        *out = rep;
    else
        codec_free((ProtobufCMessage *)rep);
    return rc;
}

void idf_make_keys(Espace__V1__DeviceKeys *k, uint8_t sign_pk[32], uint8_t dh_pk[32])
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
int idf_wait_revoked(bus_sub_t *sub, const uint8_t sid[16])
{
    int64_t end = bus_mono_ms() + IDF_T_MS;
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

bus_sub_t *idf_subscriber(void)
{
    bus_sub_t *sub = NULL;
    assert_int_equal(h_sub(&idf->h, &sub), 0);
    assert_int_equal(bus_subscribe(sub, TOPIC_SESSION_REVOKED), 0);
    /* slow joiner: let the subscription reach the broker */
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return sub;
}
