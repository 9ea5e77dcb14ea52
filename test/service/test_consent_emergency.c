/* test_consent_emergency.c - services/consent: the patient's view of
 * emergency accesses (ListEmergencies, EndEmergency), what RevokeGrant says
 * still applies, and the live notices on "patient.<id>.consent". */
#include "test/service/consent_fixture.h"

#define PRO_A "70000000001"
#define PRO_B "70000000002"

/* The next ConsentNotice on sub (3 s at most), decoded (codec_free). */
static Espace__V1__ConsentNotice *s_notice(bus_sub_t *sub, const char *want_topic)
{
    char topic[BUS_MAX_TOPIC + 1];
    Espace__V1__Event *ev = NULL;
    assert_int_equal(bus_sub_recv(sub, 3000, topic, &ev), 0);
    assert_string_equal(topic, want_topic);
    ProtobufCMessage *body = NULL;
    assert_int_equal(codec_decode(&espace__v1__consent_notice__descriptor, ev->body.data,
                                  ev->body.len, 0, &body, NULL),
                     0);
    codec_free(&ev->base);
    return (Espace__V1__ConsentNotice *)body;
}

static int s_declare(const char *rpps, const char *pid, const char *name, uint8_t eid[16],
                     bus_reply_t *r)
{
    Espace__V1__DeclareEmergencyRequest er = ESPACE__V1__DECLARE_EMERGENCY_REQUEST__INIT;
    er.patient_id = (char *)pid;
    er.reason = "Patient inconscient aux urgences";
    er.display_name = (char *)name;
    er.profession = "Médecin";
    ProtobufCMessage *rep = NULL;
    int rc = cf_call(K_PRO, rpps, "DeclareEmergency", &er.base,
                     &espace__v1__declare_emergency_reply__descriptor, &rep, r);
    if (rc == 0 && eid)
        memcpy(eid, ((Espace__V1__DeclareEmergencyReply *)rep)->emergency->id.data, 16);
    codec_free(rep);
    return rc;
}

static int s_end(Espace__V1__PrincipalKind kind, const char *who, const uint8_t *eid, size_t len,
                 int *changed, bus_reply_t *r)
{
    Espace__V1__EndEmergencyRequest req = ESPACE__V1__END_EMERGENCY_REQUEST__INIT;
    req.emergency_id.data = (uint8_t *)eid;
    req.emergency_id.len = len;
    ProtobufCMessage *rep = NULL;
    int rc = cf_call(kind, who, "EndEmergency", &req.base,
                     &espace__v1__end_emergency_reply__descriptor, &rep, r);
    if (rc == 0) {
        Espace__V1__EndEmergencyReply *e = (Espace__V1__EndEmergencyReply *)rep;
        assert_non_null(e->emergency);
        assert_memory_equal(e->emergency->id.data, eid, 16);
        if (changed)
            *changed = e->changed;
        if (e->changed)
            assert_true(e->emergency->ended_ms > 0);
    }
    codec_free(rep);
    return rc;
}

/* How many entries of `kind` the patient's trail holds (newest 200). */
static size_t s_audit_count(const char *pid, int kind)
{
    Espace__V1__ReadAuditRequest ra = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    ra.limit = 200;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(cf_call(K_PATIENT, pid, "ReadAudit", &ra.base,
                            &espace__v1__read_audit_reply__descriptor, &rep, NULL),
                     0);
    Espace__V1__ReadAuditReply *a = (Espace__V1__ReadAuditReply *)rep;
    size_t n = 0;
    for (size_t i = 0; i < a->n_entries; i++)
        n += (int)a->entries[i]->kind == kind;
    codec_free(rep);
    return n;
}

/* -------------------------------------- the patient ends an emergency */

