/* parts.c - the table of parts and how each kind runs (parts.h). */
#include "parts.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "bus.h"
#include "consent.h"
#include "identity.h"
#include "log.h"
#include "status.h"
#include "stop.h"

static int s_run_broker(const part_def_t *p, const espace_config_t *cfg, int ready_fd);
static int s_run_service(const part_def_t *p, const espace_config_t *cfg, int ready_fd);

/* The broker must come first: services connect to it. */
const part_def_t parts_table[] = {
    {"broker", s_run_broker, NULL, "the broker alone"},
    {"identity", s_run_service, &identity_service, "the identity service alone"},
    {"consent", s_run_service, &consent_service, "the consent service alone"},
};
const size_t parts_count = sizeof parts_table / sizeof parts_table[0];

const part_def_t *parts_find(const char *name)
{
    for (size_t i = 0; i < parts_count; i++)
        if (!strcmp(parts_table[i].name, name))
            return &parts_table[i];
    return NULL;
}

static int s_run_broker(const part_def_t *p, const espace_config_t *cfg, int ready_fd)
{
    (void)p;
    broker_opts_t o = {
        .data_dir = cfg->data_dir,
        .req_ipc = cfg->req_ipc,
        .pub_ipc = cfg->pub_ipc,
        .sub_ipc = cfg->sub_ipc,
        .req_tcp = cfg->tcp ? cfg->req_tcp : NULL,
        .pub_tcp = cfg->tcp ? cfg->pub_tcp : NULL,
        .sub_tcp = cfg->tcp ? cfg->sub_tcp : NULL,
        .heartbeat_ms = cfg->heartbeat_ms,
        .stop_fd = stop_fd(),
        .ready_fd = ready_fd,
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

static int s_run_service(const part_def_t *p, const espace_config_t *cfg, int ready_fd)
{
    uint8_t pk[32] = {0}, sk[32] = {0};
    char pub_tcp[CONFIG_PATH_MAX + 16];
    int rc;
    svc_opts_t o;
    memset(&o, 0, sizeof o);
    o.data_dir = cfg->data_dir;
    o.stop_fd = stop_fd();
    o.ready_fd = ready_fd;
    o.no_sync = cfg->no_sync;
    o.bus.heartbeat_ms = cfg->heartbeat_ms;
    o.pub.heartbeat_ms = cfg->heartbeat_ms;
    o.bus.endpoint = cfg->req_ipc;
    o.pub.endpoint = cfg->pub_ipc;
    if (!strncmp(cfg->broker, "tcp://", 6)) {
        if (!cfg->broker_key[0] || !cfg->key_file[0]) {
            log_error(p->name, "start.failed", "reason=\"tcp --broker needs --broker-key and --key\"");
            return ES_INVALID_ARGUMENT;
        }
        rc = bus_keypair_load(cfg->key_file, 0, pk, sk);
        if (rc < 0) {
            log_error(p->name, "start.failed", "reason=\"cannot load --key\" status=%s",
                      es_status_name(rc));
            return rc;
        }
        rc = s_same_host(cfg->broker, cfg->pub_port, pub_tcp, sizeof pub_tcp);
        if (rc < 0)
            goto wipe;
        o.bus.endpoint = cfg->broker;
        o.bus.server_key = cfg->broker_key;
        o.bus.public_key = pk;
        o.bus.secret_key = sk;
        o.pub = o.bus;
        o.pub.endpoint = pub_tcp;
    } else if (cfg->broker[0]) {
        o.bus.endpoint = cfg->broker;
    }
    rc = svc_run(p->svc, &o);
wipe:
    sodium_memzero(sk, sizeof sk);
    return rc;
}
