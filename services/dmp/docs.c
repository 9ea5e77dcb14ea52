/*
 * docs.c - documents going out: the visibility rules (masking), SearchDocuments,
 * GetDocument (with its download ticket), DownloadDocumentChunk, SetMasked
 * (the patient) and Release (the author).
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "process/log.h"
#include "proto/status.h"
#include "services/dmp/dmp_int.h"
#include "storage/blob.h"

#define PK(x) ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_##x

/* ---- visibility ---- */

int dmp_doc_visible(svc_call_t *c, const Espace__V1__DocumentMeta *m, const char *patient_id,
                    const char *class_code)
{
    if (patient_id && strcmp(m->patient_id, patient_id) != 0)
        return 0;
    if (class_code && class_code[0] && (!m->class_code || strcmp(m->class_code, class_code) != 0))
        return 0;
    return dmp_is_patient(c) ? !m->invisible_patient : !m->masked_ps;
}

void dmp_doc_view(svc_call_t *c, const Espace__V1__DocumentMeta *m, Espace__V1__DocumentMeta *out)
{
    *out = *m;
    if (!dmp_is_patient(c))
        out->masked_ps = 0;
}

/* Whose record an access is to: the resolved patient of a guarded method;
 * the caller for a patient's unguarded call; NULL otherwise (a ticket). */
static const char *s_patient(svc_call_t *c)
{
    const svc_access_t *a = svc_access(c);
    if (a)
        return a->patient_id;
    const Espace__V1__Caller *k = svc_caller(c);
    return k->kind == PK(PATIENT) ? k->principal : NULL;
}

int dmp_doc_open(svc_call_t *c, store_txn_t *t, const ProtobufCBinaryData *id, const char *field,
                 const char *class_code, Espace__V1__DmpDocRecord **out)
{
    *out = NULL;
    if (id->len != ID_BYTES)
        return svc_fail(c, ES_INVALID_ARGUMENT, field, "an id is 16 bytes");
    int rc = dmp_doc_load(t, id->data, out);
    if (rc == 0 && !dmp_doc_visible(c, (*out)->meta, s_patient(c), class_code))
        rc = ES_NOT_FOUND; /* masked or foreign: as unknown, nothing leaks */
    if (rc != 0) {
        codec_free(*out ? &(*out)->base : NULL);
        *out = NULL;
        return rc == ES_NOT_FOUND ? svc_fail(c, rc, field, "no such document")
                                  : dmp_fail_storage(c, rc);
    }
    return ES_OK;
}

/* ---- SearchDocuments ---- */

static int s_matches(const Espace__V1__SearchDocumentsRequest *r, const Espace__V1__DocumentMeta *m)
{
    if (r->category && m->category != r->category)
        return 0;
    if (r->type_code && r->type_code[0] && strcmp(m->type_code, r->type_code) != 0)
        return 0;
    if (r->created && ((r->created->start_ms && m->creation_ms < r->created->start_ms) ||
                       (r->created->end_ms && m->creation_ms >= r->created->end_ms)))
        return 0;
    if (r->author && r->author->kind &&
        (!m->author || m->author->kind != r->author->kind ||
         (r->author->principal && r->author->principal[0] &&
          strcmp(m->author->principal, r->author->principal) != 0)))
        return 0;
    if (r->availability && m->availability != r->availability)
        return 0;
    return 1;
}

