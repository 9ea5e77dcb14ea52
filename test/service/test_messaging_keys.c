/*
 * test_messaging_keys.c - the key directory on a live bus: publication with
 * checked signatures, one device publishing for another refused, atomic
 * one-time claims with the last-resort fallback, the replenish hint.
 */
#include <string.h>

#include "test/service/messaging_fixture.h"

#define RPPS "81000000011"
#define RPPS2 "81000000012"

#define ONE_TIME ESPACE__V1__PREKEY_KIND__PREKEY_KIND_ONE_TIME
#define LAST_RESORT ESPACE__V1__PREKEY_KIND__PREKEY_KIND_LAST_RESORT

static Espace__V1__PrekeyHint s_hint(const mf_dev_t *d)
{
    Espace__V1__KeyStatusRequest req = ESPACE__V1__KEY_STATUS_REQUEST__INIT;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(mf_call(d, "KeyStatus", &req.base, &espace__v1__key_status_reply__descriptor,
                             &rep, NULL),
                     0);
    Espace__V1__PrekeyHint h = *((Espace__V1__KeyStatusReply *)rep)->hint;
    codec_free(rep);
    return h;
}

/* A conversation between patient pid and pro (granted). */
static void s_conv(const mf_dev_t *pro, const char *pid, uint8_t conv[ID_BYTES])
{
    mf_grant(pid, pro->principal);
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = mf_start(pro, pid, NULL, 0, conv, &r);
    if (rc != 0)
        fail_msg("Start: %s %s %s", es_status_name(rc), r.field, r.message);
}

static Espace__V1__ClaimBundlesReply *s_claim(const mf_dev_t *by, const uint8_t conv[ID_BYTES],
                                              const mf_dev_t *target, int *status)
{
    ProtobufCBinaryData id = {ID_BYTES, (uint8_t *)target->id};
    Espace__V1__ClaimBundlesRequest req = ESPACE__V1__CLAIM_BUNDLES_REQUEST__INIT;
    req.conversation_id.data = (uint8_t *)conv;
    req.conversation_id.len = ID_BYTES;
    req.device_ids = &id;
    req.n_device_ids = 1;
    ProtobufCMessage *rep = NULL;
    *status = mf_call(by, "ClaimBundles", &req.base, &espace__v1__claim_bundles_reply__descriptor,
                      &rep, NULL);
    return (Espace__V1__ClaimBundlesReply *)rep;
}

/* The bundle a claim gave, as es_e2e sees it: it must verify. */
static void s_bundle_check(const Espace__V1__Bundle *b, const mf_dev_t *d)
{
    e2e_bundle_t eb;
    memset(&eb, 0, sizeof eb);
    assert_int_equal(b->identity_key.len, 32);
    memcpy(eb.ik, b->identity_key.data, 32);
    assert_memory_equal(eb.ik, d->ik.sign_pk, 32);
    eb.spk_id = b->signed_prekey->id;
    memcpy(eb.spk, b->signed_prekey->key.data, 32);
    memcpy(eb.spk_sig, b->signed_prekey->sig.data, 64);
    eb.opk_kind = (uint8_t)b->prekey_kind;
    eb.opk_id = b->prekey_id;
    if (b->prekey.len)
        memcpy(eb.opk, b->prekey.data, 32);
    if (b->prekey_sig.len)
        memcpy(eb.opk_sig, b->prekey_sig.data, 64);
    assert_int_equal(e2e_bundle_verify(&eb), 0);
}

