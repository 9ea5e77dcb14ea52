/* test_espace_messaging.c - libespace's messaging calls (clients/lib/
 * messaging.h) against a broker and the identity, consent and messaging
 * services in threads (ipc): a patient (signed up and logged in through
 * libespace, so a session with a device) and a professional (created by
 * the operator, logged in) publish es_e2e bundles and exchange real
 * end-to-end encrypted messages both ways, the patient's answer with a
 * sealed attachment uploaded in pieces; live notices, receipts, a changed
 * device set, closing, unpublishing, and the pure helpers' refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clients/e2e/e2e.h"
#include "clients/lib/espace.h"
#include "proto/ids.h"
#include "services/consent/consent.h"
#include "services/identity/identity.h"
#include "services/messaging/messaging.h"
#include "test/harness/harness.h"

#define T_RPPS "10001234567"
#define T_PW "correct horse battery staple"
#define T_OPKS 4

typedef struct dev {
    espace_t *e;
    uint8_t id[16];
    e2e_identity_t ik;
    e2e_prekey_t spk, lrk, opk[T_OPKS];
    e2e_session_t *s; /* with the other side's device */
} dev_t_;

static harness_t H;
static h_svc_t S_ID, S_CONSENT, S_MSG;
static dev_t_ PAT, PRO;
static char PID[ESPACE_PATIENT_ID_MAX];

static espace_t *s_open(int kind, const char *principal)
{
    espace_opts_t o = {.endpoint = H.req_ipc, .timeout_ms = 3000, .as_kind = kind,
                       .as_principal = principal};
    espace_t *e = NULL;
    assert_int_equal(espace_open(&o, &e), 0);
    return e;
}

