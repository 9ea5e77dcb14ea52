/*
 * messaging_int.h - what the modules of the messaging service share (not for
 * other services: they use the bus). Tests include it for the pure parts.
 *
 * Modules: messaging.c (method table and guards, init, the caller helpers),
 * validate.c (request checks, device-set comparison: pure), rate.c (token
 * buckets, in memory), db.c (store layout: devices, conversations, queue
 * heads, expiry index, members' device sets), keys.c (key directory:
 * PublishKeys, Unpublish, KeyStatus, ClaimBundles), convs.c
 * (StartConversation, GetConversation, ListConversations,
 * CloseConversation), send.c (Send), queue.c (Fetch, Ack, receipts, the
 * expiry tick), attach.c (BeginAttachment, UploadChunk, DownloadAttachment).
 *
 * Key layouts (ids raw 16 bytes, integers big-endian; a "hash" is
 * store_keyed_hash("msg.principal", stable id) of a principal, never its
 * clear id):
 *   devices      device id (16)                     -> MsgDeviceRecord
 *   owners       owner hash (32) | device id (16)    -> 1 byte
 *   opks         device id (16) | prekey id (4)      -> X25519 key (32)
 *   convs        conversation id (16)                -> MsgConversationRecord
 *   by_member    member hash (32) | started (8) | conversation id (16) -> 1 byte
 *   heads        device id (16)                      -> last seq (8) | acked seq (8)
 *                (written by Ack and by the sweep, not per entry: the last
 *                 seq is the larger of the head's and the queue's last key)
 *   queue        device id (16) | seq (8)            -> expires (8) | Entry
 *                (no expiry key: the tick sweeps each device's oldest
 *                 entries, queue.c "the sweep")
 *   sent         message id (16)                     -> MsgSentRecord
 *   attachments  attachment id (16)                  -> MsgAttachmentRecord
 *   chunks       attachment id (16) | offset (8)     -> ciphertext bytes
 *   expiry       due (8) | kind (1) | key (16 or 24) -> 1 byte
 *                (kind: MSG_EXP_SENT message id, MSG_EXP_ATTACH
 *                 attachment id; kind 1, a queue key, is no longer written)
 *
 * THREAD SAFETY: everything runs on the service thread; validate.c is pure.
 */
#ifndef ES_MESSAGING_INT_H
#define ES_MESSAGING_INT_H

#include <stddef.h>
#include <stdint.h>

#include "espace/v1/messaging.pb-c.h"
#include "espace/v1/messaging_records.pb-c.h"
#include "proto/ids.h"
#include "services/messaging/messaging.h"
#include "storage/store.h"

#define MSG_T_DEVICES "devices"
#define MSG_T_OWNERS "owners"
#define MSG_T_OPKS "opks"
#define MSG_T_CONVS "convs"
#define MSG_T_BY_MEMBER "by_member"
#define MSG_T_HEADS "heads"
#define MSG_T_QUEUE "queue"
#define MSG_T_SENT "sent"
#define MSG_T_ATTACH "attachments"
#define MSG_T_CHUNKS "chunks"
#define MSG_T_EXPIRY "expiry"

#define MSG_HASH STORE_HASH_BYTES           /* principal hash in keys */
#define MSG_KEY_QUEUE (ID_BYTES + 8)        /* device | seq */
#define MSG_KEY_MEMBER (MSG_HASH + 8 + ID_BYTES)
#define MSG_CURSOR_BYTES (8 + ID_BYTES)     /* ListConversations cursor: started | id */
#define MSG_MEMBERS (1 + MSG_MAX_PROS)      /* patient + professionals */
#define MSG_DEVSET_MAX (MSG_MEMBERS * MSG_MAX_DEVICES)
#define MSG_PRINCIPAL_MAX ID_HEX            /* patient id (32) or RPPS (11), NUL */
#define MSG_STABLE_ID_MAX 48                /* "patient:<32 hex>" / "rpps:<11>" */
#define MSG_WHO_CACHE 1024                  /* msg_who cache slots */

enum { MSG_EXP_SENT = 2, MSG_EXP_ATTACH = 3 };

typedef struct msg_rate msg_rate_t;

/* The service's state (init in messaging.c). */
typedef struct msg_state {
    store_t *store;       /* for keyed hashes */
    int64_t retention_ms; /* MSG_RETENTION_MS or the test override */
    msg_rate_t *rate;     /* token buckets */
    unsigned rate_scale;  /* 1, or the bench override MSG_RATE_SCALE_ENV */
    uint8_t sweep_from[ID_BYTES]; /* the queue sweep resumes at this device */
    struct msg_who *who_cache;    /* MSG_WHO_CACHE slots: msg_who's results */
} msg_state_t;

/* A principal as the service handles it: kind, id and keyed hash. */
typedef struct msg_who {
    int kind;                         /* PRINCIPAL_PATIENT or PRINCIPAL_PROFESSIONAL */
    char principal[MSG_PRINCIPAL_MAX];
    uint8_t hash[MSG_HASH];
} msg_who_t;

