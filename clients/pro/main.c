/*
 * espace-pro - command line for health professionals, on top of libespace.
 *
 *   espace-pro [--home DIR] [--broker tcp://H:P] [--broker-key Z85] [--timeout MS]
 *              keygen | login --rpps R [--device NAME] | whoami | logout
 *            | access request --patient INS|ID --scope SCOPES --purpose P --days N --reason TEXT
 *            | access status [--patient INS|ID]
 *            | emergency --patient INS|ID --reason TEXT
 *            | agenda list|create|update|cancel|watch --patient INS|ID ... (see s_usage)
 *
 * Home folder ($ESPACE_PRO_HOME, else ~/.config/espace-pro), mode 0700:
 *   config         `broker = ...`, `broker_key = ...`, `timeout_ms = ...` lines
 *                  (flags override; `login` saves the flags it was given)
 *   curve.key      own CURVE secret key (0600), made by keygen
 *   curve.key.pub  its public key (Z85), to be registered by the operator
 *   session        the session token (0600), written by login
 * Password: $ESPACE_PASSWORD, else one line on stdin.
 * Errors: "error: STATUS: message" on stderr, exit 1 (2 for usage).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "espace/v1/agenda.pb-c.h"
#include "bus/bus.h"
#include "bus/codec.h"
#include "proto/civil_time.h"
#include "clients/lib/espace.h"
#include "process/kvfile.h"

#define PRO_PATH_MAX 1024

typedef struct pro_conf {
    char home[PRO_PATH_MAX];     /* home folder */
    char broker[512];            /* endpoint */
    char broker_key[64];         /* broker public key, Z85 */
    unsigned timeout_ms;         /* per call; 0 = default */
    unsigned timeout_file;       /* timeout_ms of the config file (kept on save) */
    int broker_flag;             /* 1: --broker given (saved by login) */
    int key_flag;                /* 1: --broker-key given (saved by login) */
} pro_conf_t;

static const char s_usage[] =
    "usage: espace-pro [options] COMMAND\n"
    "commands:\n"
    "  keygen                        create this software's keypair, print its public key\n"
    "  login --rpps R [--device N]   log in (password: $ESPACE_PASSWORD or stdin)\n"
    "  whoami                        show who the saved session is\n"
    "  logout                        end the session and forget it\n"
    "  access request --patient P --scope CATEGORY:ACTION[,...] --purpose P --days N\n"
    "                 --reason TEXT  ask a patient for access (consent RequestAccess)\n"
    "  access status [--patient P]   your grants and requests: id, patient, scopes,\n"
    "                                status, period\n"
    "  emergency --patient P --reason TEXT\n"
    "                                declare an emergency access (bris de glace, 4 hours)\n"
    "  agenda list --patient P [--from T] [--to T]\n"
    "                                the patient's events (default: from yesterday, one\n"
    "                                year): id, start (Paris), kind, status, title\n"
    "  agenda create --patient P --kind K --title T --start T --end T [--location L]\n"
    "                [--description D] [--reminder MIN]...\n"
    "                                new event with you as participant; prints id, version\n"
    "  agenda update --patient P --id ID --version V [--title T] [--start T] [--end T]\n"
    "                [--status S] [--kind K] [--location L] [--description D]\n"
    "                [--reminder MIN]...  change an event (stale version: ABORTED)\n"
    "  agenda cancel --patient P --id ID [--version V] --reason TEXT\n"
    "  agenda watch [--patient P] [--count N] [--seconds S]\n"
    "                                print live changes of events you take part in:\n"
    "                                change version, change, id, start, title (read\n"
    "                                with agenda Get; \"(no access)\" once the grant ended)\n"
    "options:\n"
    "  --home DIR         folder of config, keys and session\n"
    "                     (default $ESPACE_PRO_HOME or ~/.config/espace-pro)\n"
    "  --broker ENDPOINT  tcp://HOST:PORT of espace (saved by login)\n"
    "  --broker-key Z85   espace's public key (saved by login)\n"
    "  --timeout MS       per-request timeout (default 5000)\n"
    "scopes: CATEGORY:ACTION[:CODE[+CODE...]] with CATEGORY agenda, documents, measures or\n"
    "  messaging and ACTION read or write; purposes: prevention, diagnostic, soins,\n"
    "  suivi_social_medicosocial\n"
    "--patient P: an INS (15 characters, resolved by identity) or a patient id (32 hex)\n"
    "agenda: T is Paris local time 2026-12-01T09:30 (or 2026-12-01T08:30Z in UTC);\n"
    "  K is rdv, hospitalisation, rappel or tache; S is a FHIR status (proposed, pending,\n"
    "  booked, arrived, checked-in, fulfilled, noshow, waitlist, entered-in-error; cancel\n"
    "  with agenda cancel)\n";

static int s_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int s_fail(int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "error: %s: %s\n", es_status_name(status), msg);
    return 1;
}

static int s_fail_err(const espace_error_t *err)
{
    if (err->field[0])
        fprintf(stderr, "error: %s: %s (field %s)\n", es_status_name(err->status), err->message,
                err->field);
    else
        fprintf(stderr, "error: %s: %s\n", es_status_name(err->status), err->message);
    return 1;
}

static int s_path(char *out, size_t n, const char *home, const char *name)
{
    int w = snprintf(out, n, "%s/%s", home, name);
    return (w < 0 || (size_t)w >= n) ? ES_INVALID_ARGUMENT : 0;
}

static int s_mkhome(const char *home)
{
    char tmp[PRO_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", home);
    for (char *p = tmp + 1; *p; p++) { /* mkdir -p */
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
            return ES_INTERNAL;
        *p = '/';
    }
    if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
        return ES_INTERNAL;
    return 0;
}

/* A timeout in ms: digits only, at most an hour (0 = the default). */
static int s_parse_ms(const char *v, unsigned *out)
{
    unsigned long x = 0;
    if (!*v)
        return ES_INVALID_ARGUMENT;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return ES_INVALID_ARGUMENT;
        x = x * 10 + (unsigned long)(*p - '0');
        if (x > 3600000UL)
            return ES_INVALID_ARGUMENT;
    }
    *out = (unsigned)x;
    return 0;
}

