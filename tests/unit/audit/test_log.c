/*
 * test_log.c: the keeper's audit store: append and reopen, checkpoints and
 * proofs, blobs, group commit under concurrency, key rotation (and its
 * crash windows), a child killed with SIGKILL mid-append, tampering with
 * the stored tail, partial exports.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_fixture.h"
#include "cosig.h"
#include "log.h"
#include "unit.h"

static void
test_open_append_reopen(void)
{
	struct audit_log *log = NULL;
	struct audit_appended ap;
	struct audit_entry e;
	struct audit_record rec;
	struct audit_key pub, k2;
	char dir[PATH_MAX], path[PATH_MAX];
	unsigned char prev[AUDIT_HASH_LEN];
	struct stat st;
	uint64_t i;

	fx_tmpdir(dir);
	CHECK(audit_log_open(dir, "bad origin", &log) == PETRI_ERR_INVAL);
	CHECK(audit_log_open(dir, NULL, &log) == PETRI_ERR_INVAL);
	CHECK(audit_log_open(dir, FX_ORIGIN, &log) == 0);
	if (log == NULL)
		return;
	CHECK(audit_log_size(log) == 1); /* log.started */
	for (i = 0; i < 10; i++) {
		CHECK(fx_append(log, (int)i, 0, &ap) == 0);
		CHECK(ap.seq == i + 1);
		CHECK(strlen(ap.leaf_hex) == 64);
	}
	CHECK(audit_log_size(log) == 11);
	/* every stored record chains on the one before */
	memset(prev, 0, sizeof(prev));
	for (i = 0; i < 11; i++) {
		CHECK(audit_log_record_get(log, i, &e) == 0);
		CHECK(audit_record_parse(e.bytes, e.len, &rec, NULL) == 0);
		CHECK(rec.seq == i);
		CHECK(memcmp(rec.prev, prev, sizeof(prev)) == 0);
		CHECK(strcmp(rec.type,
		          i == 0 ? "log.started" : "exec.finished") == 0);
		memcpy(prev, e.leaf, sizeof(prev));
		audit_record_clear(&rec);
		audit_entry_clear(&e);
	}
	CHECK(audit_log_record_get(log, 11, &e) == PETRI_ERR_NOTFOUND);
	CHECK(audit_log_public_key(log, &pub) == 0);
	audit_log_close(log);

	/* key files */
	fx_path(path, dir, "keys/log.key");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	fx_path(path, dir, "audit.db");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	fx_path(path, dir, "keys");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK(fx_log_pub(dir, &k2) == 0);
	CHECK(memcmp(k2.pub, pub.pub, AUDIT_PUBKEY_LEN) == 0);
	CHECK_STR(k2.name, FX_ORIGIN);

	/* reopen: another log.started, same key; origin is fixed */
	CHECK(audit_log_open(dir, "other.origin", &log) == PETRI_ERR_INVAL);
	CHECK(audit_log_open(dir, NULL, &log) == 0);
	if (log != NULL) {
		CHECK(audit_log_size(log) == 12);
		CHECK(audit_log_public_key(log, &k2) == 0);
		CHECK(memcmp(k2.pub, pub.pub, AUDIT_PUBKEY_LEN) == 0);
		CHECK(audit_log_record_get(log, 11, &e) == 0);
		CHECK(strstr((char *)e.bytes, "\"genesis\":false") != NULL);
		audit_entry_clear(&e);
		audit_log_close(log);
	}
	fx_rmtree(dir);
}