int dmp_search_documents(void *state, svc_call_t *c, const ProtobufCMessage *msg, store_txn_t *t)
{
    dmp_state_t *st = state;
    const Espace__V1__SearchDocumentsRequest *r = (const Espace__V1__SearchDocumentsRequest *)msg;
    const svc_access_t *acc = svc_access(c);
    if ((int)r->category < 0 || (int)r->category > ESPACE__V1__DOC_CATEGORY__DOC_CATEGORY_OTHER)
        return svc_fail(c, ES_INVALID_ARGUMENT, "category", "unknown category");
    if (r->type_code && r->type_code[0] && !dmp_doc_type_find(r->type_code))
        return svc_fail(c, ES_INVALID_ARGUMENT, "type_code", "not a DMP document type");
    if (r->class_code && r->class_code[0] && !dmp_class_find(r->class_code))
        return svc_fail(c, ES_INVALID_ARGUMENT, "class_code",
                        "not a class code of JDV_J57-ClassCode-DMP");
    if ((int)r->availability < 0 ||
        (int)r->availability > ESPACE__V1__AVAILABILITY__AVAILABILITY_SUPERSEDED)
        return svc_fail(c, ES_INVALID_ARGUMENT, "availability", "unknown status");
    if (r->created && (r->created->start_ms < 0 || r->created->end_ms < 0 ||
                       (r->created->end_ms && r->created->end_ms <= r->created->start_ms)))
        return svc_fail(c, ES_INVALID_ARGUMENT, "created",
                        "end_ms after start_ms, neither negative (0: unbounded)");
    if (r->limit > DMP_SEARCH_MAX)
        return svc_fail(c, ES_INVALID_ARGUMENT, "limit", "at most %d", DMP_SEARCH_MAX);
    if (r->cursor.len && r->cursor.len != DMP_DOC_CURSOR)
        return svc_fail(c, ES_INVALID_ARGUMENT, "cursor", "not a cursor of this method");
    size_t limit = r->limit ? r->limit : DMP_SEARCH_DEFAULT;
    Espace__V1__DmpDocRecord **recs = calloc(limit, sizeof *recs);
    Espace__V1__DocumentMeta *views = calloc(limit, sizeof *views);
    Espace__V1__DocumentMeta **pv = calloc(limit, sizeof *pv);
    size_t n = 0, scanned = 0;
    uint8_t from[DMP_KEY_BY_PATIENT], last[DMP_DOC_CURSOR];
    int more = 0, rc;
    store_cursor_t *cur = NULL;
    if (!recs || !views || !pv) {
        rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
        goto done;
    }
    dmp_phash(st, acc->patient_id, from);
    if (r->cursor.len)
        memcpy(from + DMP_PHASH, r->cursor.data, DMP_DOC_CURSOR);
    else
        memset(from + DMP_PHASH, 0xff, DMP_DOC_CURSOR);
    rc = store_cursor_open_reverse(t, DMP_T_BY_PATIENT, from, sizeof from, &cur);
    while (rc == 0) {
        const void *k = NULL;
        size_t kl = 0;
        if ((rc = store_cursor_next(cur, &k, &kl, NULL, NULL)) != 0)
            break;
        if (kl != DMP_KEY_BY_PATIENT || memcmp(k, from, DMP_PHASH) != 0)
            break;
        if (r->cursor.len && memcmp(k, from, DMP_KEY_BY_PATIENT) == 0)
            continue; /* the cursor's own entry was given already */
        if (n == limit || scanned == DMP_SEARCH_SCAN) {
            more = 1;
            break;
        }
        scanned++;
        memcpy(last, (const uint8_t *)k + DMP_PHASH, DMP_DOC_CURSOR);
        Espace__V1__DmpDocRecord *d = NULL;
        if ((rc = dmp_doc_load(t, (const uint8_t *)k + DMP_PHASH + 8, &d)) != 0)
            break;
        if (dmp_doc_visible(c, d->meta, acc->patient_id, r->class_code) &&
            s_matches(r, d->meta)) {
            recs[n] = d;
            dmp_doc_view(c, d->meta, &views[n]);
            pv[n] = &views[n];
            n++;
        } else {
            codec_free(&d->base);
        }
    }
    store_cursor_close(&cur);
    if (rc != 0 && rc != ES_NOT_FOUND) {
        rc = dmp_fail_storage(c, rc);
        goto done;
    }
    Espace__V1__SearchDocumentsReply rep = ESPACE__V1__SEARCH_DOCUMENTS_REPLY__INIT;
    rep.documents = pv;
    rep.n_documents = n;
    if (more) {
        rep.next_cursor.data = last;
        rep.next_cursor.len = sizeof last;
    }
    rc = svc_reply(c, &rep.base);
done:
    for (size_t i = 0; recs && i < n; i++)
        codec_free(&recs[i]->base);
    free(recs);
    free(views);
    free(pv);
    return rc;
}

/* ---- tickets ---- */

/* MAC of (caller, version, expiry) into out. */
static void s_ticket_mac(dmp_state_t *st, svc_call_t *c, const uint8_t vid[ID_BYTES],
                         int64_t expires, uint8_t out[STORE_HASH_BYTES])
{
    const Espace__V1__Caller *k = svc_caller(c);
    uint8_t buf[1 + 64 + 1 + ID_BYTES + 8];
    size_t pl = k->principal ? strnlen(k->principal, 64) : 0;
    size_t n = 0;
    buf[n++] = (uint8_t)k->kind;
    memcpy(buf + n, k->principal, pl);
    n += pl;
    buf[n++] = 0;
    memcpy(buf + n, vid, ID_BYTES);
    n += ID_BYTES;
    store_be64_put(buf + n, (uint64_t)expires);
    n += 8;
    store_keyed_hash(st->store, "dmp.ticket", buf, n, out);
}

