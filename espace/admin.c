/* admin.c - `espace admin ...` (admin.h). */
#include "espace/admin.h"
#include "espace/admin_seed.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bus/bus.h"
#include "bus/codec.h"
#include "espace/v1/consent.pb-c.h"
#include "services/edge/edge.h"
#include "clients/lib/espace.h"
#include "espace/v1/identity.pb-c.h"
#include "broker/keys.h"
#include "process/kvfile.h"
#include "proto/status.h"
#include "storage/store.h"

#define ADMIN_TIMEOUT_MS 10000 /* per request to a service */
#define ADMIN_PASSWORD_MAX 1024

const char admin_help[] =
    "usage: espace [options] admin COMMAND\n"
    "commands:\n"
    "  keys gen --out FILE              make a keypair file (FILE secret 0600, FILE.pub),\n"
    "                                   print its public key\n"
    "  keys add --role ROLE --name NAME --public Z85\n"
    "                                   admit a key on tcp; ROLE: service, gateway, pro, app\n"
    "  keys remove --public Z85         refuse a key from the next connection on\n"
    "  keys list                        list the registered keys\n"
    "  keys show                        print the broker's public key (made if missing)\n"
    "  create-pro --rpps R --last-name L --first-name F --profession P\n"
    "                                   create a professional (password: $ESPACE_PASSWORD\n"
    "                                   or one line on stdin); needs `espace up`\n"
    "  backup --out DIR                 hot copy of every store into DIR/<name>\n"
    "  catalogue add --id ID --name NAME --publisher P --description-fr TEXT\n"
    "                --purpose P[,P...] --scope CATEGORY:ACTION[:CODE[+CODE...]][,...]\n"
    "                --public Z85 --terms URL --privacy URL [--hds]\n"
    "                                   reference an app (consent AddApp); needs `espace up`\n"
    "                                   purposes: prevention, diagnostic, soins,\n"
    "                                   suivi_social_medicosocial; categories: agenda,\n"
    "                                   documents, measures, messaging; actions: read, write;\n"
    "                                   --public: the app's CURVE key; URLs: https://\n"
    "  catalogue withdraw --id ID       withdraw an app: its grants stop allowing anything\n"
    "  catalogue list [--all]           listed apps (--all: withdrawn ones too)\n"
    "  catalogue show --id ID           one app in full\n"
    "  gen-cert [--cert F] [--key F] [--cn NAME]\n"
    "                                   self-signed TLS pair for the edge (default\n"
    "                                   <data>/edge/edge.crt and edge.key, CN localhost)\n"
    "  audit verify [--patient ID]      recompute the audit hash chains (one patient, or all);\n"
    "                                   exit 1 if one is broken\n"
    "  seed --patients N [--devices D] [--first K] [--out FILE]\n"
    "                                   BENCH patients with a known password, logged in on\n"
    "                                   D devices, into an espace-load accounts file\n";

/* ---- output helpers ---- */

static int s_error(int status, const char *msg, const char *field)
{
    if (field && *field)
        fprintf(stderr, "error: %s: %s (field %s)\n", es_status_name(status), msg, field);
    else
        fprintf(stderr, "error: %s: %s\n", es_status_name(status), msg);
    return 1;
}

static int s_usage(const char *why)
{
    fprintf(stderr, "error: %s\n%s", why, admin_help);
    return 2;
}

/* Value of `--name` in argv, or NULL. Sets *bad when a flag lacks its value
 * or an unknown flag is present (allowed: NULL-terminated list). */
static const char *s_opt(int argc, char **argv, const char *name)
{
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return argv[i + 1];
    return NULL;
}

static int s_check_opts(int argc, char **argv, const char *const *allowed)
{
    /* options come in pairs: name, value */
    for (int i = 0; i < argc; i += 2) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (!strcmp(argv[i], *a))
                ok = 1;
        if (!ok || i + 1 >= argc)
            return -1;
    }
    return 0;
}

static void s_iso(int64_t ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, n, "?");
}

/* ---- keys ---- */

