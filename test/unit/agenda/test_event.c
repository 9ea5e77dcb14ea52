/*
 * test_agenda_event.c - the pure parts of services/agenda: the status state
 * machine, validation (with the exact Status.field), Europe/Paris time, the
 * store layout's range queries across month and year boundaries and DST
 * changes (a real store in a temporary folder, no bus), paging, and the
 * iCalendar and FHIR texts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "services/agenda/agenda.h"
#include "services/agenda/agenda_int.h"
#include "bus/codec.h"
#include "proto/status.h"
#include "storage/store.h"

#define ST(x) ESPACE__V1__AGENDA_STATUS__AGENDA_STATUS_##x
#define PAT "0123456789abcdef0123456789abcdef"
#define RPPS "81000000001"

/* ------------------------------------------------------- state machine */

static void test_state_machine(void **state)
{
    (void)state;
    /* Every legal transition, exactly. */
    static const int legal[][2] = {
        {ST(PROPOSED), ST(PENDING)},   {ST(PROPOSED), ST(BOOKED)},
        {ST(PROPOSED), ST(CANCELLED)}, {ST(PENDING), ST(BOOKED)},
        {ST(PENDING), ST(CANCELLED)},  {ST(BOOKED), ST(ARRIVED)},
        {ST(BOOKED), ST(CHECKED_IN)},  {ST(BOOKED), ST(FULFILLED)},
        {ST(BOOKED), ST(CANCELLED)},   {ST(BOOKED), ST(NOSHOW)},
        {ST(ARRIVED), ST(FULFILLED)},  {ST(CHECKED_IN), ST(FULFILLED)},
        {ST(WAITLIST), ST(BOOKED)},    {ST(WAITLIST), ST(CANCELLED)},
    };
    int count = 0;
    for (int from = ST(PROPOSED); from <= ST(WAITLIST); from++) {
        for (int to = ST(PROPOSED); to <= ST(WAITLIST); to++) {
            int want = 0;
            for (size_t i = 0; i < sizeof legal / sizeof legal[0]; i++)
                if (legal[i][0] == from && legal[i][1] == to)
                    want = 1;
            if (to == ST(ENTERED_IN_ERROR) && from != to)
                want = 1; /* any -> entered-in-error */
            if (agenda_status_can_move(from, to) != want)
                fail_msg("transition %s -> %s: want %d", agenda_status_code(from),
                         agenda_status_code(to), want);
            count += want;
        }
    }
    assert_int_equal(count, 14 + 9);
    /* a few illegal ones, spelled out */
    assert_false(agenda_status_can_move(ST(CANCELLED), ST(BOOKED)));
    assert_false(agenda_status_can_move(ST(FULFILLED), ST(BOOKED)));
    assert_false(agenda_status_can_move(ST(NOSHOW), ST(ARRIVED)));
    assert_false(agenda_status_can_move(ST(ARRIVED), ST(CANCELLED)));
    assert_false(agenda_status_can_move(ST(PENDING), ST(PROPOSED)));
    assert_false(agenda_status_can_move(ST(BOOKED), ST(BOOKED)));
    assert_false(agenda_status_can_move(ST(BOOKED), 0));
    assert_false(agenda_status_can_move(ST(BOOKED), 11));
    assert_false(agenda_status_can_move(ST(ENTERED_IN_ERROR), ST(ENTERED_IN_ERROR)));
    /* finals, initials, codes */
    assert_true(agenda_status_final(ST(FULFILLED)));
    assert_true(agenda_status_final(ST(CANCELLED)));
    assert_true(agenda_status_final(ST(NOSHOW)));
    assert_true(agenda_status_final(ST(ENTERED_IN_ERROR)));
    assert_false(agenda_status_final(ST(BOOKED)));
    assert_true(agenda_status_initial(ST(PROPOSED)));
    assert_false(agenda_status_initial(ST(CANCELLED)));
    assert_false(agenda_status_initial(ST(ENTERED_IN_ERROR)));
    assert_false(agenda_status_initial(0));
    assert_string_equal(agenda_status_code(ST(CHECKED_IN)), "checked-in");
    assert_string_equal(agenda_status_code(ST(ENTERED_IN_ERROR)), "entered-in-error");
    assert_null(agenda_status_code(42));
    assert_string_equal(agenda_status_ical(ST(PENDING)), "TENTATIVE");
    assert_string_equal(agenda_status_ical(ST(BOOKED)), "CONFIRMED");
    assert_string_equal(agenda_status_ical(ST(CANCELLED)), "CANCELLED");
}

