/* testparse.c: counts of a test run (testparse.h). */
#include <ctype.h>
#include <string.h>

#include "testparse.h"

#define COUNT_MAX 100000000L

/* The bounded memmem of this module. */
static const char *
find(const char *h, const char *end, const char *needle)
{
	size_t nl = strlen(needle);

	for (; h != NULL && (size_t)(end - h) >= nl; h++)
		if (memcmp(h, needle, nl) == 0)
			return h;
	return NULL;
}

/* A decimal number at p (at most 9 digits); -1 when there is none. */
static long
num(const char *p, const char *end)
{
	long v = 0;
	int d = 0;

	while (p < end && isdigit((unsigned char)*p) && d < 9) {
		v = v * 10 + (*p - '0');
		p++;
		d++;
	}
	return d > 0 && v <= COUNT_MAX ? v : -1;
}

/* Attribute name="N" inside [tag, end); -1 when absent. */
static long
attr(const char *tag, const char *end, const char *name)
{
	char pat[32];
	const char *p;
	size_t n = strlen(name);

	if (n + 4 > sizeof(pat))
		return -1;
	pat[0] = ' ';
	memcpy(pat + 1, name, n);
	memcpy(pat + 1 + n, "=\"", 3);
	if ((p = find(tag, end, pat)) == NULL) {
		pat[n + 2] = '\'';
		if ((p = find(tag, end, pat)) == NULL)
			return -1;
	}
	return num(p + n + 3, end);
}

static int
junit_tag(const char *tag, const char *end, struct test_counts *c, int add)
{
	const char *close = memchr(tag, '>', (size_t)(end - tag));
	long tests, failures, errors, skipped;

	if (close == NULL)
		return -1;
	tests = attr(tag, close, "tests");
	failures = attr(tag, close, "failures");
	errors = attr(tag, close, "errors");
	skipped = attr(tag, close, "skipped");
	if (tests < 0)
		return -1;
	if (failures < 0)
		failures = 0;
	if (errors < 0)
		errors = 0;
	if (skipped < 0)
		skipped = 0;
	if (failures + errors + skipped > tests)
		return -1;
	if (!add)
		memset(c, 0, sizeof(*c));
	c->failed += failures;
	c->errors += errors;
	c->skipped += skipped;
	c->passed += tests - failures - errors - skipped;
	c->found = 1;
	return 0;
}

int
testparse_junit(const char *xml, size_t n, struct test_counts *c)
{
	const char *end, *p;
	int any = 0;

	memset(c, 0, sizeof(*c));
	if (xml == NULL)
		return -1;
	if (n > TESTPARSE_MAX)
		n = TESTPARSE_MAX;
	end = xml + n;
	if ((p = find(xml, end, "<testsuites")) != NULL &&
	    junit_tag(p, end, c, 0) == 0)
		return 0;
	for (p = xml; (p = find(p, end, "<testsuite")) != NULL; p++) {
		if (p + 10 < end && p[10] == 's')
			continue; /* <testsuites */
		if (junit_tag(p, end, c, 1) == 0)
			any = 1;
	}
	return any ? 0 : -1;
}

/* The last "label N" / "N label" style count in the text, or -1. */
static long
last_after(const char *text, const char *end, const char *label)
{
	const char *p, *q = NULL;

	for (p = text; (p = find(p, end, label)) != NULL; p++)
		q = p;
	return q != NULL ? num(q + strlen(label), end) : -1;
}

/* "N word" before word, e.g. "3 passed" (the last one in the text). */
static long
last_before(const char *text, const char *end, const char *word)
{
	const char *p, *q = NULL, *s;

	for (p = text; (p = find(p, end, word)) != NULL; p++)
		if (p > text && p[-1] == ' ')
			q = p;
	if (q == NULL)
		return -1;
	s = q - 1;
	while (s > text && isdigit((unsigned char)s[-1]))
		s--;
	return s < q - 1 ? num(s, q - 1) : -1;
}

