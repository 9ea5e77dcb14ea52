/*
 * test_identity_flood.c - identity under a flood of sign-ups and log-ins at
 * the real Argon2id cost ("interactive"), from many impatient clients that
 * send without waiting for answers (1 s deadlines): work whose caller left
 * is dropped unstarted, Argon2id takes at most its share of the service's
 * time (the rest answered RESOURCE_EXHAUSTED at once), and the
 * owner's log-in from a known device has a pool of its own. So during the
 * flood a legitimate log-in succeeds (maybe slower), and when the flood
 * stops everything is back within seconds. And one professional's key
 * queueing thousands of log-ins with long deadlines gets those over its
 * broker cap refused at once, while another log-in goes through.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/broker.h"
#include "bus/codec.h"
#include "proto/names.h"
#include "proto/status.h"
#include "services/identity/identity.h"
#include "test/service/identity_fixture.h"

#define S_CLIENTS 16          /* flooding clients */
#define S_SEND_EVERY_MS 2     /* one request every 2 ms in all: 500/s */
#define S_FLOOD_TIMEOUT_MS 1000
#define S_LEGIT_WITHIN_MS 20000 /* a legitimate log-in during the flood */
#define S_BACK_WITHIN_MS 5000   /* after it */

typedef struct flood {
    atomic_int stop;
    unsigned sent, answered;
    char ins[S_CLIENTS][16]; /* fresh INS per request, from the thread */
} flood_t;

/* A valid INS of the flood (its own range), distinct per n. */
static void s_flood_ins(unsigned n, char out[16])
{
    snprintf(out, 16, "2900299%06u", n % 1000000u);
    uint64_t body = 0;
    for (int i = 0; i < 13; i++)
        body = body * 10 + (uint64_t)(out[i] - '0');
    unsigned key = 97u - (unsigned)(body % 97u);
    out[13] = (char)('0' + key / 10);
    out[14] = (char)('0' + key % 10);
    out[15] = '\0';
}

static void *s_flood(void *arg)
{
    flood_t *f = arg;
    bus_client_t *c[S_CLIENTS] = {0};
    for (int i = 0; i < S_CLIENTS; i++)
        if (h_client(&idf->h, &c[i]) != 0)
            goto done;
    char *first[] = {"Flood"};
    for (unsigned n = 0; !atomic_load(&f->stop); n++) {
        bus_client_t *cl = c[n % S_CLIENTS];
        char ins[16];
        uint64_t id;
        s_flood_ins(n, ins);
        if (n % 2) {
            Espace__V1__LoginRequest req = ESPACE__V1__LOGIN_REQUEST__INIT;
            req.who_case = ESPACE__V1__LOGIN_REQUEST__WHO_INS;
            req.ins = ins; /* an unknown account: the dummy hash */
            req.password = "flood flood flood";
            if (bus_client_send(cl, SERVICE_IDENTITY, "Login", &req.base, S_FLOOD_TIMEOUT_MS,
                                NULL, &id) == 0)
                f->sent++;
        } else {
            Espace__V1__SignUpPatientRequest req = ESPACE__V1__SIGN_UP_PATIENT_REQUEST__INIT;
            req.ins = ins;
            req.birth_names = "Flood";
            req.n_first_names = 1;
            req.first_names = first;
            req.birth_date = "1990-02-01";
            req.sex = ESPACE__V1__SEX__SEX_FEMALE;
            req.password = "flood flood flood";
            if (bus_client_send(cl, SERVICE_IDENTITY, "SignUpPatient", &req.base,
                                S_FLOOD_TIMEOUT_MS, NULL, &id) == 0)
                f->sent++;
        }
        for (int i = 0; i < S_CLIENTS; i++) {
            bus_reply_t r;
            while (bus_client_recv(c[i], 0, &r) == 0) {
                f->answered++;
                bus_reply_clear(&r);
            }
        }
        h_sleep_ms(S_SEND_EVERY_MS);
    }
done:
    for (int i = 0; i < S_CLIENTS; i++)
        bus_client_destroy(&c[i]);
    return NULL;
}

static int s_setup(void **state)
{
    idf_pwhash = "interactive";
    idf_tcp_peers = 1; /* a professional's software, for test_one_key_thousands */
    return idf_setup(state);
}

/* Log in (retrying on RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED) until OK or
 * within_ms; returns the ms it took, or -1. */
static int64_t s_login_within(const char *ins, const ProtobufCBinaryData *dev, int64_t within_ms)
{
    int64_t t0 = bus_mono_ms();
    while (bus_mono_ms() - t0 < within_ms) {
        bus_reply_t r;
        int rc = idf_login(ins, NULL, IDF_PASSWORD, dev, NULL, NULL, &r);
        if (rc == 0)
            return bus_mono_ms() - t0;
        if (rc != ES_RESOURCE_EXHAUSTED && rc != ES_DEADLINE_EXCEEDED)
            fail_msg("login: %d %s", rc, r.message);
        h_sleep_ms(50);
    }
    return -1;
}

