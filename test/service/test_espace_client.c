/* test_espace_client.c - libespace (clients/lib/espace.h): argument checks,
 * keypair handling, "no answer" errors, a real login/whoami/logout against
 * a broker and the identity service running in threads (ipc), and the typed
 * calls of the identity, consent and agenda services against the live
 * services (the operator and the patient over ipc, a professional logged
 * in). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <sodium.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "test/harness/harness.h"
#include "bus/codec.h"
#include "clients/lib/espace.h"
#include "clients/lib/rpc.h"
#include "proto/ids.h"
#include "services/agenda/agenda.h"
#include "services/consent/consent.h"
#include "services/identity/identity.h"
#include "espace/v1/identity.pb-c.h"
#include "runtime/service.h"
#include "proto/status.h"

static char s_dir[64];

static int s_setup(void **state)
{
    (void)state;
    return h_mkdtemp(s_dir, "es-client-");
}

static int s_teardown(void **state)
{
    (void)state;
    return h_rmtree(s_dir);
}

static void test_open_bad_args(void **state)
{
    (void)state;
    espace_t *e = (espace_t *)1;
    assert_int_equal(espace_open(NULL, &e), ES_INVALID_ARGUMENT);
    espace_opts_t o = {.endpoint = "http://x"};
    assert_int_equal(espace_open(&o, &e), ES_INVALID_ARGUMENT);
    assert_null(e);
    o.endpoint = "tcp://127.0.0.1:1";
    assert_int_equal(espace_open(&o, &e), ES_INVALID_ARGUMENT); /* no key */
    o.broker_key = "not-a-key";
    o.keypair_path = "/nonexistent/k";
    assert_int_equal(espace_open(&o, &e), ES_INVALID_ARGUMENT);
    assert_null(e);
    espace_close(&e); /* NULL: no-op */
    espace_close(NULL);
    /* acting as someone: ipc only, with a principal */
    espace_opts_t as = {.endpoint = "tcp://127.0.0.1:1", .broker_key = o.broker_key,
                        .keypair_path = o.keypair_path, .as_kind = 4, .as_principal = "operator"};
    assert_int_equal(espace_open(&as, &e), ES_INVALID_ARGUMENT);
    as.endpoint = "ipc:///nonexistent/x.ipc";
    as.as_principal = NULL;
    assert_int_equal(espace_open(&as, &e), ES_INVALID_ARGUMENT);
    assert_null(e);
}

static void test_keypair(void **state)
{
    (void)state;
    uint8_t pk[32], sk[32];
    char bkey[BUS_KEY_Z85], path[128], pub[140];
    struct stat st;
    snprintf(path, sizeof path, "%s/broker.key", s_dir);
    assert_int_equal(bus_keypair_load(path, 1, pk, sk), 0);
    bus_key_z85(pk, bkey);
    snprintf(path, sizeof path, "%s/pro.key", s_dir);
    espace_opts_t o = {.endpoint = "tcp://127.0.0.1:1", .broker_key = bkey, .keypair_path = path};
    espace_t *e = NULL;
    assert_int_equal(espace_open(&o, &e), ES_NOT_FOUND);
    assert_null(e);
    o.create_keypair = 1;
    assert_int_equal(espace_open(&o, &e), 0);
    assert_non_null(e);
    assert_string_equal(espace_endpoint(e), "tcp://127.0.0.1:1");
    espace_close(&e);
    assert_null(e);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(pub, sizeof pub, "%s.pub", path);
    assert_int_equal(access(pub, F_OK), 0);
    o.create_keypair = 0; /* now it exists */
    assert_int_equal(espace_open(&o, &e), 0);
    espace_close(&e);
}

