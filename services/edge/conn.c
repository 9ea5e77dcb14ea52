/*
 * conn.c - the "espace.v1" websocket protocol (edge_int.h, docs/protocol.md
 * section "Websocket edge"): per-connection state, ClientMessage handling,
 * binding a connection to a session, queueing and closing.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "espace/v1/edge.pb-c.h"
#include "services/edge/edge_int.h"
#include "espace/v1/identity.pb-c.h"
#include "process/log.h"
#include "proto/ids.h"
#include "proto/names.h"
#include "proto/status.h"

#define S_MAX_METHOD 64          /* longest method name forwarded */
#define S_EDGE_LABEL "edge"      /* metrics service label of edge-local answers */
#define S_REVALIDATE_PER_SWEEP 64 /* revalidations sent per 250 ms sweep at most */
#define S_MAX_TOKEN 4096         /* longest session token kept */

/* ---- principals ---- */

static size_t s_hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 16777619u;
    }
    return h & (EDGE_PRINCIPAL_BUCKETS - 1);
}

edge_principal_t *edge_principal_find(edge_t *e, const char *id)
{
    for (edge_principal_t *p = e->prbuckets[s_hash_str(id)]; p != NULL; p = p->hnext)
        if (strcmp(p->id, id) == 0)
            return p;
    return NULL;
}

int edge_conn_token_set(edge_conn_t *c, const char *token)
{
    if (c->token != NULL) {
        sodium_memzero(c->token, strlen(c->token));
        free(c->token);
        c->token = NULL;
    }
    if (token == NULL || token[0] == '\0')
        return 0;
    size_t n = strnlen(token, S_MAX_TOKEN + 1);
    if (n > S_MAX_TOKEN)
        return ES_INVALID_ARGUMENT;
    c->token = malloc(n + 1);
    if (c->token == NULL)
        return ES_RESOURCE_EXHAUSTED;
    memcpy(c->token, token, n + 1);
    return 0;
}

/* Next revalidation: revalidate_s from now, minus up to a quarter of it at
 * random, so connections bound together do not all re-check together. */
static void s_revalidate_schedule(edge_conn_t *c)
{
    int64_t period = (int64_t)c->edge->o.revalidate_s * 1000;
    int64_t jitter = (int64_t)randombytes_uniform((uint32_t)(period / 4 + 1));
    c->revalidate_ms = edge_now_us() / 1000 + period - jitter;
}

int edge_conn_bind(edge_conn_t *c, Espace__V1__Caller *caller)
{
    edge_t *e = c->edge;
    char prefix[TOPIC_MAX + 1];
    if (c->caller != NULL || !id_hex_valid(caller->principal)) {
        codec_free(&caller->base);
        return ES_FAILED_PRECONDITION;
    }
    edge_principal_t *pr = edge_principal_find(e, caller->principal);
    if (pr == NULL) {
        pr = calloc(1, sizeof(*pr));
        if (pr == NULL) {
            codec_free(&caller->base);
            return ES_RESOURCE_EXHAUSTED;
        }
        snprintf(pr->id, sizeof(pr->id), "%s", caller->principal);
        if (topic_patient(prefix, sizeof(prefix), pr->id, NULL) != 0 ||
            edge_bridge_subscribe(e, prefix, 1) != 0) {
            free(pr);
            codec_free(&caller->base);
            return ES_INTERNAL;
        }
        size_t h = s_hash_str(pr->id);
        pr->hnext = e->prbuckets[h];
        e->prbuckets[h] = pr;
    }
    pr->refs++;
    c->pprev = NULL;
    c->pnext = pr->conns;
    if (pr->conns)
        pr->conns->pprev = c;
    pr->conns = c;
    c->principal = pr;
    caller->peer_role = ESPACE__V1__PEER_ROLE__PEER_GATEWAY;
    c->caller = caller;
    c->revalidating = 0;
    s_revalidate_schedule(c);
    char hex[ID_HEX];
    log_info(EDGE_COMP, "conn.auth", "conn=%llu kind=patient principal=%s session=%s",
             (unsigned long long)c->id, pr->id,
             id_hex_bytes(caller->session_id.data, caller->session_id.len, hex));
    return 0;
}

