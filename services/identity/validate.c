/*
 * validate.c - the identity service's request validation, pure
 * (identity_int.h). Messages and fields are those the clients show.
 */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bus/codec.h"
#include "proto/rpps.h"
#include "proto/status.h"
#include "services/identity/identity_int.h"

#define S_PUBLIC_KEY 32 /* Ed25519 and X25519 public keys */

/* Fill err (INVALID_ARGUMENT on field, printf-style message); returns the status. */
static int s_invalid(identity_err_t *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_invalid(identity_err_t *err, const char *field, const char *fmt, ...)
{
    va_list ap;
    err->status = ES_INVALID_ARGUMENT;
    snprintf(err->field, sizeof err->field, "%s", field);
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return err->status;
}

int identity_fail(svc_call_t *call, const identity_err_t *err)
{
    return svc_fail(call, err->status, err->field[0] ? err->field : NULL, "%s", err->msg);
}

/* ---- texts ---- */

int identity_text_valid(const char *s, size_t min, size_t max)
{
    if (!s)
        return 0;
    size_t len = strlen(s);
    if (len > 4 * max || !codec_utf8_valid(s, len))
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned c = p[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
            return 0; /* U+0080..U+009F */
        if ((c & 0xc0) != 0x80)
            n++;
    }
    return n >= min && n <= max;
}

int identity_name_valid(const char *s, size_t max)
{
    if (!identity_text_valid(s, 1, max))
        return 0;
    for (const char *p = s; *p; p++)
        if (*p != ' ')
            return 1;
    return 0;
}

static int s_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int identity_birth_date_valid(const char *s, int64_t now_ms)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    char today[16];
    struct tm tm;
    time_t t = (time_t)(now_ms / 1000);

    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (m < 1 || m > 12 || d < 1)
        return 0;
    if (d > mdays[m - 1] + (m == 2 && s_leap(y) ? 1 : 0))
        return 0;
    if (strcmp(s, IDENTITY_BIRTH_DATE_MIN) < 0)
        return 0;
    if (!gmtime_r(&t, &tm) || strftime(today, sizeof today, "%Y-%m-%d", &tm) != 10)
        return 0;
    return strcmp(s, today) <= 0;
}

/* A new password (sign-up, creation). */
static int s_password_check(const char *pw, identity_err_t *err)
{
    if (!identity_text_valid(pw, IDENTITY_PASSWORD_MIN, IDENTITY_PASSWORD_MAX))
        return s_invalid(err, "password", "%d to %d characters", IDENTITY_PASSWORD_MIN,
                         IDENTITY_PASSWORD_MAX);
    return ES_OK;
}

/* A name of 1..max characters on field. */
static int s_name_check(const char *s, size_t max, const char *field, identity_err_t *err)
{
    if (!identity_name_valid(s, max))
        return s_invalid(err, field, "1 to %zu characters", max);
    return ES_OK;
}

/* ---- requests ---- */

static int s_sign_up_rest(const Espace__V1__SignUpPatientRequest *req, int64_t now_ms,
                          identity_err_t *err)
{
    if (s_name_check(req->birth_names, IDENTITY_NAME_MAX, "birth_names", err) != 0)
        return err->status;
    if (req->n_first_names < 1 || req->n_first_names > IDENTITY_FIRST_NAMES_MAX)
        return s_invalid(err, "first_names", "1 to %d first names", IDENTITY_FIRST_NAMES_MAX);
    for (size_t i = 0; i < req->n_first_names; i++) {
        if (!identity_name_valid(req->first_names[i], IDENTITY_FIRST_NAME_MAX)) {
            char field[40];
            snprintf(field, sizeof field, "first_names[%zu]", i);
            return s_invalid(err, field, "1 to %d characters", IDENTITY_FIRST_NAME_MAX);
        }
    }
    if (!identity_birth_date_valid(req->birth_date, now_ms))
        return s_invalid(err, "birth_date", "a date YYYY-MM-DD between %s and today",
                         IDENTITY_BIRTH_DATE_MIN);
    if (s_password_check(req->password, err) != 0)
        return err->status;
    if (req->sex != ESPACE__V1__SEX__SEX_MALE && req->sex != ESPACE__V1__SEX__SEX_FEMALE)
        return s_invalid(err, "sex", "male or female, as on the INS");
    return ES_OK;
}

