/* counter_fixture.c - the counter service and the fixture of counter_fixture.h. */
#include "test/unit/runtime/counter_fixture.h"

#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "proto/status.h"
#include "storage/store.h"

/* ---- the service ---- */

atomic_int cnt_inits;
atomic_int cnt_finis;
atomic_int cnt_init_fail;

typedef struct counter_state {
    int magic;
} counter_state_t;

static int c_init(const svc_env_t *env, void **state)
{
    if (!env || !env->store || !env->data_dir)
        return ES_INTERNAL;
    if (atomic_load(&cnt_init_fail))
        return ES_FAILED_PRECONDITION;
    counter_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return ES_RESOURCE_EXHAUSTED;
    st->magic = 0x5eed;
    *state = st;
    atomic_fetch_add(&cnt_inits, 1);
    return 0;
}

static void c_fini(void *state)
{
    counter_state_t *st = state;
    if (st && st->magic == 0x5eed)
        atomic_fetch_add(&cnt_finis, 1);
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

static int m_ping(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
{
    (void)req;
    (void)txn;
    counter_state_t *st = state;
    if (!st || st->magic != 0x5eed)
        return ES_INTERNAL;
    return s_reply_value(call, svc_caller(call)->kind);
}

static int m_add(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
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

static int m_get(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
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

static int m_fail(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
{
    (void)state;
    const Espace__V1__Period *p = (const Espace__V1__Period *)req;
    int rc = s_write(txn, p->end_ms, p->start_ms);
    if (rc != 0)
        return rc;
    s_reply_value(call, 1); /* dropped: the call fails */
    return svc_fail(call, ES_FAILED_PRECONDITION, "start_ms", "refused %d of %s", 7, "seven");
}

static int m_fail_keep(void *state, svc_call_t *call, const ProtobufCMessage *req,
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

static int m_raw(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
{
    (void)state;
    (void)call;
    const Espace__V1__Period *p = (const Espace__V1__Period *)req;
    int rc = s_write(txn, p->end_ms, p->start_ms);
    if (rc != 0)
        return rc;
    return ES_ABORTED;
}

static int m_admin(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
{
    (void)state;
    (void)req;
    (void)txn;
    return s_reply_value(call, 4242);
}

static int m_emit(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
{
    (void)state;
    (void)txn;
    const Espace__V1__Period *p = (const Espace__V1__Period *)req;
    for (int64_t i = 0; i < p->start_ms; i++) {
        Espace__V1__Period e = ESPACE__V1__PERIOD__INIT;
        e.start_ms = i;
        e.end_ms = p->end_ms;
        int rc = svc_publish(call, CNT_TOPIC, &e.base);
        if (rc != 0)
            return rc;
    }
    return s_reply_value(call, p->start_ms);
}

static int m_emit_fail(void *state, svc_call_t *call, const ProtobufCMessage *req,
                       store_txn_t *txn)
{
    (void)state;
    (void)txn;
    const Espace__V1__Period *p = (const Espace__V1__Period *)req;
    Espace__V1__Period e = ESPACE__V1__PERIOD__INIT;
    e.end_ms = p->end_ms;
    int rc = svc_publish(call, CNT_TOPIC, &e.base);
    if (rc != 0)
        return rc;
    return svc_fail(call, ES_ABORTED, NULL, "changed my mind");
}

static int m_big(void *state, svc_call_t *call, const ProtobufCMessage *req, store_txn_t *txn)
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

static const svc_method_t s_methods[] = {
    {"Ping", CNT_PERIOD, m_ping, SVC_PUBLIC},
    {"Add", CNT_PERIOD, m_add, SVC_WRITE},
    {"Get", CNT_PERIOD, m_get, 0},
    {"Fail", CNT_PERIOD, m_fail, SVC_WRITE},
    {"FailKeep", CNT_PERIOD, m_fail_keep, SVC_WRITE},
    {"Raw", CNT_PERIOD, m_raw, SVC_WRITE},
    {"Admin", CNT_PERIOD, m_admin, SVC_OPERATOR},
    {"Emit", CNT_PERIOD, m_emit, SVC_WRITE},
    {"EmitFail", CNT_PERIOD, m_emit_fail, SVC_WRITE},
    {"Big", CNT_PERIOD, m_big, 0},
};

static const char *s_tables[] = {"counter", NULL};

const svc_def_t cnt_service = {
    .name = "counter",
    .tables = s_tables,
    .methods = s_methods,
    .n_methods = sizeof s_methods / sizeof s_methods[0],
    .init = c_init,
    .fini = c_fini,
};

size_t cnt_methods_of(const ProtobufCServiceDescriptor *api, svc_method_t m[32])
{
    assert_true(api->n_methods <= 32);
    for (unsigned i = 0; i < api->n_methods; i++)
        m[i] = (svc_method_t){api->methods[i].name, api->methods[i].input, m_get, 0};
    return api->n_methods;
}

/* ---- the fixture ---- */

void cnt_svc_start(cnt_fix_t *f)
{
    assert_int_equal(h_svc_start(&f->h, &f->svc, &cnt_service), 0);
}

const Espace__V1__Caller *cnt_patient(void)
{
    static Espace__V1__Caller c;
    c = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT,
                 "0123456789abcdef0123456789abcdef");
    return &c;
}

const Espace__V1__Caller *cnt_operator(void)
{
    static Espace__V1__Caller c;
    c = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "operator");
    return &c;
}

int cnt_call(cnt_fix_t *f, const char *method, int64_t start, int64_t end,
             const Espace__V1__Caller *caller, int64_t *value, bus_reply_t *r)
{
    Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
    p.start_ms = start;
    p.end_ms = end;
    ProtobufCMessage *out = NULL;
    int rc = bus_call(f->client, "counter", method, &p.base, CNT_PERIOD, 5000, caller, &out, r);
    if (rc == 0) {
        assert_non_null(out);
        if (value)
            *value = ((Espace__V1__Period *)out)->start_ms;
        codec_free(out);
    }
    return rc;
}

/* The first calls may find no worker: until the broker knows it. */
void cnt_wait_service(cnt_fix_t *f)
{
    Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
    assert_int_equal(
        h_call_served(f->client, "counter", "Ping", &p.base, CNT_PERIOD, 500, NULL, NULL, NULL), 0);
}

int cnt_setup(void **state)
{
    cnt_fix_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(h_setup(&f->h, 0), 0);
    f->h.hb = CNT_HB_MS;
    assert_int_equal(h_broker_start(&f->h), 0);

    atomic_store(&cnt_inits, 0);
    atomic_store(&cnt_finis, 0);
    atomic_store(&cnt_init_fail, 0);
    cnt_svc_start(f);

    assert_int_equal(h_client(&f->h, &f->client), 0);
    cnt_wait_service(f);
    *state = f;
    return 0;
}

int cnt_teardown(void **state)
{
    cnt_fix_t *f = *state;
    bus_client_destroy(&f->client);
    assert_int_equal(h_svc_stop(&f->svc), 0);
    assert_int_equal(h_teardown(&f->h), 0);
    free(f);
    return 0;
}
