/* admin_catalogue.c - `espace admin catalogue add|withdraw|list|show`: the
 * consent service's catalogue of apps, as the local operator. */
#include <stdio.h>
#include <string.h>

#include "espace/admin_int.h"

#define ADMIN_MAX_PURPOSES 8 /* --purpose values read (the service takes 1..4) */

static void s_print_app(const Espace__V1__App *a, int full)
{
    char scopes[ESPACE_SCOPES_TEXT_MAX], purposes[256] = "", label[ESPACE_LABEL_MAX];
    size_t used = 0;
    for (size_t i = 0; i < a->n_purposes && used < sizeof purposes; i++) {
        int w = snprintf(purposes + used, sizeof purposes - used, "%s%s", i ? "," : "",
                         espace_purpose_label((int)a->purposes[i], label));
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (espace_scopes_format(a->scopes, a->n_scopes, scopes, sizeof scopes) < 0)
        snprintf(scopes + sizeof scopes - 4, 4, "...");
    if (!full) {
        printf("%-24s  %-24s  %-12s  %s%s\n", a->id, a->name, purposes, scopes,
               a->withdrawn ? "  (withdrawn)" : "");
        return;
    }
    char z85[ESPACE_KEY_Z85] = "", added[CLI_TIME_MAX], withdrawn[CLI_TIME_MAX];
    if (a->curve_public_key.len == 32)
        espace_key_z85(a->curve_public_key.data, z85);
    cli_time_format(a->added_ms, added);
    cli_time_format(a->withdrawn_ms, withdrawn);
    printf("id              %s\nname            %s\npublisher       %s\n"
           "description_fr  %s\npurposes        %s\nscopes          %s\nhds             %s\n"
           "public          %s\nterms           %s\nprivacy         %s\nadded           %s\n"
           "status          %s%s%s\n",
           a->id, a->name, a->publisher, a->description_fr, purposes, scopes,
           a->hds ? "yes" : "no", z85, a->terms_url, a->privacy_url, added,
           a->withdrawn ? "withdrawn " : "listed", a->withdrawn ? withdrawn : "", "");
}

/* --purpose P[,P...] into out; the count, or -1 (printed). */
static int s_purposes(const char *list, Espace__V1__Purpose out[ADMIN_MAX_PURPOSES])
{
    char buf[256], *save = NULL;
    int n = 0;
    if (strlen(list) >= sizeof buf) {
        cli_fail_field(ES_INVALID_ARGUMENT, "purpose", "purpose list too long");
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", list);
    for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        int v = espace_purpose_parse(p);
        if (v < 0) {
            cli_fail_field(ES_INVALID_ARGUMENT, "purpose",
                           "unknown purpose '%.32s' (prevention, diagnostic, soins, "
                           "suivi_social_medicosocial)",
                           p);
            return -1;
        }
        if (n >= ADMIN_MAX_PURPOSES) {
            cli_fail_field(ES_INVALID_ARGUMENT, "purpose", "too many purposes");
            return -1;
        }
        out[n++] = (Espace__V1__Purpose)v;
    }
    if (n == 0)
        cli_fail_field(ES_INVALID_ARGUMENT, "purpose", "no purpose");
    return n ? n : -1;
}

static int s_add(const espace_config_t *cfg, int argc, char **argv)
{
    cli_opt_t o[] = {
        CLI_OPT("--id", CLI_REQUIRED),        CLI_OPT("--name", CLI_REQUIRED),
        CLI_OPT("--publisher", CLI_REQUIRED), CLI_OPT("--description-fr", CLI_REQUIRED),
        CLI_OPT("--purpose", CLI_REQUIRED),   CLI_OPT("--scope", CLI_REQUIRED),
        CLI_OPT("--public", CLI_REQUIRED),    CLI_OPT("--terms", CLI_REQUIRED),
        CLI_OPT("--privacy", CLI_REQUIRED),   CLI_OPT("--hds", CLI_SWITCH),
    };
    int rc = admin_options("catalogue add", argc, argv, o, CLI_COUNT(o));
    if (rc)
        return rc;
    Espace__V1__Purpose purposes[ADMIN_MAX_PURPOSES];
    int n_purposes = s_purposes(CLI_VALUE(o, "--purpose"), purposes);
    if (n_purposes < 0)
        return 1;
    static espace_scopes_t scopes; /* large: not on the stack */
    char why[160];
    if (espace_scopes_parse(CLI_VALUE(o, "--scope"), &scopes, why, sizeof why) < 0)
        return cli_fail_field(ES_INVALID_ARGUMENT, "scope", "%s", why);
    uint8_t key[32];
    if (espace_key_parse(CLI_VALUE(o, "--public"), key) < 0)
        return cli_fail_field(ES_INVALID_ARGUMENT, "public",
                              "not a Z85 public key (40 characters)");
    Espace__V1__App app = ESPACE__V1__APP__INIT;
    app.id = (char *)CLI_VALUE(o, "--id");
    app.name = (char *)CLI_VALUE(o, "--name");
    app.publisher = (char *)CLI_VALUE(o, "--publisher");
    app.description_fr = (char *)CLI_VALUE(o, "--description-fr");
    app.purposes = purposes;
    app.n_purposes = (size_t)n_purposes;
    app.scopes = scopes.list;
    app.n_scopes = scopes.n;
    app.hds = CLI_VALUE(o, "--hds") != NULL;
    app.curve_public_key.data = key;
    app.curve_public_key.len = sizeof key;
    app.terms_url = (char *)CLI_VALUE(o, "--terms");
    app.privacy_url = (char *)CLI_VALUE(o, "--privacy");
    espace_t *e = NULL;
    espace_error_t err;
    Espace__V1__AddAppReply *r = NULL;
    if ((rc = admin_connect(cfg, &e)) != 0)
        return rc;
    if (espace_consent_add_app(e, &app, &r, &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    printf("added app %s\n", r->app && r->app->id ? r->app->id : app.id);
    espace_free(&r->base);
close:
    espace_close(&e);
    return rc;
}

static int s_withdraw(const espace_config_t *cfg, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--id", CLI_REQUIRED)};
    int rc = admin_options("catalogue withdraw", argc, argv, o, CLI_COUNT(o));
    if (rc)
        return rc;
    espace_t *e = NULL;
    espace_error_t err;
    if ((rc = admin_connect(cfg, &e)) != 0)
        return rc;
    if (espace_consent_withdraw_app(e, CLI_VALUE(o, "--id"), NULL, &err) < 0)
        rc = cli_fail_err(&err);
    else
        printf("withdrew app %s\n", CLI_VALUE(o, "--id"));
    espace_close(&e);
    return rc;
}

static int s_list(const espace_config_t *cfg, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--all", CLI_SWITCH)};
    int rc = admin_options("catalogue list", argc, argv, o, CLI_COUNT(o));
    if (rc)
        return rc;
    espace_t *e = NULL;
    espace_error_t err;
    Espace__V1__ListAppsReply *r = NULL;
    if ((rc = admin_connect(cfg, &e)) != 0)
        return rc;
    if (espace_consent_list_apps(e, CLI_VALUE(o, "--all") != NULL, &r, &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    for (size_t i = 0; i < r->n_apps; i++)
        s_print_app(r->apps[i], 0);
    if (r->n_apps == 0)
        fprintf(stderr, "no apps in the catalogue\n");
    espace_free(&r->base);
close:
    espace_close(&e);
    return rc;
}

static int s_show(const espace_config_t *cfg, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--id", CLI_REQUIRED)};
    int rc = admin_options("catalogue show", argc, argv, o, CLI_COUNT(o));
    if (rc)
        return rc;
    espace_t *e = NULL;
    espace_error_t err;
    Espace__V1__GetAppReply *r = NULL;
    if ((rc = admin_connect(cfg, &e)) != 0)
        return rc;
    if (espace_consent_get_app(e, CLI_VALUE(o, "--id"), &r, &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    if (r->app)
        s_print_app(r->app, 1);
    else
        rc = cli_fail(ES_INTERNAL, "empty reply");
    espace_free(&r->base);
close:
    espace_close(&e);
    return rc;
}

int admin_catalogue(const espace_config_t *cfg, int argc, char **argv)
{
    static const admin_sub_t subs[] = {
        {"add", s_add}, {"withdraw", s_withdraw}, {"list", s_list}, {"show", s_show}};
    return admin_dispatch("catalogue", subs, sizeof subs / sizeof subs[0], cfg, argc, argv);
}
