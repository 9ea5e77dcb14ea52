/*
 * validate.c - request checks of the dmp service (pure: no store, no bus):
 * document metadata against the code tables, measures against their
 * plausibility ranges, and the BMI formula.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto/status.h"
#include "proto/text.h"
#include "services/dmp/dmp_int.h"

#define K(x) ESPACE__V1__MEASURE_KIND__MEASURE_KIND_##x
#define PK(x) ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_##x
#define SRC(x) ESPACE__V1__MEASURE_SOURCE__MEASURE_SOURCE_##x

static int s_err(dmp_err_t *err, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int s_err(dmp_err_t *err, int status, const char *field, const char *fmt, ...)
{
    va_list ap;
    err->status = status;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return status;
}

int dmp_id_check(const ProtobufCBinaryData *b, const char *field, dmp_err_t *err)
{
    if (b->len != ID_BYTES)
        return s_err(err, ES_INVALID_ARGUMENT, field, "an id is 16 bytes");
    return ES_OK;
}

static int s_printable(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (s[n] < '!' || s[n] > '~')
            return 0;
    return n <= max;
}

static const char *const s_mimes[] = {"application/pdf", "image/jpeg", "image/png", "text/plain",
                                      "text/xml"};

int dmp_meta_check(Espace__V1__DocumentMeta *m, int caller_kind, int64_t now_ms, dmp_err_t *err)
{
    if (!m)
        return s_err(err, ES_INVALID_ARGUMENT, "document", "required");
    const dmp_doc_type_t *ty = dmp_doc_type_find(m->type_code);
    if (!ty)
        return s_err(err, ES_INVALID_ARGUMENT, "document.type_code",
                     "not a DMP document type (docs/dmp.md)");
    int patient = caller_kind == PK(PATIENT);
    if (patient && !ty->patient)
        return s_err(err, ES_INVALID_ARGUMENT, "document.type_code",
                     "a patient files DOCPAT01..DOCPAT09 documents only");
    if (!patient && ty->patient)
        return s_err(err, ES_INVALID_ARGUMENT, "document.type_code",
                     "DOCPAT codes are for documents the patient files");
    if (!m->class_code || !m->class_code[0]) {
        m->class_code = (char *)ty->class_code;
    } else {
        if (!dmp_class_find(m->class_code))
            return s_err(err, ES_INVALID_ARGUMENT, "document.class_code",
                         "not a class code of JDV_J57-ClassCode-DMP");
        if (patient && strcmp(m->class_code, "90") != 0)
            return s_err(err, ES_INVALID_ARGUMENT, "document.class_code",
                         "the patient's documents are of class 90");
        if (!patient && strcmp(m->class_code, "90") == 0)
            return s_err(err, ES_INVALID_ARGUMENT, "document.class_code",
                         "class 90 is for documents the patient files");
    }
    m->category = ty->category;
    size_t chars = 0;
    if (!m->title || !m->title[0] || !text_display_ok(m->title, 0, &chars) || chars > DMP_TITLE_MAX)
        return s_err(err, ES_INVALID_ARGUMENT, "document.title",
                     "1..%d characters, no control, separator or bidi characters",
                     DMP_TITLE_MAX);
    if (m->comments && (!text_display_ok(m->comments, 1, &chars) || chars > DMP_COMMENTS_MAX))
        return s_err(err, ES_INVALID_ARGUMENT, "document.comments",
                     "0..%d characters, no control (but newline, tab) or bidi characters",
                     DMP_COMMENTS_MAX);
    if (m->creation_ms < 0 || m->creation_ms > now_ms + DMP_FUTURE_MS)
        return s_err(err, ES_INVALID_ARGUMENT, "document.creation_ms",
                     "not after the upload time");
    if (m->creation_ms == 0)
        m->creation_ms = now_ms;
    if (m->service_period) {
        const Espace__V1__Period *p = m->service_period;
        if (p->start_ms < 0 || p->end_ms < 0 || (p->end_ms && p->end_ms < p->start_ms))
            return s_err(err, ES_INVALID_ARGUMENT, "document.service_period",
                         "end_ms before start_ms");
    }
    if ((int)m->confidentiality < 0 || (int)m->confidentiality > 3)
        return s_err(err, ES_INVALID_ARGUMENT, "document.confidentiality", "N, R or V");
    if (m->confidentiality == ESPACE__V1__CONFIDENTIALITY__CONFIDENTIALITY_UNSPECIFIED)
        m->confidentiality = ESPACE__V1__CONFIDENTIALITY__CONFIDENTIALITY_NORMAL;
    size_t i = 0;
    while (i < sizeof s_mimes / sizeof s_mimes[0] && (!m->mime_type ||
                                                      strcmp(m->mime_type, s_mimes[i]) != 0))
        i++;
    if (i == sizeof s_mimes / sizeof s_mimes[0])
        return s_err(err, ES_INVALID_ARGUMENT, "document.mime_type",
                     "application/pdf, image/jpeg, image/png, text/plain or text/xml");
    if (m->format_code && !s_printable(m->format_code, DMP_CODE_MAX))
        return s_err(err, ES_INVALID_ARGUMENT, "document.format_code",
                     "0..%d printable ASCII characters", DMP_CODE_MAX);
    if (m->invisible_patient && caller_kind != PK(PROFESSIONAL))
        return s_err(err, ES_INVALID_ARGUMENT, "document.invisible_patient",
                     "only a professional may file a document not yet visible to the patient");
    return ES_OK;
}

int dmp_range_check(const dmp_range_t *r, double v, const char *what, const char *unit,
                    const char *field, int *soft, dmp_err_t *err)
{
    *soft = 0;
    if (!isfinite(v) || v < r->lo || (r->lo_excl && v == r->lo) || v > r->hi)
        return s_err(err, ES_INVALID_ARGUMENT, field, "%s must be %s %g and <= %g %s", what,
                     r->lo_excl ? ">" : ">=", r->lo, r->hi, unit);
    *soft = v < r->warn_lo || v > r->warn_hi;
    return ES_OK;
}

/* Append a soft-range warning for `what` to warn. */
static void s_warn(char *warn, size_t n, const char *what, double v, const dmp_range_t *r,
                   const char *unit)
{
    size_t used = strlen(warn);
    if (used >= n)
        return;
    const char *side = v < r->warn_lo ? "below" : "above";
    double bound = v < r->warn_lo ? r->warn_lo : r->warn_hi;
    snprintf(warn + used, n - used, "%s%s %g %s is %s the usual %g %s", used ? "; " : "", what,
             v, unit, side, bound, unit);
}

