/*
 * sessions.c - the identity methods on sessions (identity_int.h): Login,
 * Authenticate, WhoAmI, Logout, ListSessions, RevokeSession; the session
 * check of every non-public method. Login's limits are in limits.c.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/names.h"
#include "proto/status.h"
#include "services/identity/identity_int.h"

/* ---- the session check ---- */

static void s_caller_from_session(Espace__V1__Caller *c, const Espace__V1__StoredSession *s,
                                  const Espace__V1__Caller *from)
{
    c->kind = s->kind;
    c->principal = s->principal;
    c->session_id = s->session_id;
    c->device_id = s->device_id;
    c->session_expires_ms = s->expires_ms;
    /* how the connection reached the broker is kept as stamped */
    if (from) {
        c->peer_role = from->peer_role;
        c->peer_key = from->peer_key ? from->peer_key : (char *)"";
    }
}

int identity_require_session(svc_call_t *call, store_txn_t *txn,
                             Espace__V1__StoredSession **sess, Espace__V1__StoredDevice **dev)
{
    const Espace__V1__Caller *c = svc_caller(call);
    Espace__V1__StoredSession *s = NULL;
    int rc;

    *sess = NULL;
    if (dev)
        *dev = NULL;
    if (c->kind != IDENTITY_PATIENT && c->kind != IDENTITY_PRO)
        return svc_fail(call, ES_UNAUTHENTICATED, NULL, "a session is required");
    rc = identity_db_session_active(txn, c->session_id.data, c->session_id.len, svc_now_ms(call),
                                    &s, dev);
    if (rc == ES_UNAUTHENTICATED)
        return svc_fail(call, rc, NULL, "session not active");
    if (rc != 0)
        return identity_fail_storage(call, rc);
    if ((int)s->kind != (int)c->kind || strcmp(s->principal, c->principal ? c->principal : "")) {
        codec_free(&s->base);
        if (dev) {
            codec_free((ProtobufCMessage *)*dev);
            *dev = NULL;
        }
        return svc_fail(call, ES_UNAUTHENTICATED, NULL, "session not active");
    }
    *sess = s;
    return 0;
}

int identity_require_owned(svc_call_t *call, store_txn_t *txn, const ProtobufCBinaryData *id,
                           const char *field, const char *what, const char *table,
                           const ProtobufCMessageDescriptor *desc,
                           Espace__V1__StoredSession **sess, ProtobufCMessage **out)
{
    Espace__V1__StoredSession *cur = NULL;
    identity_err_t err;
    *out = NULL;
    int rc = identity_require_session(call, txn, &cur, NULL);
    if (rc != 0)
        return rc;
    if (identity_id_check(id, field, &err) != 0)
        rc = identity_fail(call, &err);
    else if ((rc = identity_db_load_owned(txn, table, id->data, desc, cur->kind, cur->principal,
                                          out)) == ES_NOT_FOUND)
        rc = svc_fail(call, rc, field, "no such %s", what);
    else if (rc != 0)
        rc = identity_fail_storage(call, rc);
    if (rc != 0) {
        codec_free(&cur->base);
        return rc;
    }
    *sess = cur;
    return 0;
}

int identity_session_revoke(svc_call_t *call, store_txn_t *txn, Espace__V1__StoredSession *s)
{
    s->revoked = 1;
    s->revoked_ms = svc_now_ms(call);
    int rc = identity_db_save(txn, IDENTITY_T_SESSIONS, s->session_id.data, s->session_id.len,
                              &s->base, 0);
    if (rc != 0)
        return rc;
    Espace__V1__SessionRevoked ev = ESPACE__V1__SESSION_REVOKED__INIT;
    ev.session_id = s->session_id;
    ev.principal = s->principal;
    ev.expires_ms = s->expires_ms;
    rc = svc_publish(call, TOPIC_SESSION_REVOKED, &ev.base);
    if (rc != 0)
        return rc;
    char hex[ID_HEX];
    log_info(IDENTITY_LOG, "session.revoked", "session=%s",
             id_hex_bytes(s->session_id.data, s->session_id.len, hex));
    return 0;
}

/* ---- Login ---- */

/* Housekeeping at each login of an owner: forget its expired sessions
 * (record and index entry; their tokens have expired too), and keep at most
 * IDENTITY_MAX_DEVICE_SESSIONS - 1 live sessions on device `dev_id` by
 * revoking the oldest, so the new session fits and RevokeDevice never has
 * more sessions to announce than one request may publish. */
