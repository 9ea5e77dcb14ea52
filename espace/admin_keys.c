/* admin_keys.c - `espace admin keys gen|add|remove|list|show`: the broker's
 * registry of the keys admitted on tcp, edited in its store directly (LMDB
 * lets several processes share it, so this works while the broker runs). */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "broker/keys.h"
#include "espace/admin_int.h"
#include "storage/store.h"

static int s_open_store(const espace_config_t *cfg, store_t **s)
{
    char dir[CONFIG_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/broker", cfg->data_dir);
    if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST)
        return cli_fail(ES_INTERNAL, "cannot create the data folder");
    store_opts_t o = {.tables = keys_tables, .no_sync = cfg->no_sync};
    int rc = store_open(dir, &o, s);
    if (rc < 0)
        return cli_fail(rc, "cannot open the broker store %s", dir);
    return 0;
}

static int s_gen(const espace_config_t *cfg, int argc, char **argv)
{
    (void)cfg;
    cli_opt_t o[] = {CLI_OPT("--out", CLI_REQUIRED)};
    int rc = admin_options("keys gen", argc, argv, o, CLI_COUNT(o));
    if (rc)
        return rc;
    const char *out = CLI_VALUE(o, "--out");
    char z85[ESPACE_KEY_Z85];
    int created = 0;
    rc = espace_keypair(out, 1, z85, &created);
    if (rc < 0)
        return cli_fail(rc, "cannot create or read the keypair file");
    printf("%s\n", z85);
    if (!created)
        fprintf(stderr, "note: %s existed; its key was kept\n", out);
    return 0;
}

static int s_add(const espace_config_t *cfg, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--role", CLI_REQUIRED), CLI_OPT("--name", CLI_REQUIRED),
                     CLI_OPT("--public", CLI_REQUIRED)};
    int rc = admin_options("keys add", argc, argv, o, CLI_COUNT(o));
    if (rc)
        return rc;
    const char *name = CLI_VALUE(o, "--name"), *pub = CLI_VALUE(o, "--public");
    keys_entry_t e;
    memset(&e, 0, sizeof e);
    e.role = keys_role_parse(CLI_VALUE(o, "--role"));
    if (e.role < 0)
        return cli_fail_field(ES_INVALID_ARGUMENT, "role",
                              "role must be service, gateway, pro or app");
    if (strlen(name) == 0 || strlen(name) > KEYS_MAX_NAME)
        return cli_fail_field(ES_INVALID_ARGUMENT, "name", "name must be 1..64 bytes");
    if (espace_key_parse(pub, e.public_key) < 0)
        return cli_fail_field(ES_INVALID_ARGUMENT, "public",
                              "not a Z85 public key (40 characters)");
    snprintf(e.name, sizeof e.name, "%s", name);
    e.created_ms = cli_wall_ms();
    if ((rc = admin_keys_register(cfg, &e)) == ES_INTERNAL)
        return 1; /* said */
    if (rc == ES_ALREADY_EXISTS)
        return cli_fail_field(rc, "public", "this key is already registered");
    if (rc < 0)
        return cli_fail(rc, "cannot register the key");
    printf("added %s key %s (%s)\n", keys_role_name(e.role), pub, name);
    return 0;
}

int admin_keys_register(const espace_config_t *cfg, const keys_entry_t *e)
{
    store_t *s = NULL;
    if (s_open_store(cfg, &s) != 0)
        return ES_INTERNAL;
    int rc = keys_add(s, e);
    store_close(&s);
    return rc;
}

static int s_remove(const espace_config_t *cfg, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--public", CLI_REQUIRED)};
    int rc = admin_options("keys remove", argc, argv, o, CLI_COUNT(o));
    if (rc)
        return rc;
    const char *pub = CLI_VALUE(o, "--public");
    uint8_t key[32];
    if (espace_key_parse(pub, key) < 0)
        return cli_fail_field(ES_INVALID_ARGUMENT, "public",
                              "not a Z85 public key (40 characters)");
    store_t *s = NULL;
    if ((rc = s_open_store(cfg, &s)) != 0)
        return rc;
    rc = keys_remove(s, key);
    store_close(&s);
    if (rc == ES_NOT_FOUND)
        return cli_fail_field(rc, "public", "no such key");
    if (rc < 0)
        return cli_fail(rc, "cannot remove the key");
    printf("removed %s\n", pub);
    return 0;
}

static int s_print_key(const keys_entry_t *e, void *ctx)
{
    char z85[ESPACE_KEY_Z85], when[CLI_TIME_MAX];
    (*(unsigned *)ctx)++;
    espace_key_z85(e->public_key, z85);
    printf("%s  %-8s  %-20s  %s\n", z85, keys_role_name(e->role), e->name,
           cli_time_format(e->created_ms, when));
    return 0;
}

static int s_list(const espace_config_t *cfg, int argc, char **argv)
{
    int rc = admin_options("keys list", argc, argv, NULL, 0);
    if (rc)
        return rc;
    store_t *s = NULL;
    unsigned count = 0;
    if ((rc = s_open_store(cfg, &s)) != 0)
        return rc;
    rc = keys_list(s, s_print_key, &count);
    store_close(&s);
    if (rc < 0)
        return cli_fail(rc, "cannot list the keys");
    if (count == 0)
        fprintf(stderr, "no registered keys\n");
    return 0;
}

static int s_show(const espace_config_t *cfg, int argc, char **argv)
{
    int rc = admin_options("keys show", argc, argv, NULL, 0);
    if (rc)
        return rc;
    char dir[CONFIG_PATH_MAX + 16], path[CONFIG_PATH_MAX + 32], z85[ESPACE_KEY_Z85];
    snprintf(dir, sizeof dir, "%s/broker", cfg->data_dir);
    snprintf(path, sizeof path, "%s/curve.key", dir);
    if ((mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST) ||
        (mkdir(dir, 0700) < 0 && errno != EEXIST))
        return cli_fail(ES_INTERNAL, "cannot create the broker folder");
    if ((rc = espace_keypair(path, 1, z85, NULL)) < 0)
        return cli_fail(rc, "cannot read or create the broker keypair");
    printf("%s\n", z85);
    return 0;
}

int admin_keys(const espace_config_t *cfg, int argc, char **argv)
{
    static const admin_sub_t subs[] = {
        {"gen", s_gen}, {"add", s_add}, {"remove", s_remove}, {"list", s_list}, {"show", s_show},
    };
    return admin_dispatch("keys", subs, sizeof subs / sizeof subs[0], cfg, argc, argv);
}
