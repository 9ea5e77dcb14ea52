/*
 * consent_int.h - what the modules of the consent service share (not for
 * other services: they use the bus).
 *
 * Modules: consent.c (method table, validation helpers), catalogue.c,
 * grants.c, decision.c (Decide, DeclareEmergency), emergency.c (the
 * patient's ListEmergencies / EndEmergency, live notices), audit.c (hash
 * chain), fhir.c (FHIR R4 JSON, written with the runtime's json.h).
 *
 * Key layouts (all ids raw bytes, integers big-endian):
 *   apps               app id (text)                    -> App
 *   grants             grant id (16)                    -> Grant (stored status)
 *   grants_by_patient  patient (16) | grant id (16)     -> "" (index)
 *   grants_by_grantee  kind (1) | grantee id | 0x00 | grant id (16) -> ""
 *   emergencies        patient (16) | RPPS (11)         -> Emergency (latest)
 *   audit              patient (16) | seq (8)           -> hash (32) | AuditEntry
 *   audit_heads        patient (16)                     -> seq (8) | hash (32)
 *   patients           patient (16)                     -> 1 byte (known patients)
 *
 * THREAD SAFETY: everything runs on the service thread.
 */
#ifndef ES_CONSENT_INT_H
#define ES_CONSENT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "services/consent/consent.h"
#include "proto/ids.h"
#include "proto/names.h"
#include "proto/rpps.h"
#include "espace/v1/consent.pb-c.h"
#include "storage/store.h"

#define CONSENT_HASH_BYTES 32 /* BLAKE2b-256 chain hash */
#define CONSENT_MAX_GRANTEE 64 /* app id / RPPS chars */

typedef struct consent_state {
    int64_t emergency_ms; /* emergency access duration */
} consent_state_t;

/* ---- helpers (consent.c) ---- */

/* 1 if s is a code/detail: 1..CONSENT_MAX_CODE of [A-Za-z0-9._-]. */
int consent_code_valid(const char *s);
/* 1 if s is an app id: 3..64 of [a-z0-9._-]. */
int consent_app_id_valid(const char *s);
/* Length of s in characters if valid UTF-8 (no NUL), else -1. */
long consent_utf8_chars(const char *s);

/* Caller checks: fail the call with PERMISSION_DENIED (and return that
 * status) unless the caller is of the kind required. */
int consent_caller_patient(svc_call_t *c, uint8_t pid[ID_BYTES]);
int consent_caller_pro(svc_call_t *c, const char **rpps);
/* The patient_id of a request (untrusted text) into pid: 0, or the call
 * failed INVALID_ARGUMENT on "patient_id" and that status is returned. */
int consent_patient_id_check(svc_call_t *c, const char *text, uint8_t pid[ID_BYTES]);
/* A professional's request on a patient (RequestAccess, DeclareEmergency):
 * consent_caller_pro, then consent_patient_id_check of patient_id, then
 * consent_patient_require. */
int consent_pro_on_patient(svc_call_t *c, store_txn_t *t, const char *patient_id,
                           const char **rpps, uint8_t pid[ID_BYTES]);

/* Validate scopes (field prefix such as scopes or app.scopes). 0 or the
 * status set with svc_fail. */
int consent_scopes_check(svc_call_t *c, const char *prefix, Espace__V1__Scope *const *scopes,
                         size_t n);
/* Validate a grant period: start 0 = now; end 0 = open; end > start and
 * end > now. 0 and start and end set, or the status set with svc_fail. */
int consent_period_check(svc_call_t *c, const char *field, const Espace__V1__Period *p,
                         int64_t *start, int64_t *end);
/* 1 if p is a valid legal purpose. */
int consent_purpose_valid(int p);

/* Load and decode (table, key) as `desc`: 0 and *out (codec_free), or
 * ES_NOT_FOUND, or ES_INTERNAL for an undecodable stored value. */
int consent_load(store_txn_t *t, const char *table, const void *key, size_t klen,
                 const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out);
/* Pack and store msg under (table, key). */
int consent_save(store_txn_t *t, const char *table, const void *key, size_t klen,
                 const ProtobufCMessage *msg);

/* ---- catalogue.c ---- */
int consent_app_load(store_txn_t *t, const char *app_id, Espace__V1__App **out);

/* ---- grants.c ---- */
/* Set g->status / inactive_reason to the effective values at `now`
 * (an active grant past its end becomes inactive, "expired"). Returns the
 * previous inactive_reason pointer: put it back before codec_free, since the
 * new one may be a static string. */
char *consent_grant_effective(Espace__V1__Grant *g, int64_t now);
/* 1 if the grant's scopes allow (category, action, detail). */
int consent_grant_covers(const Espace__V1__Grant *g, int category, int action,
                         const char *detail);
int consent_grant_load(store_txn_t *t, const uint8_t gid[ID_BYTES],
                       Espace__V1__Grant **out);
/* Call each(t, gid, arg) for the id of every grant of patient pid, in id
 * order, until it returns non-zero. 0 when all were visited or each
 * returned 1 (stop); else the negative status each or the store returned. */
