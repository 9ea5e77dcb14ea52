/*
 * edge_harness.c - test program: broker + identity + consent + agenda +
 * messaging + edge in one process (threads), on a temporary data folder under /tmp, ipc
 * endpoints, and a free loopback port. Used by the protocol tests (test/edge/NAME.test.mjs) and
 * the browser tests.
 *
 *   edge_harness [--tls] [--web-root DIR] [--rate N] [--burst N]
 *                [--max-message N] [--max-conns N] [--queue N] [--inflight N]
 *                [--max-bad N] [--port N] [--revalidate-s N] [--no-events]
 *                [--unauth-addr-rate N] [--unauth-addr-burst N]
 *                [--unauth-rate N] [--unauth-burst N]
 *                [--queue-bytes N] [--queue-total N]
 * (the edge_opts_t limits of the same names, edge.h)
 *
 * --no-events leaves the edge without its events endpoint (no live events,
 * no "identity.session.revoked"): only revalidation (--revalidate-s) can
 * then close a revoked session's connections.
 *
 * Prints "port=<n>" (and "tls=1" with --tls) on stdout once everything
 * serves, then reads commands on stdin, one per line:
 *   pub <topic> <text>   publish an event on <topic> whose body is a
 *                        espace.v1.Status{message: <text>}
 *                        answers "ok" or "error"
 *   grant <patient_id> <rpps>
 *                        consent Grant, as the patient (a local Caller frame
 *                        {PRINCIPAL_PATIENT, patient_id}): AGENDA read+write
 *                        for professional <rpps>, purpose soins, no end;
 *                        answers "ok <grant id hex>" or "error <CODE_...>"
 *   grant-msg <patient_id> <rpps>
 *                        the same for MESSAGING write (a professional may
 *                        start a conversation with the patient)
 *   as-pro-msg <rpps> <device hex> <Method> <request base64>
 *                        messaging <Method> as professional <rpps> on device
 *                        <device hex> (32 hex; a local Caller frame with that
 *                        device_id): the request is the base64 of the
 *                        method's <Method>Request bytes (empty: "-");
 *                        answers "ok <reply base64>" (or "ok -" when empty)
 *                        or "error <CODE_...>". A line is at most 512 KiB:
 *                        upload pieces of 128 KiB fit. The browser tests act
 *                        as the professional's software through it.
 *   dir                  answers "ok <data folder>" (tests look for
 *                        plaintext in its files)
 *   as-pro-create <patient_id> <rpps> <start_ms> <end_ms> <title...>
 *                        agenda Create as professional <rpps> (local Caller
 *                        frame {PRINCIPAL_PROFESSIONAL, rpps}): a booked
 *                        rendez-vous; the title is the rest of the line;
 *                        answers "ok <event id hex>" or "error <CODE_...>"
 *   activation <ins>     identity IssueActivationCode as the operator:
 *                        answers "ok <code>" or "error <CODE_...>"
 *   create-pro <rpps> <password>
 *                        identity CreateProfessional as the operator
 *                        (Dupont Claire, Médecin): "ok" or "error <CODE_...>"
 *   pro-login <rpps> <password> [<address>]
 *                        identity Login with that RPPS, as the
 *                        professional's software does over the API (an
 *                        anonymous local Caller frame); with <address>, the
 *                        Caller carries it as source_address, as the edge
 *                        stamps it: the log-in then comes "through a
 *                        gateway". Answers "ok <principal>" or
 *                        "error <CODE_...>"
 * (ipc peers are PEER_LOCAL: the broker honours the Caller frame they send,
 * docs/protocol.md). Stops on SIGTERM/SIGINT or stdin
 * EOF, removes its folder and exits 0 (1 if a part failed).
 *
 * Passwords are hashed at the "min" cost (ESPACE_PWHASH=min) unless the
 * environment says otherwise: tests only.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <zmq.h>

#include "services/agenda/agenda.h"
#include "espace/v1/agenda.pb-c.h"
#include "broker/broker.h"
#include "bus/bus.h"
#include "bus/codec.h"
#include "services/consent/consent.h"
#include "espace/v1/consent.pb-c.h"
#include "espace/v1/messaging.pb-c.h"
#include "proto/names.h"
#include "services/edge/edge.h"
#include "espace/v1/identity.pb-c.h"
#include "services/identity/identity.h"
#include "services/messaging/messaging.h"
#include "process/log.h"
#include "runtime/service.h"
#include "proto/status.h"
#include "process/stop.h"

#define LINE_MAX_BYTES (512 * 1024) /* a command line (as-pro-msg carries base64) */

