/* admin_cert.c - `espace admin gen-cert`: a self-signed certificate for the
 * edge's TLS (local use). */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "espace/admin_int.h"
#include "services/edge/edge.h"

/* A self-signed certificate for the edge's TLS (local use), by default in
 * <data>/edge: point tls_cert / tls_key at the printed paths. */
int admin_gen_cert(const espace_config_t *cfg, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--cert", CLI_OPTIONAL), CLI_OPT("--key", CLI_OPTIONAL),
                     CLI_OPT("--cn", CLI_OPTIONAL)};
    int rc = admin_options("gen-cert", argc, argv, o, CLI_COUNT(o));
    if (rc)
        return rc;
    char dir[CONFIG_PATH_MAX + 8], cert[CONFIG_PATH_MAX + 32], key[CONFIG_PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/edge", cfg->data_dir);
    const char *cert_path = CLI_VALUE(o, "--cert");
    const char *key_path = CLI_VALUE(o, "--key");
    const char *cn = CLI_VALUE(o, "--cn");
    if (!cert_path || !key_path) {
        if ((mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST) ||
            (mkdir(dir, 0700) < 0 && errno != EEXIST))
            return cli_fail(ES_INTERNAL, "cannot create the edge folder");
    }
    if (!cert_path) {
        snprintf(cert, sizeof cert, "%s/edge.crt", dir);
        cert_path = cert;
    }
    if (!key_path) {
        snprintf(key, sizeof key, "%s/edge.key", dir);
        key_path = key;
    }
    rc = edge_cert_generate(cert_path, key_path, cn ? cn : "localhost");
    if (rc < 0)
        return cli_fail(rc, "cannot write the certificate");
    printf("certificate %s\nprivate key %s\n", cert_path, key_path);
    printf("serve TLS with: tls_cert = %s and tls_key = %s (or --tls-cert/--tls-key)\n",
           cert_path, key_path);
    return 0;
}