/* ------------------------------------------------------------- time zone */

static int64_t s_utc(int64_t y, unsigned m, unsigned d, int hh, int mi)
{
    return civil_days_from_date(y, m, d) * AGENDA_DAY_MS + (int64_t)hh * 3600000 +
           (int64_t)mi * 60000;
}

static void test_paris_time(void **state)
{
    (void)state;
    /* 2024: CEST from 31 March 01:00Z to 27 October 01:00Z */
    assert_int_equal(civil_paris_offset_ms(s_utc(2024, 3, 31, 0, 59)), 3600000);
    assert_int_equal(civil_paris_offset_ms(s_utc(2024, 3, 31, 1, 0)), 7200000);
    assert_int_equal(civil_paris_offset_ms(s_utc(2024, 10, 27, 0, 59)), 7200000);
    assert_int_equal(civil_paris_offset_ms(s_utc(2024, 10, 27, 1, 0)), 3600000);
    assert_int_equal(civil_paris_offset_ms(s_utc(2025, 3, 30, 1, 0)), 7200000);
    assert_int_equal(civil_paris_offset_ms(s_utc(2025, 3, 29, 12, 0)), 3600000);
    /* midnights */
    assert_int_equal(civil_paris_midnight(2024, 3, 31), s_utc(2024, 3, 30, 23, 0));
    assert_int_equal(civil_paris_midnight(2024, 4, 1), s_utc(2024, 3, 31, 22, 0));
    assert_int_equal(civil_paris_midnight(2024, 10, 27), s_utc(2024, 10, 26, 22, 0));
    assert_int_equal(civil_paris_midnight(2024, 10, 28), s_utc(2024, 10, 27, 23, 0));
    /* the short and the long day */
    assert_int_equal(civil_paris_next_midnight(civil_paris_midnight(2024, 3, 31)) -
                         civil_paris_midnight(2024, 3, 31),
                     23 * 3600000LL);
    assert_int_equal(civil_paris_next_midnight(civil_paris_midnight(2024, 10, 27)) -
                         civil_paris_midnight(2024, 10, 27),
                     25 * 3600000LL);
    assert_true(civil_paris_is_midnight(s_utc(2024, 12, 31, 23, 0)));
    assert_false(civil_paris_is_midnight(s_utc(2024, 12, 31, 0, 0)));
    /* year boundary: 23:30Z on 31 December is already next year in Paris */
    int64_t y;
    unsigned m, d;
    civil_paris_date(s_utc(2024, 12, 31, 23, 30), &y, &m, &d);
    assert_int_equal(y, 2025);
    assert_int_equal(m, 1);
    assert_int_equal(d, 1);
    civil_paris_date(s_utc(2024, 2, 29, 22, 59), &y, &m, &d);
    assert_int_equal(m, 2);
    assert_int_equal(d, 29);
    /* civil round trip over four centuries */
    for (int64_t z = -200000; z < 200000; z += 37) {
        civil_date_from_days(z, &y, &m, &d);
        assert_int_equal(civil_days_from_date(y, m, d), z);
    }
}

/* ------------------------------------------------------------ validation */

typedef struct evfix {
    Espace__V1__AgendaEvent e;
    Espace__V1__AgendaParticipant p[8];
    Espace__V1__AgendaParticipant *pp[8];
    uint32_t rem[8];
    char title[1200];
} evfix_t;

static void s_event(evfix_t *f)
{
    memset(f, 0, sizeof *f);
    espace__v1__agenda_event__init(&f->e);
    f->e.kind = ESPACE__V1__AGENDA_KIND__AGENDA_KIND_RDV;
    f->e.title = "Consultation";
    f->e.start_ms = s_utc(2024, 5, 2, 8, 0);
    f->e.end_ms = s_utc(2024, 5, 2, 8, 30);
    f->e.patient_id = PAT;
    for (int i = 0; i < 8; i++) {
        espace__v1__agenda_participant__init(&f->p[i]);
        f->pp[i] = &f->p[i];
    }
    f->p[0].actor_type = ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PROFESSIONAL;
    f->p[0].actor_id = RPPS;
    f->p[0].display = "Dr Martin";
    f->e.participants = f->pp;
    f->e.n_participants = 1;
    f->rem[0] = 60;
    f->rem[1] = 1440;
    f->e.reminder_minutes = f->rem;
    f->e.n_reminder_minutes = 2;
}

