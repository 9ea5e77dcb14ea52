/*
 * registry.c - the patients consent knows, and the records other espace
 * services keep in a patient's trail: RegisterPatient, RecordResolution.
 *
 * A patient id is known once identity vouched for it (RegisterPatient at
 * activation, RecordResolution: identity resolves active accounts only) or
 * the patient, authenticated, gave a grant. Every request naming another
 * patient (Decide, HoldsGrant, RequestAccess, DeclareEmergency) answers
 * NOT_FOUND for an id consent does not know, before it writes anything: a
 * random id leaves no audit chain and no grant behind (docs/consent.md).
 */
#include <string.h>

#include "services/consent/consent_int.h"
#include "process/log.h"
#include "proto/status.h"

static const uint8_t s_one = 1;

int consent_patient_known(store_txn_t *t, const uint8_t pid[ID_BYTES])
{
    const void *v = NULL;
    size_t vl = 0;
    return store_get(t, CONSENT_T_PATIENTS, pid, ID_BYTES, &v, &vl);
}

int consent_patient_require(svc_call_t *c, store_txn_t *t, const uint8_t pid[ID_BYTES])
{
    int rc = consent_patient_known(t, pid);
    if (rc == ES_NOT_FOUND)
        return svc_fail(c, ES_NOT_FOUND, "patient_id", "no such patient");
    if (rc != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    return ES_OK;
}

int consent_patient_add(store_txn_t *t, const uint8_t pid[ID_BYTES], int *added)
{
    int rc = consent_patient_known(t, pid);
    if (added)
        *added = rc == ES_NOT_FOUND;
    if (rc == ES_NOT_FOUND)
        return store_put(t, CONSENT_T_PATIENTS, pid, ID_BYTES, &s_one, 1);
    return rc;
}

int consent_caller_service(const Espace__V1__Caller *who)
{
    return who->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE ||
           (who->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE &&
            who->peer_role == ESPACE__V1__PEER_ROLE__PEER_SERVICE);
}

int consent_register_patient(void *st, svc_call_t *c, const ProtobufCMessage *m,
                             store_txn_t *t)
{
    (void)st;
    const Espace__V1__RegisterPatientRequest *req =
        (const Espace__V1__RegisterPatientRequest *)m;
    uint8_t pid[ID_BYTES];
    int added = 0, rc;
    if (!consent_caller_service(svc_caller(c)))
        return svc_fail(c, ES_PERMISSION_DENIED, NULL, "espace services only");
    if ((rc = consent_patient_id_check(c, req->patient_id, pid)) != 0)
        return rc;
    if ((rc = consent_patient_add(t, pid, &added)) != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    Espace__V1__RegisterPatientReply rep = ESPACE__V1__REGISTER_PATIENT_REPLY__INIT;
    rep.added = added;
    if ((rc = svc_reply(c, &rep.base)) != 0)
        return svc_fail(c, rc, NULL, "reply failed");
    if (added)
        log_info(CONSENT_SERVICE, "patient.registered", "patient=%s", req->patient_id);
    return ES_OK;
}

int consent_record_resolution(void *st, svc_call_t *c, const ProtobufCMessage *m,
                              store_txn_t *t)
{
    (void)st;
    const Espace__V1__RecordResolutionRequest *req =
        (const Espace__V1__RecordResolutionRequest *)m;
    const Espace__V1__Caller *who = svc_caller(c);
    const Espace__V1__Caller *acc = req->accessor;
    uint8_t pid[ID_BYTES];
    int rc;
    if (!consent_caller_service(who))
        return svc_fail(c, ES_PERMISSION_DENIED, NULL, "espace services only");
    if (!acc)
        return svc_fail(c, ES_INVALID_ARGUMENT, "accessor", "accessor required");
    if (acc->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL ||
        rpps_validate(acc->principal) != 0)
        return svc_fail(c, ES_INVALID_ARGUMENT, "accessor", "a professional (RPPS)");
    if ((rc = consent_patient_id_check(c, req->patient_id, pid)) != 0)
        return rc;
    if ((rc = consent_patient_add(t, pid, NULL)) != 0)
        return svc_fail(c, rc, NULL, "storage failure");

    Espace__V1__AuditEntry e = ESPACE__V1__AUDIT_ENTRY__INIT;
    e.at_ms = svc_now_ms(c);
    e.kind = ESPACE__V1__AUDIT_KIND__AUDIT_RESOLVE;
    e.actor_kind = acc->kind;
    e.actor = acc->principal;
    e.service = who->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE ? who->principal
                                                                          : (char *)"";
    e.allowed = 1;
    e.reason = (char *)"INS resolved into the patient id";
    if ((rc = consent_audit_append(t, pid, &e)) != 0)
        return svc_fail(c, rc, NULL, "audit append failed");
    Espace__V1__RecordResolutionReply rep = ESPACE__V1__RECORD_RESOLUTION_REPLY__INIT;
    rep.seq = e.seq;
    if ((rc = svc_reply(c, &rep.base)) != 0)
        return svc_fail(c, rc, NULL, "reply failed");
    return ES_OK;
}
