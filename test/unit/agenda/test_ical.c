/*
 * test_ical.c - services/agenda/ical.c: the iCalendar export (RFC 5545),
 * read back strictly: CRLF lines of at most 75 octets, folded on UTF-8
 * boundaries, escaped text, Europe/Paris times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bus/codec.h"
#include "services/agenda/agenda_int.h"
#include "test/unit/agenda/event_fixture.h"

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
    ev_sample(&f1);
    static uint8_t id1[16] = {0xab, 0xcd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static uint8_t id2[16] = {0xab, 0xcd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    f1.e.id.data = id1;
    f1.e.id.len = 16;
    f1.e.title = "Cardiologie, contrôle; annuel \\ avec un titre assez long pour être plié "
                 "sur plusieurs lignes éàü";
    f1.e.description = "Apporter:\n- ordonnance\n- carte Vitale";
    f1.e.location = "Hôpital Européen, Paris";
    f1.e.start_ms = ev_utc(2024, 3, 31, 1, 30);
    f1.e.end_ms = ev_utc(2024, 3, 31, 2, 0);
    f1.e.version = 3;
    f1.e.created_ms = ev_utc(2024, 3, 1, 10, 0);
    f1.e.updated_ms = ev_utc(2024, 3, 2, 11, 5);
    f1.p[0].answer = ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_ACCEPTED;
    f1.p[0].display = "Dr \"Jean\" Martin";
    f1.p[1].actor_type = ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_ORGANIZATION;
    f1.p[1].actor_id = "750000011";
    f1.p[1].required = ESPACE__V1__AGENDA_REQUIRED__AGENDA_REQUIRED_INFORMATION_ONLY;
    f1.e.n_participants = 2;
    f1.e.status = ST(BOOKED);
    ev_sample(&f2);
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
    char *ics = agenda_ics(evs, 2, ev_utc(2024, 4, 1, 12, 0), &len);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
