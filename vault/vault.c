/*
 * vault.c: the secret store: vault.db, the master key file, encryption with
 * bound associated data, grants, placeholders and releases.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "buf.h"
#include "jsonv.h"
#include "util.h"
#include "vault.h"

#define VAULT_DB "vault.db"
#define VAULT_SCHEMA_VERSION 1
#define VAULT_BUSY_MS 5000
#define VAULT_KDF_CTX "petrivlt" /* crypto_kdf context: 8 bytes */
#define VAULT_SUBKEY_LEN 32
#define VAULT_NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define VAULT_TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define VAULT_CHECK_LEN 32
#define VAULT_CHECK_TEXT "petri vault key check v1"
/* tenant, name, version (10 digits), three NULs and the binding */
#define VAULT_AD_MAX                                                           \
	(VAULT_TENANT_MAX + VAULT_NAME_MAX + 10 + 3 + VAULT_BINDING_MAX)

/* Subkeys derived from the master key (crypto_kdf ids). */
enum vault_subkey {
	VK_ENC = 0, /* XChaCha20-Poly1305 */
	VK_FP, /* fingerprints (HMAC-SHA256) */
	VK_PH, /* placeholder lookup hashes (keyed BLAKE2b) */
	VK_CHECK, /* the check value that tells a wrong key */
	VK_N
};

/*
 * Schema migrations: vault_migrations[i] takes user_version i to i + 1.
 * A new version appends a step; a step is never edited.
 */
static const char *const vault_schema_v1[] = {
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE secrets("
    " tenant TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL UNIQUE,"
    " version INTEGER NOT NULL, binding TEXT NOT NULL,"
    " nonce BLOB NOT NULL, ciphertext BLOB NOT NULL,"
    " fingerprint TEXT NOT NULL, created_usec INTEGER NOT NULL,"
    " rotated_usec INTEGER NOT NULL,"
    " PRIMARY KEY(tenant, name)) WITHOUT ROWID",
    "CREATE TABLE grants("
    " sandbox TEXT NOT NULL, tenant TEXT NOT NULL, name TEXT NOT NULL,"
    " created_usec INTEGER NOT NULL,"
    " PRIMARY KEY(sandbox, tenant, name)) WITHOUT ROWID",
    "CREATE INDEX grants_secret ON grants(tenant, name)",
    "CREATE TABLE placeholders("
    " hash BLOB PRIMARY KEY, sandbox TEXT NOT NULL, tenant TEXT NOT NULL,"
    " name TEXT NOT NULL, created_usec INTEGER NOT NULL,"
    " UNIQUE(sandbox, tenant, name))",
    "CREATE INDEX placeholders_secret ON placeholders(tenant, name)",
    "PRAGMA user_version = 1",
    NULL,
};

static const char *const *const vault_migrations[VAULT_SCHEMA_VERSION] = {
    vault_schema_v1,
};

/* Prepared statements, by index. */
enum vault_stmt {
	VS_BEGIN = 0,
	VS_COMMIT,
	VS_ROLLBACK,
	VS_META_GET,
	VS_META_PUT,
	VS_SEC_GET,
	VS_SEC_INS,
	VS_SEC_UPD,
	VS_SEC_DEL,
	VS_SEC_LIST,
	VS_SEC_COUNT,
	VS_GRANT_INS,
	VS_GRANT_GET,
	VS_GRANT_DEL_SECRET,
	VS_GRANT_DEL_SANDBOX,
	VS_GRANT_TENANT,
	VS_PH_INS,
	VS_PH_GET,
	VS_PH_DEL_ONE,
	VS_PH_DEL_SECRET,
	VS_PH_DEL_SANDBOX,
	VS_N
};

static const char *const vault_sql[VS_N] = {
    [VS_BEGIN] = "BEGIN IMMEDIATE",
    [VS_COMMIT] = "COMMIT",
    [VS_ROLLBACK] = "ROLLBACK",
    [VS_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [VS_META_PUT] = "INSERT INTO meta(key, value) VALUES(?1, ?2)",
    [VS_SEC_GET] = "SELECT id, version, binding, nonce, ciphertext,"
                   " fingerprint, created_usec, rotated_usec"
                   " FROM secrets WHERE tenant = ?1 AND name = ?2",
    [VS_SEC_INS] = "INSERT INTO secrets(tenant, name, id, version, binding,"
                   " nonce, ciphertext, fingerprint, created_usec,"
                   " rotated_usec) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                   " ?9, ?10)",
    [VS_SEC_UPD] = "UPDATE secrets SET version = ?4, binding = ?5,"
                   " nonce = ?6, ciphertext = ?7, fingerprint = ?8,"
                   " rotated_usec = ?10 WHERE tenant = ?1 AND name = ?2"
                   " AND id = ?3 AND version = ?9",
    [VS_SEC_DEL] = "DELETE FROM secrets WHERE tenant = ?1 AND name = ?2",
    [VS_SEC_LIST] = "SELECT name FROM secrets WHERE tenant = ?1"
                    " ORDER BY name LIMIT ?2",
    [VS_SEC_COUNT] = "SELECT count(*) FROM secrets WHERE tenant = ?1",
    [VS_GRANT_INS] = "INSERT OR IGNORE INTO grants(sandbox, tenant, name,"
                     " created_usec) VALUES(?1, ?2, ?3, ?4)",
    [VS_GRANT_GET] = "SELECT 1 FROM grants WHERE sandbox = ?1"
                     " AND tenant = ?2 AND name = ?3",
    [VS_GRANT_DEL_SECRET] = "DELETE FROM grants WHERE tenant = ?1"
                            " AND name = ?2",
    [VS_GRANT_DEL_SANDBOX] = "DELETE FROM grants WHERE sandbox = ?1",
    [VS_GRANT_TENANT] = "SELECT tenant FROM grants WHERE sandbox = ?1"
                        " LIMIT 1",
    [VS_PH_INS] = "INSERT INTO placeholders(hash, sandbox, tenant, name,"
                  " created_usec) VALUES(?1, ?2, ?3, ?4, ?5)",
    [VS_PH_GET] = "SELECT sandbox, tenant, name FROM placeholders"
                  " WHERE hash = ?1",
    [VS_PH_DEL_ONE] = "DELETE FROM placeholders WHERE sandbox = ?1"
                      " AND tenant = ?2 AND name = ?3",
    [VS_PH_DEL_SECRET] = "DELETE FROM placeholders WHERE tenant = ?1"
                         " AND name = ?2",
    [VS_PH_DEL_SANDBOX] = "DELETE FROM placeholders WHERE sandbox = ?1",
};

struct vault {
	pthread_mutex_t mu;
	sqlite3 *db;
	sqlite3_stmt *st[VS_N];
	unsigned char *keys; /* sodium_malloc: VK_N subkeys */
};

/* One stored secret row. */
struct vault_row {
	char id[PETRI_ID_MAX + 1];
	uint32_t version;
	char *binding; /* canonical JSON, NUL-terminated */
	size_t binding_len;
	unsigned char nonce[VAULT_NONCE_LEN];
	unsigned char *ct;
	size_t ct_len;
	char fingerprint[VAULT_FINGERPRINT_HEX + 1];
	int64_t created_usec, rotated_usec;
};

static const char vault_b32[] = "abcdefghijklmnopqrstuvwxyz234567";

static const unsigned char *
vault_key(const struct vault *v, enum vault_subkey k)
{
	return v->keys + (size_t)k * VAULT_SUBKEY_LEN;
}

static void
vault_row_clear(struct vault_row *r)
{
	free(r->binding);
	free(r->ct);
	memset(r, 0, sizeof(*r));
}

/* Resets a statement for its next use and returns it. */
static sqlite3_stmt *
vault_st(struct vault *v, enum vault_stmt s)
{
	sqlite3_reset(v->st[s]);
	sqlite3_clear_bindings(v->st[s]);
	return v->st[s];
}

/* Steps a statement that returns no row; resets it. */
static int
vault_st_done(struct vault *v, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT)
		return PETRI_ERR_EXISTS;
	(void)v;
	return PETRI_ERR_DB;
}

