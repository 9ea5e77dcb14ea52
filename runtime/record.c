/*
 * record.c - a service's stored records (record.h).
 */
#include "runtime/record.h"

#include <stdlib.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/status.h"

int record_load(store_txn_t *t, const char *comp, const char *table, const void *key,
                size_t klen, const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
    const void *val = NULL;
    size_t vlen = 0;
    *out = NULL;
    int rc = store_get(t, table, key, klen, &val, &vlen);
    if (rc != 0)
        return rc;
    if (codec_decode(d, val, vlen, STORE_MAX_VALUE, out, NULL) != 0) {
        log_error(comp, "record.corrupt", "table=%s", table);
        return ES_INTERNAL;
    }
    return ES_OK;
}

int record_save(store_txn_t *t, const char *table, const void *key, size_t klen,
                const ProtobufCMessage *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = codec_pack(m, &buf, &len);
    if (rc != 0)
        return rc;
    rc = store_put(t, table, key, klen, buf, len);
    free(buf);
    return rc;
}
