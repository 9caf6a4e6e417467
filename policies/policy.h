/*
 * policy.h: egress policies (docs/policies.md): parse a policy document,
 * evaluate a request against it.
 *
 * Pure: no I/O, no globals, no DNS.  An "allow" decision is necessary, not
 * sufficient: the proxy still checks every address it dials with
 * addr_is_denied(), never injects credentials over plain http, and enforces
 * the policy's limits.
 */
#ifndef PETRI_POLICY_H
#define PETRI_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "host.h"
#include "petri_err.h"
#include "policy_bounds.h"
#include "util.h"

#define POLICY_SCHEME_HTTP 0x1
#define POLICY_SCHEME_HTTPS 0x2

/* The built-in default policy: the exact bytes of examples/deny-all.json. */
#define POLICY_DENY_ALL_JSON                                                   \
	"{\"name\": \"deny-all\", \"default\": \"deny\", \"allow\": []}\n"

/* One allow rule. */
struct policy_rule {
	struct host_pattern host;
	unsigned int schemes; /* POLICY_SCHEME_* bits */
	uint16_t port; /* 0: the default port of the scheme */
	size_t nmethods; /* 0: any method */
	char methods[POLICY_MAX_METHODS][POLICY_METHOD_MAX + 1];
	size_t npaths; /* 0: any path */
	char **paths; /* normalised path prefixes */
	char registry[POLICY_REGISTRY_NAME_MAX + 1]; /* "" for "allow" */
};

struct policy_limits {
	uint64_t max_body_bytes; /* one request body */
	uint64_t max_bytes_out; /* request bytes sent, per exec */
	uint64_t max_requests; /* per exec */
	uint64_t rate_per_host; /* requests per second */
};

/* A parsed policy.  Free with policy_free(). */
struct policy {
	char name[POLICY_NAME_MAX + 1];
	char hash[PETRI_SHA256_HEX]; /* SHA-256 of the document's bytes */
	struct policy_limits limits; /* defaults filled in */
	size_t nallow; /* rules[0..nallow) are "allow" */
	size_t nrules; /* then the registry expansions */
	struct policy_rule *rules;
	size_t nregistries;
	char registries[POLICY_MAX_REGISTRIES][POLICY_REGISTRY_NAME_MAX + 1];
};

/*
 * Operator configuration of one registry preset: the host patterns it
 * expands to ("host", "*.suffix", or either with ":port").  Expanded rules
 * allow GET and HEAD only, on http and https, any path.
 */
struct policy_registry {
	const char *name; /* "pypi", "npm", "go", "maven", ... */
	const char *const *hosts;
	size_t nhosts;
};

struct policy_registry_map {
	const struct policy_registry *v;
	size_t n;
};

/* One request (or connection) to decide. */
struct egress_request {
	const char *scheme; /* "http" or "https" */
	const struct host *host; /* from host_canon() */
	uint16_t port; /* 1..65535 */
	const char *method; /* NULL: connection-level (CONNECT) */
	const char *path; /* from path_normalize(); NULL when
					   normalisation failed */
};

/*
 * Why a request was denied.  HOST to PATH are in increasing order of how
 * far the best rule matched.
 */
enum policy_reason {
	POLICY_ALLOWED = 0,
	POLICY_DENY_INVALID, /* malformed request or policy */
	POLICY_DENY_NAME, /* always-denied host name */
	POLICY_DENY_HOST, /* "no rule for host" */
	POLICY_DENY_SCHEME, /* "scheme not allowed" */
	POLICY_DENY_PORT, /* "port not allowed" */
	POLICY_DENY_METHOD, /* "method not allowed" */
	POLICY_DENY_PATH /* "path not allowed" */
};

struct policy_decision {
	int allow; /* 1 allowed, 0 denied */
	long rule; /* index into rules[], -1 when denied */
	enum policy_reason reason;
	const char *why; /* static text of reason */
};

/*
 * Parses the len bytes of a policy document (strict: duplicate keys,
 * unknown fields, wrong types and out-of-bounds values are refused) into a
 * new policy in *out (caller frees with policy_free()).  Registry names are
 * expanded through regs (may be NULL: every preset expands to nothing);
 * "pypi", "npm", "go" and "maven" are always valid names, others only when
 * regs names them.  On error *out is NULL and err (errlen bytes, may be
 * NULL) holds a message naming the field ("allow[1].host: ...").
 * Returns 0, PETRI_ERR_INVAL (malformed), PETRI_ERR_PERM (an over-broad
 * or always-denied host), PETRI_ERR_TOOBIG (over a bound) or
 * PETRI_ERR_NOMEM.
 */
int policy_parse(const char *doc, size_t len,
    const struct policy_registry_map *regs, struct policy **out, char *err,
    size_t errlen) PETRI_WUR;

/*
 * Creates the built-in default policy "deny-all" (no rule; parsed from
 * POLICY_DENY_ALL_JSON, so its hash is that of those bytes).  Caller frees
 * with policy_free().  Returns 0 or PETRI_ERR_NOMEM.
 */
int policy_default_new(struct policy **out) PETRI_WUR;

/* Frees a policy; NULL is a no-op. */
void policy_free(struct policy *p);

/*
 * Writes the canonical form of p into *out (caller frees with free()),
 * *lenp bytes, NUL-terminated: compact JSON, keys sorted, hosts and paths
 * canonical, every limit explicit, registries as names (not expanded).
 * Parsing the canonical form gives it back byte for byte.
 * Returns 0, PETRI_ERR_INVAL or PETRI_ERR_NOMEM.
 */
int policy_canonical(
    const struct policy *p, char **out, size_t *lenp) PETRI_WUR;

/*
 * Decides req under p.  The first rule (lowest index) whose host pattern,
 * scheme, port, method and path prefixes all match allows the request;
 * a rule without "port" matches only the default port of the request's
 * scheme.  With req->method NULL only host, scheme and port are checked
 * (a CONNECT: each request inside the tunnel is decided again).  Always
 * fills *out: allowed with the rule index, or denied with the reason of the
 * rule that matched furthest.  Returns 0 when allowed, PETRI_ERR_PERM when
 * denied, PETRI_ERR_INVAL (also a denial) for NULL or malformed arguments.
 */
int policy_eval(const struct policy *p, const struct egress_request *req,
    struct policy_decision *out) PETRI_WUR;

/* Returns the static text of a reason ("no rule for host"). */
const char *policy_reason_str(enum policy_reason r);

#endif /* PETRI_POLICY_H */
