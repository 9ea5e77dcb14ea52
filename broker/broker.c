/*
 * broker.c - the espace broker (broker.h): the loop and the wiring. The
 * concerns live in their own files (broker_int.h has the map): routing in
 * route.c, sessions in session.c, professionals' subscriptions in subs.c,
 * the event proxy in events.c, ZAP in zap.c, the key registry in keys.c.
 *
 * One thread, one zmq_poll loop, its own ZeroMQ context or the one it is
 * given (inproc peers, broker.h). Frames follow
 * docs/protocol.md; they are checked by frames_parse and decoded through
 * codec_decode. Nothing from the network reaches an assert.
 */
#include "broker/broker.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "broker/broker_int.h"
#include "broker/keys.h"
#include "broker/zap.h"
#include "bus/bus.h"
#include "bus/frames.h"
#include "process/log.h"
#include "proto/status.h"
#include "storage/store.h"

#define S_DRAIN 256 /* messages handled per socket per loop turn */

/* ---------------------------------------------------------------- sending */

int broker_send(broker_t *b, int sock, const uint8_t *rid, size_t rid_len,
                const frame_ref_t *f, size_t n)
{
    frame_ref_t all[FRAMES_MAX + 1];
    all[0] = (frame_ref_t){rid, rid_len};
    for (size_t i = 0; i < n; i++)
        all[i + 1] = f[i];
    b->sent |= BROKER_SENT_REQ(sock);
    return frames_send(b->req[sock], all, n + 1);
}

void broker_worker_cmd(broker_t *b, int sock, const uint8_t *rid, size_t rid_len, uint8_t cmd)
{
    frame_ref_t f[2] = {{(const uint8_t *)BUS_WORKER_PROTO, 4}, {&cmd, 1}};
    broker_send(b, sock, rid, rid_len, f, 2);
}

void broker_reply_raw(broker_t *b, int sock, const uint8_t *rid, size_t rid_len,
                      const char *service, const uint8_t *rep, size_t rep_len)
{
    uint8_t cmd = BUS_C_REPLY;
    frame_ref_t f[4] = {{(const uint8_t *)BUS_CLIENT_PROTO, 4},
                        {&cmd, 1},
                        {(const uint8_t *)service, strlen(service)},
                        {rep, rep_len}};
    broker_send(b, sock, rid, rid_len, f, 4); /* a vanished client is not an error */
}

void broker_reply_status(broker_t *b, int sock, const uint8_t *rid, size_t rid_len,
                         const char *service, uint64_t id, int status, const char *message,
                         const char *field)
{
    Espace__V1__Status st = ESPACE__V1__STATUS__INIT;
    st.code = (Espace__V1__Code)es_to_code(status);
    st.message = (char *)(message ? message : "");
    st.field = (char *)(field ? field : "");
    Espace__V1__Reply rep = ESPACE__V1__REPLY__INIT;
    rep.id = id;
    rep.status = &st;
    uint8_t buf[512];
    size_t len = espace__v1__reply__get_packed_size(&rep);
    if (len > sizeof(buf))
        return;
    espace__v1__reply__pack(&rep, buf);
    broker_reply_raw(b, sock, rid, rid_len, service, buf, len);
}

/* --------------------------------------------------------------- dispatch */

/* Who sent a message: routing id, and the role and key from the ZAP user
 * id on tcp. 0, or -1 (dropped). */
static int s_peer_of(int sock, zmq_msg_t *first, zmq_msg_t *meta, broker_peer_t *peer)
{
    memset(peer, 0, sizeof(*peer));
    size_t len = zmq_msg_size(first);
    if (len == 0 || len > BROKER_MAX_RID)
        return -1;
    peer->sock = sock;
    memcpy(peer->rid, zmq_msg_data(first), len);
    peer->rid_len = len;
    /* the fd the message came on (-1 for inproc peers): from a frame the
     * peer sent, as the routing-id frame the ROUTER makes may carry none */
    peer->fd = zmq_msg_get(meta, ZMQ_SRCFD);
    if (sock == BROKER_IPC) {
        peer->role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
        return 0;
    }
    const char *uid = zmq_msg_gets(meta, "User-Id");
    if (uid == NULL || zap_parse_user_id(uid, &peer->role, peer->key) != 0)
        return -1;
    return 0;
}

