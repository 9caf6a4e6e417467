/*
 * log.h: logging to stderr, one line per event, prefixed with the process
 * name (text), or as key=value pairs or one JSON object per line.  Never pass a secret, a header value or a request body to these.
 */
#ifndef PETRI_LOG_H
#define PETRI_LOG_H

#include "petri_err.h"

/* Line formats (config "log.format"): see docs/operations.md. */
#define LOG_FORMAT_TEXT 0 /* "TS proc[pid] level: message" */
#define LOG_FORMAT_KV 1 /* ts=TS proc=P pid=N level=L msg="..." */
#define LOG_FORMAT_JSON 2 /* {"ts","proc","pid","level","msg"} */

/* Sets the process name used as prefix and whether debug lines print. */
void log_init(const char *procname, int debug);

/* Sets the line format (LOG_FORMAT_*; any other value means text). */
void log_format_set(int format);

void log_debug(const char *fmt, ...) PETRI_PRINTF(1, 2);
void log_info(const char *fmt, ...) PETRI_PRINTF(1, 2);
void log_warn(const char *fmt, ...) PETRI_PRINTF(1, 2);

/* Logs and exits the process with status 1. */
void fatal(const char *fmt, ...) PETRI_PRINTF(1, 2) PETRI_NORETURN;

#endif /* PETRI_LOG_H */
