/* jsonv.c: strict reading of JSON documents against a table of fields. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"

void
jsonv_err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void
jsonv_path_key(char *dst, size_t dlen, const char *parent, const char *key)
{
	if (dlen == 0)
		return;
	if (parent == NULL || parent[0] == '\0')
		(void)snprintf(dst, dlen, "%s", key);
	else
		(void)snprintf(dst, dlen, "%s.%s", parent, key);
}

void
jsonv_path_index(char *dst, size_t dlen, const char *parent, size_t i)
{
	if (dlen == 0)
		return;
	(void)snprintf(dst, dlen, "%s[%zu]", parent != NULL ? parent : "", i);
}

int
jsonv_doc_load(const char *doc, size_t len, size_t max, const char *what,
    json_t **out, char *err, size_t errlen)
{
	json_error_t jerr;
	const char *nul;

	*out = NULL;
	if (doc == NULL) {
		jsonv_err_set(err, errlen, "no %s", what);
		return PETRI_ERR_INVAL;
	}
	if (len > max) {
		jsonv_err_set(
		    err, errlen, "%s larger than %zu bytes", what, max);
		return PETRI_ERR_TOOBIG;
	}
	/* jansson passes over a NUL byte after a number: not JSON */
	if ((nul = memchr(doc, '\0', len)) != NULL) {
		jsonv_err_set(err, errlen, "JSON error at byte %zu: NUL byte",
		    (size_t)(nul - doc));
		return PETRI_ERR_INVAL;
	}
	if ((*out = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory) {
			jsonv_err_set(err, errlen, "out of memory");
			return PETRI_ERR_NOMEM;
		}
		jsonv_err_set(err, errlen,
		    "JSON error at line %d column %d: %s", jerr.line,
		    jerr.column, jerr.text);
		return PETRI_ERR_INVAL;
	}
	return 0;
}

/* "a string of 1 to 253 bytes", "an integer in 1..65535", ...: what f is. */
static void
jsonv_describe(const struct jsonv_field *f, char *buf, size_t len)
{
	const char *noun;

	if (f->hint != NULL) {
		(void)snprintf(buf, len, "%s", f->hint);
		return;
	}
	noun = f->items != NULL && f->items->name != NULL ? f->items->name
	                                                  : "items";
	switch (f->type) {
	case JSONV_STRING:
		if (f->max == 0 && f->min == 0)
			(void)snprintf(buf, len, "a string");
		else if (f->max == 0)
			(void)snprintf(buf, len,
			    "a string of at least %lld "
			    "bytes",
			    f->min);
		else if (f->min == 0)
			(void)snprintf(
			    buf, len, "a string of at most %lld bytes", f->max);
		else
			(void)snprintf(buf, len,
			    "a string of %lld to %lld bytes", f->min, f->max);
		return;
	case JSONV_INT:
		(void)snprintf(
		    buf, len, "an integer in %lld..%lld", f->min, f->max);
		return;
	case JSONV_NUMBER:
		(void)snprintf(buf, len, "a number");
		return;
	case JSONV_BOOL:
		(void)snprintf(buf, len, "true or false");
		return;
	case JSONV_OBJECT:
		(void)snprintf(buf, len, "an object");
		return;
	case JSONV_ARRAY:
		if (f->max == 0)
			(void)snprintf(buf, len, "%s",
			    f->min > 0 ? "a non-empty array" : "an array");
		else
			(void)snprintf(buf, len, "an array of %lld to %lld %s",
			    f->min, f->max, noun);
		return;
	case JSONV_ANY:
		break;
	}
	(void)snprintf(buf, len, "a value");
}

/* Sets "<path>: must be <what f is>" and returns rv. */
static int
jsonv_must(const struct jsonv_field *f, const char *path, int rv, char *err,
    size_t errlen)
{
	char what[160];

	jsonv_describe(f, what, sizeof(what));
	jsonv_err_set(err, errlen, "%s: must be %s", path, what);
	return rv;
}

/* Sets "<path>: required, <what f is>". */
static int
jsonv_missing(
    const struct jsonv_field *f, const char *path, char *err, size_t errlen)
{
	char what[160];

	jsonv_describe(f, what, sizeof(what));
	jsonv_err_set(err, errlen, "%s: required, %s", path, what);
	return PETRI_ERR_INVAL;
}

/* Checks each item of array a against f->items. */
static int
jsonv_items_check(json_t *a, const struct jsonv_field *f, const char *path,
    char *err, size_t errlen)
{
	char ipath[JSONV_PATH_MAX];
	json_t *v;
	size_t i;
	int r;

	if (f->items == NULL)
		return 0;
	json_array_foreach (a, i, v) {
		jsonv_path_index(ipath, sizeof(ipath), path, i);
		if ((r = jsonv_value_check(v, f->items, ipath, err, errlen)) !=
		    0)
			return r;
	}
	return 0;
}

/* Too many items or members: "<path>: more than N <noun>". */
static int
jsonv_count_check(size_t n, const struct jsonv_field *f, const char *path,
    char *err, size_t errlen)
{
	const char *noun;

	if ((long long)n < f->min)
		return jsonv_must(f, path, PETRI_ERR_INVAL, err, errlen);
	if (f->max == 0 || (long long)n <= f->max)
		return 0;
	if (f->type == JSONV_OBJECT)
		noun = "members";
	else
		noun = f->items != NULL && f->items->name != NULL
		    ? f->items->name
		    : "items";
	jsonv_err_set(err, errlen, "%s: more than %lld %s", path, f->max, noun);
	return PETRI_ERR_TOOBIG;
}

