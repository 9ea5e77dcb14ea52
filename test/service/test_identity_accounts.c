/*
 * test_identity_accounts.c - services/identity/accounts.c on a live bus
 * (identity_fixture.h): SignUpPatient (pending until activated, the same
 * answer for an INS that has an account, INS spacing, the traits the INS
 * carries, every refused field and the valid edge values),
 * CreateProfessional (operator only) and a professional's login,
 * ResolvePatient (professionals with a live session and the local operator,
 * not a pending account, rate-limited).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "bus/codec.h"
#include "proto/status.h"
#include "services/consent/consent.h"
#include "services/identity/identity.h"
#include "test/service/identity_fixture.h"

/* A sign-up is pending until activated; signing up an INS again answers
 * the same and does not touch an active account. */
static void test_sign_up_pending_then_active(void **state)
{
    (void)state;
    char ins[16], pid[33], spaced[40], code[IDF_CODE_MAX];
    bus_reply_t r;
    idf_new_ins(ins);
    assert_int_equal(idf_sign_up_pending(ins, IDF_PASSWORD, &r), 0);
    /* pending: the right password does not log in */
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, NULL, NULL, &r),
                     ES_FAILED_PRECONDITION);
    assert_string_equal(r.message, "account not activated");
    assert_string_equal(r.field, "ins");
    assert_int_equal(idf_issue_code(ins, code, &r), 0);
    assert_int_equal(idf_activate(ins, code, IDF_PASSWORD, pid, &r), 0);
    assert_int_equal(strlen(pid), 32);
    for (int i = 0; i < 32; i++)
        assert_non_null(strchr("0123456789abcdef", pid[i]));
    Espace__V1__LoginReply *lrep = NULL;
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, NULL, &lrep, &r), 0);
    assert_string_equal(lrep->caller->principal, pid);
    codec_free(&lrep->base);

    /* the same INS (written with spaces) again, by someone else: the same
     * answer as a first sign-up (OK, empty reply), and the owner's account
     * is untouched (their password still works, the new one does not) */
    snprintf(spaced, sizeof spaced, "%.1s %.2s %.2s %.2s %.3s %.3s %.2s", ins, ins + 1, ins + 3,
             ins + 5, ins + 7, ins + 10, ins + 13);
    Espace__V1__SignUpPatientReply *rep = NULL;
    Espace__V1__SignUpPatientRequest req = ESPACE__V1__SIGN_UP_PATIENT_REQUEST__INIT;
    char *first[] = {"Eve"};
    req.ins = spaced;
    req.birth_names = "Intruse";
    req.n_first_names = 1;
    req.first_names = first;
    req.birth_date = "1985-06-01";
    req.sex = ESPACE__V1__SEX__SEX_MALE;
    req.password = "another password";
    assert_int_equal(idf_call(idf->local, "SignUpPatient", &req.base,
                              &espace__v1__sign_up_patient_reply__descriptor, NULL,
                              (ProtobufCMessage **)&rep, &r),
                     0);
    assert_string_equal(rep->patient_id, "");
    codec_free(&rep->base);
    assert_int_equal(idf_login(ins, NULL, "another password", NULL, NULL, NULL, &r),
                     ES_UNAUTHENTICATED);
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, NULL, NULL, &r), 0);
    /* and no code can be issued for an active account */
    assert_int_equal(idf_issue_code(ins, code, &r), ES_NOT_FOUND);
}

/* The birth date and sex must agree with the INS's digits; a month that is
 * not 01..12 in the INS (unknown month) is not compared. */
