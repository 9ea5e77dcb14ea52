/* home.c - espace-pro's home folder, connection and saved session (pro.h). */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clients/pro/pro.h"
#include "process/kvfile.h"

int pro_path(char *out, size_t n, const char *home, const char *name)
{
    int w = snprintf(out, n, "%s/%s", home, name);
    return (w < 0 || (size_t)w >= n) ? ES_INVALID_ARGUMENT : 0;
}

static int s_mkhome(const char *home)
{
    char tmp[PRO_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", home);
    for (char *p = tmp + 1; *p; p++) { /* mkdir -p */
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
            return ES_INTERNAL;
        *p = '/';
    }
    if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
        return ES_INTERNAL;
    return 0;
}

int pro_parse_ms(const char *v, unsigned *out)
{
    uint64_t x;
    if (cli_parse_u64(v, 3600000, &x) < 0)
        return ES_INVALID_ARGUMENT;
    *out = (unsigned)x;
    return 0;
}

/* One setting of <home>/config (kvfile.h); flags given win over the file. */
static int s_conf_pair(const char *k, const char *v, void *ctx)
{
    pro_conf_t *c = ctx;
    if (!strcmp(k, "broker")) {
        if (strlen(v) >= sizeof c->broker)
            return ES_INVALID_ARGUMENT;
        if (!c->broker_flag)
            snprintf(c->broker, sizeof c->broker, "%s", v);
        return 0;
    }
    if (!strcmp(k, "broker_key")) {
        if (strlen(v) >= sizeof c->broker_key)
            return ES_INVALID_ARGUMENT;
        if (!c->key_flag)
            snprintf(c->broker_key, sizeof c->broker_key, "%s", v);
        return 0;
    }
    if (!strcmp(k, "timeout_ms")) {
        unsigned t;
        if (pro_parse_ms(v, &t) < 0)
            return ES_INVALID_ARGUMENT;
        c->timeout_file = t;
        if (!c->timeout_ms)
            c->timeout_ms = t;
        return 0;
    }
    return ES_NOT_FOUND;
}

int pro_home_load(pro_conf_t *c)
{
    char path[PRO_PATH_MAX + 16], err[PRO_PATH_MAX + 128];
    if (s_mkhome(c->home) < 0)
        return cli_fail(ES_INTERNAL, "cannot create %s: %s", c->home, strerror(errno));
    if (pro_path(path, sizeof path, c->home, "config") < 0)
        return cli_fail(ES_INVALID_ARGUMENT, "home path too long");
    int rc = kvfile_parse(path, s_conf_pair, c, err, sizeof err);
    if (rc == ES_NOT_FOUND)
        return 0;
    if (rc < 0)
        return cli_fail(rc, "%s", err);
    return 0;
}

int pro_write_file(const char *home, const char *name, const char *data, mode_t mode)
{
    char path[PRO_PATH_MAX + 16], tmp[PRO_PATH_MAX + 32];
    if (pro_path(path, sizeof path, home, name) < 0)
        return ES_INVALID_ARGUMENT;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, mode);
    if (fd < 0)
        return ES_INTERNAL;
    size_t len = strlen(data), off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            unlink(tmp);
            return ES_INTERNAL;
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        unlink(tmp);
        return ES_INTERNAL;
    }
    return 0;
}

int pro_conf_save(const pro_conf_t *c)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "# espace-pro settings (written by login)\nbroker = %s\n%s%s%s",
             c->broker, c->broker_key[0] ? "broker_key = " : "", c->broker_key,
             c->broker_key[0] ? "\n" : "");
    if (c->timeout_file) {
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof buf - n, "timeout_ms = %u\n", c->timeout_file);
    }
    return pro_write_file(c->home, "config", buf, 0600);
}

