/* test_dispatch.c: a receiver's handler table against its permit table. */
#include <stdarg.h>
#include <string.h>

#include "dispatch.h"
#include "unit.h"

static int calls;

static void
h_one(void *ctx, struct ipc_msg *m)
{
	(void)ctx;
	(void)m;
	calls++;
}

static const struct dispatch_entry table[] = {
    {10, PEER_API, h_one, 0},
    {11, PEER_API | PEER_PROXY, h_one, 1},
    {12, PEER_PROXY, h_one, 0},
};
#define NT (sizeof(table) / sizeof(table[0]))

static void
test_find(void)
{
	struct ipc_msg m = {0};

	CHECK(dispatch_find(table, NT, 10, PEER_API) == &table[0]);
	CHECK(dispatch_find(table, NT, 10, PEER_PROXY) == NULL);
	CHECK(dispatch_find(table, NT, 11, PEER_PROXY) == &table[1]);
	CHECK(dispatch_find(table, NT, 12, PEER_API) == NULL);
	CHECK(dispatch_find(table, NT, 13, PEER_API) == NULL);
	m.type = 11;
	calls = 0;
	dispatch_get(table, NT, "test", "api", PEER_API, &m)->fn(NULL, &m);
	CHECK(calls == 1);
}

static void
test_check(void)
{
	static const struct ipc_permit from_api[] = {{10, 100}, {11, 100}};
	static const struct ipc_permit from_proxy[] = {{11, 100}, {12, 100}};
	static const struct ipc_permit extra[] = {{10, 1}, {11, 1}, {13, 1}};
	static const struct ipc_permit missing[] = {{10, 1}};
	uint32_t bad = 0;

	CHECK(dispatch_check(table, NT, PEER_API, from_api, 2, &bad) == 0);
	CHECK(dispatch_check(table, NT, PEER_PROXY, from_proxy, 2, &bad) == 0);
	/* a permitted type no handler takes from that peer */
	CHECK(dispatch_check(table, NT, PEER_API, extra, 3, &bad) ==
	    PETRI_ERR_INVAL);
	CHECK(bad == 13);
	/* a handler for a type the channel does not let through */
	CHECK(dispatch_check(table, NT, PEER_API, missing, 1, &bad) ==
	    PETRI_ERR_INVAL);
	CHECK(bad == 11);
	CHECK(dispatch_check(table, NT, PEER_PROXY, from_api, 2, &bad) ==
	    PETRI_ERR_INVAL);
}

static int
read_one(const char *doc, char *err, size_t errlen, const char *fmt, ...)
{
	json_t *j = json_loads(doc, 0, NULL);
	va_list ap;
	int e;

	va_start(ap, fmt);
	e = dispatch_vread(j, err, errlen, fmt, ap);
	va_end(ap);
	json_decref(j);
	return e;
}

static void
test_read(void)
{
	const char *s = NULL;
	json_int_t n = 0;
	int b = 7;
	char err[JSON_ERROR_TEXT_LENGTH];

	CHECK(read_one("{\"a\":\"x\",\"n\":3}", err, sizeof(err),
	          "{s:s, s:I, s?b}", "a", &s, "n", &n, "b", &b) == 0);
	CHECK(n == 3 && b == 7);
	CHECK(read_one("{\"a\":\"x\",\"n\":3,\"b\":true}", err, sizeof(err),
	          "{s:s, s:I, s?b}", "a", &s, "n", &n, "b", &b) == 0);
	CHECK(b == 1);
	/* an unknown key, in a nested object too */
	CHECK(read_one("{\"a\":\"x\",\"n\":3,\"z\":1}", err, sizeof(err),
	          "{s:s, s:I}", "a", &s, "n", &n) == PETRI_ERR_PROTO);
	CHECK(strstr(err, "z") != NULL);
	CHECK(read_one("{\"o\":{\"a\":1,\"z\":1}}", err, sizeof(err),
	          "{s:{s:I}}", "o", "a", &n) == PETRI_ERR_PROTO);
	/* a wrong type, a missing key, a null for a string, no object */
	CHECK(read_one("{\"a\":1}", err, sizeof(err), "{s:s}", "a", &s) ==
	    PETRI_ERR_PROTO);
	CHECK(read_one("{}", err, sizeof(err), "{s:s}", "a", &s) ==
	    PETRI_ERR_PROTO);
	CHECK(read_one("{\"a\":null}", err, sizeof(err), "{s?s}", "a", &s) ==
	    PETRI_ERR_PROTO);
	CHECK(read_one("[]", err, sizeof(err), "{}") == PETRI_ERR_PROTO);
	CHECK(read_one("{}", err, sizeof(err), "{}") == 0);
	CHECK(read_one("nope", err, sizeof(err), "{}") == PETRI_ERR_PROTO);
}

int
main(void)
{
	UNIT_RUN(test_find);
	UNIT_RUN(test_check);
	UNIT_RUN(test_read);
	return UNIT_DONE();
}
