/* admin_backup.c - `espace admin backup --out DIR`: a hot, consistent copy
 * of every store of the data folder (store_backup), with the side files of
 * each store folder (keys). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "espace/admin_int.h"
#include "storage/store.h"


/* dir/name into out (size n); -1 if it does not fit. */
static int s_join(char *out, size_t n, const char *dir, const char *name)
{
    int w = snprintf(out, n, "%s/%s", dir, name);
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}

/* Copy one regular file (not the LMDB files) keeping its mode. */
static int s_copy_file(const char *from, const char *to, mode_t mode)
{
    int ret = -1;
    char buf[8192];
    int in = open(from, O_RDONLY);
    if (in < 0)
        return -1;
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL, mode & 0777);
    if (out < 0)
        goto close_in;
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto close_out;
        if (r == 0)
            break;
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                goto close_out;
            off += w;
        }
    }
    ret = fsync(out);
close_out:
    if (close(out) < 0)
        ret = -1;
close_in:
    close(in);
    sodium_memzero(buf, sizeof buf);
    return ret;
}

/* Copy the side files of a store folder (keys): everything but the LMDB
 * files and what store_backup already wrote. */
static int s_copy_side_files(const char *src, const char *dst)
{
    DIR *d = opendir(src);
    if (!d)
        return -1;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, "data.mdb") || !strcmp(de->d_name, "lock.mdb") ||
            de->d_name[0] == '.')
            continue;
        char from[2 * CONFIG_PATH_MAX], to[2 * CONFIG_PATH_MAX];
        struct stat st;
        if (s_join(from, sizeof from, src, de->d_name) < 0 ||
            s_join(to, sizeof to, dst, de->d_name) < 0) {
            rc = -1;
            continue;
        }
        if (stat(from, &st) < 0 || !S_ISREG(st.st_mode) || access(to, F_OK) == 0)
            continue;
        if (s_copy_file(from, to, st.st_mode) < 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

int admin_backup(const espace_config_t *cfg, int argc, char **argv)
{
    cli_opt_t opts[] = {CLI_OPT("--out", CLI_REQUIRED)};
    int usage = admin_options("backup", argc, argv, opts, CLI_COUNT(opts));
    if (usage)
        return usage;
    const char *out = CLI_VALUE(opts, "--out");
    if (mkdir(out, 0700) < 0 && errno != EEXIST)
        return cli_fail(ES_INTERNAL, "cannot create %s: %s", out, strerror(errno));
    DIR *d = opendir(cfg->data_dir);
    if (!d)
        return cli_fail(ES_NOT_FOUND, "no data folder");
    int failures = 0, copied = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char src[2 * CONFIG_PATH_MAX], dst[2 * CONFIG_PATH_MAX], mdb[2 * CONFIG_PATH_MAX + 16];
        if (de->d_name[0] == '.')
            continue;
        if (s_join(src, sizeof src, cfg->data_dir, de->d_name) < 0 ||
            s_join(mdb, sizeof mdb, src, "data.mdb") < 0 || access(mdb, F_OK) < 0)
            continue; /* not a store (run/, ...) */
        if (s_join(dst, sizeof dst, out, de->d_name) < 0) {
            fprintf(stderr, "error: INVALID_ARGUMENT: backup path too long\n");
            failures++;
            continue;
        }
        static const char *no_tables[] = {NULL};
        store_opts_t o = {.tables = no_tables};
        store_t *s = NULL;
        int rc = store_open(src, &o, &s);
        if (rc == 0)
            rc = store_backup(s, dst);
        store_close(&s);
        if (rc == 0 && s_copy_side_files(src, dst) < 0)
            rc = ES_INTERNAL;
        if (rc < 0) {
            fprintf(stderr, "error: %s: backup of store '%s' failed\n", es_status_name(rc),
                    de->d_name);
            failures++;
            continue;
        }
        printf("%s -> %s\n", de->d_name, dst);
        copied++;
    }
    closedir(d);
    if (failures)
        return 1;
    if (!copied)
        return cli_fail(ES_NOT_FOUND, "no store in the data folder");
    return 0;
}
