/* preview_conf.c: the "preview" configuration section (preview_conf.h). */
#include <stdio.h>
#include <string.h>

#include "preview_conf.h"
#include "util.h"

static const char *const preview_conf_keys[] = {"listen", "domain", "scheme",
    "public_port", "ttl_seconds", "max_ttl_seconds", "report_interval_seconds",
    NULL};

/* Lower-case DNS labels separated by dots; no empty label, none over 63. */
static int
preview_domain_valid(const char *s)
{
	size_t i, label = 0, n = strlen(s);

	if (n == 0 || n > PREVIEW_DOMAIN_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        (c == '-' && label > 0)))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && s[n - 1] != '-';
}

static int
preview_conf_int(json_t *o, const char *key, int lo, int hi, int *out,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi) {
		snprintf(err, errlen,
		    "preview.%s: must be an integer in [%d, %d]", key, lo, hi);
		return PETRI_ERR_INVAL;
	}
	*out = (int)json_integer_value(v);
	return 0;
}

static int
preview_conf_listen(
    const char *s, struct preview_conf *out, char *err, size_t errlen)
{
	const char *colon = strrchr(s, ':');
	long long port;
	size_t hlen;

	if (colon == NULL || colon == s ||
	    petri_strtonum(colon + 1, 1, 65535, &port) != 0 ||
	    (hlen = (size_t)(colon - s)) >= sizeof(out->listen_host)) {
		snprintf(err, errlen, "preview.listen: expected ADDRESS:PORT");
		return PETRI_ERR_INVAL;
	}
	memcpy(out->listen_host, s, hlen);
	out->listen_host[hlen] = '\0';
	out->listen_port = (int)port;
	return 0;
}

int
preview_conf_parse(
    json_t *o, struct preview_conf *out, char *err, size_t errlen)
{
	const char *k, *s;
	json_t *v;
	size_t i;

	memset(out, 0, sizeof(*out));
	petri_strlcpy(out->listen_host, "127.0.0.1", sizeof(out->listen_host));
	out->listen_port = PREVIEW_DEFAULT_PORT;
	petri_strlcpy(out->domain, "localhost", sizeof(out->domain));
	out->ttl_seconds = PREVIEW_DEFAULT_TTL;
	out->max_ttl_seconds = PREVIEW_DEFAULT_MAX_TTL;
	out->report_seconds = PREVIEW_DEFAULT_REPORT;
	out->public_port = -1;
	if (o == NULL)
		goto defaults;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "preview: must be an object");
		return PETRI_ERR_INVAL;
	}
	json_object_foreach (o, k, v) {
		for (i = 0; preview_conf_keys[i] != NULL; i++)
			if (strcmp(k, preview_conf_keys[i]) == 0)
				break;
		if (preview_conf_keys[i] == NULL) {
			snprintf(
			    err, errlen, "preview: unknown key \"%.40s\"", k);
			return PETRI_ERR_INVAL;
		}
	}
	if ((v = json_object_get(o, "listen")) != NULL &&
	    (!json_is_string(v) ||
	        preview_conf_listen(json_string_value(v), out, err, errlen) !=
	            0)) {
		snprintf(err, errlen, "preview.listen: expected ADDRESS:PORT");
		return PETRI_ERR_INVAL;
	}
	if ((v = json_object_get(o, "domain")) != NULL) {
		if (!json_is_string(v) ||
		    !preview_domain_valid(json_string_value(v))) {
			snprintf(err, errlen,
			    "preview.domain: must be a lower-case DNS name");
			return PETRI_ERR_INVAL;
		}
		petri_strlcpy(
		    out->domain, json_string_value(v), sizeof(out->domain));
	}
	if ((v = json_object_get(o, "scheme")) != NULL) {
		s = json_string_value(v);
		if (s == NULL ||
		    (strcmp(s, "http") != 0 && strcmp(s, "https") != 0)) {
			snprintf(err, errlen,
			    "preview.scheme: must be \"http\" or \"https\"");
			return PETRI_ERR_INVAL;
		}
		petri_strlcpy(out->scheme, s, sizeof(out->scheme));
	}
	if (preview_conf_int(o, "public_port", 0, 65535, &out->public_port, err,
	        errlen) != 0 ||
	    preview_conf_int(o, "ttl_seconds", 1, 7 * 86400, &out->ttl_seconds,
	        err, errlen) != 0 ||
	    preview_conf_int(o, "max_ttl_seconds", 1, 30 * 86400,
	        &out->max_ttl_seconds, err, errlen) != 0 ||
	    preview_conf_int(o, "report_interval_seconds", 1, 3600,
	        &out->report_seconds, err, errlen) != 0)
		return PETRI_ERR_INVAL;
	if (out->ttl_seconds > out->max_ttl_seconds) {
		snprintf(err, errlen,
		    "preview.ttl_seconds: above preview.max_ttl_seconds");
		return PETRI_ERR_INVAL;
	}
defaults:
	/* localhost: plain HTTP on the listener's own port; a real domain:
	 * HTTPS on 443 behind the team's TLS terminator */
	if (out->scheme[0] == '\0')
		petri_strlcpy(out->scheme,
		    strcmp(out->domain, "localhost") == 0 ? "http" : "https",
		    sizeof(out->scheme));
	if (out->public_port < 0)
		out->public_port = strcmp(out->domain, "localhost") == 0
		    ? out->listen_port
		    : 0;
	return 0;
}
