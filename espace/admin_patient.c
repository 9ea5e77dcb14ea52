/* admin_patient.c - `espace admin patient resolve --ins INS`: the patient id
 * of an INS (identity ResolvePatient, as the local operator), for `audit
 * verify --patient` and support. The INS is not printed back. */
#include <stdio.h>

#include "espace/admin_int.h"
#include "proto/names.h"

static int s_resolve(const espace_config_t *cfg, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--ins", CLI_REQUIRED)};
    int rc = admin_options("patient resolve", argc, argv, o, CLI_COUNT(o));
    if (rc)
        return rc;
    Espace__V1__ResolvePatientRequest req = ESPACE__V1__RESOLVE_PATIENT_REQUEST__INIT;
    req.ins = (char *)CLI_VALUE(o, "--ins");
    espace_t *e = NULL;
    espace_error_t err;
    Espace__V1__ResolvePatientReply *r = NULL;
    if ((rc = admin_connect(cfg, &e)) != 0)
        return rc;
    if (espace_call(e, SERVICE_IDENTITY, "ResolvePatient", &req.base,
                    &espace__v1__resolve_patient_reply__descriptor, (ProtobufCMessage **)&r,
                    &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    printf("%s\n", r->patient_id);
    espace_free(&r->base);
close:
    espace_close(&e);
    return rc;
}

int admin_patient(const espace_config_t *cfg, int argc, char **argv)
{
    static const admin_sub_t subs[] = {{"resolve", s_resolve}};
    return admin_dispatch("patient", subs, sizeof subs / sizeof subs[0], cfg, argc, argv);
}