static int s_sessions_prune(svc_call_t *call, store_txn_t *txn, int kind, const char *principal,
                            const uint8_t dev_id[ID_BYTES])
{
    int64_t now = svc_now_ms(call);
    uint8_t(*ids)[ID_BYTES] = NULL;
    size_t n = 0, live = 0;
    int rc = identity_db_index_list(txn, IDENTITY_T_OWNER_SESSIONS, kind, principal, &ids, &n);
    if (rc != 0)
        return rc;
    uint8_t key[IDENTITY_OWNER_MAX + ID_BYTES];
    size_t plen = identity_db_owner_key(kind, principal, key);
    for (size_t i = 0; i < n; i++) {
        ProtobufCMessage *m = NULL;
        rc = identity_db_load(txn, IDENTITY_T_SESSIONS, ids[i], ID_BYTES,
                              &espace__v1__stored_session__descriptor, &m);
        if (rc != 0 && rc != ES_NOT_FOUND)
            goto done;
        Espace__V1__StoredSession *s = (Espace__V1__StoredSession *)m;
        if (!s || now >= s->expires_ms) {
            memcpy(key + plen, ids[i], ID_BYTES);
            rc = store_del(txn, IDENTITY_T_OWNER_SESSIONS, key, plen + ID_BYTES);
            if (rc == 0 && s)
                rc = store_del(txn, IDENTITY_T_SESSIONS, ids[i], ID_BYTES);
            codec_free(m);
            if (rc != 0 && rc != ES_NOT_FOUND)
                goto done;
            continue;
        }
        int on_dev = !s->revoked && s->device_id.len == ID_BYTES &&
                     memcmp(s->device_id.data, dev_id, ID_BYTES) == 0;
        codec_free(m);
        if (on_dev)
            memmove(ids[live++], ids[i], ID_BYTES); /* keep the live ones */
    }
    /* The index is in id order, not time order: revoke by created_ms. */
    while (live >= IDENTITY_MAX_DEVICE_SESSIONS) {
        Espace__V1__StoredSession *oldest = NULL;
        size_t at = 0;
        for (size_t i = 0; i < live; i++) {
            ProtobufCMessage *m = NULL;
            if ((rc = identity_db_load(txn, IDENTITY_T_SESSIONS, ids[i], ID_BYTES,
                                       &espace__v1__stored_session__descriptor, &m)) != 0) {
                codec_free((ProtobufCMessage *)oldest);
                goto done;
            }
            Espace__V1__StoredSession *s = (Espace__V1__StoredSession *)m;
            if (!oldest || s->created_ms < oldest->created_ms) {
                codec_free((ProtobufCMessage *)oldest);
                oldest = s;
                at = i;
            } else {
                codec_free(m);
            }
        }
        rc = identity_session_revoke(call, txn, oldest);
        codec_free(&oldest->base);
        if (rc != 0)
            goto done;
        memmove(ids[at], ids[at + 1], (live - at - 1) * ID_BYTES);
        live--;
    }
    rc = 0;
done:
    free(ids);
    return rc;
}

/* The new session s of account a on device dev_id: stored, indexed, its
 * token signed and the reply sent. Returns the call's status. */
