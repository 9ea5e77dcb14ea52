/*
 * rpps.h - RPPS numbers of health professionals.
 *
 * An RPPS is exactly RPPS_LEN ASCII digits (REFERENCE.md section 5.2). No
 * check digit is enforced: ANS's own example and test values fail Luhn.
 * No spaces or other characters are accepted. An RPPS is public (Annuaire
 * Santé) and may appear in logs and keys.
 *
 * THREAD SAFETY: pure function.
 */
#ifndef ES_RPPS_H
#define ES_RPPS_H

#define RPPS_LEN 11

/* 0 if `s` (NUL-terminated) is a well-formed RPPS, else ES_INVALID_ARGUMENT. */
int rpps_validate(const char *s);

#endif
