/*
 * dmp.h - the DMP service (SERVICE_DMP, "dmp"): the patient's shared medical
 * record, i.e. documents (metadata, encrypted content, versions, masking)
 * and health measures (ten kinds, range checks, series, BMI derived), with
 * FHIR R4 exports (docs/dmp.md; contract proto/espace/v1/dmp.proto).
 *
 *   svc_run(&dmp_service, &opts);   // what `espace up` does (espace/parts.c)
 *
 * THREAD SAFETY: the service runs on the thread of svc_run.
 */
#ifndef ES_DMP_H
#define ES_DMP_H

#include "proto/names.h" /* SERVICE_DMP, TOPIC_AREA_DMP */
#include "runtime/service.h"

/* Limits (every refusal names its field; docs/dmp.md "Limits"). */
#define DMP_DOC_MAX ((uint64_t)20 << 20)     /* document content bytes */
#define DMP_CHUNK_MAX ((size_t)128 << 10)    /* upload / download piece */
#define DMP_CHUNK_MIN ((size_t)16 << 10)     /* every uploaded piece but the last */
#define DMP_UPLOAD_TTL_MS (3600LL * 1000)    /* an unfinished upload */
#define DMP_TICKET_TTL_MS (600LL * 1000)     /* a download ticket */
#define DMP_TITLE_MAX 200                    /* characters (bytes: 4x) */
#define DMP_COMMENTS_MAX 1000
#define DMP_CODE_MAX 128                     /* format_code */
#define DMP_DEVICE_MAX 64                    /* Measure.device_id */
#define DMP_SEARCH_DEFAULT 50
#define DMP_SEARCH_MAX 200
#define DMP_SEARCH_SCAN 5000                 /* index entries one search reads at most */
#define DMP_SERIES_DEFAULT 500
#define DMP_SERIES_MAX 2000                  /* RAW page, and measures in one Bundle */
#define DMP_DAILY_DAYS 400                   /* days of one DAILY series */
#define DMP_AUTO_DAILY_MS (31LL * 86400 * 1000) /* AUTO: DAILY above this period */
#define DMP_FUTURE_MS (5LL * 60 * 1000)      /* clock skew allowed on times */
#define DMP_GLUCOSE_DAYS_MAX 90              /* number_of_days */
#define DMP_TICK_MS 1000                     /* expiry of unfinished uploads */
#define DMP_EXPIRE_PER_TICK 64
#define DMP_VERSIONS_MAX 64                  /* versions of one document (all listed, all masked) */

extern const svc_def_t dmp_service;

#endif
