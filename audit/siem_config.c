/*
 * siem_config.c: the "sinks" configuration, checked strictly (pure: no
 * file is opened here; files are read when the keeper starts the sinks).
 * Every key is documented in docs/configuration.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siem_int.h"
#include "util.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const keys_common[] = {"name", "type", "format", "start",
    "batch_events", "batch_bytes", "linger_ms", "max_event_bytes",
    "retry_initial_ms", "retry_max_ms", "timeout_ms", NULL};
static const char *const keys_syslog[] = {"address", "tls", "ca_file",
    "cert_file", "key_file", "server_name", "facility", "hostname", "app_name",
    NULL};
static const char *const keys_hec[] = {"url", "token_file", "ack",
    "ack_timeout_ms", "index", "source", "sourcetype", "host", "ca_file",
    "cert_file", "key_file", NULL};
static const char *const keys_webhook[] = {
    "url", "hmac_key_file", "ca_file", "cert_file", "key_file", NULL};
static const char *const keys_file[] = {
    "path", "rotate_bytes", "rotate_keep", "fsync", "mode", NULL};

static int
known(const char *k, const char *const *keys)
{
	for (; *keys != NULL; keys++)
		if (strcmp(k, *keys) == 0)
			return 1;
	return 0;
}

/* A string of 1..max bytes without NUL or control characters. */
static int
cfg_str(json_t *o, const char *name, const char *key, char *dst, size_t dlen,
    int required, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	size_t i, n;

	if (v == NULL) {
		if (!required)
			return 0;
		snprintf(
		    err, errlen, "sinks.%s: \"%s\" is required", name, key);
		return PETRI_ERR_INVAL;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (s == NULL || n == 0 || n >= dlen || strlen(s) != n)
		goto bad;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			goto bad;
	memcpy(dst, s, n + 1);
	return 0;
bad:
	snprintf(err, errlen,
	    "sinks.%s.%s: must be a non-empty string of at most %zu "
	    "bytes without control characters",
	    name, key, dlen - 1);
	return PETRI_ERR_INVAL;
}

/* Like cfg_str, and printable US-ASCII without spaces (RFC 5424 fields). */
static int
cfg_ascii(json_t *o, const char *name, const char *key, char *dst, size_t dlen,
    char *err, size_t errlen)
{
	size_t i;
	int r;

	if ((r = cfg_str(o, name, key, dst, dlen, 0, err, errlen)) != 0)
		return r;
	for (i = 0; dst[i] != '\0'; i++)
		if (dst[i] <= 32 || dst[i] >= 127) {
			snprintf(err, errlen,
			    "sinks.%s.%s: printable ASCII without "
			    "spaces only",
			    name, key);
			return PETRI_ERR_INVAL;
		}
	return 0;
}

/* An absolute path. */
static int
cfg_path(json_t *o, const char *name, const char *key, char *dst, size_t dlen,
    int required, char *err, size_t errlen)
{
	int r;

	if ((r = cfg_str(o, name, key, dst, dlen, required, err, errlen)) != 0)
		return r;
	if (dst[0] != '\0' && dst[0] != '/') {
		snprintf(err, errlen, "sinks.%s.%s: must be an absolute path",
		    name, key);
		return PETRI_ERR_INVAL;
	}
	return 0;
}

static int
cfg_int(json_t *o, const char *name, const char *key, long long min,
    long long max, long long *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		snprintf(err, errlen,
		    "sinks.%s.%s: must be an integer in [%lld, %lld]", name,
		    key, min, max);
		return PETRI_ERR_INVAL;
	}
	*out = json_integer_value(v);
	return 0;
}

static int
cfg_bool(json_t *o, const char *name, const char *key, int *out, char *err,
    size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "sinks.%s.%s: must be true or false",
		    name, key);
		return PETRI_ERR_INVAL;
	}
	*out = json_is_true(v);
	return 0;
}

