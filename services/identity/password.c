/*
 * password.c - Argon2id password hashes (see password.h).
 */
#include "services/identity/password.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/status.h"

_Static_assert(PASSWORD_HASH_MAX == crypto_pwhash_STRBYTES, "PASSWORD_HASH_MAX");

static void s_cost(unsigned long long *ops, size_t *mem)
{
    const char *v = getenv("ESPACE_PWHASH");

    if (v && strcmp(v, "min") == 0) {
        *ops = crypto_pwhash_OPSLIMIT_MIN;
        *mem = crypto_pwhash_MEMLIMIT_MIN;
    } else if (v && strcmp(v, "moderate") == 0) {
        *ops = crypto_pwhash_OPSLIMIT_MODERATE;
        *mem = crypto_pwhash_MEMLIMIT_MODERATE;
    } else {
        *ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
        *mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    }
}

int password_hash(const char *pw, size_t len, char out[PASSWORD_HASH_MAX])
{
    unsigned long long ops;
    size_t mem;

    if (!pw || !out)
        return ES_INVALID_ARGUMENT;
    s_cost(&ops, &mem);
    if (crypto_pwhash_str_alg(out, pw, len, ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return ES_RESOURCE_EXHAUSTED;
    return 0;
}

int password_verify(const char *hash, const char *pw, size_t len)
{
    if (!hash || !pw)
        return ES_UNAUTHENTICATED;
    if (strnlen(hash, PASSWORD_HASH_MAX) >= PASSWORD_HASH_MAX)
        return ES_UNAUTHENTICATED;
    return crypto_pwhash_str_verify(hash, pw, len) == 0 ? 0 : ES_UNAUTHENTICATED;
}