/* One setting of <home>/config (kvfile.h); flags given win over the file. */
static int s_conf_pair(const char *k, const char *v, void *ctx)
{
    pro_conf_t *c = ctx;
    if (!strcmp(k, "broker")) {
        if (strlen(v) >= sizeof c->broker)
            return ES_INVALID_ARGUMENT;
        if (!c->broker_flag)
            snprintf(c->broker, sizeof c->broker, "%s", v);
        return 0;
    }
    if (!strcmp(k, "broker_key")) {
        if (strlen(v) >= sizeof c->broker_key)
            return ES_INVALID_ARGUMENT;
        if (!c->key_flag)
            snprintf(c->broker_key, sizeof c->broker_key, "%s", v);
        return 0;
    }
    if (!strcmp(k, "timeout_ms")) {
        unsigned t;
        if (s_parse_ms(v, &t) < 0)
            return ES_INVALID_ARGUMENT;
        c->timeout_file = t;
        if (!c->timeout_ms)
            c->timeout_ms = t;
        return 0;
    }
    return ES_NOT_FOUND;
}

/* Read <home>/config; a missing file is fine. */
static int s_conf_load(pro_conf_t *c)
{
    char path[PRO_PATH_MAX + 16], err[PRO_PATH_MAX + 128];
    if (s_path(path, sizeof path, c->home, "config") < 0)
        return s_fail(ES_INVALID_ARGUMENT, "home path too long");
    int rc = kvfile_parse(path, s_conf_pair, c, err, sizeof err);
    if (rc == ES_NOT_FOUND)
        return 0;
    if (rc < 0)
        return s_fail(rc, "%s", err);
    return 0;
}

/* Write `data` to <home>/<name> atomically with `mode`. */
static int s_write_file(const char *home, const char *name, const char *data, mode_t mode)
{
    char path[PRO_PATH_MAX + 16], tmp[PRO_PATH_MAX + 32];
    if (s_path(path, sizeof path, home, name) < 0)
        return ES_INVALID_ARGUMENT;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, mode);
    if (fd < 0)
        return ES_INTERNAL;
    size_t len = strlen(data), off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            unlink(tmp);
            return ES_INTERNAL;
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        unlink(tmp);
        return ES_INTERNAL;
    }
    return 0;
}

static int s_conf_save(const pro_conf_t *c)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "# espace-pro settings (written by login)\nbroker = %s\n%s%s%s",
             c->broker, c->broker_key[0] ? "broker_key = " : "", c->broker_key,
             c->broker_key[0] ? "\n" : "");
    if (c->timeout_file) {
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof buf - n, "timeout_ms = %u\n", c->timeout_file);
    }
    return s_write_file(c->home, "config", buf, 0600);
}

static int s_open(const pro_conf_t *c, espace_t **e)
{
    if (!c->broker[0])
        return s_fail(ES_INVALID_ARGUMENT, "no broker: pass --broker tcp://HOST:PORT");
    char key[PRO_PATH_MAX + 16];
    if (s_path(key, sizeof key, c->home, "curve.key") < 0)
        return s_fail(ES_INVALID_ARGUMENT, "home path too long");
    int is_tcp = !strncmp(c->broker, "tcp://", 6);
    if (is_tcp && !c->broker_key[0])
        return s_fail(ES_INVALID_ARGUMENT, "no broker key: pass --broker-key Z85");
    espace_opts_t o = {
        .endpoint = c->broker,
        .broker_key = c->broker_key,
        .keypair_path = key,
        .create_keypair = 0,
        .timeout_ms = c->timeout_ms,
    };
    int rc = espace_open(&o, e);
    if (rc == ES_NOT_FOUND)
        return s_fail(rc, "no keypair in %s (run espace-pro keygen)", c->home);
    if (rc < 0)
        return s_fail(rc, "cannot connect to %s (bad endpoint, broker key or keypair file)",
                      c->broker);
    return 0;
}

static int s_keygen(const pro_conf_t *c)
{
    char key[PRO_PATH_MAX + 16];
    uint8_t pk[32], sk[32];
    char z85[BUS_KEY_Z85];
    if (s_path(key, sizeof key, c->home, "curve.key") < 0)
        return s_fail(ES_INVALID_ARGUMENT, "home path too long");
    int existed = access(key, F_OK) == 0;
    int rc = bus_keypair_load(key, 1, pk, sk);
    sodium_memzero(sk, sizeof sk);
    if (rc < 0)
        return s_fail(rc, "cannot create or read the keypair %s", key);
    bus_key_z85(pk, z85);
    printf("%s\n", z85);
    fprintf(stderr,
            "%s keypair %s\nAsk the espace operator to register the public key above:\n"
            "  espace admin keys add --role pro --name NAME --public '%s'\n",
            existed ? "existing" : "new", key, z85);
    return 0;
}

static void s_iso(int64_t ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, n, "?");
}

static int s_login(pro_conf_t *c, const char *rpps, const char *device)
{
    espace_t *e = NULL;
    espace_session_t s;
    espace_error_t err;
    char pw[1024];
    int rc = s_open(c, &e);
    if (rc)
        return rc;
    if (kvfile_secret("ESPACE_PASSWORD", "password: ", pw, sizeof pw) < 0) {
        espace_close(&e);
        return s_fail(ES_INVALID_ARGUMENT, "no password ($ESPACE_PASSWORD or stdin)");
    }
    rc = espace_login_pro(e, rpps, pw, device, &s, &err);
    sodium_memzero(pw, sizeof pw);
    if (rc < 0) {
        espace_close(&e);
        return s_fail_err(&err);
    }
    char line[ESPACE_TOKEN_MAX + 2];
    snprintf(line, sizeof line, "%s\n", s.token);
    rc = s_write_file(c->home, "session", line, 0600);
    sodium_memzero(line, sizeof line);
    if (rc == 0 && (c->broker_flag || c->key_flag))
        rc = s_conf_save(c);
    if (rc < 0) {
        espace_logout(e, &err);
        espace_close(&e);
        sodium_memzero(&s, sizeof s);
        return s_fail(rc, "cannot write in %s", c->home);
    }
    char hex[33], when[32];
    sodium_bin2hex(hex, sizeof hex, s.session_id, sizeof s.session_id);
    s_iso(s.expires_ms, when, sizeof when);
    printf("logged in as %s (session %s, expires %s)\n", s.principal, hex, when);
    sodium_memzero(&s, sizeof s);
    espace_close(&e);
    return 0;
}

