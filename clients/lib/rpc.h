/*
 * rpc.h - inside libespace: what the per-service files (identity.c,
 * consent.c, agenda.c, and messaging.c, dmp.c ... to come) share. Not part
 * of the public manual (espace.h); never included by programs.
 *
 * A typed call is espace_rpc with the service's bus name (proto/names.h
 * SERVICE_*), its descriptor from the schema (espace__v1__<service>__descriptor,
 * the `service` block of proto/espace/v1/<service>.proto) and the method's
 * name there: the request and reply types come from the descriptor, so a
 * method missing from the schema, or a request of the wrong type, is refused
 * (ES_INTERNAL) before anything is sent.
 *
 * Adding a service: <service>.h (typed calls, included by espace.h) and
 * <service>.c (each call: check arguments, fill the request, espace_rpc),
 * one line in espace.h and in CMakeLists.txt.
 */
#ifndef ESPACE_RPC_H
#define ESPACE_RPC_H

#include "clients/lib/conn.h"

/* Call `method` of the service `service` (bus name) described by `d`.
 * On success *reply (may be NULL to ignore it) is the reply, of the
 * method's output type (free with espace_free). */
int espace_rpc(espace_t *e, const char *service, const ProtobufCServiceDescriptor *d,
               const char *method, const ProtobufCMessage *req, ProtobufCMessage **reply,
               espace_error_t *err);

/* End a typed call: hand the reply m (ProtobufCMessage *, may be NULL) to
 * the caller's typed `out` (Espace__V1__<X>Reply **), or free it when out is
 * NULL, and return rc. */
#define ESPACE_RETURN_REPLY(out, m, rc)                                                       \
    do {                                                                                      \
        if (out)                                                                              \
            *(out) = (void *)(m);                                                             \
        else                                                                                  \
            espace_free(m);                                                                   \
        return (rc);                                                                          \
    } while (0)

/* Fill *err (when not NULL): status, field (NULL = "") and a printf
 * message (NULL = ""). Returns status. */
int espace_err_set(espace_error_t *err, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Move *cursor to the page after the one just read: next is the reply's
 * next_cursor. cursor->more = 0 at the end (or for a cursor longer than
 * ESPACE_CURSOR_MAX, which no service sends). */
void espace_cursor_advance(espace_cursor_t *cursor, const ProtobufCBinaryData *next);

/* The session principal, as the login reply named it. */
void espace_principal_set(espace_t *e, const char *principal);

#endif
