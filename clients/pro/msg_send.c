/* msg_send.c - espace-pro msg send and msg attach (msg.h): one ciphertext
 * per device of every member (the professional's other devices included),
 * sessions made from claimed bundles, one retry when the devices changed. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/pro/msg.h"
#include "proto/ids.h"

/* The copies of one message under construction. */
typedef struct s_copies {
    uint8_t dev[ESPACE_MSG_MAX_COPIES][16];
    uint8_t *ct[ESPACE_MSG_MAX_COPIES];
    size_t len[ESPACE_MSG_MAX_COPIES];
    size_t n;
} s_copies_t;

static void s_copies_free(s_copies_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->ct[i]);
    c->n = 0;
}

static int s_has_copy(const s_copies_t *c, const uint8_t dev[16])
{
    for (size_t i = 0; i < c->n; i++)
        if (!memcmp(c->dev[i], dev, 16))
            return 1;
    return 0;
}

/* The devices to write to: every current device of every member but ours
 * (from a GetConversation or a DEVICES_CHANGED reply). */
static int s_targets(const msg_store_t *st, Espace__V1__MemberDevices *const *md, size_t n,
                     uint8_t out[ESPACE_MSG_MAX_COPIES][16], size_t *count, int *patient_devs)
{
    *count = 0;
    *patient_devs = 0;
    for (size_t i = 0; i < n; i++) {
        int patient = md[i]->member &&
                      md[i]->member->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
        for (size_t j = 0; j < md[i]->n_devices; j++) {
            const ProtobufCBinaryData *d = &md[i]->devices[j]->device_id;
            if (d->len != 16 || !memcmp(d->data, st->device, 16))
                continue;
            if (*count == ESPACE_MSG_MAX_COPIES)
                return cli_fail(ES_TOO_LARGE, "more than %d devices in this conversation",
                                ESPACE_MSG_MAX_COPIES);
            memcpy(out[(*count)++], d->data, 16);
            *patient_devs += patient;
        }
    }
    return 0;
}

/* Sessions with the targets that have none: claim their bundles, X3DH. */
static int s_sessions(espace_t *e, msg_store_t *st, const uint8_t conv[16],
                      uint8_t targets[][16], size_t n)
{
    uint8_t need[ESPACE_MSG_MAX_COPIES][16];
    size_t k = 0;
    espace_error_t err;
    char hex[ID_HEX];
    for (size_t i = 0; i < n; i++)
        if (!msg_store_peer(st, targets[i]))
            memcpy(need[k++], targets[i], 16);
    if (k == 0)
        return 0;
    Espace__V1__ClaimBundlesReply *cb = NULL;
    if (espace_messaging_claim_bundles(e, conv, (const uint8_t(*)[16])need, k, &cb, &err) < 0)
        return cli_fail_err(&err);
    int rc = 0;
    for (size_t i = 0; i < cb->n_bundles && rc == 0; i++) {
        const Espace__V1__Bundle *b = cb->bundles[i];
        e2e_bundle_t eb;
        e2e_session_t *s = NULL;
        int r = espace_messaging_bundle(b, &eb);
        if (r == 0 && b->device_id.len != 16)
            r = ES_INVALID_ARGUMENT;
        if (r == 0)
            r = e2e_x3dh_initiate(&s, &st->ik, &eb);
        if (r < 0)
            rc = cli_fail(r, "the bundle of device %s does not verify",
                          id_hex_bytes(b->device_id.data, b->device_id.len, hex));
        else
            msg_store_peer_set(st, b->device_id.data, s);
    }
    espace_free(&cb->base);
    return rc;
}

/* Encrypt plain for every target without a copy yet; drop the copies of
 * devices that are no longer targets. */
