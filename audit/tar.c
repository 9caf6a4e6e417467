/* tar.c: minimal ustar reader (in memory) and writer (seekable fd). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tar.h"
#include "util.h"

/* ustar header field offsets and sizes */
#define TH_NAME 0
#define TH_MODE 100
#define TH_UID 108
#define TH_GID 116
#define TH_SIZE 124
#define TH_MTIME 136
#define TH_CHKSUM 148
#define TH_TYPE 156
#define TH_MAGIC 257
#define TH_VERSION 263
#define TH_UNAME 265
#define TH_GNAME 297
#define TH_PREFIX 345

/* Parses an octal field (leading spaces, digits, then NUL/space/end). */
static int
tar_octal(const unsigned char *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	int digits = 0;

	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
		if (v > (UINT64_MAX >> 3))
			return -1;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	for (; i < n; i++)
		if (f[i] != '\0' && f[i] != ' ')
			return -1;
	if (digits == 0)
		return -1;
	*out = v;
	return 0;
}

/* Size field: octal, or GNU base-256 (high bit of the first byte). */
static int
tar_size(const unsigned char *f, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!(f[0] & 0x80))
		return tar_octal(f, 12, out);
	if (f[0] != 0x80)
		return -1; /* negative, or wider than 88 bits */
	for (i = 1; i < 12; i++) {
		if (v > (UINT64_MAX >> 8))
			return -1;
		v = v << 8 | f[i];
	}
	*out = v;
	return 0;
}

static int
tar_zero_block(const unsigned char *p)
{
	size_t i;

	for (i = 0; i < AUDIT_TAR_BLOCK; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Copies a NUL-padded field of at most n bytes. */
static size_t
tar_field(const unsigned char *f, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n && f[i] != '\0'; i++)
		out[i] = (char)f[i];
	out[i] = '\0';
	return i;
}

/* Safe member names: relative, printable ASCII, no "." or ".." parts. */
static int
tar_name_valid(const char *s)
{
	const char *p = s;
	size_t i;

	if (*s == '\0' || *s == '/')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f ||
		    s[i] == '\\')
			return 0;
	while (*p != '\0') {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
		if (*p == '/' && *++p == '\0')
			return 0;
	}
	return 1;
}

static int
tar_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct audit_tar_entry *)a)->name,
	    ((const struct audit_tar_entry *)b)->name);
}

/*
 * Checks one ustar header (checksum, magic, size) and writes its member
 * name, prefix joined, to full[AUDIT_TAR_NAME_MAX + 3].  Returns 0 or
 * PETRI_ERR_INVAL.
 */
static int
tar_header_read(const unsigned char *h, char *full, uint64_t *size)
{
	char name[101], prefix[156];
	uint64_t sum, want = 0;
	size_t nlen, plen, i;

	for (i = 0, sum = 0; i < AUDIT_TAR_BLOCK; i++)
		sum += (i >= TH_CHKSUM && i < TH_CHKSUM + 8) ? ' ' : h[i];
	if (tar_octal(h + TH_CHKSUM, 8, &want) != 0 || want != sum)
		return PETRI_ERR_INVAL;
	if (memcmp(h + TH_MAGIC,
	        "ustar\0"
	        "00",
	        8) != 0 &&
	    memcmp(h + TH_MAGIC, "ustar  \0", 8) != 0)
		return PETRI_ERR_INVAL;
	if (tar_size(h + TH_SIZE, size) != 0)
		return PETRI_ERR_INVAL;
	nlen = tar_field(h + TH_NAME, 100, name);
	plen =
	    h[TH_MAGIC + 5] == '\0' ? tar_field(h + TH_PREFIX, 155, prefix) : 0;
	if (plen > 0)
		snprintf(full, AUDIT_TAR_NAME_MAX + 3, "%s/%s", prefix, name);
	else
		memcpy(full, name, nlen + 1);
	return 0;
}

/* Appends a member to e[*n] (growing *cap), at most max_entries. */
static int
tar_entry_add(struct audit_tar_entry **e, size_t *n, size_t *cap,
    size_t max_entries, const char *nm, const unsigned char *data,
    uint64_t size)
{
	struct audit_tar_entry *ne;

	if (*n >= max_entries)
		return PETRI_ERR_TOOBIG;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		if ((ne = reallocarray(*e, *cap, sizeof(**e))) == NULL)
			return PETRI_ERR_NOMEM;
		*e = ne;
	}
	petri_strlcpy((*e)[*n].name, nm, sizeof((*e)[*n].name));
	(*e)[*n].data = data;
	(*e)[*n].size = size;
	(*n)++;
	return 0;
}

