/*
 * service.c - the service runtime loop (see service.h).
 *
 * One svc_run owns: a ZeroMQ context, the service's store, a bus worker and
 * (optionally) a publisher, and a table of STORE_GROUP_MAX call slots
 * allocated once. Each turn of the loop:
 *   poll(worker socket, stop fd, timeout = bus_worker_tick)
 *   -> drain up to STORE_GROUP_MAX requests (and at most SVC_BATCH_BYTES of
 *      request bodies, and no more than fit in half a heartbeat interval at
 *      the measured cost per request) into the call slots;
 *   -> check method, caller and body of each;
 *   -> run the write methods through one store_write_group (group commit),
 *      then the read methods in one read transaction, so a read pipelined
 *      after a write of the same batch sees it;
 *   -> send every reply, publish the events of the calls that returned 0,
 *      release everything.
 * A batch blocks the thread: no heartbeat goes out and nothing is read
 * while it runs, so its length is kept under half a heartbeat interval
 * (bounded by the cost per request measured on earlier batches), and
 * bus_worker_tick (which declares the broker dead after BUS_LIVENESS silent
 * intervals) only runs once the socket has no unread input left.
 * Memory held by one batch is bounded: SVC_BATCH_BYTES of request bodies
 * (plus the one request that crosses the line), SVC_BATCH_BYTES of reply
 * bodies and queued events together, and SVC_MAX_EVENTS events per call.
 * Between batches, def->tick (if any) runs in a write group of its own when
 * its period is due (s_tick), with the call slot rt->tick_call.
 */
#include "runtime/service.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "process/log.h"
#include "proto/status.h"

#define SVC_REPLY_ROOM 1024               /* Reply envelope room under BUS_MAX_MSG */

typedef struct svc_event {
    char topic[BUS_MAX_TOPIC + 1];            /* topic, NUL-terminated */
    const ProtobufCMessageDescriptor *desc;   /* type of the packed body */
    uint8_t *body;                            /* packed body, malloc'd */
    size_t len;                               /* bytes in body */
} svc_event_t;

typedef struct svc_runtime svc_runtime_t;

/* Moving average of the time one request takes, per kind. */
typedef struct svc_cost {
    int64_t us;     /* average, microseconds (>= 1) */
    int measured;   /* 0: us is the initial guess */
} svc_cost_t;

struct svc_call {
    svc_runtime_t *rt;               /* owning runtime (budget, publisher) */
    bus_request_t req;               /* the request as received */
    const svc_method_t *method;      /* NULL when unknown */
    ProtobufCMessage *msg;           /* decoded body (codec_free), or NULL */
    int64_t now_ms;                  /* wall clock of the batch */
    int64_t t0_us;                   /* monotonic arrival, for the log */
    int ran;                         /* 1 once the handler ran */
    int rc;                          /* handler's return value */
    int status;                      /* es_status of the reply */
    char message[SVC_MAX_MESSAGE];   /* status message */
    char field[SVC_MAX_FIELD];       /* status field, "" when none */
    uint8_t *reply;                  /* packed reply body, malloc'd, or NULL */
    size_t reply_len;                /* bytes in reply */
    svc_event_t events[SVC_MAX_EVENTS]; /* queued events */
    size_t n_events;                 /* events in use */
};

struct svc_runtime {
    const svc_def_t *def;        /* the service */
    void *state;                 /* from def->init */
    store_t *store;              /* the service's store */
    bus_worker_t *worker;        /* bus worker */
    bus_pub_t *pub;              /* publisher, or NULL (publishing is a no-op) */
    svc_call_t *calls;           /* STORE_GROUP_MAX slots */
    size_t held;                 /* reply + event bytes held by the batch */
    uint64_t served;             /* requests answered since start */
    int64_t budget_us;           /* target duration of one batch */
    svc_cost_t cost[2];          /* cost of one request: [0] read, [1] write */
    svc_call_t tick_call;        /* the handle of def->tick (no request) */
    Espace__V1__Caller tick_caller; /* PRINCIPAL_SERVICE, principal = def->name */
};