static void test_sign_up_ins_traits(void **state)
{
    (void)state;
    char man85[16], woman90[16], unknown_month[16];
    idf_ins_born('1', "85", "06", man85);
    idf_ins_born('2', "90", "11", woman90);
    idf_ins_born('2', "02", "30", unknown_month); /* born in 2002, month unknown */
    struct {
        const char *ins, *birth_date;
        Espace__V1__Sex sex;
        int status;
        const char *field;
    } cases[] = {
        {man85, "1985-06-07", ESPACE__V1__SEX__SEX_UNSPECIFIED, ES_INVALID_ARGUMENT, "sex"},
        {man85, "1985-06-07", ESPACE__V1__SEX__SEX_FEMALE, ES_INVALID_ARGUMENT, "sex"},
        {woman90, "1990-11-02", ESPACE__V1__SEX__SEX_MALE, ES_INVALID_ARGUMENT, "sex"},
        {man85, "1986-06-07", ESPACE__V1__SEX__SEX_MALE, ES_INVALID_ARGUMENT, "birth_date"},
        {man85, "1885-06-07", ESPACE__V1__SEX__SEX_MALE, ES_INVALID_ARGUMENT, "birth_date"},
        {man85, "1985-07-07", ESPACE__V1__SEX__SEX_MALE, ES_INVALID_ARGUMENT, "birth_date"},
        {woman90, "1990-12-02", ESPACE__V1__SEX__SEX_FEMALE, ES_INVALID_ARGUMENT, "birth_date"},
        {unknown_month, "2003-01-01", ESPACE__V1__SEX__SEX_FEMALE, ES_INVALID_ARGUMENT,
         "birth_date"},
        {man85, "1985-06-30", ESPACE__V1__SEX__SEX_MALE, ES_OK, ""},
        {woman90, "1990-11-02", ESPACE__V1__SEX__SEX_FEMALE, ES_OK, ""},
        {unknown_month, "2002-08-15", ESPACE__V1__SEX__SEX_FEMALE, ES_OK, ""},
    };
    char *first[] = {"Alex"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Espace__V1__SignUpPatientRequest req = ESPACE__V1__SIGN_UP_PATIENT_REQUEST__INIT;
        req.ins = (char *)cases[i].ins;
        req.birth_names = "Durand";
        req.n_first_names = 1;
        req.first_names = first;
        req.birth_date = (char *)cases[i].birth_date;
        req.sex = cases[i].sex;
        req.password = IDF_PASSWORD;
        bus_reply_t r;
        int rc = idf_call(idf->local, "SignUpPatient", &req.base, NULL, NULL, NULL, &r);
        if (rc != cases[i].status || (rc != 0 && strcmp(r.field, cases[i].field) != 0))
            fail_msg("case %zu: rc=%d field=%s (want %d %s)", i, rc, r.field, cases[i].status,
                     cases[i].field);
    }
}

