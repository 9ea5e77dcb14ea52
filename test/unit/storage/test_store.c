/* Tests of storage/store.c on real LMDB files in a mkdtemp folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <lmdb.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/status.h"
#include "storage/store.h"

/* ---- fixture: one temporary root folder per test ---- */

typedef struct fx {
    char root[64];  /* mkdtemp folder */
    char path[128]; /* root/db: the store */
} fx_t;

static void s_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char sub[512];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                s_rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int s_setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->root, sizeof f->root, "/tmp/es_store_XXXXXX");
    if (!mkdtemp(f->root)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/db", f->root);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fx_t *f = *state;
    s_rm_rf(f->root);
    free(f);
    return 0;
}

static const char *s_tables[] = {"t", "u", NULL};

static store_t *s_open(const char *path, size_t mapsize)
{
    store_opts_t o = {0};
    o.tables = s_tables;
    o.no_sync = 1;
    o.mapsize = mapsize;
    store_t *s = NULL;
    assert_int_equal(store_open(path, &o, &s), ES_OK);
    assert_non_null(s);
    return s;
}

/* ---- a generic group item ---- */

enum { OP_PUT, OP_PUT_NEW, OP_DEL, OP_END_SELF };

typedef struct op {
    int kind;          /* OP_* */
    const char *table; /* target table */
    const void *key;   /* key bytes */
    size_t klen;       /* key length */
    const void *val;   /* value (puts) */
    size_t vlen;       /* value length */
    int then;          /* returned when the op succeeded */
    int rc;            /* rc of the op, last call */
    int calls;         /* times applied (replays included) */
} op_t;

static int s_apply(store_txn_t *t, void *item, void *ctx)
{
    op_t *o = item;
    (void)ctx;
    o->calls++;
    switch (o->kind) {
    case OP_PUT:
        o->rc = store_put(t, o->table, o->key, o->klen, o->val, o->vlen);
        break;
    case OP_PUT_NEW:
        o->rc = store_put_new(t, o->table, o->key, o->klen, o->val, o->vlen);
        break;
    case OP_DEL:
        o->rc = store_del(t, o->table, o->key, o->klen);
        break;
    case OP_END_SELF:
        o->rc = store_put(t, o->table, o->key, o->klen, o->val, o->vlen);
        store_txn_end(&t);
        assert_null(t);
        break;
    default:
        o->rc = ES_INTERNAL;
    }
    return o->rc != ES_OK ? o->rc : o->then;
}

/* Run one op as a group of one; returns the item's result. */
static int s_do(store_t *s, int kind, const char *table, const void *key, size_t klen,
                const void *val, size_t vlen)
{
    op_t o = {kind, table, key, klen, val, vlen, ES_OK, 0, 0};
    void *items[1] = {&o};
    int results[1] = {1};
    assert_int_equal(store_write_group(s, s_apply, items, 1, results, NULL), ES_OK);
    return results[0];
}

static int s_put_str(store_t *s, const char *table, const char *key, const char *val)
{
    return s_do(s, OP_PUT, table, key, strlen(key), val, strlen(val));
}

/* Expect (table, key) == val (NULL: absent) in a fresh read txn. */
static void s_expect(store_t *s, const char *table, const char *key, const char *val)
{
    store_txn_t *t = NULL;
    const void *v = NULL;
    size_t vl = 0;
    assert_int_equal(store_read_begin(s, &t), ES_OK);
    int rc = store_get(t, table, key, strlen(key), &v, &vl);
    if (val) {
        assert_int_equal(rc, ES_OK);
        assert_int_equal(vl, strlen(val));
        assert_memory_equal(v, val, vl);
    } else {
        assert_int_equal(rc, ES_NOT_FOUND);
    }
    store_txn_end(&t);
    assert_null(t);
}

/* Raw LMDB access to a closed store: apply fn to the sealed value of
 * (table, key), writing the result under (table2, key2). */
typedef void (*raw_fn)(uint8_t *buf, size_t len);

