/*
 * test_service.c - runtime/service.c: svc_run with a real broker, a real
 * LMDB store and real ipc sockets, serving the counter service
 * (counter_fixture.h): the loop (method, body and caller checks before a
 * handler runs), group commit (a failed write discards only its own),
 * clean stop and restart (committed writes survive), the start-up
 * failures, and svc_def_check of a method table against the schema.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus/codec.h"
#include "espace/v1/agenda.pb-c.h"
#include "process/log.h"
#include "proto/status.h"
#include "test/unit/runtime/counter_fixture.h"

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
    cnt_fix_t *f = *state;
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
        int rc = bus_client_send(f->client, "counter", "Add", &p.base, 10000, cnt_patient(),
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
        if (codec_decode(CNT_PERIOD, r.body, r.body_len, 0, &m, NULL) == 0)
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
    int grc = err[0] ? 0 : cnt_call(f, "Get", 0, 7, cnt_patient(), &v, NULL);
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
    cnt_fix_t *f = *state;
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    assert_int_equal(cnt_call(f, "Nope", 0, 0, cnt_patient(), NULL, &r), ES_UNIMPLEMENTED);
    assert_string_equal(r.message, "unknown method");
    /* Method checks come first: even without a session. */
    assert_int_equal(cnt_call(f, "Nope", 0, 0, NULL, NULL, NULL), ES_UNIMPLEMENTED);
}

static void test_bad_body(void **state)
{
    cnt_fix_t *f = *state;
    /* Status.message is a string (wire type 2) in field 2, where Period has
     * an int64: the body does not decode as a Period. */
    Espace__V1__Status st = ESPACE__V1__STATUS__INIT;
    st.message = "not a period";
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = bus_call(f->client, "counter", "Add", &st.base, CNT_PERIOD, 5000, cnt_patient(), NULL, &r);
    assert_int_equal(rc, ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "body");
    /* Nothing was written. */
    assert_int_equal(cnt_call(f, "Get", 0, 0, cnt_patient(), NULL, NULL), ES_NOT_FOUND);
}

