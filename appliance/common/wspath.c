/* wspath.c: workspace path rules and a consistency set of paths. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wspath.h"

#define WSPATH_SANDBOX_PREFIX "/sandbox"

/* One component: n bytes at p. */
struct wspath_comp {
	const char *p;
	size_t n;
};

/*
 * Returns NULL when the n bytes at s obey the byte rules (UTF-8, no
 * control character, no backslash), else a static reason.
 */
static const char *
wspath_check_bytes(const unsigned char *s, size_t n)
{
	size_t i = 0, j, need;
	uint32_t cp, min;

	while (i < n) {
		unsigned int c = s[i];

		if (c == 0)
			return "contains a NUL byte";
		if (c < 0x20 || c == 0x7f)
			return "contains a control character";
		if (c == '\\')
			return "contains a backslash";
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else
			return "is not valid UTF-8";
		if (n - i - 1 < need)
			return "is not valid UTF-8";
		for (j = 1; j <= need; j++) {
			unsigned int b = s[i + j];

			if ((b & 0xc0) != 0x80)
				return "is not valid UTF-8";
			cp = cp << 6 | (b & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return "is not valid UTF-8";
		if (cp <= 0x9f)
			return "contains a control character";
		i += need + 1;
	}
	return NULL;
}

int
wspath_name_reserved(const char *name, size_t n)
{
	static const char r[] = WSPATH_RESERVED;
	size_t i;

	if (n != sizeof(r) - 1)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != r[i])
			return 0;
	}
	return 1;
}

