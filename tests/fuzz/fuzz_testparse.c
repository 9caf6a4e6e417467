/*
 * fuzz_testparse.c: libFuzzer target for test-run counts (JUnit XML and
 * runner summaries come from the sandbox).  Aborts when an invariant
 * breaks: counts are never negative, "found" agrees with the result, and
 * nothing is read past the input (the sanitizers see to that).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
sane(int r, const struct test_counts *c)
{
	if (c->passed < 0 || c->failed < 0 || c->skipped < 0 || c->errors < 0)
		abort();
	if ((r == 0) != (c->found == 1))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const runners[] = {
	    "unittest", "node-test", "pytest", "go-test", "junit4"};
	struct test_counts c;
	char *copy;
	size_t i;

	/* no NUL terminator: the parsers must stay inside size */
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	sane(testparse_junit(copy, size, &c), &c);
	for (i = 0; i < sizeof(runners) / sizeof(runners[0]); i++)
		sane(testparse_text(runners[i], copy, size, &c), &c);
	free(copy);
	return 0;
}
