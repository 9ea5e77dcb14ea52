/* test_config.c - espace/config.c: defaults, config file, flags, derived
 * endpoints, folders. config.c belongs to the espace executable (not a
 * library), so it is compiled into this test directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "espace/config.h"
#include "proto/status.h"
#include "test/harness/tmpdir.h"

static char s_dir[64];

static int s_setup(void **state)
{
    (void)state;
    return h_mkdtemp(s_dir, "es-config-");
}

static int s_teardown(void **state)
{
    (void)state;
    return h_rmtree(s_dir);
}

static void test_defaults(void **state)
{
    (void)state;
    espace_config_t c;
    char err[CONFIG_ERR_MAX];
    config_defaults(&c);
    assert_string_equal(c.data_dir, "./espace-data");
    assert_string_equal(c.tcp_host, "127.0.0.1");
    assert_int_equal(c.req_port, 5570);
    assert_int_equal(c.pub_port, 5571);
    assert_int_equal(c.sub_port, 5572);
    assert_int_equal(c.heartbeat_ms, 1000);
    assert_int_equal(c.no_sync, 0);
    assert_int_equal(c.tcp, 1);
    assert_int_equal(config_finish(&c, err), 0);
    assert_string_equal(c.req_ipc, "ipc://./espace-data/run/bus.ipc");
    assert_string_equal(c.pub_ipc, "ipc://./espace-data/run/events-in.ipc");
    assert_string_equal(c.sub_ipc, "ipc://./espace-data/run/events-out.ipc");
    assert_string_equal(c.req_tcp, "tcp://127.0.0.1:5570");
}

static void test_file(void **state)
{
    (void)state;
    espace_config_t c;
    char err[CONFIG_ERR_MAX] = "";
    config_defaults(&c);
    const char *p = h_write_file(s_dir, "ok.conf", "# comment\n\n  data_dir = /srv/x#y  \nreq_port=6000\n"
                                       "no_sync = true\nlog_level = debug\ntcp = false\n");
    assert_int_equal(config_load_file(&c, p, err), 0);
    assert_string_equal(c.data_dir, "/srv/x#y"); /* '#' inside a value is kept */
    assert_int_equal(c.req_port, 6000);
    assert_int_equal(c.no_sync, 1);
    assert_int_equal(c.log_level, 0);
    assert_int_equal(c.tcp, 0);
    assert_string_equal(c.config_file, p);

    p = h_write_file(s_dir, "unknown.conf", "req_port = 1\n# x\nfoo = bar\n");
    assert_int_equal(config_load_file(&c, p, err), ES_INVALID_ARGUMENT);
    assert_non_null(strstr(err, ":3: unknown key 'foo'"));
    p = h_write_file(s_dir, "badval.conf", "req_port = 70000\n");
    assert_int_equal(config_load_file(&c, p, err), ES_INVALID_ARGUMENT);
    assert_non_null(strstr(err, ":1: bad value for req_port"));
    p = h_write_file(s_dir, "noeq.conf", "\n\nreq_port 5\n");
    assert_int_equal(config_load_file(&c, p, err), ES_INVALID_ARGUMENT);
    assert_non_null(strstr(err, ":3: expected key = value"));
    p = h_write_file(s_dir, "neg.conf", "heartbeat_ms = -5\n");
    assert_int_equal(config_load_file(&c, p, err), ES_INVALID_ARGUMENT);
    p = h_write_file(s_dir, "bool.conf", "no_sync = maybe\n");
    assert_int_equal(config_load_file(&c, p, err), ES_INVALID_ARGUMENT);
    p = h_write_file(s_dir, "empty.conf", "data_dir =\n");
    assert_int_equal(config_load_file(&c, p, err), ES_INVALID_ARGUMENT);
    char missing[128];
    snprintf(missing, sizeof missing, "%s/none.conf", s_dir);
    assert_int_equal(config_load_file(&c, missing, err), ES_NOT_FOUND);
}

/* The broker's and the edge's limits: defaults from their constants, set by
 * the file and by flags, out-of-range values refused. */
