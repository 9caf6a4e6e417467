/* test_wspath.c: workspace path rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "wspath.h"

/* Normalises s (strlen) and returns the code; the result is in *wp. */
static int
norm(struct wspath *wp, const char *s, unsigned int flags, size_t strip)
{
	return wspath_normalise(wp, s, strlen(s), flags, strip);
}

/* 1 when s normalises to want (checks idempotence too). */
static int
norm_is(const char *s, unsigned int flags, size_t strip, const char *want)
{
	struct wspath wp, again;

	if (norm(&wp, s, flags, strip) != (int)strlen(want) ||
	    strcmp(wp.path, want) != 0 || wp.len != strlen(want))
		return 0;
	if (wp.len == 0)
		return 1;
	return norm(&again, wp.path, 0, 0) == (int)wp.len &&
	    strcmp(again.path, wp.path) == 0 && again.depth == wp.depth;
}

/* 1 when s is refused with PETRI_ERR_PATH and a reason. */
static int
norm_bad(const char *s, unsigned int flags)
{
	struct wspath wp;

	return norm(&wp, s, flags, 0) == PETRI_ERR_PATH && wp.why != NULL &&
	    wp.path[0] == '\0';
}

static void
test_basic(void)
{
	struct wspath wp;

	CHECK(norm_is("a", 0, 0, "a"));
	CHECK(norm_is("a/b/c.py", 0, 0, "a/b/c.py"));
	CHECK(norm_is("./a//b/.", 0, 0, "a/b"));
	CHECK(norm_is("a/./././b", 0, 0, "a/b"));
	CHECK(norm_is("...", 0, 0, "..."));
	CHECK(norm_is("a/..b/c..", 0, 0, "a/..b/c.."));
	CHECK(norm_is(" spaced name ", 0, 0, " spaced name "));
	CHECK_EQ(norm(&wp, "a/b/c", 0, 0), 5);
	CHECK_EQ(wp.depth, 3);
	CHECK_EQ(wp.dir, 0);
	CHECK_EQ(wspath_normalise(NULL, "a", 1, 0, 0), PETRI_ERR_INVAL);
	CHECK_EQ(wspath_normalise(&wp, NULL, 0, 0, 0), PETRI_ERR_INVAL);
}

static void
test_dotdot_and_absolute(void)
{
	CHECK(norm_bad("..", 0));
	CHECK(norm_bad("../x", 0));
	CHECK(norm_bad("a/../b", 0));
	CHECK(norm_bad("a/b/..", 0));
	CHECK(norm_bad("../../etc/passwd", 0));
	CHECK(norm_bad("a/./../..", WSPATH_ROOT | WSPATH_DIR));
	CHECK(norm_bad("/etc/passwd", 0));
	CHECK(norm_bad("/", WSPATH_ROOT | WSPATH_DIR));
	CHECK(norm_bad("//a", 0));
	/* /sandbox is the container's name for the root */
	CHECK(norm_bad("/sandbox/a", 0));
	CHECK(norm_is("/sandbox/a/b", WSPATH_SANDBOX, 0, "a/b"));
	CHECK(norm_is("/sandbox//a", WSPATH_SANDBOX, 0, "a"));
	CHECK(norm_is("/sandbox", WSPATH_SANDBOX | WSPATH_ROOT, 0, ""));
	CHECK(norm_is(
	    "/sandbox/", WSPATH_SANDBOX | WSPATH_ROOT | WSPATH_DIR, 0, ""));
	CHECK(norm_bad("/sandbox", WSPATH_SANDBOX));
	CHECK(norm_bad("/sandboxes/a", WSPATH_SANDBOX));
	CHECK(norm_bad("/sandbox/../etc", WSPATH_SANDBOX));
	CHECK(norm_bad("/sandbox/../sb_other/x", WSPATH_SANDBOX));
	CHECK(norm_bad("/tmp/sandbox/a", WSPATH_SANDBOX));
}

