/*
 * xmpp.c - the xmpp target of the `relay` scenario (agenda_int.h): the same
 * pairs and schedule as against espace, over XMPP on websockets (RFC 7395)
 * to an XMPP server (test/bench/run: a throwaway Prosody).
 *
 * Connection c is user "el<c>" at run_opts.domain, password S_PASSWORD
 * (test/bench/prosody makes the accounts). Setup, one step per answer:
 * <open/> -> features -> SASL PLAIN -> success -> <open/> -> features ->
 * bind resource S_RESOURCE -> result -> <presence/>: ready. Write i is a
 * <message type="chat"> to the full JID of the other connection of its pair
 * (el<c^1>@domain/load) whose body is `payload` bytes: the write's marker
 * (wire.h), then filler; it is delivered when a <message> carrying that
 * marker reaches the other connection.
 *
 * --qos 0: plain XMPP, a message is routed with no receipt. --qos 1:
 * XEP-0198 stream management is enabled after bind (before the presence),
 * each connection that sent since the last 1 ms tick asks <r/>, and the
 * server's <a h=H/> acknowledges its first H stanzas: the writes among them
 * get their ack latency (scheduled send -> <a/>, so up to a tick late). The
 * server's own <r/> is answered with the stanzas received. This is the
 * closest XMPP has to MQTT's QoS 1 (Prosody keeps unacknowledged stanzas
 * for a resumed stream, in memory).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/load/agenda_int.h"
#include "clients/load/wire.h"
#include "clients/load/xmpp.h"
#include "proto/status.h"

#define S_PASSWORD "espace-load"
#define S_RESOURCE "load"
#define S_BUF 8192
#define S_RING 1024 /* writes awaiting an XEP-0198 ack, per connection */
#define S_NOT_A_WRITE UINT64_MAX

enum { X_OPEN1, X_AUTH, X_OPEN2, X_BIND, X_ENABLE, X_READY, X_FAILED };

typedef struct s_sm {
    uint32_t out_n, acked_h, in_n; /* stanzas sent, acknowledged, received */
    int dirty;                     /* sent since the last <r/> */
    uint64_t ring[S_RING];         /* seq of stanza n at n % S_RING */
} s_sm_t;

typedef struct s_xmpp {
    uint8_t *stage; /* per connection */
    s_sm_t *sm;     /* per connection, --qos 1 only */
    unsigned *dirty, n_dirty;
} s_xmpp_t;

static void s_user(unsigned conn, char out[24])
{
    snprintf(out, 24, "el%u", conn);
}

static int s_send(agenda_t *a, unsigned conn, const char *buf, size_t len)
{
    return net_send(a->r->net, conn, (const uint8_t *)buf, len);
}

static void s_fail(agenda_t *a, unsigned conn, const char *why)
{
    s_xmpp_t *x = a->ts;
    if (x->stage[conn] != X_FAILED)
        fprintf(stderr, "espace-load: xmpp connection %u: %s\n", conn, why);
    x->stage[conn] = X_FAILED;
    a->r->auth_failed++;
    agenda_ready(a, conn, 0);
}

static void s_opened(agenda_t *a, unsigned conn)
{
    s_xmpp_t *x = a->ts;
    char buf[S_BUF];
    size_t len = 0;
    x->stage[conn] = X_OPEN1;
    if (xmpp_open(buf, sizeof buf, a->r->o.domain, &len) < 0 || s_send(a, conn, buf, len) < 0)
        s_fail(a, conn, "cannot send <open/>");
}

/* The next setup step after element e on conn. */
static void s_setup(agenda_t *a, unsigned conn, const xmpp_elem_t *e, const char *data,
                    size_t dlen)
{
    s_xmpp_t *x = a->ts;
    char buf[S_BUF], user[24];
    size_t len = 0;
    int rc = 0;
    uint8_t *st = &x->stage[conn];
    if (e->kind == XMPP_OPEN)
        return; /* features follow */
    if (e->kind == XMPP_FAILURE || e->kind == XMPP_ERROR || e->kind == XMPP_CLOSE)
        return s_fail(a, conn, "refused by the server");
    switch (*st) {
    case X_OPEN1:
        if (e->kind != XMPP_FEATURES)
            return;
        s_user(conn, user);
        rc = xmpp_auth_plain(buf, sizeof buf, user, S_PASSWORD, &len);
        *st = X_AUTH;
        break;
    case X_AUTH:
        if (e->kind != XMPP_SUCCESS)
            return;
        rc = xmpp_open(buf, sizeof buf, a->r->o.domain, &len);
        *st = X_OPEN2;
        break;
    case X_OPEN2:
        if (e->kind != XMPP_FEATURES || !xmpp_has_ns(data, dlen, XMPP_NS_BIND))
            return;
        rc = xmpp_bind(buf, sizeof buf, "bind", S_RESOURCE, &len);
        *st = X_BIND;
        break;
    case X_BIND:
        if (e->kind != XMPP_IQ || strcmp(e->id, "bind") != 0)
            return;
        if (strcmp(e->type, "result") != 0)
            return s_fail(a, conn, "bind refused");
        if (x->sm) {
            rc = xmpp_sm_enable(buf, sizeof buf, &len);
            *st = X_ENABLE;
            break;
        }
        /* no stream management: on to the presence */
        /* fall through */
    case X_ENABLE:
        if (*st == X_ENABLE && e->kind == XMPP_SM_FAILED)
            return s_fail(a, conn, "stream management refused");
        if (*st == X_ENABLE && e->kind != XMPP_SM_ENABLED)
            return;
        if (x->sm) { /* the presence is our first counted stanza */
            x->sm[conn].ring[++x->sm[conn].out_n % S_RING] = S_NOT_A_WRITE;
        }
        rc = xmpp_presence(buf, sizeof buf, &len);
        if (rc == 0 && (rc = s_send(a, conn, buf, len)) == 0) {
            *st = X_READY;
            a->r->auth_ok++;
            agenda_ready(a, conn, 1);
        }
        if (rc < 0)
            s_fail(a, conn, "cannot send");
        return;
    default:
        return;
    }
    if (rc == 0)
        rc = s_send(a, conn, buf, len);
    if (rc < 0)
        s_fail(a, conn, "cannot send");
}

