/*
 * decision.c - Decide (may this accessor do this on this patient's data?)
 * and DeclareEmergency (bris de glace).
 *
 * Deny by default. Allowed when the accessor is the patient, or an active
 * grant naming the accessor is within its period and covers (category,
 * action, detail), or (professionals, reads of agenda, documents and
 * measures only) an emergency access declared by that professional for that
 * patient has not lapsed. Everything is read from the store in the same
 * write transaction that appends the audit entry: no cache, so a revocation
 * committed before is always seen.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "services/consent/consent_int.h"
#include "process/log.h"
#include "proto/status.h"

#define ACCESSOR_MAX 128 /* bytes of an accessor principal */

typedef struct decision {
    int allowed;                          /* outcome */
    Espace__V1__Basis basis;              /* why */
    uint8_t ref[ID_BYTES];        /* grant or emergency id */
    int has_ref;                          /* ref is set */
    Espace__V1__Purpose purpose;          /* legal purpose of the grant */
    const char *purpose_of_use;           /* v3-ActReason code or "" */
    const char *reason;                   /* static text */
} decision_t;

/* What s_find_grant looks for, and where it answers. */
typedef struct {
    int kind;
    const char *id;
    int category, action;
    const char *detail;
    int64_t now;
    decision_t *d;
} s_want_t;

/* consent_patient_grants visitor: 1 (stop) once grant gid allows w. */
static int s_grant_allows(store_txn_t *t, const uint8_t gid[ID_BYTES], void *arg)
{
    const s_want_t *w = arg;
    decision_t *d = w->d;
    Espace__V1__Grant *g = NULL;
    int rc = consent_grant_load(t, gid, &g);
    if (rc != 0)
        return rc;
    if ((int)g->grantee_kind == w->kind && strcmp(g->grantee_id, w->id) == 0 &&
        g->status == ESPACE__V1__GRANT_STATUS__GRANT_ACTIVE && g->period &&
        g->period->start_ms <= w->now && (g->period->end_ms == 0 || w->now < g->period->end_ms) &&
        consent_grant_covers(g, w->category, w->action, w->detail)) {
        d->allowed = 1;
        d->basis = ESPACE__V1__BASIS__BASIS_GRANT;
        memcpy(d->ref, g->id.data, ID_BYTES);
        d->has_ref = g->id.len == ID_BYTES;
        d->purpose = g->purpose;
        d->purpose_of_use = "TREAT";
        d->reason = "active grant";
    }
    codec_free(&g->base);
    return d->allowed;
}

/* Look for an active grant of (kind, id) on the patient covering the access. */
static int s_find_grant(store_txn_t *t, const uint8_t pid[ID_BYTES], int kind,
                        const char *id, int category, int action, const char *detail,
                        int64_t now, decision_t *d)
{
    if (d->allowed)
        return ES_OK;
    s_want_t w = {kind, id, category, action, detail, now, d};
    return consent_patient_grants(t, pid, s_grant_allows, &w);
}

static int s_find_emergency(store_txn_t *t, const uint8_t pid[ID_BYTES],
                            const char *rpps, int category, int action, int64_t now,
                            decision_t *d)
{
    if (action != ESPACE__V1__ACTION__ACTION_READ ||
        category == ESPACE__V1__CATEGORY__CATEGORY_MESSAGING)
        return ES_OK;
    Espace__V1__Emergency *e = NULL;
    int rc = consent_emergency_load(t, pid, rpps, &e);
    if (rc == ES_NOT_FOUND)
        return ES_OK;
    if (rc != 0)
        return rc;
    if (consent_emergency_active(e, now)) {
        d->allowed = 1;
        d->basis = ESPACE__V1__BASIS__BASIS_EMERGENCY;
        memcpy(d->ref, e->id.data, ID_BYTES);
        d->has_ref = 1;
        d->purpose_of_use = "ETREAT";
        d->reason = "emergency access";
    }
    codec_free(&e->base);
    return ES_OK;
}

/* The question of a Decide or a HoldsGrant, checked: accessor, patient
 * (pid), category, action, detail. 0, or the status set with svc_fail. */
static int s_question_check(svc_call_t *c, const Espace__V1__Caller *acc,
                            const char *patient_id, int category, int action,
                            const char *detail, uint8_t pid[ID_BYTES])
{
    int rc;
    if (!consent_caller_service(svc_caller(c)))
        return svc_fail(c, ES_PERMISSION_DENIED, NULL, "espace services only");
    if (!acc)
        return svc_fail(c, ES_INVALID_ARGUMENT, "accessor", "accessor required");
    if (!acc->principal || strlen(acc->principal) > ACCESSOR_MAX)
        return svc_fail(c, ES_INVALID_ARGUMENT, "accessor.principal", "at most %d bytes",
                        ACCESSOR_MAX);
    if ((rc = consent_patient_id_check(c, patient_id, pid)) != 0)
        return rc;
    if (category < ESPACE__V1__CATEGORY__CATEGORY_AGENDA ||
        category > ESPACE__V1__CATEGORY__CATEGORY_MESSAGING)
        return svc_fail(c, ES_INVALID_ARGUMENT, "category", "unknown category");
    if (action != ESPACE__V1__ACTION__ACTION_READ && action != ESPACE__V1__ACTION__ACTION_WRITE)
        return svc_fail(c, ES_INVALID_ARGUMENT, "action", "unknown action");
    if (detail[0] && !consent_code_valid(detail))
        return svc_fail(c, ES_INVALID_ARGUMENT, "detail", "1..64 chars of [A-Za-z0-9._-]");
    return ES_OK;
}

