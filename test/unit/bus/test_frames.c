/* test_frames.c - bus/frames.c: sending and forwarding multipart messages
 * on real ZeroMQ sockets (inproc PAIR). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include "bus/frames.h"
#include "proto/status.h"

/* A received message is forwarded whole, bytes shared not copied, and stays
 * the caller's: it can be forwarded again and read after. */
static void test_forward(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
    void *c = zmq_socket(ctx, ZMQ_PAIR), *d = zmq_socket(ctx, ZMQ_PAIR);
    assert_int_equal(zmq_bind(b, "inproc://t-frames-ab"), 0);
    assert_int_equal(zmq_connect(a, "inproc://t-frames-ab"), 0);
    assert_int_equal(zmq_bind(d, "inproc://t-frames-cd"), 0);
    assert_int_equal(zmq_connect(c, "inproc://t-frames-cd"), 0);
    char big[300];
    memset(big, 'e', sizeof big); /* over ZeroMQ's inline size: shared by reference */
    frame_ref_t f[3] = {{(const uint8_t *)"topic", 5}, {(const uint8_t *)big, sizeof big},
                        {NULL, 0}};
    assert_int_equal(frames_send(a, f, 3), 0);

    zmq_msg_t in[4];
    size_t n = 0;
    assert_int_equal(frames_recv(b, in, 4, &n, 0), 0);
    assert_int_equal(n, 3);
    assert_int_equal(frames_forward(c, in, n), 0);
    assert_int_equal(frames_forward(c, in, n), 0); /* twice: in is untouched */
    for (int k = 0; k < 2; k++) {
        zmq_msg_t out[4];
        size_t m = 0;
        assert_int_equal(frames_recv(d, out, 4, &m, 0), 0);
        assert_int_equal(m, 3);
        assert_int_equal(zmq_msg_size(&out[0]), 5);
        assert_memory_equal(zmq_msg_data(&out[0]), "topic", 5);
        assert_int_equal(zmq_msg_size(&out[1]), sizeof big);
        assert_memory_equal(zmq_msg_data(&out[1]), big, sizeof big);
        assert_int_equal(zmq_msg_size(&out[2]), 0);
        frames_close(out, m);
    }
    assert_memory_equal(zmq_msg_data(&in[1]), big, sizeof big);
    frames_close(in, n);

    /* a peer gone at the high-water mark: the error, not a block */
    int hwm = 1, linger = 0;
    void *e = zmq_socket(ctx, ZMQ_PUSH);
    zmq_setsockopt(e, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(e, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(frames_send(e, f, 1), ES_RESOURCE_EXHAUSTED); /* no peer */
    assert_int_equal(frames_send(a, f, 1), 0);
    assert_int_equal(frames_recv(b, in, 4, &n, 0), 0);
    assert_int_equal(frames_forward(e, in, n), ES_RESOURCE_EXHAUSTED);
    frames_close(in, n);

    void *socks[5] = {a, b, c, d, e};
    for (int i = 0; i < 5; i++) {
        zmq_setsockopt(socks[i], ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(socks[i]);
    }
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
