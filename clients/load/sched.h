/*
 * sched.h - open-loop send schedule: the i-th send of a run is due at
 * start + i / rate, whatever happened to the sends before it.
 *
 * This is what avoids coordinated omission: a load client that waits for
 * an answer (or for a free socket) before sending the next request sends
 * less exactly when the server is slow, and its latencies hide the stall.
 * With a schedule, each send carries its scheduled time and its latency is
 * measured from that time; a sender that falls behind sends the overdue
 * requests at once (their wait counts in their latency) and sched_lag_ns
 * says how far behind it is.
 *
 * Times are nanoseconds on any monotonic clock the caller chooses (the
 * same for every call). The schedule ends after `count` sends.
 *
 * Usage, from a timer that fires often (espace-load: every ms):
 *     int64_t at;
 *     while (sched_next_due(&s, now_ns(), &at) == 1)
 *         send_one(at);
 *
 * Memory: a plain struct, no allocation. THREAD SAFETY: none.
 */
#ifndef ES_LOAD_SCHED_H
#define ES_LOAD_SCHED_H

#include <stdint.h>

#define SCHED_MAX_RATE 10000000u /* sends per second */

typedef struct sched {
    int64_t start_ns;  /* time of send 0 */
    uint64_t rate;     /* sends per second, 1..SCHED_MAX_RATE */
    uint64_t count;    /* sends in the run */
    uint64_t next;     /* index of the next send */
} sched_t;

/* Set up a schedule of `count` sends at `rate` per second from start_ns.
 * 0, or ES_INVALID_ARGUMENT when rate is 0 or above SCHED_MAX_RATE. */
int sched_init(sched_t *s, int64_t start_ns, uint64_t rate, uint64_t count);

/* The scheduled time of send i (any i, even past count). */
int64_t sched_time(const sched_t *s, uint64_t i);

/* If the next send is due at now_ns (its time <= now_ns) and the run is not
 * over: 1, *at = its scheduled time, and the schedule moves on. Else 0. */
int sched_next_due(sched_t *s, int64_t now_ns, int64_t *at);

/* Nanoseconds from now_ns until the next send is due (0 if overdue), or -1
 * when the run is over. */
int64_t sched_wait_ns(const sched_t *s, int64_t now_ns);

/* How late the oldest unsent due send is at now_ns (0 when on time or over). */
int64_t sched_lag_ns(const sched_t *s, int64_t now_ns);

/* 1 once every send was handed out. */
int sched_done(const sched_t *s);

#endif
