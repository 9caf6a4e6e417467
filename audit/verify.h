/*
 * verify.h: the offline verifier behind petri-verify.  Checks an audit
 * bundle (bundle.h) against the log's first public key: every record's
 * bytes, leaf hash, prev link and seq continuity, per-record signatures
 * with the key in force at each seq (following log.key_rotated from the
 * pinned key), every checkpoint's signature and Merkle root, consistency
 * with a trusted (pinned) checkpoint, and blobs against the records that
 * reference them.  Links only jansson and libsodium.
 *
 * The first failure, ordered by seq, is reported with a finding code and a
 * message; records after the newest checkpoint are reported as unsealed.
 * Links jansson and libsodium, and libcrypto for RFC 3161 tokens.
 */
#ifndef PETRI_AUDIT_VERIFY_H
#define PETRI_AUDIT_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "merkle.h"
#include "petri_err.h"

/* Overall outcome; petri-verify uses these as its exit codes. */
#define AUDIT_VERIFY_OK 0 /* every record verified and sealed */
#define AUDIT_VERIFY_FAILED 1 /* a finding: tampering or corruption */
#define AUDIT_VERIFY_UNSEALED 2 /* all verified, but some records unsealed */

/* What the first failure was. */
enum audit_finding_code {
	AUDIT_FIND_NONE = 0,
	AUDIT_FIND_BUNDLE, /* not a well-formed bundle */
	AUDIT_FIND_PARTIAL, /* bundle misses records (without --partial) */
	AUDIT_FIND_KEY, /* pinned key or a key rotation is invalid */
	AUDIT_FIND_ORIGIN, /* something from another log */
	AUDIT_FIND_RECORD, /* record bytes malformed */
	AUDIT_FIND_MODIFIED, /* record bytes changed after signing */
	AUDIT_FIND_SEQ_GAP, /* a record is missing (deleted) */
	AUDIT_FIND_SEQ_ORDER, /* a seq is duplicated, inserted or reordered */
	AUDIT_FIND_PREV, /* prev does not link to the previous leaf */
	AUDIT_FIND_SIG_MISSING, /* a record has no signature */
	AUDIT_FIND_SIG, /* a record signature is not the key's */
	AUDIT_FIND_CHECKPOINT, /* a checkpoint is malformed or misplaced */
	AUDIT_FIND_CHECKPOINT_SIG, /* checkpoint not signed by the log key */
	AUDIT_FIND_ROOT, /* checkpoint root differs from the records */
	AUDIT_FIND_BLOB, /* blob bytes differ from their hash/size */
	AUDIT_FIND_BLOB_MISSING, /* referenced blob absent, not deleted */
	AUDIT_FIND_ROLLBACK, /* bundle older than the trusted checkpoint */
	AUDIT_FIND_FORK, /* bundle inconsistent with the trusted one */
	AUDIT_FIND_TRUSTED, /* trusted checkpoint unusable */
	AUDIT_FIND_WITNESS, /* newest checkpoint lacks a witness quorum */
	AUDIT_FIND_TIMESTAMP, /* an RFC 3161 token is missing or invalid */
};

struct audit_finding {
	enum audit_finding_code code;
	int64_t seq; /* first bad seq, or -1 */
	char msg[256];
};

struct audit_verify_opts {
	struct audit_key key; /* the log's first (pinned) key */
	const char *trusted; /* pinned checkpoint note, or NULL */
	size_t trusted_len;
	int threads; /* signature/parse threads; 0: online CPUs */
	int fast; /* see below */
	int partial; /* accept bundles that do not start at 0 or
				   stop before their newest checkpoint */
	const struct audit_key *witnesses; /* cosigner keys, or NULL */
	size_t nwitnesses;
	int quorum; /* cosignatures the newest checkpoint needs */
	const char *tsa_ca_file; /* check RFC 3161 tokens against it */
};

/*
 * fast: per-record signatures are checked for unsealed records, key
 * rotations and a random 1 in 64 of the rest.  Sealed records are still
 * fully authenticated by the checkpoint signature over the Merkle root;
 * only tampering with the detached signature bytes of sealed records may
 * then go unnoticed.  Off by default.
 */

struct audit_verify_result {
	int status; /* AUDIT_VERIFY_* */
	struct audit_finding first; /* when status is FAILED */
	char origin[AUDIT_ORIGIN_MAX + 1];
	uint64_t from, to; /* records [from, to) in the bundle */
	uint64_t records; /* records verified */
	uint64_t sealed, unsealed;
	uint64_t tree_size; /* newest verified checkpoint */
	unsigned char root[AUDIT_HASH_LEN];
	size_t checkpoints; /* checkpoints verified */
	size_t key_rotations;
	uint64_t sigs_checked, sigs_skipped;
	size_t blobs, blobs_erased, blobs_unreferenced;
	int trusted_checked;
	int partial;
	int cosignatures; /* valid ones on the newest, with witnesses */
	size_t timestamps; /* RFC 3161 tokens in the bundle */
	uint64_t timestamp_size; /* newest verified one (tsa_ca_file) */
	int64_t timestamp_time; /* its genTime, POSIX seconds */
	char *checkpoint; /* newest verified note (for
					   --save-trusted), or NULL */
	size_t checkpoint_len;
};

/* Returns a short stable name for a finding code ("seq-gap", ...). */
const char *audit_finding_name(enum audit_finding_code code);

/*
 * Verifies the bundle held in buf[0..len).  Fills res (free with
 * audit_verify_result_free()).  Returns 0 when verification ran (the
 * verdict is res->status, also for a malformed bundle), or a negative
 * PETRI_ERR_* code when it could not run (out of memory).
 */
int audit_verify_bundle(const void *buf, size_t len,
    const struct audit_verify_opts *opts,
    struct audit_verify_result *res) PETRI_WUR;

/* As audit_verify_bundle() on a file, mapped read-only. */
int audit_verify_file(const char *path, const struct audit_verify_opts *opts,
    struct audit_verify_result *res) PETRI_WUR;

/* Frees what a result holds; safe on a zeroed result. */
void audit_verify_result_free(struct audit_verify_result *res);

/* A single proof as served by the keeper and read by petri-verify. */
struct audit_proof_doc {
	int type; /* 1 inclusion, 2 consistency */
	uint64_t index; /* inclusion: leaf index (= seq) */
	uint64_t tree_size; /* inclusion: tree size */
	uint64_t old_size, new_size; /* consistency */
	int has_leaf;
	unsigned char leaf[AUDIT_HASH_LEN];
	struct audit_merkle_proof proof;
};

/*
 * Encodes {"type":"inclusion","seq":..,"tree_size":..,"leaf_hash":hex,
 * "hashes":[hex...]} or {"type":"consistency","old_size":..,"new_size":..,
 * "hashes":[...]}.  *out NUL-terminated; caller frees with free().
 * Returns 0, PETRI_ERR_INVAL or PETRI_ERR_NOMEM.
 */
int audit_proof_encode(
    const struct audit_proof_doc *d, char **out, size_t *lenp) PETRI_WUR;

/* Parses the above strictly.  Returns 0 or PETRI_ERR_INVAL/_TOOBIG. */
int audit_proof_parse(
    const char *s, size_t len, struct audit_proof_doc *d) PETRI_WUR;

#endif /* PETRI_AUDIT_VERIFY_H */
