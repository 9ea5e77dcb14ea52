/*
 * test_messaging_flow.c - conversations and messages on a live bus: who may
 * start, send and close; the device set of a send; idempotent ids; a queue
 * per device in order with caught-up, acks and receipts; the stamped
 * sender; rate limits; and one real es_e2e exchange whose plaintext never
 * reaches the data files.
 */
#include <sodium.h>
#include <string.h>

#include "test/service/messaging_fixture.h"

#define RPPS "81000000021"
#define RPPS2 "81000000022"
#define RPPS3 "81000000023"
#define RPPS4 "81000000024"
#define R(x) ESPACE__V1__SEND_RESULT__SEND_RESULT_##x
#define E(x) ESPACE__V1__ENTRY_KIND__ENTRY_KIND_##x

static ProtobufCBinaryData s_bytes(const char *s)
{
    return (ProtobufCBinaryData){strlen(s), (uint8_t *)s};
}

static void s_msgid(uint8_t id[ID_BYTES])
{
    randombytes_buf(id, ID_BYTES);
}

/* Newest audit entry of pid (*hold: codec_free). */
static const Espace__V1__AuditEntry *s_last_audit(const char *pid, ProtobufCMessage **hold)
{
    Espace__V1__ReadAuditRequest req = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    req.limit = 1;
    Espace__V1__Caller c = h_caller(K_PATIENT, pid);
    assert_int_equal(mf_call_as(&c, SERVICE_CONSENT, "ReadAudit", &req.base,
                                &espace__v1__read_audit_reply__descriptor, hold, NULL),
                     0);
    Espace__V1__ReadAuditReply *rep = (Espace__V1__ReadAuditReply *)*hold;
    assert_int_equal(rep->n_entries, 1);
    return rep->entries[0];
}

static int s_close(const mf_dev_t *d, const uint8_t conv[ID_BYTES], bus_reply_t *r)
{
    Espace__V1__CloseConversationRequest req = ESPACE__V1__CLOSE_CONVERSATION_REQUEST__INIT;
    req.conversation_id = (ProtobufCBinaryData){ID_BYTES, (uint8_t *)conv};
    ProtobufCMessage *rep = NULL;
    int rc = mf_call(d, "CloseConversation", &req.base,
                     &espace__v1__close_conversation_reply__descriptor, &rep, r);
    codec_free(rep);
    return rc;
}

