/* scenario_fixture.c - see scenario_fixture.h. */
#include "test/service/scenario_fixture.h"

#include <string.h>

#include <sodium.h>

#include "espace/v1/consent.pb-c.h"
#include "proto/names.h"
#include "proto/status.h"
#include "services/consent/consent.h"

int sc_setup(harness_t *h, int hb_ms, bus_client_t **cl, bus_sub_t **events,
             const char *const *prefixes)
{
    if (h_setup(h, 0) != 0)
        return -1;
    h->hb = hb_ms;
    if (h_broker_start(h) != 0 || h_client(h, cl) != 0 || h_sub(h, events) != 0)
        return -1;
    for (const char *const *p = prefixes; *p; p++)
        if (bus_subscribe(*events, *p) != 0)
            return -1;
    return 0;
}

void sc_start(harness_t *h, h_svc_t *s, const svc_def_t *def, bus_client_t *cl,
              const char *method, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *rdesc)
{
    assert_int_equal(h_svc_start_served(h, s, def, cl, method, req, rdesc), 0);
}

void sc_consent_start(harness_t *h, h_svc_t *consent, bus_client_t *cl)
{
    Espace__V1__ListAppsRequest req = ESPACE__V1__LIST_APPS_REQUEST__INIT;
    sc_start(h, consent, &consent_service, cl, "ListApps", &req.base,
             &espace__v1__list_apps_reply__descriptor);
}

int sc_teardown(harness_t *h, bus_client_t **cl, bus_sub_t **events, h_svc_t *svc,
                h_svc_t *consent)
{
    bus_sub_destroy(events);
    bus_client_destroy(cl);
    int rc = h_svc_stop(svc);
    rc |= h_svc_stop(consent);
    rc |= h_teardown(h);
    return rc == 0 ? 0 : -1;
}

void sc_patient_id(bus_client_t *cl, int call_ms, char out[ID_HEX])
{
    uint8_t id[ID_BYTES];
    randombytes_buf(id, sizeof id);
    id_hex(id, out);
    Espace__V1__RegisterPatientRequest req = ESPACE__V1__REGISTER_PATIENT_REQUEST__INIT;
    req.patient_id = out;
    Espace__V1__Caller c =
        h_caller(ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_SERVICE, SERVICE_IDENTITY);
    bus_reply_t r;
    memset(&r, 0, sizeof r);
    int rc = bus_call(cl, SERVICE_CONSENT, "RegisterPatient", &req.base, NULL, call_ms, &c, NULL,
                      &r);
    if (rc != 0)
        fail_msg("RegisterPatient: %s %s %s", es_status_name(rc), r.field, r.message);
}

ProtobufCMessage *sc_event(bus_sub_t *events, const char *topic,
                           const ProtobufCMessageDescriptor *desc, int ms)
{
    int64_t end = bus_mono_ms() + ms;
    for (;;) {
        int64_t left = end - bus_mono_ms();
        if (left <= 0)
            return NULL;
        char t[BUS_MAX_TOPIC + 1];
        Espace__V1__Event *ev = NULL;
        if (bus_sub_recv(events, (int)left, t, &ev) != 0)
            continue;
        ProtobufCMessage *m = NULL;
        if (strcmp(t, topic) == 0)
            codec_decode(desc, ev->body.data, ev->body.len, 0, &m, NULL);
        codec_free(&ev->base);
        if (m)
            return m;
    }
}

void sc_drain(bus_sub_t *events)
{
    char t[BUS_MAX_TOPIC + 1];
    Espace__V1__Event *ev = NULL;
    while (bus_sub_recv(events, 50, t, &ev) == 0)
        codec_free(&ev->base);
}
