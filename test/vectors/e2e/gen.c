/* gen.c - writes (or checks) the shared e2e test vectors of this folder.
 *
 *   e2e_vectors_gen <dir>           write <dir>/{kdf,keys,x3dh,conversation,safety}.json
 *   e2e_vectors_gen --check <dir>   regenerate in memory, fail unless every
 *                                   file equals the committed one byte for byte
 *
 * Every secret comes from a fixed name (BLAKE2b-256 of "espace e2e vectors:
 * <name>") and es_e2e's deterministic cores (e2e_int.h), so the output is
 * the same on every run; the JavaScript suite (test/web/e2e-crypto.test.mjs)
 * reads the same files and must reproduce every byte. The generator also
 * plays the conversation it records and stops on any unexpected outcome, so
 * it is a test of es_e2e too (ctest unit.e2e.vectors runs --check). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/vectors/vector_file.h"
#include "clients/e2e/e2e_int.h"
#include "export/json.h"

#define CHECK(expr)                                                                  \
    do {                                                                             \
        if (!(expr)) {                                                               \
            fprintf(stderr, "e2e_vectors_gen: %s:%d: %s\n", __FILE__, __LINE__, #expr); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static json_t J;

static void s_hex(const char *key, const uint8_t *p, size_t n)
{
    char *h = malloc(2 * n + 1);
    CHECK(h);
    sodium_bin2hex(h, 2 * n + 1, p, n);
    json_str(&J, key, h);
    free(h);
}

static void s_secret(uint8_t out[32], const char *name)
{
    char in[128];
    snprintf(in, sizeof in, "espace e2e vectors: %s", name);
    crypto_generichash(out, 32, (const uint8_t *)in, strlen(in), NULL, 0);
}

/* ---- kdf.json ---- */

static void s_kdf(void)
{
    uint8_t salt[32], ikm[128], prk[64], okm[200], a[32], b[32], c[32], d[32];
    json_obj_open(&J, NULL);
    json_arr_open(&J, "extract");
    for (size_t ikm_len = 0; ikm_len <= 100; ikm_len += 50) {
        s_secret(salt, "kdf salt");
        for (size_t i = 0; i < ikm_len; i++)
            ikm[i] = (uint8_t)i;
        CHECK(e2e_kdf_extract(prk, salt, sizeof salt, ikm, ikm_len) == ES_OK);
        json_obj_open(&J, NULL);
        s_hex("salt", salt, sizeof salt);
        s_hex("ikm", ikm, ikm_len);
        s_hex("prk", prk, sizeof prk);
        json_obj_close(&J);
    }
    json_arr_close(&J);
    json_arr_open(&J, "expand");
    static const size_t lens[] = {1, 32, 64, 65, 200};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        const char *label = i % 2 ? E2E_LABEL_ROOT : "espace.e2e.v1.test";
        CHECK(e2e_kdf_expand(okm, lens[i], prk, i == 1 ? 32 : sizeof prk, label) == ES_OK);
        json_obj_open(&J, NULL);
        s_hex("prk", prk, i == 1 ? 32 : sizeof prk);
        json_str(&J, "label", label);
        json_int(&J, "length", (int64_t)lens[i]);
        s_hex("okm", okm, lens[i]);
        json_obj_close(&J);
    }
    json_arr_close(&J);
    s_secret(a, "kdf root key");
    s_secret(b, "kdf dh output");
    json_obj_open(&J, "root");
    s_hex("rk", a, 32);
    s_hex("dh", b, 32);
    e2e_kdf_root(c, d, a, b);
    s_hex("rk_out", c, 32);
    s_hex("ck_out", d, 32);
    json_obj_close(&J);
    s_secret(a, "kdf chain key");
    json_obj_open(&J, "chain");
    s_hex("ck", a, 32);
    e2e_kdf_chain(b, c, a);
    s_hex("ck_out", b, 32);
    s_hex("mk", c, 32);
    json_obj_close(&J);
    json_obj_open(&J, "message");
    s_hex("mk", c, 32);
    e2e_kdf_message(a, d, c);
    s_hex("key", a, 32);
    s_hex("nonce", d, E2E_AEAD_NONCE_BYTES);
    json_obj_close(&J);
    json_arr_open(&J, "x3dh");
    for (size_t n = 96; n <= 128; n += 32) {
        for (size_t i = 0; i < n; i++)
            ikm[i] = (uint8_t)(255 - i);
        e2e_kdf_x3dh(a, ikm, n);
        json_obj_open(&J, NULL);
        s_hex("dh", ikm, n);
        s_hex("sk", a, 32);
        json_obj_close(&J);
    }
    json_arr_close(&J);
    json_obj_close(&J);
}