/* "host:port" or "[v6]:port" into cfg->host and cfg->port. */
static int
cfg_address(const char *s, struct siem_sink_cfg *cfg, char *err, size_t errlen)
{
	const char *colon, *h = s, *he;
	long long port;
	size_t n;

	if (s[0] == '[') {
		h = s + 1;
		if ((he = strchr(h, ']')) == NULL || he[1] != ':')
			goto bad;
		colon = he + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			goto bad;
		he = colon;
	}
	n = (size_t)(he - h);
	if (n == 0 || n > SIEM_HOST_MAX ||
	    petri_strtonum(colon + 1, 1, 65535, &port) != 0)
		goto bad;
	memcpy(cfg->host, h, n);
	cfg->host[n] = '\0';
	if (strpbrk(cfg->host, " /[]@") != NULL)
		goto bad;
	snprintf(cfg->port, sizeof(cfg->port), "%lld", port);
	return 0;
bad:
	snprintf(err, errlen,
	    "sinks.%s.address: expected HOST:PORT or [IPV6]:PORT", cfg->name);
	return PETRI_ERR_INVAL;
}

/* https://host[:port][/path]: no user info, no spaces, no fragment. */
static int
cfg_url(const char *name, const char *url, char *err, size_t errlen)
{
	const char *h, *end;

	if (strncmp(url, "https://", 8) != 0)
		goto bad;
	h = url + 8;
	end = h + strcspn(h, "/?#");
	if (end == h || memchr(h, '@', (size_t)(end - h)) != NULL ||
	    strpbrk(url, " #\\") != NULL)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen,
	    "sinks.%s.url: must be https://HOST[:PORT][/PATH] without "
	    "user information",
	    name);
	return PETRI_ERR_INVAL;
}

/* Octal permission bits "0600".."0666" without execute bits. */
static int
cfg_mode(json_t *o, const char *name, int *mode, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, "mode");
	const char *s;
	int m = 0;

	if (v == NULL)
		return 0;
	if ((s = json_string_value(v)) == NULL || strlen(s) != 4 || s[0] != '0')
		goto bad;
	for (s++; *s != '\0'; s++) {
		if (*s < '0' || *s > '7')
			goto bad;
		m = m * 8 + (*s - '0');
	}
	if ((m & 0111) != 0 || (m & 0600) != 0600)
		goto bad;
	*mode = m;
	return 0;
bad:
	snprintf(err, errlen,
	    "sinks.%s.mode: an octal string such as \"0640\" with "
	    "owner read and write and no execute bits",
	    name);
	return PETRI_ERR_INVAL;
}

