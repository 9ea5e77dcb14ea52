/*
 * test_dmp_measures.c - health measures on a live bus (dmp_fixture.h): every
 * kind (and glucose type) round-trips and its FHIR Observation carries the
 * exact LOINC code and UCUM unit of REFERENCE.md; the hard range refused
 * just outside (with a precise message) and accepted at its edges, the
 * soft range stored with a warning; BMI refused as input and derived from
 * the latest weight and height; glucose without a moment refused; series,
 * daily aggregates over Europe/Paris days, the latest of each kind, a
 * Bundle for a series, live events and idempotent measure ids.
 */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/civil_time.h"
#include "services/dmp/dmp_int.h"
#include "test/service/dmp_fixture.h"

#define K(x) ESPACE__V1__MEASURE_KIND__MEASURE_KIND_##x
#define G(x) ESPACE__V1__GLUCOSE_TYPE__GLUCOSE_TYPE_##x
#define MO(x) ESPACE__V1__GLUCOSE_MOMENT__GLUCOSE_MOMENT_##x
#define T0 1767268800000LL /* 2026-01-01T12:00:00Z */
#define HOUR 3600000LL
#define DAY 86400000LL

static void s_req(Espace__V1__AddMeasureRequest *q, const char *pid, int kind, double v)
{
    espace__v1__add_measure_request__init(q);
    q->patient_id = (char *)pid;
    q->kind = (Espace__V1__MeasureKind)kind;
    q->value = v;
    q->effective_ms = T0;
}

/* Add as the patient; the status; *m the stored measure (codec_free hold). */
static int s_add(const char *pid, Espace__V1__AddMeasureRequest *q,
                 Espace__V1__AddMeasureReply **out, bus_reply_t *r)
{
    return df_add(K_PATIENT, pid, q, out, r);
}

static char *s_export(const char *pid, const ProtobufCBinaryData *id)
{
    Espace__V1__ExportMeasureRequest e = ESPACE__V1__EXPORT_MEASURE_REQUEST__INIT;
    e.patient_id = (char *)pid;
    e.measure_id = *id;
    ProtobufCMessage *rep = NULL;
    bus_reply_t r;
    int rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ExportMeasure", &e.base,
                     &espace__v1__export_measure_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    char *s = strdup(((Espace__V1__ExportMeasureReply *)rep)->json);
    codec_free(rep);
    return s;
}

static void s_has(const char *json, const char *want)
{
    if (!strstr(json, want))
        fail_msg("%s not in %s", want, json);
}

/* The "code" coding and the valueQuantity of an Observation. */
static void s_codes(const char *json, int system, const char *code, const char *ucum,
                    const char *unit_text)
{
    char want[400];
    snprintf(want, sizeof want, "\"code\":{\"coding\":[{\"system\":\"%s\",\"code\":\"%s\"",
             dmp_system_uri[system], code);
    s_has(json, want);
    if (ucum) {
        snprintf(want, sizeof want, "\"unit\":\"%s\",\"system\":\"http://unitsofmeasure.org\","
                                    "\"code\":\"%s\"}",
                 unit_text, ucum);
        s_has(json, want);
    }
    s_has(json, "\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
                "observation-category\",\"code\":\"vital-signs\"}]}]");
}

