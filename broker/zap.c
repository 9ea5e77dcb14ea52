/*
 * zap.c - the broker's ZAP handler (zap.h).
 */
#include "broker/zap.h"

#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "espace/v1/common.pb-c.h"
#include "bus/frames.h"
#include "broker/keys.h"
#include "process/log.h"
#include "proto/status.h"

#define S_ZAP_FRAMES 9 /* routing id, delimiter, 7 request frames */

void *zap_open(void *zctx)
{
    void *s = zmq_socket(zctx, ZMQ_ROUTER);
    if (s == NULL)
        return NULL;
    int linger = 0;
    if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_bind(s, ZAP_ENDPOINT) != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int s_eq(const char *a, size_t alen, const char *lit)
{
    return alen == strlen(lit) && memcmp(a, lit, alen) == 0;
}

int zap_decide(store_t *keys, const char *domain, size_t dlen, const char *mechanism,
               size_t mlen, const uint8_t *cred, size_t clen, char *user_id, size_t ulen)
{
    if (user_id != NULL && ulen > 0)
        user_id[0] = '\0';
    if (s_eq(mechanism, mlen, "NULL"))
        return 200; /* ipc sockets: local and trusted, the transport says so */
    if (!s_eq(mechanism, mlen, "CURVE") || clen != 32 || cred == NULL || keys == NULL)
        return 400;
    int events = s_eq(domain, dlen, ZAP_DOMAIN_EVENTS);
    if (!events && !s_eq(domain, dlen, ZAP_DOMAIN_REQ))
        return 400;
    keys_entry_t e;
    if (keys_lookup(keys, cred, &e) != 0)
        return 400;
    if (events && e.role != ESPACE__V1__PEER_ROLE__PEER_SERVICE &&
        e.role != ESPACE__V1__PEER_ROLE__PEER_GATEWAY)
        return 400;
    if (user_id != NULL) {
        char z85[BUS_KEY_Z85];
        bus_key_z85(cred, z85);
        snprintf(user_id, ulen, "%s:%s", keys_role_name(e.role), z85);
    }
    return 200;
}

int zap_handle(void *zap, store_t *keys)
{
    int refused = 0;
    for (int i = 0; i < 256; i++) {
        zmq_msg_t msgs[S_ZAP_FRAMES];
        size_t n = 0;
        int rc = frames_recv(zap, msgs, S_ZAP_FRAMES, &n, ZMQ_DONTWAIT);
        if (rc == ES_NOT_FOUND)
            break;
        if (rc != 0)
            continue;
        frame_ref_t f[S_ZAP_FRAMES];
        for (size_t j = 0; j < n; j++)
            f[j] = (frame_ref_t){zmq_msg_data(&msgs[j]), zmq_msg_size(&msgs[j])};
        if (n != S_ZAP_FRAMES || f[1].len != 0 || !s_eq((const char *)f[2].data, f[2].len, "1.0")) {
            frames_close(msgs, n);
            continue;
        }
        char user_id[128];
        int code = zap_decide(keys, (const char *)f[4].data, f[4].len, (const char *)f[7].data,
                              f[7].len, f[8].data, f[8].len, user_id, sizeof(user_id));
        if (code != 200) {
            refused++;
            char dom[32];
            size_t dl = f[4].len < sizeof(dom) - 1 ? f[4].len : sizeof(dom) - 1;
            if (dl > 0)
                memcpy(dom, f[4].data, dl);
            dom[dl] = '\0';
            char q[48];
            log_info("broker", "peer.refused", "domain=%s", log_quote(dom, q, sizeof(q)));
        }
        const char *status = code == 200 ? "200" : "400";
        const char *text = code == 200 ? "OK" : "refused";
        frame_ref_t r[8] = {f[0],
                            {(const uint8_t *)"", 0},
                            {(const uint8_t *)"1.0", 3},
                            f[3],
                            {(const uint8_t *)status, 3},
                            {(const uint8_t *)text, strlen(text)},
                            {(const uint8_t *)user_id, code == 200 ? strlen(user_id) : 0},
                            {(const uint8_t *)"", 0}};
        frames_send(zap, r, 8);
        frames_close(msgs, n);
    }
    return refused;
}

int zap_parse_user_id(const char *user_id, int *role, char key[BUS_KEY_Z85])
{
    if (user_id == NULL || role == NULL || key == NULL)
        return ES_INVALID_ARGUMENT;
    const char *colon = strchr(user_id, ':');
    if (colon == NULL || (size_t)(colon - user_id) >= 16 || strlen(colon + 1) != BUS_KEY_Z85 - 1)
        return ES_INVALID_ARGUMENT;
    char name[16];
    memcpy(name, user_id, (size_t)(colon - user_id));
    name[colon - user_id] = '\0';
    int r = keys_role_parse(name);
    if (r < 0)
        return ES_INVALID_ARGUMENT;
    *role = r;
    memcpy(key, colon + 1, BUS_KEY_Z85);
    return 0;
}
