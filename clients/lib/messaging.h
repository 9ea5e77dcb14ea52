/*
 * messaging.h - libespace, typed calls of the messaging service (part of the
 * manual espace.h; schema: proto/espace/v1/messaging.proto, service
 * Messaging; rules: docs/messaging.md; cryptography: docs/e2e.md, es_e2e).
 * Errors and memory as in conn.h: each call's *out (may be NULL to ignore
 * it) is the method's reply, free it with espace_free; on error *out is NULL.
 *
 * Every call but get/list_conversations needs a session with a device (a
 * professional's login, a patient's session): ES_FAILED_PRECONDITION (field
 * "device_id") without. Ids (conversation, message, device, attachment) are
 * 16 bytes. The server never sees a plaintext: a client encrypts one copy
 * per device with es_e2e and puts inside each copy the MessageContent of
 * espace_messaging_content_encode (text and attachments, read receipts).
 *
 * Besides the typed calls, what every espace messaging client does the same
 * way: the device of the session (espace_messaging_device), bundles as
 * es_e2e structs, the content format, attachments sealed with secretstream
 * and moved in pieces (espace_messaging_upload / _download), and the live
 * notices of a professional's device (espace_messaging_watch).
 *
 * THREAD SAFETY: as conn.h (one espace_t per thread); the pure helpers
 * (content, seal/open, bundle) are reentrant.
 */
#ifndef ESPACE_LIB_MESSAGING_H
#define ESPACE_LIB_MESSAGING_H

#include "clients/e2e/e2e.h"
#include "clients/lib/conn.h"
#include "espace/v1/content.pb-c.h"
#include "espace/v1/messaging.pb-c.h"

