/*
 * validate.c - request checks of the messaging service and the comparison
 * of a Send's copies with the current devices (pure: no store, no bus).
 */
#include <stdio.h>
#include <string.h>

#include "services/messaging/messaging_int.h"
#include "proto/rpps.h"
#include "proto/status.h"

static int s_err(msg_err_t *err, int status, const char *field, const char *msg)
{
    err->status = status;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return status;
}

int msg_stable_id(int kind, const char *principal, char *out, size_t n)
{
    int w;
    if (kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT && id_hex_valid(principal))
        w = snprintf(out, n, "patient:%s", principal);
    else if (kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL && principal &&
             rpps_validate(principal) == 0)
        w = snprintf(out, n, "rpps:%s", principal);
    else
        return ES_INVALID_ARGUMENT;
    return (w < 0 || (size_t)w >= n) ? ES_INVALID_ARGUMENT : ES_OK;
}

int msg_id_check(const ProtobufCBinaryData *b, const char *field, msg_err_t *err)
{
    if (b->len != ID_BYTES)
        return s_err(err, ES_INVALID_ARGUMENT, field, "an id is 16 bytes");
    return ES_OK;
}

int msg_prekey_check(const Espace__V1__SignedPrekey *p, const char *field, msg_err_t *err)
{
    char f[64];
    if (!p)
        return s_err(err, ES_INVALID_ARGUMENT, field, "required");
    if (p->key.len != 32) {
        snprintf(f, sizeof f, "%s.key", field);
        return s_err(err, ES_INVALID_ARGUMENT, f, "an X25519 key is 32 bytes");
    }
    if (p->sig.len != 64) {
        snprintf(f, sizeof f, "%s.sig", field);
        return s_err(err, ES_INVALID_ARGUMENT, f, "an Ed25519 signature is 64 bytes");
    }
    return ES_OK;
}

int msg_copies_check(Espace__V1__Copy *const *copies, size_t n, msg_err_t *err)
{
    char f[64];
    if (n == 0)
        return s_err(err, ES_INVALID_ARGUMENT, "copies", "at least one copy");
    if (n > MSG_MAX_COPIES)
        return s_err(err, ES_TOO_LARGE, "copies", "too many copies");
    for (size_t i = 0; i < n; i++) {
        const Espace__V1__Copy *cp = copies[i];
        if (cp->device_id.len != ID_BYTES) {
            snprintf(f, sizeof f, "copies[%zu].device_id", i);
            return s_err(err, ES_INVALID_ARGUMENT, f, "a device id is 16 bytes");
        }
        if (cp->ciphertext.len == 0 || cp->ciphertext.len > MSG_MAX_CIPHERTEXT) {
            snprintf(f, sizeof f, "copies[%zu].ciphertext", i);
            return s_err(err, cp->ciphertext.len ? ES_TOO_LARGE : ES_INVALID_ARGUMENT, f,
                         cp->ciphertext.len ? "over the message size limit" : "empty");
        }
        for (size_t j = 0; j < i; j++)
            if (memcmp(copies[j]->device_id.data, cp->device_id.data, ID_BYTES) == 0) {
                snprintf(f, sizeof f, "copies[%zu].device_id", i);
                return s_err(err, ES_INVALID_ARGUMENT, f, "two copies for one device");
            }
    }
    return ES_OK;
}

int msg_pros_check(char *const *pros, size_t n, const char *caller_rpps, msg_err_t *err)
{
    char f[64];
    if (n + 1 > MSG_MAX_PROS)
        return s_err(err, ES_TOO_LARGE, "professionals", "too many professionals");
    for (size_t i = 0; i < n; i++) {
        snprintf(f, sizeof f, "professionals[%zu]", i);
        if (rpps_validate(pros[i]) != 0)
            return s_err(err, ES_INVALID_ARGUMENT, f, "not an RPPS (11 digits)");
        if (caller_rpps && strcmp(pros[i], caller_rpps) == 0)
            return s_err(err, ES_INVALID_ARGUMENT, f, "the caller is a member already");
        for (size_t j = 0; j < i; j++)
            if (strcmp(pros[i], pros[j]) == 0)
                return s_err(err, ES_INVALID_ARGUMENT, f, "listed twice");
    }
    return ES_OK;
}

long msg_devset_find(const msg_devset_t *set, const uint8_t id[ID_BYTES])
{
    for (size_t i = 0; i < set->n; i++)
        if (memcmp(set->id[i], id, ID_BYTES) == 0)
            return (long)i;
    return -1;
}

int msg_devset_diff(const msg_devset_t *cur, const uint8_t self[ID_BYTES],
                    Espace__V1__Copy *const *copies, size_t n, size_t *missing, size_t *n_missing,
                    size_t *stale, size_t *n_stale)
{
    *n_missing = *n_stale = 0;
    for (size_t i = 0; i < cur->n; i++) {
        if (memcmp(cur->id[i], self, ID_BYTES) == 0)
            continue;
        size_t j = 0;
        while (j < n && memcmp(copies[j]->device_id.data, cur->id[i], ID_BYTES) != 0)
            j++;
        if (j == n)
            missing[(*n_missing)++] = i;
    }
    for (size_t j = 0; j < n; j++) {
        const uint8_t *d = copies[j]->device_id.data;
        if (memcmp(d, self, ID_BYTES) == 0 || msg_devset_find(cur, d) < 0)
            stale[(*n_stale)++] = j;
    }
    return (*n_missing || *n_stale) ? 1 : 0;
}
