/* test_consent_registry.c - services/consent: the patients consent knows
 * (a random patient id leaves no chain and no grant behind), HoldsGrant
 * (no trail entry) and RecordResolution (an AUDIT_RESOLVE entry). */
#include "test/service/consent_fixture.h"

static const char P7[] = "77777777777777777777777777777777";
static const char RPPS_A[] = "70000000001";
static const char RPPS_B[] = "70000000002";

/* VerifyAudit as the operator (pid NULL = all): chains and entries. */
static void s_verify(const char *pid, uint32_t *chains, uint64_t *entries)
{
    Espace__V1__VerifyAuditRequest rq = ESPACE__V1__VERIFY_AUDIT_REQUEST__INIT;
    rq.patient_id = (char *)(pid ? pid : "");
    ProtobufCMessage *rep = NULL;
    assert_int_equal(cf_call(K_OP, "", "VerifyAudit", &rq.base,
                             &espace__v1__verify_audit_reply__descriptor, &rep, NULL),
                     0);
    Espace__V1__VerifyAuditReply *v = (Espace__V1__VerifyAuditReply *)rep;
    assert_true(v->ok);
    *chains = v->chains;
    *entries = v->entries;
    codec_free(rep);
}

/* The patient's trail, newest first (caller frees with codec_free). */
static Espace__V1__ReadAuditReply *s_trail(const char *pid)
{
    Espace__V1__ReadAuditRequest rq = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(cf_call(K_PATIENT, pid, "ReadAudit", &rq.base,
                             &espace__v1__read_audit_reply__descriptor, &rep, NULL),
                     0);
    return (Espace__V1__ReadAuditReply *)rep;
}

static size_t s_trail_len(const char *pid)
{
    Espace__V1__ReadAuditReply *a = s_trail(pid);
    size_t n = a->n_entries;
    codec_free(&a->base);
    return n;
}

/* HoldsGrant as the service "messaging": the status, *allowed. */
static int s_holds(Espace__V1__PrincipalKind caller, const char *rpps, const char *pid, int cat,
                   int act, int *allowed)
{
    Espace__V1__Caller acc = h_caller(K_PRO, rpps);
    Espace__V1__HoldsGrantRequest rq = ESPACE__V1__HOLDS_GRANT_REQUEST__INIT;
    rq.accessor = &acc;
    rq.patient_id = (char *)pid;
    rq.category = cat;
    rq.action = act;
    ProtobufCMessage *rep = NULL;
    bus_reply_t r;
    int rc = cf_call(caller, caller == K_SVC ? "messaging" : RPPS_A, "HoldsGrant", &rq.base,
                     &espace__v1__decide_reply__descriptor, &rep, &r);
    if (rc == 0) {
        Espace__V1__DecideReply *d = (Espace__V1__DecideReply *)rep;
        *allowed = d->allowed;
        if (d->allowed) {
            assert_int_equal(d->basis, ESPACE__V1__BASIS__BASIS_GRANT);
            assert_int_equal(d->grant_id.len, 16);
        }
        codec_free(rep);
    } else {
        assert_string_equal(r.field, rc == ES_NOT_FOUND ? "patient_id" : "");
    }
    return rc;
}

/* A patient id nobody vouched for: every request naming it answers
 * NOT_FOUND, and no chain, grant or emergency is left behind. */