typedef struct part {
    pthread_t th;
    int started;
    int rc;
    int ready[2];
} part_t;

static char g_dir[64];
static char g_req[160], g_pub[160], g_sub[160];
static broker_opts_t g_bo;
static svc_opts_t g_so, g_co, g_ao, g_mo;
static edge_opts_t g_eo;
static part_t g_broker, g_identity, g_consent, g_agenda, g_messaging, g_edge;
static int g_port;

static void *s_broker_main(void *arg)
{
    part_t *p = arg;
    p->rc = broker_run(&g_bo);
    if (write(p->ready[1], "x", 1) != 1)
        abort();
    return NULL;
}

static void *s_identity_main(void *arg)
{
    part_t *p = arg;
    p->rc = svc_run(&identity_service, &g_so);
    if (write(p->ready[1], "x", 1) != 1)
        abort();
    return NULL;
}

static void *s_consent_main(void *arg)
{
    part_t *p = arg;
    p->rc = svc_run(&consent_service, &g_co);
    if (write(p->ready[1], "x", 1) != 1)
        abort();
    return NULL;
}

static void *s_agenda_main(void *arg)
{
    part_t *p = arg;
    p->rc = svc_run(&agenda_service, &g_ao);
    if (write(p->ready[1], "x", 1) != 1)
        abort();
    return NULL;
}

static void *s_messaging_main(void *arg)
{
    part_t *p = arg;
    p->rc = svc_run(&messaging_service, &g_mo);
    if (write(p->ready[1], "x", 1) != 1)
        abort();
    return NULL;
}

static void *s_edge_main(void *arg)
{
    part_t *p = arg;
    p->rc = edge_run(&g_eo);
    if (write(p->ready[1], "x", 1) != 1)
        abort();
    return NULL;
}

/* Start a part and wait for its ready byte ('x' = it returned instead). */
static int s_start(part_t *p, void *(*fn)(void *), int *ready_fd)
{
    if (pipe(p->ready) != 0)
        return -1;
    *ready_fd = p->ready[1];
    if (pthread_create(&p->th, NULL, fn, p) != 0)
        return -1;
    p->started = 1;
    char c = 0;
    if (read(p->ready[0], &c, 1) != 1 || c == 'x')
        return -1;
    return 0;
}

static void s_join(part_t *p)
{
    if (!p->started)
        return;
    pthread_join(p->th, NULL);
    close(p->ready[0]);
    close(p->ready[1]);
    p->started = 0;
}

static void s_write_index(const char *root)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/index.html", root);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return;
    fputs("<!doctype html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">"
          "<title>espace</title></head><body><p>espace</p></body></html>\n",
          f);
    fclose(f);
}

static unsigned s_num(const char *s)
{
    char *end = NULL;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || *end != '\0' || v > 100000000UL) {
        fprintf(stderr, "bad number %s\n", s);
        exit(2);
    }
    return (unsigned)v;
}

static void s_hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Print "error <CODE_NAME>" for a negative es_status. */
static void s_print_error(int rc)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&espace__v1__code__descriptor, -rc);
    printf("error %s\n", v ? v->name : "CODE_UNKNOWN");
}

