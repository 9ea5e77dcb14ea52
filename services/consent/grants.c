/*
 * grants.c - the patient's grants: Grant, ListGrants, RevokeGrant,
 * RequestAccess, AnswerRequest, and what the decision reads of them.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/codec.h"
#include "services/consent/consent_int.h"
#include "process/log.h"
#include "proto/status.h"

#define GRANTEE_KEY_MAX (1 + CONSENT_MAX_GRANTEE + 1 + ID_BYTES)

/* ---- shared with decision.c and fhir.c ---- */

char *consent_grant_effective(Espace__V1__Grant *g, int64_t now)
{
    char *orig = g->inactive_reason;
    if (g->status == ESPACE__V1__GRANT_STATUS__GRANT_ACTIVE && g->period &&
        g->period->end_ms != 0 && now >= g->period->end_ms) {
        g->status = ESPACE__V1__GRANT_STATUS__GRANT_INACTIVE;
        g->inactive_reason = (char *)"expired"; /* static: restore orig before freeing */
    }
    return orig;
}

int consent_grant_covers(const Espace__V1__Grant *g, int category, int action, const char *detail)
{
    for (size_t i = 0; i < g->n_scopes; i++) {
        const Espace__V1__Scope *s = g->scopes[i];
        if ((int)s->category != category || (int)s->action != action)
            continue;
        if (s->n_codes == 0)
            return 1;
        if (!detail || !detail[0])
            continue; /* a narrowed scope never covers the whole category */
        for (size_t k = 0; k < s->n_codes; k++)
            if (strcmp(s->codes[k], detail) == 0)
                return 1;
    }
    return 0;
}

int consent_grant_load(store_txn_t *t, const uint8_t gid[ID_BYTES],
                       Espace__V1__Grant **out)
{
    return consent_load(t, CONSENT_T_GRANTS, gid, ID_BYTES,
                        &espace__v1__grant__descriptor, (ProtobufCMessage **)out);
}

/* ---- keys ---- */

static size_t s_grantee_prefix(int kind, const char *id, uint8_t out[GRANTEE_KEY_MAX])
{
    size_t n = strlen(id);
    out[0] = (uint8_t)kind;
    memcpy(out + 1, id, n);
    out[1 + n] = 0;
    return n + 2;
}

/* Store g (new: also its index entries). */
static int s_grant_put(store_txn_t *t, const Espace__V1__Grant *g, const uint8_t pid[16], int is_new)
{
    int rc = consent_save(t, CONSENT_T_GRANTS, g->id.data, ID_BYTES, &g->base);
    if (rc != 0 || !is_new)
        return rc;
    uint8_t k[GRANTEE_KEY_MAX];
    memcpy(k, pid, ID_BYTES);
    memcpy(k + ID_BYTES, g->id.data, ID_BYTES);
    if ((rc = store_put(t, CONSENT_T_BY_PATIENT, k, 2 * ID_BYTES, "", 0)) != 0)
        return rc;
    size_t n = s_grantee_prefix(g->grantee_kind, g->grantee_id, k);
    memcpy(k + n, g->id.data, ID_BYTES);
    return store_put(t, CONSENT_T_BY_GRANTEE, k, n + ID_BYTES, "", 0);
}

int consent_patient_grants(store_txn_t *t, const uint8_t pid[ID_BYTES],
                           int (*each)(store_txn_t *t, const uint8_t gid[ID_BYTES], void *arg),
                           void *arg)
{
    store_cursor_t *cur = NULL;
    int rc = store_cursor_open(t, CONSENT_T_BY_PATIENT, pid, ID_BYTES, &cur);
    while (rc == 0) {
        const void *k, *v;
        size_t kl, vl;
        rc = store_cursor_next(cur, &k, &kl, &v, &vl);
        if (rc != 0)
            break;
        if (kl != 2 * ID_BYTES || memcmp(k, pid, ID_BYTES) != 0)
            break;
        rc = each(t, (const uint8_t *)k + ID_BYTES, arg);
    }
    store_cursor_close(&cur);
    return rc == ES_NOT_FOUND || rc == 1 ? ES_OK : rc;
}

