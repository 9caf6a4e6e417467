/* policy.c: policy documents: strict parsing, canonical form, evaluation. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "addr.h"
#include "path.h"
#include "policy.h"

/* Presets every appliance knows; they expand to what the operator set. */
static const char *const policy_builtin_registries[] = {
    "pypi",
    "npm",
    "go",
    "maven",
};

static const char *const policy_top_keys[] = {
    "name",
    "default",
    "allow",
    "registries",
    "limits",
    NULL,
};

static const char *const policy_rule_keys[] = {
    "host",
    "scheme",
    "port",
    "methods",
    "paths",
    NULL,
};

static const char *const policy_limit_keys[] = {
    "max_body_bytes",
    "max_bytes_out",
    "max_requests",
    "rate_per_host",
    NULL,
};

static void policy_err(char *err, size_t errlen, const char *fmt, ...)
    PETRI_PRINTF(3, 4);

static void
policy_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Refuses keys of o that are not in keys[]; names the first one. */
static int
policy_keys_check(json_t *o, const char *const *keys, const char *where,
    char *err, size_t errlen)
{
	const char *k;
	void *it;
	size_t i;

	for (it = json_object_iter(o); it != NULL;
	     it = json_object_iter_next(o, it)) {
		k = json_object_iter_key(it);
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (keys[i] == NULL) {
			policy_err(err, errlen, "%s: unknown field \"%.64s\"",
			    where, k);
			return PETRI_ERR_INVAL;
		}
	}
	return 0;
}

/* 1 to POLICY_NAME_MAX of [A-Za-z0-9._-], starting with a letter or digit. */
static int
policy_name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > POLICY_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '-'))
			continue;
		return 0;
	}
	return 1;
}

/* 1 to POLICY_REGISTRY_NAME_MAX of [a-z0-9-]. */
static int
policy_registry_name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > POLICY_REGISTRY_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		        (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* An HTTP method as Petri accepts it in a rule: [A-Z][A-Z-]*. */
static int
policy_method_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > POLICY_METHOD_MAX || s[0] < 'A' || s[0] > 'Z')
		return 0;
	for (i = 1; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-'))
			return 0;
	return 1;
}

static const struct policy_registry *
policy_registry_find(const struct policy_registry_map *regs, const char *name)
{
	size_t i;

	if (regs == NULL)
		return NULL;
	for (i = 0; i < regs->n; i++)
		if (regs->v[i].name != NULL &&
		    strcmp(regs->v[i].name, name) == 0)
			return &regs->v[i];
	return NULL;
}

static int
policy_registry_known(const struct policy_registry_map *regs, const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(policy_builtin_registries) /
	         sizeof(policy_builtin_registries[0]);
	     i++)
		if (strcmp(policy_builtin_registries[i], name) == 0)
			return 1;
	return policy_registry_find(regs, name) != NULL;
}

/* A JSON integer in [min, max]. */
static int
policy_int_get(json_t *v, long long min, long long max, long long *out)
{
	long long x;

	if (!json_is_integer(v))
		return PETRI_ERR_INVAL;
	x = (long long)json_integer_value(v);
	if (x < min || x > max)
		return PETRI_ERR_INVAL;
	*out = x;
	return 0;
}

static int
policy_methods_parse(json_t *a, struct policy_rule *r, const char *where,
    char *err, size_t errlen)
{
	size_t i, j;

	if (!json_is_array(a) || json_array_size(a) == 0) {
		policy_err(err, errlen,
		    "%s.methods: must be a non-empty array (omit it to allow "
		    "any method)",
		    where);
		return PETRI_ERR_INVAL;
	}
	if (json_array_size(a) > POLICY_MAX_METHODS) {
		policy_err(err, errlen, "%s.methods: more than %d methods",
		    where, POLICY_MAX_METHODS);
		return PETRI_ERR_TOOBIG;
	}
	for (i = 0; i < json_array_size(a); i++) {
		json_t *v = json_array_get(a, i);
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);

		if (s == NULL || !policy_method_valid(s, len)) {
			policy_err(err, errlen,
			    "%s.methods[%zu]: must be an upper-case HTTP "
			    "method token",
			    where, i);
			return PETRI_ERR_INVAL;
		}
		if (strcmp(s, "CONNECT") == 0) {
			policy_err(err, errlen,
			    "%s.methods[%zu]: CONNECT is the proxy's own "
			    "method and cannot be allowed",
			    where, i);
			return PETRI_ERR_INVAL;
		}
		for (j = 0; j < r->nmethods; j++)
			if (strcmp(r->methods[j], s) == 0) {
				policy_err(err, errlen,
				    "%s.methods[%zu]: duplicate method %s",
				    where, i, s);
				return PETRI_ERR_INVAL;
			}
		memcpy(r->methods[r->nmethods], s, len + 1);
		r->nmethods++;
	}
	return 0;
}

