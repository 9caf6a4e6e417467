/*
 * db.h: state.db, the api's registry of keys, sandboxes and executions.
 * SQLite with prepared statements only, WAL, PRAGMA user_version migrations.
 * One connection guarded by a mutex; every function is thread-safe.
 */
#ifndef PETRI_DB_H
#define PETRI_DB_H

#include <stdint.h>

#include <jansson.h>

#include "petri_err.h"

struct db;

struct db_key {
	char id[48];
	char tenant[64];
	char role[16];
	char name[128];
	int64_t created_at; /* usec */
};

/*
 * Opens (creating and migrating) the database at path.
 * Returns 0 or PETRI_ERR_DB.  Caller closes with db_close().
 */
int db_open(const char *path, struct db **out) PETRI_WUR;

/*
 * Whether db_open() migrated the schema of an existing state.db: 1 with
 * *from (the old user_version) and *to (this petrid's), else 0.
 */
int db_schema_migrated(struct db *db, int *from, int *to);
void db_close(struct db *db);

/* Keys.  The token itself is never stored: only its SHA-256 hex. */
int db_key_insert(
    struct db *db, const struct db_key *k, const char *hash_hex) PETRI_WUR;
/* Finds a live key by token hash.  Returns 0 or PETRI_ERR_NOTFOUND. */
int db_key_by_hash(
    struct db *db, const char *hash_hex, struct db_key *out) PETRI_WUR;
/* Returns the number of keys ever created (revoked included). */
int db_key_count(struct db *db, int64_t *n) PETRI_WUR;
/* Lists live keys of a tenant (all tenants when tenant is NULL). */
int db_key_list(struct db *db, const char *tenant, json_t **out) PETRI_WUR;
/* Revokes a key.  Returns 0 or PETRI_ERR_NOTFOUND. */
int db_key_revoke(struct db *db, const char *id, const char *tenant) PETRI_WUR;

/*
 * Sandboxes are stored as JSON documents (the API's sandbox object plus
 * private fields) with a few indexed columns.
 */
int db_sandbox_insert(struct db *db, json_t *sb) PETRI_WUR;
int db_sandbox_update(struct db *db, json_t *sb) PETRI_WUR;
/* Gets a live sandbox of a tenant (any tenant when tenant is NULL). */
int db_sandbox_get(
    struct db *db, const char *id, const char *tenant, json_t **out) PETRI_WUR;
/* Lists live sandboxes of a tenant (all when NULL), oldest first. */
int db_sandbox_list(struct db *db, const char *tenant, json_t **out) PETRI_WUR;
/* Counts live sandboxes of a tenant. */
int db_sandbox_count(struct db *db, const char *tenant, int64_t *n) PETRI_WUR;
/*
 * Hands the unclaimed sandbox id of tenant from_tenant over to tenant,
 * replacing its document, in one statement (two claimers cannot both win).
 * Returns 0, or PETRI_ERR_NOTFOUND when it was not there to claim.
 */
int db_sandbox_claim(struct db *db, const char *id, const char *from_tenant,
    const char *tenant, json_t *doc) PETRI_WUR;

/*
 * Sets one top-level field (lower case and "_") of a live sandbox's
 * document to value, leaving the rest as stored: for writers that hold an
 * older copy of the document.  Returns 0, PETRI_ERR_NOTFOUND, _INVAL, _DB.
 */
int db_sandbox_set(
    struct db *db, const char *id, const char *field, json_t *value) PETRI_WUR;

/* Marks a sandbox deleted (keeps the row for exec history). */
int db_sandbox_delete(struct db *db, const char *id) PETRI_WUR;
/* Sets last_active_at/expires_at.  Returns 0 or PETRI_ERR_NOTFOUND. */
int db_sandbox_touch(struct db *db, const char *id, int64_t now_usec,
    int64_t expires_usec) PETRI_WUR;

/* Executions: the answer document as JSON. */
int db_exec_put(struct db *db, const char *id, const char *sandbox,
    const char *tenant, json_t *doc) PETRI_WUR;
int db_exec_get(
    struct db *db, const char *id, const char *tenant, json_t **out) PETRI_WUR;
int db_exec_list(struct db *db, const char *sandbox, const char *tenant,
    int limit, json_t **out) PETRI_WUR;

/*
 * Previews (serve mode): the API's preview object as JSON, open until it
 * has "closed_at".  token_hash (SHA-256 hex of the URL's token) is stored,
 * never the token.  get/list: tenant NULL means any; list: sandbox NULL
 * means any, newest first, at most limit.  Caller json_decref()s *out.
 */
int db_preview_put(struct db *db, const char *id, const char *sandbox,
    const char *tenant, const char *token_hash, json_t *doc) PETRI_WUR;
int db_preview_get(
    struct db *db, const char *id, const char *tenant, json_t **out) PETRI_WUR;
/* Replaces the document of a stored preview.  0 or PETRI_ERR_NOTFOUND. */
int db_preview_update(struct db *db, const char *id, json_t *doc) PETRI_WUR;
int db_preview_list(struct db *db, const char *sandbox, const char *tenant,
    int open_only, int limit, json_t **out) PETRI_WUR;

/*
 * Egress policies of a tenant, versioned: a put adds version max + 1 (doc
 * gets "version"; at most API_POLICY_VERSIONS per name and
 * API_POLICIES_MAX names: PETRI_ERR_LIMIT); get and list see the latest
 * version of names not deleted; delete hides a name (its versions stay,
 * sandboxes keep the copy they were created with).
 */
int db_policy_put(struct db *db, const char *tenant, const char *name,
    json_t *doc, int64_t now_usec, int64_t *version) PETRI_WUR;
int db_policy_get(struct db *db, const char *tenant, const char *name,
    json_t **out) PETRI_WUR;
int db_policy_list(struct db *db, const char *tenant, json_t **out) PETRI_WUR;
int db_policy_delete(
    struct db *db, const char *tenant, const char *name) PETRI_WUR;

#endif /* PETRI_DB_H */
