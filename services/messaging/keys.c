/*
 * keys.c - the key directory: PublishKeys, Unpublish, KeyStatus and
 * ClaimBundles. Signatures are checked once, here, with es_e2e's own
 * verification (e2e_bundle_verify, e2e_prekey_verify: the signed layout of
 * docs/e2e.md); a device's identity key is fixed by its first publication
 * (trust on first publish; users compare safety numbers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "clients/e2e/e2e.h"
#include "process/log.h"
#include "proto/status.h"
#include "services/messaging/messaging_int.h"

#define S_KEY_OPK (ID_BYTES + 4)
#define SIGNED ESPACE__V1__PREKEY_KIND__PREKEY_KIND_SIGNED
#define LAST_RESORT ESPACE__V1__PREKEY_KIND__PREKEY_KIND_LAST_RESORT
#define ONE_TIME ESPACE__V1__PREKEY_KIND__PREKEY_KIND_ONE_TIME

static const uint8_t s_one = 1;

int msg_keys_hint(store_txn_t *t, const uint8_t dev[ID_BYTES], Espace__V1__PrekeyHint *h)
{
    espace__v1__prekey_hint__init(h);
    Espace__V1__MsgDeviceRecord *rec = NULL;
    int rc = msg_db_device(t, dev, &rec);
    if (rc == ES_NOT_FOUND) {
        h->low = 1;
        return ES_OK;
    }
    if (rc != 0)
        return rc;
    h->published = 1;
    h->one_time_left = rec->one_time_count;
    h->low = rec->one_time_count < MSG_OPK_LOW;
    codec_free(&rec->base);
    return ES_OK;
}

static void s_owner_key(uint8_t k[MSG_HASH + ID_BYTES], const uint8_t hash[MSG_HASH],
                        const uint8_t dev[ID_BYTES])
{
    memcpy(k, hash, MSG_HASH);
    memcpy(k + MSG_HASH, dev, ID_BYTES);
}

static void s_opk_key(uint8_t k[S_KEY_OPK], const uint8_t dev[ID_BYTES], uint32_t id)
{
    memcpy(k, dev, ID_BYTES);
    store_be32_put(k + ID_BYTES, id);
}

/* Check the signatures of (ik, spk, lrk) with es_e2e: the bundle a claimer
 * gets with the last-resort prekey in its slot must verify. The call
 * failed with the field at fault, or 0. */
static int s_verify(svc_call_t *c, const uint8_t *ik, const Espace__V1__SignedPrekey *spk,
                    const Espace__V1__SignedPrekey *lrk)
{
    e2e_bundle_t b;
    memset(&b, 0, sizeof b);
    memcpy(b.ik, ik, E2E_KEY_BYTES);
    b.spk_id = spk->id;
    memcpy(b.spk, spk->key.data, E2E_KEY_BYTES);
    memcpy(b.spk_sig, spk->sig.data, E2E_SIG_BYTES);
    b.opk_kind = E2E_PREKEY_LAST_RESORT;
    b.opk_id = lrk->id;
    memcpy(b.opk, lrk->key.data, E2E_KEY_BYTES);
    memcpy(b.opk_sig, lrk->sig.data, E2E_SIG_BYTES);
    int rc = e2e_bundle_verify(&b);
    if (rc == 0)
        return ES_OK;
    if (rc != ES_UNAUTHENTICATED)
        return svc_fail(c, ES_INVALID_ARGUMENT, "identity_key", "not a usable Ed25519 key");
    if (e2e_prekey_verify(ik, E2E_PREKEY_SIGNED, spk->id, spk->key.data, spk->sig.data) != 0)
        return svc_fail(c, ES_UNAUTHENTICATED, "signed_prekey.sig", "bad signature");
    return svc_fail(c, ES_UNAUTHENTICATED, "last_resort.sig", "bad signature");
}

