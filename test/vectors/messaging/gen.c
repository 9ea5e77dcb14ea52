/* gen.c - writes (or checks) the shared messaging vectors of this folder:
 * the message content (espace.v1.MessageContent, docs/messaging.md "Message
 * content") and sealed attachments.
 *
 *   msg_vectors_gen <dir>           write <dir>/{content,attachment}.json
 *   msg_vectors_gen --check <dir>   regenerate in memory, fail unless every
 *                                   file equals the committed one byte for byte
 *
 * libsodium's random source is replaced by a fixed stream (ChaCha20 from a
 * fixed seed), so espace_messaging_attachment_seal makes the same key,
 * header and ciphertext on every run: the committed attachments are what
 * libespace seals now. Every valid content is encoded with
 * espace_messaging_content_encode and decoded back; every invalid or unknown
 * one is built with protobuf-c directly and must be refused (or skipped) by
 * espace_messaging_content_decode. The web suite
 * (test/web/messaging-vectors.test.mjs) reads the same files: its
 * contentEncode must give the same bytes, its contentDecode the same
 * content or the same refusal, and it must open the sealed attachments and
 * seal with the same chunk layout. ctest unit.messaging.vectors runs --check. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/vectors/vector_file.h"
#include "clients/lib/messaging.h"
#include "export/json.h"

#define CHECK(expr)                                                                       \
    do {                                                                                  \
        if (!(expr)) {                                                                    \
            fprintf(stderr, "msg_vectors_gen: %s:%d: %s\n", __FILE__, __LINE__, #expr);   \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

static json_t J;

/* ---- a fixed random source ---- */

static uint8_t s_seed[32];
static uint64_t s_ctr;

static void s_rng_buf(void *buf, size_t n)
{
    uint8_t seed[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof seed);
    crypto_generichash_update(&st, s_seed, sizeof s_seed);
    crypto_generichash_update(&st, (const uint8_t *)&s_ctr, sizeof s_ctr);
    crypto_generichash_final(&st, seed, sizeof seed);
    s_ctr++;
    randombytes_buf_deterministic(buf, n, seed);
}

static uint32_t s_rng_random(void)
{
    uint32_t r;
    s_rng_buf(&r, sizeof r);
    return r;
}

static const char *s_rng_name(void)
{
    return "msg_vectors_gen";
}

static randombytes_implementation s_rng = {
    .implementation_name = s_rng_name, .random = s_rng_random, .buf = s_rng_buf};

static void s_rng_reset(const char *name)
{
    crypto_generichash(s_seed, sizeof s_seed, (const uint8_t *)name, strlen(name), NULL, 0);
    s_ctr = 0;
}

/* ---- helpers ---- */

static void s_hex(const char *key, const uint8_t *p, size_t n)
{
    char *h = malloc(2 * n + 1);
    CHECK(h);
    sodium_bin2hex(h, 2 * n + 1, p, n);
    json_str(&J, key, h);
    free(h);
}

static void s_fill(uint8_t *out, size_t n, const char *name)
{
    uint8_t seed[32];
    crypto_generichash(seed, sizeof seed, (const uint8_t *)name, strlen(name), NULL, 0);
    randombytes_buf_deterministic(out, n, seed);
}

/* ---- content.json ---- */

static void s_content_json(const espace_msg_content_t *c)
{
    json_obj_open(&J, "content");
    if (c->kind == ESPACE_MSG_READ) {
        json_str(&J, "kind", "read");
        json_arr_open(&J, "message_ids");
        for (size_t i = 0; i < c->n_read; i++)
            s_hex(NULL, c->read[i], ESPACE_MSG_ID);
        json_arr_close(&J);
    } else {
        char *t = malloc(c->text_len + 1);
        CHECK(t);
        if (c->text_len)
            memcpy(t, c->text, c->text_len);
        t[c->text_len] = '\0';
        json_str(&J, "kind", "text");
        json_str(&J, "text", t);
        free(t);
        json_arr_open(&J, "attachments");
        for (size_t i = 0; i < c->n_att; i++) {
            const espace_msg_attachment_t *a = &c->att[i];
            json_obj_open(&J, NULL);
            s_hex("id", a->id, sizeof a->id);
            s_hex("key", a->key, sizeof a->key);
            s_hex("hash", a->hash, sizeof a->hash);
            json_int(&J, "size", (int64_t)a->size);
            json_str(&J, "name", a->name);
            json_str(&J, "mime", a->mime);
            json_int(&J, "plain_size", (int64_t)a->plain_size);
            json_obj_close(&J);
        }
        json_arr_close(&J);
    }
    json_obj_close(&J);
}

