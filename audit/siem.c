/*
 * siem.c: the sink threads: follow the log from a durable cursor, batch,
 * deliver through the sink's transport, move the cursor once the receiver
 * accepted a batch, back off exponentially (with a cap and jitter) after a
 * failure, and report their state.  See siem.h and docs/siem.md.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "audit_log.h"
#include "log.h"
#include "siem_int.h"
#include "util.h"

#define CURSOR_FILE_MAX 4096
#define LOG_EVERY_FAILURES 100 /* after the first, log every Nth failure */

struct siem {
	struct audit_log *log;
	char origin[AUDIT_ORIGIN_MAX + 1];
	char dir[PATH_MAX]; /* <keeper dir>/sinks */
	struct siem_sink *sinks;
	size_t n;
	int stopping; /* atomic */
	pthread_mutex_t mu; /* for cv only */
	pthread_cond_t cv; /* broadcast when stopping */
};

/* --- helpers shared with the transports ------------------------------------ */

int
siem_stopping(const struct siem_sink *sk)
{
	return __atomic_load_n(&sk->siem->stopping, __ATOMIC_ACQUIRE);
}

const char *
siem_origin(const struct siem_sink *sk)
{
	return sk->siem->origin;
}

int
siem_sleep(const struct siem_sink *sk, int ms)
{
	struct siem *s = sk->siem;
	struct timespec ts;
	int r = 0;

	petri_deadline(CLOCK_MONOTONIC, ms, &ts);
	pthread_mutex_lock(&s->mu);
	while (!__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE))
		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
			break;
	if (__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE))
		r = PETRI_ERR_STATE;
	pthread_mutex_unlock(&s->mu);
	return r;
}

int
siem_secret_read(
    const char *path, size_t max, unsigned char **out, size_t *lenp)
{
	unsigned char *p;
	void *v = NULL;
	size_t got = 0;
	int r;

	*out = NULL;
	*lenp = 0;
	if ((r = petri_file_read_with(path, O_NOCTTY, max, sodium_malloc,
	         sodium_free, &v, &got)) != 0)
		return r;
	p = v;
	while (got > 0 &&
	    (p[got - 1] == '\n' || p[got - 1] == '\r' || p[got - 1] == ' ' ||
	        p[got - 1] == '\t'))
		got--;
	if (got == 0) {
		sodium_free(p);
		return PETRI_ERR_INVAL;
	}
	p[got] = '\0';
	*out = p;
	*lenp = got;
	return 0;
}

/* --- status ----------------------------------------------------------------- */

static uint64_t
sink_cursor(struct siem_sink *sk)
{
	uint64_t c;

	pthread_mutex_lock(&sk->mu);
	c = sk->cursor;
	pthread_mutex_unlock(&sk->mu);
	return c;
}

static void
sink_state(struct siem_sink *sk, const char *state)
{
	pthread_mutex_lock(&sk->mu);
	sk->state = state;
	pthread_mutex_unlock(&sk->mu);
}

/* --- cursors ---------------------------------------------------------------- */

/*
 * Loads the cursor file: 0 and *next, or PETRI_ERR_NOTFOUND when there is
 * none or it belongs to another log.
 */
static int
cursor_load(struct siem_sink *sk, uint64_t *next)
{
	json_t *j;
	json_int_t nx = -1;
	char *text = NULL;
	const char *o = NULL;
	size_t len;
	int r;

	if ((r = petri_file_read(
	         sk->cursor_path, CURSOR_FILE_MAX, &text, &len)) != 0)
		return r == PETRI_ERR_NOTFOUND ? r : PETRI_ERR_IO;
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	/* cursor_save()'s fields; "sink" and "saved_at" are for people */
	if (j == NULL ||
	    json_unpack(j, "{s:s, s:I}", "origin", &o, "next", &nx) != 0 ||
	    nx < 0) {
		json_decref(j);
		return PETRI_ERR_IO;
	}
	if (strcmp(o, sk->siem->origin) != 0) {
		log_warn("sink %s: cursor of another log (%s); starting over",
		    sk->cfg.name, o);
		json_decref(j);
		return PETRI_ERR_NOTFOUND;
	}
	*next = (uint64_t)nx;
	json_decref(j);
	return 0;
}

