/*
 * addr.h: IP address literals.  Parses every spelling of an address that a
 * URL, a Host header or a CONNECT authority can carry, unwraps IPv4 addresses
 * embedded in IPv6 ones, classifies the result and decides whether the proxy
 * may dial it.  Also names the hosts that are denied without being resolved.
 *
 * Pure: no I/O, no globals, no DNS.  The proxy checks every address it is
 * about to dial (a literal from the request, or each result of its own
 * resolution) with addr_is_denied() and dials exactly the address it checked.
 */
#ifndef PETRI_ADDR_H
#define PETRI_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "petri_err.h"
#include "policy_bounds.h"

#define ADDR_V4 4
#define ADDR_V6 6
#define ADDR_TEXT_MAX 48 /* addr_format() output: IPv6 is <= 45 + NUL */

struct addr {
	int family; /* ADDR_V4 or ADDR_V6; 0 when unset */
	uint8_t b[16]; /* network order; IPv4 uses b[0..3] */
	int zoned; /* IPv6 literal carried a %zone: always denied */
};

/*
 * Address classes.  Everything but ADDR_CLASS_PUBLIC is denied unless the
 * exact address is allow-listed (and the classes named in addr_is_denied()
 * cannot be allow-listed at all).  IPv4 addresses embedded in IPv6 ones
 * (mapped, compatible, SIIT, NAT64, 6to4, Teredo) take the class of the
 * IPv4 address; the local-use NAT64 prefix 64:ff9b:1::/48 is never public
 * (RESERVED unless the embedded address says more).  Documentation also
 * covers 198.51.100/24 and 203.0.113/24.
 */
enum addr_class {
	ADDR_CLASS_INVALID = 0, /* not an address */
	ADDR_CLASS_PUBLIC, /* globally routable unicast */
	ADDR_CLASS_UNSPECIFIED, /* 0.0.0.0/8 ("this network"), :: */
	ADDR_CLASS_LOOPBACK, /* 127.0.0.0/8, ::1 */
	ADDR_CLASS_PRIVATE, /* RFC 1918, fc00::/7, fec0::/10 */
	ADDR_CLASS_LINK_LOCAL, /* 169.254.0.0/16, fe80::/10 */
	ADDR_CLASS_CGNAT, /* 100.64.0.0/10 (RFC 6598) */
	ADDR_CLASS_MULTICAST, /* 224.0.0.0/4, ff00::/8 */
	ADDR_CLASS_BROADCAST, /* 255.255.255.255 */
	ADDR_CLASS_RESERVED, /* 240/4, 192.88.99/24, 100::/64, not 2000::/3 */
	ADDR_CLASS_DOCUMENTATION, /* 192.0.2/24 ..., 2001:db8::/32, 3fff::/20 */
	ADDR_CLASS_BENCHMARK, /* 198.18.0.0/15, 2001:2::/48 */
	ADDR_CLASS_PROTOCOL, /* 192.0.0.0/24, 2001::/23 (IETF assignments) */
	ADDR_CLASS_METADATA /* cloud instance metadata endpoints */
};

/* Addresses the operator allows although they are not public. */
struct addr_allowlist {
	size_t n;
	struct addr v[ADDR_ALLOWLIST_MAX];
};

/*
 * Parses an IP literal of len bytes (no NUL needed) into *out:
 *  - IPv4 in 1 to 4 dot-separated parts, each decimal, octal (leading 0) or
 *    hexadecimal (0x), the last part filling the remaining bytes, as
 *    inet_aton(3) and the WHATWG URL parser read them: "2852039166",
 *    "0xA9FEA9FE", "0251.0376.0251.0376", "169.254.43518", "127.1", "0";
 *    one trailing dot is allowed;
 *  - IPv6 text (RFC 4291, with an embedded dotted quad), bare or in
 *    brackets, with an optional zone id ("%eth0", or "%25eth0" as RFC 6874
 *    writes it in a URL) that sets out->zoned.
 * Returns 0, PETRI_ERR_INVAL when the text is not an IP literal (it may be
 * a host name) or PETRI_ERR_TOOBIG when len > POLICY_HOST_INPUT_MAX.
 */
int addr_parse(const char *s, size_t len, struct addr *out) PETRI_WUR;

/*
 * Classifies an address (see enum addr_class), looking through IPv6
 * embeddings of IPv4.  Teredo (2001::/32) is classified by the worse of its
 * server and (XOR-obfuscated) client addresses.  Returns ADDR_CLASS_INVALID
 * for NULL or an unset address.
 */
enum addr_class addr_classify(const struct addr *a);

/* Returns a static lower-case name for a class ("loopback", "metadata"). */
const char *addr_class_name(enum addr_class c);

/*
 * Writes the canonical text of a: IPv4 dotted quad in decimal; IPv6 as
 * RFC 5952 (lower case, longest zero run compressed, IPv4-mapped addresses
 * as ::ffff:a.b.c.d), without brackets or zone.  Returns 0,
 * PETRI_ERR_INVAL for an unset address or PETRI_ERR_TOOBIG when outlen is
 * smaller than ADDR_TEXT_MAX.
 */
int addr_format(const struct addr *a, char *out, size_t outlen) PETRI_WUR;

/* Initialises an empty allow-list. */
void addr_allowlist_init(struct addr_allowlist *al);

/*
 * Adds one exact address (NUL-terminated text: a dotted quad with four
 * decimal parts, or IPv6 text without zone) to the allow-list.  Returns 0,
 * PETRI_ERR_INVAL for other text, PETRI_ERR_PERM for an address that can
 * never be allowed (unspecified, multicast, broadcast, metadata) or
 * PETRI_ERR_TOOBIG when the list holds ADDR_ALLOWLIST_MAX entries.
 */
int addr_allowlist_add(struct addr_allowlist *al, const char *text) PETRI_WUR;

/*
 * The dial decision.  Returns 0 when the proxy may connect to a: a is
 * public, or a is exactly (same family, same bytes) an entry of al.
 * Returns 1 (denied) otherwise, and always for NULL or unset addresses,
 * zoned addresses, and unspecified, multicast, broadcast and metadata
 * addresses whatever al says.  al may be NULL (empty).
 */
int addr_is_denied(
    const struct addr *a, const struct addr_allowlist *al) PETRI_WUR;

/*
 * Returns 1 when the host name must be denied without being resolved:
 * "localhost" and every "*.localhost" (RFC 6761), the loopback aliases of
 * /etc/hosts ("localhost.localdomain", "localhost6",
 * "localhost6.localdomain6", "ip6-localhost", "ip6-loopback"), and the
 * cloud metadata names ("metadata", "metadata.google.internal",
 * "metadata.goog", "instance-data", "instance-data.ec2.internal",
 * "metadata.tencentyun.com").  The comparison ignores ASCII case and one
 * trailing dot.  Returns 1 for NULL and for text longer than
 * POLICY_HOST_INPUT_MAX, 0 for any other name.
 */
int addr_name_is_denied(const char *host) PETRI_WUR;

#endif /* PETRI_ADDR_H */
