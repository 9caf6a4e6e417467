/*
 * egress_conf.c: the "egress" section of the appliance configuration.
 */
#include <stdio.h>
#include <string.h>

#include "egress_conf.h"
#include "host.h"
#include "jsonv.h"
#include "util.h"

#define EGRESS_ALLOW_HINT                                                      \
	"an exact IP address that may be allowed (not unspecified, "           \
	"multicast, broadcast or metadata; at most " JSONV_XSTR(               \
	    ADDR_ALLOWLIST_MAX) ")"

static const struct jsonv_field egress_allow_item = {
    .name = "addresses",
    .type = JSONV_STRING,
    .hint = EGRESS_ALLOW_HINT,
};

enum { EG_PORT, EG_RESOLVE, EG_ALLOW, EG_CA, EG_SYSRES, EG_SYSROOTS, EG_N };

static const struct jsonv_field egress_fields[EG_N] = {
    [EG_PORT] = {.name = "port", .type = JSONV_INT, .min = 1, .max = 65535},
    [EG_RESOLVE] = {.name = "resolve",
        .type = JSONV_OBJECT,
        .hint = "an object of name: address"},
    [EG_ALLOW] = {.name = "allow_addresses",
        .type = JSONV_ARRAY,
        .items = &egress_allow_item},
    [EG_CA] = {.name = "upstream_ca_file",
        .type = JSONV_STRING,
        .min = 1,
        .max =
            (long long)sizeof(((struct egress_conf *)0)->upstream_ca_file) - 1,
        .hint = "an absolute path"},
    [EG_SYSRES] = {.name = "system_resolver", .type = JSONV_BOOL},
    [EG_SYSROOTS] = {.name = "system_roots", .type = JSONV_BOOL},
};

static const struct jsonv_object egress_spec = {
    .what = "egress",
    .fields = egress_fields,
    .nfields = EG_N,
};

/* "resolve" (an object, jsonv) into the static map. */
static int
egress_resolve_parse(
    json_t *o, struct egress_conf *out, char *err, size_t errlen)
{
	const char *k;
	json_t *a;

	json_object_foreach (o, k, a) {
		if (!json_is_string(a) ||
		    proxy_resolve_map_add(&out->map, EGRESS_RESOLVE_MAX, k,
		        json_string_value(a)) != 0) {
			jsonv_err_set(err, errlen,
			    "egress.resolve.%.64s: a host name and an IP "
			    "address (at most %d names)",
			    k, EGRESS_RESOLVE_MAX);
			return PETRI_ERR_INVAL;
		}
	}
	return 0;
}

/* "allow_addresses" (an array of strings, jsonv) into the allowlist. */
static int
egress_allow_parse(json_t *a, struct egress_conf *out, char *err, size_t errlen)
{
	json_t *v;
	size_t i;

	json_array_foreach (a, i, v) {
		if (addr_allowlist_add(&out->allow, json_string_value(v)) !=
		    0) {
			jsonv_err_set(err, errlen,
			    "egress.allow_addresses[%zu]: must be %s", i,
			    EGRESS_ALLOW_HINT);
			return PETRI_ERR_INVAL;
		}
	}
	return 0;
}

int
egress_conf_parse(json_t *eg, struct egress_conf *out, char *err, size_t errlen)
{
	json_t *f[EG_N];

	memset(out, 0, sizeof(*out));
	out->port = EGRESS_DEFAULT_PORT;
	out->system_roots = 1;
	out->map.v = out->ents;
	addr_allowlist_init(&out->allow);
	if (eg == NULL)
		return 0;
	if (jsonv_object_read(eg, &egress_spec, "egress", f, err, errlen) != 0)
		return PETRI_ERR_INVAL;
	if (f[EG_PORT] != NULL)
		out->port = (int)json_integer_value(f[EG_PORT]);
	if ((f[EG_RESOLVE] != NULL &&
	        egress_resolve_parse(f[EG_RESOLVE], out, err, errlen) != 0) ||
	    (f[EG_ALLOW] != NULL &&
	        egress_allow_parse(f[EG_ALLOW], out, err, errlen) != 0))
		return PETRI_ERR_INVAL;
	if (f[EG_CA] != NULL) {
		if (json_string_value(f[EG_CA])[0] != '/') {
			jsonv_err_set(err, errlen,
			    "egress.upstream_ca_file: must be an absolute "
			    "path");
			return PETRI_ERR_INVAL;
		}
		(void)petri_strlcpy(out->upstream_ca_file,
		    json_string_value(f[EG_CA]), sizeof(out->upstream_ca_file));
	}
	if (f[EG_SYSRES] != NULL)
		out->map.no_system = !json_is_true(f[EG_SYSRES]);
	if (f[EG_SYSROOTS] != NULL)
		out->system_roots = json_is_true(f[EG_SYSROOTS]);
	if (!out->system_roots && out->upstream_ca_file[0] == '\0') {
		jsonv_err_set(err, errlen,
		    "egress.system_roots: false needs upstream_ca_file");
		return PETRI_ERR_INVAL;
	}
	return 0;
}