static void
test_root_and_trailing_slash(void)
{
	struct wspath wp;

	CHECK(norm_bad("", 0));
	CHECK(norm_bad(".", 0));
	CHECK(norm_bad("./", WSPATH_DIR));
	CHECK(norm_is("", WSPATH_ROOT, 0, ""));
	CHECK(norm_is(".", WSPATH_ROOT, 0, ""));
	CHECK(norm_is("./.", WSPATH_ROOT, 0, ""));
	CHECK(norm_bad("a/", 0));
	CHECK_EQ(norm(&wp, "a/b/", WSPATH_DIR, 0), 3);
	CHECK_STR(wp.path, "a/b");
	CHECK_EQ(wp.dir, 1);
	CHECK_EQ(norm(&wp, "a/b", WSPATH_DIR, 0), 3);
	CHECK_EQ(wp.dir, 0);
}

static void
test_bytes(void)
{
	struct wspath wp;

	CHECK_EQ(wspath_normalise(&wp, "a\0b", 3, 0, 0), PETRI_ERR_PATH);
	CHECK_EQ(wspath_normalise(&wp, "a\0", 2, 0, 0), PETRI_ERR_PATH);
	CHECK(norm_bad("a\nb", 0));
	CHECK(norm_bad("a\rb", 0));
	CHECK(norm_bad("\x1b[31mred", 0));
	CHECK(norm_bad("del\x7f", 0));
	CHECK(norm_bad("tab\there", 0));
	CHECK(norm_bad("a\\b", 0));
	CHECK(norm_bad("..\\..\\etc", 0));
	/* UTF-8 */
	CHECK(norm_is("caf\xc3\xa9/\xe2\x82\xac.txt", 0, 0,
	    "caf\xc3\xa9/\xe2\x82\xac.txt"));
	CHECK(norm_is("\xf0\x9f\x98\x80", 0, 0, "\xf0\x9f\x98\x80"));
	CHECK(norm_is("\xf4\x8f\xbf\xbf", 0, 0, "\xf4\x8f\xbf\xbf"));
	CHECK(norm_bad("\xc3", 0)); /* truncated */
	CHECK(norm_bad("\xe2\x82", 0)); /* truncated */
	CHECK(norm_bad("\xc0\xaf", 0)); /* overlong '/' */
	CHECK(norm_bad("\xe0\x80\xaf", 0)); /* overlong '/' */
	CHECK(norm_bad("\xf0\x80\x80\xaf", 0)); /* overlong '/' */
	CHECK(norm_bad("\xc1\xae\xc1\xae", 0)); /* overlong ".." */
	CHECK(norm_bad("\xed\xa0\x80", 0)); /* surrogate */
	CHECK(norm_bad("\xf4\x90\x80\x80", 0)); /* past U+10FFFF */
	CHECK(norm_bad("\xff", 0));
	CHECK(norm_bad("\x80", 0));
	CHECK(norm_bad("a\xc2\x85"
	               "b",
	    0)); /* C1 control NEL */
	CHECK(norm_bad("\xc2\x9b"
	               "31m",
	    0)); /* C1 CSI */
	CHECK(norm_is("\xc2\xa0", 0, 0, "\xc2\xa0"));
}

