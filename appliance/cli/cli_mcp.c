/*
 * cli_mcp.c: `petri mcp`, a Model Context Protocol server on stdio.
 *
 * An MCP host (Claude Code, Cursor, ...) starts `petri mcp` and speaks
 * JSON-RPC 2.0 to it, one message per line.  Each tool is a call of the
 * REST API at PETRI_URL with PETRI_API_KEY, so each action is
 * authenticated, bounded and audited by petrid like any other; this
 * process holds nothing but the key.  Messages are parsed strictly
 * (mcp_proto.c), lines are bounded (MCP_MAX_LINE), tool arguments are
 * checked against the tool's input schema before anything is sent, and
 * outputs are cut to MCP_MAX_OUTPUT with the cut said.  upload_project
 * reads only directories below the directory `petri mcp` was started in
 * (or $PETRI_MCP_ROOT): a model cannot have it send ~/.ssh to a sandbox.
 * Requests are served one at a time, in order.  stdout carries protocol
 * messages only; diagnostics go to stderr.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "bounds.h"
#include "cli.h"
#include "mcp_proto.h"
#include "util.h"

#define MCP_MAX_OUTPUT (64UL << 10) /* output text kept per result */
#define MCP_MAX_STREAM (32UL << 10) /* stdout, stderr each */
#define MCP_READ_DEFAULT (64UL << 10)
#define MCP_READ_MAX (1UL << 20)
#define MCP_MAX_FILES 1000 /* entries of list_files */
#define MCP_SERVER_VERSION "0.11.0"

struct mcp {
	struct cli *c;
	int initialized;
	const char *version; /* negotiated */
	char root[PATH_MAX]; /* upload_project stays below it */
	json_t *tools; /* tools/list answer (with outputSchema) */
	json_t *tools_plain; /* the same without (older revisions) */
};

typedef int mcp_tool_fn(
    struct mcp *m, json_t *args, json_t **out, char *err, size_t errlen);

struct mcp_tool {
	const char *name;
	const char *title;
	const char *description;
	const char *input; /* JSON Schema text */
	const char *output;
	mcp_tool_fn *fn;
	json_t *in_schema; /* parsed at start */
};

/* --- schemas ------------------------------------------------------------- */

#define S_SB                                                                   \
	"\"sandbox_id\": {\"type\": \"string\", \"maxLength\": 64, "           \
	"\"description\": \"The sandbox id (sb_...)\"}"
#define S_AI                                                                   \
	"\"prompt\": {\"type\": \"string\", \"maxLength\": 262144, "           \
	"\"description\": \"The prompt that led to this call, kept in the "    \
	"audit record\"}, \"model\": {\"type\": \"string\", \"maxLength\": "   \
	"256, \"description\": \"The model that wrote the code, kept in the "  \
	"audit record\"}, \"timeout_ms\": {\"type\": \"integer\", "            \
	"\"minimum\": 1, \"maximum\": 3600000}"
#define S_OBJ(props, req)                                                      \
	"{\"type\": \"object\", \"properties\": {" props                       \
	"}, \"required\": [" req "], \"additionalProperties\": false}"
#define O_SEQ "\"audit_seq\": {\"type\": [\"integer\", \"null\"]}"
#define O_EXEC                                                                 \
	"\"exec_id\": {\"type\": \"string\"}, \"exit_code\": {\"type\": "      \
	"[\"integer\", \"null\"]}, \"timed_out\": {\"type\": \"boolean\"}, "   \
	"\"output\": {\"type\": \"string\"}, \"stdout\": {\"type\": "          \
	"\"string\"}, \"stderr\": {\"type\": \"string\"}, \"truncated\": "     \
	"{\"type\": \"boolean\"}, \"error\": {\"type\": [\"string\", "         \
	"\"null\"]}, " O_SEQ
#define O_EXEC_REQ "\"exit_code\", \"output\", \"truncated\", \"audit_seq\""
#define O_OBJ(props, req)                                                      \
	"{\"type\": \"object\", \"properties\": {" props                       \
	"}, \"required\": [" req "]}"

static mcp_tool_fn tool_create, tool_list_sb, tool_delete, tool_run_code,
    tool_run_command, tool_write, tool_read, tool_list_files, tool_upload,
    tool_tests;