/* Store the one-time prekeys of r for dev; *count grows. */
static int s_add_one_time(svc_call_t *c, store_txn_t *t, const uint8_t dev[ID_BYTES],
                          const Espace__V1__PublishKeysRequest *r, uint32_t *count)
{
    if (r->n_one_time > MSG_OPK_BATCH)
        return svc_fail(c, ES_TOO_LARGE, "one_time", "at most %d per call", MSG_OPK_BATCH);
    if (*count + r->n_one_time > MSG_OPK_HELD)
        return svc_fail(c, ES_TOO_LARGE, "one_time", "at most %d held (%u now)", MSG_OPK_HELD,
                        *count);
    for (size_t i = 0; i < r->n_one_time; i++) {
        const Espace__V1__OneTimePrekey *o = r->one_time[i];
        char f[48];
        if (o->key.len != E2E_KEY_BYTES) {
            snprintf(f, sizeof f, "one_time[%zu].key", i);
            return svc_fail(c, ES_INVALID_ARGUMENT, f, "an X25519 key is 32 bytes");
        }
        uint8_t k[S_KEY_OPK];
        s_opk_key(k, dev, o->id);
        int rc = store_put_new(t, MSG_T_OPKS, k, sizeof k, o->key.data, E2E_KEY_BYTES);
        if (rc == ES_ALREADY_EXISTS) {
            snprintf(f, sizeof f, "one_time[%zu].id", i);
            return svc_fail(c, ES_ALREADY_EXISTS, f, "prekey id %u already held", o->id);
        }
        if (rc != 0)
            return svc_fail(c, rc, NULL, "storage failure");
        (*count)++;
    }
    return ES_OK;
}