static int s_login_reply(identity_state_t *st, svc_call_t *call, store_txn_t *txn,
                         const identity_account_t *a, Espace__V1__StoredSession *s)
{
    token_fields_t tf;
    char token[TOKEN_MAX_TEXT];
    int rc = identity_db_save(txn, IDENTITY_T_SESSIONS, s->session_id.data, ID_BYTES, &s->base,
                              1);
    if (rc == 0)
        rc = identity_db_index_add(txn, IDENTITY_T_OWNER_SESSIONS, a->kind, a->principal,
                                   s->session_id.data, s->created_ms);
    if (rc != 0)
        return identity_fail_storage(call, rc);

    memset(&tf, 0, sizeof tf);
    tf.kind = (uint8_t)a->kind;
    memcpy(tf.session_id, s->session_id.data, ID_BYTES);
    memcpy(tf.device_id, s->device_id.data, ID_BYTES);
    tf.expires_ms = s->expires_ms;
    tf.issued_ms = s->created_ms;
    snprintf(tf.principal, sizeof tf.principal, "%s", a->principal);
    if (token_sign(st->secret_key, &tf, token) != 0)
        return svc_fail(call, ES_INTERNAL, NULL, "token signing failed");

    Espace__V1__Caller caller = ESPACE__V1__CALLER__INIT;
    s_caller_from_session(&caller, s, svc_caller(call));
    Espace__V1__LoginReply rep = ESPACE__V1__LOGIN_REPLY__INIT;
    rep.token = token;
    rep.session_id = s->session_id;
    rep.device_id = s->device_id;
    rep.expires_ms = s->expires_ms;
    rep.caller = &caller;
    rc = svc_reply(call, &rep.base);
    sodium_memzero(token, sizeof token);
    if (rc != 0)
        return identity_fail_storage(call, rc);
    if (a->kind == IDENTITY_PATIENT)
        identity_consent_register(call, a->principal);
    char sh[ID_HEX], dh[ID_HEX];
    log_info(IDENTITY_LOG, "login.ok", "%s=%s session=%s device=%s",
             a->kind == IDENTITY_PATIENT ? "patient" : "rpps", a->principal,
             id_hex(s->session_id.data, sh), id_hex(s->device_id.data, dh));
    return 0;
}

/* 1 if the request came through a gateway (the edge): its peer role when it
 * reached the broker on tcp, or the client address a gateway stamps (on ipc
 * and inproc the broker sees the edge as a local peer). */
static int s_via_gateway(const Espace__V1__Caller *c)
{
    return c != NULL && (c->peer_role == ESPACE__V1__PEER_ROLE__PEER_GATEWAY ||
                         (c->source_address != NULL && c->source_address[0] != '\0'));
}

int identity_login(void *state, svc_call_t *call, const ProtobufCMessage *msg, store_txn_t *txn)
{
    identity_state_t *st = state;
    const Espace__V1__LoginRequest *req = (const Espace__V1__LoginRequest *)msg;
    int64_t now = svc_now_ms(call);
    char id[INS_LEN + 1];
    identity_account_t a;
    identity_login_source_t src;
    identity_err_t err;
    const char *field = NULL;
    uint8_t dev_id[ID_BYTES], sess_id[ID_BYTES];
    int kind, rc, found;

    memset(&a, 0, sizeof a);
    if (identity_login_check(req, &kind, id, &err) != 0)
        return identity_fail(call, &err);
    if (kind == IDENTITY_PRO && s_via_gateway(svc_caller(call))) {
        /* Professionals log in with their own software (a pro key), never
         * through a patients' gateway, where RPPS numbers (public) and
         * guessed passwords would come from anyone. Refused before the
         * throttle and Argon2id: no failure is counted, so nobody can lock a
         * professional out through the edge. */
        log_info(IDENTITY_LOG, "login.refused", "reason=gateway rpps=%s", id);
        sodium_memzero(id, sizeof id);
        return svc_fail(call, ES_PERMISSION_DENIED, "rpps",
                        "professionals log in with their software, not through a gateway");
    }
    size_t pw_len = strlen(req->password);
    rc = identity_account_load(st, txn, kind, id, &a);
    if (rc != 0 && rc != ES_NOT_FOUND) {
        sodium_memzero(id, sizeof id);
        return identity_fail_storage(call, rc);
    }
    found = rc == 0;
    int known = found && identity_device_known(txn, &a, req->device_id.data, req->device_id.len);
    /* the same buckets, answers and Argon2id cost whether the account exists */
    identity_login_source(st, call, kind, id, known ? req->device_id.data : NULL, &src);
    sodium_memzero(id, sizeof id);
    if ((rc = identity_login_throttled(st, call, &src)) != 0)
        goto done;
    int pool = known ? IDENTITY_POOL_KNOWN : IDENTITY_POOL_OTHER;
    if ((rc = identity_pwhash_admit(st, call, pool)) != 0)
        goto done;
    if (identity_pwverify(st, pool, found ? a.cred->password_hash : NULL, req->password,
                          pw_len) != 0) {
        identity_login_count_failure(st, call, &src);
        log_info(IDENTITY_LOG, "login.failed", "known_device=%d", known);
        rc = svc_fail(call, ES_UNAUTHENTICATED, NULL, "invalid credentials");
        goto done;
    }
    identity_login_count_success(st, &src);
    if (a.patient && a.patient->pending) {
        log_info(IDENTITY_LOG, "login.pending", "patient=%s", a.principal);
        rc = svc_fail(call, ES_FAILED_PRECONDITION, "ins", "account not activated");
        goto done;
    }
    if ((rc = identity_deadline_check(call)) != 0)
        goto done;

    /* success */
    rc = identity_device_for_login(call, txn, &a, req, dev_id, &field);
    if (rc == ES_FAILED_PRECONDITION) {
        rc = svc_fail(call, rc, field, "this device has other keys already");
        goto done;
    }
    if (rc != 0)
        goto internal;
    if ((rc = s_sessions_prune(call, txn, kind, a.principal, dev_id)) != 0)
        goto internal;

    randombytes_buf(sess_id, ID_BYTES);
    Espace__V1__StoredSession s = ESPACE__V1__STORED_SESSION__INIT;
    s.session_id.data = sess_id;
    s.session_id.len = ID_BYTES;
    s.kind = (Espace__V1__PrincipalKind)kind;
    s.principal = a.principal;
    s.device_id.data = dev_id;
    s.device_id.len = ID_BYTES;
    s.created_ms = now;
    s.expires_ms = now + IDENTITY_SESSION_MS;
    rc = s_login_reply(st, call, txn, &a, &s);
    goto done;
internal:
    rc = identity_fail_storage(call, rc);
done:
    identity_account_free(&a);
    return rc;
}

