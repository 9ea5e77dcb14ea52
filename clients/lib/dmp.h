/*
 * dmp.h - libespace, typed calls of the DMP service (part of the manual
 * espace.h; schema: proto/espace/v1/dmp.proto, service Dmp; rules:
 * docs/dmp.md). Errors and memory as in conn.h: each call's *out (may be
 * NULL to ignore it) is the method's reply, free it with espace_free; on
 * error *out is NULL.
 *
 * patient_id: the patient's id (32 hex), or NULL / "" for the calling
 * patient. class_code / code: the code that narrows the consent decision
 * (docs/dmp.md "Access"): NULL or "" asks for the whole category.
 *
 * Besides the typed calls: a whole document moved in pieces and checked
 * against its BLAKE2b-256 (espace_dmp_upload / espace_dmp_download).
 *
 * THREAD SAFETY: as conn.h (one espace_t per thread).
 */
#ifndef ESPACE_LIB_DMP_H
#define ESPACE_LIB_DMP_H

#include "clients/lib/conn.h"
#include "espace/v1/dmp.pb-c.h"

#define ESPACE_DMP_ID 16                        /* document, upload and measure ids, bytes */
#define ESPACE_DMP_HASH 32                      /* BLAKE2b-256 of a document's content */
#define ESPACE_DMP_DOC_MAX ((uint64_t)20 << 20) /* content bytes (server limit) */
#define ESPACE_DMP_PIECE ((size_t)128 << 10)    /* upload / download piece */

/* ---- documents ---- */

/* BeginUpload: declare (or resume) upload `upload_id` of size bytes with
 * BLAKE2b-256 hash, metadata doc (its "(input)" fields), replacing version
 * `replaces` (NULL: a new document). */
int espace_dmp_begin_upload(espace_t *e, const char *patient_id,
                            const uint8_t upload_id[ESPACE_DMP_ID], uint64_t size,
                            const uint8_t hash[ESPACE_DMP_HASH],
                            const Espace__V1__DocumentMeta *doc,
                            const uint8_t replaces[ESPACE_DMP_ID],
                            Espace__V1__BeginUploadReply **out, espace_error_t *err);
/* UploadDocumentChunk: len bytes at offset. */
int espace_dmp_upload_document_chunk(espace_t *e, const uint8_t upload_id[ESPACE_DMP_ID],
                                     uint64_t offset, const uint8_t *data, size_t len,
                                     Espace__V1__UploadDocumentChunkReply **out,
                                     espace_error_t *err);
/* SearchDocuments with the filters of req (the caller's request). */
int espace_dmp_search_documents(espace_t *e, const Espace__V1__SearchDocumentsRequest *req,
                                Espace__V1__SearchDocumentsReply **out, espace_error_t *err);
/* GetDocument: a version, its versions and a download ticket. */
int espace_dmp_get_document(espace_t *e, const char *patient_id,
                            const uint8_t document_id[ESPACE_DMP_ID], const char *class_code,
                            Espace__V1__GetDocumentReply **out, espace_error_t *err);
/* DownloadDocumentChunk with the ticket of GetDocument. */
int espace_dmp_download_document_chunk(espace_t *e, const uint8_t document_id[ESPACE_DMP_ID],
                                       const ProtobufCBinaryData *ticket, uint64_t offset,
                                       uint32_t max_bytes,
                                       Espace__V1__DownloadDocumentChunkReply **out,
                                       espace_error_t *err);
/* SetMasked (the patient only). */
int espace_dmp_set_masked(espace_t *e, const uint8_t document_id[ESPACE_DMP_ID], int masked,
                          Espace__V1__SetMaskedReply **out, espace_error_t *err);
/* Release (the author). */
int espace_dmp_release(espace_t *e, const char *patient_id,
                       const uint8_t document_id[ESPACE_DMP_ID], const char *class_code,
                       Espace__V1__ReleaseReply **out, espace_error_t *err);

/* Upload data[len] (1..ESPACE_DMP_DOC_MAX bytes) as a document with
 * metadata doc, replacing `replaces` (NULL: new), under a fresh random
 * upload id, in pieces (resumed on a lost reply). *reply (espace_free) holds
 * the filed metadata, *filed borrowed from it (both may be NULL). */
int espace_dmp_upload(espace_t *e, const char *patient_id, const Espace__V1__DocumentMeta *doc,
                      const uint8_t *data, size_t len, const uint8_t replaces[ESPACE_DMP_ID],
                      ProtobufCMessage **reply, Espace__V1__DocumentMeta **filed,
                      espace_error_t *err);

/* Download version document_id whole: GetDocument then its pieces; *data
 * (caller frees with free) and *len, checked against the hash of the
 * metadata (ES_UNAUTHENTICATED on "hash" otherwise), hash (may be NULL)
 * the BLAKE2b-256 computed. */
int espace_dmp_download(espace_t *e, const char *patient_id,
                        const uint8_t document_id[ESPACE_DMP_ID], const char *class_code,
                        uint8_t **data, size_t *len, uint8_t hash[ESPACE_DMP_HASH],
                        espace_error_t *err);

/* ---- measures ---- */

/* AddMeasure of req (the caller fills kind, values, effective_ms ...). */
int espace_dmp_add_measure(espace_t *e, const Espace__V1__AddMeasureRequest *req,
                           Espace__V1__AddMeasureReply **out, espace_error_t *err);
/* ListMeasures of req. */
int espace_dmp_list_measures(espace_t *e, const Espace__V1__ListMeasuresRequest *req,
                             Espace__V1__ListMeasuresReply **out, espace_error_t *err);
/* LatestMeasures. */
int espace_dmp_latest_measures(espace_t *e, const char *patient_id,
                               Espace__V1__LatestMeasuresReply **out, espace_error_t *err);

/* ---- FHIR R4 exports ---- */

int espace_dmp_export_document(espace_t *e, const char *patient_id,
                               const uint8_t document_id[ESPACE_DMP_ID], const char *class_code,
                               Espace__V1__ExportDocumentReply **out, espace_error_t *err);
int espace_dmp_export_measure(espace_t *e, const char *patient_id,
                              const uint8_t measure_id[ESPACE_DMP_ID], const char *code,
                              Espace__V1__ExportMeasureReply **out, espace_error_t *err);
int espace_dmp_export_series(espace_t *e, const Espace__V1__ExportSeriesRequest *req,
                             Espace__V1__ExportSeriesReply **out, espace_error_t *err);

#endif
