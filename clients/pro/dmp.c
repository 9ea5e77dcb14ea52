/* dmp.c - espace-pro dmp upload, replace, list, get (pro.h): documents of a
 * patient's DMP on a professional's session (docs/dmp.md). Type and class
 * codes are those of REFERENCE.md (the service checks them); labels of the
 * enums are the schema's (proto/names.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "clients/pro/pro.h"
#include "proto/ids.h"
#include "proto/names.h"

#define PRO_DMP_PAGES 100 /* SearchDocuments pages read at most (200 each) */

static void s_print_doc(const Espace__V1__DocumentMeta *d)
{
    char id[ID_HEX], when[CLI_TIME_MAX], st[ESPACE_LABEL_MAX];
    printf("%s  %s  %-8s  %-2s  v%u  %-10s  %s%s\n", id_hex_bytes(d->id.data, d->id.len, id),
           pro_paris_format(d->filed_ms, when), d->type_code, d->class_code, d->version,
           enum_label(&espace__v1__availability__descriptor, (int)d->availability, st, sizeof st),
           d->title ? d->title : "",
           d->invisible_patient ? "  (not yet visible to the patient)" : "");
}

static void s_print_filed(const char *verb, const Espace__V1__DocumentMeta *d)
{
    char id[ID_HEX], hash[2 * ESPACE_DMP_HASH + 1];
    if (!d)
        return;
    sodium_bin2hex(hash, sizeof hash, d->hash.data,
                   d->hash.len == ESPACE_DMP_HASH ? ESPACE_DMP_HASH : 0);
    printf("%s %s version %u size %llu hash %s\n", verb, id_hex_bytes(d->id.data, d->id.len, id),
           d->version, (unsigned long long)d->size, hash);
}

static int s_id(const char *opt, const char *v, uint8_t id[ID_BYTES])
{
    if (!v || id_parse(v, id) != 0)
        return cli_fail(ES_INVALID_ARGUMENT, "%s: a document id (32 hex)", opt);
    return 0;
}

int pro_cursor_keep(const ProtobufCBinaryData *next, uint8_t buf[PRO_CURSOR_MAX],
                    ProtobufCBinaryData *cursor)
{
    size_t n = next->len <= PRO_CURSOR_MAX ? next->len : 0;
    if (!n)
        return 0;
    memcpy(buf, next->data, n);
    *cursor = (ProtobufCBinaryData){n, buf};
    return 1;
}

int pro_fail_denied(const espace_error_t *err, const char *grant)
{
    if (err->status == ES_PERMISSION_DENIED)
        return cli_fail(err->status, "%s (has the patient granted you %s?)", err->message, grant);
    return cli_fail_err(err);
}

/* The options upload and replace share. */
#define S_META_OPTS                                                                              \
    CLI_OPT("--patient", CLI_REQUIRED), CLI_OPT("--file", CLI_REQUIRED),                        \
        CLI_OPT("--type", CLI_OPTIONAL), CLI_OPT("--title", CLI_OPTIONAL),                      \
        CLI_OPT("--class", CLI_OPTIONAL), CLI_OPT("--mime", CLI_OPTIONAL),                      \
        CLI_OPT("--created", CLI_OPTIONAL), CLI_OPT("--comments", CLI_OPTIONAL),                \
        CLI_OPT("--confidentiality", CLI_OPTIONAL), CLI_OPT("--hidden", CLI_SWITCH)

/* Fill m from the options over its current values. 0 or the exit code. */
static int s_meta(const cli_opt_t *o, size_t n, Espace__V1__DocumentMeta *m)
{
    const char *v;
    if ((v = cli_value(o, n, "--type")))
        m->type_code = (char *)v;
    if ((v = cli_value(o, n, "--title")))
        m->title = (char *)v;
    if ((v = cli_value(o, n, "--class")))
        m->class_code = (char *)v;
    if ((v = cli_value(o, n, "--comments")))
        m->comments = (char *)v;
    if ((v = cli_value(o, n, "--mime")))
        m->mime_type = (char *)v;
    else if (!m->mime_type || !m->mime_type[0])
        m->mime_type = (char *)pro_mime(cli_value(o, n, "--file"));
    int rc = pro_opt_time(o, n, "--created", &m->creation_ms);
    if (rc)
        return rc;
    if ((v = cli_value(o, n, "--confidentiality"))) {
        int x = 0;
        if (enum_parse(&espace__v1__confidentiality__descriptor, v, &x) != 0 || x <= 0)
            return cli_fail(ES_INVALID_ARGUMENT,
                            "--confidentiality: normal, restricted or very-restricted");
        m->confidentiality = (Espace__V1__Confidentiality)x;
    }
    if (cli_value(o, n, "--hidden"))
        m->invisible_patient = 1;
    if (!m->type_code || !m->type_code[0] || !m->title || !m->title[0])
        return cli_fail(ES_INVALID_ARGUMENT, "--type and --title are required");
    return 0;
}