static void
test_limits(void)
{
	char *s;
	size_t i;
	struct wspath wp;

	s = malloc(WSPATH_MAX_INPUT + 16);
	CHECK(s != NULL);
	if (s == NULL)
		return;
	/* one component of WS_MAX_NAME bytes, and one more */
	memset(s, 'n', WS_MAX_NAME);
	s[WS_MAX_NAME] = '\0';
	CHECK_EQ(norm(&wp, s, 0, 0), WS_MAX_NAME);
	s[WS_MAX_NAME] = 'n';
	s[WS_MAX_NAME + 1] = '\0';
	CHECK(norm_bad(s, 0));

	/* WS_MAX_PATH bytes: components of 99 bytes + '/' */
	memset(s, 'p', WS_MAX_PATH);
	for (i = 99; i < WS_MAX_PATH; i += 100)
		s[i] = '/';
	s[WS_MAX_PATH] = '\0';
	CHECK_EQ(norm(&wp, s, 0, 0), WS_MAX_PATH);
	s[WS_MAX_PATH] = 'p';
	s[WS_MAX_PATH + 1] = '\0';
	CHECK(norm_bad(s, 0));

	/* WS_MAX_DEPTH components, and one more */
	for (i = 0; i < WS_MAX_DEPTH; i++) {
		s[2 * i] = 'd';
		s[2 * i + 1] = '/';
	}
	s[2 * WS_MAX_DEPTH - 1] = '\0';
	CHECK_EQ(norm(&wp, s, 0, 0), 2 * WS_MAX_DEPTH - 1);
	CHECK_EQ(wp.depth, WS_MAX_DEPTH);
	s[2 * WS_MAX_DEPTH - 1] = '/';
	s[2 * WS_MAX_DEPTH] = 'd';
	s[2 * WS_MAX_DEPTH + 1] = '\0';
	CHECK(norm_bad(s, 0));
	/* strip brings it back under the limit */
	CHECK_EQ(norm(&wp, s, 0, 1), 2 * WS_MAX_DEPTH - 1);

	/* raw input is bounded even when it would normalise short */
	for (i = 0; i < WSPATH_MAX_INPUT; i += 2) {
		s[i] = '.';
		s[i + 1] = '/';
	}
	s[WSPATH_MAX_INPUT] = 'x';
	s[WSPATH_MAX_INPUT + 1] = '\0';
	CHECK(norm_bad(s, 0));
	s[WSPATH_MAX_INPUT - 2] = 'x';
	s[WSPATH_MAX_INPUT - 1] = '\0';
	CHECK(norm_is(s, 0, 0, "x"));
	free(s);
}

static void
test_reserved(void)
{
	CHECK(norm_bad(".petri", 0));
	CHECK(norm_bad(".petri/", WSPATH_DIR));
	CHECK(norm_bad(".petri/state.json", 0));
	CHECK(norm_bad("a/.petri/b", 0));
	CHECK(norm_bad(".PETRI", 0));
	CHECK(norm_bad(".Petri/x", 0));
	CHECK(norm_bad("./.petri", 0));
	CHECK(norm_bad("/sandbox/.petri", WSPATH_SANDBOX));
	CHECK(norm_is(".petri2", 0, 0, ".petri2"));
	CHECK(norm_is("x.petri", 0, 0, "x.petri"));
	CHECK(norm_is(".petr", 0, 0, ".petr"));
	CHECK(norm_is("petri", 0, 0, "petri"));
	CHECK_EQ(wspath_name_reserved(".pEtRi", 6), 1);
	CHECK_EQ(wspath_name_reserved(".petri", 5), 0);
}

static void
test_strip(void)
{
	struct wspath wp;

	CHECK(norm_is("proj/src/a.py", 0, 1, "src/a.py"));
	CHECK(norm_is("./proj//src/a.py", 0, 1, "src/a.py"));
	CHECK(norm_is("proj/src/a.py", 0, 2, "a.py"));
	CHECK(norm_is("proj/", WSPATH_ROOT | WSPATH_DIR, 1, ""));
	CHECK(norm_is("README", WSPATH_ROOT, 1, ""));
	CHECK(norm_is("a/b", WSPATH_ROOT, 5, ""));
	CHECK_EQ(norm(&wp, "README", 0, 1), PETRI_ERR_PATH);
	/* ".." is refused even in a component strip drops */
	CHECK_EQ(norm(&wp, "../x/y", 0, 1), PETRI_ERR_PATH);
	CHECK_EQ(norm(&wp, "/proj/x", 0, 1), PETRI_ERR_PATH);
	CHECK_EQ(norm(&wp, "a\\b/x", 0, 1), PETRI_ERR_PATH);
	/* the reserved name only matters where it stays */
	CHECK(norm_is(".petri/x", 0, 1, "x"));
	CHECK_EQ(norm(&wp, "proj/.petri/x", 0, 1), PETRI_ERR_PATH);
}

