/* test_nonce.c - storage/nonce.c: the nonces of sealed values never repeat
 * (within a thread across refills, between threads, between a parent and
 * its forked child), and equal values under equal keys still seal apart. */
#include "test/unit/storage/store_fixture.h"

#include <pthread.h>
#include <sys/wait.h>

#include "storage/store_int.h"

#define N_DRAWS 20000 /* > 100 refills of the pool */

static int s_cmp(const void *a, const void *b)
{
    return memcmp(a, b, STORE_NONCE_BYTES);
}

/* Sort and check that no two of n nonces are equal (nor all-zero). */
static void s_all_distinct(uint8_t (*v)[STORE_NONCE_BYTES], size_t n)
{
    static const uint8_t zero[STORE_NONCE_BYTES] = {0};
    qsort(v, n, sizeof *v, s_cmp);
    for (size_t i = 0; i < n; i++) {
        assert_false(memcmp(v[i], zero, STORE_NONCE_BYTES) == 0);
        if (i > 0)
            assert_false(memcmp(v[i - 1], v[i], STORE_NONCE_BYTES) == 0);
    }
}

static void test_nonces_never_repeat(void **state)
{
    (void)state;
    uint8_t (*v)[STORE_NONCE_BYTES] = malloc(N_DRAWS * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < N_DRAWS; i++)
        store_nonce(v[i]);
    s_all_distinct(v, N_DRAWS);
    free(v);
}

static void *s_draw_half(void *arg)
{
    uint8_t (*v)[STORE_NONCE_BYTES] = arg;
    for (size_t i = 0; i < N_DRAWS / 2; i++)
        store_nonce(v[i]);
    return NULL;
}

static void test_threads_draw_apart(void **state)
{
    (void)state;
    uint8_t (*v)[STORE_NONCE_BYTES] = malloc(N_DRAWS * sizeof *v);
    assert_non_null(v);
    pthread_t a, b;
    assert_int_equal(pthread_create(&a, NULL, s_draw_half, v), 0);
    assert_int_equal(pthread_create(&b, NULL, s_draw_half, v + N_DRAWS / 2), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    s_all_distinct(v, N_DRAWS);
    free(v);
}

/* A forked child must not hand out the nonces its parent's pool still
 * holds: the parent's next nonces and the child's first ones differ. */
static void test_fork_child_refills(void **state)
{
    (void)state;
    enum { K = 16 };
    uint8_t warm[STORE_NONCE_BYTES];
    store_nonce(warm); /* the pool is filled, K nonces are left in it */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint8_t c[K][STORE_NONCE_BYTES];
        for (int i = 0; i < K; i++)
            store_nonce(c[i]);
        ssize_t w = write(fds[1], c, sizeof c);
        _exit(w == (ssize_t)sizeof c ? 0 : 1);
    }
    close(fds[1]);
    uint8_t (*v)[STORE_NONCE_BYTES] = malloc(2 * K * sizeof *v);
    assert_non_null(v);
    size_t got = 0;
    while (got < K * STORE_NONCE_BYTES) {
        ssize_t r = read(fds[0], (uint8_t *)v + got, K * STORE_NONCE_BYTES - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (int i = 0; i < K; i++)
        store_nonce(v[K + i]);
    s_all_distinct(v, 2 * K);
    free(v);
}

/* The same clear value under the same key, written twice: the two sealed
 * values differ (a fresh nonce each time) and both hold no clear text. */
static void test_same_value_seals_apart(void **state)
{
    fx_t *f = *state;
    store_t *s = fx_open(f->path, 0);
    const char *secret = "patient data 1234567890";
    uint8_t *raw[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(fx_put_str(s, "t", "k", secret), ES_OK);
        store_close(&s);
        fx_raw_rewrite(f->path, "t", "k", "t", "k", NULL, &len[i], &raw[i]);
        s = fx_open(f->path, 0);
        for (size_t j = 0; j + 7 <= len[i]; j++)
            assert_false(memcmp(raw[i] + j, "patient", 7) == 0);
    }
    assert_int_equal(len[0], len[1]);
    assert_false(memcmp(raw[0], raw[1], STORE_NONCE_BYTES) == 0);
    assert_false(memcmp(raw[0], raw[1], len[0]) == 0);
    fx_expect(s, "t", "k", secret);
    store_close(&s);
    free(raw[0]);
    free(raw[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonces_never_repeat),
        cmocka_unit_test(test_threads_draw_apart),
        cmocka_unit_test(test_fork_child_refills),
        cmocka_unit_test_setup_teardown(test_same_value_seals_apart, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
