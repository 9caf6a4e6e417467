/*
 * audit_log.h: the keeper's audit log store: audit.db (SQLite, WAL),
 * blobs/ (content-addressed) and keys/ (the Ed25519 signing key) under one
 * directory.  It assigns seq and prev, builds and signs each record, makes
 * it durable before answering, seals checkpoints, answers proofs and writes
 * offline bundles for petri-verify.  Formats: docs/audit-format.md.
 *
 * Only the keeper process opens a log, once.  Every function is
 * thread-safe (one internal mutex; appends from several threads share one
 * SQLite commit, "group commit").  No IPC here.
 *
 * (Named audit_log.h, not log.h, so that it cannot be shadowed by
 * appliance/common/log.h on the include path.)
 */
#ifndef PETRI_AUDIT_LOG_H
#define PETRI_AUDIT_LOG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "audit_bounds.h"
#include "checkpoint.h"
#include "merkle.h"
#include "petri_err.h"
#include "record.h"

struct audit_log;

/* What an append answers (the API's "audit": {seq, leaf_hash}). */
struct audit_appended {
	uint64_t seq;
	unsigned char leaf[AUDIT_HASH_LEN];
	char leaf_hex[2 * AUDIT_HASH_LEN + 1];
	unsigned char sig[AUDIT_SIG_LEN];
};

/* A stored record: exact bytes, leaf hash, signature and signing key id. */
struct audit_entry {
	uint64_t seq;
	unsigned char *bytes; /* owned, NUL-terminated, len bytes */
	size_t len;
	unsigned char leaf[AUDIT_HASH_LEN];
	unsigned char sig[AUDIT_SIG_LEN];
	char key_id[AUDIT_KEY_ID_HEX];
};

/* One signing key of the log's history. */
struct audit_log_key {
	struct audit_key key;
	uint64_t first_seq; /* first record signed with it */
	int64_t created_usec;
};

/* What an export wrote. */
struct audit_export_info {
	uint64_t from, to; /* records [from, to) */
	uint64_t tree_size; /* size of the newest checkpoint in the bundle */
	unsigned char root[AUDIT_HASH_LEN];
	size_t checkpoints;
	size_t blobs; /* blobs written */
	size_t blobs_missing; /* referenced but absent (deleted) */
};

/*
 * Opens (creating when absent) the log in dir: dir/audit.db, dir/blobs/,
 * dir/keys/ (0700 directories, 0600 files).  A new log gets a fresh
 * signing key, exported as keys/log.pub (note verifier key) and
 * keys/log.pub.hex (raw public key).  origin names the log (note key name
 * rules); it must match a stored log's origin, or be NULL to take it.
 * Opening rebuilds the Merkle tree from the stored leaf hashes, checks the
 * last record (leaf hash, prev link, signature) and the newest checkpoint
 * against the tree, finishes or discards an interrupted key rotation, and
 * then appends a "log.started" record (on every open: each keeper start is
 * on the record).
 * Caller closes with audit_log_close().  Returns 0; PETRI_ERR_INVAL (bad
 * origin, origin mismatch), _IO, _DB, _NOMEM, _UNSUPPORTED (newer schema),
 * _CRYPTO (tail or checkpoint does not verify, key does not match the log),
 * _STATE (records missing under a checkpoint, broken seq sequence).
 */
int audit_log_open(
    const char *dir, const char *origin, struct audit_log **logp) PETRI_WUR;

/*
 * Seals a final checkpoint (forced) and closes the log.  Appends still
 * running in other threads must have returned.  NULL is a no-op.
 */
void audit_log_close(struct audit_log *log);

/*
 * Group commit (on by default): concurrent appends share one transaction.
 * Off: each append commits alone while holding the lock (for measurement).
 */
void audit_log_set_group_commit(struct audit_log *log, int on);

/*
 * Appends one record of the given type with event's fields (a JSON object,
 * not modified, see record.h for the rules and blob references; every
 * referenced blob must already be stored).  Returns once the record is
 * durable (SQLite WAL, synchronous=FULL), filling out when not NULL.
 * Returns 0; PETRI_ERR_INVAL (type, event), _TOOBIG, _NOTFOUND (a
 * referenced blob is not stored), _DB or _IO (nothing was stored: no seq
 * was consumed), _STATE (the log failed earlier; reopen it).
 */