static int
cursor_save(struct siem_sink *sk, uint64_t next)
{
	char text[CURSOR_FILE_MAX], ts[PETRI_TIME_MAX];
	int n;

	petri_time_rfc3339(petri_now_usec(), ts);
	n = snprintf(text, sizeof(text),
	    "{\"sink\":\"%s\",\"origin\":\"%s\",\"next\":%llu,"
	    "\"saved_at\":\"%s\"}\n",
	    sk->cfg.name, sk->siem->origin, (unsigned long long)next, ts);
	if (n < 0 || (size_t)n >= sizeof(text))
		return PETRI_ERR_TOOBIG;
	return petri_file_write_atomic(sk->cursor_path, text, (size_t)n, 0600);
}

/* --- the sink thread -------------------------------------------------------- */

/* Waits up to linger_ms for a full batch while records keep coming. */
static void
sink_linger(struct siem_sink *sk, uint64_t cursor, uint64_t size)
{
	struct audit_log *log = sk->siem->log;
	int64_t deadline, now;

	if (sk->cfg.linger_ms == 0)
		return;
	deadline = petri_mono_ms() + sk->cfg.linger_ms;
	while (!siem_stopping(sk) &&
	    size - cursor < (uint64_t)sk->cfg.batch_events &&
	    (now = petri_mono_ms()) < deadline) {
		if (audit_log_wait(log, size,
		        deadline - now < SIEM_POLL_MS ? (int)(deadline - now)
		                                      : SIEM_POLL_MS) == 0)
			size = audit_log_size(log);
	}
}

/*
 * Renders the records from seq from on into b, framed for the sink, up to
 * batch_events records or batch_bytes bytes (at least one record).
 * *np gets the number of records.  Returns 0 or a PETRI_ERR_* code.
 */
static int
sink_batch(struct siem_sink *sk, uint64_t from, struct buf *scratch,
    struct buf *b, size_t *np)
{
	struct audit_entry *es = NULL;
	struct siem_event ev;
	size_t got = 0, i, n = 0, mark, want;
	int webhook = sk->cfg.type == SIEM_WEBHOOK, full = 0, r = 0;

	*np = 0;
	if (webhook && (r = buf_append(b, "[", 1)) != 0)
		return r;
	/* in chunks: the store's lock is held while it reads */
	while (!full && n < (size_t)sk->cfg.batch_events) {
		want = (size_t)sk->cfg.batch_events - n;
		if (want > SIEM_FETCH_CHUNK)
			want = SIEM_FETCH_CHUNK;
		if ((r = audit_log_records_get(
		         sk->siem->log, from + n, want, &es, &got)) != 0)
			return r;
		if (got == 0)
			break;
		for (i = 0; i < got; i++) {
			if (n > 0 && b->len >= sk->cfg.batch_bytes) {
				full = 1;
				break;
			}
			if (es[i].seq != from + n) {
				r = PETRI_ERR_STATE; /* the store broke a promise */
				goto out;
			}
			mark = b->len;
			if (webhook && n > 0 &&
			    (r = buf_append(b, ",", 1)) != 0)
				goto out;
			memset(&ev, 0, sizeof(ev));
			ev.seq = es[i].seq;
			ev.bytes = es[i].bytes;
			ev.len = es[i].len;
			ev.leaf = es[i].leaf;
			ev.sig = es[i].sig;
			ev.key_id = es[i].key_id;
			ev.origin = sk->siem->origin;
			if ((r = siem_format_record(
			         &sk->fmt, &ev, scratch, b)) < 0) {
				b->len = mark;
				if (r != PETRI_ERR_TOOBIG || n == 0)
					goto out;
				full = 1;
				break;
			}
			n++;
		}
		audit_entries_free(es, got);
		es = NULL;
		got = 0;
		if (i < want && !full)
			break; /* the end of the log */
	}
	if (webhook && (r = buf_append(b, "]", 1)) != 0)
		goto out;
	*np = n;
	r = n > 0 ? 0 : PETRI_ERR_STATE;
out:
	audit_entries_free(es, got);
	return r;
}

/*
 * Saves the cursor (durable only after the receiver accepted everything
 * before it: at least once) when the sink caught up with the log, or at
 * most every SIEM_CURSOR_SYNC_MS while it works through a backlog, or when
 * force is set.  A crash re-sends what was accepted since the last save.
 */
