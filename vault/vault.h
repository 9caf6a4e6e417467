/*
 * vault.h: the secret store of the keeper process.
 *
 * Secrets live in dir/vault.db (SQLite, WAL, owned by the keeper alone),
 * each value encrypted with XChaCha20-Poly1305 (libsodium's
 * crypto_aead_xchacha20poly1305_ietf, random 192-bit nonce per encryption)
 * under a key derived from the master key, with associated data
 *
 *   tenant || 0x00 || name || 0x00 || version (decimal) || 0x00 ||
 *   canonical binding JSON
 *
 * so a ciphertext moved to another tenant, name, version or binding does
 * not decrypt.  The master key is 32 random bytes in a key file created at
 * first open (0600); the vault refuses a key file that is not a regular
 * file owned by the effective uid with no permission bit beyond 0600, and a
 * key that does not match the one the database was created with.
 *
 * Nothing here returns a secret value except vault_release() and
 * vault_placeholder_resolve(), which hand one formatted credential, in
 * sodium_malloc memory, for one request to one bound destination.
 * Metadata carries a fingerprint: the first 16 hex digits of
 * HMAC-SHA256(fingerprint key, tenant || 0 || name || 0 || value), the key
 * derived from the master key, so operators can tell values apart and see a
 * rotation happened without any oracle on the value.
 *
 * A sandbox may use a secret only after vault_grant_add() (or
 * vault_placeholder_issue()) for it; vault_sandbox_revoke() ends every grant
 * and placeholder of a sandbox.  Every function is safe to call from
 * several threads (one lock per vault).
 */
#ifndef PETRI_VAULT_H
#define PETRI_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "binding.h"
#include "bounds.h"
#include "petri_err.h"
#include "vault_bounds.h"

struct vault;

/* What may be shown of a secret: never its value. */
struct vault_meta {
	char id[PETRI_ID_MAX + 1]; /* "sec_...", kept across rotations */
	char tenant[VAULT_TENANT_MAX + 1];
	char name[VAULT_NAME_MAX + 1];
	uint32_t version; /* 1 at creation, +1 per rotation */
	int inject; /* VAULT_INJECT_* */
	int64_t created_usec;
	int64_t rotated_usec; /* 0: never rotated */
	char fingerprint[VAULT_FINGERPRINT_HEX + 1];
	char *binding; /* canonical binding JSON, NUL-terminated */
	size_t binding_len;
};

/*
 * One credential released for one request.  The whole structure is in
 * sodium_malloc memory; free it with vault_credential_free() (which wipes
 * it) as soon as the request is written.
 */
struct vault_credential {
	int inject; /* VAULT_INJECT_* */
	uint32_t version;
	char tenant[VAULT_TENANT_MAX + 1];
	char name[VAULT_NAME_MAX + 1];
	char sandbox[PETRI_ID_MAX + 1];
	char host[POLICY_HOST_MAX + 1]; /* canonical host of the request */
	char header[VAULT_HEADER_MAX + 1]; /* header to set */
	size_t value_len;
	char value[VAULT_INJECT_MAX + 1]; /* its value, formatted */
	size_t expect_len; /* placeholder: the header value the client */
	char expect[VAULT_INJECT_MAX + 1]; /* must have sent, else "" */
	size_t secret_len; /* the raw value, for response redaction */
	char secret[VAULT_VALUE_MAX + 1];
};

/* A grant of a secret to a sandbox: what the sandbox's container needs. */
struct vault_grant {
	int inject; /* VAULT_INJECT_* */
	char env[VAULT_ENV_MAX + 1]; /* placeholder: variable name, else "" */
	char placeholder[VAULT_PLACEHOLDER_SIZE]; /* its value, else "" */
};

