/*
 * send.c - the writes of a websocket connection (edge_int.h): a queued
 * message written at once when nothing waits before it, the queue drained
 * from lws's WRITEABLE callback otherwise, the Resync after dropped events,
 * the close frame, and the shedding of the slowest readers when every
 * queue together is over the edge's cap.
 */
#include <string.h>

#include "espace/v1/edge.pb-c.h"
#include "process/log.h"
#include "services/edge/edge_int.h"

#define S_CLOSE_GRACE_S 5        /* a closing connection that does not drain is cut then */
#define S_WRITES_PER_CALLBACK 64 /* frames written per WRITEABLE callback at most */
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

/* 1 if c has its socket to itself (a websocket on http/1.1), 0 if it is a
 * stream multiplexed on another connection (h2), where lws allows one write
 * per WRITEABLE callback and none outside. */
static int s_own_socket(edge_conn_t *c)
{
    return lws_get_network_wsi(c->wsi) == c->wsi;
}

/* Write the head of c's queue and take it off: 0 when it went out whole or
 * lws kept the part the socket did not take (lws_issue_raw's buflist_out,
 * flushed before the next WRITEABLE callback; lws_partial_buffered() says
 * so), -1 when the socket failed. from_callback: counted as such. */
static int s_write_head(edge_conn_t *c, int from_callback)
{
    edge_msg_t *m = edge_outq_peek(&c->q);
    int n = lws_write(c->wsi, edge_msg_payload(m), m->len, LWS_WRITE_BINARY);
    if (n < 0 || (size_t)n < m->len)
        return -1;
    edge_outq_pop(&c->q);
    c->edge->metrics.frames[from_callback ? 1 : 0]++;
    c->stalled_us = edge_now_us(); /* progress */
    return 0;
}

/* A message was just queued on c. When it is the only one queued and lws
 * holds nothing of c's, it is written at once, from here, rather than from
 * the next WRITEABLE callback: lws on libuv asks for writability with
 * uv_poll_start, an epoll_ctl DEL + ADD, once to arm it and once to disarm
 * it after the callback, so a frame written from the callback costs four
 * epoll_ctl and a turn of the loop. Order is kept (nothing is queued before
 * it, nothing is left in lws), and so are the caps: what the socket does
 * not take waits in lws (one frame at most: the next ones see
 * lws_partial_buffered() and wait in the queue, which lws's own WRITEABLE
 * request then drains). lws's rule is to write only from the WRITEABLE
 * callback; what breaks without it is the h2 mux (a stream's frames go
 * through the network connection's turn): the edge offers http/1.1 only
 * (edge.c's alpn), and a connection that is a stream of another waits for
 * its callback as before. On h1 a write is a send() on its own socket. */
void edge_conn_send(edge_conn_t *c)
{
    if (c->q.count == 1 && !c->closing && c->dropped == 0 && !lws_partial_buffered(c->wsi) &&
        s_own_socket(c)) {
        if (s_write_head(c, 0) == 0)
            return;
        log_info(EDGE_COMP, "conn.write_failed", "conn=%llu", (unsigned long long)c->id);
        edge_conn_close(c, EDGE_NO_CLOSING, "write failed", LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
        return;
    }
    if (c->q.count == 1)
        c->stalled_us = edge_now_us(); /* waiting from now */
    lws_callback_on_writable(c->wsi);
}

void edge_conn_push(edge_conn_t *c, edge_msg_t *m)
{
    if (m == NULL || edge_outq_push(&c->q, m, 0) != 0) {
        log_warn(EDGE_COMP, "conn.too_slow", "conn=%llu queued=%u bytes=%zu",
                 (unsigned long long)c->id, c->q.count, c->q.bytes);
        edge_conn_close(c, EDGE_NO_CLOSING, "too slow", LWS_CLOSE_STATUS_POLICY_VIOLATION);
        return;
    }
    edge_conn_send(c);
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
    if (c->q.count == 0)
        return c->closing ? s_close_now(c) : 0;
    /* Several frames per callback, until the socket stops taking them
     * whole (lws then keeps the rest of the last one and asks for the
     * next callback itself). */
    int most = s_own_socket(c) ? S_WRITES_PER_CALLBACK : 1;
    for (int i = 0; i < most && c->q.count > 0; i++) {
        if (s_write_head(c, 1) != 0)
            return -1;
        if (lws_partial_buffered(c->wsi))
            break;
    }
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
