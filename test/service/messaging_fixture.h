/*
 * messaging_fixture.h - the messaging scenarios' fixture (library
 * es_test_messaging_fixture, test/service/messaging_fixture.c), on the
 * compiled harness: a broker thread with its event proxy, the consent and
 * messaging services (svc_run in threads), one local client that stamps its
 * own Caller on each call (so a test acts as any patient's or
 * professional's device), and a subscriber to "patient." and "pro.".
 *
 * Devices are real es_e2e identities with real prekeys: mf_publish uploads
 * a bundle made by es_e2e, so the signatures the service checks are the
 * ones a client makes.
 */
#ifndef ES_TEST_MESSAGING_FIXTURE_H
#define ES_TEST_MESSAGING_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bus/codec.h"
#include "clients/e2e/e2e.h"
#include "espace/v1/consent.pb-c.h"
#include "espace/v1/messaging.pb-c.h"
#include "proto/ids.h"
#include "proto/names.h"
#include "services/consent/consent.h"
#include "services/messaging/messaging.h"
#include "test/harness/harness.h"
#include "test/service/scenario_fixture.h"

#define MF_HB_MS 200
#define MF_CALL_MS 5000
#define K_PATIENT ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT
#define K_PRO ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL
#define MF_OPKS 8 /* one-time prekeys a device keeps locally at most */

typedef struct mf {
    harness_t h;
    h_svc_t consent;
    h_svc_t messaging;
    bus_client_t *cl;
    bus_sub_t *events;
} mf_t;

extern mf_t MF;

/* A test device: its principal, id and es_e2e keys. */
typedef struct mf_dev {
    int kind;
    char principal[ID_HEX];
    uint8_t id[ID_BYTES];
    e2e_identity_t ik;
    e2e_prekey_t spk, lrk;
    e2e_prekey_t opk[MF_OPKS];
    uint32_t next_opk; /* id of the next one-time prekey */
} mf_dev_t;

/* cmocka group setup / teardown. */
int mf_setup(void **state);
int mf_teardown(void **state);
/* (Re)start messaging and wait until the broker routes to it. */
void mf_messaging_start(void);

/* A fresh random patient id, registered with consent as identity does on
 * activation / a device. */
void mf_patient_id(char out[ID_HEX]);
void mf_dev(mf_dev_t *d, int kind, const char *principal);

/* Call messaging as device d (kind, principal, device id stamped); the
 * status, *rep (codec_free) and r (may be NULL). mf_call_as: any caller. */
int mf_call(const mf_dev_t *d, const char *method, const ProtobufCMessage *req,
            const ProtobufCMessageDescriptor *rdesc, ProtobufCMessage **rep, bus_reply_t *r);
int mf_call_as(const Espace__V1__Caller *c, const char *service, const char *method,
               const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rdesc,
               ProtobufCMessage **rep, bus_reply_t *r);

/* PublishKeys of d's identity, signed and last-resort prekeys and n new
 * one-time prekeys (n <= MF_OPKS; the keys are kept in d->opk); the status. */
int mf_publish(mf_dev_t *d, size_t n);

/* The patient grants MESSAGING write to professional rpps; 0 or fails. */
void mf_grant(const char *pid, const char *rpps);

/* StartConversation by pro for patient pid with the other professionals
 * `others` (n); the status, conversation id into id. */
int mf_start(const mf_dev_t *pro, const char *pid, const char *const *others, size_t n,
             uint8_t id[ID_BYTES], bus_reply_t *r);

/* Send `n` copies: to devs[i] the bytes texts[i] (opaque here), naming
 * patient pid (NULL: empty, as a patient sends); the status and *out
 * (codec_free; may be NULL). */
int mf_send(const mf_dev_t *from, const char *pid, const uint8_t conv[ID_BYTES],
            const uint8_t msg[ID_BYTES],
            const mf_dev_t *const *devs, const ProtobufCBinaryData *texts, size_t n,
            Espace__V1__SendReply **out, bus_reply_t *r);

/* Fetch of d after `after` (must succeed; codec_free). */
Espace__V1__FetchReply *mf_fetch(const mf_dev_t *d, uint64_t after);
/* Ack of d up to seq; the status. */
int mf_ack(const mf_dev_t *d, uint64_t seq);

/* Next event on exactly `topic` within ms, as an Entry (codec_free), or NULL. */
Espace__V1__Entry *mf_event(const char *topic, int ms);
void mf_drain(void);

/* Expect a status and field. */
#define MF_EXPECT(rc, r, st, fld)                                                                \
    do {                                                                                         \
        if ((rc) != (st) || strcmp((r).field, (fld)) != 0)                                       \
            fail_msg("want %s field '%s', got %s field '%s' (%s)", es_status_name(st), (fld),   \
                     es_status_name(rc), (r).field, (r).message);                                \
    } while (0)

/* 1 if the bytes occur in any file under dir (recursively). */
int mf_dir_contains(const char *dir, const void *needle, size_t n);

/* With messaging stopped: 1 if the bytes occur in any key or unsealed
 * value of its store, 0 if not (fails the test if the store cannot open). */
int mf_store_contains(const void *needle, size_t n);

/* With messaging stopped: flip the last byte (the seal's tag) of the first
 * raw value of `table` whose key starts with prefix. 0, or -1 if none. */
int mf_store_corrupt_first(const char *table, const void *prefix, size_t plen);

#endif