static int s_open_broker_store(const espace_config_t *cfg, store_t **s)
{
    char dir[CONFIG_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/broker", cfg->data_dir);
    if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST)
        return s_error(ES_INTERNAL, "cannot create the data folder", NULL);
    store_opts_t o = {.tables = keys_tables, .no_sync = cfg->no_sync};
    int rc = store_open(dir, &o, s);
    if (rc < 0) {
        char msg[CONFIG_PATH_MAX + 64];
        snprintf(msg, sizeof msg, "cannot open the broker store %s", dir);
        return s_error(rc, msg, NULL);
    }
    return 0;
}

static int s_keys_gen(int argc, char **argv)
{
    static const char *const allowed[] = {"--out", NULL};
    const char *out = s_opt(argc, argv, "--out");
    if (s_check_opts(argc, argv, allowed) < 0 || !out)
        return s_usage("keys gen needs --out FILE");
    uint8_t pk[32], sk[32];
    char z85[BUS_KEY_Z85];
    int existed = access(out, F_OK) == 0;
    int rc = bus_keypair_load(out, 1, pk, sk);
    sodium_memzero(sk, sizeof sk);
    if (rc < 0)
        return s_error(rc, "cannot create or read the keypair file", NULL);
    bus_key_z85(pk, z85);
    printf("%s\n", z85);
    if (existed)
        fprintf(stderr, "note: %s existed; its key was kept\n", out);
    return 0;
}

static int s_keys_add(const espace_config_t *cfg, int argc, char **argv)
{
    static const char *const allowed[] = {"--role", "--name", "--public", NULL};
    const char *role = s_opt(argc, argv, "--role");
    const char *name = s_opt(argc, argv, "--name");
    const char *pub = s_opt(argc, argv, "--public");
    if (s_check_opts(argc, argv, allowed) < 0 || !role || !name || !pub)
        return s_usage("keys add needs --role, --name and --public");
    keys_entry_t e;
    memset(&e, 0, sizeof e);
    e.role = keys_role_parse(role);
    if (e.role < 0)
        return s_error(ES_INVALID_ARGUMENT, "role must be service, gateway, pro or app", "role");
    if (strlen(name) == 0 || strlen(name) > KEYS_MAX_NAME)
        return s_error(ES_INVALID_ARGUMENT, "name must be 1..64 bytes", "name");
    if (bus_key_parse(pub, e.public_key) < 0)
        return s_error(ES_INVALID_ARGUMENT, "not a Z85 public key (40 characters)", "public");
    snprintf(e.name, sizeof e.name, "%s", name);
    e.created_ms = bus_wall_ms();
    store_t *s = NULL;
    int rc = s_open_broker_store(cfg, &s);
    if (rc)
        return rc;
    rc = keys_add(s, &e);
    store_close(&s);
    if (rc == ES_ALREADY_EXISTS)
        return s_error(rc, "this key is already registered", "public");
    if (rc < 0)
        return s_error(rc, "cannot register the key", NULL);
    printf("added %s key %s (%s)\n", keys_role_name(e.role), pub, name);
    return 0;
}

static int s_keys_remove(const espace_config_t *cfg, int argc, char **argv)
{
    static const char *const allowed[] = {"--public", NULL};
    const char *pub = s_opt(argc, argv, "--public");
    if (s_check_opts(argc, argv, allowed) < 0 || !pub)
        return s_usage("keys remove needs --public");
    uint8_t key[32];
    if (bus_key_parse(pub, key) < 0)
        return s_error(ES_INVALID_ARGUMENT, "not a Z85 public key (40 characters)", "public");
    store_t *s = NULL;
    int rc = s_open_broker_store(cfg, &s);
    if (rc)
        return rc;
    rc = keys_remove(s, key);
    store_close(&s);
    if (rc == ES_NOT_FOUND)
        return s_error(rc, "no such key", "public");
    if (rc < 0)
        return s_error(rc, "cannot remove the key", NULL);
    printf("removed %s\n", pub);
    return 0;
}

static int s_print_key(const keys_entry_t *e, void *ctx)
{
    char z85[BUS_KEY_Z85], when[32];
    (*(unsigned *)ctx)++;
    bus_key_z85(e->public_key, z85);
    s_iso(e->created_ms, when, sizeof when);
    printf("%s  %-8s  %-20s  %s\n", z85, keys_role_name(e->role), e->name, when);
    return 0;
}