static void test_sign_up_invalid_fields(void **state)
{
    (void)state;
    char ins[16], bad_ins[16], long_name[120], long_first[70], long_pw[300];
    idf_new_ins(ins);
    memcpy(bad_ins, ins, sizeof ins);
    bad_ins[14] = bad_ins[14] == '9' ? '0' : (char)(bad_ins[14] + 1);
    memset(long_name, 'a', 101);
    long_name[101] = '\0';
    memset(long_first, 'b', 61);
    long_first[61] = '\0';
    memset(long_pw, 'p', 257);
    long_pw[257] = '\0';
    char *one[] = {"Marie"};
    char *empty_second[] = {"Marie", ""};
    char *too_long_first[] = {long_first};
    char *eleven[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"};
    char *ctrl_first[] = {"Ma\x01rie"};

    struct {
        const char *ins, *birth_names, *birth_date, *password;
        char **first;
        size_t n_first;
        const char *field;
    } cases[] = {
        {bad_ins, "Dupont", "1985-06-07", IDF_PASSWORD, one, 1, "ins"},
        {"12345", "Dupont", "1985-06-07", IDF_PASSWORD, one, 1, "ins"},
        {"", "Dupont", "1985-06-07", IDF_PASSWORD, one, 1, "ins"},
        {ins, "", "1985-06-07", IDF_PASSWORD, one, 1, "birth_names"},
        {ins, "   ", "1985-06-07", IDF_PASSWORD, one, 1, "birth_names"},
        {ins, long_name, "1985-06-07", IDF_PASSWORD, one, 1, "birth_names"},
        {ins, "Du\npont", "1985-06-07", IDF_PASSWORD, one, 1, "birth_names"},
        {ins, "Dupont", "1985-06-07", IDF_PASSWORD, NULL, 0, "first_names"},
        {ins, "Dupont", "1985-06-07", IDF_PASSWORD, eleven, 11, "first_names"},
        {ins, "Dupont", "1985-06-07", IDF_PASSWORD, empty_second, 2, "first_names[1]"},
        {ins, "Dupont", "1985-06-07", IDF_PASSWORD, too_long_first, 1, "first_names[0]"},
        {ins, "Dupont", "1985-06-07", IDF_PASSWORD, ctrl_first, 1, "first_names[0]"},
        {ins, "Dupont", "2023-02-29", IDF_PASSWORD, one, 1, "birth_date"},
        {ins, "Dupont", "1889-12-31", IDF_PASSWORD, one, 1, "birth_date"},
        {ins, "Dupont", "2999-01-01", IDF_PASSWORD, one, 1, "birth_date"},
        {ins, "Dupont", "1985-13-01", IDF_PASSWORD, one, 1, "birth_date"},
        {ins, "Dupont", "1985-6-07", IDF_PASSWORD, one, 1, "birth_date"},
        {ins, "Dupont", "07/06/1985", IDF_PASSWORD, one, 1, "birth_date"},
        {ins, "Dupont", "", IDF_PASSWORD, one, 1, "birth_date"},
        {ins, "Dupont", "1985-06-07", "short pw 11", one, 1, "password"},
        {ins, "Dupont", "1985-06-07", long_pw, one, 1, "password"},
        {ins, "Dupont", "1985-06-07", "twelve chars\x7f", one, 1, "password"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Espace__V1__SignUpPatientRequest req = ESPACE__V1__SIGN_UP_PATIENT_REQUEST__INIT;
        req.ins = (char *)cases[i].ins;
        req.birth_names = (char *)cases[i].birth_names;
        req.first_names = cases[i].first;
        req.n_first_names = cases[i].n_first;
        req.birth_date = (char *)cases[i].birth_date;
        req.password = (char *)cases[i].password;
        req.sex = ESPACE__V1__SEX__SEX_MALE;
        bus_reply_t r;
        int rc = idf_call(idf->local, "SignUpPatient", &req.base,
                          &espace__v1__sign_up_patient_reply__descriptor, NULL, NULL, &r);
        if (rc != ES_INVALID_ARGUMENT || strcmp(r.field, cases[i].field) != 0)
            fail_msg("case %zu: rc=%d field=%s (want %s)", i, rc, r.field, cases[i].field);
    }
    /* nothing of the refused attempts was stored: no pending account */
    char code[IDF_CODE_MAX];
    bus_reply_t r;
    assert_int_equal(idf_issue_code(ins, code, &r), ES_NOT_FOUND);
    /* edge values that are valid: 1890-01-01, a leap day, 12 and 256 chars,
     * 10 first names, accents (multi-byte characters count as one) */
    Espace__V1__SignUpPatientRequest req = ESPACE__V1__SIGN_UP_PATIENT_REQUEST__INIT;
    char *ten[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "Élodie"};
    char pw256[260];
    memset(pw256, 'x', 256);
    pw256[256] = '\0';
    char name100[220] = "";
    for (int i = 0; i < 100; i++)
        strcat(name100, "é");
    idf_ins_born('2', "00", "02", ins);
    req.ins = ins;
    req.birth_names = name100;
    req.first_names = ten;
    req.n_first_names = 10;
    req.birth_date = "2000-02-29";
    req.sex = ESPACE__V1__SEX__SEX_FEMALE;
    req.password = pw256;
    Espace__V1__SignUpPatientReply *rep = NULL;
    assert_int_equal(idf_call(idf->local, "SignUpPatient", &req.base,
                              &espace__v1__sign_up_patient_reply__descriptor, NULL,
                              (ProtobufCMessage **)&rep, &r),
                     0);
    codec_free(&rep->base);
    idf_ins_born('2', "90", "01", ins);
    req.ins = ins;
    req.birth_names = "Dupont";
    req.birth_date = "1890-01-01";
    req.password = "exactly12chr";
    assert_int_equal(idf_call(idf->local, "SignUpPatient", &req.base, NULL, NULL, NULL, &r), 0);
}

/* CreateProfessional req, by the operator, fails with status on field. */
static void s_create_pro_fails(const Espace__V1__CreateProfessionalRequest *req, int status,
                               const char *field)
{
    bus_reply_t r;
    assert_int_equal(
        idf_call(idf->local, "CreateProfessional", &req->base, NULL, idf_operator(), NULL, &r),
        status);
    assert_string_equal(r.field, field);
}

static void test_professionals(void **state)
{
    (void)state;
    bus_reply_t r;
    Espace__V1__CreateProfessionalRequest req = ESPACE__V1__CREATE_PROFESSIONAL_REQUEST__INIT;
    req.rpps = "10002673899";
    req.last_name = "Martin";
    req.first_name = "Paul";
    req.profession = "Médecin";
    req.password = IDF_PASSWORD;

    /* anonymous: refused, and nothing created */
    assert_int_not_equal(
        idf_call(idf->local, "CreateProfessional", &req.base, NULL, NULL, NULL, &r), 0);
    /* a patient session: PERMISSION_DENIED */
    char ins[16];
    idf_new_ins(ins);
    assert_int_equal(idf_sign_up(ins, NULL, &r), 0);
    Espace__V1__LoginReply *lrep = NULL;
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, NULL, &lrep, &r), 0);
    bus_client_t *pc = idf_session_client(lrep->token);
    assert_int_equal(idf_call(pc, "CreateProfessional", &req.base, NULL, NULL, NULL, &r),
                     ES_PERMISSION_DENIED);
    bus_client_destroy(&pc);
    codec_free(&lrep->base);

    /* invalid fields */
    req.rpps = "1000267389A";
    s_create_pro_fails(&req, ES_INVALID_ARGUMENT, "rpps");
    req.rpps = "10002673899";
    req.profession = "";
    s_create_pro_fails(&req, ES_INVALID_ARGUMENT, "profession");
    req.profession = "Médecin";
    req.password = "too short";
    s_create_pro_fails(&req, ES_INVALID_ARGUMENT, "password");
    req.password = IDF_PASSWORD;

    /* the operator creates it; a second time is ALREADY_EXISTS */
    Espace__V1__CreateProfessionalReply *crep = NULL;
    assert_int_equal(idf_call(idf->local, "CreateProfessional", &req.base,
                              &espace__v1__create_professional_reply__descriptor, idf_operator(),
                              (ProtobufCMessage **)&crep, &r),
                     0);
    assert_string_equal(crep->rpps, "10002673899");
    codec_free(&crep->base);
    s_create_pro_fails(&req, ES_ALREADY_EXISTS, "rpps");

    /* the professional logs in by RPPS */
    assert_int_equal(idf_login(NULL, "10002673899", IDF_PASSWORD, NULL, NULL, &lrep, &r), 0);
    assert_int_equal(lrep->caller->kind, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL);
    assert_string_equal(lrep->caller->principal, "10002673899");
    bus_client_t *c = idf_session_client(lrep->token);
    Espace__V1__WhoAmIRequest wreq = ESPACE__V1__WHO_AM_IREQUEST__INIT;
    Espace__V1__WhoAmIReply *wrep = NULL;
    assert_int_equal(idf_call(c, "WhoAmI", &wreq.base, &espace__v1__who_am_ireply__descriptor, NULL,
                              (ProtobufCMessage **)&wrep, &r),
                     0);
    assert_string_equal(wrep->display_name, "Paul Martin");
    assert_string_equal(wrep->profession, "Médecin");
    codec_free(&wrep->base);
    bus_client_destroy(&c);
    codec_free(&lrep->base);
    assert_int_equal(idf_login(NULL, "10002673899", "wrong password!", NULL, NULL, NULL, &r),
                     ES_UNAUTHENTICATED);
}

