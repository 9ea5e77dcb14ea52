/* test_mqtt.c - clients/load/mqtt.c: MQTT 3.1.1 packets and the stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "clients/load/mqtt.h"
#include "proto/status.h"

#define BYTES(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

static void s_expect(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len)
{
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
}

/* The byte layouts of OASIS MQTT 3.1.1 section 3. */
static void test_encode(void **state)
{
    (void)state;
    uint8_t b[512];
    size_t n = 0;
    assert_int_equal(mqtt_connect(b, sizeof b, "a", 60, &n), 0);
    s_expect(b, n, BYTES(0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 1, 'a'));
    assert_int_equal(mqtt_subscribe(b, sizeof b, 1, "a/b", 1, &n), 0);
    s_expect(b, n, BYTES(0x82, 8, 0, 1, 0, 3, 'a', '/', 'b', 1));
    assert_int_equal(mqtt_publish(b, sizeof b, "t", 1, 7, (const uint8_t *)"hi", 2, &n), 0);
    s_expect(b, n, BYTES(0x32, 7, 0, 1, 't', 0, 7, 'h', 'i'));
    assert_int_equal(mqtt_publish(b, sizeof b, "t", 0, 0, (const uint8_t *)"hi", 2, &n), 0);
    s_expect(b, n, BYTES(0x30, 5, 0, 1, 't', 'h', 'i'));
    assert_int_equal(mqtt_puback(b, sizeof b, 0x1234, &n), 0);
    s_expect(b, n, BYTES(0x40, 2, 0x12, 0x34));
    assert_int_equal(mqtt_pingreq(b, sizeof b, &n), 0);
    s_expect(b, n, BYTES(0xc0, 0));
    assert_int_equal(mqtt_disconnect(b, sizeof b, &n), 0);
    s_expect(b, n, BYTES(0xe0, 0));
    /* a two-byte remaining length: 203 = 0xcb 0x01 */
    uint8_t pay[200];
    memset(pay, 'x', sizeof pay);
    assert_int_equal(mqtt_publish(b, sizeof b, "t", 0, 0, pay, sizeof pay, &n), 0);
    assert_int_equal(n, 1 + 2 + 203);
    assert_int_equal(b[1], 0xcb);
    assert_int_equal(b[2], 0x01);
}

static void test_encode_errors(void **state)
{
    (void)state;
    uint8_t b[16];
    size_t n = 99;
    assert_int_equal(mqtt_connect(b, 5, "a", 60, &n), ES_RESOURCE_EXHAUSTED);
    assert_int_equal(mqtt_pingreq(b, 1, &n), ES_RESOURCE_EXHAUSTED);
    assert_int_equal(mqtt_publish(b, sizeof b, "t", 0, 0, (const uint8_t *)"0123456789abcdef",
                                  16, &n),
                     ES_RESOURCE_EXHAUSTED);
    assert_int_equal(n, 99); /* untouched on error */
    assert_int_equal(mqtt_publish(b, sizeof b, "t", 1, 0, NULL, 0, &n), ES_INVALID_ARGUMENT);
    assert_int_equal(mqtt_publish(b, sizeof b, "t", 2, 1, NULL, 0, &n), ES_INVALID_ARGUMENT);
    assert_int_equal(mqtt_publish(b, sizeof b, "", 0, 0, NULL, 0, &n), ES_INVALID_ARGUMENT);
    assert_int_equal(mqtt_subscribe(b, sizeof b, 0, "t", 0, &n), ES_INVALID_ARGUMENT);
    assert_int_equal(mqtt_subscribe(b, sizeof b, 1, "t", 2, &n), ES_INVALID_ARGUMENT);
    assert_int_equal(mqtt_puback(b, sizeof b, 0, &n), ES_INVALID_ARGUMENT);
    static uint8_t big[MQTT_MAX_PACKET];
    static uint8_t out[MQTT_MAX_PACKET + 16];
    assert_int_equal(mqtt_publish(out, sizeof out, "t", 0, 0, big, sizeof big, &n),
                     ES_INVALID_ARGUMENT);
}

