/* test_consent_audit.c - services/consent: the hash-chained audit trail: entries, tampering detected by VerifyAudit. */
#include "test/service/consent_fixture.h"

/* ------------------------------------------------------------ the trail */

static const char P4[] = "44444444444444444444444444444444";

static void test_audit_trail(void **state)
{
    (void)state;
    scopes_t ss;
    memset(&ss, 0, sizeof ss);
    cf_scope(&ss, C_MEAS, A_R, NULL);
    assert_int_equal(cf_grant(P4, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, "30000000001",
                             &ss, 0, NULL, NULL),
                     0);
    /* 1 allowed, 2 denied, and the patient's own access (not in the trail). */
    assert_int_equal(cf_decide(K_PRO, "30000000001", P4, C_MEAS, A_R, "29463-7"), 1);
    assert_int_equal(cf_decide(K_PRO, "30000000001", P4, C_MEAS, A_W, "29463-7"), 0);
    assert_int_equal(cf_decide(K_PRO, "30000000002", P4, C_DOCS, A_R, "10"), 0);
    assert_int_equal(cf_decide(K_PATIENT, P4, P4, C_DOCS, A_R, NULL), 1);

    Espace__V1__ReadAuditRequest rq = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(cf_call(K_PATIENT, P4, "ReadAudit", &rq.base,
                            &espace__v1__read_audit_reply__descriptor, &rep, NULL),
                     0);
    Espace__V1__ReadAuditReply *a = (Espace__V1__ReadAuditReply *)rep;
    assert_int_equal(a->n_entries, 3);
    assert_int_equal(a->next_before_seq, 0);
    /* newest first */
    assert_int_equal(a->entries[0]->seq, 3);
    assert_string_equal(a->entries[0]->actor, "30000000002");
    assert_false(a->entries[0]->allowed);
    assert_int_equal(a->entries[0]->category, C_DOCS);
    assert_string_equal(a->entries[0]->detail, "10");
    assert_string_equal(a->entries[0]->service, "agenda");
    assert_int_equal(a->entries[1]->seq, 2);
    assert_false(a->entries[1]->allowed);
    assert_int_equal(a->entries[1]->action, A_W);
    assert_int_equal(a->entries[2]->seq, 1);
    assert_true(a->entries[2]->allowed);
    assert_int_equal(a->entries[2]->actor_kind, K_PRO);
    assert_string_equal(a->entries[2]->purpose_of_use, "TREAT");
    assert_int_equal(a->entries[2]->grant_id.len, 16);
    assert_int_equal(a->entries[2]->hash.len, 32);
    codec_free(rep);

    /* Paging: 2, then the rest. */
    rq.limit = 2;
    assert_int_equal(cf_call(K_PATIENT, P4, "ReadAudit", &rq.base,
                            &espace__v1__read_audit_reply__descriptor, &rep, NULL),
                     0);
    a = (Espace__V1__ReadAuditReply *)rep;
    assert_int_equal(a->n_entries, 2);
    assert_int_equal(a->next_before_seq, 2);
    rq.before_seq = a->next_before_seq;
    codec_free(rep);
    assert_int_equal(cf_call(K_PATIENT, P4, "ReadAudit", &rq.base,
                            &espace__v1__read_audit_reply__descriptor, &rep, NULL),
                     0);
    a = (Espace__V1__ReadAuditReply *)rep;
    assert_int_equal(a->n_entries, 1);
    assert_int_equal(a->entries[0]->seq, 1);
    assert_int_equal(a->next_before_seq, 0);
    codec_free(rep);

    /* Only patients read a trail, and only their own. */
    bus_reply_t r;
    rq.before_seq = 0;
    assert_int_equal(cf_call(K_PRO, "30000000001", "ReadAudit", &rq.base,
                            &espace__v1__read_audit_reply__descriptor, &rep, &r),
                     ES_PERMISSION_DENIED);
    assert_int_equal(cf_call(K_PATIENT, P2, "ReadAudit", &rq.base,
                            &espace__v1__read_audit_reply__descriptor, &rep, NULL),
                     0);
    assert_int_equal(((Espace__V1__ReadAuditReply *)rep)->n_entries, 0);
    codec_free(rep);

    /* Decide is for services only. */
    who_t acc = cf_who(K_PRO, "30000000001");
    acc.c.principal = acc.principal;
    Espace__V1__DecideRequest dr = ESPACE__V1__DECIDE_REQUEST__INIT;
    dr.accessor = &acc.c;
    dr.patient_id = (char *)P4;
    dr.category = C_MEAS;
    dr.action = A_R;
    assert_int_equal(cf_call(K_PRO, "30000000001", "Decide", &dr.base,
                            &espace__v1__decide_reply__descriptor, &rep, &r),
                     ES_PERMISSION_DENIED);
    dr.category = 0;
    assert_int_equal(cf_call(K_SVC, "agenda", "Decide", &dr.base,
                            &espace__v1__decide_reply__descriptor, &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "category");

    /* FHIR export of the trail. */
    Espace__V1__ExportAuditFhirRequest xr = ESPACE__V1__EXPORT_AUDIT_FHIR_REQUEST__INIT;
    assert_int_equal(cf_call(K_PATIENT, P4, "ExportAuditFhir", &xr.base,
                            &espace__v1__export_audit_fhir_reply__descriptor, &rep, NULL),
                     0);
    const char *json = ((Espace__V1__ExportAuditFhirReply *)rep)->json;
    assert_non_null(strstr(json, "\"resourceType\":\"Bundle\""));
    assert_non_null(strstr(json, "\"resourceType\":\"AuditEvent\""));
    assert_non_null(strstr(json, "\"outcome\":\"4\""));
    assert_non_null(strstr(json, "\"value\":\"830000000001\""));
    assert_non_null(strstr(json, "\"code\":\"TREAT\""));
    codec_free(rep);
}

/* Verify, tamper with entry 2 through the store API, verify again. */
static int s_tamper_apply(store_txn_t *t, void *item, void *ctx)
{
    (void)item;
    (void)ctx;
    uint8_t pid[16], key[24];
    for (int i = 0; i < 16; i++)
        pid[i] = 0x44;
    memcpy(key, pid, 16);
    store_be64_put(key + 16, 2);
    const void *v;
    size_t vl;
    int rc = store_get(t, CONSENT_T_AUDIT, key, sizeof key, &v, &vl);
    if (rc != 0)
        return rc;
    ProtobufCMessage *m = NULL;
    if (vl < 32 || codec_decode(&espace__v1__audit_entry__descriptor, (const uint8_t *)v + 32,
                                vl - 32, 0, &m, NULL) != 0)
        return ES_INTERNAL;
    Espace__V1__AuditEntry *e = (Espace__V1__AuditEntry *)m;
    e->allowed = 1; /* rewrite history: the denied write becomes allowed */
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(32 + len);
    memcpy(buf, v, 32); /* keep the old hash */
    protobuf_c_message_pack(m, buf + 32);
    rc = store_put(t, CONSENT_T_AUDIT, key, sizeof key, buf, 32 + len);
    free(buf);
    codec_free(m);
    return rc;
}

static void s_verify(const char *pid, int *ok, uint64_t *broken, char *who, size_t who_len)
{
    Espace__V1__VerifyAuditRequest vr = ESPACE__V1__VERIFY_AUDIT_REQUEST__INIT;
    vr.patient_id = (char *)(pid ? pid : "");
    ProtobufCMessage *rep = NULL;
    assert_int_equal(cf_call(K_OP, "", "VerifyAudit", &vr.base,
                            &espace__v1__verify_audit_reply__descriptor, &rep, NULL),
                     0);
    Espace__V1__VerifyAuditReply *v = (Espace__V1__VerifyAuditReply *)rep;
    *ok = v->ok;
    *broken = v->broken_seq;
    if (who)
        snprintf(who, who_len, "%s", v->patient_id);
    assert_true(v->chains >= 1);
    codec_free(rep);
}

static void test_audit_tamper(void **state)
{
    (void)state;
    int ok;
    uint64_t broken;
    char who[40];
    bus_reply_t r;
    ProtobufCMessage *rep = NULL;
    /* Only the operator verifies. */
    Espace__V1__VerifyAuditRequest vr = ESPACE__V1__VERIFY_AUDIT_REQUEST__INIT;
    assert_int_equal(cf_call(K_PATIENT, P4, "VerifyAudit", &vr.base,
                            &espace__v1__verify_audit_reply__descriptor, &rep, &r),
                     ES_PERMISSION_DENIED);

    s_verify(P4, &ok, &broken, NULL, 0);
    assert_true(ok);
    assert_int_equal(broken, 0);
    s_verify(NULL, &ok, &broken, NULL, 0);
    assert_true(ok);

    /* Stop consent, rewrite entry 2 with a valid encryption, restart. */
    h_svc_stop(&F.consent);
    char path[128];
    snprintf(path, sizeof path, "%s/consent", F.h.dir);
    static const char *tables[] = {CONSENT_T_APPS,      CONSENT_T_GRANTS,     CONSENT_T_BY_PATIENT,
                                   CONSENT_T_BY_GRANTEE, CONSENT_T_EMERGENCY, CONSENT_T_AUDIT,
                                   CONSENT_T_AUDIT_HEAD, NULL};
    store_opts_t so;
    memset(&so, 0, sizeof so);
    so.tables = tables;
    so.no_sync = 1;
    store_t *s = NULL;
    assert_int_equal(store_open(path, &so, &s), 0);
    void *items[1] = {NULL};
    int results[1] = {-1};
    assert_int_equal(store_write_group(s, s_tamper_apply, items, 1, results, NULL), 0);
    assert_int_equal(results[0], 0);
    store_close(&s);
    cf_consent_restart();

    s_verify(P4, &ok, &broken, who, sizeof who);
    assert_false(ok);
    assert_int_equal(broken, 2);
    assert_string_equal(who, P4);
    s_verify(NULL, &ok, &broken, who, sizeof who);
    assert_false(ok);
    assert_int_equal(broken, 2);
    assert_string_equal(who, P4);
    /* Another patient's chain is still intact. */
    s_verify(P1, &ok, &broken, NULL, 0);
    assert_true(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_trail),
        cmocka_unit_test(test_audit_tamper),
    };
    return cmocka_run_group_tests(tests, cf_setup, cf_teardown);
}
