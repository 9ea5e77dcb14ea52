/*
 * test_fhir.c - services/agenda/fhir.c: the FHIR R4 Appointment of an event
 * and the Bundle of a listing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "services/agenda/agenda_int.h"
#include "test/unit/agenda/event_fixture.h"

static void test_fhir(void **state)
{
    (void)state;
    evfix_t f;
    ev_sample(&f);
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
    f.e.start_ms = ev_utc(2024, 3, 31, 1, 30);
    f.e.end_ms = ev_utc(2024, 3, 31, 2, 0) + 5;
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
    j = agenda_fhir_bundle(evs, 1, ev_utc(2024, 4, 1, 0, 0), &len);
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
        cmocka_unit_test(test_fhir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
