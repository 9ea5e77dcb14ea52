/* header.c - the clear header of a message, in its fixed binary layout
 * (docs/e2e.md "Message layout"). Integers are big-endian. */
#include <string.h>

#include "clients/e2e/e2e_int.h"

static void s_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t s_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t e2e_header_encode(const e2e_message_info_t *h, uint8_t out[E2E_INITIAL_HEADER_BYTES])
{
    out[0] = E2E_VERSION;
    out[1] = h->initial ? E2E_KIND_INITIAL : E2E_KIND_RATCHET;
    memcpy(out + 2, h->dh, 32);
    s_put32(out + 34, h->pn);
    s_put32(out + 38, h->n);
    if (!h->initial)
        return E2E_HEADER_BYTES;
    memcpy(out + 42, h->ik, 32);
    memcpy(out + 74, h->ek, 32);
    s_put32(out + 106, h->spk_id);
    out[110] = h->opk_kind;
    s_put32(out + 111, h->opk_id);
    return E2E_INITIAL_HEADER_BYTES;
}

int e2e_message_info(e2e_message_info_t *info, const uint8_t *msg, size_t msg_len)
{
    if (!info || !msg)
        return ES_INVALID_ARGUMENT;
    memset(info, 0, sizeof *info);
    if (msg_len > E2E_MESSAGE_MAX)
        return ES_TOO_LARGE;
    if (msg_len < E2E_HEADER_BYTES + E2E_TAG_BYTES || msg[0] != E2E_VERSION ||
        (msg[1] != E2E_KIND_RATCHET && msg[1] != E2E_KIND_INITIAL))
        return ES_INVALID_ARGUMENT;
    info->initial = msg[1] == E2E_KIND_INITIAL;
    info->header_len = info->initial ? E2E_INITIAL_HEADER_BYTES : E2E_HEADER_BYTES;
    if (msg_len < info->header_len + E2E_TAG_BYTES)
        goto bad;
    if (msg_len - info->header_len - E2E_TAG_BYTES > E2E_MAX_PLAINTEXT) {
        memset(info, 0, sizeof *info);
        return ES_TOO_LARGE;
    }
    memcpy(info->dh, msg + 2, 32);
    info->pn = s_get32(msg + 34);
    info->n = s_get32(msg + 38);
    if (info->pn > E2E_MAX_CHAIN || info->n >= E2E_MAX_CHAIN)
        goto bad;
    if (info->initial) {
        memcpy(info->ik, msg + 42, 32);
        memcpy(info->ek, msg + 74, 32);
        info->spk_id = s_get32(msg + 106);
        info->opk_kind = msg[110];
        info->opk_id = s_get32(msg + 111);
        if (info->opk_kind != E2E_PREKEY_NONE && info->opk_kind != E2E_PREKEY_ONE_TIME &&
            info->opk_kind != E2E_PREKEY_LAST_RESORT)
            goto bad;
        if (info->opk_kind == E2E_PREKEY_NONE && info->opk_id != 0)
            goto bad;
    }
    info->plaintext_len = msg_len - info->header_len - E2E_TAG_BYTES;
    return ES_OK;
bad:
    memset(info, 0, sizeof *info);
    return ES_INVALID_ARGUMENT;
}
