/*
 * dmp_int.h - what the modules of the dmp service share (not for other
 * services: they use the bus). Tests include it for the pure parts.
 *
 * Modules: dmp.c (method table and guards, init, tick, caller and event
 * helpers), codes.c (the code tables of REFERENCE.md: pure data), validate.c
 * (document metadata and measure checks: pure), db.c (store layout: records,
 * indexes, key encodings), upload.c (BeginUpload, UploadDocumentChunk, the
 * filing of a version, the expiry of unfinished uploads), docs.c
 * (SearchDocuments, GetDocument, DownloadDocumentChunk, SetMasked, Release,
 * the visibility rules), measures.c (AddMeasure with BMI derivation,
 * ListMeasures with daily aggregates, LatestMeasures), fhir.c (the FHIR R4
 * JSON of documents, measures and series, and the Export* methods).
 *
 * Key layouts (ids raw 16 bytes, integers big-endian; "phash" is
 * store_keyed_hash("dmp.patient", patient id hex): no clear id in a key):
 *   docs        version id (16)                        -> DmpDocRecord
 *   by_patient  phash (32) | filed ms (8) | version id (16) -> 1 byte
 *   versions    unique id (16) | version (4)           -> version id (16)
 *   content     content id (16) | offset (8)           -> bytes (storage/blob.h);
 *               content id = the upload id the version was filed from
 *   uploads     upload id (16)                         -> DmpUploadRecord
 *   expiry      due ms (8) | upload id (16)            -> 1 byte (unfinished uploads)
 *   measures    measure id (16)                        -> DmpMeasureRecord
 *   series      phash (32) | kind (1) | effective ms (8) | measure id (16)
 *               -> value (8, IEEE double bits) | value2 (8) | glucose type (1)
 *
 * THREAD SAFETY: everything runs on the service thread; codes.c and
 * validate.c are pure.
 */
#ifndef ES_DMP_INT_H
#define ES_DMP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "espace/v1/dmp.pb-c.h"
#include "espace/v1/dmp_records.pb-c.h"
#include "proto/ids.h"
#include "services/dmp/dmp.h"
#include "storage/store.h"

#define DMP_T_DOCS "docs"
#define DMP_T_BY_PATIENT "by_patient"
#define DMP_T_VERSIONS "versions"
#define DMP_T_CONTENT "content"
#define DMP_T_UPLOADS "uploads"
#define DMP_T_EXPIRY "expiry"
#define DMP_T_MEASURES "measures"
#define DMP_T_SERIES "series"

#define DMP_PHASH STORE_HASH_BYTES
#define DMP_KEY_BY_PATIENT (DMP_PHASH + 8 + ID_BYTES)
#define DMP_KEY_VERSION (ID_BYTES + 4)
#define DMP_KEY_SERIES (DMP_PHASH + 1 + 8 + ID_BYTES)
#define DMP_SERIES_VAL 17
#define DMP_DOC_CURSOR (8 + ID_BYTES)      /* filed ms | version id */
#define DMP_SERIES_CURSOR (8 + ID_BYTES)   /* effective ms | measure id */
#define DMP_TICKET_BYTES (8 + STORE_HASH_BYTES) /* expiry | MAC */
#define DMP_HASH_BYTES 32                  /* BLAKE2b-256 of a content */

/* ---- codes.c: the tables ---- */

enum {
    DMP_SYS_LOINC, DMP_SYS_TRE_A05, DMP_SYS_TRE_A03, DMP_SYS_TRE_A08, DMP_SYS_TRE_A07,
    DMP_SYS_TRE_R308, DMP_SYS_UCUM, DMP_SYS_CISP2, DMP_SYS_COUNT
};
extern const char *const dmp_system_uri[DMP_SYS_COUNT];

typedef struct dmp_code {
    const char *code;
    const char *display;
} dmp_code_t;

typedef struct dmp_coding {
    const char *code;
    int system;          /* DMP_SYS_* */
    const char *display;
} dmp_coding_t;

