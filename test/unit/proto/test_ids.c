/* test_ids.c - proto/ids.c: ids and their hex text form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/ids.h"
#include "proto/status.h"

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t id[ID_BYTES], back[ID_BYTES];
    for (size_t i = 0; i < ID_BYTES; i++)
        id[i] = (uint8_t)(i * 17 + 3);
    char hex[ID_HEX];
    assert_string_equal(id_hex(id, hex), "031425364758697a8b9cadbecfe0f102");
    assert_true(id_hex_valid(hex));
    assert_int_equal(id_parse(hex, back), ES_OK);
    assert_memory_equal(id, back, ID_BYTES);
    assert_string_equal(id_hex_bytes(id, ID_BYTES, hex), "031425364758697a8b9cadbecfe0f102");
    assert_string_equal(id_hex_bytes(id, 15, hex), "");
    assert_string_equal(id_hex_bytes(NULL, 16, hex), "");
}

static void test_rejects(void **state)
{
    (void)state;
    uint8_t out[ID_BYTES];
    memset(out, 0xaa, sizeof out);
    const char *bad[] = {NULL,
                         "",
                         "031425364758697a8b9cadbecfe0f10",   /* 31 */
                         "031425364758697a8b9cadbecfe0f1022", /* 33 */
                         "031425364758697A8B9CADBECFE0F102",  /* upper case */
                         "0314253647586 7a8b9cadbecfe0f102",
                         "g31425364758697a8b9cadbecfe0f102"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(id_hex_valid(bad[i]));
        assert_int_equal(id_parse(bad[i], out), ES_INVALID_ARGUMENT);
    }
    for (size_t i = 0; i < ID_BYTES; i++)
        assert_int_equal(out[i], 0xaa); /* untouched */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
