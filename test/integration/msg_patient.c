/*
 * msg_patient - the patient's side of test/integration/msg_cli.sh, on
 * libespace and es_e2e (a phone's app would do the same):
 *
 *   msg_patient grant ENDPOINT PATIENT_ID RPPS
 *       As the patient (a local Caller over ipc), grants the professional
 *       messaging:read and messaging:write for purpose soins. Prints
 *       "granted <grant id>".
 *   msg_patient device ENDPOINT INS COUNT SECONDS OUTDIR REPLY_FILE
 *       Logs the patient in (a session, hence a device), publishes an e2e
 *       bundle, prints "ready <device id>", then reads its queue until COUNT
 *       messages decrypted (at most SECONDS): prints "message <text>" for
 *       each, and "attachment <name> <bytes>" after saving an attachment's
 *       plaintext in OUTDIR/<name>; acknowledges them. Then answers in the
 *       conversation of the last one: a text "Merci docteur, bien reçu" and
 *       the file REPLY_FILE as an attachment, one copy per device of every
 *       member (sessions claimed when missing). Prints "replied" and exits 0.
 *
 * ENDPOINT is the broker's ipc endpoint. The patient's password is the one
 * of signup_load one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "clients/e2e/e2e.h"
#include "clients/lib/espace.h"
#include "proto/ids.h"
#include "test/integration/patient_app.h"

#define PASSWORD "correct horse battery staple"
#define NOPK 8
#define PEERS 16

typedef struct dev {
    espace_t *e;
    uint8_t id[16];
    e2e_identity_t ik;
    e2e_prekey_t spk, lrk, opk[NOPK];
    uint8_t peer[PEERS][16];
    e2e_session_t *s[PEERS];
    size_t n;
} phone_t;

/* Log in with the INS (a new device) and publish its bundle. */
static int s_login_publish(phone_t *d, const char *endpoint, const char *ins)
{
    espace_opts_t o = {.endpoint = endpoint, .timeout_ms = PATIENT_APP_TIMEOUT_MS};
    espace_error_t err;
    if (espace_open(&o, &d->e) < 0)
        return 1;
    Espace__V1__LoginRequest lr = ESPACE__V1__LOGIN_REQUEST__INIT;
    lr.who_case = ESPACE__V1__LOGIN_REQUEST__WHO_INS;
    lr.ins = (char *)ins;
    lr.password = PASSWORD;
    lr.device_name = "phone";
    ProtobufCMessage *m = NULL;
    if (espace_call(d->e, "identity", "Login", &lr.base, &espace__v1__login_reply__descriptor, &m,
                    &err) < 0)
        return patient_app_failed("login", &err);
    Espace__V1__LoginReply *rep = (Espace__V1__LoginReply *)m;
    int rc = rep->device_id.len == 16 ? espace_resume(d->e, rep->token, &err) : ES_INTERNAL;
    if (rc == 0)
        memcpy(d->id, rep->device_id.data, 16);
    espace_free(m);
    if (rc < 0)
        return patient_app_failed("resume", &err);
    int64_t now = (int64_t)time(NULL);
    if (e2e_identity_generate(&d->ik) < 0 ||
        e2e_prekey_generate(&d->spk, &d->ik, E2E_PREKEY_SIGNED, 1, now) < 0 ||
        e2e_prekey_generate(&d->lrk, &d->ik, E2E_PREKEY_LAST_RESORT, 2, now) < 0 ||
        e2e_prekeys_generate(d->opk, NOPK, 10, now) < 0)
        return 1;
    if (espace_messaging_publish_keys(d->e, d->ik.sign_pk, &d->spk, &d->lrk, d->opk, NOPK, NULL,
                                      &err) < 0)
        return patient_app_failed("publish", &err);
    return 0;
}

static e2e_session_t **s_peer(phone_t *d, const uint8_t dev[16])
{
    for (size_t i = 0; i < d->n; i++)
        if (!memcmp(d->peer[i], dev, 16))
            return &d->s[i];
    if (d->n == PEERS)
        return NULL;
    memcpy(d->peer[d->n], dev, 16);
    return &d->s[d->n++];
}

/* Decrypt one copy: the session, else X3DH as the responder. */
static int s_decrypt(phone_t *d, const Espace__V1__Entry *en, uint8_t *plain, size_t *plen)
{
    e2e_message_info_t info;
    e2e_session_t **s = en->sender_device.len == 16 ? s_peer(d, en->sender_device.data) : NULL;
    if (!s || e2e_message_info(&info, en->ciphertext.data, en->ciphertext.len) < 0)
        return ES_INVALID_ARGUMENT;
    int rc = ES_FAILED_PRECONDITION;
    if (*s)
        rc = e2e_session_decrypt(*s, en->ciphertext.data, en->ciphertext.len, plain,
                                 E2E_MAX_PLAINTEXT, plen);
    if (rc != ES_FAILED_PRECONDITION || !info.initial)
        return rc;
    const e2e_prekey_t *opk = NULL;
    for (size_t i = 0; i < NOPK && info.opk_kind == E2E_PREKEY_ONE_TIME; i++)
        if (d->opk[i].id == info.opk_id)
            opk = &d->opk[i];
    if (info.opk_kind == E2E_PREKEY_LAST_RESORT)
        opk = &d->lrk;
    e2e_session_t *n = NULL;
    rc = e2e_x3dh_respond(&n, &d->ik, &d->spk, opk, en->ciphertext.data, en->ciphertext.len, plain,
                          E2E_MAX_PLAINTEXT, plen);
    if (rc == 0) {
        e2e_session_destroy(s);
        *s = n;
    }
    return rc;
}