/* What s_patient_scan counts. */
typedef struct {
    const char *rpps; /* NULL: count only */
    size_t count;
    int pending; /* a proposal of rpps is pending */
} s_scan_t;

static int s_scan_one(store_txn_t *t, const uint8_t gid[ID_BYTES], void *arg)
{
    s_scan_t *sc = arg;
    sc->count++;
    if (!sc->rpps)
        return 0;
    Espace__V1__Grant *g = NULL;
    int rc = consent_grant_load(t, gid, &g);
    if (rc != 0)
        return rc;
    if (g->grantee_kind == ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL &&
        strcmp(g->grantee_id, sc->rpps) == 0 &&
        g->status == ESPACE__V1__GRANT_STATUS__GRANT_PROPOSED)
        sc->pending = 1;
    codec_free(&g->base);
    return 0;
}

/* Grants of a patient; with rpps, also whether a proposal of that
 * professional is pending. */
static int s_patient_scan(store_txn_t *t, const uint8_t pid[16], const char *rpps,
                          size_t *count, int *pending)
{
    s_scan_t sc = {.rpps = pending ? rpps : NULL};
    int rc = consent_patient_grants(t, pid, s_scan_one, &sc);
    *count = sc.count;
    if (pending)
        *pending = sc.pending;
    return rc;
}

/* The common part of a new grant of patient pid: a fresh random id (in gid),
 * the patient in hex (in pid_hex), the period start..end (in *period), created
 * and updated now. g borrows gid, pid_hex and period; the caller sets the
 * grantee, scopes, purpose and status. */
static void s_grant_fresh(svc_call_t *c, const uint8_t pid[ID_BYTES], int64_t start,
                          int64_t end, Espace__V1__Grant *g, Espace__V1__Period *period,
                          uint8_t gid[ID_BYTES], char pid_hex[ID_HEX])
{
    randombytes_buf(gid, ID_BYTES);
    espace__v1__period__init(period);
    period->start_ms = start;
    period->end_ms = end;
    espace__v1__grant__init(g);
    g->id.data = gid;
    g->id.len = ID_BYTES;
    g->patient_id = (char *)id_hex(pid, pid_hex);
    g->period = period;
    g->created_ms = g->updated_ms = svc_now_ms(c);
}

static int s_reply_grant(svc_call_t *c, const ProtobufCMessageDescriptor *desc,
                         Espace__V1__Grant *g)
{
    /* Every *GrantReply-like message of consent.proto has field 1 = grant. */
    ProtobufCMessage *rep = calloc(1, desc->sizeof_message);
    if (!rep)
        return svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
    desc->message_init(rep);
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, 1);
    *(Espace__V1__Grant **)((char *)rep + f->offset) = g;
    int rc = svc_reply(c, rep);
    free(rep);
    if (rc != 0)
        return svc_fail(c, rc, NULL, "reply too large");
    return ES_OK;
}

static void s_publish_change(svc_call_t *c, const char *topic, const Espace__V1__Grant *g)
{
    Espace__V1__GrantChanged ev = ESPACE__V1__GRANT_CHANGED__INIT;
    ev.grant_id = g->id;
    ev.patient_id = g->patient_id;
    ev.grantee_kind = g->grantee_kind;
    ev.grantee_id = g->grantee_id;
    ev.status = g->status;
    int rc = svc_publish(c, topic, &ev.base);
    if (rc != 0)
        log_warn(CONSENT_SERVICE, "publish.fail", "topic=%s status=%s", topic,
                 es_status_name(rc));
}