static int
link_is(const char *link, const char *target, const char *want)
{
	struct wspath lp, out;

	if (norm(&lp, link, 0, 0) < 0)
		return 0;
	return wspath_link_target(&lp, target, strlen(target), &out) ==
	    (int)strlen(want) &&
	    strcmp(out.path, want) == 0;
}

static int
link_bad(const char *link, const char *target)
{
	struct wspath lp, out;

	if (norm(&lp, link, 0, 0) < 0)
		return 0;
	return wspath_link_target(&lp, target, strlen(target), &out) ==
	    PETRI_ERR_PATH &&
	    out.why != NULL;
}

/* A link 40 deep to a path 41 deep through another branch. */
static int
link_deep(void)
{
	struct wspath lp, out;
	char l[256], t[512], *p;
	int i, ok;

	for (i = 0, p = l; i < 40; i++)
		p += snprintf(p, sizeof(l) - (size_t)(p - l), "a/");
	snprintf(p, sizeof(l) - (size_t)(p - l), "link");
	for (i = 0, p = t; i < 39; i++)
		p += snprintf(p, sizeof(t) - (size_t)(p - t), "../");
	for (i = 0; i < 40; i++)
		p += snprintf(p, sizeof(t) - (size_t)(p - t), "b/");
	if (norm(&lp, l, 0, 0) != (int)strlen(l))
		return 0;
	ok =
	    wspath_link_target(&lp, t, strlen(t), &out) == (int)strlen(t) - 1 &&
	    out.depth == 41;
	/* the resolved path itself still has at most WS_MAX_DEPTH */
	for (i = 0; i < WS_MAX_DEPTH - 40 + 1; i++)
		p += snprintf(p, sizeof(t) - (size_t)(p - t), "c/");
	return ok &&
	    wspath_link_target(&lp, t, strlen(t), &out) == PETRI_ERR_PATH;
}

static void
test_link_target(void)
{
	struct wspath lp, out;

	CHECK(link_is("l", "x", "x"));
	CHECK(link_is("l", "a/b", "a/b"));
	CHECK(link_is("l", ".", "."));
	CHECK(link_is("l", "./", "."));
	CHECK(link_is("a/l", "x", "x"));
	CHECK(link_is("a/l", "./x", "x"));
	CHECK(link_is("a/l", "../x", "../x"));
	CHECK(link_is("a/l", "..", ".."));
	CHECK(link_is("a/b/l", "../../c", "../../c"));
	CHECK(link_is("a/b/l", "../c/../d", "../d"));
	CHECK(link_is("app/lib", "../shared/lib", "../shared/lib"));
	CHECK(link_is("a/b/l", "../../a/b/x", "x"));
	CHECK(link_is("a/b/l", "../../a/c", "../c"));
	CHECK(link_is("a/l", "dir/", "dir"));
	/*
	 * Through a link: "s/../../x" from a/ reads as x lexically; stored
	 * canonically as ../x so another link s cannot change the reading.
	 */
	CHECK(link_is("a/l", "s/../../x", "../x"));

	CHECK(link_bad("l", ".."));
	CHECK(link_bad("l", "../"));
	CHECK(link_bad("l", "../../"));
	CHECK(link_bad("link", "../../"));
	CHECK(link_bad("a/l", "../../x"));
	CHECK(link_bad("a/l", "../../sb_other/secret"));
	CHECK(link_bad("a/b/l", "x/../../../.."));
	CHECK(link_bad("l", "a/../.."));
	CHECK(link_bad("l", "/etc"));
	CHECK(link_bad("l", "/etc/passwd"));
	CHECK(link_bad("l", "/sandbox/x"));
	CHECK(link_bad("l", ""));
	CHECK(link_bad("l", ".petri"));
	CHECK(link_bad("l", "a/../.PETRI/x"));
	CHECK(link_bad("l", "a\\b"));
	CHECK(link_bad("l", "a\nb"));
	CHECK(link_bad("l", "\xff"));

	/* deep branch to deep branch: 39 ".." and 40 names is fine */
	CHECK(link_deep());

	/* a link at the root has no directory part but works */
	CHECK_EQ(norm(&lp, "l", 0, 0), 1);
	CHECK_EQ(wspath_link_target(&lp, "a\0b", 3, &out), PETRI_ERR_PATH);
	lp.len = 0;
	lp.path[0] = '\0';
	CHECK_EQ(wspath_link_target(&lp, "x", 1, &out), PETRI_ERR_PATH);
}

