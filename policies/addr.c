/* addr.c: IP literal parsing, classification and the dial decision. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

/* A prefix of the special-purpose address registries. */
struct addr_range {
	uint8_t b[16];
	unsigned int plen;
	enum addr_class cls;
};

/* Most specific first: the first matching range wins. */
static const struct addr_range addr_v4_ranges[] = {
    /* AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean, ... */
    {{169, 254, 169, 254}, 32, ADDR_CLASS_METADATA},
    /* AWS ECS task metadata and credentials */
    {{169, 254, 170, 2}, 32, ADDR_CLASS_METADATA},
    /* AWS EKS Pod Identity agent */
    {{169, 254, 170, 23}, 32, ADDR_CLASS_METADATA},
    /* Alibaba Cloud */
    {{100, 100, 100, 200}, 32, ADDR_CLASS_METADATA},
    /* Oracle Cloud legacy metadata */
    {{192, 0, 0, 192}, 32, ADDR_CLASS_METADATA},
    /* Azure WireServer: a public-range address every Azure VM reaches */
    {{168, 63, 129, 16}, 32, ADDR_CLASS_METADATA},
    {{255, 255, 255, 255}, 32, ADDR_CLASS_BROADCAST},
    {{0, 0, 0, 0}, 8, ADDR_CLASS_UNSPECIFIED},
    {{10, 0, 0, 0}, 8, ADDR_CLASS_PRIVATE},
    {{100, 64, 0, 0}, 10, ADDR_CLASS_CGNAT},
    {{127, 0, 0, 0}, 8, ADDR_CLASS_LOOPBACK},
    {{169, 254, 0, 0}, 16, ADDR_CLASS_LINK_LOCAL},
    {{172, 16, 0, 0}, 12, ADDR_CLASS_PRIVATE},
    {{192, 0, 0, 0}, 24, ADDR_CLASS_PROTOCOL},
    {{192, 0, 2, 0}, 24, ADDR_CLASS_DOCUMENTATION},
    {{192, 88, 99, 0}, 24, ADDR_CLASS_RESERVED}, /* 6to4 relay, RFC 7526 */
    {{192, 168, 0, 0}, 16, ADDR_CLASS_PRIVATE},
    {{198, 18, 0, 0}, 15, ADDR_CLASS_BENCHMARK},
    {{198, 51, 100, 0}, 24, ADDR_CLASS_DOCUMENTATION},
    {{203, 0, 113, 0}, 24, ADDR_CLASS_DOCUMENTATION},
    {{224, 0, 0, 0}, 4, ADDR_CLASS_MULTICAST},
    {{240, 0, 0, 0}, 4, ADDR_CLASS_RESERVED},
};

/* IPv6 ranges other than the IPv4 embeddings handled in addr_classify6. */
static const struct addr_range addr_v6_ranges[] = {
    /* AWS instance metadata over IPv6 */
    {{0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54}, 128,
        ADDR_CLASS_METADATA},
    /* AWS EKS Pod Identity agent over IPv6 */
    {{0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x23}, 128,
        ADDR_CLASS_METADATA},
    /* GCP metadata server over IPv6 */
    {{0xfd, 0x20, 0x00, 0xce, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54}, 128,
        ADDR_CLASS_METADATA},
    {{0x01, 0x00}, 64, ADDR_CLASS_RESERVED}, /* 100::/64 discard */
    {{0x20, 0x01, 0x00, 0x02}, 48, ADDR_CLASS_BENCHMARK}, /* 2001:2::/48 */
    {{0x20, 0x01, 0x0d, 0xb8}, 32, ADDR_CLASS_DOCUMENTATION}, /* 2001:db8:: */
    {{0x3f, 0xff, 0x00}, 20, ADDR_CLASS_DOCUMENTATION}, /* 3fff::/20 */
    {{0x20, 0x01, 0x00}, 23, ADDR_CLASS_PROTOCOL}, /* 2001::/23 */
    {{0xfc}, 7, ADDR_CLASS_PRIVATE}, /* fc00::/7 ULA */
    {{0xfe, 0x80}, 10, ADDR_CLASS_LINK_LOCAL}, /* fe80::/10 */
    {{0xfe, 0xc0}, 10, ADDR_CLASS_PRIVATE}, /* fec0::/10 site-local */
    {{0xff}, 8, ADDR_CLASS_MULTICAST}, /* ff00::/8 */
    {{0x20}, 3, ADDR_CLASS_PUBLIC}, /* 2000::/3 global unicast */
};

