/*
 * db.c - the messaging store layout (messaging_int.h): records, the expiry
 * index, conversations and their members' current devices, queue heads.
 */
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/status.h"
#include "runtime/record.h"
#include "services/messaging/messaging_int.h"

static const uint8_t s_one = 1;

int msg_db_load(store_txn_t *t, const char *table, const void *key, size_t klen,
                const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
    return record_load(t, SERVICE_MESSAGING, table, key, klen, d, out);
}

int msg_db_save(store_txn_t *t, const char *table, const void *key, size_t klen,
                const ProtobufCMessage *m)
{
    return record_save(t, table, key, klen, m);
}

int msg_db_expiry(store_txn_t *t, int64_t due, int kind, const void *key, size_t klen, int add)
{
    uint8_t k[8 + 1 + MSG_KEY_QUEUE];
    if (klen > MSG_KEY_QUEUE)
        return ES_INTERNAL;
    store_be64_put(k, (uint64_t)(due < 0 ? 0 : due));
    k[8] = (uint8_t)kind;
    memcpy(k + 9, key, klen);
    if (add)
        return store_put(t, MSG_T_EXPIRY, k, 9 + klen, &s_one, 1);
    int rc = store_del(t, MSG_T_EXPIRY, k, 9 + klen);
    return rc == ES_NOT_FOUND ? ES_OK : rc;
}

/* ---- conversations ---- */

size_t msg_conv_members(const Espace__V1__Conversation *v)
{
    return 1 + v->n_professionals;
}

int msg_conv_member(const Espace__V1__Conversation *v, int kind, const char *principal)
{
    if (!principal)
        return 0;
    if (kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT)
        return strcmp(v->patient_id, principal) == 0;
    if (kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL)
        return 0;
    for (size_t i = 0; i < v->n_professionals; i++)
        if (strcmp(v->professionals[i], principal) == 0)
            return 1;
    return 0;
}

int msg_conv_who(msg_state_t *st, const Espace__V1__Conversation *v, size_t i, msg_who_t *out)
{
    if (i == 0)
        return msg_who(st, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT, v->patient_id, out);
    if (i - 1 >= v->n_professionals)
        return ES_INTERNAL;
    return msg_who(st, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL,
                   v->professionals[i - 1], out);
}

