/*
 * merkle.h: RFC 9162 §2.1 Merkle tree math.  Leaf hash SHA-256(0x00 || data),
 * interior hash SHA-256(0x01 || left || right), tree heads, inclusion and
 * consistency proofs (§2.1.3, §2.1.4), and two incremental structures: a
 * frontier (the perfect subtrees of a prefix, O(log n) per append) for
 * verifiers, and a tree with a node cache for the keeper, which answers
 * roots and proofs for any size without rereading every leaf.
 *
 * Pure: no I/O and no globals.  Leaves that are not cached are asked for
 * through a callback.  Sizes are at most AUDIT_MERKLE_MAX_SIZE (2^63 - 1).
 */
#ifndef PETRI_AUDIT_MERKLE_H
#define PETRI_AUDIT_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "petri_err.h"

#define AUDIT_HASH_LEN 32
#define AUDIT_MERKLE_MAX_SIZE ((uint64_t)INT64_MAX)
#define AUDIT_MERKLE_MAX_LEVEL 63
#define AUDIT_MERKLE_MAX_PROOF 64 /* hashes in any proof */

/* A proof: count hashes, in the order RFC 9162 defines. */
struct audit_merkle_proof {
	size_t count;
	unsigned char hash[AUDIT_MERKLE_MAX_PROOF][AUDIT_HASH_LEN];
};

/*
 * Fills out with the hash of the perfect subtree that covers leaves
 * [index << level, (index + 1) << level).  Returns 0 or a PETRI_ERR_* code
 * (PETRI_ERR_NOTFOUND when the subtree is not complete).
 */
typedef int (*audit_merkle_node_fn)(void *arg, unsigned level, uint64_t index,
    unsigned char out[AUDIT_HASH_LEN]);

/* Fills out with the leaf hash of leaf index.  Returns 0 or PETRI_ERR_*. */
typedef int (*audit_merkle_leaf_fn)(
    void *arg, uint64_t index, unsigned char out[AUDIT_HASH_LEN]);

/* out = SHA-256(0x00 || data). */
void audit_merkle_leaf_hash(
    const void *data, size_t len, unsigned char out[AUDIT_HASH_LEN]);

/* out = SHA-256(0x01 || left || right); out may alias either input. */
void audit_merkle_node_hash(const unsigned char left[AUDIT_HASH_LEN],
    const unsigned char right[AUDIT_HASH_LEN],
    unsigned char out[AUDIT_HASH_LEN]);

/* The root of the empty tree, SHA-256 of the empty string. */
void audit_merkle_empty_root(unsigned char out[AUDIT_HASH_LEN]);

/*
 * MTH(D[begin:end]) for a range the RFC 9162 recursion visits: begin is a
 * multiple of a power of two that is at least end - begin (so 0 always
 * works).  Subtrees come from fn.  Returns 0, PETRI_ERR_INVAL for a range
 * of another shape, or the first error of fn.
 */
int audit_merkle_range_hash(audit_merkle_node_fn fn, void *arg, uint64_t begin,
    uint64_t end, unsigned char out[AUDIT_HASH_LEN]) PETRI_WUR;

/* The leaf hashes of a tree held in memory, as a node source. */
struct audit_merkle_array {
	const unsigned char (*leaf)[AUDIT_HASH_LEN];
	uint64_t n;
};

/*
 * audit_merkle_node_fn over a struct audit_merkle_array: hashes the subtree
 * from its leaves (O(2^level)).  PETRI_ERR_NOTFOUND past the last leaf.
 */
int audit_merkle_array_node(void *array, unsigned level, uint64_t index,
    unsigned char out[AUDIT_HASH_LEN]);

/* The root of n leaf hashes held in an array (n may be 0). */
void audit_merkle_array_root(const unsigned char (*leaf)[AUDIT_HASH_LEN],
    uint64_t n, unsigned char out[AUDIT_HASH_LEN]);

/*
 * RFC 9162 §2.1.3.1 PATH(index, D[size]).  Returns 0, PETRI_ERR_INVAL when
 * index >= size, or the first error of fn.
 */
int audit_merkle_inclusion_prove(audit_merkle_node_fn fn, void *arg,
    uint64_t index, uint64_t size, struct audit_merkle_proof *proof) PETRI_WUR;

/*
 * RFC 9162 §2.1.3.2: checks that leaf is leaf index of the tree of the
 * given size and root.  Returns 0 when it is, PETRI_ERR_CRYPTO when the
 * proof does not lead to root, PETRI_ERR_INVAL when index >= size or the
 * proof has the wrong length.
 */
int audit_merkle_inclusion_verify(const unsigned char leaf[AUDIT_HASH_LEN],
    uint64_t index, uint64_t size, const struct audit_merkle_proof *proof,
    const unsigned char root[AUDIT_HASH_LEN]) PETRI_WUR;

/*
 * RFC 9162 §2.1.4.1 PROOF(old_size, D[new_size]); empty when the sizes are
 * equal.  Returns 0, PETRI_ERR_INVAL unless 0 < old_size <= new_size, or
 * the first error of fn.
 */
