/*
 * test_proxy_http.c: the proxy's HTTP/1.1 head parser and body framer:
 * grammar, bounds, target forms, field roles, and the smuggling cases of
 * docs/egress-attacks.md (29 request smuggling, 30 Upgrade/h2c,
 * 32 huge heads) at the parser level.  test_proxy.c runs the same cases
 * through the proxy.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "proxy_http.h"
#include "unit.h"

static struct proxy_http_head H;

/* Finds the head end (byte by byte when slow) and parses a request. */
static int
req_parse(const char *s, size_t len, int slow, const char **why)
{
	size_t scanned = 0, head_len = 0, n;
	int r = PETRI_ERR_TRUNCATED;

	*why = NULL;
	if (slow) {
		for (n = 1; n <= len; n++) {
			r = proxy_http_head_end(s, n, &scanned, &head_len, why);
			if (r != PETRI_ERR_TRUNCATED)
				break;
		}
	} else
		r = proxy_http_head_end(s, len, &scanned, &head_len, why);
	if (r != 0)
		return r;
	return proxy_http_request_parse(s, head_len, &H, why);
}

static int
req(const char *s)
{
	const char *why;
	int a, b;

	a = req_parse(s, strlen(s), 0, &why);
	b = req_parse(s, strlen(s), 1, &why);
	if (a != b) {
		fprintf(stderr, "  fast %d != slow %d for %s\n", a, b, s);
		return 99;
	}
	return a;
}

static int
resp(const char *s, const char *method)
{
	size_t scanned = 0, head_len = 0;
	const char *why;
	int r;

	r = proxy_http_head_end(s, strlen(s), &scanned, &head_len, &why);
	if (r != 0)
		return r;
	return proxy_http_response_parse(s, head_len, method, &H, &why);
}

/* The value of field i of H in s, as a NUL-terminated copy. */
static const char *
val(const char *s, int i)
{
	static char out[1024];
	size_t n;

	if (i < 0)
		return "(absent)";
	n = H.fields[i].value.len < sizeof(out) - 1 ? H.fields[i].value.len
	                                            : sizeof(out) - 1;
	memcpy(out, s + H.fields[i].value.off, n);
	out[n] = '\0';
	return out;
}

static int
span_is(const char *s, struct proxy_http_span sp, const char *t)
{
	return sp.len == strlen(t) && memcmp(s + sp.off, t, sp.len) == 0;
}

/*
 * Feeds body bytes in pieces of step bytes (0: all at once) into a framer
 * for H; appends the payload to out.  Returns the framer's final result;
 * *rest is how many input bytes were left after the body.
 */
static int
body(const char *in, size_t len, size_t step, struct buf *out, size_t *rest)
{
	struct proxy_http_body b;
	size_t pos = 0, lim, used, off, dlen;
	const char *why;
	int r = 0;

	proxy_http_body_init(&b, &H);
	if (proxy_http_body_done(&b)) {
		*rest = len;
		return 1;
	}
	while (pos < len) {
		lim = step == 0 || len - pos < step ? len - pos : step;
		r = proxy_http_body_feed(&b, (const unsigned char *)in + pos,
		    lim, &used, &off, &dlen, &why);
		if (r < 0)
			return r;
		if (dlen > 0 && buf_append(out, in + pos + off, dlen) != 0)
			return -100;
		pos += used;
		if (r == 1)
			break;
	}
	*rest = len - pos;
	return r;
}

static void
test_request_origin_form(void)
{
	const char *s = "GET /v1/x?a=1 HTTP/1.1\r\nHost: api.example.test\r\n"
	                "User-Agent:  curl/8  \r\nAccept: */*\r\n\r\n";

	CHECK_EQ(req(s), 0);
	CHECK_EQ(H.head_len, strlen(s));
	CHECK_EQ(H.form, PROXY_HTTP_FORM_ORIGIN);
	CHECK(span_is(s, H.method, "GET"));
	CHECK(span_is(s, H.path, "/v1/x?a=1"));
	CHECK_EQ(H.minor, 1);
	CHECK_EQ(H.nfields, 3);
	CHECK_EQ(H.host, 0);
	CHECK_STR(val(s, 0), "api.example.test");
	CHECK_STR(val(s, 1), "curl/8");
	CHECK_EQ(H.fields[0].flags, PROXY_HTTP_F_HOST);
	CHECK_EQ(H.fields[1].flags, 0);
	CHECK_EQ(H.framing, PROXY_HTTP_BODY_NONE);
	CHECK_EQ(H.flags, 0);
	CHECK_EQ(proxy_http_field_find(&H, s, "user-agent", 0), 1);
	CHECK_EQ(proxy_http_field_find(&H, s, "user-agent", 2), -1);
}

