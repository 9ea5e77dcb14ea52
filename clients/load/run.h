/*
 * run.h - one espace-load run: its options, what it counted, and the parts
 * every scenario shares (the clock, server sampling from /proc, the live
 * progress line on stderr). The scenarios (agenda.c, connect.c) fill a
 * run_t; report.c prints it.
 *
 * Counting rules (docs/benchmarks.md):
 *   sent       messages handed to a connection's queue at their scheduled time
 *   send_failed scheduled sends that could not be queued (connection not open,
 *              queue full): they count as errors, never silently skipped
 *   acked      replies with CODE_OK; errors[] counts the other replies by code
 *   delivered  live events matched to a send, on the device that must get it
 *   lost       sends neither delivered by the end of the drain time
 *   duplicates deliveries of a (write, connection) already delivered
 *   expected   deliveries the sent writes should make (fanout: writes x
 *              connections ready)
 *   deliver    histogram of scheduled time -> delivery (us)
 *   ack        histogram of scheduled time -> reply (us)
 *
 * THREAD SAFETY: the loop thread only.
 */
#ifndef ES_LOAD_RUN_H
#define ES_LOAD_RUN_H

#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "clients/load/creds.h"
#include "clients/load/hist.h"
#include "clients/load/net.h"
#include "clients/load/procstat.h"

#define RUN_MAX_SOURCES 16
#define RUN_CODES 14 /* es_status 0..-13 */

typedef struct run_opts {
    const char *scenario;      /* "agenda" | "fanout" | "connect" | "pro" | "relay" */
    const char *target;        /* "espace" | "relay" | "mosquitto" | "xmpp" */
    const char *host;
    int port;
    const char *path;
    const char *accounts;      /* creds file (espace target) */
    unsigned conns;            /* connections */
    uint64_t rate;             /* offered sends per second */
    double duration_s;         /* sending time */
    double drain_s;            /* wait for late deliveries after the last send */
    size_t payload;            /* agenda description bytes */
    unsigned connect_rate;     /* new connections per second while ramping */
    double hold_s;             /* connect: time all connections stay open */
    pid_t server_pid;          /* 0 = no server sampling */
    const char *json_path;     /* NULL = JSON on stdout */
    const char *sources[RUN_MAX_SOURCES]; /* local addresses, round robin */
    unsigned n_sources;
    int quiet;                 /* no progress line */
    int qos;                   /* mosquitto: MQTT QoS 0 or 1 */
    const char *broker;        /* pro: "tcp://HOST:PORT" of the broker */
    const char *broker_key;    /* pro: its CURVE public key (Z85) */
    const char *mode;          /* relay against espace: "e2e" | "opaque" */
    const char *domain;        /* xmpp: the virtual host */
} run_opts_t;

typedef struct run {
    run_opts_t o;
    creds_t *creds;
    net_t *net;
    /* counters */
    uint64_t sent, send_failed, acked, delivered, lost, unmatched, bad_messages, expected;
    uint64_t duplicates;       /* a (write, connection) delivered again */
    uint64_t device_acks;      /* relay: queue Acks the receiving devices sent (OK) */
    uint64_t undecryptable;    /* relay e2e: copies that did not decrypt to their write */
    uint64_t errors[RUN_CODES];
    uint64_t conn_opened, conn_failed, conn_closed, auth_ok, auth_failed;
    int64_t max_lag_ns;        /* worst sender lag behind the schedule */
    hist_t *deliver, *ack;
    /* time */
    int64_t t0_ns;             /* run start */
    int64_t send_start_ns, send_end_ns; /* first scheduled send, last send done */
    /* server, sampled from /proc (have_server: both samples read) */
    int have_server;
    procstat_t srv0, srv1;
    procstat_t srv_idle;       /* connect: before the connections */
    int64_t rss_peak_kib, anon_peak_kib;
    /* connect scenario */
    unsigned conns_target, conns_peak;
    double connect_s;          /* time to open all */
    /* progress */
    uv_timer_t progress;
    int progress_on;
    uint64_t last_sent, last_delivered;
    int failed;                /* setup failed: message already printed */
} run_t;

int64_t run_now_ns(void);

/* Record one reply status (wire code of CallReply.status). */
void run_count_status(run_t *r, int wire_code);

/* Start the 1 s progress line (stderr) and the server RSS peak sampling;
 * run_progress_stop closes its timer. */
void run_progress_start(run_t *r);
void run_progress_stop(run_t *r);

/* Sample the server into *s (no-op without a pid): 0 or an es_status. */
int run_sample_server(run_t *r, procstat_t *s);



/* ---- helpers the scenarios share (run.c) ---- */

#define RUN_AUTH_ID 1 /* ClientMessage.id of login/resume; writes use seq + 2 */

/* Open connection slot `conn` from the next source address (round robin):
 * 0, or the net_connect error (counted in conn_failed). */
int run_open(run_t *r, unsigned conn);

/* Bind connection `conn` to patient p's device `device`: resume with its
 * token when the accounts file has one, else log in with the password. */
int run_auth(run_t *r, unsigned conn, const creds_patient_t *p, unsigned device);

/* The scenarios: 0 once the run is over (report it), or an es_status after
 * a message on stderr. agenda_run runs `agenda`, `fanout` and `relay`
 * (agenda.c; relay's targets in msg.c and xmpp.c). */
int agenda_run(run_t *r);
int connect_run(run_t *r);
int pro_run(run_t *r);
#endif