/* ---- validate.c (pure) ---- */

typedef struct msg_err {
    int status;     /* negative es_status */
    char field[64]; /* e.g. "copies[2].device_id" */
    char msg[128];
} msg_err_t;

/* "patient:<id>" or "rpps:<rpps>" (the stable id of docs/e2e.md section 9)
 * into out. 0, or ES_INVALID_ARGUMENT for another kind or a malformed id. */
int msg_stable_id(int kind, const char *principal, char *out, size_t n);
/* 0 if b is an id (16 bytes), else err (INVALID_ARGUMENT on field). */
int msg_id_check(const ProtobufCBinaryData *b, const char *field, msg_err_t *err);
/* A signed prekey's shape: present, key 32 bytes, sig 64 bytes. */
int msg_prekey_check(const Espace__V1__SignedPrekey *p, const char *field, msg_err_t *err);
/* Copies of a Send: 1..MSG_MAX_COPIES, device ids of 16 bytes, distinct,
 * ciphertext 1..MSG_MAX_CIPHERTEXT bytes. */
int msg_copies_check(Espace__V1__Copy *const *copies, size_t n, msg_err_t *err);
/* The care team of a StartConversation: valid and distinct RPPS, not the
 * caller's, at most MSG_MAX_PROS - 1. */
int msg_pros_check(char *const *pros, size_t n, const char *caller_rpps, msg_err_t *err);

/* The current devices of a conversation's members. */
typedef struct msg_devset {
    size_t n;
    uint8_t id[MSG_DEVSET_MAX][ID_BYTES];
    uint8_t member[MSG_DEVSET_MAX]; /* 0 = the patient, 1 + i = professionals[i] */
} msg_devset_t;

/* Compare copies with the current set minus `self` (the sender's device):
 * missing[] gets the indexes in cur of devices without a copy, stale[] the
 * indexes in copies of devices not in the set (both sized for their
 * inputs). 1 when they differ, else 0. */
int msg_devset_diff(const msg_devset_t *cur, const uint8_t self[ID_BYTES],
                    Espace__V1__Copy *const *copies, size_t n, size_t *missing, size_t *n_missing,
                    size_t *stale, size_t *n_stale);
/* Index of device id in set, or -1. */
long msg_devset_find(const msg_devset_t *set, const uint8_t id[ID_BYTES]);

/* ---- rate.c ---- */

/* A table of `slots` token buckets keyed by 32 bytes (NULL on allocation
 * failure). When full, a new key takes the fullest bucket among those it
 * probes (the least harm). */
msg_rate_t *msg_rate_new(size_t slots);
void msg_rate_destroy(msg_rate_t **r);
/* Refill key's bucket at per_min tokens per minute up to burst (a new key
 * starts full), then take one: 1 if taken, 0 if empty. */
int msg_rate_take(msg_rate_t *r, const uint8_t key[MSG_HASH], unsigned per_min, unsigned burst,
                  int64_t now_ms);
/* Take n (0..burst) tokens at once: 1 if all were there (taken), else 0
 * (nothing taken). */
int msg_rate_take_n(msg_rate_t *r, const uint8_t key[MSG_HASH], unsigned per_min,
                    unsigned burst, unsigned n, int64_t now_ms);

/* The bucket key of `tag` ("send", "pair", "claim") for principal hash a
 * (and b for a pair): BLAKE2b-256, so buckets of different kinds never
 * share a key. */
void msg_rate_key(uint8_t out[MSG_HASH], const char *tag, const uint8_t a[MSG_HASH],
                  const uint8_t *b);

/* ---- messaging.c: helpers for handlers ---- */

/* Fail the call with err. Returns err->status. */
int msg_fail(svc_call_t *c, const msg_err_t *err);
/* The caller as a member (patient or professional; others: the call failed
 * PERMISSION_DENIED). */
int msg_caller(msg_state_t *st, svc_call_t *c, msg_who_t *out);
/* The caller's device (16 bytes), or the call failed FAILED_PRECONDITION
 * on "device_id". */
int msg_caller_device(svc_call_t *c, uint8_t dev[ID_BYTES]);
/* who for (kind, principal): 0, or ES_INVALID_ARGUMENT. The results are
 * kept in a direct-mapped cache of MSG_WHO_CACHE slots (a hash depends only
 * on the pair and the store's key), so a sender's and its members' hashes
 * are computed once, not on every Send and Ack. */
int msg_who(msg_state_t *st, int kind, const char *principal, msg_who_t *out);
/* 1 if two members are the same principal. */
int msg_who_same(const msg_who_t *a, int kind, const char *principal);
/* A Member message pointing into who (borrowed). */
void msg_member_of(Espace__V1__Member *m, const msg_who_t *who);

/* ---- db.c ---- */

int msg_db_load(store_txn_t *t, const char *table, const void *key, size_t klen,
                const ProtobufCMessageDescriptor *d, ProtobufCMessage **out);
