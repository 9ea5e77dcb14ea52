/* identity.c - libespace, typed calls of the identity service (identity.h). */
#include "clients/lib/identity.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "clients/lib/rpc.h"
#include "proto/ids.h"
#include "proto/names.h"

_Static_assert(ESPACE_PATIENT_ID_MAX == ID_HEX, "patient id buffer of identity.h");

/* One method of the identity service (its schema's `service Identity`). */
static int s_call(espace_t *e, const char *method, const ProtobufCMessage *req,
                  ProtobufCMessage **reply, espace_error_t *err)
{
    return espace_rpc(e, SERVICE_IDENTITY, &espace__v1__identity__descriptor, method, req, reply,
                      err);
}

static int s_missing(espace_error_t *err)
{
    return espace_err_set(err, ES_INVALID_ARGUMENT, NULL, "missing argument");
}

int espace_login_pro(espace_t *e, const char *rpps, const char *password,
                     const char *device_name, espace_session_t *out, espace_error_t *err)
{
    if (!e || !rpps || !password || !out)
        return s_missing(err);
    memset(out, 0, sizeof *out);
    Espace__V1__LoginRequest req = ESPACE__V1__LOGIN_REQUEST__INIT;
    req.who_case = ESPACE__V1__LOGIN_REQUEST__WHO_RPPS;
    req.rpps = (char *)rpps;
    req.password = (char *)password;
    req.device_name = (char *)(device_name ? device_name : "device");
    ProtobufCMessage *m = NULL;
    int rc = s_call(e, "Login", &req.base, &m, err);
    if (rc < 0)
        return rc;
    Espace__V1__LoginReply *lr = (Espace__V1__LoginReply *)m;
    if (!lr->token || strlen(lr->token) >= sizeof out->token || lr->session_id.len != 16 ||
        lr->device_id.len != 16) {
        rc = espace_err_set(err, ES_INTERNAL, NULL, "malformed login reply");
        goto free_reply;
    }
    snprintf(out->token, sizeof out->token, "%s", lr->token);
    memcpy(out->session_id, lr->session_id.data, 16);
    memcpy(out->device_id, lr->device_id.data, 16);
    out->expires_ms = lr->expires_ms;
    snprintf(out->principal, sizeof out->principal, "%s",
             lr->caller && lr->caller->principal ? lr->caller->principal : rpps);
    rc = espace_resume(e, out->token, err);
    if (rc < 0)
        sodium_memzero(out, sizeof *out);
free_reply:
    if (lr->token)
        sodium_memzero(lr->token, strlen(lr->token));
    espace_free(m);
    return rc;
}

int espace_whoami(espace_t *e, espace_whoami_t *out, espace_error_t *err)
{
    if (!e || !out)
        return s_missing(err);
    memset(out, 0, sizeof *out);
    Espace__V1__WhoAmIRequest req = ESPACE__V1__WHO_AM_IREQUEST__INIT;
    ProtobufCMessage *m = NULL;
    int rc = s_call(e, "WhoAmI", &req.base, &m, err);
    if (rc < 0)
        return rc;
    Espace__V1__WhoAmIReply *w = (Espace__V1__WhoAmIReply *)m;
    if (w->caller) {
        out->kind = (int)w->caller->kind;
        snprintf(out->principal, sizeof out->principal, "%s",
                 w->caller->principal ? w->caller->principal : "");
        out->session_expires_ms = w->caller->session_expires_ms;
    }
    snprintf(out->display_name, sizeof out->display_name, "%s",
             w->display_name ? w->display_name : "");
    snprintf(out->profession, sizeof out->profession, "%s", w->profession ? w->profession : "");
    espace_free(m);
    return 0;
}

int espace_logout(espace_t *e, espace_error_t *err)
{
    Espace__V1__LogoutRequest req = ESPACE__V1__LOGOUT_REQUEST__INIT;
    int rc = s_call(e, "Logout", &req.base, NULL, err);
    if (rc == 0)
        espace_principal_set(e, "");
    return rc;
}

