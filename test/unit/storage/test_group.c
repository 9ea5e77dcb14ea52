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

/* Refused items that wrote nothing cost no replay; items that wrote then
 * failed are replayed out, and past a few of them the group falls back to a
 * nested transaction per item: the outcome is the same either way. */
static void test_group_replays(void **state)
{
    fx_t *f = *state;
    store_t *s = fx_open(f->path, 0);
    op_t ok1 = {OP_PUT, "t", "k1", 2, "1", 1, ES_OK, 0, 0};
    op_t refused = {OP_DEL, "t", "none", 4, NULL, 0, ES_OK, 0, 0}; /* NOT_FOUND, no write */
    op_t ok2 = {OP_PUT, "u", "k2", 2, "2", 1, ES_OK, 0, 0};
    void *items[3] = {&ok1, &refused, &ok2};
    int res[3] = {1, 1, 1};
    assert_int_equal(store_write_group(s, fx_apply, items, 3, res, NULL), ES_OK);
    assert_int_equal(res[1], ES_NOT_FOUND);
    assert_int_equal(ok1.calls, 1); /* no replay */
    assert_int_equal(ok2.calls, 1);

    /* five items that write then fail, between good ones */
    enum { N = 11 };
    op_t ops[N];
    char keys[N][4];
    void *its[N];
    int rs[N];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "x%02u", (unsigned)i % 100u);
        ops[i] = (op_t){OP_PUT, "t", keys[i], 3, "v", 1, i % 2 ? ES_ABORTED : ES_OK, 0, 0};
        its[i] = &ops[i];
    }
    assert_int_equal(store_write_group(s, fx_apply, its, N, rs, NULL), ES_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(rs[i], i % 2 ? ES_ABORTED : ES_OK);
        assert_true(ops[i].calls >= 1);
    }
    assert_true(ops[0].calls > 1); /* replayed */
    store_close(&s);
    s = fx_open(f->path, 0);
    fx_expect(s, "t", "k1", "1");
    fx_expect(s, "u", "k2", "2");
    for (int i = 0; i < N; i++)
        fx_expect(s, "t", keys[i], i % 2 ? NULL : "v");
    store_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_partial_failure, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_group_replays, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
