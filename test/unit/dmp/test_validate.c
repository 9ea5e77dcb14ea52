/*
 * test_validate.c - the pure checks of the dmp service (services/dmp/
 * validate.c) and its code tables (codes.c): every refusal with its status
 * and field, the range edges, the BMI formula, and the tables against
 * REFERENCE.md (counts, no duplicate, every default class a J57 code).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/status.h"
#include "services/dmp/dmp_int.h"

#define K(x) ESPACE__V1__MEASURE_KIND__MEASURE_KIND_##x
#define PK(x) ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_##x
#define NOW 1767268800000LL

static void s_expect(int rc, const dmp_err_t *e, int status, const char *field)
{
    if (rc != status || strcmp(e->field, field) != 0)
        fail_msg("want %s '%s', got %s '%s' (%s)", es_status_name(status), field,
                 es_status_name(rc), e->field, e->msg);
}

static void test_tables(void **state)
{
    (void)state;
    size_t pro = 0, pat = 0;
    for (size_t i = 0; i < dmp_n_doc_types; i++) {
        const dmp_doc_type_t *t = &dmp_doc_types[i];
        assert_non_null(dmp_class_find(t->class_code));
        if (t->alt_class)
            assert_non_null(dmp_class_find(t->alt_class));
        assert_true(t->category > 0);
        assert_ptr_equal(dmp_doc_type_find(t->code), t); /* no duplicate code */
        if (t->patient)
            pat++;
        else
            pro++;
    }
    assert_int_equal(pro, 35); /* 34 tender types, one UNCONF code accepted twice */
    assert_int_equal(pat, 9);
    assert_int_equal(dmp_n_classes, 11);
    assert_string_equal(dmp_doc_type_find("DOCPAT08")->display, "Profil médical Mon espace santé");
    assert_null(dmp_doc_type_find("DOCPAT10"));
    /* the measures */
    assert_string_equal(dmp_measure_code(K(WEIGHT), 0), "29463-7");
    assert_string_equal(dmp_measure_code(K(HEIGHT), 0), "8302-2");
    assert_string_equal(dmp_measure_code(K(BMI), 0), "39156-5");
    assert_string_equal(dmp_measure_code(K(STEPS), 0), "41950-7");
    assert_string_equal(dmp_measure_code(K(TEMPERATURE), 0), "8310-5");
    assert_string_equal(dmp_measure_code(K(WAIST), 0), "8280-0");
    assert_string_equal(dmp_measure_code(K(HEART_RATE), 0), "8867-4");
    assert_string_equal(dmp_measure_code(K(BLOOD_PRESSURE), 0), "85354-9");
    assert_string_equal(dmp_measure_code(K(PAIN), 0), "72514-3");
    assert_string_equal(dmp_measure_unit(K(STEPS), 0), "1/(24.h)");
    assert_string_equal(dmp_measure_unit(K(PAIN), 0), "1");
    assert_string_equal(dmp_measure_code(K(GLUCOSE), ESPACE__V1__GLUCOSE_TYPE__GLUCOSE_TYPE_GMI),
                        "MED-972");
    assert_null(dmp_measure_code(K(GLUCOSE), 0));
    assert_null(dmp_measure_def(0));
    assert_null(dmp_measure_def(DMP_KINDS));
    assert_int_equal(dmp_glucose_type_of_code("2339-0"), ESPACE__V1__GLUCOSE_TYPE__GLUCOSE_TYPE_BLOOD);
    assert_int_equal(dmp_glucose_type_of_code("29463-7"), 0);
}

