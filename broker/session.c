/*
 * session.c - sessions (broker_int.h): the AUTH binding of a session to a
 * client connection, the caller stamped on each request, expiry and
 * revocation.
 *
 * A binding is keyed by (request socket, routing id) and owned by the
 * transport identity (role + CURVE key) of the peer that made it: a client
 * chooses its routing id, not its key. It ends at the session's expiry, on
 * a revocation naming the session, when replaced by a new AUTH, or when its
 * connection ends (the socket monitor, conn.c; or a send finds it gone,
 * subs.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_int.h"
#include "broker/keys.h"
#include "process/log.h"
#include "proto/status.h"

/* ------------------------------------------------------------------- table */

static size_t s_hash(int sock, const uint8_t *rid, size_t len)
{
    return (size_t)(broker_hash((uint64_t)sock, rid, len) % SESSION_BUCKETS);
}

/* The link that holds (or would hold) the session of (sock, rid). */
static session_t **s_slot(broker_t *b, int sock, const uint8_t *rid, size_t len)
{
    session_t **pp = &b->sessions[s_hash(sock, rid, len)];
    while (*pp != NULL) {
        session_t *s = *pp;
        if (s->sock == sock && s->rid_len == len && memcmp(s->rid, rid, len) == 0)
            return pp;
        pp = &s->next;
    }
    return pp;
}

/* Free a session (its subscriptions must be out of b->subs, or the broker
 * going away). */
static void s_free(session_t *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nsubs; i++)
        free(s->subs[i]);
    free(s->caller);
    free(s);
}

static void s_unlink(broker_t *b, session_t **pp)
{
    session_t *s = *pp;
    *pp = s->next;
    if (s->nsubs > 0) {
        log_info("broker", "events.unsubscribed", "subscriptions=%zu", s->nsubs);
        subs_remove_all(b, s);
    }
    s_free(s);
    b->nsessions--;
}

int session_expired(const session_t *s, int64_t now)
{
    return s->expires_ms > 0 && now >= s->expires_ms;
}

void session_drop(broker_t *b, session_t *s)
{
    session_t **pp = s_slot(b, s->sock, s->rid, s->rid_len);
    if (*pp == s)
        s_unlink(b, pp);
}

void session_forget(broker_t *b, int sock, const uint8_t *rid, size_t rid_len)
{
    if (b->nsessions == 0)
        return;
    session_t **pp = s_slot(b, sock, rid, rid_len);
    if (*pp != NULL) {
        log_info("broker", "auth.unbound", "reason=disconnected");
        s_unlink(b, pp);
    }
}

size_t session_sweep(broker_t *b, const uint8_t *sid, size_t sid_len)
{
    int64_t now = bus_wall_ms();
    size_t removed = 0;
    for (size_t i = 0; i < SESSION_BUCKETS && b->nsessions > 0; i++) {
        session_t **pp = &b->sessions[i];
        while (*pp != NULL) {
            session_t *s = *pp;
            int named = sid != NULL && s->sid_len == sid_len && sid_len > 0 &&
                        memcmp(s->sid, sid, sid_len) == 0;
            if (session_expired(s, now) || named) {
                s_unlink(b, pp);
                removed++;
            } else {
                pp = &s->next;
            }
        }
    }
    return removed;
}

void session_free_all(broker_t *b)
{
    if (b->sessions == NULL)
        return;
    for (size_t i = 0; i < SESSION_BUCKETS; i++) {
        session_t *s = b->sessions[i];
        while (s != NULL) {
            session_t *next = s->next;
            s_free(s);
            s = next;
        }
    }
    free(b->sessions);
    b->sessions = NULL;
}

/* Bind (replacing) a session to peer's connection. Takes ownership of
 * caller (the packed Caller c, whose kind and principal are kept). */
static int s_bind(broker_t *b, const broker_peer_t *peer, const Espace__V1__Caller *c,
                  uint8_t *caller, size_t caller_len)
{
    session_t **pp = s_slot(b, peer->sock, peer->rid, peer->rid_len);
    if (*pp != NULL)
        s_unlink(b, pp);
    if (b->nsessions >= BROKER_MAX_SESSIONS)
        session_sweep(b, NULL, 0);
    if (b->nsessions >= BROKER_MAX_SESSIONS || c->session_id.len > SESSION_MAX_SID) {
        free(caller);
        return ES_RESOURCE_EXHAUSTED;
    }
    session_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        free(caller);
        return ES_RESOURCE_EXHAUSTED;
    }
    s->sock = peer->sock;
    memcpy(s->rid, peer->rid, peer->rid_len);
    s->rid_len = peer->rid_len;
    s->peer_role = peer->role;
    snprintf(s->peer_key, sizeof(s->peer_key), "%s", peer->key);
    if (c->session_id.len > 0)
        memcpy(s->sid, c->session_id.data, c->session_id.len);
    s->sid_len = c->session_id.len;
    s->expires_ms = c->session_expires_ms;
    s->caller = caller;
    s->caller_len = caller_len;
    s->kind = (int)c->kind;
    snprintf(s->principal, sizeof(s->principal), "%s", c->principal ? c->principal : "");
    pp = s_slot(b, peer->sock, peer->rid, peer->rid_len);
    *pp = s;
    b->nsessions++;
    return 0;
}

