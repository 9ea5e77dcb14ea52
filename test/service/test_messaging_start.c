/*
 * test_messaging_start.c - "Nouveau message": the patient starts a
 * conversation with one professional, who must hold the patient's
 * MESSAGING grant (asked of consent's HoldsGrant by the runtime, not in the
 * patient's trail); refused with a precise status and nothing stored
 * otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "test/service/messaging_fixture.h"

#define RPPS "81000000031"
#define RPPS2 "81000000032"

/* Entries in the patient's trail. */
static size_t s_trail(const char *pid)
{
    Espace__V1__ReadAuditRequest req = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    Espace__V1__Caller c = h_caller(K_PATIENT, pid);
    ProtobufCMessage *rep = NULL;
    assert_int_equal(mf_call_as(&c, SERVICE_CONSENT, "ReadAudit", &req.base,
                                &espace__v1__read_audit_reply__descriptor, &rep, NULL),
                     0);
    size_t n = ((Espace__V1__ReadAuditReply *)rep)->n_entries;
    codec_free(rep);
    return n;
}

/* Conversations of device d. */
static size_t s_convs(const mf_dev_t *d)
{
    Espace__V1__ListConversationsRequest req = ESPACE__V1__LIST_CONVERSATIONS_REQUEST__INIT;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(mf_call(d, "ListConversations", &req.base,
                             &espace__v1__list_conversations_reply__descriptor, &rep, NULL),
                     0);
    size_t n = ((Espace__V1__ListConversationsReply *)rep)->n_conversations;
    codec_free(rep);
    return n;
}

static ProtobufCBinaryData s_bytes(const char *s)
{
    return (ProtobufCBinaryData){strlen(s), (uint8_t *)s};
}

static void test_patient_starts(void **state)
{
    (void)state;
    char pid[ID_HEX], other[ID_HEX];
    mf_patient_id(pid);
    mf_patient_id(other);
    mf_dev_t pat, pro, pro2;
    mf_dev(&pat, K_PATIENT, pid);
    mf_dev(&pro, K_PRO, RPPS);
    mf_dev(&pro2, K_PRO, RPPS2);
    assert_int_equal(mf_publish(&pat, 2), 0);
    assert_int_equal(mf_publish(&pro, 2), 0);
    assert_int_equal(mf_publish(&pro2, 0), 0);
    uint8_t conv[ID_BYTES], msg[ID_BYTES];
    bus_reply_t r;
    int rc;
    const char *one[] = {RPPS};
    const char *two[] = {RPPS, RPPS2};
    const char *bad[] = {"12345"};

    /* no grant: refused, nothing stored, nothing in the trail (the patient
     * acts on their own data; consent's HoldsGrant records nothing) */
    memset(&r, 0, sizeof r);
    rc = mf_start(&pat, "", one, 1, conv, &r);
    MF_EXPECT(rc, r, ES_PERMISSION_DENIED, "");
    assert_int_equal(s_convs(&pat), 0);
    assert_int_equal(s_convs(&pro), 0);
    assert_int_equal(s_trail(pid), 0);
    /* a grant to someone else does not help */
    mf_grant(pid, RPPS2);
    memset(&r, 0, sizeof r);
    rc = mf_start(&pat, pid, one, 1, conv, &r);
    MF_EXPECT(rc, r, ES_PERMISSION_DENIED, "");

    /* malformed: none, two, not an RPPS, another patient's id */
    memset(&r, 0, sizeof r);
    rc = mf_start(&pat, "", NULL, 0, conv, &r);
    MF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "professionals");
    memset(&r, 0, sizeof r);
    rc = mf_start(&pat, "", two, 2, conv, &r);
    MF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "professionals");
    memset(&r, 0, sizeof r);
    rc = mf_start(&pat, "", bad, 1, conv, &r);
    MF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "professionals[0]");
    memset(&r, 0, sizeof r);
    rc = mf_start(&pat, other, one, 1, conv, &r);
    MF_EXPECT(rc, r, ES_PERMISSION_DENIED, "patient_id");
    assert_int_equal(s_convs(&pat), 0);

    /* a patient consent does not know (never registered): NOT_FOUND */
    char ghost[ID_HEX];
    uint8_t g[ID_BYTES];
    randombytes_buf(g, sizeof g);
    id_hex(g, ghost);
    mf_dev_t gpat;
    mf_dev(&gpat, K_PATIENT, ghost);
    memset(&r, 0, sizeof r);
    rc = mf_start(&gpat, "", one, 1, conv, &r);
    MF_EXPECT(rc, r, ES_NOT_FOUND, "");

    /* with the grant: started, the patient and that professional */
    mf_grant(pid, RPPS);
    size_t trail = s_trail(pid);
    Espace__V1__StartConversationRequest req = ESPACE__V1__START_CONVERSATION_REQUEST__INIT;
    req.professionals = (char **)one;
    req.n_professionals = 1;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(mf_call(&pat, "StartConversation", &req.base,
                             &espace__v1__start_conversation_reply__descriptor, &rep, NULL),
                     0);
    Espace__V1__StartConversationReply *s = (Espace__V1__StartConversationReply *)rep;
    assert_string_equal(s->conversation->patient_id, pid);
    assert_int_equal(s->conversation->n_professionals, 1);
    assert_string_equal(s->conversation->professionals[0], RPPS);
    assert_string_equal(s->conversation->started_by, pid);
    assert_int_equal(s->n_devices, 2); /* the patient's and the professional's */
    memcpy(conv, s->conversation->id.data, ID_BYTES);
    codec_free(rep);
    assert_int_equal(s_trail(pid), trail);
    assert_int_equal(s_convs(&pat), 1);
    assert_int_equal(s_convs(&pro), 1);
    assert_int_equal(s_convs(&pro2), 0);

    /* both write in it */
    const mf_dev_t *to_pro[] = {&pro};
    ProtobufCBinaryData txt[] = {s_bytes("c1"), s_bytes("c2")};
    randombytes_buf(msg, sizeof msg);
    assert_int_equal(mf_send(&pat, NULL, conv, msg, to_pro, txt, 1, NULL, NULL), 0);
    const mf_dev_t *to_pat[] = {&pat};
    randombytes_buf(msg, sizeof msg);
    assert_int_equal(mf_send(&pro, pid, conv, msg, to_pat, txt + 1, 1, NULL, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patient_starts),
    };
    return cmocka_run_group_tests(tests, mf_setup, mf_teardown);
}
