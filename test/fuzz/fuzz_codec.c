/* libFuzzer target: the untrusted-bytes decode path (bus/codec.c) over the
 * message types that arrive from the network. The first byte picks the type. */
#include <stddef.h>
#include <stdint.h>

#include "espace/v1/bus.pb-c.h"
#include "bus/codec.h"
#include "espace/v1/common.pb-c.h"
#include "espace/v1/identity.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ProtobufCMessageDescriptor *types[] = {
        &espace__v1__request__descriptor,
        &espace__v1__reply__descriptor,
        &espace__v1__caller__descriptor,
        &espace__v1__event__descriptor,
        &espace__v1__worker_ready__descriptor,
        &espace__v1__sign_up_patient_request__descriptor,
        &espace__v1__login_request__descriptor,
        &espace__v1__get_device_keys_reply__descriptor,
    };
    if (size < 1)
        return 0;
    const ProtobufCMessageDescriptor *d = types[data[0] % (sizeof types / sizeof types[0])];
    ProtobufCMessage *m = NULL;
    if (codec_decode(d, data + 1, size - 1, 4096, &m, NULL) == 0) {
        uint8_t *buf = NULL;
        size_t len = 0;
        if (codec_pack(m, &buf, &len) == 0)
            __builtin_free(buf);
        codec_free(m);
    }
    return 0;
}