static void
test_checkpoints_and_proofs(void)
{
	struct audit_log *log = NULL;
	struct audit_checkpoint cp, cp2;
	struct audit_merkle_proof p;
	struct audit_entry *e = NULL;
	struct audit_key pub;
	unsigned char(*leaves)[AUDIT_HASH_LEN];
	unsigned char root[AUDIT_HASH_LEN];
	char dir[PATH_MAX], *text = NULL;
	size_t len = 0, n = 0, i;
	uint64_t size = 0, s;

	fx_tmpdir(dir);
	CHECK(audit_log_open(dir, FX_ORIGIN, &log) == 0);
	if (log == NULL)
		return;
	CHECK(audit_log_checkpoint_latest(log, &text, &len, &cp) ==
	    PETRI_ERR_NOTFOUND);
	CHECK(audit_log_prove_inclusion(log, 0, 0, &p, NULL) ==
	    PETRI_ERR_NOTFOUND);
	CHECK(audit_log_checkpoint(log, 0) == 1);
	CHECK(audit_log_checkpoint(log, 0) == 0); /* no growth */
	CHECK(fx_append(log, 1, 0, NULL) == 0);
	CHECK(audit_log_checkpoint(log, 0) == 0); /* within a second */
	CHECK(audit_log_checkpoint(log, 1) == 1); /* forced */
	for (i = 0; i < 40; i++)
		CHECK(fx_append(log, (int)i, 0, NULL) == 0);
	CHECK(audit_log_checkpoint(log, 1) == 1);
	CHECK(audit_log_checkpoint_latest(log, &text, &len, &cp) == 0);
	CHECK(cp.size == 42);
	CHECK(audit_log_public_key(log, &pub) == 0);
	CHECK(audit_checkpoint_verify(text, len, &pub, &cp2) == 0);
	free(text);

	/* the root equals an independent computation over the leaves */
	CHECK(audit_log_records_get(log, 0, AUDIT_LOG_MAX_RANGE + 1, &e, &n) ==
	    PETRI_ERR_INVAL);
	CHECK(audit_log_records_get(log, 0, 100, &e, &n) == 0);
	CHECK(n == 42);
	leaves = calloc(n, AUDIT_HASH_LEN);
	for (i = 0; i < n; i++) {
		unsigned char h[AUDIT_HASH_LEN];

		CHECK(e[i].seq == i);
		audit_record_leaf(e[i].bytes, e[i].len, h);
		CHECK(memcmp(h, e[i].leaf, AUDIT_HASH_LEN) == 0);
		CHECK(audit_record_sig_verify(h, e[i].sig, pub.pub) == 0);
		memcpy(leaves[i], h, AUDIT_HASH_LEN);
	}
	audit_merkle_array_root(leaves, n, root);
	CHECK(memcmp(root, cp.root, AUDIT_HASH_LEN) == 0);

	/* inclusion of every record in the newest checkpoint */
	for (i = 0; i < n; i++) {
		CHECK(audit_log_prove_inclusion(log, i, 0, &p, &size) == 0);
		CHECK(size == 42);
		CHECK(audit_merkle_inclusion_verify(
		          leaves[i], i, size, &p, cp.root) == 0);
	}
	CHECK(audit_log_prove_inclusion(log, 42, 0, &p, NULL) ==
	    PETRI_ERR_NOTFOUND);
	CHECK(
	    audit_log_prove_inclusion(log, 1, 99, &p, NULL) == PETRI_ERR_INVAL);
	/* consistency from every older size */
	for (s = 1; s <= 42; s++) {
		unsigned char old[AUDIT_HASH_LEN];

		audit_merkle_array_root(leaves, s, old);
		CHECK(audit_log_prove_consistency(log, s, 42, &p) == 0);
		CHECK(audit_merkle_consistency_verify(
		          s, 42, old, cp.root, &p) == 0);
	}
	CHECK(audit_log_prove_consistency(log, 1, 43, &p) == PETRI_ERR_INVAL);
	audit_entries_free(e, n);
	free(leaves);
	audit_log_close(log);

	/* reopen checks the newest checkpoint against the rebuilt tree */
	CHECK(audit_log_open(dir, NULL, &log) == 0);
	if (log != NULL) {
		CHECK(audit_log_checkpoint_latest(log, NULL, NULL, &cp2) == 0);
		CHECK(cp2.size == 42); /* log.started (seq 42) unsealed */
		audit_log_close(log);
	}
	fx_rmtree(dir);
}

