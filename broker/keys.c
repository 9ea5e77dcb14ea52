/*
 * keys.c - registry of admitted CURVE public keys (keys.h).
 *
 * Table KEYS_TABLE: key = 32-byte public key; value = role (1 byte) |
 * created_ms (8 bytes, big-endian) | name (1..KEYS_MAX_NAME bytes, UTF-8).
 */
#include "broker/keys.h"

#include <string.h>

#include "bus/bus.h"
#include "bus/codec.h"
#include "espace/v1/common.pb-c.h"
#include "proto/status.h"

#define S_HEAD 9 /* role + created_ms */

const char *keys_tables[] = {KEYS_TABLE, NULL};

static int s_role_ok(int role)
{
    return role == ESPACE__V1__PEER_ROLE__PEER_SERVICE ||
           role == ESPACE__V1__PEER_ROLE__PEER_GATEWAY ||
           role == ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE ||
           role == ESPACE__V1__PEER_ROLE__PEER_APP;
}

static int s_decode(const uint8_t key[32], const void *val, size_t vlen, keys_entry_t *out)
{
    const uint8_t *v = val;
    if (vlen < S_HEAD + 1 || vlen > S_HEAD + KEYS_MAX_NAME || !s_role_ok(v[0]))
        return ES_INTERNAL;
    memset(out, 0, sizeof(*out));
    memcpy(out->public_key, key, 32);
    out->role = v[0];
    out->created_ms = (int64_t)store_be64_get(v + 1);
    memcpy(out->name, v + S_HEAD, vlen - S_HEAD);
    out->name[vlen - S_HEAD] = '\0';
    return 0;
}

typedef struct s_add_item {
    const uint8_t *key;
    const uint8_t *val;
    size_t vlen;
} s_add_item_t;

static int s_apply_add(store_txn_t *t, void *item, void *ctx)
{
    (void)ctx;
    s_add_item_t *it = item;
    return store_put_new(t, KEYS_TABLE, it->key, 32, it->val, it->vlen);
}

static int s_apply_del(store_txn_t *t, void *item, void *ctx)
{
    (void)ctx;
    return store_del(t, KEYS_TABLE, item, 32);
}

int keys_add(store_t *s, const keys_entry_t *e)
{
    if (s == NULL || e == NULL || !s_role_ok(e->role))
        return ES_INVALID_ARGUMENT;
    size_t nl = strnlen(e->name, sizeof(e->name));
    if (nl == 0 || nl > KEYS_MAX_NAME || !codec_utf8_valid(e->name, nl))
        return ES_INVALID_ARGUMENT;
    uint8_t val[S_HEAD + KEYS_MAX_NAME];
    val[0] = (uint8_t)e->role;
    store_be64_put(val + 1, (uint64_t)(e->created_ms ? e->created_ms : bus_wall_ms()));
    memcpy(val + S_HEAD, e->name, nl);
    s_add_item_t it = {e->public_key, val, S_HEAD + nl};
    void *items[1] = {&it};
    int res = 0;
    int rc = store_write_group(s, s_apply_add, items, 1, &res, NULL);
    return rc != 0 ? rc : res;
}

int keys_remove(store_t *s, const uint8_t public_key[32])
{
    if (s == NULL || public_key == NULL)
        return ES_INVALID_ARGUMENT;
    uint8_t key[32];
    memcpy(key, public_key, 32);
    void *items[1] = {key};
    int res = 0;
    int rc = store_write_group(s, s_apply_del, items, 1, &res, NULL);
    return rc != 0 ? rc : res;
}

int keys_lookup(store_t *s, const uint8_t public_key[32], keys_entry_t *out)
{
    if (s == NULL || public_key == NULL || out == NULL)
        return ES_INVALID_ARGUMENT;
    store_txn_t *t = NULL;
    int rc = store_read_begin(s, &t);
    if (rc != 0)
        return rc;
    const void *val = NULL;
    size_t vlen = 0;
    rc = store_get(t, KEYS_TABLE, public_key, 32, &val, &vlen);
    if (rc == 0)
        rc = s_decode(public_key, val, vlen, out);
    store_txn_end(&t);
    return rc;
}

int keys_list(store_t *s, int (*fn)(const keys_entry_t *e, void *ctx), void *ctx)
{
    if (s == NULL || fn == NULL)
        return ES_INVALID_ARGUMENT;
    store_txn_t *t = NULL;
    store_cursor_t *c = NULL;
    int rc = store_read_begin(s, &t);
    if (rc != 0)
        return rc;
    if ((rc = store_cursor_open(t, KEYS_TABLE, NULL, 0, &c)) != 0)
        goto end_txn;
    for (;;) {
        const void *k, *v;
        size_t kl, vl;
        rc = store_cursor_next(c, &k, &kl, &v, &vl);
        if (rc == ES_NOT_FOUND) {
            rc = 0;
            break;
        }
        if (rc != 0)
            break;
        keys_entry_t e;
        if (kl != 32 || s_decode(k, v, vl, &e) != 0)
            continue; /* a corrupt entry is skipped, never admitted */
        if (fn(&e, ctx) != 0)
            break;
    }
    store_cursor_close(&c);
end_txn:
    store_txn_end(&t);
    return rc;
}

const char *keys_role_name(int role)
{
    switch (role) {
    case ESPACE__V1__PEER_ROLE__PEER_SERVICE:
        return "service";
    case ESPACE__V1__PEER_ROLE__PEER_GATEWAY:
        return "gateway";
    case ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE:
        return "pro";
    case ESPACE__V1__PEER_ROLE__PEER_APP:
        return "app";
    case ESPACE__V1__PEER_ROLE__PEER_LOCAL:
        return "local";
    default:
        return "none";
    }
}

int keys_role_parse(const char *name)
{
    if (name == NULL)
        return -1;
    static const int roles[] = {ESPACE__V1__PEER_ROLE__PEER_SERVICE,
                                ESPACE__V1__PEER_ROLE__PEER_GATEWAY,
                                ESPACE__V1__PEER_ROLE__PEER_PRO_SOFTWARE,
                                ESPACE__V1__PEER_ROLE__PEER_APP};
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(name, keys_role_name(roles[i])) == 0)
            return roles[i];
    return -1;
}
