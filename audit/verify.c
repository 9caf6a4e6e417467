/*
 * verify.c: offline bundle verification (petri-verify's engine).
 *
 * Records are taken in chunks.  Per chunk: (A) in parallel, parse each
 * record and hash it; (B) in order, check seq, prev, signature lines, key
 * rotations, and fold the leaves into a Merkle frontier, checking every
 * checkpoint whose size is reached; (C) in parallel, verify the per-record
 * signatures with the key B assigned.  The earliest finding by seq wins.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "bundle.h"
#include "cosig.h"
#include "record.h"
#include "record_scan.h"
#include "tar.h"
#include "tsa.h"
#include "verify.h"

#define VERIFY_CHUNK 8192
#define VERIFY_MAX_THREADS 16
#define VERIFY_SAMPLE 64 /* --fast: 1 in this many sealed signatures */

/* A blob reference: hash, size (-1 unknown), first referencing seq. */
struct vref {
	unsigned char sha[AUDIT_HASH_LEN];
	int64_t size;
	uint64_t seq;
};

struct vrefs {
	struct vref *v;
	size_t n, cap;
	int nomem;
};

struct vrec {
	const char *bytes;
	size_t len;
	uint64_t seq;
	unsigned char prev[AUDIT_HASH_LEN];
	unsigned char leaf[AUDIT_HASH_LEN];
	enum audit_finding_code err;
	const char *why;
	int rotation;
	struct audit_key newkey;
	const struct audit_key *key;
	unsigned char sig[AUDIT_SIG_LEN];
	int check;
	int bad;
};

struct vcp {
	uint64_t size;
	const char *text;
	size_t len;
};

struct vkey {
	struct audit_key key;
	uint64_t first_seq;
};

struct vctx {
	const struct audit_verify_opts *o;
	struct audit_verify_result *res;
	struct audit_tar tar;
	struct audit_bundle_manifest m;
	struct vcp *cp;
	size_t ncp, cpi;
	struct audit_checkpoint trusted;
	int have_trusted;
	struct vkey *keys;
	size_t nkeys;
	struct audit_bundle_rotation *rot;
	size_t nrot;
	struct audit_merkle_frontier f;
	unsigned char last_leaf[AUDIT_HASH_LEN];
	int have_last;
	struct vrefs refs;
	struct vrefs deleted;
	const char *rec_p, *rec_end; /* records.jsonl cursor */
	const char *sig_p, *sig_end; /* records.sig cursor */
	struct audit_record_scratch scratch[VERIFY_MAX_THREADS];
	uint64_t rng; /* --fast sampling */
	const char *newest; /* newest verified checkpoint */
	size_t newest_len;
	int threads;
	int failed;
	int nomem;
};

const char *
audit_finding_name(enum audit_finding_code code)
{
	static const char *const names[] = {
	    "none",
	    "bundle",
	    "partial",
	    "key",
	    "origin",
	    "record",
	    "modified",
	    "seq-gap",
	    "seq-order",
	    "prev",
	    "signature-missing",
	    "signature",
	    "checkpoint",
	    "checkpoint-signature",
	    "root",
	    "blob",
	    "blob-missing",
	    "rollback",
	    "fork",
	    "trusted",
	    "witness",
	    "timestamp",
	};

	if ((size_t)code >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[code];
}

static void vfail(struct vctx *, enum audit_finding_code, int64_t, const char *,
    ...) __attribute__((format(printf, 4, 5)));

/* Records the first finding; later ones are ignored. */
static void
vfail(struct vctx *v, enum audit_finding_code code, int64_t seq,
    const char *fmt, ...)
{
	va_list ap;

	if (v->failed)
		return;
	v->failed = 1;
	v->res->first.code = code;
	v->res->first.seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->res->first.msg, sizeof(v->res->first.msg), fmt, ap);
	va_end(ap);
}

static int
vrefs_add(struct vrefs *r, const unsigned char sha[AUDIT_HASH_LEN],
    int64_t size, uint64_t seq)
{
	struct vref *n;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;

		if ((n = reallocarray(r->v, cap, sizeof(*n))) == NULL) {
			r->nomem = 1;
			return PETRI_ERR_NOMEM;
		}
		r->v = n;
		r->cap = cap;
	}
	memcpy(r->v[r->n].sha, sha, AUDIT_HASH_LEN);
	r->v[r->n].size = size;
	r->v[r->n].seq = seq;
	r->n++;
	return 0;
}

static int
vrefs_merge(struct vrefs *dst, struct vrefs *src)
{
	size_t i;

	for (i = 0; i < src->n; i++)
		if (vrefs_add(
		        dst, src->v[i].sha, src->v[i].size, src->v[i].seq) != 0)
			return PETRI_ERR_NOMEM;
	src->n = 0;
	return src->nomem ? PETRI_ERR_NOMEM : 0;
}

