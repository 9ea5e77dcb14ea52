/*
 * ids.h - the 128-bit identifiers of the API (patients, devices, sessions,
 * events, grants, ...) and their text form: 32 lower-case hex digits, the
 * form they take in topics, logs, command lines and JSON exports.
 *
 * One implementation for every peer: services, the edge, libespace and the
 * command lines parse and print ids here, nowhere else.
 *
 * THREAD SAFETY: pure functions.
 */
#ifndef ES_IDS_H
#define ES_IDS_H

#include <stddef.h>
#include <stdint.h>

#define ID_BYTES 16             /* every id of the API */
#define ID_HEX (2 * ID_BYTES + 1) /* its text form, with the NUL */

/* 1 if `s` is exactly 32 lower-case hex digits, else 0 (NULL gives 0). */
int id_hex_valid(const char *s);

/* Parse the text form into out. 0, or ES_INVALID_ARGUMENT (out untouched)
 * when `hex` is not exactly 32 lower-case hex digits. */
int id_parse(const char *hex, uint8_t out[ID_BYTES]);

/* Write the text form of `id` into out; returns out. */
const char *id_hex(const uint8_t id[ID_BYTES], char out[ID_HEX]);

/* The same for a protobuf bytes field: out = "" unless len == ID_BYTES.
 * Returns out. */
const char *id_hex_bytes(const uint8_t *data, size_t len, char out[ID_HEX]);

#endif