static struct mcp_tool mcp_tools[] = {
    {"create_sandbox", "Create a sandbox",
        "Creates an isolated sandbox (a hardened container with its own "
        "workspace) for one language. Returns its id.",
        S_OBJ("\"language\": {\"type\": \"string\", \"enum\": [\"python\", "
              "\"node\", \"go\", \"java\"]}, \"ttl_seconds\": {\"type\": "
              "\"integer\", \"minimum\": 1, \"maximum\": 604800}, "
              "\"policy\": {\"type\": \"string\", \"maxLength\": 128}, "
              "\"labels\": {\"type\": \"object\", \"maxProperties\": 32, "
              "\"additionalProperties\": {\"type\": \"string\"}}",
            "\"language\""),
        O_OBJ("\"sandbox_id\": {\"type\": \"string\"}, \"language\": "
              "{\"type\": \"string\"}, \"state\": {\"type\": \"string\"}, "
              "\"expires_at\": {\"type\": \"string\"}",
            "\"sandbox_id\", \"language\""),
        tool_create, NULL},
    {"list_sandboxes", "List sandboxes", "Lists the caller's sandboxes.",
        S_OBJ("", ""),
        O_OBJ("\"sandboxes\": {\"type\": \"array\", \"items\": {\"type\": "
              "\"object\", \"properties\": {\"id\": {\"type\": "
              "\"string\"}, \"language\": {\"type\": \"string\"}, "
              "\"state\": {\"type\": \"string\"}, \"expires_at\": "
              "{\"type\": \"string\"}}, \"required\": [\"id\"]}}, "
              "\"count\": {\"type\": \"integer\"}",
            "\"sandboxes\", \"count\""),
        tool_list_sb, NULL},
    {"delete_sandbox", "Delete a sandbox",
        "Deletes a sandbox, its container and its workspace.",
        S_OBJ(S_SB, "\"sandbox_id\""),
        O_OBJ("\"sandbox_id\": {\"type\": \"string\"}, \"deleted\": "
              "{\"type\": \"boolean\"}",
            "\"sandbox_id\", \"deleted\""),
        tool_delete, NULL},
    {"run_code", "Run code",
        "Runs a program in the sandbox's language (written to a temporary "
        "file in the workspace). Returns exit code, output and the audit "
        "record's sequence number.",
        S_OBJ(S_SB ", \"code\": {\"type\": \"string\", \"maxLength\": "
                   "4194304}, " S_AI,
            "\"sandbox_id\", \"code\""),
        O_OBJ(O_EXEC, O_EXEC_REQ), tool_run_code, NULL},
    {"run_command", "Run a shell command",
        "Runs a command with /bin/sh -c in the sandbox (working directory "
        "/sandbox unless cwd is given).",
        S_OBJ(S_SB ", \"command\": {\"type\": \"string\", \"maxLength\": "
                   "65536}, \"cwd\": {\"type\": \"string\", \"maxLength\": "
                   "1024}, \"stdin\": {\"type\": \"string\", "
                   "\"maxLength\": 4194304}, " S_AI,
            "\"sandbox_id\", \"command\""),
        O_OBJ(O_EXEC, O_EXEC_REQ), tool_run_command, NULL},
    {"write_file", "Write a file",
        "Writes a UTF-8 text file in the sandbox's workspace (a path "
        "relative to /sandbox), creating parent directories.",
        S_OBJ(S_SB ", \"path\": {\"type\": \"string\", \"maxLength\": "
                   "1024}, \"content\": {\"type\": \"string\", "
                   "\"maxLength\": 4194304}, \"executable\": {\"type\": "
                   "\"boolean\"}",
            "\"sandbox_id\", \"path\", \"content\""),
        O_OBJ("\"path\": {\"type\": \"string\"}, \"size\": {\"type\": "
              "\"integer\"}, \"sha256\": {\"type\": \"string\"}, " O_SEQ,
            "\"path\", \"size\", \"audit_seq\""),
        tool_write, NULL},
    {"read_file", "Read a file",
        "Reads a file of the sandbox's workspace: text as it is, other "
        "bytes as base64; at most max_bytes (64 KiB unless given).",
        S_OBJ(S_SB ", \"path\": {\"type\": \"string\", \"maxLength\": "
                   "1024}, \"max_bytes\": {\"type\": \"integer\", "
                   "\"minimum\": 1, \"maximum\": 1048576}",
            "\"sandbox_id\", \"path\""),
        O_OBJ("\"path\": {\"type\": \"string\"}, \"size\": {\"type\": "
              "\"integer\"}, \"encoding\": {\"type\": \"string\", "
              "\"enum\": [\"utf-8\", \"base64\"]}, \"content\": {\"type\": "
              "\"string\"}, \"truncated\": {\"type\": \"boolean\"}",
            "\"path\", \"size\", \"encoding\", \"content\", \"truncated\""),
        tool_read, NULL},
    {"list_files", "List files",
        "Lists the workspace (recursively) below path.",
        S_OBJ(S_SB ", \"path\": {\"type\": \"string\", \"maxLength\": "
                   "1024}",
            "\"sandbox_id\""),
        O_OBJ("\"files\": {\"type\": \"array\", \"items\": {\"type\": "
              "\"object\", \"properties\": {\"path\": {\"type\": "
              "\"string\"}, \"type\": {\"type\": \"string\"}, \"size\": "
              "{\"type\": \"integer\"}}, \"required\": [\"path\", "
              "\"type\"]}}, \"truncated\": {\"type\": \"boolean\"}",
            "\"files\", \"truncated\""),
        tool_list_files, NULL},
    {"upload_project", "Upload a project directory",
        "Syncs a local directory (below the directory the MCP server runs "
        "in) into the sandbox: only new or changed files are sent, in one "
        "atomic commit; with delete, workspace files not in the directory "
        "are removed.",
        S_OBJ(S_SB ", \"directory\": {\"type\": \"string\", \"maxLength\": "
                   "4096}, \"to\": {\"type\": \"string\", \"maxLength\": "
                   "1024}, \"delete\": {\"type\": \"boolean\"}",
            "\"sandbox_id\", \"directory\""),
        O_OBJ("\"files\": {\"type\": \"integer\"}, \"uploaded\": {\"type\": "
              "\"integer\"}, \"deleted\": {\"type\": \"integer\"}, "
              "\"unchanged\": {\"type\": \"integer\"}, \"bytes\": {\"type\": "
              "\"integer\"}, \"sent\": {\"type\": \"integer\"}, "
              "\"skipped\": {\"type\": \"integer\"}, " O_SEQ,
            "\"uploaded\", \"deleted\", \"unchanged\", \"audit_seq\""),
        tool_upload, NULL},
    {"run_tests", "Run the tests",
        "Runs the project's tests in the sandbox (pytest or unittest, node "
        "--test, go test, JUnit), after starting the app given as command "
        "if any. Returns the counts, exit code and output.",
        S_OBJ(S_SB ", \"command\": {\"type\": \"string\", \"maxLength\": "
                   "65536}, \"cwd\": {\"type\": \"string\", \"maxLength\": "
                   "1024}, " S_AI,
            "\"sandbox_id\""),
        O_OBJ(O_EXEC ", \"test\": {\"type\": [\"object\", \"null\"]}",
            O_EXEC_REQ),
        tool_tests, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

/* --- REST calls ------------------------------------------------------------ */

/* Calls the API; 0 when the status is want, else -1 with err set. */
static int
mcp_api(struct mcp *m, const char *method, const char *path, json_t *body,
    long want, json_t **reply, char *err, size_t errlen)
{
	json_t *rep = NULL;
	long st;

	st = cli_http_json(m->c, method, path, body, &rep, err, errlen);
	if (st == want) {
		if (reply != NULL)
			*reply = rep;
		else
			json_decref(rep);
		return 0;
	}
	if (st > 0)
		cli_http_error(rep, st, err, errlen);
	json_decref(rep);
	return -1;
}

static const char *
mcp_sb(json_t *args, char *err, size_t errlen)
{
	const char *sb = json_string_value(json_object_get(args, "sandbox_id"));

	if (sb == NULL || !petri_id_valid(sb, "sb_")) {
		snprintf(err, errlen, "sandbox_id: not a sandbox id (sb_...)");
		return NULL;
	}
	return sb;
}

/* "/v1/sandboxes/SB/files/" + path, each segment escaped, then query. */
static int
mcp_files_url(const char *sb, const char *path, const char *query, char *out,
    size_t outlen, char *err, size_t errlen)
{
	struct buf b;
	const char *seg, *end;
	char *esc, *s;
	int rc = -1;

	buf_init(&b, outlen - 1);
	if (buf_printf(&b, "/v1/sandboxes/%s/files/", sb) != 0)
		goto out;
	for (seg = path;; seg = end + 1) {
		end = strchr(seg, '/');
		if ((esc = curl_easy_escape(NULL, seg,
		         end != NULL ? (int)(end - seg) : 0)) == NULL)
			goto out;
		rc = buf_append_str(&b, esc);
		curl_free(esc);
		if (rc != 0 || (end != NULL && buf_append_str(&b, "/") != 0)) {
			rc = -1;
			goto out;
		}
		if (end == NULL)
			break;
	}
	rc = query != NULL && buf_append_str(&b, query) != 0 ? -1 : 0;
out:
	if (rc == 0 && (s = buf_cstr(&b)) != NULL)
		petri_strlcpy(out, s, outlen);
	else
		snprintf(err, errlen, "path: too long");
	buf_free(&b);
	return rc == 0 ? 0 : -1;
}

/* A copy of the string v cut to max bytes; *cut set when it was cut. */
static json_t *
mcp_text(json_t *v, size_t max, int *cut)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), k;

