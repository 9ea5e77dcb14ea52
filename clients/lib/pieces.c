/* pieces.c - moving a byte object in pieces (pieces.h). Moved out of the
 * messaging attachments so that messaging and dmp share one loop. */
#include "clients/lib/pieces.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "clients/lib/rpc.h"
#include "proto/status.h"

int espace_pieces_upload(const espace_pieces_up_t *ops, void *ctx, const uint8_t *data,
                         size_t len, size_t piece, espace_error_t *err)
{
    uint64_t off = 0;
    int rc = ops->begin(ctx, &off, err);
    for (int tries = 0; rc == 0 && tries <= ESPACE_PIECES_RETRIES;) {
        if (off > len)
            return espace_err_set(err, ES_INTERNAL, "offset", "server offset %llu past %zu",
                                  (unsigned long long)off, len);
        size_t n = len - off < piece ? len - (size_t)off : piece;
        uint64_t next = 0;
        int done = 0;
        rc = ops->put(ctx, off, data + off, n, &next, &done, err);
        if (rc == 0) {
            int moved = next > off;
            off = next;
            if (done)
                return 0;
            if (!moved)
                return espace_err_set(err, ES_INTERNAL, "offset", "the upload does not move");
            continue;
        }
        /* another offset expected, or a lost reply: ask where to go on */
        if (rc != ES_FAILED_PRECONDITION && rc != ES_DEADLINE_EXCEEDED && rc != ES_UNAVAILABLE)
            return rc;
        tries++;
        rc = ops->begin(ctx, &off, err);
    }
    if (rc == 1)
        return espace_err_set(err, ES_OK, NULL, NULL);
    return rc < 0 ? rc
                  : espace_err_set(err, ES_UNAVAILABLE, NULL,
                                   "upload did not complete after %d resumptions",
                                   ESPACE_PIECES_RETRIES);
}

int espace_pieces_download(espace_pieces_get_fn get, void *ctx, uint64_t max,
                           const uint8_t *want, const char *mismatch, uint8_t **out,
                           size_t *len, uint8_t got[ESPACE_PIECES_HASH], espace_error_t *err)
{
    *out = NULL;
    *len = 0;
    uint8_t *buf = NULL, announced[ESPACE_PIECES_HASH];
    uint64_t size = 0, off = 0;
    int rc = 0;
    do {
        ProtobufCMessage *hold = NULL;
        ProtobufCBinaryData d = {0, NULL}, h = {0, NULL};
        uint64_t sz = 0;
        rc = get(ctx, off, &d, &sz, &h, &hold, err);
        if (rc < 0)
            goto fail;
        if (!buf) {
            size = sz;
            if (size == 0 || size > max || h.len != ESPACE_PIECES_HASH) {
                espace_free(hold);
                rc = espace_err_set(err, ES_TOO_LARGE, "size", "object of %llu bytes",
                                    (unsigned long long)size);
                goto fail;
            }
            memcpy(announced, h.data, ESPACE_PIECES_HASH);
            if (!(buf = malloc((size_t)size))) {
                espace_free(hold);
                rc = espace_err_set(err, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
                goto fail;
            }
        }
        if (sz != size || d.len == 0 || d.len > size - off) {
            espace_free(hold);
            rc = espace_err_set(err, ES_INTERNAL, NULL, "inconsistent piece");
            goto fail;
        }
        memcpy(buf + off, d.data, d.len);
        off += d.len;
        espace_free(hold);
    } while (off < size);
    uint8_t h[ESPACE_PIECES_HASH];
    crypto_generichash(h, sizeof h, buf, (size_t)size, NULL, 0);
    if (got)
        memcpy(got, h, sizeof h);
    if (sodium_memcmp(h, want ? want : announced, sizeof h) != 0) {
        rc = espace_err_set(err, ES_UNAUTHENTICATED, "hash", "%s", mismatch);
        goto fail;
    }
    *out = buf;
    *len = (size_t)size;
    return 0;
fail:
    free(buf);
    return rc;
}
