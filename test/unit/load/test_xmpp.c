/* test_xmpp.c - clients/load/xmpp_wire.c: the XMPP stanzas espace-load sends
 * over websockets (RFC 7395) and what it reads of the server's elements. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "clients/load/xmpp.h"
#include "proto/status.h"

static void s_expect(const char *got, size_t len, const char *want)
{
    assert_int_equal(len, strlen(want));
    assert_memory_equal(got, want, len);
}

static void test_encode(void **state)
{
    (void)state;
    char b[1024];
    size_t n = 0;
    assert_int_equal(xmpp_open(b, sizeof b, "localhost", &n), 0);
    s_expect(b, n, "<open xmlns=\"urn:ietf:params:xml:ns:xmpp-framing\" to=\"localhost\" "
                   "version=\"1.0\"/>");
    /* RFC 4616: base64("\0el1\0pw") = "AGVsMQBwdw==" */
    assert_int_equal(xmpp_auth_plain(b, sizeof b, "el1", "pw", &n), 0);
    s_expect(b, n, "<auth xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\" mechanism=\"PLAIN\">"
                   "AGVsMQBwdw==</auth>");
    /* one and two padding characters */
    assert_int_equal(xmpp_auth_plain(b, sizeof b, "a", "bc", &n), 0);
    s_expect(b, n, "<auth xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\" mechanism=\"PLAIN\">"
                   "AGEAYmM=</auth>");
    assert_int_equal(xmpp_auth_plain(b, sizeof b, "ab", "c", &n), 0);
    s_expect(b, n, "<auth xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\" mechanism=\"PLAIN\">"
                   "AGFiAGM=</auth>");
    assert_int_equal(xmpp_bind(b, sizeof b, "bind", "load", &n), 0);
    s_expect(b, n, "<iq xmlns=\"jabber:client\" type=\"set\" id=\"bind\"><bind "
                   "xmlns=\"urn:ietf:params:xml:ns:xmpp-bind\"><resource>load</resource>"
                   "</bind></iq>");
    assert_int_equal(xmpp_presence(b, sizeof b, &n), 0);
    s_expect(b, n, "<presence xmlns=\"jabber:client\"/>");
    assert_int_equal(xmpp_message(b, sizeof b, "el0", "localhost", "load", "m1",
                                  (const uint8_t *)"a<b&'\">", 7, &n),
                     0);
    s_expect(b, n, "<message xmlns=\"jabber:client\" to=\"el0@localhost/load\" type=\"chat\" "
                   "id=\"m1\"><body>a&lt;b&amp;&apos;&quot;&gt;</body></message>");
    assert_int_equal(xmpp_sm_enable(b, sizeof b, &n), 0);
    s_expect(b, n, "<enable xmlns=\"urn:xmpp:sm:3\"/>");
    assert_int_equal(xmpp_sm_request(b, sizeof b, &n), 0);
    s_expect(b, n, "<r xmlns=\"urn:xmpp:sm:3\"/>");
    assert_int_equal(xmpp_sm_answer(b, sizeof b, 4294967295u, &n), 0);
    s_expect(b, n, "<a xmlns=\"urn:xmpp:sm:3\" h=\"4294967295\"/>");
    assert_int_equal(xmpp_sm_answer(b, 10, 1, &n), ES_RESOURCE_EXHAUSTED);
    assert_int_equal(xmpp_message(b, sizeof b, "el0", "localhost", NULL, "m1", NULL, 0, &n), 0);
    s_expect(b, n, "<message xmlns=\"jabber:client\" to=\"el0@localhost\" type=\"chat\" "
                   "id=\"m1\"><body></body></message>");
}

static void test_encode_refuses(void **state)
{
    (void)state;
    char b[1024];
    size_t n = 0;
    assert_int_equal(xmpp_open(b, sizeof b, "a\"b", &n), ES_INVALID_ARGUMENT);
    assert_int_equal(xmpp_open(b, sizeof b, "", &n), ES_INVALID_ARGUMENT);
    assert_int_equal(xmpp_auth_plain(b, sizeof b, "a b", "pw", &n), ES_INVALID_ARGUMENT);
    assert_int_equal(xmpp_bind(b, sizeof b, "id", "<r>", &n), ES_INVALID_ARGUMENT);
    assert_int_equal(xmpp_message(b, sizeof b, "el0", "x/y", NULL, "m", NULL, 0, &n),
                     ES_INVALID_ARGUMENT);
    /* too small: every size short of the whole stanza */
    size_t whole = 0;
    assert_int_equal(xmpp_open(b, sizeof b, "localhost", &whole), 0);
    for (size_t cap = 0; cap <= whole; cap++)
        assert_int_equal(xmpp_open(b, cap, "localhost", &n), ES_RESOURCE_EXHAUSTED);
    assert_int_equal(xmpp_message(b, 80, "el0", "localhost", "load", "m1",
                                  (const uint8_t *)"<<<<<<<<<<<<<<<<<<<<", 20, &n),
                     ES_RESOURCE_EXHAUSTED);
}

