/* agenda.c - espace-pro agenda list, create, update, cancel (pro.h): the
 * agenda service on a professional's session. Labels of kinds and statuses
 * are the schema's (proto/names.h enum_label/enum_parse), but for the
 * aliases below. */
#include <stdio.h>
#include <string.h>

#include "clients/pro/pro.h"
#include "proto/ids.h"
#include "proto/names.h"

#define PRO_MAX_REMINDERS 5 /* reminders per event (agenda service limit) */
#define PRO_LIST_PAGES 100  /* List pages read at most (500 events each) */
#define PRO_LIST_LIMIT 500  /* events per List page */

/* Labels the command line wrote before the labels came from the schema,
 * still read and printed: `--kind tache` is AGENDA_KIND_TACHE_SANTE
 * ("tache-sante" is read too). */
static const struct {
    const char *label;
    int value;
} s_kind_aliases[] = {
    {"tache", ESPACE__V1__AGENDA_KIND__AGENDA_KIND_TACHE_SANTE},
};

static int s_kind_parse(const char *s)
{
    for (size_t i = 0; i < sizeof s_kind_aliases / sizeof s_kind_aliases[0]; i++)
        if (!strcmp(s, s_kind_aliases[i].label))
            return s_kind_aliases[i].value;
    int v = 0;
    return enum_parse(&espace__v1__agenda_kind__descriptor, s, &v) == 0 && v > 0 ? v : -1;
}

static const char *s_kind_label(int kind, char out[ESPACE_LABEL_MAX])
{
    for (size_t i = 0; i < sizeof s_kind_aliases / sizeof s_kind_aliases[0]; i++)
        if (kind == s_kind_aliases[i].value)
            return s_kind_aliases[i].label;
    return enum_label(&espace__v1__agenda_kind__descriptor, kind, out, ESPACE_LABEL_MAX);
}

static int s_status_parse(const char *s)
{
    int v = 0;
    return enum_parse(&espace__v1__agenda_status__descriptor, s, &v) == 0 && v > 0 ? v : -1;
}

static void s_print_event(const Espace__V1__AgendaEvent *ev)
{
    char id[ID_HEX], start[CLI_TIME_MAX], kind[ESPACE_LABEL_MAX], status[ESPACE_LABEL_MAX];
    printf("%s  %s  %s  %s  %s\n", id_hex_bytes(ev->id.data, ev->id.len, id),
           pro_paris_format(ev->start_ms, start), s_kind_label((int)ev->kind, kind),
           enum_label(&espace__v1__agenda_status__descriptor, (int)ev->status, status,
                      sizeof status),
           ev->title ? ev->title : "");
}

/* "<verb> <id> version <n>" of an event as stored. */
static void s_print_change(const char *verb, const Espace__V1__AgendaEvent *ev)
{
    char id[ID_HEX];
    if (ev)
        printf("%s %s version %llu\n", verb, id_hex_bytes(ev->id.data, ev->id.len, id),
               (unsigned long long)ev->version);
}

/* The values of --reminder into out; their count, or -1 (printed). */
static int s_reminders(const cli_opt_t *o, uint32_t out[PRO_MAX_REMINDERS])
{
    for (size_t i = 0; i < o->n; i++) {
        uint64_t v;
        if (cli_parse_u64(o->list[i], 86400, &v) < 0) {
            cli_fail(ES_INVALID_ARGUMENT, "--reminder: minutes before the start, 0..86400");
            return -1;
        }
        out[i] = (uint32_t)v;
    }
    return (int)o->n;
}

int pro_agenda_list(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--patient", CLI_REQUIRED), CLI_OPT("--from", CLI_OPTIONAL), CLI_OPT("--to", CLI_OPTIONAL)};
    char why[CLI_WHY_MAX], pid[ESPACE_PATIENT_ID_MAX];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("agenda list", why, pro_usage);
    int64_t from = cli_wall_ms() - 86400000LL, to;
    int rc = pro_opt_time(o, CLI_COUNT(o), "--from", &from);
    to = from + 366LL * 86400000LL;
    if (rc || (rc = pro_opt_time(o, CLI_COUNT(o), "--to", &to)) != 0)
        return rc;
    espace_t *e = NULL;
    espace_error_t err;
    espace_cursor_t cursor;
    unsigned count = 0;
    rc = pro_resume_patient(c, CLI_VALUE(o, "--patient"), &e, pid);
    if (rc)
        return rc;
    memset(&cursor, 0, sizeof cursor);
    for (int page = 0; page < PRO_LIST_PAGES; page++) {
        Espace__V1__AgendaListReply *r = NULL;
        if (espace_agenda_list(e, pid, from, to, PRO_LIST_LIMIT, &cursor, &r, &err) < 0) {
            rc = cli_fail_err(&err);
            goto close;
        }
        for (size_t i = 0; i < r->n_events; i++)
            s_print_event(r->events[i]);
        count += (unsigned)r->n_events;
        espace_free(&r->base);
        if (!cursor.more)
            break;
    }
    if (count == 0)
        fprintf(stderr, "no events\n");
close:
    espace_close(&e);
    return rc;
}

