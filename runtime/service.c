/*
 * service.c - the service runtime loop (see service.h).
 *
 * One svc_run owns: a ZeroMQ context, the service's store, a bus worker, a
 * consent client (authz.h, when the service has guards) and (optionally) a
 * publisher, and SVC_SLOTS call slots allocated once (service_int.h). Each
 * turn of the loop:
 *   collect the consent decisions that arrived or expired (access.c);
 *   poll(worker socket, consent client fd, stop fd, timeout = the nearest of
 *        bus_worker_tick, the tick, the earliest Decide deadline; 0 when
 *        decided requests wait)
 *   -> every request waiting on the worker socket is read into a free call
 *      slot (the backlog), stamped with its arrival;
 *   -> the batch takes the decided requests first, then up to
 *      STORE_GROUP_MAX requests of the backlog (and at most SVC_BATCH_BYTES
 *      of request bodies, and no more than fit in half a heartbeat interval
 *      at the measured cost per request);
 *   -> check method, caller and body of each new one, and resolve the access
 *      of guarded methods: the patient on their own data stays in the batch,
 *      anyone else is parked (out of the batch) until consent decides;
 *   -> run the write methods through one store_write_group (group commit),
 *      then the read methods in one read transaction, so a read pipelined
 *      after a write of the same batch sees it;
 *   -> send every reply, publish the events of the calls that returned 0,
 *      release their slots.
 * No batch ever waits on another service: a Decide is sent, never awaited.
 * A batch blocks the thread: nothing is read while it runs, so its length
 * is kept under half a heartbeat interval (bounded by the cost per request
 * measured on earlier batches); a heartbeat goes out between its requests
 * when one is due (bus_worker_heartbeat), so a batch that takes longer (a
 * first guess too low, slow handlers, Argon2id) is a busy worker for the
 * broker, not a dead one. bus_worker_tick (which declares the broker dead
 * after BUS_LIVENESS silent intervals) only runs once the socket has no
 * unread input left.
 * A request whose deadline passed (svc_remaining_ms) is answered
 * DEADLINE_EXCEEDED without its handler running: nobody waits for it.
 * Memory held by one batch is bounded: SVC_BATCH_BYTES of request bodies
 * (plus the one request that crosses the line), SVC_BATCH_BYTES of reply
 * bodies and queued events together, and SVC_MAX_EVENTS events per call.
 * Between batches, def->tick (if any) runs in a write group of its own when
 * its period is due (s_tick), with the call slot rt->tick_call.
 */
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
#include "runtime/service_int.h"

/* ---- small helpers ---- */

static int64_t s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Run the handler of one call (read or write transaction); first a
 * heartbeat if one is due (a long batch is a busy worker, not a dead one),
 * and a request whose deadline passed is not started (service.h). */
static int s_call_run(svc_runtime_t *rt, svc_call_t *c, store_txn_t *txn)
{
    bus_worker_heartbeat(rt->worker);
    svc_call_reset(c);
    if (!c->ran && svc_remaining_ms(c) <= 0) {
        rt->expired++;
        c->rc = svc_fail(c, ES_DEADLINE_EXCEEDED, NULL, "deadline passed before the work began");
        return c->rc;
    }
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
        int st = svc_status_valid(c->rc);
        svc_status_set(c, st, NULL, es_strerror(st));
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
        svc_status_set(c, ES_UNIMPLEMENTED, NULL, "unknown method");
        return c->status;
    }
    unsigned flags = c->method->flags;
    Espace__V1__PrincipalKind kind = c->req.caller->kind;
    if (!(flags & SVC_PUBLIC) && kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE) {
        svc_status_set(c, ES_UNAUTHENTICATED, NULL, "a session is required");
        return c->status;
    }
    if ((flags & SVC_OPERATOR) && kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR) {
        svc_status_set(c, ES_PERMISSION_DENIED, NULL, "operator only");
        return c->status;
    }
    if (c->method->request) {
        const char *why = NULL;
        int rc = codec_decode(c->method->request, r->body.data, r->body.len, 0, &c->msg, &why);
        if (rc == ES_TOO_LARGE || rc == ES_RESOURCE_EXHAUSTED) {
            svc_status_set(c, ES_TOO_LARGE, "body", "body too large");
            return c->status;
        }
        if (rc != 0) {
            char m[SVC_MAX_MESSAGE];
            snprintf(m, sizeof m, "malformed body (%s)", why ? why : "decode");
            svc_status_set(c, ES_INVALID_ARGUMENT, "body", m);
            return c->status;
        }
    }
    c->guard = svc_guard_find(rt->def, c->method->name);
    return ES_OK;
}

