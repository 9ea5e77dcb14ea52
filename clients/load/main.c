/*
 * main.c - espace-load: the load client of espace (docs/benchmarks.md).
 *
 *   espace-load agenda|fanout|connect|pro|relay [options]
 *
 * Exit status: 0 when the run went to its end (the JSON says how well the
 * server did), 1 when it could not run (bad accounts file, no server...),
 * 2 on a usage error, 3 (relay only) when the run went to its end but a
 * message was lost, delivered twice or did not decrypt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/load/report.h"
#include "clients/load/run.h"
#include "proto/status.h"

static const char s_help[] =
    "usage: espace-load SCENARIO [options]\n"
    "scenarios:\n"
    "  agenda    pairs of connections (two devices of one patient); each write is an\n"
    "            agenda Create with a PAYLOAD-byte description on one device, measured\n"
    "            until its live event reaches the other (open loop, --rate per second)\n"
    "  fanout    --conns connections, all devices of the first patient of the accounts\n"
    "            file (its tokens round robin); each write reaches all of them:\n"
    "            server CPU per delivery = CPU / (writes x connections)\n"
    "  connect   open --conns authenticated connections, hold them idle --hold seconds;\n"
    "            with --server-pid: server RSS per connection\n"
    "  pro       --conns professionals' libespace connections (tcp + CURVE, one thread\n"
    "            each) write agenda Creates to their patients (consent-checked) at\n"
    "            --rate per second, open loop; latency = scheduled send -> reply\n"
    "  relay     pairs of devices messaging each other: against espace the two devices\n"
    "            of one patient in the conversation seed started (messaging Send through\n"
    "            the edge, --mode e2e or opaque); --target xmpp: XMPP <message>s over\n"
    "            websockets; latency = scheduled send -> delivery on the other device\n"
    "options:\n"
    "  --target espace|relay|mosquitto|xmpp  server kind (default espace; relay:\n"
    "                          test/bench/relay; mosquitto: MQTT over websockets;\n"
    "                          xmpp: users el<conn>@--domain, password espace-load)\n"
    "  --mode e2e|opaque       relay against espace: X3DH + Double Ratchet per pair\n"
    "                          (default), or random ciphertext bytes (server only)\n"
    "  --domain D              xmpp: the virtual host (default localhost)\n"
    "  --path P                websocket path (default /; Prosody: /xmpp-websocket)\n"
    "  --qos 0|1               mosquitto: QoS of the subscriptions and publishes;\n"
    "                          xmpp: 1 = XEP-0198 acks (stream management)\n"
    "  --broker tcp://H:P      pro: the broker (its tcp request port)\n"
    "  --broker-key Z85        pro: the broker's public key (espace admin keys show)\n"
    "  --host H --port P       websocket server (default 127.0.0.1:8080)\n"
    "  --accounts FILE         accounts file of `espace admin seed` (espace target)\n"
    "  --conns N               connections (default 1000)\n"
    "  --rate N                offered writes per second (default 1000)\n"
    "  --duration S            seconds of sending (default 10)\n"
    "  --drain S               seconds to wait for late deliveries (default 2)\n"
    "  --payload N             description bytes per write (default 256, max 4000)\n"
    "  --connect-rate N        new connections per second (default 500)\n"
    "  --hold S                connect: seconds to hold the connections (default 5)\n"
    "  --server-pid PID        sample the server's CPU and memory from /proc\n"
    "  --source ADDR           local address to connect from (repeat: round robin)\n"
    "  --json FILE             JSON summary into FILE (default stdout; the table then\n"
    "                          goes to stdout, else to stderr)\n"
    "  --quiet                 no progress line\n";

static int s_usage(const char *why)
{
    fprintf(stderr, "espace-load: %s\n%s", why, s_help);
    return 2;
}

/* Parse a number in [lo, hi]: 0, or -1. */
static int s_num(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (!s[0] || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int s_parse(int argc, char **argv, run_opts_t *o)
{
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d = 0;
        if (!strcmp(k, "--quiet")) {
            o->quiet = 1;
            continue;
        }
        if (!v)
            return -1;
        i++;
        if (!strcmp(k, "--target") &&
            (!strcmp(v, "espace") || !strcmp(v, "relay") || !strcmp(v, "mosquitto") ||
             !strcmp(v, "xmpp")))
            o->target = v;
        else if (!strcmp(k, "--mode") && (!strcmp(v, "e2e") || !strcmp(v, "opaque")))
            o->mode = v;
        else if (!strcmp(k, "--domain"))
            o->domain = v;
        else if (!strcmp(k, "--path") && v[0] == '/')
            o->path = v;
        else if (!strcmp(k, "--qos") && s_num(v, 0, 1, &d) == 0)
            o->qos = (int)d;
        else if (!strcmp(k, "--broker"))
            o->broker = v;
        else if (!strcmp(k, "--broker-key"))
            o->broker_key = v;
        else if (!strcmp(k, "--host"))
            o->host = v;
        else if (!strcmp(k, "--port") && s_num(v, 1, 65535, &d) == 0)
            o->port = (int)d;
        else if (!strcmp(k, "--accounts"))
            o->accounts = v;
        else if (!strcmp(k, "--conns") && s_num(v, 1, 1000000, &d) == 0)
            o->conns = (unsigned)d;
        else if (!strcmp(k, "--rate") && s_num(v, 1, 10000000, &d) == 0)
            o->rate = (uint64_t)d;
        else if (!strcmp(k, "--duration") && s_num(v, 0.001, 86400, &d) == 0)
            o->duration_s = d;
        else if (!strcmp(k, "--drain") && s_num(v, 0, 600, &d) == 0)
            o->drain_s = d;
        else if (!strcmp(k, "--payload") && s_num(v, 0, 4000, &d) == 0)
            o->payload = (size_t)d;
        else if (!strcmp(k, "--connect-rate") && s_num(v, 1, 1000000, &d) == 0)
            o->connect_rate = (unsigned)d;
        else if (!strcmp(k, "--hold") && s_num(v, 0, 86400, &d) == 0)
            o->hold_s = d;
        else if (!strcmp(k, "--server-pid") && s_num(v, 1, 4194304, &d) == 0)
            o->server_pid = (pid_t)d;
        else if (!strcmp(k, "--json"))
            o->json_path = v;
        else if (!strcmp(k, "--source") && o->n_sources < RUN_MAX_SOURCES)
            o->sources[o->n_sources++] = v;
        else
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return s_usage("a scenario is needed");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(s_help, stdout);
        return 0;
    }
    static run_t r; /* large: not on the stack */
    r.o = (run_opts_t){.scenario = argv[1], .target = "espace", .host = "127.0.0.1",
                       .port = 8080, .path = "/", .conns = 1000, .rate = 1000,
                       .duration_s = 10, .drain_s = 2, .payload = 256, .connect_rate = 500,
                       .hold_s = 5, .domain = "localhost"};
    const char *sc = r.o.scenario;
    int pro = !strcmp(sc, "pro"), relay = !strcmp(sc, "relay");
    if (strcmp(sc, "agenda") && strcmp(sc, "fanout") && strcmp(sc, "connect") && !pro && !relay)
        return s_usage("unknown scenario");
    if (s_parse(argc, argv, &r.o) < 0)
        return s_usage("bad option");
    int espace = !strcmp(r.o.target, "espace");
    if (espace && !r.o.accounts)
        return s_usage("--accounts FILE is needed against espace (espace admin seed)");
    if (pro && (!espace || !r.o.broker || !r.o.broker_key))
        return s_usage("pro needs --broker, --broker-key and --accounts (target espace)");
    if (!strcmp(r.o.target, "mosquitto") && strcmp(sc, "agenda"))
        return s_usage("--target mosquitto runs the agenda scenario only");
    if (!strcmp(r.o.target, "xmpp") && !relay)
        return s_usage("--target xmpp runs the relay scenario only");
    if (r.o.mode && !(relay && espace))
        return s_usage("--mode is for the relay scenario against espace");
    if (relay && espace && !r.o.mode)
        r.o.mode = "e2e";
    int rc = 1;
    if (espace) {
        int lrc = creds_load(r.o.accounts, &r.creds);
        if (lrc < 0) {
            fprintf(stderr, "espace-load: cannot read %s: %s\n", r.o.accounts,
                    es_status_name(lrc));
            return 1;
        }
    }
    if (hist_new(&r.deliver) < 0 || hist_new(&r.ack) < 0)
        goto out;
    r.t0_ns = run_now_ns();
    int src = pro ? pro_run(&r) : !strcmp(sc, "connect") ? connect_run(&r) : agenda_run(&r);
    if (src < 0)
        goto out;
    if (report_write(&r) < 0) {
        fprintf(stderr, "espace-load: cannot write %s\n", r.o.json_path);
        goto out;
    }
    rc = relay && (r.lost || r.duplicates || r.undecryptable) ? 3 : 0;
out:
    hist_destroy(&r.deliver);
    hist_destroy(&r.ack);
    creds_destroy(&r.creds);
    return rc;
}
