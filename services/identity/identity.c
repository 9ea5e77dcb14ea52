/*
 * identity.c - the identity service: method table, start-up and shutdown
 * (identity.h; the modules are listed in identity_int.h).
 */
#include "services/identity/identity.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "process/log.h"
#include "proto/names.h"
#include "proto/status.h"
#include "services/identity/identity_int.h"

/* A hash of a random password at the current cost, verified when a login
 * names an unknown account (same cost as a wrong password). */
static int s_dummy_hash(char out[PASSWORD_HASH_MAX])
{
    uint8_t pw[24];
    char pw_text[2 * sizeof pw + 1];
    randombytes_buf(pw, sizeof pw);
    sodium_bin2hex(pw_text, sizeof pw_text, pw, sizeof pw);
    int rc = password_hash(pw_text, strlen(pw_text), out);
    sodium_memzero(pw, sizeof pw);
    sodium_memzero(pw_text, sizeof pw_text);
    return rc;
}

_Static_assert(IDENTITY_MAX_DEVICE_SESSIONS <= SVC_MAX_EVENTS,
               "RevokeDevice announces every session it ends in one request");

static int s_init(const svc_env_t *env, void **state)
{
    char path[4096];
    identity_state_t *st = calloc(1, sizeof *st);
    int rc;

    if (!st)
        return ES_RESOURCE_EXHAUSTED;
    st->store = env->store;
    int w = snprintf(path, sizeof path, "%s/%s", env->data_dir, IDENTITY_TOKEN_KEY);
    if (w < 0 || (size_t)w >= sizeof path) {
        rc = ES_INVALID_ARGUMENT;
        goto fail;
    }
    rc = token_keypair_load(path, 1, st->public_key, st->secret_key);
    if (rc != 0) {
        log_error(IDENTITY_LOG, "token_key.load", "status=%s", es_status_name(rc));
        goto fail;
    }
    if ((rc = s_dummy_hash(st->dummy_hash)) != 0)
        goto fail;
    if ((rc = throttle_new(IDENTITY_THROTTLE_SLOTS, &st->throttle)) != 0)
        goto fail;
    *state = st;
    return 0;
fail:
    throttle_destroy(&st->throttle);
    sodium_memzero(st, sizeof *st);
    free(st);
    return rc;
}

static void s_fini(void *state)
{
    identity_state_t *st = state;
    if (!st)
        return;
    throttle_destroy(&st->throttle);
    sodium_memzero(st, sizeof *st);
    free(st);
}

static const char *s_tables[] = {IDENTITY_T_PATIENTS, IDENTITY_T_BY_INS, IDENTITY_T_PROS,
                                 IDENTITY_T_SESSIONS, IDENTITY_T_DEVICES,
                                 IDENTITY_T_OWNER_SESSIONS, IDENTITY_T_OWNER_DEVICES,
                                 IDENTITY_T_ACTIVATIONS, NULL};

#define M(n, d, h, f) {n, &espace__v1__##d##__descriptor, h, f}
static const svc_method_t s_methods[] = {
    M("SignUpPatient", sign_up_patient_request, identity_sign_up_patient, SVC_PUBLIC | SVC_WRITE),
    M("CreateProfessional", create_professional_request, identity_create_professional,
      SVC_OPERATOR | SVC_WRITE),
    M("Login", login_request, identity_login, SVC_PUBLIC | SVC_WRITE),
    M("Authenticate", authenticate_request, identity_authenticate, SVC_PUBLIC),
    M("WhoAmI", who_am_irequest, identity_who_am_i, 0),
    M("Logout", logout_request, identity_logout, SVC_WRITE),
    M("ListSessions", list_sessions_request, identity_list_sessions, 0),
    M("RevokeSession", revoke_session_request, identity_revoke_session, SVC_WRITE),
    M("RegisterDeviceKeys", register_device_keys_request, identity_register_device_keys,
      SVC_WRITE),
    M("ListDevices", list_devices_request, identity_list_devices, 0),
    M("RevokeDevice", revoke_device_request, identity_revoke_device, SVC_WRITE),
    M("GetDeviceKeys", get_device_keys_request, identity_get_device_keys, 0),
    M("ResolvePatient", resolve_patient_request, identity_resolve_patient, 0),
    M("ActivateAccount", activate_account_request, identity_activate_account,
      SVC_PUBLIC | SVC_WRITE),
    M("IssueActivationCode", issue_activation_code_request, identity_issue_activation_code,
      SVC_OPERATOR | SVC_WRITE),
};
#undef M

const svc_def_t identity_service = {
    .name = SERVICE_IDENTITY,
    .tables = s_tables,
    .methods = s_methods,
    .n_methods = sizeof s_methods / sizeof s_methods[0],
    .api = &espace__v1__identity__descriptor,
    .init = s_init,
    .fini = s_fini,
    .consent_records = 1, /* ResolvePatient, ActivateAccount: svc_consent_after */
};
