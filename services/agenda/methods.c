/*
 * methods.c - the write methods of the agenda (Create, Update, Cancel,
 * Delete, Upsert, Reschedule) and the live events they publish.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/agenda/agenda_int.h"
#include "bus/codec.h"
#include "process/log.h"
#include "proto/status.h"

#define ST(x) ESPACE__V1__AGENDA_STATUS__AGENDA_STATUS_##x
#define CH(x) ESPACE__V1__AGENDA_CHANGE_KIND__AGENDA_CHANGE_##x

/* ---- live events ---- */

/* Add the RPPS of e's professional participants to list (deduplicated). */
static void s_pros(const Espace__V1__AgendaEvent *e, const char **list, size_t *n, size_t max)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_participants; i++) {
        const Espace__V1__AgendaParticipant *p = e->participants[i];
        if (p->actor_type != ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PROFESSIONAL)
            continue;
        size_t j = 0;
        while (j < *n && strcmp(list[j], p->actor_id) != 0)
            j++;
        if (j == *n && *n < max)
            list[(*n)++] = p->actor_id;
    }
}

/* The notice of e for a professional's topic: id, patient id, version and
 * change version only, never the content (DESIGN.md section 2: a
 * professional reads the event with Get, which asks consent and audits). */
static void s_notice_event(Espace__V1__AgendaEvent *out, const Espace__V1__AgendaEvent *e)
{
    Espace__V1__AgendaEvent blank = ESPACE__V1__AGENDA_EVENT__INIT;
    *out = blank;
    out->id = e->id;
    out->patient_id = e->patient_id;
    out->version = e->version;
    out->change_version = e->change_version;
}

/* Publish ch in full on the patient's topic, and a notice of it (no
 * clinical content) on the topic of each professional participant of a, b. */
static void s_notify(svc_call_t *c, const Espace__V1__AgendaChange *ch,
                     const Espace__V1__AgendaEvent *a, const Espace__V1__AgendaEvent *b)
{
    char topic[TOPIC_MAX + 1];
    const char *pros[3 * AGENDA_MAX_PROS];
    size_t np = 0;
    s_pros(a, pros, &np, sizeof pros / sizeof pros[0]);
    s_pros(b, pros, &np, sizeof pros / sizeof pros[0]);
    int rc = topic_patient(topic, sizeof topic, ch->event->patient_id, TOPIC_AREA_AGENDA);
    if (rc == 0)
        rc = svc_publish(c, topic, &ch->base);
    Espace__V1__AgendaEvent ev, prev;
    Espace__V1__AgendaChange notice = ESPACE__V1__AGENDA_CHANGE__INIT;
    notice.kind = ch->kind;
    notice.change_version = ch->change_version;
    s_notice_event(&ev, ch->event);
    notice.event = &ev;
    if (ch->previous) {
        s_notice_event(&prev, ch->previous);
        notice.previous = &prev;
    }
    for (size_t i = 0; i < np && rc == 0; i++) {
        rc = topic_pro(topic, sizeof topic, pros[i], TOPIC_AREA_AGENDA);
        if (rc == 0)
            rc = svc_publish(c, topic, &notice.base);
    }
    if (rc != 0)
        log_warn(SERVICE_AGENDA, "publish.fail", "status=%s", es_status_name(rc));
}

/* ---- helpers ---- */

static void s_stamp(svc_call_t *c, Espace__V1__AgendaEvent *e)
{
    const Espace__V1__Caller *who = svc_caller(c);
    e->updated_ms = svc_now_ms(c);
    e->updated_by_kind = who->kind;
    e->updated_by = who->principal;
}

/* The source of a new event, from the request and the caller. */
static int s_source(svc_call_t *c, Espace__V1__AgendaEvent *e)
{
    int patient = svc_caller(c)->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
    if (e->source == ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_UNSPECIFIED) {
        if (patient)
            e->source = ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_PATIENT;
        else if (svc_caller(c)->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL)
            e->source = ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_PRO_SOFTWARE;
        else
            e->source = ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_BOOKING_SERVICE;
    }
    if (e->source < ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_PATIENT ||
        e->source > ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_HOSPITAL_PORTAL)
        return svc_fail(c, ES_INVALID_ARGUMENT, "event.source", "unknown source");
    if ((e->source == ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_PATIENT) != patient)
        return svc_fail(c, ES_INVALID_ARGUMENT, "event.source",
                        patient ? "a patient writes as source PATIENT"
                                : "source PATIENT is the patient's own");
    return ES_OK;
}

