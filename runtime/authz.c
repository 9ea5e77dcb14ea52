/*
 * authz.c - the consent check (see authz.h): Decides pipelined on one bus
 * client, kept in a fixed table of AUTHZ_MAX_PENDING slots (request id and
 * deadline), matched to their replies by id.
 */
#include "runtime/authz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/names.h"
#include "proto/status.h"

typedef struct s_pending {
    uint64_t id;      /* bus request id; 0 = free slot */
    int64_t deadline; /* monotonic ms */
    int told;         /* authz_tell: any OK reply means done (no DecideReply) */
} s_pending_t;

struct authz {
    bus_client_t *client;                /* request socket to the broker */
    char service[AUTHZ_MAX_SERVICE + 1]; /* our service name (Caller.principal) */
    Espace__V1__Caller self;             /* local Caller frame (ipc) */
    int local;                           /* 1 on ipc: send the Caller frame */
    s_pending_t pending[AUTHZ_MAX_PENDING];
    size_t n_pending;                    /* slots in use */
};

int authz_new(void *zctx, const bus_conn_t *conn, const char *service, authz_t **out)
{
    if (!out)
        return ES_INVALID_ARGUMENT;
    *out = NULL;
    if (!zctx || !conn || !conn->endpoint || !service || !service[0] ||
        strlen(service) > AUTHZ_MAX_SERVICE)
        return ES_INVALID_ARGUMENT;
    authz_t *a = calloc(1, sizeof *a);
    if (!a)
        return ES_RESOURCE_EXHAUSTED;
    int rc = bus_client_new(zctx, conn, &a->client);
    if (rc != 0) {
        free(a);
        return rc;
    }
    snprintf(a->service, sizeof a->service, "%s", service);
    espace__v1__caller__init(&a->self);
    a->self.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE;
    a->self.principal = a->service;
    a->self.peer_role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
    a->local = strncmp(conn->endpoint, "ipc://", 6) == 0 ||
               strncmp(conn->endpoint, "inproc://", 9) == 0;
    *out = a;
    return ES_OK;
}

void authz_destroy(authz_t **pa)
{
    if (!pa || !*pa)
        return;
    bus_client_destroy(&(*pa)->client);
    free(*pa);
    *pa = NULL;
}

static int s_deny(authz_decision_t *out, int status, const char *reason)
{
    memset(out, 0, sizeof *out);
    out->status = status;
    out->basis = ESPACE__V1__BASIS__BASIS_NONE;
    snprintf(out->reason, sizeof out->reason, "%s", reason);
    return status;
}

static int s_need_valid(const Espace__V1__Caller *caller, const authz_need_t *need)
{
    return caller && need && id_hex_valid(need->patient_id) &&
           memchr(need->detail, '\0', sizeof need->detail) != NULL;
}

int authz_local(const Espace__V1__Caller *caller, const authz_need_t *need,
                authz_decision_t *out)
{
    if (!s_need_valid(caller, need))
        return s_deny(out, ES_INVALID_ARGUMENT, "malformed authorization request");
    /* The patient on their own data: no round trip, no audit entry. */
    if (caller->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT || !caller->principal ||
        strcmp(caller->principal, need->patient_id) != 0)
        return AUTHZ_ASK;
    memset(out, 0, sizeof *out);
    out->allowed = 1;
    out->basis = ESPACE__V1__BASIS__BASIS_SELF;
    snprintf(out->reason, sizeof out->reason, "the patient");
    return ES_OK;
}

/* Send consent `method` with body m without waiting: 0 and *ticket, or the
 * status of authz_ask. */
static int s_send(authz_t *a, const char *method, const ProtobufCMessage *m, int told,
                  uint64_t *ticket)
{
    if (a->n_pending >= AUTHZ_MAX_PENDING)
        return ES_RESOURCE_EXHAUSTED;
    uint64_t id = 0;
    int rc = bus_client_send(a->client, SERVICE_CONSENT, method, m, AUTHZ_TIMEOUT_MS,
                             a->local ? &a->self : NULL, &id);
    if (rc != 0) {
        log_warn("authz", "decide.unsent", "service=%s method=%s status=%s", a->service, method,
                 es_status_name(rc));
        return rc == ES_INVALID_ARGUMENT || rc == ES_TOO_LARGE ? ES_INVALID_ARGUMENT
                                                              : ES_UNAVAILABLE;
    }
    size_t i = 0;
    while (a->pending[i].id != 0)
        i++; /* a free slot exists: n_pending < AUTHZ_MAX_PENDING */
    a->pending[i].id = id;
    a->pending[i].deadline = bus_mono_ms() + AUTHZ_TIMEOUT_MS;
    a->pending[i].told = told;
    a->n_pending++;
    *ticket = id;
    return ES_OK;
}

int authz_ask(authz_t *a, const Espace__V1__Caller *caller, const authz_need_t *need,
              uint64_t *ticket)
{
    if (!a || !ticket || !s_need_valid(caller, need))
        return ES_INVALID_ARGUMENT;
    Espace__V1__DecideRequest req = ESPACE__V1__DECIDE_REQUEST__INIT;
    req.accessor = (Espace__V1__Caller *)caller;
    req.patient_id = (char *)need->patient_id;
    req.category = need->category;
    req.action = need->action;
    req.detail = (char *)need->detail;
    return s_send(a, "Decide", &req.base, 0, ticket);
}