static void test_meta(void **state)
{
    (void)state;
    Espace__V1__DocumentMeta m;
    dmp_err_t e;
#define META(type)                                                                               \
    do {                                                                                         \
        espace__v1__document_meta__init(&m);                                                     \
        m.type_code = (char *)(type);                                                            \
        m.title = (char *)"Compte rendu";                                                        \
        m.mime_type = (char *)"application/pdf";                                                 \
    } while (0)
    META("11488-4");
    assert_int_equal(dmp_meta_check(&m, PK(PROFESSIONAL), NOW, &e), 0);
    assert_string_equal(m.class_code, "10");
    assert_int_equal(m.category, ESPACE__V1__DOC_CATEGORY__DOC_CATEGORY_REPORTS);
    assert_int_equal(m.creation_ms, NOW);
    assert_int_equal(m.confidentiality, ESPACE__V1__CONFIDENTIALITY__CONFIDENTIALITY_NORMAL);
    META("DOCPAT04");
    assert_int_equal(dmp_meta_check(&m, PK(PATIENT), NOW, &e), 0);
    assert_string_equal(m.class_code, "90");
    assert_int_equal(m.category, ESPACE__V1__DOC_CATEGORY__DOC_CATEGORY_IMAGING);

    META(NULL);
    s_expect(dmp_meta_check(&m, PK(PROFESSIONAL), NOW, &e), &e, ES_INVALID_ARGUMENT,
             "document.type_code");
    META("DOCPAT01");
    s_expect(dmp_meta_check(&m, PK(PROFESSIONAL), NOW, &e), &e, ES_INVALID_ARGUMENT,
             "document.type_code");
    META("11488-4");
    s_expect(dmp_meta_check(&m, PK(PATIENT), NOW, &e), &e, ES_INVALID_ARGUMENT,
             "document.type_code");
    META("DOCPAT01");
    m.class_code = (char *)"10";
    s_expect(dmp_meta_check(&m, PK(PATIENT), NOW, &e), &e, ES_INVALID_ARGUMENT,
             "document.class_code");
    META("11488-4");
    m.class_code = (char *)"90";
    s_expect(dmp_meta_check(&m, PK(PROFESSIONAL), NOW, &e), &e, ES_INVALID_ARGUMENT,
             "document.class_code");
    m.class_code = (char *)"99"; /* TRE_A03 but not J57 */
    s_expect(dmp_meta_check(&m, PK(PROFESSIONAL), NOW, &e), &e, ES_INVALID_ARGUMENT,
             "document.class_code");
    META("11488-4");
    m.title = (char *)"a\x01b";
    s_expect(dmp_meta_check(&m, PK(PROFESSIONAL), NOW, &e), &e, ES_INVALID_ARGUMENT,
             "document.title");
    char long_title[DMP_TITLE_MAX + 2];
    memset(long_title, 'x', sizeof long_title - 1);
    long_title[sizeof long_title - 1] = '\0';
    m.title = long_title;
    s_expect(dmp_meta_check(&m, PK(PROFESSIONAL), NOW, &e), &e, ES_INVALID_ARGUMENT,
             "document.title");
    long_title[DMP_TITLE_MAX] = '\0'; /* exactly the limit */
    assert_int_equal(dmp_meta_check(&m, PK(PROFESSIONAL), NOW, &e), 0);
    META("11488-4");
    m.comments = (char *)"ligne 1\nligne 2\tfin";
    assert_int_equal(dmp_meta_check(&m, PK(PROFESSIONAL), NOW, &e), 0);
    m.comments = (char *)"\r";
    s_expect(dmp_meta_check(&m, PK(PROFESSIONAL), NOW, &e), &e, ES_INVALID_ARGUMENT,
             "document.comments");
    META("11488-4");
    m.creation_ms = NOW + DMP_FUTURE_MS + 1;
    s_expect(dmp_meta_check(&m, PK(PROFESSIONAL), NOW, &e), &e, ES_INVALID_ARGUMENT,
             "document.creation_ms");
    META("11488-4");
    Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
    p.start_ms = 10;
    p.end_ms = 5;
    m.service_period = &p;
    s_expect(dmp_meta_check(&m, PK(PROFESSIONAL), NOW, &e), &e, ES_INVALID_ARGUMENT,
             "document.service_period");
    META("11488-4");
    m.mime_type = (char *)"text/html";
    s_expect(dmp_meta_check(&m, PK(PROFESSIONAL), NOW, &e), &e, ES_INVALID_ARGUMENT,
             "document.mime_type");
    META("11488-4");
    m.format_code = (char *)"urn:ihe:iti:xds:2017:mimeTypeSufficient";
    assert_int_equal(dmp_meta_check(&m, PK(PROFESSIONAL), NOW, &e), 0);
    m.format_code = (char *)"has space";
    s_expect(dmp_meta_check(&m, PK(PROFESSIONAL), NOW, &e), &e, ES_INVALID_ARGUMENT,
             "document.format_code");
    META("DOCPAT02");
    m.invisible_patient = 1;
    s_expect(dmp_meta_check(&m, PK(PATIENT), NOW, &e), &e, ES_INVALID_ARGUMENT,
             "document.invisible_patient");
    META("11488-4");
    m.confidentiality = (Espace__V1__Confidentiality)7;
    s_expect(dmp_meta_check(&m, PK(PROFESSIONAL), NOW, &e), &e, ES_INVALID_ARGUMENT,
             "document.confidentiality");
    s_expect(dmp_meta_check(NULL, PK(PROFESSIONAL), NOW, &e), &e, ES_INVALID_ARGUMENT, "document");
#undef META
}

