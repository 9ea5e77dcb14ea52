/* measure.c - espace-pro measure add, list (pro.h): health measures of a
 * patient's DMP on a professional's session (docs/dmp.md). Kinds, glucose
 * types and moments are the schema's labels (proto/names.h): weight,
 * height, steps, temperature, waist, heart-rate, blood-pressure, pain,
 * glucose; the service checks ranges and units. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/pro/pro.h"
#include "proto/ids.h"
#include "proto/names.h"

#define PRO_MEASURE_PAGES 50 /* ListMeasures pages read at most (2000 each) */

static int s_enum(const ProtobufCEnumDescriptor *d, const char *opt, const char *v, int *out)
{
    if (enum_parse(d, v, out) != 0 || *out <= 0)
        return cli_fail(ES_INVALID_ARGUMENT, "%s: unknown value '%.32s'", opt, v);
    return 0;
}

static int s_number(const char *opt, const char *v, double *out)
{
    char *end = NULL;
    *out = v ? strtod(v, &end) : 0;
    if (!v || !*v || !end || *end || !isfinite(*out))
        return cli_fail(ES_INVALID_ARGUMENT, "%s: a number like 72.5", opt);
    return 0;
}

static void s_print(const Espace__V1__Measure *m)
{
    char when[CLI_TIME_MAX], src[ESPACE_LABEL_MAX];
    enum_label(&espace__v1__measure_source__descriptor, (int)m->source, src, sizeof src);
    if (m->kind == ESPACE__V1__MEASURE_KIND__MEASURE_KIND_BLOOD_PRESSURE)
        printf("%s  %g/%g %s  %s", pro_paris_format(m->effective_ms, when), m->systolic,
               m->diastolic, m->unit, src);
    else
        printf("%s  %g %s  %s", pro_paris_format(m->effective_ms, when), m->value, m->unit, src);
    if (m->warning && m->warning[0])
        printf("  warning: %s", m->warning);
    printf("\n");
}

int pro_measure_add(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--patient", CLI_REQUIRED),   CLI_OPT("--kind", CLI_REQUIRED),
                     CLI_OPT("--value", CLI_OPTIONAL),     CLI_OPT("--systolic", CLI_OPTIONAL),
                     CLI_OPT("--diastolic", CLI_OPTIONAL), CLI_OPT("--glucose-type", CLI_OPTIONAL),
                     CLI_OPT("--moment", CLI_OPTIONAL),    CLI_OPT("--days", CLI_OPTIONAL),
                     CLI_OPT("--at", CLI_OPTIONAL),        CLI_OPT("--code", CLI_OPTIONAL),
                     CLI_OPT("--device", CLI_OPTIONAL)};
    char why[CLI_WHY_MAX], pid[ESPACE_PATIENT_ID_MAX];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("measure add", why, pro_usage);
    Espace__V1__AddMeasureRequest req = ESPACE__V1__ADD_MEASURE_REQUEST__INIT;
    const char *v;
    int x = 0, rc;
    if ((rc = s_enum(&espace__v1__measure_kind__descriptor, "--kind", CLI_VALUE(o, "--kind"), &x)))
        return rc;
    req.kind = (Espace__V1__MeasureKind)x;
    if ((v = CLI_VALUE(o, "--value")) && (rc = s_number("--value", v, &req.value)))
        return rc;
    if ((v = CLI_VALUE(o, "--systolic")) && (rc = s_number("--systolic", v, &req.systolic)))
        return rc;
    if ((v = CLI_VALUE(o, "--diastolic")) && (rc = s_number("--diastolic", v, &req.diastolic)))
        return rc;
    if ((v = CLI_VALUE(o, "--glucose-type"))) {
        if ((rc = s_enum(&espace__v1__glucose_type__descriptor, "--glucose-type", v, &x)))
            return rc;
        req.glucose_type = (Espace__V1__GlucoseType)x;
    }
    if ((v = CLI_VALUE(o, "--moment"))) {
        if ((rc = s_enum(&espace__v1__glucose_moment__descriptor, "--moment", v, &x)))
            return rc;
        req.moment = (Espace__V1__GlucoseMoment)x;
    }
    uint64_t days = 0;
    if ((v = CLI_VALUE(o, "--days")) && cli_parse_u64(v, 1000, &days) < 0)
        return cli_fail(ES_INVALID_ARGUMENT, "--days: days the glucose measure covers");
    req.number_of_days = (uint32_t)days;
    req.effective_ms = cli_wall_ms();
    if ((rc = pro_opt_time(o, CLI_COUNT(o), "--at", &req.effective_ms)))
        return rc;
    req.code = (char *)(CLI_VALUE(o, "--code") ? CLI_VALUE(o, "--code") : "");
    if ((v = CLI_VALUE(o, "--device"))) {
        req.device_id = (char *)v;
        req.source = ESPACE__V1__MEASURE_SOURCE__MEASURE_SOURCE_DEVICE;
    }
    espace_t *e = NULL;
    espace_error_t err;
    if ((rc = pro_resume_patient(c, CLI_VALUE(o, "--patient"), &e, pid)))
        return rc;
    req.patient_id = pid;
    Espace__V1__AddMeasureReply *r = NULL;
    if (espace_dmp_add_measure(e, &req, &r, &err) < 0) {
        rc = pro_fail_denied(&err, "measures:write");
    } else {
        char id[ID_HEX];
        printf("added %s  ", id_hex_bytes(r->measure->id.data, r->measure->id.len, id));
        s_print(r->measure);
        if (r->bmi) {
            printf("derived BMI  ");
            s_print(r->bmi);
        }
        espace_free(&r->base);
    }
    espace_close(&e);
    return rc;
}

