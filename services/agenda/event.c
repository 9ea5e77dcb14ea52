/*
 * event.c - validation of agenda events and the status state machine
 * (agenda_int.h). Pure: no store, no bus.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "services/agenda/agenda_int.h"
#include "bus/codec.h"
#include "proto/rpps.h"
#include "proto/status.h"

#define ST(x) ESPACE__V1__AGENDA_STATUS__AGENDA_STATUS_##x
#define BIT(x) (1u << (unsigned)ST(x))

/* ---- the state machine ---- */

static unsigned s_next(int from)
{
    switch (from) {
    case ST(PROPOSED):
        return BIT(PENDING) | BIT(BOOKED) | BIT(CANCELLED);
    case ST(PENDING):
        return BIT(BOOKED) | BIT(CANCELLED);
    case ST(BOOKED):
        return BIT(ARRIVED) | BIT(CHECKED_IN) | BIT(FULFILLED) | BIT(CANCELLED) | BIT(NOSHOW);
    case ST(ARRIVED):
    case ST(CHECKED_IN):
        return BIT(FULFILLED);
    case ST(WAITLIST):
        return BIT(BOOKED) | BIT(CANCELLED);
    default:
        return 0;
    }
}

static int s_status_known(int s)
{
    return s >= ST(PROPOSED) && s <= ST(WAITLIST);
}

int agenda_status_can_move(int from, int to)
{
    if (!s_status_known(from) || !s_status_known(to) || from == to)
        return 0;
    if (to == ST(ENTERED_IN_ERROR))
        return 1;
    return (s_next(from) & (1u << (unsigned)to)) != 0;
}

int agenda_status_final(int s)
{
    return s == ST(FULFILLED) || s == ST(CANCELLED) || s == ST(NOSHOW) ||
           s == ST(ENTERED_IN_ERROR);
}

int agenda_status_initial(int s)
{
    return s_status_known(s) && s != ST(CANCELLED) && s != ST(ENTERED_IN_ERROR);
}

const char *agenda_status_code(int s)
{
    static const char *codes[] = {NULL,        "proposed", "pending",   "booked",
                                  "arrived",   "fulfilled", "cancelled", "noshow",
                                  "entered-in-error", "checked-in", "waitlist"};
    return s_status_known(s) ? codes[s] : NULL;
}

const char *agenda_status_ical(int s)
{
    switch (s) {
    case ST(PROPOSED):
    case ST(PENDING):
    case ST(WAITLIST):
        return "TENTATIVE";
    case ST(CANCELLED):
    case ST(ENTERED_IN_ERROR):
        return "CANCELLED";
    default:
        return "CONFIRMED";
    }
}

const char *agenda_kind_name(int k)
{
    switch (k) {
    case ESPACE__V1__AGENDA_KIND__AGENDA_KIND_RDV:
        return "RDV";
    case ESPACE__V1__AGENDA_KIND__AGENDA_KIND_HOSPITALISATION:
        return "HOSPITALISATION";
    case ESPACE__V1__AGENDA_KIND__AGENDA_KIND_RAPPEL:
        return "RAPPEL";
    case ESPACE__V1__AGENDA_KIND__AGENDA_KIND_TACHE_SANTE:
        return "TACHE_SANTE";
    default:
        return NULL;
    }
}

/* ---- errors ---- */

static int s_err(agenda_err_t *err, int status, const char *prefix, const char *field,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int s_err(agenda_err_t *err, int status, const char *prefix, const char *field,
                 const char *fmt, ...)
{
    err->status = status;
    snprintf(err->field, sizeof err->field, "%s%s", prefix ? prefix : "", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return status;
}

/* ---- identifiers ---- */

int agenda_finess_valid(const char *s)
{
    if (!s || strlen(s) != 9)
        return 0;
    for (size_t i = 0; i < 9; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == 'A' || s[i] == 'B'))
            return 0;
    return 1;
}

/* ---- texts and times ---- */

int agenda_text_check(const char *s, size_t min, size_t max, int multiline, const char *field,
                      agenda_err_t *err)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    if (!codec_utf8_valid(s, n))
        return s_err(err, ES_INVALID_ARGUMENT, NULL, field, "invalid UTF-8");
    size_t chars = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch & 0xC0) != 0x80)
            chars++;
        int ctl = ch < 0x20 || ch == 0x7f ||
                  (ch == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
                   (unsigned char)s[i + 1] <= 0x9f);
        if (ctl && !(multiline && (ch == '\n' || ch == '\t' || ch == '\r')))
            return s_err(err, ES_INVALID_ARGUMENT, NULL, field, "control character");
    }
    if (chars < min)
        return s_err(err, ES_INVALID_ARGUMENT, NULL, field, "required");
    if (chars > max)
        return s_err(err, ES_INVALID_ARGUMENT, NULL, field, "longer than %zu characters", max);
    return ES_OK;
}

