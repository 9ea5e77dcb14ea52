/*
 * test_validate.c - services/identity/validate.c, no bus: every refused
 * input gets its precise status, Status.field and message; the valid edge
 * values pass; secrets written by a check (INS, login id) are wiped when a
 * later field is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/status.h"
#include "services/identity/identity_int.h"

#define NOW 1705320000000LL /* 2024-01-15T12:00:00Z */
#define INS "185067500000163"
#define INS_SPACED "1 85 06 75 000 001 63"
#define INS_BAD_KEY "185067500000164"
#define RPPS "10002673899"
#define PW "correct horse battery"

/* rc and err are INVALID_ARGUMENT on field with message msg. */
static void s_refused(int rc, const identity_err_t *err, const char *field, const char *msg)
{
    assert_int_equal(rc, ES_INVALID_ARGUMENT);
    assert_int_equal(err->status, ES_INVALID_ARGUMENT);
    assert_string_equal(err->field, field);
    assert_string_equal(err->msg, msg);
}

static int s_zero(const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (buf[i] != 0)
            return 0;
    return 1;
}

/* A string of n copies of `unit` (malloc'd; caller frees). */
static char *s_repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *s = malloc(u * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    return s;
}

/* ------------------------------------------------------------- texts */

static void test_text_valid(void **state)
{
    (void)state;
    assert_false(identity_text_valid(NULL, 0, 10));
    assert_true(identity_text_valid("", 0, 10));
    assert_false(identity_text_valid("", 1, 10));
    assert_true(identity_text_valid("Élodie", 6, 6)); /* code points, not bytes */
    assert_false(identity_text_valid("Élodie", 7, 10));
    assert_false(identity_text_valid("abcdef", 1, 5));
    assert_false(identity_text_valid("a\x01" "b", 1, 10));   /* C0 */
    assert_false(identity_text_valid("a\nb", 1, 10));        /* C0 */
    assert_false(identity_text_valid("a\x7f" "b", 1, 10));   /* DEL */
    assert_false(identity_text_valid("a\xc2\x85" "b", 1, 10)); /* C1 (NEL) */
    assert_true(identity_text_valid("a\xc2\xa0" "b", 1, 10));  /* U+00A0 is text */
    assert_false(identity_text_valid("\xc3\x28", 1, 10));    /* invalid UTF-8 */
    assert_false(identity_text_valid("\xed\xa0\x80", 1, 10)); /* a surrogate */
    char *e = s_repeat("é", 100);
    assert_true(identity_text_valid(e, 1, 100));
    assert_false(identity_text_valid(e, 1, 99));
    free(e);
}

static void test_name_valid(void **state)
{
    (void)state;
    assert_false(identity_name_valid(NULL, 10));
    assert_false(identity_name_valid("", 10));
    assert_false(identity_name_valid("   ", 10));
    assert_true(identity_name_valid(" a ", 10));
    assert_true(identity_name_valid("Le Goff", 10));
    assert_false(identity_name_valid("Du\tpont", 10));
}

static void test_birth_date_valid(void **state)
{
    (void)state;
    const char *good[] = {"1890-01-01", "2000-02-29", "1985-06-07", "2024-01-15", "1999-12-31"};
    const char *bad[] = {NULL,         "",           "1889-12-31", "2024-01-16", "2023-02-29",
                         "1900-02-29", "1985-13-01", "1985-00-10", "1985-04-31", "1985-06-00",
                         "1985-6-07",  "07/06/1985", "1985-06-07T", "1985_06_07", "198a-06-07",
                         "1985-06-0 "};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!identity_birth_date_valid(good[i], NOW))
            fail_msg("refused %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (identity_birth_date_valid(bad[i], NOW))
            fail_msg("accepted %s", bad[i] ? bad[i] : "NULL");
}

/* ----------------------------------------------------------- sign-up */

static char *s_first_one[] = {"Marie"};

static void s_sign_up_init(Espace__V1__SignUpPatientRequest *r)
{
    espace__v1__sign_up_patient_request__init(r);
    r->ins = INS_SPACED;
    r->birth_names = "Dupont";
    r->first_names = s_first_one;
    r->n_first_names = 1;
    r->birth_date = "1985-06-07";
    r->password = PW;
    r->sex = ESPACE__V1__SEX__SEX_MALE;
}

