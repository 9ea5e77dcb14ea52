/*
 * test_fhir.c - the FHIR R4 JSON of the dmp service (services/dmp/fhir.c),
 * pure: an Observation byte for byte (codes, UCUM, instants), blood pressure
 * components, the glucose moment, a DocumentReference with its systems,
 * security labels and RPLC relation, a Bundle, and no output for a value
 * JSON cannot hold.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "services/dmp/dmp_int.h"

#define K(x) ESPACE__V1__MEASURE_KIND__MEASURE_KIND_##x
#define PID "0123456789abcdef0123456789abcdef"

static uint8_t s_id[ID_BYTES] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00};

static void s_measure(Espace__V1__Measure *m, int kind, const char *code, const char *unit,
                      double v)
{
    espace__v1__measure__init(m);
    m->id = (ProtobufCBinaryData){ID_BYTES, s_id};
    m->patient_id = (char *)PID;
    m->kind = (Espace__V1__MeasureKind)kind;
    m->code = (char *)code;
    m->unit = (char *)unit;
    m->value = v;
    m->effective_ms = 1767268800000LL; /* 2026-01-01T12:00:00Z */
    m->recorded_ms = 1767268860500LL;
}

static void s_has(const char *json, const char *want)
{
    if (!strstr(json, want))
        fail_msg("%s not in %s", want, json);
}

static void test_observation(void **state)
{
    (void)state;
    Espace__V1__Measure m;
    s_measure(&m, K(WEIGHT), "29463-7", "kg", 72.4);
    size_t len = 0;
    char *j = dmp_fhir_measure(&m, &len);
    assert_non_null(j);
    assert_string_equal(
        j, "{\"resourceType\":\"Observation\",\"id\":\"112233445566778899aabbccddeeff00\","
           "\"status\":\"final\",\"category\":[{\"coding\":[{\"system\":\"http://terminology."
           "hl7.org/CodeSystem/observation-category\",\"code\":\"vital-signs\"}]}],"
           "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"29463-7\","
           "\"display\":\"Poids corporel\"}]},\"subject\":{\"reference\":\"Patient/" PID "\"},"
           "\"effectiveDateTime\":\"2026-01-01T12:00:00.000Z\",\"issued\":"
           "\"2026-01-01T12:01:00.500Z\",\"valueQuantity\":{\"value\":72.4,\"unit\":\"kg\","
           "\"system\":\"http://unitsofmeasure.org\",\"code\":\"kg\"}}");
    assert_int_equal(len, strlen(j));
    free(j);
    /* pain: UCUM "1", unit text "Level" */
    s_measure(&m, K(PAIN), "72514-3", "1", 4);
    j = dmp_fhir_measure(&m, &len);
    s_has(j, "\"valueQuantity\":{\"value\":4,\"unit\":\"Level\",\"system\":"
             "\"http://unitsofmeasure.org\",\"code\":\"1\"}");
    free(j);
    /* blood pressure: two components, no value of its own */
    s_measure(&m, K(BLOOD_PRESSURE), "85354-9", "mm[Hg]", 0);
    m.systolic = 131;
    m.diastolic = 79.5;
    j = dmp_fhir_measure(&m, &len);
    s_has(j, "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"85354-9\"");
    s_has(j, "\"component\":[{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":"
             "\"8480-6\",\"display\":\"Systolic blood pressure\"}]},\"valueQuantity\":{\"value\":"
             "131,\"unit\":\"mm[Hg]\",\"system\":\"http://unitsofmeasure.org\",\"code\":"
             "\"mm[Hg]\"}},{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":"
             "\"8462-4\"");
    s_has(j, "\"value\":79.5");
    assert_null(strstr(j, "\"valueQuantity\":{\"value\":0"));
    free(j);
    /* interstitial glucose: TRE_R308, mg/dL, the moment extension */
    s_measure(&m, K(GLUCOSE), "MED-969", "mg/dL", 120);
    m.glucose_type = ESPACE__V1__GLUCOSE_TYPE__GLUCOSE_TYPE_INTERSTITIAL;
    m.moment = ESPACE__V1__GLUCOSE_MOMENT__GLUCOSE_MOMENT_POST_PRANDIAL;
    j = dmp_fhir_measure(&m, &len);
    s_has(j, "\"code\":{\"coding\":[{\"system\":\"https://mos.esante.gouv.fr/NOS/TRE_R308-TAASIP/"
             "FHIR/TRE-R308-TAASIP\",\"code\":\"MED-969\"");
    s_has(j, "\"valueCodeableConcept\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":"
             "\"16915-1\"");
    s_has(j, "\"unit\":\"mg/dL\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mg/dL\"");
    free(j);
    /* a value JSON cannot hold: no output */
    s_measure(&m, K(WEIGHT), "29463-7", "kg", NAN);
    assert_null(dmp_fhir_measure(&m, &len));
}

