/*
 * test_edge.c - the edge's pure modules (services/edge/edge_int.h): the
 * bounded outgoing queue (and the edge's total of queued bytes), the token
 * bucket, the message assembler, the metrics text; and edge_cert_generate. The websocket protocol itself is
 * tested end to end by test/edge/protocol.test.mjs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "services/edge/edge.h"
#include "services/edge/edge_int.h"
#include "proto/status.h"

static edge_msg_t *s_msg(size_t len, uint8_t fill)
{
    edge_msg_t *m = edge_msg_new(len);
    assert_non_null(m);
    memset(edge_msg_payload(m), fill, len);
    return m;
}

static void test_queue_limits(void **state)
{
    (void)state;
    edge_outq_t q;
    edge_outq_init(&q, 8, 1000, NULL);
    edge_msg_t *m = s_msg(10, 1);
    /* events may use 3/4 of the slots: 6 */
    for (int i = 0; i < 6; i++)
        assert_int_equal(edge_outq_push(&q, m, 1), 0);
    assert_int_equal(edge_outq_push(&q, m, 1), ES_RESOURCE_EXHAUSTED);
    /* replies may use all 8 */
    assert_int_equal(edge_outq_push(&q, m, 0), 0);
    assert_int_equal(edge_outq_push(&q, m, 0), 0);
    assert_int_equal(edge_outq_push(&q, m, 0), ES_RESOURCE_EXHAUSTED);
    assert_int_equal(q.count, 8);
    assert_int_equal(q.bytes, 80);
    assert_int_equal(m->refs, 9); /* ours + 8 queued: one shared buffer */
    for (int i = 0; i < 8; i++) {
        assert_ptr_equal(edge_outq_peek(&q), m);
        edge_outq_pop(&q);
    }
    assert_null(edge_outq_peek(&q));
    assert_int_equal(m->refs, 1);
    assert_int_equal(q.bytes, 0);
    edge_outq_fini(&q);
    edge_msg_unref(&m);
    assert_null(m);
}

static void test_queue_bytes_and_order(void **state)
{
    (void)state;
    edge_outq_t q;
    edge_outq_init(&q, 256, 100, NULL);
    edge_msg_t *a = s_msg(60, 'a'), *b = s_msg(30, 'b'), *big = s_msg(101, 'x');
    assert_int_equal(edge_outq_push(&q, big, 0), ES_RESOURCE_EXHAUSTED);
    assert_int_equal(edge_outq_push(&q, a, 1), 0);
    /* events: 75 bytes at most; 60 + 30 > 75 */
    assert_int_equal(edge_outq_push(&q, b, 1), ES_RESOURCE_EXHAUSTED);
    assert_int_equal(edge_outq_push(&q, b, 0), 0);
    /* wrap-around and growth keep FIFO order */
    edge_outq_pop(&q);
    for (int i = 0; i < 20; i++) {
        edge_msg_t *m = s_msg(0, 0);
        m->len = 0;
        assert_int_equal(edge_outq_push(&q, m, 0), 0);
        edge_msg_unref(&m);
    }
    assert_ptr_equal(edge_outq_peek(&q), b);
    edge_outq_fini(&q); /* drops the rest */
    assert_int_equal(b->refs, 1);
    edge_msg_unref(&a);
    edge_msg_unref(&b);
    edge_msg_unref(&big);
}

static void test_bucket(void **state)
{
    (void)state;
    edge_bucket_t b;
    int64_t t = 1000000;
    edge_bucket_init(&b, 10, t);
    int n = 0;
    while (edge_bucket_take(&b, 5, 10, t))
        n++;
    assert_int_equal(n, 10);
    /* 1 s later: 5 more, never more than the burst */
    t += 1000000;
    n = 0;
    while (edge_bucket_take(&b, 5, 10, t))
        n++;
    assert_int_equal(n, 5);
    t += 100 * 1000000LL;
    n = 0;
    while (edge_bucket_take(&b, 5, 10, t))
        n++;
    assert_int_equal(n, 10);
    /* time going backwards gives nothing */
    assert_int_equal(edge_bucket_take(&b, 5, 10, t - 5000000), 0);
}

