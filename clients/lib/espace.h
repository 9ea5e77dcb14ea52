/*
 * espace.h - libespace, the C API of espace for professionals' software.
 *
 * libespace connects to an espace broker (docs/protocol.md), logs a health
 * professional in, and calls espace services on their behalf. Over tcp the
 * connection is a CurveZMQ client: the software has its own keypair (a file
 * made once, whose public key the espace operator registers with
 * `espace admin keys add --role pro ...`) and knows the broker's public key
 * (`espace admin keys show`). Over ipc (same host) no keys are needed.
 *
 * Example (errors checked, as they must be):
 *
 *     espace_opts_t o = {
 *         .endpoint = "tcp://espace.example.org:5570",
 *         .broker_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
 *         .keypair_path = "/home/dr/.config/espace-pro/curve.key",
 *         .timeout_ms = 5000,
 *     };
 *     espace_t *e = NULL;
 *     espace_session_t s;
 *     espace_whoami_t me;
 *     espace_error_t err;
 *     if (espace_open(&o, &e) < 0) return 1;
 *     if (espace_login_pro(e, "10001234567", password, "cabinet-pc", &s, &err) < 0) {
 *         fprintf(stderr, "%s: %s\n", espace_status_name(err.status), err.message);
 *         espace_close(&e);
 *         return 1;
 *     }
 *     // keep s.token (a secret!) to resume later with espace_resume
 *     if (espace_whoami(e, &me, &err) == 0)
 *         printf("%s %s\n", me.principal, me.display_name);
 *     espace_logout(e, &err);
 *     sodium_memzero(&s, sizeof s);   // or any secure wipe
 *     espace_close(&e);
 *
 * Errors: every function returns 0 (ES_OK) or a negative es_status
 * (proto/status.h: ES_INVALID_ARGUMENT, ES_UNAUTHENTICATED, ...). Functions
 * that talk to espace also fill an espace_error_t (when `err` is not NULL)
 * with the status, the server's message and the field at fault. Notable
 * statuses:
 *   ES_UNAVAILABLE      nothing answered at all within the timeout. Over tcp
 *                       this is what an unregistered key looks like: the
 *                       broker refuses the CURVE handshake silently. Also:
 *                       broker down, or no live worker for the service.
 *   ES_DEADLINE_EXCEEDED the broker answered before, but this request got no
 *                       reply in time.
 *   ES_UNAUTHENTICATED  bad password, or an expired/revoked session token.
 *
 * Memory: every struct the API fills is caller-provided; messages returned
 * by espace_call are freed with espace_free. Session tokens are secrets:
 * wipe them after use and keep them in files of mode 0600.
 *
 * THREAD SAFETY: an espace_t belongs to the thread that opened it (it wraps
 * ZeroMQ sockets). Use one espace_t per thread; different espace_t may be
 * used concurrently.
 *
 * Live events: after login/resume, espace_subscribe asks the broker for the
 * events of a topic prefix of the professional's own (e.g.
 * "pro.<RPPS>.agenda", body espace.v1.AgendaChange); espace_next_event
 * waits for them. Events are hints: after a gap, read the state again
 * (e.g. agenda ListChanges from the last change_version seen).
 */
#ifndef ESPACE_H
#define ESPACE_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "espace/v1/bus.pb-c.h"
#include "espace/v1/consent.pb-c.h"
#include "proto/status.h"

#define ESPACE_TOKEN_MAX 512         /* longest session token, incl. NUL */
#define ESPACE_DEFAULT_TIMEOUT_MS 5000 /* per-call timeout when opts give 0 */
#define ESPACE_TOPIC_MAX 256         /* event topic buffer, incl. NUL (BUS_MAX_TOPIC + 1) */
#define ESPACE_PATIENT_ID_MAX 33     /* patient id (32 hex) incl. NUL */

typedef struct espace espace_t;

/* How to reach espace. Strings are borrowed during espace_open only. */
typedef struct espace_opts {
    const char *endpoint;     /* "tcp://HOST:PORT" (CURVE) or "ipc://PATH" */
    const char *broker_key;   /* broker public key, 40 Z85 chars (tcp only) */
    const char *keypair_path; /* own keypair file (tcp only): secret at PATH
                                 (0600), public key at PATH.pub */
    int create_keypair;       /* 1: create the keypair files if missing;
                                 0: ES_NOT_FOUND when missing */
    unsigned timeout_ms;      /* per call, 0 = ESPACE_DEFAULT_TIMEOUT_MS */
} espace_opts_t;

/* What went wrong, as espace said it. */
typedef struct espace_error {
    int status;         /* es_status, ES_OK on success */
    char message[256];  /* English detail, safe to show and log; may be "" */
    char field[128];    /* dotted path of the request field at fault, or "" */
} espace_error_t;

/* A session, as returned by espace_login_pro. */
typedef struct espace_session {
    char token[ESPACE_TOKEN_MAX]; /* SECRET: resume with espace_resume */
    uint8_t session_id[16];       /* session id */
    uint8_t device_id[16];        /* device the session belongs to */
    int64_t expires_ms;           /* expiry, ms since the epoch */
    char principal[65];           /* RPPS of the professional */
} espace_session_t;

/* Who the connection acts for (espace_whoami). */
typedef struct espace_whoami {
    int kind;                   /* espace.v1.PrincipalKind value */
    char principal[65];         /* RPPS for a professional */
    char display_name[256];     /* "First Last" */
    char profession[128];       /* professionals only, else "" */
    int64_t session_expires_ms; /* 0 if none */
} espace_whoami_t;

