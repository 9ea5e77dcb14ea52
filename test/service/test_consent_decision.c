/* test_consent_decision.c - services/consent: Decide: the access matrix and a revocation effective on the very next decision. */
#include "test/service/consent_fixture.h"

/* ------------------------------------------------------------ the matrix */

/* Detail asked for each category: a class code, a LOINC code, or none. */
static const char *s_detail(int cat)
{
    return cat == C_DOCS ? "10" : cat == C_MEAS ? "29463-7" : NULL;
}

/* Expected cells: bit (cat-1)*2 + (act-1). */
#define BIT(cat, act) (1u << (((cat) - 1) * 2 + ((act) - 1)))
#define ALL 0xffu
#define NONE 0u
#define EMERGENCY_READS (BIT(C_AGENDA, A_R) | BIT(C_DOCS, A_R) | BIT(C_MEAS, A_R))

typedef struct row {
    const char *name;
    Espace__V1__PrincipalKind kind;
    const char *principal;
    unsigned expect;
} row_t;

static void s_check_row(const row_t *row)
{
    for (int cat = C_AGENDA; cat <= C_MSG; cat++) {
        for (int act = A_R; act <= A_W; act++) {
            int want = (row->expect & BIT(cat, act)) ? 1 : 0;
            int got = cf_decide(row->kind, row->principal, P1, cat, act, s_detail(cat));
            if (got != want)
                fail_msg("matrix row '%s' category %d action %d: got %d, want %d", row->name, cat,
                         act, got, want);
        }
    }
}