static void
sink_save(struct siem_sink *sk, uint64_t next, int force)
{
	int64_t now = petri_mono_ms();
	int r;

	if (next == sk->saved)
		return;
	if (!force && next < audit_log_size(sk->siem->log) &&
	    now - sk->saved_ms < SIEM_CURSOR_SYNC_MS)
		return;
	if ((r = cursor_save(sk, next)) != 0) {
		log_warn("sink %s: cannot save the cursor (%s); records "
		         "since the last save will be sent again after a "
		         "restart",
		    sk->cfg.name, petri_strerror(r));
		return;
	}
	sk->saved = next;
	sk->saved_ms = now;
}

static void
sink_ok(struct siem_sink *sk, uint64_t next, size_t n, uint64_t *fails)
{
	pthread_mutex_lock(&sk->mu);
	sk->cursor = next;
	sk->delivered += n;
	sk->last_ok_usec = petri_now_usec();
	sk->state = "idle";
	pthread_mutex_unlock(&sk->mu);
	if (*fails > 0)
		log_info("sink %s: delivering again after %llu failed "
		         "attempts",
		    sk->cfg.name, (unsigned long long)*fails);
	*fails = 0;
	sink_save(sk, next, 0);
}

static void
sink_fail(struct siem_sink *sk, const char *err, uint64_t *fails)
{
	pthread_mutex_lock(&sk->mu);
	sk->errors++;
	sk->last_error_usec = petri_now_usec();
	petri_strlcpy(sk->last_error, err, sizeof(sk->last_error));
	sk->state = "retrying";
	pthread_mutex_unlock(&sk->mu);
	if ((*fails)++ % LOG_EVERY_FAILURES == 0)
		log_warn("sink %s: delivery failed (attempt %llu): %s; "
		         "retrying",
		    sk->cfg.name, (unsigned long long)*fails, err);
}

/* Back-off with jitter: between 3/4 and 5/4 of ms. */
static int
jitter(int ms)
{
	uint32_t span = (uint32_t)ms / 2 + 1;

	return ms - ms / 4 + (int)randombytes_uniform(span);
}

/* A sink thread's batches: the one being sent and the one read ahead. */
struct sink_run {
	struct buf bufs[2], scratch, *cur, *next;
	char err[SIEM_STATUS_ERR_MAX];
	uint64_t fails; /* failures in a row */
	size_t n, nn; /* records in cur, in next */
	int backoff; /* ms before the next retry */
	int have; /* cur holds the batch at the cursor */
};

/*
 * Reads the batch at cursor into w->cur unless one is held.  Returns 0
 * with w->have set, 1 when the log has nothing past the cursor yet (it
 * waited), or a PETRI_ERR_* code with w->err set.
 */
static int
sink_fill(struct siem_sink *sk, struct sink_run *w, uint64_t cursor)
{
	struct audit_log *log = sk->siem->log;
	uint64_t size;
	int r;

	if (w->have)
		return 0;
	size = audit_log_size(log);
	if (cursor >= size) {
		if (audit_log_wait(log, cursor, SIEM_POLL_MS) != 0)
			sink_state(sk, "idle");
		return 1;
	}
	if (w->fails == 0) /* a retry goes at once after its back-off */
		sink_linger(sk, cursor, size);
	buf_reset(w->cur);
	if ((r = sink_batch(sk, cursor, &w->scratch, w->cur, &w->n)) != 0) {
		jsonv_err_set(w->err, sizeof(w->err), "cannot read the log: %s",
		    petri_strerror(r));
		return r;
	}
	w->have = 1;
	return 0;
}

/*
 * Sends w->cur, the batch at cursor; while the receiver confirms it
 * (transports with a confirm step) the next batch is read ahead into
 * w->next.  On success the cursor moves and the batch read ahead becomes
 * w->cur.  Returns 0, or a PETRI_ERR_* code with both batches dropped.
 */
