/* kvfile.c - `key = value` files and secrets from env or stdin (kvfile.h). */
#include "process/kvfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/status.h"

static void s_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int s_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static char *s_trim(char *s)
{
    while (s_blank(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && s_blank(s[n - 1]))
        s[--n] = '\0';
    return s;
}

int kvfile_parse(const char *path, kvfile_pair_fn on_pair, void *ctx, char *err, size_t errlen)
{
    s_err(err, errlen, "%s", "");
    FILE *f = fopen(path, "r");
    if (!f) {
        s_err(err, errlen, "%s: %s", path, strerror(errno));
        return ES_NOT_FOUND;
    }
    char line[KVFILE_LINE_MAX];
    int rc = 0;
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            s_err(err, errlen, "%s:%u: line too long", path, lineno);
            rc = ES_INVALID_ARGUMENT;
            goto close_file;
        }
        char *s = s_trim(line);
        if (!*s || *s == '#') /* whole-line comments only: values may hold '#' */
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            s_err(err, errlen, "%s:%u: expected key = value", path, lineno);
            rc = ES_INVALID_ARGUMENT;
            goto close_file;
        }
        *eq = '\0';
        const char *key = s_trim(s);
        const char *val = s_trim(eq + 1);
        if (!*key) {
            s_err(err, errlen, "%s:%u: expected key = value", path, lineno);
            rc = ES_INVALID_ARGUMENT;
            goto close_file;
        }
        int r = on_pair(key, val, ctx);
        if (r == ES_NOT_FOUND) {
            s_err(err, errlen, "%s:%u: unknown key '%.64s'", path, lineno, key);
            rc = ES_INVALID_ARGUMENT;
            goto close_file;
        }
        if (r < 0) {
            s_err(err, errlen, "%s:%u: bad value for %.64s", path, lineno, key);
            rc = ES_INVALID_ARGUMENT;
            goto close_file;
        }
    }
    if (ferror(f)) {
        s_err(err, errlen, "%s: read error", path);
        rc = ES_INTERNAL;
    }
close_file:
    /* the buffer may have held a secret value */
    memset(line, 0, sizeof line);
    __asm__ __volatile__("" : : "r"(line) : "memory");
    fclose(f);
    return rc;
}

int kvfile_secret(const char *env_name, const char *prompt, char *out, size_t n)
{
    if (!out || n < 2)
        return ES_TOO_LARGE;
    const char *env = env_name ? getenv(env_name) : NULL;
    int rc = 0;
    if (env) {
        size_t len = strlen(env);
        if (len >= n) {
            rc = ES_TOO_LARGE;
            goto wipe;
        }
        memcpy(out, env, len + 1);
    } else {
        if (prompt && isatty(STDIN_FILENO))
            fputs(prompt, stderr);
        int cap = n > (size_t)0x7fffffff ? 0x7fffffff : (int)n;
        if (!fgets(out, cap, stdin)) {
            rc = ES_NOT_FOUND;
            goto wipe;
        }
        size_t len = strlen(out);
        if (len > 0 && out[len - 1] == '\n')
            out[--len] = '\0';
        else if (!feof(stdin)) {
            rc = ES_TOO_LARGE; /* line cut: not the whole secret */
            goto wipe;
        }
        if (len > 0 && out[len - 1] == '\r')
            out[--len] = '\0';
    }
    if (!out[0])
        rc = ES_NOT_FOUND;
    if (rc == 0)
        return 0;
wipe:
    memset(out, 0, n);
    __asm__ __volatile__("" : : "r"(out) : "memory");
    return rc;
}
