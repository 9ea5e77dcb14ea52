/* test_kvfile.c - `key = value` files and secrets (process/kvfile.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "process/kvfile.h"
#include "proto/status.h"
#include "test/harness/tmpdir.h"

static char s_dir[64];

/* Pairs seen by s_collect; keys "bad*" are bad values, "unknown*" unknown. */
typedef struct seen {
    int n;
    char keys[8][64];
    char vals[8][256];
} seen_t;

static int s_collect(const char *key, const char *value, void *ctx)
{
    seen_t *s = ctx;
    if (!strncmp(key, "unknown", 7))
        return ES_NOT_FOUND;
    if (!strncmp(key, "bad", 3))
        return ES_INVALID_ARGUMENT;
    if (s->n >= 8)
        return ES_TOO_LARGE;
    snprintf(s->keys[s->n], sizeof s->keys[0], "%s", key);
    snprintf(s->vals[s->n], sizeof s->vals[0], "%s", value);
    s->n++;
    return 0;
}

static int s_setup(void **state)
{
    (void)state;
    return h_mkdtemp(s_dir, "es-kvfile.");
}

static int s_teardown(void **state)
{
    (void)state;
    return h_rmtree(s_dir);
}

static void test_parse_ok(void **state)
{
    (void)state;
    seen_t s;
    memset(&s, 0, sizeof s);
    char err[256] = "x";
    const char *p = h_write_file(s_dir, "ok.conf", "# comment\n\n   \n  # indented comment\n"
                                       "  a = 1  \nb=two words\r\n\tc\t=\t/x#y # not a comment\n"
                                       "empty =\nkey = =v=\n");
    assert_int_equal(kvfile_parse(p, s_collect, &s, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_int_equal(s.n, 5);
    assert_string_equal(s.keys[0], "a");
    assert_string_equal(s.vals[0], "1");
    assert_string_equal(s.keys[1], "b");
    assert_string_equal(s.vals[1], "two words");
    assert_string_equal(s.keys[2], "c");
    assert_string_equal(s.vals[2], "/x#y # not a comment"); /* '#' inside a value is kept */
    assert_string_equal(s.keys[3], "empty");
    assert_string_equal(s.vals[3], "");
    assert_string_equal(s.keys[4], "key");
    assert_string_equal(s.vals[4], "=v="); /* split at the first '=' */

    /* an empty file and one without a final newline */
    memset(&s, 0, sizeof s);
    assert_int_equal(kvfile_parse(h_write_file(s_dir, "empty.conf", ""), s_collect, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(kvfile_parse(h_write_file(s_dir, "nonl.conf", "z = 9"), s_collect, &s, err, sizeof err),
                     0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.vals[0], "9");
}

static void test_parse_errors(void **state)
{
    (void)state;
    seen_t s;
    char err[256];
    memset(&s, 0, sizeof s);
    const char *p = h_write_file(s_dir, "noeq.conf", "a = 1\n\nkey value\nb = 2\n");
    assert_int_equal(kvfile_parse(p, s_collect, &s, err, sizeof err), ES_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "noeq.conf:3: expected key = value"));
    assert_int_equal(s.n, 1); /* stopped at the bad line */

    memset(&s, 0, sizeof s);
    p = h_write_file(s_dir, "nokey.conf", " = v\n");
    assert_int_equal(kvfile_parse(p, s_collect, &s, err, sizeof err), ES_INVALID_ARGUMENT);
    assert_non_null(strstr(err, ":1: expected key = value"));

    p = h_write_file(s_dir, "unknown.conf", "a = 1\n# x\n\nunknown_thing = 3\n");
    assert_int_equal(kvfile_parse(p, s_collect, &s, err, sizeof err), ES_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "unknown.conf:4: unknown key 'unknown_thing'"));

    p = h_write_file(s_dir, "bad.conf", "bad_port = secret-value\n");
    assert_int_equal(kvfile_parse(p, s_collect, &s, err, sizeof err), ES_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "bad.conf:1: bad value for bad_port"));
    assert_null(strstr(err, "secret-value")); /* values never reach the message */

    /* a line longer than the buffer */
    size_t big = KVFILE_LINE_MAX + 10;
    char *text = malloc(big + 16);
    assert_non_null(text);
    memcpy(text, "a = 1\nk = ", 10);
    memset(text + 10, 'v', big);
    memcpy(text + 10 + big, "\n", 2);
    p = h_write_file(s_dir, "long.conf", text);
    free(text);
    memset(&s, 0, sizeof s);
    assert_int_equal(kvfile_parse(p, s_collect, &s, err, sizeof err), ES_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "long.conf:2: line too long"));

    /* the longest line that fits is fine */
    text = malloc(KVFILE_LINE_MAX + 1);
    assert_non_null(text);
    memcpy(text, "k=", 2);
    memset(text + 2, 'v', KVFILE_LINE_MAX - 4);
    memcpy(text + KVFILE_LINE_MAX - 2, "\n", 2);
    p = h_write_file(s_dir, "fits.conf", text);
    free(text);
    memset(&s, 0, sizeof s);
    assert_int_equal(kvfile_parse(p, s_collect, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 1);

    /* missing file; a tiny or absent err buffer */
    char missing[128];
    snprintf(missing, sizeof missing, "%s/none.conf", s_dir);
    assert_int_equal(kvfile_parse(missing, s_collect, &s, err, sizeof err), ES_NOT_FOUND);
    assert_non_null(strstr(err, "none.conf: "));
    char tiny[8];
    assert_int_equal(kvfile_parse(missing, s_collect, &s, tiny, sizeof tiny), ES_NOT_FOUND);
    assert_int_equal(strlen(tiny), 7);
    assert_int_equal(kvfile_parse(missing, s_collect, &s, NULL, 0), ES_NOT_FOUND);
}

/* Make stdin read `text` from a pipe (NULL: an empty pipe at end of file). */
static void s_stdin_from(const char *text)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    if (text)
        assert_int_equal(write(fds[1], text, strlen(text)), (ssize_t)strlen(text));
    close(fds[1]);
    assert_int_not_equal(dup2(fds[0], STDIN_FILENO), -1);
    close(fds[0]);
    clearerr(stdin);
}

