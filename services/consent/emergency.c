/*
 * emergency.c - emergency accesses as the patient sees them
 * (ListEmergencies, EndEmergency), the record Decide and RevokeGrant read,
 * and the live notices on the patient's own topic ("patient.<id>.consent").
 *
 * One record per (patient, professional): a new declaration replaces the
 * previous one. EndEmergency sets ended_ms; Decide then denies
 * (consent_emergency_active).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "services/consent/consent_int.h"
#include "process/log.h"
#include "proto/status.h"
#include "proto/text.h"

#define EMERGENCY_KEY (ID_BYTES + RPPS_LEN)

static void s_key(const uint8_t pid[ID_BYTES], const char *rpps, uint8_t key[EMERGENCY_KEY])
{
    memcpy(key, pid, ID_BYTES);
    memcpy(key + ID_BYTES, rpps, RPPS_LEN);
}

int consent_emergency_load(store_txn_t *t, const uint8_t pid[ID_BYTES], const char *rpps,
                           Espace__V1__Emergency **out)
{
    uint8_t key[EMERGENCY_KEY];
    s_key(pid, rpps, key);
    return consent_load(t, CONSENT_T_EMERGENCY, key, sizeof key,
                        &espace__v1__emergency__descriptor, (ProtobufCMessage **)out);
}

int consent_emergency_save(store_txn_t *t, const uint8_t pid[ID_BYTES],
                           const Espace__V1__Emergency *e)
{
    uint8_t key[EMERGENCY_KEY];
    s_key(pid, e->rpps, key);
    return consent_save(t, CONSENT_T_EMERGENCY, key, sizeof key, &e->base);
}

int consent_emergency_active(const Espace__V1__Emergency *e, int64_t now)
{
    return e->id.len == ID_BYTES && e->ended_ms == 0 && e->start_ms <= now && now < e->until_ms;
}

int consent_text_check(svc_call_t *c, const char *field, const char *s, long min, long max,
                       int multiline)
{
    long n = consent_utf8_chars(s);
    if (n < min || n > max)
        return svc_fail(c, ES_INVALID_ARGUMENT, field, "%ld..%ld characters of UTF-8", min, max);
    if (!text_display_ok(s, multiline, NULL))
        return svc_fail(c, ES_INVALID_ARGUMENT, field,
                        "no control, line separator or bidi override characters");
    return ES_OK;
}

int consent_label_check(svc_call_t *c, const char *field, const char *s)
{
    return consent_text_check(c, field, s, 0, CONSENT_MAX_LABEL, 0);
}

void consent_notify_patient(svc_call_t *c, const char *patient_id, int kind,
                            Espace__V1__Grant *g, Espace__V1__Emergency *e)
{
    char topic[TOPIC_MAX + 1];
    Espace__V1__ConsentNotice n = ESPACE__V1__CONSENT_NOTICE__INIT;
    n.kind = (Espace__V1__NoticeKind)kind;
    n.grant = g;
    n.emergency = e;
    int rc = topic_patient(topic, sizeof topic, patient_id, TOPIC_AREA_CONSENT);
    if (rc == 0)
        rc = svc_publish(c, topic, &n.base);
    if (rc != 0)
        log_warn(CONSENT_SERVICE, "publish.fail", "topic=patient_consent status=%s",
                 es_status_name(rc));
}

/* Every emergency record of patient pid, decoded, into *out (malloc'd, at
 * most CONSENT_LIST_MAX); free each with codec_free and the array. */
static int s_patient_emergencies(store_txn_t *t, const uint8_t pid[ID_BYTES],
                                 Espace__V1__Emergency ***out, size_t *n)
{
    Espace__V1__Emergency **list = calloc(CONSENT_LIST_MAX, sizeof *list);
    store_cursor_t *cur = NULL;
    size_t k = 0;
    int rc = list ? store_cursor_open(t, CONSENT_T_EMERGENCY, pid, ID_BYTES, &cur)
                  : ES_RESOURCE_EXHAUSTED;
    while (rc == 0 && k < CONSENT_LIST_MAX) {
        const void *key, *val;
        size_t kl, vl;
        rc = store_cursor_next(cur, &key, &kl, &val, &vl);
        if (rc != 0)
            break;
        if (kl != EMERGENCY_KEY || memcmp(key, pid, ID_BYTES) != 0)
            break;
        ProtobufCMessage *m = NULL;
        if (codec_decode(&espace__v1__emergency__descriptor, val, vl, STORE_MAX_VALUE, &m,
                         NULL) != 0) {
            log_error(CONSENT_SERVICE, "record.corrupt", "table=%s", CONSENT_T_EMERGENCY);
            rc = ES_INTERNAL;
            break;
        }
        list[k++] = (Espace__V1__Emergency *)m;
    }
    store_cursor_close(&cur);
    if (rc == ES_NOT_FOUND)
        rc = ES_OK;
    if (rc != 0) {
        for (size_t i = 0; i < k; i++)
            codec_free(&list[i]->base);
        free(list);
        return rc;
    }
    *out = list;
    *n = k;
    return ES_OK;
}

