/*
 * backup.c - online compacting backup (store_backup) from a read snapshot.
 */
#include "storage/store_int.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proto/status.h"

/* ------------------------------------------------------------------------ */
/* backup                                                                   */

/* ES_OK if dir is (now) an empty folder. */
static int s_empty_dir(const char *dir)
{
    int rc = store_mkdir(dir);
    if (rc != ES_OK)
        return rc;
    DIR *d = opendir(dir);
    if (!d)
        return ES_INTERNAL;
    struct dirent *e;
    rc = ES_OK;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            rc = ES_ALREADY_EXISTS;
            break;
        }
    }
    closedir(d);
    return rc;
}

int store_backup(store_t *s, const char *dir)
{
    if (!s || !dir || !*dir)
        return ES_INVALID_ARGUMENT;
    int rc = s_empty_dir(dir);
    if (rc != ES_OK)
        return rc;
    char *kpath = store_path(dir, STORE_KEY_FILE);
    char *dpath = store_path(dir, "data.mdb");
    if (!kpath || !dpath) {
        rc = ES_RESOURCE_EXHAUSTED;
        goto free_paths;
    }
    /* The copy is created here, 0600 like the store itself (mdb_env_copy2
     * would create it with the process umask). */
    int fd = open(dpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = ES_INTERNAL;
        goto free_paths;
    }
    /* mdb_env_copyfd2 runs its own read transaction: count it, so that the
     * writer does not resize the map under it. */
    rc = store_reader_enter(s);
    if (rc != ES_OK) {
        close(fd);
        unlink(dpath);
        goto free_paths;
    }
    int mrc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
    store_reader_leave(s);
    if (mrc == MDB_SUCCESS && fsync(fd) != 0)
        mrc = EIO;
    if (close(fd) != 0 && mrc == MDB_SUCCESS)
        mrc = EIO;
    if (mrc != MDB_SUCCESS) {
        rc = store_mdb_status(mrc);
        unlink(dpath);
        goto free_paths;
    }
    rc = store_write_key(kpath, s->master, sizeof(s->master));
    if (rc != ES_OK) {
        rc = ES_INTERNAL;
        unlink(dpath);
        goto free_paths;
    }
    if (store_fsync_dir(dir) != 0)
        rc = ES_INTERNAL;
free_paths:
    free(kpath);
    free(dpath);
    return rc;
}
