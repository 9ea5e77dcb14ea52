/* config.c - defaults, config file and flags of the espace binary (config.h). */
#include "espace/config.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/broker.h"
#include "services/edge/edge.h"
#include "process/kvfile.h"
#include "process/log.h"
#include "proto/status.h"

const char config_flags_help[] =
    "  --config FILE        config file (default ./espace.conf if present)\n"
    "  --data DIR           data folder (default ./espace-data)\n"
    "  --tcp-host HOST      address of the tcp endpoints (default 127.0.0.1)\n"
    "  --req-port N         tcp request port (default 5570)\n"
    "  --pub-port N         tcp events-in port (default 5571)\n"
    "  --sub-port N         tcp events-out port (default 5572)\n"
    "  --no-tcp             ipc endpoints only\n"
    "  --heartbeat-ms N     bus heartbeat interval (default 1000)\n"
    "  --log-level LEVEL    debug, info, warn or error\n"
    "  --no-sync            no fsync of the stores (tests only)\n"
    "  --no-inproc          up: parts talk over ipc, not inproc (comparison)\n"
    "  --admit-ms N         broker: refuse new requests of a service while its\n"
    "                       oldest queued one waited N ms (default 100)\n"
    "  --conn-pending N     broker: requests one client connection may have\n"
    "                       waiting (default 256)\n"
    "  --gateway-pending N  the same for the edge and local peers (default 16384)\n"
    "  --max-timeout-ms N   broker: longest deadline; longer ones are clamped\n"
    "                       (default 60000)\n"
    "  --edge-unauth-addr-rate N, --edge-unauth-addr-burst N\n"
    "                       edge: log-ins, sign-ups, activations per client\n"
    "                       address per second, and its burst (default 2, 30)\n"
    "  --edge-unauth-rate N, --edge-unauth-burst N\n"
    "                       the same for all addresses together (default 20, 100)\n"
    "  --edge-queue-total-mib N\n"
    "                       edge: replies waiting for clients that do not read,\n"
    "                       all connections together (default 256)\n"
    "  --edge-max-conns N   edge: websocket connections it holds (default 10000;\n"
    "                       at most the descriptor limit, ulimit -n, less ~100)\n"
    "  --edge-ping-s N, --edge-idle-s N\n"
    "                       edge: ping a connection silent N s, hang it up when\n"
    "                       silent N s (no pong) (default 20, 30)\n"
    "  --broker ENDPOINT    broker to reach (service alone; default: ipc of --data)\n"
    "  --broker-key Z85     broker public key (with a tcp --broker)\n"
    "  --key FILE           own CURVE keypair file (with a tcp --broker)\n"
    "  --edge-host H        address of the websocket edge (default 127.0.0.1)\n"
    "  --edge-port N        its port (default 8080; 0 = any)\n"
    "  --web-root DIR       the built web app it serves\n"
    "  --tls-cert FILE      TLS certificate of the edge (with --tls-key)\n"
    "  --tls-key FILE       its private key\n";

const char config_keys_help[] =
    "config file (--config FILE, else ./espace.conf if present): `key = value` lines with\n"
    "  the keys data_dir tcp_host req_port pub_port sub_port heartbeat_ms log_level no_sync\n"
    "  tcp inproc admit_ms edge_host edge_port web_root tls_cert tls_key conn_pending\n"
    "  gateway_pending max_timeout_ms edge_unauth_addr_rate edge_unauth_addr_burst\n"
    "  edge_unauth_rate edge_unauth_burst edge_queue_total_mib edge_max_conns\n"
    "  edge_ping_s edge_idle_s\n";