int audit_log_append(struct audit_log *log, const char *type, json_t *event,
    struct audit_appended *out) PETRI_WUR;

/* Number of durable records (the next seq). */
uint64_t audit_log_size(struct audit_log *log);

/*
 * Waits until the log holds more than size records or timeout_ms passes
 * (for SIEM sinks following the log).  Returns 0 when it does, else
 * PETRI_ERR_TIMEOUT.
 */
int audit_log_wait(
    struct audit_log *log, uint64_t size, int timeout_ms) PETRI_WUR;

/*
 * Stores a blob of at most AUDIT_BLOB_MAX bytes under its SHA-256
 * (blobs/<2 hex>/<64 hex>, written atomically and synced) and writes the
 * hash to sha_hex.  Storing an existing blob again is a no-op.
 * Returns 0, PETRI_ERR_TOOBIG or PETRI_ERR_IO.
 */
int audit_log_blob_put(struct audit_log *log, const void *data, size_t len,
    char sha_hex[PETRI_SHA256_HEX]) PETRI_WUR;

/*
 * Reads the blob named sha_hex (64 lowercase hex) of at most max bytes and
 * checks its hash.  *out is NUL-terminated; caller frees with free().
 * Returns 0, PETRI_ERR_INVAL (bad name), _NOTFOUND, _TOOBIG, _IO or
 * _CRYPTO (the stored bytes do not match their name).
 */
int audit_log_blob_get(struct audit_log *log, const char *sha_hex, size_t max,
    unsigned char **out, size_t *lenp) PETRI_WUR;

/*
 * Deletes a blob (retention, erasure): first appends a durable
 * "blob.deleted" record {"sha256", "reason"}, then removes the file.
 * Returns 0, PETRI_ERR_INVAL, _NOTFOUND, or an append/IO error.
 */
int audit_log_blob_delete(struct audit_log *log, const char *sha_hex,
    const char *reason, struct audit_appended *out) PETRI_WUR;

/*
 * Retention: blobs that only records older than before_usec name (every
 * record naming them is under the newest checkpoint sealed before then),
 * newest first, below cursor (the seq of the last record naming them;
 * UINT64_MAX to start).  Up to max names go to names (64 hex and a NUL;
 * a blob deleted earlier may be among them), the seq of the newest
 * record naming each to seqs.  *n gets the count.  Returns 0 or
 * PETRI_ERR_DB.
 */
int audit_log_blobs_before(struct audit_log *log, int64_t before_usec,
    uint64_t cursor, char (*names)[PETRI_SHA256_HEX], uint64_t *seqs,
    size_t max, size_t *n) PETRI_WUR;

/*
 * Signs and stores a checkpoint for the current size if the log grew
 * since the last one, at most once per AUDIT_CHECKPOINT_MIN_MS unless
 * force.  Call it from a timer, before an export and at shutdown.  All
 * checkpoints derive from the one append-only tree, so no two are
 * inconsistent.  Returns 1 when it signed one, 0 when none was due, or a
 * PETRI_ERR_* code.
 */
int audit_log_checkpoint(struct audit_log *log, int force) PETRI_WUR;

/*
 * The newest checkpoint: its signed note text (*text NUL-terminated, caller
 * frees with free(); text may be NULL) and parsed fields (cp may be NULL).
 * Returns 0, PETRI_ERR_NOTFOUND (none yet) or _DB/_NOMEM.
 */
int audit_log_checkpoint_latest(struct audit_log *log, char **text,
    size_t *lenp, struct audit_checkpoint *cp) PETRI_WUR;

/*
 * Stores a witness's cosignature line (one signature line with its
 * newline, already verified by the caller) beside the stored checkpoint
 * of that size; it is then part of the note that
 * audit_log_checkpoint_latest() and exports give (the log's note with the
 * cosignature lines appended, in witness order).  witness names the
 * witness (its verifier key); a second line for the same pair replaces
 * the first.  Returns 0, PETRI_ERR_INVAL, _NOTFOUND (no checkpoint of that
 * size) or _DB.
 */
int audit_log_cosig_add(struct audit_log *log, uint64_t size,
    const char *witness, const char *line, size_t len) PETRI_WUR;

