/*
 * binding.h: secret bindings: where a secret may go and how it is injected.
 *
 * A binding is the JSON object of API.md's secret routes without "name" and
 * "value":
 *
 *   {"hosts": ["api.stripe.com", "*.stripe.com"],       required, 1..32
 *    "methods": ["GET", "POST"],                         optional
 *    "paths": ["/v1/"],                                  optional
 *    "port": 443,                                        optional (443)
 *    "inject": {"header": "Authorization", "format": "Bearer {value}"}
 *            | {"basic": {"username": "api"}}
 *            | {"placeholder": {"env": "STRIPE_API_KEY",
 *                               "header": "Authorization",
 *                               "format": "Bearer {value}"}}}
 *
 * Parsing is strict: duplicate keys, unknown fields, wrong types and
 * out-of-bounds values are refused.  Hosts go through host_pattern_parse()
 * (exact host or "*.suffix"; over-broad and always-denied patterns are
 * refused) and are stored canonical; methods are upper-case tokens (not
 * CONNECT); paths must already be in path_normalize() form without a query;
 * a header name is an RFC 9110 token that is not a framing, hop-by-hop or
 * proxy header (Host, Content-Length, Transfer-Encoding, Connection, TE,
 * Trailer, Upgrade, Keep-Alive, Proxy-*); a format is printable ASCII
 * (no CR, LF, NUL or other control byte), holds "{value}" exactly once and
 * no other brace, and has no leading or trailing space ("format" may be
 * omitted: "{value}"); a basic user name is printable ASCII without ':'; an
 * env name is [A-Z_][A-Z0-9_]* and not one Petri sets itself (proxy and CA
 * variables, PATH, HOME, LD_*, PETRI_*).  Duplicates are refused.
 *
 * Credentials are injected over https only, on the binding's port (443 when
 * absent).  Pure: no I/O, no globals.
 */
#ifndef PETRI_VAULT_BINDING_H
#define PETRI_VAULT_BINDING_H

#include <stddef.h>
#include <stdint.h>

#include "host.h"
#include "petri_err.h"
#include "policy_bounds.h"
#include "vault_bounds.h"

#define VAULT_INJECT_HEADER 1 /* header: format around the value */
#define VAULT_INJECT_BASIC 2 /* Authorization: Basic base64(user:value) */
#define VAULT_INJECT_PLACEHOLDER 3 /* header, only in place of a placeholder */

/* A parsed binding.  Free with vault_binding_free(). */
struct vault_binding {
	size_t nhosts;
	struct host_pattern hosts[VAULT_MAX_HOSTS];
	size_t nmethods; /* 0: any method */
	char methods[POLICY_MAX_METHODS][POLICY_METHOD_MAX + 1];
	size_t npaths; /* 0: any path */
	char paths[VAULT_MAX_PATHS][POLICY_PATH_MAX + 1];
	uint16_t port; /* 0 when absent: 443 */
	int inject; /* VAULT_INJECT_* */
	char header[VAULT_HEADER_MAX + 1]; /* "Authorization" for basic */
	char format[VAULT_FORMAT_MAX + 1]; /* header, placeholder */
	char username[VAULT_USERNAME_MAX + 1]; /* basic */
	char env[VAULT_ENV_MAX + 1]; /* placeholder */
};

/*
 * One outgoing request, as the proxy describes it.  Nothing here is
 * trusted: vault_binding_match() checks each field's form itself.
 */
struct vault_request {
	const char *scheme; /* only "https" can match */
	const char *host; /* canonical host text (host_canon()) */
	uint16_t port; /* 1..65535 */
	const char *method; /* upper-case token */
	const char *path; /* path_normalize() output, no query */
};

/*
 * Parses the len bytes of a binding document (see above) into a new binding
 * in *out (caller frees with vault_binding_free()).  On error *out is NULL
 * and err (errlen bytes, may be NULL) names the field ("hosts[1]: ...").
 * Returns 0, PETRI_ERR_INVAL (malformed), PETRI_ERR_PERM (an over-broad or
 * always-denied host), PETRI_ERR_TOOBIG (over a bound) or PETRI_ERR_NOMEM.
 */
int vault_binding_parse(const char *doc, size_t len, struct vault_binding **out,
    char *err, size_t errlen) PETRI_WUR;

/* Frees a binding; NULL is a no-op. */
void vault_binding_free(struct vault_binding *b);

/*
 * Writes the canonical form of b into *out (caller frees with free()),
 * *lenp bytes, NUL-terminated: compact JSON, keys sorted, hosts canonical,
 * "format" always present for header and placeholder injections.  Parsing
 * the canonical form gives it back byte for byte; it is what the vault
 * stores and binds into each ciphertext's associated data.
 * Returns 0, PETRI_ERR_INVAL or PETRI_ERR_NOMEM.
 */
int vault_binding_canonical(
    const struct vault_binding *b, char **out, size_t *lenp) PETRI_WUR;

/*
 * Decides whether req may carry the secret bound by b: scheme "https"; host
 * in canonical form and matched by one of b's patterns; port equal to b's
 * (443 when absent); method a token in b's list (any when none); path in
 * normal form under one of b's prefixes (any when none).  Returns 0 when it
 * may, PETRI_ERR_PERM when it may not (*why, when why is not NULL, names the
 * first failed check in static text) and PETRI_ERR_INVAL for NULL
 * arguments or malformed fields (also a denial).
 */
int vault_binding_match(const struct vault_binding *b,
    const struct vault_request *req, const char **why) PETRI_WUR;

/*
 * Writes into out (outsz bytes) the header value b injects for the vlen
 * bytes of value: the format with "{value}" replaced, or for basic auth
 * "Basic " and the base64 of "username:value".  *lenp gets the length
 * (out is NUL-terminated).  The value must pass vault_value_valid().
 * Returns 0, PETRI_ERR_INVAL or PETRI_ERR_TOOBIG (out too small).
 */
int vault_binding_format(const struct vault_binding *b, const char *value,
    size_t vlen, char *out, size_t outsz, size_t *lenp) PETRI_WUR;

/*
 * Returns 1 when the vlen bytes of value may be stored as a secret value:
 * 1 to VAULT_VALUE_MAX bytes, no control byte (CR, LF, NUL, HTAB, DEL and
 * the other C0 bytes), no leading or trailing space.  Returns 0 otherwise.
 */
int vault_value_valid(const char *value, size_t vlen);

/* Returns 1 when s (NUL-terminated) is a secret name: [a-z0-9_-]{1,64}. */
int vault_name_valid(const char *s);

/* Returns 1 when s is a tenant: [a-z0-9_-]{1,63} (as the api checks it). */
int vault_tenant_valid(const char *s);

#endif /* PETRI_VAULT_BINDING_H */