/* ---- the batch ---- */

/* How many requests the next batch may take. */
static size_t s_batch_max(const svc_runtime_t *rt)
{
    /* The batch's mix is unknown before decoding: assume the dearer kind. */
    int64_t cost = rt->cost[0].us > rt->cost[1].us ? rt->cost[0].us : rt->cost[1].us;
    int64_t fit = rt->budget_us / (cost > 0 ? cost : 1);
    return fit < 1 ? 1 : fit > STORE_GROUP_MAX ? STORE_GROUP_MAX : (size_t)fit;
}

/* Read every request waiting on the worker socket into free slots, in
 * arrival order, onto the backlog: each is stamped when read (t0_us), and
 * its deadline (svc_remaining_ms) counts from then, so requests are read as
 * soon as possible, not when their batch comes. The broker hands a worker
 * no more than its capacity, so they fit (else the rest waits in the
 * socket). */
static void s_read(svc_runtime_t *rt)
{
    while (rt->n_free > 0 && rt->n_backlog < SVC_SLOTS) {
        svc_call_t *c = rt->free[rt->n_free - 1];
        int rc = bus_worker_recv(rt->worker, &c->req);
        if (rc == ES_NOT_FOUND)
            break;
        if (rc != 0) {
            log_warn(rt->def->name, "recv.fail", "status=%s", es_status_name(rc));
            break;
        }
        rt->n_free--;
        c->t0_us = s_mono_us();
        rt->backlog[(rt->bl_head + rt->n_backlog++) % SVC_SLOTS] = c;
    }
}

/* Take requests from the backlog: checked, and resolved when guarded.
 * Those allowed or failed join batch[*n]; those consent must decide are
 * parked; those whose deadline passed are answered DEADLINE_EXCEEDED. At
 * most `max` taken in all (and ~SVC_BATCH_BYTES). */
static void s_take(svc_runtime_t *rt, svc_call_t **batch, size_t *n, size_t max)
{
    size_t got = 0, bytes = 0;
    while (got < max && bytes < SVC_BATCH_BYTES && rt->n_backlog > 0) {
        svc_call_t *c = rt->backlog[rt->bl_head];
        rt->bl_head = (rt->bl_head + 1) % SVC_SLOTS;
        rt->n_backlog--;
        bytes += c->req.req->body.len;
        got++;
        if (svc_remaining_ms(c) <= 0) {
            rt->expired++; /* nobody waits for it: no consent asked, no handler */
            svc_status_set(c, ES_DEADLINE_EXCEEDED, NULL, "deadline passed before the work began");
        } else if (s_call_check(rt, c) == 0 && c->guard &&
                   svc_access_resolve(rt, c) == SVC_PARKED) {
            continue; /* consent decides: it joins a later batch */
        }
        batch[(*n)++] = c;
    }
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
    bus_worker_heartbeat(rt->worker);
    svc_call_reset(c);
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
                 es_status_name(svc_status_valid(results[0])),
                 log_quote(c->message, mq, sizeof mq));
    } else {
        again = c->rc == SVC_TICK_AGAIN;
        if (rt->pub)
            s_publish(rt, c);
    }
    svc_call_reset(c);
    c->ran = 0;
    return again;
}

/* Send c's reply, publish its events if it kept its writes, log it and
 * free its slot. */
