/* admin_audit.c - `espace admin audit verify`: consent VerifyAudit, as the
 * local operator. */
#include <stdio.h>

#include "espace/admin_int.h"

static int s_verify(const espace_config_t *cfg, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--patient", CLI_OPTIONAL)};
    int rc = admin_options("audit verify", argc, argv, o, CLI_COUNT(o));
    if (rc)
        return rc;
    espace_t *e = NULL;
    espace_error_t err;
    Espace__V1__VerifyAuditReply *r = NULL;
    if ((rc = admin_connect(cfg, &e)) != 0)
        return rc;
    if (espace_consent_verify_audit(e, CLI_VALUE(o, "--patient"), &r, &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    if (r->ok) {
        printf("audit ok: %llu %s in %u %s\n", (unsigned long long)r->entries,
               r->entries == 1 ? "entry" : "entries", (unsigned)r->chains,
               r->chains == 1 ? "chain" : "chains");
    } else {
        printf("audit BROKEN: patient %s at sequence %llu\n", r->patient_id ? r->patient_id : "?",
               (unsigned long long)r->broken_seq);
        rc = 1;
    }
    espace_free(&r->base);
close:
    espace_close(&e);
    return rc;
}

int admin_audit(const espace_config_t *cfg, int argc, char **argv)
{
    static const admin_sub_t subs[] = {{"verify", s_verify}};
    return admin_dispatch("audit", subs, sizeof subs / sizeof subs[0], cfg, argc, argv);
}
