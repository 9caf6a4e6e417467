/* policy.c: policy documents: strict parsing, canonical form, evaluation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "addr.h"
#include "jsonv.h"
#include "path.h"
#include "policy.h"
#include "policy_fields.h"

/* Presets every appliance knows; they expand to what the operator set. */
static const char *const policy_builtin_registries[] = {
    "pypi",
    "npm",
    "go",
    "maven",
};

/*
 * The fields of a policy document; what each means is checked by its
 * parser below.  Item names are the plural nouns of "more than N ...".
 */
static const struct jsonv_field policy_method_item = {
    .name = "methods",
    .type = JSONV_STRING,
    .hint = "an upper-case HTTP method token",
};

static const struct jsonv_field policy_path_item = {
    .name = "paths",
    .type = JSONV_STRING,
    .max = POLICY_PATH_MAX,
};

enum { PR_HOST, PR_SCHEME, PR_PORT, PR_METHODS, PR_PATHS, PR_N };

static const struct jsonv_field policy_rule_fields[PR_N] = {
    [PR_HOST] = {.name = "host", .type = JSONV_STRING, .flags = JSONV_REQUIRED},
    [PR_SCHEME] = {.name = "scheme",
        .type = JSONV_STRING,
        .hint = "\"http\" or \"https\""},
    [PR_PORT] = {.name = "port", .type = JSONV_INT, .min = 1, .max = 65535},
    [PR_METHODS] = {.name = "methods",
        .type = JSONV_ARRAY,
        .min = 1,
        .max = POLICY_MAX_METHODS,
        .items = &policy_method_item,
        .hint = "a non-empty array (omit it to allow any method)"},
    [PR_PATHS] = {.name = "paths",
        .type = JSONV_ARRAY,
        .min = 1,
        .max = POLICY_MAX_PATHS,
        .items = &policy_path_item,
        .hint = "a non-empty array (omit it to allow any path)"},
};

static const struct jsonv_object policy_rule_spec = {
    .what = "rule",
    .fields = policy_rule_fields,
    .nfields = PR_N,
};

static const struct jsonv_field policy_rule_item = {
    .name = "rules",
    .type = JSONV_OBJECT,
};

static const struct jsonv_field policy_registry_item = {
    .name = "names",
    .type = JSONV_STRING,
    .hint = "a registry name",
};

enum { PL_BODY, PL_OUT, PL_REQUESTS, PL_RATE, PL_N };

static const struct jsonv_field policy_limit_fields[PL_N] = {
    [PL_BODY] = {.name = "max_body_bytes",
        .type = JSONV_INT,
        .max = (long long)POLICY_MAX_MAX_BODY_BYTES},
    [PL_OUT] = {.name = "max_bytes_out",
        .type = JSONV_INT,
        .max = (long long)POLICY_MAX_MAX_BYTES_OUT},
    [PL_REQUESTS] = {.name = "max_requests",
        .type = JSONV_INT,
        .max = (long long)POLICY_MAX_MAX_REQUESTS},
    [PL_RATE] = {.name = "rate_per_host",
        .type = JSONV_INT,
        .min = 1,
        .max = (long long)POLICY_MAX_RATE_PER_HOST},
};

static const struct jsonv_object policy_limits_spec = {
    .what = "limits",
    .fields = policy_limit_fields,
    .nfields = PL_N,
};

enum { PT_NAME, PT_DEFAULT, PT_ALLOW, PT_REGISTRIES, PT_LIMITS, PT_N };

