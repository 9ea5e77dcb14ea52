/*
 * test_messaging_attach.c - encrypted attachments on a live bus: a file
 * encrypted with secretstream (64 KiB chunks) uploaded in pieces, resumed
 * after a "disconnect", checked against its BLAKE2b-256 at completion,
 * downloaded in pieces by a member and refused to anyone else; the size
 * limit; a hash mismatch restarts the upload.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "test/service/messaging_fixture.h"

#define RPPS "81000000031"
#define RPPS2 "81000000032"
#define PLAIN_CHUNK 65536

static int s_begin(const mf_dev_t *d, const uint8_t conv[ID_BYTES], const uint8_t id[ID_BYTES],
                   uint64_t size, const uint8_t hash[32], Espace__V1__BeginAttachmentReply **out,
                   bus_reply_t *r)
{
    Espace__V1__BeginAttachmentRequest req = ESPACE__V1__BEGIN_ATTACHMENT_REQUEST__INIT;
    req.conversation_id = (ProtobufCBinaryData){ID_BYTES, (uint8_t *)conv};
    req.attachment_id = (ProtobufCBinaryData){ID_BYTES, (uint8_t *)id};
    req.size = size;
    req.hash = (ProtobufCBinaryData){32, (uint8_t *)hash};
    ProtobufCMessage *m = NULL;
    int rc = mf_call(d, "BeginAttachment", &req.base,
                     &espace__v1__begin_attachment_reply__descriptor, &m, r);
    if (out)
        *out = (Espace__V1__BeginAttachmentReply *)m;
    else
        codec_free(m);
    return rc;
}

static int s_put(const mf_dev_t *d, const uint8_t id[ID_BYTES], uint64_t off, const uint8_t *data,
                 size_t len, Espace__V1__UploadChunkReply **out, bus_reply_t *r)
{
    Espace__V1__UploadChunkRequest req = ESPACE__V1__UPLOAD_CHUNK_REQUEST__INIT;
    req.attachment_id = (ProtobufCBinaryData){ID_BYTES, (uint8_t *)id};
    req.offset = off;
    req.data = (ProtobufCBinaryData){len, (uint8_t *)data};
    ProtobufCMessage *m = NULL;
    int rc = mf_call(d, "UploadChunk", &req.base, &espace__v1__upload_chunk_reply__descriptor, &m,
                     r);
    if (out)
        *out = (Espace__V1__UploadChunkReply *)m;
    else
        codec_free(m);
    return rc;
}

static int s_get(const mf_dev_t *d, const uint8_t id[ID_BYTES], uint64_t off, uint32_t max,
                 Espace__V1__DownloadAttachmentReply **out, bus_reply_t *r)
{
    Espace__V1__DownloadAttachmentRequest req = ESPACE__V1__DOWNLOAD_ATTACHMENT_REQUEST__INIT;
    req.attachment_id = (ProtobufCBinaryData){ID_BYTES, (uint8_t *)id};
    req.offset = off;
    req.max_bytes = max;
    ProtobufCMessage *m = NULL;
    int rc = mf_call(d, "DownloadAttachment", &req.base,
                     &espace__v1__download_attachment_reply__descriptor, &m, r);
    if (out)
        *out = (Espace__V1__DownloadAttachmentReply *)m;
    else
        codec_free(m);
    return rc;
}

/* The secretstream ciphertext of plain[n] under key (64 KiB chunks): header
 * then chunks; malloc'd, *len its size. */
static uint8_t *s_encrypt(const uint8_t *plain, size_t n, const uint8_t *key, size_t *len)
{
    size_t chunks = (n + PLAIN_CHUNK - 1) / PLAIN_CHUNK;
    size_t cap = crypto_secretstream_xchacha20poly1305_HEADERBYTES +
                 n + chunks * crypto_secretstream_xchacha20poly1305_ABYTES;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    crypto_secretstream_xchacha20poly1305_state st;
    crypto_secretstream_xchacha20poly1305_init_push(&st, out, key);
    size_t at = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
    for (size_t off = 0; off < n; off += PLAIN_CHUNK) {
        size_t l = n - off < PLAIN_CHUNK ? n - off : PLAIN_CHUNK;
        unsigned long long cl = 0;
        uint8_t tag = off + l == n ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0;
        crypto_secretstream_xchacha20poly1305_push(&st, out + at, &cl, plain + off, l, NULL, 0, tag);
        at += cl;
    }
    *len = at;
    return out;
}