static int
cfg_common(json_t *o, struct siem_sink_cfg *c, char *err, size_t errlen)
{
	json_t *v;
	const char *s;
	long long n;

	if ((v = json_object_get(o, "format")) != NULL) {
		if ((s = json_string_value(v)) == NULL ||
		    siem_format_from_name(s) < 0) {
			snprintf(err, errlen,
			    "sinks.%s.format: one of \"json\", \"cef\", "
			    "\"ocsf\", \"ecs\"",
			    c->name);
			return PETRI_ERR_INVAL;
		}
		c->format = (enum siem_format)siem_format_from_name(s);
	}
	if ((v = json_object_get(o, "start")) != NULL) {
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			c->start = (uint64_t)json_integer_value(v);
		else if (json_is_string(v) &&
		    strcmp(json_string_value(v), "end") == 0)
			c->start_end = 1;
		else if (!json_is_string(v) ||
		    strcmp(json_string_value(v), "beginning") != 0) {
			snprintf(err, errlen,
			    "sinks.%s.start: \"beginning\", \"end\" or a "
			    "sequence number",
			    c->name);
			return PETRI_ERR_INVAL;
		}
	}
	n = c->batch_events;
	if (cfg_int(o, c->name, "batch_events", 1, SIEM_BATCH_EVENTS_MAX, &n,
	        err, errlen) != 0)
		return PETRI_ERR_INVAL;
	c->batch_events = (int)n;
	n = (long long)c->batch_bytes;
	if (cfg_int(o, c->name, "batch_bytes", (long long)SIEM_BATCH_BYTES_MIN,
	        (long long)SIEM_BATCH_BYTES_MAX, &n, err, errlen) != 0)
		return PETRI_ERR_INVAL;
	c->batch_bytes = (size_t)n;
	n = c->linger_ms;
	if (cfg_int(o, c->name, "linger_ms", 0, 10000, &n, err, errlen) != 0)
		return PETRI_ERR_INVAL;
	c->linger_ms = (int)n;
	n = (long long)c->max_event;
	if (cfg_int(o, c->name, "max_event_bytes", SIEM_EVENT_MIN,
	        (long long)SIEM_EVENT_MAX, &n, err, errlen) != 0)
		return PETRI_ERR_INVAL;
	c->max_event = (size_t)n;
	n = c->retry_initial_ms;
	if (cfg_int(o, c->name, "retry_initial_ms", 10, 60000, &n, err,
	        errlen) != 0)
		return PETRI_ERR_INVAL;
	c->retry_initial_ms = (int)n;
	n = c->retry_max_ms;
	if (cfg_int(
	        o, c->name, "retry_max_ms", 100, 3600000, &n, err, errlen) != 0)
		return PETRI_ERR_INVAL;
	c->retry_max_ms = (int)n;
	if (c->retry_max_ms < c->retry_initial_ms) {
		snprintf(err, errlen,
		    "sinks.%s.retry_max_ms: must not be below "
		    "retry_initial_ms",
		    c->name);
		return PETRI_ERR_INVAL;
	}
	n = c->timeout_ms;
	if (cfg_int(o, c->name, "timeout_ms", 100, 600000, &n, err, errlen) !=
	    0)
		return PETRI_ERR_INVAL;
	c->timeout_ms = (int)n;
	return 0;
}

static int
cfg_tls_files(json_t *o, struct siem_sink_cfg *c, char *err, size_t errlen)
{
	if (cfg_path(o, c->name, "ca_file", c->ca_file, sizeof(c->ca_file), 0,
	        err, errlen) != 0 ||
	    cfg_path(o, c->name, "cert_file", c->cert_file,
	        sizeof(c->cert_file), 0, err, errlen) != 0 ||
	    cfg_path(o, c->name, "key_file", c->key_file, sizeof(c->key_file),
	        0, err, errlen) != 0)
		return PETRI_ERR_INVAL;
	if ((c->cert_file[0] == '\0') != (c->key_file[0] == '\0')) {
		snprintf(err, errlen,
		    "sinks.%s: cert_file and key_file go together", c->name);
		return PETRI_ERR_INVAL;
	}
	return 0;
}

static int
cfg_syslog(json_t *o, struct siem_sink_cfg *c, char *err, size_t errlen)
{
	char addr[SIEM_HOST_MAX + 16];
	long long n = c->facility;

	if (cfg_str(o, c->name, "address", addr, sizeof(addr), 1, err,
	        errlen) != 0 ||
	    cfg_address(addr, c, err, errlen) != 0 ||
	    cfg_bool(o, c->name, "tls", &c->tls, err, errlen) != 0 ||
	    cfg_tls_files(o, c, err, errlen) != 0 ||
	    cfg_ascii(o, c->name, "server_name", c->server_name,
	        sizeof(c->server_name), err, errlen) != 0 ||
	    cfg_int(o, c->name, "facility", 0, 23, &n, err, errlen) != 0 ||
	    cfg_ascii(o, c->name, "hostname", c->hostname, sizeof(c->hostname),
	        err, errlen) != 0 ||
	    cfg_ascii(o, c->name, "app_name", c->app_name, sizeof(c->app_name),
	        err, errlen) != 0)
		return PETRI_ERR_INVAL;
	c->facility = (int)n;
	if (!c->tls &&
	    (c->ca_file[0] != '\0' || c->cert_file[0] != '\0' ||
	        c->server_name[0] != '\0')) {
		snprintf(err, errlen,
		    "sinks.%s: ca_file, cert_file, key_file and server_name "
		    "need \"tls\": true",
		    c->name);
		return PETRI_ERR_INVAL;
	}
	if (c->server_name[0] == '\0')
		petri_strlcpy(c->server_name, c->host, sizeof(c->server_name));
	snprintf(c->url, sizeof(c->url), "%s://%s%s%s:%s",
	    c->tls ? "tls" : "tcp", strchr(c->host, ':') ? "[" : "", c->host,
	    strchr(c->host, ':') ? "]" : "", c->port);
	return 0;
}

