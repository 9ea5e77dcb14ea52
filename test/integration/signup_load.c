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
 *       Signs each acknowledged INS up again: every one must answer
 *       CODE_ALREADY_EXISTS (its first write survived). Prints
 *       "checked=N missing=N" and exits 1 if any is missing.
 *   signup_load one ENDPOINT INS
 *       Signs one patient up with this INS; prints the new patient id (32 hex).
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
 * registered; ipc endpoints need neither.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <zmq.h>

#include "espace/v1/agenda.pb-c.h"
#include "bus/bus.h"
#include "espace/v1/consent.pb-c.h"
#include "espace/v1/identity.pb-c.h"
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

static int s_send(bus_client_t *cl, const char *ins, uint64_t *id)
{
    Espace__V1__SignUpPatientRequest r = ESPACE__V1__SIGN_UP_PATIENT_REQUEST__INIT;
    char *first[1] = {"Camille"};
    r.ins = (char *)ins;
    r.birth_names = "Durand";
    r.first_names = first;
    r.n_first_names = 1;
    r.birth_date = "1985-04-12";
    r.password = "correct horse battery staple";
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
        Espace__V1__SignUpPatientRequest r = ESPACE__V1__SIGN_UP_PATIENT_REQUEST__INIT;
        char *first[1] = {"Camille"};
        r.ins = line;
        r.birth_names = "Durand";
        r.first_names = first;
        r.n_first_names = 1;
        r.birth_date = "1985-04-12";
        r.password = "correct horse battery staple";
        int rc = bus_call(cl, "identity", "SignUpPatient", &r.base, NULL, TIMEOUT_MS, NULL, NULL,
                          NULL);
        checked++;
        if (rc != ES_ALREADY_EXISTS) {
            missing++;
            fprintf(stderr, "acknowledged sign-up lost: status %s\n", es_status_name(rc));
        }
    }
    fclose(acked);
    printf("checked=%ld missing=%ld\n", checked, missing);
    return missing ? 1 : 0;
}

static int s_one(bus_client_t *cl, const char *ins)
{
    Espace__V1__SignUpPatientRequest r = ESPACE__V1__SIGN_UP_PATIENT_REQUEST__INIT;
    char *first[1] = {"Camille"};
    r.ins = (char *)ins;
    r.birth_names = "Durand";
    r.first_names = first;
    r.n_first_names = 1;
    r.birth_date = "1985-04-12";
    r.password = "correct horse battery staple";
    Espace__V1__SignUpPatientReply *rep = NULL;
    bus_reply_t st;
    int rc = bus_call(cl, "identity", "SignUpPatient", &r.base,
                      &espace__v1__sign_up_patient_reply__descriptor, TIMEOUT_MS, NULL,
                      (ProtobufCMessage **)&rep, &st);
    if (rc != 0) {
        fprintf(stderr, "sign-up: %s %s\n", es_status_name(rc), st.message);
        return 1;
    }
    printf("%s\n", rep->patient_id);
    codec_free(&rep->base);
    return 0;
}

static int s_grant(bus_client_t *cl, const char *patient_id, const char *rpps)
{
    Espace__V1__Scope read = ESPACE__V1__SCOPE__INIT, write = ESPACE__V1__SCOPE__INIT;
    read.category = ESPACE__V1__CATEGORY__CATEGORY_AGENDA;
    read.action = ESPACE__V1__ACTION__ACTION_READ;
    write.category = ESPACE__V1__CATEGORY__CATEGORY_AGENDA;
    write.action = ESPACE__V1__ACTION__ACTION_WRITE;
    Espace__V1__Scope *scopes[2] = {&read, &write};
    Espace__V1__GrantRequest g = ESPACE__V1__GRANT_REQUEST__INIT;
    g.patient_id = (char *)patient_id;
    g.grantee_kind = ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL;
    g.grantee_id = (char *)rpps;
    g.scopes = scopes;
    g.n_scopes = 2;
    g.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    Espace__V1__Caller who = ESPACE__V1__CALLER__INIT;
    who.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
    who.principal = (char *)patient_id;
    Espace__V1__GrantReply *rep = NULL;
    bus_reply_t st;
    int rc = bus_call(cl, "consent", "Grant", &g.base, &espace__v1__grant_reply__descriptor,
                      TIMEOUT_MS, &who, (ProtobufCMessage **)&rep, &st);
    if (rc != 0) {
        fprintf(stderr, "grant: %s %s %s\n", es_status_name(rc), st.message, st.field);
        return 1;
    }
    char hex[33] = "?";
    if (rep->grant && rep->grant->id.len == 16)
        sodium_bin2hex(hex, sizeof hex, rep->grant->id.data, 16);
    printf("granted %s\n", hex);
    codec_free(&rep->base);
    return 0;
}

