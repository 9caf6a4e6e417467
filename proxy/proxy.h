/*
 * proxy.h: the egress proxy engine (docs/egress.md): the only way out of a
 * sandbox.  It listens on the sandbox network's gateway address, identifies
 * each caller (source address + proxy token, proxy_ident.h), decides every
 * request with the sandbox's policy, resolves names itself and dials only
 * addresses it has checked, intercepts TLS with per-host leaves signed by
 * the keeper, injects credentials the keeper hands out only over verified
 * TLS to bound destinations, masks secrets echoed back, and reports every
 * request.
 *
 * The proxy process holds it; everything secret or persistent is behind the
 * keeper interface (struct proxy_keeper), which the proxy process implements
 * with IPC to the keeper and the tests implement in memory.  One thread per
 * client connection; every callback may be called from several threads at
 * once and must be thread-safe.
 *
 * Request rules (docs/egress.md, "Proxy"):
 *  - CONNECT host:port: canonical host, policy decided on (https, host,
 *    port) before any lookup; names of denied hosts are never resolved;
 *    every resolved address is checked (addr_is_denied()) and the checked
 *    address is the one dialled; the upstream TLS handshake (verified, SNI,
 *    TLS >= 1.2, ALPN http/1.1) completes before the client is answered
 *    200; then the client's TLS is accepted with a leaf for that host.
 *  - Inside a tunnel, every request: Host (and an absolute target's
 *    authority) must equal the CONNECT authority and the client's SNI must
 *    name the same host, else 421; the path is normalised and the policy
 *    decided again; hop-by-hop, Proxy-* and framing fields are dropped and
 *    framing is rewritten; credentials are injected; the response is relayed
 *    (redirects are never followed) and scanned for the secrets injected.
 *  - Plain "http://" requests (absolute-form) follow the same rules but are
 *    never given a credential.
 *  - Answers of the proxy itself are 400, 403, 407, 413, 417, 421, 429, 501,
 *    502, 503, 505 with a short JSON body {"error", "reason", "host"?,
 *    "rule"?} that never holds a secret.
 *  - Every request (and every refused CONNECT) is reported through
 *    proxy_keeper.report before the last byte of its answer is written.
 */
#ifndef PETRI_PROXY_H
#define PETRI_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "bounds.h"
#include "buf.h"
#include "petri_err.h"
#include "policy_bounds.h"
#include "proxy_bounds.h"
#include "proxy_ident.h"
#include "proxy_secmem.h"

/*
 * A credential handed out by the keeper for one request.  The values are in
 * sodium_malloc memory (the connection's scratch, proxy_secmem.h, when the
 * proxy passed one in mem); the proxy wipes them (proxy_cred_wipe()) as
 * soon as the request head is built, and the head once it is written.
 *  - header: the header to set (the request's own values of that header
 *    are all removed first: case 16); never Host, a framing, hop-by-hop or
 *    Proxy-* header, nor Accept-Encoding;
 *  - value: the complete header value, format applied ("Bearer sk_...",
 *    "Basic dXNlcjpzZWNyZXQ="); no CR, LF, NUL or other control byte but
 *    HTAB, else the proxy refuses to send it (case 15);
 *  - raw: the secret itself, from which the proxy derives what it scans
 *    responses for (case 14);
 *  - expect: for a placeholder, the exact header value the client must have
 *    sent (the format around the placeholder, vault_credential.expect);
 *    the proxy injects only when the declared header's value is exactly
 *    that.  NULL for header and basic injections.
 */
struct proxy_cred {
	char header[PROXY_HTTP_NAME_MAX + 1];
	unsigned char *value;
	size_t value_len;
	unsigned char *raw;
	size_t raw_len;
	unsigned char *expect;
	size_t expect_len;
	struct proxy_secmem *mem; /* set by the proxy; leave as it is */
};

/*
 * What the proxy asks the keeper for: one secret for one request
 * (vault_request, plus who asks).  With placeholder NULL, a header or basic
 * secret by name (vault_release()); otherwise the placeholder the proxy
 * found in the secret's declared header (vault_placeholder_resolve(); the
 * keeper must check that it resolves to that secret of that sandbox).
 */
struct proxy_cred_req {
	const char *sandbox;
	const char *secret; /* a name from the sandbox's identity */
	const char *placeholder; /* NUL-terminated, or NULL */
	const char *scheme; /* "https": the proxy never asks for http */
	const char *host; /* canonical */
	uint16_t port;
	const char *method;
	const char *path; /* normalised, no query; NULL when the path could
			     not be normalised */
};

