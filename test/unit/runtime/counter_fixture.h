/*
 * counter_fixture.h - the runtime tests' service and fixture (library
 * es_test_counter_fixture): a tiny "counter" service run for real by
 * svc_run on a broker in a thread (test/harness), and a local bus client
 * that talks to it (a local peer: it stamps its own Caller frame).
 *
 * The counter service: table "counter", keys are be64(Period.end_ms),
 * values be64 counters.
 *   Ping      public read: reply Period{start_ms = caller kind}
 *   Add       write: counter[end_ms] += start_ms, reply the new value
 *   Get       read: reply counter[end_ms], NOT_FOUND if absent
 *   Fail      write: put, then `return svc_fail(...)` -> write discarded
 *   FailKeep  write: put, then svc_fail(...); return 0 -> write kept
 *   Raw       write: put, then return ES_ABORTED without svc_fail
 *   Admin     operator-only read
 *   Emit      write: publishes start_ms events CNT_TOPIC
 *   EmitFail  write: publishes, then fails -> no event
 *   Big       read: replies a body over the bus limit
 *
 * Not thread-safe: one fixture per test binary at a time.
 */
#ifndef ES_TEST_COUNTER_FIXTURE_H
#define ES_TEST_COUNTER_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "espace/v1/common.pb-c.h"
#include "runtime/service.h"
#include "test/harness/harness.h"

#define CNT_HB_MS 500                /* heartbeat of the broker and the service */
#define CNT_TOPIC "counter.emitted"  /* what Emit publishes on */
#define CNT_PERIOD (&espace__v1__period__descriptor) /* every method's request */

/* The counter service, and what its init and fini did: calls of init and
 * fini since cnt_setup; cnt_init_fail = 1 makes init fail
 * ES_FAILED_PRECONDITION. */
extern const svc_def_t cnt_service;
extern atomic_int cnt_inits;
extern atomic_int cnt_finis;
extern atomic_int cnt_init_fail;

/* A running broker, the counter service and a client on it. */
typedef struct cnt_fix {
    harness_t h;   /* broker thread, folder, endpoints, context */
    h_svc_t svc;   /* the counter service thread */
    bus_client_t *client;
} cnt_fix_t;

/* cmocka setup / teardown: *state is a cnt_fix_t, its service answering. */
int cnt_setup(void **state);
int cnt_teardown(void **state);

/* (Re)start the counter service of f; cnt_wait_service: until the broker
 * routes to it. Both assert. */
void cnt_svc_start(cnt_fix_t *f);
void cnt_wait_service(cnt_fix_t *f);

/* Callers a local client may stamp: a patient, the operator (static
 * storage, valid until the next call). */
const Espace__V1__Caller *cnt_patient(void);
const Espace__V1__Caller *cnt_operator(void);

/* Call a counter method with Period{start, end} as caller (NULL: no
 * session). Returns the status; *value (if not NULL) gets the reply's
 * start_ms on success; r (if not NULL) the reply's status, field, message. */
int cnt_call(cnt_fix_t *f, const char *method, int64_t start, int64_t end,
             const Espace__V1__Caller *caller, int64_t *value, bus_reply_t *r);

/* A method table of one method per rpc of api (its request type, the Get
 * handler, no flags) into m (room for 32). Returns how many. */
size_t cnt_methods_of(const ProtobufCServiceDescriptor *api, svc_method_t m[32]);

#endif
