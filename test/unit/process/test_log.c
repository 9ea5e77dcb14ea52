/*
 * test_log.c - process/log.c and process/stop.c (library es_process).
 *
 * stderr is redirected to a temporary file around each logging call, and
 * the bytes written are checked: line format, quoting, level filtering,
 * truncation, one write per line under concurrent writers. The stop pipe
 * tests use the real process-wide pipe and real signals.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "process/log.h"
#include "process/stop.h"

#define CAP_MAX (1 << 20)

static int s_saved = -1;
static int s_cap_fd = -1;
static char s_cap_path[64];

static void s_capture_begin(void)
{
    snprintf(s_cap_path, sizeof s_cap_path, "/tmp/es_test_log_XXXXXX");
    int fd = mkstemp(s_cap_path);
    assert_true(fd >= 0);
    close(fd);
    s_cap_fd = open(s_cap_path, O_WRONLY | O_APPEND);
    assert_true(s_cap_fd >= 0);
    fflush(stderr);
    s_saved = dup(STDERR_FILENO);
    assert_true(s_saved >= 0);
    assert_true(dup2(s_cap_fd, STDERR_FILENO) >= 0);
}

/* Restore stderr and return what was written (malloc'd, NUL-terminated). */
static char *s_capture_end(size_t *len)
{
    assert_true(dup2(s_saved, STDERR_FILENO) >= 0);
    close(s_saved);
    close(s_cap_fd);
    s_saved = s_cap_fd = -1;
    int fd = open(s_cap_path, O_RDONLY);
    assert_true(fd >= 0);
    char *buf = malloc(CAP_MAX + 1);
    assert_non_null(buf);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, CAP_MAX - n);
        assert_true(r >= 0);
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    unlink(s_cap_path);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static size_t s_count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Must run first: the environment is read at the first log call. */
static void test_env_level(void **state)
{
    (void)state;
    assert_int_equal(setenv("ESPACE_LOG", "error", 1), 0);
    s_capture_begin();
    log_warn("test", "dropped", "n=%d", 1);
    log_error("test", "kept", "n=%d", 2);
    char *out = s_capture_end(NULL);
    assert_null(strstr(out, "event=dropped"));
    assert_non_null(strstr(out, "level=error comp=test event=kept n=2\n"));
    assert_int_equal(s_count_lines(out), 1);
    free(out);
    /* Changing the environment later has no effect: read once. */
    assert_int_equal(setenv("ESPACE_LOG", "debug", 1), 0);
    s_capture_begin();
    log_info("test", "still.dropped", NULL);
    out = s_capture_end(NULL);
    assert_string_equal(out, "");
    free(out);
}

static void test_format(void **state)
{
    (void)state;
    log_set_level(LOG_DEBUG);
    time_t before = time(NULL);
    s_capture_begin();
    log_info("broker", "worker.ready", "service=%s n=%d", "identity", 42);
    char *out = s_capture_end(NULL);
    time_t after = time(NULL);

    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                             "level=info comp=broker event=worker\\.ready service=identity n=42\n$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    assert_int_equal(regexec(&re, out, 0, NULL, 0), 0);
    regfree(&re);

    /* The timestamp is UTC and now (to the second). */
    int ok = 0;
    for (time_t t = before - 1; t <= after + 1; t++) {
        struct tm tm;
        gmtime_r(&t, &tm);
        char want[32];
        strftime(want, sizeof want, "ts=%Y-%m-%dT%H:%M:%S.", &tm);
        if (strncmp(out, want, strlen(want)) == 0)
            ok = 1;
    }
    assert_true(ok);
    free(out);

    /* No pairs, and NULL comp/event. */
    s_capture_begin();
    log_warn("c", "e", NULL);
    log_event(LOG_ERROR, NULL, NULL, NULL);
    out = s_capture_end(NULL);
    assert_non_null(strstr(out, "level=warn comp=c event=e\n"));
    assert_non_null(strstr(out, "level=error comp=- event=-\n"));
    assert_int_equal(s_count_lines(out), 2);
    free(out);
}

