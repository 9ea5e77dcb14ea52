/* test_header.c - clients/e2e/header.c: the fixed binary header and
 * e2e_message_info's checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "clients/e2e/e2e_int.h"

static uint8_t s_msg[E2E_MESSAGE_MAX + 1];

static size_t s_make(const e2e_message_info_t *h, size_t plen)
{
    memset(s_msg, 0xee, sizeof s_msg);
    return e2e_header_encode(h, s_msg) + plen + E2E_TAG_BYTES;
}

static void test_layout(void **state)
{
    (void)state;
    e2e_message_info_t h = {.pn = 0x00020304, .n = 0x00050607}, got;
    memset(h.dh, 0xaa, 32);
    size_t len = s_make(&h, 3);
    assert_int_equal(len, E2E_HEADER_BYTES + 3 + E2E_TAG_BYTES);
    static const uint8_t want[10] = {1, 0, 0xaa, 0xaa};
    assert_memory_equal(s_msg, want, 4);
    static const uint8_t counters[8] = {0, 2, 3, 4, 0, 5, 6, 7};
    assert_memory_equal(s_msg + 34, counters, 8);
    assert_int_equal(e2e_message_info(&got, s_msg, len), ES_OK);
    assert_false(got.initial);
    assert_memory_equal(got.dh, h.dh, 32);
    assert_int_equal(got.pn, h.pn);
    assert_int_equal(got.n, h.n);
    assert_int_equal(got.header_len, E2E_HEADER_BYTES);
    assert_int_equal(got.plaintext_len, 3);

    e2e_message_info_t i = {.initial = 1, .n = 2, .spk_id = 0xdeadbeef,
                            .opk_kind = E2E_PREKEY_LAST_RESORT, .opk_id = 9};
    memset(i.dh, 1, 32);
    memset(i.ik, 2, 32);
    memset(i.ek, 3, 32);
    len = s_make(&i, 0);
    assert_int_equal(len, E2E_INITIAL_HEADER_BYTES + E2E_TAG_BYTES);
    assert_int_equal(s_msg[1], 1);
    assert_int_equal(s_msg[42], 2);
    assert_int_equal(s_msg[74], 3);
    assert_int_equal(s_msg[106], 0xde);
    assert_int_equal(s_msg[110], E2E_PREKEY_LAST_RESORT);
    assert_int_equal(s_msg[114], 9);
    assert_int_equal(e2e_message_info(&got, s_msg, len), ES_OK);
    assert_true(got.initial);
    assert_memory_equal(got.ik, i.ik, 32);
    assert_memory_equal(got.ek, i.ek, 32);
    assert_int_equal(got.spk_id, 0xdeadbeef);
    assert_int_equal(got.opk_kind, E2E_PREKEY_LAST_RESORT);
    assert_int_equal(got.opk_id, 9);
    assert_int_equal(got.plaintext_len, 0);
}

static void test_rejects(void **state)
{
    (void)state;
    e2e_message_info_t h = {.n = 1}, got;
    size_t len = s_make(&h, 10);
    assert_int_equal(e2e_message_info(&got, s_msg, E2E_HEADER_BYTES + E2E_TAG_BYTES - 1),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_message_info(&got, NULL, len), ES_INVALID_ARGUMENT);
    assert_int_equal(e2e_message_info(NULL, s_msg, len), ES_INVALID_ARGUMENT);
    s_msg[0] = 2;
    assert_int_equal(e2e_message_info(&got, s_msg, len), ES_INVALID_ARGUMENT);
    s_msg[0] = 1;
    s_msg[1] = 2;
    assert_int_equal(e2e_message_info(&got, s_msg, len), ES_INVALID_ARGUMENT);
    s_msg[1] = 1; /* initial but too short for its header */
    assert_int_equal(e2e_message_info(&got, s_msg, E2E_INITIAL_HEADER_BYTES + 15),
                     ES_INVALID_ARGUMENT);

    h.n = E2E_MAX_CHAIN;
    len = s_make(&h, 0);
    assert_int_equal(e2e_message_info(&got, s_msg, len), ES_INVALID_ARGUMENT);
    h.n = E2E_MAX_CHAIN - 1;
    h.pn = E2E_MAX_CHAIN;
    len = s_make(&h, 0);
    assert_int_equal(e2e_message_info(&got, s_msg, len), ES_OK);
    h.pn = E2E_MAX_CHAIN + 1;
    len = s_make(&h, 0);
    assert_int_equal(e2e_message_info(&got, s_msg, len), ES_INVALID_ARGUMENT);

    e2e_message_info_t i = {.initial = 1, .opk_kind = 4};
    len = s_make(&i, 0);
    assert_int_equal(e2e_message_info(&got, s_msg, len), ES_INVALID_ARGUMENT);
    i.opk_kind = E2E_PREKEY_SIGNED;
    len = s_make(&i, 0);
    assert_int_equal(e2e_message_info(&got, s_msg, len), ES_INVALID_ARGUMENT);
    i.opk_kind = E2E_PREKEY_NONE;
    i.opk_id = 1;
    len = s_make(&i, 0);
    assert_int_equal(e2e_message_info(&got, s_msg, len), ES_INVALID_ARGUMENT);

    /* sizes: the largest plaintext passes, one more byte is too large */
    e2e_message_info_t r = {0};
    len = s_make(&r, E2E_MAX_PLAINTEXT);
    assert_int_equal(e2e_message_info(&got, s_msg, len), ES_OK);
    assert_int_equal(e2e_message_info(&got, s_msg, len + 1), ES_TOO_LARGE);
    assert_int_equal(e2e_message_info(&got, s_msg, E2E_MESSAGE_MAX + 1), ES_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
