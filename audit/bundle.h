/*
 * bundle.h: the offline audit bundle (docs/audit-format.md, "Bundle"): a
 * ustar archive that petri-verify checks with nothing but the log's public
 * key.  Members, all regular files:
 *
 *   petri-bundle.json        manifest (below)
 *   log.pub                  verifier key in force at export (informative)
 *   records.jsonl            records [from, to): each line the exact record
 *                            bytes, then '\n' (not part of the record)
 *   records.sig              one line per record: "<seq> <base64 sig>\n"
 *   checkpoints/<size>.txt   signed checkpoints, size zero-padded to 20
 *   rotations.jsonl          only when from > 0: the log.key_rotated records
 *                            before from, each with an inclusion proof in
 *                            the tree of size from
 *   timestamps/<size>.tsr    RFC 3161 token of a checkpoint (tsa.h), when
 *                            the log has one for that size
 *   blobs/<sha256 hex>       blobs the records reference
 *
 * Manifest: {"format":"petri-audit-bundle","version":1,"origin":...,
 * "created":...,"from":F,"to":T,"tree_size":N,"left":[hex...],
 * "right":[hex...]} where left holds the hashes of the compact range
 * [0, F) and right those of [T, N) (audit_merkle_range_decompose order).
 * With them, records [F, T) give the root of the tree of size N.
 *
 * Pure encoders and strict parsers; no I/O.
 */
#ifndef PETRI_AUDIT_BUNDLE_H
#define PETRI_AUDIT_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "audit_bounds.h"
#include "checkpoint.h"
#include "merkle.h"
#include "util.h"

#define AUDIT_BUNDLE_FORMAT "petri-audit-bundle"
#define AUDIT_BUNDLE_VERSION 1
#define AUDIT_BUNDLE_MANIFEST "petri-bundle.json"
#define AUDIT_BUNDLE_PUBKEY "log.pub"
#define AUDIT_BUNDLE_RECORDS "records.jsonl"
#define AUDIT_BUNDLE_SIGS "records.sig"
#define AUDIT_BUNDLE_ROTATIONS "rotations.jsonl"
#define AUDIT_BUNDLE_CP_PREFIX "checkpoints/"
#define AUDIT_BUNDLE_BLOB_PREFIX "blobs/"
#define AUDIT_BUNDLE_TS_PREFIX "timestamps/"
#define AUDIT_BUNDLE_CP_NAME_MAX 40 /* "checkpoints/" + 20 digits + ".txt" */
#define AUDIT_BUNDLE_SIG_LINE_MAX 112 /* "<seq> <88 base64>\n" + NUL */

/* The hashes of one compact range, in decomposition order. */
struct audit_bundle_range {
	size_t count;
	unsigned char hash[2 * AUDIT_MERKLE_MAX_LEVEL + 2][AUDIT_HASH_LEN];
};

struct audit_bundle_manifest {
	char origin[AUDIT_ORIGIN_MAX + 1];
	char created[PETRI_TIME_MAX];
	uint64_t from; /* first record in the bundle */
	uint64_t to; /* one past the last record */
	uint64_t tree_size; /* the newest checkpoint's size */
	struct audit_bundle_range left; /* compact range [0, from) */
	struct audit_bundle_range right; /* compact range [to, tree_size) */
};

/*
 * Encodes m as compact JSON.  *out is NUL-terminated; caller frees with
 * free().  Returns 0, PETRI_ERR_INVAL or PETRI_ERR_NOMEM.
 */
int audit_bundle_manifest_encode(
    const struct audit_bundle_manifest *m, char **out, size_t *lenp) PETRI_WUR;

/*
 * Parses a manifest strictly: exactly the members above, known format and
 * version, from <= to, sizes <= AUDIT_MERKLE_MAX_SIZE, the number of left
 * and right hashes those sizes imply (right empty when tree_size <= to).
 * Returns 0 or PETRI_ERR_INVAL / PETRI_ERR_TOOBIG.
 */
int audit_bundle_manifest_parse(
    const void *p, size_t len, struct audit_bundle_manifest *m) PETRI_WUR;

/*
 * Writes the records.sig line for seq into out (size >=
 * AUDIT_BUNDLE_SIG_LINE_MAX), with its newline.  Returns its length.
 */
size_t audit_bundle_sig_line(
    uint64_t seq, const unsigned char sig[AUDIT_SIG_LEN], char *out);

/*
 * Parses one records.sig line of len bytes (without its newline).
 * Returns 0 or PETRI_ERR_INVAL.
 */
int audit_bundle_sig_parse(const char *line, size_t len, uint64_t *seq,
    unsigned char sig[AUDIT_SIG_LEN]) PETRI_WUR;

/* Writes "checkpoints/<size, 20 digits>.txt" into out. */
void audit_bundle_cp_name(uint64_t size, char out[AUDIT_BUNDLE_CP_NAME_MAX]);

/*
 * Parses a checkpoint member name back to its size.
 * Returns 0 or PETRI_ERR_INVAL.
 */
int audit_bundle_cp_name_parse(const char *name, uint64_t *size) PETRI_WUR;

/* Writes "timestamps/<size, 20 digits>.tsr" into out. */
void audit_bundle_ts_name(uint64_t size, char out[AUDIT_BUNDLE_CP_NAME_MAX]);

/* Parses a timestamp member name.  Returns 0 or PETRI_ERR_INVAL. */
int audit_bundle_ts_name_parse(const char *name, uint64_t *size) PETRI_WUR;

/* A key rotation record shipped with its proof (rotations.jsonl). */
struct audit_bundle_rotation {
	uint64_t seq;
	unsigned char *bytes; /* owned, record bytes */
	size_t len;
	unsigned char sig[AUDIT_SIG_LEN];
	struct audit_merkle_proof proof;
};

/*
 * Encodes one rotations.jsonl line (with its newline).  *out is
 * NUL-terminated; caller frees with free().  Returns 0 or _NOMEM/_INVAL.
 */
int audit_bundle_rotation_encode(const struct audit_bundle_rotation *rot,
    char **out, size_t *lenp) PETRI_WUR;

/*
 * Parses one rotations.jsonl line of len bytes (without its newline).
 * On success rot->bytes is allocated (free with
 * audit_bundle_rotation_clear()).  Returns 0, PETRI_ERR_INVAL, _TOOBIG or
 * _NOMEM.
 */
int audit_bundle_rotation_parse(
    const char *line, size_t len, struct audit_bundle_rotation *rot) PETRI_WUR;

/* Frees rot->bytes. */
void audit_bundle_rotation_clear(struct audit_bundle_rotation *rot);

#endif /* PETRI_AUDIT_BUNDLE_H */
