/*
 * status.h - the one error convention of espace.
 *
 * Every fallible function returns `int`: 0 (ES_OK) on success or a negative
 * es_status. The absolute values equal the protobuf enum espace.v1.Code
 * (proto/espace/v1/common.proto), so a C error becomes a wire status with
 * es_to_code() and back with es_from_code(), and nothing is lost in between.
 *
 * THREAD SAFETY: all functions are pure and thread-safe.
 */
#ifndef ES_STATUS_H
#define ES_STATUS_H

typedef enum es_status {
    ES_OK = 0,
    ES_INVALID_ARGUMENT = -1,   /* malformed or out-of-range input */
    ES_UNAUTHENTICATED = -2,    /* no valid session */
    ES_PERMISSION_DENIED = -3,  /* authenticated but not allowed */
    ES_NOT_FOUND = -4,          /* no such object */
    ES_ALREADY_EXISTS = -5,     /* unique key taken */
    ES_ABORTED = -6,            /* conflict (stale version) */
    ES_TOO_LARGE = -7,          /* above a size limit */
    ES_RESOURCE_EXHAUSTED = -8, /* rate limited, queue full, out of memory budget */
    ES_UNAVAILABLE = -9,        /* peer or service unreachable */
    ES_DEADLINE_EXCEEDED = -10, /* deadline passed */
    ES_INTERNAL = -11,          /* bug or storage failure */
    ES_UNIMPLEMENTED = -12,     /* unknown method */
    ES_FAILED_PRECONDITION = -13 /* state forbids the action */
} es_status;

/* Lowest (most negative) valid es_status. */
#define ES_STATUS_MIN ES_FAILED_PRECONDITION

/* Short English description of rc ("invalid argument"); "unknown error" for
 * values outside the enum. Never NULL; static storage. */
const char *es_strerror(int rc);

/* Stable machine name of rc ("INVALID_ARGUMENT"), as used in logs and CLIs. */
const char *es_status_name(int rc);

/* Wire code (espace.v1.Code value, >= 0) of rc; unknown values map to INTERNAL. */
int es_to_code(int rc);

/* es_status (<= 0) of a wire code; unknown codes map to ES_INTERNAL. */
int es_from_code(int code);

#endif
