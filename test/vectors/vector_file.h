/*
 * vector_file.h - how the vector generators (test/vectors/<name>/gen.c) keep
 * their JSON files: written when asked to, or compared byte for byte with
 * the committed ones (the ctest "--check" mode), so the C and JS suites keep
 * reading vectors that the C code really makes.
 */
#ifndef ES_VECTOR_FILE_H
#define ES_VECTOR_FILE_H

#include <stddef.h>

/* With check = 0, write doc (len bytes) and a newline to <dir>/<name>; with
 * check = 1, compare that file with them. 0 if written or equal; 1 if the
 * file differs or is missing (said on stderr, naming `who`); -1 if it could
 * not be written. */
int vector_file(const char *who, const char *dir, const char *name, const char *doc, size_t len,
                int check);

#endif
