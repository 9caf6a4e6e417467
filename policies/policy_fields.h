/*
 * policy_fields.h: the request-matching fields a policy's allow rule and a
 * secret binding share: a list of HTTP methods and a list of path
 * prefixes.  Both readers take arrays jsonv has already checked (type,
 * count, string bounds) and check what the values mean.  Pure.
 */
#ifndef PETRI_POLICY_FIELDS_H
#define PETRI_POLICY_FIELDS_H

#include <stddef.h>

#include <jansson.h>

#include "petri_err.h"
#include "policy_bounds.h"

/*
 * 1 when s[len] is a method token as a rule names it: [A-Z][A-Z-]* of at
 * most POLICY_METHOD_MAX bytes.
 */
int policy_method_valid(const char *s, size_t len);

/*
 * Appends the methods of a (an array of at most POLICY_MAX_METHODS - *n
 * strings) to methods[*n..]: each a method token other than CONNECT,
 * none twice.  where names the array in messages ("allow[0].methods").
 * Returns 0, or PETRI_ERR_INVAL with err naming the item.
 */
int policy_methods_read(json_t *a, const char *where,
    char methods[][POLICY_METHOD_MAX + 1], size_t *n, char *err,
    size_t errlen) PETRI_WUR;

/*
 * Checks one path prefix s[len] (at most POLICY_PATH_MAX bytes): it starts
 * with '/', holds no query and is already in path_normalize() form.
 * where names it in messages ("paths[2]").  Returns 0, or PETRI_ERR_INVAL
 * with err saying why (for a prefix not in normal form, what to write).
 */
int policy_path_prefix_check(const char *s, size_t len, const char *where,
    char *err, size_t errlen) PETRI_WUR;

#endif /* PETRI_POLICY_FIELDS_H */
