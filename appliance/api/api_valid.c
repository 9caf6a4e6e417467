/* api_valid.c: strict validation helpers for request documents. */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "bounds.h"
#include "util.h"

int
api_valid_keys(
    json_t *obj, const char *const *allowed, char *msg, size_t msglen)
{
	const char *k;
	const char *const *a;
	json_t *v;

	json_object_foreach (obj, k, v) {
		for (a = allowed; *a != NULL; a++)
			if (strcmp(*a, k) == 0)
				break;
		if (*a == NULL) {
			snprintf(msg, msglen, "unknown field \"%.64s\"", k);
			return PETRI_ERR_INVAL;
		}
	}
	return 0;
}

static int
api_valid_key(const char *k, int env)
{
	size_t i, n = strlen(k);

	if (n == 0 || n > API_MAX_KEY_LEN)
		return 0;
	if (!((k[0] >= 'A' && k[0] <= 'Z') || (k[0] >= 'a' && k[0] <= 'z') ||
	        k[0] == '_'))
		return 0;
	for (i = 1; i < n; i++) {
		char c = k[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_')
			continue;
		if (!env && (c == '.' || c == '-' || c == '/'))
			continue;
		return 0;
	}
	return 1;
}

int
api_valid_strmap(json_t *m, size_t max, size_t vmax, int env, const char *field,
    char *msg, size_t msglen)
{
	const char *k;
	json_t *v;

	if (!json_is_object(m)) {
		snprintf(
		    msg, msglen, "%s: must be an object of strings", field);
		return PETRI_ERR_INVAL;
	}
	if (json_object_size(m) > max) {
		snprintf(msg, msglen, "%s: at most %zu entries", field, max);
		return PETRI_ERR_INVAL;
	}
	json_object_foreach (m, k, v) {
		if (!api_valid_key(k, env)) {
			snprintf(
			    msg, msglen, "%s: invalid key \"%.64s\"", field, k);
			return PETRI_ERR_INVAL;
		}
		if (!json_is_string(v) || json_string_length(v) > vmax ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			snprintf(msg, msglen,
			    "%s.%.64s: must be a string of at "
			    "most %zu bytes without NUL",
			    field, k, vmax);
			return PETRI_ERR_INVAL;
		}
	}
	return 0;
}

int
api_valid_label_filter(
    const char *s, char *k, size_t klen, char *v, size_t vlen)
{
	const char *colon = strchr(s, ':');
	size_t n;

	if (colon == NULL)
		return PETRI_ERR_INVAL;
	n = (size_t)(colon - s);
	if (n == 0 || n >= klen || strlen(colon + 1) >= vlen)
		return PETRI_ERR_INVAL;
	memcpy(k, s, n);
	k[n] = '\0';
	if (!api_valid_key(k, 0))
		return PETRI_ERR_INVAL;
	petri_strlcpy(v, colon + 1, vlen);
	return 0;
}
