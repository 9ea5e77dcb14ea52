/*
 * espace-pro - command line for health professionals, on top of libespace.
 *
 *   espace-pro [--home DIR] [--broker tcp://H:P] [--broker-key Z85] [--timeout MS]
 *              keygen | login --rpps R [--device NAME] | whoami | logout
 *            | access request --patient INS|ID --scope SCOPES --purpose P --days N --reason TEXT
 *            | access status [--patient INS|ID]
 *            | emergency --patient INS|ID --reason TEXT
 *            | agenda list|create|update|cancel|watch --patient INS|ID ... (see pro_usage)
 *            | msg keys|start|list|send|attach|inbox|read|watch|safety|close ... (msg.h)
 *            | dmp upload|replace|list|get --patient INS|ID ...   (dmp.c)
 *            | measure add|list --patient INS|ID ...              (measure.c)
 *
 * Home folder ($ESPACE_PRO_HOME, else ~/.config/espace-pro), mode 0700:
 *   config         `broker = ...`, `broker_key = ...`, `timeout_ms = ...` lines
 *                  (flags override; `login` saves the flags it was given)
 *   curve.key      own CURVE secret key (0600), made by keygen
 *   curve.key.pub  its public key (Z85), to be registered by the operator
 *   session        the session token (0600), written by login
 *   messaging-<device>.store  the device's messaging keys, sessions and history,
 *                  encrypted under a passphrase (0600; clients/pro/msg.h)
 * Password: $ESPACE_PASSWORD, else one line on stdin.
 * Errors: "error: STATUS: message" on stderr, exit 1 (2 for usage).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/pro/msg.h"
#include "clients/pro/pro.h"

#define PRO_MAX_ARGS 256 /* arguments of one command line */

const char pro_usage[] =
    "usage: espace-pro [options] COMMAND\n"
    "commands:\n"
    "  keygen                        create this software's keypair, print its public key\n"
    "  login --rpps R [--device N]   log in (password: $ESPACE_PASSWORD or stdin)\n"
    "  whoami                        show who the saved session is\n"
    "  logout                        end the session and forget it\n"
    "  access request --patient P --scope CATEGORY:ACTION[,...] --purpose P --days N\n"
    "                 --reason TEXT  ask a patient for access (consent RequestAccess)\n"
    "  access status [--patient P]   your grants and requests: id, patient, scopes,\n"
    "                                status, period\n"
    "  emergency --patient P --reason TEXT\n"
    "                                declare an emergency access (bris de glace, 4 hours)\n"
    "  agenda list --patient P [--from T] [--to T]\n"
    "                                the patient's events (default: from yesterday, one\n"
    "                                year): id, start (Paris), kind, status, title\n"
    "  agenda create --patient P --kind K --title T --start T --end T [--location L]\n"
    "                [--description D] [--reminder MIN]...\n"
    "                                new event with you as participant; prints id, version\n"
    "  agenda update --patient P --id ID --version V [--title T] [--start T] [--end T]\n"
    "                [--status S] [--kind K] [--location L] [--description D]\n"
    "                [--reminder MIN]...  change an event (stale version: ABORTED)\n"
    "  agenda cancel --patient P --id ID [--version V] --reason TEXT\n"
    "  agenda watch [--patient P] [--count N] [--seconds S]\n"
    "                                print live changes of events you take part in:\n"
    "                                change version, change, id, start, title (read\n"
    "                                with agenda Get; \"(no access)\" once the grant ended)\n"
    "  msg keys [--rotate]           make, register and publish this device's messaging keys\n"
    "                                (passphrase: $ESPACE_PRO_PASSPHRASE or stdin)\n"
    "  msg start --patient P [--pro RPPS]...   a new conversation; prints its id\n"
    "  msg list                      your conversations: id, started, patient, open/closed\n"
    "  msg send (--conversation ID | --patient P) --text TEXT\n"
    "                                end-to-end encrypted, one copy per device\n"
    "  msg attach (--conversation ID | --patient P) --file F [--text TEXT]\n"
    "  msg inbox [--out DIR]         new messages (Paris time), attachments saved in DIR\n"
    "  msg read --conversation ID    the thread as kept on this device\n"
    "  msg watch [--count N] [--seconds S] [--out DIR]   live arrivals\n"
    "  msg safety --conversation ID  safety numbers with the other members' devices\n"
    "  msg close --conversation ID   close the conversation to replies\n"
    "  dmp upload --patient P --file F --type CODE --title T [--class C] [--mime M]\n"
    "             [--created T] [--comments TEXT] [--confidentiality normal|restricted|\n"
    "             very-restricted] [--hidden]   file a document (--hidden: not yet visible\n"
    "                                to the patient); prints its id, size and hash\n"
    "  dmp replace --patient P --id ID --file F [the options of upload]   a new version\n"
    "  dmp list --patient P [--class C] [--type CODE] [--category G] [--status S]\n"
    "           [--from T] [--to T]   the documents you may see, newest first\n"
    "  dmp get --patient P --id ID [--class C] (--out FILE | --fhir)   download (checked\n"
    "          against its hash) or print its FHIR DocumentReference\n"
    "  measure add --patient P --kind K (--value V | --systolic S --diastolic D)\n"
    "              [--glucose-type G --moment M [--days N]] [--at T] [--code LOINC]\n"
    "              [--device ID]\n"
    "  measure list --patient P --kind K [--from T] [--to T] [--daily|--raw] [--code LOINC]\n"
    "               [--glucose-type G] [--fhir]\n"
    "options:\n"
    "  --home DIR         folder of config, keys and session\n"
    "                     (default $ESPACE_PRO_HOME or ~/.config/espace-pro)\n"
    "  --broker ENDPOINT  tcp://HOST:PORT of espace (saved by login)\n"
    "  --broker-key Z85   espace's public key (saved by login)\n"
    "  --timeout MS       per-request timeout (default 5000)\n"
    "scopes: CATEGORY:ACTION[:CODE[+CODE...]] with CATEGORY agenda, documents, measures or\n"
    "  messaging and ACTION read or write; purposes: prevention, diagnostic, soins,\n"
    "  suivi_social_medicosocial\n"
    "--patient P: an INS (15 characters, resolved by identity) or a patient id (32 hex)\n"
    "agenda: T is Paris local time 2026-12-01T09:30 (or 2026-12-01T08:30Z in UTC);\n"
    "  K is rdv, hospitalisation, rappel or tache (tache-sante); S is a FHIR status (proposed, pending,\n"
    "  booked, arrived, checked-in, fulfilled, noshow, waitlist, entered-in-error; cancel\n"
    "  with agenda cancel)\n"
    "dmp: CODE a document type of docs/dmp.md (e.g. 11488-4), C a class code (e.g. 10;\n"
    "  name it when your grant is narrowed to classes), G syntheses, treatments, reports,\n"
    "  imaging, biology, prevention or other, S current or superseded\n"
    "measure: K weight, height, steps, temperature, waist, heart-rate, blood-pressure, pain or\n"
    "  glucose (G blood, interstitial, gmi, hba1c; M post-prandial, fasting, before-meal,\n"
    "  after-exercise, other, malaise); --code LOINC when your grant is narrowed to codes\n";

