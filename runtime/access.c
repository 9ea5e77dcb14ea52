/*
 * access.c - guards (service.h, ACCESS): a guarded request is resolved
 * before it joins a batch; the patient on their own data at once (or, with
 * a holder, after consent's HoldsGrant for the principal the request names),
 * anyone else through an asynchronous consent Decide (runtime/authz.h) while
 * the request waits parked, out of every batch. Also the records a handler
 * asks for after its commit (svc_consent_after): sent on the same client,
 * the call parked until consent answered when it waits for it.
 */
#include <stdio.h>
#include <string.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/status.h"
#include "runtime/service_int.h"

#define S_NAME_MAX 64 /* longest field name in a guard path */

/* ---- field paths ---- */

/* The singular, non-oneof field named by the `len` bytes at name, or NULL. */
static const ProtobufCFieldDescriptor *s_field(const ProtobufCMessageDescriptor *d,
                                               const char *name, size_t len)
{
    char buf[S_NAME_MAX];
    if (len == 0 || len >= sizeof buf)
        return NULL;
    memcpy(buf, name, len);
    buf[len] = '\0';
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, buf);
    if (!f || f->label == PROTOBUF_C_LABEL_REPEATED || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        return NULL;
    return f;
}

/* 0 if path names a string field of d through sub-messages, else -1. */
static int s_path_check(const ProtobufCMessageDescriptor *d, const char *path)
{
    for (;;) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        const ProtobufCFieldDescriptor *f = s_field(d, path, len);
        if (!f)
            return -1;
        if (!dot)
            return f->type == PROTOBUF_C_TYPE_STRING ? 0 : -1;
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            return -1;
        d = f->descriptor;
        path = dot + 1;
    }
}

/* The string at path (checked by s_path_check) in m; "" when a sub-message
 * on the way is absent. */
static const char *s_path_string(const ProtobufCMessage *m, const char *path)
{
    for (;;) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        const ProtobufCFieldDescriptor *f = s_field(m->descriptor, path, len);
        if (!f)
            return "";
        const char *at = (const char *)m + f->offset;
        if (!dot) {
            const char *s;
            memcpy(&s, at, sizeof s);
            return s ? s : "";
        }
        const ProtobufCMessage *sub;
        memcpy(&sub, at, sizeof sub);
        if (!sub)
            return "";
        m = sub;
        path = dot + 1;
    }
}

/* ---- the guard table ---- */

static const svc_method_t *s_method(const svc_def_t *def, const char *name)
{
    for (size_t i = 0; name && i < def->n_methods; i++)
        if (def->methods[i].name && strcmp(def->methods[i].name, name) == 0)
            return &def->methods[i];
    return NULL;
}

const svc_guard_t *svc_guard_find(const svc_def_t *def, const char *name)
{
    for (size_t i = 0; name && i < def->n_guards; i++)
        if (def->guards[i].method && strcmp(def->guards[i].method, name) == 0)
            return &def->guards[i];
    return NULL;
}

/* The holder hook of method `name`, or NULL. */
static const svc_holder_t *s_holder_find(const svc_def_t *def, const char *name)
{
    for (size_t i = 0; name && i < def->n_holders; i++)
        if (def->holders[i].method && strcmp(def->holders[i].method, name) == 0)
            return &def->holders[i];
    return NULL;
}

int svc_guards_check(const svc_def_t *def, char *err, size_t n)
{
    if ((def->n_guards > 0 && !def->guards) || (def->n_holders > 0 && !def->holders)) {
        snprintf(err, n, "n_guards or n_holders without a table");
        return ES_INTERNAL;
    }
    for (size_t i = 0; i < def->n_holders; i++) {
        const svc_holder_t *h = &def->holders[i];
        const char *name = h->method ? h->method : "(null)";
        if (!h->fn || !svc_guard_find(def, h->method) || s_holder_find(def, h->method) != h) {
            snprintf(err, n, "holder of %s: no hook, no guard, or twice", name);
            return ES_INTERNAL;
        }
    }
    for (size_t i = 0; i < def->n_guards; i++) {
        const svc_guard_t *g = &def->guards[i];
        const svc_method_t *m = s_method(def, g->method);
        const char *name = g->method ? g->method : "(null)";
        if (!m) {
            snprintf(err, n, "guard %s names no method", name);
            return ES_INTERNAL;
        }
        if (svc_guard_find(def, g->method) != g) {
            snprintf(err, n, "method %s has two guards", name);
            return ES_INTERNAL;
        }
        if (!m->request) {
            snprintf(err, n, "guarded method %s has no request type", name);
            return ES_INTERNAL;
        }
        if (g->category == ESPACE__V1__CATEGORY__CATEGORY_UNSPECIFIED ||
            g->action == ESPACE__V1__ACTION__ACTION_UNSPECIFIED) {
            snprintf(err, n, "guard of %s needs a category and an action", name);
            return ES_INTERNAL;
        }
        if (!g->patient_field || s_path_check(m->request, g->patient_field) != 0 ||
            (g->detail_field && s_path_check(m->request, g->detail_field) != 0)) {
            snprintf(err, n, "guard of %s names a field that is not a string of %s", name,
                     m->request->name);
            return ES_INTERNAL;
        }
    }
    return ES_OK;
}