void
wspath_quote(char *dst, size_t n, const char *s, size_t max)
{
	size_t i;

	if (n == 0)
		return;
	if (s == NULL)
		s = "";
	for (i = 0; s[i] != '\0' && i < max && i + 1 < n; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[i] = '\0';
	if (s[i] != '\0' && i >= 3)
		memcpy(dst + i - 3, "...", 3);
}

/*
 * Returns the next component of [*pp, end) and advances *pp past it and
 * its '/'.  Returns 0 at the end.
 */
static int
wspath_next(const char **pp, const char *end, struct wspath_comp *c)
{
	const char *p = *pp, *q;

	if (p >= end)
		return 0;
	if ((q = memchr(p, '/', (size_t)(end - p))) == NULL)
		q = end;
	c->p = p;
	c->n = (size_t)(q - p);
	*pp = q < end ? q + 1 : end;
	return 1;
}

static int
wspath_fail(struct wspath *wp, const char *why)
{
	wp->path[0] = '\0';
	wp->len = 0;
	wp->depth = 0;
	wp->why = why;
	return PETRI_ERR_PATH;
}

/*
 * Appends component c to wp, which may hold at most maxdepth components;
 * returns 0 or PETRI_ERR_PATH.
 */
static int
wspath_push(struct wspath *wp, const struct wspath_comp *c, size_t maxdepth)
{
	size_t sep = wp->len > 0;

	if (wp->depth >= maxdepth)
		return wspath_fail(wp, "has too many components");
	if (c->n > WS_MAX_PATH - wp->len - sep)
		return wspath_fail(wp, "is too long");
	if (sep)
		wp->path[wp->len++] = '/';
	memcpy(wp->path + wp->len, c->p, c->n);
	wp->len += c->n;
	wp->path[wp->len] = '\0';
	wp->depth++;
	return 0;
}

int
wspath_normalise(struct wspath *wp, const char *in, size_t inlen,
    unsigned int flags, size_t strip)
{
	const char *p, *end, *why;
	struct wspath_comp c;
	size_t skipped = 0;
	int r;

	if (wp == NULL)
		return PETRI_ERR_INVAL;
	wp->dir = 0;
	wp->why = NULL;
	if (in == NULL) {
		(void)wspath_fail(wp, "is missing");
		return PETRI_ERR_INVAL;
	}
	if (inlen > WSPATH_MAX_INPUT)
		return wspath_fail(wp, "is too long");
	if ((why = wspath_check_bytes((const unsigned char *)in, inlen)) !=
	    NULL)
		return wspath_fail(wp, why);
	p = in;
	end = in + inlen;
	if (inlen > 0 && in[0] == '/') {
		size_t pl = sizeof(WSPATH_SANDBOX_PREFIX) - 1;

		if (!(flags & WSPATH_SANDBOX) || inlen < pl ||
		    memcmp(in, WSPATH_SANDBOX_PREFIX, pl) != 0 ||
		    (inlen > pl && in[pl] != '/'))
			return wspath_fail(wp, "is absolute");
		p += pl;
	}
	if (p < end && end[-1] == '/') {
		if (!(flags & WSPATH_DIR))
			return wspath_fail(wp, "ends with '/'");
		wp->dir = 1;
	}
	wp->path[0] = '\0';
	wp->len = 0;
	wp->depth = 0;
	while (wspath_next(&p, end, &c)) {
		if (c.n == 0 || (c.n == 1 && c.p[0] == '.'))
			continue;
		if (c.n == 2 && c.p[0] == '.' && c.p[1] == '.')
			return wspath_fail(wp, "contains '..'");
		if (c.n > WS_MAX_NAME)
			return wspath_fail(
			    wp, "has a component that is too long");
		if (skipped < strip) {
			skipped++;
			continue;
		}
		if (wspath_name_reserved(c.p, c.n))
			return wspath_fail(
			    wp, "uses the reserved name '.petri'");
		if ((r = wspath_push(wp, &c, WS_MAX_DEPTH)) != 0)
			return r;
	}
	if (wp->len == 0 && !(flags & WSPATH_ROOT))
		return wspath_fail(wp, "is empty");
	return (int)wp->len;
}

int
wspath_link_target(const struct wspath *link, const char *target, size_t tlen,
    struct wspath *out)
{
	struct wspath_comp dir[WS_MAX_DEPTH], res[WS_MAX_DEPTH], c;
	const char *p, *end, *why;
	size_t ndir = 0, nres = 0, common, i;
	int r;

	if (out == NULL)
		return PETRI_ERR_INVAL;
	out->dir = 0;
	out->why = NULL;
	if (link == NULL || target == NULL || link->len == 0)
		return wspath_fail(out, "has no link path");
	if (tlen == 0)
		return wspath_fail(out, "is empty");
	if (tlen > WSPATH_MAX_INPUT)
		return wspath_fail(out, "is too long");
	if ((why = wspath_check_bytes((const unsigned char *)target, tlen)) !=
	    NULL)
		return wspath_fail(out, why);
	if (target[0] == '/')
		return wspath_fail(out, "is absolute");

	/* The link's directory: every component of link but the last. */
	p = link->path;
	end = link->path + link->len;
	while (ndir < WS_MAX_DEPTH && wspath_next(&p, end, &c))
		dir[ndir++] = c;
	if (ndir == 0)
		return wspath_fail(out, "has no link path");
	ndir--;
	for (i = 0; i < ndir; i++)
		res[i] = dir[i];
	nres = ndir;

	p = target;
	end = target + tlen;
	while (wspath_next(&p, end, &c)) {
		if (c.n == 0 || (c.n == 1 && c.p[0] == '.'))
			continue;
		if (c.n == 2 && c.p[0] == '.' && c.p[1] == '.') {
			if (nres == 0)
				return wspath_fail(out, "leaves the workspace");
			nres--;
			continue;
		}
		if (c.n > WS_MAX_NAME)
			return wspath_fail(
			    out, "has a component that is too long");
		if (wspath_name_reserved(c.p, c.n))
			return wspath_fail(
			    out, "uses the reserved name '.petri'");
		if (nres >= WS_MAX_DEPTH)
			return wspath_fail(out, "has too many components");
		res[nres++] = c;
	}

	for (common = 0; common < ndir && common < nres; common++)
		if (dir[common].n != res[common].n ||
		    memcmp(dir[common].p, res[common].p, dir[common].n) != 0)
			break;
	out->path[0] = '\0';
	out->len = 0;
	out->depth = 0;
	/* the resolved path obeys WS_MAX_DEPTH; its text only the length */
	for (i = common; i < ndir; i++) {
		static const struct wspath_comp up = {"..", 2};

		if ((r = wspath_push(out, &up, SIZE_MAX)) != 0)
			return r;
	}
	for (i = common; i < nres; i++)
		if ((r = wspath_push(out, &res[i], SIZE_MAX)) != 0)
			return r;
	if (out->len == 0) {
		static const struct wspath_comp self = {".", 1};

		if ((r = wspath_push(out, &self, SIZE_MAX)) != 0)
			return r;
	}
	out->depth = nres;
	return (int)out->len;
}

/* The path set. */

struct wspath_node {
	uint64_t val;
	uint32_t parent;
	uint32_t name_off;
	uint16_t name_len;
	uint8_t kind;
};

struct wspath_tree {
	struct wspath_node *nodes; /* nodes[0] is the root directory */
	size_t nnodes;
	size_t capnodes;
	size_t max_nodes;
	char *names;
	size_t nameslen;
	size_t namescap;
	uint32_t *slots; /* open addressing; 0 is empty (the root) */
	size_t nslots; /* a power of two */
	unsigned char key[crypto_shorthash_KEYBYTES];
};

static size_t
wspath_tree_hash(
    const struct wspath_tree *t, uint32_t parent, const char *name, size_t n)
{
	unsigned char msg[4 + WS_MAX_NAME], h[crypto_shorthash_BYTES];
	uint64_t v = 0;
	size_t i;

	msg[0] = (unsigned char)(parent >> 24);
	msg[1] = (unsigned char)(parent >> 16);
	msg[2] = (unsigned char)(parent >> 8);
	msg[3] = (unsigned char)parent;
	memcpy(msg + 4, name, n);
	crypto_shorthash(h, msg, 4 + n, t->key);
	for (i = 0; i < sizeof(h); i++)
		v = v << 8 | h[i];
	return (size_t)v;
}

/* Returns the index of the child name of parent, or 0 when absent. */
static uint32_t
wspath_tree_find(
    const struct wspath_tree *t, uint32_t parent, const char *name, size_t n)
{
	size_t mask = t->nslots - 1, i;

	i = wspath_tree_hash(t, parent, name, n) & mask;
	for (; t->slots[i] != 0; i = (i + 1) & mask) {
		const struct wspath_node *nd = &t->nodes[t->slots[i]];

		if (nd->parent == parent && nd->name_len == n &&
		    memcmp(t->names + nd->name_off, name, n) == 0)
			return t->slots[i];
	}
	return 0;
}

static void
wspath_tree_slot(struct wspath_tree *t, uint32_t idx)
{
	const struct wspath_node *nd = &t->nodes[idx];
	size_t mask = t->nslots - 1, i;

	i = wspath_tree_hash(
	        t, nd->parent, t->names + nd->name_off, nd->name_len) &
	    mask;
	while (t->slots[i] != 0)
		i = (i + 1) & mask;
	t->slots[i] = idx;
}

/* Adds a child; returns its index, or a PETRI_ERR_* code. */
static int64_t
wspath_tree_insert(struct wspath_tree *t, uint32_t parent, const char *name,
    size_t n, enum wspath_kind kind, uint64_t val)
{
	struct wspath_node *nd;
	uint32_t idx, i;

	if (t->nnodes >= t->max_nodes)
		return PETRI_ERR_TOOBIG;
	if (t->nnodes == t->capnodes) {
		size_t ncap = t->capnodes * 2;

		if (ncap > t->max_nodes)
			ncap = t->max_nodes;
		if ((nd = reallocarray(t->nodes, ncap, sizeof(*nd))) == NULL)
			return PETRI_ERR_NOMEM;
		t->nodes = nd;
		t->capnodes = ncap;
	}
	if (n > t->namescap - t->nameslen) {
		size_t ncap = t->namescap * 2;
		char *p;

		while (ncap - t->nameslen < n)
			ncap *= 2;
		if ((p = realloc(t->names, ncap)) == NULL)
			return PETRI_ERR_NOMEM;
		t->names = p;
		t->namescap = ncap;
	}
	if ((t->nnodes + 1) * 2 > t->nslots) {
		uint32_t *s;

		if ((s = calloc(t->nslots * 2, sizeof(*s))) == NULL)
			return PETRI_ERR_NOMEM;
		free(t->slots);
		t->slots = s;
		t->nslots *= 2;
		for (i = 1; i < t->nnodes; i++)
			wspath_tree_slot(t, i);
	}
	idx = (uint32_t)t->nnodes++;
	nd = &t->nodes[idx];
	nd->val = val;
	nd->parent = parent;
	nd->name_off = (uint32_t)t->nameslen;
	nd->name_len = (uint16_t)n;
	nd->kind = (uint8_t)kind;
	memcpy(t->names + t->nameslen, name, n);
	t->nameslen += n;
	wspath_tree_slot(t, idx);
	return idx;
}

struct wspath_tree *
wspath_tree_new(size_t max_nodes)
{
	struct wspath_tree *t;

	/* indexes and name offsets are 32 bits */
	if (max_nodes > (size_t)UINT32_MAX / (WS_MAX_NAME + 1))
		max_nodes = (size_t)UINT32_MAX / (WS_MAX_NAME + 1);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->max_nodes = max_nodes + 1; /* the root */
	t->capnodes = 64;
	t->namescap = 1024;
	t->nslots = 128;
	t->nodes = calloc(t->capnodes, sizeof(*t->nodes));
	t->names = malloc(t->namescap);
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	if (t->nodes == NULL || t->names == NULL || t->slots == NULL) {
		wspath_tree_free(t);
		return NULL;
	}
	randombytes_buf(t->key, sizeof(t->key));
	t->nodes[0].kind = WSPATH_KIND_DIR;
	t->nnodes = 1;
	return t;
}

void
wspath_tree_free(struct wspath_tree *t)
{
	if (t == NULL)
		return;
	free(t->nodes);
	free(t->names);
	free(t->slots);
	free(t);
}

/* Returns the node of wp (0 for none or the root). */
static uint32_t
wspath_tree_lookup(const struct wspath_tree *t, const struct wspath *wp)
{
	const char *p = wp->path, *end = wp->path + wp->len;
	struct wspath_comp c;
	uint32_t cur = 0;

	while (wspath_next(&p, end, &c)) {
		if ((cur = wspath_tree_find(t, cur, c.p, c.n)) == 0)
			return 0;
	}
	return cur;
}

int
wspath_tree_add(struct wspath_tree *t, const struct wspath *wp,
    enum wspath_kind kind, uint64_t val, uint64_t *oldval, const char **why)
{
	const char *p = wp->path, *end = wp->path + wp->len, *dummy;
	struct wspath_comp c;
	struct wspath_node *nd;
	uint32_t cur = 0, child;
	int64_t r;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (wp->len == 0 || kind == WSPATH_KIND_NONE) {
		*why = "names the workspace root";
		return PETRI_ERR_PATH;
	}
	while (wspath_next(&p, end, &c)) {
		int last = p >= end;

		if (c.n == 0 || c.n > WS_MAX_NAME) {
			*why = "is not normalised";
			return PETRI_ERR_PATH;
		}
		child = wspath_tree_find(t, cur, c.p, c.n);
		if (child == 0) {
			r = wspath_tree_insert(t, cur, c.p, c.n,
			    last ? kind : WSPATH_KIND_DIR, last ? val : 0);
			if (r < 0) {
				*why = r == PETRI_ERR_TOOBIG
				    ? "makes too many paths"
				    : "could not be recorded";
				return (int)r;
			}
			cur = (uint32_t)r;
			continue;
		}
		nd = &t->nodes[child];
		if (!last) {
			if (nd->kind != WSPATH_KIND_DIR) {
				*why = nd->kind == WSPATH_KIND_LINK
				    ? "has a parent that is a symbolic link"
				    : "has a parent that is a file";
				return PETRI_ERR_PATH;
			}
			cur = child;
			continue;
		}
		if (nd->kind == WSPATH_KIND_DIR && kind == WSPATH_KIND_DIR)
			return 0;
		if (nd->kind == WSPATH_KIND_DIR) {
			*why = "is already a directory";
			return PETRI_ERR_EXISTS;
		}
		if (kind == WSPATH_KIND_DIR) {
			*why = nd->kind == WSPATH_KIND_LINK
			    ? "is already a symbolic link"
			    : "is already a file";
			return PETRI_ERR_EXISTS;
		}
		if (oldval != NULL)
			*oldval = nd->val;
		nd->kind = (uint8_t)kind;
		nd->val = val;
		return 1;
	}
	return 0;
}

enum wspath_kind
wspath_tree_get(
    const struct wspath_tree *t, const struct wspath *wp, uint64_t *val)
{
	uint32_t n;

	if (wp->len == 0)
		return WSPATH_KIND_NONE;
	if ((n = wspath_tree_lookup(t, wp)) == 0)
		return WSPATH_KIND_NONE;
	if (val != NULL)
		*val = t->nodes[n].val;
	return (enum wspath_kind)t->nodes[n].kind;
}

int
wspath_tree_set(struct wspath_tree *t, const struct wspath *wp, uint64_t val)
{
	uint32_t n;

	if (wp->len == 0 || (n = wspath_tree_lookup(t, wp)) == 0)
		return PETRI_ERR_NOTFOUND;
	t->nodes[n].val = val;
	return 0;
}
