/*
 * activation.c - the identity methods that activate a pending patient
 * account (identity_int.h): IssueActivationCode (operator) and
 * ActivateAccount (public).
 *
 * A code is IDENTITY_ACTIVATION_CODE_LEN random digits, kept only as a keyed
 * hash in `activations` under the INS's key, valid IDENTITY_ACTIVATION_MS,
 * burnt after IDENTITY_ACTIVATION_TRIES wrong attempts or its use. Codes,
 * INS and passwords are wiped after use and never logged.
 */
#include <sodium.h>
#include <string.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/status.h"
#include "services/identity/identity_int.h"

/* The keyed hash of a code, as stored. */
static void s_code_hash(const store_t *store, const char *code, uint8_t out[STORE_HASH_BYTES])
{
    store_keyed_hash(store, "activation", code, IDENTITY_ACTIVATION_CODE_LEN, out);
}

int identity_issue_activation_code(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                                   store_txn_t *txn)
{
    identity_state_t *st = state;
    const Espace__V1__IssueActivationCodeRequest *req =
        (const Espace__V1__IssueActivationCodeRequest *)msg;
    char ins[INS_LEN + 1], code[IDENTITY_ACTIVATION_CODE_LEN + 1];
    uint8_t key[STORE_HASH_BYTES], hash[STORE_HASH_BYTES];
    identity_account_t a;
    identity_err_t err;
    int rc;

    memset(&a, 0, sizeof a);
    if (identity_ins_check(req->ins, ins, &err) != 0)
        return identity_fail(call, &err);
    identity_db_ins_key(st->store, ins, key);
    rc = identity_account_load(st, txn, IDENTITY_PATIENT, ins, &a);
    sodium_memzero(ins, sizeof ins);
    if (rc == ES_NOT_FOUND || (rc == 0 && !a.patient->pending)) {
        rc = svc_fail(call, ES_NOT_FOUND, "ins", "no pending account for this INS");
        goto done;
    }
    if (rc != 0)
        goto internal;

    for (size_t i = 0; i < IDENTITY_ACTIVATION_CODE_LEN; i++)
        code[i] = (char)('0' + randombytes_uniform(10));
    code[IDENTITY_ACTIVATION_CODE_LEN] = '\0';
    s_code_hash(st->store, code, hash);
    Espace__V1__StoredActivation act = ESPACE__V1__STORED_ACTIVATION__INIT;
    act.code_hash.data = hash;
    act.code_hash.len = sizeof hash;
    act.expires_ms = svc_now_ms(call) + IDENTITY_ACTIVATION_MS;
    if ((rc = identity_db_save(txn, IDENTITY_T_ACTIVATIONS, key, sizeof key, &act.base, 0)) != 0)
        goto internal;
    Espace__V1__IssueActivationCodeReply rep = ESPACE__V1__ISSUE_ACTIVATION_CODE_REPLY__INIT;
    rep.code = code;
    rep.expires_ms = act.expires_ms;
    if ((rc = svc_reply(call, &rep.base)) != 0)
        goto internal;
    log_info(IDENTITY_LOG, "activation.issued", "patient=%s", a.principal);
    goto done;
internal:
    rc = identity_fail_storage(call, rc);
done:
    sodium_memzero(code, sizeof code);
    identity_account_free(&a);
    return rc;
}

/* A wrong attempt on the code act under key: counted, the code burnt at
 * IDENTITY_ACTIVATION_TRIES. 0 or a storage error. */
static int s_attempt_failed(store_txn_t *txn, const uint8_t key[STORE_HASH_BYTES],
                            Espace__V1__StoredActivation *act)
{
    if (++act->failures >= IDENTITY_ACTIVATION_TRIES)
        return store_del(txn, IDENTITY_T_ACTIVATIONS, key, STORE_HASH_BYTES);
    return identity_db_save(txn, IDENTITY_T_ACTIVATIONS, key, STORE_HASH_BYTES, &act->base, 0);
}

int identity_activate_account(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                              store_txn_t *txn)
{
    identity_state_t *st = state;
    const Espace__V1__ActivateAccountRequest *req =
        (const Espace__V1__ActivateAccountRequest *)msg;
    char ins[INS_LEN + 1], code[IDENTITY_ACTIVATION_CODE_LEN + 1];
    uint8_t key[STORE_HASH_BYTES], hash[STORE_HASH_BYTES];
    Espace__V1__StoredActivation *act = NULL;
    identity_account_t a;
    identity_err_t err;
    int rc;

    memset(&a, 0, sizeof a);
    if (identity_activate_check(req, ins, code, &err) != 0)
        return identity_fail(call, &err);
    if ((rc = identity_pwhash_admit(st, call, IDENTITY_POOL_OTHER)) != 0)
        goto done;
    identity_db_ins_key(st->store, ins, key);
    rc = identity_account_load(st, txn, IDENTITY_PATIENT, ins, &a);
    if (rc != 0 && rc != ES_NOT_FOUND)
        goto internal;
    int pending = rc == 0 && a.patient->pending;
    rc = identity_db_load(txn, IDENTITY_T_ACTIVATIONS, key, sizeof key,
                          &espace__v1__stored_activation__descriptor, (ProtobufCMessage **)&act);
    if (rc != 0 && rc != ES_NOT_FOUND)
        goto internal;
    /* the same Argon2id cost in every case, before the code is compared */
    int pw_ok = identity_pwverify(st, IDENTITY_POOL_OTHER,
                                  pending ? a.cred->password_hash : NULL, req->password,
                                  strlen(req->password)) == 0;
    s_code_hash(st->store, code, hash);
    int code_ok = act && act->code_hash.len == sizeof hash &&
                  sodium_memcmp(act->code_hash.data, hash, sizeof hash) == 0;
    int live = act && svc_now_ms(call) < act->expires_ms;
    if (!(pending && live && code_ok && pw_ok)) {
        if (act && (rc = s_attempt_failed(txn, key, act)) != 0)
            goto internal;
        log_info(IDENTITY_LOG, "activation.failed", "code_kept=%d",
                 act && act->failures < IDENTITY_ACTIVATION_TRIES);
        svc_fail(call, ES_UNAUTHENTICATED, NULL, "invalid activation code");
        rc = 0; /* keep the count of wrong attempts */
        goto done;
    }
    if ((rc = identity_deadline_check(call)) != 0)
        goto done; /* the caller was told it failed: the code stays */

    a.patient->pending = 0;
    if ((rc = identity_account_save(txn, &a)) != 0 ||
        (rc = store_del(txn, IDENTITY_T_ACTIVATIONS, key, sizeof key)) != 0)
        goto internal;
    Espace__V1__ActivateAccountReply rep = ESPACE__V1__ACTIVATE_ACCOUNT_REPLY__INIT;
    rep.patient_id = a.principal;
    if ((rc = svc_reply(call, &rep.base)) != 0)
        goto internal;
    identity_consent_register(call, a.principal);
    log_info(IDENTITY_LOG, "patient.activated", "patient=%s", a.principal);
    goto done;
internal:
    rc = identity_fail_storage(call, rc);
done:
    codec_free((ProtobufCMessage *)act);
    identity_account_free(&a);
    sodium_memzero(ins, sizeof ins);
    sodium_memzero(code, sizeof code);
    return rc;
}