static int
sink_deliver(struct siem_sink *sk, struct sink_run *w, uint64_t cursor)
{
	struct buf *t;
	int have_next = 0, r;

	sink_state(sk, "sending");
	r = sk->tp->send(sk, w->cur->data, w->cur->len, cursor, w->n, w->err,
	    sizeof(w->err));
	if (r == 0 && sk->tp->confirm != NULL) {
		/* the receiver takes the batch: read the next one */
		if (audit_log_size(sk->siem->log) > cursor + w->n) {
			buf_reset(w->next);
			have_next = sink_batch(sk, cursor + w->n, &w->scratch,
			                w->next, &w->nn) == 0;
		}
		r = sk->tp->confirm(sk, w->err, sizeof(w->err));
	}
	if (r != 0) {
		w->have = 0;
		return r;
	}
	sink_ok(sk, cursor + w->n, w->n, &w->fails);
	w->backoff = sk->cfg.retry_initial_ms;
	w->have = have_next;
	if (w->have) {
		t = w->cur;
		w->cur = w->next;
		w->next = t;
		w->n = w->nn;
	}
	return 0;
}

/* After failure r: counts it, then waits the back-off and doubles it. */
static void
sink_retry_wait(struct siem_sink *sk, struct sink_run *w, int r)
{
	if (w->err[0] == '\0')
		jsonv_err_set(w->err, sizeof(w->err), "%s", petri_strerror(r));
	sink_fail(sk, w->err, &w->fails);
	(void)siem_sleep(sk, jitter(w->backoff));
	w->backoff = w->backoff > sk->cfg.retry_max_ms / 2
	    ? sk->cfg.retry_max_ms
	    : w->backoff * 2;
}

/*
 * The sink thread.  A batch is rendered from the cursor and sent; while
 * the receiver confirms it (transports with a confirm step), the next
 * batch is already read and rendered, so the two overlap.  The cursor
 * moves only after a confirmation; after any failure both batches are
 * dropped and the next attempt starts again from the cursor.  Memory: two
 * batches and one event.
 */
static void *
sink_main(void *arg)
{
	struct siem_sink *sk = arg;
	struct sink_run w;
	uint64_t cursor;
	size_t bmax;
	int r;

	memset(&w, 0, sizeof(w));
	w.cur = &w.bufs[0];
	w.next = &w.bufs[1];
	w.backoff = sk->cfg.retry_initial_ms;
	/* a batch: batch_bytes plus one event, escaped */
	bmax = sk->cfg.batch_bytes + 6 * sk->cfg.max_event + (64UL << 10);
	buf_init(&w.bufs[0], bmax);
	buf_init(&w.bufs[1], bmax);
	buf_init(&w.scratch, sk->cfg.max_event);
	/* the append path comes first when the CPU is short */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), SIEM_NICE) != 0)
		log_debug("sink %s: cannot lower its priority", sk->cfg.name);
	sink_state(sk, "idle");
	while (!siem_stopping(sk)) {
		cursor = sink_cursor(sk);
		w.err[0] = '\0';
		if ((r = sink_fill(sk, &w, cursor)) == 1)
			continue;
		if (r == 0 && (r = sink_deliver(sk, &w, cursor)) == 0)
			continue;
		if (siem_stopping(sk))
			break;
		sink_retry_wait(sk, &w, r);
	}
	sink_save(sk, sink_cursor(sk), 1);
	sink_state(sk, "stopped");
	buf_free(&w.scratch);
	buf_free(&w.bufs[0]);
	buf_free(&w.bufs[1]);
	return NULL;
}

/* --- open, close, status ---------------------------------------------------- */

static const struct siem_transport *
transport_of(enum siem_type t)
{
	switch (t) {
	case SIEM_SYSLOG:
		return &siem_syslog_transport;
	case SIEM_HEC:
		return &siem_hec_transport;
	case SIEM_FILE:
		return &siem_file_transport;
	case SIEM_WEBHOOK:
		return &siem_webhook_transport;
	}
	return NULL;
}

static const char *
type_name(enum siem_type t)
{
	static const char *const names[] = {"syslog", "hec", "file", "webhook"};

	return (int)t >= 0 && (int)t < 4 ? names[t] : "?";
}

