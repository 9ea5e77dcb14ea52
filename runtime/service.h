/*
 * service.h - the service runtime: what makes a bus worker of a service.
 *
 * A service declares its methods in a table (svc_def_t); svc_run opens its
 * store (<data>/<name>), registers as a worker and loops:
 *   1. drain up to STORE_GROUP_MAX requests waiting on the worker socket;
 *   2. decode each body with codec_decode as the method's request type
 *      (unknown method -> UNIMPLEMENTED, bad body -> INVALID_ARGUMENT);
 *   3. run the read methods in one read transaction, and the write methods
 *      (SVC_WRITE) through store_write_group: one nested transaction each,
 *      one durable commit for all (group commit);
 *   4. only then send every reply and publish the events the handlers queued.
 * Before a handler runs, the runtime checks the caller: methods without
 * SVC_PUBLIC need an authenticated caller (kind != PRINCIPAL_NONE) and get
 * UNAUTHENTICATED otherwise; SVC_OPERATOR methods need PRINCIPAL_OPERATOR
 * and get PERMISSION_DENIED otherwise.
 *
 * A handler returns 0 to keep its writes or a negative es_status to discard
 * them. The reply is what it set with svc_reply, or the status it set with
 * svc_fail: `return svc_fail(...)` fails and discards; `svc_fail(...);
 * return 0;` fails but keeps the writes (e.g. counting a failed login).
 * A handler may be run twice for one request (replay after the map grew):
 * it must not have effects outside its transaction except through
 * svc_reply / svc_fail / svc_publish, which the replay resets.
 *
 * PERIODIC WORK (svc_def_t.tick): a service may ask to be called every
 * tick_ms milliseconds, e.g. to fire due reminders. svc_run calls
 * tick(state, call, txn) between batches, inside a write group of its own
 * (one nested transaction, committed durably) with a call handle that works
 * like a request's: svc_publish queues events sent after the commit,
 * svc_now_ms gives the wall clock, svc_caller is PRINCIPAL_SERVICE with the
 * service's name, svc_request_id is 0, svc_reply / svc_fail are accepted and
 * ignored (svc_fail only sets what is logged). Return 0 to keep the writes
 * and publish, SVC_TICK_AGAIN to keep them, publish, and be called again at
 * once (more work than SVC_MAX_EVENTS events, say; waiting requests are
 * served in between), or a negative es_status to discard them (logged; the
 * next tick comes after tick_ms). The first tick runs tick_ms after svc_run
 * started and only once the broker acknowledged the worker (by then the
 * publisher's connection had time to come up, so events of the first tick
 * are not lost to a publisher still connecting); later ones about every
 * tick_ms (never earlier; later while a batch runs). Like a handler, tick may
 * be replayed (map growth) and must have no effect outside its transaction
 * except through svc_publish.
 *
 * THREAD SAFETY: svc_run runs on the calling thread and owns everything it
 * opens; run several services on several threads.
 */
#ifndef ES_SERVICE_H
#define ES_SERVICE_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "bus/bus.h"
#include "storage/store.h"

typedef struct svc_call svc_call_t;

/* Limits (runtime/service.c). One batch holds at most STORE_GROUP_MAX
 * requests and about SVC_BATCH_BYTES of request bodies, plus at most
 * SVC_BATCH_BYTES of reply bodies and queued events together. */
#define SVC_MAX_EVENTS 16                  /* svc_publish calls per request */
#define SVC_MAX_MESSAGE 256                /* svc_fail message, NUL included */
#define SVC_MAX_FIELD 128                  /* svc_fail field, NUL included */
#define SVC_BATCH_BYTES ((size_t)32 << 20) /* bodies held by one batch */

/* Method flags */
#define SVC_WRITE 0x1    /* runs inside the group-commit write transaction */
#define SVC_PUBLIC 0x2   /* callable without a session */
#define SVC_OPERATOR 0x4 /* only the local operator */

/* tick return value: keep the writes and call again at once. */
#define SVC_TICK_AGAIN 1
#define SVC_TICK_MIN_MS 10 /* shortest tick period accepted (shorter = this) */

typedef int (*svc_handler_fn)(void *state, svc_call_t *call, const ProtobufCMessage *req,
                              store_txn_t *txn);

/* Periodic work of a service (svc_def_t.tick): `call` is the tick's handle
 * (svc_publish, svc_now_ms), `txn` its write transaction. */
typedef int (*svc_tick_fn)(void *state, svc_call_t *call, store_txn_t *txn);

typedef struct svc_method {
    const char *name;                         /* Request.method */
    const ProtobufCMessageDescriptor *request; /* body type; NULL = body ignored,
                                                  handler gets req = NULL */
    svc_handler_fn handler;
    unsigned flags;                           /* SVC_* */
} svc_method_t;