/* Names denied without resolution; compared after lower-casing. */
static const char *const addr_denied_names[] = {
    "localhost",
    "localhost.localdomain",
    "localhost6",
    "localhost6.localdomain6",
    "ip6-localhost",
    "ip6-loopback",
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.tencentyun.com",
};

static int
addr_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * One part of an inet_aton-style IPv4 literal: "0x..." hexadecimal (no
 * digits reads as 0, as WHATWG does), "0..." octal, else decimal.
 */
static int
addr_v4_part(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	unsigned int base = 10;
	size_t i = 0;

	if (len == 0)
		return PETRI_ERR_INVAL;
	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	} else if (len >= 2 && s[0] == '0') {
		base = 8;
		i = 1;
	}
	for (; i < len; i++) {
		int d = addr_hexval(s[i]);

		if (d < 0 || (unsigned int)d >= base)
			return PETRI_ERR_INVAL;
		v = v * base + (unsigned int)d;
		if (v > 0xffffffffULL)
			return PETRI_ERR_INVAL;
	}
	*out = v;
	return 0;
}

/* IPv4 in any inet_aton/WHATWG spelling, one trailing dot allowed. */
static int
addr_parse_v4(const char *s, size_t len, uint8_t out[4])
{
	uint64_t part[4], v;
	size_t n = 0, i, start = 0;
	unsigned int k;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0)
		return PETRI_ERR_INVAL;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (n == 4 || addr_v4_part(s + start, i - start, &part[n]) != 0)
			return PETRI_ERR_INVAL;
		n++;
		start = i + 1;
	}
	for (i = 0; i + 1 < n; i++)
		if (part[i] > 255)
			return PETRI_ERR_INVAL;
	if (part[n - 1] >= (1ULL << (8 * (5 - n))))
		return PETRI_ERR_INVAL;
	v = part[n - 1];
	for (i = 0; i + 1 < n; i++)
		v |= part[i] << (8 * (3 - i));
	for (k = 0; k < 4; k++)
		out[k] = (uint8_t)(v >> (8 * (3 - k)));
	return 0;
}

/* Strict dotted quad inside IPv6 text: four decimal parts, no zero padding. */
static int
addr_parse_dotted(const char *s, size_t len, uint8_t out[4])
{
	size_t i = 0;
	int n;

	for (n = 0; n < 4; n++) {
		unsigned int v = 0, nd = 0;

		if (n > 0) {
			if (i >= len || s[i] != '.')
				return PETRI_ERR_INVAL;
			i++;
		}
		while (i < len && s[i] >= '0' && s[i] <= '9' && nd < 4) {
			if (nd == 1 && v == 0)
				return PETRI_ERR_INVAL; /* "01" */
			v = v * 10 + (unsigned int)(s[i] - '0');
			nd++;
			i++;
		}
		if (nd == 0 || v > 255)
			return PETRI_ERR_INVAL;
		out[n] = (uint8_t)v;
	}
	return i == len ? 0 : PETRI_ERR_INVAL;
}

/* IPv6 text without brackets or zone. */
static int
addr_parse_v6(const char *s, size_t len, uint8_t out[16])
{
	uint16_t g[8];
	size_t ng = 0, i = 0, k;
	long dc = -1; /* group index where "::" stands */
	uint8_t v4[4];

	if (len < 2)
		return PETRI_ERR_INVAL;
	if (s[0] == ':') {
		if (s[1] != ':')
			return PETRI_ERR_INVAL;
		dc = 0;
		i = 2;
	}
	while (i < len) {
		size_t start = i, nd = 0;
		unsigned int v = 0;

		while (i < len && nd < 5 && addr_hexval(s[i]) >= 0) {
			v = v * 16 + (unsigned int)addr_hexval(s[i]);
			nd++;
			i++;
		}
		if (i < len && s[i] == '.') {
			/* A dotted quad ends the address. */
			if (ng > 6 ||
			    addr_parse_dotted(s + start, len - start, v4) != 0)
				return PETRI_ERR_INVAL;
			g[ng++] = (uint16_t)(v4[0] << 8 | v4[1]);
			g[ng++] = (uint16_t)(v4[2] << 8 | v4[3]);
			i = len;
			break;
		}
		if (nd == 0 || nd > 4 || ng == 8)
			return PETRI_ERR_INVAL;
		g[ng++] = (uint16_t)v;
		if (i == len)
			break;
		if (s[i] != ':' || ++i == len)
			return PETRI_ERR_INVAL;
		if (s[i] == ':') {
			if (dc >= 0)
				return PETRI_ERR_INVAL;
			dc = (long)ng;
			i++;
		}
	}
	if (dc < 0 ? ng != 8 : ng > 7)
		return PETRI_ERR_INVAL;
	memset(out, 0, 16);
	for (k = 0; k < ng; k++) {
		size_t pos = k;

		if (dc >= 0 && k >= (size_t)dc)
			pos = k + (8 - ng);
		out[2 * pos] = (uint8_t)(g[k] >> 8);
		out[2 * pos + 1] = (uint8_t)(g[k] & 0xff);
	}
	return 0;
}

