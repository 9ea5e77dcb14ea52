/*
 * test_identity_devices.c - services/identity/devices.c on a live bus
 * (identity_fixture.h): RegisterDeviceKeys (once, valid keys only), keys
 * given at login, ListDevices, GetDeviceKeys (others see keys without
 * names; operators too), RevokeDevice (ends the device's sessions and
 * announces them) and the devices a login may reuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "bus/codec.h"
#include "proto/status.h"
#include "test/service/identity_fixture.h"

static void test_devices(void **state)
{
    (void)state;
    bus_reply_t r;
    char ins[16], pid[33], ins2[16];
    idf_new_ins(ins);
    idf_new_ins(ins2);
    assert_int_equal(idf_sign_up(ins, pid, &r), 0);
    assert_int_equal(idf_sign_up(ins2, NULL, &r), 0);

    Espace__V1__LoginReply *a = NULL, *b = NULL;
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, NULL, &a, &r), 0);
    assert_int_equal(idf_login(ins2, NULL, IDF_PASSWORD, NULL, NULL, &b, &r), 0);
    bus_client_t *ca = idf_session_client(a->token);
    bus_client_t *cb = idf_session_client(b->token);

    /* register the keys of a's device: bad keys refused, then once only */
    Espace__V1__DeviceKeys keys;
    uint8_t spk[32], dpk[32];
    idf_make_keys(&keys, spk, dpk);
    Espace__V1__RegisterDeviceKeysRequest kreq = ESPACE__V1__REGISTER_DEVICE_KEYS_REQUEST__INIT;
    Espace__V1__DeviceKeys bad = keys;
    uint8_t ff[32];
    memset(ff, 0xff, sizeof ff);
    bad.sign_public.data = ff; /* not a valid Ed25519 point */
    kreq.keys = &bad;
    assert_int_equal(idf_call(ca, "RegisterDeviceKeys", &kreq.base, NULL, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "keys.sign_public");
    bad = keys;
    bad.dh_public.len = 31;
    assert_int_equal(idf_call(ca, "RegisterDeviceKeys", &kreq.base, NULL, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "keys.dh_public");
    kreq.keys = NULL;
    assert_int_equal(idf_call(ca, "RegisterDeviceKeys", &kreq.base, NULL, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    kreq.keys = &keys;
    assert_int_equal(idf_call(ca, "RegisterDeviceKeys", &kreq.base, NULL, NULL, NULL, &r), 0);
    assert_int_equal(idf_call(ca, "RegisterDeviceKeys", &kreq.base, NULL, NULL, NULL, &r),
                     ES_FAILED_PRECONDITION);

    /* ListDevices: a's one device with its name and keys */
    Espace__V1__ListDevicesRequest lreq = ESPACE__V1__LIST_DEVICES_REQUEST__INIT;
    Espace__V1__ListDevicesReply *lrep = NULL;
    assert_int_equal(idf_call(ca, "ListDevices", &lreq.base,
                              &espace__v1__list_devices_reply__descriptor, NULL,
                              (ProtobufCMessage **)&lrep, &r),
                     0);
    assert_int_equal(lrep->n_devices, 1);
    assert_memory_equal(lrep->devices[0]->device_id.data, a->device_id.data, 16);
    assert_string_equal(lrep->devices[0]->name, "test browser");
    assert_non_null(lrep->devices[0]->keys);
    assert_memory_equal(lrep->devices[0]->keys->sign_public.data, spk, 32);
    assert_false(lrep->devices[0]->revoked);
    codec_free(&lrep->base);

    /* b fetches a's keys (no device name for others); the operator too */
    Espace__V1__GetDeviceKeysRequest greq = ESPACE__V1__GET_DEVICE_KEYS_REQUEST__INIT;
    greq.kind = ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT;
    greq.principal = pid;
    Espace__V1__GetDeviceKeysReply *grep = NULL;
    assert_int_equal(idf_call(cb, "GetDeviceKeys", &greq.base,
                              &espace__v1__get_device_keys_reply__descriptor, NULL,
                              (ProtobufCMessage **)&grep, &r),
                     0);
    assert_int_equal(grep->n_devices, 1);
    assert_memory_equal(grep->devices[0]->keys->sign_public.data, spk, 32);
    assert_memory_equal(grep->devices[0]->keys->dh_public.data, dpk, 32);
    assert_string_equal(grep->devices[0]->name, "");
    codec_free(&grep->base);
    assert_int_equal(
        idf_call(idf->local, "GetDeviceKeys", &greq.base, NULL, idf_operator(), NULL, &r), 0);
    /* anonymous callers are refused; bad principals are INVALID_ARGUMENT */
    assert_int_equal(idf_call(idf->local, "GetDeviceKeys", &greq.base, NULL, NULL, NULL, &r),
                     ES_UNAUTHENTICATED);
    greq.principal = "not-an-id";
    assert_int_equal(idf_call(cb, "GetDeviceKeys", &greq.base, NULL, NULL, NULL, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "principal");
    greq.principal = "0123456789abcdef0123456789abcdef";
    assert_int_equal(idf_call(cb, "GetDeviceKeys", &greq.base, NULL, NULL, NULL, &r), ES_NOT_FOUND);
    greq.principal = pid;

    /* a login with keys on a new device registers them at once */
    Espace__V1__DeviceKeys keys2;
    uint8_t spk2[32], dpk2[32];
    idf_make_keys(&keys2, spk2, dpk2);
    Espace__V1__LoginReply *a2 = NULL;
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, &keys2, &a2, &r), 0);
    assert_memory_not_equal(a2->device_id.data, a->device_id.data, 16);
    assert_int_equal(idf_call(cb, "GetDeviceKeys", &greq.base,
                              &espace__v1__get_device_keys_reply__descriptor, NULL,
                              (ProtobufCMessage **)&grep, &r),
                     0);
    assert_int_equal(grep->n_devices, 2);
    codec_free(&grep->base);
    /* invalid keys at login */
    Espace__V1__DeviceKeys bad2 = keys2;
    bad2.sign_public.data = ff;
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, NULL, &bad2, NULL, &r),
                     ES_INVALID_ARGUMENT);
    assert_string_equal(r.field, "device_keys.sign_public");

    /* b cannot revoke a's device */
    Espace__V1__RevokeDeviceRequest dreq = ESPACE__V1__REVOKE_DEVICE_REQUEST__INIT;
    dreq.device_id = a->device_id;
    assert_int_equal(idf_call(cb, "RevokeDevice", &dreq.base, NULL, NULL, NULL, &r), ES_NOT_FOUND);
    /* nor a's sessions */
    Espace__V1__RevokeSessionRequest rreq = ESPACE__V1__REVOKE_SESSION_REQUEST__INIT;
    rreq.session_id = a->session_id;
    assert_int_equal(idf_call(cb, "RevokeSession", &rreq.base, NULL, NULL, NULL, &r), ES_NOT_FOUND);
    assert_int_equal(idf_authenticate(a->token, NULL), 0);

    /* a revokes its first device from the second one: the session on it ends */
    bus_sub_t *sub = idf_subscriber();
    bus_client_t *ca2 = idf_session_client(a2->token);
    assert_int_equal(idf_call(ca2, "RevokeDevice", &dreq.base, NULL, NULL, NULL, &r), 0);
    assert_int_equal(idf_wait_revoked(sub, a->session_id.data), 0);
    assert_int_equal(idf_authenticate(a->token, NULL), ES_UNAUTHENTICATED);
    assert_int_equal(idf_authenticate(a2->token, NULL), 0);
    /* GetDeviceKeys omits the revoked device; ListDevices shows it revoked */
    assert_int_equal(idf_call(cb, "GetDeviceKeys", &greq.base,
                              &espace__v1__get_device_keys_reply__descriptor, NULL,
                              (ProtobufCMessage **)&grep, &r),
                     0);
    assert_int_equal(grep->n_devices, 1);
    assert_memory_equal(grep->devices[0]->device_id.data, a2->device_id.data, 16);
    codec_free(&grep->base);
    assert_int_equal(idf_call(ca2, "ListDevices", &lreq.base,
                              &espace__v1__list_devices_reply__descriptor, NULL,
                              (ProtobufCMessage **)&lrep, &r),
                     0);
    assert_int_equal(lrep->n_devices, 2);
    int revoked = 0;
    for (size_t i = 0; i < lrep->n_devices; i++)
        revoked += lrep->devices[i]->revoked ? 1 : 0;
    assert_int_equal(revoked, 1);
    codec_free(&lrep->base);
    /* a login asking for the revoked device gets a new one */
    Espace__V1__LoginReply *a3 = NULL;
    assert_int_equal(idf_login(ins, NULL, IDF_PASSWORD, &a->device_id, NULL, &a3, &r), 0);
    assert_memory_not_equal(a3->device_id.data, a->device_id.data, 16);
    /* a device of someone else is not reused either */
    Espace__V1__LoginReply *b2 = NULL;
    assert_int_equal(idf_login(ins2, NULL, IDF_PASSWORD, &a2->device_id, NULL, &b2, &r), 0);
    assert_memory_not_equal(b2->device_id.data, a2->device_id.data, 16);

    bus_sub_destroy(&sub);
    bus_client_destroy(&ca);
    bus_client_destroy(&ca2);
    bus_client_destroy(&cb);
    codec_free(&a->base);
    codec_free(&a2->base);
    codec_free(&a3->base);
    codec_free(&b->base);
    codec_free(&b2->base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devices),
    };
    return cmocka_run_group_tests(tests, idf_setup, idf_teardown);
}
