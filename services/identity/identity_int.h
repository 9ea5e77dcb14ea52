/*
 * identity_int.h - what the modules of the identity service share (not for
 * other services: they use the bus). Tests include it for the pure parts.
 *
 * Modules:
 *   identity.c   method table, start-up (signing key, dummy hash), shutdown
 *   validate.c   request validation, pure: INS (proto/ins.h), RPPS
 *                (proto/rpps.h), ids (proto/ids.h), names, birth dates,
 *                passwords, device names and keys, lengths, UTF-8
 *   db.c         store layout: records, owner indexes, accounts, the keyed
 *                hash of an INS, whether a session is active
 *   accounts.c   SignUpPatient, CreateProfessional, ResolvePatient
 *   activation.c ActivateAccount, IssueActivationCode
 *   limits.c     the Argon2id budget, the caller's deadline,
 *                the log-in throttle, the rate of ResolvePatient
 *   throttle.c   token buckets in a bounded table (throttle.h)
 *   sessions.c   Login, Authenticate, WhoAmI, Logout, ListSessions,
 *                RevokeSession; the session check every non-public method
 *                runs first; the lock schedule
 *   devices.c    RegisterDeviceKeys, ListDevices, RevokeDevice,
 *                GetDeviceKeys; the device a login runs on
 *   password.c   Argon2id hashes (password.h)
 *   token.c      Ed25519 session tokens, signed and checked by identity
 *                alone (token.h)
 *
 * Key layouts (ids raw ID_BYTES = 16 bytes; records in
 * proto/espace/v1/identity_records.proto):
 *   patients        patient id (16)                        -> StoredPatient
 *   patient_by_ins  store_keyed_hash("ins", INS) (32)      -> StoredPatientRef
 *   activations     store_keyed_hash("ins", INS) (32)      -> StoredActivation
 *   pros            RPPS (11 ASCII digits)                 -> StoredPro
 *   sessions        session id (16)                        -> StoredSession
 *   devices         device id (16)                         -> StoredDevice
 *   owner_sessions  owner key | session id (16)            -> StoredIndexEntry
 *   owner_devices   owner key | device id (16)             -> StoredIndexEntry
 * where owner key = kind (1 byte, PrincipalKind) | principal length (1 byte)
 * | principal (patient id hex or RPPS). No key holds an INS or a name: the
 * INS is found only through its keyed hash; a patient id is a random id and
 * an RPPS is public.
 *
 * Errors: 0 or a negative es_status (proto/status.h). Handlers answer with
 * svc_reply or svc_fail (runtime/service.h) and return what svc_fail gives.
 *
 * THREAD SAFETY: everything runs on the service thread; validate.c is pure
 * and thread-safe.
 */
#ifndef ES_IDENTITY_INT_H
#define ES_IDENTITY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "espace/v1/common.pb-c.h"
#include "espace/v1/identity.pb-c.h"
#include "espace/v1/identity_records.pb-c.h"
#include "proto/ids.h"
#include "proto/ins.h"
#include "services/identity/identity.h"
#include "services/identity/password.h"
#include "services/identity/throttle.h"
#include "services/identity/token.h"
#include "storage/store.h"

#define IDENTITY_T_PATIENTS "patients"
#define IDENTITY_T_BY_INS "patient_by_ins"
#define IDENTITY_T_PROS "pros"
#define IDENTITY_T_SESSIONS "sessions"
#define IDENTITY_T_DEVICES "devices"
#define IDENTITY_T_OWNER_SESSIONS "owner_sessions"
#define IDENTITY_T_OWNER_DEVICES "owner_devices"
#define IDENTITY_T_ACTIVATIONS "activations"

#define IDENTITY_OWNER_MAX (2 + TOKEN_MAX_PRINCIPAL) /* kind | len | principal */
#define IDENTITY_LOG "identity"                      /* log component */
#define IDENTITY_PATIENT ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT
#define IDENTITY_PRO ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL

