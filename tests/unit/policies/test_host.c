/*
 * test_host.c: host canonicalisation, authorities and patterns (attack
 * case 7 of docs/egress-attacks.md: look-alike hosts match canonically only).
 */
#include <string.h>

#include "host.h"
#include "unit.h"

/* Canonical text of s, or "!" followed by nothing when refused. */
static const char *
canon(const char *s)
{
	static struct host h;

	if (host_canon(s, strlen(s), &h, NULL) != 0)
		return "!";
	return h.name;
}

static int
canon_err(const char *s)
{
	struct host h;

	return host_canon(s, strlen(s), &h, NULL);
}

/* 1 when host text s matches pattern text p (both must parse). */
static int
match(const char *p, const char *s)
{
	struct host_pattern hp;
	struct host h;

	if (host_pattern_parse(p, strlen(p), &hp, NULL) != 0)
		return -1;
	if (host_canon(s, strlen(s), &h, NULL) != 0)
		return -2;
	return host_pattern_match(&hp, &h);
}

static int
pattern_err(const char *p)
{
	struct host_pattern hp;

	return host_pattern_parse(p, strlen(p), &hp, NULL);
}

static void
test_canon_names(void)
{
	char long_label[80], long_name[300];
	const char *why = NULL;
	struct host h;
	size_t i;

	CHECK_STR(canon("api.stripe.com"), "api.stripe.com");
	CHECK_STR(canon("API.STRIPE.COM."), "api.stripe.com");
	CHECK_STR(canon("Api.Stripe.Com"), "api.stripe.com");
	CHECK_STR(canon("xn--80ak6aa92e.com"), "xn--80ak6aa92e.com");
	CHECK_STR(canon("XN--80AK6AA92E.COM"), "xn--80ak6aa92e.com");
	CHECK_STR(canon("a-b.c0.d"), "a-b.c0.d");
	CHECK_STR(canon("single"), "single");
	CHECK_STR(canon("0.example"), "0.example");
	CHECK_STR(canon("example.0x1g"), "example.0x1g");
	CHECK_EQ(host_canon("api.stripe.com", 14, &h, NULL), 0);
	CHECK_EQ(h.kind, HOST_KIND_NAME);
	/* refused */
	CHECK_STR(canon(""), "!");
	CHECK_STR(canon("."), "!");
	CHECK_STR(canon("a..b"), "!");
	CHECK_STR(canon(".a.b"), "!");
	CHECK_STR(canon("a.b.."), "!");
	CHECK_STR(canon("-a.b"), "!");
	CHECK_STR(canon("a-.b"), "!");
	CHECK_STR(canon("a.b-"), "!");
	CHECK_STR(canon("a_b.example"), "!");
	CHECK_STR(canon("a b.example"), "!");
	CHECK_STR(canon("a/b.example"), "!");
	CHECK_STR(canon("user@example.com"), "!");
	CHECK_STR(canon("example.com:443"), "!");
	CHECK_STR(canon("xn--.com"), "!");
	CHECK_STR(canon("*.example.com"), "!");
	CHECK_STR(canon("example.123"), "!");
	CHECK_STR(canon("1.2.3.4.5"), "!");
	CHECK_STR(canon("example.0x1f"), "!");
	CHECK_STR(canon("1.2.3.08"), "!");
	CHECK_EQ(host_canon("a\0b.com", 7, &h, &why), PETRI_ERR_INVAL);
	CHECK(why != NULL);
	/* Raw UTF-8 (homograph defence): "аpple.com" with a Cyrillic a */
	CHECK_EQ(host_canon("\xd0\xb0pple.com", 10, &h, &why), PETRI_ERR_INVAL);
	CHECK(why != NULL && strstr(why, "A-label") != NULL);
	CHECK_EQ(canon_err("b\xc3\xbc"
	                   "cher.example"),
	    PETRI_ERR_INVAL);
	/* underscore has its own message */
	CHECK_EQ(host_canon("a_b.example", 11, &h, &why), PETRI_ERR_INVAL);
	CHECK(why != NULL && strchr(why, '_') != NULL);
	/* Lengths: label 63 ok, 64 not; name 253 ok, 254 not. */
	memset(long_label, 'a', sizeof(long_label));
	memcpy(long_label + 63, ".com", 5);
	CHECK_EQ(canon_err(long_label), 0);
	memset(long_label, 'a', sizeof(long_label));
	memcpy(long_label + 64, ".com", 5);
	CHECK_EQ(canon_err(long_label), PETRI_ERR_INVAL);
	for (i = 0; i < 253; i++)
		long_name[i] = (i % 2) ? '.' : 'a';
	long_name[252] = 'a';
	long_name[253] = '\0';
	CHECK_EQ(canon_err(long_name), 0);
	long_name[253] = '.';
	long_name[254] = '\0';
	CHECK_EQ(canon_err(long_name), 0); /* trailing dot stripped */
	long_name[254] = 'a';
	long_name[255] = '\0';
	CHECK_EQ(canon_err(long_name), PETRI_ERR_TOOBIG);
	long_name[255] = 'a';
	long_name[256] = '\0';
	CHECK_EQ(canon_err(long_name), PETRI_ERR_TOOBIG);
}

