/*
 * admin_int.h - inside `espace admin` (admin.h): what the command family
 * files share. Each family is one file, admin_<family>.c, exporting
 * `int admin_<family>(const espace_config_t *cfg, int argc, char **argv)`
 * (argv: the words after the family's name), declared and listed by its one
 * line in ADMIN_FAMILIES below. Each command parses its own
 * options with cli_parse (clients/cli/cli.h) and returns the exit code.
 *
 * Commands that need a service go through libespace as the local operator
 * (admin_connect); the others (keys, backup, gen-cert) are file operations.
 *
 * THREAD SAFETY: main thread only.
 */
#ifndef ES_ADMIN_INT_H
#define ES_ADMIN_INT_H

#include "clients/cli/cli.h"
#include "clients/lib/espace.h"
#include "espace/config.h"

#define ADMIN_TIMEOUT_MS 10000 /* per request to a service */

/* A usage error of `espace admin <cmd>`: "error: cmd: why" and the help;
 * returns 2. */
int admin_usage(const char *cmd, const char *why);

/* Parse a command's options (cli_parse); 0, or the usage exit code. */
int admin_options(const char *cmd, int argc, char **argv, cli_opt_t *opts, size_t n);

/* Connect to the running broker over ipc as the local operator (Caller kind
 * PRINCIPAL_OPERATOR, principal "operator"). 0 with *e (espace_close it),
 * or the exit code (printed; UNAVAILABLE when espace is not running). */
int admin_connect(const espace_config_t *cfg, espace_t **e);

/* Register a CURVE public key in the broker's key registry (admin_keys.c,
 * shared with seed): 0, ES_ALREADY_EXISTS, ES_INTERNAL (the store could not
 * be opened: already printed), or keys_add's error. */
struct keys_entry;
int admin_keys_register(const espace_config_t *cfg, const struct keys_entry *e);

/* Subcommand of a family: the function for argv[0] in a table of
 * {name, function}, or the usage exit code. */
typedef int (*admin_run_fn)(const espace_config_t *cfg, int argc, char **argv);
typedef struct admin_sub {
    const char *name;
    admin_run_fn run;
} admin_sub_t;
int admin_dispatch(const char *family, const admin_sub_t *subs, size_t n,
                   const espace_config_t *cfg, int argc, char **argv);

/* The command families: X(name, function), one line each; the function is
 * in admin_<family>.c. Adding one: its file, its line here, its source in
 * espace/CMakeLists.txt, its lines in admin_help (admin.c). */
#define ADMIN_FAMILIES(X)                                                                     \
    X("keys", admin_keys)             /* admin_keys.c: the broker's key registry */          \
    X("create-pro", admin_create_pro) /* admin_pro.c: identity CreateProfessional */         \
    X("backup", admin_backup)         /* admin_backup.c: hot copy of the stores */           \
    X("catalogue", admin_catalogue)   /* admin_catalogue.c: consent's app catalogue */       \
    X("audit", admin_audit)           /* admin_audit.c: consent VerifyAudit */               \
    X("gen-cert", admin_gen_cert)     /* admin_cert.c: the edge's TLS pair */                \
    X("seed", admin_seed)             /* admin_seed.c: bench accounts for espace-load */     \
    X("activation", admin_activation) /* admin_activation.c: identity IssueActivationCode */ \
    X("patient", admin_patient)       /* admin_patient.c: identity ResolvePatient */

#define ADMIN_DECLARE(name, fn) int fn(const espace_config_t *cfg, int argc, char **argv);
ADMIN_FAMILIES(ADMIN_DECLARE)
#undef ADMIN_DECLARE

#endif
