/*
 * policy_bounds.h: every limit of the policy library (addresses, hosts,
 * paths, policy documents).  Kept here rather than in bounds.h so the pure
 * library builds on its own; the values follow the same rule: each input is
 * bounded before it is parsed, and nothing here may be raised by operators.
 */
#ifndef PETRI_POLICY_BOUNDS_H
#define PETRI_POLICY_BOUNDS_H

/* Hosts and addresses */
#define POLICY_HOST_MAX 253 /* canonical host name, bytes */
#define POLICY_LABEL_MAX 63 /* one DNS label */
#define POLICY_HOST_INPUT_MAX 255 /* host text before canonicalisation */
#define POLICY_AUTHORITY_MAX 262 /* host input + ":65535" + slack */
#define ADDR_ALLOWLIST_MAX 64 /* operator allow-listed addresses */

/* Request paths */
#define POLICY_REQ_PATH_MAX 8192 /* path of a request target, bytes */

/* Policy documents */
#define POLICY_MAX_DOC (1024 * 1024) /* one JSON document, bytes */
#define POLICY_NAME_MAX 64 /* "name" */
#define POLICY_MAX_RULES 256 /* allow rules + registry expansions */
#define POLICY_MAX_METHODS 16 /* methods of one rule */
#define POLICY_METHOD_MAX 20 /* one method token */
#define POLICY_MAX_PATHS 64 /* path prefixes of one rule */
#define POLICY_PATH_MAX 1024 /* one path prefix in a rule */
#define POLICY_MAX_REGISTRIES 16 /* names in "registries" */
#define POLICY_REGISTRY_NAME_MAX 32 /* one registry preset name */
#define POLICY_MAX_REGISTRY_HOSTS 64 /* hosts configured for one preset */
#define POLICY_ERR_MAX 256 /* suggested size of an error buffer */

/* "limits": the value used when a field is absent, and the largest allowed */
#define POLICY_DEFAULT_MAX_BODY_BYTES (1ULL << 20)
#define POLICY_MAX_MAX_BODY_BYTES (256ULL << 20)
#define POLICY_DEFAULT_MAX_BYTES_OUT (16ULL << 20) /* per exec */
#define POLICY_MAX_MAX_BYTES_OUT (4ULL << 30)
#define POLICY_DEFAULT_MAX_REQUESTS 10000ULL /* per exec */
#define POLICY_MAX_MAX_REQUESTS 1000000ULL
#define POLICY_DEFAULT_RATE_PER_HOST 50ULL /* requests per second */
#define POLICY_MAX_RATE_PER_HOST 10000ULL

#endif /* PETRI_POLICY_BOUNDS_H */
