/*
 * test_messaging_restart.c - durability and expiry: a restart of the
 * service (h_svc_stop / h_svc_start) loses no message whose Send was
 * answered, keeps the queue order and the acknowledgements, and still
 * recognises message ids; entries, message ids and attachments expire after
 * the retention period (shortened here with ESPACE_MSG_RETENTION_MS), also
 * when more are due than one tick deletes.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "test/service/messaging_fixture.h"

#define RETENTION_MS 5000
#define RPPS "81000000041"
#define R(x) ESPACE__V1__SEND_RESULT__SEND_RESULT_##x
#define N 12

static char g_pid[ID_HEX];
static mf_dev_t g_pat, g_pro;
static uint8_t g_conv[ID_BYTES];
static uint8_t g_msg[N][ID_BYTES];

static void s_copy(Espace__V1__SendRequest *req, Espace__V1__Copy *cp, Espace__V1__Copy **pcp,
                   const uint8_t msg[ID_BYTES], const char *text)
{
    espace__v1__copy__init(cp);
    cp->device_id = (ProtobufCBinaryData){ID_BYTES, g_pat.id};
    cp->ciphertext = (ProtobufCBinaryData){strlen(text), (uint8_t *)text};
    *pcp = cp;
    espace__v1__send_request__init(req);
    req->conversation_id = (ProtobufCBinaryData){ID_BYTES, g_conv};
    req->message_id = (ProtobufCBinaryData){ID_BYTES, (uint8_t *)msg};
    req->patient_id = g_pid;
    req->copies = pcp;
    req->n_copies = 1;
}

static void test_restart_keeps_what_was_answered(void **state)
{
    (void)state;
    mf_patient_id(g_pid);
    mf_dev(&g_pat, K_PATIENT, g_pid);
    mf_dev(&g_pro, K_PRO, RPPS);
    assert_int_equal(mf_publish(&g_pat, 0), 0);
    assert_int_equal(mf_publish(&g_pro, 0), 0);
    mf_grant(g_pid, RPPS);
    assert_int_equal(mf_start(&g_pro, g_pid, NULL, 0, g_conv, NULL), 0);

    /* N sends pipelined, the service stopped as soon as they are answered */
    Espace__V1__Caller c = h_caller(K_PRO, RPPS);
    c.device_id = (ProtobufCBinaryData){ID_BYTES, g_pro.id};
    static char text[N][16];
    for (int i = 0; i < N; i++) {
        randombytes_buf(g_msg[i], ID_BYTES);
        snprintf(text[i], sizeof text[i], "ct-%02d", i);
        Espace__V1__SendRequest req;
        Espace__V1__Copy cp, *pcp;
        s_copy(&req, &cp, &pcp, g_msg[i], text[i]);
        uint64_t id = 0;
        assert_int_equal(bus_client_send(MF.cl, SERVICE_MESSAGING, "Send", &req.base, MF_CALL_MS,
                                         &c, &id),
                         0);
    }
    for (int i = 0; i < N; i++) {
        bus_reply_t r;
        memset(&r, 0, sizeof r);
        assert_int_equal(bus_client_recv(MF.cl, MF_CALL_MS, &r), 0);
        assert_int_equal(r.status, 0);
        bus_reply_clear(&r);
    }
    assert_int_equal(h_svc_stop(&MF.messaging), 0);
    mf_messaging_start();

    /* everything answered is there, in order */
    Espace__V1__FetchReply *f = mf_fetch(&g_pat, 0);
    assert_int_equal(f->n_entries, N);
    assert_true(f->caught_up);
    for (int i = 0; i < N; i++) {
        assert_int_equal(f->entries[i]->seq, (uint64_t)i + 1);
        assert_memory_equal(f->entries[i]->message_id.data, g_msg[i], ID_BYTES);
        assert_memory_equal(f->entries[i]->ciphertext.data, text[i], strlen(text[i]));
    }
    codec_free(&f->base);
    /* acknowledge half; restart again: the acks held, the rest is there */
    assert_int_equal(mf_ack(&g_pat, N / 2), 0);
    assert_int_equal(h_svc_stop(&MF.messaging), 0);
    mf_messaging_start();
    f = mf_fetch(&g_pat, 0);
    assert_int_equal(f->n_entries, N - N / 2);
    assert_int_equal(f->entries[0]->seq, N / 2 + 1);
    codec_free(&f->base);
    /* a retried send after the restart is recognised: nothing stored twice */
    const mf_dev_t *to[] = {&g_pat};
    ProtobufCBinaryData t0[] = {{5, (uint8_t *)"ct-00"}};
    Espace__V1__SendReply *rep = NULL;
    assert_int_equal(mf_send(&g_pro, g_pid, g_conv, g_msg[0], to, t0, 1, &rep, NULL), 0);
    assert_int_equal(rep->result, R(DUPLICATE));
    codec_free(&rep->base);
    /* and new ones continue the sequence */
    uint8_t more[ID_BYTES];
    randombytes_buf(more, sizeof more);
    assert_int_equal(mf_send(&g_pro, g_pid, g_conv, more, to, t0, 1, &rep, NULL), 0);
    assert_int_equal(rep->result, R(STORED));
    codec_free(&rep->base);
    f = mf_fetch(&g_pat, N);
    assert_int_equal(f->n_entries, 1);
    assert_int_equal(f->entries[0]->seq, N + 1);
    codec_free(&f->base);
}

