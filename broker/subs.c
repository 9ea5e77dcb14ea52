/*
 * subs.c - professionals' live events (broker_int.h): SUBSCRIBE to prefixes
 * of the session's own "pro.<rpps>." topics (proto/names.h), and EVENT
 * forwarding of each event to the connections whose prefix it matches.
 *
 * Subscriptions belong to a session (session.c) and end with it. They are
 * chained in b->subs by the hash of their "pro.<rpps>." head, so an event
 * finds its subscribers in one bucket; the XSUB sockets subscribe upstream
 * to a prefix while at least one connection has it (reference counted).
 */
#include <stdlib.h>
#include <string.h>

#include "broker/broker_int.h"
#include "process/log.h"
#include "proto/names.h"
#include "proto/status.h"

static size_t s_hash(const char *head, size_t len)
{
    return (size_t)(broker_hash(0, head, len) % SUBS_BUCKETS);
}

/* The bucket of a prefix or topic (NUL-terminated): by its "pro.<rpps>."
 * head, which subs_add checked it has. */
static size_t s_bucket(const char *topic)
{
    return s_hash(topic, topic_pro_head(topic));
}

/* How many subscriptions in a bucket have exactly this prefix. */
static size_t s_count(broker_t *b, size_t bucket, const char *prefix, size_t len)
{
    size_t n = 0;
    for (subs_entry_t *x = b->subs[bucket]; x != NULL; x = x->next)
        if (x->len == len && memcmp(x->prefix, prefix, len) == 0)
            n++;
    return n;
}

/* Add a prefix (validated: it has the session's "pro.<rpps>." head) to a
 * session. 0 (also when already there) or ES_RESOURCE_EXHAUSTED. The XSUB
 * sockets subscribe when the first connection asks for a prefix. */
static int s_add(broker_t *b, session_t *sess, const char *prefix, size_t len)
{
    for (size_t i = 0; i < sess->nsubs; i++)
        if (sess->subs[i]->len == len && memcmp(sess->subs[i]->prefix, prefix, len) == 0)
            return 0;
    if (sess->nsubs >= BUS_MAX_CLIENT_SUBS)
        return ES_RESOURCE_EXHAUSTED;
    subs_entry_t *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return ES_RESOURCE_EXHAUSTED;
    memcpy(x->prefix, prefix, len);
    x->len = len;
    x->sess = sess;
    size_t bucket = s_bucket(x->prefix);
    if (s_count(b, bucket, prefix, len) == 0)
        (void)events_upstream(b, prefix, len, 1);
    x->next = b->subs[bucket];
    b->subs[bucket] = x;
    sess->subs[sess->nsubs++] = x;
    b->nsubs++;
    return 0;
}

void subs_remove_all(broker_t *b, session_t *sess)
{
    for (size_t i = 0; i < sess->nsubs; i++) {
        subs_entry_t *x = sess->subs[i];
        size_t bucket = s_bucket(x->prefix);
        for (subs_entry_t **pp = &b->subs[bucket]; *pp != NULL; pp = &(*pp)->next)
            if (*pp == x) {
                *pp = x->next;
                break;
            }
        if (s_count(b, bucket, x->prefix, x->len) == 0)
            (void)events_upstream(b, x->prefix, x->len, 0);
        free(x);
        b->nsubs--;
    }
    sess->nsubs = 0;
}

/* A prefix a session may subscribe to: printable ASCII, at most
 * BUS_MAX_TOPIC, starting with "pro.<its RPPS>." (topic_pro). 0, or the
 * status to answer (ES_INVALID_ARGUMENT, ES_PERMISSION_DENIED). */
static int s_allowed(const session_t *s, const char *prefix, size_t len)
{
    if (len == 0 || len > BUS_MAX_TOPIC)
        return ES_INVALID_ARGUMENT;
    for (size_t i = 0; i < len; i++)
        if ((uint8_t)prefix[i] < 0x21 || (uint8_t)prefix[i] > 0x7e)
            return ES_INVALID_ARGUMENT;
    char own[TOPIC_MAX + 1];
    if (topic_pro(own, sizeof(own), s->principal, NULL) != 0 ||
        strncmp(prefix, own, strlen(own)) != 0)
        return ES_PERMISSION_DENIED;
    return 0;
}

