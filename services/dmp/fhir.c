/*
 * fhir.c - the FHIR R4 JSON of the DMP, with the codes and systems of
 * codes.c: DocumentReference (REFERENCE.md section 1b mapping), Observation
 * (section 2: LOINC code, UCUM valueQuantity, blood pressure as two
 * components, glucose moment), a Bundle of type "collection" for a series;
 * and the Export* methods.
 * Not exported (docs/dmp.md): attachment.hash (FHIR wants SHA-1; the
 * service keeps BLAKE2b-256), MesNumberOfDays (its JDV_J164 codes are not in
 * REFERENCE.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "export/json.h"
#include "proto/status.h"
#include "services/dmp/dmp_int.h"

#define K(x) ESPACE__V1__MEASURE_KIND__MEASURE_KIND_##x
#define PK(x) ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_##x
#define S_RFC3986 "urn:ietf:rfc:3986"
#define S_RPPS "https://rpps.esante.gouv.fr" /* REFERENCE.md section 5.2, FR Core */
#define S_OBS_CATEGORY "http://terminology.hl7.org/CodeSystem/observation-category"
/* MesMomentOfMeasurement under the IG's canonical (docs/dmp.md: UNCONF). */
#define S_EXT_MOMENT "https://interop.esante.gouv.fr/ig/fhir/mesures/StructureDefinition/" \
                     "MesMomentOfMeasurement"

static void s_hex(const ProtobufCBinaryData *b, char out[ID_HEX])
{
    static const char hx[] = "0123456789abcdef";
    size_t n = b->len == ID_BYTES ? ID_BYTES : 0;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[b->data[i] >> 4];
        out[2 * i + 1] = hx[b->data[i] & 15];
    }
    out[2 * n] = '\0';
}

