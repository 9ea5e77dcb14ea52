/* consent_requests.c - the request builders of consent_requests.h. */
#include "test/service/consent_requests.h"

#include <string.h>

void cr_app_init(cr_app_t *a, const char *id, uint8_t key_byte)
{
    espace__v1__app__init(&a->app);
    espace__v1__add_app_request__init(&a->req);
    memset(a->key, key_byte, sizeof a->key);
    a->app.id = (char *)id;
    a->app.curve_public_key.data = a->key;
    a->app.curve_public_key.len = sizeof a->key;
    a->app.terms_url = "https://example.fr/cgu";
    a->app.privacy_url = "https://example.fr/privacy";
    a->req.app = &a->app;
}

void cr_grant(Espace__V1__GrantRequest *req, int gkind, const char *grantee,
              Espace__V1__Scope **scopes, size_t n_scopes, Espace__V1__Period *period)
{
    espace__v1__grant_request__init(req);
    req->grantee_kind = (Espace__V1__GranteeKind)gkind;
    req->grantee_id = (char *)grantee;
    req->scopes = scopes;
    req->n_scopes = n_scopes;
    req->purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    req->period = period;
}

void cr_revoke(Espace__V1__RevokeGrantRequest *req, const uint8_t gid[16])
{
    espace__v1__revoke_grant_request__init(req);
    req->grant_id.data = (uint8_t *)gid;
    req->grant_id.len = 16;
}
