/*
 * fuzz_exec_spec.c: libFuzzer target for execution requests (the JSON body
 * of POST /v1/sandboxes/{id}/exec comes from any API key holder).  Aborts
 * when an accepted spec breaks an invariant: one known kind with its field
 * of the right type, a cwd and a file inside the workspace, bounds kept.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec_spec.h"
#include "petri_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
sane_path(const char *p)
{
	if (strstr(p, "..") != NULL &&
	    (strcmp(p, "..") == 0 || strncmp(p, "../", 3) == 0 ||
	        strstr(p, "/../") != NULL ||
	        (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0)))
		abort();
	if (strchr(p, '\\') != NULL || strlen(p) > WS_MAX_PATH + 9)
		abort();
}

static void
sane(const struct exec_spec *s)
{
	switch (s->kind) {
	case EXEC_KIND_COMMAND:
	case EXEC_KIND_CODE:
		if (!json_is_string(s->program))
			abort();
		break;
	case EXEC_KIND_ARGV:
		if (!json_is_array(s->program) ||
		    json_array_size(s->program) == 0 ||
		    json_array_size(s->program) > API_MAX_ARGV)
			abort();
		break;
	case EXEC_KIND_FILENAME:
		if (s->file[0] == '\0' || s->file[0] == '/')
			abort();
		sane_path(s->file);
		break;
	case EXEC_KIND_TEST:
		if (!s->test || s->fresh || s->background)
			abort();
		break;
	default:
		abort();
	}
	if (strncmp(s->cwd, "/sandbox", 8) != 0 ||
	    (s->cwd[8] != '\0' && s->cwd[8] != '/'))
		abort();
	sane_path(s->cwd + 8);
	if (s->fresh && s->background)
		abort();
	if (s->timeout_ms < 0 || s->timeout_ms > EXEC_MAX_TIMEOUT_MS)
		abort();
	if (s->install_name == NULL || s->kind_name == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct exec_spec s;
	json_error_t jerr;
	char msg[256];
	json_t *j;

	j = json_loadb((const char *)data, size,
	    JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (j == NULL)
		return 0;
	if (exec_spec_parse(j, &s, msg, sizeof(msg)) == 0)
		sane(&s);
	else if (msg[0] == '\0')
		abort(); /* a refusal always says why */
	json_decref(j);
	return 0;
}