/* ---- small helpers ---- */

static int64_t s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A status a handler may return: a valid negative es_status, else INTERNAL. */
static int s_valid_status(int rc)
{
    if (rc >= 0 || rc < ES_STATUS_MIN)
        return ES_INTERNAL;
    return rc;
}

static void s_set_status(svc_call_t *c, int status, const char *field, const char *msg)
{
    c->status = status;
    snprintf(c->field, sizeof c->field, "%s", field ? field : "");
    snprintf(c->message, sizeof c->message, "%s", msg ? msg : "");
}

/* Drop what the handler produced: reply, status, events. */
static void s_call_reset(svc_call_t *c)
{
    svc_runtime_t *rt = c->rt;
    if (c->reply) {
        rt->held -= c->reply_len;
        free(c->reply);
        c->reply = NULL;
    }
    c->reply_len = 0;
    for (size_t i = 0; i < c->n_events; i++) {
        rt->held -= c->events[i].len;
        free(c->events[i].body);
        c->events[i].body = NULL;
        c->events[i].len = 0;
    }
    c->n_events = 0;
    c->status = ES_OK;
    c->message[0] = '\0';
    c->field[0] = '\0';
}

/* Release the whole slot, ready for the next batch. */
static void s_call_clear(svc_call_t *c)
{
    s_call_reset(c);
    codec_free(c->msg);
    c->msg = NULL;
    bus_request_release(&c->req);
    c->method = NULL;
    c->ran = 0;
    c->rc = 0;
}

/* Run the handler of one call (read or write transaction). */
static int s_call_run(svc_runtime_t *rt, svc_call_t *c, store_txn_t *txn)
{
    s_call_reset(c);
    c->ran = 1;
    c->rc = c->method->handler(rt->state, c, c->msg, txn);
    return c->rc;
}

/* After the handler's last run: derive the status from its return value. */
static void s_call_settle(svc_call_t *c)
{
    if (c->rc == 0)
        return; /* status as set by svc_fail, or OK */
    if (c->status == ES_OK) {
        int st = s_valid_status(c->rc);
        s_set_status(c, st, NULL, es_strerror(st));
    }
}

/* store_write_group callback. */
static int s_apply(store_txn_t *t, void *item, void *ctx)
{
    return s_call_run(ctx, item, t);
}

static const svc_method_t *s_find_method(const svc_def_t *def, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < def->n_methods; i++) {
        if (def->methods[i].name && strcmp(def->methods[i].name, name) == 0)
            return &def->methods[i];
    }
    return NULL;
}

/* Method, caller and body checks. 0 if the handler may run, else the
 * call's status is set. */
static int s_call_check(svc_runtime_t *rt, svc_call_t *c)
{
    const Espace__V1__Request *r = c->req.req;
    c->method = s_find_method(rt->def, r->method);
    if (!c->method) {
        s_set_status(c, ES_UNIMPLEMENTED, NULL, "unknown method");
        return c->status;
    }
    unsigned flags = c->method->flags;
    Espace__V1__PrincipalKind kind = c->req.caller->kind;
    if (!(flags & SVC_PUBLIC) && kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE) {
        s_set_status(c, ES_UNAUTHENTICATED, NULL, "a session is required");
        return c->status;
    }
    if ((flags & SVC_OPERATOR) && kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR) {
        s_set_status(c, ES_PERMISSION_DENIED, NULL, "operator only");
        return c->status;
    }
    if (c->method->request) {
        const char *why = NULL;
        int rc = codec_decode(c->method->request, r->body.data, r->body.len, 0, &c->msg, &why);
        if (rc == ES_TOO_LARGE || rc == ES_RESOURCE_EXHAUSTED) {
            s_set_status(c, ES_TOO_LARGE, "body", "body too large");
            return c->status;
        }
        if (rc != 0) {
            char m[SVC_MAX_MESSAGE];
            snprintf(m, sizeof m, "malformed body (%s)", why ? why : "decode");
            s_set_status(c, ES_INVALID_ARGUMENT, "body", m);
            return c->status;
        }
    }
    return ES_OK;
}