/* Open and bind the saved session. */
static int s_resume(const pro_conf_t *c, espace_t **e, int *gone)
{
    char path[PRO_PATH_MAX + 16], token[ESPACE_TOKEN_MAX + 2];
    espace_error_t err;
    *gone = 0;
    if (s_path(path, sizeof path, c->home, "session") < 0)
        return s_fail(ES_INVALID_ARGUMENT, "home path too long");
    FILE *f = fopen(path, "r");
    if (!f)
        return s_fail(ES_UNAUTHENTICATED, "not logged in (run espace-pro login)");
    char *got = fgets(token, sizeof token, f);
    fclose(f);
    if (!got) {
        sodium_memzero(token, sizeof token);
        return s_fail(ES_UNAUTHENTICATED, "empty session file %s", path);
    }
    token[strcspn(token, "\r\n")] = '\0';
    int rc = s_open(c, e);
    if (rc) {
        sodium_memzero(token, sizeof token);
        return rc;
    }
    rc = espace_resume(*e, token, &err);
    sodium_memzero(token, sizeof token);
    if (rc < 0) {
        if (rc == ES_UNAUTHENTICATED)
            *gone = 1;
        espace_close(e);
        return s_fail_err(&err);
    }
    return 0;
}

static int s_is_hex32(const char *s)
{
    if (strlen(s) != 32)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

/* --patient: a 32-hex patient id as is, else an INS resolved by identity. */
static int s_patient(espace_t *e, const char *arg, char pid[ESPACE_PATIENT_ID_MAX])
{
    espace_error_t err;
    if (!arg)
        return s_fail(ES_INVALID_ARGUMENT, "--patient INS|ID is required");
    if (s_is_hex32(arg)) {
        memcpy(pid, arg, ESPACE_PATIENT_ID_MAX);
        return 0;
    }
    if (espace_resolve_patient(e, arg, pid, &err) < 0)
        return s_fail_err(&err);
    return 0;
}

/* One call to the consent service on the saved session: resume, call,
 * close. When `patient` is set (an INS or a patient id, from --patient), it
 * is resolved with s_patient on the same session and *patient_slot (a field
 * of `req`) is pointed at the id. 0 with *m (free with espace_free), or the
 * exit status, the error already printed. */
static int s_consent_call(const pro_conf_t *c, const char *method, const ProtobufCMessage *req,
                          const ProtobufCMessageDescriptor *desc, ProtobufCMessage **m,
                          const char *patient, char **patient_slot)
{
    espace_t *e = NULL;
    espace_error_t err;
    int gone;
    char pid[ESPACE_PATIENT_ID_MAX];
    int rc = s_resume(c, &e, &gone);
    if (rc)
        return rc;
    if (patient) {
        if ((rc = s_patient(e, patient, pid)) != 0) {
            espace_close(&e);
            return rc;
        }
        *patient_slot = pid;
    }
    rc = espace_call(e, "consent", method, req, desc, m, &err);
    espace_close(&e);
    if (rc < 0)
        return s_fail_err(&err);
    return 0;
}

static const char *s_kind_name(int kind)
{
    static const char *names[] = {"none", "patient", "professional", "app", "operator", "service"};
    return (kind >= 0 && kind < 6) ? names[kind] : "unknown";
}

static int s_whoami(const pro_conf_t *c)
{
    espace_t *e = NULL;
    espace_whoami_t w;
    espace_error_t err;
    int gone;
    int rc = s_resume(c, &e, &gone);
    if (rc)
        return rc;
    rc = espace_whoami(e, &w, &err);
    espace_close(&e);
    if (rc < 0)
        return s_fail_err(&err);
    char when[32];
    s_iso(w.session_expires_ms, when, sizeof when);
    printf("principal   %s\nkind        %s\nname        %s\n", w.principal, s_kind_name(w.kind),
           w.display_name);
    if (w.profession[0])
        printf("profession  %s\n", w.profession);
    if (w.session_expires_ms)
        printf("expires     %s\n", when);
    return 0;
}

static int s_logout(const pro_conf_t *c)
{
    espace_t *e = NULL;
    espace_error_t err;
    char path[PRO_PATH_MAX + 16];
    int gone;
    if (s_path(path, sizeof path, c->home, "session") < 0)
        return s_fail(ES_INVALID_ARGUMENT, "home path too long");
    int rc = s_resume(c, &e, &gone);
    if (rc) {
        if (gone) /* expired or revoked already: forget it */
            unlink(path);
        return rc;
    }
    rc = espace_logout(e, &err);
    espace_close(&e);
    if (rc < 0)
        return s_fail_err(&err);
    if (unlink(path) < 0)
        return s_fail(ES_INTERNAL, "cannot delete %s: %s", path, strerror(errno));
    printf("logged out\n");
    return 0;
}

/* ---- consent ---- */

typedef struct pro_args {
    const char *rpps, *device, *patient, *scope, *purpose, *days, *reason;
} pro_args_t;

static void s_hex16(const ProtobufCBinaryData *b, char out[33])
{
    if (b->len == 16)
        sodium_bin2hex(out, 33, b->data, 16);
    else
        snprintf(out, 33, "?");
}

static void s_period(const Espace__V1__Period *p, char *out, size_t n)
{
    char start[32], end[32];
    if (!p) {
        snprintf(out, n, "?");
        return;
    }
    s_iso(p->start_ms, start, sizeof start);
    if (p->end_ms)
        s_iso(p->end_ms, end, sizeof end);
    else
        snprintf(end, sizeof end, "revoked");
    snprintf(out, n, "%s..%s", start, end);
}

/* Keep a reply's next_cursor for the next page: 1 if there is one (copied to
 * cursor, at most cap bytes), 0 at the end (or for an oversized cursor). */
static int s_next_page(const ProtobufCBinaryData *next, uint8_t *cursor, size_t cap,
                       size_t *cursor_len)
{
    if (next->len == 0 || next->len > cap)
        return 0;
    memcpy(cursor, next->data, next->len);
    *cursor_len = next->len;
    return 1;
}

static void s_print_grant(const Espace__V1__Grant *g)
{
    char id[33], scopes[ESPACE_SCOPES_TEXT_MAX], period[80];
    s_hex16(&g->id, id);
    if (espace_scopes_format(g->scopes, g->n_scopes, scopes, sizeof scopes) < 0)
        snprintf(scopes + sizeof scopes - 4, 4, "...");
    s_period(g->period, period, sizeof period);
    printf("%s  %s  %s  %s%s%s  %s\n", id, g->patient_id ? g->patient_id : "?", scopes,
           espace_grant_status_name((int)g->status),
           g->inactive_reason && *g->inactive_reason ? "/" : "",
           g->inactive_reason ? g->inactive_reason : "", period);
}

static int s_access_request(const pro_conf_t *c, const pro_args_t *a)
{
    static espace_scopes_t scopes; /* large: not on the stack */
    char why[160];
    if (!a->patient || !a->scope || !a->purpose || !a->days || !a->reason) {
        fprintf(stderr,
                "error: access request needs --patient, --scope, --purpose, --days and "
                "--reason\n%s",
                s_usage);
        return 2;
    }
    if (espace_scopes_parse(a->scope, &scopes, why, sizeof why) < 0)
        return s_fail(ES_INVALID_ARGUMENT, "%s (field scope)", why);
    int purpose = espace_purpose_parse(a->purpose);
    if (purpose < 0)
        return s_fail(ES_INVALID_ARGUMENT,
                      "unknown purpose '%.32s' (prevention, diagnostic, soins, "
                      "suivi_social_medicosocial) (field purpose)",
                      a->purpose);
    char *end = NULL;
    unsigned long days = strtoul(a->days, &end, 10);
    if (a->days[0] < '0' || a->days[0] > '9' || *end || days < 1 || days > 3650)
        return s_fail(ES_INVALID_ARGUMENT, "--days must be 1..3650 (field days)");
    Espace__V1__Period period = ESPACE__V1__PERIOD__INIT;
    period.start_ms = 0; /* now */
    period.end_ms = bus_wall_ms() + (int64_t)days * 86400000LL;
    Espace__V1__RequestAccessRequest req = ESPACE__V1__REQUEST_ACCESS_REQUEST__INIT;
    req.scopes = scopes.list;
    req.n_scopes = scopes.n;
    req.purpose = (Espace__V1__Purpose)purpose;
    req.period = &period;
    req.reason = (char *)a->reason;
    ProtobufCMessage *m = NULL;
    int rc = s_consent_call(c, "RequestAccess", &req.base,
                            &espace__v1__request_access_reply__descriptor, &m, a->patient,
                            &req.patient_id);
    if (rc)
        return rc;
    Espace__V1__RequestAccessReply *r = (Espace__V1__RequestAccessReply *)m;
    if (r->grant) {
        char id[33];
        s_hex16(&r->grant->id, id);
        printf("requested access %s: %s until the patient answers\n", id,
               espace_grant_status_name((int)r->grant->status));
    }
    espace_free(m);
    return 0;
}

static int s_access_status(const pro_conf_t *c, const pro_args_t *a)
{
    espace_t *e = NULL;
    espace_error_t err;
    int gone;
    uint8_t cursor[256];
    size_t cursor_len = 0;
    unsigned count = 0;
    char pid[ESPACE_PATIENT_ID_MAX] = "";
    int rc = s_resume(c, &e, &gone);
    if (rc)
        return rc;
    if (a->patient && (rc = s_patient(e, a->patient, pid)) != 0) {
        espace_close(&e);
        return rc;
    }
    for (int page = 0; page < 1000; page++) { /* bounded: 200 000 grants at most */
        Espace__V1__ListGrantsRequest req = ESPACE__V1__LIST_GRANTS_REQUEST__INIT;
        req.patient_id = pid;
        req.cursor.data = cursor;
        req.cursor.len = cursor_len;
        ProtobufCMessage *m = NULL;
        rc = espace_call(e, "consent", "ListGrants", &req.base,
                         &espace__v1__list_grants_reply__descriptor, &m, &err);
        if (rc < 0) {
            espace_close(&e);
            return s_fail_err(&err);
        }
        Espace__V1__ListGrantsReply *r = (Espace__V1__ListGrantsReply *)m;
        for (size_t i = 0; i < r->n_grants; i++)
            s_print_grant(r->grants[i]);
        count += (unsigned)r->n_grants;
        int more = s_next_page(&r->next_cursor, cursor, sizeof cursor, &cursor_len);
        espace_free(m);
        if (!more)
            break;
    }
    espace_close(&e);
    if (count == 0)
        fprintf(stderr, "no grants or requests\n");
    return 0;
}

static int s_emergency(const pro_conf_t *c, const pro_args_t *a)
{
    if (!a->patient || !a->reason) {
        fprintf(stderr, "error: emergency needs --patient and --reason\n%s", s_usage);
        return 2;
    }
    Espace__V1__DeclareEmergencyRequest req = ESPACE__V1__DECLARE_EMERGENCY_REQUEST__INIT;
    req.reason = (char *)a->reason;
    ProtobufCMessage *m = NULL;
    int rc = s_consent_call(c, "DeclareEmergency", &req.base,
                            &espace__v1__declare_emergency_reply__descriptor, &m, a->patient,
                            &req.patient_id);
    if (rc)
        return rc;
    Espace__V1__DeclareEmergencyReply *r = (Espace__V1__DeclareEmergencyReply *)m;
    if (r->emergency) {
        char id[33], until[32];
        s_hex16(&r->emergency->id, id);
        s_iso(r->emergency->until_ms, until, sizeof until);
        printf("emergency access to patient %s until %s (id %s); the patient is notified\n",
               r->emergency->patient_id ? r->emergency->patient_id : a->patient, until, id);
    }
    espace_free(m);
    return 0;
}

/* ---- agenda ---- */

#define PRO_MAX_REMINDERS 5     /* reminders per event (agenda service limit) */
#define PRO_LIST_PAGES 100      /* List pages read at most (500 events each) */
#define PRO_WATCH_CHECK_MS 30000 /* watch: re-check the session this often */

typedef struct agenda_args {
    const char *kind, *title, *start, *end, *location, *description, *id, *version, *status,
        *from, *to, *count, *seconds;
    const char *reminders[PRO_MAX_REMINDERS + 1];
    size_t n_reminders;
} agenda_args_t;

static const char *const s_agenda_kinds[] = {"?", "rdv", "hospitalisation", "rappel", "tache"};
static const char *const s_agenda_statuses[] = {
    "?",         "proposed", "pending", "booked",           "arrived", "fulfilled",
    "cancelled", "noshow",   "entered-in-error", "checked-in", "waitlist"};
static const char *const s_agenda_changes[] = {"?",         "created", "updated",
                                               "cancelled", "deleted", "rescheduled"};

static const char *s_name_of(const char *const *names, size_t n, int v)
{
    return (v > 0 && (size_t)v < n) ? names[v] : "?";
}

static int s_value_of(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 1; i < n; i++)
        if (!strcmp(names[i], s))
            return (int)i;
    return -1;
}

