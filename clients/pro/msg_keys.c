/* msg_keys.c - espace-pro msg keys, start, list, close, safety, and what
 * every msg command does first (msg.h). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clients/pro/msg.h"
#include "process/kvfile.h"
#include "proto/ids.h"

static int s_usage(const char *cmd, cli_opt_t *o, size_t n, int argc, char **argv)
{
    char why[CLI_WHY_MAX];
    if (cli_parse(argc, argv, o, n, why, sizeof why) < 0)
        return cli_usage(cmd, why, pro_usage);
    return 0;
}

int msg_conv_arg(const char *arg, uint8_t id[16])
{
    if (!arg || id_parse(arg, id) < 0)
        return cli_fail_field(ES_INVALID_ARGUMENT, "--conversation",
                              "a conversation id is 32 hex characters");
    return 0;
}

/* Register the identity key as the device's key with identity (docs/e2e.md
 * "Identity key": DeviceKeys.sign_public, dh_public its X25519 form). */
static int s_register(espace_t *e, msg_store_t *st)
{
    espace_error_t err;
    Espace__V1__DeviceKeys k = ESPACE__V1__DEVICE_KEYS__INIT;
    k.sign_public.data = st->ik.sign_pk;
    k.sign_public.len = E2E_KEY_BYTES;
    k.dh_public.data = st->ik.dh_pk;
    k.dh_public.len = E2E_KEY_BYTES;
    Espace__V1__RegisterDeviceKeysRequest req = ESPACE__V1__REGISTER_DEVICE_KEYS_REQUEST__INIT;
    req.keys = &k;
    int rc = espace_call(e, "identity", "RegisterDeviceKeys", &req.base,
                         &espace__v1__register_device_keys_reply__descriptor, NULL, &err);
    if (rc == ES_FAILED_PRECONDITION) { /* other keys: messaging's safety numbers still hold */
        fprintf(stderr, "warning: this device has other keys registered with identity (%s)\n",
                err.message);
        rc = 0;
    }
    if (rc < 0)
        return cli_fail_err(&err);
    st->registered = 1;
    return 0;
}

