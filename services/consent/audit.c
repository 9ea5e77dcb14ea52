/*
 * audit.c - the patient's audit trail: an append-only hash chain per
 * patient, ReadAudit (the patient, newest first) and VerifyAudit (operator).
 *
 * Entry n of a patient is stored under patient | be64(n) as
 *   hash_n (32) | AuditEntry (packed, hash field empty)
 * with hash_n = BLAKE2b-256(hash_{n-1} | patient (16) | be64(n) | entry bytes)
 * and hash_0 = 32 zero bytes. The head (audit_heads: patient -> be64(n) |
 * hash_n) makes a truncated chain detectable too.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "services/consent/consent_int.h"
#include "process/log.h"
#include "proto/status.h"

#define AUDIT_KEY (ID_BYTES + 8)
#define AUDIT_HEAD (8 + CONSENT_HASH_BYTES)

static void s_key(const uint8_t pid[ID_BYTES], uint64_t seq, uint8_t out[AUDIT_KEY])
{
    memcpy(out, pid, ID_BYTES);
    store_be64_put(out + ID_BYTES, seq);
}

static void s_chain_hash(const uint8_t prev[CONSENT_HASH_BYTES],
                         const uint8_t pid[ID_BYTES], uint64_t seq, const uint8_t *entry,
                         size_t len, uint8_t out[CONSENT_HASH_BYTES])
{
    crypto_generichash_state st;
    uint8_t be[8];
    store_be64_put(be, seq);
    crypto_generichash_init(&st, NULL, 0, CONSENT_HASH_BYTES);
    crypto_generichash_update(&st, prev, CONSENT_HASH_BYTES);
    crypto_generichash_update(&st, pid, ID_BYTES);
    crypto_generichash_update(&st, be, sizeof be);
    crypto_generichash_update(&st, entry, len);
    crypto_generichash_final(&st, out, CONSENT_HASH_BYTES);
}

/* Head of a chain: seq 0 and zero hash when it has none. */
static int s_head(store_txn_t *t, const uint8_t pid[ID_BYTES], uint64_t *seq,
                  uint8_t hash[CONSENT_HASH_BYTES])
{
    const void *v;
    size_t vl;
    int rc = store_get(t, CONSENT_T_AUDIT_HEAD, pid, ID_BYTES, &v, &vl);
    if (rc == ES_NOT_FOUND) {
        *seq = 0;
        memset(hash, 0, CONSENT_HASH_BYTES);
        return ES_OK;
    }
    if (rc != 0)
        return rc;
    if (vl != AUDIT_HEAD)
        return ES_INTERNAL;
    *seq = store_be64_get(v);
    memcpy(hash, (const uint8_t *)v + 8, CONSENT_HASH_BYTES);
    return ES_OK;
}

int consent_audit_append(store_txn_t *t, const uint8_t pid[ID_BYTES],
                         Espace__V1__AuditEntry *e)
{
    uint64_t seq;
    uint8_t prev[CONSENT_HASH_BYTES];
    int rc = s_head(t, pid, &seq, prev);
    if (rc != 0)
        return rc;
    seq++;
    e->seq = seq;
    e->hash.data = NULL;
    e->hash.len = 0;
    size_t len = protobuf_c_message_get_packed_size(&e->base);
    uint8_t *val = malloc(CONSENT_HASH_BYTES + len);
    if (!val)
        return ES_RESOURCE_EXHAUSTED;
    protobuf_c_message_pack(&e->base, val + CONSENT_HASH_BYTES);
    s_chain_hash(prev, pid, seq, val + CONSENT_HASH_BYTES, len, val);
    uint8_t key[AUDIT_KEY];
    s_key(pid, seq, key);
    rc = store_put_new(t, CONSENT_T_AUDIT, key, sizeof key, val, CONSENT_HASH_BYTES + len);
    if (rc == 0) {
        uint8_t head[AUDIT_HEAD];
        store_be64_put(head, seq);
        memcpy(head + 8, val, CONSENT_HASH_BYTES);
        rc = store_put(t, CONSENT_T_AUDIT_HEAD, pid, ID_BYTES, head, sizeof head);
    }
    free(val);
    return rc;
}

void consent_audit_page_free(Espace__V1__AuditEntry **entries, size_t n)
{
    if (!entries)
        return;
    for (size_t i = 0; i < n; i++) {
        entries[i]->hash.data = NULL; /* borrowed from the transaction */
        entries[i]->hash.len = 0;
        codec_free(&entries[i]->base);
    }
    free(entries);
}

