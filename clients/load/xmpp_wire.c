/* xmpp_wire.c - XMPP stanzas over websockets for espace-load (xmpp.h). */
#define _GNU_SOURCE /* memmem */
#include "clients/load/xmpp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto/status.h"

static int s_plain_name(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '-' || *s == '_'))
            return 0;
    return 1;
}

/* Append to out at *at (a NUL kept after when it fits): 0 or -1 when full. */
static int s_put(char *out, size_t cap, size_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *at, *at < cap ? cap - *at : 0, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *at)
        return -1;
    *at += (size_t)n;
    return 0;
}

int xmpp_open(char *out, size_t cap, const char *domain, size_t *len)
{
    if (!s_plain_name(domain))
        return ES_INVALID_ARGUMENT;
    size_t at = 0;
    if (s_put(out, cap, &at, "<open xmlns=\"" XMPP_NS_FRAMING "\" to=\"%s\" version=\"1.0\"/>",
              domain) < 0)
        return ES_RESOURCE_EXHAUSTED;
    *len = at;
    return 0;
}

static const char s_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int xmpp_auth_plain(char *out, size_t cap, const char *user, const char *password, size_t *len)
{
    if (!s_plain_name(user) || !password)
        return ES_INVALID_ARGUMENT;
    uint8_t raw[512];
    size_t ul = strlen(user), pl = strlen(password), n = 0;
    if (ul + pl + 2 > sizeof raw)
        return ES_RESOURCE_EXHAUSTED;
    raw[n++] = 0;
    memcpy(raw + n, user, ul);
    n += ul;
    raw[n++] = 0;
    memcpy(raw + n, password, pl);
    n += pl;
    size_t at = 0;
    int rc = s_put(out, cap, &at, "<auth xmlns=\"" XMPP_NS_SASL "\" mechanism=\"PLAIN\">");
    for (size_t i = 0; rc == 0 && i < n; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (i + 1 < n ? (uint32_t)raw[i + 1] << 8 : 0) |
                     (i + 2 < n ? raw[i + 2] : 0);
        rc = s_put(out, cap, &at, "%c%c%c%c", s_b64[v >> 18 & 63], s_b64[v >> 12 & 63],
                   i + 1 < n ? s_b64[v >> 6 & 63] : '=', i + 2 < n ? s_b64[v & 63] : '=');
    }
    if (rc == 0)
        rc = s_put(out, cap, &at, "</auth>");
    memset(raw, 0, sizeof raw);
    if (rc < 0)
        return ES_RESOURCE_EXHAUSTED;
    *len = at;
    return 0;
}

int xmpp_bind(char *out, size_t cap, const char *id, const char *resource, size_t *len)
{
    if (!s_plain_name(id) || !s_plain_name(resource))
        return ES_INVALID_ARGUMENT;
    size_t at = 0;
    if (s_put(out, cap, &at,
              "<iq xmlns=\"jabber:client\" type=\"set\" id=\"%s\"><bind xmlns=\"" XMPP_NS_BIND
              "\"><resource>%s</resource></bind></iq>",
              id, resource) < 0)
        return ES_RESOURCE_EXHAUSTED;
    *len = at;
    return 0;
}

int xmpp_presence(char *out, size_t cap, size_t *len)
{
    size_t at = 0;
    if (s_put(out, cap, &at, "<presence xmlns=\"jabber:client\"/>") < 0)
        return ES_RESOURCE_EXHAUSTED;
    *len = at;
    return 0;
}

int xmpp_message(char *out, size_t cap, const char *user, const char *domain,
                 const char *resource, const char *id, const uint8_t *body, size_t blen,
                 size_t *len)
{
    if (!s_plain_name(user) || !s_plain_name(domain) || !s_plain_name(id) ||
        (resource && !s_plain_name(resource)) || (blen && !body))
        return ES_INVALID_ARGUMENT;
    size_t at = 0;
    int rc = s_put(out, cap, &at, "<message xmlns=\"jabber:client\" to=\"%s@%s%s%s\" type=\"chat\" "
                                  "id=\"%s\"><body>",
                   user, domain, resource ? "/" : "", resource ? resource : "", id);
    for (size_t i = 0; rc == 0 && i < blen; i++) {
        uint8_t c = body[i];
        rc = c == '&'    ? s_put(out, cap, &at, "&amp;")
             : c == '<'  ? s_put(out, cap, &at, "&lt;")
             : c == '>'  ? s_put(out, cap, &at, "&gt;")
             : c == '"'  ? s_put(out, cap, &at, "&quot;")
             : c == '\'' ? s_put(out, cap, &at, "&apos;")
                         : s_put(out, cap, &at, "%c", c);
    }
    if (rc == 0)
        rc = s_put(out, cap, &at, "</body></message>");
    if (rc < 0)
        return ES_RESOURCE_EXHAUSTED;
    *len = at;
    return 0;
}