int consent_patient_grants(store_txn_t *t, const uint8_t pid[ID_BYTES],
                           int (*each)(store_txn_t *t, const uint8_t gid[ID_BYTES], void *arg),
                           void *arg);

/* ---- registry.c: known patients ---- */
/* 0 if consent knows patient pid, ES_NOT_FOUND, or a store status. */
int consent_patient_known(store_txn_t *t, const uint8_t pid[ID_BYTES]);
/* consent_patient_known, failing the call NOT_FOUND on "patient_id" (or
 * the storage status). */
int consent_patient_require(svc_call_t *c, store_txn_t *t, const uint8_t pid[ID_BYTES]);
/* Record that patient pid exists (idempotent); *added (may be NULL) 1 when
 * it was not known. */
int consent_patient_add(store_txn_t *t, const uint8_t pid[ID_BYTES], int *added);
/* 1 if who is an espace service: PRINCIPAL_SERVICE (ipc), or an anonymous
 * caller of peer role PEER_SERVICE (tcp). */
int consent_caller_service(const Espace__V1__Caller *who);
/* ---- emergency.c ---- */
/* The emergency record of (patient pid, professional rpps): 0 and *out
 * (codec_free), ES_NOT_FOUND, or ES_INTERNAL. */
int consent_emergency_load(store_txn_t *t, const uint8_t pid[ID_BYTES], const char *rpps,
                           Espace__V1__Emergency **out);
/* Store e as the record of (pid, e->rpps), replacing any earlier one. */
int consent_emergency_save(store_txn_t *t, const uint8_t pid[ID_BYTES],
                           const Espace__V1__Emergency *e);
/* 1 if e allows reads at `now`: started, not lapsed, not ended by the patient. */
int consent_emergency_active(const Espace__V1__Emergency *e, int64_t now);
/* A display label of a request (professional's name, profession): 0..
 * CONSENT_MAX_LABEL characters of UTF-8 without control characters (C0,
 * DEL, C1), line separators or bidi overrides / isolates. 0, or
 * the call failed INVALID_ARGUMENT on `field` and that status is returned. */
int consent_label_check(svc_call_t *c, const char *field, const char *s);
/* A text of a request shown to the patient (a reason): min..max characters
 * of UTF-8 under the rules of consent_label_check, newline and tab allowed
 * when multiline. 0, or the call failed INVALID_ARGUMENT on `field`. */
int consent_text_check(svc_call_t *c, const char *field, const char *s, long min, long max,
                       int multiline);
/* Publish a ConsentNotice of `kind` (Espace__V1__NoticeKind) on
 * "patient.<patient_id>.consent" (borrowed g / e, either may be NULL). A
 * failure is logged, never fails the call. */
void consent_notify_patient(svc_call_t *c, const char *patient_id, int kind,
                            Espace__V1__Grant *g, Espace__V1__Emergency *e);

/* ---- audit.c ---- */
/* Append e to the patient's chain (sets e->seq; e->hash is ignored). */
int consent_audit_append(store_txn_t *t, const uint8_t pid[ID_BYTES],
                         Espace__V1__AuditEntry *e);
/* Read one page of a patient's trail, newest first. *entries is a malloc'd
 * array of decoded entries (free with consent_audit_page_free). */
int consent_audit_page(store_txn_t *t, const uint8_t pid[ID_BYTES], uint64_t before_seq,
                       uint32_t limit, Espace__V1__AuditEntry ***entries, size_t *n,
                       uint64_t *next_before);
void consent_audit_page_free(Espace__V1__AuditEntry **entries, size_t n);
/* The patient caller's own audit page for ReadAudit and ExportAuditFhir:
 * checks the caller (a patient: pid) and limit (0 = default), then reads the
 * page. 0, or the status already answered with svc_fail. */
int consent_audit_request(svc_call_t *c, store_txn_t *t, uint64_t before_seq, uint32_t limit,
                          uint8_t pid[ID_BYTES], Espace__V1__AuditEntry ***entries, size_t *n,
                          uint64_t *next);

/* ---- method handlers ---- */
int consent_add_app(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int consent_withdraw_app(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int consent_list_apps(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int consent_get_app(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int consent_grant(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int consent_list_grants(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int consent_revoke_grant(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int consent_request_access(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int consent_answer_request(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int consent_decide(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int consent_holds_grant(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int consent_register_patient(void *st, svc_call_t *c, const ProtobufCMessage *m,
                             store_txn_t *t);
int consent_record_resolution(void *st, svc_call_t *c, const ProtobufCMessage *m,
                              store_txn_t *t);
int consent_declare_emergency(void *st, svc_call_t *c, const ProtobufCMessage *m,
                              store_txn_t *t);
int consent_read_audit(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int consent_verify_audit(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int consent_export_grant_fhir(void *st, svc_call_t *c, const ProtobufCMessage *m,
                              store_txn_t *t);
int consent_export_audit_fhir(void *st, svc_call_t *c, const ProtobufCMessage *m,
                              store_txn_t *t);
int consent_list_emergencies(void *st, svc_call_t *c, const ProtobufCMessage *m,
                             store_txn_t *t);
int consent_end_emergency(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);

#endif