/* The Caller frame of patient_id (who must stay alive). */
static void s_patient_caller(Espace__V1__Caller *who, const char *patient_id)
{
    Espace__V1__Caller init = ESPACE__V1__CALLER__INIT;
    *who = init;
    who->kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
    who->principal = (char *)patient_id;
}

static int s_id16(const char *hex, uint8_t out[16])
{
    size_t n = 0;
    if (strlen(hex) != 32 || sodium_hex2bin(out, 16, hex, 32, NULL, &n, NULL) != 0 || n != 16) {
        fprintf(stderr, "not a 32-hex id: %s\n", hex);
        return -1;
    }
    return 0;
}

static int s_revoke(bus_client_t *cl, const char *patient_id, const char *grant_hex)
{
    uint8_t id[16];
    if (s_id16(grant_hex, id) != 0)
        return 2;
    Espace__V1__RevokeGrantRequest r = ESPACE__V1__REVOKE_GRANT_REQUEST__INIT;
    r.grant_id.data = id;
    r.grant_id.len = 16;
    Espace__V1__Caller who;
    s_patient_caller(&who, patient_id);
    bus_reply_t st;
    int rc = bus_call(cl, "consent", "RevokeGrant", &r.base, NULL, TIMEOUT_MS, &who, NULL, &st);
    if (rc != 0) {
        fprintf(stderr, "revoke: %s %s %s\n", es_status_name(rc), st.message, st.field);
        return 1;
    }
    printf("revoked %s\n", grant_hex);
    return 0;
}

static int s_cancel(bus_client_t *cl, const char *patient_id, const char *event_hex,
                    const char *reason)
{
    uint8_t id[16];
    if (s_id16(event_hex, id) != 0)
        return 2;
    Espace__V1__AgendaCancelRequest r = ESPACE__V1__AGENDA_CANCEL_REQUEST__INIT;
    r.event_id.data = id;
    r.event_id.len = 16;
    r.reason = (char *)reason;
    Espace__V1__Caller who;
    s_patient_caller(&who, patient_id);
    Espace__V1__AgendaCancelReply *rep = NULL;
    bus_reply_t st;
    int rc = bus_call(cl, "agenda", "Cancel", &r.base,
                      &espace__v1__agenda_cancel_reply__descriptor, TIMEOUT_MS, &who,
                      (ProtobufCMessage **)&rep, &st);
    if (rc != 0) {
        fprintf(stderr, "cancel: %s %s %s\n", es_status_name(rc), st.message, st.field);
        return 1;
    }
    printf("cancelled %s version %llu\n", event_hex,
           (unsigned long long)(rep->event ? rep->event->version : 0));
    codec_free(&rep->base);
    return 0;
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
    void *ctx = zmq_ctx_new();
    conn_keys_t k;
    bus_client_t *cl = NULL;
    int rc = 1;
    if (s_connect(ctx, argc, argv, run || grant || revoke ? 5 : cancel ? 6 : 4, argv[2], &k,
                  &cl) != 0)
        goto out;
    if (one)
        rc = s_one(cl, argv[3]);
    else if (grant)
        rc = s_grant(cl, argv[3], argv[4]);
    else if (revoke)
        rc = s_revoke(cl, argv[3], argv[4]);
    else if (cancel)
        rc = s_cancel(cl, argv[3], argv[4], argv[5]);
    else
        rc = run ? s_run(cl, atoi(argv[3]), argv[4]) : s_verify(cl, argv[3]);
out:
    bus_client_destroy(&cl);
    zmq_ctx_term(ctx);
    sodium_memzero(&k, sizeof k);
    return rc;
}
