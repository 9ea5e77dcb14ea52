/* libFuzzer target: every request of the Dmp service as untrusted bytes,
 * decoded (bus/codec.c) and put through the service's pure checks
 * (services/dmp/validate.c) as a patient and as a professional; what they
 * accept is made into the record the service would store and exported as
 * FHIR R4 JSON (services/dmp/fhir.c), as GetDocument / ExportMeasure would.
 * No bus, no store. The first byte picks the request type. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "espace/v1/dmp.pb-c.h"
#include "services/dmp/dmp_int.h"

#define NOW_MS 1767268800000LL /* 2026-01-01T12:00:00Z */
#define PK(x) ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_##x

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t s_id[ID_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static char s_pid[] = "0123456789abcdef0123456789abcdef";
static char s_rpps[] = "81000000041";

static void s_document(const Espace__V1__BeginUploadRequest *r, int kind)
{
    if (!r->document)
        return;
    Espace__V1__DocumentMeta m = *r->document; /* shallow, as BeginUpload */
    dmp_err_t err;
    if (dmp_meta_check(&m, kind, NOW_MS, &err) != 0) {
        if (err.status >= 0 || !err.field[0] || !err.msg[0])
            abort(); /* every refusal names its field and says why */
        return;
    }
    Espace__V1__Author a = ESPACE__V1__AUTHOR__INIT;
    a.kind = kind;
    a.principal = kind == PK(PATIENT) ? s_pid : s_rpps;
    m.id = m.unique_id = (ProtobufCBinaryData){ID_BYTES, s_id};
    m.patient_id = s_pid;
    m.author = &a;
    m.size = r->size;
    m.hash = r->hash;
    m.availability = ESPACE__V1__AVAILABILITY__AVAILABILITY_CURRENT;
    m.version = 1;
    m.replaces = r->replaces.len == ID_BYTES ? r->replaces : (ProtobufCBinaryData){0, NULL};
    m.replaced_by = (ProtobufCBinaryData){0, NULL};
    m.filed_ms = NOW_MS;
    size_t len = 0;
    free(dmp_fhir_document(&m, &len));
}

static void s_measure(const Espace__V1__AddMeasureRequest *r, int kind)
{
    int gt = 0;
    char warn[256];
    dmp_err_t err;
    if (dmp_measure_check(r, kind, NOW_MS, &gt, warn, sizeof warn, &err) != 0) {
        if (err.status >= 0 || !err.field[0] || !err.msg[0])
            abort();
        return;
    }
    Espace__V1__Author a = ESPACE__V1__AUTHOR__INIT;
    a.kind = kind;
    a.principal = kind == PK(PATIENT) ? s_pid : s_rpps;
    Espace__V1__Measure m = ESPACE__V1__MEASURE__INIT;
    m.id = (ProtobufCBinaryData){ID_BYTES, s_id};
    m.patient_id = s_pid;
    dmp_measure_from_request(&m, r, gt);
    if (!m.code || !m.unit)
        abort(); /* a checked measure has both */
    m.recorded_by = &a;
    m.recorded_ms = NOW_MS;
    m.warning = warn;
    size_t len = 0;
    free(dmp_fhir_measure(&m, &len));
    Espace__V1__Measure *one = &m;
    free(dmp_fhir_bundle(&one, 1, &len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ProtobufCMessageDescriptor *types[] = {
        &espace__v1__begin_upload_request__descriptor,
        &espace__v1__upload_document_chunk_request__descriptor,
        &espace__v1__search_documents_request__descriptor,
        &espace__v1__get_document_request__descriptor,
        &espace__v1__download_document_chunk_request__descriptor,
        &espace__v1__set_masked_request__descriptor,
        &espace__v1__release_request__descriptor,
        &espace__v1__add_measure_request__descriptor,
        &espace__v1__list_measures_request__descriptor,
        &espace__v1__latest_measures_request__descriptor,
        &espace__v1__export_document_request__descriptor,
        &espace__v1__export_measure_request__descriptor,
        &espace__v1__export_series_request__descriptor,
    };
    if (size < 1)
        return 0;
    size_t pick = data[0] % (sizeof types / sizeof types[0]);
    ProtobufCMessage *m = NULL;
    if (codec_decode(types[pick], data + 1, size - 1, 1 << 20, &m, NULL) != 0)
        return 0;
    if (types[pick] == &espace__v1__begin_upload_request__descriptor) {
        s_document((const Espace__V1__BeginUploadRequest *)m, PK(PATIENT));
        s_document((const Espace__V1__BeginUploadRequest *)m, PK(PROFESSIONAL));
    } else if (types[pick] == &espace__v1__add_measure_request__descriptor) {
        s_measure((const Espace__V1__AddMeasureRequest *)m, PK(PATIENT));
        s_measure((const Espace__V1__AddMeasureRequest *)m, PK(PROFESSIONAL));
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    if (codec_pack(m, &buf, &len) == 0)
        free(buf);
    codec_free(m);
    return 0;
}