static void test_conversation_rules(void **state)
{
    (void)state;
    char pid[ID_HEX];
    mf_patient_id(pid);
    mf_dev_t pat, pro, pro2;
    mf_dev(&pat, K_PATIENT, pid);
    mf_dev(&pro, K_PRO, RPPS);
    mf_dev(&pro2, K_PRO, RPPS2);
    assert_int_equal(mf_publish(&pat, 2), 0);
    assert_int_equal(mf_publish(&pro, 0), 0);
    assert_int_equal(mf_publish(&pro2, 0), 0);
    uint8_t conv[ID_BYTES], msg[ID_BYTES];
    bus_reply_t r;
    memset(&r, 0, sizeof r);

    /* no grant: refused by consent, which audits the denial */
    int rc = mf_start(&pro, pid, NULL, 0, conv, &r);
    assert_int_equal(rc, ES_PERMISSION_DENIED);
    ProtobufCMessage *hold = NULL;
    const Espace__V1__AuditEntry *a = s_last_audit(pid, &hold);
    assert_false(a->allowed);
    assert_string_equal(a->actor, RPPS);
    assert_string_equal(a->service, SERVICE_MESSAGING);
    assert_int_equal(a->category, ESPACE__V1__CATEGORY__CATEGORY_MESSAGING);
    codec_free(hold);

    /* a patient starts one with exactly one professional (and only one who
     * holds a grant: test_messaging_start.c) */
    memset(&r, 0, sizeof r);
    rc = mf_start(&pat, "", NULL, 0, conv, &r);
    MF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "professionals");

    /* with the grant: started (audited as allowed), with a second professional */
    mf_grant(pid, RPPS);
    const char *others[] = {RPPS2};
    assert_int_equal(mf_start(&pro, pid, others, 1, conv, NULL), 0);
    a = s_last_audit(pid, &hold);
    assert_true(a->allowed);
    codec_free(hold);

    /* the patient answers (patient_id empty), pro2 without a grant cannot write */
    const mf_dev_t *to_pros[] = {&pro, &pro2};
    ProtobufCBinaryData txt[] = {s_bytes("c1"), s_bytes("c2")};
    s_msgid(msg);
    assert_int_equal(mf_send(&pat, NULL, conv, msg, to_pros, txt, 2, NULL, NULL), 0);
    const mf_dev_t *from2[] = {&pat, &pro};
    s_msgid(msg);
    memset(&r, 0, sizeof r);
    assert_int_equal(mf_send(&pro2, pid, conv, msg, from2, txt, 2, NULL, &r),
                     ES_PERMISSION_DENIED);
    mf_grant(pid, RPPS2);
    assert_int_equal(mf_send(&pro2, pid, conv, msg, from2, txt, 2, NULL, NULL), 0);

    /* a professional naming the wrong patient */
    char other[ID_HEX];
    mf_patient_id(other);
    mf_grant(other, RPPS);
    const mf_dev_t *from1[] = {&pat, &pro2};
    s_msgid(msg);
    memset(&r, 0, sizeof r);
    rc = mf_send(&pro, other, conv, msg, from1, txt, 2, NULL, &r);
    MF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "patient_id");

    /* only a professional closes; then every send is refused */
    memset(&r, 0, sizeof r);
    assert_int_equal(s_close(&pat, conv, &r), ES_PERMISSION_DENIED);
    assert_int_equal(s_close(&pro, conv, NULL), 0);
    assert_int_equal(s_close(&pro, conv, NULL), 0); /* again: no-op */
    s_msgid(msg);
    memset(&r, 0, sizeof r);
    rc = mf_send(&pat, NULL, conv, msg, to_pros, txt, 2, NULL, &r);
    MF_EXPECT(rc, r, ES_FAILED_PRECONDITION, "conversation_id");
    memset(&r, 0, sizeof r);
    rc = mf_send(&pro, pid, conv, msg, from1, txt, 2, NULL, &r);
    MF_EXPECT(rc, r, ES_FAILED_PRECONDITION, "conversation_id");

    /* members see it (closed), others do not */
    Espace__V1__GetConversationRequest g = ESPACE__V1__GET_CONVERSATION_REQUEST__INIT;
    g.conversation_id = (ProtobufCBinaryData){ID_BYTES, conv};
    ProtobufCMessage *rep = NULL;
    assert_int_equal(mf_call(&pat, "GetConversation", &g.base,
                             &espace__v1__get_conversation_reply__descriptor, &rep, NULL),
                     0);
    Espace__V1__GetConversationReply *gr = (Espace__V1__GetConversationReply *)rep;
    assert_true(gr->conversation->closed);
    assert_string_equal(gr->conversation->closed_by, RPPS);
    assert_int_equal(gr->n_devices, 3);
    assert_int_equal(gr->devices[0]->n_devices, 1);
    assert_memory_equal(gr->devices[0]->devices[0]->identity_key.data, pat.ik.sign_pk, 32);
    codec_free(rep);
    mf_dev_t stranger;
    mf_dev(&stranger, K_PRO, RPPS3);
    memset(&r, 0, sizeof r);
    rc = mf_call(&stranger, "GetConversation", &g.base,
                 &espace__v1__get_conversation_reply__descriptor, &rep, &r);
    MF_EXPECT(rc, r, ES_NOT_FOUND, "conversation_id");

    /* ListConversations: the patient's */
    Espace__V1__ListConversationsRequest lr = ESPACE__V1__LIST_CONVERSATIONS_REQUEST__INIT;
    assert_int_equal(mf_call(&pat, "ListConversations", &lr.base,
                             &espace__v1__list_conversations_reply__descriptor, &rep, NULL),
                     0);
    assert_int_equal(((Espace__V1__ListConversationsReply *)rep)->n_conversations, 1);
    codec_free(rep);
}

