/* test_api_valid.c: strict request validation helpers. */
#include <string.h>

#include "api.h"
#include "unit.h"

static void
test_keys(void)
{
	static const char *const allowed[] = {"a", "b", NULL};
	char msg[128];
	json_t *j = json_pack("{s:i, s:i}", "a", 1, "b", 2);

	CHECK(api_valid_keys(j, allowed, msg, sizeof(msg)) == 0);
	json_object_set_new(j, "evil", json_true());
	CHECK(api_valid_keys(j, allowed, msg, sizeof(msg)) == PETRI_ERR_INVAL);
	CHECK(strstr(msg, "evil") != NULL);
	json_decref(j);
}

static void
test_strmap(void)
{
	char msg[128];
	json_t *j;

	j = json_pack("{s:s, s:s}", "FOO", "1", "_x2", "y");
	CHECK(api_valid_strmap(j, 10, 10, 1, "env", msg, sizeof(msg)) == 0);
	json_decref(j);
	j = json_pack("{s:s}", "A-B", "1");
	CHECK(api_valid_strmap(j, 10, 10, 1, "env", msg, sizeof(msg)) != 0);
	CHECK(api_valid_strmap(j, 10, 10, 0, "labels", msg, sizeof(msg)) == 0);
	json_decref(j);
	j = json_pack("{s:i}", "A", 1);
	CHECK(api_valid_strmap(j, 10, 10, 1, "env", msg, sizeof(msg)) != 0);
	json_decref(j);
	j = json_pack("{s:s}", "1A", "x");
	CHECK(api_valid_strmap(j, 10, 10, 1, "env", msg, sizeof(msg)) != 0);
	json_decref(j);
	j = json_pack("{s:s}", "A", "0123456789a");
	CHECK(api_valid_strmap(j, 10, 10, 1, "env", msg, sizeof(msg)) != 0);
	json_decref(j);
	j = json_object();
	json_object_set_new(j, "A", json_stringn("a\0b", 3));
	CHECK(api_valid_strmap(j, 10, 10, 1, "env", msg, sizeof(msg)) != 0);
	json_decref(j);
	j = json_pack("{s:s, s:s}", "A", "1", "B", "2");
	CHECK(api_valid_strmap(j, 1, 10, 1, "env", msg, sizeof(msg)) != 0);
	json_decref(j);
	j = json_array();
	CHECK(api_valid_strmap(j, 1, 10, 1, "env", msg, sizeof(msg)) != 0);
	json_decref(j);
}

static void
test_label_filter(void)
{
	char k[64], v[64];

	CHECK(api_valid_label_filter("team:blue", k, sizeof(k), v, sizeof(v)) ==
	    0);
	CHECK_STR(k, "team");
	CHECK_STR(v, "blue");
	CHECK(api_valid_label_filter("team", k, sizeof(k), v, sizeof(v)) != 0);
	CHECK(api_valid_label_filter(":x", k, sizeof(k), v, sizeof(v)) != 0);
	CHECK(api_valid_label_filter("a b:x", k, sizeof(k), v, sizeof(v)) != 0);
}

int
main(void)
{
	UNIT_RUN(test_keys);
	UNIT_RUN(test_strmap);
	UNIT_RUN(test_label_filter);
	return UNIT_DONE();
}
