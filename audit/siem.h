/*
 * siem.h: SIEM export.  The keeper streams every audit record, in order,
 * to each configured sink (syslog over TCP or TLS, Splunk HEC, a JSON
 * Lines file, an HMAC-signed webhook), at least once, with no gaps.
 * Operator documentation: docs/siem.md; configuration keys:
 * docs/configuration.md ("sinks").
 *
 * Each sink is one thread that follows the log: it reads records from the
 * store (audit_log_records_get) from its cursor on, renders and frames a
 * batch (siem_format.h), hands it to the receiver and, once the receiver
 * has accepted it, moves its cursor past the batch; the cursor file
 * (<dir>/sinks/<name>.cursor, rewritten atomically) follows when the sink
 * caught up, at most every SIEM_CURSOR_SYNC_MS during a backlog, and at
 * stop, never ahead of what a receiver accepted.  A failed batch is sent
 * again from the cursor after an exponential back-off with a cap.  A sink
 * holds at most two batches in memory (the next one is rendered while the
 * receiver confirms the current one), runs at a lower CPU priority and
 * never makes an append wait: a slow or dead receiver only grows that
 * sink's lag.
 */
#ifndef PETRI_SIEM_H
#define PETRI_SIEM_H

#include <stddef.h>

#include <jansson.h>

#include "petri_err.h"

#define SIEM_MAX_SINKS 16
#define SIEM_NAME_MAX 32 /* [a-z0-9_-], first a letter or digit */

struct audit_log;
struct siem;

/*
 * Checks a "sinks" configuration value strictly (pure; it opens no file):
 * an array of at most SIEM_MAX_SINKS objects with unique names, a known
 * type, only the keys of that type, values of the right type and range.
 * NULL (absent) is valid.  On failure err gets a message naming the sink
 * and the key.  Returns 0 or PETRI_ERR_INVAL.
 */
int siem_config_check(json_t *sinks, char *err, size_t errlen) PETRI_WUR;

/*
 * Starts the sinks of a checked configuration (NULL or an empty array:
 * none) on log, whose origin is origin.  dir is the keeper's directory:
 * cursors live in dir/sinks/.  Secrets (token_file, hmac_key_file,
 * key_file) are read now into sodium_malloc'd memory, CA and certificate
 * files are loaded now; a file that cannot be read fails the start.
 * Needs SIGPIPE ignored.  Caller stops the sinks with siem_close().
 * Returns 0; PETRI_ERR_INVAL (bad configuration, err says why), _IO or
 * _NOTFOUND (a file named in it), _CRYPTO (a TLS setting), _NOMEM.
 */
int siem_open(json_t *sinks, struct audit_log *log, const char *dir,
    const char *origin, struct siem **out, char *err, size_t errlen) PETRI_WUR;

/*
 * Stops every sink (a delivery in progress is abandoned within about a
 * second; its batch is sent again at the next start), saves the cursors,
 * wipes the secrets and frees everything.  Call before closing the log.
 * NULL is a no-op.
 */
void siem_close(struct siem *s);

/*
 * The state of every sink as a JSON array of {"name", "type", "format",
 * "target", "cursor", "lag", "delivered", "errors", "last_error",
 * "last_error_at", "last_delivery_at", "state"} (no secrets).  cursor is
 * the next seq to deliver; lag the records behind the log.  Caller owns
 * the result (json_decref()); NULL on allocation failure.  s may be NULL
 * (an empty array).
 */
json_t *siem_status(struct siem *s);

#endif /* PETRI_SIEM_H */