/* Read the file and upload it; prints the filed version. */
static int s_upload(espace_t *e, const char *pid, const char *verb, const char *path,
                    const Espace__V1__DocumentMeta *m, const uint8_t *replaces)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = pro_read_file(path, (size_t)ESPACE_DMP_DOC_MAX, &data, &len);
    if (rc)
        return rc;
    if (len == 0) {
        free(data);
        return cli_fail(ES_INVALID_ARGUMENT, "%s is empty", path);
    }
    ProtobufCMessage *hold = NULL;
    Espace__V1__DocumentMeta *filed = NULL;
    espace_error_t err;
    if (espace_dmp_upload(e, pid, m, data, len, replaces, &hold, &filed, &err) < 0)
        rc = pro_fail_denied(&err, "documents:write");
    else
        s_print_filed(verb, filed);
    espace_free(hold);
    free(data);
    return rc;
}

int pro_dmp_upload(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {S_META_OPTS};
    char why[CLI_WHY_MAX], pid[ESPACE_PATIENT_ID_MAX];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("dmp upload", why, pro_usage);
    Espace__V1__DocumentMeta m = ESPACE__V1__DOCUMENT_META__INIT;
    int rc = s_meta(o, CLI_COUNT(o), &m);
    if (rc)
        return rc;
    espace_t *e = NULL;
    if ((rc = pro_resume_patient(c, CLI_VALUE(o, "--patient"), &e, pid)))
        return rc;
    rc = s_upload(e, pid, "filed", CLI_VALUE(o, "--file"), &m, NULL);
    espace_close(&e);
    return rc;
}

int pro_dmp_replace(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {S_META_OPTS, CLI_OPT("--id", CLI_REQUIRED)};
    char why[CLI_WHY_MAX], pid[ESPACE_PATIENT_ID_MAX];
    uint8_t id[ID_BYTES];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("dmp replace", why, pro_usage);
    int rc = s_id("--id", CLI_VALUE(o, "--id"), id);
    if (rc)
        return rc;
    espace_t *e = NULL;
    espace_error_t err;
    if ((rc = pro_resume_patient(c, CLI_VALUE(o, "--patient"), &e, pid)))
        return rc;
    /* the new version keeps what the options do not change */
    Espace__V1__GetDocumentReply *g = NULL;
    if (espace_dmp_get_document(e, pid, id, CLI_VALUE(o, "--class"), &g, &err) < 0) {
        rc = pro_fail_denied(&err, "documents:read");
        goto close;
    }
    Espace__V1__DocumentMeta m = ESPACE__V1__DOCUMENT_META__INIT;
    m.type_code = g->document->type_code;
    m.title = g->document->title;
    m.class_code = g->document->class_code;
    m.mime_type = g->document->mime_type;
    m.confidentiality = g->document->confidentiality;
    m.format_code = g->document->format_code;
    if ((rc = s_meta(o, CLI_COUNT(o), &m)) == 0)
        rc = s_upload(e, pid, "replaced by", CLI_VALUE(o, "--file"), &m, id);
    espace_free(&g->base);
close:
    espace_close(&e);
    return rc;
}

