/*
 * fhir.c - FHIR R4 JSON export: a grant as a Consent resource, a page of the
 * audit trail as a Bundle of AuditEvent resources (REFERENCE.md 4.2, 4.4;
 * mapping in docs/consent.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/codec.h"
#include "services/consent/consent_int.h"
#include "export/json.h"
#include "proto/status.h"

#define SYS_CONSENTSCOPE "http://terminology.hl7.org/CodeSystem/consentscope"
#define SYS_LOINC "http://loinc.org"
#define SYS_ACTCODE "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#define SYS_ACTREASON "http://terminology.hl7.org/CodeSystem/v3-ActReason"
#define SYS_CONSENTACTION "http://terminology.hl7.org/CodeSystem/consentaction"
#define SYS_PARTTYPE "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
#define SYS_RESTYPES "http://hl7.org/fhir/resource-types"
#define SYS_TRE_A03 "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument"
#define SYS_DCM "http://dicom.nema.org/resources/ontology/DCM"
#define SYS_RESTFUL "http://hl7.org/fhir/restful-interaction"
#define SYS_ENTITYTYPE "http://terminology.hl7.org/CodeSystem/audit-entity-type"
#define SYS_OBJROLE "http://terminology.hl7.org/CodeSystem/object-role"
#define SYS_IDNATPS "urn:oid:1.2.250.1.71.4.2.1"
#define SYS_PATIENT "urn:espace:patient"
#define SYS_APP "urn:espace:app"
#define SYS_PURPOSE "urn:espace:purpose"
#define SYS_SERVICE "urn:espace:service"
#define SYS_GRANT "urn:espace:consent"

/* ms since the epoch -> "YYYY-MM-DDThh:mm:ss.mmmZ". */
static const char *s_instant(int64_t ms, char out[64])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (ms < 0 || !gmtime_r(&secs, &tm)) {
        snprintf(out, 64, "1970-01-01T00:00:00.000Z");
        return out;
    }
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return out;
}

static void s_coding(json_t *j, const char *system, const char *code, const char *display)
{
    json_obj_open(j, NULL);
    json_str(j, "system", system);
    json_str(j, "code", code);
    if (display)
        json_str(j, "display", display);
    json_obj_close(j);
}

/* {"coding":[{system, code, display}]} under key (NULL in arrays). */
static void s_concept(json_t *j, const char *key, const char *system, const char *code,
                      const char *display)
{
    json_obj_open(j, key);
    json_arr_open(j, "coding");
    s_coding(j, system, code, display);
    json_arr_close(j);
    json_obj_close(j);
}

static void s_identifier(json_t *j, const char *key, const char *system, const char *value)
{
    json_obj_open(j, key);
    json_obj_open(j, "identifier");
    json_str(j, "system", system);
    json_str(j, "value", value);
    json_obj_close(j);
    json_obj_close(j);
}

static const char *s_resource_type(int category)
{
    switch (category) {
    case ESPACE__V1__CATEGORY__CATEGORY_AGENDA: return "Appointment";
    case ESPACE__V1__CATEGORY__CATEGORY_DOCUMENTS: return "DocumentReference";
    case ESPACE__V1__CATEGORY__CATEGORY_MEASURES: return "Observation";
    case ESPACE__V1__CATEGORY__CATEGORY_MESSAGING: return "Communication";
    default: return "Resource";
    }
}

static const char *s_purpose_code(int p)
{
    switch (p) {
    case ESPACE__V1__PURPOSE__PURPOSE_PREVENTION: return "PREVENTION";
    case ESPACE__V1__PURPOSE__PURPOSE_DIAGNOSTIC: return "DIAGNOSTIC";
    case ESPACE__V1__PURPOSE__PURPOSE_SOINS: return "SOINS";
    case ESPACE__V1__PURPOSE__PURPOSE_SUIVI_SOCIAL_MEDICOSOCIAL:
        return "SUIVI_SOCIAL_MEDICOSOCIAL";
    default: return NULL;
    }
}

static const char *s_status(int st)
{
    switch (st) {
    case ESPACE__V1__GRANT_STATUS__GRANT_PROPOSED: return "proposed";
    case ESPACE__V1__GRANT_STATUS__GRANT_ACTIVE: return "active";
    case ESPACE__V1__GRANT_STATUS__GRANT_REJECTED: return "rejected";
    default: return "inactive";
    }
}