static int
policy_paths_parse(json_t *a, struct policy_rule *r, const char *where,
    char *err, size_t errlen)
{
	char norm[POLICY_PATH_MAX + 1];
	size_t i, j;

	if (!json_is_array(a) || json_array_size(a) == 0) {
		policy_err(err, errlen,
		    "%s.paths: must be a non-empty array (omit it to allow any "
		    "path)",
		    where);
		return PETRI_ERR_INVAL;
	}
	if (json_array_size(a) > POLICY_MAX_PATHS) {
		policy_err(err, errlen, "%s.paths: more than %d paths", where,
		    POLICY_MAX_PATHS);
		return PETRI_ERR_TOOBIG;
	}
	if ((r->paths = calloc(json_array_size(a), sizeof(char *))) == NULL)
		return PETRI_ERR_NOMEM;
	for (i = 0; i < json_array_size(a); i++) {
		json_t *v = json_array_get(a, i);
		const char *s = json_string_value(v), *why = NULL;
		size_t len = json_string_length(v);

		if (s == NULL) {
			policy_err(err, errlen,
			    "%s.paths[%zu]: must be a string", where, i);
			return PETRI_ERR_INVAL;
		}
		if (len > POLICY_PATH_MAX) {
			policy_err(err, errlen,
			    "%s.paths[%zu]: longer than %d bytes", where, i,
			    POLICY_PATH_MAX);
			return PETRI_ERR_TOOBIG;
		}
		if (memchr(s, '?', len) != NULL) {
			policy_err(err, errlen,
			    "%s.paths[%zu]: a path prefix cannot hold a query "
			    "('?')",
			    where, i);
			return PETRI_ERR_INVAL;
		}
		if (len == 0 ||
		    path_normalize(s, len, norm, sizeof(norm), &why) != 0) {
			policy_err(err, errlen, "%s.paths[%zu]: %s", where, i,
			    why != NULL ? why : "must start with '/'");
			return PETRI_ERR_INVAL;
		}
		if (strlen(norm) != len || memcmp(norm, s, len) != 0) {
			policy_err(err, errlen,
			    "%s.paths[%zu]: not in normal form; write "
			    "\"%.200s\"",
			    where, i, norm);
			return PETRI_ERR_INVAL;
		}
		for (j = 0; j < r->npaths; j++)
			if (strcmp(r->paths[j], norm) == 0) {
				policy_err(err, errlen,
				    "%s.paths[%zu]: duplicate path", where, i);
				return PETRI_ERR_INVAL;
			}
		if ((r->paths[r->npaths] = strdup(norm)) == NULL)
			return PETRI_ERR_NOMEM;
		r->npaths++;
	}
	return 0;
}

