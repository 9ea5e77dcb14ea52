/*
 * signup_load - drives a steady flow of identity writes for the kill/restart
 * integration test (test/integration/kill_restart.sh).
 *
 *   signup_load run ENDPOINT SECONDS ACKED_FILE [BROKER_KEY KEYFILE]
 *       Sends SignUpPatient requests, 8 in flight, for SECONDS seconds, each
 *       with a fresh valid INS. Appends every INS whose sign-up was
 *       acknowledged (CODE_OK) to ACKED_FILE, flushed at once. Prints
 *       "ok=N unavailable=N other=N ok_after_unavailable=N" at the end;
 *       exits 1 if no sign-up at all was acknowledged.
 *   signup_load verify ENDPOINT ACKED_FILE [BROKER_KEY KEYFILE]
 *       Logs each acknowledged INS in with its password: every one must
 *       answer CODE_FAILED_PRECONDITION "account not activated" (its pending
 *       account survived). Prints "checked=N missing=N" and exits 1 if any
 *       is missing.
 *   signup_load one ENDPOINT INS
 *       Signs one patient up with this INS and activates the account with a
 *       code issued as the operator (ENDPOINT: ipc); prints the new patient
 *       id (32 hex).
 *   signup_load grant ENDPOINT PATIENT_ID RPPS
 *       As the patient (a local Caller frame: ENDPOINT must be the broker's
 *       ipc endpoint, whose peers may stamp callers), grants the professional
 *       agenda:read and agenda:write for purpose soins, until revoked.
 *       Prints "granted <grant id>".
 *   signup_load revoke ENDPOINT PATIENT_ID GRANT_ID
 *       As the patient (ipc, as grant), revokes the grant (32 hex). Prints
 *       "revoked <grant id>".
 *   signup_load cancel ENDPOINT PATIENT_ID EVENT_ID REASON
 *       As the patient (ipc, as grant), cancels an agenda event (32 hex) of
 *       their own. Prints "cancelled <event id> version <n>".
 *   (agenda_cli.sh uses one, grant, revoke and cancel.)
 *
 * tcp endpoints need the broker's public key and a keypair file whose key is
 * registered; ipc endpoints need neither. one, grant, revoke and cancel use
 * libespace (clients/lib/espace.h; the patient named over ipc with
 * as_kind); run and verify keep 8 requests in flight, which libespace's
 * one-call-at-a-time API does not do, so they speak the bus client
 * (bus/bus.h) directly.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <zmq.h>

#include "bus/bus.h"
#include "clients/lib/espace.h"
#include "proto/ids.h"
#include "proto/status.h"

#define INFLIGHT 8
#define TIMEOUT_MS 3000

/* A valid INS: sex 1, year, month, dept 75, commune, order, key. */
static void s_make_ins(uint64_t n, char out[16])
{
    uint64_t body = 1000000000000ULL +                              /* sex */
                    (uint64_t)(80 + n / 1000000ULL % 20) * 10000000000ULL + /* year */
                    (uint64_t)(1 + n / 20000000ULL % 12) * 100000000ULL +  /* month */
                    75000000ULL +                                      /* dept */
                    n % 1000000ULL;                                    /* commune, order */
    unsigned key = (unsigned)(97 - body % 97);
    snprintf(out, 16, "%013" PRIu64 "%02u", body, key);
}

typedef struct conn_keys {
    uint8_t pub[32], sec[32];
} conn_keys_t;

static int s_connect(void *ctx, int argc, char **argv, int key_arg, const char *endpoint,
                     conn_keys_t *k, bus_client_t **out)
{
    bus_conn_t c = {.endpoint = endpoint};
    if (strncmp(endpoint, "tcp://", 6) == 0) {
        if (argc <= key_arg + 1) {
            fprintf(stderr, "tcp needs BROKER_KEY KEYFILE\n");
            return -1;
        }
        if (bus_keypair_load(argv[key_arg + 1], 1, k->pub, k->sec) != 0) {
            fprintf(stderr, "cannot load keypair %s\n", argv[key_arg + 1]);
            return -1;
        }
        c.server_key = argv[key_arg];
        c.public_key = k->pub;
        c.secret_key = k->sec;
    }
    return bus_client_new(ctx, &c, out);
}

#define S_PASSWORD "correct horse battery staple"

/* The sign-up of the load: Camille Durand with INS ins (borrowed), born on
 * the 12th of the year and month the INS says (January when its month is
 * not 01..12), of the sex it says; the date is written into date. */