static void test_sign_up_check(void **state)
{
    (void)state;
    Espace__V1__SignUpPatientRequest r;
    identity_err_t err;
    char ins[INS_LEN + 1];

    s_sign_up_init(&r);
    assert_int_equal(identity_sign_up_check(&r, NOW, ins, &err), 0);
    assert_string_equal(ins, INS); /* normalised */

    char *long_name = s_repeat("a", IDENTITY_NAME_MAX + 1);
    char *long_first = s_repeat("b", IDENTITY_FIRST_NAME_MAX + 1);
    char *long_pw = s_repeat("p", IDENTITY_PASSWORD_MAX + 1);
    char *eleven[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"};
    char *second_empty[] = {"Marie", ""};
    char *second_spaces[] = {"Marie", "Anne", "  "};
    char *too_long_first[] = {long_first};
    struct {
        const char *ins, *birth_names, *birth_date, *password;
        char **first;
        size_t n_first;
        const char *field, *msg;
    } cases[] = {
        {INS_BAD_KEY, "Dupont", "1985-06-07", PW, s_first_one, 1, "ins",
         "not a valid INS (15 characters, key)"},
        {"", "Dupont", "1985-06-07", PW, s_first_one, 1, "ins",
         "not a valid INS (15 characters, key)"},
        {NULL, "Dupont", "1985-06-07", PW, s_first_one, 1, "ins",
         "not a valid INS (15 characters, key)"},
        {"385067500000163", "Dupont", "1985-06-07", PW, s_first_one, 1, "ins",
         "not a valid INS (15 characters, key)"},
        {INS, "", "1985-06-07", PW, s_first_one, 1, "birth_names", "1 to 100 characters"},
        {INS, "  ", "1985-06-07", PW, s_first_one, 1, "birth_names", "1 to 100 characters"},
        {INS, long_name, "1985-06-07", PW, s_first_one, 1, "birth_names",
         "1 to 100 characters"},
        {INS, "Du\npont", "1985-06-07", PW, s_first_one, 1, "birth_names",
         "1 to 100 characters"},
        {INS, NULL, "1985-06-07", PW, s_first_one, 1, "birth_names", "1 to 100 characters"},
        {INS, "Dupont", "1985-06-07", PW, NULL, 0, "first_names", "1 to 10 first names"},
        {INS, "Dupont", "1985-06-07", PW, eleven, 11, "first_names", "1 to 10 first names"},
        {INS, "Dupont", "1985-06-07", PW, second_empty, 2, "first_names[1]",
         "1 to 60 characters"},
        {INS, "Dupont", "1985-06-07", PW, second_spaces, 3, "first_names[2]",
         "1 to 60 characters"},
        {INS, "Dupont", "1985-06-07", PW, too_long_first, 1, "first_names[0]",
         "1 to 60 characters"},
        {INS, "Dupont", "2023-02-29", PW, s_first_one, 1, "birth_date",
         "a date YYYY-MM-DD between 1890-01-01 and today"},
        {INS, "Dupont", "2024-01-16", PW, s_first_one, 1, "birth_date",
         "a date YYYY-MM-DD between 1890-01-01 and today"},
        {INS, "Dupont", NULL, PW, s_first_one, 1, "birth_date",
         "a date YYYY-MM-DD between 1890-01-01 and today"},
        {INS, "Dupont", "1985-06-07", "short pw 11", s_first_one, 1, "password",
         "12 to 256 characters"},
        {INS, "Dupont", "1985-06-07", long_pw, s_first_one, 1, "password",
         "12 to 256 characters"},
        {INS, "Dupont", "1985-06-07", "twelve chars\x7f", s_first_one, 1, "password",
         "12 to 256 characters"},
        {INS, "Dupont", "1985-06-07", NULL, s_first_one, 1, "password", "12 to 256 characters"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r.ins = (char *)cases[i].ins;
        r.birth_names = (char *)cases[i].birth_names;
        r.first_names = cases[i].first;
        r.n_first_names = cases[i].n_first;
        r.birth_date = (char *)cases[i].birth_date;
        r.password = (char *)cases[i].password;
        memset(&err, 0, sizeof err);
        memset(ins, 'x', sizeof ins);
        int rc = identity_sign_up_check(&r, NOW, ins, &err);
        if (rc != ES_INVALID_ARGUMENT || strcmp(err.field, cases[i].field) != 0 ||
            strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("case %zu: rc=%d field=%s msg=%s (want %s)", i, rc, err.field, err.msg,
                     cases[i].field);
        /* the INS normalised before the refusal is not left behind */
        if (!s_zero(ins, sizeof ins))
            fail_msg("case %zu: the INS buffer was not wiped", i);
    }
    /* the valid edges: 10 first names, 100 and 60 characters, 12 and 256 */
    char *ten[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "Élodie"};
    char *name100 = s_repeat("é", IDENTITY_NAME_MAX);
    char *first60 = s_repeat("b", IDENTITY_FIRST_NAME_MAX);
    char *pw256 = s_repeat("x", IDENTITY_PASSWORD_MAX);
    s_sign_up_init(&r);
    r.first_names = ten;
    r.n_first_names = 10;
    r.birth_names = name100;
    r.password = pw256;
    assert_int_equal(identity_sign_up_check(&r, NOW, ins, &err), 0);
    ten[0] = first60;
    r.password = "exactly12chr";
    assert_int_equal(identity_sign_up_check(&r, NOW, ins, &err), 0);
    free(name100);
    free(first60);
    free(pw256);
    free(long_name);
    free(long_first);
    free(long_pw);
}

/* ------------------------------------------------------ professionals */

/* Birth date and sex against the INS's digits (REFERENCE.md 5.1). */
static void test_ins_traits_check(void **state)
{
    (void)state;
    identity_err_t err;
    struct {
        const char *ins, *date;
        int sex;
        const char *field; /* NULL: accepted */
    } cases[] = {
        {"185067500000163", "1985-06-07", ESPACE__V1__SEX__SEX_MALE, NULL},
        {"185067500000163", "1985-06-07", ESPACE__V1__SEX__SEX_FEMALE, "sex"},
        {"185067500000163", "1985-06-07", ESPACE__V1__SEX__SEX_UNSPECIFIED, "sex"},
        {"185067500000163", "1885-06-07", ESPACE__V1__SEX__SEX_MALE, NULL}, /* no century in an INS */
        {"185067500000163", "1986-06-07", ESPACE__V1__SEX__SEX_MALE, "birth_date"},
        {"185067500000163", "1985-05-07", ESPACE__V1__SEX__SEX_MALE, "birth_date"},
        {"295109912611193", "1995-10-01", ESPACE__V1__SEX__SEX_FEMALE, NULL}, /* born abroad (99) */
        {"295109912611193", "1995-11-01", ESPACE__V1__SEX__SEX_FEMALE, "birth_date"},
        {"253072B07300470", "1953-07-14", ESPACE__V1__SEX__SEX_FEMALE, NULL}, /* Corsica 2B */
        {"253072B07300470", "1953-07-14", ESPACE__V1__SEX__SEX_MALE, "sex"},
        /* months outside 01..12 stand for an unknown month: not compared */
        {"180207500000147", "1980-03-02", ESPACE__V1__SEX__SEX_MALE, NULL},
        {"180997500000150", "1980-12-31", ESPACE__V1__SEX__SEX_MALE, NULL},
        {"180007500000118", "1980-01-01", ESPACE__V1__SEX__SEX_MALE, NULL},
        {"180207500000147", "1981-03-02", ESPACE__V1__SEX__SEX_MALE, "birth_date"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&err, 0, sizeof err);
        int rc = identity_ins_traits_check(cases[i].ins, cases[i].date, cases[i].sex, &err);
        if (cases[i].field ? (rc != ES_INVALID_ARGUMENT || strcmp(err.field, cases[i].field))
                           : rc != 0)
            fail_msg("case %zu: rc=%d field=%s", i, rc, err.field);
    }
}

/* ActivateAccount: ins, then a code of 10 digits (spaces ignored), then a
 * password as Login's; every refusal wipes the buffers. */
static void test_activate_check(void **state)
{
    (void)state;
    identity_err_t err;
    char ins[INS_LEN + 1], code[IDENTITY_ACTIVATION_CODE_LEN + 1];
    Espace__V1__ActivateAccountRequest r = ESPACE__V1__ACTIVATE_ACCOUNT_REQUEST__INIT;
    r.ins = INS_SPACED;
    r.code = "01234 56789";
    r.password = "x";
    assert_int_equal(identity_activate_check(&r, ins, code, &err), 0);
    assert_string_equal(ins, INS);
    assert_string_equal(code, "0123456789");
    struct {
        const char *ins, *code, *pw, *field;
    } bad[] = {
        {INS_BAD_KEY, "0123456789", "x", "ins"},  {INS, "012345678", "x", "code"},
        {INS, "01234567890", "x", "code"},        {INS, "012345678a", "x", "code"},
        {INS, "", "x", "code"},                   {INS, NULL, "x", "code"},
        {INS, "0123456789", "", "password"},      {INS, "0123456789", NULL, "password"},
        {INS, "0123-456789", "x", "code"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r.ins = (char *)bad[i].ins;
        r.code = (char *)bad[i].code;
        r.password = (char *)bad[i].pw;
        memset(ins, 'x', sizeof ins);
        memset(code, 'x', sizeof code);
        memset(&err, 0, sizeof err);
        int rc = identity_activate_check(&r, ins, code, &err);
        if (rc != ES_INVALID_ARGUMENT || strcmp(err.field, bad[i].field) != 0)
            fail_msg("case %zu: rc=%d field=%s", i, rc, err.field);
        if (!s_zero(ins, sizeof ins) || !s_zero(code, sizeof code))
            fail_msg("case %zu: not wiped", i);
    }
}

static void test_create_pro_check(void **state)
{
    (void)state;
    Espace__V1__CreateProfessionalRequest r = ESPACE__V1__CREATE_PROFESSIONAL_REQUEST__INIT;
    identity_err_t err;
    r.rpps = RPPS;
    r.last_name = "Martin";
    r.first_name = "Paul";
    r.profession = "Médecin";
    r.password = PW;
    assert_int_equal(identity_create_pro_check(&r, &err), 0);

    const char *rpps_bad[] = {"1000267389A", "1000267389", "100026738990", "", " 10002673899",
                              NULL};
    for (size_t i = 0; i < sizeof rpps_bad / sizeof rpps_bad[0]; i++) {
        r.rpps = (char *)rpps_bad[i];
        s_refused(identity_create_pro_check(&r, &err), &err, "rpps",
                  "an RPPS number is 11 digits");
    }
    r.rpps = RPPS;
    char *long_name = s_repeat("m", IDENTITY_NAME_MAX + 1);
    char **fields[] = {&r.last_name, &r.first_name, &r.profession};
    const char *names[] = {"last_name", "first_name", "profession"};
    for (size_t i = 0; i < 3; i++) {
        char *keep = *fields[i];
        const char *bad[] = {"", "   ", "a\x1b[0m", NULL};
        for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
            *fields[i] = (char *)bad[j];
            s_refused(identity_create_pro_check(&r, &err), &err, names[i],
                      "1 to 100 characters");
        }
        *fields[i] = long_name;
        s_refused(identity_create_pro_check(&r, &err), &err, names[i], "1 to 100 characters");
        *fields[i] = keep;
    }
    free(long_name);
    r.password = "too short";
    s_refused(identity_create_pro_check(&r, &err), &err, "password", "12 to 256 characters");
    /* the first refused field is the one named */
    r.last_name = "";
    s_refused(identity_create_pro_check(&r, &err), &err, "last_name", "1 to 100 characters");
}

/* ------------------------------------------------------------- login */

static void test_login_check(void **state)
{
    (void)state;
    Espace__V1__LoginRequest r = ESPACE__V1__LOGIN_REQUEST__INIT;
    identity_err_t err;
    char id[INS_LEN + 1];
    int kind = 0;
    uint8_t sk[64], spk[32], dpk[32], zero[32] = {0}, ff[32], dev[16] = {1};
    assert_true(sodium_init() >= 0);
    crypto_sign_keypair(spk, sk);
    randombytes_buf(dpk, sizeof dpk);
    memset(ff, 0xff, sizeof ff);
    Espace__V1__DeviceKeys keys = ESPACE__V1__DEVICE_KEYS__INIT;
    keys.sign_public.data = spk;
    keys.sign_public.len = 32;
    keys.dh_public.data = dpk;
    keys.dh_public.len = 32;

    /* neither ins nor rpps */
    r.password = PW;
    s_refused(identity_login_check(&r, &kind, id, &err), &err, "ins",
              "ins or rpps is required");
    /* by INS: normalised; by RPPS: as is */
    r.who_case = ESPACE__V1__LOGIN_REQUEST__WHO_INS;
    r.ins = " " INS_SPACED " ";
    assert_int_equal(identity_login_check(&r, &kind, id, &err), 0);
    assert_int_equal(kind, IDENTITY_PATIENT);
    assert_string_equal(id, INS);
    r.ins = INS_BAD_KEY;
    s_refused(identity_login_check(&r, &kind, id, &err), &err, "ins", "not a valid INS");
    r.ins = "123";
    s_refused(identity_login_check(&r, &kind, id, &err), &err, "ins", "not a valid INS");
    r.who_case = ESPACE__V1__LOGIN_REQUEST__WHO_RPPS;
    r.rpps = "123";
    s_refused(identity_login_check(&r, &kind, id, &err), &err, "rpps",
              "an RPPS number is 11 digits");
    r.rpps = RPPS;
    assert_int_equal(identity_login_check(&r, &kind, id, &err), 0);
    assert_int_equal(kind, IDENTITY_PRO);
    assert_string_equal(id, RPPS);

    /* the rest, each time with the id wiped */
    char *long_pw = s_repeat("p", 4 * IDENTITY_PASSWORD_MAX + 1);
    char *long_dev = s_repeat("d", IDENTITY_DEVICE_NAME_MAX + 1);
    Espace__V1__DeviceKeys bad_sign = keys, zero_dh = keys, short_dh = keys;
    bad_sign.sign_public.data = ff;
    zero_dh.dh_public.data = zero;
    short_dh.dh_public.len = 31;
    struct {
        const char *password;
        size_t dev_len;
        const char *dev_name;
        Espace__V1__DeviceKeys *keys;
        const char *field, *msg;
    } cases[] = {
        {"", 0, NULL, NULL, "password", "1 to 256 characters"},
        {NULL, 0, NULL, NULL, "password", "1 to 256 characters"},
        {long_pw, 0, NULL, NULL, "password", "1 to 256 characters"},
        {PW, 3, NULL, NULL, "device_id", "16 bytes or empty"},
        {PW, 17, NULL, NULL, "device_id", "16 bytes or empty"},
        {PW, 16, "tab\there", NULL, "device_name", "1 to 64 characters"},
        {PW, 16, long_dev, NULL, "device_name", "1 to 64 characters"},
        {PW, 16, "phone", &bad_sign, "device_keys.sign_public", "not a valid public key"},
        {PW, 16, "phone", &zero_dh, "device_keys.dh_public", "not a valid public key"},
        {PW, 16, "phone", &short_dh, "device_keys.dh_public", "not a valid public key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r.password = (char *)cases[i].password;
        r.device_id.data = dev;
        r.device_id.len = cases[i].dev_len;
        r.device_name = (char *)cases[i].dev_name;
        r.device_keys = cases[i].keys;
        memset(&err, 0, sizeof err);
        memset(id, 'x', sizeof id);
        int rc = identity_login_check(&r, &kind, id, &err);
        if (rc != ES_INVALID_ARGUMENT || strcmp(err.field, cases[i].field) != 0 ||
            strcmp(err.msg, cases[i].msg) != 0)
            fail_msg("case %zu: rc=%d field=%s msg=%s (want %s)", i, rc, err.field, err.msg,
                     cases[i].field);
        if (!s_zero(id, sizeof id))
            fail_msg("case %zu: the id buffer was not wiped", i);
    }
    /* a password of any length the server could have stored passes: the
     * rules of sign-up do not apply at login */
    r.password = "x";
    r.device_id.len = 16;
    r.device_name = "";
    r.device_keys = &keys;
    assert_int_equal(identity_login_check(&r, &kind, id, &err), 0);
    free(long_pw);
    free(long_dev);
}

/* -------------------------------------------------- keys, ids, others */

static void test_keys_check(void **state)
{
    (void)state;
    identity_err_t err;
    uint8_t sk[64], spk[32], dpk[32], ff[32], zero[32] = {0};
    assert_true(sodium_init() >= 0);
    crypto_sign_keypair(spk, sk);
    randombytes_buf(dpk, sizeof dpk);
    memset(ff, 0xff, sizeof ff);
    Espace__V1__DeviceKeys k = ESPACE__V1__DEVICE_KEYS__INIT;
    k.sign_public.data = spk;
    k.sign_public.len = 32;
    k.dh_public.data = dpk;
    k.dh_public.len = 32;
    assert_int_equal(identity_keys_check(&k, "keys", &err), 0);

    s_refused(identity_keys_check(NULL, "keys", &err), &err, "keys", "keys are required");
    k.sign_public.len = 31;
    s_refused(identity_keys_check(&k, "keys", &err), &err, "keys.sign_public",
              "not a valid public key");
    k.sign_public.len = 0;
    s_refused(identity_keys_check(&k, "keys", &err), &err, "keys.sign_public",
              "not a valid public key");
    k.sign_public.len = 32;
    k.sign_public.data = ff;
    s_refused(identity_keys_check(&k, "keys", &err), &err, "keys.sign_public",
              "not a valid public key");
    k.sign_public.data = spk;
    k.dh_public.len = 33;
    s_refused(identity_keys_check(&k, "keys", &err), &err, "keys.dh_public",
              "not a valid public key");
    k.dh_public.len = 32;
    k.dh_public.data = zero;
    s_refused(identity_keys_check(&k, "device_keys", &err), &err, "device_keys.dh_public",
              "not a valid public key");
}

static void test_ins_id_principal_checks(void **state)
{
    (void)state;
    identity_err_t err;
    char ins[INS_LEN + 1];
    assert_int_equal(identity_ins_check(INS_SPACED, ins, &err), 0);
    assert_string_equal(ins, INS);
    const char *bad[] = {INS_BAD_KEY, "", NULL, "18506750000016", "1850675000001633"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(ins, 'x', sizeof ins);
        s_refused(identity_ins_check(bad[i], ins, &err), &err, "ins",
                  "not a valid INS (15 characters, key)");
        assert_true(s_zero(ins, sizeof ins));
    }

    uint8_t b[17] = {0};
    ProtobufCBinaryData id = {16, b};
    assert_int_equal(identity_id_check(&id, "session_id", &err), 0);
    id.len = 3;
    s_refused(identity_id_check(&id, "session_id", &err), &err, "session_id", "16 bytes");
    id.len = 17;
    s_refused(identity_id_check(&id, "device_id", &err), &err, "device_id", "16 bytes");
    id.len = 0;
    s_refused(identity_id_check(&id, "device_id", &err), &err, "device_id", "16 bytes");

    const char *pid = "0123456789abcdef0123456789abcdef";
    assert_int_equal(identity_principal_check(IDENTITY_PATIENT, pid, &err), 0);
    assert_int_equal(identity_principal_check(IDENTITY_PRO, RPPS, &err), 0);
    const char *bad_pid[] = {"not-an-id", "0123456789ABCDEF0123456789ABCDEF", "", NULL, RPPS,
                             "0123456789abcdef0123456789abcdef0"};
    for (size_t i = 0; i < sizeof bad_pid / sizeof bad_pid[0]; i++)
        s_refused(identity_principal_check(IDENTITY_PATIENT, bad_pid[i], &err), &err,
                  "principal", "a patient id is 32 hex");
    const char *bad_rpps[] = {pid, "1000267389", "", NULL};
    for (size_t i = 0; i < sizeof bad_rpps / sizeof bad_rpps[0]; i++)
        s_refused(identity_principal_check(IDENTITY_PRO, bad_rpps[i], &err), &err, "principal",
                  "an RPPS is 11 digits");
    const int bad_kind[] = {0, ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_OPERATOR,
                            ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE, 99, -1};
    for (size_t i = 0; i < sizeof bad_kind / sizeof bad_kind[0]; i++)
        s_refused(identity_principal_check(bad_kind[i], pid, &err), &err, "kind",
                  "patient or professional");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_valid),
        cmocka_unit_test(test_name_valid),
        cmocka_unit_test(test_birth_date_valid),
        cmocka_unit_test(test_sign_up_check),
        cmocka_unit_test(test_ins_traits_check),
        cmocka_unit_test(test_activate_check),
        cmocka_unit_test(test_create_pro_check),
        cmocka_unit_test(test_login_check),
        cmocka_unit_test(test_keys_check),
        cmocka_unit_test(test_ins_id_principal_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
