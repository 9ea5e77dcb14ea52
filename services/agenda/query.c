/*
 * query.c - the read methods of the agenda: Get, List, ListChanges,
 * ExportIcs, ExportFhir.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "services/agenda/agenda_int.h"
#include "bus/codec.h"
#include "proto/status.h"


static int s_limit(svc_call_t *c, uint32_t limit, size_t *out)
{
    if (limit > AGENDA_LIST_MAX)
        return svc_fail(c, ES_INVALID_ARGUMENT, "limit", "at most %d", AGENDA_LIST_MAX);
    *out = limit ? limit : AGENDA_LIST_DEFAULT;
    return ES_OK;
}

/* from_ms, to_ms of a listing: from not negative, to after from. */
static int s_range(svc_call_t *c, int64_t from, int64_t to)
{
    if (from < 0)
        return svc_fail(c, ES_INVALID_ARGUMENT, "from_ms", "negative");
    if (to <= from)
        return svc_fail(c, ES_INVALID_ARGUMENT, "to_ms", "to_ms is not after from_ms");
    return ES_OK;
}

/* The page of an export over [from, to) (both 0 = everything; to 0 = no
 * end): at most AGENDA_EXPORT_MAX events, and about half a reply's bytes, as
 * the text is about twice the packed size at most. 0 and *p, or the call failed. */
static int s_export_page(svc_call_t *c, store_txn_t *t, const uint8_t *pid, int64_t from,
                         int64_t to, agenda_page_t *p)
{
    if (to == 0)
        to = INT64_MAX;
    int rc = s_range(c, from, to);
    if (rc != 0)
        return rc;
    rc = agenda_db_list(t, pid, from, to, NULL, AGENDA_EXPORT_MAX, AGENDA_REPLY_BUDGET / 2, p);
    if (rc != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    return ES_OK;
}

int agenda_get(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    const Espace__V1__AgendaGetRequest *r = (const Espace__V1__AgendaGetRequest *)m;
    (void)st;
    const svc_access_t *a = NULL;
    int rc = agenda_patient(c, &a);
    if (rc != 0)
        return rc;
    Espace__V1__AgendaEvent *e = NULL;
    if ((rc = agenda_event_get(c, t, &r->event_id, a->patient, &e)) != 0)
        return rc;
    Espace__V1__AgendaGetReply rep = ESPACE__V1__AGENDA_GET_REPLY__INIT;
    rep.event = e;
    rc = svc_reply(c, &rep.base);
    codec_free(&e->base);
    return rc ? svc_fail(c, rc, NULL, "reply failed") : ES_OK;
}

int agenda_list(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    const Espace__V1__AgendaListRequest *r = (const Espace__V1__AgendaListRequest *)m;
    (void)st;
    const svc_access_t *a = NULL;
    int rc = agenda_patient(c, &a);
    if (rc != 0)
        return rc;
    size_t limit = 0; /* set by s_limit (gcc -O2 cannot see it) */
    if ((rc = s_limit(c, r->limit, &limit)) != 0)
        return rc;
    if ((rc = s_range(c, r->from_ms, r->to_ms)) != 0)
        return rc;
    if (r->cursor.len != 0 && r->cursor.len != AGENDA_CURSOR_BYTES)
        return svc_fail(c, ES_INVALID_ARGUMENT, "cursor", "malformed cursor");
    agenda_page_t p;
    rc = agenda_db_list(t, a->patient, r->from_ms, r->to_ms, r->cursor.len ? r->cursor.data : NULL,
                        limit, AGENDA_REPLY_BUDGET, &p);
    if (rc != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    Espace__V1__AgendaListReply rep = ESPACE__V1__AGENDA_LIST_REPLY__INIT;
    rep.events = p.events;
    rep.n_events = p.n;
    if (p.more) {
        rep.next_cursor.data = p.next;
        rep.next_cursor.len = AGENDA_CURSOR_BYTES;
    }
    rc = svc_reply(c, &rep.base);
    agenda_page_free(&p);
    return rc ? svc_fail(c, rc, NULL, "reply failed") : ES_OK;
}

int agenda_list_changes(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    const Espace__V1__AgendaListChangesRequest *r =
        (const Espace__V1__AgendaListChangesRequest *)m;
    (void)st;
    const svc_access_t *a = NULL;
    int rc = agenda_patient(c, &a);
    if (rc != 0)
        return rc;
    size_t limit = 0; /* set by s_limit (gcc -O2 cannot see it) */
    if ((rc = s_limit(c, r->limit, &limit)) != 0)
        return rc;
    agenda_changes_t ch;
    rc = agenda_db_changes(t, a->patient, r->since_version, limit, AGENDA_REPLY_BUDGET, &ch);
    if (rc != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    Espace__V1__AgendaListChangesReply rep = ESPACE__V1__AGENDA_LIST_CHANGES_REPLY__INIT;
    rep.changes = ch.changes;
    rep.n_changes = ch.n;
    rep.last_version = ch.last;
    rep.more = ch.more;
    rc = svc_reply(c, &rep.base);
    agenda_changes_free(&ch);
    return rc ? svc_fail(c, rc, NULL, "reply failed") : ES_OK;
}

int agenda_export_ics(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    const Espace__V1__AgendaExportIcsRequest *r = (const Espace__V1__AgendaExportIcsRequest *)m;
    (void)st;
    const svc_access_t *a = NULL;
    int rc = agenda_patient(c, &a);
    if (rc != 0)
        return rc;
    agenda_page_t p;
    if ((rc = s_export_page(c, t, a->patient, r->from_ms, r->to_ms, &p)) != 0)
        return rc;
    size_t len = 0;
    char *ics = agenda_ics(p.events, p.n, svc_now_ms(c), &len);
    Espace__V1__AgendaExportIcsReply rep = ESPACE__V1__AGENDA_EXPORT_ICS_REPLY__INIT;
    rep.ics = ics;
    rep.truncated = p.more;
    rc = ics ? svc_reply(c, &rep.base) : ES_RESOURCE_EXHAUSTED;
    free(ics);
    agenda_page_free(&p);
    return rc ? svc_fail(c, rc, NULL, "export failed") : ES_OK;
}

int agenda_export_fhir(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    const Espace__V1__AgendaExportFhirRequest *r =
        (const Espace__V1__AgendaExportFhirRequest *)m;
    (void)st;
    const svc_access_t *a = NULL;
    int rc = agenda_patient(c, &a);
    if (rc != 0)
        return rc;
    Espace__V1__AgendaExportFhirReply rep = ESPACE__V1__AGENDA_EXPORT_FHIR_REPLY__INIT;
    size_t len = 0;
    char *json = NULL;
    if (r->event_id.len != 0) {
        Espace__V1__AgendaEvent *e = NULL;
        if ((rc = agenda_event_get(c, t, &r->event_id, a->patient, &e)) != 0)
            return rc;
        json = agenda_fhir_appointment(e, &len);
        codec_free(&e->base);
    } else {
        agenda_page_t p;
        if ((rc = s_export_page(c, t, a->patient, r->from_ms, r->to_ms, &p)) != 0)
            return rc;
        json = agenda_fhir_bundle(p.events, p.n, svc_now_ms(c), &len);
        rep.truncated = p.more;
        agenda_page_free(&p);
    }
    rep.json = json;
    rc = json ? svc_reply(c, &rep.base) : ES_RESOURCE_EXHAUSTED;
    free(json);
    return rc ? svc_fail(c, rc, NULL, "export failed") : ES_OK;
}
