/* db.c: state.db. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "bounds.h"
#include "db.h"
#include "log.h"
#include "util.h"

struct db {
	sqlite3 *h;
	pthread_mutex_t lock;
	int migrated_from; /* the schema this open migrated from, or 0 */
};

static const char *const db_migrations[] = {
    /* 1 */
    "CREATE TABLE keys ("
    "  id TEXT PRIMARY KEY,"
    "  tenant TEXT NOT NULL,"
    "  role TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  hash TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER);"
    "CREATE TABLE sandboxes ("
    "  id TEXT PRIMARY KEY,"
    "  tenant TEXT NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  deleted_at INTEGER);"
    "CREATE INDEX sandboxes_tenant ON sandboxes(tenant, deleted_at);"
    "CREATE TABLE execs ("
    "  id TEXT PRIMARY KEY,"
    "  sandbox TEXT NOT NULL,"
    "  tenant TEXT NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX execs_sandbox ON execs(sandbox, created_at);",
    /* 2: egress policies, every version kept */
    "CREATE TABLE policies ("
    "  tenant TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  deleted INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (tenant, name, version));",
    /* 3: previews (serve mode); the URL's token is kept as its hash only */
    "CREATE TABLE previews ("
    "  id TEXT PRIMARY KEY,"
    "  sandbox TEXT NOT NULL,"
    "  tenant TEXT NOT NULL,"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  open INTEGER NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX previews_sandbox ON previews(sandbox, created_at);"
    "CREATE INDEX previews_open ON previews(open);",
};

#define DB_VERSION ((int)(sizeof(db_migrations) / sizeof(db_migrations[0])))

static int
db_exec_sql(sqlite3 *h, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warn("state.db: %s", msg != NULL ? msg : "error");
		sqlite3_free(msg);
		return PETRI_ERR_DB;
	}
	return 0;
}

