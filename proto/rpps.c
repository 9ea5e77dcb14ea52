/*
 * rpps.c - RPPS format check (see rpps.h).
 */
#include "proto/rpps.h"

#include <stddef.h>

#include "proto/status.h"

int rpps_validate(const char *s)
{
    size_t n = 0;

    if (!s)
        return ES_INVALID_ARGUMENT;
    for (; s[n]; n++) {
        if (n >= RPPS_LEN || s[n] < '0' || s[n] > '9')
            return ES_INVALID_ARGUMENT;
    }
    return n == RPPS_LEN ? 0 : ES_INVALID_ARGUMENT;
}