static void test_every_kind(void **state)
{
    (void)state;
    char pid[ID_HEX];
    df_patient_id(pid);
    static const struct {
        int kind;
        double v;
        const char *code, *ucum, *text;
    } rows[] = {
        {K(WEIGHT), 72.4, "29463-7", "kg", "kg"},
        {K(HEIGHT), 176, "8302-2", "cm", "cm"},
        {K(STEPS), 8500, "41950-7", "1/(24.h)", "1/(24.h)"},
        {K(TEMPERATURE), 37.2, "8310-5", "Cel", "Cel"},
        {K(WAIST), 85, "8280-0", "cm", "cm"},
        {K(HEART_RATE), 64, "8867-4", "/min", "/min"},
        {K(PAIN), 3, "72514-3", "1", "Level"},
    };
    bus_reply_t r;
    Espace__V1__AddMeasureReply *out = NULL;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        Espace__V1__AddMeasureRequest q;
        s_req(&q, pid, rows[i].kind, rows[i].v);
        q.effective_ms = T0 + (int64_t)i * HOUR;
        int rc = s_add(pid, &q, &out, &r);
        DF_OK(rc, r);
        assert_string_equal(out->measure->code, rows[i].code);
        assert_string_equal(out->measure->unit, rows[i].ucum);
        assert_true(out->measure->value == rows[i].v);
        assert_int_equal(out->measure->source, ESPACE__V1__MEASURE_SOURCE__MEASURE_SOURCE_PATIENT);
        assert_string_equal(out->measure->warning, "");
        char *json = s_export(pid, &out->measure->id);
        s_codes(json, DMP_SYS_LOINC, rows[i].code, rows[i].ucum, rows[i].text);
        char want[64];
        snprintf(want, sizeof want, "\"value\":%g,", rows[i].v);
        s_has(json, want);
        free(json);
        codec_free(&out->base);
    }
    /* blood pressure: the panel and its two components */
    Espace__V1__AddMeasureRequest q;
    s_req(&q, pid, K(BLOOD_PRESSURE), 0);
    q.systolic = 128;
    q.diastolic = 82;
    int rc = s_add(pid, &q, &out, &r);
    DF_OK(rc, r);
    assert_string_equal(out->measure->code, "85354-9");
    char *json = s_export(pid, &out->measure->id);
    s_codes(json, DMP_SYS_LOINC, "85354-9", NULL, NULL);
    s_has(json, "\"component\":[{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\","
                "\"code\":\"8480-6\"");
    s_has(json, "\"code\":\"8462-4\"");
    s_has(json, "{\"value\":128,\"unit\":\"mm[Hg]\",\"system\":\"http://unitsofmeasure.org\","
                "\"code\":\"mm[Hg]\"}");
    s_has(json, "{\"value\":82,");
    assert_null(strstr(json, "\"valueQuantity\":{\"value\":0"));
    free(json);
    codec_free(&out->base);
    /* glucose, every type, with its moment */
    static const struct {
        int type;
        double v;
        int sys;
        const char *code, *unit;
        uint32_t days;
    } gl[] = {
        {G(BLOOD), 95, DMP_SYS_LOINC, "2345-7", "mg/dL", 0},
        {G(INTERSTITIAL), 110, DMP_SYS_TRE_R308, "MED-969", "mg/dL", 14},
        {G(GMI), 6.8, DMP_SYS_TRE_R308, "MED-972", "%", 14},
        {G(HBA1C), 6.5, DMP_SYS_LOINC, "4548-4", "%", 0},
    };
    for (size_t i = 0; i < sizeof gl / sizeof gl[0]; i++) {
        s_req(&q, pid, K(GLUCOSE), gl[i].v);
        q.glucose_type = (Espace__V1__GlucoseType)gl[i].type;
        q.moment = MO(FASTING);
        q.number_of_days = gl[i].days;
        rc = s_add(pid, &q, &out, &r);
        DF_OK(rc, r);
        assert_string_equal(out->measure->code, gl[i].code);
        assert_string_equal(out->measure->unit, gl[i].unit);
        json = s_export(pid, &out->measure->id);
        s_codes(json, gl[i].sys, gl[i].code, gl[i].unit, gl[i].unit);
        s_has(json, "\"valueCodeableConcept\":{\"coding\":[{\"system\":\"http://loinc.org\","
                    "\"code\":\"53049-3\"");
        free(json);
        codec_free(&out->base);
    }
    /* 2339-0 accepted as input for blood glucose, 2345-7 stored */
    s_req(&q, pid, K(GLUCOSE), 100);
    q.code = (char *)"2339-0";
    q.moment = MO(MALAISE);
    rc = s_add(pid, &q, &out, &r);
    DF_OK(rc, r);
    assert_string_equal(out->measure->code, "2345-7");
    json = s_export(pid, &out->measure->id);
    s_has(json, "\"system\":\"urn:oid:2.16.840.1.113883.6.139\",\"code\":\"A05\"");
    free(json);
    codec_free(&out->base);
    /* the latest of each kind: 7 simple kinds, BP, BMI (derived), 4 glucose types */
    Espace__V1__LatestMeasuresRequest lq = ESPACE__V1__LATEST_MEASURES_REQUEST__INIT;
    lq.patient_id = pid;
    ProtobufCMessage *rep = NULL;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "LatestMeasures", &lq.base,
                 &espace__v1__latest_measures_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    Espace__V1__LatestMeasuresReply *l = (Espace__V1__LatestMeasuresReply *)rep;
    assert_int_equal(l->n_measures, 13);
    assert_int_equal(l->measures[0]->kind, K(WEIGHT));
    codec_free(rep);
    df_drain();
}