static int s_keys_list(const espace_config_t *cfg, int argc)
{
    if (argc)
        return s_usage("keys list takes no arguments");
    store_t *s = NULL;
    unsigned count = 0;
    int rc = s_open_broker_store(cfg, &s);
    if (rc)
        return rc;
    rc = keys_list(s, s_print_key, &count);
    store_close(&s);
    if (rc < 0)
        return s_error(rc, "cannot list the keys", NULL);
    if (count == 0)
        fprintf(stderr, "no registered keys\n");
    return 0;
}

static int s_keys_show(const espace_config_t *cfg, int argc)
{
    if (argc)
        return s_usage("keys show takes no arguments");
    char dir[CONFIG_PATH_MAX + 16], path[CONFIG_PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/broker", cfg->data_dir);
    snprintf(path, sizeof path, "%s/curve.key", dir);
    if ((mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST) ||
        (mkdir(dir, 0700) < 0 && errno != EEXIST))
        return s_error(ES_INTERNAL, "cannot create the broker folder", NULL);
    uint8_t pk[32], sk[32];
    char z85[BUS_KEY_Z85];
    int rc = bus_keypair_load(path, 1, pk, sk);
    sodium_memzero(sk, sizeof sk);
    if (rc < 0)
        return s_error(rc, "cannot read or create the broker keypair", NULL);
    bus_key_z85(pk, z85);
    printf("%s\n", z85);
    return 0;
}

static int s_keys(const espace_config_t *cfg, int argc, char **argv)
{
    if (argc < 1)
        return s_usage("keys needs a command");
    const char *sub = argv[0];
    if (!strcmp(sub, "gen"))
        return s_keys_gen(argc - 1, argv + 1);
    if (!strcmp(sub, "add"))
        return s_keys_add(cfg, argc - 1, argv + 1);
    if (!strcmp(sub, "remove"))
        return s_keys_remove(cfg, argc - 1, argv + 1);
    if (!strcmp(sub, "list"))
        return s_keys_list(cfg, argc - 1);
    if (!strcmp(sub, "show"))
        return s_keys_show(cfg, argc - 1);
    return s_usage("unknown keys command");
}

/* ---- calls to services, as the local operator ---- */

/* One request over ipc; prints the error and returns 1 on failure. */
static int s_call(const espace_config_t *cfg, const char *service, const char *method,
                  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_desc,
                  ProtobufCMessage **reply)
{
    const char *path = cfg->req_ipc + strlen("ipc://");
    if (access(path, F_OK) < 0) {
        char msg[CONFIG_PATH_MAX + 64];
        snprintf(msg, sizeof msg, "espace is not running (no %s)", path);
        return s_error(ES_UNAVAILABLE, msg, NULL);
    }
    int ret = 1;
    void *zctx = zmq_ctx_new();
    bus_client_t *c = NULL;
    bus_conn_t conn = {.endpoint = cfg->req_ipc};
    Espace__V1__Caller caller = ESPACE__V1__CALLER__INIT;
    caller.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR;
    caller.principal = (char *)"operator";
    caller.peer_role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
    if (!zctx)
        return s_error(ES_INTERNAL, "cannot create a ZeroMQ context", NULL);
    int rc = bus_client_new(zctx, &conn, &c);
    if (rc < 0) {
        s_error(rc, "cannot connect to the broker", NULL);
        goto term;
    }
    int64_t deadline = bus_mono_ms() + ADMIN_TIMEOUT_MS + 250;
    uint64_t id = 0;
    /* the pipe may not be up yet (ZMQ_IMMEDIATE): retry the send */
    while ((rc = bus_client_send(c, service, method, req, ADMIN_TIMEOUT_MS, &caller, &id)) ==
               ES_RESOURCE_EXHAUSTED &&
           bus_mono_ms() < deadline)
        poll(NULL, 0, 10);
    if (rc < 0) {
        s_error(rc == ES_RESOURCE_EXHAUSTED ? ES_UNAVAILABLE : rc,
                "cannot reach the broker over ipc", NULL);
        goto destroy;
    }
    for (;;) {
        int64_t left = deadline - bus_mono_ms();
        bus_reply_t r;
        memset(&r, 0, sizeof r);
        rc = left > 0 ? bus_client_recv(c, (int)left, &r) : ES_DEADLINE_EXCEEDED;
        if (rc < 0) {
            s_error(ES_UNAVAILABLE, "no answer from the broker over ipc", NULL);
            goto destroy;
        }
        if (r.id != id) {
            bus_reply_clear(&r);
            continue;
        }
        if (r.status < 0) {
            s_error(r.status, r.message[0] ? r.message : es_strerror(r.status), r.field);
            bus_reply_clear(&r);
            goto destroy;
        }
        const char *why = NULL;
        rc = codec_decode(reply_desc, r.body ? r.body : (const uint8_t *)"", r.body_len, 0, reply,
                          &why);
        bus_reply_clear(&r);
        if (rc < 0) {
            s_error(ES_INTERNAL, "undecodable reply", why);
            goto destroy;
        }
        ret = 0;
        break;
    }
destroy:
    bus_client_destroy(&c);
term:
    zmq_ctx_term(zctx);
    return ret;
}

static int s_create_pro(const espace_config_t *cfg, int argc, char **argv)
{
    static const char *const allowed[] = {"--rpps", "--last-name", "--first-name",
                                          "--profession", NULL};
    const char *rpps = s_opt(argc, argv, "--rpps");
    const char *last = s_opt(argc, argv, "--last-name");
    const char *first = s_opt(argc, argv, "--first-name");
    const char *prof = s_opt(argc, argv, "--profession");
    if (s_check_opts(argc, argv, allowed) < 0 || !rpps || !last || !first || !prof)
        return s_usage("create-pro needs --rpps, --last-name, --first-name and --profession");
    char pw[ADMIN_PASSWORD_MAX];
    if (kvfile_secret("ESPACE_PASSWORD", "password: ", pw, sizeof pw) < 0)
        return s_error(ES_INVALID_ARGUMENT, "no password ($ESPACE_PASSWORD or stdin)",
                       "password");
    Espace__V1__CreateProfessionalRequest req = ESPACE__V1__CREATE_PROFESSIONAL_REQUEST__INIT;
    req.rpps = (char *)rpps;
    req.last_name = (char *)last;
    req.first_name = (char *)first;
    req.profession = (char *)prof;
    req.password = pw;
    ProtobufCMessage *reply = NULL;
    int rc = s_call(cfg, "identity", "CreateProfessional", &req.base,
                    &espace__v1__create_professional_reply__descriptor, &reply);
    sodium_memzero(pw, sizeof pw);
    if (rc)
        return rc;
    Espace__V1__CreateProfessionalReply *r = (Espace__V1__CreateProfessionalReply *)reply;
    printf("created professional %s\n", r->rpps && *r->rpps ? r->rpps : rpps);
    codec_free(reply);
    return 0;
}

/* ---- consent: catalogue and audit ---- */

/* Remove the value-less flag `name` from argv (all occurrences); 1 if found. */
static int s_take_flag(int *argc, char **argv, const char *name)
{
    int found = 0, out = 0;
    for (int i = 0; i < *argc; i++) {
        if (!strcmp(argv[i], name))
            found = 1;
        else
            argv[out++] = argv[i];
    }
    *argc = out;
    return found;
}

static void s_print_app(const Espace__V1__App *a, int full)
{
    char scopes[ESPACE_SCOPES_TEXT_MAX], purposes[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < a->n_purposes && used < sizeof purposes; i++) {
        int w = snprintf(purposes + used, sizeof purposes - used, "%s%s", i ? "," : "",
                         espace_purpose_name((int)a->purposes[i]));
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (espace_scopes_format(a->scopes, a->n_scopes, scopes, sizeof scopes) < 0)
        snprintf(scopes + sizeof scopes - 4, 4, "...");
    if (!full) {
        printf("%-24s  %-24s  %-12s  %s%s\n", a->id, a->name, purposes, scopes,
               a->withdrawn ? "  (withdrawn)" : "");
        return;
    }
    char z85[BUS_KEY_Z85] = "", added[32], withdrawn[32];
    if (a->curve_public_key.len == 32)
        bus_key_z85(a->curve_public_key.data, z85);
    s_iso(a->added_ms, added, sizeof added);
    s_iso(a->withdrawn_ms, withdrawn, sizeof withdrawn);
    printf("id              %s\nname            %s\npublisher       %s\n"
           "description_fr  %s\npurposes        %s\nscopes          %s\nhds             %s\n"
           "public          %s\nterms           %s\nprivacy         %s\nadded           %s\n"
           "status          %s%s%s\n",
           a->id, a->name, a->publisher, a->description_fr, purposes, scopes,
           a->hds ? "yes" : "no", z85, a->terms_url, a->privacy_url, added,
           a->withdrawn ? "withdrawn " : "listed", a->withdrawn ? withdrawn : "", "");
}

static int s_catalogue_add(const espace_config_t *cfg, int argc, char **argv)
{
    static const char *const allowed[] = {"--id",      "--name",   "--publisher", "--description-fr",
                                          "--purpose", "--scope",  "--public",    "--terms",
                                          "--privacy", NULL};
    int hds = s_take_flag(&argc, argv, "--hds");
    const char *id = s_opt(argc, argv, "--id");
    const char *name = s_opt(argc, argv, "--name");
    const char *publisher = s_opt(argc, argv, "--publisher");
    const char *desc = s_opt(argc, argv, "--description-fr");
    const char *purpose = s_opt(argc, argv, "--purpose");
    const char *scope = s_opt(argc, argv, "--scope");
    const char *pub = s_opt(argc, argv, "--public");
    const char *terms = s_opt(argc, argv, "--terms");
    const char *privacy = s_opt(argc, argv, "--privacy");
    if (s_check_opts(argc, argv, allowed) < 0 || !id || !name || !publisher || !desc ||
        !purpose || !scope || !pub || !terms || !privacy)
        return s_usage("catalogue add needs --id, --name, --publisher, --description-fr, "
                       "--purpose, --scope, --public, --terms and --privacy");
    /* purposes: a comma list of names */
    Espace__V1__Purpose purposes[8];
    size_t n_purposes = 0;
    char plist[256], *save = NULL;
    if (strlen(purpose) >= sizeof plist)
        return s_error(ES_INVALID_ARGUMENT, "purpose list too long", "purpose");
    snprintf(plist, sizeof plist, "%s", purpose);
    for (char *p = strtok_r(plist, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        int v = espace_purpose_parse(p);
        if (v < 0) {
            char msg[128];
            snprintf(msg, sizeof msg,
                     "unknown purpose '%.32s' (prevention, diagnostic, soins, "
                     "suivi_social_medicosocial)",
                     p);
            return s_error(ES_INVALID_ARGUMENT, msg, "purpose");
        }
        if (n_purposes >= sizeof purposes / sizeof purposes[0])
            return s_error(ES_INVALID_ARGUMENT, "too many purposes", "purpose");
        purposes[n_purposes++] = (Espace__V1__Purpose)v;
    }
    if (n_purposes == 0)
        return s_error(ES_INVALID_ARGUMENT, "no purpose", "purpose");
    static espace_scopes_t scopes; /* large: not on the stack */
    char why[160];
    if (espace_scopes_parse(scope, &scopes, why, sizeof why) < 0)
        return s_error(ES_INVALID_ARGUMENT, why, "scope");
    uint8_t key[32];
    if (bus_key_parse(pub, key) < 0)
        return s_error(ES_INVALID_ARGUMENT, "not a Z85 public key (40 characters)", "public");

    Espace__V1__App app = ESPACE__V1__APP__INIT;
    app.id = (char *)id;
    app.name = (char *)name;
    app.publisher = (char *)publisher;
    app.description_fr = (char *)desc;
    app.purposes = purposes;
    app.n_purposes = n_purposes;
    app.scopes = scopes.list;
    app.n_scopes = scopes.n;
    app.hds = hds;
    app.curve_public_key.data = key;
    app.curve_public_key.len = sizeof key;
    app.terms_url = (char *)terms;
    app.privacy_url = (char *)privacy;
    Espace__V1__AddAppRequest req = ESPACE__V1__ADD_APP_REQUEST__INIT;
    req.app = &app;
    ProtobufCMessage *reply = NULL;
    int rc = s_call(cfg, "consent", "AddApp", &req.base, &espace__v1__add_app_reply__descriptor,
                    &reply);
    if (rc)
        return rc;
    Espace__V1__AddAppReply *r = (Espace__V1__AddAppReply *)reply;
    printf("added app %s\n", r->app && r->app->id ? r->app->id : id);
    codec_free(reply);
    return 0;
}

static int s_catalogue_withdraw(const espace_config_t *cfg, int argc, char **argv)
{
    static const char *const allowed[] = {"--id", NULL};
    const char *id = s_opt(argc, argv, "--id");
    if (s_check_opts(argc, argv, allowed) < 0 || !id)
        return s_usage("catalogue withdraw needs --id");
    Espace__V1__WithdrawAppRequest req = ESPACE__V1__WITHDRAW_APP_REQUEST__INIT;
    req.app_id = (char *)id;
    ProtobufCMessage *reply = NULL;
    int rc = s_call(cfg, "consent", "WithdrawApp", &req.base,
                    &espace__v1__withdraw_app_reply__descriptor, &reply);
    if (rc)
        return rc;
    printf("withdrew app %s\n", id);
    codec_free(reply);
    return 0;
}

static int s_catalogue_list(const espace_config_t *cfg, int argc, char **argv)
{
    int all = s_take_flag(&argc, argv, "--all");
    if (argc)
        return s_usage("catalogue list takes only --all");
    Espace__V1__ListAppsRequest req = ESPACE__V1__LIST_APPS_REQUEST__INIT;
    req.include_withdrawn = all;
    ProtobufCMessage *reply = NULL;
    int rc = s_call(cfg, "consent", "ListApps", &req.base,
                    &espace__v1__list_apps_reply__descriptor, &reply);
    if (rc)
        return rc;
    Espace__V1__ListAppsReply *r = (Espace__V1__ListAppsReply *)reply;
    for (size_t i = 0; i < r->n_apps; i++)
        s_print_app(r->apps[i], 0);
    if (r->n_apps == 0)
        fprintf(stderr, "no apps in the catalogue\n");
    codec_free(reply);
    return 0;
}

static int s_catalogue_show(const espace_config_t *cfg, int argc, char **argv)
{
    static const char *const allowed[] = {"--id", NULL};
    const char *id = s_opt(argc, argv, "--id");
    if (s_check_opts(argc, argv, allowed) < 0 || !id)
        return s_usage("catalogue show needs --id");
    Espace__V1__GetAppRequest req = ESPACE__V1__GET_APP_REQUEST__INIT;
    req.app_id = (char *)id;
    ProtobufCMessage *reply = NULL;
    int rc = s_call(cfg, "consent", "GetApp", &req.base, &espace__v1__get_app_reply__descriptor,
                    &reply);
    if (rc)
        return rc;
    Espace__V1__GetAppReply *r = (Espace__V1__GetAppReply *)reply;
    int ret = 0;
    if (r->app)
        s_print_app(r->app, 1);
    else
        ret = s_error(ES_INTERNAL, "empty reply", NULL);
    codec_free(reply);
    return ret;
}

static int s_catalogue(const espace_config_t *cfg, int argc, char **argv)
{
    if (argc < 1)
        return s_usage("catalogue needs a command");
    const char *sub = argv[0];
    if (!strcmp(sub, "add"))
        return s_catalogue_add(cfg, argc - 1, argv + 1);
    if (!strcmp(sub, "withdraw"))
        return s_catalogue_withdraw(cfg, argc - 1, argv + 1);
    if (!strcmp(sub, "list"))
        return s_catalogue_list(cfg, argc - 1, argv + 1);
    if (!strcmp(sub, "show"))
        return s_catalogue_show(cfg, argc - 1, argv + 1);
    return s_usage("unknown catalogue command");
}

static int s_audit(const espace_config_t *cfg, int argc, char **argv)
{
    static const char *const allowed[] = {"--patient", NULL};
    if (argc < 1 || strcmp(argv[0], "verify"))
        return s_usage("audit needs a command: verify");
    argc--;
    argv++;
    const char *patient = s_opt(argc, argv, "--patient");
    if (s_check_opts(argc, argv, allowed) < 0)
        return s_usage("audit verify takes only --patient ID");
    Espace__V1__VerifyAuditRequest req = ESPACE__V1__VERIFY_AUDIT_REQUEST__INIT;
    req.patient_id = (char *)(patient ? patient : "");
    ProtobufCMessage *reply = NULL;
    int rc = s_call(cfg, "consent", "VerifyAudit", &req.base,
                    &espace__v1__verify_audit_reply__descriptor, &reply);
    if (rc)
        return rc;
    Espace__V1__VerifyAuditReply *r = (Espace__V1__VerifyAuditReply *)reply;
    int ret = 0;
    if (r->ok) {
        printf("audit ok: %llu entries in %u chains\n", (unsigned long long)r->entries,
               (unsigned)r->chains);
    } else {
        printf("audit BROKEN: patient %s at sequence %llu\n", r->patient_id ? r->patient_id : "?",
               (unsigned long long)r->broken_seq);
        ret = 1;
    }
    codec_free(reply);
    return ret;
}

/* ---- backup ---- */

/* dir/name into out (size n); -1 if it does not fit. */
static int s_join(char *out, size_t n, const char *dir, const char *name)
{
    int w = snprintf(out, n, "%s/%s", dir, name);
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

/* Copy one regular file (not the LMDB files) keeping its mode. */
static int s_copy_file(const char *from, const char *to, mode_t mode)
{
    int ret = -1;
    char buf[8192];
    int in = open(from, O_RDONLY);
    if (in < 0)
        return -1;
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL, mode & 0777);
    if (out < 0)
        goto close_in;
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto close_out;
        if (r == 0)
            break;
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                goto close_out;
            off += w;
        }
    }
    ret = fsync(out);
close_out:
    if (close(out) < 0)
        ret = -1;
close_in:
    close(in);
    sodium_memzero(buf, sizeof buf);
    return ret;
}

/* Copy the side files of a store folder (keys): everything but the LMDB
 * files and what store_backup already wrote. */
static int s_copy_side_files(const char *src, const char *dst)
{
    DIR *d = opendir(src);
    if (!d)
        return -1;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, "data.mdb") || !strcmp(de->d_name, "lock.mdb") ||
            de->d_name[0] == '.')
            continue;
        char from[2 * CONFIG_PATH_MAX], to[2 * CONFIG_PATH_MAX];
        struct stat st;
        if (s_join(from, sizeof from, src, de->d_name) < 0 ||
            s_join(to, sizeof to, dst, de->d_name) < 0) {
            rc = -1;
            continue;
        }
        if (stat(from, &st) < 0 || !S_ISREG(st.st_mode) || access(to, F_OK) == 0)
            continue;
        if (s_copy_file(from, to, st.st_mode) < 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

static int s_backup(const espace_config_t *cfg, int argc, char **argv)
{
    static const char *const allowed[] = {"--out", NULL};
    const char *out = s_opt(argc, argv, "--out");
    if (s_check_opts(argc, argv, allowed) < 0 || !out)
        return s_usage("backup needs --out DIR");
    if (mkdir(out, 0700) < 0 && errno != EEXIST) {
        char msg[CONFIG_PATH_MAX + 64];
        snprintf(msg, sizeof msg, "cannot create %s: %s", out, strerror(errno));
        return s_error(ES_INTERNAL, msg, NULL);
    }
    DIR *d = opendir(cfg->data_dir);
    if (!d)
        return s_error(ES_NOT_FOUND, "no data folder", NULL);
    int failures = 0, copied = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char src[2 * CONFIG_PATH_MAX], dst[2 * CONFIG_PATH_MAX], mdb[2 * CONFIG_PATH_MAX + 16];
        if (de->d_name[0] == '.')
            continue;
        if (s_join(src, sizeof src, cfg->data_dir, de->d_name) < 0 ||
            s_join(mdb, sizeof mdb, src, "data.mdb") < 0 || access(mdb, F_OK) < 0)
            continue; /* not a store (run/, ...) */
        if (s_join(dst, sizeof dst, out, de->d_name) < 0) {
            fprintf(stderr, "error: INVALID_ARGUMENT: backup path too long\n");
            failures++;
            continue;
        }
        static const char *no_tables[] = {NULL};
        store_opts_t o = {.tables = no_tables};
        store_t *s = NULL;
        int rc = store_open(src, &o, &s);
        if (rc == 0)
            rc = store_backup(s, dst);
        store_close(&s);
        if (rc == 0 && s_copy_side_files(src, dst) < 0)
            rc = ES_INTERNAL;
        if (rc < 0) {
            fprintf(stderr, "error: %s: backup of store '%s' failed\n", es_status_name(rc),
                    de->d_name);
            failures++;
            continue;
        }
        printf("%s -> %s\n", de->d_name, dst);
        copied++;
    }
    closedir(d);
    if (failures)
        return 1;
    if (!copied)
        return s_error(ES_NOT_FOUND, "no store in the data folder", NULL);
    return 0;
}

