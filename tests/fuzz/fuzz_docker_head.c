/*
 * fuzz_docker_head.c: the HTTP reply head parser used after a Docker
 * hijack.  Checks that results are within the input and consistent when the
 * input grows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "docker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct docker_http_head h, h2;
	char *p;
	int r, r2;

	/* a private copy so reads past the end are caught by ASan */
	if ((p = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(p, data, size);
	r = docker_http_head_parse(p, size, &h);
	if (r == 0) {
		if (h.headlen < 16 || h.headlen > size ||
		    h.headlen > DOCKER_HIJACK_MAX_HEAD || h.status < 100 ||
		    h.status > 999 || h.content_length < -1 ||
		    memcmp(p + h.headlen - 4, "\r\n\r\n", 4) != 0)
			abort();
		/* the head alone parses the same */
		r2 = docker_http_head_parse(p, h.headlen, &h2);
		if (r2 != 0 || h2.headlen != h.headlen ||
		    h2.status != h.status ||
		    h2.content_length != h.content_length ||
		    h2.chunked != h.chunked)
			abort();
	} else if (r != PETRI_ERR_TRUNCATED && r != PETRI_ERR_TOOBIG &&
	    r != PETRI_ERR_PROTO)
		abort();
	free(p);
	return 0;
}