static void s_ticket(dmp_state_t *st, svc_call_t *c, const uint8_t vid[ID_BYTES],
                     uint8_t out[DMP_TICKET_BYTES])
{
    int64_t exp = svc_now_ms(c) + DMP_TICKET_TTL_MS;
    store_be64_put(out, (uint64_t)exp);
    s_ticket_mac(st, c, vid, exp, out + 8);
}

static int s_ticket_ok(dmp_state_t *st, svc_call_t *c, const ProtobufCBinaryData *tk,
                       const uint8_t vid[ID_BYTES])
{
    if (tk->len != DMP_TICKET_BYTES)
        return 0;
    int64_t exp = (int64_t)store_be64_get(tk->data);
    if (exp < svc_now_ms(c))
        return 0;
    uint8_t mac[STORE_HASH_BYTES];
    s_ticket_mac(st, c, vid, exp, mac);
    return sodium_memcmp(mac, tk->data + 8, STORE_HASH_BYTES) == 0;
}

/* ---- GetDocument, DownloadDocumentChunk ---- */

int dmp_get_document(void *state, svc_call_t *c, const ProtobufCMessage *msg, store_txn_t *t)
{
    dmp_state_t *st = state;
    const Espace__V1__GetDocumentRequest *r = (const Espace__V1__GetDocumentRequest *)msg;
    Espace__V1__DmpDocRecord *d = NULL, *vr[DMP_VERSIONS_MAX] = {0};
    Espace__V1__DocumentMeta view, vv[DMP_VERSIONS_MAX], *pv[DMP_VERSIONS_MAX];
    uint8_t ids[DMP_VERSIONS_MAX][ID_BYTES], ticket[DMP_TICKET_BYTES];
    size_t nids = 0, n = 0;
    int rc = dmp_doc_open(c, t, &r->document_id, "document_id", r->class_code, &d);
    if (rc != 0)
        return rc;
    if ((rc = dmp_versions(t, d->meta->unique_id.data, ids, DMP_VERSIONS_MAX, &nids)) != 0) {
        rc = dmp_fail_storage(c, rc);
        goto done;
    }
    for (size_t i = 0; i < nids; i++) {
        if ((rc = dmp_doc_load(t, ids[i], &vr[n])) != 0) {
            rc = dmp_fail_storage(c, rc);
            goto done;
        }
        if (!dmp_doc_visible(c, vr[n]->meta, d->meta->patient_id, r->class_code)) {
            codec_free(&vr[n]->base);
            vr[n] = NULL;
            continue;
        }
        dmp_doc_view(c, vr[n]->meta, &vv[n]);
        pv[n] = &vv[n];
        n++;
    }
    dmp_doc_view(c, d->meta, &view);
    s_ticket(st, c, d->meta->id.data, ticket);
    Espace__V1__GetDocumentReply rep = ESPACE__V1__GET_DOCUMENT_REPLY__INIT;
    rep.document = &view;
    rep.versions = pv;
    rep.n_versions = n;
    rep.download_ticket.data = ticket;
    rep.download_ticket.len = sizeof ticket;
    rc = svc_reply(c, &rep.base);
done:
    for (size_t i = 0; i < DMP_VERSIONS_MAX; i++)
        codec_free(vr[i] ? &vr[i]->base : NULL);
    codec_free(&d->base);
    return rc;
}

int dmp_download_chunk(void *state, svc_call_t *c, const ProtobufCMessage *msg, store_txn_t *t)
{
    dmp_state_t *st = state;
    const Espace__V1__DownloadDocumentChunkRequest *r =
        (const Espace__V1__DownloadDocumentChunkRequest *)msg;
    Espace__V1__DmpDocRecord *d = NULL;
    uint8_t *buf = NULL;
    dmp_err_t err;
    if (dmp_id_check(&r->document_id, "document_id", &err) != 0)
        return dmp_fail(c, &err);
    if (!s_ticket_ok(st, c, &r->ticket, r->document_id.data))
        return svc_fail(c, ES_PERMISSION_DENIED, "ticket",
                        "no valid ticket for this document: call GetDocument");
    if (r->max_bytes > DMP_CHUNK_MAX)
        return svc_fail(c, ES_INVALID_ARGUMENT, "max_bytes", "at most %zu", DMP_CHUNK_MAX);
    /* Masking is checked again: a document masked since GetDocument stops here. */
    int rc = dmp_doc_open(c, t, &r->document_id, "document_id", NULL, &d);
    if (rc != 0)
        return rc;
    if (r->offset >= d->meta->size) {
        rc = svc_fail(c, ES_INVALID_ARGUMENT, "offset", "at or past the end (%llu)",
                      (unsigned long long)d->meta->size);
        goto done;
    }
    size_t max = r->max_bytes ? r->max_bytes : DMP_CHUNK_MAX, n = 0;
    if (!(buf = malloc(max))) {
        rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
        goto done;
    }
    if ((rc = blob_read(t, DMP_T_CONTENT, d->content_id.data, r->offset, buf, max, &n)) != 0) {
        rc = dmp_fail_storage(c, rc);
        goto done;
    }
    Espace__V1__DownloadDocumentChunkReply rep = ESPACE__V1__DOWNLOAD_DOCUMENT_CHUNK_REPLY__INIT;
    rep.data.data = buf;
    rep.data.len = n;
    rep.size = d->meta->size;
    rep.hash = d->meta->hash;
    rc = svc_reply(c, &rep.base);
done:
    free(buf);
    codec_free(&d->base);
    return rc;
}