static void test_retention_expiry(void **state)
{
    (void)state;
    /* an attachment that completes, one left unfinished */
    uint8_t att[ID_BYTES], hash[32];
    randombytes_buf(att, sizeof att);
    crypto_generichash(hash, sizeof hash, (const uint8_t *)"blob", 4, NULL, 0);
    Espace__V1__BeginAttachmentRequest br = ESPACE__V1__BEGIN_ATTACHMENT_REQUEST__INIT;
    br.conversation_id = (ProtobufCBinaryData){ID_BYTES, g_conv};
    br.attachment_id = (ProtobufCBinaryData){ID_BYTES, att};
    br.size = 4;
    br.hash = (ProtobufCBinaryData){32, hash};
    ProtobufCMessage *m = NULL;
    assert_int_equal(mf_call(&g_pat, "BeginAttachment", &br.base,
                             &espace__v1__begin_attachment_reply__descriptor, &m, NULL),
                     0);
    codec_free(m);
    Espace__V1__UploadChunkRequest ur = ESPACE__V1__UPLOAD_CHUNK_REQUEST__INIT;
    ur.attachment_id = br.attachment_id;
    ur.data = (ProtobufCBinaryData){4, (uint8_t *)"blob"};
    assert_int_equal(mf_call(&g_pat, "UploadChunk", &ur.base,
                             &espace__v1__upload_chunk_reply__descriptor, &m, NULL),
                     0);
    codec_free(m);

    /* after the retention period and a tick: queue, ids and attachment gone */
    int64_t end = bus_mono_ms() + RETENTION_MS + 8000;
    size_t left = 1;
    while (left && bus_mono_ms() < end) {
        h_sleep_ms(250);
        Espace__V1__FetchReply *f = mf_fetch(&g_pat, 0);
        left = f->n_entries;
        codec_free(&f->base);
    }
    assert_int_equal(left, 0);
    h_sleep_ms(1500); /* the same tick took the ids and the attachment */
    Espace__V1__DownloadAttachmentRequest dr = ESPACE__V1__DOWNLOAD_ATTACHMENT_REQUEST__INIT;
    dr.attachment_id = br.attachment_id;
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = mf_call(&g_pat, "DownloadAttachment", &dr.base,
                     &espace__v1__download_attachment_reply__descriptor, &m, &r);
    MF_EXPECT(rc, r, ES_NOT_FOUND, "attachment_id");
    /* the message id is forgotten: the same id is a new message */
    const mf_dev_t *to[] = {&g_pat};
    ProtobufCBinaryData t0[] = {{5, (uint8_t *)"again"}};
    Espace__V1__SendReply *rep = NULL;
    assert_int_equal(mf_send(&g_pro, g_pid, g_conv, g_msg[0], to, t0, 1, &rep, NULL), 0);
    assert_int_equal(rep->result, R(STORED));
    codec_free(&rep->base);
    /* the sequence never goes back */
    Espace__V1__FetchReply *f = mf_fetch(&g_pat, 0);
    assert_int_equal(f->n_entries, 1);
    assert_int_equal(f->entries[0]->seq, N + 2);
    codec_free(&f->base);
}

/* More entries due on one device than one tick deletes (MSG_EXPIRE_PER_TICK):
 * the sweep comes back at once until the queue is empty, and the next
 * entry still continues the sequence. */
