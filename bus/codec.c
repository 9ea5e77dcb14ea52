#include "bus/codec.h"

#include <stdlib.h>
#include <string.h>

#include "proto/status.h"

/* Every block handed to protobuf-c carries this header, so frees can count
 * bytes and codec_free can find the decode's budget from the message. */
typedef struct s_block {
    struct s_budget *budget; /* the decode this block belongs to */
    size_t size;             /* bytes after the header */
} s_block_t;

typedef struct s_budget {
    ProtobufCAllocator alloc; /* handed to protobuf-c; allocator_data = this */
    size_t used;              /* bytes currently allocated */
    size_t limit;             /* most bytes allowed at once */
    int exhausted;            /* 1 once an allocation was refused */
} s_budget_t;

/* Header size rounded up so payloads stay max-aligned. */
#define S_HDR ((sizeof(s_block_t) + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1))

static void *s_alloc(void *data, size_t size)
{
    s_budget_t *b = data;
    if (size > b->limit - b->used || size > SIZE_MAX - S_HDR) {
        b->exhausted = 1;
        return NULL;
    }
    unsigned char *p = malloc(S_HDR + size);
    if (!p) {
        b->exhausted = 1;
        return NULL;
    }
    s_block_t *h = (s_block_t *)(void *)p;
    h->budget = b;
    h->size = size;
    b->used += size;
    return p + S_HDR;
}

static void s_free(void *data, void *ptr)
{
    s_budget_t *b = data;
    if (!ptr)
        return;
    s_block_t *h = (s_block_t *)(void *)((unsigned char *)ptr - S_HDR);
    b->used -= h->size;
    free(h);
}

static s_budget_t *s_budget_of(const ProtobufCMessage *msg)
{
    const s_block_t *h = (const s_block_t *)(const void *)((const unsigned char *)msg - S_HDR);
    return h->budget;
}

int codec_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned cp;
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i - 1 < n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            unsigned cc = s[i + k];
            if ((cc & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0; /* overlong or out of range */
        if (cp >= 0xD800 && cp <= 0xDFFF)
            return 0; /* surrogate */
        i += n + 1;
    }
    return 1;
}

/* A decoded string is valid when it is UTF-8 and holds no NUL: protobuf-c
 * allocates exactly wire length + 1 bytes for it through our allocator, so a
 * strlen shorter than that means an embedded NUL that would truncate it. */
static int s_string_ok(const char *s)
{
    if (s == NULL || s == protobuf_c_empty_string)
        return 1;
    size_t n = strlen(s);
    const s_block_t *h = (const s_block_t *)(const void *)((const unsigned char *)s - S_HDR);
    if (h->size != n + 1)
        return 0;
    return codec_utf8_valid(s, n);
}

static int s_check(const ProtobufCMessage *m, int depth, const char **field)
{
    if (depth > CODEC_MAX_DEPTH) {
        *field = "depth";
        return ES_INVALID_ARGUMENT;
    }
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m;
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which;
            memcpy(&which, base + f->quantifier_offset, sizeof which);
            if (which != f->id)
                continue;
        }
        const void *slot = base + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n;
            memcpy(&n, base + f->quantifier_offset, sizeof n);
            void *const *arr;
            memcpy(&arr, slot, sizeof arr);
            for (size_t k = 0; k < n; k++) {
                if (f->type == PROTOBUF_C_TYPE_STRING) {
                    if (!s_string_ok(arr[k])) {
                        *field = f->name;
                        return ES_INVALID_ARGUMENT;
                    }
                } else if (arr[k]) {
                    int rc = s_check(arr[k], depth + 1, field);
                    if (rc)
                        return rc;
                }
            }
        } else {
            const void *p;
            memcpy(&p, slot, sizeof p);
            if (!p)
                continue;
            if (f->type == PROTOBUF_C_TYPE_STRING) {
                if (!s_string_ok(p)) {
                    *field = f->name;
                    return ES_INVALID_ARGUMENT;
                }
            } else {
                int rc = s_check(p, depth + 1, field);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

int codec_decode(const ProtobufCMessageDescriptor *desc, const void *data, size_t len,
                 size_t max, ProtobufCMessage **out, const char **field)
{
    const char *why = NULL;
    int rc = ES_OK;
    *out = NULL;
    if (max == 0)
        max = CODEC_MAX_WIRE;
    if (len > max) {
        why = "size";
        rc = ES_TOO_LARGE;
        goto done;
    }
    if (len > 0 && data == NULL) {
        why = "data";
        rc = ES_INVALID_ARGUMENT;
        goto done;
    }
    s_budget_t *b = calloc(1, sizeof *b);
    if (!b) {
        why = "budget";
        rc = ES_RESOURCE_EXHAUSTED;
        goto done;
    }
    b->alloc.alloc = s_alloc;
    b->alloc.free = s_free;
    b->alloc.allocator_data = b;
    b->limit = len * CODEC_BUDGET_FACTOR;
    if (b->limit < CODEC_BUDGET_MIN)
        b->limit = CODEC_BUDGET_MIN;

    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &b->alloc, len, data);
    if (!m) {
        why = b->exhausted ? "budget" : "protobuf";
        rc = b->exhausted ? ES_RESOURCE_EXHAUSTED : ES_INVALID_ARGUMENT;
        goto free_budget;
    }
    if (!protobuf_c_message_check(m)) {
        why = "structure";
        rc = ES_INVALID_ARGUMENT;
        goto free_message;
    }
    rc = s_check(m, 0, &why);
    if (rc)
        goto free_message;
    *out = m;
    goto done;

free_message:
    protobuf_c_message_free_unpacked(m, &b->alloc);
free_budget:
    free(b);
done:
    if (field)
        *field = why;
    return rc;
}

void codec_free(ProtobufCMessage *msg)
{
    if (!msg)
        return;
    s_budget_t *b = s_budget_of(msg);
    protobuf_c_message_free_unpacked(msg, &b->alloc);
    free(b);
}

int codec_pack(const ProtobufCMessage *msg, uint8_t **out, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return ES_RESOURCE_EXHAUSTED;
    *len = protobuf_c_message_pack(msg, buf);
    *out = buf;
    return ES_OK;
}
