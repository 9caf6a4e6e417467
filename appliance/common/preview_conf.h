/*
 * preview_conf.h: the "preview" section of the appliance configuration
 * (docs/configuration.md): where the preview gateway listens and which
 * URLs it hands out.
 *
 *   {"preview": {"listen": "127.0.0.1:8081",
 *                "domain": "preview.example.org",
 *                "scheme": "https",
 *                "public_port": 443,
 *                "ttl_seconds": 3600,
 *                "max_ttl_seconds": 86400,
 *                "report_interval_seconds": 60}}
 *
 * Without a domain a preview is http://<token>.localhost:<port>/ (browsers
 * and curl resolve every *.localhost name to loopback).  Pure: no I/O.
 */
#ifndef PETRI_PREVIEW_CONF_H
#define PETRI_PREVIEW_CONF_H

#include <stddef.h>

#include <jansson.h>

#include "petri_err.h"

#define PREVIEW_TOKEN_BYTES 20 /* a URL's token: 160 random bits */
#define PREVIEW_TOKEN_HEX (2 * PREVIEW_TOKEN_BYTES)
#define PREVIEW_DOMAIN_MAX 200 /* bytes of preview.domain */
#define PREVIEW_DEFAULT_PORT 8081
#define PREVIEW_DEFAULT_TTL 3600
#define PREVIEW_DEFAULT_MAX_TTL 86400
#define PREVIEW_DEFAULT_REPORT 60

struct preview_conf {
	char listen_host[64]; /* numeric address */
	int listen_port;
	char domain[PREVIEW_DOMAIN_MAX + 1]; /* "localhost" by default */
	char scheme[8]; /* "http" or "https" */
	int public_port; /* in URLs; 0: none (the scheme's default) */
	int ttl_seconds; /* default lifetime of a preview */
	int max_ttl_seconds; /* longest lifetime one may ask for */
	int report_seconds; /* request summaries: one per preview per this */
};

/*
 * Fills *out from the "preview" object (NULL: defaults).  Strict: unknown
 * keys, wrong types, a domain that is not lower-case DNS labels, values out
 * of range are refused with a message in err.  Returns 0 or PETRI_ERR_INVAL.
 */
int preview_conf_parse(json_t *preview, struct preview_conf *out, char *err,
    size_t errlen) PETRI_WUR;

#endif /* PETRI_PREVIEW_CONF_H */
