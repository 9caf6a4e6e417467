/* proxy_secmem.c: per-connection scratch for secrets (proxy_secmem.h). */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "proxy_secmem.h"

#define SECMEM_ALIGN 16

void
proxy_secmem_init(struct proxy_secmem *m)
{
	m->p = NULL;
	m->used = 0;
}

void *
proxy_secmem_alloc(struct proxy_secmem *m, size_t n)
{
	size_t start =
	    (m->used + SECMEM_ALIGN - 1) & ~(size_t)(SECMEM_ALIGN - 1);
	void *r;

	if (n == 0 || n > PROXY_SECMEM_SIZE || start > PROXY_SECMEM_SIZE - n)
		return NULL;
	if (m->p == NULL && (m->p = sodium_malloc(PROXY_SECMEM_SIZE)) == NULL)
		return NULL;
	r = m->p + start;
	m->used = start + n;
	return r;
}

int
proxy_secmem_owns(const struct proxy_secmem *m, const void *p)
{
	const unsigned char *q = p;

	return m->p != NULL && q >= m->p && q < m->p + PROXY_SECMEM_SIZE;
}

void
proxy_secmem_reset(struct proxy_secmem *m)
{
	if (m->p != NULL && m->used > 0)
		sodium_memzero(m->p, m->used);
	m->used = 0;
}

void
proxy_secmem_free(struct proxy_secmem *m)
{
	if (m->p != NULL)
		sodium_free(m->p); /* wipes */
	proxy_secmem_init(m);
}