/* The commands: the first word, the second one (NULL for none) and the
 * function (pro.h) that parses the command's options and runs it. */
static const struct {
    const char *name, *sub;
    int (*run)(pro_conf_t *c, int argc, char **argv);
} s_commands[] = {
    {"keygen", NULL, pro_keygen},
    {"login", NULL, pro_login},
    {"whoami", NULL, pro_whoami},
    {"logout", NULL, pro_logout},
    {"access", "request", pro_access_request},
    {"access", "status", pro_access_status},
    {"emergency", NULL, pro_emergency},
    {"agenda", "list", pro_agenda_list},
    {"agenda", "create", pro_agenda_create},
    {"agenda", "update", pro_agenda_update},
    {"agenda", "cancel", pro_agenda_cancel},
    {"agenda", "watch", pro_agenda_watch},
    {"msg", "keys", pro_msg_keys},
    {"msg", "start", pro_msg_start},
    {"msg", "list", pro_msg_list},
    {"msg", "send", pro_msg_send},
    {"msg", "attach", pro_msg_attach},
    {"msg", "inbox", pro_msg_inbox},
    {"msg", "read", pro_msg_read},
    {"msg", "watch", pro_msg_watch},
    {"msg", "safety", pro_msg_safety},
    {"msg", "close", pro_msg_close},
    {"dmp", "upload", pro_dmp_upload},
    {"dmp", "replace", pro_dmp_replace},
    {"dmp", "list", pro_dmp_list},
    {"dmp", "get", pro_dmp_get},
    {"measure", "add", pro_measure_add},
    {"measure", "list", pro_measure_list},
};
#define S_NCOMMANDS (sizeof s_commands / sizeof s_commands[0])

/* 1 if `name` is a command with second words. */
static int s_has_subs(const char *name)
{
    for (size_t i = 0; i < S_NCOMMANDS; i++)
        if (!strcmp(s_commands[i].name, name) && s_commands[i].sub)
            return 1;
    return 0;
}