static int s_save(const char *dir, const espace_msg_attachment_t *a, const uint8_t *data,
                  size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, a->name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, n, f) == n;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok ? 0 : 1;
}

/* Read until count messages are printed; the last conversation into conv. */
static int s_read(phone_t *d, int count, int seconds, const char *dir, uint8_t conv[16])
{
    espace_error_t err;
    int got = 0;
    time_t end = time(NULL) + seconds;
    while (got < count && time(NULL) < end) {
        Espace__V1__FetchReply *f = NULL;
        if (espace_messaging_fetch(d->e, 0, 0, &f, &err) < 0)
            return patient_app_failed("fetch", &err);
        for (size_t i = 0; i < f->n_entries; i++) {
            const Espace__V1__Entry *en = f->entries[i];
            uint8_t plain[E2E_MAX_PLAINTEXT], *ct = NULL, *file = NULL;
            size_t plen = 0, clen = 0, flen = 0;
            static espace_msg_content_t p; /* large: not on the stack */
            if (en->kind != ESPACE__V1__ENTRY_KIND__ENTRY_KIND_MESSAGE)
                continue;
            int rc = s_decrypt(d, en, plain, &plen);
            if (rc == 0)
                rc = espace_messaging_content_decode(plain, plen, &p);
            if (rc == 0 && p.kind != ESPACE_MSG_TEXT) { /* a read receipt */
                espace_messaging_content_clear(&p);
                continue;
            }
            if (rc < 0) {
                espace_messaging_content_clear(&p);
                fprintf(stderr, "undecryptable message: %s\n", es_status_name(rc));
                continue;
            }
            memcpy(conv, en->conversation_id.data, 16);
            printf("message %.*s\n", (int)p.text_len, p.text);
            for (size_t k = 0; k < p.n_att; k++) {
                const espace_msg_attachment_t *a = &p.att[k];
                if (espace_messaging_download(d->e, a->id, a->hash, &ct, &clen, &err) < 0)
                    return patient_app_failed("download", &err);
                rc = espace_messaging_attachment_open(a->key, ct, clen, &file, &flen);
                free(ct);
                if (rc < 0 || s_save(dir, a, file, flen) != 0) {
                    free(file);
                    fprintf(stderr, "attachment: %s\n", es_status_name(rc));
                    return 1;
                }
                free(file);
                printf("attachment %s %zu\n", a->name, flen);
            }
            espace_messaging_content_clear(&p);
            fflush(stdout);
            got++;
        }
        uint64_t last = f->last_seq;
        espace_free(&f->base);
        if (last && espace_messaging_ack(d->e, last, NULL, &err) < 0)
            return patient_app_failed("ack", &err);
        if (got < count) {
            struct timespec pause = {.tv_sec = 0, .tv_nsec = 100000000};
            nanosleep(&pause, NULL);
        }
    }
    return got == count ? 0 : (fprintf(stderr, "only %d of %d messages\n", got, count), 1);
}

