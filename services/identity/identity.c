/*
 * identity.c - the identity service's handlers (see identity.h).
 */
#include "services/identity/identity.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/codec.h"
#include "espace/v1/common.pb-c.h"
#include "espace/v1/identity.pb-c.h"
#include "espace/v1/identity_records.pb-c.h"
#include "proto/ins.h"
#include "process/log.h"
#include "services/identity/password.h"
#include "proto/rpps.h"
#include "proto/status.h"
#include "services/identity/token.h"

#define S_ID 16                        /* bytes of patient, session, device ids */
#define S_HEX (2 * S_ID + 1)           /* hex text of an id, with NUL */
#define S_OWNER_MAX (2 + TOKEN_MAX_PRINCIPAL) /* kind | len | principal */
#define S_NAME_MAX 100                 /* birth names, pro names, profession */
#define S_FIRST_MAX 60                 /* one first name */
#define S_FIRST_COUNT 10               /* first names */
#define S_PW_MIN 12
#define S_PW_MAX 256
#define S_DEVICE_NAME_MAX 64
#define S_LIST_MAX 1000                /* most sessions / devices listed */

/* table names */
#define T_PATIENTS "patients"
#define T_BY_INS "patient_by_ins"
#define T_PROS "pros"
#define T_SESSIONS "sessions"
#define T_DEVICES "devices"
#define T_OWNER_SESSIONS "owner_sessions"
#define T_OWNER_DEVICES "owner_devices"

#define COMP "identity"
#define KIND_PATIENT ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT
#define KIND_PRO ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL

typedef struct identity_state {
    store_t *store;                               /* borrowed from the runtime */
    uint8_t public_key[TOKEN_PUBLIC_BYTES];
    uint8_t secret_key[TOKEN_SECRET_BYTES];       /* wiped in fini */
    char dummy_hash[PASSWORD_HASH_MAX];           /* verified for unknown accounts */
} identity_state_t;

/* A loaded account (patient or professional) during Login. */
typedef struct s_account {
    int kind;                                  /* KIND_PATIENT / KIND_PRO */
    char principal[TOKEN_MAX_PRINCIPAL + 1];
    Espace__V1__StoredPatient *patient;        /* owned, or NULL */
    Espace__V1__StoredPro *pro;                /* owned, or NULL */
    Espace__V1__StoredCredential *cred;        /* borrowed from the above */
} s_account_t;

long long identity_lock_ms(unsigned failures)
{
    if (failures < IDENTITY_LOCK_AFTER)
        return 0;
    unsigned shift = failures - IDENTITY_LOCK_AFTER;
    if (shift >= 20)
        return IDENTITY_LOCK_MAX_MS;
    long long ms = IDENTITY_LOCK_BASE_MS << shift;
    return ms > IDENTITY_LOCK_MAX_MS ? IDENTITY_LOCK_MAX_MS : ms;
}

/* ---------------------------------------------------------------- helpers */

static const char *s_hex(const uint8_t id[S_ID], char out[S_HEX])
{
    sodium_bin2hex(out, S_HEX, id, S_ID);
    return out;
}

/* Parse 32 lower-case hex chars into 16 bytes; 0 or ES_INVALID_ARGUMENT. */
static int s_unhex(const char *hex, uint8_t id[S_ID])
{
    size_t bin_len = 0;
    const char *end = NULL;
    if (!hex || strlen(hex) != 2 * S_ID)
        return ES_INVALID_ARGUMENT;
    for (size_t i = 0; i < 2 * S_ID; i++) {
        char c = hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return ES_INVALID_ARGUMENT;
    }
    if (sodium_hex2bin(id, S_ID, hex, 2 * S_ID, NULL, &bin_len, &end) != 0 || bin_len != S_ID)
        return ES_INVALID_ARGUMENT;
    return 0;
}

/* Text field check: valid UTF-8, no control character (C0, DEL, C1), and
 * between min and max code points. */
static int s_text_ok(const char *s, size_t min, size_t max)
{
    if (!s)
        return 0;
    size_t len = strlen(s);
    if (len > 4 * max || !codec_utf8_valid(s, len))
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned c = p[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
            return 0; /* U+0080..U+009F */
        if ((c & 0xc0) != 0x80)
            n++;
    }
    return n >= min && n <= max;
}

/* A name must also hold something other than spaces. */
static int s_name_ok(const char *s, size_t max)
{
    if (!s_text_ok(s, 1, max))
        return 0;
    for (const char *p = s; *p; p++)
        if (*p != ' ')
            return 1;
    return 0;
}

static int s_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* YYYY-MM-DD, a real date, 1890-01-01 <= d <= today (UTC of now_ms). */
static int s_birth_date_ok(const char *s, int64_t now_ms)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    char today[16];
    struct tm tm;
    time_t t = (time_t)(now_ms / 1000);

    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (m < 1 || m > 12 || d < 1)
        return 0;
    if (d > mdays[m - 1] + (m == 2 && s_leap(y) ? 1 : 0))
        return 0;
    if (strcmp(s, "1890-01-01") < 0)
        return 0;
    if (!gmtime_r(&t, &tm) || strftime(today, sizeof today, "%Y-%m-%d", &tm) != 10)
        return 0;
    return strcmp(s, today) <= 0;
}

/* Owner key: kind | strlen(principal) | principal. Returns its length. */
static size_t s_owner_key(int kind, const char *principal, uint8_t out[S_OWNER_MAX])
{
    size_t n = strnlen(principal, TOKEN_MAX_PRINCIPAL);
    out[0] = (uint8_t)kind;
    out[1] = (uint8_t)n;
    memcpy(out + 2, principal, n);
    return 2 + n;
}

/* Load and decode a stored record. 0, ES_NOT_FOUND, or ES_INTERNAL. */
static int s_load(store_txn_t *txn, const char *table, const void *key, size_t klen,
                  const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out)
{
    const void *val;
    size_t vlen;
    *out = NULL;
    int rc = store_get(txn, table, key, klen, &val, &vlen);
    if (rc == ES_NOT_FOUND)
        return rc;
    if (rc != 0)
        return ES_INTERNAL;
    if (codec_decode(desc, val, vlen, STORE_MAX_VALUE, out, NULL) != 0) {
        log_error(COMP, "record.corrupt", "table=%s", table);
        return ES_INTERNAL;
    }
    return 0;
}

/* Encode and store a record; is_new = 1 refuses an existing key with
 * ES_ALREADY_EXISTS. Other failures are ES_INTERNAL (or ES_TOO_LARGE). */
static int s_save(store_txn_t *txn, const char *table, const void *key, size_t klen,
                  const ProtobufCMessage *msg, int is_new)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = codec_pack(msg, &buf, &len);
    if (rc != 0)
        return rc;
    rc = is_new ? store_put_new(txn, table, key, klen, buf, len)
                : store_put(txn, table, key, klen, buf, len);
    free(buf);
    if (rc != 0 && rc != ES_ALREADY_EXISTS && rc != ES_TOO_LARGE)
        rc = ES_INTERNAL;
    return rc;
}

static int s_index_add(store_txn_t *txn, const char *table, int kind, const char *principal,
                       const uint8_t id[S_ID], int64_t now)
{
    uint8_t key[S_OWNER_MAX + S_ID];
    size_t n = s_owner_key(kind, principal, key);
    memcpy(key + n, id, S_ID);
    Espace__V1__StoredIndexEntry e = ESPACE__V1__STORED_INDEX_ENTRY__INIT;
    e.created_ms = now;
    return s_save(txn, table, key, n + S_ID, &e.base, 0);
}