/* Scopes of an app grant must fit its catalogue entry. */
static int s_within_app(svc_call_t *c, const Espace__V1__App *app,
                        Espace__V1__Scope *const *scopes, size_t n)
{
    char f[80];
    for (size_t i = 0; i < n; i++) {
        const Espace__V1__Scope *s = scopes[i];
        const Espace__V1__Scope *cat = NULL;
        for (size_t j = 0; j < app->n_scopes && !cat; j++)
            if (app->scopes[j]->category == s->category && app->scopes[j]->action == s->action)
                cat = app->scopes[j];
        snprintf(f, sizeof f, "scopes[%zu]", i);
        if (!cat)
            return svc_fail(c, ES_INVALID_ARGUMENT, f, "scope outside the app's catalogue entry");
        if (cat->n_codes == 0)
            continue;
        snprintf(f, sizeof f, "scopes[%zu].codes", i);
        if (s->n_codes == 0)
            return svc_fail(c, ES_INVALID_ARGUMENT, f,
                            "the app's catalogue entry is narrowed to some codes");
        for (size_t k = 0; k < s->n_codes; k++) {
            int ok = 0;
            for (size_t j = 0; j < cat->n_codes && !ok; j++)
                ok = strcmp(cat->codes[j], s->codes[k]) == 0;
            if (!ok) {
                snprintf(f, sizeof f, "scopes[%zu].codes[%zu]", i, k);
                return svc_fail(c, ES_INVALID_ARGUMENT, f,
                                "code outside the app's catalogue entry");
            }
        }
    }
    return ES_OK;
}

/* Store g (s_grant_put) and reply with it, as it reads now
 * (consent_grant_effective), in a message of desc. 0, or the call failed. */
