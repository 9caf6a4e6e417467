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

#endif /* PETRI_EGRESS_CONF_H */
