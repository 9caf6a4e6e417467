/* config.c: appliance configuration with embedded defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "config.h"
#include "egress_conf.h"
#include "log.h"
#include "siem.h"
#include "util.h"

const char *const config_languages[CONFIG_NLANG] = {
    "python", "node", "go", "java"};

static const char *const config_top_keys[] = {"listen", "data_dir",
    "workspace_root", "docker_socket", "images", "network", "runtime", "limits",
    "output_max_bytes", "ttl_seconds", "reaper_interval_seconds", "debug",
    "egress", "sinks", "registries", "pool", "log", "helpers_dir", NULL};

int
config_language_index(const char *name)
{
	int i;

	for (i = 0; i < CONFIG_NLANG; i++)
		if (strcmp(name, config_languages[i]) == 0)
			return i;
	return -1;
}

static int
config_known(const char *key, const char *const *keys)
{
	for (; *keys != NULL; keys++)
		if (strcmp(key, *keys) == 0)
			return 1;
	return 0;
}

static int
config_str(json_t *doc, const char *key, char *dst, size_t dlen, char *err,
    size_t errlen)
{
	json_t *v = json_object_get(doc, key);

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v) ||
	    petri_strlcpy(dst, json_string_value(v), dlen) >= dlen) {
		snprintf(err, errlen,
		    "%s: must be a non-empty string shorter "
		    "than %zu bytes",
		    key, dlen);
		return PETRI_ERR_INVAL;
	}
	return 0;
}

static int
config_int(json_t *obj, const char *key, long long min, long long max, int *out,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		snprintf(err, errlen, "%s: must be an integer in [%lld, %lld]",
		    key, min, max);
		return PETRI_ERR_INVAL;
	}
	*out = (int)json_integer_value(v);
	return 0;
}

static int
config_parse_listen(
    const char *s, struct petri_config *cfg, char *err, size_t errlen)
{
	const char *colon = strrchr(s, ':');
	long long port;
	size_t hlen;

	if (colon == NULL || colon == s ||
	    petri_strtonum(colon + 1, 1, 65535, &port) != 0) {
		snprintf(err, errlen, "listen: expected ADDRESS:PORT");
		return PETRI_ERR_INVAL;
	}
	hlen = (size_t)(colon - s);
	if (hlen >= sizeof(cfg->listen_host)) {
		snprintf(err, errlen, "listen: address too long");
		return PETRI_ERR_INVAL;
	}
	memcpy(cfg->listen_host, s, hlen);
	cfg->listen_host[hlen] = '\0';
	cfg->listen_port = (int)port;
	return 0;
}

static int
config_parse_limits(
    json_t *l, struct config_limits *lim, char *err, size_t errlen)
{
	static const char *const keys[] = {"memory_mb", "cpus", "pids",
	    "timeout_ms", "disk_mb", "tmp_mb", NULL};
	const char *k;
	json_t *v;

	if (!json_is_object(l)) {
		snprintf(err, errlen, "limits: must be an object");
		return PETRI_ERR_INVAL;
	}
	json_object_foreach (l, k, v) {
		if (!config_known(k, keys)) {
			snprintf(
			    err, errlen, "limits: unknown key \"%.64s\"", k);
			return PETRI_ERR_INVAL;
		}
	}
	if (config_int(l, "memory_mb", SB_MIN_MEMORY_MB, SB_MAX_MEMORY_MB,
	        &lim->memory_mb, err, errlen) != 0 ||
	    config_int(l, "pids", SB_MIN_PIDS, SB_MAX_PIDS, &lim->pids, err,
	        errlen) != 0 ||
	    config_int(l, "timeout_ms", 1, EXEC_MAX_TIMEOUT_MS,
	        &lim->timeout_ms, err, errlen) != 0 ||
	    config_int(l, "disk_mb", SB_MIN_DISK_MB, SB_MAX_DISK_MB,
	        &lim->disk_mb, err, errlen) != 0 ||
	    config_int(l, "tmp_mb", 1, 4096, &lim->tmp_mb, err, errlen) != 0)
		return PETRI_ERR_INVAL;
	if ((v = json_object_get(l, "cpus")) != NULL) {
		if (!json_is_number(v) || json_number_value(v) < 0.01 ||
		    json_number_value(v) > SB_MAX_CPUS) {
			snprintf(err, errlen,
			    "limits.cpus: must be a number "
			    "in [0.01, %g]",
			    SB_MAX_CPUS);
			return PETRI_ERR_INVAL;
		}
		lim->cpus = json_number_value(v);
	}
	return 0;
}

/* "log": {"format": "text" | "kv" | "json"} (docs/operations.md). */
static int
config_parse_log(json_t *v, struct petri_config *cfg, char *err, size_t errlen)
{
	static const char *const names[] = {"text", "kv", "json"};
	const char *f;
	void *it;
	int i;

	cfg->log_format = LOG_FORMAT_TEXT;
	if (v == NULL)
		return 0;
	if (!json_is_object(v))
		goto bad;
	for (it = json_object_iter(v); it != NULL;
	     it = json_object_iter_next(v, it))
		if (strcmp(json_object_iter_key(it), "format") != 0) {
			snprintf(err, errlen, "log.%s: unknown key",
			    json_object_iter_key(it));
			return PETRI_ERR_INVAL;
		}
	if ((v = json_object_get(v, "format")) == NULL)
		return 0;
	if ((f = json_string_value(v)) == NULL)
		goto bad;
	for (i = 0; i < 3; i++)
		if (strcmp(f, names[i]) == 0) {
			cfg->log_format = i;
			return 0;
		}
bad:
	snprintf(err, errlen,
	    "log.format: must be \"text\", \"kv\" or "
	    "\"json\"");
	return PETRI_ERR_INVAL;
}

