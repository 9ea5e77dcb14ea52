/* admin.c - `espace admin ...` (admin.h): the help, the table of command
 * families (one file each, admin_int.h) and what they share. */
#include "espace/admin.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "espace/admin_int.h"

const char admin_help[] =
    "usage: espace [options] admin COMMAND\n"
    "commands:\n"
    "  keys gen --out FILE              make a keypair file (FILE secret 0600, FILE.pub),\n"
    "                                   print its public key\n"
    "  keys add --role ROLE --name NAME --public Z85\n"
    "                                   admit a key on tcp; ROLE: service, gateway, pro, app\n"
    "  keys remove --public Z85         refuse a key from the next connection on\n"
    "  keys list                        list the registered keys\n"
    "  keys show                        print the broker's public key (made if missing)\n"
    "  create-pro --rpps R --last-name L --first-name F --profession P\n"
    "                                   create a professional (password: $ESPACE_PASSWORD\n"
    "                                   or one line on stdin); needs `espace up`\n"
    "  activation issue --ins INS       one-time activation code of a pending patient\n"
    "                                   account (15 min, single use), for its owner; needs\n"
    "                                   `espace up`\n"
    "  backup --out DIR                 hot copy of every store into DIR/<name>\n"
    "  catalogue add --id ID --name NAME --publisher P --description-fr TEXT\n"
    "                --purpose P[,P...] --scope CATEGORY:ACTION[:CODE[+CODE...]][,...]\n"
    "                --public Z85 --terms URL --privacy URL [--hds]\n"
    "                                   reference an app (consent AddApp); needs `espace up`\n"
    "                                   purposes: prevention, diagnostic, soins,\n"
    "                                   suivi_social_medicosocial; categories: agenda,\n"
    "                                   documents, measures, messaging; actions: read, write;\n"
    "                                   --public: the app's CURVE key; URLs: https://\n"
    "  catalogue withdraw --id ID       withdraw an app: its grants stop allowing anything\n"
    "  catalogue list [--all]           listed apps (--all: withdrawn ones too)\n"
    "  catalogue show --id ID           one app in full\n"
    "  gen-cert [--cert F] [--key F] [--cn NAME]\n"
    "                                   self-signed TLS pair for the edge (default\n"
    "                                   <data>/edge/edge.crt and edge.key, CN localhost)\n"
    "  audit verify [--patient ID]      recompute the audit hash chains (one patient, or all);\n"
    "                                   exit 1 if one is broken\n"
    "  patient resolve --ins INS        the patient id (32 hex) of an INS, for audit verify\n"
    "                                   --patient and support; needs `espace up`\n"
    "  seed --patients N [--devices D] [--first K] [--out FILE] [--pros M [--pro-patients P]]\n"
    "                                   BENCH accounts for espace-load (known password):\n"
    "                                   never next to real patients; needs `espace up`\n"
    "  help [COMMAND]                   this text, or the help of one command (also\n"
    "                                   COMMAND --help)\n"
    "times: printed in Paris time with the offset (2026-12-01 09:30 +01:00)\n";

/* The families of admin_int.h, by name. */
#define S_ENTRY(name, fn) {name, fn},
static const admin_sub_t s_families[] = {ADMIN_FAMILIES(S_ENTRY)};

int admin_usage(const char *cmd, const char *why)
{
    return cli_usage(cmd, why, admin_help);
}

int admin_options(const char *cmd, int argc, char **argv, cli_opt_t *opts, size_t n)
{
    char why[CLI_WHY_MAX];
    if (cli_parse(argc, argv, opts, n, why, sizeof why) < 0)
        return admin_usage(cmd, why);
    return 0;
}

int admin_connect(const espace_config_t *cfg, espace_t **e)
{
    const char *path = cfg->req_ipc + strlen("ipc://");
    if (access(path, F_OK) < 0)
        return cli_fail(ES_UNAVAILABLE, "espace is not running (no %s)", path);
    espace_opts_t o = {
        .endpoint = cfg->req_ipc,
        .timeout_ms = ADMIN_TIMEOUT_MS,
        .as_kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR,
        .as_principal = "operator",
    };
    int rc = espace_open(&o, e);
    if (rc < 0)
        return cli_fail(rc, "cannot connect to the broker over ipc");
    return 0;
}

