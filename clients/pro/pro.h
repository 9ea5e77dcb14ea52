/*
 * pro.h - inside espace-pro: what its command files share. Each command
 * family has its file (login.c, access.c, agenda.c, agenda_watch.c) whose
 * commands are `int pro_<family>_<verb>(pro_conf_t *c, int argc, char
 * **argv)`: argv holds the command's options only (global options and the
 * command words are taken off by main.c), parsed with cli_parse (cli.h)
 * against the command's own table. They return the exit code (cli.h).
 * Adding a command: its function in the family's file, a prototype here,
 * one line in main.c's table, one in the usage text.
 *
 * THREAD SAFETY: main thread only.
 */
#ifndef ES_PRO_H
#define ES_PRO_H

#include <stdint.h>
#include <sys/types.h>

#include "clients/cli/cli.h"
#include "clients/lib/espace.h"

#define PRO_PATH_MAX 1024

/* The settings of a run: flags, then <home>/config (home.c). */
typedef struct pro_conf {
    char home[PRO_PATH_MAX];     /* home folder */
    char broker[512];            /* endpoint */
    char broker_key[64];         /* broker public key, Z85 */
    unsigned timeout_ms;         /* per call; 0 = default */
    unsigned timeout_file;       /* timeout_ms of the config file (kept on save) */
    int broker_flag;             /* 1: --broker given (saved by login) */
    int key_flag;                /* 1: --broker-key given (saved by login) */
} pro_conf_t;

/* The usage text (main.c). */
extern const char pro_usage[];

/* ---- home.c: the home folder, the connection, the saved session ---- */

/* Create the home folder (mode 0700, parents too), then read <home>/config
 * (a missing file is fine). 0, or the exit code (error printed). */
int pro_home_load(pro_conf_t *c);

/* A timeout in ms: digits only, at most an hour (0 = the default). */
int pro_parse_ms(const char *v, unsigned *out);

/* <home>/<name> into out (n bytes); ES_INVALID_ARGUMENT if too long. */
int pro_path(char *out, size_t n, const char *home, const char *name);

/* Write `data` to <home>/<name> atomically with `mode`. 0 or ES_INTERNAL. */
int pro_write_file(const char *home, const char *name, const char *data, mode_t mode);

/* Save the broker settings into <home>/config. 0 or ES_INTERNAL. */
int pro_conf_save(const pro_conf_t *c);

/* Open the connection of the settings. 0, or the exit code (printed). */
int pro_open(const pro_conf_t *c, espace_t **e);

/* Open and bind the saved session (espace_resume). 0, or the exit code
 * (printed); *gone = 1 when the session is expired or revoked. */
int pro_resume(const pro_conf_t *c, espace_t **e, int *gone);

/* --patient: a patient id as is, else an INS resolved by identity
 * (espace_patient_id). 0, or the exit code (printed). */
int pro_patient(espace_t *e, const char *arg, char pid[ESPACE_PATIENT_ID_MAX]);

/* pro_resume, then pro_patient on patient unless it is NULL (pid "" then).
 * 0 with *e open, or the exit code (printed; *e closed). */
int pro_resume_patient(const pro_conf_t *c, const char *patient, espace_t **e,
                       char pid[ESPACE_PATIENT_ID_MAX]);

/* A whole file (at most max bytes): *out (caller frees) and *len. 0, or
 * the exit code (printed). */
int pro_read_file(const char *path, size_t max, uint8_t **out, size_t *len);

/* The media type of a file name, from its extension
 * ("application/octet-stream" when unknown). */
const char *pro_mime(const char *name);

/* ---- when.c: times, in Europe/Paris (cli_time_format, cli_time_parse) ---- */

/* ms since the epoch as "YYYY-MM-DD HH:MM +01:00" in Paris time into out. */
const char *pro_paris_format(int64_t ms, char out[CLI_TIME_MAX]);

/* A time as cli_time_parse reads it: a date alone, a Paris time, or a time
 * with an offset. 0 and *ms, or ES_INVALID_ARGUMENT. */
int pro_parse_time(const char *s, int64_t *ms);

/* The time of option `name` among the n options o (absent: *ms untouched).
 * 0, or the exit code (printed: which option, which value, its field). */
int pro_opt_time(const cli_opt_t *o, size_t n, const char *name, int64_t *ms);

/* ---- dmp.c: shared by the dmp and measure commands ---- */

/* err printed (cli_fail_err); a PERMISSION_DENIED one asks whether the
 * patient granted `grant` ("documents:read"...). The exit code. */
int pro_fail_denied(const espace_error_t *err, const char *grant);

/* The most bytes of a list's next_cursor kept between pages. */
#define PRO_CURSOR_MAX 64

/* After a page of a list: a non-empty next cursor of at most PRO_CURSOR_MAX
 * bytes is copied into buf and *cursor points at it (1: ask the next page);
 * else 0 (the list is done), *cursor untouched. */
int pro_cursor_keep(const ProtobufCBinaryData *next, uint8_t buf[PRO_CURSOR_MAX],
                    ProtobufCBinaryData *cursor);

/* ---- the commands ---- */
int pro_keygen(pro_conf_t *c, int argc, char **argv);
int pro_login(pro_conf_t *c, int argc, char **argv);
int pro_whoami(pro_conf_t *c, int argc, char **argv);
int pro_logout(pro_conf_t *c, int argc, char **argv);
int pro_access_request(pro_conf_t *c, int argc, char **argv);
int pro_access_status(pro_conf_t *c, int argc, char **argv);
int pro_emergency(pro_conf_t *c, int argc, char **argv);
int pro_agenda_list(pro_conf_t *c, int argc, char **argv);
int pro_agenda_create(pro_conf_t *c, int argc, char **argv);
int pro_agenda_update(pro_conf_t *c, int argc, char **argv);
int pro_agenda_cancel(pro_conf_t *c, int argc, char **argv);
int pro_agenda_watch(pro_conf_t *c, int argc, char **argv);
int pro_dmp_upload(pro_conf_t *c, int argc, char **argv);
int pro_dmp_replace(pro_conf_t *c, int argc, char **argv);
int pro_dmp_list(pro_conf_t *c, int argc, char **argv);
int pro_dmp_get(pro_conf_t *c, int argc, char **argv);
int pro_measure_add(pro_conf_t *c, int argc, char **argv);
int pro_measure_list(pro_conf_t *c, int argc, char **argv);

#endif
