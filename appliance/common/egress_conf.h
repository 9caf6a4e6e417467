/*
 * egress_conf.h: the "egress" section of the appliance configuration
 * (docs/configuration.md): where the proxy listens, its static name map,
 * the exact non-public addresses it may dial, extra trusted upstream roots.
 *
 *   {"egress": {"port": 3128,
 *               "resolve": {"api.payments.test": "127.0.0.1"},
 *               "allow_addresses": ["127.0.0.1"],
 *               "upstream_ca_file": "/etc/petri/upstream-ca.pem",
 *               "system_resolver": true,
 *               "system_roots": true}}
 *
 * Pure: no I/O (the CA file is read by the proxy when it starts).
 */
#ifndef PETRI_EGRESS_CONF_H
#define PETRI_EGRESS_CONF_H

#include <limits.h>
#include <stddef.h>

#include <jansson.h>

#include "petri_err.h"
#include "policy.h"
#include "proxy.h"

#define EGRESS_RESOLVE_MAX 256 /* names in the static map */
#define EGRESS_DEFAULT_PORT 3128

struct egress_conf {
	int port; /* on the sandbox network's gateway */
	struct proxy_resolve_map map; /* map.v points at ents */
	struct proxy_resolve_entry ents[EGRESS_RESOLVE_MAX];
	struct addr_allowlist allow;
	char upstream_ca_file[PATH_MAX]; /* "" when none */
	int system_roots; /* 0: trust upstream_ca_file only */
};

/*
 * Fills *out from the "egress" object (NULL: defaults).  Strict: unknown
 * keys, wrong types, malformed names and addresses, addresses that can
 * never be allowed are refused with a message in err.  Returns 0 or
 * PETRI_ERR_INVAL.
 */
int egress_conf_parse(json_t *egress, struct egress_conf *out, char *err,
    size_t errlen) PETRI_WUR;

/*
 * The "registries" section: where installs fetch packages from (empty by
 * default: nothing is fetched until an operator names its mirror).
 *
 *   {"registries": {"pypi": "https://pypi.mirror.example/simple/",
 *                   "npm": "https://npm.mirror.example/",
 *                   "go": "https://go.mirror.example/",
 *                   "maven": "https://maven.mirror.example/repo/"}}
 *
 * Each is an absolute http(s) URL (no userinfo, no query, no fragment, at
 * most REG_URL_MAX bytes).  A policy's "registries" preset of that name
 * allows GET and HEAD to exactly that host and port.
 */
#define REG_NAMES 4
#define REG_URL_MAX 512

struct registries {
	char url[REG_NAMES][REG_URL_MAX + 1]; /* "" when not configured */
	char hostport[REG_NAMES][POLICY_HOST_MAX + 8]; /* "host:port" */
	const char *hosts[REG_NAMES][1]; /* for the policy map */
	struct policy_registry regs[REG_NAMES];
	struct policy_registry_map map; /* the configured ones */
};

/* The preset names, indexed like registries.url: pypi, npm, go, maven. */
extern const char *const registry_names[REG_NAMES];

/*
 * Fills *out from the "registries" object (NULL: none).  Returns 0 or
 * PETRI_ERR_INVAL with a message in err.  out->map points into out.
 */
int registries_parse(
    json_t *regs, struct registries *out, char *err, size_t errlen) PETRI_WUR;

#endif /* PETRI_EGRESS_CONF_H */