int
audit_tar_index(
    const void *buf, size_t len, size_t max_entries, struct audit_tar *t)
{
	const unsigned char *base = buf, *h;
	struct audit_tar_entry *e = NULL;
	size_t off = 0, n = 0, cap = 0, i;
	char full[AUDIT_TAR_NAME_MAX + 3];
	const char *nm;
	uint64_t size;
	int r = PETRI_ERR_INVAL;

	t->entry = NULL;
	t->count = 0;
	for (;;) {
		if (len - off < AUDIT_TAR_BLOCK) {
			r = PETRI_ERR_TRUNCATED;
			goto out;
		}
		h = base + off;
		if (tar_zero_block(h)) {
			/* end of archive: only zero padding may follow */
			for (i = off; i < len; i++)
				if (base[i] != 0)
					goto out;
			break;
		}
		if (tar_header_read(h, full, &size) != 0)
			goto out;
		nm = full;
		while (nm[0] == '.' && nm[1] == '/')
			nm += 2;
		off += AUDIT_TAR_BLOCK;
		if (size > len - off) {
			r = PETRI_ERR_TRUNCATED;
			goto out;
		}
		if (h[TH_TYPE] == '5') {
			/* a directory: nothing to index */
			if (size != 0)
				goto out;
			continue;
		}
		if (h[TH_TYPE] != '0' && h[TH_TYPE] != '\0')
			goto out;
		if (!tar_name_valid(nm) || strlen(nm) > AUDIT_TAR_NAME_MAX)
			goto out;
		if ((r = tar_entry_add(
		         &e, &n, &cap, max_entries, nm, base + off, size)) != 0)
			goto out;
		r = PETRI_ERR_INVAL;
		/* next header after the padded data */
		size = (size + AUDIT_TAR_BLOCK - 1) / AUDIT_TAR_BLOCK *
		    AUDIT_TAR_BLOCK;
		if (size > len - off) {
			r = PETRI_ERR_TRUNCATED;
			goto out;
		}
		off += (size_t)size;
	}
	if (n > 1) {
		qsort(e, n, sizeof(*e), tar_entry_cmp);
		for (i = 1; i < n; i++)
			if (strcmp(e[i - 1].name, e[i].name) == 0)
				goto out;
	}
	t->entry = e;
	t->count = n;
	e = NULL;
	r = 0;
out:
	free(e);
	return r;
}

void
audit_tar_free(struct audit_tar *t)
{
	free(t->entry);
	t->entry = NULL;
	t->count = 0;
}

const struct audit_tar_entry *
audit_tar_find(const struct audit_tar *t, const char *name)
{
	struct audit_tar_entry key;

	if (t->count == 0 || strlen(name) > AUDIT_TAR_NAME_MAX)
		return NULL;
	petri_strlcpy(key.name, name, sizeof(key.name));
	return bsearch(&key, t->entry, t->count, sizeof(key), tar_entry_cmp);
}

void
audit_tar_writer_init(struct audit_tar_writer *w, int fd, int64_t mtime)
{
	w->fd = fd;
	w->off = 0;
	w->hdr_off = -1;
	w->size = 0;
	w->mtime = mtime;
	w->name[0] = '\0';
	w->blen = 0;
}

static int
tar_flush(struct audit_tar_writer *w)
{
	if (w->blen > 0 && petri_write_all(w->fd, w->buf, w->blen) != 0)
		return PETRI_ERR_IO;
	w->blen = 0;
	return 0;
}

static int
tar_put(struct audit_tar_writer *w, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n > 0) {
		size_t k = sizeof(w->buf) - w->blen;

		if (k == 0) {
			if (tar_flush(w) != 0)
				return PETRI_ERR_IO;
			continue;
		}
		if (k > n)
			k = n;
		memcpy(w->buf + w->blen, c, k);
		w->blen += k;
		w->off += (off_t)k;
		c += k;
		n -= k;
	}
	return 0;
}