/*
 * Opens (creating when absent) the vault: dir/vault.db (dir created 0700,
 * the database 0600) and the master key file key_path (its directory must
 * exist: the keeper's keys/, or a systemd credentials directory).  When key_path does
 * not exist and the database holds no key yet, 32 random bytes are written
 * to it (0600, atomically, never over an existing file) and the database
 * records a check value of the key; otherwise the key file must be a
 * regular file (no symlink) owned by the effective uid, mode at most 0600,
 * of exactly 32 bytes, and match the check value.  Migrates the schema
 * (PRAGMA user_version).  Caller closes with vault_close().
 * Returns 0; PETRI_ERR_PERM (key file mode or owner), PETRI_ERR_NOTFOUND
 * (the database has a key but key_path does not exist), PETRI_ERR_CRYPTO
 * (wrong key), PETRI_ERR_INVAL (key file size, bad arguments),
 * PETRI_ERR_UNSUPPORTED (newer schema), PETRI_ERR_IO, _DB, _NOMEM, _TOOBIG.
 */
int vault_open(
    const char *dir, const char *key_path, struct vault **out) PETRI_WUR;

/* Closes the vault and wipes its keys.  NULL is a no-op. */
void vault_close(struct vault *v);

/*
 * Creates secret name of tenant with the vlen bytes of value (see
 * vault_value_valid()) and the binding document (blen bytes, binding.h) at
 * version 1.  Fills *meta (may be NULL; clear it with vault_meta_clear()).
 * On a validation error err (errlen bytes, may be NULL) names the field;
 * it never quotes the value.  Returns 0, PETRI_ERR_INVAL, PETRI_ERR_PERM
 * (binding host), PETRI_ERR_TOOBIG, PETRI_ERR_EXISTS, PETRI_ERR_LIMIT
 * (VAULT_MAX_SECRETS reached), PETRI_ERR_DB or PETRI_ERR_NOMEM.
 */
int vault_secret_create(struct vault *v, const char *tenant, const char *name,
    const char *value, size_t vlen, const char *binding, size_t blen,
    struct vault_meta *meta, char *err, size_t errlen) PETRI_WUR;

/*
 * Rotates a secret to version + 1 with a new value (value NULL: keep the
 * current one) and/or a new binding (binding NULL: keep the current one);
 * at least one must be given.  The value is re-encrypted under the new
 * associated data; grants and placeholders are kept.  Fills *meta as
 * vault_secret_create().  Returns 0, PETRI_ERR_NOTFOUND, PETRI_ERR_CRYPTO
 * (the stored ciphertext does not decrypt) or the errors of create.
 */
int vault_secret_rotate(struct vault *v, const char *tenant, const char *name,
    const char *value, size_t vlen, const char *binding, size_t blen,
    struct vault_meta *meta, char *err, size_t errlen) PETRI_WUR;

/*
 * Deletes a secret with its grants and placeholders.  Returns 0,
 * PETRI_ERR_NOTFOUND, PETRI_ERR_INVAL or PETRI_ERR_DB.
 */
int vault_secret_delete(
    struct vault *v, const char *tenant, const char *name) PETRI_WUR;

/*
 * Fills *meta with the metadata of one secret (clear it with
 * vault_meta_clear()).  Returns 0, PETRI_ERR_NOTFOUND, _INVAL, _DB, _NOMEM.
 */
int vault_secret_get(struct vault *v, const char *tenant, const char *name,
    struct vault_meta *meta) PETRI_WUR;

/*
 * Lists the metadata of every secret of tenant, by name, in *list (caller
 * frees with vault_meta_list_free(*list, *n)); at most VAULT_MAX_SECRETS.
 * Returns 0, PETRI_ERR_INVAL, PETRI_ERR_DB or PETRI_ERR_NOMEM.
 */
int vault_secret_list(struct vault *v, const char *tenant,
    struct vault_meta **list, size_t *n) PETRI_WUR;

/* Frees the binding text of *m and zeroes it; NULL is a no-op. */
void vault_meta_clear(struct vault_meta *m);

/* Frees a list from vault_secret_list(); NULL is a no-op. */
void vault_meta_list_free(struct vault_meta *list, size_t n);

/*
 * Builds the API answer of one secret's metadata (caller json_decref()s
 * it): {"id", "name", "version", "hosts", "methods"?, "paths"?, "port"?,
 * "inject", "created_at", "rotated_at" (null when never), "fingerprint"}.
 * Returns NULL on allocation failure or a malformed binding.
 */
