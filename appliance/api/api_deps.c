/*
 * api_deps.c: dependencies of an execution (docs/deps.md): whether the
 * install step must run (keyed by the manifest, or by the sources when
 * there is none), how it runs (a Petri script in the sandbox, through the
 * egress proxy, to the configured registries), and what comes out of it:
 * the install log and the CycloneDX SBOM as blobs, the missing imports,
 * the summary kept in the sandbox's document so that an unchanged project
 * installs nothing and scans nothing the next time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api.h"
#include "bounds.h"
#include "egress_conf.h"
#include "log.h"
#include "proto.h"
#include "sbom.h"
#include "util.h"

#define DEPS_MARKER "\n@@PETRI-DEPS@@ "
#define DEPS_DIR "/usr/local/lib/petri" /* the scripts, read-only */
#define DEPS_MISSING_MAX 256

static const char *
dstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Whether path (workspace-relative) is a source file of lang. */
static int
deps_source(const char *lang, const char *path)
{
	const char *dot = strrchr(path, '.');
	static const char *const js[] = {
	    ".js", ".mjs", ".cjs", ".ts", ".jsx", ".tsx", NULL};
	size_t i;

	if (dot == NULL)
		return 0;
	if (strcmp(lang, "python") == 0)
		return strcmp(dot, ".py") == 0;
	if (strcmp(lang, "node") == 0) {
		for (i = 0; js[i] != NULL; i++)
			if (strcmp(dot, js[i]) == 0)
				return 1;
		return 0;
	}
	if (strcmp(lang, "go") == 0)
		return strcmp(dot, ".go") == 0;
	return 0; /* Java: only pom.xml decides what is installed */
}

/* Whether path is one of lang's manifests. */
static int
deps_manifest(const char *lang, const char *base)
{
	if (strcmp(lang, "python") == 0)
		return strcmp(base, "pyproject.toml") == 0 ||
		    strcmp(base, "requirements.txt") == 0;
	if (strcmp(lang, "node") == 0)
		return strcmp(base, "package.json") == 0 ||
		    strcmp(base, "package-lock.json") == 0;
	if (strcmp(lang, "go") == 0) /* go.sum: the tools write it */
		return strcmp(base, "go.mod") == 0;
	if (strcmp(lang, "java") == 0)
		return strcmp(base, "pom.xml") == 0 ||
		    strcmp(base, "build.gradle") == 0 ||
		    strcmp(base, "build.gradle.kts") == 0;
	return 0;
}

/* The working directory, relative to /sandbox ("" at its root). */
static const char *
deps_rel(const char *cwd)
{
	if (strncmp(cwd, "/sandbox", 8) == 0)
		cwd += 8;
	return *cwd == '/' ? cwd + 1 : cwd;
}

/* Whether path (workspace-relative) is one of lang's manifests in rel. */
static int
deps_manifest_in(const char *lang, const char *rel, const char *path)
{
	const char *base =
	    strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	size_t rl = strlen(rel);

	return deps_manifest(lang, base) &&
	    (size_t)(base - path) == (rl > 0 ? rl + 1 : 0) &&
	    strncmp(path, rel, rl) == 0;
}