/*
 * Fills c (header, value, raw and, for a placeholder, expect; expect may be
 * NULL) from plain bytes, copying the bytes into c->mem, or into fresh
 * sodium_malloc memory when it is NULL or full.  For keeper
 * implementations: the only way they should fill a credential.  Returns 0,
 * PETRI_ERR_INVAL (header name not a token, empty raw), PETRI_ERR_TOOBIG
 * (value or expect over PROXY_CRED_VALUE_MAX, raw over PROXY_CRED_RAW_MAX)
 * or PETRI_ERR_NOMEM.
 */
int proxy_cred_set(struct proxy_cred *c, const char *header, const void *value,
    size_t value_len, const void *raw, size_t raw_len, const void *expect,
    size_t expect_len) PETRI_WUR;

/* Wipes and frees the values; c may be reused.  Safe on a zeroed cred. */
void proxy_cred_wipe(struct proxy_cred *c);

/* Decisions in a record. */
#define PROXY_DECISION_ALLOW "allow"
#define PROXY_DECISION_DENY "deny"
#define PROXY_DECISION_ERROR "error"

/*
 * One request, as reported (AUDIT.md "network": metadata only, never a
 * header value, a body, a secret or a query value).  path is the
 * normalised path followed by the query's parameter names without their
 * values ("/v1/x?limit=&cursor="), cut at PROXY_REPORT_PATH_MAX bytes.
 */
struct proxy_record {
	int64_t time_usec; /* when the request head was read */
	char sandbox[PETRI_ID_MAX + 1]; /* "" when unidentified */
	char src[ADDR_TEXT_MAX]; /* source address */
	char method[POLICY_METHOD_MAX + 1];
	char scheme[8]; /* "http", "https" */
	char host[POLICY_HOST_MAX + 1]; /* canonical, "" if unknown */
	uint16_t port;
	char path[PROXY_REPORT_PATH_MAX + 1];
	int status; /* sent to the sandbox; 0 when none could be */
	uint64_t bytes_out; /* request bytes sent upstream */
	uint64_t bytes_in; /* response bytes sent to the sandbox */
	const char *decision; /* PROXY_DECISION_* */
	long rule; /* policy rule index, -1 when none */
	const char *reason; /* static text: why denied/failed, or "" */
	const char *policy_hash; /* "" when unidentified */
	char secrets[PROXY_SECRETS_MAX * (PROXY_SECRET_NAME_MAX + 1)];
	/* names of the secrets injected, comma-separated, or "" */
	uint64_t redactions; /* secret forms masked in the response */
};

/*
 * The keeper interface.  Every function is called from connection threads,
 * concurrently.
 *
 * leaf_sign: signs a leaf certificate for the canonical host (a name, or an
 * IP literal in addr_format() text) over the DER SubjectPublicKeyInfo of
 * the EC P-256 key the proxy generated (91 bytes), and appends to chain
 * either the DER leaf certificate (ca_issue_leaf_der()) or a PEM chain,
 * leaf first; at most PROXY_LEAF_CHAIN_MAX bytes.  The CA key never leaves
 * the keeper.  Returns 0 or a PETRI_ERR_* code.
 *
 * cred_get: the credential of one secret for one request.  Called only
 * after the upstream TLS handshake verified, the policy allowed the
 * request, and only for secrets of the sandbox's identity (header
 * secrets: every request; placeholder secrets: when their declared header
 * carries a placeholder).  The keeper decides whether the secret is bound
 * to that destination (scheme, host, port, method, path), and records the
 * release.  Returns 0 with *out filled (proxy_cred_set()),
 * PETRI_ERR_NOTFOUND or PETRI_ERR_PERM when nothing is released for that
 * request (not bound there, no grant, a placeholder of another sandbox),
 * another PETRI_ERR_* code on failure (the request is answered 502).
 *
 * report: one record per request (and per refused CONNECT).  Must not block
 * for long: the connection waits.
 */
struct proxy_keeper {
	void *ctx;
	int (*leaf_sign)(void *ctx, const char *host, const unsigned char *spki,
	    size_t spki_len, struct buf *chain);
	int (*cred_get)(void *ctx, const struct proxy_cred_req *req,
	    struct proxy_cred *out);
	void (*report)(void *ctx, const struct proxy_record *rec);
};

/*
 * Name resolution: fills out[0..*n) (at most max) with the addresses of
 * the canonical name.  Returns 0 (with *n >= 1), PETRI_ERR_NOTFOUND or
 * another PETRI_ERR_* code.
 */
