/* conn.c - libespace, the connection (conn.h): a bus client, the session
 * bound to it, the generic call the typed calls share (rpc.h), events. */
#include "clients/lib/conn.h"

#include <poll.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "bus/bus.h"
#include "bus/codec.h"
#include "clients/lib/rpc.h"

#define S_REPLY_GRACE_MS 250 /* local wait beyond the request deadline */
#define S_RETRY_MS 10        /* resend pause while the connection is not up */

_Static_assert(ESPACE_TOPIC_MAX == BUS_MAX_TOPIC + 1, "topic buffer of conn.h");
_Static_assert(ESPACE_KEY_Z85 == BUS_KEY_Z85, "key text of conn.h");

struct espace {
    void *zctx;               /* own ZeroMQ context */
    bus_client_t *client;     /* DEALER to the broker */
    char endpoint[512];       /* copy of opts.endpoint */
    int tcp;                  /* 1: tcp + CURVE */
    unsigned timeout_ms;      /* per call */
    int answered;             /* 1 once the broker answered anything */
    uint8_t public_key[32];   /* own CURVE keypair (tcp) */
    uint8_t secret_key[32];
    Espace__V1__Caller as;    /* opts.as_kind: the Caller stamped on requests */
    char as_principal[ESPACE_PRINCIPAL_MAX];
    char principal[ESPACE_PRINCIPAL_MAX]; /* of the bound session, or "" */
};

int espace_err_set(espace_error_t *err, int status, const char *field, const char *fmt, ...)
{
    if (!err)
        return status;
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
    return status;
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
    if (e->answered)
        return espace_err_set(err, ES_DEADLINE_EXCEEDED, NULL, "no reply from %s within %u ms",
                              e->endpoint, e->timeout_ms);
    return espace_err_set(err, ES_UNAVAILABLE, NULL, "no answer from %s (%s)", e->endpoint,
                          e->tcp ? "is the key registered?" : "is espace running?");
}

/* The broker answered a command with rc and r: note that it answers, set
 * *err from them, clear r. Returns rc. */
static int s_broker_answer(espace_t *e, int rc, bus_reply_t *r, espace_error_t *err)
{
    e->answered = 1;
    if (rc < 0)
        s_err_reply(err, rc, r);
    else
        espace_err_set(err, ES_OK, NULL, NULL);
    bus_reply_clear(r);
    return rc;
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
    if (o->as_kind) {
        if (tcp || !o->as_principal || !*o->as_principal ||
            strlen(o->as_principal) >= sizeof e->as_principal) {
            rc = ES_INVALID_ARGUMENT;
            goto free_e;
        }
        espace__v1__caller__init(&e->as);
        e->as.kind = (Espace__V1__PrincipalKind)o->as_kind;
        snprintf(e->as_principal, sizeof e->as_principal, "%s", o->as_principal);
        e->as.principal = e->as_principal;
        e->as.peer_role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
    }
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
        espace_err_set(err, ES_INVALID_ARGUMENT, NULL, "missing argument");
        return ES_INVALID_ARGUMENT;
    }
    int64_t deadline = bus_mono_ms() + e->timeout_ms + S_REPLY_GRACE_MS;
    uint64_t id = 0;
    int rc;
    /* With ZMQ_IMMEDIATE the send is refused until the connection is up
     * (and forever if CURVE refuses us): retry until the deadline. */
    for (;;) {
        rc = bus_client_send(e->client, service, method, req, e->timeout_ms,
                             e->as.kind ? &e->as : NULL, &id);
        if (rc == 0)
            break;
        if (rc != ES_RESOURCE_EXHAUSTED) {
            espace_err_set(err, rc, NULL, "cannot send: %s", es_strerror(rc));
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
            espace_err_set(err, rc, NULL, "receive failed: %s", es_strerror(rc));
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
            espace_err_set(err, ES_INTERNAL, NULL, "undecodable reply (%s)", why ? why : "?");
            return ES_INTERNAL;
        }
        if (reply)
            *reply = m;
        else
            codec_free(m);
        espace_err_set(err, ES_OK, NULL, NULL);
        return 0;
    }
}