static void s_unbind(edge_conn_t *c)
{
    edge_t *e = c->edge;
    edge_principal_t *pr = c->principal;
    if (pr != NULL) {
        if (c->pprev)
            c->pprev->pnext = c->pnext;
        else
            pr->conns = c->pnext;
        if (c->pnext)
            c->pnext->pprev = c->pprev;
        c->pprev = c->pnext = NULL;
        if (--pr->refs == 0) {
            char prefix[TOPIC_MAX + 1];
            if (topic_patient(prefix, sizeof(prefix), pr->id, NULL) == 0)
                (void)edge_bridge_subscribe(e, prefix, 0);
            edge_principal_t **pp = &e->prbuckets[s_hash_str(pr->id)];
            while (*pp != pr)
                pp = &(*pp)->hnext;
            *pp = pr->hnext;
            free(pr);
        }
        c->principal = NULL;
    }
    codec_free(c->caller ? &c->caller->base : NULL);
    c->caller = NULL;
    (void)edge_conn_token_set(c, NULL);
}

/* ---- output ---- */

void edge_conn_reply(edge_conn_t *c, uint64_t id, int status, const char *message,
                     const char *field, const uint8_t *body, size_t body_len)
{
    Espace__V1__Status st = ESPACE__V1__STATUS__INIT;
    st.code = (Espace__V1__Code)es_to_code(status);
    st.message = (char *)(message ? message : "");
    st.field = (char *)(field ? field : "");
    Espace__V1__CallReply cr = ESPACE__V1__CALL_REPLY__INIT;
    cr.status = &st;
    if (status == 0 && body != NULL) {
        cr.body.data = (uint8_t *)body;
        cr.body.len = body_len;
    }
    Espace__V1__ServerMessage sm = ESPACE__V1__SERVER_MESSAGE__INIT;
    sm.id = id;
    sm.kind_case = ESPACE__V1__SERVER_MESSAGE__KIND_REPLY;
    sm.reply = &cr;
    edge_msg_t *m = edge_msg_pack(&sm.base);
    edge_conn_push(c, m);
    edge_msg_unref(&m);
}

/* An answer made by the edge itself (counted under service "edge"). */
static void s_local(edge_conn_t *c, uint64_t id, int status, const char *message,
                    const char *field)
{
    edge_metrics_request(&c->edge->metrics, S_EDGE_LABEL, status, -1);
    edge_conn_reply(c, id, status, message, field, NULL, 0);
}

void edge_conn_event(edge_conn_t *c, edge_msg_t *m)
{
    if (c->closing)
        return;
    if (edge_outq_push(&c->q, m, 1) != 0) {
        c->dropped++;
        c->edge->metrics.queue_drops++;
        return;
    }
    edge_conn_send(c); /* at once when nothing waits before it (send.c) */
    edge_conn_shed(c->edge);
}

void edge_conn_close(edge_conn_t *c, int status, const char *message, int ws_status)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->close_code = ws_status;
    snprintf(c->close_reason, sizeof(c->close_reason), "%s", message ? message : "");
    if (status < 0) {
        Espace__V1__Closing cl = ESPACE__V1__CLOSING__INIT;
        cl.code = (Espace__V1__Code)es_to_code(status);
        cl.message = (char *)(message ? message : "");
        Espace__V1__ServerMessage sm = ESPACE__V1__SERVER_MESSAGE__INIT;
        sm.kind_case = ESPACE__V1__SERVER_MESSAGE__KIND_CLOSING;
        sm.closing = &cl;
        edge_msg_t *m = edge_msg_pack(&sm.base);
        if (m == NULL || edge_outq_push(&c->q, m, 0) != 0)
            c->close_now = 1;
        edge_msg_unref(&m);
    } else {
        c->close_now = 1;
    }
    log_info(EDGE_COMP, "conn.closing", "conn=%llu ws_status=%d status=%s reason=\"%s\"",
             (unsigned long long)c->id, ws_status, status < 0 ? es_status_name(status) : "none",
             c->close_reason);
    lws_callback_on_writable(c->wsi);
}

static int s_session_expired(const edge_conn_t *c)
{
    return c->caller != NULL && c->caller->session_expires_ms > 0 &&
           bus_wall_ms() >= c->caller->session_expires_ms;
}

