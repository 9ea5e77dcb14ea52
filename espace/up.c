/* up.c - run parts in threads until stopped (up.h). */
#include "espace/up.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "bus/bus.h"
#include "process/log.h"
#include "proto/status.h"
#include "process/stop.h"

/* One running part. */
typedef struct up_part {
    const part_def_t *def;      /* what runs */
    const espace_config_t *cfg; /* borrowed */
    part_env_t env;             /* shared context, inproc, its ready_fd */
    pthread_t thread;           /* its thread */
    int started;                /* 1 once the thread exists (join it) */
    int ready_rd;               /* read end: one byte = ready, EOF = thread done */
    int ready_wr;               /* write end, closed by the thread when it returns */
    int rc;                     /* return value of the run function */
    int done;                   /* 1 once EOF was seen on ready_rd */
} up_part_t;

static void *s_thread(void *arg)
{
    up_part_t *p = arg;
    p->env.ready_fd = p->ready_wr;
    p->rc = p->def->run(p->def, p->cfg, &p->env);
    if (p->rc < 0)
        log_error("espace", "part.failed", "part=%s status=%s", p->def->name,
                  es_status_name(p->rc));
    close(p->ready_wr); /* EOF on ready_rd tells the main thread */
    return NULL;
}

/* Wait until part p is ready (1), or exited (0), or the timeout passed (-1)
 * or a stop was requested (-2). */
static int s_wait_ready(up_part_t *p)
{
    int64_t deadline = bus_mono_ms() + UP_READY_TIMEOUT_MS;
    for (;;) {
        int64_t left = deadline - bus_mono_ms();
        if (left <= 0)
            return -1;
        struct pollfd fds[2] = {{p->ready_rd, POLLIN, 0}, {stop_fd(), POLLIN, 0}};
        int n = poll(fds, 2, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (fds[0].revents) {
            char b;
            ssize_t r = read(p->ready_rd, &b, 1);
            if (r == 1)
                return 1;
            if (r < 0 && errno == EINTR)
                continue;
            p->done = 1;
            return 0;
        }
        if (fds[1].revents)
            return -2;
    }
}

static void s_summary(const espace_config_t *cfg, const part_def_t *const *parts, size_t n,
                      const char *broker_key)
{
    char services[512] = "";
    size_t off = 0;
    int has_broker = 0, has_edge = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(parts[i]->name, "broker")) {
            has_broker = 1;
            continue;
        }
        if (!strcmp(parts[i]->name, "edge"))
            has_edge = 1;
        int w = snprintf(services + off, sizeof services - off, "%s%s", off ? "," : "",
                         parts[i]->name);
        if (w > 0 && (size_t)w < sizeof services - off)
            off += (size_t)w;
    }
    char q[CONFIG_PATH_MAX * 2];
    log_quote(cfg->data_dir, q, sizeof q);
    if (has_broker)
        log_info("espace", "up",
                 "data=%s req_ipc=%s pub_ipc=%s sub_ipc=%s req_tcp=%s pub_tcp=%s sub_tcp=%s "
                 "broker_key=%s services=%s",
                 q, cfg->req_ipc, cfg->pub_ipc, cfg->sub_ipc, cfg->tcp ? cfg->req_tcp : "-",
                 cfg->tcp ? cfg->pub_tcp : "-", cfg->tcp ? cfg->sub_tcp : "-",
                 broker_key[0] ? broker_key : "-", services[0] ? services : "-");
    else
        log_info("espace", "up", "data=%s broker=%s services=%s", q,
                 cfg->broker[0] ? cfg->broker : cfg->req_ipc, services);

    printf("espace is up (data folder %s)\n", cfg->data_dir);
    if (has_broker) {
        printf("  requests    %s", cfg->req_ipc);
        if (cfg->tcp)
            printf("  %s", cfg->req_tcp);
        printf("\n  events in   %s", cfg->pub_ipc);
        if (cfg->tcp)
            printf("  %s", cfg->pub_tcp);
        printf("\n  events out  %s", cfg->sub_ipc);
        if (cfg->tcp)
            printf("  %s", cfg->sub_tcp);
        printf("\n");
        if (broker_key[0])
            printf("  broker key  %s\n", broker_key);
    } else {
        printf("  broker      %s\n", cfg->broker[0] ? cfg->broker : cfg->req_ipc);
    }
    printf("  services    %s\n", services[0] ? services : "(none)");
    char index[CONFIG_PATH_MAX + 16];
    snprintf(index, sizeof index, "%s/index.html", cfg->web_root);
    if (has_edge && (!cfg->web_root[0] || access(index, R_OK) != 0))
        printf("  web app     not built (no %s): run ./scripts/web, then restart\n",
               cfg->web_root[0] ? index : "web_root");
    else if (has_edge)
        printf("  web app     %s://%s:%u/\n", cfg->tls_cert[0] ? "https" : "http", cfg->edge_host,
               cfg->edge_port);
    printf("Stop with Ctrl-C (SIGINT) or SIGTERM.\n");
    fflush(stdout);
}

