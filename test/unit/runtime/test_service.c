/*
 * test_runtime.c - runtime/service.c: svc_run with a real broker, a real
 * LMDB store and real ipc sockets.
 *
 * Each test starts broker_run in a thread on ipc endpoints under a mkdtemp
 * folder, then svc_run of a tiny "counter" service in another thread (each
 * with its own stop pipe; broker_harness.h), and talks to it with a
 * bus_client (local peer, so it stamps its own Caller frame).
 *
 * The counter service: table "counter", keys are be64(Period.end_ms),
 * values be64 counters.
 *   Ping      public read: reply Period{start_ms = caller kind}
 *   Add       write: counter[end_ms] += start_ms, reply the new value
 *   Get       read: reply counter[end_ms], NOT_FOUND if absent
 *   Fail      write: put, then `return svc_fail(...)` -> write discarded
 *   FailKeep  write: put, then svc_fail(...); return 0 -> write kept
 *   Raw       write: put, then return ES_ABORTED without svc_fail
 *   Admin     operator-only read
 *   Emit      write: publishes start_ms events "counter.emitted"
 *   EmitFail  write: publishes, then fails -> no event
 *   Big       read: replies a body over the bus limit
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

#include "test/harness/harness.h"
#include "bus/codec.h"
#include "espace/v1/agenda.pb-c.h"
#include "process/log.h"
#include "runtime/service.h"
#include "proto/status.h"
#include "storage/store.h"

#define HB_MS 500
#define TOPIC "counter.emitted"

/* ---------------------------------------------------------------- service */

static atomic_int s_inits;
static atomic_int s_finis;
static atomic_int s_init_fail; /* 1: init returns ES_INTERNAL */

typedef struct counter_state {
    int magic;
} counter_state_t;

static int c_init(const svc_env_t *env, void **state)
{
    if (!env || !env->store || !env->data_dir)
        return ES_INTERNAL;
    if (atomic_load(&s_init_fail))
        return ES_FAILED_PRECONDITION;
    counter_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return ES_RESOURCE_EXHAUSTED;
    st->magic = 0x5eed;
    *state = st;
    atomic_fetch_add(&s_inits, 1);
    return 0;
}

static void c_fini(void *state)
{
    counter_state_t *st = state;
    if (st && st->magic == 0x5eed)
        atomic_fetch_add(&s_finis, 1);
    free(st);
}

static int s_reply_value(svc_call_t *call, int64_t v)
{
    Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
    p.start_ms = v;
    return svc_reply(call, &p.base);
}

static int s_read(store_txn_t *txn, int64_t key, int64_t *out)
{
    uint8_t k[8];
    store_be64_put(k, (uint64_t)key);
    const void *v;
    size_t vl;
    int rc = store_get(txn, "counter", k, sizeof k, &v, &vl);
    if (rc != 0)
        return rc;
    if (vl != 8)
        return ES_INTERNAL;
    *out = (int64_t)store_be64_get(v);
    return 0;
}

static int s_write(store_txn_t *txn, int64_t key, int64_t val)
{
    uint8_t k[8], v[8];
    store_be64_put(k, (uint64_t)key);
    store_be64_put(v, (uint64_t)val);
    return store_put(txn, "counter", k, sizeof k, v, sizeof v);
}

