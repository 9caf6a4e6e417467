/*
 * test_verify.c: one test per tamper class of AUDIT.md, each expecting a
 * precise finding (code and first bad seq) from the verifier library:
 *
 *   modified record field, modified blob, deleted record, inserted record,
 *   reordered records, duplicated seq, truncated tail vs a held
 *   checkpoint, rollback vs a pinned checkpoint, fork (same size other
 *   root; failed consistency), checkpoint signed by an unknown key,
 *   signature bit-flip, stripped signature, record re-signed with an
 *   unannounced key, checkpoint root that does not match the records.
 *
 * The fixture: a log with blobs and a key rotation, exported twice (B1,
 * then B2 after more records), and a fork of it sharing its key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_fixture.h"
#include "log.h"
#include "unit.h"

static char g_dir[PATH_MAX], g_fork[PATH_MAX];
static char g_b1[PATH_MAX], g_b2[PATH_MAX], g_bf[PATH_MAX], g_tmp[PATH_MAX];
static char *g_t1, *g_t2; /* newest checkpoints of B1 and B2 */
static char *g_tf; /* newest checkpoint of the fork */
static struct audit_key g_first; /* the pinned (first) key */
static uint64_t g_rot_seq; /* the key rotation record */
static uint64_t g_n2; /* records in B2 */

#define K 14 /* a record in the middle */

static struct fx_bundle *g_b;
static struct fx_lines *g_rec, *g_sig;

static int
setup(void)
{
	struct audit_log *log = NULL;
	struct audit_appended ap;
	struct audit_export_info info;
	char sha[PETRI_SHA256_HEX];
	int i;

	fx_tmpdir(g_dir);
	fx_path(g_fork, g_dir, "fork");
	fx_path(g_b1, g_dir, "b1.tar");
	fx_path(g_b2, g_dir, "b2.tar");
	fx_path(g_bf, g_dir, "bf.tar");
	fx_path(g_tmp, g_dir, "t.tar");
	{
		char logdir[PATH_MAX];

		fx_path(logdir, g_dir, "log");
		memcpy(g_dir, logdir, sizeof(logdir));
	}
	if (audit_log_open(g_dir, FX_ORIGIN, &log) != 0)
		return -1;
	if (audit_log_public_key(log, &g_first) != 0)
		return -1;
	for (i = 1; i <= 7; i++)
		if (fx_append(log, i, i % 2, NULL) != 0)
			return -1;
	if (audit_log_checkpoint(log, 1) != 1 ||
	    audit_log_rotate_key(log, &ap) != 0)
		return -1;
	g_rot_seq = ap.seq;
	for (i = 9; i <= 24; i++) {
		if (fx_append(log, i, i % 4 == 0, NULL) != 0)
			return -1;
		if (i % 6 == 0 && audit_log_checkpoint(log, 1) != 1)
			return -1;
	}
	/* a blob erased on purpose stays verifiable (deletion recorded) */
	if (audit_log_blob_put(log, "erase me", 8, sha) != 0)
		return -1;
	{
		json_t *ev =
		    json_pack("{s:o}", "stdout", audit_blob_ref_new(sha, 8));

		if (audit_log_append(log, "exec.finished", ev, NULL) != 0)
			return -1;
		json_decref(ev);
	}
	if (audit_log_blob_delete(log, sha, "erasure request", NULL) != 0)
		return -1;
	if (audit_log_export(log, 0, 0, g_b1, &info) != 0)
		return -1;
	audit_log_close(log);
	if (fx_copy_log(g_dir, g_fork) != 0)
		return -1;

	/* the log goes on */
	if (audit_log_open(g_dir, NULL, &log) != 0)
		return -1;
	for (i = 0; i < 10; i++)
		if (fx_append(log, 100 + i, i % 3 == 0, NULL) != 0)
			return -1;
	if (audit_log_export(log, 0, 0, g_b2, &info) != 0)
		return -1;
	g_n2 = info.to;
	audit_log_close(log);

	/* a fork: same key, same start, other records */
	if (audit_log_open(g_fork, NULL, &log) != 0)
		return -1;
	for (i = 0; i < 10; i++)
		if (fx_append(log, 200 + i, 0, NULL) != 0)
			return -1;
	if (audit_log_export(log, 0, 0, g_bf, NULL) != 0)
		return -1;
	audit_log_close(log);

	/* the checkpoints an auditor would have pinned */
	{
		struct audit_verify_result res;

		if (fx_verify(g_b1, &g_first, NULL, 0, 0, &res) != 0 ||
		    res.status != AUDIT_VERIFY_OK)
			return -1;
		g_t1 = res.checkpoint;
		res.checkpoint = NULL;
		if (fx_verify(g_b2, &g_first, NULL, 0, 0, &res) != 0 ||
		    res.status != AUDIT_VERIFY_OK)
			return -1;
		g_t2 = res.checkpoint;
	}
	g_b = calloc(1, sizeof(*g_b));
	g_rec = calloc(1, sizeof(*g_rec));
	g_sig = calloc(1, sizeof(*g_sig));
	return g_b != NULL && g_rec != NULL && g_sig != NULL ? 0 : -1;
}

