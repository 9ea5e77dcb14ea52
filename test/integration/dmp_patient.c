/*
 * dmp_patient - the patient's side of test/integration/dmp_cli.sh, on
 * libespace (a local Caller over ipc, as the patient's app behind the edge
 * would be stamped):
 *
 *   dmp_patient grant ENDPOINT PATIENT_ID RPPS SCOPES
 *       Grants the professional SCOPES (espace_scopes_parse text, e.g.
 *       "documents:read,documents:write") for purpose soins. Prints
 *       "granted <grant id>".
 *   dmp_patient watch EVENTS_ENDPOINT PATIENT_ID SECONDS
 *       Subscribes to "patient.<id>.dmp" on the broker's event endpoint (as
 *       the edge does for the patient's open pages), prints "ready", then
 *       "event <kind label> <document id>" for the first DmpEvent within
 *       SECONDS and exits 0 (1 when none came).
 *   dmp_patient download ENDPOINT PATIENT_ID DOCUMENT_ID OUTFILE
 *       Downloads the version as the patient (GetDocument, then its pieces,
 *       checked against its hash), writes OUTFILE and prints
 *       "saved <size> hash <hex>".
 *   dmp_patient audit ENDPOINT PATIENT_ID
 *       Prints the newest entry of the patient's audit trail:
 *       "audit <actor> <category> <action> allowed|denied <service>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zmq.h>

#include "bus/bus.h"
#include "bus/codec.h"
#include "clients/lib/espace.h"
#include "proto/ids.h"
#include "proto/names.h"
#include "test/integration/patient_app.h"

static int s_watch(const char *endpoint, const char *pid, int seconds)
{
    char topic[TOPIC_MAX + 1];
    if (topic_patient(topic, sizeof topic, pid, TOPIC_AREA_DMP) != 0)
        return 1;
    void *zctx = zmq_ctx_new();
    bus_conn_t conn = {.endpoint = endpoint};
    bus_sub_t *sub = NULL;
    int rc = 1;
    if (!zctx || bus_sub_new(zctx, &conn, &sub) != 0 || bus_subscribe(sub, topic) != 0)
        goto done;
    printf("ready\n");
    fflush(stdout);
    int64_t end = bus_mono_ms() + (int64_t)seconds * 1000;
    while (rc != 0 && bus_mono_ms() < end) {
        char t[BUS_MAX_TOPIC + 1];
        Espace__V1__Event *ev = NULL;
        if (bus_sub_recv(sub, (int)(end - bus_mono_ms()), t, &ev) != 0)
            continue;
        ProtobufCMessage *m = NULL;
        if (strcmp(t, topic) == 0 &&
            codec_decode(&espace__v1__dmp_event__descriptor, ev->body.data, ev->body.len, 0, &m,
                         NULL) == 0) {
            Espace__V1__DmpEvent *d = (Espace__V1__DmpEvent *)m;
            char kind[ENUM_LABEL_MAX], id[ID_HEX] = "-";
            if (d->document)
                id_hex_bytes(d->document->id.data, d->document->id.len, id);
            printf("event %s %s\n",
                   enum_label(&espace__v1__dmp_event_kind__descriptor, (int)d->kind, kind,
                              sizeof kind),
                   id);
            rc = 0;
        }
        codec_free(m);
        codec_free(ev ? &ev->base : NULL);
    }
done:
    bus_sub_destroy(&sub);
    if (zctx)
        zmq_ctx_term(zctx);
    return rc;
}

static int s_download(const char *endpoint, const char *pid, const char *doc, const char *path)
{
    uint8_t id[ID_BYTES], hash[ESPACE_DMP_HASH], *data = NULL;
    size_t len = 0;
    espace_t *e = NULL;
    espace_error_t err;
    if (id_parse(doc, id) != 0 || patient_app_open(endpoint, pid, &e))
        return 1;
    int rc = 0;
    if (espace_dmp_download(e, pid, id, NULL, &data, &len, hash, &err) < 0) {
        rc = patient_app_failed("download", &err);
    } else {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(data, 1, len, f) != len)
            rc = 1;
        if (f && fclose(f) != 0)
            rc = 1;
        char hex[2 * ESPACE_DMP_HASH + 1];
        sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
        if (rc == 0)
            printf("saved %zu hash %s\n", len, hex);
    }
    free(data);
    espace_close(&e);
    return rc;
}

static int s_audit(const char *endpoint, const char *pid)
{
    espace_t *e = NULL;
    espace_error_t err;
    Espace__V1__ReadAuditReply *rep = NULL;
    if (patient_app_open(endpoint, pid, &e))
        return 1;
    int rc = 0;
    if (espace_consent_read_audit(e, 0, 1, &rep, &err) < 0) {
        rc = patient_app_failed("audit", &err);
    } else if (rep->n_entries == 1) {
        const Espace__V1__AuditEntry *a = rep->entries[0];
        char cat[ENUM_LABEL_MAX], act[ENUM_LABEL_MAX];
        printf("audit %s %s %s %s %s\n", a->actor,
               enum_label(&espace__v1__category__descriptor, (int)a->category, cat, sizeof cat),
               enum_label(&espace__v1__action__descriptor, (int)a->action, act, sizeof act),
               a->allowed ? "allowed" : "denied", a->service);
    } else {
        rc = 1;
    }
    espace_free(rep ? &rep->base : NULL);
    espace_close(&e);
    return rc;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0)
        return 1;
    if (argc == 6 && !strcmp(argv[1], "grant"))
        return patient_app_grant(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 5 && !strcmp(argv[1], "watch"))
        return s_watch(argv[2], argv[3], atoi(argv[4]));
    if (argc == 6 && !strcmp(argv[1], "download"))
        return s_download(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 4 && !strcmp(argv[1], "audit"))
        return s_audit(argv[2], argv[3]);
    fprintf(stderr, "usage: dmp_patient grant ENDPOINT PATIENT_ID RPPS SCOPES\n"
                    "       dmp_patient watch EVENTS_ENDPOINT PATIENT_ID SECONDS\n"
                    "       dmp_patient download ENDPOINT PATIENT_ID DOCUMENT_ID OUTFILE\n"
                    "       dmp_patient audit ENDPOINT PATIENT_ID\n");
    return 2;
}
