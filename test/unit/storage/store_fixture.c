/* store_fixture.c - see store_fixture.h. */
#include "test/unit/storage/store_fixture.h"

/* ---- fixture: one temporary root folder per test ---- */

void fx_rm_rf(const char *path)
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
                fx_rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

int fx_setup(void **state)
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

int fx_teardown(void **state)
{
    fx_t *f = *state;
    fx_rm_rf(f->root);
    free(f);
    return 0;
}

const char *fx_tables[] = {"t", "u", NULL};

store_t *fx_open(const char *path, size_t mapsize)
{
    store_opts_t o = {0};
    o.tables = fx_tables;
    o.no_sync = 1;
    o.mapsize = mapsize;
    store_t *s = NULL;
    assert_int_equal(store_open(path, &o, &s), ES_OK);
    assert_non_null(s);
    return s;
}

/* ---- a generic group item ---- */

int fx_apply(store_txn_t *t, void *item, void *ctx)
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
int fx_do(store_t *s, int kind, const char *table, const void *key, size_t klen,
                const void *val, size_t vlen)
{
    op_t o = {kind, table, key, klen, val, vlen, ES_OK, 0, 0};
    void *items[1] = {&o};
    int results[1] = {1};
    assert_int_equal(store_write_group(s, fx_apply, items, 1, results, NULL), ES_OK);
    return results[0];
}

int fx_put_str(store_t *s, const char *table, const char *key, const char *val)
{
    return fx_do(s, OP_PUT, table, key, strlen(key), val, strlen(val));
}

/* Expect (table, key) == val (NULL: absent) in a fresh read txn. */
void fx_expect(store_t *s, const char *table, const char *key, const char *val)
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

void fx_raw_rewrite(const char *path, const char *table, const char *key,
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

void fx_flip_last(uint8_t *buf, size_t len)
{
    buf[len - 1] ^= 0x01;
}

void fx_flip_cipher(uint8_t *buf, size_t len)
{
    (void)len;
    buf[24] ^= 0x80; /* first ciphertext byte, after the nonce */
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

void fx_fill_range(store_t *s, uint64_t lo, uint64_t hi)
{
    range_item_t r = {lo, hi};
    void *items[1] = {&r};
    int res[1] = {1};
    assert_int_equal(store_write_group(s, s_apply_range, items, 1, res, NULL), ES_OK);
    assert_int_equal(res[0], ES_OK);
}
