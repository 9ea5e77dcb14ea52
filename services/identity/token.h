/*
 * token.h - espace session tokens (docs/protocol.md, "Session tokens").
 *
 * A token is base64url (RFC 4648 section 5, no padding) of
 *     payload || Ed25519 signature (64 bytes)
 * where the signature is made by the identity service's signing key over the
 * payload:
 *     1  version (TOKEN_VERSION)
 *     1  principal kind (espace.v1.PrincipalKind, 1..5)
 *     16 session id
 *     16 device id
 *     8  expiry, ms since the epoch, big-endian
 *     8  issue time, ms since the epoch, big-endian
 *     1..TOKEN_MAX_PRINCIPAL  principal (patient id hex or RPPS), UTF-8
 *
 * The identity service signs (token_sign); any peer holding the public key
 * verifies (token_verify) without a round trip. A valid signature says only
 * that identity issued the token: revocation is known to identity (method
 * Authenticate) and published on "identity.session.revoked".
 *
 * Key files (kept by the identity service in <data>/identity):
 *   token.key      the Ed25519 secret key as libsodium stores it (64 raw
 *                  bytes: seed || public key), mode 0600;
 *   token.key.pub  the public key as 64 lower-case hex characters and a
 *                  newline, for the broker, edges and operators.
 *
 * Tokens are secrets: never log them.
 *
 * THREAD SAFETY: every function is thread-safe (no shared state).
 * Errors: 0 or a negative es_status (proto/status.h).
 */
#ifndef ES_TOKEN_H
#define ES_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_VERSION 1
#define TOKEN_ID_BYTES 16          /* session and device ids */
#define TOKEN_MAX_PRINCIPAL 64     /* bytes of principal text */
#define TOKEN_FIXED_BYTES 50       /* payload bytes before the principal */
#define TOKEN_SIG_BYTES 64         /* Ed25519 signature */
#define TOKEN_PUBLIC_BYTES 32      /* Ed25519 public key */
#define TOKEN_SECRET_BYTES 64      /* Ed25519 secret key (libsodium layout) */
#define TOKEN_MAX_BIN (TOKEN_FIXED_BYTES + TOKEN_MAX_PRINCIPAL + TOKEN_SIG_BYTES)
/* Longest token text, including the terminating NUL (4/3 of TOKEN_MAX_BIN). */
#define TOKEN_MAX_TEXT (((TOKEN_MAX_BIN + 2) / 3) * 4 + 1)

/* What a token says. */
typedef struct token_fields {
    uint8_t kind;                              /* espace.v1.PrincipalKind */
    uint8_t session_id[TOKEN_ID_BYTES];
    uint8_t device_id[TOKEN_ID_BYTES];
    int64_t expires_ms;                        /* token invalid from this instant */
    int64_t issued_ms;
    char principal[TOKEN_MAX_PRINCIPAL + 1];   /* NUL-terminated */
} token_fields_t;

/* Sign `f` with `secret_key` into out (NUL-terminated text of at most
 * TOKEN_MAX_TEXT bytes including the NUL). ES_INVALID_ARGUMENT if kind is
 * not 1..5, the principal is empty, longer than TOKEN_MAX_PRINCIPAL or not
 * valid UTF-8, or an expiry/issue time is negative. */
int token_sign(const uint8_t secret_key[TOKEN_SECRET_BYTES], const token_fields_t *f,
               char out[TOKEN_MAX_TEXT]);

/* Check `text` (NUL-terminated, untrusted): base64url without padding,
 * sizes, version, signature by `public_key`, principal UTF-8, and that it
 * has not expired at now_ms (expired when now_ms >= expires_ms). On success
 * fills *f (may be NULL). Every failure is ES_UNAUTHENTICATED and leaves *f
 * zeroed. */
int token_verify(const uint8_t public_key[TOKEN_PUBLIC_BYTES], const char *text, int64_t now_ms,
                 token_fields_t *f);

/* Load the signing keypair from `path` (secret, 64 raw bytes, must not be
 * readable by group/others) and `path`.pub (hex). With create = 1, make both
 * files (0600 / 0644) when the secret file is absent. The public key is
 * always re-derived from the secret key (and the .pub file rewritten if it
 * is missing). ES_NOT_FOUND if absent and create = 0; ES_INTERNAL for bad
 * permissions, a malformed file or an I/O error. The caller wipes
 * secret_key with sodium_memzero when done. */
int token_keypair_load(const char *path, int create, uint8_t public_key[TOKEN_PUBLIC_BYTES],
                       uint8_t secret_key[TOKEN_SECRET_BYTES]);

/* Load a public key file written by token_keypair_load (64 hex characters,
 * optional trailing whitespace), e.g. <data>/identity/token.key.pub.
 * ES_NOT_FOUND if absent, ES_INTERNAL if malformed. */
int token_public_load(const char *pub_path, uint8_t public_key[TOKEN_PUBLIC_BYTES]);

#endif