/* ---- Europe/Paris time (proto/civil_time.h) ---- */

/* "YYYY-MM-DD HH:MM" in Paris time. */
static void s_paris(int64_t ms, char *out, size_t n)
{
    civil_utc_t t;
    civil_utc_split(ms + civil_paris_offset_ms(ms), &t);
    snprintf(out, n, "%04lld-%02u-%02u %02d:%02d", (long long)t.year, t.month, t.day, t.hour,
             t.min);
}

static int s_digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DDTHH:MM[:SS][Z]" (a space may replace T): Paris local time, or
 * UTC with Z. In the spring gap the hour is read as winter time; in the
 * autumn overlap the first (summer) one is taken. 0 and *ms, or -1. */
static int s_parse_time(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, se = 0;
    size_t len = strlen(s);
    if (len < 16 || s_digits(s, 4, &y) || s[4] != '-' || s_digits(s + 5, 2, &mo) ||
        s[7] != '-' || s_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') ||
        s_digits(s + 11, 2, &h) || s[13] != ':' || s_digits(s + 14, 2, &mi))
        return -1;
    const char *rest = s + 16;
    if (*rest == ':') {
        if (s_digits(rest + 1, 2, &se))
            return -1;
        rest += 3;
    }
    int utc = 0;
    if (*rest == 'Z') {
        utc = 1;
        rest++;
    }
    if (*rest || y < 1970 || y > 9998 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 ||
        se > 59)
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return -1;
    int64_t local = civil_days_from_date(y, (unsigned)mo, (unsigned)d) * CIVIL_DAY_MS +
                    ((int64_t)h * 3600 + mi * 60 + se) * 1000;
    int64_t u = local;
    if (!utc) {
        u = local - 7200000;
        if (civil_paris_offset_ms(u) != 7200000)
            u = local - 3600000;
    }
    *ms = u;
    return 0;
}

