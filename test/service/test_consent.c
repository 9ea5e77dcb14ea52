/*
 * test_consent.c - services/consent against a real broker (thread, ipc), a
 * real store and the real consent service (svc_run in a thread).
 *
 * Callers are impersonated with local Caller frames: the test's bus client
 * is an ipc peer, which the broker lets stamp its own caller, exactly as the
 * edge and the admin CLI do. Decide is asked as PRINCIPAL_SERVICE "agenda".
 *
 * ESPACE_EMERGENCY_MS is set to EMERGENCY_MS (test-only override) so the
 * emergency access lapses within the test.
 */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

#include "test/harness/harness.h"
#include "bus/codec.h"
#include "services/consent/consent.h"
#include "espace/v1/consent.pb-c.h"
#include "runtime/service.h"
#include "proto/status.h"
#include "storage/store.h"

#define HB_MS 200
#define EMERGENCY_MS 3000
#define CALL_MS 5000

/* ---------------------------------------------------------------- fixture */

typedef struct fix {
    harness_t h;       /* broker thread, folder, endpoints, context */
    h_svc_t consent;   /* the consent service thread */
    bus_client_t *cl;  /* local client: stamps its own Caller */
} fix_t;

static fix_t F;

/* Once its ready byte is written, wait until the broker routes to consent
 * (bounded). */
static int s_wait_consent(void)
{
    Espace__V1__Caller op = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "");
    Espace__V1__ListAppsRequest req = ESPACE__V1__LIST_APPS_REQUEST__INIT;
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    return h_call_served(F.cl, CONSENT_SERVICE, "ListApps", &req.base,
                         &espace__v1__list_apps_reply__descriptor, 1000, &op, NULL, &r);
}

static int s_setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    setenv(CONSENT_EMERGENCY_ENV, "3000", 1);
    if (h_setup(&F.h, 0) != 0)
        return -1;
    F.h.hb = HB_MS;
    if (h_broker_start(&F.h) != 0 || h_svc_start(&F.h, &F.consent, &consent_service) != 0)
        return -1;
    if (h_client(&F.h, &F.cl) != 0)
        return -1;
    return s_wait_consent() == 0 ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    bus_client_destroy(&F.cl);
    h_svc_stop(&F.consent);
    h_teardown(&F.h);
    return 0;
}

/* Restart consent with fresh pipes (after h_svc_stop). */
static void s_consent_restart(void)
{
    assert_int_equal(h_svc_start(&F.h, &F.consent, &consent_service), 0);
    assert_int_equal(s_wait_consent(), 0);
}

/* ------------------------------------------------------------ principals */

typedef struct who {
    Espace__V1__Caller c;
    char principal[80];
} who_t;

static who_t s_who(Espace__V1__PrincipalKind kind, const char *principal)
{
    who_t w;
    espace__v1__caller__init(&w.c);
    w.c.kind = kind;
    snprintf(w.principal, sizeof w.principal, "%s", principal);
    w.c.peer_role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
    return w;
}

#define K_PATIENT ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT
#define K_PRO ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL
#define K_APP ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_APP
#define K_OP ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR
#define K_SVC ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE

#define C_AGENDA ESPACE__V1__CATEGORY__CATEGORY_AGENDA
#define C_DOCS ESPACE__V1__CATEGORY__CATEGORY_DOCUMENTS
#define C_MEAS ESPACE__V1__CATEGORY__CATEGORY_MEASURES
#define C_MSG ESPACE__V1__CATEGORY__CATEGORY_MESSAGING
#define A_R ESPACE__V1__ACTION__ACTION_READ
#define A_W ESPACE__V1__ACTION__ACTION_WRITE

/* Call consent as `kind`/`principal`; returns the status. */
static int s_call(Espace__V1__PrincipalKind kind, const char *principal, const char *method,
                  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rdesc,
                  ProtobufCMessage **rep, bus_reply_t *r)
{
    who_t w = s_who(kind, principal);
    w.c.principal = w.principal;
    bus_reply_t tmp;
    memset(&tmp, 0, sizeof tmp);
    return bus_call(F.cl, CONSENT_SERVICE, method, req, rdesc, CALL_MS, &w.c, rep, r ? r : &tmp);
}

static const char P1[] = "11111111111111111111111111111111"; /* matrix patient */
static const char P2[] = "22222222222222222222222222222222"; /* another patient */

