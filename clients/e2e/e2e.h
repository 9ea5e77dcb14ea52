/*
 * e2e.h - es_e2e, end-to-end encryption between two devices: X3DH key
 * agreement and the Double Ratchet on libsodium (docs/e2e.md is the
 * specification; clients/web/src/e2e/ is the same in JavaScript, byte for
 * byte).
 *
 * Pure client-side cryptography: no bus, no server, no files. A client keeps
 * its identity, its prekey secrets and its sessions (e2e_session_serialize)
 * itself, encrypted under its own key; the server only stores public bundles
 * and routes opaque messages.
 *
 * The pieces:
 *   identity   one per device: the Ed25519 key identity records
 *              (DeviceKeys.sign_public) and the X25519 key derived from it.
 *   prekeys    a signed prekey (rotated, E2E_SPK_ROTATE_S), a last-resort
 *              prekey (signed, reused) and a stock of one-time prekeys.
 *   bundle     what the server hands to a device that wants to talk to
 *              another: identity key, signed prekey, at most one one-time
 *              (or else the last-resort) prekey. Checked by e2e_bundle_verify.
 *   session    one per pair of devices: created by e2e_x3dh_initiate (the
 *              first sender) or e2e_x3dh_respond (on the first message),
 *              then e2e_session_encrypt / e2e_session_decrypt.
 *   safety     e2e_safety_number: 60 digits both users compare out of band.
 *
 * Typical flow (errors checked in real code):
 *
 *     // Alice, holding Bob's bundle from the server:
 *     e2e_session_t *s = NULL;
 *     e2e_x3dh_initiate(&s, &alice_id, &bob_bundle);     // verifies it
 *     e2e_session_encrypt(s, text, text_len, msg, sizeof msg, &msg_len);
 *     // Bob, on a message whose e2e_message_info says .initial:
 *     //   look up his prekeys by info.spk_id / info.opk_kind + info.opk_id
 *     e2e_x3dh_respond(&s, &bob_id, &spk, opk_or_NULL, msg, msg_len,
 *                      text, sizeof text, &text_len);
 *     //   on success, delete the one-time prekey for good.
 *
 * Errors: every fallible function returns 0 (ES_OK) or a negative es_status
 * (proto/status.h). The same code always means the same thing here:
 *   ES_INVALID_ARGUMENT     malformed input: bad length, unknown version or
 *                           kind, a public key that is not a valid point, a
 *                           counter past E2E_MAX_CHAIN, a too small output
 *                           buffer, a NULL where a pointer is required.
 *   ES_UNAUTHENTICATED      a signature or an authentication tag does not
 *                           verify: forged prekey, tampered header or
 *                           ciphertext, message of another session.
 *   ES_ALREADY_EXISTS       the message was already decrypted (duplicate or
 *                           replay), or its skipped key was dropped (see
 *                           E2E_MAX_SKIPPED). A replay from a chain older
 *                           than the last E2E_MAX_PREV_CHAINS receiving
 *                           chains is not recognised as such and fails as
 *                           ES_UNAUTHENTICATED: refused all the same.
 *   ES_RESOURCE_EXHAUSTED   decrypting would skip more than E2E_MAX_SKIP
 *                           message keys; or the sending chain reached
 *                           E2E_MAX_CHAIN messages (start a new session); or
 *                           out of memory.
 *   ES_FAILED_PRECONDITION  the session cannot take this message: an initial
 *                           message of another X3DH (the peer started a new
 *                           session: use e2e_x3dh_respond), or an initial
 *                           message sent to the initiator.
 *   ES_TOO_LARGE            plaintext above E2E_MAX_PLAINTEXT.
 *   ES_INTERNAL             libsodium failed (cannot happen with valid keys).
 * A refused message changes nothing: the session state after a failed
 * e2e_session_decrypt or e2e_session_encrypt equals the state before, byte
 * for byte, and output buffers may hold garbage.
 *
 * Memory: structs (identities, prekeys, bundles, message info) are plain,
 * caller-owned values; those holding secrets are wiped with their _wipe
 * function (sodium_memzero). A session is opaque: e2e_x3dh_initiate,
 * e2e_x3dh_respond and e2e_session_deserialize allocate it, and
 * e2e_session_destroy wipes and frees it (idempotent, nulls the pointer).
 * The only other allocation is the skipped-key store, which grows inside
 * e2e_session_decrypt when a message skips keys (at most
 * E2E_MAX_SKIPPED + E2E_MAX_SKIP entries of 68 bytes); buffers that held
 * secrets are wiped before they are freed. Output buffers are the caller's,
 * with explicit capacities: E2E_MESSAGE_LEN and E2E_PLAINTEXT_LEN give the
 * exact sizes.
 *
 * sodium_init() must have succeeded before any call. Randomness comes from
 * randombytes_buf.
 *
 * THREAD SAFETY: functions keep no global state; a session is used by one
 * thread at a time (the caller locks if it shares one).
 */