/* Nothing listens: every call ends UNAVAILABLE within about the timeout. */
static void test_no_answer(void **state)
{
    (void)state;
    char ep[128];
    snprintf(ep, sizeof ep, "ipc://%s/nobody.ipc", s_dir);
    espace_opts_t o = {.endpoint = ep, .timeout_ms = 300};
    espace_t *e = NULL;
    espace_error_t err;
    espace_whoami_t w;
    espace_session_t s;
    assert_int_equal(espace_open(&o, &e), 0);
    int64_t t0 = bus_mono_ms();
    assert_int_equal(espace_whoami(e, &w, &err), ES_UNAVAILABLE);
    assert_int_equal(err.status, ES_UNAVAILABLE);
    assert_non_null(strstr(err.message, "no answer from ipc://"));
    assert_true(bus_mono_ms() - t0 < 3000);
    assert_int_equal(espace_resume(e, "abc", &err), ES_UNAVAILABLE);
    assert_int_equal(espace_resume(e, "", &err), ES_INVALID_ARGUMENT);
    assert_string_equal(err.field, "token");
    assert_int_equal(espace_login_pro(e, "10001234567", "x", NULL, &s, &err), ES_UNAVAILABLE);
    assert_int_equal(espace_login_pro(e, NULL, "x", NULL, &s, &err), ES_INVALID_ARGUMENT);
    ProtobufCMessage *m = (ProtobufCMessage *)1;
    assert_int_equal(espace_call(e, "identity", "WhoAmI", NULL, NULL, &m, &err),
                     ES_INVALID_ARGUMENT);
    assert_null(m);
    espace_close(&e);

    /* tcp: a port nobody listens on */
    uint8_t pk[32], sk[32];
    char bkey[BUS_KEY_Z85], path[128];
    snprintf(path, sizeof path, "%s/b2.key", s_dir);
    assert_int_equal(bus_keypair_load(path, 1, pk, sk), 0);
    bus_key_z85(pk, bkey);
    snprintf(path, sizeof path, "%s/p2.key", s_dir);
    espace_opts_t t = {.endpoint = "tcp://127.0.0.1:9", .broker_key = bkey,
                       .keypair_path = path, .create_keypair = 1, .timeout_ms = 300};
    assert_int_equal(espace_open(&t, &e), 0);
    assert_int_equal(espace_whoami(e, &w, &err), ES_UNAVAILABLE);
    assert_non_null(strstr(err.message, "is the key registered?"));
    espace_close(&e);
}

/* ---- against a real broker + identity (ipc) ---- */

static void s_create_pro(harness_t *h, const char *rpps, const char *pw)
{
    bus_client_t *c = NULL;
    assert_int_equal(h_client(h, &c), 0);
    Espace__V1__Caller op = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "operator");
    Espace__V1__CreateProfessionalRequest req = ESPACE__V1__CREATE_PROFESSIONAL_REQUEST__INIT;
    req.rpps = (char *)rpps;
    req.last_name = (char *)"Martin";
    req.first_name = (char *)"Claire";
    req.profession = (char *)"Infirmière";
    req.password = (char *)pw;
    ProtobufCMessage *r = NULL;
    bus_reply_t br;
    memset(&br, 0, sizeof br);
    /* the worker's READY may still be on its way to the broker */
    int rc = h_call_served(c, "identity", "CreateProfessional", &req.base,
                           &espace__v1__create_professional_reply__descriptor, 5000, &op, &r,
                           &br);
    if (rc)
        fprintf(stderr, "create-pro: %s %s %s\n", es_status_name(rc), br.message, br.field);
    assert_int_equal(rc, 0);
    codec_free(r);
    bus_client_destroy(&c);
}

