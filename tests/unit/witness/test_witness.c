/*
 * test_witness.c: cosignatures (audit/cosig.c) and the witness state
 * machine (witness/witness.c): the tlog-witness answers for the happy
 * path, a wrong old size, a fork, a bad proof, an unknown log, a foreign
 * signature, a rollback, and state kept across a restart.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "checkpoint.h"
#include "cosig.h"
#include "merkle.h"
#include "unit.h"
#include "util.h"
#include "witness.h"

#define ORIGIN "test.petri/log"
#define WNAME "witness.test/w1"
#define NLEAVES 40

static struct audit_key log_k, wit_k;
static unsigned char log_sk[AUDIT_SECKEY_LEN], wit_sk[AUDIT_SECKEY_LEN];
static unsigned char leaves[NLEAVES][AUDIT_HASH_LEN];
static char state_dir[64];

static void
keys_init(void)
{
	unsigned char pk[AUDIT_PUBKEY_LEN], seed[AUDIT_SEED_LEN];
	size_t i;

	memset(seed, 0x11, sizeof(seed));
	crypto_sign_seed_keypair(pk, log_sk, seed);
	if (audit_key_init(&log_k, ORIGIN, pk) != 0)
		abort();
	memset(seed, 0x22, sizeof(seed));
	crypto_sign_seed_keypair(pk, wit_sk, seed);
	if (audit_cosigner_key_init(&wit_k, WNAME, pk) != 0)
		abort();
	for (i = 0; i < NLEAVES; i++) {
		unsigned char b = (unsigned char)i;

		audit_merkle_leaf_hash(&b, 1, leaves[i]);
	}
}

/* A checkpoint of the first size leaves (fork: one leaf changed). */
static size_t
cp_make(uint64_t size, int fork, char *out, size_t outlen)
{
	unsigned char l[NLEAVES][AUDIT_HASH_LEN];
	struct audit_checkpoint cp;
	size_t len = 0;

	memcpy(l, leaves, sizeof(l));
	if (fork)
		l[0][0] ^= 1;
	memset(&cp, 0, sizeof(cp));
	petri_strlcpy(cp.origin, ORIGIN, sizeof(cp.origin));
	cp.size = size;
	audit_merkle_array_root(
	    (const unsigned char(*)[AUDIT_HASH_LEN])l, size, cp.root);
	if (audit_checkpoint_sign(&cp, &log_k, log_sk, out, outlen, &len) != 0)
		abort();
	return len;
}

/* An add-checkpoint body from old to size, with the right proof. */
static char *
req_make(uint64_t old, uint64_t size, int fork, size_t *lenp)
{
	struct audit_merkle_array arr = {
	    (const unsigned char(*)[AUDIT_HASH_LEN])leaves, NLEAVES};
	struct audit_merkle_proof proof;
	char note[AUDIT_NOTE_MAX], *body = NULL;
	size_t nlen = cp_make(size, fork, note, sizeof(note));

	memset(&proof, 0, sizeof(proof));
	if (old > 0 && old <= size &&
	    audit_merkle_consistency_prove(
	        audit_merkle_array_node, &arr, old, size, &proof) != 0)
		abort();
	if (audit_witness_req_encode(old, &proof, note, nlen, &body, lenp) != 0)
		abort();
	return body;
}

static void
test_cosigner_keys(void)
{
	char v[AUDIT_VKEY_MAX + 1], s[AUDIT_SKEY_MAX];
	unsigned char seed[AUDIT_SEED_LEN], sk[AUDIT_SECKEY_LEN];
	struct audit_key k;

	CHECK_EQ(audit_cosigner_vkey_format(&wit_k, v, sizeof(v)), 0);
	CHECK_EQ(audit_cosigner_vkey_parse(v, strlen(v), &k), 0);
	CHECK(memcmp(k.id, wit_k.id, AUDIT_KEY_ID_LEN) == 0);
	/* a cosigner key is not a log key, and the other way round */
	CHECK(audit_vkey_parse(v, strlen(v), &k) != 0);
	CHECK_EQ(audit_vkey_format(&log_k, v, sizeof(v)), 0);
	CHECK(audit_cosigner_vkey_parse(v, strlen(v), &k) != 0);
	memset(seed, 0x22, sizeof(seed));
	CHECK_EQ(audit_cosigner_skey_format(WNAME, seed, s, sizeof(s)), 0);
	CHECK_EQ(audit_cosigner_skey_parse(s, strlen(s), sk, &k), 0);
	CHECK(memcmp(k.id, wit_k.id, AUDIT_KEY_ID_LEN) == 0);
	CHECK(memcmp(sk, wit_sk, sizeof(sk)) == 0);
	CHECK(audit_skey_parse(s, strlen(s), sk, &k) != 0);
}