static int64_t s_now(void)
{
    return bus_wall_ms();
}

/* Scope helpers: up to 8 scopes with up to 2 codes each. */
typedef struct scopes {
    Espace__V1__Scope s[8];
    Espace__V1__Scope *p[8];
    char *codes[8][2];
    size_t n;
} scopes_t;

static void s_scope(scopes_t *ss, int cat, int act, const char *code)
{
    Espace__V1__Scope *s = &ss->s[ss->n];
    espace__v1__scope__init(s);
    s->category = (Espace__V1__Category)cat;
    s->action = (Espace__V1__Action)act;
    if (code) {
        ss->codes[ss->n][0] = (char *)code;
        s->codes = ss->codes[ss->n];
        s->n_codes = 1;
    }
    ss->p[ss->n] = s;
    ss->n++;
}

static void s_all_scopes(scopes_t *ss)
{
    memset(ss, 0, sizeof *ss);
    for (int c = C_AGENDA; c <= C_MSG; c++) {
        s_scope(ss, c, A_R, NULL);
        s_scope(ss, c, A_W, NULL);
    }
}

/* Add an app whose catalogue entry has every scope. */
static void s_add_app(const char *id)
{
    scopes_t ss;
    s_all_scopes(&ss);
    Espace__V1__Purpose purposes[2] = {ESPACE__V1__PURPOSE__PURPOSE_SOINS,
                                       ESPACE__V1__PURPOSE__PURPOSE_PREVENTION};
    uint8_t key[32];
    memset(key, 7, sizeof key);
    Espace__V1__App a = ESPACE__V1__APP__INIT;
    a.id = (char *)id;
    a.name = "Suivi tension";
    a.publisher = "Éditeur SAS";
    a.description_fr = "Application de suivi de la tension artérielle.";
    a.purposes = purposes;
    a.n_purposes = 2;
    a.scopes = ss.p;
    a.n_scopes = ss.n;
    a.hds = 1;
    a.curve_public_key.data = key;
    a.curve_public_key.len = 32;
    a.terms_url = "https://example.fr/cgu";
    a.privacy_url = "https://example.fr/privacy";
    Espace__V1__AddAppRequest req = ESPACE__V1__ADD_APP_REQUEST__INIT;
    req.app = &a;
    ProtobufCMessage *rep = NULL;
    bus_reply_t r;
    int rc = s_call(K_OP, "", "AddApp", &req.base, &espace__v1__add_app_reply__descriptor, &rep,
                    &r);
    if (rc != 0)
        fprintf(stderr, "AddApp %s: %s %s %s\n", id, es_status_name(rc), r.field, r.message);
    assert_int_equal(rc, 0);
    codec_free(rep);
}

/* Grant as patient `pid`; returns the status, *gid (16 bytes) on success. */
static int s_grant(const char *pid, int gkind, const char *grantee, scopes_t *ss, int64_t end_ms,
                   uint8_t gid[16], bus_reply_t *r)
{
    Espace__V1__Period period = ESPACE__V1__PERIOD__INIT;
    period.end_ms = end_ms;
    Espace__V1__GrantRequest req = ESPACE__V1__GRANT_REQUEST__INIT;
    req.grantee_kind = (Espace__V1__GranteeKind)gkind;
    req.grantee_id = (char *)grantee;
    req.scopes = ss->p;
    req.n_scopes = ss->n;
    req.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    req.period = &period;
    ProtobufCMessage *rep = NULL;
    int rc = s_call(K_PATIENT, pid, "Grant", &req.base, &espace__v1__grant_reply__descriptor, &rep,
                    r);
    if (rc == 0) {
        Espace__V1__GrantReply *g = (Espace__V1__GrantReply *)rep;
        assert_non_null(g->grant);
        assert_int_equal(g->grant->id.len, 16);
        assert_int_equal(g->grant->status, ESPACE__V1__GRANT_STATUS__GRANT_ACTIVE);
        if (gid)
            memcpy(gid, g->grant->id.data, 16);
    }
    codec_free(rep);
    return rc;
}

static void s_revoke(const char *pid, const uint8_t gid[16])
{
    Espace__V1__RevokeGrantRequest req = ESPACE__V1__REVOKE_GRANT_REQUEST__INIT;
    req.grant_id.data = (uint8_t *)gid;
    req.grant_id.len = 16;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(s_call(K_PATIENT, pid, "RevokeGrant", &req.base,
                            &espace__v1__revoke_grant_reply__descriptor, &rep, NULL),
                     0);
    assert_int_equal(((Espace__V1__RevokeGrantReply *)rep)->grant->status,
                     ESPACE__V1__GRANT_STATUS__GRANT_INACTIVE);
    codec_free(rep);
}