static void s_signup(Espace__V1__SignUpPatientRequest *r, const char *ins, char date[11])
{
    static char *first[1] = {"Camille"};
    int month = (ins[3] - '0') * 10 + (ins[4] - '0');
    snprintf(date, 11, "19%.2s-%.2s-12", ins + 1, month >= 1 && month <= 12 ? ins + 3 : "01");
    espace__v1__sign_up_patient_request__init(r);
    r->ins = (char *)ins;
    r->birth_names = "Durand";
    r->first_names = first;
    r->n_first_names = 1;
    r->birth_date = date;
    r->sex = ins[0] == '1' ? ESPACE__V1__SEX__SEX_MALE : ESPACE__V1__SEX__SEX_FEMALE;
    r->password = S_PASSWORD;
}

static int s_send(bus_client_t *cl, const char *ins, uint64_t *id)
{
    Espace__V1__SignUpPatientRequest r;
    char date[11];
    s_signup(&r, ins, date);
    return bus_client_send(cl, "identity", "SignUpPatient", &r.base, TIMEOUT_MS, NULL, id);
}

static int s_run(bus_client_t *cl, int seconds, const char *acked_path)
{
    FILE *acked = fopen(acked_path, "a");
    if (!acked)
        return 1;
    struct {
        uint64_t id;
        char ins[16];
    } slot[INFLIGHT];
    uint64_t next = (uint64_t)randombytes_uniform(1000000) * 100;
    long ok = 0, unavailable = 0, other = 0, ok_after = 0;
    int64_t end = bus_mono_ms() + (int64_t)seconds * 1000;
    int inflight = 0;
    memset(slot, 0, sizeof slot);
    for (;;) {
        int64_t now = bus_mono_ms();
        while (now < end && inflight < INFLIGHT) {
            int free_slot = -1;
            for (int i = 0; i < INFLIGHT; i++)
                if (slot[i].id == 0) {
                    free_slot = i;
                    break;
                }
            s_make_ins(next++, slot[free_slot].ins);
            if (s_send(cl, slot[free_slot].ins, &slot[free_slot].id) != 0) {
                slot[free_slot].id = 0;
                break;
            }
            inflight++;
        }
        if (inflight == 0 && now >= end)
            break;
        bus_reply_t r;
        memset(&r, 0, sizeof r);
        int rc = bus_client_recv(cl, TIMEOUT_MS + 1000, &r);
        if (rc == ES_DEADLINE_EXCEEDED) {
            /* lost replies: forget them (they count as neither ok nor missing) */
            other += inflight;
            memset(slot, 0, sizeof slot);
            inflight = 0;
            continue;
        }
        for (int i = 0; i < INFLIGHT; i++) {
            if (slot[i].id != r.id || r.id == 0)
                continue;
            if (r.status == ES_OK) {
                fprintf(acked, "%s\n", slot[i].ins);
                fflush(acked);
                ok++;
                if (unavailable)
                    ok_after++;
            } else if (r.status == ES_UNAVAILABLE) {
                unavailable++;
            } else {
                other++;
            }
            slot[i].id = 0;
            inflight--;
        }
        bus_reply_clear(&r);
        if (r.status == ES_UNAVAILABLE) {
            /* don't spin while the service is down */
            struct timespec pause = {.tv_sec = 0, .tv_nsec = 20000000};
            nanosleep(&pause, NULL);
        }
    }
    fclose(acked);
    printf("ok=%ld unavailable=%ld other=%ld ok_after_unavailable=%ld\n", ok, unavailable, other,
           ok_after);
    return ok > 0 ? 0 : 1;
}

static int s_verify(bus_client_t *cl, const char *acked_path)
{
    FILE *acked = fopen(acked_path, "r");
    if (!acked)
        return 1;
    char line[64];
    long checked = 0, missing = 0;
    while (fgets(line, sizeof line, acked)) {
        line[strcspn(line, "\n")] = 0;
        if (!line[0])
            continue;
        /* a pending account: its password is right but it is not active */
        Espace__V1__LoginRequest r = ESPACE__V1__LOGIN_REQUEST__INIT;
        r.who_case = ESPACE__V1__LOGIN_REQUEST__WHO_INS;
        r.ins = line;
        r.password = S_PASSWORD;
        int rc = ES_RESOURCE_EXHAUSTED; /* identity's "busy; retry" */
        for (int i = 0; i < 100 && rc == ES_RESOURCE_EXHAUSTED; i++) {
            if (i) {
                struct timespec pause = {.tv_sec = 0, .tv_nsec = 20000000};
                nanosleep(&pause, NULL);
            }
            rc = bus_call(cl, "identity", "Login", &r.base, NULL, TIMEOUT_MS, NULL, NULL, NULL);
        }
        checked++;
        if (rc != ES_FAILED_PRECONDITION) {
            missing++;
            fprintf(stderr, "acknowledged sign-up lost: status %s\n", es_status_name(rc));
        }
    }
    fclose(acked);
    printf("checked=%ld missing=%ld\n", checked, missing);
    return missing ? 1 : 0;
}