static int
db_user_version(sqlite3 *h, int *v)
{
	sqlite3_stmt *st;
	int r = PETRI_ERR_DB;

	if (sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return PETRI_ERR_DB;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*v = sqlite3_column_int(st, 0);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

int
db_schema_migrated(struct db *db, int *from, int *to)
{
	*from = db->migrated_from;
	*to = DB_VERSION;
	return db->migrated_from > 0;
}

int
db_open(const char *path, struct db **out)
{
	struct db *db;
	char sql[64];
	int v, r = PETRI_ERR_DB;

	*out = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return PETRI_ERR_NOMEM;
	pthread_mutex_init(&db->lock, NULL);
	if (sqlite3_open_v2(path, &db->h,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	            SQLITE_OPEN_FULLMUTEX,
	        NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db->h, 5000);
	if (db_exec_sql(db->h,
	        "PRAGMA journal_mode=WAL;"
	        "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;") != 0)
		goto out;
	if (db_user_version(db->h, &v) != 0)
		goto out;
	if (v > DB_VERSION) {
		log_warn("state.db: schema %d is newer than this petrid (%d)",
		    v, DB_VERSION);
		goto out;
	}
	db->migrated_from = v > 0 && v < DB_VERSION ? v : 0;
	for (; v < DB_VERSION; v++) {
		if (db_exec_sql(db->h, "BEGIN") != 0)
			goto out;
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", v + 1);
		if (db_exec_sql(db->h, db_migrations[v]) != 0 ||
		    db_exec_sql(db->h, sql) != 0) {
			(void)db_exec_sql(db->h, "ROLLBACK");
			goto out;
		}
		if (db_exec_sql(db->h, "COMMIT") != 0)
			goto out;
	}
	*out = db;
	db = NULL;
	r = 0;
out:
	if (db != NULL)
		db_close(db);
	return r;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	sqlite3_close(db->h);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

/*
 * Prepares sql and binds text arguments given as a NULL-terminated list of
 * (type, value) pairs: 's' text (NULL binds NULL), 'i' int64.
 */
static sqlite3_stmt *
db_prep(struct db *db, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int i;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warn("state.db: prepare: %s", sqlite3_errmsg(db->h));
		return NULL;
	}
	va_start(ap, types);
	for (i = 0; types[i] != '\0'; i++) {
		int rc;

		if (types[i] == 's') {
			const char *s = va_arg(ap, const char *);

			rc = s == NULL ? sqlite3_bind_null(st, i + 1)
			               : sqlite3_bind_text(st, i + 1, s, -1,
			                     SQLITE_TRANSIENT);
		} else
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		if (rc != SQLITE_OK) {
			va_end(ap);
			sqlite3_finalize(st);
			return NULL;
		}
	}
	va_end(ap);
	return st;
}

/* Runs a statement that returns no rows; *changes gets the row count. */
static int
db_run(struct db *db, sqlite3_stmt *st, int *changes)
{
	int rc;

	if (st == NULL)
		return PETRI_ERR_DB;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return PETRI_ERR_EXISTS;
	if (rc != SQLITE_DONE) {
		log_warn("state.db: %s", sqlite3_errmsg(db->h));
		return PETRI_ERR_DB;
	}
	if (changes != NULL)
		*changes = sqlite3_changes(db->h);
	return 0;
}

static json_t *
db_col_json(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	json_error_t jerr;

	if (t == NULL)
		return NULL;
	return json_loads((const char *)t, JSON_REJECT_DUPLICATES, &jerr);
}

static void
db_col_str(sqlite3_stmt *st, int col, char *dst, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	petri_strlcpy(dst, t != NULL ? (const char *)t : "", len);
}

int
db_key_insert(struct db *db, const struct db_key *k, const char *hash_hex)
{
	int r;

	pthread_mutex_lock(&db->lock);
	r = db_run(db,
	    db_prep(db,
	        "INSERT INTO keys (id, tenant, role, name, "
	        "hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
	        "sssssi", k->id, k->tenant, k->role, k->name, hash_hex,
	        k->created_at),
	    NULL);
	pthread_mutex_unlock(&db->lock);
	return r;
}

int
db_key_by_hash(struct db *db, const char *hash_hex, struct db_key *out)
{
	sqlite3_stmt *st;
	int r = PETRI_ERR_NOTFOUND, rc;

	pthread_mutex_lock(&db->lock);
	st = db_prep(db,
	    "SELECT id, tenant, role, name, created_at, hash "
	    "FROM keys WHERE hash = ? AND revoked_at IS NULL",
	    "s", hash_hex);
	if (st == NULL) {
		r = PETRI_ERR_DB;
		goto out;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(st, 5);

		/* the lookup went through an index; confirm in constant time */
		if (h != NULL && strlen((const char *)h) == 64 &&
		    sodium_memcmp(h, hash_hex, 64) == 0) {
			db_col_str(st, 0, out->id, sizeof(out->id));
			db_col_str(st, 1, out->tenant, sizeof(out->tenant));
			db_col_str(st, 2, out->role, sizeof(out->role));
			db_col_str(st, 3, out->name, sizeof(out->name));
			out->created_at = sqlite3_column_int64(st, 4);
			r = 0;
		}
	} else if (rc != SQLITE_DONE)
		r = PETRI_ERR_DB;
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&db->lock);
	return r;
}

int
db_key_count(struct db *db, int64_t *n)
{
	sqlite3_stmt *st;
	int r = PETRI_ERR_DB;

	pthread_mutex_lock(&db->lock);
	if ((st = db_prep(db, "SELECT count(*) FROM keys", "")) != NULL) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			*n = sqlite3_column_int64(st, 0);
			r = 0;
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&db->lock);
	return r;
}

int
db_key_list(struct db *db, const char *tenant, json_t **out)
{
	sqlite3_stmt *st;
	json_t *arr;
	char ts[PETRI_TIME_MAX];
	int rc, r = 0;

	if ((arr = json_array()) == NULL)
		return PETRI_ERR_NOMEM;
	pthread_mutex_lock(&db->lock);
	st = db_prep(db,
	    "SELECT id, tenant, role, name, created_at FROM keys "
	    "WHERE revoked_at IS NULL AND (?1 IS NULL OR tenant = ?1) "
	    "ORDER BY created_at LIMIT 1000",
	    "s", tenant);
	if (st == NULL) {
		r = PETRI_ERR_DB;
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		petri_time_rfc3339(sqlite3_column_int64(st, 4), ts);
		json_array_append_new(arr,
		    json_pack("{s:s, s:s, s:s, s:s, s:s}", "id",
		        (const char *)sqlite3_column_text(st, 0), "tenant",
		        (const char *)sqlite3_column_text(st, 1), "role",
		        (const char *)sqlite3_column_text(st, 2), "name",
		        (const char *)sqlite3_column_text(st, 3), "created_at",
		        ts));
	}
	if (rc != SQLITE_DONE)
		r = PETRI_ERR_DB;
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&db->lock);
	if (r != 0)
		json_decref(arr);
	else
		*out = arr;
	return r;
}