int consent_audit_page(store_txn_t *t, const uint8_t pid[ID_BYTES], uint64_t before_seq,
                       uint32_t limit, Espace__V1__AuditEntry ***entries, size_t *n,
                       uint64_t *next_before)
{
    uint8_t from[AUDIT_KEY];
    s_key(pid, before_seq ? before_seq : UINT64_MAX, from);
    store_cursor_t *cur = NULL;
    Espace__V1__AuditEntry **es = calloc(limit ? limit : 1, sizeof *es);
    size_t k = 0;
    *entries = NULL;
    *n = 0;
    *next_before = 0;
    if (!es)
        return ES_RESOURCE_EXHAUSTED;
    int rc = store_cursor_open_reverse(t, CONSENT_T_AUDIT, from, sizeof from, &cur);
    while (rc == 0) {
        const void *key, *v;
        size_t kl, vl;
        rc = store_cursor_next(cur, &key, &kl, &v, &vl);
        if (rc == ES_NOT_FOUND) {
            rc = ES_OK;
            break;
        }
        if (rc != 0)
            break;
        if (kl != AUDIT_KEY || memcmp(key, pid, ID_BYTES) != 0)
            break;
        if (k == limit) {
            *next_before = es[k - 1]->seq;
            break;
        }
        ProtobufCMessage *msg = NULL;
        if (vl < CONSENT_HASH_BYTES ||
            codec_decode(&espace__v1__audit_entry__descriptor, (const uint8_t *)v + CONSENT_HASH_BYTES,
                         vl - CONSENT_HASH_BYTES, STORE_MAX_VALUE, &msg, NULL) != 0) {
            rc = ES_INTERNAL;
            break;
        }
        es[k] = (Espace__V1__AuditEntry *)msg;
        es[k]->hash.data = (uint8_t *)v; /* borrowed until the transaction ends */
        es[k]->hash.len = CONSENT_HASH_BYTES;
        k++;
    }
    store_cursor_close(&cur);
    if (rc != 0) {
        consent_audit_page_free(es, k);
        return rc;
    }
    *entries = es;
    *n = k;
    return ES_OK;
}