/* 1 if acc is the patient pid. */
static int s_is_patient(const Espace__V1__Caller *acc, const uint8_t pid[ID_BYTES])
{
    uint8_t self[ID_BYTES];
    return acc->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT &&
           id_parse(acc->principal, self) == 0 && memcmp(self, pid, ID_BYTES) == 0;
}

/* The grant of acc (a professional or a listed app) covering the access,
 * into d; with emergency, a professional's emergency access too. */
static int s_lookup(store_txn_t *t, const uint8_t pid[ID_BYTES], const Espace__V1__Caller *acc,
                    int category, int action, const char *detail, int64_t now, int emergency,
                    decision_t *d)
{
    int rc = ES_OK;
    if (acc->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL &&
        (rpps_validate(acc->principal) == 0)) {
        rc = s_find_grant(t, pid, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, acc->principal,
                          category, action, detail, now, d);
        if (rc == 0 && !d->allowed && emergency)
            rc = s_find_emergency(t, pid, acc->principal, category, action, now, d);
    } else if (acc->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_APP &&
               consent_app_id_valid(acc->principal)) {
        Espace__V1__App *app = NULL;
        rc = consent_app_load(t, acc->principal, &app);
        if (rc == ES_NOT_FOUND || (rc == 0 && app->withdrawn)) {
            d->reason = "app not in the catalogue";
            rc = ES_OK;
        } else if (rc == 0) {
            rc = s_find_grant(t, pid, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, acc->principal,
                              category, action, detail, now, d);
        }
        if (app)
            codec_free(&app->base);
    } else {
        d->reason = "this kind of principal has no access";
    }
    return rc;
}

/* Answer d as a DecideReply. */
static int s_reply(svc_call_t *c, decision_t *d)
{
    Espace__V1__DecideReply rep = ESPACE__V1__DECIDE_REPLY__INIT;
    rep.allowed = d->allowed;
    rep.basis = d->allowed ? d->basis : ESPACE__V1__BASIS__BASIS_NONE;
    if (d->has_ref) {
        rep.grant_id.data = d->ref;
        rep.grant_id.len = ID_BYTES;
    }
    rep.reason = (char *)d->reason;
    int rc = svc_reply(c, &rep.base);
    return rc != 0 ? svc_fail(c, rc, NULL, "reply too large") : ES_OK;
}

static void s_denied(decision_t *d)
{
    memset(d, 0, sizeof *d);
    d->purpose_of_use = "";
    d->reason = "no active grant covers this access";
}

int consent_decide(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    (void)st;
    const Espace__V1__DecideRequest *req = (const Espace__V1__DecideRequest *)m;
    const Espace__V1__Caller *who = svc_caller(c);
    const Espace__V1__Caller *acc = req->accessor;
    const char *detail = req->detail ? req->detail : "";
    int category = req->category, action = req->action;
    uint8_t pid[ID_BYTES];
    int64_t now = svc_now_ms(c);
    int rc = s_question_check(c, acc, req->patient_id, category, action, detail, pid);
    if (rc != 0)
        return rc;
    long ob = consent_utf8_chars(req->on_behalf_of);
    if (ob < 0 || ob > CONSENT_MAX_GRANTEE)
        return svc_fail(c, ES_INVALID_ARGUMENT, "on_behalf_of", "0..64 characters of UTF-8");

    decision_t d;
    s_denied(&d);
    if (s_is_patient(acc, pid)) {
        /* The patient: allowed, and not audited (the trail lists others). */
        d.allowed = 1;
        d.basis = ESPACE__V1__BASIS__BASIS_SELF;
        d.reason = "the patient";
        return s_reply(c, &d);
    }
    /* No chain for a patient id nobody vouched for (registry.c). */
    if ((rc = consent_patient_require(c, t, pid)) != 0)
        return rc;
    if ((rc = s_lookup(t, pid, acc, category, action, detail, now, 1, &d)) != 0)
        return svc_fail(c, rc, NULL, "storage failure");

    Espace__V1__AuditEntry e = ESPACE__V1__AUDIT_ENTRY__INIT;
    e.at_ms = now;
    e.kind = ESPACE__V1__AUDIT_KIND__AUDIT_ACCESS;
    e.actor_kind = acc->kind;
    e.actor = acc->principal;
    e.on_behalf_of = req->on_behalf_of;
    e.service = who->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE ? who->principal
                                                                          : (char *)"";
    e.category = (Espace__V1__Category)category;
    e.action = (Espace__V1__Action)action;
    e.detail = (char *)detail;
    e.purpose = d.purpose;
    e.purpose_of_use = (char *)d.purpose_of_use;
    if (d.has_ref) {
        e.grant_id.data = d.ref;
        e.grant_id.len = ID_BYTES;
    }
    e.allowed = d.allowed;
    e.reason = (char *)d.reason;
    if ((rc = consent_audit_append(t, pid, &e)) != 0)
        return svc_fail(c, rc, NULL, "audit append failed");
    return s_reply(c, &d);
}

