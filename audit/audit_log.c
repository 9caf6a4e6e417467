/*
 * audit_log.c: the keeper's audit log store.
 *
 * Locking: log->mu guards everything in struct audit_log.  The write
 * connection (wdb) is used by one thread at a time: either a group-commit
 * leader, which sets log->committing and drops the mutex for the commit,
 * or a thread holding the mutex while committing is 0.  The read
 * connection (rdb) is only used under the mutex.  An export reads from a
 * private connection of its own, outside the mutex (records are never
 * changed once written).
 *
 * The in-memory tree holds durable records only; next_seq/last_leaf run
 * ahead of it by the records queued for the next commit.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "audit_log.h"
#include "bundle.h"
#include "log.h"
#include "tar.h"
#include "tsa.h"
#include "util.h"

#define LOG_SCHEMA_VERSION 4
#define LOG_BUSY_MS 10000
#define LOG_DB "audit.db"
#define LOG_KEY "keys/log.key"
#define LOG_KEY_NEW "keys/log.key.new"
#define LOG_PUB "keys/log.pub"
#define LOG_PUB_HEX "keys/log.pub.hex"

/* A keys row that goes into the same transaction as a rotation record. */
struct log_newkey {
	struct audit_key key;
	char vkey[AUDIT_VKEY_MAX];
	uint64_t first_seq;
	int64_t created;
};

/* Blob references of one event. */
struct log_refs {
	char (*sha)[PETRI_SHA256_HEX];
	size_t n, cap;
};

/* One record waiting for its commit; lives on its appender's stack. */
struct log_pending {
	uint64_t seq;
	char *bytes;
	size_t len;
	unsigned char leaf[AUDIT_HASH_LEN];
	unsigned char sig[AUDIT_SIG_LEN];
	char key_id[AUDIT_KEY_ID_HEX];
	const struct log_refs *refs;
	const struct log_newkey *newkey;
	int ready; /* signed: may be committed */
	int done;
	int status;
	pthread_cond_t cv; /* its owner waits here (group commit) */
	int has_cv;
	struct log_pending *next;
};

struct audit_log {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char dir[PATH_MAX];
	char origin[AUDIT_ORIGIN_MAX + 1];
	sqlite3 *wdb;
	sqlite3 *rdb;
	sqlite3_stmt *ins_record, *ins_blobref, *ins_key, *ins_cp;
	sqlite3_stmt *begin, *commit, *rollback;
	sqlite3_stmt *get_leaf, *get_recs, *get_cp_latest;
	struct audit_merkle_tree *tree;
	uint64_t next_seq;
	unsigned char last_leaf[AUDIT_HASH_LEN];
	unsigned char durable_leaf[AUDIT_HASH_LEN];
	unsigned char *sk; /* sodium_malloc'd secret key */
	struct audit_key key; /* its verifier key */
	struct audit_log_key *keys; /* history, oldest first */
	size_t nkeys;
	struct log_pending *head, *tail;
	int committing;
	int excl;
	int group;
	int broken;
	int64_t schema_from; /* the version this open migrated from, or 0 */
	uint64_t cp_size;
	int64_t cp_ms;
};

/*
 * A checkpoint's note as served and exported: the log's signed note with
 * the witnesses' cosignature lines appended (signed-note format: more
 * signature lines; verifiers ignore the keys they do not know).
 */
#define LOG_CP_COSIGNED                                                        \
	"text || coalesce((SELECT group_concat(c.line, '') FROM "              \
	"(SELECT line FROM cosignatures WHERE size = checkpoints.size "        \
	"ORDER BY witness) AS c), '')"

/*
 * Schema migrations, in order: migration i takes user_version i to i + 1,
 * in one transaction.  Never edit a released step; add one.
 */
static const char *const log_schema_v1[] = {
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT",
    "CREATE TABLE records(seq INTEGER PRIMARY KEY, bytes BLOB NOT NULL, "
    "leaf BLOB NOT NULL, sig BLOB NOT NULL, key_id TEXT NOT NULL) "
    "STRICT",
    "CREATE TABLE record_blobs(seq INTEGER NOT NULL, sha TEXT NOT NULL, "
    "PRIMARY KEY(seq, sha)) STRICT, WITHOUT ROWID",
    "CREATE TABLE checkpoints(size INTEGER PRIMARY KEY, "
    "text TEXT NOT NULL, time INTEGER NOT NULL) STRICT",
    "CREATE TABLE keys(serial INTEGER PRIMARY KEY, key_id TEXT NOT NULL, "
    "public BLOB NOT NULL, vkey TEXT NOT NULL, "
    "first_seq INTEGER NOT NULL UNIQUE, created INTEGER NOT NULL) "
    "STRICT",
    "PRAGMA user_version = 1",
    NULL,
};

static const char *const log_schema_v2[] = {
    /* the tree is rebuilt from the leaves alone: a narrow covering index */
    "CREATE INDEX records_leaf ON records(seq, leaf)",
    "PRAGMA user_version = 2",
    NULL,
};

static const char *const log_schema_v3[] = {
    /* witness cosignatures, one signature line per (checkpoint, witness) */
    "CREATE TABLE cosignatures(size INTEGER NOT NULL, "
    "witness TEXT NOT NULL, line TEXT NOT NULL, time INTEGER NOT NULL, "
    "PRIMARY KEY(size, witness)) STRICT, WITHOUT ROWID",
    "PRAGMA user_version = 3",
    NULL,
};

static const char *const log_schema_v4[] = {
    /* RFC 3161 tokens of checkpoints (tsa.h) */
    "CREATE TABLE timestamps(size INTEGER PRIMARY KEY, token BLOB NOT NULL, "
    "gen_time INTEGER NOT NULL, time INTEGER NOT NULL) STRICT",
    "PRAGMA user_version = 4",
    NULL,
};

static const char *const *const log_migrations[] = {
    log_schema_v1,
    log_schema_v2,
    log_schema_v3,
    log_schema_v4,
};
_Static_assert(
    sizeof(log_migrations) / sizeof(log_migrations[0]) == LOG_SCHEMA_VERSION,
    "one migration per schema version");

static int
log_path(const struct audit_log *log, const char *rel, char out[PATH_MAX])
{
	int n = snprintf(out, PATH_MAX, "%s/%s", log->dir, rel);

	return n < 0 || n >= PATH_MAX ? PETRI_ERR_TOOBIG : 0;
}

static int
log_db_err(sqlite3 *db, const char *what)
{
	log_warn("audit: %s: %s", what, sqlite3_errmsg(db));
	return PETRI_ERR_DB;
}

/* Runs one constant statement to completion. */
static int
log_exec(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return log_db_err(db, "prepare");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : log_db_err(db, sql);
}

/* Runs a statement that answers one integer. */
static int
log_query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int r = PETRI_ERR_DB;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return log_db_err(db, "prepare");
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

static int
log_mkdir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return PETRI_ERR_IO;
	if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return PETRI_ERR_IO;
	return 0;
}

static void
log_fsync_dir(const char *path)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

static int
log_db_open(const char *path, int reader, sqlite3 **dbp)
{
	sqlite3 *db = NULL;

	*dbp = NULL;
	if (sqlite3_open_v2(path, &db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX |
	            SQLITE_OPEN_NOFOLLOW,
	        NULL) != SQLITE_OK) {
		if (db != NULL)
			log_db_err(db, "open");
		sqlite3_close(db);
		return PETRI_ERR_DB;
	}
	sqlite3_busy_timeout(db, LOG_BUSY_MS);
	if (log_exec(db, "PRAGMA trusted_schema = OFF") != 0 ||
	    (reader && log_exec(db, "PRAGMA query_only = ON") != 0)) {
		sqlite3_close(db);
		return PETRI_ERR_DB;
	}
	*dbp = db;
	return 0;
}

/* WAL, synchronous=FULL, schema migrations. */
static int
log_db_setup(struct audit_log *log)
{
	sqlite3_stmt *st = NULL;
	int64_t ver = 0;
	size_t i;
	int r;

	if (sqlite3_prepare_v2(log->wdb, "PRAGMA journal_mode = WAL", -1, &st,
	        NULL) != SQLITE_OK)
		return log_db_err(log->wdb, "prepare");
	r = sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0) != NULL &&
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
	sqlite3_finalize(st);
	if (!r)
		return log_db_err(log->wdb, "journal_mode=WAL");
	if ((r = log_exec(log->wdb, "PRAGMA synchronous = FULL")) != 0 ||
	    (r = log_query_int(log->wdb, "PRAGMA user_version", &ver)) != 0)
		return r;
	if (ver < 0 || ver > LOG_SCHEMA_VERSION)
		return PETRI_ERR_UNSUPPORTED;
	/* an existing log of an older schema: log.started says so */
	log->schema_from = ver > 0 && ver < LOG_SCHEMA_VERSION ? ver : 0;
	for (; ver < LOG_SCHEMA_VERSION; ver++) {
		const char *const *step = log_migrations[ver];

		if ((r = log_exec(log->wdb, "BEGIN IMMEDIATE")) != 0)
			return r;
		for (i = 0; step[i] != NULL; i++)
			if ((r = log_exec(log->wdb, step[i])) != 0) {
				(void)log_exec(log->wdb, "ROLLBACK");
				return r;
			}
		if ((r = log_exec(log->wdb, "COMMIT")) != 0)
			return r;
	}
	return 0;
}

