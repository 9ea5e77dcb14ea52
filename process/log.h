/*
 * log.h - one line per event, in logfmt, on stderr.
 *
 *   ts=2026-11-25T10:00:00.123Z level=info comp=broker event=worker.ready service=identity
 *
 * Callers add key=value pairs with a printf format. Values that may hold
 * spaces, quotes or control characters go through log_quote(). Never log
 * personal or health data, secrets or tokens: log ids, codes and sizes.
 *
 * THREAD SAFETY: log_* may be called from any thread; each line is written
 * with one write(2), so lines never interleave.
 */
#ifndef ES_LOG_H
#define ES_LOG_H

#include <stddef.h>

typedef enum log_level {
    LOG_DEBUG = 0,
    LOG_INFO = 1,
    LOG_WARN = 2,
    LOG_ERROR = 3
} log_level_t;

#define LOG_MAX_LINE 2048 /* longer lines are truncated */

/* Lines below `level` are dropped. Default LOG_INFO; ESPACE_LOG=debug|info|
 * warn|error in the environment sets it at the first log call. */
void log_set_level(log_level_t level);

/* Write one line: ts, level, comp, event, then the formatted pairs (fmt may
 * be NULL or ""; prefer NULL, as gcc warns on ""). A CR or LF inside the
 * pairs becomes a space, so one call is always one line. A line, newline
 * included, is at most LOG_MAX_LINE bytes. errno is preserved. */
void log_event(log_level_t level, const char *comp, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_debug(comp, event, ...) log_event(LOG_DEBUG, comp, event, __VA_ARGS__)
#define log_info(comp, event, ...) log_event(LOG_INFO, comp, event, __VA_ARGS__)
#define log_warn(comp, event, ...) log_event(LOG_WARN, comp, event, __VA_ARGS__)
#define log_error(comp, event, ...) log_event(LOG_ERROR, comp, event, __VA_ARGS__)

/* Quote s for logfmt into buf (size n): "..." with \" \\ \n escaped and
 * other control bytes as \xHH; truncated to fit. Returns buf. */
const char *log_quote(const char *s, char *buf, size_t n);

/* Hex of len bytes into buf (size >= 2*len+1); truncated to fit. Returns buf. */
const char *log_hex(const void *data, size_t len, char *buf, size_t n);

#endif
