/*
 * admin_seed.h - `espace admin seed`: make BENCH accounts for espace-load.
 *
 *   seed --patients N [--devices D] [--first K] [--out FILE]
 *
 * Signs up N patients (identity SignUpPatient: real accounts, password
 * hashed with Argon2id at the server's ESPACE_PWHASH cost) with made-up
 * INS numbers K..K+N-1 (sex 2, department 99: "born abroad", so they do not
 * collide with test patients), all with one known password:
 * $ESPACE_PASSWORD, else ADMIN_SEED_PASSWORD. A patient that already exists
 * (a second seed) is logged in again. Then logs each patient in D times
 * (identity Login, one new device "bench-<d>" each) and writes the accounts
 * file (clients/load/creds.h: "patient <id> <ins> <password> <token>...")
 * to FILE (default "espace-load.accounts"), mode 0600: it holds passwords
 * and session tokens.
 *
 * These are bench accounts with a known password: seed them only into a
 * data folder made for a benchmark, never next to real patients.
 * Needs `espace up` (goes over ipc to the broker, like the other admin
 * commands that call services).
 *
 * THREAD SAFETY: main thread only.
 */
#ifndef ES_ADMIN_SEED_H
#define ES_ADMIN_SEED_H

#include "espace/config.h"

#define ADMIN_SEED_PASSWORD "espace-bench-password"
#define ADMIN_SEED_MAX_PATIENTS 100000
#define ADMIN_SEED_MAX_DEVICES 8

/* argv: the arguments after "seed". Exit code: 0, 1 on error, 2 usage. */
int admin_seed(const espace_config_t *cfg, int argc, char **argv);

#endif