int
config_parse(json_t *doc, struct petri_config *cfg, char *err, size_t errlen)
{
	const char *k;
	json_t *v;
	int i, outmax = (int)EXEC_DEFAULT_OUTPUT_MAX;

	memset(cfg, 0, sizeof(*cfg));
	petri_strlcpy(cfg->listen_host, "127.0.0.1", sizeof(cfg->listen_host));
	cfg->listen_port = 8080;
	petri_strlcpy(cfg->data_dir, "./var", sizeof(cfg->data_dir));
	petri_strlcpy(cfg->docker_socket, "/var/run/docker.sock",
	    sizeof(cfg->docker_socket));
	for (i = 0; i < CONFIG_NLANG; i++)
		snprintf(cfg->images[i], sizeof(cfg->images[i]),
		    "petri/%s:current", config_languages[i]);
	petri_strlcpy(
	    cfg->default_runtime, "runc", sizeof(cfg->default_runtime));
	cfg->limits.memory_mb = SB_DEFAULT_MEMORY_MB;
	cfg->limits.cpus = SB_DEFAULT_CPUS;
	cfg->limits.pids = SB_DEFAULT_PIDS;
	cfg->limits.timeout_ms = EXEC_DEFAULT_TIMEOUT_MS;
	cfg->limits.disk_mb = SB_DEFAULT_DISK_MB;
	cfg->limits.tmp_mb = SB_DEFAULT_TMP_MB;
	cfg->ttl_seconds = SB_DEFAULT_TTL_SEC;
	cfg->pool[0] = 2; /* python */
	cfg->pool[1] = 2; /* node */
	cfg->pool[2] = 1; /* go */
	cfg->pool[3] = 1; /* java */
	cfg->reaper_interval = 10;

	if (doc == NULL) {
		cfg->raw = json_object();
		return cfg->raw != NULL ? 0 : PETRI_ERR_NOMEM;
	}
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "configuration: must be a JSON object");
		return PETRI_ERR_INVAL;
	}
	json_object_foreach (doc, k, v) {
		if (!config_known(k, config_top_keys)) {
			snprintf(err, errlen,
			    "configuration: unknown key "
			    "\"%.64s\"",
			    k);
			return PETRI_ERR_INVAL;
		}
	}
	if ((v = json_object_get(doc, "listen")) != NULL) {
		if (!json_is_string(v) ||
		    config_parse_listen(
		        json_string_value(v), cfg, err, errlen) != 0) {
			if (!json_is_string(v))
				snprintf(
				    err, errlen, "listen: must be a string");
			return PETRI_ERR_INVAL;
		}
	}
	if (config_str(doc, "data_dir", cfg->data_dir, sizeof(cfg->data_dir),
	        err, errlen) != 0 ||
	    config_str(doc, "workspace_root", cfg->workspace_root,
	        sizeof(cfg->workspace_root), err, errlen) != 0 ||
	    config_str(doc, "docker_socket", cfg->docker_socket,
	        sizeof(cfg->docker_socket), err, errlen) != 0 ||
	    config_str(doc, "helpers_dir", cfg->helpers_dir,
	        sizeof(cfg->helpers_dir), err, errlen) != 0 ||
	    config_str(doc, "network", cfg->network, sizeof(cfg->network), err,
	        errlen) != 0 ||
	    config_str(doc, "runtime", cfg->default_runtime,
	        sizeof(cfg->default_runtime), err, errlen) != 0)
		return PETRI_ERR_INVAL;
	if (strcmp(cfg->default_runtime, "runc") != 0 &&
	    strcmp(cfg->default_runtime, "runsc") != 0) {
		snprintf(err, errlen, "runtime: must be \"runc\" or \"runsc\"");
		return PETRI_ERR_INVAL;
	}
	if ((v = json_object_get(doc, "images")) != NULL) {
		if (!json_is_object(v)) {
			snprintf(err, errlen, "images: must be an object");
			return PETRI_ERR_INVAL;
		}
		json_object_foreach (v, k, v) {
			json_t *s = v;

			if ((i = config_language_index(k)) < 0) {
				snprintf(err, errlen,
				    "images: unknown language "
				    "\"%.32s\"",
				    k);
				return PETRI_ERR_INVAL;
			}
			if (!json_is_string(s) ||
			    petri_strlcpy(cfg->images[i], json_string_value(s),
			        sizeof(cfg->images[i])) >=
			        sizeof(cfg->images[i])) {
				snprintf(err, errlen,
				    "images.%s: must be an "
				    "image reference",
				    k);
				return PETRI_ERR_INVAL;
			}
		}
	}
	if ((v = json_object_get(doc, "pool")) != NULL) {
		json_t *n;

		if (!json_is_object(v)) {
			snprintf(err, errlen, "pool: must be an object");
			return PETRI_ERR_INVAL;
		}
		for (i = 0; i < CONFIG_NLANG; i++)
			cfg->pool[i] = 0;
		json_object_foreach (v, k, n) {
			if ((i = config_language_index(k)) < 0 ||
			    !json_is_integer(n) || json_integer_value(n) < 0 ||
			    json_integer_value(n) > SB_MAX_POOL) {
				snprintf(err, errlen,
				    "pool.%.32s: a language and "
				    "a count in [0, %d]",
				    k, SB_MAX_POOL);
				return PETRI_ERR_INVAL;
			}
			cfg->pool[i] = (int)json_integer_value(n);
		}
	}
	if ((v = json_object_get(doc, "limits")) != NULL &&
	    config_parse_limits(v, &cfg->limits, err, errlen) != 0)
		return PETRI_ERR_INVAL;
	if (config_int(doc, "output_max_bytes", 1024,
	        (long long)EXEC_MAX_OUTPUT_MAX, &outmax, err, errlen) != 0 ||
	    config_int(doc, "ttl_seconds", 10, SB_MAX_TTL_SEC,
	        &cfg->ttl_seconds, err, errlen) != 0 ||
	    config_int(doc, "reaper_interval_seconds", 1, 3600,
	        &cfg->reaper_interval, err, errlen) != 0)
		return PETRI_ERR_INVAL;
	cfg->output_max = (size_t)outmax;
	if ((v = json_object_get(doc, "debug")) != NULL) {
		if (!json_is_boolean(v)) {
			snprintf(err, errlen, "debug: must be true or false");
			return PETRI_ERR_INVAL;
		}
		cfg->debug = json_is_true(v);
	}
	if (config_parse_log(json_object_get(doc, "log"), cfg, err, errlen) !=
	    0)
		return PETRI_ERR_INVAL;
	if (siem_config_check(json_object_get(doc, "sinks"), err, errlen) != 0)
		return PETRI_ERR_INVAL;
	{
		struct egress_conf *ec = malloc(sizeof(*ec));
		int r;

		if (ec == NULL) {
			snprintf(err, errlen, "out of memory");
			return PETRI_ERR_NOMEM;
		}
		r = egress_conf_parse(
		    json_object_get(doc, "egress"), ec, err, errlen);
		free(ec);
		if (r != 0)
			return r;
	}
	{
		struct registries *rg = malloc(sizeof(*rg));
		int r;

		if (rg == NULL)
			return PETRI_ERR_NOMEM;
		r = registries_parse(
		    json_object_get(doc, "registries"), rg, err, errlen);
		free(rg);
		if (r != 0)
			return r;
	}
	cfg->raw = json_incref(doc);
	return 0;
}

