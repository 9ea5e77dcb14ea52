/*
 * admin_seed.c - `espace admin seed`: make BENCH accounts for espace-load.
 *
 *   seed --patients N [--devices D] [--first K] [--out FILE]
 *
 * Signs up N patients (identity SignUpPatient: real accounts, password
 * hashed with Argon2id at the server's ESPACE_PWHASH cost) with made-up
 * INS numbers K..K+N-1 (sex 2, department 99: "born abroad", so they do not
 * collide with test patients; the birth date the INS says), all with one
 * known password: $ESPACE_PASSWORD, else ADMIN_SEED_PASSWORD, and activates
 * them at once (IssueActivationCode then ActivateAccount: the seed runs as
 * the operator). A patient that is active already (a second seed) is logged
 * in again. Identity's "busy; retry" answers are retried. Then logs each patient in D times
 * (identity Login, one new device "bench-<d>" each) and writes the accounts
 * file (clients/load/creds.h: "patient <id> <ins> <password> <token>...")
 * to FILE (default "espace-load.accounts"), mode 0600: it holds passwords
 * and session tokens.
 *
 * These are bench accounts with a known password: seed them only into a
 * data folder made for a benchmark, never next to real patients.
 * Needs `espace up` (goes over ipc to the broker, like the other admin
 * commands that call services).
 *
 * THREAD SAFETY: main thread only.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "espace/admin_int.h"
#include "espace/v1/identity.pb-c.h"
#include "proto/names.h"
#include "proto/status.h"

#define ADMIN_SEED_PASSWORD "espace-bench-password" /* when $ESPACE_PASSWORD is unset */
#define ADMIN_SEED_MAX_PATIENTS 100000
#define ADMIN_SEED_MAX_DEVICES 8
#define S_TIMEOUT_MS 30000 /* a sign-up hashes a password: give it time */
#define S_PASSWORD_MAX 257

/* A valid INS for seed number n: sex 2, year 00..99, month 01..12, dept 99
 * (born abroad), commune + order from n; key = 97 - body mod 97. */
static void s_ins(uint64_t n, char out[16])
{
    uint64_t body = 2000000000000ULL + (n / 1000000ULL % 100) * 10000000000ULL +
                    (1 + n / 100000000ULL % 12) * 100000000ULL + 99000000ULL + n % 1000000ULL;
    snprintf(out, 16, "%013" PRIu64 "%02u", body, (unsigned)(97 - body % 97));
}

/* espace_call to identity, again while it answers RESOURCE_EXHAUSTED
 * ("busy; retry": its Argon2id budget) for up to S_TIMEOUT_MS. */
static int s_call(espace_t *e, const char *method, const ProtobufCMessage *req,
                  const ProtobufCMessageDescriptor *desc, ProtobufCMessage **reply,
                  espace_error_t *err)
{
    struct timespec pause = {0, 20 * 1000 * 1000};
    int rc = ES_RESOURCE_EXHAUSTED;
    for (int i = 0; i < S_TIMEOUT_MS / 20 && rc == ES_RESOURCE_EXHAUSTED; i++) {
        if (i)
            nanosleep(&pause, NULL);
        rc = espace_call(e, SERVICE_IDENTITY, method, req, desc, reply, err);
    }
    return rc;
}

/* Sign the patient up and activate the account (an operator's code); an
 * account active already (a second seed) is left as it is. */
static int s_signup(espace_t *e, const char *ins, const char *pw)
{
    Espace__V1__SignUpPatientRequest req = ESPACE__V1__SIGN_UP_PATIENT_REQUEST__INIT;
    char *first[1] = {(char *)"Banc"};
    char date[11];
    /* the birth date the INS says: 19<digits 2-3>-<digits 4-5>-01, a woman */
    snprintf(date, sizeof date, "19%.2s-%.2s-01", ins + 1, ins + 3);
    req.ins = (char *)ins;
    req.birth_names = (char *)"ESSAI";
    req.first_names = first;
    req.n_first_names = 1;
    req.birth_date = date;
    req.sex = ESPACE__V1__SEX__SEX_FEMALE;
    req.password = (char *)pw;
    espace_error_t err;
    int rc = s_call(e, "SignUpPatient", &req.base, &espace__v1__sign_up_patient_reply__descriptor,
                    NULL, &err);
    if (rc < 0)
        return cli_fail_err(&err);
    Espace__V1__IssueActivationCodeRequest ireq = ESPACE__V1__ISSUE_ACTIVATION_CODE_REQUEST__INIT;
    ireq.ins = (char *)ins;
    Espace__V1__IssueActivationCodeReply *code = NULL;
    rc = s_call(e, "IssueActivationCode", &ireq.base,
                &espace__v1__issue_activation_code_reply__descriptor, (ProtobufCMessage **)&code,
                &err);
    if (rc == ES_NOT_FOUND)
        return 0; /* no pending account: active already */
    if (rc < 0)
        return cli_fail_err(&err);
    Espace__V1__ActivateAccountRequest areq = ESPACE__V1__ACTIVATE_ACCOUNT_REQUEST__INIT;
    areq.ins = (char *)ins;
    areq.code = code->code;
    areq.password = (char *)pw;
    rc = s_call(e, "ActivateAccount", &areq.base, &espace__v1__activate_account_reply__descriptor,
                NULL, &err);
    sodium_memzero(code->code, strlen(code->code));
    espace_free(&code->base);
    return rc < 0 ? cli_fail_err(&err) : 0;
}

