/*
 * egress_conf.c: the "egress" section of the appliance configuration.
 */
#include <stdio.h>
#include <string.h>

#include "egress_conf.h"
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
