/* config.c: appliance configuration with embedded defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "config.h"
#include "egress_conf.h"
#include "jsonv.h"
#include "log.h"
#include "preview_conf.h"
#include "siem.h"
#include "util.h"
#include "witness_conf.h"

const char *const config_languages[CONFIG_NLANG] = {
    "python", "node", "go", "java"};

/* A string member's longest value: its buffer less the NUL. */
#define CONFIG_STR_MAX(m) ((long long)sizeof(((struct petri_config *)0)->m) - 1)

enum {
	CT_LISTEN,
	CT_DATA_DIR,
	CT_WORKSPACE_ROOT,
	CT_DOCKER_SOCKET,
	CT_IMAGES,
	CT_NETWORK,
	CT_RUNTIME,
	CT_LIMITS,
	CT_OUTPUT_MAX,
	CT_TTL,
	CT_REAPER,
	CT_DEBUG,
	CT_EGRESS,
	CT_SINKS,
	CT_REGISTRIES,
	CT_POOL,
	CT_SYNC_TTL,
	CT_AUDIT,
	CT_PREVIEW,
	CT_SUPERVISOR,
	CT_HELPERS_DIR,
	CT_LOG,
	CT_N
};

/* Sections with readers of their own are JSONV_ANY here. */
static const struct jsonv_field config_top_fields[CT_N] = {
    [CT_LISTEN] = {.name = "listen",
        .type = JSONV_STRING,
        .hint = "a string ADDRESS:PORT"},
    [CT_DATA_DIR] = {.name = "data_dir",
        .type = JSONV_STRING,
        .min = 1,
        .max = CONFIG_STR_MAX(data_dir)},
    [CT_WORKSPACE_ROOT] = {.name = "workspace_root",
        .type = JSONV_STRING,
        .min = 1,
        .max = CONFIG_STR_MAX(workspace_root)},
    [CT_DOCKER_SOCKET] = {.name = "docker_socket",
        .type = JSONV_STRING,
        .min = 1,
        .max = CONFIG_STR_MAX(docker_socket)},
    [CT_IMAGES] = {.name = "images", .type = JSONV_OBJECT},
    [CT_NETWORK] = {.name = "network",
        .type = JSONV_STRING,
        .min = 1,
        .max = CONFIG_STR_MAX(network)},
    [CT_RUNTIME] = {.name = "runtime",
        .type = JSONV_STRING,
        .hint = "\"runc\" or \"runsc\""},
    [CT_LIMITS] = {.name = "limits", .type = JSONV_OBJECT},
    [CT_OUTPUT_MAX] = {.name = "output_max_bytes",
        .type = JSONV_INT,
        .min = 1024,
        .max = (long long)EXEC_MAX_OUTPUT_MAX},
    [CT_TTL] = {.name = "ttl_seconds",
        .type = JSONV_INT,
        .min = 10,
        .max = SB_MAX_TTL_SEC},
    [CT_REAPER] = {.name = "reaper_interval_seconds",
        .type = JSONV_INT,
        .min = 1,
        .max = 3600},
    [CT_DEBUG] = {.name = "debug", .type = JSONV_BOOL},
    [CT_EGRESS] = {.name = "egress", .type = JSONV_ANY},
    [CT_SINKS] = {.name = "sinks", .type = JSONV_ANY},
    [CT_REGISTRIES] = {.name = "registries", .type = JSONV_ANY},
    [CT_POOL] = {.name = "pool", .type = JSONV_OBJECT},
    [CT_SYNC_TTL] = {.name = "sync_ttl_seconds",
        .type = JSONV_INT,
        .min = 1,
        .max = API_SYNC_TTL_SEC},
    [CT_AUDIT] = {.name = "audit", .type = JSONV_ANY},
    [CT_PREVIEW] = {.name = "preview", .type = JSONV_ANY},
    [CT_SUPERVISOR] = {.name = "supervisor", .type = JSONV_BOOL},
    [CT_HELPERS_DIR] = {.name = "helpers_dir",
        .type = JSONV_STRING,
        .min = 1,
        .max = CONFIG_STR_MAX(helpers_dir)},
    [CT_LOG] = {.name = "log", .type = JSONV_OBJECT},
};

