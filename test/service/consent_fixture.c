/* consent_fixture.c - see consent_fixture.h. */
#include "test/service/consent_fixture.h"
#include "test/service/consent_requests.h"

/* ---------------------------------------------------------------- fixture */

fix_t F;

/* Once its ready byte is written, wait until the broker routes to consent
 * (bounded). */
int cf_wait_consent(void)
{
    Espace__V1__Caller op = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "");
    Espace__V1__ListAppsRequest req = ESPACE__V1__LIST_APPS_REQUEST__INIT;
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    return h_call_served(F.cl, CONSENT_SERVICE, "ListApps", &req.base,
                         &espace__v1__list_apps_reply__descriptor, 1000, &op, NULL, &r);
}

int cf_setup(void **state)
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
    if (cf_wait_consent() != 0)
        return -1;
    /* The matrix patients exist (identity would register them). */
    return cf_register(P1) == 0 && cf_register(P2) == 0 ? 0 : -1;
}

/* RegisterPatient pid as the service "identity"; returns the status. */
int cf_register(const char *pid)
{
    Espace__V1__RegisterPatientRequest req = ESPACE__V1__REGISTER_PATIENT_REQUEST__INIT;
    req.patient_id = (char *)pid;
    return cf_call(K_SVC, "identity", "RegisterPatient", &req.base, NULL, NULL, NULL);
}

int cf_teardown(void **state)
{
    (void)state;
    bus_client_destroy(&F.cl);
    h_svc_stop(&F.consent);
    h_teardown(&F.h);
    return 0;
}

/* Restart consent with fresh pipes (after h_svc_stop). */
void cf_consent_restart(void)
{
    assert_int_equal(h_svc_start(&F.h, &F.consent, &consent_service), 0);
    assert_int_equal(cf_wait_consent(), 0);
}

/* ------------------------------------------------------------ principals */

who_t cf_who(Espace__V1__PrincipalKind kind, const char *principal)
{
    who_t w;
    espace__v1__caller__init(&w.c);
    w.c.kind = kind;
    snprintf(w.principal, sizeof w.principal, "%s", principal);
    w.c.peer_role = ESPACE__V1__PEER_ROLE__PEER_LOCAL;
    return w;
}

/* Call consent as `kind`/`principal`; returns the status. */
int cf_call(Espace__V1__PrincipalKind kind, const char *principal, const char *method,
                  const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rdesc,
                  ProtobufCMessage **rep, bus_reply_t *r)
{
    who_t w = cf_who(kind, principal);
    w.c.principal = w.principal;
    bus_reply_t tmp;
    memset(&tmp, 0, sizeof tmp);
    return bus_call(F.cl, CONSENT_SERVICE, method, req, rdesc, CALL_MS, &w.c, rep, r ? r : &tmp);
}

const char P1[] = "11111111111111111111111111111111"; /* matrix patient */
const char P2[] = "22222222222222222222222222222222"; /* another patient */

int64_t cf_now(void)
{
    return bus_wall_ms();
}

/* Scope helpers: up to 8 scopes with up to 2 codes each. */

void cf_scope(scopes_t *ss, int cat, int act, const char *code)
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

void cf_all_scopes(scopes_t *ss)
{
    memset(ss, 0, sizeof *ss);
    for (int c = C_AGENDA; c <= C_MSG; c++) {
        cf_scope(ss, c, A_R, NULL);
        cf_scope(ss, c, A_W, NULL);
    }
}

/* Add an app whose catalogue entry has every scope. */
void cf_add_app(const char *id)
{
    scopes_t ss;
    cf_all_scopes(&ss);
    Espace__V1__Purpose purposes[2] = {ESPACE__V1__PURPOSE__PURPOSE_SOINS,
                                       ESPACE__V1__PURPOSE__PURPOSE_PREVENTION};
    cr_app_t a;
    cr_app_init(&a, id, 7);
    a.app.name = "Suivi tension";
    a.app.publisher = "Éditeur SAS";
    a.app.description_fr = "Application de suivi de la tension artérielle.";
    a.app.purposes = purposes;
    a.app.n_purposes = 2;
    a.app.scopes = ss.p;
    a.app.n_scopes = ss.n;
    a.app.hds = 1;
    ProtobufCMessage *rep = NULL;
    bus_reply_t r;
    int rc = cf_call(K_OP, "", "AddApp", &a.req.base, &espace__v1__add_app_reply__descriptor, &rep,
                    &r);
    if (rc != 0)
        fprintf(stderr, "AddApp %s: %s %s %s\n", id, es_status_name(rc), r.field, r.message);
    assert_int_equal(rc, 0);
    codec_free(rep);
}

/* Grant as patient `pid`; returns the status, *gid (16 bytes) on success. */
int cf_grant(const char *pid, int gkind, const char *grantee, scopes_t *ss, int64_t end_ms,
                   uint8_t gid[16], bus_reply_t *r)
{
    Espace__V1__Period period = ESPACE__V1__PERIOD__INIT;
    period.end_ms = end_ms;
    Espace__V1__GrantRequest req;
    cr_grant(&req, gkind, grantee, ss->p, ss->n, &period);
    ProtobufCMessage *rep = NULL;
    int rc = cf_call(K_PATIENT, pid, "Grant", &req.base, &espace__v1__grant_reply__descriptor, &rep,
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

void cf_revoke(const char *pid, const uint8_t gid[16])
{
    Espace__V1__RevokeGrantRequest req;
    cr_revoke(&req, gid);
    ProtobufCMessage *rep = NULL;
    assert_int_equal(cf_call(K_PATIENT, pid, "RevokeGrant", &req.base,
                            &espace__v1__revoke_grant_reply__descriptor, &rep, NULL),
                     0);
    assert_int_equal(((Espace__V1__RevokeGrantReply *)rep)->grant->status,
                     ESPACE__V1__GRANT_STATUS__GRANT_INACTIVE);
    codec_free(rep);
}

/* Decide as service "agenda": 1 allowed, 0 denied (asserts the call works). */
int cf_decide(Espace__V1__PrincipalKind kind, const char *principal, const char *pid,
                    int cat, int act, const char *detail)
{
    who_t acc = cf_who(kind, principal);
    acc.c.principal = acc.principal;
    Espace__V1__DecideRequest req = ESPACE__V1__DECIDE_REQUEST__INIT;
    req.accessor = &acc.c;
    req.patient_id = (char *)pid;
    req.category = (Espace__V1__Category)cat;
    req.action = (Espace__V1__Action)act;
    req.detail = (char *)(detail ? detail : "");
    ProtobufCMessage *rep = NULL;
    bus_reply_t r;
    int rc = cf_call(K_SVC, "agenda", "Decide", &req.base, &espace__v1__decide_reply__descriptor,
                    &rep, &r);
    if (rc != 0)
        fprintf(stderr, "Decide: %s %s %s\n", es_status_name(rc), r.field, r.message);
    assert_int_equal(rc, 0);
    int allowed = ((Espace__V1__DecideReply *)rep)->allowed ? 1 : 0;
    codec_free(rep);
    return allowed;
}

size_t cf_count_grants(const char *pid)
{
    Espace__V1__ListGrantsRequest req = ESPACE__V1__LIST_GRANTS_REQUEST__INIT;
    ProtobufCMessage *rep = NULL;
    assert_int_equal(cf_call(K_PATIENT, pid, "ListGrants", &req.base,
                            &espace__v1__list_grants_reply__descriptor, &rep, NULL),
                     0);
    size_t n = ((Espace__V1__ListGrantsReply *)rep)->n_grants;
    codec_free(rep);
    return n;
}
