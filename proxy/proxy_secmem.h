/*
 * proxy_secmem.h: a connection's scratch memory for secrets.  One
 * sodium_malloc block (guard pages, locked, never in a core dump), taken
 * when a connection first needs it and reused request after request:
 * mapping and unmapping guarded pages for every request would cost more
 * than the rest of the request (each unmap shoots down TLB entries on every
 * CPU running the process).  Bump allocation; every reset wipes what was
 * used.  Not thread-safe: one per connection.
 */
#ifndef PETRI_PROXY_SECMEM_H
#define PETRI_PROXY_SECMEM_H

#include <stddef.h>

#include "proxy_bounds.h"

struct proxy_secmem {
	unsigned char *p; /* PROXY_SECMEM_SIZE bytes, or NULL */
	size_t used;
};

/* Initialises an empty scratch (nothing allocated yet). */
void proxy_secmem_init(struct proxy_secmem *m);

/*
 * Returns n bytes of the block (allocating the block on first use), or
 * NULL when they do not fit or the block cannot be allocated: the caller
 * then allocates on its own with sodium_malloc().
 */
void *proxy_secmem_alloc(struct proxy_secmem *m, size_t n);

/* Returns 1 when p lies in m's block, else 0. */
int proxy_secmem_owns(const struct proxy_secmem *m, const void *p);

/* Wipes what was handed out; the block stays for the next request. */
void proxy_secmem_reset(struct proxy_secmem *m);

/* Wipes and frees the block.  m may be reused after it. */
void proxy_secmem_free(struct proxy_secmem *m);

#endif /* PETRI_PROXY_SECMEM_H */