static void test_publish_and_claim(void **state)
{
    (void)state;
    char pid[ID_HEX];
    mf_patient_id(pid);
    mf_dev_t pat, pro;
    mf_dev(&pat, K_PATIENT, pid);
    mf_dev(&pro, K_PRO, RPPS);
    assert_int_equal(mf_publish(&pat, 3), 0);
    assert_int_equal(mf_publish(&pro, 0), 0);
    Espace__V1__PrekeyHint h = s_hint(&pat);
    assert_true(h.published);
    assert_int_equal(h.one_time_left, 3);
    assert_true(h.low);
    uint8_t conv[ID_BYTES];
    s_conv(&pro, pid, conv);

    /* three one-time prekeys, each handed out once, then the last resort,
     * however often the claim is repeated */
    uint32_t seen[3];
    for (int i = 0; i < 6; i++) {
        int st = 0;
        Espace__V1__ClaimBundlesReply *rep = s_claim(&pro, conv, &pat, &st);
        assert_int_equal(st, 0);
        assert_int_equal(rep->n_bundles, 1);
        const Espace__V1__Bundle *b = rep->bundles[0];
        s_bundle_check(b, &pat);
        assert_int_equal(b->owner->kind, K_PATIENT);
        assert_string_equal(b->owner->principal, pid);
        if (i < 3) {
            assert_int_equal(b->prekey_kind, ONE_TIME);
            seen[i] = b->prekey_id;
            for (int j = 0; j < i; j++)
                assert_int_not_equal(seen[j], seen[i]);
            int known = 0;
            for (int j = 0; j < 3; j++)
                known |= pat.opk[j].id == b->prekey_id &&
                         memcmp(pat.opk[j].pk, b->prekey.data, 32) == 0;
            assert_true(known);
        } else {
            assert_int_equal(b->prekey_kind, LAST_RESORT);
            assert_int_equal(b->prekey_id, pat.lrk.id);
        }
        codec_free(&rep->base);
    }
    h = s_hint(&pat);
    assert_int_equal(h.one_time_left, 0);
    assert_true(h.low);

    /* replenish: a batch, and the count comes back */
    assert_int_equal(mf_publish(&pat, 5), 0);
    assert_int_equal(s_hint(&pat).one_time_left, 5);

    /* claims of all devices of the conversation at once (none listed) */
    Espace__V1__ClaimBundlesRequest all = ESPACE__V1__CLAIM_BUNDLES_REQUEST__INIT;
    all.conversation_id.data = conv;
    all.conversation_id.len = ID_BYTES;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(mf_call(&pro, "ClaimBundles", &all.base,
                             &espace__v1__claim_bundles_reply__descriptor, &rep, NULL),
                     0);
    assert_int_equal(((Espace__V1__ClaimBundlesReply *)rep)->n_bundles, 1); /* not its own */
    codec_free(rep);
    assert_int_equal(s_hint(&pat).one_time_left, 4);

    /* a stranger (not a member) cannot claim */
    mf_dev_t other;
    mf_dev(&other, K_PRO, RPPS2);
    int st = 0;
    Espace__V1__ClaimBundlesReply *no = s_claim(&other, conv, &pat, &st);
    assert_int_equal(st, ES_NOT_FOUND);
    codec_free(no ? &no->base : NULL);
}