/* What svc_run hands to init: the service's store and its publisher. */
typedef struct svc_env {
    store_t *store;     /* the service's own store, open */
    const char *data_dir; /* <data>/<name> */
    const bus_conn_t *bus; /* the broker endpoint the service uses, for services that call
                            * others (authz.h); borrowed for the life of svc_run */
} svc_env_t;

typedef struct svc_def {
    const char *name;               /* bus service name and data subfolder */
    const char **tables;            /* NULL-terminated table names */
    const svc_method_t *methods;
    size_t n_methods;
    /* The service's `service` block in proto/espace/v1 (generated
     * descriptor): when set, svc_run refuses to start unless the method
     * table matches it exactly (svc_def_check). NULL only for test services. */
    const ProtobufCServiceDescriptor *api;
    /* Called once after the store opened; *state is passed to handlers.
     * May be NULL (state = NULL). A non-zero return makes svc_run return it. */
    int (*init)(const svc_env_t *env, void **state);
    /* Called once at stop (may be NULL). */
    void (*fini)(void *state);
    /* Periodic work (may be NULL; see PERIODIC WORK above): 0, SVC_TICK_AGAIN
     * or a negative es_status. */
    svc_tick_fn tick;
    unsigned tick_ms; /* period of tick, ms (>= SVC_TICK_MIN_MS) */
} svc_def_t;

/* Check def's method table against def->api: every method is an rpc of the
 * api with the same request message, and every rpc has a method. 0 (also
 * when def->api is NULL), or ES_INTERNAL with the first mismatch written
 * into err (n bytes). */
int svc_def_check(const svc_def_t *def, char *err, size_t n);

typedef struct svc_opts {
    const char *data_dir;   /* root data folder */
    bus_conn_t bus;         /* broker request endpoint (worker side) */
    bus_conn_t pub;         /* broker events-in endpoint (publisher); with
                               pub.endpoint NULL, svc_publish succeeds and the
                               events go nowhere */
    uint32_t capacity;      /* requests in flight; 0 = STORE_GROUP_MAX */
    int stop_fd;            /* svc_run returns when readable (-1: never);
                               the batch in progress is finished and answered
                               first; the fd is not read */
    int ready_fd;           /* if >= 0, one byte written once registered */
    int no_sync;            /* store without fsync (tests only) */
} svc_opts_t;

/* Run the service until stop_fd is readable. 0 after a clean stop, or a
 * negative es_status if it could not start (store, bus, init).
 * Creates opts->data_dir (0700) if missing, and its own ZeroMQ context.
 * Within one batch the write methods run (and commit) before the read
 * methods, so a read pipelined after a write sees it. Each request is logged
 * at debug level (event=request method= rid= status= us=), at info level when
 * its status is INTERNAL or UNAVAILABLE. */
int svc_run(const svc_def_t *def, const svc_opts_t *opts);

/* ---- for handlers ---- */

/* Caller as stamped by the broker (never NULL). */
const Espace__V1__Caller *svc_caller(const svc_call_t *c);

/* Request id, for logs. */
uint64_t svc_request_id(const svc_call_t *c);

/* Wall-clock time of the group the request runs in, ms since the epoch. */
int64_t svc_now_ms(const svc_call_t *c);

/* Set the reply body (packed now; the message may be freed afterwards).
 * Returns 0 or ES_RESOURCE_EXHAUSTED (allocation, or the batch's
 * SVC_BATCH_BYTES); also ES_TOO_LARGE when the body cannot fit in a bus
 * message. A later call replaces the body; reply = NULL clears it. */
int svc_reply(svc_call_t *c, const ProtobufCMessage *reply);

/* Set an error reply: status, the dotted field path at fault (or NULL), and
 * a message (printf format; English, no personal data). Returns `status`.
 * The message is cut at SVC_MAX_MESSAGE - 1 bytes, the field at
 * SVC_MAX_FIELD - 1; a status that is not a negative es_status becomes
 * ES_INTERNAL (and is what is returned). fmt NULL = es_strerror(status). */
int svc_fail(svc_call_t *c, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Queue an event, published after the commit if the handler returns 0
 * (even after svc_fail, as its writes were kept); the body is packed now.
 * ES_INVALID_ARGUMENT for an empty or over-BUS_MAX_TOPIC topic or NULL body,
 * ES_RESOURCE_EXHAUSTED past SVC_MAX_EVENTS events in this call (or the
 * batch's SVC_BATCH_BYTES), ES_TOO_LARGE for a body over the bus limit. */
int svc_publish(svc_call_t *c, const char *topic, const ProtobufCMessage *body);

#endif