#ifndef ES_E2E_H
#define ES_E2E_H

#include <stddef.h>
#include <stdint.h>

#include "proto/status.h"

/* ---- sizes and limits (docs/e2e.md "Limits") ---- */

#define E2E_KEY_BYTES 32          /* X25519 and Ed25519 public keys, X25519 secrets */
#define E2E_SIGN_SECRET_BYTES 64  /* Ed25519 secret key (seed || public key) */
#define E2E_SEED_BYTES 32         /* Ed25519 seed */
#define E2E_SIG_BYTES 64          /* Ed25519 signature */
#define E2E_TAG_BYTES 16          /* Poly1305 tag */
#define E2E_HEADER_BYTES 42       /* header of a ratchet message */
#define E2E_INITIAL_HEADER_BYTES 115 /* header of an initial message (with X3DH) */

#define E2E_MAX_PLAINTEXT 65536u  /* largest plaintext of one message */
#define E2E_MAX_SKIP 1000u        /* most message keys one message may skip */
#define E2E_MAX_SKIPPED 1000u     /* most skipped keys a session keeps (oldest dropped) */
#define E2E_MAX_CHAIN 1048576u    /* messages per sending chain; counters stay below */
#define E2E_MAX_PREV_CHAINS 16u   /* past receiving chains remembered to name replays */

/* Exact length of the message that carries plen plaintext bytes: header
 * (initial or not) + plen + tag. */
#define E2E_MESSAGE_LEN(initial, plen) \
    ((size_t)((initial) ? E2E_INITIAL_HEADER_BYTES : E2E_HEADER_BYTES) + (size_t)(plen) + E2E_TAG_BYTES)
/* Largest message: E2E_MESSAGE_LEN(1, E2E_MAX_PLAINTEXT). */
#define E2E_MESSAGE_MAX E2E_MESSAGE_LEN(1, E2E_MAX_PLAINTEXT)

/* ---- prekey rotation (docs/e2e.md "Prekeys") ---- */

#define E2E_SPK_ROTATE_S (7 * 86400)   /* a new signed (and last-resort) prekey every 7 days */
#define E2E_SPK_KEEP_S (30 * 86400)    /* a replaced one's secret is kept 30 more days */
#define E2E_OPK_BATCH 100              /* one-time prekeys uploaded per batch */
#define E2E_OPK_LOW 20                 /* upload a batch when the server holds fewer */

/* ---- identity ---- */

/* A device's identity. sign_pk is DeviceKeys.sign_public in identity; dh_pk
 * and dh_sk are derived from the Ed25519 pair (crypto_sign_ed25519_*_to_
 * curve25519), so the one key identity records and the safety number cover
 * both uses. Holds secrets: e2e_identity_wipe. */
typedef struct e2e_identity {
    uint8_t sign_pk[E2E_KEY_BYTES];
    uint8_t sign_sk[E2E_SIGN_SECRET_BYTES];
    uint8_t dh_pk[E2E_KEY_BYTES];
    uint8_t dh_sk[E2E_KEY_BYTES];
} e2e_identity_t;