/* ---- keys.json and the cast of the other files ---- */

typedef struct cast {
    uint8_t alice_seed[32], bob_seed[32];
    e2e_identity_t alice, bob;
    e2e_prekey_t spk, opk, lrk;
} cast_t;

static void s_cast(cast_t *c)
{
    uint8_t sk[32];
    s_secret(c->alice_seed, "alice identity seed");
    s_secret(c->bob_seed, "bob identity seed");
    CHECK(e2e_identity_from_seed(&c->alice, c->alice_seed) == ES_OK);
    CHECK(e2e_identity_from_seed(&c->bob, c->bob_seed) == ES_OK);
    s_secret(sk, "bob signed prekey");
    CHECK(e2e_prekey_from_secret(&c->spk, &c->bob, E2E_PREKEY_SIGNED, 1, 0, sk) == ES_OK);
    s_secret(sk, "bob one-time prekey");
    CHECK(e2e_prekey_from_secret(&c->opk, NULL, E2E_PREKEY_ONE_TIME, 100, 0, sk) == ES_OK);
    s_secret(sk, "bob last-resort prekey");
    CHECK(e2e_prekey_from_secret(&c->lrk, &c->bob, E2E_PREKEY_LAST_RESORT, 7, 0, sk) == ES_OK);
}

static void s_identity(const char *key, const uint8_t seed[32], const e2e_identity_t *id)
{
    json_obj_open(&J, key);
    s_hex("seed", seed, 32);
    s_hex("sign_pk", id->sign_pk, 32);
    s_hex("sign_sk", id->sign_sk, 64);
    s_hex("dh_pk", id->dh_pk, 32);
    s_hex("dh_sk", id->dh_sk, 32);
    json_obj_close(&J);
}

static void s_prekey(const char *key, const e2e_prekey_t *p)
{
    json_obj_open(&J, key);
    json_int(&J, "kind", p->kind);
    json_int(&J, "id", p->id);
    s_hex("sk", p->sk, 32);
    s_hex("pk", p->pk, 32);
    s_hex("sig", p->sig, 64);
    json_obj_close(&J);
}

static void s_keys(const cast_t *c)
{
    json_obj_open(&J, NULL);
    s_identity("alice", c->alice_seed, &c->alice);
    s_identity("bob", c->bob_seed, &c->bob);
    json_str(&J, "prekeys_of", "bob");
    s_prekey("signed", &c->spk);
    s_prekey("one_time", &c->opk);
    s_prekey("last_resort", &c->lrk);
    json_obj_close(&J);
}

/* ---- x3dh.json ---- */

static void s_bundle(const e2e_bundle_t *b)
{
    json_obj_open(&J, "bundle");
    s_hex("ik", b->ik, 32);
    json_int(&J, "spk_id", b->spk_id);
    s_hex("spk", b->spk, 32);
    s_hex("spk_sig", b->spk_sig, 64);
    json_int(&J, "opk_kind", b->opk_kind);
    json_int(&J, "opk_id", b->opk_id);
    s_hex("opk", b->opk, 32);
    s_hex("opk_sig", b->opk_sig, 64);
    json_obj_close(&J);
}

static void s_x3dh_case(const cast_t *c, const char *name, const e2e_prekey_t *opk)
{
    e2e_bundle_t b;
    uint8_t ek[32], dhs[32], sk[32], msg[256], plain[64];
    char label[64];
    size_t len, plen;
    const char *text = "Bonjour, voici mes résultats.";
    CHECK(e2e_bundle_make(&b, &c->bob, &c->spk, opk) == ES_OK);
    snprintf(label, sizeof label, "x3dh %s ephemeral", name);
    s_secret(ek, label);
    snprintf(label, sizeof label, "x3dh %s ratchet", name);
    s_secret(dhs, label);
    CHECK(e2e_x3dh_secret_initiator(sk, &c->alice, &b, ek) == ES_OK);
    e2e_session_t *a = NULL, *r = NULL;
    CHECK(e2e_x3dh_initiate_det(&a, &c->alice, &b, ek, dhs) == ES_OK);
    CHECK(e2e_session_encrypt_det(a, (const uint8_t *)text, strlen(text), msg, sizeof msg, &len,
                                  NULL) == ES_OK);
    CHECK(e2e_x3dh_respond(&r, &c->bob, &c->spk, opk, msg, len, plain, sizeof plain, &plen) ==
          ES_OK);
    CHECK(plen == strlen(text) && memcmp(plain, text, plen) == 0);
    json_obj_open(&J, NULL);
    json_str(&J, "name", name);
    s_bundle(&b);
    s_hex("ek_sk", ek, 32);
    s_hex("dhs_sk", dhs, 32);
    s_hex("sk", sk, 32);
    json_str(&J, "text", text);
    s_hex("message", msg, len);
    json_str(&J, "status", "OK");
    json_obj_close(&J);
    e2e_session_destroy(&a);
    e2e_session_destroy(&r);
}