typedef struct dmp_doc_type {
    const char *code;        /* typeCode */
    int system;              /* DMP_SYS_LOINC or DMP_SYS_TRE_A05 */
    const char *display;     /* J07 label (French) */
    Espace__V1__DocCategory category; /* the tender group */
    const char *class_code;  /* default classCode (TRE_A03) */
    const char *alt_class;   /* another accepted class, or NULL */
    int patient;             /* 1: a DOCPAT code (filed by the patient only) */
} dmp_doc_type_t;

/* A plausibility range: [lo, hi] refused outside ("hard"), with lo itself
 * refused when lo_excl; a value outside [warn_lo, warn_hi] is stored with a
 * warning ("soft"). */
typedef struct dmp_range {
    double lo, hi;
    int lo_excl;
    double warn_lo, warn_hi;
} dmp_range_t;

typedef struct dmp_measure_def {
    const char *name;        /* English, for messages ("weight") */
    const char *code;        /* LOINC ("" for GLUCOSE: per type) */
    const char *display;     /* French display */
    const char *unit;        /* UCUM code */
    const char *unit_text;   /* valueQuantity.unit ("Level" for pain) */
    const dmp_range_t *range; /* NULL: BLOOD_PRESSURE (components), GLUCOSE (per type) */
    int integer;             /* STEPS, PAIN */
} dmp_measure_def_t;

typedef struct dmp_glucose_def {
    const char *code;        /* emitted code */
    const char *alt_code;    /* also accepted as input, or NULL */
    int system;              /* DMP_SYS_LOINC or DMP_SYS_TRE_R308 */
    const char *display;
    const char *unit;        /* "mg/dL" or "%" */
    const dmp_range_t *range;
    int needs_days;          /* MesNumberOfDays required (else forbidden) */
} dmp_glucose_def_t;

#define DMP_KINDS 11         /* MeasureKind values 0..10 */
#define DMP_GLUCOSE_TYPES 5  /* GlucoseType values 0..4 */
#define DMP_MOMENTS 7        /* GlucoseMoment values 0..6 */

extern const dmp_doc_type_t dmp_doc_types[];
extern const size_t dmp_n_doc_types;
extern const dmp_code_t dmp_classes[];
extern const size_t dmp_n_classes;
extern const dmp_code_t dmp_confidentiality[4];
extern const dmp_code_t dmp_mask_ps, dmp_invisible_patient;
extern const dmp_measure_def_t dmp_measures[DMP_KINDS];
extern const dmp_code_t dmp_bp_systolic, dmp_bp_diastolic;
extern const dmp_glucose_def_t dmp_glucose_types[DMP_GLUCOSE_TYPES];
extern const dmp_coding_t dmp_moments[DMP_MOMENTS];
extern const dmp_range_t dmp_range_weight, dmp_range_height, dmp_range_bmi, dmp_range_steps,
    dmp_range_temperature, dmp_range_waist, dmp_range_heart_rate, dmp_range_systolic,
    dmp_range_diastolic, dmp_range_pain, dmp_range_glucose_mgdl, dmp_range_glucose_pct;

/* Lookups: the row, or NULL (0 for dmp_glucose_type_of_code). */
const dmp_doc_type_t *dmp_doc_type_find(const char *code);
const dmp_code_t *dmp_class_find(const char *code);
const dmp_measure_def_t *dmp_measure_def(int kind);
const dmp_glucose_def_t *dmp_glucose_def(int type);
int dmp_glucose_type_of_code(const char *code); /* input codes too (2339-0) */
/* The code / UCUM unit of a kind (GLUCOSE: of the glucose type), or NULL. */
const char *dmp_measure_code(int kind, int glucose_type);
const char *dmp_measure_unit(int kind, int glucose_type);

/* ---- validate.c (pure) ---- */

typedef struct dmp_err {
    int status;     /* negative es_status */
    char field[48]; /* e.g. "document.type_code" */
    char msg[160];  /* English, no personal data */
} dmp_err_t;