int msg_publish_keys(void *state, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    msg_state_t *st = state;
    const Espace__V1__PublishKeysRequest *r = (const Espace__V1__PublishKeysRequest *)m;
    msg_who_t who;
    uint8_t dev[ID_BYTES];
    Espace__V1__MsgDeviceRecord *old = NULL;
    msg_err_t err;
    int rc;
    if ((rc = msg_caller(st, c, &who)) != 0 || (rc = msg_caller_device(c, dev)) != 0)
        return rc;
    if (r->device_id.len && (r->device_id.len != ID_BYTES ||
                             memcmp(r->device_id.data, dev, ID_BYTES) != 0))
        return svc_fail(c, ES_PERMISSION_DENIED, "device_id",
                        "a device publishes its own keys only");
    rc = msg_db_device(t, dev, &old);
    if (rc != 0 && rc != ES_NOT_FOUND)
        return svc_fail(c, rc, NULL, "storage failure");
    if (old && (!old->owner || !msg_who_same(&who, old->owner->kind, old->owner->principal))) {
        rc = svc_fail(c, ES_PERMISSION_DENIED, "device_id", "another principal's device");
        goto done;
    }
    const Espace__V1__SignedPrekey *spk = r->signed_prekey ? r->signed_prekey
                                                           : old ? old->signed_prekey : NULL;
    const Espace__V1__SignedPrekey *lrk = r->last_resort ? r->last_resort
                                                         : old ? old->last_resort : NULL;
    ProtobufCBinaryData ik = old ? old->identity_key : r->identity_key;
    if (!old) {
        if (r->identity_key.len != E2E_KEY_BYTES) {
            rc = svc_fail(c, ES_INVALID_ARGUMENT, "identity_key", "32 bytes, required first");
            goto done;
        }
        uint8_t ids[MSG_MAX_DEVICES][ID_BYTES];
        size_t n = 0;
        if ((rc = msg_db_owner_devices(t, who.hash, ids, &n)) != 0) {
            rc = svc_fail(c, rc, NULL, "storage failure");
            goto done;
        }
        if (n >= MSG_MAX_DEVICES) {
            rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, "device_id",
                          "at most %d devices: unpublish one", MSG_MAX_DEVICES);
            goto done;
        }
    } else if (r->identity_key.len &&
               (r->identity_key.len != old->identity_key.len ||
                memcmp(r->identity_key.data, old->identity_key.data, ik.len) != 0)) {
        rc = svc_fail(c, ES_FAILED_PRECONDITION, "identity_key",
                      "the device's identity key is fixed: unpublish first");
        goto done;
    }
    if ((rc = msg_prekey_check(spk, "signed_prekey", &err)) != 0 ||
        (rc = msg_prekey_check(lrk, "last_resort", &err)) != 0) {
        rc = msg_fail(c, &err);
        goto done;
    }
    if ((r->signed_prekey || r->last_resort || !old) &&
        (rc = s_verify(c, ik.data, spk, lrk)) != 0)
        goto done;
    uint32_t count = old ? old->one_time_count : 0;
    if ((rc = s_add_one_time(c, t, dev, r, &count)) != 0)
        goto done;

    Espace__V1__Member owner;
    msg_member_of(&owner, &who);
    Espace__V1__MsgDeviceRecord rec = ESPACE__V1__MSG_DEVICE_RECORD__INIT;
    rec.owner = &owner;
    rec.identity_key = ik;
    rec.signed_prekey = (Espace__V1__SignedPrekey *)spk;
    rec.last_resort = (Espace__V1__SignedPrekey *)lrk;
    rec.one_time_count = count;
    rec.published_ms = old ? old->published_ms : svc_now_ms(c);
    rec.updated_ms = svc_now_ms(c);
    if ((rc = msg_db_save(t, MSG_T_DEVICES, dev, ID_BYTES, &rec.base)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    if (!old) {
        uint8_t k[MSG_HASH + ID_BYTES];
        s_owner_key(k, who.hash, dev);
        if ((rc = store_put(t, MSG_T_OWNERS, k, sizeof k, &s_one, 1)) != 0) {
            rc = svc_fail(c, rc, NULL, "storage failure");
            goto done;
        }
    }
    Espace__V1__PublishKeysReply rep = ESPACE__V1__PUBLISH_KEYS_REPLY__INIT;
    Espace__V1__PrekeyHint hint = ESPACE__V1__PREKEY_HINT__INIT;
    hint.published = 1;
    hint.one_time_left = count;
    hint.low = count < MSG_OPK_LOW;
    rep.hint = &hint;
    rc = svc_reply(c, &rep.base);
    if (rc != 0)
        rc = svc_fail(c, rc, NULL, "reply failed");
done:
    if (old)
        codec_free(&old->base);
    return rc;
}

int msg_unpublish(void *state, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    msg_state_t *st = state;
    (void)m;
    msg_who_t who;
    uint8_t dev[ID_BYTES];
    int rc;
    if ((rc = msg_caller(st, c, &who)) != 0 || (rc = msg_caller_device(c, dev)) != 0)
        return rc;
    Espace__V1__MsgDeviceRecord *rec = NULL;
    rc = msg_db_device(t, dev, &rec);
    if (rc == ES_NOT_FOUND)
        return svc_fail(c, ES_NOT_FOUND, "device_id", "not published");
    if (rc != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    int mine = rec->owner && msg_who_same(&who, rec->owner->kind, rec->owner->principal);
    codec_free(&rec->base);
    if (!mine)
        return svc_fail(c, ES_PERMISSION_DENIED, "device_id", "another principal's device");
    store_cursor_t *cur = NULL;
    if ((rc = store_cursor_open(t, MSG_T_OPKS, dev, ID_BYTES, &cur)) != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    const void *k = NULL;
    size_t kl = 0;
    while ((rc = store_cursor_next(cur, &k, &kl, NULL, NULL)) == 0 && kl == S_KEY_OPK &&
           memcmp(k, dev, ID_BYTES) == 0) {
        uint8_t key[S_KEY_OPK];
        memcpy(key, k, S_KEY_OPK);
        if ((rc = store_del(t, MSG_T_OPKS, key, sizeof key)) != 0)
            break;
    }
    store_cursor_close(&cur);
    if (rc != 0 && rc != ES_NOT_FOUND)
        return svc_fail(c, rc, NULL, "storage failure");
    uint8_t ok[MSG_HASH + ID_BYTES];
    s_owner_key(ok, who.hash, dev);
    if ((rc = store_del(t, MSG_T_OWNERS, ok, sizeof ok)) != 0 ||
        (rc = store_del(t, MSG_T_DEVICES, dev, ID_BYTES)) != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    Espace__V1__UnpublishReply rep = ESPACE__V1__UNPUBLISH_REPLY__INIT;
    rc = svc_reply(c, &rep.base);
    return rc ? svc_fail(c, rc, NULL, "reply failed") : ES_OK;
}

int msg_key_status(void *state, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    msg_state_t *st = state;
    (void)m;
    msg_who_t who;
    uint8_t dev[ID_BYTES];
    int rc;
    if ((rc = msg_caller(st, c, &who)) != 0 || (rc = msg_caller_device(c, dev)) != 0)
        return rc;
    Espace__V1__KeyStatusReply rep = ESPACE__V1__KEY_STATUS_REPLY__INIT;
    Espace__V1__PrekeyHint hint;
    if ((rc = msg_keys_hint(t, dev, &hint)) != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    rep.hint = &hint;
    rc = svc_reply(c, &rep.base);
    return rc ? svc_fail(c, rc, NULL, "reply failed") : ES_OK;
}

/* ---- ClaimBundles ---- */

typedef struct s_claim {
    Espace__V1__Bundle b[MSG_MAX_COPIES];
    Espace__V1__Bundle *pb[MSG_MAX_COPIES];
    Espace__V1__Member owner[MSG_MAX_COPIES];
    Espace__V1__MsgDeviceRecord *rec[MSG_MAX_COPIES];
    uint8_t dev[MSG_MAX_COPIES][ID_BYTES];
    uint8_t opk[MSG_MAX_COPIES][E2E_KEY_BYTES];
    size_t n;
} s_claim_t;

/* Take device dev's next one-time prekey into b (deleted, the count
 * saved), or its last-resort prekey when none is left. */
static int s_claim_one(store_txn_t *t, Espace__V1__MsgDeviceRecord *rec,
                       const uint8_t dev[ID_BYTES], Espace__V1__Bundle *b,
                       uint8_t opk[E2E_KEY_BYTES])
{
    store_cursor_t *cur = NULL;
    int rc = store_cursor_open(t, MSG_T_OPKS, dev, ID_BYTES, &cur);
    if (rc != 0)
        return rc;
    const void *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    rc = store_cursor_next(cur, &k, &kl, &v, &vl);
    uint8_t key[S_KEY_OPK];
    int found = rc == 0 && kl == S_KEY_OPK && memcmp(k, dev, ID_BYTES) == 0;
    if (found) {
        if (vl != E2E_KEY_BYTES) {
            store_cursor_close(&cur);
            return ES_INTERNAL;
        }
        memcpy(key, k, S_KEY_OPK);
        memcpy(opk, v, E2E_KEY_BYTES);
    }
    store_cursor_close(&cur);
    if (rc != 0 && rc != ES_NOT_FOUND)
        return rc;
    if (found) {
        if ((rc = store_del(t, MSG_T_OPKS, key, sizeof key)) != 0)
            return rc;
        if (rec->one_time_count > 0)
            rec->one_time_count--;
        if ((rc = msg_db_save(t, MSG_T_DEVICES, dev, ID_BYTES, &rec->base)) != 0)
            return rc;
        b->prekey_kind = ONE_TIME;
        b->prekey_id = store_be32_get(key + ID_BYTES);
        b->prekey.data = opk;
        b->prekey.len = E2E_KEY_BYTES;
    } else if (rec->last_resort) {
        b->prekey_kind = LAST_RESORT;
        b->prekey_id = rec->last_resort->id;
        b->prekey = rec->last_resort->key;
        b->prekey_sig = rec->last_resort->sig;
    }
    return ES_OK;
}

/* The devices to claim: the request's (each a current device of a member)
 * or every current device but the caller's. */
static int s_targets(svc_call_t *c, const Espace__V1__ClaimBundlesRequest *r,
                     const msg_devset_t *set, const uint8_t self[ID_BYTES], size_t *idx,
                     size_t *n)
{
    *n = 0;
    if (r->n_device_ids == 0) {
        for (size_t i = 0; i < set->n; i++) {
            if (memcmp(set->id[i], self, ID_BYTES) == 0)
                continue;
            if (*n == MSG_MAX_COPIES)
                return svc_fail(c, ES_TOO_LARGE, "device_ids", "more than %d devices",
                                MSG_MAX_COPIES);
            idx[(*n)++] = i;
        }
        return ES_OK;
    }
    if (r->n_device_ids > MSG_MAX_COPIES)
        return svc_fail(c, ES_TOO_LARGE, "device_ids", "at most %d", MSG_MAX_COPIES);
    for (size_t j = 0; j < r->n_device_ids; j++) {
        char f[48];
        snprintf(f, sizeof f, "device_ids[%zu]", j);
        if (r->device_ids[j].len != ID_BYTES)
            return svc_fail(c, ES_INVALID_ARGUMENT, f, "a device id is 16 bytes");
        long i = msg_devset_find(set, r->device_ids[j].data);
        if (i < 0)
            return svc_fail(c, ES_NOT_FOUND, f, "not a current device of a member");
        for (size_t p = 0; p < *n; p++)
            if (idx[p] == (size_t)i)
                return svc_fail(c, ES_INVALID_ARGUMENT, f, "listed twice");
        idx[(*n)++] = (size_t)i;
    }
    return ES_OK;
}

int msg_claim_bundles(void *state, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    msg_state_t *st = state;
    const Espace__V1__ClaimBundlesRequest *r = (const Espace__V1__ClaimBundlesRequest *)m;
    msg_who_t who;
    uint8_t self[ID_BYTES];
    Espace__V1__MsgConversationRecord *conv = NULL;
    s_claim_t *cl = NULL;
    msg_devset_t *set = NULL;
    int rc;
    if ((rc = msg_caller(st, c, &who)) != 0 || (rc = msg_caller_device(c, self)) != 0)
        return rc;
    if ((rc = msg_conv_open(c, t, &r->conversation_id, "conversation_id", &who, &conv)) != 0)
        return rc;
    cl = calloc(1, sizeof *cl);
    set = malloc(sizeof *set);
    if (!cl || !set) {
        rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
        goto done;
    }
    if ((rc = msg_db_devset(st, t, conv->conversation, set)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    size_t idx[MSG_MAX_COPIES];
    if ((rc = s_targets(c, r, set, self, idx, &cl->n)) != 0)
        goto done;
    uint8_t rk[MSG_HASH];
    msg_rate_key(rk, "claim", who.hash, NULL);
    if (cl->n && !msg_rate_take_n(st->rate, rk, MSG_RATE_CLAIM_PER_MIN, MSG_RATE_CLAIM_BURST,
                                  (unsigned)cl->n, svc_now_ms(c))) {
        rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "too many claims: retry later");
        goto done;
    }
    for (size_t j = 0; j < cl->n; j++) {
        size_t i = idx[j];
        Espace__V1__Bundle *b = &cl->b[j];
        espace__v1__bundle__init(b);
        memcpy(cl->dev[j], set->id[i], ID_BYTES);
        if ((rc = msg_db_device(t, cl->dev[j], &cl->rec[j])) != 0 ||
            (rc = s_claim_one(t, cl->rec[j], cl->dev[j], b, cl->opk[j])) != 0) {
            rc = svc_fail(c, rc == ES_NOT_FOUND ? ES_INTERNAL : rc, NULL, "storage failure");
            goto done;
        }
        espace__v1__member__init(&cl->owner[j]);
        cl->owner[j].kind = cl->rec[j]->owner ? cl->rec[j]->owner->kind : 0;
        cl->owner[j].principal = cl->rec[j]->owner ? cl->rec[j]->owner->principal : "";
        b->owner = &cl->owner[j];
        b->device_id.data = cl->dev[j];
        b->device_id.len = ID_BYTES;
        b->identity_key = cl->rec[j]->identity_key;
        b->signed_prekey = cl->rec[j]->signed_prekey;
        cl->pb[j] = b;
    }
    Espace__V1__ClaimBundlesReply rep = ESPACE__V1__CLAIM_BUNDLES_REPLY__INIT;
    rep.bundles = cl->pb;
    rep.n_bundles = cl->n;
    rc = svc_reply(c, &rep.base);
    if (rc != 0)
        rc = svc_fail(c, rc, NULL, "reply failed");
done:
    if (cl)
        for (size_t j = 0; j < MSG_MAX_COPIES; j++)
            if (cl->rec[j])
                codec_free(&cl->rec[j]->base);
    free(cl);
    free(set);
    codec_free(conv ? &conv->base : NULL);
    return rc;
}
