/*
 * sbom.h: CycloneDX 1.6 documents from what a scan of a sandbox's installed
 * tree reported (docs/deps.md).
 *
 * The scan runs in the sandbox (it reads dist-info METADATA, node_modules
 * package.json, go.sum), so its report is hostile input: this module checks
 * every field, drops what it cannot vouch for, and writes the document
 * itself.  A report is a JSON array of at most SBOM_MAX_COMPONENTS objects
 *
 *   {"eco": "pypi" | "npm" | "golang" | "maven",
 *    "name": "requests", "version": "2.31.0",
 *    "license": "Apache-2.0"?,           licence text, expression or id
 *    "sha256": "<64 hex>"?,              a hash the metadata gives
 *    "sha512": "<128 hex>"?,             (or this one: npm's integrity)
 *    "deps": ["urllib3", ...]?}           names of its dependencies
 *
 * Unknown keys are ignored (the scanner is Petri's, but what it reads is
 * not).  Pure: no I/O.
 */
#ifndef PETRI_SBOM_H
#define PETRI_SBOM_H

#include <stddef.h>

#include <jansson.h>

#include "petri_err.h"

#define SBOM_MAX_COMPONENTS 5000
#define SBOM_NAME_MAX 214 /* npm's limit; longer names are dropped */
#define SBOM_VERSION_MAX 128
#define SBOM_LICENSE_MAX 128 /* a licence name kept; longer is cut */
#define SBOM_DEPS_MAX 256 /* dependency names of one component */

struct sbom_stats {
	size_t components; /* in the document */
	size_t dropped; /* report entries refused */
};

/*
 * Builds the document for report (may be NULL: no components).
 * subject names the workspace ("sandbox sb_..."); serial is a UUID text
 * (36 bytes) and timestamp RFC 3339.  *out (caller json_decref()s) and
 * *st are filled.  Returns 0, PETRI_ERR_INVAL (report not an array,
 * bad arguments) or PETRI_ERR_NOMEM.
 */
int sbom_build(json_t *report, const char *subject, const char *serial,
    const char *timestamp, json_t **out, struct sbom_stats *st) PETRI_WUR;

/*
 * Writes the package URL of (eco, name, version) into out (outlen bytes):
 * pypi names normalised (lower case, runs of "-_." as "-"), npm scopes as
 * "%40scope/name", Go module paths and Maven "group:artifact" split into
 * namespace and name; every segment percent-encoded.  Returns 0,
 * PETRI_ERR_INVAL or PETRI_ERR_TOOBIG.
 */
int sbom_purl(const char *eco, const char *name, const char *version, char *out,
    size_t outlen) PETRI_WUR;

/*
 * The SPDX id of a licence text when it is one (or a well-known alias:
 * "MIT License", "Apache Software License", ...), else NULL.  Pure.
 */
const char *sbom_spdx_id(const char *text);

#endif /* PETRI_SBOM_H */