int
api_deps_key(const char *lang, const char *cwd, json_t *code,
    const char *program_sha, const char *mode, char key[PETRI_SHA256_HEX])
{
	crypto_hash_sha256_state h;
	unsigned char d[crypto_hash_sha256_BYTES];
	const char *rel = deps_rel(cwd), *path, *sha;
	json_t *f;
	size_t i;

	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(
	    &h, (const unsigned char *)"petri-deps-v1\n", 14);
	crypto_hash_sha256_update(
	    &h, (const unsigned char *)lang, strlen(lang) + 1);
	crypto_hash_sha256_update(
	    &h, (const unsigned char *)cwd, strlen(cwd) + 1);
	if (strcmp(mode, "only") == 0)
		crypto_hash_sha256_update(&h, (const unsigned char *)"only", 5);
	if (program_sha != NULL)
		crypto_hash_sha256_update(&h,
		    (const unsigned char *)program_sha, strlen(program_sha));
	json_array_foreach (json_object_get(code, "files"), i, f) {
		path = dstr(f, "path");
		sha = dstr(f, "sha256");
		if (path == NULL || sha == NULL)
			continue;
		/* a manifest of the working directory, or any source */
		if (!deps_source(lang, path) &&
		    !deps_manifest_in(lang, rel, path))
			continue;
		crypto_hash_sha256_update(
		    &h, (const unsigned char *)path, strlen(path) + 1);
		crypto_hash_sha256_update(
		    &h, (const unsigned char *)sha, strlen(sha) + 1);
	}
	if (json_is_true(json_object_get(code, "truncated")))
		crypto_hash_sha256_update(
		    &h, (const unsigned char *)"truncated", 9);
	crypto_hash_sha256_final(&h, d);
	petri_hex(d, sizeof(d), key);
	return 0;
}

int
api_deps_has_manifest(const char *lang, const char *cwd, json_t *code)
{
	const char *rel = deps_rel(cwd), *path;
	json_t *f;
	size_t i;

	json_array_foreach (json_object_get(code, "files"), i, f)
		if ((path = dstr(f, "path")) != NULL &&
		    deps_manifest_in(lang, rel, path))
			return 1;
	return 0;
}

int
api_deps_has_sources(const char *lang, json_t *code)
{
	const char *path;
	json_t *f;
	size_t i;

	json_array_foreach (json_object_get(code, "files"), i, f)
		if ((path = dstr(f, "path")) != NULL && deps_source(lang, path))
			return 1;
	return json_is_true(json_object_get(code, "truncated"));
}

json_t *
api_deps_argv(const char *lang, const char *mode, const char *program)
{
	json_t *a;

	if (strcmp(lang, "python") == 0)
		a = json_pack(
		    "[s, s, s]", "python3", DEPS_DIR "/python.py", mode);
	else if (strcmp(lang, "node") == 0)
		a = json_pack("[s, s, s]", "node", DEPS_DIR "/node.js", mode);
	else if (strcmp(lang, "go") == 0)
		a = json_pack("[s, s, s]", "/bin/sh", DEPS_DIR "/go.sh", mode);
	else if (strcmp(lang, "java") == 0)
		/* the proxy token goes in Basic for CONNECT too */
		a = json_pack("[s, s, s, s]", "java",
		    "-Djdk.http.auth.tunneling.disabledSchemes=",
		    DEPS_DIR "/Maven.java", mode);
	else
		return NULL;
	if (a != NULL && program != NULL)
		json_array_append_new(a, json_string(program));
	return a;
}

