/* agenda_watch.c - espace-pro agenda watch (pro.h): live changes of the
 * events the professional takes part in. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "clients/pro/pro.h"
#include "proto/ids.h"
#include "proto/names.h"

#define PRO_WATCH_CHECK_MS 30000 /* re-check the session this often */
#define PRO_WATCH_STEP_MS 500    /* longest wait between checks of the clock and signals */

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* Who made the last change of ev: a participant's name when one is that
 * principal, else "the patient", "RPPS <n>", "app <id>". */
static const char *s_who(const Espace__V1__AgendaEvent *ev, char *out, size_t n)
{
    const char *by = ev->updated_by ? ev->updated_by : "";
    for (size_t i = 0; i < ev->n_participants; i++) {
        const Espace__V1__AgendaParticipant *p = ev->participants[i];
        if (p->actor_id && !strcmp(p->actor_id, by) && p->display && *p->display) {
            snprintf(out, n, "%s", p->display);
            return out;
        }
    }
    switch (ev->updated_by_kind) {
    case ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT:
        snprintf(out, n, "the patient");
        break;
    case ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL:
        snprintf(out, n, "RPPS %s", by);
        break;
    case ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_APP:
        snprintf(out, n, "app %s", by);
        break;
    default:
        snprintf(out, n, "%s", *by ? by : "espace");
    }
    return out;
}

/* Print the line of one notice of pro.<rpps>.agenda. The notice has no
 * content (docs/agenda.md): the event is read with Get, which asks consent
 * and audits; a refused Get prints "(no access)", never the content. 0, or
 * the exit code when the session ended. */
static int s_line(espace_t *e, const Espace__V1__AgendaChange *ch)
{
    char id[ID_HEX], start[CLI_TIME_MAX], kind[ESPACE_LABEL_MAX];
    enum_label(&espace__v1__agenda_change_kind__descriptor, (int)ch->kind, kind, sizeof kind);
    unsigned long long cv = (unsigned long long)ch->change_version;
    id_hex_bytes(ch->event->id.data, ch->event->id.len, id);
    espace_error_t err;
    Espace__V1__AgendaGetReply *g = NULL;
    if (ch->event->id.len != ID_BYTES ||
        espace_agenda_get(e, ch->event->patient_id, ch->event->id.data, &g, &err) < 0) {
        if (ch->event->id.len != ID_BYTES)
            err.status = ES_NOT_FOUND;
        else if (err.status == ES_UNAUTHENTICATED)
            return cli_fail_err(&err);
        if (err.status == ES_PERMISSION_DENIED || err.status == ES_NOT_FOUND)
            printf("%llu  %s  %s  (no access)\n", cv, kind, id);
        else
            printf("%llu  %s  %s  (not visible: %s)\n", cv, kind, id,
                   espace_status_name(err.status));
        fflush(stdout);
        return 0;
    }
    const Espace__V1__AgendaEvent *ev = g->event;
    if (ev && ev->start_ms)
        pro_paris_format(ev->start_ms, start);
    else
        snprintf(start, sizeof start, "-");
    char who[256] = "?";
    if (ev)
        s_who(ev, who, sizeof who);
    printf("%llu  %s  %s  %s  %s  by %s", cv, kind, id, start,
           ev && ev->title && *ev->title ? ev->title : "-", who);
    if (ev && ev->status == ESPACE__V1__AGENDA_STATUS__AGENDA_STATUS_CANCELLED)
        printf("  reason: %s", ev->cancel_reason && *ev->cancel_reason ? ev->cancel_reason : "-");
    printf("\n");
    fflush(stdout);
    espace_free(&g->base);
    return 0;
}

int pro_agenda_watch(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {
        CLI_OPT("--patient", CLI_OPTIONAL), CLI_OPT("--count", CLI_OPTIONAL), CLI_OPT("--seconds", CLI_OPTIONAL)};
    char why[CLI_WHY_MAX], pid[ESPACE_PATIENT_ID_MAX], topic[ESPACE_TOPIC_MAX];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("agenda watch", why, pro_usage);
    uint64_t count = 0, seconds = 0;
    const char *a_count = CLI_VALUE(o, "--count"), *a_seconds = CLI_VALUE(o, "--seconds");
    const char *patient = CLI_VALUE(o, "--patient");
    if (a_count && (cli_parse_u64(a_count, UINT64_MAX, &count) < 0 || count == 0))
        return cli_fail(ES_INVALID_ARGUMENT, "--count: a number of changes >= 1");
    if (a_seconds && (cli_parse_u64(a_seconds, 86400ULL * 365, &seconds) < 0 || seconds == 0))
        return cli_fail(ES_INVALID_ARGUMENT, "--seconds: a number of seconds >= 1");
    espace_t *e = NULL;
    espace_error_t err;
    int rc = pro_resume_patient(c, patient, &e, pid);
    if (rc)
        return rc;
    if (espace_agenda_watch(e, topic, &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    fprintf(stderr, "watching %s%s%s\n", topic, patient ? " for patient " : "",
            patient ? pid : "");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int64_t end = seconds ? cli_mono_ms() + (int64_t)seconds * 1000 : INT64_MAX;
    int64_t check_at = cli_mono_ms() + PRO_WATCH_CHECK_MS;
    uint64_t seen = 0;
    while (!s_stop && (!count || seen < count)) {
        int64_t now = cli_mono_ms();
        if (now >= end)
            break;
        if (now >= check_at) { /* the session may have ended: watching again tells */
            if (espace_agenda_watch(e, NULL, &err) < 0) {
                rc = cli_fail_err(&err);
                goto close;
            }
            check_at = now + PRO_WATCH_CHECK_MS;
        }
        int64_t wait = end - now < PRO_WATCH_STEP_MS ? end - now : PRO_WATCH_STEP_MS;
        Espace__V1__AgendaChange *ch = NULL;
        int got = espace_agenda_next_change(e, (int)wait, &ch, &err);
        if (got == ES_DEADLINE_EXCEEDED)
            continue;
        if (got < 0) {
            rc = cli_fail_err(&err);
            goto close;
        }
        if (ch->event->patient_id && (!patient || !strcmp(ch->event->patient_id, pid))) {
            rc = s_line(e, ch);
            seen++;
        }
        espace_free(&ch->base);
        if (rc)
            goto close;
    }
close:
    espace_close(&e);
    return rc;
}
