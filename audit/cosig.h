/*
 * cosig.h: witness cosignatures (c2sp.org/tlog-cosignature, Ed25519
 * cosignature/v1) and the witness protocol's bodies (c2sp.org/tlog-witness,
 * add-checkpoint).
 *
 * A cosignature is one signed-note signature line on a checkpoint:
 *
 *   — <cosigner name> base64(key id || u64 timestamp BE || Ed25519 sig)
 *
 * over the message "cosignature/v1\ntime <timestamp>\n" || checkpoint text.
 * The key id is SHA-256(name || 0x0A || 0x04 || pub)[:4]
 * (audit_cosigner_key_init).
 *
 * add-checkpoint request body:
 *
 *   old <size>\n
 *   <base64 hash>\n ...     (0..63 consistency proof lines)
 *   \n
 *   <signed checkpoint note>
 *
 * Pure and bounded; no I/O.
 */
#ifndef PETRI_AUDIT_COSIG_H
#define PETRI_AUDIT_COSIG_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "merkle.h"
#include "petri_err.h"

#define AUDIT_COSIG_BLOB_LEN (AUDIT_KEY_ID_LEN + 8 + AUDIT_SIG_LEN)
/* "— " + name + " " + base64(76 bytes) + "\n" + NUL */
#define AUDIT_COSIG_LINE_MAX                                                   \
	(4 + AUDIT_ORIGIN_MAX + 1 + AUDIT_B64_LEN(AUDIT_COSIG_BLOB_LEN) + 1)
#define AUDIT_WITNESS_PROOF_MAX 63 /* proof lines in one request */
/* old line, proof lines, blank line, a note */
#define AUDIT_WITNESS_REQ_MAX                                                  \
	(32 + AUDIT_WITNESS_PROOF_MAX * 45 + 1 + AUDIT_NOTE_MAX)
#define AUDIT_COSIG_TIME_MAX ((uint64_t)INT64_MAX)

/* One cosignature found in a note. */
struct audit_cosig {
	uint64_t timestamp; /* POSIX seconds */
	size_t off, len; /* its line in the note, with the newline */
};

/*
 * Cosigns checkpoint text (text_len bytes, the note text up to and
 * including its last newline) at POSIX time ts with cosigner key k / sk,
 * writing one signature line with its newline into line (NUL-terminated,
 * size >= AUDIT_COSIG_LINE_MAX).  Returns 0 or PETRI_ERR_INVAL.
 */
int audit_cosig_sign(const char *text, size_t text_len,
    const struct audit_key *k, const unsigned char sk[AUDIT_SECKEY_LEN],
    uint64_t ts, char *line, size_t linelen, size_t *lenp) PETRI_WUR;

/*
 * Finds the cosignature by cosigner key k in a signed note of len bytes
 * and verifies it.  Lines of other keys are ignored.  Fills *out (when not
 * NULL) with the first valid one.
 * Returns 0; PETRI_ERR_INVAL / _TOOBIG (malformed note), PETRI_ERR_NOTFOUND
 * (no line from k), PETRI_ERR_CRYPTO (a line from k that does not verify
 * or has a timestamp past 2^63 - 1).
 */
int audit_cosig_verify(const char *note, size_t len, const struct audit_key *k,
    struct audit_cosig *out) PETRI_WUR;

/*
 * Counts the distinct keys among keys[0..n) with a valid cosignature on
 * the note (duplicates in keys count once).  Returns the count (>= 0) or
 * PETRI_ERR_INVAL / _TOOBIG for a malformed note.
 */
int audit_cosig_count(const char *note, size_t len,
    const struct audit_key *keys, size_t n) PETRI_WUR;

/* A parsed add-checkpoint body; note points into the body. */
struct audit_witness_req {
	uint64_t old_size;
	struct audit_merkle_proof proof;
	const char *note;
	size_t note_len;
};

/*
 * Parses an add-checkpoint body of len bytes (at most
 * AUDIT_WITNESS_REQ_MAX): "old N" (decimal, no leading zero), up to 63
 * canonical base64 hashes, a blank line, then the note (its shape is left
 * to audit_checkpoint_parse).  Returns 0, PETRI_ERR_INVAL or _TOOBIG.
 */
int audit_witness_req_parse(
    const char *body, size_t len, struct audit_witness_req *req) PETRI_WUR;

/*
 * Encodes an add-checkpoint body.  *out is NUL-terminated; caller frees
 * with free().  Returns 0, PETRI_ERR_INVAL, _TOOBIG or _NOMEM.
 */
int audit_witness_req_encode(uint64_t old_size,
    const struct audit_merkle_proof *proof, const char *note, size_t note_len,
    char **out, size_t *lenp) PETRI_WUR;

/*
 * Parses a 409 answer body (text/x.tlog.size): a decimal size and a
 * newline.  Returns 0 or PETRI_ERR_INVAL.
 */
int audit_witness_size_parse(
    const char *body, size_t len, uint64_t *size) PETRI_WUR;

#endif /* PETRI_AUDIT_COSIG_H */
