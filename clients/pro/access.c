/* access.c - espace-pro access request, access status, emergency (pro.h):
 * the consent service on a professional's session. */
#include <stdio.h>
#include <string.h>

#include "clients/pro/pro.h"
#include "proto/ids.h"
#include "proto/names.h"

#define PRO_GRANT_PAGES 1000 /* ListGrants pages read at most (200 grants each) */

static void s_period(const Espace__V1__Period *p, char *out, size_t n)
{
    char start[CLI_TIME_MAX], end[CLI_TIME_MAX];
    if (!p) {
        snprintf(out, n, "?");
        return;
    }
    cli_time_format(p->start_ms, start);
    if (p->end_ms)
        cli_time_format(p->end_ms, end);
    else
        snprintf(end, sizeof end, "revoked");
    snprintf(out, n, "%s..%s", start, end);
}

static const char *s_status(int status, char out[ESPACE_LABEL_MAX])
{
    return enum_label(&espace__v1__grant_status__descriptor, status, out, ESPACE_LABEL_MAX);
}

static void s_print_grant(const Espace__V1__Grant *g)
{
    char id[ID_HEX], scopes[ESPACE_SCOPES_TEXT_MAX], period[80], status[ESPACE_LABEL_MAX];
    id_hex_bytes(g->id.data, g->id.len, id);
    if (espace_scopes_format(g->scopes, g->n_scopes, scopes, sizeof scopes) < 0)
        snprintf(scopes + sizeof scopes - 4, 4, "...");
    s_period(g->period, period, sizeof period);
    printf("%s  %s  %s  %s%s%s  %s\n", id[0] ? id : "?", g->patient_id ? g->patient_id : "?",
           scopes, s_status((int)g->status, status),
           g->inactive_reason && *g->inactive_reason ? "/" : "",
           g->inactive_reason ? g->inactive_reason : "", period);
}

int pro_access_request(pro_conf_t *c, int argc, char **argv)
{
    static espace_scopes_t scopes; /* large: not on the stack */
    cli_opt_t o[] = {CLI_OPT("--patient", CLI_REQUIRED), CLI_OPT("--scope", CLI_REQUIRED),
                     CLI_OPT("--purpose", CLI_REQUIRED), CLI_OPT("--days", CLI_REQUIRED),
                     CLI_OPT("--reason", CLI_REQUIRED)};
    char why[CLI_WHY_MAX];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("access request", why, pro_usage);
    if (espace_scopes_parse(CLI_VALUE(o, "--scope"), &scopes, why, sizeof why) < 0)
        return cli_fail(ES_INVALID_ARGUMENT, "%s (field scope)", why);
    int purpose = espace_purpose_parse(CLI_VALUE(o, "--purpose"));
    if (purpose < 0)
        return cli_fail(ES_INVALID_ARGUMENT,
                        "unknown purpose '%.32s' (prevention, diagnostic, soins, "
                        "suivi_social_medicosocial) (field purpose)",
                        CLI_VALUE(o, "--purpose"));
    uint64_t days;
    if (cli_parse_u64(CLI_VALUE(o, "--days"), 3650, &days) < 0 || days < 1)
        return cli_fail(ES_INVALID_ARGUMENT, "--days must be 1..3650 (field days)");
    espace_t *e = NULL;
    espace_error_t err;
    char pid[ESPACE_PATIENT_ID_MAX];
    int rc = pro_resume_patient(c, CLI_VALUE(o, "--patient"), &e, pid);
    if (rc)
        return rc;
    Espace__V1__RequestAccessReply *r = NULL;
    int64_t end_ms = cli_wall_ms() + (int64_t)days * 86400000LL;
    if (espace_consent_request_access(e, pid, &scopes, purpose, end_ms, CLI_VALUE(o, "--reason"),
                                      &r, &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    if (r->grant) {
        char id[ID_HEX], status[ESPACE_LABEL_MAX];
        printf("requested access %s: %s until the patient answers\n",
               id_hex_bytes(r->grant->id.data, r->grant->id.len, id),
               s_status((int)r->grant->status, status));
    }
    espace_free(&r->base);
close:
    espace_close(&e);
    return rc;
}

int pro_access_status(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--patient", CLI_OPTIONAL)};
    char why[CLI_WHY_MAX];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("access status", why, pro_usage);
    espace_t *e = NULL;
    espace_error_t err;
    espace_cursor_t cursor;
    unsigned count = 0;
    char pid[ESPACE_PATIENT_ID_MAX];
    int rc = pro_resume_patient(c, CLI_VALUE(o, "--patient"), &e, pid);
    if (rc)
        return rc;
    memset(&cursor, 0, sizeof cursor);
    for (int page = 0; page < PRO_GRANT_PAGES; page++) { /* bounded: 200 000 grants at most */
        Espace__V1__ListGrantsReply *r = NULL;
        if (espace_consent_list_grants(e, pid, &cursor, &r, &err) < 0) {
            rc = cli_fail_err(&err);
            goto close;
        }
        for (size_t i = 0; i < r->n_grants; i++)
            s_print_grant(r->grants[i]);
        count += (unsigned)r->n_grants;
        espace_free(&r->base);
        if (!cursor.more)
            break;
    }
    if (count == 0)
        fprintf(stderr, "no grants or requests\n");
close:
    espace_close(&e);
    return rc;
}

int pro_emergency(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--patient", CLI_REQUIRED), CLI_OPT("--reason", CLI_REQUIRED)};
    char why[CLI_WHY_MAX];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("emergency", why, pro_usage);
    espace_t *e = NULL;
    espace_error_t err;
    char pid[ESPACE_PATIENT_ID_MAX];
    int rc = pro_resume_patient(c, CLI_VALUE(o, "--patient"), &e, pid);
    if (rc)
        return rc;
    Espace__V1__DeclareEmergencyReply *r = NULL;
    if (espace_consent_declare_emergency(e, pid, CLI_VALUE(o, "--reason"), &r, &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    if (r->emergency) {
        char id[ID_HEX], until[CLI_TIME_MAX];
        printf("emergency access to patient %s until %s (id %s); the patient sees it at once "
               "in their space and may end it\n",
               r->emergency->patient_id ? r->emergency->patient_id : pid,
               cli_time_format(r->emergency->until_ms, until),
               id_hex_bytes(r->emergency->id.data, r->emergency->id.len, id));
    }
    espace_free(&r->base);
close:
    espace_close(&e);
    return rc;
}