static void s_bad_bundle(const char *name, const e2e_bundle_t *b, int status)
{
    CHECK(e2e_bundle_verify(b) == status);
    json_obj_open(&J, NULL);
    json_str(&J, "name", name);
    s_bundle(b);
    json_str(&J, "status", es_status_name(status));
    json_obj_close(&J);
}

static void s_x3dh(const cast_t *c)
{
    e2e_bundle_t good, b;
    CHECK(e2e_bundle_make(&good, &c->bob, &c->spk, &c->lrk) == ES_OK);
    json_obj_open(&J, NULL);
    json_arr_open(&J, "cases");
    s_x3dh_case(c, "one-time prekey", &c->opk);
    s_x3dh_case(c, "last-resort prekey", &c->lrk);
    s_x3dh_case(c, "signed prekey only", NULL);
    json_arr_close(&J);
    json_arr_open(&J, "bad_bundles");
    b = good;
    b.spk_sig[10] ^= 1;
    s_bad_bundle("signed prekey signature flipped", &b, ES_UNAUTHENTICATED);
    b = good;
    b.opk_sig[0] ^= 0x80;
    s_bad_bundle("last-resort signature flipped", &b, ES_UNAUTHENTICATED);
    b = good;
    b.spk_id = 2;
    s_bad_bundle("signed prekey id changed", &b, ES_UNAUTHENTICATED);
    b = good;
    b.opk_kind = E2E_PREKEY_SIGNED;
    s_bad_bundle("last-resort key passed as signed", &b, ES_INVALID_ARGUMENT);
    b = good;
    memcpy(b.spk, c->opk.pk, 32);
    s_bad_bundle("signed prekey replaced", &b, ES_UNAUTHENTICATED);
    b = good;
    memset(b.ik, 0, 32);
    s_bad_bundle("identity key of low order", &b, ES_INVALID_ARGUMENT);
    /* bob's key plus a point of order 8: on the curve, outside the main subgroup */
    static const char torsion_hex[] =
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a";
    uint8_t torsion[32];
    CHECK(sodium_hex2bin(torsion, 32, torsion_hex, 64, NULL, NULL, NULL) == 0);
    b = good;
    CHECK(crypto_core_ed25519_add(b.ik, c->bob.sign_pk, torsion) == 0);
    s_bad_bundle("identity key outside the main subgroup", &b, ES_INVALID_ARGUMENT);
    json_arr_close(&J);
    json_obj_close(&J);
}

/* ---- conversation.json: a scripted exchange with losses, reordering,
 * duplicates and tampering ---- */

#define S_MAX_MSGS 16

typedef struct talk {
    const cast_t *c;
    e2e_session_t *alice, *bob;
    uint8_t msg[S_MAX_MSGS][256];
    size_t len[S_MAX_MSGS];
    int count;
} talk_t;

static void s_send(talk_t *t, int from_alice, const char *text)
{
    e2e_session_t *s = from_alice ? t->alice : t->bob;
    uint8_t r[32];
    char name[64];
    int i = t->count++;
    CHECK(i < S_MAX_MSGS);
    int step = e2e_session_send_step_pending(s);
    snprintf(name, sizeof name, "conversation ratchet key %d", i);
    s_secret(r, name);
    CHECK(e2e_session_encrypt_det(s, (const uint8_t *)text, strlen(text), t->msg[i],
                                  sizeof t->msg[i], &t->len[i], r) == ES_OK);
    json_obj_open(&J, NULL);
    json_str(&J, "op", "send");
    json_str(&J, "from", from_alice ? "alice" : "bob");
    json_int(&J, "index", i);
    json_str(&J, "text", text);
    s_hex("ratchet_sk", r, step ? 32 : 0);
    s_hex("message", t->msg[i], t->len[i]);
    json_obj_close(&J);
}