/* The Consent resource of a grant (status already effective). */
static char *s_consent_json(const Espace__V1__Grant *g, size_t *len)
{
    json_t j;
    char t[64], gh[ID_HEX], idnat[16];
    json_init(&j);
    json_obj_open(&j, NULL);
    json_str(&j, "resourceType", "Consent");
    json_str(&j, "id", g->id.len == ID_BYTES ? id_hex(g->id.data, gh) : "");
    json_arr_open(&j, "identifier");
    json_obj_open(&j, NULL);
    json_str(&j, "system", SYS_GRANT);
    json_str(&j, "value", gh);
    json_obj_close(&j);
    json_arr_close(&j);
    json_str(&j, "status", s_status(g->status));
    s_concept(&j, "scope", SYS_CONSENTSCOPE, "patient-privacy", "Privacy Consent");
    json_arr_open(&j, "category");
    s_concept(&j, NULL, SYS_LOINC, "59284-0", "Patient Consent");
    json_arr_close(&j);
    s_identifier(&j, "patient", SYS_PATIENT, g->patient_id);
    json_str(&j, "dateTime", s_instant(g->created_ms, t));
    json_arr_open(&j, "policy");
    json_obj_open(&j, NULL);
    json_str(&j, "uri", "https://www.monespacesante.fr");
    json_obj_close(&j);
    json_arr_close(&j);

    json_obj_open(&j, "provision");
    json_str(&j, "type", "permit");
    if (g->period) {
        json_obj_open(&j, "period");
        json_str(&j, "start", s_instant(g->period->start_ms, t));
        if (g->period->end_ms)
            json_str(&j, "end", s_instant(g->period->end_ms, t));
        json_obj_close(&j);
    }
    json_arr_open(&j, "actor");
    json_obj_open(&j, NULL);
    s_concept(&j, "role", SYS_PARTTYPE, "IRCP", "information recipient");
    if (g->grantee_kind == ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL) {
        snprintf(idnat, sizeof idnat, "8%s", g->grantee_id); /* idNatPs = 8 + RPPS */
        s_identifier(&j, "reference", SYS_IDNATPS, idnat);
    } else {
        s_identifier(&j, "reference", SYS_APP, g->grantee_id);
    }
    json_obj_close(&j);
    json_arr_close(&j);
    json_arr_open(&j, "purpose");
    s_coding(&j, SYS_ACTREASON, "TREAT", "treatment");
    if (s_purpose_code(g->purpose))
        s_coding(&j, SYS_PURPOSE, s_purpose_code(g->purpose), NULL);
    json_arr_close(&j);
    json_arr_open(&j, "provision");
    for (size_t i = 0; i < g->n_scopes; i++) {
        const Espace__V1__Scope *s = g->scopes[i];
        json_obj_open(&j, NULL);
        json_str(&j, "type", "permit");
        json_arr_open(&j, "action");
        s_concept(&j, NULL, SYS_CONSENTACTION,
                  s->action == ESPACE__V1__ACTION__ACTION_WRITE ? "correct" : "access", NULL);
        json_arr_close(&j);
        json_arr_open(&j, "class");
        s_coding(&j, SYS_RESTYPES, s_resource_type(s->category), NULL);
        json_arr_close(&j);
        if (s->n_codes) {
            const char *sys =
                s->category == ESPACE__V1__CATEGORY__CATEGORY_DOCUMENTS ? SYS_TRE_A03 : SYS_LOINC;
            json_arr_open(&j, "code");
            for (size_t k = 0; k < s->n_codes; k++)
                s_concept(&j, NULL, sys, s->codes[k], NULL);
            json_arr_close(&j);
        }
        json_obj_close(&j);
    }
    json_arr_close(&j);
    json_obj_close(&j); /* provision */
    json_obj_close(&j);
    return json_take(&j, len);
}

