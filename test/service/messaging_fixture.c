/* messaging_fixture.c - the messaging scenarios' fixture (messaging_fixture.h). */
#include "test/service/messaging_fixture.h"

#include <dirent.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

mf_t MF;

/* ---- fixture ---- */

void mf_messaging_start(void)
{
    Espace__V1__KeyStatusRequest req = ESPACE__V1__KEY_STATUS_REQUEST__INIT;
    sc_start(&MF.h, &MF.messaging, &messaging_service, MF.cl, "KeyStatus", &req.base,
             &espace__v1__key_status_reply__descriptor);
}

int mf_setup(void **state)
{
    (void)state;
    static const char *const prefixes[] = {"patient.", "pro.", NULL};
    memset(&MF, 0, sizeof MF);
    if (sodium_init() < 0 || sc_setup(&MF.h, MF_HB_MS, &MF.cl, &MF.events, prefixes) != 0)
        return -1;
    sc_consent_start(&MF.h, &MF.consent, MF.cl);
    mf_messaging_start();
    h_sleep_ms(300); /* subscriptions reach the publishers */
    return 0;
}

int mf_teardown(void **state)
{
    (void)state;
    return sc_teardown(&MF.h, &MF.cl, &MF.events, &MF.messaging, &MF.consent);
}

/* ---- principals and devices ---- */

void mf_patient_id(char out[ID_HEX])
{
    sc_patient_id(MF.cl, MF_CALL_MS, out);
}

void mf_dev(mf_dev_t *d, int kind, const char *principal)
{
    memset(d, 0, sizeof *d);
    d->kind = kind;
    snprintf(d->principal, sizeof d->principal, "%s", principal);
    randombytes_buf(d->id, sizeof d->id);
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(e2e_identity_generate(&d->ik), 0);
    assert_int_equal(e2e_prekey_generate(&d->spk, &d->ik, E2E_PREKEY_SIGNED, 1, now), 0);
    assert_int_equal(e2e_prekey_generate(&d->lrk, &d->ik, E2E_PREKEY_LAST_RESORT, 1, now), 0);
    d->next_opk = 100;
}

/* ---- calls ---- */

int mf_call_as(const Espace__V1__Caller *c, const char *service, const char *method,
               const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rdesc,
               ProtobufCMessage **rep, bus_reply_t *r)
{
    bus_reply_t tmp;
    memset(&tmp, 0, sizeof tmp);
    return bus_call(MF.cl, service, method, req, rdesc, MF_CALL_MS, c, rep, r ? r : &tmp);
}

int mf_call(const mf_dev_t *d, const char *method, const ProtobufCMessage *req,
            const ProtobufCMessageDescriptor *rdesc, ProtobufCMessage **rep, bus_reply_t *r)
{
    Espace__V1__Caller c = h_caller(d->kind, d->principal);
    c.device_id.data = (uint8_t *)d->id;
    c.device_id.len = ID_BYTES;
    return mf_call_as(&c, SERVICE_MESSAGING, method, req, rdesc, rep, r);
}

static void s_signed(Espace__V1__SignedPrekey *s, const e2e_prekey_t *p)
{
    espace__v1__signed_prekey__init(s);
    s->id = p->id;
    s->key.data = (uint8_t *)p->pk;
    s->key.len = E2E_KEY_BYTES;
    s->sig.data = (uint8_t *)p->sig;
    s->sig.len = E2E_SIG_BYTES;
}

int mf_publish(mf_dev_t *d, size_t n)
{
    assert_true(n <= MF_OPKS);
    Espace__V1__SignedPrekey spk, lrk;
    s_signed(&spk, &d->spk);
    s_signed(&lrk, &d->lrk);
    Espace__V1__OneTimePrekey o[MF_OPKS], *po[MF_OPKS];
    if (n) {
        assert_int_equal(e2e_prekeys_generate(d->opk, n, d->next_opk, (int64_t)time(NULL)), 0);
        d->next_opk += (uint32_t)n;
    }
    for (size_t i = 0; i < n; i++) {
        espace__v1__one_time_prekey__init(&o[i]);
        o[i].id = d->opk[i].id;
        o[i].key.data = d->opk[i].pk;
        o[i].key.len = E2E_KEY_BYTES;
        po[i] = &o[i];
    }
    Espace__V1__PublishKeysRequest req = ESPACE__V1__PUBLISH_KEYS_REQUEST__INIT;
    req.identity_key.data = d->ik.sign_pk;
    req.identity_key.len = E2E_KEY_BYTES;
    req.signed_prekey = &spk;
    req.last_resort = &lrk;
    req.one_time = po;
    req.n_one_time = n;
    ProtobufCMessage *rep = NULL;
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = mf_call(d, "PublishKeys", &req.base, &espace__v1__publish_keys_reply__descriptor,
                     &rep, &r);
    if (rc != 0)
        fprintf(stderr, "PublishKeys: %s %s %s\n", es_status_name(rc), r.field, r.message);
    codec_free(rep);
    return rc;
}