/* Call until the agenda/consent worker is registered (UNAVAILABLE at first). */
static int s_call(bus_client_t *c, const char *service, const char *method,
                  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rdesc,
                  const Espace__V1__Caller *caller, ProtobufCMessage **out)
{
    int rc = ES_UNAVAILABLE;
    for (int i = 0; i < 100 && !stop_requested(); i++) {
        rc = bus_call(c, service, method, req, rdesc, 5000, caller, out, NULL);
        if (rc != ES_UNAVAILABLE)
            break;
        struct timespec ts = {0, 50L * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return rc;
}

/* grant <patient_id> <rpps> (AGENDA read and write), grant-msg (MESSAGING write) */
static void s_cmd_grant(bus_client_t *c, char *patient, char *rpps, int messaging)
{
    Espace__V1__Caller who = ESPACE__V1__CALLER__INIT;
    who.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
    who.principal = patient;
    who.peer_role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
    Espace__V1__Scope read = ESPACE__V1__SCOPE__INIT, write = ESPACE__V1__SCOPE__INIT;
    read.category = write.category = ESPACE__V1__CATEGORY__CATEGORY_AGENDA;
    read.action = ESPACE__V1__ACTION__ACTION_READ;
    write.action = ESPACE__V1__ACTION__ACTION_WRITE;
    Espace__V1__Scope *scopes[2] = {&read, &write};
    Espace__V1__GrantRequest req = ESPACE__V1__GRANT_REQUEST__INIT;
    req.patient_id = patient;
    req.grantee_kind = ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL;
    req.grantee_id = rpps;
    req.n_scopes = 2;
    req.scopes = scopes;
    if (messaging) {
        write.category = ESPACE__V1__CATEGORY__CATEGORY_MESSAGING;
        scopes[0] = &write;
        req.n_scopes = 1;
    }
    req.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    ProtobufCMessage *out = NULL;
    int rc = s_call(c, "consent", "Grant", &req.base, &espace__v1__grant_reply__descriptor, &who,
                    &out);
    Espace__V1__GrantReply *rep = (Espace__V1__GrantReply *)out;
    if (rc == 0 && rep != NULL && rep->grant != NULL && rep->grant->id.len <= 32) {
        char idhex[65];
        s_hex(rep->grant->id.data, rep->grant->id.len, idhex);
        printf("ok %s\n", idhex);
    } else {
        s_print_error(rc == 0 ? ES_INTERNAL : rc);
    }
    codec_free(out);
}

/* as-pro-create <patient_id> <rpps> <start_ms> <end_ms> <title...> */
static void s_cmd_pro_create(bus_client_t *c, char *patient, char *rpps, long long start,
                             long long end, char *title)
{
    Espace__V1__Caller who = ESPACE__V1__CALLER__INIT;
    who.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL;
    who.principal = rpps;
    who.peer_role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
    Espace__V1__AgendaParticipant pro = ESPACE__V1__AGENDA_PARTICIPANT__INIT;
    pro.actor_type = ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PROFESSIONAL;
    pro.actor_id = rpps;
    pro.role = (char *)"PPRF";
    Espace__V1__AgendaParticipant *parts[1] = {&pro};
    Espace__V1__AgendaEvent ev = ESPACE__V1__AGENDA_EVENT__INIT;
    ev.kind = ESPACE__V1__AGENDA_KIND__AGENDA_KIND_RDV;
    ev.status = ESPACE__V1__AGENDA_STATUS__AGENDA_STATUS_BOOKED;
    ev.title = title;
    ev.start_ms = start;
    ev.end_ms = end;
    ev.n_participants = 1;
    ev.participants = parts;
    Espace__V1__AgendaCreateRequest req = ESPACE__V1__AGENDA_CREATE_REQUEST__INIT;
    req.patient_id = patient;
    req.event = &ev;
    ProtobufCMessage *out = NULL;
    int rc = s_call(c, SERVICE_AGENDA, "Create", &req.base,
                    &espace__v1__agenda_create_reply__descriptor, &who, &out);
    Espace__V1__AgendaCreateReply *rep = (Espace__V1__AgendaCreateReply *)out;
    if (rc == 0 && rep != NULL && rep->event != NULL && rep->event->id.len <= 32) {
        char idhex[65];
        s_hex(rep->event->id.data, rep->event->id.len, idhex);
        printf("ok %s\n", idhex);
    } else {
        s_print_error(rc == 0 ? ES_INTERNAL : rc);
    }
    codec_free(out);
}

/* as-pro-msg <rpps> <device hex> <Method> <request base64> */
static void s_cmd_pro_msg(bus_client_t *c, char *rpps, char *dev_hex, char *method, char *b64)
{
    static uint8_t bin[LINE_MAX_BYTES];
    uint8_t dev[16];
    size_t dev_len = 0, bin_len = 0;
    ProtobufCMessage *req = NULL, *out = NULL;
    const ProtobufCMethodDescriptor *m =
        protobuf_c_service_descriptor_get_method_by_name(&espace__v1__messaging__descriptor, method);
    if (m == NULL || sodium_hex2bin(dev, sizeof(dev), dev_hex, strlen(dev_hex), NULL, &dev_len,
                                    NULL) != 0 || dev_len != sizeof(dev) ||
        (strcmp(b64, "-") != 0 &&
         sodium_base642bin(bin, sizeof(bin), b64, strlen(b64), NULL, &bin_len, NULL,
                           sodium_base64_VARIANT_ORIGINAL) != 0)) {
        printf("error CODE_INVALID_ARGUMENT\n");
        return;
    }
    req = protobuf_c_message_unpack(m->input, NULL, bin_len, bin);
    if (req == NULL) {
        printf("error CODE_INVALID_ARGUMENT\n");
        return;
    }
    Espace__V1__Caller who = ESPACE__V1__CALLER__INIT;
    who.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL;
    who.principal = rpps;
    who.peer_role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
    who.device_id.data = dev;
    who.device_id.len = sizeof(dev);
    int rc = s_call(c, SERVICE_MESSAGING, method, req, m->output, &who, &out);
    if (rc == 0 && out != NULL) {
        size_t n = protobuf_c_message_get_packed_size(out);
        static char text[sodium_base64_ENCODED_LEN(LINE_MAX_BYTES, sodium_base64_VARIANT_ORIGINAL)];
        if (n <= sizeof(bin)) {
            protobuf_c_message_pack(out, bin);
            sodium_bin2base64(text, sizeof(text), bin, n, sodium_base64_VARIANT_ORIGINAL);
            printf("ok %s\n", n ? text : "-");
        } else {
            s_print_error(ES_INTERNAL);
        }
    } else {
        s_print_error(rc == 0 ? ES_INTERNAL : rc);
    }
    codec_free(out);
    protobuf_c_message_free_unpacked(req, NULL);
}

/* activation <ins> */
static void s_cmd_activation(bus_client_t *c, char *ins)
{
    Espace__V1__Caller who = ESPACE__V1__CALLER__INIT;
    who.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR;
    who.principal = (char *)"operator";
    who.peer_role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
    Espace__V1__IssueActivationCodeRequest req = ESPACE__V1__ISSUE_ACTIVATION_CODE_REQUEST__INIT;
    req.ins = ins;
    ProtobufCMessage *out = NULL;
    int rc = s_call(c, SERVICE_IDENTITY, "IssueActivationCode", &req.base,
                    &espace__v1__issue_activation_code_reply__descriptor, &who, &out);
    Espace__V1__IssueActivationCodeReply *rep = (Espace__V1__IssueActivationCodeReply *)out;
    if (rc == 0 && rep != NULL)
        printf("ok %s\n", rep->code);
    else
        s_print_error(rc == 0 ? ES_INTERNAL : rc);
    codec_free(out);
}

/* create-pro <rpps> <password> */
static void s_cmd_create_pro(bus_client_t *c, char *rpps, char *password)
{
    Espace__V1__Caller who = ESPACE__V1__CALLER__INIT;
    who.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR;
    who.principal = (char *)"operator";
    who.peer_role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
    Espace__V1__CreateProfessionalRequest req = ESPACE__V1__CREATE_PROFESSIONAL_REQUEST__INIT;
    req.rpps = rpps;
    req.last_name = (char *)"Dupont";
    req.first_name = (char *)"Claire";
    req.profession = (char *)"Médecin";
    req.password = password;
    ProtobufCMessage *out = NULL;
    int rc = s_call(c, SERVICE_IDENTITY, "CreateProfessional", &req.base,
                    &espace__v1__create_professional_reply__descriptor, &who, &out);
    if (rc == 0)
        printf("ok\n");
    else
        s_print_error(rc);
    codec_free(out);
}

/* pro-login <rpps> <password> [<address>] */
static void s_cmd_pro_login(bus_client_t *c, char *rpps, char *password, char *address)
{
    Espace__V1__Caller who = ESPACE__V1__CALLER__INIT;
    who.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE;
    who.peer_role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
    who.source_address = address;
    Espace__V1__LoginRequest req = ESPACE__V1__LOGIN_REQUEST__INIT;
    req.who_case = ESPACE__V1__LOGIN_REQUEST__WHO_RPPS;
    req.rpps = rpps;
    req.password = password;
    req.device_name = (char *)"harness";
    ProtobufCMessage *out = NULL;
    int rc = s_call(c, SERVICE_IDENTITY, "Login", &req.base, &espace__v1__login_reply__descriptor,
                    &who, &out);
    Espace__V1__LoginReply *rep = (Espace__V1__LoginReply *)out;
    if (rc == 0 && rep != NULL && rep->caller != NULL && rep->caller->principal != NULL)
        printf("ok %s\n", rep->caller->principal);
    else
        s_print_error(rc == 0 ? ES_INTERNAL : rc);
    codec_free(out);
}

/* One command line (NUL-terminated, modified in place). */
static void s_command(bus_pub_t *pub, bus_client_t *cli, char *line)
{
    char topic[BUS_MAX_TOPIC + 1], a[65], b[65], m[65];
    long long start = 0, end = 0;
    int off = 0, n = 0;
    if (sscanf(line, "pub %255s %n", topic, &off) == 1 && pub != NULL) {
        Espace__V1__Status st = ESPACE__V1__STATUS__INIT;
        st.message = line + off;
        int rc = bus_publish(pub, topic, &st.base);
        printf("%s\n", rc == 0 ? "ok" : "error");
    } else if (strcmp(line, "dir") == 0) {
        printf("ok %s\n", g_dir);
    } else if (sscanf(line, "as-pro-msg %64s %64s %64s %n", a, b, m, &off) == 3 && off > 0 &&
               line[off] != '\0' && cli != NULL) {
        s_cmd_pro_msg(cli, a, b, m, line + off);
    } else if (sscanf(line, "grant-msg %64s %64s", a, b) == 2 && cli != NULL) {
        s_cmd_grant(cli, a, b, 1);
    } else if (sscanf(line, "create-pro %64s %64s", a, b) == 2 && cli != NULL) {
        s_cmd_create_pro(cli, a, b);
    } else if ((n = sscanf(line, "pro-login %64s %64s %64s", a, b, m)) >= 2 && cli != NULL) {
        s_cmd_pro_login(cli, a, b, n == 3 ? m : NULL);
    } else if (sscanf(line, "activation %64s", a) == 1 && cli != NULL) {
        s_cmd_activation(cli, a);
    } else if (sscanf(line, "grant %64s %64s", a, b) == 2 && cli != NULL) {
        s_cmd_grant(cli, a, b, 0);
    } else if (sscanf(line, "as-pro-create %64s %64s %lld %lld %n", a, b, &start, &end, &off) == 4 &&
               off > 0 && line[off] != '\0' && cli != NULL) {
        s_cmd_pro_create(cli, a, b, start, end, line + off);
    } else {
        printf("error\n");
    }
    fflush(stdout);
}

/* Commands on stdin until EOF or a stop; 0 on EOF. */
static void s_commands(void)
{
    void *zctx = zmq_ctx_new();
    bus_conn_t pc;
    memset(&pc, 0, sizeof(pc));
    pc.endpoint = g_pub;
    bus_pub_t *pub = NULL;
    if (zctx == NULL || bus_pub_new(zctx, &pc, &pub) != 0) {
        fprintf(stderr, "publisher failed\n");
        stop_request();
    }
    bus_conn_t cc;
    memset(&cc, 0, sizeof(cc));
    cc.endpoint = g_req;
    bus_client_t *cli = NULL;
    if (zctx != NULL && bus_client_new(zctx, &cc, &cli) != 0) {
        fprintf(stderr, "bus client failed\n");
        stop_request();
    }
    static char line[LINE_MAX_BYTES];
    size_t have = 0;
    while (!stop_requested()) {
        struct pollfd fds[2] = {{0, POLLIN, 0}, {stop_fd(), POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            break;
        if (!fds[0].revents)
            continue;
        ssize_t n = read(0, line + have, sizeof(line) - 1 - have);
        if (n <= 0)
            break; /* EOF */
        have += (size_t)n;
        line[have] = '\0';
        char *nl;
        while ((nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
            s_command(pub, cli, line);
            size_t used = (size_t)(nl + 1 - line);
            memmove(line, nl + 1, have - used + 1);
            have -= used;
        }
        if (have == sizeof(line) - 1)
            have = 0; /* an over-long line is dropped */
    }
    bus_client_destroy(&cli);
    bus_pub_destroy(&pub);
    if (zctx)
        zmq_ctx_term(zctx);
}

int main(int argc, char **argv)
{
    int tls = 0, rc = 1, no_events = 0;
    const char *web_root = NULL;
    char www[128], cert[128], key[128];
    setenv("ESPACE_PWHASH", getenv("ESPACE_PWHASH") ? getenv("ESPACE_PWHASH") : "min", 1);
    if (stop_install() != 0)
        return 1;
    edge_opts_default(&g_eo);
    g_eo.port = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--tls")) {
            tls = 1;
            continue;
        }
        if (!strcmp(a, "--no-events")) {
            no_events = 1;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "usage: see edge_harness.c\n");
            return 2;
        }
        i++;
        if (!strcmp(a, "--web-root"))
            web_root = v;
        else if (!strcmp(a, "--rate"))
            g_eo.rate_per_s = s_num(v);
        else if (!strcmp(a, "--burst"))
            g_eo.rate_burst = s_num(v);
        else if (!strcmp(a, "--max-message"))
            g_eo.max_message = s_num(v);
        else if (!strcmp(a, "--max-conns"))
            g_eo.max_conns = s_num(v);
        else if (!strcmp(a, "--queue"))
            g_eo.queue_msgs = s_num(v);
        else if (!strcmp(a, "--inflight"))
            g_eo.max_inflight = s_num(v);
        else if (!strcmp(a, "--max-bad"))
            g_eo.max_bad = s_num(v);
        else if (!strcmp(a, "--port"))
            g_eo.port = (int)s_num(v);
        else if (!strcmp(a, "--revalidate-s"))
            g_eo.revalidate_s = s_num(v);
        else if (!strcmp(a, "--unauth-addr-rate"))
            g_eo.unauth_addr_rate = s_num(v);
        else if (!strcmp(a, "--unauth-addr-burst"))
            g_eo.unauth_addr_burst = s_num(v);
        else if (!strcmp(a, "--unauth-rate"))
            g_eo.unauth_rate = s_num(v);
        else if (!strcmp(a, "--unauth-burst"))
            g_eo.unauth_burst = s_num(v);
        else if (!strcmp(a, "--queue-bytes"))
            g_eo.queue_bytes = s_num(v);
        else if (!strcmp(a, "--queue-total"))
            g_eo.queue_total_bytes = s_num(v);
        else {
            fprintf(stderr, "unknown option %s\n", a);
            return 2;
        }
    }

    snprintf(g_dir, sizeof(g_dir), "/tmp/es_edge_XXXXXX");
    if (mkdtemp(g_dir) == NULL)
        return 1;
    snprintf(g_req, sizeof(g_req), "ipc://%s/run/bus.ipc", g_dir);
    snprintf(g_pub, sizeof(g_pub), "ipc://%s/run/events-in.ipc", g_dir);
    snprintf(g_sub, sizeof(g_sub), "ipc://%s/run/events-out.ipc", g_dir);

    g_bo.data_dir = g_dir;
    g_bo.req_ipc = g_req;
    g_bo.pub_ipc = g_pub;
    g_bo.sub_ipc = g_sub;
    g_bo.stop_fd = stop_fd();
    g_bo.no_sync = 1;
    if (s_start(&g_broker, s_broker_main, &g_bo.ready_fd) != 0) {
        fprintf(stderr, "broker failed\n");
        goto stop;
    }

    g_so.data_dir = g_dir;
    g_so.bus.endpoint = g_req;
    g_so.pub.endpoint = g_pub;
    g_so.stop_fd = stop_fd();
    g_so.no_sync = 1;
    if (s_start(&g_identity, s_identity_main, &g_so.ready_fd) != 0) {
        fprintf(stderr, "identity failed\n");
        goto stop;
    }

    g_co = g_so;
    g_co.ready_fd = -1;
    if (s_start(&g_consent, s_consent_main, &g_co.ready_fd) != 0) {
        fprintf(stderr, "consent failed\n");
        goto stop;
    }
    g_ao = g_so;
    g_ao.ready_fd = -1;
    if (s_start(&g_agenda, s_agenda_main, &g_ao.ready_fd) != 0) {
        fprintf(stderr, "agenda failed\n");
        goto stop;
    }
    g_mo = g_so;
    g_mo.ready_fd = -1;
    if (s_start(&g_messaging, s_messaging_main, &g_mo.ready_fd) != 0) {
        fprintf(stderr, "messaging failed\n");
        goto stop;
    }

    if (web_root == NULL) {
        snprintf(www, sizeof(www), "%s/www", g_dir);
        if (mkdir(www, 0700) != 0)
            goto stop;
        s_write_index(www);
        web_root = www;
    }
    if (tls) {
        snprintf(cert, sizeof(cert), "%s/edge.crt", g_dir);
        snprintf(key, sizeof(key), "%s/edge.key", g_dir);
        if (edge_cert_generate(cert, key, "localhost") != 0) {
            fprintf(stderr, "cert failed\n");
            goto stop;
        }
        g_eo.tls_cert = cert;
        g_eo.tls_key = key;
    }
    g_eo.web_root = web_root;
    g_eo.bus.endpoint = g_req;
    g_eo.events.endpoint = no_events ? NULL : g_sub;
    g_eo.stop_fd = stop_fd();
    g_eo.bound_port = &g_port;
    if (s_start(&g_edge, s_edge_main, &g_eo.ready_fd) != 0) {
        fprintf(stderr, "edge failed\n");
        goto stop;
    }
    printf("port=%d\n", g_port);
    if (tls)
        printf("tls=1\n");
    fflush(stdout);
    s_commands();
    rc = 0;
stop:
    stop_request();
    s_join(&g_edge);
    s_join(&g_messaging);
    s_join(&g_agenda);
    s_join(&g_consent);
    s_join(&g_identity);
    s_join(&g_broker);
    if (g_edge.rc != 0 || g_identity.rc != 0 || g_consent.rc != 0 || g_agenda.rc != 0 ||
        g_messaging.rc != 0 || g_broker.rc != 0) {
        fprintf(stderr,
                "part failed: edge=%d identity=%d consent=%d agenda=%d messaging=%d broker=%d\n",
                g_edge.rc, g_identity.rc, g_consent.rc, g_agenda.rc, g_messaging.rc, g_broker.rc);
        rc = 1;
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", g_dir);
    return rc;
}
