/* binding.c: secret bindings: strict parsing, canonical form, matching. */
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "binding.h"
#include "jsonv.h"
#include "path.h"
#include "policy_fields.h"
#include "util.h"

/*
 * The fields of a binding; what each means is checked by its parser
 * below.  Item names are the plural nouns of "more than N ...".
 */
static const struct jsonv_field binding_host_item = {
    .name = "hosts",
    .type = JSONV_STRING,
};

static const struct jsonv_field binding_method_item = {
    .name = "methods",
    .type = JSONV_STRING,
    .hint = "an upper-case HTTP method token",
};

static const struct jsonv_field binding_path_item = {
    .name = "paths",
    .type = JSONV_STRING,
    .max = POLICY_PATH_MAX,
};

enum { BT_HOSTS, BT_METHODS, BT_PATHS, BT_PORT, BT_INJECT, BT_N };

static const struct jsonv_field binding_top_fields[BT_N] = {
    [BT_HOSTS] = {.name = "hosts",
        .type = JSONV_ARRAY,
        .flags = JSONV_REQUIRED,
        .min = 1,
        .max = VAULT_MAX_HOSTS,
        .items = &binding_host_item},
    [BT_METHODS] = {.name = "methods",
        .type = JSONV_ARRAY,
        .min = 1,
        .max = POLICY_MAX_METHODS,
        .items = &binding_method_item,
        .hint = "a non-empty array (omit it to allow any method)"},
    [BT_PATHS] = {.name = "paths",
        .type = JSONV_ARRAY,
        .min = 1,
        .max = VAULT_MAX_PATHS,
        .items = &binding_path_item,
        .hint = "a non-empty array (omit it to allow any path)"},
    [BT_PORT] = {.name = "port", .type = JSONV_INT, .min = 1, .max = 65535},
    [BT_INJECT] = {.name = "inject",
        .type = JSONV_OBJECT,
        .flags = JSONV_REQUIRED},
};

static const struct jsonv_object binding_top_spec = {
    .what = "binding",
    .fields = binding_top_fields,
    .nfields = BT_N,
};

#define BINDING_FORMAT_HINT                                                    \
	"printable ASCII of at most " JSONV_XSTR(                              \
	    VAULT_FORMAT_MAX) " bytes "                                        \
	                      "holding \"{value}\" exactly once, no other "    \
	                      "brace, no control "                             \
	                      "character, no leading or trailing space"

/* inject {"header", "format"}; inject.placeholder adds "env". */
enum { BH_HEADER, BH_FORMAT, BH_ENV, BH_N };

static const struct jsonv_field binding_header_fields[BH_N] = {
    [BH_HEADER] = {.name = "header",
        .type = JSONV_STRING,
        .flags = JSONV_REQUIRED},
    [BH_FORMAT] = {.name = "format",
        .type = JSONV_STRING,
        .hint = BINDING_FORMAT_HINT},
    [BH_ENV] = {.name = "env",
        .type = JSONV_STRING,
        .flags = JSONV_REQUIRED,
        .hint = "[A-Z_][A-Z0-9_]* of at most " JSONV_XSTR(
            VAULT_ENV_MAX) " bytes, not a variable Petri sets"},
};

static const struct jsonv_object binding_header_spec = {
    .what = "inject",
    .fields = binding_header_fields,
    .nfields = BH_ENV,
};

static const struct jsonv_object binding_placeholder_spec = {
    .what = "inject.placeholder",
    .fields = binding_header_fields,
    .nfields = BH_N,
};

enum { BB_USERNAME, BB_N };

static const struct jsonv_field binding_basic_fields[BB_N] = {
    [BB_USERNAME] = {.name = "username",
        .type = JSONV_STRING,
        .flags = JSONV_REQUIRED,
        .hint = "printable ASCII of 1 to " JSONV_XSTR(
            VAULT_USERNAME_MAX) " bytes without ':'"},
};