const char *const registry_names[REG_NAMES] = {"pypi", "npm", "go", "maven"};

/* "https://host[:port]/path" -> canonical "host:port"; 0 or -1. */
static int
registry_hostport(const char *url, char *out, size_t outlen)
{
	const char *p, *end, *colon;
	char hostbuf[POLICY_HOST_INPUT_MAX + 1];
	struct host h;
	long port;
	size_t n;

	if (strncmp(url, "https://", 8) == 0) {
		p = url + 8;
		port = 443;
	} else if (strncmp(url, "http://", 7) == 0) {
		p = url + 7;
		port = 80;
	} else
		return -1;
	end = p + strcspn(p, "/");
	if (strpbrk(url, "@?#\\ \t\r\n") != NULL || end == p)
		return -1;
	colon = memchr(p, ':', (size_t)(end - p));
	n = (size_t)((colon != NULL ? colon : end) - p);
	if (n == 0 || n >= sizeof(hostbuf) || *p == '[')
		return -1;
	memcpy(hostbuf, p, n);
	hostbuf[n] = '\0';
	if (colon != NULL) {
		char pb[8];
		size_t pl = (size_t)(end - colon - 1);
		long long v;

		if (pl == 0 || pl >= sizeof(pb))
			return -1;
		memcpy(pb, colon + 1, pl);
		pb[pl] = '\0';
		if (petri_strtonum(pb, 1, 65535, &v) != 0)
			return -1;
		port = (long)v;
	}
	if (host_canon(hostbuf, strlen(hostbuf), &h, NULL) != 0)
		return -1;
	if ((size_t)snprintf(out, outlen, "%s:%ld", h.name, port) >= outlen)
		return -1;
	return 0;
}

#define REGISTRY_URL_HINT                                                      \
	"an absolute http(s) URL without user, query or fragment (at "         \
	"most " JSONV_XSTR(REG_URL_MAX) " bytes)"
#define REGISTRY_FIELD(n)                                                      \
	{                                                                      \
		.name = n, .type = JSONV_STRING, .max = REG_URL_MAX,           \
		.hint = REGISTRY_URL_HINT                                      \
	}

/* In the order of registry_names[]. */
static const struct jsonv_field registry_fields[REG_NAMES] = {
    REGISTRY_FIELD("pypi"),
    REGISTRY_FIELD("npm"),
    REGISTRY_FIELD("go"),
    REGISTRY_FIELD("maven"),
};

static const struct jsonv_object registry_spec = {
    .what = "registries",
    .fields = registry_fields,
    .nfields = REG_NAMES,
};

int
registries_parse(json_t *regs, struct registries *out, char *err, size_t errlen)
{
	json_t *f[REG_NAMES];
	size_t i;

	memset(out, 0, sizeof(*out));
	out->map.v = out->regs;
	if (regs == NULL)
		return 0;
	if (jsonv_object_read(
	        regs, &registry_spec, "registries", f, err, errlen) != 0)
		return PETRI_ERR_INVAL;
	for (i = 0; i < REG_NAMES; i++) {
		if (f[i] == NULL)
			continue;
		if (registry_hostport(json_string_value(f[i]), out->hostport[i],
		        sizeof(out->hostport[i])) != 0) {
			jsonv_err_set(err, errlen, "registries.%s: must be %s",
			    registry_names[i], REGISTRY_URL_HINT);
			return PETRI_ERR_INVAL;
		}
		petri_strlcpy(
		    out->url[i], json_string_value(f[i]), sizeof(out->url[i]));
		out->hosts[i][0] = out->hostport[i];
		out->regs[out->map.n].name = registry_names[i];
		out->regs[out->map.n].hosts = out->hosts[i];
		out->regs[out->map.n].nhosts = 1;
		out->map.n++;
	}
	return 0;
}
