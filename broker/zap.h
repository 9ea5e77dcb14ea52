/*
 * zap.h - the broker's ZAP handler (RFC 27), private to the broker.
 *
 * A ROUTER bound on inproc://zeromq.zap.01 in the broker's context, before
 * any CURVE server binds. Each request is answered at once from the key
 * registry (keys.h):
 *   mechanism CURVE, domain "req":    any registered role        -> 200
 *   mechanism CURVE, domain "events": role service or gateway    -> 200
 *   mechanism NULL (ipc sockets, if libzmq asks at all)           -> 200
 *   anything else                                                 -> 400
 * The 200 reply's user id is "<role name>:<Z85 key>" (keys_role_name), read
 * back by the broker with zmq_msg_gets(msg, "User-Id") (zap_parse_user_id).
 *
 * THREAD SAFETY: the broker thread only.
 */
#ifndef ES_ZAP_H
#define ES_ZAP_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "storage/store.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN_REQ "req"
#define ZAP_DOMAIN_EVENTS "events"

/* Open the ZAP ROUTER in zctx and bind it. NULL on failure. */
void *zap_open(void *zctx);

/* Read and answer every waiting ZAP request (non-blocking). Malformed
 * requests are dropped (libzmq then fails the handshake). Returns the number
 * of requests refused, for logs. */
int zap_handle(void *zap, store_t *keys);

/* Parse a User-Id "<role>:<Z85>" into the PeerRole and the Z85 key text.
 * 0 or ES_INVALID_ARGUMENT. */
int zap_parse_user_id(const char *user_id, int *role, char key[BUS_KEY_Z85]);

/* The ZAP decision alone (exposed for tests and the fuzzer): status code
 * 200 or 400 for a request of `mechanism` in `domain` with `cred`
 * (credential frame); on 200 user_id receives the user id. */
int zap_decide(store_t *keys, const char *domain, size_t dlen, const char *mechanism,
               size_t mlen, const uint8_t *cred, size_t clen, char *user_id, size_t ulen);

#endif