static int
vault_tx(struct vault *v, enum vault_stmt s)
{
	return vault_st_done(v, vault_st(v, s));
}

/* Ends a transaction: commit when r is 0, else roll back; returns r. */
static int
vault_tx_end(struct vault *v, int r)
{
	if (r == 0 && (r = vault_tx(v, VS_COMMIT)) == 0)
		return 0;
	(void)vault_tx(v, VS_ROLLBACK);
	return r;
}

static int
vault_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) != SQLITE_OK)
		return PETRI_ERR_DB;
	return 0;
}

static int
vault_bind_int64(sqlite3_stmt *st, int i, int64_t x)
{
	if (sqlite3_bind_int64(st, i, x) != SQLITE_OK)
		return PETRI_ERR_DB;
	return 0;
}

static int
vault_exec(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return PETRI_ERR_DB;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : PETRI_ERR_DB;
}

static int
vault_pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int r = PETRI_ERR_DB;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return PETRI_ERR_DB;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

/* WAL, synchronous=FULL, secure_delete, then the migrations. */
static int
vault_db_setup(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int64_t ver = 0;
	size_t i, j;
	int ok, r;

	if (sqlite3_prepare_v2(
	        db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK)
		return PETRI_ERR_DB;
	ok = sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0) != NULL &&
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
	sqlite3_finalize(st);
	if (!ok)
		return PETRI_ERR_DB;
	if ((r = vault_exec(db, "PRAGMA synchronous = FULL")) != 0 ||
	    (r = vault_exec(db, "PRAGMA secure_delete = ON")) != 0 ||
	    (r = vault_exec(db, "PRAGMA trusted_schema = OFF")) != 0 ||
	    (r = vault_pragma_int(db, "PRAGMA user_version", &ver)) != 0)
		return r;
	if (ver < 0)
		return PETRI_ERR_DB;
	if (ver > VAULT_SCHEMA_VERSION)
		return PETRI_ERR_UNSUPPORTED;
	for (i = (size_t)ver; i < VAULT_SCHEMA_VERSION; i++) {
		if ((r = vault_exec(db, "BEGIN IMMEDIATE")) != 0)
			return r;
		for (j = 0; vault_migrations[i][j] != NULL; j++)
			if ((r = vault_exec(db, vault_migrations[i][j])) != 0) {
				(void)vault_exec(db, "ROLLBACK");
				return r;
			}
		if ((r = vault_exec(db, "COMMIT")) != 0)
			return r;
	}
	return 0;
}

/*
 * Reads the master key file: a regular file owned by the effective uid,
 * mode at most 0600, exactly VAULT_MASTER_KEY_LEN bytes.
 */
static int
vault_key_load(const char *path, unsigned char *key)
{
	unsigned char extra;
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd, r = PETRI_ERR_IO;

	if ((fd = open(path,
	         O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK)) <
	    0) {
		if (errno == ENOENT)
			return PETRI_ERR_NOTFOUND;
		return errno == ELOOP ? PETRI_ERR_PERM : PETRI_ERR_IO;
	}
	if (fstat(fd, &st) != 0)
		goto out;
	r = PETRI_ERR_PERM;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 07777 & ~(mode_t)0600) != 0)
		goto out;
	r = PETRI_ERR_INVAL;
	if (st.st_size != VAULT_MASTER_KEY_LEN)
		goto out;
	while (got < VAULT_MASTER_KEY_LEN) {
		n = read(fd, key + got, VAULT_MASTER_KEY_LEN - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		got += (size_t)n;
	}
	/* the file must end here */
	while ((n = read(fd, &extra, 1)) < 0 && errno == EINTR)
		;
	if (n != 0)
		goto out;
	r = 0;
out:
	close(fd);
	if (r != 0)
		sodium_memzero(key, VAULT_MASTER_KEY_LEN);
	return r;
}

/*
 * Writes a fresh master key to path (0600): a temporary file in the same
 * directory, fsync, then link(2), which never replaces an existing file.
 */
static int
vault_key_create(const char *path, unsigned char *key)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd = -1, dfd, r = PETRI_ERR_IO;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
	        sizeof(tmp) ||
	    petri_strlcpy(dir, path, sizeof(dir)) >= sizeof(dir))
		return PETRI_ERR_TOOBIG;
	randombytes_buf(key, VAULT_MASTER_KEY_LEN);
	if ((fd = mkstemp(tmp)) < 0) {
		tmp[0] = '\0';
		goto out;
	}
	if (fchmod(fd, 0600) != 0 ||
	    petri_write_all(fd, key, VAULT_MASTER_KEY_LEN) != 0 ||
	    fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (link(tmp, path) != 0) {
		r = errno == EEXIST ? PETRI_ERR_EXISTS : PETRI_ERR_IO;
		goto out;
	}
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >=
	    0) {
		(void)fsync(dfd);
		close(dfd);
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		(void)unlink(tmp);
	if (r != 0)
		sodium_memzero(key, VAULT_MASTER_KEY_LEN);
	return r;
}

/* meta[key] into out (outsz bytes).  0, PETRI_ERR_NOTFOUND or _DB. */
static int
vault_meta_get(struct vault *v, const char *key, char *out, size_t outsz)
{
	sqlite3_stmt *st = vault_st(v, VS_META_GET);
	const char *s;
	int rc, r = PETRI_ERR_DB;

	if (vault_bind_text(st, 1, key) != 0)
		return PETRI_ERR_DB;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = PETRI_ERR_NOTFOUND;
	else if (rc == SQLITE_ROW &&
	    (s = (const char *)sqlite3_column_text(st, 0)) != NULL &&
	    petri_strlcpy(out, s, outsz) < outsz)
		r = 0;
	sqlite3_reset(st);
	return r;
}

