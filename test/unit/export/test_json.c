/*
 * test_json.c - export/json.c, the small JSON writer used by the FHIR
 * exports: escaping, nesting, commas, and the sticky error on unbalanced
 * input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "export/json.h"

static void test_json_escape(void **state)
{
    (void)state;
    json_t j;
    json_init(&j);
    json_obj_open(&j, NULL);
    json_str(&j, "a\"b", "q\"\\/\n\t\x01é");
    json_arr_open(&j, "n");
    json_int(&j, NULL, -5);
    json_bool(&j, NULL, 1);
    json_arr_close(&j);
    json_obj_close(&j);
    size_t len = 0;
    char *s = json_take(&j, &len);
    assert_non_null(s);
    assert_string_equal(s, "{\"a\\\"b\":\"q\\\"\\\\/\\n\\t\\u0001é\",\"n\":[-5,true]}");
    assert_int_equal(len, strlen(s));
    free(s);
    /* unbalanced: NULL */
    json_init(&j);
    json_obj_open(&j, NULL);
    assert_null(json_take(&j, &len));
    json_init(&j);
    json_obj_close(&j);
    assert_null(json_take(&j, &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