int audit_merkle_consistency_prove(audit_merkle_node_fn fn, void *arg,
    uint64_t old_size, uint64_t new_size,
    struct audit_merkle_proof *proof) PETRI_WUR;

/*
 * RFC 9162 §2.1.4.2: checks that the tree (old_size, old_root) is a prefix
 * of (new_size, new_root).  Equal sizes need an empty proof and equal roots;
 * old_size 0 is consistent with anything and needs an empty proof.
 * Returns 0 when consistent, PETRI_ERR_CRYPTO when not, PETRI_ERR_INVAL
 * for sizes out of order or a proof of the wrong shape.
 */
int audit_merkle_consistency_verify(uint64_t old_size, uint64_t new_size,
    const unsigned char old_root[AUDIT_HASH_LEN],
    const unsigned char new_root[AUDIT_HASH_LEN],
    const struct audit_merkle_proof *proof) PETRI_WUR;

/*
 * A compact range: the perfect subtrees that cover [begin, end), left to
 * right, each as (level, index).  For begin 0 these are the subtrees whose
 * hashes make the frontier of a tree of size end.
 */
struct audit_merkle_range {
	size_t count;
	unsigned char level[2 * AUDIT_MERKLE_MAX_LEVEL + 2];
	uint64_t index[2 * AUDIT_MERKLE_MAX_LEVEL + 2];
};

/*
 * Decomposes [begin, end) into its compact range.  Returns 0 or
 * PETRI_ERR_INVAL when begin > end or end > AUDIT_MERKLE_MAX_SIZE.
 */
int audit_merkle_range_decompose(
    uint64_t begin, uint64_t end, struct audit_merkle_range *r) PETRI_WUR;

/*
 * A frontier: the hashes of the perfect subtrees of a tree prefix, one per
 * set bit of size (hash[k] covers 2^k leaves).  Enough to append and to
 * compute the current root; nothing else is kept.
 */
struct audit_merkle_frontier {
	uint64_t size;
	unsigned char hash[AUDIT_MERKLE_MAX_LEVEL + 1][AUDIT_HASH_LEN];
};

/* Empties f (size 0). */
void audit_merkle_frontier_init(struct audit_merkle_frontier *f);

/*
 * Appends a perfect subtree of 2^level leaves with the given hash (level 0:
 * one leaf hash).  f->size must be a multiple of 2^level.  Returns 0 or
 * PETRI_ERR_INVAL (misaligned, or the size would pass the maximum).
 */
int audit_merkle_frontier_push(struct audit_merkle_frontier *f, unsigned level,
    const unsigned char hash[AUDIT_HASH_LEN]) PETRI_WUR;

/* The root of the tree f describes. */
void audit_merkle_frontier_root(
    const struct audit_merkle_frontier *f, unsigned char out[AUDIT_HASH_LEN]);

/*
 * The keeper's tree: a frontier plus every complete subtree hash at levels
 * >= AUDIT_MERKLE_CACHE_LEVEL (about one byte of memory per leaf).  Smaller
 * subtrees are rebuilt from at most 2^(AUDIT_MERKLE_CACHE_LEVEL-1) leaves
 * asked for through the leaf callback, so a root or proof at any size costs
 * O(log n) lookups plus a few dozen leaf reads.
 */
#define AUDIT_MERKLE_CACHE_LEVEL 6

struct audit_merkle_tree;

/*
 * Creates an empty tree whose uncached leaves come from leaf(arg, index).
 * Caller frees with audit_merkle_tree_free().  Returns 0 or _NOMEM.
 */
int audit_merkle_tree_new(audit_merkle_leaf_fn leaf, void *arg,
    struct audit_merkle_tree **tp) PETRI_WUR;

/* Frees t; NULL is a no-op. */
void audit_merkle_tree_free(struct audit_merkle_tree *t);

/*
 * Appends one leaf hash.  Returns 0, PETRI_ERR_NOMEM (the tree is then
 * unchanged) or PETRI_ERR_INVAL at the maximum size.
 */
int audit_merkle_tree_append(struct audit_merkle_tree *t,
    const unsigned char leaf[AUDIT_HASH_LEN]) PETRI_WUR;

/* Number of leaves. */
uint64_t audit_merkle_tree_size(const struct audit_merkle_tree *t);

/*
 * The root of the first size leaves (size <= audit_merkle_tree_size()).
 * Returns 0, PETRI_ERR_INVAL for a larger size, or a leaf callback error.
 */
int audit_merkle_tree_root(struct audit_merkle_tree *t, uint64_t size,
    unsigned char out[AUDIT_HASH_LEN]) PETRI_WUR;

/* audit_merkle_node_fn over a struct audit_merkle_tree (complete subtrees). */
int audit_merkle_tree_node(void *tree, unsigned level, uint64_t index,
    unsigned char out[AUDIT_HASH_LEN]);

#endif /* PETRI_AUDIT_MERKLE_H */