void mf_grant(const char *pid, const char *rpps)
{
    Espace__V1__Scope s = ESPACE__V1__SCOPE__INIT;
    s.category = ESPACE__V1__CATEGORY__CATEGORY_MESSAGING;
    s.action = ESPACE__V1__ACTION__ACTION_WRITE;
    Espace__V1__Scope *sp[1] = {&s};
    Espace__V1__GrantRequest req = ESPACE__V1__GRANT_REQUEST__INIT;
    req.grantee_kind = ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL;
    req.grantee_id = (char *)rpps;
    req.scopes = sp;
    req.n_scopes = 1;
    req.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    Espace__V1__Caller c = h_caller(K_PATIENT, pid);
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    ProtobufCMessage *rep = NULL;
    int rc = mf_call_as(&c, SERVICE_CONSENT, "Grant", &req.base,
                        &espace__v1__grant_reply__descriptor, &rep, &r);
    codec_free(rep);
    if (rc != 0)
        fail_msg("Grant: %s %s %s", es_status_name(rc), r.field, r.message);
}

int mf_start(const mf_dev_t *pro, const char *pid, const char *const *others, size_t n,
             uint8_t id[ID_BYTES], bus_reply_t *r)
{
    Espace__V1__StartConversationRequest req = ESPACE__V1__START_CONVERSATION_REQUEST__INIT;
    req.patient_id = (char *)pid;
    req.professionals = (char **)others;
    req.n_professionals = n;
    ProtobufCMessage *rep = NULL;
    int rc = mf_call(pro, "StartConversation", &req.base,
                     &espace__v1__start_conversation_reply__descriptor, &rep, r);
    if (rc == 0) {
        Espace__V1__StartConversationReply *s = (Espace__V1__StartConversationReply *)rep;
        assert_non_null(s->conversation);
        assert_int_equal(s->conversation->id.len, ID_BYTES);
        memcpy(id, s->conversation->id.data, ID_BYTES);
    }
    codec_free(rep);
    return rc;
}

int mf_send(const mf_dev_t *from, const char *pid, const uint8_t conv[ID_BYTES],
            const uint8_t msg[ID_BYTES],
            const mf_dev_t *const *devs, const ProtobufCBinaryData *texts, size_t n,
            Espace__V1__SendReply **out, bus_reply_t *r)
{
    Espace__V1__Copy cp[32], *pcp[32];
    assert_true(n <= 32);
    for (size_t i = 0; i < n; i++) {
        espace__v1__copy__init(&cp[i]);
        cp[i].device_id.data = (uint8_t *)devs[i]->id;
        cp[i].device_id.len = ID_BYTES;
        cp[i].ciphertext = texts[i];
        pcp[i] = &cp[i];
    }
    Espace__V1__SendRequest req = ESPACE__V1__SEND_REQUEST__INIT;
    req.conversation_id.data = (uint8_t *)conv;
    req.conversation_id.len = ID_BYTES;
    req.message_id.data = (uint8_t *)msg;
    req.message_id.len = ID_BYTES;
    req.patient_id = (char *)(pid ? pid : "");
    req.copies = pcp;
    req.n_copies = n;
    ProtobufCMessage *rep = NULL;
    int rc = mf_call(from, "Send", &req.base, &espace__v1__send_reply__descriptor, &rep, r);
    if (out)
        *out = (Espace__V1__SendReply *)rep;
    else
        codec_free(rep);
    return rc;
}

Espace__V1__FetchReply *mf_fetch(const mf_dev_t *d, uint64_t after)
{
    Espace__V1__FetchRequest req = ESPACE__V1__FETCH_REQUEST__INIT;
    req.after_seq = after;
    ProtobufCMessage *rep = NULL;
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = mf_call(d, "Fetch", &req.base, &espace__v1__fetch_reply__descriptor, &rep, &r);
    if (rc != 0)
        fail_msg("Fetch: %s %s %s", es_status_name(rc), r.field, r.message);
    return (Espace__V1__FetchReply *)rep;
}