int
jsonv_value_check(json_t *v, const struct jsonv_field *f, const char *path,
    char *err, size_t errlen)
{
	json_int_t x;
	size_t n;
	int r;

	switch (f->type) {
	case JSONV_ANY:
		return 0;
	case JSONV_STRING:
		if (!json_is_string(v))
			break;
		n = json_string_length(v);
		if (memchr(json_string_value(v), '\0', n) != NULL ||
		    (long long)n < f->min)
			break;
		if (f->max > 0 && (long long)n > f->max)
			return jsonv_must(
			    f, path, PETRI_ERR_TOOBIG, err, errlen);
		return 0;
	case JSONV_INT:
		if (!json_is_integer(v))
			break;
		x = json_integer_value(v);
		if (x < f->min || x > f->max)
			break;
		return 0;
	case JSONV_NUMBER:
		if (!json_is_number(v))
			break;
		return 0;
	case JSONV_BOOL:
		if (!json_is_boolean(v))
			break;
		return 0;
	case JSONV_OBJECT:
		if (!json_is_object(v))
			break;
		return jsonv_count_check(
		    json_object_size(v), f, path, err, errlen);
	case JSONV_ARRAY:
		if (!json_is_array(v))
			break;
		if ((r = jsonv_count_check(
		         json_array_size(v), f, path, err, errlen)) != 0)
			return r;
		return jsonv_items_check(v, f, path, err, errlen);
	}
	return jsonv_must(f, path, PETRI_ERR_INVAL, err, errlen);
}

/* The index of key in spec, or spec->nfields. */
static size_t
jsonv_field_find(const struct jsonv_object *spec, const char *key)
{
	size_t i;

	for (i = 0; i < spec->nfields; i++)
		if (strcmp(spec->fields[i].name, key) == 0)
			break;
	return i;
}

/* A key as a message quotes it: printable ASCII, at most JSONV_KEY_SHOWN. */
static void
jsonv_key_shown(const char *key, char *buf, size_t len)
{
	size_t i;

	for (i = 0; key[i] != '\0' && i < JSONV_KEY_SHOWN && i + 1 < len; i++)
		buf[i] = key[i] >= 0x20 && key[i] < 0x7f && key[i] != '"' &&
		        key[i] != '\\'
		    ? key[i]
		    : '?';
	buf[i] = '\0';
}

/* " (one of a, b, c)" for a small table; "" for a large one. */
static void
jsonv_known_list(const struct jsonv_object *spec, char *buf, size_t len)
{
	size_t i, n = 0;
	int w;

	buf[0] = '\0';
	if (spec->nfields == 0 || spec->nfields > JSONV_KNOWN_LISTED)
		return;
	for (i = 0; i < spec->nfields; i++) {
		w = snprintf(buf + n, len - n, "%s%s",
		    i == 0 ? " (one of " : ", ", spec->fields[i].name);
		if (w < 0 || (size_t)w >= len - n - 1) {
			buf[0] = '\0';
			return;
		}
		n += (size_t)w;
	}
	buf[n++] = ')';
	buf[n] = '\0';
}

int
jsonv_object_read(json_t *o, const struct jsonv_object *spec, const char *path,
    json_t **vals, char *err, size_t errlen)
{
	char fpath[JSONV_PATH_MAX], shown[JSONV_KEY_SHOWN + 1], known[128];
	const char *self = path != NULL ? path : spec->what, *k;
	const struct jsonv_field *f;
	json_t *v;
	size_t i;
	int r;

	for (i = 0; i < spec->nfields; i++)
		vals[i] = NULL;
	if (!json_is_object(o)) {
		jsonv_err_set(err, errlen, "%s: must be %s", self,
		    path != NULL ? "an object" : "a JSON object");
		return PETRI_ERR_INVAL;
	}
	json_object_foreach (o, k, v) {
		if ((i = jsonv_field_find(spec, k)) == spec->nfields) {
			jsonv_key_shown(k, shown, sizeof(shown));
			jsonv_known_list(spec, known, sizeof(known));
			jsonv_err_set(err, errlen, "%s: unknown field \"%s\"%s",
			    self, shown, known);
			return PETRI_ERR_INVAL;
		}
		vals[i] = v;
	}
	for (i = 0; i < spec->nfields; i++) {
		f = &spec->fields[i];
		jsonv_path_key(fpath, sizeof(fpath), path, f->name);
		if (vals[i] == NULL) {
			if ((f->flags & JSONV_REQUIRED) == 0)
				continue;
			return jsonv_missing(f, fpath, err, errlen);
		}
		if ((r = jsonv_value_check(vals[i], f, fpath, err, errlen)) !=
		    0)
			return r;
	}
	return 0;
}

json_t *
jsonv_array_push_str(json_t *a, const char *s)
{
	if (a != NULL && json_array_append_new(a, json_string(s)) != 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

int
jsonv_canonical_dump(const json_t *v, char **out, size_t *lenp)
{
	const size_t flags = JSON_COMPACT | JSON_SORT_KEYS;
	char *s = NULL;
	size_t n;

	*out = NULL;
	*lenp = 0;
	if (v == NULL || (n = json_dumpb(v, NULL, 0, flags)) == 0 ||
	    (s = malloc(n + 1)) == NULL)
		return PETRI_ERR_NOMEM;
	if (json_dumpb(v, s, n, flags) != n) {
		free(s);
		return PETRI_ERR_NOMEM;
	}
	s[n] = '\0';
	*out = s;
	*lenp = n;
	return 0;
}
