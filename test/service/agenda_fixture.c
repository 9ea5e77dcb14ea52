/* agenda_fixture.c - the agenda scenarios' fixture (agenda_fixture.h). */
#include "test/service/agenda_fixture.h"
#include "test/service/consent_requests.h"

#include <stdio.h>
#include <string.h>

ag_fix_t AG;

/* ---- fixture ---- */

void ag_agenda_start(void)
{
    Espace__V1__AgendaListChangesRequest req = ESPACE__V1__AGENDA_LIST_CHANGES_REQUEST__INIT;
    sc_start(&AG.h, &AG.agenda, &agenda_service, AG.cl, "ListChanges", &req.base,
             &espace__v1__agenda_list_changes_reply__descriptor);
}

void ag_consent_start(void)
{
    sc_consent_start(&AG.h, &AG.consent, AG.cl);
}

int ag_setup(void **state)
{
    (void)state;
    static const char *const prefixes[] = {"patient.", "pro.", NULL};
    memset(&AG, 0, sizeof AG);
    if (sc_setup(&AG.h, HB_MS, &AG.cl, &AG.events, prefixes) != 0)
        return -1;
    ag_consent_start();
    ag_agenda_start();
    h_sleep_ms(300); /* subscriptions reach the publishers */
    return 0;
}

int ag_teardown(void **state)
{
    (void)state;
    return sc_teardown(&AG.h, &AG.cl, &AG.events, &AG.agenda, &AG.consent);
}

/* ---- calls ---- */

int ag_call_svc(const char *service, Espace__V1__PrincipalKind kind, const char *principal,
                      const char *method, const ProtobufCMessage *req,
                      const ProtobufCMessageDescriptor *rdesc, ProtobufCMessage **rep,
                      bus_reply_t *r)
{
    Espace__V1__Caller c = h_caller(kind, principal);
    bus_reply_t tmp;
    memset(&tmp, 0, sizeof tmp);
    return bus_call(AG.cl, service, method, req, rdesc, CALL_MS, &c, rep, r ? r : &tmp);
}

/* Call agenda; on an unexpected status, print it. */
int ag_call(Espace__V1__PrincipalKind kind, const char *principal, const char *method,
                  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rdesc,
                  ProtobufCMessage **rep, bus_reply_t *r)
{
    return ag_call_svc(SERVICE_AGENDA, kind, principal, method, req, rdesc, rep, r);
}

/* Get event id of patient P as the patient; it must succeed (codec_free). */
Espace__V1__AgendaGetReply *ag_get(const char *P, ProtobufCBinaryData id)
{
    Espace__V1__AgendaGetRequest g = ESPACE__V1__AGENDA_GET_REQUEST__INIT;
    g.event_id = id;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(ag_call(K_PATIENT, P, "Get", &g.base, &espace__v1__agenda_get_reply__descriptor,
                            &rep, NULL),
                     0);
    return (Espace__V1__AgendaGetReply *)rep;
}


/* ---- live events ---- */

/* Next live event on exactly `topic` within timeout_ms, decoded as desc
 * (others are skipped). NULL if none. */
ProtobufCMessage *ag_event_on(const char *topic, const ProtobufCMessageDescriptor *desc,
                                    int timeout_ms)
{
    return sc_event(AG.events, topic, desc, timeout_ms);
}

Espace__V1__AgendaChange *ag_change_on(const char *topic, int timeout_ms)
{
    return (Espace__V1__AgendaChange *)ag_event_on(
        topic, &espace__v1__agenda_change__descriptor, timeout_ms);
}

/* ch is a notice of pro.<rpps>.agenda: the ids and versions only, no
 * clinical content (title, description, times, place, participants...). */
void ag_assert_notice(const Espace__V1__AgendaChange *ch, const char *patient,
                            const ProtobufCBinaryData *id, uint64_t version)
{
    assert_non_null(ch->event);
    assert_string_equal(ch->event->patient_id, patient);
    assert_int_equal(ch->event->id.len, 16);
    assert_memory_equal(ch->event->id.data, id->data, 16);
    assert_int_equal(ch->event->version, version);
    assert_int_equal(ch->event->change_version, ch->change_version);
    const Espace__V1__AgendaEvent *evs[2] = {ch->event, ch->previous};
    for (int i = 0; i < 2; i++) {
        const Espace__V1__AgendaEvent *e = evs[i];
        if (!e)
            continue;
        assert_string_equal(e->title, "");
        assert_string_equal(e->description, "");
        assert_string_equal(e->location, "");
        assert_string_equal(e->cancel_reason, "");
        assert_string_equal(e->source_id, "");
        assert_string_equal(e->updated_by, "");
        assert_int_equal(e->start_ms, 0);
        assert_int_equal(e->end_ms, 0);
        assert_int_equal(e->kind, 0);
        assert_int_equal(e->status, 0);
        assert_int_equal(e->n_participants, 0);
        assert_int_equal(e->n_reminder_minutes, 0);
        assert_int_equal(e->created_ms, 0);
        assert_int_equal(e->updated_ms, 0);
    }
}

