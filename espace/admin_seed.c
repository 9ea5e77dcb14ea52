/*
 * admin_seed.c - `espace admin seed`: make BENCH accounts for espace-load.
 *
 *   seed --patients N [--devices D] [--first K] [--out FILE]
 *        [--pros M [--pro-patients P]]
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
 * With --pros M it also makes M professionals (identity CreateProfessional
 * as the operator; RPPS 19900000000 + K + j, same password), a CURVE
 * keypair for each in FOLDER = FILE.keys/<RPPS>.key (0600; the public key
 * registered in the broker's key registry with role pro, name
 * "bench-<RPPS>"), and has P patients (default min(N, 16); pro j gets
 * patients j*P .. j*P+P-1, modulo N) grant each professional agenda and
 * messaging read and write for "soins" (consent Grant, as the patient: over
 * ipc the command names its caller); each professional then starts a
 * messaging conversation with each of those patients (StartConversation,
 * as the professional over ipc), the conversation espace-load's relay
 * scenario sends in. Their lines: "pro <RPPS> <password> <patient id>,...".
 * A second seed finds the pros and keys there, adds the grants again and
 * starts new conversations (espace-load takes the newest).
 *
 * These are bench accounts with a known password: seed them only into a
 * data folder made for a benchmark, never next to real patients.
 * Needs `espace up` (goes over ipc to the broker, like the other admin
 * commands that call services).
 *
 * THREAD SAFETY: main thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "broker/keys.h"
#include "espace/admin_int.h"
#include "espace/v1/identity.pb-c.h"
#include "proto/names.h"
#include "proto/status.h"

#define ADMIN_SEED_PASSWORD "espace-bench-password" /* when $ESPACE_PASSWORD is unset */
#define ADMIN_SEED_MAX_PATIENTS 100000
#define ADMIN_SEED_MAX_DEVICES 8
#define ADMIN_SEED_MAX_PROS 1000
#define ADMIN_SEED_MAX_PRO_PATIENTS 256 /* CREDS_MAX_PATIENTS_PER_PRO */
#define S_RPPS_BASE 19900000000ULL
#define S_SCOPES "agenda:read,agenda:write,messaging:read,messaging:write"
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

/* Professional j: the account (operator call), the keypair and its key. */
static int s_pro(const espace_config_t *cfg, espace_t *op, const char *rpps, const char *pw,
                 const char *keydir)
{
    espace_professional_t p = {.rpps = rpps, .last_name = "BANC", .first_name = "Essai",
                               .profession = "Médecin"};
    espace_error_t err;
    int rc = espace_identity_create_professional(op, &p, pw, NULL, &err);
    if (rc < 0 && rc != ES_ALREADY_EXISTS)
        return cli_fail_err(&err);
    char path[CONFIG_PATH_MAX + 64], z85[ESPACE_KEY_Z85];
    snprintf(path, sizeof path, "%s/%s.key", keydir, rpps);
    keys_entry_t k;
    memset(&k, 0, sizeof k);
    if ((rc = espace_keypair(path, 1, z85, NULL)) < 0 || espace_key_parse(z85, k.public_key) < 0)
        return cli_fail(rc < 0 ? rc : ES_INTERNAL, "cannot make the keypair %s", path);
    k.role = keys_role_parse("pro");
    snprintf(k.name, sizeof k.name, "bench-%s", rpps);
    k.created_ms = cli_wall_ms();
    rc = admin_keys_register(cfg, &k);
    if (rc == ES_INTERNAL)
        return 1; /* said */
    if (rc < 0 && rc != ES_ALREADY_EXISTS)
        return cli_fail(rc, "cannot register the key of %s", rpps);
    return 0;
}

/* The patient `patient_id` grants the professional rpps agenda and messaging
 * read+write (S_SCOPES). */
static int s_grant(const espace_config_t *cfg, const char *patient_id, const char *rpps)
{
    espace_opts_t o = {.endpoint = cfg->req_ipc, .timeout_ms = S_TIMEOUT_MS,
                       .as_kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT,
                       .as_principal = patient_id};
    espace_t *e = NULL;
    espace_error_t err;
    static espace_scopes_t scopes; /* large; main thread only */
    int rc = espace_scopes_parse(S_SCOPES, &scopes, NULL, 0);
    if (rc == 0 && (rc = espace_open(&o, &e)) == 0)
        rc = espace_consent_grant(e, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, rpps,
                                  &scopes, ESPACE__V1__PURPOSE__PURPOSE_SOINS, 0, NULL, &err);
    else
        snprintf(err.message, sizeof err.message, "cannot open the ipc connection");
    espace_close(&e);
    if (rc < 0) {
        err.status = rc;
        return cli_fail_err(&err);
    }
    return 0;
}

/* The professional rpps starts a conversation with patient_id (under the
 * grant just made), as itself over ipc. */
