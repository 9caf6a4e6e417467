/* test_preview_http.c: the preview gateway's request rules. */
#include <string.h>

#include "buf.h"
#include "preview_http.h"
#include "unit.h"

#define TOK "0123456789abcdef0123456789abcdef01234567"

static void
test_host_token(void)
{
	char t[PREVIEW_TOKEN_HEX + 1];
	const char *ok[] = {TOK ".localhost", TOK ".localhost:8081",
	    "0123456789ABCDEF0123456789abcdef01234567.LocalHost:1"};
	const char *bad[] = {"localhost:8081", TOK "localhost",
	    TOK ".localhost:", TOK ".localhost:123456", TOK ".localhost:80a",
	    TOK ".evil.localhost", "x" TOK ".localhost",
	    "0123456789abcdef0123456789abcdef0123456g.localhost",
	    TOK ".localhost.", TOK "0.localhost", ""};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		memset(t, 0, sizeof(t));
		CHECK(preview_host_token(
		          ok[i], strlen(ok[i]), "localhost", t) == 0);
		CHECK_STR(t, TOK);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(preview_host_token(bad[i], strlen(bad[i]), "localhost",
		          t) == PETRI_ERR_NOTFOUND);
	CHECK(preview_host_token(TOK ".p.example.org", strlen(TOK) + 14,
	          "p.example.org", t) == 0);
	CHECK(preview_host_token(TOK ".localhost", strlen(TOK) + 10,
	          "p.example.org", t) == PETRI_ERR_NOTFOUND);
}

static void
test_path_redact(void)
{
	char out[PREVIEW_PATH_MAX + 1], big[2000];
	const char *in[][2] = {{"/", "/"}, {"/a/b", "/a/b"},
	    {"/a?x=1&y=2", "/a?x&y"}, {"/a?x&y=secret", "/a?x&y"},
	    {"/?=v", "/?"}, {"/a?k=v=w&z", "/a?k&z"}, {"/a#frag", "/a"},
	    {"/a?q=1?2", "/a?q"}};
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		CHECK(preview_path_redact(in[i][0], strlen(in[i][0]), out,
		          sizeof(out)) == strlen(in[i][1]));
		CHECK_STR(out, in[i][1]);
	}
	memset(big, 'a', sizeof(big));
	CHECK(preview_path_redact(big, sizeof(big), out, sizeof(out)) ==
	    PREVIEW_PATH_MAX);
	CHECK(preview_path_redact(big, sizeof(big), out, 5) == 4);
}

static int
parse(const char *s, struct proxy_http_head *h)
{
	size_t scanned = 0, hl;

	if (proxy_http_head_end(s, strlen(s), &scanned, &hl, NULL) != 0)
		return -1;
	return proxy_http_request_parse(s, hl, h, NULL);
}

static struct proxy_http_head h;

static void
test_request_head(void)
{
	const char *req =
	    "POST /x?y=1 HTTP/1.1\r\n"
	    "Host: " TOK ".localhost:8081\r\n"
	    "Authorization: Bearer petri_secret\r\n"
	    "Cookie: a=b\r\n"
	    "Referer: http://" TOK ".localhost:8081/page\r\n"
	    "Origin: "
	    "http://ffff456789abcdef0123456789abcdef01234567.localhost\r\n"
	    "X-Forwarded-For: 10.0.0.1\r\nForwarded: for=x\r\nX-Real-IP: y\r\n"
	    "Connection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\n"
	    "Proxy-Authorization: Basic eA==\r\n"
	    "Content-Length: 4\r\n\r\n";
	struct buf out;
	char *s;

	CHECK(parse(req, &h) == 0);
	buf_init(&out, 65536);
	CHECK(preview_request_head(req, &h, "172.18.0.5:8000",
	          PREVIEW_FRAME_LENGTH, 0, &out) == 0);
	s = buf_cstr(&out);
	CHECK(s != NULL &&
	    strncmp(s,
	        "POST /x?y=1 HTTP/1.1\r\n"
	        "Host: 172.18.0.5:8000\r\n",
	        45) == 0);
	CHECK(strstr(s, TOK) == NULL);
	CHECK(strstr(s, "ffff4567") == NULL); /* another preview's origin */
	CHECK(strstr(s, "petri_secret") == NULL);
	CHECK(strstr(s, "Proxy-Authorization") == NULL);
	CHECK(strstr(s, "10.0.0.1") == NULL && strstr(s, "for=x") == NULL &&
	    strstr(s, "X-Real-IP") == NULL);
	CHECK(strstr(s, "X-Hop") == NULL && strstr(s, "Keep-Alive: 5") == NULL);
	CHECK(strstr(s, "Cookie: a=b\r\n") != NULL);
	CHECK(strstr(s, "Referer: http://172.18.0.5:8000/page\r\n") != NULL);
	CHECK(strstr(s, "Content-Length: 4\r\n") != NULL);
	CHECK(strstr(s, "Connection: keep-alive\r\n\r\n") != NULL);
	CHECK(!preview_is_websocket(req, &h));
	buf_free(&out);
}