int
db_key_revoke(struct db *db, const char *id, const char *tenant)
{
	int r, n = 0;

	pthread_mutex_lock(&db->lock);
	r = db_run(db,
	    db_prep(db,
	        "UPDATE keys SET revoked_at = ? WHERE id = ? "
	        "AND (?3 IS NULL OR tenant = ?3) AND revoked_at IS NULL",
	        "iss", petri_now_usec(), id, tenant),
	    &n);
	pthread_mutex_unlock(&db->lock);
	if (r == 0 && n == 0)
		r = PETRI_ERR_NOTFOUND;
	return r;
}

static int
db_sandbox_write(struct db *db, json_t *sb, int insert)
{
	const char *id = json_string_value(json_object_get(sb, "id"));
	const char *tenant = json_string_value(json_object_get(sb, "tenant"));
	char *doc;
	int r, n = 0;

	if (id == NULL || tenant == NULL)
		return PETRI_ERR_INVAL;
	if ((doc = json_dumps(sb, JSON_COMPACT)) == NULL)
		return PETRI_ERR_NOMEM;
	pthread_mutex_lock(&db->lock);
	if (insert)
		r = db_run(db,
		    db_prep(db,
		        "INSERT INTO sandboxes (id, tenant, "
		        "doc, created_at) VALUES (?, ?, ?, ?)",
		        "sssi", id, tenant, doc, petri_now_usec()),
		    &n);
	else
		r = db_run(db,
		    db_prep(db,
		        "UPDATE sandboxes SET doc = ? WHERE "
		        "id = ? AND deleted_at IS NULL",
		        "ss", doc, id),
		    &n);
	pthread_mutex_unlock(&db->lock);
	free(doc);
	if (r == 0 && n == 0)
		r = PETRI_ERR_NOTFOUND;
	return r;
}

int
db_sandbox_insert(struct db *db, json_t *sb)
{
	return db_sandbox_write(db, sb, 1);
}

int
db_sandbox_update(struct db *db, json_t *sb)
{
	return db_sandbox_write(db, sb, 0);
}

int
db_sandbox_get(struct db *db, const char *id, const char *tenant, json_t **out)
{
	sqlite3_stmt *st;
	int rc, r = PETRI_ERR_NOTFOUND;

	*out = NULL;
	pthread_mutex_lock(&db->lock);
	st = db_prep(db,
	    "SELECT doc FROM sandboxes WHERE id = ? AND "
	    "(?2 IS NULL OR tenant = ?2) AND deleted_at IS NULL",
	    "ss", id, tenant);
	if (st == NULL) {
		r = PETRI_ERR_DB;
		goto out;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = db_col_json(st, 0);
		r = *out != NULL ? 0 : PETRI_ERR_DB;
	} else if (rc != SQLITE_DONE)
		r = PETRI_ERR_DB;
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&db->lock);
	return r;
}

int
db_sandbox_list(struct db *db, const char *tenant, json_t **out)
{
	sqlite3_stmt *st;
	json_t *arr, *doc;
	int rc, r = 0;

	if ((arr = json_array()) == NULL)
		return PETRI_ERR_NOMEM;
	pthread_mutex_lock(&db->lock);
	st = db_prep(db,
	    "SELECT doc FROM sandboxes WHERE deleted_at IS NULL "
	    "AND (?1 IS NULL OR tenant = ?1) ORDER BY created_at",
	    "s", tenant);
	if (st == NULL) {
		r = PETRI_ERR_DB;
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((doc = db_col_json(st, 0)) != NULL)
			json_array_append_new(arr, doc);
	if (rc != SQLITE_DONE)
		r = PETRI_ERR_DB;
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&db->lock);
	if (r != 0)
		json_decref(arr);
	else
		*out = arr;
	return r;
}

int
db_sandbox_count(struct db *db, const char *tenant, int64_t *n)
{
	sqlite3_stmt *st;
	int r = PETRI_ERR_DB;

	pthread_mutex_lock(&db->lock);
	if ((st = db_prep(db,
	         "SELECT count(*) FROM sandboxes WHERE tenant = ? "
	         "AND deleted_at IS NULL",
	         "s", tenant)) != NULL) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			*n = sqlite3_column_int64(st, 0);
			r = 0;
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&db->lock);
	return r;
}

