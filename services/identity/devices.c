/*
 * devices.c - the identity methods on devices (identity_int.h):
 * RegisterDeviceKeys, ListDevices, RevokeDevice, GetDeviceKeys; and the
 * device a login runs on. Devices hold public keys only (DESIGN.md
 * section 2): the server never sees a private key.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/rpps.h"
#include "proto/status.h"
#include "services/identity/identity_int.h"

/* 1 if two sets of device keys are the same bytes. */
static int s_keys_equal(const Espace__V1__DeviceKeys *a, const Espace__V1__DeviceKeys *b)
{
    return a->sign_public.len == b->sign_public.len && a->dh_public.len == b->dh_public.len &&
           memcmp(a->sign_public.data, b->sign_public.data, a->sign_public.len) == 0 &&
           memcmp(a->dh_public.data, b->dh_public.data, a->dh_public.len) == 0;
}

int identity_device_known(store_txn_t *txn, const identity_account_t *a, const uint8_t *dev_id,
                          size_t len)
{
    ProtobufCMessage *m = NULL;
    if (len != ID_BYTES || identity_db_load_owned(txn, IDENTITY_T_DEVICES, dev_id,
                                                  &espace__v1__stored_device__descriptor,
                                                  a->kind, a->principal, &m) != 0)
        return 0;
    int live = !((Espace__V1__StoredDevice *)m)->revoked;
    codec_free(m);
    return live;
}

int identity_device_for_login(svc_call_t *call, store_txn_t *txn, const identity_account_t *a,
                              const Espace__V1__LoginRequest *req, uint8_t dev_id[ID_BYTES],
                              const char **field)
{
    int64_t now = svc_now_ms(call);
    ProtobufCMessage *m = NULL;
    int rc;

    if (req->device_id.len == ID_BYTES) {
        rc = identity_db_load(txn, IDENTITY_T_DEVICES, req->device_id.data, ID_BYTES,
                              &espace__v1__stored_device__descriptor, &m);
        if (rc != 0 && rc != ES_NOT_FOUND)
            return rc;
        Espace__V1__StoredDevice *d = (Espace__V1__StoredDevice *)m;
        if (d && !d->revoked && (int)d->kind == a->kind &&
            strcmp(d->principal, a->principal) == 0) {
            memcpy(dev_id, d->device_id.data, ID_BYTES);
            rc = 0;
            if (req->device_keys && !d->keys) {
                /* first registration of this device's keys */
                d->keys = req->device_keys;
                rc = identity_db_save(txn, IDENTITY_T_DEVICES, dev_id, ID_BYTES, &d->base, 0);
                d->keys = NULL; /* borrowed from the request */
            } else if (req->device_keys && !s_keys_equal(d->keys, req->device_keys)) {
                *field = "device_keys";
                rc = ES_FAILED_PRECONDITION;
            }
            codec_free(m);
            return rc;
        }
        codec_free(m); /* unknown, foreign or revoked: a new device */
    }

    randombytes_buf(dev_id, ID_BYTES);
    Espace__V1__StoredDevice d = ESPACE__V1__STORED_DEVICE__INIT;
    d.device_id.data = dev_id;
    d.device_id.len = ID_BYTES;
    d.kind = (Espace__V1__PrincipalKind)a->kind;
    d.principal = (char *)a->principal;
    d.name = (req->device_name && req->device_name[0]) ? req->device_name : (char *)"device";
    d.keys = req->device_keys;
    d.created_ms = now;
    rc = identity_db_save(txn, IDENTITY_T_DEVICES, dev_id, ID_BYTES, &d.base, 1);
    if (rc == 0)
        rc = identity_db_index_add(txn, IDENTITY_T_OWNER_DEVICES, a->kind, a->principal, dev_id,
                                   now);
    return rc;
}

int identity_register_device_keys(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                                  store_txn_t *txn)
{
    (void)state;
    const Espace__V1__RegisterDeviceKeysRequest *req =
        (const Espace__V1__RegisterDeviceKeysRequest *)msg;
    Espace__V1__StoredSession *cur = NULL;
    Espace__V1__StoredDevice *dev = NULL;
    identity_err_t err;
    int rc = identity_require_session(call, txn, &cur, &dev);
    if (rc != 0)
        return rc;
    if (identity_keys_check(req->keys, "keys", &err) != 0) {
        rc = identity_fail(call, &err);
        goto cleanup;
    }
    if (dev->keys) {
        rc = svc_fail(call, ES_FAILED_PRECONDITION, "keys",
                      "this device's keys are already registered");
        goto cleanup;
    }
    dev->keys = req->keys; /* borrowed for the save only */
    rc = identity_db_save(txn, IDENTITY_T_DEVICES, dev->device_id.data, dev->device_id.len,
                          &dev->base, 0);
    dev->keys = NULL;
    if (rc != 0) {
        rc = identity_fail_storage(call, rc);
        goto cleanup;
    }
    Espace__V1__RegisterDeviceKeysReply rep = ESPACE__V1__REGISTER_DEVICE_KEYS_REPLY__INIT;
    rc = svc_reply(call, &rep.base);
    if (rc != 0)
        rc = identity_fail_storage(call, rc);
cleanup:
    codec_free((ProtobufCMessage *)dev);
    codec_free(&cur->base);
    return rc;
}

/* Answer the devices of an owner as DeviceInfo (ListDevicesReply, or
 * GetDeviceKeysReply when is_get_keys). own = 1: every device with its name;
 * own = 0 (someone else's): only devices not revoked and with keys, without
 * their names. */
