/*
 * pieces.h - inside libespace: moving a byte object through a service in
 * pieces (messaging attachments, dmp documents). Not part of the public
 * manual (espace.h); never included by programs.
 *
 * Upload: begin (or resume) tells the offset the server expects; pieces of
 * at most `piece` bytes follow, each answered with the next offset; a piece
 * refused for its offset (ES_FAILED_PRECONDITION) or lost (deadline,
 * unavailable) makes the loop ask begin again, at most
 * ESPACE_PIECES_RETRIES times. Download: pieces from 0 until the declared
 * size, checked for consistency, then the BLAKE2b-256 of the whole against
 * the hash expected.
 */
#ifndef ESPACE_PIECES_H
#define ESPACE_PIECES_H

#include <stddef.h>
#include <stdint.h>

#include "clients/lib/conn.h"

#define ESPACE_PIECES_RETRIES 8
#define ESPACE_PIECES_HASH 32 /* BLAKE2b-256 */

/* A service's two upload calls, over its own context. */
typedef struct espace_pieces_up {
    /* Begin or resume: *next the expected offset; 1 if already complete,
     * 0, or a negative status (err set). */
    int (*begin)(void *ctx, uint64_t *next, espace_error_t *err);
    /* Send data[n] at off: *next and *complete from the reply; 0 or a
     * negative status. */
    int (*put)(void *ctx, uint64_t off, const uint8_t *data, size_t n, uint64_t *next,
               int *complete, espace_error_t *err);
} espace_pieces_up_t;

/* Upload data[len] (len > 0) through ops in pieces of `piece` bytes. */
int espace_pieces_upload(const espace_pieces_up_t *ops, void *ctx, const uint8_t *data,
                         size_t len, size_t piece, espace_error_t *err);

/* A service's download call: the piece at off into *data (borrowed from
 * *hold, freed by the loop with espace_free), the object's *size and its
 * hash (ESPACE_PIECES_HASH bytes, borrowed too). 0 or a negative status. */
typedef int (*espace_pieces_get_fn)(void *ctx, uint64_t off, ProtobufCBinaryData *data,
                                    uint64_t *size, ProtobufCBinaryData *hash,
                                    ProtobufCMessage **hold, espace_error_t *err);

/* Download a whole object of at most max bytes: *out (caller frees) and
 * *len. Its BLAKE2b-256 must equal `want` (NULL: the hash the server
 * announced), else ES_UNAUTHENTICATED on "hash" with message `mismatch`;
 * got (may be NULL) receives the hash computed. */
int espace_pieces_download(espace_pieces_get_fn get, void *ctx, uint64_t max,
                           const uint8_t *want, const char *mismatch, uint8_t **out,
                           size_t *len, uint8_t got[ESPACE_PIECES_HASH], espace_error_t *err);

#endif
