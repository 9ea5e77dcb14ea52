/*
 * catalogue.c - the catalogue of referenced apps: AddApp, WithdrawApp
 * (operator), ListApps, GetApp (any authenticated caller).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "services/consent/consent_int.h"
#include "process/log.h"
#include "proto/status.h"

#define CATALOGUE_MAX_LIST 1000 /* apps in one ListApps reply */

int consent_app_load(store_txn_t *t, const char *app_id, Espace__V1__App **out)
{
    return consent_load(t, CONSENT_T_APPS, app_id, strlen(app_id), &espace__v1__app__descriptor,
                        (ProtobufCMessage **)out);
}

/* Text field of `min..max` characters. */
static int s_text(svc_call_t *c, const char *field, const char *s, long min, long max)
{
    long n = consent_utf8_chars(s);
    if (n < 0)
        return svc_fail(c, ES_INVALID_ARGUMENT, field, "invalid UTF-8");
    if (n < min || n > max)
        return svc_fail(c, ES_INVALID_ARGUMENT, field, "length must be %ld..%ld", min, max);
    return ES_OK;
}

/* https URL, printable ASCII without spaces, 9..500 chars. */
static int s_url(svc_call_t *c, const char *field, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 9 || n > 500 || strncmp(s, "https://", 8) != 0)
        return svc_fail(c, ES_INVALID_ARGUMENT, field, "an https:// URL of 9..500 chars");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return svc_fail(c, ES_INVALID_ARGUMENT, field, "URL with invalid characters");
    return ES_OK;
}

static int s_app_check(svc_call_t *c, const Espace__V1__App *a)
{
    int rc;
    if (!consent_app_id_valid(a->id))
        return svc_fail(c, ES_INVALID_ARGUMENT, "app.id", "3..64 chars of [a-z0-9._-]");
    if ((rc = s_text(c, "app.name", a->name, 1, 100)) != 0 ||
        (rc = s_text(c, "app.publisher", a->publisher, 1, 200)) != 0 ||
        (rc = s_text(c, "app.description_fr", a->description_fr, 1, 2000)) != 0)
        return rc;
    if (a->n_purposes < 1 || a->n_purposes > 4)
        return svc_fail(c, ES_INVALID_ARGUMENT, "app.purposes", "1..4 purposes");
    for (size_t i = 0; i < a->n_purposes; i++) {
        char f[48];
        snprintf(f, sizeof f, "app.purposes[%zu]", i);
        if (!consent_purpose_valid(a->purposes[i]))
            return svc_fail(c, ES_INVALID_ARGUMENT, f, "unknown purpose");
        for (size_t j = 0; j < i; j++)
            if (a->purposes[j] == a->purposes[i])
                return svc_fail(c, ES_INVALID_ARGUMENT, f, "duplicate purpose");
    }
    if ((rc = consent_scopes_check(c, "app.scopes", a->scopes, a->n_scopes)) != 0)
        return rc;
    if (a->curve_public_key.len != 32)
        return svc_fail(c, ES_INVALID_ARGUMENT, "app.curve_public_key", "32 bytes required");
    if ((rc = s_url(c, "app.terms_url", a->terms_url)) != 0 ||
        (rc = s_url(c, "app.privacy_url", a->privacy_url)) != 0)
        return rc;
    return ES_OK;
}

