/* test_exec_spec.c: an execution request validated into a spec. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_spec.h"
#include "petri_err.h"
#include "unit.h"

/* The last document parse() read: the spec borrows from it. */
static json_t *last;

/*
 * Parses text; returns exec_spec_parse()'s result (msg gets its text).
 * The document lives until the next call.
 */
static int
parse(const char *text, struct exec_spec *s, char *msg, size_t msglen)
{
	json_error_t jerr;
	json_t *j;

	json_decref(last);
	last = j =
	    json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	int e;

	if (j == NULL) {
		snprintf(msg, msglen, "bad test JSON: %s", jerr.text);
		return 1;
	}
	e = exec_spec_parse(j, s, msg, msglen);
	return e;
}

/* Whether text is refused, with a message naming field. */
static int
refused(const char *text, const char *field)
{
	struct exec_spec s;
	char msg[256];

	return parse(text, &s, msg, sizeof(msg)) == PETRI_ERR_INVAL &&
	    strstr(msg, field) != NULL;
}

static void
test_kinds(void)
{
	struct exec_spec s;
	char msg[256];
	json_t *j;

	j = json_pack("{s:s}", "command", "echo hi");
	CHECK(exec_spec_parse(j, &s, msg, sizeof(msg)) == 0);
	CHECK(s.kind == EXEC_KIND_COMMAND);
	CHECK_STR(s.kind_name, "command");
	CHECK_STR(json_string_value(s.program), "echo hi");
	CHECK_STR(s.cwd, "/sandbox");
	CHECK(s.install == EXEC_INSTALL_AUTO);
	CHECK_STR(s.install_name, "auto");
	CHECK(s.timeout_ms == 0 && !s.fresh && !s.background && !s.test);
	json_decref(j);

	j = json_pack("{s:[s, s]}", "argv", "python3", "-V");
	CHECK(exec_spec_parse(j, &s, msg, sizeof(msg)) == 0);
	CHECK(s.kind == EXEC_KIND_ARGV && json_array_size(s.program) == 2);
	json_decref(j);

	j = json_pack("{s:s}", "filename", "/sandbox/src/main.py");
	CHECK(exec_spec_parse(j, &s, msg, sizeof(msg)) == 0);
	CHECK(s.kind == EXEC_KIND_FILENAME);
	CHECK_STR(s.file, "src/main.py");
	json_decref(j);

	j = json_pack("{s:s}", "code", "print(1)");
	CHECK(exec_spec_parse(j, &s, msg, sizeof(msg)) == 0);
	CHECK(s.kind == EXEC_KIND_CODE);
	json_decref(j);

	CHECK(refused("{}", "exactly one"));
	CHECK(refused("{\"command\": \"a\", \"code\": \"b\"}", "exactly one"));
	CHECK(refused("{\"command\": \"\"}", "command"));
	CHECK(refused("{\"command\": 3}", "command"));
	CHECK(refused("{\"command\": \"a\\u0000b\"}", "command"));
	CHECK(refused("{\"argv\": []}", "argv"));
	CHECK(refused("{\"argv\": [\"\"]}", "argv[0]"));
	CHECK(refused("{\"argv\": [\"ls\", 1]}", "argv[1]"));
	CHECK(refused("{\"filename\": \"../etc/passwd\"}", "filename"));
	CHECK(refused("{\"filename\": \"/etc/passwd\"}", "filename"));
	CHECK(refused("{\"filename\": \"/sandbox\"}", "filename"));
	CHECK(refused("{\"code\": 1}", "code"));
}

static void
test_test_mode(void)
{
	struct exec_spec s;
	char msg[256];

	CHECK(parse("{\"test\": true}", &s, msg, sizeof(msg)) == 0);
	CHECK(s.kind == EXEC_KIND_TEST && s.test && s.program == NULL);
	CHECK(parse("{\"test\": true, \"command\": \"node app.js\"}", &s, msg,
	          sizeof(msg)) == 0);
	CHECK(s.kind == EXEC_KIND_TEST);
	CHECK_STR(json_string_value(s.program), "node app.js");
	CHECK(refused("{\"test\": true, \"code\": \"x\"}", "test"));
	CHECK(refused("{\"test\": true, \"background\": true}", "test"));
	CHECK(refused("{\"test\": true, \"fresh\": true}", "test"));
	CHECK(refused("{\"test\": 1, \"command\": \"x\"}", "test"));
	CHECK(refused("{\"test\": true, \"command\": \"\"}", "command"));
}

