/* test_txn.c - storage/txn.c: sealed values, reads, writes, cursors, limits, on real LMDB files in a mkdtemp folder. */
#include "test/unit/storage/store_fixture.h"

static void test_put_get_del(void **state)
{
    fx_t *f = *state;
    store_t *s = fx_open(f->path, 0);
    assert_int_equal(fx_put_str(s, "t", "k1", "hello"), ES_OK);
    fx_expect(s, "t", "k1", "hello");
    fx_expect(s, "u", "k1", NULL); /* tables are separate */
    assert_int_equal(fx_put_str(s, "t", "k1", "replaced"), ES_OK);
    fx_expect(s, "t", "k1", "replaced");
    /* empty value */
    assert_int_equal(fx_do(s, OP_PUT, "t", "e", 1, NULL, 0), ES_OK);
    fx_expect(s, "t", "e", "");
    assert_int_equal(fx_do(s, OP_DEL, "t", "k1", 2, NULL, 0), ES_OK);
    fx_expect(s, "t", "k1", NULL);
    assert_int_equal(fx_do(s, OP_DEL, "t", "k1", 2, NULL, 0), ES_NOT_FOUND);

    /* get on a missing key, and two gets in one txn both stay valid */
    assert_int_equal(fx_put_str(s, "t", "a", "AAA"), ES_OK);
    assert_int_equal(fx_put_str(s, "t", "b", "BBBB"), ES_OK);
    store_txn_t *t = NULL;
    const void *va = NULL, *vb = NULL;
    size_t la = 0, lb = 0;
    assert_int_equal(store_read_begin(s, &t), ES_OK);
    assert_int_equal(store_get(t, "t", "zz", 2, &va, &la), ES_NOT_FOUND);
    assert_int_equal(store_get(t, "t", "a", 1, &va, &la), ES_OK);
    assert_int_equal(store_get(t, "t", "b", 1, &vb, &lb), ES_OK);
    assert_int_equal(la, 3);
    assert_int_equal(lb, 4);
    assert_memory_equal(va, "AAA", 3);
    assert_memory_equal(vb, "BBBB", 4);
    /* writes refused in a read transaction */
    assert_int_equal(store_put(t, "t", "a", 1, "x", 1), ES_INVALID_ARGUMENT);
    assert_int_equal(store_del(t, "t", "a", 1), ES_INVALID_ARGUMENT);
    uint64_t n = 0;
    assert_int_equal(store_count(t, "t", &n), ES_OK);
    assert_int_equal(n, 3);
    assert_int_equal(store_count(t, "u", &n), ES_OK);
    assert_int_equal(n, 0);
    store_txn_end(&t);
    store_txn_end(&t); /* idempotent */
    store_close(&s);
}

static void test_tampered_value_fails(void **state)
{
    fx_t *f = *state;
    store_t *s = fx_open(f->path, 0);
    const char *secret = "patient data 1234567890";
    assert_int_equal(fx_put_str(s, "t", "k", secret), ES_OK);
    assert_int_equal(fx_put_str(s, "t", "k2", secret), ES_OK);
    store_close(&s);

    /* the raw value is sealed: longer by the overhead, no clear text */
    size_t len = 0;
    uint8_t *raw = NULL;
    fx_raw_rewrite(f->path, "t", "k", "t", "k", NULL, &len, &raw);
    assert_int_equal(len, strlen(secret) + STORE_SEAL_OVERHEAD);
    for (size_t i = 0; i + 7 <= len; i++)
        assert_false(memcmp(raw + i, "patient", 7) == 0);
    free(raw);

    fx_raw_rewrite(f->path, "t", "k", "t", "k", fx_flip_last, NULL, NULL);
    fx_raw_rewrite(f->path, "t", "k2", "t", "k2", fx_flip_cipher, NULL, NULL);
    s = fx_open(f->path, 0);
    store_txn_t *t = NULL;
    const void *v = NULL;
    size_t vl = 0;
    assert_int_equal(store_read_begin(s, &t), ES_OK);
    assert_int_equal(store_get(t, "t", "k", 1, &v, &vl), ES_INTERNAL);
    assert_int_equal(store_get(t, "t", "k2", 2, &v, &vl), ES_INTERNAL);
    /* a cursor reports the same */
    store_cursor_t *c = NULL;
    assert_int_equal(store_cursor_open(t, "t", NULL, 0, &c), ES_OK);
    assert_int_equal(store_cursor_next(c, NULL, NULL, &v, &vl), ES_INTERNAL);
    store_cursor_close(&c);
    assert_null(c);
    store_txn_end(&t);
    store_close(&s);
}