/* The service's state (svc_def_t.init). */
typedef struct identity_state {
    store_t *store;                               /* borrowed from the runtime */
    uint8_t public_key[TOKEN_PUBLIC_BYTES];
    uint8_t secret_key[TOKEN_SECRET_BYTES];       /* wiped in fini */
    char dummy_hash[PASSWORD_HASH_MAX];           /* verified for unknown accounts */
    throttle_t *throttle;                         /* log-in and ResolvePatient buckets */
    struct identity_pwhash_pool {
        int64_t budget_us; /* Argon2id time it may spend now (< 0: a debt) */
        int64_t at;        /* monotonic us of the last refill, 0 = never */
    } pwhash[2];           /* per IDENTITY_POOL_* */
} identity_state_t;
typedef struct identity_pwhash_pool identity_pwhash_pool_t;

/* The Argon2id pools (identity.h "Argon2id budget"). */
#define IDENTITY_POOL_OTHER 0 /* sign-ups, activations, log-ins from unknown sources */
#define IDENTITY_POOL_KNOWN 1 /* log-ins from a device the account knows */

/* ---- accounts.c ---- */

/* Tell consent that active patient `patient_id` exists (RegisterPatient,
 * docs/consent.md "Known patients"), after the call's commit and without
 * holding its reply: best effort, a failure is logged. On a successful
 * activation and on each patient log-in (which also registers the patients
 * of older deployments, or those activated while consent was down). */
void identity_consent_register(svc_call_t *call, const char *patient_id);

/* ---- validate.c: request validation (pure) ----
 * Each check returns 0, or the negative status with err filled (status,
 * field, English message) for identity_fail. Strings may be NULL (refused).
 */

typedef struct identity_err {
    int status;      /* negative es_status */
    char field[48];  /* e.g. "first_names[2]", "device_keys.sign_public" */
    char msg[96];
} identity_err_t;

/* 1 if s is valid UTF-8 of min..max code points with no control character
 * (C0, DEL, C1), else 0. */
int identity_text_valid(const char *s, size_t min, size_t max);
/* 1 if s is a text of 1..max code points holding something besides spaces. */
int identity_name_valid(const char *s, size_t max);
/* 1 if s is a real date YYYY-MM-DD from IDENTITY_BIRTH_DATE_MIN to today
 * (UTC of now_ms). */
int identity_birth_date_valid(const char *s, int64_t now_ms);

/* The birth date (a valid YYYY-MM-DD) and sex agree with the digits of a
 * normalised INS: digit 1 the sex (1 male, 2 female), digits 2-3 the year's
 * last two digits, digits 4-5 the month when they are 01..12 (other values
 * stand for an unknown month and are not compared). 0, or
 * ES_INVALID_ARGUMENT with err on "sex" or "birth_date". */
int identity_ins_traits_check(const char ins[INS_LEN + 1], const char *birth_date, int sex,
                              identity_err_t *err);
/* SignUpPatient: ins (normalised into ins, wiped on failure), birth_names,
 * first_names (count, then each: "first_names[i]"), birth_date, password
 * (IDENTITY_PASSWORD_MIN..MAX), sex (male or female), then
 * identity_ins_traits_check. The caller wipes ins. */
int identity_sign_up_check(const Espace__V1__SignUpPatientRequest *req, int64_t now_ms,
                           char ins[INS_LEN + 1], identity_err_t *err);
/* CreateProfessional: rpps, last_name, first_name, profession, password. */
int identity_create_pro_check(const Espace__V1__CreateProfessionalRequest *req,
                              identity_err_t *err);
/* Login: ins or rpps (the account's id into id, wiped on failure: the
 * normalised INS or the RPPS; *kind IDENTITY_PATIENT / IDENTITY_PRO),
 * password (1..4 * IDENTITY_PASSWORD_MAX bytes: the rules of the day it was
 * set do not apply), device_id (empty or 16 bytes), device_name (empty or
 * 1..IDENTITY_DEVICE_NAME_MAX), device_keys (identity_keys_check with
 * "device_keys"). The caller wipes id. */
int identity_login_check(const Espace__V1__LoginRequest *req, int *kind,
                         char id[INS_LEN + 1], identity_err_t *err);
/* Device keys from a client under `field` ("keys", "device_keys"): present,
 * sign_public a valid Ed25519 point of 32 bytes ("<field>.sign_public"),
 * dh_public 32 bytes, not all zero ("<field>.dh_public"). */