static int
log_prepare_all(struct audit_log *log)
{
	static const struct {
		int reader;
		size_t off;
		const char *sql;
	} s[] = {
	    {0, offsetof(struct audit_log, ins_record),
	        "INSERT INTO records(seq, bytes, leaf, sig, key_id) "
	        "VALUES(?, ?, ?, ?, ?)"},
	    {0, offsetof(struct audit_log, ins_blobref),
	        "INSERT OR IGNORE INTO record_blobs(seq, sha) VALUES(?, ?)"},
	    {0, offsetof(struct audit_log, ins_key),
	        "INSERT INTO keys(key_id, public, vkey, first_seq, created) "
	        "VALUES(?, ?, ?, ?, ?)"},
	    {0, offsetof(struct audit_log, ins_cp),
	        "INSERT OR IGNORE INTO checkpoints(size, text, time) "
	        "VALUES(?, ?, ?)"},
	    {0, offsetof(struct audit_log, begin), "BEGIN IMMEDIATE"},
	    {0, offsetof(struct audit_log, commit), "COMMIT"},
	    {0, offsetof(struct audit_log, rollback), "ROLLBACK"},
	    {1, offsetof(struct audit_log, get_leaf),
	        "SELECT leaf FROM records WHERE seq = ?"},
	    {1, offsetof(struct audit_log, get_recs),
	        "SELECT seq, bytes, leaf, sig, key_id FROM records "
	        "WHERE seq >= ? ORDER BY seq LIMIT ?"},
	    {1, offsetof(struct audit_log, get_cp_latest),
	        "SELECT size, " LOG_CP_COSIGNED " FROM checkpoints "
	        "ORDER BY size DESC LIMIT 1"},
	};
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		sqlite3 *db = s[i].reader ? log->rdb : log->wdb;
		sqlite3_stmt **stp = (sqlite3_stmt **)((char *)log + s[i].off);

		if (sqlite3_prepare_v3(db, s[i].sql, -1,
		        SQLITE_PREPARE_PERSISTENT, stp, NULL) != SQLITE_OK)
			return log_db_err(db, "prepare");
	}
	return 0;
}

/* Leaf callback of the tree: leaf hashes come from the records table. */
static int
log_leaf_cb(void *arg, uint64_t index, unsigned char out[AUDIT_HASH_LEN])
{
	struct audit_log *log = arg;
	sqlite3_stmt *st = log->get_leaf;
	int r = PETRI_ERR_NOTFOUND;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);

		if (p != NULL &&
		    sqlite3_column_bytes(st, 0) == AUDIT_HASH_LEN) {
			memcpy(out, p, AUDIT_HASH_LEN);
			r = 0;
		} else
			r = PETRI_ERR_DB;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

/* The key that signs record seq (and checkpoints of size seq). */
static const struct audit_log_key *
log_key_for(const struct audit_log *log, uint64_t seq)
{
	size_t i;

	for (i = log->nkeys; i > 0; i--)
		if (log->keys[i - 1].first_seq <= seq)
			return &log->keys[i - 1];
	return NULL;
}

static int
log_keys_load(struct audit_log *log)
{
	sqlite3_stmt *st = NULL;
	struct audit_log_key *k = NULL, *nk;
	size_t n = 0, cap = 0;
	int rc, r = PETRI_ERR_DB;

	if (sqlite3_prepare_v2(log->rdb,
	        "SELECT public, first_seq, created FROM keys ORDER BY "
	        "first_seq",
	        -1, &st, NULL) != SQLITE_OK)
		return log_db_err(log->rdb, "prepare");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((nk = reallocarray(k, cap, sizeof(*k))) == NULL) {
				r = PETRI_ERR_NOMEM;
				goto out;
			}
			k = nk;
		}
		if (sqlite3_column_bytes(st, 0) != AUDIT_PUBKEY_LEN ||
		    audit_key_init(&k[n].key, log->origin,
		        sqlite3_column_blob(st, 0)) != 0)
			goto out;
		k[n].first_seq = (uint64_t)sqlite3_column_int64(st, 1);
		k[n].created_usec = sqlite3_column_int64(st, 2);
		n++;
	}
	if (rc != SQLITE_DONE)
		goto out;
	free(log->keys);
	log->keys = k;
	log->nkeys = n;
	k = NULL;
	r = 0;
out:
	sqlite3_finalize(st);
	free(k);
	return r;
}

