/*
 * consent.h - libespace, typed calls of the consent service and its
 * vocabulary as text (part of the manual espace.h; schema:
 * proto/espace/v1/consent.proto, service Consent). Errors and memory as in
 * conn.h: each call's *out (may be NULL to ignore it) is the method's reply,
 * free it with espace_free; on error *out is NULL.
 *
 * Who may call what (docs/consent.md): the catalogue's AddApp, WithdrawApp
 * and VerifyAudit are the operator's (open with as_kind PRINCIPAL_OPERATOR
 * over ipc); RequestAccess and DeclareEmergency a professional's; Grant,
 * RevokeGrant, AnswerRequest and ReadAudit the patient's; the others any
 * authenticated caller's. The service refuses the others
 * (ES_PERMISSION_DENIED).
 */
#ifndef ESPACE_LIB_CONSENT_H
#define ESPACE_LIB_CONSENT_H

#include "clients/lib/conn.h"
#include "espace/v1/consent.pb-c.h"

/* ---- vocabulary as text ----
 * For command lines and forms. Labels are proto/names.h enum_label of the
 * schema's enums (enum_parse reads them, and the full value names, in any
 * case):
 *   categories  agenda, documents, measures, messaging
 *   actions     read, write
 *   purposes    prevention, diagnostic, soins, suivi_social_medicosocial
 *               (espace_purpose_label: written with '_' as the catalogue
 *               and the command lines always did; "suivi-social-medicosocial"
 *               is read too)
 *   statuses    proposed, active, rejected, inactive
 * A scope list is "CATEGORY:ACTION[:CODE[+CODE...]][,...]", e.g.
 * "documents:read:10+11,agenda:write" (codes: document class or LOINC
 * codes, see Scope.codes). These functions do no network I/O. */

#define ESPACE_SCOPES_MAX 16        /* scopes per list (CONSENT_MAX_SCOPES) */
#define ESPACE_SCOPE_CODES_MAX 32   /* codes per scope (CONSENT_MAX_CODES) */
#define ESPACE_SCOPES_TEXT_MAX 2048 /* longest scope list text, NUL included */
#define ESPACE_CONSENT_LABEL_MAX 100 /* name / profession characters (CONSENT_MAX_LABEL) */

/* A parsed scope list. Self-contained: list/n go straight into a request
 * (e.g. req.scopes = s.list; req.n_scopes = s.n), borrowed while the
 * struct lives. It points into itself: do not copy it. */
typedef struct espace_scopes {
    size_t n;                                               /* scopes parsed */
    Espace__V1__Scope *list[ESPACE_SCOPES_MAX];             /* -> scope[i] */
    Espace__V1__Scope scope[ESPACE_SCOPES_MAX];
    char *codes[ESPACE_SCOPES_MAX][ESPACE_SCOPE_CODES_MAX]; /* into text */
    char text[ESPACE_SCOPES_TEXT_MAX];                      /* the input, cut up */
} espace_scopes_t;

/* Parse a scope list into *out. 0, or ES_INVALID_ARGUMENT (empty list,
 * unknown category or action, empty code, too many scopes or codes) or
 * ES_TOO_LARGE (text too long), with a short English reason in why (size
 * whylen; why may be NULL). Duplicates and codes on categories that take
 * none are left for the consent service to refuse. */
int espace_scopes_parse(const char *text, espace_scopes_t *out, char *why, size_t whylen);

/* Write `n` scopes as a scope list into out (size len). 0, or ES_TOO_LARGE
 * (out then holds a cut, NUL-terminated prefix). */
int espace_scopes_format(Espace__V1__Scope *const *scopes, size_t n, char *out, size_t len);

/* Purpose name -> Espace__V1__Purpose value (> 0), or ES_INVALID_ARGUMENT. */
int espace_purpose_parse(const char *name);

/* The label of a purpose ("soins", "suivi_social_medicosocial") into out;
 * returns out, or "?" (static) for a value out of the enum. */
const char *espace_purpose_label(int purpose, char out[ESPACE_LABEL_MAX]);