int agenda_times_check(int64_t start, int64_t end, int all_day, const char *prefix,
                       int64_t *end_out, agenda_err_t *err)
{
    if (start <= 0 || start >= AGENDA_MAX_TIME_MS)
        return s_err(err, ES_INVALID_ARGUMENT, prefix, "start_ms", "start out of range");
    if (all_day) {
        if (!civil_paris_is_midnight(start))
            return s_err(err, ES_INVALID_ARGUMENT, prefix, "start_ms",
                         "an all-day event starts at midnight, Europe/Paris");
        if (end == 0)
            end = civil_paris_next_midnight(start);
        else if (!civil_paris_is_midnight(end))
            return s_err(err, ES_INVALID_ARGUMENT, prefix, "end_ms",
                         "an all-day event ends at midnight, Europe/Paris");
    }
    if (end <= start)
        return s_err(err, ES_INVALID_ARGUMENT, prefix, "end_ms", "end is not after start");
    if (end - start > AGENDA_MAX_DURATION_MS)
        return s_err(err, ES_INVALID_ARGUMENT, prefix, "end_ms", "longer than 366 days");
    *end_out = end;
    return ES_OK;
}

/* ---- participants and reminders ---- */

static int s_role_valid(const char *r)
{
    static const char *roles[] = {"ADM",  "ATND", "CALLBCK", "CON",        "DIS",      "ESC",
                                  "REF",  "SPRF", "PPRF",    "PART", "translator", "emergency"};
    if (!r || !r[0])
        return 1;
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(r, roles[i]) == 0)
            return 1;
    return 0;
}

static int s_participants_check(Espace__V1__AgendaEvent *e, const char *prefix,
                                agenda_err_t *err)
{
    char f[64];
    if (e->n_participants > AGENDA_MAX_PARTICIPANTS)
        return s_err(err, ES_TOO_LARGE, prefix, "participants", "at most %d participants",
                     AGENDA_MAX_PARTICIPANTS);
    size_t pros = 0;
    for (size_t i = 0; i < e->n_participants; i++) {
        Espace__V1__AgendaParticipant *p = e->participants[i];
        const char *id = p->actor_id ? p->actor_id : "";
        int ok;
        switch (p->actor_type) {
        case ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PROFESSIONAL:
            ok = rpps_validate(id) == 0;
            pros++;
            break;
        case ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_ORGANIZATION:
            ok = agenda_finess_valid(id);
            break;
        case ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PATIENT:
            ok = id_hex_valid(id);
            break;
        default:
            snprintf(f, sizeof f, "participants[%zu].actor_type", i);
            return s_err(err, ES_INVALID_ARGUMENT, prefix, f, "unknown actor type");
        }
        if (!ok) {
            snprintf(f, sizeof f, "participants[%zu].actor_id", i);
            return s_err(err, ES_INVALID_ARGUMENT, prefix, f,
                         "malformed id (RPPS: 11 digits, FINESS: 9 chars, patient: 32 hex)");
        }
        for (size_t j = 0; j < i; j++) {
            const Espace__V1__AgendaParticipant *q = e->participants[j];
            if (q->actor_type == p->actor_type && strcmp(q->actor_id, id) == 0) {
                snprintf(f, sizeof f, "participants[%zu]", i);
                return s_err(err, ES_INVALID_ARGUMENT, prefix, f, "duplicate participant");
            }
        }
        char ff[96];
        snprintf(f, sizeof f, "participants[%zu].display", i);
        snprintf(ff, sizeof ff, "%s%s", prefix, f);
        if (agenda_text_check(p->display, 0, AGENDA_MAX_DISPLAY, 0, ff, err) != 0)
            return err->status;
        if (!s_role_valid(p->role)) {
            snprintf(f, sizeof f, "participants[%zu].role", i);
            return s_err(err, ES_INVALID_ARGUMENT, prefix, f, "unknown participant type code");
        }
        if (p->required == ESPACE__V1__AGENDA_REQUIRED__AGENDA_REQUIRED_UNSPECIFIED)
            p->required = ESPACE__V1__AGENDA_REQUIRED__AGENDA_REQUIRED_REQUIRED;
        if (p->required < ESPACE__V1__AGENDA_REQUIRED__AGENDA_REQUIRED_REQUIRED ||
            p->required > ESPACE__V1__AGENDA_REQUIRED__AGENDA_REQUIRED_INFORMATION_ONLY) {
            snprintf(f, sizeof f, "participants[%zu].required", i);
            return s_err(err, ES_INVALID_ARGUMENT, prefix, f, "unknown value");
        }
        if (p->answer == ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_UNSPECIFIED)
            p->answer = ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_NEEDS_ACTION;
        if (p->answer < ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_NEEDS_ACTION ||
            p->answer > ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_TENTATIVE) {
            snprintf(f, sizeof f, "participants[%zu].answer", i);
            return s_err(err, ES_INVALID_ARGUMENT, prefix, f, "unknown value");
        }
    }
    if (pros > AGENDA_MAX_PROS)
        return s_err(err, ES_TOO_LARGE, prefix, "participants", "at most %d professionals",
                     AGENDA_MAX_PROS);
    return ES_OK;
}