/* Reads and parses a signer key file into sk / k. */
static int
log_skey_load(const struct audit_log *log, const char *rel,
    unsigned char sk[AUDIT_SECKEY_LEN], struct audit_key *k)
{
	char path[PATH_MAX], buf[AUDIT_SKEY_MAX + 2];
	ssize_t n;
	size_t len = 0;
	int fd, r;

	if ((r = log_path(log, rel, path)) != 0)
		return r;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? PETRI_ERR_NOTFOUND : PETRI_ERR_IO;
	while (len < sizeof(buf) &&
	    (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	r = len > AUDIT_SKEY_MAX ? PETRI_ERR_INVAL
	                         : audit_skey_parse(buf, len, sk, k);
	sodium_memzero(buf, sizeof(buf));
	if (r == 0 && strcmp(k->name, log->origin) != 0) {
		sodium_memzero(sk, AUDIT_SECKEY_LEN);
		r = PETRI_ERR_INVAL;
	}
	return r;
}

/* Makes a fresh key and writes it to rel (0600, atomically). */
static int
log_skey_create(const struct audit_log *log, const char *rel,
    unsigned char sk[AUDIT_SECKEY_LEN], struct audit_key *k)
{
	unsigned char seed[AUDIT_SEED_LEN], pk[AUDIT_PUBKEY_LEN];
	char path[PATH_MAX], text[AUDIT_SKEY_MAX + 2];
	size_t n;
	int r;

	if ((r = log_path(log, rel, path)) != 0)
		return r;
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	if ((r = audit_key_init(k, log->origin, pk)) != 0 ||
	    (r = audit_skey_format(
	         log->origin, seed, text, sizeof(text) - 1)) != 0)
		goto out;
	n = strlen(text);
	text[n++] = '\n';
	r = petri_file_write_atomic(path, text, n, 0600);
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(text, sizeof(text));
	if (r != 0)
		sodium_memzero(sk, AUDIT_SECKEY_LEN);
	return r;
}

static int
log_pub_write(const struct audit_log *log)
{
	char path[PATH_MAX], text[AUDIT_VKEY_MAX + 2];
	char hex[2 * AUDIT_PUBKEY_LEN + 2];
	size_t n;
	int r;

	if ((r = audit_vkey_format(&log->key, text, sizeof(text) - 1)) != 0)
		return r;
	n = strlen(text);
	text[n++] = '\n';
	if ((r = log_path(log, LOG_PUB, path)) != 0 ||
	    (r = petri_file_write_atomic(path, text, n, 0644)) != 0)
		return r;
	petri_hex(log->key.pub, AUDIT_PUBKEY_LEN, hex);
	n = strlen(hex);
	hex[n++] = '\n';
	if ((r = log_path(log, LOG_PUB_HEX, path)) != 0)
		return r;
	return petri_file_write_atomic(path, hex, n, 0644);
}

static int
log_key_row_insert(struct audit_log *log, const struct log_newkey *nk)
{
	sqlite3_stmt *st = log->ins_key;
	char id[AUDIT_KEY_ID_HEX];
	int rc;

	audit_key_id_hex(&nk->key, id);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(
	    st, 2, nk->key.pub, AUDIT_PUBKEY_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, nk->vkey, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)nk->first_seq);
	sqlite3_bind_int64(st, 5, nk->created);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : log_db_err(log->wdb, "insert key");
}

static int
log_newkey_init(
    struct log_newkey *nk, const struct audit_key *k, uint64_t first_seq)
{
	nk->key = *k;
	nk->first_seq = first_seq;
	nk->created = petri_now_usec();
	return audit_vkey_format(k, nk->vkey, sizeof(nk->vkey));
}

/*
 * Loads the signing key: adopts or creates it for a new log, finishes an
 * interrupted rotation, and refuses a key that is not the log's current one.
 */
static int
log_signing_key(struct audit_log *log)
{
	unsigned char sk[AUDIT_SECKEY_LEN];
	struct audit_key k;
	struct log_newkey nk;
	char path[PATH_MAX], npath[PATH_MAX];
	const struct audit_log_key *cur;
	int r;

	if ((r = log_path(log, LOG_KEY, path)) != 0 ||
	    (r = log_path(log, LOG_KEY_NEW, npath)) != 0)
		return r;
	if (log->nkeys == 0) {
		if (audit_merkle_tree_size(log->tree) != 0)
			return PETRI_ERR_STATE;
		r = log_skey_load(log, LOG_KEY, sk, &k);
		if (r == PETRI_ERR_NOTFOUND)
			r = log_skey_create(log, LOG_KEY, sk, &k);
		if (r != 0)
			goto out;
		if ((r = log_newkey_init(&nk, &k, 0)) != 0 ||
		    (r = log_key_row_insert(log, &nk)) != 0 ||
		    (r = log_keys_load(log)) != 0)
			goto out;
	} else {
		cur = &log->keys[log->nkeys - 1];
		r = log_skey_load(log, LOG_KEY, sk, &k);
		if (r != 0 ||
		    memcmp(k.pub, cur->key.pub, AUDIT_PUBKEY_LEN) != 0) {
			/* a rotation committed before its key file moved */
			r = log_skey_load(log, LOG_KEY_NEW, sk, &k);
			if (r != 0 ||
			    memcmp(k.pub, cur->key.pub, AUDIT_PUBKEY_LEN) !=
			        0) {
				log_warn("audit: signing key does not match "
				         "the log's current key");
				r = PETRI_ERR_CRYPTO;
				goto out;
			}
			if (rename(npath, path) != 0) {
				r = PETRI_ERR_IO;
				goto out;
			}
			log_info("audit: finished an interrupted key rotation");
		}
	}
	/* a rotation that never committed leaves a stray new key */
	if (unlink(npath) == 0)
		log_info("audit: discarded an uncommitted key rotation");
	{
		char kdir[PATH_MAX];

		if (log_path(log, "keys", kdir) == 0)
			log_fsync_dir(kdir);
	}
	memcpy(log->sk, sk, AUDIT_SECKEY_LEN);
	log->key = k;
	r = 0;
out:
	sodium_memzero(sk, sizeof(sk));
	return r;
}

/* Rebuilds the tree from the stored leaf hashes, checking seq continuity. */
static int
log_tree_load(struct audit_log *log)
{
	sqlite3_stmt *st = NULL;
	uint64_t i = 0;
	int rc, r = PETRI_ERR_DB;

	if (sqlite3_prepare_v2(log->rdb,
	        "SELECT seq, leaf FROM records ORDER BY seq", -1, &st,
	        NULL) != SQLITE_OK)
		return log_db_err(log->rdb, "prepare");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((uint64_t)sqlite3_column_int64(st, 0) != i ||
		    sqlite3_column_bytes(st, 1) != AUDIT_HASH_LEN) {
			log_warn("audit: stored records break at seq %llu",
			    (unsigned long long)i);
			r = PETRI_ERR_STATE;
			goto out;
		}
		memcpy(log->durable_leaf, sqlite3_column_blob(st, 1),
		    AUDIT_HASH_LEN);
		if ((r = audit_merkle_tree_append(
		         log->tree, log->durable_leaf)) != 0)
			goto out;
		r = PETRI_ERR_DB;
		i++;
	}
	if (rc != SQLITE_DONE)
		goto out;
	log->next_seq = i;
	memcpy(log->last_leaf, log->durable_leaf, AUDIT_HASH_LEN);
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

static int
log_entry_from_row(sqlite3_stmt *st, struct audit_entry *e)
{
	const void *bytes = sqlite3_column_blob(st, 1);
	const void *leaf = sqlite3_column_blob(st, 2);
	const void *sig = sqlite3_column_blob(st, 3);
	const unsigned char *kid = sqlite3_column_text(st, 4);
	int n = sqlite3_column_bytes(st, 1);

	memset(e, 0, sizeof(*e));
	e->seq = (uint64_t)sqlite3_column_int64(st, 0);
	if (n < 0 || leaf == NULL || sig == NULL || kid == NULL ||
	    sqlite3_column_bytes(st, 2) != AUDIT_HASH_LEN ||
	    sqlite3_column_bytes(st, 3) != AUDIT_SIG_LEN ||
	    sqlite3_column_bytes(st, 4) != AUDIT_KEY_ID_HEX - 1)
		return PETRI_ERR_DB;
	if ((e->bytes = malloc((size_t)n + 1)) == NULL)
		return PETRI_ERR_NOMEM;
	if (n > 0)
		memcpy(e->bytes, bytes, (size_t)n);
	e->bytes[n] = '\0';
	e->len = (size_t)n;
	memcpy(e->leaf, leaf, AUDIT_HASH_LEN);
	memcpy(e->sig, sig, AUDIT_SIG_LEN);
	memcpy(e->key_id, kid, AUDIT_KEY_ID_HEX);
	return 0;
}

/* Fetches up to count entries from seq from on (rdb, under the mutex). */
static int
log_entries_fetch(struct audit_log *log, uint64_t from, size_t count,
    struct audit_entry **out, size_t *np)
{
	sqlite3_stmt *st = log->get_recs;
	struct audit_entry *e;
	size_t n = 0;
	int rc, r = 0;

	*out = NULL;
	*np = 0;
	if ((e = calloc(count ? count : 1, sizeof(*e))) == NULL)
		return PETRI_ERR_NOMEM;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)count);
	while (n < count && (rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((r = log_entry_from_row(st, &e[n++])) != 0)
			break;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (r != 0) {
		audit_entries_free(e, n);
		return r;
	}
	*out = e;
	*np = n;
	return 0;
}

/*
 * The newest stored checkpoint (see audit_log_checkpoint_latest); mutex
 * held, or no other thread yet (open).
 */
static int
log_cp_latest(struct audit_log *log, char **text, size_t *lenp,
    struct audit_checkpoint *cp)
{
	sqlite3_stmt *st = log->get_cp_latest;
	struct audit_checkpoint c;
	const char *t;
	size_t len;
	int r = PETRI_ERR_NOTFOUND;

	if (text != NULL)
		*text = NULL;
	if (sqlite3_step(st) == SQLITE_ROW) {
		t = (const char *)sqlite3_column_text(st, 1);
		len = (size_t)sqlite3_column_bytes(st, 1);
		r = PETRI_ERR_DB;
		if (t == NULL || audit_checkpoint_parse(t, len, &c) != 0)
			goto out;
		if (cp != NULL)
			*cp = c;
		if (text != NULL) {
			r = PETRI_ERR_NOMEM;
			if ((*text = malloc(len + 1)) == NULL)
				goto out;
			memcpy(*text, t, len + 1);
			if (lenp != NULL)
				*lenp = len;
		}
		r = 0;
	}
out:
	sqlite3_reset(st);
	return r;
}

/* Checks the last record and the newest checkpoint against the tree. */
static int
log_check_tail(struct audit_log *log)
{
	struct audit_entry *e = NULL;
	struct audit_record rec;
	struct audit_checkpoint cp;
	const struct audit_log_key *k;
	unsigned char h[AUDIT_HASH_LEN], prev[AUDIT_HASH_LEN];
	char id[AUDIT_KEY_ID_HEX], *text = NULL;
	uint64_t n = audit_merkle_tree_size(log->tree);
	size_t got = 0, len = 0;
	int r;

	if (n > 0) {
		if ((r = log_entries_fetch(log, n - 1, 1, &e, &got)) != 0)
			return r;
		r = PETRI_ERR_CRYPTO;
		if (got != 1)
			goto out;
		audit_record_leaf(e->bytes, e->len, h);
		memset(prev, 0, sizeof(prev));
		if (n > 1 &&
		    audit_merkle_tree_node(log->tree, 0, n - 2, prev) != 0)
			goto out;
		if (sodium_memcmp(h, e->leaf, AUDIT_HASH_LEN) != 0 ||
		    audit_record_parse(e->bytes, e->len, &rec, NULL) != 0)
			goto out;
		k = log_key_for(log, n - 1);
		if (k != NULL)
			audit_key_id_hex(&k->key, id);
		if (rec.seq != n - 1 || strcmp(rec.origin, log->origin) != 0 ||
		    sodium_memcmp(rec.prev, prev, AUDIT_HASH_LEN) != 0 ||
		    k == NULL || strcmp(id, e->key_id) != 0 ||
		    audit_record_sig_verify(h, e->sig, k->key.pub) != 0) {
			audit_record_clear(&rec);
			log_warn("audit: the last record (seq %llu) does not "
			         "verify",
			    (unsigned long long)(n - 1));
			goto out;
		}
		audit_record_clear(&rec);
	}
	r = log_cp_latest(log, &text, &len, NULL);
	if (r == PETRI_ERR_NOTFOUND) {
		r = 0;
		goto out;
	}
	if (r != 0)
		goto out;
	r = PETRI_ERR_CRYPTO;
	if (audit_checkpoint_parse(text, len, &cp) != 0 ||
	    (k = log_key_for(log, cp.size)) == NULL ||
	    audit_checkpoint_verify(text, len, &k->key, &cp) != 0 ||
	    strcmp(cp.origin, log->origin) != 0)
		goto out;
	if (cp.size > n) {
		log_warn("audit: checkpoint of size %llu but only %llu records",
		    (unsigned long long)cp.size, (unsigned long long)n);
		r = PETRI_ERR_STATE;
		goto out;
	}
	if (audit_merkle_tree_root(log->tree, cp.size, h) != 0 ||
	    sodium_memcmp(h, cp.root, AUDIT_HASH_LEN) != 0) {
		log_warn("audit: newest checkpoint does not match the records");
		goto out;
	}
	log->cp_size = cp.size;
	r = 0;
out:
	free(text);
	audit_entries_free(e, got);
	return r;
}

static int
log_refs_cb(void *arg, const char *sha, int64_t size)
{
	struct log_refs *refs = arg;
	char(*n)[PETRI_SHA256_HEX];

	(void)size;
	if (refs->n == refs->cap) {
		refs->cap = refs->cap ? refs->cap * 2 : 8;
		if ((n = reallocarray(
		         refs->sha, refs->cap, sizeof(*refs->sha))) == NULL)
			return PETRI_ERR_NOMEM;
		refs->sha = n;
	}
	memcpy(refs->sha[refs->n++], sha, PETRI_SHA256_HEX);
	return 0;
}

static int
log_blob_path(const struct audit_log *log, const char *sha, char out[PATH_MAX])
{
	int n = snprintf(out, PATH_MAX, "%s/blobs/%.2s/%s", log->dir, sha, sha);

	return n < 0 || n >= PATH_MAX ? PETRI_ERR_TOOBIG : 0;
}

static int
log_hex64_valid(const char *s)
{
	size_t i;

	for (i = 0; i < 2 * AUDIT_HASH_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

static int
log_blob_exists_cb(void *arg, const char *sha, int64_t size)
{
	const struct audit_log *log = arg;
	char path[PATH_MAX];
	struct stat st;

	if (log_blob_path(log, sha, path) != 0 || lstat(path, &st) != 0 ||
	    !S_ISREG(st.st_mode))
		return PETRI_ERR_NOTFOUND;
	if (size >= 0 && st.st_size != size)
		return PETRI_ERR_INVAL;
	return 0;
}

/* Commits a batch (a NULL-terminated list) on wdb.  No lock needed. */
static int
log_commit(struct audit_log *log, struct log_pending *batch)
{
	struct log_pending *p;
	sqlite3_stmt *st;
	size_t i;
	int rc;

	rc = sqlite3_step(log->begin);
	sqlite3_reset(log->begin);
	if (rc != SQLITE_DONE)
		return log_db_err(log->wdb, "begin");
	for (p = batch; p != NULL; p = p->next) {
		st = log->ins_record;
		sqlite3_bind_int64(st, 1, (sqlite3_int64)p->seq);
		sqlite3_bind_blob(st, 2, p->bytes, (int)p->len, SQLITE_STATIC);
		sqlite3_bind_blob(
		    st, 3, p->leaf, AUDIT_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_blob(st, 4, p->sig, AUDIT_SIG_LEN, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, p->key_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE)
			goto fail;
		for (i = 0; p->refs != NULL && i < p->refs->n; i++) {
			st = log->ins_blobref;
			sqlite3_bind_int64(st, 1, (sqlite3_int64)p->seq);
			sqlite3_bind_text(
			    st, 2, p->refs->sha[i], -1, SQLITE_STATIC);
			rc = sqlite3_step(st);
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			if (rc != SQLITE_DONE)
				goto fail;
		}
		if (p->newkey != NULL &&
		    log_key_row_insert(log, p->newkey) != 0)
			goto fail;
	}
	rc = sqlite3_step(log->commit);
	sqlite3_reset(log->commit);
	if (rc == SQLITE_DONE)
		return 0;
fail:
	log_db_err(log->wdb, "commit");
	(void)sqlite3_step(log->rollback);
	sqlite3_reset(log->rollback);
	return PETRI_ERR_DB;
}

/*
 * Under the mutex, after a commit of batch: the records join the tree, or
 * on failure they and everything queued behind them (chained on them) fail
 * and the sequence falls back to the durable state.
 */
static void
log_batch_done(struct audit_log *log, struct log_pending *batch, int r)
{
	struct log_pending *p, *next;

	for (p = batch; p != NULL; p = next) {
		next = p->next;
		if (r == 0) {
			if (audit_merkle_tree_append(log->tree, p->leaf) != 0) {
				log_warn("audit: out of memory; log needs a "
				         "restart");
				log->broken = 1;
			}
			memcpy(log->durable_leaf, p->leaf, AUDIT_HASH_LEN);
		}
		p->status = r;
		p->done = 1;
		/* the owner cannot run before we drop the mutex */
		if (p->has_cv)
			pthread_cond_signal(&p->cv);
	}
	if (r != 0) {
		for (p = log->head; p != NULL; p = next) {
			next = p->next;
			p->status = r;
			p->done = 1;
			if (p->has_cv)
				pthread_cond_signal(&p->cv);
		}
		log->head = log->tail = NULL;
		log->next_seq = audit_merkle_tree_size(log->tree);
		memcpy(log->last_leaf, log->durable_leaf, AUDIT_HASH_LEN);
	}
	/* the next batch: its signed head's owner leads it */
	if (log->head != NULL && log->head->ready && log->head->has_cv)
		pthread_cond_signal(&log->head->cv);
	/* exclusive sections, followers, direct appenders */
	pthread_cond_broadcast(&log->cv);
}

/*
 * Under the mutex, the queue head signed: commits the signed prefix of the
 * queue as one batch, the lock dropped meanwhile.
 */
static void
log_lead(struct audit_log *log)
{
	struct log_pending *batch = log->head, *last = batch;
	size_t n = 1;
	int r;

	/* the head and the signed records right behind it */
	while (last->next != NULL && last->next->ready &&
	    n < AUDIT_LOG_MAX_BATCH) {
		last = last->next;
		n++;
	}
	log->head = last->next;
	if (log->head == NULL)
		log->tail = NULL;
	last->next = NULL;
	log->committing = 1;
	pthread_mutex_unlock(&log->mu);
	r = log_commit(log, batch);
	pthread_mutex_lock(&log->mu);
	log->committing = 0;
	log_batch_done(log, batch, r);
}

/*
 * Under the mutex: sequences, signs and commits one record from an event
 * dumped by audit_record_event_dump().  direct: all of it under the lock,
 * committing alone (exclusive sections, group commit off).  Otherwise the
 * record is queued in seq order, signed with the lock dropped (the signing
 * key cannot change while a record is queued: rotation waits for an empty
 * queue), and committed by whichever appender leads the next batch.
 */
static int
log_append_locked(struct audit_log *log, const char *type, const char *ev,
    size_t evlen, const char *id, const struct log_refs *refs,
    const struct log_newkey *nk, int direct, struct audit_appended *out)
{
	struct log_pending p;
	int r;

	direct = direct || !log->group;
	if (direct)
		while (log->committing || log->head != NULL)
			pthread_cond_wait(&log->cv, &log->mu);
	if (log->broken)
		return PETRI_ERR_STATE;
	memset(&p, 0, sizeof(p));
	p.seq = log->next_seq;
	if ((r = audit_record_build_dumped(log->origin, p.seq, log->last_leaf,
	         type, id, 0, ev, evlen, &p.bytes, &p.len)) != 0)
		return r;
	audit_record_leaf(p.bytes, p.len, p.leaf);
	audit_key_id_hex(&log->key, p.key_id);
	p.refs = refs;
	p.newkey = nk;
	log->next_seq++;
	memcpy(log->last_leaf, p.leaf, AUDIT_HASH_LEN);
	if (direct) {
		audit_record_sign(p.leaf, log->sk, p.sig);
		p.ready = 1;
		log_batch_done(log, &p, log_commit(log, &p));
	} else {
		pthread_cond_init(&p.cv, NULL);
		p.has_cv = 1;
		if (log->tail != NULL)
			log->tail->next = &p;
		else
			log->head = &p;
		log->tail = &p;
		pthread_mutex_unlock(&log->mu);
		audit_record_sign(p.leaf, log->sk, p.sig);
		pthread_mutex_lock(&log->mu);
		p.ready = 1;
		/*
		 * Nobody needs waking: if p heads the queue, its owner (us)
		 * leads below; if a commit runs, its leader wakes the next
		 * head; behind an unsigned head, that head's owner leads.
		 */
		while (!p.done) {
			if (!log->committing && log->head != NULL &&
			    log->head->ready)
				log_lead(log);
			else
				pthread_cond_wait(&p.cv, &log->mu);
		}
		pthread_cond_destroy(&p.cv);
	}
	if (p.status == 0 && out != NULL) {
		out->seq = p.seq;
		memcpy(out->leaf, p.leaf, AUDIT_HASH_LEN);
		petri_hex(p.leaf, AUDIT_HASH_LEN, out->leaf_hex);
		memcpy(out->sig, p.sig, AUDIT_SIG_LEN);
	}
	free(p.bytes);
	return p.status;
}

/* Under the mutex: appends a store-written event (direct). */
static int
log_append_event(struct audit_log *log, const char *type, json_t *event,
    const struct log_newkey *nk, struct audit_appended *out)
{
	char *ev = NULL;
	size_t evlen = 0;
	int r;

	if ((r = audit_record_event_dump(event, &ev, &evlen)) != 0)
		return r;
	r = log_append_locked(log, type, ev, evlen, NULL, NULL, nk, 1, out);
	free(ev);
	return r;
}

/* Waits (mutex held) until no commit runs and nothing is queued. */
static void
log_excl_enter(struct audit_log *log)
{
	log->excl++;
	while (log->committing || log->head != NULL)
		pthread_cond_wait(&log->cv, &log->mu);
}

static void
log_excl_leave(struct audit_log *log)
{
	log->excl--;
	pthread_cond_broadcast(&log->cv);
}

static int
log_started(struct audit_log *log)
{
	char vkey[AUDIT_VKEY_MAX], id[AUDIT_KEY_ID_HEX];
	uint64_t size = audit_merkle_tree_size(log->tree);
	json_t *ev;
	int r;

	if ((r = audit_vkey_format(&log->key, vkey, sizeof(vkey))) != 0)
		return r;
	audit_key_id_hex(&log->key, id);
	if ((ev = json_pack("{s:s, s:s, s:I, s:b}", "key", vkey, "key_id", id,
	         "size", (json_int_t)size, "genesis", size == 0)) == NULL)
		return PETRI_ERR_NOMEM;
	if (log->schema_from > 0)
		json_object_set_new(ev, "schema",
		    json_pack("{s:I, s:I}", "from",
		        (json_int_t)log->schema_from, "to",
		        (json_int_t)LOG_SCHEMA_VERSION));
	pthread_mutex_lock(&log->mu);
	r = log_append_event(log, AUDIT_TYPE_LOG_STARTED, ev, NULL, NULL);
	pthread_mutex_unlock(&log->mu);
	json_decref(ev);
	return r;
}

static void
log_free(struct audit_log *log)
{
	sqlite3_stmt **stmts[] = {
	    &log->ins_record,
	    &log->ins_blobref,
	    &log->ins_key,
	    &log->ins_cp,
	    &log->begin,
	    &log->commit,
	    &log->rollback,
	    &log->get_leaf,
	    &log->get_recs,
	    &log->get_cp_latest,
	};
	size_t i;

	for (i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++)
		sqlite3_finalize(*stmts[i]);
	sqlite3_close(log->rdb);
	sqlite3_close(log->wdb);
	audit_merkle_tree_free(log->tree);
	if (log->sk != NULL)
		sodium_free(log->sk);
	free(log->keys);
	pthread_cond_destroy(&log->cv);
	pthread_mutex_destroy(&log->mu);
	free(log);
}

int
audit_log_open(const char *dir, const char *origin, struct audit_log **logp)
{
	struct audit_log *log;
	pthread_condattr_t ca;
	char path[PATH_MAX];
	sqlite3_stmt *st = NULL;
	int fd, r;

	*logp = NULL;
	if (origin != NULL && !audit_key_name_valid(origin))
		return PETRI_ERR_INVAL;
	if ((log = calloc(1, sizeof(*log))) == NULL)
		return PETRI_ERR_NOMEM;
	pthread_mutex_init(&log->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&log->cv, &ca);
	pthread_condattr_destroy(&ca);
	log->group = 1;
	r = PETRI_ERR_NOMEM;
	if ((log->sk = sodium_malloc(AUDIT_SECKEY_LEN)) == NULL)
		goto fail;
	r = PETRI_ERR_TOOBIG;
	if (petri_strlcpy(log->dir, dir, sizeof(log->dir)) >= sizeof(log->dir))
		goto fail;
	if ((r = log_mkdir(log->dir)) != 0 ||
	    (r = log_path(log, "blobs", path)) != 0 ||
	    (r = log_mkdir(path)) != 0 ||
	    (r = log_path(log, "keys", path)) != 0 ||
	    (r = log_mkdir(path)) != 0 ||
	    (r = log_path(log, LOG_DB, path)) != 0)
		goto fail;
	/* create the database 0600 before SQLite does (it copies the mode) */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) <
	    0) {
		r = PETRI_ERR_IO;
		goto fail;
	}
	close(fd);
	if ((r = log_db_open(path, 0, &log->wdb)) != 0 ||
	    (r = log_db_setup(log)) != 0 ||
	    (r = log_db_open(path, 1, &log->rdb)) != 0 ||
	    (r = log_prepare_all(log)) != 0)
		goto fail;

	/* the origin is fixed at creation */
	r = PETRI_ERR_DB;
	if (sqlite3_prepare_v2(log->rdb,
	        "SELECT value FROM meta WHERE key = 'origin'", -1, &st,
	        NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *stored = (const char *)sqlite3_column_text(st, 0);

		r = PETRI_ERR_INVAL;
		if (stored == NULL ||
		    (origin != NULL && strcmp(stored, origin) != 0) ||
		    petri_strlcpy(log->origin, stored, sizeof(log->origin)) >=
		        sizeof(log->origin) ||
		    !audit_key_name_valid(log->origin))
			goto fail;
	} else {
		sqlite3_stmt *ins = NULL;
		int rc;

		r = PETRI_ERR_INVAL;
		if (origin == NULL)
			goto fail;
		petri_strlcpy(log->origin, origin, sizeof(log->origin));
		r = PETRI_ERR_DB;
		if (sqlite3_prepare_v2(log->wdb,
		        "INSERT INTO meta(key, value) VALUES('origin', ?)", -1,
		        &ins, NULL) != SQLITE_OK)
			goto fail;
		sqlite3_bind_text(ins, 1, log->origin, -1, SQLITE_STATIC);
		rc = sqlite3_step(ins);
		sqlite3_finalize(ins);
		if (rc != SQLITE_DONE)
			goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;

	if ((r = audit_merkle_tree_new(log_leaf_cb, log, &log->tree)) != 0 ||
	    (r = log_keys_load(log)) != 0 || (r = log_tree_load(log)) != 0 ||
	    (r = log_check_tail(log)) != 0 || (r = log_signing_key(log)) != 0 ||
	    (r = log_pub_write(log)) != 0 || (r = log_started(log)) != 0)
		goto fail;
	*logp = log;
	return 0;
fail:
	sqlite3_finalize(st);
	log_free(log);
	return r;
}

void
audit_log_close(struct audit_log *log)
{
	if (log == NULL)
		return;
	if (!log->broken && audit_log_checkpoint(log, 1) < 0)
		log_warn("audit: no final checkpoint at close");
	pthread_mutex_lock(&log->mu);
	log_excl_enter(log);
	pthread_mutex_unlock(&log->mu);
	log_free(log);
}

void
audit_log_set_group_commit(struct audit_log *log, int on)
{
	pthread_mutex_lock(&log->mu);
	log->group = on;
	pthread_mutex_unlock(&log->mu);
}

int
audit_log_append(struct audit_log *log, const char *type, json_t *event,
    struct audit_appended *out)
{
	struct log_refs refs = {NULL, 0, 0};
	char id[AUDIT_ID_MAX + 1], *ev = NULL;
	size_t evlen = 0;
	int r;

	/*
	 * Outside the lock: everything that does not depend on seq or prev
	 * (blob references and their files, the event's JSON, the id).
	 */
	if (!json_is_object(event) || !audit_record_type_valid(type))
		return PETRI_ERR_INVAL;
	if ((r = audit_record_blob_refs(event, log_refs_cb, &refs)) != 0 ||
	    (r = audit_record_blob_refs(event, log_blob_exists_cb, log)) != 0 ||
	    (r = audit_record_event_dump(event, &ev, &evlen)) != 0 ||
	    (r = petri_id_new(AUDIT_RECORD_ID_PREFIX, id, sizeof(id))) != 0)
		goto out;
	pthread_mutex_lock(&log->mu);
	while (log->excl)
		pthread_cond_wait(&log->cv, &log->mu);
	r = log_append_locked(log, type, ev, evlen, id, &refs, NULL, 0, out);
	pthread_mutex_unlock(&log->mu);
out:
	free(ev);
	free(refs.sha);
	return r;
}

uint64_t
audit_log_size(struct audit_log *log)
{
	uint64_t n;

	pthread_mutex_lock(&log->mu);
	n = audit_merkle_tree_size(log->tree);
	pthread_mutex_unlock(&log->mu);
	return n;
}

int
audit_log_wait(struct audit_log *log, uint64_t size, int timeout_ms)
{
	struct timespec ts;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&log->mu);
	while (audit_merkle_tree_size(log->tree) <= size && r == 0)
		if (pthread_cond_timedwait(&log->cv, &log->mu, &ts) ==
		    ETIMEDOUT)
			r = PETRI_ERR_TIMEOUT;
	if (audit_merkle_tree_size(log->tree) > size)
		r = 0;
	pthread_mutex_unlock(&log->mu);
	return r;
}

int
audit_log_blob_put(struct audit_log *log, const void *data, size_t len,
    char sha_hex[PETRI_SHA256_HEX])
{
	char path[PATH_MAX], sub[PATH_MAX];
	struct stat st;
	int n, r;

	if (len > AUDIT_BLOB_MAX)
		return PETRI_ERR_TOOBIG;
	petri_sha256_hex(data, len, sha_hex);
	if ((r = log_blob_path(log, sha_hex, path)) != 0)
		return r;
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (size_t)st.st_size == len)
		return 0;
	n = snprintf(sub, sizeof(sub), "%s/blobs/%.2s", log->dir, sha_hex);
	if (n < 0 || (size_t)n >= sizeof(sub))
		return PETRI_ERR_TOOBIG;
	if (mkdir(sub, 0700) == 0) {
		char parent[PATH_MAX];

		/* a new fan-out directory must itself be durable */
		if (log_path(log, "blobs", parent) == 0)
			log_fsync_dir(parent);
	} else if (errno != EEXIST)
		return PETRI_ERR_IO;
	return petri_file_write_atomic(path, data, len, 0600);
}

int
audit_log_blob_get(struct audit_log *log, const char *sha_hex, size_t max,
    unsigned char **out, size_t *lenp)
{
	char path[PATH_MAX], got[PETRI_SHA256_HEX];
	char *data = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if (!log_hex64_valid(sha_hex))
		return PETRI_ERR_INVAL;
	if ((r = log_blob_path(log, sha_hex, path)) != 0 ||
	    (r = petri_file_read(path, max, &data, &len)) != 0)
		return r;
	petri_sha256_hex(data, len, got);
	if (strcmp(got, sha_hex) != 0) {
		log_warn("audit: blob %s does not match its hash", sha_hex);
		free(data);
		return PETRI_ERR_CRYPTO;
	}
	*out = (unsigned char *)data;
	*lenp = len;
	return 0;
}

int
audit_log_blob_delete(struct audit_log *log, const char *sha_hex,
    const char *reason, struct audit_appended *out)
{
	char path[PATH_MAX], sub[PATH_MAX];
	struct stat st;
	json_t *ev;
	int n, r;

	if (!log_hex64_valid(sha_hex) || reason == NULL)
		return PETRI_ERR_INVAL;
	if ((r = log_blob_path(log, sha_hex, path)) != 0)
		return r;
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return PETRI_ERR_NOTFOUND;
	if ((ev = json_pack("{s:s, s:I, s:s}", "sha256", sha_hex, "size",
	         (json_int_t)st.st_size, "reason", reason)) == NULL)
		return PETRI_ERR_NOMEM;
	r = audit_log_append(log, AUDIT_TYPE_BLOB_DELETED, ev, out);
	json_decref(ev);
	if (r != 0)
		return r;
	if (unlink(path) != 0 && errno != ENOENT)
		return PETRI_ERR_IO;
	n = snprintf(sub, sizeof(sub), "%s/blobs/%.2s", log->dir, sha_hex);
	if (n > 0 && (size_t)n < sizeof(sub))
		log_fsync_dir(sub);
	return 0;
}

int
audit_log_blobs_before(struct audit_log *log, int64_t before_usec,
    uint64_t cursor, char (*names)[PETRI_SHA256_HEX], uint64_t *seqs,
    size_t max, size_t *n)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *sha;
	int rc = SQLITE_DONE, r = 0;

	*n = 0;
	if (cursor > INT64_MAX)
		cursor = INT64_MAX;
	pthread_mutex_lock(&log->mu);
	if (sqlite3_prepare_v2(log->rdb,
	        "SELECT sha, MAX(seq) AS last FROM record_blobs GROUP BY sha "
	        "HAVING last < (SELECT COALESCE(MAX(size), 0) FROM "
	        "checkpoints WHERE time < ?1) AND last < ?2 "
	        "ORDER BY last DESC LIMIT ?3",
	        -1, &st, NULL) != SQLITE_OK) {
		r = log_db_err(log->rdb, "prepare");
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)before_usec);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)cursor);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		sha = sqlite3_column_text(st, 0);
		if (sha == NULL || !log_hex64_valid((const char *)sha))
			continue;
		memcpy(names[*n], sha, PETRI_SHA256_HEX - 1);
		names[*n][PETRI_SHA256_HEX - 1] = '\0';
		seqs[*n] = (uint64_t)sqlite3_column_int64(st, 1);
		(*n)++;
	}
	if (*n < max && rc != SQLITE_DONE)
		r = log_db_err(log->rdb, "blobs before");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&log->mu);
	return r;
}