	if (s == NULL)
		return json_string("");
	k = mcp_utf8_cut(s, n, max);
	if (k < n)
		*cut = 1;
	return json_stringn(s, k);
}

static json_t *
mcp_seq(json_t *audit)
{
	json_t *seq = json_object_get(audit, "seq");

	return json_is_integer(seq) ? json_incref(seq) : json_null();
}

/* An execution's answer, bounded, as the tools' output. */
static json_t *
mcp_exec_view(json_t *rep)
{
	json_t *o, *x, *e;
	int cut = 0;

	x = json_object_get(rep, "exit_code");
	e = json_object_get(json_object_get(rep, "error"), "message");
	o = json_pack("{s:s, s:O, s:b, s:o, s:o, s:o, s:o}", "exec_id",
	    json_string_value(json_object_get(rep, "id")) != NULL
	        ? json_string_value(json_object_get(rep, "id"))
	        : "",
	    "exit_code", json_is_integer(x) ? x : json_null(), "timed_out",
	    json_is_true(json_object_get(rep, "timed_out")), "output",
	    mcp_text(json_object_get(rep, "output"), MCP_MAX_OUTPUT, &cut),
	    "stdout",
	    mcp_text(json_object_get(rep, "stdout"), MCP_MAX_STREAM, &cut),
	    "stderr",
	    mcp_text(json_object_get(rep, "stderr"), MCP_MAX_STREAM, &cut),
	    "audit_seq", mcp_seq(json_object_get(rep, "audit")));
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "truncated",
	    json_boolean(
	        cut || json_is_true(json_object_get(rep, "truncated"))));
	json_object_set_new(
	    o, "error", json_is_string(e) ? json_incref(e) : json_null());
	return o;
}