void subs_client_subscribe(broker_t *b, const broker_peer_t *peer, frame_ref_t body)
{
    Espace__V1__Request *req = NULL;
    Espace__V1__SubscribeRequest *sr = NULL;
    if (body.len > BUS_MAX_MSG ||
        codec_decode(&espace__v1__request__descriptor, body.data, body.len, BUS_MAX_MSG,
                     (ProtobufCMessage **)&req, NULL) != 0) {
        b->dropped++;
        return; /* no id to answer */
    }
    int rc = 0;
    const char *why = NULL, *field = NULL;
    session_t *s = NULL;
    if (strcmp(req->method, BUS_SUBSCRIBE_METHOD) != 0) {
        rc = ES_INVALID_ARGUMENT;
        why = "SUBSCRIBE carries method Subscribe";
        field = "method";
    } else if (codec_decode(&espace__v1__subscribe_request__descriptor, req->body.data,
                            req->body.len, BUS_MAX_MSG, (ProtobufCMessage **)&sr, NULL) != 0) {
        rc = ES_INVALID_ARGUMENT;
        why = "bad SubscribeRequest";
        field = "body";
    } else if ((s = session_get_peer(b, peer)) == NULL) {
        rc = ES_UNAUTHENTICATED;
        why = "subscribing needs a bound session (AUTH)";
    } else if (s->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL) {
        rc = ES_PERMISSION_DENIED;
        why = "live events through the broker are for professionals";
    } else if ((rc = s_allowed(s, sr->prefix, strlen(sr->prefix))) != 0) {
        why = rc == ES_INVALID_ARGUMENT ? "prefix: 1..255 printable ASCII characters"
                                        : "prefix must start with pro.<your RPPS>.";
        field = "prefix";
    } else if ((rc = s_add(b, s, sr->prefix, strlen(sr->prefix))) != 0) {
        why = "too many subscriptions on this connection";
    } else {
        char q[300];
        log_info("broker", "events.subscribed", "rpps=%s prefix=%s subscriptions=%zu",
                 s->principal, log_quote(sr->prefix, q, sizeof(q)), s->nsubs);
    }
    broker_reply_status(b, peer->sock, peer->rid, peer->rid_len, BROKER_SERVICE, req->id, rc,
                        why, field);
    codec_free((ProtobufCMessage *)sr);
    codec_free(&req->base);
}

/* EVENT with ZMQ_DONTWAIT; a client at its high-water mark loses it
 * (counted: events are hints); a connection that is gone (EHOSTUNREACH) or
 * whose session expired is unbound. */
void subs_forward(broker_t *b, frame_ref_t topic, frame_ref_t event)
{
    if (b->nsubs == 0 || topic.len == 0 || topic.len > BUS_MAX_TOPIC)
        return;
    char t[BUS_MAX_TOPIC + 1];
    memcpy(t, topic.data, topic.len);
    t[topic.len] = '\0';
    size_t head = topic_pro_head(t);
    if (head == 0 || head > topic.len)
        return;
    uint64_t seq = ++b->ev_seq;
    int64_t now = bus_wall_ms();
    session_t *stale[SUBS_STALE_MAX];
    size_t nstale = 0;
    uint8_t cmd = BUS_C_EVENT;
    frame_ref_t f[4] = {{(const uint8_t *)BUS_CLIENT_PROTO, 4}, {&cmd, 1}, topic, event};
    for (subs_entry_t *x = b->subs[s_hash(t, head)]; x != NULL; x = x->next) {
        session_t *s = x->sess;
        if (x->len > topic.len || memcmp(x->prefix, t, x->len) != 0 || s->ev_seq == seq)
            continue;
        s->ev_seq = seq;
        int rc = session_expired(s, now) ? ES_UNAUTHENTICATED
                                         : broker_send(b, s->sock, s->rid, s->rid_len, f, 4);
        if (rc == 0) {
            b->ev_forwarded++;
        } else if (rc == ES_RESOURCE_EXHAUSTED) {
            b->ev_dropped++;
        } else if (rc == ES_UNAVAILABLE || rc == ES_UNAUTHENTICATED) {
            if (nstale < SUBS_STALE_MAX)
                stale[nstale++] = s;
        } else {
            b->ev_dropped++;
        }
    }
    for (size_t i = 0; i < nstale; i++)
        session_drop(b, stale[i]);
}