static void test_login_flow(void **state)
{
    (void)state;
    setenv("ESPACE_PWHASH", "min", 1);
    harness_t h;
    h_svc_t s;
    assert_int_equal(h_setup(&h, 0), 0);
    h.hb = 200;
    assert_int_equal(h_broker_start(&h), 0);
    assert_int_equal(h_svc_start(&h, &s, &identity_service), 0);

    const char *pw = "correct horse battery staple";
    s_create_pro(&h, "10001234567", pw);

    espace_opts_t o = {.endpoint = h.req_ipc, .timeout_ms = 3000};
    espace_t *e = NULL;
    espace_error_t err;
    espace_session_t ses;
    espace_whoami_t w;
    assert_int_equal(espace_open(&o, &e), 0);
    /* no session yet */
    assert_int_equal(espace_whoami(e, &w, &err), ES_UNAUTHENTICATED);
    assert_int_equal(err.status, ES_UNAUTHENTICATED);
    /* wrong password */
    assert_int_equal(espace_login_pro(e, "10001234567", "wrong password here", "pc", &ses, &err),
                     ES_UNAUTHENTICATED);
    /* bad token */
    assert_int_equal(espace_resume(e, "AAAA", &err), ES_UNAUTHENTICATED);
    /* unknown method, generic call */
    ProtobufCMessage *m = NULL;
    assert_int_equal(espace_call(e, "identity", "NoSuchMethod", NULL,
                                 &espace__v1__logout_reply__descriptor, &m, &err),
                     ES_UNIMPLEMENTED);
    assert_null(m);
    /* no such service */
    assert_int_equal(espace_call(e, "nosuch", "X", NULL, &espace__v1__logout_reply__descriptor,
                                 &m, &err),
                     ES_UNAVAILABLE);
    /* login */
    assert_int_equal(espace_login_pro(e, "10001234567", pw, "pc", &ses, &err), 0);
    assert_string_equal(ses.principal, "10001234567");
    assert_true(ses.expires_ms > bus_wall_ms());
    assert_true(strlen(ses.token) > 40);
    assert_int_equal(espace_whoami(e, &w, &err), 0);
    assert_string_equal(w.principal, "10001234567");
    assert_int_equal(w.kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL);
    assert_string_equal(w.display_name, "Claire Martin");
    assert_string_equal(w.profession, "Infirmière");
    espace_close(&e);

    /* resume on a new connection, then logout */
    assert_int_equal(espace_open(&o, &e), 0);
    assert_int_equal(espace_resume(e, ses.token, &err), 0);
    assert_int_equal(espace_whoami(e, &w, &err), 0);
    assert_int_equal(espace_logout(e, &err), 0);
    espace_close(&e);
    /* the token is dead */
    assert_int_equal(espace_open(&o, &e), 0);
    assert_int_equal(espace_resume(e, ses.token, &err), ES_UNAUTHENTICATED);
    espace_close(&e);

    assert_int_equal(h_svc_stop(&s), 0);
    assert_int_equal(h_teardown(&h), 0);
}

/* ---- typed calls against identity, consent and agenda (ipc) ---- */

#define T_RPPS "10001234567"
#define T_PW "correct horse battery staple"

typedef struct live {
    harness_t h;
    h_svc_t identity, consent, agenda;
    espace_t *op;      /* the operator */
    espace_t *patient; /* the patient, named over ipc */
    espace_t *pro;     /* the professional, logged in */
    char pid[ESPACE_PATIENT_ID_MAX];
} live_t;

static espace_t *s_open_as(live_t *l, int kind, const char *principal)
{
    espace_opts_t o = {.endpoint = l->h.req_ipc, .timeout_ms = 3000, .as_kind = kind,
                       .as_principal = principal};
    espace_t *e = NULL;
    assert_int_equal(espace_open(&o, &e), 0);
    return e;
}

static void s_live_start(live_t *l)
{
    setenv("ESPACE_PWHASH", "min", 1);
    memset(l, 0, sizeof *l);
    assert_int_equal(h_setup(&l->h, 0), 0);
    l->h.hb = 200;
    assert_int_equal(h_broker_start(&l->h), 0);
    assert_int_equal(h_svc_start(&l->h, &l->identity, &identity_service), 0);
    assert_int_equal(h_svc_start(&l->h, &l->consent, &consent_service), 0);
    assert_int_equal(h_svc_start(&l->h, &l->agenda, &agenda_service), 0);
    l->op = s_open_as(l, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR, "operator");
    /* wait until the broker routes to each service (bounded) */
    espace_error_t err;
    int rc = ES_UNAVAILABLE;
    for (int i = 0; i < 200 && rc == ES_UNAVAILABLE; i++) {
        rc = espace_consent_list_apps(l->op, 0, NULL, &err);
        if (rc == ES_UNAVAILABLE)
            h_sleep_ms(25);
    }
    assert_int_equal(rc, 0);
    rc = ES_UNAVAILABLE;
    for (int i = 0; i < 200 && rc == ES_UNAVAILABLE; i++) {
        rc = espace_agenda_list_changes(l->op, "", 0, 0, NULL, &err);
        if (rc == ES_UNAVAILABLE)
            h_sleep_ms(25);
    }
    assert_int_not_equal(rc, ES_UNAVAILABLE);
    /* the professional, created by the operator through libespace */
    espace_professional_t p = {.rpps = T_RPPS, .last_name = "Martin", .first_name = "Claire",
                               .profession = "Médecin"};
    Espace__V1__CreateProfessionalReply *cr = NULL;
    rc = ES_UNAVAILABLE;
    for (int i = 0; i < 200 && rc == ES_UNAVAILABLE; i++) {
        rc = espace_identity_create_professional(l->op, &p, T_PW, &cr, &err);
        if (rc == ES_UNAVAILABLE)
            h_sleep_ms(25);
    }
    assert_int_equal(rc, 0);
    assert_string_equal(cr->rpps, T_RPPS);
    espace_free(&cr->base);
    assert_int_equal(espace_identity_create_professional(l->op, &p, T_PW, NULL, &err),
                     ES_ALREADY_EXISTS);
    p.rpps = "123";
    assert_int_equal(espace_identity_create_professional(l->op, &p, T_PW, NULL, &err),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(err.field, "rpps");
    /* a patient: consent knows the ids identity registers (activation) */
    uint8_t raw[ID_BYTES];
    randombytes_buf(raw, sizeof raw);
    id_hex(raw, l->pid);
    bus_client_t *svc = NULL;
    assert_int_equal(h_client(&l->h, &svc), 0);
    Espace__V1__RegisterPatientRequest reg = ESPACE__V1__REGISTER_PATIENT_REQUEST__INIT;
    reg.patient_id = l->pid;
    Espace__V1__Caller idc = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE, "identity");
    bus_reply_t rr;
    assert_int_equal(h_call_served(svc, SERVICE_CONSENT, "RegisterPatient", &reg.base, NULL,
                                   3000, &idc, NULL, &rr),
                     0);
    bus_client_destroy(&svc);
    l->patient = s_open_as(l, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT, l->pid);
    espace_opts_t po = {.endpoint = l->h.req_ipc, .timeout_ms = 3000};
    espace_session_t ses;
    assert_int_equal(espace_open(&po, &l->pro), 0);
    assert_string_equal(espace_principal(l->pro), "");
    assert_int_equal(espace_login_pro(l->pro, T_RPPS, T_PW, "test", &ses, &err), 0);
    assert_string_equal(espace_principal(l->pro), T_RPPS);
}