/* 0 if b is an id (16 bytes), else err (INVALID_ARGUMENT on field). */
int dmp_id_check(const ProtobufCBinaryData *b, const char *field, dmp_err_t *err);

/* Check the "(input)" fields of an upload's metadata for a caller of kind
 * caller_kind (PATIENT: DOCPAT types, class 90; invisible_patient only from
 * a PROFESSIONAL; others: the tender's types, a J57 class, default the type's) at now_ms,
 * and fill the derived ones (class_code default, category,
 * confidentiality default). `m` is modified: class_code may be pointed at a
 * static string. 0 or err (field under "document."). */
int dmp_meta_check(Espace__V1__DocumentMeta *m, int caller_kind, int64_t now_ms, dmp_err_t *err);

/* Check an AddMeasure request made by a caller of kind caller_kind at
 * now_ms. 0 and, when the value is outside the soft range, a warning in
 * warn (n bytes; "" otherwise); or err. *glucose_type gets the glucose type
 * applied (GLUCOSE), else 0. */
int dmp_measure_check(const Espace__V1__AddMeasureRequest *r, int caller_kind, int64_t now_ms,
                      int *glucose_type, char *warn, size_t n, dmp_err_t *err);
/* The measure an AddMeasure request r checked by dmp_measure_check (with
 * its glucose_type) describes: kind, LOINC code and UCUM unit, time, values,
 * glucose type, moment, days, source as given and device copied into *m
 * (borrowing r's strings); id, patient, recorder, recorded time and
 * warning are the caller's to set. Pure. */
void dmp_measure_from_request(Espace__V1__Measure *m, const Espace__V1__AddMeasureRequest *r,
                              int glucose_type);

/* A value against a range: 0 inside, ES_INVALID_ARGUMENT outside the hard
 * range (err set, field `field`, message naming `what` and unit), and *soft
 * = 1 when outside the soft range. */
int dmp_range_check(const dmp_range_t *r, double v, const char *what, const char *unit,
                    const char *field, int *soft, dmp_err_t *err);

/* BMI (kg/m2, one decimal) of weight kg and height cm; 0 if not derivable. */
double dmp_bmi(double weight_kg, double height_cm);

/* ---- db.c ---- */

typedef struct dmp_state {
    store_t *store; /* for keyed hashes */
} dmp_state_t;

int dmp_db_load(store_txn_t *t, const char *table, const void *key, size_t klen,
                const ProtobufCMessageDescriptor *d, ProtobufCMessage **out);
int dmp_db_save(store_txn_t *t, const char *table, const void *key, size_t klen,
                const ProtobufCMessage *m);
/* The keyed hash of a patient id (hex) used in keys. */
void dmp_phash(const dmp_state_t *st, const char *patient_id, uint8_t out[DMP_PHASH]);
/* A version record: 0 and *out (codec_free), ES_NOT_FOUND, or an error. */
int dmp_doc_load(store_txn_t *t, const uint8_t id[ID_BYTES], Espace__V1__DmpDocRecord **out);
/* Save a version and its index entries (by_patient, versions). */
int dmp_doc_save(dmp_state_t *st, store_txn_t *t, const Espace__V1__DmpDocRecord *r);
int dmp_measure_load(store_txn_t *t, const uint8_t id[ID_BYTES], Espace__V1__DmpMeasureRecord **out);
/* Save a measure and its series entry. */
int dmp_measure_save(dmp_state_t *st, store_txn_t *t, const Espace__V1__Measure *m);
/* Series key of (phash, kind, effective, id). */
void dmp_series_key(uint8_t k[DMP_KEY_SERIES], const uint8_t ph[DMP_PHASH], int kind,
                    int64_t effective_ms, const uint8_t id[ID_BYTES]);
/* The latest measure id of a kind for a patient (1 and id, 0 if none, or
 * a negative status). */
int dmp_series_latest(store_txn_t *t, const uint8_t ph[DMP_PHASH], int kind, int glucose_type,
                      uint8_t id[ID_BYTES]);
