/* cert.c - edge_cert_generate: a self-signed pair for local TLS (edge.h). */
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "services/edge/edge.h"
#include "process/log.h"
#include "proto/status.h"

#define S_DAYS 365
#define S_MAX_CN 64

static int s_add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* PEM writers of the key and of the certificate, for s_write_pem. */
static int s_pem_key(FILE *f, void *obj)
{
    return PEM_write_PrivateKey(f, obj, NULL, NULL, 0, NULL, NULL) == 1;
}

static int s_pem_cert(FILE *f, void *obj)
{
    return PEM_write_X509(f, obj) == 1;
}

/* Write obj to path (with mode) through pem(), a synced temporary file and
 * a rename. 0 or -1. */
static int s_write_pem(const char *path, mode_t mode, int (*pem)(FILE *, void *), void *obj)
{
    char tmp[4096];
    int w = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (w < 0 || (size_t)w >= sizeof(tmp))
        return -1;
    (void)unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    int ok = pem(f, obj);
    ok = (fflush(f) == 0) && ok && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int edge_cert_generate(const char *cert_path, const char *key_path, const char *common_name)
{
    if (cert_path == NULL || key_path == NULL || common_name == NULL || !cert_path[0] ||
        !key_path[0] || !common_name[0] || strlen(common_name) > S_MAX_CN)
        return ES_INVALID_ARGUMENT;
    for (const char *p = common_name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-'))
            return ES_INVALID_ARGUMENT; /* a host name: it goes into the SAN text */
    int rc = ES_INTERNAL;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    if (key == NULL || x == NULL)
        goto done;
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof(serial)) != 1)
        goto done;
    serial[0] &= 0x7f; /* positive */
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    int ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    if (!ok || X509_set_version(x, 2) != 1 || X509_gmtime_adj(X509_getm_notBefore(x), -60) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), (long)S_DAYS * 24 * 3600) == NULL ||
        X509_set_pubkey(x, key) != 1)
        goto done;
    X509_NAME *name = X509_get_subject_name(x);
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)common_name,
                                   -1, -1, 0) != 1 ||
        X509_set_issuer_name(x, name) != 1)
        goto done;
    char san[256];
    snprintf(san, sizeof(san), "DNS:%s,DNS:localhost,IP:127.0.0.1", common_name);
    if (s_add_ext(x, NID_subject_alt_name, san) || s_add_ext(x, NID_basic_constraints, "CA:FALSE") ||
        s_add_ext(x, NID_key_usage, "critical,digitalSignature") ||
        s_add_ext(x, NID_ext_key_usage, "serverAuth") ||
        s_add_ext(x, NID_subject_key_identifier, "hash"))
        goto done;
    if (X509_sign(x, key, EVP_sha256()) == 0)
        goto done;
    if (s_write_pem(key_path, 0600, s_pem_key, key) != 0) {
        log_error("edge", "cert.write_failed", "file=key");
        goto done;
    }
    if (s_write_pem(cert_path, 0644, s_pem_cert, x) != 0) {
        log_error("edge", "cert.write_failed", "file=cert");
        unlink(key_path);
        goto done;
    }
    rc = 0;
done:
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}
