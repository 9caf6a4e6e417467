/* keeper_tsa.c: RFC 3161 timestamps of checkpoints (keeper_tsa.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "http_out.h"
#include "keeper_tsa.h"
#include "log.h"
#include "tsa.h"
#include "util.h"
#include "witness_conf.h"

#define KT_BACKOFF_MIN_MS 1000
#define KT_BACKOFF_MAX_MS 60000
#define KT_POLL_MS 1000

struct keeper_tsa {
	struct audit_log *log;
	struct audit_tsa_cfg cfg;
	pthread_t t;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a request now, a token stored, or stopping */
	int stopping;
	int now; /* an export wants a timestamp */
	uint64_t stamped; /* newest size with a stored token */
	int64_t gen_time;
	int64_t last_ms; /* monotonic time of the last request */
	int backoff_ms;
	uint64_t errors;
	const char *state;
	char last_error[192];
};

static void kt_fail(struct keeper_tsa *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
kt_fail(struct keeper_tsa *t, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&t->mu);
	va_start(ap, fmt);
	vsnprintf(t->last_error, sizeof(t->last_error), fmt, ap);
	va_end(ap);
	t->errors++;
	t->state = "failing";
	t->backoff_ms = t->backoff_ms == 0           ? KT_BACKOFF_MIN_MS
	    : t->backoff_ms >= KT_BACKOFF_MAX_MS / 2 ? KT_BACKOFF_MAX_MS
	                                             : t->backoff_ms * 2;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	log_warn("tsa: %s", t->last_error);
}

