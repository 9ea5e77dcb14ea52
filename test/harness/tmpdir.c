/* tmpdir.c - the temporary folders and files of tmpdir.h. */
#include "test/harness/tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int h_mkdtemp(char dir[64], const char *prefix)
{
    snprintf(dir, 64, "/tmp/%sXXXXXX", prefix);
    return mkdtemp(dir) ? 0 : -1;
}

int h_rmtree(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cleanup of %s failed\n", dir);
        return -1;
    }
    return 0;
}

const char *h_write_file(const char *dir, const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        abort();
    }
    return path;
}
