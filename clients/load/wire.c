/* wire.c - espace.v1 websocket messages for espace-load (wire.h). */
#define _GNU_SOURCE /* memmem */
#include "clients/load/wire.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "proto/status.h"

#define S_START_MS INT64_C(1893456000000) /* 2030-01-01T00:00:00Z */

static int s_pack(const Espace__V1__ClientMessage *m, uint8_t *out, size_t cap, size_t *len)
{
    size_t need = espace__v1__client_message__get_packed_size(m);
    if (need > cap)
        return ES_RESOURCE_EXHAUSTED;
    *len = espace__v1__client_message__pack(m, out);
    return 0;
}

int wire_login(uint8_t *out, size_t cap, uint64_t id, const char *ins, const char *password,
               size_t *len)
{
    Espace__V1__LoginRequest l = ESPACE__V1__LOGIN_REQUEST__INIT;
    l.who_case = ESPACE__V1__LOGIN_REQUEST__WHO_INS;
    l.ins = (char *)ins;
    l.password = (char *)password;
    l.device_name = (char *)"espace-load";
    Espace__V1__ClientMessage m = ESPACE__V1__CLIENT_MESSAGE__INIT;
    m.id = id;
    m.kind_case = ESPACE__V1__CLIENT_MESSAGE__KIND_LOGIN;
    m.login = &l;
    return s_pack(&m, out, cap, len);
}

int wire_resume(uint8_t *out, size_t cap, uint64_t id, const char *token, size_t *len)
{
    Espace__V1__ResumeRequest r = ESPACE__V1__RESUME_REQUEST__INIT;
    r.token = (char *)token;
    Espace__V1__ClientMessage m = ESPACE__V1__CLIENT_MESSAGE__INIT;
    m.id = id;
    m.kind_case = ESPACE__V1__CLIENT_MESSAGE__KIND_RESUME;
    m.resume = &r;
    return s_pack(&m, out, cap, len);
}

int wire_agenda_event(Espace__V1__AgendaEvent *ev, uint64_t seq, size_t payload,
                      char title[WIRE_TITLE_MAX], char *desc)
{
    if (payload > WIRE_MAX_PAYLOAD)
        return ES_INVALID_ARGUMENT;
    snprintf(title, WIRE_TITLE_MAX, WIRE_MARK "%016" PRIx64, seq);
    memset(desc, 'x', payload);
    desc[payload] = '\0';
    espace__v1__agenda_event__init(ev);
    ev->kind = ESPACE__V1__AGENDA_KIND__AGENDA_KIND_RDV;
    ev->title = title;
    ev->description = desc;
    ev->start_ms = S_START_MS + (int64_t)(seq % 100000) * 60000;
    ev->end_ms = ev->start_ms + 30 * 60000;
    return 0;
}

int wire_agenda_create(uint8_t *out, size_t cap, uint64_t id, uint64_t seq, size_t payload,
                       const char *patient_id, size_t *len)
{
    char title[WIRE_TITLE_MAX], body[WIRE_MAX_PAYLOAD + 64], desc[WIRE_MAX_PAYLOAD + 1];
    Espace__V1__AgendaEvent ev;
    int rc = wire_agenda_event(&ev, seq, payload, title, desc);
    if (rc < 0)
        return rc;
    Espace__V1__AgendaCreateRequest req = ESPACE__V1__AGENDA_CREATE_REQUEST__INIT;
    req.patient_id = (char *)(patient_id ? patient_id : "");
    req.event = &ev;
    size_t blen = espace__v1__agenda_create_request__get_packed_size(&req);
    if (blen > sizeof body)
        return ES_RESOURCE_EXHAUSTED;
    espace__v1__agenda_create_request__pack(&req, (uint8_t *)body);
    Espace__V1__CallRequest call = ESPACE__V1__CALL_REQUEST__INIT;
    call.service = (char *)"agenda";
    call.method = (char *)"Create";
    call.body.data = (uint8_t *)body;
    call.body.len = blen;
    Espace__V1__ClientMessage m = ESPACE__V1__CLIENT_MESSAGE__INIT;
    m.id = id;
    m.kind_case = ESPACE__V1__CLIENT_MESSAGE__KIND_CALL;
    m.call = &call;
    return s_pack(&m, out, cap, len);
}

int wire_call(uint8_t *out, size_t cap, uint64_t id, const char *service, const char *method,
              const ProtobufCMessage *req, size_t *len)
{
    uint8_t body[4096];
    size_t blen = protobuf_c_message_get_packed_size(req);
    if (blen > sizeof body)
        return ES_RESOURCE_EXHAUSTED;
    protobuf_c_message_pack(req, body);
    Espace__V1__CallRequest call = ESPACE__V1__CALL_REQUEST__INIT;
    call.service = (char *)service;
    call.method = (char *)method;
    call.body.data = body;
    call.body.len = blen;
    Espace__V1__ClientMessage m = ESPACE__V1__CLIENT_MESSAGE__INIT;
    m.id = id;
    m.kind_case = ESPACE__V1__CLIENT_MESSAGE__KIND_CALL;
    m.call = &call;
    return s_pack(&m, out, cap, len);
}

Espace__V1__ServerMessage *wire_parse(const uint8_t *data, size_t len)
{
    return espace__v1__server_message__unpack(NULL, len, data);
}

void wire_free(Espace__V1__ServerMessage *m)
{
    if (m)
        espace__v1__server_message__free_unpacked(m, NULL);
}

int wire_find_seq(const uint8_t *data, size_t len, uint64_t *seq)
{
    const size_t ml = sizeof WIRE_MARK - 1;
    const uint8_t *p = memmem(data, len, WIRE_MARK, ml);
    if (!p || (size_t)(data + len - p) < ml + 16)
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < 16; i++) {
        uint8_t c = p[ml + i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return 0;
        v = v << 4 | d;
    }
    *seq = v;
    return 1;
}
