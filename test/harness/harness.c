/* harness.c - the test harness of harness.h. */
#include "test/harness/harness.h"

#include <sodium.h>

#include "bus/codec.h"
#include "proto/names.h"

void h_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int h_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int h_wait_byte(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    char b;
    if (poll(&p, 1, ms) != 1)
        return -1;
    return read(fd, &b, 1) == 1 ? 0 : -1;
}

unsigned h_hb(const harness_t *h)
{
    return h->hb ? h->hb : H_HB;
}

/* ---- threads run with a stop pipe and a ready pipe (broker, services) ---- */

static int h_thread_pipes(h_thread_t *t)
{
    if (pipe(t->stop) != 0)
        return -1;
    if (pipe(t->ready) != 0) {
        close(t->stop[0]);
        close(t->stop[1]);
        return -1;
    }
    return 0;
}

/* Start fn(arg) on t and wait (10 s at most) for its ready byte. 0, or -1
 * (said on stderr with name) if it did not come or fn already returned an
 * error. */
static int h_thread_start(h_thread_t *t, void *(*fn)(void *), void *arg, const char *name)
{
    t->rc = 0;
    if (pthread_create(&t->th, NULL, fn, arg) != 0)
        return -1;
    t->running = 1;
    if (h_wait_byte(t->ready[0], 10000) != 0 || t->rc != 0) {
        fprintf(stderr, "%s did not start (rc=%d)\n", name, t->rc);
        return -1;
    }
    return 0;
}

/* Ask t to stop, join it and close its pipes. Its rc (0 if not running). */
static int h_thread_stop(h_thread_t *t)
{
    if (!t->running)
        return 0;
    if (write(t->stop[1], "x", 1) != 1)
        abort();
    pthread_join(t->th, NULL);
    t->running = 0;
    for (int i = 0; i < 2; i++) {
        close(t->stop[i]);
        close(t->ready[i]);
    }
    return t->rc;
}

static void *h_broker_main(void *arg)
{
    harness_t *h = arg;
    h->run.rc = broker_run(&h->o);
    return NULL;
}

int h_broker_start(harness_t *h)
{
    if (h_thread_pipes(&h->run) != 0)
        return -1;
    const char *session = h->o.session_service; /* a test may name another */
    unsigned admit_ms = h->o.admit_ms;          /* ... and an admission window */
    unsigned max_timeout_ms = h->o.max_timeout_ms; /* ... and a longest deadline */
    memset(&h->o, 0, sizeof(h->o));
    h->o.session_service = session ? session : SERVICE_IDENTITY;
    h->o.admit_ms = admit_ms;
    h->o.max_timeout_ms = max_timeout_ms;
    h->o.data_dir = h->dir;
    h->o.req_ipc = h->req_ipc;
    h->o.pub_ipc = h->pub_ipc;
    h->o.sub_ipc = h->sub_ipc;
    if (h->tcp) {
        h->o.req_tcp = h->req_tcp;
        h->o.pub_tcp = h->pub_tcp;
        h->o.sub_tcp = h->sub_tcp;
    }
    h->o.heartbeat_ms = h_hb(h);
    h->o.stop_fd = h->run.stop[0];
    h->o.ready_fd = h->run.ready[1];
    h->o.no_sync = 1;
    return h_thread_start(&h->run, h_broker_main, h, "broker");
}

int h_broker_stop(harness_t *h)
{
    return h_thread_stop(&h->run);
}

int h_broker_store_open(const harness_t *h, store_t **out)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/broker", h->dir);
    store_opts_t so;
    memset(&so, 0, sizeof(so));
    so.tables = keys_tables;
    so.no_sync = 1;
    return store_open(path, &so, out);
}

int h_key_add(harness_t *h, const uint8_t pub[32], int role, const char *name)
{
    store_t *s = NULL;
    int rc = h_broker_store_open(h, &s);
    if (rc != 0)
        return rc;
    keys_entry_t e;
    memset(&e, 0, sizeof(e));
    memcpy(e.public_key, pub, 32);
    e.role = role;
    snprintf(e.name, sizeof(e.name), "%s", name);
    rc = keys_add(s, &e);
    store_close(&s);
    return rc;
}

