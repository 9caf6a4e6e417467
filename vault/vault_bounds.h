/*
 * vault_bounds.h: every limit of the vault and the interception CA.  Kept
 * here rather than in bounds.h (as policy_bounds.h is) so vault/ builds on
 * the policy library alone; the same rule holds: each input is bounded
 * before it is parsed, and nothing here may be raised by operators.
 */
#ifndef PETRI_VAULT_BOUNDS_H
#define PETRI_VAULT_BOUNDS_H

/* Secrets */
#define VAULT_NAME_MAX 64 /* secret name, [a-z0-9_-] */
#define VAULT_TENANT_MAX 63 /* tenant, [a-z0-9_-] (as api_keys.c) */
#define VAULT_VALUE_MAX 8192 /* one secret value, bytes */
#define VAULT_MAX_SECRETS 1000 /* secrets of one tenant */
#define VAULT_MASTER_KEY_LEN 32 /* master key file: exactly these bytes */
#define VAULT_FINGERPRINT_HEX 16 /* hex digits of the fingerprint */

/* Bindings */
#define VAULT_BINDING_MAX 32768 /* binding JSON, bytes */
#define VAULT_MAX_HOSTS 32 /* "hosts" */
#define VAULT_MAX_PATHS 16 /* "paths" */
#define VAULT_HEADER_MAX 64 /* an injected header's name */
#define VAULT_FORMAT_MAX 256 /* "format", with its "{value}" */
#define VAULT_USERNAME_MAX 256 /* basic auth user name */
#define VAULT_ENV_MAX 128 /* placeholder env variable name */
#define VAULT_ERR_MAX 256 /* suggested size of an error buffer */

/*
 * An injected header value: the format around a value, or "Basic " and
 * the base64 of "user:value" (6 + 4 * ceil((256 + 1 + 8192) / 3) = 11274).
 */
#define VAULT_INJECT_MAX 12288

/* Placeholders: "petri_ph_" and 32 base32 characters (160 random bits) */
#define VAULT_PLACEHOLDER_PREFIX "petri_ph_"
#define VAULT_PLACEHOLDER_RANDOM 32
#define VAULT_PLACEHOLDER_LEN (9 + VAULT_PLACEHOLDER_RANDOM)
#define VAULT_PLACEHOLDER_SIZE (VAULT_PLACEHOLDER_LEN + 1)

/* Interception CA */
#define CA_ROOT_DAYS 3650 /* CA certificate validity */
#define CA_LEAF_DAYS 1 /* default leaf validity (ca_issue_leaf_der) */
#define CA_LEAF_MAX_DAYS 7 /* longest leaf validity ca_issue_leaf allows */
#define CA_LEAF_BACKDATE_SEC 300 /* notBefore this far back (clock skew) */
#define CA_KEY_FILE_MAX 16384 /* ca.key PEM, bytes */
#define CA_CERT_FILE_MAX 65536 /* ca.pem, bytes */
#define CA_SPKI_P256_LEN 91 /* DER SubjectPublicKeyInfo, P-256, uncompressed */

#endif /* PETRI_VAULT_BOUNDS_H */
