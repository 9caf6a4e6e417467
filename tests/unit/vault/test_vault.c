/*
 * test_vault.c: the secret store: round trips, associated data binding,
 * master key file checks, release checks, validation (CR/LF), placeholders
 * isolated per sandbox, metadata without values, no clear value on disk.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "unit.h"
#include "util.h"
#include "vault.h"

#define CANARY "sk_live_CANARY_4f1c9e7a2b6d8e0f"
#define CANARY2 "sk_live_CANARY_rotated_77aa55cc"
#define SB_A "sb_aaaaaaaaaaaaaaaaaaaaaaaa"
#define SB_B "sb_bbbbbbbbbbbbbbbbbbbbbbbb"

#define BIND_HEADER                                                            \
	"{\"hosts\": [\"api.example.com\", \"*.stripe.com\"],"                 \
	" \"methods\": [\"GET\", \"POST\"], \"paths\": [\"/v1/\"],"            \
	" \"port\": 8443,"                                                     \
	" \"inject\": {\"header\": \"Authorization\","                         \
	" \"format\": \"Bearer {value}\"}}"
#define BIND_SIMPLE                                                            \
	"{\"hosts\": [\"api.example.com\"], \"inject\": {\"header\":"          \
	" \"X-Api-Key\"}}"
#define BIND_BASIC                                                             \
	"{\"hosts\": [\"git.example.com\"], \"inject\": {\"basic\":"           \
	" {\"username\": \"deploy\"}}}"
#define BIND_PH                                                                \
	"{\"hosts\": [\"api.stripe.com\"], \"inject\": {\"placeholder\":"      \
	" {\"env\": \"STRIPE_API_KEY\", \"header\": \"Authorization\","        \
	" \"format\": \"Bearer {value}\"}}}"

static char tmpdir[256];

static int
rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* A fresh directory with a keys/ subdirectory; paths into it. */
static void
fresh(char *dir, size_t dlen, char *key, size_t klen)
{
	char keys[300];

	if (tmpdir[0] != '\0')
		(void)nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/petri-vault-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		abort();
	snprintf(dir, dlen, "%s/keeper", tmpdir);
	snprintf(keys, sizeof(keys), "%s/keys", tmpdir);
	if (mkdir(keys, 0700) != 0)
		abort();
	snprintf(key, klen, "%s/vault.key", keys);
}

static struct vault *
open_fresh(char *dir, size_t dlen, char *key, size_t klen)
{
	struct vault *v = NULL;

	fresh(dir, dlen, key, klen);
	if (vault_open(dir, key, &v) != 0)
		abort();
	return v;
}

static int
create(struct vault *v, const char *tenant, const char *name, const char *value,
    const char *binding)
{
	return vault_secret_create(v, tenant, name, value, strlen(value),
	    binding, strlen(binding), NULL, NULL, 0);
}

static struct vault_request
req_make(const char *scheme, const char *host, uint16_t port,
    const char *method, const char *path)
{
	struct vault_request r;

	r.scheme = scheme;
	r.host = host;
	r.port = port;
	r.method = method;
	r.path = path;
	return r;
}

/* Releases and frees; returns the error code. */
static int
release(struct vault *v, const char *tenant, const char *sb, const char *name,
    const char *scheme, const char *host, uint16_t port, const char *method,
    const char *path)
{
	struct vault_request r = req_make(scheme, host, port, method, path);
	struct vault_credential *c = (struct vault_credential *)1;
	int rv;

	rv = vault_release(v, tenant, sb, name, &r, &c);
	if (rv != 0 && c != NULL)
		unit_cur_failed++;
	vault_credential_free(c);
	return rv;
}

/* Whether the bytes of file path contain needle. */
static int
file_has(const char *path, const char *needle)
{
	char *p = NULL;
	size_t n = 0;
	int found;

	if (petri_file_read(path, 64UL << 20, &p, &n) != 0)
		return 0;
	found = memmem(p, n, needle, strlen(needle)) != NULL;
	free(p);
	return found;
}

