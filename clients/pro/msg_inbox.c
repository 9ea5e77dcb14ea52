/* msg_inbox.c - espace-pro msg inbox, read and watch (msg.h): fetch the
 * device's queue, decrypt, keep in the store, then acknowledge. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clients/pro/msg.h"
#include "proto/ids.h"

#define S_PAGES_MAX 1000     /* Fetch pages per inbox run */
#define S_WATCH_STEP_MS 500  /* longest wait between checks of the clock and signals */

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* Print text with control characters as spaces (no terminal escapes from
 * a peer). */
static void s_print_text(const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        putchar(((unsigned char)t[i] < 0x20 || t[i] == 0x7f) ? ' ' : t[i]);
}

static void s_member(const Espace__V1__Member *m, char *out, size_t n)
{
    int patient = m && m->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
    snprintf(out, n, "%s:%s", patient ? "patient" : "rpps", m && m->principal ? m->principal : "?");
}

/* Decrypt one copy (docs/e2e.md section 11: an initial message without a
 * session, or one the session refuses as another X3DH, is answered with
 * e2e_x3dh_respond and the prekeys it names). */
static int s_decrypt(msg_store_t *st, const uint8_t dev[16], const uint8_t *ct, size_t len,
                     uint8_t *plain, size_t cap, size_t *plen)
{
    e2e_message_info_t info;
    int rc = e2e_message_info(&info, ct, len);
    if (rc < 0)
        return rc;
    msg_peer_t *p = msg_store_peer(st, dev);
    if (p) {
        rc = e2e_session_decrypt(p->s, ct, len, plain, cap, plen);
        if (rc == 0)
            p->used_ms = cli_wall_ms();
        if (rc != ES_FAILED_PRECONDITION || !info.initial)
            return rc;
    } else if (!info.initial) {
        return ES_FAILED_PRECONDITION; /* no session to read it with */
    }
    const e2e_prekey_t *spk = info.spk_id == st->spk.id ? &st->spk
                              : st->has_old && info.spk_id == st->old_spk.id ? &st->old_spk
                                                                             : NULL;
    const e2e_prekey_t *opk = NULL;
    if (info.opk_kind == E2E_PREKEY_ONE_TIME) {
        for (size_t i = 0; i < st->n_opk && !opk; i++)
            if (st->opk[i].id == info.opk_id)
                opk = &st->opk[i];
    } else if (info.opk_kind == E2E_PREKEY_LAST_RESORT) {
        opk = info.opk_id == st->lrk.id                      ? &st->lrk
              : st->has_old && info.opk_id == st->old_lrk.id ? &st->old_lrk
                                                             : NULL;
    }
    if (!spk || (info.opk_kind != E2E_PREKEY_NONE && !opk))
        return ES_NOT_FOUND; /* a prekey used or expired already */
    e2e_session_t *s = NULL;
    rc = e2e_x3dh_respond(&s, &st->ik, spk, opk, ct, len, plain, cap, plen);
    if (rc < 0)
        return rc;
    msg_store_peer_set(st, dev, s);
    if (info.opk_kind == E2E_PREKEY_ONE_TIME)
        msg_store_opk_drop(st, info.opk_id);
    return 0;
}

/* Download, check and decrypt an attachment into dir; its path into out. */
static int s_attachment(espace_t *e, const espace_msg_attachment_t *a, const char *dir, char *out,
                        size_t n)
{
    espace_error_t err;
    uint8_t *ct = NULL, *plain = NULL;
    size_t ctlen = 0, plen = 0;
    char hex[ID_HEX];
    if (a->size > ESPACE_MSG_ATTACH_MAX)
        return cli_fail(ES_TOO_LARGE, "attachment %s too large", a->name);
    if (espace_messaging_download(e, a->id, a->hash, &ct, &ctlen, &err) < 0)
        return cli_fail_err(&err);
    int rc = espace_messaging_attachment_open(a->key, ct, ctlen, &plain, &plen);
    free(ct);
    if (rc < 0)
        return cli_fail(rc, "attachment %s does not decrypt", a->name);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        rc = cli_fail(ES_INTERNAL, "cannot create %s: %s", dir, strerror(errno));
        goto free;
    }
    int w = snprintf(out, n, "%s/%s-%s", dir, id_hex(a->id, hex), a->name);
    if (w < 0 || (size_t)w >= n) {
        rc = cli_fail(ES_INVALID_ARGUMENT, "attachment path too long");
        goto free;
    }
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
    size_t off = 0;
    while (fd >= 0 && off < plen) {
        ssize_t k = write(fd, plain + off, plen - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            break;
        off += (size_t)k;
    }
    if (fd < 0 || off != plen || close(fd) < 0) {
        if (fd >= 0 && off != plen)
            close(fd);
        rc = cli_fail(ES_INTERNAL, "cannot write %s", out);
    }
free:
    sodium_memzero(plain, plen);
    free(plain);
    return rc;
}