static const Espace__V1__Caller *s_anonymous(void);

/* Ask identity whether c's session is still good (Authenticate with its
 * token). The answer comes to edge_conn_revalidated. */
static void s_revalidate(edge_conn_t *c)
{
    edge_t *e = c->edge;
    Espace__V1__AuthenticateRequest ar = ESPACE__V1__AUTHENTICATE_REQUEST__INIT;
    ar.token = c->token;
    uint8_t *body = NULL;
    size_t len = 0;
    s_revalidate_schedule(c);
    if (codec_pack(&ar.base, &body, &len) != 0)
        return;
    if (edge_bridge_send(e, c, 0, EDGE_P_REVALIDATE, SERVICE_IDENTITY, BUS_SESSION_METHOD, body, len,
                         e->o.request_timeout_ms, s_anonymous()) == 0)
        c->revalidating = 1;
    sodium_memzero(body, len);
    free(body);
}

void edge_conn_revalidated(edge_conn_t *c, int status, const uint8_t *body, size_t len)
{
    c->revalidating = 0;
    if (c->closing || c->caller == NULL)
        return;
    int refused = status == ES_UNAUTHENTICATED;
    if (status == 0) {
        /* still good only if it is the same session of the same patient */
        Espace__V1__AuthenticateReply *ar = NULL;
        if (codec_decode(&espace__v1__authenticate_reply__descriptor, body, len, BUS_MAX_MSG,
                         (ProtobufCMessage **)&ar, NULL) == 0) {
            const Espace__V1__Caller *k = ar->caller;
            refused = k == NULL || k->principal == NULL ||
                      k->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT ||
                      strcmp(k->principal, c->caller->principal) != 0 ||
                      k->session_id.len != c->caller->session_id.len ||
                      (k->session_id.len > 0 &&
                       memcmp(k->session_id.data, c->caller->session_id.data,
                              k->session_id.len) != 0);
            codec_free(&ar->base);
        }
    }
    log_info(EDGE_COMP, "conn.revalidated", "conn=%llu status=%s refused=%d",
             (unsigned long long)c->id, es_status_name(status), refused);
    if (refused)
        edge_conn_close(c, ES_UNAUTHENTICATED, "session revoked",
                        LWS_CLOSE_STATUS_POLICY_VIOLATION);
}

void edge_conns_sweep(edge_t *e)
{
    int64_t now = edge_now_us() / 1000;
    unsigned sent = 0;
    for (edge_conn_t *c = e->conns; c != NULL; c = c->next) {
        if (c->closing)
            continue;
        if (s_session_expired(c)) {
            edge_conn_close(c, ES_UNAUTHENTICATED, "session expired",
                            LWS_CLOSE_STATUS_POLICY_VIOLATION);
            continue;
        }
        if (c->caller != NULL && c->token != NULL && !c->revalidating && !e->stopping &&
            now >= c->revalidate_ms && c->inflight < e->o.max_inflight &&
            sent < S_REVALIDATE_PER_SWEEP) {
            s_revalidate(c);
            sent++;
        }
    }
}

/* ---- input ---- */

static void s_bad(edge_conn_t *c, uint64_t id, const char *message, const char *field)
{
    edge_t *e = c->edge;
    c->bad++;
    e->metrics.bad_messages++;
    log_info(EDGE_COMP, "conn.bad_message", "conn=%llu count=%u field=%s",
             (unsigned long long)c->id, c->bad, field ? field : "");
    s_local(c, id, ES_INVALID_ARGUMENT, message, field);
    if (c->bad >= e->o.max_bad)
        edge_conn_close(c, ES_INVALID_ARGUMENT, "too many bad messages",
                        LWS_CLOSE_STATUS_POLICY_VIOLATION);
}

static void s_forward(edge_conn_t *c, uint64_t id, int kind, const char *service,
                      const char *method, const uint8_t *body, size_t len, uint32_t timeout_ms,
                      const Espace__V1__Caller *caller)
{
    edge_t *e = c->edge;
    if (c->inflight >= e->o.max_inflight) {
        s_local(c, id, ES_RESOURCE_EXHAUSTED, "too many requests in flight", NULL);
        return;
    }
    int rc = edge_bridge_send(e, c, id, kind, service, method, body, len, timeout_ms, caller);
    if (rc != 0)
        s_local(c, id, rc, rc == ES_UNAVAILABLE ? "broker unreachable" : es_strerror(rc), NULL);
}

