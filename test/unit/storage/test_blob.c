/*
 * test_blob.c - byte objects in pieces (storage/blob.h) on a real store:
 * pieces put in order hash to the BLAKE2b-256 of the whole, reads across
 * piece boundaries, a gap or a short object is ES_INTERNAL, delete removes
 * every piece of one object only; and the piece rule of resumable uploads.
 */
#include "storage/blob.h"
#include "test/unit/storage/store_fixture.h"

#define N 1000
static const uint8_t A[BLOB_ID_BYTES] = {1}, B[BLOB_ID_BYTES] = {2};

typedef struct job {
    int (*fn)(store_txn_t *t, struct job *j);
    uint8_t data[N];
    int rc;
} job_t;

static int s_apply(store_txn_t *t, void *item, void *ctx)
{
    (void)ctx;
    job_t *j = item;
    j->rc = j->fn(t, j);
    return j->rc;
}

static void s_run(store_t *s, job_t *j)
{
    void *items[1] = {j};
    int res[1];
    assert_int_equal(store_write_group(s, s_apply, items, 1, res, NULL), ES_OK);
}

static int s_fill(store_txn_t *t, job_t *j)
{
    int rc = 0;
    /* A: pieces of 300, 300, 400; B: one piece */
    rc |= blob_put(t, "t", A, 0, j->data, 300);
    rc |= blob_put(t, "t", A, 300, j->data + 300, 300);
    rc |= blob_put(t, "t", A, 600, j->data + 600, 400);
    rc |= blob_put(t, "t", B, 0, j->data, 10);
    return rc;
}

static int s_check(store_txn_t *t, job_t *j)
{
    uint8_t h[BLOB_HASH_BYTES], want[BLOB_HASH_BYTES], buf[N];
    size_t n = 0;
    crypto_generichash(want, sizeof want, j->data, N, NULL, 0);
    assert_int_equal(blob_hash(t, "t", A, N, h), 0);
    assert_memory_equal(h, want, sizeof h);
    assert_int_equal(blob_hash(t, "t", A, N + 1, h), ES_INTERNAL); /* shorter than declared */
    /* a read across two boundaries */
    assert_int_equal(blob_read(t, "t", A, 250, buf, 500, &n), 0);
    assert_int_equal(n, 500);
    assert_memory_equal(buf, j->data + 250, 500);
    /* a read past the end stops at the end */
    assert_int_equal(blob_read(t, "t", A, 900, buf, 500, &n), 0);
    assert_int_equal(n, 100);
    assert_memory_equal(buf, j->data + 900, 100);
    /* delete A: B stays */
    assert_int_equal(blob_delete(t, "t", A), 0);
    assert_int_equal(blob_read(t, "t", A, 0, buf, 10, &n), ES_INTERNAL);
    assert_int_equal(blob_read(t, "t", B, 0, buf, 10, &n), 0);
    assert_int_equal(n, 10);
    assert_int_equal(blob_delete(t, "t", A), 0); /* again: nothing to do */
    /* a gap */
    assert_int_equal(blob_put(t, "t", A, 0, j->data, 10), 0);
    assert_int_equal(blob_put(t, "t", A, 20, j->data, 10), 0);
    assert_int_equal(blob_hash(t, "t", A, 30, h), ES_INTERNAL);
    return 0;
}

static void test_pieces(void **state)
{
    fx_t *f = *state;
    store_t *s = fx_open(f->path, 0);
    job_t j;
    for (size_t i = 0; i < N; i++)
        j.data[i] = (uint8_t)(i * 7 + 3);
    j.fn = s_fill;
    s_run(s, &j);
    j.fn = s_check;
    s_run(s, &j);
    store_close(&s);
}

static void test_piece_rule(void **state)
{
    (void)state;
    blob_err_t e;
    assert_int_equal(blob_piece_check(0, 100, 0, 100, 16, 128, &e), 0); /* whole, short */
    assert_int_equal(blob_piece_check(0, 300, 0, 128, 16, 128, &e), 0);
    assert_int_equal(blob_piece_check(128, 300, 0, 128, 16, 128, &e), ES_FAILED_PRECONDITION);
    assert_string_equal(e.field, "offset");
    assert_string_equal(e.msg, "next offset is 128");
    assert_int_equal(blob_piece_check(0, 300, 0, 0, 16, 128, &e), ES_INVALID_ARGUMENT);
    assert_string_equal(e.field, "data");
    assert_int_equal(blob_piece_check(0, 300, 0, 129, 16, 128, &e), ES_TOO_LARGE);
    assert_int_equal(blob_piece_check(250, 300, 250, 51, 16, 128, &e), ES_INVALID_ARGUMENT);
    assert_string_equal(e.msg, "past the declared size");
    assert_int_equal(blob_piece_check(0, 300, 0, 15, 16, 128, &e), ES_INVALID_ARGUMENT);
    assert_string_equal(e.msg, "at least 16 bytes but for the last piece");
    assert_int_equal(blob_piece_check(290, 300, 290, 10, 16, 128, &e), 0); /* the last one */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pieces, fx_setup, fx_teardown),
        cmocka_unit_test(test_piece_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