/* ---- SetMasked, Release ---- */

int dmp_set_masked(void *state, svc_call_t *c, const ProtobufCMessage *msg, store_txn_t *t)
{
    dmp_state_t *st = state;
    const Espace__V1__SetMaskedRequest *r = (const Espace__V1__SetMaskedRequest *)msg;
    if (svc_caller(c)->kind != PK(PATIENT))
        return svc_fail(c, ES_PERMISSION_DENIED, NULL, "only the patient masks a document");
    Espace__V1__DmpDocRecord *d = NULL;
    uint8_t ids[DMP_VERSIONS_MAX][ID_BYTES];
    size_t nids = 0;
    int rc = dmp_doc_open(c, t, &r->document_id, "document_id", NULL, &d);
    if (rc != 0)
        return rc;
    if ((rc = dmp_versions(t, d->meta->unique_id.data, ids, DMP_VERSIONS_MAX, &nids)) != 0) {
        rc = dmp_fail_storage(c, rc);
        goto done;
    }
    for (size_t i = 0; i < nids; i++) {
        Espace__V1__DmpDocRecord *v = NULL;
        if ((rc = dmp_doc_load(t, ids[i], &v)) == 0 && v->meta->masked_ps != r->masked) {
            v->meta->masked_ps = r->masked;
            rc = dmp_doc_save(st, t, v);
        }
        codec_free(v ? &v->base : NULL);
        if (rc != 0) {
            rc = dmp_fail_storage(c, rc);
            goto done;
        }
    }
    d->meta->masked_ps = r->masked;
    Espace__V1__DmpEvent ev = ESPACE__V1__DMP_EVENT__INIT;
    ev.kind = ESPACE__V1__DMP_EVENT_KIND__DMP_EVENT_KIND_DOCUMENT_CHANGED;
    ev.document = d->meta;
    dmp_publish(c, d->meta->patient_id, &ev);
    Espace__V1__SetMaskedReply rep = ESPACE__V1__SET_MASKED_REPLY__INIT;
    rep.document = d->meta;
    rc = svc_reply(c, &rep.base);
done:
    codec_free(&d->base);
    return rc;
}

int dmp_release(void *state, svc_call_t *c, const ProtobufCMessage *msg, store_txn_t *t)
{
    dmp_state_t *st = state;
    const Espace__V1__ReleaseRequest *r = (const Espace__V1__ReleaseRequest *)msg;
    Espace__V1__DmpDocRecord *d = NULL;
    int rc = dmp_doc_open(c, t, &r->document_id, "document_id", r->class_code, &d);
    if (rc != 0)
        return rc;
    Espace__V1__Author me;
    dmp_author_of(c, &me);
    const Espace__V1__Author *a = d->meta->author;
    if (!a || a->kind != me.kind || !a->principal || strcmp(a->principal, me.principal) != 0) {
        rc = svc_fail(c, ES_PERMISSION_DENIED, "document_id", "only its author releases a document");
        goto done;
    }
    if (d->meta->invisible_patient) {
        d->meta->invisible_patient = 0;
        d->meta->released_ms = svc_now_ms(c);
        if ((rc = dmp_doc_save(st, t, d)) != 0) {
            rc = dmp_fail_storage(c, rc);
            goto done;
        }
        Espace__V1__DmpEvent ev = ESPACE__V1__DMP_EVENT__INIT;
        ev.kind = ESPACE__V1__DMP_EVENT_KIND__DMP_EVENT_KIND_DOCUMENT_RELEASED;
        ev.document = d->meta;
        dmp_publish(c, d->meta->patient_id, &ev);
    }
    Espace__V1__DocumentMeta view;
    dmp_doc_view(c, d->meta, &view);
    Espace__V1__ReleaseReply rep = ESPACE__V1__RELEASE_REPLY__INIT;
    rep.document = &view;
    rc = svc_reply(c, &rep.base);
done:
    codec_free(&d->base);
    return rc;
}
