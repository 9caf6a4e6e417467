/*
 * keeper_witness.c: asks the configured witnesses to cosign checkpoints
 * (keeper_witness.h).  A thread per witness; the log is only read (the
 * newest checkpoint, a consistency proof) and written through
 * audit_log_cosig_add() once a cosignature verified.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "cosig.h"
#include "http_out.h"
#include "keeper_witness.h"
#include "log.h"
#include "util.h"
#include "witness_conf.h"

#define KW_REPLY_MAX 8192
#define KW_BACKOFF_MIN_MS 1000
#define KW_BACKOFF_MAX_MS 60000
#define KW_IDLE_MS 1000 /* look for a new checkpoint at least this often */

struct kw_one {
	struct keeper_witness *kw;
	struct audit_witness_cfg cfg;
	char url[AUDIT_WITNESS_URL_MAX + 32];
	pthread_t t;
	int started;
	/* under kw->mu */
	uint64_t witness_size; /* the size the witness holds, as we know it */
	uint64_t cosigned; /* newest size it cosigned for us */
	uint64_t errors;
	int64_t last_ok_usec;
	int backoff_ms;
	const char *state;
	char last_error[192];
};

struct keeper_witness {
	struct audit_log *log;
	int quorum, timeout_ms;
	size_t n;
	struct kw_one *w;
	pthread_mutex_t mu;
	pthread_cond_t kick; /* a new checkpoint, or stopping */
	pthread_cond_t cosigned; /* a cosignature arrived */
	uint64_t gen; /* kicks so far */
	int stopping;
};

static int
kw_stopping(struct keeper_witness *kw)
{
	int s;

	pthread_mutex_lock(&kw->mu);
	s = kw->stopping;
	pthread_mutex_unlock(&kw->mu);
	return s;
}

/* Ends a transfer in flight when the keeper stops. */
static int
kw_on_progress(
    void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return kw_stopping(arg) ? 1 : 0;
}

static void kw_fail(struct kw_one *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records a failure and doubles the back-off (mutex not held). */
static void
kw_fail(struct kw_one *o, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&o->kw->mu);
	va_start(ap, fmt);
	vsnprintf(o->last_error, sizeof(o->last_error), fmt, ap);
	va_end(ap);
	o->errors++;
	o->state = "failing";
	pthread_cond_broadcast(&o->kw->cosigned); /* waiters recount */
	o->backoff_ms = o->backoff_ms == 0           ? KW_BACKOFF_MIN_MS
	    : o->backoff_ms >= KW_BACKOFF_MAX_MS / 2 ? KW_BACKOFF_MAX_MS
	                                             : o->backoff_ms * 2;
	pthread_mutex_unlock(&o->kw->mu);
	log_warn("witness %s: %s", o->cfg.key.name, o->last_error);
}

/* Printable ASCII of an answer, for an error message. */
static void
kw_reply_text(const struct buf *b, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < b->len && o + 1 < outlen && o < 100; i++)
		out[o++] = b->data[i] >= 32 && b->data[i] < 127
		    ? (char)b->data[i]
		    : ' ';
	out[o] = '\0';
}

