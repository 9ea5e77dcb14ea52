/*
 * dmp.c - the dmp service: method table, the access each method needs
 * (guards: the runtime asks consent before anyone but the patient runs a
 * method on the patient's record), init, and the caller and event helpers
 * the other modules share (dmp_int.h).
 */
#include "services/dmp/dmp.h"

#include <stdlib.h>
#include <string.h>

#include "process/log.h"
#include "proto/status.h"
#include "services/dmp/dmp_int.h"

/* ---- helpers ---- */

int dmp_fail(svc_call_t *c, const dmp_err_t *err)
{
    return svc_fail(c, err->status, err->field[0] ? err->field : NULL, "%s", err->msg);
}

int dmp_fail_storage(svc_call_t *c, int rc)
{
    return svc_fail(c, rc < 0 ? rc : ES_INTERNAL, NULL, "storage failure");
}

void dmp_author_of(svc_call_t *c, Espace__V1__Author *a)
{
    const Espace__V1__Caller *k = svc_caller(c);
    espace__v1__author__init(a);
    a->kind = k->kind;
    a->principal = k->principal;
}

int dmp_is_patient(svc_call_t *c)
{
    const svc_access_t *a = svc_access(c);
    if (a)
        return a->decision.basis == ESPACE__V1__BASIS__BASIS_SELF;
    return svc_caller(c)->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
}

void dmp_publish(svc_call_t *c, const char *patient_id, const Espace__V1__DmpEvent *ev)
{
    char topic[TOPIC_MAX + 1];
    if (topic_patient(topic, sizeof topic, patient_id, TOPIC_AREA_DMP) != 0)
        return;
    if (svc_publish(c, topic, &ev->base) != 0)
        log_warn(SERVICE_DMP, "event.dropped", "kind=%d", (int)ev->kind);
}

/* ---- the service ---- */

static int s_init(const svc_env_t *env, void **state)
{
    dmp_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return ES_RESOURCE_EXHAUSTED;
    st->store = env->store;
    *state = st;
    return ES_OK;
}

static void s_fini(void *state)
{
    free(state);
}

static const char *s_tables[] = {DMP_T_DOCS,   DMP_T_BY_PATIENT, DMP_T_VERSIONS, DMP_T_CONTENT,
                                 DMP_T_UPLOADS, DMP_T_EXPIRY,    DMP_T_MEASURES, DMP_T_SERIES,
                                 NULL};

#define M(n, d, h, f) {n, &espace__v1__##d##__descriptor, h, f}
static const svc_method_t s_methods[] = {
    M("BeginUpload", begin_upload_request, dmp_begin_upload, SVC_WRITE),
    M("UploadDocumentChunk", upload_document_chunk_request, dmp_upload_chunk, SVC_WRITE),
    M("SearchDocuments", search_documents_request, dmp_search_documents, 0),
    M("GetDocument", get_document_request, dmp_get_document, 0),
    M("DownloadDocumentChunk", download_document_chunk_request, dmp_download_chunk, 0),
    M("SetMasked", set_masked_request, dmp_set_masked, SVC_WRITE),
    M("Release", release_request, dmp_release, SVC_WRITE),
    M("AddMeasure", add_measure_request, dmp_add_measure, SVC_WRITE),
    M("ListMeasures", list_measures_request, dmp_list_measures, 0),
    M("LatestMeasures", latest_measures_request, dmp_latest_measures, 0),
    M("ExportDocument", export_document_request, dmp_export_document, 0),
    M("ExportMeasure", export_measure_request, dmp_export_measure, 0),
    M("ExportSeries", export_series_request, dmp_export_series, 0),
};
#undef M

/* What needs consent (runtime/service.h, ACCESS): every method that names a
 * patient's record; documents narrowed by the class code, measures by the
 * LOINC code, each taken from the request (docs/dmp.md "Access"). The
 * unguarded ones act on what the caller already holds: the pieces of its
 * own upload (UploadDocumentChunk), a ticket GetDocument gave it
 * (DownloadDocumentChunk), the patient's own masking (SetMasked). */
#define DOC ESPACE__V1__CATEGORY__CATEGORY_DOCUMENTS
#define MES ESPACE__V1__CATEGORY__CATEGORY_MEASURES
#define RD ESPACE__V1__ACTION__ACTION_READ
#define WR ESPACE__V1__ACTION__ACTION_WRITE
static const svc_guard_t s_guards[] = {
    {"BeginUpload", DOC, WR, "patient_id", "document.class_code"},
    {"SearchDocuments", DOC, RD, "patient_id", "class_code"},
    {"GetDocument", DOC, RD, "patient_id", "class_code"},
    {"Release", DOC, WR, "patient_id", "class_code"},
    {"ExportDocument", DOC, RD, "patient_id", "class_code"},
    {"AddMeasure", MES, WR, "patient_id", "code"},
    {"ListMeasures", MES, RD, "patient_id", "code"},
    {"LatestMeasures", MES, RD, "patient_id", NULL},
    {"ExportMeasure", MES, RD, "patient_id", "code"},
    {"ExportSeries", MES, RD, "patient_id", "code"},
};
#undef DOC
#undef MES
#undef RD
#undef WR

const svc_def_t dmp_service = {
    .name = SERVICE_DMP,
    .tables = s_tables,
    .methods = s_methods,
    .n_methods = sizeof s_methods / sizeof s_methods[0],
    .guards = s_guards,
    .n_guards = sizeof s_guards / sizeof s_guards[0],
    .api = &espace__v1__dmp__descriptor,
    .init = s_init,
    .fini = s_fini,
    .tick = dmp_expire_tick,
    .tick_ms = DMP_TICK_MS,
};