/* ---- the other session methods ---- */

int identity_authenticate(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                          store_txn_t *txn)
{
    identity_state_t *st = state;
    const Espace__V1__AuthenticateRequest *req = (const Espace__V1__AuthenticateRequest *)msg;
    token_fields_t tf;
    Espace__V1__StoredSession *s = NULL;
    int64_t now = svc_now_ms(call);
    int rc;

    if (token_verify(st->public_key, req->token, now, &tf) != 0)
        return svc_fail(call, ES_UNAUTHENTICATED, NULL, "invalid or expired token");
    rc = identity_db_session_active(txn, tf.session_id, ID_BYTES, now, &s, NULL);
    if (rc == ES_UNAUTHENTICATED)
        return svc_fail(call, rc, NULL, "session not active");
    if (rc != 0)
        return identity_fail_storage(call, rc);
    if ((int)s->kind != tf.kind || strcmp(s->principal, tf.principal) != 0 ||
        memcmp(s->device_id.data, tf.device_id, ID_BYTES) != 0 ||
        s->expires_ms != tf.expires_ms) {
        codec_free(&s->base);
        return svc_fail(call, ES_UNAUTHENTICATED, NULL, "session not active");
    }
    Espace__V1__Caller caller = ESPACE__V1__CALLER__INIT;
    s_caller_from_session(&caller, s, svc_caller(call));
    Espace__V1__AuthenticateReply rep = ESPACE__V1__AUTHENTICATE_REPLY__INIT;
    rep.caller = &caller;
    rc = svc_reply(call, &rep.base);
    codec_free(&s->base);
    return rc != 0 ? identity_fail_storage(call, rc) : 0;
}

int identity_who_am_i(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                      store_txn_t *txn)
{
    (void)state;
    (void)msg;
    Espace__V1__StoredSession *s = NULL;
    ProtobufCMessage *m = NULL;
    char name[512] = "";
    int rc = identity_require_session(call, txn, &s, NULL);
    if (rc != 0)
        return rc;

    Espace__V1__WhoAmIReply rep = ESPACE__V1__WHO_AM_IREPLY__INIT;
    if (s->kind == IDENTITY_PATIENT) {
        uint8_t pid[ID_BYTES];
        if ((rc = id_parse(s->principal, pid)) != 0) {
            rc = ES_INTERNAL;
            goto cleanup;
        }
        rc = identity_db_load(txn, IDENTITY_T_PATIENTS, pid, ID_BYTES,
                              &espace__v1__stored_patient__descriptor, &m);
        if (rc != 0)
            goto cleanup;
        Espace__V1__StoredPatient *p = (Espace__V1__StoredPatient *)m;
        snprintf(name, sizeof name, "%s %s", p->n_first_names ? p->first_names[0] : "",
                 p->birth_names);
    } else {
        rc = identity_db_load(txn, IDENTITY_T_PROS, s->principal, strlen(s->principal),
                              &espace__v1__stored_pro__descriptor, &m);
        if (rc != 0)
            goto cleanup;
        Espace__V1__StoredPro *p = (Espace__V1__StoredPro *)m;
        snprintf(name, sizeof name, "%s %s", p->first_name, p->last_name);
        rep.profession = p->profession;
    }
    Espace__V1__Caller caller = ESPACE__V1__CALLER__INIT;
    s_caller_from_session(&caller, s, svc_caller(call));
    rep.caller = &caller;
    rep.display_name = name;
    rc = svc_reply(call, &rep.base);
cleanup:
    codec_free(m);
    codec_free(&s->base);
    return rc != 0 ? identity_fail_storage(call, rc) : 0;
}