static void
test_cosig_roundtrip(void)
{
	char note[AUDIT_NOTE_MAX], line[AUDIT_COSIG_LINE_MAX];
	struct audit_cosig c;
	struct audit_key keys[3], other;
	unsigned char pk[AUDIT_PUBKEY_LEN], sk[AUDIT_SECKEY_LEN];
	size_t n = cp_make(7, 0, note, sizeof(note)), tlen, ll;

	CHECK_EQ(audit_note_open(note, n, NULL, &tlen), 0);
	CHECK_EQ(audit_cosig_verify(note, n, &wit_k, NULL), PETRI_ERR_NOTFOUND);
	CHECK_EQ(audit_cosig_sign(note, tlen, &wit_k, wit_sk, 1700000000, line,
	             sizeof(line), &ll),
	    0);
	memcpy(note + n, line, ll);
	n += ll;
	CHECK_EQ(audit_cosig_verify(note, n, &wit_k, &c), 0);
	CHECK_EQ(c.timestamp, 1700000000);
	CHECK(c.len == ll && memcmp(note + c.off, line, ll) == 0);
	/* the log's own signature still verifies with the line appended */
	CHECK_EQ(audit_note_open(note, n, &log_k, NULL), 0);
	/* counts: duplicates once, unknown keys nothing */
	crypto_sign_keypair(pk, sk);
	CHECK_EQ(audit_cosigner_key_init(&other, "other.test/w", pk), 0);
	keys[0] = wit_k;
	keys[1] = wit_k;
	keys[2] = other;
	CHECK_EQ(audit_cosig_count(note, n, keys, 3), 1);
	/* a changed timestamp byte: the signature no longer verifies */
	{
		char bad[AUDIT_NOTE_MAX];
		unsigned char blob[AUDIT_COSIG_BLOB_LEN];
		char b64[AUDIT_B64_LEN(AUDIT_COSIG_BLOB_LEN)];
		const char *p = line + 4 + strlen(WNAME) + 1;

		CHECK_EQ(
		    audit_b64_decode(p, strlen(p) - 1, blob, sizeof(blob)), 0);
		blob[AUDIT_KEY_ID_LEN + 7] ^= 1;
		CHECK_EQ(
		    audit_b64_encode(blob, sizeof(blob), b64, sizeof(b64)), 0);
		memcpy(bad, note, n);
		memcpy(bad + c.off + 4 + strlen(WNAME) + 1, b64, strlen(b64));
		CHECK_EQ(
		    audit_cosig_verify(bad, n, &wit_k, NULL), PETRI_ERR_CRYPTO);
		CHECK_EQ(audit_cosig_count(bad, n, keys, 3), 0);
	}
	/* a cosignature of another checkpoint does not carry over */
	{
		char other_note[AUDIT_NOTE_MAX];
		size_t on = cp_make(8, 0, other_note, sizeof(other_note));

		memcpy(other_note + on, line, ll);
		CHECK_EQ(audit_cosig_verify(other_note, on + ll, &wit_k, NULL),
		    PETRI_ERR_CRYPTO);
	}
}

static void
test_req_parse(void)
{
	struct audit_witness_req req;
	size_t len;
	char *body = req_make(5, 13, 0, &len);
	uint64_t sz;

	CHECK_EQ(audit_witness_req_parse(body, len, &req), 0);
	CHECK_EQ(req.old_size, 5);
	CHECK(req.proof.count > 0);
	CHECK(req.note > body && req.note + req.note_len == body + len);
	free(body);
	CHECK(audit_witness_req_parse("old 01\n\nx", 9, &req) != 0);
	CHECK(audit_witness_req_parse("old 1\n", 6, &req) != 0);
	CHECK(audit_witness_req_parse("old 1\nAAAA\n\nx", 13, &req) != 0);
	CHECK(audit_witness_req_parse("new 1\n\nx", 8, &req) != 0);
	CHECK(audit_witness_req_parse("old 0\n\n", 7, &req) != 0);
	CHECK_EQ(audit_witness_size_parse("42\n", 3, &sz), 0);
	CHECK_EQ(sz, 42);
	CHECK(audit_witness_size_parse("042\n", 4, &sz) != 0);
	CHECK(audit_witness_size_parse("42", 2, &sz) != 0);
}