/* The first cursor of a sink: its file, else its "start". */
static int
sink_cursor_init(struct siem_sink *sk, char *err, size_t errlen)
{
	uint64_t next, size = audit_log_size(sk->siem->log);
	int r;

	r = cursor_load(sk, &next);
	if (r == PETRI_ERR_IO) {
		jsonv_err_set(err, errlen,
		    "sink %s: cannot read its cursor %s (remove it to start "
		    "over from \"start\")",
		    sk->cfg.name, sk->cursor_path);
		return r;
	}
	if (r == PETRI_ERR_NOTFOUND)
		next = sk->cfg.start_end ? size : sk->cfg.start;
	if (next > size) {
		log_warn("sink %s: cursor %llu is past the log's end %llu "
		         "(was the log restored from a backup?); delivering "
		         "from %llu",
		    sk->cfg.name, (unsigned long long)next,
		    (unsigned long long)size, (unsigned long long)size);
		next = size;
	}
	sk->cursor = next;
	sk->saved = next;
	sk->saved_ms = petri_mono_ms();
	if ((r = cursor_save(sk, next)) != 0) {
		jsonv_err_set(err, errlen,
		    "sink %s: cannot write its cursor %s: %s", sk->cfg.name,
		    sk->cursor_path, petri_strerror(r));
		return r;
	}
	return 0;
}

static void
sink_fmt_init(struct siem_sink *sk, const char *hostname)
{
	struct siem_sink_cfg *c = &sk->cfg;
	struct siem_fmt_ctx *f = &sk->fmt;
	char *q;

	if (c->hostname[0] == '\0')
		petri_strlcpy(c->hostname, hostname, sizeof(c->hostname));
	memset(f, 0, sizeof(*f));
	f->format = c->format;
	f->max_event = c->max_event;
	f->facility = c->facility;
	f->hostname = c->hostname;
	f->app_name = c->app_name[0] != '\0' ? c->app_name : NULL;
	f->hec_host = c->hec_host[0] != '\0' ? c->hec_host : NULL;
	f->hec_source = c->hec_source[0] != '\0' ? c->hec_source : NULL;
	f->hec_sourcetype =
	    c->hec_sourcetype[0] != '\0' ? c->hec_sourcetype : NULL;
	f->hec_index = c->hec_index[0] != '\0' ? c->hec_index : NULL;
	switch (c->type) {
	case SIEM_SYSLOG:
		f->frame = SIEM_FRAME_SYSLOG;
		break;
	case SIEM_HEC:
		f->frame = SIEM_FRAME_HEC;
		break;
	case SIEM_WEBHOOK:
		f->frame = SIEM_FRAME_ITEM;
		break;
	case SIEM_FILE:
		f->frame = SIEM_FRAME_LINE;
		break;
	}
	/* the status shows where a sink sends, never a query string */
	petri_strlcpy(sk->target, c->url, sizeof(sk->target));
	if ((q = strchr(sk->target, '?')) != NULL)
		*q = '\0';
}

static void
siem_free(struct siem *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		if (s->sinks[i].tp != NULL)
			s->sinks[i].tp->fini(&s->sinks[i]);
		pthread_mutex_destroy(&s->sinks[i].mu);
	}
	free(s->sinks);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* A siem with no sink yet: its lock, clock, origin and cursor folder. */
static int
siem_new(struct audit_log *log, const char *dir, const char *origin,
    struct siem **out, char *err, size_t errlen)
{
	struct siem *s;
	pthread_condattr_t ca;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PETRI_ERR_NOMEM;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	s->log = log;
	if (petri_strlcpy(s->origin, origin, sizeof(s->origin)) >=
	        sizeof(s->origin) ||
	    petri_path_join(s->dir, sizeof(s->dir), dir, "sinks") != 0) {
		jsonv_err_set(
		    err, errlen, "sinks: origin or directory too long");
		siem_free(s);
		return PETRI_ERR_INVAL;
	}
	*out = s;
	return 0;
}

/* One sink of the configuration: its settings, transport and cursor. */
static int
siem_sink_load(struct siem *s, struct siem_sink *sk, json_t *o,
    const char *hostname, char *err, size_t errlen)
{
	char name[SIEM_NAME_MAX + 16];
	int r;

	pthread_mutex_init(&sk->mu, NULL);
	s->n++;
	sk->siem = s;
	sk->state = "starting";
	if ((r = siem_sink_cfg_parse(o, &sk->cfg, err, errlen)) != 0)
		return r;
	sink_fmt_init(sk, hostname);
	snprintf(name, sizeof(name), "%s.cursor", sk->cfg.name);
	if (petri_path_join(
	        sk->cursor_path, sizeof(sk->cursor_path), s->dir, name) != 0)
		return PETRI_ERR_TOOBIG;
	sk->tp = transport_of(sk->cfg.type);
	if ((r = sk->tp->init(sk, err, errlen)) != 0)
		return r;
	return sink_cursor_init(sk, err, errlen);
}

