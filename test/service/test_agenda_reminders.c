/*
 * test_agenda_reminders.c - the agenda's reminders on the agenda scenarios'
 * fixture (agenda_fixture.h): due reminders fire once, many at a time
 * (the runtime's tick called again at once), never for a cancelled event,
 * and once across restarts of the service.
 */
#include <stdint.h>
#include <string.h>

#include "test/service/agenda_fixture.h"

/* Collect reminders on patient pid's reminder topic for ms; counts per
 * event (by the last id byte pattern index in ids). */
static int s_collect(const char *pid, uint8_t (*ids)[16], int n, int *count, int ms,
                     int64_t *min_late)
{
    char topic[128];
    ag_topic(topic, sizeof topic, "patient", pid, ".agenda.reminder");
    int total = 0;
    int64_t end = bus_mono_ms() + ms;
    while (bus_mono_ms() < end) {
        Espace__V1__AgendaReminder *rm = (Espace__V1__AgendaReminder *)ag_event_on(
            topic, &espace__v1__agenda_reminder__descriptor, (int)(end - bus_mono_ms()));
        if (!rm)
            break;
        int64_t late = bus_wall_ms() - rm->due_ms;
        if (min_late && late < *min_late)
            *min_late = late;
        for (int i = 0; i < n; i++)
            if (rm->event && rm->event->id.len == 16 &&
                memcmp(rm->event->id.data, ids[i], 16) == 0)
                count[i]++;
        total++;
        codec_free(&rm->base);
    }
    return total;
}

static void test_reminders_live(void **state)
{
    (void)state;
    const char *P = "b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8";
    evfix_t f;
    bus_reply_t r;
    enum { N = 20 };
    uint8_t ids[N + 1][16];
    int count[N + 1] = {0};
    /* 20 reminders due at once (more than one tick fires: SVC_TICK_AGAIN),
     * plus one whose event is cancelled before (must not fire) */
    int64_t due = bus_wall_ms() + 1500;
    for (int i = 0; i <= N; i++) {
        ag_ev(&f, due + 60000, "Prise de sang");
        f.e.n_participants = 0;
        f.rem[0] = 1;
        f.e.reminder_minutes = f.rem;
        f.e.n_reminder_minutes = 1;
        Espace__V1__AgendaEvent *e = NULL;
        assert_int_equal(ag_create(K_PATIENT, P, "", &f.e, &e, &r), 0);
        memcpy(ids[i], e->id.data, 16);
        codec_free(&e->base);
    }
    Espace__V1__AgendaCancelRequest cr = ESPACE__V1__AGENDA_CANCEL_REQUEST__INIT;
    cr.event_id.data = ids[N];
    cr.event_id.len = 16;
    assert_int_equal(ag_call(K_PATIENT, P, "Cancel", &cr.base,
                            &espace__v1__agenda_cancel_reply__descriptor, NULL, &r),
                     0);
    int64_t min_late = INT64_MAX;
    int total = s_collect(P, ids, N + 1, count, 5000, &min_late);
    assert_int_equal(total, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(count[i], 1);
    assert_int_equal(count[N], 0);
    assert_true(min_late >= 0); /* never before it is due */
}

static void test_reminder_restart(void **state)
{
    (void)state;
    const char *P = "c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9";
    evfix_t f;
    bus_reply_t r;
    uint8_t ids[1][16];
    int count[1] = {0};
    int64_t due = bus_wall_ms() + 1500;
    ag_ev(&f, due + 5 * 60000, "Vaccin grippe");
    f.e.kind = ESPACE__V1__AGENDA_KIND__AGENDA_KIND_RAPPEL;
    f.rem[0] = 5;
    f.e.reminder_minutes = f.rem;
    f.e.n_reminder_minutes = 1;
    Espace__V1__AgendaEvent *e = NULL;
    assert_int_equal(ag_create(K_PATIENT, P, "", &f.e, &e, &r), 0);
    memcpy(ids[0], e->id.data, 16);
    codec_free(&e->base);
    /* stop before it is due, start again after */
    assert_int_equal(h_svc_stop(&AG.agenda), 0);
    while (bus_wall_ms() < due + 800)
        h_sleep_ms(50);
    assert_int_equal(s_collect(P, ids, 1, count, 100, NULL), 0); /* nobody fired it */
    ag_agenda_start();
    int total = s_collect(P, ids, 1, count, 5000, NULL);
    assert_int_equal(total, 1);
    assert_int_equal(count[0], 1);
    /* once: not again after another restart */
    assert_int_equal(h_svc_stop(&AG.agenda), 0);
    ag_agenda_start();
    assert_int_equal(s_collect(P, ids, 1, count, 2500, NULL), 0);
    assert_int_equal(count[0], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reminders_live),
        cmocka_unit_test(test_reminder_restart),
    };
    return cmocka_run_group_tests(tests, ag_setup, ag_teardown);
}
