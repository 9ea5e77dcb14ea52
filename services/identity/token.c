/*
 * token.c - session tokens: Ed25519-signed, base64url (see token.h).
 */
#include "services/identity/token.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus/codec.h"
#include "proto/status.h"

#define S_KIND_MAX 5 /* PRINCIPAL_SERVICE, highest PrincipalKind */

static void s_be64_put(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t s_be64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

int token_sign(const uint8_t secret_key[TOKEN_SECRET_BYTES], const token_fields_t *f,
               char out[TOKEN_MAX_TEXT])
{
    uint8_t bin[TOKEN_MAX_BIN];
    size_t plen;

    if (!secret_key || !f || !out)
        return ES_INVALID_ARGUMENT;
    plen = strnlen(f->principal, sizeof f->principal);
    if (f->kind < 1 || f->kind > S_KIND_MAX || plen == 0 || plen > TOKEN_MAX_PRINCIPAL ||
        !codec_utf8_valid(f->principal, plen) || f->expires_ms < 0 || f->issued_ms < 0)
        return ES_INVALID_ARGUMENT;

    bin[0] = TOKEN_VERSION;
    bin[1] = f->kind;
    memcpy(bin + 2, f->session_id, TOKEN_ID_BYTES);
    memcpy(bin + 18, f->device_id, TOKEN_ID_BYTES);
    s_be64_put(bin + 34, (uint64_t)f->expires_ms);
    s_be64_put(bin + 42, (uint64_t)f->issued_ms);
    memcpy(bin + TOKEN_FIXED_BYTES, f->principal, plen);
    size_t len = TOKEN_FIXED_BYTES + plen;
    if (crypto_sign_detached(bin + len, NULL, bin, len, secret_key) != 0)
        return ES_INTERNAL;
    len += TOKEN_SIG_BYTES;
    sodium_bin2base64(out, TOKEN_MAX_TEXT, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

int token_verify(const uint8_t public_key[TOKEN_PUBLIC_BYTES], const char *text, int64_t now_ms,
                 token_fields_t *f)
{
    uint8_t bin[TOKEN_MAX_BIN];
    size_t tlen, blen = 0;
    const char *end = NULL;
    token_fields_t tmp;

    memset(&tmp, 0, sizeof tmp);
    if (f)
        memset(f, 0, sizeof *f);
    if (!public_key || !text)
        return ES_UNAUTHENTICATED;
    tlen = strnlen(text, TOKEN_MAX_TEXT);
    if (tlen == 0 || tlen >= TOKEN_MAX_TEXT)
        return ES_UNAUTHENTICATED;
    if (sodium_base642bin(bin, sizeof bin, text, tlen, NULL, &blen, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != text + tlen)
        return ES_UNAUTHENTICATED;
    if (blen < TOKEN_FIXED_BYTES + 1 + TOKEN_SIG_BYTES || blen > TOKEN_MAX_BIN)
        return ES_UNAUTHENTICATED;

    size_t plen = blen - TOKEN_SIG_BYTES; /* signed payload */
    if (crypto_sign_verify_detached(bin + plen, bin, plen, public_key) != 0)
        return ES_UNAUTHENTICATED;
    if (bin[0] != TOKEN_VERSION || bin[1] < 1 || bin[1] > S_KIND_MAX)
        return ES_UNAUTHENTICATED;

    size_t nlen = plen - TOKEN_FIXED_BYTES;
    const char *principal = (const char *)bin + TOKEN_FIXED_BYTES;
    if (!codec_utf8_valid(principal, nlen))
        return ES_UNAUTHENTICATED;
    uint64_t exp = s_be64_get(bin + 34), iat = s_be64_get(bin + 42);
    if (exp > INT64_MAX || iat > INT64_MAX || now_ms >= (int64_t)exp)
        return ES_UNAUTHENTICATED;

    tmp.kind = bin[1];
    memcpy(tmp.session_id, bin + 2, TOKEN_ID_BYTES);
    memcpy(tmp.device_id, bin + 18, TOKEN_ID_BYTES);
    tmp.expires_ms = (int64_t)exp;
    tmp.issued_ms = (int64_t)iat;
    memcpy(tmp.principal, principal, nlen);
    tmp.principal[nlen] = '\0';
    if (f)
        *f = tmp;
    return 0;
}

/* Read exactly n bytes of an open file; ES_INTERNAL if it has another size. */
static int s_read_exact(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    uint8_t extra;

    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return ES_INTERNAL;
        got += (size_t)r;
    }
    ssize_t r;
    do
        r = read(fd, &extra, 1);
    while (r < 0 && errno == EINTR);
    return r == 0 ? 0 : ES_INTERNAL;
}

static int s_write_file(const char *path, const void *data, size_t n, mode_t mode, int excl)
{
    int rc = ES_INTERNAL;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC), mode);
    if (fd < 0)
        return ES_INTERNAL;
    const uint8_t *p = data;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto close_fd;
        done += (size_t)w;
    }
    if (fsync(fd) != 0)
        goto close_fd;
    rc = 0;
close_fd:
    close(fd);
    return rc;
}

