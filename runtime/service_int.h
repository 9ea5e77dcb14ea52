/*
 * service_int.h - what the files of the service runtime share (not for
 * services: they use service.h).
 *
 * Files: service.c (the loop: batches, group commit, tick, svc_run), call.c
 * (a call's handle: svc_reply, svc_fail, svc_publish... and its reset),
 * access.c (guards: requests resolved through consent before they join a
 * batch, parked meanwhile).
 *
 * Call slots: svc_run allocates SVC_SLOTS of them once and keeps the free
 * ones on a stack. A slot is in exactly one place: free, in the backlog
 * (read from the socket, not yet taken), in the batch being built, parked
 * (its Decide in flight) or ready (decided, waiting for the next batch).
 * The backlog takes only free slots: when none is left, requests wait in
 * the socket, and batches free slots. The broker hands a worker at most its
 * capacity (<= SVC_SLOTS by default), so normally all are read at once.
 *
 * THREAD SAFETY: everything belongs to the thread of svc_run.
 */
#ifndef ES_SERVICE_INT_H
#define ES_SERVICE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/authz.h"
#include "runtime/service.h"

#define SVC_REPLY_ROOM 1024 /* Reply envelope room under BUS_MAX_MSG */
#define SVC_SLOTS (STORE_GROUP_MAX + SVC_MAX_PARKED)
#define SVC_PARKED 1        /* svc_access_resolve: the request waits for consent */
#define SVC_AFTER_MAX 4096  /* packed body of a svc_consent_after record */
#define SVC_AFTER_METHOD 64 /* its consent method name, NUL included */

typedef struct svc_event {
    char *topic;                            /* topic, malloc'd (kept out of the
                                               slot: SVC_MAX_EVENTS x SVC_SLOTS) */
    const ProtobufCMessageDescriptor *desc; /* type of the packed body */
    uint8_t *body;                          /* packed body, malloc'd */
    size_t len;                             /* bytes in body */
} svc_event_t;

typedef struct svc_runtime svc_runtime_t;

/* Moving average of the time one request takes, per kind. */
typedef struct svc_cost {
    int64_t us;   /* average, microseconds (>= 1) */
    int measured; /* 0: us is the initial guess */
} svc_cost_t;

struct svc_call {
    svc_runtime_t *rt;                  /* owning runtime (budget, publisher) */
    bus_request_t req;                  /* the request as received */
    const svc_method_t *method;         /* NULL when unknown */
    const svc_guard_t *guard;           /* the method's guard, or NULL */
    ProtobufCMessage *msg;              /* decoded body (codec_free), or NULL */
    svc_access_t access;                /* resolved access (guard only) */
    int has_access;                     /* access is set and allowed */
    uint64_t ticket;                    /* the Decide it waits for, while parked */
    int64_t now_ms;                     /* wall clock of the batch */
    int64_t t0_us;                      /* monotonic arrival, for the log */
    int ran;                            /* 1 once the handler ran */
    int rc;                             /* handler's return value */
    int status;                         /* es_status of the reply */
    char message[SVC_MAX_MESSAGE];      /* status message */
    char field[SVC_MAX_FIELD];          /* status field, "" when none */
    uint8_t *reply;                     /* packed reply body, malloc'd, or NULL */
    size_t reply_len;                   /* bytes in reply */
    svc_event_t events[SVC_MAX_EVENTS]; /* queued events */
    size_t n_events;                    /* events in use */
    /* svc_consent_after: the record sent to consent after the commit */
    char after_method[SVC_AFTER_METHOD];         /* "" = none */
    const ProtobufCMessageDescriptor *after_desc; /* type of after_body */
    uint8_t *after_body;                         /* packed, malloc'd */
    size_t after_len;
    int after_wait;                              /* the reply waits for it */
    int recording;                               /* ran; parked for its record */
};

struct svc_runtime {
    const svc_def_t *def;           /* the service */
    void *state;                    /* from def->init */
    store_t *store;                 /* the service's store */
    bus_worker_t *worker;           /* bus worker */
    bus_pub_t *pub;                 /* publisher, or NULL (publishing is a no-op) */
    authz_t *az;                    /* consent client, when def has guards */
    svc_call_t *slots;              /* SVC_SLOTS call slots */
    svc_call_t *free[SVC_SLOTS];    /* free slots (a stack) */
    size_t n_free;
    svc_call_t *parked[SVC_MAX_PARKED]; /* waiting for their Decide (unordered) */
    size_t n_parked;
    size_t parked_bytes;            /* request bodies held by parked and ready calls */
    svc_call_t *ready[SVC_MAX_PARKED];  /* decided, for the next batch (a ring) */
    size_t ready_head, n_ready;
    svc_call_t *backlog[SVC_SLOTS]; /* read, not yet in a batch (a ring, arrival order) */
    size_t bl_head, n_backlog;
    size_t held;                    /* reply + event bytes held by the batch */
    uint64_t served;                /* requests answered since start */
    uint64_t expired;               /* of which not started: deadline passed */
    int64_t budget_us;              /* target duration of one batch */
    svc_cost_t cost[2];             /* cost of one request: [0] read, [1] write */
    svc_call_t tick_call;           /* the handle of def->tick (no request) */
    Espace__V1__Caller tick_caller; /* PRINCIPAL_SERVICE, principal = def->name */
};

/* ---- call.c ---- */

/* A status a handler may return: a valid negative es_status, else INTERNAL. */
int svc_status_valid(int rc);
/* Set the call's reply status, field (may be NULL) and message (may be NULL). */
void svc_status_set(svc_call_t *c, int status, const char *field, const char *msg);
/* Drop what the handler produced: reply, status, events. */
void svc_call_reset(svc_call_t *c);
/* Release the whole slot (request, body, access), ready for reuse. */
void svc_call_clear(svc_call_t *c);

/* ---- access.c ---- */

/* The guard of method `name` in def, or NULL. */
const svc_guard_t *svc_guard_find(const svc_def_t *def, const char *name);
/* svc_def_check's part for the guards (service.h). */
int svc_guards_check(const svc_def_t *def, char *err, size_t n);
/* Resolve the access of call c (its guard set, its body decoded): 0 when
 * allowed at once (the patient on their own data; c->access set), or
 * SVC_PARKED (a Decide is in flight; c is in rt->parked, not to be touched
 * until it comes out of rt->ready), or a negative status set on the call. */
int svc_access_resolve(svc_runtime_t *rt, svc_call_t *c);
/* Take every decision that arrived or expired: each parked call moves to
 * rt->ready with its access (allowed) or its status (denied). Call it
 * right before sleeping on authz_fd (edge-triggered). */
void svc_access_collect(svc_runtime_t *rt);
/* The next ready call, or NULL. */
svc_call_t *svc_ready_pop(svc_runtime_t *rt);
/* After the commit: send c's svc_consent_after record if it has one and
 * succeeded. 1 when c now waits for it (parked, c->recording set; it comes
 * out of rt->ready to be answered), else 0 (answer c now; its status may
 * have become UNAVAILABLE). */
int svc_after_send(svc_runtime_t *rt, svc_call_t *c);

#endif
