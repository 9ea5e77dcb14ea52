/*
 * agenda_int.h - inside the write scenarios `agenda`, `fanout` and `relay`
 * (agenda.c): the run they share and the targets that speak to a server
 * (relay's: msg.c over espace's messaging, xmpp.c over XMPP).
 *
 * Connections come in groups of `group` consecutive slots (agenda: pairs,
 * the two devices of one patient; fanout: one group of all connections,
 * devices of one patient). Write i goes to group i % groups; within the
 * group the writer turns round (agenda_writer), and the write is delivered
 * when it reached every other ready connection of the group (and, with
 * count_writer, the writer's own connection too). Each (write, connection)
 * delivery counts once.
 *
 * A target (espace, relay, mosquitto) says how to make a connection ready,
 * how to encode a write and how to read what comes back; it calls
 * agenda_ready, agenda_acked and agenda_delivered.
 *
 * THREAD SAFETY: the loop thread only.
 */
#ifndef ES_LOAD_AGENDA_INT_H
#define ES_LOAD_AGENDA_INT_H

#include <stddef.h>
#include <stdint.h>

#include "clients/load/run.h"
#include "clients/load/sched.h"

typedef struct agenda agenda_t;

typedef struct agenda_target {
    const char *name;        /* run_opts.target */
    const char *subprotocol; /* websocket subprotocol */
    int text;                /* websocket text frames (net_opts.text) */
    unsigned settle_ms;      /* wait after the last connection is ready, before
                                sending (the server finishes the setup's work) */
    /* optional: set up / free the target's own state (a->ts) */
    int (*init)(agenda_t *a);
    void (*fini)(agenda_t *a);
    /* the websocket is open: start the handshake, or agenda_ready at once */
    void (*opened)(agenda_t *a, unsigned conn);
    /* optional: the connection ended */
    void (*closed)(agenda_t *a, unsigned conn);
    /* one websocket message */
    void (*message)(agenda_t *a, unsigned conn, const uint8_t *data, size_t len, int64_t now);
    /* encode write seq from conn `writer` into buf: 0 and *len, or an es_status */
    int (*write)(agenda_t *a, unsigned writer, uint64_t seq, uint8_t *buf, size_t cap,
                 size_t *len);
    /* optional: every tick of the loop (keepalives) */
    void (*tick)(agenda_t *a, int64_t now);
} agenda_target_t;

struct agenda {
    run_t *r;
    const agenda_target_t *t;
    void *ts;                 /* the target's state */
    unsigned group;           /* connections per group */
    unsigned groups;
    int count_writer;         /* the writer's own delivery counts (fanout) */
    int phase;
    uv_timer_t tick;
    sched_t opens;            /* connection openings */
    sched_t sends;
    int64_t connect_deadline, drain_deadline, settle_deadline;
    unsigned resolved;        /* connections ready or failed */
    uint8_t *ready;           /* per connection: 0 pending, 1 ready, 2 failed */
    unsigned *group_ready;    /* per group: ready connections when sending started */
    int64_t *at;              /* per write: scheduled time */
    uint8_t *state;           /* per write: AGENDA_ACKED | AGENDA_FAILED | AGENDA_DONE */
    uint32_t *got;            /* per write: deliveries */
    uint8_t *seen;            /* bit per (write, slot in group): delivered */
    uint64_t done;            /* writes complete or failed */
    int wait_acks;            /* the drain also waits for every sent write's reply */
    uint64_t replied;         /* writes answered (agenda_acked, any code) */
    uint64_t expected;        /* deliveries the writes sent should make */
};

enum { AGENDA_ACKED = 1, AGENDA_FAILED = 2, AGENDA_DONE = 4 };

/* The connection that sends write seq. */
unsigned agenda_writer(const agenda_t *a, uint64_t seq);

/* conn finished its handshake (ok 1) or failed it (ok 0). Once per conn. */
void agenda_ready(agenda_t *a, unsigned conn, int ok);

/* The server answered write seq with the wire code `code` (0 = OK): ack
 * latency, or the write failed. Unknown or repeated seqs count as unmatched. */
void agenda_acked(agenda_t *a, uint64_t seq, int code, int64_t now);

/* Write seq reached conn: delivery latency (each (write, conn) once; others
 * count as unmatched). */
void agenda_delivered(agenda_t *a, unsigned conn, uint64_t seq, int64_t now);

/* The targets. */
extern const agenda_target_t agenda_target_espace; /* agenda.c */
extern const agenda_target_t agenda_target_relay;  /* agenda.c */
extern const agenda_target_t agenda_target_mqtt;   /* agenda_mqtt.c */
extern const agenda_target_t agenda_target_msg;    /* msg.c: relay over messaging */
extern const agenda_target_t agenda_target_xmpp;   /* xmpp.c: relay over XMPP */

#endif
