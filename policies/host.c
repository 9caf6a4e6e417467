/* host.c: host canonicalisation, authorities and host patterns. */
#include <string.h>

#include "host.h"

static void
host_why(const char **why, const char *w)
{
	if (why != NULL)
		*why = w;
}

/* "123" or "0x1f" (or "0x"): a label that makes a name an IPv4 spelling. */
static int
host_label_numeric(const char *s, size_t len)
{
	size_t i = 0;
	int hex = 0;

	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		hex = 1;
		i = 2;
	}
	for (; i < len; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			continue;
		if (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			continue;
		return 0;
	}
	return len > 0;
}

/* Checks one label of a lower-cased name. */
static int
host_label_check(const char *s, size_t len, const char **why)
{
	if (len == 0) {
		host_why(why, "empty label in host name");
		return PETRI_ERR_INVAL;
	}
	if (len > POLICY_LABEL_MAX) {
		host_why(why, "label longer than 63 bytes in host name");
		return PETRI_ERR_INVAL;
	}
	if (s[0] == '-' || s[len - 1] == '-') {
		host_why(why, "label starts or ends with '-' in host name");
		return PETRI_ERR_INVAL;
	}
	if (len == 4 && memcmp(s, "xn--", 4) == 0) {
		host_why(why, "empty A-label (xn--) in host name");
		return PETRI_ERR_INVAL;
	}
	return 0;
}

static int
host_canon_name(const char *s, size_t len, struct host *out, const char **why)
{
	size_t i, start = 0;
	int r;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0) {
		host_why(why, "empty host name");
		return PETRI_ERR_INVAL;
	}
	if (len > POLICY_HOST_MAX) {
		host_why(why, "host name longer than 253 bytes");
		return PETRI_ERR_TOOBIG;
	}
	for (i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)s[i] : '.';

		if (c == '.') {
			if ((r = host_label_check(
			         out->name + start, i - start, why)) != 0)
				return r;
			if (i < len)
				out->name[i] = '.';
			start = i + 1;
			continue;
		}
		if (c >= 0x80) {
			host_why(why,
			    "non-ASCII host name: write the A-label (xn--) "
			    "form");
			return PETRI_ERR_INVAL;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '-')) {
			host_why(why,
			    c == '_' ? "'_' is not allowed in host names"
			             : "character not allowed in host name");
			return PETRI_ERR_INVAL;
		}
		out->name[i] = (char)c;
	}
	out->name[len] = '\0';
	/* start is now one past the end of the last label. */
	start = len;
	while (start > 0 && out->name[start - 1] != '.')
		start--;
	if (host_label_numeric(out->name + start, len - start)) {
		host_why(why,
		    "host name ends in a number but is not a valid IPv4 "
		    "address");
		return PETRI_ERR_INVAL;
	}
	out->kind = HOST_KIND_NAME;
	return 0;
}

int
host_canon(const char *s, size_t len, struct host *out, const char **why)
{
	int r;

	memset(out, 0, sizeof(*out));
	host_why(why, NULL);
	if (s == NULL || len == 0) {
		host_why(why, "empty host");
		return PETRI_ERR_INVAL;
	}
	if (len > POLICY_HOST_INPUT_MAX) {
		host_why(why, "host longer than 255 bytes");
		return PETRI_ERR_TOOBIG;
	}
	if (memchr(s, '\0', len) != NULL) {
		host_why(why, "NUL byte in host");
		return PETRI_ERR_INVAL;
	}
	if (s[0] == '[' || memchr(s, ':', len) != NULL) {
		if (addr_parse(s, len, &out->addr) != 0 ||
		    out->addr.family != ADDR_V6) {
			memset(out, 0, sizeof(*out));
			host_why(why,
			    s[0] == '[' ? "invalid IPv6 literal"
			                : "':' in a host is only valid in an "
			                  "IPv6 literal");
			return PETRI_ERR_INVAL;
		}
		if (out->addr.zoned) {
			memset(out, 0, sizeof(*out));
			host_why(why, "IPv6 zone ids are not allowed");
			return PETRI_ERR_PERM;
		}
	} else if (addr_parse(s, len, &out->addr) != 0) {
		if ((r = host_canon_name(s, len, out, why)) != 0)
			memset(out, 0, sizeof(*out));
		return r;
	}
	if (addr_format(&out->addr, out->name, sizeof(out->name)) != 0) {
		memset(out, 0, sizeof(*out));
		host_why(why, "invalid IP literal");
		return PETRI_ERR_INVAL;
	}
	out->kind = HOST_KIND_ADDR;
	return 0;
}

/* ASCII case-insensitive comparison with a lower-case literal. */
static int
host_streq_lower(const char *s, const char *lit)
{
	for (; *s != '\0' && *lit != '\0'; s++, lit++) {
		char c = *s;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != *lit)
			return 0;
	}
	return *s == '\0' && *lit == '\0';
}

uint16_t
host_scheme_port(const char *scheme)
{
	if (scheme == NULL)
		return 0;
	if (host_streq_lower(scheme, "http"))
		return 80;
	if (host_streq_lower(scheme, "https"))
		return 443;
	return 0;
}

/* 1 to 5 decimal digits, no leading zero, 1..65535. */
static int
host_port_parse(const char *s, size_t len, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5 || s[0] == '0')
		return PETRI_ERR_INVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return PETRI_ERR_INVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return PETRI_ERR_INVAL;
	*port = (uint16_t)v;
	return 0;
}