static int
policy_rule_parse(
    json_t *o, size_t idx, struct policy_rule *r, char *err, size_t errlen)
{
	char where[32];
	const char *s, *why = NULL;
	json_t *v;
	long long port;
	int rv;

	(void)snprintf(where, sizeof(where), "allow[%zu]", idx);
	if (!json_is_object(o)) {
		policy_err(err, errlen, "%s: must be an object", where);
		return PETRI_ERR_INVAL;
	}
	if ((rv = policy_keys_check(o, policy_rule_keys, where, err, errlen)) !=
	    0)
		return rv;
	if ((s = json_string_value(v = json_object_get(o, "host"))) == NULL) {
		policy_err(err, errlen, "%s.host: required string", where);
		return PETRI_ERR_INVAL;
	}
	if ((rv = host_pattern_parse(
	         s, json_string_length(v), &r->host, &why)) != 0) {
		policy_err(err, errlen, "%s.host: \"%.64s\": %s", where, s,
		    why != NULL ? why : petri_strerror(rv));
		return rv;
	}
	r->schemes = POLICY_SCHEME_HTTP | POLICY_SCHEME_HTTPS;
	if ((v = json_object_get(o, "scheme")) != NULL) {
		s = json_string_value(v);
		if (s != NULL && strcmp(s, "http") == 0)
			r->schemes = POLICY_SCHEME_HTTP;
		else if (s != NULL && strcmp(s, "https") == 0)
			r->schemes = POLICY_SCHEME_HTTPS;
		else {
			policy_err(err, errlen,
			    "%s.scheme: must be \"http\" or \"https\"", where);
			return PETRI_ERR_INVAL;
		}
	}
	if ((v = json_object_get(o, "port")) != NULL) {
		if (policy_int_get(v, 1, 65535, &port) != 0) {
			policy_err(err, errlen,
			    "%s.port: must be an integer in 1..65535", where);
			return PETRI_ERR_INVAL;
		}
		r->port = (uint16_t)port;
	}
	if ((v = json_object_get(o, "methods")) != NULL &&
	    (rv = policy_methods_parse(v, r, where, err, errlen)) != 0)
		return rv;
	if ((v = json_object_get(o, "paths")) != NULL &&
	    (rv = policy_paths_parse(v, r, where, err, errlen)) != 0)
		return rv;
	return 0;
}

/* Splits a registry host "pattern[:port]" and makes its rule. */
static int
policy_registry_rule(const char *reg, const char *h, struct policy_rule *r,
    char *err, size_t errlen)
{
	const char *colon = NULL, *why = NULL, *end;
	size_t len, hlen, i;
	long long port;
	char num[8];
	int rv;

	len = strnlen(h, POLICY_HOST_INPUT_MAX + 8);
	if (len > POLICY_HOST_INPUT_MAX + 7) {
		policy_err(err, errlen, "registry %s: host too long", reg);
		return PETRI_ERR_TOOBIG;
	}
	hlen = len;
	if (h[0] == '[') {
		if ((end = memchr(h, ']', len)) != NULL && end[1] == ':')
			colon = end + 1;
	} else if ((colon = memchr(h, ':', len)) != NULL &&
	    memchr(colon + 1, ':', len - (size_t)(colon - h) - 1) != NULL)
		colon = NULL; /* bare IPv6 */
	if (colon != NULL) {
		hlen = (size_t)(colon - h);
		if (len - hlen - 1 >= sizeof(num))
			goto badport;
		for (i = 0; i < len - hlen - 1; i++)
			num[i] = colon[1 + i];
		num[i] = '\0';
		if (petri_strtonum(num, 1, 65535, &port) != 0)
			goto badport;
		r->port = (uint16_t)port;
	}
	if ((rv = host_pattern_parse(h, hlen, &r->host, &why)) != 0) {
		policy_err(err, errlen, "registry %s: host \"%.64s\": %s", reg,
		    h, why != NULL ? why : petri_strerror(rv));
		return rv;
	}
	r->schemes = POLICY_SCHEME_HTTP | POLICY_SCHEME_HTTPS;
	memcpy(r->methods[0], "GET", 4);
	memcpy(r->methods[1], "HEAD", 5);
	r->nmethods = 2;
	(void)petri_strlcpy(r->registry, reg, sizeof(r->registry));
	return 0;
badport:
	policy_err(
	    err, errlen, "registry %s: host \"%.64s\": invalid port", reg, h);
	return PETRI_ERR_INVAL;
}

static int
policy_registries_parse(json_t *a, const struct policy_registry_map *regs,
    struct policy *p, size_t *nexp, char *err, size_t errlen)
{
	const struct policy_registry *reg;
	size_t i, j;

