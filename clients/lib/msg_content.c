/* msg_content.c - libespace, the content inside every messaging copy: an
 * espace.v1.MessageContent (messaging.h "the content inside a copy",
 * docs/messaging.md "Message content"). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "clients/lib/messaging.h"

static ProtobufCBinaryData s_bin(const uint8_t *p, size_t n)
{
    ProtobufCBinaryData b = {.len = n, .data = (uint8_t *)p};
    return b;
}

/* 1 if name is a file name the content may carry: at most 255 bytes of
 * UTF-8, no '/' (it becomes part of a path). */
static int s_name_ok(const char *name, size_t cap)
{
    size_t n = strnlen(name, cap);
    return n < cap && codec_utf8_valid(name, n) && !memchr(name, '/', n);
}

static int s_att_ok(const espace_msg_attachment_t *a)
{
    return a->size > 0 && a->size <= ESPACE_MSG_ATTACH_MAX &&
           s_name_ok(a->name, ESPACE_MSG_NAME_MAX) &&
           strnlen(a->mime, ESPACE_MSG_NAME_MAX) < ESPACE_MSG_NAME_MAX &&
           codec_utf8_valid(a->mime, strlen(a->mime));
}

/* The rules of a content, shared by encode and decode. */
static int s_content_ok(const espace_msg_content_t *c)
{
    if (c->kind == ESPACE_MSG_READ)
        return c->n_read > 0 && c->n_read <= ESPACE_MSG_READ_MAX;
    if (c->kind != ESPACE_MSG_TEXT || c->n_att > ESPACE_MSG_ATTACH_PER_MSG ||
        c->text_len > ESPACE_MSG_TEXT_MAX || (c->text_len && !c->text) ||
        (c->text_len == 0 && c->n_att == 0) || !codec_utf8_valid(c->text ? c->text : "", c->text_len))
        return 0;
    for (size_t i = 0; i < c->n_att; i++)
        if (!s_att_ok(&c->att[i]))
            return 0;
    return 1;
}

int espace_messaging_content_encode(const espace_msg_content_t *c, uint8_t *out, size_t cap,
                                    size_t *len)
{
    if (!c || !out || !len || !s_content_ok(c))
        return ES_INVALID_ARGUMENT;
    Espace__V1__MessageContent m = ESPACE__V1__MESSAGE_CONTENT__INIT;
    Espace__V1__TextContent t = ESPACE__V1__TEXT_CONTENT__INIT;
    Espace__V1__ReadReceipt r = ESPACE__V1__READ_RECEIPT__INIT;
    Espace__V1__AttachmentRef refs[ESPACE_MSG_ATTACH_PER_MSG], *refp[ESPACE_MSG_ATTACH_PER_MSG];
    ProtobufCBinaryData ids[ESPACE_MSG_READ_MAX];
    char text[ESPACE_MSG_TEXT_MAX + 1];
    if (c->kind == ESPACE_MSG_READ) {
        for (size_t i = 0; i < c->n_read; i++)
            ids[i] = s_bin(c->read[i], ESPACE_MSG_ID);
        r.message_ids = ids;
        r.n_message_ids = c->n_read;
        m.kind_case = ESPACE__V1__MESSAGE_CONTENT__KIND_READ;
        m.read = &r;
    } else {
        if (c->text_len)
            memcpy(text, c->text, c->text_len);
        text[c->text_len] = '\0';
        t.text = text;
        for (size_t i = 0; i < c->n_att; i++) {
            const espace_msg_attachment_t *a = &c->att[i];
            espace__v1__attachment_ref__init(&refs[i]);
            refs[i].id = s_bin(a->id, ESPACE_MSG_ID);
            refs[i].key = s_bin(a->key, ESPACE_MSG_ATTACH_KEY);
            refs[i].hash = s_bin(a->hash, ESPACE_MSG_HASH);
            refs[i].size = a->size;
            refs[i].plain_size = a->plain_size;
            refs[i].name = (char *)a->name;
            refs[i].mime = (char *)a->mime;
            refp[i] = &refs[i];
        }
        t.attachments = refp;
        t.n_attachments = c->n_att;
        m.kind_case = ESPACE__V1__MESSAGE_CONTENT__KIND_TEXT;
        m.text = &t;
    }
    size_t need = espace__v1__message_content__get_packed_size(&m);
    int rc = need > E2E_MAX_PLAINTEXT || need > cap ? ES_TOO_LARGE : 0;
    if (rc == 0)
        *len = espace__v1__message_content__pack(&m, out);
    sodium_memzero(text, c->text_len + 1);
    return rc;
}

