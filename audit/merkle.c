/* merkle.c: RFC 9162 Merkle tree math, frontier and cached tree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "merkle.h"

void
audit_merkle_leaf_hash(
    const void *data, size_t len, unsigned char out[AUDIT_HASH_LEN])
{
	crypto_hash_sha256_state st;
	static const unsigned char prefix = 0x00;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, out);
}

void
audit_merkle_node_hash(const unsigned char left[AUDIT_HASH_LEN],
    const unsigned char right[AUDIT_HASH_LEN],
    unsigned char out[AUDIT_HASH_LEN])
{
	unsigned char in[1 + 2 * AUDIT_HASH_LEN];

	in[0] = 0x01;
	memcpy(in + 1, left, AUDIT_HASH_LEN);
	memcpy(in + 1 + AUDIT_HASH_LEN, right, AUDIT_HASH_LEN);
	crypto_hash_sha256(out, in, sizeof(in));
}

void
audit_merkle_empty_root(unsigned char out[AUDIT_HASH_LEN])
{
	crypto_hash_sha256(out, (const unsigned char *)"", 0);
}

/* The largest power of two strictly below n (n >= 2). */
static uint64_t
merkle_split(uint64_t n)
{
	uint64_t k = 1;

	while (k < n - k)
		k <<= 1;
	return k;
}