/* A libespace connection to ENDPOINT; as the patient when patient_id is
 * set (ipc only). NULL on failure (printed). */
static espace_t *s_open(const char *endpoint, const char *patient_id)
{
    espace_opts_t o = {.endpoint = endpoint, .timeout_ms = TIMEOUT_MS};
    if (patient_id) {
        o.as_kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
        o.as_principal = patient_id;
    }
    espace_t *e = NULL;
    int rc = espace_open(&o, &e);
    if (rc < 0)
        fprintf(stderr, "cannot open %s: %s\n", endpoint, es_status_name(rc));
    return e;
}

static int s_failed(const char *what, const espace_error_t *err)
{
    fprintf(stderr, "%s: %s %s %s\n", what, es_status_name(err->status), err->message,
            err->field);
    return 1;
}

/* Sign up, then activate with the operator's code (ENDPOINT must be ipc:
 * the operator is a local Caller frame). */
static int s_one(const char *endpoint, const char *ins)
{
    Espace__V1__SignUpPatientRequest r;
    char date[11];
    s_signup(&r, ins, date);
    espace_opts_t oo = {.endpoint = endpoint,
                        .timeout_ms = TIMEOUT_MS,
                        .as_kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR,
                        .as_principal = "operator"};
    espace_t *e = s_open(endpoint, NULL), *op = NULL;
    espace_error_t err;
    Espace__V1__IssueActivationCodeReply *code = NULL;
    Espace__V1__ActivateAccountReply *act = NULL;
    int rc = 1;
    if (!e || espace_open(&oo, &op) < 0)
        goto close;
    if (espace_identity_sign_up_patient(e, &r, NULL, &err) < 0) {
        rc = s_failed("sign-up", &err);
        goto close;
    }
    Espace__V1__IssueActivationCodeRequest ireq = ESPACE__V1__ISSUE_ACTIVATION_CODE_REQUEST__INIT;
    ireq.ins = (char *)ins;
    if (espace_call(op, "identity", "IssueActivationCode", &ireq.base,
                    &espace__v1__issue_activation_code_reply__descriptor,
                    (ProtobufCMessage **)&code, &err) < 0) {
        rc = s_failed("activation code", &err);
        goto close;
    }
    Espace__V1__ActivateAccountRequest areq = ESPACE__V1__ACTIVATE_ACCOUNT_REQUEST__INIT;
    areq.ins = (char *)ins;
    areq.code = code->code;
    areq.password = S_PASSWORD;
    if (espace_call(e, "identity", "ActivateAccount", &areq.base,
                    &espace__v1__activate_account_reply__descriptor, (ProtobufCMessage **)&act,
                    &err) < 0) {
        rc = s_failed("activation", &err);
        goto close;
    }
    printf("%s\n", act->patient_id);
    rc = 0;
close:
    espace_free((ProtobufCMessage *)code);
    espace_free((ProtobufCMessage *)act);
    espace_close(&op);
    espace_close(&e);
    return rc;
}

static int s_grant(const char *endpoint, const char *patient_id, const char *rpps)
{
    espace_scopes_t scopes;
    espace_error_t err;
    Espace__V1__GrantReply *rep = NULL;
    int rc = 1;
    if (espace_scopes_parse("agenda:read,agenda:write", &scopes, NULL, 0) < 0)
        return 1;
    espace_t *e = s_open(endpoint, patient_id);
    if (!e)
        return 1;
    if (espace_consent_grant(e, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, rpps, &scopes,
                             ESPACE__V1__PURPOSE__PURPOSE_SOINS, 0, &rep, &err) < 0) {
        rc = s_failed("grant", &err);
        goto close;
    }
    char hex[ID_HEX] = "?";
    if (rep->grant)
        id_hex_bytes(rep->grant->id.data, rep->grant->id.len, hex);
    printf("granted %s\n", hex);
    espace_free(&rep->base);
    rc = 0;
close:
    espace_close(&e);
    return rc;
}