static CURL *
kt_curl_new(const struct keeper_tsa *t, struct curl_slist **hdrs)
{
	const struct http_out_cfg hc = {
	    .protocols = "http,https",
	    .connect_timeout_ms =
	        (long)(t->cfg.timeout_ms < 2000 ? t->cfg.timeout_ms : 2000),
	    .timeout_ms = (long)t->cfg.timeout_ms,
	    .user_agent = "petri-keeper",
	};
	CURL *c = http_out_new(&hc);

	*hdrs = curl_slist_append(
	    NULL, "Content-Type: application/timestamp-query");
	if (c == NULL || *hdrs == NULL) {
		curl_easy_cleanup(c);
		curl_slist_free_all(*hdrs);
		return NULL;
	}
	curl_easy_setopt(c, CURLOPT_URL, t->cfg.url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
	return c;
}

/* One request for the checkpoint note (size size); stores the token. */
static void
kt_stamp(
    struct keeper_tsa *t, CURL *c, const char *note, size_t nlen, uint64_t size)
{
	unsigned char digest[AUDIT_HASH_LEN], *req = NULL, *tok = NULL;
	size_t rlen = 0, toklen = 0;
	uint64_t nonce = 0;
	int64_t gen = 0;
	long status = 0;
	struct buf reply;
	CURLcode rc;
	int r;

	buf_init(&reply, AUDIT_TSA_REPLY_MAX);
	if (audit_tsa_digest(note, nlen, digest) != 0 ||
	    audit_tsa_request(digest, &req, &rlen, &nonce) != 0) {
		kt_fail(t, "cannot build a request");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rlen);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
	if ((rc = curl_easy_perform(c)) != CURLE_OK) {
		kt_fail(t, "%s", curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		kt_fail(t, "HTTP %ld", status);
		goto out;
	}
	if ((r = audit_tsa_reply_check(reply.data, reply.len, digest, nonce,
	         t->cfg.ca_file, &tok, &toklen, &gen)) != 0 ||
	    (r = audit_log_tsa_add(t->log, size, tok, toklen, gen)) != 0) {
		kt_fail(t, "no valid timestamp for size %llu: %s",
		    (unsigned long long)size, petri_strerror(r));
		goto out;
	}
	pthread_mutex_lock(&t->mu);
	t->stamped = size;
	t->gen_time = gen;
	t->backoff_ms = 0;
	t->state = "ok";
	t->last_error[0] = '\0';
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
out:
	free(req);
	free(tok);
	buf_free(&reply);
}

/* Whether a request is due now (mutex held). */
static int
kt_due(const struct keeper_tsa *t, uint64_t size)
{
	int64_t since = petri_mono_ms() - t->last_ms;

	if (size <= t->stamped)
		return 0;
	if (t->backoff_ms > 0)
		return since >= t->backoff_ms;
	return t->now || t->last_ms == 0 || since >= t->cfg.interval_ms;
}

static void *
kt_main(void *arg)
{
	struct keeper_tsa *t = arg;
	struct audit_checkpoint cp;
	struct curl_slist *hdrs = NULL;
	struct timespec ts;
	char *note = NULL;
	size_t nlen = 0;
	CURL *c;
	int due;

	if ((c = kt_curl_new(t, &hdrs)) == NULL) {
		kt_fail(t, "libcurl cannot start");
		return NULL;
	}
	pthread_mutex_lock(&t->mu);
	while (!t->stopping) {
		pthread_mutex_unlock(&t->mu);
		due = 0;
		if (audit_log_checkpoint_latest(t->log, &note, &nlen, &cp) ==
		    0) {
			pthread_mutex_lock(&t->mu);
			if ((due = kt_due(t, cp.size)) != 0) {
				t->now = 0;
				t->last_ms = petri_mono_ms();
			}
			pthread_mutex_unlock(&t->mu);
			if (due)
				kt_stamp(t, c, note, nlen, cp.size);
			free(note);
			note = NULL;
		}
		pthread_mutex_lock(&t->mu);
		if (!t->stopping && !t->now) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += KT_POLL_MS / 1000;
			(void)pthread_cond_timedwait(&t->cv, &t->mu, &ts);
		}
	}
	pthread_mutex_unlock(&t->mu);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	return NULL;
}

int
keeper_tsa_start(const json_t *audit, struct audit_log *log,
    struct keeper_tsa **out, char *err, size_t errlen)
{
	struct audit_witness_conf *conf;
	struct keeper_tsa *t;
	int r;

	*out = NULL;
	if ((conf = malloc(sizeof(*conf))) == NULL)
		return PETRI_ERR_NOMEM;
	if ((r = audit_witness_conf_parse(audit, conf, err, errlen)) != 0 ||
	    conf->tsa.url[0] == '\0') {
		free(conf);
		return r;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		free(t);
		free(conf);
		snprintf(err, errlen, "tsa: cannot start");
		return PETRI_ERR_NOMEM;
	}
	t->log = log;
	t->cfg = conf->tsa;
	t->state = "starting";
	free(conf);
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	if (pthread_create(&t->t, NULL, kt_main, t) != 0) {
		pthread_mutex_destroy(&t->mu);
		pthread_cond_destroy(&t->cv);
		free(t);
		snprintf(err, errlen, "tsa: cannot start a thread");
		return PETRI_ERR_NOMEM;
	}
	*out = t;
	return 0;
}

int
keeper_tsa_wait(struct keeper_tsa *t, uint64_t size, int timeout_ms)
{
	struct timespec ts;
	int r = 0;

	if (t == NULL)
		return 0;
	petri_deadline(CLOCK_REALTIME, timeout_ms, &ts);
	pthread_mutex_lock(&t->mu);
	t->now = 1;
	pthread_cond_broadcast(&t->cv);
	while (t->stamped < size && !t->stopping)
		if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) != 0) {
			r = PETRI_ERR_TIMEOUT;
			break;
		}
	pthread_mutex_unlock(&t->mu);
	return r;
}

json_t *
keeper_tsa_status(struct keeper_tsa *t)
{
	char gen[PETRI_TIME_MAX];
	json_t *j;

	if (t == NULL)
		return NULL;
	pthread_mutex_lock(&t->mu);
	if (t->gen_time > 0)
		petri_time_rfc3339(t->gen_time * 1000000, gen);
	j = json_pack("{s:s, s:s, s:I, s:s?, s:I, s:s?}", "url", t->cfg.url,
	    "state", t->state, "timestamped_size", (json_int_t)t->stamped,
	    "gen_time", t->gen_time > 0 ? gen : NULL, "errors",
	    (json_int_t)t->errors, "last_error",
	    t->last_error[0] != '\0' ? t->last_error : NULL);
	pthread_mutex_unlock(&t->mu);
	return j;
}

void
keeper_tsa_stop(struct keeper_tsa *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	t->stopping = 1;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->t, NULL);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
}