static void test_ranges(void **state)
{
    (void)state;
    dmp_err_t e;
    int soft = 0;
    /* weight: (0, 650], soft [0.5, 300] */
    s_expect(dmp_range_check(&dmp_range_weight, 0, "weight", "kg", "value", &soft, &e), &e,
             ES_INVALID_ARGUMENT, "value");
    assert_string_equal(e.msg, "weight must be > 0 and <= 650 kg");
    assert_int_equal(dmp_range_check(&dmp_range_weight, 0.01, "weight", "kg", "value", &soft, &e), 0);
    assert_true(soft);
    assert_int_equal(dmp_range_check(&dmp_range_weight, 0.5, "weight", "kg", "value", &soft, &e), 0);
    assert_false(soft);
    assert_int_equal(dmp_range_check(&dmp_range_weight, 300, "weight", "kg", "value", &soft, &e), 0);
    assert_false(soft);
    assert_int_equal(dmp_range_check(&dmp_range_weight, 300.1, "weight", "kg", "value", &soft, &e), 0);
    assert_true(soft);
    assert_int_equal(dmp_range_check(&dmp_range_weight, 650, "weight", "kg", "value", &soft, &e), 0);
    s_expect(dmp_range_check(&dmp_range_weight, 650.01, "weight", "kg", "value", &soft, &e), &e,
             ES_INVALID_ARGUMENT, "value");
    /* height [20, 272] */
    assert_int_equal(dmp_range_check(&dmp_range_height, 20, "height", "cm", "value", &soft, &e), 0);
    s_expect(dmp_range_check(&dmp_range_height, 19.99, "height", "cm", "value", &soft, &e), &e,
             ES_INVALID_ARGUMENT, "value");
    assert_string_equal(e.msg, "height must be >= 20 and <= 272 cm");
    /* NaN never passes */
    s_expect(dmp_range_check(&dmp_range_height, 0.0 / 0.0, "height", "cm", "value", &soft, &e), &e,
             ES_INVALID_ARGUMENT, "value");
}

static void s_req(Espace__V1__AddMeasureRequest *q, int kind, double v)
{
    espace__v1__add_measure_request__init(q);
    q->kind = (Espace__V1__MeasureKind)kind;
    q->value = v;
    q->effective_ms = NOW;
}

