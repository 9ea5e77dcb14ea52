/*
 * conn.c - connections (broker_int.h): each peer's (request socket,
 * routing id) and fd, the count of its requests waiting for an answer (the
 * per-connection cap of broker.h), and the socket monitors that report the
 * connections that end.
 *
 * Why: a routing id is chosen by the client. When a connection ends, a new
 * one may come with the same routing id (ROUTER refuses a duplicate only
 * while the first is connected); it must find nothing of the previous
 * one: no session binding, no subscription, no answer still owed. libzmq
 * 4.3.4 without the draft API has no ZMQ_ROUTER_NOTIFY; the socket monitor
 * reports ZMQ_EVENT_DISCONNECTED with the connection's fd, and every
 * message carries the fd it came on (zmq_msg_get ZMQ_SRCFD), which maps the
 * fd to the routing id.
 *
 * Ordering: libzmq's I/O thread writes DISCONNECTED to the monitor before
 * it closes the fd, and ACCEPTED of the next connection on that fd number
 * before that connection's first message; conn_monitor_read runs before
 * each message of its socket is read, so the end of a connection is always
 * seen before any message of a new connection on the same fd. Between the
 * two, messages carrying that fd are the ended connection's own (still
 * queued): they are dropped (b->closed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_int.h"
#include "process/log.h"
#include "proto/status.h"

static size_t s_hash_rid(int sock, const uint8_t *rid, size_t len)
{
    return (size_t)(broker_hash(0x636f6e6eull ^ (uint64_t)sock, rid, len) % CONN_BUCKETS);
}

static size_t s_hash_fd(int sock, int fd)
{
    int key[2] = {sock, fd};
    return (size_t)(broker_hash(0x6664ull, key, sizeof key) % CONN_BUCKETS);
}

static conn_t **s_slot(broker_t *b, int sock, const uint8_t *rid, size_t len)
{
    conn_t **pp = &b->conns[s_hash_rid(sock, rid, len)];
    while (*pp != NULL && !((*pp)->sock == sock && (*pp)->rid_len == len &&
                            memcmp((*pp)->rid, rid, len) == 0))
        pp = &(*pp)->next;
    return pp;
}

static void s_fd_unlink(broker_t *b, conn_t *c)
{
    if (c->fd < 0)
        return;
    for (conn_t **pp = &b->conns_fd[s_hash_fd(c->sock, c->fd)]; *pp != NULL;
         pp = &(*pp)->fd_next)
        if (*pp == c) {
            *pp = c->fd_next;
            return;
        }
}

/* The connection ended (or was replaced): drop everything it held. */
static void s_gone(broker_t *b, conn_t *c)
{
    session_forget(b, c->sock, c->rid, c->rid_len);
    route_conn_gone(b, c);
    s_fd_unlink(b, c);
    conn_t **pp = s_slot(b, c->sock, c->rid, c->rid_len);
    if (*pp == c)
        *pp = c->next;
    free(c);
    b->nconns--;
}

/* Mark fd of req[sock] closed (1) or open (0). */
static void s_closed_set(broker_t *b, int sock, int fd, int on)
{
    if (fd < 0 || fd >= CONN_MAX_FD)
        return;
    size_t need = (size_t)fd + 1;
    if (need > b->nclosed[sock]) {
        if (!on)
            return;
        size_t n = b->nclosed[sock] ? b->nclosed[sock] : 1024;
        while (n < need)
            n *= 2;
        uint8_t *grown = realloc(b->closed[sock], n);
        if (grown == NULL)
            return; /* its stale messages then pass: the state was dropped anyway */
        memset(grown + b->nclosed[sock], 0, n - b->nclosed[sock]);
        b->closed[sock] = grown;
        b->nclosed[sock] = n;
    }
    b->closed[sock][fd] = (uint8_t)on;
}

static int s_closed(const broker_t *b, int sock, int fd)
{
    return fd >= 0 && (size_t)fd < b->nclosed[sock] && b->closed[sock][fd];
}

/* Every connection of req[sock] on fd ended. */
static void s_fd_gone(broker_t *b, int sock, int fd)
{
    conn_t **pp = &b->conns_fd[s_hash_fd(sock, fd)];
    while (*pp != NULL) {
        conn_t *c = *pp;
        if (c->sock == sock && c->fd == fd)
            s_gone(b, c); /* unlinks c from this chain */
        else
            pp = &c->fd_next;
    }
}