/* A zone id: unreserved characters or percent-escapes, 1 to 64 bytes. */
static int
addr_zone_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 64)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || c == '%')
			continue;
		return 0;
	}
	return 1;
}

int
addr_parse(const char *s, size_t len, struct addr *out)
{
	const char *pct;
	size_t alen;
	int bracket = 0;

	memset(out, 0, sizeof(*out));
	if (s == NULL || len == 0)
		return PETRI_ERR_INVAL;
	if (len > POLICY_HOST_INPUT_MAX)
		return PETRI_ERR_TOOBIG;
	if (s[0] == '[') {
		if (len < 2 || s[len - 1] != ']')
			return PETRI_ERR_INVAL;
		s++;
		len -= 2;
		bracket = 1;
	}
	if (memchr(s, ':', len) == NULL) {
		if (bracket || addr_parse_v4(s, len, out->b) != 0)
			return PETRI_ERR_INVAL;
		out->family = ADDR_V4;
		return 0;
	}
	alen = len;
	if ((pct = memchr(s, '%', len)) != NULL) {
		const char *zone = pct + 1;
		size_t zlen;

		alen = (size_t)(pct - s);
		zlen = len - alen - 1;
		if (bracket && zlen > 2 && zone[0] == '2' && zone[1] == '5') {
			zone += 2;
			zlen -= 2;
		}
		if (!addr_zone_valid(zone, zlen))
			return PETRI_ERR_INVAL;
		out->zoned = 1;
	}
	if (addr_parse_v6(s, alen, out->b) != 0) {
		memset(out, 0, sizeof(*out));
		return PETRI_ERR_INVAL;
	}
	out->family = ADDR_V6;
	return 0;
}

static int
addr_prefix_match(const uint8_t *b, const struct addr_range *r)
{
	unsigned int full = r->plen / 8, rest = r->plen % 8;
	uint8_t mask;

	if (memcmp(b, r->b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rest));
	return (b[full] & mask) == (r->b[full] & mask);
}

static enum addr_class
addr_classify4(const uint8_t b[4])
{
	size_t i;

	for (i = 0; i < sizeof(addr_v4_ranges) / sizeof(addr_v4_ranges[0]); i++)
		if (addr_prefix_match(b, &addr_v4_ranges[i]))
			return addr_v4_ranges[i].cls;
	return ADDR_CLASS_PUBLIC;
}