int pro_measure_list(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--patient", CLI_REQUIRED), CLI_OPT("--kind", CLI_REQUIRED),
                     CLI_OPT("--from", CLI_OPTIONAL),    CLI_OPT("--to", CLI_OPTIONAL),
                     CLI_OPT("--daily", CLI_SWITCH),     CLI_OPT("--raw", CLI_SWITCH),
                     CLI_OPT("--code", CLI_OPTIONAL),    CLI_OPT("--glucose-type", CLI_OPTIONAL),
                     CLI_OPT("--fhir", CLI_SWITCH)};
    char why[CLI_WHY_MAX], pid[ESPACE_PATIENT_ID_MAX];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("measure list", why, pro_usage);
    Espace__V1__ListMeasuresRequest req = ESPACE__V1__LIST_MEASURES_REQUEST__INIT;
    Espace__V1__Period p = ESPACE__V1__PERIOD__INIT;
    const char *v;
    int x = 0, rc;
    if ((rc = s_enum(&espace__v1__measure_kind__descriptor, "--kind", CLI_VALUE(o, "--kind"), &x)))
        return rc;
    req.kind = (Espace__V1__MeasureKind)x;
    if ((v = CLI_VALUE(o, "--glucose-type"))) {
        if ((rc = s_enum(&espace__v1__glucose_type__descriptor, "--glucose-type", v, &x)))
            return rc;
        req.glucose_type = (Espace__V1__GlucoseType)x;
    }
    if ((rc = pro_opt_time(o, CLI_COUNT(o), "--from", &p.start_ms)) ||
        (rc = pro_opt_time(o, CLI_COUNT(o), "--to", &p.end_ms)))
        return rc;
    req.period = &p;
    req.code = (char *)(CLI_VALUE(o, "--code") ? CLI_VALUE(o, "--code") : "");
    if (CLI_VALUE(o, "--daily"))
        req.mode = ESPACE__V1__SERIES_MODE__SERIES_MODE_DAILY;
    else if (CLI_VALUE(o, "--raw"))
        req.mode = ESPACE__V1__SERIES_MODE__SERIES_MODE_RAW;
    req.limit = 2000;
    espace_t *e = NULL;
    espace_error_t err;
    if ((rc = pro_resume_patient(c, CLI_VALUE(o, "--patient"), &e, pid)))
        return rc;
    req.patient_id = pid;
    if (CLI_VALUE(o, "--fhir")) {
        Espace__V1__ExportSeriesRequest xr = ESPACE__V1__EXPORT_SERIES_REQUEST__INIT;
        xr.patient_id = pid;
        xr.code = req.code;
        xr.kind = req.kind;
        xr.glucose_type = req.glucose_type;
        xr.period = &p;
        Espace__V1__ExportSeriesReply *b = NULL;
        if (espace_dmp_export_series(e, &xr, &b, &err) < 0)
            rc = cli_fail_err(&err);
        else {
            printf("%s\n", b->json);
            espace_free(&b->base);
        }
        goto close;
    }
    uint8_t cursor[PRO_CURSOR_MAX];
    unsigned count = 0;
    for (int page = 0; page < PRO_MEASURE_PAGES; page++) {
        Espace__V1__ListMeasuresReply *r = NULL;
        if (espace_dmp_list_measures(e, &req, &r, &err) < 0) {
            rc = pro_fail_denied(&err, "measures:read");
            goto close;
        }
        for (size_t i = 0; i < r->n_measures; i++)
            s_print(r->measures[i]);
        for (size_t i = 0; i < r->n_daily; i++) {
            const Espace__V1__DailyAggregate *a = r->daily[i];
            if (req.kind == ESPACE__V1__MEASURE_KIND__MEASURE_KIND_BLOOD_PRESSURE)
                printf("%s  n=%u  min=%g/%g  max=%g/%g  mean=%g/%g %s\n", a->day, a->count,
                       a->min, a->min2, a->max, a->max2, a->mean, a->mean2, r->unit);
            else
                printf("%s  n=%u  min=%g  max=%g  mean=%g %s\n", a->day, a->count, a->min,
                       a->max, a->mean, r->unit);
        }
        count += (unsigned)(r->n_measures + r->n_daily);
        int more = pro_cursor_keep(&r->next_cursor, cursor, &req.cursor);
        espace_free(&r->base);
        if (!more)
            break;
    }
    if (count == 0)
        fprintf(stderr, "no measures\n");
close:
    espace_close(&e);
    return rc;
}