int h_setup(harness_t *h, int tcp)
{
    memset(h, 0, sizeof(*h));
    if (h_mkdtemp(h->dir, "es_broker_") != 0)
        return -1;
    snprintf(h->req_ipc, sizeof(h->req_ipc), "ipc://%s/run/bus.ipc", h->dir);
    snprintf(h->pub_ipc, sizeof(h->pub_ipc), "ipc://%s/run/events-in.ipc", h->dir);
    snprintf(h->sub_ipc, sizeof(h->sub_ipc), "ipc://%s/run/events-out.ipc", h->dir);
    h->tcp = tcp;
    if (tcp) {
        snprintf(h->req_tcp, sizeof(h->req_tcp), "tcp://127.0.0.1:%d", h_free_port());
        snprintf(h->pub_tcp, sizeof(h->pub_tcp), "tcp://127.0.0.1:%d", h_free_port());
        snprintf(h->sub_tcp, sizeof(h->sub_tcp), "tcp://127.0.0.1:%d", h_free_port());
    }
    h->ctx = zmq_ctx_new();
    return h->ctx ? 0 : -1;
}

int h_server_key(harness_t *h)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/broker/curve.key", h->dir);
    uint8_t pub[32], sec[32];
    int rc = bus_keypair_load(path, 0, pub, sec);
    if (rc == 0)
        bus_key_z85(pub, h->server_key);
    return rc;
}

int h_teardown(harness_t *h)
{
    int rc = h_broker_stop(h);
    if (h->ctx)
        zmq_ctx_term(h->ctx);
    h->ctx = NULL;
    if (h->dir[0] != '\0' && h_rmtree(h->dir) != 0)
        return -1;
    return rc == 0 ? 0 : -1;
}

bus_conn_t h_ipc(const char *endpoint)
{
    bus_conn_t c;
    memset(&c, 0, sizeof(c));
    c.endpoint = endpoint;
    c.heartbeat_ms = H_HB;
    return c;
}

int h_peer_add(harness_t *h, h_peer_t *p, int role, const char *name)
{
    crypto_box_keypair(p->pub, p->sec);
    return h_key_add(h, p->pub, role, name);
}

int h_tcp_start(harness_t *h)
{
    return h_broker_start(h) == 0 && h_server_key(h) == 0 ? 0 : -1;
}

bus_conn_t h_tcp(const harness_t *h, const char *endpoint, const h_peer_t *p)
{
    bus_conn_t c = h_ipc(endpoint);
    c.server_key = h->server_key;
    c.public_key = p->pub;
    c.secret_key = p->sec;
    return c;
}

int h_event_has(const char *t, const Espace__V1__Event *ev, const char *topic, int64_t mark)
{
    int ok = strcmp(t, topic) == 0 && strcmp(ev->topic, topic) == 0;
    Espace__V1__Period *p = NULL;
    if (ok && codec_decode(&espace__v1__period__descriptor, ev->body.data, ev->body.len, 0,
                           (ProtobufCMessage **)&p, NULL) == 0) {
        ok = p->start_ms == mark;
        codec_free(&p->base);
    }
    return ok;
}

int h_recv_sub(void *sub, int timeout_ms, char topic[BUS_MAX_TOPIC + 1],
               Espace__V1__Event **event)
{
    return bus_sub_recv(sub, timeout_ms, topic, event);
}

int h_recv_client(void *client, int timeout_ms, char topic[BUS_MAX_TOPIC + 1],
                  Espace__V1__Event **event)
{
    return bus_client_recv_event(client, timeout_ms, topic, event);
}

int h_publish_until(bus_pub_t *pub, const char *topic, int64_t mark, h_recv_fn recv, void *from)
{
    Espace__V1__Period body = ESPACE__V1__PERIOD__INIT;
    body.start_ms = mark;
    for (int i = 0; i < 40; i++) {
        if (bus_publish(pub, topic, &body.base) != 0)
            return 0;
        char t[BUS_MAX_TOPIC + 1];
        Espace__V1__Event *ev = NULL;
        while (recv(from, 50, t, &ev) == 0) {
            int ok = h_event_has(t, ev, topic, mark);
            codec_free(&ev->base);
            if (ok)
                return 1;
        }
    }
    return 0;
}

