/*
 * testparse.h: what a test run says of itself (test mode, docs/deps.md):
 * counts from a JUnit XML report or from a runner's own summary (unittest,
 * node --test TAP, pytest -q, go test -json).  Both come from the sandbox:
 * hostile, bounded input.  Pure.
 */
#ifndef PETRI_TESTPARSE_H
#define PETRI_TESTPARSE_H

#include <stddef.h>

#define TESTPARSE_MAX (4UL << 20) /* bytes looked at */

struct test_counts {
	long passed, failed, skipped, errors;
	int found; /* 1 when the input said anything countable */
};

/*
 * Counts of a JUnit XML document: the attributes tests, failures, errors
 * and skipped of its root <testsuites> (or, when it has none, the sum over
 * its <testsuite> elements).  Returns 0, or -1 when none was found.
 */
int testparse_junit(const char *xml, size_t n, struct test_counts *c);

/*
 * Counts from a runner's output ("unittest", "node-test", "pytest",
 * "go-test", "junit4").  Returns 0, or -1 when the output has no summary.
 */
int testparse_text(
    const char *runner, const char *text, size_t n, struct test_counts *c);

#endif /* PETRI_TESTPARSE_H */