struct proxy_resolver {
	void *ctx;
	int (*resolve)(void *ctx, const char *name, struct addr *out,
	    size_t max, size_t *n);
};

/*
 * Dialling: a connected TCP socket to a:port within timeout_ms, or a
 * negative PETRI_ERR_* code.  The proxy calls it only with an address that
 * passed addr_is_denied().
 */
struct proxy_dialer {
	void *ctx;
	int (*dial)(
	    void *ctx, const struct addr *a, uint16_t port, int timeout_ms);
};

/* The static name map of the appliance configuration ("egress.resolve"). */
struct proxy_resolve_entry {
	char name[POLICY_HOST_MAX + 1]; /* canonical */
	struct addr addr;
};

struct proxy_resolve_map {
	size_t n;
	struct proxy_resolve_entry *v; /* caller-owned */
	int no_system; /* 1: never ask the system resolver (tests) */
};

/*
 * Adds "name" -> "address" to a map whose v holds room for max entries.
 * The name is canonicalised (host_canon()); the address is IP text.
 * Returns 0, PETRI_ERR_INVAL or PETRI_ERR_TOOBIG.
 */
int proxy_resolve_map_add(struct proxy_resolve_map *m, size_t max,
    const char *name, const char *address) PETRI_WUR;

/*
 * The default resolver; ctx is a struct proxy_resolve_map * (may be NULL).
 * Names in the map resolve to their entry (several entries for one name
 * give several addresses); other names go to getaddrinfo(3) unless the map
 * says no_system.
 */
int proxy_resolve_default(
    void *ctx, const char *name, struct addr *out, size_t max, size_t *n);

/* The default dialer (ctx unused): non-blocking connect with a timeout. */
int proxy_dial_tcp(
    void *ctx, const struct addr *a, uint16_t port, int timeout_ms);

struct proxy_config {
	const char *listen_addr; /* IP text: the gateway; 127.0.0.1 in tests */
	uint16_t listen_port; /* 0: any free port (see proxy_port()) */
	struct proxy_ident_table *idents; /* required, caller-owned */
	struct proxy_keeper keeper; /* all three functions required */
	/* resolve NULL: proxy_resolve_default with resolver.ctx (the map) */
	struct proxy_resolver resolver;
	struct proxy_dialer dialer; /* dial NULL: proxy_dial_tcp */
	const struct addr_allowlist *allow; /* exact addresses allowed
					       although not public; may be
					       NULL */
	const char *upstream_ca_file; /* extra trusted roots (PEM), or NULL */
	int no_system_roots; /* 1: trust upstream_ca_file only (tests) */
	unsigned int max_conns; /* 0: PROXY_CONNS_MAX; never above */
	unsigned int max_conns_per_src; /* 0: PROXY_CONNS_PER_SRC_MAX */
	int io_timeout_ms; /* 0: PROXY_IO_TIMEOUT_MS */
};

struct proxy;

/* Counters for tests and the status page. */
struct proxy_stats {
	uint64_t conns_open; /* client connections now */
	uint64_t conns_total; /* accepted since start */
	uint64_t conns_refused; /* closed at accept by a connection limit */
	uint64_t leaves_signed; /* leaf_sign calls that succeeded */
};

/*
 * Creates a proxy listening on cfg->listen_addr:listen_port (not yet
 * accepting; see proxy_start()).  cfg and what it points to must outlive the
 * proxy.  Returns 0, PETRI_ERR_INVAL (configuration), PETRI_ERR_IO (bind,
 * listen), PETRI_ERR_CRYPTO (TLS set-up, CA file) or PETRI_ERR_NOMEM.
 */
int proxy_new(const struct proxy_config *cfg, struct proxy **out) PETRI_WUR;

/* The port the proxy listens on. */
uint16_t proxy_port(const struct proxy *p);

/*
 * Starts accepting in a thread of its own.  The proxy's threads block
 * SIGPIPE (a peer that went away is an EPIPE).  Returns 0 or PETRI_ERR_IO.
 */
int proxy_start(struct proxy *p) PETRI_WUR;

/* Fills *st. */
void proxy_stats(struct proxy *p, struct proxy_stats *st);

/*
 * Stops accepting, ends every open connection, waits for their threads,
 * frees the proxy.  NULL is a no-op.
 */
void proxy_free(struct proxy *p);

#endif /* PETRI_PROXY_H */