int consent_holds_grant(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    (void)st;
    const Espace__V1__HoldsGrantRequest *req = (const Espace__V1__HoldsGrantRequest *)m;
    const char *detail = req->detail ? req->detail : "";
    uint8_t pid[ID_BYTES];
    int rc = s_question_check(c, req->accessor, req->patient_id, req->category, req->action,
                              detail, pid);
    if (rc != 0)
        return rc;
    if ((rc = consent_patient_require(c, t, pid)) != 0)
        return rc;
    decision_t d;
    s_denied(&d);
    /* Grants only: an emergency access lets its professional read, it is
     * not the patient's consent to be named by someone else. */
    rc = s_lookup(t, pid, req->accessor, req->category, req->action, detail, svc_now_ms(c), 0,
                  &d);
    if (rc != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    return s_reply(c, &d);
}

int consent_declare_emergency(void *st, svc_call_t *c, const ProtobufCMessage *m,
                              store_txn_t *t)
{
    const consent_state_t *s = st;
    const Espace__V1__DeclareEmergencyRequest *req =
        (const Espace__V1__DeclareEmergencyRequest *)m;
    const char *rpps = NULL;
    uint8_t pid[ID_BYTES];
    int rc = consent_pro_on_patient(c, t, req->patient_id, &rpps, pid);
    if (rc != 0)
        return rc;
    if ((rc = consent_text_check(c, "reason", req->reason, 1, CONSENT_MAX_REASON, 1)) != 0)
        return rc;
    if ((rc = consent_label_check(c, "display_name", req->display_name)) != 0 ||
        (rc = consent_label_check(c, "profession", req->profession)) != 0)
        return rc;
    int64_t now = svc_now_ms(c);
    uint8_t eid[ID_BYTES];
    char pid_hex[ID_HEX];
    randombytes_buf(eid, sizeof eid);
    Espace__V1__Emergency e = ESPACE__V1__EMERGENCY__INIT;
    e.id.data = eid;
    e.id.len = sizeof eid;
    e.patient_id = (char *)id_hex(pid, pid_hex);
    e.rpps = (char *)rpps;
    e.reason = req->reason;
    e.start_ms = now;
    e.until_ms = now + s->emergency_ms;
    e.display_name = req->display_name;
    e.profession = req->profession;
    if ((rc = consent_emergency_save(t, pid, &e)) != 0)
        return svc_fail(c, rc, NULL, "storage failure");

    /* The declaration itself is in the trail; its free-text reason is kept
     * in the emergency record only (it may be clinical). */
    Espace__V1__AuditEntry a = ESPACE__V1__AUDIT_ENTRY__INIT;
    a.at_ms = now;
    a.kind = ESPACE__V1__AUDIT_KIND__AUDIT_EMERGENCY;
    a.actor_kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL;
    a.actor = (char *)rpps;
    a.purpose_of_use = (char *)"ETREAT";
    a.grant_id = e.id;
    a.allowed = 1;
    a.reason = (char *)"emergency access declared";
    if ((rc = consent_audit_append(t, pid, &a)) != 0)
        return svc_fail(c, rc, NULL, "audit append failed");

    Espace__V1__DeclareEmergencyReply rep = ESPACE__V1__DECLARE_EMERGENCY_REPLY__INIT;
    rep.emergency = &e;
    if ((rc = svc_reply(c, &rep.base)) != 0)
        return svc_fail(c, rc, NULL, "reply too large");
    Espace__V1__EmergencyDeclared ev = ESPACE__V1__EMERGENCY_DECLARED__INIT;
    ev.patient_id = e.patient_id;
    ev.rpps = e.rpps;
    ev.until_ms = e.until_ms;
    ev.emergency_id = e.id;
    if ((rc = svc_publish(c, TOPIC_CONSENT_EMERGENCY, &ev.base)) != 0)
        log_warn(CONSENT_SERVICE, "publish.fail", "topic=%s status=%s", TOPIC_CONSENT_EMERGENCY,
                 es_status_name(rc));
    consent_notify_patient(c, e.patient_id, ESPACE__V1__NOTICE_KIND__NOTICE_EMERGENCY, NULL, &e);
    log_info(CONSENT_SERVICE, "emergency.declared", "patient=%s rpps=%s until_ms=%lld", pid_hex,
             rpps, (long long)e.until_ms);
    return ES_OK;
}