/* "urn:uuid:8-4-4-4-12" of a 16-byte id. */
static void s_urn(const ProtobufCBinaryData *b, char out[48])
{
    char h[ID_HEX];
    s_hex(b, h);
    if (!h[0]) {
        out[0] = '\0';
        return;
    }
    snprintf(out, 48, "urn:uuid:%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static void s_coding(json_t *j, int system, const char *code, const char *display)
{
    json_obj_open(j, NULL);
    json_str(j, "system", dmp_system_uri[system]);
    json_str(j, "code", code);
    if (display && display[0])
        json_str(j, "display", display);
    json_obj_close(j);
}

/* {"coding":[ one coding ]} under key. */
static void s_concept(json_t *j, const char *key, int system, const char *code,
                      const char *display)
{
    json_obj_open(j, key);
    json_arr_open(j, "coding");
    s_coding(j, system, code, display);
    json_arr_close(j);
    json_obj_close(j);
}

static void s_ref(json_t *j, const char *key, const char *type, const char *id)
{
    char ref[96];
    snprintf(ref, sizeof ref, "%s/%s", type, id);
    json_obj_open(j, key);
    json_str(j, "reference", ref);
    json_obj_close(j);
}

/* ---- DocumentReference ---- */

static void s_document(json_t *j, const char *key, const Espace__V1__DocumentMeta *m)
{
    char id[ID_HEX], urn[48], ver[16];
    const dmp_doc_type_t *ty = dmp_doc_type_find(m->type_code);
    const dmp_code_t *cl = dmp_class_find(m->class_code);
    json_obj_open(j, key);
    json_str(j, "resourceType", "DocumentReference");
    s_hex(&m->id, id);
    json_str(j, "id", id);
    json_obj_open(j, "meta");
    snprintf(ver, sizeof ver, "%u", m->version);
    json_str(j, "versionId", ver);
    json_obj_close(j);
    json_obj_open(j, "masterIdentifier");
    json_str(j, "system", S_RFC3986);
    s_urn(&m->unique_id, urn);
    json_str(j, "value", urn);
    json_obj_close(j);
    json_arr_open(j, "identifier");
    json_obj_open(j, NULL);
    json_str(j, "system", S_RFC3986);
    s_urn(&m->id, urn);
    json_str(j, "value", urn);
    json_obj_close(j);
    json_arr_close(j);
    json_str(j, "status", m->availability == ESPACE__V1__AVAILABILITY__AVAILABILITY_SUPERSEDED
                              ? "superseded"
                              : "current");
    if (ty)
        s_concept(j, "type", ty->system, ty->code, ty->display);
    if (cl) {
        json_arr_open(j, "category");
        json_obj_open(j, NULL);
        json_arr_open(j, "coding");
        s_coding(j, DMP_SYS_TRE_A03, cl->code, cl->display);
        json_arr_close(j);
        json_obj_close(j);
        json_arr_close(j);
    }
    s_ref(j, "subject", "Patient", m->patient_id);
    json_instant(j, "date", m->filed_ms);
    if (m->author && m->author->principal) {
        json_arr_open(j, "author");
        if (m->author->kind == PK(PATIENT)) {
            s_ref(j, NULL, "Patient", m->author->principal);
        } else {
            json_obj_open(j, NULL);
            json_obj_open(j, "identifier");
            if (m->author->kind == PK(PROFESSIONAL))
                json_str(j, "system", S_RPPS);
            json_str(j, "value", m->author->principal);
            json_obj_close(j);
            json_obj_close(j);
        }
        json_arr_close(j);
    }
    if (m->comments && m->comments[0])
        json_str(j, "description", m->comments);
    json_arr_open(j, "securityLabel");
    int conf = (int)m->confidentiality >= 1 && (int)m->confidentiality <= 3
                   ? (int)m->confidentiality
                   : ESPACE__V1__CONFIDENTIALITY__CONFIDENTIALITY_NORMAL;
    json_obj_open(j, NULL);
    json_arr_open(j, "coding");
    s_coding(j, DMP_SYS_TRE_A08, dmp_confidentiality[conf].code, dmp_confidentiality[conf].display);
    json_arr_close(j);
    json_obj_close(j);
    const dmp_code_t *masks[2] = {m->masked_ps ? &dmp_mask_ps : NULL,
                                  m->invisible_patient ? &dmp_invisible_patient : NULL};
    for (int i = 0; i < 2; i++) {
        if (!masks[i])
            continue;
        json_obj_open(j, NULL);
        json_arr_open(j, "coding");
        s_coding(j, DMP_SYS_TRE_A07, masks[i]->code, masks[i]->display);
        json_arr_close(j);
        json_obj_close(j);
    }
    json_arr_close(j);
    json_arr_open(j, "content");
    json_obj_open(j, NULL);
    json_obj_open(j, "attachment");
    json_str(j, "contentType", m->mime_type);
    json_str(j, "language", "fr-FR");
    json_int(j, "size", (int64_t)m->size);
    json_str(j, "title", m->title);
    json_instant(j, "creation", m->creation_ms);
    json_obj_close(j);
    if (m->format_code && m->format_code[0]) {
        json_obj_open(j, "format");
        json_str(j, "code", m->format_code);
        json_obj_close(j);
    }
    json_obj_close(j);
    json_arr_close(j);
    if (m->service_period && m->service_period->start_ms) {
        json_obj_open(j, "context");
        json_obj_open(j, "period");
        json_instant(j, "start", m->service_period->start_ms);
        if (m->service_period->end_ms)
            json_instant(j, "end", m->service_period->end_ms);
        json_obj_close(j);
        json_obj_close(j);
    }
    if (m->replaces.len == ID_BYTES) {
        char rid[ID_HEX];
        s_hex(&m->replaces, rid);
        json_arr_open(j, "relatesTo");
        json_obj_open(j, NULL);
        json_str(j, "code", "replaces");
        s_ref(j, "target", "DocumentReference", rid);
        json_obj_close(j);
        json_arr_close(j);
    }
    json_obj_close(j);
}

/* ---- Observation ---- */

static void s_quantity(json_t *j, const char *key, double v, const char *unit_text,
                       const char *ucum)
{
    json_obj_open(j, key);
    json_num(j, "value", v);
    json_str(j, "unit", unit_text);
    json_str(j, "system", dmp_system_uri[DMP_SYS_UCUM]);
    json_str(j, "code", ucum);
    json_obj_close(j);
}

static void s_component(json_t *j, const dmp_code_t *code, double v)
{
    json_obj_open(j, NULL);
    s_concept(j, "code", DMP_SYS_LOINC, code->code, code->display);
    s_quantity(j, "valueQuantity", v, "mm[Hg]", "mm[Hg]");
    json_obj_close(j);
}

static void s_observation(json_t *j, const char *key, const Espace__V1__Measure *m)
{
    char id[ID_HEX];
    const dmp_measure_def_t *d = dmp_measure_def((int)m->kind);
    const dmp_glucose_def_t *g = m->kind == K(GLUCOSE) ? dmp_glucose_def((int)m->glucose_type)
                                                        : NULL;
    json_obj_open(j, key);
    json_str(j, "resourceType", "Observation");
    s_hex(&m->id, id);
    json_str(j, "id", id);
    if (g && (int)m->moment > 0 && (int)m->moment < DMP_MOMENTS) {
        const dmp_coding_t *mo = &dmp_moments[m->moment];
        json_arr_open(j, "extension");
        json_obj_open(j, NULL);
        json_str(j, "url", S_EXT_MOMENT);
        json_obj_open(j, "valueCodeableConcept");
        json_arr_open(j, "coding");
        s_coding(j, mo->system, mo->code, mo->display);
        json_arr_close(j);
        json_obj_close(j);
        json_obj_close(j);
        json_arr_close(j);
    }
    json_str(j, "status", "final");
    json_arr_open(j, "category");
    json_obj_open(j, NULL);
    json_arr_open(j, "coding");
    json_obj_open(j, NULL);
    json_str(j, "system", S_OBS_CATEGORY);
    json_str(j, "code", "vital-signs");
    json_obj_close(j);
    json_arr_close(j);
    json_obj_close(j);
    json_arr_close(j);
    if (g)
        s_concept(j, "code", g->system, g->code, g->display);
    else if (d)
        s_concept(j, "code", DMP_SYS_LOINC, d->code, d->display);
    s_ref(j, "subject", "Patient", m->patient_id);
    json_instant(j, "effectiveDateTime", m->effective_ms);
    json_instant(j, "issued", m->recorded_ms);
    if (m->device_id && m->device_id[0]) {
        json_obj_open(j, "device");
        json_str(j, "display", m->device_id);
        json_obj_close(j);
    }
    if (m->kind == K(BLOOD_PRESSURE)) {
        json_arr_open(j, "component");
        s_component(j, &dmp_bp_systolic, m->systolic);
        s_component(j, &dmp_bp_diastolic, m->diastolic);
        json_arr_close(j);
    } else if (g) {
        s_quantity(j, "valueQuantity", m->value, g->unit, g->unit);
    } else if (d) {
        s_quantity(j, "valueQuantity", m->value, d->unit_text, d->unit);
    }
    json_obj_close(j);
}

char *dmp_fhir_document(const Espace__V1__DocumentMeta *m, size_t *len)
{
    json_t j;
    json_init(&j);
    s_document(&j, NULL, m);
    return json_take(&j, len);
}

char *dmp_fhir_measure(const Espace__V1__Measure *m, size_t *len)
{
    json_t j;
    json_init(&j);
    s_observation(&j, NULL, m);
    return json_take(&j, len);
}

char *dmp_fhir_bundle(Espace__V1__Measure *const *ms, size_t n, size_t *len)
{
    json_t j;
    char urn[48];
    json_init(&j);
    json_obj_open(&j, NULL);
    json_str(&j, "resourceType", "Bundle");
    json_str(&j, "type", "collection");
    json_arr_open(&j, "entry");
    for (size_t i = 0; i < n; i++) {
        json_obj_open(&j, NULL);
        s_urn(&ms[i]->id, urn);
        json_str(&j, "fullUrl", urn);
        s_observation(&j, "resource", ms[i]);
        json_obj_close(&j);
    }
    json_arr_close(&j);
    json_obj_close(&j);
    return json_take(&j, len);
}

/* ---- the Export methods ---- */

/* Reply {json} (ExportDocumentReply and ExportMeasureReply have that one
 * field); takes json (freed). */
static int s_reply_json(svc_call_t *c, char *json, int document)
{
    if (!json)
        return svc_fail(c, ES_TOO_LARGE, NULL, "the export does not fit in one reply");
    Espace__V1__ExportDocumentReply d = ESPACE__V1__EXPORT_DOCUMENT_REPLY__INIT;
    Espace__V1__ExportMeasureReply m = ESPACE__V1__EXPORT_MEASURE_REPLY__INIT;
    d.json = m.json = json;
    int rc = svc_reply(c, document ? &d.base : &m.base);
    free(json);
    return rc;
}

int dmp_export_document(void *state, svc_call_t *c, const ProtobufCMessage *msg, store_txn_t *t)
{
    (void)state;
    const Espace__V1__ExportDocumentRequest *r = (const Espace__V1__ExportDocumentRequest *)msg;
    Espace__V1__DmpDocRecord *d = NULL;
    int rc = dmp_doc_open(c, t, &r->document_id, "document_id", r->class_code, &d);
    if (rc != 0)
        return rc;
    Espace__V1__DocumentMeta view;
    dmp_doc_view(c, d->meta, &view);
    size_t len = 0;
    rc = s_reply_json(c, dmp_fhir_document(&view, &len), 1);
    codec_free(&d->base);
    return rc;
}

int dmp_export_measure(void *state, svc_call_t *c, const ProtobufCMessage *msg, store_txn_t *t)
{
    (void)state;
    const Espace__V1__ExportMeasureRequest *r = (const Espace__V1__ExportMeasureRequest *)msg;
    const svc_access_t *acc = svc_access(c);
    Espace__V1__DmpMeasureRecord *rec = NULL;
    dmp_err_t err;
    if (dmp_id_check(&r->measure_id, "measure_id", &err) != 0)
        return dmp_fail(c, &err);
    int rc = dmp_measure_load(t, r->measure_id.data, &rec);
    if (rc == 0 && (strcmp(rec->measure->patient_id, acc->patient_id) != 0 ||
                    (r->code && r->code[0] &&
                     (!rec->measure->code || strcmp(rec->measure->code, r->code) != 0))))
        rc = ES_NOT_FOUND;
    if (rc != 0) {
        codec_free(rec ? &rec->base : NULL);
        return rc == ES_NOT_FOUND ? svc_fail(c, rc, "measure_id", "no such measure")
                                  : dmp_fail_storage(c, rc);
    }
    size_t len = 0;
    rc = s_reply_json(c, dmp_fhir_measure(rec->measure, &len), 0);
    codec_free(&rec->base);
    return rc;
}

int dmp_export_series(void *state, svc_call_t *c, const ProtobufCMessage *msg, store_txn_t *t)
{
    dmp_state_t *st = state;
    const Espace__V1__ExportSeriesRequest *r = (const Espace__V1__ExportSeriesRequest *)msg;
    const svc_access_t *acc = svc_access(c);
    int gt = (int)r->glucose_type;
    int64_t start, end;
    int rc = dmp_series_args(c, (int)r->kind, r->code, &gt, r->period, &start, &end);
    if (rc != 0)
        return rc;
    Espace__V1__DmpMeasureRecord **recs = calloc(DMP_SERIES_MAX, sizeof *recs);
    Espace__V1__Measure **pm = calloc(DMP_SERIES_MAX, sizeof *pm);
    size_t n = 0, len = 0;
    int more = 0;
    uint8_t last[DMP_SERIES_CURSOR];
    char *json = NULL;
    if (!recs || !pm) {
        rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
        goto done;
    }
    if ((rc = dmp_series_collect(st, t, acc->patient_id, (int)r->kind, gt, start, end, NULL,
                                 DMP_SERIES_MAX, recs, &n, &more, last)) != 0) {
        rc = dmp_fail_storage(c, rc);
        goto done;
    }
    if (more) {
        rc = svc_fail(c, ES_TOO_LARGE, "period", "more than %d measures: narrow the period",
                      DMP_SERIES_MAX);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        pm[i] = recs[i]->measure;
    if (!(json = dmp_fhir_bundle(pm, n, &len))) {
        rc = svc_fail(c, ES_TOO_LARGE, "period", "the Bundle does not fit in one reply");
        goto done;
    }
    Espace__V1__ExportSeriesReply rep = ESPACE__V1__EXPORT_SERIES_REPLY__INIT;
    rep.json = json;
    rep.count = (uint32_t)n;
    rc = svc_reply(c, &rep.base);
done:
    free(json);
    for (size_t i = 0; recs && i < n; i++)
        codec_free(&recs[i]->base);
    free(recs);
    free(pm);
    return rc;
}
