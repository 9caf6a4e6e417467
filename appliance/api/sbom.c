/* sbom.c: CycloneDX 1.6 documents from a scan report (sbom.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sbom.h"
#include "util.h"

#define PURL_MAX 1024

static const char *const spdx_ids[] = {"0BSD", "AFL-3.0", "AGPL-3.0-only",
    "AGPL-3.0-or-later", "Apache-1.1", "Apache-2.0", "Artistic-2.0",
    "BlueOak-1.0.0", "BSD-1-Clause", "BSD-2-Clause", "BSD-3-Clause", "BSL-1.0",
    "CC-BY-4.0", "CC0-1.0", "CDDL-1.0", "EPL-1.0", "EPL-2.0", "EUPL-1.2",
    "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later",
    "HPND", "ISC", "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0-only",
    "LGPL-3.0-or-later", "MIT", "MIT-0", "MPL-2.0", "MS-PL", "NCSA", "OpenSSL",
    "PostgreSQL", "PSF-2.0", "Python-2.0", "Unicode-DFS-2016", "Unlicense",
    "UPL-1.0", "W3C", "WTFPL", "X11", "Zlib", "ZPL-2.1", NULL};

/* Names seen in package metadata for some of them (case-insensitive). */
static const struct {
	const char *alias, *id;
} spdx_aliases[] = {
    {"MIT License", "MIT"},
    {"The MIT License", "MIT"},
    {"The MIT License (MIT)", "MIT"},
    {"MIT license", "MIT"},
    {"Expat", "MIT"},
    {"Apache 2.0", "Apache-2.0"},
    {"Apache 2", "Apache-2.0"},
    {"Apache-2", "Apache-2.0"},
    {"Apache License 2.0", "Apache-2.0"},
    {"Apache License, Version 2.0", "Apache-2.0"},
    {"Apache Software License", "Apache-2.0"},
    {"Apache Software License 2.0", "Apache-2.0"},
    {"ISC License", "ISC"},
    {"ISC License (ISCL)", "ISC"},
    {"BSD 3-Clause", "BSD-3-Clause"},
    {"BSD-3", "BSD-3-Clause"},
    {"New BSD License", "BSD-3-Clause"},
    {"BSD 2-Clause", "BSD-2-Clause"},
    {"Simplified BSD License", "BSD-2-Clause"},
    {"Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0"},
    {"MPL 2.0", "MPL-2.0"},
    {"Python Software Foundation License", "PSF-2.0"},
    {"PSF", "PSF-2.0"},
    {"The Unlicense (Unlicense)", "Unlicense"},
    {"CC0 1.0 Universal (CC0 1.0) Public Domain Dedication", "CC0-1.0"},
    {"zlib/libpng License", "Zlib"},
    {"Boost Software License 1.0 (BSL-1.0)", "BSL-1.0"},
};

const char *
sbom_spdx_id(const char *text)
{
	size_t i;

	if (text == NULL)
		return NULL;
	for (i = 0; spdx_ids[i] != NULL; i++)
		if (strcasecmp(text, spdx_ids[i]) == 0)
			return spdx_ids[i];
	for (i = 0; i < sizeof(spdx_aliases) / sizeof(spdx_aliases[0]); i++)
		if (strcasecmp(text, spdx_aliases[i].alias) == 0)
			return spdx_aliases[i].id;
	return NULL;
}

static int
printable(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* Appends s percent-encoded (purl: keep [A-Za-z0-9.-_~]). */
static int
purl_enc(char *out, size_t outlen, size_t *pos, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || c == '.' || c == '-' || c == '_' ||
		    c == '~') {
			if (*pos + 1 >= outlen)
				return PETRI_ERR_TOOBIG;
			out[(*pos)++] = (char)c;
		} else {
			if (*pos + 3 >= outlen)
				return PETRI_ERR_TOOBIG;
			out[(*pos)++] = '%';
			out[(*pos)++] = hex[c >> 4];
			out[(*pos)++] = hex[c & 15];
		}
	}
	out[*pos] = '\0';
	return 0;
}

static int
purl_raw(char *out, size_t outlen, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if (*pos + n >= outlen)
		return PETRI_ERR_TOOBIG;
	memcpy(out + *pos, s, n + 1);
	*pos += n;
	return 0;
}

