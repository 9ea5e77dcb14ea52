/*
 * dmp_fixture.h - the dmp scenarios' fixture (library es_test_dmp_fixture,
 * test/service/dmp_fixture.c), on the compiled harness: a broker thread
 * with its event proxy, the consent and dmp services (svc_run in threads),
 * one local client that stamps its own Caller on each call (so a test acts
 * as any patient or professional), and a subscriber to "patient.".
 */
#ifndef ES_TEST_DMP_FIXTURE_H
#define ES_TEST_DMP_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bus/codec.h"
#include "espace/v1/consent.pb-c.h"
#include "espace/v1/dmp.pb-c.h"
#include "proto/ids.h"
#include "proto/names.h"
#include "proto/status.h"
#include "services/consent/consent.h"
#include "services/dmp/dmp.h"
#include "test/harness/harness.h"
#include "test/service/scenario_fixture.h"

#define DF_HB_MS 200
#define DF_CALL_MS 5000
#define K_PATIENT ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT
#define K_PRO ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL
#define DF_PIECE 65536 /* upload piece */

typedef struct df {
    harness_t h;
    h_svc_t consent;
    h_svc_t dmp;
    bus_client_t *cl;
    bus_sub_t *events;
} df_t;

extern df_t DF;

/* cmocka group setup / teardown. */
int df_setup(void **state);
int df_teardown(void **state);
/* (Re)start consent / dmp and wait until the broker routes to it. */
void df_consent_start(void);
void df_dmp_start(void);

/* A fresh random patient id, registered with consent (as identity does at
 * activation). */
void df_patient_id(char out[ID_HEX]);

/* Call `method` of `service` as (kind, principal); the status, *rep
 * (codec_free; may be NULL) and r (may be NULL). */
int df_call(int kind, const char *who, const char *service, const char *method,
            const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rdesc,
            ProtobufCMessage **rep, bus_reply_t *r);

/* The patient grants (category, action[, codes]) to professional rpps;
 * the grant id into gid (may be NULL). Fails the test on error. */
void df_grant(const char *pid, const char *rpps, Espace__V1__Category cat,
              Espace__V1__Action action, const char *const *codes, size_t n, uint8_t *gid);

/* Newest audit entry of patient pid (hold: codec_free). */
Espace__V1__AuditEntry *df_last_audit(const char *pid, ProtobufCMessage **hold);

/* Upload len bytes as a document of patient pid (NULL: empty) with the
 * metadata m, as (kind, who), in DF_PIECE pieces, replacing `replaces`
 * (NULL: a new document). The status; *out the filed metadata (codec_free
 * *hold; both may be NULL). */
int df_upload(int kind, const char *who, const char *pid, const Espace__V1__DocumentMeta *m,
              const uint8_t *data, size_t len, const uint8_t *replaces,
              Espace__V1__DocumentMeta **out, ProtobufCMessage **hold, bus_reply_t *r);

/* A metadata of type_code with title "t", mime application/pdf. */
void df_meta(Espace__V1__DocumentMeta *m, const char *type_code);

/* GetDocument then every DownloadDocumentChunk of version id: the status;
 * the content into *data (malloc'd, caller frees) and *len, its hash
 * (reply's) into hash. */
int df_download(int kind, const char *who, const char *pid, const uint8_t id[ID_BYTES],
                const char *class_code, uint8_t **data, size_t *len, uint8_t hash[32],
                bus_reply_t *r);

/* SearchDocuments (pid, class_code, availability) as (kind, who); the
 * status and *out (codec_free). */
int df_search(int kind, const char *who, const char *pid, const char *class_code,
              Espace__V1__SearchDocumentsReply **out, bus_reply_t *r);

/* AddMeasure as (kind, who) of req (patient_id as set); status, *out. */
int df_add(int kind, const char *who, Espace__V1__AddMeasureRequest *req,
           Espace__V1__AddMeasureReply **out, bus_reply_t *r);

/* Next DmpEvent on exactly `topic` within ms (codec_free), or NULL. */
Espace__V1__DmpEvent *df_event(const char *topic, int ms);
void df_drain(void);

/* Expect a status and field. */
#define DF_EXPECT(rc, r, st, fld)                                                                \
    do {                                                                                         \
        if ((rc) != (st) || strcmp((r).field, (fld)) != 0)                                       \
            fail_msg("want %s field '%s', got %s field '%s' (%s)", es_status_name(st), (fld),   \
                     es_status_name(rc), (r).field, (r).message);                                \
    } while (0)

/* Fail the test with the reply's status unless rc is 0. */
#define DF_OK(rc, r)                                                                             \
    do {                                                                                         \
        if ((rc) != 0)                                                                           \
            fail_msg("%s field '%s' (%s)", es_status_name(rc), (r).field, (r).message);         \
    } while (0)

#endif
