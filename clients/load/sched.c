/* sched.c - open-loop send schedule (sched.h). */
#include "clients/load/sched.h"

#include "proto/status.h"

int sched_init(sched_t *s, int64_t start_ns, uint64_t rate, uint64_t count)
{
    if (rate == 0 || rate > SCHED_MAX_RATE)
        return ES_INVALID_ARGUMENT;
    s->start_ns = start_ns;
    s->rate = rate;
    s->count = count;
    s->next = 0;
    return 0;
}

int64_t sched_time(const sched_t *s, uint64_t i)
{
    /* whole seconds apart so that i * 1e9 never overflows */
    uint64_t secs = i / s->rate, rest = i % s->rate;
    return s->start_ns + (int64_t)secs * 1000000000 + (int64_t)(rest * 1000000000u / s->rate);
}

int sched_next_due(sched_t *s, int64_t now_ns, int64_t *at)
{
    if (s->next >= s->count)
        return 0;
    int64_t t = sched_time(s, s->next);
    if (t > now_ns)
        return 0;
    *at = t;
    s->next++;
    return 1;
}

int64_t sched_wait_ns(const sched_t *s, int64_t now_ns)
{
    if (s->next >= s->count)
        return -1;
    int64_t t = sched_time(s, s->next);
    return t > now_ns ? t - now_ns : 0;
}

int64_t sched_lag_ns(const sched_t *s, int64_t now_ns)
{
    if (s->next >= s->count)
        return 0;
    int64_t t = sched_time(s, s->next);
    return now_ns > t ? now_ns - t : 0;
}

int sched_done(const sched_t *s)
{
    return s->next >= s->count;
}
