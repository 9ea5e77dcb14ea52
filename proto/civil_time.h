/*
 * civil_time.h - civil dates (proleptic Gregorian, H. Hinnant's algorithms)
 * and Europe/Paris time, without the C library's time zone state (TZ, tzset
 * and localtime are process-global, and services run on threads).
 *
 * Europe/Paris is UTC+1 (CET), and UTC+2 (CEST) from the last Sunday of
 * March 01:00 UTC to the last Sunday of October 01:00 UTC: the EU rule since
 * 1996, applied to every year here (dates before 1996 are approximate).
 * Times are ms since the epoch, UTC, like every `_ms` field of the API.
 *
 * THREAD SAFETY: pure functions.
 */
#ifndef ES_CIVIL_TIME_H
#define ES_CIVIL_TIME_H

#include <stdint.h>

#define CIVIL_DAY_MS 86400000LL /* one civil day of UTC */

/* Days since 1970-01-01 of y-m-d, and back. */
int64_t civil_days_from_date(int64_t y, unsigned m, unsigned d);
void civil_date_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* The UTC civil date and time of ms since the epoch (negative ms too). */
typedef struct civil_utc {
    int64_t year;
    unsigned month, day;
    int hour, min, sec, ms;
} civil_utc_t;
void civil_utc_split(int64_t ms, civil_utc_t *out);

/* UTC offset of Europe/Paris at utc_ms: 3600000 (CET) or 7200000 (CEST). */
int64_t civil_paris_offset_ms(int64_t utc_ms);
/* UTC instant of 00:00 Paris time on y-m-d. */
int64_t civil_paris_midnight(int64_t y, unsigned m, unsigned d);
/* Paris civil date of utc_ms. */
void civil_paris_date(int64_t utc_ms, int64_t *y, unsigned *m, unsigned *d);
/* 1 if utc_ms is 00:00:00.000 Paris time. */
int civil_paris_is_midnight(int64_t utc_ms);
/* UTC instant of the Paris midnight that follows the day of utc_ms. */
int64_t civil_paris_next_midnight(int64_t utc_ms);

#endif
