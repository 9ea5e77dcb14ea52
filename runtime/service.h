/*
 * service.h - the service runtime: what makes a bus worker of a service.
 *
 * A service declares its methods in a table (svc_def_t); svc_run opens its
 * store (<data>/<name>), registers as a worker and loops:
 *   1. take the requests whose consent decision arrived (ACCESS below),
 *      then drain up to STORE_GROUP_MAX requests waiting on the worker
 *      socket;
 *   2. decode each body with codec_decode as the method's request type
 *      (unknown method -> UNIMPLEMENTED, bad body -> INVALID_ARGUMENT), and
 *      resolve the access of guarded methods (parking those consent must
 *      decide);
 *   3. run the read methods in one read transaction, and the write methods
 *      (SVC_WRITE) through store_write_group: one transaction for the group
 *      (a request failing after writing is replayed out of it), one durable
 *      commit for all (group commit);
 *   4. only then send every reply and publish the events the handlers queued.
 * Before a handler runs, the runtime checks the caller: methods without
 * SVC_PUBLIC need an authenticated caller (kind != PRINCIPAL_NONE) and get
 * UNAUTHENTICATED otherwise; SVC_OPERATOR methods need PRINCIPAL_OPERATOR
 * and get PERMISSION_DENIED otherwise; methods with a guard need the
 * patient's consent (ACCESS below). A request whose deadline has passed
 * by the time its handler would start (svc_remaining_ms) is answered
 * DEADLINE_EXCEEDED without running: its caller was answered already, and
 * the broker counts it against this worker until this answer comes. Between
 * two requests of a batch a heartbeat goes out when one is due, so a long
 * batch never makes the broker take the worker for a dead one.
 *
 * ACCESS (svc_def_t.guards): a data service declares, per method, the
 * access the method needs: a category and an action, and the request
 * fields naming the patient and (optionally) a detail code. Before such a
 * request joins a batch, the runtime resolves it (runtime/authz.h):
 *   - patient = the request's patient field; empty = the caller when the
 *     caller is a patient, else INVALID_ARGUMENT (field = the patient
 *     field); not 32 lower-case hex: INVALID_ARGUMENT; a detail over
 *     AUTHZ_MAX_DETAIL bytes: INVALID_ARGUMENT (field = the detail field);
 *   - a patient naming another patient: PERMISSION_DENIED on the patient
 *     field, before consent is asked (so another patient's trail is not
 *     filled with denials);
 *   - the patient on their own data: allowed at once, in the same batch;
 *   - anyone else: an asynchronous consent Decide (which decides, deny by
 *     default, and appends the access to the patient's audit trail) on the
 *     runtime's own bus client. The request is parked meanwhile and the loop
 *     goes on serving others: many Decides are in flight, matched by id, each
 *     with a deadline of AUTHZ_TIMEOUT_MS. When the decision arrives the
 *     request joins the next batch: allowed, its handler runs and reads the
 *     decision with svc_access(); denied, it is answered PERMISSION_DENIED
 *     with consent's reason; consent unreachable or silent past the
 *     deadline, UNAVAILABLE. A denied request never reaches the handler or
 *     the store. No decision is cached: a revocation holds from the next
 *     request.
 * HOLDERS (svc_def_t.holders): when the patient calls a guarded method on
 * their own data naming someone else who must hold a grant (the hook says
 * who), the runtime asks consent "HoldsGrant" for that principal the same
 * asynchronous way (parked meanwhile). Consent records nothing for it: the
 * patient acts on their own data. Allowed, the handler runs (svc_access:
 * basis GRANT, the holder's grant id); denied, PERMISSION_DENIED with
 * consent's reason; a patient consent does not know, NOT_FOUND; consent
 * unreachable, UNAVAILABLE.
 * The caller is always the stamped one (svc_caller), never a body field.
 * At most SVC_MAX_PARKED requests (and SVC_PARKED_BYTES of their bodies)
 * wait for consent; one more is answered RESOURCE_EXHAUSTED at once. The
 * write group therefore holds local work only: no handler waits on another
 * service. Requests of one client parked together may be answered in the
 * order consent answers them (consent answers in order).
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
 * (a group of one, committed durably) with a call handle that works
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
#include "proto/ids.h"
#include "runtime/authz.h"
#include "storage/store.h"

typedef struct svc_call svc_call_t;

/* Limits (runtime/service.c). One batch holds at most STORE_GROUP_MAX
 * requests and about SVC_BATCH_BYTES of request bodies, plus at most
 * SVC_BATCH_BYTES of reply bodies and queued events together. */
