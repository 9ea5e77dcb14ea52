/*
 * tmpdir.h - temporary folders and files for the tests that touch the disk
 * (library es_test_tmpdir; the harness re-exports it).
 *
 * Not thread-safe: h_write_file answers in a static buffer.
 */
#ifndef ES_TEST_TMPDIR_H
#define ES_TEST_TMPDIR_H

/* A fresh folder /tmp/<prefix>XXXXXX in dir. 0 or -1. */
int h_mkdtemp(char dir[64], const char *prefix);

/* rm -rf dir. 0 or -1 (said on stderr). */
int h_rmtree(const char *dir);

/* Write text to <dir>/<name> (created or replaced). Its path, in a static
 * buffer valid until the next call; aborts the test if it cannot write. */
const char *h_write_file(const char *dir, const char *name, const char *text);

#endif