static void test_measure(void **state)
{
    (void)state;
    Espace__V1__AddMeasureRequest q;
    dmp_err_t e;
    char warn[200];
    int gt = -1;
    s_req(&q, K(TEMPERATURE), 37);
    assert_int_equal(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), 0);
    assert_int_equal(gt, 0);
    assert_string_equal(warn, "");
    s_req(&q, K(TEMPERATURE), 43);
    assert_int_equal(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), 0);
    assert_string_equal(warn, "temperature 43 Cel is above the usual 42 Cel");
    s_req(&q, K(BMI), 20);
    s_expect(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), &e,
             ES_INVALID_ARGUMENT, "kind");
    s_req(&q, 0, 20);
    s_expect(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), &e,
             ES_INVALID_ARGUMENT, "kind");
    s_req(&q, 42, 20);
    s_expect(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), &e,
             ES_INVALID_ARGUMENT, "kind");
    /* glucose: moment required; the default type is blood; days per type */
    s_req(&q, K(GLUCOSE), 100);
    s_expect(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), &e,
             ES_INVALID_ARGUMENT, "moment");
    q.moment = (Espace__V1__GlucoseMoment)DMP_MOMENTS;
    s_expect(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), &e,
             ES_INVALID_ARGUMENT, "moment");
    q.moment = ESPACE__V1__GLUCOSE_MOMENT__GLUCOSE_MOMENT_OTHER;
    assert_int_equal(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), 0);
    assert_int_equal(gt, ESPACE__V1__GLUCOSE_TYPE__GLUCOSE_TYPE_BLOOD);
    q.code = (char *)"4548-4"; /* HbA1c's code names the type */
    q.value = 6;
    assert_int_equal(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), 0);
    assert_int_equal(gt, ESPACE__V1__GLUCOSE_TYPE__GLUCOSE_TYPE_HBA1C);
    q.glucose_type = ESPACE__V1__GLUCOSE_TYPE__GLUCOSE_TYPE_BLOOD;
    s_expect(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), &e,
             ES_INVALID_ARGUMENT, "code");
    q.code = NULL;
    q.glucose_type = ESPACE__V1__GLUCOSE_TYPE__GLUCOSE_TYPE_GMI;
    s_expect(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), &e,
             ES_INVALID_ARGUMENT, "number_of_days");
    q.number_of_days = DMP_GLUCOSE_DAYS_MAX + 1;
    s_expect(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), &e,
             ES_INVALID_ARGUMENT, "number_of_days");
    q.number_of_days = 14;
    assert_int_equal(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), 0);
    q.value = 1.9; /* % range [2, 25] */
    s_expect(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), &e,
             ES_INVALID_ARGUMENT, "value");
    /* blood pressure */
    s_req(&q, K(BLOOD_PRESSURE), 0);
    q.systolic = 120;
    q.diastolic = 80;
    assert_int_equal(dmp_measure_check(&q, PK(PROFESSIONAL), NOW, &gt, warn, sizeof warn, &e), 0);
    q.value = 1;
    s_expect(dmp_measure_check(&q, PK(PROFESSIONAL), NOW, &gt, warn, sizeof warn, &e), &e,
             ES_INVALID_ARGUMENT, "value");
    q.value = 0;
    q.systolic = 260;
    q.diastolic = 160;
    assert_int_equal(dmp_measure_check(&q, PK(PROFESSIONAL), NOW, &gt, warn, sizeof warn, &e), 0);
    assert_string_equal(warn, "systolic pressure 260 mm[Hg] is above the usual 250 mm[Hg]; "
                              "diastolic pressure 160 mm[Hg] is above the usual 150 mm[Hg]");
    /* sources and devices */
    s_req(&q, K(STEPS), 1000);
    q.source = ESPACE__V1__MEASURE_SOURCE__MEASURE_SOURCE_COMPUTED;
    s_expect(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), &e,
             ES_INVALID_ARGUMENT, "source");
    q.source = ESPACE__V1__MEASURE_SOURCE__MEASURE_SOURCE_APP;
    q.device_id = (char *)"bad id";
    s_expect(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), &e,
             ES_INVALID_ARGUMENT, "device_id");
    q.device_id = NULL;
    uint8_t mid[3] = {1, 2, 3};
    q.measure_id = (ProtobufCBinaryData){sizeof mid, mid};
    s_expect(dmp_measure_check(&q, PK(PATIENT), NOW, &gt, warn, sizeof warn, &e), &e,
             ES_INVALID_ARGUMENT, "measure_id");
}

static void test_bmi(void **state)
{
    (void)state;
    assert_true(dmp_bmi(81, 180) == 25.0);
    assert_true(dmp_bmi(90, 180) == 27.8);
    assert_true(dmp_bmi(70, 175) == 22.9);
    assert_true(dmp_bmi(0, 180) == 0);
    assert_true(dmp_bmi(70, 0) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables), cmocka_unit_test(test_meta),
        cmocka_unit_test(test_ranges), cmocka_unit_test(test_measure),
        cmocka_unit_test(test_bmi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