/* Under the mutex, no commit running: signs and stores a checkpoint. */
static int
log_checkpoint_locked(struct audit_log *log, int force)
{
	struct audit_checkpoint cp;
	sqlite3_stmt *st = log->ins_cp;
	char text[AUDIT_NOTE_MAX];
	uint64_t size = audit_merkle_tree_size(log->tree);
	int64_t now = petri_mono_ms();
	size_t len;
	int rc, r;

	if (log->broken)
		return PETRI_ERR_STATE;
	if (size == 0 || size == log->cp_size)
		return 0;
	if (!force && log->cp_ms != 0 &&
	    now - log->cp_ms < AUDIT_CHECKPOINT_MIN_MS)
		return 0;
	memset(&cp, 0, sizeof(cp));
	petri_strlcpy(cp.origin, log->origin, sizeof(cp.origin));
	cp.size = size;
	if ((r = audit_merkle_tree_root(log->tree, size, cp.root)) != 0 ||
	    (r = audit_checkpoint_sign(
	         &cp, &log->key, log->sk, text, sizeof(text), &len)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
	sqlite3_bind_text(st, 2, text, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, petri_now_usec());
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return log_db_err(log->wdb, "insert checkpoint");
	log->cp_size = size;
	log->cp_ms = now;
	return 1;
}

int
audit_log_checkpoint(struct audit_log *log, int force)
{
	int r;

	pthread_mutex_lock(&log->mu);
	while (log->committing)
		pthread_cond_wait(&log->cv, &log->mu);
	r = log_checkpoint_locked(log, force);
	pthread_mutex_unlock(&log->mu);
	return r;
}

int
audit_log_checkpoint_latest(struct audit_log *log, char **text, size_t *lenp,
    struct audit_checkpoint *cp)
{
	int r;

	pthread_mutex_lock(&log->mu);
	r = log_cp_latest(log, text, lenp, cp);
	pthread_mutex_unlock(&log->mu);
	return r;
}

int
audit_log_prove_inclusion(struct audit_log *log, uint64_t seq, uint64_t size,
    struct audit_merkle_proof *proof, uint64_t *sizep)
{
	int r;

	pthread_mutex_lock(&log->mu);
	if (size == 0)
		size = log->cp_size;
	if (size > audit_merkle_tree_size(log->tree))
		r = PETRI_ERR_INVAL;
	else if (size == 0 || seq >= size)
		r = PETRI_ERR_NOTFOUND;
	else
		r = audit_merkle_inclusion_prove(
		    audit_merkle_tree_node, log->tree, seq, size, proof);
	pthread_mutex_unlock(&log->mu);
	if (r == 0 && sizep != NULL)
		*sizep = size;
	return r;
}

int
audit_log_prove_consistency(struct audit_log *log, uint64_t old_size,
    uint64_t new_size, struct audit_merkle_proof *proof)
{
	int r;

	pthread_mutex_lock(&log->mu);
	if (new_size > audit_merkle_tree_size(log->tree))
		r = PETRI_ERR_INVAL;
	else
		r = audit_merkle_consistency_prove(audit_merkle_tree_node,
		    log->tree, old_size, new_size, proof);
	pthread_mutex_unlock(&log->mu);
	return r;
}

int
audit_log_record_get(struct audit_log *log, uint64_t seq, struct audit_entry *e)
{
	struct audit_entry *got = NULL;
	size_t n = 0;
	int r;

	memset(e, 0, sizeof(*e));
	pthread_mutex_lock(&log->mu);
	if (seq >= audit_merkle_tree_size(log->tree))
		r = PETRI_ERR_NOTFOUND;
	else
		r = log_entries_fetch(log, seq, 1, &got, &n);
	pthread_mutex_unlock(&log->mu);
	if (r != 0)
		return r;
	if (n != 1 || got[0].seq != seq) {
		audit_entries_free(got, n);
		return PETRI_ERR_NOTFOUND;
	}
	*e = got[0];
	free(got);
	return 0;
}

int
audit_log_records_get(struct audit_log *log, uint64_t from, size_t count,
    struct audit_entry **out, size_t *n)
{
	uint64_t size;
	int r;

	*out = NULL;
	*n = 0;
	if (count > AUDIT_LOG_MAX_RANGE)
		return PETRI_ERR_INVAL;
	pthread_mutex_lock(&log->mu);
	size = audit_merkle_tree_size(log->tree);
	if (from >= size)
		r = 0;
	else
		r = log_entries_fetch(log, from,
		    size - from < count ? (size_t)(size - from) : count, out,
		    n);
	pthread_mutex_unlock(&log->mu);
	return r;
}

void
audit_entry_clear(struct audit_entry *e)
{
	free(e->bytes);
	e->bytes = NULL;
	e->len = 0;
}

void
audit_entries_free(struct audit_entry *e, size_t n)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < n; i++)
		audit_entry_clear(&e[i]);
	free(e);
}