void config_defaults(espace_config_t *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->data_dir, sizeof c->data_dir, "%s", "./espace-data");
    snprintf(c->tcp_host, sizeof c->tcp_host, "%s", "127.0.0.1");
    c->req_port = 5570;
    c->pub_port = 5571;
    c->sub_port = 5572;
    c->heartbeat_ms = 1000;
    c->log_level = LOG_INFO;
    c->tcp = 1;
    c->inproc = 1;
    c->admit_ms = BROKER_ADMIT_MS;
    c->conn_pending = BROKER_CONN_PENDING;
    c->gateway_pending = BROKER_GATEWAY_PENDING;
    c->max_timeout_ms = BROKER_MAX_TIMEOUT_MS;
    c->edge_unauth_addr_rate = EDGE_UNAUTH_ADDR_RATE_PER_S;
    c->edge_unauth_addr_burst = EDGE_UNAUTH_ADDR_BURST;
    c->edge_unauth_rate = EDGE_UNAUTH_RATE_PER_S;
    c->edge_unauth_burst = EDGE_UNAUTH_BURST;
    c->edge_queue_total_mib = (unsigned)(EDGE_QUEUE_TOTAL_BYTES >> 20);
    c->edge_max_conns = EDGE_MAX_CONNS;
    c->edge_ping_s = EDGE_PING_S;
    c->edge_idle_s = EDGE_IDLE_S;
    snprintf(c->edge_host, sizeof c->edge_host, "%s", "127.0.0.1");
    c->edge_port = 8080;
#ifdef ESPACE_WEB_ROOT
    snprintf(c->web_root, sizeof c->web_root, "%s", ESPACE_WEB_ROOT);
#endif
}

static int s_copy(char *dst, size_t n, const char *v)
{
    size_t len = strlen(v);
    if (len == 0 || len >= n)
        return ES_INVALID_ARGUMENT;
    memcpy(dst, v, len + 1);
    return 0;
}

static int s_uint(const char *v, unsigned lo, unsigned hi, unsigned *out)
{
    char *end = NULL;
    errno = 0;
    if (!isdigit((unsigned char)v[0]))
        return ES_INVALID_ARGUMENT;
    unsigned long x = strtoul(v, &end, 10);
    if (errno || *end || x < lo || x > hi)
        return ES_INVALID_ARGUMENT;
    *out = (unsigned)x;
    return 0;
}

static int s_bool(const char *v, int *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
        *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
        *out = 0;
    else
        return ES_INVALID_ARGUMENT;
    return 0;
}

static int s_level(const char *v, int *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (!strcmp(v, names[i])) {
            *out = i;
            return 0;
        }
    }
    return ES_INVALID_ARGUMENT;
}

/* The limits: whole numbers within [lo, hi] (the reason of each default is
 * at its constant, broker.h and edge.h). */
static const struct {
    const char *key;
    size_t off; /* of the unsigned field in espace_config_t */
    unsigned lo, hi;
} s_limits[] = {
    {"conn_pending", offsetof(espace_config_t, conn_pending), 1, 1000000},
    {"gateway_pending", offsetof(espace_config_t, gateway_pending), 1, 1000000},
    {"max_timeout_ms", offsetof(espace_config_t, max_timeout_ms), 1000, 600000},
    {"edge_unauth_addr_rate", offsetof(espace_config_t, edge_unauth_addr_rate), 1, 100000},
    {"edge_unauth_addr_burst", offsetof(espace_config_t, edge_unauth_addr_burst), 1, 100000},
    {"edge_unauth_rate", offsetof(espace_config_t, edge_unauth_rate), 1, 1000000},
    {"edge_unauth_burst", offsetof(espace_config_t, edge_unauth_burst), 1, 1000000},
    {"edge_queue_total_mib", offsetof(espace_config_t, edge_queue_total_mib), 1, 65536},
    {"edge_max_conns", offsetof(espace_config_t, edge_max_conns), 1, 1000000},
    {"edge_ping_s", offsetof(espace_config_t, edge_ping_s), 5, 3600},
    {"edge_idle_s", offsetof(espace_config_t, edge_idle_s), 6, 7200},
};

/* Set one key (file key name). ES_NOT_FOUND for an unknown key,
 * ES_INVALID_ARGUMENT for a bad value. */