static int s_ref_in(const Espace__V1__AttachmentRef *r, espace_msg_attachment_t *a)
{
    if (r->id.len != ESPACE_MSG_ID || r->key.len != ESPACE_MSG_ATTACH_KEY ||
        r->hash.len != ESPACE_MSG_HASH || strlen(r->name) >= ESPACE_MSG_NAME_MAX ||
        strlen(r->mime) >= ESPACE_MSG_NAME_MAX)
        return ES_INVALID_ARGUMENT;
    memcpy(a->id, r->id.data, ESPACE_MSG_ID);
    memcpy(a->key, r->key.data, ESPACE_MSG_ATTACH_KEY);
    memcpy(a->hash, r->hash.data, ESPACE_MSG_HASH);
    a->size = r->size;
    a->plain_size = r->plain_size;
    snprintf(a->name, sizeof a->name, "%s", r->name);
    snprintf(a->mime, sizeof a->mime, "%s", r->mime);
    return 0;
}

/* Fill c from the decoded message m; the rules are checked after. */
static int s_content_in(const Espace__V1__MessageContent *m, espace_msg_content_t *c)
{
    if (m->kind_case == ESPACE__V1__MESSAGE_CONTENT__KIND_READ) {
        const Espace__V1__ReadReceipt *r = m->read;
        if (r->n_message_ids > ESPACE_MSG_READ_MAX)
            return ES_INVALID_ARGUMENT;
        c->kind = ESPACE_MSG_READ;
        for (size_t i = 0; i < r->n_message_ids; i++) {
            if (r->message_ids[i].len != ESPACE_MSG_ID)
                return ES_INVALID_ARGUMENT;
            memcpy(c->read[i], r->message_ids[i].data, ESPACE_MSG_ID);
        }
        c->n_read = r->n_message_ids;
        return 0;
    }
    if (m->kind_case != ESPACE__V1__MESSAGE_CONTENT__KIND_TEXT)
        return ES_UNIMPLEMENTED;
    const Espace__V1__TextContent *t = m->text;
    size_t tl = strlen(t->text);
    if (tl > ESPACE_MSG_TEXT_MAX || t->n_attachments > ESPACE_MSG_ATTACH_PER_MSG)
        return ES_INVALID_ARGUMENT;
    c->kind = ESPACE_MSG_TEXT;
    c->owned_ = malloc(tl + 1);
    if (!c->owned_)
        return ES_RESOURCE_EXHAUSTED;
    memcpy(c->owned_, t->text, tl + 1);
    c->text = c->owned_;
    c->text_len = tl;
    for (size_t i = 0; i < t->n_attachments; i++)
        if (s_ref_in(t->attachments[i], &c->att[i]) < 0)
            return ES_INVALID_ARGUMENT;
    c->n_att = t->n_attachments;
    return 0;
}

int espace_messaging_content_decode(const uint8_t *in, size_t len, espace_msg_content_t *c)
{
    if (!c)
        return ES_INVALID_ARGUMENT;
    memset(c, 0, sizeof *c);
    if (!in && len)
        return ES_INVALID_ARGUMENT;
    if (len > E2E_MAX_PLAINTEXT)
        return ES_TOO_LARGE;
    ProtobufCMessage *m = NULL;
    int rc = codec_decode(&espace__v1__message_content__descriptor, in, len, E2E_MAX_PLAINTEXT, &m,
                          NULL);
    if (rc < 0)
        return rc == ES_TOO_LARGE ? rc : ES_INVALID_ARGUMENT;
    rc = s_content_in((const Espace__V1__MessageContent *)m, c);
    if (rc == 0 && !s_content_ok(c))
        rc = ES_INVALID_ARGUMENT;
    /* the unpacked message holds the text and keys: wipe what it owns */
    Espace__V1__MessageContent *mc = (Espace__V1__MessageContent *)m;
    if (mc->kind_case == ESPACE__V1__MESSAGE_CONTENT__KIND_TEXT) {
        sodium_memzero(mc->text->text, strlen(mc->text->text));
        for (size_t i = 0; i < mc->text->n_attachments; i++)
            sodium_memzero(mc->text->attachments[i]->key.data, mc->text->attachments[i]->key.len);
    }
    codec_free(m);
    if (rc < 0)
        espace_messaging_content_clear(c);
    return rc;
}

void espace_messaging_content_clear(espace_msg_content_t *c)
{
    if (!c)
        return;
    if (c->owned_) {
        sodium_memzero(c->owned_, c->text_len + 1);
        free(c->owned_);
    }
    sodium_memzero(c, sizeof *c);
}
