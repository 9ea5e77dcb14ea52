/* when.c - espace-pro's agenda times in Europe/Paris (pro.h). */
#include <stdio.h>
#include <string.h>

#include "clients/pro/pro.h"
#include "proto/civil_time.h"

const char *pro_paris_format(int64_t ms, char out[CLI_TIME_MAX])
{
    civil_utc_t t;
    civil_utc_split(ms + civil_paris_offset_ms(ms), &t);
    snprintf(out, CLI_TIME_MAX, "%04lld-%02u-%02u %02d:%02d", (long long)t.year, t.month, t.day,
             t.hour, t.min);
    return out;
}

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

int pro_parse_time(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, se = 0;
    size_t len = strlen(s);
    if (len < 16 || s_digits(s, 4, &y) || s[4] != '-' || s_digits(s + 5, 2, &mo) ||
        s[7] != '-' || s_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') ||
        s_digits(s + 11, 2, &h) || s[13] != ':' || s_digits(s + 14, 2, &mi))
        return ES_INVALID_ARGUMENT;
    const char *rest = s + 16;
    if (*rest == ':') {
        if (s_digits(rest + 1, 2, &se))
            return ES_INVALID_ARGUMENT;
        rest += 3;
    }
    int utc = 0;
    if (*rest == 'Z') {
        utc = 1;
        rest++;
    }
    if (*rest || y < 1970 || y > 9998 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 ||
        se > 59)
        return ES_INVALID_ARGUMENT;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return ES_INVALID_ARGUMENT;
    int64_t local = civil_days_from_date(y, (unsigned)mo, (unsigned)d) * CIVIL_DAY_MS +
                    ((int64_t)h * 3600 + mi * 60 + se) * 1000;
    int64_t u = local;
    if (!utc) {
        u = local - 7200000;
        if (civil_paris_offset_ms(u) != 7200000)
            u = local - 3600000;
    }
    *ms = u;
    return 0;
}
