/* proxy_scan.c: stream scanner that masks echoed secrets (proxy_scan.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proxy_scan.h"

/* Window: the held-back tail plus one slice of input. */
#define SCAN_SLICE PROXY_IO_CHUNK
#define SCAN_WIN_MAX (PROXY_SCAN_PATTERN_MAX + SCAN_SLICE)

void
proxy_scan_init(struct proxy_scan *s, struct proxy_secmem *mem)
{
	memset(s, 0, sizeof(*s));
	s->mem = mem;
}

/* n bytes of secret memory: from s->mem, else a block of s's own. */
static unsigned char *
scan_alloc(struct proxy_scan *s, size_t n)
{
	unsigned char *p = NULL;

	if (s->mem != NULL && (p = proxy_secmem_alloc(s->mem, n)) != NULL)
		return p;
	if (s->nblocks == PROXY_SCAN_PATTERNS_MAX ||
	    (p = sodium_malloc(n)) == NULL)
		return NULL;
	s->blocks[s->nblocks++] = p;
	return p;
}

int
proxy_scan_active(const struct proxy_scan *s)
{
	return s->npat > 0;
}

/* Adds one pattern (copied from the caller's block) unless a duplicate. */
static int
scan_add(struct proxy_scan *s, unsigned char *p, size_t len)
{
	size_t i;

	if (len < PROXY_SCAN_MIN || len > UINT16_MAX)
		return 0;
	for (i = 0; i < s->npat; i++)
		if (s->pat[i].len == len && memcmp(s->pat[i].p, p, len) == 0)
			return 0;
	if (s->npat == PROXY_SCAN_PATTERNS_MAX)
		return PETRI_ERR_TOOBIG;
	s->pat[s->npat].p = p;
	s->pat[s->npat].len = len;
	s->npat++;
	return 0;
}

/* Computes the KMP prefix function of the patterns from first on. */
static int
scan_fail_tables(struct proxy_scan *s, size_t first)
{
	size_t i, j, k, total = 0;
	uint16_t *f;

	for (i = first; i < s->npat; i++)
		total += s->pat[i].len;
	if (total == 0)
		return 0;
	if ((f = (uint16_t *)scan_alloc(s, total * sizeof(*f))) == NULL)
		return PETRI_ERR_NOMEM;
	for (i = first; i < s->npat; i++) {
		const unsigned char *p = s->pat[i].p;

		s->pat[i].fail = f;
		f[0] = 0;
		for (j = 1; j < s->pat[i].len; j++) {
			k = f[j - 1];
			while (k > 0 && p[j] != p[k])
				k = f[k - 1];
			if (p[j] == p[k])
				k++;
			f[j] = (uint16_t)k;
		}
		f += s->pat[i].len;
	}
	return 0;
}

/*
 * The longest tail of w[0..n) that is the beginning of pattern pt (shorter
 * than the pattern): KMP over the last len - 1 bytes.
 */
static size_t
scan_tail(const struct proxy_scan_pat *pt, const unsigned char *w, size_t n)
{
	size_t i = n >= pt->len ? n - (pt->len - 1) : 0, k = 0;

	for (; i < n; i++) {
		while (k > 0 && w[i] != pt->p[k])
			k = pt->fail[k - 1];
		if (w[i] == pt->p[k])
			k++;
	}
	return k; /* < len: a whole match was masked already */
}

static int
scan_is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