static int s_set(espace_config_t *c, const char *key, const char *v)
{
    for (size_t i = 0; i < sizeof s_limits / sizeof s_limits[0]; i++)
        if (!strcmp(key, s_limits[i].key))
            return s_uint(v, s_limits[i].lo, s_limits[i].hi,
                          (unsigned *)((char *)c + s_limits[i].off));
    if (!strcmp(key, "data_dir"))
        return s_copy(c->data_dir, sizeof c->data_dir, v);
    if (!strcmp(key, "tcp_host"))
        return s_copy(c->tcp_host, sizeof c->tcp_host, v);
    if (!strcmp(key, "req_port"))
        return s_uint(v, 1, 65535, &c->req_port);
    if (!strcmp(key, "pub_port"))
        return s_uint(v, 1, 65535, &c->pub_port);
    if (!strcmp(key, "sub_port"))
        return s_uint(v, 1, 65535, &c->sub_port);
    if (!strcmp(key, "heartbeat_ms"))
        return s_uint(v, 10, 60000, &c->heartbeat_ms);
    if (!strcmp(key, "no_sync"))
        return s_bool(v, &c->no_sync);
    if (!strcmp(key, "log_level"))
        return s_level(v, &c->log_level);
    if (!strcmp(key, "tcp"))
        return s_bool(v, &c->tcp);
    if (!strcmp(key, "inproc"))
        return s_bool(v, &c->inproc);
    if (!strcmp(key, "admit_ms"))
        return s_uint(v, 1, 60000, &c->admit_ms);
    if (!strcmp(key, "edge_host"))
        return s_copy(c->edge_host, sizeof c->edge_host, v);
    if (!strcmp(key, "edge_port"))
        return s_uint(v, 0, 65535, &c->edge_port);
    if (!strcmp(key, "web_root"))
        return s_copy(c->web_root, sizeof c->web_root, v);
    if (!strcmp(key, "tls_cert"))
        return s_copy(c->tls_cert, sizeof c->tls_cert, v);
    if (!strcmp(key, "tls_key"))
        return s_copy(c->tls_key, sizeof c->tls_key, v);
    return ES_NOT_FOUND;
}

static int s_on_pair(const char *key, const char *value, void *ctx)
{
    return s_set(ctx, key, value);
}

int config_load_file(espace_config_t *c, const char *path, char err[CONFIG_ERR_MAX])
{
    int rc = kvfile_parse(path, s_on_pair, c, err, CONFIG_ERR_MAX);
    if (rc == ES_NOT_FOUND)
        return rc;
    if (rc < 0)
        return ES_INVALID_ARGUMENT;
    snprintf(c->config_file, sizeof c->config_file, "%s", path);
    return 0;
}

/* Flags that take a value, mapped to file keys (NULL key: handled apart). */
static const struct {
    const char *flag;
    const char *key;
} s_value_flags[] = {
    {"--data", "data_dir"},         {"--tcp-host", "tcp_host"},   {"--req-port", "req_port"},
    {"--pub-port", "pub_port"},     {"--sub-port", "sub_port"},   {"--heartbeat-ms", "heartbeat_ms"},
    {"--log-level", "log_level"},   {"--broker", NULL},           {"--broker-key", NULL},
    {"--key", NULL},                {"--config", NULL},           {"--edge-host", "edge_host"},
    {"--edge-port", "edge_port"},   {"--web-root", "web_root"},   {"--tls-cert", "tls_cert"},
    {"--tls-key", "tls_key"},       {"--admit-ms", "admit_ms"},
    {"--conn-pending", "conn_pending"}, {"--gateway-pending", "gateway_pending"},
    {"--max-timeout-ms", "max_timeout_ms"},
    {"--edge-unauth-addr-rate", "edge_unauth_addr_rate"},
    {"--edge-unauth-addr-burst", "edge_unauth_addr_burst"},
    {"--edge-unauth-rate", "edge_unauth_rate"}, {"--edge-unauth-burst", "edge_unauth_burst"},
    {"--edge-queue-total-mib", "edge_queue_total_mib"},
    {"--edge-max-conns", "edge_max_conns"},
    {"--edge-ping-s", "edge_ping_s"}, {"--edge-idle-s", "edge_idle_s"},
};