/* A conversation of pid with pro (granted), both devices published. */
static void s_setup_pair(mf_dev_t *pat, mf_dev_t *pat2, mf_dev_t *pro, const char *rpps,
                         char pid[ID_HEX], uint8_t conv[ID_BYTES])
{
    mf_patient_id(pid);
    mf_dev(pat, K_PATIENT, pid);
    mf_dev(pro, K_PRO, rpps);
    assert_int_equal(mf_publish(pat, 1), 0);
    assert_int_equal(mf_publish(pro, 0), 0);
    if (pat2) {
        mf_dev(pat2, K_PATIENT, pid);
        assert_int_equal(mf_publish(pat2, 1), 0);
    }
    mf_grant(pid, rpps);
    assert_int_equal(mf_start(pro, pid, NULL, 0, conv, NULL), 0);
}

static void test_device_set_and_idempotence(void **state)
{
    (void)state;
    char pid[ID_HEX];
    mf_dev_t pat, pat2, pro;
    uint8_t conv[ID_BYTES], msg[ID_BYTES];
    s_setup_pair(&pat, &pat2, &pro, RPPS3, pid, conv);
    bus_reply_t r;
    Espace__V1__SendReply *rep = NULL;

    /* the patient's second device omitted: refused with the current list */
    const mf_dev_t *one[] = {&pat};
    ProtobufCBinaryData txt[] = {s_bytes("x1"), s_bytes("x2"), s_bytes("x3")};
    s_msgid(msg);
    assert_int_equal(mf_send(&pro, pid, conv, msg, one, txt, 1, &rep, NULL), 0);
    assert_int_equal(rep->result, R(DEVICES_CHANGED));
    assert_int_equal(rep->n_missing, 1);
    assert_memory_equal(rep->missing[0].data, pat2.id, ID_BYTES);
    assert_int_equal(rep->n_stale, 0);
    assert_int_equal(rep->n_devices, 2);
    assert_int_equal(rep->devices[0]->n_devices, 2); /* the patient's two */
    assert_int_equal(rep->devices[1]->n_devices, 1); /* the professional's */
    codec_free(&rep->base);
    /* nothing stored */
    Espace__V1__FetchReply *f = mf_fetch(&pat, 0);
    assert_int_equal(f->n_entries, 0);
    assert_true(f->caught_up);
    codec_free(&f->base);

    /* a stale device (unknown), and the sender's own device */
    mf_dev_t ghost;
    mf_dev(&ghost, K_PATIENT, pid);
    const mf_dev_t *stale[] = {&pat, &pat2, &ghost};
    assert_int_equal(mf_send(&pro, pid, conv, msg, stale, txt, 3, &rep, NULL), 0);
    assert_int_equal(rep->result, R(DEVICES_CHANGED));
    assert_int_equal(rep->n_stale, 1);
    assert_memory_equal(rep->stale[0].data, ghost.id, ID_BYTES);
    codec_free(&rep->base);
    const mf_dev_t *self[] = {&pat, &pat2, &pro};
    assert_int_equal(mf_send(&pro, pid, conv, msg, self, txt, 3, &rep, NULL), 0);
    assert_int_equal(rep->result, R(DEVICES_CHANGED));
    assert_int_equal(rep->n_stale, 1);
    codec_free(&rep->base);
    /* two copies for one device */
    const mf_dev_t *twice[] = {&pat, &pat};
    memset(&r, 0, sizeof r);
    int rc = mf_send(&pro, pid, conv, msg, twice, txt, 2, NULL, &r);
    MF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "copies[1].device_id");

    /* the right set: stored; the same id again: the same answer, nothing new */
    const mf_dev_t *both[] = {&pat, &pat2};
    assert_int_equal(mf_send(&pro, pid, conv, msg, both, txt, 2, &rep, NULL), 0);
    assert_int_equal(rep->result, R(STORED));
    int64_t sent = rep->sent_ms;
    codec_free(&rep->base);
    assert_int_equal(mf_send(&pro, pid, conv, msg, both, txt, 2, &rep, NULL), 0);
    assert_int_equal(rep->result, R(DUPLICATE));
    assert_int_equal(rep->sent_ms, sent);
    codec_free(&rep->base);
    f = mf_fetch(&pat2, 0);
    assert_int_equal(f->n_entries, 1);
    assert_memory_equal(f->entries[0]->ciphertext.data, "x2", 2);
    codec_free(&f->base);
    /* the id from another device: taken */
    memset(&r, 0, sizeof r);
    const mf_dev_t *to_pro_and_2[] = {&pro, &pat2};
    rc = mf_send(&pat, NULL, conv, msg, to_pro_and_2, txt, 2, NULL, &r);
    MF_EXPECT(rc, r, ES_ALREADY_EXISTS, "message_id");
}