/* The bound, unexpired session of a connection, or NULL. Keyed by
 * (socket, routing id) only: who is behind them is checked by
 * session_get_peer, which every use on behalf of a peer goes through. */
static session_t *s_get(broker_t *b, int sock, const uint8_t *rid, size_t rid_len)
{
    if (b->nsessions == 0)
        return NULL;
    session_t **pp = s_slot(b, sock, rid, rid_len);
    if (*pp == NULL)
        return NULL;
    if (session_expired(*pp, bus_wall_ms())) {
        s_unlink(b, pp);
        return NULL;
    }
    return *pp;
}

session_t *session_get_peer(broker_t *b, const broker_peer_t *peer)
{
    session_t *s = s_get(b, peer->sock, peer->rid, peer->rid_len);
    if (s == NULL)
        return NULL;
    if (s->peer_role == peer->role && strncmp(s->peer_key, peer->key, sizeof(s->peer_key)) == 0)
        return s;
    log_warn("broker", "auth.unbound", "reason=peer_changed peer_role=%s",
             keys_role_name(peer->role));
    s_unlink(b, s_slot(b, peer->sock, peer->rid, peer->rid_len));
    return NULL;
}

/* ------------------------------------------------------------ caller stamp */

/* Pack a Caller with peer_role/peer_key overwritten from the transport. */
static int s_caller_pack(Espace__V1__Caller *c, const broker_peer_t *peer, uint8_t **out,
                         size_t *len)
{
    char *saved_key = c->peer_key;
    Espace__V1__PeerRole saved_role = c->peer_role;
    c->peer_role = (Espace__V1__PeerRole)peer->role;
    c->peer_key = (char *)peer->key;
    int rc = codec_pack(&c->base, out, len);
    c->peer_key = saved_key;
    c->peer_role = saved_role;
    return rc;
}

/* The Caller frame a gateway or local peer sent, repacked. */
static int s_stamp_frame(const broker_peer_t *peer, frame_ref_t caller_frame, uint8_t **out,
                         size_t *len)
{
    Espace__V1__Caller *c = NULL;
    if (codec_decode(&espace__v1__caller__descriptor, caller_frame.data, caller_frame.len,
                     BUS_MAX_MSG, (ProtobufCMessage **)&c, NULL) != 0)
        return ES_INVALID_ARGUMENT;
    int rc = ES_PERMISSION_DENIED;
    /* A gateway (edge) speaks for the users it authenticated, never as the
     * operator or a service: those kinds come only over ipc. */
    if (peer->role == ESPACE__V1__PEER_ROLE__PEER_GATEWAY &&
        c->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE &&
        c->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT &&
        c->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL)
        goto done;
    rc = s_caller_pack(c, peer, out, len);
done:
    codec_free(&c->base);
    return rc;
}

int session_stamp(broker_t *b, const broker_peer_t *peer, frame_ref_t caller_frame, int auth,
                  uint8_t **out, size_t *len)
{
    if (!auth) {
        session_t *s = session_get_peer(b, peer);
        if (s != NULL) {
            *out = malloc(s->caller_len ? s->caller_len : 1);
            if (*out == NULL)
                return ES_RESOURCE_EXHAUSTED;
            if (s->caller_len)
                memcpy(*out, s->caller, s->caller_len);
            *len = s->caller_len;
            return 0;
        }
        if (caller_frame.data != NULL && (peer->role == ESPACE__V1__PEER_ROLE__PEER_GATEWAY ||
                                          peer->role == ESPACE__V1__PEER_ROLE__PEER_LOCAL))
            return s_stamp_frame(peer, caller_frame, out, len);
    }
    Espace__V1__Caller anon = ESPACE__V1__CALLER__INIT;
    anon.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE;
    return s_caller_pack(&anon, peer, out, len);
}

/* ------------------------------------------------------------------- AUTH */

int session_bind_reply(broker_t *b, const broker_peer_t *peer, const uint8_t *body, size_t len)
{
    Espace__V1__AuthenticateReply *ar = NULL;
    if (codec_decode(&espace__v1__authenticate_reply__descriptor, body, len, BUS_MAX_MSG,
                     (ProtobufCMessage **)&ar, NULL) != 0)
        return ES_INTERNAL;
    int rc = ES_INTERNAL;
    Espace__V1__Caller *c = ar->caller;
    if (c == NULL || c->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE)
        goto done;
    rc = ES_INVALID_ARGUMENT;
    if (c->principal != NULL && strlen(c->principal) > SESSION_MAX_PRINCIPAL)
        goto done;
    uint8_t *buf = NULL;
    size_t blen = 0;
    if ((rc = s_caller_pack(c, peer, &buf, &blen)) != 0)
        goto done;
    if ((rc = s_bind(b, peer, c, buf, blen)) == 0) {
        char sid[2 * 16 + 1];
        log_info("broker", "auth.bound", "kind=%d session=%s peer_role=%s", (int)c->kind,
                 log_hex(c->session_id.data, c->session_id.len < 16 ? c->session_id.len : 16,
                         sid, sizeof(sid)),
                 keys_role_name(peer->role));
    }
done:
    codec_free(&ar->base);
    return rc;
}
