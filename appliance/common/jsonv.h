/*
 * jsonv.h: strict reading of JSON documents against a table of fields.
 *
 * A table names every key an object may hold, the type its value must have,
 * whether it is required, and its bounds.  jsonv_object_read() refuses a key
 * the table does not name, a value of another type, a missing required
 * field and a value out of bounds, with a message that names the field's
 * path ("allow[2].host: must be a string of at most 253 bytes").  Duplicate
 * keys are refused when the document is loaded (jsonv_doc_load()).
 *
 * The checks are the generic ones; what a field means (a host pattern, a
 * path prefix) its reader checks after, with jsonv_err_set() for a message
 * in the same form.  Pure: no I/O, no globals.
 */
#ifndef PETRI_JSONV_H
#define PETRI_JSONV_H

#include <stddef.h>

#include <jansson.h>

#include "petri_err.h"

/* Longest field path a message names ("allow[12].methods[3]"). */
#define JSONV_PATH_MAX 128
/* Longest unknown key a message quotes. */
#define JSONV_KEY_SHOWN 64
/* An unknown-field message lists the known ones of tables this small. */
#define JSONV_KNOWN_LISTED 8

enum jsonv_type {
	JSONV_ANY = 0, /* any value: its reader checks it */
	JSONV_STRING, /* min..max bytes (max 0: no maximum); no NUL */
	JSONV_INT, /* an integer in min..max */
	JSONV_NUMBER, /* an integer or a real; its reader checks the range */
	JSONV_BOOL, /* true or false */
	JSONV_OBJECT, /* min..max members (max 0: no maximum) */
	JSONV_ARRAY, /* min..max items (max 0: no maximum), each as items */
};

/* Spells a numeric macro's value inside a hint: "at most " JSONV_XSTR(N). */
#define JSONV_STR_(x) #x
#define JSONV_XSTR(x) JSONV_STR_(x)

/* A field must be present. */
#define JSONV_REQUIRED 0x1u

struct jsonv_field {
	const char *name; /* the key; for an array's items, their plural noun */
	enum jsonv_type type;
	unsigned flags; /* JSONV_REQUIRED */
	long long min, max; /* see enum jsonv_type */
	const struct jsonv_field *items; /* JSONV_ARRAY: each item, or NULL */
	/*
	 * What the value must be, as a message says it ("an absolute path"):
	 * replaces the text made from type and bounds.  NULL: made.
	 */
	const char *hint;
};

/* An object's table. */
struct jsonv_object {
	const char *what; /* its name at the top level: "policy" */
	const struct jsonv_field *fields;
	size_t nfields;
};

/*
 * Formats a message into err[errlen] (NULL or 0: nothing written).  The
 * one error formatter of every strict reader.
 */
void jsonv_err_set(char *err, size_t errlen, const char *fmt, ...)
    PETRI_PRINTF(3, 4);

/*
 * Parses doc[len] (at most max bytes) as one JSON value, refusing
 * duplicate keys, anything after the value and a raw NUL byte anywhere
 * (jansson would pass over one after a number).  what names the document
 * in messages ("no binding", "binding larger than N bytes").  On success
 * *out holds a new reference (caller drops it with json_decref()).
 * Returns 0, PETRI_ERR_INVAL (NULL doc, malformed JSON: the message gives
 * line and column), PETRI_ERR_TOOBIG (len > max) or PETRI_ERR_NOMEM.
 */
int jsonv_doc_load(const char *doc, size_t len, size_t max, const char *what,
    json_t **out, char *err, size_t errlen) PETRI_WUR;

/*
 * Checks object o against spec.  path is the object's place in the
 * document ("allow[2]"), NULL for the document itself (its fields are then
 * named bare, the object itself as spec->what).  Every key must be one of
 * spec's fields; each present field must have its type and bounds; each
 * JSONV_REQUIRED field must be present.  vals[spec->nfields] receives each
 * field's value (borrowed from o) or NULL when absent.
 * Returns 0, PETRI_ERR_INVAL, or PETRI_ERR_TOOBIG (an array or object with
 * more items than its maximum, a string longer than its maximum), with
 * the first problem in err.
 */
int jsonv_object_read(json_t *o, const struct jsonv_object *spec,
    const char *path, json_t **vals, char *err, size_t errlen) PETRI_WUR;

/*
 * Checks one value against one field description, naming it path in a
 * message.  For an array also checks each item against f->items.
 * Returns 0, PETRI_ERR_INVAL or PETRI_ERR_TOOBIG.
 */
int jsonv_value_check(json_t *v, const struct jsonv_field *f, const char *path,
    char *err, size_t errlen) PETRI_WUR;

/*
 * Writes the path of a member: "parent.key", or "key" when parent is NULL
 * or empty.  Truncated to dlen - 1 bytes (a message's path only).
 */
void jsonv_path_key(
    char *dst, size_t dlen, const char *parent, const char *key);

/* Writes the path of an array item: "parent[i]". Truncated like the above. */
void jsonv_path_index(char *dst, size_t dlen, const char *parent, size_t i);

/*
 * The writing side of the same documents: appends a new string s to
 * array a and returns a; on failure (or a NULL a) drops a and returns
 * NULL, so a chain of pushes ends in NULL once any fails.
 */
json_t *jsonv_array_push_str(json_t *a, const char *s);

/*
 * Serialises v in canonical form (compact, keys sorted) into a new
 * NUL-terminated string: *out (caller frees with free()), *lenp bytes.
 * Returns 0 or PETRI_ERR_NOMEM; *out is NULL on failure.
 */
int jsonv_canonical_dump(const json_t *v, char **out, size_t *lenp) PETRI_WUR;

#endif /* PETRI_JSONV_H */
