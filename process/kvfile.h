/*
 * kvfile.h - `key = value` settings files and secrets read from the
 * environment or stdin, shared by the espace binary (espace.conf, admin
 * passwords) and espace-pro (its config file, login password).
 *
 * File format, one setting per line:
 *
 *     # a comment: only whole lines starting with '#' (after blanks)
 *     data_dir = /srv/espace#1      <- '#' inside a value is kept
 *     req_port=5570
 *
 * Blanks (spaces, tabs, CR) around keys and values are trimmed; blank lines
 * are ignored; the value is everything after the first '=' (it may be
 * empty: the callback decides). Lines are at most KVFILE_LINE_MAX - 2
 * characters, newline excluded.
 *
 * THREAD SAFETY: kvfile_parse is reentrant. kvfile_secret reads stdin and
 * the environment: main thread only.
 */
#ifndef ES_KVFILE_H
#define ES_KVFILE_H

#include <stddef.h>

#define KVFILE_LINE_MAX 2048 /* line buffer, newline and NUL included */
#define KVFILE_ERR_MIN 64    /* advised smallest err buffer (256 holds any path prefix) */

/* Called once per `key = value` line, in file order. key and value are
 * borrowed: valid during the call only (copy what you keep). Returns 0 to
 * go on, ES_NOT_FOUND for an unknown key, or another negative es_status
 * for a bad value; any negative return stops the parse. */
typedef int (*kvfile_pair_fn)(const char *key, const char *value, void *ctx);

/* Parse the file at `path`, calling on_pair for each setting.
 * Returns 0 when every line was accepted, or:
 *   ES_NOT_FOUND         the file cannot be opened; err = "PATH: strerror"
 *   ES_INVALID_ARGUMENT  a bad line; err = "PATH:LINE: why", why one of
 *                        "expected key = value", "line too long",
 *                        "unknown key 'KEY'" (on_pair said ES_NOT_FOUND),
 *                        "bad value for KEY" (on_pair said anything else)
 *   ES_INTERNAL          a read error; err = "PATH: read error"
 * err (size errlen, may be NULL when errlen is 0) is always a NUL-terminated
 * string, "" on success; it never holds the value (it may be a secret).
 * Callbacks made before an error are not undone. */
int kvfile_parse(const char *path, kvfile_pair_fn on_pair, void *ctx, char *err, size_t errlen);

/* Read a secret (a password) into out (size n, NUL-terminated):
 *   1. the environment variable env_name if set (env_name may be NULL);
 *   2. else one line of stdin, its "\n" or "\r\n" stripped; `prompt` (may be
 *      NULL) is written to stderr first, only if stdin is a terminal.
 * Returns 0, ES_NOT_FOUND when there is nothing (variable unset and stdin at
 * end of file, or the secret is empty), ES_TOO_LARGE when it does not fit
 * in n - 1 bytes (the rest of a long stdin line is not consumed). On error
 * out is wiped (all zero). The caller wipes out after use
 * (sodium_memzero). */
int kvfile_secret(const char *env_name, const char *prompt, char *out, size_t n);

#endif