int config_parse_args(espace_config_t *c, int *argc, char **argv, char err[CONFIG_ERR_MAX])
{
    config_defaults(c);
    /* pass 1: the config file */
    const char *file = NULL;
    for (int i = 0; i < *argc; i++) {
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= *argc) {
                snprintf(err, CONFIG_ERR_MAX, "--config needs a value");
                return ES_INVALID_ARGUMENT;
            }
            file = argv[i + 1];
        }
    }
    if (file) {
        int rc = config_load_file(c, file, err);
        if (rc < 0)
            return ES_INVALID_ARGUMENT;
    } else if (access(CONFIG_DEFAULT_FILE, F_OK) == 0) {
        int rc = config_load_file(c, CONFIG_DEFAULT_FILE, err);
        if (rc < 0)
            return ES_INVALID_ARGUMENT;
    }
    /* pass 2: flags, removed from argv */
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--no-tcp")) {
            c->tcp = 0;
            continue;
        }
        if (!strcmp(a, "--no-sync")) {
            c->no_sync = 1;
            continue;
        }
        if (!strcmp(a, "--no-inproc")) {
            c->inproc = 0;
            continue;
        }
        int matched = 0;
        for (size_t k = 0; k < sizeof s_value_flags / sizeof s_value_flags[0]; k++) {
            if (strcmp(a, s_value_flags[k].flag))
                continue;
            matched = 1;
            if (i + 1 >= *argc) {
                snprintf(err, CONFIG_ERR_MAX, "%s needs a value", a);
                return ES_INVALID_ARGUMENT;
            }
            const char *v = argv[++i];
            int r = 0;
            if (s_value_flags[k].key)
                r = s_set(c, s_value_flags[k].key, v);
            else if (!strcmp(a, "--broker"))
                r = s_copy(c->broker, sizeof c->broker, v);
            else if (!strcmp(a, "--broker-key"))
                r = s_copy(c->broker_key, sizeof c->broker_key, v);
            else if (!strcmp(a, "--key"))
                r = s_copy(c->key_file, sizeof c->key_file, v);
            if (r < 0) {
                snprintf(err, CONFIG_ERR_MAX, "bad value for %s", a);
                return ES_INVALID_ARGUMENT;
            }
            break;
        }
        if (!matched)
            argv[out++] = argv[i];
    }
    *argc = out;
    return config_finish(c, err);
}

int config_finish(espace_config_t *c, char err[CONFIG_ERR_MAX])
{
    int n = snprintf(c->run_dir, sizeof c->run_dir, "%s/run", c->data_dir);
    if (n < 0 || (size_t)n >= sizeof c->run_dir)
        goto too_long;
    /* ipc paths are limited by sockaddr_un (107 bytes) */
    n = snprintf(c->req_ipc, sizeof c->req_ipc, "ipc://%s/bus.ipc", c->run_dir);
    if (n < 0 || (size_t)n >= sizeof c->req_ipc || strlen(c->req_ipc) - 6 > 107)
        goto too_long;
    n = snprintf(c->pub_ipc, sizeof c->pub_ipc, "ipc://%s/events-in.ipc", c->run_dir);
    if (n < 0 || (size_t)n >= sizeof c->pub_ipc || strlen(c->pub_ipc) - 6 > 107)
        goto too_long;
    n = snprintf(c->sub_ipc, sizeof c->sub_ipc, "ipc://%s/events-out.ipc", c->run_dir);
    if (n < 0 || (size_t)n >= sizeof c->sub_ipc || strlen(c->sub_ipc) - 6 > 107)
        goto too_long;
    snprintf(c->req_tcp, sizeof c->req_tcp, "tcp://%s:%u", c->tcp_host, c->req_port);
    snprintf(c->pub_tcp, sizeof c->pub_tcp, "tcp://%s:%u", c->tcp_host, c->pub_port);
    snprintf(c->sub_tcp, sizeof c->sub_tcp, "tcp://%s:%u", c->tcp_host, c->sub_port);
    return 0;
too_long:
    snprintf(err, CONFIG_ERR_MAX, "data folder path too long for ipc sockets: %.100s",
             c->data_dir);
    return ES_INVALID_ARGUMENT;
}

int config_make_dirs(const espace_config_t *c, char err[CONFIG_ERR_MAX])
{
    if (mkdir(c->data_dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, CONFIG_ERR_MAX, "cannot create %.200s: %s", c->data_dir, strerror(errno));
        return ES_INTERNAL;
    }
    if (mkdir(c->run_dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, CONFIG_ERR_MAX, "cannot create %.200s: %s", c->run_dir, strerror(errno));
        return ES_INTERNAL;
    }
    if (chmod(c->run_dir, 0700) < 0) {
        snprintf(err, CONFIG_ERR_MAX, "cannot chmod %.200s: %s", c->run_dir, strerror(errno));
        return ES_INTERNAL;
    }
    return 0;
}