/*
 * Loads or creates the master key, derives the subkeys and checks them
 * against the database's check value (storing it on first use).
 */
static int
vault_keys_setup(struct vault *v, const char *key_path)
{
	unsigned char *master = NULL, check[VAULT_CHECK_LEN];
	unsigned char stored[VAULT_CHECK_LEN];
	char hex[2 * VAULT_CHECK_LEN + 1], shex[2 * VAULT_CHECK_LEN + 2];
	sqlite3_stmt *st;
	size_t i;
	int have, r;

	if ((master = sodium_malloc(VAULT_MASTER_KEY_LEN)) == NULL)
		return PETRI_ERR_NOMEM;
	if ((r = vault_meta_get(v, "key_check", shex, sizeof(shex))) != 0 &&
	    r != PETRI_ERR_NOTFOUND)
		goto out;
	have = r == 0;
	if ((r = vault_key_load(key_path, master)) == PETRI_ERR_NOTFOUND &&
	    !have)
		r = vault_key_create(key_path, master);
	if (r != 0)
		goto out;
	for (i = 0; i < VK_N; i++)
		if (crypto_kdf_derive_from_key(v->keys + i * VAULT_SUBKEY_LEN,
		        VAULT_SUBKEY_LEN, (uint64_t)i + 1, VAULT_KDF_CTX,
		        master) != 0) {
			r = PETRI_ERR_CRYPTO;
			goto out;
		}
	crypto_generichash(check, sizeof(check),
	    (const unsigned char *)VAULT_CHECK_TEXT,
	    sizeof(VAULT_CHECK_TEXT) - 1, vault_key(v, VK_CHECK),
	    VAULT_SUBKEY_LEN);
	if (have) {
		r = PETRI_ERR_CRYPTO;
		if (strlen(shex) != sizeof(hex) - 1 ||
		    petri_unhex(shex, stored, sizeof(stored)) != 0 ||
		    sodium_memcmp(stored, check, sizeof(check)) != 0)
			goto out;
		r = 0;
		goto out;
	}
	petri_hex(check, sizeof(check), hex);
	st = vault_st(v, VS_META_PUT);
	if ((r = vault_bind_text(st, 1, "key_check")) != 0 ||
	    (r = vault_bind_text(st, 2, hex)) != 0 ||
	    (r = vault_st_done(v, st)) != 0)
		goto out;
out:
	sodium_free(master);
	if (r != 0)
		sodium_memzero(v->keys, (size_t)VK_N * VAULT_SUBKEY_LEN);
	return r;
}

void
vault_close(struct vault *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < VS_N; i++)
		sqlite3_finalize(v->st[i]);
	sqlite3_close(v->db);
	sodium_free(v->keys);
	pthread_mutex_destroy(&v->mu);
	free(v);
}

int
vault_open(const char *dir, const char *key_path, struct vault **out)
{
	struct vault *v = NULL;
	char path[PATH_MAX];
	struct stat st;
	size_t i;
	int fd, r;

	*out = NULL;
	if (dir == NULL || key_path == NULL || dir[0] == '\0' ||
	    key_path[0] == '\0')
		return PETRI_ERR_INVAL;
	if (sodium_init() < 0)
		return PETRI_ERR_CRYPTO;
	if ((r = petri_path_join(path, sizeof(path), dir, VAULT_DB)) != 0)
		return r;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return PETRI_ERR_IO;
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return PETRI_ERR_IO;
	/* create the database 0600 before SQLite does (it copies the mode) */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) <
	    0)
		return PETRI_ERR_IO;
	close(fd);
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return PETRI_ERR_NOMEM;
	pthread_mutex_init(&v->mu, NULL);
	r = PETRI_ERR_NOMEM;
	if ((v->keys = sodium_malloc((size_t)VK_N * VAULT_SUBKEY_LEN)) == NULL)
		goto fail;
	r = PETRI_ERR_DB;
	if (sqlite3_open_v2(path, &v->db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX |
	            SQLITE_OPEN_NOFOLLOW,
	        NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(v->db, VAULT_BUSY_MS);
	if ((r = vault_db_setup(v->db)) != 0)
		goto fail;
	r = PETRI_ERR_DB;
	for (i = 0; i < VS_N; i++)
		if (sqlite3_prepare_v3(v->db, vault_sql[i], -1,
		        SQLITE_PREPARE_PERSISTENT, &v->st[i],
		        NULL) != SQLITE_OK)
			goto fail;
	if ((r = vault_keys_setup(v, key_path)) != 0)
		goto fail;
	*out = v;
	return 0;
fail:
	vault_close(v);
	return r;
}

/* Builds the associated data of one ciphertext. */
static int
vault_ad(struct buf *ad, const char *tenant, const char *name, uint32_t version,
    const char *binding, size_t blen)
{
	buf_init(ad, VAULT_AD_MAX);
	if (buf_append_str(ad, tenant) != 0 || buf_append(ad, "", 1) != 0 ||
	    buf_append_str(ad, name) != 0 || buf_append(ad, "", 1) != 0 ||
	    buf_printf(ad, "%u", (unsigned)version) != 0 ||
	    buf_append(ad, "", 1) != 0 || buf_append(ad, binding, blen) != 0) {
		buf_free(ad);
		return PETRI_ERR_NOMEM;
	}
	return 0;
}

/* Encrypts value into row->nonce and row->ct (malloc'ed). */
static int
vault_seal(struct vault *v, const char *tenant, const char *name,
    struct vault_row *row, const char *value, size_t vlen)
{
	unsigned long long clen = 0;
	struct buf ad;
	int r;

	if ((r = vault_ad(&ad, tenant, name, row->version, row->binding,
	         row->binding_len)) != 0)
		return r;
	free(row->ct);
	row->ct_len = 0;
	if ((row->ct = malloc(vlen + VAULT_TAG_LEN)) == NULL) {
		buf_free(&ad);
		return PETRI_ERR_NOMEM;
	}
	randombytes_buf(row->nonce, sizeof(row->nonce));
	(void)crypto_aead_xchacha20poly1305_ietf_encrypt(row->ct, &clen,
	    (const unsigned char *)value, vlen, ad.data, ad.len, NULL,
	    row->nonce, vault_key(v, VK_ENC));
	row->ct_len = (size_t)clen;
	buf_free(&ad);
	return 0;
}

/*
 * Decrypts row's ciphertext into out (outsz bytes, NUL-terminated; caller's
 * locked memory).  Returns 0, PETRI_ERR_CRYPTO or PETRI_ERR_NOMEM.
 */
static int
vault_unseal(struct vault *v, const char *tenant, const char *name,
    const struct vault_row *row, char *out, size_t outsz, size_t *lenp)
{
	unsigned long long mlen = 0;
	struct buf ad;
	int r;

	*lenp = 0;
	if (row->ct_len < VAULT_TAG_LEN ||
	    row->ct_len - VAULT_TAG_LEN > VAULT_VALUE_MAX ||
	    row->ct_len - VAULT_TAG_LEN >= outsz)
		return PETRI_ERR_CRYPTO;
	if ((r = vault_ad(&ad, tenant, name, row->version, row->binding,
	         row->binding_len)) != 0)
		return r;
	r = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)out,
	        &mlen, NULL, row->ct, row->ct_len, ad.data, ad.len, row->nonce,
	        vault_key(v, VK_ENC)) != 0)
		r = PETRI_ERR_CRYPTO;
	buf_free(&ad);
	if (r != 0) {
		sodium_memzero(out, outsz);
		return r;
	}
	out[mlen] = '\0';
	*lenp = (size_t)mlen;
	return 0;
}