static void test_end_emergency(void **state)
{
    (void)state;
    const char *pid = "77777777777777777777777777777777";
    assert_int_equal(cf_register(pid), 0); /* a patient identity vouched for */
    char topic[TOPIC_MAX + 1];
    assert_int_equal(topic_patient(topic, sizeof topic, pid, TOPIC_AREA_CONSENT), 0);
    bus_sub_t *sub = NULL;
    assert_int_equal(h_sub(&F.h, &sub), 0);
    assert_int_equal(bus_subscribe(sub, topic), 0);
    h_sleep_ms(300); /* let the subscription reach the broker */
    bus_reply_t r;

    /* a name with a control character is refused, nothing stored */
    assert_int_equal(s_declare(PRO_A, pid, "Dr\nHouse", NULL, &r), ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "display_name");
    /* nor a C1 control (NEL, CSI), a line separator or a bidi override that
     * would make the name read otherwise */
    const char *bad[] = {"Dr\xc2\x85House", "Dr\xc2\x9b" "2J", "Dr\xe2\x80\xa8House",
                         "\xe2\x80\xae" "esuoH rD", "Dr \xe2\x81\xa6House"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(s_declare(PRO_A, pid, bad[i], NULL, &r), ES_INVALID_ARGUMENT);
        assert_string_equal(r.field, "display_name");
    }

    uint8_t eid[16];
    assert_int_equal(s_declare(PRO_A, pid, "Claire Martin", eid, &r), 0);
    Espace__V1__ConsentNotice *n = s_notice(sub, topic);
    assert_int_equal(n->kind, ESPACE__V1__NOTICE_KIND__NOTICE_EMERGENCY);
    assert_non_null(n->emergency);
    assert_string_equal(n->emergency->rpps, PRO_A);
    assert_string_equal(n->emergency->display_name, "Claire Martin");
    assert_string_equal(n->emergency->profession, "Médecin");
    codec_free(&n->base);
    assert_int_equal(cf_decide(K_PRO, PRO_A, pid, C_DOCS, A_R, NULL), 1);

    /* the patient sees it, by name; no one else may list or end it */
    Espace__V1__ListEmergenciesRequest lr = ESPACE__V1__LIST_EMERGENCIES_REQUEST__INIT;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(cf_call(K_PATIENT, pid, "ListEmergencies", &lr.base,
                            &espace__v1__list_emergencies_reply__descriptor, &rep, NULL),
                     0);
    Espace__V1__ListEmergenciesReply *l = (Espace__V1__ListEmergenciesReply *)rep;
    assert_int_equal(l->n_emergencies, 1);
    assert_string_equal(l->emergencies[0]->display_name, "Claire Martin");
    assert_int_equal(l->emergencies[0]->ended_ms, 0);
    codec_free(rep);
    assert_int_equal(cf_call(K_PRO, PRO_A, "ListEmergencies", &lr.base,
                            &espace__v1__list_emergencies_reply__descriptor, &rep, &r),
                     ES_PERMISSION_DENIED);
    assert_int_equal(s_end(K_PRO, PRO_A, eid, 16, NULL, &r), ES_PERMISSION_DENIED);
    assert_int_equal(s_end(K_PATIENT, P2, eid, 16, NULL, &r), ES_NOT_FOUND);
    assert_string_equal(r.field, "emergency_id");
    assert_int_equal(s_end(K_PATIENT, pid, eid, 15, NULL, &r), ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "emergency_id");
    uint8_t other[16];
    memset(other, 0x42, sizeof other);
    assert_int_equal(s_end(K_PATIENT, pid, other, 16, NULL, &r), ES_NOT_FOUND);
    assert_int_equal(cf_decide(K_PRO, PRO_A, pid, C_DOCS, A_R, NULL), 1);

    /* ended: the very next read is denied, the end is in the trail once */
    int changed = 0;
    assert_int_equal(s_end(K_PATIENT, pid, eid, 16, &changed, NULL), 0);
    assert_true(changed);
    assert_int_equal(cf_decide(K_PRO, PRO_A, pid, C_DOCS, A_R, NULL), 0);
    assert_int_equal(cf_decide(K_PRO, PRO_A, pid, C_AGENDA, A_R, NULL), 0);
    n = s_notice(sub, topic);
    assert_int_equal(n->kind, ESPACE__V1__NOTICE_KIND__NOTICE_EMERGENCY_ENDED);
    assert_memory_equal(n->emergency->id.data, eid, 16);
    codec_free(&n->base);
    assert_int_equal(s_end(K_PATIENT, pid, eid, 16, &changed, NULL), 0); /* idempotent */
    assert_false(changed);
    assert_int_equal(s_audit_count(pid, ESPACE__V1__AUDIT_KIND__AUDIT_EMERGENCY_ENDED), 1);
    assert_int_equal(cf_call(K_PATIENT, pid, "ListEmergencies", &lr.base,
                            &espace__v1__list_emergencies_reply__descriptor, &rep, NULL),
                     0);
    assert_int_equal(((Espace__V1__ListEmergenciesReply *)rep)->n_emergencies, 0);
    codec_free(rep);
    lr.include_ended = 1;
    assert_int_equal(cf_call(K_PATIENT, pid, "ListEmergencies", &lr.base,
                            &espace__v1__list_emergencies_reply__descriptor, &rep, NULL),
                     0);
    assert_int_equal(((Espace__V1__ListEmergenciesReply *)rep)->n_emergencies, 1);
    codec_free(rep);

    /* a new declaration is a new access, which the patient can end again */
    uint8_t eid2[16];
    assert_int_equal(s_declare(PRO_A, pid, "Claire Martin", eid2, &r), 0);
    assert_int_equal(cf_decide(K_PRO, PRO_A, pid, C_DOCS, A_R, NULL), 1);
    assert_int_equal(s_end(K_PATIENT, pid, eid, 16, NULL, &r), ES_NOT_FOUND); /* superseded */
    assert_int_equal(s_end(K_PATIENT, pid, eid2, 16, &changed, NULL), 0);
    assert_true(changed);
    assert_int_equal(cf_decide(K_PRO, PRO_A, pid, C_DOCS, A_R, NULL), 0);
    bus_sub_destroy(&sub);
}