static int s_encrypt(msg_store_t *st, s_copies_t *c, uint8_t targets[][16], size_t n,
                     const uint8_t *plain, size_t plen)
{
    for (size_t i = 0; i < c->n;) { /* stale copies */
        size_t j = 0;
        while (j < n && memcmp(targets[j], c->dev[i], 16))
            j++;
        if (j < n) {
            i++;
            continue;
        }
        free(c->ct[i]);
        c->n--;
        memmove(c->dev[i], c->dev[c->n], 16);
        c->ct[i] = c->ct[c->n];
        c->len[i] = c->len[c->n];
    }
    for (size_t i = 0; i < n; i++) {
        if (s_has_copy(c, targets[i]))
            continue;
        msg_peer_t *p = msg_store_peer(st, targets[i]);
        size_t cap = E2E_MESSAGE_LEN(1, plen), len = 0;
        uint8_t *ct = malloc(cap);
        int rc = !p ? ES_INTERNAL : !ct ? ES_RESOURCE_EXHAUSTED : 0;
        if (rc == 0)
            rc = e2e_session_encrypt(p->s, plain, plen, ct, cap, &len);
        if (rc < 0) {
            free(ct);
            return cli_fail(rc, "cannot encrypt: %s", es_strerror(rc));
        }
        p->used_ms = cli_wall_ms();
        memcpy(c->dev[c->n], targets[i], 16);
        c->ct[c->n] = ct;
        c->len[c->n++] = len;
    }
    return 0;
}

/* Send plain (an encoded MessageContent) into conv; the history line shows `shown`. */
static int s_send(espace_t *e, msg_store_t *st, const uint8_t conv[16], const uint8_t *plain,
                  size_t plen, const char *shown, const char *att)
{
    espace_error_t err;
    s_copies_t c = {.n = 0};
    uint8_t targets[ESPACE_MSG_MAX_COPIES][16], msg_id[16];
    size_t n = 0;
    int patient_devs = 0, rc;
    char hex[ID_HEX], pid[ESPACE_PATIENT_ID_MAX];
    Espace__V1__GetConversationReply *g = NULL;
    Espace__V1__SendReply *sr = NULL;
    if (espace_messaging_get_conversation(e, conv, &g, &err) < 0)
        return cli_fail_err(&err);
    if (g->conversation->closed) {
        espace_free(&g->base);
        return cli_fail_field(ES_FAILED_PRECONDITION, "conversation_id",
                              "the conversation is closed");
    }
    snprintf(pid, sizeof pid, "%s", g->conversation->patient_id);
    rc = s_targets(st, g->devices, g->n_devices, targets, &n, &patient_devs);
    espace_free(&g->base);
    if (rc)
        return rc;
    randombytes_buf(msg_id, sizeof msg_id);
    for (int attempt = 0;; attempt++) {
        if (patient_devs == 0) {
            rc = cli_fail(ES_FAILED_PRECONDITION, "the patient has no device with messaging keys "
                          "yet: nothing can be encrypted for them (try again later)");
            goto free;
        }
        if ((rc = s_sessions(e, st, conv, targets, n)) != 0 ||
            (rc = s_encrypt(st, &c, targets, n, plain, plen)) != 0)
            goto free;
        /* the ratchet states are on disk before their ciphertexts leave */
        if (msg_store_save(st) < 0) {
            rc = cli_fail(ES_INTERNAL, "cannot write %s", st->path);
            goto free;
        }
        Espace__V1__Copy cp[ESPACE_MSG_MAX_COPIES], *cpp[ESPACE_MSG_MAX_COPIES];
        for (size_t i = 0; i < c.n; i++) {
            espace__v1__copy__init(&cp[i]);
            cp[i].device_id.data = c.dev[i];
            cp[i].device_id.len = 16;
            cp[i].ciphertext.data = c.ct[i];
            cp[i].ciphertext.len = c.len[i];
            cpp[i] = &cp[i];
        }
        if (espace_messaging_send(e, conv, msg_id, pid, cpp, c.n, &sr, &err) < 0) {
            rc = cli_fail_err(&err);
            goto free;
        }
        if (sr->result != ESPACE__V1__SEND_RESULT__SEND_RESULT_DEVICES_CHANGED)
            break;
        if (attempt == 1) {
            rc = cli_fail(ES_ABORTED, "the devices of the conversation changed twice while "
                          "sending: try again");
            goto free;
        }
        rc = s_targets(st, sr->devices, sr->n_devices, targets, &n, &patient_devs);
        espace_free(&sr->base);
        sr = NULL;
        if (rc)
            goto free;
    }
    if (sr->result != ESPACE__V1__SEND_RESULT__SEND_RESULT_STORED &&
        sr->result != ESPACE__V1__SEND_RESULT__SEND_RESULT_DUPLICATE) {
        rc = cli_fail(ES_INTERNAL, "unexpected send result %d", (int)sr->result);
        goto free;
    }
    msg_line_t l = {.ms = sr->sent_ms, .out = MSG_LINE_OUT};
    memcpy(l.conv, conv, 16);
    memcpy(l.id, msg_id, 16);
    snprintf(l.from, sizeof l.from, "rpps:%s", st->rpps);
    snprintf(l.att, sizeof l.att, "%s", att ? att : "");
    if (msg_store_line(st, &l, shown, strlen(shown)) < 0 || msg_store_save(st) < 0)
        fprintf(stderr, "warning: sent, but not kept in the local history\n");
    printf("sent %s to %zu device%s\n", id_hex(msg_id, hex), c.n, c.n > 1 ? "s" : "");
    rc = 0;
free:
    if (sr)
        espace_free(&sr->base);
    s_copies_free(&c);
    return rc;
}

