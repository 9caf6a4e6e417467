/*
 * witness_conf.h: the "audit" part of the configuration that names the
 * witnesses the keeper asks for cosignatures:
 *
 *   "audit": {
 *     "witnesses": [{"url": "https://w1.example/", "vkey": "<name>+<id>+<b64>"}],
 *     "witness_quorum": 1,          (default: every witness)
 *     "witness_timeout_ms": 5000,   (one request; default 5000)
 *     "tsa": {"url": "https://tsa.example/", "ca_file": "/etc/petri/tsa-ca.pem",
 *             "interval_ms": 60000}  (RFC 3161 timestamps, tsa.h)
 *   }
 *
 * url is http or https, without query or fragment; add-checkpoint is
 * appended to it.  Plain http is allowed: a cosignature is verified with
 * the witness's key, so the transport adds no trust.
 */
#ifndef PETRI_AUDIT_WITNESS_CONF_H
#define PETRI_AUDIT_WITNESS_CONF_H

#include <stddef.h>

#include <jansson.h>

#include "checkpoint.h"
#include "petri_err.h"

#define AUDIT_WITNESS_MAX 16 /* witnesses (cosignature lines) per log */
#define AUDIT_WITNESS_URL_MAX 512
#define AUDIT_WITNESS_TIMEOUT_DEFAULT_MS 5000

struct audit_witness_cfg {
	char url[AUDIT_WITNESS_URL_MAX + 1];
	char vkey[AUDIT_VKEY_MAX + 1];
	struct audit_key key; /* cosigner key */
};

struct audit_tsa_cfg {
	char url[AUDIT_WITNESS_URL_MAX + 1]; /* "" when not configured */
	char ca_file[AUDIT_WITNESS_URL_MAX + 1];
	int interval_ms; /* at most one timestamp per this period */
	int timeout_ms;
};

struct audit_witness_conf {
	struct audit_tsa_cfg tsa;
	size_t n;
	struct audit_witness_cfg w[AUDIT_WITNESS_MAX];
	int quorum; /* 0 when there are no witnesses */
	int timeout_ms;
};

/*
 * Parses the "audit" object (NULL: no witnesses) strictly: unknown keys,
 * a bad URL or key, a key given twice, or a quorum outside [1, n] are
 * errors with err set.  Returns 0 or PETRI_ERR_INVAL.
 */
int audit_witness_conf_parse(const json_t *audit, struct audit_witness_conf *c,
    char *err, size_t errlen) PETRI_WUR;

#endif /* PETRI_AUDIT_WITNESS_CONF_H */