int identity_keys_check(const Espace__V1__DeviceKeys *k, const char *field,
                        identity_err_t *err);
/* ActivateAccount: ins, code (IDENTITY_ACTIVATION_CODE_LEN digits once
 * spaces are dropped, into code), password (as Login's). The caller wipes
 * ins and code. */
int identity_activate_check(const Espace__V1__ActivateAccountRequest *req,
                            char ins[INS_LEN + 1], char code[IDENTITY_ACTIVATION_CODE_LEN + 1],
                            identity_err_t *err);
/* An INS to look up (ResolvePatient), normalised into ins (wiped on
 * failure). */
int identity_ins_check(const char *in, char ins[INS_LEN + 1], identity_err_t *err);
/* A session / device id of a request: 16 bytes, else "16 bytes" on field. */
int identity_id_check(const ProtobufCBinaryData *id, const char *field, identity_err_t *err);
/* The principal of GetDeviceKeys: kind patient and a patient id, or kind
 * professional and an RPPS ("principal"); any other kind on "kind". */
int identity_principal_check(int kind, const char *principal, identity_err_t *err);

/* Fail the call with err (runtime/service.h svc_fail). Returns err->status. */
int identity_fail(svc_call_t *call, const identity_err_t *err);

/* ---- db.c: store layout ---- */

/* Fail the call after a storage failure rc: "out of memory" for
 * ES_RESOURCE_EXHAUSTED, else ES_INTERNAL "storage error". Returns the status. */
int identity_fail_storage(svc_call_t *call, int rc);

/* Load and decode the record under key (caller frees with codec_free).
 * 0, ES_NOT_FOUND, or ES_INTERNAL (logged if the record is corrupt). */
int identity_db_load(store_txn_t *txn, const char *table, const void *key, size_t klen,
                     const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out);
/* Encode and store msg under key; is_new = 1 refuses an existing key with
 * ES_ALREADY_EXISTS. Else 0, ES_TOO_LARGE or ES_INTERNAL. */
int identity_db_save(store_txn_t *txn, const char *table, const void *key, size_t klen,
                     const ProtobufCMessage *msg, int is_new);

/* The owner key of (kind, principal) into out; returns its length. */
size_t identity_db_owner_key(int kind, const char *principal, uint8_t out[IDENTITY_OWNER_MAX]);
/* Add id under its owner in an owner index (owner_sessions, owner_devices). */
int identity_db_index_add(store_txn_t *txn, const char *index, int kind, const char *principal,
                          const uint8_t id[ID_BYTES], int64_t now_ms);
/* The ids under an owner in an owner index, in key order, at most
 * IDENTITY_LIST_MAX. *ids is malloc'd (caller frees, also when *n is 0).
 * 0, ES_INTERNAL or ES_RESOURCE_EXHAUSTED (*ids NULL then). */
int identity_db_index_list(store_txn_t *txn, const char *index, int kind, const char *principal,
                           uint8_t (**ids)[ID_BYTES], size_t *n);
/* Every record of an owner, and room to answer them (identity_db_owner_records). */
typedef struct identity_records {
    ProtobufCMessage **loaded; /* n slots, NULL where the index names a missing record */
    size_t n;
    void *items; /* n zeroed reply items of item_size bytes (NULL if item_size is 0) */
    void *ptrs;  /* room for n pointers to them (NULL if item_size is 0) */
} identity_records_t;

/* Every record of an owner: the ids under (kind, principal) in `index`, each
 * loaded from `table` with desc into r->loaded; with item_size > 0, also
 * r->items and r->ptrs to build the reply in. Free with
 * identity_db_records_free. 0, or ES_INTERNAL / ES_RESOURCE_EXHAUSTED
 * (nothing to free then). */
int identity_db_owner_records(store_txn_t *txn, const char *index, const char *table,
                              const ProtobufCMessageDescriptor *desc, int kind,
                              const char *principal, size_t item_size, identity_records_t *r);
/* Free what r holds and zero it (idempotent). */
void identity_db_records_free(identity_records_t *r);
/* Load record `id` of `table` (a StoredDevice or a StoredSession, by desc)
 * if it belongs to (kind, principal); caller frees *out with codec_free.
 * 0; ES_NOT_FOUND when missing or someone else's; or ES_INTERNAL. */