/* Decide as service "agenda": 1 allowed, 0 denied (asserts the call works). */
static int s_decide(Espace__V1__PrincipalKind kind, const char *principal, const char *pid,
                    int cat, int act, const char *detail)
{
    who_t acc = s_who(kind, principal);
    acc.c.principal = acc.principal;
    Espace__V1__DecideRequest req = ESPACE__V1__DECIDE_REQUEST__INIT;
    req.accessor = &acc.c;
    req.patient_id = (char *)pid;
    req.category = (Espace__V1__Category)cat;
    req.action = (Espace__V1__Action)act;
    req.detail = (char *)(detail ? detail : "");
    ProtobufCMessage *rep = NULL;
    bus_reply_t r;
    int rc = s_call(K_SVC, "agenda", "Decide", &req.base, &espace__v1__decide_reply__descriptor,
                    &rep, &r);
    if (rc != 0)
        fprintf(stderr, "Decide: %s %s %s\n", es_status_name(rc), r.field, r.message);
    assert_int_equal(rc, 0);
    int allowed = ((Espace__V1__DecideReply *)rep)->allowed ? 1 : 0;
    codec_free(rep);
    return allowed;
}

static size_t s_count_grants(const char *pid)
{
    Espace__V1__ListGrantsRequest req = ESPACE__V1__LIST_GRANTS_REQUEST__INIT;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(s_call(K_PATIENT, pid, "ListGrants", &req.base,
                            &espace__v1__list_grants_reply__descriptor, &rep, NULL),
                     0);
    size_t n = ((Espace__V1__ListGrantsReply *)rep)->n_grants;
    codec_free(rep);
    return n;
}

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
            int got = s_decide(row->kind, row->principal, P1, cat, act, s_detail(cat));
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
    s_all_scopes(&all);
    uint8_t gid[16];
    int64_t now = s_now();

    s_add_app("app.full");
    s_add_app("app.expired");
    s_add_app("app.revoked");
    s_add_app("app.narrow");
    s_add_app("app.none");

    /* professionals */
    assert_int_equal(s_grant(P1, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, "10000000001",
                             &all, 0, NULL, NULL),
                     0);
    assert_int_equal(s_grant(P1, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, "10000000002",
                             &all, now + EMERGENCY_MS, NULL, NULL),
                     0);
    assert_int_equal(s_grant(P1, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, "10000000003",
                             &all, 0, gid, NULL),
                     0);
    s_revoke(P1, gid);
    scopes_t narrow;
    memset(&narrow, 0, sizeof narrow);
    s_scope(&narrow, C_AGENDA, A_R, NULL);
    s_scope(&narrow, C_DOCS, A_R, "11");      /* the matrix asks for class 10 */
    s_scope(&narrow, C_MEAS, A_W, "29463-7"); /* the matrix asks for this one */
    assert_int_equal(s_grant(P1, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, "10000000004",
                             &narrow, 0, NULL, NULL),
                     0);
    /* apps */
    assert_int_equal(
        s_grant(P1, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.full", &all, 0, NULL, NULL), 0);
    assert_int_equal(s_grant(P1, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.expired", &all,
                             now + EMERGENCY_MS, NULL, NULL),
                     0);
    assert_int_equal(
        s_grant(P1, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.revoked", &all, 0, gid, NULL), 0);
    s_revoke(P1, gid);
    scopes_t anarrow;
    memset(&anarrow, 0, sizeof anarrow);
    s_scope(&anarrow, C_MEAS, A_R, "29463-7");
    s_scope(&anarrow, C_AGENDA, A_W, NULL);
    assert_int_equal(s_grant(P1, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.narrow", &anarrow, 0,
                             NULL, NULL),
                     0);
    /* emergency by professional 10000000009 (no grant) */
    Espace__V1__DeclareEmergencyRequest er = ESPACE__V1__DECLARE_EMERGENCY_REQUEST__INIT;
    er.patient_id = (char *)P1;
    er.reason = "Patient inconscient aux urgences";
    ProtobufCMessage *rep = NULL;
    assert_int_equal(s_call(K_PRO, "10000000009", "DeclareEmergency", &er.base,
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
    assert_int_equal(s_decide(K_PRO, "10000000004", P1, C_DOCS, A_R, "11"), 1);
    assert_int_equal(s_decide(K_PRO, "10000000004", P1, C_DOCS, A_R, NULL), 0);
    assert_int_equal(s_decide(K_APP, "app.narrow", P1, C_MEAS, A_R, "8302-2"), 0);

    /* Let the grants and the emergency lapse. */
    for (int i = 0; i < 400 && s_now() <= lapse + 20; i++)
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
    assert_int_equal(s_call(K_OP, "", "WithdrawApp", &wr.base,
                            &espace__v1__withdraw_app_reply__descriptor, &rep, NULL),
                     0);
    codec_free(rep);
    const row_t withdrawn = {"app, withdrawn", K_APP, "app.full", NONE};
    s_check_row(&withdrawn);

    /* ListGrants shows the expired ones as inactive/expired. */
    Espace__V1__ListGrantsRequest lr = ESPACE__V1__LIST_GRANTS_REQUEST__INIT;
    assert_int_equal(s_call(K_PRO, "10000000002", "ListGrants", &lr.base,
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
    s_all_scopes(&all);
    uint8_t gid[16];
    assert_int_equal(s_grant(pid, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, "20000000001",
                             &all, 0, gid, NULL),
                     0);
    assert_int_equal(s_decide(K_PRO, "20000000001", pid, C_DOCS, A_R, "10"), 1);
    s_revoke(pid, gid);
    assert_int_equal(s_decide(K_PRO, "20000000001", pid, C_DOCS, A_R, "10"), 0);

    /* Pipelined: RevokeGrant and Decide sent back to back, no wait. */
    assert_int_equal(s_grant(pid, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, "20000000001",
                             &all, 0, gid, NULL),
                     0);
    who_t pat = s_who(K_PATIENT, pid), svc = s_who(K_SVC, "agenda"),
          acc = s_who(K_PRO, "20000000001");
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

/* ------------------------------------------------------------ the trail */

static const char P4[] = "44444444444444444444444444444444";

static void test_audit_trail(void **state)
{
    (void)state;
    scopes_t ss;
    memset(&ss, 0, sizeof ss);
    s_scope(&ss, C_MEAS, A_R, NULL);
    assert_int_equal(s_grant(P4, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL, "30000000001",
                             &ss, 0, NULL, NULL),
                     0);
    /* 1 allowed, 2 denied, and the patient's own access (not in the trail). */
    assert_int_equal(s_decide(K_PRO, "30000000001", P4, C_MEAS, A_R, "29463-7"), 1);
    assert_int_equal(s_decide(K_PRO, "30000000001", P4, C_MEAS, A_W, "29463-7"), 0);
    assert_int_equal(s_decide(K_PRO, "30000000002", P4, C_DOCS, A_R, "10"), 0);
    assert_int_equal(s_decide(K_PATIENT, P4, P4, C_DOCS, A_R, NULL), 1);

    Espace__V1__ReadAuditRequest rq = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(s_call(K_PATIENT, P4, "ReadAudit", &rq.base,
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
    assert_int_equal(s_call(K_PATIENT, P4, "ReadAudit", &rq.base,
                            &espace__v1__read_audit_reply__descriptor, &rep, NULL),
                     0);
    a = (Espace__V1__ReadAuditReply *)rep;
    assert_int_equal(a->n_entries, 2);
    assert_int_equal(a->next_before_seq, 2);
    rq.before_seq = a->next_before_seq;
    codec_free(rep);
    assert_int_equal(s_call(K_PATIENT, P4, "ReadAudit", &rq.base,
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
    assert_int_equal(s_call(K_PRO, "30000000001", "ReadAudit", &rq.base,
                            &espace__v1__read_audit_reply__descriptor, &rep, &r),
                     ES_PERMISSION_DENIED);
    assert_int_equal(s_call(K_PATIENT, P2, "ReadAudit", &rq.base,
                            &espace__v1__read_audit_reply__descriptor, &rep, NULL),
                     0);
    assert_int_equal(((Espace__V1__ReadAuditReply *)rep)->n_entries, 0);
    codec_free(rep);

    /* Decide is for services only. */
    who_t acc = s_who(K_PRO, "30000000001");
    acc.c.principal = acc.principal;
    Espace__V1__DecideRequest dr = ESPACE__V1__DECIDE_REQUEST__INIT;
    dr.accessor = &acc.c;
    dr.patient_id = (char *)P4;
    dr.category = C_MEAS;
    dr.action = A_R;
    assert_int_equal(s_call(K_PRO, "30000000001", "Decide", &dr.base,
                            &espace__v1__decide_reply__descriptor, &rep, &r),
                     ES_PERMISSION_DENIED);
    dr.category = 0;
    assert_int_equal(s_call(K_SVC, "agenda", "Decide", &dr.base,
                            &espace__v1__decide_reply__descriptor, &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "category");

    /* FHIR export of the trail. */
    Espace__V1__ExportAuditFhirRequest xr = ESPACE__V1__EXPORT_AUDIT_FHIR_REQUEST__INIT;
    assert_int_equal(s_call(K_PATIENT, P4, "ExportAuditFhir", &xr.base,
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
    assert_int_equal(s_call(K_OP, "", "VerifyAudit", &vr.base,
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
    assert_int_equal(s_call(K_PATIENT, P4, "VerifyAudit", &vr.base,
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
    s_consent_restart();

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

/* ------------------------------------------------------------ bad input */

static void test_bad_input(void **state)
{
    (void)state;
    const char *px = "55555555555555555555555555555555";
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    scopes_t ss;
    memset(&ss, 0, sizeof ss);
    s_scope(&ss, C_AGENDA, A_R, NULL);

    /* unknown app */
    assert_int_equal(
        s_grant(px, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.nowhere", &ss, 0, NULL, &r),
        ES_NOT_FOUND);
    assert_string_equal(r.field, "grantee_id");

    /* scope outside the catalogue entry */
    Espace__V1__Purpose pur = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    uint8_t key[32];
    memset(key, 9, sizeof key);
    scopes_t cat;
    memset(&cat, 0, sizeof cat);
    s_scope(&cat, C_AGENDA, A_R, NULL);
    s_scope(&cat, C_MEAS, A_R, "29463-7");
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
    assert_int_equal(s_call(K_PATIENT, px, "AddApp", &ar.base,
                            &espace__v1__add_app_reply__descriptor, &rep, &r),
                     ES_PERMISSION_DENIED);
    assert_int_equal(s_call(K_OP, "", "AddApp", &ar.base, &espace__v1__add_app_reply__descriptor,
                            &rep, &r),
                     0);
    codec_free(rep);
    assert_int_equal(s_call(K_OP, "", "AddApp", &ar.base, &espace__v1__add_app_reply__descriptor,
                            &rep, &r),
                     ES_ALREADY_EXISTS);
    assert_string_equal(r.field, "app.id");
    a.id = "app.bad";
    a.curve_public_key.len = 31;
    assert_int_equal(s_call(K_OP, "", "AddApp", &ar.base, &espace__v1__add_app_reply__descriptor,
                            &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "app.curve_public_key");

    scopes_t out;
    memset(&out, 0, sizeof out);
    s_scope(&out, C_AGENDA, A_R, NULL);
    s_scope(&out, C_DOCS, A_R, NULL);
    assert_int_equal(
        s_grant(px, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.small", &out, 0, NULL, &r),
        ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "scopes[1]");
    memset(&out, 0, sizeof out);
    s_scope(&out, C_MEAS, A_R, "8302-2"); /* catalogue allows only 29463-7 */
    assert_int_equal(
        s_grant(px, ESPACE__V1__GRANTEE_KIND__GRANTEE_APP, "app.small", &out, 0, NULL, &r),
        ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "scopes[0].codes[0]");

    /* period ending before it starts */
    Espace__V1__Period period = ESPACE__V1__PERIOD__INIT;
    period.start_ms = s_now() + 100000;
    period.end_ms = s_now() + 50000;
    Espace__V1__GrantRequest gr = ESPACE__V1__GRANT_REQUEST__INIT;
    gr.grantee_kind = ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL;
    gr.grantee_id = "40000000001";
    gr.scopes = ss.p;
    gr.n_scopes = ss.n;
    gr.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    gr.period = &period;
    assert_int_equal(s_call(K_PATIENT, px, "Grant", &gr.base,
                            &espace__v1__grant_reply__descriptor, &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "period.end_ms");

    /* a patient granting on someone else's behalf */
    gr.period = NULL;
    gr.patient_id = (char *)P2;
    assert_int_equal(s_call(K_PATIENT, px, "Grant", &gr.base,
                            &espace__v1__grant_reply__descriptor, &rep, &r),
                     ES_PERMISSION_DENIED);
    assert_string_equal(r.field, "patient_id");
    gr.patient_id = "";
    /* a professional granting */
    assert_int_equal(s_call(K_PRO, "40000000001", "Grant", &gr.base,
                            &espace__v1__grant_reply__descriptor, &rep, &r),
                     ES_PERMISSION_DENIED);
    /* malformed RPPS, unknown purpose, codes on agenda */
    gr.grantee_id = "4000000000";
    assert_int_equal(s_call(K_PATIENT, px, "Grant", &gr.base,
                            &espace__v1__grant_reply__descriptor, &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "grantee_id");
    gr.grantee_id = "40000000001";
    gr.purpose = 0;
    assert_int_equal(s_call(K_PATIENT, px, "Grant", &gr.base,
                            &espace__v1__grant_reply__descriptor, &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "purpose");
    gr.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    scopes_t bad;
    memset(&bad, 0, sizeof bad);
    s_scope(&bad, C_AGENDA, A_R, "10");
    gr.scopes = bad.p;
    gr.n_scopes = bad.n;
    assert_int_equal(s_call(K_PATIENT, px, "Grant", &gr.base,
                            &espace__v1__grant_reply__descriptor, &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "scopes[0].codes");

    /* malformed body: a varint where GrantRequest has a string */
    Espace__V1__ReadAuditRequest junk = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    junk.before_seq = 7;
    assert_int_equal(s_call(K_PATIENT, px, "Grant", &junk.base,
                            &espace__v1__grant_reply__descriptor, &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "body");

    /* Nothing was stored. */
    assert_int_equal(s_count_grants(px), 0);
}

/* ------------------------------------------------- requests, emergency */

static void test_request_and_emergency(void **state)
{
    (void)state;
    const char *pid = "66666666666666666666666666666666";
    scopes_t ss;
    memset(&ss, 0, sizeof ss);
    s_scope(&ss, C_DOCS, A_R, "10");
    Espace__V1__RequestAccessRequest rq = ESPACE__V1__REQUEST_ACCESS_REQUEST__INIT;
    rq.patient_id = (char *)pid;
    rq.scopes = ss.p;
    rq.n_scopes = ss.n;
    rq.purpose = ESPACE__V1__PURPOSE__PURPOSE_SOINS;
    rq.reason = "Suivi post-opératoire";
    ProtobufCMessage *rep = NULL;
    bus_reply_t r;
    assert_int_equal(s_call(K_PRO, "50000000001", "RequestAccess", &rq.base,
                            &espace__v1__request_access_reply__descriptor, &rep, &r),
                     0);
    Espace__V1__Grant *g = ((Espace__V1__RequestAccessReply *)rep)->grant;
    assert_int_equal(g->status, ESPACE__V1__GRANT_STATUS__GRANT_PROPOSED);
    uint8_t gid[16];
    memcpy(gid, g->id.data, 16);
    codec_free(rep);
    /* a second pending request is refused; a proposal allows nothing */
    assert_int_equal(s_call(K_PRO, "50000000001", "RequestAccess", &rq.base,
                            &espace__v1__request_access_reply__descriptor, &rep, &r),
                     ES_ALREADY_EXISTS);
    assert_int_equal(s_decide(K_PRO, "50000000001", pid, C_DOCS, A_R, "10"), 0);
    /* the professional sees it */
    Espace__V1__ListGrantsRequest lr = ESPACE__V1__LIST_GRANTS_REQUEST__INIT;
    lr.patient_id = (char *)pid;
    assert_int_equal(s_call(K_PRO, "50000000001", "ListGrants", &lr.base,
                            &espace__v1__list_grants_reply__descriptor, &rep, NULL),
                     0);
    assert_int_equal(((Espace__V1__ListGrantsReply *)rep)->n_grants, 1);
    codec_free(rep);
    /* another patient cannot answer it */
    Espace__V1__AnswerRequestRequest an = ESPACE__V1__ANSWER_REQUEST_REQUEST__INIT;
    an.grant_id.data = gid;
    an.grant_id.len = 16;
    an.accept = 1;
    assert_int_equal(s_call(K_PATIENT, P2, "AnswerRequest", &an.base,
                            &espace__v1__answer_request_reply__descriptor, &rep, &r),
                     ES_NOT_FOUND);
    assert_int_equal(s_call(K_PATIENT, pid, "AnswerRequest", &an.base,
                            &espace__v1__answer_request_reply__descriptor, &rep, &r),
                     0);
    assert_int_equal(((Espace__V1__AnswerRequestReply *)rep)->grant->status,
                     ESPACE__V1__GRANT_STATUS__GRANT_ACTIVE);
    codec_free(rep);
    assert_int_equal(s_call(K_PATIENT, pid, "AnswerRequest", &an.base,
                            &espace__v1__answer_request_reply__descriptor, &rep, &r),
                     ES_FAILED_PRECONDITION);
    assert_int_equal(s_decide(K_PRO, "50000000001", pid, C_DOCS, A_R, "10"), 1);

    /* FHIR Consent of the grant, for the patient and the grantee only. */
    Espace__V1__ExportGrantFhirRequest xr = ESPACE__V1__EXPORT_GRANT_FHIR_REQUEST__INIT;
    xr.grant_id.data = gid;
    xr.grant_id.len = 16;
    assert_int_equal(s_call(K_PRO, "50000000001", "ExportGrantFhir", &xr.base,
                            &espace__v1__export_grant_fhir_reply__descriptor, &rep, NULL),
                     0);
    codec_free(rep);
    assert_int_equal(s_call(K_PRO, "50000000002", "ExportGrantFhir", &xr.base,
                            &espace__v1__export_grant_fhir_reply__descriptor, &rep, &r),
                     ES_NOT_FOUND);
    assert_int_equal(s_call(K_PATIENT, pid, "ExportGrantFhir", &xr.base,
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
    assert_int_equal(s_call(K_PRO, "50000000009", "DeclareEmergency", &er.base,
                            &espace__v1__declare_emergency_reply__descriptor, &rep, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "reason");
    assert_int_equal(s_call(K_PATIENT, pid, "DeclareEmergency", &er.base,
                            &espace__v1__declare_emergency_reply__descriptor, &rep, &r),
                     ES_PERMISSION_DENIED);
    er.reason = "Arrêt cardiaque";
    assert_int_equal(s_call(K_PRO, "50000000009", "DeclareEmergency", &er.base,
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
    assert_true(ed->until_ms > s_now());
    codec_free(body);
    codec_free(&ev->base);
    bus_sub_destroy(&sub);
    /* The declaration is in the trail, as ETREAT. */
    Espace__V1__ReadAuditRequest ra = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    ra.limit = 1;
    assert_int_equal(s_call(K_PATIENT, pid, "ReadAudit", &ra.base,
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
    s_add_app("app.listed");
    Espace__V1__GetAppRequest gr = ESPACE__V1__GET_APP_REQUEST__INIT;
    gr.app_id = "app.listed";
    ProtobufCMessage *rep = NULL;
    bus_reply_t r;
    assert_int_equal(s_call(K_PATIENT, P1, "GetApp", &gr.base,
                            &espace__v1__get_app_reply__descriptor, &rep, NULL),
                     0);
    Espace__V1__App *a = ((Espace__V1__GetAppReply *)rep)->app;
    assert_string_equal(a->publisher, "Éditeur SAS");
    assert_int_equal(a->n_scopes, 8);
    assert_false(a->withdrawn);
    assert_true(a->added_ms > 0);
    codec_free(rep);
    gr.app_id = "app.absent";
    assert_int_equal(s_call(K_PRO, "10000000001", "GetApp", &gr.base,
                            &espace__v1__get_app_reply__descriptor, &rep, &r),
                     ES_NOT_FOUND);
    assert_string_equal(r.field, "app_id");
    /* anonymous callers get nothing */
    assert_int_equal(s_call(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_NONE, "", "GetApp", &gr.base,
                            &espace__v1__get_app_reply__descriptor, &rep, &r),
                     ES_UNAUTHENTICATED);
    Espace__V1__ListAppsRequest lr = ESPACE__V1__LIST_APPS_REQUEST__INIT;
    assert_int_equal(s_call(K_APP, "app.listed", "ListApps", &lr.base,
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
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_revoke_next_decide),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_request_and_emergency),
        cmocka_unit_test(test_catalogue_read),
        cmocka_unit_test(test_audit_trail),
        cmocka_unit_test(test_audit_tamper),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