/* ---- the batch ---- */

static size_t s_drain(svc_runtime_t *rt)
{
    size_t n = 0, bytes = 0;
    int64_t now = bus_wall_ms();
    /* The batch's mix is unknown before decoding: assume the dearer kind. */
    int64_t cost = rt->cost[0].us > rt->cost[1].us ? rt->cost[0].us : rt->cost[1].us;
    int64_t fit = rt->budget_us / (cost > 0 ? cost : 1);
    size_t max = fit < 1 ? 1 : fit > STORE_GROUP_MAX ? STORE_GROUP_MAX : (size_t)fit;
    while (n < max && bytes < SVC_BATCH_BYTES) {
        svc_call_t *c = &rt->calls[n];
        int rc = bus_worker_recv(rt->worker, &c->req);
        if (rc == ES_NOT_FOUND)
            break;
        if (rc != 0) {
            log_warn(rt->def->name, "recv.fail", "status=%s", es_status_name(rc));
            break;
        }
        c->now_ms = now;
        c->t0_us = s_mono_us();
        bytes += c->req.req->body.len;
        n++;
    }
    return n;
}

static void s_publish(svc_runtime_t *rt, svc_call_t *c)
{
    for (size_t i = 0; i < c->n_events; i++) {
        svc_event_t *e = &c->events[i];
        /* Our own bytes, packed by svc_publish: no need for the codec. */
        ProtobufCMessage *m = protobuf_c_message_unpack(e->desc, NULL, e->len, e->body);
        int rc = m ? bus_publish(rt->pub, e->topic, m) : ES_INTERNAL;
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        if (rc != 0) {
            char q[BUS_MAX_TOPIC + 8];
            log_warn(rt->def->name, "publish.fail", "topic=%s status=%s",
                     log_quote(e->topic, q, sizeof q), es_status_name(rc));
        }
    }
}

static void s_log_call(svc_runtime_t *rt, const svc_call_t *c, int64_t us)
{
    char mq[96];
    const char *method = log_quote(c->req.req->method, mq, sizeof mq);
    uint64_t rid = c->req.req->id;
    if (c->status == ES_INTERNAL || c->status == ES_UNAVAILABLE) {
        char msgq[SVC_MAX_MESSAGE + 8];
        log_info(rt->def->name, "request",
                 "method=%s rid=%" PRIu64 " status=%s us=%" PRId64 " msg=%s", method, rid,
                 es_status_name(c->status), us, log_quote(c->message, msgq, sizeof msgq));
    } else {
        log_debug(rt->def->name, "request", "method=%s rid=%" PRIu64 " status=%s us=%" PRId64,
                  method, rid, es_status_name(c->status), us);
    }
}

/* Fold a measure of `n` requests that took `us` into the average. */
static void s_cost_add(svc_cost_t *c, int64_t us, size_t n)
{
    if (n == 0)
        return;
    int64_t per = us / (int64_t)n;
    /* First measure replaces the guess; then an average weighing 1/4. */
    c->us = c->measured ? (3 * c->us + per + 3) / 4 : per;
    c->measured = 1;
    if (c->us < 1)
        c->us = 1;
}

/* ---- periodic work ---- */

/* store_write_group callback of the tick: SVC_TICK_AGAIN keeps the writes. */
static int s_apply_tick(store_txn_t *t, void *item, void *ctx)
{
    svc_runtime_t *rt = ctx;
    svc_call_t *c = item;
    s_call_reset(c);
    c->ran = 1;
    c->rc = rt->def->tick(rt->state, c, t);
    return c->rc == SVC_TICK_AGAIN ? 0 : c->rc;
}

