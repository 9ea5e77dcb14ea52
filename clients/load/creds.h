/*
 * creds.h - the accounts file espace-load reads, written by
 * `espace admin seed` (espace/admin_seed.c). Text, one account a line,
 * fields separated by single spaces, '#' lines are comments:
 *
 *   patient <patient id, 32 hex> <INS, 15 chars> <password> [<token> ...]
 *   pro <RPPS, 11 digits> <password> [<patient id>,...]
 *
 * Tokens are session tokens of the patient's seeded devices (one per
 * device, made by seed with identity Login), so the load client can resume
 * its sessions instead of paying Argon2id per connection; a patient line
 * without tokens makes espace-load log in with the password. A pro line
 * lists the patients who granted that professional AGENDA and MESSAGING read+write
 * (and with whom it started a conversation: the relay scenario); its
 * CURVE keypair (registered with the broker by seed) is the file
 * <accounts file>.keys/<RPPS>.key (the pro scenario, pro.c).
 *
 * These are BENCH accounts with known passwords: the file is a secret
 * (mode 0600; tokens and passwords are wiped at creds_destroy), and the
 * accounts must never live on a server holding real patients.
 *
 * Errors: ES_NOT_FOUND (no file), ES_INVALID_ARGUMENT (a malformed line:
 * message on stderr with its number), ES_RESOURCE_EXHAUSTED.
 * Memory: creds_load allocates, creds_destroy frees and NULLs.
 * THREAD SAFETY: none.
 */
#ifndef ES_LOAD_CREDS_H
#define ES_LOAD_CREDS_H

#include <stddef.h>

#define CREDS_MAX_TOKENS 8
#define CREDS_MAX_LINE 8192
#define CREDS_MAX_PATIENTS_PER_PRO 256

typedef struct creds_patient {
    char id[33];
    char ins[16];
    char *password;
    unsigned n_tokens;
    char *tokens[CREDS_MAX_TOKENS];
} creds_patient_t;

typedef struct creds_pro {
    char rpps[12];
    char *password;
    unsigned n_patients;
    char (*patients)[33];
} creds_pro_t;

typedef struct creds {
    creds_patient_t *patients;
    size_t n_patients;
    creds_pro_t *pros;
    size_t n_pros;
} creds_t;

int creds_load(const char *path, creds_t **out);
void creds_destroy(creds_t **c);

#endif