static void test_unknown_patient(void **state)
{
    (void)state;
    char rnd[ID_HEX];
    uint8_t raw[ID_BYTES];
    for (size_t i = 0; i < ID_BYTES; i++)
        raw[i] = (uint8_t)(0xa0 + i);
    id_hex(raw, rnd);
    uint32_t chains0, chains;
    uint64_t entries0, entries;
    s_verify(NULL, &chains0, &entries0);

    /* Decide (a data service asking for a professional) */
    Espace__V1__Caller acc = h_caller(K_PRO, RPPS_A);
    Espace__V1__DecideRequest dq = ESPACE__V1__DECIDE_REQUEST__INIT;
    dq.accessor = &acc;
    dq.patient_id = rnd;
    dq.category = C_AGENDA;
    dq.action = A_R;
    bus_reply_t r;
    assert_int_equal(cf_call(K_SVC, "agenda", "Decide", &dq.base, NULL, NULL, &r), ES_NOT_FOUND);
    assert_string_equal(r.field, "patient_id");
    /* HoldsGrant */
    int allowed = -1;
    assert_int_equal(s_holds(K_SVC, RPPS_A, rnd, C_MSG, A_W, &allowed), ES_NOT_FOUND);
    /* RequestAccess */
    scopes_t ss;
    memset(&ss, 0, sizeof ss);
    cf_scope(&ss, C_AGENDA, A_R, NULL);
    Espace__V1__RequestAccessRequest rq = ESPACE__V1__REQUEST_ACCESS_REQUEST__INIT;
    rq.patient_id = rnd;
    rq.scopes = ss.p;
    rq.n_scopes = ss.n;
    rq.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    assert_int_equal(cf_call(K_PRO, RPPS_A, "RequestAccess", &rq.base, NULL, NULL, &r),
                     ES_NOT_FOUND);
    assert_string_equal(r.field, "patient_id");
    /* DeclareEmergency */
    Espace__V1__DeclareEmergencyRequest eq = ESPACE__V1__DECLARE_EMERGENCY_REQUEST__INIT;
    eq.patient_id = rnd;
    eq.reason = "Patient inconscient";
    assert_int_equal(cf_call(K_PRO, RPPS_A, "DeclareEmergency", &eq.base, NULL, NULL, &r),
                     ES_NOT_FOUND);
    assert_string_equal(r.field, "patient_id");

    /* nothing behind: no new chain, no entry, no grant */
    s_verify(NULL, &chains, &entries);
    assert_int_equal(chains, chains0);
    assert_int_equal(entries, entries0);
    s_verify(rnd, &chains, &entries);
    assert_int_equal(entries, 0);
    assert_int_equal(s_trail_len(rnd), 0);
    assert_int_equal(cf_count_grants(rnd), 0);

    /* RegisterPatient: services only, idempotent, checked */
    Espace__V1__RegisterPatientRequest reg = ESPACE__V1__REGISTER_PATIENT_REQUEST__INIT;
    reg.patient_id = rnd;
    assert_int_equal(cf_call(K_PRO, RPPS_A, "RegisterPatient", &reg.base, NULL, NULL, &r),
                     ES_PERMISSION_DENIED);
    assert_int_equal(cf_call(K_PATIENT, rnd, "RegisterPatient", &reg.base, NULL, NULL, &r),
                     ES_PERMISSION_DENIED);
    ProtobufCMessage *rep = NULL;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(cf_call(K_SVC, "identity", "RegisterPatient", &reg.base,
                                 &espace__v1__register_patient_reply__descriptor, &rep, NULL),
                         0);
        assert_int_equal(((Espace__V1__RegisterPatientReply *)rep)->added, i == 0);
        codec_free(rep);
    }
    reg.patient_id = "not-an-id";
    assert_int_equal(cf_call(K_SVC, "identity", "RegisterPatient", &reg.base, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "patient_id");
    /* known now: decided (denied, no grant) and audited */
    assert_int_equal(cf_decide(K_PRO, RPPS_A, rnd, C_AGENDA, A_R, NULL), 0);
    assert_int_equal(s_trail_len(rnd), 1);
}

/* HoldsGrant answers from the grants only and leaves the trail alone. */
static void test_holds_grant(void **state)
{
    (void)state;
    scopes_t ss;
    memset(&ss, 0, sizeof ss);
    cf_scope(&ss, C_MSG, A_W, NULL);
    uint8_t gid[16];
    /* the patient's own grant registers them */
    assert_int_equal(cf_grant(P7, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, RPPS_A, &ss, 0,
                              gid, NULL),
                     0);
    int allowed = -1;
    assert_int_equal(s_holds(K_SVC, RPPS_A, P7, C_MSG, A_W, &allowed), 0);
    assert_true(allowed);
    assert_int_equal(s_holds(K_SVC, RPPS_A, P7, C_MSG, A_R, &allowed), 0);
    assert_false(allowed);
    assert_int_equal(s_holds(K_SVC, RPPS_B, P7, C_MSG, A_W, &allowed), 0);
    assert_false(allowed);
    /* services only */
    assert_int_equal(s_holds(K_PRO, RPPS_A, P7, C_MSG, A_W, &allowed), ES_PERMISSION_DENIED);
    /* an emergency lets B read the agenda (Decide) but is no grant */
    Espace__V1__DeclareEmergencyRequest eq = ESPACE__V1__DECLARE_EMERGENCY_REQUEST__INIT;
    eq.patient_id = (char *)P7;
    eq.reason = "Urgence";
    assert_int_equal(cf_call(K_PRO, RPPS_B, "DeclareEmergency", &eq.base, NULL, NULL, NULL), 0);
    size_t before = s_trail_len(P7);
    assert_int_equal(s_holds(K_SVC, RPPS_B, P7, C_AGENDA, A_R, &allowed), 0);
    assert_false(allowed);
    assert_int_equal(s_holds(K_SVC, RPPS_A, P7, C_MSG, A_W, &allowed), 0);
    assert_true(allowed);
    assert_int_equal(s_trail_len(P7), before); /* nothing recorded */
    /* revoked: no longer held */
    cf_revoke(P7, gid);
    assert_int_equal(s_holds(K_SVC, RPPS_A, P7, C_MSG, A_W, &allowed), 0);
    assert_false(allowed);
}

