/*
 * report.h - what a run measured, as a JSON summary (one object, keys in
 * docs/benchmarks.md) and as a table for people.
 *
 * report_write: the JSON goes to o.json_path (mode 0644) or, when none, to
 * stdout; the table goes to stderr when the JSON took stdout, else stdout.
 * Returns 0, or ES_INTERNAL when the JSON file could not be written.
 * THREAD SAFETY: none.
 */
#ifndef ES_LOAD_REPORT_H
#define ES_LOAD_REPORT_H

#include "clients/load/run.h"

int report_write(const run_t *r);

#endif
