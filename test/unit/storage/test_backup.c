/* test_backup.c - storage/backup.c: online backup, on real LMDB files in a mkdtemp folder. */
#include "test/unit/storage/store_fixture.h"

static void test_backup(void **state)
{
    fx_t *f = *state;
    char bk[256], bkkey[300], file[256];
    snprintf(bk, sizeof bk, "%s/backup", f->root);
    snprintf(bkkey, sizeof bkkey, "%s/store.key", bk);
    snprintf(file, sizeof file, "%s/file", f->root);
    store_t *s = fx_open(f->path, 0);
    fx_fill_range(s, 1, 300);
    assert_int_equal(fx_put_str(s, "u", "x", "in u"), ES_OK);
    assert_int_equal(fx_do(s, OP_DEL, "t", "\0\0\0\0\0\0\0\x05", 8, NULL, 0), ES_OK);
    uint8_t h1[STORE_HASH_BYTES], h2[STORE_HASH_BYTES];
    store_keyed_hash(s, "l", "d", 1, h1);

    /* a read txn is open during the backup, and a write lands meanwhile */
    store_txn_t *t = NULL;
    assert_int_equal(store_read_begin(s, &t), ES_OK);
    assert_int_equal(fx_put_str(s, "u", "during", "yes"), ES_OK);
    mode_t old_umask = umask(022); /* a usual umask: the backup must not follow it */
    assert_int_equal(store_backup(s, bk), ES_OK);
    umask(old_umask);
    uint64_t n = 0;
    assert_int_equal(store_count(t, "u", &n), ES_OK);
    assert_int_equal(n, 1); /* the reader still sees its snapshot */
    store_txn_end(&t);

    /* target checks */
    assert_int_equal(store_backup(s, bk), ES_ALREADY_EXISTS);
    int fd = open(file, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(store_backup(s, file), ES_INVALID_ARGUMENT);
    assert_int_equal(fx_put_str(s, "u", "after", "no"), ES_OK);
    store_close(&s);

    /* backup files are the operator's only: 0600 in a 0700 folder */
    struct stat st;
    char bkdata[300];
    snprintf(bkdata, sizeof bkdata, "%s/data.mdb", bk);
    assert_int_equal(stat(bkkey, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(bkdata, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(bk, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    s = fx_open(bk, 0);
    assert_int_equal(store_read_begin(s, &t), ES_OK);
    assert_int_equal(store_count(t, "t", &n), ES_OK);
    assert_int_equal(n, 299);
    store_cursor_t *c = NULL;
    const void *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    assert_int_equal(store_cursor_open(t, "t", NULL, 0, &c), ES_OK);
    uint64_t want = 1;
    while (store_cursor_next(c, &k, &kl, &v, &vl) == ES_OK) {
        if (want == 5)
            want++;
        assert_true(store_be64_get(k) == want);
        assert_int_equal(store_be32_get(v), (uint32_t)want);
        want++;
    }
    assert_true(want == 301);
    store_txn_end(&t);
    fx_expect(s, "u", "x", "in u");
    fx_expect(s, "u", "during", "yes");
    fx_expect(s, "u", "after", NULL);
    store_keyed_hash(s, "l", "d", 1, h2);
    assert_memory_equal(h1, h2, STORE_HASH_BYTES);
    store_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backup, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
