/*
 * events.c - the event proxy (broker_int.h): every event from the XSUB
 * sockets (publishers) goes to the XPUB sockets (subscribers) and to the
 * professionals' connections that subscribed to it (subs.c); subscriptions
 * from the XPUB sockets go up to the publishers. The broker also listens to
 * the revoked-sessions topic itself (TOPIC_SESSION_REVOKED, SessionRevoked
 * of bus.proto) and unbinds the session it names (session.c).
 */
#include <string.h>

#include "broker/broker_int.h"
#include "process/log.h"
#include "proto/names.h"
#include "proto/status.h"

int events_upstream(broker_t *b, const char *prefix, size_t len, int on)
{
    char msg[1 + BUS_MAX_TOPIC];
    if (len > BUS_MAX_TOPIC)
        return ES_INVALID_ARGUMENT;
    msg[0] = (char)(on ? 1 : 0);
    memcpy(msg + 1, prefix, len);
    int rc = 0;
    b->sent |= BROKER_SENT_XSUB(0) | BROKER_SENT_XSUB(1);
    for (int i = 0; i < 2; i++)
        if (b->xsub[i] != NULL && zmq_send(b->xsub[i], msg, 1 + len, ZMQ_DONTWAIT) < 0) {
            log_warn("broker", "upstream.failed", "on=%d", on);
            rc = ES_INTERNAL;
        }
    return rc;
}

int events_watch(broker_t *b)
{
    return events_upstream(b, TOPIC_SESSION_REVOKED, strlen(TOPIC_SESSION_REVOKED), 1);
}

/* A revoked-sessions event: unbind the session it names. */
static void s_on_revoked(broker_t *b, zmq_msg_t *ev_msg)
{
    Espace__V1__Event *ev = NULL;
    Espace__V1__SessionRevoked *sr = NULL;
    if (codec_decode(&espace__v1__event__descriptor, zmq_msg_data(ev_msg), zmq_msg_size(ev_msg),
                     BUS_MAX_MSG, (ProtobufCMessage **)&ev, NULL) != 0)
        return;
    if (codec_decode(&espace__v1__session_revoked__descriptor, ev->body.data, ev->body.len,
                     BUS_MAX_MSG, (ProtobufCMessage **)&sr, NULL) == 0 &&
        sr->session_id.len > 0) {
        size_t n = session_sweep(b, sr->session_id.data, sr->session_id.len);
        if (n > 0)
            log_info("broker", "auth.unbound", "reason=revoked connections=%zu", n);
    }
    codec_free((ProtobufCMessage *)sr);
    codec_free(&ev->base);
}

void events_on_publish(broker_t *b, zmq_msg_t *msgs, size_t n)
{
    size_t rl = strlen(TOPIC_SESSION_REVOKED);
    if (n == 2 && zmq_msg_size(&msgs[0]) == rl &&
        memcmp(zmq_msg_data(&msgs[0]), TOPIC_SESSION_REVOKED, rl) == 0)
        s_on_revoked(b, &msgs[1]);
    b->sent |= BROKER_SENT_XPUB(0) | BROKER_SENT_XPUB(1);
    for (int i = 0; i < 2; i++)
        if (b->xpub[i] != NULL)
            frames_forward(b->xpub[i], msgs, n); /* shared, not copied */
    if (n == 2)
        subs_forward(b, (frame_ref_t){zmq_msg_data(&msgs[0]), zmq_msg_size(&msgs[0])},
                     (frame_ref_t){zmq_msg_data(&msgs[1]), zmq_msg_size(&msgs[1])});
}

void events_on_subscription(broker_t *b, zmq_msg_t *msgs, size_t n)
{
    b->sent |= BROKER_SENT_XSUB(0) | BROKER_SENT_XSUB(1);
    for (int i = 0; i < 2; i++)
        if (b->xsub[i] != NULL)
            frames_forward(b->xsub[i], msgs, n);
}
