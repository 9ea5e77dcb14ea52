/*
 * espace-pro - command line for health professionals, on top of libespace.
 *
 *   espace-pro [--home DIR] [--broker tcp://H:P] [--broker-key Z85] [--timeout MS]
 *              keygen | login --rpps R [--device NAME] | whoami | logout
 *            | access request --patient ID --scope SCOPES --purpose P --days N --reason TEXT
 *            | access status [--patient ID]
 *            | emergency --patient ID --reason TEXT
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
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "espace.h"
#include "kvfile.h"

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
    "  access request --patient ID --scope CATEGORY:ACTION[,...] --purpose P --days N\n"
    "                 --reason TEXT  ask a patient for access (consent RequestAccess)\n"
    "  access status [--patient ID]  your grants and requests: id, patient, scopes,\n"
    "                                status, period\n"
    "  emergency --patient ID --reason TEXT\n"
    "                                declare an emergency access (bris de glace, 4 hours)\n"
    "options:\n"
    "  --home DIR         folder of config, keys and session\n"
    "                     (default $ESPACE_PRO_HOME or ~/.config/espace-pro)\n"
    "  --broker ENDPOINT  tcp://HOST:PORT of espace (saved by login)\n"
    "  --broker-key Z85   espace's public key (saved by login)\n"
    "  --timeout MS       per-request timeout (default 5000)\n"
    "scopes: CATEGORY:ACTION[:CODE[+CODE...]] with CATEGORY agenda, documents, measures or\n"
    "  messaging and ACTION read or write; purposes: prevention, diagnostic, soins,\n"
    "  suivi_social_medicosocial\n";

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

/* One call to the consent service on the saved session: resume, call,
 * close. 0 with *m (free with espace_free), or the exit status, the error
 * already printed. */
static int s_consent_call(const pro_conf_t *c, const char *method, const ProtobufCMessage *req,
                          const ProtobufCMessageDescriptor *desc, ProtobufCMessage **m)
{
    espace_t *e = NULL;
    espace_error_t err;
    int gone;
    int rc = s_resume(c, &e, &gone);
    if (rc)
        return rc;
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
    req.patient_id = (char *)a->patient;
    req.scopes = scopes.list;
    req.n_scopes = scopes.n;
    req.purpose = (Espace__V1__Purpose)purpose;
    req.period = &period;
    req.reason = (char *)a->reason;
    ProtobufCMessage *m = NULL;
    int rc = s_consent_call(c, "RequestAccess", &req.base,
                            &espace__v1__request_access_reply__descriptor, &m);
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
    int rc = s_resume(c, &e, &gone);
    if (rc)
        return rc;
    for (int page = 0; page < 1000; page++) { /* bounded: 200 000 grants at most */
        Espace__V1__ListGrantsRequest req = ESPACE__V1__LIST_GRANTS_REQUEST__INIT;
        req.patient_id = (char *)(a->patient ? a->patient : "");
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
        int more = r->next_cursor.len > 0 && r->next_cursor.len <= sizeof cursor;
        if (more) {
            memcpy(cursor, r->next_cursor.data, r->next_cursor.len);
            cursor_len = r->next_cursor.len;
        }
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
    req.patient_id = (char *)a->patient;
    req.reason = (char *)a->reason;
    ProtobufCMessage *m = NULL;
    int rc = s_consent_call(c, "DeclareEmergency", &req.base,
                            &espace__v1__declare_emergency_reply__descriptor, &m);
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

int main(int argc, char **argv)
{
    pro_conf_t c;
    memset(&c, 0, sizeof c);
    const char *cmd = NULL, *sub = NULL;
    pro_args_t args;
    memset(&args, 0, sizeof args);
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
        } else if (a[0] == '-') {
            fprintf(stderr, "error: unknown option %s\n%s", a, s_usage);
            return 2;
        } else if (!cmd) {
            cmd = a;
            continue;
        } else if (!sub && !strcmp(cmd, "access")) {
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
    if (!strcmp(cmd, "whoami"))
        return s_whoami(&c);
    if (!strcmp(cmd, "logout"))
        return s_logout(&c);
    fprintf(stderr, "error: unknown command %s\n%s", cmd, s_usage);
    return 2;
}