static void test_queue_order_ack_receipts(void **state)
{
    (void)state;
    char pid[ID_HEX];
    mf_dev_t pat, pat2, pro;
    uint8_t conv[ID_BYTES], msg[5][ID_BYTES];
    s_setup_pair(&pat, &pat2, &pro, RPPS4, pid, conv);
    mf_drain();

    /* pat2 is offline; the professional and pat write 5 messages */
    const mf_dev_t *to_pats[] = {&pat, &pat2};
    const mf_dev_t *from_pat[] = {&pro, &pat2};
    char text[5][16];
    for (int i = 0; i < 5; i++) {
        snprintf(text[i], sizeof text[i], "m%d", i);
        ProtobufCBinaryData t2[] = {s_bytes(text[i]), s_bytes(text[i])};
        s_msgid(msg[i]);
        if (i % 2 == 0)
            assert_int_equal(mf_send(&pro, pid, conv, msg[i], to_pats, t2, 2, NULL, NULL), 0);
        else
            assert_int_equal(mf_send(&pat, NULL, conv, msg[i], from_pat, t2, 2, NULL, NULL), 0);
    }
    /* live: the patient device's topic carries the entry, the pro's a notice */
    char topic[TOPIC_MAX + 1];
    assert_int_equal(topic_pro_device(topic, sizeof topic, RPPS4, pro.id, TOPIC_AREA_MESSAGING), 0);
    Espace__V1__Entry *ev = mf_event(topic, 3000);
    assert_non_null(ev);
    assert_int_equal(ev->kind, E(MESSAGE));
    assert_int_equal(ev->ciphertext.len, 0);
    assert_string_equal(ev->sender->principal, pid);
    codec_free(&ev->base);

    /* pat2 comes back: everything, in order, then caught up; paged */
    Espace__V1__FetchRequest fr = ESPACE__V1__FETCH_REQUEST__INIT;
    fr.limit = 3;
    ProtobufCMessage *m = NULL;
    assert_int_equal(mf_call(&pat2, "Fetch", &fr.base, &espace__v1__fetch_reply__descriptor, &m,
                             NULL),
                     0);
    Espace__V1__FetchReply *f = (Espace__V1__FetchReply *)m;
    assert_int_equal(f->n_entries, 3);
    assert_false(f->caught_up);
    assert_int_equal(f->last_seq, 3);
    codec_free(m);
    f = mf_fetch(&pat2, 0);
    assert_int_equal(f->n_entries, 5);
    assert_true(f->caught_up);
    for (int i = 0; i < 5; i++) {
        const Espace__V1__Entry *e = f->entries[i];
        assert_int_equal(e->seq, (uint64_t)i + 1);
        assert_int_equal(e->kind, E(MESSAGE));
        assert_memory_equal(e->message_id.data, msg[i], ID_BYTES);
        assert_memory_equal(e->ciphertext.data, text[i], 2);
        /* the sender is the stamped caller, and its device */
        assert_string_equal(e->sender->principal, i % 2 == 0 ? RPPS4 : pid);
        assert_memory_equal(e->sender_device.data, i % 2 == 0 ? pro.id : pat.id, ID_BYTES);
    }
    assert_true(f->hint->published);
    codec_free(&f->base);

    /* ack 3: deleted; receipts go to the professional for its messages 0, 2 */
    assert_int_equal(mf_ack(&pat2, 3), 0);
    f = mf_fetch(&pat2, 0);
    assert_int_equal(f->n_entries, 2);
    assert_int_equal(f->entries[0]->seq, 4);
    codec_free(&f->base);
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    Espace__V1__AckRequest ar = ESPACE__V1__ACK_REQUEST__INIT;
    ar.up_to_seq = 99;
    int rc = mf_call(&pat2, "Ack", &ar.base, &espace__v1__ack_reply__descriptor, &m, &r);
    MF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "up_to_seq");
    assert_int_equal(mf_ack(&pat2, 2), 0); /* below: no-op */

    f = mf_fetch(&pro, 0);
    size_t receipts = 0;
    for (size_t i = 0; i < f->n_entries; i++) {
        const Espace__V1__Entry *e = f->entries[i];
        if (e->kind != E(RECEIPT))
            continue;
        receipts++;
        assert_memory_equal(e->receipt_device.data, pat2.id, ID_BYTES);
        assert_string_equal(e->receipt_member->principal, pid);
        assert_true(memcmp(e->message_id.data, msg[0], ID_BYTES) == 0 ||
                    memcmp(e->message_id.data, msg[2], ID_BYTES) == 0);
    }
    assert_int_equal(receipts, 2);
    codec_free(&f->base);
    /* the patient's own message acked by its other device: no receipt */
    f = mf_fetch(&pat, 0);
    for (size_t i = 0; i < f->n_entries; i++)
        assert_int_not_equal(f->entries[i]->kind, E(RECEIPT));
    codec_free(&f->base);
}

