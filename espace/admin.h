/*
 * admin.h - `espace admin ...`: the operator's commands.
 *
 *   keys gen --out FILE       make a CURVE keypair file (+ FILE.pub), print the public key
 *   keys add --role R --name N --public Z85   admit a key on tcp (R: service|gateway|pro|app)
 *   keys remove --public Z85  refuse it from the next connection on
 *   keys list                 the registered keys
 *   keys show                 the broker's public key (made if missing)
 *   create-pro --rpps R --last-name L --first-name F --profession P
 *                             create a professional account (password: $ESPACE_PASSWORD
 *                             or one line on stdin); needs espace up
 *   backup --out DIR          hot copy of every store of the data folder into DIR/<name>
 *   catalogue add --id ID --name N --publisher P --description-fr T --purpose P[,P...]
 *                 --scope CATEGORY:ACTION[:CODE[+CODE...]][,...] --public Z85
 *                 --terms URL --privacy URL [--hds]
 *                             reference an app (consent AddApp)
 *   catalogue withdraw --id ID | list [--all] | show --id ID
 *                             consent WithdrawApp / ListApps / GetApp
 *   patient resolve --ins INS the patient id of an INS (identity ResolvePatient)
 *   audit verify [--patient ID]
 *                             consent VerifyAudit: "audit ok: N entries in M chains"
 *                             (exit 0) or "audit BROKEN: patient P at sequence S" (exit 1)
 *
 * Key commands edit the broker's store (<data>/broker) directly (LMDB lets
 * several processes share it, so this works while the broker runs). Commands
 * that need a service (create-pro, catalogue, audit) go over ipc to the
 * running broker as the local operator (Caller kind PRINCIPAL_OPERATOR,
 * principal "operator"), through libespace (clients/lib/espace.h). One file
 * per command family (admin_int.h).
 *
 * THREAD SAFETY: main thread only.
 */
#ifndef ES_ADMIN_H
#define ES_ADMIN_H

#include <stdio.h>

#include "espace/config.h"

/* Run `espace admin` with the arguments after "admin" (flags of config.h
 * already removed). Returns the exit code: 0, 1 on error, 2 on usage error. */
int admin_main(const espace_config_t *cfg, int argc, char **argv);

/* The help text of `espace admin --help`. */
extern const char admin_help[];

/* Print every admin command, one a line ("admin keys gen"), for `espace
 * --commands`: the families of the table, with the subcommands their help
 * lists (a family its help does not list is printed alone). */
void admin_list_commands(FILE *f);

#endif