static const Espace__V1__Caller *s_anonymous(void)
{
    static Espace__V1__Caller anon = ESPACE__V1__CALLER__INIT;
    anon.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE;
    anon.peer_role = ESPACE__V1__PEER_ROLE__PEER_GATEWAY;
    return &anon;
}

/* One unauthenticated call (log-in, sign-up, activation) from c, through
 * the edge's buckets (limit.c): 0, or answered RESOURCE_EXHAUSTED with a
 * retry hint and ES_RESOURCE_EXHAUSTED. */
static int s_unauth_admit(edge_conn_t *c, uint64_t id)
{
    edge_t *e = c->edge;
    int which = 0;
    int64_t retry_ms = 0;
    if (edge_limiter_take(e->unauth, &c->addr, edge_now_us(), &which, &retry_ms) == 0)
        return 0;
    int global = which == EDGE_LIMIT_GLOBAL;
    e->metrics.unauth_limited[global]++;
    log_debug(EDGE_COMP, "conn.unauth_limited", "conn=%llu bucket=%s retry_ms=%lld",
              (unsigned long long)c->id, global ? "global" : "address", (long long)retry_ms);
    char msg[96];
    snprintf(msg, sizeof(msg), "too many sign-ups and log-ins %s; retry in %lld s",
             global ? "right now" : "from this address", (long long)((retry_ms + 999) / 1000));
    s_local(c, id, ES_RESOURCE_EXHAUSTED, msg, NULL);
    return ES_RESOURCE_EXHAUSTED;
}

static void s_login(edge_conn_t *c, uint64_t id, Espace__V1__LoginRequest *r)
{
    if (c->caller != NULL || c->auth_pending) {
        s_local(c, id, ES_FAILED_PRECONDITION, "already authenticated", NULL);
        return;
    }
    if (r->who_case != ESPACE__V1__LOGIN_REQUEST__WHO_INS) {
        s_local(c, id, ES_PERMISSION_DENIED, "only patients may use the web edge", "ins");
        return;
    }
    if (s_unauth_admit(c, id) != 0)
        return;
    uint8_t *body = NULL;
    size_t len = 0;
    if (codec_pack(&r->base, &body, &len) != 0) {
        s_local(c, id, ES_RESOURCE_EXHAUSTED, "out of memory", NULL);
        return;
    }
    s_forward(c, id, EDGE_P_LOGIN, SERVICE_IDENTITY, "Login", body, len, c->edge->o.request_timeout_ms,
              s_anonymous());
    sodium_memzero(body, len);
    free(body);
}

static void s_resume(edge_conn_t *c, uint64_t id, Espace__V1__ResumeRequest *r)
{
    if (c->caller != NULL || c->auth_pending) {
        s_local(c, id, ES_FAILED_PRECONDITION, "already authenticated", NULL);
        return;
    }
    if (r->token == NULL || r->token[0] == '\0') {
        s_local(c, id, ES_INVALID_ARGUMENT, "token missing", "token");
        return;
    }
    Espace__V1__AuthenticateRequest ar = ESPACE__V1__AUTHENTICATE_REQUEST__INIT;
    ar.token = r->token;
    uint8_t *body = NULL;
    size_t len = 0;
    if (codec_pack(&ar.base, &body, &len) != 0) {
        s_local(c, id, ES_RESOURCE_EXHAUSTED, "out of memory", NULL);
        return;
    }
    if (edge_conn_token_set(c, r->token) != 0) {
        sodium_memzero(body, len);
        free(body);
        s_local(c, id, ES_INVALID_ARGUMENT, "bad token", "token");
        return;
    }
    s_forward(c, id, EDGE_P_RESUME, SERVICE_IDENTITY, BUS_SESSION_METHOD, body, len,
              c->edge->o.request_timeout_ms, s_anonymous());
    if (!c->auth_pending) /* not sent */
        (void)edge_conn_token_set(c, NULL);
    sodium_memzero(body, len);
    free(body);
}

