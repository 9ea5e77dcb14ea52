/*
 * limits.c - the identity service's limits (identity_int.h): the share of
 * its time the service spends in Argon2id, the deadline of a caller, the log-in throttle and
 * the rate of ResolvePatient. Rules and their reasons: identity.h.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "process/log.h"
#include "proto/status.h"
#include "services/identity/identity_int.h"

static const throttle_rule_t s_login_source = {IDENTITY_LOGIN_SOURCE_BURST,
                                               IDENTITY_LOGIN_SOURCE_REFILL_MS};
static const throttle_rule_t s_login_account = {IDENTITY_LOGIN_ACCOUNT_BURST,
                                                IDENTITY_LOGIN_ACCOUNT_REFILL_MS};
static const throttle_rule_t s_resolve = {IDENTITY_RESOLVE_BURST, IDENTITY_RESOLVE_REFILL_MS};

static int64_t s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- deadline and Argon2id budget ---- */

int identity_deadline_check(svc_call_t *call)
{
    if (svc_remaining_ms(call) > 0)
        return 0;
    log_info(IDENTITY_LOG, "request.dropped", "reason=deadline rid=%llu",
             (unsigned long long)svc_request_id(call));
    return svc_fail(call, ES_DEADLINE_EXCEEDED, NULL, "deadline passed before the work began");
}

/* The pool's budget at t (us): refilled at its share of the time since
 * the last look, at most IDENTITY_PWHASH_BURST_MS. */
static int64_t s_budget(identity_state_t *st, int pool, int64_t t)
{
    static const int s_share[2] = {IDENTITY_PWHASH_SHARE_OTHER, IDENTITY_PWHASH_SHARE_KNOWN};
    identity_pwhash_pool_t *p = &st->pwhash[pool];
    if (p->at == 0)
        p->budget_us = IDENTITY_PWHASH_BURST_MS * 1000;
    else if (t > p->at)
        p->budget_us += (t - p->at) * s_share[pool] / 100;
    if (p->budget_us > IDENTITY_PWHASH_BURST_MS * 1000)
        p->budget_us = IDENTITY_PWHASH_BURST_MS * 1000;
    p->at = t;
    return p->budget_us;
}

int identity_pwhash_admit(identity_state_t *st, svc_call_t *call, int pool)
{
    int rc = identity_deadline_check(call);
    if (rc != 0)
        return rc;
    if (s_budget(st, pool, s_mono_us()) <= 0) {
        log_debug(IDENTITY_LOG, "pwhash.busy", "pool=%d", pool);
        return svc_fail(call, ES_RESOURCE_EXHAUSTED, NULL, "busy; retry");
    }
    return 0;
}

static void s_spent(identity_state_t *st, int pool, int64_t t0)
{
    int64_t t = s_mono_us();
    s_budget(st, pool, t);
    st->pwhash[pool].budget_us -= t - t0; /* may go below 0: a debt */
}

int identity_pwhash(identity_state_t *st, int pool, const char *pw, size_t len,
                    char out[PASSWORD_HASH_MAX])
{
    int64_t t0 = s_mono_us();
    int rc = password_hash(pw, len, out);
    s_spent(st, pool, t0);
    return rc;
}

int identity_pwverify(identity_state_t *st, int pool, const char *hash, const char *pw,
                      size_t len)
{
    int64_t t0 = s_mono_us();
    /* an account without a hash costs the same as one with */
    int rc = password_verify(hash ? hash : st->dummy_hash, pw, len);
    s_spent(st, pool, t0);
    return hash ? rc : ES_UNAUTHENTICATED;
}

/* ---- log-in throttle ---- */

void identity_login_source(const identity_state_t *st, const svc_call_t *call, int kind,
                           const char *id, const uint8_t *known_device,
                           identity_login_source_t *src)
{
    const Espace__V1__Caller *c = svc_caller(call);
    uint8_t acct[1 + INS_LEN];
    size_t alen = strlen(id);
    if (alen > INS_LEN)
        alen = INS_LEN;
    acct[0] = (uint8_t)kind;
    memcpy(acct + 1, id, alen);
    alen++;
    src->known = known_device != NULL;
    throttle_key(st->throttle, "login.account", acct, alen, NULL, 0, src->account);
    if (known_device) {
        throttle_key(st->throttle, "login.device", acct, alen, known_device, ID_BYTES, src->source);
    } else {
        /* the connection's peer as the broker or edge stamped it: its role,
         * CURVE key (empty on ipc) and, through the edge, the client's
         * network address */
        char peer[128];
        const char *key = c->peer_key ? c->peer_key : "";
        const char *addr = c->source_address ? c->source_address : "";
        size_t n = (size_t)snprintf(peer, sizeof peer, "%d:%s:%s", (int)c->peer_role, key, addr);
        if (n >= sizeof peer)
            n = sizeof peer - 1;
        throttle_key(st->throttle, "login.peer", acct, alen, peer, n, src->source);
    }
    sodium_memzero(acct, sizeof acct);
}

int identity_login_throttled(identity_state_t *st, svc_call_t *call,
                             const identity_login_source_t *src)
{
    int64_t now = svc_now_ms(call);
    int64_t wait = throttle_wait_ms(st->throttle, src->source, &s_login_source, now);
    if (!src->known) {
        int64_t w = throttle_wait_ms(st->throttle, src->account, &s_login_account, now);
        if (w > wait)
            wait = w;
    }
    if (wait <= 0)
        return 0;
    log_info(IDENTITY_LOG, "login.throttled", "known_device=%d wait_ms=%lld", src->known,
             (long long)wait);
    return svc_fail(call, ES_RESOURCE_EXHAUSTED, NULL, "too many attempts; retry in %lld s",
                    (long long)((wait + 999) / 1000));
}

void identity_login_count_failure(identity_state_t *st, svc_call_t *call,
                                  const identity_login_source_t *src)
{
    int64_t now = svc_now_ms(call);
    (void)throttle_take(st->throttle, src->source, &s_login_source, now);
    if (!src->known)
        (void)throttle_take(st->throttle, src->account, &s_login_account, now);
}

void identity_login_count_success(identity_state_t *st, const identity_login_source_t *src)
{
    throttle_forget(st->throttle, src->source);
}

/* ---- ResolvePatient ---- */

int identity_resolve_throttled(identity_state_t *st, svc_call_t *call, const char *rpps)
{
    uint8_t key[THROTTLE_KEY_BYTES];
    int64_t now = svc_now_ms(call);
    throttle_key(st->throttle, "resolve", rpps, strlen(rpps), NULL, 0, key);
    if (throttle_take(st->throttle, key, &s_resolve, now) == 0)
        return 0;
    int64_t wait = throttle_wait_ms(st->throttle, key, &s_resolve, now);
    log_info(IDENTITY_LOG, "resolve.throttled", "rpps=%s", rpps);
    return svc_fail(call, ES_RESOURCE_EXHAUSTED, NULL, "too many resolutions; retry in %lld s",
                    (long long)((wait + 999) / 1000));
}
