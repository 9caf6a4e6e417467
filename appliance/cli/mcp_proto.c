/*
 * mcp_proto.c: JSON-RPC 2.0 messages of the Model Context Protocol,
 * version negotiation and tool argument checks (mcp_proto.h).  Pure.
 */
#include <stdio.h>
#include <string.h>

#include "mcp_proto.h"

const char *const mcp_versions[] = {
    "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", NULL};

static void
mcp_msg_invalid(struct mcp_msg *m, int code, const char *why)
{
	m->kind = MCP_INVALID;
	m->err_code = code;
	snprintf(m->err, sizeof(m->err), "%s", why);
}

/* The id, when it is one JSON-RPC allows and MCP keeps (no null). */
static int
mcp_id_valid(json_t *id)
{
	if (json_is_integer(id))
		return 1;
	return json_is_string(id) && json_string_length(id) <= MCP_MAX_ID;
}

static int
mcp_keys_valid(json_t *o)
{
	const char *k;
	json_t *v;

	json_object_foreach (o, k, v) {
		(void)v;
		if (strcmp(k, "jsonrpc") != 0 && strcmp(k, "id") != 0 &&
		    strcmp(k, "method") != 0 && strcmp(k, "params") != 0 &&
		    strcmp(k, "result") != 0 && strcmp(k, "error") != 0)
			return 0;
	}
	return 1;
}

void
mcp_msg_parse(const char *line, size_t len, struct mcp_msg *m)
{
	json_error_t jerr;
	json_t *id, *method, *params;

	memset(m, 0, sizeof(*m));
	m->id = json_null();
	if (memchr(line, '\0', len) != NULL) {
		mcp_msg_invalid(m, MCP_ERR_PARSE, "a NUL byte in the message");
		return;
	}
	m->root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (m->root == NULL) {
		/* jerr.text may quote the input: the position only */
		snprintf(m->err, sizeof(m->err),
		    "not valid JSON (line %d, column %d)", jerr.line,
		    jerr.column);
		m->kind = MCP_INVALID;
		m->err_code = MCP_ERR_PARSE;
		return;
	}
	if (!json_is_object(m->root)) {
		mcp_msg_invalid(m, MCP_ERR_INVALID_REQUEST,
		    json_is_array(m->root) ? "batches are not supported"
		                           : "a message is a JSON object");
		return;
	}
	id = json_object_get(m->root, "id");
	if (id != NULL && mcp_id_valid(id))
		m->id = id;
	method = json_object_get(m->root, "method");
	params = json_object_get(m->root, "params");
	if (!json_is_string(json_object_get(m->root, "jsonrpc")) ||
	    strcmp(json_string_value(json_object_get(m->root, "jsonrpc")),
	        "2.0") != 0) {
		mcp_msg_invalid(
		    m, MCP_ERR_INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"");
		return;
	}
	if (!mcp_keys_valid(m->root)) {
		mcp_msg_invalid(m, MCP_ERR_INVALID_REQUEST,
		    "unknown member in the message");
		return;
	}
	if (method == NULL) {
		/* a response: result or error, with an id */
		if (id != NULL && mcp_id_valid(id) &&
		    (json_object_get(m->root, "result") != NULL) !=
		        (json_object_get(m->root, "error") != NULL) &&
		    params == NULL) {
			m->kind = MCP_RESPONSE;
			return;
		}
		mcp_msg_invalid(m, MCP_ERR_INVALID_REQUEST,
		    "neither a request nor a response");
		return;
	}
	if (json_object_get(m->root, "result") != NULL ||
	    json_object_get(m->root, "error") != NULL) {
		mcp_msg_invalid(m, MCP_ERR_INVALID_REQUEST,
		    "a request has no \"result\" or \"error\"");
		return;
	}
	if (!json_is_string(method) || json_string_length(method) == 0 ||
	    json_string_length(method) > MCP_MAX_METHOD ||
	    strlen(json_string_value(method)) != json_string_length(method)) {
		mcp_msg_invalid(m, MCP_ERR_INVALID_REQUEST,
		    "\"method\" must be a short string");
		return;
	}
	if (id != NULL && !mcp_id_valid(id)) {
		mcp_msg_invalid(m, MCP_ERR_INVALID_REQUEST,
		    "\"id\" must be a string or an integer");
		return;
	}
	if (params != NULL && !json_is_object(params)) {
		mcp_msg_invalid(
		    m, MCP_ERR_INVALID_REQUEST, "\"params\" must be an object");
		return;
	}
	if (params == NULL) {
		params = json_object();
		json_object_set_new(m->root, "params", params);
	}
	m->method = json_string_value(method);
	m->params = params;
	m->kind = id != NULL ? MCP_REQUEST : MCP_NOTIFICATION;
}

