/* admin_pro.c - `espace admin create-pro`: a professional's account
 * (identity CreateProfessional, as the local operator). */
#include <sodium.h>
#include <stdio.h>

#include "espace/admin_int.h"
#include "process/kvfile.h"

#define ADMIN_PASSWORD_MAX 1024

int admin_create_pro(const espace_config_t *cfg, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--rpps", CLI_REQUIRED), CLI_OPT("--last-name", CLI_REQUIRED),
                     CLI_OPT("--first-name", CLI_REQUIRED),
                     CLI_OPT("--profession", CLI_REQUIRED)};
    int rc = admin_options("create-pro", argc, argv, o, CLI_COUNT(o));
    if (rc)
        return rc;
    espace_professional_t p = {
        .rpps = CLI_VALUE(o, "--rpps"),
        .last_name = CLI_VALUE(o, "--last-name"),
        .first_name = CLI_VALUE(o, "--first-name"),
        .profession = CLI_VALUE(o, "--profession"),
    };
    char pw[ADMIN_PASSWORD_MAX];
    if (kvfile_secret("ESPACE_PASSWORD", "password: ", pw, sizeof pw) < 0)
        return cli_fail_field(ES_INVALID_ARGUMENT, "password",
                              "no password ($ESPACE_PASSWORD or stdin)");
    espace_t *e = NULL;
    espace_error_t err;
    Espace__V1__CreateProfessionalReply *r = NULL;
    if ((rc = admin_connect(cfg, &e)) != 0)
        goto wipe;
    if (espace_identity_create_professional(e, &p, pw, &r, &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    printf("created professional %s\n", r->rpps && *r->rpps ? r->rpps : p.rpps);
    espace_free(&r->base);
close:
    espace_close(&e);
wipe:
    sodium_memzero(pw, sizeof pw);
    return rc;
}