static int s_grant_store_reply(svc_call_t *c, store_txn_t *t, Espace__V1__Grant *g,
                               const uint8_t pid[ID_BYTES], int is_new,
                               const ProtobufCMessageDescriptor *desc)
{
    int rc = s_grant_put(t, g, pid, is_new);
    if (rc != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    (void)consent_grant_effective(g, svc_now_ms(c)); /* the caller restores the reason */
    return s_reply_grant(c, desc, g);
}

/* ---- Grant ---- */

int consent_grant(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    (void)st;
    const Espace__V1__GrantRequest *req = (const Espace__V1__GrantRequest *)m;
    uint8_t pid[ID_BYTES], body_pid[ID_BYTES];
    Espace__V1__App *app = NULL;
    int rc;
    if ((rc = consent_caller_patient(c, pid)) != 0)
        return rc;
    /* The authenticated patient exists: known from now on (registry.c). */
    if ((rc = consent_patient_add(t, pid, NULL)) != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    if (req->patient_id && req->patient_id[0]) {
        if ((rc = consent_patient_id_check(c, req->patient_id, body_pid)) != 0)
            return rc;
        if (memcmp(body_pid, pid, ID_BYTES) != 0)
            return svc_fail(c, ES_PERMISSION_DENIED, "patient_id",
                            "a patient grants only on their own behalf");
    }
    int kind = req->grantee_kind;
    if (kind == ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL) {
        if (rpps_validate(req->grantee_id) != 0)
            return svc_fail(c, ES_INVALID_ARGUMENT, "grantee_id", "RPPS: 11 digits");
    } else if (kind == ESPACE__V1__GRANTEE_KIND__GRANTEE_APP) {
        if (!consent_app_id_valid(req->grantee_id))
            return svc_fail(c, ES_INVALID_ARGUMENT, "grantee_id", "3..64 chars of [a-z0-9._-]");
    } else {
        return svc_fail(c, ES_INVALID_ARGUMENT, "grantee_kind", "app or professional");
    }
    if ((rc = consent_scopes_check(c, "scopes", req->scopes, req->n_scopes)) != 0)
        return rc;
    if (!consent_purpose_valid(req->purpose))
        return svc_fail(c, ES_INVALID_ARGUMENT, "purpose", "unknown purpose");
    int64_t start, end;
    if ((rc = consent_period_check(c, "period", req->period, &start, &end)) != 0)
        return rc;

    if (kind == ESPACE__V1__GRANTEE_KIND__GRANTEE_APP) {
        rc = consent_app_load(t, req->grantee_id, &app);
        if (rc == ES_NOT_FOUND || (rc == 0 && app->withdrawn)) {
            rc = svc_fail(c, ES_NOT_FOUND, "grantee_id", "no such app in the catalogue");
            goto done;
        }
        if (rc != 0) {
            rc = svc_fail(c, rc, NULL, "storage failure");
            goto done;
        }
        if ((rc = s_within_app(c, app, req->scopes, req->n_scopes)) != 0)
            goto done;
        int ok = 0;
        for (size_t i = 0; i < app->n_purposes && !ok; i++)
            ok = (int)app->purposes[i] == (int)req->purpose;
        if (!ok) {
            rc = svc_fail(c, ES_INVALID_ARGUMENT, "purpose", "not a purpose of this app");
            goto done;
        }
    }

    size_t count = 0;
    if ((rc = s_patient_scan(t, pid, NULL, &count, NULL)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    if (count >= CONSENT_MAX_GRANTS) {
        rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "too many grants");
        goto done;
    }

    uint8_t gid[ID_BYTES];
    char pid_hex[ID_HEX];
    Espace__V1__Period period;
    Espace__V1__Grant g;
    s_grant_fresh(c, pid, start, end, &g, &period, gid, pid_hex);
    g.grantee_kind = (Espace__V1__GranteeKind)kind;
    g.grantee_id = req->grantee_id;
    g.scopes = req->scopes;
    g.n_scopes = req->n_scopes;
    g.purpose = req->purpose;
    g.status = ESPACE__V1__GRANT_STATUS__GRANT_ACTIVE;
    if ((rc = s_grant_store_reply(c, t, &g, pid, 1, &espace__v1__grant_reply__descriptor)) != 0)
        goto done;
    char gh[ID_HEX];
    log_info(CONSENT_SERVICE, "grant.given", "patient=%s grant=%s grantee_kind=%d grantee=%s",
             pid_hex, id_hex(gid, gh), kind, req->grantee_id);
done:
    if (app)
        codec_free(&app->base);
    return rc;
}

/* ---- ListGrants ---- */

int consent_list_grants(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    (void)st;
    const Espace__V1__ListGrantsRequest *req = (const Espace__V1__ListGrantsRequest *)m;
    const Espace__V1__Caller *who = svc_caller(c);
    uint8_t prefix[GRANTEE_KEY_MAX + ID_BYTES];
    size_t plen = 0;
    uint8_t filter[ID_BYTES];
    int filtered = 0;
    const char *table = CONSENT_T_BY_GRANTEE;
    int rc;

    if (who->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PATIENT &&
        id_parse(who->principal, prefix) == 0) {
        plen = ID_BYTES;
        table = CONSENT_T_BY_PATIENT;
    } else if ((who->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_PROFESSIONAL &&
                (rpps_validate(who->principal) == 0)) ||
               (who->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_APP &&
                consent_app_id_valid(who->principal))) {
        int kind = who->kind == ESPACE__V1__PRINCIPAL_KIND__PRINCIPAL_APP
                       ? ESPACE__V1__GRANTEE_KIND__GRANTEE_APP
                       : ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL;
        plen = s_grantee_prefix(kind, who->principal, prefix);
        if (req->patient_id && req->patient_id[0]) {
            if ((rc = consent_patient_id_check(c, req->patient_id, filter)) != 0)
                return rc;
            filtered = 1;
        }
    } else {
        return svc_fail(c, ES_PERMISSION_DENIED, NULL, "patients, professionals or apps only");
    }
    if (req->cursor.len != 0 && req->cursor.len != ID_BYTES)
        return svc_fail(c, ES_INVALID_ARGUMENT, "cursor", "16 bytes or empty");
    if (req->limit > CONSENT_LIST_MAX)
        return svc_fail(c, ES_INVALID_ARGUMENT, "limit", "at most %d", CONSENT_LIST_MAX);
    size_t limit = req->limit ? req->limit : CONSENT_LIST_DEFAULT;

    uint8_t from[sizeof prefix];
    memcpy(from, prefix, plen);
    size_t flen = plen;
    if (req->cursor.len) {
        memcpy(from + plen, req->cursor.data, ID_BYTES);
        flen += ID_BYTES;
    }

    Espace__V1__Grant **gs = calloc(limit, sizeof *gs);
    char **origs = calloc(limit, sizeof *origs);
    size_t n = 0;
    int more = 0;
    store_cursor_t *cur = NULL;
    int64_t now = svc_now_ms(c);
    if (!gs || !origs) {
        rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
        goto done;
    }
    if ((rc = store_cursor_open(t, table, from, flen, &cur)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    for (;;) {
        const void *k, *v;
        size_t kl, vl;
        rc = store_cursor_next(cur, &k, &kl, &v, &vl);
        if (rc == ES_NOT_FOUND) {
            rc = ES_OK;
            break;
        }
        if (rc != 0) {
            rc = svc_fail(c, rc, NULL, "storage failure");
            goto done;
        }
        if (kl != plen + ID_BYTES || memcmp(k, prefix, plen) != 0)
            break;
        const uint8_t *gid = (const uint8_t *)k + plen;
        if (req->cursor.len && memcmp(gid, req->cursor.data, ID_BYTES) == 0)
            continue;
        Espace__V1__Grant *g = NULL;
        if ((rc = consent_grant_load(t, gid, &g)) != 0) {
            rc = svc_fail(c, rc, NULL, "storage failure");
            goto done;
        }
        uint8_t gp[ID_BYTES];
        if (filtered && (id_parse(g->patient_id, gp) != 0 ||
                         memcmp(gp, filter, ID_BYTES) != 0)) {
            codec_free(&g->base);
            continue;
        }
        if (n == limit) {
            more = 1;
            codec_free(&g->base);
            break;
        }
        origs[n] = consent_grant_effective(g, now);
        gs[n++] = g;
    }
    Espace__V1__ListGrantsReply rep = ESPACE__V1__LIST_GRANTS_REPLY__INIT;
    rep.grants = gs;
    rep.n_grants = n;
    if (more && n > 0)
        rep.next_cursor = gs[n - 1]->id;
    if ((rc = svc_reply(c, &rep.base)) != 0)
        rc = svc_fail(c, rc, NULL, "reply too large");
done:
    store_cursor_close(&cur);
    for (size_t i = 0; i < n; i++) {
        gs[i]->inactive_reason = origs[i]; /* effective() may have set a static string */
        codec_free(&gs[i]->base);
    }
    free(gs);
    free(origs);
    return rc;
}

/* A grant of the calling patient, loaded to be changed. */
typedef struct s_own {
    uint8_t pid[ID_BYTES];  /* the caller */
    Espace__V1__Grant *g;   /* the grant (s_own_free) */
    char *reason;           /* g's own inactive_reason, restored before freeing */
} s_own_t;

/* Load grant `id` of the calling patient into *o; NOT_FOUND (never "someone
 * else's"). 0, or the call failed and nothing is held. */
static int s_own_grant(svc_call_t *c, store_txn_t *t, const ProtobufCBinaryData *id, s_own_t *o)
{
    int rc;
    memset(o, 0, sizeof *o);
    if ((rc = consent_caller_patient(c, o->pid)) != 0)
        return rc;
    if (id->len != ID_BYTES)
        return svc_fail(c, ES_INVALID_ARGUMENT, "grant_id", "16 bytes");
    rc = consent_grant_load(t, id->data, &o->g);
    if (rc == ES_NOT_FOUND)
        return svc_fail(c, rc, "grant_id", "no such grant");
    if (rc != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    uint8_t gp[ID_BYTES];
    if (id_parse(o->g->patient_id, gp) != 0 || memcmp(gp, o->pid, ID_BYTES) != 0) {
        codec_free(&o->g->base);
        o->g = NULL;
        return svc_fail(c, ES_NOT_FOUND, "grant_id", "no such grant");
    }
    o->reason = o->g->inactive_reason;
    return ES_OK;
}

/* Free o's grant, whose inactive_reason may now be borrowed (static or
 * request). */
static void s_own_free(s_own_t *o)
{
    if (!o->g)
        return;
    o->g->inactive_reason = o->reason;
    codec_free(&o->g->base);
    o->g = NULL;
}

/* ---- RevokeGrant ---- */

/* What still applies to a revoked grant's grantee (RevokeGrantReply). */
typedef struct {
    const Espace__V1__Grant *revoked;
    int64_t now;
    Espace__V1__Grant *list[CONSENT_MAX_GRANTS]; /* their other active grants */
    char *reasons[CONSENT_MAX_GRANTS];           /* each one's own inactive_reason */
    size_t n;
} s_still_t;

static int s_still_one(store_txn_t *t, const uint8_t gid[ID_BYTES], void *arg)
{
    s_still_t *s = arg;
    const Espace__V1__Grant *r = s->revoked;
    if (memcmp(gid, r->id.data, ID_BYTES) == 0 || s->n == CONSENT_MAX_GRANTS)
        return 0;
    Espace__V1__Grant *g = NULL;
    int rc = consent_grant_load(t, gid, &g);
    if (rc != 0)
        return rc;
    char *orig = consent_grant_effective(g, s->now);
    if (g->grantee_kind == r->grantee_kind && strcmp(g->grantee_id, r->grantee_id) == 0 &&
        g->status == ESPACE__V1__GRANT_STATUS__GRANT_ACTIVE) {
        s->reasons[s->n] = orig;
        s->list[s->n++] = g;
        return 0;
    }
    g->inactive_reason = orig;
    codec_free(&g->base);
    return 0;
}

static void s_still_free(s_still_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        s->list[i]->inactive_reason = s->reasons[i];
        codec_free(&s->list[i]->base);
    }
    s->n = 0;
}

int consent_revoke_grant(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    (void)st;
    const Espace__V1__RevokeGrantRequest *req = (const Espace__V1__RevokeGrantRequest *)m;
    s_own_t o;
    s_still_t *still = NULL;
    Espace__V1__Emergency *em = NULL;
    int rc = s_own_grant(c, t, &req->grant_id, &o);
    if (rc != 0)
        return rc;
    Espace__V1__Grant *g = o.g;
    consent_grant_effective(g, svc_now_ms(c));
    if (g->status != ESPACE__V1__GRANT_STATUS__GRANT_ACTIVE &&
        g->status != ESPACE__V1__GRANT_STATUS__GRANT_PROPOSED) {
        rc = svc_fail(c, ES_FAILED_PRECONDITION, "grant_id", "grant is not active");
        goto done;
    }
    g->status = ESPACE__V1__GRANT_STATUS__GRANT_INACTIVE;
    g->inactive_reason = (char *)"revoked";
    g->updated_ms = svc_now_ms(c);
    if ((rc = s_grant_put(t, g, o.pid, 0)) != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    still = calloc(1, sizeof *still);
    if (!still) {
        rc = svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "out of memory");
        goto done;
    }
    still->revoked = g;
    still->now = svc_now_ms(c);
    rc = consent_patient_grants(t, o.pid, s_still_one, still);
    if (rc == 0 && g->grantee_kind == ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL) {
        rc = consent_emergency_load(t, o.pid, g->grantee_id, &em);
        if (rc == ES_NOT_FOUND)
            rc = ES_OK;
    }
    if (rc != 0) {
        rc = svc_fail(c, rc, NULL, "storage failure");
        goto done;
    }
    Espace__V1__RevokeGrantReply rep = ESPACE__V1__REVOKE_GRANT_REPLY__INIT;
    rep.grant = g;
    rep.still_granted = still->list;
    rep.n_still_granted = still->n;
    if (em && consent_emergency_active(em, still->now)) {
        rep.still_emergency = &em;
        rep.n_still_emergency = 1;
    }
    if ((rc = svc_reply(c, &rep.base)) != 0) {
        rc = svc_fail(c, rc, NULL, "reply too large");
        goto done;
    }
    s_publish_change(c, TOPIC_CONSENT_REVOKED, g);
    consent_notify_patient(c, g->patient_id, ESPACE__V1__NOTICE_KIND__NOTICE_GRANT_CHANGED, g,
                           NULL);
    char gh[ID_HEX];
    log_info(CONSENT_SERVICE, "grant.revoked", "patient=%s grant=%s", g->patient_id,
             id_hex(g->id.data, gh));
done:
    if (still)
        s_still_free(still);
    free(still);
    if (em)
        codec_free(&em->base);
    s_own_free(&o);
    return rc;
}

/* ---- RequestAccess ---- */

int consent_request_access(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    (void)st;
    const Espace__V1__RequestAccessRequest *req = (const Espace__V1__RequestAccessRequest *)m;
    const char *rpps = NULL;
    uint8_t pid[ID_BYTES];
    int rc = consent_pro_on_patient(c, t, req->patient_id, &rpps, pid);
    if (rc != 0)
        return rc;
    if ((rc = consent_scopes_check(c, "scopes", req->scopes, req->n_scopes)) != 0)
        return rc;
    if (!consent_purpose_valid(req->purpose))
        return svc_fail(c, ES_INVALID_ARGUMENT, "purpose", "unknown purpose");
    int64_t start, end;
    if ((rc = consent_period_check(c, "period", req->period, &start, &end)) != 0)
        return rc;
    if ((rc = consent_text_check(c, "reason", req->reason, 0, CONSENT_MAX_REASON, 1)) != 0)
        return rc;
    if ((rc = consent_label_check(c, "display_name", req->display_name)) != 0 ||
        (rc = consent_label_check(c, "profession", req->profession)) != 0)
        return rc;
    size_t count = 0;
    int pending = 0;
    if ((rc = s_patient_scan(t, pid, rpps, &count, &pending)) != 0)
        return svc_fail(c, rc, NULL, "storage failure");
    if (pending)
        return svc_fail(c, ES_ALREADY_EXISTS, "patient_id",
                        "a request of yours is already pending");
    if (count >= CONSENT_MAX_GRANTS)
        return svc_fail(c, ES_RESOURCE_EXHAUSTED, NULL, "too many grants");

    uint8_t gid[ID_BYTES];
    char pid_hex[ID_HEX];
    Espace__V1__Period period;
    Espace__V1__Grant g;
    s_grant_fresh(c, pid, start, end, &g, &period, gid, pid_hex);
    g.grantee_kind = ESPACE__V1__GRANTEE_KIND__GRANTEE_PROFESSIONAL;
    g.grantee_id = (char *)rpps;
    g.scopes = req->scopes;
    g.n_scopes = req->n_scopes;
    g.purpose = req->purpose;
    g.status = ESPACE__V1__GRANT_STATUS__GRANT_PROPOSED;
    g.request_reason = req->reason;
    g.grantee_name = req->display_name;
    g.grantee_profession = req->profession;
    if ((rc = s_grant_store_reply(c, t, &g, pid, 1,
                                  &espace__v1__request_access_reply__descriptor)) != 0)
        return rc;
    s_publish_change(c, TOPIC_CONSENT_REQUEST, &g);
    consent_notify_patient(c, pid_hex, ESPACE__V1__NOTICE_KIND__NOTICE_REQUEST, &g, NULL);
    char gh[ID_HEX];
    log_info(CONSENT_SERVICE, "grant.requested", "patient=%s grant=%s rpps=%s", pid_hex,
             id_hex(gid, gh), rpps);
    return ES_OK;
}

/* ---- AnswerRequest ---- */

int consent_answer_request(void *st, svc_call_t *c, const ProtobufCMessage *m, store_txn_t *t)
{
    (void)st;
    const Espace__V1__AnswerRequestRequest *req = (const Espace__V1__AnswerRequestRequest *)m;
    s_own_t o;
    int rc = s_own_grant(c, t, &req->grant_id, &o);
    if (rc != 0)
        return rc;
    Espace__V1__Grant *g = o.g;
    if (g->status != ESPACE__V1__GRANT_STATUS__GRANT_PROPOSED) {
        rc = svc_fail(c, ES_FAILED_PRECONDITION, "grant_id", "not a pending request");
        goto done;
    }
    g->status = req->accept ? ESPACE__V1__GRANT_STATUS__GRANT_ACTIVE
                            : ESPACE__V1__GRANT_STATUS__GRANT_REJECTED;
    g->updated_ms = svc_now_ms(c);
    if ((rc = s_grant_store_reply(c, t, g, o.pid, 0,
                                  &espace__v1__answer_request_reply__descriptor)) != 0)
        goto done;
    consent_notify_patient(c, g->patient_id, ESPACE__V1__NOTICE_KIND__NOTICE_GRANT_CHANGED, g,
                           NULL);
    char gh[ID_HEX];
    log_info(CONSENT_SERVICE, "grant.answered", "patient=%s grant=%s accept=%d", g->patient_id,
             id_hex(g->id.data, gh), req->accept ? 1 : 0);
done:
    s_own_free(&o);
    return rc;
}
