/*
 * test_merkle.c: RFC 9162 Merkle math against the RFC 6962 / transparency-dev
 * reference vectors (roots, inclusion and consistency proofs), then the
 * frontier and the cached tree against the plain recursive definition.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "merkle.h"
#include "util.h"
#include "unit.h"

/* The eight reference leaves and the roots of their prefixes. */
static const char *const leaves_hex[8] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

static const char *const roots_hex[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* transparency-dev/merkle testonly/reference_test.go */
static const struct {
	uint64_t size, index;
	const char *proof[3];
} incl_vec[] = {
    {1, 0, {NULL}},
    {2, 0,
        {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"}},
    {2, 1,
        {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"}},
    {3, 2,
        {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {5, 1,
        {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6"
            "b"}},
    {8, 0,
        {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e"
            "4"}},
    {8, 5,
        {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b"
            "7"}},
};

static const struct {
	uint64_t m, n;
	const char *proof[3];
} cons_vec[] = {
    {1, 1, {NULL}},
    {1, 8,
        {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e"
            "4"}},
    {2, 5,
        {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6"
            "b"}},
    {6, 8,
        {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b"
            "7"}},
};

static unsigned char ref_leaf[8][AUDIT_HASH_LEN];
static unsigned char ref_root[9][AUDIT_HASH_LEN];

static void
setup_vectors(void)
{
	unsigned char data[16];
	size_t i, n;

	for (i = 0; i < 8; i++) {
		n = strlen(leaves_hex[i]) / 2;
		if (petri_unhex(leaves_hex[i], data, n) != 0)
			abort();
		audit_merkle_leaf_hash(data, n, ref_leaf[i]);
	}
	for (i = 0; i < 9; i++)
		if (petri_unhex(roots_hex[i], ref_root[i], AUDIT_HASH_LEN) != 0)
			abort();
}

static void
proof_from_hex(struct audit_merkle_proof *p, const char *const *hex)
{
	size_t i;

	p->count = 0;
	for (i = 0; i < 3 && hex[i] != NULL; i++)
		if (petri_unhex(hex[i], p->hash[p->count++], AUDIT_HASH_LEN) !=
		    0)
			abort();
}

static int
proof_eq(const struct audit_merkle_proof *a, const struct audit_merkle_proof *b)
{
	return a->count == b->count &&
	    memcmp(a->hash, b->hash, a->count * AUDIT_HASH_LEN) == 0;
}

static void
test_roots(void)
{
	unsigned char out[AUDIT_HASH_LEN];
	uint64_t n;

	for (n = 0; n <= 8; n++) {
		audit_merkle_array_root(ref_leaf, n, out);
		CHECK(memcmp(out, ref_root[n], AUDIT_HASH_LEN) == 0);
	}
}

static void
test_inclusion_vectors(void)
{
	struct audit_merkle_array a = {ref_leaf, 8};
	struct audit_merkle_proof want, got;
	size_t i;

	for (i = 0; i < sizeof(incl_vec) / sizeof(incl_vec[0]); i++) {
		a.n = incl_vec[i].size;
		proof_from_hex(&want, incl_vec[i].proof);
		CHECK(audit_merkle_inclusion_prove(audit_merkle_array_node, &a,
		          incl_vec[i].index, incl_vec[i].size, &got) == 0);
		CHECK(proof_eq(&want, &got));
		CHECK(audit_merkle_inclusion_verify(ref_leaf[incl_vec[i].index],
		          incl_vec[i].index, incl_vec[i].size, &want,
		          ref_root[incl_vec[i].size]) == 0);
	}
}

static void
test_consistency_vectors(void)
{
	struct audit_merkle_array a = {ref_leaf, 8};
	struct audit_merkle_proof want, got;
	size_t i;

	for (i = 0; i < sizeof(cons_vec) / sizeof(cons_vec[0]); i++) {
		a.n = cons_vec[i].n;
		proof_from_hex(&want, cons_vec[i].proof);
		CHECK(audit_merkle_consistency_prove(audit_merkle_array_node,
		          &a, cons_vec[i].m, cons_vec[i].n, &got) == 0);
		CHECK(proof_eq(&want, &got));
		CHECK(audit_merkle_consistency_verify(cons_vec[i].m,
		          cons_vec[i].n, ref_root[cons_vec[i].m],
		          ref_root[cons_vec[i].n], &want) == 0);
	}
}

/* Every proof over the reference leaves verifies; every mutation fails. */
static void
test_all_pairs(void)
{
	struct audit_merkle_array a = {ref_leaf, 8};
	struct audit_merkle_proof p, q;
	uint64_t m, n, i;
	size_t k;

	for (n = 1; n <= 8; n++) {
		a.n = n;
		for (i = 0; i < n; i++) {
			CHECK(audit_merkle_inclusion_prove(
			          audit_merkle_array_node, &a, i, n, &p) == 0);
			CHECK(audit_merkle_inclusion_verify(
			          ref_leaf[i], i, n, &p, ref_root[n]) == 0);
			/* another leaf, index, size or root must fail */
			CHECK(
			    audit_merkle_inclusion_verify(ref_leaf[(i + 1) % 8],
			        i, n, &p, ref_root[n]) != 0);
			if (n > 1)
				CHECK(
				    audit_merkle_inclusion_verify(ref_leaf[i],
				        (i + 1) % n, n, &p, ref_root[n]) != 0);
			CHECK(audit_merkle_inclusion_verify(
			          ref_leaf[i], i, n, &p, ref_root[n - 1]) != 0);
			for (k = 0; k < p.count; k++) {
				q = p;
				q.hash[k][k % AUDIT_HASH_LEN] ^= 1;
				CHECK(audit_merkle_inclusion_verify(ref_leaf[i],
				          i, n, &q,
				          ref_root[n]) == PETRI_ERR_CRYPTO);
			}
			q = p;
			if (q.count > 0) {
				q.count--;
				CHECK(audit_merkle_inclusion_verify(ref_leaf[i],
				          i, n, &q, ref_root[n]) != 0);
			}
		}
		for (m = 1; m <= n; m++) {
			CHECK(audit_merkle_consistency_prove(
			          audit_merkle_array_node, &a, m, n, &p) == 0);
			CHECK(audit_merkle_consistency_verify(
			          m, n, ref_root[m], ref_root[n], &p) == 0);
			if (m < n) {
				CHECK(
				    audit_merkle_consistency_verify(m, n,
				        ref_root[m - 1], ref_root[n], &p) != 0);
				CHECK(
				    audit_merkle_consistency_verify(m, n,
				        ref_root[m], ref_root[n - 1], &p) != 0);
			}
			for (k = 0; k < p.count; k++) {
				q = p;
				q.hash[k][0] ^= 0x80;
				CHECK(audit_merkle_consistency_verify(m, n,
				          ref_root[m], ref_root[n], &q) != 0);
			}
		}
	}
	/* edge cases */
	p.count = 0;
	CHECK(audit_merkle_consistency_verify(
	          0, 5, ref_root[0], ref_root[5], &p) == 0);
	CHECK(audit_merkle_consistency_verify(
	          5, 5, ref_root[5], ref_root[5], &p) == 0);
	CHECK(audit_merkle_consistency_verify(
	          5, 5, ref_root[5], ref_root[4], &p) == PETRI_ERR_CRYPTO);
	CHECK(audit_merkle_consistency_verify(
	          3, 5, ref_root[3], ref_root[5], &p) == PETRI_ERR_INVAL);
	CHECK(audit_merkle_consistency_verify(
	          6, 5, ref_root[5], ref_root[5], &p) == PETRI_ERR_INVAL);
	CHECK(audit_merkle_inclusion_verify(
	          ref_leaf[0], 0, 0, &p, ref_root[0]) == PETRI_ERR_INVAL);
	a.n = 8;
	CHECK(audit_merkle_inclusion_prove(
	          audit_merkle_array_node, &a, 8, 8, &p) == PETRI_ERR_INVAL);
	CHECK(audit_merkle_consistency_prove(
	          audit_merkle_array_node, &a, 0, 8, &p) == PETRI_ERR_INVAL);
	CHECK(audit_merkle_consistency_prove(
	          audit_merkle_array_node, &a, 4, 9, &p) == PETRI_ERR_NOTFOUND);
}

/* Pseudo-random leaves for the larger trees. */
static unsigned char (*big_leaves(uint64_t n))[AUDIT_HASH_LEN]
{
	unsigned char(*l)[AUDIT_HASH_LEN];
	uint64_t i;

	if ((l = calloc((size_t)n, AUDIT_HASH_LEN)) == NULL)
		abort();
	for (i = 0; i < n; i++)
		audit_merkle_leaf_hash(&i, sizeof(i), l[i]);
	return l;
}

struct leaf_src {
	unsigned char (*leaf)[AUDIT_HASH_LEN];
	uint64_t n;
	uint64_t reads;
};

static int
leaf_get(void *arg, uint64_t index, unsigned char out[AUDIT_HASH_LEN])
{
	struct leaf_src *s = arg;

	if (index >= s->n)
		return PETRI_ERR_NOTFOUND;
	s->reads++;
	memcpy(out, s->leaf[index], AUDIT_HASH_LEN);
	return 0;
}

static void
test_frontier_and_tree(void)
{
	const uint64_t n = 1500;
	unsigned char(*l)[AUDIT_HASH_LEN] = big_leaves(n);
	struct leaf_src src = {l, n, 0};
	struct audit_merkle_array a = {(const unsigned char(*)[32])l, n};
	struct audit_merkle_frontier f;
	struct audit_merkle_tree *t = NULL;
	struct audit_merkle_proof p, q;
	unsigned char want[AUDIT_HASH_LEN], got[AUDIT_HASH_LEN];
	uint64_t i, m;

	audit_merkle_frontier_init(&f);
	CHECK(audit_merkle_tree_new(leaf_get, &src, &t) == 0);
	for (i = 0; i < n; i++) {
		CHECK(audit_merkle_frontier_push(&f, 0, l[i]) == 0);
		CHECK(audit_merkle_tree_append(t, l[i]) == 0);
		audit_merkle_array_root(a.leaf, i + 1, want);
		audit_merkle_frontier_root(&f, got);
		CHECK(memcmp(want, got, AUDIT_HASH_LEN) == 0);
		CHECK(audit_merkle_tree_root(t, i + 1, got) == 0);
		CHECK(memcmp(want, got, AUDIT_HASH_LEN) == 0);
	}
	CHECK(audit_merkle_tree_size(t) == n);
	/* historic roots and proofs from the tree equal the plain ones */
	for (m = 1; m <= n; m += 37) {
		audit_merkle_array_root(a.leaf, m, want);
		src.reads = 0;
		CHECK(audit_merkle_tree_root(t, m, got) == 0);
		CHECK(memcmp(want, got, AUDIT_HASH_LEN) == 0);
		CHECK(src.reads < 64 * 2);
		for (i = 0; i < m; i += 53) {
			CHECK(audit_merkle_inclusion_prove(
			          audit_merkle_tree_node, t, i, m, &p) == 0);
			CHECK(audit_merkle_inclusion_prove(
			          audit_merkle_array_node, &a, i, m, &q) == 0);
			CHECK(proof_eq(&p, &q));
			CHECK(audit_merkle_inclusion_verify(
			          l[i], i, m, &p, want) == 0);
		}
		CHECK(audit_merkle_consistency_prove(
		          audit_merkle_tree_node, t, m, n, &p) == 0);
		CHECK(audit_merkle_consistency_prove(
		          audit_merkle_array_node, &a, m, n, &q) == 0);
		CHECK(proof_eq(&p, &q));
		audit_merkle_array_root(a.leaf, n, got);
		CHECK(
		    audit_merkle_consistency_verify(m, n, want, got, &p) == 0);
	}
	CHECK(audit_merkle_tree_root(t, n + 1, got) == PETRI_ERR_INVAL);
	CHECK(audit_merkle_tree_node(t, 3, n, got) == PETRI_ERR_NOTFOUND);
	audit_merkle_tree_free(t);
	audit_merkle_tree_free(NULL);
	free(l);
}

/* Left compact range + leaves + right compact range give the full root. */
static void
test_compact_ranges(void)
{
	const uint64_t n = 300;
	unsigned char(*l)[AUDIT_HASH_LEN] = big_leaves(n);
	struct audit_merkle_array a = {(const unsigned char(*)[32])l, n};
	struct audit_merkle_range left, right;
	struct audit_merkle_frontier f;
	unsigned char want[AUDIT_HASH_LEN], got[AUDIT_HASH_LEN];
	unsigned char h[AUDIT_HASH_LEN];
	uint64_t from, to, i;
	size_t k;
	int ok = 1;

	audit_merkle_array_root(a.leaf, n, want);
	for (from = 0; from <= n; from += 7)
		for (to = from; to <= n; to += 11) {
			CHECK(
			    audit_merkle_range_decompose(0, from, &left) == 0);
			CHECK(audit_merkle_range_decompose(to, n, &right) == 0);
			audit_merkle_frontier_init(&f);
			for (k = 0; k < left.count; k++) {
				ok &= audit_merkle_array_node(&a, left.level[k],
				          left.index[k], h) == 0;
				ok &= audit_merkle_frontier_push(
				          &f, left.level[k], h) == 0;
			}
			ok &= f.size == from;
			for (i = from; i < to; i++)
				ok &= audit_merkle_frontier_push(&f, 0, l[i]) ==
				    0;
			for (k = 0; k < right.count; k++) {
				ok &=
				    audit_merkle_array_node(&a, right.level[k],
				        right.index[k], h) == 0;
				ok &= audit_merkle_frontier_push(
				          &f, right.level[k], h) == 0;
			}
			audit_merkle_frontier_root(&f, got);
			ok &= f.size == n && memcmp(want, got, 32) == 0;
		}
	CHECK(ok);
	CHECK(audit_merkle_range_decompose(5, 4, &left) == PETRI_ERR_INVAL);
	CHECK(
	    audit_merkle_range_decompose(0, AUDIT_MERKLE_MAX_SIZE, &left) == 0);
	CHECK(left.count == 63);
	CHECK(audit_merkle_range_decompose(
	          1, AUDIT_MERKLE_MAX_SIZE - 1, &right) == 0);
	audit_merkle_frontier_init(&f);
	f.size = 3;
	CHECK(audit_merkle_frontier_push(&f, 1, h) == PETRI_ERR_INVAL);
	free(l);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	setup_vectors();
	UNIT_RUN(test_roots);
	UNIT_RUN(test_inclusion_vectors);
	UNIT_RUN(test_consistency_vectors);
	UNIT_RUN(test_all_pairs);
	UNIT_RUN(test_frontier_and_tree);
	UNIT_RUN(test_compact_ranges);
	return UNIT_DONE();
}