static void s_keys(dev_t_ *d)
{
    int64_t now = (int64_t)time(NULL);
    espace_error_t err;
    Espace__V1__PublishKeysReply *r = NULL;
    assert_int_equal(e2e_identity_generate(&d->ik), 0);
    assert_int_equal(e2e_prekey_generate(&d->spk, &d->ik, E2E_PREKEY_SIGNED, 1, now), 0);
    assert_int_equal(e2e_prekey_generate(&d->lrk, &d->ik, E2E_PREKEY_LAST_RESORT, 2, now), 0);
    assert_int_equal(e2e_prekeys_generate(d->opk, T_OPKS, 10, now), 0);
    /* spk without lrk is a programmer error, refused before sending */
    assert_int_equal(espace_messaging_publish_keys(d->e, d->ik.sign_pk, &d->spk, NULL, NULL, 0,
                                                   NULL, &err),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(espace_messaging_publish_keys(d->e, d->ik.sign_pk, &d->spk, &d->lrk, d->opk,
                                                   T_OPKS, &r, &err),
                     0);
    assert_true(r->hint->published);
    assert_int_equal(r->hint->one_time_left, T_OPKS);
    espace_free(&r->base);
    uint8_t dev[16];
    assert_int_equal(espace_messaging_device(d->e, dev, &err), 0);
    assert_memory_equal(dev, d->id, 16);
}

static int s_setup(void **state)
{
    (void)state;
    setenv("ESPACE_PWHASH", "min", 1);
    if (sodium_init() < 0 || h_setup(&H, 0) != 0)
        return -1;
    H.hb = 200;
    if (h_broker_start(&H) != 0 || h_svc_start(&H, &S_ID, &identity_service) != 0 ||
        h_svc_start(&H, &S_CONSENT, &consent_service) != 0 ||
        h_svc_start(&H, &S_MSG, &messaging_service) != 0)
        return -1;
    espace_t *op = s_open(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "operator");
    espace_error_t err;
    espace_professional_t p = {.rpps = T_RPPS, .last_name = "Martin", .first_name = "Claire",
                               .profession = "Médecin"};
    int rc = ES_UNAVAILABLE;
    for (int i = 0; i < 200 && rc == ES_UNAVAILABLE; i++) /* until the broker routes */
        if ((rc = espace_identity_create_professional(op, &p, T_PW, NULL, &err)) ==
            ES_UNAVAILABLE)
            h_sleep_ms(25);
    if (rc != 0)
        return -1;
    /* the patient: signed up, then logged in with the INS (a device) */
    uint64_t body = 2850675000000ULL + randombytes_uniform(100000); /* woman, born 06/1985 */
    char ins[16], code[ESPACE_ACTIVATION_CODE_MAX];
    snprintf(ins, sizeof ins, "%013" PRIu64 "%02u", body, (unsigned)(97 - body % 97));
    Espace__V1__SignUpPatientRequest su = ESPACE__V1__SIGN_UP_PATIENT_REQUEST__INIT;
    char *first[1] = {"Camille"};
    su.ins = ins;
    su.birth_names = "Durand";
    su.first_names = first;
    su.n_first_names = 1;
    su.birth_date = "1985-06-12";
    su.sex = ESPACE__V1__SEX__SEX_FEMALE;
    su.password = T_PW;
    if (espace_identity_sign_up_patient(op, &su, NULL, &err) != 0 ||
        espace_identity_issue_activation_code(op, ins, code, &err) != 0 ||
        espace_identity_activate_account(op, ins, code, T_PW, PID, &err) != 0)
        return -1;
    espace_close(&op);
    /* messaging answers too (its worker may still be on its way) */
    PAT.e = s_open(0, NULL);
    Espace__V1__LoginRequest lr = ESPACE__V1__LOGIN_REQUEST__INIT;
    lr.who_case = ESPACE__V1__LOGIN_REQUEST__WHO_INS;
    lr.ins = ins;
    lr.password = T_PW;
    lr.device_name = "phone";
    ProtobufCMessage *m = NULL;
    if (espace_call(PAT.e, "identity", "Login", &lr.base, &espace__v1__login_reply__descriptor, &m,
                    &err) != 0)
        return -1;
    Espace__V1__LoginReply *l = (Espace__V1__LoginReply *)m;
    memcpy(PAT.id, l->device_id.data, 16);
    rc = espace_resume(PAT.e, l->token, &err);
    espace_free(m);
    PRO.e = s_open(0, NULL);
    espace_session_t ses;
    if (rc != 0 || espace_login_pro(PRO.e, T_RPPS, T_PW, "cabinet", &ses, &err) != 0)
        return -1;
    memcpy(PRO.id, ses.device_id, 16);
    rc = ES_UNAVAILABLE;
    for (int i = 0; i < 200 && rc == ES_UNAVAILABLE; i++)
        if ((rc = espace_messaging_key_status(PRO.e, NULL, &err)) == ES_UNAVAILABLE)
            h_sleep_ms(25);
    return rc == 0 ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    e2e_session_destroy(&PAT.s);
    e2e_session_destroy(&PRO.s);
    espace_close(&PAT.e);
    espace_close(&PRO.e);
    int rc = h_svc_stop(&S_MSG);
    rc |= h_svc_stop(&S_CONSENT);
    rc |= h_svc_stop(&S_ID);
    rc |= h_teardown(&H);
    return rc == 0 ? 0 : -1;
}

/* Encrypt content p with session s for device dev and send it. */
static void s_send(dev_t_ *from, const uint8_t conv[16], const char *pid, const uint8_t dev[16],
                   const espace_msg_content_t *p)
{
    uint8_t plain[E2E_MAX_PLAINTEXT], ct[E2E_MESSAGE_MAX], mid[16];
    size_t plen = 0, clen = 0;
    espace_error_t err;
    assert_int_equal(espace_messaging_content_encode(p, plain, sizeof plain, &plen), 0);
    assert_int_equal(e2e_session_encrypt(from->s, plain, plen, ct, sizeof ct, &clen), 0);
    Espace__V1__Copy c = ESPACE__V1__COPY__INIT, *cp = &c;
    c.device_id.data = (uint8_t *)dev;
    c.device_id.len = 16;
    c.ciphertext.data = ct;
    c.ciphertext.len = clen;
    randombytes_buf(mid, sizeof mid);
    Espace__V1__SendReply *r = NULL;
    assert_int_equal(espace_messaging_send(from->e, conv, mid, pid, &cp, 1, &r, &err), 0);
    assert_int_equal(r->result, ESPACE__V1__SEND_RESULT__SEND_RESULT_STORED);
    espace_free(&r->base);
    /* the same id again: stored once */
    assert_int_equal(espace_messaging_send(from->e, conv, mid, pid, &cp, 1, &r, &err), 0);
    assert_int_equal(r->result, ESPACE__V1__SEND_RESULT__SEND_RESULT_DUPLICATE);
    espace_free(&r->base);
}

/* Fetch the one message of d's queue and ack it; its plaintext in plain. */
static const Espace__V1__Entry *s_fetch_one(dev_t_ *d, Espace__V1__FetchReply **f)
{
    espace_error_t err;
    assert_int_equal(espace_messaging_fetch(d->e, 0, 0, f, &err), 0);
    for (size_t i = 0; i < (*f)->n_entries; i++)
        if ((*f)->entries[i]->kind == ESPACE__V1__ENTRY_KIND__ENTRY_KIND_MESSAGE)
            return (*f)->entries[i];
    fail_msg("no message in the queue");
    return NULL;
}

static void test_exchange(void **state)
{
    (void)state;
    espace_error_t err;
    char topic[ESPACE_TOPIC_MAX];
    s_keys(&PAT);
    s_keys(&PRO);
    assert_int_equal(espace_messaging_watch(PRO.e, PRO.id, topic, &err), 0);
    assert_non_null(strstr(topic, ".device."));
    /* no grant yet: refused (and audited by consent) */
    Espace__V1__StartConversationReply *st = NULL;
    assert_int_equal(espace_messaging_start_conversation(PRO.e, PID, NULL, 0, &st, &err),
                     ES_PERMISSION_DENIED);
    assert_null(st);
    espace_scopes_t scopes;
    assert_int_equal(espace_scopes_parse("messaging:write", &scopes, NULL, 0), 0);
    assert_int_equal(espace_consent_grant(PAT.e, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL,
                                          T_RPPS, &scopes, ESPACE__V1__PURPOSE__PURPOSE_SOINS, 0,
                                          NULL, &err),
                     0);
    assert_int_equal(espace_messaging_start_conversation(PRO.e, PID, NULL, 0, &st, &err), 0);
    uint8_t conv[16];
    memcpy(conv, st->conversation->id.data, 16);
    espace_free(&st->base);

    /* a copy for the sender's own device instead of the patient's:
     * DEVICES_CHANGED, nothing stored */
    uint8_t mid[16], junk[32] = {1};
    randombytes_buf(mid, sizeof mid);
    Espace__V1__SendReply *sr = NULL;
    Espace__V1__Copy own = ESPACE__V1__COPY__INIT, *ownp = &own;
    own.device_id.data = PRO.id;
    own.device_id.len = 16;
    own.ciphertext.data = junk;
    own.ciphertext.len = sizeof junk;
    assert_int_equal(espace_messaging_send(PRO.e, conv, mid, PID, &ownp, 1, &sr, &err), 0);
    assert_int_equal(sr->result, ESPACE__V1__SEND_RESULT__SEND_RESULT_DEVICES_CHANGED);
    assert_int_equal(sr->n_missing, 1);
    assert_memory_equal(sr->missing[0].data, PAT.id, 16);
    assert_int_equal(sr->n_stale, 1);
    assert_memory_equal(sr->stale[0].data, PRO.id, 16);
    espace_free(&sr->base);

    /* professional -> patient: claim, X3DH, one copy */
    Espace__V1__ClaimBundlesReply *cb = NULL;
    assert_int_equal(espace_messaging_claim_bundles(PRO.e, conv, NULL, 0, &cb, &err), 0);
    assert_int_equal(cb->n_bundles, 1);
    e2e_bundle_t b;
    assert_int_equal(espace_messaging_bundle(cb->bundles[0], &b), 0);
    assert_int_equal(b.opk_kind, E2E_PREKEY_ONE_TIME);
    assert_int_equal(e2e_x3dh_initiate(&PRO.s, &PRO.ik, &b), 0);
    espace_free(&cb->base);
    const char *hello = "Bonjour, vos résultats sont normaux.";
    static espace_msg_content_t p, got, a, t; /* large: not on the stack */
    p = (espace_msg_content_t){.kind = ESPACE_MSG_TEXT, .text = hello, .text_len = strlen(hello)};
    s_send(&PRO, conv, PID, PAT.id, &p);

    /* the patient reads it: X3DH as the responder with the named prekey */
    Espace__V1__FetchReply *f = NULL;
    const Espace__V1__Entry *en = s_fetch_one(&PAT, &f);
    assert_int_equal(en->sender->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL);
    assert_string_equal(en->sender->principal, T_RPPS);
    e2e_message_info_t info;
    assert_int_equal(e2e_message_info(&info, en->ciphertext.data, en->ciphertext.len), 0);
    assert_true(info.initial);
    const e2e_prekey_t *opk = NULL;
    for (size_t i = 0; i < T_OPKS; i++)
        if (PAT.opk[i].id == info.opk_id)
            opk = &PAT.opk[i];
    assert_non_null(opk);
    uint8_t plain[E2E_MAX_PLAINTEXT];
    size_t plen = 0;
    assert_int_equal(e2e_x3dh_respond(&PAT.s, &PAT.ik, &PAT.spk, opk, en->ciphertext.data,
                                      en->ciphertext.len, plain, sizeof plain, &plen),
                     0);
    assert_int_equal(espace_messaging_content_decode(plain, plen, &got), 0);
    assert_int_equal(got.kind, ESPACE_MSG_TEXT);
    assert_int_equal(got.text_len, strlen(hello));
    assert_memory_equal(got.text, hello, got.text_len);
    assert_int_equal(got.n_att, 0);
    espace_messaging_content_clear(&got);
    uint64_t acked = 0;
    assert_int_equal(espace_messaging_ack(PAT.e, f->last_seq, &acked, &err), 0);
    assert_int_equal(acked, f->last_seq);
    espace_free(&f->base);

    /* patient -> professional: an attachment of three upload pieces */
    size_t flen = 300000;
    uint8_t *file = malloc(flen), *ct = NULL;
    size_t ctlen = 0;
    assert_non_null(file);
    randombytes_buf(file, flen);
    a = (espace_msg_content_t){.kind = ESPACE_MSG_TEXT, .text = "Voici le compte rendu",
                               .text_len = 21, .n_att = 1};
    espace_msg_attachment_t *aa = &a.att[0];
    snprintf(aa->name, sizeof aa->name, "cr.pdf");
    snprintf(aa->mime, sizeof aa->mime, "application/pdf");
    randombytes_buf(aa->id, sizeof aa->id);
    assert_int_equal(espace_messaging_attachment_seal(file, flen, aa->key, &ct, &ctlen, aa->hash),
                     0);
    aa->size = ctlen;
    aa->plain_size = flen;
    assert_true(ctlen > 2 * ESPACE_MSG_PIECE);
    assert_int_equal(espace_messaging_upload(PAT.e, conv, aa->id, ct, ctlen, aa->hash, &err), 0);
    assert_int_equal(espace_messaging_upload(PAT.e, conv, aa->id, ct, ctlen, aa->hash, &err),
                     0); /* again: already complete */
    s_send(&PAT, conv, NULL, PRO.id, &a);

    /* the professional gets a notice (no ciphertext), then fetches */
    Espace__V1__Entry *notice = NULL;
    assert_int_equal(espace_messaging_next_notice(PRO.e, 5000, &notice, &err), 0);
    assert_int_equal(notice->ciphertext.len, 0);
    espace_free(&notice->base);
    f = NULL;
    assert_int_equal(espace_messaging_fetch(PRO.e, 0, 0, &f, &err), 0);
    int receipts = 0, messages = 0;
    for (size_t i = 0; i < f->n_entries; i++) {
        en = f->entries[i];
        if (en->kind == ESPACE__V1__ENTRY_KIND__ENTRY_KIND_RECEIPT) {
            receipts++;
            assert_string_equal(en->receipt_member->principal, PID);
            continue;
        }
        messages++;
        assert_string_equal(en->sender->principal, PID);
        assert_int_equal(e2e_session_decrypt(PRO.s, en->ciphertext.data, en->ciphertext.len,
                                             plain, sizeof plain, &plen),
                         0);
        assert_int_equal(espace_messaging_content_decode(plain, plen, &got), 0);
        assert_int_equal(got.n_att, 1);
        const espace_msg_attachment_t *ga = &got.att[0];
        assert_string_equal(ga->name, "cr.pdf");
        assert_string_equal(ga->mime, "application/pdf");
        assert_int_equal(ga->plain_size, flen);
        uint8_t *dl = NULL, *back = NULL;
        size_t dlen = 0, blen = 0;
        assert_int_equal(espace_messaging_download(PRO.e, ga->id, ga->hash, &dl, &dlen, &err), 0);
        assert_int_equal(dlen, ga->size);
        assert_int_equal(espace_messaging_attachment_open(ga->key, dl, dlen, &back, &blen), 0);
        assert_int_equal(blen, flen);
        assert_memory_equal(back, file, flen);
        /* a wrong hash or a tampered stream is refused */
        uint8_t bad[ESPACE_MSG_HASH] = {0};
        uint8_t *x = NULL;
        size_t xl = 0;
        assert_int_equal(espace_messaging_download(PRO.e, ga->id, bad, &x, &xl, &err),
                         ES_UNAUTHENTICATED);
        assert_null(x);
        dl[dlen / 2] ^= 1;
        assert_int_equal(espace_messaging_attachment_open(ga->key, dl, dlen, &x, &xl),
                         ES_UNAUTHENTICATED);
        assert_int_equal(espace_messaging_attachment_open(ga->key, dl, dlen - 1, &x, &xl),
                         ES_UNAUTHENTICATED);
        free(dl);
        free(back);
        espace_messaging_content_clear(&got);
    }
    assert_int_equal(receipts, 1);
    assert_int_equal(messages, 1);
    assert_int_equal(espace_messaging_ack(PRO.e, f->last_seq, NULL, &err), 0);
    espace_free(&f->base);
    free(file);
    free(ct);

    /* the professional answers on the ratchet (no more X3DH fields) */
    const char *bye = "Merci, à bientôt";
    t = (espace_msg_content_t){.kind = ESPACE_MSG_TEXT, .text = bye, .text_len = strlen(bye)};
    s_send(&PRO, conv, PID, PAT.id, &t);
    en = s_fetch_one(&PAT, &f);
    assert_int_equal(e2e_message_info(&info, en->ciphertext.data, en->ciphertext.len), 0);
    assert_false(info.initial);
    assert_int_equal(e2e_session_decrypt(PAT.s, en->ciphertext.data, en->ciphertext.len, plain,
                                         sizeof plain, &plen),
                     0);
    assert_int_equal(espace_messaging_content_decode(plain, plen, &got), 0);
    assert_memory_equal(got.text, bye, got.text_len);
    espace_messaging_content_clear(&got);
    espace_free(&f->base);

    /* list, get, close: then sends are refused */
    espace_cursor_t cur = {0};
    Espace__V1__ListConversationsReply *lc = NULL;
    assert_int_equal(espace_messaging_list_conversations(PAT.e, 0, &cur, &lc, &err), 0);
    assert_int_equal(lc->n_conversations, 1);
    assert_false(cur.more);
    espace_free(&lc->base);
    Espace__V1__GetConversationReply *g = NULL;
    assert_int_equal(espace_messaging_get_conversation(PAT.e, conv, &g, &err), 0);
    assert_int_equal(g->n_devices, 2);
    espace_free(&g->base);
    assert_int_equal(espace_messaging_close_conversation(PAT.e, conv, NULL, &err),
                     ES_PERMISSION_DENIED);
    assert_int_equal(espace_messaging_close_conversation(PRO.e, conv, NULL, &err), 0);
    randombytes_buf(mid, sizeof mid);
    own.device_id.data = PRO.id; /* a well-formed copy: the state refuses it */
    assert_int_equal(espace_messaging_send(PAT.e, conv, mid, NULL, &ownp, 1, NULL, &err),
                     ES_FAILED_PRECONDITION);
    assert_string_equal(err.field, "conversation_id");

    /* unpublish: once */
    assert_int_equal(espace_messaging_unpublish(PAT.e, &err), 0);
    assert_int_equal(espace_messaging_unpublish(PAT.e, &err), ES_NOT_FOUND);
    Espace__V1__KeyStatusReply *ks = NULL;
    assert_int_equal(espace_messaging_key_status(PAT.e, &ks, &err), 0);
    assert_false(ks->hint && ks->hint->published);
    espace_free(&ks->base);
}

/* The pure helpers refuse malformed input (the content's encoding itself:
 * test/vectors/messaging, test_messaging_vectors.c). */
static void test_helpers(void **state)
{
    (void)state;
    uint8_t buf[1024];
    size_t len = 0;
    static espace_msg_content_t p, q;
    p = (espace_msg_content_t){.kind = ESPACE_MSG_TEXT, .text = "x", .text_len = 1, .n_att = 1};
    p.att[0].size = 100;
    snprintf(p.att[0].name, sizeof p.att[0].name, "a.txt");
    assert_int_equal(espace_messaging_content_encode(&p, buf, sizeof buf, &len), 0);
    assert_int_equal(espace_messaging_content_decode(buf, len, &q), 0);
    assert_string_equal(q.att[0].name, "a.txt");
    espace_messaging_content_clear(&q);
    assert_int_equal(espace_messaging_content_decode(buf, len - 1, &q), ES_INVALID_ARGUMENT);
    assert_int_equal(espace_messaging_content_encode(&p, buf, 10, &len), ES_TOO_LARGE);
    /* a path in the name, an empty message, a zero size, an empty receipt */
    snprintf(p.att[0].name, sizeof p.att[0].name, "../a.txt");
    assert_int_equal(espace_messaging_content_encode(&p, buf, sizeof buf, &len),
                     ES_INVALID_ARGUMENT);
    snprintf(p.att[0].name, sizeof p.att[0].name, "a.txt");
    p.att[0].size = 0;
    assert_int_equal(espace_messaging_content_encode(&p, buf, sizeof buf, &len),
                     ES_INVALID_ARGUMENT);
    p.n_att = 0;
    p.text_len = 0;
    assert_int_equal(espace_messaging_content_encode(&p, buf, sizeof buf, &len),
                     ES_INVALID_ARGUMENT);
    p.kind = ESPACE_MSG_READ;
    assert_int_equal(espace_messaging_content_encode(&p, buf, sizeof buf, &len),
                     ES_INVALID_ARGUMENT);
    /* an empty MessageContent (a kind from a newer client) */
    assert_int_equal(espace_messaging_content_decode(buf, 0, &q), ES_UNIMPLEMENTED);
    espace_messaging_content_clear(&q);
    Espace__V1__Bundle b = ESPACE__V1__BUNDLE__INIT;
    e2e_bundle_t eb;
    assert_int_equal(espace_messaging_bundle(&b, &eb), ES_INVALID_ARGUMENT);
    uint8_t key[32], hash[32], *ct = NULL, *pl = NULL;
    size_t cl = 0, pn = 0;
    assert_int_equal(espace_messaging_attachment_seal(NULL, 0, key, &ct, &cl, hash), 0);
    assert_int_equal(espace_messaging_attachment_open(key, ct, cl, &pl, &pn), 0);
    assert_int_equal(pn, 0);
    free(pl);
    free(ct);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_exchange),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