/* One message on a request socket, handed to the module it concerns. */
static void s_on_request_msg(broker_t *b, int sock, zmq_msg_t *msgs, size_t n)
{
    broker_peer_t peer;
    if (n < 2 || s_peer_of(sock, &msgs[0], &msgs[1], &peer) != 0) {
        b->dropped++;
        return;
    }
    /* a message of a connection that ended, or no room to track it */
    conn_t *conn = conn_seen(b, &peer);
    if (conn == NULL) {
        b->dropped++;
        return;
    }
    /* a binding made by another peer under this routing id is stale: drop
     * it before anything (stamping, SUBSCRIBE) looks the session up */
    (void)session_get_peer(b, &peer);
    frame_ref_t f[FRAMES_MAX];
    for (size_t i = 1; i < n; i++)
        f[i - 1] = (frame_ref_t){zmq_msg_data(&msgs[i]), zmq_msg_size(&msgs[i])};
    /* SUBSCRIBE is parsed here (frames.c knows the older commands) */
    if (n - 1 >= 2 && f[0].len == 4 && memcmp(f[0].data, BUS_CLIENT_PROTO, 4) == 0 &&
        f[1].len == 1 && f[1].data[0] == BUS_C_SUBSCRIBE) {
        if (n - 1 == 3)
            subs_client_subscribe(b, &peer, f[2]);
        else
            b->dropped++;
        goto idle;
    }
    frames_msg_t m;
    if (frames_parse(f, n - 1, &m) != 0) {
        b->dropped++;
        goto idle;
    }
    int wi = route_worker_find(b, sock, peer.rid, peer.rid_len);
    if (wi >= 0)
        route_worker_seen(b, wi);
    switch (m.kind) {
    case FRAMES_C_REQUEST:
        route_client_request(b, &peer, conn, &m, 0);
        break;
    case FRAMES_C_AUTH:
        route_client_request(b, &peer, conn, &m, 1);
        break;
    case FRAMES_W_READY:
        route_ready(b, &peer, &m);
        break;
    case FRAMES_W_REPLY:
        if (wi < 0)
            broker_worker_cmd(b, sock, peer.rid, peer.rid_len, BUS_W_DISCONNECT);
        else
            route_worker_reply(b, wi, &m);
        break;
    case FRAMES_W_HEARTBEAT:
        if (wi < 0) /* unknown worker (e.g. broker restarted): make it register again */
            broker_worker_cmd(b, sock, peer.rid, peer.rid_len, BUS_W_DISCONNECT);
        break;
    case FRAMES_W_DISCONNECT:
        if (wi >= 0)
            route_worker_remove(b, wi, "disconnect");
        break;
    case FRAMES_W_REQUEST:
        broker_worker_cmd(b, sock, peer.rid, peer.rid_len, BUS_W_DISCONNECT);
        break;
    default:
        b->dropped++; /* C_REPLY from a peer: nonsense, dropped */
        break;
    }
idle:
    conn_idle(b, &peer); /* conn may be gone: looked up again */
}

/* ------------------------------------------------------------------ setup */

static int s_mkdir_parent(const char *endpoint)
{
    if (strncmp(endpoint, "ipc://", 6) != 0)
        return 0;
    const char *path = endpoint + 6;
    const char *slash = strrchr(path, '/');
    if (slash == NULL || slash == path)
        return 0;
    char dir[PATH_MAX];
    size_t len = (size_t)(slash - path);
    if (len >= sizeof(dir))
        return ES_INVALID_ARGUMENT;
    memcpy(dir, path, len);
    dir[len] = '\0';
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return ES_INTERNAL;
    return 0;
}

