/* admin_seed.c - `espace admin seed`: bench accounts for espace-load (admin_seed.h). */
#include "espace/admin_seed.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "clients/lib/espace.h"
#include "espace/v1/identity.pb-c.h"
#include "proto/status.h"

#define S_TIMEOUT_MS 30000 /* a sign-up hashes a password: give it time */
#define S_PASSWORD_MAX 257

static const char s_usage_text[] =
    "usage: espace admin seed --patients N [--devices D] [--first K] [--out FILE]\n";

static int s_usage(const char *why)
{
    fprintf(stderr, "error: %s\n%s", why, s_usage_text);
    return 2;
}

static int s_fail(const char *what, const espace_error_t *err)
{
    fprintf(stderr, "error: %s: %s: %s%s%s\n", what, espace_status_name(err->status),
            err->message, err->field[0] ? " field " : "", err->field);
    return 1;
}

/* A valid INS for seed number n: sex 2, year 00..99, month 01..12, dept 99
 * (born abroad), commune + order from n; key = 97 - body mod 97. */
static void s_ins(uint64_t n, char out[16])
{
    uint64_t body = 2000000000000ULL + (n / 1000000ULL % 100) * 10000000000ULL +
                    (1 + n / 100000000ULL % 12) * 100000000ULL + 99000000ULL + n % 1000000ULL;
    snprintf(out, 16, "%013" PRIu64 "%02u", body, (unsigned)(97 - body % 97));
}

static int s_signup(espace_t *e, const char *ins, const char *pw)
{
    Espace__V1__SignUpPatientRequest req = ESPACE__V1__SIGN_UP_PATIENT_REQUEST__INIT;
    char *first[1] = {(char *)"Banc"};
    req.ins = (char *)ins;
    req.birth_names = (char *)"ESSAI";
    req.first_names = first;
    req.n_first_names = 1;
    req.birth_date = (char *)"1980-01-01";
    req.password = (char *)pw;
    espace_error_t err;
    ProtobufCMessage *reply = NULL;
    int rc = espace_call(e, "identity", "SignUpPatient", &req.base,
                         &espace__v1__sign_up_patient_reply__descriptor, &reply, &err);
    espace_free(reply);
    if (rc == ES_ALREADY_EXISTS)
        return 0;
    return rc < 0 ? s_fail("SignUpPatient", &err) : 0;
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
    int rc = espace_call(e, "identity", "Login", &req.base, &espace__v1__login_reply__descriptor,
                         &reply, &err);
    if (rc < 0)
        return s_fail("Login", &err);
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
        fprintf(stderr, "error: Login: reply without token or caller\n");
    return ret;
}

static int s_num(const char *s, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    unsigned long v = s ? strtoul(s, &end, 10) : 0;
    if (!s || !*s || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

int admin_seed(const espace_config_t *cfg, int argc, char **argv)
{
    unsigned long patients = 0, devices = 2, first = 0;
    const char *out = "espace-load.accounts";
    for (int i = 0; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return s_usage("an option lacks its value");
        if (!strcmp(k, "--patients") && s_num(v, ADMIN_SEED_MAX_PATIENTS, &patients) == 0)
            continue;
        if (!strcmp(k, "--devices") && s_num(v, ADMIN_SEED_MAX_DEVICES, &devices) == 0)
            continue;
        if (!strcmp(k, "--first") && s_num(v, 900000000UL, &first) == 0)
            continue;
        if (!strcmp(k, "--out")) {
            out = v;
            continue;
        }
        return s_usage("bad option");
    }
    if (patients == 0)
        return s_usage("seed needs --patients N (1..100000)");
    char pw[S_PASSWORD_MAX];
    const char *env = getenv("ESPACE_PASSWORD");
    snprintf(pw, sizeof pw, "%s", env && *env ? env : ADMIN_SEED_PASSWORD);
    if (strlen(pw) < 12 || strchr(pw, ' ')) {
        sodium_memzero(pw, sizeof pw);
        return s_usage("the password needs 12 characters or more, no space");
    }
    int ret = 1;
    espace_t *e = NULL;
    FILE *f = NULL;
    espace_opts_t o = {.endpoint = cfg->req_ipc, .timeout_ms = S_TIMEOUT_MS};
    if (access(cfg->req_ipc + strlen("ipc://"), F_OK) < 0) {
        fprintf(stderr, "error: UNAVAILABLE: espace is not running (no %s)\n",
                cfg->req_ipc + strlen("ipc://"));
        goto done;
    }
    if (espace_open(&o, &e) < 0) {
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
    for (unsigned long k = first; k < first + patients; k++) {
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
            fprintf(stderr, "seed: %lu of %lu patients\n", k - first + 1, patients);
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fprintf(stderr, "error: INTERNAL: cannot write %s\n", out);
        goto done;
    }
    printf("seeded %lu patients (%lu devices each) into %s\n", patients, devices, out);
    ret = 0;
done:
    if (f && fclose(f) != 0)
        ret = 1;
    sodium_memzero(pw, sizeof pw);
    espace_close(&e);
    return ret;
}
