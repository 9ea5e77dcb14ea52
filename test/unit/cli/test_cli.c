/* test_cli.c - clients/cli (cli.h): option tables (every error path names
 * its culprit), numbers, times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_numbers_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