/* The ids listed under an owner in an index table (at most S_LIST_MAX).
 * *ids is malloc'd (caller frees), *n entries. */
static int s_index_list(store_txn_t *txn, const char *table, int kind, const char *principal,
                        uint8_t (**ids)[S_ID], size_t *n)
{
    uint8_t prefix[S_OWNER_MAX];
    size_t plen = s_owner_key(kind, principal, prefix);
    store_cursor_t *cur = NULL;
    const void *k, *v;
    size_t klen, vlen, cap = 0;
    int rc;

    *ids = NULL;
    *n = 0;
    if (store_cursor_open(txn, table, prefix, plen, &cur) != 0)
        return ES_INTERNAL;
    while ((rc = store_cursor_next(cur, &k, &klen, &v, &vlen)) == 0) {
        if (klen != plen + S_ID || memcmp(k, prefix, plen) != 0)
            break;
        if (*n == S_LIST_MAX)
            break;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            uint8_t(*nids)[S_ID] = realloc(*ids, ncap * S_ID);
            if (!nids) {
                rc = ES_RESOURCE_EXHAUSTED;
                goto fail;
            }
            *ids = nids;
            cap = ncap;
        }
        memcpy((*ids)[*n], (const uint8_t *)k + plen, S_ID);
        (*n)++;
    }
    if (rc != 0 && rc != ES_NOT_FOUND) {
        rc = ES_INTERNAL;
        goto fail;
    }
    store_cursor_close(&cur);
    return 0;
fail:
    store_cursor_close(&cur);
    free(*ids);
    *ids = NULL;
    *n = 0;
    return rc;
}

/* Free what s_owner_records loaded (n slots, some NULL). */
static void s_records_free(ProtobufCMessage **loaded, size_t n)
{
    for (size_t i = 0; loaded && i < n; i++)
        codec_free(loaded[i]);
    free(loaded);
}

/* Load every record of an owner: the ids under (kind, principal) in the
 * owner index `index`, each read from `table` and decoded with `desc`.
 * *loaded gets *n slots, NULL where the index names a missing record;
 * caller frees with s_records_free. 0 or ES_INTERNAL /
 * ES_RESOURCE_EXHAUSTED (nothing to free then). */
static int s_owner_records(store_txn_t *txn, const char *index, const char *table,
                           const ProtobufCMessageDescriptor *desc, int kind,
                           const char *principal, ProtobufCMessage ***loaded, size_t *n)
{
    uint8_t(*ids)[S_ID] = NULL;
    size_t count = 0;
    *loaded = NULL;
    *n = 0;
    int rc = s_index_list(txn, index, kind, principal, &ids, &count);
    if (rc != 0)
        return rc;
    ProtobufCMessage **l = calloc(count ? count : 1, sizeof *l);
    if (!l) {
        rc = ES_RESOURCE_EXHAUSTED;
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
        rc = s_load(txn, table, ids[i], S_ID, desc, &l[i]);
        if (rc == ES_NOT_FOUND)
            rc = 0;
        if (rc != 0) {
            s_records_free(l, count);
            goto cleanup;
        }
    }
    *loaded = l;
    *n = count;
cleanup:
    free(ids);
    return rc;
}