int identity_ins_traits_check(const char ins[INS_LEN + 1], const char *birth_date, int sex,
                              identity_err_t *err)
{
    int ins_sex = ins[0] == '1' ? ESPACE__V1__SEX__SEX_MALE : ESPACE__V1__SEX__SEX_FEMALE;
    if (sex != ins_sex)
        return s_invalid(err, "sex", "does not match the INS");
    /* birth_date is YYYY-MM-DD: year digits 2-3 at [2..3], month at [5..6] */
    if (memcmp(ins + 1, birth_date + 2, 2) != 0)
        return s_invalid(err, "birth_date", "the year does not match the INS");
    int month = (ins[3] - '0') * 10 + (ins[4] - '0');
    if (month >= 1 && month <= 12 && memcmp(ins + 3, birth_date + 5, 2) != 0)
        return s_invalid(err, "birth_date", "the month does not match the INS");
    return ES_OK;
}

int identity_sign_up_check(const Espace__V1__SignUpPatientRequest *req, int64_t now_ms,
                           char ins[INS_LEN + 1], identity_err_t *err)
{
    if (identity_ins_check(req->ins, ins, err) != 0)
        return err->status;
    if (s_sign_up_rest(req, now_ms, err) != 0 ||
        identity_ins_traits_check(ins, req->birth_date, req->sex, err) != 0) {
        sodium_memzero(ins, INS_LEN + 1);
        return err->status;
    }
    return ES_OK;
}

int identity_create_pro_check(const Espace__V1__CreateProfessionalRequest *req,
                              identity_err_t *err)
{
    if (rpps_validate(req->rpps) != 0)
        return s_invalid(err, "rpps", "an RPPS number is 11 digits");
    if (s_name_check(req->last_name, IDENTITY_NAME_MAX, "last_name", err) != 0 ||
        s_name_check(req->first_name, IDENTITY_NAME_MAX, "first_name", err) != 0 ||
        s_name_check(req->profession, IDENTITY_NAME_MAX, "profession", err) != 0)
        return err->status;
    return s_password_check(req->password, err);
}

/* Login, after the account's id. */
static int s_login_rest(const Espace__V1__LoginRequest *req, identity_err_t *err)
{
    size_t pw_len = req->password ? strlen(req->password) : 0;
    if (pw_len == 0 || pw_len > 4 * IDENTITY_PASSWORD_MAX)
        return s_invalid(err, "password", "1 to %d characters", IDENTITY_PASSWORD_MAX);
    if (req->device_id.len != 0 && req->device_id.len != ID_BYTES)
        return s_invalid(err, "device_id", "16 bytes or empty");
    if (req->device_name && req->device_name[0] &&
        !identity_text_valid(req->device_name, 1, IDENTITY_DEVICE_NAME_MAX))
        return s_invalid(err, "device_name", "1 to %d characters", IDENTITY_DEVICE_NAME_MAX);
    if (req->device_keys)
        return identity_keys_check(req->device_keys, "device_keys", err);
    return ES_OK;
}