int
audit_log_rotate_key(struct audit_log *log, struct audit_appended *out)
{
	unsigned char nsk[AUDIT_SECKEY_LEN];
	struct audit_key nk;
	struct log_newkey row;
	struct audit_log_key *keys;
	char path[PATH_MAX], npath[PATH_MAX], kdir[PATH_MAX];
	char oid[AUDIT_KEY_ID_HEX], nid[AUDIT_KEY_ID_HEX];
	json_t *ev = NULL;
	int r;

	if ((r = log_path(log, LOG_KEY, path)) != 0 ||
	    (r = log_path(log, LOG_KEY_NEW, npath)) != 0 ||
	    (r = log_path(log, "keys", kdir)) != 0)
		return r;
	pthread_mutex_lock(&log->mu);
	log_excl_enter(log);
	if (log->broken) {
		r = PETRI_ERR_STATE;
		goto out;
	}
	/* 1. the new key is durable before anything names it */
	if ((r = log_skey_create(log, LOG_KEY_NEW, nsk, &nk)) != 0 ||
	    (r = log_newkey_init(&row, &nk, log->next_seq + 1)) != 0)
		goto out;
	audit_key_id_hex(&log->key, oid);
	audit_key_id_hex(&nk, nid);
	r = PETRI_ERR_NOMEM;
	if ((ev = json_pack("{s:s, s:s, s:s}", "key_id", oid, "new_key",
	         row.vkey, "new_key_id", nid)) == NULL)
		goto undo;
	/* 2. the rotation record, signed by the old key, with the keys row */
	if ((r = log_append_event(
	         log, AUDIT_TYPE_KEY_ROTATED, ev, &row, out)) != 0)
		goto undo;
	/* 3. the new key takes over */
	if ((keys = reallocarray(log->keys, log->nkeys + 1, sizeof(*keys))) !=
	    NULL) {
		log->keys = keys;
		log->keys[log->nkeys].key = nk;
		log->keys[log->nkeys].first_seq = row.first_seq;
		log->keys[log->nkeys].created_usec = row.created;
		log->nkeys++;
	} else
		log->broken = 1;
	memcpy(log->sk, nsk, AUDIT_SECKEY_LEN);
	log->key = nk;
	if (rename(npath, path) != 0) {
		log_warn("audit: cannot install the new signing key");
		log->broken = 1;
		r = PETRI_ERR_IO;
		goto out;
	}
	log_fsync_dir(kdir);
	r = log_pub_write(log);
	goto out;
undo:
	(void)unlink(npath);
out:
	sodium_memzero(nsk, sizeof(nsk));
	json_decref(ev);
	log_excl_leave(log);
	pthread_mutex_unlock(&log->mu);
	return r;
}

