/*
 * frames.h - the validating parser of the bus's multipart frames
 * (docs/protocol.md), shared by the broker and the bus library.
 *
 * Input: an array of borrowed (pointer, length) frames, as received (the
 * ROUTER routing id already stripped). Output: the command and borrowed
 * pointers to its frames; every count and size is checked, nothing is
 * decoded (protobuf frames go through codec_decode afterwards).
 *
 * Also three small ZeroMQ helpers: receive a whole multipart message into an
 * array of zmq_msg_t (bounded), send an array of frames, and wait for input
 * until a deadline.
 *
 * THREAD SAFETY: pure functions; the zmq helpers follow the socket's owner.
 */
#ifndef ES_FRAMES_H
#define ES_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define FRAMES_MAX 8          /* most frames in any bus message (+ routing id) */
#define FRAMES_MAX_ROUTE 256  /* longest client route in worker frames */
#define FRAMES_TICKET 8       /* ticket frame size */

typedef struct frame_ref {
    const uint8_t *data; /* borrowed */
    size_t len;
} frame_ref_t;

typedef enum frames_kind {
    FRAMES_NONE = 0,
    FRAMES_C_REQUEST,    /* "EC01" 0x01 service Request [Caller] */
    FRAMES_C_REPLY,      /* "EC01" 0x02 service Reply */
    FRAMES_C_AUTH,       /* "EC01" 0x03 Request */
    FRAMES_W_READY,      /* "EW01" 0x01 WorkerReady */
    FRAMES_W_REQUEST,    /* "EW01" 0x02 route ticket Caller Request */
    FRAMES_W_REPLY,      /* "EW01" 0x03 route ticket Reply */
    FRAMES_W_HEARTBEAT,  /* "EW01" 0x05 */
    FRAMES_W_DISCONNECT  /* "EW01" 0x06 */
} frames_kind_t;

/* A parsed message; every pointer borrows from the input frames. Absent
 * frames have data NULL and len 0. */
typedef struct frames_msg {
    frames_kind_t kind;
    frame_ref_t service; /* C_REQUEST, C_REPLY (length 0..FRAMES_MAX_SERVICE_RAW) */
    frame_ref_t body;    /* Request / Reply / WorkerReady */
    frame_ref_t caller;  /* C_REQUEST (optional), W_REQUEST */
    frame_ref_t route;   /* W_REQUEST, W_REPLY: 1..FRAMES_MAX_ROUTE bytes */
    frame_ref_t ticket;  /* W_REQUEST, W_REPLY: FRAMES_TICKET bytes */
} frames_msg_t;

/* Longest service frame the parser lets through; names over BUS_MAX_SERVICE
 * are then answered INVALID_ARGUMENT by the broker (frames_service_valid). */
#define FRAMES_MAX_SERVICE_RAW 255

/* Parse n frames. 0 and *out filled, or ES_INVALID_ARGUMENT (wrong header,
 * unknown command, wrong frame count, a frame of the wrong size). */
int frames_parse(const frame_ref_t *frames, size_t n, frames_msg_t *out);

/* 1 if the service frame is a valid name: 1..BUS_MAX_SERVICE bytes of
 * [A-Za-z0-9._-]. */
int frames_service_valid(frame_ref_t service);

/* Receive one whole multipart message into msgs[0..max) (each initialised
 * here; close them with frames_close). Returns 0 and *n, ES_NOT_FOUND when
 * nothing is waiting (flags ZMQ_DONTWAIT), ES_INVALID_ARGUMENT when the
 * message had more than max parts (all parts consumed and closed), or
 * ES_INTERNAL on another socket error. */
int frames_recv(void *sock, zmq_msg_t *msgs, size_t max, size_t *n, int flags);

/* Close msgs[0..n). */
void frames_close(zmq_msg_t *msgs, size_t n);

/* Send n frames as one message with ZMQ_DONTWAIT. 0, or
 * ES_RESOURCE_EXHAUSTED (EAGAIN), ES_UNAVAILABLE (EHOSTUNREACH), ES_INTERNAL. */
int frames_send(void *sock, const frame_ref_t *frames, size_t n);

/* Send msgs[0..n) (as received by frames_recv) as one message with
 * ZMQ_DONTWAIT, without copying their bytes: each is shared with
 * zmq_msg_copy (reference counted), so msgs stay valid and the caller's to
 * close. Same results as frames_send. */
int frames_forward(void *sock, zmq_msg_t *msgs, size_t n);

/* Wait until sock has input or the deadline passes (bus_mono_ms clock;
 * deadline < 0: no deadline). 0 when it may be read again (input, or an
 * interrupted wait), ES_DEADLINE_EXCEEDED when the deadline has passed,
 * ES_INTERNAL on a socket error. */
int frames_wait(void *sock, int64_t deadline);

#endif
