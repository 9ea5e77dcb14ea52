/*
 * event_fixture.h - the agenda unit tests' sample event (library
 * es_test_agenda_event_fixture): a valid RDV of patient PAT on 2 May 2024,
 * 08:00-08:30 UTC, with Dr Martin (RPPS) and reminders 60 and 1440 minutes
 * before; the tests change what they check.
 */
#ifndef ES_TEST_AGENDA_EVENT_FIXTURE_H
#define ES_TEST_AGENDA_EVENT_FIXTURE_H

#include <stdint.h>

#include "espace/v1/agenda.pb-c.h"
#include "proto/civil_time.h"

#define ST(x) ESPACE__V1__AGENDA_STATUS__AGENDA_STATUS_##x
#define PAT "0123456789abcdef0123456789abcdef" /* the patient id */
#define RPPS "81000000001"                      /* the professional */
#define PM(y, m, d) civil_paris_midnight(y, m, d) /* UTC ms of a Paris midnight */

/* The sample event with room to change it: 8 participants (1 used),
 * 8 reminders (2 used), a title buffer. */
typedef struct evfix {
    Espace__V1__AgendaEvent e;
    Espace__V1__AgendaParticipant p[8];
    Espace__V1__AgendaParticipant *pp[8];
    uint32_t rem[8];
    char title[1200];
} evfix_t;

/* UTC ms of y-m-d hh:mi. */
int64_t ev_utc(int64_t y, unsigned m, unsigned d, int hh, int mi);

/* f = the sample event (every field set anew). */
void ev_sample(evfix_t *f);

#endif