int msg_begin(pro_conf_t *c, espace_t **e, msg_store_t *st, int create, int *created)
{
    uint8_t dev[16];
    espace_error_t err;
    char pass[1024], hex[ID_HEX];
    int gone;
    if (created)
        *created = 0;
    memset(st, 0, sizeof *st);
    int rc = pro_resume(c, e, &gone);
    if (rc)
        return rc;
    if (espace_messaging_device(*e, dev, &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    if (kvfile_secret("ESPACE_PRO_PASSPHRASE", "messaging passphrase: ", pass, sizeof pass) < 0) {
        rc = cli_fail(ES_INVALID_ARGUMENT, "no passphrase ($ESPACE_PRO_PASSPHRASE or stdin)");
        goto close;
    }
    rc = msg_store_open(st, c->home, dev, pass);
    if (rc == ES_NOT_FOUND && create) {
        if (strlen(pass) < MSG_PASSPHRASE_MIN) {
            rc = cli_fail(ES_INVALID_ARGUMENT, "the passphrase needs at least %d characters",
                          MSG_PASSPHRASE_MIN);
            goto wipe;
        }
        rc = msg_store_create(st, c->home, dev, espace_principal(*e), pass);
        if (rc == 0 && created)
            *created = 1;
    }
    if (rc == ES_NOT_FOUND)
        rc = cli_fail(rc, "no messaging keys for device %s (run espace-pro msg keys)",
                      id_hex(dev, hex));
    else if (rc == ES_UNAUTHENTICATED)
        rc = cli_fail(rc, "wrong passphrase for %s (or a damaged file)", st->path[0] ? st->path :
                      "the messaging store");
    else if (rc < 0)
        rc = cli_fail(rc, "cannot open the messaging store of device %s", id_hex(dev, hex));
wipe:
    sodium_memzero(pass, sizeof pass);
    if (rc == 0)
        return 0;
close:
    espace_close(e);
    return rc;
}

/* Publish what the server lacks: everything when unpublished, a batch of
 * one-time prekeys when low, new signed prekeys when due. */
static int s_publish(espace_t *e, msg_store_t *st, int created, int rotate)
{
    espace_error_t err;
    Espace__V1__KeyStatusReply *ks = NULL;
    Espace__V1__PublishKeysReply *pr = NULL;
    int rc = espace_messaging_key_status(e, &ks, &err);
    if (rc < 0)
        return cli_fail_err(&err);
    int published = ks->hint && ks->hint->published, low = !ks->hint || ks->hint->low;
    espace_free(&ks->base);
    int full = created || !published;
    size_t batch = 0;
    if (!full && (rotate || e2e_prekey_rotation_due(&st->spk, (int64_t)time(NULL))))
        rotate = 1;
    else
        rotate = 0;
    if (full && !created) /* a withdrawn device: fresh one-time prekeys */
        batch = E2E_OPK_BATCH;
    if (!full && low)
        batch = E2E_OPK_BATCH;
    if ((rotate && (rc = msg_store_rotate(st)) < 0) ||
        (batch && (rc = msg_store_opk_add(st, batch)) < 0))
        return cli_fail(rc, "cannot make prekeys");
    if (created)
        batch = E2E_OPK_BATCH;
    if (st->has_old && e2e_prekey_expired(&st->old_spk, (int64_t)time(NULL))) {
        e2e_prekey_wipe(&st->old_spk);
        e2e_prekey_wipe(&st->old_lrk);
        st->has_old = 0;
    }
    if (msg_store_save(st) < 0) /* the secrets exist before the server hands them out */
        return cli_fail(ES_INTERNAL, "cannot write %s", st->path);
    if (!full && !rotate && !batch) {
        printf("keys up to date\n");
        return 0;
    }
    int sign = full || rotate;
    rc = espace_messaging_publish_keys(e, full ? st->ik.sign_pk : NULL, sign ? &st->spk : NULL,
                                       sign ? &st->lrk : NULL,
                                       batch ? st->opk + st->n_opk - batch : NULL, batch, &pr,
                                       &err);
    if (rc < 0)
        return cli_fail_err(&err);
    printf("published%s%s, %u one-time prekeys on the server\n", full ? " identity" : "",
           rotate ? " new signed prekeys" : "", pr->hint ? pr->hint->one_time_left : 0);
    espace_free(&pr->base);
    return 0;
}

int pro_msg_keys(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--rotate", CLI_SWITCH)};
    espace_t *e = NULL;
    msg_store_t st;
    int created;
    char hex[ID_HEX];
    int rc = s_usage("msg keys", o, CLI_COUNT(o), argc, argv);
    if (rc || (rc = msg_begin(c, &e, &st, 1, &created)) != 0)
        return rc;
    if (created || !st.registered) {
        if (msg_store_save(&st) < 0) {
            rc = cli_fail(ES_INTERNAL, "cannot write %s", st.path);
            goto close;
        }
        if ((rc = s_register(e, &st)) != 0)
            goto close;
    }
    printf("device %s\n", id_hex(st.device, hex));
    rc = s_publish(e, &st, created, CLI_GET(o, "--rotate")->n > 0);
close:
    msg_store_close(&st);
    espace_close(&e);
    return rc;
}

int pro_msg_start(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--patient", CLI_REQUIRED), CLI_OPT_LIST("--pro", 7)};
    espace_t *e = NULL;
    espace_error_t err;
    char pid[ESPACE_PATIENT_ID_MAX], hex[ID_HEX];
    int gone;
    int rc = s_usage("msg start", o, CLI_COUNT(o), argc, argv);
    if (rc || (rc = pro_resume(c, &e, &gone)) != 0)
        return rc;
    if ((rc = pro_patient(e, CLI_VALUE(o, "--patient"), pid)) != 0)
        goto close;
    const cli_opt_t *pros = CLI_GET(o, "--pro");
    Espace__V1__StartConversationReply *r = NULL;
    if (espace_messaging_start_conversation(e, pid, pros->list, pros->n, &r, &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    printf("conversation %s\n",
           id_hex_bytes(r->conversation->id.data, r->conversation->id.len, hex));
    espace_free(&r->base);
close:
    espace_close(&e);
    return rc;
}

int pro_msg_list(pro_conf_t *c, int argc, char **argv)
{
    espace_t *e = NULL;
    espace_error_t err;
    espace_cursor_t cur = {0};
    int gone, n = 0;
    int rc = s_usage("msg list", NULL, 0, argc, argv);
    if (rc || (rc = pro_resume(c, &e, &gone)) != 0)
        return rc;
    do {
        Espace__V1__ListConversationsReply *r = NULL;
        if (espace_messaging_list_conversations(e, 0, &cur, &r, &err) < 0) {
            rc = cli_fail_err(&err);
            break;
        }
        for (size_t i = 0; i < r->n_conversations; i++, n++) {
            const Espace__V1__Conversation *cv = r->conversations[i];
            char hex[ID_HEX], when[CLI_TIME_MAX];
            printf("%s  %s  %s  %s  %zu professional%s\n", id_hex_bytes(cv->id.data, cv->id.len,
                   hex), pro_paris_format(cv->started_ms, when), cv->patient_id,
                   cv->closed ? "closed" : "open", cv->n_professionals,
                   cv->n_professionals > 1 ? "s" : "");
        }
        espace_free(&r->base);
    } while (cur.more);
    if (rc == 0 && n == 0)
        printf("no conversations\n");
    espace_close(&e);
    return rc;
}

int pro_msg_close(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--conversation", CLI_REQUIRED)};
    espace_t *e = NULL;
    espace_error_t err;
    uint8_t conv[16];
    int gone;
    int rc = s_usage("msg close", o, CLI_COUNT(o), argc, argv);
    if (rc || (rc = msg_conv_arg(CLI_VALUE(o, "--conversation"), conv)) != 0 ||
        (rc = pro_resume(c, &e, &gone)) != 0)
        return rc;
    if (espace_messaging_close_conversation(e, conv, NULL, &err) < 0)
        rc = cli_fail_err(&err);
    else
        printf("closed %s\n", CLI_VALUE(o, "--conversation"));
    espace_close(&e);
    return rc;
}

int pro_msg_safety(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--conversation", CLI_REQUIRED)};
    espace_t *e = NULL;
    espace_error_t err;
    msg_store_t st;
    uint8_t conv[16];
    char me[ESPACE_PRINCIPAL_MAX + 8], them[ESPACE_PRINCIPAL_MAX + 8];
    int rc = s_usage("msg safety", o, CLI_COUNT(o), argc, argv);
    if (rc || (rc = msg_conv_arg(CLI_VALUE(o, "--conversation"), conv)) != 0 ||
        (rc = msg_begin(c, &e, &st, 0, NULL)) != 0)
        return rc;
    Espace__V1__GetConversationReply *g = NULL;
    if (espace_messaging_get_conversation(e, conv, &g, &err) < 0) {
        rc = cli_fail_err(&err);
        goto close;
    }
    snprintf(me, sizeof me, "rpps:%s", st.rpps);
    int shown = 0;
    for (size_t i = 0; i < g->n_devices; i++) {
        const Espace__V1__MemberDevices *md = g->devices[i];
        if (!md->member || !md->member->principal)
            continue;
        int patient = md->member->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
        snprintf(them, sizeof them, "%s:%s", patient ? "patient" : "rpps", md->member->principal);
        for (size_t j = 0; j < md->n_devices; j++) {
            const Espace__V1__DeviceEntry *d = md->devices[j];
            char hex[ID_HEX], number[E2E_SAFETY_TEXT];
            if (d->device_id.len != 16 || !memcmp(d->device_id.data, st.device, 16) ||
                d->identity_key.len != E2E_KEY_BYTES ||
                e2e_safety_number(number, st.ik.sign_pk, me, d->identity_key.data, them) < 0)
                continue;
            printf("%s  device %s  %s\n", them, id_hex(d->device_id.data, hex), number);
            shown++;
        }
    }
    if (!shown)
        printf("no other device in this conversation yet\n");
    espace_free(&g->base);
close:
    msg_store_close(&st);
    espace_close(&e);
    return rc;
}
