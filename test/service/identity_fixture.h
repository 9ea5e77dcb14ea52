/*
 * identity_fixture.h - the scenario fixture of the identity tests
 * (test_identity_accounts.c, _sessions.c, _devices.c), compiled once as
 * es_identity_fixture: a broker thread and an identity service thread (test
 * harness, ipc endpoints in a mkdtemp folder), a local client that may stamp
 * its own Caller, and helpers that sign up, log in and bind clients to
 * sessions. Passwords are hashed at the "min" cost (ESPACE_PWHASH).
 *
 * Use idf_setup / idf_teardown as the cmocka group setup and teardown; the
 * helpers fail the running test (cmocka) where they say so.
 */
#ifndef ES_TEST_IDENTITY_FIXTURE_H
#define ES_TEST_IDENTITY_FIXTURE_H

#include <stdint.h>

#include "bus/bus.h"
#include "espace/v1/identity.pb-c.h"
#include "services/identity/token.h"
#include "test/harness/harness.h"

#define IDF_T_MS 5000                       /* timeout of every call */
#define IDF_PASSWORD "correct horse battery" /* password of idf_sign_up's accounts */

#define IDF_PEERS_MAX 8 /* tcp peers of idf_tcp_peers */

typedef struct idf_env {
    harness_t h;          /* broker thread, folder, endpoints, context */
    h_svc_t svc;          /* the identity service thread */
    h_svc_t consent;      /* the consent service thread (ResolvePatient's
                             trail, activations registered) */
    bus_client_t *local;  /* ipc client: may stamp its own Caller */
    uint8_t token_pk[TOKEN_PUBLIC_BYTES]; /* identity's token key, from token.key.pub */
    unsigned ins_seq;
    h_peer_t peers[IDF_PEERS_MAX]; /* CURVE pro-software peers (idf_tcp_peers) */
} idf_env_t;

/* The environment between idf_setup and idf_teardown. */
extern idf_env_t *idf;
/* ESPACE_PWHASH set by idf_setup: "min" unless a test sets it before. */
extern const char *idf_pwhash;
/* With idf_tcp_peers > 0 (set before idf_setup; at most IDF_PEERS_MAX),
 * the broker also listens on tcp with CURVE and admits that many
 * pro-software peers (idf->peers): distinct sources for identity. */
extern int idf_tcp_peers;
/* A new client over tcp as peer i; fails the test if it cannot be made.
 * Caller destroys it. */
bus_client_t *idf_peer_client(int i);

/* cmocka group setup: start the broker and identity, wait until identity
 * answers, load its public token key. 0 or -1. */
/* Wait until the broker routes to consent (bounded): 0 or a status. */
int idf_consent_wait(void);
int idf_setup(void **state);
/* cmocka group teardown: stop everything, remove the folder. 0 or -1. */
int idf_teardown(void **state);

/* A fresh valid INS (13-digit body + key) into out, distinct per call: a
 * man born in June 1985 (the traits of idf_sign_up_pending). */
void idf_new_ins(char out[16]);
/* The same with sex digit sex ('1' or '2'), year digits yy and month digits
 * mm (two characters each). */
void idf_ins_born(char sex, const char *yy, const char *mm, char out[16]);

/* bus_call of identity's `method` on client c, optionally stamped with a
 * caller (local clients only); the arguments are those of bus_call. */
int idf_call(bus_client_t *c, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *rd, const Espace__V1__Caller *caller,
             ProtobufCMessage **reply, bus_reply_t *r);

/* A Caller of kind PRINCIPAL_OPERATOR (static storage). */
const Espace__V1__Caller *idf_operator(void);

/* SignUpPatient with ins (of idf_new_ins), Marie Claire Dupont, male,
 * 1985-06-07, and password: a pending account. Its status. */
int idf_sign_up_pending(const char *ins, const char *password, bus_reply_t *r);
/* IssueActivationCode for ins as the operator: its status; the code into
 * code. */
#define IDF_CODE_MAX 16
int idf_issue_code(const char *ins, char code[IDF_CODE_MAX], bus_reply_t *r);
/* ActivateAccount: its status; the patient id into patient_id (if not
 * NULL). */
int idf_activate(const char *ins, const char *code, const char *password, char patient_id[33],
                 bus_reply_t *r);
/* An active account: idf_sign_up_pending with IDF_PASSWORD, a code issued,
 * the account activated. The first failing status; the patient id into
 * patient_id when not NULL. */
int idf_sign_up(const char *ins, char patient_id[33], bus_reply_t *r);

/* Login by INS (or by RPPS when rpps is not NULL) with device name "test
 * browser", an optional device id and keys. Its status; *out (when not NULL)
 * the reply, freed by the caller with codec_free. */
int idf_login(const char *ins, const char *rpps, const char *password,
              const ProtobufCBinaryData *device_id, Espace__V1__DeviceKeys *keys,
              Espace__V1__LoginReply **out, bus_reply_t *r);

/* idf_login from client c. */
int idf_login_via(bus_client_t *c, const char *ins, const char *rpps, const char *password,
                  const ProtobufCBinaryData *device_id, Espace__V1__DeviceKeys *keys,
                  Espace__V1__LoginReply **out, bus_reply_t *r);

/* A new client bound to the session of token (AUTH); fails the test if it
 * cannot be. Caller destroys it. */
bus_client_t *idf_session_client(const char *token);

/* Authenticate token from the local client. Its status; *out (when not
 * NULL) the reply, freed by the caller. */
int idf_authenticate(const char *token, Espace__V1__AuthenticateReply **out);

/* Fresh device keys in k, whose bytes live in sign_pk and dh_pk. */
void idf_make_keys(Espace__V1__DeviceKeys *k, uint8_t sign_pk[32], uint8_t dh_pk[32]);

/* A subscriber to TOPIC_SESSION_REVOKED, subscribed and settled; fails the
 * test if it cannot be made. Caller destroys it. */
bus_sub_t *idf_subscriber(void);

/* Wait (at most IDF_T_MS) for a SessionRevoked event naming session sid.
 * 0, or -1 if none came. */
int idf_wait_revoked(bus_sub_t *sub, const uint8_t sid[16]);

#endif