int authz_ask_holds(authz_t *a, const Espace__V1__Caller *holder, const authz_need_t *need,
                    uint64_t *ticket)
{
    if (!a || !ticket || !s_need_valid(holder, need))
        return ES_INVALID_ARGUMENT;
    Espace__V1__HoldsGrantRequest req = ESPACE__V1__HOLDS_GRANT_REQUEST__INIT;
    req.accessor = (Espace__V1__Caller *)holder;
    req.patient_id = (char *)need->patient_id;
    req.category = need->category;
    req.action = need->action;
    req.detail = (char *)need->detail;
    return s_send(a, "HoldsGrant", &req.base, 0, ticket);
}

int authz_tell(authz_t *a, const char *method, const ProtobufCMessage *body, uint64_t *ticket)
{
    if (!a || !ticket || !method || !method[0] || !body)
        return ES_INVALID_ARGUMENT;
    return s_send(a, method, body, 1, ticket);
}

/* The slot waiting for id, or NULL. */
static s_pending_t *s_find(authz_t *a, uint64_t id)
{
    for (size_t i = 0, seen = 0; i < AUTHZ_MAX_PENDING && seen < a->n_pending; i++) {
        if (a->pending[i].id == 0)
            continue;
        if (a->pending[i].id == id)
            return &a->pending[i];
        seen++;
    }
    return NULL;
}

static void s_release(authz_t *a, s_pending_t *p)
{
    p->id = 0;
    a->n_pending--;
}

/* The decision carried by reply r (to a Decide or HoldsGrant, or to an
 * authz_tell when told). */
static void s_decode(authz_t *a, const bus_reply_t *r, int told, authz_decision_t *out)
{
    if (r->status != 0) {
        switch (r->status) {
        case ES_INVALID_ARGUMENT:
            s_deny(out, ES_INVALID_ARGUMENT, "malformed authorization request");
            return;
        case ES_NOT_FOUND:
            s_deny(out, ES_NOT_FOUND, "no such patient");
            return;
        case ES_PERMISSION_DENIED:
            log_warn("authz", "decide.refused", "service=%s", a->service);
            s_deny(out, ES_PERMISSION_DENIED, "consent refused to decide");
            return;
        default:
            log_warn("authz", "decide.unavailable", "service=%s status=%s", a->service,
                     es_status_name(r->status));
            s_deny(out, ES_UNAVAILABLE, "consent unreachable");
            return;
        }
    }
    if (told) {
        memset(out, 0, sizeof *out);
        out->allowed = 1;
        snprintf(out->reason, sizeof out->reason, "recorded");
        return;
    }
    ProtobufCMessage *m = NULL;
    if (codec_decode(&espace__v1__decide_reply__descriptor, r->body, r->body_len, 0, &m,
                     NULL) != 0) {
        log_warn("authz", "decide.malformed", "service=%s", a->service);
        s_deny(out, ES_UNAVAILABLE, "malformed decision");
        return;
    }
    const Espace__V1__DecideReply *d = (const Espace__V1__DecideReply *)m;
    memset(out, 0, sizeof *out);
    out->allowed = d->allowed != 0;
    out->status = out->allowed ? ES_OK : ES_PERMISSION_DENIED;
    out->basis = out->allowed ? d->basis : ESPACE__V1__BASIS__BASIS_NONE;
    if (d->grant_id.len == sizeof out->grant_id) {
        memcpy(out->grant_id, d->grant_id.data, sizeof out->grant_id);
        out->has_grant = 1;
    }
    snprintf(out->reason, sizeof out->reason, "%s",
             d->reason && d->reason[0] ? d->reason : (out->allowed ? "allowed" : "denied"));
    codec_free(m);
}

int authz_next(authz_t *a, uint64_t *ticket, authz_decision_t *out)
{
    if (!a || !ticket || !out)
        return ES_INVALID_ARGUMENT;
    /* Replies first: one that arrived is used even if its deadline just passed. */
    bus_reply_t r;
    while (bus_client_recv(a->client, 0, &r) == 0) {
        s_pending_t *p = s_find(a, r.id);
        if (!p) {
            bus_reply_clear(&r); /* after its deadline, or not ours */
            continue;
        }
        *ticket = p->id;
        int told = p->told;
        s_release(a, p);
        s_decode(a, &r, told, out);
        bus_reply_clear(&r);
        return ES_OK;
    }
    int64_t now = bus_mono_ms();
    for (size_t i = 0; i < AUTHZ_MAX_PENDING && a->n_pending > 0; i++) {
        s_pending_t *p = &a->pending[i];
        if (p->id != 0 && p->deadline <= now) {
            *ticket = p->id;
            s_release(a, p);
            log_warn("authz", "decide.timeout", "service=%s", a->service);
            s_deny(out, ES_UNAVAILABLE, "consent did not answer in time");
            return ES_OK;
        }
    }
    return ES_NOT_FOUND;
}

size_t authz_pending(const authz_t *a)
{
    return a ? a->n_pending : 0;
}

int authz_timeout_ms(const authz_t *a)
{
    if (!a || a->n_pending == 0)
        return -1;
    int64_t first = INT64_MAX;
    for (size_t i = 0; i < AUTHZ_MAX_PENDING; i++)
        if (a->pending[i].id != 0 && a->pending[i].deadline < first)
            first = a->pending[i].deadline;
    int64_t left = first - bus_mono_ms();
    return left < 0 ? 0 : left > AUTHZ_TIMEOUT_MS ? AUTHZ_TIMEOUT_MS : (int)left;
}

int authz_fd(authz_t *a)
{
    return a ? bus_client_fd(a->client) : -1;
}