/* A new random identity. 0 or ES_INTERNAL. */
int e2e_identity_generate(e2e_identity_t *id);

/* The identity of a 32-byte Ed25519 seed (crypto_sign_seed_keypair). 0,
 * ES_INVALID_ARGUMENT (NULL) or ES_INTERNAL. */
int e2e_identity_from_seed(e2e_identity_t *id, const uint8_t seed[E2E_SEED_BYTES]);

/* The identity of an existing Ed25519 secret key (64 bytes, as libsodium
 * makes them: the web app's device key). ES_INVALID_ARGUMENT when its public
 * half does not match its seed. */
int e2e_identity_from_secret(e2e_identity_t *id, const uint8_t sign_sk[E2E_SIGN_SECRET_BYTES]);

/* Wipe every byte of *id. NULL is fine. */
void e2e_identity_wipe(e2e_identity_t *id);

/* ---- prekeys ---- */

typedef enum e2e_prekey_kind {
    E2E_PREKEY_NONE = 0,        /* bundle without one-time or last-resort prekey */
    E2E_PREKEY_SIGNED = 1,      /* the signed prekey */
    E2E_PREKEY_ONE_TIME = 2,    /* a one-time prekey (unsigned, deleted after use) */
    E2E_PREKEY_LAST_RESORT = 3  /* the last-resort prekey (signed, reused) */
} e2e_prekey_kind;

/* One prekey pair. sig is the identity's signature (docs/e2e.md "Prekey
 * signature") for SIGNED and LAST_RESORT, zeros for ONE_TIME. Holds a
 * secret: e2e_prekey_wipe. created_s is the caller's clock at generation
 * (seconds), for rotation; it is not signed. */
typedef struct e2e_prekey {
    uint8_t kind;               /* an e2e_prekey_kind other than NONE */
    uint32_t id;                /* chosen by the owner, unique per kind and device */
    int64_t created_s;
    uint8_t pk[E2E_KEY_BYTES];
    uint8_t sk[E2E_KEY_BYTES];
    uint8_t sig[E2E_SIG_BYTES];
} e2e_prekey_t;

/* A new prekey of `kind` (SIGNED, ONE_TIME or LAST_RESORT) numbered `key_id`,
 * signed by `id` when the kind is signed (`id` may be NULL for ONE_TIME).
 * ES_INVALID_ARGUMENT for another kind or a missing identity. */
int e2e_prekey_generate(e2e_prekey_t *pk, const e2e_identity_t *id, e2e_prekey_kind kind,
                        uint32_t key_id, int64_t now_s);

/* `count` one-time prekeys numbered first_id, first_id + 1, ... into out[]
 * (ES_INVALID_ARGUMENT if the ids would wrap past UINT32_MAX). */
int e2e_prekeys_generate(e2e_prekey_t *out, size_t count, uint32_t first_id, int64_t now_s);

/* 1 when the signed prekey made at created_s is due for replacement at
 * now_s (older than E2E_SPK_ROTATE_S), else 0. A replaced prekey's secret is
 * kept until created_s + E2E_SPK_ROTATE_S + E2E_SPK_KEEP_S (e2e_prekey_expired). */
int e2e_prekey_rotation_due(const e2e_prekey_t *spk, int64_t now_s);
/* 1 when a replaced signed or last-resort prekey made at created_s may be
 * wiped at now_s, else 0. */
int e2e_prekey_expired(const e2e_prekey_t *spk, int64_t now_s);

/* Check the signature of a signed prekey of identity `ik` (Ed25519 public
 * key). 0, ES_INVALID_ARGUMENT (kind not signed) or ES_UNAUTHENTICATED. */
int e2e_prekey_verify(const uint8_t ik[E2E_KEY_BYTES], uint8_t kind, uint32_t key_id,
                      const uint8_t pk[E2E_KEY_BYTES], const uint8_t sig[E2E_SIG_BYTES]);