static void test_decode(void **state)
{
    (void)state;
    mqtt_packet_t p;
    size_t used = 0;
    assert_int_equal(mqtt_decode(BYTES(0x20, 2, 1, 0), &p, &used), 1);
    assert_int_equal(used, 4);
    assert_int_equal(p.type, MQTT_CONNACK);
    assert_int_equal(p.session_present, 1);
    assert_int_equal(p.return_code, 0);
    assert_int_equal(mqtt_decode(BYTES(0x90, 3, 0, 9, 1), &p, &used), 1);
    assert_int_equal(p.type, MQTT_SUBACK);
    assert_int_equal(p.packet_id, 9);
    assert_int_equal(p.payload_len, 1);
    assert_int_equal(p.payload[0], 1);
    assert_int_equal(mqtt_decode(BYTES(0x3b, 7, 0, 1, 't', 0, 7, 'h', 'i'), &p, &used), 1);
    assert_int_equal(p.type, MQTT_PUBLISH);
    assert_int_equal(p.qos, 1);
    assert_true(p.dup && p.retain);
    assert_int_equal(p.packet_id, 7);
    assert_int_equal(p.topic_len, 1);
    assert_memory_equal(p.topic, "t", 1);
    assert_int_equal(p.payload_len, 2);
    assert_memory_equal(p.payload, "hi", 2);
    assert_int_equal(mqtt_decode(BYTES(0x40, 2, 0x12, 0x34), &p, &used), 1);
    assert_int_equal(p.packet_id, 0x1234);
    assert_int_equal(mqtt_decode(BYTES(0xd0, 0), &p, &used), 1);
    assert_int_equal(p.type, MQTT_PINGRESP);
    /* what the encoders make decodes back */
    uint8_t b[256];
    size_t n = 0;
    assert_int_equal(mqtt_connect(b, sizeof b, "espace-load-7", 30, &n), 0);
    assert_int_equal(mqtt_decode(b, n, &p, &used), 1);
    assert_int_equal(p.type, MQTT_CONNECT);
    assert_int_equal(p.payload_len, 13);
    assert_memory_equal(p.payload, "espace-load-7", 13);
    assert_int_equal(mqtt_subscribe(b, sizeof b, 3, "el/12", 1, &n), 0);
    assert_int_equal(mqtt_decode(b, n, &p, &used), 1);
    assert_int_equal(p.type, MQTT_SUBSCRIBE);
    assert_int_equal(p.packet_id, 3);
    assert_int_equal(p.qos, 1);
    assert_memory_equal(p.topic, "el/12", 5);
    /* every proper prefix is "read more", never a packet or an error */
    uint8_t pay[300];
    memset(pay, 'y', sizeof pay);
    assert_int_equal(mqtt_publish(b, sizeof b, "el/1", 1, 65535, pay, 200, &n), 0);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(mqtt_decode(b, k, &p, &used), 0);
    assert_int_equal(mqtt_decode(b, n, &p, &used), 1);
    assert_int_equal(p.packet_id, 65535);
    assert_int_equal(p.payload_len, 200);
}

static void test_decode_malformed(void **state)
{
    (void)state;
    mqtt_packet_t p;
    size_t used = 0;
    /* a fifth remaining-length byte */
    assert_int_equal(mqtt_decode(BYTES(0x30, 0xff, 0xff, 0xff, 0xff, 0x01), &p, &used),
                     ES_INVALID_ARGUMENT);
    /* over MQTT_MAX_PACKET, said before the bytes came */
    assert_int_equal(mqtt_decode(BYTES(0x30, 0xff, 0xff, 0x7f), &p, &used), ES_INVALID_ARGUMENT);
    /* reserved types, flags where 0 is required */
    assert_int_equal(mqtt_decode(BYTES(0x00, 0), &p, &used), ES_INVALID_ARGUMENT);
    assert_int_equal(mqtt_decode(BYTES(0xf0, 0), &p, &used), ES_INVALID_ARGUMENT);
    assert_int_equal(mqtt_decode(BYTES(0x41, 2, 0, 1), &p, &used), ES_INVALID_ARGUMENT);
    assert_int_equal(mqtt_decode(BYTES(0xd0, 1, 0), &p, &used), ES_INVALID_ARGUMENT);
    assert_int_equal(mqtt_decode(BYTES(0x20, 2, 2, 0), &p, &used), ES_INVALID_ARGUMENT);
    /* PUBACK of id 0, SUBACK without codes */
    assert_int_equal(mqtt_decode(BYTES(0x40, 2, 0, 0), &p, &used), ES_INVALID_ARGUMENT);
    assert_int_equal(mqtt_decode(BYTES(0x90, 2, 0, 1), &p, &used), ES_INVALID_ARGUMENT);
    /* PUBLISH: QoS 3, DUP at QoS 0, topic longer than the packet, no packet id */
    assert_int_equal(mqtt_decode(BYTES(0x36, 3, 0, 1, 't'), &p, &used), ES_INVALID_ARGUMENT);
    assert_int_equal(mqtt_decode(BYTES(0x38, 3, 0, 1, 't'), &p, &used), ES_INVALID_ARGUMENT);
    assert_int_equal(mqtt_decode(BYTES(0x30, 3, 0, 9, 't'), &p, &used), ES_INVALID_ARGUMENT);
    assert_int_equal(mqtt_decode(BYTES(0x32, 3, 0, 1, 't'), &p, &used), ES_INVALID_ARGUMENT);
    /* CONNECT of another protocol */
    assert_int_equal(mqtt_decode(BYTES(0x10, 12, 0, 4, 'M', 'Q', 'I', 'T', 4, 2, 0, 60, 0, 0),
                                 &p, &used),
                     ES_INVALID_ARGUMENT);
    /* random bytes: any answer, but never past the buffer (ASan) and a sane size */
    uint32_t x = 12345;
    uint8_t buf[64];
    for (int round = 0; round < 20000; round++) {
        size_t len = 1 + (x % sizeof buf);
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t)(x >> 16);
        }
        uint8_t *heap = test_malloc(len);
        memcpy(heap, buf, len);
        int rc = mqtt_decode(heap, len, &p, &used);
        assert_true(rc == 0 || rc == 1 || rc == ES_INVALID_ARGUMENT);
        if (rc == 1)
            assert_true(used >= 2 && used <= len);
        test_free(heap);
    }
}

