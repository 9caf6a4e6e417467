/*
 * siem_int.h: what the SIEM export's files share (siem.c, siem_config.c,
 * siem_syslog.c, siem_http.c, siem_file.c); not for other modules.
 */
#ifndef PETRI_SIEM_INT_H
#define PETRI_SIEM_INT_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "jsonv.h" /* jsonv_err_set(): messages say "what: detail" */
#include "siem.h"
#include "siem_format.h"

/* Limits and defaults of a sink's configuration (docs/configuration.md). */
#define SIEM_URL_MAX 2048
#define SIEM_HOST_MAX 255
#define SIEM_PATH_MAX (PATH_MAX - 32) /* room for ".N" and temp names */
#define SIEM_SECRET_MAX 8192 /* a token or HMAC key file */
#define SIEM_KEYFILE_MAX (64UL << 10) /* a PEM private key file */
#define SIEM_HMAC_MIN 16 /* bytes of a webhook key */
#define SIEM_REPLY_MAX (64UL << 10) /* bytes of an HTTP answer kept */
#define SIEM_BATCH_EVENTS_MAX 1000 /* = AUDIT_LOG_MAX_RANGE */
#define SIEM_BATCH_BYTES_MIN (64UL << 10)
#define SIEM_BATCH_BYTES_MAX (16UL << 20)
#define SIEM_STATUS_ERR_MAX 256 /* last_error text */
#define SIEM_POLL_MS 200 /* how often blocked I/O checks stop */
#define SIEM_FETCH_CHUNK 200 /* records read from the store at once */
#define SIEM_NICE 10 /* sink threads yield to the append path */
#define SIEM_CURSOR_SYNC_MS 1000 /* cursor saves during a backlog */

enum siem_type {
	SIEM_SYSLOG = 0,
	SIEM_HEC,
	SIEM_FILE,
	SIEM_WEBHOOK,
};

/* One sink's configuration, checked (siem_sink_cfg_parse). */
struct siem_sink_cfg {
	char name[SIEM_NAME_MAX + 1];
	enum siem_type type;
	enum siem_format format;
	int start_end; /* start at the log's end, not at "start" */
	uint64_t start; /* first seq when no cursor exists */
	int batch_events;
	size_t batch_bytes;
	int linger_ms;
	size_t max_event;
	int retry_initial_ms;
	int retry_max_ms;
	int timeout_ms;
	/* TLS (syslog with tls, hec, webhook) */
	char ca_file[SIEM_PATH_MAX];
	char cert_file[SIEM_PATH_MAX];
	char key_file[SIEM_PATH_MAX];
	/* syslog */
	char host[SIEM_HOST_MAX + 1];
	char port[8];
	int tls;
	char server_name[SIEM_HOST_MAX + 1];
	int facility;
	char hostname[SIEM_HOSTNAME_MAX + 1];
	char app_name[SIEM_APPNAME_MAX + 1];
	/* hec, webhook */
	char url[SIEM_URL_MAX + 1];
	char secret_file[SIEM_PATH_MAX]; /* token_file / hmac_key_file */
	int ack;
	int ack_timeout_ms;
	char hec_index[SIEM_HEC_FIELD_MAX + 1];
	char hec_source[SIEM_HEC_FIELD_MAX + 1];
	char hec_sourcetype[SIEM_HEC_FIELD_MAX + 1];
	char hec_host[SIEM_HEC_FIELD_MAX + 1];
	/* file */
	char path[SIEM_PATH_MAX];
	uint64_t rotate_bytes; /* 0: never */
	int rotate_keep;
	int fsync;
	int mode;
};

/*
 * Parses and checks one sink object into cfg (pure).  Returns 0 or
 * PETRI_ERR_INVAL with err naming the key.
 */
int siem_sink_cfg_parse(
    json_t *o, struct siem_sink_cfg *cfg, char *err, size_t errlen) PETRI_WUR;

struct siem_sink;

/* A transport: set up once, then one call per batch. */
struct siem_transport {
	/* Loads files and secrets, builds TLS contexts.  Returns 0 or error. */
	int (*init)(struct siem_sink *sk, char *err, size_t errlen);
	/*
	 * Delivers one batch of n events (p, len bytes; first..first+n-1).
	 * Without a confirm step: returns 0 once the receiver has accepted
	 * all of it.  With one: returns 0 once all of it is handed over,
	 * and confirm() must follow.  Else a PETRI_ERR_* code with err set
	 * (no secret in it), and nothing is left open.
	 */
	int (*send)(struct siem_sink *sk, const unsigned char *p, size_t len,
	    uint64_t first, size_t n, char *err, size_t errlen);
	/*
	 * NULL, or waits until the receiver has accepted the batch of the
	 * last successful send() and ends that exchange.  Returns 0 or a
	 * PETRI_ERR_* code with err set.
	 */
	int (*confirm)(struct siem_sink *sk, char *err, size_t errlen);
	/* Releases what init made (wiping secrets).  Safe after a failed init. */
	void (*fini)(struct siem_sink *sk);
};

extern const struct siem_transport siem_syslog_transport;
extern const struct siem_transport siem_hec_transport;
extern const struct siem_transport siem_webhook_transport;
extern const struct siem_transport siem_file_transport;

/* A running sink. */
struct siem_sink {
	struct siem *siem;
	struct siem_sink_cfg cfg;
	struct siem_fmt_ctx fmt;
	const struct siem_transport *tp;
	void *tpdata; /* the transport's own state */
	pthread_t thread;
	int running;
	char cursor_path[PATH_MAX];
	uint64_t saved; /* the cursor in the file (sink thread only) */
	int64_t saved_ms;
	char target[SIEM_URL_MAX + 1]; /* for the status: address/url/path */

	/* status, under mu */
	pthread_mutex_t mu;
	uint64_t cursor; /* next seq to deliver */
	uint64_t delivered;
	uint64_t errors;
	int64_t last_error_usec;
	int64_t last_ok_usec;
	char last_error[SIEM_STATUS_ERR_MAX];
	const char *state;
};

/* Non-zero once siem_close() began: long operations give up. */
int siem_stopping(const struct siem_sink *sk);

/*
 * Sleeps ms milliseconds, or less when siem_close() begins.  Returns 0, or
 * PETRI_ERR_STATE when stopping.
 */
int siem_sleep(const struct siem_sink *sk, int ms);

/* The log's origin (for HEC source, webhook headers). */
const char *siem_origin(const struct siem_sink *sk);

/*
 * Reads a secret file (regular, at most max bytes, trailing CR/LF and
 * spaces dropped, not empty) into sodium_malloc'd memory (*out, *lenp,
 * NUL-terminated; free with sodium_free()).  Returns 0, PETRI_ERR_NOTFOUND,
 * _IO, _TOOBIG, _INVAL (empty) or _NOMEM.
 */
int siem_secret_read(
    const char *path, size_t max, unsigned char **out, size_t *lenp) PETRI_WUR;

#endif /* PETRI_SIEM_INT_H */