static int
addr_is_zero(const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/* The class of a Teredo address: the worse of server and client. */
static enum addr_class
addr_classify_teredo(const uint8_t b[16])
{
	uint8_t client[4];
	enum addr_class c;
	int i;

	for (i = 0; i < 4; i++)
		client[i] = (uint8_t)(b[12 + i] ^ 0xff);
	if ((c = addr_classify4(client)) != ADDR_CLASS_PUBLIC)
		return c;
	return addr_classify4(b + 4);
}

static enum addr_class
addr_classify6(const uint8_t b[16])
{
	static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
	static const uint8_t nat64_local[6] = {
	    0x00, 0x64, 0xff, 0x9b, 0x00, 0x01};
	enum addr_class c;
	size_t i;

	/* ::/128 and ::1/128 before the IPv4-compatible block. */
	if (addr_is_zero(b, 15) && b[15] <= 1)
		return b[15] == 0 ? ADDR_CLASS_UNSPECIFIED
		                  : ADDR_CLASS_LOOPBACK;
	/* IPv4-mapped ::ffff:0:0/96 */
	if (addr_is_zero(b, 10) && b[10] == 0xff && b[11] == 0xff)
		return addr_classify4(b + 12);
	/* IPv4-compatible ::/96 (deprecated, still routed by some stacks) */
	if (addr_is_zero(b, 12))
		return addr_classify4(b + 12);
	/* SIIT IPv4-translated ::ffff:0:0:0/96 (RFC 2765) */
	if (addr_is_zero(b, 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 &&
	    b[11] == 0)
		return addr_classify4(b + 12);
	/* NAT64 well-known prefix 64:ff9b::/96 (RFC 6052) */
	if (memcmp(b, nat64, sizeof(nat64)) == 0)
		return addr_classify4(b + 12);
	/*
	 * Local-use NAT64 64:ff9b:1::/48 (RFC 8215): never globally routed,
	 * so never public; report the embedded address when it says more.
	 */
	if (memcmp(b, nat64_local, sizeof(nat64_local)) == 0) {
		c = addr_classify4(b + 12);
		return c != ADDR_CLASS_PUBLIC ? c : ADDR_CLASS_RESERVED;
	}
	/* 6to4 2002::/16 (RFC 3056): the IPv4 address is bits 16-47 */
	if (b[0] == 0x20 && b[1] == 0x02)
		return addr_classify4(b + 2);
	/* Teredo 2001::/32 (RFC 4380) */
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
		return addr_classify_teredo(b);
	for (i = 0; i < sizeof(addr_v6_ranges) / sizeof(addr_v6_ranges[0]); i++)
		if (addr_prefix_match(b, &addr_v6_ranges[i]))
			return addr_v6_ranges[i].cls;
	/* Not allocated for global unicast. */
	return ADDR_CLASS_RESERVED;
}

enum addr_class
addr_classify(const struct addr *a)
{
	if (a == NULL)
		return ADDR_CLASS_INVALID;
	if (a->family == ADDR_V4)
		return addr_classify4(a->b);
	if (a->family == ADDR_V6)
		return addr_classify6(a->b);
	return ADDR_CLASS_INVALID;
}

const char *
addr_class_name(enum addr_class c)
{
	switch (c) {
	case ADDR_CLASS_PUBLIC:
		return "public";
	case ADDR_CLASS_UNSPECIFIED:
		return "unspecified";
	case ADDR_CLASS_LOOPBACK:
		return "loopback";
	case ADDR_CLASS_PRIVATE:
		return "private";
	case ADDR_CLASS_LINK_LOCAL:
		return "link-local";
	case ADDR_CLASS_CGNAT:
		return "cgnat";
	case ADDR_CLASS_MULTICAST:
		return "multicast";
	case ADDR_CLASS_BROADCAST:
		return "broadcast";
	case ADDR_CLASS_RESERVED:
		return "reserved";
	case ADDR_CLASS_DOCUMENTATION:
		return "documentation";
	case ADDR_CLASS_BENCHMARK:
		return "benchmarking";
	case ADDR_CLASS_PROTOCOL:
		return "protocol-assignment";
	case ADDR_CLASS_METADATA:
		return "metadata";
	case ADDR_CLASS_INVALID:
		break;
	}
	return "invalid";
}

int
addr_format(const struct addr *a, char *out, size_t outlen)
{
	unsigned int g[8];
	int best = -1, bestlen = 0, run = -1, runlen = 0, i, n;
	size_t off = 0;

	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if (a == NULL || out == NULL)
		return PETRI_ERR_INVAL;
	if (outlen < ADDR_TEXT_MAX)
		return PETRI_ERR_TOOBIG;
	if (a->family == ADDR_V4) {
		(void)snprintf(out, outlen, "%u.%u.%u.%u", a->b[0], a->b[1],
		    a->b[2], a->b[3]);
		return 0;
	}
	if (a->family != ADDR_V6)
		return PETRI_ERR_INVAL;
	if (addr_is_zero(a->b, 10) && a->b[10] == 0xff && a->b[11] == 0xff) {
		(void)snprintf(out, outlen, "::ffff:%u.%u.%u.%u", a->b[12],
		    a->b[13], a->b[14], a->b[15]);
		return 0;
	}
	for (i = 0; i < 8; i++) {
		g[i] = (unsigned int)(a->b[2 * i] << 8 | a->b[2 * i + 1]);
		if (g[i] == 0) {
			if (run < 0) {
				run = i;
				runlen = 0;
			}
			if (++runlen > bestlen) {
				best = run;
				bestlen = runlen;
			}
		} else
			run = -1;
	}
	if (bestlen < 2)
		best = -1;
	for (i = 0; i < 8; i++) {
		if (i == best) {
			n = snprintf(out + off, outlen - off, "::");
			i += bestlen - 1;
		} else {
			const char *sep = ":";

			if (i == 0 || (best >= 0 && i == best + bestlen))
				sep = "";
			n = snprintf(
			    out + off, outlen - off, "%s%x", sep, g[i]);
		}
		if (n < 0 || (size_t)n >= outlen - off)
			return PETRI_ERR_TOOBIG;
		off += (size_t)n;
	}
	return 0;
}

void
addr_allowlist_init(struct addr_allowlist *al)
{
	memset(al, 0, sizeof(*al));
}

int
addr_allowlist_add(struct addr_allowlist *al, const char *text)
{
	struct addr a;
	char canon[ADDR_TEXT_MAX];
	enum addr_class c;
	size_t len;

	if (al == NULL || text == NULL)
		return PETRI_ERR_INVAL;
	len = strnlen(text, POLICY_HOST_INPUT_MAX + 1);
	if (addr_parse(text, len, &a) != 0 || a.zoned || text[0] == '[')
		return PETRI_ERR_INVAL;
	/* IPv4 only as a plain dotted quad: no "127.1" in configuration. */
	if (a.family == ADDR_V4 &&
	    (addr_format(&a, canon, sizeof(canon)) != 0 ||
	        strcmp(canon, text) != 0))
		return PETRI_ERR_INVAL;
	c = addr_classify(&a);
	if (c == ADDR_CLASS_UNSPECIFIED || c == ADDR_CLASS_MULTICAST ||
	    c == ADDR_CLASS_BROADCAST || c == ADDR_CLASS_METADATA)
		return PETRI_ERR_PERM;
	if (al->n >= ADDR_ALLOWLIST_MAX)
		return PETRI_ERR_TOOBIG;
	al->v[al->n++] = a;
	return 0;
}

int
addr_is_denied(const struct addr *a, const struct addr_allowlist *al)
{
	enum addr_class c;
	size_t i;

	if (a == NULL || a->zoned)
		return 1;
	c = addr_classify(a);
	switch (c) {
	case ADDR_CLASS_PUBLIC:
		return 0;
	case ADDR_CLASS_INVALID:
	case ADDR_CLASS_UNSPECIFIED:
	case ADDR_CLASS_MULTICAST:
	case ADDR_CLASS_BROADCAST:
	case ADDR_CLASS_METADATA:
		return 1;
	default:
		break;
	}
	if (al == NULL)
		return 1;
	for (i = 0; i < al->n && i < ADDR_ALLOWLIST_MAX; i++)
		if (al->v[i].family == a->family && !al->v[i].zoned &&
		    memcmp(al->v[i].b, a->b, sizeof(a->b)) == 0)
			return 0;
	return 1;
}

/* ASCII case-insensitive equality of s[0..n) and the NUL-terminated t. */
static int
addr_name_eq(const char *s, size_t n, const char *t)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (t[i] == '\0' || c != t[i])
			return 0;
	}
	return t[n] == '\0';
}

int
addr_name_is_denied(const char *host)
{
	size_t n, i;

	if (host == NULL)
		return 1;
	n = strnlen(host, POLICY_HOST_INPUT_MAX + 1);
	if (n > POLICY_HOST_INPUT_MAX)
		return 1;
	if (n > 0 && host[n - 1] == '.')
		n--;
	for (i = 0;
	     i < sizeof(addr_denied_names) / sizeof(addr_denied_names[0]); i++)
		if (addr_name_eq(host, n, addr_denied_names[i]))
			return 1;
	/* "*.localhost" (RFC 6761 6.3) */
	if (n > 10 && addr_name_eq(host + n - 10, 10, ".localhost"))
		return 1;
	return 0;
}