int dmp_measure_check(const Espace__V1__AddMeasureRequest *r, int caller_kind, int64_t now_ms,
                      int *glucose_type, char *warn, size_t n, dmp_err_t *err)
{
    warn[0] = '\0';
    *glucose_type = 0;
    int kind = (int)r->kind;
    if (kind == K(BMI))
        return s_err(err, ES_INVALID_ARGUMENT, "kind",
                     "BMI is computed from the latest weight and height, never accepted as input");
    const dmp_measure_def_t *d = dmp_measure_def(kind);
    if (!d)
        return s_err(err, ES_INVALID_ARGUMENT, "kind", "a measure kind is required");
    if (r->effective_ms <= 0 || r->effective_ms > now_ms + DMP_FUTURE_MS)
        return s_err(err, ES_INVALID_ARGUMENT, "effective_ms",
                     "when it was measured: required, not in the future");
    int gt = 0;
    if (kind == K(GLUCOSE)) {
        gt = r->glucose_type ? (int)r->glucose_type : ESPACE__V1__GLUCOSE_TYPE__GLUCOSE_TYPE_BLOOD;
        if (!dmp_glucose_def(gt))
            return s_err(err, ES_INVALID_ARGUMENT, "glucose_type", "unknown glucose type");
        if (r->code && r->code[0]) {
            int ct = dmp_glucose_type_of_code(r->code);
            if (ct && !r->glucose_type)
                gt = ct;
            else if (ct != gt)
                return s_err(err, ES_INVALID_ARGUMENT, "code",
                             "not the code of this glucose type (%s)", dmp_glucose_def(gt)->code);
        }
        if ((int)r->moment <= 0 || (int)r->moment >= DMP_MOMENTS)
            return s_err(err, ES_INVALID_ARGUMENT, "moment",
                         "a glucose measure needs its moment of measurement (JDV_J157)");
        const dmp_glucose_def_t *g = dmp_glucose_def(gt);
        if (g->needs_days && (r->number_of_days < 1 || r->number_of_days > DMP_GLUCOSE_DAYS_MAX))
            return s_err(err, ES_INVALID_ARGUMENT, "number_of_days",
                         "%s needs the days it covers (1..%d)", g->code, DMP_GLUCOSE_DAYS_MAX);
        if (!g->needs_days && r->number_of_days)
            return s_err(err, ES_INVALID_ARGUMENT, "number_of_days", "only for MED-969 and MED-972");
    } else {
        if (r->glucose_type || r->moment || r->number_of_days)
            return s_err(err, ES_INVALID_ARGUMENT, r->glucose_type ? "glucose_type"
                                                   : r->moment     ? "moment"
                                                                   : "number_of_days",
                         "only for glucose");
        if (r->code && r->code[0] && strcmp(r->code, d->code) != 0)
            return s_err(err, ES_INVALID_ARGUMENT, "code", "the code of %s is %s", d->name,
                         d->code);
    }
    const char *unit = dmp_measure_unit(kind, gt);
    if (r->unit && r->unit[0] && strcmp(r->unit, unit) != 0)
        return s_err(err, ES_INVALID_ARGUMENT, "unit", "%s is measured in %s (UCUM), no conversion",
                     d->name, unit);
    int soft = 0;
    if (kind == K(BLOOD_PRESSURE)) {
        if (r->value != 0)
            return s_err(err, ES_INVALID_ARGUMENT, "value",
                         "blood pressure is a systolic/diastolic pair");
        if (dmp_range_check(&dmp_range_systolic, r->systolic, "systolic pressure", unit,
                            "systolic", &soft, err) != 0)
            return err->status;
        if (soft)
            s_warn(warn, n, "systolic pressure", r->systolic, &dmp_range_systolic, unit);
        if (dmp_range_check(&dmp_range_diastolic, r->diastolic, "diastolic pressure", unit,
                            "diastolic", &soft, err) != 0)
            return err->status;
        if (soft)
            s_warn(warn, n, "diastolic pressure", r->diastolic, &dmp_range_diastolic, unit);
        if (!(r->systolic > r->diastolic))
            return s_err(err, ES_INVALID_ARGUMENT, "diastolic",
                         "systolic pressure must be above diastolic pressure");
    } else {
        if (r->systolic != 0 || r->diastolic != 0)
            return s_err(err, ES_INVALID_ARGUMENT, r->systolic != 0 ? "systolic" : "diastolic",
                         "only for blood pressure");
        const dmp_range_t *rg = kind == K(GLUCOSE) ? dmp_glucose_def(gt)->range : d->range;
        if (dmp_range_check(rg, r->value, d->name, unit, "value", &soft, err) != 0)
            return err->status;
        if (d->integer && r->value != floor(r->value))
            return s_err(err, ES_INVALID_ARGUMENT, "value", "%s is a whole number", d->name);
        if (soft)
            s_warn(warn, n, d->name, r->value, rg, unit);
    }
    int src = (int)r->source;
    if (src < 0 || src > SRC(DEVICE) || (src == SRC(PROFESSIONAL) && caller_kind != PK(PROFESSIONAL)) ||
        (src == SRC(PATIENT) && caller_kind != PK(PATIENT)))
        return s_err(err, ES_INVALID_ARGUMENT, "source",
                     "PATIENT for the patient, PROFESSIONAL for a professional, APP or DEVICE");
    if (r->device_id && !s_printable(r->device_id, DMP_DEVICE_MAX))
        return s_err(err, ES_INVALID_ARGUMENT, "device_id", "0..%d printable ASCII characters",
                     DMP_DEVICE_MAX);
    if (src == SRC(DEVICE) && (!r->device_id || !r->device_id[0]))
        return s_err(err, ES_INVALID_ARGUMENT, "device_id", "a DEVICE measure names its device");
    if (r->measure_id.len && r->measure_id.len != ID_BYTES)
        return s_err(err, ES_INVALID_ARGUMENT, "measure_id", "an id is 16 bytes, or empty");
    *glucose_type = gt;
    return ES_OK;
}

double dmp_bmi(double weight_kg, double height_cm)
{
    if (!(weight_kg > 0) || !(height_cm > 0))
        return 0;
    double m = height_cm / 100.0;
    return round(weight_kg / (m * m) * 10.0) / 10.0;
}