/* First 16 hex of HMAC-SHA256(fp key, tenant || 0 || name || 0 || value). */
static void
vault_fingerprint(struct vault *v, const char *tenant, const char *name,
    const char *value, size_t vlen, char out[VAULT_FINGERPRINT_HEX + 1])
{
	crypto_auth_hmacsha256_state s;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_init(&s, vault_key(v, VK_FP), VAULT_SUBKEY_LEN);
	crypto_auth_hmacsha256_update(
	    &s, (const unsigned char *)tenant, strlen(tenant) + 1);
	crypto_auth_hmacsha256_update(
	    &s, (const unsigned char *)name, strlen(name) + 1);
	crypto_auth_hmacsha256_update(&s, (const unsigned char *)value, vlen);
	crypto_auth_hmacsha256_final(&s, mac);
	petri_hex(mac, VAULT_FINGERPRINT_HEX / 2, out);
	sodium_memzero(&s, sizeof(s));
	sodium_memzero(mac, sizeof(mac));
}

/* Copies a text column of at most max bytes.  0 or PETRI_ERR_DB. */
static int
vault_col_text(sqlite3_stmt *st, int i, char *out, size_t outsz)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	if (s == NULL || (size_t)sqlite3_column_bytes(st, i) >= outsz ||
	    petri_strlcpy(out, s, outsz) >= outsz)
		return PETRI_ERR_DB;
	return 0;
}

/* Loads the row of (tenant, name).  0, PETRI_ERR_NOTFOUND, _DB, _NOMEM. */
static int
vault_row_get(struct vault *v, const char *tenant, const char *name,
    struct vault_row *row)
{
	sqlite3_stmt *st = vault_st(v, VS_SEC_GET);
	const void *p;
	int64_t ver;
	int rc, n, r = PETRI_ERR_DB;

	memset(row, 0, sizeof(*row));
	if (vault_bind_text(st, 1, tenant) != 0 ||
	    vault_bind_text(st, 2, name) != 0)
		return PETRI_ERR_DB;
	if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
		r = PETRI_ERR_NOTFOUND;
		goto out;
	}
	if (rc != SQLITE_ROW)
		goto out;
	ver = sqlite3_column_int64(st, 1);
	if (vault_col_text(st, 0, row->id, sizeof(row->id)) != 0 || ver < 1 ||
	    ver > UINT32_MAX ||
	    vault_col_text(st, 5, row->fingerprint, sizeof(row->fingerprint)) !=
	        0)
		goto out;
	row->version = (uint32_t)ver;
	n = sqlite3_column_bytes(st, 2);
	if (sqlite3_column_text(st, 2) == NULL || n <= 0 ||
	    n > VAULT_BINDING_MAX)
		goto out;
	r = PETRI_ERR_NOMEM;
	if ((row->binding = malloc((size_t)n + 1)) == NULL)
		goto out;
	memcpy(row->binding, sqlite3_column_text(st, 2), (size_t)n);
	row->binding[n] = '\0';
	row->binding_len = (size_t)n;
	r = PETRI_ERR_DB;
	if ((p = sqlite3_column_blob(st, 3)) == NULL ||
	    sqlite3_column_bytes(st, 3) != VAULT_NONCE_LEN)
		goto out;
	memcpy(row->nonce, p, VAULT_NONCE_LEN);
	n = sqlite3_column_bytes(st, 4);
	if ((p = sqlite3_column_blob(st, 4)) == NULL ||
	    n < (int)VAULT_TAG_LEN || n > VAULT_VALUE_MAX + (int)VAULT_TAG_LEN)
		goto out;
	r = PETRI_ERR_NOMEM;
	if ((row->ct = malloc((size_t)n)) == NULL)
		goto out;
	memcpy(row->ct, p, (size_t)n);
	row->ct_len = (size_t)n;
	row->created_usec = sqlite3_column_int64(st, 6);
	row->rotated_usec = sqlite3_column_int64(st, 7);
	r = 0;
out:
	sqlite3_reset(st);
	if (r != 0)
		vault_row_clear(row);
	return r;
}

