/*
 * procstat.h - what a server process costs, read from /proc (Linux).
 *
 * A sample holds the process's CPU time (utime + stime of
 * /proc/<pid>/stat, in clock ticks turned into microseconds), each thread's
 * CPU time (/proc/<pid>/task/<tid>/stat, with its name from `comm`), and
 * its memory (VmRSS and RssAnon of /proc/<pid>/status, KiB). Two samples
 * give the CPU spent between them; divided by the messages handled in
 * between, the CPU per message.
 *
 * Errors: ES_NOT_FOUND when the process is gone; ES_INTERNAL when /proc
 * could not be read or parsed. Threads past PROCSTAT_MAX_THREADS are
 * ignored (counted in `threads_dropped`).
 *
 * Memory: plain structs, no allocation. THREAD SAFETY: pure functions.
 */
#ifndef ES_LOAD_PROCSTAT_H
#define ES_LOAD_PROCSTAT_H

#include <stdint.h>
#include <sys/types.h>

#define PROCSTAT_MAX_THREADS 64
#define PROCSTAT_NAME_MAX 16 /* thread name (comm) incl. NUL */

typedef struct procstat_thread {
    int tid;
    char name[PROCSTAT_NAME_MAX];
    int64_t cpu_us; /* utime + stime */
} procstat_thread_t;

typedef struct procstat {
    int64_t at_ns;      /* CLOCK_MONOTONIC when read */
    int64_t cpu_us;     /* the process: utime + stime */
    int64_t rss_kib;    /* VmRSS */
    int64_t anon_kib;   /* RssAnon */
    unsigned n_threads;
    unsigned threads_dropped;
    procstat_thread_t threads[PROCSTAT_MAX_THREADS];
} procstat_t;

/* Read the process `pid` now. */
int procstat_read(pid_t pid, procstat_t *out);

/* CPU time of thread `tid` in `s`, or -1 when it is not there. */
int64_t procstat_thread_cpu(const procstat_t *s, int tid);

/* Parse the utime + stime of a /proc/.../stat line (the command name may
 * hold spaces and parentheses) into microseconds: 0, or ES_INTERNAL.
 * Exposed for the tests. */
int procstat_parse_stat(const char *line, int64_t *cpu_us);

#endif