/* Drop every event received so far. */
void ag_drain(void)
{
    sc_drain(AG.events);
}

void ag_topic(char *out, size_t n, const char *who, const char *id, const char *suffix)
{
    snprintf(out, n, "%s.%s%s", who, id, suffix);
}

/* ---- events of the agenda ---- */

void ag_ev(evfix_t *f, int64_t start, const char *title)
{
    memset(f, 0, sizeof *f);
    espace__v1__agenda_event__init(&f->e);
    f->e.kind = ESPACE__V1__AGENDA_KIND__AGENDA_KIND_RDV;
    f->e.title = (char *)title;
    f->e.start_ms = start;
    f->e.end_ms = start + 30 * 60000;
    for (int i = 0; i < 4; i++) {
        espace__v1__agenda_participant__init(&f->p[i]);
        f->pp[i] = &f->p[i];
    }
    f->p[0].actor_type = ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PROFESSIONAL;
    f->p[0].actor_id = (char *)RPPS;
    f->p[0].display = "Dr Martin";
    f->e.participants = f->pp;
    f->e.n_participants = 1;
}

int64_t ag_day(int64_t y, unsigned m, unsigned d, int hh)
{
    return civil_days_from_date(y, m, d) * CIVIL_DAY_MS + (int64_t)hh * 3600000;
}

/* A copy of e that is its own decoded message (codec_free). */
Espace__V1__AgendaEvent *ag_dup(const Espace__V1__AgendaEvent *e)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(codec_pack(&e->base, &buf, &len), 0);
    ProtobufCMessage *m = NULL;
    assert_int_equal(codec_decode(&espace__v1__agenda_event__descriptor, buf, len, 0, &m, NULL), 0);
    free(buf);
    return (Espace__V1__AgendaEvent *)m;
}

/* Create as (kind, principal) for patient pid; returns the status, *out a
 * copy of the event (codec_free). */
int ag_create(Espace__V1__PrincipalKind kind, const char *principal, const char *pid,
                    Espace__V1__AgendaEvent *e, Espace__V1__AgendaEvent **out, bus_reply_t *r)
{
    Espace__V1__AgendaCreateRequest req = ESPACE__V1__AGENDA_CREATE_REQUEST__INIT;
    req.patient_id = (char *)pid;
    req.event = e;
    ProtobufCMessage *rep = NULL;
    int rc = ag_call(kind, principal, "Create", &req.base,
                    &espace__v1__agenda_create_reply__descriptor, &rep, r);
    if (out)
        *out = NULL;
    if (rc == 0 && out)
        *out = ag_dup(((Espace__V1__AgendaCreateReply *)rep)->event);
    codec_free(rep);
    return rc;
}

int ag_update(const char *pid, Espace__V1__AgendaEvent *e, Espace__V1__AgendaEvent **out,
                    bus_reply_t *r)
{
    Espace__V1__AgendaUpdateRequest req = ESPACE__V1__AGENDA_UPDATE_REQUEST__INIT;
    req.event = e;
    ProtobufCMessage *rep = NULL;
    int rc = ag_call(K_PATIENT, pid, "Update", &req.base,
                    &espace__v1__agenda_update_reply__descriptor, &rep, r);
    if (out)
        *out = NULL;
    if (rc == 0 && out)
        *out = ag_dup(((Espace__V1__AgendaUpdateReply *)rep)->event);
    codec_free(rep);
    return rc;
}

Espace__V1__AgendaListChangesReply *ag_changes(Espace__V1__PrincipalKind kind,
                                                     const char *principal, const char *pid,
                                                     uint64_t since)
{
    Espace__V1__AgendaListChangesRequest req = ESPACE__V1__AGENDA_LIST_CHANGES_REQUEST__INIT;
    req.patient_id = (char *)pid;
    req.since_version = since;
    ProtobufCMessage *rep = NULL;
    bus_reply_t r;
    int rc = ag_call(kind, principal, "ListChanges", &req.base,
                    &espace__v1__agenda_list_changes_reply__descriptor, &rep, &r);
    if (rc != 0)
        fail_msg("ListChanges: %s %s", es_status_name(rc), r.message);
    return (Espace__V1__AgendaListChangesReply *)rep;
}

uint64_t ag_head(const char *pid)
{
    Espace__V1__AgendaListChangesReply *lc = ag_changes(K_PATIENT, pid, "", 0);
    uint64_t v = lc->last_version;
    codec_free(&lc->base);
    return v;
}