/* svc_publish calls per request: a messaging Send to a full care team
 * (8 professionals and the patient, 8 devices each: one event per copy).
 * A call slot keeps only a pointer per event (topic and body malloc'd, the
 * bodies within SVC_BATCH_BYTES), so the bound costs 32 bytes x 72 per slot. */
#define SVC_MAX_EVENTS 72
#define SVC_MAX_MESSAGE 256                /* svc_fail message, NUL included */
#define SVC_MAX_FIELD 128                  /* svc_fail field, NUL included */
#define SVC_BATCH_BYTES ((size_t)32 << 20) /* bodies held by one batch */
#define SVC_MAX_PARKED AUTHZ_MAX_PENDING     /* requests waiting for consent */
#define SVC_PARKED_BYTES ((size_t)32 << 20)  /* their request bodies */

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

/* The access a method needs (svc_def_t.guards; ACCESS above). Field paths
 * name singular string fields of the method's request type, through
 * singular sub-messages with dots ("document.class_code"); not in a oneof.
 * svc_def_check verifies them. */
/* Someone else who must hold a grant (svc_def_t.holders): when the
 * patient calls a guarded method on their own data, the method may name
 * another principal who must hold a grant of the patient covering the
 * guard's category and action (messaging: the professional a patient
 * starts a conversation with). Given the decoded request, the hook answers
 * 0 (no one: allowed at once), SVC_HOLDER with *kind and principal (n bytes,
 * NUL-terminated) filled, or a negative es_status with *field naming the
 * request field at fault and *why a static English message. Pure. */
#define SVC_HOLDER 1
typedef int (*svc_holder_fn)(const ProtobufCMessage *req, Espace__V1__PrincipalKind *kind,
                             char *principal, size_t n, const char **field, const char **why);
typedef struct svc_holder {
    const char *method; /* a guarded method, once */
    svc_holder_fn fn;
} svc_holder_t;

typedef struct svc_guard {
    const char *method;             /* a method of the table, once */
    Espace__V1__Category category;  /* part of the patient's data */
    Espace__V1__Action action;      /* READ or WRITE */
    const char *patient_field;      /* names the patient, e.g. "patient_id" */
    const char *detail_field;       /* narrows it (class / LOINC code), or NULL */
} svc_guard_t;

/* The access of a guarded request, as resolved before its handler runs. */
typedef struct svc_access {
    char patient_id[ID_HEX];    /* whose data: 32 hex */
    uint8_t patient[ID_BYTES];  /* the same, raw */
    authz_decision_t decision;  /* allowed; basis SELF, GRANT or EMERGENCY; grant id */
} svc_access_t;

/* What svc_run hands to init: the service's store and its publisher. */
typedef struct svc_env {
    store_t *store;     /* the service's own store, open */
    const char *data_dir; /* <data>/<name> */
    const bus_conn_t *bus; /* the broker endpoint the service uses, for services that call
                            * others (consent is asked by the runtime itself: ACCESS);
                            * borrowed for the life of svc_run */
    void *zctx;            /* the ZeroMQ context of svc_run, to open sockets to
                            * `bus` in (an inproc endpoint is reachable only from
                            * its own context); borrowed: close them in fini */
} svc_env_t;

typedef struct svc_def {
    const char *name;               /* bus service name and data subfolder */
    const char **tables;            /* NULL-terminated table names */
    const svc_method_t *methods;
    size_t n_methods;
    /* Consent checks (ACCESS above): one guard per method that touches a
     * patient's data. NULL / 0 for a service without patient data. */
    const svc_guard_t *guards;
    size_t n_guards;
    /* HOLDERS: per guarded method at most one, or NULL / 0. */
    const svc_holder_t *holders;
    size_t n_holders;
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
    /* 1: the handlers keep records with consent (svc_consent_after), so
     * svc_run opens its consent client even without guards. */
    int consent_records;
} svc_def_t;

/* Check def's method table against def->api: every method is an rpc of the
 * api with the same request message, and every rpc has a method (skipped
 * when def->api is NULL); and def's guards: each names a method with a
 * request type, at most once, a category and an action, and field paths
 * that exist (see svc_guard_t); and its holders: each names a guarded
 * method, at most once, with a hook. 0, or ES_INTERNAL with the first mismatch
 * written into err (n bytes). */
int svc_def_check(const svc_def_t *def, char *err, size_t n);