/* Writes row as (tenant, name): insert, or update from version old. */
static int
vault_row_put(struct vault *v, const char *tenant, const char *name,
    const struct vault_row *row, uint32_t old)
{
	sqlite3_stmt *st = vault_st(v, old == 0 ? VS_SEC_INS : VS_SEC_UPD);
	int r;

	if (vault_bind_text(st, 1, tenant) != 0 ||
	    vault_bind_text(st, 2, name) != 0 ||
	    vault_bind_text(st, 3, row->id) != 0 ||
	    sqlite3_bind_int64(st, 4, row->version) != SQLITE_OK ||
	    sqlite3_bind_text(st, 5, row->binding, (int)row->binding_len,
	        SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 6, row->nonce, VAULT_NONCE_LEN,
	        SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(
	        st, 7, row->ct, (int)row->ct_len, SQLITE_STATIC) != SQLITE_OK ||
	    vault_bind_text(st, 8, row->fingerprint) != 0 ||
	    sqlite3_bind_int64(st, 9, old == 0 ? row->created_usec : old) !=
	        SQLITE_OK ||
	    sqlite3_bind_int64(st, 10, row->rotated_usec) != SQLITE_OK)
		return PETRI_ERR_DB;
	if ((r = vault_st_done(v, st)) != 0)
		return r;
	if (old != 0 && sqlite3_changes(v->db) != 1)
		return PETRI_ERR_STATE;
	return 0;
}

static int
vault_meta_fill(const char *tenant, const char *name,
    const struct vault_row *row, int inject, struct vault_meta *m)
{
	memset(m, 0, sizeof(*m));
	(void)petri_strlcpy(m->id, row->id, sizeof(m->id));
	(void)petri_strlcpy(m->tenant, tenant, sizeof(m->tenant));
	(void)petri_strlcpy(m->name, name, sizeof(m->name));
	m->version = row->version;
	m->inject = inject;
	m->created_usec = row->created_usec;
	m->rotated_usec = row->rotated_usec;
	memcpy(m->fingerprint, row->fingerprint, sizeof(m->fingerprint));
	if ((m->binding = strdup(row->binding)) == NULL)
		return PETRI_ERR_NOMEM;
	m->binding_len = row->binding_len;
	return 0;
}

/* Parses and canonicalises a binding for storage in row. */
static int
vault_binding_take(const char *doc, size_t len, struct vault_row *row,
    int *inject, char *err, size_t errlen)
{
	struct vault_binding *b = NULL;
	char *canon = NULL;
	size_t clen = 0;
	int r;

	if ((r = vault_binding_parse(doc, len, &b, err, errlen)) != 0)
		return r;
	if ((r = vault_binding_canonical(b, &canon, &clen)) != 0) {
		vault_binding_free(b);
		return r;
	}
	*inject = b->inject;
	vault_binding_free(b);
	if (clen > VAULT_BINDING_MAX) {
		free(canon);
		jsonv_err_set(err, errlen, "binding larger than %d bytes",
		    VAULT_BINDING_MAX);
		return PETRI_ERR_TOOBIG;
	}
	free(row->binding);
	row->binding = canon;
	row->binding_len = clen;
	return 0;
}

/* The stored binding of row, parsed again; corrupt text is tampering. */
static int
vault_row_binding(const struct vault_row *row, struct vault_binding **b)
{
	if (vault_binding_parse(row->binding, row->binding_len, b, NULL, 0) !=
	    0)
		return PETRI_ERR_CRYPTO;
	return 0;
}

static int
vault_names_check(
    const char *tenant, const char *name, char *err, size_t errlen)
{
	if (!vault_tenant_valid(tenant)) {
		jsonv_err_set(err, errlen, "tenant: 1 to %d of [a-z0-9_-]",
		    VAULT_TENANT_MAX);
		return PETRI_ERR_INVAL;
	}
	if (!vault_name_valid(name)) {
		jsonv_err_set(
		    err, errlen, "name: 1 to %d of [a-z0-9_-]", VAULT_NAME_MAX);
		return PETRI_ERR_INVAL;
	}
	return 0;
}

int
vault_secret_create(struct vault *v, const char *tenant, const char *name,
    const char *value, size_t vlen, const char *binding, size_t blen,
    struct vault_meta *meta, char *err, size_t errlen)
{
	struct vault_row row;
	sqlite3_stmt *st;
	int64_t count;
	int inject = 0, r;

	memset(&row, 0, sizeof(row));
	if (meta != NULL)
		memset(meta, 0, sizeof(*meta));
	jsonv_err_set(err, errlen, "%s", "");
	if (v == NULL)
		return PETRI_ERR_INVAL;
	if ((r = vault_names_check(tenant, name, err, errlen)) != 0)
		return r;
	if (!vault_value_valid(value, vlen)) {
		jsonv_err_set(err, errlen,
		    "value: 1 to %d bytes without control characters or "
		    "leading or trailing space",
		    VAULT_VALUE_MAX);
		return vlen > VAULT_VALUE_MAX ? PETRI_ERR_TOOBIG
		                              : PETRI_ERR_INVAL;
	}
	if ((r = vault_binding_take(
	         binding, blen, &row, &inject, err, errlen)) != 0)
		return r;
	if ((r = petri_id_new("sec_", row.id, sizeof(row.id))) != 0)
		goto out;
	row.version = 1;
	row.created_usec = petri_now_usec();
	vault_fingerprint(v, tenant, name, value, vlen, row.fingerprint);
	if ((r = vault_seal(v, tenant, name, &row, value, vlen)) != 0)
		goto out;
	pthread_mutex_lock(&v->mu);
	if ((r = vault_tx(v, VS_BEGIN)) != 0) {
		pthread_mutex_unlock(&v->mu);
		goto out;
	}
	st = vault_st(v, VS_SEC_COUNT);
	if ((r = vault_bind_text(st, 1, tenant)) == 0) {
		r = sqlite3_step(st) == SQLITE_ROW ? 0 : PETRI_ERR_DB;
		count = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (r == 0 && count >= VAULT_MAX_SECRETS)
			r = PETRI_ERR_LIMIT;
	}
	if (r == 0)
		r = vault_row_put(v, tenant, name, &row, 0);
	r = vault_tx_end(v, r);
	pthread_mutex_unlock(&v->mu);
	if (r == PETRI_ERR_EXISTS)
		jsonv_err_set(
		    err, errlen, "name: a secret of that name exists");
	else if (r == PETRI_ERR_LIMIT)
		jsonv_err_set(
		    err, errlen, "more than %d secrets", VAULT_MAX_SECRETS);
	if (r == 0 && meta != NULL)
		r = vault_meta_fill(tenant, name, &row, inject, meta);
out:
	vault_row_clear(&row);
	return r;
}

int
vault_secret_rotate(struct vault *v, const char *tenant, const char *name,
    const char *value, size_t vlen, const char *binding, size_t blen,
    struct vault_meta *meta, char *err, size_t errlen)
{
	struct vault_binding *b = NULL;
	struct vault_row row;
	char *plain = NULL;
	size_t plen = 0;
	uint32_t old;
	int inject = 0, r;

	memset(&row, 0, sizeof(row));
	if (meta != NULL)
		memset(meta, 0, sizeof(*meta));
	jsonv_err_set(err, errlen, "%s", "");
	if (v == NULL)
		return PETRI_ERR_INVAL;
	if ((r = vault_names_check(tenant, name, err, errlen)) != 0)
		return r;
	if (value == NULL && binding == NULL) {
		jsonv_err_set(
		    err, errlen, "a new value or binding is required");
		return PETRI_ERR_INVAL;
	}
	if (value != NULL && !vault_value_valid(value, vlen)) {
		jsonv_err_set(err, errlen,
		    "value: 1 to %d bytes without control characters or "
		    "leading or trailing space",
		    VAULT_VALUE_MAX);
		return vlen > VAULT_VALUE_MAX ? PETRI_ERR_TOOBIG
		                              : PETRI_ERR_INVAL;
	}
	if ((plain = sodium_malloc(VAULT_VALUE_MAX + 1)) == NULL)
		return PETRI_ERR_NOMEM;
	pthread_mutex_lock(&v->mu);
	if ((r = vault_tx(v, VS_BEGIN)) != 0)
		goto unlock;
	if ((r = vault_row_get(v, tenant, name, &row)) != 0)
		goto end;
	if (value == NULL) {
		if ((r = vault_unseal(v, tenant, name, &row, plain,
		         VAULT_VALUE_MAX + 1, &plen)) != 0)
			goto end;
		value = plain;
		vlen = plen;
	} else if ((r = vault_row_binding(&row, &b)) != 0)
		goto end; /* a tampered row is not silently re-sealed */
	if (binding != NULL) {
		if ((r = vault_binding_take(
		         binding, blen, &row, &inject, err, errlen)) != 0)
			goto end;
	} else {
		if (b == NULL && (r = vault_row_binding(&row, &b)) != 0)
			goto end;
		inject = b->inject;
	}
	r = PETRI_ERR_LIMIT;
	if (row.version == UINT32_MAX)
		goto end;
	old = row.version++;
	row.rotated_usec = petri_now_usec();
	vault_fingerprint(v, tenant, name, value, vlen, row.fingerprint);
	if ((r = vault_seal(v, tenant, name, &row, value, vlen)) != 0 ||
	    (r = vault_row_put(v, tenant, name, &row, old)) != 0)
		goto end;
end:
	r = vault_tx_end(v, r);
unlock:
	pthread_mutex_unlock(&v->mu);
	if (r == PETRI_ERR_NOTFOUND)
		jsonv_err_set(err, errlen, "name: no such secret");
	if (r == 0 && meta != NULL)
		r = vault_meta_fill(tenant, name, &row, inject, meta);
	vault_binding_free(b);
	vault_row_clear(&row);
	sodium_free(plain);
	return r;
}

/* Runs one DELETE with (a[, b]) bound. */
static int
vault_delete(struct vault *v, enum vault_stmt s, const char *a, const char *b)
{
	sqlite3_stmt *st = vault_st(v, s);

	if (vault_bind_text(st, 1, a) != 0 ||
	    (b != NULL && vault_bind_text(st, 2, b) != 0))
		return PETRI_ERR_DB;
	return vault_st_done(v, st);
}

int
vault_secret_delete(struct vault *v, const char *tenant, const char *name)
{
	int r;

	if (v == NULL || vault_names_check(tenant, name, NULL, 0) != 0)
		return PETRI_ERR_INVAL;
	pthread_mutex_lock(&v->mu);
	if ((r = vault_tx(v, VS_BEGIN)) != 0)
		goto out;
	if ((r = vault_delete(v, VS_SEC_DEL, tenant, name)) == 0 &&
	    sqlite3_changes(v->db) != 1)
		r = PETRI_ERR_NOTFOUND;
	if (r == 0)
		r = vault_delete(v, VS_GRANT_DEL_SECRET, tenant, name);
	if (r == 0)
		r = vault_delete(v, VS_PH_DEL_SECRET, tenant, name);
	r = vault_tx_end(v, r);
out:
	pthread_mutex_unlock(&v->mu);
	return r;
}

/* Metadata of one row; called with the lock held. */
static int
vault_get_locked(struct vault *v, const char *tenant, const char *name,
    struct vault_meta *meta)
{
	struct vault_binding *b = NULL;
	struct vault_row row;
	int r;

	if ((r = vault_row_get(v, tenant, name, &row)) != 0)
		return r;
	if ((r = vault_row_binding(&row, &b)) == 0)
		r = vault_meta_fill(tenant, name, &row, b->inject, meta);
	vault_binding_free(b);
	vault_row_clear(&row);
	return r;
}

int
vault_secret_get(struct vault *v, const char *tenant, const char *name,
    struct vault_meta *meta)
{
	int r;

	if (meta != NULL)
		memset(meta, 0, sizeof(*meta));
	if (v == NULL || meta == NULL ||
	    vault_names_check(tenant, name, NULL, 0) != 0)
		return PETRI_ERR_INVAL;
	pthread_mutex_lock(&v->mu);
	r = vault_get_locked(v, tenant, name, meta);
	pthread_mutex_unlock(&v->mu);
	return r;
}

void
vault_meta_clear(struct vault_meta *m)
{
	if (m == NULL)
		return;
	free(m->binding);
	memset(m, 0, sizeof(*m));
}

void
vault_meta_list_free(struct vault_meta *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		vault_meta_clear(&list[i]);
	free(list);
}

int
vault_secret_list(
    struct vault *v, const char *tenant, struct vault_meta **list, size_t *n)
{
	char(*names)[VAULT_NAME_MAX + 1] = NULL;
	struct vault_meta *l = NULL;
	sqlite3_stmt *st;
	size_t i, cnt = 0;
	int rc, r = PETRI_ERR_DB;

	*list = NULL;
	*n = 0;
	if (v == NULL || !vault_tenant_valid(tenant))
		return PETRI_ERR_INVAL;
	if ((names = calloc(VAULT_MAX_SECRETS, sizeof(*names))) == NULL)
		return PETRI_ERR_NOMEM;
	pthread_mutex_lock(&v->mu);
	if ((r = vault_tx(v, VS_BEGIN)) != 0)
		goto unlock;
	st = vault_st(v, VS_SEC_LIST);
	r = PETRI_ERR_DB;
	if (vault_bind_text(st, 1, tenant) != 0 ||
	    sqlite3_bind_int(st, 2, VAULT_MAX_SECRETS) != SQLITE_OK)
		goto end;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && cnt < VAULT_MAX_SECRETS)
		if (vault_col_text(st, 0, names[cnt++], sizeof(names[0])) != 0)
			break;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		goto end;
	r = PETRI_ERR_NOMEM;
	if (cnt > 0 && (l = calloc(cnt, sizeof(*l))) == NULL)
		goto end;
	r = 0;
	for (i = 0; i < cnt && r == 0; i++)
		r = vault_get_locked(v, tenant, names[i], &l[i]);
end:
	/* a read-only transaction: roll back, nothing to keep */
	(void)vault_tx(v, VS_ROLLBACK);
unlock:
	pthread_mutex_unlock(&v->mu);
	free(names);
	if (r != 0) {
		vault_meta_list_free(l, cnt);
		return r;
	}
	*list = l;
	*n = cnt;
	return 0;
}

