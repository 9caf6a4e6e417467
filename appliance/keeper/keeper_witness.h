/*
 * keeper_witness.h: the keeper's witness client.  One thread per
 * configured witness (audit.witnesses) sends the newest checkpoint with a
 * consistency proof from the witness's size (C2SP tlog-witness
 * add-checkpoint), verifies the cosignature it answers with the witness's
 * key and stores it beside the checkpoint (audit_log_cosig_add).  Every
 * request has a timeout and failures back off (1 s doubling to 60 s): an
 * unreachable witness delays nothing but its own cosignature.
 */
#ifndef PETRI_KEEPER_WITNESS_H
#define PETRI_KEEPER_WITNESS_H

#include <stdint.h>

#include <jansson.h>

#include "audit_log.h"
#include "petri_err.h"

struct keeper_witness;

/*
 * Starts a thread per witness of the "audit" configuration object (NULL
 * or no witnesses: *out gets a set with none).  Caller stops with
 * keeper_witness_stop().  Returns 0 or a PETRI_ERR_* code with err set.
 */
int keeper_witness_start(const json_t *audit, struct audit_log *log,
    struct keeper_witness **out, char *err, size_t errlen) PETRI_WUR;

/* Tells the threads that a new checkpoint may be there.  NULL is a no-op. */
void keeper_witness_kick(struct keeper_witness *kw);

/*
 * Waits up to timeout_ms until a quorum of witnesses, and every witness
 * whose last answer was a cosignature, cosigned a checkpoint of at least
 * size.  Returns 0 (also when no witness is configured) or
 * PETRI_ERR_TIMEOUT.
 */
int keeper_witness_wait(
    struct keeper_witness *kw, uint64_t size, int timeout_ms) PETRI_WUR;

/*
 * {"quorum": k, "cosigned_size": <newest size a quorum cosigned>,
 *  "witnesses": [{"name", "url", "vkey", "state", "cosigned_size",
 *  "witness_size", "lag", "errors", "last_error", "last_ok"}]}, or NULL
 * when none is configured.  Caller owns the reference.
 */
json_t *keeper_witness_status(struct keeper_witness *kw, uint64_t log_size);

/* Stops and joins the threads, frees kw; NULL is a no-op. */
void keeper_witness_stop(struct keeper_witness *kw);

#endif /* PETRI_KEEPER_WITNESS_H */