/* RecordResolution: identity's resolution in the patient's trail. */
static void test_record_resolution(void **state)
{
    (void)state;
    const char *pid = "88888888888888888888888888888888";
    Espace__V1__Caller acc = h_caller(K_PRO, RPPS_A);
    Espace__V1__RecordResolutionRequest rq = ESPACE__V1__RECORD_RESOLUTION_REQUEST__INIT;
    rq.accessor = &acc;
    rq.patient_id = (char *)pid;
    bus_reply_t r;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(cf_call(K_PRO, RPPS_A, "RecordResolution", &rq.base, NULL, NULL, &r),
                     ES_PERMISSION_DENIED);
    Espace__V1__Caller pat = h_caller(K_PATIENT, pid);
    rq.accessor = &pat;
    assert_int_equal(cf_call(K_SVC, "identity", "RecordResolution", &rq.base, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "accessor");
    rq.accessor = NULL;
    assert_int_equal(cf_call(K_SVC, "identity", "RecordResolution", &rq.base, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(s_trail_len(pid), 0);
    rq.accessor = &acc;
    assert_int_equal(cf_call(K_SVC, "identity", "RecordResolution", &rq.base,
                             &espace__v1__record_resolution_reply__descriptor, &rep, NULL),
                     0);
    assert_int_equal(((Espace__V1__RecordResolutionReply *)rep)->seq, 1);
    codec_free(rep);

    Espace__V1__ReadAuditReply *a = s_trail(pid);
    assert_int_equal(a->n_entries, 1);
    assert_int_equal(a->entries[0]->kind, ESPACE__V1__AUDIT_KIND__AUDIT_RESOLVE);
    assert_int_equal(a->entries[0]->actor_kind, K_PRO);
    assert_string_equal(a->entries[0]->actor, RPPS_A);
    assert_string_equal(a->entries[0]->service, "identity");
    assert_true(a->entries[0]->allowed);
    codec_free(&a->base);
    uint32_t chains;
    uint64_t entries;
    s_verify(pid, &chains, &entries);
    assert_int_equal(entries, 1);
    /* FHIR: a search, executed */
    Espace__V1__ExportAuditFhirRequest fq = ESPACE__V1__EXPORT_AUDIT_FHIR_REQUEST__INIT;
    assert_int_equal(cf_call(K_PATIENT, pid, "ExportAuditFhir", &fq.base,
                             &espace__v1__export_audit_fhir_reply__descriptor, &rep, NULL),
                     0);
    const char *json = ((Espace__V1__ExportAuditFhirReply *)rep)->json;
    assert_non_null(strstr(json, "\"code\":\"search-type\""));
    assert_non_null(strstr(json, "\"action\":\"E\""));
    codec_free(rep);
    /* the resolved patient is known: a request reaches them */
    scopes_t ss;
    memset(&ss, 0, sizeof ss);
    cf_scope(&ss, C_AGENDA, A_R, NULL);
    Espace__V1__RequestAccessRequest ra = ESPACE__V1__REQUEST_ACCESS_REQUEST__INIT;
    ra.patient_id = (char *)pid;
    ra.scopes = ss.p;
    ra.n_scopes = ss.n;
    ra.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    assert_int_equal(cf_call(K_PRO, RPPS_A, "RequestAccess", &ra.base, NULL, NULL, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_patient),
        cmocka_unit_test(test_holds_grant),
        cmocka_unit_test(test_record_resolution),
    };
    return cmocka_run_group_tests(tests, cf_setup, cf_teardown);
}