static int s_version(svc_call_t *c, const Espace__V1__AgendaEvent *e, uint64_t expected,
                     const char *field)
{
    if (expected && expected != e->version)
        return svc_fail(c, ES_ABORTED, field,
                        "stale version %llu (current %llu): reload and retry",
                        (unsigned long long)expected, (unsigned long long)e->version);
    return ES_OK;
}

static int s_status_move(svc_call_t *c, int from, int to, const char *field)
{
    if (from != to && !agenda_status_can_move(from, to))
        return svc_fail(c, ES_FAILED_PRECONDITION, field, "status %s cannot become %s",
                        agenda_status_code(from), agenda_status_code(to));
    return ES_OK;
}

/* The patient of a request that writes ev (it needs one): 0 and *a, or the
 * call failed. */
static int s_write_patient(svc_call_t *c, const Espace__V1__AgendaEvent *ev,
                           const svc_access_t **a)
{
    int rc = agenda_patient(c, a);
    if (rc != 0)
        return rc;
    if (!ev)
        return svc_fail(c, ES_INVALID_ARGUMENT, "event", "event is required");
    return ES_OK;
}

/* The patient of a request on event `id` with a `reason` (Cancel,
 * Reschedule), both checked: 0 and *a, or the call failed. */
static int s_reasoned_patient(svc_call_t *c, const ProtobufCBinaryData *id, const char *reason,
                              const svc_access_t **a)
{
    agenda_err_t err;
    int rc = agenda_patient(c, a);
    if (rc == 0)
        rc = agenda_event_id_check(c, id, "event_id");
    if (rc == 0 && agenda_text_check(reason, 0, AGENDA_MAX_REASON, 0, "reason", &err) != 0)
        rc = agenda_fail(c, &err);
    return rc;
}

/* Load event id of pid, being changed from version expected (field names
 * it), and a draft for its new state: 0, *old (codec_free) and *d (free), or
 * the call failed and both are freed and NULL. */
static int s_open(svc_call_t *c, store_txn_t *t, const uint8_t *id, const uint8_t *pid,
                  uint64_t expected, const char *field, Espace__V1__AgendaEvent **old,
                  agenda_draft_t **d)
{
    *d = NULL;
    int rc = agenda_event_load(c, t, id, pid, old);
    if (rc != 0)
        return rc;
    *d = malloc(sizeof **d);
    if (!*d)
        rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
    else
        rc = s_version(c, *old, expected, field);
    if (rc != 0) {
        free(*d);
        *d = NULL;
        codec_free(&(*old)->base);
        *old = NULL;
    }
    return rc;
}

/* Create the event described by src for the patient of a: validate, mint,
 * store, reply (AgendaUpsertReply if upsert, else AgendaCreateReply), notify. */
