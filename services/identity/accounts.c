/*
 * accounts.c - the identity methods on accounts (identity_int.h):
 * SignUpPatient, CreateProfessional, ResolvePatient.
 *
 * The INS is personal data: it is normalised by validation, reaches the
 * store only inside the sealed StoredPatient and as a keyed hash (key of
 * patient_by_ins), is wiped after use and never logged.
 */
#include <sodium.h>
#include <string.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/rpps.h"
#include "proto/status.h"
#include "services/identity/identity_int.h"

/* Store the pending patient pid (new: is_new = 1, with its INS index; or
 * replacing a pending one) from req, with password hash pw_hash. */
static int s_patient_store(store_txn_t *txn, const Espace__V1__SignUpPatientRequest *req,
                           char *ins, const uint8_t ins_key[STORE_HASH_BYTES],
                           const uint8_t pid[ID_BYTES], char *pw_hash, int is_new, int64_t now)
{
    Espace__V1__StoredCredential cred = ESPACE__V1__STORED_CREDENTIAL__INIT;
    cred.password_hash = pw_hash;
    Espace__V1__StoredPatient p = ESPACE__V1__STORED_PATIENT__INIT;
    p.patient_id.data = (uint8_t *)pid;
    p.patient_id.len = ID_BYTES;
    p.ins = ins;
    p.birth_names = req->birth_names;
    p.n_first_names = req->n_first_names;
    p.first_names = req->first_names;
    p.birth_date = req->birth_date;
    p.sex = req->sex;
    p.credential = &cred;
    p.created_ms = now;
    p.pending = 1;
    int rc = identity_db_save(txn, IDENTITY_T_PATIENTS, pid, ID_BYTES, &p.base, is_new);
    if (rc == 0 && is_new) {
        Espace__V1__StoredPatientRef ref = ESPACE__V1__STORED_PATIENT_REF__INIT;
        ref.patient_id = p.patient_id;
        rc = identity_db_save(txn, IDENTITY_T_BY_INS, ins_key, STORE_HASH_BYTES, &ref.base, 1);
    }
    return rc;
}

/* SignUpPatient: the same answer and cost whatever the INS's state (no
 * account: a pending one; pending: replaced; active: untouched). */
int identity_sign_up_patient(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                             store_txn_t *txn)
{
    identity_state_t *st = state;
    const Espace__V1__SignUpPatientRequest *req = (const Espace__V1__SignUpPatientRequest *)msg;
    int64_t now = svc_now_ms(call);
    char ins[INS_LEN + 1], hex[ID_HEX], pw_hash[PASSWORD_HASH_MAX];
    uint8_t ins_key[STORE_HASH_BYTES], pid[ID_BYTES];
    identity_account_t a;
    identity_err_t err;
    int rc;

    memset(&a, 0, sizeof a);
    if (identity_sign_up_check(req, now, ins, &err) != 0)
        return identity_fail(call, &err);
    if ((rc = identity_pwhash_admit(st, call, IDENTITY_POOL_OTHER)) != 0)
        goto cleanup;
    rc = identity_pwhash(st, IDENTITY_POOL_OTHER, req->password, strlen(req->password), pw_hash);
    if (rc != 0)
        goto internal;
    if ((rc = identity_deadline_check(call)) != 0)
        goto cleanup; /* the caller was told it failed: write nothing */
    identity_db_ins_key(st->store, ins, ins_key);
    rc = identity_account_load(st, txn, IDENTITY_PATIENT, ins, &a);
    if (rc == ES_NOT_FOUND) {
        randombytes_buf(pid, sizeof pid);
        rc = s_patient_store(txn, req, ins, ins_key, pid, pw_hash, 1, now);
    } else if (rc == 0 && a.patient->pending) {
        rc = id_parse(a.principal, pid) == 0 ? 0 : ES_INTERNAL;
        if (rc == 0)
            rc = s_patient_store(txn, req, ins, ins_key, pid, pw_hash, 0, now);
    } else if (rc == 0) {
        memset(pid, 0, sizeof pid); /* active: nothing changes */
    }
    if (rc != 0)
        goto internal;

    Espace__V1__SignUpPatientReply rep = ESPACE__V1__SIGN_UP_PATIENT_REPLY__INIT;
    if ((rc = svc_reply(call, &rep.base)) != 0)
        goto internal;
    if (!a.patient)
        log_info(IDENTITY_LOG, "patient.pending", "patient=%s", id_hex(pid, hex));
    else
        log_info(IDENTITY_LOG, "patient.sign_up_again", "patient=%s pending=%d", a.principal,
                 (int)a.patient->pending);
    goto cleanup;
internal:
    rc = identity_fail_storage(call, rc);
cleanup:
    identity_account_free(&a);
    sodium_memzero(pw_hash, sizeof pw_hash);
    sodium_memzero(ins, sizeof ins);
    return rc;
}