static void
test_blobs(void)
{
	struct audit_log *log = NULL;
	struct audit_appended ap;
	struct audit_entry e;
	char dir[PATH_MAX], sha[PETRI_SHA256_HEX], sha2[PETRI_SHA256_HEX];
	char path[PATH_MAX];
	unsigned char *data = NULL;
	size_t len = 0;
	struct stat st;
	json_t *ev;

	fx_tmpdir(dir);
	CHECK(audit_log_open(dir, FX_ORIGIN, &log) == 0);
	if (log == NULL)
		return;
	CHECK(audit_log_blob_put(log, "print(1)\n", 9, sha) == 0);
	CHECK(audit_log_blob_put(log, "print(1)\n", 9, sha2) == 0);
	CHECK_STR(sha, sha2);
	CHECK((size_t)snprintf(path, sizeof(path), "%s/blobs/%.2s/%s", dir, sha,
	          sha) < sizeof(path));
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(audit_log_blob_get(log, sha, 100, &data, &len) == 0);
	CHECK(len == 9 && memcmp(data, "print(1)\n", 9) == 0);
	free(data);
	CHECK(audit_log_blob_get(log, sha, 4, &data, &len) == PETRI_ERR_TOOBIG);
	CHECK(audit_log_blob_get(log, "../../etc/passwd", 100, &data, &len) ==
	    PETRI_ERR_INVAL);
	CHECK(audit_log_blob_get(log,
	          "000000000000000000000000000000000000000000000000000000000000"
	          "0000",
	          100, &data, &len) == PETRI_ERR_NOTFOUND);

	/* references must point at stored blobs, with the right size */
	ev = json_pack("{s:o}", "code",
	    audit_blob_ref_new("11111111111111111111111111111111111111111111111"
	                       "11111111111111111",
	        3));
	CHECK(audit_log_append(log, "exec.finished", ev, NULL) ==
	    PETRI_ERR_NOTFOUND);
	json_decref(ev);
	ev = json_pack("{s:o}", "code", audit_blob_ref_new(sha, 8));
	CHECK(audit_log_append(log, "exec.finished", ev, NULL) ==
	    PETRI_ERR_INVAL);
	json_decref(ev);
	ev = json_pack("{s:o}", "code", audit_blob_ref_new(sha, 9));
	CHECK(audit_log_append(log, "exec.finished", ev, &ap) == 0);
	json_decref(ev);
	CHECK(ap.seq == 1);

	/* a corrupted blob file is caught on read */
	CHECK(petri_file_write_atomic(path, "print(2)\n", 9, 0600) == 0);
	CHECK(
	    audit_log_blob_get(log, sha, 100, &data, &len) == PETRI_ERR_CRYPTO);
	/* deletion is itself recorded */
	CHECK(audit_log_blob_delete(log, sha, "retention", &ap) == 0);
	CHECK(stat(path, &st) != 0);
	CHECK(audit_log_record_get(log, ap.seq, &e) == 0);
	CHECK(strstr((char *)e.bytes, "\"type\":\"blob.deleted\"") != NULL);
	CHECK(strstr((char *)e.bytes, sha) != NULL);
	audit_entry_clear(&e);
	CHECK(audit_log_blob_delete(log, sha, "again", NULL) ==
	    PETRI_ERR_NOTFOUND);
	CHECK(audit_log_blob_put(log, "x", AUDIT_BLOB_MAX + 1, sha) ==
	    PETRI_ERR_TOOBIG);
	audit_log_close(log);
	fx_rmtree(dir);
}

struct worker {
	struct audit_log *log;
	int n;
	int fails;
	uint64_t seqs[200];
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct audit_appended ap;
	int i;

