/*
 * password.h - password hashing for identity: Argon2id through libsodium's
 * crypto_pwhash_str (PHC string format, salt and cost inside the string).
 *
 * Cost, chosen by the environment variable ESPACE_PWHASH at each hash:
 *   "interactive" (default, also for unset or unknown values)
 *       crypto_pwhash_OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE (64 MiB);
 *   "moderate"  crypto_pwhash_OPSLIMIT_MODERATE / MEMLIMIT_MODERATE (256 MiB);
 *   "min"       crypto_pwhash_OPSLIMIT_MIN / MEMLIMIT_MIN: TESTS ONLY, it
 *               offers no protection against offline guessing.
 * A verification uses the cost recorded in the stored string, so changing
 * ESPACE_PWHASH affects only new hashes.
 *
 * Passwords are secrets: never log them; callers wipe their copies.
 *
 * THREAD SAFETY: thread-safe (getenv aside: do not setenv concurrently).
 */
#ifndef ES_PASSWORD_H
#define ES_PASSWORD_H

#include <stddef.h>

#define PASSWORD_HASH_MAX 128 /* == crypto_pwhash_STRBYTES, incl. the NUL */

/* Hash `pw` (len bytes, need not be NUL-terminated) into out (NUL-terminated
 * PHC string). 0, or ES_RESOURCE_EXHAUSTED when the memory cost could not be
 * allocated. */
int password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_MAX]);

/* 0 if `pw` matches `hash` (a string from password_hash), else
 * ES_UNAUTHENTICATED (also for a malformed hash). */
int password_verify(const char *hash, const char *pw, size_t len);

#endif