/* Runs body (command, code, ...) with the call's prompt, model, timeout. */
static int
mcp_exec(struct mcp *m, json_t *args, json_t *body, json_t **out, char *err,
    size_t errlen)
{
	static const char *const pass[] = {
	    "prompt", "model", "timeout_ms", "cwd", "stdin", NULL};
	const char *sb = mcp_sb(args, err, errlen);
	const char *const *k;
	char path[128];
	json_t *rep = NULL;
	int rc;

	if (sb == NULL) {
		json_decref(body);
		return -1;
	}
	for (k = pass; *k != NULL; k++)
		if (json_object_get(args, *k) != NULL)
			json_object_set(body, *k, json_object_get(args, *k));
	snprintf(path, sizeof(path), "/v1/sandboxes/%s/exec", sb);
	rc = mcp_api(m, "POST", path, body, 200, &rep, err, errlen);
	json_decref(body);
	if (rc != 0)
		return -1;
	*out = mcp_exec_view(rep);
	if (*out != NULL && json_object_get(rep, "test") != NULL)
		json_object_set(*out, "test", json_object_get(rep, "test"));
	json_decref(rep);
	return *out != NULL ? 0 : -1;
}

/* --- tools ------------------------------------------------------------------ */

static int
tool_create(struct mcp *m, json_t *args, json_t **out, char *err, size_t errlen)
{
	json_t *rep = NULL;
	const char *s;

	if (mcp_api(m, "POST", "/v1/sandboxes", args, 201, &rep, err, errlen) !=
	    0)
		return -1;
	s = json_string_value(json_object_get(rep, "expires_at"));
	*out = json_pack("{s:s, s:s, s:s}", "sandbox_id",
	    json_string_value(json_object_get(rep, "id")) != NULL
	        ? json_string_value(json_object_get(rep, "id"))
	        : "",
	    "language", json_string_value(json_object_get(args, "language")),
	    "state",
	    json_string_value(json_object_get(rep, "state")) != NULL
	        ? json_string_value(json_object_get(rep, "state"))
	        : "");
	if (*out != NULL && s != NULL)
		json_object_set_new(*out, "expires_at", json_string(s));
	json_decref(rep);
	return *out != NULL ? 0 : -1;
}

