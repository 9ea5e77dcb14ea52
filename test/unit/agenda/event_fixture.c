/* event_fixture.c - the sample event of event_fixture.h. */
#include "test/unit/agenda/event_fixture.h"

#include <string.h>

#include "proto/civil_time.h"
#include "services/agenda/agenda_int.h"

int64_t ev_utc(int64_t y, unsigned m, unsigned d, int hh, int mi)
{
    return civil_days_from_date(y, m, d) * AGENDA_DAY_MS + (int64_t)hh * 3600000 +
           (int64_t)mi * 60000;
}

void ev_sample(evfix_t *f)
{
    memset(f, 0, sizeof *f);
    espace__v1__agenda_event__init(&f->e);
    f->e.kind = ESPACE__V1__AGENDA_KIND__AGENDA_KIND_RDV;
    f->e.title = "Consultation";
    f->e.start_ms = ev_utc(2024, 5, 2, 8, 0);
    f->e.end_ms = ev_utc(2024, 5, 2, 8, 30);
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

