/* vector_file.c - see vector_file.h. */
#include "test/vectors/vector_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vector_file(const char *who, const char *dir, const char *name, const char *doc, size_t len,
                int check)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!check) {
        FILE *f = fopen(path, "wb");
        int ok = f && fwrite(doc, 1, len, f) == len && fputc('\n', f) == '\n';
        if (f && fclose(f) != 0)
            ok = 0;
        return ok ? 0 : -1;
    }
    FILE *f = fopen(path, "rb");
    char *old = malloc(len + 2);
    size_t got = f && old ? fread(old, 1, len + 2, f) : 0;
    int rc = 0;
    if (!f || got != len + 1 || memcmp(old, doc, len) != 0 || old[len] != '\n') {
        fprintf(stderr, "%s: %s differs from what the code makes now\n", who, path);
        rc = 1;
    }
    free(old);
    if (f)
        fclose(f);
    return rc;
}