static const struct jsonv_object config_top_spec = {
    .what = "configuration",
    .fields = config_top_fields,
    .nfields = CT_N,
};

enum { CL_MEMORY, CL_CPUS, CL_PIDS, CL_TIMEOUT, CL_DISK, CL_TMP, CL_N };

static const struct jsonv_field config_limit_fields[CL_N] = {
    [CL_MEMORY] = {.name = "memory_mb",
        .type = JSONV_INT,
        .min = SB_MIN_MEMORY_MB,
        .max = SB_MAX_MEMORY_MB},
    [CL_CPUS] = {.name = "cpus", .type = JSONV_NUMBER},
    [CL_PIDS] = {.name = "pids",
        .type = JSONV_INT,
        .min = SB_MIN_PIDS,
        .max = SB_MAX_PIDS},
    [CL_TIMEOUT] = {.name = "timeout_ms",
        .type = JSONV_INT,
        .min = 1,
        .max = EXEC_MAX_TIMEOUT_MS},
    [CL_DISK] = {.name = "disk_mb",
        .type = JSONV_INT,
        .min = SB_MIN_DISK_MB,
        .max = SB_MAX_DISK_MB},
    [CL_TMP] = {.name = "tmp_mb", .type = JSONV_INT, .min = 1, .max = 4096},
};

static const struct jsonv_object config_limits_spec = {
    .what = "limits",
    .fields = config_limit_fields,
    .nfields = CL_N,
};

/* Per language, in the order of config_languages[]. */
#define CONFIG_IMAGE(lang)                                                     \
	{                                                                      \
		.name = lang, .type = JSONV_STRING, .min = 1,                  \
		.max = CONFIG_STR_MAX(images[0]), .hint = "an image reference" \
	}
#define CONFIG_POOL(lang)                                                      \
	{                                                                      \
		.name = lang, .type = JSONV_INT, .min = 0, .max = SB_MAX_POOL  \
	}

static const struct jsonv_field config_image_fields[CONFIG_NLANG] = {
    CONFIG_IMAGE("python"),
    CONFIG_IMAGE("node"),
    CONFIG_IMAGE("go"),
    CONFIG_IMAGE("java"),
};

static const struct jsonv_object config_images_spec = {
    .what = "images",
    .fields = config_image_fields,
    .nfields = CONFIG_NLANG,
};

static const struct jsonv_field config_pool_fields[CONFIG_NLANG] = {
    CONFIG_POOL("python"),
    CONFIG_POOL("node"),
    CONFIG_POOL("go"),
    CONFIG_POOL("java"),
};

static const struct jsonv_object config_pool_spec = {
    .what = "pool",
    .fields = config_pool_fields,
    .nfields = CONFIG_NLANG,
};

int
config_language_index(const char *name)
{
	int i;

	for (i = 0; i < CONFIG_NLANG; i++)
		if (strcmp(name, config_languages[i]) == 0)
			return i;
	return -1;
}

/* Copies a string jsonv has bounded to fit dst, if present. */
static void
config_str_copy(json_t *v, char *dst, size_t dlen)
{
	if (v != NULL)
		(void)petri_strlcpy(dst, json_string_value(v), dlen);
}

/* Copies an integer jsonv has bounded to int range, if present. */
static void
config_int_copy(json_t *v, int *dst)
{
	if (v != NULL)
		*dst = (int)json_integer_value(v);
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
		jsonv_err_set(err, errlen, "listen: expected ADDRESS:PORT");
		return PETRI_ERR_INVAL;
	}
	hlen = (size_t)(colon - s);
	if (hlen >= sizeof(cfg->listen_host)) {
		jsonv_err_set(err, errlen, "listen: address too long");
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
	json_t *f[CL_N];
	double cpus;

	if (jsonv_object_read(
	        l, &config_limits_spec, "limits", f, err, errlen) != 0)
		return PETRI_ERR_INVAL;
	config_int_copy(f[CL_MEMORY], &lim->memory_mb);
	config_int_copy(f[CL_PIDS], &lim->pids);
	config_int_copy(f[CL_TIMEOUT], &lim->timeout_ms);
	config_int_copy(f[CL_DISK], &lim->disk_mb);
	config_int_copy(f[CL_TMP], &lim->tmp_mb);
	if (f[CL_CPUS] != NULL) {
		cpus = json_number_value(f[CL_CPUS]);
		if (cpus < 0.01 || cpus > SB_MAX_CPUS) {
			jsonv_err_set(err, errlen,
			    "limits.cpus: must be a number in [0.01, %g]",
			    SB_MAX_CPUS);
			return PETRI_ERR_INVAL;
		}
		lim->cpus = cpus;
	}
	return 0;
}

