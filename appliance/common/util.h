/*
 * util.h: small helpers used everywhere: bounded string copies, strict
 * number parsing, hex, random IDs, time.
 */
#ifndef PETRI_UTIL_H
#define PETRI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "petri_err.h"

#define PETRI_SHA256_HEX 65 /* 64 hex digits + NUL */
#define PETRI_TIME_MAX 32 /* "2026-11-22T01:51:04.123456Z" + NUL */

/* OpenBSD strlcpy: returns strlen(src); truncated when >= dsize. */
size_t petri_strlcpy(char *dst, const char *src, size_t dsize);

/*
 * Parses a whole decimal string into [min, max].  No sign other than a
 * leading '-', no spaces, no trailing bytes.  Returns 0 or PETRI_ERR_INVAL.
 */
int petri_strtonum(
    const char *s, long long min, long long max, long long *out) PETRI_WUR;

/* Writes 2n lowercase hex digits and a NUL to out (size >= 2n+1). */
void petri_hex(const void *in, size_t n, char *out);

/* Parses exactly 2*outlen hex digits.  Returns 0 or PETRI_ERR_INVAL. */
int petri_unhex(const char *hex, void *out, size_t outlen) PETRI_WUR;

/* SHA-256 of n bytes as 64 hex digits + NUL. */
void petri_sha256_hex(const void *p, size_t n, char out[PETRI_SHA256_HEX]);

/*
 * Writes a fresh random ID "<prefix><24 base32 chars>" into out.
 * Returns 0, or PETRI_ERR_TOOBIG when outlen is too small.
 */
int petri_id_new(const char *prefix, char *out, size_t outlen) PETRI_WUR;

/* Returns 1 when id is "<prefix>" followed by 24 base32 chars, else 0. */
int petri_id_valid(const char *id, const char *prefix);

/* Wall-clock time in microseconds since the epoch. */
int64_t petri_now_usec(void);

/* Monotonic time in milliseconds. */
int64_t petri_mono_ms(void);

/*
 * Formats usec since the epoch as RFC 3339 UTC with microseconds; values
 * before 1970 or after 9999 are clamped to those bounds.
 */
void petri_time_rfc3339(int64_t usec, char out[PETRI_TIME_MAX]);

/* Parses the format above back.  Returns 0 or PETRI_ERR_INVAL. */
int petri_time_parse(const char *s, int64_t *usec) PETRI_WUR;

/* Writes all n bytes to fd, retrying on EINTR.  Returns 0 or _IO. */
int petri_write_all(int fd, const void *p, size_t n) PETRI_WUR;

/*
 * Writes data to path atomically (temp file in the same directory, fsync,
 * rename, fsync of the directory) with the given mode.
 * Returns 0 or PETRI_ERR_IO.
 */
int petri_file_write_atomic(
    const char *path, const void *p, size_t n, int mode) PETRI_WUR;

/*
 * Reads a whole regular file of at most max bytes into *out (NUL-terminated;
 * caller frees with free()).  Returns 0, PETRI_ERR_IO, _NOTFOUND or _TOOBIG.
 */
int petri_file_read(
    const char *path, size_t max, char **out, size_t *lenp) PETRI_WUR;

/*
 * petri_file_read() with the caller's open flags (added to O_RDONLY |
 * O_CLOEXEC) and memory: *out comes from alloc(size + 1), NUL-terminated,
 * and the caller frees it with release(); on error nothing is left
 * allocated.  Returns 0, PETRI_ERR_IO, _NOTFOUND, _TOOBIG or _NOMEM.
 */
int petri_file_read_with(const char *path, int oflags, size_t max,
    void *(*alloc)(size_t), void (*release)(void *), void **out,
    size_t *lenp) PETRI_WUR;

/*
 * The time ms (>= 0) milliseconds from now on clock clk, into *ts: the
 * deadline of a pthread_cond_timedwait() on a condition using that clock.
 */
struct timespec;
void petri_deadline(int clk, int ms, struct timespec *ts);

/*
 * Joins dir and name with one '/' into out.
 * Returns 0 or PETRI_ERR_TOOBIG (out is then an empty string).
 */
int petri_path_join(
    char *out, size_t outlen, const char *dir, const char *name) PETRI_WUR;
/*
 * Appends p[0..n) to out with every byte that is not part of a well-formed
 * UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, at most
 * U+10FFFF) replaced by U+FFFD.  Returns 0 or the error of buf_append().
 */
struct buf;
int petri_utf8_sanitize(const void *p, size_t n, struct buf *out) PETRI_WUR;

#endif /* PETRI_UTIL_H */