/* Run def->tick once. Returns 1 if it asked to be called again at once. */
static int s_tick(svc_runtime_t *rt)
{
    svc_call_t *c = &rt->tick_call;
    void *items[1] = {c};
    int results[1] = {0};
    c->now_ms = bus_wall_ms();
    c->rc = 0;
    int grc = store_write_group(rt->store, s_apply_tick, items, 1, results, rt);
    int again = 0;
    if (grc != 0) {
        log_error(rt->def->name, "tick.fail", "status=%s", es_status_name(grc));
    } else if (results[0] != 0) {
        char mq[SVC_MAX_MESSAGE + 8];
        log_warn(rt->def->name, "tick.fail", "status=%s msg=%s",
                 es_status_name(s_valid_status(results[0])),
                 log_quote(c->message, mq, sizeof mq));
    } else {
        again = c->rc == SVC_TICK_AGAIN;
        if (rt->pub)
            s_publish(rt, c);
    }
    s_call_reset(c);
    c->ran = 0;
    return again;
}

static void s_batch(svc_runtime_t *rt)
{
    int64_t t0 = s_mono_us();
    size_t n = s_drain(rt);
    if (n == 0)
        return;

    void *writes[STORE_GROUP_MAX];
    int results[STORE_GROUP_MAX];
    svc_call_t *reads[STORE_GROUP_MAX];
    size_t nw = 0, nr = 0;

    for (size_t i = 0; i < n; i++) {
        svc_call_t *c = &rt->calls[i];
        if (s_call_check(rt, c) != 0)
            continue;
        if (c->method->flags & SVC_WRITE)
            writes[nw++] = c;
        else
            reads[nr++] = c;
    }

    if (nw > 0) {
        int64_t tw = s_mono_us();
        int grc = store_write_group(rt->store, s_apply, writes, nw, results, rt);
        s_cost_add(&rt->cost[1], s_mono_us() - tw, nw);
        for (size_t i = 0; i < nw; i++) {
            svc_call_t *c = writes[i];
            if (grc != 0) {
                /* Nothing committed: whatever the handler said, it failed. */
                s_call_reset(c);
                c->rc = s_valid_status(grc);
                s_set_status(c, c->rc, NULL, "storage failure");
            } else {
                c->rc = results[i];
                if (c->rc != 0) {
                    /* Discarded: its events must not go out. The reply
                     * status/message stay (from svc_fail). */
                    int st = c->status;
                    char msg[SVC_MAX_MESSAGE], field[SVC_MAX_FIELD];
                    memcpy(msg, c->message, sizeof msg);
                    memcpy(field, c->field, sizeof field);
                    s_call_reset(c);
                    s_set_status(c, st, field, msg);
                }
                s_call_settle(c);
            }
        }
        if (grc != 0)
            log_error(rt->def->name, "group.fail", "n=%zu status=%s", nw, es_status_name(grc));
    }

    if (nr > 0) {
        int64_t tr = s_mono_us();
        store_txn_t *txn = NULL;
        int rrc = store_read_begin(rt->store, &txn);
        for (size_t i = 0; i < nr; i++) {
            svc_call_t *c = reads[i];
            if (rrc != 0) {
                c->rc = s_valid_status(rrc);
                s_set_status(c, c->rc, NULL, "storage failure");
                continue;
            }
            s_call_run(rt, c, txn);
            s_call_settle(c);
        }
        store_txn_end(&txn);
        s_cost_add(&rt->cost[0], s_mono_us() - tr, nr);
        if (rrc != 0)
            log_error(rt->def->name, "read.fail", "status=%s", es_status_name(rrc));
    }

    for (size_t i = 0; i < n; i++) {
        svc_call_t *c = &rt->calls[i];
        int rc;
        if (c->status != ES_OK)
            rc = bus_worker_reply(rt->worker, &c->req, c->status, c->message,
                                  c->field[0] ? c->field : NULL, NULL, 0);
        else
            rc = bus_worker_reply(rt->worker, &c->req, ES_OK, NULL, NULL, c->reply,
                                  c->reply_len);
        if (rc == ES_TOO_LARGE) {
            /* Still one answer per request. */
            s_set_status(c, ES_INTERNAL, NULL, "reply too large");
            rc = bus_worker_reply(rt->worker, &c->req, c->status, c->message, NULL, NULL, 0);
        }
        if (rc != 0)
            log_warn(rt->def->name, "reply.fail", "rid=%" PRIu64 " status=%s", c->req.req->id,
                     es_status_name(rc));
        if (c->ran && c->rc == 0 && rt->pub)
            s_publish(rt, c);
        s_log_call(rt, c, s_mono_us() - c->t0_us);
        rt->served++;
        s_call_clear(c);
    }
    int64_t us = s_mono_us() - t0;
    log_debug(rt->def->name, "batch", "n=%zu writes=%zu reads=%zu us=%" PRId64, n, nw, nr, us);
}