static void
test_tree(void)
{
	struct wspath_tree *t;
	struct wspath wp;
	const char *why;
	uint64_t v = 0;

	CHECK((t = wspath_tree_new(100)) != NULL);
	if (t == NULL)
		return;
	CHECK_EQ(norm(&wp, "a/b/c", 0, 0), 5);
	CHECK_EQ(wspath_tree_add(t, &wp, WSPATH_KIND_FILE, 7, NULL, &why), 0);
	CHECK_EQ(wspath_tree_get(t, &wp, &v), WSPATH_KIND_FILE);
	CHECK_EQ(v, 7);
	/* the later file wins */
	CHECK_EQ(wspath_tree_add(t, &wp, WSPATH_KIND_FILE, 8, &v, &why), 1);
	CHECK_EQ(v, 7);
	CHECK_EQ(wspath_tree_get(t, &wp, &v), WSPATH_KIND_FILE);
	CHECK_EQ(v, 8);
	CHECK_EQ(wspath_tree_add(t, &wp, WSPATH_KIND_LINK, 9, &v, &why), 1);
	CHECK_EQ(wspath_tree_get(t, &wp, NULL), WSPATH_KIND_LINK);
	/* but never over a directory, nor a directory over it */
	CHECK_EQ(wspath_tree_add(t, &wp, WSPATH_KIND_DIR, 0, NULL, &why),
	    PETRI_ERR_EXISTS);
	CHECK(why != NULL);
	CHECK_EQ(norm(&wp, "a/b", 0, 0), 3);
	CHECK_EQ(wspath_tree_get(t, &wp, NULL), WSPATH_KIND_DIR);
	CHECK_EQ(wspath_tree_add(t, &wp, WSPATH_KIND_FILE, 0, NULL, &why),
	    PETRI_ERR_EXISTS);
	CHECK_EQ(wspath_tree_add(t, &wp, WSPATH_KIND_DIR, 0, NULL, &why), 0);
	/* nothing below a file or a link */
	CHECK_EQ(norm(&wp, "a/b/c/d", 0, 0), 7);
	CHECK_EQ(wspath_tree_add(t, &wp, WSPATH_KIND_FILE, 0, NULL, &why),
	    PETRI_ERR_PATH);
	CHECK(why != NULL && strstr(why, "symbolic link") != NULL);
	CHECK_EQ(norm(&wp, "f", 0, 0), 1);
	CHECK_EQ(wspath_tree_add(t, &wp, WSPATH_KIND_FILE, 0, NULL, NULL), 0);
	CHECK_EQ(norm(&wp, "f/x", 0, 0), 3);
	CHECK_EQ(wspath_tree_add(t, &wp, WSPATH_KIND_DIR, 0, NULL, &why),
	    PETRI_ERR_PATH);
	CHECK(why != NULL && strstr(why, "file") != NULL);
	/* absent paths, set */
	CHECK_EQ(norm(&wp, "nope/x", 0, 0), 6);
	CHECK_EQ(wspath_tree_get(t, &wp, NULL), WSPATH_KIND_NONE);
	CHECK_EQ(wspath_tree_set(t, &wp, 1), PETRI_ERR_NOTFOUND);
	CHECK_EQ(norm(&wp, "f", 0, 0), 1);
	CHECK_EQ(wspath_tree_set(t, &wp, 42), 0);
	CHECK_EQ(wspath_tree_get(t, &wp, &v), WSPATH_KIND_FILE);
	CHECK_EQ(v, 42);
	/* the root is not an entry */
	CHECK_EQ(norm(&wp, "", WSPATH_ROOT, 0), 0);
	CHECK_EQ(wspath_tree_add(t, &wp, WSPATH_KIND_DIR, 0, NULL, &why),
	    PETRI_ERR_PATH);
	CHECK_EQ(wspath_tree_get(t, &wp, NULL), WSPATH_KIND_NONE);
	wspath_tree_free(t);
	wspath_tree_free(NULL);
}

