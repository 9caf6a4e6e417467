/*
 * proxy_scan.h: finds a secret in bytes an upstream sends back (attack
 * case 14, docs/egress-attacks.md) and masks it, in a stream, across any read or chunk boundary.
 *
 * For each secret the scanner looks for its raw bytes, its base64 forms
 * (standard and URL-safe alphabets, at each of the three byte alignments, so
 * the secret is found inside a longer base64 text such as a Basic
 * credential) and its percent-encoded forms (upper- and lower-case hex).
 * A match is overwritten with '*' bytes of the same length, so message
 * framing (Content-Length, chunk sizes) stays true.  Forms shorter than
 * PROXY_SCAN_MIN bytes are not searched.  In a stream, only the bytes that
 * could be the beginning of a form are held back until more arrive: a
 * streamed response (server-sent events) is not delayed otherwise.
 *
 * Patterns are secret: they live in sodium_malloc memory (the connection's
 * scratch, or blocks of the scanner's own) and are wiped after the
 * response.  No I/O, no globals; one scanner per response.
 */
#ifndef PETRI_PROXY_SCAN_H
#define PETRI_PROXY_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "petri_err.h"
#include "proxy_bounds.h"
#include "proxy_secmem.h"

struct proxy_scan_pat {
	unsigned char *p;
	size_t len;
	uint16_t *fail; /* KMP prefix function of p */
};

struct proxy_scan {
	struct proxy_secmem *mem; /* where patterns go first; may be NULL */
	size_t npat;
	struct proxy_scan_pat pat[PROXY_SCAN_PATTERNS_MAX];
	size_t nblocks; /* sodium_malloc blocks of its own */
	void *blocks[PROXY_SCAN_PATTERNS_MAX];
	unsigned char *win; /* held-back tail + the bytes being scanned */
	size_t winlen;
	uint64_t redactions; /* matches masked so far */
};

/*
 * Initialises an empty scanner (it matches nothing).  Patterns are kept in
 * mem when it has room (mem may be NULL), else in sodium_malloc blocks of
 * the scanner's own; mem must not be reset before proxy_scan_free().
 */
void proxy_scan_init(struct proxy_scan *s, struct proxy_secmem *mem);

/*
 * Adds the forms of one secret of len bytes (1..PROXY_CRED_RAW_MAX).
 * Returns 0, PETRI_ERR_INVAL (empty), PETRI_ERR_TOOBIG (too long, or the
 * scanner is full) or PETRI_ERR_NOMEM.
 */
int proxy_scan_add_secret(
    struct proxy_scan *s, const void *raw, size_t len) PETRI_WUR;

/* Returns 1 when the scanner has at least one pattern, else 0. */
int proxy_scan_active(const struct proxy_scan *s);

/*
 * Masks every match in the complete buffer p[0..len) in place (a response
 * head).  Returns the number of matches masked.
 */
size_t proxy_scan_redact(struct proxy_scan *s, unsigned char *p, size_t len);

/*
 * Scans the next len bytes of a stream and appends to out what is safe to
 * send: everything but the longest tail that is the beginning of some form
 * (at most the longest form - 1 bytes).  Returns 0 or the error of
 * buf_append().
 */
int proxy_scan_feed(struct proxy_scan *s, const unsigned char *in, size_t len,
    struct buf *out) PETRI_WUR;

/* Appends the held-back tail at the end of the stream.  Returns 0 or the
 * error of buf_append(). */
int proxy_scan_flush(struct proxy_scan *s, struct buf *out) PETRI_WUR;

/*
 * Wipes and frees the scanner's own blocks and the window (patterns in mem
 * are wiped by the owner's proxy_secmem_reset()); the scanner is empty
 * again, with the same mem.
 */
void proxy_scan_free(struct proxy_scan *s);

#endif /* PETRI_PROXY_SCAN_H */
