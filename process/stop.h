/*
 * stop.h - clean shutdown on SIGINT/SIGTERM.
 *
 * stop_install() creates a process-wide pipe and installs handlers for
 * SIGINT and SIGTERM that write one byte to it. Every loop polls
 * stop_fd() (readable = stop now) next to its sockets, so a signal wakes
 * them all at once; stop_request() does the same from code (tests, `up`).
 *
 * THREAD SAFETY: stop_fd and stop_request are safe from any thread and from
 * signal handlers; call stop_install once, early, from the main thread.
 */
#ifndef ES_STOP_H
#define ES_STOP_H

/* Create the pipe and install the handlers. 0 or ES_INTERNAL. */
int stop_install(void);

/* Read end of the pipe: readable once a stop was requested (it stays so).
 * Created on first use if stop_install was not called; -1 only if the pipe
 * could not be created. Never read or close it. */
int stop_fd(void);

/* Request a stop, as a signal would. */
void stop_request(void);

/* 1 once a stop was requested. */
int stop_requested(void);

#endif
