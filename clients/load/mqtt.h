/*
 * mqtt.h - the few MQTT 3.1.1 packets espace-load speaks to a broker
 * (mosquitto) over websockets: CONNECT/CONNACK, SUBSCRIBE/SUBACK,
 * PUBLISH (QoS 0 and 1), PUBACK, PINGREQ/PINGRESP, DISCONNECT (OASIS MQTT
 * 3.1.1, section 2 "MQTT Control Packet format" and section 3).
 *
 * Over websockets (subprotocol "mqtt", binary messages) a websocket message
 * may hold part of a packet or several packets: the receiving side feeds
 * every message into an mqtt_stream_t, which hands over whole packets.
 *
 * Encoders write one packet into a caller buffer of `cap` bytes: 0 and
 * *len, ES_RESOURCE_EXHAUSTED when it does not fit, ES_INVALID_ARGUMENT for
 * what MQTT cannot carry (a string over 65535 bytes, QoS other than 0 or 1,
 * packet id 0 where one is needed, a packet over MQTT_MAX_PACKET).
 *
 * The decoder checks what it reads (remaining length encoding, fixed-header
 * flags of each type, lengths inside the packet) and never reads past the
 * bytes given: bad input is ES_INVALID_ARGUMENT, never a crash.
 *
 * THREAD SAFETY: pure functions; an mqtt_stream_t belongs to one thread.
 */
#ifndef ES_LOAD_MQTT_H
#define ES_LOAD_MQTT_H

#include <stddef.h>
#include <stdint.h>

#define MQTT_MAX_PACKET (1024u * 1024) /* largest packet accepted or made, all included */

enum {
    MQTT_CONNECT = 1,
    MQTT_CONNACK = 2,
    MQTT_PUBLISH = 3,
    MQTT_PUBACK = 4,
    MQTT_SUBSCRIBE = 8,
    MQTT_SUBACK = 9,
    MQTT_PINGREQ = 12,
    MQTT_PINGRESP = 13,
    MQTT_DISCONNECT = 14,
};

/* A decoded packet. Pointers borrow the bytes given to mqtt_decode (or the
 * stream's buffer), valid until those bytes change. */
typedef struct mqtt_packet {
    unsigned type;             /* MQTT_* */
    unsigned flags;            /* low nibble of the first byte */
    uint16_t packet_id;        /* PUBLISH QoS 1, PUBACK, SUBSCRIBE, SUBACK; else 0 */
    unsigned qos;              /* PUBLISH */
    int dup, retain;           /* PUBLISH */
    const uint8_t *topic;      /* PUBLISH topic, SUBSCRIBE first filter */
    size_t topic_len;
    const uint8_t *payload;    /* PUBLISH payload, SUBACK return codes */
    size_t payload_len;
    unsigned session_present;  /* CONNACK */
    unsigned return_code;      /* CONNACK */
} mqtt_packet_t;

/* CONNECT, clean session, no will, no user name or password. */
int mqtt_connect(uint8_t *out, size_t cap, const char *client_id, uint16_t keepalive_s,
                 size_t *len);

/* SUBSCRIBE to one topic filter at `qos` (0 or 1); packet_id > 0. */
int mqtt_subscribe(uint8_t *out, size_t cap, uint16_t packet_id, const char *filter,
                   unsigned qos, size_t *len);

/* PUBLISH `payload` to `topic` at `qos` (0 or 1, packet_id > 0 with 1). */
int mqtt_publish(uint8_t *out, size_t cap, const char *topic, unsigned qos, uint16_t packet_id,
                 const uint8_t *payload, size_t payload_len, size_t *len);

/* PUBACK of packet_id (> 0). */
int mqtt_puback(uint8_t *out, size_t cap, uint16_t packet_id, size_t *len);

/* PINGREQ and DISCONNECT: two bytes each. */
int mqtt_pingreq(uint8_t *out, size_t cap, size_t *len);
int mqtt_disconnect(uint8_t *out, size_t cap, size_t *len);

/* Decode the packet at the start of data: 1 with *p and *used (its size in
 * bytes), 0 when data holds only part of it (read more), or
 * ES_INVALID_ARGUMENT (malformed, or over MQTT_MAX_PACKET). */
int mqtt_decode(const uint8_t *data, size_t len, mqtt_packet_t *p, size_t *used);

/* The bytes of a connection between websocket messages. Zero it to start;
 * mqtt_stream_clear frees it (and leaves it zeroed). */
typedef struct mqtt_stream {
    uint8_t *buf;
    size_t len, cap;
} mqtt_stream_t;

typedef void (*mqtt_packet_fn)(const mqtt_packet_t *p, void *user);

/* Add one websocket message's bytes and call fn for each whole packet now
 * available, in order (p borrowed for the call; fn must not feed the same
 * stream). The rest of a packet is kept for the next message. 0, or
 * ES_INVALID_ARGUMENT (malformed: the connection should be closed) or
 * ES_RESOURCE_EXHAUSTED (no memory). */
int mqtt_stream_feed(mqtt_stream_t *s, const uint8_t *data, size_t len, mqtt_packet_fn fn,
                     void *user);
void mqtt_stream_clear(mqtt_stream_t *s);

#endif