/* "images" and "pool": per-language objects. */
static int
config_parse_languages(
    json_t *const *top, struct petri_config *cfg, char *err, size_t errlen)
{
	json_t *f[CONFIG_NLANG];
	int i;

	if (top[CT_IMAGES] != NULL) {
		if (jsonv_object_read(top[CT_IMAGES], &config_images_spec,
		        "images", f, err, errlen) != 0)
			return PETRI_ERR_INVAL;
		for (i = 0; i < CONFIG_NLANG; i++)
			config_str_copy(
			    f[i], cfg->images[i], sizeof(cfg->images[i]));
	}
	if (top[CT_POOL] != NULL) {
		if (jsonv_object_read(top[CT_POOL], &config_pool_spec, "pool",
		        f, err, errlen) != 0)
			return PETRI_ERR_INVAL;
		for (i = 0; i < CONFIG_NLANG; i++) {
			cfg->pool[i] = 0;
			config_int_copy(f[i], &cfg->pool[i]);
		}
	}
	return 0;
}

/* The values of the top-level scalars jsonv has checked. */
static int
config_parse_scalars(
    json_t *const *f, struct petri_config *cfg, char *err, size_t errlen)
{
	int outmax = (int)EXEC_DEFAULT_OUTPUT_MAX;

	if (f[CT_LISTEN] != NULL &&
	    config_parse_listen(
	        json_string_value(f[CT_LISTEN]), cfg, err, errlen) != 0)
		return PETRI_ERR_INVAL;
	config_str_copy(f[CT_DATA_DIR], cfg->data_dir, sizeof(cfg->data_dir));
	config_str_copy(f[CT_WORKSPACE_ROOT], cfg->workspace_root,
	    sizeof(cfg->workspace_root));
	config_str_copy(f[CT_DOCKER_SOCKET], cfg->docker_socket,
	    sizeof(cfg->docker_socket));
	config_str_copy(f[CT_NETWORK], cfg->network, sizeof(cfg->network));
	config_str_copy(
	    f[CT_HELPERS_DIR], cfg->helpers_dir, sizeof(cfg->helpers_dir));
	if (f[CT_RUNTIME] != NULL) {
		if (strcmp(json_string_value(f[CT_RUNTIME]), "runc") != 0 &&
		    strcmp(json_string_value(f[CT_RUNTIME]), "runsc") != 0) {
			jsonv_err_set(err, errlen,
			    "runtime: must be \"runc\" or \"runsc\"");
			return PETRI_ERR_INVAL;
		}
		config_str_copy(f[CT_RUNTIME], cfg->default_runtime,
		    sizeof(cfg->default_runtime));
	}
	config_int_copy(f[CT_OUTPUT_MAX], &outmax);
	cfg->output_max = (size_t)outmax;
	config_int_copy(f[CT_TTL], &cfg->ttl_seconds);
	config_int_copy(f[CT_REAPER], &cfg->reaper_interval);
	config_int_copy(f[CT_SYNC_TTL], &cfg->sync_ttl);
	if (f[CT_DEBUG] != NULL)
		cfg->debug = json_is_true(f[CT_DEBUG]);
	if (f[CT_SUPERVISOR] != NULL)
		cfg->supervisor = json_is_true(f[CT_SUPERVISOR]);
	return 0;
}

