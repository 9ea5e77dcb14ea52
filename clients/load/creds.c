/* creds.c - the accounts file of espace-load (creds.h). */
#include "clients/load/creds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/status.h"

static void s_wipe(char *p)
{
    if (!p)
        return;
    volatile char *v = p;
    while (*v)
        *v++ = 0;
    free(p);
}

static int s_grow(void **arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 64;
    void *p = realloc(*arr, c * size);
    if (!p)
        return ES_RESOURCE_EXHAUSTED;
    memset((char *)p + *cap * size, 0, (c - *cap) * size);
    *arr = p;
    *cap = c;
    return 0;
}

static int s_patient(creds_t *c, size_t *cap, char *save)
{
    int rc = s_grow((void **)&c->patients, c->n_patients, cap, sizeof *c->patients);
    if (rc < 0)
        return rc;
    creds_patient_t *p = &c->patients[c->n_patients];
    char *id = strtok_r(NULL, " ", &save), *ins = strtok_r(NULL, " ", &save),
         *pw = strtok_r(NULL, " ", &save);
    if (!id || !ins || !pw || strlen(id) != 32 || strlen(ins) != 15)
        return ES_INVALID_ARGUMENT;
    memcpy(p->id, id, 33);
    memcpy(p->ins, ins, 16);
    if (!(p->password = strdup(pw)))
        return ES_RESOURCE_EXHAUSTED;
    c->n_patients++; /* from here creds_destroy frees it */
    char *t;
    while ((t = strtok_r(NULL, " ", &save)) != NULL) {
        if (p->n_tokens >= CREDS_MAX_TOKENS)
            return ES_INVALID_ARGUMENT;
        if (!(p->tokens[p->n_tokens] = strdup(t)))
            return ES_RESOURCE_EXHAUSTED;
        p->n_tokens++;
    }
    return 0;
}

static int s_pro(creds_t *c, size_t *cap, char *save)
{
    int rc = s_grow((void **)&c->pros, c->n_pros, cap, sizeof *c->pros);
    if (rc < 0)
        return rc;
    creds_pro_t *p = &c->pros[c->n_pros];
    char *rpps = strtok_r(NULL, " ", &save), *pw = strtok_r(NULL, " ", &save),
         *list = strtok_r(NULL, " ", &save);
    if (!rpps || !pw || strlen(rpps) != 11)
        return ES_INVALID_ARGUMENT;
    memcpy(p->rpps, rpps, 12);
    if (!(p->password = strdup(pw)))
        return ES_RESOURCE_EXHAUSTED;
    if (!(p->patients = calloc(CREDS_MAX_PATIENTS_PER_PRO, sizeof *p->patients)))
        return ES_RESOURCE_EXHAUSTED;
    c->n_pros++;
    char *s2 = NULL;
    for (char *id = list ? strtok_r(list, ",", &s2) : NULL; id; id = strtok_r(NULL, ",", &s2)) {
        if (strlen(id) != 32 || p->n_patients >= CREDS_MAX_PATIENTS_PER_PRO)
            return ES_INVALID_ARGUMENT;
        memcpy(p->patients[p->n_patients++], id, 33);
    }
    return 0;
}

int creds_load(const char *path, creds_t **out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? ES_NOT_FOUND : ES_INTERNAL;
    creds_t *c = calloc(1, sizeof *c);
    char *line = malloc(CREDS_MAX_LINE);
    int rc = c && line ? 0 : ES_RESOURCE_EXHAUSTED;
    size_t pcap = 0, rcap = 0;
    unsigned lineno = 0;
    while (rc == 0 && fgets(line, CREDS_MAX_LINE, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *save = NULL, *kind = strtok_r(line, " ", &save);
        if (kind && !strcmp(kind, "patient"))
            rc = s_patient(c, &pcap, save);
        else if (kind && !strcmp(kind, "pro"))
            rc = s_pro(c, &rcap, save);
        else
            rc = ES_INVALID_ARGUMENT;
        if (rc == ES_INVALID_ARGUMENT)
            fprintf(stderr, "espace-load: %s:%u: malformed line\n", path, lineno);
    }
    if (line) {
        volatile char *v = line;
        for (size_t i = 0; i < CREDS_MAX_LINE; i++)
            v[i] = 0;
    }
    free(line);
    fclose(f);
    if (rc < 0) {
        creds_destroy(&c);
        return rc;
    }
    *out = c;
    return 0;
}

void creds_destroy(creds_t **cp)
{
    if (!cp || !*cp)
        return;
    creds_t *c = *cp;
    for (size_t i = 0; i < c->n_patients; i++) {
        s_wipe(c->patients[i].password);
        for (unsigned t = 0; t < c->patients[i].n_tokens; t++)
            s_wipe(c->patients[i].tokens[t]);
    }
    for (size_t i = 0; i < c->n_pros; i++) {
        s_wipe(c->pros[i].password);
        free(c->pros[i].patients);
    }
    free(c->patients);
    free(c->pros);
    free(c);
    *cp = NULL;
}
