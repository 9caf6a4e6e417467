/* test_jsonv.c: the strict JSON reader: types, bounds, keys, paths. */
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"
#include "unit.h"

static const struct jsonv_field test_method = {
    .name = "methods", .type = JSONV_STRING, .min = 1, .max = 8};

static const struct jsonv_field test_rule_fields[] = {
    {.name = "host",
        .type = JSONV_STRING,
        .flags = JSONV_REQUIRED,
        .min = 1,
        .max = 253},
    {.name = "port", .type = JSONV_INT, .min = 1, .max = 65535},
    {.name = "methods",
        .type = JSONV_ARRAY,
        .min = 1,
        .max = 3,
        .items = &test_method},
    {.name = "tls", .type = JSONV_BOOL},
    {.name = "weight", .type = JSONV_NUMBER},
    {.name = "meta", .type = JSONV_OBJECT, .max = 2},
    {.name = "note", .type = JSONV_STRING, .max = 4, .hint = "a short note"},
    {.name = "any", .type = JSONV_ANY},
};

static const struct jsonv_object test_rule = {
    .what = "rule",
    .fields = test_rule_fields,
    .nfields = sizeof(test_rule_fields) / sizeof(test_rule_fields[0]),
};

enum { R_HOST, R_PORT, R_METHODS, R_TLS, R_WEIGHT, R_META, R_NOTE, R_ANY };

/* Loads doc and reads it as a rule at path; returns the code, err set. */
static int
read_rule(const char *doc, const char *path, char *err, size_t errlen)
{
	json_t *o = NULL, *vals[8];
	int r;

	if ((r = jsonv_doc_load(
	         doc, strlen(doc), 4096, "rule", &o, err, errlen)) != 0)
		return r;
	r = jsonv_object_read(o, &test_rule, path, vals, err, errlen);
	json_decref(o);
	return r;
}

/* 1 when doc is refused with code want and a message holding msg. */
static int
refused(const char *doc, const char *path, int want, const char *msg)
{
	char err[256];
	int r;

	err[0] = '\0';
	r = read_rule(doc, path, err, sizeof(err));
	if (r != want || strstr(err, msg) == NULL) {
		fprintf(stderr, "  %s -> %d \"%s\", want %d \"%s\"\n", doc, r,
		    err, want, msg);
		return 0;
	}
	return 1;
}

static void
test_accepts(void)
{
	const char *doc = "{\"host\":\"a.example\",\"port\":443,"
	                  "\"methods\":[\"GET\",\"PUT\"],\"tls\":true,"
	                  "\"weight\":0.5,\"meta\":{\"a\":1},\"note\":\"hi\","
	                  "\"any\":[null]}";
	json_t *o = NULL, *vals[8];
	char err[256];

	CHECK_EQ(jsonv_doc_load(
	             doc, strlen(doc), 4096, "rule", &o, err, sizeof(err)),
	    0);
	CHECK_EQ(
	    jsonv_object_read(o, &test_rule, NULL, vals, err, sizeof(err)), 0);
	CHECK_STR(json_string_value(vals[R_HOST]), "a.example");
	CHECK_EQ(json_integer_value(vals[R_PORT]), 443);
	CHECK_EQ(json_array_size(vals[R_METHODS]), 2);
	CHECK(json_is_true(vals[R_TLS]));
	CHECK(json_is_real(vals[R_WEIGHT]));
	CHECK(json_is_object(vals[R_META]));
	CHECK_STR(json_string_value(vals[R_NOTE]), "hi");
	CHECK(json_is_array(vals[R_ANY]));
	json_decref(o);

	/* absent optional fields read as NULL */
	doc = "{\"host\":\"h\"}";
	CHECK_EQ(jsonv_doc_load(
	             doc, strlen(doc), 4096, "rule", &o, err, sizeof(err)),
	    0);
	CHECK_EQ(
	    jsonv_object_read(o, &test_rule, NULL, vals, err, sizeof(err)), 0);
	CHECK(vals[R_HOST] != NULL);
	CHECK(vals[R_PORT] == NULL && vals[R_METHODS] == NULL &&
	    vals[R_ANY] == NULL);
	json_decref(o);
	/* bounds are inclusive */
	CHECK(refused("{\"host\":\"h\",\"port\":65535,\"methods\":"
	              "[\"A\",\"B\",\"CDEFGHIJ\"]}",
	    NULL, 0, ""));
}