static void s_decrypt_check(const uint8_t *ct, size_t len, const uint8_t *key,
                            const uint8_t *plain, size_t n)
{
    crypto_secretstream_xchacha20poly1305_state st;
    assert_int_equal(crypto_secretstream_xchacha20poly1305_init_pull(&st, ct, key), 0);
    size_t at = crypto_secretstream_xchacha20poly1305_HEADERBYTES, got = 0;
    uint8_t *buf = malloc(PLAIN_CHUNK);
    uint8_t tag = 0;
    while (at < len) {
        size_t cl = len - at;
        if (cl > PLAIN_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES)
            cl = PLAIN_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES;
        unsigned long long pl = 0;
        assert_int_equal(crypto_secretstream_xchacha20poly1305_pull(&st, buf, &pl, &tag, ct + at,
                                                                    cl, NULL, 0),
                         0);
        assert_memory_equal(buf, plain + got, pl);
        got += pl;
        at += cl;
    }
    assert_int_equal(got, n);
    assert_int_equal(tag, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
    free(buf);
}

static void test_upload_resume_download(void **state)
{
    (void)state;
    char pid[ID_HEX];
    mf_patient_id(pid);
    mf_dev_t pat, pro, stranger;
    mf_dev(&pat, K_PATIENT, pid);
    mf_dev(&pro, K_PRO, RPPS);
    mf_dev(&stranger, K_PRO, RPPS2);
    assert_int_equal(mf_publish(&pat, 0), 0);
    assert_int_equal(mf_publish(&pro, 0), 0);
    mf_grant(pid, RPPS);
    uint8_t conv[ID_BYTES];
    assert_int_equal(mf_start(&pro, pid, NULL, 0, conv, NULL), 0);

    /* a 300 000-byte file, encrypted on the client */
    size_t n = 300000, len = 0;
    uint8_t *plain = malloc(n), key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
    randombytes_buf(plain, n);
    crypto_secretstream_xchacha20poly1305_keygen(key);
    uint8_t *ct = s_encrypt(plain, n, key, &len);
    uint8_t hash[32], id[ID_BYTES];
    crypto_generichash(hash, sizeof hash, ct, len, NULL, 0);
    randombytes_buf(id, sizeof id);

    bus_reply_t r;
    Espace__V1__BeginAttachmentReply *b = NULL;
    assert_int_equal(s_begin(&pat, conv, id, len, hash, &b, NULL), 0);
    assert_int_equal(b->next_offset, 0);
    assert_false(b->complete);
    codec_free(&b->base);
    /* two pieces, then the connection "drops" */
    size_t piece = 100000;
    assert_int_equal(s_put(&pat, id, 0, ct, piece, NULL, NULL), 0);
    assert_int_equal(s_put(&pat, id, piece, ct + piece, piece, NULL, NULL), 0);
    /* download before completion: refused */
    memset(&r, 0, sizeof r);
    int rc = s_get(&pro, id, 0, 0, NULL, &r);
    MF_EXPECT(rc, r, ES_FAILED_PRECONDITION, "attachment_id");
    /* resume: the server says where */
    assert_int_equal(s_begin(&pat, conv, id, len, hash, &b, NULL), 0);
    assert_int_equal(b->next_offset, 2 * piece);
    codec_free(&b->base);
    /* a wrong offset, a too small middle piece, another device: refused */
    memset(&r, 0, sizeof r);
    rc = s_put(&pat, id, piece, ct + piece, piece, NULL, &r);
    MF_EXPECT(rc, r, ES_FAILED_PRECONDITION, "offset");
    memset(&r, 0, sizeof r);
    rc = s_put(&pat, id, 2 * piece, ct + 2 * piece, 100, NULL, &r);
    MF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "data");
    memset(&r, 0, sizeof r);
    rc = s_put(&pro, id, 2 * piece, ct + 2 * piece, len - 2 * piece, NULL, &r);
    MF_EXPECT(rc, r, ES_NOT_FOUND, "attachment_id");
    /* the same id with another size: taken */
    memset(&r, 0, sizeof r);
    rc = s_begin(&pat, conv, id, len + 1, hash, NULL, &r);
    MF_EXPECT(rc, r, ES_ALREADY_EXISTS, "attachment_id");
    /* the rest: complete */
    Espace__V1__UploadChunkReply *u = NULL;
    assert_int_equal(s_put(&pat, id, 2 * piece, ct + 2 * piece, len - 2 * piece, &u, NULL), 0);
    assert_true(u->complete);
    assert_int_equal(u->next_offset, len);
    codec_free(&u->base);

    /* the professional downloads it in pieces and decrypts it */
    uint8_t *back = malloc(len);
    size_t got = 0;
    while (got < len) {
        Espace__V1__DownloadAttachmentReply *d = NULL;
        assert_int_equal(s_get(&pro, id, got, 70000, &d, NULL), 0);
        assert_int_equal(d->size, len);
        assert_memory_equal(d->hash.data, hash, 32);
        assert_true(d->data.len > 0 && d->data.len <= 70000);
        memcpy(back + got, d->data.data, d->data.len);
        got += d->data.len;
        codec_free(&d->base);
    }
    assert_memory_equal(back, ct, len);
    s_decrypt_check(back, len, key, plain, n);

    /* not a member: as if it did not exist */
    memset(&r, 0, sizeof r);
    rc = s_get(&stranger, id, 0, 0, NULL, &r);
    MF_EXPECT(rc, r, ES_NOT_FOUND, "attachment_id");
    mf_dev_t other_patient;
    char p2[ID_HEX];
    mf_patient_id(p2);
    mf_dev(&other_patient, K_PATIENT, p2);
    memset(&r, 0, sizeof r);
    rc = s_get(&other_patient, id, 0, 0, NULL, &r);
    MF_EXPECT(rc, r, ES_NOT_FOUND, "attachment_id");
    memset(&r, 0, sizeof r);
    rc = s_get(&pat, id, len, 0, NULL, &r);
    MF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "offset");
    free(back);
    free(ct);
    free(plain);
}