static int
vref_cmp(const void *a, const void *b)
{
	const struct vref *x = a, *y = b;
	int c = memcmp(x->sha, y->sha, AUDIT_HASH_LEN);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Whether sorted refs hold the hash sha (whatever the seq). */
static int
vrefs_has(const struct vrefs *r, const unsigned char sha[AUDIT_HASH_LEN])
{
	size_t a = 0, b = r->n;

	while (a < b) {
		size_t mid = a + (b - a) / 2;
		int c = memcmp(r->v[mid].sha, sha, AUDIT_HASH_LEN);

		if (c == 0)
			return 1;
		if (c < 0)
			a = mid + 1;
		else
			b = mid;
	}
	return 0;
}

/* The key in force now (after every rotation seen so far). */
static const struct audit_key *
vkey_current(const struct vctx *v)
{
	return &v->keys[v->nkeys - 1].key;
}

static int
vkey_push(struct vctx *v, const struct audit_key *k, uint64_t first_seq)
{
	struct vkey *n;

	if ((n = reallocarray(v->keys, v->nkeys + 1, sizeof(*n))) == NULL)
		return PETRI_ERR_NOMEM;
	v->keys = n;
	v->keys[v->nkeys].key = *k;
	v->keys[v->nkeys].first_seq = first_seq;
	v->nkeys++;
	return 0;
}

/* ---- phase A: parse and hash (parallel) ---- */

struct vjob {
	struct vctx *v;
	struct audit_record_scratch *scratch;
	struct vrec *r;
	size_t lo, hi;
	int phase;
	struct vrefs refs;
	struct vrefs deleted;
};

struct vref_cb {
	struct vrefs *refs;
	uint64_t seq;
	size_t first; /* refs->n before this record */
};

static int
vref_cb(void *arg, const char *hex, int64_t size)
{
	struct vref_cb *c = arg;
	unsigned char sha[AUDIT_HASH_LEN];

	if (petri_unhex(hex, sha, sizeof(sha)) != 0)
		return PETRI_ERR_INVAL;
	return vrefs_add(c->refs, sha, size, c->seq);
}

/* Sets the seq of the references added since index first. */
static void
vrefs_fix_seq(struct vrefs *r, size_t first, uint64_t seq)
{
	size_t i;

	for (i = first; i < r->n; i++)
		r->v[i].seq = seq;
}

static void
vparse_one(struct vjob *j, struct vrec *r)
{
	struct audit_record_scan rec;
	struct vref_cb cb;
	const char *why = NULL;
	int rc;

	r->err = AUDIT_FIND_NONE;
	cb.refs = &j->refs;
	cb.seq = 0;
	cb.first = j->refs.n;
	/* references are filed under their seq once it is known */
	rc = audit_record_scan(
	    r->bytes, r->len, &rec, j->scratch, vref_cb, &cb, &why);
	if (rc == PETRI_ERR_NOMEM || j->refs.nomem) {
		j->refs.nomem = 1;
		r->err = AUDIT_FIND_RECORD;
		r->why = "out of memory";
		return;
	}
	if (rc != 0) {
		j->refs.n = cb.first; /* what a bad record referenced */
		r->err = AUDIT_FIND_RECORD;
		r->why = why != NULL ? why : "malformed record";
		return;
	}
	vrefs_fix_seq(&j->refs, cb.first, rec.seq);
	r->seq = rec.seq;
	memcpy(r->prev, rec.prev, AUDIT_HASH_LEN);
	audit_record_leaf(r->bytes, r->len, r->leaf);
	if (strcmp(rec.origin, j->v->m.origin) != 0) {
		r->err = AUDIT_FIND_ORIGIN;
		r->why = "record from another log (origin differs)";
		return;
	}
	r->rotation = strcmp(rec.type, AUDIT_TYPE_KEY_ROTATED) == 0;
	if (r->rotation &&
	    (!rec.has_new_key ||
	        audit_vkey_parse(
	            rec.new_key, strlen(rec.new_key), &r->newkey) != 0 ||
	        strcmp(r->newkey.name, rec.origin) != 0)) {
		r->err = AUDIT_FIND_KEY;
		r->why = "key rotation names no valid new key";
		return;
	}
	if (strcmp(rec.type, AUDIT_TYPE_BLOB_DELETED) == 0 && rec.has_sha256)
		(void)vrefs_add(&j->deleted, rec.sha256, -1, rec.seq);
}

static void *
vworker(void *arg)
{
	struct vjob *j = arg;
	size_t i;

	for (i = j->lo; i < j->hi; i++) {
		struct vrec *r = &j->r[i];

		if (j->phase == 0)
			vparse_one(j, r);
		else if (r->check)
			r->bad = audit_record_sig_verify(
			             r->leaf, r->sig, r->key->pub) != 0;
	}
	return NULL;
}

/* Runs phase (0 parse, 1 signatures) over r[0..n) on v->threads threads. */
static int
vparallel(struct vctx *v, struct vrec *r, size_t n, int phase)
{
	struct vjob job[VERIFY_MAX_THREADS];
	pthread_t tid[VERIFY_MAX_THREADS];
	int started[VERIFY_MAX_THREADS];
	size_t t, nt = (size_t)v->threads, per;
	int rc = 0;

	if (nt > n / 64 + 1)
		nt = n / 64 + 1;
	per = (n + nt - 1) / nt;
	for (t = 0; t < nt; t++) {
		memset(&job[t], 0, sizeof(job[t]));
		job[t].v = v;
		job[t].scratch = &v->scratch[t];
		job[t].r = r;
		job[t].lo = t * per < n ? t * per : n;
		job[t].hi = (t + 1) * per < n ? (t + 1) * per : n;
		job[t].phase = phase;
		started[t] = 0;
	}
	for (t = 1; t < nt; t++)
		started[t] =
		    pthread_create(&tid[t], NULL, vworker, &job[t]) == 0;
	vworker(&job[0]);
	for (t = 1; t < nt; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			vworker(&job[t]);
	}
	for (t = 0; t < nt; t++) {
		if (vrefs_merge(&v->refs, &job[t].refs) != 0 ||
		    vrefs_merge(&v->deleted, &job[t].deleted) != 0)
			rc = PETRI_ERR_NOMEM;
		free(job[t].refs.v);
		free(job[t].deleted.v);
	}
	return rc;
}

/* ---- checkpoints ---- */

/* Checks checkpoint c against the frontier and the key in force. */
static int
vcheck_cp(struct vctx *v, const struct vcp *c)
{
	struct audit_checkpoint cp;
	unsigned char root[AUDIT_HASH_LEN];
	char id[AUDIT_KEY_ID_HEX];
	const struct audit_key *k = vkey_current(v);
	int r;

	audit_key_id_hex(k, id);
	r = audit_checkpoint_verify(c->text, c->len, k, &cp);
	if (r == PETRI_ERR_NOTFOUND) {
		vfail(v, AUDIT_FIND_CHECKPOINT_SIG, -1,
		    "checkpoint of size "
		    "%llu is not signed by the log key %s+%s (only by unknown "
		    "keys)",
		    (unsigned long long)c->size, k->name, id);
		return -1;
	}
	if (r == PETRI_ERR_CRYPTO) {
		vfail(v, AUDIT_FIND_CHECKPOINT_SIG, -1,
		    "checkpoint of size "
		    "%llu: bad signature for the log key %s+%s",
		    (unsigned long long)c->size, k->name, id);
		return -1;
	}
	if (r != 0) {
		vfail(v, AUDIT_FIND_CHECKPOINT, -1,
		    "checkpoint of size %llu "
		    "is malformed",
		    (unsigned long long)c->size);
		return -1;
	}
	audit_merkle_frontier_root(&v->f, root);
	if (sodium_memcmp(root, cp.root, AUDIT_HASH_LEN) != 0) {
		vfail(v, AUDIT_FIND_ROOT,
		    c->size > 0 ? (int64_t)c->size - 1 : -1,
		    "checkpoint of size %llu: root does not match records "
		    "0..%lld",
		    (unsigned long long)c->size, (long long)c->size - 1);
		return -1;
	}
	v->res->checkpoints++;
	v->res->tree_size = c->size;
	memcpy(v->res->root, root, AUDIT_HASH_LEN);
	v->newest = c->text;
	v->newest_len = c->len;
	return 0;
}

/* Checks the trusted checkpoint at the frontier's size. */
static int
vcheck_trusted(struct vctx *v)
{
	unsigned char root[AUDIT_HASH_LEN];
	struct audit_checkpoint cp;
	int r;

	r = audit_checkpoint_verify(
	    v->o->trusted, v->o->trusted_len, vkey_current(v), &cp);
	if (r != 0) {
		vfail(v, AUDIT_FIND_TRUSTED, -1,
		    "trusted checkpoint (size "
		    "%llu) is not signed by the log key in force at that size",
		    (unsigned long long)v->trusted.size);
		return -1;
	}
	audit_merkle_frontier_root(&v->f, root);
	if (sodium_memcmp(root, v->trusted.root, AUDIT_HASH_LEN) != 0) {
		vfail(v, AUDIT_FIND_FORK,
		    v->trusted.size > 0 ? (int64_t)v->trusted.size - 1 : -1,
		    "fork: the bundle's "
		    "tree of size %llu differs from the trusted checkpoint",
		    (unsigned long long)v->trusted.size);
		return -1;
	}
	v->res->trusted_checked = 1;
	return 0;
}

/* Checks whatever falls due at the frontier's current size. */
static int
vcheck_size(struct vctx *v)
{
	while (v->cpi < v->ncp && v->cp[v->cpi].size == v->f.size)
		if (vcheck_cp(v, &v->cp[v->cpi++]) != 0)
			return -1;
	if (v->have_trusted && v->trusted.size == v->f.size &&
	    !v->res->trusted_checked)
		return vcheck_trusted(v);
	return 0;
}

/* ---- rotations shipped for records outside [from, to) ---- */

/* Verifies rotation records with seq in [lo, hi) against the root of v->f. */
static int
vrotations(struct vctx *v, uint64_t lo, uint64_t hi)
{
	unsigned char root[AUDIT_HASH_LEN], leaf[AUDIT_HASH_LEN];
	struct audit_record rec;
	struct audit_key nk;
	size_t i;
	json_t *k;

	audit_merkle_frontier_root(&v->f, root);
	for (i = 0; i < v->nrot; i++) {
		struct audit_bundle_rotation *rot = &v->rot[i];

		if (rot->seq < lo || rot->seq >= hi)
			continue;
		if (audit_record_parse(rot->bytes, rot->len, &rec, NULL) != 0) {
			vfail(v, AUDIT_FIND_RECORD, (int64_t)rot->seq,
			    "shipped key rotation record is malformed");
			return -1;
		}
		k = json_object_get(rec.json, "new_key");
		if (rec.seq != rot->seq ||
		    strcmp(rec.type, AUDIT_TYPE_KEY_ROTATED) != 0 ||
		    strcmp(rec.origin, v->m.origin) != 0 ||
		    !json_is_string(k) ||
		    audit_vkey_parse(json_string_value(k),
		        json_string_length(k), &nk) != 0 ||
		    strcmp(nk.name, v->m.origin) != 0) {
			audit_record_clear(&rec);
			vfail(v, AUDIT_FIND_KEY, (int64_t)rot->seq,
			    "shipped record is not a valid key rotation");
			return -1;
		}
		audit_record_clear(&rec);
		audit_record_leaf(rot->bytes, rot->len, leaf);
		if (audit_merkle_inclusion_verify(
		        leaf, rot->seq, v->f.size, &rot->proof, root) != 0) {
			vfail(v, AUDIT_FIND_ROOT, (int64_t)rot->seq,
			    "key "
			    "rotation at seq %llu is not in the tree of size "
			    "%llu",
			    (unsigned long long)rot->seq,
			    (unsigned long long)v->f.size);
			return -1;
		}
		if (audit_record_sig_verify(
		        leaf, rot->sig, vkey_current(v)->pub) != 0) {
			vfail(v, AUDIT_FIND_SIG, (int64_t)rot->seq,
			    "key "
			    "rotation at seq %llu is not signed by the key in "
			    "force",
			    (unsigned long long)rot->seq);
			return -1;
		}
		if (vkey_push(v, &nk, rot->seq + 1) != 0) {
			v->nomem = 1;
			return -1;
		}
		v->res->key_rotations++;
	}
	return 0;
}

/* ---- records ---- */

/* Next line of [*p, end): its start and length; 0 at the end, -1 if cut. */
static int
vline(const char **p, const char *end, const char **line, size_t *len)
{
	const char *nl;

	if (*p >= end)
		return 0;
	if ((nl = memchr(*p, '\n', (size_t)(end - *p))) == NULL)
		return -1;
	*line = *p;
	*len = (size_t)(nl - *p);
	*p = nl + 1;
	return 1;
}

/* --fast: true for a random 1 in VERIFY_SAMPLE records (xorshift64*). */
static int
vsample(struct vctx *v)
{
	v->rng ^= v->rng >> 12;
	v->rng ^= v->rng << 25;
	v->rng ^= v->rng >> 27;
	return (v->rng * 2685821657736338717ULL) >> 58 == 0;
}

/*
 * Phase B over a parsed chunk.  Returns the number of records that passed;
 * on a finding fills *f (not yet reported, so that an earlier bad
 * signature from phase C can win).
 */
static size_t
vsequence(struct vctx *v, struct vrec *r, size_t n, uint64_t first_seq,
    struct audit_finding *f)
{
	const char *line;
	size_t i, len;
	uint64_t sealed = v->m.tree_size;
	int s;

	f->code = AUDIT_FIND_NONE;
	for (i = 0; i < n; i++) {
		uint64_t want = first_seq + i, sseq;
		struct vrec *x = &r[i];

		f->seq = (int64_t)want;
		if (x->err != AUDIT_FIND_NONE) {
			f->code = x->err;
			snprintf(f->msg, sizeof(f->msg), "seq %llu: %s",
			    (unsigned long long)want, x->why);
			return i;
		}
		if (x->seq != want) {
			const char *why = "duplicated or inserted record";
			size_t j;

			f->code = AUDIT_FIND_SEQ_ORDER;
			if (x->seq > want) {
				f->code = AUDIT_FIND_SEQ_GAP;
				why = "record missing: deleted";
				for (j = i + 1; j < n; j++)
					if (r[j].err == AUDIT_FIND_NONE &&
					    r[j].seq == want) {
						f->code = AUDIT_FIND_SEQ_ORDER;
						why = "records reordered";
						break;
					}
			}
			snprintf(f->msg, sizeof(f->msg),
			    "expected seq %llu, "
			    "found %llu (%s)",
			    (unsigned long long)want,
			    (unsigned long long)x->seq, why);
			return i;
		}
		if (v->have_last &&
		    sodium_memcmp(x->prev, v->last_leaf, AUDIT_HASH_LEN) != 0) {
			f->code = AUDIT_FIND_PREV;
			snprintf(f->msg, sizeof(f->msg),
			    "seq %llu: prev does "
			    "not match the leaf hash of seq %llu (that record "
			    "was altered, or the chain was spliced)",
			    (unsigned long long)want,
			    (unsigned long long)want - 1);
			return i;
		}
		s = vline(&v->sig_p, v->sig_end, &line, &len);
		/* no line, or a line whose signature was emptied */
		if (s > 0) {
			const char *sp = memchr(line, ' ', len);

			if (sp == NULL || sp + 1 == line + len)
				len = 0;
		}
		if (s <= 0 || len == 0) {
			f->code = AUDIT_FIND_SIG_MISSING;
			snprintf(f->msg, sizeof(f->msg),
			    "seq %llu: signature "
			    "missing",
			    (unsigned long long)want);
			return i;
		}
		if (audit_bundle_sig_parse(line, len, &sseq, x->sig) != 0) {
			f->code = AUDIT_FIND_SIG;
			snprintf(f->msg, sizeof(f->msg),
			    "seq %llu: signature "
			    "line malformed",
			    (unsigned long long)want);
			return i;
		}
		if (sseq != want) {
			f->code = AUDIT_FIND_SIG_MISSING;
			snprintf(f->msg, sizeof(f->msg),
			    "seq %llu: signature "
			    "missing (next signature is for seq %llu)",
			    (unsigned long long)want, (unsigned long long)sseq);
			return i;
		}
		x->key = vkey_current(v);
		x->check =
		    !v->o->fast || want >= sealed || x->rotation || vsample(v);
		if (x->check)
			v->res->sigs_checked++;
		else
			v->res->sigs_skipped++;
		if (x->rotation) {
			if (vkey_push(v, &x->newkey, want + 1) != 0) {
				v->nomem = 1;
				return i;
			}
			v->res->key_rotations++;
		}
		if (audit_merkle_frontier_push(&v->f, 0, x->leaf) != 0) {
			f->code = AUDIT_FIND_BUNDLE;
			snprintf(f->msg, sizeof(f->msg), "tree too large");
			return i;
		}
		memcpy(v->last_leaf, x->leaf, AUDIT_HASH_LEN);
		v->have_last = 1;
		if (vcheck_size(v) != 0) {
			/* reported directly: after every earlier record */
			f->code = AUDIT_FIND_NONE;
			return i + 1;
		}
	}
	return n;
}

/* Reports a bad signature at r[i], naming the likely tampering. */
static void
vexplain_sig(
    struct vctx *v, const struct vrec *r, size_t n, size_t i, uint64_t seq)
{
	const struct vrec *next =
	    i + 1 < n && r[i + 1].err == AUDIT_FIND_NONE ? &r[i + 1] : NULL;

	if (next != NULL && next->seq == r[i].seq)
		vfail(v, AUDIT_FIND_SEQ_ORDER, (int64_t)seq,
		    "seq %llu: "
		    "inserted record: two records claim this seq and this one "
		    "is not signed by the log",
		    (unsigned long long)seq);
	else if (next != NULL && next->seq == r[i].seq + 1 &&
	    sodium_memcmp(next->prev, r[i].leaf, AUDIT_HASH_LEN) != 0)
		vfail(v, AUDIT_FIND_MODIFIED, (int64_t)seq,
		    "seq %llu: record "
		    "modified after it was signed (its signature and the next "
		    "record's prev no longer match its bytes)",
		    (unsigned long long)seq);
	else
		vfail(v, AUDIT_FIND_SIG, (int64_t)seq,
		    "seq %llu: signature "
		    "does not verify with the key in force (%s)",
		    (unsigned long long)seq,
		    r[i].rotation ? "key rotation record"
		                  : "flipped bits, or signed by an "
		                    "unannounced key");
}

static int
vrecords(struct vctx *v)
{
	struct vrec *r;
	struct audit_finding f;
	uint64_t seq = v->m.from;
	size_t n, i, ok, bad;
	const char *line;
	size_t len;
	int s = 1;

	if ((r = calloc(VERIFY_CHUNK, sizeof(*r))) == NULL)
		return PETRI_ERR_NOMEM;
	while (!v->failed && s > 0) {
		for (n = 0; n < VERIFY_CHUNK; n++) {
			if ((s = vline(&v->rec_p, v->rec_end, &line, &len)) <=
			    0)
				break;
			memset(&r[n], 0, sizeof(r[n]));
			r[n].bytes = line;
			r[n].len = len;
		}
		if (s < 0) {
			vfail(v, AUDIT_FIND_RECORD, (int64_t)(seq + n),
			    "seq %llu: record cut short (no final newline)",
			    (unsigned long long)(seq + n));
			break;
		}
		if (n == 0)
			break;
		if (vparallel(v, r, n, 0) != 0) {
			free(r);
			return PETRI_ERR_NOMEM;
		}
		ok = vsequence(v, r, n, seq, &f);
		if (v->nomem) {
			free(r);
			return PETRI_ERR_NOMEM;
		}
		(void)vparallel(v, r, ok, 1);
		for (i = 0, bad = ok; i < ok; i++)
			if (r[i].check && r[i].bad) {
				bad = i;
				break;
			}
		if (bad < ok) {
			/* earlier than anything phase B found */
			v->failed = 0;
			vexplain_sig(v, r, n, bad, seq + bad);
			ok = bad;
		} else if (f.code != AUDIT_FIND_NONE && ok < n)
			vfail(v, f.code, f.seq, "%s", f.msg);
		v->res->records += ok;
		for (i = 0; i < ok; i++) {
			if (seq + i < v->m.tree_size)
				v->res->sealed++;
			else
				v->res->unsealed++;
		}
		seq += n;
	}
	free(r);
	return 0;
}

/* ---- blobs ---- */

static void
vblobs(struct vctx *v)
{
	struct vref *u;
	char name[AUDIT_TAR_NAME_MAX], hex[2 * AUDIT_HASH_LEN + 1];
	unsigned char h[AUDIT_HASH_LEN];
	const struct audit_tar_entry *e;
	size_t i, j, plen = strlen(AUDIT_BUNDLE_BLOB_PREFIX);
	struct audit_finding best;
	int have = 0;

	if (v->refs.n > 1)
		qsort(v->refs.v, v->refs.n, sizeof(*v->refs.v), vref_cmp);
	if (v->deleted.n > 1)
		qsort(v->deleted.v, v->deleted.n, sizeof(*v->deleted.v),
		    vref_cmp);
	memset(&best, 0, sizeof(best));
	for (i = 0; i < v->refs.n; i = j) {
		u = &v->refs.v[i];
		petri_hex(u->sha, AUDIT_HASH_LEN, hex);
		snprintf(
		    name, sizeof(name), "%s%s", AUDIT_BUNDLE_BLOB_PREFIX, hex);
		for (j = i + 1; j < v->refs.n &&
		     memcmp(v->refs.v[j].sha, u->sha, AUDIT_HASH_LEN) == 0;
		     j++)
			if (v->refs.v[j].size >= 0 && u->size >= 0 &&
			    v->refs.v[j].size != u->size &&
			    (!have || (int64_t)v->refs.v[j].seq < best.seq)) {
				have = 1;
				best.code = AUDIT_FIND_BLOB;
				best.seq = (int64_t)v->refs.v[j].seq;
				snprintf(best.msg, sizeof(best.msg),
				    "seq %llu: "
				    "blob %s size differs between records",
				    (unsigned long long)best.seq, hex);
			}
		if ((e = audit_tar_find(&v->tar, name)) == NULL) {
			/* erased on purpose: a blob.deleted record names it */
			if (vrefs_has(&v->deleted, u->sha)) {
				v->res->blobs_erased++;
				continue;
			}
			if (!have || (int64_t)u->seq < best.seq) {
				have = 1;
				best.code = AUDIT_FIND_BLOB_MISSING;
				best.seq = (int64_t)u->seq;
				snprintf(best.msg, sizeof(best.msg),
				    "seq %llu: "
				    "blob %s missing (and not deleted by a "
				    "record)",
				    (unsigned long long)u->seq, hex);
			}
			continue;
		}
		crypto_hash_sha256(h, e->data, e->size);
		if (sodium_memcmp(h, u->sha, AUDIT_HASH_LEN) != 0 ||
		    (u->size >= 0 && (uint64_t)u->size != e->size)) {
			if (!have || (int64_t)u->seq < best.seq) {
				have = 1;
				best.code = AUDIT_FIND_BLOB;
				best.seq = (int64_t)u->seq;
				snprintf(best.msg, sizeof(best.msg),
				    "seq %llu: "
				    "blob %s does not match the record's hash "
				    "or size",
				    (unsigned long long)u->seq, hex);
			}
			continue;
		}
		v->res->blobs++;
	}
	/* blobs nobody references: counted, but they must be intact too */
	for (i = 0; i < v->tar.count; i++) {
		struct vref key;

		e = &v->tar.entry[i];
		if (strncmp(e->name, AUDIT_BUNDLE_BLOB_PREFIX, plen) != 0 ||
		    petri_unhex(e->name + plen, key.sha, AUDIT_HASH_LEN) != 0)
			continue;
		if (vrefs_has(&v->refs, key.sha))
			continue;
		v->res->blobs_unreferenced++;
		crypto_hash_sha256(h, e->data, e->size);
		if (sodium_memcmp(h, key.sha, AUDIT_HASH_LEN) != 0 && !have) {
			have = 1;
			best.code = AUDIT_FIND_BLOB;
			best.seq = -1;
			snprintf(best.msg, sizeof(best.msg),
			    "unreferenced "
			    "blob %s does not match its name",
			    e->name + plen);
		}
	}
	if (have)
		vfail(v, best.code, best.seq, "%s", best.msg);
}

/* ---- bundle structure ---- */

static int
vmember_known(const char *name)
{
	size_t plen = strlen(AUDIT_BUNDLE_BLOB_PREFIX), i;
	uint64_t size;

	if (strcmp(name, AUDIT_BUNDLE_MANIFEST) == 0 ||
	    strcmp(name, AUDIT_BUNDLE_PUBKEY) == 0 ||
	    strcmp(name, AUDIT_BUNDLE_RECORDS) == 0 ||
	    strcmp(name, AUDIT_BUNDLE_SIGS) == 0 ||
	    strcmp(name, AUDIT_BUNDLE_ROTATIONS) == 0 ||
	    audit_bundle_cp_name_parse(name, &size) == 0 ||
	    audit_bundle_ts_name_parse(name, &size) == 0)
		return 1;
	if (strncmp(name, AUDIT_BUNDLE_BLOB_PREFIX, plen) != 0 ||
	    strlen(name) != plen + 2 * AUDIT_HASH_LEN)
		return 0;
	for (i = plen; name[i] != '\0'; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		        (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return 1;
}

static int
vcp_cmp(const void *a, const void *b)
{
	const struct vcp *x = a, *y = b;

	return x->size < y->size ? -1 : x->size > y->size;
}

/* Collects and sanity-checks the checkpoint members. */
static int
vcheckpoints(struct vctx *v)
{
	struct audit_checkpoint cp;
	size_t i, n = 0;
	uint64_t size;

	for (i = 0; i < v->tar.count; i++)
		if (audit_bundle_cp_name_parse(v->tar.entry[i].name, &size) ==
		    0)
			n++;
	if (n > AUDIT_BUNDLE_MAX_CHECKPOINTS) {
		vfail(v, AUDIT_FIND_BUNDLE, -1, "too many checkpoints");
		return -1;
	}
	if ((v->cp = calloc(n ? n : 1, sizeof(*v->cp))) == NULL) {
		v->nomem = 1;
		return -1;
	}
	for (i = 0; i < v->tar.count; i++) {
		const struct audit_tar_entry *e = &v->tar.entry[i];

		if (audit_bundle_cp_name_parse(e->name, &size) != 0)
			continue;
		if (audit_checkpoint_parse(
		        (const char *)e->data, (size_t)e->size, &cp) != 0 ||
		    cp.size != size) {
			vfail(v, AUDIT_FIND_CHECKPOINT, -1,
			    "%s is malformed or "
			    "misnamed",
			    e->name);
			return -1;
		}
		if (strcmp(cp.origin, v->m.origin) != 0) {
			vfail(v, AUDIT_FIND_ORIGIN, -1,
			    "%s is from another "
			    "log (%s)",
			    e->name, cp.origin);
			return -1;
		}
		if (size < v->m.from || size > v->m.tree_size ||
		    (size > v->m.to && size != v->m.tree_size)) {
			vfail(v, AUDIT_FIND_CHECKPOINT, -1,
			    "%s lies outside "
			    "what the bundle can check",
			    e->name);
			return -1;
		}
		v->cp[v->ncp].size = size;
		v->cp[v->ncp].text = (const char *)e->data;
		v->cp[v->ncp].len = (size_t)e->size;
		v->ncp++;
	}
	qsort(v->cp, v->ncp, sizeof(*v->cp), vcp_cmp);
	if (v->m.tree_size > 0 &&
	    (v->ncp == 0 || v->cp[v->ncp - 1].size != v->m.tree_size)) {
		vfail(v, AUDIT_FIND_CHECKPOINT, -1,
		    "no checkpoint for the "
		    "bundle's tree size %llu (removed?)",
		    (unsigned long long)v->m.tree_size);
		return -1;
	}
	return 0;
}

static int
vrotations_load(struct vctx *v)
{
	const struct audit_tar_entry *e;
	const char *p, *end, *line;
	size_t len, cap = 0;
	int need = v->m.from > 0 || v->m.tree_size > v->m.to, s;

	e = audit_tar_find(&v->tar, AUDIT_BUNDLE_ROTATIONS);
	if ((e == NULL) != !need) {
		vfail(v, AUDIT_FIND_BUNDLE, -1,
		    need ? "rotations.jsonl "
		           "missing"
		         : "unexpected rotations.jsonl");
		return -1;
	}
	if (e == NULL)
		return 0;
	p = (const char *)e->data;
	end = p + e->size;
	while ((s = vline(&p, end, &line, &len)) > 0) {
		struct audit_bundle_rotation *rot;

		if (v->nrot >= AUDIT_BUNDLE_MAX_ROTATIONS) {
			vfail(v, AUDIT_FIND_BUNDLE, -1, "too many rotations");
			return -1;
		}
		if (v->nrot == cap) {
			cap = cap ? cap * 2 : 8;
			rot = reallocarray(v->rot, cap, sizeof(*rot));
			if (rot == NULL) {
				v->nomem = 1;
				return -1;
			}
			v->rot = rot;
		}
		rot = &v->rot[v->nrot];
		if (audit_bundle_rotation_parse(line, len, rot) != 0) {
			vfail(v, AUDIT_FIND_BUNDLE, -1,
			    "rotations.jsonl line "
			    "%zu is malformed",
			    v->nrot + 1);
			return -1;
		}
		v->nrot++;
		if ((rot->seq >= v->m.from && rot->seq < v->m.to) ||
		    rot->seq >= v->m.tree_size ||
		    (v->nrot > 1 && rot->seq <= v->rot[v->nrot - 2].seq)) {
			vfail(v, AUDIT_FIND_BUNDLE, -1,
			    "rotations.jsonl: seq "
			    "%llu out of place",
			    (unsigned long long)rot->seq);
			return -1;
		}
	}
	if (s < 0) {
		vfail(v, AUDIT_FIND_BUNDLE, -1, "rotations.jsonl cut short");
		return -1;
	}
	return 0;
}

static int
vstructure(struct vctx *v, const void *buf, size_t len)
{
	const struct audit_tar_entry *man, *rec, *sig, *pub;
	struct audit_key k;
	size_t i;
	int r;

	r = audit_tar_index(buf, len, AUDIT_BUNDLE_MAX_MEMBERS, &v->tar);
	if (r == PETRI_ERR_NOMEM) {
		v->nomem = 1;
		return -1;
	}
	if (r != 0) {
		vfail(v, AUDIT_FIND_BUNDLE, -1,
		    "not a readable ustar archive "
		    "(%s)",
		    petri_strerror(r));
		return -1;
	}
	for (i = 0; i < v->tar.count; i++)
		if (!vmember_known(v->tar.entry[i].name)) {
			vfail(v, AUDIT_FIND_BUNDLE, -1, "unexpected member %s",
			    v->tar.entry[i].name);
			return -1;
		}
	man = audit_tar_find(&v->tar, AUDIT_BUNDLE_MANIFEST);
	rec = audit_tar_find(&v->tar, AUDIT_BUNDLE_RECORDS);
	sig = audit_tar_find(&v->tar, AUDIT_BUNDLE_SIGS);
	pub = audit_tar_find(&v->tar, AUDIT_BUNDLE_PUBKEY);
	if (man == NULL || rec == NULL || sig == NULL) {
		vfail(v, AUDIT_FIND_BUNDLE, -1,
		    "manifest, records.jsonl or "
		    "records.sig missing");
		return -1;
	}
	if (audit_bundle_manifest_parse(man->data, (size_t)man->size, &v->m) !=
	    0) {
		vfail(v, AUDIT_FIND_BUNDLE, -1, "manifest malformed");
		return -1;
	}
	if (pub != NULL &&
	    (pub->size == 0 || pub->data[pub->size - 1] != '\n' ||
	        audit_vkey_parse(
	            (const char *)pub->data, (size_t)pub->size - 1, &k) != 0)) {
		vfail(v, AUDIT_FIND_BUNDLE, -1, "log.pub malformed");
		return -1;
	}
	v->rec_p = (const char *)rec->data;
	v->rec_end = v->rec_p + rec->size;
	v->sig_p = (const char *)sig->data;
	v->sig_end = v->sig_p + sig->size;
	return 0;
}

static int
vrun(struct vctx *v, const void *buf, size_t len)
{
	struct audit_verify_result *res = v->res;
	size_t i;

	if (vstructure(v, buf, len) != 0)
		return 0;
	petri_strlcpy(res->origin, v->m.origin, sizeof(res->origin));
	res->from = v->m.from;
	res->to = v->m.to;
	if (strcmp(v->o->key.name, v->m.origin) != 0) {
		vfail(v, AUDIT_FIND_KEY, -1,
		    "the key is for %s, the bundle "
		    "for %s",
		    v->o->key.name, v->m.origin);
		return 0;
	}
	res->partial = v->m.from > 0 || v->m.to < v->m.tree_size;
	if (res->partial && !v->o->partial) {
		vfail(v, AUDIT_FIND_PARTIAL,
		    v->m.from > 0 ? 0 : (int64_t)v->m.to,
		    "bundle holds records %llu..%lld of a "
		    "tree of %llu (tail or head cut off; --partial accepts "
		    "that)",
		    (unsigned long long)v->m.from, (long long)v->m.to - 1,
		    (unsigned long long)v->m.tree_size);
		return 0;
	}
	if (vcheckpoints(v) != 0 || vrotations_load(v) != 0)
		return 0;
	if (vkey_push(v, &v->o->key, 0) != 0) {
		v->nomem = 1;
		return 0;
	}
	if (v->o->trusted != NULL) {
		if (audit_checkpoint_parse(
		        v->o->trusted, v->o->trusted_len, &v->trusted) != 0 ||
		    strcmp(v->trusted.origin, v->m.origin) != 0) {
			vfail(v, AUDIT_FIND_TRUSTED, -1,
			    "trusted checkpoint "
			    "malformed or from another log");
			return 0;
		}
		v->have_trusted = 1;
		if (v->trusted.size > v->m.tree_size &&
		    v->trusted.size > v->m.to) {
			vfail(v, AUDIT_FIND_ROLLBACK, (int64_t)v->m.tree_size,
			    "rollback: the bundle's tree (%llu records) is "
			    "smaller than the trusted checkpoint's (%llu); "
			    "records were truncated or an older bundle was "
			    "served",
			    (unsigned long long)v->m.tree_size,
			    (unsigned long long)v->trusted.size);
			return 0;
		}
		if (v->trusted.size < v->m.from ||
		    (v->trusted.size > v->m.to &&
		        v->trusted.size < v->m.tree_size)) {
			vfail(v, AUDIT_FIND_TRUSTED, -1,
			    "trusted checkpoint "
			    "(size %llu) falls outside the records of this "
			    "bundle; export a range that covers it",
			    (unsigned long long)v->trusted.size);
			return 0;
		}
	}
	/* the records before from: their compact range */
	audit_merkle_frontier_init(&v->f);
	{
		struct audit_merkle_range lr;

		if (audit_merkle_range_decompose(0, v->m.from, &lr) != 0)
			return 0;
		for (i = 0; i < lr.count; i++)
			if (audit_merkle_frontier_push(
			        &v->f, lr.level[i], v->m.left.hash[i]) != 0) {
				vfail(
				    v, AUDIT_FIND_BUNDLE, -1, "bad left range");
				return 0;
			}
		/* an odd from leaves the previous leaf itself in the range */
		if (v->m.from % 2 == 1) {
			memcpy(v->last_leaf, v->m.left.hash[lr.count - 1],
			    AUDIT_HASH_LEN);
			v->have_last = 1;
		}
	}
	if (vrotations(v, 0, v->m.from) != 0 || vcheck_size(v) != 0)
		return 0;
	if (vrecords(v) != 0) {
		v->nomem = 1;
		return 0;
	}
	if (v->failed)
		return 0;
	if (res->records < v->m.to - v->m.from) {
		vfail(v, AUDIT_FIND_SEQ_GAP,
		    (int64_t)(v->m.from + res->records),
		    "records from seq %llu on are missing (the bundle should "
		    "hold up to %lld)",
		    (unsigned long long)(v->m.from + res->records),
		    (long long)v->m.to - 1);
		return 0;
	}
	if (res->records > v->m.to - v->m.from) {
		vfail(v, AUDIT_FIND_SEQ_ORDER, (int64_t)v->m.to,
		    "records "
		    "past seq %lld that the manifest does not list (inserted)",
		    (long long)v->m.to - 1);
		return 0;
	}
	if (v->sig_p != v->sig_end) {
		vfail(v, AUDIT_FIND_BUNDLE, -1,
		    "records.sig has lines for "
		    "records that are not in the bundle");
		return 0;
	}
	/* the records after to: their compact range, then the newest */
	if (v->m.tree_size > v->m.to) {
		struct audit_merkle_range rr;

		if (audit_merkle_range_decompose(
		        v->m.to, v->m.tree_size, &rr) != 0)
			return 0;
		for (i = 0; i < rr.count; i++)
			if (audit_merkle_frontier_push(
			        &v->f, rr.level[i], v->m.right.hash[i]) != 0) {
				vfail(v, AUDIT_FIND_BUNDLE, -1,
				    "bad right range");
				return 0;
			}
		if (vrotations(v, v->m.to, v->m.tree_size) != 0 ||
		    vcheck_size(v) != 0)
			return 0;
	}
	if (v->have_trusted && !res->trusted_checked) {
		vfail(v, AUDIT_FIND_TRUSTED, -1,
		    "trusted checkpoint could not "
		    "be checked against this bundle");
		return 0;
	}
	vblobs(v);
	return 0;
}

/* The bundle's checkpoint of that size, or NULL. */
static const struct vcp *
vcp_find(const struct vctx *v, uint64_t size)
{
	size_t i;

	for (i = 0; i < v->ncp; i++)
		if (v->cp[i].size == size)
			return &v->cp[i];
	return NULL;
}

/*
 * RFC 3161 tokens (timestamps/<size>.tsr): each must be for a checkpoint
 * of the bundle; with opts->tsa_ca_file each must verify against it (the
 * TSA's signature over the SHA-256 of that checkpoint's body) and one at
 * least must be there.  The newest is reported.
 */
static void
verify_timestamps(struct vctx *v, const struct audit_verify_opts *opts,
    struct audit_verify_result *res)
{
	unsigned char digest[AUDIT_HASH_LEN];
	const struct audit_tar_entry *e;
	const struct vcp *c;
	uint64_t size;
	int64_t gen;
	size_t i;
	int r;

	for (i = 0; i < v->tar.count; i++) {
		e = &v->tar.entry[i];
		if (audit_bundle_ts_name_parse(e->name, &size) != 0)
			continue;
		if ((c = vcp_find(v, size)) == NULL ||
		    audit_tsa_digest(c->text, c->len, digest) != 0) {
			vfail(v, AUDIT_FIND_TIMESTAMP, -1,
			    "%s: no checkpoint of that size", e->name);
			return;
		}
		res->timestamps++;
		if (opts->tsa_ca_file == NULL)
			continue;
		r = audit_tsa_token_verify(
		    e->data, (size_t)e->size, digest, opts->tsa_ca_file, &gen);
		if (r != 0) {
			vfail(v, AUDIT_FIND_TIMESTAMP, -1, "%s: %s", e->name,
			    r == PETRI_ERR_IO
			        ? "cannot read the TSA certificate"
			        : r == PETRI_ERR_CRYPTO
			        ? "not the TSA's signature over that checkpoint"
			        : "not an RFC 3161 token");
			return;
		}
		if (size >= res->timestamp_size) {
			res->timestamp_size = size;
			res->timestamp_time = gen;
		}
	}
	if (opts->tsa_ca_file != NULL && res->timestamp_size == 0)
		vfail(v, AUDIT_FIND_TIMESTAMP, -1,
		    "no RFC 3161 timestamp of any checkpoint");
}

/*
 * The newest checkpoint must carry opts->quorum valid cosignatures from
 * distinct keys of opts->witnesses (tlog-cosignature): the log showed
 * that tree to independent witnesses, who saw nothing inconsistent.
 */
static void
verify_witnesses(struct vctx *v, const struct audit_verify_opts *opts,
    struct audit_verify_result *res)
{
	int n;

	if (res->checkpoint == NULL) {
		vfail(v, AUDIT_FIND_WITNESS, -1,
		    "no checkpoint to count cosignatures on");
		return;
	}
	n = audit_cosig_count(res->checkpoint, res->checkpoint_len,
	    opts->witnesses, opts->nwitnesses);
	res->cosignatures = n > 0 ? n : 0;
	if (n < opts->quorum)
		vfail(v, AUDIT_FIND_WITNESS, -1,
		    "the newest checkpoint (size %llu) has %d valid witness "
		    "cosignature(s), %d required",
		    (unsigned long long)res->tree_size, n < 0 ? 0 : n,
		    opts->quorum);
}

int
audit_verify_bundle(const void *buf, size_t len,
    const struct audit_verify_opts *opts, struct audit_verify_result *res)
{
	struct vctx v;
	size_t i;
	long ncpu;

	memset(res, 0, sizeof(*res));
	memset(&v, 0, sizeof(v));
	res->first.seq = -1;
	v.o = opts;
	v.res = res;
	v.threads = opts->threads;
	if (v.threads <= 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		v.threads = ncpu > 0 ? (int)ncpu : 1;
	}
	if (v.threads > VERIFY_MAX_THREADS)
		v.threads = VERIFY_MAX_THREADS;
	randombytes_buf(&v.rng, sizeof(v.rng));
	v.rng |= 1;
	(void)vrun(&v, buf, len);
	if (!v.nomem && !v.failed && v.newest != NULL &&
	    (res->checkpoint = malloc(v.newest_len + 1)) != NULL) {
		memcpy(res->checkpoint, v.newest, v.newest_len);
		res->checkpoint[v.newest_len] = '\0';
		res->checkpoint_len = v.newest_len;
	}
	if (!v.failed && opts->nwitnesses > 0)
		verify_witnesses(&v, opts, res);
	if (!v.failed)
		verify_timestamps(&v, opts, res);
	if (v.failed)
		res->status = AUDIT_VERIFY_FAILED;
	else if (res->unsealed > 0)
		res->status = AUDIT_VERIFY_UNSEALED;
	else
		res->status = AUDIT_VERIFY_OK;
	audit_tar_free(&v.tar);
	free(v.cp);
	free(v.keys);
	for (i = 0; i < v.nrot; i++)
		audit_bundle_rotation_clear(&v.rot[i]);
	free(v.rot);
	free(v.refs.v);
	free(v.deleted.v);
	for (i = 0; i < VERIFY_MAX_THREADS; i++)
		audit_record_scratch_free(&v.scratch[i]);
	if (v.nomem) {
		audit_verify_result_free(res);
		return PETRI_ERR_NOMEM;
	}
	return 0;
}

int
audit_verify_file(const char *path, const struct audit_verify_opts *opts,
    struct audit_verify_result *res)
{
	struct stat st;
	void *p = NULL;
	int fd, r;

	memset(res, 0, sizeof(*res));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? PETRI_ERR_NOTFOUND : PETRI_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return PETRI_ERR_IO;
	}
	if (st.st_size > 0) {
		p = mmap(
		    NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			close(fd);
			return PETRI_ERR_IO;
		}
		(void)madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
	}
	close(fd);
	r = audit_verify_bundle(
	    p != NULL ? p : "", (size_t)st.st_size, opts, res);
	if (p != NULL)
		munmap(p, (size_t)st.st_size);
	return r;
}

void
audit_verify_result_free(struct audit_verify_result *res)
{
	free(res->checkpoint);
	res->checkpoint = NULL;
	res->checkpoint_len = 0;
}

/* ---- proof documents ---- */

int
audit_proof_encode(const struct audit_proof_doc *d, char **out, size_t *lenp)
{
	char hex[2 * AUDIT_HASH_LEN + 1];
	json_t *j = NULL, *a;
	size_t i;
	char *s;

	*out = NULL;
	if ((a = json_array()) == NULL)
		return PETRI_ERR_NOMEM;
	for (i = 0; i < d->proof.count && i < AUDIT_MERKLE_MAX_PROOF; i++) {
		petri_hex(d->proof.hash[i], AUDIT_HASH_LEN, hex);
		if (json_array_append_new(a, json_string(hex)) != 0) {
			json_decref(a);
			return PETRI_ERR_NOMEM;
		}
	}
	if (d->type == 1) {
		petri_hex(d->leaf, AUDIT_HASH_LEN, hex);
		j = json_pack("{s:s, s:I, s:I, s:s, s:o}", "type", "inclusion",
		    "seq", (json_int_t)d->index, "tree_size",
		    (json_int_t)d->tree_size, "leaf_hash", hex, "hashes", a);
	} else if (d->type == 2)
		j = json_pack("{s:s, s:I, s:I, s:o}", "type", "consistency",
		    "old_size", (json_int_t)d->old_size, "new_size",
		    (json_int_t)d->new_size, "hashes", a);
	else {
		json_decref(a);
		return PETRI_ERR_INVAL;
	}
	if (j == NULL)
		return PETRI_ERR_NOMEM;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		return PETRI_ERR_NOMEM;
	*out = s;
	*lenp = strlen(s);
	return 0;
}

static int
vproof_hashes(json_t *a, struct audit_merkle_proof *p)
{
	json_t *v;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) > AUDIT_MERKLE_MAX_PROOF)
		return PETRI_ERR_INVAL;
	json_array_foreach (a, i, v)
		if (!json_is_string(v) || json_string_length(v) != 64 ||
		    petri_unhex(
		        json_string_value(v), p->hash[i], AUDIT_HASH_LEN) != 0)
			return PETRI_ERR_INVAL;
	p->count = json_array_size(a);
	return 0;
}