#define ESPACE_MSG_ID 16                           /* every id of the service, bytes */
#define ESPACE_MSG_HASH 32                         /* BLAKE2b-256 of an attachment */
#define ESPACE_MSG_ATTACH_KEY 32                   /* secretstream key of an attachment */
#define ESPACE_MSG_ATTACH_MAX ((uint64_t)20 << 20) /* attachment ciphertext bytes (server limit) */
#define ESPACE_MSG_PIECE ((size_t)128 << 10)       /* upload / download piece */
#define ESPACE_MSG_PLAIN_CHUNK ((size_t)64 << 10)  /* secretstream plaintext chunk */
#define ESPACE_MSG_NAME_MAX 256                    /* attachment file name, incl. NUL */
#define ESPACE_MSG_MAX_COPIES 72                   /* copies per send, bundles per claim
                                                      (the service's MSG_MAX_COPIES) */

/* ---- key directory ---- */

/* PublishKeys of the caller's device: identity key `ik` (Ed25519 public;
 * NULL after the first publication), signed prekey `spk` and last-resort
 * prekey `lrk` (both or neither: first publication or rotation), and
 * `n` one-time prekeys opks[] (at most 100). Only public halves are sent. */
int espace_messaging_publish_keys(espace_t *e, const uint8_t ik[E2E_KEY_BYTES],
                                  const e2e_prekey_t *spk, const e2e_prekey_t *lrk,
                                  const e2e_prekey_t *opks, size_t n,
                                  Espace__V1__PublishKeysReply **out, espace_error_t *err);

/* Unpublish: the device stops being a recipient (ES_NOT_FOUND if it was
 * not published). */
int espace_messaging_unpublish(espace_t *e, espace_error_t *err);

/* KeyStatus: the device's replenish hint. */
int espace_messaging_key_status(espace_t *e, Espace__V1__KeyStatusReply **out,
                                espace_error_t *err);

/* ClaimBundles of conversation conv: the n devices devices[] (n = 0: every
 * current device of every member but the caller's). */
int espace_messaging_claim_bundles(espace_t *e, const uint8_t conv[ESPACE_MSG_ID],
                                   const uint8_t (*devices)[ESPACE_MSG_ID], size_t n,
                                   Espace__V1__ClaimBundlesReply **out, espace_error_t *err);

/* A bundle of ClaimBundles as es_e2e wants it (not verified here:
 * e2e_x3dh_initiate verifies). ES_INVALID_ARGUMENT for wrong sizes. */
int espace_messaging_bundle(const Espace__V1__Bundle *in, e2e_bundle_t *out);

/* ---- conversations ---- */

/* StartConversation with patient_id (32 hex) and n other professionals
 * (RPPS). Needs a MESSAGING grant: ES_PERMISSION_DENIED otherwise. */
int espace_messaging_start_conversation(espace_t *e, const char *patient_id,
                                        const char *const *pros, size_t n,
                                        Espace__V1__StartConversationReply **out,
                                        espace_error_t *err);

/* GetConversation: members and their current devices. */
int espace_messaging_get_conversation(espace_t *e, const uint8_t conv[ESPACE_MSG_ID],
                                      Espace__V1__GetConversationReply **out,
                                      espace_error_t *err);

/* ListConversations, one page, newest first; `cursor` as in agenda list. */
int espace_messaging_list_conversations(espace_t *e, uint32_t limit, espace_cursor_t *cursor,
                                        Espace__V1__ListConversationsReply **out,
                                        espace_error_t *err);

/* CloseConversation (a professional member). */
int espace_messaging_close_conversation(espace_t *e, const uint8_t conv[ESPACE_MSG_ID],
                                        Espace__V1__CloseConversationReply **out,
                                        espace_error_t *err);

/* ---- messages ---- */

/* Send message msg_id into conv: n copies (one per current device of every
 * member but the caller's). patient_id: a professional names the
 * conversation's patient, a patient passes NULL. CHECK out->result: a
 * device set that changed answers 0 with SEND_RESULT_DEVICES_CHANGED. */
int espace_messaging_send(espace_t *e, const uint8_t conv[ESPACE_MSG_ID],
                          const uint8_t msg_id[ESPACE_MSG_ID], const char *patient_id,
                          Espace__V1__Copy *const *copies, size_t n,
                          Espace__V1__SendReply **out, espace_error_t *err);

/* Fetch the device's queue after after_seq (0 = oldest unacknowledged),
 * at most limit (0 = 100). */
int espace_messaging_fetch(espace_t *e, uint64_t after_seq, uint32_t limit,
                           Espace__V1__FetchReply **out, espace_error_t *err);

/* Ack everything up to up_to_seq; *acked (may be NULL) how far it went. */
int espace_messaging_ack(espace_t *e, uint64_t up_to_seq, uint64_t *acked, espace_error_t *err);

/* ---- attachments: the calls ---- */

int espace_messaging_begin_attachment(espace_t *e, const uint8_t conv[ESPACE_MSG_ID],
                                      const uint8_t att[ESPACE_MSG_ID], uint64_t size,
                                      const uint8_t hash[ESPACE_MSG_HASH],
                                      Espace__V1__BeginAttachmentReply **out,
                                      espace_error_t *err);
int espace_messaging_upload_chunk(espace_t *e, const uint8_t att[ESPACE_MSG_ID], uint64_t offset,
                                  const uint8_t *data, size_t len,
                                  Espace__V1__UploadChunkReply **out, espace_error_t *err);
int espace_messaging_download_attachment(espace_t *e, const uint8_t att[ESPACE_MSG_ID],
                                         uint64_t offset, uint32_t max_bytes,
                                         Espace__V1__DownloadAttachmentReply **out,
                                         espace_error_t *err);

/* ---- attachments: seal, move, open ---- */

/* Seal plain[len] (at most what fits ESPACE_MSG_ATTACH_MAX) with a fresh
 * key: secretstream XChaCha20-Poly1305, the 24-byte header then
 * ceil(len / ESPACE_MSG_PLAIN_CHUNK) chunks (one empty chunk when len is
 * 0), each full but the last, tagged MESSAGE (0) but the last, tagged FINAL
 * (docs/messaging.md "Attachments"; the web app seals the same way). *ct (caller frees with free) and *ct_len,
 * key (SECRET: travels only inside a message) and the BLAKE2b-256 hash of
 * *ct. 0, ES_TOO_LARGE, ES_RESOURCE_EXHAUSTED. */
int espace_messaging_attachment_seal(const uint8_t *plain, size_t len,
                                     uint8_t key[ESPACE_MSG_ATTACH_KEY], uint8_t **ct,
                                     size_t *ct_len, uint8_t hash[ESPACE_MSG_HASH]);

/* Open a sealed attachment: *plain (caller frees; wipe it if sensitive)
 * and *len. ES_UNAUTHENTICATED when a chunk does not open, the stream is
 * truncated or has bytes after its FINAL chunk. */
int espace_messaging_attachment_open(const uint8_t key[ESPACE_MSG_ATTACH_KEY], const uint8_t *ct,
                                     size_t ct_len, uint8_t **plain, size_t *len);

/* Upload ct[len] as attachment att of conv: BeginAttachment, then pieces
 * from the server's next offset; a refused piece (another offset, a lost
 * reply) resumes from where BeginAttachment says, at most 8 times. 0 once
 * complete. */
int espace_messaging_upload(espace_t *e, const uint8_t conv[ESPACE_MSG_ID],
                            const uint8_t att[ESPACE_MSG_ID], const uint8_t *ct, size_t len,
                            const uint8_t hash[ESPACE_MSG_HASH], espace_error_t *err);

/* Download attachment att whole: *ct (caller frees) and *len, checked
 * against `hash` (the one the message carried: ES_UNAUTHENTICATED when it
 * differs) and ESPACE_MSG_ATTACH_MAX (ES_TOO_LARGE). */
int espace_messaging_download(espace_t *e, const uint8_t att[ESPACE_MSG_ID],
                              const uint8_t hash[ESPACE_MSG_HASH], uint8_t **ct, size_t *len,
                              espace_error_t *err);

/* ---- the content inside a copy (docs/messaging.md "Message content") ----
 * The plaintext every copy carries is an espace.v1.MessageContent
 * (proto/espace/v1/content.proto), the same bytes the web app writes: a
 * text with 0..ESPACE_MSG_ATTACH_PER_MSG attachment references, or a read
 * receipt (ids of messages read). test/vectors/messaging/ pins it. */
#define ESPACE_MSG_TEXT_MAX 40000      /* bytes of UTF-8 text in one message */
#define ESPACE_MSG_ATTACH_PER_MSG 10   /* attachments in one message */
#define ESPACE_MSG_READ_MAX 500        /* message ids in one read receipt */

typedef enum espace_msg_kind {
    ESPACE_MSG_TEXT = 1, /* text and attachments */
    ESPACE_MSG_READ = 2, /* read receipt: read[n_read] */
} espace_msg_kind_t;

typedef struct espace_msg_attachment {
    uint8_t id[ESPACE_MSG_ID];
    uint8_t key[ESPACE_MSG_ATTACH_KEY]; /* SECRET */
    uint8_t hash[ESPACE_MSG_HASH];      /* BLAKE2b-256 of the ciphertext as uploaded */
    uint64_t size;                      /* ciphertext bytes, 1..ESPACE_MSG_ATTACH_MAX */
    uint64_t plain_size;                /* file bytes */
    char name[ESPACE_MSG_NAME_MAX];     /* NUL-terminated; no '/' */
    char mime[ESPACE_MSG_NAME_MAX];     /* NUL-terminated; may be empty */
} espace_msg_attachment_t;

typedef struct espace_msg_content {
    espace_msg_kind_t kind;
    /* ESPACE_MSG_TEXT. text is not NUL-terminated. Encode: borrowed. Decode:
     * owned by the struct until espace_messaging_content_clear. */
    const char *text;
    size_t text_len;
    size_t n_att;
    espace_msg_attachment_t att[ESPACE_MSG_ATTACH_PER_MSG];
    /* ESPACE_MSG_READ */
    size_t n_read;
    uint8_t read[ESPACE_MSG_READ_MAX][ESPACE_MSG_ID];
    char *owned_; /* decode's copy of the text (private) */
} espace_msg_content_t;

/* Encode c into out[cap] (*len gets the length). ES_INVALID_ARGUMENT when c
 * breaks a rule above (an empty text without attachment, a name with '/',
 * text not UTF-8, ...), ES_TOO_LARGE beyond E2E_MAX_PLAINTEXT or cap. */
int espace_messaging_content_encode(const espace_msg_content_t *c, uint8_t *out, size_t cap,
                                    size_t *len);

/* Decode in[len] into *c (call espace_messaging_content_clear after, also
 * on error). ES_INVALID_ARGUMENT when malformed or a rule is broken,
 * ES_UNIMPLEMENTED for a content of a kind this version does not know (a
 * newer client's: skip it). */
int espace_messaging_content_decode(const uint8_t *in, size_t len, espace_msg_content_t *c);

/* Wipe *c (keys, text) and free what decode allocated. NULL is a no-op. */
void espace_messaging_content_clear(espace_msg_content_t *c);

/* ---- the session's device and live notices ---- */

/* The device of the session bound to this connection (identity WhoAmI).
 * ES_UNAUTHENTICATED without a session, ES_FAILED_PRECONDITION if it has
 * no device. */
int espace_messaging_device(espace_t *e, uint8_t device[ESPACE_MSG_ID], espace_error_t *err);

/* A professional's live notices for its device: subscribe to
 * "pro.<RPPS>.device.<device hex>.messaging" (topic written when not NULL).
 * The notices carry no ciphertext: fetch. Errors as espace_subscribe. */
int espace_messaging_watch(espace_t *e, const uint8_t device[ESPACE_MSG_ID],
                           char topic[ESPACE_TOPIC_MAX], espace_error_t *err);

/* Wait up to timeout_ms (-1 = forever) for the next notice of
 * espace_messaging_watch (an Entry without ciphertext; free with
 * espace_free), or ES_DEADLINE_EXCEEDED. Other events are skipped. */
int espace_messaging_next_notice(espace_t *e, int timeout_ms, Espace__V1__Entry **out,
                                 espace_error_t *err);

#endif
