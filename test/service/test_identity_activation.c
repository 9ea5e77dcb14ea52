/*
 * test_identity_activation.c - services/identity/activation.c on a live bus
 * (identity_fixture.h): IssueActivationCode (operator only, pending
 * accounts only, a new code replaces the old) and ActivateAccount (one
 * answer for every failure, single use, wrong attempts burn the code, the
 * password of the sign-up, a pending account re-signed-up); an activation
 * registers the patient with consent, best effort.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bus/codec.h"
#include "proto/names.h"
#include "proto/status.h"
#include "services/consent/consent.h"
#include "services/identity/identity.h"
#include "test/service/identity_fixture.h"

/* A code that is not `code` (one digit changed). */
static void s_wrong(const char *code, char out[IDF_CODE_MAX])
{
    snprintf(out, IDF_CODE_MAX, "%s", code);
    out[0] = out[0] == '9' ? '0' : (char)(out[0] + 1);
}

/* ActivateAccount fails with the one answer of every failure. */
static void s_activate_refused(const char *ins, const char *code, const char *password)
{
    bus_reply_t r;
    assert_int_equal(idf_activate(ins, code, password, NULL, &r), ES_UNAUTHENTICATED);
    assert_string_equal(r.message, "invalid activation code");
    assert_string_equal(r.field, "");
}

static void test_issue(void **state)
{
    (void)state;
    char ins[16], code[IDF_CODE_MAX];
    bus_reply_t r;
    idf_new_ins(ins);
    /* no account: NOT_FOUND for the operator */
    assert_int_equal(idf_issue_code(ins, code, &r), ES_NOT_FOUND);
    assert_string_equal(r.field, "ins");
    assert_int_equal(idf_sign_up_pending(ins, IDF_PASSWORD, &r), 0);
    /* anyone but the operator is refused */
    Espace__V1__IssueActivationCodeRequest req = ESPACE__V1__ISSUE_ACTIVATION_CODE_REQUEST__INIT;
    req.ins = ins;
    assert_int_not_equal(
        idf_call(idf->local, "IssueActivationCode", &req.base, NULL, NULL, NULL, &r), 0);
    /* the operator gets IDENTITY_ACTIVATION_CODE_LEN digits, valid 15 min */
    Espace__V1__IssueActivationCodeReply *rep = NULL;
    int64_t before = bus_wall_ms();
    assert_int_equal(idf_call(idf->local, "IssueActivationCode", &req.base,
                              &espace__v1__issue_activation_code_reply__descriptor,
                              idf_operator(), (ProtobufCMessage **)&rep, &r),
                     0);
    assert_int_equal(strlen(rep->code), IDENTITY_ACTIVATION_CODE_LEN);
    assert_int_equal(strspn(rep->code, "0123456789"), IDENTITY_ACTIVATION_CODE_LEN);
    assert_true(rep->expires_ms >= before + IDENTITY_ACTIVATION_MS - 1000);
    assert_true(rep->expires_ms <= bus_wall_ms() + IDENTITY_ACTIVATION_MS + 1000);
    snprintf(code, sizeof code, "%s", rep->code);
    codec_free(&rep->base);
    /* a new code replaces it */
    char code2[IDF_CODE_MAX];
    assert_int_equal(idf_issue_code(ins, code2, &r), 0);
    if (strcmp(code, code2) != 0)
        s_activate_refused(ins, code, IDF_PASSWORD);
    /* malformed codes are INVALID_ARGUMENT on "code"; spaces are ignored */
    assert_int_equal(idf_activate(ins, "12345", IDF_PASSWORD, NULL, &r), ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "code");
    assert_int_equal(idf_activate(ins, "12345abcde", IDF_PASSWORD, NULL, &r),
                     ES_INVALID_ARGUMENT);
    assert_int_equal(idf_activate(ins, "123456789012", IDF_PASSWORD, NULL, &r),
                     ES_INVALID_ARGUMENT);
    char spaced[IDF_CODE_MAX + 4];
    snprintf(spaced, sizeof spaced, "%.5s %.5s", code2, code2 + 5);
    char pid[33];
    assert_int_equal(idf_activate(ins, spaced, IDF_PASSWORD, pid, &r), 0);
    assert_int_equal(strlen(pid), 32);
}

/* Every failure answers the same: unknown INS, no code, wrong code, right
 * code with the wrong password, an active account. */
static void test_one_answer(void **state)
{
    (void)state;
    char ins[16], unknown[16], code[IDF_CODE_MAX], wrong[IDF_CODE_MAX];
    bus_reply_t r;
    idf_new_ins(ins);
    idf_new_ins(unknown);
    s_activate_refused(unknown, "0123456789", IDF_PASSWORD);
    assert_int_equal(idf_sign_up_pending(ins, IDF_PASSWORD, &r), 0);
    s_activate_refused(ins, "0123456789", IDF_PASSWORD); /* no code issued yet */
    assert_int_equal(idf_issue_code(ins, code, &r), 0);
    s_wrong(code, wrong);
    s_activate_refused(ins, wrong, IDF_PASSWORD);
    s_activate_refused(ins, code, "not the sign-up password");
    /* 2 wrong attempts so far: the right pair still works, once */
    assert_int_equal(idf_activate(ins, code, IDF_PASSWORD, NULL, &r), 0);
    s_activate_refused(ins, code, IDF_PASSWORD);
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, NULL, NULL, &r), 0);
}