static struct witness *
witness_open(void)
{
	struct witness *w = NULL;
	char v[AUDIT_VKEY_MAX + 1];

	if (witness_new(&wit_k, wit_sk, state_dir, &w) != 0 ||
	    audit_vkey_format(&log_k, v, sizeof(v)) != 0 ||
	    witness_log_add(w, v, strlen(v)) != 0)
		abort();
	return w;
}

/* Sends old -> size; returns the status, checks a 200's cosignature. */
static int
submit(struct witness *w, uint64_t old, uint64_t size, int fork,
    struct witness_answer *a)
{
	size_t len;
	char *body = req_make(old, size, fork, &len);
	struct audit_witness_req req;
	char note[AUDIT_NOTE_MAX];

	witness_add_checkpoint(w, body, len, 1700000100, a);
	if (a->status == 200) {
		CHECK_EQ(audit_witness_req_parse(body, len, &req), 0);
		memcpy(note, req.note, req.note_len);
		memcpy(note + req.note_len, a->body, a->len);
		CHECK_EQ(audit_cosig_verify(
		             note, req.note_len + a->len, &wit_k, NULL),
		    0);
	}
	free(body);
	return a->status;
}

static int
evidence_count(void)
{
	char path[128];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/evidence", state_dir);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void
test_witness_protocol(void)
{
	struct witness_answer a;
	struct witness *w = witness_open();
	uint64_t size = 0;

	/* first contact: old 0, then growth with proofs */
	CHECK_EQ(submit(w, 0, 5, 0, &a), 200);
	CHECK_EQ(submit(w, 5, 13, 0, &a), 200);
	CHECK_EQ(submit(w, 13, 13, 0, &a), 200);
	/* a log that lost track: 409 with our size */
	CHECK_EQ(submit(w, 5, 20, 0, &a), 409);
	CHECK_STR(a.type, "text/x.tlog.size");
	CHECK(a.len == 3 && memcmp(a.body, "13\n", 3) == 0);
	CHECK_EQ(submit(w, 0, 20, 0, &a), 409);
	/* a rolled-back log: the checkpoint is older than ours */
	CHECK_EQ(submit(w, 13, 9, 0, &a), 400);
	CHECK_EQ(submit(w, 9, 9, 0, &a), 409);
	/* a fork: same size, another root; then a proof from ours fails */
	CHECK_EQ(evidence_count(), 0);
	CHECK_EQ(submit(w, 13, 13, 1, &a), 409);
	CHECK_EQ(submit(w, 13, 30, 1, &a), 422);
	CHECK_EQ(evidence_count(), 2);
	CHECK_EQ(witness_log_latest(w, ORIGIN, &size, NULL), 0);
	CHECK_EQ(size, 13);
	CHECK_EQ(submit(w, 13, 30, 0, &a), 200);
	witness_free(w);
	/* the state survives a restart */
	w = witness_open();
	CHECK_EQ(witness_log_latest(w, ORIGIN, &size, NULL), 0);
	CHECK_EQ(size, 30);
	CHECK_EQ(submit(w, 13, 40, 0, &a), 409);
	CHECK_EQ(submit(w, 30, 40, 0, &a), 200);
	witness_free(w);
}

static void
test_witness_refusals(void)
{
	struct witness_answer a;
	struct witness *w = witness_open();
	unsigned char pk[AUDIT_PUBKEY_LEN], sk[AUDIT_SECKEY_LEN];
	struct audit_key foreign;
	struct audit_checkpoint cp;
	char note[AUDIT_NOTE_MAX], body[AUDIT_NOTE_MAX + 16];
	size_t n;
	int bn;

	witness_add_checkpoint(w, "garbage", 7, 1, &a);
	CHECK_EQ(a.status, 400);
	/* signed by another key under the log's name */
	crypto_sign_keypair(pk, sk);
	CHECK_EQ(audit_key_init(&foreign, ORIGIN, pk), 0);
	memset(&cp, 0, sizeof(cp));
	petri_strlcpy(cp.origin, ORIGIN, sizeof(cp.origin));
	cp.size = 3;
	CHECK_EQ(
	    audit_checkpoint_sign(&cp, &foreign, sk, note, sizeof(note), &n),
	    0);
	bn = snprintf(body, sizeof(body), "old 0\n\n%s", note);
	witness_add_checkpoint(w, body, (size_t)bn, 1, &a);
	CHECK_EQ(a.status, 403);
	/* an origin the witness does not follow */
	CHECK_EQ(audit_key_init(&foreign, "other.test/log", pk), 0);
	petri_strlcpy(cp.origin, "other.test/log", sizeof(cp.origin));
	CHECK_EQ(
	    audit_checkpoint_sign(&cp, &foreign, sk, note, sizeof(note), &n),
	    0);
	bn = snprintf(body, sizeof(body), "old 0\n\n%s", note);
	witness_add_checkpoint(w, body, (size_t)bn, 1, &a);
	CHECK_EQ(a.status, 404);
	witness_free(w);
}

/* A rotated log key given as one more --log: its checkpoints count. */
static void
test_witness_rotated_key(void)
{
	struct witness_answer a;
	struct witness *w = NULL;
	struct audit_key k2, k3;
	struct audit_checkpoint cp;
	unsigned char pk[AUDIT_PUBKEY_LEN], sk2[AUDIT_SECKEY_LEN];
	unsigned char sk3[AUDIT_SECKEY_LEN];
	char dir[96], v[AUDIT_VKEY_MAX + 1], note[AUDIT_NOTE_MAX];
	char body[AUDIT_NOTE_MAX + 16];
	size_t n;
	int bn;

	snprintf(dir, sizeof(dir), "%s/rot", state_dir);
	crypto_sign_keypair(pk, sk2);
	CHECK_EQ(audit_key_init(&k2, ORIGIN, pk), 0);
	crypto_sign_keypair(pk, sk3);
	CHECK_EQ(audit_key_init(&k3, ORIGIN, pk), 0);
	CHECK_EQ(witness_new(&wit_k, wit_sk, dir, &w), 0);
	if (w == NULL)
		return;
	CHECK_EQ(audit_vkey_format(&log_k, v, sizeof(v)), 0);
	CHECK_EQ(witness_log_add(w, v, strlen(v)), 0);
	CHECK_EQ(audit_vkey_format(&k2, v, sizeof(v)), 0);
	CHECK_EQ(witness_log_add(w, v, strlen(v)), 0);
	memset(&cp, 0, sizeof(cp));
	petri_strlcpy(cp.origin, ORIGIN, sizeof(cp.origin));
	cp.size = 1;
	audit_merkle_array_root(
	    (const unsigned char(*)[AUDIT_HASH_LEN])leaves, 1, cp.root);
	CHECK_EQ(
	    audit_checkpoint_sign(&cp, &k3, sk3, note, sizeof(note), &n), 0);
	bn = snprintf(body, sizeof(body), "old 0\n\n%s", note);
	witness_add_checkpoint(w, body, (size_t)bn, 1, &a);
	CHECK_EQ(a.status, 403);
	CHECK_EQ(
	    audit_checkpoint_sign(&cp, &k2, sk2, note, sizeof(note), &n), 0);
	bn = snprintf(body, sizeof(body), "old 0\n\n%s", note);
	witness_add_checkpoint(w, body, (size_t)bn, 1, &a);
	if (a.status != 200)
		fprintf(
		    stderr, "rotated: %d %.*s", a.status, (int)a.len, a.body);
	CHECK_EQ(a.status, 200);
	witness_free(w);
}

/* Removes the test's state directory (two levels, plain files). */
static void
rm_tree(const char *dir)
{
	char p[512];
	struct dirent *e;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%.200s", dir, e->d_name);
		if (unlink(p) != 0)
			rm_tree(p);
	}
	closedir(d);
	rmdir(dir);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	keys_init();
	snprintf(
	    state_dir, sizeof(state_dir), "/tmp/petri-wtest-%d", (int)getpid());
	UNIT_RUN(test_cosigner_keys);
	UNIT_RUN(test_cosig_roundtrip);
	UNIT_RUN(test_req_parse);
	UNIT_RUN(test_witness_protocol);
	UNIT_RUN(test_witness_refusals);
	UNIT_RUN(test_witness_rotated_key);
	rm_tree(state_dir);
	return UNIT_DONE();
}
