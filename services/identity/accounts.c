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

/* Store a new patient (record and INS index) whose INS hashes to ins_key. */
static int s_patient_store(store_txn_t *txn, const Espace__V1__SignUpPatientRequest *req,
                           char *ins, const uint8_t ins_key[STORE_HASH_BYTES],
                           const uint8_t pid[ID_BYTES], int64_t now)
{
    char pw_hash[PASSWORD_HASH_MAX];
    int rc = password_hash(req->password, strlen(req->password), pw_hash);
    if (rc != 0)
        return rc;
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
    p.credential = &cred;
    p.created_ms = now;
    rc = identity_db_save(txn, IDENTITY_T_PATIENTS, pid, ID_BYTES, &p.base, 1);
    if (rc == 0) {
        Espace__V1__StoredPatientRef ref = ESPACE__V1__STORED_PATIENT_REF__INIT;
        ref.patient_id = p.patient_id;
        rc = identity_db_save(txn, IDENTITY_T_BY_INS, ins_key, STORE_HASH_BYTES, &ref.base, 1);
    }
    sodium_memzero(pw_hash, sizeof pw_hash);
    return rc;
}

int identity_sign_up_patient(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                             store_txn_t *txn)
{
    identity_state_t *st = state;
    const Espace__V1__SignUpPatientRequest *req = (const Espace__V1__SignUpPatientRequest *)msg;
    int64_t now = svc_now_ms(call);
    char ins[INS_LEN + 1], hex[ID_HEX];
    uint8_t ins_key[STORE_HASH_BYTES], pid[ID_BYTES];
    identity_err_t err;
    const void *v;
    size_t vlen;
    int rc;

    if (identity_sign_up_check(req, now, ins, &err) != 0)
        return identity_fail(call, &err);
    identity_db_ins_key(st->store, ins, ins_key);
    rc = store_get(txn, IDENTITY_T_BY_INS, ins_key, sizeof ins_key, &v, &vlen);
    if (rc == 0) {
        rc = svc_fail(call, ES_ALREADY_EXISTS, "ins", "this INS already has an account");
        goto cleanup;
    }
    if (rc != ES_NOT_FOUND)
        goto internal;
    randombytes_buf(pid, sizeof pid);
    if ((rc = s_patient_store(txn, req, ins, ins_key, pid, now)) != 0)
        goto internal;

    Espace__V1__SignUpPatientReply rep = ESPACE__V1__SIGN_UP_PATIENT_REPLY__INIT;
    rep.patient_id = (char *)id_hex(pid, hex);
    if ((rc = svc_reply(call, &rep.base)) != 0)
        goto internal;
    log_info(IDENTITY_LOG, "patient.created", "patient=%s", hex);
    goto cleanup;
internal:
    rc = identity_fail_storage(call, rc);
cleanup:
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

/* ResolvePatient: INS -> patient id, for professionals with a live session.
 * The INS goes through the keyed hash only; it is wiped and never logged. */
int identity_resolve_patient(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                             store_txn_t *txn)
{
    identity_state_t *st = state;
    const Espace__V1__ResolvePatientRequest *req = (const Espace__V1__ResolvePatientRequest *)msg;
    const Espace__V1__Caller *c = svc_caller(call);
    Espace__V1__StoredSession *cur = NULL;
    char ins[INS_LEN + 1], hex[ID_HEX];
    uint8_t key[STORE_HASH_BYTES], pid[ID_BYTES];
    identity_err_t err;
    int rc;

    if (c->kind != IDENTITY_PRO)
        return svc_fail(call, ES_PERMISSION_DENIED, NULL, "professionals only");
    if ((rc = identity_require_session(call, txn, &cur, NULL)) != 0)
        return rc;
    codec_free(&cur->base);
    if (identity_ins_check(req->ins, ins, &err) != 0)
        return identity_fail(call, &err);
    identity_db_ins_key(st->store, ins, key);
    sodium_memzero(ins, sizeof ins);
    rc = identity_db_patient_by_ins(txn, key, pid);
    if (rc == ES_NOT_FOUND)
        return svc_fail(call, rc, "ins", "no account for this INS");
    if (rc != 0)
        return identity_fail_storage(call, rc);
    Espace__V1__ResolvePatientReply rep = ESPACE__V1__RESOLVE_PATIENT_REPLY__INIT;
    rep.patient_id = (char *)id_hex(pid, hex);
    rc = svc_reply(call, &rep.base);
    if (rc != 0)
        return identity_fail_storage(call, rc);
    log_info(IDENTITY_LOG, "patient.resolved", "rpps=%s patient=%s", c->principal, hex);
    return 0;
}
