/* Tests of bus/codec.c: the one decode path for untrusted bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "espace/v1/bus.pb-c.h"
#include "bus/codec.h"
#include "espace/v1/common.pb-c.h"
#include "espace/v1/identity.pb-c.h"
#include "proto/status.h"

static void test_round_trip(void **state)
{
    (void)state;
    Espace__V1__Request req = ESPACE__V1__REQUEST__INIT;
    req.id = 42;
    req.method = "Login";
    req.timeout_ms = 1500;
    uint8_t body[3] = {1, 2, 3};
    req.body.data = body;
    req.body.len = sizeof body;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(codec_pack(&req.base, &buf, &len), ES_OK);

    ProtobufCMessage *m = NULL;
    const char *why = "unset";
    assert_int_equal(codec_decode(&espace__v1__request__descriptor, buf, len, 0, &m, &why), ES_OK);
    assert_null(why);
    Espace__V1__Request *r = (Espace__V1__Request *)m;
    assert_int_equal(r->id, 42);
    assert_string_equal(r->method, "Login");
    assert_int_equal(r->timeout_ms, 1500);
    assert_memory_equal(r->body.data, body, sizeof body);
    codec_free(m);
    free(buf);
}

static void test_empty_message(void **state)
{
    (void)state;
    ProtobufCMessage *m = NULL;
    assert_int_equal(codec_decode(&espace__v1__caller__descriptor, NULL, 0, 0, &m, NULL), ES_OK);
    Espace__V1__Caller *c = (Espace__V1__Caller *)m;
    assert_string_equal(c->principal, "");
    codec_free(m);
    codec_free(NULL);
}

static void test_size_cap(void **state)
{
    (void)state;
    uint8_t buf[64] = {0};
    ProtobufCMessage *m = (ProtobufCMessage *)1;
    const char *why = NULL;
    assert_int_equal(codec_decode(&espace__v1__caller__descriptor, buf, sizeof buf, 16, &m, &why),
                     ES_TOO_LARGE);
    assert_null(m);
    assert_string_equal(why, "size");
}

static void test_garbage(void **state)
{
    (void)state;
    /* field 2 (string) claiming 100 bytes with 2 present */
    const uint8_t bad[] = {0x12, 100, 'a', 'b'};
    ProtobufCMessage *m = NULL;
    const char *why = NULL;
    assert_int_equal(codec_decode(&espace__v1__caller__descriptor, bad, sizeof bad, 0, &m, &why),
                     ES_INVALID_ARGUMENT);
    assert_null(m);
    assert_string_equal(why, "protobuf");
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(codec_decode(&espace__v1__request__descriptor, junk, sizeof junk, 0, &m, NULL),
                     ES_INVALID_ARGUMENT);
}

static void s_pack_caller_principal(const char *p, size_t n, uint8_t *out, size_t *len)
{
    /* Caller.principal is field 2, wire type 2 */
    out[0] = 0x12;
    out[1] = (uint8_t)n;
    memcpy(out + 2, p, n);
    *len = n + 2;
}

static void test_utf8_rejected(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t len;
    ProtobufCMessage *m = NULL;
    const char *why = NULL;
    s_pack_caller_principal("ab\xc3", 3, buf, &len); /* truncated sequence */
    assert_int_equal(codec_decode(&espace__v1__caller__descriptor, buf, len, 0, &m, &why),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(why, "principal");
    s_pack_caller_principal("a\0b", 3, buf, &len); /* embedded NUL */
    assert_int_equal(codec_decode(&espace__v1__caller__descriptor, buf, len, 0, &m, &why),
                     ES_INVALID_ARGUMENT);
    s_pack_caller_principal("Zo\xc3\xa9", 4, buf, &len); /* "Zoé" */
    assert_int_equal(codec_decode(&espace__v1__caller__descriptor, buf, len, 0, &m, &why), ES_OK);
    codec_free(m);
}

static void test_utf8_nested_and_repeated(void **state)
{
    (void)state;
    /* a repeated string with one bad entry */
    Espace__V1__SignUpPatientRequest s = ESPACE__V1__SIGN_UP_PATIENT_REQUEST__INIT;
    char *names[2] = {"Jean", "Mar\xff"};
    s.first_names = names;
    s.n_first_names = 2;
    uint8_t *buf;
    size_t len;
    assert_int_equal(codec_pack(&s.base, &buf, &len), ES_OK);
    ProtobufCMessage *m = NULL;
    const char *why = NULL;
    assert_int_equal(
        codec_decode(&espace__v1__sign_up_patient_request__descriptor, buf, len, 0, &m, &why),
        ES_INVALID_ARGUMENT);
    assert_string_equal(why, "first_names");
    free(buf);

    /* a nested message (Reply.status.message) with bad UTF-8 */
    Espace__V1__Status st = ESPACE__V1__STATUS__INIT;
    st.message = "\xed\xa0\x80"; /* surrogate */
    Espace__V1__Reply rep = ESPACE__V1__REPLY__INIT;
    rep.status = &st;
    assert_int_equal(codec_pack(&rep.base, &buf, &len), ES_OK);
    assert_int_equal(codec_decode(&espace__v1__reply__descriptor, buf, len, 0, &m, &why),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(why, "message");
    free(buf);

    /* a oneof string member is checked too */
    Espace__V1__LoginRequest lr = ESPACE__V1__LOGIN_REQUEST__INIT;
    lr.who_case = ESPACE__V1__LOGIN_REQUEST__WHO_RPPS;
    lr.rpps = "\xc0\x80"; /* overlong NUL */
    assert_int_equal(codec_pack(&lr.base, &buf, &len), ES_OK);
    assert_int_equal(codec_decode(&espace__v1__login_request__descriptor, buf, len, 0, &m, &why),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(why, "rpps");
    free(buf);
}

static void test_budget(void **state)
{
    (void)state;
    /* 2000 one-byte-long empty strings in a repeated field: each costs a
     * pointer plus an allocation, far more than 8x the 2 wire bytes. */
    size_t n = 2000;
    uint8_t *buf = malloc(n * 2);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = 0x1a; /* field 3 (first_names), wire type 2 */
        buf[2 * i + 1] = 0;
    }
    ProtobufCMessage *m = NULL;
    const char *why = NULL;
    assert_int_equal(codec_decode(&espace__v1__sign_up_patient_request__descriptor, buf, n * 2, 0,
                                  &m, &why),
                     ES_RESOURCE_EXHAUSTED);
    assert_null(m);
    assert_string_equal(why, "budget");
    free(buf);
}

static void test_utf8_function(void **state)
{
    (void)state;
    assert_true(codec_utf8_valid("", 0));
    assert_true(codec_utf8_valid("abc", 3));
    assert_true(codec_utf8_valid("\xf0\x9f\x98\x80", 4));  /* U+1F600 */
    assert_false(codec_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(codec_utf8_valid("\xe0\x80\x80", 3));     /* overlong */
    assert_false(codec_utf8_valid("\x80", 1));             /* lone continuation */
    assert_false(codec_utf8_valid("a\0", 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_empty_message),
        cmocka_unit_test(test_size_cap),        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_utf8_rejected),   cmocka_unit_test(test_utf8_nested_and_repeated),
        cmocka_unit_test(test_budget),          cmocka_unit_test(test_utf8_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