/* Writes value as width-1 zero-padded octal digits and a NUL. */
static void
tar_put_octal(unsigned char *f, size_t width, uint64_t value)
{
	size_t i;

	f[width - 1] = '\0';
	for (i = width - 1; i > 0; i--) {
		f[i - 1] = (unsigned char)('0' + (value & 7));
		value >>= 3;
	}
}

static void
tar_header(unsigned char h[AUDIT_TAR_BLOCK], const char *name, uint64_t size,
    int64_t mtime)
{
	unsigned sum = 0;
	size_t i;

	memset(h, 0, AUDIT_TAR_BLOCK);
	memcpy(h + TH_NAME, name, strlen(name));
	tar_put_octal(h + TH_MODE, 8, 0644);
	tar_put_octal(h + TH_UID, 8, 0);
	tar_put_octal(h + TH_GID, 8, 0);
	if (size < (UINT64_C(1) << 33))
		tar_put_octal(h + TH_SIZE, 12, size);
	else {
		h[TH_SIZE] = 0x80;
		for (i = 0; i < 8; i++)
			h[TH_SIZE + 11 - i] = (unsigned char)(size >> (8 * i));
	}
	tar_put_octal(h + TH_MTIME, 12,
	    mtime > 0 && mtime < (INT64_C(1) << 33) ? (uint64_t)mtime : 0);
	h[TH_TYPE] = '0';
	memcpy(h + TH_MAGIC,
	    "ustar\0"
	    "00",
	    8);
	memcpy(h + TH_UNAME, "petri", 5);
	memcpy(h + TH_GNAME, "petri", 5);
	memset(h + TH_CHKSUM, ' ', 8);
	for (i = 0; i < AUDIT_TAR_BLOCK; i++)
		sum += h[i];
	tar_put_octal(h + TH_CHKSUM, 7, sum);
	h[TH_CHKSUM + 7] = ' ';
}

int
audit_tar_begin(struct audit_tar_writer *w, const char *name)
{
	unsigned char h[AUDIT_TAR_BLOCK];

	if (w->hdr_off >= 0)
		return PETRI_ERR_STATE;
	if (strlen(name) > 100 || !tar_name_valid(name))
		return PETRI_ERR_INVAL;
	petri_strlcpy(w->name, name, sizeof(w->name));
	if (tar_flush(w) != 0)
		return PETRI_ERR_IO;
	w->hdr_off = w->off;
	w->size = 0;
	tar_header(h, name, 0, w->mtime);
	return tar_put(w, h, sizeof(h));
}

int
audit_tar_write(struct audit_tar_writer *w, const void *p, size_t n)
{
	if (w->hdr_off < 0)
		return PETRI_ERR_STATE;
	w->size += n;
	return tar_put(w, p, n);
}

int
audit_tar_end(struct audit_tar_writer *w)
{
	static const unsigned char zero[AUDIT_TAR_BLOCK];
	unsigned char h[AUDIT_TAR_BLOCK];
	size_t pad;

	if (w->hdr_off < 0)
		return PETRI_ERR_STATE;
	pad = (size_t)((AUDIT_TAR_BLOCK - w->size % AUDIT_TAR_BLOCK) %
	    AUDIT_TAR_BLOCK);
	if (tar_put(w, zero, pad) != 0 || tar_flush(w) != 0)
		return PETRI_ERR_IO;
	tar_header(h, w->name, w->size, w->mtime);
	if (pwrite(w->fd, h, sizeof(h), w->hdr_off) != (ssize_t)sizeof(h))
		return PETRI_ERR_IO;
	w->hdr_off = -1;
	return 0;
}

int
audit_tar_add(
    struct audit_tar_writer *w, const char *name, const void *p, size_t n)
{
	int r;

	if ((r = audit_tar_begin(w, name)) != 0 ||
	    (r = audit_tar_write(w, p, n)) != 0)
		return r;
	return audit_tar_end(w);
}

int
audit_tar_finish(struct audit_tar_writer *w)
{
	static const unsigned char zero[2 * AUDIT_TAR_BLOCK];

	if (w->hdr_off >= 0)
		return PETRI_ERR_STATE;
	if (tar_put(w, zero, sizeof(zero)) != 0)
		return PETRI_ERR_IO;
	return tar_flush(w);
}