static void s_answer(svc_runtime_t *rt, svc_call_t *c)
{
    int rc;
    if (c->status != ES_OK)
        rc = bus_worker_reply(rt->worker, &c->req, c->status, c->message,
                              c->field[0] ? c->field : NULL, NULL, 0);
    else
        rc = bus_worker_reply(rt->worker, &c->req, ES_OK, NULL, NULL, c->reply, c->reply_len);
    if (rc == ES_TOO_LARGE) {
        /* Still one answer per request. */
        svc_status_set(c, ES_INTERNAL, NULL, "reply too large");
        rc = bus_worker_reply(rt->worker, &c->req, c->status, c->message, NULL, NULL, 0);
    }
    if (rc != 0)
        log_warn(rt->def->name, "reply.fail", "rid=%" PRIu64 " status=%s", c->req.req->id,
                 es_status_name(rc));
    if (c->ran && c->rc == 0 && rt->pub)
        s_publish(rt, c);
    s_log_call(rt, c, s_mono_us() - c->t0_us);
    rt->served++;
    svc_call_clear(c);
    rt->free[rt->n_free++] = c;
}

static void s_batch(svc_runtime_t *rt)
{
    int64_t t0 = s_mono_us();
    svc_call_t *batch[STORE_GROUP_MAX];
    size_t n = 0, max = s_batch_max(rt);
    while (n < max && rt->n_ready > 0) {
        svc_call_t *c = svc_ready_pop(rt);
        if (c->recording)
            s_answer(rt, c); /* ran before: its consent record is settled */
        else
            batch[n++] = c;
    }
    s_read(rt);
    s_take(rt, batch, &n, max - n);
    if (n == 0)
        return;

    void *writes[STORE_GROUP_MAX];
    int results[STORE_GROUP_MAX];
    svc_call_t *reads[STORE_GROUP_MAX];
    size_t nw = 0, nr = 0;
    int64_t now = bus_wall_ms();

    for (size_t i = 0; i < n; i++) {
        svc_call_t *c = batch[i];
        c->now_ms = now;
        if (c->status != ES_OK)
            continue; /* failed its checks, or denied: answered without running */
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
                svc_call_reset(c);
                c->rc = svc_status_valid(grc);
                svc_status_set(c, c->rc, NULL, "storage failure");
            } else {
                c->rc = results[i];
                if (c->rc != 0) {
                    /* Discarded: its events must not go out. The reply
                     * status/message stay (from svc_fail). */
                    int st = c->status;
                    char msg[SVC_MAX_MESSAGE], field[SVC_MAX_FIELD];
                    memcpy(msg, c->message, sizeof msg);
                    memcpy(field, c->field, sizeof field);
                    svc_call_reset(c);
                    svc_status_set(c, st, field, msg);
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
                c->rc = svc_status_valid(rrc);
                svc_status_set(c, c->rc, NULL, "storage failure");
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

    for (size_t i = 0; i < n; i++)
        if (!svc_after_send(rt, batch[i]))
            s_answer(rt, batch[i]);
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
        return svc_guards_check(def, err, n);
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
    return svc_guards_check(def, err, n);
}

/* At stop: the requests waiting for consent, or decided but not run, are
 * answered UNAVAILABLE (the client may retry elsewhere or later). */
static void s_abandon(svc_runtime_t *rt)
{
    svc_call_t *c;
    while (rt->n_backlog > 0) {
        c = rt->backlog[rt->bl_head];
        rt->bl_head = (rt->bl_head + 1) % SVC_SLOTS;
        rt->n_backlog--;
        svc_status_set(c, ES_UNAVAILABLE, NULL, "service stopping");
        s_answer(rt, c);
    }
    while ((c = svc_ready_pop(rt)) != NULL) {
        svc_status_set(c, ES_UNAVAILABLE, NULL, "service stopping");
        s_answer(rt, c);
    }
    while (rt->n_parked > 0) {
        c = rt->parked[--rt->n_parked];
        rt->parked_bytes -= c->req.req->body.len;
        svc_status_set(c, ES_UNAVAILABLE, NULL, "service stopping");
        s_answer(rt, c);
    }
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

    zctx = opts->zctx ? opts->zctx : zmq_ctx_new();
    if (!zctx)
        return ES_INTERNAL;
    rt.slots = calloc(SVC_SLOTS, sizeof *rt.slots);
    if (!rt.slots) {
        rc = ES_RESOURCE_EXHAUSTED;
        goto term_ctx;
    }
    for (size_t i = 0; i < SVC_SLOTS; i++) {
        rt.slots[i].rt = &rt;
        rt.free[rt.n_free++] = &rt.slots[SVC_SLOTS - 1 - i];
    }
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
        goto free_slots;
    }

    if (def->init) {
        svc_env_t env = {.store = rt.store, .data_dir = dir, .bus = &opts->bus, .zctx = zctx};
        rc = def->init(&env, &rt.state);
        if (rc != 0) {
            rc = svc_status_valid(rc);
            log_error(def->name, "start.fail", "step=init status=%s", es_status_name(rc));
            goto close_store;
        }
        inited = 1;
    }

    if (def->n_guards > 0 || def->consent_records) {
        rc = authz_new(zctx, &opts->bus, def->name, &rt.az);
        if (rc != 0) {
            log_error(def->name, "start.fail", "step=authz status=%s", es_status_name(rc));
            goto fini;
        }
    }
    /* Parked requests are in flight for the broker: room for them and a
     * full batch, so a slow consent never holds the others back. */
    uint32_t capacity = opts->capacity       ? opts->capacity
                        : def->n_guards > 0 || def->consent_records ? SVC_SLOTS
                                            : STORE_GROUP_MAX;
    rc = bus_worker_new(zctx, &opts->bus, def->name, capacity, &rt.worker);
    if (rc != 0) {
        log_error(def->name, "start.fail", "step=worker status=%s", es_status_name(rc));
        goto destroy_authz;
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
        /* Decisions last before sleeping: the consent client's fd is
         * edge-triggered, and nothing touches its socket from here to the
         * poll. */
        svc_access_collect(&rt);
        if (rt.n_ready == 0 && rt.n_backlog == 0 && !s_pending(bus_worker_socket(rt.worker))) {
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
            int deadline = authz_timeout_ms(rt.az);
            if (deadline >= 0 && deadline < timeout)
                timeout = deadline;
        }
        /* Subscriptions queue until the publisher reads them (bus.h): a
         * service with nothing to publish reads them here, at least every
         * heartbeat. */
        if (rt.pub && bus_pub_pump(rt.pub) != 0)
            log_warn(def->name, "events.pump_failed", "errno=%d", zmq_errno());
        /* The socket changes when the worker reconnects, and is NULL while
         * it cannot: fetch it every turn. */
        void *sock = bus_worker_socket(rt.worker);
        zmq_pollitem_t items[3];
        int nitems = 0, isock = -1, istop = -1;
        if (opts->stop_fd >= 0) {
            istop = nitems++;
            items[istop] = (zmq_pollitem_t){NULL, opts->stop_fd, ZMQ_POLLIN, 0};
        }
        if (sock) {
            isock = nitems++;
            items[isock] = (zmq_pollitem_t){sock, 0, ZMQ_POLLIN, 0};
        }
        int azfd = authz_fd(rt.az);
        if (azfd >= 0)
            items[nitems++] = (zmq_pollitem_t){NULL, azfd, ZMQ_POLLIN, 0};
        int prc = nitems > 0 ? zmq_poll(items, nitems, timeout) : zmq_poll(NULL, 0, timeout);
        if (prc < 0) {
            if (errno == EINTR)
                continue;
            log_error(def->name, "poll.fail", "errno=%d", errno);
            break;
        }
        if (istop >= 0 && (items[istop].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
            break;
        if ((isock >= 0 && (items[isock].revents & ZMQ_POLLIN)) || rt.n_ready > 0 ||
            rt.n_backlog > 0)
            s_batch(&rt);
        if (!announced && bus_worker_registered(rt.worker)) {
            announced = 1;
            log_info(def->name, "ready", "capacity=%" PRIu32, capacity);
            s_ready(opts->ready_fd);
        }
    }
    s_abandon(&rt);
    rc = ES_OK;
    log_info(def->name, "stop", "served=%" PRIu64 " expired=%" PRIu64, rt.served, rt.expired);

    bus_pub_destroy(&rt.pub);
destroy_worker:
    bus_worker_destroy(&rt.worker);
destroy_authz:
    authz_destroy(&rt.az);
fini:
    if (inited && def->fini)
        def->fini(rt.state);
close_store:
    store_close(&rt.store);
free_slots:
    free(rt.slots);
term_ctx:
    if (zctx != opts->zctx)
        zmq_ctx_term(zctx); /* after fini: init may have opened sockets in it */
    return rc;
}