static const struct jsonv_object binding_basic_spec = {
    .what = "inject.basic",
    .fields = binding_basic_fields,
    .nfields = BB_N,
};

/* Headers that frame or route a request: never injected. */
static const char *const binding_bad_headers[] = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
    NULL,
};

/* Variables Petri sets in every sandbox: never a placeholder's name. */
static const char *const binding_bad_envs[] = {
    "PATH",
    "HOME",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "PIP_CERT",
    "NODE_EXTRA_CA_CERTS",
    "CURL_CA_BUNDLE",
    "JAVA_TOOL_OPTIONS",
    NULL,
};

static int
binding_charset_valid(const char *s, size_t len, size_t max, const char *set)
{
	size_t i;

	if (len == 0 || len > max)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return 0;
	return 1;
}

int
vault_name_valid(const char *s)
{
	return s != NULL &&
	    binding_charset_valid(s, strnlen(s, VAULT_NAME_MAX + 1),
	        VAULT_NAME_MAX, "abcdefghijklmnopqrstuvwxyz0123456789_-");
}

int
vault_tenant_valid(const char *s)
{
	return s != NULL &&
	    binding_charset_valid(s, strnlen(s, VAULT_TENANT_MAX + 1),
	        VAULT_TENANT_MAX, "abcdefghijklmnopqrstuvwxyz0123456789_-");
}

/* Printable ASCII (SP to '~'), no leading or trailing space. */
static int
binding_printable(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == ' ' || s[len - 1] == ' ')
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

int
vault_value_valid(const char *value, size_t vlen)
{
	size_t i;

	if (value == NULL || vlen == 0 || vlen > VAULT_VALUE_MAX ||
	    value[0] == ' ' || value[vlen - 1] == ' ')
		return 0;
	for (i = 0; i < vlen; i++)
		if ((unsigned char)value[i] < 0x20 ||
		    (unsigned char)value[i] == 0x7f)
			return 0;
	return 1;
}

/* RFC 9110 tchar. */
static int
binding_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
binding_header_valid(const char *s, size_t len, const char **why)
{
	size_t i;

	*why = "must be an HTTP header name token of 1 to 64 bytes";
	if (len == 0 || len > VAULT_HEADER_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!binding_tchar(s[i]))
			return 0;
	*why = "a framing, hop-by-hop or proxy header cannot be injected";
	if (len >= 6 && strncasecmp(s, "proxy-", 6) == 0)
		return 0;
	for (i = 0; binding_bad_headers[i] != NULL; i++)
		if (strcasecmp(s, binding_bad_headers[i]) == 0)
			return 0;
	return 1;
}

static int
binding_format_valid(const char *s, size_t len)
{
	const char *p;

	if (len > VAULT_FORMAT_MAX || !binding_printable(s, len))
		return 0;
	if ((p = strstr(s, "{value}")) == NULL)
		return 0;
	/* no other brace: "{value}" once and nothing that looks like it */
	if (memchr(s, '{', (size_t)(p - s)) != NULL ||
	    memchr(s, '}', (size_t)(p - s)) != NULL ||
	    strchr(p + 7, '{') != NULL || strchr(p + 7, '}') != NULL)
		return 0;
	return 1;
}

static int
binding_env_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > VAULT_ENV_MAX || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		        (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	if (strncmp(s, "LD_", 3) == 0 || strncmp(s, "PETRI_", 6) == 0)
		return 0;
	for (i = 0; binding_bad_envs[i] != NULL; i++)
		if (strcmp(s, binding_bad_envs[i]) == 0)
			return 0;
	return 1;
}

