/* test_cli.c - clients/cli (cli.h): option tables (every error path names
 * its culprit), numbers, times (Paris with the offset, the forms people
 * type), help texts (one command cut out of the manual, the command list),
 * the probe of a broker that does not answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clients/cli/cli.h"
#include "proto/status.h"

static int s_parse(cli_opt_t *o, size_t n, char *why, const char *a0, const char *a1,
                   const char *a2, const char *a3)
{
    char *argv[4] = {(char *)a0, (char *)a1, (char *)a2, (char *)a3};
    int argc = 0;
    while (argc < 4 && argv[argc])
        argc++;
    return cli_parse(argc, argv, o, n, why, CLI_WHY_MAX);
}

static void test_parse_ok(void **state)
{
    (void)state;
    cli_opt_t o[] = {CLI_OPT("--patient", CLI_REQUIRED), CLI_OPT("--from", CLI_OPTIONAL),
                     CLI_OPT("--all", CLI_SWITCH), CLI_OPT_LIST("--reminder", 2)};
    char why[CLI_WHY_MAX];
    char *argv[] = {"--reminder", "60", "--patient", "P", "--all", "--reminder", "5"};
    assert_int_equal(cli_parse(7, argv, o, CLI_COUNT(o), why, sizeof why), 0);
    assert_string_equal(CLI_VALUE(o, "--patient"), "P");
    assert_null(CLI_VALUE(o, "--from"));
    assert_string_equal(CLI_VALUE(o, "--all"), "");
    const cli_opt_t *r = CLI_GET(o, "--reminder");
    assert_int_equal(r->n, 2);
    assert_string_equal(r->list[0], "60");
    assert_string_equal(r->list[1], "5");
    /* parsing again resets the outputs; the last value wins */
    assert_int_equal(s_parse(o, CLI_COUNT(o), why, "--patient", "A", "--patient", "B"), 0);
    assert_string_equal(CLI_VALUE(o, "--patient"), "B");
    assert_null(CLI_VALUE(o, "--all"));
    assert_int_equal(CLI_GET(o, "--reminder")->n, 0);
    /* no options at all */
    assert_int_equal(cli_parse(0, NULL, NULL, 0, why, sizeof why), 0);
}