int espace_resolve_patient(espace_t *e, const char *ins, char patient_id[ESPACE_PATIENT_ID_MAX],
                           espace_error_t *err)
{
    if (!e || !ins || !patient_id)
        return s_missing(err);
    patient_id[0] = '\0';
    Espace__V1__ResolvePatientRequest req = ESPACE__V1__RESOLVE_PATIENT_REQUEST__INIT;
    req.ins = (char *)ins;
    ProtobufCMessage *m = NULL;
    int rc = s_call(e, "ResolvePatient", &req.base, &m, err);
    if (rc < 0)
        return rc;
    Espace__V1__ResolvePatientReply *r = (Espace__V1__ResolvePatientReply *)m;
    if (!id_hex_valid(r->patient_id))
        rc = espace_err_set(err, ES_INTERNAL, NULL, "malformed ResolvePatient reply");
    else
        memcpy(patient_id, r->patient_id, ESPACE_PATIENT_ID_MAX);
    espace_free(m);
    return rc;
}

int espace_patient_id(espace_t *e, const char *ins_or_id, char patient_id[ESPACE_PATIENT_ID_MAX],
                      espace_error_t *err)
{
    if (!ins_or_id || !patient_id)
        return s_missing(err);
    if (id_hex_valid(ins_or_id)) {
        memcpy(patient_id, ins_or_id, ESPACE_PATIENT_ID_MAX);
        return espace_err_set(err, ES_OK, NULL, NULL);
    }
    return espace_resolve_patient(e, ins_or_id, patient_id, err);
}

int espace_identity_create_professional(espace_t *e, const espace_professional_t *p,
                                        const char *password,
                                        Espace__V1__CreateProfessionalReply **out,
                                        espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !p || !password)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__CreateProfessionalRequest req = ESPACE__V1__CREATE_PROFESSIONAL_REQUEST__INIT;
    req.rpps = (char *)(p->rpps ? p->rpps : "");
    req.last_name = (char *)(p->last_name ? p->last_name : "");
    req.first_name = (char *)(p->first_name ? p->first_name : "");
    req.profession = (char *)(p->profession ? p->profession : "");
    req.password = (char *)password;
    int rc = s_call(e, "CreateProfessional", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_identity_sign_up_patient(espace_t *e, const Espace__V1__SignUpPatientRequest *req,
                                    Espace__V1__SignUpPatientReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !req)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    int rc = s_call(e, "SignUpPatient", &req->base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_identity_issue_activation_code(espace_t *e, const char *ins,
                                          char code[ESPACE_ACTIVATION_CODE_MAX],
                                          espace_error_t *err)
{
    if (!e || !ins || !code)
        return s_missing(err);
    Espace__V1__IssueActivationCodeRequest req = ESPACE__V1__ISSUE_ACTIVATION_CODE_REQUEST__INIT;
    req.ins = (char *)ins;
    ProtobufCMessage *m = NULL;
    int rc = s_call(e, "IssueActivationCode", &req.base, &m, err);
    if (rc == 0) {
        const Espace__V1__IssueActivationCodeReply *r =
            (const Espace__V1__IssueActivationCodeReply *)m;
        if (!r->code || strlen(r->code) >= ESPACE_ACTIVATION_CODE_MAX)
            rc = espace_err_set(err, ES_INTERNAL, NULL, "malformed activation code");
        else
            snprintf(code, ESPACE_ACTIVATION_CODE_MAX, "%s", r->code);
    }
    espace_free(m);
    return rc;
}

int espace_identity_activate_account(espace_t *e, const char *ins, const char *code,
                                     const char *password,
                                     char patient_id[ESPACE_PATIENT_ID_MAX], espace_error_t *err)
{
    if (!e || !ins || !code || !password || !patient_id)
        return s_missing(err);
    Espace__V1__ActivateAccountRequest req = ESPACE__V1__ACTIVATE_ACCOUNT_REQUEST__INIT;
    req.ins = (char *)ins;
    req.code = (char *)code;
    req.password = (char *)password;
    ProtobufCMessage *m = NULL;
    int rc = s_call(e, "ActivateAccount", &req.base, &m, err);
    if (rc == 0) {
        const Espace__V1__ActivateAccountReply *r = (const Espace__V1__ActivateAccountReply *)m;
        if (!r->patient_id || strlen(r->patient_id) >= ESPACE_PATIENT_ID_MAX)
            rc = espace_err_set(err, ES_INTERNAL, NULL, "malformed patient id");
        else
            snprintf(patient_id, ESPACE_PATIENT_ID_MAX, "%s", r->patient_id);
    }
    espace_free(m);
    return rc;
}