static void
test_document(void)
{
	char err[256];
	json_t *o = (json_t *)1;

	CHECK_EQ(jsonv_doc_load(NULL, 0, 10, "binding", &o, err, sizeof(err)),
	    PETRI_ERR_INVAL);
	CHECK(o == NULL);
	CHECK_STR(err, "no binding");
	CHECK_EQ(jsonv_doc_load("{}", 2, 1, "binding", &o, err, sizeof(err)),
	    PETRI_ERR_TOOBIG);
	CHECK_STR(err, "binding larger than 1 bytes");
	CHECK_EQ(jsonv_doc_load(
	             "{\"a\":1,\"a\":2}", 13, 100, "x", &o, err, sizeof(err)),
	    PETRI_ERR_INVAL);
	CHECK(o == NULL);
	CHECK(strstr(err, "JSON error at line 1") != NULL);
	CHECK(strstr(err, "duplicate") != NULL);
	CHECK_EQ(jsonv_doc_load("{} x", 4, 100, "x", &o, err, sizeof(err)),
	    PETRI_ERR_INVAL);
	CHECK_EQ(jsonv_doc_load(
	             "{\"a\":\"\\u0000\"}", 13, 100, "x", &o, err, sizeof(err)),
	    PETRI_ERR_INVAL);
	/* a raw NUL byte, which jansson would pass over after a number */
	CHECK_EQ(
	    jsonv_doc_load("{\"a\":6\0}", 8, 100, "x", &o, err, sizeof(err)),
	    PETRI_ERR_INVAL);
	CHECK(o == NULL);
	CHECK_STR(err, "JSON error at byte 6: NUL byte");
	/* a NULL or empty err is never written */
	CHECK_EQ(
	    jsonv_doc_load("[", 1, 100, "x", &o, NULL, 0), PETRI_ERR_INVAL);
	err[0] = 'z';
	CHECK_EQ(jsonv_doc_load("[", 1, 100, "x", &o, err, 0), PETRI_ERR_INVAL);
	CHECK(err[0] == 'z');
	CHECK_EQ(jsonv_doc_load("[1]", 3, 100, "x", &o, err, sizeof(err)), 0);
	CHECK(json_is_array(o));
	json_decref(o);
}

static void
test_refusals(void)
{
	CHECK(refused(
	    "[]", NULL, PETRI_ERR_INVAL, "rule: must be a JSON object"));
	CHECK(refused(
	    "[]", "rules[2]", PETRI_ERR_INVAL, "rules[2]: must be an object"));
	CHECK(refused("{\"host\":\"h\",\"hots\":1}", "rules[2]",
	    PETRI_ERR_INVAL, "rules[2]: unknown field \"hots\""));
	CHECK(refused("{\"host\":\"h\",\"hots\":1}", "r", PETRI_ERR_INVAL,
	    "r: unknown field \"hots\" (one of host, port, methods, tls, "
	    "weight, meta, note, any)"));
	CHECK(refused("{\"host\":\"h\",\"a\\nb\\\"c\":1}", NULL,
	    PETRI_ERR_INVAL, "rule: unknown field \"a?b?c\""));
	CHECK(refused("{}", "rules[2]", PETRI_ERR_INVAL,
	    "rules[2].host: required, a string of 1 to 253 bytes"));
	CHECK(refused("{}", NULL, PETRI_ERR_INVAL,
	    "host: required, a string of 1 to 253 bytes"));
	CHECK(refused("{\"host\":7}", "rules[2]", PETRI_ERR_INVAL,
	    "rules[2].host: must be a string of 1 to 253 bytes"));
	CHECK(refused("{\"host\":\"\"}", NULL, PETRI_ERR_INVAL,
	    "host: must be a string of 1 to 253 bytes"));
	CHECK(refused("{\"host\":\"h\",\"port\":0}", "r", PETRI_ERR_INVAL,
	    "r.port: must be an integer in 1..65535"));
	CHECK(refused("{\"host\":\"h\",\"port\":65536}", "r", PETRI_ERR_INVAL,
	    "r.port: must be an integer in 1..65535"));
	CHECK(refused("{\"host\":\"h\",\"port\":443.0}", "r", PETRI_ERR_INVAL,
	    "r.port: must be an integer"));
	CHECK(refused("{\"host\":\"h\",\"port\":\"443\"}", "r", PETRI_ERR_INVAL,
	    "r.port: must be an integer"));
	CHECK(refused("{\"host\":\"h\",\"tls\":1}", "r", PETRI_ERR_INVAL,
	    "r.tls: must be true or false"));
	CHECK(refused("{\"host\":\"h\",\"weight\":\"1\"}", "r", PETRI_ERR_INVAL,
	    "r.weight: must be a number"));
	CHECK(refused("{\"host\":\"h\",\"meta\":[]}", "r", PETRI_ERR_INVAL,
	    "r.meta: must be an object"));
	CHECK(refused("{\"host\":\"h\",\"meta\":{\"a\":1,\"b\":2,\"c\":3}}",
	    "r", PETRI_ERR_TOOBIG, "r.meta: more than 2 members"));
	CHECK(refused("{\"host\":\"h\",\"note\":\"12345\"}", "r",
	    PETRI_ERR_TOOBIG, "r.note: must be a short note"));
	CHECK(refused("{\"host\":\"h\",\"note\":1}", "r", PETRI_ERR_INVAL,
	    "r.note: must be a short note"));
}