int h_client(harness_t *h, bus_client_t **out)
{
    bus_conn_t c = h_ipc(h->req_ipc);
    return bus_client_new(h->ctx, &c, out);
}

int h_sub(harness_t *h, bus_sub_t **out)
{
    bus_conn_t c = h_ipc(h->sub_ipc);
    return bus_sub_new(h->ctx, &c, out);
}

Espace__V1__Caller h_caller(Espace__V1__PrincipalKind kind, const char *principal)
{
    Espace__V1__Caller c = ESPACE__V1__CALLER__INIT;
    c.kind = kind;
    c.principal = (char *)principal;
    c.peer_role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
    return c;
}

int h_call_served(bus_client_t *c, const char *service, const char *method,
                                const ProtobufCMessage *req,
                                const ProtobufCMessageDescriptor *rdesc, uint32_t timeout_ms,
                                const Espace__V1__Caller *caller, ProtobufCMessage **out,
                                bus_reply_t *r)
{
    int rc = ES_UNAVAILABLE;
    for (int i = 0; i < 200; i++) {
        rc = bus_call(c, service, method, req, rdesc, timeout_ms, caller, out, r);
        if (rc != ES_UNAVAILABLE && rc != ES_DEADLINE_EXCEEDED)
            break;
        h_sleep_ms(25);
    }
    return rc;
}

static void *h_svc_main(void *arg)
{
    h_svc_t *s = arg;
    s->run.rc = svc_run(s->def, &s->o);
    return NULL;
}

int h_svc_start(harness_t *h, h_svc_t *s, const svc_def_t *def)
{
    memset(s, 0, sizeof(*s));
    s->def = def;
    if (h_thread_pipes(&s->run) != 0)
        return -1;
    s->o.data_dir = h->dir;
    s->o.bus.endpoint = h->req_ipc;
    s->o.bus.heartbeat_ms = h_hb(h);
    s->o.pub.endpoint = h->pub_ipc;
    s->o.stop_fd = s->run.stop[0];
    s->o.ready_fd = s->run.ready[1];
    s->o.no_sync = 1;
    return h_thread_start(&s->run, h_svc_main, s, def->name);
}

int h_svc_start_served(harness_t *h, h_svc_t *s, const svc_def_t *def, bus_client_t *c,
                       const char *method, const ProtobufCMessage *req,
                       const ProtobufCMessageDescriptor *rdesc)
{
    if (h_svc_start(h, s, def) != 0)
        return -1;
    Espace__V1__Caller op = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "");
    ProtobufCMessage *rep = NULL;
    int rc = h_call_served(c, def->name, method, req, rdesc, 1000, &op, &rep, NULL);
    codec_free(rep);
    return rc == ES_UNAVAILABLE || rc == ES_DEADLINE_EXCEEDED ? -1 : 0;
}

int h_svc_stop(h_svc_t *s)
{
    return h_thread_stop(&s->run);
}

void tw_answer(bus_worker_t *w, tworker_t *t, bus_request_t *r)
{
    const char *m = r->req->method;
    if (strcmp(m, "echo") == 0) {
        bus_worker_reply(w, r, 0, NULL, NULL, r->req->body.data, r->req->body.len);
    } else if (strcmp(m, "who") == 0) {
        size_t len = espace__v1__caller__get_packed_size(r->caller);
        uint8_t *buf = malloc(len + 1);
        espace__v1__caller__pack(r->caller, buf);
        bus_worker_reply(w, r, 0, NULL, NULL, buf, len);
        free(buf);
    } else if (strcmp(m, "Authenticate") == 0) {
        Espace__V1__AuthenticateRequest *ar = espace__v1__authenticate_request__unpack(
            NULL, r->req->body.len, r->req->body.data);
        if (ar == NULL || strcmp(ar->token, "good") != 0) {
            bus_worker_reply(w, r, ES_UNAUTHENTICATED, "bad token", NULL, NULL, 0);
        } else {
            Espace__V1__Caller c = ESPACE__V1__CALLER__INIT;
            c.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
            c.principal = "0123456789abcdef0123456789abcdef";
            c.session_id.data = t->session_id;
            c.session_id.len = 16;
            c.peer_role = ESPACE__V1__PEER_ROLE__PEER_APP; /* the broker must overwrite it */
            c.peer_key = "forged";
            c.session_expires_ms = bus_wall_ms() + 60000;
            Espace__V1__AuthenticateReply rep = ESPACE__V1__AUTHENTICATE_REPLY__INIT;
            rep.caller = &c;
            uint8_t buf[512];
            size_t len = espace__v1__authenticate_reply__pack(&rep, buf);
            bus_worker_reply(w, r, 0, NULL, NULL, buf, len);
        }
        if (ar)
            espace__v1__authenticate_request__free_unpacked(ar, NULL);
    } else {
        bus_worker_reply(w, r, ES_UNIMPLEMENTED, "unknown method", "method", NULL, 0);
    }
}

