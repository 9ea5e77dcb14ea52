/*
 * consent.c - the consent service: method table, start-up and the
 * validation helpers the other modules share (consent_int.h).
 */
#include "services/consent/consent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "runtime/record.h"
#include "services/consent/consent_int.h"
#include "process/log.h"
#include "proto/status.h"

/* ---- ids and strings ---- */

/* 1 if s has min..max characters, each a lower-case letter, a digit, '.',
 * '_' or '-', or (upper) an upper-case letter. */
static int s_token_valid(const char *s, size_t min, size_t max, int upper)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (upper && ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

int consent_code_valid(const char *s)
{
    return s_token_valid(s, 1, CONSENT_MAX_CODE, 1);
}

int consent_app_id_valid(const char *s)
{
    return s_token_valid(s, 3, CONSENT_MAX_GRANTEE, 0);
}

long consent_utf8_chars(const char *s)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    if (!codec_utf8_valid(s, n))
        return -1;
    long chars = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            chars++;
    return chars;
}

/* ---- callers ---- */

int consent_caller_patient(svc_call_t *c, uint8_t pid[ID_BYTES])
{
    const Espace__V1__Caller *who = svc_caller(c);
    if (who->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT ||
        id_parse(who->principal, pid) != 0)
        return svc_fail(c, ES_PERMISSION_DENIED, NULL, "patients only");
    return ES_OK;
}

int consent_caller_pro(svc_call_t *c, const char **rpps)
{
    const Espace__V1__Caller *who = svc_caller(c);
    if (who->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL ||
        rpps_validate(who->principal) != 0)
        return svc_fail(c, ES_PERMISSION_DENIED, NULL, "professionals only");
    *rpps = who->principal;
    return ES_OK;
}

int consent_patient_id_check(svc_call_t *c, const char *text, uint8_t pid[ID_BYTES])
{
    if (id_parse(text, pid) != 0)
        return svc_fail(c, ES_INVALID_ARGUMENT, "patient_id", "32 hex characters");
    return ES_OK;
}

int consent_pro_on_patient(svc_call_t *c, store_txn_t *t, const char *patient_id,
                           const char **rpps, uint8_t pid[ID_BYTES])
{
    int rc = consent_caller_pro(c, rpps);
    if (rc == 0)
        rc = consent_patient_id_check(c, patient_id, pid);
    return rc != 0 ? rc : consent_patient_require(c, t, pid);
}

/* ---- scopes, periods, purposes ---- */

int consent_purpose_valid(int p)
{
    return p >= ESPACE__V1__PURPOSE__PURPOSE_PREVENTION &&
           p <= ESPACE__V1__PURPOSE__PURPOSE_SUIVI_SOCIAL_MEDICOSOCIAL;
}

int consent_scopes_check(svc_call_t *c, const char *prefix, Espace__V1__Scope *const *scopes,
                         size_t n)
{
    char f[96];
    if (n == 0)
        return svc_fail(c, ES_INVALID_ARGUMENT, prefix, "at least one scope is required");
    if (n > CONSENT_MAX_SCOPES)
        return svc_fail(c, ES_TOO_LARGE, prefix, "at most %d scopes", CONSENT_MAX_SCOPES);
    for (size_t i = 0; i < n; i++) {
        const Espace__V1__Scope *s = scopes[i];
        int cat = s->category, act = s->action;
        if (cat < ESPACE__V1__CATEGORY__CATEGORY_AGENDA ||
            cat > ESPACE__V1__CATEGORY__CATEGORY_MESSAGING) {
            snprintf(f, sizeof f, "%s[%zu].category", prefix, i);
            return svc_fail(c, ES_INVALID_ARGUMENT, f, "unknown category");
        }
        if (act != ESPACE__V1__ACTION__ACTION_READ && act != ESPACE__V1__ACTION__ACTION_WRITE) {
            snprintf(f, sizeof f, "%s[%zu].action", prefix, i);
            return svc_fail(c, ES_INVALID_ARGUMENT, f, "unknown action");
        }
        snprintf(f, sizeof f, "%s[%zu].codes", prefix, i);
        if (s->n_codes > 0 && cat != ESPACE__V1__CATEGORY__CATEGORY_DOCUMENTS &&
            cat != ESPACE__V1__CATEGORY__CATEGORY_MEASURES)
            return svc_fail(c, ES_INVALID_ARGUMENT, f,
                            "codes narrow only documents and measures");
        if (s->n_codes > CONSENT_MAX_CODES)
            return svc_fail(c, ES_TOO_LARGE, f, "at most %d codes", CONSENT_MAX_CODES);
        for (size_t k = 0; k < s->n_codes; k++) {
            if (!consent_code_valid(s->codes[k])) {
                snprintf(f, sizeof f, "%s[%zu].codes[%zu]", prefix, i, k);
                return svc_fail(c, ES_INVALID_ARGUMENT, f, "malformed code");
            }
            for (size_t j = 0; j < k; j++) {
                if (strcmp(s->codes[j], s->codes[k]) == 0) {
                    snprintf(f, sizeof f, "%s[%zu].codes[%zu]", prefix, i, k);
                    return svc_fail(c, ES_INVALID_ARGUMENT, f, "duplicate code");
                }
            }
        }
        for (size_t j = 0; j < i; j++) {
            if ((int)scopes[j]->category == cat && (int)scopes[j]->action == act) {
                snprintf(f, sizeof f, "%s[%zu]", prefix, i);
                return svc_fail(c, ES_INVALID_ARGUMENT, f, "duplicate category and action");
            }
        }
    }
    return ES_OK;
}