json_t *
vault_meta_json(const struct vault_meta *m)
{
	char created[PETRI_TIME_MAX], rotated[PETRI_TIME_MAX];
	json_t *o = NULL, *b = NULL, *val;
	const char *k;
	int bad = 0;

	if (m == NULL || m->binding == NULL)
		return NULL;
	if (jsonv_doc_load(m->binding, m->binding_len, VAULT_BINDING_MAX,
	        "binding", &b, NULL, 0) != 0 ||
	    !json_is_object(b))
		goto fail;
	petri_time_rfc3339(m->created_usec, created);
	petri_time_rfc3339(m->rotated_usec, rotated);
	if ((o = json_pack("{s:s, s:s, s:I, s:s, s:s}", "id", m->id, "name",
	         m->name, "version", (json_int_t)m->version, "created_at",
	         created, "fingerprint", m->fingerprint)) == NULL)
		goto fail;
	bad |= json_object_set_new(o, "rotated_at",
	    m->rotated_usec != 0 ? json_string(rotated) : json_null());
	json_object_foreach (b, k, val) {
		bad |= json_object_set(o, k, val);
	}
	if (bad)
		goto fail;
	json_decref(b);
	return o;
fail:
	json_decref(b);
	json_decref(o);
	return NULL;
}

static int
vault_sandbox_valid(const char *sandbox)
{
	return sandbox != NULL &&
	    strnlen(sandbox, PETRI_ID_MAX + 1) <= PETRI_ID_MAX &&
	    petri_id_valid(sandbox, "sb_");
}

