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
 * marker reaches the other connection. No acknowledgement: plain XMPP
 * routes a message with no receipt (XEP-0198 stream management, which
 * would give one, is not used), so this is a "QoS 0" row.
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

enum { X_OPEN1, X_AUTH, X_OPEN2, X_BIND, X_READY, X_FAILED };

typedef struct s_xmpp {
    uint8_t *stage; /* per connection */
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
    return xmpp_message((char *)buf, cap, peer, a->r->o.domain, S_RESOURCE, id,
                        (const uint8_t *)body, n, len);
}

static int s_init(agenda_t *a)
{
    s_xmpp_t *x = calloc(1, sizeof *x);
    if (!x)
        return ES_RESOURCE_EXHAUSTED;
    a->ts = x;
    x->stage = calloc(a->r->o.conns, 1);
    return x->stage ? 0 : ES_RESOURCE_EXHAUSTED;
}

static void s_fini(agenda_t *a)
{
    s_xmpp_t *x = a->ts;
    if (x)
        free(x->stage);
    free(x);
    a->ts = NULL;
}

const agenda_target_t agenda_target_xmpp = {
    .name = "xmpp", .subprotocol = XMPP_SUBPROTOCOL, .text = 1, .init = s_init, .fini = s_fini,
    .opened = s_opened, .message = s_message, .write = s_write,
};
