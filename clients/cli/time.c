/* time.c - times as the command lines print and read them (cli.h): Paris
 * civil time with its offset (proto/civil_time.h). */
#include <stdio.h>
#include <string.h>

#include "clients/cli/cli.h"
#include "proto/civil_time.h"
#include "proto/status.h"

const char *cli_time_format(int64_t ms, char out[CLI_TIME_MAX])
{
    civil_utc_t t;
    int64_t off = civil_paris_offset_ms(ms);
    civil_utc_split(ms + off, &t);
    snprintf(out, CLI_TIME_MAX, "%04lld-%02u-%02u %02d:%02d +%02d:00", (long long)t.year,
             t.month, t.day, t.hour, t.min, (int)(off / 3600000));
    return out;
}

/* n digits at p into *out: 0, or -1. */
static int s_digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

/* "Z", "+HH", "+HH:MM", "+HHMM" (or '-') at s, the whole rest: 0 and *off_ms,
 * or -1. */
static int s_offset(const char *s, int64_t *off_ms)
{
    int h = 0, m = 0;
    if (!strcmp(s, "Z")) {
        *off_ms = 0;
        return 0;
    }
    if ((s[0] != '+' && s[0] != '-') || s_digits(s + 1, 2, &h))
        return -1;
    const char *rest = s + 3;
    if (*rest == ':')
        rest++;
    if (*rest) {
        if (s_digits(rest, 2, &m) || rest[2])
            return -1;
    }
    if (h > 14 || m > 59)
        return -1;
    *off_ms = (s[0] == '-' ? -1 : 1) * ((int64_t)h * 3600 + m * 60) * 1000;
    return 0;
}

int cli_time_parse(const char *s, int64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (!s || strlen(s) < 10 || s_digits(s, 4, &y) || s[4] != '-' || s_digits(s + 5, 2, &mo) ||
        s[7] != '-' || s_digits(s + 8, 2, &d))
        return ES_INVALID_ARGUMENT;
    const char *rest = s + 10;
    if (*rest == 'T' || *rest == ' ') {
        if (s_digits(rest + 1, 2, &h) || rest[3] != ':' || s_digits(rest + 4, 2, &mi))
            return ES_INVALID_ARGUMENT;
        rest += 6;
        if (*rest == ':') {
            if (s_digits(rest + 1, 2, &se))
                return ES_INVALID_ARGUMENT;
            rest += 3;
        }
        if (*rest == ' ') /* "09:30 +01:00", as printed */
            rest++;
    }
    int64_t off = 0;
    int zoned = *rest != '\0';
    if (zoned && s_offset(rest, &off) < 0)
        return ES_INVALID_ARGUMENT;
    if (y < 1970 || y > 9998 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59)
        return ES_INVALID_ARGUMENT;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return ES_INVALID_ARGUMENT;
    int64_t local = civil_days_from_date(y, (unsigned)mo, (unsigned)d) * CIVIL_DAY_MS +
                    ((int64_t)h * 3600 + mi * 60 + se) * 1000;
    if (zoned) {
        *ms = local - off;
        return 0;
    }
    /* Paris: summer time if that reading is in summer time, else winter */
    int64_t u = local - 7200000;
    if (civil_paris_offset_ms(u) != 7200000)
        u = local - 3600000;
    *ms = u;
    return 0;
}
