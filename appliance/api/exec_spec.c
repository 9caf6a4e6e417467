/*
 * exec_spec.c: an execution request validated into a spec (exec_spec.h).
 * Pure: it reads the request and writes the spec and the message, nothing
 * else.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "exec_spec.h"
#include "petri_err.h"

static const char *const exec_keys[] = {"command", "argv", "filename", "code",
    "cwd", "env", "stdin", "timeout_ms", "fresh", "install", "test", "prompt",
    "model", "labels", "background", NULL};

int
exec_spec_rel_path(const char *in, char *out, size_t outlen)
{
	const char *p = in;
	size_t n;

	if (strncmp(p, "/sandbox/", 9) == 0)
		p += 9;
	else if (strcmp(p, "/sandbox") == 0)
		p += 8;
	else if (*p == '/')
		return PETRI_ERR_PATH;
	n = strlen(p);
	if (n >= outlen || n > WS_MAX_PATH)
		return PETRI_ERR_PATH;
	/* no "..", no control characters, no empty leading component */
	{
		const char *c = p;

		while (*c != '\0') {
			size_t m = strcspn(c, "/");

			if ((m == 2 && c[0] == '.' && c[1] == '.'))
				return PETRI_ERR_PATH;
			c += m;
			if (*c == '/')
				c++;
		}
		for (c = p; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f ||
			    *c == '\\')
				return PETRI_ERR_PATH;
	}
	memcpy(out, p, n + 1);
	return 0;
}

/* A boolean field: 0 absent or false, 1 true, -1 not a boolean. */
static int
spec_bool(json_t *req, const char *key, int *out)
{
	json_t *x = json_object_get(req, key);

	*out = 0;
	if (x == NULL)
		return 0;
	if (!json_is_boolean(x))
		return -1;
	*out = json_is_true(x);
	return 0;
}

/* A string without NUL of 1 to max bytes. */
static int
spec_str_ok(json_t *x, size_t max)
{
	return json_is_string(x) && json_string_length(x) > 0 &&
	    json_string_length(x) <= max &&
	    strlen(json_string_value(x)) == json_string_length(x);
}

/* Which program field is there: exactly one, or for a test a command. */
static int
spec_kind(json_t *req, struct exec_spec *s, char *msg, size_t msglen)
{
	static const char *const kinds[] = {
	    "command", "argv", "filename", "code"};
	int i, n = 0;

	for (i = 0; i < 4; i++)
		if (json_object_get(req, kinds[i]) != NULL) {
			s->kind = (enum exec_kind)i;
			s->kind_name = kinds[i];
			n++;
		}
	if (s->test) {
		if (n > 1 || (n == 1 && s->kind != EXEC_KIND_COMMAND)) {
			snprintf(msg, msglen,
			    "test: the app to start is given as \"command\" "
			    "(or nothing: the tests alone)");
			return PETRI_ERR_INVAL;
		}
		s->program = json_object_get(req, "command");
		s->kind = EXEC_KIND_TEST;
		s->kind_name = "test";
		return 0;
	}
	if (n != 1) {
		snprintf(msg, msglen,
		    "exactly one of command, argv, "
		    "filename or code is required");
		return PETRI_ERR_INVAL;
	}
	s->program = json_object_get(req, s->kind_name);
	return 0;
}

/* test, install, background, fresh and how they go together. */
static int
spec_mode(json_t *req, struct exec_spec *s, char *msg, size_t msglen)
{
	static const char *const modes[] = {"auto", "skip", "only"};
	json_t *x;
	int i;

	if (spec_bool(req, "test", &s->test) != 0) {
		snprintf(msg, msglen, "test: must be true or false");
		return PETRI_ERR_INVAL;
	}
	s->install = EXEC_INSTALL_AUTO;
	s->install_name = modes[0];
	if ((x = json_object_get(req, "install")) != NULL) {
		for (i = 0; i < 3; i++)
			if (json_is_string(x) &&
			    strcmp(json_string_value(x), modes[i]) == 0)
				break;
		if (i == 3) {
			snprintf(msg, msglen,
			    "install: must be \"auto\", \"skip\" or \"only\"");
			return PETRI_ERR_INVAL;
		}
		s->install = (enum exec_install)i;
		s->install_name = modes[i];
	}
	if (spec_bool(req, "background", &s->background) != 0) {
		snprintf(msg, msglen, "background: must be true or false");
		return PETRI_ERR_INVAL;
	}
	if (spec_bool(req, "fresh", &s->fresh) != 0) {
		snprintf(msg, msglen, "fresh: must be true or false");
		return PETRI_ERR_INVAL;
	}
	if (s->test && (s->background || s->fresh)) {
		snprintf(msg, msglen, "test: not with background or fresh");
		return PETRI_ERR_INVAL;
	}
	if (s->fresh && s->background) {
		snprintf(msg, msglen,
		    "fresh: a background process needs "
		    "the sandbox's long-lived container");
		return PETRI_ERR_INVAL;
	}
	return 0;
}

