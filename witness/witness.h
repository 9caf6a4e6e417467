/*
 * witness.h: the core of petri-witness, a C2SP tlog-witness
 * (c2sp.org/tlog-witness).  For every log it follows (origin and the
 * log's verifier key, configured) it keeps the newest checkpoint it
 * cosigned, in one file per log under the state directory, and cosigns a
 * new checkpoint (c2sp.org/tlog-cosignature, cosignature/v1) only when it
 * is signed by the log and consistent with that one.  Checking the old
 * size and persisting the new checkpoint happen under one lock, so two
 * racing requests can never roll the state back.
 *
 * A refused checkpoint that the log did sign (a fork or an inconsistent
 * proof) is kept under <state>/evidence/: it is proof that the log
 * misbehaved.
 *
 * No network code here: witness_main.c serves HTTP.
 */
#ifndef PETRI_WITNESS_H
#define PETRI_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "cosig.h"
#include "petri_err.h"

#define WITNESS_MAX_LOGS 64
#define WITNESS_LOG_KEYS 8 /* verifier keys per log (key rotations) */
#define WITNESS_STATE_MAX 4096 /* path of the state directory */

struct witness;

/* What an add-checkpoint request gets: an HTTP status and a body. */
struct witness_answer {
	int status; /* 200, 400, 403, 404, 409, 422, 500 */
	const char *type; /* Content-Type */
	char body[AUDIT_COSIG_LINE_MAX + 64];
	size_t len;
};

/*
 * Creates a witness named by key k (a cosigner key, audit_cosigner_*) with
 * secret key sk (copied into sodium_malloc'd memory), keeping its state in
 * dir (created 0700 when missing).  Caller frees with witness_free().
 * Returns 0, PETRI_ERR_INVAL, _IO or _NOMEM.
 */
int witness_new(const struct audit_key *k,
    const unsigned char sk[AUDIT_SECKEY_LEN], const char *dir,
    struct witness **wp) PETRI_WUR;

/* Wipes the key and frees w; NULL is a no-op. */
void witness_free(struct witness *w);

/*
 * Follows the log whose verifier key is vkey (its name is the log's
 * origin), loading its saved state; a key of a log followed already is
 * one more key it may sign with (a rotation: the first key's state is
 * kept).  Returns 0, PETRI_ERR_INVAL (bad key), PETRI_ERR_LIMIT, or _IO /
 * _STATE when the saved checkpoint cannot be read or is not signed by
 * that key.
 */
int witness_log_add(struct witness *w, const char *vkey, size_t len) PETRI_WUR;

/*
 * Handles one add-checkpoint body of len bytes at POSIX time now, filling
 * *a as the protocol says: 200 with one cosignature line; 400 malformed or
 * old size past the checkpoint; 403 not signed by the log; 404 unknown
 * origin; 409 (text/x.tlog.size, our size) old size is not ours, or same
 * size with another root; 422 the consistency proof fails.  Thread-safe.
 */
void witness_add_checkpoint(struct witness *w, const char *body, size_t len,
    uint64_t now, struct witness_answer *a);

/*
 * The newest cosigned checkpoint of origin: *size and the note text
 * (NUL-terminated, caller frees) when note is not NULL.
 * Returns 0, PETRI_ERR_NOTFOUND or _NOMEM.
 */
int witness_log_latest(struct witness *w, const char *origin, uint64_t *size,
    char **note) PETRI_WUR;

#endif /* PETRI_WITNESS_H */
