/* parts.c - the table of parts and how each kind runs (parts.h). */
#include "espace/parts.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "services/agenda/agenda.h"
#include "broker/broker.h"
#include "bus/bus.h"
#include "services/consent/consent.h"
#include "services/edge/edge.h"
#include "services/identity/identity.h"
#include "services/messaging/messaging.h"
#include "services/dmp/dmp.h"
#include "process/log.h"
#include "proto/names.h"
#include "proto/status.h"
#include "process/stop.h"

static int s_run_broker(const part_def_t *p, const espace_config_t *cfg, const part_env_t *env);
static int s_run_service(const part_def_t *p, const espace_config_t *cfg, const part_env_t *env);
static int s_run_edge(const part_def_t *p, const espace_config_t *cfg, const part_env_t *env);

/* The broker must come first: services connect to it. */
const part_def_t parts_table[] = {
    {"broker", s_run_broker, NULL, "the broker alone"},
    {"identity", s_run_service, &identity_service, "the identity service alone"},
    {"consent", s_run_service, &consent_service, "the consent service alone"},
    {"agenda", s_run_service, &agenda_service, "the agenda service alone"},
    {"messaging", s_run_service, &messaging_service, "the messaging service alone"},
    {"dmp", s_run_service, &dmp_service, "the DMP service alone (documents, measures)"},
    {"edge", s_run_edge, NULL, "the websocket edge alone (web app, live updates)"},
};
const size_t parts_count = sizeof parts_table / sizeof parts_table[0];

const part_def_t *parts_find(const char *name)
{
    for (size_t i = 0; i < parts_count; i++)
        if (!strcmp(parts_table[i].name, name))
            return &parts_table[i];
    return NULL;
}

static int s_run_broker(const part_def_t *p, const espace_config_t *cfg, const part_env_t *env)
{
    (void)p;
    broker_opts_t o = {
        .data_dir = cfg->data_dir,
        .req_ipc = cfg->req_ipc,
        .session_service = SERVICE_IDENTITY, /* serves AUTH (SessionCheck) */
        .pub_ipc = cfg->pub_ipc,
        .sub_ipc = cfg->sub_ipc,
        .req_tcp = cfg->tcp ? cfg->req_tcp : NULL,
        .pub_tcp = cfg->tcp ? cfg->pub_tcp : NULL,
        .sub_tcp = cfg->tcp ? cfg->sub_tcp : NULL,
        .req_inproc = env->inproc ? CONFIG_REQ_INPROC : NULL,
        .pub_inproc = env->inproc ? CONFIG_PUB_INPROC : NULL,
        .sub_inproc = env->inproc ? CONFIG_SUB_INPROC : NULL,
        .zctx = env->zctx,
        .heartbeat_ms = cfg->heartbeat_ms,
        .admit_ms = cfg->admit_ms,
        .conn_pending = cfg->conn_pending,
        .gateway_pending = cfg->gateway_pending,
        .max_timeout_ms = cfg->max_timeout_ms,
        .stop_fd = stop_fd(),
        .ready_fd = env->ready_fd,
        .no_sync = cfg->no_sync,
    };
    return broker_run(&o);
}

/* tcp://HOST:PORT -> tcp://HOST:<port> into out. */
static int s_same_host(const char *endpoint, unsigned port, char *out, size_t n)
{
    const char *colon = strrchr(endpoint, ':');
    if (!colon || colon < endpoint + 6)
        return ES_INVALID_ARGUMENT;
    int w = snprintf(out, n, "%.*s:%u", (int)(colon - endpoint), endpoint, port);
    return (w < 0 || (size_t)w >= n) ? ES_INVALID_ARGUMENT : 0;
}

/* The broker endpoints a part uses: `req` for requests and `side` for its
 * events endpoint (events-in for a service, events-out for the edge). With
 * the broker in this process (env->inproc) both are its inproc endpoints
 * (side_inproc); else by default the local ipc endpoints; with a tcp
 * --broker they are the
 * broker's host with CURVE, using the keypair --key (registered by the
 * operator with role service, or gateway for an edge). side_tcp (n bytes)
 * holds the derived endpoint; pk/sk the loaded keys (caller wipes sk). */