static void test_levels(void **state)
{
    (void)state;
    log_set_level(LOG_WARN);
    s_capture_begin();
    log_debug("t", "d", "x=%d", 1);
    log_info("t", "i", "x=%d", 1);
    log_warn("t", "w", "x=%d", 1);
    log_error("t", "e", "x=%d", 1);
    char *out = s_capture_end(NULL);
    assert_null(strstr(out, "event=d "));
    assert_null(strstr(out, "event=i "));
    assert_non_null(strstr(out, "level=warn comp=t event=w x=1\n"));
    assert_non_null(strstr(out, "level=error comp=t event=e x=1\n"));
    assert_int_equal(s_count_lines(out), 2);
    free(out);

    log_set_level(LOG_DEBUG);
    s_capture_begin();
    log_debug("t", "d", "x=%d", 1);
    out = s_capture_end(NULL);
    assert_non_null(strstr(out, "level=debug comp=t event=d x=1\n"));
    free(out);

    log_set_level(LOG_ERROR);
    s_capture_begin();
    log_warn("t", "w", "x=%d", 1);
    out = s_capture_end(NULL);
    assert_string_equal(out, "");
    free(out);
    log_set_level(LOG_DEBUG);
}

static void test_quote(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(log_quote("plain", buf, sizeof buf), "\"plain\"");
    assert_string_equal(log_quote("a b", buf, sizeof buf), "\"a b\"");
    assert_string_equal(log_quote("say \"hi\"", buf, sizeof buf), "\"say \\\"hi\\\"\"");
    assert_string_equal(log_quote("back\\slash", buf, sizeof buf), "\"back\\\\slash\"");
    assert_string_equal(log_quote("l1\nl2", buf, sizeof buf), "\"l1\\nl2\"");
    assert_string_equal(log_quote("t\tr\r\x01\x7f", buf, sizeof buf), "\"t\\x09r\\x0d\\x01\\x7f\"");
    assert_string_equal(log_quote("", buf, sizeof buf), "\"\"");
    assert_string_equal(log_quote(NULL, buf, sizeof buf), "\"\"");
    /* UTF-8 passes through. */
    assert_string_equal(log_quote("\xc3\xa9t\xc3\xa9", buf, sizeof buf), "\"\xc3\xa9t\xc3\xa9\"");

    /* Truncation keeps both quotes and never splits an escape. */
    char small[6];
    assert_string_equal(log_quote("abcdefgh", small, sizeof small), "\"abc\"");
    assert_string_equal(log_quote("ab\"cd", small, sizeof small), "\"ab\"");
    assert_string_equal(log_quote("a\x01", small, sizeof small), "\"a\"");
    char tiny[3];
    assert_string_equal(log_quote("abc", tiny, sizeof tiny), "\"\"");
    char two[2] = {'x', 'x'};
    assert_string_equal(log_quote("abc", two, sizeof two), "");

    /* A quoted value inside a line. */
    log_set_level(LOG_DEBUG);
    s_capture_begin();
    log_info("t", "q", "name=%s", log_quote("a \"b\"\nc", buf, sizeof buf));
    char *out = s_capture_end(NULL);
    assert_non_null(strstr(out, "event=q name=\"a \\\"b\\\"\\nc\"\n"));
    assert_int_equal(s_count_lines(out), 1);
    free(out);
}

static void test_raw_newline(void **state)
{
    (void)state;
    log_set_level(LOG_DEBUG);
    s_capture_begin();
    log_info("t", "nl", "v=%s w=%s", "x\ny", "a\rb");
    char *out = s_capture_end(NULL);
    assert_int_equal(s_count_lines(out), 1);
    assert_non_null(strstr(out, "event=nl v=x y w=a b\n"));
    free(out);
}

static void test_hex(void **state)
{
    (void)state;
    const uint8_t b[] = {0x00, 0xab, 0xff, 0x10};
    char buf[16];
    assert_string_equal(log_hex(b, sizeof b, buf, sizeof buf), "00abff10");
    assert_string_equal(log_hex(b, 0, buf, sizeof buf), "");
    char small[6]; /* room for 2 bytes */
    assert_string_equal(log_hex(b, sizeof b, small, sizeof small), "00ab");
    char one[1];
    assert_string_equal(log_hex(b, sizeof b, one, sizeof one), "");
}

