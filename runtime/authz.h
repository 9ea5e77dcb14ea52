/*
 * authz.h - the authorization check every data service makes before it
 * touches a patient's data (docs/consent.md).
 *
 *   authz_t *az;  authz_new(NULL, &conn, "agenda", &az);        // at init
 *   rc = authz_check(az, svc_caller(call), patient_id,
 *                    ESPACE__V1__CATEGORY__CATEGORY_AGENDA,
 *                    ESPACE__V1__ACTION__ACTION_READ, NULL, &d);
 *   if (rc != 0) return svc_fail(call, rc, NULL, "%s", d.reason);
 *
 * `caller` must be the one the broker (or edge) stamped: svc_caller(), never
 * an id from the request body.
 * - The patient acting on their own data is allowed at once, without a
 *   round trip and without an audit entry.
 * - Anyone else: a synchronous call to consent "Decide", which decides (deny
 *   by default) and appends the entry to the patient's audit trail.
 * - If consent cannot answer (not running, broker down, timeout), the answer
 *   is deny with ES_UNAVAILABLE: never allow by failure.
 *
 * The helper holds its own bus client on the broker's request endpoint. On
 * ipc it stamps its requests with a local Caller of kind PRINCIPAL_SERVICE
 * and principal = the service name; on tcp the broker stamps the peer's
 * CURVE role (PEER_SERVICE), which consent also accepts.
 *
 * THREAD SAFETY: an authz_t belongs to the thread that created it (it wraps
 * a ZeroMQ socket). One per service thread.
 */
#ifndef ES_AUTHZ_H
#define ES_AUTHZ_H

#include <stdint.h>

#include "bus/bus.h"
#include "espace/v1/consent.pb-c.h"

#define AUTHZ_TIMEOUT_MS 2000  /* deadline of one Decide round trip */
#define AUTHZ_CONSENT "consent" /* bus service name asked */
#define AUTHZ_MAX_SERVICE 64   /* bytes of the calling service's name */

typedef struct authz authz_t;

/* One decision. */
typedef struct authz_decision {
    int allowed;             /* 1 = allowed */
    Espace__V1__Basis basis; /* SELF, GRANT, EMERGENCY, or NONE when denied */
    uint8_t grant_id[16];    /* grant or emergency id (basis GRANT/EMERGENCY) */
    int has_grant;           /* grant_id is set */
    char reason[128];        /* short English reason, no personal data */
} authz_decision_t;

/* Open a helper for service `service` (<= AUTHZ_MAX_SERVICE bytes) on the
 * broker request endpoint `conn`. `zctx` may be NULL (the helper then owns
 * its own ZeroMQ context). 0 and *out, or ES_INVALID_ARGUMENT /
 * ES_INTERNAL / ES_RESOURCE_EXHAUSTED. */
int authz_new(void *zctx, const bus_conn_t *conn, const char *service, authz_t **out);

/* Idempotent; NULLs *a. */
void authz_destroy(authz_t **a);

/* May `caller` do `action` on the `category` part of patient `patient_id`'s
 * data? `detail` narrows it (document class code, LOINC code), may be NULL.
 * Returns 0 when allowed; ES_PERMISSION_DENIED when denied;
 * ES_UNAVAILABLE when consent could not answer (denied);
 * ES_INVALID_ARGUMENT for malformed arguments (denied). `out` (may be NULL)
 * is always filled, allowed = 0 unless 0 is returned. */
int authz_check(authz_t *a, const Espace__V1__Caller *caller, const char *patient_id,
                Espace__V1__Category category, Espace__V1__Action action, const char *detail,
                authz_decision_t *out);

#endif