int pro_open(const pro_conf_t *c, espace_t **e)
{
    if (!c->broker[0])
        return cli_fail(ES_INVALID_ARGUMENT, "no broker: pass --broker tcp://HOST:PORT");
    char key[PRO_PATH_MAX + 16];
    if (pro_path(key, sizeof key, c->home, "curve.key") < 0)
        return cli_fail(ES_INVALID_ARGUMENT, "home path too long");
    int is_tcp = !strncmp(c->broker, "tcp://", 6);
    if (is_tcp && !c->broker_key[0])
        return cli_fail(ES_INVALID_ARGUMENT, "no broker key: pass --broker-key Z85");
    espace_opts_t o = {
        .endpoint = c->broker,
        .broker_key = c->broker_key,
        .keypair_path = key,
        .create_keypair = 0,
        .timeout_ms = c->timeout_ms,
    };
    int rc = espace_open(&o, e);
    if (rc == ES_NOT_FOUND)
        return cli_fail(rc, "no keypair in %s (run espace-pro keygen)", c->home);
    if (rc < 0)
        return cli_fail(rc, "cannot connect to %s (bad endpoint, broker key or keypair file)",
                        c->broker);
    return 0;
}

int pro_resume(const pro_conf_t *c, espace_t **e, int *gone)
{
    char path[PRO_PATH_MAX + 16], token[ESPACE_TOKEN_MAX + 2];
    espace_error_t err;
    *gone = 0;
    if (pro_path(path, sizeof path, c->home, "session") < 0)
        return cli_fail(ES_INVALID_ARGUMENT, "home path too long");
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_fail(ES_UNAUTHENTICATED, "not logged in (run espace-pro login)");
    char *got = fgets(token, sizeof token, f);
    fclose(f);
    int rc = 0;
    if (!got) {
        rc = cli_fail(ES_UNAUTHENTICATED, "empty session file %s", path);
        goto wipe;
    }
    token[strcspn(token, "\r\n")] = '\0';
    rc = pro_open(c, e);
    if (rc)
        goto wipe;
    if (espace_resume(*e, token, &err) < 0) {
        *gone = err.status == ES_UNAUTHENTICATED;
        espace_close(e);
        rc = cli_fail_err(&err);
    }
wipe:
    sodium_memzero(token, sizeof token);
    return rc;
}

int pro_patient(espace_t *e, const char *arg, char pid[ESPACE_PATIENT_ID_MAX])
{
    espace_error_t err;
    if (!arg)
        return cli_fail(ES_INVALID_ARGUMENT, "--patient INS|ID is required");
    if (espace_patient_id(e, arg, pid, &err) < 0)
        return cli_fail_err(&err);
    return 0;
}

int pro_resume_patient(const pro_conf_t *c, const char *patient, espace_t **e,
                       char pid[ESPACE_PATIENT_ID_MAX])
{
    int gone;
    pid[0] = '\0';
    int rc = pro_resume(c, e, &gone);
    if (rc == 0 && patient && (rc = pro_patient(*e, patient, pid)) != 0)
        espace_close(e);
    return rc;
}

int pro_read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cli_fail(ES_NOT_FOUND, "cannot open %s: %s", path, strerror(errno));
    int rc = 0;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            uint8_t *g = cap > max ? NULL : realloc(buf, cap * 2 + 1);
            if (!g) {
                rc = cli_fail(ES_TOO_LARGE, "%s: files are at most %zu bytes", path, max);
                break;
            }
            buf = g;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (!buf)
        rc = cli_fail(ES_RESOURCE_EXHAUSTED, "out of memory");
    else if (rc == 0 && ferror(f))
        rc = cli_fail(ES_INTERNAL, "cannot read %s", path);
    else if (rc == 0 && n > max)
        rc = cli_fail(ES_TOO_LARGE, "%s: files are at most %zu bytes", path, max);
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return 0;
}

const char *pro_mime(const char *name)
{
    static const char *const map[][2] = {
        {".pdf", "application/pdf"}, {".txt", "text/plain"}, {".png", "image/png"},
        {".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"}, {".xml", "application/xml"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof map / sizeof map[0]; i++)
        if (!strcasecmp(dot, map[i][0]))
            return map[i][1];
    return "application/octet-stream";
}