static void s_emergencies_free(Espace__V1__Emergency **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        codec_free(&list[i]->base);
    free(list);
}

static int s_newest_first(const void *a, const void *b)
{
    int64_t x = (*(Espace__V1__Emergency *const *)a)->start_ms;
    int64_t y = (*(Espace__V1__Emergency *const *)b)->start_ms;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* ---- ListEmergencies ---- */

int consent_list_emergencies(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    (void)st;
    const Espace__V1__ListEmergenciesRequest *req = (const Espace__V1__ListEmergenciesRequest *)m;
    uint8_t pid[ID_BYTES];
    Espace__V1__Emergency **list = NULL;
    size_t n = 0, kept = 0;
    int rc = consent_caller_patient(c, pid);
    if (rc != 0)
        return rc;
    if ((rc = s_patient_emergencies(t, pid, &list, &n)) != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    int64_t now = svc_now_ms(c);
    for (size_t i = 0; i < n; i++) {
        if (req->include_ended || consent_emergency_active(list[i], now))
            list[kept++] = list[i];
        else
            codec_free(&list[i]->base);
    }
    qsort(list, kept, sizeof *list, s_newest_first);
    Espace__V1__ListEmergenciesReply rep = ESPACE__V1__LIST_EMERGENCIES_REPLY__INIT;
    rep.emergencies = list;
    rep.n_emergencies = kept;
    if ((rc = svc_reply(c, &rep.base)) != 0)
        rc = svc_fail(c, rc, NULL, "reply too large");
    s_emergencies_free(list, kept);
    return rc;
}

/* ---- EndEmergency ---- */

int consent_end_emergency(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    (void)st;
    const Espace__V1__EndEmergencyRequest *req = (const Espace__V1__EndEmergencyRequest *)m;
    uint8_t pid[ID_BYTES];
    Espace__V1__Emergency **list = NULL, *e = NULL;
    size_t n = 0;
    int rc = consent_caller_patient(c, pid);
    if (rc != 0)
        return rc;
    if (req->emergency_id.len != ID_BYTES)
        return svc_fail(c, ES_INVALID_ARGUMENT, "emergency_id", "16 bytes");
    if ((rc = s_patient_emergencies(t, pid, &list, &n)) != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    for (size_t i = 0; i < n && !e; i++)
        if (list[i]->id.len == ID_BYTES &&
            memcmp(list[i]->id.data, req->emergency_id.data, ID_BYTES) == 0)
            e = list[i];
    if (!e) {
        rc = svc_fail(c, ES_NOT_FOUND, "emergency_id", "no such emergency access");
        goto done;
    }
    int64_t now = svc_now_ms(c);
    int changed = consent_emergency_active(e, now);
    if (changed) {
        e->ended_ms = now;
        if ((rc = consent_emergency_save(t, pid, e)) != 0) {
            rc = svc_fail(c, rc, NULL, "storage failure");
            goto done;
        }
        char self[ID_HEX];
        Espace__V1__AuditEntry a = ESPACE__V1__AUDIT_ENTRY__INIT;
        a.at_ms = now;
        a.kind = ESPACE__V1__AUDIT_KIND__AUDIT_EMERGENCY_ENDED;
        a.actor_kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
        a.actor = (char *)id_hex(pid, self);
        a.detail = e->rpps; /* whose access ended */
        a.grant_id = e->id;
        a.allowed = 1;
        a.reason = (char *)"emergency access ended by the patient";
        if ((rc = consent_audit_append(t, pid, &a)) != 0) {
            rc = svc_fail(c, rc, NULL, "audit append failed");
            goto done;
        }
    }
    Espace__V1__EndEmergencyReply rep = ESPACE__V1__END_EMERGENCY_REPLY__INIT;
    rep.emergency = e;
    rep.changed = changed;
    if ((rc = svc_reply(c, &rep.base)) != 0) {
        rc = svc_fail(c, rc, NULL, "reply too large");
        goto done;
    }
    if (changed) {
        consent_notify_patient(c, e->patient_id, ESPACE__V1__NOTICE_KIND__NOTICE_EMERGENCY_ENDED,
                               NULL, e);
        char eh[ID_HEX];
        log_info(CONSENT_SERVICE, "emergency.ended", "patient=%s rpps=%s emergency=%s",
                 e->patient_id, e->rpps, id_hex(e->id.data, eh));
    }
done:
    s_emergencies_free(list, n);
    return rc;
}