static void
test_canon_addrs(void)
{
	struct host h;

	CHECK_STR(canon("93.184.216.34"), "93.184.216.34");
	CHECK_STR(canon("1572395042"), "93.184.216.34");
	CHECK_STR(canon("0x5db8d822"), "93.184.216.34");
	CHECK_STR(canon("127.1"), "127.0.0.1");
	CHECK_STR(canon("127.0.0.1."), "127.0.0.1");
	CHECK_STR(canon("[::1]"), "::1");
	CHECK_STR(canon("::1"), "::1");
	CHECK_STR(canon("[2606:4700:0::1]"), "2606:4700::1");
	CHECK_STR(canon("[::FFFF:7F00:1]"), "::ffff:127.0.0.1");
	CHECK_EQ(host_canon("0xA9FEA9FE", 10, &h, NULL), 0);
	CHECK_EQ(h.kind, HOST_KIND_ADDR);
	CHECK_EQ(addr_classify(&h.addr), ADDR_CLASS_METADATA);
	CHECK_EQ(canon_err("[fe80::1%25eth0]"), PETRI_ERR_PERM);
	CHECK_EQ(canon_err("fe80::1%eth0"), PETRI_ERR_PERM);
	CHECK_EQ(canon_err("[1.2.3.4]"), PETRI_ERR_INVAL);
	CHECK_EQ(canon_err("[::1]x"), PETRI_ERR_INVAL);
	CHECK_EQ(canon_err("[::1"), PETRI_ERR_INVAL);
}