static const struct jsonv_field policy_top_fields[PT_N] = {
    [PT_NAME] = {.name = "name",
        .type = JSONV_STRING,
        .flags = JSONV_REQUIRED,
        .hint = "1 to " JSONV_XSTR(
            POLICY_NAME_MAX) " of [A-Za-z0-9._-] "
                             "starting with a letter or digit"},
    [PT_DEFAULT] = {.name = "default",
        .type = JSONV_STRING,
        .hint = "the string \"deny\""},
    [PT_ALLOW] = {.name = "allow",
        .type = JSONV_ARRAY,
        .max = POLICY_MAX_RULES,
        .items = &policy_rule_item},
    [PT_REGISTRIES] = {.name = "registries",
        .type = JSONV_ARRAY,
        .max = POLICY_MAX_REGISTRIES,
        .items = &policy_registry_item,
        .hint = "an array of names"},
    [PT_LIMITS] = {.name = "limits", .type = JSONV_OBJECT},
};

static const struct jsonv_object policy_top_spec = {
    .what = "policy",
    .fields = policy_top_fields,
    .nfields = PT_N,
};

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

/* a: the rule's "paths", 1 to POLICY_MAX_PATHS bounded strings (jsonv). */
static int
policy_paths_parse(json_t *a, struct policy_rule *r, const char *where,
    char *err, size_t errlen)
{
	char item[JSONV_PATH_MAX];
	const char *s;
	size_t i, j;
	json_t *v;

	if ((r->paths = calloc(json_array_size(a), sizeof(char *))) == NULL)
		return PETRI_ERR_NOMEM;
	json_array_foreach (a, i, v) {
		s = json_string_value(v);
		jsonv_path_index(item, sizeof(item), where, i);
		if (policy_path_prefix_check(
		        s, json_string_length(v), item, err, errlen) != 0)
			return PETRI_ERR_INVAL;
		for (j = 0; j < r->npaths; j++)
			if (strcmp(r->paths[j], s) == 0) {
				jsonv_err_set(
				    err, errlen, "%s: duplicate path", item);
				return PETRI_ERR_INVAL;
			}
		if ((r->paths[r->npaths] = strdup(s)) == NULL)
			return PETRI_ERR_NOMEM;
		r->npaths++;
	}
	return 0;
}

/* "host" and "scheme" of a rule whose fields jsonv has read into f. */
static int
policy_rule_target_parse(json_t *const *f, struct policy_rule *r,
    const char *where, char *err, size_t errlen)
{
	const char *s = json_string_value(f[PR_HOST]), *why = NULL;
	int rv;

	if ((rv = host_pattern_parse(
	         s, json_string_length(f[PR_HOST]), &r->host, &why)) != 0) {
		jsonv_err_set(err, errlen, "%s.host: \"%.64s\": %s", where, s,
		    why != NULL ? why : petri_strerror(rv));
		return rv;
	}
	r->schemes = POLICY_SCHEME_HTTP | POLICY_SCHEME_HTTPS;
	if (f[PR_SCHEME] == NULL)
		return 0;
	s = json_string_value(f[PR_SCHEME]);
	if (strcmp(s, "http") == 0)
		r->schemes = POLICY_SCHEME_HTTP;
	else if (strcmp(s, "https") == 0)
		r->schemes = POLICY_SCHEME_HTTPS;
	else {
		jsonv_err_set(err, errlen,
		    "%s.scheme: must be \"http\" or \"https\"", where);
		return PETRI_ERR_INVAL;
	}
	return 0;
}

