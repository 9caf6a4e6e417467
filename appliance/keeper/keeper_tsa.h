/*
 * keeper_tsa.h: RFC 3161 timestamps of the audit log's checkpoints from
 * the TSA of audit.tsa.  One thread: at most one request per interval
 * (sooner when an export asks), a timeout on each, back-off on failure; a
 * token is stored (audit_log_tsa_add) only after it verified against the
 * configured CA, for the checkpoint's body.  A TSA that is down delays
 * nothing but its timestamp.
 */
#ifndef PETRI_KEEPER_TSA_H
#define PETRI_KEEPER_TSA_H

#include <stdint.h>

#include <jansson.h>

#include "audit_log.h"
#include "petri_err.h"

struct keeper_tsa;

/*
 * Starts the thread when the "audit" configuration object names a TSA
 * (otherwise *out is NULL and every call below is a no-op).
 * Returns 0 or a PETRI_ERR_* code with err set.
 */
int keeper_tsa_start(const json_t *audit, struct audit_log *log,
    struct keeper_tsa **out, char *err, size_t errlen) PETRI_WUR;

/*
 * Asks for a timestamp of the newest checkpoint now and waits up to
 * timeout_ms until one of at least size is stored.  Returns 0 (also with
 * no TSA) or PETRI_ERR_TIMEOUT.
 */
int keeper_tsa_wait(
    struct keeper_tsa *t, uint64_t size, int timeout_ms) PETRI_WUR;

/*
 * {"url", "state", "timestamped_size", "gen_time", "errors",
 * "last_error"}, or NULL without a TSA.  Caller owns the reference.
 */
json_t *keeper_tsa_status(struct keeper_tsa *t);

/* Stops the thread and frees t; NULL is a no-op. */
void keeper_tsa_stop(struct keeper_tsa *t);

#endif /* PETRI_KEEPER_TSA_H */