static int
merkle_is_pow2(uint64_t n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

static unsigned
merkle_log2(uint64_t n)
{
	unsigned l = 0;

	while (n > 1) {
		n >>= 1;
		l++;
	}
	return l;
}

int
audit_merkle_range_hash(audit_merkle_node_fn fn, void *arg, uint64_t begin,
    uint64_t end, unsigned char out[AUDIT_HASH_LEN])
{
	unsigned char left[AUDIT_HASH_LEN];
	uint64_t n, k;
	int r;

	if (begin >= end || end > AUDIT_MERKLE_MAX_SIZE)
		return PETRI_ERR_INVAL;
	n = end - begin;
	if (merkle_is_pow2(n) && begin % n == 0)
		return fn(arg, merkle_log2(n), begin / n, out);
	k = merkle_split(n);
	if (begin % k != 0)
		return PETRI_ERR_INVAL;
	if ((r = fn(arg, merkle_log2(k), begin / k, left)) != 0)
		return r;
	if ((r = audit_merkle_range_hash(fn, arg, begin + k, end, out)) != 0)
		return r;
	audit_merkle_node_hash(left, out, out);
	return 0;
}

int
audit_merkle_array_node(void *array, unsigned level, uint64_t index,
    unsigned char out[AUDIT_HASH_LEN])
{
	const struct audit_merkle_array *a = array;
	unsigned char left[AUDIT_HASH_LEN];
	int r;

	if (level > AUDIT_MERKLE_MAX_LEVEL || index >= (a->n >> level))
		return PETRI_ERR_NOTFOUND;
	if (level == 0) {
		memcpy(out, a->leaf[index], AUDIT_HASH_LEN);
		return 0;
	}
	if ((r = audit_merkle_array_node(array, level - 1, 2 * index, left)) !=
	        0 ||
	    (r = audit_merkle_array_node(
	         array, level - 1, 2 * index + 1, out)) != 0)
		return r;
	audit_merkle_node_hash(left, out, out);
	return 0;
}

void
audit_merkle_array_root(const unsigned char (*leaf)[AUDIT_HASH_LEN], uint64_t n,
    unsigned char out[AUDIT_HASH_LEN])
{
	struct audit_merkle_array a = {leaf, n};

	if (n == 0 ||
	    audit_merkle_range_hash(audit_merkle_array_node, &a, 0, n, out) !=
	        0)
		audit_merkle_empty_root(out);
}

static int
merkle_proof_add(
    struct audit_merkle_proof *p, const unsigned char h[AUDIT_HASH_LEN])
{
	if (p->count >= AUDIT_MERKLE_MAX_PROOF)
		return PETRI_ERR_TOOBIG;
	memcpy(p->hash[p->count++], h, AUDIT_HASH_LEN);
	return 0;
}

/* PATH(m, D[begin:begin+n]) appended to p, deepest sibling first. */
static int
merkle_path(audit_merkle_node_fn fn, void *arg, uint64_t m, uint64_t begin,
    uint64_t n, struct audit_merkle_proof *p)
{
	unsigned char h[AUDIT_HASH_LEN];
	uint64_t k;
	int r;

	if (n == 1)
		return 0;
	k = merkle_split(n);
	if (m < k) {
		if ((r = merkle_path(fn, arg, m, begin, k, p)) != 0 ||
		    (r = audit_merkle_range_hash(
		         fn, arg, begin + k, begin + n, h)) != 0)
			return r;
	} else {
		if ((r = merkle_path(fn, arg, m - k, begin + k, n - k, p)) !=
		        0 ||
		    (r = audit_merkle_range_hash(
		         fn, arg, begin, begin + k, h)) != 0)
			return r;
	}
	return merkle_proof_add(p, h);
}

int
audit_merkle_inclusion_prove(audit_merkle_node_fn fn, void *arg, uint64_t index,
    uint64_t size, struct audit_merkle_proof *proof)
{
	proof->count = 0;
	if (index >= size || size > AUDIT_MERKLE_MAX_SIZE)
		return PETRI_ERR_INVAL;
	return merkle_path(fn, arg, index, 0, size, proof);
}

/* SUBPROOF(m, D[begin:begin+n], b) appended to p. */
static int
merkle_subproof(audit_merkle_node_fn fn, void *arg, uint64_t m, uint64_t begin,
    uint64_t n, int b, struct audit_merkle_proof *p)
{
	unsigned char h[AUDIT_HASH_LEN];
	uint64_t k;
	int r;

	if (m == n) {
		if (b)
			return 0;
		if ((r = audit_merkle_range_hash(
		         fn, arg, begin, begin + n, h)) != 0)
			return r;
		return merkle_proof_add(p, h);
	}
	k = merkle_split(n);
	if (m <= k) {
		if ((r = merkle_subproof(fn, arg, m, begin, k, b, p)) != 0 ||
		    (r = audit_merkle_range_hash(
		         fn, arg, begin + k, begin + n, h)) != 0)
			return r;
	} else {
		if ((r = merkle_subproof(
		         fn, arg, m - k, begin + k, n - k, 0, p)) != 0 ||
		    (r = audit_merkle_range_hash(
		         fn, arg, begin, begin + k, h)) != 0)
			return r;
	}
	return merkle_proof_add(p, h);
}

int
audit_merkle_consistency_prove(audit_merkle_node_fn fn, void *arg,
    uint64_t old_size, uint64_t new_size, struct audit_merkle_proof *proof)
{
	proof->count = 0;
	if (old_size == 0 || old_size > new_size ||
	    new_size > AUDIT_MERKLE_MAX_SIZE)
		return PETRI_ERR_INVAL;
	if (old_size == new_size)
		return 0;
	return merkle_subproof(fn, arg, old_size, 0, new_size, 1, proof);
}

int
audit_merkle_inclusion_verify(const unsigned char leaf[AUDIT_HASH_LEN],
    uint64_t index, uint64_t size, const struct audit_merkle_proof *proof,
    const unsigned char root[AUDIT_HASH_LEN])
{
	unsigned char r[AUDIT_HASH_LEN];
	uint64_t fn, sn;
	size_t i;

	if (index >= size || size > AUDIT_MERKLE_MAX_SIZE ||
	    proof->count > AUDIT_MERKLE_MAX_PROOF)
		return PETRI_ERR_INVAL;
	fn = index;
	sn = size - 1;
	memcpy(r, leaf, AUDIT_HASH_LEN);
	for (i = 0; i < proof->count; i++) {
		if (sn == 0)
			return PETRI_ERR_INVAL;
		if ((fn & 1) || fn == sn) {
			audit_merkle_node_hash(proof->hash[i], r, r);
			if (!(fn & 1))
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else
			audit_merkle_node_hash(r, proof->hash[i], r);
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return PETRI_ERR_INVAL;
	return sodium_memcmp(r, root, AUDIT_HASH_LEN) == 0 ? 0
	                                                   : PETRI_ERR_CRYPTO;
}

int
audit_merkle_consistency_verify(uint64_t old_size, uint64_t new_size,
    const unsigned char old_root[AUDIT_HASH_LEN],
    const unsigned char new_root[AUDIT_HASH_LEN],
    const struct audit_merkle_proof *proof)
{
	unsigned char fr[AUDIT_HASH_LEN], sr[AUDIT_HASH_LEN];
	const unsigned char *c;
	uint64_t fn, sn;
	size_t i, start;

	if (old_size > new_size || new_size > AUDIT_MERKLE_MAX_SIZE ||
	    proof->count > AUDIT_MERKLE_MAX_PROOF)
		return PETRI_ERR_INVAL;
	if (old_size == new_size) {
		if (proof->count != 0)
			return PETRI_ERR_INVAL;
		return sodium_memcmp(old_root, new_root, AUDIT_HASH_LEN) == 0
		    ? 0
		    : PETRI_ERR_CRYPTO;
	}
	if (old_size == 0)
		return proof->count == 0 ? 0 : PETRI_ERR_INVAL;
	if (proof->count == 0)
		return PETRI_ERR_INVAL;
	/* An old tree of 2^k leaves is a node of the new one: its root starts. */
	if (merkle_is_pow2(old_size)) {
		c = old_root;
		start = 0;
	} else {
		c = proof->hash[0];
		start = 1;
	}
	fn = old_size - 1;
	sn = new_size - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, c, AUDIT_HASH_LEN);
	memcpy(sr, c, AUDIT_HASH_LEN);
	for (i = start; i < proof->count; i++) {
		c = proof->hash[i];
		if (sn == 0)
			return PETRI_ERR_INVAL;
		if ((fn & 1) || fn == sn) {
			audit_merkle_node_hash(c, fr, fr);
			audit_merkle_node_hash(c, sr, sr);
			if (!(fn & 1))
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else
			audit_merkle_node_hash(sr, c, sr);
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return PETRI_ERR_INVAL;
	if (sodium_memcmp(fr, old_root, AUDIT_HASH_LEN) != 0 ||
	    sodium_memcmp(sr, new_root, AUDIT_HASH_LEN) != 0)
		return PETRI_ERR_CRYPTO;
	return 0;
}

int
audit_merkle_range_decompose(
    uint64_t begin, uint64_t end, struct audit_merkle_range *r)
{
	r->count = 0;
	if (begin > end || end > AUDIT_MERKLE_MAX_SIZE)
		return PETRI_ERR_INVAL;
	while (begin < end) {
		unsigned level = 0;

		/* the largest aligned perfect subtree starting at begin */
		while (level < AUDIT_MERKLE_MAX_LEVEL &&
		    (begin & ((UINT64_C(1) << (level + 1)) - 1)) == 0 &&
		    end - begin >= (UINT64_C(1) << (level + 1)))
			level++;
		if (r->count >= sizeof(r->index) / sizeof(r->index[0]))
			return PETRI_ERR_INVAL;
		r->level[r->count] = (unsigned char)level;
		r->index[r->count] = begin >> level;
		r->count++;
		begin += UINT64_C(1) << level;
	}
	return 0;
}

void
audit_merkle_frontier_init(struct audit_merkle_frontier *f)
{
	memset(f, 0, sizeof(*f));
}

int
audit_merkle_frontier_push(struct audit_merkle_frontier *f, unsigned level,
    const unsigned char hash[AUDIT_HASH_LEN])
{
	unsigned char h[AUDIT_HASH_LEN];
	uint64_t add;
	unsigned l;

	if (level > AUDIT_MERKLE_MAX_LEVEL)
		return PETRI_ERR_INVAL;
	add = UINT64_C(1) << level;
	if ((f->size & (add - 1)) != 0 || f->size > AUDIT_MERKLE_MAX_SIZE - add)
		return PETRI_ERR_INVAL;
	memcpy(h, hash, AUDIT_HASH_LEN);
	for (l = level; f->size & (UINT64_C(1) << l); l++)
		audit_merkle_node_hash(f->hash[l], h, h);
	memcpy(f->hash[l], h, AUDIT_HASH_LEN);
	f->size += add;
	return 0;
}

void
audit_merkle_frontier_root(
    const struct audit_merkle_frontier *f, unsigned char out[AUDIT_HASH_LEN])
{
	unsigned l;
	int have = 0;

	if (f->size == 0) {
		audit_merkle_empty_root(out);
		return;
	}
	for (l = 0; l <= AUDIT_MERKLE_MAX_LEVEL; l++) {
		if (!(f->size & (UINT64_C(1) << l)))
			continue;
		if (!have) {
			memcpy(out, f->hash[l], AUDIT_HASH_LEN);
			have = 1;
		} else
			audit_merkle_node_hash(f->hash[l], out, out);
	}
}

struct merkle_level {
	unsigned char (*h)[AUDIT_HASH_LEN];
	uint64_t n;
	uint64_t cap;
};

struct audit_merkle_tree {
	struct audit_merkle_frontier f;
	audit_merkle_leaf_fn leaf;
	void *arg;
	struct merkle_level cache[AUDIT_MERKLE_MAX_LEVEL + 1];
};

int
audit_merkle_tree_new(
    audit_merkle_leaf_fn leaf, void *arg, struct audit_merkle_tree **tp)
{
	struct audit_merkle_tree *t;

	*tp = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return PETRI_ERR_NOMEM;
	t->leaf = leaf;
	t->arg = arg;
	*tp = t;
	return 0;
}

void
audit_merkle_tree_free(struct audit_merkle_tree *t)
{
	unsigned l;

	if (t == NULL)
		return;
	for (l = 0; l <= AUDIT_MERKLE_MAX_LEVEL; l++)
		free(t->cache[l].h);
	free(t);
}

static int
merkle_level_reserve(struct merkle_level *lv)
{
	unsigned char(*p)[AUDIT_HASH_LEN];
	uint64_t ncap;

	if (lv->n < lv->cap)
		return 0;
	ncap = lv->cap ? lv->cap * 2 : 64;
	if (ncap > SIZE_MAX / AUDIT_HASH_LEN)
		return PETRI_ERR_NOMEM;
	if ((p = reallocarray(lv->h, (size_t)ncap, AUDIT_HASH_LEN)) == NULL)
		return PETRI_ERR_NOMEM;
	lv->h = p;
	lv->cap = ncap;
	return 0;
}

int
audit_merkle_tree_append(
    struct audit_merkle_tree *t, const unsigned char leaf[AUDIT_HASH_LEN])
{
	unsigned char h[AUDIT_HASH_LEN];
	uint64_t size = t->f.size;
	unsigned l;
	int r;

	if (size >= AUDIT_MERKLE_MAX_SIZE)
		return PETRI_ERR_INVAL;
	/* room first, so a failed append leaves the tree as it was */
	for (l = 1;
	     l <= AUDIT_MERKLE_MAX_LEVEL && (size & (UINT64_C(1) << (l - 1)));
	     l++)
		if (l >= AUDIT_MERKLE_CACHE_LEVEL &&
		    (r = merkle_level_reserve(&t->cache[l])) != 0)
			return r;
	memcpy(h, leaf, AUDIT_HASH_LEN);
	for (l = 0; size & (UINT64_C(1) << l); l++) {
		audit_merkle_node_hash(t->f.hash[l], h, h);
		if (l + 1 >= AUDIT_MERKLE_CACHE_LEVEL) {
			struct merkle_level *lv = &t->cache[l + 1];

			memcpy(lv->h[lv->n++], h, AUDIT_HASH_LEN);
		}
	}
	memcpy(t->f.hash[l], h, AUDIT_HASH_LEN);
	t->f.size = size + 1;
	return 0;
}

uint64_t
audit_merkle_tree_size(const struct audit_merkle_tree *t)
{
	return t->f.size;
}

int
audit_merkle_tree_node(void *tree, unsigned level, uint64_t index,
    unsigned char out[AUDIT_HASH_LEN])
{
	struct audit_merkle_tree *t = tree;
	unsigned char left[AUDIT_HASH_LEN];
	int r;

	if (level > AUDIT_MERKLE_MAX_LEVEL || index >= (t->f.size >> level))
		return PETRI_ERR_NOTFOUND;
	if (level >= AUDIT_MERKLE_CACHE_LEVEL) {
		if (index >= t->cache[level].n)
			return PETRI_ERR_NOTFOUND;
		memcpy(out, t->cache[level].h[index], AUDIT_HASH_LEN);
		return 0;
	}
	/* the newest complete subtree at this level sits in the frontier */
	if ((t->f.size & (UINT64_C(1) << level)) &&
	    index == (t->f.size >> level) - 1) {
		memcpy(out, t->f.hash[level], AUDIT_HASH_LEN);
		return 0;
	}
	if (level == 0)
		return t->leaf(t->arg, index, out);
	if ((r = audit_merkle_tree_node(t, level - 1, 2 * index, left)) != 0 ||
	    (r = audit_merkle_tree_node(t, level - 1, 2 * index + 1, out)) != 0)
		return r;
	audit_merkle_node_hash(left, out, out);
	return 0;
}

int
audit_merkle_tree_root(struct audit_merkle_tree *t, uint64_t size,
    unsigned char out[AUDIT_HASH_LEN])
{
	if (size > t->f.size)
		return PETRI_ERR_INVAL;
	if (size == t->f.size) {
		audit_merkle_frontier_root(&t->f, out);
		return 0;
	}
	if (size == 0) {
		audit_merkle_empty_root(out);
		return 0;
	}
	return audit_merkle_range_hash(audit_merkle_tree_node, t, 0, size, out);
}
