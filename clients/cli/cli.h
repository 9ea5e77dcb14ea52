/*
 * cli.h - what espace's command lines share (espace-pro, `espace admin`):
 * per-command option tables, the error lines and exit codes, numbers and
 * times as text.
 *
 * Exit codes: 0 done, 1 error ("error: STATUS: message[ (field F)]" on
 * stderr), 2 usage error ("error: why" then the help text).
 *
 * A command declares its options in a table and parses its arguments with
 * cli_parse:
 *
 *     cli_opt_t o[] = {CLI_OPT("--patient", CLI_REQUIRED), CLI_OPT("--reason", CLI_REQUIRED),
 *                      CLI_OPT("--all", CLI_SWITCH)};
 *     char why[CLI_WHY_MAX];
 *     if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
 *         return cli_usage("emergency", why, help);
 *     const char *patient = CLI_VALUE(o, "--patient");
 *
 * THREAD SAFETY: cli_parse and the formatters are pure; the printing
 * functions write to stdout/stderr.
 */
#ifndef ES_CLI_H
#define ES_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "clients/lib/conn.h"

#define CLI_LIST_MAX 8   /* values of a repeatable option */
#define CLI_WHY_MAX 160  /* a usage error's reason */
#define CLI_TIME_MAX 32  /* a formatted time, incl. NUL */

enum cli_flags {
    CLI_OPTIONAL = 0, /* --name VALUE, at most once (the last one wins) */
    CLI_REQUIRED = 1, /* --name VALUE must be given */
    CLI_SWITCH = 2,   /* --name alone, no value */
    CLI_LIST = 4      /* --name VALUE, repeatable up to `max` times */
};

/* One option of a command; cli_parse fills value, list and n. */
typedef struct cli_opt {
    const char *name;                /* "--patient" */
    unsigned flags;                  /* enum cli_flags */
    size_t max;                      /* CLI_LIST: most values (<= CLI_LIST_MAX; 0 = that) */
    const char *value;               /* the (last) value, "" for a switch given, NULL if absent */
    const char *list[CLI_LIST_MAX];  /* CLI_LIST: every value, in order (borrowed from argv) */
    size_t n;                        /* times given */
} cli_opt_t;

/* Table entries: CLI_OPT("--patient", CLI_REQUIRED), CLI_OPT_LIST("--reminder", 5). */
#define CLI_OPT(name_, flags_) {.name = (name_), .flags = (flags_)}
#define CLI_OPT_LIST(name_, max_) {.name = (name_), .flags = CLI_LIST, .max = (max_)}
#define CLI_COUNT(opts) (sizeof(opts) / sizeof((opts)[0]))
#define CLI_VALUE(opts, name) cli_value((opts), CLI_COUNT(opts), (name))
#define CLI_GET(opts, name) cli_get((opts), CLI_COUNT(opts), (name))

/* Parse argv[0..argc) against opts[0..n) (outputs reset first). Every
 * argument must be an option of the table; values are borrowed from argv.
 * 0, or ES_INVALID_ARGUMENT with why (size whylen) naming the culprit:
 * "unknown option --x", "--x needs a value", "missing --x",
 * "unexpected argument 'x'", "at most N --x". */
int cli_parse(int argc, char *const *argv, cli_opt_t *opts, size_t n, char *why, size_t whylen);

/* The option `name` of the table (a name not in it is a programmer error:
 * it asserts). */
const cli_opt_t *cli_get(const cli_opt_t *opts, size_t n, const char *name);

/* Its value (NULL when absent). */
const char *cli_value(const cli_opt_t *opts, size_t n, const char *name);

/* Print "error: [cmd: ]why" and the help text on stderr; returns 2. */
int cli_usage(const char *cmd, const char *why, const char *help);

/* Print "error: STATUS: message" on stderr; returns 1. */
int cli_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "error: STATUS: message (field F)" (field may be NULL or ""); returns 1. */
int cli_fail_field(int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Print espace's error as cli_fail_field does; returns 1. */
int cli_fail_err(const espace_error_t *err);

/* A decimal number: digits only, <= max. 0 and *out, or ES_INVALID_ARGUMENT. */
int cli_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* ms since the epoch as "2026-12-01T08:30:00Z" into out; returns out. */
const char *cli_iso_utc(int64_t ms, char out[CLI_TIME_MAX]);

/* Wall clock (ms since the epoch) and monotonic clock (ms). */
int64_t cli_wall_ms(void);
int64_t cli_mono_ms(void);

#endif