static int s_bind(broker_t *b, void **out, int type, const char *endpoint, int tcp,
                  const char *domain, const uint8_t secret[32])
{
    if (endpoint == NULL)
        return 0;
    if (tcp != (strncmp(endpoint, "tcp://", 6) == 0))
        return ES_INVALID_ARGUMENT;
    int rc = s_mkdir_parent(endpoint);
    if (rc != 0)
        return rc;
    void *s = zmq_socket(b->ctx, type);
    if (s == NULL)
        return ES_INTERNAL;
    int linger = 0, one = 1;
    int64_t maxmsg = (int64_t)BUS_MAX_MSG;
    rc = ES_INTERNAL;
    if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0)
        goto fail;
    if (type == ZMQ_ROUTER && zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) != 0)
        goto fail;
    /* the event proxy: events down with a bounded mark, subscriptions up
     * with none (libzmq drops them silently at the mark; bus.h) */
    int events = BUS_EVENT_HWM, unbounded = 0;
    if ((type == ZMQ_XSUB || type == ZMQ_XPUB) &&
        (zmq_setsockopt(s, ZMQ_SNDHWM, type == ZMQ_XPUB ? &events : &unbounded, sizeof(int)) != 0 ||
         zmq_setsockopt(s, ZMQ_RCVHWM, type == ZMQ_XPUB ? &unbounded : &events, sizeof(int)) != 0))
        goto fail;
    if (tcp && (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
                zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret, 32) != 0 ||
                zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0))
        goto fail;
    if (zmq_bind(s, endpoint) != 0) {
        int err = zmq_errno();
        rc = err == EADDRINUSE ? ES_UNAVAILABLE : ES_INVALID_ARGUMENT;
        char q1[256], q2[128];
        log_error("broker", "bind.failed", "endpoint=%s error=%s",
                  log_quote(endpoint, q1, sizeof(q1)), log_quote(zmq_strerror(err), q2, sizeof(q2)));
        goto fail;
    }
    *out = s;
    return 0;
fail:
    zmq_close(s);
    return rc;
}

/* Bind an inproc endpoint on the local socket *sock (opened on it when
 * there is no ipc endpoint): its peers are local like the ipc ones. */
static int s_bind_inproc(broker_t *b, void **sock, int type, const char *endpoint)
{
    if (endpoint == NULL)
        return 0;
    if (strncmp(endpoint, "inproc://", 9) != 0 || b->o->zctx == NULL)
        return ES_INVALID_ARGUMENT; /* inproc peers live in the shared context */
    if (*sock == NULL)
        return s_bind(b, sock, type, endpoint, 0, NULL, NULL);
    if (zmq_bind(*sock, endpoint) != 0) {
        int err = zmq_errno();
        char q1[256], q2[128];
        log_error("broker", "bind.failed", "endpoint=%s error=%s",
                  log_quote(endpoint, q1, sizeof(q1)), log_quote(zmq_strerror(err), q2, sizeof(q2)));
        return err == EADDRINUSE ? ES_UNAVAILABLE : ES_INVALID_ARGUMENT;
    }
    return 0;
}

static void s_teardown(broker_t *b)
{
    for (int i = 0; i < 2; i++) {
        if (b->mon[i]) {
            zmq_socket_monitor(b->req[i], NULL, 0);
            zmq_close(b->mon[i]);
        }
        if (b->req[i])
            zmq_close(b->req[i]);
        if (b->xsub[i])
            zmq_close(b->xsub[i]);
        if (b->xpub[i])
            zmq_close(b->xpub[i]);
    }
    if (b->zap)
        zmq_close(b->zap);
    if (b->ctx && b->ctx != b->o->zctx)
        zmq_ctx_term(b->ctx);
    route_free(b);
    session_free_all(b);
    conn_free_all(b);
    free(b->subs); /* the entries went with their sessions */
    store_close(&b->keys);
}

/* The session service named in the options: a valid service name, or NULL
 * (AUTH is then refused). */
static int s_session_service(broker_t *b)
{
    const char *name = b->o->session_service;
    if (name == NULL)
        return 0;
    frame_ref_t f = {(const uint8_t *)name, strlen(name)};
    if (!frames_service_valid(f)) {
        char q[80];
        log_error("broker", "start.failed", "reason=bad_session_service name=%s",
                  log_quote(name, q, sizeof(q)));
        return ES_INVALID_ARGUMENT;
    }
    b->session_service = name;
    return 0;
}