static void
test_request_absolute_form(void)
{
	const char *s = "POST http://Api.Example.Test:8080/v1/x?q HTTP/1.1\r\n"
	                "Host: api.example.test:8080\r\nContent-Length: 3\r\n"
	                "\r\n";
	const char *t = "GET HTTPS://a.test HTTP/1.1\r\nHost: a.test\r\n\r\n";
	const char *u =
	    "GET http://a.test?x=1 HTTP/1.1\r\nHost: a.test\r\n\r\n";

	CHECK_EQ(req(s), 0);
	CHECK_EQ(H.form, PROXY_HTTP_FORM_ABSOLUTE);
	CHECK_EQ(H.scheme, PROXY_HTTP_SCHEME_HTTP);
	CHECK(span_is(s, H.authority, "Api.Example.Test:8080"));
	CHECK(span_is(s, H.path, "/v1/x?q"));
	CHECK_EQ(H.framing, PROXY_HTTP_BODY_LENGTH);
	CHECK_EQ(H.content_length, 3);
	CHECK_EQ(req(t), 0);
	CHECK_EQ(H.scheme, PROXY_HTTP_SCHEME_HTTPS);
	CHECK(span_is(t, H.authority, "a.test"));
	CHECK_EQ(H.path.len, 0);
	CHECK_EQ(req(u), 0);
	CHECK(span_is(u, H.authority, "a.test"));
	CHECK(span_is(u, H.path, "?x=1"));
	CHECK_EQ(req("GET ftp://a.test/ HTTP/1.1\r\nHost: a\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("GET http:/a.test/ HTTP/1.1\r\nHost: a\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(
	    req("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(
	    req("GET a.test:80 HTTP/1.1\r\nHost: a\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(req("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(
	    req("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n"), PETRI_ERR_INVAL);
}

static void
test_request_connect(void)
{
	const char *s = "CONNECT api.example.test:443 HTTP/1.1\r\n"
	                "Host: api.example.test:443\r\n"
	                "Proxy-Authorization: Basic c2I6dA==\r\n\r\n";

	CHECK_EQ(req(s), 0);
	CHECK_EQ(H.form, PROXY_HTTP_FORM_AUTHORITY);
	CHECK(span_is(s, H.authority, "api.example.test:443"));
	CHECK(H.fields[1].flags & PROXY_HTTP_F_PROXY);
	CHECK_EQ(req("CONNECT http://a.test:443/ HTTP/1.1\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("CONNECT /x HTTP/1.1\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(req("CONNECT a.test:443?x HTTP/1.1\r\n\r\n"), PETRI_ERR_INVAL);
	/* Host presence is the caller's rule: CONNECT may omit it. */
	CHECK_EQ(req("CONNECT [::1]:443 HTTP/1.1\r\n\r\n"), 0);
	CHECK_EQ(H.host, -1);
}

static void
test_request_line_grammar(void)
{
	CHECK_EQ(req("GET  /x HTTP/1.1\r\nHost: a\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x  HTTP/1.1\r\nHost: a\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x HTTP/1.1 \r\nHost: a\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(req("GET\t/x HTTP/1.1\r\nHost: a\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(req("G(T /x HTTP/1.1\r\nHost: a\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(
	    req("GET /x\x7f HTTP/1.1\r\nHost: a\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(
	    req("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x http/1.1\r\nHost: a\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(
	    req("GET /x HTTP/1.2\r\nHost: a\r\n\r\n"), PETRI_ERR_UNSUPPORTED);
	CHECK_EQ(
	    req("GET /x HTTP/2.0\r\nHost: a\r\n\r\n"), PETRI_ERR_UNSUPPORTED);
	CHECK_EQ(req("GET /x HTTP/1.10\r\nHost: a\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x\r\nHost: a\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(req("ABCDEFGHIJKLMNOPQRSTU /x HTTP/1.1\r\nHost: a\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(
	    req("TRACE /x HTTP/1.1\r\nHost: a\r\n\r\n"), PETRI_ERR_UNSUPPORTED);
	/* HTTP/1.0 closes after the exchange. */
	CHECK_EQ(req("GET /x HTTP/1.0\r\nHost: a\r\n\r\n"), 0);
	CHECK_EQ(H.minor, 0);
	CHECK(H.flags & PROXY_HTTP_M_CLOSE);
}

static void
test_line_endings(void)
{
	const char *why;
	size_t sc = 0, hl = 0;

	CHECK_EQ(req("GET /x HTTP/1.1\nHost: a\n\n"), PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x HTTP/1.1\r\nHost: a\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x HTTP/1.1\r\nHost: a\r\n\n"), PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x HTTP/1.1\r\nHost: a\rb\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(
	    req("\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n"), PETRI_ERR_INVAL);
	/* A CR at the end of the data waits for its LF. */
	CHECK_EQ(proxy_http_head_end("GET / HTTP/1.1\r", 15, &sc, &hl, &why),
	    PETRI_ERR_TRUNCATED);
	CHECK_EQ(sc, 14);
	CHECK_EQ(proxy_http_head_end(
	             "GET / HTTP/1.1\r\nA: b\r\n\r\n", 24, &sc, &hl, &why),
	    0);
	CHECK_EQ(hl, 24);
}

/* Case 15 at the parser: CR, LF, NUL and controls in client values. */
static void
test_field_values(void)
{
	const char nul[] = "GET /x HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
	const char *why;

	CHECK_EQ(req_parse(nul, sizeof(nul) - 1, 0, &why), PETRI_ERR_INVAL);
	CHECK_EQ(req_parse(nul, sizeof(nul) - 1, 1, &why), PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x HTTP/1.1\r\nHost: a\r\nX: a\x01"
	             "b\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x HTTP/1.1\r\nHost : a\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x HTTP/1.1\r\nHo(st: a\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x HTTP/1.1\r\n: a\r\n\r\n"), PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x HTTP/1.1\r\nHost\r\n\r\n"), PETRI_ERR_INVAL);
	/* obs-text, tabs and empty values are fine */
	CHECK_EQ(req("GET /x HTTP/1.1\r\nHost: a\r\nX: \xc3\xa9\tz\r\n"
	             "Y:\r\n\r\n"),
	    0);
	CHECK_EQ(H.fields[2].value.len, 0);
	CHECK_EQ(req("GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x HTTP/1.1\r\nhost: a\r\nHOST: a\r\n\r\n"),
	    PETRI_ERR_INVAL);
}

/* Case 32 at the parser: every part of a head is bounded. */
static void
test_bounds(void)
{
	struct buf b;
	size_t i;

	buf_init(&b, 4 * PROXY_HTTP_HEAD_MAX);
	CHECK(buf_append_str(&b, "GET /x HTTP/1.1\r\nHost: a\r\nX: ") == 0);
	for (i = 0; i < PROXY_HTTP_LINE_MAX; i++)
		CHECK(buf_append(&b, "a", 1) == 0);
	CHECK(buf_append_str(&b, "\r\n\r\n") == 0);
	CHECK_EQ(req(buf_cstr(&b)), PETRI_ERR_TOOBIG);

	buf_reset(&b);
	CHECK(buf_append_str(&b, "GET /x HTTP/1.1\r\nHost: a\r\n") == 0);
	for (i = 0; i < PROXY_HTTP_FIELDS_MAX; i++)
		CHECK(buf_printf(&b, "X-%zu: 1\r\n", i) == 0);
	CHECK(buf_append_str(&b, "\r\n") == 0);
	CHECK_EQ(req(buf_cstr(&b)), PETRI_ERR_TOOBIG);

	buf_reset(&b);
	CHECK(buf_append_str(&b, "GET /x HTTP/1.1\r\nHost: a\r\n") == 0);
	for (i = 0; i < PROXY_HTTP_FIELDS_MAX - 1; i++)
		CHECK(buf_printf(&b, "X-%zu: 1\r\n", i) == 0);
	CHECK(buf_append_str(&b, "\r\n") == 0);
	CHECK_EQ(req(buf_cstr(&b)), 0);

	/* a head that never ends is refused at PROXY_HTTP_HEAD_MAX */
	buf_reset(&b);
	CHECK(buf_append_str(&b, "GET /x HTTP/1.1\r\n") == 0);
	while (b.len < PROXY_HTTP_HEAD_MAX + 100)
		CHECK(buf_append_str(&b, "X-Long: 0123456789abcdef\r\n") == 0);
	CHECK_EQ(req(buf_cstr(&b)), PETRI_ERR_TOOBIG);
	buf_free(&b);
}

/* Case 29: ambiguous framing is refused. */
static void
test_smuggling_framing(void)
{
	/* CL.TE and TE.CL */
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n"
	             "Transfer-Encoding: chunked\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	             "chunked\r\nContent-Length: 3\r\n\r\n"),
	    PETRI_ERR_INVAL);
	/* double and differing Content-Length, lists, signs, spaces */
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
	             "Content-Length: 3\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
	             "Content-Length: 4\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n"
	             "\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n"
	             "\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n"
	             "\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n"
	             "\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n"
	             "\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: "
	             "99999999999999999999\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: "
	             "9999999999999999999\r\n\r\n"),
	    PETRI_ERR_TOOBIG);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n"
	             "\r\n"),
	    0);
	CHECK_EQ(H.content_length, 7);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length:\t5 \r\n"
	             "\r\n"),
	    0);
	CHECK_EQ(H.content_length, 5);
	/* Transfer-Encoding in HTTP/1.0 */
	CHECK_EQ(req("POST /x HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: "
	             "chunked\r\n\r\n"),
	    PETRI_ERR_INVAL);
	/* '_' spellings that CGI-style upstreams fold into '-' */
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nContent_Length: 5\r\n"
	             "\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: "
	             "chunked\r\n\r\n"),
	    PETRI_ERR_INVAL);
}

/* Case 29: TE.TE obfuscations. */
static void
test_smuggling_te(void)
{
	static const char *const bad[] = {"chunked, chunked", "gzip, chunked",
	    "chunked, identity", "identity", "xchunked", "chunked;q=1", "chunk",
	    "\"chunked\"", "chunked chunked", "", NULL};
	char s[256];
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		snprintf(s, sizeof(s),
		    "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: %s\r\n"
		    "\r\n",
		    bad[i]);
		if (req(s) != PETRI_ERR_UNSUPPORTED) {
			fprintf(stderr, "  accepted TE \"%s\"\n", bad[i]);
			CHECK(0);
		}
	}
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	             "chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	             "chunked\r\nTransfer-encoding: identity\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : "
	             "chunked\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\x0b"
	             "chunked\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	             "chunked\r\n\r\n"),
	    0);
	CHECK_EQ(H.framing, PROXY_HTTP_BODY_CHUNKED);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	             "ChUnKeD\t\r\n\r\n"),
	    0);
	CHECK_EQ(H.framing, PROXY_HTTP_BODY_CHUNKED);
	CHECK(H.fields[1].flags & PROXY_HTTP_F_FRAMING);
	CHECK(H.fields[1].flags & PROXY_HTTP_F_HOP);
}

/* Hop-by-hop fields, Connection options, Proxy-*, Expect. */
static void
test_field_roles(void)
{
	const char *s = "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close, "
	                "X-Secret ,, keep-alive\r\nX-Secret: 1\r\nx-secret: 2"
	                "\r\nKeep-Alive: 5\r\nTE: trailers\r\nTrailer: X\r\n"
	                "Proxy-Authorization: Basic x\r\nProxy-Foo: y\r\n"
	                "Proxy_Authorization: z\r\nX-Keep: 1\r\n\r\n";
	size_t i;

	CHECK_EQ(req(s), 0);
	CHECK(H.flags & PROXY_HTTP_M_CLOSE);
	CHECK_EQ(H.nfields, 11);
	for (i = 1; i < 7; i++)
		CHECK(H.fields[i].flags & PROXY_HTTP_F_HOP);
	for (i = 7; i < 10; i++)
		CHECK(H.fields[i].flags & PROXY_HTTP_F_PROXY);
	CHECK_EQ(H.fields[10].flags, 0);
	CHECK_EQ(req("GET /x HTTP/1.1\r\nHost: a\r\nConnection: a b\r\n\r\n"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(req("GET /x HTTP/1.1\r\nHost: a\r\nConnection: a,b,c,d,e,f,g,"
	             "h,i,j,k,l,m,n,o,p,q\r\n\r\n"),
	    PETRI_ERR_TOOBIG);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
	             "Content-Length: 1\r\n\r\n"),
	    0);
	CHECK(H.flags & PROXY_HTTP_M_CONTINUE);
	CHECK(H.fields[1].flags & PROXY_HTTP_F_EXPECT);
	CHECK_EQ(
	    req("POST /x HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n"), 0);
	CHECK(H.flags & PROXY_HTTP_M_EXPECT_BAD);
}

/* Case 30: Upgrade, WebSocket, h2c and the HTTP/2 preface. */
static void
test_upgrade(void)
{
	CHECK_EQ(req("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
	             "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
	             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"),
	    0);
	CHECK(H.flags & PROXY_HTTP_M_UPGRADE);
	CHECK_EQ(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, "
	             "HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAA"
	             "BkAAQCAAAAAAIAAAAA\r\n\r\n"),
	    0);
	CHECK(H.flags & PROXY_HTTP_M_UPGRADE);
	CHECK_EQ(req("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n"), 0);
	CHECK(H.flags & PROXY_HTTP_M_UPGRADE);
	CHECK_EQ(
	    req("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n"), 0);
	CHECK(H.flags & PROXY_HTTP_M_UPGRADE);
	CHECK_EQ(
	    req("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), PETRI_ERR_UNSUPPORTED);
}

static void
test_response(void)
{
	const char *s = "HTTP/1.1 302 Found\r\nLocation: https://evil.test/\r\n"
	                "Content-Length: 0\r\n\r\n";

	CHECK_EQ(resp(s, "GET"), 0);
	CHECK_EQ(H.status, 302);
	CHECK(span_is(s, H.reason, "Found"));
	CHECK_EQ(H.framing, PROXY_HTTP_BODY_LENGTH);
	CHECK_EQ(resp("HTTP/1.1 200\r\nContent-Length: 5\r\n\r\n", "HEAD"), 0);
	CHECK_EQ(H.framing, PROXY_HTTP_BODY_NONE);
	CHECK_EQ(H.reason.len, 0);
	CHECK_EQ(resp("HTTP/1.1 204 No Content\r\n\r\n", "GET"), 0);
	CHECK_EQ(H.framing, PROXY_HTTP_BODY_NONE);
	CHECK_EQ(resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
	             "GET"),
	    0);
	CHECK_EQ(H.framing, PROXY_HTTP_BODY_NONE);
	CHECK_EQ(resp("HTTP/1.1 100 Continue\r\n\r\n", "GET"), 0);
	CHECK_EQ(H.framing, PROXY_HTTP_BODY_NONE);
	CHECK_EQ(resp("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", "GET"), 0);
	CHECK_EQ(H.framing, PROXY_HTTP_BODY_CLOSE);
	CHECK_EQ(resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", NULL), 0);
	CHECK(H.flags & PROXY_HTTP_M_CLOSE);
	CHECK_EQ(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	              "Connection: close, X-A\r\nX-A: 1\r\nProxy-Authenticate: "
	              "Basic\r\n\r\n",
	             NULL),
	    0);
	CHECK_EQ(H.framing, PROXY_HTTP_BODY_CHUNKED);
	CHECK(H.fields[2].flags & PROXY_HTTP_F_HOP);
	CHECK(H.fields[3].flags & PROXY_HTTP_F_PROXY);
	/* the upstream's framing is as strictly read as the client's */
	CHECK_EQ(resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	              "Transfer-Encoding: chunked\r\n\r\n",
	             "GET"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	              "Content-Length: 2\r\n\r\n",
	             "GET"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n"
	              "\r\n",
	             "GET"),
	    PETRI_ERR_UNSUPPORTED);
	CHECK_EQ(resp("HTTP/1.1 200 OK\nContent-Length: 1\n\n", "GET"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(resp("HTTP/1.1 20 OK\r\n\r\n", "GET"), PETRI_ERR_INVAL);
	CHECK_EQ(resp("HTTP/1.1 099 OK\r\n\r\n", "GET"), PETRI_ERR_INVAL);
	CHECK_EQ(resp("HTTP/1.1 200OK\r\n\r\n", "GET"), PETRI_ERR_INVAL);
	CHECK_EQ(resp("HTTP/1.1 200 O\x01K\r\n\r\n", "GET"), PETRI_ERR_INVAL);
	CHECK_EQ(resp("HTTP/2 200 OK\r\n\r\n", "GET"), PETRI_ERR_INVAL);
	CHECK_EQ(resp("ICY 200 OK\r\n\r\n", "GET"), PETRI_ERR_INVAL);
}

static void
test_body_length(void)
{
	const char *s =
	    "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
	struct buf out;
	size_t rest = 0;

	buf_init(&out, 1 << 20);
	CHECK_EQ(req(s), 0);
	/* pipelining: the next request follows in the same read */
	CHECK_EQ(body("helloGET / HTTP/1.1\r\n", 21, 0, &out, &rest), 1);
	CHECK_EQ(out.len, 5);
	CHECK(memcmp(out.data, "hello", 5) == 0);
	CHECK_EQ(rest, 16);
	buf_reset(&out);
	CHECK_EQ(body("helloGET", 8, 1, &out, &rest), 1);
	CHECK_EQ(out.len, 5);
	CHECK_EQ(rest, 3);
	buf_reset(&out);
	CHECK_EQ(body("hel", 3, 0, &out, &rest), 0);
	CHECK_EQ(rest, 0);
	buf_free(&out);
}

static void
test_body_chunked(void)
{
	static const char in[] = "5;name=\"va l\"\r\nhello\r\n"
	                         "0A\r\n0123456789\r\n"
	                         "1 ;x\r\n!\r\n"
	                         "0\r\nX-Trailer: t\r\nY: u\r\n\r\n"
	                         "GET / HTTP/1.1\r\n";
	struct buf out;
	size_t rest = 0, step;

	buf_init(&out, 1 << 20);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	             "chunked\r\n\r\n"),
	    0);
	for (step = 0; step < 8; step++) {
		buf_reset(&out);
		CHECK_EQ(body(in, sizeof(in) - 1, step, &out, &rest), 1);
		CHECK_EQ(out.len, 16);
		CHECK(memcmp(out.data, "hello0123456789!", 16) == 0);
		CHECK_EQ(rest, 16);
	}
	buf_free(&out);
}

/* Case 29: malformed chunked framing and chunk-size overflows. */
static void
test_body_chunked_bad(void)
{
	static const struct {
		const char *in;
		int want;
	} cases[] = {
	    {"x\r\n", PETRI_ERR_INVAL},
	    {"-5\r\n", PETRI_ERR_INVAL},
	    {"0x5\r\n", PETRI_ERR_INVAL},
	    {" 5\r\n", PETRI_ERR_INVAL},
	    {"5 \r\n", PETRI_ERR_INVAL},
	    {"5\n", PETRI_ERR_INVAL},
	    {"5\r\nhello\n", PETRI_ERR_INVAL},
	    {"5\r\nhello!\r\n", PETRI_ERR_INVAL},
	    {"3\r\nhello\r\n", PETRI_ERR_INVAL},
	    {"5;a\x01\r\n", PETRI_ERR_INVAL},
	    {"5;a\nhello", PETRI_ERR_INVAL},
	    {"10000000000000000\r\n", PETRI_ERR_TOOBIG},
	    {"ffffffffffffffff\r\n", PETRI_ERR_TOOBIG},
	    {"00000000000000001\r\n", PETRI_ERR_TOOBIG},
	    {"0\r\n X: folded\r\n\r\n", PETRI_ERR_INVAL},
	    {"0\r\nX: a\x00\r\n\r\n", PETRI_ERR_INVAL},
	    {"0\r\nX: a\n\r\n", PETRI_ERR_INVAL},
	    {"0\r\n\r\r", PETRI_ERR_INVAL},
	};
	struct buf out, big;
	size_t i, rest, len;
	int r;

	buf_init(&out, 1 << 20);
	buf_init(&big, 1 << 20);
	CHECK_EQ(req("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	             "chunked\r\n\r\n"),
	    0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = strlen(cases[i].in);
		if (i == 15)
			len = 13; /* holds a NUL */
		buf_reset(&out);
		r = body(cases[i].in, len, 0, &out, &rest);
		if (r != cases[i].want) {
			fprintf(stderr, "  chunked case %zu: %d, want %d\n", i,
			    r, cases[i].want);
			CHECK(0);
		}
		buf_reset(&out);
		CHECK_EQ(body(cases[i].in, len, 1, &out, &rest), cases[i].want);
	}
	/* bounded chunk extensions and trailers */
	CHECK(buf_append_str(&big, "5;") == 0);
	while (big.len <= PROXY_HTTP_CHUNK_LINE_MAX)
		CHECK(buf_append_str(&big, "x=yyyyyyyy;") == 0);
	CHECK_EQ(
	    body((char *)big.data, big.len, 0, &out, &rest), PETRI_ERR_TOOBIG);
	buf_reset(&big);
	CHECK(buf_append_str(&big, "0\r\n") == 0);
	while (big.len <= PROXY_HTTP_TRAILER_MAX + 100)
		CHECK(buf_append_str(&big, "X-T: 0123456789\r\n") == 0);
	CHECK_EQ(
	    body((char *)big.data, big.len, 0, &out, &rest), PETRI_ERR_TOOBIG);
	buf_free(&out);
	buf_free(&big);
}

static void
test_body_close_and_eof(void)
{
	struct proxy_http_body b;
	size_t used, off, dlen;
	const char *why;

	CHECK_EQ(resp("HTTP/1.1 200 OK\r\n\r\n", "GET"), 0);
	proxy_http_body_init(&b, &H);
	CHECK_EQ(proxy_http_body_feed(&b, (const unsigned char *)"abc", 3,
	             &used, &off, &dlen, &why),
	    0);
	CHECK_EQ(dlen, 3);
	CHECK_EQ(proxy_http_body_eof(&b), 0);
	CHECK(proxy_http_body_done(&b));

	CHECK_EQ(
	    resp("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", "GET"), 0);
	proxy_http_body_init(&b, &H);
	CHECK_EQ(proxy_http_body_feed(&b, (const unsigned char *)"abc", 3,
	             &used, &off, &dlen, &why),
	    0);
	CHECK_EQ(proxy_http_body_eof(&b), PETRI_ERR_TRUNCATED);
	CHECK_EQ(
	    resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "GET"), 0);
	proxy_http_body_init(&b, &H);
	CHECK(proxy_http_body_done(&b));
}

/* Pipelined requests: each head is found and parsed on its own. */
static void
test_pipelining(void)
{
	const char *s =
	    "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
	    "POST /b HTTP/1.1\r\nHost: b\r\nContent-Length: 2\r\n\r\n"
	    "hi"
	    "GET /c HTTP/1.1\r\nHost: c\r\n\r\n";
	size_t off = 0, scanned, hl, rest = 0;
	struct buf out;
	const char *why;
	int n = 0;

	buf_init(&out, 1024);
	while (off < strlen(s)) {
		scanned = 0;
		CHECK_EQ(proxy_http_head_end(
		             s + off, strlen(s) - off, &scanned, &hl, &why),
		    0);
		CHECK_EQ(proxy_http_request_parse(s + off, hl, &H, &why), 0);
		off += hl;
		CHECK_EQ(body(s + off, strlen(s) - off, 0, &out, &rest), 1);
		off = strlen(s) - rest;
		n++;
		if (n > 3)
			break;
	}
	CHECK_EQ(n, 3);
	CHECK_EQ(out.len, 2);
	buf_free(&out);
}

int
main(void)
{
	UNIT_RUN(test_request_origin_form);
	UNIT_RUN(test_request_absolute_form);
	UNIT_RUN(test_request_connect);
	UNIT_RUN(test_request_line_grammar);
	UNIT_RUN(test_line_endings);
	UNIT_RUN(test_field_values);
	UNIT_RUN(test_bounds);
	UNIT_RUN(test_smuggling_framing);
	UNIT_RUN(test_smuggling_te);
	UNIT_RUN(test_field_roles);
	UNIT_RUN(test_upgrade);
	UNIT_RUN(test_response);
	UNIT_RUN(test_body_length);
	UNIT_RUN(test_body_chunked);
	UNIT_RUN(test_body_chunked_bad);
	UNIT_RUN(test_body_close_and_eof);
	UNIT_RUN(test_pipelining);
	return UNIT_DONE();
}