static void
test_fields(void)
{
	struct exec_spec s;
	char msg[256];

	CHECK(parse("{\"command\": \"x\", \"cwd\": \"/sandbox/app\", "
	            "\"timeout_ms\": 5000, \"install\": \"skip\", "
	            "\"env\": {\"A\": \"1\"}, \"labels\": {\"team\": \"b\"}, "
	            "\"stdin\": \"in\", \"prompt\": \"p\", \"model\": \"m\", "
	            "\"background\": true}",
	          &s, msg, sizeof(msg)) == 0);
	CHECK_STR(s.cwd, "/sandbox/app");
	CHECK(s.timeout_ms == 5000);
	CHECK(s.install == EXEC_INSTALL_SKIP);
	CHECK_STR(s.install_name, "skip");
	CHECK(s.env != NULL && s.labels != NULL && s.stdin_text != NULL);
	CHECK(s.prompt != NULL && s.model != NULL && s.background);
	CHECK(parse("{\"command\": \"x\", \"cwd\": \"sub/dir\"}", &s, msg,
	          sizeof(msg)) == 0);
	CHECK_STR(s.cwd, "/sandbox/sub/dir");

	CHECK(refused("{\"command\": \"x\", \"evil\": 1}", "evil"));
	CHECK(refused("{\"command\": \"x\", \"cwd\": \"/tmp\"}", "cwd"));
	CHECK(refused("{\"command\": \"x\", \"cwd\": \"a/../..\"}", "cwd"));
	CHECK(refused("{\"command\": \"x\", \"timeout_ms\": 0}", "timeout_ms"));
	CHECK(refused(
	    "{\"command\": \"x\", \"timeout_ms\": 3600001}", "timeout_ms"));
	CHECK(
	    refused("{\"command\": \"x\", \"timeout_ms\": 1.5}", "timeout_ms"));
	CHECK(refused("{\"command\": \"x\", \"install\": \"yes\"}", "install"));
	CHECK(refused("{\"command\": \"x\", \"fresh\": \"no\"}", "fresh"));
	CHECK(refused(
	    "{\"command\": \"x\", \"background\": true, \"fresh\": true}",
	    "fresh"));
	CHECK(
	    refused("{\"command\": \"x\", \"env\": {\"A-B\": \"1\"}}", "env"));
	CHECK(refused("{\"command\": \"x\", \"env\": {\"A\": 1}}", "env"));
	CHECK(refused("{\"command\": \"x\", \"labels\": []}", "labels"));
	CHECK(refused("{\"command\": \"x\", \"stdin\": 1}", "stdin"));
	CHECK(refused("{\"command\": \"x\", \"prompt\": {}}", "prompt"));
	CHECK(refused("{\"command\": \"x\", \"model\": 1}", "model"));
}

static void
test_bounds(void)
{
	struct exec_spec s;
	char msg[256];
	json_t *j, *argv;
	char *big;
	int i;

	/* a command of API_MAX_STR bytes is taken, one more is not */
	big = malloc(API_MAX_STR + 2);
	CHECK(big != NULL);
	if (big == NULL)
		return;
	memset(big, 'a', API_MAX_STR + 1);
	big[API_MAX_STR] = '\0';
	j = json_pack("{s:s}", "command", big);
	CHECK(exec_spec_parse(j, &s, msg, sizeof(msg)) == 0);
	json_decref(j);
	big[API_MAX_STR] = 'a';
	big[API_MAX_STR + 1] = '\0';
	j = json_pack("{s:s}", "command", big);
	CHECK(exec_spec_parse(j, &s, msg, sizeof(msg)) == PETRI_ERR_INVAL);
	json_decref(j);
	free(big);
	argv = json_array();
	for (i = 0; i <= API_MAX_ARGV; i++)
		json_array_append_new(argv, json_string("x"));
	j = json_pack("{s:o}", "argv", argv);
	CHECK(exec_spec_parse(j, &s, msg, sizeof(msg)) == PETRI_ERR_INVAL);
	json_decref(j);
	/* not an object at all */
	j = json_array();
	CHECK(exec_spec_parse(j, &s, msg, sizeof(msg)) == PETRI_ERR_INVAL);
	json_decref(j);
}

static void
test_rel_path(void)
{
	char out[WS_MAX_PATH + 1];

	CHECK(exec_spec_rel_path("a/b", out, sizeof(out)) == 0);
	CHECK_STR(out, "a/b");
	CHECK(exec_spec_rel_path("/sandbox/a", out, sizeof(out)) == 0);
	CHECK_STR(out, "a");
	CHECK(exec_spec_rel_path("/sandbox", out, sizeof(out)) == 0);
	CHECK_STR(out, "");
	CHECK(exec_spec_rel_path("/sandboxx", out, sizeof(out)) ==
	    PETRI_ERR_PATH);
	CHECK(exec_spec_rel_path("a/../b", out, sizeof(out)) == PETRI_ERR_PATH);
	CHECK(exec_spec_rel_path("a\\b", out, sizeof(out)) == PETRI_ERR_PATH);
	CHECK(exec_spec_rel_path("a\nb", out, sizeof(out)) == PETRI_ERR_PATH);
	CHECK(exec_spec_rel_path("abc", out, 3) == PETRI_ERR_PATH);
}

int
main(void)
{
	UNIT_RUN(test_kinds);
	UNIT_RUN(test_test_mode);
	UNIT_RUN(test_fields);
	UNIT_RUN(test_bounds);
	UNIT_RUN(test_rel_path);
	json_decref(last);
	return UNIT_DONE();
}
