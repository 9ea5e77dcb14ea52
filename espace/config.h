/*
 * config.h - the configuration of the espace binary.
 *
 * Three layers, each overriding the one before:
 *   1. defaults (config_defaults);
 *   2. a config file of `key = value` lines (process/kvfile.h): lines
 *      starting with `#` are comments, blank lines are ignored; an unknown key
 *      or a bad value is an error naming the line (config_load_file). Without --config, ./espace.conf is read if
 *      it exists;
 *   3. command-line flags (config_parse_args).
 *
 * Keys (file)      flag            default
 *   data_dir       --data DIR      ./espace-data
 *   tcp_host       --tcp-host H    127.0.0.1
 *   req_port       --req-port N    5570
 *   pub_port       --pub-port N    5571
 *   sub_port       --sub-port N    5572
 *   heartbeat_ms   --heartbeat-ms  1000
 *   no_sync        --no-sync       false (tests only: no fsync)
 *   log_level      --log-level     info (debug|info|warn|error)
 *   tcp            --no-tcp        true (false: ipc endpoints only)
 *   inproc         --no-inproc     true (`up` with the broker: the parts of
 *                                  this process talk over inproc endpoints of
 *                                  one shared ZeroMQ context; false: over ipc)
 *   admit_ms       --admit-ms N    100 (broker admission window, broker.h)
 *   edge_host      --edge-host H   127.0.0.1 (address of the websocket edge)
 *   edge_port      --edge-port N   8080 (0: any free port, logged)
 *   web_root       --web-root DIR  the built web app (clients/web/dist of the source tree)
 *   tls_cert       --tls-cert FILE none (TLS on the edge when both are set;
 *   tls_key        --tls-key FILE  none  `espace admin gen-cert` makes a pair)
 *   conn_pending   --conn-pending N    256 (broker: requests waiting per client
 *                                      connection, BROKER_CONN_PENDING)
 *   gateway_pending --gateway-pending N 16384 (the same for gateways, local peers)
 *   max_timeout_ms --max-timeout-ms N  60000 (broker: longest deadline)
 *   edge_unauth_addr_rate, edge_unauth_addr_burst   2, 30 (edge: unauthenticated
 *                  calls per client address, EDGE_UNAUTH_ADDR_*)
 *   edge_unauth_rate, edge_unauth_burst             20, 100 (all addresses)
 *   edge_queue_total_mib  256 (edge: replies queued for all connections)
 *   edge_max_conns        10000 (edge: websocket connections, EDGE_MAX_CONNS)
 *   edge_ping_s, edge_idle_s  20, 30 (edge: ping a silent connection, hang it up;
 *                  EDGE_PING_S, EDGE_IDLE_S; the edge keeps idle > ping)
 *                  (flags: --edge-unauth-addr-rate N ... --edge-max-conns N)
 * Flags only: --config FILE, --broker ENDPOINT, --broker-key Z85, --key FILE
 * (a service run alone over tcp: broker endpoint, its public key, and the
 * service's own keypair file).
 *
 * The ipc endpoints are derived from data_dir (config_finish):
 * ipc://<data>/run/bus.ipc, events-in.ipc, events-out.ipc. The inproc
 * endpoints (CONFIG_REQ_INPROC...) are fixed names: inproc is private to one
 * ZeroMQ context, so one process (up.c) has one set.
 *
 * THREAD SAFETY: plain data; fill it on the main thread before starting any.
 */
#ifndef ES_CONFIG_H
#define ES_CONFIG_H

#include <limits.h>

#define CONFIG_PATH_MAX 1024 /* longest path or endpoint kept */
#define CONFIG_ERR_MAX 256   /* size of the error text buffer */
#define CONFIG_DEFAULT_FILE "espace.conf"
#define CONFIG_REQ_INPROC "inproc://espace-bus"        /* requests, in `up` */
#define CONFIG_PUB_INPROC "inproc://espace-events-in"  /* events in (XSUB) */
#define CONFIG_SUB_INPROC "inproc://espace-events-out" /* events out (XPUB) */

