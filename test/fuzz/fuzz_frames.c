/*
 * fuzz_frames.c - libFuzzer target for the bus frame parser (frames.h).
 *
 * Input layout: byte 0 = frame count (mod FRAMES_MAX + 2, so too many is
 * reachable too), then per frame a 2-byte big-endian length and that many
 * bytes (truncated at the end of the input). A parsed message's protobuf
 * frames are then fed to codec_decode as the broker would.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bus/bus.h"
#include "bus/codec.h"
#include "bus/frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    frame_ref_t f[FRAMES_MAX + 2];
    size_t n = data[0] % (FRAMES_MAX + 2);
    size_t pos = 1;
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        if (pos + 2 <= size) {
            len = ((size_t)data[pos] << 8) | data[pos + 1];
            pos += 2;
        } else {
            pos = size;
        }
        if (len > size - pos)
            len = size - pos;
        f[i].data = data + pos;
        f[i].len = len;
        pos += len;
    }
    frames_msg_t m;
    if (frames_parse(f, n, &m) != 0)
        return 0;
    (void)frames_service_valid(m.service);
    ProtobufCMessage *msg = NULL;
    const ProtobufCMessageDescriptor *d = NULL;
    switch (m.kind) {
    case FRAMES_C_REQUEST:
    case FRAMES_C_AUTH:
    case FRAMES_W_REQUEST:
        d = &espace__v1__request__descriptor;
        break;
    case FRAMES_C_REPLY:
    case FRAMES_W_REPLY:
        d = &espace__v1__reply__descriptor;
        break;
    case FRAMES_W_READY:
        d = &espace__v1__worker_ready__descriptor;
        break;
    default:
        break;
    }
    if (d != NULL && codec_decode(d, m.body.data, m.body.len, BUS_MAX_MSG, &msg, NULL) == 0)
        codec_free(msg);
    msg = NULL;
    if (m.caller.data != NULL &&
        codec_decode(&espace__v1__caller__descriptor, m.caller.data, m.caller.len, BUS_MAX_MSG,
                     &msg, NULL) == 0)
        codec_free(msg);
    return 0;
}
