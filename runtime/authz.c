/*
 * authz.c - the authorization helper (see authz.h).
 */
#include "runtime/authz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/status.h"

struct authz {
    void *zctx;                        /* context in use */
    int own_ctx;                       /* 1 if we created zctx */
    bus_client_t *client;              /* request socket to the broker */
    char service[AUTHZ_MAX_SERVICE + 1]; /* our service name (Caller.principal) */
    Espace__V1__Caller self;           /* local Caller frame (ipc) */
    int local;                         /* 1 on ipc: send the Caller frame */
};

int authz_new(void *zctx, const bus_conn_t *conn, const char *service, authz_t **out)
{
    if (!conn || !conn->endpoint || !service || !service[0] ||
        strlen(service) > AUTHZ_MAX_SERVICE || !out)
        return ES_INVALID_ARGUMENT;
    *out = NULL;
    authz_t *a = calloc(1, sizeof *a);
    if (!a)
        return ES_RESOURCE_EXHAUSTED;
    int rc;
    if (zctx) {
        a->zctx = zctx;
    } else {
        a->zctx = zmq_ctx_new();
        a->own_ctx = 1;
        if (!a->zctx) {
            rc = ES_INTERNAL;
            goto fail;
        }
    }
    if ((rc = bus_client_new(a->zctx, conn, &a->client)) != 0)
        goto fail;
    snprintf(a->service, sizeof a->service, "%s", service);
    espace__v1__caller__init(&a->self);
    a->self.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE;
    a->self.principal = a->service;
    a->self.peer_role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
    a->local = strncmp(conn->endpoint, "ipc://", 6) == 0 ||
               strncmp(conn->endpoint, "inproc://", 9) == 0;
    *out = a;
    return ES_OK;
fail:
    authz_destroy(&a);
    return rc;
}

void authz_destroy(authz_t **pa)
{
    if (!pa || !*pa)
        return;
    authz_t *a = *pa;
    bus_client_destroy(&a->client);
    if (a->own_ctx && a->zctx)
        zmq_ctx_term(a->zctx);
    free(a);
    *pa = NULL;
}

static int s_deny(authz_decision_t *out, int rc, const char *reason)
{
    if (out) {
        out->allowed = 0;
        out->basis = ESPACE__V1__BASIS__BASIS_NONE;
        snprintf(out->reason, sizeof out->reason, "%s", reason);
    }
    return rc;
}

int authz_check(authz_t *a, const Espace__V1__Caller *caller, const char *patient_id,
                Espace__V1__Category category, Espace__V1__Action action, const char *detail,
                authz_decision_t *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!caller || !patient_id || strlen(patient_id) != 32)
        return s_deny(out, ES_INVALID_ARGUMENT, "malformed authorization request");

    /* The patient on their own data: no round trip, no audit entry. */
    if (caller->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT && caller->principal &&
        strcmp(caller->principal, patient_id) == 0) {
        if (out) {
            out->allowed = 1;
            out->basis = ESPACE__V1__BASIS__BASIS_SELF;
            snprintf(out->reason, sizeof out->reason, "the patient");
        }
        return ES_OK;
    }
    if (!a)
        return s_deny(out, ES_UNAVAILABLE, "consent unreachable");

    Espace__V1__DecideRequest req = ESPACE__V1__DECIDE_REQUEST__INIT;
    req.accessor = (Espace__V1__Caller *)caller;
    req.patient_id = (char *)patient_id;
    req.category = category;
    req.action = action;
    req.detail = (char *)(detail ? detail : "");
    ProtobufCMessage *reply = NULL;
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = bus_call(a->client, AUTHZ_CONSENT, "Decide", &req.base,
                      &espace__v1__decide_reply__descriptor, AUTHZ_TIMEOUT_MS,
                      a->local ? &a->self : NULL, &reply, &r);
    if (rc != 0) {
        codec_free(reply);
        switch (rc) {
        case ES_INVALID_ARGUMENT:
            return s_deny(out, ES_INVALID_ARGUMENT, "malformed authorization request");
        case ES_PERMISSION_DENIED:
            log_warn("authz", "decide.refused", "service=%s", a->service);
            return s_deny(out, ES_PERMISSION_DENIED, "consent refused to decide");
        default:
            log_warn("authz", "decide.unavailable", "service=%s status=%s", a->service,
                     es_status_name(rc));
            return s_deny(out, ES_UNAVAILABLE, "consent unreachable");
        }
    }
    Espace__V1__DecideReply *d = (Espace__V1__DecideReply *)reply;
    int allowed = d && d->allowed;
    if (out) {
        out->allowed = allowed;
        out->basis = allowed ? d->basis : ESPACE__V1__BASIS__BASIS_NONE;
        if (d && d->grant_id.len == sizeof out->grant_id) {
            memcpy(out->grant_id, d->grant_id.data, sizeof out->grant_id);
            out->has_grant = 1;
        }
        snprintf(out->reason, sizeof out->reason, "%s",
                 d && d->reason && d->reason[0] ? d->reason : (allowed ? "allowed" : "denied"));
    }
    codec_free(reply);
    return allowed ? ES_OK : ES_PERMISSION_DENIED;
}