static void
test_authority(void)
{
	struct host h;
	uint16_t port;
	const char *why;

#define AUTH(s, sch)                                                           \
	host_authority_parse((s), strlen(s), (sch), &h, &port, &why)
	CHECK_EQ(AUTH("api.stripe.com", "https"), 0);
	CHECK_STR(h.name, "api.stripe.com");
	CHECK_EQ(port, 443);
	CHECK_EQ(AUTH("api.stripe.com", "http"), 0);
	CHECK_EQ(port, 80);
	CHECK_EQ(AUTH("API.STRIPE.COM.:443", "https"), 0);
	CHECK_STR(h.name, "api.stripe.com");
	CHECK_EQ(port, 443);
	CHECK_EQ(AUTH("api.stripe.com:80", "https"), 0);
	CHECK_EQ(port, 80);
	CHECK_EQ(AUTH("api.stripe.com:8443", NULL), 0);
	CHECK_EQ(port, 8443);
	CHECK_EQ(AUTH("[::1]:8443", NULL), 0);
	CHECK_STR(h.name, "::1");
	CHECK_EQ(port, 8443);
	CHECK_EQ(AUTH("[2606:4700::1]", "HTTPS"), 0);
	CHECK_EQ(port, 443);
	CHECK_EQ(AUTH("2852039166:80", NULL), 0);
	CHECK_STR(h.name, "169.254.169.254");
	CHECK_EQ(AUTH("a.example:65535", NULL), 0);
	CHECK_EQ(port, 65535);
	/* refused */
	CHECK_EQ(AUTH("api.stripe.com", NULL), PETRI_ERR_INVAL);
	CHECK(why != NULL);
	CHECK_EQ(AUTH("api.stripe.com", "ftp"), PETRI_ERR_INVAL);
	CHECK_EQ(AUTH("api.stripe.com:", "https"), PETRI_ERR_INVAL);
	CHECK_EQ(AUTH("api.stripe.com:0", "https"), PETRI_ERR_INVAL);
	CHECK_EQ(AUTH("api.stripe.com:0443", "https"), PETRI_ERR_INVAL);
	CHECK_EQ(AUTH("api.stripe.com:65536", "https"), PETRI_ERR_INVAL);
	CHECK_EQ(AUTH("api.stripe.com:443x", "https"), PETRI_ERR_INVAL);
	CHECK_EQ(AUTH("api.stripe.com:+443", "https"), PETRI_ERR_INVAL);
	CHECK_EQ(AUTH("api.stripe.com:100000", "https"), PETRI_ERR_INVAL);
	CHECK_EQ(AUTH("api.stripe.com@evil.net", "https"), PETRI_ERR_INVAL);
	CHECK_EQ(AUTH("user:pw@evil.net:443", "https"), PETRI_ERR_INVAL);
	CHECK_EQ(AUTH("::1:443", NULL), PETRI_ERR_INVAL);
	CHECK_EQ(AUTH("[::1]443", NULL), PETRI_ERR_INVAL);
	CHECK_EQ(AUTH("[fe80::1%25eth0]:443", NULL), PETRI_ERR_PERM);
	CHECK_EQ(AUTH(":443", NULL), PETRI_ERR_INVAL);
	CHECK_EQ(AUTH("", "https"), PETRI_ERR_INVAL);
#undef AUTH
	CHECK_EQ(host_scheme_port("http"), 80);
	CHECK_EQ(host_scheme_port("https"), 443);
	CHECK_EQ(host_scheme_port("ws"), 0);
	CHECK_EQ(host_scheme_port(NULL), 0);
}

/* Case 7: look-alike hosts against a rule for api.stripe.com. */
static void
test_lookalikes(void)
{
	CHECK_EQ(match("api.stripe.com", "api.stripe.com"), 1);
	CHECK_EQ(match("api.stripe.com", "API.STRIPE.COM."), 1);
	CHECK_EQ(match("api.stripe.com", "Api.Stripe.Com"), 1);
	CHECK_EQ(match("API.Stripe.com.", "api.stripe.com"), 1);
	CHECK_EQ(match("api.stripe.com", "api.stripe.com.evil.net"), 0);
	CHECK_EQ(match("api.stripe.com", "evilstripe.com"), 0);
	CHECK_EQ(match("api.stripe.com", "evil.api.stripe.com"), 0);
	CHECK_EQ(match("api.stripe.com", "api.stripe.co"), 0);
	CHECK_EQ(match("api.stripe.com", "api-stripe.com"), 0);
	CHECK_EQ(match("api.stripe.com", "stripe.com"), 0);
	/* IDN homograph: an A-label is a different string; raw UTF-8 refused */
	CHECK_EQ(match("apple.com", "xn--pple-43d.com"), 0);
	CHECK_EQ(match("apple.com", "\xd0\xb0pple.com"), -2);
	/* Ports never reach the host: a host with a port is not a host */
	CHECK_EQ(match("api.stripe.com", "api.stripe.com:443"), -2);
	/* IP literals match exact address patterns, in any spelling */
	CHECK_EQ(match("93.184.216.34", "1572395042"), 1);
	CHECK_EQ(match("[2606:4700::1]", "2606:4700:0:0::1"), 1);
	CHECK_EQ(match("2606:4700::1", "[2606:4700::1]"), 1);
	CHECK_EQ(match("93.184.216.34", "93.184.216.35"), 0);
	CHECK_EQ(match("*.example.com", "1.2.3.4"), 0);
	CHECK_EQ(match("::ffff:93.184.216.34", "93.184.216.34"), 0);
}

