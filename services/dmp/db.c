/*
 * db.c - the dmp store layout (dmp_int.h): records, the patient index of
 * document versions, the version chain of a document, the measure series.
 */
#include <string.h>

#include "bus/codec.h"
#include "proto/status.h"
#include "runtime/record.h"
#include "services/dmp/dmp_int.h"

static const uint8_t s_one = 1;

int dmp_db_load(store_txn_t *t, const char *table, const void *key, size_t klen,
                const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
    return record_load(t, SERVICE_DMP, table, key, klen, d, out);
}

int dmp_db_save(store_txn_t *t, const char *table, const void *key, size_t klen,
                const ProtobufCMessage *m)
{
    return record_save(t, table, key, klen, m);
}

void dmp_phash(const dmp_state_t *st, const char *patient_id, uint8_t out[DMP_PHASH])
{
    store_keyed_hash(st->store, "dmp.patient", patient_id, strlen(patient_id), out);
}

/* ---- documents ---- */

int dmp_doc_load(store_txn_t *t, const uint8_t id[ID_BYTES], Espace__V1__DmpDocRecord **out)
{
    int rc = dmp_db_load(t, DMP_T_DOCS, id, ID_BYTES, &espace__v1__dmp_doc_record__descriptor,
                         (ProtobufCMessage **)out);
    if (rc == 0 && (!(*out)->meta || (*out)->meta->id.len != ID_BYTES ||
                    (*out)->meta->unique_id.len != ID_BYTES || !(*out)->meta->patient_id ||
                    (*out)->content_id.len != ID_BYTES)) {
        codec_free(&(*out)->base);
        *out = NULL;
        return ES_INTERNAL;
    }
    return rc;
}

int dmp_doc_save(dmp_state_t *st, store_txn_t *t, const Espace__V1__DmpDocRecord *r)
{
    const Espace__V1__DocumentMeta *m = r->meta;
    int rc = dmp_db_save(t, DMP_T_DOCS, m->id.data, ID_BYTES, &r->base);
    if (rc != 0)
        return rc;
    uint8_t k[DMP_KEY_BY_PATIENT];
    dmp_phash(st, m->patient_id, k);
    store_be64_put(k + DMP_PHASH, (uint64_t)m->filed_ms);
    memcpy(k + DMP_PHASH + 8, m->id.data, ID_BYTES);
    if ((rc = store_put(t, DMP_T_BY_PATIENT, k, sizeof k, &s_one, 1)) != 0)
        return rc;
    uint8_t v[DMP_KEY_VERSION];
    memcpy(v, m->unique_id.data, ID_BYTES);
    store_be32_put(v + ID_BYTES, m->version);
    return store_put(t, DMP_T_VERSIONS, v, sizeof v, m->id.data, ID_BYTES);
}

int dmp_versions(store_txn_t *t, const uint8_t unique_id[ID_BYTES], uint8_t (*ids)[ID_BYTES],
                 size_t max, size_t *n)
{
    store_cursor_t *cur = NULL;
    *n = 0;
    int rc = store_cursor_open(t, DMP_T_VERSIONS, unique_id, ID_BYTES, &cur);
    if (rc != 0)
        return rc == ES_NOT_FOUND ? ES_OK : rc;
    const void *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    while (*n < max && (rc = store_cursor_next(cur, &k, &kl, &v, &vl)) == 0) {
        if (kl != DMP_KEY_VERSION || memcmp(k, unique_id, ID_BYTES) != 0)
            break;
        if (vl != ID_BYTES) {
            rc = ES_INTERNAL;
            break;
        }
        memcpy(ids[(*n)++], v, ID_BYTES);
    }
    store_cursor_close(&cur);
    return rc == ES_NOT_FOUND || rc == 0 ? ES_OK : rc;
}

/* ---- measures ---- */

int dmp_measure_load(store_txn_t *t, const uint8_t id[ID_BYTES], Espace__V1__DmpMeasureRecord **out)
{
    int rc = dmp_db_load(t, DMP_T_MEASURES, id, ID_BYTES,
                         &espace__v1__dmp_measure_record__descriptor, (ProtobufCMessage **)out);
    if (rc == 0 && (!(*out)->measure || !(*out)->measure->patient_id)) {
        codec_free(&(*out)->base);
        *out = NULL;
        return ES_INTERNAL;
    }
    return rc;
}

void dmp_series_key(uint8_t k[DMP_KEY_SERIES], const uint8_t ph[DMP_PHASH], int kind,
                    int64_t effective_ms, const uint8_t id[ID_BYTES])
{
    memcpy(k, ph, DMP_PHASH);
    k[DMP_PHASH] = (uint8_t)kind;
    store_be64_put(k + DMP_PHASH + 1, (uint64_t)(effective_ms < 0 ? 0 : effective_ms));
    memcpy(k + DMP_PHASH + 9, id, ID_BYTES);
}

static void s_dbl_put(uint8_t out[8], double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    store_be64_put(out, u);
}

int dmp_measure_save(dmp_state_t *st, store_txn_t *t, const Espace__V1__Measure *m)
{
    Espace__V1__DmpMeasureRecord r = ESPACE__V1__DMP_MEASURE_RECORD__INIT;
    r.measure = (Espace__V1__Measure *)m;
    int rc = dmp_db_save(t, DMP_T_MEASURES, m->id.data, ID_BYTES, &r.base);
    if (rc != 0)
        return rc;
    uint8_t ph[DMP_PHASH], k[DMP_KEY_SERIES], v[DMP_SERIES_VAL];
    dmp_phash(st, m->patient_id, ph);
    dmp_series_key(k, ph, (int)m->kind, m->effective_ms, m->id.data);
    int bp = m->kind == ESPACE__V1__MEASURE_KIND__MEASURE_KIND_BLOOD_PRESSURE;
    s_dbl_put(v, bp ? m->systolic : m->value);
    s_dbl_put(v + 8, bp ? m->diastolic : 0);
    v[16] = (uint8_t)m->glucose_type;
    return store_put(t, DMP_T_SERIES, k, sizeof k, v, sizeof v);
}

int dmp_series_latest(store_txn_t *t, const uint8_t ph[DMP_PHASH], int kind, int glucose_type,
                      uint8_t id[ID_BYTES])
{
    uint8_t from[DMP_PHASH + 1 + 8];
    memcpy(from, ph, DMP_PHASH);
    from[DMP_PHASH] = (uint8_t)kind;
    memset(from + DMP_PHASH + 1, 0xff, 8);
    store_cursor_t *cur = NULL;
    int rc = store_cursor_open_reverse(t, DMP_T_SERIES, from, sizeof from, &cur);
    if (rc != 0)
        return rc == ES_NOT_FOUND ? 0 : rc;
    const void *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    int found = 0;
    while ((rc = store_cursor_next(cur, &k, &kl, &v, &vl)) == 0) {
        const uint8_t *kb = k;
        if (kl != DMP_KEY_SERIES || memcmp(kb, ph, DMP_PHASH) != 0 || kb[DMP_PHASH] != kind)
            break;
        if (vl != DMP_SERIES_VAL) {
            rc = ES_INTERNAL;
            break;
        }
        if (glucose_type && ((const uint8_t *)v)[16] != glucose_type)
            continue;
        memcpy(id, kb + DMP_PHASH + 9, ID_BYTES);
        found = 1;
        break;
    }
    store_cursor_close(&cur);
    if (rc != 0 && rc != ES_NOT_FOUND)
        return rc;
    return found;
}