static int s_create(const agenda_state_t *st, svc_call_t *c, store_txn_t *t,
                    const svc_access_t *a, const Espace__V1__AgendaEvent *src, int upsert)
{
    const char *hex = a->patient_id;
    agenda_draft_t *d = malloc(sizeof *d);
    if (!d)
        return svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
    int rc;
    agenda_draft_init(d, NULL);
    agenda_draft_content(d, src);
    Espace__V1__AgendaEvent *e = &d->ev;
    e->source = src->source;
    e->source_id = src->source_id;
    snprintf(d->patient, sizeof d->patient, "%s", hex);
    agenda_err_t err;
    if (agenda_event_check(e, "event.", &err) != 0) {
        rc = agenda_fail(c, &err);
        goto done;
    }
    if (!agenda_status_initial(e->status)) {
        rc = svc_fail(c, ES_INVALID_ARGUMENT, "event.status",
                      "an event cannot be created %s", agenda_status_code(e->status));
        goto done;
    }
    if ((rc = s_source(c, e)) != 0)
        goto done;
    if (e->source_id[0]) {
        uint8_t held[ID_BYTES];
        rc = agenda_db_source_find(st->store, t, a->patient, e->source, e->source_id, held);
        if (rc == 0) {
            rc = svc_fail(c, ES_ALREADY_EXISTS, "event.source_id",
                          "this source id is taken (use Upsert)");
            goto done;
        }
        if (rc != ES_NOT_FOUND) {
            rc = svc_fail(c, rc, NULL, "storage failure");
            goto done;
        }
    }
    randombytes_buf(d->id, sizeof d->id);
    e->id.data = d->id;
    e->id.len = ID_BYTES;
    e->previous_id.len = e->next_id.len = 0;
    e->cancel_reason = "";
    e->created_ms = svc_now_ms(c);
    e->version = 1;
    s_stamp(c, e);
    if ((rc = agenda_db_write(t, NULL, e, CH(CREATED), svc_now_ms(c))) != 0 ||
        (rc = agenda_db_source_claim(st->store, t, e)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    if (upsert) {
        Espace__V1__AgendaUpsertReply rep = ESPACE__V1__AGENDA_UPSERT_REPLY__INIT;
        rep.event = e;
        rep.created = rep.changed = 1;
        rc = svc_reply(c, &rep.base);
    } else {
        Espace__V1__AgendaCreateReply rep = ESPACE__V1__AGENDA_CREATE_REPLY__INIT;
        rep.event = e;
        rc = svc_reply(c, &rep.base);
    }
    if (rc != 0) {
        rc = svc_fail(c, rc, NULL, "reply failed");
        goto done;
    }
    Espace__V1__AgendaChange ch = ESPACE__V1__AGENDA_CHANGE__INIT;
    ch.kind = CH(CREATED);
    ch.change_version = e->change_version;
    ch.event = e;
    s_notify(c, &ch, e, NULL);
    char ih[ID_HEX];
    log_info(SERVICE_AGENDA, "event.created", "id=%s patient=%s status=%s",
             id_hex(d->id, ih), hex, agenda_status_code(e->status));
done:
    free(d);
    return rc;
}

/* Store d (changed from old) as change `kind`, reply with it through
 * reply(), notify. */
static int s_commit(svc_call_t *c, store_txn_t *t, const Espace__V1__AgendaEvent *old,
                    Espace__V1__AgendaEvent *e, int kind)
{
    e->version = old->version + 1;
    s_stamp(c, e);
    int rc = agenda_db_write(t, old, e, kind, svc_now_ms(c));
    if (rc != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    Espace__V1__AgendaChange ch = ESPACE__V1__AGENDA_CHANGE__INIT;
    ch.kind = (Espace__V1__AgendaChangeKind)kind;
    ch.change_version = e->change_version;
    ch.event = e;
    s_notify(c, &ch, old, e);
    char ih[ID_HEX];
    log_info(SERVICE_AGENDA, "event.changed", "id=%s change=%d status=%s",
             id_hex(e->id.data, ih), kind, agenda_status_code(e->status));
    return ES_OK;
}

/* s_commit, then reply rep (an event Reply pointing at e). */
static int s_commit_reply(svc_call_t *c, store_txn_t *t, const Espace__V1__AgendaEvent *old,
                          Espace__V1__AgendaEvent *e, int kind, const ProtobufCMessage *rep)
{
    int rc = s_commit(c, t, old, e, kind);
    if (rc != 0)
        return rc;
    if ((rc = svc_reply(c, rep)) != 0)
        rc = svc_fail(c, rc, NULL, "reply failed");
    return rc;
}

/* ---- Create ---- */

int agenda_create(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    const Espace__V1__AgendaCreateRequest *r = (const Espace__V1__AgendaCreateRequest *)m;
    const svc_access_t *a = NULL;
    int rc = s_write_patient(c, r->event, &a);
    return rc != 0 ? rc : s_create(st, c, t, a, r->event, 0);
}

/* ---- Update ---- */

/* d: old with the content of src (validated); 0, or the call failed. */
static int s_merge(svc_call_t *c, agenda_draft_t *d, const Espace__V1__AgendaEvent *old,
                   const Espace__V1__AgendaEvent *src)
{
    agenda_draft_init(d, old);
    agenda_draft_content(d, src);
    Espace__V1__AgendaEvent *e = &d->ev;
    if (e->status == ST(UNSPECIFIED))
        e->status = old->status;
    e->cancel_reason = src->status == ST(CANCELLED) ? src->cancel_reason : old->cancel_reason;
    agenda_err_t err;
    if (agenda_event_check(e, "event.", &err) != 0)
        return agenda_fail(c, &err);
    return ES_OK;
}

/* The changed content of old per src (validated); 0, or the status set. */
static int s_apply(svc_call_t *c, agenda_draft_t *d, const Espace__V1__AgendaEvent *old,
                   const Espace__V1__AgendaEvent *src, int *kind)
{
    int rc = s_merge(c, d, old, src);
    if (rc != 0)
        return rc;
    Espace__V1__AgendaEvent *e = &d->ev;
    rc = s_status_move(c, old->status, e->status, "event.status");
    if (rc != 0)
        return rc;
    *kind = e->status == ST(CANCELLED) && old->status != ST(CANCELLED) ? CH(CANCELLED)
                                                                        : CH(UPDATED);
    return ES_OK;
}

/* A final event only moves to entered-in-error, nothing else changes. */
static int s_final(svc_call_t *c, agenda_draft_t *d, const Espace__V1__AgendaEvent *old,
                   int to)
{
    if (to != ST(ENTERED_IN_ERROR) || old->status == ST(ENTERED_IN_ERROR))
        return svc_fail(c, ES_FAILED_PRECONDITION, "event.status",
                        "a %s event can only become entered-in-error",
                        agenda_status_code(old->status));
    agenda_draft_init(d, old);
    d->ev.status = ST(ENTERED_IN_ERROR);
    return ES_OK;
}

int agenda_update(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    const Espace__V1__AgendaUpdateRequest *r = (const Espace__V1__AgendaUpdateRequest *)m;
    (void)st;
    const svc_access_t *a = NULL;
    int rc = s_write_patient(c, r->event, &a);
    if (rc != 0)
        return rc;
    if ((rc = agenda_event_id_check(c, &r->event->id, "event.id")) != 0)
        return rc;
    if (r->event->version == 0)
        return svc_fail(c, ES_INVALID_ARGUMENT, "event.version",
                        "the version being modified is required");
    Espace__V1__AgendaEvent *old = NULL;
    agenda_draft_t *d = NULL;
    if ((rc = s_open(c, t, r->event->id.data, a->patient, r->event->version, "event.version", &old,
                     &d)) != 0)
        return rc;
    int kind = CH(UPDATED);
    if (agenda_status_final(old->status))
        rc = s_final(c, d, old, r->event->status);
    else
        rc = s_apply(c, d, old, r->event, &kind);
    if (rc != 0)
        goto done;
    Espace__V1__AgendaUpdateReply rep = ESPACE__V1__AGENDA_UPDATE_REPLY__INIT;
    rep.event = &d->ev;
    rc = s_commit_reply(c, t, old, &d->ev, kind, &rep.base);
done:
    free(d);
    codec_free(&old->base);
    return rc;
}

/* ---- Cancel ---- */

int agenda_cancel(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    const Espace__V1__AgendaCancelRequest *r = (const Espace__V1__AgendaCancelRequest *)m;
    (void)st;
    const svc_access_t *a = NULL;
    Espace__V1__AgendaEvent *old = NULL;
    agenda_draft_t *d = NULL;
    int rc = s_reasoned_patient(c, &r->event_id, r->reason, &a);
    if (rc != 0 || (rc = s_open(c, t, r->event_id.data, a->patient, r->expected_version,
                                "expected_version", &old, &d)) != 0)
        return rc;
    if (old->status == ST(CANCELLED) || !agenda_status_can_move(old->status, ST(CANCELLED))) {
        rc = svc_fail(c, ES_FAILED_PRECONDITION, "status", "a %s event cannot be cancelled",
                      agenda_status_code(old->status));
        goto done;
    }
    agenda_draft_init(d, old);
    d->ev.status = ST(CANCELLED);
    d->ev.cancel_reason = r->reason;
    Espace__V1__AgendaCancelReply rep = ESPACE__V1__AGENDA_CANCEL_REPLY__INIT;
    rep.event = &d->ev;
    rc = s_commit_reply(c, t, old, &d->ev, CH(CANCELLED), &rep.base);
done:
    free(d);
    codec_free(&old->base);
    return rc;
}

/* ---- Delete ---- */

int agenda_delete(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    const agenda_state_t *as = st;
    const Espace__V1__AgendaDeleteRequest *r = (const Espace__V1__AgendaDeleteRequest *)m;
    const Espace__V1__Caller *who = svc_caller(c);
    uint8_t pid[ID_BYTES];
    if (who->kind != ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT ||
        id_parse(who->principal, pid) != 0)
        return svc_fail(c, ES_PERMISSION_DENIED, NULL, "only the patient deletes events");
    Espace__V1__AgendaEvent *old = NULL;
    int rc = agenda_event_get(c, t, &r->event_id, pid, &old);
    if (rc != 0)
        return rc;
    if ((rc = s_version(c, old, r->expected_version, "expected_version")) != 0)
        goto done;
    uint64_t cv = 0;
    if ((rc = agenda_db_tombstone(as->store, t, old, svc_now_ms(c), &cv)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    Espace__V1__AgendaEvent tomb = ESPACE__V1__AGENDA_EVENT__INIT;
    tomb.id = old->id;
    tomb.patient_id = old->patient_id;
    tomb.change_version = cv;
    tomb.updated_ms = svc_now_ms(c);
    Espace__V1__AgendaChange ch = ESPACE__V1__AGENDA_CHANGE__INIT;
    ch.kind = CH(DELETED);
    ch.change_version = cv;
    ch.event = &tomb;
    s_notify(c, &ch, old, NULL);
    Espace__V1__AgendaDeleteReply rep = ESPACE__V1__AGENDA_DELETE_REPLY__INIT;
    rep.change_version = cv;
    if ((rc = svc_reply(c, &rep.base)) != 0)
        rc = svc_fail(c, rc, NULL, "reply failed");
    char ih[ID_HEX];
    log_info(SERVICE_AGENDA, "event.deleted", "id=%s", id_hex(old->id.data, ih));
done:
    codec_free(&old->base);
    return rc;
}

/* ---- Upsert ---- */

static int s_same(const Espace__V1__AgendaEvent *a, const Espace__V1__AgendaEvent *b)
{
    size_t la = protobuf_c_message_get_packed_size(&a->base);
    size_t lb = protobuf_c_message_get_packed_size(&b->base);
    if (la != lb)
        return 0;
    uint8_t *pa = malloc(la ? la : 1), *pb = malloc(lb ? lb : 1);
    int same = 0;
    if (pa && pb) {
        protobuf_c_message_pack(&a->base, pa);
        protobuf_c_message_pack(&b->base, pb);
        same = memcmp(pa, pb, la) == 0;
    }
    free(pa);
    free(pb);
    return same;
}

int agenda_upsert(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    const Espace__V1__AgendaUpsertRequest *r = (const Espace__V1__AgendaUpsertRequest *)m;
    const agenda_state_t *as = st;
    const svc_access_t *a = NULL;
    int rc = s_write_patient(c, r->event, &a);
    if (rc != 0)
        return rc;
    if (!r->event->source_id || !r->event->source_id[0])
        return svc_fail(c, ES_INVALID_ARGUMENT, "event.source_id", "Upsert needs a source id");
    /* Resolve the source as Create would, to find the key. */
    Espace__V1__AgendaEvent probe = *r->event;
    if ((rc = s_source(c, &probe)) != 0)
        return rc;
    agenda_draft_t *d = NULL;
    if (strlen(probe.source_id) > AGENDA_MAX_SOURCE_ID) {
        /* Let validation name it. */
        return s_create(as, c, t, a, &probe, 1);
    }
    uint8_t id[ID_BYTES];
    rc = agenda_db_source_find(as->store, t, a->patient, probe.source, probe.source_id, id);
    if (rc == ES_NOT_FOUND)
        return s_create(as, c, t, a, &probe, 1);
    if (rc != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    Espace__V1__AgendaEvent *old = NULL;
    rc = agenda_db_load(t, id, a->patient, 0, &old);
    if (rc != 0)
        return svc_fail(c, ES_INTERNAL, NULL, "source index without event");
    d = malloc(sizeof *d);
    if (!d) {
        rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
        goto done;
    }
    int kind = CH(UPDATED);
    if ((rc = s_merge(c, d, old, r->event)) != 0)
        goto done;
    Espace__V1__AgendaUpsertReply rep = ESPACE__V1__AGENDA_UPSERT_REPLY__INIT;
    if (s_same(&d->ev, old)) {
        /* A resend: the stored event, unchanged. */
        rep.event = old;
        if ((rc = svc_reply(c, &rep.base)) != 0)
            rc = svc_fail(c, rc, NULL, "reply failed");
        goto done;
    }
    if (agenda_status_final(old->status)) {
        rc = svc_fail(c, ES_FAILED_PRECONDITION, "event.status", "a %s event cannot change",
                      agenda_status_code(old->status));
        goto done;
    }
    if ((rc = s_status_move(c, old->status, d->ev.status, "event.status")) != 0)
        goto done;
    if (d->ev.status == ST(CANCELLED))
        kind = CH(CANCELLED);
    rep.event = &d->ev;
    rep.changed = 1;
    rc = s_commit_reply(c, t, old, &d->ev, kind, &rep.base);
done:
    free(d);
    codec_free(&old->base);
    return rc;
}

/* ---- Reschedule ---- */

int agenda_reschedule(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    const Espace__V1__AgendaRescheduleRequest *r =
        (const Espace__V1__AgendaRescheduleRequest *)m;
    const agenda_state_t *as = st;
    const svc_access_t *a = NULL;
    agenda_err_t err;
    int64_t end = 0;
    int rc = s_reasoned_patient(c, &r->event_id, r->reason, &a);
    if (rc != 0)
        return rc;
    if (agenda_times_check(r->start_ms, r->end_ms, r->all_day, "", &end, &err) != 0)
        return agenda_fail(c, &err);
    Espace__V1__AgendaEvent *old = NULL;
    agenda_draft_t *was = NULL, *d = NULL;
    if ((rc = s_open(c, t, r->event_id.data, a->patient, r->expected_version,
                     "expected_version", &old, &d)) != 0)
        return rc;
    if (!agenda_status_can_move(old->status, ST(CANCELLED))) {
        rc = svc_fail(c, ES_FAILED_PRECONDITION, "status", "a %s event cannot be rescheduled",
                      agenda_status_code(old->status));
        goto done;
    }
    int status = r->status ? (int)r->status : (int)old->status;
    if (!agenda_status_initial(status) || agenda_status_final(status)) {
        rc = svc_fail(c, ES_INVALID_ARGUMENT, "status", "the new event cannot be %s",
                      agenda_status_code(status) ? agenda_status_code(status) : "unknown");
        goto done;
    }
    was = malloc(sizeof *was);
    if (!was) {
        rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
        goto done;
    }
    /* The new event: a copy at the new times, linked to the old one. */
    agenda_draft_init(d, old);
    Espace__V1__AgendaEvent *e = &d->ev;
    randombytes_buf(d->id, sizeof d->id);
    e->id.data = d->id;
    memcpy(d->prev, old->id.data, ID_BYTES);
    e->previous_id.data = d->prev;
    e->previous_id.len = ID_BYTES;
    e->next_id.data = NULL;
    e->next_id.len = 0;
    e->start_ms = r->start_ms;
    e->end_ms = end;
    e->all_day = r->all_day;
    e->status = (Espace__V1__AgendaStatus)status;
    e->cancel_reason = "";
    e->created_ms = svc_now_ms(c);
    e->version = 1;
    e->change_version = 0;
    s_stamp(c, e);
    /* The old one: cancelled, pointing to the new one. */
    agenda_draft_init(was, old);
    was->ev.status = ST(CANCELLED);
    was->ev.cancel_reason = r->reason;
    memcpy(was->next, d->id, ID_BYTES);
    was->ev.next_id.data = was->next;
    was->ev.next_id.len = ID_BYTES;
    was->ev.version = old->version + 1;
    s_stamp(c, &was->ev);
    int64_t now = svc_now_ms(c);
    if ((rc = agenda_db_write(t, old, &was->ev, CH(CANCELLED), now)) != 0 ||
        (rc = agenda_db_write(t, NULL, e, CH(RESCHEDULED), now)) != 0 ||
        (rc = agenda_db_source_claim(as->store, t, e)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    Espace__V1__AgendaChange ch = ESPACE__V1__AGENDA_CHANGE__INIT;
    ch.kind = CH(RESCHEDULED);
    ch.change_version = e->change_version;
    ch.event = e;
    ch.previous = &was->ev;
    s_notify(c, &ch, old, e);
    Espace__V1__AgendaRescheduleReply rep = ESPACE__V1__AGENDA_RESCHEDULE_REPLY__INIT;
    rep.cancelled = &was->ev;
    rep.event = e;
    if ((rc = svc_reply(c, &rep.base)) != 0)
        rc = svc_fail(c, rc, NULL, "reply failed");
    char ha[ID_HEX], hb[ID_HEX];
    log_info(SERVICE_AGENDA, "event.rescheduled", "id=%s new=%s",
             id_hex(old->id.data, ha), id_hex(d->id, hb));
done:
    free(was);
    free(d);
    codec_free(&old->base);
    return rc;
}