static int
cfg_http(json_t *o, struct siem_sink_cfg *c, char *err, size_t errlen)
{
	long long n = c->ack_timeout_ms;

	if (cfg_str(o, c->name, "url", c->url, sizeof(c->url), 1, err,
	        errlen) != 0 ||
	    cfg_url(c->name, c->url, err, errlen) != 0 ||
	    cfg_tls_files(o, c, err, errlen) != 0)
		return PETRI_ERR_INVAL;
	if (c->type == SIEM_WEBHOOK)
		return cfg_path(o, c->name, "hmac_key_file", c->secret_file,
		    sizeof(c->secret_file), 1, err, errlen);
	if (cfg_path(o, c->name, "token_file", c->secret_file,
	        sizeof(c->secret_file), 1, err, errlen) != 0 ||
	    cfg_bool(o, c->name, "ack", &c->ack, err, errlen) != 0 ||
	    cfg_int(o, c->name, "ack_timeout_ms", 1000, 600000, &n, err,
	        errlen) != 0 ||
	    cfg_str(o, c->name, "index", c->hec_index, sizeof(c->hec_index), 0,
	        err, errlen) != 0 ||
	    cfg_str(o, c->name, "source", c->hec_source, sizeof(c->hec_source),
	        0, err, errlen) != 0 ||
	    cfg_str(o, c->name, "sourcetype", c->hec_sourcetype,
	        sizeof(c->hec_sourcetype), 0, err, errlen) != 0 ||
	    cfg_str(o, c->name, "host", c->hec_host, sizeof(c->hec_host), 0,
	        err, errlen) != 0)
		return PETRI_ERR_INVAL;
	c->ack_timeout_ms = (int)n;
	return 0;
}

static int
cfg_file(json_t *o, struct siem_sink_cfg *c, char *err, size_t errlen)
{
	long long n = (long long)c->rotate_bytes, keep = c->rotate_keep;

	if (cfg_path(o, c->name, "path", c->path, sizeof(c->path), 1, err,
	        errlen) != 0 ||
	    cfg_int(o, c->name, "rotate_bytes", 0, 1LL << 40, &n, err,
	        errlen) != 0 ||
	    cfg_int(o, c->name, "rotate_keep", 1, 100, &keep, err, errlen) !=
	        0 ||
	    cfg_bool(o, c->name, "fsync", &c->fsync, err, errlen) != 0 ||
	    cfg_mode(o, c->name, &c->mode, err, errlen) != 0)
		return PETRI_ERR_INVAL;
	if (n != 0 && n < (1LL << 16)) {
		snprintf(err, errlen,
		    "sinks.%s.rotate_bytes: 0 (never) or at least 65536",
		    c->name);
		return PETRI_ERR_INVAL;
	}
	c->rotate_bytes = (uint64_t)n;
	c->rotate_keep = (int)keep;
	petri_strlcpy(c->url, c->path, sizeof(c->url));
	return 0;
}

static int
name_valid(const char *s)
{
	size_t i;

	if (s[0] == '\0' || s[0] == '-' || s[0] == '_')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		        (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		        s[i] == '_'))
			return 0;
	return i <= SIEM_NAME_MAX;
}