/* ---- resolving one request ---- */

/* The need of c's request into need: 0, or the call's status set. */
static int s_need(svc_call_t *c, authz_need_t *need)
{
    const svc_guard_t *g = c->guard;
    const Espace__V1__Caller *who = c->req.caller;
    const char *self = who->principal ? who->principal : "";
    int patient = who->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
    const char *pid = s_path_string(c->msg, g->patient_field);
    char m[SVC_MAX_MESSAGE];
    memset(need, 0, sizeof *need);
    if (!pid[0]) {
        if (!patient) {
            snprintf(m, sizeof m, "%s is required", g->patient_field);
            svc_status_set(c, ES_INVALID_ARGUMENT, g->patient_field, m);
            return c->status;
        }
        pid = self; /* a patient leaves it empty for their own data */
    }
    if (!id_hex_valid(pid)) {
        snprintf(m, sizeof m, "%s must be 32 lower-case hex", g->patient_field);
        svc_status_set(c, ES_INVALID_ARGUMENT, g->patient_field, m);
        return c->status;
    }
    /* A patient reaches only their own data: refused here, before consent,
     * so another patient's audit trail is not filled with denials. */
    if (patient && strcmp(self, pid) != 0) {
        svc_status_set(c, ES_PERMISSION_DENIED, g->patient_field,
                       "a patient reaches only their own data");
        return c->status;
    }
    const char *detail = g->detail_field ? s_path_string(c->msg, g->detail_field) : "";
    if (strlen(detail) > AUTHZ_MAX_DETAIL) {
        snprintf(m, sizeof m, "at most %d bytes", AUTHZ_MAX_DETAIL);
        svc_status_set(c, ES_INVALID_ARGUMENT, g->detail_field, m);
        return c->status;
    }
    memcpy(need->patient_id, pid, ID_HEX);
    snprintf(need->detail, sizeof need->detail, "%s", detail);
    need->category = g->category;
    need->action = g->action;
    return ES_OK;
}

/* 0 if c may wait for consent (a consent client, room under SVC_MAX_PARKED
 * and SVC_PARKED_BYTES), else the status set on c. */
static int s_room(svc_runtime_t *rt, svc_call_t *c)
{
    if (!rt->az) {
        svc_status_set(c, ES_UNAVAILABLE, NULL, "consent unreachable");
        return c->status;
    }
    if (rt->n_parked + rt->n_ready >= SVC_MAX_PARKED ||
        rt->parked_bytes + c->req.req->body.len > SVC_PARKED_BYTES) {
        svc_status_set(c, ES_RESOURCE_EXHAUSTED, NULL, "too many requests waiting for consent");
        return c->status;
    }
    return ES_OK;
}

/* Park c, its consent request sent (rc its status). */
static int s_park(svc_runtime_t *rt, svc_call_t *c, int rc)
{
    if (rc != 0) {
        if (rc == ES_RESOURCE_EXHAUSTED)
            svc_status_set(c, rc, NULL, "too many requests waiting for consent");
        else if (rc == ES_INVALID_ARGUMENT)
            svc_status_set(c, rc, NULL, "malformed authorization request");
        else
            svc_status_set(c, ES_UNAVAILABLE, NULL, "consent unreachable");
        return c->status;
    }
    rt->parked[rt->n_parked++] = c;
    rt->parked_bytes += c->req.req->body.len;
    return SVC_PARKED;
}

/* The patient on their own data: ask consent whether the principal the
 * request names holds a grant (svc_def_t.holders), or allow at once. */
static int s_holder(svc_runtime_t *rt, svc_call_t *c, const svc_holder_t *h,
                    const authz_need_t *need)
{
    Espace__V1__PrincipalKind kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE;
    char principal[S_NAME_MAX] = ""; /* an RPPS or an app id */
    const char *field = NULL, *why = NULL;
    int rc = h->fn(c->msg, &kind, principal, sizeof principal, &field, &why);
    if (rc == 0) {
        c->has_access = 1;
        return ES_OK;
    }
    if (rc != SVC_HOLDER) {
        svc_status_set(c, svc_status_valid(rc), field, why ? why : "invalid request");
        return c->status;
    }
    if ((rc = s_room(rt, c)) != 0)
        return rc;
    Espace__V1__Caller holder = ESPACE__V1__CALLER__INIT;
    holder.kind = kind;
    holder.principal = principal;
    return s_park(rt, c, authz_ask_holds(rt->az, &holder, need, &c->ticket));
}