int pro_agenda_create(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--patient", CLI_REQUIRED),      CLI_OPT("--kind", CLI_REQUIRED),
                     CLI_OPT("--title", CLI_REQUIRED),        CLI_OPT("--start", CLI_REQUIRED),
                     CLI_OPT("--end", CLI_REQUIRED),          CLI_OPT("--location", CLI_OPTIONAL),
                     CLI_OPT("--description", CLI_OPTIONAL),  CLI_OPT_LIST("--reminder", PRO_MAX_REMINDERS)};
    char why[CLI_WHY_MAX], pid[ESPACE_PATIENT_ID_MAX];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("agenda create", why, pro_usage);
    int64_t start = 0, end = 0;
    uint32_t rem[PRO_MAX_REMINDERS];
    int kind = s_kind_parse(CLI_VALUE(o, "--kind"));
    if (kind < 0)
        return cli_fail(ES_INVALID_ARGUMENT,
                        "unknown kind '%.32s' (rdv, hospitalisation, rappel, tache) (field kind)",
                        CLI_VALUE(o, "--kind"));
    int rc = pro_opt_time(o, CLI_COUNT(o), "--start", &start);
    if (rc || (rc = pro_opt_time(o, CLI_COUNT(o), "--end", &end)) != 0)
        return rc;
    int nrem = s_reminders(CLI_GET(o, "--reminder"), rem);
    if (nrem < 0)
        return 1;
    espace_t *e = NULL;
    espace_error_t err;
    espace_whoami_t me;
    rc = pro_resume_patient(c, CLI_VALUE(o, "--patient"), &e, pid);
    if (rc)
        return rc;
    if (espace_whoami(e, &me, &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    Espace__V1__AgendaParticipant me_p = ESPACE__V1__AGENDA_PARTICIPANT__INIT;
    me_p.actor_type = ESPACE__V1__AGENDA_ACTOR__AGENDA_ACTOR_PROFESSIONAL;
    me_p.actor_id = me.principal;
    me_p.display = me.display_name;
    me_p.answer = ESPACE__V1__AGENDA_ANSWER__AGENDA_ANSWER_ACCEPTED;
    Espace__V1__AgendaParticipant *parts[1] = {&me_p};
    Espace__V1__AgendaEvent ev = ESPACE__V1__AGENDA_EVENT__INIT;
    ev.kind = (Espace__V1__AgendaKind)kind;
    ev.title = (char *)CLI_VALUE(o, "--title");
    ev.description = (char *)(CLI_VALUE(o, "--description") ? CLI_VALUE(o, "--description") : "");
    ev.location = (char *)(CLI_VALUE(o, "--location") ? CLI_VALUE(o, "--location") : "");
    ev.start_ms = start;
    ev.end_ms = end;
    ev.source = ESPACE__V1__AGENDA_SOURCE__AGENDA_SOURCE_PRO_SOFTWARE;
    ev.participants = parts;
    ev.n_participants = 1;
    ev.reminder_minutes = rem;
    ev.n_reminder_minutes = (size_t)nrem;
    Espace__V1__AgendaCreateReply *r = NULL;
    if (espace_agenda_create(e, pid, &ev, &r, &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    s_print_change("created", r->event);
    espace_free(&r->base);
close:
    espace_close(&e);
    return rc;
}

/* What `agenda update` changes, parsed from its options. */
typedef struct s_changes {
    const char *title, *description, *location;
    int64_t start, end; /* 0: unchanged */
    int status, kind;   /* -1: unchanged */
    uint32_t rem[PRO_MAX_REMINDERS];
    int nrem;           /* 0: unchanged */
} s_changes_t;

/* The stored event `ev` (of a Get reply) with the changes: fields the reply
 * owns are swapped out into *saved, to be given back with s_restore. */
static void s_apply(Espace__V1__AgendaEvent *ev, uint64_t version, s_changes_t *ch,
                    Espace__V1__AgendaEvent *saved)
{
    *saved = *ev;
    int64_t duration = ev->end_ms - ev->start_ms;
    ev->version = version; /* the one the user saw: a change meanwhile is ABORTED */
    if (ch->title)
        ev->title = (char *)ch->title;
    if (ch->description)
        ev->description = (char *)ch->description;
    if (ch->location)
        ev->location = (char *)ch->location;
    if (ch->start)
        ev->start_ms = ch->start;
    if (ch->end)
        ev->end_ms = ch->end;
    else if (ch->start) /* moved: keep the duration (all-day: to the next midnight) */
        ev->end_ms = ev->all_day ? 0 : ch->start + duration;
    if (ch->status > 0)
        ev->status = (Espace__V1__AgendaStatus)ch->status;
    if (ch->kind > 0)
        ev->kind = (Espace__V1__AgendaKind)ch->kind;
    if (ch->nrem > 0) {
        ev->reminder_minutes = ch->rem;
        ev->n_reminder_minutes = (size_t)ch->nrem;
    }
}

static void s_restore(Espace__V1__AgendaEvent *ev, const Espace__V1__AgendaEvent *saved)
{
    ev->title = saved->title;
    ev->description = saved->description;
    ev->location = saved->location;
    ev->reminder_minutes = saved->reminder_minutes;
    ev->n_reminder_minutes = saved->n_reminder_minutes;
}

int pro_agenda_update(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--patient", CLI_REQUIRED),     CLI_OPT("--id", CLI_REQUIRED),
                     CLI_OPT("--version", CLI_REQUIRED),     CLI_OPT("--title", CLI_OPTIONAL),
                     CLI_OPT("--start", CLI_OPTIONAL),       CLI_OPT("--end", CLI_OPTIONAL),
                     CLI_OPT("--status", CLI_OPTIONAL),      CLI_OPT("--kind", CLI_OPTIONAL),
                     CLI_OPT("--location", CLI_OPTIONAL),    CLI_OPT("--description", CLI_OPTIONAL),
                     CLI_OPT_LIST("--reminder", PRO_MAX_REMINDERS)};
    char why[CLI_WHY_MAX], pid[ESPACE_PATIENT_ID_MAX];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("agenda update", why, pro_usage);
    uint8_t id[ID_BYTES];
    uint64_t version;
    s_changes_t ch = {.title = CLI_VALUE(o, "--title"),
                      .description = CLI_VALUE(o, "--description"),
                      .location = CLI_VALUE(o, "--location"),
                      .status = -1,
                      .kind = -1};
    const char *a_status = CLI_VALUE(o, "--status"), *a_kind = CLI_VALUE(o, "--kind");
    if (id_parse(CLI_VALUE(o, "--id"), id) < 0)
        return cli_fail(ES_INVALID_ARGUMENT, "--id: 32 hex characters (field id)");
    if (cli_parse_u64(CLI_VALUE(o, "--version"), UINT64_MAX, &version) < 0 || version == 0)
        return cli_fail(ES_INVALID_ARGUMENT,
                        "--version: the version you last saw (field version)");
    int rc = pro_opt_time(o, CLI_COUNT(o), "--start", &ch.start);
    if (rc || (rc = pro_opt_time(o, CLI_COUNT(o), "--end", &ch.end)) != 0)
        return rc;
    if (a_status && (ch.status = s_status_parse(a_status)) < 0)
        return cli_fail(ES_INVALID_ARGUMENT, "unknown status '%.32s' (field status)", a_status);
    if (a_kind && (ch.kind = s_kind_parse(a_kind)) < 0)
        return cli_fail(ES_INVALID_ARGUMENT, "unknown kind '%.32s' (field kind)", a_kind);
    if ((ch.nrem = s_reminders(CLI_GET(o, "--reminder"), ch.rem)) < 0)
        return 1;
    espace_t *e = NULL;
    espace_error_t err;
    Espace__V1__AgendaGetReply *g = NULL;
    rc = pro_resume_patient(c, CLI_VALUE(o, "--patient"), &e, pid);
    if (rc)
        return rc;
    if (espace_agenda_get(e, pid, id, &g, &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    if (!g->event) {
        rc = cli_fail(ES_INTERNAL, "empty Get reply");
        goto free_get;
    }
    Espace__V1__AgendaEvent saved;
    s_apply(g->event, version, &ch, &saved);
    Espace__V1__AgendaUpdateReply *r = NULL;
    if (espace_agenda_update(e, pid, g->event, &r, &err) < 0) {
        rc = cli_fail_err(&err);
    } else {
        s_print_change("updated", r->event);
        espace_free(&r->base);
    }
    s_restore(g->event, &saved);
free_get:
    espace_free(&g->base);
close:
    espace_close(&e);
    return rc;
}

int pro_agenda_cancel(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--patient", CLI_REQUIRED),
                     CLI_OPT("--id", CLI_REQUIRED),
                     CLI_OPT("--reason", CLI_REQUIRED),
                     CLI_OPT("--version", CLI_OPTIONAL)};
    char why[CLI_WHY_MAX], pid[ESPACE_PATIENT_ID_MAX];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("agenda cancel", why, pro_usage);
    uint8_t id[ID_BYTES];
    uint64_t version = 0;
    const char *a_version = CLI_VALUE(o, "--version");
    if (id_parse(CLI_VALUE(o, "--id"), id) < 0)
        return cli_fail(ES_INVALID_ARGUMENT, "--id: 32 hex characters (field id)");
    if (a_version && (cli_parse_u64(a_version, UINT64_MAX, &version) < 0 || version == 0))
        return cli_fail(ES_INVALID_ARGUMENT,
                        "--version: the version you last saw (field version)");
    espace_t *e = NULL;
    espace_error_t err;
    int rc = pro_resume_patient(c, CLI_VALUE(o, "--patient"), &e, pid);
    if (rc)
        return rc;
    Espace__V1__AgendaCancelReply *r = NULL;
    if (espace_agenda_cancel(e, pid, id, CLI_VALUE(o, "--reason"), version, &r, &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    s_print_change("cancelled", r->event);
    espace_free(&r->base);
close:
    espace_close(&e);
    return rc;
}