/* Keyed hash of a placeholder: what placeholders.hash holds. */
static void
vault_ph_hash(struct vault *v, const char *ph, unsigned char out[32])
{
	crypto_generichash(out, 32, (const unsigned char *)ph,
	    VAULT_PLACEHOLDER_LEN, vault_key(v, VK_PH), VAULT_SUBKEY_LEN);
}

static int
vault_ph_valid(const char *ph)
{
	size_t i, plen = sizeof(VAULT_PLACEHOLDER_PREFIX) - 1;

	if (ph == NULL ||
	    strnlen(ph, VAULT_PLACEHOLDER_SIZE) != VAULT_PLACEHOLDER_LEN ||
	    strncmp(ph, VAULT_PLACEHOLDER_PREFIX, plen) != 0)
		return 0;
	for (i = plen; i < VAULT_PLACEHOLDER_LEN; i++)
		if (ph[i] == '\0' || strchr(vault_b32, ph[i]) == NULL)
			return 0;
	return 1;
}

/* A fresh placeholder: the prefix and 160 random bits in base32. */
static void
vault_ph_new(char ph[VAULT_PLACEHOLDER_SIZE])
{
	unsigned char rnd[VAULT_PLACEHOLDER_RANDOM * 5 / 8];
	size_t i, plen = sizeof(VAULT_PLACEHOLDER_PREFIX) - 1;
	unsigned int bits = 0, acc = 0, j = 0;

	randombytes_buf(rnd, sizeof(rnd));
	memcpy(ph, VAULT_PLACEHOLDER_PREFIX, plen);
	for (i = 0; i < sizeof(rnd); i++) {
		acc = (acc << 8) | rnd[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			ph[plen + j++] = vault_b32[(acc >> bits) & 31];
		}
	}
	ph[plen + j] = '\0';
	sodium_memzero(rnd, sizeof(rnd));
}

/* Grants (and, for a placeholder secret, issues); called in a transaction. */
static int
vault_grant_locked(struct vault *v, const char *tenant, const char *sandbox,
    const char *name, int want_ph, struct vault_grant *g)
{
	struct vault_binding *b = NULL;
	unsigned char hash[32];
	struct vault_row row;
	sqlite3_stmt *st;
	int r;

	memset(g, 0, sizeof(*g));
	if ((r = vault_row_get(v, tenant, name, &row)) != 0)
		return r;
	if ((r = vault_row_binding(&row, &b)) != 0)
		goto out;
	g->inject = b->inject;
	r = PETRI_ERR_STATE;
	if (want_ph && b->inject != VAULT_INJECT_PLACEHOLDER)
		goto out;
	st = vault_st(v, VS_GRANT_INS);
	if ((r = vault_bind_text(st, 1, sandbox)) != 0 ||
	    (r = vault_bind_text(st, 2, tenant)) != 0 ||
	    (r = vault_bind_text(st, 3, name)) != 0 ||
	    (r = vault_bind_int64(st, 4, petri_now_usec())) != 0 ||
	    (r = vault_st_done(v, st)) != 0)
		goto out;
	if (b->inject != VAULT_INJECT_PLACEHOLDER)
		goto out;
	st = vault_st(v, VS_PH_DEL_ONE);
	if ((r = vault_bind_text(st, 1, sandbox)) != 0 ||
	    (r = vault_bind_text(st, 2, tenant)) != 0 ||
	    (r = vault_bind_text(st, 3, name)) != 0 ||
	    (r = vault_st_done(v, st)) != 0)
		goto out;
	vault_ph_new(g->placeholder);
	vault_ph_hash(v, g->placeholder, hash);
	st = vault_st(v, VS_PH_INS);
	r = PETRI_ERR_DB;
	if (sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC) !=
	        SQLITE_OK ||
	    vault_bind_text(st, 2, sandbox) != 0 ||
	    vault_bind_text(st, 3, tenant) != 0 ||
	    vault_bind_text(st, 4, name) != 0 ||
	    sqlite3_bind_int64(st, 5, petri_now_usec()) != SQLITE_OK)
		goto out;
	if ((r = vault_st_done(v, st)) != 0)
		goto out;
	(void)petri_strlcpy(g->env, b->env, sizeof(g->env));
out:
	if (r != 0)
		memset(g, 0, sizeof(*g));
	vault_binding_free(b);
	vault_row_clear(&row);
	return r;
}

static int
vault_grant(struct vault *v, const char *tenant, const char *sandbox,
    const char *name, int want_ph, struct vault_grant *g)
{
	int r;

	if (v == NULL || vault_names_check(tenant, name, NULL, 0) != 0 ||
	    !vault_sandbox_valid(sandbox))
		return PETRI_ERR_INVAL;
	pthread_mutex_lock(&v->mu);
	if ((r = vault_tx(v, VS_BEGIN)) == 0)
		r = vault_tx_end(v,
		    vault_grant_locked(v, tenant, sandbox, name, want_ph, g));
	pthread_mutex_unlock(&v->mu);
	return r;
}

int
vault_grant_add(struct vault *v, const char *tenant, const char *sandbox,
    const char *name, struct vault_grant *out)
{
	struct vault_grant g;
	int r;

	r = vault_grant(v, tenant, sandbox, name, 0, &g);
	if (out != NULL)
		*out = g;
	sodium_memzero(&g, sizeof(g));
	if (r != 0 && out != NULL)
		memset(out, 0, sizeof(*out));
	return r;
}

int
vault_placeholder_issue(struct vault *v, const char *tenant,
    const char *sandbox, const char *name, char ph[VAULT_PLACEHOLDER_SIZE],
    char env[VAULT_ENV_MAX + 1])
{
	struct vault_grant g;
	int r;

	ph[0] = '\0';
	if (env != NULL)
		env[0] = '\0';
	memset(&g, 0, sizeof(g));
	if ((r = vault_grant(v, tenant, sandbox, name, 1, &g)) == 0) {
		memcpy(ph, g.placeholder, VAULT_PLACEHOLDER_SIZE);
		if (env != NULL)
			memcpy(env, g.env, VAULT_ENV_MAX + 1);
	}
	sodium_memzero(&g, sizeof(g));
	return r;
}