static void s_call(edge_conn_t *c, uint64_t id, Espace__V1__CallRequest *r)
{
    edge_t *e = c->edge;
    size_t sl = r->service ? strlen(r->service) : 0;
    size_t ml = r->method ? strlen(r->method) : 0;
    if (sl == 0 || sl > BUS_MAX_SERVICE) {
        s_local(c, id, ES_INVALID_ARGUMENT, "bad service name", "call.service");
        return;
    }
    if (ml == 0 || ml > S_MAX_METHOD) {
        s_local(c, id, ES_INVALID_ARGUMENT, "bad method name", "call.method");
        return;
    }
    uint32_t t = r->timeout_ms ? r->timeout_ms : e->o.request_timeout_ms;
    if (t > EDGE_MAX_REQUEST_TIMEOUT_MS)
        t = EDGE_MAX_REQUEST_TIMEOUT_MS;
    const Espace__V1__Caller *caller = c->caller;
    const edge_allow_t *allow = NULL;
    int rc = edge_allow_check(r->service, r->method,
                              caller ? EDGE_WHO_PATIENT : EDGE_WHO_ANONYMOUS, &allow);
    if (rc == ES_UNAUTHENTICATED) {
        s_local(c, id, rc, "log in first", NULL);
        return;
    }
    if (rc != 0) {
        char sq[2 * BUS_MAX_SERVICE + 4], mq[2 * S_MAX_METHOD + 4];
        e->metrics.denied++;
        log_info(EDGE_COMP, "conn.denied", "conn=%llu bound=%d service=%s method=%s",
                 (unsigned long long)c->id, caller != NULL, log_quote(r->service, sq, sizeof(sq)),
                 log_quote(r->method, mq, sizeof(mq)));
        s_local(c, id, ES_PERMISSION_DENIED, "not callable through the web edge", NULL);
        return;
    }
    if (caller == NULL) {
        caller = s_anonymous();
    } else if (s_session_expired(c)) {
        edge_conn_close(c, ES_UNAUTHENTICATED, "session expired",
                        LWS_CLOSE_STATUS_POLICY_VIOLATION);
        return;
    }
    if ((allow->flags & EDGE_ALLOW_UNAUTH) && s_unauth_admit(c, id) != 0)
        return;
    s_forward(c, id, EDGE_P_CALL, r->service, r->method, r->body.data, r->body.len, t, caller);
}

/* One whole websocket message of len bytes at buf (binary: its frames were). */
static void s_message(edge_conn_t *c, const uint8_t *buf, size_t len, int binary)
{
    edge_t *e = c->edge;
    static const uint8_t empty[1];
    Espace__V1__ClientMessage *m = NULL;
    const char *field = NULL;
    if (!binary) {
        s_bad(c, 0, "binary frames only", NULL);
        return;
    }
    int rc = codec_decode(&espace__v1__client_message__descriptor, buf ? buf : empty, len,
                          e->o.max_message, (ProtobufCMessage **)&m, &field);
    if (rc != 0) {
        s_bad(c, 0, "malformed message", field);
        return;
    }
    if (!edge_bucket_take(&c->bucket, e->o.rate_per_s, e->o.rate_burst, edge_now_us())) {
        s_local(c, m->id, ES_RESOURCE_EXHAUSTED, "rate limited", NULL);
        goto done;
    }
    switch (m->kind_case) {
    case ESPACE__V1__CLIENT_MESSAGE__KIND_LOGIN:
        s_login(c, m->id, m->login);
        if (m->login->password)
            sodium_memzero(m->login->password, strlen(m->login->password));
        break;
    case ESPACE__V1__CLIENT_MESSAGE__KIND_RESUME:
        s_resume(c, m->id, m->resume);
        if (m->resume->token)
            sodium_memzero(m->resume->token, strlen(m->resume->token));
        break;
    case ESPACE__V1__CLIENT_MESSAGE__KIND_CALL:
        s_call(c, m->id, m->call);
        break;
    default:
        s_bad(c, m->id, "empty message", "kind");
        break;
    }
done:
    codec_free(&m->base);
}