/* a: "hosts", 1 to VAULT_MAX_HOSTS strings (jsonv). */
static int
binding_hosts_parse(
    json_t *a, struct vault_binding *b, char *err, size_t errlen)
{
	const char *why;
	size_t i, j;
	json_t *v;
	int r;

	json_array_foreach (a, i, v) {
		why = NULL;
		if ((r = host_pattern_parse(json_string_value(v),
		         json_string_length(v), &b->hosts[i], &why)) != 0) {
			jsonv_err_set(err, errlen, "hosts[%zu]: %s", i,
			    why != NULL ? why : petri_strerror(r));
			return r;
		}
		for (j = 0; j < i; j++)
			if (strcmp(b->hosts[j].text, b->hosts[i].text) == 0) {
				jsonv_err_set(err, errlen,
				    "hosts[%zu]: duplicate host", i);
				return PETRI_ERR_INVAL;
			}
		b->nhosts++;
	}
	return 0;
}

/* a: "paths", 1 to VAULT_MAX_PATHS bounded strings (jsonv). */
static int
binding_paths_parse(
    json_t *a, struct vault_binding *b, char *err, size_t errlen)
{
	char item[JSONV_PATH_MAX];
	const char *s;
	size_t i, j, len;
	json_t *v;

	json_array_foreach (a, i, v) {
		s = json_string_value(v);
		len = json_string_length(v);
		jsonv_path_index(item, sizeof(item), "paths", i);
		if (policy_path_prefix_check(s, len, item, err, errlen) != 0)
			return PETRI_ERR_INVAL;
		for (j = 0; j < b->npaths; j++)
			if (strcmp(b->paths[j], s) == 0) {
				jsonv_err_set(
				    err, errlen, "%s: duplicate path", item);
				return PETRI_ERR_INVAL;
			}
		memcpy(b->paths[b->npaths++], s, len + 1);
	}
	return 0;
}

/* "header" and "format" of a header or placeholder injection (jsonv). */
static int
binding_header_format_parse(json_t *const *f, const char *where,
    struct vault_binding *b, char *err, size_t errlen)
{
	const char *s = json_string_value(f[BH_HEADER]), *why;
	size_t len = json_string_length(f[BH_HEADER]);

	if (!binding_header_valid(s, len, &why)) {
		jsonv_err_set(err, errlen, "%s.header: %s", where, why);
		return PETRI_ERR_INVAL;
	}
	memcpy(b->header, s, len + 1);
	if (f[BH_FORMAT] == NULL) {
		memcpy(b->format, "{value}", 8);
		return 0;
	}
	s = json_string_value(f[BH_FORMAT]);
	len = json_string_length(f[BH_FORMAT]);
	if (!binding_format_valid(s, len)) {
		jsonv_err_set(err, errlen, "%s.format: must be %s", where,
		    BINDING_FORMAT_HINT);
		return PETRI_ERR_INVAL;
	}
	memcpy(b->format, s, len + 1);
	return 0;
}

/* inject.basic: {"username"}. */
static int
binding_basic_parse(
    json_t *o, struct vault_binding *b, char *err, size_t errlen)
{
	json_t *f[BB_N];
	const char *s;
	size_t len;
	int r;

	if ((r = jsonv_object_read(
	         o, &binding_basic_spec, "inject.basic", f, err, errlen)) != 0)
		return r;
	s = json_string_value(f[BB_USERNAME]);
	len = json_string_length(f[BB_USERNAME]);
	if (len > VAULT_USERNAME_MAX || !binding_printable(s, len) ||
	    memchr(s, ':', len) != NULL) {
		jsonv_err_set(err, errlen, "inject.basic.username: must be %s",
		    binding_basic_fields[BB_USERNAME].hint);
		return PETRI_ERR_INVAL;
	}
	memcpy(b->username, s, len + 1);
	memcpy(b->header, "Authorization", 14);
	b->inject = VAULT_INJECT_BASIC;
	return 0;
}