/* Loads B2 for editing, with its records and signatures as lines. */
static void
edit_begin(const char *path)
{
	if (fx_bundle_load(path, g_b) != 0)
		abort();
	fx_lines_split(fx_bundle_get(g_b, AUDIT_BUNDLE_RECORDS), g_rec);
	fx_lines_split(fx_bundle_get(g_b, AUDIT_BUNDLE_SIGS), g_sig);
}

/* Writes the edited bundle and verifies it. */
static void
edit_verify(const char *trusted, struct audit_verify_result *res)
{
	fx_lines_join(g_b, AUDIT_BUNDLE_RECORDS, g_rec);
	fx_lines_join(g_b, AUDIT_BUNDLE_SIGS, g_sig);
	fx_lines_free(g_rec);
	fx_lines_free(g_sig);
	if (fx_bundle_save(g_b, g_tmp) != 0)
		abort();
	fx_bundle_free(g_b);
	if (fx_verify(g_tmp, &g_first, trusted, 0, 0, res) != 0)
		abort();
	if (res->status == AUDIT_VERIFY_FAILED)
		printf("  finding: [%s] seq %lld: %s\n",
		    audit_finding_name(res->first.code),
		    (long long)res->first.seq, res->first.msg);
}

static int
expect(
    struct audit_verify_result *res, enum audit_finding_code code, int64_t seq)
{
	int ok = res->status == AUDIT_VERIFY_FAILED &&
	    res->first.code == code && res->first.seq == seq;

	audit_verify_result_free(res);
	return ok;
}

static void
line_remove(struct fx_lines *l, size_t i)
{
	memmove(
	    &l->line[i], &l->line[i + 1], (l->n - i - 1) * sizeof(l->line[0]));
	l->n--;
}

static void
line_insert(struct fx_lines *l, size_t i, char *s)
{
	memmove(&l->line[i + 1], &l->line[i], (l->n - i) * sizeof(l->line[0]));
	l->line[i] = s;
	l->n++;
}

/* A records.sig line for seq signed by sk over leaf (static storage). */
static char *
sig_line_for(uint64_t seq, const unsigned char leaf[AUDIT_HASH_LEN],
    const unsigned char *sk, char out[AUDIT_BUNDLE_SIG_LINE_MAX])
{
	unsigned char sig[AUDIT_SIG_LEN];
	size_t n;

	audit_record_sign(leaf, sk, sig);
	n = audit_bundle_sig_line(seq, sig, out);
	out[n - 1] = '\0'; /* lines are stored without newline */
	return out;
}