void
api_deps_env(struct api *a, const char *lang, const char *cwd, json_t *env)
{
	const struct registries *rg = a->registries;
	char buf[4200];
	const char *old;

	if (strcmp(lang, "python") == 0) {
		old = dstr(env, "PYTHONPATH");
		snprintf(buf, sizeof(buf), "/sandbox/deps%s%s",
		    old != NULL && old[0] != '\0' ? ":" : "",
		    old != NULL ? old : "");
		json_object_set_new(env, "PYTHONPATH", json_string(buf));
		json_object_set_new(env, "PIP_NO_CACHE_DIR", json_string("1"));
		json_object_set_new(
		    env, "PIP_DISABLE_PIP_VERSION_CHECK", json_string("1"));
		if (rg->url[0][0] != '\0')
			json_object_set_new(
			    env, "PIP_INDEX_URL", json_string(rg->url[0]));
	} else if (strcmp(lang, "node") == 0) {
		snprintf(buf, sizeof(buf), "%s/node_modules", cwd);
		json_object_set_new(env, "NODE_PATH", json_string(buf));
		json_object_set_new(env, "npm_config_cache",
		    json_string("/sandbox/.petri/npm-cache"));
		json_object_set_new(
		    env, "npm_config_update_notifier", json_string("false"));
		if (rg->url[1][0] != '\0')
			json_object_set_new(env, "npm_config_registry",
			    json_string(rg->url[1]));
	} else if (strcmp(lang, "java") == 0) {
		/* what the install step put there, for javac and java */
		json_object_set_new(
		    env, "CLASSPATH", json_string("/sandbox/.m2/lib/*:."));
		if (rg->url[3][0] != '\0')
			json_object_set_new(
			    env, "PETRI_MAVEN_MIRROR", json_string(rg->url[3]));
	} else if (strcmp(lang, "go") == 0) {
		json_object_set_new(
		    env, "GOMODCACHE", json_string("/sandbox/.petri/gomod"));
		json_object_set_new(env, "GOFLAGS", json_string("-mod=mod"));
		/* no checksum database is reachable: go.sum is the record */
		json_object_set_new(env, "GOSUMDB", json_string("off"));
		json_object_set_new(env, "GOPROXY",
		    json_string(rg->url[2][0] != '\0' ? rg->url[2] : "off"));
	}
}

/* The index in registries.url of lang's registry, or -1. */
static int
deps_registry(const char *lang)
{
	static const char *const langs[REG_NAMES] = {
	    "python", "node", "go", "java"};
	int i;

	for (i = 0; i < REG_NAMES; i++)
		if (strcmp(lang, langs[i]) == 0)
			return i;
	return -1;
}

const char *
api_deps_unset(struct api *a, const char *lang)
{
	static const char *const settings[REG_NAMES] = {"registries.pypi",
	    "registries.npm", "registries.go", "registries.maven"};
	int i = deps_registry(lang);

	if (i < 0 || a->registries->url[i][0] != '\0')
		return NULL;
	return settings[i];
}

void
api_deps_env_install(struct api *a, const char *lang, json_t *env)
{
	const char *unset = api_deps_unset(a, lang);

	if (unset != NULL)
		json_object_set_new(
		    env, "PETRI_REGISTRY_UNSET", json_string(unset));
}

void
api_deps_registries_log(struct api *a)
{
	char line[REG_NAMES * (REG_URL_MAX + 32)];
	size_t off = 0;
	int i, n;

	for (i = 0; i < REG_NAMES; i++) {
		n = snprintf(line + off, sizeof(line) - off, "%s%s=%s",
		    i > 0 ? " " : "", registry_names[i],
		    a->registries->url[i][0] != '\0' ? a->registries->url[i]
		                                     : "(not set)");
		if (n < 0 || (size_t)n >= sizeof(line) - off)
			break;
		off += (size_t)n;
	}
	log_info("package registries: %s", line);
	for (i = 0; i < REG_NAMES; i++)
		if (a->registries->url[i][0] == '\0') {
			log_info("installs that need a registry that is not "
			         "set answer registry_not_configured at once "
			         "(docs/deps.md#registries)");
			break;
		}
}

/*
 * The setting a report says is missing: one of the four names exactly
 * (the report is hostile input), else NULL.
 */
static const char *
deps_report_unset(json_t *report)
{
	static const char *const settings[REG_NAMES] = {"registries.pypi",
	    "registries.npm", "registries.go", "registries.maven"};
	const char *s = dstr(report, "registry_unset");
	int i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < REG_NAMES; i++)
		if (strcmp(s, settings[i]) == 0)
			return settings[i];
	return NULL;
}

/* Checks the missing-imports list of a report: names only. */
static json_t *
deps_missing(json_t *in)
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach (in, i, v) {
		const char *s = json_string_value(v);
		size_t n, k;

		if (i >= DEPS_MISSING_MAX || s == NULL)
			break;
		n = strlen(s);
		if (n == 0 || n > SBOM_NAME_MAX)
			continue;
		for (k = 0; k < n; k++)
			if ((unsigned char)s[k] <= 0x20 ||
			    (unsigned char)s[k] >= 0x7f)
				break;
		if (k == n)
			json_array_append_new(out, json_string(s));
	}
	return out;
}