static int s_receive(edge_conn_t *c, void *in, size_t len)
{
    edge_t *e = c->edge;
    struct lws *wsi = c->wsi;
    if (c->closing)
        return 0;
    size_t remaining = lws_remaining_packet_payload(wsi);
    /* A whole message in one callback (the usual case) is decoded where lws
     * put it: no copy, and no assembly buffer kept by an idle connection. */
    if (c->rx.len == 0 && lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi) &&
        remaining == 0 && len <= e->o.max_message) {
        s_message(c, in, len, lws_frame_is_binary(wsi));
        if (in)
            sodium_memzero(in, len);
        return 0;
    }
    if (lws_is_first_fragment(wsi) && c->rx.len == 0)
        c->rx.binary = lws_frame_is_binary(wsi);
    int rc = edge_rx_append(&c->rx, in, len, e->o.max_message);
    if (rc == 0 && remaining > e->o.max_message - c->rx.len)
        rc = ES_TOO_LARGE;
    if (rc == ES_TOO_LARGE) {
        e->metrics.oversize++;
        log_warn(EDGE_COMP, "conn.oversize", "conn=%llu limit=%zu", (unsigned long long)c->id,
                 e->o.max_message);
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                         (unsigned char *)"message too large", 17);
        return -1;
    }
    if (rc != 0) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, NULL, 0);
        return -1;
    }
    if (!lws_is_final_fragment(wsi) || remaining > 0)
        return 0;
    s_message(c, c->rx.buf, c->rx.len, c->rx.binary);
    if (c->rx.buf)
        sodium_memzero(c->rx.buf, c->rx.len);
    edge_rx_reset(&c->rx);
    return 0;
}

static void s_open(edge_t *e, edge_conn_t *c, struct lws *wsi)
{
    memset(c, 0, sizeof(*c));
    c->edge = e;
    c->wsi = wsi;
    c->id = ++e->next_conn_id;
    c->open = 1;
    edge_outq_init(&c->q, e->o.queue_msgs, e->o.queue_bytes, &e->queued);
    edge_addr_of_fd(lws_get_socket_fd(wsi), &c->addr);
    edge_bucket_init(&c->bucket, e->o.rate_burst, edge_now_us());
    c->next = e->conns;
    if (e->conns)
        e->conns->prev = c;
    e->conns = c;
    e->n_conns++;
    e->metrics.connections++;
    e->metrics.connections_total++;
    log_info(EDGE_COMP, "conn.open", "conn=%llu tls=%d", (unsigned long long)c->id, e->tls);
    if (e->stopping)
        edge_conn_close(c, ES_UNAVAILABLE, "edge shutting down", LWS_CLOSE_STATUS_GOINGAWAY);
}

static void s_closed(edge_conn_t *c)
{
    if (!c->open)
        return;
    edge_t *e = c->edge;
    c->open = 0;
    edge_bridge_forget(e, c);
    s_unbind(c); /* wipes the token too */
    (void)edge_conn_token_set(c, NULL);
    if (c->prev)
        c->prev->next = c->next;
    else
        e->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    e->n_conns--;
    e->metrics.connections--;
    edge_outq_fini(&c->q);
    if (c->rx.buf)
        sodium_memzero(c->rx.buf, c->rx.cap);
    edge_rx_free(&c->rx);
    log_info(EDGE_COMP, "conn.close", "conn=%llu bad=%u", (unsigned long long)c->id, c->bad);
}

int edge_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    edge_t *e = lws_context_user(lws_get_context(wsi));
    edge_conn_t *c = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (e->stopping || e->n_conns >= e->o.max_conns) {
            e->metrics.refused_total++;
            log_warn(EDGE_COMP, "conn.refused", "conns=%zu max=%u stopping=%d", e->n_conns,
                     e->o.max_conns, e->stopping);
            lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, NULL);
            return -1;
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        s_open(e, c, wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (c == NULL || !c->open)
            return -1;
        return s_receive(c, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (c == NULL || !c->open)
            return 0;
        return edge_conn_writeable(c);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* After our own close frame (s_close_now) this is the peer's answer:
         * non-zero makes lws close without echoing a second close frame,
         * which browsers report as "Close received after close". */
        return (c != NULL && c->killed) ? -1 : 0;
    case LWS_CALLBACK_CLOSED:
        if (c != NULL)
            s_closed(c);
        return 0;
    default:
        return 0;
    }
}