/* Deliver message i to the other side, with byte `flip` xored with 1 when
 * flip >= 0, expecting `status` (and the text sent when ES_OK). */
static void s_recv(talk_t *t, int to_alice, int i, int flip, int status)
{
    uint8_t m[256], plain[256], before[8192], after[8192];
    size_t plen = 0, blen = 0, alen = 0;
    memcpy(m, t->msg[i], t->len[i]);
    if (flip >= 0)
        m[flip] ^= 1;
    e2e_session_t **s = to_alice ? &t->alice : &t->bob;
    int rc;
    if (!*s) {
        rc = e2e_x3dh_respond(s, &t->c->bob, &t->c->spk, &t->c->opk, m, t->len[i], plain,
                              sizeof plain, &plen);
    } else {
        CHECK(e2e_session_serialize(*s, before, sizeof before, &blen) == ES_OK);
        rc = e2e_session_decrypt(*s, m, t->len[i], plain, sizeof plain, &plen);
        CHECK(e2e_session_serialize(*s, after, sizeof after, &alen) == ES_OK);
        CHECK(rc == ES_OK || (alen == blen && memcmp(before, after, blen) == 0));
    }
    if (rc != status)
        fprintf(stderr, "message %d: got %s, want %s\n", i, es_status_name(rc),
                es_status_name(status));
    CHECK(rc == status);
    json_obj_open(&J, NULL);
    json_str(&J, "op", "recv");
    json_str(&J, "to", to_alice ? "alice" : "bob");
    json_int(&J, "index", i);
    json_int(&J, "flip", flip);
    json_str(&J, "status", es_status_name(rc));
    if (rc == ES_OK) {
        plain[plen] = '\0';
        json_str(&J, "text", (const char *)plain);
    }
    json_obj_close(&J);
}

static void s_state(const char *key, const e2e_session_t *s)
{
    uint8_t buf[8192];
    size_t len;
    CHECK(e2e_session_serialize(s, buf, sizeof buf, &len) == ES_OK);
    s_hex(key, buf, len);
}

static void s_conversation(const cast_t *c)
{
    talk_t t = {.c = c};
    e2e_bundle_t b;
    uint8_t ek[32], dhs[32];
    enum { A = 1, B = 0 };
    CHECK(e2e_bundle_make(&b, &c->bob, &c->spk, &c->opk) == ES_OK);
    s_secret(ek, "conversation ephemeral");
    s_secret(dhs, "conversation first ratchet key");
    CHECK(e2e_x3dh_initiate_det(&t.alice, &c->alice, &b, ek, dhs) == ES_OK);
    json_obj_open(&J, NULL);
    s_bundle(&b);
    s_hex("ek_sk", ek, 32);
    s_hex("dhs_sk", dhs, 32);
    json_arr_open(&J, "events");
    s_send(&t, A, "Bonjour docteur.");                       /* 0 initial */
    s_send(&t, A, "J'ai reçu mes analyses.");                /* 1 initial */
    s_send(&t, A, "Pouvez-vous les regarder ?");             /* 2 initial */
    s_recv(&t, B, 2, -1, ES_OK);                             /* respond, skips 0 and 1 */
    s_recv(&t, B, 0, -1, ES_OK);
    s_recv(&t, B, 0, -1, ES_ALREADY_EXISTS);                 /* duplicate */
    s_recv(&t, B, 1, 45, ES_FAILED_PRECONDITION);            /* ik changed: another X3DH */
    s_recv(&t, B, 1, 20, ES_UNAUTHENTICATED);                /* ratchet key tampered */
    s_recv(&t, B, 1, -1, ES_OK);
    s_send(&t, B, "Bonjour, je les ai reçues.");             /* 3 step */
    s_send(&t, B, "Rien d'inquiétant.");                     /* 4 */
    s_recv(&t, A, 4, -1, ES_OK);                             /* reordered */
    s_recv(&t, A, 3, -1, ES_OK);
    s_send(&t, A, "Merci beaucoup.");                        /* 5 step */
    s_send(&t, A, "Faut-il un autre rendez-vous ?");         /* 6 */
    s_send(&t, A, "Je suis libre mardi.");                   /* 7 */
    s_recv(&t, B, 7, -1, ES_OK);                             /* skips 5 and 6 */
    s_recv(&t, B, 6, -1, ES_OK);
    s_send(&t, B, "Mardi 10 h, c'est noté.");                /* 8 step */
    s_recv(&t, A, 8, -1, ES_OK);
    s_recv(&t, A, 3, -1, ES_ALREADY_EXISTS);                 /* replay of a past chain */
    s_recv(&t, B, 1, -1, ES_ALREADY_EXISTS);                 /* replay of the first chain */
    s_recv(&t, B, 5, 35, ES_UNAUTHENTICATED);                /* header (pn) tampered */
    s_recv(&t, B, 5, (int)t.len[5] - 1, ES_UNAUTHENTICATED); /* tag tampered */
    s_recv(&t, B, 5, 50, ES_UNAUTHENTICATED);                /* ciphertext tampered */
    s_recv(&t, B, 5, 0, ES_INVALID_ARGUMENT);                /* version byte */
    s_recv(&t, B, 5, -1, ES_OK);                             /* the late one, intact */
    s_recv(&t, B, 5, -1, ES_ALREADY_EXISTS);
    s_send(&t, A, "À mardi.");                               /* 9 no step */
    s_recv(&t, B, 9, -1, ES_OK);
    json_arr_close(&J);
    json_obj_open(&J, "final");
    s_state("alice", t.alice);
    s_state("bob", t.bob);
    json_obj_close(&J);
    /* after the final states: one more message each way */
    json_arr_open(&J, "after");
    s_send(&t, B, "Bonne journée.");                         /* 10 step */
    s_recv(&t, A, 10, -1, ES_OK);
    s_send(&t, A, "Vous aussi.");                            /* 11 step */
    s_recv(&t, B, 11, -1, ES_OK);
    json_arr_close(&J);
    json_obj_close(&J);
    e2e_session_destroy(&t.alice);
    e2e_session_destroy(&t.bob);
}