/* Check f->e and expect status/field. */
static void s_expect(evfix_t *f, int status, const char *field)
{
    agenda_err_t err;
    memset(&err, 0, sizeof err);
    int rc = agenda_event_check(&f->e, "event.", &err);
    if (rc != status || (field && strcmp(err.field, field) != 0))
        fail_msg("want %s %s, got %s %s (%s)", es_status_name(status), field ? field : "-",
                 es_status_name(rc), err.field, err.msg);
}

static void test_validation(void **state)
{
    (void)state;
    evfix_t f;
    s_event(&f);
    s_expect(&f, 0, NULL);
    /* defaults */
    assert_int_equal(f.e.status, ST(BOOKED));
    assert_int_equal(f.p[0].required, ESPACE__V1__AGENDA_REQUIRED__AGENDA_REQUIRED_REQUIRED);
    assert_int_equal(f.p[0].answer, ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_NEEDS_ACTION);

    s_event(&f);
    f.e.kind = 9;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.kind");
    s_event(&f);
    f.e.kind = 0;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.kind");
    s_event(&f);
    f.e.status = 11;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.status");
    /* end before start, equal, missing */
    s_event(&f);
    f.e.end_ms = f.e.start_ms - 1;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.end_ms");
    s_event(&f);
    f.e.end_ms = f.e.start_ms;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.end_ms");
    s_event(&f);
    f.e.end_ms = 0;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.end_ms");
    s_event(&f);
    f.e.end_ms = f.e.start_ms + AGENDA_MAX_DURATION_MS + 1;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.end_ms");
    s_event(&f);
    f.e.start_ms = 0;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.start_ms");
    s_event(&f);
    f.e.start_ms = AGENDA_MAX_TIME_MS;
    f.e.end_ms = AGENDA_MAX_TIME_MS + 1000;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.start_ms");
    /* titles: empty, 200 chars of 2 bytes ok, 201 too long, control char */
    s_event(&f);
    f.e.title = "";
    s_expect(&f, ES_INVALID_ARGUMENT, "event.title");
    s_event(&f);
    f.title[0] = '\0';
    for (int i = 0; i < 200; i++)
        strcat(f.title, "é");
    f.e.title = f.title;
    s_expect(&f, 0, NULL);
    strcat(f.title, "x");
    s_expect(&f, ES_INVALID_ARGUMENT, "event.title");
    s_event(&f);
    f.e.title = "a\tb";
    s_expect(&f, ES_INVALID_ARGUMENT, "event.title");
    s_event(&f);
    f.e.title = "\xc3\x28";
    s_expect(&f, ES_INVALID_ARGUMENT, "event.title");
    /* description: multiline allowed, 4001 chars refused */
    s_event(&f);
    f.e.description = "line 1\nline 2\ttab";
    s_expect(&f, 0, NULL);
    char *desc = malloc(4002);
    memset(desc, 'd', 4001);
    desc[4001] = '\0';
    s_event(&f);
    f.e.description = desc;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.description");
    desc[4000] = '\0';
    s_expect(&f, 0, NULL);
    free(desc);
    s_event(&f);
    f.e.location = "Cabinet\x01";
    s_expect(&f, ES_INVALID_ARGUMENT, "event.location");
    /* participants */
    s_event(&f);
    f.p[0].actor_id = "8100000000";
    s_expect(&f, ES_INVALID_ARGUMENT, "event.participants[0].actor_id");
    s_event(&f);
    f.p[0].actor_id = "8100000000a";
    s_expect(&f, ES_INVALID_ARGUMENT, "event.participants[0].actor_id");
    s_event(&f);
    f.p[1].actor_type = ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_ORGANIZATION;
    f.p[1].actor_id = "75000001X";
    f.e.n_participants = 2;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.participants[1].actor_id");
    f.p[1].actor_id = "2A0000011";
    s_expect(&f, 0, NULL);
    f.p[2].actor_type = ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PATIENT;
    f.p[2].actor_id = "0123";
    f.e.n_participants = 3;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.participants[2].actor_id");
    f.p[2].actor_id = PAT;
    s_expect(&f, 0, NULL);
    f.p[3].actor_type = 7;
    f.e.n_participants = 4;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.participants[3].actor_type");
    f.p[3].actor_type = ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PROFESSIONAL;
    f.p[3].actor_id = RPPS;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.participants[3]"); /* duplicate */
    f.p[3].actor_id = "81000000002";
    f.p[3].role = "DOCTOR";
    s_expect(&f, ES_INVALID_ARGUMENT, "event.participants[3].role");
    f.p[3].role = "PPRF";
    f.p[3].answer = 9;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.participants[3].answer");
    f.p[3].answer = ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_ACCEPTED;
    f.p[3].required = 9;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.participants[3].required");
    f.p[3].required = 0;
    f.p[3].display = "Dr \x7f";
    s_expect(&f, ES_INVALID_ARGUMENT, "event.participants[3].display");
    f.p[3].display = "";
    s_expect(&f, 0, NULL);
    /* too many professionals (7 > 6) */
    s_event(&f);
    static const char *ids[] = {"81000000001", "81000000002", "81000000003", "81000000004",
                                "81000000005", "81000000006", "81000000007"};
    for (int i = 0; i < 7; i++) {
        f.p[i].actor_type = ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PROFESSIONAL;
        f.p[i].actor_id = (char *)ids[i];
    }
    f.e.n_participants = 7;
    s_expect(&f, ES_TOO_LARGE, "event.participants");
    /* reminders */
    s_event(&f);
    f.rem[0] = 0;
    f.rem[1] = AGENDA_MAX_REMINDER_MIN;
    s_expect(&f, 0, NULL);
    f.rem[1] = AGENDA_MAX_REMINDER_MIN + 1;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.reminder_minutes[1]");
    f.rem[1] = 0;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.reminder_minutes[1]"); /* duplicate */
    for (uint32_t i = 0; i < 6; i++)
        f.rem[i] = 10 * (i + 1);
    f.e.n_reminder_minutes = 6;
    s_expect(&f, ES_TOO_LARGE, "event.reminder_minutes");
    f.e.n_reminder_minutes = 5;
    s_expect(&f, 0, NULL);
    /* source id */
    s_event(&f);
    f.e.source_id = "doctolib:123 456";
    s_expect(&f, ES_INVALID_ARGUMENT, "event.source_id");
    f.e.source_id = "doctolib:123456";
    s_expect(&f, 0, NULL);
    /* all-day: start at Paris midnight, end 0 = next midnight (23 h on DST day) */
    s_event(&f);
    f.e.all_day = 1;
    f.e.start_ms = civil_paris_midnight(2024, 3, 31);
    f.e.end_ms = 0;
    s_expect(&f, 0, NULL);
    assert_int_equal(f.e.end_ms, civil_paris_midnight(2024, 4, 1));
    f.e.start_ms = s_utc(2024, 3, 31, 0, 0); /* UTC midnight = 02:00 Paris */
    f.e.end_ms = 0;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.start_ms");
    f.e.start_ms = civil_paris_midnight(2024, 3, 31);
    f.e.end_ms = civil_paris_midnight(2024, 4, 1) + 3600000;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.end_ms");
    f.e.end_ms = civil_paris_midnight(2024, 4, 3); /* three days */
    s_expect(&f, 0, NULL);
    /* times check without prefix (Reschedule) */
    agenda_err_t err;
    int64_t end;
    assert_int_equal(agenda_times_check(10, 5, 0, "", &end, &err), ES_INVALID_ARGUMENT);
    assert_string_equal(err.field, "end_ms");
}