/* --conversation ID, else --patient P: the newest open conversation with
 * that patient, else a new one. 0, or the exit code (printed). */
static int s_conversation(espace_t *e, const char *conv_arg, const char *patient,
                          uint8_t conv[16])
{
    espace_error_t err;
    char pid[ESPACE_PATIENT_ID_MAX], hex[ID_HEX];
    if (conv_arg && patient)
        return cli_usage("msg send", "give --conversation or --patient, not both", pro_usage);
    if (conv_arg)
        return msg_conv_arg(conv_arg, conv);
    if (!patient)
        return cli_usage("msg send", "missing --conversation or --patient", pro_usage);
    int rc = pro_patient(e, patient, pid);
    if (rc)
        return rc;
    espace_cursor_t cur = {0};
    do {
        Espace__V1__ListConversationsReply *r = NULL;
        if (espace_messaging_list_conversations(e, 0, &cur, &r, &err) < 0)
            return cli_fail_err(&err);
        for (size_t i = 0; i < r->n_conversations; i++) {
            const Espace__V1__Conversation *cv = r->conversations[i];
            if (!cv->closed && !strcmp(cv->patient_id, pid) && cv->id.len == 16) {
                memcpy(conv, cv->id.data, 16);
                espace_free(&r->base);
                return 0;
            }
        }
        espace_free(&r->base);
    } while (cur.more);
    Espace__V1__StartConversationReply *s = NULL;
    if (espace_messaging_start_conversation(e, pid, NULL, 0, &s, &err) < 0) {
        if (err.status == ES_PERMISSION_DENIED)
            return cli_fail(err.status, "%s (has the patient granted you messaging:write?)",
                            err.message);
        return cli_fail_err(&err);
    }
    memcpy(conv, s->conversation->id.data, 16);
    fprintf(stderr, "new conversation %s\n", id_hex(conv, hex));
    espace_free(&s->base);
    return 0;
}