int
db_sandbox_claim(struct db *db, const char *id, const char *from_tenant,
    const char *tenant, json_t *doc)
{
	char *text;
	int r, n = 0;

	if ((text = json_dumps(doc, JSON_COMPACT)) == NULL)
		return PETRI_ERR_NOMEM;
	pthread_mutex_lock(&db->lock);
	r = db_run(db,
	    db_prep(db,
	        "UPDATE sandboxes SET tenant = ?, doc = ?, created_at = ? "
	        "WHERE id = ? AND tenant = ? AND deleted_at IS NULL",
	        "ssiss", tenant, text, petri_now_usec(), id, from_tenant),
	    &n);
	pthread_mutex_unlock(&db->lock);
	free(text);
	if (r == 0 && n == 0)
		r = PETRI_ERR_NOTFOUND;
	return r;
}

int
db_sandbox_delete(struct db *db, const char *id)
{
	int r, n = 0;

	pthread_mutex_lock(&db->lock);
	r = db_run(db,
	    db_prep(db,
	        "UPDATE sandboxes SET deleted_at = ? WHERE "
	        "id = ? AND deleted_at IS NULL",
	        "is", petri_now_usec(), id),
	    &n);
	pthread_mutex_unlock(&db->lock);
	if (r == 0 && n == 0)
		r = PETRI_ERR_NOTFOUND;
	return r;
}

int
db_sandbox_touch(
    struct db *db, const char *id, int64_t now_usec, int64_t expires_usec)
{
	json_t *sb = NULL;
	char ts[PETRI_TIME_MAX];
	int r;

	if ((r = db_sandbox_get(db, id, NULL, &sb)) != 0)
		return r;
	petri_time_rfc3339(now_usec, ts);
	json_object_set_new(sb, "last_active_at", json_string(ts));
	petri_time_rfc3339(expires_usec, ts);
	json_object_set_new(sb, "expires_at", json_string(ts));
	r = db_sandbox_update(db, sb);
	json_decref(sb);
	return r;
}

int
db_exec_put(struct db *db, const char *id, const char *sandbox,
    const char *tenant, json_t *doc)
{
	char *text;
	int r;

	if ((text = json_dumps(doc, JSON_COMPACT)) == NULL)
		return PETRI_ERR_NOMEM;
	pthread_mutex_lock(&db->lock);
	r = db_run(db,
	    db_prep(db,
	        "INSERT INTO execs (id, sandbox, tenant, "
	        "doc, created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) "
	        "DO "
	        "UPDATE SET doc = ?4",
	        "ssssi", id, sandbox, tenant, text, petri_now_usec()),
	    NULL);
	pthread_mutex_unlock(&db->lock);
	free(text);
	return r;
}

int
db_exec_get(struct db *db, const char *id, const char *tenant, json_t **out)
{
	sqlite3_stmt *st;
	int rc, r = PETRI_ERR_NOTFOUND;

	*out = NULL;
	pthread_mutex_lock(&db->lock);
	st = db_prep(db,
	    "SELECT doc FROM execs WHERE id = ? AND "
	    "(?2 IS NULL OR tenant = ?2)",
	    "ss", id, tenant);
	if (st == NULL) {
		r = PETRI_ERR_DB;
		goto out;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = db_col_json(st, 0);
		r = *out != NULL ? 0 : PETRI_ERR_DB;
	} else if (rc != SQLITE_DONE)
		r = PETRI_ERR_DB;
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&db->lock);
	return r;
}

int
db_exec_list(struct db *db, const char *sandbox, const char *tenant, int limit,
    json_t **out)
{
	sqlite3_stmt *st;
	json_t *arr, *doc;
	int rc, r = 0;

	if ((arr = json_array()) == NULL)
		return PETRI_ERR_NOMEM;
	pthread_mutex_lock(&db->lock);
	st = db_prep(db,
	    "SELECT doc FROM execs WHERE sandbox = ? AND "
	    "tenant = ? ORDER BY created_at DESC LIMIT ?",
	    "ssi", sandbox, tenant, (int64_t)limit);
	if (st == NULL) {
		r = PETRI_ERR_DB;
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((doc = db_col_json(st, 0)) != NULL)
			json_array_append_new(arr, doc);
	if (rc != SQLITE_DONE)
		r = PETRI_ERR_DB;
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&db->lock);
	if (r != 0)
		json_decref(arr);
	else
		*out = arr;
	return r;
}

/* --- policies ---------------------------------------------------------------- */