/* The version ids of a document (unique_id), oldest first, at most max. */
int dmp_versions(store_txn_t *t, const uint8_t unique_id[ID_BYTES], uint8_t (*ids)[ID_BYTES],
                 size_t max, size_t *n);

/* ---- dmp.c: helpers for handlers ---- */

/* Fail the call with err. Returns err->status. */
int dmp_fail(svc_call_t *c, const dmp_err_t *err);
/* The stamped caller as an Author (borrowed from the call). */
void dmp_author_of(svc_call_t *c, Espace__V1__Author *a);
/* 1 when the call acts for the patient (basis SELF), 0 for anyone else. */
int dmp_is_patient(svc_call_t *c);
/* Publish ev on "patient.<patient_id>.dmp" after the commit. */
void dmp_publish(svc_call_t *c, const char *patient_id, const Espace__V1__DmpEvent *ev);
/* Fail with a storage error. */
int dmp_fail_storage(svc_call_t *c, int rc);

/* ---- docs.c ---- */

/* May this caller see version m? Patient: not INVISIBLE_PATIENT;
 * others: not MASQUE_PS. Plus: m's patient is the access's and class_code
 * ("" or NULL = any) matches. */
int dmp_doc_visible(svc_call_t *c, const Espace__V1__DocumentMeta *m, const char *patient_id,
                    const char *class_code);
/* A copy of m as this caller may see it (masked_ps cleared for others). */
void dmp_doc_view(svc_call_t *c, const Espace__V1__DocumentMeta *m, Espace__V1__DocumentMeta *out);
/* Load version id visible to the caller (dmp_doc_visible): 0 and *out, or
 * the call failed (NOT_FOUND on field for unknown or invisible). */
int dmp_doc_open(svc_call_t *c, store_txn_t *t, const ProtobufCBinaryData *id, const char *field,
                 const char *class_code, Espace__V1__DmpDocRecord **out);

/* ---- upload.c ---- */

int dmp_expire_tick(void *state, svc_call_t *c, store_txn_t *t);

/* ---- measures.c ---- */

/* Check the kind / code / glucose type / period of a series request (the
 * code narrows GLUCOSE to its type): 0 with *glucose_type, *start and *end
 * set, or the call failed. */
int dmp_series_args(svc_call_t *c, int kind, const char *code, int *glucose_type,
                    const Espace__V1__Period *p, int64_t *start, int64_t *end);
/* Up to max measures of (patient, kind[, glucose type]) with effective in
 * [start, end), oldest first, after the cursor `after` (NULL or empty =
 * from start): records into out (caller frees each with codec_free), *n,
 * *more = 1 when more follow, last = the cursor of the last one. */
int dmp_series_collect(dmp_state_t *st, store_txn_t *t, const char *patient_id, int kind,
                       int glucose_type, int64_t start, int64_t end,
                       const ProtobufCBinaryData *after, size_t max,
                       Espace__V1__DmpMeasureRecord **out, size_t *n, int *more,
                       uint8_t last[DMP_SERIES_CURSOR]);

/* ---- fhir.c ---- */

/* FHIR R4 JSON (malloc'd, caller frees; NULL on failure). */
char *dmp_fhir_document(const Espace__V1__DocumentMeta *m, size_t *len);
char *dmp_fhir_measure(const Espace__V1__Measure *m, size_t *len);
/* A Bundle ("collection") of the measures. */
char *dmp_fhir_bundle(Espace__V1__Measure *const *ms, size_t n, size_t *len);

/* ---- handlers ---- */
int dmp_begin_upload(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int dmp_upload_chunk(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int dmp_search_documents(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int dmp_get_document(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int dmp_download_chunk(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int dmp_set_masked(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int dmp_release(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int dmp_add_measure(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int dmp_list_measures(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int dmp_latest_measures(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int dmp_export_document(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int dmp_export_measure(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int dmp_export_series(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);

#endif