	*nexp = 0;
	if (!json_is_array(a)) {
		policy_err(
		    err, errlen, "registries: must be an array of names");
		return PETRI_ERR_INVAL;
	}
	if (json_array_size(a) > POLICY_MAX_REGISTRIES) {
		policy_err(err, errlen, "registries: more than %d names",
		    POLICY_MAX_REGISTRIES);
		return PETRI_ERR_TOOBIG;
	}
	for (i = 0; i < json_array_size(a); i++) {
		json_t *v = json_array_get(a, i);
		const char *s = json_string_value(v);

		if (s == NULL ||
		    !policy_registry_name_valid(s, json_string_length(v))) {
			policy_err(err, errlen,
			    "registries[%zu]: must be a registry name", i);
			return PETRI_ERR_INVAL;
		}
		if (!policy_registry_known(regs, s)) {
			policy_err(err, errlen,
			    "registries[%zu]: unknown registry \"%s\"", i, s);
			return PETRI_ERR_INVAL;
		}
		for (j = 0; j < p->nregistries; j++)
			if (strcmp(p->registries[j], s) == 0) {
				policy_err(err, errlen,
				    "registries[%zu]: duplicate registry "
				    "\"%s\"",
				    i, s);
				return PETRI_ERR_INVAL;
			}
		(void)petri_strlcpy(
		    p->registries[p->nregistries], s, sizeof(p->registries[0]));
		p->nregistries++;
		if ((reg = policy_registry_find(regs, s)) == NULL)
			continue;
		if (reg->nhosts > POLICY_MAX_REGISTRY_HOSTS ||
		    (reg->nhosts > 0 && reg->hosts == NULL)) {
			policy_err(err, errlen,
			    "registry %s: more than %d hosts configured", s,
			    POLICY_MAX_REGISTRY_HOSTS);
			return PETRI_ERR_TOOBIG;
		}
		*nexp += reg->nhosts;
	}
	return 0;
}

static int
policy_limits_parse(
    json_t *o, struct policy_limits *l, char *err, size_t errlen)
{
	static const long long max[4] = {
	    (long long)POLICY_MAX_MAX_BODY_BYTES,
	    (long long)POLICY_MAX_MAX_BYTES_OUT,
	    (long long)POLICY_MAX_MAX_REQUESTS,
	    (long long)POLICY_MAX_RATE_PER_HOST,
	};
	uint64_t *dst[4];
	long long x;
	json_t *v;
	size_t i;
	int rv;

	dst[0] = &l->max_body_bytes;
	dst[1] = &l->max_bytes_out;
	dst[2] = &l->max_requests;
	dst[3] = &l->rate_per_host;
	if (!json_is_object(o)) {
		policy_err(err, errlen, "limits: must be an object");
		return PETRI_ERR_INVAL;
	}
	if ((rv = policy_keys_check(
	         o, policy_limit_keys, "limits", err, errlen)) != 0)
		return rv;
	for (i = 0; i < 4; i++) {
		if ((v = json_object_get(o, policy_limit_keys[i])) == NULL)
			continue;
		if (policy_int_get(v, i == 3 ? 1 : 0, max[i], &x) != 0) {
			policy_err(err, errlen,
			    "limits.%s: must be an integer in %d..%lld",
			    policy_limit_keys[i], i == 3 ? 1 : 0, max[i]);
			return PETRI_ERR_INVAL;
		}
		*dst[i] = (uint64_t)x;
	}
	return 0;
}

void
policy_free(struct policy *p)
{
	size_t i, j;

	if (p == NULL)
		return;
	for (i = 0; i < p->nrules && p->rules != NULL; i++) {
		if (p->rules[i].paths == NULL)
			continue;
		for (j = 0; j < p->rules[i].npaths; j++)
			free(p->rules[i].paths[j]);
		free(p->rules[i].paths);
	}
	free(p->rules);
	free(p);
}