static int
tool_list_sb(
    struct mcp *m, json_t *args, json_t **out, char *err, size_t errlen)
{
	static const char *const keep[] = {
	    "id", "language", "state", "expires_at", NULL};
	json_t *rep = NULL, *list, *sb, *v;
	const char *const *k;
	size_t i;

	(void)args;
	if (mcp_api(m, "GET", "/v1/sandboxes", NULL, 200, &rep, err, errlen) !=
	    0)
		return -1;
	list = json_array();
	json_array_foreach (json_object_get(rep, "sandboxes"), i, sb) {
		v = json_object();
		for (k = keep; *k != NULL; k++)
			if (json_is_string(json_object_get(sb, *k)))
				json_object_set(v, *k, json_object_get(sb, *k));
		json_array_append_new(list, v);
	}
	json_decref(rep);
	*out = json_pack("{s:I, s:o}", "count",
	    (json_int_t)json_array_size(list), "sandboxes", list);
	return *out != NULL ? 0 : -1;
}

static int
tool_delete(struct mcp *m, json_t *args, json_t **out, char *err, size_t errlen)
{
	const char *sb = mcp_sb(args, err, errlen);
	char path[128];

	if (sb == NULL)
		return -1;
	snprintf(path, sizeof(path), "/v1/sandboxes/%s", sb);
	if (mcp_api(m, "DELETE", path, NULL, 204, NULL, err, errlen) != 0)
		return -1;
	*out = json_pack("{s:s, s:b}", "sandbox_id", sb, "deleted", 1);
	return 0;
}

static int
tool_run_code(
    struct mcp *m, json_t *args, json_t **out, char *err, size_t errlen)
{
	return mcp_exec(m, args,
	    json_pack("{s:O}", "code", json_object_get(args, "code")), out, err,
	    errlen);
}

static int
tool_run_command(
    struct mcp *m, json_t *args, json_t **out, char *err, size_t errlen)
{
	return mcp_exec(m, args,
	    json_pack("{s:O}", "command", json_object_get(args, "command")),
	    out, err, errlen);
}

static int
tool_tests(struct mcp *m, json_t *args, json_t **out, char *err, size_t errlen)
{
	json_t *body = json_pack("{s:b}", "test", 1);

	if (json_object_get(args, "command") != NULL)
		json_object_set(
		    body, "command", json_object_get(args, "command"));
	return mcp_exec(m, args, body, out, err, errlen);
}

static int
tool_write(struct mcp *m, json_t *args, json_t **out, char *err, size_t errlen)
{
	const char *sb = mcp_sb(args, err, errlen);
	json_t *content = json_object_get(args, "content"), *rep = NULL, *f;
	struct buf reply;
	json_error_t jerr;
	char path[4096];
	long st;

	if (sb == NULL ||
	    mcp_files_url(sb, json_string_value(json_object_get(args, "path")),
	        json_is_true(json_object_get(args, "executable")) ? "?mode=755"
	                                                          : NULL,
	        path, sizeof(path), err, errlen) != 0)
		return -1;
	buf_init(&reply, CLI_MAX_REPLY);
	st = cli_http(m->c, "PUT", path, json_string_value(content),
	    json_string_length(content), "application/octet-stream", &reply,
	    err, errlen);
	if (st > 0 && reply.len > 0)
		rep = json_loadb((const char *)reply.data, reply.len, 0, &jerr);
	buf_free(&reply);
	if (st != 201) {
		if (st > 0)
			cli_http_error(rep, st, err, errlen);
		json_decref(rep);
		return -1;
	}
	f = json_array_get(json_object_get(rep, "files"), 0);
	*out = json_pack("{s:s, s:I, s:s, s:o}", "path",
	    json_string_value(json_object_get(f, "path")) != NULL
	        ? json_string_value(json_object_get(f, "path"))
	        : "",
	    "size", (json_int_t)json_string_length(content), "sha256",
	    json_string_value(json_object_get(f, "sha256")) != NULL
	        ? json_string_value(json_object_get(f, "sha256"))
	        : "",
	    "audit_seq", mcp_seq(json_object_get(rep, "audit")));
	json_decref(rep);
	return *out != NULL ? 0 : -1;
}

