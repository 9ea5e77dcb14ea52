/*
 * scenario_fixture.h - what the scenario fixtures on consent share
 * (agenda_fixture, messaging_fixture, dmp_fixture; library
 * es_test_scenario_fixture): the harness with its broker, one local client,
 * a subscriber to the live events, consent and the service under test
 * started and routed, the teardown in the reverse order, and reading the
 * live events. Each fixture keeps these parts in its own struct and passes
 * them here.
 *
 * Failures: the sc_*start functions fail the cmocka test (assert); the
 * others return 0 or -1, or NULL. Single-threaded, like cmocka.
 */
#ifndef ES_TEST_SCENARIO_FIXTURE_H
#define ES_TEST_SCENARIO_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bus/codec.h"
#include "proto/ids.h"
#include "test/harness/harness.h"

/* The harness h (h_setup, no tcp) with its broker at heartbeat hb_ms, the
 * client *cl and the subscriber *events to each prefix of the
 * NULL-terminated `prefixes` ("patient.", "pro."...). 0, or -1. */
int sc_setup(harness_t *h, int hb_ms, bus_client_t **cl, bus_sub_t **events,
             const char *const *prefixes);

/* Starts the service def in s and waits until the broker routes `method`
 * (req, reply rdesc) to it as the local operator (h_svc_start_served). */
void sc_start(harness_t *h, h_svc_t *s, const svc_def_t *def, bus_client_t *cl,
              const char *method, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *rdesc);

/* sc_start of consent, routed once ListApps is answered. */
void sc_consent_start(harness_t *h, h_svc_t *consent, bus_client_t *cl);

/* Closes *events and *cl, stops the service svc then consent, ends the
 * harness. 0, or -1 when a service or the harness did not end cleanly. */
int sc_teardown(harness_t *h, bus_client_t **cl, bus_sub_t **events, h_svc_t *svc,
                h_svc_t *consent);

/* A fresh random patient id into out, registered with consent as the
 * service identity does at activation (through cl, deadline call_ms); fails
 * the test when consent refuses. */
void sc_patient_id(bus_client_t *cl, int call_ms, char out[ID_HEX]);

/* The next live event on exactly `topic` within ms, its body decoded as
 * desc (events on other topics are skipped). NULL if none (codec_free). */
ProtobufCMessage *sc_event(bus_sub_t *events, const char *topic,
                           const ProtobufCMessageDescriptor *desc, int ms);

/* Drops every event received so far (until 50 ms pass without one). */
void sc_drain(bus_sub_t *events);

#endif
