/*
 * exec_spec.h: one execution request (POST /v1/sandboxes/{id}/exec) as a
 * validated spec.  exec_spec_parse() is pure: request JSON in, spec or a
 * message naming the field out; no I/O, no global state.  What depends on
 * the sandbox (its language, limits, env) is applied afterwards.
 */
#ifndef PETRI_EXEC_SPEC_H
#define PETRI_EXEC_SPEC_H

#include <stddef.h>

#include <jansson.h>

#include "bounds.h"
#include "petri_err.h"

/* What runs: exactly one of the four, or the test runner. */
enum exec_kind {
	EXEC_KIND_COMMAND, /* "command": a shell command line */
	EXEC_KIND_ARGV, /* "argv": an argument vector */
	EXEC_KIND_FILENAME, /* "filename": a workspace file of the language */
	EXEC_KIND_CODE, /* "code": a program text, written to the workspace */
	EXEC_KIND_TEST, /* "test": test.sh, with the app as "command" */
};

/* The install step: "auto" (when the key changed), "skip", "only". */
enum exec_install {
	EXEC_INSTALL_AUTO,
	EXEC_INSTALL_SKIP,
	EXEC_INSTALL_ONLY,
};

/*
 * Borrowed json_t pointers point into the request: the spec is valid
 * while the request document lives.
 */
struct exec_spec {
	enum exec_kind kind;
	const char *kind_name; /* "command", "argv", ..., "test" */
	json_t *program; /* the kind's field: string or array; NULL for a
	                    test without an app */
	char file[WS_MAX_PATH + 1]; /* filename: workspace-relative */
	char cwd[WS_MAX_PATH + 16]; /* "/sandbox" or "/sandbox/<rel>" */
	json_t *env; /* string map, or NULL */
	json_t *labels; /* string map, or NULL */
	json_t *prompt; /* string, or NULL */
	json_t *model; /* string, or NULL */
	json_t *stdin_text; /* string, or NULL */
	long long timeout_ms; /* 0: not given */
	enum exec_install install;
	const char *install_name; /* "auto", "skip", "only" */
	int test;
	int fresh;
	int background;
};

/*
 * Validates req (a JSON object) and fills spec.  Unknown fields, wrong
 * types, values out of bounds and contradicting fields are refused.
 * Returns 0, or PETRI_ERR_INVAL with msg saying which field and why.
 */
int exec_spec_parse(
    json_t *req, struct exec_spec *spec, char *msg, size_t msglen) PETRI_WUR;

/*
 * A workspace-relative path from in (relative, "/sandbox" or under
 * "/sandbox/"): no "..", no control characters or backslash, at most
 * WS_MAX_PATH bytes.  "" is the workspace root.  Returns 0 or
 * PETRI_ERR_PATH.
 */
int exec_spec_rel_path(const char *in, char *out, size_t outlen) PETRI_WUR;

#endif /* PETRI_EXEC_SPEC_H */