int conn_monitor_open(broker_t *b)
{
    for (int i = 0; i < 2; i++) {
        if (b->req[i] == NULL)
            continue;
        char ep[96];
        snprintf(ep, sizeof ep, "inproc://espace-broker-monitor-%p-%d", (void *)b, i);
        if (zmq_socket_monitor(b->req[i], ep, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0)
            return ES_INTERNAL;
        b->mon[i] = zmq_socket(b->ctx, ZMQ_PAIR);
        int linger = 0;
        if (b->mon[i] == NULL ||
            zmq_setsockopt(b->mon[i], ZMQ_LINGER, &linger, sizeof linger) != 0 ||
            zmq_connect(b->mon[i], ep) != 0)
            return ES_INTERNAL;
    }
    return 0;
}

void conn_monitor_read(broker_t *b, int sock)
{
    if (b->mon[sock] == NULL)
        return;
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, b->mon[sock], ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        uint16_t id = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&ev) >= 6) {
            memcpy(&id, zmq_msg_data(&ev), 2);
            memcpy(&value, (const uint8_t *)zmq_msg_data(&ev) + 2, 4);
        }
        int more = zmq_msg_more(&ev);
        zmq_msg_close(&ev);
        if (more) { /* the endpoint frame */
            zmq_msg_init(&addr);
            zmq_msg_recv(&addr, b->mon[sock], 0);
            zmq_msg_close(&addr);
        }
        int fd = (int)value;
        if (id == ZMQ_EVENT_DISCONNECTED) {
            s_fd_gone(b, sock, fd);
            s_closed_set(b, sock, fd, 1);
        } else if (id == ZMQ_EVENT_ACCEPTED) {
            s_fd_gone(b, sock, fd); /* nothing should be left; never keep it */
            s_closed_set(b, sock, fd, 0);
        }
    }
}

conn_t *conn_seen(broker_t *b, const broker_peer_t *peer)
{
    if (s_closed(b, peer->sock, peer->fd))
        return NULL;
    conn_t **pp = s_slot(b, peer->sock, peer->rid, peer->rid_len);
    if (*pp != NULL) {
        if ((*pp)->fd == peer->fd)
            return *pp;
        /* the same routing id on another fd: a new connection */
        log_info("broker", "conn.replaced", "reason=new_fd");
        s_gone(b, *pp);
    }
    if (peer->fd >= 0) {
        /* another routing id on this fd: its connection ended (its end was
         * not reported: the monitor drops events past its high-water mark) */
        conn_t **fp = &b->conns_fd[s_hash_fd(peer->sock, peer->fd)];
        while (*fp != NULL) {
            if ((*fp)->sock == peer->sock && (*fp)->fd == peer->fd) {
                log_info("broker", "conn.replaced", "reason=fd_reused");
                s_gone(b, *fp);
            } else {
                fp = &(*fp)->fd_next;
            }
        }
    }
    if (b->nconns >= BROKER_MAX_CONNS)
        return NULL;
    conn_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->sock = peer->sock;
    c->fd = peer->fd;
    memcpy(c->rid, peer->rid, peer->rid_len);
    c->rid_len = peer->rid_len;
    pp = s_slot(b, peer->sock, peer->rid, peer->rid_len);
    *pp = c;
    if (c->fd >= 0) {
        conn_t **fp = &b->conns_fd[s_hash_fd(c->sock, c->fd)];
        c->fd_next = *fp;
        *fp = c;
    }
    b->nconns++;
    return c;
}

void conn_idle(broker_t *b, const broker_peer_t *peer)
{
    conn_t **pp = s_slot(b, peer->sock, peer->rid, peer->rid_len);
    conn_t *c = *pp;
    if (c == NULL || c->fd >= 0 || c->pending > 0)
        return;
    *pp = c->next;
    free(c);
    b->nconns--;
}

uint32_t conn_cap(const broker_t *b, const broker_peer_t *peer)
{
    return peer->role == ESPACE__V1__PEER_ROLE__PEER_GATEWAY ||
                   peer->role == ESPACE__V1__PEER_ROLE__PEER_LOCAL
               ? b->gateway_pending
               : b->conn_pending;
}

void conn_free_all(broker_t *b)
{
    if (b->conns != NULL)
        for (size_t i = 0; i < CONN_BUCKETS; i++) {
            conn_t *c = b->conns[i];
            while (c != NULL) {
                conn_t *next = c->next;
                free(c);
                c = next;
            }
        }
    free(b->conns);
    free(b->conns_fd);
    b->conns = b->conns_fd = NULL;
    for (int i = 0; i < 2; i++) {
        free(b->closed[i]);
        b->closed[i] = NULL;
        b->nclosed[i] = 0;
    }
}
