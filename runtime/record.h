/*
 * record.h - a service's stored records: one protobuf message per store
 * value, packed with codec_pack and read back through codec_decode (the one
 * decode path for untrusted bytes: a store could be damaged). Shared by the
 * services (messaging and dmp use it) so each does not keep its own copy.
 *
 * THREAD SAFETY: as the transaction passed in (storage/store.h).
 */
#ifndef ES_RECORD_H
#define ES_RECORD_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "storage/store.h"

/* Load the record at key of table as a message of type d: 0 and *out (free
 * with codec_free), ES_NOT_FOUND, a storage error, or ES_INTERNAL (logged
 * under component `comp`) if the value does not decode. */
int record_load(store_txn_t *t, const char *comp, const char *table, const void *key,
                size_t klen, const ProtobufCMessageDescriptor *d, ProtobufCMessage **out);

/* Pack m and store it at key of table. 0 or a negative es_status. */
int record_save(store_txn_t *t, const char *table, const void *key, size_t klen,
                const ProtobufCMessage *m);

#endif
