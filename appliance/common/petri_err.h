/*
 * petri_err.h: error codes shared by every Petri module.
 *
 * Functions return 0 (or a non-negative count) on success and a negative
 * PETRI_ERR_* code on failure.  petri_strerror() names a code for humans.
 */
#ifndef PETRI_ERR_H
#define PETRI_ERR_H

#define PETRI_OK 0
#define PETRI_ERR_NOMEM -1 /* allocation failed */
#define PETRI_ERR_INVAL -2 /* malformed input */
#define PETRI_ERR_TOOBIG -3 /* input over its bound */
#define PETRI_ERR_IO -4 /* read/write/syscall failure */
#define PETRI_ERR_NOTFOUND -5 /* no such object */
#define PETRI_ERR_EXISTS -6 /* object already exists */
#define PETRI_ERR_PERM -7 /* not allowed */
#define PETRI_ERR_UNAVAIL -8 /* a dependency (Docker, a peer) is down */
#define PETRI_ERR_TIMEOUT -9 /* deadline passed */
#define PETRI_ERR_PATH -10 /* path escapes or is not normalised */
#define PETRI_ERR_CRYPTO -11 /* signature/hash/crypto failure */
#define PETRI_ERR_PROTO -12 /* peer protocol violation */
#define PETRI_ERR_LIMIT -13 /* a quota or rate limit was reached */
#define PETRI_ERR_STATE -14 /* object is in the wrong state */
#define PETRI_ERR_DB -15 /* database failure */
#define PETRI_ERR_UNSUPPORTED -16 /* valid but not supported here */
#define PETRI_ERR_TRUNCATED -17 /* input ended early */
#define PETRI_ERR_EXHAUSTED -18 /* a sandbox cannot start a process */
#define PETRI_ERR_MIN -18

/*
 * Returns a static, human-readable name for a PETRI_ERR_* code.
 * Never returns NULL; unknown codes map to "unknown error".
 */
const char *petri_strerror(int err);

#if defined(__GNUC__)
#define PETRI_WUR __attribute__((warn_unused_result))
#define PETRI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define PETRI_NORETURN __attribute__((noreturn))
#else
#define PETRI_WUR
#define PETRI_PRINTF(f, a)
#define PETRI_NORETURN
#endif

#endif /* PETRI_ERR_H */