static int s_pub_path(const char *path, char *out, size_t n)
{
    int w = snprintf(out, n, "%s.pub", path);
    return (w < 0 || (size_t)w >= n) ? ES_INVALID_ARGUMENT : 0;
}

static int s_write_pub(const char *pub_path, const uint8_t pk[TOKEN_PUBLIC_BYTES])
{
    char hex[TOKEN_PUBLIC_BYTES * 2 + 2];
    sodium_bin2hex(hex, sizeof hex, pk, TOKEN_PUBLIC_BYTES);
    hex[TOKEN_PUBLIC_BYTES * 2] = '\n';
    hex[TOKEN_PUBLIC_BYTES * 2 + 1] = '\0';
    /* write to a temporary name and rename, so readers never see half a key */
    char tmp[4096];
    int w = snprintf(tmp, sizeof tmp, "%s.tmp", pub_path);
    if (w < 0 || (size_t)w >= sizeof tmp)
        return ES_INVALID_ARGUMENT;
    (void)unlink(tmp);
    if (s_write_file(tmp, hex, TOKEN_PUBLIC_BYTES * 2 + 1, 0644, 1) != 0)
        return ES_INTERNAL;
    if (rename(tmp, pub_path) != 0) {
        (void)unlink(tmp);
        return ES_INTERNAL;
    }
    return 0;
}

int token_keypair_load(const char *path, int create, uint8_t public_key[TOKEN_PUBLIC_BYTES],
                       uint8_t secret_key[TOKEN_SECRET_BYTES])
{
    char pub_path[4096];
    struct stat st;
    int rc;

    if (!path || !public_key || !secret_key)
        return ES_INVALID_ARGUMENT;
    if ((rc = s_pub_path(path, pub_path, sizeof pub_path)) != 0)
        return rc;

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            return ES_INTERNAL;
        if (!create)
            return ES_NOT_FOUND;
        crypto_sign_keypair(public_key, secret_key);
        rc = s_write_file(path, secret_key, TOKEN_SECRET_BYTES, 0600, 1);
        if (rc == 0)
            rc = s_write_pub(pub_path, public_key);
        if (rc != 0)
            sodium_memzero(secret_key, TOKEN_SECRET_BYTES);
        return rc;
    }

    rc = ES_INTERNAL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0)
        goto close_fd;
    if (s_read_exact(fd, secret_key, TOKEN_SECRET_BYTES) != 0)
        goto wipe;
    /* libsodium's secret key is seed || public key: re-derive from the seed
     * and insist both halves agree, so a damaged file is refused */
    {
        uint8_t seed[crypto_sign_SEEDBYTES], sk2[TOKEN_SECRET_BYTES];
        int bad = crypto_sign_ed25519_sk_to_seed(seed, secret_key) != 0 ||
                  crypto_sign_seed_keypair(public_key, sk2, seed) != 0 ||
                  sodium_memcmp(sk2, secret_key, TOKEN_SECRET_BYTES) != 0;
        sodium_memzero(seed, sizeof seed);
        sodium_memzero(sk2, sizeof sk2);
        if (bad)
            goto wipe;
    }
    if (access(pub_path, F_OK) != 0 && s_write_pub(pub_path, public_key) != 0)
        goto wipe;
    rc = 0;
    goto close_fd;
wipe:
    sodium_memzero(secret_key, TOKEN_SECRET_BYTES);
close_fd:
    close(fd);
    return rc;
}

int token_public_load(const char *pub_path, uint8_t public_key[TOKEN_PUBLIC_BYTES])
{
    char text[TOKEN_PUBLIC_BYTES * 2 + 16];
    size_t n = 0, bin_len = 0;
    const char *end = NULL;

    if (!pub_path || !public_key)
        return ES_INVALID_ARGUMENT;
    int fd = open(pub_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? ES_NOT_FOUND : ES_INTERNAL;
    for (;;) {
        ssize_t r = read(fd, text + n, sizeof text - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            close(fd);
            return ES_INTERNAL;
        }
        if (r == 0 || (n += (size_t)r) == sizeof text - 1)
            break;
    }
    close(fd);
    text[n] = '\0';
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ' ||
                     text[n - 1] == '\t'))
        text[--n] = '\0';
    if (n != TOKEN_PUBLIC_BYTES * 2 ||
        sodium_hex2bin(public_key, TOKEN_PUBLIC_BYTES, text, n, NULL, &bin_len, &end) != 0 ||
        bin_len != TOKEN_PUBLIC_BYTES || end != text + n)
        return ES_INTERNAL;
    return 0;
}
