/* test_group.c - storage/group.c: group commit, on real LMDB files in a mkdtemp folder. */
#include "test/unit/storage/store_fixture.h"

static void test_group_partial_failure(void **state)
{
    fx_t *f = *state;
    store_t *s = fx_open(f->path, 0);
    op_t a = {OP_PUT, "t", "a", 1, "A", 1, ES_OK, 0, 0};
    op_t b = {OP_PUT, "t", "b", 1, "B", 1, ES_ABORTED, 0, 0}; /* writes, then fails */
    op_t c = {OP_PUT, "u", "c", 1, "C", 1, ES_OK, 0, 0};
    void *items[3] = {&a, &b, &c};
    int res[3] = {1, 1, 1};
    assert_int_equal(store_write_group(s, fx_apply, items, 3, res, NULL), ES_OK);
    assert_int_equal(res[0], ES_OK);
    assert_int_equal(res[1], ES_ABORTED);
    assert_int_equal(res[2], ES_OK);
    store_close(&s);
    s = fx_open(f->path, 0);
    fx_expect(s, "t", "a", "A");
    fx_expect(s, "t", "b", NULL);
    fx_expect(s, "u", "c", "C");

    /* an item failing on its own op, and one ending its own txn */
    op_t d = {OP_DEL, "t", "missing", 7, NULL, 0, ES_OK, 0, 0};
    op_t e = {OP_END_SELF, "t", "e", 1, "E", 1, ES_OK, 0, 0};
    op_t g = {OP_PUT, "t", "g", 1, "G", 1, ES_OK, 0, 0};
    void *items2[3] = {&d, &e, &g};
    assert_int_equal(store_write_group(s, fx_apply, items2, 3, res, NULL), ES_OK);
    assert_int_equal(res[0], ES_NOT_FOUND);
    assert_int_equal(res[1], ES_ABORTED);
    assert_int_equal(res[2], ES_OK);
    fx_expect(s, "t", "e", NULL);
    fx_expect(s, "t", "g", "G");

    /* argument checks */
    assert_int_equal(store_write_group(s, fx_apply, items2, 0, res, NULL), ES_OK);
    assert_int_equal(store_write_group(s, fx_apply, items2, STORE_GROUP_MAX + 1, res, NULL),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(store_write_group(s, NULL, items2, 1, res, NULL), ES_INVALID_ARGUMENT);
    store_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_partial_failure, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