/* ---- gen-cert ---- */

/* A self-signed certificate for the edge's TLS (local use), by default in
 * <data>/edge: point tls_cert / tls_key at the printed paths. */
static int s_gen_cert(const espace_config_t *cfg, int argc, char **argv)
{
    static const char *const allowed[] = {"--cert", "--key", "--cn", NULL};
    if (s_check_opts(argc, argv, allowed) < 0)
        return s_usage("gen-cert [--cert FILE] [--key FILE] [--cn NAME]");
    char dir[CONFIG_PATH_MAX + 8], cert[CONFIG_PATH_MAX + 32], key[CONFIG_PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/edge", cfg->data_dir);
    const char *cert_path = s_opt(argc, argv, "--cert");
    const char *key_path = s_opt(argc, argv, "--key");
    const char *cn = s_opt(argc, argv, "--cn");
    if (!cert_path || !key_path) {
        if ((mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST) ||
            (mkdir(dir, 0700) < 0 && errno != EEXIST))
            return s_error(ES_INTERNAL, "cannot create the edge folder", NULL);
    }
    if (!cert_path) {
        snprintf(cert, sizeof cert, "%s/edge.crt", dir);
        cert_path = cert;
    }
    if (!key_path) {
        snprintf(key, sizeof key, "%s/edge.key", dir);
        key_path = key;
    }
    int rc = edge_cert_generate(cert_path, key_path, cn ? cn : "localhost");
    if (rc < 0)
        return s_error(rc, "cannot write the certificate", NULL);
    printf("certificate %s\nprivate key %s\n", cert_path, key_path);
    printf("serve TLS with: tls_cert = %s and tls_key = %s (or --tls-cert/--tls-key)\n",
           cert_path, key_path);
    return 0;
}

int admin_main(const espace_config_t *cfg, int argc, char **argv)
{
    if (argc < 1)
        return s_usage("admin needs a command");
    const char *cmd = argv[0];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(admin_help, stdout);
        return 0;
    }
    if (sodium_init() < 0)
        return s_error(ES_INTERNAL, "libsodium init failed", NULL);
    if (!strcmp(cmd, "keys"))
        return s_keys(cfg, argc - 1, argv + 1);
    if (!strcmp(cmd, "create-pro"))
        return s_create_pro(cfg, argc - 1, argv + 1);
    if (!strcmp(cmd, "backup"))
        return s_backup(cfg, argc - 1, argv + 1);
    if (!strcmp(cmd, "catalogue"))
        return s_catalogue(cfg, argc - 1, argv + 1);
    if (!strcmp(cmd, "audit"))
        return s_audit(cfg, argc - 1, argv + 1);
    if (!strcmp(cmd, "gen-cert"))
        return s_gen_cert(cfg, argc - 1, argv + 1);
    if (!strcmp(cmd, "seed"))
        return admin_seed(cfg, argc - 1, argv + 1);
    return s_usage("unknown admin command");
}