static void s_live_stop(live_t *l)
{
    espace_close(&l->pro);
    espace_close(&l->patient);
    espace_close(&l->op);
    assert_int_equal(h_svc_stop(&l->agenda), 0);
    assert_int_equal(h_svc_stop(&l->consent), 0);
    assert_int_equal(h_svc_stop(&l->identity), 0);
    assert_int_equal(h_teardown(&l->h), 0);
}

static void test_consent_calls(void **state)
{
    (void)state;
    live_t l;
    espace_error_t err;
    espace_scopes_t sc;
    char why[128];
    s_live_start(&l);

    /* catalogue, as the operator */
    char z85[ESPACE_KEY_Z85], kp[128];
    snprintf(kp, sizeof kp, "%s/app.key", l.h.dir);
    assert_int_equal(espace_keypair(kp, 1, z85, NULL), 0);
    uint8_t key[32];
    assert_int_equal(espace_key_parse(z85, key), 0);
    assert_int_equal(espace_scopes_parse("agenda:read,measures:read:8480-6", &sc, why, sizeof why),
                     0);
    Espace__V1__Purpose purposes[1] = {ESPACE__V1__PURPOSE__PURPOSE_SUIVI_SOCIAL_MEDICOSOCIAL};
    Espace__V1__App app = ESPACE__V1__APP__INIT;
    app.id = "suivi-tension";
    app.name = "Suivi tension";
    app.publisher = "Exemple SAS";
    app.description_fr = "Suit votre tension.";
    app.purposes = purposes;
    app.n_purposes = 1;
    app.scopes = sc.list;
    app.n_scopes = sc.n;
    app.curve_public_key.data = key;
    app.curve_public_key.len = 32;
    app.terms_url = "https://exemple.fr/cgu";
    app.privacy_url = "http://exemple.fr/vie-privee";
    assert_int_equal(espace_consent_add_app(l.op, &app, NULL, &err), ES_INVALID_ARGUMENT);
    assert_string_equal(err.field, "app.privacy_url");
    app.privacy_url = "https://exemple.fr/vie-privee";
    Espace__V1__AddAppReply *ar = NULL;
    assert_int_equal(espace_consent_add_app(l.op, &app, &ar, &err), 0);
    assert_string_equal(ar->app->id, "suivi-tension");
    espace_free(&ar->base);
    /* only the operator adds apps */
    assert_int_equal(espace_consent_add_app(l.pro, &app, NULL, &err), ES_PERMISSION_DENIED);
    Espace__V1__GetAppReply *gr = NULL;
    assert_int_equal(espace_consent_get_app(l.pro, "suivi-tension", &gr, &err), 0);
    char label[ESPACE_LABEL_MAX], text[ESPACE_SCOPES_TEXT_MAX];
    assert_string_equal(espace_purpose_label((int)gr->app->purposes[0], label),
                        "suivi_social_medicosocial");
    assert_int_equal(espace_scopes_format(gr->app->scopes, gr->app->n_scopes, text, sizeof text),
                     0);
    assert_string_equal(text, "agenda:read,measures:read:8480-6");
    espace_free(&gr->base);
    gr = NULL;
    assert_int_equal(espace_consent_get_app(l.op, "nope-app", &gr, &err), ES_NOT_FOUND);
    assert_null(gr);
    assert_int_equal(espace_consent_withdraw_app(l.op, "suivi-tension", NULL, &err), 0);
    Espace__V1__ListAppsReply *lr = NULL;
    assert_int_equal(espace_consent_list_apps(l.op, 0, &lr, &err), 0);
    assert_int_equal(lr->n_apps, 0);
    espace_free(&lr->base);
    assert_int_equal(espace_consent_list_apps(l.op, 1, &lr, &err), 0);
    assert_int_equal(lr->n_apps, 1);
    assert_true(lr->apps[0]->withdrawn);
    espace_free(&lr->base);

    /* a professional asks, the patient accepts */
    assert_int_equal(espace_scopes_parse("documents:read", &sc, why, sizeof why), 0);
    Espace__V1__RequestAccessReply *rr = NULL;
    int64_t end = bus_wall_ms() + 86400000LL;
    assert_int_equal(espace_consent_request_access(l.pro, l.pid, &sc,
                                                   ESPACE__V1__PURPOSE__PURPOSE_SOINS, end,
                                                   "Suivi", &rr, &err),
                     0);
    assert_int_equal(rr->grant->status, ESPACE__V1__GRANT_STATUS__GRANT_PROPOSED);
    uint8_t gid[ID_BYTES];
    memcpy(gid, rr->grant->id.data, ID_BYTES);
    espace_free(&rr->base);
    assert_int_equal(espace_consent_request_access(l.pro, l.pid, &sc,
                                                   ESPACE__V1__PURPOSE__PURPOSE_SOINS, end,
                                                   "encore", NULL, &err),
                     ES_ALREADY_EXISTS);
    Espace__V1__AnswerRequestReply *an = NULL;
    assert_int_equal(espace_consent_answer_request(l.patient, gid, 1, &an, &err), 0);
    assert_int_equal(an->grant->status, ESPACE__V1__GRANT_STATUS__GRANT_ACTIVE);
    espace_free(&an->base);
    /* the patient's own grant; ListGrants pages with the cursor */
    assert_int_equal(espace_scopes_parse("agenda:read", &sc, why, sizeof why), 0);
    assert_int_equal(espace_consent_grant(l.patient, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL,
                                          T_RPPS, &sc, ESPACE__V1__PURPOSE__PURPOSE_SOINS, 0,
                                          NULL, &err),
                     0);
    espace_cursor_t cur;
    memset(&cur, 0, sizeof cur);
    unsigned n = 0;
    for (int page = 0; page < 10; page++) {
        Espace__V1__ListGrantsReply *g = NULL;
        assert_int_equal(espace_consent_list_grants(l.pro, l.pid, &cur, &g, &err), 0);
        for (size_t i = 0; i < g->n_grants; i++)
            assert_string_equal(g->grants[i]->patient_id, l.pid);
        n += (unsigned)g->n_grants;
        espace_free(&g->base);
        if (!cur.more)
            break;
    }
    assert_int_equal(n, 2);
    assert_int_equal(espace_consent_revoke_grant(l.patient, gid, NULL, &err), 0);
    assert_int_equal(espace_consent_revoke_grant(l.pro, gid, NULL, &err), ES_PERMISSION_DENIED);

    /* emergency, then the audit */
    Espace__V1__DeclareEmergencyReply *em = NULL;
    assert_int_equal(espace_consent_declare_emergency(l.pro, l.pid, "", &em, &err),
                     ES_INVALID_ARGUMENT);
    assert_null(em);
    assert_int_equal(espace_consent_declare_emergency(l.pro, l.pid, "Inconscient", &em, &err), 0);
    assert_string_equal(em->emergency->rpps, T_RPPS);
    assert_int_equal(em->emergency->id.len, ID_BYTES);
    espace_free(&em->base);
    Espace__V1__ReadAuditReply *au = NULL;
    assert_int_equal(espace_consent_read_audit(l.patient, 0, 0, &au, &err), 0);
    assert_true(au->n_entries >= 1);
    assert_int_equal(au->entries[0]->kind, ESPACE__V1__AUDIT_KIND__AUDIT_EMERGENCY);
    espace_free(&au->base);
    Espace__V1__VerifyAuditReply *va = NULL;
    assert_int_equal(espace_consent_verify_audit(l.op, l.pid, &va, &err), 0);
    assert_true(va->ok);
    assert_true(va->entries >= 1);
    espace_free(&va->base);
    assert_int_equal(espace_consent_verify_audit(l.pro, NULL, NULL, &err), ES_PERMISSION_DENIED);

    /* a method the schema does not have, a request of the wrong type */
    Espace__V1__GetAppRequest ga = ESPACE__V1__GET_APP_REQUEST__INIT;
    assert_int_equal(espace_rpc(l.op, "consent", &espace__v1__consent__descriptor, "NoSuch",
                                &ga.base, NULL, &err),
                     ES_INTERNAL);
    assert_int_equal(espace_rpc(l.op, "consent", &espace__v1__consent__descriptor, "ListApps",
                                &ga.base, NULL, &err),
                     ES_INTERNAL);
    s_live_stop(&l);
}