int identity_login_check(const Espace__V1__LoginRequest *req, int *kind, char id[INS_LEN + 1],
                         identity_err_t *err)
{
    int rc;
    if (req->who_case == ESPACE__V1__LOGIN_REQUEST__WHO_INS) {
        *kind = IDENTITY_PATIENT;
        rc = ins_validate(req->ins, id) != 0 ? s_invalid(err, "ins", "not a valid INS")
                                             : s_login_rest(req, err);
    } else if (req->who_case == ESPACE__V1__LOGIN_REQUEST__WHO_RPPS) {
        *kind = IDENTITY_PRO;
        if (rpps_validate(req->rpps) != 0) {
            rc = s_invalid(err, "rpps", "an RPPS number is 11 digits");
        } else {
            memcpy(id, req->rpps, RPPS_LEN + 1);
            rc = s_login_rest(req, err);
        }
    } else {
        rc = s_invalid(err, "ins", "ins or rpps is required");
    }
    if (rc != 0)
        sodium_memzero(id, INS_LEN + 1);
    return rc;
}

int identity_keys_check(const Espace__V1__DeviceKeys *k, const char *field, identity_err_t *err)
{
    static const uint8_t zero[S_PUBLIC_KEY];
    char f[40];
    if (!k)
        return s_invalid(err, field, "keys are required");
    if (k->sign_public.len != S_PUBLIC_KEY ||
        !crypto_core_ed25519_is_valid_point(k->sign_public.data)) {
        snprintf(f, sizeof f, "%s.sign_public", field);
        return s_invalid(err, f, "not a valid public key");
    }
    if (k->dh_public.len != S_PUBLIC_KEY ||
        sodium_memcmp(k->dh_public.data, zero, S_PUBLIC_KEY) == 0) {
        snprintf(f, sizeof f, "%s.dh_public", field);
        return s_invalid(err, f, "not a valid public key");
    }
    return ES_OK;
}

int identity_ins_check(const char *in, char ins[INS_LEN + 1], identity_err_t *err)
{
    if (ins_validate(in, ins) != 0) {
        sodium_memzero(ins, INS_LEN + 1);
        return s_invalid(err, "ins", "not a valid INS (15 characters, key)");
    }
    return ES_OK;
}

int identity_activate_check(const Espace__V1__ActivateAccountRequest *req,
                            char ins[INS_LEN + 1], char code[IDENTITY_ACTIVATION_CODE_LEN + 1],
                            identity_err_t *err)
{
    size_t n = 0;
    code[0] = '\0';
    if (identity_ins_check(req->ins, ins, err) != 0) {
        sodium_memzero(code, IDENTITY_ACTIVATION_CODE_LEN + 1);
        return err->status;
    }
    for (const char *p = req->code ? req->code : ""; *p; p++) {
        if (*p == ' ')
            continue;
        if (*p < '0' || *p > '9' || n == IDENTITY_ACTIVATION_CODE_LEN) {
            n = 0;
            break;
        }
        code[n++] = *p;
    }
    code[n] = '\0';
    size_t pw_len = req->password ? strlen(req->password) : 0;
    if (n != IDENTITY_ACTIVATION_CODE_LEN)
        s_invalid(err, "code", "%d digits", IDENTITY_ACTIVATION_CODE_LEN);
    else if (pw_len == 0 || pw_len > 4 * IDENTITY_PASSWORD_MAX)
        s_invalid(err, "password", "1 to %d characters", IDENTITY_PASSWORD_MAX);
    else
        return ES_OK;
    sodium_memzero(ins, INS_LEN + 1);
    sodium_memzero(code, IDENTITY_ACTIVATION_CODE_LEN + 1);
    return err->status;
}

int identity_id_check(const ProtobufCBinaryData *id, const char *field, identity_err_t *err)
{
    if (id->len != ID_BYTES)
        return s_invalid(err, field, "16 bytes");
    return ES_OK;
}

int identity_principal_check(int kind, const char *principal, identity_err_t *err)
{
    if (kind == IDENTITY_PATIENT) {
        if (!id_hex_valid(principal))
            return s_invalid(err, "principal", "a patient id is 32 hex");
    } else if (kind == IDENTITY_PRO) {
        if (!principal || rpps_validate(principal) != 0)
            return s_invalid(err, "principal", "an RPPS is 11 digits");
    } else {
        return s_invalid(err, "kind", "patient or professional");
    }
    return ES_OK;
}
