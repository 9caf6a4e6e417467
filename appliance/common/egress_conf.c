/*
 * egress_conf.c: the "egress" section of the appliance configuration.
 */
#include <stdio.h>
#include <string.h>

#include "egress_conf.h"
#include "host.h"
#include "util.h"

static const char *const egress_keys[] = {"port", "resolve", "allow_addresses",
    "upstream_ca_file", "system_resolver", "system_roots", NULL};

static int
egress_bool(json_t *o, const char *key, int *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "egress.%s: must be true or false", key);
		return PETRI_ERR_INVAL;
	}
	*out = json_is_true(v);
	return 0;
}

int
egress_conf_parse(json_t *eg, struct egress_conf *out, char *err, size_t errlen)
{
	const char *k;
	json_t *v;
	size_t i;
	int sysres = 1;

	memset(out, 0, sizeof(*out));
	out->port = EGRESS_DEFAULT_PORT;
	out->system_roots = 1;
	out->map.v = out->ents;
	addr_allowlist_init(&out->allow);
	if (eg == NULL)
		return 0;
	if (!json_is_object(eg)) {
		snprintf(err, errlen, "egress: must be an object");
		return PETRI_ERR_INVAL;
	}
	json_object_foreach (eg, k, v) {
		for (i = 0; egress_keys[i] != NULL; i++)
			if (strcmp(k, egress_keys[i]) == 0)
				break;
		if (egress_keys[i] == NULL) {
			snprintf(
			    err, errlen, "egress: unknown key \"%.64s\"", k);
			return PETRI_ERR_INVAL;
		}
	}
	if ((v = json_object_get(eg, "port")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 65535) {
			snprintf(err, errlen,
			    "egress.port: must be an integer in [1, 65535]");
			return PETRI_ERR_INVAL;
		}
		out->port = (int)json_integer_value(v);
	}
	if ((v = json_object_get(eg, "resolve")) != NULL) {
		json_t *a;

		if (!json_is_object(v)) {
			snprintf(err, errlen,
			    "egress.resolve: must be an object of name: "
			    "address");
			return PETRI_ERR_INVAL;
		}
		json_object_foreach (v, k, a) {
			if (!json_is_string(a) ||
			    proxy_resolve_map_add(&out->map, EGRESS_RESOLVE_MAX,
			        k, json_string_value(a)) != 0) {
				snprintf(err, errlen,
				    "egress.resolve.%.64s: a host name and an "
				    "IP address (at most %d names)",
				    k, EGRESS_RESOLVE_MAX);
				return PETRI_ERR_INVAL;
			}
		}
	}
	if ((v = json_object_get(eg, "allow_addresses")) != NULL) {
		json_t *a;

		if (!json_is_array(v)) {
			snprintf(err, errlen,
			    "egress.allow_addresses: must be an array");
			return PETRI_ERR_INVAL;
		}
		json_array_foreach (v, i, a) {
			if (!json_is_string(a) ||
			    addr_allowlist_add(
			        &out->allow, json_string_value(a)) != 0) {
				snprintf(err, errlen,
				    "egress.allow_addresses[%zu]: an exact IP "
				    "address that may be allowed (not "
				    "unspecified, multicast, broadcast or "
				    "metadata; at most %d)",
				    i, ADDR_ALLOWLIST_MAX);
				return PETRI_ERR_INVAL;
			}
		}
	}
	if ((v = json_object_get(eg, "upstream_ca_file")) != NULL) {
		if (!json_is_string(v) || json_string_value(v)[0] != '/' ||
		    petri_strlcpy(out->upstream_ca_file, json_string_value(v),
		        sizeof(out->upstream_ca_file)) >=
		        sizeof(out->upstream_ca_file)) {
			snprintf(err, errlen,
			    "egress.upstream_ca_file: must be an absolute "
			    "path");
			return PETRI_ERR_INVAL;
		}
	}
	if (egress_bool(eg, "system_resolver", &sysres, err, errlen) != 0 ||
	    egress_bool(eg, "system_roots", &out->system_roots, err, errlen) !=
	        0)
		return PETRI_ERR_INVAL;
	out->map.no_system = !sysres;
	if (!out->system_roots && out->upstream_ca_file[0] == '\0') {
		snprintf(err, errlen,
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

int
registries_parse(json_t *regs, struct registries *out, char *err, size_t errlen)
{
	const char *k;
	json_t *v;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->map.v = out->regs;
	if (regs == NULL)
		return 0;
	if (!json_is_object(regs)) {
		snprintf(err, errlen, "registries: must be an object");
		return PETRI_ERR_INVAL;
	}
	json_object_foreach (regs, k, v) {
		for (i = 0; i < REG_NAMES; i++)
			if (strcmp(k, registry_names[i]) == 0)
				break;
		if (i == REG_NAMES) {
			snprintf(err, errlen,
			    "registries: unknown key \"%.32s\" (pypi, npm, go, "
			    "maven)",
			    k);
			return PETRI_ERR_INVAL;
		}
		if (!json_is_string(v) || json_string_length(v) > REG_URL_MAX ||
		    registry_hostport(json_string_value(v), out->hostport[i],
		        sizeof(out->hostport[i])) != 0) {
			snprintf(err, errlen,
			    "registries.%s: an absolute http(s) URL without "
			    "user, query or fragment (at most %d bytes)",
			    k, REG_URL_MAX);
			return PETRI_ERR_INVAL;
		}
		petri_strlcpy(
		    out->url[i], json_string_value(v), sizeof(out->url[i]));
		out->hosts[i][0] = out->hostport[i];
		out->regs[out->map.n].name = registry_names[i];
		out->regs[out->map.n].hosts = out->hosts[i];
		out->regs[out->map.n].nhosts = 1;
		out->map.n++;
	}
	return 0;
}