static void
test_arrays(void)
{
	CHECK(refused("{\"host\":\"h\",\"methods\":\"GET\"}", "rules[2]",
	    PETRI_ERR_INVAL,
	    "rules[2].methods: must be an array of 1 to 3 methods"));
	CHECK(refused("{\"host\":\"h\",\"methods\":[]}", "r", PETRI_ERR_INVAL,
	    "r.methods: must be an array of 1 to 3 methods"));
	CHECK(refused("{\"host\":\"h\",\"methods\":[\"A\",\"B\",\"C\",\"D\"]}",
	    "r", PETRI_ERR_TOOBIG, "r.methods: more than 3 methods"));
	CHECK(refused("{\"host\":\"h\",\"methods\":[\"A\",7]}", "rules[2]",
	    PETRI_ERR_INVAL,
	    "rules[2].methods[1]: must be a string of 1 to 8 bytes"));
	CHECK(refused("{\"host\":\"h\",\"methods\":[\"ABCDEFGHI\"]}", "r",
	    PETRI_ERR_TOOBIG, "r.methods[0]: must be a string of 1 to 8"));
	CHECK(refused("{\"host\":\"h\",\"methods\":[\"\"]}", NULL,
	    PETRI_ERR_INVAL, "methods[0]: must be a string of 1 to 8"));
}

static void
test_paths(void)
{
	char p[JSONV_PATH_MAX], q[JSONV_PATH_MAX], small[8];
	size_t i;

	jsonv_path_key(p, sizeof(p), NULL, "host");
	CHECK_STR(p, "host");
	jsonv_path_key(p, sizeof(p), "", "host");
	CHECK_STR(p, "host");
	jsonv_path_key(p, sizeof(p), "inject", "basic");
	CHECK_STR(p, "inject.basic");
	jsonv_path_index(p, sizeof(p), "allow", 12);
	CHECK_STR(p, "allow[12]");
	jsonv_path_key(small, sizeof(small), "inject", "basic");
	CHECK_STR(small, "inject.");
	/* a deep path is cut, never overrun */
	p[0] = '\0';
	for (i = 0; i < 100; i++) {
		jsonv_path_index(q, sizeof(q), p, i);
		jsonv_path_key(p, sizeof(p), q, "k");
	}
	CHECK(strlen(p) == sizeof(p) - 1);
	CHECK(strncmp(p, "[0].k[1].k", 10) == 0);
}

static void
test_err_set(void)
{
	char err[8];

	jsonv_err_set(err, sizeof(err), "%s %d", "abcdef", 42);
	CHECK_STR(err, "abcdef ");
	jsonv_err_set(NULL, 10, "x");
	jsonv_err_set(err, 0, "y");
	CHECK_STR(err, "abcdef ");
}

static void
test_writing(void)
{
	json_t *o = json_object(), *a = json_array();
	char *s = (char *)1;
	size_t n = 7;

	a = jsonv_array_push_str(a, "x");
	a = jsonv_array_push_str(a, "y");
	CHECK(a != NULL && json_array_size(a) == 2);
	CHECK(json_object_set_new(o, "z", a) == 0);
	CHECK(json_object_set_new(o, "b", json_integer(1)) == 0);
	CHECK_EQ(jsonv_canonical_dump(o, &s, &n), 0);
	CHECK_STR(s, "{\"b\":1,\"z\":[\"x\",\"y\"]}");
	CHECK_EQ(n, strlen(s));
	free(s);
	CHECK(jsonv_array_push_str(NULL, "x") == NULL);
	CHECK_EQ(jsonv_canonical_dump(NULL, &s, &n), PETRI_ERR_NOMEM);
	CHECK(s == NULL && n == 0);
	json_decref(o);
}

int
main(void)
{
	UNIT_RUN(test_accepts);
	UNIT_RUN(test_document);
	UNIT_RUN(test_refusals);
	UNIT_RUN(test_arrays);
	UNIT_RUN(test_paths);
	UNIT_RUN(test_err_set);
	UNIT_RUN(test_writing);
	return UNIT_DONE();
}
