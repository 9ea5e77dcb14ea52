/*
 * xmpp.h - the XMPP stanzas espace-load speaks to an XMPP server over
 * websockets (RFC 7395: subprotocol "xmpp", one complete top-level element
 * per text message, <open/> and <close/> of the framing namespace instead
 * of a stream), and the little it reads of what comes back.
 *
 * It is a load client's XMPP, not a general one: it sends a fixed set of
 * stanzas (open, SASL PLAIN auth, resource bind, initial presence, chat
 * message; XEP-0198 enable, ack request and answer) and reads an incoming
 * element's name (prefix stripped), its
 * `type` and `id` attributes, and whether a namespace appears in it. It
 * does not build a tree, resolve prefixes or unescape entities.
 *
 * Encoders write into a caller buffer of `cap` bytes: 0 and *len (the
 * bytes, no NUL counted; a NUL follows when it fits), or
 * ES_RESOURCE_EXHAUSTED when it does not fit, ES_INVALID_ARGUMENT for a
 * name that is not plain (letters, digits, '.', '-', '_' only). Text
 * content (the message body) is escaped (& < > " ').
 * THREAD SAFETY: pure functions.
 */
#ifndef ES_LOAD_XMPP_H
#define ES_LOAD_XMPP_H

#include <stddef.h>
#include <stdint.h>

#define XMPP_SUBPROTOCOL "xmpp"
#define XMPP_NS_FRAMING "urn:ietf:params:xml:ns:xmpp-framing"
#define XMPP_NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define XMPP_NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define XMPP_NS_SM "urn:xmpp:sm:3" /* XEP-0198 stream management */
#define XMPP_ATTR_MAX 64 /* longest type / id value kept (longer: truncated) */

/* <open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="DOMAIN" version="1.0"/> */
int xmpp_open(char *out, size_t cap, const char *domain, size_t *len);

/* <auth mechanism="PLAIN">base64("\0" user "\0" password)</auth> (RFC 6120
 * section 6, RFC 4616). The password may hold any byte but NUL. */
int xmpp_auth_plain(char *out, size_t cap, const char *user, const char *password, size_t *len);

/* <iq type="set" id="ID"><bind xmlns="...xmpp-bind"><resource>RES</resource></bind></iq> */
int xmpp_bind(char *out, size_t cap, const char *id, const char *resource, size_t *len);

/* <presence/> (initial presence) */
int xmpp_presence(char *out, size_t cap, size_t *len);

/* <message to="USER@DOMAIN/RESOURCE" type="chat" id="ID"><body>BODY</body></message>
 * (resource NULL: the bare JID); body[blen] is escaped. */
int xmpp_message(char *out, size_t cap, const char *user, const char *domain,
                 const char *resource, const char *id, const uint8_t *body, size_t blen,
                 size_t *len);

/* XEP-0198: <enable xmlns="urn:xmpp:sm:3"/>, <r .../> (ask the server how
 * many of our stanzas it handled) and <a ... h="H"/> (we handled H). */
int xmpp_sm_enable(char *out, size_t cap, size_t *len);
int xmpp_sm_request(char *out, size_t cap, size_t *len);
int xmpp_sm_answer(char *out, size_t cap, uint32_t h, size_t *len);

/* What an incoming element is (its local name). */
typedef enum xmpp_kind {
    XMPP_OTHER = 0,
    XMPP_OPEN,      /* <open/> of the framing */
    XMPP_CLOSE,     /* <close/> of the framing */
    XMPP_FEATURES,  /* <stream:features> */
    XMPP_SUCCESS,   /* SASL success */
    XMPP_FAILURE,   /* SASL failure */
    XMPP_IQ,
    XMPP_MESSAGE,
    XMPP_PRESENCE,
    XMPP_ERROR,     /* <stream:error> */
    XMPP_SM_ENABLED, /* XEP-0198 <enabled/> */
    XMPP_SM_FAILED,  /* XEP-0198 <failed/> */
    XMPP_SM_REQUEST, /* XEP-0198 <r/>: answer with xmpp_sm_answer */
    XMPP_SM_ACK      /* XEP-0198 <a h=.../>: h of our stanzas handled */
} xmpp_kind;

typedef struct xmpp_elem {
    xmpp_kind kind;
    char type[XMPP_ATTR_MAX]; /* the `type` attribute of the top element, "" if none */
    char id[XMPP_ATTR_MAX];   /* its `id` attribute, "" if none */
    int has_h;                /* an `h` attribute, decimal, below 2^32 */
    uint32_t h;
} xmpp_elem_t;

/* Read the top element of data[len] (leading whitespace and an XML
 * declaration skipped): 0, or ES_INVALID_ARGUMENT when it does not start
 * with an element (`<name`). Attributes are read in the start tag only. */
int xmpp_parse(const char *data, size_t len, xmpp_elem_t *e);

/* 1 when data[len] mentions the namespace ns (xmlns="ns" or xmlns='ns'). */
int xmpp_has_ns(const char *data, size_t len, const char *ns);

#endif
