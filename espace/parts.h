/*
 * parts.h - the parts the espace binary runs: the broker and every service.
 *
 * One table (parts_table) maps a part's name to how to run it. `espace up`
 * runs them all, in table order (the broker first); `espace NAME` runs one.
 * Adding a service is one line in parts.c:
 *     {"consent", s_run_service, &consent_service, "consent service"},
 *
 * THREAD SAFETY: a part's run function blocks on the calling thread until
 * stop_fd() is readable; run each part in its own thread.
 */
#ifndef ES_PARTS_H
#define ES_PARTS_H

#include <stddef.h>

#include "espace/config.h"
#include "runtime/service.h"

#define PARTS_MAX 32 /* most parts in the table */

typedef struct part_def part_def_t;

/* What one process gives each of its parts (up.c). */
typedef struct part_env {
    void *zctx;   /* the ZeroMQ context every part of the process shares */
    int inproc;   /* 1: the broker runs in this process: it binds the
                     CONFIG_*_INPROC endpoints too and the other parts
                     reach it there (no kernel, no ZeroMQ I/O thread) */
    int ready_fd; /* write one byte here once the part serves */
} part_env_t;

/* Run part `p` with `cfg` until stop_fd() is readable; write one byte to
 * env->ready_fd once it serves. 0 after a clean stop, or a negative
 * es_status if it could not start. */
typedef int (*part_run_fn)(const part_def_t *p, const espace_config_t *cfg,
                           const part_env_t *env);

struct part_def {
    const char *name;       /* command name, log name, store folder (services) */
    part_run_fn run;        /* how to run it */
    const svc_def_t *svc;   /* the service definition (services), else NULL */
    const char *summary;    /* one line for --help */
};

extern const part_def_t parts_table[];
extern const size_t parts_count;

/* The part called `name`, or NULL. */
const part_def_t *parts_find(const char *name);

#endif