/* The report on the last marker line of text, or NULL; *mk (may be NULL)
 * where that line starts. */
static json_t *
deps_report_in(char *text, char **mk)
{
	char *m = NULL, *p, *j, *end;

	for (p = text; (p = strstr(p, DEPS_MARKER)) != NULL; p++)
		m = p;
	if (mk != NULL)
		*mk = m;
	if (m == NULL)
		return NULL;
	j = m + strlen(DEPS_MARKER);
	end = strchr(j, '\n');
	return json_loadb(j, end != NULL ? (size_t)(end - j) : strlen(j),
	    JSON_REJECT_DUPLICATES, NULL);
}

/*
 * Splits the script's report from its log (ended in place; *loglen the
 * log's length) or, when the log passed its cap, finds the report in
 * tail.  A missing or malformed report says the script failed.
 */
static json_t *
deps_report(json_t *sb, struct buf *log, const struct buf *tail,
    int script_exit, size_t *loglen)
{
	json_t *report;
	char *text, *mk, *t;

	if (log->len >= EXEC_INSTALL_LOG_MAX &&
	    buf_append_str(log,
	        "\npetri: the log passed 1 MiB: the rest "
	        "was not kept\n") != 0)
		log_warn("%s: install log note lost", dstr(sb, "id"));
	if (buf_append(log, "", 1) != 0 && log->len > 0)
		log->data[log->len - 1] = '\0'; /* full: end it in place */
	text = (char *)log->data;
	*loglen = strlen(text);
	/* the last marker line is the script's report; the rest is the log */
	if ((report = deps_report_in(text, &mk)) != NULL || mk != NULL) {
		*mk = '\0';
		*loglen = (size_t)(mk - text);
	} else if (tail != NULL && tail->len > 0 &&
	    (t = malloc(tail->len + 1)) != NULL) {
		/* a log past its cap: the report is in the output's tail */
		memcpy(t, tail->data, tail->len);
		t[tail->len] = '\0';
		report = deps_report_in(t, NULL);
		free(t);
	}
	if (!json_is_object(report)) {
		json_decref(report);
		report = json_pack("{s:i, s:b}", "exit_code",
		    script_exit != 0 ? script_exit : 1, "ran", 1);
	}
	return report;
}

/* The install step's part of the answer: ran, exit code, log, manifest. */
static json_t *
deps_install_doc(json_t *report, const char *text, size_t loglen,
    json_int_t code, int64_t ms, const char *logsha)
{
	int ran = json_is_true(json_object_get(report, "ran"));
	const char *m = dstr(report, "manifest");
	json_t *install;

	install = json_pack("{s:b, s:I, s:s%, s:I, s:s, s:I}", "ran", ran,
	    "exit_code", code, "log", text, loglen, "duration_ms",
	    (json_int_t)ms, "log_sha256", logsha, "log_size",
	    (json_int_t)loglen);
	if (install == NULL) {
		/* an invalid UTF-8 log: keep the blob, answer without it */
		install = json_pack("{s:b, s:I, s:s, s:I, s:s, s:I}", "ran",
		    ran, "exit_code", code, "log", "(not UTF-8: see the blob)",
		    "duration_ms", (json_int_t)ms, "log_sha256", logsha,
		    "log_size", (json_int_t)loglen);
	}
	json_object_set_new(install, "manifest",
	    m != NULL && strlen(m) < 64 ? json_string(m) : json_null());
	return install;
}

