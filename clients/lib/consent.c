/* consent.c - libespace, typed calls of the consent service and its
 * vocabulary as text (consent.h). */
#include "clients/lib/consent.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clients/lib/identity.h"
#include "clients/lib/rpc.h"
#include "proto/names.h"

_Static_assert(ESPACE_LABEL_MAX == ENUM_LABEL_MAX, "label buffer of consent.h");

/* ---- vocabulary as text ---- */

/* Value > 0 of `label` in enum d, or ES_INVALID_ARGUMENT. */
static int s_parse(const ProtobufCEnumDescriptor *d, const char *label)
{
    int v = 0;
    if (enum_parse(d, label, &v) < 0 || v <= 0)
        return ES_INVALID_ARGUMENT;
    return v;
}

int espace_purpose_parse(const char *name)
{
    return s_parse(&espace__v1__purpose__descriptor, name);
}

const char *espace_purpose_label(int purpose, char out[ESPACE_LABEL_MAX])
{
    const char *l = enum_label(&espace__v1__purpose__descriptor, purpose, out, ESPACE_LABEL_MAX);
    if (l != out)
        return l;
    for (char *p = out; *p; p++)
        if (*p == '-')
            *p = '_';
    return out;
}

static int s_why(char *why, size_t whylen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int s_why(char *why, size_t whylen, int rc, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* The codes "C1+C2..." of scope number k (from 0) into out->codes[k]. */
static int s_codes(espace_scopes_t *out, size_t k, char *codes, char *why, size_t whylen)
{
    Espace__V1__Scope *sc = &out->scope[k];
    char **list = out->codes[k];
    char *cs = NULL;
    if (!*codes || codes[strlen(codes) - 1] == '+' || *codes == '+' || strstr(codes, "++"))
        return s_why(why, whylen, ES_INVALID_ARGUMENT, "scope %zu: empty code", k + 1);
    for (char *c = strtok_r(codes, "+", &cs); c; c = strtok_r(NULL, "+", &cs)) {
        if (sc->n_codes >= ESPACE_SCOPE_CODES_MAX)
            return s_why(why, whylen, ES_INVALID_ARGUMENT, "scope %zu: more than %d codes", k + 1,
                         ESPACE_SCOPE_CODES_MAX);
        list[sc->n_codes++] = c;
    }
    sc->codes = list;
    return 0;
}

int espace_scopes_parse(const char *text, espace_scopes_t *out, char *why, size_t whylen)
{
    if (!text || !out)
        return s_why(why, whylen, ES_INVALID_ARGUMENT, "no scopes");
    memset(out, 0, sizeof *out);
    size_t len = strlen(text);
    if (len >= sizeof out->text)
        return s_why(why, whylen, ES_TOO_LARGE, "scope list longer than %d chars",
                     ESPACE_SCOPES_TEXT_MAX - 1);
    memcpy(out->text, text, len + 1);
    char *save = NULL;
    for (char *item = strtok_r(out->text, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        size_t k = out->n;
        if (k >= ESPACE_SCOPES_MAX)
            return s_why(why, whylen, ES_INVALID_ARGUMENT, "more than %d scopes",
                         ESPACE_SCOPES_MAX);
        Espace__V1__Scope *sc = &out->scope[k];
        espace__v1__scope__init(sc);
        char *action = strchr(item, ':');
        if (!action)
            return s_why(why, whylen, ES_INVALID_ARGUMENT,
                         "scope %zu: expected CATEGORY:ACTION", k + 1);
        *action++ = '\0';
        char *codes = strchr(action, ':');
        if (codes)
            *codes++ = '\0';
        int cat = s_parse(&espace__v1__category__descriptor, item);
        if (cat < 0)
            return s_why(why, whylen, ES_INVALID_ARGUMENT,
                         "scope %zu: unknown category '%.32s' (agenda, documents, measures, "
                         "messaging)",
                         k + 1, item);
        int act = s_parse(&espace__v1__action__descriptor, action);
        if (act < 0)
            return s_why(why, whylen, ES_INVALID_ARGUMENT,
                         "scope %zu: unknown action '%.32s' (read, write)", k + 1, action);
        sc->category = (Espace__V1__Category)cat;
        sc->action = (Espace__V1__Action)act;
        if (codes) {
            int rc = s_codes(out, k, codes, why, whylen);
            if (rc < 0)
                return rc;
        }
        out->list[k] = sc;
        out->n++;
    }
    if (out->n == 0)
        return s_why(why, whylen, ES_INVALID_ARGUMENT, "no scopes");
    return 0;
}

int espace_scopes_format(Espace__V1__Scope *const *scopes, size_t n, char *out, size_t len)
{
    size_t used = 0;
    if (!out || len == 0)
        return ES_TOO_LARGE;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const Espace__V1__Scope *sc = scopes[i];
        char cat[ENUM_LABEL_MAX], act[ENUM_LABEL_MAX];
        int w = snprintf(out + used, len - used, "%s%s:%s", i ? "," : "",
                         enum_label(&espace__v1__category__descriptor, (int)sc->category, cat,
                                    sizeof cat),
                         enum_label(&espace__v1__action__descriptor, (int)sc->action, act,
                                    sizeof act));
        if (w < 0 || (size_t)w >= len - used)
            return ES_TOO_LARGE;
        used += (size_t)w;
        for (size_t k = 0; k < sc->n_codes; k++) {
            w = snprintf(out + used, len - used, "%c%s", k ? '+' : ':',
                         sc->codes[k] ? sc->codes[k] : "");
            if (w < 0 || (size_t)w >= len - used)
                return ES_TOO_LARGE;
            used += (size_t)w;
        }
    }
    return 0;
}

/* ---- calls ---- */

/* One method of the consent service (its schema's `service Consent`). */
static int s_call(espace_t *e, const char *method, const ProtobufCMessage *req,
                  ProtobufCMessage **reply, espace_error_t *err)
{
    return espace_rpc(e, SERVICE_CONSENT, &espace__v1__consent__descriptor, method, req, reply,
                      err);
}

static int s_missing(espace_error_t *err)
{
    return espace_err_set(err, ES_INVALID_ARGUMENT, NULL, "missing argument");
}


int espace_consent_add_app(espace_t *e, const Espace__V1__App *app, Espace__V1__AddAppReply **out,
                           espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !app)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__AddAppRequest req = ESPACE__V1__ADD_APP_REQUEST__INIT;
    req.app = (Espace__V1__App *)app;
    int rc = s_call(e, "AddApp", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_consent_withdraw_app(espace_t *e, const char *app_id,
                                Espace__V1__WithdrawAppReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !app_id)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__WithdrawAppRequest req = ESPACE__V1__WITHDRAW_APP_REQUEST__INIT;
    req.app_id = (char *)app_id;
    int rc = s_call(e, "WithdrawApp", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_consent_list_apps(espace_t *e, int include_withdrawn, Espace__V1__ListAppsReply **out,
                             espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__ListAppsRequest req = ESPACE__V1__LIST_APPS_REQUEST__INIT;
    req.include_withdrawn = include_withdrawn ? 1 : 0;
    int rc = s_call(e, "ListApps", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_consent_get_app(espace_t *e, const char *app_id, Espace__V1__GetAppReply **out,
                           espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !app_id)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__GetAppRequest req = ESPACE__V1__GET_APP_REQUEST__INIT;
    req.app_id = (char *)app_id;
    int rc = s_call(e, "GetApp", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_consent_grant(espace_t *e, int grantee_kind, const char *grantee_id,
                         const espace_scopes_t *scopes, int purpose, int64_t end_ms,
                         Espace__V1__GrantReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !grantee_id || !scopes)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__Period period = ESPACE__V1__PERIOD__INIT;
    period.end_ms = end_ms;
    Espace__V1__GrantRequest req = ESPACE__V1__GRANT_REQUEST__INIT;
    req.grantee_kind = (Espace__V1__GranteeKind)grantee_kind;
    req.grantee_id = (char *)grantee_id;
    req.scopes = (Espace__V1__Scope **)scopes->list;
    req.n_scopes = scopes->n;
    req.purpose = (Espace__V1__Purpose)purpose;
    req.period = &period;
    int rc = s_call(e, "Grant", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_consent_list_grants(espace_t *e, const char *patient_id, espace_cursor_t *cursor,
                               Espace__V1__ListGrantsReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !cursor)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__ListGrantsRequest req = ESPACE__V1__LIST_GRANTS_REQUEST__INIT;
    req.patient_id = (char *)(patient_id ? patient_id : "");
    req.cursor.data = cursor->data;
    req.cursor.len = cursor->len;
    int rc = s_call(e, "ListGrants", &req.base, &m, err);
    if (rc == 0)
        espace_cursor_advance(cursor, &((Espace__V1__ListGrantsReply *)m)->next_cursor);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_consent_revoke_grant(espace_t *e, const uint8_t grant_id[16],
                                Espace__V1__RevokeGrantReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !grant_id)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__RevokeGrantRequest req = ESPACE__V1__REVOKE_GRANT_REQUEST__INIT;
    req.grant_id.data = (uint8_t *)grant_id;
    req.grant_id.len = 16;
    int rc = s_call(e, "RevokeGrant", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

/* Cut s to at most `chars` UTF-8 characters (at a character boundary). */
static void s_cut_chars(char *s, size_t chars)
{
    size_t seen = 0;
    for (char *p = s; *p; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80 && seen++ == chars) {
            *p = '\0';
            return;
        }
    }
}

/* The caller's name and profession as identity knows them (WhoAmI), cut to
 * what consent keeps (consent.proto: 100 characters), for the patient to
 * see who asks. Best effort: left empty if WhoAmI fails (the request itself
 * then says what is wrong). */
static void s_me(espace_t *e, espace_whoami_t *me)
{
    espace_error_t ignored;
    if (espace_whoami(e, me, &ignored) < 0) {
        memset(me, 0, sizeof *me);
        return;
    }
    s_cut_chars(me->display_name, ESPACE_CONSENT_LABEL_MAX);
    s_cut_chars(me->profession, ESPACE_CONSENT_LABEL_MAX);
}

int espace_consent_request_access(espace_t *e, const char *patient_id,
                                  const espace_scopes_t *scopes, int purpose, int64_t end_ms,
                                  const char *reason, Espace__V1__RequestAccessReply **out,
                                  espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !patient_id || !scopes)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__Period period = ESPACE__V1__PERIOD__INIT;
    period.end_ms = end_ms; /* from now */
    Espace__V1__RequestAccessRequest req = ESPACE__V1__REQUEST_ACCESS_REQUEST__INIT;
    req.patient_id = (char *)patient_id;
    req.scopes = (Espace__V1__Scope **)scopes->list;
    req.n_scopes = scopes->n;
    req.purpose = (Espace__V1__Purpose)purpose;
    req.period = &period;
    req.reason = (char *)(reason ? reason : "");
    espace_whoami_t me;
    s_me(e, &me);
    req.display_name = me.display_name;
    req.profession = me.profession;
    int rc = s_call(e, "RequestAccess", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_consent_answer_request(espace_t *e, const uint8_t grant_id[16], int accept,
                                  Espace__V1__AnswerRequestReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !grant_id)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__AnswerRequestRequest req = ESPACE__V1__ANSWER_REQUEST_REQUEST__INIT;
    req.grant_id.data = (uint8_t *)grant_id;
    req.grant_id.len = 16;
    req.accept = accept ? 1 : 0;
    int rc = s_call(e, "AnswerRequest", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_consent_declare_emergency(espace_t *e, const char *patient_id, const char *reason,
                                     Espace__V1__DeclareEmergencyReply **out,
                                     espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !patient_id || !reason)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__DeclareEmergencyRequest req = ESPACE__V1__DECLARE_EMERGENCY_REQUEST__INIT;
    req.patient_id = (char *)patient_id;
    req.reason = (char *)reason;
    espace_whoami_t me;
    s_me(e, &me);
    req.display_name = me.display_name;
    req.profession = me.profession;
    int rc = s_call(e, "DeclareEmergency", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_consent_read_audit(espace_t *e, uint64_t before_seq, uint32_t limit,
                              Espace__V1__ReadAuditReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__ReadAuditRequest req = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    req.before_seq = before_seq;
    req.limit = limit;
    int rc = s_call(e, "ReadAudit", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_consent_verify_audit(espace_t *e, const char *patient_id,
                                Espace__V1__VerifyAuditReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__VerifyAuditRequest req = ESPACE__V1__VERIFY_AUDIT_REQUEST__INIT;
    req.patient_id = (char *)(patient_id ? patient_id : "");
    int rc = s_call(e, "VerifyAudit", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}