static void test_forged_and_foreign(void **state)
{
    (void)state;
    char pid[ID_HEX], p2[ID_HEX];
    mf_dev_t pat, pro, intruder;
    uint8_t conv[ID_BYTES], msg[ID_BYTES];
    s_setup_pair(&pat, NULL, &pro, "81000000025", pid, conv);
    mf_patient_id(p2);
    mf_dev(&intruder, K_PATIENT, p2);
    assert_int_equal(mf_publish(&intruder, 0), 0);
    ProtobufCBinaryData txt[] = {s_bytes("y")};
    const mf_dev_t *to_pro[] = {&pro};
    bus_reply_t r;
    /* another patient cannot write in it, nor name the patient */
    s_msgid(msg);
    memset(&r, 0, sizeof r);
    int rc = mf_send(&intruder, NULL, conv, msg, to_pro, txt, 1, NULL, &r);
    MF_EXPECT(rc, r, ES_NOT_FOUND, "conversation_id");
    memset(&r, 0, sizeof r);
    rc = mf_send(&intruder, pid, conv, msg, to_pro, txt, 1, NULL, &r);
    MF_EXPECT(rc, r, ES_PERMISSION_DENIED, "patient_id");
    /* an app or an anonymous caller gets nothing */
    Espace__V1__Caller app = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_APP, "someapp");
    Espace__V1__FetchRequest fr = ESPACE__V1__FETCH_REQUEST__INIT;
    ProtobufCMessage *m = NULL;
    assert_int_equal(mf_call_as(&app, SERVICE_MESSAGING, "Fetch", &fr.base,
                                &espace__v1__fetch_reply__descriptor, &m, NULL),
                     ES_PERMISSION_DENIED);
    /* a send by the patient is stamped with the patient: there is no sender field */
    s_msgid(msg);
    assert_int_equal(mf_send(&pat, NULL, conv, msg, to_pro, txt, 1, NULL, NULL), 0);
    Espace__V1__FetchReply *f = mf_fetch(&pro, 0);
    assert_int_equal(f->n_entries, 1);
    assert_int_equal(f->entries[0]->sender->kind, K_PATIENT);
    assert_string_equal(f->entries[0]->sender->principal, pid);
    codec_free(&f->base);
}