/* ------------------------------ a request is pushed to the patient, named */

static void test_request_notice(void **state)
{
    (void)state;
    const char *pid = "78787878787878787878787878787878";
    assert_int_equal(cf_register(pid), 0); /* a patient identity vouched for */
    char topic[TOPIC_MAX + 1];
    assert_int_equal(topic_patient(topic, sizeof topic, pid, TOPIC_AREA_CONSENT), 0);
    bus_sub_t *sub = NULL;
    assert_int_equal(h_sub(&F.h, &sub), 0);
    assert_int_equal(bus_subscribe(sub, topic), 0);
    h_sleep_ms(300);
    scopes_t ss;
    memset(&ss, 0, sizeof ss);
    cf_scope(&ss, C_AGENDA, A_R, NULL);
    Espace__V1__RequestAccessRequest rq = ESPACE__V1__REQUEST_ACCESS_REQUEST__INIT;
    rq.patient_id = (char *)pid;
    rq.scopes = ss.p;
    rq.n_scopes = ss.n;
    rq.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    rq.display_name = "Paul Durand";
    rq.profession = "Infirmier\x7f";
    ProtobufCMessage *rep = NULL;
    bus_reply_t r;
    assert_int_equal(cf_call(K_PRO, PRO_B, "RequestAccess", &rq.base,
                            &espace__v1__request_access_reply__descriptor, &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "profession");
    assert_int_equal(cf_count_grants(pid), 0);
    rq.profession = "Infirmier";
    /* the reason shown to the patient: lines and tabs, but no terminal
     * escape, C1 control or bidi override */
    const char *bad_reasons[] = {"Suivi\x1b[2J", "Suivi\xc2\x9b" "2J", "\xe2\x80\xae" "ivius"};
    for (size_t i = 0; i < sizeof bad_reasons / sizeof bad_reasons[0]; i++) {
        rq.reason = (char *)bad_reasons[i];
        assert_int_equal(cf_call(K_PRO, PRO_B, "RequestAccess", &rq.base,
                                &espace__v1__request_access_reply__descriptor, &rep, &r),
                         ES_INVALID_ARGUMENT);
        assert_string_equal(r.field, "reason");
    }
    assert_int_equal(cf_count_grants(pid), 0);
    Espace__V1__DeclareEmergencyRequest er = ESPACE__V1__DECLARE_EMERGENCY_REQUEST__INIT;
    er.patient_id = (char *)pid;
    er.reason = "Inconscient\x1b]0;x\x07";
    assert_int_equal(cf_call(K_PRO, PRO_B, "DeclareEmergency", &er.base,
                            &espace__v1__declare_emergency_reply__descriptor, &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "reason");
    rq.reason = "Suivi de la plaie\n\tpansement tous les deux jours";
    assert_int_equal(cf_call(K_PRO, PRO_B, "RequestAccess", &rq.base,
                            &espace__v1__request_access_reply__descriptor, &rep, &r),
                     0);
    codec_free(rep);
    Espace__V1__ConsentNotice *n = s_notice(sub, topic);
    assert_int_equal(n->kind, ESPACE__V1__NOTICE_KIND__NOTICE_REQUEST);
    assert_non_null(n->grant);
    assert_int_equal(n->grant->status, ESPACE__V1__GRANT_STATUS__GRANT_PROPOSED);
    assert_string_equal(n->grant->grantee_id, PRO_B);
    assert_string_equal(n->grant->grantee_name, "Paul Durand");
    assert_string_equal(n->grant->grantee_profession, "Infirmier");
    codec_free(&n->base);
    /* another patient's topic heard nothing */
    char topic2[BUS_MAX_TOPIC + 1];
    Espace__V1__Event *ev = NULL;
    assert_int_equal(bus_sub_recv(sub, 200, topic2, &ev), ES_DEADLINE_EXCEEDED);
    bus_sub_destroy(&sub);
}

/* ------------------------------------- revoking says what still applies */

static void test_revoke_still_applies(void **state)
{
    (void)state;
    const char *pid = "79797979797979797979797979797979";
    assert_int_equal(cf_register(pid), 0); /* a patient identity vouched for */
    scopes_t ss;
    memset(&ss, 0, sizeof ss);
    cf_scope(&ss, C_AGENDA, A_R, NULL);
    uint8_t g1[16], g2[16];
    assert_int_equal(cf_grant(pid, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, PRO_B, &ss, 0,
                              g1, NULL),
                     0);
    scopes_t docs;
    memset(&docs, 0, sizeof docs);
    cf_scope(&docs, C_DOCS, A_R, NULL);
    assert_int_equal(cf_grant(pid, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, PRO_B, &docs, 0,
                              g2, NULL),
                     0);
    /* someone else's grant is not "still applying" to PRO_B */
    assert_int_equal(cf_grant(pid, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, PRO_A, &ss, 0,
                              NULL, NULL),
                     0);
    bus_reply_t r;
    assert_int_equal(s_declare(PRO_B, pid, "Paul Durand", NULL, &r), 0);

    Espace__V1__RevokeGrantRequest req = ESPACE__V1__REVOKE_GRANT_REQUEST__INIT;
    req.grant_id.data = g1;
    req.grant_id.len = 16;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(cf_call(K_PATIENT, pid, "RevokeGrant", &req.base,
                            &espace__v1__revoke_grant_reply__descriptor, &rep, NULL),
                     0);
    Espace__V1__RevokeGrantReply *rr = (Espace__V1__RevokeGrantReply *)rep;
    assert_int_equal(rr->grant->status, ESPACE__V1__GRANT_STATUS__GRANT_INACTIVE);
    assert_int_equal(rr->n_still_granted, 1);
    assert_memory_equal(rr->still_granted[0]->id.data, g2, 16);
    assert_int_equal(rr->n_still_emergency, 1);
    assert_string_equal(rr->still_emergency[0]->rpps, PRO_B);
    assert_string_equal(rr->still_emergency[0]->display_name, "Paul Durand");
    codec_free(rep);
    /* the last one: only the emergency access remains */
    req.grant_id.data = g2;
    assert_int_equal(cf_call(K_PATIENT, pid, "RevokeGrant", &req.base,
                            &espace__v1__revoke_grant_reply__descriptor, &rep, NULL),
                     0);
    rr = (Espace__V1__RevokeGrantReply *)rep;
    assert_int_equal(rr->n_still_granted, 0);
    assert_int_equal(rr->n_still_emergency, 1);
    codec_free(rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_end_emergency),
        cmocka_unit_test(test_request_notice),
        cmocka_unit_test(test_revoke_still_applies),
    };
    return cmocka_run_group_tests(tests, cf_setup, cf_teardown);
}
