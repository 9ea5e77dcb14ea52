/* espace.c - libespace (espace.h): a bus client with a professional's session. */
#include "clients/lib/espace.h"

#include <poll.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zmq.h>

#include "bus/bus.h"
#include "bus/codec.h"
#include "espace/v1/identity.pb-c.h"

#define S_REPLY_GRACE_MS 250 /* local wait beyond the request deadline */
#define S_RETRY_MS 10        /* resend pause while the connection is not up */

_Static_assert(ESPACE_TOPIC_MAX == BUS_MAX_TOPIC + 1, "topic buffer of espace.h");

struct espace {
    void *zctx;               /* own ZeroMQ context */
    bus_client_t *client;     /* DEALER to the broker */
    char endpoint[512];       /* copy of opts.endpoint */
    int tcp;                  /* 1: tcp + CURVE */
    unsigned timeout_ms;      /* per call */
    int answered;             /* 1 once the broker answered anything */
    uint8_t public_key[32];   /* own CURVE keypair (tcp) */
    uint8_t secret_key[32];
};

static void s_err(espace_error_t *err, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void s_err(espace_error_t *err, int status, const char *field, const char *fmt, ...)
{
    if (!err)
        return;
    err->status = status;
    err->message[0] = '\0';
    err->field[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    if (field)
        snprintf(err->field, sizeof err->field, "%s", field);
}

static void s_err_reply(espace_error_t *err, int status, const bus_reply_t *r)
{
    if (!err)
        return;
    err->status = status;
    snprintf(err->message, sizeof err->message, "%s", r->message);
    snprintf(err->field, sizeof err->field, "%s", r->field);
    if (status < 0 && !err->message[0])
        snprintf(err->message, sizeof err->message, "%s", es_strerror(status));
}

/* The error when nothing came back at all. */
static int s_no_answer(espace_t *e, espace_error_t *err)
{
    if (e->answered) {
        s_err(err, ES_DEADLINE_EXCEEDED, NULL, "no reply from %s within %u ms", e->endpoint,
              e->timeout_ms);
        return ES_DEADLINE_EXCEEDED;
    }
    s_err(err, ES_UNAVAILABLE, NULL, "no answer from %s (%s)", e->endpoint,
          e->tcp ? "is the key registered?" : "is espace running?");
    return ES_UNAVAILABLE;
}

const char *espace_status_name(int status)
{
    return es_status_name(status);
}

const char *espace_endpoint(const espace_t *e)
{
    return e ? e->endpoint : "";
}

int espace_open(const espace_opts_t *o, espace_t **out)
{
    int rc = ES_INTERNAL;
    if (!o || !out || !o->endpoint)
        return ES_INVALID_ARGUMENT;
    *out = NULL;
    int tcp = !strncmp(o->endpoint, "tcp://", 6);
    if (!tcp && strncmp(o->endpoint, "ipc://", 6))
        return ES_INVALID_ARGUMENT;
    if (strlen(o->endpoint) >= sizeof(((espace_t *)0)->endpoint))
        return ES_INVALID_ARGUMENT;
    if (sodium_init() < 0)
        return ES_INTERNAL;
    espace_t *e = calloc(1, sizeof *e);
    if (!e)
        return ES_RESOURCE_EXHAUSTED;
    snprintf(e->endpoint, sizeof e->endpoint, "%s", o->endpoint);
    e->tcp = tcp;
    e->timeout_ms = o->timeout_ms ? o->timeout_ms : ESPACE_DEFAULT_TIMEOUT_MS;
    if (e->timeout_ms > BUS_MAX_TIMEOUT_MS)
        e->timeout_ms = BUS_MAX_TIMEOUT_MS;
    bus_conn_t conn = {.endpoint = e->endpoint};
    if (tcp) {
        uint8_t server[32];
        if (!o->broker_key || !o->keypair_path || bus_key_parse(o->broker_key, server) < 0) {
            rc = ES_INVALID_ARGUMENT;
            goto free_e;
        }
        rc = bus_keypair_load(o->keypair_path, o->create_keypair ? 1 : 0, e->public_key,
                              e->secret_key);
        if (rc < 0)
            goto free_e;
        conn.server_key = o->broker_key;
        conn.public_key = e->public_key;
        conn.secret_key = e->secret_key;
    }
    e->zctx = zmq_ctx_new();
    if (!e->zctx) {
        rc = ES_INTERNAL;
        goto free_e;
    }
    rc = bus_client_new(e->zctx, &conn, &e->client);
    if (rc < 0)
        goto free_e;
    *out = e;
    return 0;
free_e:
    espace_close(&e);
    return rc;
}

void espace_close(espace_t **ep)
{
    if (!ep || !*ep)
        return;
    espace_t *e = *ep;
    bus_client_destroy(&e->client);
    if (e->zctx)
        zmq_ctx_term(e->zctx);
    sodium_memzero(e, sizeof *e);
    free(e);
    *ep = NULL;
}

void espace_free(ProtobufCMessage *msg)
{
    codec_free(msg);
}

int espace_call(espace_t *e, const char *service, const char *method,
                const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_desc,
                ProtobufCMessage **reply, espace_error_t *err)
{
    if (reply)
        *reply = NULL;
    if (!e || !service || !method || !reply_desc) {
        s_err(err, ES_INVALID_ARGUMENT, NULL, "missing argument");
        return ES_INVALID_ARGUMENT;
    }
    int64_t deadline = bus_mono_ms() + e->timeout_ms + S_REPLY_GRACE_MS;
    uint64_t id = 0;
    int rc;
    /* With ZMQ_IMMEDIATE the send is refused until the connection is up
     * (and forever if CURVE refuses us): retry until the deadline. */
    for (;;) {
        rc = bus_client_send(e->client, service, method, req, e->timeout_ms, NULL, &id);
        if (rc == 0)
            break;
        if (rc != ES_RESOURCE_EXHAUSTED) {
            s_err(err, rc, NULL, "cannot send: %s", es_strerror(rc));
            return rc;
        }
        if (bus_mono_ms() >= deadline)
            return s_no_answer(e, err);
        poll(NULL, 0, S_RETRY_MS);
    }
    for (;;) {
        int64_t left = deadline - bus_mono_ms();
        if (left <= 0)
            return s_no_answer(e, err);
        bus_reply_t r;
        memset(&r, 0, sizeof r);
        rc = bus_client_recv(e->client, (int)left, &r);
        if (rc == ES_DEADLINE_EXCEEDED)
            return s_no_answer(e, err);
        if (rc < 0) {
            s_err(err, rc, NULL, "receive failed: %s", es_strerror(rc));
            return rc;
        }
        e->answered = 1;
        if (r.id != id) { /* a late reply to an earlier call */
            bus_reply_clear(&r);
            continue;
        }
        if (r.status < 0) {
            s_err_reply(err, r.status, &r);
            rc = r.status;
            bus_reply_clear(&r);
            return rc;
        }
        ProtobufCMessage *m = NULL;
        const char *why = NULL;
        rc = codec_decode(reply_desc, r.body ? r.body : (const uint8_t *)"", r.body_len, 0, &m,
                          &why);
        bus_reply_clear(&r);
        if (rc < 0) {
            s_err(err, ES_INTERNAL, NULL, "undecodable reply (%s)", why ? why : "?");
            return ES_INTERNAL;
        }
        if (reply)
            *reply = m;
        else
            codec_free(m);
        s_err(err, ES_OK, NULL, NULL);
        return 0;
    }
}

int espace_resume(espace_t *e, const char *token, espace_error_t *err)
{
    if (!e || !token || !*token || strlen(token) >= ESPACE_TOKEN_MAX) {
        s_err(err, ES_INVALID_ARGUMENT, "token", "missing or too long token");
        return ES_INVALID_ARGUMENT;
    }
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    Espace__V1__Caller *caller = NULL;
    int rc = bus_client_auth(e->client, token, e->timeout_ms, &caller, &r);
    codec_free(caller ? &caller->base : NULL);
    if ((rc == ES_DEADLINE_EXCEEDED || rc == ES_RESOURCE_EXHAUSTED) && !r.message[0]) {
        bus_reply_clear(&r);
        return s_no_answer(e, err);
    }
    e->answered = 1;
    if (rc < 0)
        s_err_reply(err, rc, &r);
    else
        s_err(err, ES_OK, NULL, NULL);
    bus_reply_clear(&r);
    return rc;
}

int espace_login_pro(espace_t *e, const char *rpps, const char *password,
                     const char *device_name, espace_session_t *out, espace_error_t *err)
{
    if (!e || !rpps || !password || !out) {
        s_err(err, ES_INVALID_ARGUMENT, NULL, "missing argument");
        return ES_INVALID_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    Espace__V1__LoginRequest req = ESPACE__V1__LOGIN_REQUEST__INIT;
    req.who_case = ESPACE__V1__LOGIN_REQUEST__WHO_RPPS;
    req.rpps = (char *)rpps;
    req.password = (char *)password;
    req.device_name = (char *)(device_name ? device_name : "device");
    ProtobufCMessage *m = NULL;
    int rc = espace_call(e, "identity", "Login", &req.base, &espace__v1__login_reply__descriptor,
                         &m, err);
    if (rc < 0)
        return rc;
    Espace__V1__LoginReply *lr = (Espace__V1__LoginReply *)m;
    if (!lr->token || strlen(lr->token) >= sizeof out->token || lr->session_id.len != 16 ||
        lr->device_id.len != 16) {
        rc = ES_INTERNAL;
        s_err(err, rc, NULL, "malformed login reply");
        goto free_reply;
    }
    snprintf(out->token, sizeof out->token, "%s", lr->token);
    memcpy(out->session_id, lr->session_id.data, 16);
    memcpy(out->device_id, lr->device_id.data, 16);
    out->expires_ms = lr->expires_ms;
    snprintf(out->principal, sizeof out->principal, "%s",
             lr->caller && lr->caller->principal ? lr->caller->principal : rpps);
    rc = espace_resume(e, out->token, err);
    if (rc < 0)
        sodium_memzero(out, sizeof *out);
free_reply:
    if (lr->token)
        sodium_memzero(lr->token, strlen(lr->token));
    codec_free(m);
    return rc;
}

int espace_whoami(espace_t *e, espace_whoami_t *out, espace_error_t *err)
{
    if (!e || !out) {
        s_err(err, ES_INVALID_ARGUMENT, NULL, "missing argument");
        return ES_INVALID_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    Espace__V1__WhoAmIRequest req = ESPACE__V1__WHO_AM_IREQUEST__INIT;
    ProtobufCMessage *m = NULL;
    int rc = espace_call(e, "identity", "WhoAmI", &req.base,
                         &espace__v1__who_am_ireply__descriptor, &m, err);
    if (rc < 0)
        return rc;
    Espace__V1__WhoAmIReply *w = (Espace__V1__WhoAmIReply *)m;
    if (w->caller) {
        out->kind = (int)w->caller->kind;
        snprintf(out->principal, sizeof out->principal, "%s",
                 w->caller->principal ? w->caller->principal : "");
        out->session_expires_ms = w->caller->session_expires_ms;
    }
    snprintf(out->display_name, sizeof out->display_name, "%s",
             w->display_name ? w->display_name : "");
    snprintf(out->profession, sizeof out->profession, "%s", w->profession ? w->profession : "");
    codec_free(m);
    return 0;
}

int espace_logout(espace_t *e, espace_error_t *err)
{
    Espace__V1__LogoutRequest req = ESPACE__V1__LOGOUT_REQUEST__INIT;
    return espace_call(e, "identity", "Logout", &req.base, &espace__v1__logout_reply__descriptor,
                       NULL, err);
}

int espace_resolve_patient(espace_t *e, const char *ins, char patient_id[ESPACE_PATIENT_ID_MAX],
                           espace_error_t *err)
{
    if (!e || !ins || !patient_id) {
        s_err(err, ES_INVALID_ARGUMENT, NULL, "missing argument");
        return ES_INVALID_ARGUMENT;
    }
    patient_id[0] = '\0';
    Espace__V1__ResolvePatientRequest req = ESPACE__V1__RESOLVE_PATIENT_REQUEST__INIT;
    req.ins = (char *)ins;
    ProtobufCMessage *m = NULL;
    int rc = espace_call(e, "identity", "ResolvePatient", &req.base,
                         &espace__v1__resolve_patient_reply__descriptor, &m, err);
    if (rc < 0)
        return rc;
    Espace__V1__ResolvePatientReply *r = (Espace__V1__ResolvePatientReply *)m;
    if (!r->patient_id || strlen(r->patient_id) != ESPACE_PATIENT_ID_MAX - 1) {
        codec_free(m);
        s_err(err, ES_INTERNAL, NULL, "malformed ResolvePatient reply");
        return ES_INTERNAL;
    }
    memcpy(patient_id, r->patient_id, ESPACE_PATIENT_ID_MAX);
    codec_free(m);
    return 0;
}

int espace_subscribe(espace_t *e, const char *prefix, espace_error_t *err)
{
    if (!e || !prefix) {
        s_err(err, ES_INVALID_ARGUMENT, NULL, "missing argument");
        return ES_INVALID_ARGUMENT;
    }
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = bus_client_subscribe(e->client, prefix, e->timeout_ms, &r);
    if ((rc == ES_DEADLINE_EXCEEDED || rc == ES_UNAVAILABLE) && !r.message[0])
        return s_no_answer(e, err);
    e->answered = 1;
    if (rc < 0)
        s_err_reply(err, rc, &r);
    else
        s_err(err, ES_OK, NULL, NULL);
    return rc;
}

int espace_next_event(espace_t *e, int timeout_ms, char topic[ESPACE_TOPIC_MAX],
                      Espace__V1__Event **out, espace_error_t *err)
{
    if (out)
        *out = NULL;
    if (!e || !topic || !out) {
        s_err(err, ES_INVALID_ARGUMENT, NULL, "missing argument");
        return ES_INVALID_ARGUMENT;
    }
    int rc = bus_client_recv_event(e->client, timeout_ms, topic, out);
    if (rc == ES_DEADLINE_EXCEEDED)
        s_err(err, rc, NULL, "no event within %d ms", timeout_ms);
    else if (rc < 0)
        s_err(err, rc, NULL, "receive failed: %s", es_strerror(rc));
    else
        s_err(err, ES_OK, NULL, NULL);
    return rc;
}

/* ---- consent vocabulary as text ---- */

static const char *const s_categories[] = {"unspecified", "agenda", "documents", "measures",
                                           "messaging"};
static const char *const s_actions[] = {"unspecified", "read", "write"};
static const char *const s_purposes[] = {"unspecified", "prevention", "diagnostic", "soins",
                                         "suivi_social_medicosocial"};
static const char *const s_statuses[] = {"unspecified", "proposed", "active", "rejected",
                                         "inactive"};
#define S_COUNT(a) (int)(sizeof(a) / sizeof((a)[0]))

/* Index >= 1 of `name` (any case) in names[0..n), or ES_INVALID_ARGUMENT. */
static int s_name_find(const char *const *names, int n, const char *name)
{
    for (int i = 1; i < n; i++)
        if (!strcasecmp(names[i], name))
            return i;
    return ES_INVALID_ARGUMENT;
}

static const char *s_name_of(const char *const *names, int n, int v)
{
    return (v >= 0 && v < n) ? names[v] : "?";
}

const char *espace_category_name(int category)
{
    return s_name_of(s_categories, S_COUNT(s_categories), category);
}

const char *espace_action_name(int action)
{
    return s_name_of(s_actions, S_COUNT(s_actions), action);
}

const char *espace_purpose_name(int purpose)
{
    return s_name_of(s_purposes, S_COUNT(s_purposes), purpose);
}

const char *espace_grant_status_name(int status)
{
    return s_name_of(s_statuses, S_COUNT(s_statuses), status);
}

int espace_purpose_parse(const char *name)
{
    return name ? s_name_find(s_purposes, S_COUNT(s_purposes), name) : ES_INVALID_ARGUMENT;
}

static int s_why(char *why, size_t whylen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int s_why(char *why, size_t whylen, int rc, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int espace_scopes_parse(const char *text, espace_scopes_t *out, char *why, size_t whylen)
{
    if (!text || !out)
        return s_why(why, whylen, ES_INVALID_ARGUMENT, "no scopes");
    memset(out, 0, sizeof *out);
    size_t len = strlen(text);
    if (len >= sizeof out->text)
        return s_why(why, whylen, ES_TOO_LARGE, "scope list longer than %d chars",
                     ESPACE_SCOPES_TEXT_MAX - 1);
    memcpy(out->text, text, len + 1);
    char *save = NULL;
    for (char *item = strtok_r(out->text, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (out->n >= ESPACE_SCOPES_MAX)
            return s_why(why, whylen, ES_INVALID_ARGUMENT, "more than %d scopes",
                         ESPACE_SCOPES_MAX);
        Espace__V1__Scope *sc = &out->scope[out->n];
        espace__v1__scope__init(sc);
        char *action = strchr(item, ':');
        if (!action)
            return s_why(why, whylen, ES_INVALID_ARGUMENT,
                         "scope %zu: expected CATEGORY:ACTION", out->n + 1);
        *action++ = '\0';
        char *codes = strchr(action, ':');
        if (codes)
            *codes++ = '\0';
        int cat = s_name_find(s_categories, S_COUNT(s_categories), item);
        if (cat < 0)
            return s_why(why, whylen, ES_INVALID_ARGUMENT,
                         "scope %zu: unknown category '%.32s' (agenda, documents, measures, "
                         "messaging)",
                         out->n + 1, item);
        int act = s_name_find(s_actions, S_COUNT(s_actions), action);
        if (act < 0)
            return s_why(why, whylen, ES_INVALID_ARGUMENT,
                         "scope %zu: unknown action '%.32s' (read, write)", out->n + 1, action);
        sc->category = (Espace__V1__Category)cat;
        sc->action = (Espace__V1__Action)act;
        if (codes) {
            char **list = out->codes[out->n];
            char *cs = NULL;
            if (!*codes || codes[strlen(codes) - 1] == '+' || *codes == '+' || strstr(codes, "++"))
                return s_why(why, whylen, ES_INVALID_ARGUMENT, "scope %zu: empty code",
                             out->n + 1);
            for (char *c = strtok_r(codes, "+", &cs); c; c = strtok_r(NULL, "+", &cs)) {
                if (sc->n_codes >= ESPACE_SCOPE_CODES_MAX)
                    return s_why(why, whylen, ES_INVALID_ARGUMENT, "scope %zu: more than %d codes",
                                 out->n + 1, ESPACE_SCOPE_CODES_MAX);
                list[sc->n_codes++] = c;
            }
            sc->codes = list;
        }
        out->list[out->n] = sc;
        out->n++;
    }
    if (out->n == 0)
        return s_why(why, whylen, ES_INVALID_ARGUMENT, "no scopes");
    return 0;
}

int espace_scopes_format(Espace__V1__Scope *const *scopes, size_t n, char *out, size_t len)
{
    size_t used = 0;
    if (!out || len == 0)
        return ES_TOO_LARGE;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const Espace__V1__Scope *sc = scopes[i];
        int w = snprintf(out + used, len - used, "%s%s:%s", i ? "," : "",
                         espace_category_name((int)sc->category),
                         espace_action_name((int)sc->action));
        if (w < 0 || (size_t)w >= len - used)
            return ES_TOO_LARGE;
        used += (size_t)w;
        for (size_t k = 0; k < sc->n_codes; k++) {
            w = snprintf(out + used, len - used, "%c%s", k ? '+' : ':',
                         sc->codes[k] ? sc->codes[k] : "");
            if (w < 0 || (size_t)w >= len - used)
                return ES_TOO_LARGE;
            used += (size_t)w;
        }
    }
    return 0;
}
