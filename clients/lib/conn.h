/*
 * conn.h - libespace, the connection: open/close, session binding, the
 * generic call, live events, errors (part of the manual espace.h).
 *
 * Errors: every function returns 0 (ES_OK) or a negative es_status
 * (proto/status.h). Functions that talk to espace also fill an
 * espace_error_t (when `err` is not NULL) with the status, the server's
 * message and the field at fault. Notable statuses:
 *   ES_UNAVAILABLE       nothing answered at all within the timeout. Over tcp
 *                        this is what an unregistered key looks like: the
 *                        broker refuses the CURVE handshake silently. Also:
 *                        broker down, or no live worker for the service.
 *   ES_DEADLINE_EXCEEDED the broker answered before, but this request got no
 *                        reply in time.
 *   ES_UNAUTHENTICATED   bad password, or an expired/revoked session token.
 *
 * THREAD SAFETY: an espace_t belongs to the thread that opened it (it wraps
 * ZeroMQ sockets). Use one espace_t per thread; different espace_t may be
 * used concurrently.
 */
#ifndef ESPACE_CONN_H
#define ESPACE_CONN_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "espace/v1/bus.pb-c.h"
#include "proto/status.h"

#define ESPACE_TOKEN_MAX 512           /* longest session token, incl. NUL */
#define ESPACE_DEFAULT_TIMEOUT_MS 5000 /* per-call timeout when opts give 0 */
#define ESPACE_TOPIC_MAX 256           /* event topic buffer, incl. NUL (BUS_MAX_TOPIC + 1) */
#define ESPACE_PRINCIPAL_MAX 65        /* principal (RPPS, patient id, ...) incl. NUL */
#define ESPACE_KEY_Z85 41              /* CURVE public key as Z85 text, incl. NUL */
#define ESPACE_CURSOR_MAX 256          /* longest paging cursor a listing returns */
#define ESPACE_LABEL_MAX 64            /* an enum label, incl. NUL (proto/names.h ENUM_LABEL_MAX) */

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
    int as_kind;              /* ipc only: act as this espace.v1.PrincipalKind
                                 (e.g. PRINCIPAL_OPERATOR for the admin
                                 commands); 0 = no. The broker lets local
                                 (ipc) peers name their caller: it is how
                                 the operator's tools and tests speak. */
    const char *as_principal; /* with as_kind: the principal ("operator", a
                                 patient id, ...) */
} espace_opts_t;

/* What went wrong, as espace said it. */
typedef struct espace_error {
    int status;         /* es_status, ES_OK on success */
    char message[256];  /* English detail, safe to show and log; may be "" */
    char field[128];    /* dotted path of the request field at fault, or "" */
} espace_error_t;

/* The paging position of a listing (agenda List, consent ListGrants):
 * start zeroed; each call sends it and moves it to the next page; `more` is
 * 1 while another page follows. */
typedef struct espace_cursor {
    uint8_t data[ESPACE_CURSOR_MAX];
    size_t len;
    int more;
} espace_cursor_t;

/* Connect (lazily: nothing is sent yet). Loads the keypair for tcp.
 * Returns 0 and *out (free with espace_close), or ES_INVALID_ARGUMENT (bad
 * endpoint or broker key, tcp without keypair_path, as_kind over tcp),
 * ES_NOT_FOUND (keypair missing and create_keypair = 0), ES_INTERNAL
 * (unreadable keypair file or ZeroMQ failure). */
int espace_open(const espace_opts_t *o, espace_t **out);

/* Close the connection and wipe the secrets it held. Idempotent; NULLs *e.
 * The session stays valid on the server (use espace_logout to end it). */
void espace_close(espace_t **e);

/* Bind a saved session token to this connection (AUTH): every later call
 * runs as the session's principal. ES_UNAUTHENTICATED when the token is
 * bad, expired or revoked. */
int espace_resume(espace_t *e, const char *token, espace_error_t *err);

/* Principal of the session bound to this connection (RPPS of a
 * professional), or "" before login/resume. Borrowed until espace_close. */
const char *espace_principal(const espace_t *e);

/* Generic call: send `req` (NULL = empty body) to method `method` of
 * service `service` and wait up to the timeout for the reply, decoded as
 * `reply_desc`. On success *reply (may be NULL to ignore the body) is the
 * decoded reply: free it with espace_free. On error *reply is NULL. The
 * typed calls of the service headers are built on it. */
int espace_call(espace_t *e, const char *service, const char *method,
                const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_desc,
                ProtobufCMessage **reply, espace_error_t *err);

/* Free a message returned by libespace (replies, events). NULL is a no-op. */
void espace_free(ProtobufCMessage *msg);

/* Live events (SUBSCRIBE, docs/protocol.md): receive the events whose topic
 * starts with `prefix`, which must start with "pro.<own RPPS>." (e.g.
 * "pro.10001234567.agenda"; espace_agenda_watch builds it). Needs a session
 * bound to this handle (login or resume). ES_UNAUTHENTICATED without one
 * (or once it was revoked or expired: calling it again is a cheap way to
 * check the session is still bound), ES_PERMISSION_DENIED for another
 * prefix, ES_RESOURCE_EXHAUSTED past 16 prefixes. Subscribing twice to a
 * prefix is harmless. Events published in the first moments after the call
 * may be missed. Events are hints: after a gap, read the state again. */
int espace_subscribe(espace_t *e, const char *prefix, espace_error_t *err);

/* Wait up to timeout_ms (-1 = forever, 0 = poll) for the next event of the
 * subscriptions: 0, topic (NUL-terminated) and *out (free with espace_free;
 * out->body is the topic's message, e.g. an AgendaChange), or
 * ES_DEADLINE_EXCEEDED when none came. Events that arrived during other
 * calls are kept (up to 256) and returned first. */
int espace_next_event(espace_t *e, int timeout_ms, char topic[ESPACE_TOPIC_MAX],
                      Espace__V1__Event **out, espace_error_t *err);

/* This software's CURVE keypair file (what espace_opts_t.keypair_path
 * names): load it, or with create = 1 make it when missing (*created = 1
 * then; created may be NULL), and write its public key as Z85 text into
 * public_z85 (to register with `espace admin keys add`). ES_NOT_FOUND when
 * missing and create = 0, ES_INTERNAL when unreadable, malformed or
 * readable by others. The secret key is wiped before returning. */
int espace_keypair(const char *path, int create, char public_z85[ESPACE_KEY_Z85], int *created);

/* Parse a CURVE public key given as Z85 text (40 characters) into key.
 * 0 or ES_INVALID_ARGUMENT. */
int espace_key_parse(const char *z85, uint8_t key[32]);

/* The Z85 text of a 32-byte CURVE public key into out. */
void espace_key_z85(const uint8_t key[32], char out[ESPACE_KEY_Z85]);

/* Endpoint this handle talks to (borrowed, valid until espace_close). */
const char *espace_endpoint(const espace_t *e);

/* Stable name of a status ("UNAUTHENTICATED"), as es_status_name. */
const char *espace_status_name(int status);

#endif
