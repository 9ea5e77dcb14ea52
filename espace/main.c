/*
 * espace - the espace server binary.
 *
 *   espace [options] up          broker and every service, until SIGINT/SIGTERM
 *   espace [options] broker      the broker alone
 *   espace [options] identity    one service alone (any name of parts.c: identity, consent)
 *   espace [options] admin ...   operator commands (admin.h)
 *   espace [COMMAND] --help, espace help [COMMAND], --version, --commands
 *
 * Options: config.h. Exit codes: 0 ok, 1 error, 2 usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/cli/cli.h"
#include "espace/admin.h"
#include "espace/config.h"
#include "process/log.h"
#include "espace/parts.h"
#include "proto/status.h"
#include "process/stop.h"
#include "espace/up.h"

#define S_MAX_ARGS 256 /* arguments of one command line */

/* The usage text of the binary (caller frees): commands, then options. */
static char *s_usage_text(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fprintf(f, "usage: espace [options] COMMAND\n"
               "commands:\n"
               "  up           run the broker and every service until SIGINT/SIGTERM\n");
    for (size_t i = 0; i < parts_count; i++)
        fprintf(f, "  %-12s %s\n", parts_table[i].name, parts_table[i].summary);
    fprintf(f, "  admin ...    operator commands (espace admin --help)\n"
               "  help [COMMAND]  this text, or the help of one command (also COMMAND --help)\n"
               "options:\n%s"
               "  --help, -h           the help of the command it follows\n"
               "  --version            print the version\n"
               "  --commands           list every command, one a line\n%s",
            config_flags_help, config_keys_help);
    fclose(f);
    return text;
}

/* `espace [COMMAND] --help`, `espace help [COMMAND]`: 0 or 2. */
static int s_help(const char *usage, int nwords, char **words)
{
    if (nwords == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (nwords == 1 && cli_help(stdout, usage, 1, words) == 0)
        return 0;
    char why[CLI_WHY_MAX];
    snprintf(why, sizeof why, "unknown command '%.64s'", words[0]);
    return cli_usage(NULL, why, usage);
}

/* `espace --commands`: every command, one a line ("admin keys gen"). */
static int s_list_commands(void)
{
    printf("up\n");
    for (size_t i = 0; i < parts_count; i++)
        printf("%s\n", parts_table[i].name);
    admin_list_commands(stdout);
    return 0;
}

/* The options asked before the command or "admin": the help, the version,
 * the command list; taken out of args (n updated). */
enum { S_RUN, S_HELP, S_VERSION, S_COMMANDS };
static int s_asks(int *n, char **args)
{
    int ask = S_RUN, out = 0, i = 0;
    for (; i < *n && strcmp(args[i], "admin"); i++) {
        if (cli_is_help(args[i]))
            ask = S_HELP;
        else if (!strcmp(args[i], "--version") && ask != S_HELP)
            ask = S_VERSION;
        else if (!strcmp(args[i], "--commands") && ask != S_HELP)
            ask = S_COMMANDS;
        else
            args[out++] = args[i];
    }
    for (; i < *n; i++)
        args[out++] = args[i];
    *n = out;
    return ask;
}

static int s_main(char *usage, int n, char **args)
{
    espace_config_t cfg;
    char err[CONFIG_ERR_MAX];
    int ask = s_asks(&n, args);
    if (ask == S_VERSION)
        return cli_version("espace");
    if (ask == S_COMMANDS)
        return s_list_commands();
    if (config_parse_args(&cfg, &n, args, err) < 0) {
        if (ask == S_HELP)
            return s_help(usage, 0, NULL);
        return cli_usage(NULL, err, usage);
    }
    if (n >= 1 && !strcmp(args[0], "help")) {
        ask = S_HELP;
        n--;
        args++;
    }
    if (ask == S_HELP && n >= 1 && !strcmp(args[0], "admin")) {
        char *argv[S_MAX_ARGS + 1];
        int k = 0;
        for (int i = 1; i < n && k < S_MAX_ARGS; i++)
            argv[k++] = args[i];
        argv[k++] = "--help";
        return admin_main(&cfg, k, argv);
    }
    if (ask == S_HELP)
        return s_help(usage, n, args);
    if (n < 1)
        return cli_usage(NULL, "needs a command", usage);
    log_set_level((log_level_t)cfg.log_level);
    const char *cmd = args[0];
    if (!strcmp(cmd, "admin"))
        return admin_main(&cfg, n - 1, args + 1);

    const part_def_t *parts[PARTS_MAX];
    size_t count = 0;
    char why[CLI_WHY_MAX];
    if (!strcmp(cmd, "up")) {
        for (size_t i = 0; i < parts_count && i < PARTS_MAX; i++)
            parts[count++] = &parts_table[i];
    } else {
        const part_def_t *p = parts_find(cmd);
        if (!p) {
            snprintf(why, sizeof why, "unknown command '%.64s'", cmd);
            return cli_usage(NULL, why, usage);
        }
        parts[count++] = p;
    }
    if (n > 1) {
        snprintf(why, sizeof why, "unexpected argument '%.64s'", args[1]);
        return cli_usage(cmd, why, usage);
    }
    if (stop_install() < 0) {
        fprintf(stderr, "error: INTERNAL: cannot install the signal handlers\n");
        return 1;
    }
    return up_run(&cfg, parts, count);
}

int main(int argc, char **argv)
{
    if (argc > S_MAX_ARGS) {
        fprintf(stderr, "error: too many arguments\n");
        return 2;
    }
    char *usage = s_usage_text();
    if (!usage) {
        fprintf(stderr, "error: INTERNAL: out of memory\n");
        return 1;
    }
    int rc = s_main(usage, argc - 1, argv + 1);
    free(usage);
    return rc;
}