int mf_ack(const mf_dev_t *d, uint64_t seq)
{
    Espace__V1__AckRequest req = ESPACE__V1__ACK_REQUEST__INIT;
    req.up_to_seq = seq;
    ProtobufCMessage *rep = NULL;
    int rc = mf_call(d, "Ack", &req.base, &espace__v1__ack_reply__descriptor, &rep, NULL);
    codec_free(rep);
    return rc;
}

/* ---- events ---- */

Espace__V1__Entry *mf_event(const char *topic, int ms)
{
    return (Espace__V1__Entry *)sc_event(MF.events, topic, &espace__v1__entry__descriptor, ms);
}

void mf_drain(void)
{
    sc_drain(MF.events);
}

/* ---- the store, unsealed ---- */

static int s_mem(const void *hay, size_t hl, const void *needle, size_t n)
{
    for (size_t i = 0; i + n <= hl; i++)
        if (memcmp((const uint8_t *)hay + i, needle, n) == 0)
            return 1;
    return 0;
}

int mf_store_contains(const void *needle, size_t n)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/%s", MF.h.dir, SERVICE_MESSAGING);
    store_opts_t o;
    memset(&o, 0, sizeof o);
    o.tables = messaging_service.tables;
    store_t *s = NULL;
    assert_int_equal(store_open(dir, &o, &s), 0);
    store_txn_t *t = NULL;
    assert_int_equal(store_read_begin(s, &t), 0);
    int found = 0;
    for (const char **tab = messaging_service.tables; *tab && !found; tab++) {
        store_cursor_t *c = NULL;
        assert_int_equal(store_cursor_open(t, *tab, NULL, 0, &c), 0);
        const void *k = NULL, *v = NULL;
        size_t kl = 0, vl = 0;
        while (!found && store_cursor_next(c, &k, &kl, &v, &vl) == 0)
            found = s_mem(k, kl, needle, n) || s_mem(v, vl, needle, n);
        store_cursor_close(&c);
    }
    store_txn_end(&t);
    store_close(&s);
    return found;
}

int mf_store_corrupt_first(const char *table, const void *prefix, size_t plen)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/%s", MF.h.dir, SERVICE_MESSAGING);
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_cursor *cur = NULL;
    int rc = -1;
    if (mdb_env_create(&env) != 0)
        return -1;
    if (mdb_env_set_maxdbs(env, STORE_MAX_TABLES) != 0 ||
        mdb_env_set_mapsize(env, STORE_DEFAULT_MAPSIZE) != 0 || mdb_env_open(env, dir, 0, 0600) != 0 ||
        mdb_txn_begin(env, NULL, 0, &txn) != 0)
        goto done;
    if (mdb_dbi_open(txn, table, 0, &dbi) != 0 || mdb_cursor_open(txn, dbi, &cur) != 0)
        goto done;
    MDB_val k = {plen, (void *)prefix}, v;
    if (mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) != 0 || k.mv_size < plen ||
        memcmp(k.mv_data, prefix, plen) != 0 || v.mv_size == 0)
        goto done;
    uint8_t *copy = malloc(v.mv_size);
    if (!copy)
        goto done;
    memcpy(copy, v.mv_data, v.mv_size);
    copy[v.mv_size - 1] ^= 0x01; /* the tag's last byte */
    MDB_val nv = {v.mv_size, copy};
    rc = mdb_cursor_put(cur, &k, &nv, MDB_CURRENT) == 0 ? 0 : -1;
    free(copy);
    mdb_cursor_close(cur);
    cur = NULL;
    if (rc == 0)
        rc = mdb_txn_commit(txn) == 0 ? 0 : -1;
    txn = NULL;
done:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(env);
    return rc;
}

/* ---- files ---- */

static int s_file_contains(const char *path, const void *needle, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int found = 0;
    size_t cap = 1 << 20, have = 0;
    uint8_t *buf = malloc(cap + n);
    while (buf && !found) {
        size_t got = fread(buf + have, 1, cap, f);
        if (got == 0)
            break;
        have += got;
        for (size_t i = 0; i + n <= have && !found; i++)
            found = memcmp(buf + i, needle, n) == 0;
        /* keep the last n - 1 bytes: a match may straddle two reads */
        size_t keep = have < n ? have : n - 1;
        memmove(buf, buf + have - keep, keep);
        have = keep;
    }
    free(buf);
    fclose(f);
    return found;
}

int mf_dir_contains(const char *dir, const void *needle, size_t n)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            found = mf_dir_contains(p, needle, n);
        else if (S_ISREG(st.st_mode))
            found = s_file_contains(p, needle, n);
    }
    closedir(d);
    return found;
}
