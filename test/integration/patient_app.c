/* patient_app - see patient_app.h. */
#include "test/integration/patient_app.h"

#include <stdio.h>

#include "proto/ids.h"

int patient_app_failed(const char *what, const espace_error_t *err)
{
    fprintf(stderr, "%s: %s %s %s\n", what, es_status_name(err->status), err->message,
            err->field);
    return 1;
}

int patient_app_open(const char *endpoint, const char *patient_id, espace_t **e)
{
    espace_opts_t o = {.endpoint = endpoint, .timeout_ms = PATIENT_APP_TIMEOUT_MS,
                       .as_kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT,
                       .as_principal = patient_id};
    int rc = espace_open(&o, e);
    if (rc < 0)
        fprintf(stderr, "cannot open %s: %s\n", endpoint, es_status_name(rc));
    return rc < 0 ? 1 : 0;
}

int patient_app_grant(const char *endpoint, const char *patient_id, const char *rpps,
                      const char *scopes_text)
{
    espace_t *e = NULL;
    espace_error_t err;
    espace_scopes_t scopes;
    Espace__V1__GrantReply *rep = NULL;
    char hex[ID_HEX] = "?";
    if (espace_scopes_parse(scopes_text, &scopes, NULL, 0) < 0 ||
        patient_app_open(endpoint, patient_id, &e))
        return 1;
    int rc = 0;
    if (espace_consent_grant(e, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, rpps, &scopes,
                             ESPACE__V1__PURPOSE__PURPOSE_SOINS, 0, &rep, &err) < 0) {
        rc = patient_app_failed("grant", &err);
    } else {
        if (rep->grant)
            id_hex_bytes(rep->grant->id.data, rep->grant->id.len, hex);
        printf("granted %s\n", hex);
        espace_free(&rep->base);
    }
    espace_close(&e);
    return rc;
}