static int s_open(broker_t *b)
{
    const broker_opts_t *o = b->o;
    int rc = ES_INTERNAL;
    uint8_t pub[32], sec[32];
    char path[PATH_MAX];
    if (o->data_dir == NULL)
        return ES_INVALID_ARGUMENT;
    if ((rc = s_session_service(b)) != 0)
        return rc;
    if (snprintf(path, sizeof(path), "%s/broker", o->data_dir) >= (int)sizeof(path))
        return ES_INVALID_ARGUMENT;
    store_opts_t so;
    memset(&so, 0, sizeof(so));
    so.tables = keys_tables;
    so.no_sync = o->no_sync;
    if ((rc = store_open(path, &so, &b->keys)) != 0)
        return rc;
    if (snprintf(path, sizeof(path), "%s/broker/curve.key", o->data_dir) >= (int)sizeof(path))
        return ES_INVALID_ARGUMENT;
    if ((rc = bus_keypair_load(path, 1, pub, sec)) != 0)
        return rc;
    b->pending = calloc(BROKER_MAX_PENDING, sizeof(*b->pending));
    b->sessions = calloc(SESSION_BUCKETS, sizeof(*b->sessions));
    b->subs = calloc(SUBS_BUCKETS, sizeof(*b->subs));
    b->conns = calloc(CONN_BUCKETS, sizeof(*b->conns));
    b->conns_fd = calloc(CONN_BUCKETS, sizeof(*b->conns_fd));
    b->ctx = o->zctx ? o->zctx : zmq_ctx_new();
    rc = ES_RESOURCE_EXHAUSTED;
    if (b->pending == NULL || b->sessions == NULL || b->subs == NULL || b->conns == NULL ||
        b->conns_fd == NULL || b->ctx == NULL)
        goto wipe;
    rc = ES_INTERNAL;
    /* ZAP first: a CURVE server bound without a handler admits anyone */
    if ((b->zap = zap_open(b->ctx)) == NULL)
        goto wipe;
    if ((rc = s_bind(b, &b->req[BROKER_IPC], ZMQ_ROUTER, o->req_ipc, 0, NULL, NULL)) != 0 ||
        (rc = s_bind(b, &b->req[BROKER_TCP], ZMQ_ROUTER, o->req_tcp, 1, ZAP_DOMAIN_REQ, sec)) != 0 ||
        (rc = s_bind(b, &b->xsub[BROKER_IPC], ZMQ_XSUB, o->pub_ipc, 0, NULL, NULL)) != 0 ||
        (rc = s_bind(b, &b->xsub[BROKER_TCP], ZMQ_XSUB, o->pub_tcp, 1, ZAP_DOMAIN_EVENTS, sec)) != 0 ||
        (rc = s_bind(b, &b->xpub[BROKER_IPC], ZMQ_XPUB, o->sub_ipc, 0, NULL, NULL)) != 0 ||
        (rc = s_bind(b, &b->xpub[BROKER_TCP], ZMQ_XPUB, o->sub_tcp, 1, ZAP_DOMAIN_EVENTS, sec)) != 0 ||
        (rc = s_bind_inproc(b, &b->req[BROKER_IPC], ZMQ_ROUTER, o->req_inproc)) != 0 ||
        (rc = s_bind_inproc(b, &b->xsub[BROKER_IPC], ZMQ_XSUB, o->pub_inproc)) != 0 ||
        (rc = s_bind_inproc(b, &b->xpub[BROKER_IPC], ZMQ_XPUB, o->sub_inproc)) != 0)
        goto wipe;
    if ((rc = conn_monitor_open(b)) != 0)
        goto wipe;
    rc = events_watch(b);
wipe:
    sodium_memzero(sec, sizeof(sec));
    return rc;
}

/* ------------------------------------------------------------------- loop */

/* The loop polls the sockets' ZMQ_FDs itself rather than with zmq_poll,
 * which checks every socket's command mailbox (a poll() and a getpid()
 * each) before and after it waits: ~20 system calls per wake-up for the
 * broker's 9 sockets. ZMQ_FD is edge-triggered (STACK.md §0.1): a socket
 * whose fd fired is read until EAGAIN (a read that finds nothing processes
 * its commands, so the fd fires again for the next message); one left with
 * messages (S_DRAIN reached) is read again next turn without waiting; one
 * sent on since it was read empty (broker_t.sent) has its ZMQ_EVENTS
 * checked before the loop sleeps. */

enum { S_K_STOP, S_K_ZAP, S_K_REQ, S_K_XSUB, S_K_XPUB, S_K_MON }; /* what a poll item is */

#define S_ITEMS 10