static void
test_websocket(void)
{
	const char *ws =
	    "GET /ws HTTP/1.1\r\nHost: " TOK ".localhost\r\n"
	    "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
	    "Sec-WebSocket-Key: abc\r\n\r\n";
	const char *h2c = "GET / HTTP/1.1\r\nHost: " TOK ".localhost\r\n"
	                  "Upgrade: h2c\r\nConnection: Upgrade\r\n\r\n";
	const char *nopt = "GET / HTTP/1.1\r\nHost: " TOK ".localhost\r\n"
	                   "Upgrade: websocket\r\n\r\n";
	struct buf out;
	char *s;

	CHECK(parse(ws, &h) == 0);
	CHECK(preview_is_websocket(ws, &h));
	buf_init(&out, 65536);
	CHECK(preview_request_head(
	          ws, &h, "10.0.0.2:80", PREVIEW_FRAME_NONE, 1, &out) == 0);
	s = buf_cstr(&out);
	CHECK(s != NULL && strstr(s, "Sec-WebSocket-Key: abc\r\n") != NULL);
	CHECK(s != NULL &&
	    strstr(s, "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n") !=
	        NULL);
	buf_free(&out);
	CHECK(parse(h2c, &h) == 0);
	CHECK(!preview_is_websocket(h2c, &h));
	CHECK(parse(nopt, &h) == 0);
	CHECK(!preview_is_websocket(nopt, &h));
}

static void
test_response_head(void)
{
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	                   "Keep-Alive: timeout=5\r\nConnection: keep-alive\r\n"
	                   "Set-Cookie: s=1\r\n\r\n";
	size_t scanned = 0, hl;
	struct buf out;
	char *s;

	CHECK(
	    proxy_http_head_end(resp, strlen(resp), &scanned, &hl, NULL) == 0);
	CHECK(proxy_http_response_parse(resp, hl, "GET", &h, NULL) == 0);
	buf_init(&out, 65536);
	CHECK(preview_response_head(resp, &h, PREVIEW_FRAME_CHUNKED, 1, &out) ==
	    0);
	s = buf_cstr(&out);
	CHECK(s != NULL &&
	    strcmp(s,
	        "HTTP/1.1 200 OK\r\nSet-Cookie: s=1\r\n"
	        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n") ==
	        0);
	buf_free(&out);
	/* a bounded output: refused, never cut */
	buf_init(&out, 20);
	CHECK(preview_response_head(resp, &h, PREVIEW_FRAME_LENGTH, 0, &out) ==
	    PETRI_ERR_TOOBIG);
	buf_free(&out);
}

static void
test_set_cookie(void)
{
	const char *resp = "HTTP/1.1 200 OK\r\n"
	                   "Set-Cookie: a=1; Domain=localhost; Path=/\r\n"
	                   "Set-Cookie: b=2;domain=.example.org;HttpOnly\r\n"
	                   "Set-Cookie: c=3; Domainx=1; Secure\r\n"
	                   "Set-Cookie: domain=4; DOMAIN = x\r\n"
	                   "Content-Length: 0\r\n\r\n";
	size_t scanned = 0, hl;
	struct buf out;
	char *s;

	CHECK(
	    proxy_http_head_end(resp, strlen(resp), &scanned, &hl, NULL) == 0);
	CHECK(proxy_http_response_parse(resp, hl, "GET", &h, NULL) == 0);
	buf_init(&out, 65536);
	CHECK(preview_response_head(resp, &h, PREVIEW_FRAME_LENGTH, 0, &out) ==
	    0);
	s = buf_cstr(&out);
	CHECK(s != NULL && strstr(s, "Set-Cookie: a=1; Path=/\r\n") != NULL);
	CHECK(s != NULL && strstr(s, "Set-Cookie: b=2; HttpOnly\r\n") != NULL);
	CHECK(s != NULL &&
	    strstr(s, "Set-Cookie: c=3; Domainx=1; Secure\r\n") != NULL);
	CHECK(s != NULL && strstr(s, "Set-Cookie: domain=4\r\n") != NULL);
	CHECK(s != NULL && strstr(s, "localhost") == NULL &&
	    strstr(s, "example.org") == NULL);
	buf_free(&out);
}

int
main(void)
{
	UNIT_RUN(test_host_token);
	UNIT_RUN(test_path_redact);
	UNIT_RUN(test_request_head);
	UNIT_RUN(test_websocket);
	UNIT_RUN(test_response_head);
	UNIT_RUN(test_set_cookie);
	return UNIT_DONE();
}