static int s_internal(svc_call_t *call, int rc)
{
    if (rc == ES_RESOURCE_EXHAUSTED)
        return svc_fail(call, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
    return svc_fail(call, ES_INTERNAL, NULL, "storage error");
}

/* Device keys from a client: 32 bytes each, a valid Ed25519 point, and a
 * non-zero X25519 key. Sets *field on failure. */
static int s_keys_ok(const Espace__V1__DeviceKeys *k, const char **field)
{
    static const uint8_t zero[32];
    if (k->sign_public.len != 32 || !crypto_core_ed25519_is_valid_point(k->sign_public.data)) {
        *field = "keys.sign_public";
        return 0;
    }
    if (k->dh_public.len != 32 || sodium_memcmp(k->dh_public.data, zero, 32) == 0) {
        *field = "keys.dh_public";
        return 0;
    }
    return 1;
}

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

/* Session `id` is active at `now`: exists, not revoked, not expired, and its
 * device exists and is not revoked. 0 and *sess, *dev (caller frees with
 * codec_free; dev may be NULL to skip it), ES_UNAUTHENTICATED, or
 * ES_INTERNAL. */
static int s_session_active(store_txn_t *txn, const uint8_t *id, size_t id_len, int64_t now,
                            Espace__V1__StoredSession **sess, Espace__V1__StoredDevice **dev)
{
    ProtobufCMessage *m = NULL, *d = NULL;
    int rc;

    *sess = NULL;
    if (dev)
        *dev = NULL;
    if (id_len != S_ID)
        return ES_UNAUTHENTICATED;
    rc = s_load(txn, T_SESSIONS, id, S_ID, &espace__v1__stored_session__descriptor, &m);
    if (rc != 0)
        return rc == ES_NOT_FOUND ? ES_UNAUTHENTICATED : rc;
    Espace__V1__StoredSession *s = (Espace__V1__StoredSession *)m;
    if (s->revoked || now >= s->expires_ms || s->device_id.len != S_ID) {
        rc = ES_UNAUTHENTICATED;
        goto fail;
    }
    rc = s_load(txn, T_DEVICES, s->device_id.data, S_ID, &espace__v1__stored_device__descriptor,
                &d);
    if (rc != 0) {
        rc = rc == ES_NOT_FOUND ? ES_UNAUTHENTICATED : rc;
        goto fail;
    }
    if (((Espace__V1__StoredDevice *)d)->revoked) {
        rc = ES_UNAUTHENTICATED;
        goto fail;
    }
    *sess = s;
    if (dev)
        *dev = (Espace__V1__StoredDevice *)d;
    else
        codec_free(d);
    return 0;
fail:
    codec_free(d);
    codec_free(m);
    return rc;
}

/* THE check every non-public method runs first: the caller is a patient or
 * a professional whose session is still active in the store and is the
 * caller's own. On failure the reply is already set and the status is
 * returned (ES_UNAUTHENTICATED, ES_INTERNAL). */
static int s_require_session(svc_call_t *call, store_txn_t *txn,
                             Espace__V1__StoredSession **sess, Espace__V1__StoredDevice **dev)
{
    const Espace__V1__Caller *c = svc_caller(call);
    Espace__V1__StoredSession *s = NULL;
    int rc;

    *sess = NULL;
    if (dev)
        *dev = NULL;
    if (c->kind != KIND_PATIENT && c->kind != KIND_PRO)
        return svc_fail(call, ES_UNAUTHENTICATED, NULL, "a session is required");
    rc = s_session_active(txn, c->session_id.data, c->session_id.len, svc_now_ms(call), &s, dev);
    if (rc == ES_UNAUTHENTICATED)
        return svc_fail(call, rc, NULL, "session not active");
    if (rc != 0)
        return s_internal(call, rc);
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

/* Mark a session revoked, store it, queue the event. */
static int s_session_revoke(svc_call_t *call, store_txn_t *txn, Espace__V1__StoredSession *s)
{
    s->revoked = 1;
    s->revoked_ms = svc_now_ms(call);
    int rc = s_save(txn, T_SESSIONS, s->session_id.data, s->session_id.len, &s->base, 0);
    if (rc != 0)
        return rc;
    Espace__V1__SessionRevoked ev = ESPACE__V1__SESSION_REVOKED__INIT;
    ev.session_id = s->session_id;
    ev.principal = s->principal;
    ev.expires_ms = s->expires_ms;
    rc = svc_publish(call, IDENTITY_TOPIC_REVOKED, &ev.base);
    if (rc != 0)
        return rc;
    char hex[S_HEX];
    log_info(COMP, "session.revoked", "session=%s", s_hex(s->session_id.data, hex));
    return 0;
}

/* ------------------------------------------------------------ the methods */

static int s_sign_up_patient(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                             store_txn_t *txn)
{
    identity_state_t *st = state;
    const Espace__V1__SignUpPatientRequest *req = (const Espace__V1__SignUpPatientRequest *)msg;
    int64_t now = svc_now_ms(call);
    char ins[INS_LEN + 1], field[48], hex[S_HEX];
    uint8_t ins_hash[STORE_HASH_BYTES], pid[S_ID];
    char pw_hash[PASSWORD_HASH_MAX];
    int rc;

    if (ins_validate(req->ins, ins) != 0)
        return svc_fail(call, ES_INVALID_ARGUMENT, "ins", "not a valid INS (15 characters, key)");
    if (!s_name_ok(req->birth_names, S_NAME_MAX))
        return svc_fail(call, ES_INVALID_ARGUMENT, "birth_names", "1 to %d characters",
                        S_NAME_MAX);
    if (req->n_first_names < 1 || req->n_first_names > S_FIRST_COUNT)
        return svc_fail(call, ES_INVALID_ARGUMENT, "first_names", "1 to %d first names",
                        S_FIRST_COUNT);
    for (size_t i = 0; i < req->n_first_names; i++) {
        if (!s_name_ok(req->first_names[i], S_FIRST_MAX)) {
            snprintf(field, sizeof field, "first_names[%zu]", i);
            return svc_fail(call, ES_INVALID_ARGUMENT, field, "1 to %d characters",
                            S_FIRST_MAX);
        }
    }
    if (!s_birth_date_ok(req->birth_date, now))
        return svc_fail(call, ES_INVALID_ARGUMENT, "birth_date",
                        "a date YYYY-MM-DD between 1890-01-01 and today");
    if (!s_text_ok(req->password, S_PW_MIN, S_PW_MAX))
        return svc_fail(call, ES_INVALID_ARGUMENT, "password", "%d to %d characters", S_PW_MIN,
                        S_PW_MAX);

    store_keyed_hash(st->store, "ins", ins, INS_LEN, ins_hash);
    const void *v;
    size_t vlen;
    rc = store_get(txn, T_BY_INS, ins_hash, sizeof ins_hash, &v, &vlen);
    if (rc == 0) {
        sodium_memzero(ins, sizeof ins);
        return svc_fail(call, ES_ALREADY_EXISTS, "ins", "this INS already has an account");
    }
    if (rc != ES_NOT_FOUND)
        goto internal;

    rc = password_hash(req->password, strlen(req->password), pw_hash);
    if (rc != 0)
        goto internal;

    randombytes_buf(pid, sizeof pid);
    Espace__V1__StoredCredential cred = ESPACE__V1__STORED_CREDENTIAL__INIT;
    cred.password_hash = pw_hash;
    Espace__V1__StoredPatient p = ESPACE__V1__STORED_PATIENT__INIT;
    p.patient_id.data = pid;
    p.patient_id.len = S_ID;
    p.ins = ins;
    p.birth_names = req->birth_names;
    p.n_first_names = req->n_first_names;
    p.first_names = req->first_names;
    p.birth_date = req->birth_date;
    p.credential = &cred;
    p.created_ms = now;
    rc = s_save(txn, T_PATIENTS, pid, S_ID, &p.base, 1);
    if (rc == 0) {
        Espace__V1__StoredPatientRef ref = ESPACE__V1__STORED_PATIENT_REF__INIT;
        ref.patient_id = p.patient_id;
        rc = s_save(txn, T_BY_INS, ins_hash, sizeof ins_hash, &ref.base, 1);
    }
    sodium_memzero(pw_hash, sizeof pw_hash);
    sodium_memzero(ins, sizeof ins);
    if (rc != 0)
        goto internal;

    Espace__V1__SignUpPatientReply rep = ESPACE__V1__SIGN_UP_PATIENT_REPLY__INIT;
    rep.patient_id = (char *)s_hex(pid, hex);
    rc = svc_reply(call, &rep.base);
    if (rc != 0)
        return s_internal(call, rc);
    log_info(COMP, "patient.created", "patient=%s", hex);
    return 0;
internal:
    sodium_memzero(ins, sizeof ins);
    return s_internal(call, rc);
}

static int s_create_professional(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                                 store_txn_t *txn)
{
    (void)state;
    const Espace__V1__CreateProfessionalRequest *req =
        (const Espace__V1__CreateProfessionalRequest *)msg;
    char pw_hash[PASSWORD_HASH_MAX];
    int rc;

    if (rpps_validate(req->rpps) != 0)
        return svc_fail(call, ES_INVALID_ARGUMENT, "rpps", "an RPPS number is 11 digits");
    if (!s_name_ok(req->last_name, S_NAME_MAX))
        return svc_fail(call, ES_INVALID_ARGUMENT, "last_name", "1 to %d characters",
                        S_NAME_MAX);
    if (!s_name_ok(req->first_name, S_NAME_MAX))
        return svc_fail(call, ES_INVALID_ARGUMENT, "first_name", "1 to %d characters",
                        S_NAME_MAX);
    if (!s_name_ok(req->profession, S_NAME_MAX))
        return svc_fail(call, ES_INVALID_ARGUMENT, "profession", "1 to %d characters",
                        S_NAME_MAX);
    if (!s_text_ok(req->password, S_PW_MIN, S_PW_MAX))
        return svc_fail(call, ES_INVALID_ARGUMENT, "password", "%d to %d characters", S_PW_MIN,
                        S_PW_MAX);

    const void *v;
    size_t vlen;
    rc = store_get(txn, T_PROS, req->rpps, RPPS_LEN, &v, &vlen);
    if (rc == 0)
        return svc_fail(call, ES_ALREADY_EXISTS, "rpps", "this RPPS already has an account");
    if (rc != ES_NOT_FOUND)
        return s_internal(call, rc);

    rc = password_hash(req->password, strlen(req->password), pw_hash);
    if (rc != 0)
        return s_internal(call, rc);
    Espace__V1__StoredCredential cred = ESPACE__V1__STORED_CREDENTIAL__INIT;
    cred.password_hash = pw_hash;
    Espace__V1__StoredPro p = ESPACE__V1__STORED_PRO__INIT;
    p.rpps = req->rpps;
    p.last_name = req->last_name;
    p.first_name = req->first_name;
    p.profession = req->profession;
    p.credential = &cred;
    p.created_ms = svc_now_ms(call);
    rc = s_save(txn, T_PROS, req->rpps, RPPS_LEN, &p.base, 1);
    sodium_memzero(pw_hash, sizeof pw_hash);
    if (rc == ES_ALREADY_EXISTS)
        return svc_fail(call, rc, "rpps", "this RPPS already has an account");
    if (rc != 0)
        return s_internal(call, rc);

    Espace__V1__CreateProfessionalReply rep = ESPACE__V1__CREATE_PROFESSIONAL_REPLY__INIT;
    rep.rpps = req->rpps;
    rc = svc_reply(call, &rep.base);
    if (rc != 0)
        return s_internal(call, rc);
    log_info(COMP, "pro.created", "rpps=%s", req->rpps);
    return 0;
}

static void s_account_free(s_account_t *a)
{
    codec_free((ProtobufCMessage *)a->patient);
    codec_free((ProtobufCMessage *)a->pro);
    a->patient = NULL;
    a->pro = NULL;
    a->cred = NULL;
}

/* Find the account of a Login request. 0, ES_NOT_FOUND or ES_INTERNAL. */
static int s_account_load(identity_state_t *st, store_txn_t *txn, int kind, const char *id,
                          s_account_t *a)
{
    ProtobufCMessage *m = NULL;
    int rc;

    memset(a, 0, sizeof *a);
    a->kind = kind;
    if (kind == KIND_PATIENT) {
        uint8_t h[STORE_HASH_BYTES];
        store_keyed_hash(st->store, "ins", id, INS_LEN, h);
        rc = s_load(txn, T_BY_INS, h, sizeof h, &espace__v1__stored_patient_ref__descriptor, &m);
        if (rc != 0)
            return rc;
        Espace__V1__StoredPatientRef *ref = (Espace__V1__StoredPatientRef *)m;
        if (ref->patient_id.len != S_ID) {
            codec_free(m);
            return ES_INTERNAL;
        }
        uint8_t pid[S_ID];
        memcpy(pid, ref->patient_id.data, S_ID);
        codec_free(m);
        rc = s_load(txn, T_PATIENTS, pid, S_ID, &espace__v1__stored_patient__descriptor, &m);
        if (rc != 0)
            return rc == ES_NOT_FOUND ? ES_INTERNAL : rc; /* dangling index */
        a->patient = (Espace__V1__StoredPatient *)m;
        a->cred = a->patient->credential;
        s_hex(pid, a->principal);
    } else {
        rc = s_load(txn, T_PROS, id, RPPS_LEN, &espace__v1__stored_pro__descriptor, &m);
        if (rc != 0)
            return rc;
        a->pro = (Espace__V1__StoredPro *)m;
        a->cred = a->pro->credential;
        snprintf(a->principal, sizeof a->principal, "%s", id);
    }
    if (!a->cred) {
        s_account_free(a);
        return ES_INTERNAL;
    }
    return 0;
}

static int s_account_save(store_txn_t *txn, const s_account_t *a)
{
    if (a->patient)
        return s_save(txn, T_PATIENTS, a->patient->patient_id.data, a->patient->patient_id.len,
                      &a->patient->base, 0);
    return s_save(txn, T_PROS, a->pro->rpps, strlen(a->pro->rpps), &a->pro->base, 0);
}

/* The device a login runs on: the requested one if it exists, belongs to the
 * account and is not revoked; otherwise a new one. Writes id into dev_id. */
static int s_login_device(svc_call_t *call, store_txn_t *txn, const s_account_t *a,
                          const Espace__V1__LoginRequest *req, uint8_t dev_id[S_ID],
                          const char **field)
{
    int64_t now = svc_now_ms(call);
    ProtobufCMessage *m = NULL;
    int rc;

    if (req->device_id.len == S_ID) {
        rc = s_load(txn, T_DEVICES, req->device_id.data, S_ID,
                    &espace__v1__stored_device__descriptor, &m);
        if (rc != 0 && rc != ES_NOT_FOUND)
            return rc;
        Espace__V1__StoredDevice *d = (Espace__V1__StoredDevice *)m;
        if (d && !d->revoked && (int)d->kind == a->kind && strcmp(d->principal, a->principal) == 0) {
            memcpy(dev_id, d->device_id.data, S_ID);
            rc = 0;
            if (req->device_keys) {
                if (!d->keys) {
                    /* first registration of this device's keys */
                    d->keys = req->device_keys;
                    rc = s_save(txn, T_DEVICES, dev_id, S_ID, &d->base, 0);
                    d->keys = NULL; /* borrowed from the request */
                } else if (d->keys->sign_public.len != req->device_keys->sign_public.len ||
                           d->keys->dh_public.len != req->device_keys->dh_public.len ||
                           memcmp(d->keys->sign_public.data, req->device_keys->sign_public.data,
                                  d->keys->sign_public.len) != 0 ||
                           memcmp(d->keys->dh_public.data, req->device_keys->dh_public.data,
                                  d->keys->dh_public.len) != 0) {
                    *field = "device_keys";
                    rc = ES_FAILED_PRECONDITION;
                }
            }
            codec_free(m);
            return rc;
        }
        codec_free(m); /* unknown, foreign or revoked: a new device */
    }

    randombytes_buf(dev_id, S_ID);
    Espace__V1__StoredDevice d = ESPACE__V1__STORED_DEVICE__INIT;
    d.device_id.data = dev_id;
    d.device_id.len = S_ID;
    d.kind = (Espace__V1__PrincipalKind)a->kind;
    d.principal = (char *)a->principal;
    d.name = (req->device_name && req->device_name[0]) ? req->device_name : (char *)"device";
    d.keys = req->device_keys;
    d.created_ms = now;
    rc = s_save(txn, T_DEVICES, dev_id, S_ID, &d.base, 1);
    if (rc == 0)
        rc = s_index_add(txn, T_OWNER_DEVICES, a->kind, a->principal, dev_id, now);
    return rc;
}

/* Housekeeping at each login of an owner: forget its expired sessions
 * (record and index entry; their tokens have expired too), and keep at most
 * IDENTITY_MAX_DEVICE_SESSIONS - 1 live sessions on device `dev_id` by
 * revoking the oldest, so the new session fits and RevokeDevice never has
 * more sessions to announce than one request may publish. */
static int s_sessions_prune(svc_call_t *call, store_txn_t *txn, int kind, const char *principal,
                            const uint8_t dev_id[S_ID])
{
    int64_t now = svc_now_ms(call);
    uint8_t(*ids)[S_ID] = NULL;
    size_t n = 0, live = 0;
    int rc = s_index_list(txn, T_OWNER_SESSIONS, kind, principal, &ids, &n);
    if (rc != 0)
        return rc;
    uint8_t key[S_OWNER_MAX + S_ID];
    size_t plen = s_owner_key(kind, principal, key);
    for (size_t i = 0; i < n; i++) {
        ProtobufCMessage *m = NULL;
        rc = s_load(txn, T_SESSIONS, ids[i], S_ID, &espace__v1__stored_session__descriptor, &m);
        if (rc != 0 && rc != ES_NOT_FOUND)
            goto done;
        Espace__V1__StoredSession *s = (Espace__V1__StoredSession *)m;
        if (!s || now >= s->expires_ms) {
            memcpy(key + plen, ids[i], S_ID);
            rc = store_del(txn, T_OWNER_SESSIONS, key, plen + S_ID);
            if (rc == 0 && s)
                rc = store_del(txn, T_SESSIONS, ids[i], S_ID);
            codec_free(m);
            if (rc != 0 && rc != ES_NOT_FOUND)
                goto done;
            memset(ids[i], 0, S_ID); /* not live */
            continue;
        }
        int on_dev = !s->revoked && s->device_id.len == S_ID &&
                     memcmp(s->device_id.data, dev_id, S_ID) == 0;
        codec_free(m);
        if (on_dev)
            memcpy(ids[live++], ids[i], S_ID); /* keep live ones, oldest first */
    }
    /* The index is in id order, not time order: revoke by created_ms. */
    while (live >= IDENTITY_MAX_DEVICE_SESSIONS) {
        Espace__V1__StoredSession *oldest = NULL;
        size_t at = 0;
        for (size_t i = 0; i < live; i++) {
            ProtobufCMessage *m = NULL;
            if ((rc = s_load(txn, T_SESSIONS, ids[i], S_ID,
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
        rc = s_session_revoke(call, txn, oldest);
        codec_free(&oldest->base);
        if (rc != 0)
            goto done;
        memmove(ids[at], ids[at + 1], (live - at - 1) * S_ID);
        live--;
    }
    rc = 0;
done:
    free(ids);
    return rc;
}

static int s_login(void *state, svc_call_t *call, const ProtobufCMessage *msg, store_txn_t *txn)
{
    identity_state_t *st = state;
    const Espace__V1__LoginRequest *req = (const Espace__V1__LoginRequest *)msg;
    int64_t now = svc_now_ms(call);
    char id[INS_LEN + 1];
    s_account_t a;
    int kind, rc;
    const char *field = NULL;

    memset(&a, 0, sizeof a);
    if (req->who_case == ESPACE__V1__LOGIN_REQUEST__WHO_INS) {
        if (ins_validate(req->ins, id) != 0)
            return svc_fail(call, ES_INVALID_ARGUMENT, "ins", "not a valid INS");
        kind = KIND_PATIENT;
    } else if (req->who_case == ESPACE__V1__LOGIN_REQUEST__WHO_RPPS) {
        if (rpps_validate(req->rpps) != 0)
            return svc_fail(call, ES_INVALID_ARGUMENT, "rpps", "an RPPS number is 11 digits");
        memcpy(id, req->rpps, RPPS_LEN + 1);
        kind = KIND_PRO;
    } else {
        return svc_fail(call, ES_INVALID_ARGUMENT, "ins", "ins or rpps is required");
    }
    size_t pw_len = strlen(req->password);
    if (pw_len == 0 || pw_len > 4 * S_PW_MAX)
        return svc_fail(call, ES_INVALID_ARGUMENT, "password", "1 to %d characters", S_PW_MAX);
    if (req->device_id.len != 0 && req->device_id.len != S_ID)
        return svc_fail(call, ES_INVALID_ARGUMENT, "device_id", "16 bytes or empty");
    if (req->device_name && req->device_name[0] &&
        !s_text_ok(req->device_name, 1, S_DEVICE_NAME_MAX))
        return svc_fail(call, ES_INVALID_ARGUMENT, "device_name", "1 to %d characters",
                        S_DEVICE_NAME_MAX);
    if (req->device_keys && !s_keys_ok(req->device_keys, &field)) {
        char f[40];
        snprintf(f, sizeof f, "device_%s", field);
        return svc_fail(call, ES_INVALID_ARGUMENT, f, "not a valid public key");
    }

    rc = s_account_load(st, txn, kind, id, &a);
    sodium_memzero(id, sizeof id);
    if (rc == ES_NOT_FOUND) {
        /* same cost and same answer as a wrong password */
        (void)password_verify(st->dummy_hash, req->password, pw_len);
        log_info(COMP, "login.failed", "reason=unknown");
        return svc_fail(call, ES_UNAUTHENTICATED, NULL, "invalid credentials");
    }
    if (rc != 0)
        return s_internal(call, rc);

    if (a.cred->locked_until_ms > now) {
        log_info(COMP, "login.locked", "%s=%s", kind == KIND_PATIENT ? "patient" : "rpps",
                 a.principal);
        rc = svc_fail(call, ES_RESOURCE_EXHAUSTED, NULL,
                      "too many failed logins; retry in %lld s",
                      (long long)((a.cred->locked_until_ms - now + 999) / 1000));
        goto done;
    }

    if (password_verify(a.cred->password_hash, req->password, pw_len) != 0) {
        if (a.cred->failures < UINT32_MAX)
            a.cred->failures++;
        long long lock = identity_lock_ms(a.cred->failures);
        if (lock > 0)
            a.cred->locked_until_ms = now + lock;
        rc = s_account_save(txn, &a);
        if (rc != 0) {
            rc = s_internal(call, rc);
            goto done;
        }
        log_info(COMP, "login.failed", "%s=%s failures=%u lock_ms=%lld",
                 kind == KIND_PATIENT ? "patient" : "rpps", a.principal, a.cred->failures, lock);
        svc_fail(call, ES_UNAUTHENTICATED, NULL, "invalid credentials");
        rc = 0; /* keep the failure count */
        goto done;
    }

    /* success */
    if (a.cred->failures || a.cred->locked_until_ms) {
        a.cred->failures = 0;
        a.cred->locked_until_ms = 0;
        if ((rc = s_account_save(txn, &a)) != 0) {
            rc = s_internal(call, rc);
            goto done;
        }
    }
    uint8_t dev_id[S_ID], sess_id[S_ID];
    rc = s_login_device(call, txn, &a, req, dev_id, &field);
    if (rc == ES_FAILED_PRECONDITION) {
        rc = svc_fail(call, rc, field, "this device has other keys already");
        goto done;
    }
    if (rc != 0) {
        rc = s_internal(call, rc);
        goto done;
    }

    if ((rc = s_sessions_prune(call, txn, kind, a.principal, dev_id)) != 0) {
        rc = s_internal(call, rc);
        goto done;
    }
    randombytes_buf(sess_id, S_ID);
    Espace__V1__StoredSession s = ESPACE__V1__STORED_SESSION__INIT;
    s.session_id.data = sess_id;
    s.session_id.len = S_ID;
    s.kind = (Espace__V1__PrincipalKind)kind;
    s.principal = a.principal;
    s.device_id.data = dev_id;
    s.device_id.len = S_ID;
    s.created_ms = now;
    s.expires_ms = now + IDENTITY_SESSION_MS;
    rc = s_save(txn, T_SESSIONS, sess_id, S_ID, &s.base, 1);
    if (rc == 0)
        rc = s_index_add(txn, T_OWNER_SESSIONS, kind, a.principal, sess_id, now);
    if (rc != 0) {
        rc = s_internal(call, rc);
        goto done;
    }

    token_fields_t tf;
    char token[TOKEN_MAX_TEXT];
    memset(&tf, 0, sizeof tf);
    tf.kind = (uint8_t)kind;
    memcpy(tf.session_id, sess_id, S_ID);
    memcpy(tf.device_id, dev_id, S_ID);
    tf.expires_ms = s.expires_ms;
    tf.issued_ms = now;
    snprintf(tf.principal, sizeof tf.principal, "%s", a.principal);
    if (token_sign(st->secret_key, &tf, token) != 0) {
        rc = svc_fail(call, ES_INTERNAL, NULL, "token signing failed");
        goto done;
    }

    Espace__V1__Caller caller = ESPACE__V1__CALLER__INIT;
    s_caller_from_session(&caller, &s, svc_caller(call));
    Espace__V1__LoginReply rep = ESPACE__V1__LOGIN_REPLY__INIT;
    rep.token = token;
    rep.session_id = s.session_id;
    rep.device_id = s.device_id;
    rep.expires_ms = s.expires_ms;
    rep.caller = &caller;
    rc = svc_reply(call, &rep.base);
    sodium_memzero(token, sizeof token);
    if (rc != 0) {
        rc = s_internal(call, rc);
        goto done;
    }
    char sh[S_HEX], dh[S_HEX];
    log_info(COMP, "login.ok", "%s=%s session=%s device=%s",
             kind == KIND_PATIENT ? "patient" : "rpps", a.principal, s_hex(sess_id, sh),
             s_hex(dev_id, dh));
done:
    s_account_free(&a);
    return rc;
}

static int s_authenticate(void *state, svc_call_t *call, const ProtobufCMessage *msg,
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
    rc = s_session_active(txn, tf.session_id, S_ID, now, &s, NULL);
    if (rc == ES_UNAUTHENTICATED)
        return svc_fail(call, rc, NULL, "session not active");
    if (rc != 0)
        return s_internal(call, rc);
    if ((int)s->kind != tf.kind || strcmp(s->principal, tf.principal) != 0 ||
        memcmp(s->device_id.data, tf.device_id, S_ID) != 0 || s->expires_ms != tf.expires_ms) {
        codec_free(&s->base);
        return svc_fail(call, ES_UNAUTHENTICATED, NULL, "session not active");
    }
    Espace__V1__Caller caller = ESPACE__V1__CALLER__INIT;
    s_caller_from_session(&caller, s, svc_caller(call));
    Espace__V1__AuthenticateReply rep = ESPACE__V1__AUTHENTICATE_REPLY__INIT;
    rep.caller = &caller;
    rc = svc_reply(call, &rep.base);
    codec_free(&s->base);
    return rc != 0 ? s_internal(call, rc) : 0;
}

static int s_who_am_i(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                      store_txn_t *txn)
{
    (void)state;
    (void)msg;
    Espace__V1__StoredSession *s = NULL;
    ProtobufCMessage *m = NULL;
    char name[512] = "";
    int rc = s_require_session(call, txn, &s, NULL);
    if (rc != 0)
        return rc;

    Espace__V1__WhoAmIReply rep = ESPACE__V1__WHO_AM_IREPLY__INIT;
    if (s->kind == KIND_PATIENT) {
        uint8_t pid[S_ID];
        if (s_unhex(s->principal, pid) != 0) {
            rc = ES_INTERNAL;
            goto internal;
        }
        rc = s_load(txn, T_PATIENTS, pid, S_ID, &espace__v1__stored_patient__descriptor, &m);
        if (rc != 0)
            goto internal;
        Espace__V1__StoredPatient *p = (Espace__V1__StoredPatient *)m;
        snprintf(name, sizeof name, "%s %s", p->n_first_names ? p->first_names[0] : "",
                 p->birth_names);
    } else {
        rc = s_load(txn, T_PROS, s->principal, strlen(s->principal),
                    &espace__v1__stored_pro__descriptor, &m);
        if (rc != 0)
            goto internal;
        Espace__V1__StoredPro *p = (Espace__V1__StoredPro *)m;
        snprintf(name, sizeof name, "%s %s", p->first_name, p->last_name);
        rep.profession = p->profession;
    }
    Espace__V1__Caller caller = ESPACE__V1__CALLER__INIT;
    s_caller_from_session(&caller, s, svc_caller(call));
    rep.caller = &caller;
    rep.display_name = name;
    rc = svc_reply(call, &rep.base);
    codec_free(m);
    codec_free(&s->base);
    return rc != 0 ? s_internal(call, rc) : 0;
internal:
    codec_free(m);
    codec_free(&s->base);
    return s_internal(call, rc == ES_NOT_FOUND ? ES_INTERNAL : rc);
}

static int s_logout(void *state, svc_call_t *call, const ProtobufCMessage *msg, store_txn_t *txn)
{
    (void)state;
    (void)msg;
    Espace__V1__StoredSession *s = NULL;
    int rc = s_require_session(call, txn, &s, NULL);
    if (rc != 0)
        return rc;
    rc = s_session_revoke(call, txn, s);
    codec_free(&s->base);
    if (rc != 0)
        return s_internal(call, rc);
    Espace__V1__LogoutReply rep = ESPACE__V1__LOGOUT_REPLY__INIT;
    rc = svc_reply(call, &rep.base);
    return rc != 0 ? s_internal(call, rc) : 0;
}

static int s_list_sessions(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                           store_txn_t *txn)
{
    (void)state;
    (void)msg;
    Espace__V1__StoredSession *cur = NULL;
    size_t n = 0, k = 0;
    ProtobufCMessage **loaded = NULL;
    Espace__V1__SessionInfo *infos = NULL, **ptrs = NULL;
    int64_t now = svc_now_ms(call);
    int rc = s_require_session(call, txn, &cur, NULL);
    if (rc != 0)
        return rc;

    rc = s_owner_records(txn, T_OWNER_SESSIONS, T_SESSIONS,
                         &espace__v1__stored_session__descriptor, cur->kind, cur->principal,
                         &loaded, &n);
    if (rc != 0)
        goto internal;
    infos = calloc(n ? n : 1, sizeof *infos);
    ptrs = calloc(n ? n : 1, sizeof *ptrs);
    if (!infos || !ptrs) {
        rc = ES_RESOURCE_EXHAUSTED;
        goto internal;
    }
    for (size_t i = 0; i < n; i++) {
        Espace__V1__StoredSession *s = (Espace__V1__StoredSession *)loaded[i];
        if (!s || s->revoked || now >= s->expires_ms)
            continue;
        Espace__V1__SessionInfo *si = &infos[k];
        espace__v1__session_info__init(si);
        si->session_id = s->session_id;
        si->device_id = s->device_id;
        si->created_ms = s->created_ms;
        si->expires_ms = s->expires_ms;
        si->current = s->session_id.len == cur->session_id.len &&
                      memcmp(s->session_id.data, cur->session_id.data, S_ID) == 0;
        ptrs[k++] = si;
    }
    Espace__V1__ListSessionsReply rep = ESPACE__V1__LIST_SESSIONS_REPLY__INIT;
    rep.n_sessions = k;
    rep.sessions = ptrs;
    rc = svc_reply(call, &rep.base);
    if (rc != 0)
        goto internal;
    goto cleanup;
internal:
    rc = s_internal(call, rc);
cleanup:
    s_records_free(loaded, n);
    free(infos);
    free(ptrs);
    codec_free(&cur->base);
    return rc;
}

static int s_revoke_session(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                            store_txn_t *txn)
{
    (void)state;
    const Espace__V1__RevokeSessionRequest *req = (const Espace__V1__RevokeSessionRequest *)msg;
    Espace__V1__StoredSession *cur = NULL;
    ProtobufCMessage *m = NULL;
    int rc = s_require_session(call, txn, &cur, NULL);
    if (rc != 0)
        return rc;
    if (req->session_id.len != S_ID) {
        rc = svc_fail(call, ES_INVALID_ARGUMENT, "session_id", "16 bytes");
        goto cleanup;
    }
    rc = s_load(txn, T_SESSIONS, req->session_id.data, S_ID,
                &espace__v1__stored_session__descriptor, &m);
    Espace__V1__StoredSession *s = (Espace__V1__StoredSession *)m;
    if (rc == ES_NOT_FOUND || (rc == 0 && (s->kind != cur->kind ||
                                           strcmp(s->principal, cur->principal) != 0))) {
        rc = svc_fail(call, ES_NOT_FOUND, "session_id", "no such session");
        goto cleanup;
    }
    if (rc != 0) {
        rc = s_internal(call, rc);
        goto cleanup;
    }
    if (!s->revoked && (rc = s_session_revoke(call, txn, s)) != 0) {
        rc = s_internal(call, rc);
        goto cleanup;
    }
    Espace__V1__RevokeSessionReply rep = ESPACE__V1__REVOKE_SESSION_REPLY__INIT;
    rc = svc_reply(call, &rep.base);
    if (rc != 0)
        rc = s_internal(call, rc);
cleanup:
    codec_free(m);
    codec_free(&cur->base);
    return rc;
}

static int s_register_device_keys(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                                  store_txn_t *txn)
{
    (void)state;
    const Espace__V1__RegisterDeviceKeysRequest *req =
        (const Espace__V1__RegisterDeviceKeysRequest *)msg;
    Espace__V1__StoredSession *cur = NULL;
    Espace__V1__StoredDevice *dev = NULL;
    const char *field = NULL;
    int rc = s_require_session(call, txn, &cur, &dev);
    if (rc != 0)
        return rc;
    if (!req->keys) {
        rc = svc_fail(call, ES_INVALID_ARGUMENT, "keys", "keys are required");
        goto cleanup;
    }
    if (!s_keys_ok(req->keys, &field)) {
        rc = svc_fail(call, ES_INVALID_ARGUMENT, field, "not a valid public key");
        goto cleanup;
    }
    if (dev->keys) {
        rc = svc_fail(call, ES_FAILED_PRECONDITION, "keys",
                      "this device's keys are already registered");
        goto cleanup;
    }
    dev->keys = req->keys; /* borrowed for the save only */
    rc = s_save(txn, T_DEVICES, dev->device_id.data, dev->device_id.len, &dev->base, 0);
    dev->keys = NULL;
    if (rc != 0) {
        rc = s_internal(call, rc);
        goto cleanup;
    }
    Espace__V1__RegisterDeviceKeysReply rep = ESPACE__V1__REGISTER_DEVICE_KEYS_REPLY__INIT;
    rc = svc_reply(call, &rep.base);
    if (rc != 0)
        rc = s_internal(call, rc);
cleanup:
    codec_free((ProtobufCMessage *)dev);
    codec_free(&cur->base);
    return rc;
}

/* Devices of an owner as DeviceInfo. own = 1: every device with its name;
 * own = 0 (someone else's): only devices not revoked and with keys, without
 * their names. */
static int s_devices_reply(svc_call_t *call, store_txn_t *txn, int kind, const char *principal,
                           int own, int is_get_keys)
{
    size_t n = 0, k = 0;
    ProtobufCMessage **loaded = NULL;
    Espace__V1__DeviceInfo *infos = NULL, **ptrs = NULL;
    int rc = s_owner_records(txn, T_OWNER_DEVICES, T_DEVICES,
                             &espace__v1__stored_device__descriptor, kind, principal, &loaded,
                             &n);
    if (rc != 0)
        goto internal;
    infos = calloc(n ? n : 1, sizeof *infos);
    ptrs = calloc(n ? n : 1, sizeof *ptrs);
    if (!infos || !ptrs) {
        rc = ES_RESOURCE_EXHAUSTED;
        goto internal;
    }
    for (size_t i = 0; i < n; i++) {
        Espace__V1__StoredDevice *d = (Espace__V1__StoredDevice *)loaded[i];
        if (!d || (!own && (d->revoked || !d->keys)))
            continue;
        Espace__V1__DeviceInfo *di = &infos[k];
        espace__v1__device_info__init(di);
        di->device_id = d->device_id;
        di->name = own ? d->name : (char *)"";
        di->keys = d->keys;
        di->created_ms = d->created_ms;
        di->revoked = d->revoked;
        ptrs[k++] = di;
    }
    if (is_get_keys) {
        Espace__V1__GetDeviceKeysReply rep = ESPACE__V1__GET_DEVICE_KEYS_REPLY__INIT;
        rep.n_devices = k;
        rep.devices = ptrs;
        rc = svc_reply(call, &rep.base);
    } else {
        Espace__V1__ListDevicesReply rep = ESPACE__V1__LIST_DEVICES_REPLY__INIT;
        rep.n_devices = k;
        rep.devices = ptrs;
        rc = svc_reply(call, &rep.base);
    }
    if (rc != 0)
        goto internal;
    goto cleanup;
internal:
    rc = s_internal(call, rc);
cleanup:
    s_records_free(loaded, n);
    free(infos);
    free(ptrs);
    return rc;
}

static int s_list_devices(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                          store_txn_t *txn)
{
    (void)state;
    (void)msg;
    Espace__V1__StoredSession *cur = NULL;
    int rc = s_require_session(call, txn, &cur, NULL);
    if (rc != 0)
        return rc;
    rc = s_devices_reply(call, txn, cur->kind, cur->principal, 1, 0);
    codec_free(&cur->base);
    return rc;
}

static int s_get_device_keys(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                             store_txn_t *txn)
{
    (void)state;
    const Espace__V1__GetDeviceKeysRequest *req = (const Espace__V1__GetDeviceKeysRequest *)msg;
    const Espace__V1__Caller *c = svc_caller(call);
    const void *v;
    size_t vlen;
    int rc;

    if (c->kind == KIND_PATIENT || c->kind == KIND_PRO) {
        Espace__V1__StoredSession *cur = NULL;
        if ((rc = s_require_session(call, txn, &cur, NULL)) != 0)
            return rc;
        codec_free(&cur->base);
    } else if (c->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR &&
               c->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE) {
        return svc_fail(call, ES_PERMISSION_DENIED, NULL, "not allowed for this caller");
    }

    if (req->kind == KIND_PATIENT) {
        uint8_t pid[S_ID];
        if (s_unhex(req->principal, pid) != 0)
            return svc_fail(call, ES_INVALID_ARGUMENT, "principal", "a patient id is 32 hex");
        rc = store_get(txn, T_PATIENTS, pid, S_ID, &v, &vlen);
    } else if (req->kind == KIND_PRO) {
        if (rpps_validate(req->principal) != 0)
            return svc_fail(call, ES_INVALID_ARGUMENT, "principal", "an RPPS is 11 digits");
        rc = store_get(txn, T_PROS, req->principal, RPPS_LEN, &v, &vlen);
    } else {
        return svc_fail(call, ES_INVALID_ARGUMENT, "kind", "patient or professional");
    }
    if (rc == ES_NOT_FOUND)
        return svc_fail(call, rc, "principal", "no such principal");
    if (rc != 0)
        return s_internal(call, rc);
    return s_devices_reply(call, txn, req->kind, req->principal, 0, 1);
}

/* ResolvePatient: INS -> patient id, for professionals with a live session.
 * The INS goes through the keyed hash only; it is wiped and never logged. */
static int s_resolve_patient(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                             store_txn_t *txn)
{
    identity_state_t *st = state;
    const Espace__V1__ResolvePatientRequest *req = (const Espace__V1__ResolvePatientRequest *)msg;
    const Espace__V1__Caller *c = svc_caller(call);
    Espace__V1__StoredSession *cur = NULL;
    ProtobufCMessage *m = NULL;
    char ins[INS_LEN + 1], hex[S_HEX];
    uint8_t h[STORE_HASH_BYTES];
    int rc;

    if (c->kind != KIND_PRO)
        return svc_fail(call, ES_PERMISSION_DENIED, NULL, "professionals only");
    if ((rc = s_require_session(call, txn, &cur, NULL)) != 0)
        return rc;
    codec_free(&cur->base);
    if (ins_validate(req->ins, ins) != 0)
        return svc_fail(call, ES_INVALID_ARGUMENT, "ins", "not a valid INS (15 characters, key)");
    store_keyed_hash(st->store, "ins", ins, INS_LEN, h);
    sodium_memzero(ins, sizeof ins);
    rc = s_load(txn, T_BY_INS, h, sizeof h, &espace__v1__stored_patient_ref__descriptor, &m);
    if (rc == ES_NOT_FOUND)
        return svc_fail(call, rc, "ins", "no account for this INS");
    if (rc != 0)
        return s_internal(call, rc);
    Espace__V1__StoredPatientRef *ref = (Espace__V1__StoredPatientRef *)m;
    if (ref->patient_id.len != S_ID) {
        codec_free(m);
        return s_internal(call, ES_INTERNAL);
    }
    Espace__V1__ResolvePatientReply rep = ESPACE__V1__RESOLVE_PATIENT_REPLY__INIT;
    rep.patient_id = (char *)s_hex(ref->patient_id.data, hex);
    codec_free(m);
    rc = svc_reply(call, &rep.base);
    if (rc != 0)
        return s_internal(call, rc);
    log_info(COMP, "patient.resolved", "rpps=%s patient=%s", c->principal, hex);
    return 0;
}

static int s_revoke_device(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                           store_txn_t *txn)
{
    (void)state;
    const Espace__V1__RevokeDeviceRequest *req = (const Espace__V1__RevokeDeviceRequest *)msg;
    Espace__V1__StoredSession *cur = NULL;
    ProtobufCMessage *m = NULL;
    uint8_t(*ids)[S_ID] = NULL;
    size_t n = 0;
    int rc = s_require_session(call, txn, &cur, NULL);
    if (rc != 0)
        return rc;
    if (req->device_id.len != S_ID) {
        rc = svc_fail(call, ES_INVALID_ARGUMENT, "device_id", "16 bytes");
        goto cleanup;
    }
    rc = s_load(txn, T_DEVICES, req->device_id.data, S_ID, &espace__v1__stored_device__descriptor,
                &m);
    Espace__V1__StoredDevice *d = (Espace__V1__StoredDevice *)m;
    if (rc == ES_NOT_FOUND || (rc == 0 && (d->kind != cur->kind ||
                                           strcmp(d->principal, cur->principal) != 0))) {
        rc = svc_fail(call, ES_NOT_FOUND, "device_id", "no such device");
        goto cleanup;
    }
    if (rc != 0)
        goto internal;
    if (!d->revoked) {
        d->revoked = 1;
        d->revoked_ms = svc_now_ms(call);
        if ((rc = s_save(txn, T_DEVICES, d->device_id.data, S_ID, &d->base, 0)) != 0)
            goto internal;
    }
    /* end every live session opened on it */
    if ((rc = s_index_list(txn, T_OWNER_SESSIONS, cur->kind, cur->principal, &ids, &n)) != 0)
        goto internal;
    for (size_t i = 0; i < n; i++) {
        ProtobufCMessage *sm = NULL;
        rc = s_load(txn, T_SESSIONS, ids[i], S_ID, &espace__v1__stored_session__descriptor, &sm);
        if (rc == ES_NOT_FOUND)
            continue;
        if (rc != 0)
            goto internal;
        Espace__V1__StoredSession *s = (Espace__V1__StoredSession *)sm;
        if (!s->revoked && s->device_id.len == S_ID &&
            memcmp(s->device_id.data, d->device_id.data, S_ID) == 0)
            rc = s_session_revoke(call, txn, s);
        codec_free(sm);
        if (rc != 0)
            goto internal;
    }
    char hex[S_HEX];
    log_info(COMP, "device.revoked", "device=%s", s_hex(d->device_id.data, hex));
    Espace__V1__RevokeDeviceReply rep = ESPACE__V1__REVOKE_DEVICE_REPLY__INIT;
    rc = svc_reply(call, &rep.base);
    if (rc != 0)
        goto internal;
    goto cleanup;
internal:
    rc = s_internal(call, rc);
cleanup:
    free(ids);
    codec_free(m);
    codec_free(&cur->base);
    return rc;
}

/* ------------------------------------------------------------ definition */

static int s_init(const svc_env_t *env, void **state)
{
    char path[4096];
    identity_state_t *st = calloc(1, sizeof *st);
    int rc;

    if (!st)
        return ES_RESOURCE_EXHAUSTED;
    st->store = env->store;
    int w = snprintf(path, sizeof path, "%s/%s", env->data_dir, IDENTITY_TOKEN_KEY);
    if (w < 0 || (size_t)w >= sizeof path) {
        rc = ES_INVALID_ARGUMENT;
        goto fail;
    }
    rc = token_keypair_load(path, 1, st->public_key, st->secret_key);
    if (rc != 0) {
        log_error(COMP, "token_key.load", "status=%s", es_status_name(rc));
        goto fail;
    }
    /* a hash of the current cost, verified for unknown accounts */
    uint8_t pw[24];
    char pw_text[49];
    randombytes_buf(pw, sizeof pw);
    sodium_bin2hex(pw_text, sizeof pw_text, pw, sizeof pw);
    rc = password_hash(pw_text, strlen(pw_text), st->dummy_hash);
    sodium_memzero(pw_text, sizeof pw_text);
    if (rc != 0)
        goto fail;
    *state = st;
    return 0;
fail:
    sodium_memzero(st, sizeof *st);
    free(st);
    return rc;
}

static void s_fini(void *state)
{
    identity_state_t *st = state;
    if (!st)
        return;
    sodium_memzero(st, sizeof *st);
    free(st);
}

static const char *s_tables[] = {T_PATIENTS,      T_BY_INS,         T_PROS, T_SESSIONS, T_DEVICES,
                                 T_OWNER_SESSIONS, T_OWNER_DEVICES, NULL};

static const svc_method_t s_methods[] = {
    {"SignUpPatient", &espace__v1__sign_up_patient_request__descriptor, s_sign_up_patient,
     SVC_PUBLIC | SVC_WRITE},
    {"CreateProfessional", &espace__v1__create_professional_request__descriptor,
     s_create_professional, SVC_OPERATOR | SVC_WRITE},
    {"Login", &espace__v1__login_request__descriptor, s_login, SVC_PUBLIC | SVC_WRITE},
    {"Authenticate", &espace__v1__authenticate_request__descriptor, s_authenticate, SVC_PUBLIC},
    {"WhoAmI", &espace__v1__who_am_irequest__descriptor, s_who_am_i, 0},
    {"Logout", &espace__v1__logout_request__descriptor, s_logout, SVC_WRITE},
    {"ListSessions", &espace__v1__list_sessions_request__descriptor, s_list_sessions, 0},
    {"RevokeSession", &espace__v1__revoke_session_request__descriptor, s_revoke_session,
     SVC_WRITE},
    {"RegisterDeviceKeys", &espace__v1__register_device_keys_request__descriptor,
     s_register_device_keys, SVC_WRITE},
    {"ListDevices", &espace__v1__list_devices_request__descriptor, s_list_devices, 0},
    {"RevokeDevice", &espace__v1__revoke_device_request__descriptor, s_revoke_device, SVC_WRITE},
    {"GetDeviceKeys", &espace__v1__get_device_keys_request__descriptor, s_get_device_keys, 0},
    {"ResolvePatient", &espace__v1__resolve_patient_request__descriptor, s_resolve_patient, 0},
};

const svc_def_t identity_service = {
    .name = IDENTITY_SERVICE,
    .tables = s_tables,
    .methods = s_methods,
    .n_methods = sizeof s_methods / sizeof s_methods[0],
    .api = &espace__v1__identity__descriptor,
    .init = s_init,
    .fini = s_fini,
};
