/*
 * wire.h - the espace.v1 websocket messages espace-load sends and reads
 * (docs/protocol.md "Websocket edge", proto/espace/v1/edge.proto).
 *
 * Writes carry a marker "espace-load:<16 hex>" (the write's sequence
 * number) in the agenda event's title, so the device that gets the live
 * event finds which write it was without decoding the AgendaChange: the
 * title travels as plain bytes inside LiveEvent.body (wire_find_seq).
 *
 * Encoders write into a caller buffer of `cap` bytes: 0 and *len, or
 * ES_RESOURCE_EXHAUSTED when it does not fit. Strings are borrowed.
 * THREAD SAFETY: pure functions.
 */
#ifndef ES_LOAD_WIRE_H
#define ES_LOAD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "espace/v1/agenda.pb-c.h"
#include "espace/v1/edge.pb-c.h"

#define WIRE_MARK "espace-load:"
#define WIRE_MAX_PAYLOAD 4000 /* agenda description limit */

/* ClientMessage{id, login{ins, password, device_name}}. */
int wire_login(uint8_t *out, size_t cap, uint64_t id, const char *ins, const char *password,
               size_t *len);

/* ClientMessage{id, resume{token}}. */
int wire_resume(uint8_t *out, size_t cap, uint64_t id, const char *token, size_t *len);

/* The appointment of write seq, in caller storage: *ev gets kind RDV, a
 * start from seq, title = the marker of seq (written into title), and
 * description = `payload` bytes of text (written into desc, which holds
 * payload + 1 bytes). 0, or ES_INVALID_ARGUMENT (payload over
 * WIRE_MAX_PAYLOAD). libespace callers (the pro scenario) send it as is. */
#define WIRE_TITLE_MAX 64
int wire_agenda_event(Espace__V1__AgendaEvent *ev, uint64_t seq, size_t payload,
                      char title[WIRE_TITLE_MAX], char *desc);

/* ClientMessage{id, call agenda.Create}: an appointment whose title is the
 * marker of `seq` and whose description is `payload` bytes of text
 * (<= WIRE_MAX_PAYLOAD); patient_id "" for the caller's own agenda. */
int wire_agenda_create(uint8_t *out, size_t cap, uint64_t id, uint64_t seq, size_t payload,
                       const char *patient_id, size_t *len);

/* ClientMessage{id, call{service, method, body}}: the body is a packed
 * request (borrowed). */
int wire_call(uint8_t *out, size_t cap, uint64_t id, const char *service, const char *method,
              const ProtobufCMessage *req, size_t *len);

/* Decode a ServerMessage (free with wire_free), or NULL when it does not
 * decode. */
Espace__V1__ServerMessage *wire_parse(const uint8_t *data, size_t len);
void wire_free(Espace__V1__ServerMessage *m);

/* Find the marker in data: 1 and *seq, else 0. */
int wire_find_seq(const uint8_t *data, size_t len, uint64_t *seq);

#endif
