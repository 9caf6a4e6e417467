/* test_testparse.c: counts of test runs (JUnit XML, runner summaries). */
#include <string.h>

#include "testparse.h"
#include "unit.h"

static int
counts(const struct test_counts *c, long p, long f, long s, long e)
{
	return c->found && c->passed == p && c->failed == f &&
	    c->skipped == s && c->errors == e;
}

static void
test_junit(void)
{
	struct test_counts c;
	const char *pytest =
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites><testsuite "
	    "name=\"pytest\" errors=\"0\" failures=\"1\" skipped=\"1\" "
	    "tests=\"3\" time=\"0.05\"><testcase name=\"a\"/></testsuite>"
	    "</testsuites>";
	const char *root = "<testsuites tests=\"5\" failures=\"2\" "
	                   "errors=\"1\"><testsuite tests=\"9\"/></testsuites>";
	const char *two = "<testsuite tests='2' failures='1'/>"
	                  "<testsuite tests=\"4\" skipped=\"1\"/>";

	CHECK(testparse_junit(pytest, strlen(pytest), &c) == 0);
	CHECK(counts(&c, 1, 1, 1, 0));
	CHECK(testparse_junit(root, strlen(root), &c) == 0);
	CHECK(counts(&c, 2, 2, 0, 1));
	CHECK(testparse_junit(two, strlen(two), &c) == 0);
	CHECK(counts(&c, 4, 1, 1, 0));
	/* nothing countable, or counts that do not add up */
	CHECK(testparse_junit("<html/>", 7, &c) == -1 && !c.found);
	CHECK(testparse_junit(
	          "<testsuite tests=\"1\" failures=\"3\"/>", 35, &c) == -1);
	CHECK(testparse_junit("<testsuite tests=\"99999999999\"/>", 31, &c) ==
	    -1);
	CHECK(testparse_junit("<testsuite tests=\"1\"", 20, &c) == -1);
}

static void
test_text(void)
{
	struct test_counts c;
	const char *ut = "test_a ... ok\ntest_b ... FAIL\n\n---\nRan 4 tests "
	                 "in 0.001s\n\nFAILED (failures=1, errors=1, "
	                 "skipped=1)\n";
	const char *ok = "\nRan 2 tests in 0.000s\n\nOK\n";
	const char *tap = "TAP version 13\n# tests 3\n# suites 0\n# pass 1\n"
	                  "# fail 1\n# cancelled 0\n# skipped 1\n# todo 0\n";
	const char *py = "F.s\n1 failed, 1 passed, 1 skipped in 0.05s\n";
	const char *go =
	    "{\"Action\":\"run\",\"Test\":\"TestA\"}\n"
	    "{\"Action\":\"pass\",\"Package\":\"x\",\"Test\":\"TestA\"}\n"
	    "{\"Action\":\"fail\",\"Package\":\"x\",\"Test\":\"TestB\"}\n"
	    "{\"Action\":\"skip\",\"Package\":\"x\",\"Test\":\"TestC\"}\n"
	    "{\"Action\":\"fail\",\"Package\":\"x\"}\n";
	const char *j4ok =
	    "JUnit version 4.13.2\n..\nTime: 0.01\n\nOK (2 tests)\n";
	const char *j4fail = "\nFAILURES!!!\nTests run: 3,  Failures: 1\n";
	const char *j4bad = "Tests run: 1,  Failures: 2\n";

	CHECK(testparse_text("unittest", ut, strlen(ut), &c) == 0);
	CHECK(counts(&c, 1, 1, 1, 1));
	CHECK(testparse_text("unittest", ok, strlen(ok), &c) == 0);
	CHECK(counts(&c, 2, 0, 0, 0));
	CHECK(testparse_text("node-test", tap, strlen(tap), &c) == 0);
	CHECK(counts(&c, 1, 1, 1, 0));
	CHECK(testparse_text("pytest", py, strlen(py), &c) == 0);
	CHECK(counts(&c, 1, 1, 1, 0));
	CHECK(testparse_text("go-test", go, strlen(go), &c) == 0);
	CHECK(counts(&c, 1, 1, 1, 0));
	CHECK(testparse_text("junit4", j4ok, strlen(j4ok), &c) == 0);
	CHECK(counts(&c, 2, 0, 0, 0));
	CHECK(testparse_text("junit4", j4fail, strlen(j4fail), &c) == 0);
	CHECK(counts(&c, 2, 1, 0, 0));
	CHECK(testparse_text("junit4", j4bad, strlen(j4bad), &c) == -1);
	CHECK(testparse_text("unittest", "no summary", 10, &c) == -1);
	CHECK(testparse_text("mocha", tap, strlen(tap), &c) == -1);
	CHECK(testparse_text("unittest", "\nRan 1 test\nFAILED (failures=5)",
	          33, &c) == -1);
}

int
main(void)
{
	UNIT_RUN(test_junit);
	UNIT_RUN(test_text);
	return UNIT_DONE();
}