/* ---- catalogue ---- */

/* AddApp (operator): reference `app` (its fields: consent.proto App). */
int espace_consent_add_app(espace_t *e, const Espace__V1__App *app, Espace__V1__AddAppReply **out,
                           espace_error_t *err);

/* WithdrawApp (operator): its grants stop allowing anything at once. */
int espace_consent_withdraw_app(espace_t *e, const char *app_id,
                                Espace__V1__WithdrawAppReply **out, espace_error_t *err);

/* ListApps: listed apps in id order (include_withdrawn = 1: withdrawn too). */
int espace_consent_list_apps(espace_t *e, int include_withdrawn, Espace__V1__ListAppsReply **out,
                             espace_error_t *err);

/* GetApp: one app (withdrawn ones too). ES_NOT_FOUND for an unknown id. */
int espace_consent_get_app(espace_t *e, const char *app_id, Espace__V1__GetAppReply **out,
                           espace_error_t *err);

/* ---- grants and requests ---- */

/* Grant (patient): give `grantee_kind` (Espace__V1__GranteeKind) grantee_id
 * the scopes for `purpose` (Espace__V1__Purpose) from now until end_ms
 * (0 = until revoked). */
int espace_consent_grant(espace_t *e, int grantee_kind, const char *grantee_id,
                         const espace_scopes_t *scopes, int purpose, int64_t end_ms,
                         Espace__V1__GrantReply **out, espace_error_t *err);

/* ListGrants, one page: a patient's grants, or those naming the calling
 * professional or app (patient_id: only this patient's; NULL or "" = all).
 * `cursor` (espace_cursor_t, zeroed for the first page) moves to the next
 * page; loop while cursor->more. */
int espace_consent_list_grants(espace_t *e, const char *patient_id, espace_cursor_t *cursor,
                               Espace__V1__ListGrantsReply **out, espace_error_t *err);

/* RevokeGrant (patient, own grants). */
int espace_consent_revoke_grant(espace_t *e, const uint8_t grant_id[16],
                                Espace__V1__RevokeGrantReply **out, espace_error_t *err);

/* RequestAccess (professional): propose the scopes for `purpose` to the
 * patient, from now until end_ms, with a reason shown to the patient, and
 * the professional's name and profession as identity knows them (WhoAmI,
 * asked first: one more round trip). ES_ALREADY_EXISTS while a request of
 * the same professional is pending. The patient's open pages show it at
 * once (ConsentNotice on "patient.<id>.consent"). */
int espace_consent_request_access(espace_t *e, const char *patient_id,
                                  const espace_scopes_t *scopes, int purpose, int64_t end_ms,
                                  const char *reason, Espace__V1__RequestAccessReply **out,
                                  espace_error_t *err);

/* AnswerRequest (patient): accept (1) or refuse (0) a proposed grant. */
int espace_consent_answer_request(espace_t *e, const uint8_t grant_id[16], int accept,
                                  Espace__V1__AnswerRequestReply **out, espace_error_t *err);

/* DeclareEmergency (professional): bris de glace on the patient, with a
 * reason (kept with the emergency record), named as in RequestAccess. The
 * declaration is in the patient's trail; their open pages show it at once,
 * and the patient may end it (EndEmergency). */
int espace_consent_declare_emergency(espace_t *e, const char *patient_id, const char *reason,
                                     Espace__V1__DeclareEmergencyReply **out,
                                     espace_error_t *err);

/* ---- audit ---- */

/* ReadAudit (patient, own trail): entries before before_seq (0 = from the
 * newest), newest first, at most limit (0 = 50). */
int espace_consent_read_audit(espace_t *e, uint64_t before_seq, uint32_t limit,
                              Espace__V1__ReadAuditReply **out, espace_error_t *err);

/* VerifyAudit (operator): recompute the hash chains of one patient
 * (patient_id) or of all (NULL or ""). */
int espace_consent_verify_audit(espace_t *e, const char *patient_id,
                                Espace__V1__VerifyAuditReply **out, espace_error_t *err);

#endif