static void test_bundle(void **state)
{
    (void)state;
    Espace__V1__Measure a, b;
    s_measure(&a, K(HEART_RATE), "8867-4", "/min", 60);
    s_measure(&b, K(HEART_RATE), "8867-4", "/min", 61);
    Espace__V1__Measure *ms[2] = {&a, &b};
    size_t len = 0;
    char *j = dmp_fhir_bundle(ms, 2, &len);
    assert_non_null(j);
    s_has(j, "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{\"fullUrl\":"
             "\"urn:uuid:11223344-5566-7788-99aa-bbccddeeff00\",\"resource\":{\"resourceType\":"
             "\"Observation\"");
    s_has(j, "\"value\":61,");
    free(j);
    j = dmp_fhir_bundle(NULL, 0, &len);
    assert_string_equal(j, "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[]}");
    free(j);
}

static void test_document(void **state)
{
    (void)state;
    uint8_t unique[ID_BYTES] = {0}, prev[ID_BYTES] = {0};
    unique[15] = 1;
    prev[15] = 2;
    Espace__V1__Author au = ESPACE__V1__AUTHOR__INIT;
    au.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL;
    au.principal = (char *)"10001234567";
    Espace__V1__Period sp = ESPACE__V1__PERIOD__INIT;
    sp.start_ms = 1767225600000LL;
    Espace__V1__DocumentMeta m = ESPACE__V1__DOCUMENT_META__INIT;
    m.id = (ProtobufCBinaryData){ID_BYTES, s_id};
    m.unique_id = (ProtobufCBinaryData){ID_BYTES, unique};
    m.patient_id = (char *)PID;
    m.type_code = (char *)"PROT_ALD";
    m.class_code = (char *)"44";
    m.title = (char *)"Protocole \"ALD\"";
    m.author = &au;
    m.creation_ms = 1767268800000LL;
    m.filed_ms = 1767268800000LL;
    m.service_period = &sp;
    m.confidentiality = ESPACE__V1__CONFIDENTIALITY__CONFIDENTIALITY_RESTRICTED;
    m.mime_type = (char *)"application/pdf";
    m.size = 1234;
    m.availability = ESPACE__V1__AVAILABILITY__AVAILABILITY_SUPERSEDED;
    m.version = 2;
    m.replaces = (ProtobufCBinaryData){ID_BYTES, prev};
    m.masked_ps = 1;
    size_t len = 0;
    char *j = dmp_fhir_document(&m, &len);
    assert_non_null(j);
    s_has(j, "{\"resourceType\":\"DocumentReference\",\"id\":\"112233445566778899aabbccddeeff00\","
             "\"meta\":{\"versionId\":\"2\"},\"masterIdentifier\":{\"system\":"
             "\"urn:ietf:rfc:3986\",\"value\":\"urn:uuid:00000000-0000-0000-0000-000000000001\"}");
    s_has(j, "\"status\":\"superseded\"");
    s_has(j, "\"type\":{\"coding\":[{\"system\":\"https://mos.esante.gouv.fr/NOS/"
             "TRE_A05-TypeDocComplementaire/FHIR/TRE-A05-TypeDocComplementaire\",\"code\":"
             "\"PROT_ALD\",\"display\":\"Protocole de soins ALD\"}]}");
    s_has(j, "\"category\":[{\"coding\":[{\"system\":\"https://mos.esante.gouv.fr/NOS/"
             "TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument\",\"code\":\"44\"");
    s_has(j, "\"author\":[{\"identifier\":{\"system\":\"https://rpps.esante.gouv.fr\",\"value\":"
             "\"10001234567\"}}]");
    s_has(j, "{\"system\":\"https://mos.esante.gouv.fr/NOS/TRE_A08-HL7Confidentiality/FHIR/"
             "TRE-A08-HL7Confidentiality\",\"code\":\"R\"");
    s_has(j, "{\"system\":\"https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/"
             "TRE-A07-StatutVisibiliteDocument\",\"code\":\"MASQUE_PS\"");
    s_has(j, "\"attachment\":{\"contentType\":\"application/pdf\",\"language\":\"fr-FR\","
             "\"size\":1234,\"title\":\"Protocole \\\"ALD\\\"\",\"creation\":"
             "\"2026-01-01T12:00:00.000Z\"}");
    s_has(j, "\"context\":{\"period\":{\"start\":\"2026-01-01T00:00:00.000Z\"}}");
    s_has(j, "\"relatesTo\":[{\"code\":\"replaces\",\"target\":{\"reference\":"
             "\"DocumentReference/00000000000000000000000000000002\"}}]");
    free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_observation),
        cmocka_unit_test(test_bundle),
        cmocka_unit_test(test_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
