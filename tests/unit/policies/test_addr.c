/*
 * test_addr.c: IP literal parsing and classification (docs/egress-attacks.md:
 * catalogue cases 21 to 24, 26): pure parsing, no packet is sent.
 */
#include <string.h>

#include "addr.h"
#include "unit.h"

/* Parses s; returns its class, or ADDR_CLASS_INVALID when it does not parse. */
static enum addr_class
cls(const char *s)
{
	struct addr a;

	if (addr_parse(s, strlen(s), &a) != 0)
		return ADDR_CLASS_INVALID;
	return addr_classify(&a);
}

/* 1 when s parses and is denied with no allow-list. */
static int
denied(const char *s, const struct addr_allowlist *al)
{
	struct addr a;

	if (addr_parse(s, strlen(s), &a) != 0)
		return -1;
	return addr_is_denied(&a, al);
}

/* Canonical text of s, or "" when it does not parse. */
static const char *
canon(const char *s)
{
	static char out[ADDR_TEXT_MAX];
	struct addr a;

	out[0] = '\0';
	if (addr_parse(s, strlen(s), &a) != 0 ||
	    addr_format(&a, out, sizeof(out)) != 0)
		out[0] = '\0';
	return out;
}

/* Case 21: metadata endpoints, always denied, never allow-listable. */
static void
test_metadata(void)
{
	struct addr_allowlist al;

	CHECK_EQ(cls("169.254.169.254"), ADDR_CLASS_METADATA);
	CHECK_EQ(cls("fd00:ec2::254"), ADDR_CLASS_METADATA);
	CHECK_EQ(cls("[fd00:ec2::254]"), ADDR_CLASS_METADATA);
	CHECK_EQ(cls("100.100.100.200"), ADDR_CLASS_METADATA);
	CHECK_EQ(cls("169.254.170.2"), ADDR_CLASS_METADATA);
	CHECK_EQ(cls("168.63.129.16"), ADDR_CLASS_METADATA);
	CHECK_EQ(cls("192.0.0.192"), ADDR_CLASS_METADATA);
	CHECK_EQ(cls("fd20:ce::254"), ADDR_CLASS_METADATA);
	CHECK_EQ(denied("169.254.169.254", NULL), 1);
	CHECK_EQ(denied("fd00:ec2::254", NULL), 1);
	CHECK_EQ(denied("100.100.100.200", NULL), 1);
	addr_allowlist_init(&al);
	CHECK_EQ(addr_allowlist_add(&al, "169.254.169.254"), PETRI_ERR_PERM);
	CHECK_EQ(addr_allowlist_add(&al, "fd00:ec2::254"), PETRI_ERR_PERM);
	CHECK_EQ(al.n, 0);
	/* Even forced into the list, metadata stays denied. */
	CHECK_EQ(addr_parse("169.254.169.254", 15, &al.v[0]), 0);
	al.n = 1;
	CHECK_EQ(denied("169.254.169.254", &al), 1);
}