int
db_policy_put(struct db *db, const char *tenant, const char *name, json_t *doc,
    int64_t now_usec, int64_t *version)
{
	sqlite3_stmt *st;
	char *text = NULL;
	int64_t v = 0, names = 0;
	int rc, r;

	pthread_mutex_lock(&db->lock);
	if ((r = db_exec_sql(db->h, "BEGIN IMMEDIATE")) != 0)
		goto out;
	st = db_prep(db,
	    "SELECT coalesce(max(version), 0), (SELECT count(DISTINCT name) "
	    "FROM policies WHERE tenant = ?1 AND deleted = 0) FROM policies "
	    "WHERE tenant = ?1 AND name = ?2",
	    "ss", tenant, name);
	if (st == NULL || (rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_finalize(st);
		r = PETRI_ERR_DB;
		goto rollback;
	}
	v = sqlite3_column_int64(st, 0) + 1;
	names = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	if (v > API_POLICY_VERSIONS || (v == 1 && names >= API_POLICIES_MAX)) {
		r = PETRI_ERR_LIMIT;
		goto rollback;
	}
	json_object_set_new(doc, "version", json_integer(v));
	if ((text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		r = PETRI_ERR_NOMEM;
		goto rollback;
	}
	st = db_prep(db,
	    "INSERT INTO policies (tenant, name, version, doc, created_at) "
	    "VALUES (?, ?, ?, ?, ?)",
	    "ssisi", tenant, name, v, text, now_usec);
	if ((r = db_run(db, st, NULL)) != 0)
		goto rollback;
	if ((r = db_exec_sql(db->h, "COMMIT")) == 0) {
		*version = v;
		goto out;
	}
rollback:
	if (db_exec_sql(db->h, "ROLLBACK") != 0)
		log_warn("state.db: rollback failed");
out:
	pthread_mutex_unlock(&db->lock);
	free(text);
	return r;
}

int
db_policy_get(struct db *db, const char *tenant, const char *name, json_t **out)
{
	sqlite3_stmt *st;
	int rc, r = PETRI_ERR_NOTFOUND;

	*out = NULL;
	pthread_mutex_lock(&db->lock);
	st = db_prep(db,
	    "SELECT doc, deleted FROM policies WHERE tenant = ? AND name = ? "
	    "ORDER BY version DESC LIMIT 1",
	    "ss", tenant, name);
	if (st == NULL) {
		r = PETRI_ERR_DB;
		goto out;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 1) == 0) {
			*out = db_col_json(st, 0);
			r = *out != NULL ? 0 : PETRI_ERR_DB;
		}
	} else if (rc != SQLITE_DONE)
		r = PETRI_ERR_DB;
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&db->lock);
	return r;
}

int
db_policy_list(struct db *db, const char *tenant, json_t **out)
{
	sqlite3_stmt *st;
	json_t *arr, *doc;
	int rc, r = 0;

	if ((arr = json_array()) == NULL)
		return PETRI_ERR_NOMEM;
	pthread_mutex_lock(&db->lock);
	st = db_prep(db,
	    "SELECT p.doc FROM policies p WHERE p.tenant = ?1 AND "
	    "p.deleted = 0 AND p.version = (SELECT max(version) FROM "
	    "policies q WHERE q.tenant = p.tenant AND q.name = p.name) "
	    "ORDER BY p.name LIMIT 1000",
	    "s", tenant);
	if (st == NULL) {
		r = PETRI_ERR_DB;
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((doc = db_col_json(st, 0)) != NULL)
			json_array_append_new(arr, doc);
	if (rc != SQLITE_DONE)
		r = PETRI_ERR_DB;
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&db->lock);
	if (r != 0)
		json_decref(arr);
	else
		*out = arr;
	return r;
}

int
db_policy_delete(struct db *db, const char *tenant, const char *name)
{
	sqlite3_stmt *st;
	int changes = 0, r;

	pthread_mutex_lock(&db->lock);
	st = db_prep(db,
	    "UPDATE policies SET deleted = 1 WHERE tenant = ? AND name = ? "
	    "AND deleted = 0",
	    "ss", tenant, name);
	r = db_run(db, st, &changes);
	pthread_mutex_unlock(&db->lock);
	if (r == 0 && changes == 0)
		r = PETRI_ERR_NOTFOUND;
	return r;
}