int up_run(const espace_config_t *cfg, const part_def_t *const *parts, size_t n)
{
    int code = 1;
    char err[CONFIG_ERR_MAX];
    up_part_t *run = calloc(n ? n : 1, sizeof *run);
    if (!run) {
        fprintf(stderr, "error: RESOURCE_EXHAUSTED: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        run[i].ready_rd = run[i].ready_wr = -1;
    log_set_level((log_level_t)cfg->log_level);
    if (config_make_dirs(cfg, err) < 0) {
        fprintf(stderr, "error: INTERNAL: %s\n", err);
        goto free_run;
    }

    /* One ZeroMQ context for every part: with the broker here, the others
     * reach it over inproc (no kernel, no I/O thread on the way); the one
     * I/O thread serves the ipc and tcp peers. */
    void *zctx = zmq_ctx_new();
    if (!zctx) {
        fprintf(stderr, "error: INTERNAL: cannot create the ZeroMQ context\n");
        goto free_run;
    }
    int has_broker = 0;
    for (size_t i = 0; i < n; i++)
        has_broker |= !strcmp(parts[i]->name, "broker");
    int inproc = has_broker && cfg->inproc && !cfg->broker[0];

    size_t started = 0;
    const char *failed = NULL;
    int stopped_early = 0;
    for (size_t i = 0; i < n; i++) {
        up_part_t *p = &run[i];
        int fds[2];
        p->def = parts[i];
        p->cfg = cfg;
        p->env.zctx = zctx;
        p->env.inproc = inproc;
        if (pipe(fds) < 0) {
            failed = p->def->name;
            break;
        }
        p->ready_rd = fds[0];
        p->ready_wr = fds[1];
        fcntl(p->ready_rd, F_SETFD, FD_CLOEXEC);
        fcntl(p->ready_wr, F_SETFD, FD_CLOEXEC);
        if (pthread_create(&p->thread, NULL, s_thread, p) != 0) {
            close(p->ready_wr);
            p->ready_wr = -1;
            failed = p->def->name;
            break;
        }
        p->started = 1;
        started++;
        int w = s_wait_ready(p);
        if (w == 1) {
            log_info("espace", "part.ready", "part=%s", p->def->name);
            continue;
        }
        if (w == -2) {
            stopped_early = 1;
            break;
        }
        failed = p->def->name;
        break;
    }

    if (!failed && !stopped_early) {
        char z85[BUS_KEY_Z85] = "";
        uint8_t pk[32], sk[32];
        char path[CONFIG_PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/broker/curve.key", cfg->data_dir);
        if (bus_keypair_load(path, 0, pk, sk) == 0)
            bus_key_z85(pk, z85);
        sodium_memzero(sk, sizeof sk);
        s_summary(cfg, parts, n, z85);

        /* Wait for a stop, or for a part that exits on its own. */
        struct pollfd *fds = calloc(n + 1, sizeof *fds);
        if (!fds) {
            failed = "memory";
        } else {
            for (;;) {
                fds[0] = (struct pollfd){stop_fd(), POLLIN, 0};
                for (size_t i = 0; i < n; i++)
                    fds[i + 1] = (struct pollfd){run[i].ready_rd, POLLIN, 0};
                int r = poll(fds, n + 1, -1);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r < 0 || fds[0].revents)
                    break;
                for (size_t i = 0; i < n && !failed; i++) {
                    char b;
                    if (fds[i + 1].revents && read(run[i].ready_rd, &b, 1) <= 0) {
                        run[i].done = 1;
                        failed = run[i].def->name;
                    }
                }
                if (failed) {
                    log_error("espace", "part.exited", "part=%s", failed);
                    break;
                }
            }
            free(fds);
        }
    }

    stop_request();
    code = (failed || stopped_early) ? 1 : 0;
    for (size_t i = 0; i < started; i++) {
        pthread_join(run[i].thread, NULL);
        if (run[i].rc < 0)
            code = 1;
    }
    zmq_ctx_term(zctx); /* every part closed its sockets as it returned */
    if (failed) {
        up_part_t *f = NULL;
        for (size_t i = 0; i < n; i++)
            if (run[i].def && !strcmp(run[i].def->name, failed))
                f = &run[i];
        if (f && f->rc < 0)
            fprintf(stderr, "error: %s: part '%s' failed (%s); every part was stopped\n",
                    es_status_name(f->rc), failed, es_strerror(f->rc));
        else
            fprintf(stderr, "error: UNAVAILABLE: part '%s' did not start or stopped; every "
                            "part was stopped\n", failed);
    } else if (stopped_early) {
        fprintf(stderr, "stopped before every part was ready\n");
    } else if (code == 0) {
        log_info("espace", "down", "parts=%zu", n);
    }
free_run:
    for (size_t i = 0; i < n; i++)
        if (run[i].ready_rd >= 0)
            close(run[i].ready_rd);
    free(run);
    return code;
}
