/* test_consent_grants.c - services/consent: grants, access requests, emergency access, the catalogue, and bad input. */
#include "test/service/consent_fixture.h"

/* ------------------------------------------------------------ bad input */

static void test_bad_input(void **state)
{
    (void)state;
    const char *px = "55555555555555555555555555555555";
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    scopes_t ss;
    memset(&ss, 0, sizeof ss);
    cf_scope(&ss, C_AGENDA, A_R, NULL);

    /* unknown app */
    assert_int_equal(
        cf_grant(px, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.nowhere", &ss, 0, NULL, &r),
        ES_NOT_FOUND);
    assert_string_equal(r.field, "grantee_id");

    /* scope outside the catalogue entry */
    Espace__V1__Purpose pur = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    uint8_t key[32];
    memset(key, 9, sizeof key);
    scopes_t cat;
    memset(&cat, 0, sizeof cat);
    cf_scope(&cat, C_AGENDA, A_R, NULL);
    cf_scope(&cat, C_MEAS, A_R, "29463-7");
    Espace__V1__App a = ESPACE__V1__APP__INIT;
    a.id = "app.small";
    a.name = "Petit";
    a.publisher = "P";
    a.description_fr = "Agenda seulement";
    a.purposes = &pur;
    a.n_purposes = 1;
    a.scopes = cat.p;
    a.n_scopes = cat.n;
    a.curve_public_key.data = key;
    a.curve_public_key.len = 32;
    a.terms_url = "https://p.fr/cgu";
    a.privacy_url = "https://p.fr/rgpd";
    Espace__V1__AddAppRequest ar = ESPACE__V1__ADD_APP_REQUEST__INIT;
    ar.app = &a;
    ProtobufCMessage *rep = NULL;
    /* not an operator */
    assert_int_equal(cf_call(K_PATIENT, px, "AddApp", &ar.base,
                            &espace__v1__add_app_reply__descriptor, &rep, &r),
                     ES_PERMISSION_DENIED);
    assert_int_equal(cf_call(K_OP, "", "AddApp", &ar.base, &espace__v1__add_app_reply__descriptor,
                            &rep, &r),
                     0);
    codec_free(rep);
    assert_int_equal(cf_call(K_OP, "", "AddApp", &ar.base, &espace__v1__add_app_reply__descriptor,
                            &rep, &r),
                     ES_ALREADY_EXISTS);
    assert_string_equal(r.field, "app.id");
    a.id = "app.bad";
    a.curve_public_key.len = 31;
    assert_int_equal(cf_call(K_OP, "", "AddApp", &ar.base, &espace__v1__add_app_reply__descriptor,
                            &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "app.curve_public_key");

    scopes_t out;
    memset(&out, 0, sizeof out);
    cf_scope(&out, C_AGENDA, A_R, NULL);
    cf_scope(&out, C_DOCS, A_R, NULL);
    assert_int_equal(
        cf_grant(px, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.small", &out, 0, NULL, &r),
        ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "scopes[1]");
    memset(&out, 0, sizeof out);
    cf_scope(&out, C_MEAS, A_R, "8302-2"); /* catalogue allows only 29463-7 */
    assert_int_equal(
        cf_grant(px, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.small", &out, 0, NULL, &r),
        ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "scopes[0].codes[0]");

    /* period ending before it starts */
    Espace__V1__Period period = ESPACE__V1__PERIOD__INIT;
    period.start_ms = cf_now() + 100000;
    period.end_ms = cf_now() + 50000;
    Espace__V1__GrantRequest gr = ESPACE__V1__GRANT_REQUEST__INIT;
    gr.grantee_kind = ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL;
    gr.grantee_id = "40000000001";
    gr.scopes = ss.p;
    gr.n_scopes = ss.n;
    gr.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    gr.period = &period;
    assert_int_equal(cf_call(K_PATIENT, px, "Grant", &gr.base,
                            &espace__v1__grant_reply__descriptor, &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "period.end_ms");

    /* a patient granting on someone else's behalf */
    gr.period = NULL;
    gr.patient_id = (char *)P2;
    assert_int_equal(cf_call(K_PATIENT, px, "Grant", &gr.base,
                            &espace__v1__grant_reply__descriptor, &rep, &r),
                     ES_PERMISSION_DENIED);
    assert_string_equal(r.field, "patient_id");
    gr.patient_id = "";
    /* a professional granting */
    assert_int_equal(cf_call(K_PRO, "40000000001", "Grant", &gr.base,
                            &espace__v1__grant_reply__descriptor, &rep, &r),
                     ES_PERMISSION_DENIED);
    /* malformed RPPS, unknown purpose, codes on agenda */
    gr.grantee_id = "4000000000";
    assert_int_equal(cf_call(K_PATIENT, px, "Grant", &gr.base,
                            &espace__v1__grant_reply__descriptor, &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "grantee_id");
    gr.grantee_id = "40000000001";
    gr.purpose = 0;
    assert_int_equal(cf_call(K_PATIENT, px, "Grant", &gr.base,
                            &espace__v1__grant_reply__descriptor, &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "purpose");
    gr.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    scopes_t bad;
    memset(&bad, 0, sizeof bad);
    cf_scope(&bad, C_AGENDA, A_R, "10");
    gr.scopes = bad.p;
    gr.n_scopes = bad.n;
    assert_int_equal(cf_call(K_PATIENT, px, "Grant", &gr.base,
                            &espace__v1__grant_reply__descriptor, &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "scopes[0].codes");

    /* malformed body: a varint where GrantRequest has a string */
    Espace__V1__ReadAuditRequest junk = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    junk.before_seq = 7;
    assert_int_equal(cf_call(K_PATIENT, px, "Grant", &junk.base,
                            &espace__v1__grant_reply__descriptor, &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "body");

    /* Nothing was stored. */
    assert_int_equal(cf_count_grants(px), 0);
}

/* ------------------------------------------------- requests, emergency */

static void test_request_and_emergency(void **state)
{
    (void)state;
    const char *pid = "66666666666666666666666666666666";
    scopes_t ss;
    memset(&ss, 0, sizeof ss);
    cf_scope(&ss, C_DOCS, A_R, "10");
    Espace__V1__RequestAccessRequest rq = ESPACE__V1__REQUEST_ACCESS_REQUEST__INIT;
    rq.patient_id = (char *)pid;
    rq.scopes = ss.p;
    rq.n_scopes = ss.n;
    rq.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    rq.reason = "Suivi post-opératoire";
    ProtobufCMessage *rep = NULL;
    bus_reply_t r;
    /* a patient consent does not know yet: NOT_FOUND, nothing proposed */
    assert_int_equal(cf_call(K_PRO, "50000000001", "RequestAccess", &rq.base, NULL, NULL, &r),
                     ES_NOT_FOUND);
    assert_string_equal(r.field, "patient_id");
    assert_int_equal(cf_count_grants(pid), 0);
    assert_int_equal(cf_register(pid), 0);
    assert_int_equal(cf_call(K_PRO, "50000000001", "RequestAccess", &rq.base,
                            &espace__v1__request_access_reply__descriptor, &rep, &r),
                     0);
    Espace__V1__Grant *g = ((Espace__V1__RequestAccessReply *)rep)->grant;
    assert_int_equal(g->status, ESPACE__V1__GRANT_STATUS__GRANT_PROPOSED);
    uint8_t gid[16];
    memcpy(gid, g->id.data, 16);
    codec_free(rep);
    /* a second pending request is refused; a proposal allows nothing */
    assert_int_equal(cf_call(K_PRO, "50000000001", "RequestAccess", &rq.base,
                            &espace__v1__request_access_reply__descriptor, &rep, &r),
                     ES_ALREADY_EXISTS);
    assert_int_equal(cf_decide(K_PRO, "50000000001", pid, C_DOCS, A_R, "10"), 0);
    /* the professional sees it */
    Espace__V1__ListGrantsRequest lr = ESPACE__V1__LIST_GRANTS_REQUEST__INIT;
    lr.patient_id = (char *)pid;
    assert_int_equal(cf_call(K_PRO, "50000000001", "ListGrants", &lr.base,
                            &espace__v1__list_grants_reply__descriptor, &rep, NULL),
                     0);
    assert_int_equal(((Espace__V1__ListGrantsReply *)rep)->n_grants, 1);
    codec_free(rep);
    /* another patient cannot answer it */
    Espace__V1__AnswerRequestRequest an = ESPACE__V1__ANSWER_REQUEST_REQUEST__INIT;
    an.grant_id.data = gid;
    an.grant_id.len = 16;
    an.accept = 1;
    assert_int_equal(cf_call(K_PATIENT, P2, "AnswerRequest", &an.base,
                            &espace__v1__answer_request_reply__descriptor, &rep, &r),
                     ES_NOT_FOUND);
    assert_int_equal(cf_call(K_PATIENT, pid, "AnswerRequest", &an.base,
                            &espace__v1__answer_request_reply__descriptor, &rep, &r),
                     0);
    assert_int_equal(((Espace__V1__AnswerRequestReply *)rep)->grant->status,
                     ESPACE__V1__GRANT_STATUS__GRANT_ACTIVE);
    codec_free(rep);
    assert_int_equal(cf_call(K_PATIENT, pid, "AnswerRequest", &an.base,
                            &espace__v1__answer_request_reply__descriptor, &rep, &r),
                     ES_FAILED_PRECONDITION);
    assert_int_equal(cf_decide(K_PRO, "50000000001", pid, C_DOCS, A_R, "10"), 1);

    /* FHIR Consent of the grant, for the patient and the grantee only. */
    Espace__V1__ExportGrantFhirRequest xr = ESPACE__V1__EXPORT_GRANT_FHIR_REQUEST__INIT;
    xr.grant_id.data = gid;
    xr.grant_id.len = 16;
    assert_int_equal(cf_call(K_PRO, "50000000001", "ExportGrantFhir", &xr.base,
                            &espace__v1__export_grant_fhir_reply__descriptor, &rep, NULL),
                     0);
    codec_free(rep);
    assert_int_equal(cf_call(K_PRO, "50000000002", "ExportGrantFhir", &xr.base,
                            &espace__v1__export_grant_fhir_reply__descriptor, &rep, &r),
                     ES_NOT_FOUND);
    assert_int_equal(cf_call(K_PATIENT, pid, "ExportGrantFhir", &xr.base,
                            &espace__v1__export_grant_fhir_reply__descriptor, &rep, NULL),
                     0);
    const char *json = ((Espace__V1__ExportGrantFhirReply *)rep)->json;
    assert_non_null(strstr(json, "\"resourceType\":\"Consent\""));
    assert_non_null(strstr(json, "\"code\":\"patient-privacy\""));
    assert_non_null(strstr(json, "\"code\":\"59284-0\""));
    assert_non_null(strstr(json, "\"status\":\"active\""));
    assert_non_null(strstr(json, "\"value\":\"850000000001\""));
    assert_non_null(strstr(json, "\"code\":\"DocumentReference\""));
    assert_non_null(strstr(json, "\"code\":\"10\""));
    assert_non_null(strstr(json, "\"period\":{\"start\":\""));
    codec_free(rep);

    /* Emergency: bad reason, then a declaration published on the bus. */
    bus_sub_t *sub = NULL;
    assert_int_equal(h_sub(&F.h, &sub), 0);
    assert_int_equal(bus_subscribe(sub, TOPIC_CONSENT_EMERGENCY), 0);
    h_sleep_ms(300); /* let the subscription reach the broker */
    Espace__V1__DeclareEmergencyRequest er = ESPACE__V1__DECLARE_EMERGENCY_REQUEST__INIT;
    er.patient_id = (char *)pid;
    er.reason = "";
    assert_int_equal(cf_call(K_PRO, "50000000009", "DeclareEmergency", &er.base,
                            &espace__v1__declare_emergency_reply__descriptor, &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "reason");
    assert_int_equal(cf_call(K_PATIENT, pid, "DeclareEmergency", &er.base,
                            &espace__v1__declare_emergency_reply__descriptor, &rep, &r),
                     ES_PERMISSION_DENIED);
    er.reason = "Arrêt cardiaque";
    assert_int_equal(cf_call(K_PRO, "50000000009", "DeclareEmergency", &er.base,
                            &espace__v1__declare_emergency_reply__descriptor, &rep, &r),
                     0);
    codec_free(rep);
    char topic[BUS_MAX_TOPIC + 1];
    Espace__V1__Event *ev = NULL;
    assert_int_equal(bus_sub_recv(sub, 3000, topic, &ev), 0);
    assert_string_equal(topic, TOPIC_CONSENT_EMERGENCY);
    ProtobufCMessage *body = NULL;
    assert_int_equal(codec_decode(&espace__v1__emergency_declared__descriptor, ev->body.data,
                                  ev->body.len, 0, &body, NULL),
                     0);
    Espace__V1__EmergencyDeclared *ed = (Espace__V1__EmergencyDeclared *)body;
    assert_string_equal(ed->patient_id, pid);
    assert_string_equal(ed->rpps, "50000000009");
    assert_true(ed->until_ms > cf_now());
    codec_free(body);
    codec_free(&ev->base);
    bus_sub_destroy(&sub);
    /* The declaration is in the trail, as ETREAT. */
    Espace__V1__ReadAuditRequest ra = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    ra.limit = 1;
    assert_int_equal(cf_call(K_PATIENT, pid, "ReadAudit", &ra.base,
                            &espace__v1__read_audit_reply__descriptor, &rep, NULL),
                     0);
    Espace__V1__ReadAuditReply *a = (Espace__V1__ReadAuditReply *)rep;
    assert_int_equal(a->n_entries, 1);
    assert_int_equal(a->entries[0]->kind, ESPACE__V1__AUDIT_KIND__AUDIT_EMERGENCY);
    assert_string_equal(a->entries[0]->purpose_of_use, "ETREAT");
    assert_null(strstr(a->entries[0]->reason, "cardiaque")); /* no clinical text */
    codec_free(rep);
}

/* ---------------------------------------------------------- catalogue */

static void test_catalogue_read(void **state)
{
    (void)state;
    cf_add_app("app.listed");
    Espace__V1__GetAppRequest gr = ESPACE__V1__GET_APP_REQUEST__INIT;
    gr.app_id = "app.listed";
    ProtobufCMessage *rep = NULL;
    bus_reply_t r;
    assert_int_equal(cf_call(K_PATIENT, P1, "GetApp", &gr.base,
                            &espace__v1__get_app_reply__descriptor, &rep, NULL),
                     0);
    Espace__V1__App *a = ((Espace__V1__GetAppReply *)rep)->app;
    assert_string_equal(a->publisher, "Éditeur SAS");
    assert_int_equal(a->n_scopes, 8);
    assert_false(a->withdrawn);
    assert_true(a->added_ms > 0);
    codec_free(rep);
    gr.app_id = "app.absent";
    assert_int_equal(cf_call(K_PRO, "10000000001", "GetApp", &gr.base,
                            &espace__v1__get_app_reply__descriptor, &rep, &r),
                     ES_NOT_FOUND);
    assert_string_equal(r.field, "app_id");
    /* anonymous callers get nothing */
    assert_int_equal(cf_call(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE, "", "GetApp", &gr.base,
                            &espace__v1__get_app_reply__descriptor, &rep, &r),
                     ES_UNAUTHENTICATED);
    Espace__V1__ListAppsRequest lr = ESPACE__V1__LIST_APPS_REQUEST__INIT;
    assert_int_equal(cf_call(K_APP, "app.listed", "ListApps", &lr.base,
                            &espace__v1__list_apps_reply__descriptor, &rep, NULL),
                     0);
    Espace__V1__ListAppsReply *l = (Espace__V1__ListAppsReply *)rep;
    int seen = 0;
    for (size_t i = 0; i < l->n_apps; i++) {
        assert_false(l->apps[i]->withdrawn);
        if (strcmp(l->apps[i]->id, "app.listed") == 0)
            seen = 1;
    }
    assert_true(seen);
    codec_free(rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_request_and_emergency),
        cmocka_unit_test(test_catalogue_read),
    };
    return cmocka_run_group_tests(tests, cf_setup, cf_teardown);
}