/* The patient (INS ins, id pid) reads their trail: n entries, the newest a
 * resolution by rpps recorded by identity. */
static void s_trail_check(const char *ins, const char *pid, const char *rpps, size_t n)
{
    bus_reply_t r;
    Espace__V1__LoginReply *l = NULL;
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, NULL, &l, &r), 0);
    assert_string_equal(l->caller->principal, pid);
    bus_client_t *pc = idf_session_client(l->token);
    Espace__V1__ReadAuditRequest rq = ESPACE__V1__READ_AUDIT_REQUEST__INIT;
    Espace__V1__ReadAuditReply *a = NULL;
    assert_int_equal(bus_call(pc, SERVICE_CONSENT, "ReadAudit", &rq.base,
                              &espace__v1__read_audit_reply__descriptor, 5000, NULL,
                              (ProtobufCMessage **)&a, &r),
                     0);
    assert_int_equal(a->n_entries, n);
    if (n > 0) {
        assert_int_equal(a->entries[0]->kind, ESPACE__V1__AUDIT_KIND__AUDIT_RESOLVE);
        assert_int_equal(a->entries[0]->actor_kind,
                         ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL);
        assert_string_equal(a->entries[0]->actor, rpps);
        assert_string_equal(a->entries[0]->service, SERVICE_IDENTITY);
    }
    codec_free(&a->base);
    bus_client_destroy(&pc);
    codec_free(&l->base);
}

/* ResolvePatient: INS -> patient id, for professionals with a live session
 * and the local operator only; each professional's resolution is in the
 * patient's trail (consent), or refused. */