/* value v of kind (with glucose type gt) as the patient: the status. */
static int s_try(const char *pid, int kind, int gt, double v, char *warn, size_t n, bus_reply_t *r)
{
    Espace__V1__AddMeasureRequest q;
    s_req(&q, pid, kind, v);
    if (kind == K(BLOOD_PRESSURE)) {
        q.value = 0;
        q.systolic = v;
        q.diastolic = v > 81 ? 80 : v - 1; /* inside its soft range when it can be */
    }
    if (kind == K(GLUCOSE)) {
        q.glucose_type = (Espace__V1__GlucoseType)gt;
        q.moment = MO(BEFORE_MEAL);
    }
    Espace__V1__AddMeasureReply *out = NULL;
    int rc = s_add(pid, &q, &out, r);
    if (rc == 0 && warn)
        snprintf(warn, n, "%s", out->measure->warning);
    codec_free(out ? &out->base : NULL);
    return rc;
}

static void test_ranges(void **state)
{
    (void)state;
    char pid[ID_HEX], warn[256];
    df_patient_id(pid);
    bus_reply_t r;
    static const struct {
        int kind, gt;
        const dmp_range_t *rg;
        const char *field;
    } rows[] = {
        {K(WEIGHT), 0, &dmp_range_weight, "value"},
        {K(HEIGHT), 0, &dmp_range_height, "value"},
        {K(STEPS), 0, &dmp_range_steps, "value"},
        {K(TEMPERATURE), 0, &dmp_range_temperature, "value"},
        {K(WAIST), 0, &dmp_range_waist, "value"},
        {K(HEART_RATE), 0, &dmp_range_heart_rate, "value"},
        {K(PAIN), 0, &dmp_range_pain, "value"},
        {K(GLUCOSE), G(BLOOD), &dmp_range_glucose_mgdl, "value"},
        {K(GLUCOSE), G(HBA1C), &dmp_range_glucose_pct, "value"},
        {K(BLOOD_PRESSURE), 0, &dmp_range_systolic, "systolic"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const dmp_range_t *rg = rows[i].rg;
        int integer = rows[i].kind == K(STEPS) || rows[i].kind == K(PAIN);
        double step = integer ? 1 : 0.1;
        /* the edges themselves (weight: its low edge is refused) */
        int rc = s_try(pid, rows[i].kind, rows[i].gt, rg->hi, NULL, 0, &r);
        DF_OK(rc, r);
        rc = s_try(pid, rows[i].kind, rows[i].gt, rg->lo, NULL, 0, &r);
        if (rg->lo_excl) {
            DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, rows[i].field);
            rc = s_try(pid, rows[i].kind, rows[i].gt, rg->lo + step, NULL, 0, &r);
        }
        DF_OK(rc, r);
        /* just outside */
        rc = s_try(pid, rows[i].kind, rows[i].gt, rg->hi + step, NULL, 0, &r);
        DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, rows[i].field);
        assert_non_null(strstr(r.message, "must be"));
        rc = s_try(pid, rows[i].kind, rows[i].gt, rg->lo - step, NULL, 0, &r);
        DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, rows[i].field);
        /* the soft range: a warning, stored */
        if (rg->warn_hi < 1e300) {
            rc = s_try(pid, rows[i].kind, rows[i].gt, rg->warn_hi + step, warn, sizeof warn, &r);
            DF_OK(rc, r);
            assert_non_null(strstr(warn, "above the usual"));
            rc = s_try(pid, rows[i].kind, rows[i].gt, rg->warn_hi, warn, sizeof warn, &r);
            DF_OK(rc, r);
            assert_string_equal(warn, "");
        }
        if (rg->warn_lo > -1e300) {
            rc = s_try(pid, rows[i].kind, rows[i].gt, rg->warn_lo - step, warn, sizeof warn, &r);
            DF_OK(rc, r);
            assert_non_null(strstr(warn, "below the usual"));
        }
    }
    /* the precise message */
    int rc = s_try(pid, K(WEIGHT), 0, 651, NULL, 0, &r);
    assert_string_equal(r.message, "weight must be > 0 and <= 650 kg");
    rc = s_try(pid, K(TEMPERATURE), 0, 24.9, NULL, 0, &r);
    assert_string_equal(r.message, "temperature must be >= 25 and <= 46 Cel");
    /* whole numbers */
    rc = s_try(pid, K(STEPS), 0, 100.5, NULL, 0, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "value");
    rc = s_try(pid, K(PAIN), 0, 2.5, NULL, 0, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "value");
    /* diastolic range, and systolic above diastolic */
    Espace__V1__AddMeasureRequest q;
    s_req(&q, pid, K(BLOOD_PRESSURE), 0);
    q.systolic = 120;
    q.diastolic = 221;
    rc = s_add(pid, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "diastolic");
    q.diastolic = 120;
    rc = s_add(pid, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "diastolic");
    /* BMI is never accepted as input */
    s_req(&q, pid, K(BMI), 22);
    rc = s_add(pid, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "kind");
    /* glucose needs its moment; interstitial its days */
    s_req(&q, pid, K(GLUCOSE), 100);
    rc = s_add(pid, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "moment");
    q.moment = MO(FASTING);
    q.glucose_type = G(INTERSTITIAL);
    rc = s_add(pid, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "number_of_days");
    q.glucose_type = G(BLOOD);
    q.number_of_days = 7;
    rc = s_add(pid, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "number_of_days");
    /* a moment on another kind; a unit other than the kind's; a wrong code */
    s_req(&q, pid, K(WEIGHT), 70);
    q.moment = MO(FASTING);
    rc = s_add(pid, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "moment");
    s_req(&q, pid, K(WEIGHT), 70);
    q.unit = (char *)"[lb_av]";
    rc = s_add(pid, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "unit");
    s_req(&q, pid, K(WEIGHT), 70);
    q.code = (char *)"8302-2";
    rc = s_add(pid, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "code");
    /* no time, a future time, a professional source claimed by the patient */
    s_req(&q, pid, K(WEIGHT), 70);
    q.effective_ms = 0;
    rc = s_add(pid, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "effective_ms");
    q.effective_ms = INT64_MAX / 2;
    rc = s_add(pid, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "effective_ms");
    s_req(&q, pid, K(WEIGHT), 70);
    q.source = ESPACE__V1__MEASURE_SOURCE__MEASURE_SOURCE_PROFESSIONAL;
    rc = s_add(pid, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "source");
    q.source = ESPACE__V1__MEASURE_SOURCE__MEASURE_SOURCE_DEVICE;
    rc = s_add(pid, &q, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "device_id");
    q.device_id = (char *)"balance-42";
    Espace__V1__AddMeasureReply *out = NULL;
    rc = s_add(pid, &q, &out, &r);
    DF_OK(rc, r);
    assert_int_equal(out->measure->source, ESPACE__V1__MEASURE_SOURCE__MEASURE_SOURCE_DEVICE);
    assert_string_equal(out->measure->device_id, "balance-42");
    codec_free(&out->base);
    df_drain();
}

