/* test_procstat.c - clients/load/procstat.c: /proc parsing on ourselves. */
#define _GNU_SOURCE /* syscall */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clients/load/procstat.h"
#include "proto/status.h"

static void test_parse(void **state)
{
    (void)state;
    long hz = sysconf(_SC_CLK_TCK);
    int64_t us = -1;
    /* a command name with spaces and a ')' inside */
    const char *line = "42 (a b) c)) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0";
    assert_int_equal(procstat_parse_stat(line, &us), 0);
    assert_int_equal(us, (int64_t)300 * 1000000 / hz);
    assert_int_equal(procstat_parse_stat("garbage", &us), ES_INTERNAL);
    assert_int_equal(procstat_parse_stat("1 (x) S 1 2", &us), ES_INTERNAL);
}

/* Our own process: CPU grows as we spin, memory and our thread are seen. */
static void test_self(void **state)
{
    (void)state;
    procstat_t a, b;
    assert_int_equal(procstat_read(getpid(), &a), 0);
    assert_true(a.rss_kib > 0);
    assert_true(a.anon_kib > 0 && a.anon_kib <= a.rss_kib);
    assert_true(a.n_threads >= 1);
    int tid = (int)syscall(SYS_gettid);
    assert_true(procstat_thread_cpu(&a, tid) >= 0);
    assert_int_equal(procstat_thread_cpu(&a, -1), -1);
    struct timespec t0, t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    volatile uint64_t x = 0;
    do { /* burn 50 ms of CPU, bounded */
        for (int i = 0; i < 100000; i++)
            x += (uint64_t)i;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 50000000L);
    assert_int_equal(procstat_read(getpid(), &b), 0);
    assert_true(b.cpu_us >= a.cpu_us + 20000);
    assert_true(b.at_ns > a.at_ns);
    assert_int_equal(procstat_read(-5, &b), ES_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
