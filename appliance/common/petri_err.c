/* petri_err.c: names of PETRI_ERR_* codes. */
#include "petri_err.h"

static const char *const petri_err_names[] = {
    "ok",
    "out of memory",
    "invalid input",
    "input too large",
    "I/O error",
    "not found",
    "already exists",
    "not permitted",
    "service unavailable",
    "timed out",
    "bad path",
    "cryptographic check failed",
    "protocol violation",
    "limit reached",
    "wrong state",
    "database error",
    "unsupported",
    "truncated input",
    "sandbox exhausted",
};

const char *
petri_strerror(int err)
{
	if (err > 0 || err < PETRI_ERR_MIN)
		return "unknown error";
	return petri_err_names[-err];
}