static int s_parse_id16(const char *hex, uint8_t out[16])
{
    size_t bin_len = 0;
    if (!hex || strlen(hex) != 32 ||
        sodium_hex2bin(out, 16, hex, 32, NULL, &bin_len, NULL) != 0 || bin_len != 16)
        return -1;
    return 0;
}

static int s_parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (!s || s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static void s_print_event(const Espace__V1__AgendaEvent *ev)
{
    char id[33], start[32];
    s_hex16(&ev->id, id);
    s_paris(ev->start_ms, start, sizeof start);
    printf("%s  %s  %s  %s  %s\n", id, start,
           s_name_of(s_agenda_kinds, 5, (int)ev->kind),
           s_name_of(s_agenda_statuses, 11, (int)ev->status), ev->title ? ev->title : "");
}

/* One agenda call on an open session; 0 with *m, or the exit status. */
static int s_agenda_call(espace_t *e, const char *method, const ProtobufCMessage *req,
                         const ProtobufCMessageDescriptor *desc, ProtobufCMessage **m)
{
    espace_error_t err;
    if (espace_call(e, "agenda", method, req, desc, m, &err) < 0)
        return s_fail_err(&err);
    return 0;
}

/* One agenda call that changes an event (Create, Update, Cancel: replies
 * whose field `event` is the event as stored), then its line
 * "<verb> <id hex> version <n>". 0, or the exit status. */
static int s_agenda_change(espace_t *e, const char *method, const ProtobufCMessage *req,
                           const ProtobufCMessageDescriptor *desc, const char *verb)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc,
                                                                                       "event");
    assert(f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
           f->descriptor == &espace__v1__agenda_event__descriptor);
    ProtobufCMessage *m = NULL;
    int rc = s_agenda_call(e, method, req, desc, &m);
    if (rc)
        return rc;
    const Espace__V1__AgendaEvent *ev;
    memcpy(&ev, (const char *)m + f->offset, sizeof ev);
    if (ev) {
        char hex[33];
        s_hex16(&ev->id, hex);
        printf("%s %s version %llu\n", verb, hex, (unsigned long long)ev->version);
    }
    espace_free(m);
    return 0;
}

static int s_agenda_list(espace_t *e, const char *pid, const agenda_args_t *a)
{
    int64_t from = bus_wall_ms() - 86400000LL, to;
    if (a->from && s_parse_time(a->from, &from) < 0)
        return s_fail(ES_INVALID_ARGUMENT, "--from: a time like 2026-12-01T09:30 (field from)");
    to = from + 366LL * 86400000LL;
    if (a->to && s_parse_time(a->to, &to) < 0)
        return s_fail(ES_INVALID_ARGUMENT, "--to: a time like 2026-12-01T09:30 (field to)");
    uint8_t cursor[256];
    size_t cursor_len = 0;
    unsigned count = 0;
    for (int page = 0; page < PRO_LIST_PAGES; page++) {
        Espace__V1__AgendaListRequest req = ESPACE__V1__AGENDA_LIST_REQUEST__INIT;
        req.patient_id = (char *)pid;
        req.from_ms = from;
        req.to_ms = to;
        req.limit = 500;
        req.cursor.data = cursor;
        req.cursor.len = cursor_len;
        ProtobufCMessage *m = NULL;
        int rc = s_agenda_call(e, "List", &req.base, &espace__v1__agenda_list_reply__descriptor,
                               &m);
        if (rc)
            return rc;
        Espace__V1__AgendaListReply *r = (Espace__V1__AgendaListReply *)m;
        for (size_t i = 0; i < r->n_events; i++)
            s_print_event(r->events[i]);
        count += (unsigned)r->n_events;
        int more = s_next_page(&r->next_cursor, cursor, sizeof cursor, &cursor_len);
        espace_free(m);
        if (!more)
            break;
    }
    if (count == 0)
        fprintf(stderr, "no events\n");
    return 0;
}

/* The reminders of --reminder into out; count or -1 (message printed). */
static int s_reminders(const agenda_args_t *a, uint32_t out[PRO_MAX_REMINDERS])
{
    for (size_t i = 0; i < a->n_reminders; i++) {
        uint64_t v;
        if (s_parse_u64(a->reminders[i], &v) < 0 || v > 86400) {
            s_fail(ES_INVALID_ARGUMENT, "--reminder: minutes before the start, 0..86400");
            return -1;
        }
        out[i] = (uint32_t)v;
    }
    return (int)a->n_reminders;
}