static void test_truncation(void **state)
{
    (void)state;
    log_set_level(LOG_DEBUG);
    char *big = malloc(5000);
    assert_non_null(big);
    memset(big, 'v', 4999);
    big[4999] = '\0';
    s_capture_begin();
    log_info("t", "big", "v=%s", big);
    log_info("t", "after", "ok=%d", 1);
    size_t len;
    char *out = s_capture_end(&len);
    assert_int_equal(s_count_lines(out), 2);
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_int_equal((size_t)(nl - out) + 1, LOG_MAX_LINE);
    assert_int_equal(nl[-1], 'v');
    assert_non_null(strstr(nl + 1, "event=after ok=1\n"));
    free(out);

    /* A line exactly at the limit is not cut. */
    s_capture_begin();
    log_info("t", "probe", "v=");
    out = s_capture_end(&len);
    size_t head = len - 1; /* without the newline */
    free(out);
    size_t fill = LOG_MAX_LINE - 1 - head;
    big[fill] = '\0';
    s_capture_begin();
    log_info("t", "probe", "v=%s", big);
    out = s_capture_end(&len);
    /* The timestamp has a fixed width, so the head is the same length. */
    assert_int_equal(len, LOG_MAX_LINE);
    assert_int_equal(out[len - 1], '\n');
    assert_int_equal(out[len - 2], 'v');
    free(out);
    free(big);
}

#define THREADS 4
#define PER_THREAD 400

static void *s_writer(void *arg)
{
    int id = (int)(intptr_t)arg;
    char pad[300];
    memset(pad, 'a' + id, sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < PER_THREAD; i++)
        log_info("t", "mt", "thread=%d i=%d pad=%s end=1", id, i, pad);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    log_set_level(LOG_DEBUG);
    s_capture_begin();
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, s_writer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    char *out = s_capture_end(NULL);
    assert_int_equal(s_count_lines(out), THREADS * PER_THREAD);
    int seen[THREADS] = {0};
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        assert_int_equal(strncmp(line, "ts=", 3), 0);
        const char *p = strstr(line, "thread=");
        assert_non_null(p);
        int id = p[7] - '0';
        assert_true(id >= 0 && id < THREADS);
        /* Whole line of one thread: its pad only, then the end marker. */
        const char *pad = strstr(line, "pad=");
        assert_non_null(pad);
        for (int k = 0; k < 299; k++)
            assert_int_equal(pad[4 + k], 'a' + id);
        assert_string_equal(pad + 4 + 299, " end=1");
        seen[id]++;
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(seen[i], PER_THREAD);
    free(out);
}

static int s_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc = poll(&p, 1, 0);
    return rc == 1 && (p.revents & POLLIN);
}

/* Lazy pipe: stop_fd works without stop_install, and is not readable. */
static void test_stop_lazy(void **state)
{
    (void)state;
    int fd = stop_fd();
    assert_true(fd >= 0);
    assert_int_equal(stop_fd(), fd);
    assert_false(s_readable(fd));
    assert_int_equal(stop_requested(), 0);
    int fl = fcntl(fd, F_GETFD);
    assert_true(fl >= 0 && (fl & FD_CLOEXEC));
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
}

/* A real SIGTERM, through the installed handler, makes the fd readable for
 * good (polled twice) and sets the flag; the process is not killed. */
static void test_stop_signal(void **state)
{
    (void)state;
    assert_int_equal(stop_install(), 0);
    int fd = stop_fd();
    assert_false(s_readable(fd));
    assert_int_equal(raise(SIGTERM), 0);
    assert_int_equal(stop_requested(), 1);
    assert_true(s_readable(fd));
    assert_true(s_readable(fd));
    /* stop_request after that keeps it readable. */
    stop_request();
    assert_true(s_readable(fd));
    struct sigaction sa;
    assert_int_equal(sigaction(SIGINT, NULL, &sa), 0);
    assert_true(sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_level), /* first: reads ESPACE_LOG */
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_raw_newline),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_stop_lazy), /* before any stop request */
        cmocka_unit_test(test_stop_signal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
