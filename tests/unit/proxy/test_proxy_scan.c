/*
 * test_proxy_scan.c: the scanner that masks a secret an upstream echoes
 * (docs/egress-attacks.md, case 14): every form, across any read boundary, with
 * lengths kept, and no delay for bytes that cannot begin a secret.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "proxy_scan.h"
#include "unit.h"

#define SECRET "sk_live_CANARY/7f3a+9c1e=5b2d"

/* Feeds in pieces of step bytes (0: all at once), flushes; out is "". */
static void
scan(const char *secret, const char *in, size_t step, struct buf *out,
    uint64_t *redactions)
{
	struct proxy_secmem mem;
	struct proxy_scan s;
	size_t len = strlen(in), pos, n;

	proxy_secmem_init(&mem);
	proxy_scan_init(&s, &mem);
	buf_reset(out);
	CHECK_EQ(proxy_scan_add_secret(&s, secret, strlen(secret)), 0);
	for (pos = 0; pos < len; pos += n) {
		n = step == 0 || len - pos < step ? len - pos : step;
		CHECK_EQ(proxy_scan_feed(
		             &s, (const unsigned char *)in + pos, n, out),
		    0);
	}
	CHECK_EQ(proxy_scan_flush(&s, out), 0);
	CHECK(buf_cstr(out) != NULL);
	*redactions = s.redactions;
	proxy_scan_free(&s);
	proxy_secmem_free(&mem);
}

static void
test_forms(void)
{
	char b64[256], b64u[256], in[2048], url[256];
	unsigned char basic[128];
	struct buf out;
	uint64_t red;
	size_t step;

	buf_init(&out, 1 << 20);
	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)SECRET,
	    strlen(SECRET), sodium_base64_VARIANT_ORIGINAL);
	/* "user:" shifts the secret to another base64 alignment */
	memcpy(basic, "user:" SECRET, strlen("user:" SECRET));
	sodium_bin2base64(b64u, sizeof(b64u), basic, strlen("user:" SECRET),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(url, sizeof(url), "%s", "sk_live_CANARY%2f7f3a%2b9c1e%3d5b2d");
	snprintf(in, sizeof(in),
	    "raw=%s;b64=%s;basic=%s;url=%s;URL=sk_live_CANARY%%2F7f3a%%2B9c1e"
	    "%%3D5b2d;end",
	    SECRET, b64, b64u, url);
	for (step = 0; step < 9; step++) {
		scan(SECRET, in, step, &out, &red);
		CHECK_EQ(out.len, strlen(in));
		CHECK(strstr((char *)out.data, "CANARY") == NULL);
		CHECK(strstr((char *)out.data, b64) == NULL);
		CHECK(strstr((char *)out.data, "raw=****") != NULL);
		CHECK(strstr((char *)out.data, ";end") != NULL);
		CHECK(red >= 5);
	}
	buf_free(&out);
}

static void
test_no_false_masking(void)
{
	const char *in = "data: {\"token\": \"sk_live_other\"}\n\n";
	struct buf out;
	uint64_t red;

	buf_init(&out, 1 << 20);
	scan(SECRET, in, 3, &out, &red);
	CHECK_STR((char *)out.data, in);
	CHECK_EQ(red, 0);
	/* forms shorter than PROXY_SCAN_MIN are not searched */
	scan("ab", "ababab", 1, &out, &red);
	CHECK_STR((char *)out.data, "ababab");
	buf_free(&out);
}

/* A streamed event is not held back unless it ends like the secret. */
static void
test_streaming_holdback(void)
{
	struct proxy_secmem mem;
	struct proxy_scan s;
	struct buf out;
	const char *ev = "data: {\"delta\": \"hello\"}\n\n";

	buf_init(&out, 1 << 20);
	proxy_secmem_init(&mem);
	proxy_scan_init(&s, &mem);
	CHECK_EQ(proxy_scan_add_secret(&s, SECRET, strlen(SECRET)), 0);
	CHECK_EQ(
	    proxy_scan_feed(&s, (const unsigned char *)ev, strlen(ev), &out),
	    0);
	CHECK_EQ(out.len, strlen(ev)); /* all of it, at once */
	buf_reset(&out);
	CHECK_EQ(
	    proxy_scan_feed(&s, (const unsigned char *)"data: sk_li", 11, &out),
	    0);
	CHECK_EQ(out.len, 6); /* "sk_li" may begin the secret: held */
	CHECK_EQ(
	    proxy_scan_feed(&s,
	        (const unsigned char *)"ve_CANARY/7f3a+9c1e=5b2d\n", 25, &out),
	    0);
	CHECK_EQ(proxy_scan_flush(&s, &out), 0);
	CHECK_EQ(out.len, 36);
	CHECK(memmem(out.data, out.len, "CANARY", 6) == NULL);
	CHECK_EQ(s.redactions, 1);
	proxy_scan_free(&s);
	proxy_secmem_free(&mem);
	buf_free(&out);
}

static void
test_head_redact(void)
{
	struct proxy_scan s;
	char head[] = "HTTP/1.1 200 OK\r\nX-Echo: Bearer " SECRET "\r\n\r\n";

	proxy_scan_init(&s, NULL);
	CHECK_EQ(proxy_scan_add_secret(&s, SECRET, strlen(SECRET)), 0);
	CHECK_EQ(proxy_scan_redact(&s, (unsigned char *)head, strlen(head)), 1);
	CHECK(strstr(head, "X-Echo: Bearer *****") != NULL);
	CHECK(strstr(head, "\r\n\r\n") != NULL);
	CHECK_EQ(proxy_scan_add_secret(&s, "", 0), PETRI_ERR_INVAL);
	proxy_scan_free(&s);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	UNIT_RUN(test_forms);
	UNIT_RUN(test_no_false_masking);
	UNIT_RUN(test_streaming_holdback);
	UNIT_RUN(test_head_redact);
	return UNIT_DONE();
}
