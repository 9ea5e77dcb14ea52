/*
 * json.h - a small JSON writer (es_export, for the FHIR exports of consent,
 * agenda and dmp): objects, arrays, strings with RFC 8259 escaping,
 * integers, decimals, instants and booleans, written into a growing buffer.
 * Commas are placed automatically.
 *
 * Usage:
 *   json_t j; json_init(&j);
 *   json_obj_open(&j, NULL); json_str(&j, "resourceType", "Consent"); ...
 *   json_obj_close(&j);
 *   char *s = json_take(&j, &len);   // caller frees; NULL on any error
 *
 * Errors (allocation failure, nesting deeper than JSON_MAX_DEPTH, unbalanced
 * closes, output over JSON_MAX_OUT) are sticky: later calls do nothing and
 * json_take returns NULL.
 *
 * THREAD SAFETY: a json_t belongs to one thread.
 */
#ifndef ES_JSON_H
#define ES_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 32          /* nesting of objects/arrays */
#define JSON_MAX_OUT (900u << 10)  /* output cap: fits a bus reply */

typedef struct json {
    char *buf;                      /* output, NUL-terminated when len > 0 */
    size_t len;                     /* bytes written */
    size_t cap;                     /* bytes allocated */
    int err;                        /* sticky error flag */
    int depth;                      /* open containers */
    uint8_t first[JSON_MAX_DEPTH];  /* 1 while the container at depth has no member */
} json_t;

void json_init(json_t *j);
/* Free the buffer (after an error, or instead of json_take). */
void json_free(json_t *j);

/* `key` is the member name inside an object, NULL inside an array or at top. */
void json_obj_open(json_t *j, const char *key);
void json_obj_close(json_t *j);
void json_arr_open(json_t *j, const char *key);
void json_arr_close(json_t *j);
void json_str(json_t *j, const char *key, const char *val);
void json_int(json_t *j, const char *key, int64_t val);
/* A finite number in the shortest decimal form that reads back the same to
 * 15 digits (FHIR decimal); NaN or infinity sets the sticky error. */
void json_num(json_t *j, const char *key, double val);
void json_bool(json_t *j, const char *key, int val);
/* An instant (ms since the epoch) as a FHIR instant string,
 * "YYYY-MM-DDThh:mm:ss.sssZ" (UTC). */
void json_instant(json_t *j, const char *key, int64_t ms);

/* The document (malloc'd, NUL-terminated; caller frees) and its length, or
 * NULL after an error or with containers still open. Resets j. */
char *json_take(json_t *j, size_t *len);

#endif
