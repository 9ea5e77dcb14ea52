/*
 * keys.h - the registry of CURVE public keys the broker admits on tcp.
 *
 * Lives in the broker's store (<data>/broker). Each entry maps a 32-byte
 * public key to a role (espace.v1.PeerRole: service, gateway, pro software,
 * app) and a label. The operator edits it with `espace admin keys ...`, from
 * another process if the broker runs: LMDB allows it, and the ZAP handler
 * reads the registry on every handshake, so a new key is admitted and a
 * removed key refused from the next connection on.
 *
 * THREAD SAFETY: as store.h.
 */
#ifndef ES_KEYS_H
#define ES_KEYS_H

#include <stdint.h>

#include "storage/store.h"

#define KEYS_TABLE "keys"
#define KEYS_MAX_NAME 64

typedef struct keys_entry {
    uint8_t public_key[32];
    int role;                      /* espace.v1.PeerRole value */
    char name[KEYS_MAX_NAME + 1];  /* operator's label */
    int64_t created_ms;
} keys_entry_t;

/* Tables keys.c needs in the broker store (NULL-terminated). */
extern const char *keys_tables[];

/* Register a key. ES_ALREADY_EXISTS if present; ES_INVALID_ARGUMENT for a
 * role outside service/gateway/pro software/app or an empty/too long name. */
int keys_add(store_t *s, const keys_entry_t *e);

/* Remove a key; ES_NOT_FOUND if absent. */
int keys_remove(store_t *s, const uint8_t public_key[32]);

/* Look a key up; ES_NOT_FOUND if absent. */
int keys_lookup(store_t *s, const uint8_t public_key[32], keys_entry_t *out);

/* Call fn for every entry, in key order; stops early if fn returns non-zero. */
int keys_list(store_t *s, int (*fn)(const keys_entry_t *e, void *ctx), void *ctx);

/* Role name ("service", "gateway", "pro", "app") <-> PeerRole value.
 * keys_role_parse returns -1 for an unknown name. */
const char *keys_role_name(int role);
int keys_role_parse(const char *name);

#endif
