/* procstat.c - server CPU and memory from /proc (procstat.h). */
#include "clients/load/procstat.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/status.h"

static int64_t s_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Whole (small) file into buf, NUL-terminated: 0, ES_NOT_FOUND, ES_INTERNAL. */
static int s_slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT || errno == ESRCH ? ES_NOT_FOUND : ES_INTERNAL;
    size_t got = fread(buf, 1, n - 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return ES_INTERNAL;
    buf[got] = '\0';
    return 0;
}

int procstat_parse_stat(const char *line, int64_t *cpu_us)
{
    /* "pid (comm) state ppid ..." : fields after the last ')' */
    const char *p = strrchr(line, ')');
    if (!p)
        return ES_INTERNAL;
    p++;
    /* after ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt
     * majflt cmajflt utime(14) stime(15) */
    unsigned long long ut = 0, st = 0;
    char state;
    if (sscanf(p, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &state, &ut, &st) != 3)
        return ES_INTERNAL;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        hz = 100;
    *cpu_us = (int64_t)((ut + st) * 1000000ULL / (unsigned long long)hz);
    return 0;
}

static int64_t s_status_kib(const char *status, const char *key)
{
    const char *p = strstr(status, key);
    if (!p)
        return 0;
    return strtoll(p + strlen(key), NULL, 10);
}

static void s_read_threads(pid_t pid, procstat_t *out)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        if (out->n_threads >= PROCSTAT_MAX_THREADS) {
            out->threads_dropped++;
            continue;
        }
        char path[400], buf[1024];
        procstat_thread_t *t = &out->threads[out->n_threads];
        t->tid = atoi(de->d_name);
        snprintf(path, sizeof path, "%s/%s/stat", dir, de->d_name);
        if (s_slurp(path, buf, sizeof buf) < 0 || procstat_parse_stat(buf, &t->cpu_us) < 0)
            continue; /* the thread ended meanwhile */
        snprintf(path, sizeof path, "%s/%s/comm", dir, de->d_name);
        if (s_slurp(path, t->name, sizeof t->name) < 0)
            t->name[0] = '\0';
        t->name[strcspn(t->name, "\n")] = '\0';
        out->n_threads++;
    }
    closedir(d);
}

int procstat_read(pid_t pid, procstat_t *out)
{
    char path[64], buf[4096];
    memset(out, 0, sizeof *out);
    out->at_ns = s_now_ns();
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int rc = s_slurp(path, buf, sizeof buf);
    if (rc < 0)
        return rc;
    if ((rc = procstat_parse_stat(buf, &out->cpu_us)) < 0)
        return rc;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if ((rc = s_slurp(path, buf, sizeof buf)) < 0)
        return rc;
    out->rss_kib = s_status_kib(buf, "VmRSS:");
    out->anon_kib = s_status_kib(buf, "RssAnon:");
    s_read_threads(pid, out);
    return 0;
}

int64_t procstat_thread_cpu(const procstat_t *s, int tid)
{
    for (unsigned i = 0; i < s->n_threads; i++)
        if (s->threads[i].tid == tid)
            return s->threads[i].cpu_us;
    return -1;
}
