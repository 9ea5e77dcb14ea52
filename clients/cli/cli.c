/* cli.c - shared helpers of espace's command lines (cli.h). */
#include "clients/cli/cli.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proto/status.h"

static int s_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_why(char *why, size_t whylen, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return ES_INVALID_ARGUMENT;
}

static cli_opt_t *s_find(cli_opt_t *opts, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(opts[i].name, name))
            return &opts[i];
    return NULL;
}

int cli_parse(int argc, char *const *argv, cli_opt_t *opts, size_t n, char *why, size_t whylen)
{
    for (size_t i = 0; i < n; i++) {
        opts[i].value = NULL;
        opts[i].n = 0;
        memset(opts[i].list, 0, sizeof opts[i].list);
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-')
            return s_why(why, whylen, "unexpected argument '%.64s'", a);
        cli_opt_t *o = s_find(opts, n, a);
        if (!o)
            return s_why(why, whylen, "unknown option %.64s", a);
        if (o->flags & CLI_SWITCH) {
            o->value = "";
            o->n++;
            continue;
        }
        if (i + 1 >= argc)
            return s_why(why, whylen, "%s needs a value", o->name);
        const char *v = argv[++i];
        if (o->flags & CLI_LIST) {
            size_t max = o->max && o->max < CLI_LIST_MAX ? o->max : CLI_LIST_MAX;
            if (o->n >= max)
                return s_why(why, whylen, "at most %zu %s", max, o->name);
            o->list[o->n] = v;
        }
        o->value = v;
        o->n++;
    }
    for (size_t i = 0; i < n; i++)
        if ((opts[i].flags & CLI_REQUIRED) && !opts[i].value)
            return s_why(why, whylen, "missing %s", opts[i].name);
    return 0;
}

const cli_opt_t *cli_get(const cli_opt_t *opts, size_t n, const char *name)
{
    const cli_opt_t *o = s_find((cli_opt_t *)opts, n, name);
    assert(o && "option not in the command's table");
    return o;
}

const char *cli_value(const cli_opt_t *opts, size_t n, const char *name)
{
    return cli_get(opts, n, name)->value;
}

static int s_vfail(int status, const char *field, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static int s_vfail(int status, const char *field, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (field && *field)
        fprintf(stderr, "error: %s: %s (field %s)\n", es_status_name(status), msg, field);
    else
        fprintf(stderr, "error: %s: %s\n", es_status_name(status), msg);
    return 1;
}

int cli_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = s_vfail(status, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_fail_field(int status, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = s_vfail(status, field, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_fail_err(const espace_error_t *err)
{
    return cli_fail_field(err->status, err->field, "%s", err->message);
}

int cli_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || !*s)
        return ES_INVALID_ARGUMENT;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return ES_INVALID_ARGUMENT;
        uint64_t d = (uint64_t)(*p - '0');
        if (d > max || v > (max - d) / 10)
            return ES_INVALID_ARGUMENT;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

const char *cli_iso_utc(int64_t ms, char out[CLI_TIME_MAX])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, CLI_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, CLI_TIME_MAX, "?");
    return out;
}

static int64_t s_clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cli_wall_ms(void)
{
    return s_clock_ms(CLOCK_REALTIME);
}

int64_t cli_mono_ms(void)
{
    return s_clock_ms(CLOCK_MONOTONIC);
}