/* inject.placeholder: {"env", "header", "format"}. */
static int
binding_placeholder_parse(
    json_t *o, struct vault_binding *b, char *err, size_t errlen)
{
	json_t *f[BH_N];
	const char *s;
	size_t len;
	int r;

	if ((r = jsonv_object_read(o, &binding_placeholder_spec,
	         "inject.placeholder", f, err, errlen)) != 0)
		return r;
	s = json_string_value(f[BH_ENV]);
	len = json_string_length(f[BH_ENV]);
	if (!binding_env_valid(s, len)) {
		jsonv_err_set(err, errlen, "inject.placeholder.env: must be %s",
		    binding_header_fields[BH_ENV].hint);
		return PETRI_ERR_INVAL;
	}
	memcpy(b->env, s, len + 1);
	if ((r = binding_header_format_parse(
	         f, "inject.placeholder", b, err, errlen)) != 0)
		return r;
	b->inject = VAULT_INJECT_PLACEHOLDER;
	return 0;
}

/* o: "inject", an object (jsonv): basic, placeholder or header alone. */
static int
binding_inject_parse(
    json_t *o, struct vault_binding *b, char *err, size_t errlen)
{
	static const char *const alone[] = {"basic", "placeholder"};
	json_t *f[BH_N];
	size_t i;
	int r;

	for (i = 0; i < 2; i++) {
		if (json_object_get(o, alone[i]) == NULL)
			continue;
		if (json_object_size(o) != 1) {
			jsonv_err_set(err, errlen,
			    "inject: \"%s\" stands alone", alone[i]);
			return PETRI_ERR_INVAL;
		}
		return i == 0
		    ? binding_basic_parse(
		          json_object_get(o, "basic"), b, err, errlen)
		    : binding_placeholder_parse(
		          json_object_get(o, "placeholder"), b, err, errlen);
	}
	if ((r = jsonv_object_read(
	         o, &binding_header_spec, "inject", f, err, errlen)) != 0 ||
	    (r = binding_header_format_parse(f, "inject", b, err, errlen)) != 0)
		return r;
	b->inject = VAULT_INJECT_HEADER;
	return 0;
}

void
vault_binding_free(struct vault_binding *b)
{
	free(b);
}

int
vault_binding_parse(const char *doc, size_t len, struct vault_binding **out,
    char *err, size_t errlen)
{
	struct vault_binding *b = NULL;
	json_t *root = NULL, *f[BT_N];
	int r;

	*out = NULL;
	jsonv_err_set(err, errlen, "%s", "");
	if ((r = jsonv_doc_load(doc, len, VAULT_BINDING_MAX, "binding", &root,
	         err, errlen)) != 0)
		return r;
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		r = PETRI_ERR_NOMEM;
		goto out;
	}
	if ((r = jsonv_object_read(
	         root, &binding_top_spec, NULL, f, err, errlen)) != 0 ||
	    (r = binding_hosts_parse(f[BT_HOSTS], b, err, errlen)) != 0)
		goto out;
	if (f[BT_METHODS] != NULL &&
	    (r = policy_methods_read(f[BT_METHODS], "methods", b->methods,
	         &b->nmethods, err, errlen)) != 0)
		goto out;
	if (f[BT_PATHS] != NULL &&
	    (r = binding_paths_parse(f[BT_PATHS], b, err, errlen)) != 0)
		goto out;
	if (f[BT_PORT] != NULL)
		b->port = (uint16_t)json_integer_value(f[BT_PORT]);
	if ((r = binding_inject_parse(f[BT_INJECT], b, err, errlen)) != 0)
		goto out;
	*out = b;
	b = NULL;
out:
	if (r == PETRI_ERR_NOMEM)
		jsonv_err_set(err, errlen, "out of memory");
	json_decref(root);
	vault_binding_free(b);
	return r;
}