/* The sinks of a non-empty configuration, loaded but not started. */
static int
siem_sinks_load(struct siem *s, json_t *sinks, char *err, size_t errlen)
{
	static int curl_ready;
	char hostname[SIEM_HOSTNAME_MAX + 1];
	json_t *o;
	size_t i;
	int r;

	if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
		jsonv_err_set(err, errlen, "sinks: cannot create %s", s->dir);
		return PETRI_ERR_IO;
	}
	if (gethostname(hostname, sizeof(hostname)) != 0)
		petri_strlcpy(hostname, "-", sizeof(hostname));
	hostname[sizeof(hostname) - 1] = '\0';
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
			jsonv_err_set(
			    err, errlen, "sinks: libcurl init failed");
			return PETRI_ERR_NOMEM;
		}
		curl_ready = 1;
	}
	if ((s->sinks = calloc(json_array_size(sinks), sizeof(*s->sinks))) ==
	    NULL)
		return PETRI_ERR_NOMEM;
	json_array_foreach (sinks, i, o)
		if ((r = siem_sink_load(
		         s, &s->sinks[i], o, hostname, err, errlen)) != 0)
			return r;
	return 0;
}

int
siem_open(json_t *sinks, struct audit_log *log, const char *dir,
    const char *origin, struct siem **out, char *err, size_t errlen)
{
	struct siem *s = NULL;
	struct siem_sink *sk;
	size_t i;
	int r;

	*out = NULL;
	if ((r = siem_config_check(sinks, err, errlen)) != 0 ||
	    (r = siem_new(log, dir, origin, &s, err, errlen)) != 0)
		return r;
	if (json_array_size(sinks) == 0) {
		*out = s;
		return 0;
	}
	if ((r = siem_sinks_load(s, sinks, err, errlen)) != 0) {
		siem_free(s);
		return r;
	}
	for (i = 0; i < s->n; i++) {
		sk = &s->sinks[i];
		if (pthread_create(&sk->thread, NULL, sink_main, sk) != 0) {
			jsonv_err_set(
			    err, errlen, "sinks: cannot start a thread");
			siem_close(s);
			return PETRI_ERR_NOMEM;
		}
		sk->running = 1;
		log_info("sink %s: %s %s to %s from seq %llu", sk->cfg.name,
		    type_name(sk->cfg.type), siem_format_name(sk->cfg.format),
		    sk->target, (unsigned long long)sk->cursor);
	}
	*out = s;
	return 0;
}

void
siem_close(struct siem *s)
{
	size_t i;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	__atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < s->n; i++)
		if (s->sinks[i].running) {
			pthread_join(s->sinks[i].thread, NULL);
			s->sinks[i].running = 0;
		}
	siem_free(s);
}

json_t *
siem_status(struct siem *s)
{
	struct siem_sink *sk;
	json_t *a, *o;
	char t1[PETRI_TIME_MAX], t2[PETRI_TIME_MAX];
	uint64_t size;
	size_t i;

	if ((a = json_array()) == NULL || s == NULL)
		return a;
	size = audit_log_size(s->log);
	for (i = 0; i < s->n; i++) {
		sk = &s->sinks[i];
		pthread_mutex_lock(&sk->mu);
		if (sk->last_error_usec > 0)
			petri_time_rfc3339(sk->last_error_usec, t1);
		if (sk->last_ok_usec > 0)
			petri_time_rfc3339(sk->last_ok_usec, t2);
		o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s?,"
		              " s:s?, s:s?, s:s}",
		    "name", sk->cfg.name, "type", type_name(sk->cfg.type),
		    "format", siem_format_name(sk->cfg.format), "target",
		    sk->target, "cursor", (json_int_t)sk->cursor, "lag",
		    (json_int_t)(size > sk->cursor ? size - sk->cursor : 0),
		    "delivered", (json_int_t)sk->delivered, "errors",
		    (json_int_t)sk->errors, "last_error",
		    sk->last_error[0] != '\0' ? sk->last_error : NULL,
		    "last_error_at", sk->last_error_usec > 0 ? t1 : NULL,
		    "last_delivery_at", sk->last_ok_usec > 0 ? t2 : NULL,
		    "state", sk->state);
		pthread_mutex_unlock(&sk->mu);
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}
