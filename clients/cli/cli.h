/*
 * cli.h - what espace's command lines share (espace-pro, `espace admin`):
 * per-command option tables, the error lines and exit codes, numbers and
 * times as text.
 *
 * Exit codes: 0 done, 1 error ("error: STATUS: message[ (field F)]" on
 * stderr), 2 usage error: the one thing that is wrong and where the help is
 * ("error: agenda create: missing --end" then "see: espace-pro agenda create
 * --help").
 *
 * Help (help.c): each binary has one usage text, the manual of all its
 * commands; the help of one command is cut out of it (cli_help), so a
 * command is documented once. The text's first line is "usage: PROG
 * [options] COMMAND"; an unindented line opens a section ("commands:",
 * "options:", notes); in "commands:" each entry's first line is indented by
 * two spaces and starts with the command's words ("agenda create --patient P
 * ..."), its other lines are indented more. Command words are the lower-case
 * words before the first option, placeholder or double space.
 *
 * Times (time.c): printed in Europe/Paris with the offset ("2026-12-04 09:30
 * +01:00"); read as a date alone (Paris midnight), a Paris time, or a time
 * with an explicit offset or Z.
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
#include <stdio.h>
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

/* A usage error of the command `cmd` (its words, "agenda create"; NULL for
 * the binary itself) of the usage text `help`: prints "error: cmd: why" and
 * "see: PROG cmd --help" on stderr (PROG: the usage's first line), not the manual; returns 2. */
int cli_usage(const char *cmd, const char *why, const char *help);

/* Print the help of the command of nwords words (e.g. {"agenda", "create"};
 * {"agenda"}: all its subcommands) to f: its entries of `usage`, then the
 * sections after "commands:". 0, or ES_NOT_FOUND when no entry starts with
 * these words (nothing printed). */
int cli_help(FILE *f, const char *usage, int nwords, char *const *words);

/* Print the command words of every entry of `usage`, one line each, after
 * `prefix` and a space (prefix NULL or "": none): "agenda create". */
void cli_help_commands(FILE *f, const char *prefix, const char *usage);

/* 1 if arg asks for help ("--help", "-h"). */
int cli_is_help(const char *arg);

/* Print "PROG VERSION" (the project's version) on stdout; returns 0. */
int cli_version(const char *prog);

/* Print "error: STATUS: message" on stderr; returns 1. */
int cli_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "error: STATUS: message (field F)" (field may be NULL or ""); returns 1. */
int cli_fail_field(int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Print espace's error as cli_fail_field does; returns 1. */
int cli_fail_err(const espace_error_t *err);

/* Why a tcp broker does not answer: 0 if a TCP connection to the
 * endpoint ("tcp://HOST:PORT") opens within a second (then it is the
 * CURVE handshake: a key), ES_UNAVAILABLE if none does (nothing listens),
 * ES_INVALID_ARGUMENT if it is not such an endpoint. */
int cli_tcp_probe(const char *endpoint);

/* Print err as cli_fail_err does, but an UNAVAILABLE of a tcp endpoint
 * says which it is: "no answer from tcp://H:P: nothing listens there" or
 * "...: it listens but refuses this software's key"; returns 1. */
int cli_fail_conn(const espace_error_t *err, const char *endpoint);

/* A decimal number: digits only, <= max. 0 and *out, or ES_INVALID_ARGUMENT. */
int cli_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* ms since the epoch as "2026-12-01T08:30:00Z" into out; returns out. */
const char *cli_iso_utc(int64_t ms, char out[CLI_TIME_MAX]);

/* ms since the epoch as Paris time with its offset, "2026-12-01 09:30
 * +01:00", into out; returns out. */
const char *cli_time_format(int64_t ms, char out[CLI_TIME_MAX]);

/* A time as people type it: "2026-12-01" (00:00 Paris), "2026-12-01T09:30"
 * or "2026-12-01 09:30[:SS]" (Paris), followed or not by an offset: "Z",
 * "+01:00", "+0100", "+01", "-05:00" (a space may come before it, as
 * cli_time_format prints). A Paris time in the spring gap is read as winter
 * time; in the autumn overlap the first (summer) one is taken. 0 and *ms, or
 * ES_INVALID_ARGUMENT. */
int cli_time_parse(const char *s, int64_t *ms);

/* Wall clock (ms since the epoch) and monotonic clock (ms). */
int64_t cli_wall_ms(void);
int64_t cli_mono_ms(void);

#endif
