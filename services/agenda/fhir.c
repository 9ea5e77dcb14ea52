/*
 * fhir.c - FHIR R4 Appointment JSON of agenda events (agenda_int.h;
 * REFERENCE.md 3.2/3.3), with the exports' JSON writer (export/json.h).
 *
 * Mapping: id / identifier (urn:espace:agenda, and the source's id under
 * urn:espace:source:<SOURCE>), status, cancelationReason.text, description
 * (= title), comment (= description), start / end (instants, UTC), created,
 * meta.versionId / lastUpdated / source, participant[] (the patient, each
 * participant with type (v3 ParticipationType or participant-type), actor
 * identifier (RPPS as idNatPs "8"+RPPS under urn:oid:1.2.250.1.71.4.2.1,
 * FINESS under urn:oid:1.2.250.1.71.4.2.2, patient as Patient/<id>),
 * required, status), the location as a Location participant (display), and
 * the event kind in extension urn:espace:fhir:agenda-kind (valueCode).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "services/agenda/agenda_int.h"
#include "export/json.h"

#define OID_RPPS "urn:oid:1.2.250.1.71.4.2.1"
#define OID_FINESS "urn:oid:1.2.250.1.71.4.2.2"

static const char *s_source(int s)
{
    switch (s) {
    case ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_PATIENT:
        return "PATIENT";
    case ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_PRO_SOFTWARE:
        return "PRO_SOFTWARE";
    case ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_BOOKING_SERVICE:
        return "BOOKING_SERVICE";
    case ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_HOSPITAL_PORTAL:
        return "HOSPITAL_PORTAL";
    default:
        return "UNKNOWN";
    }
}

static const char *s_required(int r)
{
    switch (r) {
    case ESPACE__V1__AGENDA_REQUIRED__AGENDA_REQUIRED_OPTIONAL:
        return "optional";
    case ESPACE__V1__AGENDA_REQUIRED__AGENDA_REQUIRED_INFORMATION_ONLY:
        return "information-only";
    default:
        return "required";
    }
}

static const char *s_answer(int a)
{
    switch (a) {
    case ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_ACCEPTED:
        return "accepted";
    case ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_DECLINED:
        return "declined";
    case ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_TENTATIVE:
        return "tentative";
    default:
        return "needs-action";
    }
}

static void s_participant(json_t *j, const Espace__V1__AgendaParticipant *p)
{
    const char *role = p->role && p->role[0] ? p->role : "PART";
    int v3 = strcmp(role, "translator") != 0 && strcmp(role, "emergency") != 0;
    json_obj_open(j, NULL);
    json_arr_open(j, "type");
    json_obj_open(j, NULL);
    json_arr_open(j, "coding");
    json_obj_open(j, NULL);
    json_str(j, "system", v3 ? "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
                             : "http://hl7.org/fhir/participant-type");
    json_str(j, "code", role);
    json_obj_close(j);
    json_arr_close(j);
    json_obj_close(j);
    json_arr_close(j);
    json_obj_open(j, "actor");
    char ref[64];
    switch (p->actor_type) {
    case ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PROFESSIONAL:
        json_str(j, "type", "Practitioner");
        json_obj_open(j, "identifier");
        json_str(j, "system", OID_RPPS);
        snprintf(ref, sizeof ref, "8%s", p->actor_id);
        json_str(j, "value", ref);
        json_obj_close(j);
        break;
    case ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_ORGANIZATION:
        json_str(j, "type", "Organization");
        json_obj_open(j, "identifier");
        json_str(j, "system", OID_FINESS);
        json_str(j, "value", p->actor_id);
        json_obj_close(j);
        break;
    default:
        snprintf(ref, sizeof ref, "Patient/%s", p->actor_id);
        json_str(j, "reference", ref);
        break;
    }
    if (p->display && p->display[0])
        json_str(j, "display", p->display);
    json_obj_close(j);
    json_str(j, "required", s_required(p->required));
    json_str(j, "status", s_answer(p->answer));
    json_obj_close(j);
}

static void s_appointment(json_t *j, const char *key, const Espace__V1__AgendaEvent *e)
{
    char hex[ID_HEX], buf[160];
    if (e->id.len != ID_BYTES) {
        json_obj_open(j, key);
        json_obj_close(j);
        return;
    }
    id_hex(e->id.data, hex);
    json_obj_open(j, key);
    json_str(j, "resourceType", "Appointment");
    json_str(j, "id", hex);
    json_obj_open(j, "meta");
    snprintf(buf, sizeof buf, "%" PRIu64, e->version);
    json_str(j, "versionId", buf);
    if (e->updated_ms > 0)
        json_instant(j, "lastUpdated", e->updated_ms);
    snprintf(buf, sizeof buf, "urn:espace:source:%s", s_source(e->source));
    json_str(j, "source", buf);
    json_obj_close(j);
    const char *kind = agenda_kind_name(e->kind);
    if (kind) {
        json_arr_open(j, "extension");
        json_obj_open(j, NULL);
        json_str(j, "url", "urn:espace:fhir:agenda-kind");
        json_str(j, "valueCode", kind);
        json_obj_close(j);
        json_arr_close(j);
    }
    json_arr_open(j, "identifier");
    json_obj_open(j, NULL);
    json_str(j, "system", "urn:espace:agenda");
    json_str(j, "value", hex);
    json_obj_close(j);
    if (e->source_id && e->source_id[0]) {
        json_obj_open(j, NULL);
        json_str(j, "system", buf);
        json_str(j, "value", e->source_id);
        json_obj_close(j);
    }
    json_arr_close(j);
    json_str(j, "status", agenda_status_code(e->status) ? agenda_status_code(e->status)
                                                         : "entered-in-error");
    if (e->status == ESPACE__V1__AGENDA_STATUS__AGENDA_STATUS_CANCELLED && e->cancel_reason &&
        e->cancel_reason[0]) {
        json_obj_open(j, "cancelationReason");
        json_str(j, "text", e->cancel_reason);
        json_obj_close(j);
    }
    json_str(j, "description", e->title);
    json_instant(j, "start", e->start_ms);
    json_instant(j, "end", e->end_ms);
    if (e->created_ms > 0)
        json_instant(j, "created", e->created_ms);
    if (e->description && e->description[0])
        json_str(j, "comment", e->description);
    json_arr_open(j, "participant");
    int self = 0;
    for (size_t i = 0; i < e->n_participants; i++)
        if (e->participants[i]->actor_type == ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PATIENT &&
            strcmp(e->participants[i]->actor_id, e->patient_id) == 0)
            self = 1;
    if (!self) {
        json_obj_open(j, NULL);
        json_obj_open(j, "actor");
        snprintf(buf, sizeof buf, "Patient/%s", e->patient_id);
        json_str(j, "reference", buf);
        json_obj_close(j);
        json_str(j, "required", "required");
        json_str(j, "status", "accepted");
        json_obj_close(j);
    }
    for (size_t i = 0; i < e->n_participants; i++)
        s_participant(j, e->participants[i]);
    if (e->location && e->location[0]) {
        json_obj_open(j, NULL);
        json_obj_open(j, "actor");
        json_str(j, "type", "Location");
        json_str(j, "display", e->location);
        json_obj_close(j);
        json_str(j, "required", "information-only");
        json_str(j, "status", "accepted");
        json_obj_close(j);
    }
    json_arr_close(j);
    json_obj_close(j);
}

char *agenda_fhir_appointment(const Espace__V1__AgendaEvent *e, size_t *len)
{
    json_t j;
    json_init(&j);
    s_appointment(&j, NULL, e);
    return json_take(&j, len);
}

char *agenda_fhir_bundle(Espace__V1__AgendaEvent *const *events, size_t n, int64_t now_ms,
                         size_t *len)
{
    json_t j;
    json_init(&j);
    json_obj_open(&j, NULL);
    json_str(&j, "resourceType", "Bundle");
    json_str(&j, "type", "collection");
    json_instant(&j, "timestamp", now_ms);
    json_arr_open(&j, "entry");
    for (size_t i = 0; i < n; i++) {
        const uint8_t *id = events[i]->id.data;
        if (events[i]->id.len != ID_BYTES)
            continue;
        char url[64];
        snprintf(url, sizeof url,
                 "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7], id[8], id[9], id[10],
                 id[11], id[12], id[13], id[14], id[15]);
        json_obj_open(&j, NULL);
        json_str(&j, "fullUrl", url);
        s_appointment(&j, "resource", events[i]);
        json_obj_close(&j);
    }
    json_arr_close(&j);
    json_obj_close(&j);
    return json_take(&j, len);
}