/* IDENTITY_ACTIVATION_TRIES wrong attempts burn the code. */
static void test_wrong_attempts_burn(void **state)
{
    (void)state;
    char ins[16], code[IDF_CODE_MAX], wrong[IDF_CODE_MAX];
    bus_reply_t r;
    idf_new_ins(ins);
    assert_int_equal(idf_sign_up_pending(ins, IDF_PASSWORD, &r), 0);
    assert_int_equal(idf_issue_code(ins, code, &r), 0);
    s_wrong(code, wrong);
    for (int i = 0; i < IDENTITY_ACTIVATION_TRIES; i++)
        s_activate_refused(ins, wrong, IDF_PASSWORD);
    s_activate_refused(ins, code, IDF_PASSWORD); /* burnt */
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, NULL, NULL, &r),
                     ES_FAILED_PRECONDITION);
    /* a new code works */
    assert_int_equal(idf_issue_code(ins, code, &r), 0);
    assert_int_equal(idf_activate(ins, code, IDF_PASSWORD, NULL, &r), 0);
}

/* A pending account signed up again is replaced: the activation is of the
 * last sign-up, with its password. */
static void test_pending_replaced(void **state)
{
    (void)state;
    char ins[16], code[IDF_CODE_MAX];
    bus_reply_t r;
    idf_new_ins(ins);
    assert_int_equal(idf_sign_up_pending(ins, "a squatter's password", &r), 0);
    assert_int_equal(idf_issue_code(ins, code, &r), 0);
    assert_int_equal(idf_sign_up_pending(ins, IDF_PASSWORD, &r), 0);
    s_activate_refused(ins, code, "a squatter's password");
    char pid[33];
    assert_int_equal(idf_activate(ins, code, IDF_PASSWORD, pid, &r), 0);
    Espace__V1__LoginReply *lrep = NULL;
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, NULL, &lrep, &r), 0);
    assert_string_equal(lrep->caller->principal, pid);
    codec_free(&lrep->base);
}

/* 1 if consent knows patient pid (HoldsGrant answers instead of NOT_FOUND). */
static int s_consent_knows(const char *pid)
{
    Espace__V1__Caller svc = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE, "test");
    Espace__V1__Caller acc = h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL,
                                      "10003000007");
    Espace__V1__HoldsGrantRequest req = ESPACE__V1__HOLDS_GRANT_REQUEST__INIT;
    req.accessor = &acc;
    req.patient_id = (char *)pid;
    req.category = ESPACE__V1__CATEGORY__CATEGORY_AGENDA;
    req.action = ESPACE__V1__ACTION__ACTION_READ;
    bus_reply_t r;
    int rc = bus_call(idf->local, SERVICE_CONSENT, "HoldsGrant", &req.base, NULL, 5000, &svc,
                      NULL, &r);
    assert_true(rc == ES_OK || rc == ES_NOT_FOUND);
    return rc == ES_OK;
}

/* An activation tells consent the patient exists (best effort, after the
 * commit), and so does each patient log-in (which repairs a registration
 * lost while consent was down). */
static void test_activation_registers(void **state)
{
    (void)state;
    char ins[16], code[IDF_CODE_MAX], pid[33];
    bus_reply_t r;
    idf_new_ins(ins);
    assert_int_equal(idf_sign_up_pending(ins, IDF_PASSWORD, &r), 0);
    assert_int_equal(idf_issue_code(ins, code, &r), 0);
    assert_int_equal(idf_activate(ins, code, IDF_PASSWORD, pid, &r), 0);
    int known = 0;
    for (int i = 0; i < 100 && !(known = s_consent_knows(pid)); i++)
        h_sleep_ms(20);
    assert_true(known);
    /* consent down: the activation still succeeds (the code is single use) */
    assert_int_equal(h_svc_stop(&idf->consent), 0);
    idf_new_ins(ins);
    assert_int_equal(idf_sign_up_pending(ins, IDF_PASSWORD, &r), 0);
    assert_int_equal(idf_issue_code(ins, code, &r), 0);
    assert_int_equal(idf_activate(ins, code, IDF_PASSWORD, pid, &r), 0);
    assert_int_equal(h_svc_start(&idf->h, &idf->consent, &consent_service), 0);
    assert_int_equal(idf_consent_wait(), 0);
    assert_false(s_consent_knows(pid));
    /* the patient's next log-in registers them */
    Espace__V1__LoginReply *lrep = NULL;
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, NULL, &lrep, &r), 0);
    codec_free(&lrep->base);
    known = 0;
    for (int i = 0; i < 100 && !(known = s_consent_knows(pid)); i++)
        h_sleep_ms(20);
    assert_true(known);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue),
        cmocka_unit_test(test_one_answer),
        cmocka_unit_test(test_wrong_attempts_burn),
        cmocka_unit_test(test_pending_replaced),
        cmocka_unit_test(test_activation_registers),
    };
    return cmocka_run_group_tests(tests, idf_setup, idf_teardown);
}