static int
tool_read(struct mcp *m, json_t *args, json_t **out, char *err, size_t errlen)
{
	const char *sb = mcp_sb(args, err, errlen);
	json_t *mx = json_object_get(args, "max_bytes"), *text;
	struct buf data;
	char path[4096], *b64 = NULL;
	size_t max = json_is_integer(mx) ? (size_t)json_integer_value(mx)
	                                 : MCP_READ_DEFAULT;
	size_t keep, b64len;
	int is_b64 = 0;
	long st;

	if (sb == NULL ||
	    mcp_files_url(sb, json_string_value(json_object_get(args, "path")),
	        NULL, path, sizeof(path), err, errlen) != 0)
		return -1;
	buf_init(&data, WS_MAX_DOWNLOAD);
	st = cli_http(m->c, "GET", path, NULL, 0, NULL, &data, err, errlen);
	if (st != 200) {
		if (st > 0) {
			json_error_t jerr;
			json_t *rep = json_loadb(
			    (const char *)data.data, data.len, 0, &jerr);

			cli_http_error(rep, st, err, errlen);
			json_decref(rep);
		}
		buf_free(&data);
		return -1;
	}
	keep = mcp_utf8_cut((const char *)data.data, data.len, max);
	text = keep > 0 ? json_stringn((const char *)data.data, keep)
	                : json_string("");
	if (text == NULL) { /* not UTF-8: base64 of the first max bytes */
		keep = data.len < max ? data.len : max;
		b64len = sodium_base64_encoded_len(
		    keep, sodium_base64_VARIANT_ORIGINAL);
		if ((b64 = malloc(b64len)) != NULL)
			text = json_string(sodium_bin2base64(b64, b64len,
			    data.data, keep, sodium_base64_VARIANT_ORIGINAL));
		free(b64);
		is_b64 = 1;
	}
	*out = json_pack("{s:O, s:I, s:s, s:o, s:b}", "path",
	    json_object_get(args, "path"), "size", (json_int_t)data.len,
	    "encoding", is_b64 ? "base64" : "utf-8", "content", text,
	    "truncated", keep < data.len);
	buf_free(&data);
	return *out != NULL ? 0 : -1;
}

static int
tool_list_files(
    struct mcp *m, json_t *args, json_t **out, char *err, size_t errlen)
{
	const char *sb = mcp_sb(args, err, errlen);
	const char *dir = json_string_value(json_object_get(args, "path"));
	json_t *rep = NULL, *list, *f;
	char path[4096], *esc;
	size_t i;
	int trunc;

	if (sb == NULL)
		return -1;
	if ((esc = curl_easy_escape(NULL, dir != NULL ? dir : "", 0)) == NULL)
		return -1;
	snprintf(path, sizeof(path), "/v1/sandboxes/%s/files?path=%s", sb, esc);
	curl_free(esc);
	if (mcp_api(m, "GET", path, NULL, 200, &rep, err, errlen) != 0)
		return -1;
	list = json_array();
	trunc = json_is_true(json_object_get(rep, "truncated"));
	json_array_foreach (json_object_get(rep, "files"), i, f) {
		if (i >= MCP_MAX_FILES) {
			trunc = 1;
			break;
		}
		json_array_append_new(list,
		    json_pack("{s:O, s:O, s:I}", "path",
		        json_object_get(f, "path"), "type",
		        json_object_get(f, "type"), "size",
		        json_integer_value(json_object_get(f, "size"))));
	}
	json_decref(rep);
	*out = json_pack("{s:o, s:b}", "files", list, "truncated", trunc);
	return *out != NULL ? 0 : -1;
}

/* Whether the directory dir resolves to m->root or below it. */
static int
mcp_dir_allowed(
    struct mcp *m, const char *dir, char *real, char *err, size_t errlen)
{
	size_t n = strlen(m->root);

	if (realpath(dir, real) == NULL) {
		snprintf(err, errlen, "directory: %s", strerror(errno));
		return 0;
	}
	if (strncmp(real, m->root, n) == 0 &&
	    (real[n] == '\0' || real[n] == '/' || strcmp(m->root, "/") == 0))
		return 1;
	snprintf(err, errlen,
	    "directory: outside the directory the MCP server may read "
	    "(PETRI_MCP_ROOT)");
	return 0;
}

