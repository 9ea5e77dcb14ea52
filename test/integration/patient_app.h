/*
 * patient_app - what the patient-side programs of the integration tests
 * (dmp_patient, msg_patient) share: a libespace connection as the patient
 * (a local Caller over ipc, as the edge stamps the patient's app) and a
 * grant to a professional.
 *
 * Every function prints what went wrong on stderr and returns 0 or 1 (the
 * programs' exit status); none keeps state. Not thread-safe (stdio).
 */
#ifndef ES_TEST_INTEGRATION_PATIENT_APP_H
#define ES_TEST_INTEGRATION_PATIENT_APP_H

#include "clients/lib/espace.h"

/* How long a call of these programs may take. */
#define PATIENT_APP_TIMEOUT_MS 5000

/* Prints "<what>: <status> <message> <field>" of err; returns 1. */
int patient_app_failed(const char *what, const espace_error_t *err);

/* Opens *e on ENDPOINT (ipc) as the patient PATIENT_ID: 0, or 1 (*e NULL). */
int patient_app_open(const char *endpoint, const char *patient_id, espace_t **e);

/* As PATIENT_ID, grants the professional RPPS the SCOPES (espace_scopes_parse
 * text, e.g. "documents:read,documents:write") for purpose soins; prints
 * "granted <grant id>". 0, or 1. */
int patient_app_grant(const char *endpoint, const char *patient_id, const char *rpps,
                      const char *scopes);

#endif