static int s_converse(const espace_config_t *cfg, const char *rpps, const char *patient_id)
{
    espace_opts_t o = {.endpoint = cfg->req_ipc, .timeout_ms = S_TIMEOUT_MS,
                       .as_kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL,
                       .as_principal = rpps};
    espace_t *e = NULL;
    espace_error_t err = {.message = "cannot open the ipc connection"};
    int rc = espace_open(&o, &e);
    if (rc == 0)
        rc = espace_messaging_start_conversation(e, patient_id, NULL, 0, NULL, &err);
    espace_close(&e);
    if (rc < 0) {
        err.status = rc;
        return cli_fail_err(&err);
    }
    return 0;
}

/* --pros: M professionals, each granted by per_pro of the seeded patients
 * (ids), one "pro" line each in f. */
static int s_pros(const espace_config_t *cfg, const char *out, uint64_t first, uint64_t pros,
                  uint64_t per_pro, char (*ids)[65], uint64_t patients, const char *pw, FILE *f)
{
    char keydir[CONFIG_PATH_MAX + 16];
    snprintf(keydir, sizeof keydir, "%s.keys", out);
    if (mkdir(keydir, 0700) < 0 && errno != EEXIST)
        return cli_fail(ES_INTERNAL, "cannot create %s", keydir);
    espace_t *op = NULL;
    int rc = admin_connect(cfg, &op);
    if (rc)
        return rc;
    fprintf(f, "# pro <rpps> <password> <patient ids that granted agenda and messaging>\n");
    for (uint64_t j = 0; j < pros && rc == 0; j++) {
        char rpps[16];
        snprintf(rpps, sizeof rpps, "%011" PRIu64, (uint64_t)(S_RPPS_BASE + first + j));
        if ((rc = s_pro(cfg, op, rpps, pw, keydir)) != 0)
            break;
        fprintf(f, "pro %s %s ", rpps, pw);
        for (uint64_t i = 0; i < per_pro && rc == 0; i++) {
            const char *id = ids[(j * per_pro + i) % patients];
            rc = s_grant(cfg, id, rpps);
            if (rc == 0)
                rc = s_converse(cfg, rpps, id);
            fprintf(f, "%s%s", i ? "," : "", id);
        }
        fputc('\n', f);
    }
    espace_close(&op);
    if (rc == 0)
        printf("seeded %" PRIu64 " professionals (%" PRIu64 " patients each, keys in %s)\n",
               pros, per_pro, keydir);
    return rc;
}

int admin_seed(const espace_config_t *cfg, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--patients", CLI_REQUIRED), CLI_OPT("--devices", 0),
                     CLI_OPT("--first", 0), CLI_OPT("--out", 0), CLI_OPT("--pros", 0),
                     CLI_OPT("--pro-patients", 0)};
    int rc = admin_options("seed", argc, argv, o, CLI_COUNT(o));
    if (rc)
        return rc;
    uint64_t patients = 0, devices = 2, first = 0, pros = 0, per_pro = 0;
    const char *v;
    if (cli_parse_u64(CLI_VALUE(o, "--patients"), ADMIN_SEED_MAX_PATIENTS, &patients) < 0 ||
        patients == 0)
        return admin_usage("seed", "--patients takes a number from 1 to 100000");
    if ((v = CLI_VALUE(o, "--devices")) && (cli_parse_u64(v, ADMIN_SEED_MAX_DEVICES, &devices) < 0 ||
                                            devices == 0))
        return admin_usage("seed", "--devices takes a number from 1 to 8");
    if ((v = CLI_VALUE(o, "--first")) && cli_parse_u64(v, 900000000ULL, &first) < 0)
        return admin_usage("seed", "--first takes a number from 0 to 900000000");
    if ((v = CLI_VALUE(o, "--pros")) && cli_parse_u64(v, ADMIN_SEED_MAX_PROS, &pros) < 0)
        return admin_usage("seed", "--pros takes a number from 0 to 1000");
    per_pro = patients < 16 ? patients : 16;
    if ((v = CLI_VALUE(o, "--pro-patients")) &&
        (cli_parse_u64(v, ADMIN_SEED_MAX_PRO_PATIENTS, &per_pro) < 0 || per_pro == 0 ||
         per_pro > patients))
        return admin_usage("seed", "--pro-patients takes a number from 1 to 256, at most --patients");
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
    char(*ids)[65] = calloc(patients, sizeof *ids);
    if (!ids) {
        fprintf(stderr, "error: RESOURCE_EXHAUSTED: no memory\n");
        goto done;
    }
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
        char ins[16], *id = ids[k - first];
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
    if (pros && s_pros(cfg, out, first, pros, per_pro, ids, patients, pw, f) != 0)
        goto done;
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
    free(ids);
    return ret;
}