/* send and attach: file NULL for a text only. */
static int s_run(pro_conf_t *c, const char *cmd, const char *conv_arg, const char *patient,
                 const char *text, const char *file)
{
    espace_t *e = NULL;
    espace_error_t err;
    msg_store_t st;
    uint8_t conv[16], plain[E2E_MAX_PLAINTEXT], *data = NULL, *ct = NULL;
    size_t plen = 0, dlen = 0, ctlen = 0;
    char att[ESPACE_MSG_NAME_MAX + 32] = "";
    espace_msg_content_t p = {.kind = ESPACE_MSG_TEXT, .text = text ? text : "",
                              .text_len = text ? strlen(text) : 0};
    espace_msg_attachment_t *a = &p.att[0];
    if (!text && !file)
        return cli_usage(cmd, "missing --text", pro_usage);
    if (p.text_len > ESPACE_MSG_TEXT_MAX)
        return cli_fail_field(ES_TOO_LARGE, "--text", "the text is too long (at most %d bytes)",
                              ESPACE_MSG_TEXT_MAX);
    if (file) {
        const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        if (!*base || strlen(base) >= ESPACE_MSG_NAME_MAX)
            return cli_fail_field(ES_INVALID_ARGUMENT, "--file", "bad file name");
        snprintf(a->name, sizeof a->name, "%s", base);
        snprintf(a->mime, sizeof a->mime, "%s", pro_mime(base));
    }
    int rc = msg_begin(c, &e, &st, 0, NULL);
    if (rc)
        return rc;
    if ((rc = s_conversation(e, conv_arg, patient, conv)) != 0)
        goto close;
    if (file) {
        if ((rc = pro_read_file(file, ESPACE_MSG_ATTACH_MAX - 4096, &data, &dlen)) != 0)
            goto close;
        int r = espace_messaging_attachment_seal(data, dlen, a->key, &ct, &ctlen, a->hash);
        if (r < 0) {
            rc = cli_fail(r, "cannot encrypt %s", file);
            goto close;
        }
        randombytes_buf(a->id, sizeof a->id);
        p.n_att = 1;
        a->size = ctlen;
        a->plain_size = dlen;
        if (espace_messaging_upload(e, conv, a->id, ct, ctlen, a->hash, &err) < 0) {
            rc = cli_fail_err(&err);
            goto close;
        }
        snprintf(att, sizeof att, "%s (%zu bytes)", a->name, dlen);
    }
    int r = espace_messaging_content_encode(&p, plain, sizeof plain, &plen);
    if (r == ES_TOO_LARGE) {
        rc = cli_fail_field(ES_TOO_LARGE, "--text", "the text is too long (at most 64 KiB)");
        goto close;
    } else if (r < 0) {
        rc = cli_fail_field(r, file ? "--file" : "--text",
                            "not a message (an empty text, text or file name not UTF-8?)");
        goto close;
    }
    rc = s_send(e, &st, conv, plain, plen, p.text_len ? p.text : "", att);
close:
    sodium_memzero(plain, sizeof plain);
    sodium_memzero(&p, sizeof p);
    if (data)
        sodium_memzero(data, dlen);
    free(data);
    free(ct);
    msg_store_close(&st);
    espace_close(&e);
    return rc;
}

int pro_msg_send(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--conversation", CLI_OPTIONAL), CLI_OPT("--patient", CLI_OPTIONAL),
                     CLI_OPT("--text", CLI_REQUIRED)};
    char why[CLI_WHY_MAX];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("msg send", why, pro_usage);
    return s_run(c, "msg send", CLI_VALUE(o, "--conversation"), CLI_VALUE(o, "--patient"),
                 CLI_VALUE(o, "--text"), NULL);
}

int pro_msg_attach(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--conversation", CLI_OPTIONAL), CLI_OPT("--patient", CLI_OPTIONAL),
                     CLI_OPT("--file", CLI_REQUIRED), CLI_OPT("--text", CLI_OPTIONAL)};
    char why[CLI_WHY_MAX];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("msg attach", why, pro_usage);
    return s_run(c, "msg attach", CLI_VALUE(o, "--conversation"), CLI_VALUE(o, "--patient"),
                 CLI_VALUE(o, "--text"), CLI_VALUE(o, "--file"));
}
