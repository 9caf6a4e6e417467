/*
 * host.h: host canonicalisation and host pattern matching.
 *
 * A host from a request (CONNECT authority, Host header, absolute URI) or
 * from a policy is reduced to one canonical text before any comparison:
 *  - names: ASCII only, lower case, one trailing dot stripped, labels of
 *    [a-z0-9-] (no '_'), 1 to 63 bytes, no leading or trailing hyphen,
 *    at most 253 bytes in all, last label not numeric (a name ending in a
 *    number is an IPv4 spelling, see addr.h);
 *  - internationalised names must be written as A-labels ("xn--..."): raw
 *    UTF-8 is refused, so a homograph never compares equal to the ASCII
 *    name it imitates; A-labels are compared as opaque ASCII;
 *  - IP literals in any spelling become their canonical address text
 *    (addr_format()); zone ids are refused.
 * Pure: no I/O, no globals, no DNS.
 */
#ifndef PETRI_HOST_H
#define PETRI_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "petri_err.h"
#include "policy_bounds.h"

#define HOST_KIND_NAME 1
#define HOST_KIND_ADDR 2

/* A canonical host. */
struct host {
	int kind; /* HOST_KIND_NAME or HOST_KIND_ADDR */
	char name[POLICY_HOST_MAX + 1]; /* canonical text */
	struct addr addr; /* HOST_KIND_ADDR only */
};

/* A policy host pattern: an exact host, or "*." and a name suffix. */
struct host_pattern {
	int wildcard; /* 1 for "*.suffix" */
	struct host host; /* the exact host, or the suffix */
	char text[POLICY_HOST_MAX + 3]; /* canonical pattern text */
};

/*
 * Canonicalises the len bytes of s (no NUL needed) into *out (see above).
 * "[v6]" and bare IPv6 text are accepted.  On error *why (when why is not
 * NULL) names the problem in static text.  Returns 0, PETRI_ERR_INVAL,
 * PETRI_ERR_PERM (an IPv6 zone id) or PETRI_ERR_TOOBIG (len >
 * POLICY_HOST_INPUT_MAX).
 */
int host_canon(
    const char *s, size_t len, struct host *out, const char **why) PETRI_WUR;

/* Returns the default port of "http" (80) or "https" (443), else 0. */
uint16_t host_scheme_port(const char *scheme);

/*
 * Parses an authority "host", "host:port", "[v6]" or "[v6]:port" of len
 * bytes: the host through host_canon(), the port as 1 to 5 decimal digits
 * in 1..65535 without leading zeros.  Without a port, *port is the default
 * port of scheme; scheme NULL means a port is required (CONNECT).  Userinfo
 * ("user@host") and empty ports are refused.  Returns 0, PETRI_ERR_INVAL,
 * PETRI_ERR_PERM or PETRI_ERR_TOOBIG; *why as for host_canon().
 */
int host_authority_parse(const char *s, size_t len, const char *scheme,
    struct host *h, uint16_t *port, const char **why) PETRI_WUR;

/*
 * Parses a policy host pattern: an exact host (name or IP literal) or
 * "*.suffix" where suffix is a name of at least two labels.  "*", "*.com"
 * and any other single-label suffix are refused as over-broad; a full
 * public-suffix list is not embedded, so "*.co.uk" is accepted: operators
 * must not write such patterns.  '*' anywhere else, and names that
 * addr_name_is_denied() (or, for a wildcard, a ".localhost" suffix), are
 * refused.  Returns 0, PETRI_ERR_INVAL (malformed), PETRI_ERR_PERM
 * (over-broad or always-denied) or PETRI_ERR_TOOBIG; *why as above.
 */
int host_pattern_parse(const char *s, size_t len, struct host_pattern *out,
    const char **why) PETRI_WUR;

/*
 * Returns 1 when the canonical host h matches p: equal canonical text for an
 * exact pattern; for "*.suffix", a name that ends in "." + suffix with at
 * least one label before it (so "*.example.com" matches "a.example.com"
 * and "a.b.example.com", not "example.com" nor "badexample.com").  IP
 * literals only match exact patterns.  Returns 0 otherwise and for NULL.
 */
int host_pattern_match(
    const struct host_pattern *p, const struct host *h) PETRI_WUR;

#endif /* PETRI_HOST_H */