static void test_limits_and_hash(void **state)
{
    (void)state;
    char pid[ID_HEX];
    mf_patient_id(pid);
    mf_dev_t pat, pro;
    mf_dev(&pat, K_PATIENT, pid);
    mf_dev(&pro, K_PRO, RPPS);
    assert_int_equal(mf_publish(&pat, 0), 0);
    assert_int_equal(mf_publish(&pro, 0), 0);
    mf_grant(pid, RPPS);
    uint8_t conv[ID_BYTES], id[ID_BYTES], hash[32];
    assert_int_equal(mf_start(&pro, pid, NULL, 0, conv, NULL), 0);
    randombytes_buf(id, sizeof id);
    memset(hash, 7, sizeof hash);
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = s_begin(&pat, conv, id, MSG_ATTACH_MAX + 1, hash, NULL, &r);
    MF_EXPECT(rc, r, ES_TOO_LARGE, "size");
    memset(&r, 0, sizeof r);
    rc = s_begin(&pat, conv, id, 0, hash, NULL, &r);
    MF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "size");

    /* a piece over the limit */
    size_t big = MSG_CHUNK_MAX + 1;
    uint8_t *data = calloc(1, big);
    assert_int_equal(s_begin(&pat, conv, id, big, hash, NULL, NULL), 0);
    memset(&r, 0, sizeof r);
    rc = s_put(&pat, id, 0, data, big, NULL, &r);
    MF_EXPECT(rc, r, ES_TOO_LARGE, "data");

    /* a hash that does not match: refused at completion, upload restarts */
    uint8_t id2[ID_BYTES];
    randombytes_buf(id2, sizeof id2);
    assert_int_equal(s_begin(&pat, conv, id2, 1000, hash, NULL, NULL), 0);
    memset(&r, 0, sizeof r);
    rc = s_put(&pat, id2, 0, data, 1000, NULL, &r);
    MF_EXPECT(rc, r, ES_INVALID_ARGUMENT, "hash");
    Espace__V1__BeginAttachmentReply *b = NULL;
    assert_int_equal(s_begin(&pat, conv, id2, 1000, hash, &b, NULL), 0);
    assert_int_equal(b->next_offset, 0);
    assert_false(b->complete);
    codec_free(&b->base);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upload_resume_download),
        cmocka_unit_test(test_limits_and_hash),
    };
    return cmocka_run_group_tests(tests, mf_setup, mf_teardown);
}
