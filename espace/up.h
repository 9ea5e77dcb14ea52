/*
 * up.h - run a set of parts (parts.h) until SIGINT/SIGTERM.
 *
 * Each part runs in its own thread, started in order; up_run waits for each
 * to report ready before starting the next, so services find the broker up.
 * Once all are ready it logs `event=up` (endpoints, broker public key, data
 * folder) and prints a short summary on stdout, then waits for a stop
 * (signal, or a part that exits on its own), stops every part (they all
 * poll stop_fd()) and joins them.
 *
 * THREAD SAFETY: call from the main thread after stop_install().
 */
#ifndef ES_UP_H
#define ES_UP_H

#include <stddef.h>

#include "espace/config.h"
#include "espace/parts.h"

#define UP_READY_TIMEOUT_MS 30000 /* longest wait for one part to be ready */

/* Run parts[0..n). Returns the process exit code: 0 after a clean stop, 1 if
 * a part failed to start or stopped with an error (message on stderr). */
int up_run(const espace_config_t *cfg, const part_def_t *const *parts, size_t n);

#endif