static void
test_tree_limits(void)
{
	struct wspath_tree *t;
	struct wspath wp;
	char name[32];
	int i, ok = 1;

	/* growth: many siblings and a deep chain */
	CHECK((t = wspath_tree_new(100000)) != NULL);
	if (t == NULL)
		return;
	for (i = 0; i < 50000 && ok; i++) {
		snprintf(name, sizeof(name), "dir%d/f%d", i % 97, i);
		ok = norm(&wp, name, 0, 0) > 0 &&
		    wspath_tree_add(
		        t, &wp, WSPATH_KIND_FILE, (uint64_t)i, NULL, NULL) == 0;
	}
	CHECK(ok);
	for (i = 0; i < 50000 && ok; i += 997) {
		uint64_t v = 0;

		snprintf(name, sizeof(name), "dir%d/f%d", i % 97, i);
		ok = norm(&wp, name, 0, 0) > 0 &&
		    wspath_tree_get(t, &wp, &v) == WSPATH_KIND_FILE &&
		    v == (uint64_t)i;
	}
	CHECK(ok);
	wspath_tree_free(t);

	/* the node cap counts parents */
	CHECK((t = wspath_tree_new(3)) != NULL);
	if (t == NULL)
		return;
	CHECK_EQ(norm(&wp, "a/b/c", 0, 0), 5);
	CHECK_EQ(wspath_tree_add(t, &wp, WSPATH_KIND_FILE, 0, NULL, NULL), 0);
	CHECK_EQ(norm(&wp, "a/b/d", 0, 0), 5);
	CHECK_EQ(wspath_tree_add(t, &wp, WSPATH_KIND_FILE, 0, NULL, NULL),
	    PETRI_ERR_TOOBIG);
	wspath_tree_free(t);
}

static void
test_quote(void)
{
	char out[16];

	wspath_quote(out, sizeof(out), "a\nb\xc3\xa9", 100);
	CHECK_STR(out, "a?b??");
	wspath_quote(out, sizeof(out), "0123456789abcdefghij", 100);
	CHECK_STR(out, "0123456789ab...");
	wspath_quote(out, sizeof(out), "0123456789", 6);
	CHECK_STR(out, "012...");
	wspath_quote(out, sizeof(out), NULL, 10);
	CHECK_STR(out, "");
}

int
main(void)
{
	UNIT_RUN(test_basic);
	UNIT_RUN(test_dotdot_and_absolute);
	UNIT_RUN(test_root_and_trailing_slash);
	UNIT_RUN(test_bytes);
	UNIT_RUN(test_limits);
	UNIT_RUN(test_reserved);
	UNIT_RUN(test_strip);
	UNIT_RUN(test_link_target);
	UNIT_RUN(test_tree);
	UNIT_RUN(test_tree_limits);
	UNIT_RUN(test_quote);
	return UNIT_DONE();
}