static int h_ping(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
{
    (void)req;
    (void)txn;
    counter_state_t *st = state;
    if (!st || st->magic != 0x5eed)
        return ES_INTERNAL;
    return s_reply_value(call, svc_caller(call)->kind);
}

static int h_add(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
{
    (void)state;
    const Espace__V1__Period *p = (const Espace__V1__Period *)req;
    int64_t cur = 0;
    int rc = s_read(txn, p->end_ms, &cur);
    if (rc != 0 && rc != ES_NOT_FOUND)
        return rc;
    cur += p->start_ms;
    if ((rc = s_write(txn, p->end_ms, cur)) != 0)
        return rc;
    if (svc_now_ms(call) <= 0)
        return svc_fail(call, ES_INTERNAL, NULL, "no clock");
    return s_reply_value(call, cur);
}

static int h_get(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
{
    (void)state;
    const Espace__V1__Period *p = (const Espace__V1__Period *)req;
    int64_t cur = 0;
    int rc = s_read(txn, p->end_ms, &cur);
    if (rc == ES_NOT_FOUND)
        return svc_fail(call, ES_NOT_FOUND, "end_ms", "no counter %lld", (long long)p->end_ms);
    if (rc != 0)
        return rc;
    return s_reply_value(call, cur);
}

static int h_fail(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
{
    (void)state;
    const Espace__V1__Period *p = (const Espace__V1__Period *)req;
    int rc = s_write(txn, p->end_ms, p->start_ms);
    if (rc != 0)
        return rc;
    s_reply_value(call, 1); /* dropped: the call fails */
    return svc_fail(call, ES_FAILED_PRECONDITION, "start_ms", "refused %d of %s", 7, "seven");
}

static int h_fail_keep(void *state, svc_call_t *call, const ProtobufCMessage *req,
                       store_txn_t *txn)
{
    (void)state;
    const Espace__V1__Period *p = (const Espace__V1__Period *)req;
    int rc = s_write(txn, p->end_ms, p->start_ms);
    if (rc != 0)
        return rc;
    svc_fail(call, ES_UNAUTHENTICATED, NULL, "bad password");
    return 0;
}

static int h_raw(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
{
    (void)state;
    (void)call;
    const Espace__V1__Period *p = (const Espace__V1__Period *)req;
    int rc = s_write(txn, p->end_ms, p->start_ms);
    if (rc != 0)
        return rc;
    return ES_ABORTED;
}

static int h_admin(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
{
    (void)state;
    (void)req;
    (void)txn;
    return s_reply_value(call, 4242);
}

static int h_emit(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
{
    (void)state;
    (void)txn;
    const Espace__V1__Period *p = (const Espace__V1__Period *)req;
    for (int64_t i = 0; i < p->start_ms; i++) {
        Espace__V1__Period e = ESPACE__V1__PERIOD__INIT;
        e.start_ms = i;
        e.end_ms = p->end_ms;
        int rc = svc_publish(call, TOPIC, &e.base);
        if (rc != 0)
            return rc;
    }
    return s_reply_value(call, p->start_ms);
}

static int h_emit_fail(void *state, svc_call_t *call, const ProtobufCMessage *req,
                       store_txn_t *txn)
{
    (void)state;
    (void)txn;
    const Espace__V1__Period *p = (const Espace__V1__Period *)req;
    Espace__V1__Period e = ESPACE__V1__PERIOD__INIT;
    e.end_ms = p->end_ms;
    int rc = svc_publish(call, TOPIC, &e.base);
    if (rc != 0)
        return rc;
    return svc_fail(call, ES_ABORTED, NULL, "changed my mind");
}

static int h_big(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
{
    (void)state;
    (void)req;
    (void)txn;
    size_t n = BUS_MAX_MSG + 16;
    char *s = malloc(n + 1);
    if (!s)
        return ES_RESOURCE_EXHAUSTED;
    memset(s, 'x', n);
    s[n] = '\0';
    Espace__V1__Status st = ESPACE__V1__STATUS__INIT;
    st.message = s;
    int rc = svc_reply(call, &st.base);
    free(s);
    return rc; /* ES_TOO_LARGE, reported as the status */
}

#define PERIOD (&espace__v1__period__descriptor)

static const svc_method_t s_methods[] = {
    {"Ping", PERIOD, h_ping, SVC_PUBLIC},
    {"Add", PERIOD, h_add, SVC_WRITE},
    {"Get", PERIOD, h_get, 0},
    {"Fail", PERIOD, h_fail, SVC_WRITE},
    {"FailKeep", PERIOD, h_fail_keep, SVC_WRITE},
    {"Raw", PERIOD, h_raw, SVC_WRITE},
    {"Admin", PERIOD, h_admin, SVC_OPERATOR},
    {"Emit", PERIOD, h_emit, SVC_WRITE},
    {"EmitFail", PERIOD, h_emit_fail, SVC_WRITE},
    {"Big", PERIOD, h_big, 0},
};

static const char *s_tables[] = {"counter", NULL};

static const svc_def_t s_def = {
    .name = "counter",
    .tables = s_tables,
    .methods = s_methods,
    .n_methods = sizeof s_methods / sizeof s_methods[0],
    .init = c_init,
    .fini = c_fini,
};

/* ---------------------------------------------------------------- fixture */

typedef struct fix {
    harness_t h;   /* broker thread, folder, endpoints, context */
    h_svc_t svc;   /* the counter service thread */
    bus_client_t *client;
} fix_t;

static void s_svc_start(fix_t *f)
{
    assert_int_equal(h_svc_start(&f->h, &f->svc, &s_def), 0);
}

static const Espace__V1__Caller *s_patient(void)
{
    static Espace__V1__Caller c;
    c = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT,
                 "0123456789abcdef0123456789abcdef");
    return &c;
}

static const Espace__V1__Caller *s_operator(void)
{
    static Espace__V1__Caller c;
    c = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "operator");
    return &c;
}

/* Call a counter method with Period{start, end}. Returns the status; *value
 * gets the reply's start_ms on success. */
static int s_call(fix_t *f, const char *method, int64_t start, int64_t end,
                  const Espace__V1__Caller *caller, int64_t *value, bus_reply_t *r)
{
    Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
    p.start_ms = start;
    p.end_ms = end;
    ProtobufCMessage *out = NULL;
    int rc = bus_call(f->client, "counter", method, &p.base, PERIOD, 5000, caller, &out, r);
    if (rc == 0) {
        assert_non_null(out);
        if (value)
            *value = ((Espace__V1__Period *)out)->start_ms;
        codec_free(out);
    }
    return rc;
}

/* Until the broker knows the worker: the first calls may find no worker. */
static void s_wait_service(fix_t *f)
{
    Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
    assert_int_equal(
        h_call_served(f->client, "counter", "Ping", &p.base, PERIOD, 500, NULL, NULL, NULL), 0);
}

static int s_setup(void **state)
{
    fix_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(h_setup(&f->h, 0), 0);
    f->h.hb = HB_MS;
    assert_int_equal(h_broker_start(&f->h), 0);

    atomic_store(&s_inits, 0);
    atomic_store(&s_finis, 0);
    atomic_store(&s_init_fail, 0);
    s_svc_start(f);

    assert_int_equal(h_client(&f->h, &f->client), 0);
    s_wait_service(f);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fix_t *f = *state;
    bus_client_destroy(&f->client);
    assert_int_equal(h_svc_stop(&f->svc), 0);
    assert_int_equal(h_teardown(&f->h), 0);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------ tests */

static void test_reply_and_read(void **state)
{
    fix_t *f = *state;
    int64_t v = 0;
    assert_int_equal(atomic_load(&s_inits), 1);
    assert_int_equal(s_call(f, "Add", 5, 1, s_patient(), &v, NULL), 0);
    assert_int_equal(v, 5);
    assert_int_equal(s_call(f, "Add", 3, 1, s_patient(), &v, NULL), 0);
    assert_int_equal(v, 8);
    assert_int_equal(s_call(f, "Get", 0, 1, s_patient(), &v, NULL), 0);
    assert_int_equal(v, 8);
    /* The handler sees the caller stamped by the broker. */
    assert_int_equal(s_call(f, "Ping", 0, 0, s_patient(), &v, NULL), 0);
    assert_int_equal(v, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT);
    /* svc_fail from a read handler: status, field and formatted message. */
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(s_call(f, "Get", 0, 99, s_patient(), &v, &r), ES_NOT_FOUND);
    assert_string_equal(r.field, "end_ms");
    assert_string_equal(r.message, "no counter 99");
}

/* stderr into a temporary file, to read the runtime's log lines. */
typedef struct capture {
    char path[64];
    int saved;
} capture_t;

static void s_capture_begin(capture_t *cap)
{
    snprintf(cap->path, sizeof cap->path, "/tmp/es_rt_log_XXXXXX");
    int fd = mkstemp(cap->path);
    assert_true(fd >= 0);
    fflush(stderr);
    cap->saved = dup(STDERR_FILENO);
    assert_true(cap->saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    close(fd);
}

/* Restore stderr; returns the captured text (malloc'd). */
static char *s_capture_end(capture_t *cap)
{
    assert_true(dup2(cap->saved, STDERR_FILENO) >= 0);
    close(cap->saved);
    FILE *fp = fopen(cap->path, "r");
    assert_non_null(fp);
    size_t cap_len = 1 << 20, n = 0;
    char *buf = malloc(cap_len + 1);
    assert_non_null(buf);
    n = fread(buf, 1, cap_len, fp);
    buf[n] = '\0';
    fclose(fp);
    unlink(cap->path);
    return buf;
}

static void test_group_commit(void **state)
{
    fix_t *f = *state;
    enum { N = 200 };
    uint64_t ids[N];
    capture_t cap;
    char err[512] = "";
    int seen[N + 1];
    memset(seen, 0, sizeof seen);
    int got = 0;
    int64_t v = 0;
    /* stderr is captured: record the first problem, assert after. */
    log_set_level(LOG_DEBUG);
    s_capture_begin(&cap);
    for (int i = 0; i < N && !err[0]; i++) {
        Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
        p.start_ms = 1;
        p.end_ms = 7;
        int rc = bus_client_send(f->client, "counter", "Add", &p.base, 10000, s_patient(),
                                 &ids[i]);
        if (rc != 0)
            snprintf(err, sizeof err, "send %d: %s", i, es_status_name(rc));
    }
    for (int tries = 0; !err[0] && got < N && tries < 2 * N; tries++) {
        bus_reply_t r;
        memset(&r, 0, sizeof r);
        int rc = bus_client_recv(f->client, 10000, &r);
        if (rc != 0 || r.status != 0) {
            snprintf(err, sizeof err, "reply %d: rc=%s status=%s msg=%s", got,
                     es_status_name(rc), es_status_name(r.status), r.message);
            bus_reply_clear(&r);
            break;
        }
        int known = 0;
        for (int i = 0; i < N; i++)
            known |= ids[i] == r.id;
        ProtobufCMessage *m = NULL;
        int64_t val = -1;
        if (codec_decode(PERIOD, r.body, r.body_len, 0, &m, NULL) == 0)
            val = ((Espace__V1__Period *)m)->start_ms;
        codec_free(m);
        bus_reply_clear(&r);
        /* Each Add saw every Add before it: the values are 1..N, once each. */
        if (!known || val < 1 || val > N || seen[val]) {
            snprintf(err, sizeof err, "reply %d: known=%d value=%lld", got, known,
                     (long long)val);
            break;
        }
        seen[val] = 1;
        got++;
    }
    int grc = err[0] ? 0 : s_call(f, "Get", 0, 7, s_patient(), &v, NULL);
    char *out = s_capture_end(&cap);
    log_set_level(LOG_WARN);
    if (err[0]) {
        /* Show what the broker and the service said (not the debug lines). */
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
            if (!strstr(line, "event=request"))
                printf("  log: %s\n", line);
        free(out);
        fail_msg("%s", err);
    }
    assert_int_equal(got, N);
    assert_int_equal(grc, 0);
    assert_int_equal(v, N);

    /* Group commit happened: some batch ran several writes in one group. */
    size_t most = 0, adds = 0;
    for (const char *p = out; (p = strstr(p, "event=batch ")) != NULL; p++) {
        const char *w = strstr(p, "writes=");
        assert_non_null(w);
        size_t k = strtoul(w + 7, NULL, 10);
        if (k > most)
            most = k;
    }
    assert_true(most > 1);
    /* One debug line per request. */
    for (const char *p = out; (p = strstr(p, "comp=counter event=request method=\"Add\" rid="));
         p++) {
        const char *e = strchr(p, '\n');
        assert_non_null(e);
        assert_non_null(strstr(p, " status=OK us="));
        assert_true(strstr(p, " status=OK us=") < e);
        adds++;
    }
    assert_int_equal(adds, N);
    free(out);
}

static void test_unknown_method(void **state)
{
    fix_t *f = *state;
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(s_call(f, "Nope", 0, 0, s_patient(), NULL, &r), ES_UNIMPLEMENTED);
    assert_string_equal(r.message, "unknown method");
    /* Method checks come first: even without a session. */
    assert_int_equal(s_call(f, "Nope", 0, 0, NULL, NULL, NULL), ES_UNIMPLEMENTED);
}

static void test_bad_body(void **state)
{
    fix_t *f = *state;
    /* Status.message is a string (wire type 2) in field 2, where Period has
     * an int64: the body does not decode as a Period. */
    Espace__V1__Status st = ESPACE__V1__STATUS__INIT;
    st.message = "not a period";
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = bus_call(f->client, "counter", "Add", &st.base, PERIOD, 5000, s_patient(), NULL, &r);
    assert_int_equal(rc, ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "body");
    /* Nothing was written. */
    assert_int_equal(s_call(f, "Get", 0, 0, s_patient(), NULL, NULL), ES_NOT_FOUND);
}

static void test_auth(void **state)
{
    fix_t *f = *state;
    int64_t v = 0;
    /* No session: UNAUTHENTICATED, except for public methods. */
    assert_int_equal(s_call(f, "Add", 1, 2, NULL, NULL, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(s_call(f, "Get", 0, 2, NULL, NULL, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(s_call(f, "Admin", 0, 0, NULL, NULL, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(s_call(f, "Ping", 0, 0, NULL, &v, NULL), 0);
    assert_int_equal(v, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE);
    /* Operator methods. */
    assert_int_equal(s_call(f, "Admin", 0, 0, s_patient(), NULL, NULL), ES_PERMISSION_DENIED);
    assert_int_equal(s_call(f, "Admin", 0, 0, s_operator(), &v, NULL), 0);
    assert_int_equal(v, 4242);
    /* The refused Add wrote nothing. */
    assert_int_equal(s_call(f, "Get", 0, 2, s_patient(), NULL, NULL), ES_NOT_FOUND);
}

static void test_fail_discards(void **state)
{
    fix_t *f = *state;
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(s_call(f, "Fail", 9, 3, s_patient(), NULL, &r), ES_FAILED_PRECONDITION);
    assert_string_equal(r.message, "refused 7 of seven");
    assert_string_equal(r.field, "start_ms");
    assert_int_equal(s_call(f, "Get", 0, 3, s_patient(), NULL, NULL), ES_NOT_FOUND);

    /* A bare error return: its code with a generic message, write discarded. */
    memset(&r, 0, sizeof r);
    assert_int_equal(s_call(f, "Raw", 9, 4, s_patient(), NULL, &r), ES_ABORTED);
    assert_string_equal(r.message, es_strerror(ES_ABORTED));
    assert_string_equal(r.field, "");
    assert_int_equal(s_call(f, "Get", 0, 4, s_patient(), NULL, NULL), ES_NOT_FOUND);
}

static void test_fail_keep(void **state)
{
    fix_t *f = *state;
    int64_t v = 0;
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(s_call(f, "FailKeep", 11, 5, s_patient(), NULL, &r), ES_UNAUTHENTICATED);
    assert_string_equal(r.message, "bad password");
    assert_int_equal(s_call(f, "Get", 0, 5, s_patient(), &v, NULL), 0);
    assert_int_equal(v, 11);
}

/* Failing and succeeding writes in one group: each keeps its own fate. */
static void test_mixed_group(void **state)
{
    fix_t *f = *state;
    struct {
        const char *m;
        int64_t start, key;
        int want;
    } plan[] = {
        {"Add", 1, 20, 0},         {"Fail", 5, 21, ES_FAILED_PRECONDITION},
        {"Add", 1, 20, 0},         {"FailKeep", 6, 22, ES_UNAUTHENTICATED},
        {"Raw", 5, 23, ES_ABORTED}, {"Get", 0, 20, 0},
        {"Nope", 0, 0, ES_UNIMPLEMENTED},
    };
    enum { N = sizeof plan / sizeof plan[0] };
    uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
        p.start_ms = plan[i].start;
        p.end_ms = plan[i].key;
        assert_int_equal(bus_client_send(f->client, "counter", plan[i].m, &p.base, 5000,
                                         s_patient(), &ids[i]),
                         0);
    }
    for (int got = 0; got < N; got++) {
        bus_reply_t r;
        memset(&r, 0, sizeof r);
        assert_int_equal(bus_client_recv(f->client, 5000, &r), 0);
        int i = 0;
        while (i < N && ids[i] != r.id)
            i++;
        assert_true(i < N);
        assert_int_equal(r.status, plan[i].want);
        if (r.status != 0)
            assert_null(r.body);
        bus_reply_clear(&r);
    }
    int64_t v = 0;
    assert_int_equal(s_call(f, "Get", 0, 20, s_patient(), &v, NULL), 0);
    assert_int_equal(v, 2);
    assert_int_equal(s_call(f, "Get", 0, 21, s_patient(), NULL, NULL), ES_NOT_FOUND);
    assert_int_equal(s_call(f, "Get", 0, 22, s_patient(), &v, NULL), 0);
    assert_int_equal(v, 6);
    assert_int_equal(s_call(f, "Get", 0, 23, s_patient(), NULL, NULL), ES_NOT_FOUND);
}

static void test_events(void **state)
{
    fix_t *f = *state;
    bus_sub_t *sub = NULL;
    assert_int_equal(h_sub(&f->h, &sub), 0);
    assert_int_equal(bus_subscribe(sub, "counter."), 0);

    /* Subscriptions propagate asynchronously: emit until one arrives. */
    char topic[BUS_MAX_TOPIC + 1];
    Espace__V1__Event *ev = NULL;
    int got = 0;
    for (int i = 0; i < 100 && !got; i++) {
        assert_int_equal(s_call(f, "Emit", 1, 100, s_patient(), NULL, NULL), 0);
        got = bus_sub_recv(sub, 100, topic, &ev) == 0;
    }
    assert_true(got);
    assert_string_equal(topic, TOPIC);
    codec_free(&ev->base);
    ev = NULL;
    /* Drain the extra ones from the warm-up. */
    while (bus_sub_recv(sub, 200, topic, &ev) == 0) {
        codec_free(&ev->base);
        ev = NULL;
    }

    /* A failed call publishes nothing; a good one publishes all it queued,
     * in order, after the failed one was answered. */
    assert_int_equal(s_call(f, "EmitFail", 0, 666, s_patient(), NULL, NULL), ES_ABORTED);
    assert_int_equal(s_call(f, "Emit", 3, 777, s_patient(), NULL, NULL), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(bus_sub_recv(sub, 2000, topic, &ev), 0);
        assert_string_equal(topic, TOPIC);
        assert_string_equal(ev->topic, TOPIC);
        assert_true(ev->at_ms > 0);
        ProtobufCMessage *m = NULL;
        assert_int_equal(codec_decode(PERIOD, ev->body.data, ev->body.len, 0, &m, NULL), 0);
        Espace__V1__Period *p = (Espace__V1__Period *)m;
        assert_int_equal(p->end_ms, 777); /* never 666 */
        assert_int_equal(p->start_ms, i);
        codec_free(m);
        codec_free(&ev->base);
        ev = NULL;
    }
    assert_int_equal(bus_sub_recv(sub, 200, topic, &ev), ES_DEADLINE_EXCEEDED);

    /* Over SVC's per-call bound: the handler's svc_publish fails, the call
     * fails, and nothing is published. */
    assert_int_equal(s_call(f, "Emit", 17, 888, s_patient(), NULL, NULL),
                     ES_RESOURCE_EXHAUSTED);
    assert_int_equal(s_call(f, "Emit", 16, 889, s_patient(), NULL, NULL), 0);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(bus_sub_recv(sub, 2000, topic, &ev), 0);
        ProtobufCMessage *m = NULL;
        assert_int_equal(codec_decode(PERIOD, ev->body.data, ev->body.len, 0, &m, NULL), 0);
        assert_int_equal(((Espace__V1__Period *)m)->end_ms, 889);
        codec_free(m);
        codec_free(&ev->base);
        ev = NULL;
    }
    bus_sub_destroy(&sub);
}

static void test_reply_too_large(void **state)
{
    fix_t *f = *state;
    assert_int_equal(s_call(f, "Big", 0, 0, s_patient(), NULL, NULL), ES_TOO_LARGE);
    /* The service is still fine. */
    assert_int_equal(s_call(f, "Ping", 0, 0, s_patient(), NULL, NULL), 0);
}

static void test_restart_durable(void **state)
{
    fix_t *f = *state;
    int64_t v = 0;
    assert_int_equal(s_call(f, "Add", 41, 30, s_patient(), &v, NULL), 0);
    assert_int_equal(s_call(f, "FailKeep", 12, 31, s_patient(), NULL, NULL),
                     ES_UNAUTHENTICATED);

    /* Clean stop: svc_run returns 0 and calls fini. */
    assert_int_equal(h_svc_stop(&f->svc), 0);
    assert_int_equal(atomic_load(&s_finis), 1);

    /* Without its worker the service is unreachable. */
    int rc = s_call(f, "Get", 0, 30, s_patient(), NULL, NULL);
    assert_true(rc == ES_UNAVAILABLE || rc == ES_DEADLINE_EXCEEDED);

    s_svc_start(f);
    s_wait_service(f);
    assert_int_equal(atomic_load(&s_inits), 2);
    assert_int_equal(s_call(f, "Get", 0, 30, s_patient(), &v, NULL), 0);
    assert_int_equal(v, 41);
    assert_int_equal(s_call(f, "Get", 0, 31, s_patient(), &v, NULL), 0);
    assert_int_equal(v, 12);
}

/* Stop while requests are in flight: svc_run still returns 0 promptly. */
static void test_stop_under_load(void **state)
{
    fix_t *f = *state;
    for (int i = 0; i < 100; i++) {
        Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
        p.start_ms = 1;
        p.end_ms = 40;
        uint64_t id;
        assert_int_equal(
            bus_client_send(f->client, "counter", "Add", &p.base, 2000, s_patient(), &id), 0);
    }
    assert_int_equal(h_svc_stop(&f->svc), 0);
    /* Every request gets exactly one answer: OK, or from the broker. */
    int ok = 0;
    for (int got = 0; got < 100; got++) {
        bus_reply_t r;
        memset(&r, 0, sizeof r);
        assert_int_equal(bus_client_recv(f->client, 5000, &r), 0);
        assert_true(r.status == 0 || r.status == ES_UNAVAILABLE ||
                    r.status == ES_DEADLINE_EXCEEDED);
        ok += r.status == 0;
        bus_reply_clear(&r);
    }
    /* The OK ones are exactly what was committed. */
    s_svc_start(f);
    s_wait_service(f);
    int64_t v = 0;
    int rc = s_call(f, "Get", 0, 40, s_patient(), &v, NULL);
    if (rc == ES_NOT_FOUND) {
        assert_int_equal(ok, 0);
    } else {
        assert_int_equal(rc, 0);
        assert_true(v >= ok && v <= 100);
    }
}

/* ------------------------------------------------------ start-up failures */

static void test_start_errors(void **state)
{
    (void)state;
    svc_opts_t o;
    memset(&o, 0, sizeof o);
    o.stop_fd = -1;
    o.ready_fd = -1;
    assert_int_equal(svc_run(NULL, &o), ES_INVALID_ARGUMENT);
    assert_int_equal(svc_run(&s_def, NULL), ES_INVALID_ARGUMENT);
    assert_int_equal(svc_run(&s_def, &o), ES_INVALID_ARGUMENT); /* no data_dir */

    char dir[64];
    assert_int_equal(h_mkdtemp(dir, "es_rt_"), 0);

    /* The data folder is a file: the store cannot open. */
    char file[128];
    snprintf(file, sizeof file, "%s/file", dir);
    int fd = open(file, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    o.data_dir = file;
    o.bus.endpoint = "ipc:///nonexistent/es_rt.ipc";
    o.no_sync = 1;
    int rc = svc_run(&s_def, &o);
    assert_true(rc < 0);

    /* init fails: its status comes back, fini is not called. */
    atomic_store(&s_inits, 0);
    atomic_store(&s_finis, 0);
    atomic_store(&s_init_fail, 1);
    o.data_dir = dir;
    assert_int_equal(svc_run(&s_def, &o), ES_FAILED_PRECONDITION);
    assert_int_equal(atomic_load(&s_finis), 0);
    atomic_store(&s_init_fail, 0);

    /* A bad bus endpoint: fails after init, and fini runs. */
    o.bus.endpoint = "nonsense://x";
    rc = svc_run(&s_def, &o);
    assert_true(rc < 0);
    assert_int_equal(atomic_load(&s_inits), 1);
    assert_int_equal(atomic_load(&s_finis), 1);

    h_rmtree(dir);
}

/* A method table is checked against the service block of the schema. */
static void test_api_check(void **state)
{
    (void)state;
    char why[256];
    svc_def_t d = s_def;
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_OK); /* no api: test service */
    d.api = &espace__v1__agenda__descriptor;
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
    assert_non_null(strstr(why, "method Ping is not an rpc of espace.v1.Agenda"));

    const ProtobufCServiceDescriptor *api = &espace__v1__agenda__descriptor;
    svc_method_t m[32];
    assert_true(api->n_methods <= 32);
    for (unsigned i = 0; i < api->n_methods; i++)
        m[i] = (svc_method_t){api->methods[i].name, api->methods[i].input, h_get, 0};
    d.methods = m;
    d.n_methods = api->n_methods;
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_OK);
    d.n_methods = api->n_methods - 1; /* the last rpc has no method */
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
    assert_non_null(strstr(why, "has no method"));
    d.n_methods = api->n_methods;
    m[0].request = &espace__v1__agenda_get_request__descriptor; /* wrong request type */
    if (api->methods[0].input == m[0].request)
        m[0].request = &espace__v1__agenda_list_request__descriptor;
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
    assert_non_null(strstr(why, "takes"));

    /* svc_run refuses to start such a service. */
    svc_opts_t o;
    memset(&o, 0, sizeof o);
    o.data_dir = "/tmp";
    o.bus.endpoint = "ipc:///nonexistent";
    o.stop_fd = -1;
    assert_int_equal(svc_run(&d, &o), ES_INTERNAL);
}

/* Guards are checked: each names a method of the table, once, with a
 * request type, a category, an action, and paths to string fields. */
static void test_guard_check(void **state)
{
    (void)state;
    char why[256];
    const ProtobufCServiceDescriptor *api = &espace__v1__agenda__descriptor;
    svc_method_t m[32];
    assert_true(api->n_methods <= 32);
    for (unsigned i = 0; i < api->n_methods; i++)
        m[i] = (svc_method_t){api->methods[i].name, api->methods[i].input, h_get, 0};
    svc_def_t d = s_def;
    d.methods = m;
    d.n_methods = api->n_methods;
    d.api = api;
    svc_guard_t g[2] = {
        {"Get", ESPACE__V1__CATEGORY__CATEGORY_AGENDA, ESPACE__V1__ACTION__ACTION_READ,
         "patient_id", NULL},
        {"Create", ESPACE__V1__CATEGORY__CATEGORY_AGENDA, ESPACE__V1__ACTION__ACTION_WRITE,
         "event.patient_id", "event.title"},
    };
    d.guards = g;
    d.n_guards = 2;
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_OK);
    const char *bad[] = {"event.nope", "event", "patient_id.x", "", "event..title"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        g[1].patient_field = bad[i];
        assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
        assert_non_null(strstr(why, "not a string"));
    }
    g[1].patient_field = "patient_id";
    g[1].detail_field = "event.participants"; /* repeated */
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
    g[1].detail_field = NULL;
    g[1].method = "Get";
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
    assert_non_null(strstr(why, "two guards"));
    g[1].method = "Nope";
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
    assert_non_null(strstr(why, "names no method"));
    g[1].method = "Create";
    g[1].action = ESPACE__V1__ACTION__ACTION_UNSPECIFIED;
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
    assert_non_null(strstr(why, "category and an action"));
    g[1].action = ESPACE__V1__ACTION__ACTION_WRITE;
    d.api = NULL;        /* guards are checked without an api too */
    m[0].request = NULL; /* a guarded method needs a request type */
    g[1].method = m[0].name;
    g[1].patient_field = "patient_id";
    if (strcmp(m[0].name, "Get") != 0) {
        assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
        assert_non_null(strstr(why, "no request type"));
    }
    m[0].request = api->methods[0].input;
    d.guards = NULL;
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply_and_read, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_method, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_bad_body, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_auth, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fail_discards, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fail_keep, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_mixed_group, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_events, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reply_too_large, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_restart_durable, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_stop_under_load, s_setup, s_teardown),
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test(test_api_check),
        cmocka_unit_test(test_guard_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