/* PEP 503 normalisation: lower case, runs of "-_." become "-". */
static void
pypi_norm(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	int run = 0;

	for (; *in != '\0' && o + 1 < outlen; in++) {
		if (*in == '-' || *in == '_' || *in == '.') {
			if (!run)
				out[o++] = '-';
			run = 1;
			continue;
		}
		run = 0;
		out[o++] = (char)tolower((unsigned char)*in);
	}
	out[o] = '\0';
}

int
sbom_purl(const char *eco, const char *name, const char *version, char *out,
    size_t outlen)
{
	char buf[SBOM_NAME_MAX + 1];
	const char *slash;
	size_t pos = 0;
	int r;

	if (eco == NULL || !printable(name, SBOM_NAME_MAX) ||
	    !printable(version, SBOM_VERSION_MAX) || outlen == 0)
		return PETRI_ERR_INVAL;
	if (strcmp(eco, "pypi") == 0) {
		pypi_norm(name, buf, sizeof(buf));
		if ((r = purl_raw(out, outlen, &pos, "pkg:pypi/")) != 0 ||
		    (r = purl_enc(out, outlen, &pos, buf, strlen(buf))) != 0)
			return r;
	} else if (strcmp(eco, "npm") == 0) {
		if ((r = purl_raw(out, outlen, &pos, "pkg:npm/")) != 0)
			return r;
		if (name[0] == '@') {
			if ((slash = strchr(name, '/')) == NULL ||
			    slash == name + 1 || slash[1] == '\0' ||
			    strchr(slash + 1, '/') != NULL)
				return PETRI_ERR_INVAL;
			if ((r = purl_enc(out, outlen, &pos, name,
			         (size_t)(slash - name))) != 0 ||
			    (r = purl_raw(out, outlen, &pos, "/")) != 0 ||
			    (r = purl_enc(out, outlen, &pos, slash + 1,
			         strlen(slash + 1))) != 0)
				return r;
		} else if (strchr(name, '/') != NULL)
			return PETRI_ERR_INVAL;
		else if ((r = purl_enc(
		              out, outlen, &pos, name, strlen(name))) != 0)
			return r;
	} else if (strcmp(eco, "golang") == 0) {
		const char *p = name, *q;

		if ((r = purl_raw(out, outlen, &pos, "pkg:golang/")) != 0)
			return r;
		if (name[0] == '/' || strstr(name, "//") != NULL ||
		    name[strlen(name) - 1] == '/')
			return PETRI_ERR_INVAL;
		for (;;) {
			q = strchr(p, '/');
			if ((size_t)((q != NULL ? q : p + strlen(p)) - p) ==
			        2 &&
			    p[0] == '.' && p[1] == '.')
				return PETRI_ERR_INVAL;
			if ((r = purl_enc(out, outlen, &pos, p,
			         q != NULL ? (size_t)(q - p) : strlen(p))) != 0)
				return r;
			if (q == NULL)
				break;
			if ((r = purl_raw(out, outlen, &pos, "/")) != 0)
				return r;
			p = q + 1;
		}
	} else if (strcmp(eco, "maven") == 0) {
		const char *c = strchr(name, ':');

		if (c == NULL || c == name || c[1] == '\0' ||
		    strchr(c + 1, ':') != NULL)
			return PETRI_ERR_INVAL;
		if ((r = purl_raw(out, outlen, &pos, "pkg:maven/")) != 0 ||
		    (r = purl_enc(
		         out, outlen, &pos, name, (size_t)(c - name))) != 0 ||
		    (r = purl_raw(out, outlen, &pos, "/")) != 0 ||
		    (r = purl_enc(out, outlen, &pos, c + 1, strlen(c + 1))) !=
		        0)
			return r;
	} else
		return PETRI_ERR_INVAL;
	if ((r = purl_raw(out, outlen, &pos, "@")) != 0)
		return r;
	return purl_enc(out, outlen, &pos, version, strlen(version));
}