static void test_flood(void **state)
{
    (void)state;
    char ins[16];
    bus_reply_t r;
    Espace__V1__LoginReply *lrep = NULL;
    idf_new_ins(ins);
    assert_int_equal(idf_sign_up(ins, NULL, &r), 0);
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, NULL, &lrep, &r), 0);
    ProtobufCBinaryData dev = lrep->device_id;

    flood_t f;
    memset(&f, 0, sizeof f);
    atomic_init(&f.stop, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, s_flood, &f), 0);
    h_sleep_ms(1500); /* the flood builds up */
    int64_t during = s_login_within(ins, &dev, S_LEGIT_WITHIN_MS);
    h_sleep_ms(500);
    atomic_store(&f.stop, 1);
    pthread_join(th, NULL);
    print_message("flood: sent %u answered %u; legit login in %lld ms\n", f.sent, f.answered,
                  (long long)during);
    assert_true(during >= 0);

    /* after the flood: a log-in from a new device and a sign-up, within seconds */
    int64_t t0 = bus_mono_ms();
    assert_true(s_login_within(ins, NULL, S_BACK_WITHIN_MS) >= 0);
    char fresh[16], code[IDF_CODE_MAX];
    idf_new_ins(fresh);
    int rc;
    while ((rc = idf_sign_up_pending(fresh, IDF_PASSWORD, &r)) == ES_RESOURCE_EXHAUSTED &&
           bus_mono_ms() - t0 < S_BACK_WITHIN_MS)
        h_sleep_ms(50);
    assert_int_equal(rc, 0);
    assert_int_equal(idf_issue_code(fresh, code, &r), 0);
    while ((rc = idf_activate(fresh, code, IDF_PASSWORD, NULL, &r)) == ES_RESOURCE_EXHAUSTED &&
           bus_mono_ms() - t0 < S_BACK_WITHIN_MS)
        h_sleep_ms(50);
    assert_int_equal(rc, 0);
    int64_t back = bus_mono_ms() - t0;
    print_message("back after the flood in %lld ms\n", (long long)back);
    assert_true(back < S_BACK_WITHIN_MS);
    codec_free(&lrep->base);
}

/* One professional's key queueing thousands of log-ins with long deadlines
 * (issue 11 section 1): the broker refuses those over the key's cap at once
 * (BROKER_CONN_PENDING), the deadline is clamped, and another client's
 * log-in goes through meanwhile. */
static void test_one_key_thousands(void **state)
{
    (void)state;
    enum { N = 3000, CHUNK = 500 }; /* bursts, read in between */
    char ins[16];
    bus_reply_t r;
    Espace__V1__LoginReply *lrep = NULL;
    idf_new_ins(ins);
    /* each step retried while the pools are still spent by test_flood */
    char code[IDF_CODE_MAX];
    int rc;
    while ((rc = idf_sign_up_pending(ins, IDF_PASSWORD, &r)) == ES_RESOURCE_EXHAUSTED)
        h_sleep_ms(50);
    assert_int_equal(rc, 0);
    assert_int_equal(idf_issue_code(ins, code, &r), 0);
    while ((rc = idf_activate(ins, code, IDF_PASSWORD, NULL, &r)) == ES_RESOURCE_EXHAUSTED)
        h_sleep_ms(50);
    assert_int_equal(rc, 0);
    while ((rc = idf_login(ins, NULL, IDF_PASSWORD, NULL, NULL, &lrep, &r)) ==
           ES_RESOURCE_EXHAUSTED)
        h_sleep_ms(50);
    if (rc != 0)
        fail_msg("login: %d %s", rc, r.message);
    ProtobufCBinaryData dev = lrep->device_id;

    bus_client_t *pro = idf_peer_client(0);
    assert_int_equal(bus_client_wait(pro, 2000), 0);
    unsigned capped = 0, answered = 0;
    for (unsigned n = 0; n < N;) {
        char fin[16];
        s_flood_ins(500000 + n, fin);
        Espace__V1__LoginRequest req = ESPACE__V1__LOGIN_REQUEST__INIT;
        req.who_case = ESPACE__V1__LOGIN_REQUEST__WHO_INS;
        req.ins = fin;
        req.password = "flood flood flood";
        uint64_t id;
        rc = bus_client_send(pro, SERVICE_IDENTITY, "Login", &req.base, 600000, NULL, &id);
        if (rc != 0 && rc != ES_RESOURCE_EXHAUSTED) /* exhausted: at its high-water mark */
            fail_msg("send: %d", rc);
        n += rc == 0;
        if (rc == 0 && n % CHUNK != 0)
            continue;
        for (int k = 0; k < 10; k++) { /* read the refusals as they come */
            h_sleep_ms(5);
            while (bus_client_recv(pro, 0, &r) == 0) {
                answered++;
                capped += r.status == ES_RESOURCE_EXHAUSTED &&
                          strstr(r.message, "pending on this connection") != NULL;
                bus_reply_clear(&r);
            }
        }
    }
    int64_t took = s_login_within(ins, &dev, S_BACK_WITHIN_MS);
    print_message("one key: %u sent, %u refused over its cap; legit login in %lld ms\n", N,
                  capped, (long long)took);
    assert_true(took >= 0);
    assert_true(capped >= N / 4); /* none before the cap existed */
    assert_true(answered <= N);
    bus_client_destroy(&pro);
    codec_free(&lrep->base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flood),
        cmocka_unit_test(test_one_key_thousands),
    };
    return cmocka_run_group_tests(tests, s_setup, idf_teardown);
}