/* A read receipt: mark the lines this device sent that it names as read,
 * print one line. */
static void s_read_receipt(msg_store_t *st, const Espace__V1__Entry *en, const char *from,
                           const espace_msg_content_t *p)
{
    char hex[ID_HEX], when[CLI_TIME_MAX];
    for (size_t i = 0; i < st->n_lines; i++) {
        msg_line_t *l = &st->lines[i];
        if (!(l->out & MSG_LINE_OUT) || memcmp(l->conv, en->conversation_id.data, 16))
            continue;
        for (size_t k = 0; k < p->n_read; k++)
            if (!memcmp(l->id, p->read[k], 16))
                l->out |= MSG_LINE_READ;
    }
    printf("%s  %s  %s  read %zu message%s\n", pro_paris_format(en->sent_ms, when),
           id_hex(en->conversation_id.data, hex), from, p->n_read, p->n_read > 1 ? "s" : "");
}

/* One MESSAGE entry: decrypt, keep, print. 1 when printed, 0 when
 * skipped (said on stderr). */
static int s_message(espace_t *e, msg_store_t *st, const Espace__V1__Entry *en, const char *dir)
{
    uint8_t plain[E2E_MAX_PLAINTEXT];
    size_t plen = 0;
    char hex[ID_HEX], from[80], when[CLI_TIME_MAX];
    espace_msg_content_t p = {.kind = ESPACE_MSG_TEXT};
    s_member(en->sender, from, sizeof from);
    if (en->sender_device.len != 16 || en->conversation_id.len != 16 || en->message_id.len != 16)
        return 0;
    int rc = s_decrypt(st, en->sender_device.data, en->ciphertext.data, en->ciphertext.len, plain,
                       sizeof plain, &plen);
    if (rc == ES_ALREADY_EXISTS) /* read before (the acknowledgement was lost) */
        return 0;
    if (rc == 0)
        rc = espace_messaging_content_decode(plain, plen, &p);
    sodium_memzero(plain, sizeof plain);
    if (rc < 0) {
        fprintf(stderr, "warning: message %s from %s cannot be read: %s\n",
                id_hex(en->message_id.data, hex), from, es_status_name(rc));
        espace_messaging_content_clear(&p);
        return 0;
    }
    if (p.kind == ESPACE_MSG_READ) {
        s_read_receipt(st, en, from, &p);
        espace_messaging_content_clear(&p);
        return 1;
    }
    msg_line_t l = {.ms = en->sent_ms};
    memcpy(l.conv, en->conversation_id.data, 16);
    memcpy(l.id, en->message_id.data, 16);
    snprintf(l.from, sizeof l.from, "%s", from);
    for (size_t i = 0; i < p.n_att; i++) {
        const espace_msg_attachment_t *a = &p.att[i];
        char path[PRO_PATH_MAX + 64];
        size_t at = strlen(l.att);
        const char *sep = at ? "; " : "";
        if (s_attachment(e, a, dir, path, sizeof path) == 0)
            snprintf(l.att + at, sizeof l.att - at, "%s%s -> %s", sep, a->name, path);
        else
            snprintf(l.att + at, sizeof l.att - at, "%s%s (not saved)", sep, a->name);
    }
    rc = msg_store_line(st, &l, p.text, p.text_len);
    printf("%s  %s  %s  ", pro_paris_format(en->sent_ms, when),
           id_hex(en->conversation_id.data, hex), from);
    s_print_text(p.text, p.text_len);
    putchar('\n');
    if (l.att[0]) {
        printf("  attachment ");
        s_print_text(l.att, strlen(l.att));
        putchar('\n');
    }
    espace_messaging_content_clear(&p);
    return rc < 0 ? 0 : 1;
}

int msg_inbox_run(pro_conf_t *c, espace_t *e, msg_store_t *st, const char *dir, int *printed)
{
    espace_error_t err;
    char defdir[PRO_PATH_MAX + 16];
    if (!dir) {
        if (pro_path(defdir, sizeof defdir, c->home, "attachments") < 0)
            return cli_fail(ES_INVALID_ARGUMENT, "home path too long");
        dir = defdir;
    }
    uint64_t after = 0;
    for (int page = 0; page < S_PAGES_MAX; page++) {
        Espace__V1__FetchReply *f = NULL;
        if (espace_messaging_fetch(e, after, 0, &f, &err) < 0)
            return cli_fail_err(&err);
        for (size_t i = 0; i < f->n_entries; i++) {
            const Espace__V1__Entry *en = f->entries[i];
            char hex[ID_HEX], mid[ID_HEX], who[80], when[CLI_TIME_MAX];
            if (en->kind == ESPACE__V1__ENTRY_KIND__ENTRY_KIND_MESSAGE) {
                *printed += s_message(e, st, en, dir);
            } else if (en->kind == ESPACE__V1__ENTRY_KIND__ENTRY_KIND_RECEIPT) {
                s_member(en->receipt_member, who, sizeof who);
                printf("%s  %s  receipt %s received by %s\n",
                       pro_paris_format(en->receipt_ms, when),
                       id_hex_bytes(en->conversation_id.data, en->conversation_id.len, hex),
                       id_hex_bytes(en->message_id.data, en->message_id.len, mid), who);
            }
        }
        int done = f->caught_up || f->n_entries == 0, low = f->hint && f->hint->low;
        uint64_t last = f->last_seq;
        espace_free(&f->base);
        fflush(stdout);
        /* what was read is on disk before the server forgets it */
        if (msg_store_save(st) < 0)
            return cli_fail(ES_INTERNAL, "cannot write %s", st->path);
        if (last > after && espace_messaging_ack(e, last, NULL, &err) < 0)
            return cli_fail_err(&err);
        after = last;
        if (done) {
            if (low)
                fprintf(stderr, "note: few one-time prekeys left: run espace-pro msg keys\n");
            return 0;
        }
    }
    return 0;
}