static int
tool_upload(struct mcp *m, json_t *args, json_t **out, char *err, size_t errlen)
{
	struct cli_sync_result res;
	const char *sb = mcp_sb(args, err, errlen);
	char real[PATH_MAX];

	if (sb == NULL ||
	    !mcp_dir_allowed(m,
	        json_string_value(json_object_get(args, "directory")), real,
	        err, errlen))
		return -1;
	if (cli_sync_dir(m->c, real, sb,
	        json_string_value(json_object_get(args, "to")),
	        json_is_true(json_object_get(args, "delete")), &res, err,
	        errlen) != 0)
		return -1;
	*out = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "files",
	    (json_int_t)res.files, "uploaded", (json_int_t)res.uploaded,
	    "deleted", (json_int_t)res.deleted, "unchanged",
	    (json_int_t)res.unchanged, "bytes", (json_int_t)res.bytes, "sent",
	    (json_int_t)res.sent, "skipped", (json_int_t)res.skipped);
	if (*out != NULL)
		json_object_set_new(*out, "audit_seq",
		    res.audit_seq >= 0 ? json_integer(res.audit_seq)
		                       : json_null());
	return *out != NULL ? 0 : -1;
}

/* --- the protocol ------------------------------------------------------------ */

static void
mcp_send(json_t *msg)
{
	char *text;

	if (msg == NULL)
		return;
	/* compact: jansson escapes newlines inside strings */
	if ((text = json_dumps(msg, JSON_COMPACT)) != NULL) {
		fputs(text, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	free(text);
	json_decref(msg);
}

/* Parses the tools' schemas and builds both tools/list answers. */
static int
mcp_tools_init(struct mcp *m)
{
	json_error_t jerr;
	struct mcp_tool *t;
	json_t *out, *full, *plain;

	m->tools = json_array();
	m->tools_plain = json_array();
	for (t = mcp_tools; t->name != NULL; t++) {
		t->in_schema =
		    json_loads(t->input, JSON_REJECT_DUPLICATES, &jerr);
		out = json_loads(t->output, JSON_REJECT_DUPLICATES, &jerr);
		if (t->in_schema == NULL || out == NULL) {
			fprintf(stderr, "petri mcp: tool %s: bad schema: %s\n",
			    t->name, jerr.text);
			json_decref(out);
			return -1;
		}
		plain = json_pack("{s:s, s:s, s:s, s:O}", "name", t->name,
		    "title", t->title, "description", t->description,
		    "inputSchema", t->in_schema);
		full = json_deep_copy(plain);
		json_object_set_new(full, "outputSchema", out);
		json_array_append_new(m->tools, full);
		json_array_append_new(m->tools_plain, plain);
	}
	return 0;
}

static json_t *
mcp_initialize(struct mcp *m, json_t *params)
{
	const char *want =
	    json_string_value(json_object_get(params, "protocolVersion"));

	m->version = mcp_version_negotiate(want);
	m->initialized = 1;
	return json_pack("{s:s, s:{s:{s:b}}, s:{s:s, s:s, s:s}, s:s}",
	    "protocolVersion", m->version, "capabilities", "tools",
	    "listChanged", 0, "serverInfo", "name", "petri", "title",
	    "Petri sandboxes", "version", MCP_SERVER_VERSION, "instructions",
	    "Petri runs code in audited sandboxes: create_sandbox, then "
	    "upload_project or write_file, then run_code, run_command or "
	    "run_tests; delete_sandbox when done. Pass prompt and model to "
	    "the run tools: they are kept in the audit record.");
}

/* A tool result: structured (taken) or, when NULL, the error text. */
static json_t *
mcp_tool_result(struct mcp *m, json_t *structured, const char *errtext)
{
	json_t *r;
	char *text;

	if (structured == NULL)
		return json_pack("{s:[{s:s, s:s}], s:b}", "content", "type",
		    "text", "text", errtext, "isError", 1);
	text = json_dumps(structured, JSON_COMPACT | JSON_SORT_KEYS);
	r = json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text",
	    "text", text != NULL ? text : "{}", "isError", 0);
	free(text);
	if (r != NULL && mcp_version_structured(m->version))
		json_object_set(r, "structuredContent", structured);
	json_decref(structured);
	return r;
}

/* tools/call: unknown tools are protocol errors, failures tool errors. */
static json_t *
mcp_call(struct mcp *m, struct mcp_msg *req)
{
	const char *name =
	    json_string_value(json_object_get(req->params, "name"));
	json_t *args = json_object_get(req->params, "arguments");
	json_t *out = NULL;
	struct mcp_tool *t;
	char err[CLI_ERR_MAX] = "";

	for (t = mcp_tools; name != NULL && t->name != NULL; t++)
		if (strcmp(t->name, name) == 0)
			break;
	if (name == NULL || t->name == NULL)
		return mcp_error_new(req->id, MCP_ERR_PARAMS, "unknown tool");
	if (args == NULL) {
		json_object_set_new(req->params, "arguments", json_object());
		args = json_object_get(req->params, "arguments");
	}
	if (mcp_args_check(t->in_schema, args, err, sizeof(err)) != 0)
		return mcp_result_new(req->id, mcp_tool_result(m, NULL, err));
	if (t->fn(m, args, &out, err, sizeof(err)) != 0) {
		json_decref(out);
		out = NULL;
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "%s failed", t->name);
	}
	return mcp_result_new(req->id, mcp_tool_result(m, out, err));
}

