/*
 * fuzz_path.c: libFuzzer target for request path normalisation.  Aborts
 * when an invariant breaks: a normalised path starts with '/', is no longer
 * than its input, holds no empty, "." or ".." segment, normalises to itself
 * and lies under itself as a prefix.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 when p has an empty, "." or ".." segment (a trailing '/' is fine). */
static int
fuzz_bad_segment(const char *p, size_t len)
{
	size_t i = 1, start;

	while (i < len) {
		start = i;
		while (i < len && p[i] != '/')
			i++;
		if (i == start && i < len)
			return 1;
		if ((i - start == 1 && p[start] == '.') ||
		    (i - start == 2 && p[start] == '.' && p[start + 1] == '.'))
			return 1;
		i++;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = NULL, *again = NULL;
	size_t len;

	if (size > POLICY_REQ_PATH_MAX + 1)
		return 0;
	if ((out = malloc(size + 2)) == NULL ||
	    (again = malloc(size + 2)) == NULL)
		goto out;
	if (path_normalize((const char *)data, size, out, size + 2, NULL) !=
	    0) {
		if (out[0] != '\0')
			abort();
		goto out;
	}
	len = strlen(out);
	if (len == 0 || out[0] != '/' || len > (size > 0 ? size : 1))
		abort();
	if (fuzz_bad_segment(out, len) || strchr(out, ';') != NULL ||
	    strchr(out, '?') != NULL)
		abort();
	if (path_normalize(out, len, again, size + 2, NULL) != 0 ||
	    strcmp(out, again) != 0)
		abort();
	if (len <= POLICY_PATH_MAX && !path_prefix_match(out, out))
		abort();
out:
	free(out);
	free(again);
	return 0;
}