static void s_raw_rewrite(const char *path, const char *table, const char *key,
                          const char *table2, const char *key2, raw_fn fn,
                          size_t *sealed_len, uint8_t **copy_out)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi, dbi2;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, STORE_MAX_TABLES), 0);
    assert_int_equal(mdb_env_open(env, path, MDB_NOTLS, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, table, 0, &dbi), 0);
    assert_int_equal(mdb_dbi_open(txn, table2, 0, &dbi2), 0);
    MDB_val k = {strlen(key), (void *)key}, d;
    assert_int_equal(mdb_get(txn, dbi, &k, &d), 0);
    uint8_t *buf = malloc(d.mv_size);
    assert_non_null(buf);
    memcpy(buf, d.mv_data, d.mv_size);
    size_t len = d.mv_size;
    if (fn)
        fn(buf, len);
    MDB_val k2 = {strlen(key2), (void *)key2}, d2 = {len, buf};
    assert_int_equal(mdb_put(txn, dbi2, &k2, &d2, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    if (sealed_len)
        *sealed_len = len;
    if (copy_out)
        *copy_out = buf;
    else
        free(buf);
}

static void s_flip_last(uint8_t *buf, size_t len)
{
    buf[len - 1] ^= 0x01;
}

static void s_flip_cipher(uint8_t *buf, size_t len)
{
    (void)len;
    buf[24] ^= 0x80; /* first ciphertext byte, after the nonce */
}

/* ---- tests ---- */

static void test_open_creates_key_and_reopen(void **state)
{
    fx_t *f = *state;
    store_t *s = s_open(f->path, 0);
    char kpath[256];
    struct stat st;
    snprintf(kpath, sizeof kpath, "%s/store.key", f->path);
    assert_int_equal(stat(kpath, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, STORE_KEY_BYTES);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(s_put_str(s, "t", "alpha", "one"), ES_OK);
    assert_int_equal(s_put_str(s, "u", "alpha", "two"), ES_OK);
    store_close(&s);
    assert_null(s);
    store_close(&s); /* idempotent */
    store_close(NULL);

    s = s_open(f->path, 0);
    s_expect(s, "t", "alpha", "one");
    s_expect(s, "u", "alpha", "two");
    store_close(&s);
}

static void test_open_refuses_bad_key_file(void **state)
{
    fx_t *f = *state;
    store_t *s = s_open(f->path, 0);
    assert_int_equal(s_put_str(s, "t", "k", "v"), ES_OK);
    store_close(&s);
    char kpath[256];
    snprintf(kpath, sizeof kpath, "%s/store.key", f->path);
    store_opts_t o = {0};
    o.tables = s_tables;
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
    s = s_open(f->path, 0); /* same bytes again: data readable */
    s_expect(s, "t", "k", "v");
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

static void test_put_get_del(void **state)
{
    fx_t *f = *state;
    store_t *s = s_open(f->path, 0);
    assert_int_equal(s_put_str(s, "t", "k1", "hello"), ES_OK);
    s_expect(s, "t", "k1", "hello");
    s_expect(s, "u", "k1", NULL); /* tables are separate */
    assert_int_equal(s_put_str(s, "t", "k1", "replaced"), ES_OK);
    s_expect(s, "t", "k1", "replaced");
    /* empty value */
    assert_int_equal(s_do(s, OP_PUT, "t", "e", 1, NULL, 0), ES_OK);
    s_expect(s, "t", "e", "");
    assert_int_equal(s_do(s, OP_DEL, "t", "k1", 2, NULL, 0), ES_OK);
    s_expect(s, "t", "k1", NULL);
    assert_int_equal(s_do(s, OP_DEL, "t", "k1", 2, NULL, 0), ES_NOT_FOUND);

    /* get on a missing key, and two gets in one txn both stay valid */
    assert_int_equal(s_put_str(s, "t", "a", "AAA"), ES_OK);
    assert_int_equal(s_put_str(s, "t", "b", "BBBB"), ES_OK);
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
    store_t *s = s_open(f->path, 0);
    const char *secret = "patient data 1234567890";
    assert_int_equal(s_put_str(s, "t", "k", secret), ES_OK);
    assert_int_equal(s_put_str(s, "t", "k2", secret), ES_OK);
    store_close(&s);

    /* the raw value is sealed: longer by the overhead, no clear text */
    size_t len = 0;
    uint8_t *raw = NULL;
    s_raw_rewrite(f->path, "t", "k", "t", "k", NULL, &len, &raw);
    assert_int_equal(len, strlen(secret) + STORE_SEAL_OVERHEAD);
    for (size_t i = 0; i + 7 <= len; i++)
        assert_false(memcmp(raw + i, "patient", 7) == 0);
    free(raw);

    s_raw_rewrite(f->path, "t", "k", "t", "k", s_flip_last, NULL, NULL);
    s_raw_rewrite(f->path, "t", "k2", "t", "k2", s_flip_cipher, NULL, NULL);
    s = s_open(f->path, 0);
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
    store_t *s = s_open(f->path, 0);
    assert_int_equal(s_put_str(s, "t", "a", "value of a"), ES_OK);
    store_close(&s);
    s_raw_rewrite(f->path, "t", "a", "t", "b", NULL, NULL, NULL);             /* other key */
    s_raw_rewrite(f->path, "t", "a", "u", "a", NULL, NULL, NULL);             /* other table */
    s = s_open(f->path, 0);
    s_expect(s, "t", "a", "value of a"); /* the original still opens */
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
    s = s_open(f->path, 0);
    assert_int_equal(store_read_begin(s, &t), ES_OK);
    assert_int_equal(store_get(t, "t", "c", 1, &v, &vl), ES_INTERNAL);
    store_txn_end(&t);
    store_close(&s);
}

/* Item writing keys [lo, hi] as be64 in table "t", value = be32(i). */
typedef struct range_item {
    uint64_t lo, hi; /* inclusive range */
} range_item_t;

static int s_apply_range(store_txn_t *t, void *item, void *ctx)
{
    range_item_t *r = item;
    (void)ctx;
    for (uint64_t i = r->lo; i <= r->hi; i++) {
        uint8_t k[8], v[4];
        store_be64_put(k, i);
        store_be32_put(v, (uint32_t)i);
        int rc = store_put(t, "t", k, sizeof k, v, sizeof v);
        if (rc != ES_OK)
            return rc;
    }
    return ES_OK;
}

static void s_fill_range(store_t *s, uint64_t lo, uint64_t hi)
{
    range_item_t r = {lo, hi};
    void *items[1] = {&r};
    int res[1] = {1};
    assert_int_equal(store_write_group(s, s_apply_range, items, 1, res, NULL), ES_OK);
    assert_int_equal(res[0], ES_OK);
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

static void test_range_scan(void **state)
{
    fx_t *f = *state;
    store_t *s = s_open(f->path, 0);
    s_fill_range(s, 1, 300);
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
    store_t *s = s_open(f->path, 0);
    s_fill_range(s, 1, 300);
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

static void test_group_partial_failure(void **state)
{
    fx_t *f = *state;
    store_t *s = s_open(f->path, 0);
    op_t a = {OP_PUT, "t", "a", 1, "A", 1, ES_OK, 0, 0};
    op_t b = {OP_PUT, "t", "b", 1, "B", 1, ES_ABORTED, 0, 0}; /* writes, then fails */
    op_t c = {OP_PUT, "u", "c", 1, "C", 1, ES_OK, 0, 0};
    void *items[3] = {&a, &b, &c};
    int res[3] = {1, 1, 1};
    assert_int_equal(store_write_group(s, s_apply, items, 3, res, NULL), ES_OK);
    assert_int_equal(res[0], ES_OK);
    assert_int_equal(res[1], ES_ABORTED);
    assert_int_equal(res[2], ES_OK);
    store_close(&s);
    s = s_open(f->path, 0);
    s_expect(s, "t", "a", "A");
    s_expect(s, "t", "b", NULL);
    s_expect(s, "u", "c", "C");

    /* an item failing on its own op, and one ending its own txn */
    op_t d = {OP_DEL, "t", "missing", 7, NULL, 0, ES_OK, 0, 0};
    op_t e = {OP_END_SELF, "t", "e", 1, "E", 1, ES_OK, 0, 0};
    op_t g = {OP_PUT, "t", "g", 1, "G", 1, ES_OK, 0, 0};
    void *items2[3] = {&d, &e, &g};
    assert_int_equal(store_write_group(s, s_apply, items2, 3, res, NULL), ES_OK);
    assert_int_equal(res[0], ES_NOT_FOUND);
    assert_int_equal(res[1], ES_ABORTED);
    assert_int_equal(res[2], ES_OK);
    s_expect(s, "t", "e", NULL);
    s_expect(s, "t", "g", "G");

    /* argument checks */
    assert_int_equal(store_write_group(s, s_apply, items2, 0, res, NULL), ES_OK);
    assert_int_equal(store_write_group(s, s_apply, items2, STORE_GROUP_MAX + 1, res, NULL),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(store_write_group(s, NULL, items2, 1, res, NULL), ES_INVALID_ARGUMENT);
    store_close(&s);
}

static void test_put_new_duplicate(void **state)
{
    fx_t *f = *state;
    store_t *s = s_open(f->path, 0);
    assert_int_equal(s_do(s, OP_PUT_NEW, "t", "k", 1, "first", 5), ES_OK);
    assert_int_equal(s_do(s, OP_PUT_NEW, "t", "k", 1, "second", 6), ES_ALREADY_EXISTS);
    s_expect(s, "t", "k", "first");
    /* the same key in another table is a different key */
    assert_int_equal(s_do(s, OP_PUT_NEW, "u", "k", 1, "other", 5), ES_OK);
    store_close(&s);
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
    store_t *s = s_open(f->path, 256u << 10);
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
        assert_int_equal(store_write_group(s, s_apply, items, GROW_ITEMS, res, NULL), ES_OK);
        for (size_t i = 0; i < GROW_ITEMS; i++) {
            assert_int_equal(res[i], ES_OK);
            calls += ops[i].calls;
        }
    }
    /* the map started at 256 KiB for 4 MiB of values: replays happened */
    assert_true(calls > GROW_GROUPS * GROW_ITEMS);
    store_close(&s);

    /* reopen with the same tiny mapsize: everything readable, writes grow again */
    s = s_open(f->path, 256u << 10);
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
    assert_int_equal(s_do(s, OP_PUT, "u", "more", 4, vals, GROW_VALUE * 4), ES_OK);
    store_close(&s);
    free(want);
    free(vals);
}

static void test_growth_refused_with_reader(void **state)
{
    fx_t *f = *state;
    store_t *s = s_open(f->path, 256u << 10);
    size_t big = 1u << 20;
    uint8_t *v = calloc(1, big);
    assert_non_null(v);
    store_txn_t *t = NULL;
    assert_int_equal(store_read_begin(s, &t), ES_OK);
    op_t o = {OP_PUT, "t", "big", 3, v, big, ES_OK, 0, 0};
    void *items[1] = {&o};
    int res[1] = {1};
    /* the map cannot grow while a read txn is open: refused, nothing written */
    assert_int_equal(store_write_group(s, s_apply, items, 1, res, NULL), ES_RESOURCE_EXHAUSTED);
    store_txn_end(&t);
    s_expect(s, "t", "big", NULL);
    assert_int_equal(store_write_group(s, s_apply, items, 1, res, NULL), ES_OK);
    assert_int_equal(res[0], ES_OK);
    store_close(&s);
    s = s_open(f->path, 0);
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

static void test_limits_and_unknown_table(void **state)
{
    fx_t *f = *state;
    store_t *s = s_open(f->path, 0);
    uint8_t key[STORE_MAX_KEY + 1];
    memset(key, 'k', sizeof key);
    assert_int_equal(s_do(s, OP_PUT, "t", key, STORE_MAX_KEY + 1, "v", 1), ES_TOO_LARGE);
    assert_int_equal(s_do(s, OP_PUT, "t", key, 0, "v", 1), ES_INVALID_ARGUMENT);
    assert_int_equal(s_do(s, OP_PUT, "t", key, STORE_MAX_KEY, "v", 1), ES_OK);
    assert_int_equal(s_do(s, OP_PUT, "nope", "k", 1, "v", 1), ES_INVALID_ARGUMENT);
    assert_int_equal(s_do(s, OP_PUT_NEW, "nope", "k", 1, "v", 1), ES_INVALID_ARGUMENT);
    assert_int_equal(s_do(s, OP_DEL, "nope", "k", 1, NULL, 0), ES_INVALID_ARGUMENT);
    assert_int_equal(s_do(s, OP_DEL, "t", key, STORE_MAX_KEY + 1, NULL, 0), ES_TOO_LARGE);

    /* values: exactly the limit round-trips, one byte more is refused */
    uint8_t *v = malloc((size_t)STORE_MAX_VALUE + 1);
    assert_non_null(v);
    for (size_t i = 0; i <= STORE_MAX_VALUE; i += 4096)
        v[i] = (uint8_t)(i >> 12);
    v[STORE_MAX_VALUE - 1] = 0x5a;
    assert_int_equal(s_do(s, OP_PUT, "t", "max", 3, v, (size_t)STORE_MAX_VALUE + 1),
                     ES_TOO_LARGE);
    assert_int_equal(s_do(s, OP_PUT, "t", "max", 3, v, STORE_MAX_VALUE), ES_OK);

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
    store_t *s = s_open(f->path, 0);
    int res[1] = {1};
    void *items[1] = {NULL};
    assert_int_equal(store_write_group(s, s_apply_read_own, items, 1, res, NULL), ES_OK);
    assert_int_equal(res[0], ES_OK);
    s_expect(s, "t", "own", "mine");
    store_close(&s);
}

static void test_keyed_hash(void **state)
{
    fx_t *f = *state;
    char other[256];
    snprintf(other, sizeof other, "%s/other", f->root);
    store_t *s = s_open(f->path, 0);
    store_t *s2 = s_open(other, 0);
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
    s = s_open(f->path, 0);
    store_keyed_hash(s, "ins", ins, strlen(ins), h2);
    assert_memory_equal(h1, h2, STORE_HASH_BYTES);
    store_close(&s);
}

static void test_backup(void **state)
{
    fx_t *f = *state;
    char bk[256], bkkey[300], file[256];
    snprintf(bk, sizeof bk, "%s/backup", f->root);
    snprintf(bkkey, sizeof bkkey, "%s/store.key", bk);
    snprintf(file, sizeof file, "%s/file", f->root);
    store_t *s = s_open(f->path, 0);
    s_fill_range(s, 1, 300);
    assert_int_equal(s_put_str(s, "u", "x", "in u"), ES_OK);
    assert_int_equal(s_do(s, OP_DEL, "t", "\0\0\0\0\0\0\0\x05", 8, NULL, 0), ES_OK);
    uint8_t h1[STORE_HASH_BYTES], h2[STORE_HASH_BYTES];
    store_keyed_hash(s, "l", "d", 1, h1);

    /* a read txn is open during the backup, and a write lands meanwhile */
    store_txn_t *t = NULL;
    assert_int_equal(store_read_begin(s, &t), ES_OK);
    assert_int_equal(s_put_str(s, "u", "during", "yes"), ES_OK);
    assert_int_equal(store_backup(s, bk), ES_OK);
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
    assert_int_equal(s_put_str(s, "u", "after", "no"), ES_OK);
    store_close(&s);

    struct stat st;
    assert_int_equal(stat(bkkey, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    s = s_open(bk, 0);
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
    s_expect(s, "u", "x", "in u");
    s_expect(s, "u", "during", "yes");
    s_expect(s, "u", "after", NULL);
    store_keyed_hash(s, "l", "d", 1, h2);
    assert_memory_equal(h1, h2, STORE_HASH_BYTES);
    store_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_key_and_reopen, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_bad_key_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_open_bad_arguments, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_put_get_del, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tampered_value_fails, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_moved_value_fails, s_setup, s_teardown),
        cmocka_unit_test(test_be_helpers),
        cmocka_unit_test_setup_teardown(test_range_scan, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reverse_cursor, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_group_partial_failure, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_put_new_duplicate, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_map_growth, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_growth_refused_with_reader, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_limits_and_unknown_table, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_read_own_writes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_keyed_hash, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_backup, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
