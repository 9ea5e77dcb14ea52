/* login.c - espace-pro keygen, login, whoami, logout (pro.h). */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clients/pro/pro.h"
#include "process/kvfile.h"
#include "proto/ids.h"
#include "proto/names.h"

/* A command without options: 0, or the usage exit code. */
static int s_no_options(const char *cmd, int argc, char **argv)
{
    char why[CLI_WHY_MAX];
    if (cli_parse(argc, argv, NULL, 0, why, sizeof why) < 0)
        return cli_usage(cmd, why, pro_usage);
    return 0;
}

int pro_keygen(pro_conf_t *c, int argc, char **argv)
{
    char key[PRO_PATH_MAX + 16], z85[ESPACE_KEY_Z85];
    int created = 0;
    int rc = s_no_options("keygen", argc, argv);
    if (rc)
        return rc;
    if (pro_path(key, sizeof key, c->home, "curve.key") < 0)
        return cli_fail(ES_INVALID_ARGUMENT, "home path too long");
    rc = espace_keypair(key, 1, z85, &created);
    if (rc < 0)
        return cli_fail(rc, "cannot create or read the keypair %s", key);
    printf("%s\n", z85);
    fprintf(stderr,
            "%s keypair %s\nAsk the espace operator to register the public key above:\n"
            "  espace admin keys add --role pro --name NAME --public '%s'\n",
            created ? "new" : "existing", key, z85);
    return 0;
}

int pro_login(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--rpps", CLI_REQUIRED), CLI_OPT("--device", CLI_OPTIONAL)};
    char why[CLI_WHY_MAX];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("login", why, pro_usage);
    espace_t *e = NULL;
    espace_session_t s;
    espace_error_t err;
    char pw[1024];
    int rc = pro_open(c, &e);
    if (rc)
        return rc;
    if (kvfile_secret("ESPACE_PASSWORD", "password: ", pw, sizeof pw) < 0) {
        espace_close(&e);
        return cli_fail(ES_INVALID_ARGUMENT, "no password ($ESPACE_PASSWORD or stdin)");
    }
    rc = espace_login_pro(e, CLI_VALUE(o, "--rpps"), pw, CLI_VALUE(o, "--device"), &s, &err);
    sodium_memzero(pw, sizeof pw);
    if (rc < 0) {
        espace_close(&e);
        return cli_fail_conn(&err, c->broker);
    }
    char line[ESPACE_TOKEN_MAX + 2];
    snprintf(line, sizeof line, "%s\n", s.token);
    rc = pro_write_file(c->home, "session", line, 0600);
    sodium_memzero(line, sizeof line);
    if (rc == 0 && (c->broker_flag || c->key_flag))
        rc = pro_conf_save(c);
    if (rc < 0) {
        espace_logout(e, &err);
        espace_close(&e);
        sodium_memzero(&s, sizeof s);
        return cli_fail(rc, "cannot write in %s", c->home);
    }
    char hex[ID_HEX], when[CLI_TIME_MAX];
    printf("logged in as %s (session %s, expires %s)\n", s.principal,
           id_hex(s.session_id, hex), cli_time_format(s.expires_ms, when));
    sodium_memzero(&s, sizeof s);
    espace_close(&e);
    return 0;
}

int pro_whoami(pro_conf_t *c, int argc, char **argv)
{
    espace_t *e = NULL;
    espace_whoami_t w;
    espace_error_t err;
    int gone;
    int rc = s_no_options("whoami", argc, argv);
    if (rc || (rc = pro_resume(c, &e, &gone)) != 0)
        return rc;
    rc = espace_whoami(e, &w, &err);
    espace_close(&e);
    if (rc < 0)
        return cli_fail_err(&err);
    char when[CLI_TIME_MAX], kind[ESPACE_LABEL_MAX];
    printf("principal   %s\nkind        %s\nname        %s\n", w.principal,
           enum_label(&espace__v1__principal_kind__descriptor, w.kind, kind, sizeof kind),
           w.display_name);
    if (w.profession[0])
        printf("profession  %s\n", w.profession);
    if (w.session_expires_ms)
        printf("expires     %s\n", cli_time_format(w.session_expires_ms, when));
    return 0;
}

int pro_logout(pro_conf_t *c, int argc, char **argv)
{
    espace_t *e = NULL;
    espace_error_t err;
    char path[PRO_PATH_MAX + 16];
    int gone;
    int rc = s_no_options("logout", argc, argv);
    if (rc)
        return rc;
    if (pro_path(path, sizeof path, c->home, "session") < 0)
        return cli_fail(ES_INVALID_ARGUMENT, "home path too long");
    rc = pro_resume(c, &e, &gone);
    if (rc) {
        if (gone) /* expired or revoked already: forget it */
            unlink(path);
        return rc;
    }
    rc = espace_logout(e, &err);
    espace_close(&e);
    if (rc < 0)
        return cli_fail_err(&err);
    if (unlink(path) < 0)
        return cli_fail(ES_INTERNAL, "cannot delete %s: %s", path, strerror(errno));
    printf("logged out\n");
    return 0;
}