int pro_msg_inbox(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--out", CLI_OPTIONAL)};
    char why[CLI_WHY_MAX];
    espace_t *e = NULL;
    msg_store_t st;
    int printed = 0;
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("msg inbox", why, pro_usage);
    int rc = msg_begin(c, &e, &st, 0, NULL);
    if (rc)
        return rc;
    rc = msg_inbox_run(c, e, &st, CLI_VALUE(o, "--out"), &printed);
    if (rc == 0 && printed == 0)
        printf("no new messages\n");
    msg_store_close(&st);
    espace_close(&e);
    return rc;
}

int pro_msg_read(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--conversation", CLI_REQUIRED)};
    char why[CLI_WHY_MAX], when[CLI_TIME_MAX];
    espace_t *e = NULL;
    msg_store_t st;
    uint8_t conv[16];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("msg read", why, pro_usage);
    int rc = msg_conv_arg(CLI_VALUE(o, "--conversation"), conv);
    if (rc || (rc = msg_begin(c, &e, &st, 0, NULL)) != 0)
        return rc;
    size_t shown = 0;
    for (size_t i = 0; i < st.n_lines; i++) {
        const msg_line_t *l = &st.lines[i];
        if (memcmp(l->conv, conv, 16))
            continue;
        printf("%s  %s%s  ", pro_paris_format(l->ms, when), l->out & MSG_LINE_OUT ? "> " : "",
               l->from);
        s_print_text(l->text, strlen(l->text));
        printf("%s\n", l->out & MSG_LINE_READ ? "  (lu)" : "");
        if (l->att[0]) {
            printf("  attachment ");
            s_print_text(l->att, strlen(l->att));
            putchar('\n');
        }
        shown++;
    }
    if (!shown)
        printf("no messages of this conversation on this device\n");
    msg_store_close(&st);
    espace_close(&e);
    return 0;
}

int pro_msg_watch(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--count", CLI_OPTIONAL), CLI_OPT("--seconds", CLI_OPTIONAL),
                     CLI_OPT("--out", CLI_OPTIONAL)};
    char why[CLI_WHY_MAX], topic[ESPACE_TOPIC_MAX];
    uint64_t count = 0, seconds = 0;
    espace_t *e = NULL;
    espace_error_t err;
    msg_store_t st;
    int printed = 0;
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("msg watch", why, pro_usage);
    if ((CLI_VALUE(o, "--count") && cli_parse_u64(CLI_VALUE(o, "--count"), 1000000, &count) < 0) ||
        (CLI_VALUE(o, "--seconds") &&
         cli_parse_u64(CLI_VALUE(o, "--seconds"), 86400 * 365, &seconds) < 0))
        return cli_usage("msg watch", "--count and --seconds take a number", pro_usage);
    int rc = msg_begin(c, &e, &st, 0, NULL);
    if (rc)
        return rc;
    if (espace_messaging_watch(e, st.device, topic, &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    fprintf(stderr, "watching %s\n", topic);
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    int64_t end = seconds ? cli_mono_ms() + (int64_t)seconds * 1000 : INT64_MAX;
    rc = msg_inbox_run(c, e, &st, CLI_VALUE(o, "--out"), &printed); /* what came before */
    while (rc == 0 && !s_stop && (!count || (uint64_t)printed < count)) {
        int64_t left = end - cli_mono_ms();
        if (left <= 0)
            break;
        Espace__V1__Entry *n = NULL;
        int r = espace_messaging_next_notice(e, left < S_WATCH_STEP_MS ? (int)left
                                                                       : S_WATCH_STEP_MS,
                                             &n, &err);
        if (r == ES_DEADLINE_EXCEEDED)
            continue;
        if (r < 0) {
            rc = cli_fail_err(&err);
            break;
        }
        espace_free(&n->base); /* a hint: the queue is the truth */
        rc = msg_inbox_run(c, e, &st, CLI_VALUE(o, "--out"), &printed);
    }
close:
    msg_store_close(&st);
    espace_close(&e);
    return rc;
}