int admin_dispatch(const char *family, const admin_sub_t *subs, size_t n,
                   const espace_config_t *cfg, int argc, char **argv)
{
    char why[CLI_WHY_MAX];
    if (argc < 1 || argv[0][0] == '-') {
        size_t used = (size_t)snprintf(why, sizeof why, "needs a command:");
        for (size_t i = 0; i < n && used < sizeof why; i++)
            used += (size_t)snprintf(why + used, sizeof why - used, " %s", subs[i].name);
        return admin_usage(family, why);
    }
    for (size_t i = 0; i < n; i++)
        if (!strcmp(argv[0], subs[i].name))
            return subs[i].run(cfg, argc - 1, argv + 1);
    snprintf(why, sizeof why, "unknown command '%.64s'", argv[0]);
    return admin_usage(family, why);
}

/* The family `name` of the table, or NULL. */
static const admin_sub_t *s_family(const char *name)
{
    for (size_t i = 0; i < sizeof s_families / sizeof s_families[0]; i++)
        if (!strcmp(s_families[i].name, name))
            return &s_families[i];
    return NULL;
}

/* `espace admin [words] --help`, `espace admin help [words]`: the whole
 * help, or the help of the command the leading words name. */
static int s_help(int argc, char **argv)
{
    char *words[2];
    int nwords = 0;
    for (int i = 0; i < argc && nwords < 2 && argv[i][0] != '-'; i++)
        words[nwords++] = argv[i];
    if (nwords == 0) {
        fputs(admin_help, stdout);
        return 0;
    }
    char why[CLI_WHY_MAX];
    if (!s_family(words[0])) {
        snprintf(why, sizeof why, "unknown command '%.64s'", words[0]);
        return admin_usage(NULL, why);
    }
    if (cli_help(stdout, admin_help, nwords, words) == 0)
        return 0;
    if (nwords == 2 && cli_help(stdout, admin_help, 1, words) == 0)
        return 0; /* a command without subcommands: its options follow */
    snprintf(why, sizeof why, "unknown command '%.64s %.64s'", words[0], words[1]);
    return admin_usage(NULL, why);
}

void admin_list_commands(FILE *f)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m)
        return;
    cli_help_commands(m, "admin", admin_help);
    fclose(m);
    for (size_t i = 0; i < sizeof s_families / sizeof s_families[0]; i++) {
        char prefix[64];
        int n = snprintf(prefix, sizeof prefix, "admin %s", s_families[i].name), listed = 0;
        for (const char *line = text; line && *line;) {
            const char *nl = strchr(line, '\n');
            int ll = nl ? (int)(nl - line) : (int)strlen(line);
            if (ll >= n && !strncmp(line, prefix, (size_t)n) && (ll == n || line[n] == ' ')) {
                fprintf(f, "%.*s\n", ll, line);
                listed = 1;
            }
            line = nl ? nl + 1 : NULL;
        }
        if (!listed) /* undocumented: listed anyway, its --help fails */
            fprintf(f, "%s\n", prefix);
    }
    free(text);
}

int admin_main(const espace_config_t *cfg, int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (cli_is_help(argv[i]))
            return s_help(argc, argv);
    if (argc >= 1 && !strcmp(argv[0], "help"))
        return s_help(argc - 1, argv + 1);
    if (argc < 1)
        return admin_usage(NULL, "admin needs a command");
    const admin_sub_t *f = s_family(argv[0]);
    if (!f) {
        char why[CLI_WHY_MAX];
        snprintf(why, sizeof why, "unknown command '%.64s'", argv[0]);
        return admin_usage(NULL, why);
    }
    if (sodium_init() < 0)
        return cli_fail(ES_INTERNAL, "libsodium init failed");
    return f->run(cfg, argc - 1, argv + 1);
}
