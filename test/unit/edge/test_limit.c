/*
 * test_limit.c - the edge's buckets of unauthenticated calls
 * (services/edge/limit.c): per address, global, their retry hints, the
 * bounded table, and how addresses are keyed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "proto/status.h"
#include "services/edge/edge_int.h"

#define S 1000000LL /* one second in microseconds */

static edge_addr_t s_v4(const char *text)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, text, &sa.sin_addr), 1);
    edge_addr_t a;
    assert_int_equal(edge_addr_from_sockaddr(&sa, sizeof(sa), &a), 0);
    return a;
}

static edge_addr_t s_v6(const char *text)
{
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, text, &sa.sin6_addr), 1);
    edge_addr_t a;
    assert_int_equal(edge_addr_from_sockaddr(&sa, sizeof(sa), &a), 0);
    return a;
}

static void test_addresses(void **state)
{
    (void)state;
    edge_addr_t a = s_v4("127.0.0.2");
    assert_string_equal(a.text, "127.0.0.2");
    edge_addr_t m = s_v6("::ffff:127.0.0.2"); /* mapped: the same IPv4 bucket */
    assert_string_equal(m.text, "127.0.0.2");
    assert_int_equal(m.key_len, a.key_len);
    assert_memory_equal(m.key, a.key, a.key_len);
    edge_addr_t x = s_v6("2001:db8:1:2:aaaa::1"), y = s_v6("2001:db8:1:2:bbbb::9");
    assert_string_equal(x.text, "2001:db8:1:2:aaaa::1");
    assert_int_equal(x.key_len, y.key_len); /* one /64: one bucket */
    assert_memory_equal(x.key, y.key, x.key_len);
    edge_addr_t z = s_v6("2001:db8:1:3::1");
    assert_memory_not_equal(x.key, z.key, x.key_len);
    /* garbage */
    struct sockaddr un = {.sa_family = AF_UNIX};
    assert_int_equal(edge_addr_from_sockaddr(&un, sizeof(un), &a), ES_INVALID_ARGUMENT);
    assert_int_equal(a.key_len, 0);
    assert_int_equal(edge_addr_from_sockaddr(NULL, 0, &a), ES_INVALID_ARGUMENT);
    edge_addr_of_fd(-1, &a);
    assert_string_equal(a.text, "unknown");
    assert_int_equal(a.key_len, 0);
}

/* An address over its rate is refused with a retry hint, others are not;
 * its bucket refills at its rate. */
static void test_per_address(void **state)
{
    (void)state;
    int64_t t = 1000 * S;
    edge_limiter_t *l = edge_limiter_new(64, 2, 5, 1000, 1000, t);
    assert_non_null(l);
    edge_addr_t flood = s_v4("127.0.0.1"), other = s_v4("127.0.0.2");
    int which = 0;
    int64_t retry = 0;
    for (int i = 0; i < 5; i++)
        assert_int_equal(edge_limiter_take(l, &flood, t, &which, &retry), 0);
    assert_int_equal(edge_limiter_take(l, &flood, t, &which, &retry), ES_RESOURCE_EXHAUSTED);
    assert_int_equal(which, EDGE_LIMIT_ADDR);
    assert_in_range(retry, 490, 510); /* 2 a second: one in 500 ms */
    assert_int_equal(edge_limiter_take(l, &other, t, &which, &retry), 0);
    t += S / 2;
    assert_int_equal(edge_limiter_take(l, &flood, t, &which, &retry), 0);
    assert_int_equal(edge_limiter_take(l, &flood, t, &which, &retry), ES_RESOURCE_EXHAUSTED);
    edge_limiter_destroy(&l);
    assert_null(l);
    edge_limiter_destroy(&l);
}

/* The global bucket caps every address together; a call its address's
 * bucket refuses takes nothing from it. */
static void test_global(void **state)
{
    (void)state;
    int64_t t = 5 * S;
    edge_limiter_t *l = edge_limiter_new(1024, 1, 3, 10, 6, t);
    assert_non_null(l);
    int which = 0;
    int64_t retry = 0;
    char text[32];
    for (int i = 0; i < 6; i++) {
        snprintf(text, sizeof(text), "10.0.0.%d", i + 1);
        edge_addr_t a = s_v4(text);
        assert_int_equal(edge_limiter_take(l, &a, t, &which, &retry), 0);
    }
    edge_addr_t late = s_v4("10.0.1.1");
    assert_int_equal(edge_limiter_take(l, &late, t, &which, &retry), ES_RESOURCE_EXHAUSTED);
    assert_int_equal(which, EDGE_LIMIT_GLOBAL);
    assert_in_range(retry, 90, 110); /* 10 a second */
    /* a flood from one address, over its own bucket, leaves the global one alone */
    t += S;
    edge_addr_t flood = s_v4("10.0.0.1");
    int admitted = 0;
    for (int i = 0; i < 100; i++)
        admitted += edge_limiter_take(l, &flood, t, &which, &retry) == 0;
    assert_int_equal(admitted, 3); /* its burst: the global bucket had 6 again */
    for (int i = 0; i < 3; i++)
        assert_int_equal(edge_limiter_take(l, &late, t, &which, &retry), 0);
    edge_limiter_destroy(&l);
}

/* The table is bounded: more addresses than slots, and a busy address
 * keeps its (empty) bucket while idle ones are forgotten. */
static void test_bounded(void **state)
{
    (void)state;
    int64_t t = 10 * S;
    edge_limiter_t *l = edge_limiter_new(8, 1, 2, 1000000, 1000000, t); /* one set */
    assert_non_null(l);
    int which = 0;
    int64_t retry = 0;
    edge_addr_t busy = s_v4("192.0.2.1");
    assert_int_equal(edge_limiter_take(l, &busy, t, &which, &retry), 0);
    assert_int_equal(edge_limiter_take(l, &busy, t, &which, &retry), 0);
    assert_int_equal(edge_limiter_take(l, &busy, t, &which, &retry), ES_RESOURCE_EXHAUSTED);
    char text[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(text, sizeof(text), "198.51.%d.%d", i / 250, i % 250 + 1);
        edge_addr_t a = s_v4(text);
        assert_int_equal(edge_limiter_take(l, &a, t, &which, &retry), 0);
    }
    /* the others each took one of 2 tokens: fuller than busy's, forgotten first */
    assert_int_equal(edge_limiter_take(l, &busy, t, &which, &retry), ES_RESOURCE_EXHAUSTED);
    edge_limiter_destroy(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_per_address),
        cmocka_unit_test(test_global),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
