/*
 * json.c - the JSON writer (see json.h).
 */
#include "export/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/civil_time.h"

void json_init(json_t *j)
{
    memset(j, 0, sizeof *j);
}

void json_free(json_t *j)
{
    free(j->buf);
    json_init(j);
}

static void s_put(json_t *j, const char *s, size_t n)
{
    if (j->err)
        return;
    if (j->len + n + 1 > JSON_MAX_OUT) {
        j->err = 1;
        return;
    }
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 1024;
        while (cap < j->len + n + 1)
            cap *= 2;
        char *b = realloc(j->buf, cap);
        if (!b) {
            j->err = 1;
            return;
        }
        j->buf = b;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void s_lit(json_t *j, const char *s)
{
    s_put(j, s, strlen(s));
}

static void s_string(json_t *j, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    s_put(j, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && !j->err; p++) {
        switch (*p) {
        case '"': s_put(j, "\\\"", 2); break;
        case '\\': s_put(j, "\\\\", 2); break;
        case '\b': s_put(j, "\\b", 2); break;
        case '\f': s_put(j, "\\f", 2); break;
        case '\n': s_put(j, "\\n", 2); break;
        case '\r': s_put(j, "\\r", 2); break;
        case '\t': s_put(j, "\\t", 2); break;
        default:
            if (*p < 0x20) {
                char u[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 0xf]};
                s_put(j, u, sizeof u);
            } else {
                s_put(j, (const char *)p, 1);
            }
        }
    }
    s_put(j, "\"", 1);
}

/* Comma and key before a value. */
static void s_member(json_t *j, const char *key)
{
    if (j->err)
        return;
    if (j->depth > 0) {
        if (!j->first[j->depth - 1])
            s_put(j, ",", 1);
        j->first[j->depth - 1] = 0;
    } else if (j->len > 0) {
        j->err = 1; /* a second top-level value */
        return;
    }
    if (key) {
        s_string(j, key);
        s_put(j, ":", 1);
    }
}

static void s_open(json_t *j, const char *key, const char *ch)
{
    s_member(j, key);
    if (j->err)
        return;
    if (j->depth >= JSON_MAX_DEPTH) {
        j->err = 1;
        return;
    }
    s_lit(j, ch);
    j->first[j->depth++] = 1;
}

static void s_close(json_t *j, const char *ch)
{
    if (j->err)
        return;
    if (j->depth == 0) {
        j->err = 1;
        return;
    }
    j->depth--;
    s_lit(j, ch);
}

void json_obj_open(json_t *j, const char *key) { s_open(j, key, "{"); }
void json_obj_close(json_t *j) { s_close(j, "}"); }
void json_arr_open(json_t *j, const char *key) { s_open(j, key, "["); }
void json_arr_close(json_t *j) { s_close(j, "]"); }

void json_str(json_t *j, const char *key, const char *val)
{
    s_member(j, key);
    s_string(j, val);
}

void json_int(json_t *j, const char *key, int64_t val)
{
    char b[24];
    s_member(j, key);
    int n = snprintf(b, sizeof b, "%" PRId64, val);
    if (n > 0)
        s_put(j, b, (size_t)n);
}

void json_num(json_t *j, const char *key, double val)
{
    char b[40];
    if (!isfinite(val)) {
        j->err = 1; /* JSON has no NaN or infinity */
        return;
    }
    s_member(j, key);
    /* Shortest round-trip form for the values measures hold (%.15g keeps
     * 72.4 as 72.4, not 72.40000000000001). */
    int n = snprintf(b, sizeof b, "%.15g", val);
    if (n > 0)
        s_put(j, b, (size_t)n);
}

void json_instant(json_t *j, const char *key, int64_t ms)
{
    civil_utc_t u;
    civil_utc_split(ms, &u);
    char buf[40];
    snprintf(buf, sizeof buf, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%03dZ", u.year, u.month,
             u.day, u.hour, u.min, u.sec, u.ms);
    json_str(j, key, buf);
}

void json_bool(json_t *j, const char *key, int val)
{
    s_member(j, key);
    s_lit(j, val ? "true" : "false");
}

char *json_take(json_t *j, size_t *len)
{
    char *out = NULL;
    if (!j->err && j->depth == 0 && j->len > 0) {
        out = j->buf;
        if (len)
            *len = j->len;
        j->buf = NULL;
    }
    json_free(j);
    return out;
}