int
audit_proof_parse(const char *s, size_t len, struct audit_proof_doc *d)
{
	json_error_t jerr;
	json_t *j, *a = NULL;
	json_int_t x = -1, y = -1;
	const char *type = NULL, *leaf = NULL;
	int r = PETRI_ERR_INVAL;

	memset(d, 0, sizeof(*d));
	if (len > 64 * 1024)
		return PETRI_ERR_TOOBIG;
	if ((j = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return PETRI_ERR_INVAL;
	if (json_unpack(j, "{s:s}", "type", &type) != 0)
		goto out;
	if (strcmp(type, "inclusion") == 0) {
		if (json_unpack(j, "{s:s, s:I, s:I, s:s, s:o !}", "type", &type,
		        "seq", &x, "tree_size", &y, "leaf_hash", &leaf,
		        "hashes", &a) != 0 ||
		    x < 0 || y <= x || strlen(leaf) != 64 ||
		    petri_unhex(leaf, d->leaf, AUDIT_HASH_LEN) != 0)
			goto out;
		d->type = 1;
		d->index = (uint64_t)x;
		d->tree_size = (uint64_t)y;
		d->has_leaf = 1;
	} else if (strcmp(type, "consistency") == 0) {
		if (json_unpack(j, "{s:s, s:I, s:I, s:o !}", "type", &type,
		        "old_size", &x, "new_size", &y, "hashes", &a) != 0 ||
		    x < 0 || y < x)
			goto out;
		d->type = 2;
		d->old_size = (uint64_t)x;
		d->new_size = (uint64_t)y;
	} else
		goto out;
	r = vproof_hashes(a, &d->proof);
out:
	json_decref(j);
	return r;
}
