/*
 * fuzz_mcp.c: libFuzzer target for the MCP message layer (mcp_proto.c):
 * one line from an MCP client, parsed strictly, then its arguments (if it
 * is a tools/call) checked against a schema of every kind the tools use,
 * and the answers built.  Aborts when an invariant breaks: an invalid
 * message carries a JSON-RPC error code, a request a method and params
 * object, and a UTF-8 cut never grows nor splits a character.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mcp_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char schema_text[] =
    "{\"type\": \"object\", \"properties\": {"
    "\"s\": {\"type\": \"string\", \"maxLength\": 8},"
    "\"e\": {\"type\": \"string\", \"enum\": [\"a\", \"b\"]},"
    "\"i\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 9},"
    "\"b\": {\"type\": \"boolean\"},"
    "\"m\": {\"type\": \"object\", \"maxProperties\": 2}},"
    "\"required\": [\"s\"], \"additionalProperties\": false}";

static void
check_cut(const uint8_t *data, size_t size)
{
	size_t max = size > 0 ? data[0] : 0, k;

	k = mcp_utf8_cut((const char *)data, size, max);
	if (k > size || (size > max && k > max))
		abort();
	if (k < size && k > 0 && (data[k] & 0xc0) == 0x80)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t *schema;
	struct mcp_msg m;
	json_error_t jerr;
	json_t *ans;
	char err[256];

	if (schema == NULL &&
	    (schema = json_loads(schema_text, 0, &jerr)) == NULL)
		abort();
	check_cut(data, size);
	mcp_msg_parse((const char *)data, size, &m);
	switch (m.kind) {
	case MCP_INVALID:
		if (m.err_code > -32600 || m.err_code < -32700 || m.err[0] == 0)
			abort();
		ans = mcp_error_new(m.id, m.err_code, m.err);
		break;
	case MCP_REQUEST:
	case MCP_NOTIFICATION:
		if (m.method == NULL || !json_is_object(m.params))
			abort();
		(void)mcp_args_check(schema,
		    json_object_get(m.params, "arguments"), err, sizeof(err));
		(void)mcp_version_negotiate(json_string_value(
		    json_object_get(m.params, "protocolVersion")));
		ans = mcp_result_new(m.id, json_object());
		break;
	default:
		ans = NULL;
		break;
	}
	if (m.kind != MCP_RESPONSE && ans == NULL)
		abort();
	json_decref(ans);
	mcp_msg_clear(&m);
	return 0;
}