int identity_logout(void *state, svc_call_t *call, const ProtobufCMessage *msg, store_txn_t *txn)
{
    (void)state;
    (void)msg;
    Espace__V1__StoredSession *s = NULL;
    int rc = identity_require_session(call, txn, &s, NULL);
    if (rc != 0)
        return rc;
    rc = identity_session_revoke(call, txn, s);
    codec_free(&s->base);
    if (rc != 0)
        return identity_fail_storage(call, rc);
    Espace__V1__LogoutReply rep = ESPACE__V1__LOGOUT_REPLY__INIT;
    rc = svc_reply(call, &rep.base);
    return rc != 0 ? identity_fail_storage(call, rc) : 0;
}

int identity_list_sessions(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                           store_txn_t *txn)
{
    (void)state;
    (void)msg;
    Espace__V1__StoredSession *cur = NULL;
    identity_records_t r;
    size_t k = 0;
    int64_t now = svc_now_ms(call);
    int rc = identity_require_session(call, txn, &cur, NULL);
    if (rc != 0)
        return rc;

    rc = identity_db_owner_records(txn, IDENTITY_T_OWNER_SESSIONS, IDENTITY_T_SESSIONS,
                                   &espace__v1__stored_session__descriptor, cur->kind,
                                   cur->principal, sizeof(Espace__V1__SessionInfo), &r);
    if (rc != 0)
        goto cleanup;
    Espace__V1__SessionInfo *infos = r.items, **ptrs = r.ptrs;
    for (size_t i = 0; i < r.n; i++) {
        Espace__V1__StoredSession *s = (Espace__V1__StoredSession *)r.loaded[i];
        if (!s || s->revoked || now >= s->expires_ms)
            continue;
        Espace__V1__SessionInfo *si = &infos[k];
        espace__v1__session_info__init(si);
        si->session_id = s->session_id;
        si->device_id = s->device_id;
        si->created_ms = s->created_ms;
        si->expires_ms = s->expires_ms;
        si->current = s->session_id.len == cur->session_id.len &&
                      memcmp(s->session_id.data, cur->session_id.data, ID_BYTES) == 0;
        ptrs[k++] = si;
    }
    Espace__V1__ListSessionsReply rep = ESPACE__V1__LIST_SESSIONS_REPLY__INIT;
    rep.n_sessions = k;
    rep.sessions = ptrs;
    rc = svc_reply(call, &rep.base);
    identity_db_records_free(&r);
cleanup:
    codec_free(&cur->base);
    return rc != 0 ? identity_fail_storage(call, rc) : 0;
}

int identity_revoke_session(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                            store_txn_t *txn)
{
    (void)state;
    const Espace__V1__RevokeSessionRequest *req = (const Espace__V1__RevokeSessionRequest *)msg;
    Espace__V1__StoredSession *cur = NULL;
    ProtobufCMessage *m = NULL;
    int rc = identity_require_owned(call, txn, &req->session_id, "session_id", "session",
                                    IDENTITY_T_SESSIONS, &espace__v1__stored_session__descriptor,
                                    &cur, &m);
    if (rc != 0)
        return rc;
    Espace__V1__StoredSession *s = (Espace__V1__StoredSession *)m;
    if (!s->revoked && (rc = identity_session_revoke(call, txn, s)) != 0) {
        rc = identity_fail_storage(call, rc);
        goto cleanup;
    }
    Espace__V1__RevokeSessionReply rep = ESPACE__V1__REVOKE_SESSION_REPLY__INIT;
    rc = svc_reply(call, &rep.base);
    if (rc != 0)
        rc = identity_fail_storage(call, rc);
cleanup:
    codec_free(m);
    codec_free(&cur->base);
    return rc;
}