static void test_rx_assembly(void **state)
{
    (void)state;
    edge_rx_t rx;
    memset(&rx, 0, sizeof(rx));
    uint8_t chunk[4096];
    memset(chunk, 7, sizeof(chunk));
    for (int i = 0; i < 4; i++)
        assert_int_equal(edge_rx_append(&rx, chunk, sizeof(chunk), 16384), 0);
    assert_int_equal(rx.len, 16384);
    /* one byte over the cap: refused, nothing appended */
    assert_int_equal(edge_rx_append(&rx, chunk, 1, 16384), ES_TOO_LARGE);
    assert_int_equal(rx.len, 16384);
    assert_int_equal(rx.buf[16383], 7);
    edge_rx_reset(&rx);
    assert_int_equal(rx.len, 0);
    /* a single chunk larger than the cap, and a huge length, are refused */
    assert_int_equal(edge_rx_append(&rx, chunk, sizeof(chunk), 100), ES_TOO_LARGE);
    rx.len = 10;
    assert_int_equal(edge_rx_append(&rx, chunk, SIZE_MAX - 5, SIZE_MAX - 1), ES_TOO_LARGE);
    rx.len = 0;
    assert_int_equal(edge_rx_append(&rx, NULL, 0, 100), 0);
    edge_rx_free(&rx);
    assert_null(rx.buf);
}