void
mcp_msg_clear(struct mcp_msg *m)
{
	json_decref(m->root);
	m->root = NULL;
	m->id = json_null();
	m->params = NULL;
	m->method = NULL;
}

json_t *
mcp_result_new(json_t *id, json_t *result)
{
	return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id",
	    id != NULL ? id : json_null(), "result", result);
}

json_t *
mcp_error_new(json_t *id, int code, const char *message)
{
	return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id",
	    id != NULL ? id : json_null(), "error", "code", code, "message",
	    message);
}

const char *
mcp_version_negotiate(const char *requested)
{
	size_t i;

	for (i = 0; requested != NULL && mcp_versions[i] != NULL; i++)
		if (strcmp(requested, mcp_versions[i]) == 0)
			return mcp_versions[i];
	return mcp_versions[0];
}

int
mcp_version_structured(const char *v)
{
	/* revisions are dates: later ones sort after */
	return v != NULL && strcmp(v, "2025-06-18") >= 0;
}

/* --- arguments ----------------------------------------------------------- */

static int
mcp_enum_has(json_t *e, const char *s)
{
	json_t *v;
	size_t i;

	json_array_foreach (e, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

/* Checks one string map argument (labels): string values only. */
static int
mcp_arg_map(const char *name, json_t *ps, json_t *v, char *err, size_t errlen)
{
	json_t *mp = json_object_get(ps, "maxProperties"), *x;
	const char *k;

	if (!json_is_object(v)) {
		snprintf(
		    err, errlen, "argument %s: an object is required", name);
		return -1;
	}
	if (json_is_integer(mp) &&
	    json_object_size(v) > (size_t)json_integer_value(mp)) {
		snprintf(err, errlen, "argument %s: too many entries", name);
		return -1;
	}
	json_object_foreach (v, k, x)
		if (!json_is_string(x)) {
			snprintf(err, errlen,
			    "argument %s: every value is a string", name);
			return -1;
		}
	return 0;
}

/* Checks one argument v against its property schema ps. */
static int
mcp_arg_check(const char *name, json_t *ps, json_t *v, char *err, size_t errlen)
{
	const char *type = json_string_value(json_object_get(ps, "type"));
	json_t *lim;

	if (type == NULL)
		type = "";
	if (strcmp(type, "string") == 0) {
		if (!json_is_string(v))
			goto type;
		lim = json_object_get(ps, "maxLength");
		/* maxLength counts characters; bytes bound them from above */
		if (json_is_integer(lim) &&
		    json_string_length(v) > (size_t)json_integer_value(lim)) {
			snprintf(err, errlen, "argument %s: too long", name);
			return -1;
		}
		if ((lim = json_object_get(ps, "enum")) != NULL &&
		    !mcp_enum_has(lim, json_string_value(v))) {
			snprintf(err, errlen,
			    "argument %s: not one of the "
			    "allowed values",
			    name);
			return -1;
		}
		return 0;
	}
	if (strcmp(type, "integer") == 0) {
		if (!json_is_integer(v))
			goto type;
		if (((lim = json_object_get(ps, "minimum")) != NULL &&
		        json_integer_value(v) < json_integer_value(lim)) ||
		    ((lim = json_object_get(ps, "maximum")) != NULL &&
		        json_integer_value(v) > json_integer_value(lim))) {
			snprintf(
			    err, errlen, "argument %s: out of range", name);
			return -1;
		}
		return 0;
	}
	if (strcmp(type, "boolean") == 0) {
		if (!json_is_boolean(v))
			goto type;
		return 0;
	}
	if (strcmp(type, "object") == 0)
		return mcp_arg_map(name, ps, v, err, errlen);
type:
	snprintf(err, errlen, "argument %s: must be of type %s", name,
	    type[0] != '\0' ? type : "(unknown)");
	return -1;
}

int
mcp_args_check(json_t *schema, json_t *args, char *err, size_t errlen)
{
	json_t *props = json_object_get(schema, "properties");
	json_t *req = json_object_get(schema, "required"), *v;
	const char *k;
	size_t i;

	if (!json_is_object(args)) {
		snprintf(err, errlen, "the arguments must be an object");
		return -1;
	}
	json_array_foreach (req, i, v)
		if (json_is_string(v) &&
		    json_object_get(args, json_string_value(v)) == NULL) {
			snprintf(err, errlen, "argument %.64s is required",
			    json_string_value(v));
			return -1;
		}
	json_object_foreach (args, k, v) {
		json_t *ps = json_object_get(props, k);

		if (ps == NULL) {
			snprintf(err, errlen, "unknown argument \"%.64s\"", k);
			return -1;
		}
		if (mcp_arg_check(k, ps, v, err, errlen) != 0)
			return -1;
	}
	return 0;
}

size_t
mcp_utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	n = max;
	/* back off continuation bytes, then the lead byte they follow */
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}