int identity_db_load_owned(store_txn_t *txn, const char *table, const uint8_t id[ID_BYTES],
                           const ProtobufCMessageDescriptor *desc, int kind,
                           const char *principal, ProtobufCMessage **out);

/* The key of a normalised INS in patient_by_ins (its keyed hash). */
void identity_db_ins_key(const store_t *store, const char ins[INS_LEN + 1],
                         uint8_t key[STORE_HASH_BYTES]);
/* The patient id under an INS key: 0, ES_NOT_FOUND, or ES_INTERNAL. */
int identity_db_patient_by_ins(store_txn_t *txn, const uint8_t key[STORE_HASH_BYTES],
                               uint8_t pid[ID_BYTES]);

/* Session `id` (id_len bytes, untrusted) is active at now: it exists, is
 * not revoked nor expired, and its device exists and is not revoked. 0 and
 * *sess (codec_free) and, if dev is not NULL, *dev (codec_free);
 * ES_UNAUTHENTICATED; or ES_INTERNAL. */
int identity_db_session_active(store_txn_t *txn, const uint8_t *id, size_t id_len, int64_t now,
                               Espace__V1__StoredSession **sess,
                               Espace__V1__StoredDevice **dev);

/* An account (patient or professional) loaded for Login. */
typedef struct identity_account {
    int kind;                                  /* IDENTITY_PATIENT / IDENTITY_PRO */
    char principal[TOKEN_MAX_PRINCIPAL + 1];
    Espace__V1__StoredPatient *patient;        /* owned, or NULL */
    Espace__V1__StoredPro *pro;                /* owned, or NULL */
    Espace__V1__StoredCredential *cred;        /* borrowed from the above */
} identity_account_t;

/* Load the account of kind with id (a normalised INS or an RPPS) into a
 * (free with identity_account_free). 0, ES_NOT_FOUND, or ES_INTERNAL (a
 * dangling INS index or an account without credential too). */
int identity_account_load(const identity_state_t *st, store_txn_t *txn, int kind,
                          const char *id, identity_account_t *a);
/* Store a's record again (after its credential changed). */
int identity_account_save(store_txn_t *txn, const identity_account_t *a);
/* Free what a holds; a stays reusable (zeroed pointers). */
void identity_account_free(identity_account_t *a);

/* ---- limits.c ---- */

/* The caller's deadline has not passed (svc_remaining_ms): 0, else the call
 * failed with DEADLINE_EXCEEDED (its status returned; drop the work). */
int identity_deadline_check(svc_call_t *call);
/* May the call run one Argon2id in `pool` (IDENTITY_POOL_*)? 0; else the
 * call failed (DEADLINE_EXCEEDED, or RESOURCE_EXHAUSTED "busy; retry" while
 * the pool's budget is spent, identity.h) and its status is returned. */
int identity_pwhash_admit(identity_state_t *st, svc_call_t *call, int pool);
/* password_hash / password_verify, their time counted in pool. A NULL hash
 * verifies the dummy hash (same cost) and answers ES_UNAUTHENTICATED. */
int identity_pwhash(identity_state_t *st, int pool, const char *pw, size_t len,
                    char out[PASSWORD_HASH_MAX]);
int identity_pwverify(identity_state_t *st, int pool, const char *hash, const char *pw,
                      size_t len);

/* The buckets of one log-in attempt (identity.h "Log-in throttling"). */
typedef struct identity_login_source {
    uint8_t source[THROTTLE_KEY_BYTES];  /* (account, source) */
    uint8_t account[THROTTLE_KEY_BYTES]; /* the account, unknown sources */
    int known;                           /* the source is a device of the account */
} identity_login_source_t;
/* The buckets of a log-in of (kind, id: normalised INS or RPPS) by the
 * call's caller; known_device: the request's device id when it is a live
 * device of the account, else NULL. */
void identity_login_source(const identity_state_t *st, const svc_call_t *call, int kind,
                           const char *id, const uint8_t *known_device,
                           identity_login_source_t *src);