static json_t *
binding_inject_json(const struct vault_binding *b)
{
	json_t *o = NULL, *k = NULL;
	int bad = 0;

	switch (b->inject) {
	case VAULT_INJECT_HEADER:
		o = json_pack(
		    "{s:s, s:s}", "header", b->header, "format", b->format);
		break;
	case VAULT_INJECT_BASIC:
		if ((k = json_pack("{s:s}", "username", b->username)) == NULL)
			return NULL;
		if ((o = json_object()) != NULL)
			bad |= json_object_set_new(o, "basic", k);
		else
			json_decref(k);
		break;
	case VAULT_INJECT_PLACEHOLDER:
		if ((k = json_pack("{s:s, s:s, s:s}", "env", b->env, "header",
		         b->header, "format", b->format)) == NULL)
			return NULL;
		if ((o = json_object()) != NULL)
			bad |= json_object_set_new(o, "placeholder", k);
		else
			json_decref(k);
		break;
	default:
		return NULL;
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
vault_binding_canonical(const struct vault_binding *b, char **out, size_t *lenp)
{
	json_t *root = NULL, *a;
	size_t i;
	int bad = 0, r = PETRI_ERR_NOMEM;

	*out = NULL;
	*lenp = 0;
	if (b == NULL || b->nhosts == 0 || b->nhosts > VAULT_MAX_HOSTS ||
	    b->nmethods > POLICY_MAX_METHODS || b->npaths > VAULT_MAX_PATHS ||
	    b->inject < VAULT_INJECT_HEADER ||
	    b->inject > VAULT_INJECT_PLACEHOLDER)
		return PETRI_ERR_INVAL;
	if ((root = json_object()) == NULL)
		goto out;
	a = json_array();
	for (i = 0; i < b->nhosts; i++)
		a = jsonv_array_push_str(a, b->hosts[i].text);
	bad |= json_object_set_new(root, "hosts", a);
	if (b->nmethods > 0) {
		a = json_array();
		for (i = 0; i < b->nmethods; i++)
			a = jsonv_array_push_str(a, b->methods[i]);
		bad |= json_object_set_new(root, "methods", a);
	}
	if (b->npaths > 0) {
		a = json_array();
		for (i = 0; i < b->npaths; i++)
			a = jsonv_array_push_str(a, b->paths[i]);
		bad |= json_object_set_new(root, "paths", a);
	}
	if (b->port != 0)
		bad |= json_object_set_new(root, "port", json_integer(b->port));
	bad |= json_object_set_new(root, "inject", binding_inject_json(b));
	if (bad)
		goto out;
	r = jsonv_canonical_dump(root, out, lenp);
out:
	json_decref(root);
	return r;
}

int
vault_binding_match(const struct vault_binding *b,
    const struct vault_request *req, const char **why)
{
	char norm[POLICY_REQ_PATH_MAX + 1];
	struct host h;
	size_t i, len;

	if (why != NULL)
		*why = "invalid request";
	if (b == NULL || req == NULL || req->scheme == NULL ||
	    req->host == NULL || req->method == NULL || req->path == NULL)
		return PETRI_ERR_INVAL;
	if (strcmp(req->scheme, "https") != 0) {
		if (why != NULL)
			*why = "credentials go over https only";
		return PETRI_ERR_PERM;
	}
	/* the host must already be canonical: no second reading of it */
	len = strnlen(req->host, POLICY_HOST_INPUT_MAX + 1);
	if (len > POLICY_HOST_INPUT_MAX ||
	    host_canon(req->host, len, &h, NULL) != 0 ||
	    strcmp(h.name, req->host) != 0)
		return PETRI_ERR_INVAL;
	len = strnlen(req->method, POLICY_METHOD_MAX + 1);
	if (!policy_method_valid(req->method, len))
		return PETRI_ERR_INVAL;
	len = strnlen(req->path, POLICY_REQ_PATH_MAX + 1);
	if (len > POLICY_REQ_PATH_MAX || len == 0 ||
	    path_normalize(req->path, len, norm, sizeof(norm), NULL) != 0 ||
	    strcmp(norm, req->path) != 0)
		return PETRI_ERR_INVAL;
	for (i = 0; i < b->nhosts && i < VAULT_MAX_HOSTS; i++)
		if (host_pattern_match(&b->hosts[i], &h))
			break;
	if (i == b->nhosts || i == VAULT_MAX_HOSTS) {
		if (why != NULL)
			*why = "secret not bound to host";
		return PETRI_ERR_PERM;
	}
	if (req->port != (b->port != 0 ? b->port : 443)) {
		if (why != NULL)
			*why = "secret not bound to port";
		return PETRI_ERR_PERM;
	}
	if (b->nmethods > 0) {
		for (i = 0; i < b->nmethods && i < POLICY_MAX_METHODS; i++)
			if (strcmp(b->methods[i], req->method) == 0)
				break;
		if (i == b->nmethods || i == POLICY_MAX_METHODS) {
			if (why != NULL)
				*why = "secret not bound to method";
			return PETRI_ERR_PERM;
		}
	}
	if (b->npaths > 0) {
		for (i = 0; i < b->npaths && i < VAULT_MAX_PATHS; i++)
			if (path_prefix_match(b->paths[i], req->path))
				break;
		if (i == b->npaths || i == VAULT_MAX_PATHS) {
			if (why != NULL)
				*why = "secret not bound to path";
			return PETRI_ERR_PERM;
		}
	}
	if (why != NULL)
		*why = "bound";
	return 0;
}

/* Byte i of the virtual string "username:value". */
static unsigned char
binding_pair_byte(
    const struct vault_binding *b, size_t ulen, const char *value, size_t i)
{
	if (i < ulen)
		return (unsigned char)b->username[i];
	if (i == ulen)
		return ':';
	return (unsigned char)value[i - ulen - 1];
}

int
vault_binding_format(const struct vault_binding *b, const char *value,
    size_t vlen, char *out, size_t outsz, size_t *lenp)
{
	unsigned char chunk[48]; /* a multiple of 3: no padding inside */
	const char *p;
	size_t ulen, pre, post, need, total, i, j, n, o;

	*lenp = 0;
	if (outsz > 0)
		out[0] = '\0';
	if (b == NULL || !vault_value_valid(value, vlen))
		return PETRI_ERR_INVAL;
	if (b->inject == VAULT_INJECT_BASIC) {
		ulen = strnlen(b->username, sizeof(b->username));
		if (ulen == 0 || ulen > VAULT_USERNAME_MAX)
			return PETRI_ERR_INVAL;
		total = ulen + 1 + vlen;
		need = 6 +
		    sodium_base64_ENCODED_LEN(
		        total, sodium_base64_VARIANT_ORIGINAL);
		if (need > outsz)
			return PETRI_ERR_TOOBIG;
		/*
		 * Base64 of "username:value" in chunks, never assembling the
		 * pair anywhere but in out (no allocation, no sodium_init()).
		 */
		memcpy(out, "Basic ", 6);
		o = 6;
		for (i = 0; i < total; i += n) {
			n = total - i;
			if (n > sizeof(chunk))
				n = sizeof(chunk);
			for (j = 0; j < n; j++)
				chunk[j] =
				    binding_pair_byte(b, ulen, value, i + j);
			(void)sodium_bin2base64(out + o, outsz - o, chunk, n,
			    sodium_base64_VARIANT_ORIGINAL);
			o += strlen(out + o);
		}
		sodium_memzero(chunk, sizeof(chunk));
		*lenp = o;
		return 0;
	}
	if (b->inject != VAULT_INJECT_HEADER &&
	    b->inject != VAULT_INJECT_PLACEHOLDER)
		return PETRI_ERR_INVAL;
	if ((p = strstr(b->format, "{value}")) == NULL)
		return PETRI_ERR_INVAL;
	pre = (size_t)(p - b->format);
	post = strlen(p + 7);
	if (pre + vlen + post + 1 > outsz)
		return PETRI_ERR_TOOBIG;
	memcpy(out, b->format, pre);
	memcpy(out + pre, value, vlen);
	memcpy(out + pre + vlen, p + 7, post + 1);
	*lenp = pre + vlen + post;
	return 0;
}
