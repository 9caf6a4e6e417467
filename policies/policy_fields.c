/* policy_fields.c: method and path-prefix lists of rules and bindings. */
#include <string.h>

#include "jsonv.h"
#include "path.h"
#include "policy_fields.h"

int
policy_method_valid(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len == 0 || len > POLICY_METHOD_MAX || s[0] < 'A' ||
	    s[0] > 'Z')
		return 0;
	for (i = 1; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-'))
			return 0;
	return 1;
}

int
policy_methods_read(json_t *a, const char *where,
    char methods[][POLICY_METHOD_MAX + 1], size_t *n, char *err, size_t errlen)
{
	const char *s;
	size_t i, j, len;
	json_t *v;

	json_array_foreach (a, i, v) {
		s = json_string_value(v);
		len = json_string_length(v);
		if (!policy_method_valid(s, len)) {
			jsonv_err_set(err, errlen,
			    "%s[%zu]: must be an upper-case HTTP method token",
			    where, i);
			return PETRI_ERR_INVAL;
		}
		if (strcmp(s, "CONNECT") == 0) {
			jsonv_err_set(err, errlen,
			    "%s[%zu]: CONNECT is the proxy's own method and "
			    "cannot be allowed",
			    where, i);
			return PETRI_ERR_INVAL;
		}
		for (j = 0; j < *n; j++)
			if (strcmp(methods[j], s) == 0) {
				jsonv_err_set(err, errlen,
				    "%s[%zu]: duplicate method %s", where, i,
				    s);
				return PETRI_ERR_INVAL;
			}
		if (*n >= POLICY_MAX_METHODS) {
			jsonv_err_set(err, errlen, "%s: more than %d methods",
			    where, POLICY_MAX_METHODS);
			return PETRI_ERR_INVAL;
		}
		memcpy(methods[*n], s, len + 1);
		(*n)++;
	}
	return 0;
}

int
policy_path_prefix_check(
    const char *s, size_t len, const char *where, char *err, size_t errlen)
{
	char norm[POLICY_PATH_MAX + 1];
	const char *why = NULL;

	if (s == NULL || len > POLICY_PATH_MAX) {
		jsonv_err_set(err, errlen, "%s: a string of at most %d bytes",
		    where, POLICY_PATH_MAX);
		return PETRI_ERR_INVAL;
	}
	if (memchr(s, '?', len) != NULL) {
		jsonv_err_set(err, errlen,
		    "%s: a path prefix cannot hold a query ('?')", where);
		return PETRI_ERR_INVAL;
	}
	if (len == 0 || path_normalize(s, len, norm, sizeof(norm), &why) != 0) {
		jsonv_err_set(err, errlen, "%s: %s", where,
		    why != NULL ? why : "must start with '/'");
		return PETRI_ERR_INVAL;
	}
	if (strlen(norm) != len || memcmp(norm, s, len) != 0) {
		jsonv_err_set(err, errlen,
		    "%s: not in normal form; write \"%.200s\"", where, norm);
		return PETRI_ERR_INVAL;
	}
	return 0;
}