/* ---- safety.json ---- */

static void s_safety_case(const uint8_t ika[32], const char *ida, const uint8_t ikb[32],
                          const char *idb)
{
    char num[E2E_SAFETY_TEXT];
    CHECK(e2e_safety_number(num, ika, ida, ikb, idb) == ES_OK);
    json_obj_open(&J, NULL);
    s_hex("ik_a", ika, 32);
    json_str(&J, "id_a", ida);
    s_hex("ik_b", ikb, 32);
    json_str(&J, "id_b", idb);
    json_str(&J, "number", num);
    json_obj_close(&J);
}

static void s_safety(const cast_t *c)
{
    const char *pa = "patient:0123456789abcdef0123456789abcdef", *pb = "rpps:10001234567";
    json_obj_open(&J, NULL);
    json_arr_open(&J, "cases");
    s_safety_case(c->alice.sign_pk, pa, c->bob.sign_pk, pb);
    s_safety_case(c->bob.sign_pk, pb, c->alice.sign_pk, pa);
    s_safety_case(c->alice.sign_pk, pa, c->alice.sign_pk, pb);
    json_arr_close(&J);
    json_obj_close(&J);
}

/* ---- main ---- */

typedef void (*s_writer)(const cast_t *c);

static void s_kdf_writer(const cast_t *c)
{
    (void)c;
    s_kdf();
}

static int s_emit(const char *dir, const char *name, s_writer w, const cast_t *c, int check)
{
    size_t len;
    json_init(&J);
    w(c);
    char *doc = json_take(&J, &len);
    CHECK(doc);
    int rc = vector_file("e2e_vectors_gen", dir, name, doc, len, check);
    CHECK(rc >= 0);
    free(doc);
    return rc;
}

int main(int argc, char **argv)
{
    int check = argc == 3 && strcmp(argv[1], "--check") == 0;
    if (argc != 2 && !check) {
        fprintf(stderr, "usage: e2e_vectors_gen [--check] <dir>\n");
        return 2;
    }
    const char *dir = argv[argc - 1];
    CHECK(sodium_init() >= 0);
    cast_t c;
    s_cast(&c);
    int rc = 0;
    rc |= s_emit(dir, "kdf.json", s_kdf_writer, &c, check);
    rc |= s_emit(dir, "keys.json", s_keys, &c, check);
    rc |= s_emit(dir, "x3dh.json", s_x3dh, &c, check);
    rc |= s_emit(dir, "conversation.json", s_conversation, &c, check);
    rc |= s_emit(dir, "safety.json", s_safety, &c, check);
    sodium_memzero(&c, sizeof c);
    return rc;
}