static void
test_open_key_file(void)
{
	char dir[512], key[512], db[600];
	struct vault *v = NULL;
	struct stat st;

	v = open_fresh(dir, sizeof(dir), key, sizeof(key));
	CHECK(stat(key, &st) == 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(st.st_size, VAULT_MASTER_KEY_LEN);
	snprintf(db, sizeof(db), "%s/vault.db", dir);
	CHECK(stat(db, &st) == 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK(stat(dir, &st) == 0);
	CHECK_EQ(st.st_mode & 07777, 0700);
	CHECK_EQ(create(v, "t1", "stripe", CANARY, BIND_SIMPLE), 0);
	vault_close(v);
	/* reopens with the same key */
	CHECK_EQ(vault_open(dir, key, &v), 0);
	{
		char tenant[VAULT_TENANT_MAX + 1];

		/* the keeper hears of a request by sandbox only */
		CHECK_EQ(
		    vault_sandbox_tenant(v, SB_A, tenant), PETRI_ERR_NOTFOUND);
		CHECK_EQ(vault_grant_add(v, "t1", SB_A, "stripe", NULL), 0);
		CHECK_EQ(vault_sandbox_tenant(v, SB_A, tenant), 0);
		CHECK_STR(tenant, "t1");
		CHECK_EQ(
		    vault_sandbox_tenant(v, SB_B, tenant), PETRI_ERR_NOTFOUND);
		CHECK_EQ(
		    vault_sandbox_tenant(v, "nope", tenant), PETRI_ERR_INVAL);
	}
	CHECK_EQ(release(v, "t1", SB_A, "stripe", "https", "api.example.com",
	             443, "GET", "/"),
	    0);
	vault_close(v);
	vault_close(NULL);
}

static void
test_key_file_mode(void)
{
	char dir[512], key[512], link_path[600];
	struct vault *v = NULL;
	int fd;

	v = open_fresh(dir, sizeof(dir), key, sizeof(key));
	vault_close(v);
	v = NULL;
	/* wider than 0600: refused */
	CHECK_EQ(chmod(key, 0640), 0);
	CHECK_EQ(vault_open(dir, key, &v), PETRI_ERR_PERM);
	CHECK(v == NULL);
	CHECK_EQ(chmod(key, 0604), 0);
	CHECK_EQ(vault_open(dir, key, &v), PETRI_ERR_PERM);
	CHECK_EQ(chmod(key, 0700), 0);
	CHECK_EQ(vault_open(dir, key, &v), PETRI_ERR_PERM);
	CHECK_EQ(chmod(key, 04600), 0);
	CHECK_EQ(vault_open(dir, key, &v), PETRI_ERR_PERM);
	/* narrower is fine */
	CHECK_EQ(chmod(key, 0400), 0);
	CHECK_EQ(vault_open(dir, key, &v), 0);
	vault_close(v);
	v = NULL;
	CHECK_EQ(chmod(key, 0600), 0);
	/* owned by someone else: refused */
	if (geteuid() == 0) {
		CHECK_EQ(chown(key, 65534, 65534), 0);
		CHECK_EQ(vault_open(dir, key, &v), PETRI_ERR_PERM);
		CHECK_EQ(chown(key, 0, 0), 0);
	}
	/* a symlink to the key: refused */
	snprintf(link_path, sizeof(link_path), "%s.link", key);
	CHECK_EQ(symlink(key, link_path), 0);
	CHECK_EQ(vault_open(dir, link_path, &v), PETRI_ERR_PERM);
	/* a key of the wrong size */
	CHECK_EQ(truncate(key, 31), 0);
	CHECK_EQ(vault_open(dir, key, &v), PETRI_ERR_INVAL);
	CHECK_EQ(truncate(key, 33), 0);
	CHECK_EQ(vault_open(dir, key, &v), PETRI_ERR_INVAL);
	/* a directory is no key */
	CHECK_EQ(vault_open(dir, dir, &v), PETRI_ERR_PERM);
	/* bad arguments */
	CHECK_EQ(vault_open(NULL, key, &v), PETRI_ERR_INVAL);
	CHECK_EQ(vault_open(dir, "", &v), PETRI_ERR_INVAL);
	(void)fd;
}

static void
test_wrong_master_key(void)
{
	char dir[512], key[512], saved[600];
	unsigned char other[VAULT_MASTER_KEY_LEN];
	struct vault *v = NULL;
	int fd;

	v = open_fresh(dir, sizeof(dir), key, sizeof(key));
	CHECK_EQ(create(v, "t1", "stripe", CANARY, BIND_SIMPLE), 0);
	CHECK_EQ(vault_grant_add(v, "t1", SB_A, "stripe", NULL), 0);
	vault_close(v);
	v = NULL;
	snprintf(saved, sizeof(saved), "%s.saved", key);
	CHECK_EQ(rename(key, saved), 0);
	/* the database has a key: a missing key file is not replaced */
	CHECK_EQ(vault_open(dir, key, &v), PETRI_ERR_NOTFOUND);
	CHECK(access(key, F_OK) != 0);
	/* another key does not open it */
	randombytes_buf(other, sizeof(other));
	fd = open(key, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, other, sizeof(other)), (ssize_t)sizeof(other));
	close(fd);
	CHECK_EQ(vault_open(dir, key, &v), PETRI_ERR_CRYPTO);
	CHECK(v == NULL);
	/* the right key does */
	CHECK_EQ(rename(saved, key), 0);
	CHECK_EQ(vault_open(dir, key, &v), 0);
	CHECK_EQ(release(v, "t1", SB_A, "stripe", "https", "api.example.com",
	             443, "GET", "/x"),
	    0);
	vault_close(v);
}

/* The key check aside, a wrong key also fails at decryption. */
static void
test_wrong_key_aead(void)
{
	char dir[512], key[512], db[600];
	unsigned char other[VAULT_MASTER_KEY_LEN];
	struct vault *v = NULL, *w = NULL;
	char dir2[300], key2[300];
	sqlite3 *s = NULL;
	int fd;

	v = open_fresh(dir, sizeof(dir), key, sizeof(key));
	CHECK_EQ(create(v, "t1", "stripe", CANARY, BIND_SIMPLE), 0);
	CHECK_EQ(vault_grant_add(v, "t1", SB_A, "stripe", NULL), 0);
	vault_close(v);
	/* a second vault under another key; copy the row over via SQL */
	snprintf(dir2, sizeof(dir2), "%s/other", tmpdir);
	snprintf(key2, sizeof(key2), "%s/other.key", tmpdir);
	randombytes_buf(other, sizeof(other));
	fd = open(key2, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, other, sizeof(other)), (ssize_t)sizeof(other));
	close(fd);
	CHECK_EQ(vault_open(dir2, key2, &w), 0);
	CHECK_EQ(
	    vault_grant_add(w, "t1", SB_A, "stripe", NULL), PETRI_ERR_NOTFOUND);
	vault_close(w);
	w = NULL;
	snprintf(db, sizeof(db), "%s/vault.db", dir2);
	CHECK_EQ(sqlite3_open(db, &s), SQLITE_OK);
	{
		char sql[1200];

		snprintf(sql, sizeof(sql),
		    "ATTACH '%s/vault.db' AS src;"
		    "INSERT INTO secrets SELECT * FROM src.secrets;"
		    "INSERT INTO grants SELECT * FROM src.grants;",
		    dir);
		CHECK_EQ(sqlite3_exec(s, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	sqlite3_close(s);
	CHECK_EQ(vault_open(dir2, key2, &w), 0);
	CHECK_EQ(release(w, "t1", SB_A, "stripe", "https", "api.example.com",
	             443, "GET", "/"),
	    PETRI_ERR_CRYPTO);
	vault_close(w);
}

static void
test_roundtrip(void)
{
	char dir[512], key[512], fp1[VAULT_FINGERPRINT_HEX + 1];
	struct vault_request r;
	struct vault_credential *c = NULL;
	struct vault_meta m;
	struct vault *v;
	char err[VAULT_ERR_MAX];

	v = open_fresh(dir, sizeof(dir), key, sizeof(key));
	CHECK_EQ(vault_secret_create(v, "t1", "stripe", CANARY, strlen(CANARY),
	             BIND_HEADER, strlen(BIND_HEADER), &m, err, sizeof(err)),
	    0);
	CHECK_EQ(m.version, 1);
	CHECK_EQ(m.inject, VAULT_INJECT_HEADER);
	CHECK_STR(m.name, "stripe");
	CHECK_STR(m.tenant, "t1");
	CHECK(petri_id_valid(m.id, "sec_"));
	CHECK_EQ(strlen(m.fingerprint), VAULT_FINGERPRINT_HEX);
	CHECK(m.created_usec > 0);
	CHECK_EQ(m.rotated_usec, 0);
	CHECK(strstr(m.binding, CANARY) == NULL);
	CHECK_STR(m.binding,
	    "{\"hosts\":[\"api.example.com\",\"*.stripe.com\"],\"inject\":"
	    "{\"format\":\"Bearer {value}\",\"header\":\"Authorization\"},"
	    "\"methods\":[\"GET\",\"POST\"],\"paths\":[\"/v1/"
	    "\"],\"port\":8443}");
	memcpy(fp1, m.fingerprint, sizeof(fp1));
	vault_meta_clear(&m);
	/* a second create of the name fails */
	CHECK_EQ(
	    create(v, "t1", "stripe", CANARY, BIND_HEADER), PETRI_ERR_EXISTS);
	/* another tenant may use the name */
	CHECK_EQ(create(v, "t2", "stripe", CANARY, BIND_HEADER), 0);
	CHECK_EQ(vault_grant_add(v, "t1", SB_A, "stripe", NULL), 0);
	r = req_make("https", "api.example.com", 8443, "POST", "/v1/charges");
	CHECK_EQ(vault_release(v, "t1", SB_A, "stripe", &r, &c), 0);
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_STR(c->header, "Authorization");
		CHECK_STR(c->value, "Bearer " CANARY);
		CHECK_EQ(c->value_len, strlen("Bearer " CANARY));
		CHECK_STR(c->secret, CANARY);
		CHECK_EQ(c->secret_len, strlen(CANARY));
		CHECK_EQ(c->expect_len, 0);
		CHECK_STR(c->name, "stripe");
		CHECK_STR(c->sandbox, SB_A);
		CHECK_STR(c->host, "api.example.com");
		CHECK_EQ(c->version, 1);
		CHECK_EQ(c->inject, VAULT_INJECT_HEADER);
	}
	vault_credential_free(c);
	c = NULL;
	/* rotate the value */
	CHECK_EQ(vault_secret_rotate(v, "t1", "stripe", CANARY2,
	             strlen(CANARY2), NULL, 0, &m, NULL, 0),
	    0);
	CHECK_EQ(m.version, 2);
	CHECK(m.rotated_usec > 0);
	CHECK(strcmp(m.fingerprint, fp1) != 0);
	vault_meta_clear(&m);
	CHECK_EQ(vault_release(v, "t1", SB_A, "stripe", &r, &c), 0);
	if (c != NULL) {
		CHECK_STR(c->value, "Bearer " CANARY2);
		CHECK_EQ(c->version, 2);
	}
	vault_credential_free(c);
	c = NULL;
	/* rotate the binding only: the value and its fingerprint stay */
	CHECK_EQ(vault_secret_rotate(v, "t1", "stripe", NULL, 0, BIND_SIMPLE,
	             strlen(BIND_SIMPLE), &m, NULL, 0),
	    0);
	CHECK_EQ(m.version, 3);
	CHECK_EQ(m.inject, VAULT_INJECT_HEADER);
	vault_meta_clear(&m);
	CHECK_EQ(release(v, "t1", SB_A, "stripe", "https", "api.example.com",
	             8443, "POST", "/v1/charges"),
	    PETRI_ERR_PERM);
	r = req_make("https", "api.example.com", 443, "DELETE", "/anything");
	CHECK_EQ(vault_release(v, "t1", SB_A, "stripe", &r, &c), 0);
	if (c != NULL) {
		CHECK_STR(c->header, "X-Api-Key");
		CHECK_STR(c->value, CANARY2);
	}
	vault_credential_free(c);
	c = NULL;
	/* back to the first value: the same fingerprint as version 1 */
	CHECK_EQ(vault_secret_rotate(v, "t1", "stripe", CANARY, strlen(CANARY),
	             NULL, 0, &m, NULL, 0),
	    0);
	CHECK_STR(m.fingerprint, fp1);
	CHECK_EQ(m.version, 4);
	vault_meta_clear(&m);
	/* the same value in another tenant has another fingerprint */
	CHECK_EQ(vault_secret_get(v, "t2", "stripe", &m), 0);
	CHECK(strcmp(m.fingerprint, fp1) != 0);
	vault_meta_clear(&m);
	/* nothing to rotate; unknown secret */
	CHECK_EQ(vault_secret_rotate(
	             v, "t1", "stripe", NULL, 0, NULL, 0, &m, NULL, 0),
	    PETRI_ERR_INVAL);
	CHECK_EQ(vault_secret_rotate(v, "t1", "nope", CANARY, strlen(CANARY),
	             NULL, 0, &m, NULL, 0),
	    PETRI_ERR_NOTFOUND);
	/* delete */
	CHECK_EQ(vault_secret_delete(v, "t1", "stripe"), 0);
	CHECK_EQ(vault_secret_delete(v, "t1", "stripe"), PETRI_ERR_NOTFOUND);
	CHECK_EQ(vault_secret_get(v, "t1", "stripe", &m), PETRI_ERR_NOTFOUND);
	CHECK_EQ(
	    vault_release(v, "t1", SB_A, "stripe", &r, &c), PETRI_ERR_PERM);
	CHECK(c == NULL);
	/* a new secret of the same name does not inherit the grant */
	CHECK_EQ(create(v, "t1", "stripe", CANARY, BIND_SIMPLE), 0);
	CHECK_EQ(
	    vault_release(v, "t1", SB_A, "stripe", &r, &c), PETRI_ERR_PERM);
	vault_close(v);
}

static void
test_basic_auth(void)
{
	char dir[512], key[512], want[256];
	struct vault_credential *c = NULL;
	struct vault_request r;
	struct vault *v;

	v = open_fresh(dir, sizeof(dir), key, sizeof(key));
	CHECK_EQ(create(v, "t1", "git", CANARY, BIND_BASIC), 0);
	CHECK_EQ(vault_grant_add(v, "t1", SB_A, "git", NULL), 0);
	r = req_make("https", "git.example.com", 443, "GET", "/repo.git");
	CHECK_EQ(vault_release(v, "t1", SB_A, "git", &r, &c), 0);
	memcpy(want, "Basic ", 6);
	sodium_bin2base64(want + 6, sizeof(want) - 6,
	    (const unsigned char *)"deploy:" CANARY, strlen("deploy:" CANARY),
	    sodium_base64_VARIANT_ORIGINAL);
	if (c != NULL) {
		CHECK_STR(c->header, "Authorization");
		CHECK_STR(c->value, want);
		CHECK_EQ(c->inject, VAULT_INJECT_BASIC);
	}
	vault_credential_free(c);
	c = NULL;
	/* a value spanning many base64 chunks */
	{
		static char big[VAULT_VALUE_MAX + 1],
		    pair[VAULT_VALUE_MAX + 32];
		static char b64[VAULT_INJECT_MAX];
		size_t i;

		for (i = 0; i < VAULT_VALUE_MAX; i++)
			big[i] = (char)('!' + i % 90);
		big[VAULT_VALUE_MAX] = '\0';
		CHECK_EQ(vault_secret_rotate(v, "t1", "git", big,
		             VAULT_VALUE_MAX, NULL, 0, NULL, NULL, 0),
		    0);
		CHECK_EQ(vault_release(v, "t1", SB_A, "git", &r, &c), 0);
		snprintf(pair, sizeof(pair), "deploy:%s", big);
		memcpy(b64, "Basic ", 6);
		sodium_bin2base64(b64 + 6, sizeof(b64) - 6,
		    (const unsigned char *)pair, strlen(pair),
		    sodium_base64_VARIANT_ORIGINAL);
		CHECK(c != NULL && strcmp(c->value, b64) == 0);
		CHECK(c != NULL && c->value_len == strlen(b64));
		vault_credential_free(c);
	}
	vault_close(v);
}

/* Moves ciphertexts between rows with SQL: none may decrypt elsewhere. */
static void
test_ad_binding(void)
{
	char dir[512], key[512], db[600];
	struct vault *v;
	sqlite3 *s = NULL;

	v = open_fresh(dir, sizeof(dir), key, sizeof(key));
	CHECK_EQ(create(v, "t1", "alpha", CANARY, BIND_SIMPLE), 0);
	CHECK_EQ(create(v, "t1", "beta", CANARY2, BIND_SIMPLE), 0);
	CHECK_EQ(create(v, "t2", "alpha", CANARY2, BIND_SIMPLE), 0);
	CHECK_EQ(create(v, "t1", "gamma", CANARY2, BIND_SIMPLE), 0);
	CHECK_EQ(create(v, "t1", "delta", CANARY2, BIND_SIMPLE), 0);
	CHECK_EQ(create(v, "t1", "eps", CANARY2, BIND_SIMPLE), 0);
	CHECK_EQ(vault_grant_add(v, "t1", SB_A, "alpha", NULL), 0);
	CHECK_EQ(vault_grant_add(v, "t1", SB_A, "beta", NULL), 0);
	CHECK_EQ(vault_grant_add(v, "t2", SB_B, "alpha", NULL), 0);
	CHECK_EQ(vault_grant_add(v, "t1", SB_A, "gamma", NULL), 0);
	CHECK_EQ(vault_grant_add(v, "t1", SB_A, "delta", NULL), 0);
	CHECK_EQ(vault_grant_add(v, "t1", SB_A, "eps", NULL), 0);
	vault_close(v);
	snprintf(db, sizeof(db), "%s/vault.db", dir);
	CHECK_EQ(sqlite3_open(db, &s), SQLITE_OK);
	/* swap t1/alpha and t1/beta (another name) */
	CHECK_EQ(sqlite3_exec(s,
	             "CREATE TEMP TABLE x AS SELECT tenant, name, nonce,"
	             " ciphertext FROM secrets;"
	             "UPDATE secrets SET"
	             " nonce = (SELECT nonce FROM x WHERE tenant = 't1' AND"
	             "  name = 'beta'),"
	             " ciphertext = (SELECT ciphertext FROM x WHERE"
	             "  tenant = 't1' AND name = 'beta')"
	             " WHERE tenant = 't1' AND name = 'alpha';"
	             /* t2/alpha gets t1/alpha's (another tenant) */
	             "UPDATE secrets SET"
	             " nonce = (SELECT nonce FROM x WHERE tenant = 't1' AND"
	             "  name = 'alpha'),"
	             " ciphertext = (SELECT ciphertext FROM x WHERE"
	             "  tenant = 't1' AND name = 'alpha')"
	             " WHERE tenant = 't2' AND name = 'alpha';"
	             /* gamma claims a broader binding */
	             "UPDATE secrets SET binding = replace(binding,"
	             " '[\"api.example.com\"]',"
	             " '[\"api.example.com\",\"evil.example.net\"]')"
	             " WHERE tenant = 't1' AND name = 'gamma';"
	             /* delta claims another version */
	             "UPDATE secrets SET version = 2 WHERE tenant = 't1' AND"
	             " name = 'delta';"
	             /* eps's binding is corrupt */
	             "UPDATE secrets SET binding = '{' WHERE tenant = 't1' AND"
	             " name = 'eps';",
	             NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(s);
	CHECK_EQ(vault_open(dir, key, &v), 0);
	CHECK_EQ(release(v, "t1", SB_A, "alpha", "https", "api.example.com",
	             443, "GET", "/"),
	    PETRI_ERR_CRYPTO);
	CHECK_EQ(release(v, "t2", SB_B, "alpha", "https", "api.example.com",
	             443, "GET", "/"),
	    PETRI_ERR_CRYPTO);
	CHECK_EQ(release(v, "t1", SB_A, "gamma", "https", "evil.example.net",
	             443, "GET", "/"),
	    PETRI_ERR_CRYPTO);
	CHECK_EQ(release(v, "t1", SB_A, "gamma", "https", "api.example.com",
	             443, "GET", "/"),
	    PETRI_ERR_CRYPTO);
	CHECK_EQ(release(v, "t1", SB_A, "delta", "https", "api.example.com",
	             443, "GET", "/"),
	    PETRI_ERR_CRYPTO);
	CHECK_EQ(release(v, "t1", SB_A, "eps", "https", "api.example.com", 443,
	             "GET", "/"),
	    PETRI_ERR_CRYPTO);
	/* a tampered row is not re-sealed by a binding-only rotation */
	CHECK_EQ(vault_secret_rotate(v, "t1", "gamma", NULL, 0, BIND_SIMPLE,
	             strlen(BIND_SIMPLE), NULL, NULL, 0),
	    PETRI_ERR_CRYPTO);
	/* the untouched row still works */
	CHECK_EQ(release(v, "t1", SB_A, "beta", "https", "api.example.com", 443,
	             "GET", "/"),
	    0);
	vault_close(v);
}

static void
test_release_checks(void)
{
	char dir[512], key[512];
	struct vault *v;

	v = open_fresh(dir, sizeof(dir), key, sizeof(key));
	CHECK_EQ(create(v, "t1", "stripe", CANARY, BIND_HEADER), 0);
	CHECK_EQ(vault_grant_add(v, "t1", SB_A, "stripe", NULL), 0);
#define REL(host, port, method, path)                                          \
	release(v, "t1", SB_A, "stripe", "https", host, port, method, path)
	CHECK_EQ(REL("api.example.com", 8443, "GET", "/v1/x"), 0);
	CHECK_EQ(REL("api.example.com", 8443, "POST", "/v1/"), 0);
	CHECK_EQ(REL("a.stripe.com", 8443, "GET", "/v1/x"), 0);
	CHECK_EQ(REL("a.b.stripe.com", 8443, "GET", "/v1/x"), 0);
	/* hosts: look-alikes and unbound hosts (attack cases 1, 7) */
	CHECK_EQ(REL("evil.com", 8443, "GET", "/v1/x"), PETRI_ERR_PERM);
	CHECK_EQ(REL("api.example.com.evil.net", 8443, "GET", "/v1/x"),
	    PETRI_ERR_PERM);
	CHECK_EQ(REL("evilstripe.com", 8443, "GET", "/v1/x"), PETRI_ERR_PERM);
	CHECK_EQ(REL("stripe.com", 8443, "GET", "/v1/x"), PETRI_ERR_PERM);
	CHECK_EQ(REL("xapi.example.com", 8443, "GET", "/v1/x"), PETRI_ERR_PERM);
	/* non-canonical host text is refused, not re-read */
	CHECK_EQ(REL("API.EXAMPLE.COM", 8443, "GET", "/v1/x"), PETRI_ERR_INVAL);
	CHECK_EQ(
	    REL("api.example.com.", 8443, "GET", "/v1/x"), PETRI_ERR_INVAL);
	CHECK_EQ(
	    REL("api.example.com:8443", 8443, "GET", "/v1/x"), PETRI_ERR_INVAL);
	/* port (attack case 10) */
	CHECK_EQ(REL("api.example.com", 443, "GET", "/v1/x"), PETRI_ERR_PERM);
	CHECK_EQ(REL("api.example.com", 80, "GET", "/v1/x"), PETRI_ERR_PERM);
	/* methods */
	CHECK_EQ(
	    REL("api.example.com", 8443, "DELETE", "/v1/x"), PETRI_ERR_PERM);
	CHECK_EQ(REL("api.example.com", 8443, "get", "/v1/x"), PETRI_ERR_INVAL);
	CHECK_EQ(
	    REL("api.example.com", 8443, "G ET", "/v1/x"), PETRI_ERR_INVAL);
	/* paths (attack case 8): normal form only, prefix on a boundary */
	CHECK_EQ(REL("api.example.com", 8443, "GET", "/v2/x"), PETRI_ERR_PERM);
	CHECK_EQ(REL("api.example.com", 8443, "GET", "/v1"), PETRI_ERR_PERM);
	CHECK_EQ(REL("api.example.com", 8443, "GET", "/V1/x"), PETRI_ERR_PERM);
	CHECK_EQ(REL("api.example.com", 8443, "GET", "/v1/../admin"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(
	    REL("api.example.com", 8443, "GET", "/v1//x"), PETRI_ERR_INVAL);
	CHECK_EQ(REL("api.example.com", 8443, "GET", "/v1/%2e%2e/admin"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(
	    REL("api.example.com", 8443, "GET", "/v1/x?a=b"), PETRI_ERR_INVAL);
	CHECK_EQ(REL("api.example.com", 8443, "GET", ""), PETRI_ERR_INVAL);
#undef REL
	/* cleartext (attack case 9) */
	CHECK_EQ(release(v, "t1", SB_A, "stripe", "http", "api.example.com",
	             8443, "GET", "/v1/x"),
	    PETRI_ERR_PERM);
	CHECK_EQ(release(v, "t1", SB_A, "stripe", "HTTPS", "api.example.com",
	             8443, "GET", "/v1/x"),
	    PETRI_ERR_PERM);
	/* sandbox without a grant; another tenant; bad IDs */
	CHECK_EQ(release(v, "t1", SB_B, "stripe", "https", "api.example.com",
	             8443, "GET", "/v1/x"),
	    PETRI_ERR_PERM);
	CHECK_EQ(release(v, "t2", SB_A, "stripe", "https", "api.example.com",
	             8443, "GET", "/v1/x"),
	    PETRI_ERR_PERM);
	CHECK_EQ(release(v, "t1", "sb_short", "stripe", "https",
	             "api.example.com", 8443, "GET", "/v1/x"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(release(v, "t1", SB_A, "Stripe", "https", "api.example.com",
	             8443, "GET", "/v1/x"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(release(v, "t1", SB_A, "stripe", NULL, "api.example.com", 8443,
	             "GET", "/v1/x"),
	    PETRI_ERR_INVAL);
	CHECK_EQ(release(v, "t1", SB_A, "stripe", "https", NULL, 8443, "GET",
	             "/v1/x"),
	    PETRI_ERR_INVAL);
	vault_close(v);
}

/* Attack case 15 and the rest of the validation. */
static void
test_validation(void)
{
	static const char *const bad_bindings[] = {
	    "",
	    "[]",
	    "{}",
	    "{\"hosts\": [], \"inject\": {\"header\": \"A\"}}",
	    "{\"hosts\": [\"a.example.com\"]}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {}}",
	    /* CR/LF/NUL in header names and formats */
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"X-A\\r\\nX-Evil: 1\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"X-A\", \"format\": \"Bearer {value}\\r\\nX-Evil: 1\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"X-A\", \"format\": \"Bearer {value}\\n\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"X-A\", \"format\": \"Bearer\\u0000{value}\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"X-A\\u0000\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"X-A\", \"format\": \"Bearer\\t{value}\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"X A\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"X-A:\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"\"}}",
	    /* framing, hop-by-hop and proxy headers */
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"Host\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"content-length\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"Transfer-Encoding\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"Proxy-Authorization\"}}",
	    /* {value} not exactly once; stray braces; spaces at the ends */
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"X-A\", \"format\": \"Bearer\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"X-A\", \"format\": \"{value}{value}\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"X-A\", \"format\": \"{{value}}\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"X-A\", \"format\": \"{VALUE}\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"X-A\", \"format\": \" {value}\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"X-A\", \"format\": \"t\\u00e9 {value}\"}}",
	    /* unknown and duplicate fields, wrong types */
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"X-A\"}, \"extra\": 1}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\":"
	    " \"X-A\", \"extra\": 1}}",
	    "{\"hosts\": [\"a.example.com\"], \"hosts\": [\"b.example.com\"],"
	    " \"inject\": {\"header\": \"X-A\"}}",
	    "{\"hosts\": \"a.example.com\", \"inject\": {\"header\": \"X\"}}",
	    "{\"hosts\": [1], \"inject\": {\"header\": \"X\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"port\": 0,"
	    " \"inject\": {\"header\": \"X\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"port\": 65536,"
	    " \"inject\": {\"header\": \"X\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"port\": \"443\","
	    " \"inject\": {\"header\": \"X\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"methods\": [],"
	    " \"inject\": {\"header\": \"X\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"methods\": [\"get\"],"
	    " \"inject\": {\"header\": \"X\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"methods\": [\"CONNECT\"],"
	    " \"inject\": {\"header\": \"X\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"methods\": [\"GET\", \"GET\"],"
	    " \"inject\": {\"header\": \"X\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"paths\": [\"v1\"],"
	    " \"inject\": {\"header\": \"X\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"paths\": [\"/v1/../x\"],"
	    " \"inject\": {\"header\": \"X\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"paths\": [\"/v1?x\"],"
	    " \"inject\": {\"header\": \"X\"}}",
	    /* hosts: malformed, duplicate */
	    "{\"hosts\": [\"a.example.com\", \"A.example.com.\"],"
	    " \"inject\": {\"header\": \"X\"}}",
	    "{\"hosts\": [\"a b.com\"], \"inject\": {\"header\": \"X\"}}",
	    "{\"hosts\": [\"a.example.com\\r\\n\"],"
	    " \"inject\": {\"header\": \"X\"}}",
	    /* basic and placeholder shapes */
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"basic\":"
	    " {\"username\": \"a:b\"}}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"basic\":"
	    " {\"username\": \"a\\r\\n\"}}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"basic\":"
	    " {\"username\": \"a\"}, \"header\": \"X\"}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"basic\": {}}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"placeholder\":"
	    " {\"env\": \"PATH\", \"header\": \"X\"}}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"placeholder\":"
	    " {\"env\": \"HTTPS_PROXY\", \"header\": \"X\"}}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"placeholder\":"
	    " {\"env\": \"LD_PRELOAD\", \"header\": \"X\"}}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"placeholder\":"
	    " {\"env\": \"lower\", \"header\": \"X\"}}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"placeholder\":"
	    " {\"env\": \"1KEY\", \"header\": \"X\"}}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"placeholder\":"
	    " {\"env\": \"KEY\"}}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"placeholder\":"
	    " {\"env\": \"KEY\", \"header\": \"X\", \"x\": 1}}}",
	    "{\"hosts\": [\"a.example.com\"], \"inject\": {\"header\": \"X\"}}"
	    " trailing",
	    NULL,
	};
	char dir[512], key[512], err[VAULT_ERR_MAX], big[VAULT_VALUE_MAX + 2];
	struct vault *v;
	size_t i;
	int r;

	v = open_fresh(dir, sizeof(dir), key, sizeof(key));
	for (i = 0; bad_bindings[i] != NULL; i++) {
		err[0] = '\0';
		r = vault_secret_create(v, "t1", "k", CANARY, strlen(CANARY),
		    bad_bindings[i], strlen(bad_bindings[i]), NULL, err,
		    sizeof(err));
		if (r != PETRI_ERR_INVAL)
			fprintf(stderr, "binding %zu: %d\n", i, r);
		CHECK_EQ(r, PETRI_ERR_INVAL);
		CHECK(err[0] != '\0');
		CHECK(strstr(err, CANARY) == NULL);
	}
	/* over-broad and always-denied hosts */
	CHECK_EQ(create(v, "t1", "k", CANARY,
	             "{\"hosts\": [\"*\"], \"inject\": {\"header\": \"X\"}}"),
	    PETRI_ERR_PERM);
	CHECK_EQ(create(v, "t1", "k", CANARY,
	             "{\"hosts\": [\"*.com\"], \"inject\": {\"header\": "
	             "\"X\"}}"),
	    PETRI_ERR_PERM);
	CHECK_EQ(create(v, "t1", "k", CANARY,
	             "{\"hosts\": [\"localhost\"], \"inject\": {\"header\": "
	             "\"X\"}}"),
	    PETRI_ERR_PERM);
	CHECK_EQ(create(v, "t1", "k", CANARY,
	             "{\"hosts\": [\"metadata.google.internal\"], "
	             "\"inject\": {\"header\": \"X\"}}"),
	    PETRI_ERR_PERM);
	/* values: CR, LF, NUL, other control bytes, spaces at the ends */
	CHECK_EQ(create(v, "t1", "k", "abc\r\nX-Evil: 1", BIND_SIMPLE),
	    PETRI_ERR_INVAL);
	CHECK_EQ(create(v, "t1", "k", "abc\n", BIND_SIMPLE), PETRI_ERR_INVAL);
	CHECK_EQ(
	    create(v, "t1", "k", "abc\tdef", BIND_SIMPLE), PETRI_ERR_INVAL);
	CHECK_EQ(create(v, "t1", "k", "abc\x7f", BIND_SIMPLE), PETRI_ERR_INVAL);
	CHECK_EQ(create(v, "t1", "k", " abc", BIND_SIMPLE), PETRI_ERR_INVAL);
	CHECK_EQ(create(v, "t1", "k", "abc ", BIND_SIMPLE), PETRI_ERR_INVAL);
	CHECK_EQ(create(v, "t1", "k", "", BIND_SIMPLE), PETRI_ERR_INVAL);
	err[0] = '\0';
	CHECK_EQ(vault_secret_create(v, "t1", "k", "abc\0def", 7, BIND_SIMPLE,
	             strlen(BIND_SIMPLE), NULL, err, sizeof(err)),
	    PETRI_ERR_INVAL);
	CHECK(strstr(err, "value") != NULL);
	memset(big, 'a', sizeof(big));
	CHECK_EQ(vault_secret_create(v, "t1", "k", big, VAULT_VALUE_MAX + 1,
	             BIND_SIMPLE, strlen(BIND_SIMPLE), NULL, NULL, 0),
	    PETRI_ERR_TOOBIG);
	CHECK_EQ(vault_secret_create(v, "t1", "k", big, VAULT_VALUE_MAX,
	             BIND_SIMPLE, strlen(BIND_SIMPLE), NULL, NULL, 0),
	    0);
	CHECK_EQ(vault_secret_delete(v, "t1", "k"), 0);
	/* a rotation is held to the same rules */
	CHECK_EQ(create(v, "t1", "k", CANARY, BIND_SIMPLE), 0);
	CHECK_EQ(vault_secret_rotate(
	             v, "t1", "k", "a\r\nb", 4, NULL, 0, NULL, NULL, 0),
	    PETRI_ERR_INVAL);
	CHECK_EQ(vault_secret_rotate(v, "t1", "k", NULL, 0, bad_bindings[6],
	             strlen(bad_bindings[6]), NULL, NULL, 0),
	    PETRI_ERR_INVAL);
	/* names and tenants */
	CHECK_EQ(
	    create(v, "t1", "Stripe", CANARY, BIND_SIMPLE), PETRI_ERR_INVAL);
	CHECK_EQ(create(v, "t1", "a b", CANARY, BIND_SIMPLE), PETRI_ERR_INVAL);
	CHECK_EQ(create(v, "t1", "a.b", CANARY, BIND_SIMPLE), PETRI_ERR_INVAL);
	CHECK_EQ(create(v, "t1", "", CANARY, BIND_SIMPLE), PETRI_ERR_INVAL);
	memset(big, 'n', VAULT_NAME_MAX + 1);
	big[VAULT_NAME_MAX + 1] = '\0';
	CHECK_EQ(create(v, "t1", big, CANARY, BIND_SIMPLE), PETRI_ERR_INVAL);
	big[VAULT_NAME_MAX] = '\0';
	CHECK_EQ(create(v, "t1", big, CANARY, BIND_SIMPLE), 0);
	CHECK_EQ(create(v, "T1", "k2", CANARY, BIND_SIMPLE), PETRI_ERR_INVAL);
	CHECK_EQ(create(v, "", "k2", CANARY, BIND_SIMPLE), PETRI_ERR_INVAL);
	vault_close(v);
}

static void
test_binding_canonical(void)
{
	static const char in[] =
	    "{\"inject\": {\"format\": \"Token {value}\", \"header\": "
	    "\"X-Token\"}, \"port\": 443, \"hosts\": [\"API.Example.COM.\", "
	    "\"*.Example.ORG\", \"[::1]\", \"0x7f.1\"]}";
	static const char want[] =
	    "{\"hosts\":[\"api.example.com\",\"*.example.org\",\"::1\","
	    "\"127.0.0.1\"],\"inject\":{\"format\":\"Token {value}\","
	    "\"header\":\"X-Token\"},\"port\":443}";
	struct vault_binding *b = NULL, *b2 = NULL;
	char *c1 = NULL, *c2 = NULL, out[64];
	size_t l1 = 0, l2 = 0, n;

	CHECK_EQ(vault_binding_parse(in, strlen(in), &b, NULL, 0), 0);
	CHECK_EQ(vault_binding_canonical(b, &c1, &l1), 0);
	if (c1 != NULL)
		CHECK_STR(c1, want);
	CHECK_EQ(vault_binding_parse(c1, l1, &b2, NULL, 0), 0);
	CHECK_EQ(vault_binding_canonical(b2, &c2, &l2), 0);
	CHECK(l1 == l2 && c2 != NULL && memcmp(c1, c2, l1) == 0);
	/* format defaults to "{value}" */
	vault_binding_free(b);
	b = NULL;
	CHECK_EQ(
	    vault_binding_parse(BIND_SIMPLE, strlen(BIND_SIMPLE), &b, NULL, 0),
	    0);
	if (b != NULL) {
		CHECK_STR(b->format, "{value}");
		CHECK_EQ(
		    vault_binding_format(b, "abc", 3, out, sizeof(out), &n), 0);
		CHECK_STR(out, "abc");
		CHECK_EQ(
		    vault_binding_format(b, "a\nc", 3, out, sizeof(out), &n),
		    PETRI_ERR_INVAL);
		CHECK_EQ(vault_binding_format(b, "abc", 3, out, 3, &n),
		    PETRI_ERR_TOOBIG);
	}
	vault_binding_free(b);
	vault_binding_free(b2);
	vault_binding_free(NULL);
	free(c1);
	free(c2);
}

static void
test_bounds(void)
{
	struct vault_binding *b = NULL;
	char *doc;
	size_t i, n;

	/* too many hosts */
	doc = malloc(VAULT_BINDING_MAX + 64);
	n = (size_t)snprintf(doc, 32, "{\"hosts\": [");
	for (i = 0; i < VAULT_MAX_HOSTS + 1; i++)
		n += (size_t)snprintf(
		    doc + n, 64, "%s\"h%zu.example.com\"", i ? "," : "", i);
	n += (size_t)snprintf(
	    doc + n, 64, "], \"inject\": {\"header\": \"X\"}}");
	CHECK_EQ(vault_binding_parse(doc, n, &b, NULL, 0), PETRI_ERR_TOOBIG);
	CHECK(b == NULL);
	/* a document over the bound is not parsed */
	memset(doc, ' ', VAULT_BINDING_MAX + 1);
	CHECK_EQ(vault_binding_parse(doc, VAULT_BINDING_MAX + 1, &b, NULL, 0),
	    PETRI_ERR_TOOBIG);
	free(doc);
	CHECK_EQ(vault_binding_parse(NULL, 0, &b, NULL, 0), PETRI_ERR_INVAL);
}

static void
test_placeholders(void)
{
	char dir[512], key[512], db[600];
	char pa[VAULT_PLACEHOLDER_SIZE], pb[VAULT_PLACEHOLDER_SIZE];
	char pc[VAULT_PLACEHOLDER_SIZE], env[VAULT_ENV_MAX + 1], want[128];
	struct vault_credential *c = NULL;
	struct vault_request r, bad;
	struct vault_grant g;
	struct vault *v;
	size_t i;

	v = open_fresh(dir, sizeof(dir), key, sizeof(key));
	CHECK_EQ(create(v, "t1", "stripe", CANARY, BIND_PH), 0);
	CHECK_EQ(create(v, "t1", "plain", CANARY, BIND_SIMPLE), 0);
	CHECK_EQ(vault_placeholder_issue(v, "t1", SB_A, "stripe", pa, env), 0);
	CHECK_STR(env, "STRIPE_API_KEY");
	CHECK_EQ(vault_grant_add(v, "t1", SB_B, "stripe", &g), 0);
	CHECK_EQ(g.inject, VAULT_INJECT_PLACEHOLDER);
	CHECK_STR(g.env, "STRIPE_API_KEY");
	memcpy(pb, g.placeholder, sizeof(pb));
	CHECK_EQ(strlen(pa), VAULT_PLACEHOLDER_LEN);
	CHECK(strncmp(pa, "petri_ph_", 9) == 0);
	for (i = 9; i < VAULT_PLACEHOLDER_LEN; i++)
		CHECK(
		    strchr("abcdefghijklmnopqrstuvwxyz234567", pa[i]) != NULL);
	CHECK(strcmp(pa, pb) != 0);
	CHECK(strstr(pa, CANARY) == NULL);
	/* a header secret has no placeholder */
	CHECK_EQ(vault_placeholder_issue(v, "t1", SB_A, "plain", pc, env),
	    PETRI_ERR_STATE);
	CHECK_EQ(pc[0], '\0');
	CHECK_EQ(vault_grant_add(v, "t1", SB_A, "plain", &g), 0);
	CHECK_EQ(g.inject, VAULT_INJECT_HEADER);
	CHECK_EQ(g.placeholder[0], '\0');
	CHECK_EQ(vault_placeholder_issue(v, "t1", SB_A, "nope", pc, env),
	    PETRI_ERR_NOTFOUND);

	r = req_make("https", "api.stripe.com", 443, "POST", "/v1/charges");
	CHECK_EQ(vault_placeholder_resolve(v, SB_A, pa, &r, &c), 0);
	if (c != NULL) {
		snprintf(want, sizeof(want), "Bearer %s", pa);
		CHECK_STR(c->expect, want);
		CHECK_EQ(c->expect_len, strlen(want));
		CHECK_STR(c->value, "Bearer " CANARY);
		CHECK_STR(c->header, "Authorization");
		CHECK_STR(c->name, "stripe");
		CHECK_STR(c->sandbox, SB_A);
		CHECK_STR(c->tenant, "t1");
		CHECK_EQ(c->inject, VAULT_INJECT_PLACEHOLDER);
	}
	vault_credential_free(c);
	c = NULL;
	/* attack case 18: another sandbox's placeholder is refused */
	CHECK_EQ(
	    vault_placeholder_resolve(v, SB_B, pa, &r, &c), PETRI_ERR_PERM);
	CHECK(c == NULL);
	CHECK_EQ(
	    vault_placeholder_resolve(v, SB_A, pb, &r, &c), PETRI_ERR_PERM);
	CHECK_EQ(vault_placeholder_resolve(v, SB_B, pb, &r, &c), 0);
	vault_credential_free(c);
	c = NULL;
	/* unbound host or plain http: nothing (attack cases 1, 9) */
	bad = req_make("https", "evil.example.net", 443, "POST", "/");
	CHECK_EQ(
	    vault_placeholder_resolve(v, SB_A, pa, &bad, &c), PETRI_ERR_PERM);
	bad = req_make("http", "api.stripe.com", 80, "POST", "/");
	CHECK_EQ(
	    vault_placeholder_resolve(v, SB_A, pa, &bad, &c), PETRI_ERR_PERM);
	/* a placeholder secret is never released without its placeholder */
	CHECK_EQ(release(v, "t1", SB_A, "stripe", "https", "api.stripe.com",
	             443, "POST", "/"),
	    PETRI_ERR_PERM);
	/* malformed and unknown placeholders */
	CHECK_EQ(vault_placeholder_resolve(v, SB_A, "petri_ph_x", &r, &c),
	    PETRI_ERR_INVAL);
	memcpy(pc, pa, sizeof(pc));
	pc[12] = '1';
	CHECK_EQ(
	    vault_placeholder_resolve(v, SB_A, pc, &r, &c), PETRI_ERR_INVAL);
	pc[12] = pa[12] == 'a' ? 'b' : 'a';
	CHECK_EQ(
	    vault_placeholder_resolve(v, SB_A, pc, &r, &c), PETRI_ERR_NOTFOUND);
	pc[0] = 'P';
	pc[12] = pa[12];
	CHECK_EQ(
	    vault_placeholder_resolve(v, SB_A, pc, &r, &c), PETRI_ERR_INVAL);
	CHECK_EQ(
	    vault_placeholder_resolve(v, SB_A, NULL, &r, &c), PETRI_ERR_INVAL);
	CHECK_EQ(
	    vault_placeholder_resolve(v, "sb_x", pa, &r, &c), PETRI_ERR_INVAL);
	/* the database keeps no placeholder in clear */
	snprintf(db, sizeof(db), "%s/vault.db", dir);
	vault_close(v);
	CHECK(!file_has(db, pa));
	CHECK(!file_has(db, pb));
	CHECK_EQ(vault_open(dir, key, &v), 0);
	/* a re-issue replaces the old one */
	CHECK_EQ(vault_placeholder_issue(v, "t1", SB_B, "stripe", pc, NULL), 0);
	CHECK(strcmp(pc, pb) != 0);
	CHECK_EQ(
	    vault_placeholder_resolve(v, SB_B, pb, &r, &c), PETRI_ERR_NOTFOUND);
	CHECK_EQ(vault_placeholder_resolve(v, SB_B, pc, &r, &c), 0);
	vault_credential_free(c);
	c = NULL;
	/* revoking sandbox A ends A only */
	CHECK_EQ(vault_sandbox_revoke(v, SB_A), 0);
	CHECK_EQ(
	    vault_placeholder_resolve(v, SB_A, pa, &r, &c), PETRI_ERR_NOTFOUND);
	CHECK_EQ(release(v, "t1", SB_A, "plain", "https", "api.example.com",
	             443, "GET", "/"),
	    PETRI_ERR_PERM);
	CHECK_EQ(vault_placeholder_resolve(v, SB_B, pc, &r, &c), 0);
	vault_credential_free(c);
	c = NULL;
	/* a rotation keeps placeholders; a delete ends them */
	CHECK_EQ(vault_secret_rotate(v, "t1", "stripe", CANARY2,
	             strlen(CANARY2), NULL, 0, NULL, NULL, 0),
	    0);
	CHECK_EQ(vault_placeholder_resolve(v, SB_B, pc, &r, &c), 0);
	if (c != NULL)
		CHECK_STR(c->value, "Bearer " CANARY2);
	vault_credential_free(c);
	c = NULL;
	CHECK_EQ(vault_secret_delete(v, "t1", "stripe"), 0);
	CHECK_EQ(
	    vault_placeholder_resolve(v, SB_B, pc, &r, &c), PETRI_ERR_NOTFOUND);
	CHECK_EQ(vault_sandbox_revoke(v, "nope"), PETRI_ERR_INVAL);
	vault_close(v);
}

static void
test_metadata_no_value(void)
{
	char dir[512], key[512], *s;
	struct vault_meta *list = NULL, m;
	struct vault *v;
	json_t *j;
	size_t n = 0, i;

	v = open_fresh(dir, sizeof(dir), key, sizeof(key));
	CHECK_EQ(create(v, "t1", "zeta", CANARY, BIND_HEADER), 0);
	CHECK_EQ(create(v, "t1", "alpha", CANARY2, BIND_PH), 0);
	CHECK_EQ(create(v, "t1", "mid", CANARY, BIND_BASIC), 0);
	CHECK_EQ(create(v, "t2", "other", CANARY, BIND_SIMPLE), 0);
	CHECK_EQ(vault_secret_list(v, "t1", &list, &n), 0);
	CHECK_EQ(n, 3);
	if (n == 3) {
		CHECK_STR(list[0].name, "alpha");
		CHECK_STR(list[1].name, "mid");
		CHECK_STR(list[2].name, "zeta");
		CHECK_EQ(list[0].inject, VAULT_INJECT_PLACEHOLDER);
		CHECK_EQ(list[1].inject, VAULT_INJECT_BASIC);
	}
	for (i = 0; i < n; i++) {
		CHECK(memmem(&list[i], sizeof(list[i]), CANARY,
		          strlen(CANARY)) == NULL);
		CHECK(strstr(list[i].binding, CANARY) == NULL);
		CHECK(strstr(list[i].binding, CANARY2) == NULL);
		j = vault_meta_json(&list[i]);
		CHECK(j != NULL);
		s = json_dumps(j, JSON_COMPACT);
		CHECK(s != NULL && strstr(s, CANARY) == NULL &&
		    strstr(s, CANARY2) == NULL);
		CHECK(json_object_get(j, "value") == NULL);
		CHECK(json_is_array(json_object_get(j, "hosts")));
		CHECK(json_is_object(json_object_get(j, "inject")));
		CHECK(json_is_string(json_object_get(j, "fingerprint")));
		CHECK(json_is_string(json_object_get(j, "created_at")));
		CHECK(json_is_null(json_object_get(j, "rotated_at")));
		free(s);
		json_decref(j);
	}
	vault_meta_list_free(list, n);
	CHECK_EQ(vault_secret_list(v, "t3", &list, &n), 0);
	CHECK_EQ(n, 0);
	CHECK(list == NULL);
	CHECK_EQ(vault_secret_list(v, "T3", &list, &n), PETRI_ERR_INVAL);
	CHECK_EQ(vault_secret_get(v, "t1", "zeta", &m), 0);
	CHECK(memmem(&m, sizeof(m), CANARY, strlen(CANARY)) == NULL);
	CHECK(strstr(m.binding, CANARY) == NULL);
	vault_meta_clear(&m);
	vault_meta_clear(NULL);
	vault_meta_list_free(NULL, 0);
	CHECK_EQ(vault_secret_get(v, "t2", "zeta", &m), PETRI_ERR_NOTFOUND);
	vault_close(v);
}

/* Every byte vault.db, its WAL and the key directory hold. */
static void
test_canary_not_on_disk(void)
{
	char dir[512], key[512], path[700], b64[128], hex[128];
	static const char *const files[] = {
	    "vault.db", "vault.db-wal", "vault.db-shm", NULL};
	struct vault_credential *c = NULL;
	struct vault_request r;
	struct vault *v;
	size_t i;
	int seen_binding = 0;

	v = open_fresh(dir, sizeof(dir), key, sizeof(key));
	CHECK_EQ(create(v, "t1", "stripe", CANARY, BIND_HEADER), 0);
	CHECK_EQ(create(v, "t1", "git", CANARY, BIND_BASIC), 0);
	CHECK_EQ(create(v, "t1", "ph", CANARY, BIND_PH), 0);
	CHECK_EQ(vault_grant_add(v, "t1", SB_A, "stripe", NULL), 0);
	CHECK_EQ(vault_secret_rotate(v, "t1", "stripe", CANARY2,
	             strlen(CANARY2), NULL, 0, NULL, NULL, 0),
	    0);
	CHECK_EQ(vault_secret_rotate(v, "t1", "stripe", CANARY, strlen(CANARY),
	             NULL, 0, NULL, NULL, 0),
	    0);
	r = req_make("https", "api.example.com", 8443, "GET", "/v1/x");
	CHECK_EQ(vault_release(v, "t1", SB_A, "stripe", &r, &c), 0);
	vault_credential_free(c);
	CHECK_EQ(vault_secret_delete(v, "t1", "git"), 0);
	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)CANARY,
	    strlen(CANARY), sodium_base64_VARIANT_ORIGINAL);
	petri_hex(CANARY, strlen(CANARY), hex);
	/* while open (WAL not checkpointed) and after close */
	for (int pass = 0; pass < 2; pass++) {
		for (i = 0; files[i] != NULL; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
			CHECK(!file_has(path, CANARY));
			CHECK(!file_has(path, CANARY2));
			CHECK(!file_has(path, "CANARY"));
			CHECK(!file_has(path, b64));
			CHECK(!file_has(path, hex));
			seen_binding |= file_has(path, "api.example.com");
		}
		CHECK(!file_has(key, "CANARY"));
		if (pass == 0)
			vault_close(v);
	}
	/* the grep does see what is stored in clear */
	CHECK(seen_binding);
}

struct thr {
	struct vault *v;
	int fails;
};

static void *
thr_run(void *arg)
{
	struct thr *t = arg;
	struct vault_credential *c;
	struct vault_request r;
	int i;

	r = req_make("https", "api.example.com", 443, "GET", "/");
	for (i = 0; i < 200; i++) {
		c = NULL;
		if (vault_release(t->v, "t1", SB_A, "k", &r, &c) != 0 ||
		    c == NULL || strcmp(c->value, CANARY) != 0)
			t->fails++;
		vault_credential_free(c);
	}
	return NULL;
}

static void
test_threads(void)
{
	char dir[512], key[512];
	struct thr t[4];
	pthread_t th[4];
	struct vault *v;
	int i;

	v = open_fresh(dir, sizeof(dir), key, sizeof(key));
	CHECK_EQ(create(v, "t1", "k", CANARY, BIND_SIMPLE), 0);
	CHECK_EQ(vault_grant_add(v, "t1", SB_A, "k", NULL), 0);
	for (i = 0; i < 4; i++) {
		t[i].v = v;
		t[i].fails = 0;
		CHECK_EQ(pthread_create(&th[i], NULL, thr_run, &t[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(t[i].fails, 0);
	}
	vault_close(v);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	UNIT_RUN(test_open_key_file);
	UNIT_RUN(test_key_file_mode);
	UNIT_RUN(test_wrong_master_key);
	UNIT_RUN(test_wrong_key_aead);
	UNIT_RUN(test_roundtrip);
	UNIT_RUN(test_basic_auth);
	UNIT_RUN(test_ad_binding);
	UNIT_RUN(test_release_checks);
	UNIT_RUN(test_validation);
	UNIT_RUN(test_binding_canonical);
	UNIT_RUN(test_bounds);
	UNIT_RUN(test_placeholders);
	UNIT_RUN(test_metadata_no_value);
	UNIT_RUN(test_canary_not_on_disk);
	UNIT_RUN(test_threads);
	if (tmpdir[0] != '\0')
		(void)nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return UNIT_DONE();
}