/* "log": {"format": "text" | "kv" | "json"} (docs/operations.md). */
static int
config_parse_log(json_t *v, struct petri_config *cfg, char *err, size_t errlen)
{
	static const char *const names[] = {"text", "kv", "json"};
	const char *f, *k;
	json_t *x;
	int i;

	cfg->log_format = LOG_FORMAT_TEXT;
	if (v == NULL)
		return 0;
	json_object_foreach (v, k, x)
		if (strcmp(k, "format") != 0) {
			jsonv_err_set(err, errlen, "log: unknown key");
			return PETRI_ERR_INVAL;
		}
	if ((x = json_object_get(v, "format")) == NULL)
		return 0;
	if ((f = json_string_value(x)) != NULL)
		for (i = 0; i < 3; i++)
			if (strcmp(f, names[i]) == 0) {
				cfg->log_format = i;
				return 0;
			}
	jsonv_err_set(
	    err, errlen, "log.format: must be \"text\", \"kv\" or \"json\"");
	return PETRI_ERR_INVAL;
}

/* Sections other modules read at start: checked here, kept in raw. */
static int
config_check_modules(json_t *const *f, char *err, size_t errlen)
{
	struct egress_conf *ec = NULL;
	struct registries *rg = NULL;
	struct audit_witness_conf *wc = NULL;
	int r = PETRI_ERR_NOMEM;

	if (siem_config_check(f[CT_SINKS], err, errlen) != 0)
		return PETRI_ERR_INVAL;
	if ((ec = malloc(sizeof(*ec))) == NULL ||
	    (rg = malloc(sizeof(*rg))) == NULL ||
	    (wc = malloc(sizeof(*wc))) == NULL) {
		jsonv_err_set(err, errlen, "out of memory");
		goto out;
	}
	if ((r = egress_conf_parse(f[CT_EGRESS], ec, err, errlen)) != 0 ||
	    (r = registries_parse(f[CT_REGISTRIES], rg, err, errlen)) != 0 ||
	    (r = audit_witness_conf_parse(f[CT_AUDIT], wc, err, errlen)) != 0)
		goto out;
	{
		struct preview_conf pc;

		if ((r = preview_conf_parse(f[CT_PREVIEW], &pc, err, errlen)) !=
		    0)
			goto out;
	}
	r = 0;
out:
	free(ec);
	free(rg);
	free(wc);
	return r;
}

/* The embedded defaults of every setting. */
static void
config_defaults_set(struct petri_config *cfg)
{
	int i;

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
	cfg->output_max = EXEC_DEFAULT_OUTPUT_MAX;
	cfg->ttl_seconds = SB_DEFAULT_TTL_SEC;
	cfg->supervisor = 1; /* petri-init in new sandboxes */
	cfg->pool[0] = 2; /* python */
	cfg->pool[1] = 2; /* node */
	cfg->pool[2] = 1; /* go */
	cfg->pool[3] = 1; /* java */
	cfg->reaper_interval = 10;
	cfg->sync_ttl = API_SYNC_TTL_SEC;
}

int
config_parse(json_t *doc, struct petri_config *cfg, char *err, size_t errlen)
{
	json_t *f[CT_N];
	int r;

	config_defaults_set(cfg);
	if (doc == NULL) {
		cfg->raw = json_object();
		return cfg->raw != NULL ? 0 : PETRI_ERR_NOMEM;
	}
	if (jsonv_object_read(doc, &config_top_spec, NULL, f, err, errlen) !=
	        0 ||
	    config_parse_scalars(f, cfg, err, errlen) != 0 ||
	    config_parse_languages(f, cfg, err, errlen) != 0 ||
	    config_parse_log(f[CT_LOG], cfg, err, errlen) != 0 ||
	    (f[CT_LIMITS] != NULL &&
	        config_parse_limits(f[CT_LIMITS], &cfg->limits, err, errlen) !=
	            0))
		return PETRI_ERR_INVAL;
	if ((r = config_check_modules(f, err, errlen)) != 0)
		return r;
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
	json_object_set_new(j, "sync_ttl_seconds", json_integer(cfg->sync_ttl));
	json_object_set_new(j, "debug", json_boolean(cfg->debug));
	json_object_set_new(j, "supervisor", json_boolean(cfg->supervisor));
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