/* A connection as patient_id for a command on the object `hex` (its id into
 * id): NULL and *rc 2 (bad id) or 1 (cannot open), both printed. */
static espace_t *s_open_on(const char *endpoint, const char *patient_id, const char *hex,
                           uint8_t id[ID_BYTES], int *rc)
{
    if (id_parse(hex, id) < 0) {
        fprintf(stderr, "not a 32-hex id: %s\n", hex);
        *rc = 2;
        return NULL;
    }
    espace_t *e = s_open(endpoint, patient_id);
    *rc = e ? 0 : 1;
    return e;
}

static int s_revoke(const char *endpoint, const char *patient_id, const char *grant_hex)
{
    uint8_t id[ID_BYTES];
    espace_error_t err;
    int rc;
    espace_t *e = s_open_on(endpoint, patient_id, grant_hex, id, &rc);
    if (!e)
        return rc;
    rc = espace_consent_revoke_grant(e, id, NULL, &err) < 0 ? s_failed("revoke", &err) : 0;
    if (rc == 0)
        printf("revoked %s\n", grant_hex);
    espace_close(&e);
    return rc;
}

static int s_cancel(const char *endpoint, const char *patient_id, const char *event_hex,
                    const char *reason)
{
    uint8_t id[ID_BYTES];
    espace_error_t err;
    Espace__V1__AgendaCancelReply *rep = NULL;
    int rc;
    espace_t *e = s_open_on(endpoint, patient_id, event_hex, id, &rc);
    if (!e)
        return rc;
    if (espace_agenda_cancel(e, NULL, id, reason, 0, &rep, &err) < 0) {
        rc = s_failed("cancel", &err);
        goto close;
    }
    printf("cancelled %s version %llu\n", event_hex,
           (unsigned long long)(rep->event ? rep->event->version : 0));
    espace_free(&rep->base);
    rc = 0;
close:
    espace_close(&e);
    return rc;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0 || argc < 4) {
        fprintf(stderr, "usage: signup_load run ENDPOINT SECONDS ACKED_FILE [BROKER_KEY KEYFILE]\n"
                        "       signup_load verify ENDPOINT ACKED_FILE [BROKER_KEY KEYFILE]\n"
                        "       signup_load one ENDPOINT INS\n"
                        "       signup_load grant ENDPOINT PATIENT_ID RPPS\n"
                        "       signup_load revoke ENDPOINT PATIENT_ID GRANT_ID\n"
                        "       signup_load cancel ENDPOINT PATIENT_ID EVENT_ID REASON\n");
        return 2;
    }
    int run = strcmp(argv[1], "run") == 0;
    int one = strcmp(argv[1], "one") == 0, grant = strcmp(argv[1], "grant") == 0;
    int revoke = strcmp(argv[1], "revoke") == 0, cancel = strcmp(argv[1], "cancel") == 0;
    if (grant && argc != 5) {
        fprintf(stderr, "usage: signup_load grant ENDPOINT PATIENT_ID RPPS\n");
        return 2;
    }
    if (revoke && argc != 5) {
        fprintf(stderr, "usage: signup_load revoke ENDPOINT PATIENT_ID GRANT_ID\n");
        return 2;
    }
    if (cancel && argc != 6) {
        fprintf(stderr, "usage: signup_load cancel ENDPOINT PATIENT_ID EVENT_ID REASON\n");
        return 2;
    }
    if (one)
        return s_one(argv[2], argv[3]);
    if (grant)
        return s_grant(argv[2], argv[3], argv[4]);
    if (revoke)
        return s_revoke(argv[2], argv[3], argv[4]);
    if (cancel)
        return s_cancel(argv[2], argv[3], argv[4], argv[5]);
    void *ctx = zmq_ctx_new();
    conn_keys_t k;
    bus_client_t *cl = NULL;
    int rc = 1;
    if (s_connect(ctx, argc, argv, run ? 5 : 4, argv[2], &k, &cl) != 0)
        goto out;
    rc = run ? s_run(cl, atoi(argv[3]), argv[4]) : s_verify(cl, argv[3]);
out:
    bus_client_destroy(&cl);
    zmq_ctx_term(ctx);
    sodium_memzero(&k, sizeof k);
    return rc;
}
