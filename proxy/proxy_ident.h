/*
 * proxy_ident.h: who is calling the proxy.  A sandbox is known by its source
 * address on the sandbox network and by its proxy token (the password of
 * the proxy URL, "http://sb:<token>@gateway:port"); both must agree
 * (docs/egress.md, "Who is calling"; attack case 18).  An identity also
 * carries the sandbox's policy, the secrets bound to it and its live
 * accounting:
 * requests and bytes sent in the current execution, requests per second per
 * host.
 *
 * The table is filled by the proxy process from the keeper's or the
 * parent's messages (sandbox created: add; sandbox deleted: remove;
 * execution started: exec_begin).  Identities are reference counted: a
 * connection holds one while it runs; removing a sandbox revokes its
 * identity, and its open connections end at their next request.
 * Thread-safe.
 */
#ifndef PETRI_PROXY_IDENT_H
#define PETRI_PROXY_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "bounds.h"
#include "host.h"
#include "petri_err.h"
#include "policy.h"
#include "proxy_bounds.h"

/*
 * A secret bound to a sandbox, as the proxy sees it: a name (the keeper
 * holds the value and the binding, and decides every release) and, for a
 * placeholder injection (docs/egress.md, "Vault"), the header the placeholder
 * must be sent in.  header empty: a header or basic injection, which the
 * proxy asks the keeper for on every request over verified TLS.  header
 * set: a placeholder injection, asked for only when a value of that header
 * carries a placeholder; placeholder is then the sandbox's placeholder
 * text when the proxy is told it, or empty to recognise the vault's form
 * ("petri_ph_" and 32 base32 characters) and let the keeper resolve it.
 */
struct proxy_secret_ref {
	char name[PROXY_SECRET_NAME_MAX + 1];
	char header[PROXY_HTTP_NAME_MAX + 1];
	char placeholder[PROXY_PLACEHOLDER_MAX + 1];
};

struct proxy_ident;
struct proxy_ident_table;

/*
 * Creates an identity: sandbox id, source address (IPv4 or IPv6 text, no
 * zone), proxy token (printable ASCII, 16 to PROXY_TOKEN_MAX bytes; only
 * its SHA-256 is kept), the sandbox's policy and its secrets (names of
 * [A-Za-z0-9._-], at most PROXY_SECRETS_MAX; headers tokens; placeholders
 * printable ASCII without spaces, PROXY_PLACEHOLDER_MIN to _MAX bytes, and
 * only with a header).  policy belongs to the identity from this call on, also
 * when it fails.  *out has one reference (release with
 * proxy_ident_release()).  Returns 0, PETRI_ERR_INVAL or PETRI_ERR_NOMEM.
 */
int proxy_ident_new(const char *sandbox, const char *src, const char *token,
    struct policy *policy, const struct proxy_secret_ref *secrets,
    size_t nsecrets, struct proxy_ident **out) PETRI_WUR;

/* Takes one more reference. */
void proxy_ident_ref(struct proxy_ident *id);

/* Drops one reference; the last frees the identity.  NULL is a no-op. */
void proxy_ident_release(struct proxy_ident *id);

/* Accessors; the results live as long as the reference the caller holds. */
const char *proxy_ident_sandbox(const struct proxy_ident *id);
const struct policy *proxy_ident_policy(const struct proxy_ident *id);
size_t proxy_ident_nsecrets(const struct proxy_ident *id);
const struct proxy_secret_ref *proxy_ident_secret(
    const struct proxy_ident *id, size_t i);

/* Returns 1 once the sandbox was removed from its table, else 0. */
int proxy_ident_revoked(const struct proxy_ident *id);

/*
 * Admits one request to host under the identity's limits: the policy's
 * max_requests per execution and rate_per_host (requests in the current
 * second, per canonical host).  Counts it when admitted.  Returns 0 or
 * PETRI_ERR_LIMIT with *why (static text) naming the limit.
 */
int proxy_ident_admit(struct proxy_ident *id, const struct host *host,
    int64_t now_ms, const char **why) PETRI_WUR;

/*
 * Accounts n more bytes sent upstream in the current execution.  Returns 0,
 * or PETRI_ERR_LIMIT (nothing counted) when that would pass the policy's
 * max_bytes_out.
 */
int proxy_ident_bytes_out(struct proxy_ident *id, uint64_t n) PETRI_WUR;

/* A new, empty table.  Returns 0 or PETRI_ERR_NOMEM. */
int proxy_ident_table_new(struct proxy_ident_table **out) PETRI_WUR;

/* Revokes and releases every identity, frees the table.  NULL: no-op. */
void proxy_ident_table_free(struct proxy_ident_table *t);

/*
 * Adds id, taking over the caller's reference (also on failure, when the
 * identity is released).  Returns 0, PETRI_ERR_EXISTS (the sandbox or the
 * source address is already known) or PETRI_ERR_TOOBIG
 * (PROXY_IDENTS_MAX).
 */
int proxy_ident_table_add(
    struct proxy_ident_table *t, struct proxy_ident *id) PETRI_WUR;

/*
 * Removes and revokes the sandbox's identity.  Returns 0 or
 * PETRI_ERR_NOTFOUND.
 */
int proxy_ident_table_remove(
    struct proxy_ident_table *t, const char *sandbox) PETRI_WUR;

/*
 * Starts a new execution window for the sandbox: its request and byte
 * counters restart at zero.  Returns 0 or PETRI_ERR_NOTFOUND.
 */
int proxy_ident_table_exec_begin(
    struct proxy_ident_table *t, const char *sandbox) PETRI_WUR;

/*
 * Finds the identity of a caller: the one whose source address is src and
 * whose token is token[0..toklen) (compared as SHA-256 digests in constant
 * time).  On success *out holds a new reference.  Returns 0 or
 * PETRI_ERR_PERM (unknown source, wrong token, or a token of another
 * sandbox).
 */
int proxy_ident_table_lookup(struct proxy_ident_table *t,
    const struct addr *src, const char *token, size_t toklen,
    struct proxy_ident **out) PETRI_WUR;

#endif /* PETRI_PROXY_IDENT_H */