/* The SBOM of what the tree holds now, stored as a blob: *summary. */
static int
deps_sbom(struct api *a, json_t *sb, json_t *report, json_t **summary)
{
	json_t *sbom = NULL;
	struct sbom_stats st;
	char ts[PETRI_TIME_MAX], uuid[37], subject[96], sha[PETRI_SHA256_HEX];
	unsigned char rnd[16];
	char *text;
	int e;

	randombytes_buf(rnd, sizeof(rnd));
	rnd[6] = (unsigned char)((rnd[6] & 0x0f) | 0x40);
	rnd[8] = (unsigned char)((rnd[8] & 0x3f) | 0x80);
	snprintf(uuid, sizeof(uuid),
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x"
	    "%02x",
	    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7],
	    rnd[8], rnd[9], rnd[10], rnd[11], rnd[12], rnd[13], rnd[14],
	    rnd[15]);
	petri_time_rfc3339(petri_now_usec(), ts);
	snprintf(subject, sizeof(subject), "sandbox %s", dstr(sb, "id"));
	if ((e = sbom_build(json_object_get(report, "components"), subject,
	         uuid, ts, &sbom, &st)) != 0)
		return e;
	if (st.dropped > 0)
		log_info(
		    "%s: %zu SBOM entries refused", dstr(sb, "id"), st.dropped);
	text = json_dumps(sbom, JSON_COMPACT);
	json_decref(sbom);
	if (text == NULL)
		return PETRI_ERR_NOMEM;
	e = wrap_keeper_blob_put(a, text, strlen(text), sha);
	free(text);
	if (e != 0)
		return e;
	*summary = json_pack("{s:s, s:s, s:I, s:s}", "format", "CycloneDX",
	    "spec_version", "1.6", "components", (json_int_t)st.components,
	    "sha256", sha);
	return *summary != NULL ? 0 : PETRI_ERR_NOMEM;
}

int
api_deps_finish(struct api *a, json_t *sb, const char *key, struct buf *log,
    const struct buf *tail, int script_exit, int64_t ms, json_t **result)
{
	json_t *report, *install, *missing, *summary = NULL;
	char logsha[PETRI_SHA256_HEX];
	json_int_t code;
	size_t loglen;
	int e;

	*result = NULL;
	report = deps_report(sb, log, tail, script_exit, &loglen);
	code = json_integer_value(json_object_get(report, "exit_code"));
	if (script_exit != 0 && code == 0)
		code = script_exit;
	if ((e = wrap_keeper_blob_put(a, log->data, loglen, logsha)) != 0) {
		json_decref(report);
		return e;
	}
	install = deps_install_doc(
	    report, (const char *)log->data, loglen, code, ms, logsha);
	missing = deps_missing(json_object_get(report, "missing"));
	if (deps_report_unset(report) != NULL) {
		/* the installer did not run: no registry is configured */
		*result = json_pack("{s:o, s:o, s:b, s:s}", "install", install,
		    "missing_imports", missing, "failed", 1, "setting",
		    deps_report_unset(report));
		json_decref(report);
		return 0;
	}
	if (code != 0) {
		*result = json_pack("{s:o, s:o, s:b}", "install", install,
		    "missing_imports", missing, "failed", 1);
		json_decref(report);
		return 0;
	}
	e = deps_sbom(a, sb, report, &summary);
	json_decref(report);
	if (e != 0) {
		json_decref(install);
		json_decref(missing);
		return e;
	}
	/* what the next execution of an unchanged project reuses */
	json_object_set_new(sb, "deps",
	    json_pack("{s:s, s:O, s:O, s:O}", "key", key, "sbom", summary,
	        "missing_imports", missing, "manifest",
	        json_object_get(install, "manifest")));
	/* that field only: the rest of sb may be older than what is stored */
	if (db_sandbox_set(a->db, dstr(sb, "id"), "deps",
	        json_object_get(sb, "deps")) != 0)
		log_warn(
		    "%s: cannot keep its dependency state", dstr(sb, "id"));
	*result = json_pack("{s:o, s:o, s:o}", "install", install,
	    "missing_imports", missing, "sbom", summary);
	return 0;
}