/* "error: agenda needs list, create, update, cancel or watch" and usage. */
static int s_needs_sub(const char *name)
{
    char why[CLI_WHY_MAX];
    size_t used = (size_t)snprintf(why, sizeof why, "%s needs", name), n = 0, k = 0;
    for (size_t i = 0; i < S_NCOMMANDS; i++)
        n += !strcmp(s_commands[i].name, name);
    for (size_t i = 0; i < S_NCOMMANDS && used < sizeof why; i++) {
        if (strcmp(s_commands[i].name, name))
            continue;
        k++;
        used += (size_t)snprintf(why + used, sizeof why - used, "%s%s",
                                 k == 1 ? " " : k == n ? " or " : ", ", s_commands[i].sub);
    }
    return cli_usage(NULL, why, pro_usage);
}

/* The global options (anywhere on the line) into c; the other options
 * (each with the value after it, or alone when the next argument is an
 * option or there is none: a switch) into opts, the words into words. 0, 1 for
 * --help, or the usage exit code. */
static int s_split(int argc, char **argv, pro_conf_t *c, char **opts, int *nopts, char **words,
                   int *nwords)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return 1;
        if (a[0] != '-') {
            words[(*nwords)++] = argv[i];
            continue;
        }
        if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2)) {
            /* a switch (--rotate, --fhir): no value; the command's own
             * table says whether it needed one */
            if (!strcmp(a, "--home") || !strcmp(a, "--broker") || !strcmp(a, "--broker-key") ||
                !strcmp(a, "--timeout")) {
                char why[CLI_WHY_MAX];
                snprintf(why, sizeof why, "%.64s needs a value", a);
                return cli_usage(NULL, why, pro_usage);
            }
            opts[(*nopts)++] = argv[i];
            continue;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--home")) {
            snprintf(c->home, sizeof c->home, "%s", v);
        } else if (!strcmp(a, "--broker")) {
            snprintf(c->broker, sizeof c->broker, "%s", v);
            c->broker_flag = 1;
        } else if (!strcmp(a, "--broker-key")) {
            snprintf(c->broker_key, sizeof c->broker_key, "%s", v);
            c->key_flag = 1;
        } else if (!strcmp(a, "--timeout")) {
            if (pro_parse_ms(v, &c->timeout_ms) < 0)
                return cli_usage(NULL, "--timeout: milliseconds, 0..3600000", pro_usage);
        } else {
            opts[(*nopts)++] = argv[i - 1];
            opts[(*nopts)++] = argv[i];
        }
    }
    return 0;
}

/* The home folder: --home, else $ESPACE_PRO_HOME, else ~/.config/espace-pro. */
static int s_home(pro_conf_t *c)
{
    if (c->home[0])
        return 0;
    const char *env = getenv("ESPACE_PRO_HOME");
    const char *home = getenv("HOME");
    if (env && *env)
        snprintf(c->home, sizeof c->home, "%s", env);
    else if (home && *home)
        snprintf(c->home, sizeof c->home, "%s/.config/espace-pro", home);
    else
        return cli_fail(ES_INVALID_ARGUMENT, "no home folder: pass --home DIR");
    return 0;
}

int main(int argc, char **argv)
{
    pro_conf_t c;
    char *opts[PRO_MAX_ARGS], *words[PRO_MAX_ARGS];
    int nopts = 0, nwords = 0;
    memset(&c, 0, sizeof c);
    if (sodium_init() < 0)
        return cli_fail(ES_INTERNAL, "libsodium init failed");
    if (argc > PRO_MAX_ARGS)
        return cli_usage(NULL, "too many arguments", pro_usage);
    int rc = s_split(argc, argv, &c, opts, &nopts, words, &nwords);
    if (rc == 1) {
        fputs(pro_usage, stdout);
        return 0;
    }
    if (rc)
        return rc;
    if (nwords == 0) {
        fputs(pro_usage, stderr);
        return 2;
    }
    const char *cmd = words[0];
    int subs = s_has_subs(cmd);
    const char *sub = subs && nwords > 1 ? words[1] : NULL;
    if (nwords > (subs ? 2 : 1)) {
        char why[CLI_WHY_MAX];
        snprintf(why, sizeof why, "unexpected argument %.64s", words[subs ? 2 : 1]);
        return cli_usage(NULL, why, pro_usage);
    }
    size_t i = 0;
    while (i < S_NCOMMANDS && (strcmp(s_commands[i].name, cmd) ||
                               (subs && (!sub || strcmp(s_commands[i].sub, sub)))))
        i++;
    if (i == S_NCOMMANDS && subs)
        return s_needs_sub(cmd);
    if (i == S_NCOMMANDS) {
        char why[CLI_WHY_MAX];
        snprintf(why, sizeof why, "unknown command %.64s", cmd);
        return cli_usage(NULL, why, pro_usage);
    }
    if ((rc = s_home(&c)) != 0 || (rc = pro_home_load(&c)) != 0)
        return rc;
    return s_commands[i].run(&c, nopts, opts);
}