int msg_conv_open(svc_call_t *c, store_txn_t *t, const ProtobufCBinaryData *id,
                  const char *field, const msg_who_t *who, Espace__V1__MsgConversationRecord **out)
{
    *out = NULL;
    if (id->len != ID_BYTES)
        return svc_fail(c, ES_INVALID_ARGUMENT, field, "an id is 16 bytes");
    ProtobufCMessage *m = NULL;
    int rc = msg_db_load(t, MSG_T_CONVS, id->data, ID_BYTES,
                         &espace__v1__msg_conversation_record__descriptor, &m);
    if (rc == ES_NOT_FOUND)
        return svc_fail(c, ES_NOT_FOUND, field, "no such conversation");
    if (rc != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    Espace__V1__MsgConversationRecord *r = (Espace__V1__MsgConversationRecord *)m;
    if (!r->conversation || msg_conv_members(r->conversation) > MSG_MEMBERS) {
        codec_free(m);
        return svc_fail(c, ES_INTERNAL, NULL, "corrupt conversation");
    }
    if (!msg_conv_member(r->conversation, who->kind, who->principal)) {
        codec_free(m);
        return svc_fail(c, ES_NOT_FOUND, field, "no such conversation");
    }
    *out = r;
    return ES_OK;
}

/* ---- devices ---- */

int msg_db_device(store_txn_t *t, const uint8_t id[ID_BYTES], Espace__V1__MsgDeviceRecord **out)
{
    return msg_db_load(t, MSG_T_DEVICES, id, ID_BYTES,
                       &espace__v1__msg_device_record__descriptor, (ProtobufCMessage **)out);
}

int msg_db_owner_devices(store_txn_t *t, const uint8_t hash[MSG_HASH],
                         uint8_t ids[MSG_MAX_DEVICES][ID_BYTES], size_t *n)
{
    store_cursor_t *cur = NULL;
    *n = 0;
    int rc = store_cursor_open(t, MSG_T_OWNERS, hash, MSG_HASH, &cur);
    if (rc != 0)
        return rc;
    const void *k = NULL;
    size_t kl = 0;
    while ((rc = store_cursor_next(cur, &k, &kl, NULL, NULL)) == 0) {
        if (kl != MSG_HASH + ID_BYTES || memcmp(k, hash, MSG_HASH) != 0)
            break;
        if (*n == MSG_MAX_DEVICES) {
            rc = ES_INTERNAL; /* bounded at publication */
            break;
        }
        memcpy(ids[(*n)++], (const uint8_t *)k + MSG_HASH, ID_BYTES);
    }
    store_cursor_close(&cur);
    return rc == ES_NOT_FOUND || rc == 0 ? ES_OK : rc;
}

int msg_db_devset(msg_state_t *st, store_txn_t *t, const Espace__V1__Conversation *v,
                  msg_devset_t *out)
{
    out->n = 0;
    size_t nm = msg_conv_members(v);
    for (size_t i = 0; i < nm; i++) {
        msg_who_t w;
        uint8_t ids[MSG_MAX_DEVICES][ID_BYTES];
        size_t n = 0;
        int rc = msg_conv_who(st, v, i, &w);
        if (rc == 0)
            rc = msg_db_owner_devices(t, w.hash, ids, &n);
        if (rc != 0)
            return rc;
        for (size_t j = 0; j < n; j++) {
            memcpy(out->id[out->n], ids[j], ID_BYTES);
            out->member[out->n++] = (uint8_t)i;
        }
    }
    return ES_OK;
}

void msg_devlist_free(msg_devlist_t *l)
{
    for (size_t i = 0; i < MSG_DEVSET_MAX; i++)
        if (l->rec[i]) {
            codec_free(&l->rec[i]->base);
            l->rec[i] = NULL;
        }
}

int msg_db_devlist(msg_state_t *st, store_txn_t *t, const Espace__V1__Conversation *v,
                   msg_devlist_t *out)
{
    memset(out, 0, sizeof *out);
    msg_devset_t set;
    int rc = msg_db_devset(st, t, v, &set);
    if (rc != 0)
        return rc;
    out->n = msg_conv_members(v);
    for (size_t i = 0; i < out->n; i++) {
        espace__v1__member__init(&out->members[i]);
        out->members[i].kind = i == 0 ? ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT
                                      : ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL;
        out->members[i].principal = i == 0 ? v->patient_id : v->professionals[i - 1];
        espace__v1__member_devices__init(&out->md[i]);
        out->md[i].member = &out->members[i];
        out->pmd[i] = &out->md[i];
    }
    /* set is grouped by member, in member order: each member's entries are
     * one run of de[]. */
    for (size_t j = 0; j < set.n; j++) {
        memcpy(out->ids[j], set.id[j], ID_BYTES);
        if ((rc = msg_db_device(t, set.id[j], &out->rec[j])) != 0) {
            msg_devlist_free(out);
            return rc == ES_NOT_FOUND ? ES_INTERNAL : rc;
        }
        Espace__V1__DeviceEntry *d = &out->de[j];
        espace__v1__device_entry__init(d);
        d->device_id.data = out->ids[j];
        d->device_id.len = ID_BYTES;
        d->identity_key = out->rec[j]->identity_key;
        d->published_ms = out->rec[j]->published_ms;
        out->pde[j] = d;
        Espace__V1__MemberDevices *md = &out->md[set.member[j]];
        if (md->n_devices == 0)
            md->devices = &out->pde[j];
        md->n_devices++;
    }
    return ES_OK;
}

/* ---- queue heads ---- */

int msg_db_head(store_txn_t *t, const uint8_t dev[ID_BYTES], uint64_t *last, uint64_t *acked)
{
    const void *val = NULL;
    size_t vlen = 0;
    *last = *acked = 0;
    int rc = store_get(t, MSG_T_HEADS, dev, ID_BYTES, &val, &vlen);
    if (rc == ES_NOT_FOUND)
        return ES_OK;
    if (rc != 0)
        return rc;
    if (vlen != 16)
        return ES_INTERNAL;
    *last = store_be64_get(val);
    *acked = store_be64_get((const uint8_t *)val + 8);
    return ES_OK;
}

int msg_db_head_put(store_txn_t *t, const uint8_t dev[ID_BYTES], uint64_t last, uint64_t acked)
{
    uint8_t v[16];
    store_be64_put(v, last);
    store_be64_put(v + 8, acked);
    return store_put(t, MSG_T_HEADS, dev, ID_BYTES, v, sizeof v);
}

int msg_db_last(store_txn_t *t, const uint8_t dev[ID_BYTES], uint64_t *last, uint64_t *acked)
{
    int rc = msg_db_head(t, dev, last, acked);
    if (rc != 0)
        return rc;
    uint8_t from[MSG_KEY_QUEUE];
    memcpy(from, dev, ID_BYTES);
    store_be64_put(from + ID_BYTES, UINT64_MAX); /* never a seq: last key < it */
    store_cursor_t *cur = NULL;
    if ((rc = store_cursor_open_reverse(t, MSG_T_QUEUE, from, sizeof from, &cur)) != 0)
        return rc;
    const void *k = NULL;
    size_t kl = 0;
    rc = store_cursor_next(cur, &k, &kl, NULL, NULL);
    if (rc == 0 && kl == MSG_KEY_QUEUE && memcmp(k, dev, ID_BYTES) == 0) {
        uint64_t seq = store_be64_get((const uint8_t *)k + ID_BYTES);
        if (seq > *last)
            *last = seq;
    }
    store_cursor_close(&cur);
    return rc == ES_NOT_FOUND ? ES_OK : rc;
}