/* A valid content: encoded by libespace, decoded back to the same. */
static void s_valid(const char *name, const espace_msg_content_t *c)
{
    static uint8_t buf[E2E_MAX_PLAINTEXT], again[E2E_MAX_PLAINTEXT];
    static espace_msg_content_t d;
    size_t len = 0, len2 = 0;
    CHECK(espace_messaging_content_encode(c, buf, sizeof buf, &len) == 0);
    CHECK(espace_messaging_content_decode(buf, len, &d) == 0);
    CHECK(d.kind == c->kind && d.n_att == c->n_att && d.n_read == c->n_read);
    CHECK(d.text_len == c->text_len && (!d.text_len || !memcmp(d.text, c->text, d.text_len)));
    CHECK(!memcmp(d.att, c->att, c->n_att * sizeof c->att[0]));
    CHECK(!memcmp(d.read, c->read, c->n_read * ESPACE_MSG_ID));
    CHECK(espace_messaging_content_encode(&d, again, sizeof again, &len2) == 0);
    CHECK(len2 == len && !memcmp(again, buf, len));
    espace_messaging_content_clear(&d);
    json_obj_open(&J, NULL);
    json_str(&J, "name", name);
    s_content_json(c);
    s_hex("bytes", buf, len);
    json_obj_close(&J);
}

/* Bytes that libespace must decode to `want` (an error, or 0). */
static void s_bytes(const char *name, const uint8_t *b, size_t len, int want)
{
    static espace_msg_content_t d;
    int rc = espace_messaging_content_decode(b, len, &d);
    if (rc != want)
        fprintf(stderr, "msg_vectors_gen: %s decodes to %d, not %d\n", name, rc, want);
    CHECK(rc == want);
    espace_messaging_content_clear(&d);
    json_obj_open(&J, NULL);
    json_str(&J, "name", name);
    s_hex("bytes", b, len);
    json_obj_close(&J);
}

static void s_packed(const char *name, const Espace__V1__MessageContent *m, int want)
{
    uint8_t buf[4096];
    size_t len = espace__v1__message_content__get_packed_size(m);
    CHECK(len <= sizeof buf);
    espace__v1__message_content__pack(m, buf);
    s_bytes(name, buf, len, want);
}

static void s_att(espace_msg_attachment_t *a, const char *tag, uint64_t size, uint64_t plain,
                  const char *name, const char *mime)
{
    char n[64];
    snprintf(n, sizeof n, "%s id", tag);
    s_fill(a->id, sizeof a->id, n);
    snprintf(n, sizeof n, "%s key", tag);
    s_fill(a->key, sizeof a->key, n);
    snprintf(n, sizeof n, "%s hash", tag);
    s_fill(a->hash, sizeof a->hash, n);
    a->size = size;
    a->plain_size = plain;
    snprintf(a->name, sizeof a->name, "%s", name);
    snprintf(a->mime, sizeof a->mime, "%s", mime);
}

static void s_content(void)
{
    static espace_msg_content_t c;
    json_obj_open(&J, NULL);
    json_arr_open(&J, "valid");
    const char *hello = "Bonjour, vos résultats sont normaux. À bientôt !";
    c = (espace_msg_content_t){.kind = ESPACE_MSG_TEXT, .text = hello, .text_len = strlen(hello)};
    s_valid("text", &c);
    const char *cr = "Voici le compte rendu.";
    c = (espace_msg_content_t){.kind = ESPACE_MSG_TEXT, .text = cr, .text_len = strlen(cr), .n_att = 1};
    s_att(&c.att[0], "att 1", 65577, 65536, "compte-rendu.pdf", "application/pdf");
    s_valid("text with an attachment", &c);
    c = (espace_msg_content_t){.kind = ESPACE_MSG_TEXT, .n_att = 2};
    s_att(&c.att[0], "att 2", 41, 0, "vide.txt", "");
    s_att(&c.att[1], "att 3", (uint64_t)20 << 20, ((uint64_t)20 << 20) - 24 - 17 * 320,
          "ordonnance de Zoé.jpg", "image/jpeg");
    s_valid("attachments without text", &c);
    c = (espace_msg_content_t){.kind = ESPACE_MSG_READ, .n_read = 3};
    for (size_t i = 0; i < 3; i++)
        s_fill(c.read[i], ESPACE_MSG_ID, i == 0 ? "read 0" : i == 1 ? "read 1" : "read 2");
    s_valid("read receipt", &c);
    json_arr_close(&J);

    /* refused: built with protobuf-c, around the encoder's own checks */
    json_arr_open(&J, "invalid");
    uint8_t id[17], key[32], hash[32];
    s_fill(id, sizeof id, "bad id");
    s_fill(key, sizeof key, "bad key");
    s_fill(hash, sizeof hash, "bad hash");
    Espace__V1__MessageContent m = ESPACE__V1__MESSAGE_CONTENT__INIT;
    Espace__V1__TextContent t = ESPACE__V1__TEXT_CONTENT__INIT;
    Espace__V1__ReadReceipt r = ESPACE__V1__READ_RECEIPT__INIT;
    Espace__V1__AttachmentRef a = ESPACE__V1__ATTACHMENT_REF__INIT, *ap = &a;
    a.id = (ProtobufCBinaryData){16, id};
    a.key = (ProtobufCBinaryData){32, key};
    a.hash = (ProtobufCBinaryData){32, hash};
    a.size = 100;
    a.name = "a.txt";
    m.kind_case = ESPACE__V1__MESSAGE_CONTENT__KIND_TEXT;
    m.text = &t;
    s_packed("an empty text without attachment", &m, ES_INVALID_ARGUMENT);
    t.text = "\xff\xfe";
    s_packed("a text that is not UTF-8", &m, ES_INVALID_ARGUMENT);
    t.text = "x";
    t.attachments = &ap;
    t.n_attachments = 1;
    a.name = "../a.txt";
    s_packed("a file name with a slash", &m, ES_INVALID_ARGUMENT);
    a.name = "a.txt";
    a.id.len = 15;
    s_packed("an attachment id of 15 bytes", &m, ES_INVALID_ARGUMENT);
    a.id.len = 16;
    a.key.len = 31;
    s_packed("a key of 31 bytes", &m, ES_INVALID_ARGUMENT);
    a.key.len = 32;
    a.size = 0;
    s_packed("an attachment of size 0", &m, ES_INVALID_ARGUMENT);
    a.size = ((uint64_t)20 << 20) + 1;
    s_packed("an attachment above 20 MiB", &m, ES_INVALID_ARGUMENT);
    a.size = 100;
    m.kind_case = ESPACE__V1__MESSAGE_CONTENT__KIND_READ;
    m.read = &r;
    s_packed("a read receipt without id", &m, ES_INVALID_ARGUMENT);
    ProtobufCBinaryData rid = {17, id};
    r.message_ids = &rid;
    r.n_message_ids = 1;
    s_packed("a read id of 17 bytes", &m, ES_INVALID_ARGUMENT);
    const uint8_t cut[] = {0x0a, 0x05, 0x0a, 0x03, 'a', 'b'};
    s_bytes("truncated", cut, sizeof cut, ES_INVALID_ARGUMENT);
    json_arr_close(&J);

    /* a kind this version does not know: skipped, not an error to show */
    json_arr_open(&J, "unknown");
    s_bytes("empty", (const uint8_t *)"", 0, ES_UNIMPLEMENTED);
    const uint8_t future[] = {0x1a, 0x02, 0x08, 0x01}; /* field 3: a newer kind */
    s_bytes("a newer kind (field 3)", future, sizeof future, ES_UNIMPLEMENTED);
    json_arr_close(&J);
    json_obj_close(&J);
}

