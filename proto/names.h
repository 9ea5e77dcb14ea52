/*
 * names.h - the names of the contract, in one place: the bus names of the
 * services, the event topics, and the text labels of the schema's enums.
 *
 * Method names are not here: they are the `rpc` names of each service in
 * proto/espace/v1/<service>.proto, read from the generated
 * ProtobufCServiceDescriptor (runtime/service.h checks a service's method
 * table against it at start).
 *
 * Topics (docs/protocol.md):
 *   patient.<patient id>.<area>   a patient's live events ("agenda", ...);
 *                                 the edge forwards "patient.<id>." to every
 *                                 connection of that patient
 *   pro.<rpps>.<area>             a professional's notices; the broker lets a
 *                                 professional's session subscribe to its own
 *                                 "pro.<rpps>." prefix only
 *   patient.<id>.device.<device id>.<area>, pro.<rpps>.device.<device id>.<area>
 *                                 addressed to one device of the principal
 *                                 (messaging): the edge forwards the patient
 *                                 form only to that patient's connections
 *                                 whose session is of that device
 *   identity.session.revoked      SessionRevoked, honoured by the broker and
 *                                 the edge before the token expires
 *   consent.*                     grants requested, revoked, emergencies
 *                                 (services/consent/consent.h)
 *
 * THREAD SAFETY: pure functions.
 */
#ifndef ES_NAMES_H
#define ES_NAMES_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "proto/ids.h"

/* Bus names of the services (bus_worker registration, bus_call). */
#define SERVICE_IDENTITY "identity"
#define SERVICE_CONSENT "consent"
#define SERVICE_AGENDA "agenda"
#define SERVICE_MESSAGING "messaging"
#define SERVICE_DMP "dmp"

/* Topic heads and areas. */
#define TOPIC_PATIENT "patient."                  /* + <patient id> + "." + area */
#define TOPIC_PRO "pro."                          /* + <rpps> + "." + area */
#define TOPIC_SESSION_REVOKED "identity.session.revoked"
#define TOPIC_CONSENT_EMERGENCY "consent.emergency"   /* EmergencyDeclared */
#define TOPIC_CONSENT_REQUEST "consent.request"       /* a professional's access request */
#define TOPIC_CONSENT_REVOKED "consent.grant.revoked" /* a grant revoked */
#define TOPIC_AREA_AGENDA "agenda"
#define TOPIC_AREA_AGENDA_REMINDER "agenda.reminder"
#define TOPIC_AREA_MESSAGING "messaging"
#define TOPIC_AREA_CONSENT "consent"               /* ConsentNotice: requests, emergencies */
#define TOPIC_AREA_DMP "dmp"
#define TOPIC_DEVICE "device."                    /* + <device id> + "." + area, after the head */
#define TOPIC_MAX 255                             /* longest topic on the bus */

/* "patient.<id>.<area>" into out, or the prefix "patient.<id>." when area is
 * NULL. 0, or ES_INVALID_ARGUMENT if id is not an id's text form (ids.h),
 * ES_TOO_LARGE if out (n bytes) is too small. */
int topic_patient(char *out, size_t n, const char *patient_id, const char *area);

/* "pro.<rpps>.<area>", or the prefix "pro.<rpps>." when area is NULL.
 * 0, ES_INVALID_ARGUMENT if rpps is not an RPPS (rpps.h), or ES_TOO_LARGE. */
int topic_pro(char *out, size_t n, const char *rpps, const char *area);

/* The patient id of a "patient.<id>...." topic into out. 0, or
 * ES_INVALID_ARGUMENT if the topic has no such head. */
int topic_patient_id(const char *topic, char out[ID_HEX]);

/* Length of the "pro.<rpps>." head of a topic or prefix, or 0 if it has none. */
size_t topic_pro_head(const char *topic);

/* Topics addressed to one device (16-byte id, hex in the topic):
 * "patient.<id>.device.<device>.<area>" / "pro.<rpps>.device.<device>.<area>"
 * (area NULL: the prefix up to the device's '.'). 0, ES_INVALID_ARGUMENT
 * for a bad patient id / RPPS or a NULL device, ES_TOO_LARGE. */
int topic_patient_device(char *out, size_t n, const char *patient_id,
                         const uint8_t device[ID_BYTES], const char *area);
int topic_pro_device(char *out, size_t n, const char *rpps, const uint8_t device[ID_BYTES],
                     const char *area);

/* The device a "patient.<id>." or "pro.<rpps>." topic is addressed to:
 * 0 and device when the rest starts with "device.<32 hex>." (or is exactly
 * "device.<32 hex>"); ES_NOT_FOUND when the topic has the head but is not
 * device-addressed (its rest does not start with "device."); ES_INVALID_
 * ARGUMENT when it has no such head, or starts "device." malformed (a
 * gateway drops those). */
int topic_device_id(const char *topic, uint8_t device[ID_BYTES]);

/* ---- enum labels ----
 * The label of an enum value is its schema name without the prefix shared by
 * all values of the enum, in lower case with '_' as '-':
 * AGENDA_STATUS_ENTERED_IN_ERROR -> "entered-in-error", AGENDA_KIND_RDV ->
 * "rdv". Command lines print and parse these; the web app reads the same
 * names from the schema. */
#define ENUM_LABEL_MAX 64

/* The label of `value` into out (n bytes); returns out, or "?" (static) when
 * the value is not in the enum or out is too small. */
const char *enum_label(const ProtobufCEnumDescriptor *d, int value, char *out, size_t n);

/* The value whose label (or full schema name) is `label`, case-insensitive,
 * into *value. 0, or ES_INVALID_ARGUMENT. */
int enum_parse(const ProtobufCEnumDescriptor *d, const char *label, int *value);

#endif