static void s_message(agenda_t *a, unsigned conn, const uint8_t *data, size_t len, int64_t now)
{
    s_xmpp_t *x = a->ts;
    xmpp_elem_t e;
    if (xmpp_parse((const char *)data, len, &e) < 0) {
        a->r->bad_messages++;
        return;
    }
    if (x->stage[conn] != X_READY) {
        s_setup(a, conn, &e, (const char *)data, len);
        return;
    }
    uint64_t seq;
    if (x->sm && (e.kind == XMPP_MESSAGE || e.kind == XMPP_PRESENCE || e.kind == XMPP_IQ))
        x->sm[conn].in_n++;
    if (x->sm && e.kind == XMPP_SM_REQUEST) {
        char buf[64];
        size_t n = 0;
        if (xmpp_sm_answer(buf, sizeof buf, x->sm[conn].in_n, &n) == 0)
            s_send(a, conn, buf, n);
        return;
    }
    if (x->sm && e.kind == XMPP_SM_ACK && e.has_h) {
        s_sm_t *sm = &x->sm[conn];
        for (; sm->acked_h != e.h && sm->acked_h != sm->out_n;) {
            uint64_t s = sm->ring[++sm->acked_h % S_RING];
            if (s != S_NOT_A_WRITE)
                agenda_acked(a, s, 0, now);
        }
        return;
    }
    if (e.kind == XMPP_MESSAGE && !strcmp(e.type, "error"))
        a->r->errors[-ES_UNAVAILABLE]++; /* the server could not route it */
    else if (e.kind == XMPP_MESSAGE && wire_find_seq(data, len, &seq))
        agenda_delivered(a, conn, seq, now);
    else if (e.kind == XMPP_CLOSE || e.kind == XMPP_ERROR)
        a->r->conn_closed++;
    /* presence echoes and the like: nothing to count */
}

static int s_write(agenda_t *a, unsigned writer, uint64_t seq, uint8_t *buf, size_t cap,
                   size_t *len)
{
    char peer[24], id[24], body[WIRE_MAX_PAYLOAD];
    size_t n = a->r->o.payload < sizeof body ? a->r->o.payload : sizeof body;
    memset(body, 'x', n);
    snprintf(id, sizeof id, "m%016llx", (unsigned long long)seq);
    char mark[40];
    int k = snprintf(mark, sizeof mark, WIRE_MARK "%016llx", (unsigned long long)seq);
    memcpy(body, mark, (size_t)k < n ? (size_t)k : n);
    s_user(writer ^ 1u, peer);
    s_xmpp_t *x = a->ts;
    if (x->sm && x->sm[writer].out_n - x->sm[writer].acked_h >= S_RING)
        return ES_RESOURCE_EXHAUSTED; /* too many unacknowledged: a failed send */
    int rc = xmpp_message((char *)buf, cap, peer, a->r->o.domain, S_RESOURCE, id,
                          (const uint8_t *)body, n, len);
    if (rc == 0 && x->sm) { /* the caller sends it now */
        s_sm_t *sm = &x->sm[writer];
        sm->ring[++sm->out_n % S_RING] = seq;
        if (!sm->dirty) {
            sm->dirty = 1;
            x->dirty[x->n_dirty++] = writer;
        }
    }
    return rc;
}

/* --qos 1: ask for an ack on each connection that sent since the last tick. */
static void s_tick(agenda_t *a, int64_t now)
{
    (void)now;
    s_xmpp_t *x = a->ts;
    char buf[64];
    size_t n = 0;
    if (!x->sm || xmpp_sm_request(buf, sizeof buf, &n) < 0)
        return;
    for (unsigned i = 0; i < x->n_dirty; i++) {
        x->sm[x->dirty[i]].dirty = 0;
        s_send(a, x->dirty[i], buf, n);
    }
    x->n_dirty = 0;
}

static int s_init(agenda_t *a)
{
    s_xmpp_t *x = calloc(1, sizeof *x);
    if (!x)
        return ES_RESOURCE_EXHAUSTED;
    a->ts = x;
    x->stage = calloc(a->r->o.conns, 1);
    if (a->r->o.qos == 1) {
        x->sm = calloc(a->r->o.conns, sizeof *x->sm);
        x->dirty = calloc(a->r->o.conns, sizeof *x->dirty);
        if (!x->sm || !x->dirty)
            return ES_RESOURCE_EXHAUSTED;
    }
    return x->stage ? 0 : ES_RESOURCE_EXHAUSTED;
}

static void s_fini(agenda_t *a)
{
    s_xmpp_t *x = a->ts;
    if (x) {
        free(x->stage);
        free(x->sm);
        free(x->dirty);
    }
    free(x);
    a->ts = NULL;
}

const agenda_target_t agenda_target_xmpp = {
    .name = "xmpp", .subprotocol = XMPP_SUBPROTOCOL, .text = 1, .init = s_init, .fini = s_fini,
    .opened = s_opened, .message = s_message, .write = s_write, .tick = s_tick,
};