typedef struct espace_config {
    char config_file[CONFIG_PATH_MAX]; /* file read, "" if none */
    char data_dir[CONFIG_PATH_MAX];    /* root data folder */
    char tcp_host[256];                /* address the tcp endpoints bind */
    unsigned req_port;                 /* tcp request endpoint port */
    unsigned pub_port;                 /* tcp events-in port */
    unsigned sub_port;                 /* tcp events-out port */
    unsigned heartbeat_ms;             /* bus heartbeat interval */
    int no_sync;                       /* 1: stores without fsync (tests) */
    int log_level;                     /* log_level_t */
    int tcp;                           /* 1: bind the tcp endpoints too */
    int inproc;                        /* 1: parts of one process talk over inproc */
    unsigned admit_ms;                 /* broker admission window, ms */
    unsigned conn_pending;             /* broker: pending requests per connection */
    unsigned gateway_pending;          /* the same for gateways and local peers */
    unsigned max_timeout_ms;           /* broker: longest deadline */
    unsigned edge_unauth_addr_rate;    /* edge: unauthenticated calls / s / address */
    unsigned edge_unauth_addr_burst;   /* ... its burst */
    unsigned edge_unauth_rate;         /* edge: the same, all addresses */
    unsigned edge_unauth_burst;        /* ... its burst */
    unsigned edge_queue_total_mib;     /* edge: queued replies, all connections, MiB */
    unsigned edge_max_conns;           /* edge: websocket connections it holds */
    unsigned edge_ping_s;              /* edge: ping after this many silent seconds */
    unsigned edge_idle_s;              /* edge: hang up after this many */
    char edge_host[256];               /* address the websocket edge binds */
    unsigned edge_port;                /* its port, 0 = any */
    char web_root[CONFIG_PATH_MAX];    /* static files served by the edge, "" = none */
    char tls_cert[CONFIG_PATH_MAX];    /* edge TLS certificate (PEM), "" = plain ws */
    char tls_key[CONFIG_PATH_MAX];     /* edge TLS private key (PEM) */
    char broker[CONFIG_PATH_MAX];      /* --broker: endpoint to reach ("" = ipc) */
    char broker_key[64];               /* --broker-key: broker public key, Z85 */
    char key_file[CONFIG_PATH_MAX];    /* --key: own keypair file */
    /* derived by config_finish */
    char run_dir[CONFIG_PATH_MAX];     /* <data>/run */
    char req_ipc[CONFIG_PATH_MAX + 16];
    char pub_ipc[CONFIG_PATH_MAX + 16];
    char sub_ipc[CONFIG_PATH_MAX + 16];
    char req_tcp[300];
    char pub_tcp[300];
    char sub_tcp[300];
} espace_config_t;

/* Fill every field with its default. */
void config_defaults(espace_config_t *c);

/* Read `path` into c. Returns 0, ES_NOT_FOUND if it cannot be opened, or
 * ES_INVALID_ARGUMENT with err = "FILE:LINE: why". */
int config_load_file(espace_config_t *c, const char *path, char err[CONFIG_ERR_MAX]);

/* Full setup from the command line: defaults, the config file (--config, or
 * ./espace.conf if present), then the flags. The flags are removed from
 * argv: on return argv[0..*argc) holds the other arguments, in order.
 * Then config_finish. 0 or ES_INVALID_ARGUMENT with err set. */
int config_parse_args(espace_config_t *c, int *argc, char **argv, char err[CONFIG_ERR_MAX]);

/* Derive run_dir and the endpoints from the other fields. 0 or
 * ES_INVALID_ARGUMENT (err set) if a path is too long. */
int config_finish(espace_config_t *c, char err[CONFIG_ERR_MAX]);

/* Create data_dir (0700 if new) and run_dir (0700, mode enforced). 0 or
 * ES_INTERNAL with err set. */
int config_make_dirs(const espace_config_t *c, char err[CONFIG_ERR_MAX]);

/* Flags help text, for usage messages. */
extern const char config_flags_help[];

/* The config file's keys, for the help (every key s_set of config.c reads). */
extern const char config_keys_help[];

#endif