static int s_agenda_create(espace_t *e, const char *pid, const agenda_args_t *a)
{
    espace_error_t err;
    espace_whoami_t me;
    uint32_t rem[PRO_MAX_REMINDERS];
    int64_t start, end;
    if (!a->kind || !a->title || !a->start || !a->end) {
        fprintf(stderr, "error: agenda create needs --kind, --title, --start and --end\n%s",
                s_usage);
        return 2;
    }
    int kind = s_value_of(s_agenda_kinds, 5, a->kind);
    if (kind < 0)
        return s_fail(ES_INVALID_ARGUMENT,
                      "unknown kind '%.32s' (rdv, hospitalisation, rappel, tache) (field kind)",
                      a->kind);
    if (s_parse_time(a->start, &start) < 0 || s_parse_time(a->end, &end) < 0)
        return s_fail(ES_INVALID_ARGUMENT,
                      "--start/--end: times like 2026-12-01T09:30 (Paris) or "
                      "2026-12-01T08:30Z (field start)");
    int nrem = s_reminders(a, rem);
    if (nrem < 0)
        return 1;
    if (espace_whoami(e, &me, &err) < 0)
        return s_fail_err(&err);
    Espace__V1__AgendaParticipant me_p = ESPACE__V1__AGENDA_PARTICIPANT__INIT;
    me_p.actor_type = ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PROFESSIONAL;
    me_p.actor_id = me.principal;
    me_p.display = me.display_name;
    me_p.answer = ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_ACCEPTED;
    Espace__V1__AgendaParticipant *parts[1] = {&me_p};
    Espace__V1__AgendaEvent ev = ESPACE__V1__AGENDA_EVENT__INIT;
    ev.kind = (Espace__V1__AgendaKind)kind;
    ev.title = (char *)a->title;
    ev.description = (char *)(a->description ? a->description : "");
    ev.location = (char *)(a->location ? a->location : "");
    ev.start_ms = start;
    ev.end_ms = end;
    ev.source = ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_PRO_SOFTWARE;
    ev.participants = parts;
    ev.n_participants = 1;
    ev.reminder_minutes = rem;
    ev.n_reminder_minutes = (size_t)nrem;
    Espace__V1__AgendaCreateRequest req = ESPACE__V1__AGENDA_CREATE_REQUEST__INIT;
    req.patient_id = (char *)pid;
    req.event = &ev;
    return s_agenda_change(e, "Create", &req.base, &espace__v1__agenda_create_reply__descriptor,
                           "created");
}

static int s_agenda_update(espace_t *e, const char *pid, const agenda_args_t *a)
{
    uint8_t id[16];
    uint64_t version;
    int64_t start = 0, end = 0;
    int status = -1;
    if (!a->id || !a->version) {
        fprintf(stderr, "error: agenda update needs --id and --version\n%s", s_usage);
        return 2;
    }
    if (s_parse_id16(a->id, id) < 0)
        return s_fail(ES_INVALID_ARGUMENT, "--id: 32 hex characters (field id)");
    if (s_parse_u64(a->version, &version) < 0 || version == 0)
        return s_fail(ES_INVALID_ARGUMENT, "--version: the version you last saw (field version)");
    if ((a->start && s_parse_time(a->start, &start) < 0) ||
        (a->end && s_parse_time(a->end, &end) < 0))
        return s_fail(ES_INVALID_ARGUMENT,
                      "--start/--end: times like 2026-12-01T09:30 (field start)");
    if (a->status && (status = s_value_of(s_agenda_statuses, 11, a->status)) < 0)
        return s_fail(ES_INVALID_ARGUMENT, "unknown status '%.32s' (field status)", a->status);
    int kind = -1;
    if (a->kind && (kind = s_value_of(s_agenda_kinds, 5, a->kind)) < 0)
        return s_fail(ES_INVALID_ARGUMENT, "unknown kind '%.32s' (field kind)", a->kind);
    uint32_t rem[PRO_MAX_REMINDERS];
    int nrem = s_reminders(a, rem);
    if (nrem < 0)
        return 1;
    Espace__V1__AgendaGetRequest g = ESPACE__V1__AGENDA_GET_REQUEST__INIT;
    g.patient_id = (char *)pid;
    g.event_id.data = id;
    g.event_id.len = 16;
    ProtobufCMessage *gm = NULL;
    int rc = s_agenda_call(e, "Get", &g.base, &espace__v1__agenda_get_reply__descriptor, &gm);
    if (rc)
        return rc;
    Espace__V1__AgendaGetReply *gr = (Espace__V1__AgendaGetReply *)gm;
    if (!gr->event) {
        espace_free(gm);
        return s_fail(ES_INTERNAL, "empty Get reply");
    }
    /* the stored event with the changes asked for; the version is the one
     * the user saw, so a change made meanwhile is a conflict (ABORTED) */
    Espace__V1__AgendaEvent *ev = gr->event;
    char *saved_title = ev->title, *saved_desc = ev->description, *saved_loc = ev->location;
    int64_t duration = ev->end_ms - ev->start_ms;
    ev->version = version;
    if (a->title)
        ev->title = (char *)a->title;
    if (a->description)
        ev->description = (char *)a->description;
    if (a->location)
        ev->location = (char *)a->location;
    if (a->start)
        ev->start_ms = start;
    if (a->end)
        ev->end_ms = end;
    else if (a->start) /* moved: keep the duration (all-day: to the next midnight) */
        ev->end_ms = ev->all_day ? 0 : start + duration;
    if (status > 0)
        ev->status = (Espace__V1__AgendaStatus)status;
    if (kind > 0)
        ev->kind = (Espace__V1__AgendaKind)kind;
    uint32_t *saved_rem = ev->reminder_minutes;
    size_t saved_n = ev->n_reminder_minutes;
    if (nrem > 0) {
        ev->reminder_minutes = rem;
        ev->n_reminder_minutes = (size_t)nrem;
    }
    Espace__V1__AgendaUpdateRequest req = ESPACE__V1__AGENDA_UPDATE_REQUEST__INIT;
    req.patient_id = (char *)pid;
    req.event = ev;
    rc = s_agenda_change(e, "Update", &req.base, &espace__v1__agenda_update_reply__descriptor,
                         "updated");
    /* give back what the Get reply owns before freeing it */
    ev->reminder_minutes = saved_rem;
    ev->n_reminder_minutes = saved_n;
    ev->title = saved_title;
    ev->description = saved_desc;
    ev->location = saved_loc;
    espace_free(gm);
    return rc;
}

