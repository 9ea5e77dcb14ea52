/*
 * log.c - logfmt lines on stderr (see log.h).
 *
 * Each line is built in a stack buffer of LOG_MAX_LINE bytes and written
 * with one write(2). LOG_MAX_LINE < PIPE_BUF, so lines written to a pipe are
 * atomic; on a file or a terminal one write per line keeps them whole too.
 */
#include "process/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int s_level = LOG_INFO;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static const char *const s_names[] = {"debug", "info", "warn", "error"};

/* Read ESPACE_LOG once. Unknown values keep the default. */
static void s_init(void)
{
    const char *env = getenv("ESPACE_LOG");
    if (!env)
        return;
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
        if (strcasecmp(env, s_names[i]) == 0) {
            atomic_store(&s_level, i);
            return;
        }
    }
    if (strcasecmp(env, "warning") == 0)
        atomic_store(&s_level, LOG_WARN);
}

void log_set_level(log_level_t level)
{
    /* Read the environment first, so an explicit call wins over it. */
    pthread_once(&s_once, s_init);
    if ((int)level < LOG_DEBUG)
        level = LOG_DEBUG;
    if ((int)level > LOG_ERROR)
        level = LOG_ERROR;
    atomic_store(&s_level, (int)level);
}

/* write(2) the whole buffer, retrying on EINTR and short writes. */
static void s_write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere to report it */
        }
        p += w;
        n -= (size_t)w;
    }
}

void log_event(log_level_t level, const char *comp, const char *event, const char *fmt, ...)
{
    pthread_once(&s_once, s_init);
    if ((int)level < atomic_load(&s_level))
        return;
    if ((int)level < LOG_DEBUG || (int)level > LOG_ERROR)
        level = LOG_ERROR;

    int saved_errno = errno;
    char line[LOG_MAX_LINE];
    const size_t cap = sizeof line - 1; /* room kept for the newline */

    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    size_t sl = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    stamp[sl] = '\0';

    int n = snprintf(line, cap + 1, "ts=%s.%03ldZ level=%s comp=%s event=%s", stamp,
                     ts.tv_nsec / 1000000L, s_names[level], comp ? comp : "-",
                     event ? event : "-");
    size_t len = n < 0 ? 0 : (size_t)n > cap ? cap : (size_t)n;

    if (fmt && fmt[0] && len < cap) {
        line[len++] = ' ';
        size_t start = len;
        va_list ap;
        va_start(ap, fmt);
        n = vsnprintf(line + len, cap + 1 - len, fmt, ap);
        va_end(ap);
        if (n < 0)
            n = 0;
        len = (size_t)n > cap - len ? cap : len + (size_t)n;
        /* One event, one line: a raw newline in a value would forge a line. */
        for (size_t i = start; i < len; i++) {
            if (line[i] == '\n' || line[i] == '\r')
                line[i] = ' ';
        }
    }
    line[len++] = '\n';
    s_write_all(line, len);
    errno = saved_errno;
}

const char *log_quote(const char *s, char *buf, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (!buf || n == 0)
        return buf;
    if (n < 3) { /* no room for two quotes */
        buf[0] = '\0';
        return buf;
    }
    size_t o = 0;
    buf[o++] = '"';
    /* Keep room for the closing quote and the NUL. */
    const size_t stop = n - 2;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        char esc[4];
        size_t el;
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            el = 2;
        } else if (*p == '\n') {
            esc[0] = '\\';
            esc[1] = 'n';
            el = 2;
        } else if (*p < 0x20 || *p == 0x7f) {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[*p >> 4];
            esc[3] = hex[*p & 0xf];
            el = 4;
        } else {
            esc[0] = (char)*p;
            el = 1;
        }
        if (o + el > stop)
            break; /* truncated, never in the middle of an escape */
        memcpy(buf + o, esc, el);
        o += el;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

const char *log_hex(const void *data, size_t len, char *buf, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (!buf || n == 0)
        return buf;
    size_t max = (n - 1) / 2;
    if (len > max)
        len = max;
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        buf[2 * i] = hex[p[i] >> 4];
        buf[2 * i + 1] = hex[p[i] & 0xf];
    }
    buf[2 * len] = '\0';
    return buf;
}
