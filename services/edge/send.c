/*
 * send.c - the writes of a websocket connection (edge_int.h): a message
 * queued and written from lws's WRITEABLE callback, the Resync after
 * dropped events, the close frame, and the shedding of the slowest readers
 * when every queue together is over the edge's cap.
 */
#include <string.h>

#include "espace/v1/edge.pb-c.h"
#include "process/log.h"
#include "services/edge/edge_int.h"

#define S_CLOSE_GRACE_S 5 /* a closing connection that does not drain is cut then */
/* lws's private LWS_WRITE_CLOSE (lws-write.h: "handled by lws_close_reason()") */
#define S_WRITE_CLOSE ((enum lws_write_protocol)4)

/* 1 if a is a slower reader than b: its queue has waited longer without a
 * write going out (the one stalled longest), then holds more bytes. A
 * client that reads, even with a backlog, keeps its stall time recent. */
static int s_slower(const edge_conn_t *a, const edge_conn_t *b)
{
    if (a->stalled_us != b->stalled_us)
        return a->stalled_us < b->stalled_us;
    return a->q.bytes > b->q.bytes;
}

/* The edge's reply memory (every connection's queue) is over its cap: close
 * the slowest readers at once and free their queues, until it is under. */
void edge_conn_shed(edge_t *e)
{
    while (e->queued > e->o.queue_total_bytes) {
        edge_conn_t *worst = NULL;
        for (edge_conn_t *c = e->conns; c != NULL; c = c->next)
            if (c->q.bytes > 0 && (worst == NULL || s_slower(c, worst)))
                worst = c;
        if (worst == NULL)
            return;
        e->metrics.shed++;
        log_warn(EDGE_COMP, "conn.shed", "conn=%llu bytes=%zu stalled_ms=%lld total=%zu cap=%zu",
                 (unsigned long long)worst->id, worst->q.bytes,
                 (long long)((edge_now_us() - worst->stalled_us) / 1000), e->queued,
                 e->o.queue_total_bytes);
        edge_conn_close(worst, EDGE_NO_CLOSING, "too slow: edge reply memory full",
                        LWS_CLOSE_STATUS_POLICY_VIOLATION);
        worst->close_now = 1; /* even if it was flushing a Closing */
        edge_outq_fini(&worst->q);
    }
}

void edge_conn_push(edge_conn_t *c, edge_msg_t *m)
{
    if (m == NULL || edge_outq_push(&c->q, m, 0) != 0) {
        log_warn(EDGE_COMP, "conn.too_slow", "conn=%llu queued=%u bytes=%zu",
                 (unsigned long long)c->id, c->q.count, c->q.bytes);
        edge_conn_close(c, EDGE_NO_CLOSING, "too slow", LWS_CLOSE_STATUS_POLICY_VIOLATION);
        return;
    }
    if (c->q.count == 1)
        c->stalled_us = edge_now_us(); /* waiting from now */
    lws_callback_on_writable(c->wsi);
    edge_conn_shed(c->edge);
}

/* Close with the recorded status: write the close frame ourselves, then
 * let the peer's answering close end the connection (or the timeout). Both
 * lws ways fail on the libuv event lib in 4.1: returning -1 from WRITEABLE
 * drops the socket without a close frame ("close_and_handled uv repeat
 * test"), and a timeout kill never sends one. */
static int s_close_now(edge_conn_t *c)
{
    uint8_t buf[LWS_PRE + 2 + sizeof(c->close_reason)];
    uint8_t *p = buf + LWS_PRE;
    size_t n = strlen(c->close_reason);
    if (c->killed)
        return 0;
    c->killed = 1;
    p[0] = (uint8_t)((c->close_code >> 8) & 0xff);
    p[1] = (uint8_t)(c->close_code & 0xff);
    memcpy(p + 2, c->close_reason, n);
    if (lws_write(c->wsi, p, 2 + n, S_WRITE_CLOSE) < 0)
        return -1;
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_ACK, S_CLOSE_GRACE_S);
    return 0;
}

int edge_conn_writeable(edge_conn_t *c)
{
    if (c->close_now)
        return s_close_now(c);
    edge_msg_t *m = edge_outq_peek(&c->q);
    if (m == NULL)
        return c->closing ? s_close_now(c) : 0;
    int n = lws_write(c->wsi, edge_msg_payload(m), m->len, LWS_WRITE_BINARY);
    if (n < 0 || (size_t)n < m->len)
        return -1;
    edge_outq_pop(&c->q);
    c->stalled_us = edge_now_us(); /* progress */
    if (c->dropped > 0 && !c->closing) {
        Espace__V1__Resync rs = ESPACE__V1__RESYNC__INIT;
        rs.dropped = c->dropped;
        Espace__V1__ServerMessage sm = ESPACE__V1__SERVER_MESSAGE__INIT;
        sm.kind_case = ESPACE__V1__SERVER_MESSAGE__KIND_RESYNC;
        sm.resync = &rs;
        edge_msg_t *r = edge_msg_pack(&sm.base);
        if (r != NULL && edge_outq_push(&c->q, r, 0) == 0) {
            log_info(EDGE_COMP, "conn.resync", "conn=%llu dropped=%u", (unsigned long long)c->id,
                     c->dropped);
            c->dropped = 0;
        }
        edge_msg_unref(&r);
    }
    if (c->q.count > 0 || c->closing)
        lws_callback_on_writable(c->wsi);
    return 0;
}
