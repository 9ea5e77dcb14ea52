/*
 * codec.h - the one decode path for untrusted protobuf bytes.
 *
 * Every byte string that comes from outside a process (a bus frame, a
 * websocket message, a stored value) is turned into a protobuf-c message
 * here and nowhere else:
 *   size cap -> unpack with a budgeted allocator (at most
 *   CODEC_BUDGET_FACTOR x the wire size, so repeated fields cannot blow up
 *   memory) -> protobuf_c_message_check -> UTF-8 check of every string field,
 *   recursively, with nesting depth capped at CODEC_MAX_DEPTH.
 * protobuf-c 1.4.1 has no size cap, no depth limit and no UTF-8 validation
 * (STACK.md section 4): this module supplies all three.
 *
 * THREAD SAFETY: thread-safe; each decode has its own allocator state.
 */
#ifndef ES_CODEC_H
#define ES_CODEC_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#define CODEC_MAX_WIRE (1u << 20)  /* default cap on one encoded message: 1 MiB */
#define CODEC_BUDGET_FACTOR 8      /* decode memory budget = factor x wire size */
#define CODEC_BUDGET_MIN 4096      /* budget floor, for tiny messages */
#define CODEC_MAX_DEPTH 16         /* deepest nesting accepted */

/* Decode `len` bytes at `data` as a message of type `desc`.
 * `max` caps the wire size (0 = CODEC_MAX_WIRE).
 * Returns 0 and sets *out (free with codec_free), or:
 *   ES_TOO_LARGE        len > max;
 *   ES_INVALID_ARGUMENT malformed protobuf, a missing required field, a
 *                       string that is not valid UTF-8, nesting too deep;
 *   ES_RESOURCE_EXHAUSTED the decode went over its memory budget.
 * On error *out is NULL, nothing is leaked, and if `field` is not NULL it
 * receives a static description of the fault ("utf8", "budget", ...). */
int codec_decode(const ProtobufCMessageDescriptor *desc, const void *data, size_t len,
                 size_t max, ProtobufCMessage **out, const char **field);

/* Free a message returned by codec_decode. NULL is a no-op. */
void codec_free(ProtobufCMessage *msg);

/* Serialize msg into a new malloc'd buffer (*out, caller frees; a non-NULL
 * buffer even for an empty message) of *len bytes. ES_RESOURCE_EXHAUSTED on
 * allocation failure. */
int codec_pack(const ProtobufCMessage *msg, uint8_t **out, size_t *len);

/* 1 if s[0..len) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF,
 * no NUL byte), else 0. */
int codec_utf8_valid(const char *s, size_t len);

#endif