static int
policy_rule_parse(
    json_t *o, size_t idx, struct policy_rule *r, char *err, size_t errlen)
{
	char where[JSONV_PATH_MAX], field[JSONV_PATH_MAX];
	json_t *f[PR_N];
	int rv;

	jsonv_path_index(where, sizeof(where), "allow", idx);
	if ((rv = jsonv_object_read(
	         o, &policy_rule_spec, where, f, err, errlen)) != 0 ||
	    (rv = policy_rule_target_parse(f, r, where, err, errlen)) != 0)
		return rv;
	if (f[PR_PORT] != NULL)
		r->port = (uint16_t)json_integer_value(f[PR_PORT]);
	jsonv_path_key(field, sizeof(field), where, "methods");
	if (f[PR_METHODS] != NULL &&
	    (rv = policy_methods_read(f[PR_METHODS], field, r->methods,
	         &r->nmethods, err, errlen)) != 0)
		return rv;
	jsonv_path_key(field, sizeof(field), where, "paths");
	if (f[PR_PATHS] != NULL &&
	    (rv = policy_paths_parse(f[PR_PATHS], r, field, err, errlen)) != 0)
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
		jsonv_err_set(err, errlen, "registry %s: host too long", reg);
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
		jsonv_err_set(err, errlen, "registry %s: host \"%.64s\": %s",
		    reg, h, why != NULL ? why : petri_strerror(rv));
		return rv;
	}
	r->schemes = POLICY_SCHEME_HTTP | POLICY_SCHEME_HTTPS;
	memcpy(r->methods[0], "GET", 4);
	memcpy(r->methods[1], "HEAD", 5);
	r->nmethods = 2;
	(void)petri_strlcpy(r->registry, reg, sizeof(r->registry));
	return 0;
badport:
	jsonv_err_set(
	    err, errlen, "registry %s: host \"%.64s\": invalid port", reg, h);
	return PETRI_ERR_INVAL;
}

/* a: "registries", at most POLICY_MAX_REGISTRIES strings (jsonv). */
static int
policy_registries_parse(json_t *a, const struct policy_registry_map *regs,
    struct policy *p, size_t *nexp, char *err, size_t errlen)
{
	const struct policy_registry *reg;
	const char *s;
	size_t i, j;
	json_t *v;

