/*
 * buf.h: the one growable byte buffer type.  Every buffer has a maximum set
 * when it is created; growing past it fails with PETRI_ERR_TOOBIG and leaves
 * the buffer as it was.
 */
#ifndef PETRI_BUF_H
#define PETRI_BUF_H

#include <stddef.h>
#include "petri_err.h"

struct buf {
	unsigned char *data;
	size_t len;
	size_t cap;
	size_t max;
};

/* Initialises an empty buffer that may hold at most max bytes. */
void buf_init(struct buf *b, size_t max);

/* Makes room for n more bytes.  Returns 0, PETRI_ERR_TOOBIG or _NOMEM. */
int buf_reserve(struct buf *b, size_t n) PETRI_WUR;

/* Appends n bytes.  Returns 0, PETRI_ERR_TOOBIG or PETRI_ERR_NOMEM. */
int buf_append(struct buf *b, const void *p, size_t n) PETRI_WUR;

/* Appends a NUL-terminated string (without the NUL). */
int buf_append_str(struct buf *b, const char *s) PETRI_WUR;

/* Appends formatted text.  Returns 0 or a PETRI_ERR_* code. */
int buf_printf(struct buf *b, const char *fmt, ...)
    PETRI_PRINTF(2, 3) PETRI_WUR;

/*
 * Returns the contents as a NUL-terminated string (the NUL is not counted in
 * len), or NULL when no room is left for the terminator.
 */
char *buf_cstr(struct buf *b);

/* Drops the first n bytes (all when n >= len). */
void buf_consume(struct buf *b, size_t n);

/* Empties the buffer, keeping its memory and maximum. */
void buf_reset(struct buf *b);

/* Frees the memory (wiped first); the buffer may be reused after buf_init. */
void buf_free(struct buf *b);

/*
 * Hands the contents to the caller (caller frees with free()) and leaves the
 * buffer empty.  The result is NUL-terminated; *lenp gets the length.
 * Returns NULL on allocation failure.
 */
char *buf_steal(struct buf *b, size_t *lenp);

#endif /* PETRI_BUF_H */
