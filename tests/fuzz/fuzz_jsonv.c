/*
 * fuzz_jsonv.c: libFuzzer target for the strict JSON reader.  The input is
 * read as a document whose top-level object follows a table with a field
 * of every type, and whose "rules" items are read with the same table.
 * Aborts when an invariant breaks:
 *  - a refusal names the problem (a non-empty message) and leaves no value;
 *  - an accepted object holds only the table's keys, every required one,
 *    and each value has its declared type and bounds;
 *  - a message quotes an unknown key only as printable ASCII.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct jsonv_field fuzz_item = {
    .name = "names", .type = JSONV_STRING, .min = 1, .max = 16};
static const struct jsonv_field fuzz_rule = {
    .name = "rules", .type = JSONV_OBJECT, .max = 8};

static const struct jsonv_field fuzz_fields[] = {
    {.name = "name",
        .type = JSONV_STRING,
        .flags = JSONV_REQUIRED,
        .min = 1,
        .max = 32},
    {.name = "port", .type = JSONV_INT, .min = 1, .max = 65535},
    {.name = "neg", .type = JSONV_INT, .min = -5, .max = -1},
    {.name = "on", .type = JSONV_BOOL},
    {.name = "ratio", .type = JSONV_NUMBER},
    {.name = "names",
        .type = JSONV_ARRAY,
        .min = 1,
        .max = 4,
        .items = &fuzz_item},
    {.name = "rules", .type = JSONV_ARRAY, .max = 4, .items = &fuzz_rule},
    {.name = "meta", .type = JSONV_OBJECT, .max = 3},
    {.name = "raw", .type = JSONV_ANY},
    {.name = "note", .type = JSONV_STRING, .hint = "a note"},
};
#define FUZZ_NFIELDS (sizeof(fuzz_fields) / sizeof(fuzz_fields[0]))

static const struct jsonv_object fuzz_spec = {
    .what = "doc", .fields = fuzz_fields, .nfields = FUZZ_NFIELDS};

/* Re-checks an accepted value against its field, independently. */
static void
fuzz_value_ok(json_t *v, const struct jsonv_field *f)
{
	size_t n, i;

	switch (f->type) {
	case JSONV_STRING:
		n = json_string_length(v);
		if (!json_is_string(v) || (long long)n < f->min ||
		    (f->max > 0 && (long long)n > f->max) ||
		    strlen(json_string_value(v)) != n)
			abort();
		break;
	case JSONV_INT:
		if (!json_is_integer(v) || json_integer_value(v) < f->min ||
		    json_integer_value(v) > f->max)
			abort();
		break;
	case JSONV_NUMBER:
		if (!json_is_number(v))
			abort();
		break;
	case JSONV_BOOL:
		if (!json_is_boolean(v))
			abort();
		break;
	case JSONV_OBJECT:
		if (!json_is_object(v) ||
		    (f->max > 0 && (long long)json_object_size(v) > f->max))
			abort();
		break;
	case JSONV_ARRAY:
		n = json_array_size(v);
		if (!json_is_array(v) || (long long)n < f->min ||
		    (f->max > 0 && (long long)n > f->max))
			abort();
		for (i = 0; f->items != NULL && i < n; i++)
			fuzz_value_ok(json_array_get(v, i), f->items);
		break;
	case JSONV_ANY:
		break;
	}
}

/* Reads o at path; checks the verdict's invariants; 0 when accepted. */
static int
fuzz_read(json_t *o, const char *path)
{
	json_t *vals[FUZZ_NFIELDS];
	char err[256];
	const char *q;
	size_t i;
	int r;

	err[0] = '\0';
	r = jsonv_object_read(o, &fuzz_spec, path, vals, err, sizeof(err));
	if (r != 0) {
		if (err[0] == '\0' ||
		    (r != PETRI_ERR_INVAL && r != PETRI_ERR_TOOBIG))
			abort();
		if ((q = strstr(err, "unknown field \"")) != NULL)
			for (q += 15; *q != '\0'; q++)
				if ((unsigned char)*q < 0x20 ||
				    (unsigned char)*q > 0x7e)
					abort();
		return r;
	}
	if (!json_is_object(o))
		abort();
	for (i = 0; i < FUZZ_NFIELDS; i++) {
		if (vals[i] == NULL) {
			if (fuzz_fields[i].flags & JSONV_REQUIRED)
				abort();
			continue;
		}
		if (json_object_get(o, fuzz_fields[i].name) != vals[i])
			abort();
		fuzz_value_ok(vals[i], &fuzz_fields[i]);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[JSONV_PATH_MAX];
	json_t *doc = NULL, *rules, *v;
	char err[256];
	size_t i;
	int r;

	err[0] = '\0';
	if ((r = jsonv_doc_load((const char *)data, size, 65536, "doc", &doc,
	         err, sizeof(err))) != 0) {
		if (doc != NULL || err[0] == '\0')
			abort();
		return 0;
	}
	if (fuzz_read(doc, NULL) == 0 &&
	    (rules = json_object_get(doc, "rules")) != NULL)
		json_array_foreach (rules, i, v) {
			jsonv_path_index(path, sizeof(path), "rules", i);
			(void)fuzz_read(v, path);
		}
	json_decref(doc);
	return 0;
}