int consent_add_app(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    (void)st;
    const Espace__V1__AddAppRequest *req = (const Espace__V1__AddAppRequest *)m;
    if (!req->app)
        return svc_fail(c, ES_INVALID_ARGUMENT, "app", "app required");
    int rc = s_app_check(c, req->app);
    if (rc != 0)
        return rc;
    Espace__V1__App a = *req->app; /* shallow: packed below, borrowed fields */
    a.withdrawn = 0;
    a.added_ms = svc_now_ms(c);
    a.withdrawn_ms = 0;
    uint8_t *buf = NULL;
    size_t len = 0;
    if ((rc = codec_pack(&a.base, &buf, &len)) != 0)
        return svc_fail(c, rc, NULL, "pack failed");
    rc = store_put_new(t, CONSENT_T_APPS, a.id, strlen(a.id), buf, len);
    free(buf);
    if (rc == ES_ALREADY_EXISTS)
        return svc_fail(c, rc, "app.id", "app id already referenced");
    if (rc != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    Espace__V1__AddAppReply rep = ESPACE__V1__ADD_APP_REPLY__INIT;
    rep.app = &a;
    if ((rc = svc_reply(c, &rep.base)) != 0)
        return svc_fail(c, rc, NULL, "reply too large");
    log_info(CONSENT_SERVICE, "app.added", "app=%s", a.id);
    return ES_OK;
}

/* The app a request names in its app_id field: checked, then loaded (caller
 * frees *out with codec_free). 0, or the status set with svc_fail. */
static int s_app_of_request(svc_call_t *c, store_txn_t *t, const char *app_id,
                            Espace__V1__App **out)
{
    if (!consent_app_id_valid(app_id))
        return svc_fail(c, ES_INVALID_ARGUMENT, "app_id", "3..64 chars of [a-z0-9._-]");
    int rc = consent_app_load(t, app_id, out);
    if (rc == ES_NOT_FOUND)
        return svc_fail(c, rc, "app_id", "no such app");
    if (rc != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    return 0;
}

int consent_withdraw_app(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    (void)st;
    const Espace__V1__WithdrawAppRequest *req = (const Espace__V1__WithdrawAppRequest *)m;
    Espace__V1__App *a = NULL;
    int rc = s_app_of_request(c, t, req->app_id, &a);
    if (rc != 0)
        return rc;
    if (a->withdrawn) {
        rc = svc_fail(c, ES_FAILED_PRECONDITION, "app_id", "app already withdrawn");
        goto done;
    }
    a->withdrawn = 1;
    a->withdrawn_ms = svc_now_ms(c);
    if ((rc = consent_save(t, CONSENT_T_APPS, a->id, strlen(a->id), &a->base)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    Espace__V1__WithdrawAppReply rep = ESPACE__V1__WITHDRAW_APP_REPLY__INIT;
    rep.app = a;
    if ((rc = svc_reply(c, &rep.base)) != 0) {
        rc = svc_fail(c, rc, NULL, "reply too large");
        goto done;
    }
    log_info(CONSENT_SERVICE, "app.withdrawn", "app=%s", a->id);
done:
    codec_free(&a->base);
    return rc;
}

int consent_list_apps(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    (void)st;
    const Espace__V1__ListAppsRequest *req = (const Espace__V1__ListAppsRequest *)m;
    Espace__V1__App **apps = calloc(CATALOGUE_MAX_LIST, sizeof *apps);
    size_t n = 0;
    store_cursor_t *cur = NULL;
    int rc;
    if (!apps)
        return svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
    if ((rc = store_cursor_open(t, CONSENT_T_APPS, NULL, 0, &cur)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    for (;;) {
        const void *k, *v;
        size_t kl, vl;
        rc = store_cursor_next(cur, &k, &kl, &v, &vl);
        if (rc == ES_NOT_FOUND)
            break;
        if (rc != 0) {
            rc = svc_fail(c, rc, NULL, "storage failure");
            goto done;
        }
        ProtobufCMessage *msg = NULL;
        if (codec_decode(&espace__v1__app__descriptor, v, vl, STORE_MAX_VALUE, &msg, NULL) != 0) {
            rc = svc_fail(c, ES_INTERNAL, NULL, "corrupt record");
            goto done;
        }
        Espace__V1__App *a = (Espace__V1__App *)msg;
        if (a->withdrawn && !req->include_withdrawn) {
            codec_free(msg);
            continue;
        }
        if (n == CATALOGUE_MAX_LIST) {
            codec_free(msg);
            break;
        }
        apps[n++] = a;
    }
    Espace__V1__ListAppsReply rep = ESPACE__V1__LIST_APPS_REPLY__INIT;
    rep.apps = apps;
    rep.n_apps = n;
    rc = svc_reply(c, &rep.base);
    if (rc != 0)
        rc = svc_fail(c, rc, NULL, "reply too large");
done:
    store_cursor_close(&cur);
    for (size_t i = 0; i < n; i++)
        codec_free(&apps[i]->base);
    free(apps);
    return rc;
}

int consent_get_app(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    (void)st;
    const Espace__V1__GetAppRequest *req = (const Espace__V1__GetAppRequest *)m;
    Espace__V1__App *a = NULL;
    int rc = s_app_of_request(c, t, req->app_id, &a);
    if (rc != 0)
        return rc;
    Espace__V1__GetAppReply rep = ESPACE__V1__GET_APP_REPLY__INIT;
    rep.app = a;
    rc = svc_reply(c, &rep.base);
    if (rc != 0)
        rc = svc_fail(c, rc, NULL, "reply too large");
    codec_free(&a->base);
    return rc;
}