/* 1 if the socket has unread input. */
static int s_pending(void *sock)
{
    int ev = 0;
    size_t sz = sizeof ev;
    if (!sock || zmq_getsockopt(sock, ZMQ_EVENTS, &ev, &sz) != 0)
        return 0;
    return (ev & ZMQ_POLLIN) != 0;
}

/* ---- svc_run ---- */

static void s_ready(int fd)
{
    if (fd < 0)
        return;
    ssize_t w;
    do {
        w = write(fd, "r", 1);
    } while (w < 0 && errno == EINTR);
}

int svc_def_check(const svc_def_t *def, char *err, size_t n)
{
    const ProtobufCServiceDescriptor *api = def->api;
    if (!api)
        return ES_OK;
    for (size_t i = 0; i < def->n_methods; i++) {
        const svc_method_t *m = &def->methods[i];
        const ProtobufCMethodDescriptor *d =
            m->name ? protobuf_c_service_descriptor_get_method_by_name(api, m->name) : NULL;
        if (!d) {
            snprintf(err, n, "method %s is not an rpc of %s", m->name ? m->name : "(null)",
                     api->name);
            return ES_INTERNAL;
        }
        if (d->input != m->request) {
            snprintf(err, n, "method %s takes %s in %s", m->name, d->input->name, api->name);
            return ES_INTERNAL;
        }
    }
    for (unsigned j = 0; j < api->n_methods; j++) {
        if (!s_find_method(def, api->methods[j].name)) {
            snprintf(err, n, "rpc %s of %s has no method", api->methods[j].name, api->name);
            return ES_INTERNAL;
        }
    }
    return ES_OK;
}

