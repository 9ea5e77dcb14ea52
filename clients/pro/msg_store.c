/* msg_store.c - espace-pro's encrypted messaging store (msg.h). */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clients/pro/msg.h"
#include "proto/ids.h"

#define S_MAGIC "ESPMSG01"
#define S_HEAD (8 + 8 + 8 + 16 + crypto_secretbox_NONCEBYTES)
#define S_FILE_MAX ((size_t)256 << 20)
#define S_PREKEY_BYTES (1 + 4 + 8 + 32 + 32 + 64)

/* ---- a growing buffer and a bounded reader ---- */

typedef struct s_buf {
    uint8_t *p;
    size_t n, cap;
    int bad;
} s_buf_t;

static void s_put(s_buf_t *b, const void *d, size_t n)
{
    if (b->bad)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *p = sodium_malloc(cap);
        if (!p) {
            b->bad = 1;
            return;
        }
        if (b->p) {
            memcpy(p, b->p, b->n);
            sodium_free(b->p);
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void s_u64(s_buf_t *b, uint64_t v, int bytes)
{
    uint8_t t[8];
    for (int i = 0; i < bytes; i++)
        t[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    s_put(b, t, (size_t)bytes);
}

typedef struct s_rd {
    const uint8_t *p;
    size_t n, off;
    int bad;
} s_rd_t;

static const uint8_t *s_get(s_rd_t *r, size_t n)
{
    if (r->bad || n > r->n - r->off) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

static uint64_t s_getu(s_rd_t *r, int bytes)
{
    const uint8_t *p = s_get(r, (size_t)bytes);
    uint64_t v = 0;
    for (int i = 0; p && i < bytes; i++)
        v = (v << 8) | p[i];
    return v;
}

static void s_getn(s_rd_t *r, void *out, size_t n)
{
    const uint8_t *p = s_get(r, n);
    if (p)
        memcpy(out, p, n);
    else
        memset(out, 0, n);
}

/* ---- content ---- */

static void s_put_prekey(s_buf_t *b, const e2e_prekey_t *k)
{
    s_u64(b, k->kind, 1);
    s_u64(b, k->id, 4);
    s_u64(b, (uint64_t)k->created_s, 8);
    s_put(b, k->pk, 32);
    s_put(b, k->sk, 32);
    s_put(b, k->sig, 64);
}

static void s_get_prekey(s_rd_t *r, e2e_prekey_t *k)
{
    k->kind = (uint8_t)s_getu(r, 1);
    k->id = (uint32_t)s_getu(r, 4);
    k->created_s = (int64_t)s_getu(r, 8);
    s_getn(r, k->pk, 32);
    s_getn(r, k->sk, 32);
    s_getn(r, k->sig, 64);
}

static void s_put_str(s_buf_t *b, const char *s, int lenbytes)
{
    size_t n = strlen(s);
    s_u64(b, n, lenbytes);
    s_put(b, s, n);
}

/* A string of at most cap - 1 bytes into out (NUL-terminated). */
static void s_get_str(s_rd_t *r, char *out, size_t cap, int lenbytes)
{
    size_t n = (size_t)s_getu(r, lenbytes);
    if (n >= cap) {
        r->bad = 1;
        n = 0;
    }
    s_getn(r, out, n);
    out[n] = '\0';
}

static int s_encode(const msg_store_t *st, s_buf_t *b)
{
    s_put(b, st->device, 16);
    s_put_str(b, st->rpps, 1);
    s_u64(b, st->registered, 1);
    s_u64(b, st->has_old, 1);
    s_u64(b, st->next_id, 4);
    s_put(b, st->ik.sign_sk, E2E_SIGN_SECRET_BYTES);
    s_put_prekey(b, &st->spk);
    s_put_prekey(b, &st->lrk);
    if (st->has_old) {
        s_put_prekey(b, &st->old_spk);
        s_put_prekey(b, &st->old_lrk);
    }
    s_u64(b, st->n_opk, 4);
    for (size_t i = 0; i < st->n_opk; i++)
        s_put_prekey(b, &st->opk[i]);
    s_u64(b, st->n_peers, 4);
    for (size_t i = 0; i < st->n_peers; i++) {
        size_t n = e2e_session_serialized_size(st->peers[i].s), len = 0;
        uint8_t *tmp = sodium_malloc(n ? n : 1);
        if (!tmp || e2e_session_serialize(st->peers[i].s, tmp, n, &len) < 0) {
            if (tmp)
                sodium_free(tmp);
            return ES_INTERNAL;
        }
        s_put(b, st->peers[i].device, 16);
        s_u64(b, (uint64_t)st->peers[i].used_ms, 8);
        s_u64(b, len, 4);
        s_put(b, tmp, len);
        sodium_free(tmp);
    }
    s_u64(b, st->n_lines, 4);
    for (size_t i = 0; i < st->n_lines; i++) {
        const msg_line_t *l = &st->lines[i];
        s_put(b, l->conv, 16);
        s_put(b, l->id, 16);
        s_u64(b, (uint64_t)l->ms, 8);
        s_u64(b, l->out, 1);
        s_put_str(b, l->from, 1);
        s_put_str(b, l->text, 4);
        s_put_str(b, l->att, 2);
    }
    return b->bad ? ES_RESOURCE_EXHAUSTED : 0;
}

static int s_decode(msg_store_t *st, s_rd_t *r)
{
    uint8_t sk[E2E_SIGN_SECRET_BYTES];
    uint8_t dev[16];
    s_getn(r, dev, 16);
    if (!r->bad && memcmp(dev, st->device, 16) != 0)
        return ES_INVALID_ARGUMENT; /* another device's store under this name */
    s_get_str(r, st->rpps, sizeof st->rpps, 1);
    st->registered = (uint8_t)s_getu(r, 1);
    st->has_old = (uint8_t)s_getu(r, 1);
    st->next_id = (uint32_t)s_getu(r, 4);
    s_getn(r, sk, sizeof sk);
    int bad_ik = e2e_identity_from_secret(&st->ik, sk) < 0;
    sodium_memzero(sk, sizeof sk);
    s_get_prekey(r, &st->spk);
    s_get_prekey(r, &st->lrk);
    if (st->has_old) {
        s_get_prekey(r, &st->old_spk);
        s_get_prekey(r, &st->old_lrk);
    }
    size_t n = (size_t)s_getu(r, 4);
    if (r->bad || bad_ik || n > MSG_STORE_OPK_MAX)
        return ES_INVALID_ARGUMENT;
    st->opk = calloc(MSG_STORE_OPK_MAX, sizeof *st->opk);
    if (!st->opk)
        return ES_RESOURCE_EXHAUSTED;
    for (; st->n_opk < n && !r->bad; st->n_opk++)
        s_get_prekey(r, &st->opk[st->n_opk]);
    n = (size_t)s_getu(r, 4);
    if (r->bad || n > MSG_STORE_PEERS_MAX)
        return ES_INVALID_ARGUMENT;
    st->peers = calloc(MSG_STORE_PEERS_MAX, sizeof *st->peers);
    if (!st->peers)
        return ES_RESOURCE_EXHAUSTED;
    for (; st->n_peers < n; st->n_peers++) {
        msg_peer_t *p = &st->peers[st->n_peers];
        s_getn(r, p->device, 16);
        p->used_ms = (int64_t)s_getu(r, 8);
        size_t len = (size_t)s_getu(r, 4);
        const uint8_t *d = s_get(r, len);
        if (!d || e2e_session_deserialize(&p->s, d, len) < 0)
            return ES_INVALID_ARGUMENT;
    }
    n = (size_t)s_getu(r, 4);
    if (r->bad || n > MSG_STORE_LINES_MAX)
        return ES_INVALID_ARGUMENT;
    st->lines = calloc(n ? n : 1, sizeof *st->lines);
    if (!st->lines)
        return ES_RESOURCE_EXHAUSTED;
    for (; st->n_lines < n; st->n_lines++) {
        msg_line_t *l = &st->lines[st->n_lines];
        s_getn(r, l->conv, 16);
        s_getn(r, l->id, 16);
        l->ms = (int64_t)s_getu(r, 8);
        l->out = (uint8_t)s_getu(r, 1);
        s_get_str(r, l->from, sizeof l->from, 1);
        size_t tl = (size_t)s_getu(r, 4);
        const uint8_t *t = s_get(r, tl);
        if (!t || !(l->text = malloc(tl + 1)))
            return r->bad ? ES_INVALID_ARGUMENT : ES_RESOURCE_EXHAUSTED;
        memcpy(l->text, t, tl);
        l->text[tl] = '\0';
        s_get_str(r, l->att, sizeof l->att, 2);
    }
    return r->bad || r->off != r->n ? ES_INVALID_ARGUMENT : 0;
}

/* ---- key and file ---- */

static int s_path(msg_store_t *st, const char *home, const uint8_t device[16])
{
    char hex[ID_HEX], name[64];
    snprintf(name, sizeof name, "messaging-%s.store", id_hex(device, hex));
    return pro_path(st->path, sizeof st->path, home, name);
}

static int s_derive(msg_store_t *st, const char *pass)
{
    if (crypto_pwhash(st->key, sizeof st->key, pass, strlen(pass), st->salt, st->ops,
                      (size_t)st->mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return ES_RESOURCE_EXHAUSTED;
    return 0;
}

static int s_read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? ES_NOT_FOUND : ES_INTERNAL;
    int rc = ES_INTERNAL;
    uint8_t *buf = NULL;
    long n;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || (size_t)n > S_FILE_MAX ||
        fseek(f, 0, SEEK_SET) != 0)
        goto close;
    buf = malloc(n ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        goto close;
    }
    *out = buf;
    *len = (size_t)n;
    rc = 0;
close:
    fclose(f);
    return rc;
}

int msg_store_open(msg_store_t *st, const char *home, const uint8_t device[16],
                   const char *passphrase)
{
    memset(st, 0, sizeof *st);
    memcpy(st->device, device, 16);
    if (s_path(st, home, device) < 0)
        return ES_INVALID_ARGUMENT;
    uint8_t *file = NULL, *plain = NULL;
    size_t len = 0;
    int rc = s_read_file(st->path, &file, &len);
    if (rc < 0)
        return rc;
    rc = ES_UNAUTHENTICATED;
    if (len < S_HEAD + crypto_secretbox_MACBYTES || memcmp(file, S_MAGIC, 8) != 0)
        goto free_file;
    s_rd_t h = {.p = file, .n = S_HEAD, .off = 8};
    st->ops = s_getu(&h, 8);
    st->mem = s_getu(&h, 8);
    s_getn(&h, st->salt, 16);
    if (st->ops < crypto_pwhash_OPSLIMIT_MIN || st->ops > crypto_pwhash_OPSLIMIT_SENSITIVE ||
        st->mem < crypto_pwhash_MEMLIMIT_MIN || st->mem > crypto_pwhash_MEMLIMIT_SENSITIVE)
        goto free_file;
    if ((rc = s_derive(st, passphrase)) < 0)
        goto free_file;
    size_t plen = len - S_HEAD - crypto_secretbox_MACBYTES;
    plain = sodium_malloc(plen ? plen : 1);
    if (!plain) {
        rc = ES_RESOURCE_EXHAUSTED;
        goto free_file;
    }
    rc = ES_UNAUTHENTICATED;
    if (crypto_secretbox_open_easy(plain, file + S_HEAD, len - S_HEAD, file + S_HEAD - 24,
                                   st->key) != 0)
        goto free_plain;
    s_rd_t r = {.p = plain, .n = plen};
    rc = s_decode(st, &r);
free_plain:
    sodium_free(plain);
free_file:
    free(file);
    if (rc < 0) { /* the path stays, for the error message */
        char path[sizeof st->path];
        memcpy(path, st->path, sizeof path);
        msg_store_close(st);
        memcpy(st->path, path, sizeof path);
    }
    return rc;
}

int msg_store_create(msg_store_t *st, const char *home, const uint8_t device[16],
                     const char *rpps, const char *passphrase)
{
    memset(st, 0, sizeof *st);
    memcpy(st->device, device, 16);
    snprintf(st->rpps, sizeof st->rpps, "%s", rpps);
    if (s_path(st, home, device) < 0)
        return ES_INVALID_ARGUMENT;
    const char *cost = getenv("ESPACE_PWHASH"); /* "min": tests only */
    int min = cost && !strcmp(cost, "min");
    st->ops = min ? crypto_pwhash_OPSLIMIT_MIN : crypto_pwhash_OPSLIMIT_MODERATE;
    st->mem = min ? crypto_pwhash_MEMLIMIT_MIN : crypto_pwhash_MEMLIMIT_MODERATE;
    randombytes_buf(st->salt, sizeof st->salt);
    int64_t now = (int64_t)time(NULL);
    int rc = ES_RESOURCE_EXHAUSTED;
    st->opk = calloc(MSG_STORE_OPK_MAX, sizeof *st->opk);
    st->peers = calloc(MSG_STORE_PEERS_MAX, sizeof *st->peers);
    st->lines = calloc(1, sizeof *st->lines);
    if (!st->opk || !st->peers || !st->lines || (rc = s_derive(st, passphrase)) < 0 ||
        (rc = e2e_identity_generate(&st->ik)) < 0 ||
        (rc = e2e_prekey_generate(&st->spk, &st->ik, E2E_PREKEY_SIGNED, 1, now)) < 0 ||
        (rc = e2e_prekey_generate(&st->lrk, &st->ik, E2E_PREKEY_LAST_RESORT, 2, now)) < 0)
        goto fail;
    st->next_id = 3;
    if ((rc = msg_store_opk_add(st, E2E_OPK_BATCH)) < 0)
        goto fail;
    return 0;
fail:
    msg_store_close(st);
    return rc;
}

int msg_store_save(msg_store_t *st)
{
    s_buf_t b = {0}, f = {0};
    int rc = s_encode(st, &b);
    char tmp[sizeof st->path + 8];
    if (rc < 0)
        goto free;
    uint8_t nonce[crypto_secretbox_NONCEBYTES];
    randombytes_buf(nonce, sizeof nonce);
    s_put(&f, S_MAGIC, 8);
    s_u64(&f, st->ops, 8);
    s_u64(&f, st->mem, 8);
    s_put(&f, st->salt, 16);
    s_put(&f, nonce, sizeof nonce);
    uint8_t zero = 0;
    for (size_t i = 0; i < b.n + crypto_secretbox_MACBYTES; i++)
        s_put(&f, &zero, 1); /* room for the box */
    rc = ES_INTERNAL;
    if (f.bad || crypto_secretbox_easy(f.p + S_HEAD, b.p, b.n, nonce, st->key) != 0)
        goto free;
    snprintf(tmp, sizeof tmp, "%s.tmp", st->path);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        goto free;
    size_t off = 0;
    while (off < f.n) {
        ssize_t w = write(fd, f.p + off, f.n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            break;
        off += (size_t)w;
    }
    if (off != f.n || fsync(fd) < 0) {
        close(fd);
        unlink(tmp);
        goto free;
    }
    if (close(fd) < 0 || rename(tmp, st->path) < 0) {
        unlink(tmp);
        goto free;
    }
    rc = 0;
free:
    if (b.p)
        sodium_free(b.p); /* sodium_free wipes */
    if (f.p)
        sodium_free(f.p);
    return rc;
}

void msg_store_close(msg_store_t *st)
{
    if (!st)
        return;
    for (size_t i = 0; st->peers && i < st->n_peers; i++)
        e2e_session_destroy(&st->peers[i].s);
    for (size_t i = 0; st->lines && i < st->n_lines; i++) {
        if (st->lines[i].text) {
            sodium_memzero(st->lines[i].text, strlen(st->lines[i].text));
            free(st->lines[i].text);
        }
    }
    if (st->opk)
        sodium_memzero(st->opk, MSG_STORE_OPK_MAX * sizeof *st->opk);
    if (st->lines)
        sodium_memzero(st->lines, st->n_lines * sizeof *st->lines);
    free(st->opk);
    free(st->peers);
    free(st->lines);
    sodium_memzero(st, sizeof *st);
}

/* ---- sessions, prekeys, history ---- */

msg_peer_t *msg_store_peer(msg_store_t *st, const uint8_t device[16])
{
    for (size_t i = 0; i < st->n_peers; i++)
        if (!memcmp(st->peers[i].device, device, 16))
            return &st->peers[i];
    return NULL;
}

int msg_store_peer_set(msg_store_t *st, const uint8_t device[16], e2e_session_t *s)
{
    msg_peer_t *p = msg_store_peer(st, device);
    if (!p && st->n_peers < MSG_STORE_PEERS_MAX)
        p = &st->peers[st->n_peers++];
    if (!p) { /* full: the least recently used session goes */
        p = &st->peers[0];
        for (size_t i = 1; i < st->n_peers; i++)
            if (st->peers[i].used_ms < p->used_ms)
                p = &st->peers[i];
    }
    if (p->s != s)
        e2e_session_destroy(&p->s);
    memcpy(p->device, device, 16);
    p->s = s;
    p->used_ms = cli_wall_ms();
    return 0;
}

int msg_store_opk_add(msg_store_t *st, size_t count)
{
    if (count > MSG_STORE_OPK_MAX)
        return ES_INVALID_ARGUMENT;
    if (st->n_opk + count > MSG_STORE_OPK_MAX) { /* the oldest go: the server dropped them too */
        size_t drop = st->n_opk + count - MSG_STORE_OPK_MAX;
        memmove(st->opk, st->opk + drop, (st->n_opk - drop) * sizeof *st->opk);
        st->n_opk -= drop;
        sodium_memzero(st->opk + st->n_opk, drop * sizeof *st->opk);
    }
    int rc = e2e_prekeys_generate(st->opk + st->n_opk, count, st->next_id, (int64_t)time(NULL));
    if (rc < 0)
        return rc;
    st->next_id += (uint32_t)count;
    st->n_opk += count;
    return 0;
}

void msg_store_opk_drop(msg_store_t *st, uint32_t id)
{
    for (size_t i = 0; i < st->n_opk; i++) {
        if (st->opk[i].id != id)
            continue;
        e2e_prekey_wipe(&st->opk[i]);
        memmove(st->opk + i, st->opk + i + 1, (st->n_opk - i - 1) * sizeof *st->opk);
        st->n_opk--;
        sodium_memzero(st->opk + st->n_opk, sizeof *st->opk);
        return;
    }
}

int msg_store_rotate(msg_store_t *st)
{
    int64_t now = (int64_t)time(NULL);
    e2e_prekey_t spk, lrk;
    int rc = e2e_prekey_generate(&spk, &st->ik, E2E_PREKEY_SIGNED, st->next_id, now);
    if (rc == 0)
        rc = e2e_prekey_generate(&lrk, &st->ik, E2E_PREKEY_LAST_RESORT, st->next_id + 1, now);
    if (rc < 0)
        return rc;
    st->next_id += 2;
    st->old_spk = st->spk;
    st->old_lrk = st->lrk;
    st->has_old = 1;
    st->spk = spk;
    st->lrk = lrk;
    e2e_prekey_wipe(&spk);
    e2e_prekey_wipe(&lrk);
    return 0;
}

int msg_store_line(msg_store_t *st, const msg_line_t *l, const char *text, size_t text_len)
{
    char *t = malloc(text_len + 1);
    if (!t)
        return ES_RESOURCE_EXHAUSTED;
    memcpy(t, text, text_len);
    t[text_len] = '\0';
    if (st->n_lines == MSG_STORE_LINES_MAX) { /* the oldest goes */
        free(st->lines[0].text);
        memmove(st->lines, st->lines + 1, (st->n_lines - 1) * sizeof *st->lines);
        st->n_lines--;
    }
    msg_line_t *grown = realloc(st->lines, (st->n_lines + 1) * sizeof *st->lines);
    if (!grown) {
        free(t);
        return ES_RESOURCE_EXHAUSTED;
    }
    st->lines = grown;
    st->lines[st->n_lines] = *l;
    st->lines[st->n_lines].text = t;
    st->n_lines++;
    return 0;
}