/*
 * Stores the RFC 3161 token (DER, verified by the caller; tsa.h) of the
 * stored checkpoint of that size, with its genTime (POSIX seconds);
 * exports carry it as timestamps/<size>.tsr.  Returns 0, PETRI_ERR_INVAL,
 * _NOTFOUND (no checkpoint of that size) or _DB.
 */
int audit_log_tsa_add(struct audit_log *log, uint64_t size,
    const unsigned char *token, size_t len, int64_t gen_time) PETRI_WUR;

/*
 * Inclusion proof of record seq in the tree of the given size; size 0
 * means the newest checkpoint's size (written to *sizep when not NULL).
 * Returns 0, PETRI_ERR_NOTFOUND (no checkpoint yet, or seq not below the
 * size: force a checkpoint first), PETRI_ERR_INVAL (size past the log).
 */
int audit_log_prove_inclusion(struct audit_log *log, uint64_t seq,
    uint64_t size, struct audit_merkle_proof *proof, uint64_t *sizep) PETRI_WUR;

/*
 * Consistency proof from old_size to new_size (0 < old <= new <= size).
 * Returns 0 or PETRI_ERR_INVAL.
 */
int audit_log_prove_consistency(struct audit_log *log, uint64_t old_size,
    uint64_t new_size, struct audit_merkle_proof *proof) PETRI_WUR;

/*
 * Fetches record seq.  Caller frees with audit_entry_clear().
 * Returns 0, PETRI_ERR_NOTFOUND or _DB/_NOMEM.
 */
int audit_log_record_get(
    struct audit_log *log, uint64_t seq, struct audit_entry *e) PETRI_WUR;

/*
 * Fetches up to count (<= AUDIT_LOG_MAX_RANGE) records from seq from on.
 * *out gets *n entries (possibly 0); caller frees with
 * audit_entries_free().  Returns 0, PETRI_ERR_INVAL or _DB/_NOMEM.
 */
int audit_log_records_get(struct audit_log *log, uint64_t from, size_t count,
    struct audit_entry **out, size_t *n) PETRI_WUR;

/* Frees an entry's bytes; safe on a zeroed entry. */
void audit_entry_clear(struct audit_entry *e);

/* Frees an array of n entries from audit_log_records_get(); NULL is ok. */
void audit_entries_free(struct audit_entry *e, size_t n);

/*
 * Writes an offline bundle (bundle.h) of records [from, to) to path
 * (atomically, mode 0600).  First seals a checkpoint (forced); to 0, or to
 * past that checkpoint, means up to it.  The bundle carries the stored
 * checkpoints in range (at most AUDIT_BUNDLE_MAX_CHECKPOINTS, thinned
 * evenly, always the newest), the compact ranges that tie a partial range
 * to them, earlier key rotations with inclusion proofs, and every blob the
 * records reference that is still stored.  The caller records
 * "audit.exported" itself (with the actor).  info may be NULL.
 * Returns 0, PETRI_ERR_INVAL (from > to), _IO, _DB, _NOMEM.
 */
int audit_log_export(struct audit_log *log, uint64_t from, uint64_t to,
    const char *path, struct audit_export_info *info) PETRI_WUR;

/*
 * Rotates the signing key: a "log.key_rotated" record naming the new key
 * ({"key_id", "new_key", "new_key_id"}, new_key a note verifier key) is
 * signed by the old key; later records and checkpoints are signed by the
 * new one; keys/log.pub is rewritten and the old secret key destroyed.
 * Crash-safe (keys/log.key.new is adopted or discarded on open).
 * Returns 0 or a PETRI_ERR_* code (the old key stays in force).
 */
int audit_log_rotate_key(
    struct audit_log *log, struct audit_appended *out) PETRI_WUR;

/* The verifier key in force now.  Returns 0. */
int audit_log_public_key(struct audit_log *log, struct audit_key *k);

/*
 * The key history, oldest first.  *keys gets *n entries; caller frees with
 * free().  Returns 0, PETRI_ERR_DB or _NOMEM.
 */
int audit_log_keys(
    struct audit_log *log, struct audit_log_key **keys, size_t *n) PETRI_WUR;

#endif /* PETRI_AUDIT_LOG_H */