int
policy_parse(const char *doc, size_t len,
    const struct policy_registry_map *regs, struct policy **out, char *err,
    size_t errlen)
{
	struct policy *p = NULL;
	json_error_t jerr;
	json_t *root = NULL, *v, *allow = NULL;
	const struct policy_registry *reg;
	const char *s;
	size_t i, j, nexp = 0, nallow = 0;
	int r;

	*out = NULL;
	policy_err(err, errlen, "%s", "");
	if (doc == NULL) {
		policy_err(err, errlen, "no document");
		return PETRI_ERR_INVAL;
	}
	if (len > POLICY_MAX_DOC) {
		policy_err(err, errlen, "document larger than %d bytes",
		    POLICY_MAX_DOC);
		return PETRI_ERR_TOOBIG;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return PETRI_ERR_NOMEM;
	p->limits.max_body_bytes = POLICY_DEFAULT_MAX_BODY_BYTES;
	p->limits.max_bytes_out = POLICY_DEFAULT_MAX_BYTES_OUT;
	p->limits.max_requests = POLICY_DEFAULT_MAX_REQUESTS;
	p->limits.rate_per_host = POLICY_DEFAULT_RATE_PER_HOST;
	r = PETRI_ERR_INVAL;
	if ((root = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		policy_err(err, errlen, "JSON error at line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		policy_err(err, errlen, "a policy must be a JSON object");
		goto out;
	}
	if ((r = policy_keys_check(
	         root, policy_top_keys, "policy", err, errlen)) != 0)
		goto out;
	r = PETRI_ERR_INVAL;
	if ((s = json_string_value(v = json_object_get(root, "name"))) ==
	        NULL ||
	    !policy_name_valid(s, json_string_length(v))) {
		policy_err(err, errlen,
		    "name: required, 1 to %d of [A-Za-z0-9._-] starting with a "
		    "letter or digit",
		    POLICY_NAME_MAX);
		goto out;
	}
	(void)petri_strlcpy(p->name, s, sizeof(p->name));
	if ((v = json_object_get(root, "default")) != NULL &&
	    ((s = json_string_value(v)) == NULL || strcmp(s, "deny") != 0)) {
		policy_err(err, errlen, "default: only \"deny\" is accepted");
		goto out;
	}
	if ((allow = json_object_get(root, "allow")) != NULL) {
		if (!json_is_array(allow)) {
			policy_err(err, errlen, "allow: must be an array");
			goto out;
		}
		nallow = json_array_size(allow);
	}
	if (nallow > POLICY_MAX_RULES) {
		policy_err(
		    err, errlen, "allow: more than %d rules", POLICY_MAX_RULES);
		r = PETRI_ERR_TOOBIG;
		goto out;
	}
	if ((v = json_object_get(root, "registries")) != NULL &&
	    (r = policy_registries_parse(v, regs, p, &nexp, err, errlen)) != 0)
		goto out;
	if (nexp > POLICY_MAX_RULES - nallow) {
		policy_err(err, errlen,
		    "more than %d rules once registries are expanded",
		    POLICY_MAX_RULES);
		r = PETRI_ERR_TOOBIG;
		goto out;
	}
	if ((v = json_object_get(root, "limits")) != NULL &&
	    (r = policy_limits_parse(v, &p->limits, err, errlen)) != 0)
		goto out;
	if (nallow + nexp > 0 &&
	    (p->rules = calloc(nallow + nexp, sizeof(*p->rules))) == NULL) {
		r = PETRI_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < nallow; i++) {
		p->nrules++;
		if ((r = policy_rule_parse(json_array_get(allow, i), i,
		         &p->rules[i], err, errlen)) != 0)
			goto out;
	}
	p->nallow = nallow;
	for (i = 0; i < p->nregistries; i++) {
		if ((reg = policy_registry_find(regs, p->registries[i])) ==
		    NULL)
			continue;
		for (j = 0; j < reg->nhosts; j++) {
			if (reg->hosts[j] == NULL) {
				policy_err(err, errlen,
				    "registry %s: NULL host", reg->name);
				r = PETRI_ERR_INVAL;
				goto out;
			}
			if ((r = policy_registry_rule(reg->name, reg->hosts[j],
			         &p->rules[p->nrules++], err, errlen)) != 0)
				goto out;
		}
	}
	petri_sha256_hex(doc, len, p->hash);
	*out = p;
	p = NULL;
	r = 0;
out:
	if (r == PETRI_ERR_NOMEM)
		policy_err(err, errlen, "out of memory");
	json_decref(root);
	policy_free(p);
	return r;
}

int
policy_default_new(struct policy **out)
{
	int r;

	r = policy_parse(POLICY_DENY_ALL_JSON, sizeof(POLICY_DENY_ALL_JSON) - 1,
	    NULL, out, NULL, 0);
	return r == 0 ? 0 : PETRI_ERR_NOMEM;
}

/* Appends a string to a JSON array; on failure drops the array. */
static json_t *
policy_json_push(json_t *a, const char *s)
{
	if (a != NULL && json_array_append_new(a, json_string(s)) != 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* Builds the canonical JSON of one allow rule; NULL on failure. */
static json_t *
policy_rule_json(const struct policy_rule *r)
{
	json_t *o, *a;
	size_t i;
	int bad = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	bad |= json_object_set_new(o, "host", json_string(r->host.text));
	if (r->schemes == POLICY_SCHEME_HTTP)
		bad |= json_object_set_new(o, "scheme", json_string("http"));
	else if (r->schemes == POLICY_SCHEME_HTTPS)
		bad |= json_object_set_new(o, "scheme", json_string("https"));
	if (r->port != 0)
		bad |= json_object_set_new(o, "port", json_integer(r->port));
	if (r->nmethods > 0) {
		a = json_array();
		for (i = 0; i < r->nmethods; i++)
			a = policy_json_push(a, r->methods[i]);
		bad |= json_object_set_new(o, "methods", a);
	}
	if (r->npaths > 0) {
		a = json_array();
		for (i = 0; i < r->npaths; i++)
			a = policy_json_push(a, r->paths[i]);
		bad |= json_object_set_new(o, "paths", a);
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The canonical "limits" object; NULL on failure. */
static json_t *
policy_limits_json(const struct policy_limits *lim)
{
	json_t *l;
	int bad = 0;

	if ((l = json_object()) == NULL)
		return NULL;
	bad |= json_object_set_new(
	    l, "max_body_bytes", json_integer((json_int_t)lim->max_body_bytes));
	bad |= json_object_set_new(
	    l, "max_bytes_out", json_integer((json_int_t)lim->max_bytes_out));
	bad |= json_object_set_new(
	    l, "max_requests", json_integer((json_int_t)lim->max_requests));
	bad |= json_object_set_new(
	    l, "rate_per_host", json_integer((json_int_t)lim->rate_per_host));
	if (bad) {
		json_decref(l);
		return NULL;
	}
	return l;
}

int
policy_canonical(const struct policy *p, char **out, size_t *lenp)
{
	json_t *root = NULL, *a = NULL;
	char *s = NULL;
	size_t i, n;
	int bad = 0, r = PETRI_ERR_NOMEM;

	*out = NULL;
	*lenp = 0;
	if (p == NULL || (p->nallow > 0 && p->rules == NULL))
		return PETRI_ERR_INVAL;
	if ((root = json_object()) == NULL || (a = json_array()) == NULL)
		goto out;
	for (i = 0; i < p->nallow; i++)
		bad |= json_array_append_new(a, policy_rule_json(&p->rules[i]));
	bad |= json_object_set_new(root, "allow", a);
	a = NULL;
	bad |= json_object_set_new(root, "name", json_string(p->name));
	bad |= json_object_set_new(root, "default", json_string("deny"));
	a = json_array();
	for (i = 0; i < p->nregistries; i++)
		a = policy_json_push(a, p->registries[i]);
	bad |= json_object_set_new(root, "registries", a);
	a = NULL;
	bad |=
	    json_object_set_new(root, "limits", policy_limits_json(&p->limits));
	if (bad)
		goto out;
	if ((n = json_dumpb(root, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS)) == 0)
		goto out;
	if ((s = malloc(n + 1)) == NULL)
		goto out;
	if (json_dumpb(root, s, n, JSON_COMPACT | JSON_SORT_KEYS) != n)
		goto out;
	s[n] = '\0';
	*out = s;
	*lenp = n;
	s = NULL;
	r = 0;
out:
	free(s);
	json_decref(a);
	json_decref(root);
	return r;
}

const char *
policy_reason_str(enum policy_reason r)
{
	switch (r) {
	case POLICY_ALLOWED:
		return "allowed";
	case POLICY_DENY_INVALID:
		return "invalid request";
	case POLICY_DENY_NAME:
		return "host always denied";
	case POLICY_DENY_HOST:
		return "no rule for host";
	case POLICY_DENY_SCHEME:
		return "scheme not allowed";
	case POLICY_DENY_PORT:
		return "port not allowed";
	case POLICY_DENY_METHOD:
		return "method not allowed";
	case POLICY_DENY_PATH:
		return "path not allowed";
	}
	return "invalid request";
}

static void
policy_decide(struct policy_decision *out, enum policy_reason reason, long rule)
{
	out->allow = reason == POLICY_ALLOWED;
	out->rule = out->allow ? rule : -1;
	out->reason = reason;
	out->why = policy_reason_str(reason);
}

/* How far rule r matches req: POLICY_DENY_HOST..PATH, or POLICY_ALLOWED. */
static enum policy_reason
policy_rule_eval(const struct policy_rule *r, const struct egress_request *req,
    unsigned int scheme, uint16_t defport)
{
	size_t i;

	if (!host_pattern_match(&r->host, req->host))
		return POLICY_DENY_HOST;
	if ((r->schemes & scheme) == 0)
		return POLICY_DENY_SCHEME;
	if (req->port != (r->port != 0 ? r->port : defport))
		return POLICY_DENY_PORT;
	if (req->method == NULL)
		return POLICY_ALLOWED;
	if (r->nmethods > 0) {
		for (i = 0; i < r->nmethods; i++)
			if (strcmp(r->methods[i], req->method) == 0)
				break;
		if (i == r->nmethods)
			return POLICY_DENY_METHOD;
	}
	if (r->npaths > 0) {
		if (req->path == NULL)
			return POLICY_DENY_PATH;
		for (i = 0; i < r->npaths; i++)
			if (path_prefix_match(r->paths[i], req->path))
				break;
		if (i == r->npaths)
			return POLICY_DENY_PATH;
	}
	return POLICY_ALLOWED;
}

int
policy_eval(const struct policy *p, const struct egress_request *req,
    struct policy_decision *out)
{
	enum policy_reason best = POLICY_DENY_HOST, c;
	unsigned int scheme;
	uint16_t defport;
	size_t i;

	if (out == NULL)
		return PETRI_ERR_INVAL;
	policy_decide(out, POLICY_DENY_INVALID, -1);
	if (p == NULL || req == NULL || req->host == NULL ||
	    req->scheme == NULL || req->port == 0 ||
	    (p->nrules > 0 && p->rules == NULL))
		return PETRI_ERR_INVAL;
	if (strcmp(req->scheme, "http") == 0)
		scheme = POLICY_SCHEME_HTTP;
	else if (strcmp(req->scheme, "https") == 0)
		scheme = POLICY_SCHEME_HTTPS;
	else
		return PETRI_ERR_INVAL;
	if (req->host->kind != HOST_KIND_NAME &&
	    req->host->kind != HOST_KIND_ADDR)
		return PETRI_ERR_INVAL;
	if (req->host->kind == HOST_KIND_NAME &&
	    addr_name_is_denied(req->host->name)) {
		policy_decide(out, POLICY_DENY_NAME, -1);
		return PETRI_ERR_PERM;
	}
	defport = host_scheme_port(req->scheme);
	for (i = 0; i < p->nrules; i++) {
		c = policy_rule_eval(&p->rules[i], req, scheme, defport);
		if (c == POLICY_ALLOWED) {
			policy_decide(out, POLICY_ALLOWED, (long)i);
			return 0;
		}
		if (c > best)
			best = c;
	}
	policy_decide(out, best, -1);
	return PETRI_ERR_PERM;
}
