/*
 * measures.c - health measures: AddMeasure (range checks, the BMI derived
 * from the latest weight and height in the same commit), ListMeasures (raw
 * and paged, or daily aggregates over Europe/Paris days), LatestMeasures,
 * and the series scan ExportSeries shares.
 */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/civil_time.h"
#include "proto/status.h"
#include "services/dmp/dmp_int.h"

#define K(x) ESPACE__V1__MEASURE_KIND__MEASURE_KIND_##x
#define PK(x) ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_##x
#define SRC(x) ESPACE__V1__MEASURE_SOURCE__MEASURE_SOURCE_##x

static double s_dbl_get(const uint8_t in[8])
{
    uint64_t u = store_be64_get(in);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* ---- AddMeasure ---- */

static void s_event(svc_call_t *c, Espace__V1__Measure *m)
{
    Espace__V1__DmpEvent ev = ESPACE__V1__DMP_EVENT__INIT;
    ev.kind = ESPACE__V1__DMP_EVENT_KIND__DMP_EVENT_KIND_MEASURE_ADDED;
    ev.measure = m;
    dmp_publish(c, m->patient_id, &ev);
}

/* Derive and store the BMI after `m` (a WEIGHT or HEIGHT) was stored, if m
 * is the latest of its kind and the other kind has a latest. 1 and *bmi
 * set (its strings static or borrowed from m; id into idbuf), 0 if none,
 * or a negative status. */
static int s_bmi(dmp_state_t *st, store_txn_t *t, const Espace__V1__Measure *m,
                 Espace__V1__Measure *bmi, uint8_t idbuf[ID_BYTES], Espace__V1__Author *by)
{
    uint8_t ph[DMP_PHASH], lid[ID_BYTES], oid[ID_BYTES];
    dmp_phash(st, m->patient_id, ph);
    int other = m->kind == K(WEIGHT) ? K(HEIGHT) : K(WEIGHT);
    int rc = dmp_series_latest(t, ph, (int)m->kind, 0, lid);
    if (rc <= 0)
        return rc;
    if (memcmp(lid, m->id.data, ID_BYTES) != 0) {
        /* another one is last in the series: newer (the BMI of the latest
         * ones stands), or at the same time (a tie counts as the latest) */
        Espace__V1__DmpMeasureRecord *l = NULL;
        if ((rc = dmp_measure_load(t, lid, &l)) != 0)
            return rc;
        int newer = l->measure->effective_ms > m->effective_ms;
        codec_free(&l->base);
        if (newer)
            return 0;
    }
    if ((rc = dmp_series_latest(t, ph, other, 0, oid)) <= 0)
        return rc;
    Espace__V1__DmpMeasureRecord *o = NULL;
    if ((rc = dmp_measure_load(t, oid, &o)) != 0)
        return rc;
    double w = m->kind == K(WEIGHT) ? m->value : o->measure->value;
    double h = m->kind == K(HEIGHT) ? m->value : o->measure->value;
    int64_t eff = m->effective_ms > o->measure->effective_ms ? m->effective_ms
                                                             : o->measure->effective_ms;
    codec_free(&o->base);
    double v = dmp_bmi(w, h);
    int soft = 0;
    dmp_err_t err;
    if (dmp_range_check(&dmp_range_bmi, v, "BMI", "kg/m2", "value", &soft, &err) != 0) {
        log_warn(SERVICE_DMP, "bmi.skipped", "reason=implausible");
        return 0;
    }
    randombytes_buf(idbuf, ID_BYTES);
    espace__v1__measure__init(bmi);
    bmi->id.data = idbuf;
    bmi->id.len = ID_BYTES;
    bmi->patient_id = m->patient_id;
    bmi->kind = K(BMI);
    bmi->code = (char *)dmp_measures[K(BMI)].code;
    bmi->unit = (char *)dmp_measures[K(BMI)].unit;
    bmi->effective_ms = eff;
    bmi->value = v;
    bmi->source = SRC(COMPUTED);
    espace__v1__author__init(by);
    by->kind = PK(SERVICE);
    by->principal = (char *)SERVICE_DMP;
    bmi->recorded_by = by;
    bmi->recorded_ms = m->recorded_ms;
    if ((rc = dmp_measure_save(st, t, bmi)) != 0)
        return rc;
    return 1;
}

void dmp_measure_from_request(Espace__V1__Measure *m, const Espace__V1__AddMeasureRequest *r,
                              int glucose_type)
{
    m->kind = r->kind;
    m->code = (char *)dmp_measure_code((int)r->kind, glucose_type);
    m->unit = (char *)dmp_measure_unit((int)r->kind, glucose_type);
    m->effective_ms = r->effective_ms;
    m->value = r->value;
    m->systolic = r->systolic;
    m->diastolic = r->diastolic;
    m->glucose_type = (Espace__V1__GlucoseType)glucose_type;
    m->moment = r->moment;
    m->number_of_days = r->number_of_days;
    m->source = r->source;
    m->device_id = r->device_id;
}

int dmp_add_measure(void *state, svc_call_t *c, const ProtobufCMessage *msg, store_txn_t *t)
{
    dmp_state_t *st = state;
    const Espace__V1__AddMeasureRequest *r = (const Espace__V1__AddMeasureRequest *)msg;
    const svc_access_t *acc = svc_access(c);
    Espace__V1__Author me;
    dmp_author_of(c, &me);
    int ckind = dmp_is_patient(c) ? PK(PATIENT) : (int)me.kind;
    int gt = 0;
    char warn[256];
    dmp_err_t err;
    if (dmp_measure_check(r, ckind, svc_now_ms(c), &gt, warn, sizeof warn, &err) != 0)
        return dmp_fail(c, &err);
    Espace__V1__AddMeasureReply rep = ESPACE__V1__ADD_MEASURE_REPLY__INIT;
    uint8_t id[ID_BYTES];
    if (r->measure_id.len == ID_BYTES) {
        Espace__V1__DmpMeasureRecord *old = NULL;
        int rc = dmp_measure_load(t, r->measure_id.data, &old);
        if (rc == 0) {
            const Espace__V1__Author *by = old->measure->recorded_by;
            /* a retry is the recorder's own: anyone else learns nothing */
            if (strcmp(old->measure->patient_id, acc->patient_id) != 0 || !by ||
                by->kind != me.kind || !by->principal || !me.principal ||
                strcmp(by->principal, me.principal) != 0)
                rc = svc_fail(c, ES_ALREADY_EXISTS, "measure_id", "measure id taken");
            else {
                rep.measure = old->measure;
                rep.duplicate = 1;
                rc = svc_reply(c, &rep.base);
            }
            codec_free(&old->base);
            return rc;
        }
        if (rc != ES_NOT_FOUND)
            return dmp_fail_storage(c, rc);
        memcpy(id, r->measure_id.data, ID_BYTES);
    } else {
        randombytes_buf(id, ID_BYTES);
    }
    Espace__V1__Measure m = ESPACE__V1__MEASURE__INIT;
    m.id.data = id;
    m.id.len = ID_BYTES;
    m.patient_id = (char *)acc->patient_id;
    dmp_measure_from_request(&m, r, gt);
    m.source = r->source ? r->source
               : ckind == PK(PATIENT)      ? SRC(PATIENT)
               : ckind == PK(PROFESSIONAL) ? SRC(PROFESSIONAL)
                                           : SRC(APP);
    m.recorded_by = &me;
    m.recorded_ms = svc_now_ms(c);
    m.warning = warn;
    int rc = dmp_measure_save(st, t, &m);
    if (rc != 0)
        return dmp_fail_storage(c, rc);
    s_event(c, &m);
    Espace__V1__Measure bmi;
    Espace__V1__Author by;
    uint8_t bid[ID_BYTES];
    if (m.kind == K(WEIGHT) || m.kind == K(HEIGHT)) {
        if ((rc = s_bmi(st, t, &m, &bmi, bid, &by)) < 0)
            return dmp_fail_storage(c, rc);
        if (rc == 1) {
            rep.bmi = &bmi;
            s_event(c, &bmi);
        }
    }
    rep.measure = &m;
    log_info(SERVICE_DMP, "measure.added", "kind=%d soft=%d bmi=%d", (int)m.kind,
             warn[0] != '\0', rep.bmi != NULL);
    return svc_reply(c, &rep.base);
}

/* ---- series ---- */

int dmp_series_collect(dmp_state_t *st, store_txn_t *t, const char *patient_id, int kind,
                       int glucose_type, int64_t start, int64_t end,
                       const ProtobufCBinaryData *after, size_t max,
                       Espace__V1__DmpMeasureRecord **out, size_t *n, int *more,
                       uint8_t last[DMP_SERIES_CURSOR])
{
    uint8_t ph[DMP_PHASH], from[DMP_KEY_SERIES];
    static const uint8_t zero[ID_BYTES];
    *n = 0;
    *more = 0;
    dmp_phash(st, patient_id, ph);
    /* a cursor from before the period (forged) starts at the period */
    if (after && after->len == DMP_SERIES_CURSOR &&
        store_be64_get(after->data) >= (uint64_t)start)
        dmp_series_key(from, ph, kind, (int64_t)store_be64_get(after->data),
                       after->data + 8);
    else
        dmp_series_key(from, ph, kind, start, zero);
    store_cursor_t *cur = NULL;
    int rc = store_cursor_open(t, DMP_T_SERIES, from, sizeof from, &cur);
    while (rc == 0) {
        const void *k = NULL, *v = NULL;
        size_t kl = 0, vl = 0;
        if ((rc = store_cursor_next(cur, &k, &kl, &v, &vl)) != 0)
            break;
        const uint8_t *kb = k;
        if (kl != DMP_KEY_SERIES || memcmp(kb, ph, DMP_PHASH) != 0 || kb[DMP_PHASH] != kind)
            break;
        if ((int64_t)store_be64_get(kb + DMP_PHASH + 1) >= end)
            break;
        if (after && after->len && memcmp(kb, from, DMP_KEY_SERIES) == 0)
            continue;
        if (vl != DMP_SERIES_VAL) {
            rc = ES_INTERNAL;
            break;
        }
        if (glucose_type && ((const uint8_t *)v)[16] != glucose_type)
            continue;
        if (*n == max) {
            *more = 1;
            break;
        }
        if ((rc = dmp_measure_load(t, kb + DMP_PHASH + 9, &out[*n])) != 0)
            break;
        memcpy(last, kb + DMP_PHASH + 1, DMP_SERIES_CURSOR);
        (*n)++;
    }
    store_cursor_close(&cur);
    return rc == ES_NOT_FOUND ? ES_OK : rc;
}

int dmp_series_args(svc_call_t *c, int kind, const char *code, int *glucose_type,
                    const Espace__V1__Period *p, int64_t *start, int64_t *end)
{
    const dmp_measure_def_t *d = dmp_measure_def(kind);
    if (!d)
        return svc_fail(c, ES_INVALID_ARGUMENT, "kind", "a measure kind is required");
    int gt = *glucose_type;
    if (kind == K(GLUCOSE)) {
        if (gt && !dmp_glucose_def(gt))
            return svc_fail(c, ES_INVALID_ARGUMENT, "glucose_type", "unknown glucose type");
        if (code && code[0]) {
            int ct = dmp_glucose_type_of_code(code);
            if (!ct || (gt && ct != gt))
                return svc_fail(c, ES_INVALID_ARGUMENT, "code", "not a code of this glucose type");
            gt = ct;
        }
    } else {
        if (gt)
            return svc_fail(c, ES_INVALID_ARGUMENT, "glucose_type", "only for glucose");
        if (code && code[0] && strcmp(code, d->code) != 0)
            return svc_fail(c, ES_INVALID_ARGUMENT, "code", "the code of %s is %s", d->name,
                            d->code);
    }
    *glucose_type = gt;
    *start = p ? p->start_ms : 0;
    *end = p && p->end_ms ? p->end_ms : svc_now_ms(c) + DMP_FUTURE_MS;
    if (*start < 0 || *end <= *start)
        return svc_fail(c, ES_INVALID_ARGUMENT, "period", "end_ms must be after start_ms");
    return ES_OK;
}

/* Daily aggregates of [start, end) into a reply. */
static int s_daily(dmp_state_t *st, svc_call_t *c, store_txn_t *t, const char *patient_id,
                   int kind, int gt, int64_t start, int64_t end,
                   Espace__V1__ListMeasuresReply *rep)
{
    if (start <= 0)
        return svc_fail(c, ES_INVALID_ARGUMENT, "period.start_ms", "daily aggregates need a start");
    if (end - start > (int64_t)DMP_DAILY_DAYS * CIVIL_DAY_MS)
        return svc_fail(c, ES_INVALID_ARGUMENT, "period", "at most %d days of daily aggregates",
                        DMP_DAILY_DAYS);
    size_t cap = DMP_DAILY_DAYS + 2, n = 0;
    Espace__V1__DailyAggregate *days = calloc(cap, sizeof *days);
    Espace__V1__DailyAggregate **pd = calloc(cap, sizeof *pd);
    char (*labels)[11] = calloc(cap, sizeof *labels);
    uint8_t ph[DMP_PHASH], from[DMP_KEY_SERIES];
    static const uint8_t zero[ID_BYTES];
    int rc = 0;
    if (!days || !pd || !labels) {
        rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
        goto done;
    }
    dmp_phash(st, patient_id, ph);
    dmp_series_key(from, ph, kind, start, zero);
    store_cursor_t *cur = NULL;
    rc = store_cursor_open(t, DMP_T_SERIES, from, sizeof from, &cur);
    int64_t cy = 0;
    unsigned cm = 0, cd = 0;
    while (rc == 0) {
        const void *k = NULL, *v = NULL;
        size_t kl = 0, vl = 0;
        if ((rc = store_cursor_next(cur, &k, &kl, &v, &vl)) != 0)
            break;
        const uint8_t *kb = k, *vb = v;
        if (kl != DMP_KEY_SERIES || memcmp(kb, ph, DMP_PHASH) != 0 || kb[DMP_PHASH] != kind)
            break;
        int64_t eff = (int64_t)store_be64_get(kb + DMP_PHASH + 1);
        if (eff >= end)
            break;
        if (vl != DMP_SERIES_VAL) {
            rc = ES_INTERNAL;
            break;
        }
        if (gt && vb[16] != gt)
            continue;
        int64_t y;
        unsigned mo, d;
        civil_paris_date(eff, &y, &mo, &d);
        if (n == 0 || y != cy || mo != cm || d != cd) {
            if (n == cap) {
                rc = ES_INTERNAL;
                break;
            }
            cy = y, cm = mo, cd = d;
            Espace__V1__DailyAggregate *a = &days[n];
            espace__v1__daily_aggregate__init(a);
            snprintf(labels[n], sizeof labels[n], "%04lld-%02u-%02u", (long long)y, mo, d);
            a->day = labels[n];
            a->day_start_ms = civil_paris_midnight(y, mo, d);
            pd[n] = a;
            n++;
        }
        Espace__V1__DailyAggregate *a = &days[n - 1];
        double x = s_dbl_get(vb), x2 = s_dbl_get(vb + 8);
        if (a->count == 0 || x < a->min)
            a->min = x;
        if (a->count == 0 || x > a->max)
            a->max = x;
        if (kind == K(BLOOD_PRESSURE)) {
            if (a->count == 0 || x2 < a->min2)
                a->min2 = x2;
            if (a->count == 0 || x2 > a->max2)
                a->max2 = x2;
            a->mean2 += x2; /* a sum until the end */
        }
        a->mean += x;
        a->count++;
    }
    store_cursor_close(&cur);
    if (rc != 0 && rc != ES_NOT_FOUND) {
        rc = dmp_fail_storage(c, rc);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        days[i].mean = round(days[i].mean / days[i].count * 100.0) / 100.0;
        days[i].mean2 = round(days[i].mean2 / days[i].count * 100.0) / 100.0;
    }
    rep->mode = ESPACE__V1__SERIES_MODE__SERIES_MODE_DAILY;
    rep->daily = pd;
    rep->n_daily = n;
    rc = svc_reply(c, &rep->base);
done:
    free(days);
    free(pd);
    free(labels);
    return rc;
}

int dmp_list_measures(void *state, svc_call_t *c, const ProtobufCMessage *msg, store_txn_t *t)
{
    dmp_state_t *st = state;
    const Espace__V1__ListMeasuresRequest *r = (const Espace__V1__ListMeasuresRequest *)msg;
    const svc_access_t *acc = svc_access(c);
    int gt = (int)r->glucose_type, kind = (int)r->kind;
    int64_t start, end;
    int rc = dmp_series_args(c, kind, r->code, &gt, r->period, &start, &end);
    if (rc != 0)
        return rc;
    if ((int)r->mode < 0 || (int)r->mode > ESPACE__V1__SERIES_MODE__SERIES_MODE_DAILY)
        return svc_fail(c, ES_INVALID_ARGUMENT, "mode", "RAW, DAILY or unspecified");
    if (r->limit > DMP_SERIES_MAX)
        return svc_fail(c, ES_INVALID_ARGUMENT, "limit", "at most %d", DMP_SERIES_MAX);
    if (r->cursor.len && r->cursor.len != DMP_SERIES_CURSOR)
        return svc_fail(c, ES_INVALID_ARGUMENT, "cursor", "not a cursor of this method");
    Espace__V1__ListMeasuresReply rep = ESPACE__V1__LIST_MEASURES_REPLY__INIT;
    const char *unit = kind == K(GLUCOSE) && !gt ? "" : dmp_measure_unit(kind, gt ? gt : 1);
    rep.unit = (char *)unit;
    int daily = r->mode == ESPACE__V1__SERIES_MODE__SERIES_MODE_DAILY ||
                (r->mode == ESPACE__V1__SERIES_MODE__SERIES_MODE_UNSPECIFIED && start > 0 &&
                 end - start > DMP_AUTO_DAILY_MS);
    if (daily)
        return s_daily(st, c, t, acc->patient_id, kind, gt, start, end, &rep);
    size_t max = r->limit ? r->limit : DMP_SERIES_DEFAULT, n = 0;
    Espace__V1__DmpMeasureRecord **recs = calloc(max, sizeof *recs);
    Espace__V1__Measure **pm = calloc(max, sizeof *pm);
    uint8_t last[DMP_SERIES_CURSOR];
    int more = 0;
    if (!recs || !pm) {
        rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
        goto done;
    }
    if ((rc = dmp_series_collect(st, t, acc->patient_id, kind, gt, start, end, &r->cursor, max,
                                 recs, &n, &more, last)) != 0) {
        rc = dmp_fail_storage(c, rc);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        pm[i] = recs[i]->measure;
    rep.mode = ESPACE__V1__SERIES_MODE__SERIES_MODE_RAW;
    rep.measures = pm;
    rep.n_measures = n;
    if (more) {
        rep.next_cursor.data = last;
        rep.next_cursor.len = sizeof last;
    }
    rc = svc_reply(c, &rep.base);
done:
    for (size_t i = 0; recs && i < n; i++)
        codec_free(&recs[i]->base);
    free(recs);
    free(pm);
    return rc;
}

int dmp_latest_measures(void *state, svc_call_t *c, const ProtobufCMessage *msg, store_txn_t *t)
{
    dmp_state_t *st = state;
    (void)msg;
    const svc_access_t *acc = svc_access(c);
    enum { MAXL = DMP_KINDS + DMP_GLUCOSE_TYPES };
    Espace__V1__DmpMeasureRecord *recs[MAXL] = {0};
    Espace__V1__Measure *pm[MAXL];
    size_t n = 0;
    uint8_t ph[DMP_PHASH], id[ID_BYTES];
    int rc = 0;
    dmp_phash(st, acc->patient_id, ph);
    for (int kind = 1; kind < DMP_KINDS && rc >= 0; kind++) {
        int types = kind == K(GLUCOSE) ? DMP_GLUCOSE_TYPES - 1 : 1;
        for (int g = 1; g <= types && rc >= 0; g++) {
            rc = dmp_series_latest(t, ph, kind, kind == K(GLUCOSE) ? g : 0, id);
            if (rc == 1 && (rc = dmp_measure_load(t, id, &recs[n])) == 0) {
                pm[n] = recs[n]->measure;
                n++;
            }
        }
    }
    if (rc < 0) {
        rc = dmp_fail_storage(c, rc);
    } else {
        Espace__V1__LatestMeasuresReply rep = ESPACE__V1__LATEST_MEASURES_REPLY__INIT;
        rep.measures = pm;
        rep.n_measures = n;
        rc = svc_reply(c, &rep.base);
    }
    for (size_t i = 0; i < n; i++)
        codec_free(&recs[i]->base);
    return rc;
}