int consent_export_grant_fhir(void *st, svc_call_t *c, const ProtobufCMessage *m,
                              store_txn_t *t)
{
    (void)st;
    const Espace__V1__ExportGrantFhirRequest *req = (const Espace__V1__ExportGrantFhirRequest *)m;
    const Espace__V1__Caller *who = svc_caller(c);
    if (req->grant_id.len != ID_BYTES)
        return svc_fail(c, ES_INVALID_ARGUMENT, "grant_id", "16 bytes");
    Espace__V1__Grant *g = NULL;
    int rc = consent_grant_load(t, req->grant_id.data, &g);
    if (rc == ES_NOT_FOUND)
        return svc_fail(c, rc, "grant_id", "no such grant");
    if (rc != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    int mine = 0;
    if (who->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT)
        mine = strcmp(who->principal, g->patient_id) == 0;
    else if (who->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL)
        mine = g->grantee_kind == ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL &&
               strcmp(who->principal, g->grantee_id) == 0;
    else if (who->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_APP)
        mine = g->grantee_kind == ESPACE__V1__GRANTEE_KIND__GRANTEE_APP &&
               strcmp(who->principal, g->grantee_id) == 0;
    char *orig = g->inactive_reason;
    char *json = NULL;
    if (!mine) {
        rc = svc_fail(c, ES_NOT_FOUND, "grant_id", "no such grant");
        goto done;
    }
    consent_grant_effective(g, svc_now_ms(c));
    size_t len = 0;
    if (!(json = s_consent_json(g, &len))) {
        rc = svc_fail(c, ES_TOO_LARGE, NULL, "export too large");
        goto done;
    }
    Espace__V1__ExportGrantFhirReply rep = ESPACE__V1__EXPORT_GRANT_FHIR_REPLY__INIT;
    rep.json = json;
    if ((rc = svc_reply(c, &rep.base)) != 0)
        rc = svc_fail(c, rc, NULL, "reply too large");
done:
    free(json);
    g->inactive_reason = orig;
    codec_free(&g->base);
    return rc;
}

static const char *s_kind_system(int kind)
{
    switch (kind) {
    case ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT: return SYS_PATIENT;
    case ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL: return SYS_IDNATPS;
    case ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_APP: return SYS_APP;
    case ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE: return SYS_SERVICE;
    default: return "urn:espace:principal";
    }
}

static void s_audit_event(json_t *j, const char *pid_hex, const Espace__V1__AuditEntry *e)
{
    char t[64], id[64], gh[ID_HEX], who[140];
    int write = e->action == ESPACE__V1__ACTION__ACTION_WRITE;
    json_obj_open(j, NULL);
    json_obj_open(j, "resource");
    json_str(j, "resourceType", "AuditEvent");
    snprintf(id, sizeof id, "%s-%llu", pid_hex, (unsigned long long)e->seq);
    json_str(j, "id", id);
    json_obj_open(j, "type");
    json_str(j, "system", SYS_DCM);
    json_str(j, "code", "110110");
    json_str(j, "display", "Patient Record");
    json_obj_close(j);
    if (e->kind == ESPACE__V1__AUDIT_KIND__AUDIT_ACCESS) {
        json_arr_open(j, "subtype");
        s_coding(j, SYS_RESTFUL, write ? "update" : "read", NULL);
        json_arr_close(j);
        json_str(j, "action", write ? "U" : "R");
    } else if (e->kind == ESPACE__V1__AUDIT_KIND__AUDIT_RESOLVE) {
        /* An INS looked up: a search, executed (FHIR action E). */
        json_arr_open(j, "subtype");
        s_coding(j, SYS_RESTFUL, "search-type", NULL);
        json_arr_close(j);
        json_str(j, "action", "E");
    } else {
        json_str(j, "action", "E");
    }
    json_obj_open(j, "period");
    json_str(j, "start", s_instant(e->at_ms, t));
    json_obj_close(j);
    json_str(j, "recorded", s_instant(e->at_ms, t));
    json_str(j, "outcome", e->allowed ? "0" : "4");
    json_str(j, "outcomeDesc", e->reason);
    if (e->purpose_of_use && e->purpose_of_use[0]) {
        json_arr_open(j, "purposeOfEvent");
        s_concept(j, NULL, SYS_ACTREASON, e->purpose_of_use, NULL);
        json_arr_close(j);
    }
    json_arr_open(j, "agent");
    json_obj_open(j, NULL);
    if (e->actor_kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL)
        snprintf(who, sizeof who, "8%s", e->actor);
    else
        snprintf(who, sizeof who, "%s", e->actor);
    s_identifier(j, "who", s_kind_system(e->actor_kind), who);
    json_bool(j, "requestor", 1);
    json_obj_close(j);
    if (e->on_behalf_of && e->on_behalf_of[0]) {
        json_obj_open(j, NULL);
        s_identifier(j, "who", "urn:espace:principal", e->on_behalf_of);
        json_bool(j, "requestor", 0);
        json_obj_close(j);
    }
    json_arr_close(j);
    json_obj_open(j, "source");
    s_identifier(j, "observer", SYS_SERVICE,
                 e->service && e->service[0] ? e->service : CONSENT_SERVICE);
    json_obj_close(j);
    json_arr_open(j, "entity");
    json_obj_open(j, NULL);
    s_identifier(j, "what", SYS_PATIENT, pid_hex);
    json_obj_open(j, "type");
    json_str(j, "system", SYS_ENTITYTYPE);
    json_str(j, "code", "1");
    json_str(j, "display", "Person");
    json_obj_close(j);
    json_obj_open(j, "role");
    json_str(j, "system", SYS_OBJROLE);
    json_str(j, "code", "1");
    json_str(j, "display", "Patient");
    json_obj_close(j);
    json_obj_close(j);
    if (e->kind == ESPACE__V1__AUDIT_KIND__AUDIT_ACCESS) {
        json_obj_open(j, NULL);
        json_obj_open(j, "type");
        json_str(j, "system", SYS_RESTYPES);
        json_str(j, "code", s_resource_type(e->category));
        json_obj_close(j);
        if (e->detail && e->detail[0]) {
            const char *sys = e->category == ESPACE__V1__CATEGORY__CATEGORY_DOCUMENTS
                                  ? SYS_TRE_A03
                                  : SYS_LOINC;
            json_arr_open(j, "detail");
            json_obj_open(j, NULL);
            json_str(j, "type", sys);
            json_str(j, "valueString", e->detail);
            json_obj_close(j);
            json_arr_close(j);
        }
        json_obj_close(j);
    }
    if (e->grant_id.len == ID_BYTES) {
        json_obj_open(j, NULL);
        s_identifier(j, "what", SYS_GRANT, id_hex(e->grant_id.data, gh));
        json_obj_open(j, "type");
        json_str(j, "system", SYS_ENTITYTYPE);
        json_str(j, "code", "2");
        json_str(j, "display", "System Object");
        json_obj_close(j);
        json_obj_close(j);
    }
    json_arr_close(j);
    json_obj_close(j); /* resource */
    json_obj_close(j); /* entry */
}

int consent_export_audit_fhir(void *st, svc_call_t *c, const ProtobufCMessage *m,
                              store_txn_t *t)
{
    (void)st;
    const Espace__V1__ExportAuditFhirRequest *req = (const Espace__V1__ExportAuditFhirRequest *)m;
    uint8_t pid[ID_BYTES];
    char pid_hex[ID_HEX];
    Espace__V1__AuditEntry **es = NULL;
    size_t n = 0;
    uint64_t next = 0;
    int rc = consent_audit_request(c, t, req->before_seq, req->limit, pid, &es, &n, &next);
    if (rc != 0)
        return rc;
    id_hex(pid, pid_hex);
    json_t j;
    json_init(&j);
    json_obj_open(&j, NULL);
    json_str(&j, "resourceType", "Bundle");
    json_str(&j, "type", "collection");
    json_arr_open(&j, "entry");
    for (size_t i = 0; i < n; i++)
        s_audit_event(&j, pid_hex, es[i]);
    json_arr_close(&j);
    json_obj_close(&j);
    size_t len = 0;
    char *json = json_take(&j, &len);
    consent_audit_page_free(es, n);
    if (!json)
        return svc_fail(c, ES_TOO_LARGE, "limit", "export too large; ask for fewer entries");
    Espace__V1__ExportAuditFhirReply rep = ESPACE__V1__EXPORT_AUDIT_FHIR_REPLY__INIT;
    rep.json = json;
    rep.next_before_seq = next;
    if ((rc = svc_reply(c, &rep.base)) != 0)
        rc = svc_fail(c, rc, NULL, "reply too large");
    free(json);
    return rc;
}
