/*
 * identity.h - libespace, typed calls of the identity service (part of the
 * manual espace.h; schema: proto/espace/v1/identity.proto, service Identity).
 * Errors and memory as in conn.h.
 */
#ifndef ESPACE_LIB_IDENTITY_H
#define ESPACE_LIB_IDENTITY_H

#include "clients/lib/conn.h"
#include "espace/v1/identity.pb-c.h"

#define ESPACE_PATIENT_ID_MAX 33 /* patient id (32 hex) incl. NUL (ID_HEX) */

/* A session, as returned by espace_login_pro. */
typedef struct espace_session {
    char token[ESPACE_TOKEN_MAX]; /* SECRET: resume with espace_resume */
    uint8_t session_id[16];       /* session id */
    uint8_t device_id[16];        /* device the session belongs to */
    int64_t expires_ms;           /* expiry, ms since the epoch */
    char principal[ESPACE_PRINCIPAL_MAX]; /* RPPS of the professional */
} espace_session_t;

/* Who the connection acts for (espace_whoami). */
typedef struct espace_whoami {
    int kind;                   /* espace.v1.PrincipalKind value */
    char principal[ESPACE_PRINCIPAL_MAX]; /* RPPS for a professional */
    char display_name[256];     /* "First Last" */
    char profession[128];       /* professionals only, else "" */
    int64_t session_expires_ms; /* 0 if none */
} espace_whoami_t;

/* A professional's account, for espace_identity_create_professional.
 * Strings borrowed during the call. */
typedef struct espace_professional {
    const char *rpps;       /* 11 digits */
    const char *last_name;
    const char *first_name;
    const char *profession; /* "Médecin", "Infirmière", ... */
} espace_professional_t;

/* Login: log a professional in with the RPPS and password (the password is
 * not kept), creating a new device labelled device_name (NULL = "device"),
 * then bind the session to this connection (AUTH), so every later call runs
 * as the professional. On success *out holds the token to keep for
 * espace_resume. ES_UNAUTHENTICATED for a bad RPPS or password. */
int espace_login_pro(espace_t *e, const char *rpps, const char *password,
                     const char *device_name, espace_session_t *out, espace_error_t *err);

/* WhoAmI: who this connection acts for (needs a session). */
int espace_whoami(espace_t *e, espace_whoami_t *out, espace_error_t *err);

/* Logout: end the session bound to this connection (published as
 * identity.session.revoked; the token stops working everywhere). */
int espace_logout(espace_t *e, espace_error_t *err);

/* ResolvePatient: the patient id (32 hex) of a matricule INS (15
 * characters, spaces ignored), into patient_id[ESPACE_PATIENT_ID_MAX].
 * Needs a professional's session. ES_INVALID_ARGUMENT (field "ins") for a
 * malformed INS, ES_NOT_FOUND when no patient has this INS. Knowing the id
 * gives no access: each service still asks consent. */
int espace_resolve_patient(espace_t *e, const char *ins, char patient_id[ESPACE_PATIENT_ID_MAX],
                           espace_error_t *err);

/* A patient given on a command line or a form: a patient id (32 lower-case
 * hex) is taken as is; anything else is an INS, resolved as above. */
int espace_patient_id(espace_t *e, const char *ins_or_id, char patient_id[ESPACE_PATIENT_ID_MAX],
                      espace_error_t *err);

/* CreateProfessional (the operator only: open with as_kind
 * PRINCIPAL_OPERATOR over ipc): a professional's account with this password
 * (12..256 characters, not kept). ES_INVALID_ARGUMENT with the field at
 * fault, ES_ALREADY_EXISTS for a known RPPS. *out (may be NULL): the reply,
 * free with espace_free. */
int espace_identity_create_professional(espace_t *e, const espace_professional_t *p,
                                        const char *password,
                                        Espace__V1__CreateProfessionalReply **out,
                                        espace_error_t *err);

/* SignUpPatient: a pending patient account (`req`: INS, birth names, first
 * names, birth date, sex, password; see identity.proto), activated later with
 * identity ActivateAccount. The same answer whether the INS has an account;
 * ES_INVALID_ARGUMENT with the field at fault. *out (may be NULL): the reply
 * (empty), free with espace_free. */
int espace_identity_sign_up_patient(espace_t *e, const Espace__V1__SignUpPatientRequest *req,
                                    Espace__V1__SignUpPatientReply **out, espace_error_t *err);

/* IssueActivationCode (the local operator only): a fresh one-time code for
 * the pending account of `ins`, to hand to its owner out of band. The code
 * (10 digits) into code[ESPACE_ACTIVATION_CODE_MAX]. ES_NOT_FOUND when the
 * INS has no pending account. */
#define ESPACE_ACTIVATION_CODE_MAX 16
int espace_identity_issue_activation_code(espace_t *e, const char *ins,
                                          char code[ESPACE_ACTIVATION_CODE_MAX],
                                          espace_error_t *err);

/* ActivateAccount: activate the pending account of `ins` with its code and
 * the sign-up's password; the patient id (32 hex) into patient_id. Every
 * refusal is the same "invalid activation code". */
int espace_identity_activate_account(espace_t *e, const char *ins, const char *code,
                                     const char *password,
                                     char patient_id[ESPACE_PATIENT_ID_MAX], espace_error_t *err);

#endif
