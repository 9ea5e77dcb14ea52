/*
 * call.c - a call's handle (service.h "for handlers"): what a handler reads
 * (caller, access, time) and produces (reply, status, events), and how the
 * runtime resets it (service_int.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/codec.h"
#include "proto/status.h"
#include "runtime/service_int.h"

/* ---- for the runtime ---- */

int svc_status_valid(int rc)
{
    if (rc >= 0 || rc < ES_STATUS_MIN)
        return ES_INTERNAL;
    return rc;
}

void svc_status_set(svc_call_t *c, int status, const char *field, const char *msg)
{
    c->status = status;
    snprintf(c->field, sizeof c->field, "%s", field ? field : "");
    snprintf(c->message, sizeof c->message, "%s", msg ? msg : "");
}

/* Free a body held by the batch (a reply or an event) and count it out. */
static void s_held_free(svc_runtime_t *rt, uint8_t **body, size_t *len)
{
    rt->held -= *len;
    free(*body);
    *body = NULL;
    *len = 0;
}

/* Pack msg into a new body held by the batch: 0, ES_TOO_LARGE past max
 * bytes, or ES_RESOURCE_EXHAUSTED (SVC_BATCH_BYTES, or allocation). */
static int s_held_pack(svc_runtime_t *rt, const ProtobufCMessage *msg, size_t max,
                       uint8_t **body, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (n > max)
        return ES_TOO_LARGE;
    if (rt->held + n > SVC_BATCH_BYTES)
        return ES_RESOURCE_EXHAUSTED;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return ES_RESOURCE_EXHAUSTED;
    protobuf_c_message_pack(msg, buf);
    *body = buf;
    *len = n;
    rt->held += n;
    return ES_OK;
}

void svc_call_reset(svc_call_t *c)
{
    s_held_free(c->rt, &c->reply, &c->reply_len);
    for (size_t i = 0; i < c->n_events; i++) {
        s_held_free(c->rt, &c->events[i].body, &c->events[i].len);
        free(c->events[i].topic);
        c->events[i].topic = NULL;
    }
    c->n_events = 0;
    free(c->after_body);
    c->after_body = NULL;
    c->after_len = 0;
    c->after_method[0] = '\0';
    c->after_desc = NULL;
    c->after_wait = 0;
    c->status = ES_OK;
    c->message[0] = '\0';
    c->field[0] = '\0';
}

void svc_call_clear(svc_call_t *c)
{
    svc_call_reset(c);
    codec_free(c->msg);
    c->msg = NULL;
    bus_request_release(&c->req);
    c->method = NULL;
    c->guard = NULL;
    memset(&c->access, 0, sizeof c->access);
    c->has_access = 0;
    c->ticket = 0;
    c->recording = 0;
    c->ran = 0;
    c->rc = 0;
}

/* ---- for handlers ---- */

const Espace__V1__Caller *svc_caller(const svc_call_t *c)
{
    return c->req.caller;
}

const svc_access_t *svc_access(const svc_call_t *c)
{
    return c->has_access ? &c->access : NULL;
}

uint64_t svc_request_id(const svc_call_t *c)
{
    return c->req.req ? c->req.req->id : 0; /* 0 for the tick */
}

int64_t svc_now_ms(const svc_call_t *c)
{
    return c->now_ms;
}

int64_t svc_remaining_ms(const svc_call_t *c)
{
    if (!c->req.req)
        return INT64_MAX; /* the tick */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    uint32_t t = c->req.req->timeout_ms ? c->req.req->timeout_ms : BUS_DEFAULT_TIMEOUT_MS;
    return (int64_t)t - (now_us - c->t0_us) / 1000;
}

int svc_reply(svc_call_t *c, const ProtobufCMessage *reply)
{
    s_held_free(c->rt, &c->reply, &c->reply_len);
    if (!reply)
        return ES_OK;
    return s_held_pack(c->rt, reply, BUS_MAX_MSG - SVC_REPLY_ROOM, &c->reply, &c->reply_len);
}

int svc_fail(svc_call_t *c, int status, const char *field, const char *fmt, ...)
{
    status = svc_status_valid(status);
    svc_status_set(c, status, field, NULL);
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->message, sizeof c->message, fmt, ap);
        va_end(ap);
    } else {
        snprintf(c->message, sizeof c->message, "%s", es_strerror(status));
    }
    return status;
}

int svc_publish(svc_call_t *c, const char *topic, const ProtobufCMessage *body)
{
    svc_runtime_t *rt = c->rt;
    if (!topic || !topic[0] || strlen(topic) > BUS_MAX_TOPIC || !body)
        return ES_INVALID_ARGUMENT;
    if (c->n_events >= SVC_MAX_EVENTS)
        return ES_RESOURCE_EXHAUSTED;
    if (!rt->pub) {
        /* No publisher configured: the event is counted, then dropped. */
        svc_event_t *e = &c->events[c->n_events++];
        e->body = NULL;
        e->len = 0;
        return ES_OK;
    }
    svc_event_t *e = &c->events[c->n_events];
    char *t = strdup(topic);
    if (!t)
        return ES_RESOURCE_EXHAUSTED;
    int rc = s_held_pack(rt, body, BUS_MAX_MSG - SVC_REPLY_ROOM - BUS_MAX_TOPIC, &e->body,
                         &e->len);
    if (rc != 0) {
        free(t);
        return rc;
    }
    c->n_events++;
    e->topic = t;
    e->desc = body->descriptor;
    return ES_OK;
}

int svc_consent_after(svc_call_t *c, const char *method, const ProtobufCMessage *body, int wait)
{
    if (!c || c == &c->rt->tick_call || !c->rt->az || !method || !method[0] ||
        strlen(method) >= sizeof c->after_method || !body)
        return ES_INVALID_ARGUMENT;
    size_t n = protobuf_c_message_get_packed_size(body);
    if (n > SVC_AFTER_MAX)
        return ES_TOO_LARGE;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return ES_RESOURCE_EXHAUSTED;
    protobuf_c_message_pack(body, buf);
    free(c->after_body);
    c->after_body = buf;
    c->after_len = n;
    c->after_desc = body->descriptor;
    snprintf(c->after_method, sizeof c->after_method, "%s", method);
    c->after_wait = wait != 0;
    return ES_OK;
}
