/*
 * identity.h - the identity service (SERVICE_IDENTITY, proto/names.h):
 * patient and professional accounts, login, session tokens, sessions and
 * devices.
 *
 * Methods (proto/espace/v1/identity.proto; flags of runtime/service.h):
 *   SignUpPatient       public, write (a PENDING account)
 *   ActivateAccount     public, write (a pending account with its code)
 *   IssueActivationCode operator, write
 *   CreateProfessional  operator, write
 *   Login               public, write
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
 * Accounts prove who owns the INS: SignUpPatient makes a PENDING patient
 * (no session, invisible to ResolvePatient) until ActivateAccount with the
 * one-time code the operator issued (IDENTITY_ACTIVATION_* below). The
 * birth date and sex of a sign-up must agree with the INS's digits. A
 * sign-up answers the same, after the same Argon2id cost, whether the INS
 * has an account or not.
 *
 * Log-in throttling (never a lock-out, never a tell): failed attempts take a
 * token from the bucket of (account, source) and, when the source is not a
 * device of the account, from the account's bucket of unknown sources. The
 * source is the account's own device when the request names one (not
 * revoked), else the connection's peer (role, CURVE key and the client
 * address an edge stamps, Caller.source_address). An
 * empty bucket answers RESOURCE_EXHAUSTED without checking the password. The
 * buckets are keyed by the account's id whether it exists or not, so an
 * unknown account gets the same answers, and the same Argon2id cost (a dummy
 * hash), as a known one. A success refills its (account, source) bucket.
 * The state is in memory (limits.c, throttle.h): a restart refills it.
 * A professional's log-in that comes through a gateway (peer role GATEWAY,
 * or a Caller.source_address) is refused with PERMISSION_DENIED before any
 * of this, and counts as no failure (sessions.c).
 *
 * Argon2id budget: two pools (log-ins from a device the account knows;
 * everything else) each with a share of the service's time
 * (IDENTITY_PWHASH_* below); past it the request answers RESOURCE_EXHAUSTED
 * "busy; retry" at once. A request whose caller's deadline passed (svc_remaining_ms) is
 * dropped before any Argon2id (DEADLINE_EXCEEDED, nothing written), and
 * again after it, before its writes are kept.
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

/* Argon2id budget, per pool: a pool may spend IDENTITY_PWHASH_BURST_MS at
 * once, then its share of the time (percent) as it passes; while its budget
 * is spent its requests answer RESOURCE_EXHAUSTED at once. One interactive
 * hash takes some 50-150 ms on one core and the service thread does
 * everything else between hashes (each connection's Authenticate, every
 * session check): hashes for sign-ups, activations and log-ins from unknown
 * sources take at most half of its time, log-ins from a known device a
 * quarter more, so a flood of the former can neither starve the latter nor
 * everything else, and the rejections stay cheap enough to drain it. */
#define IDENTITY_PWHASH_BURST_MS 1000
#define IDENTITY_PWHASH_SHARE_OTHER 50
#define IDENTITY_PWHASH_SHARE_KNOWN 25
/* Log-in throttle. Per (account, source): 5 failures, then one more a
 * minute. Per account, from sources it does not know: 20, then one every 5
 * minutes (288 guesses a day at most, whoever guesses), which the owner's
 * own devices do not feel. */
#define IDENTITY_LOGIN_SOURCE_BURST 5
#define IDENTITY_LOGIN_SOURCE_REFILL_MS (60LL * 1000)
#define IDENTITY_LOGIN_ACCOUNT_BURST 20
#define IDENTITY_LOGIN_ACCOUNT_REFILL_MS (5LL * 60 * 1000)
/* Buckets kept in memory (about 48 bytes each, 3 MiB): enough for every
 * account under attack at once at the rates above. */
#define IDENTITY_THROTTLE_SLOTS 65536
/* Activation codes: IDENTITY_ACTIVATION_CODE_LEN digits (10^10: with 5
 * tries a code is guessed once in 2 billion), valid 15 minutes, burnt after
 * IDENTITY_ACTIVATION_TRIES wrong attempts. */
#define IDENTITY_ACTIVATION_CODE_LEN 10
#define IDENTITY_ACTIVATION_MS (15LL * 60 * 1000)
#define IDENTITY_ACTIVATION_TRIES 5
/* ResolvePatient per professional: 60 at once, then one a second: enough
 * for a practice's front desk, too slow to walk the INS space. */
#define IDENTITY_RESOLVE_BURST 60
#define IDENTITY_RESOLVE_REFILL_MS 1000LL
#define IDENTITY_TOKEN_KEY "token.key"            /* in <data>/identity */
/* Live sessions kept per device: a login on a device that has this many
 * already revokes the oldest. At most SVC_MAX_EVENTS (identity.c checks),
 * so RevokeDevice can announce every session it ends in one request. */
#define IDENTITY_MAX_DEVICE_SESSIONS 16

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