static void test_rate_limit(void **state)
{
    (void)state;
    char pid[ID_HEX];
    mf_dev_t pat, pro;
    uint8_t conv[ID_BYTES], msg[ID_BYTES];
    s_setup_pair(&pat, NULL, &pro, "81000000026", pid, conv);
    ProtobufCBinaryData txt[] = {s_bytes("z")};
    const mf_dev_t *to_pat[] = {&pat};
    int rc = 0, ok = 0;
    bus_reply_t r;
    for (int i = 0; i < MSG_RATE_PAIR_BURST + 5 && rc == 0; i++) {
        s_msgid(msg);
        memset(&r, 0, sizeof r);
        rc = mf_send(&pro, pid, conv, msg, to_pat, txt, 1, NULL, &r);
        if (rc == 0)
            ok++;
    }
    assert_int_equal(rc, ES_RESOURCE_EXHAUSTED);
    assert_true(ok >= MSG_RATE_PAIR_BURST && ok <= MSG_RATE_PAIR_BURST + 1);
    /* the refused one stored nothing */
    Espace__V1__FetchReply *f = mf_fetch(&pat, 0);
    assert_int_equal(f->n_entries, (size_t)ok);
    codec_free(&f->base);
    /* the patient's answers have their own bucket */
    s_msgid(msg);
    const mf_dev_t *to_pro[] = {&pro};
    assert_int_equal(mf_send(&pat, NULL, conv, msg, to_pro, txt, 1, NULL, NULL), 0);
}

/* Real end-to-end encryption between two devices: X3DH from a claimed
 * bundle, the Double Ratchet both ways; the service stores and relays only
 * ciphertext, and no plaintext marker reaches its data files. */
