/*
 * fuzz_wspath.c: workspace path rules.  Input: one byte of options (flags
 * in bits 0-2, strip in bits 3-4), then the path.  The path is also split
 * at the first '|' into a link and its target, and at '\n' into lines fed
 * to a path tree.  Any broken invariant aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wspath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(c)                                                         \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)

/* A successful result must be normalised and within every limit. */
static void
check_normal(const struct wspath *wp, int len)
{
	struct wspath again;
	const char *p, *slash;
	size_t depth = 0;

	FUZZ_ASSERT(len >= 0 && (size_t)len == wp->len);
	FUZZ_ASSERT(strlen(wp->path) == wp->len);
	FUZZ_ASSERT(wp->len <= WS_MAX_PATH);
	if (wp->len == 0) {
		FUZZ_ASSERT(wp->depth == 0);
		return;
	}
	for (p = wp->path;; p = slash + 1) {
		size_t n;

		slash = strchr(p, '/');
		n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		FUZZ_ASSERT(n > 0 && n <= WS_MAX_NAME);
		FUZZ_ASSERT(!(n == 1 && p[0] == '.'));
		FUZZ_ASSERT(!(n == 2 && p[0] == '.' && p[1] == '.'));
		FUZZ_ASSERT(!wspath_name_reserved(p, n));
		depth++;
		if (slash == NULL)
			break;
	}
	FUZZ_ASSERT(depth == wp->depth && depth <= WS_MAX_DEPTH);
	FUZZ_ASSERT(strchr(wp->path, '\\') == NULL);
	/* a fixed point */
	FUZZ_ASSERT(
	    wspath_normalise(&again, wp->path, wp->len, 0, 0) == (int)wp->len);
	FUZZ_ASSERT(strcmp(again.path, wp->path) == 0);
}

static void
fuzz_link(const char *s, size_t n)
{
	const char *bar = memchr(s, '|', n);
	struct wspath link, t1, t2;
	size_t ups = 0, dirdepth;
	const char *p;

	if (bar == NULL)
		return;
	if (wspath_normalise(&link, s, (size_t)(bar - s), 0, 0) <= 0)
		return;
	if (wspath_link_target(&link, bar + 1, n - (size_t)(bar - s) - 1, &t1) <
	    0) {
		FUZZ_ASSERT(t1.why != NULL);
		return;
	}
	FUZZ_ASSERT(t1.len > 0 && t1.len <= WS_MAX_PATH && t1.path[0] != '/');
	/* leading "../" only, never more than the link's directory depth */
	for (p = t1.path; strncmp(p, "../", 3) == 0; p += 3)
		ups++;
	if (strcmp(p, "..") == 0)
		ups++, p += 2;
	dirdepth = link.depth - 1;
	FUZZ_ASSERT(ups <= dirdepth);
	FUZZ_ASSERT(strstr(p, "/../") == NULL && strncmp(p, "../", 3) != 0);
	/* the canonical form is its own canonical form */
	FUZZ_ASSERT(
	    wspath_link_target(&link, t1.path, t1.len, &t2) == (int)t1.len);
	FUZZ_ASSERT(strcmp(t1.path, t2.path) == 0);
}

static void
fuzz_tree(const char *s, size_t n)
{
	struct wspath_tree *t;
	struct wspath wp;
	const char *end = s + n, *nl;
	enum wspath_kind kind, got;
	uint64_t v, line = 0;
	int r;

	if ((t = wspath_tree_new(256)) == NULL)
		return;
	for (; s < end; s = nl + 1, line++) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		if (wspath_normalise(&wp, s, (size_t)(nl - s),
		        WSPATH_DIR | WSPATH_SANDBOX, 0) <= 0)
			continue;
		kind = wp.dir      ? WSPATH_KIND_DIR
		    : (wp.len & 1) ? WSPATH_KIND_FILE
		                   : WSPATH_KIND_LINK;
		r = wspath_tree_add(t, &wp, kind, line, NULL, NULL);
		got = wspath_tree_get(t, &wp, &v);
		if (r >= 0) {
			FUZZ_ASSERT(got == kind);
			if (kind != WSPATH_KIND_DIR)
				FUZZ_ASSERT(v == line);
		} else
			FUZZ_ASSERT(r == PETRI_ERR_EXISTS ||
			    r == PETRI_ERR_PATH || r == PETRI_ERR_TOOBIG);
	}
	wspath_tree_free(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wspath wp;
	const char *s;
	unsigned int flags;
	size_t strip, n;
	int r;

	if (size < 1 || size > 4 * WSPATH_MAX_INPUT)
		return 0;
	flags = data[0] & 7;
	strip = (data[0] >> 3) & 3;
	s = (const char *)data + 1;
	n = size - 1;
	r = wspath_normalise(&wp, s, n, flags, strip);
	if (r >= 0) {
		check_normal(&wp, r);
		FUZZ_ASSERT(r > 0 || (flags & WSPATH_ROOT));
		FUZZ_ASSERT(memchr(s, '\0', n) == NULL);
	} else
		FUZZ_ASSERT(r == PETRI_ERR_PATH && wp.why != NULL);
	fuzz_link(s, n);
	fuzz_tree(s, n);
	return 0;
}
