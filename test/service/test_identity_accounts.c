/*
 * test_identity_accounts.c - services/identity/accounts.c on a live bus
 * (identity_fixture.h): SignUpPatient (INS spacing, duplicates, every
 * refused field and the valid edge values), CreateProfessional (operator
 * only) and a professional's login, ResolvePatient (professionals with a
 * live session only).
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
#include "test/service/identity_fixture.h"

static void test_sign_up_ok_and_duplicate(void **state)
{
    (void)state;
    char ins[16], pid[33], spaced[40];
    bus_reply_t r;
    idf_new_ins(ins);
    assert_int_equal(idf_sign_up(ins, pid, &r), 0);
    assert_int_equal(strlen(pid), 32);
    for (int i = 0; i < 32; i++)
        assert_non_null(strchr("0123456789abcdef", pid[i]));
    /* the same INS written with spaces is the same INS */
    snprintf(spaced, sizeof spaced, "%.1s %.2s %.2s %.2s %.3s %.3s %.2s", ins, ins + 1, ins + 3,
             ins + 5, ins + 7, ins + 10, ins + 13);
    assert_int_equal(idf_sign_up(spaced, NULL, &r), ES_ALREADY_EXISTS);
    assert_string_equal(r.field, "ins");
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
        bus_reply_t r;
        int rc = idf_call(idf->local, "SignUpPatient", &req.base,
                          &espace__v1__sign_up_patient_reply__descriptor, NULL, NULL, &r);
        if (rc != ES_INVALID_ARGUMENT || strcmp(r.field, cases[i].field) != 0)
            fail_msg("case %zu: rc=%d field=%s (want %s)", i, rc, r.field, cases[i].field);
    }
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
    req.ins = ins;
    req.birth_names = name100;
    req.first_names = ten;
    req.n_first_names = 10;
    req.birth_date = "2000-02-29";
    req.password = pw256;
    Espace__V1__SignUpPatientReply *rep = NULL;
    bus_reply_t r;
    /* nothing of the refused attempts was stored: this INS is still free */
    assert_int_equal(idf_call(idf->local, "SignUpPatient", &req.base,
                              &espace__v1__sign_up_patient_reply__descriptor, NULL,
                              (ProtobufCMessage **)&rep, &r),
                     0);
    codec_free(&rep->base);
    idf_new_ins(ins);
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

/* ResolvePatient: INS -> patient id, for professionals with a live session only. */
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
    /* a valid INS without an account */
    req.ins = other;
    assert_int_equal(idf_call(pro, "ResolvePatient", &req.base, NULL, NULL, NULL, &r),
                     ES_NOT_FOUND);
    assert_string_equal(r.field, "ins");

    /* everyone else is refused: anonymous, operator, a patient session, a
     * local caller claiming to be a professional without a live session */
    req.ins = ins;
    assert_int_equal(idf_call(idf->local, "ResolvePatient", &req.base, NULL, NULL, NULL, &r),
                     ES_UNAUTHENTICATED); /* the runtime: no principal at all */
    assert_int_equal(
        idf_call(idf->local, "ResolvePatient", &req.base, NULL, idf_operator(), NULL, &r),
        ES_PERMISSION_DENIED);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_up_ok_and_duplicate),
        cmocka_unit_test(test_sign_up_invalid_fields),
        cmocka_unit_test(test_professionals),
        cmocka_unit_test(test_resolve_patient),
    };
    return cmocka_run_group_tests(tests, idf_setup, idf_teardown);
}