json_t *vault_meta_json(const struct vault_meta *m);

/*
 * Lets sandbox (an "sb_" ID of tenant) use secret name.  For a placeholder
 * injection it also issues the sandbox's placeholder (as
 * vault_placeholder_issue()), which *out (may be NULL) returns with the env
 * name the container must get.  Granting again is allowed (a placeholder
 * is then replaced).  Returns 0, PETRI_ERR_NOTFOUND (no such secret),
 * PETRI_ERR_INVAL, PETRI_ERR_DB.
 */
int vault_grant_add(struct vault *v, const char *tenant, const char *sandbox,
    const char *name, struct vault_grant *out) PETRI_WUR;

/*
 * Issues a fresh random placeholder "petri_ph_" + 32 base32 characters for
 * (sandbox, secret name) into ph, replacing the sandbox's previous one for
 * that secret, and grants the secret.  The vault keeps only a keyed hash of
 * the placeholder.  env (may be NULL) gets the variable name.  Returns 0,
 * PETRI_ERR_NOTFOUND, PETRI_ERR_STATE (the secret is not injected through a
 * placeholder), PETRI_ERR_INVAL or PETRI_ERR_DB.
 */
int vault_placeholder_issue(struct vault *v, const char *tenant,
    const char *sandbox, const char *name, char ph[VAULT_PLACEHOLDER_SIZE],
    char env[VAULT_ENV_MAX + 1]) PETRI_WUR;

/*
 * Ends every grant and placeholder of sandbox (its deletion).
 * Returns 0, PETRI_ERR_INVAL or PETRI_ERR_DB.
 */
int vault_sandbox_revoke(struct vault *v, const char *sandbox) PETRI_WUR;

/*
 * Releases secret name of tenant for one request of sandbox: the sandbox
 * holds a grant, the secret is injected as a header or basic auth (a
 * placeholder secret is only released by vault_placeholder_resolve()), req
 * matches the binding (vault_binding_match()), the value decrypts under its
 * associated data.  On success *out (caller frees with
 * vault_credential_free()) holds the header and its formatted value; the
 * caller records "secret.released" {name, sandbox, host}.  On error *out is
 * NULL.  Returns 0, PETRI_ERR_NOTFOUND (no such secret), PETRI_ERR_PERM
 * (no grant, a placeholder secret, or not bound to req), PETRI_ERR_INVAL,
 * PETRI_ERR_CRYPTO (tampered row or wrong key), _DB, _NOMEM.
 */
int vault_release(struct vault *v, const char *tenant, const char *sandbox,
    const char *name, const struct vault_request *req,
    struct vault_credential **out) PETRI_WUR;

/*
 * Resolves a placeholder the proxy found in a request of sandbox: it must
 * be well formed, issued to this very sandbox (a placeholder of another
 * sandbox is refused: PETRI_ERR_PERM), its secret still injected through a
 * placeholder and bound to req.  *out is as for vault_release(), with
 * expect = the header value the client must have sent (the format around
 * the placeholder): the proxy substitutes only when the declared header's
 * value equals it exactly.  Returns 0, PETRI_ERR_NOTFOUND (unknown
 * placeholder), PETRI_ERR_PERM, PETRI_ERR_INVAL, PETRI_ERR_CRYPTO, _DB,
 * _NOMEM.
 */
int vault_placeholder_resolve(struct vault *v, const char *sandbox,
    const char *placeholder, const struct vault_request *req,
    struct vault_credential **out) PETRI_WUR;

/*
 * The tenant of a sandbox that holds at least one grant (sandbox IDs are
 * unique across tenants), into tenant.  For the keeper, which hears of a
 * request by sandbox only.  Returns 0, PETRI_ERR_NOTFOUND (no grant),
 * PETRI_ERR_INVAL or PETRI_ERR_DB.
 */
int vault_sandbox_tenant(struct vault *v, const char *sandbox,
    char tenant[VAULT_TENANT_MAX + 1]) PETRI_WUR;

/* Wipes and frees a credential; NULL is a no-op. */
void vault_credential_free(struct vault_credential *c);

#endif /* PETRI_VAULT_H */