int
db_sandbox_set(struct db *db, const char *id, const char *field, json_t *value)
{
	char path[80], *text;
	int r, n = 0;

	if (id == NULL || field == NULL || strlen(field) > 64 ||
	    strspn(field, "abcdefghijklmnopqrstuvwxyz_") != strlen(field))
		return PETRI_ERR_INVAL;
	if ((text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		return PETRI_ERR_NOMEM;
	snprintf(path, sizeof(path), "$.%s", field);
	pthread_mutex_lock(&db->lock);
	r = db_run(db,
	    db_prep(db,
	        "UPDATE sandboxes SET doc = json_set(doc, ?, json(?)) "
	        "WHERE id = ? AND deleted_at IS NULL",
	        "sss", path, text, id),
	    &n);
	pthread_mutex_unlock(&db->lock);
	free(text);
	if (r == 0 && n == 0)
		r = PETRI_ERR_NOTFOUND;
	return r;
}

/* --- previews ---------------------------------------------------------------- */

int
db_preview_put(struct db *db, const char *id, const char *sandbox,
    const char *tenant, const char *token_hash, json_t *doc)
{
	char *text;
	int r, open;

	if ((text = json_dumps(doc, JSON_COMPACT)) == NULL)
		return PETRI_ERR_NOMEM;
	open = json_object_get(doc, "closed_at") == NULL;
	pthread_mutex_lock(&db->lock);
	r = db_run(db,
	    db_prep(db,
	        "INSERT INTO previews (id, sandbox, tenant, token_hash, open, "
	        "doc, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
	        "ON CONFLICT(id) DO UPDATE SET doc = ?6, open = ?5",
	        "ssssisi", id, sandbox, tenant, token_hash, (int64_t)open, text,
	        petri_now_usec()),
	    NULL);
	pthread_mutex_unlock(&db->lock);
	free(text);
	return r;
}

int
db_preview_get(struct db *db, const char *id, const char *tenant, json_t **out)
{
	sqlite3_stmt *st;
	int rc, r = PETRI_ERR_NOTFOUND;

	*out = NULL;
	pthread_mutex_lock(&db->lock);
	st = db_prep(db,
	    "SELECT doc FROM previews WHERE id = ? AND "
	    "(?2 IS NULL OR tenant = ?2)",
	    "ss", id, tenant);
	if (st == NULL) {
		r = PETRI_ERR_DB;
		goto out;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = db_col_json(st, 0);
		r = *out != NULL ? 0 : PETRI_ERR_DB;
	} else if (rc != SQLITE_DONE)
		r = PETRI_ERR_DB;
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&db->lock);
	return r;
}

int
db_preview_list(struct db *db, const char *sandbox, const char *tenant,
    int open_only, int limit, json_t **out)
{
	sqlite3_stmt *st;
	json_t *arr, *doc;
	int rc, r = 0;

	if ((arr = json_array()) == NULL)
		return PETRI_ERR_NOMEM;
	pthread_mutex_lock(&db->lock);
	st = db_prep(db,
	    "SELECT doc FROM previews WHERE (?1 IS NULL OR sandbox = ?1) AND "
	    "(?2 IS NULL OR tenant = ?2) AND (?3 = 0 OR open = 1) "
	    "ORDER BY created_at DESC LIMIT ?4",
	    "ssii", sandbox, tenant, (int64_t)open_only, (int64_t)limit);
	if (st == NULL) {
		r = PETRI_ERR_DB;
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((doc = db_col_json(st, 0)) != NULL)
			json_array_append_new(arr, doc);
	if (rc != SQLITE_DONE)
		r = PETRI_ERR_DB;
	sqlite3_finalize(st);
out:
	pthread_mutex_unlock(&db->lock);
	if (r != 0)
		json_decref(arr);
	else
		*out = arr;
	return r;
}

int
db_preview_update(struct db *db, const char *id, json_t *doc)
{
	char *text;
	int r, changes = 0;

	if ((text = json_dumps(doc, JSON_COMPACT)) == NULL)
		return PETRI_ERR_NOMEM;
	pthread_mutex_lock(&db->lock);
	r = db_run(db,
	    db_prep(db, "UPDATE previews SET doc = ?2, open = ?3 WHERE id = ?1",
	        "ssi", id, text,
	        (int64_t)(json_object_get(doc, "closed_at") == NULL)),
	    &changes);
	pthread_mutex_unlock(&db->lock);
	free(text);
	return r == 0 && changes == 0 ? PETRI_ERR_NOTFOUND : r;
}