typedef struct s_poll {
    struct pollfd fds[S_ITEMS];
    void *socks[S_ITEMS];    /* NULL for the stop fd */
    int kinds[S_ITEMS];
    int idx[S_ITEMS];        /* BROKER_IPC or BROKER_TCP */
    unsigned sent[S_ITEMS];  /* its bit in broker_t.sent, or 0 */
    int ready[S_ITEMS];      /* may hold messages: read it this turn */
    int n;
} s_poll_t;

static int s_poll_add(s_poll_t *p, void *sock, int fd, int kind, int idx, unsigned sent)
{
    if (sock != NULL) {
        size_t len = sizeof(fd);
        if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len) != 0)
            return ES_INTERNAL;
    }
    p->fds[p->n] = (struct pollfd){fd, POLLIN, 0};
    p->socks[p->n] = sock;
    p->kinds[p->n] = kind;
    p->idx[p->n] = idx;
    p->sent[p->n] = sent;
    p->ready[p->n++] = sock != NULL; /* read everything once at start */
    return 0;
}

/* Read up to S_DRAIN messages of poll item i: 1 if it may hold more, 0
 * once read empty. */
static int s_drain(broker_t *b, const s_poll_t *p, int i)
{
    void *sock = p->socks[i];
    for (int k = 0; k < S_DRAIN; k++) {
        zmq_msg_t msgs[FRAMES_MAX + 1];
        size_t cnt = 0;
        int r = frames_recv(sock, msgs, FRAMES_MAX + 1, &cnt, ZMQ_DONTWAIT);
        if (r == ES_NOT_FOUND) {
            b->sent &= ~p->sent[i]; /* read empty after its sends */
            return 0;
        }
        if (r != 0) {
            b->dropped++;
            continue;
        }
        if (p->kinds[i] == S_K_REQ) {
            /* ended connections first (conn.c), read after the message so
             * that every end reported before it is seen; inproc peers
             * (fd -1) have no fd to reuse */
            if (cnt >= 2 && zmq_msg_get(&msgs[1], ZMQ_SRCFD) >= 0)
                conn_monitor_read(b, p->idx[i]);
            s_on_request_msg(b, p->idx[i], msgs, cnt);
        } else if (p->kinds[i] == S_K_XSUB) {
            events_on_publish(b, msgs, cnt);
        } else {
            events_on_subscription(b, msgs, cnt);
        }
        frames_close(msgs, cnt);
    }
    return 1;
}

/* Serve poll item i: 1 if it may hold more. */
static int s_serve(broker_t *b, const s_poll_t *p, int i)
{
    switch (p->kinds[i]) {
    case S_K_ZAP:
        zap_handle(b->zap, b->keys);
        b->sent |= BROKER_SENT_ZAP; /* it answers as it reads */
        return 0;
    case S_K_MON:
        conn_monitor_read(b, p->idx[i]);
        return 0;
    default:
        return s_drain(b, p, i);
    }
}

/* Before sleeping: a socket sent on since it was read empty may hold
 * messages its fd will not report. 1 if one does. */
static int s_check_sent(broker_t *b, s_poll_t *p)
{
    int any = 0;
    for (int i = 1; i < p->n; i++) {
        if (!(b->sent & p->sent[i]))
            continue;
        b->sent &= ~p->sent[i];
        uint32_t ev = 0;
        size_t len = sizeof(ev);
        if (!p->ready[i] && zmq_getsockopt(p->socks[i], ZMQ_EVENTS, &ev, &len) == 0 &&
            (ev & ZMQ_POLLIN))
            p->ready[i] = 1;
        any |= p->ready[i];
    }
    return any;
}

static void s_timers(broker_t *b)
{
    int64_t now = bus_mono_ms();
    if (now >= b->hb_at) {
        route_heartbeat(b, now);
        b->hb_at = now + b->hb;
    }
    if (now >= b->next_deadline)
        route_expire(b, now);
    if (now >= b->sweep_at) {
        session_sweep(b, NULL, 0);
        b->sweep_at = now + SESSION_SWEEP_MS;
    }
}