static void test_auth(void **state)
{
    cnt_fix_t *f = *state;
    int64_t v = 0;
    /* No session: UNAUTHENTICATED, except for public methods. */
    assert_int_equal(cnt_call(f, "Add", 1, 2, NULL, NULL, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(cnt_call(f, "Get", 0, 2, NULL, NULL, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(cnt_call(f, "Admin", 0, 0, NULL, NULL, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(cnt_call(f, "Ping", 0, 0, NULL, &v, NULL), 0);
    assert_int_equal(v, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE);
    /* Operator methods. */
    assert_int_equal(cnt_call(f, "Admin", 0, 0, cnt_patient(), NULL, NULL), ES_PERMISSION_DENIED);
    assert_int_equal(cnt_call(f, "Admin", 0, 0, cnt_operator(), &v, NULL), 0);
    assert_int_equal(v, 4242);
    /* The refused Add wrote nothing. */
    assert_int_equal(cnt_call(f, "Get", 0, 2, cnt_patient(), NULL, NULL), ES_NOT_FOUND);
}

/* Failing and succeeding writes in one group: each keeps its own fate. */
static void test_mixed_group(void **state)
{
    cnt_fix_t *f = *state;
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
                                         cnt_patient(), &ids[i]),
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
    assert_int_equal(cnt_call(f, "Get", 0, 20, cnt_patient(), &v, NULL), 0);
    assert_int_equal(v, 2);
    assert_int_equal(cnt_call(f, "Get", 0, 21, cnt_patient(), NULL, NULL), ES_NOT_FOUND);
    assert_int_equal(cnt_call(f, "Get", 0, 22, cnt_patient(), &v, NULL), 0);
    assert_int_equal(v, 6);
    assert_int_equal(cnt_call(f, "Get", 0, 23, cnt_patient(), NULL, NULL), ES_NOT_FOUND);
}

static void test_restart_durable(void **state)
{
    cnt_fix_t *f = *state;
    int64_t v = 0;
    assert_int_equal(cnt_call(f, "Add", 41, 30, cnt_patient(), &v, NULL), 0);
    assert_int_equal(cnt_call(f, "FailKeep", 12, 31, cnt_patient(), NULL, NULL),
                     ES_UNAUTHENTICATED);

    /* Clean stop: svc_run returns 0 and calls fini. */
    assert_int_equal(h_svc_stop(&f->svc), 0);
    assert_int_equal(atomic_load(&cnt_finis), 1);

    /* Without its worker the service is unreachable. */
    int rc = cnt_call(f, "Get", 0, 30, cnt_patient(), NULL, NULL);
    assert_true(rc == ES_UNAVAILABLE || rc == ES_DEADLINE_EXCEEDED);

    cnt_svc_start(f);
    cnt_wait_service(f);
    assert_int_equal(atomic_load(&cnt_inits), 2);
    assert_int_equal(cnt_call(f, "Get", 0, 30, cnt_patient(), &v, NULL), 0);
    assert_int_equal(v, 41);
    assert_int_equal(cnt_call(f, "Get", 0, 31, cnt_patient(), &v, NULL), 0);
    assert_int_equal(v, 12);
}

/* Stop while requests are in flight: svc_run still returns 0 promptly. */
static void test_stop_under_load(void **state)
{
    cnt_fix_t *f = *state;
    for (int i = 0; i < 100; i++) {
        Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
        p.start_ms = 1;
        p.end_ms = 40;
        uint64_t id;
        assert_int_equal(
            bus_client_send(f->client, "counter", "Add", &p.base, 2000, cnt_patient(), &id), 0);
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
    cnt_svc_start(f);
    cnt_wait_service(f);
    int64_t v = 0;
    int rc = cnt_call(f, "Get", 0, 40, cnt_patient(), &v, NULL);
    if (rc == ES_NOT_FOUND) {
        assert_int_equal(ok, 0);
    } else {
        assert_int_equal(rc, 0);
        assert_true(v >= ok && v <= 100);
    }
}

/* ---- start-up ---- */

static void test_start_errors(void **state)
{
    (void)state;
    svc_opts_t o;
    memset(&o, 0, sizeof o);
    o.stop_fd = -1;
    o.ready_fd = -1;
    assert_int_equal(svc_run(NULL, &o), ES_INVALID_ARGUMENT);
    assert_int_equal(svc_run(&cnt_service, NULL), ES_INVALID_ARGUMENT);
    assert_int_equal(svc_run(&cnt_service, &o), ES_INVALID_ARGUMENT); /* no data_dir */

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
    int rc = svc_run(&cnt_service, &o);
    assert_true(rc < 0);

    /* init fails: its status comes back, fini is not called. */
    atomic_store(&cnt_inits, 0);
    atomic_store(&cnt_finis, 0);
    atomic_store(&cnt_init_fail, 1);
    o.data_dir = dir;
    assert_int_equal(svc_run(&cnt_service, &o), ES_FAILED_PRECONDITION);
    assert_int_equal(atomic_load(&cnt_finis), 0);
    atomic_store(&cnt_init_fail, 0);

    /* A bad bus endpoint: fails after init, and fini runs. */
    o.bus.endpoint = "nonsense://x";
    rc = svc_run(&cnt_service, &o);
    assert_true(rc < 0);
    assert_int_equal(atomic_load(&cnt_inits), 1);
    assert_int_equal(atomic_load(&cnt_finis), 1);

    h_rmtree(dir);
}

/* A method table is checked against the service block of the schema. */
static void test_api_check(void **state)
{
    (void)state;
    char why[256];
    svc_def_t d = cnt_service;
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_OK); /* no api: test service */
    d.api = &espace__v1__agenda__descriptor;
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
    assert_non_null(strstr(why, "method Ping is not an rpc of espace.v1.Agenda"));

    const ProtobufCServiceDescriptor *api = &espace__v1__agenda__descriptor;
    svc_method_t m[32];
    size_t n = cnt_methods_of(api, m);
    d.methods = m;
    d.n_methods = n;
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_OK);
    d.n_methods = n - 1; /* the last rpc has no method */
    assert_int_equal(svc_def_check(&d, why, sizeof why), ES_INTERNAL);
    assert_non_null(strstr(why, "has no method"));
    d.n_methods = n;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_commit, cnt_setup, cnt_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_method, cnt_setup, cnt_teardown),
        cmocka_unit_test_setup_teardown(test_bad_body, cnt_setup, cnt_teardown),
        cmocka_unit_test_setup_teardown(test_auth, cnt_setup, cnt_teardown),
        cmocka_unit_test_setup_teardown(test_mixed_group, cnt_setup, cnt_teardown),
        cmocka_unit_test_setup_teardown(test_restart_durable, cnt_setup, cnt_teardown),
        cmocka_unit_test_setup_teardown(test_stop_under_load, cnt_setup, cnt_teardown),
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test(test_api_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
