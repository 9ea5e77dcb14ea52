#include "proto/status.h"

static const struct {
    const char *name;
    const char *text;
} s_status[] = {
    {"OK", "ok"},
    {"INVALID_ARGUMENT", "invalid argument"},
    {"UNAUTHENTICATED", "unauthenticated"},
    {"PERMISSION_DENIED", "permission denied"},
    {"NOT_FOUND", "not found"},
    {"ALREADY_EXISTS", "already exists"},
    {"ABORTED", "aborted (conflict)"},
    {"TOO_LARGE", "too large"},
    {"RESOURCE_EXHAUSTED", "resource exhausted"},
    {"UNAVAILABLE", "unavailable"},
    {"DEADLINE_EXCEEDED", "deadline exceeded"},
    {"INTERNAL", "internal error"},
    {"UNIMPLEMENTED", "unimplemented"},
    {"FAILED_PRECONDITION", "failed precondition"},
};

static int s_index(int rc)
{
    if (rc > 0 || rc < ES_STATUS_MIN)
        return -1;
    return -rc;
}

const char *es_strerror(int rc)
{
    int i = s_index(rc);
    return i < 0 ? "unknown error" : s_status[i].text;
}

const char *es_status_name(int rc)
{
    int i = s_index(rc);
    return i < 0 ? "UNKNOWN" : s_status[i].name;
}

int es_to_code(int rc)
{
    int i = s_index(rc);
    return i < 0 ? -ES_INTERNAL : i;
}

int es_from_code(int code)
{
    if (code < 0 || code > -ES_STATUS_MIN)
        return ES_INTERNAL;
    return -code;
}