/* A licence entry for text, or NULL to leave it out. */
static json_t *
sbom_license(const char *text)
{
	char name[SBOM_LICENSE_MAX + 1];
	const char *id;
	size_t n, i;

	if (text == NULL) /* jansson strings are valid UTF-8 */
		return NULL;
	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	/* the first line only: some metadata holds the whole licence */
	n = strcspn(text, "\r\n");
	if (n == 0)
		return NULL;
	if (n > SBOM_LICENSE_MAX) {
		/* cut before a whole UTF-8 sequence, never inside one */
		n = SBOM_LICENSE_MAX;
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(name, text, n);
	name[n] = '\0';
	while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
		name[--n] = '\0';
	if (n == 0)
		return NULL;
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20)
			return NULL;
	if ((id = sbom_spdx_id(name)) != NULL)
		return json_pack("{s:{s:s}}", "license", "id", id);
	if (strstr(name, " OR ") != NULL || strstr(name, " AND ") != NULL ||
	    strstr(name, " WITH ") != NULL) {
		/* an SPDX expression only if its every token is known */
		char tok[64];
		const char *p = name;
		int ok = 1;

		while (*p != '\0' && ok) {
			size_t t;

			while (*p == ' ' || *p == '(' || *p == ')')
				p++;
			t = strcspn(p, " ()");
			if (t == 0)
				break;
			if (t >= sizeof(tok)) {
				ok = 0;
				break;
			}
			memcpy(tok, p, t);
			tok[t] = '\0';
			if (strcmp(tok, "OR") != 0 && strcmp(tok, "AND") != 0 &&
			    strcmp(tok, "WITH") != 0 &&
			    sbom_spdx_id(tok) == NULL &&
			    strncmp(tok, "LicenseRef-", 11) != 0 &&
			    strcmp(tok, "Classpath-exception-2.0") != 0 &&
			    strcmp(tok, "LLVM-exception") != 0)
				ok = 0;
			p += t;
		}
		if (ok)
			return json_pack("{s:s}", "expression", name);
	}
	return json_pack("{s:{s:s}}", "license", "name", name);
}