/* Wipe every byte of *pk. NULL is fine. */
void e2e_prekey_wipe(e2e_prekey_t *pk);

/* ---- bundles ---- */

/* What a device publishes and the server hands out, one one-time prekey at a
 * time (or the last-resort prekey when none is left, or nothing). Public. */
typedef struct e2e_bundle {
    uint8_t ik[E2E_KEY_BYTES];       /* Ed25519 identity public key */
    uint32_t spk_id;
    uint8_t spk[E2E_KEY_BYTES];
    uint8_t spk_sig[E2E_SIG_BYTES];
    uint8_t opk_kind;                /* NONE, ONE_TIME or LAST_RESORT */
    uint32_t opk_id;                 /* 0 when opk_kind is NONE */
    uint8_t opk[E2E_KEY_BYTES];      /* zeros when NONE */
    uint8_t opk_sig[E2E_SIG_BYTES];  /* LAST_RESORT only, else zeros */
} e2e_bundle_t;

/* Fill *b with the public parts of `id`, `spk` (SIGNED) and `opk` (ONE_TIME,
 * LAST_RESORT or NULL). ES_INVALID_ARGUMENT on a wrong kind. */
int e2e_bundle_make(e2e_bundle_t *b, const e2e_identity_t *id, const e2e_prekey_t *spk,
                    const e2e_prekey_t *opk);

/* Check a bundle from the server: every key a valid point, kinds and ids
 * consistent, the signed prekey's (and the last-resort prekey's) signature
 * by ik. 0, ES_INVALID_ARGUMENT or ES_UNAUTHENTICATED (bad signature). */
int e2e_bundle_verify(const e2e_bundle_t *b);

/* ---- messages ---- */

/* The clear header of a message (docs/e2e.md "Message layout"). */
typedef struct e2e_message_info {
    uint8_t initial;                 /* 1: carries the X3DH fields below */
    uint8_t dh[E2E_KEY_BYTES];       /* sender's ratchet public key */
    uint32_t pn;                     /* length of the sender's previous chain */
    uint32_t n;                      /* number of the message in its chain */
    /* initial messages only (zeros otherwise): */
    uint8_t ik[E2E_KEY_BYTES];       /* initiator's Ed25519 identity key */
    uint8_t ek[E2E_KEY_BYTES];       /* initiator's X3DH ephemeral key */
    uint32_t spk_id;                 /* responder's signed prekey used */
    uint8_t opk_kind;                /* NONE, ONE_TIME or LAST_RESORT */
    uint32_t opk_id;
    size_t header_len;               /* E2E_HEADER_BYTES or E2E_INITIAL_HEADER_BYTES */
    size_t plaintext_len;            /* what decrypting it yields */
} e2e_message_info_t;

/* Parse the header of `msg` (no decryption): lets a responder find the
 * prekeys an initial message needs and a client route a message. 0 or
 * ES_INVALID_ARGUMENT (malformed; ES_TOO_LARGE above E2E_MESSAGE_MAX). */
int e2e_message_info(e2e_message_info_t *info, const uint8_t *msg, size_t msg_len);

/* ---- sessions ---- */

typedef struct e2e_session e2e_session_t;

/* Start a session with the device of `peer` (its bundle, verified here):
 * X3DH as the initiator. Every message the session encrypts is an initial
 * message (carrying the X3DH fields) until one from the peer decrypts.
 * *out is NULL on error. Errors: those of e2e_bundle_verify, ES_INVALID_
 * ARGUMENT (low-order key), ES_RESOURCE_EXHAUSTED (out of memory). */
int e2e_x3dh_initiate(e2e_session_t **out, const e2e_identity_t *me, const e2e_bundle_t *peer);

/* Answer an initial message `msg`: X3DH as the responder with the signed
 * prekey `spk` and the one-time or last-resort prekey `opk` the message
 * names (NULL when its opk_kind is NONE), then decrypt it into plain[cap].
 * On success *out is the new session and *plain_len the plaintext length:
 * the caller then deletes a ONE_TIME prekey for good (a second respond to a
 * replayed message then fails for want of it). On error *out is NULL and
 * nothing was decrypted. Errors: ES_INVALID_ARGUMENT (not an initial
 * message, prekeys not the ones it names), ES_UNAUTHENTICATED (does not
 * decrypt), and those of e2e_session_decrypt. */