int
siem_sink_cfg_parse(
    json_t *o, struct siem_sink_cfg *c, char *err, size_t errlen)
{
	static const char *const types[] = {"syslog", "hec", "file", "webhook"};
	const char *const *tkeys[] = {
	    keys_syslog, keys_hec, keys_file, keys_webhook};
	const char *k, *s;
	json_t *v;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (!json_is_object(o)) {
		snprintf(err, errlen, "sinks: each sink must be an object");
		return PETRI_ERR_INVAL;
	}
	s = json_string_value(json_object_get(o, "name"));
	if (s == NULL || strlen(s) > SIEM_NAME_MAX || !name_valid(s)) {
		snprintf(err, errlen,
		    "sinks: \"name\" is required: 1 to %d of [a-z0-9_-], "
		    "starting with a letter or digit",
		    SIEM_NAME_MAX);
		return PETRI_ERR_INVAL;
	}
	petri_strlcpy(c->name, s, sizeof(c->name));
	s = json_string_value(json_object_get(o, "type"));
	for (i = 0; s != NULL && i < NELEM(types); i++)
		if (strcmp(s, types[i]) == 0)
			break;
	if (s == NULL || i == NELEM(types)) {
		snprintf(err, errlen,
		    "sinks.%s.type: one of \"syslog\", \"hec\", \"file\", "
		    "\"webhook\"",
		    c->name);
		return PETRI_ERR_INVAL;
	}
	c->type = (enum siem_type)i;
	json_object_foreach (o, k, v) {
		if (!known(k, keys_common) && !known(k, tkeys[c->type])) {
			snprintf(err, errlen,
			    "sinks.%s: unknown key \"%.64s\" for a %s sink",
			    c->name, k, types[c->type]);
			return PETRI_ERR_INVAL;
		}
	}
	/* defaults */
	c->format = SIEM_FORMAT_JSON;
	c->batch_events = 500;
	c->batch_bytes = 1UL << 20;
	c->linger_ms = 100;
	c->max_event = c->type == SIEM_SYSLOG ? 65536 : 1UL << 20;
	c->retry_initial_ms = 500;
	c->retry_max_ms = 60000;
	c->timeout_ms = 10000;
	c->tls = 1;
	c->facility = 13; /* log audit */
	c->ack_timeout_ms = 60000;
	c->rotate_bytes = 100UL << 20;
	c->rotate_keep = 5;
	c->fsync = 1;
	c->mode = 0600;
	if (cfg_common(o, c, err, errlen) != 0)
		return PETRI_ERR_INVAL;
	switch (c->type) {
	case SIEM_SYSLOG:
		return cfg_syslog(o, c, err, errlen);
	case SIEM_HEC:
	case SIEM_WEBHOOK:
		return cfg_http(o, c, err, errlen);
	case SIEM_FILE:
		return cfg_file(o, c, err, errlen);
	}
	return PETRI_ERR_INVAL;
}

int
siem_config_check(json_t *sinks, char *err, size_t errlen)
{
	struct siem_sink_cfg *cfg;
	char names[SIEM_MAX_SINKS][SIEM_NAME_MAX + 1];
	json_t *o;
	size_t i, j;
	int r = 0;

	if (sinks == NULL)
		return 0;
	if (!json_is_array(sinks) || json_array_size(sinks) > SIEM_MAX_SINKS) {
		snprintf(err, errlen,
		    "sinks: must be an array of at most %d "
		    "sinks",
		    SIEM_MAX_SINKS);
		return PETRI_ERR_INVAL;
	}
	if ((cfg = malloc(sizeof(*cfg))) == NULL) {
		snprintf(err, errlen, "sinks: out of memory");
		return PETRI_ERR_NOMEM;
	}
	json_array_foreach (sinks, i, o) {
		if ((r = siem_sink_cfg_parse(o, cfg, err, errlen)) != 0)
			break;
		for (j = 0; j < i; j++)
			if (strcmp(names[j], cfg->name) == 0) {
				snprintf(err, errlen,
				    "sinks.%s: the name is used twice",
				    cfg->name);
				r = PETRI_ERR_INVAL;
				goto out;
			}
		petri_strlcpy(names[i], cfg->name, sizeof(names[i]));
	}
out:
	free(cfg);
	return r;
}