static void test_resolve_patient(void **state)
{
    (void)state;
    bus_reply_t r;
    char ins[16], pid[33], other[16];
    idf_new_ins(ins);
    idf_new_ins(other);
    assert_int_equal(idf_sign_up(ins, pid, &r), 0);

    Espace__V1__CreateProfessionalRequest creq = ESPACE__V1__CREATE_PROFESSIONAL_REQUEST__INIT;
    creq.rpps = "10003000007";
    creq.last_name = "Roux";
    creq.first_name = "Anne";
    creq.profession = "Infirmier";
    creq.password = IDF_PASSWORD;
    assert_int_equal(
        idf_call(idf->local, "CreateProfessional", &creq.base, NULL, idf_operator(), NULL, &r), 0);
    Espace__V1__LoginReply *lrep = NULL;
    assert_int_equal(idf_login(NULL, "10003000007", IDF_PASSWORD, NULL, NULL, &lrep, &r), 0);
    bus_client_t *pro = idf_session_client(lrep->token);

    Espace__V1__ResolvePatientRequest req = ESPACE__V1__RESOLVE_PATIENT_REQUEST__INIT;
    Espace__V1__ResolvePatientReply *rep = NULL;
    /* the professional resolves the INS (spaces ignored, as in sign-up) */
    char spaced[24];
    snprintf(spaced, sizeof spaced, "%.1s %.12s %.2s", ins, ins + 1, ins + 13);
    req.ins = spaced;
    assert_int_equal(idf_call(pro, "ResolvePatient", &req.base,
                              &espace__v1__resolve_patient_reply__descriptor, NULL,
                              (ProtobufCMessage **)&rep, &r),
                     0);
    assert_string_equal(rep->patient_id, pid);
    codec_free(&rep->base);
    /* the patient's trail shows it, the professional as accessor */
    s_trail_check(ins, pid, "10003000007", 1);
    /* consent down: identity discloses nothing it cannot record */
    assert_int_equal(h_svc_stop(&idf->consent), 0);
    assert_int_equal(idf_call(pro, "ResolvePatient", &req.base, NULL, NULL, NULL, &r),
                     ES_UNAVAILABLE);
    assert_int_equal(h_svc_start(&idf->h, &idf->consent, &consent_service), 0);
    assert_int_equal(idf_consent_wait(), 0);
    s_trail_check(ins, pid, "10003000007", 1);
    /* malformed INS (bad key) */
    char bad[16];
    memcpy(bad, ins, sizeof bad);
    bad[14] = bad[14] == '9' ? '0' : (char)(bad[14] + 1);
    req.ins = bad;
    assert_int_equal(idf_call(pro, "ResolvePatient", &req.base, NULL, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "ins");
    req.ins = "";
    assert_int_equal(idf_call(pro, "ResolvePatient", &req.base, NULL, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    /* a valid INS without an account, and a pending account: the same */
    req.ins = other;
    assert_int_equal(idf_call(pro, "ResolvePatient", &req.base, NULL, NULL, NULL, &r),
                     ES_NOT_FOUND);
    assert_string_equal(r.field, "ins");
    bus_reply_t r2;
    char pending[16];
    idf_new_ins(pending);
    assert_int_equal(idf_sign_up_pending(pending, IDF_PASSWORD, &r2), 0);
    req.ins = pending;
    assert_int_equal(idf_call(pro, "ResolvePatient", &req.base, NULL, NULL, NULL, &r2),
                     ES_NOT_FOUND);
    assert_string_equal(r.field, r2.field);
    assert_string_equal(r.message, r2.message);

    /* the local operator resolves too (espace admin patient resolve) */
    req.ins = ins;
    assert_int_equal(idf_call(idf->local, "ResolvePatient", &req.base,
                              &espace__v1__resolve_patient_reply__descriptor, idf_operator(),
                              (ProtobufCMessage **)&rep, &r),
                     0);
    assert_string_equal(rep->patient_id, pid);
    codec_free(&rep->base);
    /* everyone else is refused: anonymous, a patient session, a local
     * caller claiming to be a professional without a live session */
    assert_int_equal(idf_call(idf->local, "ResolvePatient", &req.base, NULL, NULL, NULL, &r),
                     ES_UNAUTHENTICATED); /* the runtime: no principal at all */
    Espace__V1__LoginReply *plrep = NULL;
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, NULL, &plrep, &r), 0);
    bus_client_t *pc = idf_session_client(plrep->token);
    assert_int_equal(idf_call(pc, "ResolvePatient", &req.base, NULL, NULL, NULL, &r),
                     ES_PERMISSION_DENIED);
    bus_client_destroy(&pc);
    codec_free(&plrep->base);
    Espace__V1__Caller fake =
        h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL, "10003000007");
    assert_int_equal(idf_call(idf->local, "ResolvePatient", &req.base, NULL, &fake, NULL, &r),
                     ES_UNAUTHENTICATED);

    /* after logout the session no longer resolves */
    Espace__V1__LogoutRequest oreq = ESPACE__V1__LOGOUT_REQUEST__INIT;
    assert_int_equal(idf_call(pro, "Logout", &oreq.base, NULL, NULL, NULL, &r), 0);
    int got = ES_OK;
    for (int i = 0; i < 50; i++) { /* the broker unbinds on the revocation event */
        got = idf_call(pro, "ResolvePatient", &req.base, NULL, NULL, NULL, &r);
        if (got != ES_OK)
            break;
        h_sleep_ms(20);
    }
    assert_true(got == ES_UNAUTHENTICATED || got == ES_PERMISSION_DENIED);
    bus_client_destroy(&pro);
    codec_free(&lrep->base);
}