/* ---- consent ---- */

int ag_grant(const char *pid, int gkind, const char *grantee, int read, int write, uint8_t *id)
{
    Espace__V1__Scope s[2];
    Espace__V1__Scope *sp[2];
    size_t n = 0;
    if (read) {
        espace__v1__scope__init(&s[n]);
        s[n].category = ESPACE__V1__CATEGORY__CATEGORY_AGENDA;
        s[n].action = ESPACE__V1__ACTION__ACTION_READ;
        sp[n] = &s[n];
        n++;
    }
    if (write) {
        espace__v1__scope__init(&s[n]);
        s[n].category = ESPACE__V1__CATEGORY__CATEGORY_AGENDA;
        s[n].action = ESPACE__V1__ACTION__ACTION_WRITE;
        sp[n] = &s[n];
        n++;
    }
    Espace__V1__GrantRequest req;
    cr_grant(&req, gkind, grantee, sp, n, NULL);
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    ProtobufCMessage *rep = NULL;
    int rc = ag_call_svc(SERVICE_CONSENT, K_PATIENT, pid, "Grant", &req.base,
                         &espace__v1__grant_reply__descriptor, &rep, &r);
    if (rc != 0)
        fprintf(stderr, "Grant: %s %s %s\n", es_status_name(rc), r.field, r.message);
    else if (id)
        memcpy(id, ((Espace__V1__GrantReply *)rep)->grant->id.data, 16);
    codec_free(rep);
    return rc;
}

int ag_revoke(const char *pid, const uint8_t id[16])
{
    Espace__V1__RevokeGrantRequest req;
    cr_revoke(&req, id);
    return ag_call_svc(SERVICE_CONSENT, K_PATIENT, pid, "RevokeGrant", &req.base,
                       &espace__v1__revoke_grant_reply__descriptor, NULL, NULL);
}

void ag_add_app(const char *id)
{
    Espace__V1__Scope s[2];
    Espace__V1__Scope *sp[2] = {&s[0], &s[1]};
    espace__v1__scope__init(&s[0]);
    espace__v1__scope__init(&s[1]);
    s[0].category = s[1].category = ESPACE__V1__CATEGORY__CATEGORY_AGENDA;
    s[0].action = ESPACE__V1__ACTION__ACTION_READ;
    s[1].action = ESPACE__V1__ACTION__ACTION_WRITE;
    Espace__V1__Purpose purposes[1] = {ESPACE__V1__PURPOSE__PURPOSE_SOINS};
    cr_app_t a;
    cr_app_init(&a, id, 9);
    a.app.name = "Prise de RDV";
    a.app.publisher = "RDV SAS";
    a.app.description_fr = "Prise de rendez-vous en ligne.";
    a.app.purposes = purposes;
    a.app.n_purposes = 1;
    a.app.scopes = sp;
    a.app.n_scopes = 2;
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = ag_call_svc(SERVICE_CONSENT, K_OP, "", "AddApp", &a.req.base,
                        &espace__v1__add_app_reply__descriptor, NULL, &r);
    if (rc != 0)
        fprintf(stderr, "AddApp: %s %s %s\n", es_status_name(rc), r.field, r.message);
    assert_int_equal(rc, 0);
}

/* Newest audit entry of patient pid. */
Espace__V1__AuditEntry *ag_last_audit(const char *pid, ProtobufCMessage **hold)
{
    Espace__V1__ReadAuditRequest req = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    req.limit = 1;
    assert_int_equal(ag_call_svc(SERVICE_CONSENT, K_PATIENT, pid, "ReadAudit", &req.base,
                                &espace__v1__read_audit_reply__descriptor, hold, NULL),
                     0);
    Espace__V1__ReadAuditReply *rep = (Espace__V1__ReadAuditReply *)*hold;
    assert_int_equal(rep->n_entries, 1);
    return rep->entries[0];
}

int ag_list(Espace__V1__PrincipalKind kind, const char *who, const char *pid,
                  bus_reply_t *r, size_t *n)
{
    Espace__V1__AgendaListRequest lr = ESPACE__V1__AGENDA_LIST_REQUEST__INIT;
    lr.patient_id = (char *)pid;
    lr.from_ms = 0;
    lr.to_ms = INT64_MAX;
    ProtobufCMessage *rep = NULL;
    int rc = ag_call(kind, who, "List", &lr.base, &espace__v1__agenda_list_reply__descriptor, &rep,
                    r);
    if (rc == 0 && n)
        *n = ((Espace__V1__AgendaListReply *)rep)->n_events;
    codec_free(rep);
    return rc;
}

