/*
 * log.h: logging to stderr, one line per event, prefixed with the process
 * name.  Never pass a secret, a header value or a request body to these.
 */
#ifndef PETRI_LOG_H
#define PETRI_LOG_H

#include "petri_err.h"

/* Sets the process name used as prefix and whether debug lines print. */
void log_init(const char *procname, int debug);

void log_debug(const char *fmt, ...) PETRI_PRINTF(1, 2);
void log_info(const char *fmt, ...) PETRI_PRINTF(1, 2);
void log_warn(const char *fmt, ...) PETRI_PRINTF(1, 2);

/* Logs and exits the process with status 1. */
void fatal(const char *fmt, ...) PETRI_PRINTF(1, 2) PETRI_NORETURN;

#endif /* PETRI_LOG_H */