static int s_devices_reply(svc_call_t *call, store_txn_t *txn, int kind, const char *principal,
                           int own, int is_get_keys)
{
    identity_records_t r;
    size_t k = 0;
    int rc = identity_db_owner_records(txn, IDENTITY_T_OWNER_DEVICES, IDENTITY_T_DEVICES,
                                       &espace__v1__stored_device__descriptor, kind, principal,
                                       sizeof(Espace__V1__DeviceInfo), &r);
    if (rc != 0)
        return identity_fail_storage(call, rc);
    Espace__V1__DeviceInfo *infos = r.items, **ptrs = r.ptrs;
    for (size_t i = 0; i < r.n; i++) {
        Espace__V1__StoredDevice *d = (Espace__V1__StoredDevice *)r.loaded[i];
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
    identity_db_records_free(&r);
    return rc != 0 ? identity_fail_storage(call, rc) : 0;
}

int identity_list_devices(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                          store_txn_t *txn)
{
    (void)state;
    (void)msg;
    Espace__V1__StoredSession *cur = NULL;
    int rc = identity_require_session(call, txn, &cur, NULL);
    if (rc != 0)
        return rc;
    rc = s_devices_reply(call, txn, cur->kind, cur->principal, 1, 0);
    codec_free(&cur->base);
    return rc;
}

int identity_get_device_keys(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                             store_txn_t *txn)
{
    (void)state;
    const Espace__V1__GetDeviceKeysRequest *req = (const Espace__V1__GetDeviceKeysRequest *)msg;
    const Espace__V1__Caller *c = svc_caller(call);
    identity_err_t err;
    const void *v;
    size_t vlen;
    int rc;

    if (c->kind == IDENTITY_PATIENT || c->kind == IDENTITY_PRO) {
        Espace__V1__StoredSession *cur = NULL;
        if ((rc = identity_require_session(call, txn, &cur, NULL)) != 0)
            return rc;
        codec_free(&cur->base);
    } else if (c->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR &&
               c->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE) {
        return svc_fail(call, ES_PERMISSION_DENIED, NULL, "not allowed for this caller");
    }

    if (identity_principal_check(req->kind, req->principal, &err) != 0)
        return identity_fail(call, &err);
    if (req->kind == IDENTITY_PATIENT) {
        uint8_t pid[ID_BYTES];
        (void)id_parse(req->principal, pid); /* checked above */
        rc = store_get(txn, IDENTITY_T_PATIENTS, pid, ID_BYTES, &v, &vlen);
    } else {
        rc = store_get(txn, IDENTITY_T_PROS, req->principal, RPPS_LEN, &v, &vlen);
    }
    if (rc == ES_NOT_FOUND)
        return svc_fail(call, rc, "principal", "no such principal");
    if (rc != 0)
        return identity_fail_storage(call, rc);
    return s_devices_reply(call, txn, req->kind, req->principal, 0, 1);
}

/* End every live session of the owner opened on device dev_id. */
static int s_device_sessions_revoke(svc_call_t *call, store_txn_t *txn,
                                    const Espace__V1__StoredSession *owner,
                                    const uint8_t dev_id[ID_BYTES])
{
    identity_records_t r;
    int rc = identity_db_owner_records(txn, IDENTITY_T_OWNER_SESSIONS, IDENTITY_T_SESSIONS,
                                       &espace__v1__stored_session__descriptor, owner->kind,
                                       owner->principal, 0, &r);
    for (size_t i = 0; rc == 0 && i < r.n; i++) {
        Espace__V1__StoredSession *s = (Espace__V1__StoredSession *)r.loaded[i];
        if (s && !s->revoked && s->device_id.len == ID_BYTES &&
            memcmp(s->device_id.data, dev_id, ID_BYTES) == 0)
            rc = identity_session_revoke(call, txn, s);
    }
    identity_db_records_free(&r);
    return rc;
}

int identity_revoke_device(void *state, svc_call_t *call, const ProtobufCMessage *msg,
                           store_txn_t *txn)
{
    (void)state;
    const Espace__V1__RevokeDeviceRequest *req = (const Espace__V1__RevokeDeviceRequest *)msg;
    Espace__V1__StoredSession *cur = NULL;
    ProtobufCMessage *m = NULL;
    char hex[ID_HEX];
    int rc = identity_require_owned(call, txn, &req->device_id, "device_id", "device",
                                    IDENTITY_T_DEVICES, &espace__v1__stored_device__descriptor,
                                    &cur, &m);
    if (rc != 0)
        return rc;
    Espace__V1__StoredDevice *d = (Espace__V1__StoredDevice *)m;
    if (!d->revoked) {
        d->revoked = 1;
        d->revoked_ms = svc_now_ms(call);
        rc = identity_db_save(txn, IDENTITY_T_DEVICES, d->device_id.data, ID_BYTES, &d->base, 0);
        if (rc != 0)
            goto internal;
    }
    if ((rc = s_device_sessions_revoke(call, txn, cur, d->device_id.data)) != 0)
        goto internal;
    log_info(IDENTITY_LOG, "device.revoked", "device=%s", id_hex(d->device_id.data, hex));
    Espace__V1__RevokeDeviceReply rep = ESPACE__V1__REVOKE_DEVICE_REPLY__INIT;
    rc = svc_reply(call, &rep.base);
    if (rc != 0)
        goto internal;
    goto cleanup;
internal:
    rc = identity_fail_storage(call, rc);
cleanup:
    codec_free(m);
    codec_free(&cur->base);
    return rc;
}