static void test_secret(void **state)
{
    (void)state;
    char pw[32];
    /* unbuffered: a read never takes more than the line out of the pipe */
    assert_int_equal(setvbuf(stdin, NULL, _IONBF, 0), 0);
    int saved = dup(STDIN_FILENO);
    assert_true(saved >= 0);

    /* the environment first, even when stdin has something */
    setenv("ES_TEST_SECRET", "from env", 1);
    s_stdin_from("from stdin\n");
    assert_int_equal(kvfile_secret("ES_TEST_SECRET", "pw: ", pw, sizeof pw), 0);
    assert_string_equal(pw, "from env");
    setenv("ES_TEST_SECRET", "0123456789012345678901234567890123456789", 1);
    assert_int_equal(kvfile_secret("ES_TEST_SECRET", NULL, pw, sizeof pw), ES_TOO_LARGE);
    assert_int_equal(pw[0], 0); /* wiped */
    setenv("ES_TEST_SECRET", "", 1);
    assert_int_equal(kvfile_secret("ES_TEST_SECRET", NULL, pw, sizeof pw), ES_NOT_FOUND);
    unsetenv("ES_TEST_SECRET");

    /* one line from a pipe: newline (and CR) stripped, only the first line */
    s_stdin_from("correct horse\r\nsecond line\n");
    assert_int_equal(kvfile_secret("ES_TEST_SECRET", "pw: ", pw, sizeof pw), 0);
    assert_string_equal(pw, "correct horse");
    s_stdin_from("no newline");
    assert_int_equal(kvfile_secret(NULL, NULL, pw, sizeof pw), 0);
    assert_string_equal(pw, "no newline");

    /* nothing: end of file, or an empty line */
    s_stdin_from(NULL);
    assert_int_equal(kvfile_secret("ES_TEST_SECRET", NULL, pw, sizeof pw), ES_NOT_FOUND);
    s_stdin_from("\n");
    assert_int_equal(kvfile_secret("ES_TEST_SECRET", NULL, pw, sizeof pw), ES_NOT_FOUND);

    /* a line longer than the buffer */
    s_stdin_from("0123456789012345678901234567890123456789\n");
    assert_int_equal(kvfile_secret(NULL, NULL, pw, sizeof pw), ES_TOO_LARGE);
    assert_int_equal(pw[0], 0);
    assert_int_equal(kvfile_secret(NULL, NULL, pw, 1), ES_TOO_LARGE);

    assert_int_not_equal(dup2(saved, STDIN_FILENO), -1);
    close(saved);
    clearerr(stdin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_secret),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