	for (i = 0; i < w->n; i++) {
		if (fx_append(w->log, i, i % 4 == 0, &ap) != 0)
			w->fails++;
		else
			w->seqs[i] = ap.seq;
	}
	return NULL;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
run_threads(int group)
{
	enum { NT = 8, PER = 150 };
	struct audit_log *log = NULL;
	struct audit_verify_result res;
	struct audit_key pub;
	static struct worker w[NT];
	pthread_t tid[NT];
	uint64_t *all;
	char dir[PATH_MAX], bundle[PATH_MAX];
	int t, i, k = 0, fails = 0;

	fx_tmpdir(dir);
	CHECK(audit_log_open(dir, FX_ORIGIN, &log) == 0);
	if (log == NULL)
		return;
	audit_log_set_group_commit(log, group);
	for (t = 0; t < NT; t++) {
		memset(&w[t], 0, sizeof(w[t]));
		w[t].log = log;
		w[t].n = PER;
		pthread_create(&tid[t], NULL, worker_run, &w[t]);
	}
	for (t = 0; t < NT; t++)
		pthread_join(tid[t], NULL);
	all = calloc(NT * PER, sizeof(*all));
	for (t = 0; t < NT; t++) {
		fails += w[t].fails;
		for (i = 0; i < PER; i++)
			all[k++] = w[t].seqs[i];
	}
	CHECK(fails == 0);
	qsort(all, (size_t)k, sizeof(*all), u64_cmp);
	for (i = 0; i < k; i++)
		CHECK(all[i] == (uint64_t)i + 1); /* unique, no gaps */
	free(all);
	CHECK(audit_log_size(log) == NT * PER + 1);
	CHECK(audit_log_public_key(log, &pub) == 0);
	fx_path(bundle, dir, "bundle.tar");
	CHECK(audit_log_export(log, 0, 0, bundle, NULL) == 0);
	audit_log_close(log);
	CHECK(fx_verify(bundle, &pub, NULL, 0, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_OK);
	CHECK(res.records == NT * PER + 1);
	CHECK(res.blobs == PER / 4 + 1); /* the same outputs in each thread */
	audit_verify_result_free(&res);
	fx_rmtree(dir);
}

static void
test_group_commit_threads(void)
{
	run_threads(1);
}

static void
test_serial_commit_threads(void)
{
	run_threads(0);
}

static void
test_wait(void)
{
	struct audit_log *log = NULL;
	char dir[PATH_MAX];

	fx_tmpdir(dir);
	CHECK(audit_log_open(dir, FX_ORIGIN, &log) == 0);
	if (log == NULL)
		return;
	CHECK(audit_log_wait(log, 0, 10) == 0);
	CHECK(audit_log_wait(log, 1, 50) == PETRI_ERR_TIMEOUT);
	audit_log_close(log);
	fx_rmtree(dir);
}

static char *
read_text(const char *path)
{
	char *t = NULL;
	size_t len;

	if (petri_file_read(path, 4096, &t, &len) != 0)
		return NULL;
	return t;
}

static void
test_rotation(void)
{
	struct audit_log *log = NULL;
	struct audit_appended ap;
	struct audit_entry e;
	struct audit_key first, second, k;
	struct audit_log_key *keys = NULL;
	struct audit_verify_result res;
	char dir[PATH_MAX], bundle[PATH_MAX], key[PATH_MAX], knew[PATH_MAX];
	char *old_key;
	size_t n = 0;
	int i;

	fx_tmpdir(dir);
	fx_path(bundle, dir, "bundle.tar");
	fx_path(key, dir, "keys/log.key");
	fx_path(knew, dir, "keys/log.key.new");
	CHECK(audit_log_open(dir, FX_ORIGIN, &log) == 0);
	if (log == NULL)
		return;
	CHECK(audit_log_public_key(log, &first) == 0);
	old_key = read_text(key);
	for (i = 0; i < 5; i++)
		CHECK(fx_append(log, i, 1, NULL) == 0);
	CHECK(audit_log_checkpoint(log, 1) == 1);
	CHECK(audit_log_rotate_key(log, &ap) == 0);
	CHECK(ap.seq == 6);
	CHECK(audit_log_public_key(log, &second) == 0);
	CHECK(memcmp(first.pub, second.pub, AUDIT_PUBKEY_LEN) != 0);
	CHECK(fx_log_pub(dir, &k) == 0);
	CHECK(memcmp(k.pub, second.pub, AUDIT_PUBKEY_LEN) == 0);
	/* the rotation record is signed by the old key and names the new */
	CHECK(audit_log_record_get(log, 6, &e) == 0);
	CHECK(audit_record_sig_verify(e.leaf, e.sig, first.pub) == 0);
	CHECK(strstr((char *)e.bytes, "\"type\":\"log.key_rotated\"") != NULL);
	audit_entry_clear(&e);
	for (i = 0; i < 5; i++)
		CHECK(fx_append(log, i, 0, NULL) == 0);
	CHECK(audit_log_record_get(log, 8, &e) == 0);
	CHECK(audit_record_sig_verify(e.leaf, e.sig, second.pub) == 0);
	CHECK(audit_record_sig_verify(e.leaf, e.sig, first.pub) != 0);
	audit_entry_clear(&e);
	CHECK(audit_log_keys(log, &keys, &n) == 0);
	CHECK(n == 2 && keys[1].first_seq == 7);
	free(keys);
	/* a verifier pinned on the first key follows the rotation */
	CHECK(audit_log_export(log, 0, 0, bundle, NULL) == 0);
	CHECK(fx_verify(bundle, &first, NULL, 0, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_OK);
	CHECK(res.key_rotations == 1);
	CHECK(res.checkpoints == 2); /* size 6 (old key), 12 (new key) */
	audit_verify_result_free(&res);
	/* pinned on the second key, the first records fail */
	CHECK(fx_verify(bundle, &second, NULL, 0, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_FAILED);
	CHECK(res.first.code == AUDIT_FIND_SIG && res.first.seq == 0);
	audit_verify_result_free(&res);
	/* a partial bundle ships the earlier rotation with its proof */
	CHECK(audit_log_export(log, 9, 11, bundle, NULL) == 0);
	CHECK(fx_verify(bundle, &first, NULL, 1, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_OK);
	CHECK(res.key_rotations == 1 && res.records == 2);
	audit_verify_result_free(&res);
	/* and one that stops before it ships it too */
	CHECK(audit_log_export(log, 2, 4, bundle, NULL) == 0);
	CHECK(fx_verify(bundle, &first, NULL, 1, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_OK);
	CHECK(res.key_rotations == 1);
	audit_verify_result_free(&res);
	audit_log_close(log);

	/* crash window 1: rotation committed, key file not yet moved */
	{
		char *new_key = read_text(key);

		CHECK(new_key != NULL && old_key != NULL);
		CHECK(petri_file_write_atomic(
		          knew, new_key, strlen(new_key), 0600) == 0);
		CHECK(petri_file_write_atomic(
		          key, old_key, strlen(old_key), 0600) == 0);
		CHECK(audit_log_open(dir, NULL, &log) == 0);
		if (log != NULL) {
			CHECK(audit_log_public_key(log, &k) == 0);
			CHECK(memcmp(k.pub, second.pub, AUDIT_PUBKEY_LEN) == 0);
			audit_log_close(log);
		}
		CHECK(access(knew, F_OK) != 0);
		free(new_key);
	}
	/* crash window 2: new key written, rotation never committed */
	CHECK(
	    petri_file_write_atomic(knew, old_key, strlen(old_key), 0600) == 0);
	CHECK(audit_log_open(dir, NULL, &log) == 0);
	if (log != NULL) {
		CHECK(audit_log_public_key(log, &k) == 0);
		CHECK(memcmp(k.pub, second.pub, AUDIT_PUBKEY_LEN) == 0);
		audit_log_close(log);
	}
	CHECK(access(knew, F_OK) != 0);
	/* a wrong key file refuses to open */
	CHECK(
	    petri_file_write_atomic(key, old_key, strlen(old_key), 0600) == 0);
	CHECK(audit_log_open(dir, NULL, &log) == PETRI_ERR_CRYPTO);
	free(old_key);
	fx_rmtree(dir);
}

/*
 * A child appends from 4 threads and reports every acknowledged seq down a
 * pipe; it is killed with SIGKILL mid-stream.  Every acknowledged record
 * must be there after reopening, with no gap and nothing half-written.
 */
struct crash_arg {
	struct audit_log *log;
	int fd;
	pthread_mutex_t *mu;
};

static void *
crash_worker(void *arg)
{
	struct crash_arg *c = arg;
	struct audit_appended ap;
	int i;

	for (i = 0;; i++) {
		if (fx_append(c->log, i, i % 5 == 0, &ap) != 0)
			_exit(3);
		pthread_mutex_lock(c->mu);
		if (write(c->fd, &ap.seq, sizeof(ap.seq)) != sizeof(ap.seq))
			_exit(4);
		pthread_mutex_unlock(c->mu);
	}
	return NULL;
}

static void
test_crash_sigkill(void)
{
	struct audit_log *log = NULL;
	struct audit_verify_result res;
	struct audit_key pub;
	struct audit_entry e;
	char dir[PATH_MAX], bundle[PATH_MAX];
	uint64_t seq, max = 0, count = 0;
	int fds[2], round;
	pid_t pid;

	fx_tmpdir(dir);
	fx_path(bundle, dir, "bundle.tar");
	for (round = 0; round < 3; round++) {
		CHECK(pipe(fds) == 0);
		if ((pid = fork()) == 0) {
			static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
			struct crash_arg a;
			pthread_t t[4];
			int i;

			close(fds[0]);
			if (audit_log_open(dir, FX_ORIGIN, &log) != 0)
				_exit(2);
			a.log = log;
			a.fd = fds[1];
			a.mu = &mu;
			for (i = 0; i < 4; i++)
				pthread_create(&t[i], NULL, crash_worker, &a);
			for (;;)
				pause();
		}
		close(fds[1]);
		count = 0;
		while (read(fds[0], &seq, sizeof(seq)) == sizeof(seq)) {
			if (seq > max)
				max = seq;
			if (++count == 150 + 100 * (uint64_t)round)
				kill(pid, SIGKILL);
		}
		close(fds[0]);
		waitpid(pid, NULL, 0);
		CHECK(count >= 150);

		CHECK(audit_log_open(dir, NULL, &log) == 0);
		if (log == NULL)
			break;
		/* nothing acknowledged is lost; the tail record is whole */
		CHECK(audit_log_size(log) > max + 1);
		CHECK(audit_log_record_get(log, max, &e) == 0);
		audit_entry_clear(&e);
		CHECK(audit_log_public_key(log, &pub) == 0);
		CHECK(audit_log_export(log, 0, 0, bundle, NULL) == 0);
		audit_log_close(log);
		CHECK(fx_verify(bundle, &pub, NULL, 0, 0, &res) == 0);
		CHECK(res.status == AUDIT_VERIFY_OK);
		audit_verify_result_free(&res);
	}
	fx_rmtree(dir);
}

/* Runs one SQL statement on a closed log's database. */
static int
db_poke(const char *dir, const char *sql)
{
	char path[PATH_MAX];
	sqlite3 *db = NULL;
	int rc;

	fx_path(path, dir, "audit.db");
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static void
test_tail_tamper_refused(void)
{
	struct audit_log *log = NULL;
	char dir[PATH_MAX];
	int i;

	fx_tmpdir(dir);
	CHECK(audit_log_open(dir, FX_ORIGIN, &log) == 0);
	if (log == NULL)
		return;
	for (i = 0; i < 10; i++)
		CHECK(fx_append(log, i, 0, NULL) == 0);
	audit_log_close(log); /* seq 0..10, sealed at 11 */

	/* an edited last record */
	CHECK(
	    db_poke(dir,
	        "UPDATE records SET bytes = CAST("
	        "replace(bytes, 'system', 'sYstem') AS BLOB) WHERE seq = 10") ==
	    0);
	CHECK(audit_log_open(dir, NULL, &log) == PETRI_ERR_CRYPTO);
	CHECK(
	    db_poke(dir,
	        "UPDATE records SET bytes = CAST("
	        "replace(bytes, 'sYstem', 'system') AS BLOB) WHERE seq = 10") ==
	    0);
	CHECK(audit_log_open(dir, NULL, &log) == 0);
	audit_log_close(log); /* seq 0..11, sealed at 12 */

	/* a deleted middle record */
	CHECK(db_poke(dir,
	          "CREATE TABLE keep AS SELECT * FROM records "
	          "WHERE seq = 5; DELETE FROM records WHERE seq = 5") == 0);
	CHECK(audit_log_open(dir, NULL, &log) == PETRI_ERR_STATE);
	CHECK(db_poke(dir,
	          "INSERT INTO records SELECT * FROM keep; "
	          "DROP TABLE keep") == 0);
	/* a lost tail under a checkpoint (acknowledged records gone) */
	CHECK(db_poke(dir, "DELETE FROM records WHERE seq >= 10") == 0);
	CHECK(audit_log_open(dir, NULL, &log) == PETRI_ERR_STATE);
	fx_rmtree(dir);
}

/* Reads PRAGMA user_version and whether the leaf index exists. */
static int
db_schema(const char *dir, int *has_index)
{
	char path[PATH_MAX];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ver = -1;

	fx_path(path, dir, "audit.db");
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) ==
	        SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		ver = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	*has_index = 0;
	if (sqlite3_prepare_v2(db,
	        "SELECT 1 FROM sqlite_master WHERE name = 'records_leaf'", -1,
	        &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		*has_index = 1;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ver;
}

/*
 * The "schema" of the newest record (a log.started): 1 with from and to
 * set when it has one, 0 when not, -1 on error.
 */
static int
schema_of_last_start(struct audit_log *log, json_int_t *from, json_int_t *to)
{
	struct audit_entry e;
	const char *type;
	json_t *doc, *sc;
	int r = -1;

	memset(&e, 0, sizeof(e));
	if (audit_log_record_get(log, audit_log_size(log) - 1, &e) != 0)
		return -1;
	doc = json_loadb((const char *)e.bytes, e.len, 0, NULL);
	type = json_string_value(json_object_get(doc, "type"));
	if (type != NULL && strcmp(type, "log.started") == 0) {
		sc = json_object_get(doc, "schema");
		r = sc != NULL;
		*from = json_integer_value(json_object_get(sc, "from"));
		*to = json_integer_value(json_object_get(sc, "to"));
	}
	json_decref(doc);
	audit_entry_clear(&e);
	return r;
}

static void
test_schema_migration(void)
{
	struct audit_log *log = NULL;
	json_int_t from = 0, to = 0;
	char dir[PATH_MAX];
	int idx;

	fx_tmpdir(dir);
	CHECK(audit_log_open(dir, FX_ORIGIN, &log) == 0);
	if (log == NULL)
		return;
	CHECK(fx_append(log, 1, 0, NULL) == 0);
	audit_log_close(log);
	CHECK(db_schema(dir, &idx) == 4 && idx);
	/* a log written before the leaf index existed is migrated */
	CHECK(db_poke(dir,
	          "DROP INDEX records_leaf; DROP TABLE cosignatures; "
	          "DROP TABLE timestamps; PRAGMA user_version = 1") == 0);
	CHECK(db_schema(dir, &idx) == 1 && !idx);
	CHECK(audit_log_open(dir, NULL, &log) == 0);
	if (log == NULL)
		return;
	/* the open that migrated says so in its log.started; the next not */
	CHECK(
	    schema_of_last_start(log, &from, &to) == 1 && from == 1 && to == 4);
	audit_log_close(log);
	CHECK(db_schema(dir, &idx) == 4 && idx);
	CHECK(audit_log_open(dir, NULL, &log) == 0);
	if (log == NULL)
		return;
	CHECK(schema_of_last_start(log, &from, &to) == 0);
	audit_log_close(log);
	/* a newer schema, or a nonsense one, is not touched */
	CHECK(db_poke(dir, "PRAGMA user_version = 5") == 0);
	CHECK(audit_log_open(dir, NULL, &log) == PETRI_ERR_UNSUPPORTED);
	CHECK(db_poke(dir, "PRAGMA user_version = -1") == 0);
	CHECK(audit_log_open(dir, NULL, &log) == PETRI_ERR_UNSUPPORTED);
	fx_rmtree(dir);
}

/*
 * Cosignatures stored beside a checkpoint come back with it, from the
 * store and in an export, where the verifier counts them; a line for a
 * size without a checkpoint is refused.
 */
static void
test_cosignatures(void)
{
	struct audit_log *log = NULL;
	struct audit_verify_result res;
	struct audit_verify_opts o;
	struct audit_checkpoint cp;
	struct audit_key pub, wk;
	unsigned char pk[AUDIT_PUBKEY_LEN], sk[AUDIT_SECKEY_LEN];
	char dir[PATH_MAX], bundle[PATH_MAX], line[AUDIT_COSIG_LINE_MAX];
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0, tlen = 0, ll = 0;
	int i;

	fx_tmpdir(dir);
	CHECK(audit_log_open(dir, FX_ORIGIN, &log) == 0);
	if (log == NULL)
		return;
	for (i = 0; i < 5; i++)
		CHECK(fx_append(log, i, 0, NULL) == 0);
	CHECK(audit_log_checkpoint(log, 1) == 1);
	CHECK(audit_log_checkpoint_latest(log, &text, &len, &cp) == 0);
	crypto_sign_keypair(pk, sk);
	CHECK(audit_cosigner_key_init(&wk, "w.test/witness", pk) == 0);
	CHECK(audit_note_open(text, len, NULL, &tlen) == 0);
	CHECK(audit_cosig_sign(text, tlen, &wk, sk, 1700000000, line,
	          sizeof(line), &ll) == 0);
	CHECK(audit_log_cosig_add(log, cp.size + 1, wk.name, line, ll) ==
	    PETRI_ERR_NOTFOUND);
	CHECK(audit_log_cosig_add(log, cp.size, wk.name, line, ll - 1) ==
	    PETRI_ERR_INVAL);
	CHECK(audit_log_cosig_add(log, cp.size, wk.name, line, ll) == 0);
	CHECK(audit_log_checkpoint_latest(log, &text2, &len2, NULL) == 0);
	CHECK(len2 == len + ll && memcmp(text2, text, len) == 0 &&
	    memcmp(text2 + len, line, ll) == 0);
	CHECK(audit_cosig_verify(text2, len2, &wk, NULL) == 0);
	CHECK(audit_log_public_key(log, &pub) == 0);
	fx_path(bundle, dir, "bundle.tar");
	CHECK(audit_log_export(log, 0, 0, bundle, NULL) == 0);
	audit_log_close(log);
	memset(&o, 0, sizeof(o));
	o.key = pub;
	o.threads = 2;
	o.witnesses = &wk;
	o.nwitnesses = 1;
	o.quorum = 1;
	CHECK(audit_verify_file(bundle, &o, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_OK && res.cosignatures == 1);
	audit_verify_result_free(&res);
	/* another witness's key: the quorum is not met */
	crypto_sign_keypair(pk, sk);
	CHECK(audit_cosigner_key_init(&wk, "w.test/witness", pk) == 0);
	o.witnesses = &wk;
	CHECK(audit_verify_file(bundle, &o, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_FAILED &&
	    res.first.code == AUDIT_FIND_WITNESS);
	audit_verify_result_free(&res);
	free(text);
	free(text2);
	fx_rmtree(dir);
}

static void
test_export_partial(void)
{
	struct audit_log *log = NULL;
	struct audit_verify_result res;
	struct audit_export_info info;
	struct audit_key pub;
	char dir[PATH_MAX], bundle[PATH_MAX];
	int i;

	fx_tmpdir(dir);
	fx_path(bundle, dir, "b.tar");
	CHECK(audit_log_open(dir, FX_ORIGIN, &log) == 0);
	if (log == NULL)
		return;
	CHECK(audit_log_public_key(log, &pub) == 0);
	for (i = 0; i < 30; i++) {
		CHECK(fx_append(log, i, i % 7 == 0, NULL) == 0);
		if (i % 9 == 0)
			CHECK(audit_log_checkpoint(log, 1) == 1);
	}
	CHECK(audit_log_export(log, 7, 20, bundle, &info) == 0);
	CHECK(info.from == 7 && info.to == 20 && info.tree_size == 31);
	CHECK(fx_verify(bundle, &pub, NULL, 0, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_FAILED &&
	    res.first.code == AUDIT_FIND_PARTIAL);
	audit_verify_result_free(&res);
	CHECK(fx_verify(bundle, &pub, NULL, 1, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_OK);
	CHECK(res.records == 13 && res.partial && res.tree_size == 31);
	audit_verify_result_free(&res);
	CHECK(audit_log_export(log, 5, 4, bundle, &info) == PETRI_ERR_INVAL);
	CHECK(audit_log_export(log, 31, 0, bundle, &info) == 0);
	CHECK(info.from == 31 && info.to == 31);
	CHECK(fx_verify(bundle, &pub, NULL, 1, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_OK && res.records == 0);
	audit_verify_result_free(&res);
	audit_log_close(log);
	fx_rmtree(dir);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	log_init("test_log", 0);
	UNIT_RUN(test_open_append_reopen);
	UNIT_RUN(test_checkpoints_and_proofs);
	UNIT_RUN(test_blobs);
	UNIT_RUN(test_group_commit_threads);
	UNIT_RUN(test_serial_commit_threads);
	UNIT_RUN(test_wait);
	UNIT_RUN(test_rotation);
	UNIT_RUN(test_crash_sigkill);
	UNIT_RUN(test_tail_tamper_refused);
	UNIT_RUN(test_schema_migration);
	UNIT_RUN(test_export_partial);
	UNIT_RUN(test_cosignatures);
	return UNIT_DONE();
}
