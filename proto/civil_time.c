/* civil_time.c - civil dates and Europe/Paris time (civil_time.h). */
#include "proto/civil_time.h"

static int64_t s_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

void civil_utc_split(int64_t ms, civil_utc_t *out)
{
    int64_t secs = s_floor_div(ms, 1000);
    int64_t days = s_floor_div(secs, 86400);
    int64_t rem = secs - days * 86400;
    civil_date_from_days(days, &out->year, &out->month, &out->day);
    out->hour = (int)(rem / 3600);
    out->min = (int)(rem / 60 % 60);
    out->sec = (int)(rem % 60);
    out->ms = (int)(ms - secs * 1000);
}

int64_t civil_days_from_date(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mm = m > 2 ? (int64_t)m - 3 : (int64_t)m + 9;
    int64_t doy = (153 * mm + 2) / 5 + (int64_t)d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void civil_date_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Day number of the last Sunday of month m (31 days: March, October). */
static int64_t s_last_sunday(int64_t y, unsigned m)
{
    int64_t days = civil_days_from_date(y, m, 31);
    int64_t wd = ((days % 7) + 7 + 4) % 7; /* 0 = Sunday; 1970-01-01 was a Thursday */
    return days - wd;
}

int64_t civil_paris_offset_ms(int64_t utc_ms)
{
    int64_t y;
    unsigned m, d;
    civil_date_from_days(s_floor_div(utc_ms, CIVIL_DAY_MS), &y, &m, &d);
    int64_t start = s_last_sunday(y, 3) * CIVIL_DAY_MS + 3600000;
    int64_t end = s_last_sunday(y, 10) * CIVIL_DAY_MS + 3600000;
    return (utc_ms >= start && utc_ms < end) ? 7200000 : 3600000;
}

int64_t civil_paris_midnight(int64_t y, unsigned m, unsigned d)
{
    int64_t local = civil_days_from_date(y, m, d) * CIVIL_DAY_MS;
    /* Midnight is never in a gap nor repeated (changes happen at 02:00/03:00). */
    if (civil_paris_offset_ms(local - 7200000) == 7200000)
        return local - 7200000;
    return local - 3600000;
}

void civil_paris_date(int64_t utc_ms, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t local = utc_ms + civil_paris_offset_ms(utc_ms);
    civil_date_from_days(s_floor_div(local, CIVIL_DAY_MS), y, m, d);
}

int civil_paris_is_midnight(int64_t utc_ms)
{
    int64_t local = utc_ms + civil_paris_offset_ms(utc_ms);
    return local - s_floor_div(local, CIVIL_DAY_MS) * CIVIL_DAY_MS == 0;
}

int64_t civil_paris_next_midnight(int64_t utc_ms)
{
    int64_t local = utc_ms + civil_paris_offset_ms(utc_ms);
    int64_t y;
    unsigned m, d;
    civil_date_from_days(s_floor_div(local, CIVIL_DAY_MS) + 1, &y, &m, &d);
    return civil_paris_midnight(y, m, d);
}
