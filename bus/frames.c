/*
 * frames.c - validating parser of bus frames (see frames.h).
 */
#include "bus/frames.h"

#include <errno.h>
#include <string.h>

#include "bus/bus.h"
#include "proto/status.h"

static int s_is(frame_ref_t f, const char *lit, size_t len)
{
    return f.len == len && f.data != NULL && memcmp(f.data, lit, len) == 0;
}

static int s_route_ok(frame_ref_t f)
{
    return f.data != NULL && f.len >= 1 && f.len <= FRAMES_MAX_ROUTE;
}

static int s_body_ok(frame_ref_t f)
{
    return (f.data != NULL || f.len == 0) && f.len <= BUS_MAX_MSG;
}

int frames_parse(const frame_ref_t *frames, size_t n, frames_msg_t *out)
{
    memset(out, 0, sizeof(*out));
    if (frames == NULL || n < 2 || n > FRAMES_MAX)
        return ES_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (frames[i].data == NULL && frames[i].len != 0)
            return ES_INVALID_ARGUMENT;
    if (frames[1].len != 1)
        return ES_INVALID_ARGUMENT;
    uint8_t cmd = frames[1].data[0];

    if (s_is(frames[0], BUS_CLIENT_PROTO, 4)) {
        switch (cmd) {
        case BUS_C_REQUEST:
        case BUS_C_REPLY:
            if (cmd == BUS_C_REQUEST ? (n != 4 && n != 5) : n != 4)
                return ES_INVALID_ARGUMENT;
            if (frames[2].len > FRAMES_MAX_SERVICE_RAW || !s_body_ok(frames[3]))
                return ES_INVALID_ARGUMENT;
            out->kind = cmd == BUS_C_REQUEST ? FRAMES_C_REQUEST : FRAMES_C_REPLY;
            out->service = frames[2];
            out->body = frames[3];
            if (n == 5) {
                if (!s_body_ok(frames[4]))
                    return ES_INVALID_ARGUMENT;
                out->caller = frames[4];
            }
            return 0;
        case BUS_C_AUTH:
            if (n != 3 || !s_body_ok(frames[2]))
                return ES_INVALID_ARGUMENT;
            out->kind = FRAMES_C_AUTH;
            out->body = frames[2];
            return 0;
        default:
            return ES_INVALID_ARGUMENT;
        }
    }
    if (s_is(frames[0], BUS_WORKER_PROTO, 4)) {
        switch (cmd) {
        case BUS_W_READY:
            if (n != 3 || !s_body_ok(frames[2]))
                return ES_INVALID_ARGUMENT;
            out->kind = FRAMES_W_READY;
            out->body = frames[2];
            return 0;
        case BUS_W_REQUEST:
            if (n != 6 || !s_route_ok(frames[2]) || frames[3].len != FRAMES_TICKET ||
                !s_body_ok(frames[4]) || !s_body_ok(frames[5]))
                return ES_INVALID_ARGUMENT;
            out->kind = FRAMES_W_REQUEST;
            out->route = frames[2];
            out->ticket = frames[3];
            out->caller = frames[4];
            out->body = frames[5];
            return 0;
        case BUS_W_REPLY:
            if (n != 5 || !s_route_ok(frames[2]) || frames[3].len != FRAMES_TICKET ||
                !s_body_ok(frames[4]))
                return ES_INVALID_ARGUMENT;
            out->kind = FRAMES_W_REPLY;
            out->route = frames[2];
            out->ticket = frames[3];
            out->body = frames[4];
            return 0;
        case BUS_W_HEARTBEAT:
        case BUS_W_DISCONNECT:
            if (n != 2)
                return ES_INVALID_ARGUMENT;
            out->kind = cmd == BUS_W_HEARTBEAT ? FRAMES_W_HEARTBEAT : FRAMES_W_DISCONNECT;
            return 0;
        default:
            return ES_INVALID_ARGUMENT;
        }
    }
    return ES_INVALID_ARGUMENT;
}

int frames_service_valid(frame_ref_t service)
{
    if (service.data == NULL || service.len == 0 || service.len > BUS_MAX_SERVICE)
        return 0;
    for (size_t i = 0; i < service.len; i++) {
        uint8_t c = service.data[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

void frames_close(zmq_msg_t *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&msgs[i]);
}

int frames_wait(void *sock, int64_t deadline)
{
    long wait = -1;
    if (deadline >= 0) {
        wait = (long)(deadline - bus_mono_ms());
        if (wait <= 0)
            return ES_DEADLINE_EXCEEDED;
    }
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, wait) < 0 && zmq_errno() != EINTR)
        return ES_INTERNAL;
    return 0;
}

int frames_recv(void *sock, zmq_msg_t *msgs, size_t max, size_t *n, int flags)
{
    size_t count = 0;
    int too_many = 0;
    *n = 0;
    for (;;) {
        zmq_msg_t tmp;
        zmq_msg_t *m = count < max ? &msgs[count] : &tmp;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, count == 0 ? flags : 0) < 0) {
            int err = zmq_errno();
            zmq_msg_close(m);
            frames_close(msgs, count < max ? count : max);
            if (count == 0 && err == EAGAIN)
                return ES_NOT_FOUND;
            return ES_INTERNAL;
        }
        int more = zmq_msg_more(m);
        if (count < max) {
            count++;
        } else {
            too_many = 1;
            zmq_msg_close(m);
        }
        if (!more)
            break;
    }
    if (too_many) {
        frames_close(msgs, count);
        return ES_INVALID_ARGUMENT;
    }
    *n = count;
    return 0;
}

static int s_send_errno(void)
{
    int err = zmq_errno();
    if (err == EAGAIN)
        return ES_RESOURCE_EXHAUSTED;
    if (err == EHOSTUNREACH)
        return ES_UNAVAILABLE;
    return ES_INTERNAL;
}

int frames_forward(void *sock, zmq_msg_t *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_copy(&m, &msgs[i]) != 0) {
            zmq_msg_close(&m);
            return ES_INTERNAL;
        }
        int flags = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_msg_send(&m, sock, flags) < 0) {
            int rc = s_send_errno();
            zmq_msg_close(&m);
            return rc;
        }
    }
    return 0;
}

int frames_send(void *sock, const frame_ref_t *frames, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
        const void *data = frames[i].len ? (const void *)frames[i].data : "";
        if (zmq_send(sock, data, frames[i].len, flags) < 0)
            return s_send_errno();
    }
    return 0;
}