static void test_limits(void **state)
{
    (void)state;
    espace_config_t c;
    char err[CONFIG_ERR_MAX] = "";
    config_defaults(&c);
    assert_int_equal(c.conn_pending, 256);
    assert_int_equal(c.max_timeout_ms, 60000);
    assert_int_equal(c.edge_unauth_addr_burst, 30);
    assert_int_equal(c.edge_queue_total_mib, 256);
    assert_int_equal(c.edge_max_conns, 10000);
    assert_int_equal(c.edge_ping_s, 20);
    assert_int_equal(c.edge_idle_s, 30);
    const char *p = h_write_file(s_dir, "limits.conf",
                                 "conn_pending = 64\ngateway_pending = 1000\n"
                                 "max_timeout_ms = 30000\nedge_unauth_addr_rate = 5\n"
                                 "edge_unauth_addr_burst = 10\nedge_unauth_rate = 50\n"
                                 "edge_unauth_burst = 200\nedge_queue_total_mib = 64\n"
                                 "edge_max_conns = 19000\nedge_ping_s = 60\nedge_idle_s = 90\n");
    assert_int_equal(config_load_file(&c, p, err), 0);
    assert_int_equal(c.conn_pending, 64);
    assert_int_equal(c.gateway_pending, 1000);
    assert_int_equal(c.max_timeout_ms, 30000);
    assert_int_equal(c.edge_unauth_addr_rate, 5);
    assert_int_equal(c.edge_unauth_addr_burst, 10);
    assert_int_equal(c.edge_unauth_rate, 50);
    assert_int_equal(c.edge_unauth_burst, 200);
    assert_int_equal(c.edge_queue_total_mib, 64);
    assert_int_equal(c.edge_max_conns, 19000);
    assert_int_equal(c.edge_ping_s, 60);
    assert_int_equal(c.edge_idle_s, 90);
    static const char *const bad[] = {"conn_pending = 0\n", "max_timeout_ms = 999\n",
                                      "max_timeout_ms = 600001\n", "edge_unauth_rate = x\n",
                                      "edge_queue_total_mib = 65537\n", "edge_max_conns = 0\n",
                                      "edge_ping_s = 4\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = h_write_file(s_dir, "badlimit.conf", bad[i]);
        assert_int_equal(config_load_file(&c, p, err), ES_INVALID_ARGUMENT);
        assert_non_null(strstr(err, "bad value for"));
    }
    char *argv[] = {"--edge-unauth-addr-rate", "7", "--conn-pending", "9", "--edge-max-conns",
                    "20", "up"};
    int argc = (int)(sizeof argv / sizeof argv[0]);
    assert_int_equal(config_parse_args(&c, &argc, argv, err), 0);
    assert_int_equal(c.edge_unauth_addr_rate, 7);
    assert_int_equal(c.conn_pending, 9);
    assert_int_equal(c.edge_max_conns, 20);
}

static void test_args(void **state)
{
    (void)state;
    espace_config_t c;
    char err[CONFIG_ERR_MAX];
    const char *p = h_write_file(s_dir, "args.conf", "req_port = 6000\npub_port = 6001\n");
    char conf[128];
    snprintf(conf, sizeof conf, "%s", p);
    char *argv[] = {"--req-port", "7000", "admin", "--config", conf, "keys", "--no-tcp",
                    "list", "--data", "/tmp/d", "--no-sync", "--broker", "tcp://h:1",
                    "--broker-key", "K", "--key", "/k"};
    int argc = (int)(sizeof argv / sizeof argv[0]);
    assert_int_equal(config_parse_args(&c, &argc, argv, err), 0);
    assert_int_equal(argc, 3);
    assert_string_equal(argv[0], "admin");
    assert_string_equal(argv[1], "keys");
    assert_string_equal(argv[2], "list");
    assert_int_equal(c.req_port, 7000); /* flag beats file */
    assert_int_equal(c.pub_port, 6001); /* file beats default */
    assert_int_equal(c.tcp, 0);
    assert_int_equal(c.no_sync, 1);
    assert_string_equal(c.data_dir, "/tmp/d");
    assert_string_equal(c.run_dir, "/tmp/d/run");
    assert_string_equal(c.broker, "tcp://h:1");
    assert_string_equal(c.broker_key, "K");
    assert_string_equal(c.key_file, "/k");

    char *bad1[] = {"up", "--req-port"};
    argc = 2;
    assert_int_equal(config_parse_args(&c, &argc, bad1, err), ES_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "--req-port needs a value"));
    char *bad2[] = {"--req-port", "abc", "up"};
    argc = 3;
    assert_int_equal(config_parse_args(&c, &argc, bad2, err), ES_INVALID_ARGUMENT);
    char *bad3[] = {"--config", "/nonexistent/espace.conf", "up"};
    argc = 3;
    assert_int_equal(config_parse_args(&c, &argc, bad3, err), ES_INVALID_ARGUMENT);
    /* a data folder too long for a Unix socket path */
    char longdir[300];
    memset(longdir, 'a', sizeof longdir - 1);
    longdir[0] = '/';
    longdir[sizeof longdir - 1] = '\0';
    char *bad4[] = {"--data", longdir, "up"};
    argc = 3;
    assert_int_equal(config_parse_args(&c, &argc, bad4, err), ES_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "too long"));
}

static void test_make_dirs(void **state)
{
    (void)state;
    espace_config_t c;
    char err[CONFIG_ERR_MAX];
    struct stat st;
    config_defaults(&c);
    snprintf(c.data_dir, sizeof c.data_dir, "%s/data", s_dir);
    assert_int_equal(config_finish(&c, err), 0);
    assert_int_equal(config_make_dirs(&c, err), 0);
    assert_int_equal(stat(c.run_dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(chmod(c.run_dir, 0755), 0);
    assert_int_equal(config_make_dirs(&c, err), 0); /* existing: mode enforced */
    assert_int_equal(stat(c.run_dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(c.data_dir, sizeof c.data_dir, "/nonexistent/x/y");
    assert_int_equal(config_finish(&c, err), 0);
    assert_int_equal(config_make_dirs(&c, err), ES_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_make_dirs),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