/* ---- attachment.json ---- */

static void s_attachment(void)
{
    static const size_t sizes[] = {0, 100, 65536, 65537};
    json_obj_open(&J, NULL);
    json_int(&J, "chunk_plain", (int64_t)ESPACE_MSG_PLAIN_CHUNK);
    json_arr_open(&J, "sealed");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        char name[64];
        uint8_t *plain = malloc(n + 1), *ct = NULL, *back = NULL, key[32], hash[32];
        size_t clen = 0, blen = 0;
        CHECK(plain);
        snprintf(name, sizeof name, "espace messaging vectors: file %zu", n);
        s_fill(plain, n, name);
        s_rng_reset(name);
        CHECK(espace_messaging_attachment_seal(plain, n, key, &ct, &clen, hash) == 0);
        size_t chunks = n ? (n + ESPACE_MSG_PLAIN_CHUNK - 1) / ESPACE_MSG_PLAIN_CHUNK : 1;
        CHECK(clen == 24 + n + 17 * chunks);
        uint8_t h2[32];
        crypto_generichash(h2, sizeof h2, ct, clen, NULL, 0);
        CHECK(!memcmp(h2, hash, 32));
        CHECK(espace_messaging_attachment_open(key, ct, clen, &back, &blen) == 0);
        CHECK(blen == n && (!n || !memcmp(back, plain, n)));
        json_obj_open(&J, NULL);
        json_int(&J, "plain_size", (int64_t)n);
        s_hex("plain_blake2b", (crypto_generichash(h2, 32, plain, n, NULL, 0), h2), 32);
        s_hex("key", key, sizeof key);
        s_hex("hash", hash, sizeof hash);
        json_int(&J, "size", (int64_t)clen);
        s_hex("ciphertext", ct, clen);
        json_obj_close(&J);
        free(plain);
        free(ct);
        free(back);
    }
    json_arr_close(&J);
    json_obj_close(&J);
}

/* ---- main ---- */

static int s_emit(const char *dir, const char *name, void (*w)(void), int check)
{
    size_t len;
    json_init(&J);
    w();
    char *doc = json_take(&J, &len);
    CHECK(doc);
    int rc = vector_file("msg_vectors_gen", dir, name, doc, len, check);
    CHECK(rc >= 0);
    free(doc);
    return rc;
}

int main(int argc, char **argv)
{
    int check = argc == 3 && strcmp(argv[1], "--check") == 0;
    if (argc != 2 && !check) {
        fprintf(stderr, "usage: msg_vectors_gen [--check] <dir>\n");
        return 2;
    }
    s_rng_reset("espace messaging vectors");
    randombytes_set_implementation(&s_rng);
    CHECK(sodium_init() >= 0);
    int rc = s_emit(argv[argc - 1], "content.json", s_content, check);
    rc |= s_emit(argv[argc - 1], "attachment.json", s_attachment, check);
    return rc;
}