static int s_agenda_cancel(espace_t *e, const char *pid, const agenda_args_t *a,
                           const char *reason)
{
    uint8_t id[16];
    uint64_t version = 0;
    if (!a->id || !reason) {
        fprintf(stderr, "error: agenda cancel needs --id and --reason\n%s", s_usage);
        return 2;
    }
    if (s_parse_id16(a->id, id) < 0)
        return s_fail(ES_INVALID_ARGUMENT, "--id: 32 hex characters (field id)");
    if (a->version && (s_parse_u64(a->version, &version) < 0 || version == 0))
        return s_fail(ES_INVALID_ARGUMENT, "--version: the version you last saw (field version)");
    Espace__V1__AgendaCancelRequest req = ESPACE__V1__AGENDA_CANCEL_REQUEST__INIT;
    req.patient_id = (char *)pid;
    req.event_id.data = id;
    req.event_id.len = 16;
    req.reason = (char *)reason;
    req.expected_version = version;
    return s_agenda_change(e, "Cancel", &req.base, &espace__v1__agenda_cancel_reply__descriptor,
                           "cancelled");
}

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* Print the line of one notice of pro.<rpps>.agenda. The notice has no
 * content (docs/agenda.md): the event is read with Get, which asks consent
 * and audits; a refused Get prints "(no access)", never the content. 0, or
 * the exit status when the session ended. */
static int s_watch_line(espace_t *e, const Espace__V1__AgendaChange *ch)
{
    char id[33], start[32];
    const char *kind = s_name_of(s_agenda_changes, 6, (int)ch->kind);
    unsigned long long cv = (unsigned long long)ch->change_version;
    s_hex16(&ch->event->id, id);
    Espace__V1__AgendaGetRequest g = ESPACE__V1__AGENDA_GET_REQUEST__INIT;
    g.patient_id = ch->event->patient_id;
    g.event_id = ch->event->id;
    ProtobufCMessage *m = NULL;
    espace_error_t err;
    if (espace_call(e, "agenda", "Get", &g.base, &espace__v1__agenda_get_reply__descriptor, &m,
                    &err) < 0) {
        if (err.status == ES_UNAUTHENTICATED)
            return s_fail_err(&err);
        if (err.status == ES_PERMISSION_DENIED || err.status == ES_NOT_FOUND)
            printf("%llu  %s  %s  (no access)\n", cv, kind, id);
        else
            printf("%llu  %s  %s  (not visible: %s)\n", cv, kind, id,
                   espace_status_name(err.status));
        fflush(stdout);
        return 0;
    }
    const Espace__V1__AgendaEvent *ev = ((Espace__V1__AgendaGetReply *)m)->event;
    if (ev && ev->start_ms)
        s_paris(ev->start_ms, start, sizeof start);
    else
        snprintf(start, sizeof start, "-");
    printf("%llu  %s  %s  %s  %s\n", cv, kind, id, start,
           ev && ev->title && *ev->title ? ev->title : "-");
    fflush(stdout);
    espace_free(m);
    return 0;
}

static int s_agenda_watch(espace_t *e, const char *pid, const agenda_args_t *a)
{
    espace_error_t err;
    espace_whoami_t me;
    uint64_t count = 0, seconds = 0;
    if (a->count && (s_parse_u64(a->count, &count) < 0 || count == 0))
        return s_fail(ES_INVALID_ARGUMENT, "--count: a number of changes >= 1");
    if (a->seconds && (s_parse_u64(a->seconds, &seconds) < 0 || seconds == 0 ||
                       seconds > 86400ULL * 365))
        return s_fail(ES_INVALID_ARGUMENT, "--seconds: a number of seconds >= 1");
    if (espace_whoami(e, &me, &err) < 0)
        return s_fail_err(&err);
    char prefix[ESPACE_TOPIC_MAX];
    snprintf(prefix, sizeof prefix, "pro.%s.agenda", me.principal);
    if (espace_subscribe(e, prefix, &err) < 0)
        return s_fail_err(&err);
    fprintf(stderr, "watching %s%s%s\n", prefix, pid ? " for patient " : "", pid ? pid : "");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int64_t end = seconds ? bus_mono_ms() + (int64_t)seconds * 1000 : INT64_MAX;
    int64_t check_at = bus_mono_ms() + PRO_WATCH_CHECK_MS;
    uint64_t seen = 0;
    while (!s_stop && (!count || seen < count)) {
        int64_t now = bus_mono_ms();
        if (now >= end)
            break;
        if (now >= check_at) { /* the session may have ended: subscribing again tells */
            if (espace_subscribe(e, prefix, &err) < 0)
                return s_fail_err(&err);
            check_at = now + PRO_WATCH_CHECK_MS;
        }
        int64_t wait = end - now;
        if (wait > 500)
            wait = 500;
        char topic[ESPACE_TOPIC_MAX];
        Espace__V1__Event *ev = NULL;
        int rc = espace_next_event(e, (int)wait, topic, &ev, &err);
        if (rc == ES_DEADLINE_EXCEEDED)
            continue;
        if (rc < 0)
            return s_fail_err(&err);
        Espace__V1__AgendaChange *ch = NULL;
        if (!strcmp(topic, prefix) &&
            codec_decode(&espace__v1__agenda_change__descriptor, ev->body.data, ev->body.len, 0,
                         (ProtobufCMessage **)&ch, NULL) == 0 &&
            ch->event && ch->event->patient_id &&
            (!pid || !strcmp(ch->event->patient_id, pid))) {
            rc = s_watch_line(e, ch);
            if (rc) {
                codec_free((ProtobufCMessage *)ch);
                espace_free(&ev->base);
                return rc;
            }
            seen++;
        }
        codec_free((ProtobufCMessage *)ch);
        espace_free(&ev->base);
    }
    return 0;
}