/* Send a content to every device of every member but ours. */
static int s_send(phone_t *d, const uint8_t conv[16], const espace_msg_content_t *p)
{
    espace_error_t err = {.status = ES_INVALID_ARGUMENT, .message = "content does not encode"};
    uint8_t plain[E2E_MAX_PLAINTEXT], msg_id[16], need[PEERS][16];
    uint8_t *ct[PEERS] = {0};
    size_t plen = 0, k = 0;
    Espace__V1__Copy cp[PEERS], *cpp[PEERS];
    Espace__V1__GetConversationReply *g = NULL;
    Espace__V1__SendReply *sr = NULL;
    int rc = 1;
    if (espace_messaging_content_encode(p, plain, sizeof plain, &plen) < 0 ||
        espace_messaging_get_conversation(d->e, conv, &g, &err) < 0)
        return patient_app_failed("get conversation", &err);
    size_t n = 0;
    for (size_t i = 0; i < g->n_devices; i++)
        for (size_t j = 0; j < g->devices[i]->n_devices && n < PEERS; j++) {
            const ProtobufCBinaryData *id = &g->devices[i]->devices[j]->device_id;
            if (id->len != 16 || !memcmp(id->data, d->id, 16))
                continue;
            espace__v1__copy__init(&cp[n]);
            cp[n].device_id.data = malloc(16);
            memcpy(cp[n].device_id.data, id->data, 16);
            cp[n].device_id.len = 16;
            e2e_session_t **s = s_peer(d, id->data);
            if (s && !*s)
                memcpy(need[k++], id->data, 16);
            cpp[n] = &cp[n];
            n++;
        }
    if (k) {
        Espace__V1__ClaimBundlesReply *cb = NULL;
        if (espace_messaging_claim_bundles(d->e, conv, (const uint8_t(*)[16])need, k, &cb,
                                           &err) < 0) {
            patient_app_failed("claim", &err);
            goto free;
        }
        for (size_t i = 0; i < cb->n_bundles; i++) {
            e2e_bundle_t b;
            e2e_session_t **s = s_peer(d, cb->bundles[i]->device_id.data);
            if (!s || espace_messaging_bundle(cb->bundles[i], &b) < 0 ||
                e2e_x3dh_initiate(s, &d->ik, &b) < 0) {
                espace_free(&cb->base);
                goto free;
            }
        }
        espace_free(&cb->base);
    }
    for (size_t i = 0; i < n; i++) {
        e2e_session_t **s = s_peer(d, cp[i].device_id.data);
        size_t len = 0;
        ct[i] = malloc(E2E_MESSAGE_LEN(1, plen));
        if (!s || !*s || !ct[i] ||
            e2e_session_encrypt(*s, plain, plen, ct[i], E2E_MESSAGE_LEN(1, plen), &len) < 0)
            goto free;
        cp[i].ciphertext.data = ct[i];
        cp[i].ciphertext.len = len;
    }
    randombytes_buf(msg_id, sizeof msg_id);
    if (espace_messaging_send(d->e, conv, msg_id, NULL, cpp, n, &sr, &err) < 0) {
        patient_app_failed("send", &err);
        goto free;
    }
    rc = sr->result == ESPACE__V1__SEND_RESULT__SEND_RESULT_STORED ? 0 : 1;
    if (rc)
        fprintf(stderr, "send result %d\n", (int)sr->result);
    espace_free(&sr->base);
free:
    for (size_t i = 0; i < n; i++) {
        free(cp[i].device_id.data);
        free(ct[i]);
    }
    espace_free(&g->base);
    return rc;
}

static int s_reply(phone_t *d, const uint8_t conv[16], const char *file)
{
    espace_error_t err;
    static espace_msg_content_t p; /* large: not on the stack */
    p = (espace_msg_content_t){.kind = ESPACE_MSG_TEXT, .text = "Merci docteur, bien reçu",
                               .text_len = strlen("Merci docteur, bien reçu")};
    if (s_send(d, conv, &p) != 0)
        return 1;
    FILE *f = fopen(file, "rb");
    uint8_t buf[65536], *ct = NULL;
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0, clen = 0;
    if (f)
        fclose(f);
    if (!n)
        return 1;
    p = (espace_msg_content_t){.kind = ESPACE_MSG_TEXT, .n_att = 1};
    espace_msg_attachment_t *a = &p.att[0];
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    snprintf(a->name, sizeof a->name, "%s", base);
    randombytes_buf(a->id, sizeof a->id);
    if (espace_messaging_attachment_seal(buf, n, a->key, &ct, &clen, a->hash) < 0)
        return 1;
    a->size = clen;
    a->plain_size = n;
    int rc = espace_messaging_upload(d->e, conv, a->id, ct, clen, a->hash, &err);
    free(ct);
    if (rc < 0)
        return patient_app_failed("upload", &err);
    return s_send(d, conv, &p);
}

static int s_device(const char *endpoint, const char *ins, int count, int seconds,
                    const char *dir, const char *reply_file)
{
    phone_t d;
    uint8_t conv[16];
    char hex[ID_HEX];
    memset(&d, 0, sizeof d);
    int rc = s_login_publish(&d, endpoint, ins);
    if (rc == 0) {
        printf("ready %s\n", id_hex(d.id, hex));
        fflush(stdout);
        rc = s_read(&d, count, seconds, dir, conv);
    }
    if (rc == 0 && (rc = s_reply(&d, conv, reply_file)) == 0)
        printf("replied\n");
    for (size_t i = 0; i < d.n; i++)
        e2e_session_destroy(&d.s[i]);
    espace_close(&d.e);
    sodium_memzero(&d, sizeof d);
    return rc;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0)
        return 1;
    if (argc == 5 && !strcmp(argv[1], "grant"))
        return patient_app_grant(argv[2], argv[3], argv[4], "messaging:read,messaging:write");
    if (argc == 8 && !strcmp(argv[1], "device"))
        return s_device(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), argv[6], argv[7]);
    fprintf(stderr, "usage: msg_patient grant ENDPOINT PATIENT_ID RPPS\n"
                    "       msg_patient device ENDPOINT INS COUNT SECONDS OUTDIR REPLY_FILE\n");
    return 2;
}
