/*
 * db.c - the identity service's store layout (identity_int.h): records,
 * owner indexes, accounts and the keyed hash of an INS.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/rpps.h"
#include "proto/status.h"
#include "services/identity/identity_int.h"

int identity_fail_storage(svc_call_t *call, int rc)
{
    if (rc == ES_RESOURCE_EXHAUSTED)
        return svc_fail(call, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
    return svc_fail(call, ES_INTERNAL, NULL, "storage error");
}

/* ---- records ---- */

int identity_db_load(store_txn_t *txn, const char *table, const void *key, size_t klen,
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
        log_error(IDENTITY_LOG, "record.corrupt", "table=%s", table);
        return ES_INTERNAL;
    }
    return 0;
}

int identity_db_save(store_txn_t *txn, const char *table, const void *key, size_t klen,
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

/* ---- owner indexes ---- */

size_t identity_db_owner_key(int kind, const char *principal, uint8_t out[IDENTITY_OWNER_MAX])
{
    size_t n = strnlen(principal, TOKEN_MAX_PRINCIPAL);
    out[0] = (uint8_t)kind;
    out[1] = (uint8_t)n;
    memcpy(out + 2, principal, n);
    return 2 + n;
}

int identity_db_index_add(store_txn_t *txn, const char *index, int kind, const char *principal,
                          const uint8_t id[ID_BYTES], int64_t now_ms)
{
    uint8_t key[IDENTITY_OWNER_MAX + ID_BYTES];
    size_t n = identity_db_owner_key(kind, principal, key);
    memcpy(key + n, id, ID_BYTES);
    Espace__V1__StoredIndexEntry e = ESPACE__V1__STORED_INDEX_ENTRY__INIT;
    e.created_ms = now_ms;
    return identity_db_save(txn, index, key, n + ID_BYTES, &e.base, 0);
}

int identity_db_index_list(store_txn_t *txn, const char *index, int kind, const char *principal,
                           uint8_t (**ids)[ID_BYTES], size_t *n)
{
    uint8_t prefix[IDENTITY_OWNER_MAX];
    size_t plen = identity_db_owner_key(kind, principal, prefix);
    store_cursor_t *cur = NULL;
    const void *k, *v;
    size_t klen, vlen, cap = 0;
    int rc;

    *ids = NULL;
    *n = 0;
    if (store_cursor_open(txn, index, prefix, plen, &cur) != 0)
        return ES_INTERNAL;
    while ((rc = store_cursor_next(cur, &k, &klen, &v, &vlen)) == 0) {
        if (klen != plen + ID_BYTES || memcmp(k, prefix, plen) != 0)
            break;
        if (*n == IDENTITY_LIST_MAX)
            break;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            uint8_t(*nids)[ID_BYTES] = realloc(*ids, ncap * ID_BYTES);
            if (!nids) {
                rc = ES_RESOURCE_EXHAUSTED;
                goto fail;
            }
            *ids = nids;
            cap = ncap;
        }
        memcpy((*ids)[*n], (const uint8_t *)k + plen, ID_BYTES);
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

void identity_db_records_free(identity_records_t *r)
{
    for (size_t i = 0; r->loaded && i < r->n; i++)
        codec_free(r->loaded[i]);
    free(r->loaded);
    free(r->items);
    free(r->ptrs);
    memset(r, 0, sizeof *r);
}

int identity_db_owner_records(store_txn_t *txn, const char *index, const char *table,
                              const ProtobufCMessageDescriptor *desc, int kind,
                              const char *principal, size_t item_size, identity_records_t *r)
{
    uint8_t(*ids)[ID_BYTES] = NULL;
    size_t count = 0;
    memset(r, 0, sizeof *r);
    int rc = identity_db_index_list(txn, index, kind, principal, &ids, &count);
    if (rc != 0)
        return rc;
    size_t slots = count ? count : 1;
    r->loaded = calloc(slots, sizeof *r->loaded);
    r->n = count;
    if (item_size) {
        r->items = calloc(slots, item_size);
        r->ptrs = calloc(slots, sizeof(void *));
    }
    if (!r->loaded || (item_size && (!r->items || !r->ptrs))) {
        rc = ES_RESOURCE_EXHAUSTED;
        goto fail;
    }
    for (size_t i = 0; i < count; i++) {
        rc = identity_db_load(txn, table, ids[i], ID_BYTES, desc, &r->loaded[i]);
        if (rc == ES_NOT_FOUND)
            rc = 0;
        if (rc != 0)
            goto fail;
    }
    free(ids);
    return 0;
fail:
    identity_db_records_free(r);
    free(ids);
    return rc;
}

/* The owner fields of a device or a session record, read through its
 * descriptor: both messages name them `kind` and `principal`. */
static int s_owned_by(const ProtobufCMessage *m, int kind, const char *principal)
{
    const ProtobufCFieldDescriptor *fk =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "kind");
    const ProtobufCFieldDescriptor *fp =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "principal");
    assert(fk && fk->type == PROTOBUF_C_TYPE_ENUM && fp && fp->type == PROTOBUF_C_TYPE_STRING);
    int k = *(const int *)(const void *)((const char *)m + fk->offset);
    const char *p = *(char *const *)(const void *)((const char *)m + fp->offset);
    return k == kind && p && strcmp(p, principal) == 0;
}

