/* admin_activation.c - `espace admin activation issue --ins INS`: the
 * one-time activation code of a pending patient account (identity
 * IssueActivationCode, as the local operator), printed for the operator to
 * hand to the owner of the INS out of band. The code is printed once and
 * never logged. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "espace/admin_int.h"
#include "proto/names.h"

static int s_issue(const espace_config_t *cfg, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--ins", CLI_REQUIRED)};
    int rc = admin_options("activation issue", argc, argv, o, CLI_COUNT(o));
    if (rc)
        return rc;
    Espace__V1__IssueActivationCodeRequest req = ESPACE__V1__ISSUE_ACTIVATION_CODE_REQUEST__INIT;
    req.ins = (char *)CLI_VALUE(o, "--ins");
    espace_t *e = NULL;
    espace_error_t err;
    Espace__V1__IssueActivationCodeReply *r = NULL;
    if ((rc = admin_connect(cfg, &e)) != 0)
        return rc;
    if (espace_call(e, SERVICE_IDENTITY, "IssueActivationCode", &req.base,
                    &espace__v1__issue_activation_code_reply__descriptor, (ProtobufCMessage **)&r,
                    &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    char until[CLI_TIME_MAX];
    cli_time_format(r->expires_ms, until);
    printf("%s\n", r->code); /* alone on its line: scripts read it */
    fprintf(stderr, "activation code valid until %s, single use\n", until);
    sodium_memzero(r->code, strlen(r->code));
    espace_free(&r->base);
close:
    espace_close(&e);
    return rc;
}

int admin_activation(const espace_config_t *cfg, int argc, char **argv)
{
    static const admin_sub_t subs[] = {{"issue", s_issue}};
    return admin_dispatch("activation", subs, sizeof subs / sizeof subs[0], cfg, argc, argv);
}