static void test_sweep_past_one_tick(void **state)
{
    (void)state;
    enum { M = MSG_EXPIRE_PER_TICK + 44 };
    Espace__V1__FetchReply *f = mf_fetch(&g_pat, 0);
    assert_int_equal(f->n_entries, 1);
    uint64_t first = f->entries[0]->seq + 1;
    codec_free(&f->base);
    Espace__V1__Caller c = h_caller(K_PRO, RPPS);
    c.device_id = (ProtobufCBinaryData){ID_BYTES, g_pro.id};
    for (int sent = 0; sent < M;) {
        int batch = M - sent < 50 ? M - sent : 50;
        for (int i = 0; i < batch; i++) {
            uint8_t msg[ID_BYTES];
            randombytes_buf(msg, sizeof msg);
            Espace__V1__SendRequest req;
            Espace__V1__Copy cp, *pcp;
            s_copy(&req, &cp, &pcp, msg, "ct-sweep");
            uint64_t id = 0;
            assert_int_equal(bus_client_send(MF.cl, SERVICE_MESSAGING, "Send", &req.base,
                                             MF_CALL_MS, &c, &id),
                             0);
        }
        for (int i = 0; i < batch; i++) {
            bus_reply_t r;
            memset(&r, 0, sizeof r);
            assert_int_equal(bus_client_recv(MF.cl, MF_CALL_MS, &r), 0);
            assert_int_equal(r.status, 0);
            bus_reply_clear(&r);
        }
        sent += batch;
    }
    int64_t end = bus_mono_ms() + RETENTION_MS + 8000;
    size_t left = 1;
    while (left && bus_mono_ms() < end) {
        h_sleep_ms(250);
        f = mf_fetch(&g_pat, 0);
        left = f->n_entries;
        codec_free(&f->base);
    }
    assert_int_equal(left, 0);
    const mf_dev_t *to[] = {&g_pat};
    ProtobufCBinaryData t0[] = {{5, (uint8_t *)"after"}};
    uint8_t msg[ID_BYTES];
    randombytes_buf(msg, sizeof msg);
    Espace__V1__SendReply *rep = NULL;
    assert_int_equal(mf_send(&g_pro, g_pid, g_conv, msg, to, t0, 1, &rep, NULL), 0);
    assert_int_equal(rep->result, R(STORED));
    codec_free(&rep->base);
    f = mf_fetch(&g_pat, 0);
    assert_int_equal(f->n_entries, 1);
    assert_int_equal(f->entries[0]->seq, first + M);
    codec_free(&f->base);
}

/* A queue value that fails authentication holds back its own device's
 * expiry only: the tick still commits (another device's entries and the
 * message ids expire). */
static void test_sweep_skips_a_corrupt_value(void **state)
{
    (void)state;
    uint8_t msg[ID_BYTES];
    randombytes_buf(msg, sizeof msg);
    const mf_dev_t *to_pro[] = {&g_pro};
    ProtobufCBinaryData t0[] = {{6, (uint8_t *)"to-pro"}};
    Espace__V1__SendReply *rep = NULL;
    assert_int_equal(mf_send(&g_pat, NULL, g_conv, msg, to_pro, t0, 1, &rep, NULL), 0);
    assert_int_equal(rep->result, R(STORED));
    codec_free(&rep->base);
    assert_int_equal(h_svc_stop(&MF.messaging), 0);
    assert_int_equal(mf_store_corrupt_first("queue", g_pat.id, ID_BYTES), 0);
    mf_messaging_start();

    int64_t end = bus_mono_ms() + RETENTION_MS + 8000;
    size_t left = 1;
    while (left && bus_mono_ms() < end) {
        h_sleep_ms(250);
        Espace__V1__FetchReply *f = mf_fetch(&g_pro, 0);
        left = f->n_entries;
        codec_free(&f->base);
    }
    assert_int_equal(left, 0);
    h_sleep_ms(1500); /* the same tick forgot the message id */
    assert_int_equal(mf_send(&g_pat, NULL, g_conv, msg, to_pro, t0, 1, &rep, NULL), 0);
    assert_int_equal(rep->result, R(STORED));
    codec_free(&rep->base);
}

int main(void)
{
    char v[32];
    snprintf(v, sizeof v, "%d", RETENTION_MS);
    setenv(MSG_RETENTION_ENV, v, 1);
    setenv(MSG_RATE_SCALE_ENV, "100", 1); /* test_sweep_past_one_tick sends M at once */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_keeps_what_was_answered),
        cmocka_unit_test(test_retention_expiry),
        cmocka_unit_test(test_sweep_past_one_tick),
        cmocka_unit_test(test_sweep_skips_a_corrupt_value),
    };
    return cmocka_run_group_tests(tests, mf_setup, mf_teardown);
}