int consent_audit_request(svc_call_t *c, store_txn_t *t, uint64_t before_seq, uint32_t limit,
                          uint8_t pid[ID_BYTES], Espace__V1__AuditEntry ***entries, size_t *n,
                          uint64_t *next)
{
    int rc;
    *entries = NULL;
    *n = 0;
    *next = 0;
    if ((rc = consent_caller_patient(c, pid)) != 0)
        return rc;
    if (limit > CONSENT_AUDIT_PAGE_MAX)
        return svc_fail(c, ES_INVALID_ARGUMENT, "limit", "at most %d", CONSENT_AUDIT_PAGE_MAX);
    if ((rc = consent_audit_page(t, pid, before_seq, limit ? limit : CONSENT_AUDIT_PAGE_DEFAULT,
                                 entries, n, next)) != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    return ES_OK;
}

int consent_read_audit(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    (void)st;
    const Espace__V1__ReadAuditRequest *req = (const Espace__V1__ReadAuditRequest *)m;
    uint8_t pid[ID_BYTES];
    Espace__V1__AuditEntry **es = NULL;
    size_t n = 0;
    uint64_t next = 0;
    int rc = consent_audit_request(c, t, req->before_seq, req->limit, pid, &es, &n, &next);
    if (rc != 0)
        return rc;
    Espace__V1__ReadAuditReply rep = ESPACE__V1__READ_AUDIT_REPLY__INIT;
    rep.entries = es;
    rep.n_entries = n;
    rep.next_before_seq = next;
    if ((rc = svc_reply(c, &rep.base)) != 0)
        rc = svc_fail(c, rc, NULL, "reply too large");
    consent_audit_page_free(es, n);
    return rc;
}

/* Walk one chain. *broken = first bad seq (0 if intact). */
static int s_verify_chain(store_txn_t *t, const uint8_t pid[ID_BYTES], uint64_t *broken,
                          uint64_t *entries)
{
    uint8_t from[AUDIT_KEY], prev[CONSENT_HASH_BYTES], h[CONSENT_HASH_BYTES];
    uint64_t expect = 1, head_seq;
    uint8_t head_hash[CONSENT_HASH_BYTES];
    store_cursor_t *cur = NULL;
    *broken = 0;
    int rc = s_head(t, pid, &head_seq, head_hash);
    if (rc != 0)
        return rc;
    memset(prev, 0, sizeof prev);
    s_key(pid, 0, from);
    rc = store_cursor_open(t, CONSENT_T_AUDIT, from, sizeof from, &cur);
    while (rc == 0) {
        const void *key, *v;
        size_t kl, vl;
        rc = store_cursor_next(cur, &key, &kl, &v, &vl);
        if (rc != 0)
            break;
        if (kl != AUDIT_KEY || memcmp(key, pid, ID_BYTES) != 0)
            break;
        uint64_t seq = store_be64_get((const uint8_t *)key + ID_BYTES);
        (*entries)++;
        if (seq != expect || vl < CONSENT_HASH_BYTES) {
            *broken = expect;
            break;
        }
        const uint8_t *body = (const uint8_t *)v + CONSENT_HASH_BYTES;
        size_t blen = vl - CONSENT_HASH_BYTES;
        s_chain_hash(prev, pid, seq, body, blen, h);
        ProtobufCMessage *msg = NULL;
        int ok = sodium_memcmp(h, v, CONSENT_HASH_BYTES) == 0 &&
                 codec_decode(&espace__v1__audit_entry__descriptor, body, blen, STORE_MAX_VALUE,
                              &msg, NULL) == 0 &&
                 ((Espace__V1__AuditEntry *)msg)->seq == seq;
        codec_free(msg);
        if (!ok) {
            *broken = seq;
            break;
        }
        memcpy(prev, v, CONSENT_HASH_BYTES);
        expect++;
    }
    store_cursor_close(&cur);
    if (rc == ES_NOT_FOUND)
        rc = ES_OK;
    if (rc == 0 && *broken == 0) {
        /* The head must name the last entry: entries cut off the end or an
         * appended forgery show here. */
        if (head_seq != expect - 1)
            *broken = (head_seq > expect - 1) ? expect : head_seq + 1;
        else if (sodium_memcmp(head_hash, prev, CONSENT_HASH_BYTES) != 0)
            *broken = head_seq;
    }
    return rc;
}

int consent_verify_audit(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    (void)st;
    const Espace__V1__VerifyAuditRequest *req = (const Espace__V1__VerifyAuditRequest *)m;
    Espace__V1__VerifyAuditReply rep = ESPACE__V1__VERIFY_AUDIT_REPLY__INIT;
    uint8_t pid[ID_BYTES];
    char hex[ID_HEX] = "";
    uint64_t broken = 0, entries = 0;
    uint32_t chains = 0;
    int rc = ES_OK;

    if (req->patient_id && req->patient_id[0]) {
        if ((rc = consent_patient_id_check(c, req->patient_id, pid)) != 0)
            return rc;
        if ((rc = s_verify_chain(t, pid, &broken, &entries)) != 0)
            return svc_fail(c, rc, NULL, "storage failure");
        chains = 1;
        if (broken)
            id_hex(pid, hex);
    } else {
        /* Every patient with entries or a head: walk the audit table and
         * verify each patient's chain once (keys are grouped by patient),
         * then the heads whose chain has no entry left. */
        store_cursor_t *cur = NULL;
        uint8_t last[ID_BYTES];
        int have_last = 0;
        const char *tables[2] = {CONSENT_T_AUDIT, CONSENT_T_AUDIT_HEAD};
        for (int ti = 0; ti < 2 && !broken && rc == 0; ti++) {
            have_last = 0;
            rc = store_cursor_open(t, tables[ti], NULL, 0, &cur);
            while (rc == 0 && !broken) {
                const void *key, *v;
                size_t kl, vl;
                rc = store_cursor_next(cur, &key, &kl, &v, &vl);
                if (rc != 0)
                    break;
                if (kl < ID_BYTES)
                    continue;
                if (have_last && memcmp(key, last, ID_BYTES) == 0)
                    continue;
                memcpy(last, key, ID_BYTES);
                have_last = 1;
                if (ti == 1) {
                    /* A head whose chain lost its first entry. */
                    uint8_t k1[AUDIT_KEY];
                    const void *x;
                    size_t xl;
                    s_key(last, 1, k1);
                    int g = store_get(t, CONSENT_T_AUDIT, k1, sizeof k1, &x, &xl);
                    if (g == ES_NOT_FOUND) {
                        chains++;
                        broken = 1;
                        id_hex(last, hex);
                    } else if (g != 0) {
                        rc = g;
                    }
                    continue;
                }
                chains++;
                uint64_t e = 0;
                int vrc = s_verify_chain(t, last, &broken, &e);
                entries += e;
                if (vrc != 0)
                    rc = vrc;
                else if (broken)
                    id_hex(last, hex);
            }
            store_cursor_close(&cur);
            if (rc == ES_NOT_FOUND)
                rc = ES_OK;
        }
        if (rc != 0)
            return svc_fail(c, rc, NULL, "storage failure");
    }
    rep.ok = broken == 0;
    rep.patient_id = hex;
    rep.broken_seq = broken;
    rep.entries = entries;
    rep.chains = chains;
    if (broken)
        log_warn(CONSENT_SERVICE, "audit.broken", "patient=%s seq=%llu", hex,
                 (unsigned long long)broken);
    if ((rc = svc_reply(c, &rep.base)) != 0)
        return svc_fail(c, rc, NULL, "reply too large");
    return ES_OK;
}