int consent_period_check(svc_call_t *c, const char *field, const Espace__V1__Period *p,
                         int64_t *start, int64_t *end)
{
    int64_t now = svc_now_ms(c);
    int64_t s = p ? p->start_ms : 0, e = p ? p->end_ms : 0;
    char f[64];
    if (s < 0) {
        snprintf(f, sizeof f, "%s.start_ms", field);
        return svc_fail(c, ES_INVALID_ARGUMENT, f, "negative start");
    }
    if (s == 0)
        s = now;
    if (e != 0) {
        snprintf(f, sizeof f, "%s.end_ms", field);
        if (e <= s)
            return svc_fail(c, ES_INVALID_ARGUMENT, f, "period ends before it starts");
        if (e <= now)
            return svc_fail(c, ES_INVALID_ARGUMENT, f, "period already over");
    }
    *start = s;
    *end = e;
    return ES_OK;
}

/* ---- storage ---- */

int consent_load(store_txn_t *t, const char *table, const void *key, size_t klen,
                 const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out)
{
    return record_load(t, CONSENT_SERVICE, table, key, klen, desc, out);
}

int consent_save(store_txn_t *t, const char *table, const void *key, size_t klen,
                 const ProtobufCMessage *msg)
{
    return record_save(t, table, key, klen, msg);
}

/* ---- the service ---- */

static const char *s_tables[] = {CONSENT_T_APPS,      CONSENT_T_GRANTS,     CONSENT_T_BY_PATIENT,
                                 CONSENT_T_BY_GRANTEE, CONSENT_T_EMERGENCY, CONSENT_T_AUDIT,
                                 CONSENT_T_AUDIT_HEAD, CONSENT_T_PATIENTS, NULL};

#define M(n, d, h, f) {n, &espace__v1__##d##__descriptor, h, f}
static const svc_method_t s_methods[] = {
    M("AddApp", add_app_request, consent_add_app, SVC_OPERATOR | SVC_WRITE),
    M("WithdrawApp", withdraw_app_request, consent_withdraw_app, SVC_OPERATOR | SVC_WRITE),
    M("ListApps", list_apps_request, consent_list_apps, 0),
    M("GetApp", get_app_request, consent_get_app, 0),
    M("Grant", grant_request, consent_grant, SVC_WRITE),
    M("ListGrants", list_grants_request, consent_list_grants, 0),
    M("RevokeGrant", revoke_grant_request, consent_revoke_grant, SVC_WRITE),
    M("RequestAccess", request_access_request, consent_request_access, SVC_WRITE),
    M("AnswerRequest", answer_request_request, consent_answer_request, SVC_WRITE),
    /* Public for the runtime: services reaching the broker over tcp are
     * anonymous callers of role PEER_SERVICE; the handler checks. */
    M("Decide", decide_request, consent_decide, SVC_PUBLIC | SVC_WRITE),
    M("DeclareEmergency", declare_emergency_request, consent_declare_emergency, SVC_WRITE),
    M("ReadAudit", read_audit_request, consent_read_audit, 0),
    M("VerifyAudit", verify_audit_request, consent_verify_audit, SVC_OPERATOR),
    M("ExportGrantFhir", export_grant_fhir_request, consent_export_grant_fhir, 0),
    M("ExportAuditFhir", export_audit_fhir_request, consent_export_audit_fhir, 0),
    /* Services only, public for the same reason as Decide. */
    M("HoldsGrant", holds_grant_request, consent_holds_grant, SVC_PUBLIC),
    M("RegisterPatient", register_patient_request, consent_register_patient,
      SVC_PUBLIC | SVC_WRITE),
    M("RecordResolution", record_resolution_request, consent_record_resolution,
      SVC_PUBLIC | SVC_WRITE),
    M("ListEmergencies", list_emergencies_request, consent_list_emergencies, 0),
    M("EndEmergency", end_emergency_request, consent_end_emergency, SVC_WRITE),
};
#undef M

static int s_init(const svc_env_t *env, void **state)
{
    (void)env;
    consent_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return ES_RESOURCE_EXHAUSTED;
    st->emergency_ms = CONSENT_EMERGENCY_MS;
    const char *ov = getenv(CONSENT_EMERGENCY_ENV);
    if (ov && ov[0]) {
        char *end = NULL;
        long long v = strtoll(ov, &end, 10);
        if (end && *end == '\0' && v >= 1 && v <= CONSENT_EMERGENCY_MS) {
            st->emergency_ms = v;
            log_warn(CONSENT_SERVICE, "emergency.override", "ms=%lld test_only=1", v);
        } else {
            log_warn(CONSENT_SERVICE, "emergency.override.ignored", "reason=out_of_range");
        }
    }
    *state = st;
    return ES_OK;
}

static void s_fini(void *state)
{
    free(state);
}

const svc_def_t consent_service = {
    .name = CONSENT_SERVICE,
    .tables = s_tables,
    .methods = s_methods,
    .n_methods = sizeof s_methods / sizeof s_methods[0],
    .api = &espace__v1__consent__descriptor,
    .init = s_init,
    .fini = s_fini,
};