/* Whether s is n hex digits. */
static int
hexn(const char *s, size_t n)
{
	size_t i;

	if (s == NULL || strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* The key dependencies are resolved by: eco + normalised name. */
static void
dep_key(const char *eco, const char *name, char *out, size_t outlen)
{
	char n[SBOM_NAME_MAX + 1];

	if (strcmp(eco, "pypi") == 0)
		pypi_norm(name, n, sizeof(n));
	else
		petri_strlcpy(n, name, sizeof(n));
	snprintf(out, outlen, "%s %s", eco, n);
}

/* One component of a report entry e, listed as purl. */
static json_t *
sbom_component(
    json_t *e, const char *purl, const char *name, const char *version)
{
	json_t *c, *lic;

	c = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "library", "bom-ref",
	    purl, "name", name, "version", version, "purl", purl);
	if (c == NULL)
		return NULL;
	if ((lic = sbom_license(
	         json_string_value(json_object_get(e, "license")))) != NULL)
		json_object_set_new(c, "licenses", json_pack("[o]", lic));
	if (hexn(json_string_value(json_object_get(e, "sha256")), 64))
		json_object_set_new(c, "hashes",
		    json_pack("[{s:s, s:O}]", "alg", "SHA-256", "content",
		        json_object_get(e, "sha256")));
	else if (hexn(json_string_value(json_object_get(e, "sha512")), 128))
		json_object_set_new(c, "hashes",
		    json_pack("[{s:s, s:O}]", "alg", "SHA-512", "content",
		        json_object_get(e, "sha512")));
	return c;
}

/*
 * The components of report, each package once (nested node_modules list
 * one twice): seen gets each purl, byname each dependency key's purl.
 */
static int
sbom_components(json_t *report, json_t *comps, json_t *byname, json_t *seen,
    struct sbom_stats *st)
{
	char purl[PURL_MAX], key[SBOM_NAME_MAX + 16];
	const char *eco, *name, *version;
	json_t *e, *c;
	size_t i;

	json_array_foreach (report, i, e) {
		if (i >= SBOM_MAX_COMPONENTS) {
			st->dropped += json_array_size(report) - i;
			break;
		}
		eco = json_string_value(json_object_get(e, "eco"));
		name = json_string_value(json_object_get(e, "name"));
		version = json_string_value(json_object_get(e, "version"));
		if (eco == NULL || name == NULL || version == NULL ||
		    sbom_purl(eco, name, version, purl, sizeof(purl)) != 0 ||
		    json_object_get(seen, purl) != NULL) {
			st->dropped++;
			continue;
		}
		json_object_set_new(seen, purl, json_true());
		if ((c = sbom_component(e, purl, name, version)) == NULL)
			return PETRI_ERR_NOMEM;
		json_array_append_new(comps, c);
		dep_key(eco, name, key, sizeof(key));
		if (json_object_get(byname, key) == NULL)
			json_object_set_new(byname, key, json_string(purl));
	}
	return 0;
}

/* What ref (of eco) depends on: names that resolve to a listed component. */
static json_t *
sbom_depends_on(json_t *names, const char *eco, const char *ref, json_t *byname)
{
	char key[SBOM_NAME_MAX + 16];
	json_t *on = json_array(), *d;
	const char *to;
	size_t j;

	json_array_foreach (names, j, d) {
		if (j >= SBOM_DEPS_MAX || !json_is_string(d) ||
		    !printable(json_string_value(d), SBOM_NAME_MAX))
			continue;
		dep_key(eco, json_string_value(d), key, sizeof(key));
		to = json_string_value(json_object_get(byname, key));
		if (to != NULL && strcmp(to, ref) != 0)
			json_array_append_new(on, json_string(to));
	}
	return on;
}

/* The dependency graph, one entry per listed component (seen: false once
 * it has its entry). */
static void
sbom_dependencies(json_t *report, json_t *deps, json_t *byname, json_t *seen)
{
	char key[SBOM_NAME_MAX + 16];
	const char *eco, *name, *ref;
	json_t *e, *names, *on, *dl;
	size_t i;

	json_array_foreach (report, i, e) {
		names = json_object_get(e, "deps");
		eco = json_string_value(json_object_get(e, "eco"));
		name = json_string_value(json_object_get(e, "name"));
		if (eco == NULL || name == NULL || !json_is_array(names) ||
		    i >= SBOM_MAX_COMPONENTS)
			continue;
		dep_key(eco, name, key, sizeof(key));
		if ((ref = json_string_value(json_object_get(byname, key))) ==
		    NULL)
			continue;
		on = sbom_depends_on(names, eco, ref, byname);
		if (json_is_false(json_object_get(seen, ref))) {
			json_decref(on);
			continue;
		}
		json_object_set_new(seen, ref, json_false());
		if ((dl = json_pack(
		         "{s:s, s:o}", "ref", ref, "dependsOn", on)) != NULL)
			json_array_append_new(deps, dl);
	}
}

int
sbom_build(json_t *report, const char *subject, const char *serial,
    const char *timestamp, json_t **out, struct sbom_stats *st)
{
	json_t *doc = NULL, *comps, *deps, *byname, *seen;
	char urn[64];

	*out = NULL;
	memset(st, 0, sizeof(*st));
	if (subject == NULL || serial == NULL || strlen(serial) != 36 ||
	    timestamp == NULL || (report != NULL && !json_is_array(report)))
		return PETRI_ERR_INVAL;
	snprintf(urn, sizeof(urn), "urn:uuid:%s", serial);
	comps = json_array();
	deps = json_array();
	byname = json_object(); /* dep key -> purl */
	seen = json_object(); /* purls listed */
	if (comps == NULL || deps == NULL || byname == NULL || seen == NULL ||
	    sbom_components(report, comps, byname, seen, st) != 0)
		goto out;
	sbom_dependencies(report, deps, byname, seen);
	st->components = json_array_size(comps);
	doc = json_pack("{s:s, s:s, s:s, s:i, s:{s:s, s:[{s:s, s:s}], s:{s:s, "
	                "s:s, s:s}}, s:o, s:o}",
	    "bomFormat", "CycloneDX", "specVersion", "1.6", "serialNumber", urn,
	    "version", 1, "metadata", "timestamp", timestamp, "tools", "vendor",
	    "Petri", "name", "petri", "component", "type", "application",
	    "bom-ref", "workspace", "name", subject, "components", comps,
	    "dependencies", deps);
	comps = deps = NULL;
	if (doc == NULL)
		goto out;
	/* CycloneDX 1.6 wants tools as components */
	json_object_set_new(json_object_get(doc, "metadata"), "tools",
	    json_pack("{s:[{s:s, s:s}]}", "components", "type", "application",
	        "name", "petri"));
	*out = doc;
out:
	json_decref(comps);
	json_decref(deps);
	json_decref(byname);
	json_decref(seen);
	return doc != NULL ? 0 : PETRI_ERR_NOMEM;
}
