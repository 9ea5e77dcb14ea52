/*
 * authz.h - the consent check of the data services (docs/consent.md), made
 * without ever blocking the service's loop.
 *
 * Services do not call it: svc_run does, for every method with a guard
 * (service.h, ACCESS). It is a module of its own so it can be tested alone.
 *
 *   authz_t *az;  authz_new(zctx, &conn, "agenda", &az);        // at start
 *   rc = authz_local(svc_caller(call), &need, &d);
 *   if (rc == AUTHZ_ASK) {                     // not the patient: ask consent
 *       rc = authz_ask(az, caller, &need, &ticket);   // sent, not awaited
 *       ... park the request under `ticket`, serve others ...
 *   }
 *   // in the loop, after a wake-up on authz_fd() and before sleeping again:
 *   while (authz_next(az, &ticket, &d) == 0)
 *       ... d.status: 0 allowed, else denied ...
 *
 * `caller` must be the one the broker (or the edge) stamped: svc_caller(),
 * never an id from the request body.
 * - The patient acting on their own data is allowed at once (authz_local),
 *   without a round trip and without an audit entry.
 * - Anyone else: consent "Decide", which decides (deny by default) and
 *   appends the entry to the patient's audit trail. No decision is cached:
 *   each request asks again, so a revocation holds from the next request.
 *   Decides are pipelined on one bus client (at most AUTHZ_MAX_PENDING in
 *   flight), matched to their replies by request id, each with a deadline
 *   of AUTHZ_TIMEOUT_MS.
 * - If consent cannot answer (not running, broker down, deadline passed,
 *   malformed answer), the decision is deny with ES_UNAVAILABLE: never allow
 *   by failure. A reply arriving after its deadline is dropped.
 *
 * The helper holds its own bus client on the broker's request endpoint. On
 * ipc it stamps its requests with a local Caller of kind PRINCIPAL_SERVICE
 * and principal = the service name; on tcp the broker stamps the peer's
 * CURVE role (PEER_SERVICE), which consent also accepts.
 *
 * THREAD SAFETY: an authz_t belongs to the thread that created it (it wraps
 * a ZeroMQ socket). One per service thread. authz_local is pure.
 */
#ifndef ES_AUTHZ_H
#define ES_AUTHZ_H

#include <stdint.h>

#include "bus/bus.h"
#include "espace/v1/consent.pb-c.h"
#include "proto/ids.h"

#define AUTHZ_TIMEOUT_MS 2000  /* deadline of one Decide */
#define AUTHZ_MAX_PENDING 256  /* Decides in flight on one helper */
#define AUTHZ_MAX_SERVICE 64   /* bytes of the calling service's name */
#define AUTHZ_MAX_DETAIL 64    /* bytes of a detail code (consent's CONSENT_MAX_CODE) */
#define AUTHZ_ASK 1            /* authz_local: consent must decide */

typedef struct authz authz_t;

/* What an access needs: whose data, which part, which action. */
typedef struct authz_need {
    char patient_id[ID_HEX];           /* 32 hex (proto/ids.h) */
    Espace__V1__Category category;
    Espace__V1__Action action;
    char detail[AUTHZ_MAX_DETAIL + 1]; /* class or LOINC code narrowing it, "" for none */
} authz_need_t;

/* One decision. */
typedef struct authz_decision {
    int status;              /* 0 allowed; ES_PERMISSION_DENIED, ES_NOT_FOUND (consent
                                knows no such patient), ES_UNAVAILABLE or
                                ES_INVALID_ARGUMENT when denied */
    int allowed;             /* 1 = allowed (status 0) */
    Espace__V1__Basis basis; /* SELF, GRANT, EMERGENCY, or NONE when denied */
    uint8_t grant_id[16];    /* grant or emergency id (basis GRANT/EMERGENCY) */
    int has_grant;           /* grant_id is set */
    char reason[128];        /* short English reason, no personal data */
} authz_decision_t;

/* Open a helper for service `service` (<= AUTHZ_MAX_SERVICE bytes) on the
 * broker request endpoint `conn`, in ZeroMQ context `zctx` (borrowed; it
 * must outlive the helper). 0 and *out, or ES_INVALID_ARGUMENT /
 * ES_INTERNAL / ES_RESOURCE_EXHAUSTED. */
int authz_new(void *zctx, const bus_conn_t *conn, const char *service, authz_t **out);

/* Idempotent; NULLs *a. Decides in flight are forgotten. */
void authz_destroy(authz_t **a);

/* Decide without consent when that is possible. 0 when `caller` is the
 * patient `need->patient_id` (out: allowed, basis SELF); AUTHZ_ASK when
 * consent must decide (out untouched); ES_INVALID_ARGUMENT when caller or
 * need is malformed (out: denied). Pure. */
int authz_local(const Espace__V1__Caller *caller, const authz_need_t *need,
                authz_decision_t *out);

/* Send consent a Decide for (caller, need) without waiting; its decision
 * comes out of authz_next under *ticket (never 0). 0; ES_RESOURCE_EXHAUSTED
 * when AUTHZ_MAX_PENDING Decides are in flight; ES_INVALID_ARGUMENT for
 * malformed arguments; ES_UNAVAILABLE when it cannot be sent (broker down).
 * Never blocks, except that the very first send of the helper may wait up to
 * 1 s for the connection to the broker (bus_client_send). */
int authz_ask(authz_t *a, const Espace__V1__Caller *caller, const authz_need_t *need,
              uint64_t *ticket);

/* As authz_ask, but asks consent "HoldsGrant": does `holder` (someone the
 * caller names, e.g. the professional a patient writes to) hold an active
 * grant covering need? Consent records nothing in the trail for it. The
 * decision comes out of authz_next like a Decide's. */
int authz_ask_holds(authz_t *a, const Espace__V1__Caller *holder, const authz_need_t *need,
                    uint64_t *ticket);

/* Send consent `method` with `body` (packed now; borrowed for the call)
 * without waiting, for a record consent keeps (RecordResolution,
 * RegisterPatient). Its outcome comes out of authz_next under *ticket:
 * allowed (status 0) once consent answered OK, else denied with the
 * status as for a Decide. Errors as authz_ask. */
int authz_tell(authz_t *a, const char *method, const ProtobufCMessage *body, uint64_t *ticket);

/* The next decision ready: a Decide answered, or else one whose deadline
 * passed (status ES_UNAVAILABLE). 0 and *ticket, *out; ES_NOT_FOUND when
 * none is ready. Never blocks. Replies to no Decide in flight are dropped. */
int authz_next(authz_t *a, uint64_t *ticket, authz_decision_t *out);

/* Decides in flight. */
size_t authz_pending(const authz_t *a);

/* Milliseconds until the earliest deadline of a Decide in flight (0 if one
 * has passed), or -1 when none is in flight: the longest a loop may sleep. */
int authz_timeout_ms(const authz_t *a);

/* File descriptor to poll for readability (ZMQ_FD of the bus client). It is
 * edge-triggered: call authz_next until ES_NOT_FOUND after it fires and
 * after every authz_ask, before sleeping on it again (STACK.md §0.1). */
int authz_fd(authz_t *a);

#endif
