/*
 * espace - the espace server binary.
 *
 *   espace [options] up          broker and every service, until SIGINT/SIGTERM
 *   espace [options] broker      the broker alone
 *   espace [options] identity    one service alone (any name of parts.c: identity, consent)
 *   espace [options] admin ...   operator commands (admin.h)
 *
 * Options: config.h. Exit codes: 0 ok, 1 error, 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "espace/admin.h"
#include "espace/config.h"
#include "process/log.h"
#include "espace/parts.h"
#include "proto/status.h"
#include "process/stop.h"
#include "espace/up.h"

static void s_help(FILE *f)
{
    fprintf(f, "usage: espace [options] COMMAND\n"
               "commands:\n"
               "  up           run the broker and every service until SIGINT/SIGTERM\n");
    for (size_t i = 0; i < parts_count; i++)
        fprintf(f, "  %-12s %s\n", parts_table[i].name, parts_table[i].summary);
    fprintf(f, "  admin ...    operator commands (espace admin --help)\n"
               "options:\n%s",
            config_flags_help);
}

int main(int argc, char **argv)
{
    espace_config_t cfg;
    char err[CONFIG_ERR_MAX];
    int n = argc - 1;
    char **args = argv + 1;
    for (int i = 0; i < n; i++) {
        if (!strcmp(args[i], "admin"))
            break; /* admin has its own --help */
        if (!strcmp(args[i], "--help") || !strcmp(args[i], "-h") || !strcmp(args[i], "help")) {
            s_help(stdout);
            return 0;
        }
    }
    if (config_parse_args(&cfg, &n, args, err) < 0) {
        fprintf(stderr, "error: INVALID_ARGUMENT: %s\n", err);
        return 2;
    }
    if (n < 1) {
        s_help(stderr);
        return 2;
    }
    log_set_level((log_level_t)cfg.log_level);
    const char *cmd = args[0];
    if (!strcmp(cmd, "admin"))
        return admin_main(&cfg, n - 1, args + 1);

    const part_def_t *parts[PARTS_MAX];
    size_t count = 0;
    if (!strcmp(cmd, "up")) {
        for (size_t i = 0; i < parts_count && i < PARTS_MAX; i++)
            parts[count++] = &parts_table[i];
    } else {
        const part_def_t *p = parts_find(cmd);
        if (!p) {
            fprintf(stderr, "error: unknown command '%s'\n", cmd);
            s_help(stderr);
            return 2;
        }
        parts[count++] = p;
    }
    if (n > 1) {
        fprintf(stderr, "error: unexpected argument '%s'\n", args[1]);
        return 2;
    }
    if (stop_install() < 0) {
        fprintf(stderr, "error: INTERNAL: cannot install the signal handlers\n");
        return 1;
    }
    return up_run(&cfg, parts, count);
}
