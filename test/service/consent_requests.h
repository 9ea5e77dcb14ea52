/*
 * consent_requests.h - the consent requests the scenarios send to set up
 * their cases (AddApp, Grant, RevokeGrant), built over the caller's storage;
 * shared by the consent and agenda fixtures (library
 * es_test_consent_requests).
 *
 * Everything is borrowed: the strings, scopes and periods passed in must
 * outlive the request, which lives in the caller's struct.
 */
#ifndef ES_TEST_CONSENT_REQUESTS_H
#define ES_TEST_CONSENT_REQUESTS_H

#include <stddef.h>
#include <stdint.h>

#include "espace/v1/consent.pb-c.h"

/* An app for AddApp: cr_app_init sets the id, a CURVE key of key_byte
 * bytes and the legal URLs; the caller sets name, publisher, description,
 * purposes, scopes (and hds) on app, and sends req. */
typedef struct cr_app {
    Espace__V1__App app;
    uint8_t key[32];
    Espace__V1__AddAppRequest req; /* req.app = &app */
} cr_app_t;

void cr_app_init(cr_app_t *a, const char *id, uint8_t key_byte);

/* A Grant to (gkind, grantee) of scopes, for purpose SOINS, over period
 * (NULL: from now, no end). */
void cr_grant(Espace__V1__GrantRequest *req, int gkind, const char *grantee,
              Espace__V1__Scope **scopes, size_t n_scopes, Espace__V1__Period *period);

/* RevokeGrant of grant gid (16 bytes, borrowed). */
void cr_revoke(Espace__V1__RevokeGrantRequest *req, const uint8_t gid[16]);

#endif