static int s_agenda(const pro_conf_t *c, const char *sub, const agenda_args_t *a,
                    const pro_args_t *pa)
{
    espace_t *e = NULL;
    int gone;
    char pid[ESPACE_PATIENT_ID_MAX];
    if (!sub || (strcmp(sub, "list") && strcmp(sub, "create") && strcmp(sub, "update") &&
                 strcmp(sub, "cancel") && strcmp(sub, "watch"))) {
        fprintf(stderr, "error: agenda needs list, create, update, cancel or watch\n%s",
                s_usage);
        return 2;
    }
    if (!pa->patient && strcmp(sub, "watch")) {
        fprintf(stderr, "error: agenda %s needs --patient INS|ID\n%s", sub, s_usage);
        return 2;
    }
    int rc = s_resume(c, &e, &gone);
    if (rc)
        return rc;
    if (pa->patient && (rc = s_patient(e, pa->patient, pid)) != 0)
        goto done;
    const char *p = pa->patient ? pid : NULL;
    if (!strcmp(sub, "list"))
        rc = s_agenda_list(e, p, a);
    else if (!strcmp(sub, "create"))
        rc = s_agenda_create(e, p, a);
    else if (!strcmp(sub, "update"))
        rc = s_agenda_update(e, p, a);
    else if (!strcmp(sub, "cancel"))
        rc = s_agenda_cancel(e, p, a, pa->reason);
    else
        rc = s_agenda_watch(e, p, a);
done:
    espace_close(&e);
    return rc;
}

int main(int argc, char **argv)
{
    pro_conf_t c;
    memset(&c, 0, sizeof c);
    const char *cmd = NULL, *sub = NULL;
    pro_args_t args;
    memset(&args, 0, sizeof args);
    agenda_args_t ag;
    memset(&ag, 0, sizeof ag);
    if (sodium_init() < 0)
        return s_fail(ES_INTERNAL, "libsodium init failed");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(s_usage, stdout);
            return 0;
        }
        if (a[0] == '-' && a[1] == '-' && !v) {
            fprintf(stderr, "error: %s needs a value\n%s", a, s_usage);
            return 2;
        }
        if (!strcmp(a, "--home")) {
            snprintf(c.home, sizeof c.home, "%s", v);
        } else if (!strcmp(a, "--broker")) {
            snprintf(c.broker, sizeof c.broker, "%s", v);
            c.broker_flag = 1;
        } else if (!strcmp(a, "--broker-key")) {
            snprintf(c.broker_key, sizeof c.broker_key, "%s", v);
            c.key_flag = 1;
        } else if (!strcmp(a, "--timeout")) {
            c.timeout_ms = (unsigned)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--rpps")) {
            args.rpps = v;
        } else if (!strcmp(a, "--device")) {
            args.device = v;
        } else if (!strcmp(a, "--patient")) {
            args.patient = v;
        } else if (!strcmp(a, "--scope")) {
            args.scope = v;
        } else if (!strcmp(a, "--purpose")) {
            args.purpose = v;
        } else if (!strcmp(a, "--days")) {
            args.days = v;
        } else if (!strcmp(a, "--reason")) {
            args.reason = v;
        } else if (!strcmp(a, "--kind")) {
            ag.kind = v;
        } else if (!strcmp(a, "--title")) {
            ag.title = v;
        } else if (!strcmp(a, "--start")) {
            ag.start = v;
        } else if (!strcmp(a, "--end")) {
            ag.end = v;
        } else if (!strcmp(a, "--location")) {
            ag.location = v;
        } else if (!strcmp(a, "--description")) {
            ag.description = v;
        } else if (!strcmp(a, "--id")) {
            ag.id = v;
        } else if (!strcmp(a, "--version")) {
            ag.version = v;
        } else if (!strcmp(a, "--status")) {
            ag.status = v;
        } else if (!strcmp(a, "--from")) {
            ag.from = v;
        } else if (!strcmp(a, "--to")) {
            ag.to = v;
        } else if (!strcmp(a, "--count")) {
            ag.count = v;
        } else if (!strcmp(a, "--seconds")) {
            ag.seconds = v;
        } else if (!strcmp(a, "--reminder")) {
            if (ag.n_reminders >= PRO_MAX_REMINDERS) {
                fprintf(stderr, "error: at most %d --reminder\n", PRO_MAX_REMINDERS);
                return 2;
            }
            ag.reminders[ag.n_reminders++] = v;
        } else if (a[0] == '-') {
            fprintf(stderr, "error: unknown option %s\n%s", a, s_usage);
            return 2;
        } else if (!cmd) {
            cmd = a;
            continue;
        } else if (!sub && (!strcmp(cmd, "access") || !strcmp(cmd, "agenda"))) {
            sub = a;
            continue;
        } else {
            fprintf(stderr, "error: unexpected argument %s\n%s", a, s_usage);
            return 2;
        }
        i++;
    }
    if (!cmd) {
        fputs(s_usage, stderr);
        return 2;
    }
    if (!c.home[0]) {
        const char *env = getenv("ESPACE_PRO_HOME");
        const char *home = getenv("HOME");
        if (env && *env)
            snprintf(c.home, sizeof c.home, "%s", env);
        else if (home && *home)
            snprintf(c.home, sizeof c.home, "%s/.config/espace-pro", home);
        else
            return s_fail(ES_INVALID_ARGUMENT, "no home folder: pass --home DIR");
    }
    if (s_mkhome(c.home) < 0)
        return s_fail(ES_INTERNAL, "cannot create %s: %s", c.home, strerror(errno));
    if (s_conf_load(&c))
        return 1;
    if (!strcmp(cmd, "keygen"))
        return s_keygen(&c);
    if (!strcmp(cmd, "login")) {
        if (!args.rpps) {
            fprintf(stderr, "error: login needs --rpps\n%s", s_usage);
            return 2;
        }
        return s_login(&c, args.rpps, args.device);
    }
    if (!strcmp(cmd, "access") && sub && !strcmp(sub, "request"))
        return s_access_request(&c, &args);
    if (!strcmp(cmd, "access") && sub && !strcmp(sub, "status"))
        return s_access_status(&c, &args);
    if (!strcmp(cmd, "access")) {
        fprintf(stderr, "error: access needs request or status\n%s", s_usage);
        return 2;
    }
    if (!strcmp(cmd, "emergency"))
        return s_emergency(&c, &args);
    if (!strcmp(cmd, "agenda"))
        return s_agenda(&c, sub, &ag, &args);
    if (!strcmp(cmd, "whoami"))
        return s_whoami(&c);
    if (!strcmp(cmd, "logout"))
        return s_logout(&c);
    fprintf(stderr, "error: unknown command %s\n%s", cmd, s_usage);
    return 2;
}
