/*
 * proxy_bounds.h: every limit of the egress proxy (HTTP grammar, bodies,
 * connections, caches, credentials).  Kept beside the proxy, as
 * policy_bounds.h is beside the policy library, so the pure parser builds
 * on its own.  Nothing here may be raised by operators; proxy_config can
 * lower the connection limits.
 */
#ifndef PETRI_PROXY_BOUNDS_H
#define PETRI_PROXY_BOUNDS_H

/* HTTP/1.1 heads (requests from sandboxes and responses from upstreams) */
#define PROXY_HTTP_HEAD_MAX (64 * 1024) /* start line + fields + CRLF */
#define PROXY_HTTP_LINE_MAX (16 * 1024) /* one start line or field line */
#define PROXY_HTTP_FIELDS_MAX 128 /* field lines in one head */
#define PROXY_HTTP_NAME_MAX 64 /* a field name we compare or store */
#define PROXY_HTTP_CONN_TOKENS_MAX 16 /* tokens in Connection */
#define PROXY_HTTP_CHUNK_LINE_MAX 4096 /* chunk-size + extensions */
#define PROXY_HTTP_CHUNK_DIGITS_MAX 16 /* hex digits of a chunk-size */
#define PROXY_HTTP_TRAILER_MAX (16 * 1024) /* trailer section, dropped */
#define PROXY_HTTP_LENGTH_MAX (1ULL << 62) /* a Content-Length / chunk */

/* Connections */
#define PROXY_CONNS_MAX 1024 /* open client connections, all sandboxes */
#define PROXY_CONNS_PER_SRC_MAX 64 /* from one source address */
#define PROXY_SRC_TABLE_MAX 1024 /* distinct source addresses tracked */
#define PROXY_IO_TIMEOUT_MS 60000 /* idle read/write on any socket */
#define PROXY_DIAL_TIMEOUT_MS 10000 /* TCP connect upstream */
#define PROXY_IO_CHUNK (16 * 1024) /* one read, one chunk written */
#define PROXY_THREAD_STACK (256 * 1024)
#define PROXY_RESP_BODY_MAX (4ULL << 30) /* one response body relayed */

/* Identities and per-sandbox accounting */
#define PROXY_TOKEN_MAX 128 /* proxy token text, bytes */
#define PROXY_IDENTS_MAX 4096 /* sandboxes known to the proxy */
#define PROXY_SECRETS_MAX 16 /* secrets bound to one sandbox */
#define PROXY_SECRET_NAME_MAX 64
#define PROXY_PLACEHOLDER_MIN 16 /* shorter placeholders are refused */
#define PROXY_PLACEHOLDER_MAX 128
#define PROXY_RATE_SLOTS 64 /* hosts tracked per sandbox for rate */
#define PROXY_AUTH_MAX 512 /* Proxy-Authorization value, bytes */

/* Credentials and response scanning */
#define PROXY_CRED_VALUE_MAX 12288 /* formatted header value */
#define PROXY_CRED_RAW_MAX 8192 /* raw secret value */
#define PROXY_SCAN_PATTERNS_MAX (9 * PROXY_SECRETS_MAX) /* all forms */
#define PROXY_SCAN_PATTERN_MAX (3 * PROXY_CRED_RAW_MAX) /* URL-encoded */
#define PROXY_SCAN_MIN 4 /* shorter forms are not scanned */
#define PROXY_SECMEM_SIZE (64 * 1024) /* a connection's secret scratch */

/* Interception leaves */
#define PROXY_LEAF_CACHE_MAX 256 /* hosts with a cached leaf */
#define PROXY_LEAF_TTL_SEC (12 * 3600) /* at most, whatever notAfter says */
#define PROXY_LEAF_MARGIN_SEC 300 /* renew this long before notAfter */
#define PROXY_LEAF_CHAIN_MAX (64 * 1024) /* PEM chain from the keeper */

/* Resolution */
#define PROXY_RESOLVE_MAX 16 /* addresses of one name */
#define PROXY_RESOLVE_MAP_MAX 1024 /* static name map entries */

/* Reports */
#define PROXY_REPORT_PATH_MAX 1024 /* path (query names only) in a record */

#endif /* PETRI_PROXY_BOUNDS_H */
