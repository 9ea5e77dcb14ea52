/*
 * test_validate.c - the pure checks of the messaging service
 * (services/messaging/validate.c): stable ids, prekey shapes, a Send's
 * copies, the care team, and the comparison of copies with the current
 * devices. Every refusal with its status and field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "proto/status.h"
#include "services/messaging/messaging_int.h"

#define K_PATIENT ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT
#define K_PRO ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL

static void test_stable_id(void **state)
{
    (void)state;
    char b[MSG_STABLE_ID_MAX];
    assert_int_equal(msg_stable_id(K_PATIENT, "0123456789abcdef0123456789abcdef", b, sizeof b), 0);
    assert_string_equal(b, "patient:0123456789abcdef0123456789abcdef");
    assert_int_equal(msg_stable_id(K_PRO, "81000000001", b, sizeof b), 0);
    assert_string_equal(b, "rpps:81000000001");
    assert_int_equal(msg_stable_id(K_PRO, "8100000000", b, sizeof b), ES_INVALID_ARGUMENT);
    assert_int_equal(msg_stable_id(K_PATIENT, "0123", b, sizeof b), ES_INVALID_ARGUMENT);
    assert_int_equal(msg_stable_id(K_PATIENT, NULL, b, sizeof b), ES_INVALID_ARGUMENT);
    assert_int_equal(msg_stable_id(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_APP, "x", b, sizeof b),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(msg_stable_id(K_PRO, "81000000001", b, 8), ES_INVALID_ARGUMENT);
}

static void test_prekey_shape(void **state)
{
    (void)state;
    msg_err_t e;
    uint8_t k[64] = {0};
    Espace__V1__SignedPrekey p = ESPACE__V1__SIGNED_PREKEY__INIT;
    assert_int_equal(msg_prekey_check(NULL, "signed_prekey", &e), ES_INVALID_ARGUMENT);
    assert_string_equal(e.field, "signed_prekey");
    p.key = (ProtobufCBinaryData){31, k};
    p.sig = (ProtobufCBinaryData){64, k};
    assert_int_equal(msg_prekey_check(&p, "last_resort", &e), ES_INVALID_ARGUMENT);
    assert_string_equal(e.field, "last_resort.key");
    p.key.len = 32;
    p.sig.len = 63;
    assert_int_equal(msg_prekey_check(&p, "last_resort", &e), ES_INVALID_ARGUMENT);
    assert_string_equal(e.field, "last_resort.sig");
    p.sig.len = 64;
    assert_int_equal(msg_prekey_check(&p, "last_resort", &e), 0);
    ProtobufCBinaryData id = {15, k};
    assert_int_equal(msg_id_check(&id, "message_id", &e), ES_INVALID_ARGUMENT);
    assert_string_equal(e.field, "message_id");
    id.len = 16;
    assert_int_equal(msg_id_check(&id, "message_id", &e), 0);
}

/* n copies for devices d[i] (first byte i + 1), 1-byte ciphertexts. */
typedef struct copies {
    Espace__V1__Copy c[MSG_MAX_COPIES + 1];
    Espace__V1__Copy *p[MSG_MAX_COPIES + 1];
    uint8_t d[MSG_MAX_COPIES + 1][ID_BYTES];
} copies_t;

static void s_copies(copies_t *cs, size_t n)
{
    static uint8_t ct[1] = {42};
    memset(cs, 0, sizeof *cs);
    for (size_t i = 0; i < n; i++) {
        espace__v1__copy__init(&cs->c[i]);
        cs->d[i][0] = (uint8_t)(i + 1);
        cs->c[i].device_id = (ProtobufCBinaryData){ID_BYTES, cs->d[i]};
        cs->c[i].ciphertext = (ProtobufCBinaryData){1, ct};
        cs->p[i] = &cs->c[i];
    }
}