int svc_access_resolve(svc_runtime_t *rt, svc_call_t *c)
{
    authz_need_t need;
    int rc = s_need(c, &need);
    if (rc != 0)
        return rc;
    memcpy(c->access.patient_id, need.patient_id, ID_HEX);
    id_parse(need.patient_id, c->access.patient);
    rc = authz_local(c->req.caller, &need, &c->access.decision);
    if (rc == ES_OK) {
        const svc_holder_t *h = s_holder_find(rt->def, c->guard->method);
        if (h)
            return s_holder(rt, c, h, &need);
        c->has_access = 1;
        return ES_OK;
    }
    if (rc != AUTHZ_ASK) {
        svc_status_set(c, rc, NULL, c->access.decision.reason);
        return c->status;
    }
    if ((rc = s_room(rt, c)) != 0)
        return rc;
    return s_park(rt, c, authz_ask(rt->az, c->req.caller, &need, &c->ticket));
}

/* ---- records after the commit (svc_consent_after) ---- */

int svc_after_send(svc_runtime_t *rt, svc_call_t *c)
{
    if (!c->after_body || !c->ran || c->rc != 0 || c->status != ES_OK)
        return 0;
    ProtobufCMessage *m = NULL;
    uint64_t ticket = 0;
    int rc = codec_decode(c->after_desc, c->after_body, c->after_len, 0, &m, NULL);
    if (rc == 0 && c->after_wait)
        rc = s_room(rt, c);
    if (rc == 0)
        rc = authz_tell(rt->az, c->after_method, m, &ticket);
    codec_free(m);
    if (!c->after_wait) {
        if (rc != 0)
            log_warn(rt->def->name, "consent.record.unsent", "method=%s status=%s",
                     c->after_method, es_status_name(rc));
        return 0;
    }
    if (rc != 0) {
        log_warn(rt->def->name, "consent.record.unsent", "method=%s status=%s", c->after_method,
                 es_status_name(rc));
        svc_status_set(c, ES_UNAVAILABLE, NULL, "the access trail cannot record this now");
        return 0;
    }
    c->ticket = ticket;
    c->recording = 1;
    return s_park(rt, c, ES_OK) == SVC_PARKED;
}

/* ---- decisions ---- */

void svc_access_collect(svc_runtime_t *rt)
{
    if (!rt->az)
        return;
    uint64_t ticket = 0;
    authz_decision_t d;
    while (authz_next(rt->az, &ticket, &d) == 0) {
        size_t i = 0;
        while (i < rt->n_parked && rt->parked[i]->ticket != ticket)
            i++;
        if (i == rt->n_parked) {
            /* A record sent without waiting (svc_consent_after, wait 0). */
            if (d.status != ES_OK)
                log_warn(rt->def->name, "consent.record.fail", "status=%s",
                         es_status_name(d.status));
            continue;
        }
        svc_call_t *c = rt->parked[i];
        rt->parked[i] = rt->parked[--rt->n_parked];
        c->ticket = 0;
        if (c->recording) {
            /* Ran and committed: answered as it is once recorded, else
             * UNAVAILABLE (nothing disclosed unrecorded). */
            if (d.status != ES_OK) {
                log_warn(rt->def->name, "consent.record.fail", "status=%s",
                         es_status_name(d.status));
                svc_status_set(c, ES_UNAVAILABLE, NULL,
                               "the access trail cannot record this now");
            }
        } else if (d.status == ES_OK) {
            c->access.decision = d;
            c->has_access = 1;
        } else {
            c->access.decision = d;
            svc_status_set(c, d.status, NULL, d.reason[0] ? d.reason : "access denied");
        }
        rt->ready[(rt->ready_head + rt->n_ready) % SVC_MAX_PARKED] = c;
        rt->n_ready++;
    }
}

svc_call_t *svc_ready_pop(svc_runtime_t *rt)
{
    if (rt->n_ready == 0)
        return NULL;
    svc_call_t *c = rt->ready[rt->ready_head];
    rt->ready_head = (rt->ready_head + 1) % SVC_MAX_PARKED;
    rt->n_ready--;
    rt->parked_bytes -= c->req.req->body.len;
    return c;
}
