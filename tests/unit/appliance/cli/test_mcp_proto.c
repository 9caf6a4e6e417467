/* test_mcp_proto.c: MCP message parsing, negotiation, argument checks. */
#include <string.h>

#include <jansson.h>

#include "mcp_proto.h"
#include "unit.h"

static int
kind_of(const char *line, int *code)
{
	struct mcp_msg m;
	int k;

	mcp_msg_parse(line, strlen(line), &m);
	k = (int)m.kind;
	*code = m.err_code;
	mcp_msg_clear(&m);
	return k;
}

static void
test_parse(void)
{
	struct mcp_msg m;
	int code;
	const char *ok =
	    "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"ping\"}";

	mcp_msg_parse(ok, strlen(ok), &m);
	CHECK_EQ(m.kind, MCP_REQUEST);
	CHECK_STR(m.method, "ping");
	CHECK(json_is_object(m.params) && json_object_size(m.params) == 0);
	CHECK_STR(json_string_value(m.id), "a");
	mcp_msg_clear(&m);
	CHECK_EQ(kind_of("{\"jsonrpc\":\"2.0\",\"method\":\"n\"}", &code),
	    MCP_NOTIFICATION);
	CHECK_EQ(kind_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", &code),
	    MCP_RESPONSE);
	CHECK_EQ(kind_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},"
	                 "\"error\":{}}",
	             &code),
	    MCP_INVALID);
	CHECK_EQ(kind_of("{", &code), MCP_INVALID);
	CHECK_EQ(code, MCP_ERR_PARSE);
	CHECK_EQ(kind_of("[]", &code), MCP_INVALID);
	CHECK_EQ(code, MCP_ERR_INVALID_REQUEST);
	CHECK_EQ(kind_of("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"p\"}",
	             &code),
	    MCP_INVALID);
	CHECK_EQ(kind_of("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"p\"}",
	             &code),
	    MCP_INVALID);
	CHECK_EQ(kind_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\","
	                 "\"params\":[]}",
	             &code),
	    MCP_INVALID);
	CHECK_EQ(kind_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,"
	                 "\"method\":\"p\"}",
	             &code),
	    MCP_INVALID);
	CHECK_EQ(code, MCP_ERR_PARSE);
	/* a NUL in the line is an error, not its end */
	mcp_msg_parse("{}\0{}", 5, &m);
	CHECK_EQ(m.kind, MCP_INVALID);
	mcp_msg_clear(&m);
}

static void
test_versions(void)
{
	CHECK_STR(mcp_version_negotiate("2025-06-18"), "2025-06-18");
	CHECK_STR(mcp_version_negotiate("2024-11-05"), "2024-11-05");
	CHECK_STR(mcp_version_negotiate("2099-01-01"), mcp_versions[0]);
	CHECK_STR(mcp_version_negotiate(NULL), mcp_versions[0]);
	CHECK(mcp_version_structured("2025-06-18"));
	CHECK(mcp_version_structured("2025-11-25"));
	CHECK(!mcp_version_structured("2025-03-26"));
}

static void
test_args(void)
{
	json_error_t jerr;
	json_t *sc = json_loads(
	    "{\"type\":\"object\",\"properties\":{\"s\":{\"type\":\"string\","
	    "\"maxLength\":3},\"i\":{\"type\":\"integer\",\"minimum\":1,"
	    "\"maximum\":5},\"e\":{\"type\":\"string\",\"enum\":[\"x\"]},"
	    "\"m\":{\"type\":\"object\",\"maxProperties\":1},\"b\":{\"type\":"
	    "\"boolean\"}},\"required\":[\"s\"]}",
	    0, &jerr);
	const char *good[] = {"{\"s\":\"abc\"}",
	    "{\"s\":\"\",\"i\":5,\"e\":\"x\",\"m\":{\"k\":\"v\"},\"b\":false}",
	    NULL};
	const char *bad[] = {"{}", "{\"s\":\"abcd\"}", "{\"s\":1}",
	    "{\"s\":\"a\",\"i\":0}", "{\"s\":\"a\",\"i\":1.5}",
	    "{\"s\":\"a\",\"e\":\"y\"}", "{\"s\":\"a\",\"m\":{\"k\":1}}",
	    "{\"s\":\"a\",\"m\":{\"k\":\"1\",\"l\":\"2\"}}",
	    "{\"s\":\"a\",\"b\":0}", "{\"s\":\"a\",\"zz\":0}", "[]", NULL};
	char err[128];
	size_t i;

	CHECK(sc != NULL);
	for (i = 0; good[i] != NULL; i++) {
		json_t *a = json_loads(good[i], JSON_DECODE_ANY, &jerr);

		CHECK_EQ(mcp_args_check(sc, a, err, sizeof(err)), 0);
		json_decref(a);
	}
	for (i = 0; bad[i] != NULL; i++) {
		json_t *a = json_loads(bad[i], JSON_DECODE_ANY, &jerr);

		CHECK_EQ(mcp_args_check(sc, a, err, sizeof(err)), -1);
		CHECK(err[0] != '\0');
		json_decref(a);
	}
	json_decref(sc);
}

static void
test_utf8_cut(void)
{
	const char *s = "h\xc3\xa9\xe2\x82\xac"; /* h, e-acute, euro */

	CHECK_EQ(mcp_utf8_cut(s, 6, 10), 6);
	CHECK_EQ(mcp_utf8_cut(s, 6, 1), 1);
	CHECK_EQ(mcp_utf8_cut(s, 6, 2), 1);
	CHECK_EQ(mcp_utf8_cut(s, 6, 3), 3);
	CHECK_EQ(mcp_utf8_cut(s, 6, 5), 3);
	CHECK_EQ(mcp_utf8_cut(s, 6, 0), 0);
}

int
main(void)
{
	UNIT_RUN(test_parse);
	UNIT_RUN(test_versions);
	UNIT_RUN(test_args);
	UNIT_RUN(test_utf8_cut);
	return UNIT_DONE();
}
