/*
 * messaging.c - the messaging service: method table, the access each method
 * needs (guards: the runtime asks consent before a professional's request
 * runs), init, and the caller helpers the other modules share
 * (messaging_int.h).
 */
#include "services/messaging/messaging.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/e2e/e2e.h"
#include "process/log.h"
#include "proto/rpps.h"
#include "proto/status.h"
#include "services/messaging/messaging_int.h"

_Static_assert(MSG_MAX_CIPHERTEXT >= E2E_MESSAGE_MAX, "a copy holds any e2e message");
_Static_assert(MSG_MAX_COPIES <= SVC_MAX_EVENTS, "one event per copy of a Send");
_Static_assert(MSG_OPK_LOW == E2E_OPK_LOW && MSG_OPK_BATCH == E2E_OPK_BATCH,
               "the hint follows docs/e2e.md");

#define K_PATIENT ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT
#define K_PRO ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL

/* ---- helpers ---- */

int msg_fail(svc_call_t *c, const msg_err_t *err)
{
    return svc_fail(c, err->status, err->field[0] ? err->field : NULL, "%s", err->msg);
}

/* The cache slot of (kind, principal): FNV-1a of both. */
static size_t s_who_slot(int kind, const char *principal)
{
    uint32_t h = 2166136261u ^ (uint32_t)kind;
    for (const char *p = principal; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h % MSG_WHO_CACHE;
}

int msg_who(msg_state_t *st, int kind, const char *principal, msg_who_t *out)
{
    if (!principal)
        return ES_INVALID_ARGUMENT;
    msg_who_t *slot = &st->who_cache[s_who_slot(kind, principal)];
    if (slot->kind != 0 && slot->kind == kind && strcmp(slot->principal, principal) == 0) {
        *out = *slot; /* checked and hashed when it was cached */
        return ES_OK;
    }
    char sid[MSG_STABLE_ID_MAX];
    if (msg_stable_id(kind, principal, sid, sizeof sid) != 0)
        return ES_INVALID_ARGUMENT;
    out->kind = kind;
    snprintf(out->principal, sizeof out->principal, "%s", principal);
    store_keyed_hash(st->store, "msg.principal", sid, strlen(sid), out->hash);
    *slot = *out;
    return ES_OK;
}

int msg_who_same(const msg_who_t *a, int kind, const char *principal)
{
    return a->kind == kind && principal && strcmp(a->principal, principal) == 0;
}

void msg_member_of(Espace__V1__Member *m, const msg_who_t *who)
{
    espace__v1__member__init(m);
    m->kind = (Espace__V1__PrincipalKind)who->kind;
    m->principal = (char *)who->principal;
}

int msg_caller(msg_state_t *st, svc_call_t *c, msg_who_t *out)
{
    const Espace__V1__Caller *k = svc_caller(c);
    if ((k->kind != K_PATIENT && k->kind != K_PRO) || msg_who(st, k->kind, k->principal, out) != 0)
        return svc_fail(c, ES_PERMISSION_DENIED, NULL, "patients and professionals only");
    return ES_OK;
}

int msg_caller_device(svc_call_t *c, uint8_t dev[ID_BYTES])
{
    const Espace__V1__Caller *k = svc_caller(c);
    if (k->device_id.len != ID_BYTES)
        return svc_fail(c, ES_FAILED_PRECONDITION, "device_id",
                        "the session has no device: log in from a device");
    memcpy(dev, k->device_id.data, ID_BYTES);
    return ES_OK;
}

/* ---- the service ---- */

static int s_init(const svc_env_t *env, void **state)
{
    msg_state_t *st = calloc(1, sizeof *st);
    if (!st)
        return ES_RESOURCE_EXHAUSTED;
    st->store = env->store;
    st->retention_ms = MSG_RETENTION_MS;
    const char *r = getenv(MSG_RETENTION_ENV);
    if (r && *r) {
        char *end = NULL;
        long long v = strtoll(r, &end, 10);
        if (end && *end == '\0' && v > 0) {
            st->retention_ms = v;
            log_warn(SERVICE_MESSAGING, "retention.override", "ms=%lld", v);
        }
    }
    const char *sc = getenv(MSG_RATE_SCALE_ENV);
    long scale = sc ? strtol(sc, NULL, 10) : 1;
    st->rate_scale = scale > 1 && scale <= 1000000 ? (unsigned)scale : 1;
    if (st->rate_scale > 1)
        log_warn(SERVICE_MESSAGING, "rate.scale", "factor=%u", st->rate_scale);
    st->rate = msg_rate_new(MSG_RATE_SLOTS);
    st->who_cache = calloc(MSG_WHO_CACHE, sizeof *st->who_cache); /* kind 0: empty */
    if (!st->rate || !st->who_cache) {
        msg_rate_destroy(&st->rate);
        free(st->who_cache);
        free(st);
        return ES_RESOURCE_EXHAUSTED;
    }
    *state = st;
    return ES_OK;
}

static void s_fini(void *state)
{
    msg_state_t *st = state;
    if (!st)
        return;
    msg_rate_destroy(&st->rate);
    free(st->who_cache);
    free(st);
}

static const char *s_tables[] = {MSG_T_DEVICES, MSG_T_OWNERS, MSG_T_OPKS,   MSG_T_CONVS,
                                 MSG_T_BY_MEMBER, MSG_T_HEADS, MSG_T_QUEUE, MSG_T_SENT,
                                 MSG_T_ATTACH,  MSG_T_CHUNKS, MSG_T_EXPIRY, NULL};

#define M(n, d, h, f) {n, &espace__v1__##d##__descriptor, h, f}
static const svc_method_t s_methods[] = {
    M("PublishKeys", publish_keys_request, msg_publish_keys, SVC_WRITE),
    M("Unpublish", unpublish_request, msg_unpublish, SVC_WRITE),
    M("KeyStatus", key_status_request, msg_key_status, 0),
    M("ClaimBundles", claim_bundles_request, msg_claim_bundles, SVC_WRITE),
    M("StartConversation", start_conversation_request, msg_start_conversation, SVC_WRITE),
    M("GetConversation", get_conversation_request, msg_get_conversation, 0),
    M("ListConversations", list_conversations_request, msg_list_conversations, 0),
    M("CloseConversation", close_conversation_request, msg_close_conversation, SVC_WRITE),
    M("Send", send_request, msg_send, SVC_WRITE),
    M("Fetch", fetch_request, msg_fetch, 0),
    M("Ack", ack_request, msg_ack, SVC_WRITE),
    M("BeginAttachment", begin_attachment_request, msg_begin_attachment, SVC_WRITE),
    M("UploadChunk", upload_chunk_request, msg_upload_chunk, SVC_WRITE),
    M("DownloadAttachment", download_attachment_request, msg_download_attachment, 0),
};
#undef M

/* The patient starting a conversation writes to one professional, who must
 * hold the patient's MESSAGING grant (runtime/service.h, HOLDERS). */
static int s_start_holder(const ProtobufCMessage *m, Espace__V1__PrincipalKind *kind,
                          char *principal, size_t n, const char **field, const char **why)
{
    const Espace__V1__StartConversationRequest *r =
        (const Espace__V1__StartConversationRequest *)m;
    if (r->n_professionals != 1) {
        *field = "professionals";
        *why = "a patient writes to exactly one professional";
        return ES_INVALID_ARGUMENT;
    }
    if (rpps_validate(r->professionals[0]) != 0) {
        *field = "professionals[0]";
        *why = "not an RPPS (11 digits)";
        return ES_INVALID_ARGUMENT;
    }
    *kind = K_PRO;
    snprintf(principal, n, "%s", r->professionals[0]);
    return SVC_HOLDER;
}

/* What needs consent (runtime/service.h, ACCESS): a professional starting a
 * conversation with the patient, or writing in one, under a MESSAGING
 * grant; the patient (patient_id empty or their own) sends at once, and
 * starts a conversation only with a professional who holds that grant
 * (asked of consent without an audit entry: HOLDERS). The other methods
 * touch only the caller's own device or conversations the caller is a
 * member of (checked by the handlers). */
#define G(m) {m, ESPACE__V1__CATEGORY__CATEGORY_MESSAGING, ESPACE__V1__ACTION__ACTION_WRITE, "patient_id", NULL}
static const svc_guard_t s_guards[] = {G("StartConversation"), G("Send")};
#undef G
static const svc_holder_t s_holders[] = {{"StartConversation", s_start_holder}};

const svc_def_t messaging_service = {
    .name = SERVICE_MESSAGING,
    .tables = s_tables,
    .methods = s_methods,
    .n_methods = sizeof s_methods / sizeof s_methods[0],
    .guards = s_guards,
    .n_guards = sizeof s_guards / sizeof s_guards[0],
    .holders = s_holders,
    .n_holders = sizeof s_holders / sizeof s_holders[0],
    .api = &espace__v1__messaging__descriptor,
    .init = s_init,
    .fini = s_fini,
    .tick = msg_expire_tick,
    .tick_ms = MSG_TICK_MS,
};