int
audit_log_cosig_add(struct audit_log *log, uint64_t size, const char *witness,
    const char *line, size_t len)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	if (len < 2 || line[len - 1] != '\n' ||
	    memchr(line, '\n', len - 1) != NULL || size > (uint64_t)INT64_MAX)
		return PETRI_ERR_INVAL;
	pthread_mutex_lock(&log->mu);
	while (log->committing)
		pthread_cond_wait(&log->cv, &log->mu);
	if (sqlite3_prepare_v2(log->wdb,
	        "INSERT OR REPLACE INTO cosignatures(size, witness, line, "
	        "time) "
	        "SELECT ?1, ?2, ?3, ?4 WHERE EXISTS "
	        "(SELECT 1 FROM checkpoints WHERE size = ?1)",
	        -1, &st, NULL) != SQLITE_OK) {
		r = log_db_err(log->wdb, "prepare");
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
	sqlite3_bind_text(st, 2, witness, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, line, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, petri_now_usec());
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		r = log_db_err(log->wdb, "insert cosignature");
	else
		r = sqlite3_changes(log->wdb) == 1 ? 0 : PETRI_ERR_NOTFOUND;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&log->mu);
	return r;
}

int
audit_log_tsa_add(struct audit_log *log, uint64_t size,
    const unsigned char *token, size_t len, int64_t gen_time)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (len == 0 || len > AUDIT_TSA_TOKEN_MAX || size > (uint64_t)INT64_MAX)
		return PETRI_ERR_INVAL;
	pthread_mutex_lock(&log->mu);
	while (log->committing)
		pthread_cond_wait(&log->cv, &log->mu);
	if (sqlite3_prepare_v2(log->wdb,
	        "INSERT OR REPLACE INTO timestamps(size, token, gen_time, "
	        "time) "
	        "SELECT ?1, ?2, ?3, ?4 WHERE EXISTS "
	        "(SELECT 1 FROM checkpoints WHERE size = ?1)",
	        -1, &st, NULL) != SQLITE_OK) {
		r = log_db_err(log->wdb, "prepare");
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
	sqlite3_bind_blob(st, 2, token, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, gen_time);
	sqlite3_bind_int64(st, 4, petri_now_usec());
	if (sqlite3_step(st) != SQLITE_DONE)
		r = log_db_err(log->wdb, "insert timestamp");
	else
		r = sqlite3_changes(log->wdb) == 1 ? 0 : PETRI_ERR_NOTFOUND;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&log->mu);
	return r;
}

