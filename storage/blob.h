/*
 * blob.h - byte objects stored in pieces: an object of `size` bytes is kept
 * in a table of the caller's store as pieces under the key
 * id (BLOB_ID_BYTES) | offset (8, big-endian), each piece sealed by the store
 * like any value (encryption at rest). Used for uploads that arrive in
 * pieces and are read back in pieces (messaging attachments, dmp documents).
 *
 * An upload is resumable: pieces must arrive in order (blob_piece_check gives
 * the one rule both services apply), and the whole object is checked against
 * the BLAKE2b-256 (crypto_generichash, 32 bytes, no key) its uploader
 * announced once the last piece is in (blob_hash).
 *
 * Errors: 0, or a negative es_status from the store (ES_INTERNAL when the
 * stored pieces do not cover what was asked: a corrupt object).
 * THREAD SAFETY: as the transaction passed in (store.h).
 */
#ifndef ES_BLOB_H
#define ES_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

#define BLOB_ID_BYTES 16
#define BLOB_KEY_BYTES (BLOB_ID_BYTES + 8)
#define BLOB_HASH_BYTES 32 /* BLAKE2b-256 */

/* Store `len` bytes of object id at offset (one piece). */
int blob_put(store_txn_t *t, const char *table, const uint8_t id[BLOB_ID_BYTES], uint64_t offset,
             const void *data, size_t len);

/* Delete every piece of id (none: 0). */
int blob_delete(store_txn_t *t, const char *table, const uint8_t id[BLOB_ID_BYTES]);

/* BLAKE2b-256 of the pieces of id into out; they must cover [0, size)
 * exactly, in order (else ES_INTERNAL). */
int blob_hash(store_txn_t *t, const char *table, const uint8_t id[BLOB_ID_BYTES], uint64_t size,
              uint8_t out[BLOB_HASH_BYTES]);

/* Copy up to max bytes of id from offset (which must lie inside the stored
 * pieces) into buf (caller-provided, max bytes); *n the bytes copied. */
int blob_read(store_txn_t *t, const char *table, const uint8_t id[BLOB_ID_BYTES], uint64_t offset,
              uint8_t *buf, size_t max, size_t *n);

/* Why a piece is refused (blob_piece_check). */
typedef struct blob_err {
    int status;        /* negative es_status */
    const char *field; /* "offset" or "data" */
    char msg[96];      /* English, no data */
} blob_err_t;

/* The piece rule of a resumable upload: a piece of len bytes at offset, for
 * an object of size bytes whose next expected offset is next, is accepted
 * (0) when offset == next (else ES_FAILED_PRECONDITION on "offset", naming
 * next), 1 <= len <= max (ES_INVALID_ARGUMENT / ES_TOO_LARGE on "data"), it
 * stays within size (ES_INVALID_ARGUMENT), and len >= min unless it ends the
 * object (ES_INVALID_ARGUMENT). On refusal, err says why; returns its status. */
int blob_piece_check(uint64_t next, uint64_t size, uint64_t offset, size_t len, size_t min,
                     size_t max, blob_err_t *err);

#endif