static void test_metrics_render(void **state)
{
    (void)state;
    edge_metrics_t *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->connections = 3;
    m->queue_drops = 7;
    m->events = 2;
    edge_metrics_request(m, "identity", 0, 0.002);
    edge_metrics_request(m, "identity", 0, 0.2);
    edge_metrics_request(m, "identity", ES_UNAUTHENTICATED, 7.0);
    edge_metrics_request(m, "edge", ES_RESOURCE_EXHAUSTED, -1);
    edge_metrics_request(m, "Bad\"Label", ES_INVALID_ARGUMENT, -1); /* not a valid label: other */
    edge_metrics_request(m, "identity", 99, -1);           /* not an es_status: INTERNAL */
    edge_metrics_request(m, "identity", ES_STATUS_MIN - 1, -1); /* nor this */
    for (int i = 0; i < EDGE_METRICS_SERVICES + 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "svc%d", i);
        edge_metrics_request(m, name, 0, -1);
    }
    char *buf = malloc(EDGE_METRICS_TEXT_MAX);
    size_t len = 0;
    assert_int_equal(edge_metrics_render(m, buf, EDGE_METRICS_TEXT_MAX, &len), 0);
    assert_true(len > 0 && len < EDGE_METRICS_TEXT_MAX);
    assert_int_equal(buf[len], '\0');
    assert_non_null(strstr(buf, "\nespace_edge_connections 3\n"));
    assert_non_null(strstr(buf, "espace_edge_requests_total{service=\"identity\",status=\"OK\"} 2\n"));
    assert_non_null(
        strstr(buf, "espace_edge_requests_total{service=\"identity\",status=\"UNAUTHENTICATED\"} 1\n"));
    assert_non_null(
        strstr(buf, "espace_edge_requests_total{service=\"identity\",status=\"INTERNAL\"} 2\n"));
    assert_non_null(
        strstr(buf, "espace_edge_requests_total{service=\"edge\",status=\"RESOURCE_EXHAUSTED\"} 1\n"));
    /* the invalid label and the services past the table share "other" */
    assert_non_null(
        strstr(buf, "espace_edge_requests_total{service=\"other\",status=\"INVALID_ARGUMENT\"} 1\n"));
    assert_non_null(strstr(buf, "espace_edge_requests_total{service=\"other\",status=\"OK\"} 5\n"));
    assert_null(strstr(buf, "Bad"));
    assert_non_null(strstr(buf, "espace_edge_request_seconds_bucket{le=\"0.0025\"} 1\n"));
    assert_non_null(strstr(buf, "espace_edge_request_seconds_bucket{le=\"0.25\"} 2\n"));
    assert_non_null(strstr(buf, "espace_edge_request_seconds_bucket{le=\"5\"} 2\n"));
    assert_non_null(strstr(buf, "espace_edge_request_seconds_bucket{le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(buf, "espace_edge_request_seconds_count 3\n"));
    assert_non_null(strstr(buf, "espace_edge_queue_drops_total 7\n"));
    assert_non_null(strstr(buf, "espace_edge_events_total 2\n"));
    /* too small a buffer */
    assert_int_equal(edge_metrics_render(m, buf, 100, &len), ES_TOO_LARGE);
    assert_int_equal(edge_metrics_render(m, buf, 0, &len), ES_TOO_LARGE);
    free(buf);
    free(m);
}

static void test_cert_generate(void **state)
{
    (void)state;
    char dir[] = "/tmp/es_edge_cert_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cert[128], key[128];
    snprintf(cert, sizeof(cert), "%s/edge.crt", dir);
    snprintf(key, sizeof(key), "%s/edge.key", dir);
    assert_int_equal(edge_cert_generate(NULL, key, "localhost"), ES_INVALID_ARGUMENT);
    assert_int_equal(edge_cert_generate(cert, key, ""), ES_INVALID_ARGUMENT);
    assert_int_equal(edge_cert_generate(cert, key, "bad name,DNS:evil"), ES_INVALID_ARGUMENT);
    assert_int_equal(access(key, F_OK), -1);
    assert_int_equal(edge_cert_generate(cert, key, "espace.local"), 0);
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    FILE *f = fopen(cert, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    f = fopen(key, "r");
    assert_non_null(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    assert_int_equal(X509_check_private_key(x, k), 1);
    assert_int_equal(X509_verify(x, k), 1); /* self-signed */
    assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "espace.local", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    /* valid now, expires within a year and a day */
    assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
    time_t later = time(NULL) + 366 * 24 * 3600;
    assert_true(X509_cmp_time(X509_get0_notAfter(x), &later) < 0);
    X509_free(x);
    EVP_PKEY_free(k);
    /* a folder that does not exist: error, nothing left behind */
    char bad[160];
    snprintf(bad, sizeof(bad), "%s/none/edge.key", dir);
    assert_int_equal(edge_cert_generate(cert, bad, "localhost"), ES_INTERNAL);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Every queue adds to the edge's one total, events counted once per queue
 * holding them; pop, fini and a refused push keep it exact. */
static void test_queue_total(void **state)
{
    (void)state;
    size_t total = 0;
    edge_outq_t a, b;
    edge_outq_init(&a, 8, 1000, &total);
    edge_outq_init(&b, 8, 100, &total);
    edge_msg_t *ev = s_msg(60, 1), *big = s_msg(200, 2);
    assert_int_equal(edge_outq_push(&a, ev, 1), 0);
    assert_int_equal(edge_outq_push(&b, ev, 1), 0);
    assert_int_equal(total, 120); /* one buffer, counted per queue */
    assert_int_equal(edge_outq_push(&b, big, 0), ES_RESOURCE_EXHAUSTED);
    assert_int_equal(total, 120);
    assert_int_equal(edge_outq_push(&a, big, 0), 0);
    assert_int_equal(total, 320);
    edge_outq_pop(&a);
    assert_int_equal(total, 260);
    edge_outq_fini(&b);
    assert_int_equal(total, 200);
    edge_outq_fini(&a);
    assert_int_equal(total, 0);
    assert_int_equal(ev->refs, 1);
    edge_msg_unref(&ev);
    edge_msg_unref(&big);
}

static void test_opts_default(void **state)
{
    (void)state;
    edge_opts_t o;
    edge_opts_default(&o);
    assert_string_equal(o.host, "127.0.0.1");
    assert_int_equal(o.port, EDGE_DEFAULT_PORT);
    assert_int_equal(o.max_message, EDGE_MAX_MESSAGE);
    assert_int_equal(o.rate_per_s, 50);
    assert_int_equal(o.rate_burst, 100);
    assert_int_equal(o.queue_msgs, 256);
    assert_int_equal(o.queue_bytes, 1024 * 1024);
    assert_int_equal(o.max_inflight, 64);
    assert_int_equal(o.max_conns, 10000);
    assert_int_equal(o.stop_fd, -1);
    assert_int_equal(o.unauth_addr_rate, EDGE_UNAUTH_ADDR_RATE_PER_S);
    assert_int_equal(o.unauth_addr_burst, EDGE_UNAUTH_ADDR_BURST);
    assert_int_equal(o.unauth_rate, EDGE_UNAUTH_RATE_PER_S);
    assert_int_equal(o.unauth_burst, EDGE_UNAUTH_BURST);
    assert_int_equal(o.queue_total_bytes, EDGE_QUEUE_TOTAL_BYTES);
    /* edge_run refuses options it cannot serve with */
    assert_int_equal(edge_run(NULL), ES_INVALID_ARGUMENT);
    assert_int_equal(edge_run(&o), ES_INVALID_ARGUMENT); /* no bus endpoint, no stop_fd */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_limits),   cmocka_unit_test(test_queue_bytes_and_order),
        cmocka_unit_test(test_bucket),         cmocka_unit_test(test_rx_assembly),
        cmocka_unit_test(test_metrics_render), cmocka_unit_test(test_cert_generate),
        cmocka_unit_test(test_opts_default),   cmocka_unit_test(test_queue_total),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