static int s_fixed(char *out, size_t cap, const char *text, size_t *len)
{
    size_t at = 0;
    if (s_put(out, cap, &at, "%s", text) < 0)
        return ES_RESOURCE_EXHAUSTED;
    *len = at;
    return 0;
}

int xmpp_sm_enable(char *out, size_t cap, size_t *len)
{
    return s_fixed(out, cap, "<enable xmlns=\"" XMPP_NS_SM "\"/>", len);
}

int xmpp_sm_request(char *out, size_t cap, size_t *len)
{
    return s_fixed(out, cap, "<r xmlns=\"" XMPP_NS_SM "\"/>", len);
}

int xmpp_sm_answer(char *out, size_t cap, uint32_t h, size_t *len)
{
    size_t at = 0;
    if (s_put(out, cap, &at, "<a xmlns=\"" XMPP_NS_SM "\" h=\"%u\"/>", (unsigned)h) < 0)
        return ES_RESOURCE_EXHAUSTED;
    *len = at;
    return 0;
}

static int s_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copy the value of attribute `name` in the start tag tag[n] into v. */
static void s_attr(const char *tag, size_t n, const char *name, char v[XMPP_ATTR_MAX])
{
    size_t nl = strlen(name);
    v[0] = '\0';
    for (size_t i = 1; i + nl + 2 < n; i++) {
        if (!s_space(tag[i - 1]) || memcmp(tag + i, name, nl) != 0 || tag[i + nl] != '=')
            continue;
        char q = tag[i + nl + 1];
        if (q != '"' && q != '\'')
            continue;
        size_t j = i + nl + 2, k = 0;
        while (j < n && tag[j] != q && k + 1 < XMPP_ATTR_MAX)
            v[k++] = tag[j++];
        v[k] = '\0';
        return;
    }
}

int xmpp_parse(const char *data, size_t len, xmpp_elem_t *e)
{
    size_t i = 0;
    memset(e, 0, sizeof *e);
    for (;;) {
        while (i < len && s_space(data[i]))
            i++;
        if (i + 1 < len && data[i] == '<' && data[i + 1] == '?') { /* <?xml ...?> */
            const char *end = memmem(data + i, len - i, "?>", 2);
            if (!end)
                return ES_INVALID_ARGUMENT;
            i = (size_t)(end - data) + 2;
            continue;
        }
        break;
    }
    if (i + 1 >= len || data[i] != '<')
        return ES_INVALID_ARGUMENT;
    size_t s = ++i;
    while (i < len && !s_space(data[i]) && data[i] != '>' && data[i] != '/')
        i++;
    if (i == s)
        return ES_INVALID_ARGUMENT;
    const char *name = data + s;
    size_t nl = i - s;
    const char *colon = memchr(name, ':', nl);
    if (colon) { /* prefix:local */
        nl -= (size_t)(colon + 1 - name);
        name = colon + 1;
    }
    static const struct {
        const char *name;
        xmpp_kind kind;
    } names[] = {{"open", XMPP_OPEN},       {"close", XMPP_CLOSE},     {"features", XMPP_FEATURES},
                 {"success", XMPP_SUCCESS}, {"failure", XMPP_FAILURE}, {"iq", XMPP_IQ},
                 {"message", XMPP_MESSAGE}, {"presence", XMPP_PRESENCE}, {"error", XMPP_ERROR},
                 {"enabled", XMPP_SM_ENABLED}, {"failed", XMPP_SM_FAILED}, {"r", XMPP_SM_REQUEST},
                 {"a", XMPP_SM_ACK}};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strlen(names[k].name) == nl && memcmp(names[k].name, name, nl) == 0)
            e->kind = names[k].kind;
    const char *gt = memchr(data + i, '>', len - i);
    size_t tag_len = gt ? (size_t)(gt - (data + s)) : len - s;
    s_attr(data + s - 1, tag_len + 1, "type", e->type);
    s_attr(data + s - 1, tag_len + 1, "id", e->id);
    char h[XMPP_ATTR_MAX];
    s_attr(data + s - 1, tag_len + 1, "h", h);
    uint64_t v = 0;
    size_t k = 0;
    for (; h[k] >= '0' && h[k] <= '9' && v <= UINT32_MAX; k++)
        v = v * 10 + (uint64_t)(h[k] - '0');
    if (k > 0 && h[k] == '\0' && v <= UINT32_MAX) {
        e->has_h = 1;
        e->h = (uint32_t)v;
    }
    return 0;
}

int xmpp_has_ns(const char *data, size_t len, const char *ns)
{
    char pat[160];
    for (int q = 0; q < 2; q++) {
        int n = snprintf(pat, sizeof pat, "xmlns=%c%s%c", q ? '\'' : '"', ns, q ? '\'' : '"');
        if (n > 0 && (size_t)n < sizeof pat && memmem(data, len, pat, (size_t)n))
            return 1;
    }
    return 0;
}