static void test_parse_errors(void **state)
{
    (void)state;
    cli_opt_t o[] = {CLI_OPT("--patient", CLI_REQUIRED), CLI_OPT("--kind", CLI_REQUIRED),
                     CLI_OPT("--all", CLI_SWITCH), CLI_OPT_LIST("--reminder", 1)};
    char why[CLI_WHY_MAX];
    /* a missing option is named */
    assert_int_equal(s_parse(o, CLI_COUNT(o), why, "--patient", "P", NULL, NULL),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(why, "missing --kind");
    assert_int_equal(s_parse(o, CLI_COUNT(o), why, NULL, NULL, NULL, NULL), ES_INVALID_ARGUMENT);
    assert_string_equal(why, "missing --patient");
    /* an unknown option is named */
    assert_int_equal(s_parse(o, CLI_COUNT(o), why, "--patient", "P", "--bogus", "1"),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(why, "unknown option --bogus");
    assert_int_equal(s_parse(o, CLI_COUNT(o), why, "-k", "1", NULL, NULL), ES_INVALID_ARGUMENT);
    assert_string_equal(why, "unknown option -k");
    /* a value missing at the end */
    assert_int_equal(s_parse(o, CLI_COUNT(o), why, "--kind", "rdv", "--patient", NULL),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(why, "--patient needs a value");
    /* a word where an option should be */
    assert_int_equal(s_parse(o, CLI_COUNT(o), why, "stray", NULL, NULL, NULL),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(why, "unexpected argument 'stray'");
    /* a switch takes no value: the next word is not eaten */
    assert_int_equal(s_parse(o, CLI_COUNT(o), why, "--all", "x", NULL, NULL),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(why, "unexpected argument 'x'");
    /* too many values of a list */
    assert_int_equal(s_parse(o, CLI_COUNT(o), why, "--reminder", "1", "--reminder", "2"),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(why, "at most 1 --reminder");
    /* a command without options names the stray one */
    assert_int_equal(s_parse(NULL, 0, why, "--x", "1", NULL, NULL), ES_INVALID_ARGUMENT);
    assert_string_equal(why, "unknown option --x");
}

static void test_numbers_times(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(cli_parse_u64("3650", 3650, &v), 0);
    assert_int_equal(v, 3650);
    assert_int_equal(cli_parse_u64("3651", 3650, &v), ES_INVALID_ARGUMENT);
    assert_int_equal(cli_parse_u64("", 10, &v), ES_INVALID_ARGUMENT);
    assert_int_equal(cli_parse_u64("-1", 10, &v), ES_INVALID_ARGUMENT);
    assert_int_equal(cli_parse_u64("1x", 10, &v), ES_INVALID_ARGUMENT);
    assert_int_equal(cli_parse_u64(NULL, 10, &v), ES_INVALID_ARGUMENT);
    assert_int_equal(cli_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(cli_parse_u64("18446744073709551616", UINT64_MAX, &v), ES_INVALID_ARGUMENT);
    assert_int_equal(cli_parse_u64("7", 5, &v), ES_INVALID_ARGUMENT);
    char t[CLI_TIME_MAX];
    assert_string_equal(cli_iso_utc(0, t), "1970-01-01T00:00:00Z");
    assert_string_equal(cli_iso_utc(1796200200000LL, t), "2026-12-02T08:30:00Z");
    assert_true(cli_wall_ms() > 1700000000000LL);
    int64_t a = cli_mono_ms();
    assert_true(cli_mono_ms() >= a);
}

static void test_time_forms(void **state)
{
    (void)state;
    char t[CLI_TIME_MAX];
    int64_t ms = 0;
    /* winter: +01:00; summer: +02:00 */
    assert_string_equal(cli_time_format(1796200200000LL, t), "2026-12-02 09:30 +01:00");
    assert_string_equal(cli_time_format(1783000000000LL, t), "2026-07-02 15:46 +02:00");
    assert_int_equal(cli_time_parse("2026-12-02T09:30", &ms), 0);
    assert_true(ms == 1796200200000LL);
    assert_int_equal(cli_time_parse("2026-12-02 09:30", &ms), 0);
    assert_true(ms == 1796200200000LL);
    assert_int_equal(cli_time_parse("2026-12-02T08:30Z", &ms), 0);
    assert_true(ms == 1796200200000LL);
    assert_int_equal(cli_time_parse("2026-12-02T09:30+01:00", &ms), 0);
    assert_true(ms == 1796200200000LL);
    assert_int_equal(cli_time_parse("2026-12-02T10:30+0200", &ms), 0);
    assert_true(ms == 1796200200000LL);
    assert_int_equal(cli_time_parse("2026-12-02T03:30-05", &ms), 0);
    assert_true(ms == 1796200200000LL);
    assert_int_equal(cli_time_parse("2026-12-02 09:30 +01:00", &ms), 0); /* as printed */
    assert_true(ms == 1796200200000LL);
    assert_int_equal(cli_time_parse("2026-12-02T09:30:15", &ms), 0);
    assert_true(ms == 1796200215000LL);
    /* a date alone: midnight in Paris */
    assert_int_equal(cli_time_parse("2026-12-02", &ms), 0);
    assert_true(ms == 1796200200000LL - (9 * 60 + 30) * 60000LL);
    assert_int_equal(cli_time_parse("2026-07-02", &ms), 0);
    assert_string_equal(cli_time_format(ms, t), "2026-07-02 00:00 +02:00");
    /* the round trip of what is printed */
    assert_int_equal(cli_time_parse(cli_time_format(1783000000000LL, t), &ms), 0);
    assert_true(ms == 1783000000000LL - 40000); /* minutes printed */
    static const char *bad[] = {"", "2026", "2026-12", "2026-13-01", "2026-02-29", "2026-12-02T",
                                "2026-12-02T9:30", "2026-12-02T24:00", "2026-12-02T09:60",
                                "2026-12-02 9h30", "2026-12-02T09:30+1", "2026-12-02T09:30+15:00",
                                "2026-12-02T09:30 Z Z", "2026-12-02T09:30:61", "1969-12-31",
                                "2026-12-02T09:30+01:60", "2026-12-02x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cli_time_parse(bad[i], &ms), ES_INVALID_ARGUMENT);
    assert_int_equal(cli_time_parse(NULL, &ms), ES_INVALID_ARGUMENT);
}

static const char s_manual[] = "usage: tool [options] COMMAND\n"
                               "commands:\n"
                               "  keys gen --out FILE   make a pair\n"
                               "                        and print it\n"
                               "  keys list             the keys\n"
                               "  backup [--out DIR]    copy\n"
                               "options:\n"
                               "  --home DIR            a folder\n"
                               "times: Paris\n";

/* What cli_help prints for the words, in a string (caller frees); NULL
 * when it returns an error. */
static char *s_help(int n, const char *w0, const char *w1)
{
    char *words[2] = {(char *)w0, (char *)w1};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    int rc = cli_help(f, s_manual, n, words);
    fclose(f);
    if (rc < 0) {
        assert_int_equal(rc, ES_NOT_FOUND);
        assert_int_equal(len, 0);
        free(text);
        return NULL;
    }
    return text;
}

static void test_help(void **state)
{
    (void)state;
    char *h = s_help(2, "keys", "gen");
    assert_string_equal(h, "usage: tool [options] keys gen\n"
                           "  keys gen --out FILE   make a pair\n"
                           "                        and print it\n"
                           "options:\n"
                           "  --home DIR            a folder\n"
                           "times: Paris\n");
    free(h);
    h = s_help(1, "keys", NULL); /* the family: both its commands */
    assert_non_null(strstr(h, "keys gen --out"));
    assert_non_null(strstr(h, "keys list"));
    assert_null(strstr(h, "backup"));
    free(h);
    h = s_help(1, "backup", NULL);
    assert_non_null(strstr(h, "usage: tool [options] backup\n  backup [--out DIR]"));
    free(h);
    assert_null(s_help(2, "keys", "show"));
    assert_null(s_help(1, "key", NULL));
    assert_null(s_help(1, "out", NULL)); /* an option or placeholder is not a word */
    assert_null(s_help(1, "FILE", NULL));

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cli_help_commands(f, NULL, s_manual);
    cli_help_commands(f, "admin", s_manual);
    fclose(f);
    assert_string_equal(text, "keys gen\nkeys list\nbackup\n"
                              "admin keys gen\nadmin keys list\nadmin backup\n");
    free(text);
    assert_true(cli_is_help("--help") && cli_is_help("-h") && !cli_is_help("help"));
}

static void test_probe(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", ntohs(a.sin_port));
    assert_int_equal(cli_tcp_probe(ep), 0); /* something listens */
    close(fd);
    assert_int_equal(cli_tcp_probe(ep), ES_UNAVAILABLE); /* nothing does any more */
    assert_int_equal(cli_tcp_probe("ipc:///tmp/x"), ES_INVALID_ARGUMENT);
    assert_int_equal(cli_tcp_probe("tcp://127.0.0.1"), ES_INVALID_ARGUMENT);
    assert_int_equal(cli_tcp_probe("tcp://:5570"), ES_INVALID_ARGUMENT);
    assert_int_equal(cli_tcp_probe(NULL), ES_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_numbers_times),
        cmocka_unit_test(test_time_forms),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
