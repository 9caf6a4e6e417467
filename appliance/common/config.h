/*
 * config.h: the appliance configuration (the JSON file of `petrid --config`)
 * with its embedded defaults.  Every key is documented in
 * docs/configuration.md; unknown keys are refused.
 */
#ifndef PETRI_CONFIG_H
#define PETRI_CONFIG_H

#include <limits.h>
#include <stddef.h>

#include <jansson.h>

#include "petri_err.h"

#define CONFIG_NLANG 4

struct config_limits {
	int memory_mb;
	double cpus;
	int pids;
	int timeout_ms;
	int disk_mb;
	int tmp_mb;
};

struct petri_config {
	char listen_host[64];
	int listen_port;
	char data_dir[PATH_MAX];
	char workspace_root[PATH_MAX]; /* default: <data_dir>/workspaces */
	char docker_socket[PATH_MAX];
	char helpers_dir[PATH_MAX]; /* petri-spawn, petri-deps/; "" = auto */
	char images[CONFIG_NLANG][256]; /* python, node, go, java */
	char network[64]; /* default: petri-<instance> */
	char default_runtime[16]; /* "runc" */
	struct config_limits limits; /* defaults for new sandboxes */
	size_t output_max; /* bytes kept per stream */
	int ttl_seconds;
	int reaper_interval;
	int sync_ttl; /* seconds a planned delta sync is kept */
	int pool[CONFIG_NLANG]; /* warm sandboxes kept per language */
	int debug;
	int supervisor; /* new sandboxes run petri-init (docs/architecture.md) */
	int log_format; /* LOG_FORMAT_* (log.h) */
	json_t *raw; /* the whole document, for modules */
};

/* The sandbox languages, indexed like petri_config.images. */
extern const char *const config_languages[CONFIG_NLANG];

/* Returns the index of a language name, or -1. */
int config_language_index(const char *name);

/*
 * Fills cfg from a parsed document (NULL: defaults only).  Unknown keys,
 * wrong types and out-of-range values are refused with a message in err.
 * On success cfg->raw holds a reference to doc (or an empty object).
 * Returns 0 or PETRI_ERR_INVAL.  Release with config_free().
 */
int config_parse(
    json_t *doc, struct petri_config *cfg, char *err, size_t errlen) PETRI_WUR;

/*
 * Reads and parses a configuration file (at most 1 MiB, strict JSON,
 * duplicate keys refused).  Returns 0 or PETRI_ERR_* with err set.
 */
int config_load(const char *path, struct petri_config *cfg, char *err,
    size_t errlen) PETRI_WUR;

/* Serialises the effective configuration (for handing to children). */
json_t *config_to_json(const struct petri_config *cfg);

/* Drops the reference to the raw document. */
void config_free(struct petri_config *cfg);

#endif /* PETRI_CONFIG_H */
