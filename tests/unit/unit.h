/*
 * unit.h: the unit-test harness.  A test file defines test functions,
 * calls them from main() through UNIT_RUN and ends with UNIT_DONE(), which
 * prints "<file>: N passed, N failed" and returns non-zero on any failure.
 * A test passes when none of its CHECKs failed.
 */
#ifndef PETRI_UNIT_H
#define PETRI_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed, unit_cur_failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
			    __LINE__, #cond);                                  \
			unit_cur_failed++;                                     \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b) CHECK((a) == (b))
#define CHECK_STR(a, b) CHECK(strcmp((a), (b)) == 0)

#define UNIT_RUN(fn)                                                           \
	do {                                                                   \
		unit_cur_failed = 0;                                           \
		fn();                                                          \
		if (unit_cur_failed) {                                         \
			fprintf(stderr, "FAIL %s\n", #fn);                     \
			unit_failed++;                                         \
		} else                                                         \
			unit_passed++;                                         \
	} while (0)

#define UNIT_DONE()                                                            \
	(printf("%s: %d passed, %d failed\n", __FILE__, unit_passed,           \
	     unit_failed),                                                     \
	    unit_failed ? 1 : 0)

#endif /* PETRI_UNIT_H */