/* The worker of t on its service (t->started 1), or NULL (t->started -1). */
static bus_worker_t *tw_open(tworker_t *t)
{
    bus_worker_t *w = NULL;
    if (bus_worker_new(t->ctx, &t->conn, t->service, t->capacity, &w) != 0) {
        t->started = -1;
        return NULL;
    }
    t->started = 1;
    return w;
}

/* Note registration, keep the heartbeat, wait up to 10 ms for requests. */
static void tw_wait(tworker_t *t, bus_worker_t *w)
{
    if (!t->registered && bus_worker_registered(w))
        t->registered = 1;
    int wait = bus_worker_tick(w);
    if (wait > 10)
        wait = 10;
    zmq_pollitem_t it = {bus_worker_socket(w), 0, ZMQ_POLLIN, 0};
    zmq_poll(&it, 1, wait);
}

static void *tw_main(void *arg)
{
    tworker_t *t = arg;
    bus_worker_t *w = tw_open(t);
    if (!w)
        return NULL;
    bus_request_t late[TW_LATE_MAX];
    int64_t late_at[TW_LATE_MAX];
    int nlate = 0;
    while (!t->stop) {
        tw_wait(t, w);
        bus_request_t r;
        while (bus_worker_recv(w, &r) == 0) {
            t->handled++;
            if (t->freeze) {
                bus_request_release(&r);
                while (!t->stop)
                    h_sleep_ms(5);
                break;
            }
            if (strcmp(r.req->method, "late") == 0 && nlate < TW_LATE_MAX) {
                late[nlate] = r;
                late_at[nlate++] = bus_mono_ms() + 400;
                continue;
            }
            tw_answer(w, t, &r);
            bus_request_release(&r);
        }
        for (int i = 0; i < nlate; i++) {
            if (bus_mono_ms() >= late_at[i]) {
                bus_worker_reply(w, &late[i], 0, NULL, NULL, late[i].req->body.data,
                                 late[i].req->body.len);
                bus_request_release(&late[i]);
                late[i] = late[--nlate];
                late_at[i] = late_at[nlate];
                i--;
            }
        }
    }
    for (int i = 0; i < nlate; i++)
        bus_request_release(&late[i]);
    /* a frozen worker has been expired by the broker by now: its DISCONNECT
     * is ignored */
    bus_worker_destroy(&w);
    return NULL;
}

int tw_wait_registered(tworker_t *t, int ms)
{
    for (int i = 0; i < ms / 5 && !t->registered; i++)
        h_sleep_ms(5);
    return t->registered ? 0 : -1;
}

static void tw_init(tworker_t *t, void *ctx, bus_conn_t conn, const char *service,
                    uint32_t capacity)
{
    memset(t, 0, sizeof(*t));
    t->ctx = ctx;
    t->conn = conn;
    t->service = service;
    t->capacity = capacity;
}

/* Run fn on t and wait (1 s at most) until its worker is up. 0 or -1. */
static int tw_launch(tworker_t *t, void *(*fn)(void *))
{
    if (pthread_create(&t->th, NULL, fn, t) != 0)
        return -1;
    for (int i = 0; i < 500 && t->started == 0; i++)
        h_sleep_ms(2);
    return t->started == 1 ? 0 : -1;
}

int tw_start(tworker_t *t, void *ctx, bus_conn_t conn, const char *service,
                           uint32_t capacity, int freeze)
{
    tw_init(t, ctx, conn, service, capacity);
    t->freeze = freeze;
    memset(t->session_id, 0x11, sizeof(t->session_id));
    return tw_launch(t, tw_main);
}