static void
test_wildcards(void)
{
	struct host_pattern hp;
	const char *why;

	CHECK_EQ(match("*.example.com", "a.example.com"), 1);
	CHECK_EQ(match("*.example.com", "a.b.example.com"), 1);
	CHECK_EQ(match("*.example.com", "A.EXAMPLE.COM."), 1);
	CHECK_EQ(match("*.example.com", "example.com"), 0);
	CHECK_EQ(match("*.example.com", "badexample.com"), 0);
	CHECK_EQ(match("*.example.com", "a.badexample.com"), 0);
	CHECK_EQ(match("*.example.com", "example.com.evil.net"), 0);
	CHECK_EQ(match("*.example.com", "a.example.com.evil.net"), 0);
	CHECK_EQ(match("*.example.com", "aexample.com"), 0);
	CHECK_EQ(match("*.EXAMPLE.com.", "x.example.com"), 1);
	CHECK_EQ(match("*.co.uk", "bank.co.uk"), 1); /* no public suffix list */
	/* Over-broad */
	CHECK_EQ(pattern_err("*"), PETRI_ERR_PERM);
	CHECK_EQ(host_pattern_parse("*.com", 5, &hp, &why), PETRI_ERR_PERM);
	CHECK(why != NULL && strstr(why, "broad") != NULL);
	CHECK_EQ(pattern_err("*.com."), PETRI_ERR_PERM);
	CHECK_EQ(pattern_err("*.internal"), PETRI_ERR_PERM);
	CHECK_EQ(pattern_err("*.localhost"), PETRI_ERR_PERM);
	CHECK_EQ(pattern_err("*.a.localhost"), PETRI_ERR_PERM);
	/* Malformed */
	CHECK_EQ(pattern_err("*."), PETRI_ERR_INVAL);
	CHECK_EQ(pattern_err("**.example.com"), PETRI_ERR_INVAL);
	CHECK_EQ(pattern_err("*.*.example.com"), PETRI_ERR_INVAL);
	CHECK_EQ(pattern_err("a.*.example.com"), PETRI_ERR_INVAL);
	CHECK_EQ(pattern_err("*example.com"), PETRI_ERR_INVAL);
	CHECK_EQ(pattern_err("api*.example.com"), PETRI_ERR_INVAL);
	CHECK_EQ(pattern_err("example.*"), PETRI_ERR_INVAL);
	CHECK_EQ(pattern_err("*.1.2.3.4"), PETRI_ERR_INVAL);
	CHECK_EQ(pattern_err("*.[::1]"), PETRI_ERR_INVAL);
	CHECK_EQ(pattern_err(""), PETRI_ERR_INVAL);
	/* Always-denied names cannot be allowed */
	CHECK_EQ(pattern_err("localhost"), PETRI_ERR_PERM);
	CHECK_EQ(pattern_err("LOCALHOST."), PETRI_ERR_PERM);
	CHECK_EQ(pattern_err("metadata.google.internal"), PETRI_ERR_PERM);
	CHECK_EQ(pattern_err("a.localhost"), PETRI_ERR_PERM);
	/* Canonical text */
	CHECK_EQ(host_pattern_parse("*.Example.COM.", 14, &hp, NULL), 0);
	CHECK_STR(hp.text, "*.example.com");
	CHECK_EQ(hp.wildcard, 1);
	CHECK_EQ(host_pattern_parse("[::1]", 5, &hp, NULL), 0);
	CHECK_STR(hp.text, "::1");
	CHECK_EQ(host_pattern_match(NULL, NULL), 0);
}

int
main(void)
{
	UNIT_RUN(test_canon_names);
	UNIT_RUN(test_canon_addrs);
	UNIT_RUN(test_authority);
	UNIT_RUN(test_lookalikes);
	UNIT_RUN(test_wildcards);
	return UNIT_DONE();
}