int espace_resume(espace_t *e, const char *token, espace_error_t *err)
{
    if (!e || !token || !*token || strlen(token) >= ESPACE_TOKEN_MAX) {
        espace_err_set(err, ES_INVALID_ARGUMENT, "token", "missing or too long token");
        return ES_INVALID_ARGUMENT;
    }
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    Espace__V1__Caller *caller = NULL;
    int rc = bus_client_auth(e->client, token, e->timeout_ms, &caller, &r);
    if (rc == 0)
        espace_principal_set(e, caller && caller->principal ? caller->principal : "");
    codec_free(caller ? &caller->base : NULL);
    if ((rc == ES_DEADLINE_EXCEEDED || rc == ES_RESOURCE_EXHAUSTED) && !r.message[0]) {
        bus_reply_clear(&r);
        return s_no_answer(e, err);
    }
    return s_broker_answer(e, rc, &r, err);
}

int espace_subscribe(espace_t *e, const char *prefix, espace_error_t *err)
{
    if (!e || !prefix) {
        espace_err_set(err, ES_INVALID_ARGUMENT, NULL, "missing argument");
        return ES_INVALID_ARGUMENT;
    }
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = bus_client_subscribe(e->client, prefix, e->timeout_ms, &r);
    if ((rc == ES_DEADLINE_EXCEEDED || rc == ES_UNAVAILABLE) && !r.message[0])
        return s_no_answer(e, err);
    return s_broker_answer(e, rc, &r, err);
}

int espace_next_event(espace_t *e, int timeout_ms, char topic[ESPACE_TOPIC_MAX],
                      Espace__V1__Event **out, espace_error_t *err)
{
    if (out)
        *out = NULL;
    if (!e || !topic || !out) {
        espace_err_set(err, ES_INVALID_ARGUMENT, NULL, "missing argument");
        return ES_INVALID_ARGUMENT;
    }
    int rc = bus_client_recv_event(e->client, timeout_ms, topic, out);
    if (rc == ES_DEADLINE_EXCEEDED)
        espace_err_set(err, rc, NULL, "no event within %d ms", timeout_ms);
    else if (rc < 0)
        espace_err_set(err, rc, NULL, "receive failed: %s", es_strerror(rc));
    else
        espace_err_set(err, ES_OK, NULL, NULL);
    return rc;
}


const char *espace_principal(const espace_t *e)
{
    return e ? e->principal : "";
}

void espace_principal_set(espace_t *e, const char *principal)
{
    snprintf(e->principal, sizeof e->principal, "%s", principal ? principal : "");
}

int espace_rpc(espace_t *e, const char *service, const ProtobufCServiceDescriptor *d,
               const char *method, const ProtobufCMessage *req, ProtobufCMessage **reply,
               espace_error_t *err)
{
    if (reply)
        *reply = NULL;
    const ProtobufCMethodDescriptor *m =
        d && method ? protobuf_c_service_descriptor_get_method_by_name(d, method) : NULL;
    if (!m || (req && req->descriptor != m->input))
        return espace_err_set(err, ES_INTERNAL, NULL, "%s.%s: not a method of the schema",
                              service ? service : "?", method ? method : "?");
    return espace_call(e, service, method, req, m->output, reply, err);
}

int espace_keypair(const char *path, int create, char public_z85[ESPACE_KEY_Z85], int *created)
{
    uint8_t pk[32], sk[32];
    if (!path || !public_z85)
        return ES_INVALID_ARGUMENT;
    if (sodium_init() < 0)
        return ES_INTERNAL;
    int existed = access(path, F_OK) == 0;
    int rc = bus_keypair_load(path, create ? 1 : 0, pk, sk);
    sodium_memzero(sk, sizeof sk);
    if (rc < 0)
        return rc;
    bus_key_z85(pk, public_z85);
    if (created)
        *created = !existed;
    return 0;
}

int espace_key_parse(const char *z85, uint8_t key[32])
{
    return z85 ? bus_key_parse(z85, key) : ES_INVALID_ARGUMENT;
}

void espace_key_z85(const uint8_t key[32], char out[ESPACE_KEY_Z85])
{
    bus_key_z85(key, out);
}

void espace_cursor_advance(espace_cursor_t *cursor, const ProtobufCBinaryData *next)
{
    cursor->more = next->len > 0 && next->len <= sizeof cursor->data;
    cursor->len = cursor->more ? next->len : 0;
    if (cursor->more)
        memcpy(cursor->data, next->data, next->len);
}