/* prompt, model, labels, stdin: what is recorded or fed, bounded. */
static int
spec_extras(json_t *req, struct exec_spec *s, char *msg, size_t msglen)
{
	json_t *x;

	x = s->prompt = json_object_get(req, "prompt");
	if (x != NULL &&
	    (!json_is_string(x) || json_string_length(x) > API_MAX_PROMPT)) {
		snprintf(msg, msglen,
		    "prompt: must be a string of at most %d bytes",
		    API_MAX_PROMPT);
		return PETRI_ERR_INVAL;
	}
	x = s->model = json_object_get(req, "model");
	if (x != NULL && (!json_is_string(x) || json_string_length(x) > 256)) {
		snprintf(msg, msglen, "model: must be a short string");
		return PETRI_ERR_INVAL;
	}
	if ((s->labels = json_object_get(req, "labels")) != NULL &&
	    api_valid_strmap(
	        s->labels, API_MAX_LABELS, 256, 0, "labels", msg, msglen) != 0)
		return PETRI_ERR_INVAL;
	x = s->stdin_text = json_object_get(req, "stdin");
	if (x != NULL &&
	    (!json_is_string(x) || json_string_length(x) > API_MAX_STDIN)) {
		snprintf(msg, msglen,
		    "stdin: must be a string of at most %lu bytes",
		    API_MAX_STDIN);
		return PETRI_ERR_INVAL;
	}
	return 0;
}

/* timeout_ms, cwd, env: where and how long it runs. */
static int
spec_place(json_t *req, struct exec_spec *s, char *msg, size_t msglen)
{
	char rel[WS_MAX_PATH + 1];
	json_t *x;

	s->timeout_ms = 0;
	if ((x = json_object_get(req, "timeout_ms")) != NULL) {
		if (!json_is_integer(x) || json_integer_value(x) < 1 ||
		    json_integer_value(x) > EXEC_MAX_TIMEOUT_MS) {
			snprintf(msg, msglen,
			    "timeout_ms: must be an integer in [1, %d]",
			    EXEC_MAX_TIMEOUT_MS);
			return PETRI_ERR_INVAL;
		}
		s->timeout_ms = json_integer_value(x);
	}
	snprintf(s->cwd, sizeof(s->cwd), "/sandbox");
	if ((x = json_object_get(req, "cwd")) != NULL) {
		if (!json_is_string(x) ||
		    strlen(json_string_value(x)) != json_string_length(x) ||
		    exec_spec_rel_path(
		        json_string_value(x), rel, sizeof(rel)) != 0) {
			snprintf(msg, msglen,
			    "cwd: must be a directory inside /sandbox");
			return PETRI_ERR_INVAL;
		}
		if (rel[0] != '\0')
			snprintf(s->cwd, sizeof(s->cwd), "/sandbox/%s", rel);
	}
	if ((s->env = json_object_get(req, "env")) != NULL &&
	    api_valid_strmap(
	        s->env, API_MAX_ENV, 32768, 1, "env", msg, msglen) != 0)
		return PETRI_ERR_INVAL;
	return 0;
}

/* The program field of the kind. */
static int
spec_program(struct exec_spec *s, char *msg, size_t msglen)
{
	json_t *x = s->program, *v;
	size_t i;

	switch (s->kind) {
	case EXEC_KIND_TEST:
		if (x != NULL && !spec_str_ok(x, API_MAX_STR))
			goto command;
		return 0;
	case EXEC_KIND_COMMAND:
		if (!spec_str_ok(x, API_MAX_STR))
			goto command;
		return 0;
	case EXEC_KIND_ARGV:
		if (!json_is_array(x) || json_array_size(x) == 0 ||
		    json_array_size(x) > API_MAX_ARGV) {
			snprintf(msg, msglen,
			    "argv: must be a non-empty array of at most %d "
			    "strings",
			    API_MAX_ARGV);
			return PETRI_ERR_INVAL;
		}
		json_array_foreach (x, i, v)
			if (!json_is_string(v) ||
			    json_string_length(v) > 4096 ||
			    strlen(json_string_value(v)) !=
			        json_string_length(v) ||
			    (i == 0 && json_string_length(v) == 0)) {
				snprintf(msg, msglen,
				    "argv[%zu]: must be a string without NUL "
				    "of at most 4096 bytes",
				    i);
				return PETRI_ERR_INVAL;
			}
		return 0;
	case EXEC_KIND_FILENAME:
		if (!json_is_string(x) ||
		    strlen(json_string_value(x)) != json_string_length(x) ||
		    exec_spec_rel_path(
		        json_string_value(x), s->file, sizeof(s->file)) != 0 ||
		    s->file[0] == '\0') {
			snprintf(msg, msglen,
			    "filename: must be a file path inside /sandbox");
			return PETRI_ERR_INVAL;
		}
		return 0;
	case EXEC_KIND_CODE:
		if (!json_is_string(x) ||
		    json_string_length(x) > API_MAX_CODE) {
			snprintf(msg, msglen,
			    "code: must be a string of at most %lu bytes",
			    API_MAX_CODE);
			return PETRI_ERR_INVAL;
		}
		return 0;
	}
	return PETRI_ERR_INVAL;
command:
	snprintf(msg, msglen,
	    "command: must be a non-empty string without NUL, at most %d "
	    "bytes",
	    API_MAX_STR);
	return PETRI_ERR_INVAL;
}

int
exec_spec_parse(json_t *req, struct exec_spec *spec, char *msg, size_t msglen)
{
	int e;

	memset(spec, 0, sizeof(*spec));
	if (msglen > 0)
		msg[0] = '\0';
	if (!json_is_object(req)) {
		snprintf(msg, msglen, "the request must be a JSON object");
		return PETRI_ERR_INVAL;
	}
	if (api_valid_keys(req, exec_keys, msg, msglen) != 0)
		return PETRI_ERR_INVAL;
	if ((e = spec_mode(req, spec, msg, msglen)) != 0 ||
	    (e = spec_kind(req, spec, msg, msglen)) != 0 ||
	    (e = spec_extras(req, spec, msg, msglen)) != 0 ||
	    (e = spec_place(req, spec, msg, msglen)) != 0 ||
	    (e = spec_program(spec, msg, msglen)) != 0)
		return e;
	return 0;
}