static void test_copies(void **state)
{
    (void)state;
    msg_err_t e;
    copies_t cs;
    s_copies(&cs, 3);
    assert_int_equal(msg_copies_check(cs.p, 3, &e), 0);
    assert_int_equal(msg_copies_check(cs.p, 0, &e), ES_INVALID_ARGUMENT);
    assert_string_equal(e.field, "copies");
    s_copies(&cs, MSG_MAX_COPIES + 1);
    assert_int_equal(msg_copies_check(cs.p, MSG_MAX_COPIES + 1, &e), ES_TOO_LARGE);
    assert_string_equal(e.field, "copies");
    s_copies(&cs, 3);
    cs.c[1].device_id.len = 3;
    assert_int_equal(msg_copies_check(cs.p, 3, &e), ES_INVALID_ARGUMENT);
    assert_string_equal(e.field, "copies[1].device_id");
    s_copies(&cs, 3);
    cs.c[2].ciphertext.len = 0;
    assert_int_equal(msg_copies_check(cs.p, 3, &e), ES_INVALID_ARGUMENT);
    assert_string_equal(e.field, "copies[2].ciphertext");
    cs.c[2].ciphertext.len = MSG_MAX_CIPHERTEXT + 1;
    assert_int_equal(msg_copies_check(cs.p, 3, &e), ES_TOO_LARGE);
    assert_string_equal(e.field, "copies[2].ciphertext");
    s_copies(&cs, 3);
    cs.d[2][0] = cs.d[0][0];
    assert_int_equal(msg_copies_check(cs.p, 3, &e), ES_INVALID_ARGUMENT);
    assert_string_equal(e.field, "copies[2].device_id");
}

static void test_pros(void **state)
{
    (void)state;
    msg_err_t e;
    char *ok[] = {"81000000002", "81000000003"};
    assert_int_equal(msg_pros_check(ok, 2, "81000000001", &e), 0);
    char *bad[] = {"81000000002", "8100000000x"};
    assert_int_equal(msg_pros_check(bad, 2, "81000000001", &e), ES_INVALID_ARGUMENT);
    assert_string_equal(e.field, "professionals[1]");
    char *self[] = {"81000000001"};
    assert_int_equal(msg_pros_check(self, 1, "81000000001", &e), ES_INVALID_ARGUMENT);
    assert_string_equal(e.field, "professionals[0]");
    char *dup[] = {"81000000002", "81000000002"};
    assert_int_equal(msg_pros_check(dup, 2, "81000000001", &e), ES_INVALID_ARGUMENT);
    assert_string_equal(e.field, "professionals[1]");
    char *many[MSG_MAX_PROS];
    for (size_t i = 0; i < MSG_MAX_PROS; i++)
        many[i] = "81000000002";
    assert_int_equal(msg_pros_check(many, MSG_MAX_PROS, "81000000001", &e), ES_TOO_LARGE);
    assert_string_equal(e.field, "professionals");
}

static void test_devset_diff(void **state)
{
    (void)state;
    msg_devset_t set;
    memset(&set, 0, sizeof set);
    /* current: devices 1, 2, 3 (3 is the sender) */
    for (int i = 0; i < 3; i++)
        set.id[i][0] = (uint8_t)(i + 1);
    set.n = 3;
    uint8_t self[ID_BYTES] = {3};
    copies_t cs;
    size_t miss[8], stale[8], nm = 9, ns = 9;
    s_copies(&cs, 2); /* devices 1, 2: exact */
    assert_int_equal(msg_devset_diff(&set, self, cs.p, 2, miss, &nm, stale, &ns), 0);
    assert_int_equal(nm, 0);
    assert_int_equal(ns, 0);
    /* device 2 omitted */
    assert_int_equal(msg_devset_diff(&set, self, cs.p, 1, miss, &nm, stale, &ns), 1);
    assert_int_equal(nm, 1);
    assert_int_equal(miss[0], 1);
    assert_int_equal(ns, 0);
    /* devices 1, 2, 3 (the sender's own) and 4 (unknown) */
    s_copies(&cs, 4);
    assert_int_equal(msg_devset_diff(&set, self, cs.p, 4, miss, &nm, stale, &ns), 1);
    assert_int_equal(nm, 0);
    assert_int_equal(ns, 2);
    assert_int_equal(stale[0], 2);
    assert_int_equal(stale[1], 3);
    assert_int_equal(msg_devset_find(&set, cs.d[3]), -1);
    assert_int_equal(msg_devset_find(&set, cs.d[1]), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stable_id), cmocka_unit_test(test_prekey_shape),
        cmocka_unit_test(test_copies),    cmocka_unit_test(test_pros),
        cmocka_unit_test(test_devset_diff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
