/*
 * stop.c - the process-wide stop pipe (see stop.h).
 *
 * The pipe is created once (pthread_once), by stop_install or lazily by the
 * first stop_fd/stop_request. Both ends are O_CLOEXEC|O_NONBLOCK. The read
 * end is never drained: once a byte was written it stays readable, so every
 * loop polling it wakes, however late it polls. When the pipe is full
 * (64 KiB of stop requests) further writes fail with EAGAIN, which is fine:
 * it is readable already.
 */
#define _GNU_SOURCE /* pipe2 */
#include "process/stop.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "proto/status.h"

static int s_pipe[2] = {-1, -1};
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static atomic_int s_created = 0;           /* 1 once the pipe exists */
static volatile sig_atomic_t s_flag = 0;   /* 1 once a stop was requested */

static void s_create(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
        return;
    s_pipe[0] = p[0];
    s_pipe[1] = p[1];
    atomic_store(&s_created, 1);
}

/* Create the pipe if needed. Lock-free once created, so the signal handler
 * (which only runs after stop_install created it) never enters
 * pthread_once. */
static int s_ensure(void)
{
    if (!atomic_load(&s_created))
        pthread_once(&s_once, s_create);
    return atomic_load(&s_created) ? 0 : -1;
}

/* Async-signal-safe: an atomic store, a write(2), errno preserved. */
static void s_wake(void)
{
    int saved = errno;
    s_flag = 1;
    if (atomic_load(&s_created)) {
        ssize_t w;
        do {
            w = write(s_pipe[1], "s", 1);
        } while (w < 0 && errno == EINTR);
    }
    errno = saved;
}

static void s_on_signal(int sig)
{
    (void)sig;
    s_wake();
}

int stop_install(void)
{
    if (s_ensure() != 0)
        return ES_INTERNAL;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return ES_INTERNAL;
    return ES_OK;
}

int stop_fd(void)
{
    if (s_ensure() != 0)
        return -1;
    return s_pipe[0];
}

void stop_request(void)
{
    (void)s_ensure();
    s_wake();
}

int stop_requested(void)
{
    return s_flag ? 1 : 0;
}
