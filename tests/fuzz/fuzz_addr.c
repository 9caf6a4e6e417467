/*
 * fuzz_addr.c: libFuzzer target for IP literal parsing and classification,
 * host canonicalisation, authorities and host patterns.  Aborts when an
 * invariant breaks:
 *  - a parsed address has a class, formats, and its canonical text parses
 *    back to the same address and class;
 *  - anything but a public, zone-free address is denied with no allow-list;
 *  - a canonical host canonicalises to itself;
 *  - an always-denied name is never accepted as an exact pattern;
 *  - a pattern's canonical text parses back to itself, and an exact pattern
 *    matches its own host.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_addr(const char *s, size_t size)
{
	struct addr a, b;
	char text[ADDR_TEXT_MAX];
	enum addr_class c;

	if (addr_parse(s, size, &a) != 0)
		return;
	if ((c = addr_classify(&a)) == ADDR_CLASS_INVALID)
		abort();
	if (addr_class_name(c) == NULL)
		abort();
	if (addr_format(&a, text, sizeof(text)) != 0)
		abort();
	if (addr_parse(text, strlen(text), &b) != 0 || b.family != a.family ||
	    memcmp(a.b, b.b, sizeof(a.b)) != 0 || b.zoned ||
	    addr_classify(&b) != c)
		abort();
	if ((c != ADDR_CLASS_PUBLIC || a.zoned) && !addr_is_denied(&a, NULL))
		abort();
	if (c == ADDR_CLASS_PUBLIC && !a.zoned && addr_is_denied(&a, NULL))
		abort();
}

static void
fuzz_host(const char *s, size_t size)
{
	struct host h, h2;
	struct host_pattern p, p2;
	uint16_t port;

	if (host_canon(s, size, &h, NULL) == 0) {
		if (host_canon(h.name, strlen(h.name), &h2, NULL) != 0 ||
		    strcmp(h.name, h2.name) != 0 || h.kind != h2.kind)
			abort();
		if (h.kind == HOST_KIND_NAME && addr_name_is_denied(h.name) &&
		    host_pattern_parse(h.name, strlen(h.name), &p, NULL) == 0)
			abort();
	}
	if (host_authority_parse(s, size, "https", &h, &port, NULL) == 0 &&
	    (port == 0 || h.kind == 0))
		abort();
	if (host_authority_parse(s, size, NULL, &h, &port, NULL) == 0 &&
	    (port == 0 || h.kind == 0))
		abort();
	if (host_pattern_parse(s, size, &p, NULL) != 0)
		return;
	if (host_pattern_parse(p.text, strlen(p.text), &p2, NULL) != 0 ||
	    strcmp(p.text, p2.text) != 0 || p.wildcard != p2.wildcard)
		abort();
	if (!p.wildcard && !host_pattern_match(&p, &p.host))
		abort();
	if (p.wildcard && host_pattern_match(&p, &p.host))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_addr((const char *)data, size);
	fuzz_host((const char *)data, size);
	return 0;
}