int msg_db_save(store_txn_t *t, const char *table, const void *key, size_t klen,
                const ProtobufCMessage *m);
/* Add or remove an expiry key. */
int msg_db_expiry(store_txn_t *t, int64_t due, int kind, const void *key, size_t klen, int add);

/* The conversation `id` if `who` is a member: 0 and *out (codec_free), or
 * the call failed (NOT_FOUND on field for absent or not a member; INVALID_
 * ARGUMENT for a malformed id) and its status. */
int msg_conv_open(svc_call_t *c, store_txn_t *t, const ProtobufCBinaryData *id,
                  const char *field, const msg_who_t *who, Espace__V1__MsgConversationRecord **out);
/* 1 if (kind, principal) is a member of conversation v. */
int msg_conv_member(const Espace__V1__Conversation *v, int kind, const char *principal);
/* Member i of v (0 = patient) as who. */
int msg_conv_who(msg_state_t *st, const Espace__V1__Conversation *v, size_t i, msg_who_t *out);
size_t msg_conv_members(const Espace__V1__Conversation *v);

/* Device ids published by owner `hash` (at most MSG_MAX_DEVICES), into
 * ids; *n their count. */
int msg_db_owner_devices(store_txn_t *t, const uint8_t hash[MSG_HASH],
                         uint8_t ids[MSG_MAX_DEVICES][ID_BYTES], size_t *n);
/* The current devices of every member of v. */
int msg_db_devset(msg_state_t *st, store_txn_t *t, const Espace__V1__Conversation *v,
                  msg_devset_t *out);

/* Every member's devices as MemberDevices (for replies): loaded records and
 * arrays owned by the list; free with msg_devlist_free. */
typedef struct msg_devlist {
    Espace__V1__MemberDevices md[MSG_MEMBERS];
    Espace__V1__MemberDevices *pmd[MSG_MEMBERS];
    Espace__V1__Member members[MSG_MEMBERS];
    Espace__V1__DeviceEntry de[MSG_DEVSET_MAX];
    Espace__V1__DeviceEntry *pde[MSG_DEVSET_MAX];
    Espace__V1__MsgDeviceRecord *rec[MSG_DEVSET_MAX];
    uint8_t ids[MSG_DEVSET_MAX][ID_BYTES];
    size_t n;                                   /* members */
} msg_devlist_t;
int msg_db_devlist(msg_state_t *st, store_txn_t *t, const Espace__V1__Conversation *v,
                   msg_devlist_t *out);
void msg_devlist_free(msg_devlist_t *l);

/* Device record of id (codec_free): 0, ES_NOT_FOUND, or a storage error. */
int msg_db_device(store_txn_t *t, const uint8_t id[ID_BYTES], Espace__V1__MsgDeviceRecord **out);
/* Queue head of a device: last assigned seq and acked seq (0, 0 if none). */
int msg_db_head(store_txn_t *t, const uint8_t dev[ID_BYTES], uint64_t *last, uint64_t *acked);
int msg_db_head_put(store_txn_t *t, const uint8_t dev[ID_BYTES], uint64_t last, uint64_t acked);
/* The head of dev with its true last seq: the larger of the head's and the
 * seq of the device's last queue entry (enqueue does not write the head). */
int msg_db_last(store_txn_t *t, const uint8_t dev[ID_BYTES], uint64_t *last, uint64_t *acked);

/* ---- keys.c ---- */

/* The replenish hint of device `dev` into h. */
int msg_keys_hint(store_txn_t *t, const uint8_t dev[ID_BYTES], Espace__V1__PrekeyHint *h);

/* ---- queue.c ---- */

/* Queue e for device dev of owner: the next seq (set in e->seq), stored
 * with its expiry time (one put), and published after the commit on the device's topic
 * (the patient form in full, the professional form without ciphertext; no
 * event past SVC_MAX_EVENTS: the device fetches). */
int msg_enqueue(msg_state_t *st, svc_call_t *c, store_txn_t *t, const uint8_t dev[ID_BYTES],
                const msg_who_t *owner, Espace__V1__Entry *e);
/* The expiry tick (svc_def_t.tick): the expiry index (message ids,
 * attachments), then the queue sweep. */
int msg_expire_tick(void *state, svc_call_t *c, store_txn_t *t);

/* ---- attach.c ---- */

/* Delete attachment id and its chunks (the expiry tick). */
int msg_attach_delete(store_txn_t *t, const uint8_t id[ID_BYTES]);

/* ---- handlers ---- */
int msg_publish_keys(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int msg_unpublish(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int msg_key_status(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int msg_claim_bundles(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int msg_start_conversation(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int msg_get_conversation(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int msg_list_conversations(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int msg_close_conversation(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int msg_send(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int msg_fetch(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int msg_ack(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int msg_begin_attachment(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int msg_upload_chunk(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);
int msg_download_attachment(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t);

#endif