static void test_matrix(void **state)
{
    (void)state;
    scopes_t all;
    cf_all_scopes(&all);
    uint8_t gid[16];
    int64_t now = cf_now();

    cf_add_app("app.full");
    cf_add_app("app.expired");
    cf_add_app("app.revoked");
    cf_add_app("app.narrow");
    cf_add_app("app.none");

    /* professionals */
    assert_int_equal(cf_grant(P1, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, "10000000001",
                             &all, 0, NULL, NULL),
                     0);
    assert_int_equal(cf_grant(P1, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, "10000000002",
                             &all, now + EMERGENCY_MS, NULL, NULL),
                     0);
    assert_int_equal(cf_grant(P1, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, "10000000003",
                             &all, 0, gid, NULL),
                     0);
    cf_revoke(P1, gid);
    scopes_t narrow;
    memset(&narrow, 0, sizeof narrow);
    cf_scope(&narrow, C_AGENDA, A_R, NULL);
    cf_scope(&narrow, C_DOCS, A_R, "11");      /* the matrix asks for class 10 */
    cf_scope(&narrow, C_MEAS, A_W, "29463-7"); /* the matrix asks for this one */
    assert_int_equal(cf_grant(P1, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, "10000000004",
                             &narrow, 0, NULL, NULL),
                     0);
    /* apps */
    assert_int_equal(
        cf_grant(P1, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.full", &all, 0, NULL, NULL), 0);
    assert_int_equal(cf_grant(P1, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.expired", &all,
                             now + EMERGENCY_MS, NULL, NULL),
                     0);
    assert_int_equal(
        cf_grant(P1, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.revoked", &all, 0, gid, NULL), 0);
    cf_revoke(P1, gid);
    scopes_t anarrow;
    memset(&anarrow, 0, sizeof anarrow);
    cf_scope(&anarrow, C_MEAS, A_R, "29463-7");
    cf_scope(&anarrow, C_AGENDA, A_W, NULL);
    assert_int_equal(cf_grant(P1, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.narrow", &anarrow, 0,
                             NULL, NULL),
                     0);
    /* emergency by professional 10000000009 (no grant) */
    Espace__V1__DeclareEmergencyRequest er = ESPACE__V1__DECLARE_EMERGENCY_REQUEST__INIT;
    er.patient_id = (char *)P1;
    er.reason = "Patient inconscient aux urgences";
    ProtobufCMessage *rep = NULL;
    assert_int_equal(cf_call(K_PRO, "10000000009", "DeclareEmergency", &er.base,
                            &espace__v1__declare_emergency_reply__descriptor, &rep, NULL),
                     0);
    Espace__V1__Emergency *em = ((Espace__V1__DeclareEmergencyReply *)rep)->emergency;
    assert_non_null(em);
    assert_true(em->until_ms - em->start_ms == EMERGENCY_MS);
    int64_t lapse = em->until_ms; /* after now + EMERGENCY_MS, when the grants end */
    codec_free(rep);

    /* Before the lapses: the time-limited rows are still allowed. */
    const row_t before[] = {
        {"pro, grant about to expire", K_PRO, "10000000002", ALL},
        {"app, grant about to expire", K_APP, "app.expired", ALL},
        {"emergency, active", K_PRO, "10000000009", EMERGENCY_READS},
    };
    for (size_t i = 0; i < sizeof before / sizeof before[0]; i++)
        s_check_row(&before[i]);
    /* Narrowed scope: the right code is allowed, the whole category is not. */
    assert_int_equal(cf_decide(K_PRO, "10000000004", P1, C_DOCS, A_R, "11"), 1);
    assert_int_equal(cf_decide(K_PRO, "10000000004", P1, C_DOCS, A_R, NULL), 0);
    assert_int_equal(cf_decide(K_APP, "app.narrow", P1, C_MEAS, A_R, "8302-2"), 0);

    /* Let the grants and the emergency lapse. */
    for (int i = 0; i < 400 && cf_now() <= lapse + 20; i++)
        h_sleep_ms(25);

    const row_t rows[] = {
        {"the patient", K_PATIENT, P1, ALL},
        {"another patient", K_PATIENT, P2, NONE},
        {"pro, no grant", K_PRO, "10000000000", NONE},
        {"pro, grant", K_PRO, "10000000001", ALL},
        {"pro, expired grant", K_PRO, "10000000002", NONE},
        {"pro, revoked grant", K_PRO, "10000000003", NONE},
        {"pro, narrower grant", K_PRO, "10000000004", BIT(C_AGENDA, A_R) | BIT(C_MEAS, A_W)},
        {"app, no grant", K_APP, "app.none", NONE},
        {"app, grant", K_APP, "app.full", ALL},
        {"app, expired grant", K_APP, "app.expired", NONE},
        {"app, revoked grant", K_APP, "app.revoked", NONE},
        {"app, narrower grant", K_APP, "app.narrow", BIT(C_MEAS, A_R) | BIT(C_AGENDA, A_W)},
        {"app, not in catalogue", K_APP, "app.unknown", NONE},
        {"emergency, lapsed", K_PRO, "10000000009", NONE},
        {"operator", K_OP, "", NONE},
        {"service", K_SVC, "dmp", NONE},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        s_check_row(&rows[i]);

    /* A withdrawn app's grants stop at once. */
    Espace__V1__WithdrawAppRequest wr = ESPACE__V1__WITHDRAW_APP_REQUEST__INIT;
    wr.app_id = "app.full";
    assert_int_equal(cf_call(K_OP, "", "WithdrawApp", &wr.base,
                            &espace__v1__withdraw_app_reply__descriptor, &rep, NULL),
                     0);
    codec_free(rep);
    const row_t withdrawn = {"app, withdrawn", K_APP, "app.full", NONE};
    s_check_row(&withdrawn);

    /* ListGrants shows the expired ones as inactive/expired. */
    Espace__V1__ListGrantsRequest lr = ESPACE__V1__LIST_GRANTS_REQUEST__INIT;
    assert_int_equal(cf_call(K_PRO, "10000000002", "ListGrants", &lr.base,
                            &espace__v1__list_grants_reply__descriptor, &rep, NULL),
                     0);
    Espace__V1__ListGrantsReply *l = (Espace__V1__ListGrantsReply *)rep;
    assert_int_equal(l->n_grants, 1);
    assert_int_equal(l->grants[0]->status, ESPACE__V1__GRANT_STATUS__GRANT_INACTIVE);
    assert_string_equal(l->grants[0]->inactive_reason, "expired");
    codec_free(rep);
}

/* ---------------------------------------------------- revoke, very next */

static void test_revoke_next_decide(void **state)
{
    (void)state;
    const char *pid = "33333333333333333333333333333333";
    scopes_t all;
    cf_all_scopes(&all);
    uint8_t gid[16];
    assert_int_equal(cf_grant(pid, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, "20000000001",
                             &all, 0, gid, NULL),
                     0);
    assert_int_equal(cf_decide(K_PRO, "20000000001", pid, C_DOCS, A_R, "10"), 1);
    cf_revoke(pid, gid);
    assert_int_equal(cf_decide(K_PRO, "20000000001", pid, C_DOCS, A_R, "10"), 0);

    /* Pipelined: RevokeGrant and Decide sent back to back, no wait. */
    assert_int_equal(cf_grant(pid, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, "20000000001",
                             &all, 0, gid, NULL),
                     0);
    who_t pat = cf_who(K_PATIENT, pid), svc = cf_who(K_SVC, "agenda"),
          acc = cf_who(K_PRO, "20000000001");
    pat.c.principal = pat.principal;
    svc.c.principal = svc.principal;
    acc.c.principal = acc.principal;
    Espace__V1__RevokeGrantRequest rv = ESPACE__V1__REVOKE_GRANT_REQUEST__INIT;
    rv.grant_id.data = gid;
    rv.grant_id.len = 16;
    Espace__V1__DecideRequest dr = ESPACE__V1__DECIDE_REQUEST__INIT;
    dr.accessor = &acc.c;
    dr.patient_id = (char *)pid;
    dr.category = C_AGENDA;
    dr.action = A_R;
    uint64_t id1, id2;
    assert_int_equal(
        bus_client_send(F.cl, CONSENT_SERVICE, "RevokeGrant", &rv.base, CALL_MS, &pat.c, &id1), 0);
    assert_int_equal(
        bus_client_send(F.cl, CONSENT_SERVICE, "Decide", &dr.base, CALL_MS, &svc.c, &id2), 0);
    int got = 0, allowed = -1;
    for (int i = 0; i < 2; i++) {
        bus_reply_t r;
        memset(&r, 0, sizeof r);
        assert_int_equal(bus_client_recv(F.cl, CALL_MS, &r), 0);
        assert_int_equal(r.status, 0);
        if (r.id == id2) {
            ProtobufCMessage *m = NULL;
            assert_int_equal(codec_decode(&espace__v1__decide_reply__descriptor, r.body,
                                          r.body_len, 0, &m, NULL),
                             0);
            allowed = ((Espace__V1__DecideReply *)m)->allowed;
            codec_free(m);
        }
        got++;
        bus_reply_clear(&r);
    }
    assert_int_equal(got, 2);
    assert_int_equal(allowed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_revoke_next_decide),
    };
    return cmocka_run_group_tests(tests, cf_setup, cf_teardown);
}