/* An agenda event of the professional, [start, start + 30 min). */
static void s_event(Espace__V1__AgendaEvent *ev, Espace__V1__AgendaParticipant *p,
                    Espace__V1__AgendaParticipant **parts, const char *title, int64_t start)
{
    espace__v1__agenda_participant__init(p);
    p->actor_type = ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PROFESSIONAL;
    p->actor_id = T_RPPS;
    parts[0] = p;
    espace__v1__agenda_event__init(ev);
    ev->kind = ESPACE__V1__AGENDA_KIND__AGENDA_KIND_RDV;
    ev->title = (char *)title;
    ev->start_ms = start;
    ev->end_ms = start + 1800000;
    ev->participants = parts;
    ev->n_participants = 1;
}

static void test_agenda_calls(void **state)
{
    (void)state;
    live_t l;
    espace_error_t err;
    espace_scopes_t sc;
    char why[128], topic[ESPACE_TOPIC_MAX];
    s_live_start(&l);
    int64_t day = (bus_wall_ms() / 86400000LL + 10) * 86400000LL;
    Espace__V1__AgendaEvent ev;
    Espace__V1__AgendaParticipant p, *parts[1];
    s_event(&ev, &p, parts, "Consultation", day + 9 * 3600000LL);

    /* no session: no watch; no grant: denied */
    espace_opts_t po = {.endpoint = l.h.req_ipc, .timeout_ms = 3000};
    espace_t *anon = NULL;
    assert_int_equal(espace_open(&po, &anon), 0);
    assert_int_equal(espace_agenda_watch(anon, topic, &err), ES_UNAUTHENTICATED);
    espace_close(&anon);
    assert_int_equal(espace_agenda_create(l.pro, l.pid, &ev, NULL, &err), ES_PERMISSION_DENIED);
    assert_int_equal(espace_scopes_parse("agenda:read,agenda:write", &sc, why, sizeof why), 0);
    assert_int_equal(espace_consent_grant(l.patient, ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL,
                                          T_RPPS, &sc, ESPACE__V1__PURPOSE__PURPOSE_SOINS, 0,
                                          NULL, &err),
                     0);

    /* the professional watches, creates two events, pages through them */
    assert_int_equal(espace_agenda_watch(l.pro, topic, &err), 0);
    assert_string_equal(topic, "pro." T_RPPS ".agenda");
    h_sleep_ms(300); /* the subscription travels on to the agenda's publisher */
    Espace__V1__AgendaCreateReply *cr = NULL;
    assert_int_equal(espace_agenda_create(l.pro, l.pid, &ev, &cr, &err), 0);
    assert_int_equal(cr->event->version, 1);
    uint8_t id[ID_BYTES];
    memcpy(id, cr->event->id.data, ID_BYTES);
    espace_free(&cr->base);
    s_event(&ev, &p, parts, "Bilan", day + 14 * 3600000LL);
    assert_int_equal(espace_agenda_create(l.pro, l.pid, &ev, NULL, &err), 0);
    Espace__V1__AgendaChange *ch = NULL;
    assert_int_equal(espace_agenda_next_change(l.pro, 3000, &ch, &err), 0);
    assert_int_equal(ch->kind, ESPACE__V1__AGENDA_CHANGE_KIND__AGENDA_CHANGE_CREATED);
    assert_memory_equal(ch->event->id.data, id, ID_BYTES);
    assert_string_equal(ch->event->patient_id, l.pid);
    assert_string_equal(ch->event->title, ""); /* a notice, no content */
    espace_free(&ch->base);
    espace_cursor_t cur;
    memset(&cur, 0, sizeof cur);
    unsigned pages = 0, n = 0;
    do {
        Espace__V1__AgendaListReply *lr = NULL;
        assert_int_equal(espace_agenda_list(l.pro, l.pid, day, day + 86400000LL, 1, &cur, &lr,
                                            &err),
                         0);
        n += (unsigned)lr->n_events;
        espace_free(&lr->base);
        pages++;
    } while (cur.more && pages < 10);
    assert_int_equal(n, 2);
    assert_true(pages >= 2);

    /* get, a stale update, an update, a cancel */
    Espace__V1__AgendaGetReply *gr = NULL;
    assert_int_equal(espace_agenda_get(l.pro, l.pid, id, &gr, &err), 0);
    assert_string_equal(gr->event->title, "Consultation");
    char *title = gr->event->title;
    gr->event->title = "Consultation déplacée";
    gr->event->version = 2;
    assert_int_equal(espace_agenda_update(l.pro, l.pid, gr->event, NULL, &err), ES_ABORTED);
    assert_string_equal(err.field, "event.version");
    gr->event->version = 1;
    Espace__V1__AgendaUpdateReply *ur = NULL;
    assert_int_equal(espace_agenda_update(l.pro, l.pid, gr->event, &ur, &err), 0);
    assert_int_equal(ur->event->version, 2);
    espace_free(&ur->base);
    gr->event->title = title;
    espace_free(&gr->base);
    Espace__V1__AgendaCancelReply *cn = NULL;
    assert_int_equal(espace_agenda_cancel(l.pro, l.pid, id, "absent", 1, &cn, &err), ES_ABORTED);
    assert_null(cn);
    assert_int_equal(espace_agenda_cancel(l.pro, l.pid, id, "absent", 2, &cn, &err), 0);
    assert_int_equal(cn->event->status, ESPACE__V1__AGENDA_STATUS__AGENDA_STATUS_CANCELLED);
    espace_free(&cn->base);

    /* the patient's own calls: changes, delete */
    Espace__V1__AgendaListChangesReply *lc = NULL;
    assert_int_equal(espace_agenda_list_changes(l.patient, NULL, 0, 0, &lc, &err), 0);
    assert_int_equal(lc->n_changes, 2);
    assert_false(lc->more);
    espace_free(&lc->base);
    assert_int_equal(espace_agenda_delete(l.pro, id, 0, NULL, &err), ES_PERMISSION_DENIED);
    Espace__V1__AgendaDeleteReply *dr = NULL;
    assert_int_equal(espace_agenda_delete(l.patient, id, 0, &dr, &err), 0);
    assert_true(dr->change_version > 0);
    espace_free(&dr->base);
    assert_int_equal(espace_agenda_get(l.pro, l.pid, id, NULL, &err), ES_NOT_FOUND);
    /* the changes arrived live too; then none within the timeout */
    for (int i = 0; i < 10 && espace_agenda_next_change(l.pro, 500, &ch, &err) == 0; i++)
        espace_free(&ch->base);
    assert_int_equal(espace_agenda_next_change(l.pro, 100, &ch, &err), ES_DEADLINE_EXCEEDED);
    assert_null(ch);
    /* logout: the watch is refused */
    assert_int_equal(espace_logout(l.pro, &err), 0);
    assert_int_equal(espace_agenda_watch(l.pro, topic, &err), ES_UNAUTHENTICATED);
    s_live_stop(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_bad_args),
        cmocka_unit_test(test_keypair),
        cmocka_unit_test(test_no_answer),
        cmocka_unit_test(test_login_flow),
        cmocka_unit_test(test_consent_calls),
        cmocka_unit_test(test_agenda_calls),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