static int s_reminders_check(const Espace__V1__AgendaEvent *e, const char *prefix,
                             agenda_err_t *err)
{
    char f[48];
    if (e->n_reminder_minutes > AGENDA_MAX_REMINDERS)
        return s_err(err, ES_TOO_LARGE, prefix, "reminder_minutes", "at most %d reminders",
                     AGENDA_MAX_REMINDERS);
    for (size_t i = 0; i < e->n_reminder_minutes; i++) {
        snprintf(f, sizeof f, "reminder_minutes[%zu]", i);
        if (e->reminder_minutes[i] > AGENDA_MAX_REMINDER_MIN)
            return s_err(err, ES_INVALID_ARGUMENT, prefix, f, "more than 60 days before start");
        for (size_t j = 0; j < i; j++)
            if (e->reminder_minutes[j] == e->reminder_minutes[i])
                return s_err(err, ES_INVALID_ARGUMENT, prefix, f, "duplicate reminder");
    }
    return ES_OK;
}

/* ---- the whole event ---- */

int agenda_event_check(Espace__V1__AgendaEvent *e, const char *prefix, agenda_err_t *err)
{
    char f[96];
    if (!prefix)
        prefix = "";
    if (!agenda_kind_name(e->kind))
        return s_err(err, ES_INVALID_ARGUMENT, prefix, "kind", "unknown kind");
    if (e->status == ST(UNSPECIFIED))
        e->status = ST(BOOKED);
    if (!s_status_known(e->status))
        return s_err(err, ES_INVALID_ARGUMENT, prefix, "status", "unknown status");
    snprintf(f, sizeof f, "%stitle", prefix);
    if (agenda_text_check(e->title, 1, AGENDA_MAX_TITLE, 0, f, err) != 0)
        return err->status;
    snprintf(f, sizeof f, "%sdescription", prefix);
    if (agenda_text_check(e->description, 0, AGENDA_MAX_DESCRIPTION, 1, f, err) != 0)
        return err->status;
    snprintf(f, sizeof f, "%slocation", prefix);
    if (agenda_text_check(e->location, 0, AGENDA_MAX_LOCATION, 0, f, err) != 0)
        return err->status;
    snprintf(f, sizeof f, "%scancel_reason", prefix);
    if (agenda_text_check(e->cancel_reason, 0, AGENDA_MAX_REASON, 0, f, err) != 0)
        return err->status;
    int64_t end = 0;
    if (agenda_times_check(e->start_ms, e->end_ms, e->all_day, prefix, &end, err) != 0)
        return err->status;
    e->end_ms = end;
    if (s_participants_check(e, prefix, err) != 0)
        return err->status;
    if (s_reminders_check(e, prefix, err) != 0)
        return err->status;
    const char *sid = e->source_id ? e->source_id : "";
    size_t sl = strlen(sid);
    if (sl > AGENDA_MAX_SOURCE_ID)
        return s_err(err, ES_INVALID_ARGUMENT, prefix, "source_id", "longer than %d characters",
                     AGENDA_MAX_SOURCE_ID);
    for (size_t i = 0; i < sl; i++)
        if ((unsigned char)sid[i] < 0x21 || (unsigned char)sid[i] > 0x7e)
            return s_err(err, ES_INVALID_ARGUMENT, prefix, "source_id",
                         "printable ASCII without spaces only");
    return ES_OK;
}