typedef struct seen {
    unsigned n;
    unsigned types[8];
    size_t payload_len[8];
} seen_t;

static void s_on_packet(const mqtt_packet_t *p, void *user)
{
    seen_t *s = user;
    if (s->n < 8) {
        s->types[s->n] = p->type;
        s->payload_len[s->n] = p->payload_len;
    }
    s->n++;
}

static void test_stream(void **state)
{
    (void)state;
    uint8_t b[1024];
    size_t n1 = 0, n2 = 0, n3 = 0;
    uint8_t pay[300];
    memset(pay, 'z', sizeof pay);
    assert_int_equal(mqtt_publish(b, sizeof b, "el/2", 0, 0, pay, 300, &n1), 0);
    assert_int_equal(mqtt_puback(b + n1, sizeof b - n1, 5, &n2), 0);
    assert_int_equal(mqtt_publish(b + n1 + n2, sizeof b - n1 - n2, "el/2", 1, 6, pay, 10, &n3),
                     0);
    size_t total = n1 + n2 + n3;
    /* all in one message */
    mqtt_stream_t s = {0};
    seen_t seen = {0};
    assert_int_equal(mqtt_stream_feed(&s, b, total, s_on_packet, &seen), 0);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.types[0], MQTT_PUBLISH);
    assert_int_equal(seen.payload_len[0], 300);
    assert_int_equal(seen.types[1], MQTT_PUBACK);
    assert_int_equal(seen.payload_len[2], 10);
    assert_int_equal(s.len, 0);
    /* one byte per message */
    memset(&seen, 0, sizeof seen);
    for (size_t i = 0; i < total; i++)
        assert_int_equal(mqtt_stream_feed(&s, b + i, 1, s_on_packet, &seen), 0);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.payload_len[0], 300);
    assert_int_equal(s.len, 0);
    /* cut in the middle of the first and of the third packet */
    memset(&seen, 0, sizeof seen);
    assert_int_equal(mqtt_stream_feed(&s, b, 100, s_on_packet, &seen), 0);
    assert_int_equal(seen.n, 0);
    assert_int_equal(mqtt_stream_feed(&s, b + 100, total - 105, s_on_packet, &seen), 0);
    assert_int_equal(seen.n, 2);
    assert_int_equal(s.len, n3 - 5);
    assert_int_equal(mqtt_stream_feed(&s, b + total - 5, 5, s_on_packet, &seen), 0);
    assert_int_equal(seen.n, 3);
    /* malformed: an error, and the caller closes */
    assert_int_equal(mqtt_stream_feed(&s, BYTES(0x00, 0), s_on_packet, &seen), ES_INVALID_ARGUMENT);
    mqtt_stream_clear(&s);
    assert_null(s.buf);
    mqtt_stream_clear(&s); /* idempotent */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_decode_malformed),
        cmocka_unit_test(test_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