int svc_run(const svc_def_t *def, const svc_opts_t *opts)
{
    if (!def || !def->name || !opts || !opts->data_dir || !opts->bus.endpoint ||
        (def->n_methods > 0 && !def->methods))
        return ES_INVALID_ARGUMENT;
    char why[256];
    if (svc_def_check(def, why, sizeof why) != 0) {
        char q[300];
        log_error(def->name, "service.api", "error=%s", log_quote(why, q, sizeof q));
        return ES_INTERNAL;
    }

    int rc = ES_OK;
    svc_runtime_t rt;
    memset(&rt, 0, sizeof rt);
    rt.def = def;
    void *zctx = NULL;
    int inited = 0;

    char dir[PATH_MAX];
    int dl = snprintf(dir, sizeof dir, "%s/%s", opts->data_dir, def->name);
    if (dl < 0 || (size_t)dl >= sizeof dir)
        return ES_INVALID_ARGUMENT;
    if (mkdir(opts->data_dir, 0700) != 0 && errno != EEXIST) {
        log_error(def->name, "start.fail", "step=mkdir errno=%d", errno);
        return ES_INTERNAL;
    }

    rt.calls = calloc(STORE_GROUP_MAX, sizeof *rt.calls);
    if (!rt.calls)
        return ES_RESOURCE_EXHAUSTED;
    for (size_t i = 0; i < STORE_GROUP_MAX; i++)
        rt.calls[i].rt = &rt;
    /* The tick's handle: no request, a service caller. */
    espace__v1__caller__init(&rt.tick_caller);
    rt.tick_caller.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE;
    rt.tick_caller.principal = (char *)def->name;
    rt.tick_call.rt = &rt;
    rt.tick_call.req.caller = &rt.tick_caller;
    int64_t tick_ms = def->tick_ms < SVC_TICK_MIN_MS ? SVC_TICK_MIN_MS : (int64_t)def->tick_ms;
    int64_t next_tick = s_mono_us() / 1000 + tick_ms; /* monotonic ms */

    store_opts_t so;
    memset(&so, 0, sizeof so);
    so.tables = def->tables;
    so.no_sync = opts->no_sync;
    rc = store_open(dir, &so, &rt.store);
    if (rc != 0) {
        log_error(def->name, "start.fail", "step=store status=%s", es_status_name(rc));
        goto free_calls;
    }

    if (def->init) {
        svc_env_t env = {.store = rt.store, .data_dir = dir, .bus = &opts->bus};
        rc = def->init(&env, &rt.state);
        if (rc != 0) {
            rc = s_valid_status(rc);
            log_error(def->name, "start.fail", "step=init status=%s", es_status_name(rc));
            goto close_store;
        }
        inited = 1;
    }

    zctx = zmq_ctx_new();
    if (!zctx) {
        rc = ES_INTERNAL;
        goto fini;
    }
    uint32_t capacity = opts->capacity ? opts->capacity : STORE_GROUP_MAX;
    rc = bus_worker_new(zctx, &opts->bus, def->name, capacity, &rt.worker);
    if (rc != 0) {
        log_error(def->name, "start.fail", "step=worker status=%s", es_status_name(rc));
        goto term_ctx;
    }
    if (opts->pub.endpoint) {
        rc = bus_pub_new(zctx, &opts->pub, &rt.pub);
        if (rc != 0) {
            log_error(def->name, "start.fail", "step=pub status=%s", es_status_name(rc));
            goto destroy_worker;
        }
    }

    unsigned hb = opts->bus.heartbeat_ms ? opts->bus.heartbeat_ms : BUS_HEARTBEAT_MS;
    rt.budget_us = (int64_t)hb * 1000 / 2;
    /* Until measured, guess 16 requests per batch. */
    rt.cost[0].us = rt.cost[1].us = rt.budget_us / 16;
    int announced = 0; /* ready_fd written (once the broker acknowledged us) */

    for (;;) {
        /* Unread input first: reading refreshes the broker's liveness, which
         * a long batch may have let lapse; tick only when caught up. Under
         * load the replies are the worker's heartbeats. */
        int timeout = 0;
        if (def->tick && announced) {
            int64_t now = s_mono_us() / 1000;
            if (now >= next_tick)
                next_tick = s_tick(&rt) ? now : s_mono_us() / 1000 + tick_ms;
        }
        if (!s_pending(bus_worker_socket(rt.worker))) {
            timeout = bus_worker_tick(rt.worker);
            if (timeout < 0 || timeout > (int)hb)
                timeout = (int)hb;
            if (def->tick && announced) {
                int64_t until = next_tick - s_mono_us() / 1000;
                if (until < 0)
                    until = 0;
                if (until < timeout)
                    timeout = (int)until;
            }
        }
        /* The socket changes when the worker reconnects, and is NULL while
         * it cannot: fetch it every turn. */
        void *sock = bus_worker_socket(rt.worker);
        zmq_pollitem_t items[2];
        int nitems = 0, isock = -1, istop = -1;
        if (opts->stop_fd >= 0) {
            istop = nitems++;
            items[istop] = (zmq_pollitem_t){NULL, opts->stop_fd, ZMQ_POLLIN, 0};
        }
        if (sock) {
            isock = nitems++;
            items[isock] = (zmq_pollitem_t){sock, 0, ZMQ_POLLIN, 0};
        }
        int prc = nitems > 0 ? zmq_poll(items, nitems, timeout) : zmq_poll(NULL, 0, timeout);
        if (prc < 0) {
            if (errno == EINTR)
                continue;
            log_error(def->name, "poll.fail", "errno=%d", errno);
            break;
        }
        if (istop >= 0 && (items[istop].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
            break;
        if (isock >= 0 && (items[isock].revents & ZMQ_POLLIN))
            s_batch(&rt);
        if (!announced && bus_worker_registered(rt.worker)) {
            announced = 1;
            log_info(def->name, "ready", "capacity=%" PRIu32, capacity);
            s_ready(opts->ready_fd);
        }
    }
    rc = ES_OK;
    log_info(def->name, "stop", "served=%" PRIu64, rt.served);

    bus_pub_destroy(&rt.pub);
destroy_worker:
    bus_worker_destroy(&rt.worker);
term_ctx:
    zmq_ctx_term(zctx);
fini:
    if (inited && def->fini)
        def->fini(rt.state);
close_store:
    store_close(&rt.store);
free_calls:
    free(rt.calls);
    return rc;
}

/* ---- for handlers ---- */

const Espace__V1__Caller *svc_caller(const svc_call_t *c)
{
    return c->req.caller;
}

uint64_t svc_request_id(const svc_call_t *c)
{
    return c->req.req ? c->req.req->id : 0; /* 0 for the tick */
}

int64_t svc_now_ms(const svc_call_t *c)
{
    return c->now_ms;
}

int svc_reply(svc_call_t *c, const ProtobufCMessage *reply)
{
    svc_runtime_t *rt = c->rt;
    if (c->reply) {
        rt->held -= c->reply_len;
        free(c->reply);
        c->reply = NULL;
        c->reply_len = 0;
    }
    if (!reply)
        return ES_OK;
    size_t len = protobuf_c_message_get_packed_size(reply);
    if (len > BUS_MAX_MSG - SVC_REPLY_ROOM)
        return ES_TOO_LARGE;
    if (rt->held + len > SVC_BATCH_BYTES)
        return ES_RESOURCE_EXHAUSTED;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return ES_RESOURCE_EXHAUSTED;
    protobuf_c_message_pack(reply, buf);
    c->reply = buf;
    c->reply_len = len;
    rt->held += len;
    return ES_OK;
}

int svc_fail(svc_call_t *c, int status, const char *field, const char *fmt, ...)
{
    status = s_valid_status(status);
    c->status = status;
    snprintf(c->field, sizeof c->field, "%s", field ? field : "");
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->message, sizeof c->message, fmt, ap);
        va_end(ap);
    } else {
        snprintf(c->message, sizeof c->message, "%s", es_strerror(status));
    }
    return status;
}

