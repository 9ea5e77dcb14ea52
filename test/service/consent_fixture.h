/*
 * consent_fixture.h - the consent service against a real broker (thread,
 * ipc), a real store and the real service (svc_run in a thread), shared by
 * test/service/test_consent_*.c.
 *
 * Callers are impersonated with local Caller frames: the test's bus client
 * is an ipc peer, which the broker lets stamp its own caller, exactly as the
 * edge and the admin CLI do. Decide is asked as PRINCIPAL_SERVICE "agenda".
 *
 * ESPACE_EMERGENCY_MS is set to EMERGENCY_MS (test-only override) so the
 * emergency access lapses within the test.
 */
#ifndef ES_CONSENT_FIXTURE_H
#define ES_CONSENT_FIXTURE_H

#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include <cmocka.h>
#include "test/harness/harness.h"
#include "bus/codec.h"
#include "services/consent/consent.h"
#include "espace/v1/consent.pb-c.h"
#include "runtime/service.h"
#include "proto/status.h"
#include "storage/store.h"

#define HB_MS 200
#define EMERGENCY_MS 3000
#define CALL_MS 5000
#define K_PATIENT ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT
#define K_PRO ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL
#define K_APP ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_APP
#define K_OP ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR
#define K_SVC ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE
#define C_AGENDA ESPACE__V1__CATEGORY__CATEGORY_AGENDA
#define C_DOCS ESPACE__V1__CATEGORY__CATEGORY_DOCUMENTS
#define C_MEAS ESPACE__V1__CATEGORY__CATEGORY_MEASURES
#define C_MSG ESPACE__V1__CATEGORY__CATEGORY_MESSAGING
#define A_R ESPACE__V1__ACTION__ACTION_READ
#define A_W ESPACE__V1__ACTION__ACTION_WRITE

typedef struct fix {
    harness_t h;       /* broker thread, folder, endpoints, context */
    h_svc_t consent;   /* the consent service thread */
    bus_client_t *cl;  /* local client: stamps its own Caller */
} fix_t;

typedef struct who {
    Espace__V1__Caller c;
    char principal[80];
} who_t;

typedef struct scopes {
    Espace__V1__Scope s[8];
    Espace__V1__Scope *p[8];
    char *codes[8][2];
    size_t n;
} scopes_t;

extern fix_t F;
extern const char P1[]; /* matrix patient */
extern const char P2[]; /* another patient */

int cf_wait_consent(void);
int cf_setup(void **state);
int cf_register(const char *pid);
int cf_teardown(void **state);
void cf_consent_restart(void);
who_t cf_who(Espace__V1__PrincipalKind kind, const char *principal);
int cf_call(Espace__V1__PrincipalKind kind, const char *principal, const char *method,
                  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rdesc,
                  ProtobufCMessage **rep, bus_reply_t *r);
int64_t cf_now(void);
void cf_scope(scopes_t *ss, int cat, int act, const char *code);
void cf_all_scopes(scopes_t *ss);
void cf_add_app(const char *id);
int cf_grant(const char *pid, int gkind, const char *grantee, scopes_t *ss, int64_t end_ms,
                   uint8_t gid[16], bus_reply_t *r);
void cf_revoke(const char *pid, const uint8_t gid[16]);
int cf_decide(Espace__V1__PrincipalKind kind, const char *principal, const char *pid,
                    int cat, int act, const char *detail);
size_t cf_count_grants(const char *pid);

#endif