/* Case 22: every IPv4 spelling of the same address. */
static void
test_v4_spellings(void)
{
	static const char *const meta[] = {
	    "2852039166",
	    "0xA9FEA9FE",
	    "0xa9fea9fe",
	    "0XA9FEA9FE",
	    "0251.0376.0251.0376",
	    "0251.254.169.254",
	    "169.254.43518",
	    "169.16689662",
	    "0xA9.0xFE.0xA9.0xFE",
	    "0xa9.254.0251.0xfe",
	    "169.254.169.254.",
	    "0x00000000A9FEA9FE",
	    "000000000000000000251.0376.0251.0376",
	    "025177524776",
	};
	size_t i;

	for (i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
		CHECK_EQ(cls(meta[i]), ADDR_CLASS_METADATA);
		CHECK_EQ(denied(meta[i], NULL), 1);
		CHECK_STR(canon(meta[i]), "169.254.169.254");
	}
	CHECK_STR(canon("127.1"), "127.0.0.1");
	CHECK_EQ(cls("127.1"), ADDR_CLASS_LOOPBACK);
	CHECK_STR(canon("0"), "0.0.0.0");
	CHECK_EQ(cls("0"), ADDR_CLASS_UNSPECIFIED);
	CHECK_EQ(denied("0", NULL), 1);
	CHECK_STR(canon("0x7f.1"), "127.0.0.1");
	CHECK_STR(canon("017700000001"), "127.0.0.1");
	CHECK_STR(canon("2130706433"), "127.0.0.1");
	CHECK_STR(canon("0x7f000001"), "127.0.0.1");
	CHECK_STR(canon("127.0.1"), "127.0.0.1");
	CHECK_STR(canon("10.1"), "10.0.0.1");
	CHECK_STR(canon("0x"), "0.0.0.0");
	CHECK_STR(canon("4294967295"), "255.255.255.255");
	/* Not addresses: out of range, bad digits, too many parts, junk. */
	CHECK_EQ(cls("4294967296"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("256.1.1.1"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("1.2.3.256"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("1.2.65536"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("1.16777216"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("08.1.1.1"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("0x1g.1.1.1"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("1.2.3.4.5"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("1..2.3"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls(".1.2.3"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("1.2.3.4.."), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("1.2.3.4 "), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("-1"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("+1"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("example.com"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls(""), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("."), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("[127.0.0.1]"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("99999999999999999999999"), ADDR_CLASS_INVALID);
}

/* Case 23: IPv6 forms and the IPv4 addresses they carry. */
static void
test_v6_embeddings(void)
{
	struct addr a;

	CHECK_EQ(cls("[::1]"), ADDR_CLASS_LOOPBACK);
	CHECK_EQ(cls("::1"), ADDR_CLASS_LOOPBACK);
	CHECK_EQ(cls("0:0:0:0:0:0:0:1"), ADDR_CLASS_LOOPBACK);
	CHECK_EQ(cls("::"), ADDR_CLASS_UNSPECIFIED);
	CHECK_EQ(cls("[::]"), ADDR_CLASS_UNSPECIFIED);
	/* IPv4-mapped, dotted and hex */
	CHECK_EQ(cls("::ffff:127.0.0.1"), ADDR_CLASS_LOOPBACK);
	CHECK_EQ(cls("::ffff:7f00:1"), ADDR_CLASS_LOOPBACK);
	CHECK_EQ(cls("[::FFFF:169.254.169.254]"), ADDR_CLASS_METADATA);
	CHECK_EQ(cls("::ffff:a9fe:a9fe"), ADDR_CLASS_METADATA);
	CHECK_EQ(cls("::ffff:10.0.0.1"), ADDR_CLASS_PRIVATE);
	CHECK_EQ(cls("0:0:0:0:0:ffff:192.168.1.1"), ADDR_CLASS_PRIVATE);
	CHECK_EQ(cls("::ffff:93.184.216.34"), ADDR_CLASS_PUBLIC);
	/* IPv4-compatible and SIIT */
	CHECK_EQ(cls("::127.0.0.1"), ADDR_CLASS_LOOPBACK);
	CHECK_EQ(cls("::a9fe:a9fe"), ADDR_CLASS_METADATA);
	CHECK_EQ(cls("::ffff:0:10.1.2.3"), ADDR_CLASS_PRIVATE);
	/* NAT64 well-known and local-use prefixes */
	CHECK_EQ(cls("64:ff9b::169.254.169.254"), ADDR_CLASS_METADATA);
	CHECK_EQ(cls("64:ff9b::7f00:1"), ADDR_CLASS_LOOPBACK);
	CHECK_EQ(cls("64:ff9b::a00:1"), ADDR_CLASS_PRIVATE);
	CHECK_EQ(cls("64:ff9b::5db8:d822"), ADDR_CLASS_PUBLIC);
	CHECK_EQ(cls("64:ff9b:1::a00:1"), ADDR_CLASS_PRIVATE);
	CHECK_EQ(cls("64:ff9b:1::5db8:d822"), ADDR_CLASS_RESERVED);
	CHECK_EQ(denied("64:ff9b:1::5db8:d822", NULL), 1);
	/* 6to4: the IPv4 address is bits 16-47 */
	CHECK_EQ(cls("2002:a9fe:a9fe::"), ADDR_CLASS_METADATA);
	CHECK_EQ(cls("2002:7f00:1::1"), ADDR_CLASS_LOOPBACK);
	CHECK_EQ(cls("2002:c0a8:101::1"), ADDR_CLASS_PRIVATE);
	CHECK_EQ(cls("2002:5db8:d822::1"), ADDR_CLASS_PUBLIC);
	/* Teredo: client address XOR-ed (127.0.0.1 ^ ff = 80ff:fffe) */
	CHECK_EQ(cls("2001:0:5db8:d822::80ff:fffe"), ADDR_CLASS_LOOPBACK);
	CHECK_EQ(cls("2001:0:5db8:d822::5601:5601"), ADDR_CLASS_METADATA);
	CHECK_EQ(cls("2001:0:5db8:d822::f5ff:fffe"), ADDR_CLASS_PRIVATE);
	/* ...and the server address counts too */
	CHECK_EQ(cls("2001:0:a00:1::a247:27dd"), ADDR_CLASS_PRIVATE);
	CHECK_EQ(cls("2001:0:5db8:d822::a247:27dd"), ADDR_CLASS_PUBLIC);
	/* Zone ids: parsed, flagged, denied even when allow-listed */
	CHECK_EQ(addr_parse("fe80::1%eth0", 12, &a), 0);
	CHECK_EQ(a.zoned, 1);
	CHECK_EQ(addr_is_denied(&a, NULL), 1);
	CHECK_EQ(addr_parse("[fe80::1%25eth0]", 16, &a), 0);
	CHECK_EQ(a.zoned, 1);
	CHECK_EQ(addr_is_denied(&a, NULL), 1);
	CHECK_EQ(addr_parse("2606:4700::1%1", 14, &a), 0);
	CHECK_EQ(addr_is_denied(&a, NULL), 1);
	CHECK_EQ(addr_parse("fe80::1%", 8, &a), PETRI_ERR_INVAL);
	CHECK_EQ(addr_parse("fe80::1%e/x", 11, &a), PETRI_ERR_INVAL);
	CHECK_EQ(cls("fe80::1"), ADDR_CLASS_LINK_LOCAL);
	CHECK_EQ(cls("febf::1"), ADDR_CLASS_LINK_LOCAL);
	/* Malformed IPv6 */
	CHECK_EQ(cls(":::"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("1::2::3"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("1:2:3:4:5:6:7"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("1:2:3:4:5:6:7:8:9"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("::1:2:3:4:5:6:7:8"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("12345::"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls(":1::"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("1:"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("::ffff:1.2.3"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("::ffff:01.2.3.4"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("::ffff:1.2.3.4:1"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("::ffff:0x7f.1"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("[::1"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("[]"), ADDR_CLASS_INVALID);
	CHECK_EQ(cls("g::1"), ADDR_CLASS_INVALID);
	/* Valid edge forms */
	CHECK_EQ(cls("1:2:3:4:5:6:7::"), ADDR_CLASS_RESERVED);
	CHECK_EQ(cls("::2:3:4:5:6:7:8"), ADDR_CLASS_RESERVED);
	CHECK_EQ(cls("2001:db8:1:2:3:4:1.2.3.4"), ADDR_CLASS_DOCUMENTATION);
}

/* Case 24 (and 26): private, CGNAT, reserved ranges and their edges. */
static void
test_ranges(void)
{
	static const struct {
		const char *a;
		enum addr_class c;
	} t[] = {
	    {"10.0.0.0", ADDR_CLASS_PRIVATE},
	    {"10.255.255.255", ADDR_CLASS_PRIVATE},
	    {"11.0.0.0", ADDR_CLASS_PUBLIC},
	    {"9.255.255.255", ADDR_CLASS_PUBLIC},
	    {"172.16.0.1", ADDR_CLASS_PRIVATE},
	    {"172.31.255.255", ADDR_CLASS_PRIVATE},
	    {"172.15.255.255", ADDR_CLASS_PUBLIC},
	    {"172.32.0.0", ADDR_CLASS_PUBLIC},
	    {"192.168.0.1", ADDR_CLASS_PRIVATE},
	    {"192.169.0.1", ADDR_CLASS_PUBLIC},
	    {"127.0.0.1", ADDR_CLASS_LOOPBACK},
	    {"127.255.255.254", ADDR_CLASS_LOOPBACK},
	    {"169.254.0.1", ADDR_CLASS_LINK_LOCAL},
	    {"100.64.0.1", ADDR_CLASS_CGNAT},
	    {"100.127.255.255", ADDR_CLASS_CGNAT},
	    {"100.63.255.255", ADDR_CLASS_PUBLIC},
	    {"100.128.0.0", ADDR_CLASS_PUBLIC},
	    {"224.0.0.1", ADDR_CLASS_MULTICAST},
	    {"239.255.255.250", ADDR_CLASS_MULTICAST},
	    {"255.255.255.255", ADDR_CLASS_BROADCAST},
	    {"240.0.0.1", ADDR_CLASS_RESERVED},
	    {"255.255.255.254", ADDR_CLASS_RESERVED},
	    {"0.0.0.0", ADDR_CLASS_UNSPECIFIED},
	    {"0.1.2.3", ADDR_CLASS_UNSPECIFIED},
	    {"192.0.2.1", ADDR_CLASS_DOCUMENTATION},
	    {"198.51.100.7", ADDR_CLASS_DOCUMENTATION},
	    {"203.0.113.9", ADDR_CLASS_DOCUMENTATION},
	    {"198.18.0.1", ADDR_CLASS_BENCHMARK},
	    {"198.19.255.255", ADDR_CLASS_BENCHMARK},
	    {"198.20.0.0", ADDR_CLASS_PUBLIC},
	    {"192.0.0.8", ADDR_CLASS_PROTOCOL},
	    {"192.88.99.1", ADDR_CLASS_RESERVED},
	    {"93.184.216.34", ADDR_CLASS_PUBLIC},
	    {"8.8.8.8", ADDR_CLASS_PUBLIC},
	    {"1.1.1.1", ADDR_CLASS_PUBLIC},
	    {"2606:4700::1", ADDR_CLASS_PUBLIC},
	    {"2a00:1450:4001:80b::200e", ADDR_CLASS_PUBLIC},
	    {"fc00::1", ADDR_CLASS_PRIVATE},
	    {"fd12:3456::1", ADDR_CLASS_PRIVATE},
	    {"fec0::1", ADDR_CLASS_PRIVATE},
	    {"ff02::1", ADDR_CLASS_MULTICAST},
	    {"2001:db8::1", ADDR_CLASS_DOCUMENTATION},
	    {"3fff::1", ADDR_CLASS_DOCUMENTATION},
	    {"2001:2::1", ADDR_CLASS_BENCHMARK},
	    {"2001:1::1", ADDR_CLASS_PROTOCOL},
	    {"100::1", ADDR_CLASS_RESERVED},
	    {"4000::1", ADDR_CLASS_RESERVED},
	    {"5f00::1", ADDR_CLASS_RESERVED},
	    {"1::", ADDR_CLASS_RESERVED},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (cls(t[i].a) != t[i].c)
			fprintf(stderr, "  %s: got %s, want %s\n", t[i].a,
			    addr_class_name(cls(t[i].a)),
			    addr_class_name(t[i].c));
		CHECK_EQ(cls(t[i].a), t[i].c);
		CHECK_EQ(denied(t[i].a, NULL), t[i].c != ADDR_CLASS_PUBLIC);
	}
	CHECK_STR(addr_class_name(ADDR_CLASS_CGNAT), "cgnat");
	CHECK_STR(addr_class_name((enum addr_class)99), "invalid");
}

static void
test_format(void)
{
	char buf[ADDR_TEXT_MAX];
	struct addr a;

	CHECK_STR(canon("2606:4700:0:0:0:0:0:1"), "2606:4700::1");
	CHECK_STR(canon("2001:DB8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
	CHECK_STR(canon("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
	CHECK_STR(canon("0:0:1:0:0:0:0:0"), "0:0:1::");
	CHECK_STR(canon("::ffff:7f00:1"), "::ffff:127.0.0.1");
	CHECK_STR(canon("[::1]"), "::1");
	CHECK_STR(canon("::"), "::");
	CHECK_STR(canon("1::"), "1::");
	CHECK_STR(canon("0001:0002:0003:0004:0005:0006:0007:0008"),
	    "1:2:3:4:5:6:7:8");
	CHECK_STR(canon("fe80::1%eth0"), "fe80::1");
	CHECK_EQ(addr_parse("::1", 3, &a), 0);
	CHECK_EQ(addr_format(&a, buf, 8), PETRI_ERR_TOOBIG);
	memset(&a, 0, sizeof(a));
	CHECK_EQ(addr_format(&a, buf, sizeof(buf)), PETRI_ERR_INVAL);
	CHECK_EQ(addr_classify(&a), ADDR_CLASS_INVALID);
	CHECK_EQ(addr_classify(NULL), ADDR_CLASS_INVALID);
	CHECK_EQ(addr_is_denied(&a, NULL), 1);
	CHECK_EQ(addr_is_denied(NULL, NULL), 1);
}

static void
test_allowlist(void)
{
	struct addr_allowlist al;
	size_t i;

	addr_allowlist_init(&al);
	CHECK_EQ(denied("127.0.0.1", &al), 1);
	CHECK_EQ(addr_allowlist_add(&al, "127.0.0.1"), 0);
	CHECK_EQ(denied("127.0.0.1", &al), 0);
	/* Exact address only: not its neighbours, not other spellings' kin */
	CHECK_EQ(denied("127.1", &al), 0);
	CHECK_EQ(denied("2130706433", &al), 0);
	CHECK_EQ(denied("127.0.0.2", &al), 1);
	CHECK_EQ(denied("::ffff:127.0.0.1", &al), 1);
	CHECK_EQ(denied("::1", &al), 1);
	CHECK_EQ(denied("169.254.169.254", &al), 1);
	CHECK_EQ(addr_allowlist_add(&al, "::1"), 0);
	CHECK_EQ(denied("::1", &al), 0);
	CHECK_EQ(denied("[::1]", &al), 0);
	/* Configuration takes plain text only */
	CHECK_EQ(addr_allowlist_add(&al, "127.1"), PETRI_ERR_INVAL);
	CHECK_EQ(addr_allowlist_add(&al, "[::1]"), PETRI_ERR_INVAL);
	CHECK_EQ(addr_allowlist_add(&al, "fe80::1%eth0"), PETRI_ERR_INVAL);
	CHECK_EQ(addr_allowlist_add(&al, "localhost"), PETRI_ERR_INVAL);
	CHECK_EQ(addr_allowlist_add(&al, "0.0.0.0"), PETRI_ERR_PERM);
	CHECK_EQ(addr_allowlist_add(&al, "::"), PETRI_ERR_PERM);
	CHECK_EQ(addr_allowlist_add(&al, "224.0.0.1"), PETRI_ERR_PERM);
	CHECK_EQ(addr_allowlist_add(&al, "255.255.255.255"), PETRI_ERR_PERM);
	CHECK_EQ(addr_allowlist_add(NULL, "127.0.0.1"), PETRI_ERR_INVAL);
	CHECK_EQ(al.n, 2);
	for (i = al.n; i < ADDR_ALLOWLIST_MAX; i++)
		CHECK_EQ(addr_allowlist_add(&al, "10.0.0.1"), 0);
	CHECK_EQ(addr_allowlist_add(&al, "10.0.0.2"), PETRI_ERR_TOOBIG);
	CHECK_EQ(denied("10.0.0.1", &al), 0);
	CHECK_EQ(denied("10.0.0.2", &al), 1);
}

/* Cases 21 and 28: names denied without resolution. */
static void
test_names(void)
{
	static const char *const deny[] = {
	    "localhost",
	    "LOCALHOST",
	    "localhost.",
	    "a.localhost",
	    "x.y.LocalHost.",
	    "localhost.localdomain",
	    "ip6-localhost",
	    "ip6-loopback",
	    "localhost6",
	    "metadata",
	    "metadata.google.internal",
	    "METADATA.GOOGLE.INTERNAL.",
	    "metadata.goog",
	    "instance-data",
	    "instance-data.ec2.internal",
	    "metadata.tencentyun.com",
	};
	static const char *const allow[] = {
	    "localhost.example.com",
	    "notlocalhost",
	    "xlocalhost",
	    "metadata.example.com",
	    "google.internal",
	    "mirror.corp.internal",
	    "api.stripe.com",
	    "",
	};
	size_t i;

	for (i = 0; i < sizeof(deny) / sizeof(deny[0]); i++)
		CHECK_EQ(addr_name_is_denied(deny[i]), 1);
	for (i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
		CHECK_EQ(addr_name_is_denied(allow[i]), 0);
	CHECK_EQ(addr_name_is_denied(NULL), 1);
}

static void
test_bounds(void)
{
	char big[POLICY_HOST_INPUT_MAX + 2];
	struct addr a;

	memset(big, '0', sizeof(big));
	CHECK_EQ(addr_parse(big, sizeof(big), &a), PETRI_ERR_TOOBIG);
	CHECK_EQ(addr_parse(big, POLICY_HOST_INPUT_MAX, &a), 0);
	CHECK_EQ(addr_classify(&a), ADDR_CLASS_UNSPECIFIED);
	CHECK_EQ(addr_parse(NULL, 0, &a), PETRI_ERR_INVAL);
	/* len is honoured: no NUL needed, bytes after len ignored */
	CHECK_EQ(addr_parse("127.0.0.1junk", 9, &a), 0);
	CHECK_EQ(addr_classify(&a), ADDR_CLASS_LOOPBACK);
	CHECK_EQ(addr_parse("1.2.3.4\0", 8, &a), PETRI_ERR_INVAL);
}

int
main(void)
{
	UNIT_RUN(test_metadata);
	UNIT_RUN(test_v4_spellings);
	UNIT_RUN(test_v6_embeddings);
	UNIT_RUN(test_ranges);
	UNIT_RUN(test_format);
	UNIT_RUN(test_allowlist);
	UNIT_RUN(test_names);
	UNIT_RUN(test_bounds);
	return UNIT_DONE();
}