static void test_e2e_exchange(void **state)
{
    (void)state;
    static const char marker[] = "PLAINTEXT-MARKER-rdv-cardiologie-7f3a";
    static const char answer[] = "PLAINTEXT-MARKER-reponse-patient-91c2";
    char pid[ID_HEX];
    mf_dev_t pat, pro;
    uint8_t conv[ID_BYTES], msg[ID_BYTES];
    s_setup_pair(&pat, NULL, &pro, "81000000027", pid, conv);
    mf_drain();

    /* the professional claims the patient's bundle and starts a session */
    Espace__V1__ClaimBundlesRequest cr = ESPACE__V1__CLAIM_BUNDLES_REQUEST__INIT;
    cr.conversation_id = (ProtobufCBinaryData){ID_BYTES, conv};
    ProtobufCMessage *m = NULL;
    assert_int_equal(mf_call(&pro, "ClaimBundles", &cr.base,
                             &espace__v1__claim_bundles_reply__descriptor, &m, NULL),
                     0);
    const Espace__V1__Bundle *b = ((Espace__V1__ClaimBundlesReply *)m)->bundles[0];
    e2e_bundle_t eb;
    memset(&eb, 0, sizeof eb);
    memcpy(eb.ik, b->identity_key.data, 32);
    eb.spk_id = b->signed_prekey->id;
    memcpy(eb.spk, b->signed_prekey->key.data, 32);
    memcpy(eb.spk_sig, b->signed_prekey->sig.data, 64);
    eb.opk_kind = (uint8_t)b->prekey_kind;
    eb.opk_id = b->prekey_id;
    memcpy(eb.opk, b->prekey.data, 32);
    codec_free(m);
    e2e_session_t *ps = NULL, *ss = NULL;
    assert_int_equal(e2e_x3dh_initiate(&ps, &pro.ik, &eb), 0);
    uint8_t ct[512], plain[512];
    size_t ctl = 0, pl = 0;
    assert_int_equal(e2e_session_encrypt(ps, (const uint8_t *)marker, sizeof marker - 1, ct,
                                         sizeof ct, &ctl),
                     0);
    const mf_dev_t *to_pat[] = {&pat};
    ProtobufCBinaryData c1[] = {{ctl, ct}};
    s_msgid(msg);
    assert_int_equal(mf_send(&pro, pid, conv, msg, to_pat, c1, 1, NULL, NULL), 0);

    /* the patient's device gets it live (in full) and by fetch, and answers */
    char topic[TOPIC_MAX + 1];
    assert_int_equal(topic_patient_device(topic, sizeof topic, pid, pat.id, TOPIC_AREA_MESSAGING),
                     0);
    Espace__V1__Entry *ev = mf_event(topic, 3000);
    assert_non_null(ev);
    assert_int_equal(ev->ciphertext.len, ctl);
    codec_free(&ev->base);
    Espace__V1__FetchReply *f = mf_fetch(&pat, 0);
    assert_int_equal(f->n_entries, 1);
    const Espace__V1__Entry *e = f->entries[0];
    e2e_message_info_t info;
    assert_int_equal(e2e_message_info(&info, e->ciphertext.data, e->ciphertext.len), 0);
    assert_true(info.initial);
    assert_int_equal(info.opk_id, pat.opk[0].id);
    assert_int_equal(e2e_x3dh_respond(&ss, &pat.ik, &pat.spk, &pat.opk[0], e->ciphertext.data,
                                      e->ciphertext.len, plain, sizeof plain, &pl),
                     0);
    assert_int_equal(pl, sizeof marker - 1);
    assert_memory_equal(plain, marker, pl);
    assert_int_equal(mf_ack(&pat, e->seq), 0);
    codec_free(&f->base);

    assert_int_equal(e2e_session_encrypt(ss, (const uint8_t *)answer, sizeof answer - 1, ct,
                                         sizeof ct, &ctl),
                     0);
    const mf_dev_t *to_pro[] = {&pro};
    ProtobufCBinaryData c2[] = {{ctl, ct}};
    s_msgid(msg);
    assert_int_equal(mf_send(&pat, NULL, conv, msg, to_pro, c2, 1, NULL, NULL), 0);
    f = mf_fetch(&pro, 0);
    int decrypted = 0;
    for (size_t i = 0; i < f->n_entries; i++) {
        e = f->entries[i];
        if (e->kind != E(MESSAGE))
            continue;
        assert_int_equal(e2e_session_decrypt(ps, e->ciphertext.data, e->ciphertext.len, plain,
                                             sizeof plain, &pl),
                         0);
        assert_memory_equal(plain, answer, sizeof answer - 1);
        decrypted++;
    }
    assert_int_equal(decrypted, 1);
    codec_free(&f->base);
    e2e_session_destroy(&ps);
    e2e_session_destroy(&ss);

    /* the data files hold ciphertext only */
    char dir[256];
    snprintf(dir, sizeof dir, "%s", MF.h.dir);
    assert_false(mf_dir_contains(dir, marker, sizeof marker - 1));
    assert_false(mf_dir_contains(dir, answer, sizeof answer - 1));
    assert_false(mf_dir_contains(dir, "PLAINTEXT-MARKER", 16));
    assert_false(mf_dir_contains(dir, ct, 32)); /* a queued copy is sealed by the store */
    /* and so do the values once unsealed: the store's clear contents, read
     * with the service stopped, hold the ciphertext and no marker */
    assert_int_equal(h_svc_stop(&MF.messaging), 0);
    assert_int_equal(mf_store_contains("PLAINTEXT-MARKER", 16), 0);
    assert_int_equal(mf_store_contains(ct, 32), 1); /* the last ciphertext is there */
    mf_messaging_start();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conversation_rules),
        cmocka_unit_test(test_device_set_and_idempotence),
        cmocka_unit_test(test_queue_order_ack_receipts),
        cmocka_unit_test(test_forged_and_foreign),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_e2e_exchange),
    };
    return cmocka_run_group_tests(tests, mf_setup, mf_teardown);
}