static void test_moved_value_fails(void **state)
{
    fx_t *f = *state;
    store_t *s = fx_open(f->path, 0);
    assert_int_equal(fx_put_str(s, "t", "a", "value of a"), ES_OK);
    store_close(&s);
    fx_raw_rewrite(f->path, "t", "a", "t", "b", NULL, NULL, NULL);             /* other key */
    fx_raw_rewrite(f->path, "t", "a", "u", "a", NULL, NULL, NULL);             /* other table */
    s = fx_open(f->path, 0);
    fx_expect(s, "t", "a", "value of a"); /* the original still opens */
    store_txn_t *t = NULL;
    const void *v = NULL;
    size_t vl = 0;
    assert_int_equal(store_read_begin(s, &t), ES_OK);
    assert_int_equal(store_get(t, "t", "b", 1, &v, &vl), ES_INTERNAL);
    assert_int_equal(store_get(t, "u", "a", 1, &v, &vl), ES_INTERNAL);
    store_txn_end(&t);
    store_close(&s);

    /* a raw value shorter than the seal overhead */
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, STORE_MAX_TABLES), 0);
    assert_int_equal(mdb_env_open(env, f->path, MDB_NOTLS, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "t", 0, &dbi), 0);
    MDB_val k = {1, "c"}, d = {5, "short"};
    assert_int_equal(mdb_put(txn, dbi, &k, &d, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    s = fx_open(f->path, 0);
    assert_int_equal(store_read_begin(s, &t), ES_OK);
    assert_int_equal(store_get(t, "t", "c", 1, &v, &vl), ES_INTERNAL);
    store_txn_end(&t);
    store_close(&s);
}

static void test_range_scan(void **state)
{
    fx_t *f = *state;
    store_t *s = fx_open(f->path, 0);
    fx_fill_range(s, 1, 300);
    store_txn_t *t = NULL;
    store_cursor_t *c = NULL;
    const void *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    uint8_t from[8];
    assert_int_equal(store_read_begin(s, &t), ES_OK);

    /* from = 100: 100, 101, ..., 300 */
    store_be64_put(from, 100);
    assert_int_equal(store_cursor_open(t, "t", from, sizeof from, &c), ES_OK);
    uint64_t want = 100;
    while (store_cursor_next(c, &k, &kl, &v, &vl) == ES_OK) {
        assert_int_equal(kl, 8);
        assert_int_equal(vl, 4);
        assert_true(store_be64_get(k) == want);
        assert_int_equal(store_be32_get(v), (uint32_t)want);
        want++;
    }
    assert_true(want == 301);
    assert_int_equal(store_cursor_next(c, &k, &kl, &v, &vl), ES_NOT_FOUND); /* stays at end */
    store_cursor_close(&c);

    /* bounded scan [10, 20) with keys only, and no bound */
    store_be64_put(from, 10);
    assert_int_equal(store_cursor_open(t, "t", from, sizeof from, &c), ES_OK);
    int n = 0;
    while (store_cursor_next(c, &k, &kl, NULL, NULL) == ES_OK && store_be64_get(k) < 20)
        n++;
    assert_int_equal(n, 10);
    store_cursor_close(&c);
    assert_int_equal(store_cursor_open(t, "t", NULL, 0, &c), ES_OK);
    want = 1;
    while (store_cursor_next(c, &k, &kl, &v, &vl) == ES_OK)
        assert_true(store_be64_get(k) == want++);
    assert_true(want == 301);
    /* left open on purpose: freed by store_txn_end (ASan checks) */

    /* empty table */
    store_cursor_t *e = NULL;
    assert_int_equal(store_cursor_open(t, "u", NULL, 0, &e), ES_OK);
    assert_int_equal(store_cursor_next(e, &k, &kl, &v, &vl), ES_NOT_FOUND);
    uint8_t big[STORE_MAX_KEY + 1] = {0};
    assert_int_equal(store_cursor_open(t, "t", big, sizeof big, &e), ES_TOO_LARGE);
    assert_int_equal(store_cursor_open(t, "nope", NULL, 0, &e), ES_INVALID_ARGUMENT);
    store_txn_end(&t);
    store_close(&s);
}

static void s_reverse_expect(store_txn_t *t, const uint8_t *from, size_t flen, uint64_t first,
                             uint64_t count)
{
    store_cursor_t *c = NULL;
    const void *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    assert_int_equal(store_cursor_open_reverse(t, "t", from, flen, &c), ES_OK);
    uint64_t got = 0, want = first;
    while (store_cursor_next(c, &k, &kl, &v, &vl) == ES_OK) {
        assert_true(store_be64_get(k) == want);
        assert_int_equal(store_be32_get(v), (uint32_t)want);
        want--;
        got++;
    }
    assert_true(got == count);
    store_cursor_close(&c);
}

static void test_reverse_cursor(void **state)
{
    fx_t *f = *state;
    store_t *s = fx_open(f->path, 0);
    fx_fill_range(s, 1, 300);
    store_txn_t *t = NULL;
    uint8_t from[8];
    assert_int_equal(store_read_begin(s, &t), ES_OK);
    s_reverse_expect(t, NULL, 0, 300, 300); /* whole table, backwards */
    store_be64_put(from, 100);
    s_reverse_expect(t, from, 8, 99, 99); /* strictly below from */
    store_be64_put(from, 1000);
    s_reverse_expect(t, from, 8, 300, 300); /* from past the end */
    store_be64_put(from, 1);
    s_reverse_expect(t, from, 8, 0, 0); /* nothing below the first key */
    uint8_t shortfrom[1] = {0};
    s_reverse_expect(t, shortfrom, 1, 0, 0);
    store_txn_end(&t);
    store_close(&s);
}

static void test_put_new_duplicate(void **state)
{
    fx_t *f = *state;
    store_t *s = fx_open(f->path, 0);
    assert_int_equal(fx_do(s, OP_PUT_NEW, "t", "k", 1, "first", 5), ES_OK);
    assert_int_equal(fx_do(s, OP_PUT_NEW, "t", "k", 1, "second", 6), ES_ALREADY_EXISTS);
    fx_expect(s, "t", "k", "first");
    /* the same key in another table is a different key */
    assert_int_equal(fx_do(s, OP_PUT_NEW, "u", "k", 1, "other", 5), ES_OK);
    store_close(&s);
}

static void test_limits_and_unknown_table(void **state)
{
    fx_t *f = *state;
    store_t *s = fx_open(f->path, 0);
    uint8_t key[STORE_MAX_KEY + 1];
    memset(key, 'k', sizeof key);
    assert_int_equal(fx_do(s, OP_PUT, "t", key, STORE_MAX_KEY + 1, "v", 1), ES_TOO_LARGE);
    assert_int_equal(fx_do(s, OP_PUT, "t", key, 0, "v", 1), ES_INVALID_ARGUMENT);
    assert_int_equal(fx_do(s, OP_PUT, "t", key, STORE_MAX_KEY, "v", 1), ES_OK);
    assert_int_equal(fx_do(s, OP_PUT, "nope", "k", 1, "v", 1), ES_INVALID_ARGUMENT);
    assert_int_equal(fx_do(s, OP_PUT_NEW, "nope", "k", 1, "v", 1), ES_INVALID_ARGUMENT);
    assert_int_equal(fx_do(s, OP_DEL, "nope", "k", 1, NULL, 0), ES_INVALID_ARGUMENT);
    assert_int_equal(fx_do(s, OP_DEL, "t", key, STORE_MAX_KEY + 1, NULL, 0), ES_TOO_LARGE);

    /* values: exactly the limit round-trips, one byte more is refused */
    uint8_t *v = malloc((size_t)STORE_MAX_VALUE + 1);
    assert_non_null(v);
    for (size_t i = 0; i <= STORE_MAX_VALUE; i += 4096)
        v[i] = (uint8_t)(i >> 12);
    v[STORE_MAX_VALUE - 1] = 0x5a;
    assert_int_equal(fx_do(s, OP_PUT, "t", "max", 3, v, (size_t)STORE_MAX_VALUE + 1),
                     ES_TOO_LARGE);
    assert_int_equal(fx_do(s, OP_PUT, "t", "max", 3, v, STORE_MAX_VALUE), ES_OK);

    store_txn_t *t = NULL;
    const void *got = NULL;
    size_t gl = 0;
    uint64_t n = 0;
    assert_int_equal(store_read_begin(s, &t), ES_OK);
    assert_int_equal(store_get(t, "t", "max", 3, &got, &gl), ES_OK);
    assert_int_equal(gl, STORE_MAX_VALUE);
    assert_memory_equal(got, v, STORE_MAX_VALUE);
    assert_int_equal(store_get(t, "t", key, STORE_MAX_KEY, &got, &gl), ES_OK);
    assert_int_equal(store_get(t, "t", key, STORE_MAX_KEY + 1, &got, &gl), ES_TOO_LARGE);
    assert_int_equal(store_get(t, "t", key, 0, &got, &gl), ES_INVALID_ARGUMENT);
    assert_int_equal(store_get(t, "nope", "k", 1, &got, &gl), ES_INVALID_ARGUMENT);
    assert_int_equal(store_get(t, NULL, "k", 1, &got, &gl), ES_INVALID_ARGUMENT);
    assert_int_equal(store_count(t, "nope", &n), ES_INVALID_ARGUMENT);
    store_txn_end(&t);
    free(v);
    store_close(&s);
}

/* Item that writes then reads back in its own txn, and scans. */
static int s_apply_read_own(store_txn_t *t, void *item, void *ctx)
{
    (void)item;
    (void)ctx;
    const void *v = NULL;
    size_t vl = 0;
    int rc = store_put(t, "t", "own", 3, "mine", 4);
    if (rc != ES_OK)
        return rc;
    rc = store_get(t, "t", "own", 3, &v, &vl);
    if (rc != ES_OK || vl != 4 || memcmp(v, "mine", 4) != 0)
        return ES_INTERNAL;
    store_cursor_t *c = NULL;
    rc = store_cursor_open(t, "t", NULL, 0, &c);
    if (rc != ES_OK)
        return rc;
    const void *k = NULL;
    size_t kl = 0;
    rc = store_cursor_next(c, &k, &kl, &v, &vl);
    /* cursor left open: the group frees it */
    if (rc != ES_OK || kl != 3 || memcmp(k, "own", 3) != 0)
        return ES_INTERNAL;
    return ES_OK;
}

static void test_read_own_writes(void **state)
{
    fx_t *f = *state;
    store_t *s = fx_open(f->path, 0);
    int res[1] = {1};
    void *items[1] = {NULL};
    assert_int_equal(store_write_group(s, s_apply_read_own, items, 1, res, NULL), ES_OK);
    assert_int_equal(res[0], ES_OK);
    fx_expect(s, "t", "own", "mine");
    store_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_del, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_tampered_value_fails, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_moved_value_fails, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_range_scan, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reverse_cursor, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_put_new_duplicate, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_limits_and_unknown_table, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_read_own_writes, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
