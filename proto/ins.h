/*
 * ins.h - the matricule INS (Identité Nationale de Santé) of a patient.
 *
 * A matricule INS is a NIR (or NIA, built like a NIR) : 13 characters and a
 * 2-digit key, 15 characters in all (REFERENCE.md section 5.1). Accepted
 * input: spaces anywhere are ignored and letters may be lower-case.
 *
 * Checks made by ins_validate, in order:
 *   - exactly INS_LEN characters once spaces are removed;
 *   - position 1 (sex) is '1' or '2'. Numbers starting with 7/8 (NNP) or
 *     5/6 (MIG) are CNAM-internal provisional numbers, not INS, and are
 *     refused. A NIA "is built like a NIR" and so starts with 1 or 2 too: it
 *     is accepted by the same rule, with the same key (UNCONF for NIA);
 *   - positions 6-7 (department) are two digits, "2A" or "2B" (Corsica);
 *     every other position is a digit;
 *   - key = 97 - (body mod 97), where body is the 13 first characters with
 *     2A -> 19 and 2B -> 18, equals the 2 last digits.
 * Year, month, department and commune values are not checked further (real
 * NIRs hold month values outside 01..12).
 *
 * The normalised form (no spaces, upper-case) is what identity stores and
 * hashes. An INS is personal data: never log it.
 *
 * THREAD SAFETY: pure functions.
 */
#ifndef ES_INS_H
#define ES_INS_H

#include <stddef.h>

#define INS_LEN 15 /* characters of a normalised INS */

/* Normalise `in` (NUL-terminated): drop spaces, upper-case ASCII letters.
 * Writes INS_LEN chars + NUL to out. ES_INVALID_ARGUMENT if the result would
 * not be exactly INS_LEN characters or holds a byte that is not an ASCII
 * digit or letter. */
int ins_normalise(const char *in, char out[INS_LEN + 1]);

/* Normalise and check `in` as described above. 0 and out set (if out is not
 * NULL) when valid, else ES_INVALID_ARGUMENT. */
int ins_validate(const char *in, char out[INS_LEN + 1]);

#endif