static void test_bmi(void **state)
{
    (void)state;
    char pid[ID_HEX];
    df_patient_id(pid);
    bus_reply_t r;
    Espace__V1__AddMeasureReply *out = NULL;
    Espace__V1__AddMeasureRequest q;
    /* a weight alone: no BMI */
    s_req(&q, pid, K(WEIGHT), 81);
    q.effective_ms = T0;
    int rc = s_add(pid, &q, &out, &r);
    DF_OK(rc, r);
    assert_null(out->bmi);
    codec_free(&out->base);
    /* the height: BMI = 81 / 1.8^2 = 25.0, from the latest of both */
    s_req(&q, pid, K(HEIGHT), 180);
    q.effective_ms = T0 + HOUR;
    rc = s_add(pid, &q, &out, &r);
    DF_OK(rc, r);
    assert_non_null(out->bmi);
    assert_int_equal(out->bmi->kind, K(BMI));
    assert_true(fabs(out->bmi->value - 25.0) < 1e-9);
    assert_string_equal(out->bmi->code, "39156-5");
    assert_string_equal(out->bmi->unit, "kg/m2");
    assert_int_equal(out->bmi->source, ESPACE__V1__MEASURE_SOURCE__MEASURE_SOURCE_COMPUTED);
    assert_int_equal(out->bmi->effective_ms, T0 + HOUR);
    char *json = s_export(pid, &out->bmi->id);
    s_codes(json, DMP_SYS_LOINC, "39156-5", "kg/m2", "kg/m2");
    free(json);
    codec_free(&out->base);
    /* a newer weight: a new BMI (90 / 3.24 = 27.777 -> 27.8) */
    s_req(&q, pid, K(WEIGHT), 90);
    q.effective_ms = T0 + 2 * HOUR;
    rc = s_add(pid, &q, &out, &r);
    DF_OK(rc, r);
    assert_non_null(out->bmi);
    assert_true(fabs(out->bmi->value - 27.8) < 1e-9);
    codec_free(&out->base);
    /* an older weight: the BMI of the latest stands */
    s_req(&q, pid, K(WEIGHT), 60);
    q.effective_ms = T0 - DAY;
    rc = s_add(pid, &q, &out, &r);
    DF_OK(rc, r);
    assert_null(out->bmi);
    codec_free(&out->base);
    /* another weight at the same time as the latest: it counts as the latest
     * (88 / 3.24 = 27.16 -> 27.2), whatever the order of the ids */
    s_req(&q, pid, K(WEIGHT), 88);
    q.effective_ms = T0 + 2 * HOUR;
    rc = s_add(pid, &q, &out, &r);
    DF_OK(rc, r);
    assert_non_null(out->bmi);
    assert_true(fabs(out->bmi->value - 27.2) < 1e-9);
    codec_free(&out->base);
    /* the BMI series holds the derived ones */
    Espace__V1__ListMeasuresRequest lq = ESPACE__V1__LIST_MEASURES_REQUEST__INIT;
    lq.patient_id = pid;
    lq.kind = K(BMI);
    ProtobufCMessage *rep = NULL;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ListMeasures", &lq.base,
                 &espace__v1__list_measures_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    Espace__V1__ListMeasuresReply *l = (Espace__V1__ListMeasuresReply *)rep;
    assert_int_equal(l->mode, ESPACE__V1__SERIES_MODE__SERIES_MODE_RAW);
    assert_int_equal(l->n_measures, 3);
    assert_true(fabs(l->measures[0]->value - 25.0) < 1e-9);
    assert_true(fabs(l->measures[1]->value - 27.8) < 1e-9 ||
                fabs(l->measures[1]->value - 27.2) < 1e-9);
    assert_string_equal(l->unit, "kg/m2");
    codec_free(rep);
    df_drain();
}

