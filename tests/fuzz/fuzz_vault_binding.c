/*
 * fuzz_vault_binding.c: libFuzzer target for secret binding documents:
 * parse, canonical form, matching, formatting.  Aborts when an invariant
 * breaks:
 *  - a failed parse leaves no binding and names the problem;
 *  - a parsed binding has 1..32 hosts, a known injection, a header token
 *    and (header, placeholder) a format holding "{value}" exactly once;
 *  - the canonical form parses and is a fixed point, and holds no raw
 *    control byte;
 *  - a formatted header value holds no CR, LF or NUL;
 *  - matching never allows http, another port, or a host that no pattern
 *    names, and allows each exact host on the binding's port.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_canonical(const struct vault_binding *b)
{
	struct vault_binding *b2 = NULL;
	char *c1 = NULL, *c2 = NULL;
	size_t l1 = 0, l2 = 0, i;

	if (vault_binding_canonical(b, &c1, &l1) != 0)
		abort();
	for (i = 0; i < l1; i++)
		if ((unsigned char)c1[i] < 0x20 || c1[i] == 0x7f)
			abort();
	if (vault_binding_parse(c1, l1, &b2, NULL, 0) != 0)
		abort();
	if (vault_binding_canonical(b2, &c2, &l2) != 0 || l1 != l2 ||
	    memcmp(c1, c2, l1) != 0 || b2->nhosts != b->nhosts ||
	    b2->inject != b->inject)
		abort();
	free(c1);
	free(c2);
	vault_binding_free(b2);
}

static void
fuzz_check_format(const struct vault_binding *b)
{
	char out[VAULT_INJECT_MAX + 1];
	const char *p;
	size_t n = 0;

	if (b->inject != VAULT_INJECT_BASIC) {
		p = strstr(b->format, "{value}");
		if (p == NULL || strstr(p + 1, "{value}") != NULL)
			abort();
	}
	if (vault_binding_format(b, "s3cr3t", 6, out, sizeof(out), &n) != 0)
		abort();
	if (n != strlen(out) || strchr(out, '\r') != NULL ||
	    strchr(out, '\n') != NULL)
		abort();
	if (b->inject != VAULT_INJECT_BASIC && strstr(out, "s3cr3t") == NULL)
		abort();
	if (vault_binding_format(b, "a\r\nb", 4, out, sizeof(out), &n) !=
	    PETRI_ERR_INVAL)
		abort();
}

static void
fuzz_check_match(const struct vault_binding *b)
{
	struct vault_request r;
	uint16_t port = b->port != 0 ? b->port : 443;
	const char *why = NULL;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.scheme = "https";
	r.method = b->nmethods > 0 ? b->methods[0] : "GET";
	r.path = b->npaths > 0 ? b->paths[0] : "/";
	for (i = 0; i < b->nhosts; i++) {
		if (b->hosts[i].wildcard)
			continue;
		r.host = b->hosts[i].host.name;
		r.port = port;
		if (vault_binding_match(b, &r, &why) != 0 || why == NULL)
			abort();
		r.port = port == 443 ? 8443 : 443;
		if (vault_binding_match(b, &r, NULL) == 0)
			abort();
		r.port = port;
		r.scheme = "http";
		if (vault_binding_match(b, &r, NULL) == 0)
			abort();
		r.scheme = "https";
	}
	/* a host no sane pattern can name */
	r.host = "unbound.petri-fuzz.invalid";
	r.port = port;
	if (vault_binding_match(b, &r, NULL) == 0) {
		for (i = 0; i < b->nhosts; i++)
			if (strcmp(b->hosts[i].text, r.host) == 0 ||
			    (b->hosts[i].wildcard &&
			        strstr(r.host, b->hosts[i].host.name) != NULL))
				break;
		if (i == b->nhosts)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vault_binding *b = NULL;
	char err[VAULT_ERR_MAX];

	err[0] = '\0';
	if (vault_binding_parse(
	        (const char *)data, size, &b, err, sizeof(err)) != 0) {
		if (b != NULL || err[0] == '\0')
			abort();
		return 0;
	}
	if (b == NULL || b->nhosts == 0 || b->nhosts > VAULT_MAX_HOSTS ||
	    b->inject < VAULT_INJECT_HEADER ||
	    b->inject > VAULT_INJECT_PLACEHOLDER || b->header[0] == '\0')
		abort();
	fuzz_check_canonical(b);
	fuzz_check_format(b);
	fuzz_check_match(b);
	vault_binding_free(b);
	return 0;
}