int
host_authority_parse(const char *s, size_t len, const char *scheme,
    struct host *h, uint16_t *port, const char **why)
{
	const char *p = NULL, *close;
	size_t hlen = len, plen = 0, i, ncolon = 0;
	int r;

	memset(h, 0, sizeof(*h));
	*port = 0;
	host_why(why, NULL);
	if (s == NULL || len == 0) {
		host_why(why, "empty authority");
		return PETRI_ERR_INVAL;
	}
	if (len > POLICY_AUTHORITY_MAX) {
		host_why(why, "authority too long");
		return PETRI_ERR_TOOBIG;
	}
	if (memchr(s, '@', len) != NULL) {
		host_why(why, "userinfo is not allowed in an authority");
		return PETRI_ERR_INVAL;
	}
	if (s[0] == '[') {
		if ((close = memchr(s, ']', len)) == NULL) {
			host_why(why, "unterminated IPv6 literal");
			return PETRI_ERR_INVAL;
		}
		hlen = (size_t)(close - s) + 1;
		if (hlen < len) {
			if (s[hlen] != ':') {
				host_why(why, "junk after IPv6 literal");
				return PETRI_ERR_INVAL;
			}
			p = s + hlen + 1;
			plen = len - hlen - 1;
		}
	} else {
		for (i = 0; i < len; i++)
			if (s[i] == ':') {
				ncolon++;
				hlen = i;
			}
		if (ncolon > 1) {
			host_why(why, "IPv6 literal must be in brackets");
			return PETRI_ERR_INVAL;
		}
		if (ncolon == 1) {
			p = s + hlen + 1;
			plen = len - hlen - 1;
		}
	}
	if (p != NULL) {
		if (host_port_parse(p, plen, port) != 0) {
			host_why(why, "invalid port");
			return PETRI_ERR_INVAL;
		}
	} else if (scheme == NULL) {
		host_why(why, "port required");
		return PETRI_ERR_INVAL;
	} else if ((*port = host_scheme_port(scheme)) == 0) {
		host_why(why, "unknown scheme");
		return PETRI_ERR_INVAL;
	}
	if ((r = host_canon(s, hlen, h, why)) != 0)
		*port = 0;
	return r;
}

static size_t
host_label_count(const char *name)
{
	size_t n = 1;

	for (; *name != '\0'; name++)
		if (*name == '.')
			n++;
	return n;
}

int
host_pattern_parse(
    const char *s, size_t len, struct host_pattern *out, const char **why)
{
	int r;

	memset(out, 0, sizeof(*out));
	host_why(why, NULL);
	if (s == NULL || len == 0) {
		host_why(why, "empty host pattern");
		return PETRI_ERR_INVAL;
	}
	if (len > POLICY_HOST_INPUT_MAX + 2) {
		host_why(why, "host pattern too long");
		return PETRI_ERR_TOOBIG;
	}
	if (len == 1 && s[0] == '*') {
		host_why(why, "pattern \"*\" is too broad");
		return PETRI_ERR_PERM;
	}
	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		out->wildcard = 1;
		s += 2;
		len -= 2;
	}
	if (memchr(s, '*', len) != NULL) {
		host_why(why,
		    "'*' is only allowed as the whole first label "
		    "(\"*.example.com\")");
		return PETRI_ERR_INVAL;
	}
	if ((r = host_canon(s, len, &out->host, why)) != 0)
		goto fail;
	if (!out->wildcard) {
		if (out->host.kind == HOST_KIND_NAME &&
		    addr_name_is_denied(out->host.name)) {
			host_why(why,
			    "host is always denied (localhost or cloud "
			    "metadata)");
			r = PETRI_ERR_PERM;
			goto fail;
		}
		memcpy(out->text, out->host.name, sizeof(out->host.name));
		return 0;
	}
	if (out->host.kind != HOST_KIND_NAME) {
		host_why(
		    why, "a wildcard needs a host name suffix, not an address");
		r = PETRI_ERR_INVAL;
		goto fail;
	}
	if (host_label_count(out->host.name) < 2) {
		host_why(why,
		    "wildcard too broad: at least two labels must follow "
		    "\"*.\"");
		r = PETRI_ERR_PERM;
		goto fail;
	}
	if (addr_name_is_denied(out->host.name)) {
		host_why(why, "wildcard covers only always-denied hosts");
		r = PETRI_ERR_PERM;
		goto fail;
	}
	if (strlen(out->host.name) > POLICY_HOST_MAX - 2) {
		host_why(why, "wildcard suffix too long");
		r = PETRI_ERR_TOOBIG;
		goto fail;
	}
	out->text[0] = '*';
	out->text[1] = '.';
	memcpy(out->text + 2, out->host.name, sizeof(out->host.name));
	return 0;
fail:
	memset(out, 0, sizeof(*out));
	return r;
}

int
host_pattern_match(const struct host_pattern *p, const struct host *h)
{
	size_t hl, sl;

	if (p == NULL || h == NULL || p->host.kind == 0 || h->kind == 0)
		return 0;
	if (!p->wildcard)
		return h->kind == p->host.kind &&
		    strcmp(h->name, p->host.name) == 0;
	if (h->kind != HOST_KIND_NAME || p->host.kind != HOST_KIND_NAME)
		return 0;
	hl = strnlen(h->name, sizeof(h->name));
	sl = strnlen(p->host.name, sizeof(p->host.name));
	if (hl >= sizeof(h->name) || hl < sl + 2)
		return 0;
	return h->name[hl - sl - 1] == '.' &&
	    strcmp(h->name + hl - sl, p->host.name) == 0;
}
