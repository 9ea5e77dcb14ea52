/*
 * identity.h - the identity service (SERVICE_IDENTITY, proto/names.h):
 * patient and professional accounts, login, session tokens, sessions and
 * devices.
 *
 * Methods (proto/espace/v1/identity.proto; flags of runtime/service.h):
 *   SignUpPatient       public, write
 *   CreateProfessional  operator, write
 *   Login               public, write (failed attempts are recorded)
 *   Authenticate        public, read  (the broker/edge checks a token)
 *   WhoAmI, ListSessions, ListDevices, GetDeviceKeys         read
 *   Logout, RevokeSession, RegisterDeviceKeys, RevokeDevice  write
 *   ResolvePatient      read, professionals only (INS -> patient id)
 * Every method that is not public needs a caller whose session is still
 * active in the store (not revoked, not expired, device not revoked); only
 * GetDeviceKeys also serves PRINCIPAL_OPERATOR and PRINCIPAL_SERVICE callers,
 * which have no session.
 *
 * Data (<data>/identity): the store (tables and key layouts in
 * identity_int.h, records in identity_records.proto) and the token signing
 * key IDENTITY_TOKEN_KEY / IDENTITY_TOKEN_KEY.pub (formats in
 * services/identity/token.h), created on first start.
 *
 * Login slow-down, per account: after IDENTITY_LOCK_AFTER consecutive
 * failures the account is locked for IDENTITY_LOCK_BASE_MS, doubling with
 * each further failure up to IDENTITY_LOCK_MAX_MS. While locked, Login
 * answers RESOURCE_EXHAUSTED without checking the password. A success
 * resets the count. Unknown accounts and wrong passwords get the same
 * UNAUTHENTICATED "invalid credentials" after a comparable Argon2id cost.
 *
 * Passwords: Argon2id, cost from ESPACE_PWHASH (services/identity/password.h).
 *
 * Validation answers CODE_INVALID_ARGUMENT with Status.field naming the
 * field (limits below; rules in identity_int.h, validate.c).
 *
 * Events: TOPIC_SESSION_REVOKED (proto/names.h, body SessionRevoked) on
 * Logout, RevokeSession, RevokeDevice and when a login ends the oldest
 * session of a full device (one event per session ended).
 *
 * Logs carry patient ids, RPPS numbers and statuses only: never an INS,
 * name, birth date, password or token.
 *
 * THREAD SAFETY: the service runs on the thread of svc_run.
 */
#ifndef ES_IDENTITY_H
#define ES_IDENTITY_H

#include "runtime/service.h"

#define IDENTITY_SESSION_MS (12LL * 3600 * 1000)  /* session and token lifetime */
#define IDENTITY_LOCK_AFTER 5                     /* failures before the first lock */
#define IDENTITY_LOCK_BASE_MS 1000LL              /* first lock */
#define IDENTITY_LOCK_MAX_MS (15LL * 60 * 1000)   /* longest lock */
#define IDENTITY_TOKEN_KEY "token.key"            /* in <data>/identity */
/* Live sessions kept per device: a login on a device that has this many
 * already revokes the oldest. Equal to SVC_MAX_EVENTS, so RevokeDevice can
 * announce every session it ends in one request. */
#define IDENTITY_MAX_DEVICE_SESSIONS SVC_MAX_EVENTS

/* Limits, in characters (code points) of valid UTF-8 without control
 * characters. */
#define IDENTITY_NAME_MAX 100        /* birth names, pro last / first name, profession */
#define IDENTITY_FIRST_NAME_MAX 60   /* one first name of a patient */
#define IDENTITY_FIRST_NAMES_MAX 10  /* first names of a patient (at least 1) */
#define IDENTITY_PASSWORD_MIN 12     /* at sign-up / creation */
#define IDENTITY_PASSWORD_MAX 256
#define IDENTITY_DEVICE_NAME_MAX 64
#define IDENTITY_BIRTH_DATE_MIN "1890-01-01"
#define IDENTITY_LIST_MAX 1000       /* most sessions / devices listed */

extern const svc_def_t identity_service;

#endif
