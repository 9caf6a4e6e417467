/*
 * exec_code.c: an execution's program and code, below the exec handlers:
 * the argv that runs a file of the sandbox's language, a "code" program
 * written into the workspace (ws), and the manifest of the workspace's
 * code the record refers to, with the contents the audit store lacks
 * copied into blobs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bounds.h"
#include "exec.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define MANIFEST_BLOB_MAX (4UL << 20) /* larger files: hash only */
#define MANIFEST_COPY_MAX (32UL << 20) /* bytes copied to blobs per exec */

/* The shell program that builds and runs a Java source file ($1). */
static const char java_runner[] =
    "set -e\n"
    "f=$1\n"
    "d=$(mktemp -d /tmp/petri-java.XXXXXX)\n"
    "find . -maxdepth 16 -name '*.java' -not -path './.petri/*' "
    "-not -path './deps/*' -not -path './.m2/*' > \"$d/sources\"\n"
    "grep -qxF \"./${f#./}\" \"$d/sources\" || echo \"$f\" >> \"$d/sources\"\n"
    "javac -nowarn -d \"$d\" @\"$d/sources\"\n"
    "pkg=$(sed -n 's/^[[:space:]]*package[[:space:]][[:space:]]*"
    "\\([A-Za-z0-9_.]*\\)[[:space:]]*;.*/\\1/p' \"$f\" | head -n 1)\n"
    "c=$(basename \"$f\" .java)\n"
    "exec java -cp \"$d${CLASSPATH:+:$CLASSPATH}\" \"${pkg:+$pkg.}$c\"\n";

/* argv for running a file of the sandbox's language. */
static json_t *
exec_file_argv(const char *lang, const char *file)
{
	if (strcmp(lang, "python") == 0)
		return json_pack("[s, s]", "python3", file);
	if (strcmp(lang, "node") == 0)
		return json_pack("[s, s]", "node", file);
	if (strcmp(lang, "go") == 0)
		return json_pack("[s, s, s]", "go", "run", file);
	if (strcmp(lang, "java") == 0)
		return json_pack("[s, s, s, s, s]", "/bin/sh", "-c",
		    java_runner, "petri-java", file);
	return NULL;
}

/*
 * argv for a workspace file: relative when the command runs at the
 * workspace root (how the first releases ran "filename"), else absolute.
 */
json_t *
exec_run_file(const char *lang, const char *cwd, const char *rel)
{
	char abs[WS_MAX_PATH + 16];

	if (strcmp(cwd, "/sandbox") == 0)
		return exec_file_argv(lang, rel);
	if ((size_t)snprintf(abs, sizeof(abs), "/sandbox/%s", rel) >=
	    sizeof(abs))
		return NULL;
	return exec_file_argv(lang, abs);
}

/* The file name for a "code" program: Java wants its public class name. */
void
exec_code_name(const char *lang, const char *code, char *out, size_t outlen)
{
	const char *p;
	size_t n;

	if (strcmp(lang, "python") == 0)
		petri_strlcpy(out, "main.py", outlen);
	else if (strcmp(lang, "node") == 0)
		petri_strlcpy(out, "main.js", outlen);
	else if (strcmp(lang, "go") == 0)
		petri_strlcpy(out, "main.go", outlen);
	else {
		petri_strlcpy(out, "Main.java", outlen);
		if ((p = strstr(code, "public class ")) == NULL)
			return;
		p += 13;
		for (n = 0; (p[n] >= 'A' && p[n] <= 'Z') ||
		     (p[n] >= 'a' && p[n] <= 'z') ||
		     (p[n] >= '0' && p[n] <= '9') || p[n] == '_';
		     n++)
			;
		if (n > 0 && n < 128 && n + 6 <= outlen)
			snprintf(out, outlen, "%.*s.java", (int)n, p);
	}
}

/* Writes an internal file into the workspace (under .petri/). */
int
exec_write_code(struct api *a, const char *sandbox, const char *path,
    const char *code, size_t len)
{
	int e, stage;

	if ((e = wrap_ws_stage_open(a, sandbox, 1, &stage, NULL, 0)) != 0)
		return e;
	if ((e = wrap_ws_stage_file(
	         a, stage, path, 0644, 0, 0, NULL, code, len, NULL, 0)) != 0 ||
	    (e = wrap_ws_stage_commit(a, stage, 0, NULL, 0)) != 0)
		wrap_ws_stage_abort(a, stage);
	return e;
}

/* Copies one workspace file into a blob; 1 when stored with hash sha. */
static int
exec_copy_blob(struct api *a, const char *sandbox, const char *path,
    const char *sha, json_int_t size)
{
	struct ipc_msg m;
	uint64_t fsize;
	char got[65];
	int stored = 0;

	if (wrap_ws_read(a, sandbox, path, 0, 0,
	        (uint64_t)(size > 0 ? size : 1), &m, &fsize, NULL, 0) != 0)
		return 0;
	if (wrap_keeper_blob_put(a,
	        m.data != NULL ? m.data : (const unsigned char *)"", m.datalen,
	        got) == 0 &&
	    strcmp(got, sha) == 0)
		stored = 1;
	ipc_msg_clear(&m);
	return stored;
}

/*
 * The manifest of the workspace's code files (ws), with the contents the
 * audit store lacks copied into blobs, so that the record's references can
 * be produced later.  Never fails the execution: on trouble the manifest
 * says what is missing.
 */
json_t *
exec_code_manifest(struct api *a, const char *sandbox)
{
	json_t *files, *want, *f, *x, *missing = NULL, *man = NULL;
	size_t i, j;
	uint64_t copied = 0;

	if (wrap_ws_manifest(a, sandbox, &man) != 0)
		return json_pack(
		    "{s:[], s:s}", "files", "error", "unavailable");
	files = json_object_get(man, "files");
	want = json_array();
	json_array_foreach (files, i, f)
		if (json_integer_value(json_object_get(f, "size")) <=
		    (json_int_t)MANIFEST_BLOB_MAX)
			json_array_append(want, json_object_get(f, "sha256"));
	if (wrap_keeper_blob_missing(a, want, &missing) != 0)
		missing = NULL;
	json_array_foreach (files, i, f) {
		const char *sha =
		    json_string_value(json_object_get(f, "sha256"));
		const char *path =
		    json_string_value(json_object_get(f, "path"));
		json_int_t size =
		    json_integer_value(json_object_get(f, "size"));
		int need = 0, stored;

		if (size > (json_int_t)MANIFEST_BLOB_MAX || missing == NULL ||
		    sha == NULL || path == NULL)
			continue;
		json_array_foreach (missing, j, x)
			if (json_is_string(x) &&
			    strcmp(json_string_value(x), sha) == 0)
				need = 1;
		stored = !need;
		if (need && copied + (uint64_t)size <= MANIFEST_COPY_MAX &&
		    (stored = exec_copy_blob(a, sandbox, path, sha, size)))
			copied += (uint64_t)size;
		if (stored)
			json_object_set_new(f, "blob", json_true());
	}
	json_decref(missing);
	return man;
}