/* Log in as device d; writes " <token>" to f and the patient id to id. */
static int s_login(espace_t *e, const char *ins, const char *pw, unsigned d, char id[65],
                   FILE *f)
{
    char device[32];
    snprintf(device, sizeof device, "bench-%u", d);
    Espace__V1__LoginRequest req = ESPACE__V1__LOGIN_REQUEST__INIT;
    req.who_case = ESPACE__V1__LOGIN_REQUEST__WHO_INS;
    req.ins = (char *)ins;
    req.password = (char *)pw;
    req.device_name = device;
    ProtobufCMessage *reply = NULL;
    espace_error_t err;
    int rc = s_call(e, "Login", &req.base, &espace__v1__login_reply__descriptor, &reply, &err);
    if (rc < 0)
        return cli_fail_err(&err);
    Espace__V1__LoginReply *r = (Espace__V1__LoginReply *)reply;
    int ret = 1;
    if (r->token && r->caller && r->caller->principal && strlen(r->caller->principal) < 65) {
        snprintf(id, 65, "%s", r->caller->principal);
        fprintf(f, " %s", r->token);
        ret = 0;
    }
    if (r->token)
        sodium_memzero(r->token, strlen(r->token));
    espace_free(reply);
    if (ret)
        return cli_fail(ES_INTERNAL, "Login: reply without token or caller");
    return ret;
}

int admin_seed(const espace_config_t *cfg, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--patients", CLI_REQUIRED), CLI_OPT("--devices", 0),
                     CLI_OPT("--first", 0), CLI_OPT("--out", 0)};
    int rc = admin_options("seed", argc, argv, o, CLI_COUNT(o));
    if (rc)
        return rc;
    uint64_t patients = 0, devices = 2, first = 0;
    const char *v;
    if (cli_parse_u64(CLI_VALUE(o, "--patients"), ADMIN_SEED_MAX_PATIENTS, &patients) < 0 ||
        patients == 0)
        return admin_usage("seed", "--patients takes a number from 1 to 100000");
    if ((v = CLI_VALUE(o, "--devices")) && (cli_parse_u64(v, ADMIN_SEED_MAX_DEVICES, &devices) < 0 ||
                                            devices == 0))
        return admin_usage("seed", "--devices takes a number from 1 to 8");
    if ((v = CLI_VALUE(o, "--first")) && cli_parse_u64(v, 900000000ULL, &first) < 0)
        return admin_usage("seed", "--first takes a number from 0 to 900000000");
    const char *out = CLI_VALUE(o, "--out") ? CLI_VALUE(o, "--out") : "espace-load.accounts";
    char pw[S_PASSWORD_MAX];
    const char *env = getenv("ESPACE_PASSWORD");
    snprintf(pw, sizeof pw, "%s", env && *env ? env : ADMIN_SEED_PASSWORD);
    if (strlen(pw) < 12 || strchr(pw, ' ')) {
        sodium_memzero(pw, sizeof pw);
        return admin_usage("seed", "the password needs 12 characters or more, no space");
    }
    int ret = 1;
    espace_t *e = NULL;
    FILE *f = NULL;
    /* as the operator, who issues the activation codes */
    espace_opts_t eo = {.endpoint = cfg->req_ipc,
                        .timeout_ms = S_TIMEOUT_MS,
                        .as_kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR,
                        .as_principal = "operator"};
    if (access(cfg->req_ipc + strlen("ipc://"), F_OK) < 0) {
        fprintf(stderr, "error: UNAVAILABLE: espace is not running (no %s)\n",
                cfg->req_ipc + strlen("ipc://"));
        goto done;
    }
    if (espace_open(&eo, &e) < 0) {
        fprintf(stderr, "error: INTERNAL: cannot open the ipc connection\n");
        goto done;
    }
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) < 0 || !(f = fdopen(fd, "w"))) {
        if (fd >= 0)
            close(fd);
        fprintf(stderr, "error: INTERNAL: cannot write %s\n", out);
        goto done;
    }
    fprintf(f, "# espace-load accounts: BENCH patients with a known password (SECRET: "
               "passwords and session tokens)\n"
               "# patient <id> <ins> <password> <token per device>\n");
    for (uint64_t k = first; k < first + patients; k++) {
        char ins[16], id[65] = "";
        s_ins(k, ins);
        if (s_signup(e, ins, pw))
            goto done;
        /* the tokens come first (the id is known after the first login) */
        char *line = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&line, &len);
        int bad = !mem;
        for (unsigned d = 0; !bad && d < devices; d++)
            bad = s_login(e, ins, pw, d, id, mem);
        if (mem)
            fclose(mem);
        if (!bad && line)
            fprintf(f, "patient %s %s %s%s\n", id, ins, pw, line);
        if (line) {
            sodium_memzero(line, len);
            free(line);
        }
        if (bad)
            goto done;
        if ((k - first + 1) % 100 == 0)
            fprintf(stderr, "seed: %" PRIu64 " of %" PRIu64 " patients\n", k - first + 1, patients);
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fprintf(stderr, "error: INTERNAL: cannot write %s\n", out);
        goto done;
    }
    printf("seeded %" PRIu64 " patients (%" PRIu64 " devices each) into %s\n", patients, devices,
           out);
    ret = 0;
done:
    if (f && fclose(f) != 0)
        ret = 1;
    sodium_memzero(pw, sizeof pw);
    espace_close(&e);
    return ret;
}