void tw_stop(tworker_t *t)
{
    t->stop = 1;
    pthread_join(t->th, NULL);
}

static void *tw_mute_main(void *arg)
{
    tworker_t *t = arg;
    bus_worker_t *w = tw_open(t);
    if (!w)
        return NULL;
    while (!t->stop) {
        tw_wait(t, w);
        bus_request_t r;
        while (bus_worker_recv(w, &r) == 0) {
            t->handled++;
            bus_request_release(&r); /* the broker keeps it until its deadline */
        }
    }
    bus_worker_destroy(&w);
    return NULL;
}

int tw_start_mute(tworker_t *t, void *ctx, bus_conn_t conn, const char *service,
                  uint32_t capacity)
{
    tw_init(t, ctx, conn, service, capacity);
    return tw_launch(t, tw_mute_main);
}

void *h_raw_dealer(harness_t *h, const char *endpoint, const uint8_t *pub,
                                 const uint8_t *sec, const void *rid, size_t rid_len)
{
    void *s = zmq_socket(h->ctx, ZMQ_DEALER);
    if (s == NULL)
        return NULL;
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    int rc = zmq_setsockopt(s, ZMQ_ROUTING_ID, rid, rid_len);
    if (rc == 0 && pub != NULL) {
        uint8_t server[32];
        rc = zmq_z85_decode(server, h->server_key) != NULL ? 0 : -1;
        if (rc == 0)
            rc = zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, 32);
        if (rc == 0)
            rc = zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 32);
        if (rc == 0)
            rc = zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 32);
    }
    if (rc == 0)
        rc = zmq_connect(s, endpoint);
    if (rc != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

int h_raw_send(void *s, uint8_t cmd, const char *service, uint64_t id,
                             const char *method, const ProtobufCMessage *body)
{
    uint8_t bbuf[1024], rbuf[1200];
    Espace__V1__Request req = ESPACE__V1__REQUEST__INIT;
    req.id = id;
    req.method = (char *)method;
    req.timeout_ms = 1000;
    if (body != NULL) {
        if (protobuf_c_message_get_packed_size(body) > sizeof bbuf)
            return -1;
        req.body.len = protobuf_c_message_pack(body, bbuf);
        req.body.data = bbuf;
    }
    if (protobuf_c_message_get_packed_size(&req.base) > sizeof rbuf)
        return -1;
    size_t len = espace__v1__request__pack(&req, rbuf);
    if (zmq_send(s, BUS_CLIENT_PROTO, 4, ZMQ_SNDMORE) < 0 ||
        zmq_send(s, &cmd, 1, ZMQ_SNDMORE) < 0)
        return -1;
    if (cmd == BUS_C_REQUEST && zmq_send(s, service, strlen(service), ZMQ_SNDMORE) < 0)
        return -1;
    return zmq_send(s, rbuf, len, 0) < 0 ? -1 : 0;
}

Espace__V1__Reply *h_raw_reply(void *s, uint64_t id, int ms)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long left = ms - ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            return NULL;
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, left) <= 0)
            continue;
        zmq_msg_t m[8];
        size_t n = 0;
        int more = 1;
        while (more) {
            zmq_msg_t tmp;
            zmq_msg_init(&tmp);
            if (zmq_msg_recv(&tmp, s, 0) < 0) {
                zmq_msg_close(&tmp);
                break;
            }
            more = zmq_msg_more(&tmp);
            if (n < 8)
                m[n++] = tmp;
            else
                zmq_msg_close(&tmp);
        }
        Espace__V1__Reply *r = NULL;
        if (n == 4 && zmq_msg_size(&m[1]) == 1 &&
            *(const uint8_t *)zmq_msg_data(&m[1]) == BUS_C_REPLY)
            r = espace__v1__reply__unpack(NULL, zmq_msg_size(&m[3]), zmq_msg_data(&m[3]));
        for (size_t i = 0; i < n; i++)
            zmq_msg_close(&m[i]);
        if (r != NULL && r->id == id)
            return r;
        if (r != NULL)
            espace__v1__reply__free_unpacked(r, NULL);
    }
}