	*nexp = 0;
	json_array_foreach (a, i, v) {
		s = json_string_value(v);
		if (!policy_registry_name_valid(s, json_string_length(v))) {
			jsonv_err_set(err, errlen,
			    "registries[%zu]: must be a registry name", i);
			return PETRI_ERR_INVAL;
		}
		if (!policy_registry_known(regs, s)) {
			jsonv_err_set(err, errlen,
			    "registries[%zu]: unknown registry \"%s\"", i, s);
			return PETRI_ERR_INVAL;
		}
		for (j = 0; j < p->nregistries; j++)
			if (strcmp(p->registries[j], s) == 0) {
				jsonv_err_set(err, errlen,
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
			jsonv_err_set(err, errlen,
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
	uint64_t *dst[PL_N];
	json_t *f[PL_N];
	size_t i;
	int rv;

	dst[PL_BODY] = &l->max_body_bytes;
	dst[PL_OUT] = &l->max_bytes_out;
	dst[PL_REQUESTS] = &l->max_requests;
	dst[PL_RATE] = &l->rate_per_host;
	if ((rv = jsonv_object_read(
	         o, &policy_limits_spec, "limits", f, err, errlen)) != 0)
		return rv;
	for (i = 0; i < PL_N; i++)
		if (f[i] != NULL)
			*dst[i] = (uint64_t)json_integer_value(f[i]);
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

/* "name" and "default" of a document whose fields jsonv has read into f. */
static int
policy_head_parse(json_t *const *f, struct policy *p, char *err, size_t errlen)
{
	const char *s = json_string_value(f[PT_NAME]);

	if (!policy_name_valid(s, json_string_length(f[PT_NAME]))) {
		jsonv_err_set(err, errlen, "name: must be %s",
		    policy_top_fields[PT_NAME].hint);
		return PETRI_ERR_INVAL;
	}
	(void)petri_strlcpy(p->name, s, sizeof(p->name));
	if (f[PT_DEFAULT] != NULL &&
	    strcmp(json_string_value(f[PT_DEFAULT]), "deny") != 0) {
		jsonv_err_set(
		    err, errlen, "default: only \"deny\" is accepted");
		return PETRI_ERR_INVAL;
	}
	return 0;
}

/* The allow rules, then the nexp rules the named registries expand to. */
static int
policy_rules_parse(json_t *allow, const struct policy_registry_map *regs,
    size_t nexp, struct policy *p, char *err, size_t errlen)
{
	const struct policy_registry *reg;
	size_t i, j, nallow = allow != NULL ? json_array_size(allow) : 0;
	int r;

	if (nexp > POLICY_MAX_RULES - nallow) {
		jsonv_err_set(err, errlen,
		    "more than %d rules once registries are expanded",
		    POLICY_MAX_RULES);
		return PETRI_ERR_TOOBIG;
	}
	if (nallow + nexp > 0 &&
	    (p->rules = calloc(nallow + nexp, sizeof(*p->rules))) == NULL)
		return PETRI_ERR_NOMEM;
	for (i = 0; i < nallow; i++) {
		p->nrules++;
		if ((r = policy_rule_parse(json_array_get(allow, i), i,
		         &p->rules[i], err, errlen)) != 0)
			return r;
	}
	p->nallow = nallow;
	for (i = 0; i < p->nregistries; i++) {
		if ((reg = policy_registry_find(regs, p->registries[i])) ==
		    NULL)
			continue;
		for (j = 0; j < reg->nhosts; j++) {
			if (reg->hosts[j] == NULL) {
				jsonv_err_set(err, errlen,
				    "registry %s: NULL host", reg->name);
				return PETRI_ERR_INVAL;
			}
			if ((r = policy_registry_rule(reg->name, reg->hosts[j],
			         &p->rules[p->nrules++], err, errlen)) != 0)
				return r;
		}
	}
	return 0;
}

int
policy_parse(const char *doc, size_t len,
    const struct policy_registry_map *regs, struct policy **out, char *err,
    size_t errlen)
{
	struct policy *p = NULL;
	json_t *root = NULL, *f[PT_N];
	size_t nexp = 0;
	int r;

	*out = NULL;
	jsonv_err_set(err, errlen, "%s", "");
	if ((r = jsonv_doc_load(doc, len, POLICY_MAX_DOC, "document", &root,
	         err, errlen)) != 0)
		return r;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		r = PETRI_ERR_NOMEM;
		goto out;
	}
	p->limits.max_body_bytes = POLICY_DEFAULT_MAX_BODY_BYTES;
	p->limits.max_bytes_out = POLICY_DEFAULT_MAX_BYTES_OUT;
	p->limits.max_requests = POLICY_DEFAULT_MAX_REQUESTS;
	p->limits.rate_per_host = POLICY_DEFAULT_RATE_PER_HOST;
	if ((r = jsonv_object_read(
	         root, &policy_top_spec, NULL, f, err, errlen)) != 0 ||
	    (r = policy_head_parse(f, p, err, errlen)) != 0)
		goto out;
	if (f[PT_REGISTRIES] != NULL &&
	    (r = policy_registries_parse(
	         f[PT_REGISTRIES], regs, p, &nexp, err, errlen)) != 0)
		goto out;
	if (f[PT_LIMITS] != NULL &&
	    (r = policy_limits_parse(f[PT_LIMITS], &p->limits, err, errlen)) !=
	        0)
		goto out;
	if ((r = policy_rules_parse(f[PT_ALLOW], regs, nexp, p, err, errlen)) !=
	    0)
		goto out;
	petri_sha256_hex(doc, len, p->hash);
	*out = p;
	p = NULL;
out:
	if (r == PETRI_ERR_NOMEM)
		jsonv_err_set(err, errlen, "out of memory");
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
			a = jsonv_array_push_str(a, r->methods[i]);
		bad |= json_object_set_new(o, "methods", a);
	}
	if (r->npaths > 0) {
		a = json_array();
		for (i = 0; i < r->npaths; i++)
			a = jsonv_array_push_str(a, r->paths[i]);
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
	size_t i;
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
		a = jsonv_array_push_str(a, p->registries[i]);
	bad |= json_object_set_new(root, "registries", a);
	a = NULL;
	bad |=
	    json_object_set_new(root, "limits", policy_limits_json(&p->limits));
	if (bad)
		goto out;
	r = jsonv_canonical_dump(root, out, lenp);
out:
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