static void
test_clean_bundles(void)
{
	struct audit_verify_result res;

	CHECK(fx_verify(g_b2, &g_first, NULL, 0, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_OK);
	CHECK(res.records == g_n2 && res.sealed == g_n2 && res.unsealed == 0);
	CHECK(res.key_rotations == 1);
	CHECK(res.blobs_erased == 1 && res.blobs > 0);
	CHECK(res.checkpoints >= 5);
	audit_verify_result_free(&res);
	/* the auditor's pinned checkpoint from last time: consistent */
	CHECK(fx_verify(g_b2, &g_first, g_t1, 0, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_OK && res.trusted_checked);
	audit_verify_result_free(&res);
	CHECK(fx_verify(g_b2, &g_first, g_t2, 0, 1, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_OK && res.sigs_skipped > 0);
	audit_verify_result_free(&res);
	/* the same bundle, re-packed by our writer, still verifies */
	edit_begin(g_b2);
	edit_verify(NULL, &res);
	CHECK(res.status == AUDIT_VERIFY_OK);
	audit_verify_result_free(&res);
}

static void
test_modified_record_field(void)
{
	struct audit_verify_result res;
	char *p;

	edit_begin(g_b2);
	p = strstr(g_rec->line[K], "\"exit_code\":");
	CHECK(p != NULL);
	if (p != NULL)
		p[12] = p[12] == '0' ? '1' : '0';
	edit_verify(NULL, &res);
	CHECK(expect(&res, AUDIT_FIND_MODIFIED, K));
}

static void
test_modified_record_field_fast(void)
{
	struct audit_verify_result res;
	struct audit_verify_opts o;
	char *p;

	/* --fast may skip the record's signature; the chain still breaks */
	edit_begin(g_b2);
	p = strstr(g_rec->line[K], "\"tenant\":\"t1\"");
	CHECK(p != NULL);
	if (p != NULL)
		p[11] = '2';
	fx_lines_join(g_b, AUDIT_BUNDLE_RECORDS, g_rec);
	fx_lines_join(g_b, AUDIT_BUNDLE_SIGS, g_sig);
	fx_lines_free(g_rec);
	fx_lines_free(g_sig);
	CHECK(fx_bundle_save(g_b, g_tmp) == 0);
	fx_bundle_free(g_b);
	memset(&o, 0, sizeof(o));
	o.key = g_first;
	o.fast = 1;
	CHECK(audit_verify_file(g_tmp, &o, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_FAILED);
	CHECK((res.first.code == AUDIT_FIND_PREV && res.first.seq == K + 1) ||
	    (res.first.code == AUDIT_FIND_MODIFIED && res.first.seq == K));
	audit_verify_result_free(&res);
}

static void
test_modified_blob(void)
{
	struct audit_verify_result res;
	struct audit_record rec;
	struct fx_member *m = NULL;
	char name[AUDIT_TAR_NAME_MAX];
	size_t i;
	int64_t first = -1;

	edit_begin(g_b2);
	/* the first record that references a blob, and that blob */
	for (i = 0; i < g_rec->n && first < 0; i++) {
		json_t *out;

		if (audit_record_parse(g_rec->line[i], strlen(g_rec->line[i]),
		        &rec, NULL) != 0)
			continue;
		out = json_object_get(rec.json, "stdout");
		if (out != NULL) {
			snprintf(name, sizeof(name), "blobs/%s",
			    json_string_value(json_object_get(out, "sha256")));
			if ((m = fx_bundle_get(g_b, name)) != NULL)
				first = (int64_t)rec.seq;
		}
		audit_record_clear(&rec);
	}
	CHECK(m != NULL && first >= 0);
	if (m != NULL)
		m->data[0] ^= 0x20;
	edit_verify(NULL, &res);
	CHECK(expect(&res, AUDIT_FIND_BLOB, first));
	/* and a blob taken out that no record deleted */
	edit_begin(g_b2);
	if (m != NULL)
		fx_bundle_del(g_b, name);
	edit_verify(NULL, &res);
	CHECK(expect(&res, AUDIT_FIND_BLOB_MISSING, first));
}

static void
test_deleted_record(void)
{
	struct audit_verify_result res;

	edit_begin(g_b2);
	line_remove(g_rec, K);
	line_remove(g_sig, K);
	edit_verify(NULL, &res);
	CHECK(expect(&res, AUDIT_FIND_SEQ_GAP, K));
	/* the last record deleted: the count no longer adds up */
	edit_begin(g_b2);
	line_remove(g_rec, g_rec->n - 1);
	line_remove(g_sig, g_sig->n - 1);
	edit_verify(NULL, &res);
	CHECK(expect(&res, AUDIT_FIND_SEQ_GAP, (int64_t)g_n2 - 1));
}

static void
test_inserted_record(void)
{
	struct audit_verify_result res;
	unsigned char pk[AUDIT_PUBKEY_LEN], sk[AUDIT_SECKEY_LEN];
	unsigned char leaf[AUDIT_HASH_LEN];
	char forged[4096], sline[AUDIT_BUNDLE_SIG_LINE_MAX], *p;

	/* a forged record claiming seq K+1, chained correctly on K */
	edit_begin(g_b2);
	snprintf(forged, sizeof(forged), "%s", g_rec->line[K + 1]);
	p = strstr(forged, "\"tenant\":\"t1\"");
	CHECK(p != NULL);
	if (p != NULL)
		p[11] = '9';
	audit_record_leaf(forged, strlen(forged), leaf);
	crypto_sign_keypair(pk, sk);
	line_insert(g_rec, K + 1, forged);
	line_insert(g_sig, K + 1, sig_line_for(K + 1, leaf, sk, sline));
	edit_verify(NULL, &res);
	CHECK(expect(&res, AUDIT_FIND_SEQ_ORDER, K + 1));
}

static void
test_reordered_records(void)
{
	struct audit_verify_result res;
	char *t;

	edit_begin(g_b2);
	t = g_rec->line[K];
	g_rec->line[K] = g_rec->line[K + 1];
	g_rec->line[K + 1] = t;
	t = g_sig->line[K];
	g_sig->line[K] = g_sig->line[K + 1];
	g_sig->line[K + 1] = t;
	edit_verify(NULL, &res);
	CHECK(res.status == AUDIT_VERIFY_FAILED &&
	    strstr(res.first.msg, "reordered") != NULL);
	CHECK(expect(&res, AUDIT_FIND_SEQ_ORDER, K));
}

static void
test_duplicated_seq(void)
{
	struct audit_verify_result res;

	edit_begin(g_b2);
	line_insert(g_rec, K + 1, g_rec->line[K]);
	line_insert(g_sig, K + 1, g_sig->line[K]);
	edit_verify(NULL, &res);
	CHECK(expect(&res, AUDIT_FIND_SEQ_ORDER, K + 1));
}

/* The newest checkpoint member of the loaded bundle, other than skip. */
static struct fx_member *
newest_cp(struct fx_bundle *b, uint64_t below, uint64_t *size)
{
	struct fx_member *best = NULL;
	uint64_t s, bs = 0;
	size_t i;

	for (i = 0; i < b->n; i++)
		if (audit_bundle_cp_name_parse(b->m[i].name, &s) == 0 &&
		    s < below && (best == NULL || s > bs)) {
			best = &b->m[i];
			bs = s;
		}
	*size = bs;
	return best;
}

/* Cuts the loaded bundle down to its records [0, size) and checkpoints. */
static void
cut_to(uint64_t size)
{
	struct audit_bundle_manifest m;
	struct fx_member *man = fx_bundle_get(g_b, AUDIT_BUNDLE_MANIFEST);
	char *text;
	size_t len, i;
	uint64_t s;

	if (audit_bundle_manifest_parse(man->data, man->len, &m) != 0)
		abort();
	m.to = m.tree_size = size;
	m.right.count = 0;
	if (audit_bundle_manifest_encode(&m, &text, &len) != 0)
		abort();
	fx_bundle_set(g_b, AUDIT_BUNDLE_MANIFEST, text, len);
	free(text);
	for (i = 0; i < g_b->n;)
		if (audit_bundle_cp_name_parse(g_b->m[i].name, &s) == 0 &&
		    s > size)
			fx_bundle_del(g_b, g_b->m[i].name);
		else
			i++;
	g_rec->n = g_sig->n = (size_t)size;
}

static void
test_truncated_tail_vs_held_checkpoint(void)
{
	struct audit_verify_result res;
	uint64_t size;

	/* records and newer checkpoints cut, manifest made consistent */
	edit_begin(g_b2);
	CHECK(newest_cp(g_b, g_n2, &size) != NULL);
	cut_to(size);
	edit_verify(g_t2, &res);
	CHECK(res.status == AUDIT_VERIFY_FAILED &&
	    strstr(res.first.msg, "truncated") != NULL);
	CHECK(expect(&res, AUDIT_FIND_ROLLBACK, (int64_t)size));
	/* without a held checkpoint the cut is a smaller, valid log: the
	   reason auditors pin checkpoints (--trusted) */
	edit_begin(g_b2);
	cut_to(size);
	edit_verify(NULL, &res);
	CHECK(res.status == AUDIT_VERIFY_OK);
	audit_verify_result_free(&res);
	/* only the records cut, the newest checkpoint kept */
	edit_begin(g_b2);
	g_rec->n -= 3;
	g_sig->n -= 3;
	edit_verify(NULL, &res);
	CHECK(expect(&res, AUDIT_FIND_SEQ_GAP, (int64_t)g_n2 - 3));
}

static void
test_rollback_vs_pinned_checkpoint(void)
{
	struct audit_verify_result res;

	/* an older (genuine) bundle served to an auditor who saw B2 */
	CHECK(fx_verify(g_b1, &g_first, g_t2, 0, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_FAILED);
	CHECK(res.first.code == AUDIT_FIND_ROLLBACK);
	audit_verify_result_free(&res);
}

static void
test_fork(void)
{
	struct audit_verify_result res;
	struct audit_checkpoint a, b;

	CHECK(audit_checkpoint_parse(g_t2, strlen(g_t2), &a) == 0);
	/* the fork on its own is a valid log */
	CHECK(fx_verify(g_bf, &g_first, NULL, 0, 0, &res) == 0);
	if (res.status != AUDIT_VERIFY_OK)
		printf("  fork: [%s] %lld %s\n",
		    audit_finding_name(res.first.code),
		    (long long)res.first.seq, res.first.msg);
	CHECK(res.status == AUDIT_VERIFY_OK);
	CHECK(audit_checkpoint_parse(res.checkpoint, res.checkpoint_len, &b) ==
	    0);
	g_tf = res.checkpoint;
	res.checkpoint = NULL;
	audit_verify_result_free(&res);
	/* same size, other root */
	CHECK(a.size == b.size && memcmp(a.root, b.root, 32) != 0);
	CHECK(fx_verify(g_bf, &g_first, g_t2, 0, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_FAILED &&
	    res.first.code == AUDIT_FIND_FORK);
	audit_verify_result_free(&res);
	/* and the other way round */
	CHECK(fx_verify(g_b2, &g_first, g_tf, 0, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_FAILED &&
	    res.first.code == AUDIT_FIND_FORK);
	audit_verify_result_free(&res);
}

static void
test_fork_failed_consistency(void)
{
	struct audit_verify_result res;
	struct audit_log *log = NULL;
	char bigger[PATH_MAX];
	int i;

	/* the fork grows past the auditor's checkpoint of the real log:
	   its tree at that size is not the trusted one */
	CHECK(audit_log_open(g_fork, NULL, &log) == 0);
	if (log == NULL)
		return;
	for (i = 0; i < 5; i++)
		CHECK(fx_append(log, 300 + i, 0, NULL) == 0);
	fx_path(bigger, g_fork, "bigger.tar");
	CHECK(audit_log_export(log, 0, 0, bigger, NULL) == 0);
	audit_log_close(log);
	CHECK(fx_verify(bigger, &g_first, g_t2, 0, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_FAILED &&
	    res.first.code == AUDIT_FIND_FORK);
	audit_verify_result_free(&res);
	/* while the log's own earlier checkpoint is consistent with it */
	CHECK(fx_verify(bigger, &g_first, g_t1, 0, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_OK && res.trusted_checked);
	audit_verify_result_free(&res);
}

static void
test_checkpoint_unknown_key(void)
{
	struct audit_verify_result res;
	struct audit_checkpoint cp;
	struct audit_key k;
	struct fx_member *m;
	unsigned char pk[AUDIT_PUBKEY_LEN], sk[AUDIT_SECKEY_LEN];
	char note[AUDIT_NOTE_MAX];
	uint64_t size;
	size_t len;

	edit_begin(g_b2);
	m = newest_cp(g_b, UINT64_MAX, &size);
	CHECK(m != NULL &&
	    audit_checkpoint_parse((char *)m->data, m->len, &cp) == 0);
	crypto_sign_keypair(pk, sk);
	CHECK(audit_key_init(&k, FX_ORIGIN, pk) == 0);
	CHECK(
	    audit_checkpoint_sign(&cp, &k, sk, note, sizeof(note), &len) == 0);
	if (m != NULL)
		fx_bundle_set(g_b, m->name, note, len);
	edit_verify(NULL, &res);
	CHECK(res.status == AUDIT_VERIFY_FAILED &&
	    strstr(res.first.msg, "unknown") != NULL);
	CHECK(expect(&res, AUDIT_FIND_CHECKPOINT_SIG, -1));
}

static void
test_signature_bit_flip(void)
{
	struct audit_verify_result res;
	unsigned char sig[AUDIT_SIG_LEN];
	char sline[AUDIT_BUNDLE_SIG_LINE_MAX];
	uint64_t seq;
	size_t n;

	edit_begin(g_b2);
	CHECK(audit_bundle_sig_parse(
	          g_sig->line[K], strlen(g_sig->line[K]), &seq, sig) == 0);
	sig[17] ^= 0x04;
	n = audit_bundle_sig_line(seq, sig, sline);
	sline[n - 1] = '\0';
	g_sig->line[K] = sline;
	edit_verify(NULL, &res);
	CHECK(expect(&res, AUDIT_FIND_SIG, K));
}

static void
test_stripped_signature(void)
{
	struct audit_verify_result res;
	char blank[32];

	edit_begin(g_b2);
	line_remove(g_sig, K);
	edit_verify(NULL, &res);
	CHECK(expect(&res, AUDIT_FIND_SIG_MISSING, K));
	/* the line kept, the signature emptied */
	edit_begin(g_b2);
	snprintf(blank, sizeof(blank), "%d ", K);
	g_sig->line[K] = blank;
	edit_verify(NULL, &res);
	CHECK(expect(&res, AUDIT_FIND_SIG_MISSING, K));
	/* records.sig gone altogether */
	edit_begin(g_b2);
	g_sig->n = 0;
	edit_verify(NULL, &res);
	CHECK(expect(&res, AUDIT_FIND_SIG_MISSING, 0));
}

static void
test_resigned_unannounced_key(void)
{
	struct audit_verify_result res;
	unsigned char pk[AUDIT_PUBKEY_LEN], sk[AUDIT_SECKEY_LEN];
	unsigned char leaf[AUDIT_HASH_LEN];
	char sline[AUDIT_BUNDLE_SIG_LINE_MAX];

	edit_begin(g_b2);
	crypto_sign_keypair(pk, sk);
	audit_record_leaf(g_rec->line[K], strlen(g_rec->line[K]), leaf);
	g_sig->line[K] = sig_line_for(K, leaf, sk, sline);
	edit_verify(NULL, &res);
	CHECK(res.status == AUDIT_VERIFY_FAILED &&
	    strstr(res.first.msg, "unannounced") != NULL);
	CHECK(expect(&res, AUDIT_FIND_SIG, K));
	/* the record before the rotation must carry the first key: the
	   second key signing it is just as unannounced at that point */
	{
		unsigned char lsk[AUDIT_SECKEY_LEN];
		struct audit_key lk;

		CHECK(fx_log_key(g_dir, lsk, &lk) == 0);
		edit_begin(g_b2);
		audit_record_leaf(g_rec->line[3], strlen(g_rec->line[3]), leaf);
		g_sig->line[3] = sig_line_for(3, leaf, lsk, sline);
		edit_verify(NULL, &res);
		CHECK(expect(&res, AUDIT_FIND_SIG, 3));
		sodium_memzero(lsk, sizeof(lsk));
	}
}

static void
test_checkpoint_root_mismatch(void)
{
	struct audit_verify_result res;
	struct audit_checkpoint cp;
	struct audit_key k;
	struct fx_member *m;
	unsigned char sk[AUDIT_SECKEY_LEN];
	char note[AUDIT_NOTE_MAX];
	uint64_t size;
	size_t len;

	/* validly signed by the log key, but over another root */
	CHECK(fx_log_key(g_dir, sk, &k) == 0);
	edit_begin(g_b2);
	m = newest_cp(g_b, UINT64_MAX, &size);
	CHECK(m != NULL &&
	    audit_checkpoint_parse((char *)m->data, m->len, &cp) == 0);
	cp.root[5] ^= 0x40;
	CHECK(
	    audit_checkpoint_sign(&cp, &k, sk, note, sizeof(note), &len) == 0);
	if (m != NULL)
		fx_bundle_set(g_b, m->name, note, len);
	edit_verify(NULL, &res);
	CHECK(expect(&res, AUDIT_FIND_ROOT, (int64_t)size - 1));
	sodium_memzero(sk, sizeof(sk));
}

static void
test_unsealed_tail(void)
{
	struct audit_verify_result res;
	struct audit_bundle_manifest m;
	struct fx_member *man, *cp;
	uint64_t newest, older;
	char *text;
	size_t len;

	/* the newest checkpoint dropped: what follows the older one is
	   signed but unsealed, reported as such and not as a pass */
	edit_begin(g_b2);
	cp = newest_cp(g_b, UINT64_MAX, &newest);
	CHECK(cp != NULL && newest == g_n2);
	fx_bundle_del(g_b, cp->name);
	CHECK(newest_cp(g_b, UINT64_MAX, &older) != NULL);
	man = fx_bundle_get(g_b, AUDIT_BUNDLE_MANIFEST);
	CHECK(audit_bundle_manifest_parse(man->data, man->len, &m) == 0);
	m.tree_size = older;
	CHECK(audit_bundle_manifest_encode(&m, &text, &len) == 0);
	fx_bundle_set(g_b, AUDIT_BUNDLE_MANIFEST, text, len);
	free(text);
	edit_verify(NULL, &res);
	CHECK(res.status == AUDIT_VERIFY_UNSEALED);
	CHECK(res.unsealed == g_n2 - older && res.sealed == older);
	audit_verify_result_free(&res);
	/* the manifest left claiming the dropped checkpoint: a finding */
	edit_begin(g_b2);
	cp = newest_cp(g_b, UINT64_MAX, &newest);
	fx_bundle_del(g_b, cp->name);
	edit_verify(NULL, &res);
	CHECK(expect(&res, AUDIT_FIND_CHECKPOINT, -1));
}

static void
test_save_trusted_cycle(void)
{
	struct audit_verify_result res;
	char *saved;

	/* the auditor's routine: verify, keep the newest checkpoint, pin it */
	CHECK(fx_verify(g_b1, &g_first, NULL, 0, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_OK && res.checkpoint != NULL);
	saved = res.checkpoint;
	res.checkpoint = NULL;
	audit_verify_result_free(&res);
	CHECK(fx_verify(g_b2, &g_first, saved, 0, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_OK && res.trusted_checked);
	audit_verify_result_free(&res);
	/* the same bundle again: equal sizes, equal roots */
	CHECK(fx_verify(g_b1, &g_first, saved, 0, 0, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_OK && res.trusted_checked);
	audit_verify_result_free(&res);
	/* a trusted note that is not a checkpoint of this log */
	CHECK(fx_verify(g_b2, &g_first, "garbage\n", 0, 0, &res) == 0);
	CHECK(expect(&res, AUDIT_FIND_TRUSTED, -1));
	free(saved);
}

static void
test_malformed_bundles(void)
{
	struct audit_verify_result res;
	struct audit_key other;
	unsigned char pk[AUDIT_PUBKEY_LEN], sk[AUDIT_SECKEY_LEN];
	struct audit_verify_opts o;

	memset(&o, 0, sizeof(o));
	o.key = g_first;
	CHECK(audit_verify_bundle("not a tar", 9, &o, &res) == 0);
	CHECK(res.status == AUDIT_VERIFY_FAILED &&
	    res.first.code == AUDIT_FIND_BUNDLE);
	audit_verify_result_free(&res);
	/* a key for another log */
	crypto_sign_keypair(pk, sk);
	CHECK(audit_key_init(&other, "other.log", pk) == 0);
	CHECK(fx_verify(g_b2, &other, NULL, 0, 0, &res) == 0);
	CHECK(res.first.code == AUDIT_FIND_KEY);
	audit_verify_result_free(&res);
	/* an unexpected member */
	edit_begin(g_b2);
	fx_bundle_set(g_b, "notes.txt", "x", 1);
	edit_verify(NULL, &res);
	CHECK(expect(&res, AUDIT_FIND_BUNDLE, -1));
	/* a record that is not JSON */
	edit_begin(g_b2);
	g_rec->line[K] = "{\"v\":1,";
	edit_verify(NULL, &res);
	CHECK(expect(&res, AUDIT_FIND_RECORD, K));
	/* records.jsonl without its final newline */
	edit_begin(g_b2);
	fx_lines_free(g_rec);
	fx_lines_free(g_sig);
	fx_bundle_get(g_b, AUDIT_BUNDLE_RECORDS)->len--;
	CHECK(fx_bundle_save(g_b, g_tmp) == 0);
	fx_bundle_free(g_b);
	CHECK(fx_verify(g_tmp, &g_first, NULL, 0, 0, &res) == 0);
	CHECK(expect(&res, AUDIT_FIND_RECORD, (int64_t)g_n2 - 1));
}

static void
test_proof_docs(void)
{
	struct audit_proof_doc d, e;
	char *s = NULL;
	size_t len;

	memset(&d, 0, sizeof(d));
	d.type = 1;
	d.index = 3;
	d.tree_size = 9;
	d.proof.count = 2;
	memset(d.proof.hash[1], 0xab, AUDIT_HASH_LEN);
	memset(d.leaf, 0x11, AUDIT_HASH_LEN);
	CHECK(audit_proof_encode(&d, &s, &len) == 0);
	CHECK(audit_proof_parse(s, len, &e) == 0);
	CHECK(e.type == 1 && e.index == 3 && e.tree_size == 9 &&
	    e.proof.count == 2 && memcmp(e.leaf, d.leaf, 32) == 0 &&
	    memcmp(e.proof.hash[1], d.proof.hash[1], 32) == 0);
	free(s);
	d.type = 2;
	d.old_size = 4;
	d.new_size = 9;
	CHECK(audit_proof_encode(&d, &s, &len) == 0);
	CHECK(audit_proof_parse(s, len, &e) == 0);
	CHECK(e.type == 2 && e.old_size == 4 && e.new_size == 9);
	free(s);
	CHECK(audit_proof_parse("{\"type\":\"inclusion\"}", 20, &e) != 0);
	CHECK(audit_proof_parse("{\"type\":\"consistency\",\"old_size\":5,"
	                        "\"new_size\":4,\"hashes\":[]}",
	          58, &e) != 0);
}

int
main(void)
{
	int r;

	if (sodium_init() < 0)
		return 1;
	log_init("test_verify", 0);
	if (setup() != 0) {
		fprintf(stderr, "test_verify: fixture setup failed\n");
		return 1;
	}
	UNIT_RUN(test_clean_bundles);
	UNIT_RUN(test_modified_record_field);
	UNIT_RUN(test_modified_record_field_fast);
	UNIT_RUN(test_modified_blob);
	UNIT_RUN(test_deleted_record);
	UNIT_RUN(test_inserted_record);
	UNIT_RUN(test_reordered_records);
	UNIT_RUN(test_duplicated_seq);
	UNIT_RUN(test_truncated_tail_vs_held_checkpoint);
	UNIT_RUN(test_rollback_vs_pinned_checkpoint);
	UNIT_RUN(test_fork);
	UNIT_RUN(test_fork_failed_consistency);
	UNIT_RUN(test_checkpoint_unknown_key);
	UNIT_RUN(test_signature_bit_flip);
	UNIT_RUN(test_stripped_signature);
	UNIT_RUN(test_resigned_unannounced_key);
	UNIT_RUN(test_checkpoint_root_mismatch);
	UNIT_RUN(test_unsealed_tail);
	UNIT_RUN(test_save_trusted_cycle);
	UNIT_RUN(test_malformed_bundles);
	UNIT_RUN(test_proof_docs);
	r = UNIT_DONE();
	free(g_t1);
	free(g_t2);
	free(g_tf);
	free(g_b);
	free(g_rec);
	free(g_sig);
	{
		char top[PATH_MAX];
		char *slash;

		petri_strlcpy(top, g_dir, sizeof(top));
		if ((slash = strrchr(top, '/')) != NULL)
			*slash = '\0';
		fx_rmtree(top);
	}
	return r;
}