/* One POST; *status gets the HTTP status.  0 or PETRI_ERR_UNAVAIL. */
static int
kw_post(struct kw_one *o, CURL *c, const char *body, size_t len,
    struct buf *reply, long *status)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;

	reply->len = 0;
	curl_easy_setopt(c, CURLOPT_URL, o->url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	if (rc != CURLE_OK) {
		kw_fail(o, "%s",
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
		return PETRI_ERR_UNAVAIL;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

/* Verifies and stores the witness's answer to note (size size). */
static int
kw_accept(struct kw_one *o, const char *note, size_t nlen, uint64_t size,
    const struct buf *reply)
{
	struct audit_cosig cs;
	char *full;
	int r;

	if (reply->len == 0 || nlen + reply->len > AUDIT_NOTE_MAX ||
	    (full = malloc(nlen + reply->len + 1)) == NULL) {
		kw_fail(
		    o, "an answer of %zu bytes is no cosignature", reply->len);
		return PETRI_ERR_PROTO;
	}
	memcpy(full, note, nlen);
	memcpy(full + nlen, reply->data, reply->len);
	full[nlen + reply->len] = '\0';
	r = audit_cosig_verify(full, nlen + reply->len, &o->cfg.key, &cs);
	if (r == 0)
		r = audit_log_cosig_add(
		    o->kw->log, size, o->cfg.key.name, full + cs.off, cs.len);
	free(full);
	if (r != 0) {
		kw_fail(o, "answered no valid cosignature for size %llu (%s)",
		    (unsigned long long)size, petri_strerror(r));
		return r;
	}
	pthread_mutex_lock(&o->kw->mu);
	o->witness_size = o->cosigned = size;
	o->last_ok_usec = petri_now_usec();
	o->backoff_ms = 0;
	o->state = "ok";
	o->last_error[0] = '\0';
	pthread_cond_broadcast(&o->kw->cosigned);
	pthread_mutex_unlock(&o->kw->mu);
	return 0;
}

/*
 * One add-checkpoint of note (size size) from the size the witness holds.
 * Returns 0 (cosigned), 1 (the witness told us its size: try again) or an
 * error (recorded, back-off set).
 */
static int
kw_submit(struct kw_one *o, CURL *c, const char *note, size_t nlen,
    uint64_t size, struct buf *reply)
{
	struct audit_merkle_proof proof;
	uint64_t old, theirs;
	char *body = NULL, text[128];
	size_t blen = 0;
	long status = 0;
	int r;

	pthread_mutex_lock(&o->kw->mu);
	old = o->witness_size;
	pthread_mutex_unlock(&o->kw->mu);
	if (old > size) {
		kw_fail(o,
		    "the witness holds size %llu, past the log's %llu: "
		    "the log was rolled back or forked",
		    (unsigned long long)old, (unsigned long long)size);
		return PETRI_ERR_STATE;
	}
	memset(&proof, 0, sizeof(proof));
	if (old > 0 &&
	    (r = audit_log_prove_consistency(o->kw->log, old, size, &proof)) !=
	        0) {
		kw_fail(o, "no consistency proof from %llu: %s",
		    (unsigned long long)old, petri_strerror(r));
		return r;
	}
	if ((r = audit_witness_req_encode(
	         old, &proof, note, nlen, &body, &blen)) != 0) {
		kw_fail(o, "cannot encode the request: %s", petri_strerror(r));
		return r;
	}
	r = kw_post(o, c, body, blen, reply, &status);
	free(body);
	if (r != 0)
		return r;
	if (status == 200)
		return kw_accept(o, note, nlen, size, reply);
	if (status == 409 &&
	    audit_witness_size_parse(
	        (const char *)reply->data, reply->len, &theirs) == 0) {
		pthread_mutex_lock(&o->kw->mu);
		o->witness_size = theirs;
		pthread_mutex_unlock(&o->kw->mu);
		if (theirs != old)
			return 1;
		kw_fail(o,
		    "refused size %llu: it holds another root for size %llu "
		    "(a fork)",
		    (unsigned long long)size, (unsigned long long)theirs);
		return PETRI_ERR_CRYPTO;
	}
	kw_reply_text(reply, text, sizeof(text));
	kw_fail(o, "refused size %llu from %llu: HTTP %ld %s",
	    (unsigned long long)size, (unsigned long long)old, status, text);
	return PETRI_ERR_PROTO;
}

static CURL *
kw_curl_new(struct keeper_witness *kw)
{
	const struct http_out_cfg hc = {
	    .protocols = "http,https",
	    .connect_timeout_ms =
	        (long)(kw->timeout_ms < 2000 ? kw->timeout_ms : 2000),
	    .timeout_ms = (long)kw->timeout_ms,
	    .keepalive = 1,
	    .user_agent = "petri-keeper",
	    .progress = kw_on_progress,
	    .progress_arg = kw,
	};

	return http_out_new(&hc);
}

/* Sleeps until kicked, the back-off or the idle period passes. */
static void
kw_sleep(struct kw_one *o, uint64_t *gen)
{
	struct keeper_witness *kw = o->kw;
	struct timespec ts;
	int ms;

	pthread_mutex_lock(&kw->mu);
	ms = o->backoff_ms > 0 ? o->backoff_ms : KW_IDLE_MS;
	petri_deadline(CLOCK_REALTIME, ms, &ts);
	/* a kick ends the idle wait, never a back-off */
	while (!kw->stopping && (o->backoff_ms > 0 || *gen == kw->gen))
		if (pthread_cond_timedwait(&kw->kick, &kw->mu, &ts) != 0)
			break;
	*gen = kw->gen;
	pthread_mutex_unlock(&kw->mu);
}

static void *
kw_main(void *arg)
{
	struct kw_one *o = arg;
	struct keeper_witness *kw = o->kw;
	struct audit_checkpoint cp;
	struct buf reply;
	uint64_t gen = 0, done;
	char *note = NULL;
	size_t nlen = 0;
	CURL *c;
	int tries, r;

	if ((c = kw_curl_new(kw)) == NULL) {
		kw_fail(o, "libcurl cannot start");
		return NULL;
	}
	buf_init(&reply, KW_REPLY_MAX);
	while (!kw_stopping(kw)) {
		if (audit_log_checkpoint_latest(kw->log, &note, &nlen, &cp) ==
		    0) {
			pthread_mutex_lock(&kw->mu);
			done = o->cosigned;
			pthread_mutex_unlock(&kw->mu);
			for (tries = 0; cp.size > done && tries < 3; tries++)
				if ((r = kw_submit(o, c, note, nlen, cp.size,
				         &reply)) != 1)
					break;
			free(note);
			note = NULL;
		}
		kw_sleep(o, &gen);
	}
	buf_free(&reply);
	curl_easy_cleanup(c);
	return NULL;
}

static void
kw_free(struct keeper_witness *kw)
{
	pthread_mutex_destroy(&kw->mu);
	pthread_cond_destroy(&kw->kick);
	pthread_cond_destroy(&kw->cosigned);
	free(kw->w);
	free(kw);
}

int
keeper_witness_start(const json_t *audit, struct audit_log *log,
    struct keeper_witness **out, char *err, size_t errlen)
{
	struct audit_witness_conf *conf = NULL;
	struct keeper_witness *kw = NULL;
	size_t i;
	int r = PETRI_ERR_NOMEM;

	*out = NULL;
	if ((conf = malloc(sizeof(*conf))) == NULL ||
	    (kw = calloc(1, sizeof(*kw))) == NULL)
		goto fail;
	if ((r = audit_witness_conf_parse(audit, conf, err, errlen)) != 0)
		goto fail;
	pthread_mutex_init(&kw->mu, NULL);
	pthread_cond_init(&kw->kick, NULL);
	pthread_cond_init(&kw->cosigned, NULL);
	kw->log = log;
	kw->quorum = conf->quorum;
	kw->timeout_ms = conf->timeout_ms;
	if (conf->n > 0 &&
	    ((kw->w = calloc(conf->n, sizeof(*kw->w))) == NULL ||
	        curl_global_init(CURL_GLOBAL_DEFAULT) != 0)) {
		snprintf(err, errlen, "witnesses: cannot start");
		r = PETRI_ERR_NOMEM;
		kw_free(kw);
		kw = NULL;
		goto fail;
	}
	for (i = 0; i < conf->n; i++) {
		struct kw_one *o = &kw->w[i];
		size_t ul = strlen(conf->w[i].url);

		o->kw = kw;
		o->cfg = conf->w[i];
		o->state = "starting";
		snprintf(o->url, sizeof(o->url), "%s%sadd-checkpoint",
		    o->cfg.url, ul > 0 && o->cfg.url[ul - 1] == '/' ? "" : "/");
		if (pthread_create(&o->t, NULL, kw_main, o) != 0) {
			snprintf(
			    err, errlen, "witnesses: cannot start a thread");
			kw->n = i;
			keeper_witness_stop(kw);
			free(conf);
			return PETRI_ERR_NOMEM;
		}
		o->started = 1;
		kw->n = i + 1;
	}
	free(conf);
	*out = kw;
	return 0;
fail:
	free(conf);
	free(kw);
	return r;
}

void
keeper_witness_kick(struct keeper_witness *kw)
{
	if (kw == NULL || kw->n == 0)
		return;
	pthread_mutex_lock(&kw->mu);
	kw->gen++;
	pthread_cond_broadcast(&kw->kick);
	pthread_mutex_unlock(&kw->mu);
}

/*
 * Whether enough witnesses cosigned size (mutex held): the quorum, and
 * every witness whose last answer was a cosignature.
 */
static int
kw_enough(const struct keeper_witness *kw, uint64_t size)
{
	size_t i;
	int have = 0, healthy = 0;

	for (i = 0; i < kw->n; i++) {
		have += kw->w[i].cosigned >= size;
		healthy += strcmp(kw->w[i].state, "ok") == 0;
	}
	return have >= (healthy > kw->quorum ? healthy : kw->quorum);
}

/* The newest size a quorum cosigned (mutex held). */
static uint64_t
kw_quorum_size(const struct keeper_witness *kw)
{
	uint64_t best = 0;
	size_t i, j;

	/* the largest s such that at least quorum witnesses have >= s */
	for (i = 0; i < kw->n; i++) {
		uint64_t s = kw->w[i].cosigned;
		int have = 0;

		for (j = 0; j < kw->n; j++)
			have += kw->w[j].cosigned >= s;
		if (have >= kw->quorum && s > best)
			best = s;
	}
	return best;
}

int
keeper_witness_wait(struct keeper_witness *kw, uint64_t size, int timeout_ms)
{
	struct timespec ts;
	int r = 0;

	if (kw == NULL || kw->n == 0)
		return 0;
	keeper_witness_kick(kw);
	petri_deadline(CLOCK_REALTIME, timeout_ms, &ts);
	pthread_mutex_lock(&kw->mu);
	while (!kw_enough(kw, size) && !kw->stopping)
		if (pthread_cond_timedwait(&kw->cosigned, &kw->mu, &ts) != 0) {
			r = PETRI_ERR_TIMEOUT;
			break;
		}
	pthread_mutex_unlock(&kw->mu);
	return r;
}

json_t *
keeper_witness_status(struct keeper_witness *kw, uint64_t log_size)
{
	char ts[PETRI_TIME_MAX];
	json_t *a, *j;
	size_t i;

	if (kw == NULL || kw->n == 0)
		return NULL;
	a = json_array();
	pthread_mutex_lock(&kw->mu);
	for (i = 0; i < kw->n; i++) {
		const struct kw_one *o = &kw->w[i];

		if (o->last_ok_usec > 0)
			petri_time_rfc3339(o->last_ok_usec, ts);
		json_array_append_new(a,
		    json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s?, "
		              "s:s?}",
		        "name", o->cfg.key.name, "url", o->cfg.url, "vkey",
		        o->cfg.vkey, "state", o->state, "cosigned_size",
		        (json_int_t)o->cosigned, "witness_size",
		        (json_int_t)o->witness_size, "lag",
		        (json_int_t)(log_size > o->cosigned
		                ? log_size - o->cosigned
		                : 0),
		        "errors", (json_int_t)o->errors, "last_error",
		        o->last_error[0] != '\0' ? o->last_error : NULL,
		        "last_ok", o->last_ok_usec > 0 ? ts : NULL));
	}
	j = json_pack("{s:i, s:I, s:o}", "quorum", kw->quorum, "cosigned_size",
	    (json_int_t)kw_quorum_size(kw), "witnesses", a);
	pthread_mutex_unlock(&kw->mu);
	return j;
}

void
keeper_witness_stop(struct keeper_witness *kw)
{
	size_t i;

	if (kw == NULL)
		return;
	pthread_mutex_lock(&kw->mu);
	kw->stopping = 1;
	pthread_cond_broadcast(&kw->kick);
	pthread_cond_broadcast(&kw->cosigned);
	pthread_mutex_unlock(&kw->mu);
	for (i = 0; i < kw->n; i++)
		if (kw->w[i].started)
			pthread_join(kw->w[i].t, NULL);
	kw_free(kw);
}
