/* agenda.c - libespace, typed calls of the agenda service (agenda.h). */
#include "clients/lib/agenda.h"

#include <string.h>

#include "bus/bus.h"
#include "bus/codec.h"
#include "clients/lib/rpc.h"
#include "proto/names.h"

/* One method of the agenda service (its schema's `service Agenda`). */
static int s_call(espace_t *e, const char *method, const ProtobufCMessage *req,
                  ProtobufCMessage **reply, espace_error_t *err)
{
    return espace_rpc(e, SERVICE_AGENDA, &espace__v1__agenda__descriptor, method, req, reply,
                      err);
}

static int s_missing(espace_error_t *err)
{
    return espace_err_set(err, ES_INVALID_ARGUMENT, NULL, "missing argument");
}

static char *s_pid(const char *patient_id)
{
    return (char *)(patient_id ? patient_id : "");
}

int espace_agenda_create(espace_t *e, const char *patient_id, const Espace__V1__AgendaEvent *ev,
                         Espace__V1__AgendaCreateReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !ev)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__AgendaCreateRequest req = ESPACE__V1__AGENDA_CREATE_REQUEST__INIT;
    req.patient_id = s_pid(patient_id);
    req.event = (Espace__V1__AgendaEvent *)ev;
    int rc = s_call(e, "Create", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_agenda_upsert(espace_t *e, const char *patient_id, const Espace__V1__AgendaEvent *ev,
                         Espace__V1__AgendaUpsertReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !ev)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__AgendaUpsertRequest req = ESPACE__V1__AGENDA_UPSERT_REQUEST__INIT;
    req.patient_id = s_pid(patient_id);
    req.event = (Espace__V1__AgendaEvent *)ev;
    int rc = s_call(e, "Upsert", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_agenda_get(espace_t *e, const char *patient_id, const uint8_t event_id[16],
                      Espace__V1__AgendaGetReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !event_id)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__AgendaGetRequest req = ESPACE__V1__AGENDA_GET_REQUEST__INIT;
    req.patient_id = s_pid(patient_id);
    req.event_id.data = (uint8_t *)event_id;
    req.event_id.len = 16;
    int rc = s_call(e, "Get", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_agenda_update(espace_t *e, const char *patient_id, const Espace__V1__AgendaEvent *ev,
                         Espace__V1__AgendaUpdateReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !ev)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__AgendaUpdateRequest req = ESPACE__V1__AGENDA_UPDATE_REQUEST__INIT;
    req.patient_id = s_pid(patient_id);
    req.event = (Espace__V1__AgendaEvent *)ev;
    int rc = s_call(e, "Update", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_agenda_cancel(espace_t *e, const char *patient_id, const uint8_t event_id[16],
                         const char *reason, uint64_t expected_version,
                         Espace__V1__AgendaCancelReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !event_id)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__AgendaCancelRequest req = ESPACE__V1__AGENDA_CANCEL_REQUEST__INIT;
    req.patient_id = s_pid(patient_id);
    req.event_id.data = (uint8_t *)event_id;
    req.event_id.len = 16;
    req.reason = (char *)(reason ? reason : "");
    req.expected_version = expected_version;
    int rc = s_call(e, "Cancel", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_agenda_delete(espace_t *e, const uint8_t event_id[16], uint64_t expected_version,
                         Espace__V1__AgendaDeleteReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !event_id)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__AgendaDeleteRequest req = ESPACE__V1__AGENDA_DELETE_REQUEST__INIT;
    req.event_id.data = (uint8_t *)event_id;
    req.event_id.len = 16;
    req.expected_version = expected_version;
    int rc = s_call(e, "Delete", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_agenda_list(espace_t *e, const char *patient_id, int64_t from_ms, int64_t to_ms,
                       uint32_t limit, espace_cursor_t *cursor,
                       Espace__V1__AgendaListReply **out, espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e || !cursor)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__AgendaListRequest req = ESPACE__V1__AGENDA_LIST_REQUEST__INIT;
    req.patient_id = s_pid(patient_id);
    req.from_ms = from_ms;
    req.to_ms = to_ms;
    req.limit = limit;
    req.cursor.data = cursor->data;
    req.cursor.len = cursor->len;
    int rc = s_call(e, "List", &req.base, &m, err);
    if (rc == 0)
        espace_cursor_advance(cursor, &((Espace__V1__AgendaListReply *)m)->next_cursor);
    ESPACE_RETURN_REPLY(out, m, rc);
}

int espace_agenda_list_changes(espace_t *e, const char *patient_id, uint64_t since_version,
                               uint32_t limit, Espace__V1__AgendaListChangesReply **out,
                               espace_error_t *err)
{
    ProtobufCMessage *m = NULL;
    if (!e)
        ESPACE_RETURN_REPLY(out, m, s_missing(err));
    Espace__V1__AgendaListChangesRequest req = ESPACE__V1__AGENDA_LIST_CHANGES_REQUEST__INIT;
    req.patient_id = s_pid(patient_id);
    req.since_version = since_version;
    req.limit = limit;
    int rc = s_call(e, "ListChanges", &req.base, &m, err);
    ESPACE_RETURN_REPLY(out, m, rc);
}

/* "pro.<RPPS>.agenda" of the bound session into topic. */
static int s_watch_topic(const espace_t *e, char topic[ESPACE_TOPIC_MAX], espace_error_t *err)
{
    const char *rpps = espace_principal(e);
    if (!*rpps)
        return espace_err_set(err, ES_UNAUTHENTICATED, NULL,
                              "no session on this connection (login or resume first)");
    if (topic_pro(topic, ESPACE_TOPIC_MAX, rpps, TOPIC_AREA_AGENDA) < 0)
        return espace_err_set(err, ES_PERMISSION_DENIED, NULL,
                              "live agenda changes are for professionals");
    return 0;
}

int espace_agenda_watch(espace_t *e, char topic[ESPACE_TOPIC_MAX], espace_error_t *err)
{
    char t[ESPACE_TOPIC_MAX];
    if (!e)
        return s_missing(err);
    int rc = s_watch_topic(e, t, err);
    if (rc < 0)
        return rc;
    rc = espace_subscribe(e, t, err);
    if (rc == 0 && topic)
        memcpy(topic, t, sizeof t);
    return rc;
}

int espace_agenda_next_change(espace_t *e, int timeout_ms, Espace__V1__AgendaChange **out,
                              espace_error_t *err)
{
    char want[ESPACE_TOPIC_MAX];
    if (out)
        *out = NULL;
    if (!e || !out)
        return s_missing(err);
    int rc = s_watch_topic(e, want, err);
    if (rc < 0)
        return rc;
    int64_t end = timeout_ms < 0 ? INT64_MAX : bus_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = end == INT64_MAX ? -1 : end - bus_mono_ms();
        if (left < 0 && end != INT64_MAX)
            left = 0;
        char topic[ESPACE_TOPIC_MAX];
        Espace__V1__Event *ev = NULL;
        rc = espace_next_event(e, left > INT32_MAX ? INT32_MAX : (int)left, topic, &ev, err);
        if (rc < 0)
            return rc;
        ProtobufCMessage *ch = NULL;
        if (!strcmp(topic, want))
            codec_decode(&espace__v1__agenda_change__descriptor, ev->body.data, ev->body.len, 0,
                         &ch, NULL);
        espace_free(&ev->base);
        if (ch && ((Espace__V1__AgendaChange *)ch)->event) {
            *out = (Espace__V1__AgendaChange *)ch;
            return 0;
        }
        espace_free(ch);
        if (left == 0)
            return espace_err_set(err, ES_DEADLINE_EXCEEDED, NULL, "no change within %d ms",
                                  timeout_ms);
    }
}
