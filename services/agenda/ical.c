/*
 * ical.c - iCalendar (RFC 5545) export of agenda events (agenda_int.h).
 *
 * Lines end with CRLF and are folded at 75 octets (never inside a UTF-8
 * sequence; continuation lines start with one space). TEXT values escape
 * backslash, semicolon, comma and newline (3.3.11). Timed events are in UTC
 * ("Z"), all-day events are DATE values of their Europe/Paris days (DTEND
 * exclusive). UIDs are "<event id hex>@espace", stable across exports.
 * Mapping (REFERENCE.md 3.3): STATUS TENTATIVE (proposed, pending,
 * waitlist) / CONFIRMED / CANCELLED (cancelled, entered-in-error);
 * ATTENDEE ROLE from required, PARTSTAT from the answer; one VALARM per
 * reminder; SEQUENCE = version - 1; CATEGORIES = kind.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/agenda/agenda_int.h"

#define ICS_FOLD 75

typedef struct ics_buf {
    char *p;      /* output */
    size_t len;
    size_t cap;
    int err;      /* allocation failed */
    char *line;   /* logical line being built */
    size_t llen;
    size_t lcap;
} ics_buf_t;

static int s_grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 1024;
    while (n < need)
        n *= 2;
    char *q = realloc(*p, n);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static void s_out(ics_buf_t *b, const char *s, size_t n)
{
    if (b->err || s_grow(&b->p, &b->cap, b->len + n + 1) != 0) {
        b->err = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Append raw bytes to the logical line. */
static void s_raw(ics_buf_t *b, const char *s, size_t n)
{
    if (b->err || s_grow(&b->line, &b->lcap, b->llen + n + 1) != 0) {
        b->err = 1;
        return;
    }
    memcpy(b->line + b->llen, s, n);
    b->llen += n;
}

static void s_rawf(ics_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_rawf(ics_buf_t *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->err = 1;
        return;
    }
    s_raw(b, tmp, (size_t)n);
}

/* TEXT value with RFC 5545 escapes; other control characters dropped. */
static void s_text(ics_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        char ch = *s;
        if (ch == '\\' || ch == ';' || ch == ',') {
            char e[2] = {'\\', ch};
            s_raw(b, e, 2);
        } else if (ch == '\n') {
            s_raw(b, "\\n", 2);
        } else if ((unsigned char)ch < 0x20 || ch == 0x7f) {
            continue; /* \r, \t and the like */
        } else {
            s_raw(b, &ch, 1);
        }
    }
}

/* Parameter value: quoted, without DQUOTE or control characters. */
static void s_param(ics_buf_t *b, const char *s)
{
    s_raw(b, "\"", 1);
    for (; s && *s; s++) {
        char ch = *s == '"' ? '\'' : *s;
        if ((unsigned char)ch < 0x20 || ch == 0x7f)
            continue;
        s_raw(b, &ch, 1);
    }
    s_raw(b, "\"", 1);
}

/* Emit the logical line folded, with CRLF, and start a new one. */
static void s_end(ics_buf_t *b)
{
    size_t i = 0, room = ICS_FOLD;
    while (!b->err && i < b->llen) {
        size_t n = b->llen - i;
        if (n > room) {
            n = room;
            /* never cut a UTF-8 sequence: back off to a lead byte */
            while (n > 0 && ((unsigned char)b->line[i + n] & 0xC0) == 0x80)
                n--;
        }
        s_out(b, b->line + i, n);
        i += n;
        if (i < b->llen) {
            s_out(b, "\r\n ", 3);
            room = ICS_FOLD - 1;
        }
    }
    s_out(b, "\r\n", 2);
    b->llen = 0;
}

static void s_prop(ics_buf_t *b, const char *name, const char *text)
{
    s_raw(b, name, strlen(name));
    s_raw(b, ":", 1);
    s_text(b, text);
    s_end(b);
}

static void s_utc(ics_buf_t *b, const char *name, int64_t ms)
{
    civil_utc_t u;
    civil_utc_split(ms, &u);
    s_rawf(b, "%s:%04" PRId64 "%02u%02uT%02d%02d%02dZ", name, u.year, u.month, u.day, u.hour,
           u.min, u.sec);
    s_end(b);
}

static void s_date(ics_buf_t *b, const char *name, int64_t ms)
{
    int64_t y;
    unsigned mo, d;
    civil_paris_date(ms, &y, &mo, &d);
    s_rawf(b, "%s;VALUE=DATE:%04" PRId64 "%02u%02u", name, y, mo, d);
    s_end(b);
}

static const char *s_role(int r)
{
    switch (r) {
    case ESPACE__V1__AGENDA_REQUIRED__AGENDA_REQUIRED_OPTIONAL:
        return "OPT-PARTICIPANT";
    case ESPACE__V1__AGENDA_REQUIRED__AGENDA_REQUIRED_INFORMATION_ONLY:
        return "NON-PARTICIPANT";
    default:
        return "REQ-PARTICIPANT";
    }
}

static const char *s_partstat(int a)
{
    switch (a) {
    case ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_ACCEPTED:
        return "ACCEPTED";
    case ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_DECLINED:
        return "DECLINED";
    case ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_TENTATIVE:
        return "TENTATIVE";
    default:
        return "NEEDS-ACTION";
    }
}

static const char *s_urn(int actor)
{
    switch (actor) {
    case ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PROFESSIONAL:
        return "urn:espace:rpps:";
    case ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_ORGANIZATION:
        return "urn:espace:finess:";
    default:
        return "urn:espace:patient:";
    }
}

static void s_event(ics_buf_t *b, const Espace__V1__AgendaEvent *e, int64_t stamp)
{
    char hex[ID_HEX];
    if (e->id.len != ID_BYTES)
        return;
    s_prop(b, "BEGIN", "VEVENT");
    s_rawf(b, "UID:%s@espace", id_hex(e->id.data, hex));
    s_end(b);
    s_utc(b, "DTSTAMP", stamp);
    if (e->all_day) {
        s_date(b, "DTSTART", e->start_ms);
        s_date(b, "DTEND", e->end_ms);
    } else {
        s_utc(b, "DTSTART", e->start_ms);
        s_utc(b, "DTEND", e->end_ms);
    }
    s_prop(b, "SUMMARY", e->title);
    if (e->description && e->description[0])
        s_prop(b, "DESCRIPTION", e->description);
    if (e->location && e->location[0])
        s_prop(b, "LOCATION", e->location);
    s_prop(b, "STATUS", agenda_status_ical(e->status));
    s_rawf(b, "SEQUENCE:%" PRIu64, e->version > 0 ? e->version - 1 : 0);
    s_end(b);
    if (e->created_ms > 0)
        s_utc(b, "CREATED", e->created_ms);
    if (e->updated_ms > 0)
        s_utc(b, "LAST-MODIFIED", e->updated_ms);
    const char *kind = agenda_kind_name(e->kind);
    if (kind)
        s_prop(b, "CATEGORIES", kind);
    for (size_t i = 0; i < e->n_participants; i++) {
        const Espace__V1__AgendaParticipant *p = e->participants[i];
        s_raw(b, "ATTENDEE", 8);
        if (p->display && p->display[0]) {
            s_raw(b, ";CN=", 4);
            s_param(b, p->display);
        }
        s_rawf(b, ";ROLE=%s;PARTSTAT=%s:%s", s_role(p->required), s_partstat(p->answer),
               s_urn(p->actor_type));
        s_raw(b, p->actor_id, strlen(p->actor_id)); /* validated: [0-9a-fAB] */
        s_end(b);
    }
    for (size_t i = 0; i < e->n_reminder_minutes; i++) {
        uint32_t m = e->reminder_minutes[i];
        s_prop(b, "BEGIN", "VALARM");
        s_prop(b, "ACTION", "DISPLAY");
        s_prop(b, "DESCRIPTION", e->title);
        if (m == 0)
            s_rawf(b, "TRIGGER:PT0S");
        else if (m % 1440 == 0)
            s_rawf(b, "TRIGGER:-P%" PRIu32 "D", m / 1440);
        else
            s_rawf(b, "TRIGGER:-PT%" PRIu32 "M", m);
        s_end(b);
        s_prop(b, "END", "VALARM");
    }
    s_prop(b, "END", "VEVENT");
}

char *agenda_ics(Espace__V1__AgendaEvent *const *events, size_t n, int64_t stamp_ms,
                 size_t *len)
{
    ics_buf_t b;
    memset(&b, 0, sizeof b);
    s_prop(&b, "BEGIN", "VCALENDAR");
    s_prop(&b, "VERSION", "2.0");
    s_rawf(&b, "PRODID:-//espace//agenda//FR");
    s_end(&b);
    s_prop(&b, "CALSCALE", "GREGORIAN");
    s_prop(&b, "METHOD", "PUBLISH");
    for (size_t i = 0; i < n; i++)
        s_event(&b, events[i], stamp_ms);
    s_prop(&b, "END", "VCALENDAR");
    free(b.line);
    if (b.err) {
        free(b.p);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}