int identity_create_professional(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                                 store_txn_t *txn)
{
    (void)state;
    const Espace__V1__CreateProfessionalRequest *req =
        (const Espace__V1__CreateProfessionalRequest *)msg;
    char pw_hash[PASSWORD_HASH_MAX];
    identity_err_t err;
    const void *v;
    size_t vlen;
    int rc;

    if (identity_create_pro_check(req, &err) != 0)
        return identity_fail(call, &err);
    rc = store_get(txn, IDENTITY_T_PROS, req->rpps, RPPS_LEN, &v, &vlen);
    if (rc == 0)
        return svc_fail(call, ES_ALREADY_EXISTS, "rpps", "this RPPS already has an account");
    if (rc != ES_NOT_FOUND)
        return identity_fail_storage(call, rc);

    rc = password_hash(req->password, strlen(req->password), pw_hash);
    if (rc != 0)
        return identity_fail_storage(call, rc);
    Espace__V1__StoredCredential cred = ESPACE__V1__STORED_CREDENTIAL__INIT;
    cred.password_hash = pw_hash;
    Espace__V1__StoredPro p = ESPACE__V1__STORED_PRO__INIT;
    p.rpps = req->rpps;
    p.last_name = req->last_name;
    p.first_name = req->first_name;
    p.profession = req->profession;
    p.credential = &cred;
    p.created_ms = svc_now_ms(call);
    rc = identity_db_save(txn, IDENTITY_T_PROS, req->rpps, RPPS_LEN, &p.base, 1);
    sodium_memzero(pw_hash, sizeof pw_hash);
    if (rc == ES_ALREADY_EXISTS)
        return svc_fail(call, rc, "rpps", "this RPPS already has an account");
    if (rc != 0)
        return identity_fail_storage(call, rc);

    Espace__V1__CreateProfessionalReply rep = ESPACE__V1__CREATE_PROFESSIONAL_REPLY__INIT;
    rep.rpps = req->rpps;
    rc = svc_reply(call, &rep.base);
    if (rc != 0)
        return identity_fail_storage(call, rc);
    log_info(IDENTITY_LOG, "pro.created", "rpps=%s", req->rpps);
    return 0;
}

void identity_consent_register(svc_call_t *call, const char *patient_id)
{
    Espace__V1__RegisterPatientRequest reg = ESPACE__V1__REGISTER_PATIENT_REQUEST__INIT;
    reg.patient_id = (char *)patient_id;
    if (svc_consent_after(call, "RegisterPatient", &reg.base, 0) != 0)
        log_warn(IDENTITY_LOG, "consent.register.unsent", "patient=%s", patient_id);
}

/* ResolvePatient: INS -> patient id, for professionals with a live session
 * and for the local operator (`espace admin patient resolve`).
 * The INS goes through the keyed hash only; it is wiped and never logged. */
int identity_resolve_patient(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                             store_txn_t *txn)
{
    identity_state_t *st = state;
    const Espace__V1__ResolvePatientRequest *req = (const Espace__V1__ResolvePatientRequest *)msg;
    const Espace__V1__Caller *c = svc_caller(call);
    Espace__V1__StoredSession *cur = NULL;
    char ins[INS_LEN + 1], hex[ID_HEX];
    uint8_t pid[ID_BYTES];
    identity_err_t err;
    int rc;

    int operator = c->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR; /* local, ipc */
    if (c->kind != IDENTITY_PRO && !operator)
        return svc_fail(call, ES_PERMISSION_DENIED, NULL, "professionals only");
    if (!operator && (rc = identity_require_session(call, txn, &cur, NULL)) != 0)
        return rc;
    if (cur)
        codec_free(&cur->base);
    if (identity_ins_check(req->ins, ins, &err) != 0)
        return identity_fail(call, &err);
    if (!operator && (rc = identity_resolve_throttled(st, call, c->principal)) != 0) {
        sodium_memzero(ins, sizeof ins);
        return rc;
    }
    identity_account_t a;
    rc = identity_account_load(st, txn, IDENTITY_PATIENT, ins, &a);
    sodium_memzero(ins, sizeof ins);
    if (rc == 0 && a.patient->pending)
        rc = ES_NOT_FOUND; /* a pending account is nobody's yet */
    if (rc == 0 && id_parse(a.principal, pid) != 0)
        rc = ES_INTERNAL;
    identity_account_free(&a);
    if (rc == ES_NOT_FOUND)
        return svc_fail(call, rc, "ins", "no account for this INS");
    if (rc != 0)
        return identity_fail_storage(call, rc);
    Espace__V1__ResolvePatientReply rep = ESPACE__V1__RESOLVE_PATIENT_REPLY__INIT;
    rep.patient_id = (char *)id_hex(pid, hex);
    rc = svc_reply(call, &rep.base);
    if (rc != 0)
        return identity_fail_storage(call, rc);
    if (operator) {
        /* The operator's look-up (support, audit verify) reads no health
         * data: logged here, not an access in the patient's trail. */
        log_info(IDENTITY_LOG, "patient.resolved", "operator=%s patient=%s", c->principal, hex);
        return 0;
    }
    /* The patient's trail shows the resolution: answered only once consent
     * recorded it (UNAVAILABLE otherwise; docs/identity.md). */
    Espace__V1__Caller who = ESPACE__V1__CALLER__INIT;
    who.kind = c->kind;
    who.principal = c->principal;
    Espace__V1__RecordResolutionRequest rec = ESPACE__V1__RECORD_RESOLUTION_REQUEST__INIT;
    rec.accessor = &who;
    rec.patient_id = hex;
    if ((rc = svc_consent_after(call, "RecordResolution", &rec.base, 1)) != 0)
        return svc_fail(call, ES_UNAVAILABLE, NULL, "the access trail cannot record this now");
    log_info(IDENTITY_LOG, "patient.resolved", "rpps=%s patient=%s", c->principal, hex);
    return 0;
}