int
config_load(
    const char *path, struct petri_config *cfg, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc;
	char *text = NULL;
	size_t len;
	int r;

	if ((r = petri_file_read(path, 1024 * 1024, &text, &len)) != 0) {
		snprintf(err, errlen, "%s: cannot read (%s)", path,
		    petri_strerror(r));
		return r;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (doc == NULL) {
		snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
		return PETRI_ERR_INVAL;
	}
	r = config_parse(doc, cfg, err, errlen);
	json_decref(doc);
	return r;
}

json_t *
config_to_json(const struct petri_config *cfg)
{
	json_t *j, *images;
	char listen[128];
	int i;

	if ((j = json_deep_copy(cfg->raw)) == NULL)
		return NULL;
	snprintf(listen, sizeof(listen), "%s:%d", cfg->listen_host,
	    cfg->listen_port);
	images = json_object();
	for (i = 0; i < CONFIG_NLANG; i++)
		json_object_set_new(
		    images, config_languages[i], json_string(cfg->images[i]));
	json_object_set_new(j, "listen", json_string(listen));
	json_object_set_new(j, "data_dir", json_string(cfg->data_dir));
	json_object_set_new(
	    j, "workspace_root", json_string(cfg->workspace_root));
	json_object_set_new(
	    j, "docker_socket", json_string(cfg->docker_socket));
	if (cfg->helpers_dir[0] != '\0')
		json_object_set_new(
		    j, "helpers_dir", json_string(cfg->helpers_dir));
	json_object_set_new(j, "images", images);
	if (cfg->network[0] != '\0')
		json_object_set_new(j, "network", json_string(cfg->network));
	json_object_set_new(j, "runtime", json_string(cfg->default_runtime));
	json_object_set_new(j, "limits",
	    json_pack("{s:i, s:f, s:i, s:i, s:i, "
	              "s:i}",
	        "memory_mb", cfg->limits.memory_mb, "cpus", cfg->limits.cpus,
	        "pids", cfg->limits.pids, "timeout_ms", cfg->limits.timeout_ms,
	        "disk_mb", cfg->limits.disk_mb, "tmp_mb", cfg->limits.tmp_mb));
	json_object_set_new(
	    j, "output_max_bytes", json_integer((json_int_t)cfg->output_max));
	json_object_set_new(j, "ttl_seconds", json_integer(cfg->ttl_seconds));
	json_object_set_new(
	    j, "reaper_interval_seconds", json_integer(cfg->reaper_interval));
	json_object_set_new(j, "debug", json_boolean(cfg->debug));
	json_object_set_new(j, "log",
	    json_pack("{s:s}", "format",
	        cfg->log_format == LOG_FORMAT_JSON     ? "json"
	            : cfg->log_format == LOG_FORMAT_KV ? "kv"
	                                               : "text"));
	json_object_set_new(j, "pool",
	    json_pack("{s:i, s:i, s:i, s:i}", config_languages[0], cfg->pool[0],
	        config_languages[1], cfg->pool[1], config_languages[2],
	        cfg->pool[2], config_languages[3], cfg->pool[3]));
	return j;
}

void
config_free(struct petri_config *cfg)
{
	if (cfg->raw != NULL)
		json_decref(cfg->raw);
	cfg->raw = NULL;
}
