/*
 * messaging.h - the messaging service (SERVICE_MESSAGING, "messaging"):
 * end-to-end encrypted conversations between a patient and a care team
 * (docs/messaging.md; contract proto/espace/v1/messaging.proto). The server
 * holds public keys, ids, sequences, sizes and ciphertext only.
 *
 * Methods (flags of runtime/service.h):
 *   PublishKeys, Unpublish, ClaimBundles            write (key directory)
 *   KeyStatus                                       read
 *   StartConversation                               write, guard MESSAGING WRITE
 *   CloseConversation                               write (a professional member)
 *   GetConversation, ListConversations              read (members only)
 *   Send                                            write, guard MESSAGING WRITE
 *   Fetch                                           read (the caller's device queue)
 *   Ack                                             write
 *   BeginAttachment, UploadChunk                    write
 *   DownloadAttachment                              read (members only)
 * The guards (runtime/service.h, ACCESS) make a professional's Start and
 * Send wait for consent's decision (asked asynchronously, audited by
 * consent); the patient on their own conversations is allowed at once.
 *
 * Events, published after the commit (body Entry):
 *   "patient.<id>.device.<device>.messaging"  the entry in full (the edge
 *                                             sends it to that device only)
 *   "pro.<rpps>.device.<device>.messaging"    the entry without ciphertext
 *
 * Data (<data>/messaging): tables and keys in messaging_int.h.
 *
 * Logs carry ids, sizes and status names, never ciphertext or keys.
 *
 * THREAD SAFETY: the service runs on the thread of svc_run.
 */
#ifndef ES_MESSAGING_H
#define ES_MESSAGING_H

#include "proto/names.h" /* SERVICE_MESSAGING, topic_patient_device, TOPIC_AREA_MESSAGING */
#include "runtime/service.h"

/* Limits (every refusal names its field; docs/messaging.md "Limits"). */
#define MSG_MAX_PROS 8               /* professionals of a conversation */
#define MSG_MAX_DEVICES 8            /* published devices per principal */
/* Copies of one Send (one event each): every device of a full care team,
 * MSG_MAX_PROS + 1 members x MSG_MAX_DEVICES (messaging.c checks it fits
 * SVC_MAX_EVENTS). */
#define MSG_MAX_COPIES ((MSG_MAX_PROS + 1) * MSG_MAX_DEVICES)
#define MSG_MAX_CIPHERTEXT (64u * 1024 + 256) /* >= E2E_MESSAGE_MAX (checked in messaging.c) */
#define MSG_OPK_BATCH 100            /* one-time prekeys per PublishKeys (E2E_OPK_BATCH) */
#define MSG_OPK_HELD 500             /* one-time prekeys held per device */
#define MSG_OPK_LOW 20               /* replenish hint threshold (E2E_OPK_LOW) */
#define MSG_FETCH_DEFAULT 100        /* entries per Fetch */
#define MSG_FETCH_MAX 500
#define MSG_FETCH_BYTES ((size_t)192 << 10) /* entry bytes per Fetch reply */
#define MSG_ACK_MAX 1000             /* entries one Ack deletes */
#define MSG_LIST_DEFAULT 100         /* ListConversations page */
#define MSG_LIST_MAX 500
#define MSG_ATTACH_MAX ((uint64_t)20 << 20) /* attachment bytes */
#define MSG_CHUNK_MAX ((size_t)128 << 10)   /* UploadChunk / DownloadAttachment piece */
#define MSG_CHUNK_MIN ((size_t)16 << 10)    /* every uploaded piece but the last */
#define MSG_RETENTION_MS (30LL * 86400 * 1000) /* queue entries, message ids, attachments */
#define MSG_UPLOAD_TTL_MS (86400LL * 1000)     /* an unfinished upload */
#define MSG_TICK_MS 1000             /* expiry check period */
#define MSG_EXPIRE_PER_TICK 256      /* expiry keys handled per tick call */
#define MSG_SWEEP_DEVICES 256        /* device queues swept per tick call */

/* Rate limits (token buckets; RESOURCE_EXHAUSTED): per minute and burst. */
#define MSG_RATE_SEND_PER_MIN 120    /* sends per sender principal */
#define MSG_RATE_SEND_BURST 60
#define MSG_RATE_PAIR_PER_MIN 30     /* sends per sender -> recipient principal */
#define MSG_RATE_PAIR_BURST 20
#define MSG_RATE_CLAIM_PER_MIN 120   /* bundles claimed per claimer principal */
#define MSG_RATE_CLAIM_BURST 60
#define MSG_RATE_SLOTS 4096          /* buckets kept in memory */

/* ESPACE_MSG_RETENTION_MS (tests only) overrides MSG_RETENTION_MS. */
#define MSG_RETENTION_ENV "ESPACE_MSG_RETENTION_MS"
/* ESPACE_MSG_RATE_SCALE (benchmarks only: test/bench/run) multiplies the
 * send rate limits (per minute and burst); the buckets are still taken. */
#define MSG_RATE_SCALE_ENV "ESPACE_MSG_RATE_SCALE"

extern const svc_def_t messaging_service;

#endif
