/*
 * msg.h - inside espace-pro: the `msg` commands (msg_keys.c, msg_send.c,
 * msg_inbox.c) and the device's encrypted store (msg_store.c).
 *
 * The store, <home>/messaging-<device hex>.store (mode 0600), is everything
 * the professional's device holds for end-to-end messaging (docs/e2e.md):
 * its Ed25519 identity, its signed and last-resort prekeys (and the
 * replaced ones, kept E2E_SPK_KEEP_S), its one-time prekey secrets, one
 * ratchet session per peer device, and the decrypted history of the
 * conversations (the server deletes what a device acknowledged and ratchet
 * keys decrypt only once, so the history exists nowhere else). One store
 * per device: a new login makes a new device and a new store.
 *
 * On disk: "ESPMSG01" | opslimit (8) | memlimit (8) | salt (16) | nonce (24)
 * | secretbox(key, content), key = Argon2id (crypto_pwhash) of the
 * passphrase ($ESPACE_PRO_PASSPHRASE, else one line of stdin). The content
 * is written whole, atomically (temporary file, fsync, rename), BEFORE
 * anything that depends on it leaves the machine: prekeys before they are
 * published, ratchet states before their ciphertexts are sent, received
 * messages before they are acknowledged.
 *
 * THREAD SAFETY: main thread only.
 */
#ifndef ES_PRO_MSG_H
#define ES_PRO_MSG_H

#include "clients/e2e/e2e.h"
#include "clients/pro/pro.h"

#define MSG_STORE_OPK_MAX 500   /* one-time prekey secrets kept (the server holds at most 500) */
#define MSG_STORE_PEERS_MAX 256 /* ratchet sessions kept (the least recently used dropped) */
#define MSG_STORE_LINES_MAX 5000 /* history lines kept (the oldest dropped) */
#define MSG_PASSPHRASE_MIN 8

/* One ratchet session with a peer device. */
typedef struct msg_peer {
    uint8_t device[16];
    e2e_session_t *s;
    int64_t used_ms;
} msg_peer_t;

#define MSG_LINE_OUT 0x01  /* msg_line_t.out: sent by this device */
#define MSG_LINE_READ 0x02 /* msg_line_t.out: a read receipt named it (a sent line) */

/* One line of the history: a message sent or received. */
typedef struct msg_line {
    uint8_t conv[16], id[16];
    int64_t ms;
    uint8_t out;       /* MSG_LINE_OUT: sent by this device; MSG_LINE_READ: and read */
    char from[80];     /* "rpps:<RPPS>" or "patient:<id>" */
    char *text;        /* NUL-terminated, owned */
    char att[ESPACE_MSG_NAME_MAX + PRO_PATH_MAX + 80]; /* "" or "name -> saved path" */
} msg_line_t;

typedef struct msg_store {
    char path[PRO_PATH_MAX + 64];
    uint8_t key[32];             /* SECRET: the passphrase's key */
    uint8_t salt[16];
    uint64_t ops, mem;
    uint8_t device[16];
    char rpps[16];
    uint8_t registered;          /* identity key registered with identity */
    uint8_t has_old;             /* old_spk/old_lrk hold replaced prekeys */
    uint32_t next_id;            /* next prekey id */
    e2e_identity_t ik;
    e2e_prekey_t spk, lrk, old_spk, old_lrk;
    e2e_prekey_t *opk;
    size_t n_opk;
    msg_peer_t *peers;
    size_t n_peers;
    msg_line_t *lines;
    size_t n_lines;
} msg_store_t;

/* Open the store of `device` in home with the passphrase (on error only
 * st->path is kept, for messages): 0; ES_NOT_FOUND
 * when there is none (create with msg_store_create); ES_UNAUTHENTICATED
 * for a wrong passphrase (or a damaged file); ES_INVALID_ARGUMENT for a
 * malformed content. Printed errors are the caller's. */
int msg_store_open(msg_store_t *st, const char *home, const uint8_t device[16],
                   const char *passphrase);

/* A new store of device for rpps: a fresh identity, signed and last-resort
 * prekeys, E2E_OPK_BATCH one-time prekeys; not written yet (msg_store_save). */
int msg_store_create(msg_store_t *st, const char *home, const uint8_t device[16],
                     const char *rpps, const char *passphrase);

/* Write it (atomically, 0600). 0 or ES_INTERNAL. */
int msg_store_save(msg_store_t *st);

/* Wipe and free. */
void msg_store_close(msg_store_t *st);

/* The session with a peer device (NULL when none). */
msg_peer_t *msg_store_peer(msg_store_t *st, const uint8_t device[16]);
/* Keep s as the session with device (replacing one); takes ownership. */
int msg_store_peer_set(msg_store_t *st, const uint8_t device[16], e2e_session_t *s);

/* `count` new one-time prekeys (kept here; published by the caller). The
 * first new one is &st->opk[st->n_opk - count]. */
int msg_store_opk_add(msg_store_t *st, size_t count);
/* Forget the one-time prekey `id` (after it answered an initial message). */
void msg_store_opk_drop(msg_store_t *st, uint32_t id);
/* A new signed and last-resort prekey; the current ones become the old. */
int msg_store_rotate(msg_store_t *st);

/* Append a history line (text copied). */
int msg_store_line(msg_store_t *st, const msg_line_t *l, const char *text, size_t text_len);

/* ---- shared by the commands ---- */

/* Resume the session, learn its device, read the passphrase and open its
 * store (create = 1: make it when missing). 0, or the exit code (printed).
 * *created = 1 when made now. */
int msg_begin(pro_conf_t *c, espace_t **e, msg_store_t *st, int create, int *created);

/* --conversation ID into id. 0, or the exit code (printed). */
int msg_conv_arg(const char *arg, uint8_t id[16]);

/* Fetch, decrypt, print and acknowledge every entry of the device's queue;
 * attachments are saved in dir (NULL: <home>/attachments). *printed
 * counts the messages shown. 0, or the exit code (printed). */
int msg_inbox_run(pro_conf_t *c, espace_t *e, msg_store_t *st, const char *dir, int *printed);

/* The commands (clients/pro/main.c). */
int pro_msg_keys(pro_conf_t *c, int argc, char **argv);
int pro_msg_start(pro_conf_t *c, int argc, char **argv);
int pro_msg_list(pro_conf_t *c, int argc, char **argv);
int pro_msg_close(pro_conf_t *c, int argc, char **argv);
int pro_msg_safety(pro_conf_t *c, int argc, char **argv);
int pro_msg_send(pro_conf_t *c, int argc, char **argv);
int pro_msg_attach(pro_conf_t *c, int argc, char **argv);
int pro_msg_inbox(pro_conf_t *c, int argc, char **argv);
int pro_msg_read(pro_conf_t *c, int argc, char **argv);
int pro_msg_watch(pro_conf_t *c, int argc, char **argv);

#endif