int svc_publish(svc_call_t *c, const char *topic, const ProtobufCMessage *body)
{
    svc_runtime_t *rt = c->rt;
    if (!topic || !topic[0] || strlen(topic) > BUS_MAX_TOPIC || !body)
        return ES_INVALID_ARGUMENT;
    if (c->n_events >= SVC_MAX_EVENTS)
        return ES_RESOURCE_EXHAUSTED;
    if (!rt->pub) {
        /* No publisher configured: the event is counted, then dropped. */
        svc_event_t *e = &c->events[c->n_events++];
        e->body = NULL;
        e->len = 0;
        return ES_OK;
    }
    size_t len = protobuf_c_message_get_packed_size(body);
    if (len > BUS_MAX_MSG - SVC_REPLY_ROOM - BUS_MAX_TOPIC)
        return ES_TOO_LARGE;
    if (rt->held + len > SVC_BATCH_BYTES)
        return ES_RESOURCE_EXHAUSTED;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return ES_RESOURCE_EXHAUSTED;
    protobuf_c_message_pack(body, buf);
    svc_event_t *e = &c->events[c->n_events++];
    snprintf(e->topic, sizeof e->topic, "%s", topic);
    e->desc = body->descriptor;
    e->body = buf;
    e->len = len;
    rt->held += len;
    return ES_OK;
}
