/* test_names.c - proto/names.c: topics and enum labels from the schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "espace/v1/agenda.pb-c.h"
#include "espace/v1/common.pb-c.h"
#include "proto/names.h"
#include "proto/status.h"

#define PID "00112233445566778899aabbccddeeff"

static void test_topics(void **state)
{
    (void)state;
    char t[TOPIC_MAX + 1], id[ID_HEX];
    assert_int_equal(topic_patient(t, sizeof t, PID, TOPIC_AREA_AGENDA), ES_OK);
    assert_string_equal(t, "patient." PID ".agenda");
    assert_int_equal(topic_patient_id(t, id), ES_OK);
    assert_string_equal(id, PID);
    assert_int_equal(topic_patient(t, sizeof t, PID, NULL), ES_OK);
    assert_string_equal(t, "patient." PID ".");
    assert_int_equal(topic_patient(t, sizeof t, "nothex", NULL), ES_INVALID_ARGUMENT);
    assert_int_equal(topic_patient(t, 20, PID, TOPIC_AREA_AGENDA), ES_TOO_LARGE);
    assert_int_equal(topic_patient_id("patient.0011", id), ES_INVALID_ARGUMENT);
    assert_int_equal(topic_patient_id("pro.10002673899.agenda", id), ES_INVALID_ARGUMENT);
    assert_int_equal(topic_patient_id("patient." PID "x", id), ES_INVALID_ARGUMENT);
    assert_int_equal(topic_patient_id("patient." PID, id), ES_OK);

    assert_int_equal(topic_pro(t, sizeof t, "10002673899", TOPIC_AREA_AGENDA), ES_OK);
    assert_string_equal(t, "pro.10002673899.agenda");
    assert_int_equal(topic_pro_head(t), strlen("pro.10002673899."));
    assert_int_equal(topic_pro(t, sizeof t, "1000267389", NULL), ES_INVALID_ARGUMENT);
    assert_int_equal(topic_pro_head("pro.1000267389x.agenda"), 0);
    assert_int_equal(topic_pro_head("pro.10002673899"), 0);
    assert_int_equal(topic_pro_head("patient." PID "."), 0);
}

/* Device-addressed topics: built and parsed back; the edge relies on the
 * parse to pick one device's connections. */
static void test_device_topics(void **state)
{
    (void)state;
    const char *pid = "0123456789abcdef0123456789abcdef";
    uint8_t dev[ID_BYTES], got[ID_BYTES];
    for (int i = 0; i < ID_BYTES; i++)
        dev[i] = (uint8_t)(0xa0 + i);
    char t[TOPIC_MAX + 1];
    assert_int_equal(topic_patient_device(t, sizeof t, pid, dev, TOPIC_AREA_MESSAGING), ES_OK);
    assert_string_equal(t, "patient.0123456789abcdef0123456789abcdef.device."
                           "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf.messaging");
    assert_int_equal(topic_device_id(t, got), ES_OK);
    assert_memory_equal(got, dev, ID_BYTES);
    assert_int_equal(topic_pro_device(t, sizeof t, "81000000001", dev, NULL), ES_OK);
    assert_string_equal(t, "pro.81000000001.device.a0a1a2a3a4a5a6a7a8a9aaabacadaeaf.");
    assert_int_equal(topic_device_id(t, got), ES_OK);
    assert_int_equal(topic_pro_device(t, sizeof t, "123", dev, NULL), ES_INVALID_ARGUMENT);
    assert_int_equal(topic_patient_device(t, sizeof t, "xyz", dev, NULL), ES_INVALID_ARGUMENT);
    assert_int_equal(topic_patient_device(t, 20, pid, dev, "x"), ES_TOO_LARGE);
    /* not device-addressed; malformed device part; no head */
    assert_int_equal(topic_device_id("patient.0123456789abcdef0123456789abcdef.agenda", got),
                     ES_NOT_FOUND);
    assert_int_equal(topic_device_id("patient.0123456789abcdef0123456789abcdef", got),
                     ES_NOT_FOUND);
    assert_int_equal(topic_device_id("patient.0123456789abcdef0123456789abcdef.device.zz", got),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(topic_device_id("patient.0123456789abcdef0123456789abcdef.device."
                                     "a0a1a2a3a4a5a6a7a8a9aaabacadaeafx", got),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(topic_device_id("identity.session.revoked", got), ES_INVALID_ARGUMENT);
}

static void test_enum_labels(void **state)
{
    (void)state;
    char b[ENUM_LABEL_MAX];
    const ProtobufCEnumDescriptor *st = &espace__v1__agenda_status__descriptor;
    assert_string_equal(enum_label(st, ESPACE__V1__AGENDA_STATUS__AGENDA_STATUS_ENTERED_IN_ERROR, b,
                                   sizeof b),
                        "entered-in-error");
    assert_string_equal(enum_label(&espace__v1__agenda_kind__descriptor,
                                   ESPACE__V1__AGENDA_KIND__AGENDA_KIND_RDV, b, sizeof b),
                        "rdv");
    assert_string_equal(enum_label(st, 999, b, sizeof b), "?");
    assert_string_equal(enum_label(st, ESPACE__V1__AGENDA_STATUS__AGENDA_STATUS_BOOKED, b, 3), "?");
    int v = -1;
    assert_int_equal(enum_parse(st, "checked-in", &v), ES_OK);
    assert_int_equal(v, ESPACE__V1__AGENDA_STATUS__AGENDA_STATUS_CHECKED_IN);
    assert_int_equal(enum_parse(st, "AGENDA_STATUS_BOOKED", &v), ES_OK);
    assert_int_equal(v, ESPACE__V1__AGENDA_STATUS__AGENDA_STATUS_BOOKED);
    assert_int_equal(enum_parse(st, "booked-ish", &v), ES_INVALID_ARGUMENT);
    assert_int_equal(enum_parse(st, NULL, &v), ES_INVALID_ARGUMENT);
    assert_string_equal(enum_label(&espace__v1__principal_kind__descriptor,
                                   ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL, b,
                                   sizeof b),
                        "professional");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topics),
        cmocka_unit_test(test_device_topics),
        cmocka_unit_test(test_enum_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