/* Connect (lazily: nothing is sent yet). Loads the keypair for tcp.
 * Returns 0 and *out (free with espace_close), or ES_INVALID_ARGUMENT (bad
 * endpoint or broker key, tcp without keypair_path), ES_NOT_FOUND (keypair
 * missing and create_keypair = 0), ES_INTERNAL (unreadable keypair file or
 * ZeroMQ failure). */
int espace_open(const espace_opts_t *o, espace_t **out);

/* Close the connection and wipe the secrets it held. Idempotent; NULLs *e.
 * The session stays valid on the server (use espace_logout to end it). */
void espace_close(espace_t **e);

/* Log a professional in: identity.Login with the RPPS and password (the
 * password is not kept), creating a new device labelled device_name
 * (NULL = "device"), then bind the session to this connection (AUTH), so
 * every later call runs as the professional. On success *out holds the
 * token to keep for espace_resume. ES_UNAUTHENTICATED for a bad RPPS or
 * password. */
int espace_login_pro(espace_t *e, const char *rpps, const char *password,
                     const char *device_name, espace_session_t *out, espace_error_t *err);

/* Bind a saved session token to this connection (AUTH). ES_UNAUTHENTICATED
 * when the token is bad, expired or revoked. */
int espace_resume(espace_t *e, const char *token, espace_error_t *err);

/* Generic call: send `req` (NULL = empty body) to method `method` of
 * service `service` and wait up to the timeout for the reply, decoded as
 * `reply_desc`. On success *reply (may be NULL to ignore the body) is the
 * decoded reply: free it with espace_free. On error *reply is NULL. */
int espace_call(espace_t *e, const char *service, const char *method,
                const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_desc,
                ProtobufCMessage **reply, espace_error_t *err);

/* Free a message returned by espace_call. NULL is a no-op. */
void espace_free(ProtobufCMessage *msg);

/* identity.WhoAmI: who this connection acts for (needs a session). */
int espace_whoami(espace_t *e, espace_whoami_t *out, espace_error_t *err);

/* identity.Logout: end the session bound to this connection (published as
 * identity.session.revoked; the token stops working everywhere). */
int espace_logout(espace_t *e, espace_error_t *err);

/* identity.ResolvePatient: the patient id (32 hex) of a matricule INS (15
 * characters, spaces ignored), into patient_id[ESPACE_PATIENT_ID_MAX].
 * Needs a professional's session. ES_INVALID_ARGUMENT (field "ins") for a
 * malformed INS, ES_NOT_FOUND when no patient has this INS. Knowing the id
 * gives no access: each service still asks consent. */
int espace_resolve_patient(espace_t *e, const char *ins, char patient_id[ESPACE_PATIENT_ID_MAX],
                           espace_error_t *err);

/* Live events (SUBSCRIBE, docs/protocol.md): receive the events whose topic
 * starts with `prefix`, which must start with "pro.<own RPPS>." (e.g.
 * "pro.10001234567.agenda"). Needs a session bound to this handle (login or
 * resume). ES_UNAUTHENTICATED without one (or once it was revoked or
 * expired: calling it again is a cheap way to check the session is still
 * bound), ES_PERMISSION_DENIED for another prefix, ES_RESOURCE_EXHAUSTED
 * past 16 prefixes. Subscribing twice to a prefix is harmless. Events
 * published in the first moments after the call may be missed. */
int espace_subscribe(espace_t *e, const char *prefix, espace_error_t *err);

/* Wait up to timeout_ms (-1 = forever, 0 = poll) for the next event of the
 * subscriptions: 0, topic (NUL-terminated) and *out (free with espace_free;
 * out->body is the topic's message, e.g. an AgendaChange), or
 * ES_DEADLINE_EXCEEDED when none came. Events that arrived during other
 * calls are kept (up to 256) and returned first. */
int espace_next_event(espace_t *e, int timeout_ms, char topic[ESPACE_TOPIC_MAX],
                      Espace__V1__Event **out, espace_error_t *err);

/* Endpoint this handle talks to (borrowed, valid until espace_close). */
const char *espace_endpoint(const espace_t *e);

/* Stable name of a status ("UNAUTHENTICATED"), as es_status_name. */
const char *espace_status_name(int status);

/* ---- consent vocabulary (proto/espace/v1/consent.proto) as text ----
 * For command lines and forms. Names are the enum value names without their
 * prefix, in any case on input, lower case on output:
 *   categories  agenda, documents, measures, messaging
 *   actions     read, write
 *   purposes    prevention, diagnostic, soins, suivi_social_medicosocial
 *   statuses    proposed, active, rejected, inactive
 * A scope list is "CATEGORY:ACTION[:CODE[+CODE...]][,...]", e.g.
 * "documents:read:10+11,agenda:write" (codes: document class or LOINC
 * codes, see Scope.codes). These functions do no network I/O. */

#define ESPACE_SCOPES_MAX 16        /* scopes per list (CONSENT_MAX_SCOPES) */
#define ESPACE_SCOPE_CODES_MAX 32   /* codes per scope (CONSENT_MAX_CODES) */
#define ESPACE_SCOPES_TEXT_MAX 2048 /* longest scope list text, NUL included */

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

/* Names of enum values: static strings, "?" for a value out of range. */
const char *espace_category_name(int category);
const char *espace_action_name(int action);
const char *espace_purpose_name(int purpose);
const char *espace_grant_status_name(int status);

#endif
