/* test_store.c - storage/store.c: opening, key files, map growth, keyed hashes, key helpers, on real LMDB files in a mkdtemp folder. */
#include "test/unit/storage/store_fixture.h"

static void test_open_creates_key_and_reopen(void **state)
{
    fx_t *f = *state;
    store_t *s = fx_open(f->path, 0);
    char kpath[256];
    struct stat st;
    snprintf(kpath, sizeof kpath, "%s/store.key", f->path);
    assert_int_equal(stat(kpath, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, STORE_KEY_BYTES);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(fx_put_str(s, "t", "alpha", "one"), ES_OK);
    assert_int_equal(fx_put_str(s, "u", "alpha", "two"), ES_OK);
    store_close(&s);
    assert_null(s);
    store_close(&s); /* idempotent */
    store_close(NULL);

    s = fx_open(f->path, 0);
    fx_expect(s, "t", "alpha", "one");
    fx_expect(s, "u", "alpha", "two");
    store_close(&s);
}

static void test_open_refuses_bad_key_file(void **state)
{
    fx_t *f = *state;
    store_t *s = fx_open(f->path, 0);
    assert_int_equal(fx_put_str(s, "t", "k", "v"), ES_OK);
    store_close(&s);
    char kpath[256];
    snprintf(kpath, sizeof kpath, "%s/store.key", f->path);
    store_opts_t o = {0};
    o.tables = fx_tables;
    o.no_sync = 1;

    /* group/other readable */
    assert_int_equal(chmod(kpath, 0644), 0);
    assert_int_equal(store_open(f->path, &o, &s), ES_INTERNAL);
    assert_null(s);
    assert_int_equal(chmod(kpath, 0640), 0);
    assert_int_equal(store_open(f->path, &o, &s), ES_INTERNAL);
    assert_int_equal(chmod(kpath, 0600), 0);

    /* wrong size */
    int fd = open(kpath, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
    assert_int_equal(store_open(f->path, &o, &s), ES_INTERNAL);
    assert_int_equal(truncate(kpath, STORE_KEY_BYTES), 0);
    s = fx_open(f->path, 0); /* same bytes again: data readable */
    fx_expect(s, "t", "k", "v");
    store_close(&s);

    /* key file gone while data.mdb exists: no fresh key */
    assert_int_equal(unlink(kpath), 0);
    assert_int_equal(store_open(f->path, &o, &s), ES_INTERNAL);
    assert_null(s);
}

static void test_open_bad_arguments(void **state)
{
    fx_t *f = *state;
    store_t *s = NULL;
    store_opts_t o = {0};
    const char *dup[] = {"a", "a", NULL};
    const char *empty[] = {"", NULL};
    const char *many[STORE_MAX_TABLES + 2];
    char names[STORE_MAX_TABLES + 1][16];
    for (int i = 0; i <= STORE_MAX_TABLES; i++) {
        snprintf(names[i], sizeof names[i], "t%d", i);
        many[i] = names[i];
    }
    many[STORE_MAX_TABLES + 1] = NULL;
    assert_int_equal(store_open(NULL, &o, &s), ES_INVALID_ARGUMENT);
    assert_int_equal(store_open(f->path, &o, NULL), ES_INVALID_ARGUMENT);
    o.tables = dup;
    assert_int_equal(store_open(f->path, &o, &s), ES_INVALID_ARGUMENT);
    o.tables = empty;
    assert_int_equal(store_open(f->path, &o, &s), ES_INVALID_ARGUMENT);
    o.tables = many;
    assert_int_equal(store_open(f->path, &o, &s), ES_INVALID_ARGUMENT);
    many[STORE_MAX_TABLES] = NULL; /* exactly the limit is fine */
    o.no_sync = 1;
    assert_int_equal(store_open(f->path, &o, &s), ES_OK);
    store_close(&s);
    /* a file where the folder should be */
    char file[256];
    snprintf(file, sizeof file, "%s/file", f->root);
    int fd = open(file, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_not_equal(store_open(file, &o, &s), ES_OK);
    assert_null(s);
}

static void test_be_helpers(void **state)
{
    (void)state;
    uint8_t b8[8], c8[8], b4[4];
    store_be64_put(b8, 0x0102030405060708ull);
    const uint8_t want8[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_memory_equal(b8, want8, 8);
    assert_true(store_be64_get(b8) == 0x0102030405060708ull);
    store_be32_put(b4, 0xA1B2C3D4u);
    const uint8_t want4[4] = {0xA1, 0xB2, 0xC3, 0xD4};
    assert_memory_equal(b4, want4, 4);
    assert_int_equal(store_be32_get(b4), 0xA1B2C3D4u);
    store_be64_put(b8, UINT64_MAX);
    assert_true(store_be64_get(b8) == UINT64_MAX);
    /* memcmp order is numeric order */
    store_be64_put(b8, 255);
    store_be64_put(c8, 256);
    assert_true(memcmp(b8, c8, 8) < 0);
}

#define GROW_GROUPS 8
#define GROW_ITEMS 8
#define GROW_VALUE (64u << 10)

static void s_grow_value(uint8_t *v, size_t g, size_t i)
{
    for (size_t j = 0; j < GROW_VALUE; j++)
        v[j] = (uint8_t)(g * 131 + i * 31 + j);
}

static void test_map_growth(void **state)
{
    fx_t *f = *state;
    store_t *s = fx_open(f->path, 256u << 10);
    uint8_t *vals = malloc((size_t)GROW_ITEMS * GROW_VALUE);
    assert_non_null(vals);
    uint8_t keys[GROW_GROUPS][GROW_ITEMS][8];
    int calls = 0;
    for (size_t g = 0; g < GROW_GROUPS; g++) {
        op_t ops[GROW_ITEMS];
        void *items[GROW_ITEMS];
        int res[GROW_ITEMS];
        for (size_t i = 0; i < GROW_ITEMS; i++) {
            store_be64_put(keys[g][i], g * GROW_ITEMS + i);
            s_grow_value(vals + i * GROW_VALUE, g, i);
            ops[i] = (op_t){OP_PUT, "t", keys[g][i], 8, vals + i * GROW_VALUE, GROW_VALUE,
                            ES_OK, 0, 0};
            items[i] = &ops[i];
        }
        assert_int_equal(store_write_group(s, fx_apply, items, GROW_ITEMS, res, NULL), ES_OK);
        for (size_t i = 0; i < GROW_ITEMS; i++) {
            assert_int_equal(res[i], ES_OK);
            calls += ops[i].calls;
        }
    }
    /* the map started at 256 KiB for 4 MiB of values: replays happened */
    assert_true(calls > GROW_GROUPS * GROW_ITEMS);
    store_close(&s);

    /* reopen with the same tiny mapsize: everything readable, writes grow again */
    s = fx_open(f->path, 256u << 10);
    uint8_t *want = malloc(GROW_VALUE);
    assert_non_null(want);
    store_txn_t *t = NULL;
    assert_int_equal(store_read_begin(s, &t), ES_OK);
    uint64_t n = 0;
    assert_int_equal(store_count(t, "t", &n), ES_OK);
    assert_true(n == GROW_GROUPS * GROW_ITEMS);
    for (size_t g = 0; g < GROW_GROUPS; g++) {
        for (size_t i = 0; i < GROW_ITEMS; i++) {
            const void *v = NULL;
            size_t vl = 0;
            assert_int_equal(store_get(t, "t", keys[g][i], 8, &v, &vl), ES_OK);
            assert_int_equal(vl, GROW_VALUE);
            s_grow_value(want, g, i);
            assert_memory_equal(v, want, GROW_VALUE);
        }
    }
    store_txn_end(&t);
    assert_int_equal(fx_do(s, OP_PUT, "u", "more", 4, vals, GROW_VALUE * 4), ES_OK);
    store_close(&s);
    free(want);
    free(vals);
}

static void test_growth_refused_with_reader(void **state)
{
    fx_t *f = *state;
    store_t *s = fx_open(f->path, 256u << 10);
    size_t big = 1u << 20;
    uint8_t *v = calloc(1, big);
    assert_non_null(v);
    store_txn_t *t = NULL;
    assert_int_equal(store_read_begin(s, &t), ES_OK);
    op_t o = {OP_PUT, "t", "big", 3, v, big, ES_OK, 0, 0};
    void *items[1] = {&o};
    int res[1] = {1};
    /* the map cannot grow while a read txn is open: refused, nothing written */
    assert_int_equal(store_write_group(s, fx_apply, items, 1, res, NULL), ES_RESOURCE_EXHAUSTED);
    store_txn_end(&t);
    fx_expect(s, "t", "big", NULL);
    assert_int_equal(store_write_group(s, fx_apply, items, 1, res, NULL), ES_OK);
    assert_int_equal(res[0], ES_OK);
    store_close(&s);
    s = fx_open(f->path, 0);
    assert_int_equal(store_read_begin(s, &t), ES_OK);
    const void *got = NULL;
    size_t gl = 0;
    assert_int_equal(store_get(t, "t", "big", 3, &got, &gl), ES_OK);
    assert_int_equal(gl, big);
    assert_memory_equal(got, v, big);
    store_txn_end(&t);
    store_close(&s);
    free(v);
}

static void test_keyed_hash(void **state)
{
    fx_t *f = *state;
    char other[256];
    snprintf(other, sizeof other, "%s/other", f->root);
    store_t *s = fx_open(f->path, 0);
    store_t *s2 = fx_open(other, 0);
    uint8_t h1[STORE_HASH_BYTES], h2[STORE_HASH_BYTES], h3[STORE_HASH_BYTES];
    const char *ins = "1850175123456";
    store_keyed_hash(s, "ins", ins, strlen(ins), h1);
    store_keyed_hash(s, "ins", ins, strlen(ins), h2);
    assert_memory_equal(h1, h2, STORE_HASH_BYTES); /* deterministic */
    store_keyed_hash(s2, "ins", ins, strlen(ins), h3);
    assert_memory_not_equal(h1, h3, STORE_HASH_BYTES); /* per store */
    store_keyed_hash(s, "email", ins, strlen(ins), h2);
    assert_memory_not_equal(h1, h2, STORE_HASH_BYTES); /* per label */
    store_keyed_hash(s, "ins", ins, strlen(ins) - 1, h2);
    assert_memory_not_equal(h1, h2, STORE_HASH_BYTES); /* per data */
    /* label/data boundary: ("ab", "c") differs from ("a", "bc") */
    store_keyed_hash(s, "ab", "c", 1, h2);
    store_keyed_hash(s, "a", "bc", 2, h3);
    assert_memory_not_equal(h2, h3, STORE_HASH_BYTES);
    /* keyed: not the plain BLAKE2b of label|0|data */
    uint8_t plain[STORE_HASH_BYTES];
    const unsigned char msg[] = "ins\0" "1850175123456";
    crypto_generichash(plain, sizeof plain, msg, sizeof msg - 1, NULL, 0);
    assert_memory_not_equal(h1, plain, STORE_HASH_BYTES);
    store_keyed_hash(s, NULL, NULL, 0, h2); /* NULL label = "" and empty data */
    store_keyed_hash(s, "", NULL, 0, h3);
    assert_memory_equal(h2, h3, STORE_HASH_BYTES);
    store_close(&s);
    store_close(&s2);
    /* stable across reopen */
    s = fx_open(f->path, 0);
    store_keyed_hash(s, "ins", ins, strlen(ins), h2);
    assert_memory_equal(h1, h2, STORE_HASH_BYTES);
    store_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_key_and_reopen, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_bad_key_file, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_bad_arguments, fx_setup, fx_teardown),
        cmocka_unit_test(test_be_helpers),
        cmocka_unit_test_setup_teardown(test_map_growth, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_growth_refused_with_reader, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_keyed_hash, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