static void test_parse(void **state)
{
    (void)state;
    xmpp_elem_t e;
    /* what Prosody 0.12 sends, element by element */
    const char *open = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0' "
                       "id='x' from='localhost' xml:lang='en'/>";
    assert_int_equal(xmpp_parse(open, strlen(open), &e), 0);
    assert_int_equal(e.kind, XMPP_OPEN);
    assert_string_equal(e.id, "x");
    const char *feat = "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>"
                       "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind>"
                       "</stream:features>";
    assert_int_equal(xmpp_parse(feat, strlen(feat), &e), 0);
    assert_int_equal(e.kind, XMPP_FEATURES);
    assert_int_equal(xmpp_has_ns(feat, strlen(feat), XMPP_NS_BIND), 1);
    assert_int_equal(xmpp_has_ns(feat, strlen(feat), XMPP_NS_SASL), 0);
    const char *ok = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
    assert_int_equal(xmpp_parse(ok, strlen(ok), &e), 0);
    assert_int_equal(e.kind, XMPP_SUCCESS);
    const char *iq = "<iq id='bind' type='result'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                     "<jid>el0@localhost/load</jid></bind></iq>";
    assert_int_equal(xmpp_parse(iq, strlen(iq), &e), 0);
    assert_int_equal(e.kind, XMPP_IQ);
    assert_string_equal(e.id, "bind");
    assert_string_equal(e.type, "result");
    /* attributes of the start tag only, with either quote, after a declaration */
    const char *msg = "  <?xml version='1.0'?>\n<message from=\"el1@localhost/load\" "
                      "type=\"error\"><error type='cancel'/></message>";
    assert_int_equal(xmpp_parse(msg, strlen(msg), &e), 0);
    assert_int_equal(e.kind, XMPP_MESSAGE);
    assert_string_equal(e.type, "error");
    assert_string_equal(e.id, "");
    const char *body = "<message><body>type='x'</body></message>";
    assert_int_equal(xmpp_parse(body, strlen(body), &e), 0);
    assert_string_equal(e.type, "");
    /* "xid=" is not "id=" */
    const char *xid = "<iq xid='no' id='yes'/>";
    assert_int_equal(xmpp_parse(xid, strlen(xid), &e), 0);
    assert_string_equal(e.id, "yes");
    const char *other = "<stream:x xmlns='urn:example'/>";
    assert_int_equal(xmpp_parse(other, strlen(other), &e), 0);
    assert_int_equal(e.kind, XMPP_OTHER);
    /* XEP-0198 as Prosody sends it */
    const char *en = "<enabled xmlns='urn:xmpp:sm:3' max='600'/>";
    assert_int_equal(xmpp_parse(en, strlen(en), &e), 0);
    assert_int_equal(e.kind, XMPP_SM_ENABLED);
    assert_int_equal(e.has_h, 0);
    const char *ack = "<a xmlns='urn:xmpp:sm:3' h='42'/>";
    assert_int_equal(xmpp_parse(ack, strlen(ack), &e), 0);
    assert_int_equal(e.kind, XMPP_SM_ACK);
    assert_int_equal(e.has_h, 1);
    assert_int_equal(e.h, 42);
    const char *req = "<r xmlns='urn:xmpp:sm:3'/>";
    assert_int_equal(xmpp_parse(req, strlen(req), &e), 0);
    assert_int_equal(e.kind, XMPP_SM_REQUEST);
    const char *sf = "<failed xmlns='urn:xmpp:sm:3'/>";
    assert_int_equal(xmpp_parse(sf, strlen(sf), &e), 0);
    assert_int_equal(e.kind, XMPP_SM_FAILED);
    const char *hs[] = {"<a h='4294967296'/>", "<a h='-1'/>", "<a h=''/>", "<a h='1x'/>",
                        "<a h='99999999999999999999999'/>"};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
        assert_int_equal(xmpp_parse(hs[i], strlen(hs[i]), &e), 0);
        assert_int_equal(e.has_h, 0);
    }
    const char *hmax = "<a h='4294967295'/>";
    assert_int_equal(xmpp_parse(hmax, strlen(hmax), &e), 0);
    assert_int_equal(e.has_h, 1);
    assert_int_equal(e.h, 4294967295u);
    const char *se = "<stream:error><conflict/></stream:error>";
    assert_int_equal(xmpp_parse(se, strlen(se), &e), 0);
    assert_int_equal(e.kind, XMPP_ERROR);
}

static void test_parse_refuses(void **state)
{
    (void)state;
    xmpp_elem_t e;
    const char *bad[] = {"", "   ", "text", "<", "< a/>", "<?xml version='1.0'", "<>"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(xmpp_parse(bad[i], strlen(bad[i]), &e), ES_INVALID_ARGUMENT);
    /* an attribute value longer than kept is cut, never overflows; an
     * unterminated tag or value stays inside the buffer */
    char big[300];
    memset(big, 'a', sizeof big);
    memcpy(big, "<iq id='", 8);
    assert_int_equal(xmpp_parse(big, sizeof big, &e), 0);
    assert_int_equal(strlen(e.id), XMPP_ATTR_MAX - 1);
    const char *cut = "<message type='cha";
    assert_int_equal(xmpp_parse(cut, strlen(cut), &e), 0);
    assert_string_equal(e.type, "cha");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
