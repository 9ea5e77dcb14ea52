/*
 * test_event.c - services/agenda/event.c: the status state machine and the
 * validation of an event (with the exact Status.field of each refusal).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/status.h"
#include "services/agenda/agenda_int.h"
#include "test/unit/agenda/event_fixture.h"

/* ---- state machine ---- */

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


/* ---- validation ---- */

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
    ev_sample(&f);
    s_expect(&f, 0, NULL);
    /* defaults */
    assert_int_equal(f.e.status, ST(BOOKED));
    assert_int_equal(f.p[0].required, ESPACE__V1__AGENDA_REQUIRED__AGENDA_REQUIRED_REQUIRED);
    assert_int_equal(f.p[0].answer, ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_NEEDS_ACTION);

    ev_sample(&f);
    f.e.kind = 9;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.kind");
    ev_sample(&f);
    f.e.kind = 0;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.kind");
    ev_sample(&f);
    f.e.status = 11;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.status");
    /* end before start, equal, missing */
    ev_sample(&f);
    f.e.end_ms = f.e.start_ms - 1;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.end_ms");
    ev_sample(&f);
    f.e.end_ms = f.e.start_ms;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.end_ms");
    ev_sample(&f);
    f.e.end_ms = 0;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.end_ms");
    ev_sample(&f);
    f.e.end_ms = f.e.start_ms + AGENDA_MAX_DURATION_MS + 1;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.end_ms");
    ev_sample(&f);
    f.e.start_ms = 0;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.start_ms");
    ev_sample(&f);
    f.e.start_ms = AGENDA_MAX_TIME_MS;
    f.e.end_ms = AGENDA_MAX_TIME_MS + 1000;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.start_ms");
    /* titles: empty, 200 chars of 2 bytes ok, 201 too long, control char */
    ev_sample(&f);
    f.e.title = "";
    s_expect(&f, ES_INVALID_ARGUMENT, "event.title");
    ev_sample(&f);
    f.title[0] = '\0';
    for (int i = 0; i < 200; i++)
        strcat(f.title, "é");
    f.e.title = f.title;
    s_expect(&f, 0, NULL);
    strcat(f.title, "x");
    s_expect(&f, ES_INVALID_ARGUMENT, "event.title");
    ev_sample(&f);
    f.e.title = "a\tb";
    s_expect(&f, ES_INVALID_ARGUMENT, "event.title");
    ev_sample(&f);
    f.e.title = "\xc3\x28";
    s_expect(&f, ES_INVALID_ARGUMENT, "event.title");
    /* description: multiline allowed, 4001 chars refused */
    ev_sample(&f);
    f.e.description = "line 1\nline 2\ttab";
    s_expect(&f, 0, NULL);
    char *desc = malloc(4002);
    memset(desc, 'd', 4001);
    desc[4001] = '\0';
    ev_sample(&f);
    f.e.description = desc;
    s_expect(&f, ES_INVALID_ARGUMENT, "event.description");
    desc[4000] = '\0';
    s_expect(&f, 0, NULL);
    free(desc);
    ev_sample(&f);
    f.e.location = "Cabinet\x01";
    s_expect(&f, ES_INVALID_ARGUMENT, "event.location");
    /* participants */
    ev_sample(&f);
    f.p[0].actor_id = "8100000000";
    s_expect(&f, ES_INVALID_ARGUMENT, "event.participants[0].actor_id");
    ev_sample(&f);
    f.p[0].actor_id = "8100000000a";
    s_expect(&f, ES_INVALID_ARGUMENT, "event.participants[0].actor_id");
    ev_sample(&f);
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
    ev_sample(&f);
    static const char *ids[] = {"81000000001", "81000000002", "81000000003", "81000000004",
                                "81000000005", "81000000006", "81000000007"};
    for (int i = 0; i < 7; i++) {
        f.p[i].actor_type = ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PROFESSIONAL;
        f.p[i].actor_id = (char *)ids[i];
    }
    f.e.n_participants = 7;
    s_expect(&f, ES_TOO_LARGE, "event.participants");
    /* reminders */
    ev_sample(&f);
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
    ev_sample(&f);
    f.e.source_id = "doctolib:123 456";
    s_expect(&f, ES_INVALID_ARGUMENT, "event.source_id");
    f.e.source_id = "doctolib:123456";
    s_expect(&f, 0, NULL);
    /* all-day: start at Paris midnight, end 0 = next midnight (23 h on DST day) */
    ev_sample(&f);
    f.e.all_day = 1;
    f.e.start_ms = civil_paris_midnight(2024, 3, 31);
    f.e.end_ms = 0;
    s_expect(&f, 0, NULL);
    assert_int_equal(f.e.end_ms, civil_paris_midnight(2024, 4, 1));
    f.e.start_ms = ev_utc(2024, 3, 31, 0, 0); /* UTC midnight = 02:00 Paris */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_machine),
        cmocka_unit_test(test_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
