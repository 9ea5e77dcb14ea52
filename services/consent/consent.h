/*
 * consent.h - the consent service ("consent"): who may see what of a
 * patient's space, and the trail of every access (docs/consent.md).
 *
 * Methods (proto/espace/v1/consent.proto; flags of runtime/service.h):
 *   AddApp, WithdrawApp              operator, write
 *   ListApps, GetApp                 any authenticated caller, read
 *   Grant, RevokeGrant, AnswerRequest  patients, write
 *   ListGrants                       patients (own), professionals and apps
 *                                    (grants naming them), read
 *   RequestAccess, DeclareEmergency  professionals, write
 *   Decide                           espace services only, write (audit)
 *   HoldsGrant                       espace services only, read (no audit)
 *   RegisterPatient, RecordResolution  espace services only, write
 *   ReadAudit, ExportAuditFhir       patients (own trail), read
 *   ExportGrantFhir                  the grant's patient or grantee, read
 *   ListEmergencies                  patients (own), read
 *   EndEmergency                     patients (own), write (audit)
 *   VerifyAudit                      operator, read
 *
 * Decisions are deny by default and read the store directly (no cache), so a
 * revocation committed before a Decide is seen by it.
 *
 * Events: "consent.emergency" (EmergencyDeclared), "consent.request" and
 * "consent.grant.revoked" (GrantChanged); and to the patient alone,
 * "patient.<id>.consent" (ConsentNotice: requests, emergencies declared or
 * ended, grants answered or revoked) so their open pages update live.
 *
 * Data (<data>/consent): tables CONSENT_TABLES below; audit entries are
 * hash-chained per patient (BLAKE2b-256).
 *
 * Logs carry patient ids, RPPS, app ids, grant ids and codes only.
 *
 * THREAD SAFETY: the service runs on the thread of svc_run.
 */
#ifndef ES_CONSENT_H
#define ES_CONSENT_H

#include "proto/ids.h"   /* ID_BYTES: grant, emergency and patient ids */
#include "proto/names.h" /* SERVICE_CONSENT, TOPIC_CONSENT_* */
#include "runtime/service.h"

#define CONSENT_SERVICE SERVICE_CONSENT /* proto/names.h */
#define CONSENT_EMERGENCY_MS (4LL * 3600 * 1000) /* bris de glace lasts 4 hours */
/* Test-only override of CONSENT_EMERGENCY_MS, read once at service start
 * (milliseconds, 1..CONSENT_EMERGENCY_MS). Never set it in production. */
#define CONSENT_EMERGENCY_ENV "ESPACE_EMERGENCY_MS"

#define CONSENT_MAX_SCOPES 16         /* scopes per grant or app */
#define CONSENT_MAX_CODES 32          /* codes per scope */
#define CONSENT_MAX_CODE 64           /* chars per code / decision detail */
#define CONSENT_MAX_GRANTS 256        /* grants (all statuses) per patient */
#define CONSENT_MAX_REASON 500        /* emergency / request reason chars */
#define CONSENT_MAX_LABEL 100         /* professional's name / profession chars */
#define CONSENT_LIST_DEFAULT 100      /* ListGrants page */
#define CONSENT_LIST_MAX 200
#define CONSENT_AUDIT_PAGE_DEFAULT 50 /* ReadAudit page */
#define CONSENT_AUDIT_PAGE_MAX 200

/* Table names (audit is the one tampering tests write to). */
#define CONSENT_T_APPS "apps"
#define CONSENT_T_GRANTS "grants"
#define CONSENT_T_BY_PATIENT "grants_by_patient"
#define CONSENT_T_BY_GRANTEE "grants_by_grantee"
#define CONSENT_T_EMERGENCY "emergencies"
#define CONSENT_T_AUDIT "audit"
#define CONSENT_T_AUDIT_HEAD "audit_heads"
#define CONSENT_T_PATIENTS "patients"

extern const svc_def_t consent_service;

#endif