/* 0 when the attempt may be checked, else the call failed
 * RESOURCE_EXHAUSTED "too many attempts; retry in N s" (status returned). */
int identity_login_throttled(identity_state_t *st, svc_call_t *call,
                             const identity_login_source_t *src);
/* A failed attempt: a token taken from each bucket that applies. */
void identity_login_count_failure(identity_state_t *st, svc_call_t *call,
                                  const identity_login_source_t *src);
/* A success: its (account, source) bucket refilled. */
void identity_login_count_success(identity_state_t *st, const identity_login_source_t *src);
/* ResolvePatient by professional rpps: 0, or the call failed
 * RESOURCE_EXHAUSTED (status returned). */
int identity_resolve_throttled(identity_state_t *st, svc_call_t *call, const char *rpps);

/* ---- sessions.c ---- */

/* THE check every non-public method runs first: the caller is a patient or
 * a professional whose session is still active in the store (not revoked,
 * not expired, its device not revoked) and is the caller's own. 0 and
 * *sess (caller frees with codec_free) and, if dev is not NULL, *dev (the
 * session's device, codec_free); else the call failed (UNAUTHENTICATED
 * "a session is required" / "session not active", or storage) and its
 * status is returned. */
int identity_require_session(svc_call_t *call, store_txn_t *txn,
                             Espace__V1__StoredSession **sess,
                             Espace__V1__StoredDevice **dev);
/* The check of the methods on one of the caller's own records
 * (RevokeSession, RevokeDevice): identity_require_session, then `id` is
 * checked (an id, at `field`) and loaded from `table` with desc if the
 * session's principal owns it. 0 and *sess, *out (caller frees both with
 * codec_free); else the call failed (the session check, INVALID_ARGUMENT at
 * field, NOT_FOUND "no such <what>", or storage), nothing is held and its
 * status is returned. */
int identity_require_owned(svc_call_t *call, store_txn_t *txn, const ProtobufCBinaryData *id,
                           const char *field, const char *what, const char *table,
                           const ProtobufCMessageDescriptor *desc,
                           Espace__V1__StoredSession **sess, ProtobufCMessage **out);
/* Mark s revoked, store it, publish TOPIC_SESSION_REVOKED. 0 or the error
 * (the call is not failed). */
int identity_session_revoke(svc_call_t *call, store_txn_t *txn, Espace__V1__StoredSession *s);

/* ---- devices.c ---- */

/* 1 if dev_id (len bytes, untrusted) is a live (not revoked) device of
 * account a, else 0 (also on a storage error: the source is then unknown). */
int identity_device_known(store_txn_t *txn, const identity_account_t *a, const uint8_t *dev_id,
                          size_t len);

/* The device a login of account a runs on, into dev_id: the requested
 * device if it exists, belongs to a and is not revoked (its keys are
 * registered by this login if it had none); otherwise a new device, indexed
 * under a. 0; ES_FAILED_PRECONDITION with *field when the device has other
 * keys already; or a storage error. */
int identity_device_for_login(svc_call_t *call, store_txn_t *txn, const identity_account_t *a,
                              const Espace__V1__LoginRequest *req, uint8_t dev_id[ID_BYTES],
                              const char **field);

/* ---- handlers (svc_handler_t) ---- */
int identity_sign_up_patient(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int identity_create_professional(void *st, svc_call_t *c, const ProtobufCMessage *m,
                                 store_txn_t *t);
int identity_resolve_patient(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int identity_login(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int identity_authenticate(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int identity_who_am_i(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int identity_logout(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int identity_list_sessions(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int identity_revoke_session(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int identity_register_device_keys(void *st, svc_call_t *c, const ProtobufCMessage *m,
                                  store_txn_t *t);
int identity_list_devices(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int identity_revoke_device(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int identity_get_device_keys(void *st, svc_call_t *c, const ProtobufCMessage *m,
                             store_txn_t *t);
int identity_activate_account(void *st, svc_call_t *c, const ProtobufCMessage *m,
                              store_txn_t *t);
int identity_issue_activation_code(void *st, svc_call_t *c, const ProtobufCMessage *m,
                                   store_txn_t *t);

#endif