/* ResolvePatient is rate-limited per professional: a burst of
 * IDENTITY_RESOLVE_BURST, then one per IDENTITY_RESOLVE_REFILL_MS; another
 * professional is not affected. */
static void test_resolve_rate_limited(void **state)
{
    (void)state;
    bus_reply_t r;
    const char *rpps[2] = {"10004000003", "10004000011"};
    bus_client_t *pro[2];
    Espace__V1__LoginReply *lrep[2];
    for (int i = 0; i < 2; i++) {
        Espace__V1__CreateProfessionalRequest creq = ESPACE__V1__CREATE_PROFESSIONAL_REQUEST__INIT;
        creq.rpps = (char *)rpps[i];
        creq.last_name = "Blanc";
        creq.first_name = "Jean";
        creq.profession = "Médecin";
        creq.password = IDF_PASSWORD;
        assert_int_equal(idf_call(idf->local, "CreateProfessional", &creq.base, NULL,
                                  idf_operator(), NULL, &r),
                         0);
        assert_int_equal(idf_login(NULL, rpps[i], IDF_PASSWORD, NULL, NULL, &lrep[i], &r), 0);
        pro[i] = idf_session_client(lrep[i]->token);
    }
    char ins[16];
    idf_new_ins(ins);
    Espace__V1__ResolvePatientRequest req = ESPACE__V1__RESOLVE_PATIENT_REQUEST__INIT;
    req.ins = ins; /* no account: a walk of the INS space looks like this */
    int64_t t0 = bus_mono_ms();
    int n = 0, rc = ES_NOT_FOUND;
    while (n < 3 * IDENTITY_RESOLVE_BURST &&
           (rc = idf_call(pro[0], "ResolvePatient", &req.base, NULL, NULL, NULL, &r)) ==
               ES_NOT_FOUND)
        n++;
    int64_t took = bus_mono_ms() - t0;
    assert_int_equal(rc, ES_RESOURCE_EXHAUSTED);
    assert_true(n >= IDENTITY_RESOLVE_BURST);
    assert_true(n <= IDENTITY_RESOLVE_BURST + 1 + took / IDENTITY_RESOLVE_REFILL_MS);
    assert_non_null(strstr(r.message, "too many resolutions"));
    /* the other professional resolves */
    assert_int_equal(idf_call(pro[1], "ResolvePatient", &req.base, NULL, NULL, NULL, &r),
                     ES_NOT_FOUND);
    /* and a token comes back after the refill interval */
    h_sleep_ms((int)IDENTITY_RESOLVE_REFILL_MS + 100);
    assert_int_equal(idf_call(pro[0], "ResolvePatient", &req.base, NULL, NULL, NULL, &r),
                     ES_NOT_FOUND);
    for (int i = 0; i < 2; i++) {
        bus_client_destroy(&pro[i]);
        codec_free(&lrep[i]->base);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_up_pending_then_active),
        cmocka_unit_test(test_sign_up_ins_traits),
        cmocka_unit_test(test_sign_up_invalid_fields),
        cmocka_unit_test(test_professionals),
        cmocka_unit_test(test_resolve_patient),
        cmocka_unit_test(test_resolve_rate_limited),
    };
    return cmocka_run_group_tests(tests, idf_setup, idf_teardown);
}
