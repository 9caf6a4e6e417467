/*
 * proxy_tls.h: the proxy's two TLS roles (docs/egress.md, "TLS
 * interception CA").
 *  - Toward upstreams, a client that always verifies: system roots and/or a
 *    configured CA file, host name (or IP) checked, SNI = the canonical
 *    host, TLS >= 1.2, ALPN "http/1.1" only.
 *  - Toward sandboxes, a server with a leaf per host: an EC P-256 key pair
 *    generated here, its public key signed by the keeper's CA
 *    (proxy_keeper.leaf_sign), cached per host until shortly before it
 *    expires (at most PROXY_LEAF_TTL_SEC); ALPN "http/1.1" only.
 * Thread-safe.
 */
#ifndef PETRI_PROXY_TLS_H
#define PETRI_PROXY_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "host.h"
#include "petri_err.h"
#include "proxy.h"

struct proxy_tls;

/*
 * Creates the TLS state.  ca_file may be NULL; with no_system_roots the
 * system roots are not trusted (then ca_file is required).  keeper must
 * outlive the result.  Returns 0, PETRI_ERR_INVAL or PETRI_ERR_CRYPTO.
 */
int proxy_tls_new(const char *ca_file, int no_system_roots,
    const struct proxy_keeper *keeper, struct proxy_tls **out) PETRI_WUR;

/* Frees the state and every cached leaf.  NULL is a no-op. */
void proxy_tls_free(struct proxy_tls *t);

/*
 * Returns in *out a server context holding the leaf for the canonical host
 * h (one reference: the caller calls SSL_CTX_free()), from the cache or
 * freshly signed.  The leaf must name the host and carry the generated key.
 * Returns 0 or PETRI_ERR_CRYPTO / PETRI_ERR_NOMEM / the keeper's error with
 * *why (static text).
 */
int proxy_tls_leaf(struct proxy_tls *t, const struct host *h, SSL_CTX **out,
    const char **why) PETRI_WUR;

/*
 * Runs the client handshake with the upstream on the connected socket fd
 * for the canonical host h.  Returns 0 with *out set (caller frees with
 * SSL_free(); fd stays the caller's), or PETRI_ERR_CRYPTO with *why naming
 * the failure (certificate verification error text, handshake failure).
 */
int proxy_tls_connect(struct proxy_tls *t, int fd, const struct host *h,
    SSL **out, const char **why) PETRI_WUR;

/*
 * Runs the server handshake with a sandbox on fd using a context from
 * proxy_tls_leaf().  Copies the client's SNI (or "" when it sent none) to
 * sni.  Returns 0 with *out set, or PETRI_ERR_CRYPTO.
 */
int proxy_tls_accept(
    SSL_CTX *ctx, int fd, SSL **out, char *sni, size_t snilen) PETRI_WUR;

/* Number of leaves signed so far. */
uint64_t proxy_tls_leaves_signed(struct proxy_tls *t);

#endif /* PETRI_PROXY_TLS_H */