int e2e_x3dh_respond(e2e_session_t **out, const e2e_identity_t *me, const e2e_prekey_t *spk,
                     const e2e_prekey_t *opk, const uint8_t *msg, size_t msg_len, uint8_t *plain,
                     size_t cap, size_t *plain_len);

/* Encrypt plain[plen] into out[cap] (needs cap >= E2E_MESSAGE_LEN(initial,
 * plen), where initial is 1 until a message of the peer decrypted, for the
 * initiator; *out_len gets the length). out and plain must not overlap. May step the ratchet (a new random
 * ratchet key) when a message of the peer arrived since the last send.
 * Errors: ES_TOO_LARGE, ES_INVALID_ARGUMENT (buffer), ES_RESOURCE_EXHAUSTED
 * (chain full: start a new session), ES_INTERNAL. */
int e2e_session_encrypt(e2e_session_t *s, const uint8_t *plain, size_t plen, uint8_t *out,
                        size_t cap, size_t *out_len);

/* Decrypt msg[msg_len] into plain[cap] (cap >= info.plaintext_len; a
 * message is at most E2E_MAX_PLAINTEXT). Each message decrypts exactly once,
 * in any order within the skipped-key bounds. Errors: see the list at the
 * top; the session is unchanged on any error. */
int e2e_session_decrypt(e2e_session_t *s, const uint8_t *msg, size_t msg_len, uint8_t *plain,
                        size_t cap, size_t *plain_len);

/* The peer's Ed25519 identity key (for e2e_safety_number) and ours. */
void e2e_session_peer_identity(const e2e_session_t *s, uint8_t ik[E2E_KEY_BYTES]);
void e2e_session_local_identity(const e2e_session_t *s, uint8_t ik[E2E_KEY_BYTES]);

/* Exact size e2e_session_serialize writes. */
size_t e2e_session_serialized_size(const e2e_session_t *s);

/* Write the whole state (secrets included: encrypt it before it reaches
 * disk, wipe the buffer after) into out[cap]; *len gets its length.
 * ES_INVALID_ARGUMENT when cap is too small. Layout in docs/e2e.md. */
int e2e_session_serialize(const e2e_session_t *s, uint8_t *out, size_t cap, size_t *len);

/* A session from serialized bytes (checked: version, flags, counters,
 * key pairs, skipped-key count). *out is NULL on error. Errors:
 * ES_INVALID_ARGUMENT, ES_RESOURCE_EXHAUSTED (out of memory). */
int e2e_session_deserialize(e2e_session_t **out, const uint8_t *in, size_t len);

/* Wipe and free *s; sets *s to NULL. NULL or *s NULL is fine. */
void e2e_session_destroy(e2e_session_t **s);

/* ---- safety numbers ---- */

#define E2E_SAFETY_DIGITS 60
#define E2E_SAFETY_TEXT 72        /* 12 groups of 5 digits, 11 spaces, NUL */
#define E2E_SAFETY_ID_MAX 255     /* longest stable id */
#define E2E_SAFETY_ITERATIONS 5200

/* The safety number of two devices: identity key and stable id (the
 * principal: "patient:<32 hex>" or "rpps:<11 digits>", docs/e2e.md) of
 * each, written as "12345 67890 ... " (12 groups) into out. Symmetric: the
 * same with a and b swapped. ES_INVALID_ARGUMENT for a NULL or an id longer
 * than E2E_SAFETY_ID_MAX. */
int e2e_safety_number(char out[E2E_SAFETY_TEXT], const uint8_t ik_a[E2E_KEY_BYTES],
                      const char *id_a, const uint8_t ik_b[E2E_KEY_BYTES], const char *id_b);

#endif