/* Python's unittest: "Ran N tests", then "FAILED (failures=F, ...)". */
static int
counts_unittest(const char *text, const char *end, struct test_counts *c)
{
	long ran = last_after(text, end, "\nRan "), v;

	if (ran < 0)
		return -1;
	if ((v = last_after(text, end, "failures=")) > 0)
		c->failed = v;
	if ((v = last_after(text, end, "errors=")) > 0)
		c->errors = v;
	if ((v = last_after(text, end, "skipped=")) > 0)
		c->skipped = v;
	if (c->failed + c->errors + c->skipped > ran)
		return -1;
	c->passed = ran - c->failed - c->errors - c->skipped;
	return 0;
}

/* node --test (TAP): "# pass N", "# fail N", ... */
static int
counts_node(const char *text, const char *end, struct test_counts *c)
{
	long v;

	if ((v = last_after(text, end, "# pass ")) < 0)
		return -1;
	c->passed = v;
	c->failed = (v = last_after(text, end, "# fail ")) > 0 ? v : 0;
	c->skipped = (v = last_after(text, end, "# skipped ")) > 0 ? v : 0;
	c->errors = (v = last_after(text, end, "# cancelled ")) > 0 ? v : 0;
	return 0;
}

/* pytest's summary: "N passed, F failed, S skipped, E error(s)". */
static int
counts_pytest(const char *text, const char *end, struct test_counts *c)
{
	c->passed = last_before(text, end, "passed");
	c->failed = last_before(text, end, "failed");
	c->skipped = last_before(text, end, "skipped");
	c->errors = last_before(text, end, "error");
	if (c->passed < 0 && c->failed < 0 && c->errors < 0)
		return -1;
	if (c->passed < 0)
		c->passed = 0;
	if (c->failed < 0)
		c->failed = 0;
	if (c->skipped < 0)
		c->skipped = 0;
	if (c->errors < 0)
		c->errors = 0;
	return 0;
}

/* JUnitCore: "OK (N tests)" or "Tests run: N,  Failures: F". */
static int
counts_junit4(const char *text, const char *end, struct test_counts *c)
{
	long ok = last_after(text, end, "\nOK (");
	long run = last_after(text, end, "Tests run: ");

	if (ok >= 0 && run < 0) {
		c->passed = ok;
		return 0;
	}
	if (run < 0)
		return -1;
	c->failed = last_after(text, end, "Failures: ");
	if (c->failed < 0 || c->failed > run)
		return -1;
	c->passed = run - c->failed;
	return 0;
}

/* go test -json: one "Action" line per test. */
static int
counts_go(const char *text, const char *end, struct test_counts *c)
{
	const char *p = text, *nl;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (find(p, nl, "\"Test\":") == NULL)
			continue;
		if (find(p, nl, "\"Action\":\"pass\"") != NULL)
			c->passed++;
		else if (find(p, nl, "\"Action\":\"fail\"") != NULL)
			c->failed++;
		else if (find(p, nl, "\"Action\":\"skip\"") != NULL)
			c->skipped++;
		if (nl == end)
			break;
	}
	return c->passed + c->failed + c->skipped == 0 ? -1 : 0;
}

static int
text_counts(
    const char *runner, const char *text, size_t n, struct test_counts *c)
{
	static const struct {
		const char *runner;
		int (*fn)(const char *, const char *, struct test_counts *);
	} runners[] = {
	    {"unittest", counts_unittest},
	    {"node-test", counts_node},
	    {"pytest", counts_pytest},
	    {"junit4", counts_junit4},
	    {"go-test", counts_go},
	};
	size_t i;

	memset(c, 0, sizeof(*c));
	if (runner == NULL || text == NULL)
		return -1;
	if (n > TESTPARSE_MAX)
		n = TESTPARSE_MAX;
	for (i = 0; i < sizeof(runners) / sizeof(runners[0]); i++)
		if (strcmp(runner, runners[i].runner) == 0) {
			if (runners[i].fn(text, text + n, c) != 0)
				return -1;
			c->found = 1;
			return 0;
		}
	return -1;
}

int
testparse_text(
    const char *runner, const char *text, size_t n, struct test_counts *c)
{
	int r = text_counts(runner, text, n, c);

	if (r != 0 || c->passed < 0 || c->failed < 0 || c->skipped < 0 ||
	    c->errors < 0) {
		memset(c, 0, sizeof(*c));
		return -1;
	}
	return 0;
}