static int s_conns(const part_def_t *p, const espace_config_t *cfg, const part_env_t *env,
                   const char *side_ipc, const char *side_inproc, unsigned side_port,
                   uint8_t pk[32], uint8_t sk[32], char *side_tcp, size_t n, bus_conn_t *req,
                   bus_conn_t *side)
{
    req->heartbeat_ms = cfg->heartbeat_ms;
    req->endpoint = cfg->req_ipc;
    *side = *req;
    side->endpoint = side_ipc;
    if (env->inproc) {
        req->endpoint = CONFIG_REQ_INPROC;
        side->endpoint = side_inproc;
    } else if (!strncmp(cfg->broker, "tcp://", 6)) {
        if (!cfg->broker_key[0] || !cfg->key_file[0]) {
            log_error(p->name, "start.failed", "reason=\"tcp --broker needs --broker-key and --key\"");
            return ES_INVALID_ARGUMENT;
        }
        int rc = bus_keypair_load(cfg->key_file, 0, pk, sk);
        if (rc < 0) {
            log_error(p->name, "start.failed", "reason=\"cannot load --key\" status=%s",
                      es_status_name(rc));
            return rc;
        }
        rc = s_same_host(cfg->broker, side_port, side_tcp, n);
        if (rc < 0)
            return rc;
        req->endpoint = cfg->broker;
        req->server_key = cfg->broker_key;
        req->public_key = pk;
        req->secret_key = sk;
        *side = *req;
        side->endpoint = side_tcp;
    } else if (cfg->broker[0]) {
        req->endpoint = cfg->broker;
    }
    return 0;
}

static int s_run_service(const part_def_t *p, const espace_config_t *cfg, const part_env_t *env)
{
    uint8_t pk[32] = {0}, sk[32] = {0};
    char pub_tcp[CONFIG_PATH_MAX + 16];
    svc_opts_t o;
    memset(&o, 0, sizeof o);
    o.data_dir = cfg->data_dir;
    o.stop_fd = stop_fd();
    o.ready_fd = env->ready_fd;
    o.no_sync = cfg->no_sync;
    o.zctx = env->zctx;
    int rc = s_conns(p, cfg, env, cfg->pub_ipc, CONFIG_PUB_INPROC, cfg->pub_port, pk, sk, pub_tcp,
                     sizeof pub_tcp, &o.bus, &o.pub);
    if (rc == 0)
        rc = svc_run(p->svc, &o);
    sodium_memzero(sk, sizeof sk);
    return rc;
}

static int s_run_edge(const part_def_t *p, const espace_config_t *cfg, const part_env_t *env)
{
    uint8_t pk[32] = {0}, sk[32] = {0};
    char sub_tcp[CONFIG_PATH_MAX + 16];
    edge_opts_t o;
    edge_opts_default(&o);
    o.host = cfg->edge_host;
    o.port = (int)cfg->edge_port;
    o.web_root = cfg->web_root[0] ? cfg->web_root : NULL;
    o.tls_cert = cfg->tls_cert[0] ? cfg->tls_cert : NULL;
    o.tls_key = cfg->tls_key[0] ? cfg->tls_key : NULL;
    o.unauth_addr_rate = cfg->edge_unauth_addr_rate;
    o.unauth_addr_burst = cfg->edge_unauth_addr_burst;
    o.unauth_rate = cfg->edge_unauth_rate;
    o.unauth_burst = cfg->edge_unauth_burst;
    o.queue_total_bytes = (size_t)cfg->edge_queue_total_mib << 20;
    o.max_conns = cfg->edge_max_conns;
    o.ping_s = cfg->edge_ping_s;
    o.idle_s = cfg->edge_idle_s;
    o.stop_fd = stop_fd();
    o.ready_fd = env->ready_fd;
    o.zctx = env->zctx;
    int rc = s_conns(p, cfg, env, cfg->sub_ipc, CONFIG_SUB_INPROC, cfg->sub_port, pk, sk, sub_tcp,
                     sizeof sub_tcp, &o.bus, &o.events);
    if (rc == 0)
        rc = edge_run(&o);
    sodium_memzero(sk, sizeof sk);
    return rc;
}