/* Answers one request (NULL for notifications and responses). */
static json_t *
mcp_dispatch(struct mcp *m, struct mcp_msg *req)
{
	const char *meth = req->method;

	if (req->kind == MCP_INVALID)
		return mcp_error_new(req->id, req->err_code, req->err);
	if (req->kind != MCP_REQUEST)
		return NULL; /* initialized, cancelled, progress; answers */
	if (strcmp(meth, "initialize") == 0)
		return mcp_result_new(req->id, mcp_initialize(m, req->params));
	if (strcmp(meth, "ping") == 0)
		return mcp_result_new(req->id, json_object());
	if (!m->initialized)
		return mcp_error_new(
		    req->id, MCP_ERR_INVALID_REQUEST, "initialize first");
	if (strcmp(meth, "tools/list") == 0)
		return mcp_result_new(req->id,
		    json_pack("{s:O}", "tools",
		        mcp_version_structured(m->version) ? m->tools
		                                           : m->tools_plain));
	if (strcmp(meth, "tools/call") == 0)
		return mcp_call(m, req);
	return mcp_error_new(req->id, MCP_ERR_METHOD, "method not found");
}

/*
 * Reads one line into b (without the newline).  Returns 1 for a line,
 * 0 at the end of input, 2 for a line longer than MCP_MAX_LINE (read to
 * its end and dropped).
 */
static int
mcp_line_read(FILE *f, struct buf *b)
{
	int ch, over = 0;

	buf_reset(b);
	while ((ch = getc_unlocked(f)) != EOF && ch != '\n') {
		unsigned char c = (unsigned char)ch;

		if (!over && buf_append(b, &c, 1) != 0)
			over = 1;
	}
	if (ch == EOF && b->len == 0 && !over)
		return 0;
	if (b->len > 0 && b->data[b->len - 1] == '\r')
		b->len--;
	return over ? 2 : 1;
}

int
cli_mcp_main(struct cli *c)
{
	struct mcp m;
	struct mcp_msg req;
	struct mcp_tool *t;
	struct buf line;
	const char *root = getenv("PETRI_MCP_ROOT");
	int r;

	memset(&m, 0, sizeof(m));
	m.c = c;
	m.version = mcp_versions[0];
	if (sodium_init() < 0 || mcp_tools_init(&m) != 0)
		return 1;
	if (realpath(root != NULL && root[0] != '\0' ? root : ".", m.root) ==
	    NULL) {
		fprintf(stderr, "petri mcp: %s: %s\n", root ? root : ".",
		    strerror(errno));
		return 1;
	}
	buf_init(&line, MCP_MAX_LINE);
	while ((r = mcp_line_read(stdin, &line)) != 0) {
		if (r == 2) {
			mcp_send(mcp_error_new(NULL, MCP_ERR_INVALID_REQUEST,
			    "message longer than the limit"));
			continue;
		}
		if (line.len == 0)
			continue;
		mcp_msg_parse((const char *)line.data, line.len, &req);
		mcp_send(mcp_dispatch(&m, &req));
		mcp_msg_clear(&req);
	}
	buf_free(&line);
	for (t = mcp_tools; t->name != NULL; t++) {
		json_decref(t->in_schema);
		t->in_schema = NULL;
	}
	json_decref(m.tools);
	json_decref(m.tools_plain);
	return 0;
}