int
vault_sandbox_revoke(struct vault *v, const char *sandbox)
{
	int r;

	if (v == NULL || !vault_sandbox_valid(sandbox))
		return PETRI_ERR_INVAL;
	pthread_mutex_lock(&v->mu);
	if ((r = vault_tx(v, VS_BEGIN)) == 0) {
		r = vault_delete(v, VS_GRANT_DEL_SANDBOX, sandbox, NULL);
		if (r == 0)
			r = vault_delete(v, VS_PH_DEL_SANDBOX, sandbox, NULL);
		r = vault_tx_end(v, r);
	}
	pthread_mutex_unlock(&v->mu);
	return r;
}

int
vault_sandbox_tenant(
    struct vault *v, const char *sandbox, char tenant[VAULT_TENANT_MAX + 1])
{
	sqlite3_stmt *st;
	const unsigned char *t;
	int rc, r = PETRI_ERR_NOTFOUND;

	tenant[0] = '\0';
	if (v == NULL || !vault_sandbox_valid(sandbox))
		return PETRI_ERR_INVAL;
	pthread_mutex_lock(&v->mu);
	st = vault_st(v, VS_GRANT_TENANT);
	if (vault_bind_text(st, 1, sandbox) != 0)
		r = PETRI_ERR_DB;
	else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t = sqlite3_column_text(st, 0);
		if (t != NULL &&
		    petri_strlcpy(tenant, (const char *)t,
		        VAULT_TENANT_MAX + 1) <= VAULT_TENANT_MAX)
			r = 0;
		else
			r = PETRI_ERR_DB;
	} else if (rc != SQLITE_DONE)
		r = PETRI_ERR_DB;
	sqlite3_reset(st);
	pthread_mutex_unlock(&v->mu);
	return r;
}

void
vault_credential_free(struct vault_credential *c)
{
	if (c == NULL)
		return;
	sodium_memzero(c, sizeof(*c));
	sodium_free(c);
}

/*
 * The release both public paths share, lock held: grant, binding kind,
 * match, decryption, formatting.  ph is the placeholder (or NULL).
 */
static int
vault_release_locked(struct vault *v, const char *tenant, const char *sandbox,
    const char *name, const char *ph, const struct vault_request *req,
    struct vault_credential **out)
{
	struct vault_credential *c = NULL;
	struct vault_binding *b = NULL;
	struct vault_row row;
	sqlite3_stmt *st;
	int rc, r;

	memset(&row, 0, sizeof(row));
	st = vault_st(v, VS_GRANT_GET);
	if (vault_bind_text(st, 1, sandbox) != 0 ||
	    vault_bind_text(st, 2, tenant) != 0 ||
	    vault_bind_text(st, 3, name) != 0)
		return PETRI_ERR_DB;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? PETRI_ERR_PERM : PETRI_ERR_DB;
	if ((r = vault_row_get(v, tenant, name, &row)) != 0)
		return r;
	if ((r = vault_row_binding(&row, &b)) != 0)
		goto out;
	r = PETRI_ERR_PERM;
	if ((ph == NULL) != (b->inject != VAULT_INJECT_PLACEHOLDER))
		goto out;
	if ((r = vault_binding_match(b, req, NULL)) != 0)
		goto out;
	r = PETRI_ERR_NOMEM;
	if ((c = sodium_malloc(sizeof(*c))) == NULL)
		goto out;
	memset(c, 0, sizeof(*c));
	if ((r = vault_unseal(v, tenant, name, &row, c->secret,
	         sizeof(c->secret), &c->secret_len)) != 0)
		goto out;
	r = PETRI_ERR_CRYPTO;
	if (!vault_value_valid(c->secret, c->secret_len))
		goto out;
	if ((r = vault_binding_format(b, c->secret, c->secret_len, c->value,
	         sizeof(c->value), &c->value_len)) != 0)
		goto out;
	if (ph != NULL &&
	    (r = vault_binding_format(b, ph, VAULT_PLACEHOLDER_LEN, c->expect,
	         sizeof(c->expect), &c->expect_len)) != 0)
		goto out;
	c->inject = b->inject;
	c->version = row.version;
	(void)petri_strlcpy(c->tenant, tenant, sizeof(c->tenant));
	(void)petri_strlcpy(c->name, name, sizeof(c->name));
	(void)petri_strlcpy(c->sandbox, sandbox, sizeof(c->sandbox));
	(void)petri_strlcpy(c->host, req->host, sizeof(c->host));
	(void)petri_strlcpy(c->header, b->header, sizeof(c->header));
	*out = c;
	c = NULL;
	r = 0;
out:
	vault_credential_free(c);
	vault_binding_free(b);
	vault_row_clear(&row);
	return r;
}

int
vault_release(struct vault *v, const char *tenant, const char *sandbox,
    const char *name, const struct vault_request *req,
    struct vault_credential **out)
{
	int r;

	*out = NULL;
	if (v == NULL || req == NULL ||
	    vault_names_check(tenant, name, NULL, 0) != 0 ||
	    !vault_sandbox_valid(sandbox))
		return PETRI_ERR_INVAL;
	pthread_mutex_lock(&v->mu);
	r = vault_release_locked(v, tenant, sandbox, name, NULL, req, out);
	pthread_mutex_unlock(&v->mu);
	return r;
}

int
vault_placeholder_resolve(struct vault *v, const char *sandbox,
    const char *placeholder, const struct vault_request *req,
    struct vault_credential **out)
{
	char owner[PETRI_ID_MAX + 1], tenant[VAULT_TENANT_MAX + 1];
	char name[VAULT_NAME_MAX + 1];
	unsigned char hash[32];
	sqlite3_stmt *st;
	int rc, r = PETRI_ERR_DB;

	*out = NULL;
	if (v == NULL || req == NULL || !vault_sandbox_valid(sandbox) ||
	    !vault_ph_valid(placeholder))
		return PETRI_ERR_INVAL;
	vault_ph_hash(v, placeholder, hash);
	pthread_mutex_lock(&v->mu);
	st = vault_st(v, VS_PH_GET);
	if (sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC) !=
	    SQLITE_OK)
		goto out;
	if ((rc = sqlite3_step(st)) == SQLITE_DONE)
		r = PETRI_ERR_NOTFOUND;
	else if (rc == SQLITE_ROW &&
	    vault_col_text(st, 0, owner, sizeof(owner)) == 0 &&
	    vault_col_text(st, 1, tenant, sizeof(tenant)) == 0 &&
	    vault_col_text(st, 2, name, sizeof(name)) == 0)
		r = 0;
	sqlite3_reset(st);
	if (r != 0)
		goto out;
	/* a placeholder replayed from another sandbox (attack case 18) */
	r = PETRI_ERR_PERM;
	if (strcmp(owner, sandbox) != 0)
		goto out;
	r = vault_release_locked(
	    v, tenant, sandbox, name, placeholder, req, out);
out:
	pthread_mutex_unlock(&v->mu);
	return r;
}