typedef struct svc_opts {
    const char *data_dir;   /* root data folder */
    bus_conn_t bus;         /* broker request endpoint (worker side) */
    bus_conn_t pub;         /* broker events-in endpoint (publisher); with
                               pub.endpoint NULL, svc_publish succeeds and the
                               events go nowhere */
    uint32_t capacity;      /* requests in flight; 0 = STORE_GROUP_MAX, plus
                               SVC_MAX_PARKED for a service with guards
                               (requests parked for consent count in flight:
                               a smaller capacity lets them hold back the
                               others) */
    int stop_fd;            /* svc_run returns when readable (-1: never);
                               the batch in progress is finished and answered
                               first, requests parked for consent are answered
                               UNAVAILABLE; the fd is not read */
    int ready_fd;           /* if >= 0, one byte written once registered */
    int no_sync;            /* store without fsync (tests only) */
    void *zctx;             /* ZeroMQ context to use (shared with the broker
                               in one process: inproc endpoints), borrowed: the
                               caller terminates it after svc_run returned;
                               NULL = svc_run creates and terminates its own */
} svc_opts_t;

/* Run the service until stop_fd is readable. 0 after a clean stop, or a
 * negative es_status if it could not start (store, bus, init).
 * Creates opts->data_dir (0700) if missing, and its own ZeroMQ context
 * unless opts->zctx is given.
 * Within one batch the write methods run (and commit) before the read
 * methods, so a read pipelined after a write sees it. Each request is logged
 * at debug level (event=request method= rid= status= us=), at info level when
 * its status is INTERNAL or UNAVAILABLE. */
int svc_run(const svc_def_t *def, const svc_opts_t *opts);

/* ---- for handlers ---- */

/* Caller as stamped by the broker (never NULL). */
const Espace__V1__Caller *svc_caller(const svc_call_t *c);

/* The access resolved for a request of a guarded method (ACCESS above):
 * always allowed when the handler runs. NULL for a method without a guard
 * and for the tick. Valid until the handler returns. */
const svc_access_t *svc_access(const svc_call_t *c);

/* Request id, for logs. */
uint64_t svc_request_id(const svc_call_t *c);

/* Wall-clock time of the group the request runs in, ms since the epoch. */
int64_t svc_now_ms(const svc_call_t *c);

/* Milliseconds left before the request's deadline, as this worker can know
 * it: Request.timeout_ms (BUS_DEFAULT_TIMEOUT_MS when 0) counted from the
 * request's arrival at the worker, minus the time since. The broker sets
 * timeout_ms to the time left when it hands the request over (broker.h
 * "Capacity"), so this is the caller's deadline give or take the transit
 * from the broker. <= 0 once passed: the broker has answered
 * DEADLINE_EXCEEDED already, so costly work (and writes the caller was told
 * failed) may be dropped; the runtime itself does not start a handler then
 * (it answers DEADLINE_EXCEEDED). INT64_MAX for the tick. */
int64_t svc_remaining_ms(const svc_call_t *c);

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

/* CONSENT RECORDS: after the commit, send consent `method` with `body`
 * (packed now) on the runtime's consent client (svc_def_t.consent_records
 * or guards), for something consent must keep that the handler learnt
 * (identity: RecordResolution, RegisterPatient). With wait = 1 the reply
 * (and the events) wait until consent accepted it, and if consent refuses,
 * cannot be reached or does not answer within AUTHZ_TIMEOUT_MS the caller
 * gets UNAVAILABLE instead (the handler's writes stay committed: use it
 * for what must not be disclosed unrecorded). With wait = 0 the reply goes
 * at once and a failure is only logged (best effort). At most one per call
 * (a later one replaces it); ignored when the handler fails or returns
 * non-zero. Returns 0, ES_INVALID_ARGUMENT (no consent client, bad
 * arguments, the tick), ES_TOO_LARGE or ES_RESOURCE_EXHAUSTED. Counts in
 * SVC_MAX_PARKED while it waits. */
int svc_consent_after(svc_call_t *c, const char *method, const ProtobufCMessage *body, int wait);

/* Queue an event, published after the commit if the handler returns 0
 * (even after svc_fail, as its writes were kept); the body is packed now.
 * ES_INVALID_ARGUMENT for an empty or over-BUS_MAX_TOPIC topic or NULL body,
 * ES_RESOURCE_EXHAUSTED past SVC_MAX_EVENTS events in this call (or the
 * batch's SVC_BATCH_BYTES), ES_TOO_LARGE for a body over the bus limit. */
int svc_publish(svc_call_t *c, const char *topic, const ProtobufCMessage *body);

#endif