static void test_series(void **state)
{
    (void)state;
    char pid[ID_HEX], topic[TOPIC_MAX + 1];
    df_patient_id(pid);
    assert_int_equal(topic_patient(topic, sizeof topic, pid, TOPIC_AREA_DMP), 0);
    df_drain();
    bus_reply_t r;
    Espace__V1__AddMeasureRequest q;
    /* 2026-01-10 and 2026-01-11 (Paris): 3 and 2 heart rates; one 2026-03-01 */
    int64_t d10 = civil_paris_midnight(2026, 1, 10), d11 = civil_paris_midnight(2026, 1, 11);
    const int64_t at[] = {d10 + HOUR, d10 + 5 * HOUR, d10 + 23 * HOUR + 59 * 60000, d11,
                          d11 + 10 * HOUR, civil_paris_midnight(2026, 3, 1) + HOUR};
    const double v[] = {60, 70, 80, 50, 100, 65};
    uint8_t mid[ID_BYTES];
    randombytes_buf(mid, sizeof mid);
    for (size_t i = 0; i < 6; i++) {
        s_req(&q, pid, K(HEART_RATE), v[i]);
        q.effective_ms = at[i];
        if (i == 0)
            q.measure_id = (ProtobufCBinaryData){ID_BYTES, mid};
        int rc = s_add(pid, &q, NULL, &r);
        DF_OK(rc, r);
        Espace__V1__DmpEvent *ev = df_event(topic, 2000);
        assert_non_null(ev);
        assert_int_equal(ev->kind, ESPACE__V1__DMP_EVENT_KIND__DMP_EVENT_KIND_MEASURE_ADDED);
        assert_true(ev->measure->value == v[i]);
        codec_free(&ev->base);
    }
    /* the same measure id again: the stored one, nothing new */
    s_req(&q, pid, K(HEART_RATE), 99);
    q.effective_ms = at[0];
    q.measure_id = (ProtobufCBinaryData){ID_BYTES, mid};
    Espace__V1__AddMeasureReply *out = NULL;
    int rc = s_add(pid, &q, &out, &r);
    DF_OK(rc, r);
    assert_true(out->duplicate);
    assert_true(out->measure->value == 60);
    codec_free(&out->base);
    /* DAILY over January: two days */
    Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
    p.start_ms = civil_paris_midnight(2026, 1, 1);
    p.end_ms = civil_paris_midnight(2026, 2, 1);
    Espace__V1__ListMeasuresRequest lq = ESPACE__V1__LIST_MEASURES_REQUEST__INIT;
    lq.patient_id = pid;
    lq.kind = K(HEART_RATE);
    lq.period = &p;
    lq.mode = ESPACE__V1__SERIES_MODE__SERIES_MODE_DAILY;
    ProtobufCMessage *rep = NULL;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ListMeasures", &lq.base,
                 &espace__v1__list_measures_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    Espace__V1__ListMeasuresReply *l = (Espace__V1__ListMeasuresReply *)rep;
    assert_int_equal(l->mode, ESPACE__V1__SERIES_MODE__SERIES_MODE_DAILY);
    assert_int_equal(l->n_daily, 2);
    assert_string_equal(l->daily[0]->day, "2026-01-10");
    assert_int_equal(l->daily[0]->day_start_ms, d10);
    assert_int_equal(l->daily[0]->count, 3);
    assert_true(l->daily[0]->min == 60 && l->daily[0]->max == 80 && l->daily[0]->mean == 70);
    assert_string_equal(l->daily[1]->day, "2026-01-11");
    assert_int_equal(l->daily[1]->count, 2);
    assert_true(l->daily[1]->mean == 75);
    assert_string_equal(l->unit, "/min");
    codec_free(rep);
    /* AUTO over three months: daily; over January 10th only: raw */
    p.end_ms = civil_paris_midnight(2026, 4, 1);
    lq.mode = 0;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ListMeasures", &lq.base,
                 &espace__v1__list_measures_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    assert_int_equal(((Espace__V1__ListMeasuresReply *)rep)->n_daily, 3);
    codec_free(rep);
    p.start_ms = d10;
    p.end_ms = d11;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ListMeasures", &lq.base,
                 &espace__v1__list_measures_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    l = (Espace__V1__ListMeasuresReply *)rep;
    assert_int_equal(l->mode, ESPACE__V1__SERIES_MODE__SERIES_MODE_RAW);
    assert_int_equal(l->n_measures, 3);
    codec_free(rep);
    /* RAW paging over everything */
    lq.period = NULL;
    lq.limit = 4;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ListMeasures", &lq.base,
                 &espace__v1__list_measures_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    l = (Espace__V1__ListMeasuresReply *)rep;
    assert_int_equal(l->n_measures, 4);
    assert_int_equal(l->next_cursor.len, DMP_SERIES_CURSOR);
    uint8_t cur[DMP_SERIES_CURSOR];
    memcpy(cur, l->next_cursor.data, sizeof cur);
    codec_free(rep);
    lq.cursor = (ProtobufCBinaryData){sizeof cur, cur};
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ListMeasures", &lq.base,
                 &espace__v1__list_measures_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    l = (Espace__V1__ListMeasuresReply *)rep;
    assert_int_equal(l->n_measures, 2);
    assert_int_equal(l->next_cursor.len, 0);
    assert_true(l->measures[1]->value == 65);
    codec_free(rep);
    /* a Bundle of the whole series */
    Espace__V1__ExportSeriesRequest eq = ESPACE__V1__EXPORT_SERIES_REQUEST__INIT;
    eq.patient_id = pid;
    eq.kind = K(HEART_RATE);
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ExportSeries", &eq.base,
                 &espace__v1__export_series_reply__descriptor, &rep, &r);
    DF_OK(rc, r);
    Espace__V1__ExportSeriesReply *b = (Espace__V1__ExportSeriesReply *)rep;
    assert_int_equal(b->count, 6);
    s_has(b->json, "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{\"fullUrl\":"
                   "\"urn:uuid:");
    size_t n = 0;
    for (const char *s = b->json; (s = strstr(s, "\"code\":\"8867-4\"")); s++)
        n++;
    assert_int_equal(n, 6);
    codec_free(rep);
    /* a DAILY series needs a start, and at most 400 days */
    lq.cursor = (ProtobufCBinaryData){0, NULL};
    lq.mode = ESPACE__V1__SERIES_MODE__SERIES_MODE_DAILY;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ListMeasures", &lq.base,
                 &espace__v1__list_measures_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "period.start_ms");
    p.start_ms = T0;
    p.end_ms = T0 + 401 * DAY;
    lq.period = &p;
    rc = df_call(K_PATIENT, pid, SERVICE_DMP, "ListMeasures", &lq.base,
                 &espace__v1__list_measures_reply__descriptor, NULL, &r);
    DF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "period");
    df_drain();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_bmi),
        cmocka_unit_test(test_series),
    };
    return cmocka_run_group_tests(tests, df_setup, df_teardown);
}