static void test_concurrent_claims_are_atomic(void **state)
{
    (void)state;
    char pid[ID_HEX];
    mf_patient_id(pid);
    mf_dev_t pat, pro;
    mf_dev(&pat, K_PATIENT, pid);
    mf_dev(&pro, K_PRO, RPPS);
    assert_int_equal(mf_publish(&pat, 4), 0);
    assert_int_equal(mf_publish(&pro, 0), 0);
    uint8_t conv[ID_BYTES];
    s_conv(&pro, pid, conv);
    /* 8 claims pipelined: they share write groups, yet no key twice */
    ProtobufCBinaryData id = {ID_BYTES, pat.id};
    Espace__V1__ClaimBundlesRequest req = ESPACE__V1__CLAIM_BUNDLES_REQUEST__INIT;
    req.conversation_id.data = conv;
    req.conversation_id.len = ID_BYTES;
    req.device_ids = &id;
    req.n_device_ids = 1;
    Espace__V1__Caller c = h_caller(K_PRO, RPPS);
    c.device_id.data = pro.id;
    c.device_id.len = ID_BYTES;
    uint64_t ids[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(bus_client_send(MF.cl, SERVICE_MESSAGING, "ClaimBundles", &req.base,
                                         MF_CALL_MS, &c, &ids[i]),
                         0);
    int one_time = 0, last = 0;
    uint32_t got[8];
    for (int i = 0; i < 8; i++) {
        bus_reply_t r;
        memset(&r, 0, sizeof r);
        assert_int_equal(bus_client_recv(MF.cl, MF_CALL_MS, &r), 0);
        assert_int_equal(r.status, 0);
        ProtobufCMessage *m = NULL;
        assert_int_equal(codec_decode(&espace__v1__claim_bundles_reply__descriptor, r.body,
                                      r.body_len, 0, &m, NULL),
                         0);
        bus_reply_clear(&r);
        const Espace__V1__Bundle *b = ((Espace__V1__ClaimBundlesReply *)m)->bundles[0];
        if (b->prekey_kind == ONE_TIME) {
            for (int j = 0; j < one_time; j++)
                assert_int_not_equal(got[j], b->prekey_id);
            got[one_time++] = b->prekey_id;
        } else {
            assert_int_equal(b->prekey_kind, LAST_RESORT);
            last++;
        }
        codec_free(m);
    }
    assert_int_equal(one_time, 4);
    assert_int_equal(last, 4);
}

static void test_publish_refusals(void **state)
{
    (void)state;
    char pid[ID_HEX];
    mf_patient_id(pid);
    mf_dev_t d, other;
    mf_dev(&d, K_PATIENT, pid);
    mf_dev(&other, K_PATIENT, pid);
    bus_reply_t r;
    ProtobufCMessage *rep = NULL;

    /* a forged signature on the signed prekey: refused, nothing stored */
    d.spk.sig[5] ^= 1;
    assert_int_not_equal(mf_publish(&d, 1), 0);
    assert_false(s_hint(&d).published);
    d.spk.sig[5] ^= 1;
    /* the last-resort prekey signed as a signed prekey does not pass */
    e2e_prekey_t saved = d.lrk;
    assert_int_equal(e2e_prekey_generate(&d.lrk, &d.ik, E2E_PREKEY_SIGNED, 1, 0), 0);
    Espace__V1__SignedPrekey spk = ESPACE__V1__SIGNED_PREKEY__INIT, lrk = ESPACE__V1__SIGNED_PREKEY__INIT;
    spk.id = d.spk.id;
    spk.key = (ProtobufCBinaryData){32, d.spk.pk};
    spk.sig = (ProtobufCBinaryData){64, d.spk.sig};
    lrk.id = d.lrk.id;
    lrk.key = (ProtobufCBinaryData){32, d.lrk.pk};
    lrk.sig = (ProtobufCBinaryData){64, d.lrk.sig};
    Espace__V1__PublishKeysRequest req = ESPACE__V1__PUBLISH_KEYS_REQUEST__INIT;
    req.identity_key = (ProtobufCBinaryData){32, d.ik.sign_pk};
    req.signed_prekey = &spk;
    req.last_resort = &lrk;
    memset(&r, 0, sizeof r);
    int rc = mf_call(&d, "PublishKeys", &req.base, &espace__v1__publish_keys_reply__descriptor,
                     &rep, &r);
    MF_EXPECT(rc, r, ES_UNAUTHENTICATED, "last_resort.sig");
    d.lrk = saved;
    lrk.key = (ProtobufCBinaryData){32, d.lrk.pk};
    lrk.sig = (ProtobufCBinaryData){64, d.lrk.sig};

    /* a bad signature on the signed prekey names it */
    uint8_t bad[64];
    memcpy(bad, d.spk.sig, 64);
    bad[0] ^= 0x80;
    spk.sig = (ProtobufCBinaryData){64, bad};
    memset(&r, 0, sizeof r);
    rc = mf_call(&d, "PublishKeys", &req.base, &espace__v1__publish_keys_reply__descriptor, &rep,
                 &r);
    MF_EXPECT(rc, r, ES_UNAUTHENTICATED, "signed_prekey.sig");
    spk.sig = (ProtobufCBinaryData){64, d.spk.sig};

    /* a device publishing for another device */
    req.device_id = (ProtobufCBinaryData){ID_BYTES, other.id};
    memset(&r, 0, sizeof r);
    rc = mf_call(&d, "PublishKeys", &req.base, &espace__v1__publish_keys_reply__descriptor, &rep,
                 &r);
    MF_EXPECT(rc, r, ES_PERMISSION_DENIED, "device_id");
    assert_false(s_hint(&other).published);
    req.device_id = (ProtobufCBinaryData){ID_BYTES, d.id}; /* its own: fine */
    assert_int_equal(mf_call(&d, "PublishKeys", &req.base,
                             &espace__v1__publish_keys_reply__descriptor, &rep, NULL),
                     0);
    codec_free(rep);
    rep = NULL;

    /* a session without a device */
    Espace__V1__Caller nodev = h_caller(K_PATIENT, pid);
    memset(&r, 0, sizeof r);
    rc = mf_call_as(&nodev, SERVICE_MESSAGING, "PublishKeys", &req.base,
                    &espace__v1__publish_keys_reply__descriptor, &rep, &r);
    MF_EXPECT(rc, r, ES_FAILED_PRECONDITION, "device_id");

    /* the identity key is fixed once published (trust on first publish) */
    e2e_identity_t ik2;
    assert_int_equal(e2e_identity_generate(&ik2), 0);
    req.identity_key = (ProtobufCBinaryData){32, ik2.sign_pk};
    memset(&r, 0, sizeof r);
    rc = mf_call(&d, "PublishKeys", &req.base, &espace__v1__publish_keys_reply__descriptor, &rep,
                 &r);
    MF_EXPECT(rc, r, ES_FAILED_PRECONDITION, "identity_key");

    /* a one-time prekey id already held */
    assert_int_equal(mf_publish(&d, 2), 0);
    d.next_opk -= 2;
    memset(&r, 0, sizeof r);
    assert_int_equal(mf_publish(&d, 1), ES_ALREADY_EXISTS);
    assert_int_equal(s_hint(&d).one_time_left, 2);

    /* unpublish: gone from the directory */
    Espace__V1__UnpublishRequest ur = ESPACE__V1__UNPUBLISH_REQUEST__INIT;
    assert_int_equal(mf_call(&d, "Unpublish", &ur.base, &espace__v1__unpublish_reply__descriptor,
                             &rep, NULL),
                     0);
    codec_free(rep);
    assert_false(s_hint(&d).published);
    e2e_identity_wipe(&ik2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_and_claim),
        cmocka_unit_test(test_concurrent_claims_are_atomic),
        cmocka_unit_test(test_publish_refusals),
    };
    return cmocka_run_group_tests(tests, mf_setup, mf_teardown);
}