/* ---------------------------------------------------- store range queries */

typedef struct dbfix {
    char dir[64];
    store_t *s;
    uint8_t pid[16];
    uint8_t next_id;
} dbfix_t;

static dbfix_t D;

static int s_db_setup(void **state)
{
    (void)state;
    memset(&D, 0, sizeof D);
    snprintf(D.dir, sizeof D.dir, "/tmp/es_agenda_ev_XXXXXX");
    if (!mkdtemp(D.dir))
        return -1;
    static const char *tables[] = {AGENDA_T_EVENTS,  AGENDA_T_BY_TIME, AGENDA_T_BY_SOURCE,
                                   AGENDA_T_CHANGES, AGENDA_T_HEADS,   AGENDA_T_REMINDERS,
                                   NULL};
    store_opts_t so;
    memset(&so, 0, sizeof so);
    so.tables = tables;
    so.no_sync = 1;
    if (store_open(D.dir, &so, &D.s) != 0)
        return -1;
    id_parse(PAT, D.pid);
    return 0;
}

static int s_db_teardown(void **state)
{
    (void)state;
    store_close(&D.s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", D.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    return 0;
}

typedef struct put_item {
    int64_t start, end;
    int all_day;
    uint8_t id[16];
} put_item_t;

static int s_put_apply(store_txn_t *t, void *item, void *ctx)
{
    (void)ctx;
    put_item_t *it = item;
    Espace__V1__AgendaEvent e = ESPACE__V1__AGENDA_EVENT__INIT;
    e.id.data = it->id;
    e.id.len = 16;
    e.kind = ESPACE__V1__AGENDA_KIND__AGENDA_KIND_RDV;
    e.status = ST(BOOKED);
    e.patient_id = PAT;
    e.title = "x";
    e.start_ms = it->start;
    e.end_ms = it->end;
    e.all_day = it->all_day;
    e.version = 1;
    return agenda_db_write(t, NULL, &e, ESPACE__V1__AGENDA_CHANGE_KIND__AGENDA_CHANGE_CREATED,
                           0);
}

/* Store an event; returns its id's last byte (ids are 0..0,n). */
static uint8_t s_put(int64_t start, int64_t end, int all_day)
{
    put_item_t it = {start, end, all_day, {0}};
    it.id[15] = ++D.next_id;
    void *items[1] = {&it};
    int res[1];
    assert_int_equal(store_write_group(D.s, s_put_apply, items, 1, res, NULL), 0);
    assert_int_equal(res[0], 0);
    return it.id[15];
}

/* The ids (last bytes) of the events overlapping [from, to), as a string
 * of letters 'a' + id - 1, in list order. */
static void s_range(int64_t from, int64_t to, char *out)
{
    store_txn_t *t = NULL;
    assert_int_equal(store_read_begin(D.s, &t), 0);
    agenda_page_t p;
    assert_int_equal(agenda_db_list(t, D.pid, from, to, NULL, 100, 1 << 20, &p), 0);
    size_t i;
    for (i = 0; i < p.n; i++)
        out[i] = (char)('a' + p.events[i]->id.data[15] - 1);
    out[i] = '\0';
    assert_false(p.more);
    agenda_page_free(&p);
    store_txn_end(&t);
}

#define PM(y, m, d) civil_paris_midnight(y, m, d)

static void test_range_queries(void **state)
{
    (void)state;
    char got[64];
    /* a: 31 Jan 23:30 -> 1 Feb 00:30 Paris (across the month) */
    s_put(PM(2024, 1, 31) + 23 * 3600000LL + 1800000, PM(2024, 2, 1) + 1800000, 0);
    /* b: 31 Dec 2024 23:00 -> 1 Jan 2025 01:00 Paris (across the year) */
    s_put(PM(2024, 12, 31) + 23 * 3600000LL, PM(2025, 1, 1) + 3600000, 0);
    /* c: all day on 31 March 2024 (23 h) */
    s_put(PM(2024, 3, 31), PM(2024, 4, 1), 1);
    /* d: all day on 27 October 2024 (25 h) */
    s_put(PM(2024, 10, 27), PM(2024, 10, 28), 1);
    /* e: 31 March 03:30 CEST (01:30Z), just after the change */
    s_put(s_utc(2024, 3, 31, 1, 30), s_utc(2024, 3, 31, 2, 0), 0);
    /* f: a stay from 25 March to 5 April */
    s_put(PM(2024, 3, 25) + 9 * 3600000LL, PM(2024, 4, 5) + 12 * 3600000LL, 0);
    /* g: 27 October 02:30 the second time (CET, 01:30Z) */
    s_put(s_utc(2024, 10, 27, 1, 30), s_utc(2024, 10, 27, 2, 0), 0);
    /* h: 30 March 23:30 -> 23:59 Paris (day before the change) */
    s_put(PM(2024, 3, 30) + 23 * 3600000LL + 1800000, PM(2024, 3, 31) - 60000, 0);

    s_range(PM(2024, 1, 1), PM(2024, 2, 1), got);
    assert_string_equal(got, "a");
    s_range(PM(2024, 2, 1), PM(2024, 3, 1), got);
    assert_string_equal(got, "a");
    s_range(PM(2024, 12, 1), PM(2025, 1, 1), got);
    assert_string_equal(got, "b");
    s_range(PM(2025, 1, 1), PM(2025, 2, 1), got);
    assert_string_equal(got, "b");
    s_range(PM(2024, 1, 1), PM(2025, 1, 1), got); /* the year 2024 */
    assert_string_equal(got, "afhcedgb");
    /* the DST days, by Paris day */
    s_range(PM(2024, 3, 31), PM(2024, 4, 1), got);
    assert_string_equal(got, "fce");
    s_range(PM(2024, 3, 30), PM(2024, 3, 31), got);
    assert_string_equal(got, "fh");
    s_range(PM(2024, 4, 1), PM(2024, 4, 8), got); /* the long stay only */
    assert_string_equal(got, "f");
    s_range(PM(2024, 10, 27), PM(2024, 10, 28), got);
    assert_string_equal(got, "dg");
    s_range(PM(2024, 10, 28), PM(2024, 10, 29), got); /* all-day end is exclusive */
    assert_string_equal(got, "");
    s_range(PM(2024, 10, 26), PM(2024, 10, 27), got);
    assert_string_equal(got, "");
    /* the week of the spring change, Monday 25 March to Monday 1 April */
    s_range(PM(2024, 3, 25), PM(2024, 4, 1), got);
    assert_string_equal(got, "fhce");
}

static void test_list_paging(void **state)
{
    (void)state;
    int64_t base = PM(2024, 6, 3) + 8 * 3600000LL;
    for (int i = 0; i < 25; i++) /* two events share each start */
        s_put(base + (i / 2) * 3600000LL, base + (i / 2) * 3600000LL + 1800000, 0);
    store_txn_t *t = NULL;
    assert_int_equal(store_read_begin(D.s, &t), 0);
    uint8_t cursor[AGENDA_CURSOR_BYTES];
    int have = 0, total = 0, pages = 0;
    int seen[32] = {0};
    int64_t last = 0;
    for (;;) {
        agenda_page_t p;
        assert_int_equal(agenda_db_list(t, D.pid, PM(2024, 6, 3), PM(2024, 6, 10),
                                        have ? cursor : NULL, 10, 1 << 20, &p),
                         0);
        pages++;
        for (size_t i = 0; i < p.n; i++) {
            int id = p.events[i]->id.data[15];
            assert_in_range(id, 1, 25);
            assert_int_equal(seen[id], 0);
            seen[id] = 1;
            assert_true(p.events[i]->start_ms >= last);
            last = p.events[i]->start_ms;
            total++;
        }
        int more = p.more;
        if (more)
            memcpy(cursor, p.next, sizeof cursor);
        assert_int_equal(p.n, more ? 10u : 5u);
        agenda_page_free(&p);
        if (!more)
            break;
        have = 1;
    }
    assert_int_equal(total, 25);
    assert_int_equal(pages, 3);
    /* a byte budget cuts pages too */
    agenda_page_t p;
    assert_int_equal(agenda_db_list(t, D.pid, PM(2024, 6, 3), PM(2024, 6, 10), NULL, 100, 1, &p),
                     0);
    assert_int_equal(p.n, 1);
    assert_true(p.more);
    agenda_page_free(&p);
    /* another patient sees nothing */
    uint8_t other[16];
    memset(other, 0x99, sizeof other);
    assert_int_equal(agenda_db_list(t, other, 0, INT64_MAX, NULL, 100, 1 << 20, &p), 0);
    assert_int_equal(p.n, 0);
    agenda_page_free(&p);
    store_txn_end(&t);
}

/* ------------------------------------------------------------ iCalendar */

/* Unfold an .ics text strictly: every physical line ends with CRLF, is at
 * most 75 octets and valid UTF-8; continuation lines start with a space.
 * Returns the logical lines joined with '\n' (caller frees). */
static char *s_unfold(const char *ics)
{
    size_t n = strlen(ics);
    char *out = malloc(n + 1);
    size_t o = 0;
    const char *p = ics;
    int first = 1;
    while (*p) {
        const char *crlf = strstr(p, "\r\n");
        assert_non_null(crlf);
        size_t len = (size_t)(crlf - p);
        assert_true(len <= 75);
        assert_true(codec_utf8_valid(p, len));
        assert_null(memchr(p, '\r', len));
        assert_null(memchr(p, '\n', len));
        if (p[0] == ' ') {
            assert_false(first);
            memcpy(out + o, p + 1, len - 1);
            o += len - 1;
        } else {
            if (!first)
                out[o++] = '\n';
            memcpy(out + o, p, len);
            o += len;
        }
        first = 0;
        p = crlf + 2;
    }
    out[o] = '\0';
    return out;
}

static int s_has_line(const char *lines, const char *line)
{
    size_t l = strlen(line);
    const char *p = lines;
    while ((p = strstr(p, line)) != NULL) {
        if ((p == lines || p[-1] == '\n') && (p[l] == '\n' || p[l] == '\0'))
            return 1;
        p += l;
    }
    return 0;
}

static void test_ics(void **state)
{
    (void)state;
    evfix_t f1, f2;
    s_event(&f1);
    static uint8_t id1[16] = {0xab, 0xcd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static uint8_t id2[16] = {0xab, 0xcd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    f1.e.id.data = id1;
    f1.e.id.len = 16;
    f1.e.title = "Cardiologie, contrôle; annuel \\ avec un titre assez long pour être plié "
                 "sur plusieurs lignes éàü";
    f1.e.description = "Apporter:\n- ordonnance\n- carte Vitale";
    f1.e.location = "Hôpital Européen, Paris";
    f1.e.start_ms = s_utc(2024, 3, 31, 1, 30);
    f1.e.end_ms = s_utc(2024, 3, 31, 2, 0);
    f1.e.version = 3;
    f1.e.created_ms = s_utc(2024, 3, 1, 10, 0);
    f1.e.updated_ms = s_utc(2024, 3, 2, 11, 5);
    f1.p[0].answer = ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_ACCEPTED;
    f1.p[0].display = "Dr \"Jean\" Martin";
    f1.p[1].actor_type = ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_ORGANIZATION;
    f1.p[1].actor_id = "750000011";
    f1.p[1].required = ESPACE__V1__AGENDA_REQUIRED__AGENDA_REQUIRED_INFORMATION_ONLY;
    f1.e.n_participants = 2;
    f1.e.status = ST(BOOKED);
    s_event(&f2);
    f2.e.id.data = id2;
    f2.e.id.len = 16;
    f2.e.title = "Vaccin";
    f2.e.kind = ESPACE__V1__AGENDA_KIND__AGENDA_KIND_RAPPEL;
    f2.e.all_day = 1;
    f2.e.start_ms = PM(2024, 10, 27);
    f2.e.end_ms = PM(2024, 10, 28);
    f2.e.status = ST(PROPOSED);
    f2.e.n_participants = 0;
    f2.rem[0] = 0;
    f2.e.n_reminder_minutes = 2;
    Espace__V1__AgendaEvent *evs[2] = {&f1.e, &f2.e};
    size_t len = 0;
    char *ics = agenda_ics(evs, 2, s_utc(2024, 4, 1, 12, 0), &len);
    assert_non_null(ics);
    assert_int_equal(len, strlen(ics));
    char *lines = s_unfold(ics);
    /* folding really happened */
    assert_non_null(strstr(ics, "\r\n "));
    const char *want[] = {
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//espace//agenda//FR",
        "BEGIN:VEVENT",
        "UID:abcd0000000000000000000000000001@espace",
        "DTSTAMP:20240401T120000Z",
        "DTSTART:20240331T013000Z",
        "DTEND:20240331T020000Z",
        "SUMMARY:Cardiologie\\, contrôle\\; annuel \\\\ avec un titre assez long pour être "
        "plié sur plusieurs lignes éàü",
        "DESCRIPTION:Apporter:\\n- ordonnance\\n- carte Vitale",
        "LOCATION:Hôpital Européen\\, Paris",
        "STATUS:CONFIRMED",
        "SEQUENCE:2",
        "CREATED:20240301T100000Z",
        "LAST-MODIFIED:20240302T110500Z",
        "CATEGORIES:RDV",
        "ATTENDEE;CN=\"Dr 'Jean' Martin\";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:urn:espace:rpps:"
        "81000000001",
        "ATTENDEE;ROLE=NON-PARTICIPANT;PARTSTAT=NEEDS-ACTION:urn:espace:finess:750000011",
        "TRIGGER:-PT60M",
        "TRIGGER:-P1D",
        "UID:abcd0000000000000000000000000002@espace",
        "DTSTART;VALUE=DATE:20241027",
        "DTEND;VALUE=DATE:20241028",
        "STATUS:TENTATIVE",
        "CATEGORIES:RAPPEL",
        "TRIGGER:PT0S",
        "END:VCALENDAR",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!s_has_line(lines, want[i]))
            fail_msg("missing line: %s\n--- got:\n%s", want[i], lines);
    /* strict structure: names, balanced BEGIN/END, 2 events, 4 alarms */
    char *save = NULL;
    int depth = 0, vevents = 0, valarms = 0;
    char *copy = strdup(lines);
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        size_t nl = strcspn(l, ":;");
        assert_true(nl > 0 && (l[nl] == ':' || l[nl] == ';'));
        for (size_t k = 0; k < nl; k++)
            assert_true((l[k] >= 'A' && l[k] <= 'Z') || l[k] == '-');
        if (strncmp(l, "BEGIN:", 6) == 0) {
            depth++;
            vevents += strcmp(l, "BEGIN:VEVENT") == 0;
            valarms += strcmp(l, "BEGIN:VALARM") == 0;
        } else if (strncmp(l, "END:", 4) == 0) {
            depth--;
            assert_true(depth >= 0);
        }
    }
    assert_int_equal(depth, 0);
    assert_int_equal(vevents, 2);
    assert_int_equal(valarms, 4);
    free(copy);
    free(lines);
    free(ics);
    /* an empty calendar is still a calendar */
    ics = agenda_ics(NULL, 0, 0, &len);
    assert_string_equal(ics, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//espace//agenda//FR\r\n"
                             "CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\nEND:VCALENDAR\r\n");
    free(ics);
}

/* ----------------------------------------------------------------- FHIR */

static void test_fhir(void **state)
{
    (void)state;
    evfix_t f;
    s_event(&f);
    static uint8_t id[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                             0, 0, 0, 0, 0, 0, 0, 9};
    f.e.id.data = id;
    f.e.id.len = 16;
    f.e.status = ST(CANCELLED);
    f.e.cancel_reason = "Empêchement";
    f.e.description = "À jeun";
    f.e.location = "Cabinet";
    f.e.source = ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_BOOKING_SERVICE;
    f.e.source_id = "rdv-42";
    f.e.version = 2;
    f.e.start_ms = s_utc(2024, 3, 31, 1, 30);
    f.e.end_ms = s_utc(2024, 3, 31, 2, 0) + 5;
    f.p[0].role = "PPRF";
    f.p[0].answer = ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_ACCEPTED;
    size_t len = 0;
    char *j = agenda_fhir_appointment(&f.e, &len);
    assert_non_null(j);
    const char *want[] = {
        "{\"resourceType\":\"Appointment\",\"id\":\"0123456789abcdef0000000000000009\"",
        "\"meta\":{\"versionId\":\"2\"",
        "\"source\":\"urn:espace:source:BOOKING_SERVICE\"",
        "{\"url\":\"urn:espace:fhir:agenda-kind\",\"valueCode\":\"RDV\"}",
        "{\"system\":\"urn:espace:agenda\",\"value\":\"0123456789abcdef0000000000000009\"}",
        "{\"system\":\"urn:espace:source:BOOKING_SERVICE\",\"value\":\"rdv-42\"}",
        "\"status\":\"cancelled\"",
        "\"cancelationReason\":{\"text\":\"Empêchement\"}",
        "\"description\":\"Consultation\"",
        "\"start\":\"2024-03-31T01:30:00.000Z\"",
        "\"end\":\"2024-03-31T02:00:00.005Z\"",
        "\"comment\":\"À jeun\"",
        "{\"actor\":{\"reference\":\"Patient/" PAT "\"},\"required\":\"required\","
        "\"status\":\"accepted\"}",
        "\"code\":\"PPRF\"",
        "{\"type\":\"Practitioner\",\"identifier\":{\"system\":\"urn:oid:1.2.250.1.71.4.2.1\","
        "\"value\":\"881000000001\"},\"display\":\"Dr Martin\"}",
        "\"required\":\"required\",\"status\":\"accepted\"",
        "{\"actor\":{\"type\":\"Location\",\"display\":\"Cabinet\"}",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(j, want[i]))
            fail_msg("missing %s\n--- in:\n%s", want[i], j);
    free(j);
    Espace__V1__AgendaEvent *evs[1] = {&f.e};
    j = agenda_fhir_bundle(evs, 1, s_utc(2024, 4, 1, 0, 0), &len);
    assert_non_null(j);
    assert_non_null(strstr(j, "{\"resourceType\":\"Bundle\",\"type\":\"collection\","
                              "\"timestamp\":\"2024-04-01T00:00:00.000Z\",\"entry\":[{\"fullUrl\":"
                              "\"urn:uuid:01234567-89ab-cdef-0000-000000000009\",\"resource\":{"
                              "\"resourceType\":\"Appointment\""));
    free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_machine),
        cmocka_unit_test(test_paris_time),
        cmocka_unit_test(test_validation),
        cmocka_unit_test_setup_teardown(test_range_queries, s_db_setup, s_db_teardown),
        cmocka_unit_test_setup_teardown(test_list_paging, s_db_setup, s_db_teardown),
        cmocka_unit_test(test_ics),
        cmocka_unit_test(test_fhir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
