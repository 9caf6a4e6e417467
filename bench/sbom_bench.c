/*
 * sbom_bench.c: sbom_build() over a scan report of N components (default
 * 200), each with a licence and one dependency; prints JSON: the median
 * time of one build and of its serialisation, over 200 rounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sbom.h"

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	static const char *const lic[] = {
	    "MIT", "Apache Software License", "BSD-3-Clause", "Some Licence"};
	enum { ROUNDS = 200 };
	double build[ROUNDS], dump[ROUNDS];
	json_t *report = json_array(), *doc;
	struct sbom_stats st;
	char name[64], ver[32], dep[64];
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200;
	int i, k;

	if (n < 1 || n > SBOM_MAX_COMPONENTS)
		return 2;
	for (k = 0; k < n; k++) {
		snprintf(name, sizeof(name), "petri-pkg-%03d", k);
		snprintf(ver, sizeof(ver), "1.0.%d", k);
		snprintf(dep, sizeof(dep), "petri-pkg-%03d", (k + 1) % (int)n);
		json_array_append_new(report,
		    json_pack("{s:s, s:s, s:s, s:s, s:[s]}", "eco", "pypi",
		        "name", name, "version", ver, "license", lic[k % 4],
		        "deps", dep));
	}
	for (i = 0; i < ROUNDS; i++) {
		double t0 = now_us(), t1, t2;
		char *text;

		if (sbom_build(report, "sandbox sb_bench",
		        "12345678-1234-4123-8123-123456789012",
		        "2026-11-22T00:00:00Z", &doc, &st) != 0)
			return 1;
		t1 = now_us();
		text = json_dumps(doc, JSON_COMPACT);
		t2 = now_us();
		free(text);
		json_decref(doc);
		build[i] = t1 - t0;
		dump[i] = t2 - t1;
	}
	qsort(build, ROUNDS, sizeof(double), cmp);
	qsort(dump, ROUNDS, sizeof(double), cmp);
	printf("{\"bench\": \"sbom\", \"components\": %zu, \"build_us_p50\": "
	       "%.0f, \"serialise_us_p50\": %.0f}\n",
	    st.components, build[ROUNDS / 2], dump[ROUNDS / 2]);
	json_decref(report);
	return 0;
}