int
proxy_scan_add_secret(struct proxy_scan *s, const void *raw, size_t len)
{
	static const int variants[2] = {
	    sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_URLSAFE};
	static const char hexu[] = "0123456789ABCDEF";
	static const char hexl[] = "0123456789abcdef";
	unsigned char *cur, *tmp;
	size_t b64max, need, i, k, v, first, last, n, tmplen, npat0;
	int r;

	if (raw == NULL || len == 0)
		return PETRI_ERR_INVAL;
	if (len > PROXY_CRED_RAW_MAX)
		return PETRI_ERR_TOOBIG;
	b64max =
	    sodium_base64_ENCODED_LEN(len + 4, sodium_base64_VARIANT_ORIGINAL);
	/* raw + 6 base64 forms + 2 percent-encoded forms, and a scratch */
	need = len + 6 * b64max + 2 * 3 * len;
	tmplen = len + 4;
	if ((cur = scan_alloc(s, need)) == NULL ||
	    (tmp = scan_alloc(s, tmplen)) == NULL)
		return PETRI_ERR_NOMEM;
	npat0 = s->npat;

	memcpy(cur, raw, len);
	if ((r = scan_add(s, cur, len)) != 0)
		goto out;
	cur += len;

	/*
	 * Base64 at alignment k: encode k zero bytes, the secret and two zero
	 * bytes, keep the characters whose six bits all come from the secret.
	 */
	for (k = 0; k < 3; k++) {
		memset(tmp, 0, tmplen);
		memcpy(tmp + k, raw, len);
		first = (8 * k + 5) / 6;
		last = (8 * k + 8 * len) / 6; /* exclusive */
		for (v = 0; v < 2; v++) {
			sodium_bin2base64(
			    (char *)cur, b64max, tmp, k + len + 2, variants[v]);
			n = last - first;
			memmove(cur, cur + first, n);
			if ((r = scan_add(s, cur, n)) != 0)
				goto out;
			cur += n;
		}
	}

	/* Percent-encoded, every byte outside the unreserved set. */
	for (v = 0; v < 2; v++) {
		const char *hex = v == 0 ? hexu : hexl;
		unsigned char *start = cur;

		for (i = 0; i < len; i++) {
			unsigned char c = ((const unsigned char *)raw)[i];

			if (scan_is_unreserved(c))
				*cur++ = c;
			else {
				*cur++ = '%';
				*cur++ = (unsigned char)hex[c >> 4];
				*cur++ = (unsigned char)hex[c & 15];
			}
		}
		if ((r = scan_add(s, start, (size_t)(cur - start))) != 0)
			goto out;
	}
	r = scan_fail_tables(s, npat0);
out:
	sodium_memzero(tmp, tmplen);
	return r;
}

size_t
proxy_scan_redact(struct proxy_scan *s, unsigned char *p, size_t len)
{
	size_t i, off, count = 0;
	unsigned char *m;

	for (i = 0; i < s->npat; i++) {
		off = 0;
		while (off + s->pat[i].len <= len &&
		    (m = memmem(p + off, len - off, s->pat[i].p,
		         s->pat[i].len)) != NULL) {
			memset(m, '*', s->pat[i].len);
			off = (size_t)(m - p) + s->pat[i].len;
			count++;
		}
	}
	s->redactions += count;
	return count;
}

int
proxy_scan_feed(
    struct proxy_scan *s, const unsigned char *in, size_t len, struct buf *out)
{
	size_t hold, n, emit, i, k;
	int r;

	if (s->npat == 0)
		return buf_append(out, in, len);
	if (s->win == NULL && (s->win = malloc(SCAN_WIN_MAX)) == NULL)
		return PETRI_ERR_NOMEM;
	while (len > 0) {
		n = len < SCAN_SLICE ? len : SCAN_SLICE;
		memcpy(s->win + s->winlen, in, n);
		s->winlen += n;
		in += n;
		len -= n;
		(void)proxy_scan_redact(s, s->win, s->winlen);
		for (i = 0, hold = 0; i < s->npat; i++)
			if ((k = scan_tail(&s->pat[i], s->win, s->winlen)) >
			    hold)
				hold = k;
		emit = s->winlen - hold;
		if ((r = buf_append(out, s->win, emit)) != 0)
			return r;
		memmove(s->win, s->win + emit, s->winlen - emit);
		s->winlen -= emit;
	}
	return 0;
}

int
proxy_scan_flush(struct proxy_scan *s, struct buf *out)
{
	int r;

	if (s->winlen == 0)
		return 0;
	r = buf_append(out, s->win, s->winlen);
	sodium_memzero(s->win, s->winlen);
	s->winlen = 0;
	return r;
}

void
proxy_scan_free(struct proxy_scan *s)
{
	struct proxy_secmem *mem = s->mem;
	size_t i;

	for (i = 0; i < s->nblocks; i++)
		sodium_free(s->blocks[i]);
	if (s->win != NULL) {
		sodium_memzero(s->win, SCAN_WIN_MAX);
		free(s->win);
	}
	proxy_scan_init(s, mem);
}