int
audit_log_public_key(struct audit_log *log, struct audit_key *k)
{
	pthread_mutex_lock(&log->mu);
	*k = log->key;
	pthread_mutex_unlock(&log->mu);
	return 0;
}

int
audit_log_keys(struct audit_log *log, struct audit_log_key **keys, size_t *n)
{
	int r = 0;

	*keys = NULL;
	*n = 0;
	pthread_mutex_lock(&log->mu);
	if ((*keys = calloc(log->nkeys ? log->nkeys : 1, sizeof(**keys))) ==
	    NULL)
		r = PETRI_ERR_NOMEM;
	else {
		memcpy(*keys, log->keys, log->nkeys * sizeof(**keys));
		*n = log->nkeys;
	}
	pthread_mutex_unlock(&log->mu);
	return r;
}

/* ---- export ---- */

/* What the export needs from the locked state, taken in one go. */
struct log_snapshot {
	struct audit_bundle_manifest m;
	char vkey[AUDIT_VKEY_MAX + 1];
	unsigned char root[AUDIT_HASH_LEN];
	struct {
		uint64_t size;
		char *text;
	} * cp;
	size_t ncp;
	struct audit_bundle_rotation *rot;
	size_t nrot;
};

static void
log_snapshot_free(struct log_snapshot *s)
{
	size_t i;

	for (i = 0; i < s->ncp; i++)
		free(s->cp[i].text);
	free(s->cp);
	for (i = 0; i < s->nrot; i++)
		audit_bundle_rotation_clear(&s->rot[i]);
	free(s->rot);
}

static int
log_snapshot_range(struct audit_log *log, uint64_t begin, uint64_t end,
    struct audit_bundle_range *out)
{
	struct audit_merkle_range r;
	size_t i;
	int rc;

	if ((rc = audit_merkle_range_decompose(begin, end, &r)) != 0)
		return rc;
	for (i = 0; i < r.count; i++)
		if ((rc = audit_merkle_tree_node(
		         log->tree, r.level[i], r.index[i], out->hash[i])) != 0)
			return rc;
	out->count = r.count;
	return 0;
}

/* Appends one stored checkpoint row to s. */
static int
log_snapshot_cp_add(struct log_snapshot *s, sqlite3_stmt *st)
{
	const char *t = (const char *)sqlite3_column_text(st, 1);

	if (t == NULL)
		return PETRI_ERR_DB;
	if ((s->cp[s->ncp].text = strdup(t)) == NULL)
		return PETRI_ERR_NOMEM;
	s->cp[s->ncp++].size = (uint64_t)sqlite3_column_int64(st, 0);
	return 0;
}

/*
 * The stored checkpoints with size in [lo, hi], thinned evenly to leave
 * room for the newest (size n) when n > hi.
 */
static int
log_snapshot_checkpoints(struct audit_log *log, uint64_t lo, uint64_t hi,
    uint64_t n, struct log_snapshot *s)
{
	sqlite3_stmt *st = NULL;
	int64_t total = 0;
	uint64_t step, i = 0, room = AUDIT_BUNDLE_MAX_CHECKPOINTS - 1;
	int rc, r = PETRI_ERR_DB;

	if ((s->cp = calloc(AUDIT_BUNDLE_MAX_CHECKPOINTS, sizeof(*s->cp))) ==
	    NULL)
		return PETRI_ERR_NOMEM;
	if (sqlite3_prepare_v2(log->rdb,
	        "SELECT count(*) FROM checkpoints "
	        "WHERE size >= ? AND size <= ?",
	        -1, &st, NULL) != SQLITE_OK)
		return log_db_err(log->rdb, "prepare");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)lo);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)hi);
	if (sqlite3_step(st) == SQLITE_ROW)
		total = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	/* every step-th and the last: at most room - 1 + 1 rows */
	step = total > 0 ? ((uint64_t)total + room - 2) / (room - 1) : 1;
	if (step == 0)
		step = 1;
	if (sqlite3_prepare_v2(log->rdb,
	        "SELECT size, " LOG_CP_COSIGNED " FROM checkpoints "
	        "WHERE (size >= ? AND size <= ?) OR size = ? ORDER BY size",
	        -1, &st, NULL) != SQLITE_OK)
		return log_db_err(log->rdb, "prepare");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)lo);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)hi);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)n);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t size = (uint64_t)sqlite3_column_int64(st, 0);

		if (size > hi) {
			/* the newest, beyond the exported records */
			if ((r = log_snapshot_cp_add(s, st)) != 0)
				goto out;
			continue;
		}
		if ((i % step == 0 || i + 1 == (uint64_t)total) &&
		    s->ncp < room && (r = log_snapshot_cp_add(s, st)) != 0)
			goto out;
		i++;
	}
	r = rc == SQLITE_DONE ? 0 : PETRI_ERR_DB;
	if (r == 0 && (s->ncp == 0 || s->cp[s->ncp - 1].size != n))
		r = PETRI_ERR_NOTFOUND;
out:
	sqlite3_finalize(st);
	return r;
}

/*
 * Key rotation records outside [from, to): those before from with proofs
 * in the tree of size from, those from to on with proofs in size n.
 */
static int
log_snapshot_rotations(struct audit_log *log, uint64_t from, uint64_t to,
    uint64_t n, struct log_snapshot *s)
{
	struct audit_entry *e = NULL;
	size_t i, got = 0;
	int r;

	if ((s->rot = calloc(log->nkeys ? log->nkeys : 1, sizeof(*s->rot))) ==
	    NULL)
		return PETRI_ERR_NOMEM;
	for (i = 1; i < log->nkeys; i++) {
		uint64_t seq = log->keys[i].first_seq - 1;
		struct audit_bundle_rotation *rot = &s->rot[s->nrot];

		if ((seq >= from && seq < to) || seq >= n)
			continue;
		if ((r = log_entries_fetch(log, seq, 1, &e, &got)) != 0)
			return r;
		if (got != 1) {
			audit_entries_free(e, got);
			return PETRI_ERR_DB;
		}
		rot->seq = seq;
		rot->bytes = e[0].bytes;
		rot->len = e[0].len;
		memcpy(rot->sig, e[0].sig, AUDIT_SIG_LEN);
		e[0].bytes = NULL;
		audit_entries_free(e, got);
		s->nrot++;
		if ((r = audit_merkle_inclusion_prove(audit_merkle_tree_node,
		         log->tree, seq, seq < from ? from : n, &rot->proof)) !=
		    0)
			return r;
	}
	return 0;
}

static int
log_snapshot_take(
    struct audit_log *log, uint64_t from, uint64_t to, struct log_snapshot *s)
{
	struct audit_checkpoint cp;
	uint64_t n;
	size_t len;
	int r;