int pro_dmp_list(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--patient", CLI_REQUIRED), CLI_OPT("--class", CLI_OPTIONAL),
                     CLI_OPT("--type", CLI_OPTIONAL),    CLI_OPT("--category", CLI_OPTIONAL),
                     CLI_OPT("--status", CLI_OPTIONAL),  CLI_OPT("--from", CLI_OPTIONAL),
                     CLI_OPT("--to", CLI_OPTIONAL)};
    char why[CLI_WHY_MAX], pid[ESPACE_PATIENT_ID_MAX];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("dmp list", why, pro_usage);
    Espace__V1__SearchDocumentsRequest req = ESPACE__V1__SEARCH_DOCUMENTS_REQUEST__INIT;
    Espace__V1__Period created = ESPACE__V1__PERIOD__INIT;
    const char *v;
    int x = 0;
    req.class_code = (char *)(CLI_VALUE(o, "--class") ? CLI_VALUE(o, "--class") : "");
    req.type_code = (char *)(CLI_VALUE(o, "--type") ? CLI_VALUE(o, "--type") : "");
    if ((v = CLI_VALUE(o, "--category"))) {
        if (enum_parse(&espace__v1__doc_category__descriptor, v, &x) != 0 || x <= 0)
            return cli_fail(ES_INVALID_ARGUMENT, "--category: syntheses, treatments, reports, "
                                                 "imaging, biology, prevention or other");
        req.category = (Espace__V1__DocCategory)x;
    }
    if ((v = CLI_VALUE(o, "--status"))) {
        if (enum_parse(&espace__v1__availability__descriptor, v, &x) != 0 || x <= 0)
            return cli_fail(ES_INVALID_ARGUMENT, "--status: current or superseded");
        req.availability = (Espace__V1__Availability)x;
    }
    int rc = pro_opt_time(o, CLI_COUNT(o), "--from", &created.start_ms);
    if (rc || (rc = pro_opt_time(o, CLI_COUNT(o), "--to", &created.end_ms)) != 0)
        return rc;
    req.created = &created;
    req.limit = 200;
    espace_t *e = NULL;
    espace_error_t err;
    unsigned count = 0;
    uint8_t cursor[PRO_CURSOR_MAX];
    if ((rc = pro_resume_patient(c, CLI_VALUE(o, "--patient"), &e, pid)))
        return rc;
    req.patient_id = pid;
    for (int page = 0; page < PRO_DMP_PAGES; page++) {
        Espace__V1__SearchDocumentsReply *r = NULL;
        if (espace_dmp_search_documents(e, &req, &r, &err) < 0) {
            rc = pro_fail_denied(&err, "documents:read");
            goto close;
        }
        for (size_t i = 0; i < r->n_documents; i++)
            s_print_doc(r->documents[i]);
        count += (unsigned)r->n_documents;
        int more = pro_cursor_keep(&r->next_cursor, cursor, &req.cursor);
        espace_free(&r->base);
        if (!more)
            break;
    }
    if (count == 0)
        fprintf(stderr, "no documents\n");
close:
    espace_close(&e);
    return rc;
}

/* Write data to path (created 0600, not followed if a link). */
static int s_save(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return cli_fail(ES_INTERNAL, "cannot write %s: %s", path, strerror(errno));
    size_t at = 0;
    while (at < len) {
        ssize_t w = write(fd, data + at, len - at);
        if (w <= 0)
            break;
        at += (size_t)w;
    }
    int rc = close(fd);
    if (at < len || rc != 0)
        return cli_fail(ES_INTERNAL, "cannot write %s", path);
    return 0;
}

int pro_dmp_get(pro_conf_t *c, int argc, char **argv)
{
    cli_opt_t o[] = {CLI_OPT("--patient", CLI_REQUIRED), CLI_OPT("--id", CLI_REQUIRED),
                     CLI_OPT("--class", CLI_OPTIONAL),   CLI_OPT("--out", CLI_OPTIONAL),
                     CLI_OPT("--fhir", CLI_SWITCH)};
    char why[CLI_WHY_MAX], pid[ESPACE_PATIENT_ID_MAX];
    uint8_t id[ID_BYTES];
    if (cli_parse(argc, argv, o, CLI_COUNT(o), why, sizeof why) < 0)
        return cli_usage("dmp get", why, pro_usage);
    int rc = s_id("--id", CLI_VALUE(o, "--id"), id);
    if (rc)
        return rc;
    const char *out = CLI_VALUE(o, "--out"), *cls = CLI_VALUE(o, "--class");
    if (!out && !CLI_VALUE(o, "--fhir"))
        return cli_usage("dmp get", "--out FILE or --fhir", pro_usage);
    espace_t *e = NULL;
    espace_error_t err;
    if ((rc = pro_resume_patient(c, CLI_VALUE(o, "--patient"), &e, pid)))
        return rc;
    if (CLI_VALUE(o, "--fhir")) {
        Espace__V1__ExportDocumentReply *x = NULL;
        if (espace_dmp_export_document(e, pid, id, cls, &x, &err) < 0) {
            rc = pro_fail_denied(&err, "documents:read");
            goto close;
        }
        printf("%s\n", x->json);
        espace_free(&x->base);
    }
    if (out) {
        uint8_t *data = NULL, hash[ESPACE_DMP_HASH];
        size_t len = 0;
        char hex[2 * ESPACE_DMP_HASH + 1];
        if (espace_dmp_download(e, pid, id, cls, &data, &len, hash, &err) < 0) {
            rc = pro_fail_denied(&err, "documents:read");
            goto close;
        }
        if ((rc = s_save(out, data, len)) == 0) {
            sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
            printf("saved %s size %zu hash %s\n", out, len, hex);
        }
        free(data);
    }
close:
    espace_close(&e);
    return rc;
}