static int s_loop(broker_t *b)
{
    const broker_opts_t *opts = b->o;
    s_poll_t p;
    memset(&p, 0, sizeof(p));
    int rc = s_poll_add(&p, NULL, opts->stop_fd, S_K_STOP, 0, 0);
    rc = rc ? rc : s_poll_add(&p, b->zap, 0, S_K_ZAP, 0, BROKER_SENT_ZAP);
    for (int i = 0; i < 2 && rc == 0; i++) {
        void *ss[3] = {b->req[i], b->xsub[i], b->xpub[i]};
        unsigned bits[3] = {BROKER_SENT_REQ(i), BROKER_SENT_XSUB(i), BROKER_SENT_XPUB(i)};
        for (int k = 0; k < 3 && rc == 0; k++)
            if (ss[k] != NULL)
                rc = s_poll_add(&p, ss[k], 0, S_K_REQ + k, i, bits[k]);
        if (b->mon[i] != NULL && rc == 0)
            rc = s_poll_add(&p, b->mon[i], 0, S_K_MON, i, 0);
    }
    if (rc != 0)
        return rc;
    int64_t now = bus_mono_ms();
    b->hb_at = now + b->hb;
    b->sweep_at = now + SESSION_SWEEP_MS;
    for (;;) {
        int more = 0;
        for (int i = 1; i < p.n; i++)
            if (p.ready[i]) {
                p.ready[i] = s_serve(b, &p, i);
                more |= p.ready[i];
            }
        s_timers(b);
        more |= s_check_sent(b, &p);
        now = bus_mono_ms();
        int64_t next = b->hb_at < b->next_deadline ? b->hb_at : b->next_deadline;
        int wait = more || next <= now ? 0 : next - now > INT_MAX ? INT_MAX : (int)(next - now);
        if (poll(p.fds, (nfds_t)p.n, wait) < 0) {
            if (errno != EINTR)
                return ES_INTERNAL;
            continue;
        }
        if (opts->stop_fd >= 0 && (p.fds[0].revents & POLLIN))
            return 0;
        for (int i = 1; i < p.n; i++)
            if (p.fds[i].revents & (POLLIN | POLLERR | POLLHUP))
                p.ready[i] = 1;
    }
}

int broker_run(const broker_opts_t *opts)
{
    if (opts == NULL)
        return ES_INVALID_ARGUMENT;
    broker_t *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return ES_RESOURCE_EXHAUSTED;
    b->o = opts;
    b->hb = opts->heartbeat_ms ? opts->heartbeat_ms : BUS_HEARTBEAT_MS;
    b->def_timeout = opts->default_timeout_ms ? opts->default_timeout_ms : BUS_DEFAULT_TIMEOUT_MS;
    b->admit_ms = opts->admit_ms ? opts->admit_ms : BROKER_ADMIT_MS;
    b->conn_pending = opts->conn_pending ? opts->conn_pending : BROKER_CONN_PENDING;
    b->gateway_pending = opts->gateway_pending ? opts->gateway_pending : BROKER_GATEWAY_PENDING;
    b->max_timeout = opts->max_timeout_ms ? opts->max_timeout_ms : BROKER_MAX_TIMEOUT_MS;
    if (b->max_timeout > BUS_MAX_TIMEOUT_MS)
        b->max_timeout = BUS_MAX_TIMEOUT_MS;
    b->auth_method = BUS_SESSION_METHOD;
    b->next_ticket = 1;
    b->next_deadline = INT64_MAX;
    int rc = s_open(b);
    if (rc != 0) {
        log_error("broker", "start.failed", "error=%s", es_status_name(rc));
        goto done;
    }
    char q[80];
    log_info("broker", "started", "heartbeat_ms=%u session_service=%s", b->hb,
             b->session_service ? log_quote(b->session_service, q, sizeof(q)) : "-");
    if (opts->ready_fd >= 0) {
        char one = 1;
        if (write(opts->ready_fd, &one, 1) != 1)
            log_warn("broker", "ready_fd.failed", "%s", "");
    }
    rc = s_loop(b);
    log_info("broker", "stopped",
             "dropped=%llu refused=%llu conn_refused=%llu events_forwarded=%llu "
             "events_dropped=%llu",
             (unsigned long long)b->dropped, (unsigned long long)b->refused,
             (unsigned long long)b->conn_refused,
             (unsigned long long)b->ev_forwarded, (unsigned long long)b->ev_dropped);
done:
    s_teardown(b);
    free(b);
    return rc;
}