	if (log->broken)
		return PETRI_ERR_STATE;
	if ((r = log_cp_latest(log, NULL, NULL, &cp)) != 0)
		return r;
	n = cp.size;
	if (to == 0 || to > n)
		to = n;
	if (from > to)
		return PETRI_ERR_INVAL;
	memcpy(s->root, cp.root, AUDIT_HASH_LEN);
	petri_strlcpy(s->m.origin, log->origin, sizeof(s->m.origin));
	petri_time_rfc3339(petri_now_usec(), s->m.created);
	s->m.from = from;
	s->m.to = to;
	s->m.tree_size = n;
	if ((r = audit_vkey_format(&log->key, s->vkey, sizeof(s->vkey) - 1)) !=
	        0 ||
	    (r = log_snapshot_range(log, 0, from, &s->m.left)) != 0 ||
	    (r = log_snapshot_range(log, to, n, &s->m.right)) != 0 ||
	    (r = log_snapshot_checkpoints(log, from, to, n, s)) != 0 ||
	    (r = log_snapshot_rotations(log, from, to, n, s)) != 0)
		return r;
	len = strlen(s->vkey);
	s->vkey[len] = '\n';
	s->vkey[len + 1] = '\0';
	return 0;
}

/* Streams records [from, to) (pass 0: bytes, pass 1: signatures). */
static int
log_export_records(sqlite3 *db, struct audit_tar_writer *w, uint64_t from,
    uint64_t to, int pass)
{
	sqlite3_stmt *st = NULL;
	char line[AUDIT_BUNDLE_SIG_LINE_MAX];
	uint64_t expect = from;
	int rc, r;

	if (sqlite3_prepare_v2(db,
	        pass == 0
	            ? "SELECT seq, bytes FROM records WHERE seq >= ? AND seq < "
	              "? "
	              "ORDER BY seq"
	            : "SELECT seq, sig FROM records WHERE seq >= ? AND seq < ? "
	              "ORDER BY seq",
	        -1, &st, NULL) != SQLITE_OK)
		return log_db_err(db, "prepare");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)to);
	r = audit_tar_begin(
	    w, pass == 0 ? AUDIT_BUNDLE_RECORDS : AUDIT_BUNDLE_SIGS);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
		const void *p = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);

		if (seq != expect++ || n < 0 ||
		    (pass == 1 && n != AUDIT_SIG_LEN)) {
			r = PETRI_ERR_DB;
			break;
		}
		if (pass == 0)
			r = audit_tar_write(w, p, (size_t)n) != 0 ||
			        audit_tar_write(w, "\n", 1) != 0
			    ? PETRI_ERR_IO
			    : 0;
		else
			r = audit_tar_write(
			    w, line, audit_bundle_sig_line(seq, p, line));
	}
	if (r == 0 && (rc != SQLITE_DONE || expect != to))
		r = PETRI_ERR_DB;
	if (r == 0)
		r = audit_tar_end(w);
	sqlite3_finalize(st);
	return r;
}

static int
log_export_blob(const struct audit_log *log, struct audit_tar_writer *w,
    const char *sha, int *missing)
{
	char path[PATH_MAX], name[AUDIT_TAR_NAME_MAX];
	unsigned char buf[65536];
	ssize_t n;
	int fd, r;

	*missing = 0;
	if (!log_hex64_valid(sha) || log_blob_path(log, sha, path) != 0)
		return PETRI_ERR_DB;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno != ENOENT)
			return PETRI_ERR_IO;
		*missing = 1;
		return 0;
	}
	snprintf(name, sizeof(name), "%s%s", AUDIT_BUNDLE_BLOB_PREFIX, sha);
	r = audit_tar_begin(w, name);
	while (r == 0 && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = PETRI_ERR_IO;
			break;
		}
		r = audit_tar_write(w, buf, (size_t)n);
	}
	if (r == 0)
		r = audit_tar_end(w);
	close(fd);
	return r;
}

static int
log_export_blobs(struct audit_log *log, sqlite3 *db, struct audit_tar_writer *w,
    uint64_t from, uint64_t to, struct audit_export_info *info)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0, missing;

	if (sqlite3_prepare_v2(db,
	        "SELECT DISTINCT sha FROM record_blobs "
	        "WHERE seq >= ? AND seq < ? ORDER BY sha",
	        -1, &st, NULL) != SQLITE_OK)
		return log_db_err(db, "prepare");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)to);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *sha = (const char *)sqlite3_column_text(st, 0);

		if (sha == NULL) {
			r = PETRI_ERR_DB;
			break;
		}
		if ((r = log_export_blob(log, w, sha, &missing)) == 0) {
			if (missing)
				info->blobs_missing++;
			else
				info->blobs++;
		}
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = PETRI_ERR_DB;
	sqlite3_finalize(st);
	return r;
}

/* The RFC 3161 tokens of the exported checkpoints, when there are any. */
static int
log_export_timestamps(
    sqlite3 *db, struct audit_tar_writer *w, const struct log_snapshot *s)
{
	sqlite3_stmt *st = NULL;
	char name[AUDIT_BUNDLE_CP_NAME_MAX];
	size_t i;
	int rc, r = 0;

	if (sqlite3_prepare_v2(db,
	        "SELECT token FROM timestamps WHERE size = ?", -1, &st,
	        NULL) != SQLITE_OK)
		return log_db_err(db, "prepare");
	for (i = 0; r == 0 && i < s->ncp; i++) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)s->cp[i].size);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			audit_bundle_ts_name(s->cp[i].size, name);
			r = audit_tar_add(w, name, sqlite3_column_blob(st, 0),
			    (size_t)sqlite3_column_bytes(st, 0));
		} else if (rc != SQLITE_DONE)
			r = PETRI_ERR_DB;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return r;
}

int
audit_log_export(struct audit_log *log, uint64_t from, uint64_t to,
    const char *path, struct audit_export_info *info)
{
	struct log_snapshot s;
	struct audit_export_info inf;
	struct audit_tar_writer *w = NULL;
	char tmp[PATH_MAX], dbpath[PATH_MAX], name[AUDIT_BUNDLE_CP_NAME_MAX];
	char dir[PATH_MAX], *manifest = NULL, *line;
	sqlite3 *db = NULL;
	size_t i, len;
	int fd = -1, r;

	memset(&s, 0, sizeof(s));
	memset(&inf, 0, sizeof(inf));
	tmp[0] = '\0';
	if ((r = audit_log_checkpoint(log, 1)) < 0)
		return r;
	pthread_mutex_lock(&log->mu);
	r = log_snapshot_take(log, from, to, &s);
	pthread_mutex_unlock(&log->mu);
	if (r != 0)
		goto out;
	inf.from = s.m.from;
	inf.to = s.m.to;
	inf.tree_size = s.m.tree_size;
	memcpy(inf.root, s.root, AUDIT_HASH_LEN);
	inf.checkpoints = s.ncp;

	/* a private read transaction: one consistent view of [from, to) */
	if ((r = log_path(log, LOG_DB, dbpath)) != 0 ||
	    (r = log_db_open(dbpath, 1, &db)) != 0 ||
	    (r = log_exec(db, "BEGIN")) != 0)
		goto out;
	r = PETRI_ERR_TOOBIG;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
	    sizeof(tmp)) {
		tmp[0] = '\0';
		goto out;
	}
	r = PETRI_ERR_IO;
	if ((fd = mkstemp(tmp)) < 0) {
		tmp[0] = '\0';
		goto out;
	}
	if (fchmod(fd, 0600) != 0)
		goto out;
	r = PETRI_ERR_NOMEM;
	if ((w = malloc(sizeof(*w))) == NULL)
		goto out;
	audit_tar_writer_init(w, fd, petri_now_usec() / 1000000);
	if ((r = audit_bundle_manifest_encode(&s.m, &manifest, &len)) != 0 ||
	    (r = audit_tar_add(w, AUDIT_BUNDLE_MANIFEST, manifest, len)) != 0 ||
	    (r = audit_tar_add(
	         w, AUDIT_BUNDLE_PUBKEY, s.vkey, strlen(s.vkey))) != 0)
		goto out;
	for (i = 0; i < s.ncp; i++) {
		audit_bundle_cp_name(s.cp[i].size, name);
		if ((r = audit_tar_add(
		         w, name, s.cp[i].text, strlen(s.cp[i].text))) != 0)
			goto out;
	}
	if ((r = log_export_timestamps(db, w, &s)) != 0)
		goto out;
	if (s.m.from > 0 || s.m.to < s.m.tree_size) {
		if ((r = audit_tar_begin(w, AUDIT_BUNDLE_ROTATIONS)) != 0)
			goto out;
		for (i = 0; i < s.nrot; i++) {
			if ((r = audit_bundle_rotation_encode(
			         &s.rot[i], &line, &len)) != 0)
				goto out;
			r = audit_tar_write(w, line, len);
			free(line);
			if (r != 0)
				goto out;
		}
		if ((r = audit_tar_end(w)) != 0)
			goto out;
	}
	if ((r = log_export_records(db, w, s.m.from, s.m.to, 0)) != 0 ||
	    (r = log_export_records(db, w, s.m.from, s.m.to, 1)) != 0 ||
	    (r = log_export_blobs(log, db, w, s.m.from, s.m.to, &inf)) != 0 ||
	    (r = audit_tar_finish(w)) != 0)
		goto out;
	r = PETRI_ERR_IO;
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	tmp[0] = '\0';
	petri_strlcpy(dir, path, sizeof(dir));
	{
		char *slash = strrchr(dir, '/');

		if (slash == NULL)
			petri_strlcpy(dir, ".", sizeof(dir));
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
	}
	log_fsync_dir(dir);
	if (info != NULL)
		*info = inf;
	r = 0;
out:
	if (db != NULL) {
		(void)log_exec(db, "COMMIT");
		sqlite3_close(db);
	}
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	free(w);
	free(manifest);
	log_snapshot_free(&s);
	return r;
}