int identity_db_load_owned(store_txn_t *txn, const char *table, const uint8_t id[ID_BYTES],
                           const ProtobufCMessageDescriptor *desc, int kind,
                           const char *principal, ProtobufCMessage **out)
{
    int rc = identity_db_load(txn, table, id, ID_BYTES, desc, out);
    if (rc == 0 && !s_owned_by(*out, kind, principal)) {
        codec_free(*out);
        *out = NULL;
        rc = ES_NOT_FOUND;
    }
    return rc;
}

/* ---- INS ---- */

void identity_db_ins_key(const store_t *store, const char ins[INS_LEN + 1],
                         uint8_t key[STORE_HASH_BYTES])
{
    store_keyed_hash(store, "ins", ins, INS_LEN, key);
}

int identity_db_patient_by_ins(store_txn_t *txn, const uint8_t key[STORE_HASH_BYTES],
                               uint8_t pid[ID_BYTES])
{
    ProtobufCMessage *m = NULL;
    int rc = identity_db_load(txn, IDENTITY_T_BY_INS, key, STORE_HASH_BYTES,
                              &espace__v1__stored_patient_ref__descriptor, &m);
    if (rc != 0)
        return rc;
    Espace__V1__StoredPatientRef *ref = (Espace__V1__StoredPatientRef *)m;
    if (ref->patient_id.len == ID_BYTES)
        memcpy(pid, ref->patient_id.data, ID_BYTES);
    else
        rc = ES_INTERNAL;
    codec_free(m);
    return rc;
}

/* ---- sessions ---- */

int identity_db_session_active(store_txn_t *txn, const uint8_t *id, size_t id_len, int64_t now,
                               Espace__V1__StoredSession **sess,
                               Espace__V1__StoredDevice **dev)
{
    ProtobufCMessage *m = NULL, *d = NULL;
    int rc;

    *sess = NULL;
    if (dev)
        *dev = NULL;
    if (id_len != ID_BYTES)
        return ES_UNAUTHENTICATED;
    rc = identity_db_load(txn, IDENTITY_T_SESSIONS, id, ID_BYTES,
                          &espace__v1__stored_session__descriptor, &m);
    if (rc != 0)
        return rc == ES_NOT_FOUND ? ES_UNAUTHENTICATED : rc;
    Espace__V1__StoredSession *s = (Espace__V1__StoredSession *)m;
    if (s->revoked || now >= s->expires_ms || s->device_id.len != ID_BYTES) {
        rc = ES_UNAUTHENTICATED;
        goto fail;
    }
    rc = identity_db_load(txn, IDENTITY_T_DEVICES, s->device_id.data, ID_BYTES,
                          &espace__v1__stored_device__descriptor, &d);
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

/* ---- accounts ---- */

void identity_account_free(identity_account_t *a)
{
    codec_free((ProtobufCMessage *)a->patient);
    codec_free((ProtobufCMessage *)a->pro);
    a->patient = NULL;
    a->pro = NULL;
    a->cred = NULL;
}

int identity_account_load(const identity_state_t *st, store_txn_t *txn, int kind,
                          const char *id, identity_account_t *a)
{
    ProtobufCMessage *m = NULL;
    int rc;

    memset(a, 0, sizeof *a);
    a->kind = kind;
    if (kind == IDENTITY_PATIENT) {
        uint8_t h[STORE_HASH_BYTES], pid[ID_BYTES];
        identity_db_ins_key(st->store, id, h);
        if ((rc = identity_db_patient_by_ins(txn, h, pid)) != 0)
            return rc;
        rc = identity_db_load(txn, IDENTITY_T_PATIENTS, pid, ID_BYTES,
                              &espace__v1__stored_patient__descriptor, &m);
        if (rc != 0)
            return rc == ES_NOT_FOUND ? ES_INTERNAL : rc; /* dangling index */
        a->patient = (Espace__V1__StoredPatient *)m;
        a->cred = a->patient->credential;
        id_hex(pid, a->principal);
    } else {
        rc = identity_db_load(txn, IDENTITY_T_PROS, id, RPPS_LEN,
                              &espace__v1__stored_pro__descriptor, &m);
        if (rc != 0)
            return rc;
        a->pro = (Espace__V1__StoredPro *)m;
        a->cred = a->pro->credential;
        snprintf(a->principal, sizeof a->principal, "%s", id);
    }
    if (!a->cred) {
        identity_account_free(a);
        return ES_INTERNAL;
    }
    return 0;
}

int identity_account_save(store_txn_t *txn, const identity_account_t *a)
{
    if (a->patient)
        return identity_db_save(txn, IDENTITY_T_PATIENTS, a->patient->patient_id.data,
                                a->patient->patient_id.len, &a->patient->base, 0);
    return identity_db_save(txn, IDENTITY_T_PROS, a->pro->rpps, strlen(a->pro->rpps),
                            &a->pro->base, 0);
}
