/*
 * api_exec.c: executions.  Every execution is a "run": a runner thread
 * consumes the engine's streamed answer into bounded buffers, writes the
 * audit record and the registry row, whatever happens to the client that
 * asked (it may wait for JSON, follow Server-Sent Events, or have gone).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bounds.h"
#include "log.h"
#include "proto.h"
#include "testparse.h"
#include "util.h"

#define RUN_GRACE_MS 60000 /* beyond the exec timeout, for the engine */

struct run_chunk {
	struct run_chunk *next;
	int stream; /* 1 stdout, 2 stderr */
	size_t len;
	char data[];
};

struct run {
	struct run *next;
	struct api *a;
	int refs;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char id[PETRI_ID_MAX];
	char sandbox[PETRI_ID_MAX];
	char tenant[64];
	struct api_auth auth;
	char source_ip[64];
	char request_id[48];
	json_t *sb; /* the sandbox document */
	json_t *rec; /* what the audit record says of the request */
	struct ipc_call *call;
	int64_t wait_ms;
	struct run_chunk *head, *tail;
	struct buf out[2]; /* stdout, stderr as kept */
	struct buf all; /* interleaved, as kept */
	size_t out_max;
	int truncated;
	int background;
	char code_dir[64]; /* ".petri/run/ex_..." to remove afterwards */
	int done;
	unsigned int status; /* HTTP status of a failed run, else 200 */
	json_t *doc; /* final answer document */
	int64_t started_usec;
	json_t *net; /* calls the proxy reported (API_NETWORK_MAX) */
	uint64_t net_dropped; /* calls beyond that */
	/* the install step, when it must run before the program */
	json_t *req; /* the program's engine request, sent after it */
	unsigned char *stdin_data;
	size_t stdin_len;
	json_t *deps_argv; /* NULL: no step */
	json_t *deps_env;
	char deps_key[PETRI_SHA256_HEX];
	struct buf inst; /* its log as it comes */
	struct buf inst_tail; /* its last output once the log is full */
	int test; /* test mode: test.sh runs the app and the runner */
	char deps_xid[PETRI_ID_MAX]; /* the install step's engine exec */
	int killed; /* killed before the program started */
	int stdin_eof; /* eof asked before the program started */
	json_t *deps; /* {install?, missing_imports?, sbom?} */
};

static const char *const exec_keys[] = {"command", "argv", "filename", "code",
    "cwd", "env", "stdin", "timeout_ms", "fresh", "install", "test", "prompt",
    "model", "labels", "background", NULL};

/* --- run lifetime -------------------------------------------------------- */

static void
run_unref(struct run *run)
{
	struct run_chunk *c;
	int last;

	if (run == NULL)
		return;
	pthread_mutex_lock(&run->lock);
	last = --run->refs == 0;
	pthread_mutex_unlock(&run->lock);
	if (!last)
		return;
	while ((c = run->head) != NULL) {
		run->head = c->next;
		free(c);
	}
	ipc_call_free(run->call);
	buf_free(&run->out[0]);
	buf_free(&run->out[1]);
	buf_free(&run->all);
	json_decref(run->sb);
	json_decref(run->rec);
	json_decref(run->doc);
	json_decref(run->net);
	json_decref(run->req);
	json_decref(run->deps_argv);
	json_decref(run->deps_env);
	json_decref(run->deps);
	free(run->stdin_data);
	buf_free(&run->inst);
	buf_free(&run->inst_tail);
	pthread_mutex_destroy(&run->lock);
	pthread_cond_destroy(&run->cond);
	free(run);
}

static struct run *
run_find(struct api *a, const char *id, const char *tenant)
{
	struct run *run;

	pthread_mutex_lock(&a->runs_lock);
	for (run = a->runs; run != NULL; run = run->next)
		if (strcmp(run->id, id) == 0 &&
		    strcmp(run->tenant, tenant) == 0)
			break;
	if (run != NULL) {
		pthread_mutex_lock(&run->lock);
		run->refs++;
		pthread_mutex_unlock(&run->lock);
	}
	pthread_mutex_unlock(&a->runs_lock);
	return run;
}

static void
run_unlink(struct run *run)
{
	struct api *a = run->a;
	struct run **pp;

	pthread_mutex_lock(&a->runs_lock);
	for (pp = &a->runs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == run) {
			*pp = run->next;
			break;
		}
	pthread_mutex_unlock(&a->runs_lock);
}

/* --- output ---------------------------------------------------------------- */

/* Keeps what fits of a chunk; marks truncation.  Called with run->lock. */
/* Queues a chunk for the streams that follow the run (lock held). */
static void
run_chunk_add(struct run *run, int stream, const unsigned char *p, size_t n)
{
	struct run_chunk *c;

	if ((c = malloc(sizeof(*c) + n)) == NULL)
		return;
	c->next = NULL;
	c->stream = stream;
	c->len = n;
	memcpy(c->data, p, n);
	if (run->tail != NULL)
		run->tail->next = c;
	else
		run->head = c;
	run->tail = c;
}

static void
run_output(struct run *run, int stream, const unsigned char *p, size_t n)
{
	struct buf *b = &run->out[stream - 1];
	size_t keep = n, room = run->out_max - b->len;

	if (keep > room) {
		keep = room;
		run->truncated = 1;
	}
	if (keep == 0)
		return;
	if (buf_append(b, p, keep) != 0 ||
	    buf_append(&run->all, p, keep) != 0) {
		run->truncated = 1;
		return;
	}
	run_chunk_add(run, stream, p, keep);
}

/* A chunk of the install step's log: kept apart, streamed as "install". */
static void
run_install_output(struct run *run, const unsigned char *p, size_t n)
{
	/* at most EXEC_INSTALL_LOG_MAX kept: the rest of the buffer is for
	 * api_deps_finish()'s note; the engine stops a longer step */
	size_t keep = n;

	if (run->inst.len + keep > EXEC_INSTALL_LOG_MAX)
		keep = EXEC_INSTALL_LOG_MAX - run->inst.len;
	if (keep < n) {
		/* past the cap: only the last output is kept, for the report */
		size_t rest = n - keep, cap = EXEC_INSTALL_TAIL_MAX;
		const unsigned char *q = p + keep;

		if (rest > cap) {
			q += rest - cap;
			rest = cap;
		}
		if (run->inst_tail.len + rest > cap)
			buf_consume(
			    &run->inst_tail, run->inst_tail.len + rest - cap);
		if (buf_append(&run->inst_tail, q, rest) != 0)
			log_warn("exec %s: install output lost", run->id);
	}
	if (keep == 0 || buf_append(&run->inst, p, keep) != 0)
		return;
	run_chunk_add(run, 3, p, keep);
}

static json_t *
run_stream_ref(struct api *a, struct buf *b, int truncated, int *err)
{
	char sha[65];
	int e;

	if ((e = api_audit_blob(a,
	         b->data != NULL ? b->data : (const unsigned char *)"", b->len,
	         sha)) != 0)
		*err = e;
	return json_pack("{s:s, s:I, s:b, s:b}", "sha256", sha, "size",
	    (json_int_t)b->len, "blob", 1, "truncated", truncated);
}

static json_t *
run_text(struct buf *b)
{
	struct buf t;
	json_t *s;

	/* JSON strings are UTF-8: invalid bytes become U+FFFD */
	buf_init(&t, b->len * 3 + 1);
	if (petri_utf8_sanitize(b->data, b->len, &t) != 0)
		buf_reset(&t);
	s = json_stringn(t.data != NULL ? (const char *)t.data : "", t.len);
	buf_free(&t);
	return s != NULL ? s : json_string("");
}

/* --- the runner ------------------------------------------------------------ */

/* Builds the answer document from the engine's result.  run->lock held. */
static json_t *
run_doc(struct run *run, json_t *res, int with_output)
{
	json_t *d;
	const char *sig;
	char ts[PETRI_TIME_MAX];

	d = json_object();
	json_object_set_new(d, "id", json_string(run->id));
	json_object_set_new(d, "sandbox", json_string(run->sandbox));
	json_object_set_new(
	    d, "status", json_string(run->done ? "finished" : "running"));
	petri_time_rfc3339(run->started_usec, ts);
	json_object_set_new(d, "started_at", json_string(ts));
	if (res != NULL) {
		json_object_set(
		    d, "exit_code", json_object_get(res, "exit_code"));
		sig = json_string_value(json_object_get(res, "signal"));
		json_object_set_new(
		    d, "signal", sig != NULL ? json_string(sig) : json_null());
		json_object_set(
		    d, "timed_out", json_object_get(res, "timed_out"));
		json_object_set(
		    d, "oom_killed", json_object_get(res, "oom_killed"));
		json_object_set(
		    d, "duration_ms", json_object_get(res, "duration_ms"));
		if (json_object_get(res, "usage") != NULL)
			json_object_set(
			    d, "usage", json_object_get(res, "usage"));
	} else {
		json_object_set_new(d, "exit_code", json_null());
		json_object_set_new(d, "signal", json_null());
		json_object_set_new(d, "timed_out", json_false());
		json_object_set_new(d, "oom_killed", json_false());
	}
	json_object_set_new(d, "truncated",
	    json_boolean(run->truncated ||
	        json_is_true(json_object_get(res, "truncated"))));
	if (with_output) {
		json_object_set_new(d, "stdout", run_text(&run->out[0]));
		json_object_set_new(d, "stderr", run_text(&run->out[1]));
		json_object_set_new(d, "output", run_text(&run->all));
	}
	if (run->deps != NULL) {
		json_t *x;

		if ((x = json_object_get(run->deps, "install")) != NULL)
			json_object_set_new(d, "install", json_deep_copy(x));
		if ((x = json_object_get(run->deps, "missing_imports")) != NULL)
			json_object_set(d, "missing_imports", x);
		if ((x = json_object_get(run->deps, "sbom")) != NULL) {
			char href[64];

			x = json_deep_copy(x);
			snprintf(
			    href, sizeof(href), "/v1/execs/%s/sbom", run->id);
			json_object_set_new(x, "href", json_string(href));
			json_object_set_new(d, "sbom", x);
		}
	}
	json_object_set_new(d, "network",
	    run->net != NULL ? json_deep_copy(run->net) : json_array());
	if (run->net_dropped > 0)
		json_object_set_new(d, "network_dropped",
		    json_integer((json_int_t)run->net_dropped));
	return d;
}

/*
 * The value of " key=" in test.sh's last line ("@@PETRI-TEST@@ runner=X
 * exit=N port=P"): letters, digits, "-" and "_", at most outlen - 1.
 * Returns 0 or -1.
 */
static int
test_field(const char *line, const char *key, char *out, size_t outlen)
{
	char pat[24];
	const char *v;
	size_t n;

	if ((size_t)snprintf(pat, sizeof(pat), " %s=", key) >= sizeof(pat) ||
	    (v = strstr(line, pat)) == NULL)
		return -1;
	v += strlen(pat);
	n = strspn(v,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_");
	if (n == 0 || n >= outlen || (v[n] != '\0' && v[n] != ' '))
		return -1;
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

/*
 * Test mode: takes test.sh's last line out of the output (run lock held)
 * and returns {runner, exit_code, port}, or NULL when it is not there.
 */
static json_t *
run_test_strip(struct run *run)
{
	static const char mark[] = "@@PETRI-TEST@@ ";
	struct buf *b = &run->out[0];
	char line[256], runner[32] = "none", num[16];
	unsigned char *p = NULL, *q;
	int code = -1, port = 0;
	long long v;
	size_t n, i;

	for (i = 0;
	     b->len >= sizeof(mark) - 1 && i <= b->len - (sizeof(mark) - 1);
	     i++)
		if (memcmp(b->data + i, mark, sizeof(mark) - 1) == 0 &&
		    (i == 0 || b->data[i - 1] == '\n'))
			p = b->data + i;
	if (p == NULL)
		return NULL;
	q = memchr(p, '\n', b->len - (size_t)(p - b->data));
	n = (q != NULL ? (size_t)(q - p) : b->len - (size_t)(p - b->data));
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, p, n);
	line[n] = '\0';
	if (test_field(line, "runner", runner, sizeof(runner)) != 0 ||
	    test_field(line, "exit", num, sizeof(num)) != 0 ||
	    petri_strtonum(num, 0, 255, &v) != 0)
		return NULL;
	code = (int)v;
	if (test_field(line, "port", num, sizeof(num)) == 0 &&
	    petri_strtonum(num, 0, 65535, &v) == 0)
		port = (int)v;
	/* the line goes: from stdout, and from the interleaved output */
	b->len = (size_t)(p - b->data);
	for (i = run->all.len; i >= n && i > 0; i--)
		if (memcmp(run->all.data + i - n, line, n) == 0) {
			size_t from = i - n, to = i;

			if (to < run->all.len && run->all.data[to] == '\n')
				to++;
			memmove(run->all.data + from, run->all.data + to,
			    run->all.len - to);
			run->all.len -= to - from;
			break;
		}
	return json_pack("{s:s, s:i, s:i}", "runner", runner, "exit_code", code,
	    "port", port);
}

/* Test mode: the counts, from JUnit XML when the runner wrote it. */
static void
run_test_summary(struct run *run, json_t *t, int *err)
{
	struct api *a = run->a;
	struct test_counts c;
	struct ipc_msg m;
	const char *runner = json_string_value(json_object_get(t, "runner"));
	json_t *req;
	char sha[PETRI_SHA256_HEX];
	const char *fmt = "text";
	int e, got = -1;

	memset(&c, 0, sizeof(c));
	if (runner != NULL && strcmp(runner, "pytest") == 0) {
		req = json_pack("{s:s, s:s, s:b, s:I, s:I}", "sandbox",
		    run->sandbox, "path", ".petri/test/junit.xml", "internal",
		    1, "offset", (json_int_t)0, "length",
		    (json_int_t)TESTPARSE_MAX); /* the ws worker's read cap */
		if (ipc_request(a->ws, MSG_WS_READ, req, NULL, 0, 60000, &m) ==
		    0) {
			if (proto_result(&m, NULL, 0) == 0 &&
			    testparse_junit(
			        (const char *)m.data, m.datalen, &c) == 0 &&
			    (e = api_audit_blob(a, m.data, m.datalen, sha)) ==
			        0) {
				got = 0;
				fmt = "junit";
			}
			ipc_msg_clear(&m);
		}
		json_decref(req);
	}
	if (got != 0) {
		got = testparse_text(
		    runner, (const char *)run->all.data, run->all.len, &c);
		if ((e = api_audit_blob(a,
		         run->all.data != NULL ? run->all.data
		                               : (const unsigned char *)"",
		         run->all.len, sha)) != 0)
			*err = e;
	}
	json_object_set_new(t, "passed", json_integer(c.passed));
	json_object_set_new(t, "failed", json_integer(c.failed));
	json_object_set_new(t, "skipped", json_integer(c.skipped));
	json_object_set_new(t, "errors", json_integer(c.errors));
	json_object_set_new(t, "counted", json_boolean(got == 0));
	json_object_set_new(t, "duration_ms",
	    json_integer((petri_now_usec() - run->started_usec) / 1000));
	json_object_set_new(t, "report",
	    json_pack(
	        "{s:s, s:s, s:b}", "format", fmt, "sha256", sha, "blob", 1));
}

static void
run_finish(struct run *run, json_t *res, unsigned int status,
    const char *errcode, const char *errmsg)
{
	struct api *a = run->a;
	json_t *doc, *ev, *audit = NULL, *x, *test = NULL;
	int64_t ms = (petri_now_usec() - run->started_usec) / 1000;
	int err = 0, e;
	char ts[PETRI_TIME_MAX];

	/* every call the proxy reported before the program ended */
	api_egress_sync(a);
	pthread_mutex_lock(&run->lock);
	run->done = 1;
	if (run->test)
		test = run_test_strip(run);
	doc = run_doc(run, res, 1);
	pthread_mutex_unlock(&run->lock);
	if (test != NULL) {
		run_test_summary(run, test, &err);
		json_object_set(doc, "test", test);
	}
	if (errcode != NULL) {
		json_object_set_new(doc, "error",
		    json_pack(
		        "{s:s, s:s}", "code", errcode, "message", errmsg));
		if ((x = json_object_get(run->deps, "setting")) != NULL) {
			/* registry_not_configured: what to set, and where */
			x = json_object_get(doc, "error");
			json_object_set(x, "setting",
			    json_object_get(run->deps, "setting"));
			json_object_set_new(
			    x, "doc", json_string("docs/deps.md#registries"));
		}
	}
	petri_time_rfc3339(petri_now_usec(), ts);
	json_object_set_new(doc, "finished_at", json_string(ts));

	/* the record: what ran, where, for whom, and what came out */
	ev = json_deep_copy(run->rec);
	json_object_set_new(ev, "exec", json_string(run->id));
	json_object_set(ev, "exit_code", json_object_get(doc, "exit_code"));
	json_object_set(ev, "signal", json_object_get(doc, "signal"));
	json_object_set(ev, "timed_out", json_object_get(doc, "timed_out"));
	json_object_set(ev, "oom_killed", json_object_get(doc, "oom_killed"));
	json_object_set(ev, "duration_ms",
	    json_object_get(doc, "duration_ms") != NULL
	        ? json_object_get(doc, "duration_ms")
	        : json_integer(ms));
	if ((x = json_object_get(res, "usage")) != NULL)
		json_object_set(ev, "usage", x);
	json_object_set_new(ev, "stdout",
	    run_stream_ref(a, &run->out[0], run->truncated, &err));
	json_object_set_new(ev, "stderr",
	    run_stream_ref(a, &run->out[1], run->truncated, &err));
	json_object_set(ev, "network", json_object_get(doc, "network"));
	if ((x = json_object_get(doc, "install")) != NULL)
		json_object_set_new(ev, "install",
		    json_pack("{s:O, s:O, s:O, s:O, s:{s:O, s:O, s:b}}", "ran",
		        json_object_get(x, "ran"), "exit_code",
		        json_object_get(x, "exit_code"), "manifest",
		        json_object_get(x, "manifest"), "duration_ms",
		        json_object_get(x, "duration_ms"), "log", "sha256",
		        json_object_get(x, "log_sha256"), "size",
		        json_object_get(x, "log_size"), "blob", 1));
	if ((x = json_object_get(doc, "sbom")) != NULL)
		json_object_set_new(ev, "sbom",
		    json_pack("{s:O, s:O, s:O, s:b}", "sha256",
		        json_object_get(x, "sha256"), "components",
		        json_object_get(x, "components"), "format",
		        json_object_get(x, "format"), "blob", 1));
	if ((x = json_object_get(doc, "missing_imports")) != NULL)
		json_object_set(ev, "missing_imports", x);
	if (test != NULL)
		json_object_set(ev, "test", test);
	if (json_object_get(doc, "network_dropped") != NULL)
		json_object_set(ev, "network_dropped",
		    json_object_get(doc, "network_dropped"));
	if (errcode != NULL)
		json_object_set_new(ev, "error", json_string(errcode));
	if (err == 0)
		err = api_audit_as(
		    a, &run->auth, run->source_ip, "exec.finished", ev, &audit);
	else
		json_decref(ev);
	if (err != 0) {
		log_warn("exec %s: audit log unavailable (%s)", run->id,
		    petri_strerror(err));
		if (errcode == NULL) {
			json_object_set_new(doc, "error",
			    json_pack("{s:s, s:s}", "code", "unavailable",
			        "message",
			        "the audit log "
			        "is unavailable; the result is not "
			        "acknowledged"));
			status = MHD_HTTP_SERVICE_UNAVAILABLE;
		}
	} else
		json_object_set_new(doc, "audit", audit);
	if ((e = db_exec_put(a->db, run->id, run->sandbox, run->tenant, doc)) !=
	    0)
		log_warn("exec %s: cannot store the result (%s)", run->id,
		    petri_strerror(e));
	api_metrics_exec(a, ms, errcode != NULL || err != 0);
	if (run->code_dir[0] != '\0') {
		json_t *del = json_pack("{s:s, s:s, s:b}", "sandbox",
		    run->sandbox, "path", run->code_dir, "internal", 1);
		struct ipc_msg m;

		if (ipc_request(
		        a->ws, MSG_WS_DELETE, del, NULL, 0, 30000, &m) == 0)
			ipc_msg_clear(&m);
		json_decref(del);
	}
	json_decref(test);
	pthread_mutex_lock(&run->lock);
	run->doc = doc;
	run->status = status;
	pthread_cond_broadcast(&run->cond);
	pthread_mutex_unlock(&run->lock);
}

/*
 * The install step: the language's script in the sandbox, its output kept
 * apart from the program's.  Returns 0 when the program may run (run->deps
 * holds what the step found), 1 when the install failed (run->deps says
 * so; the program does not run), 2 when the installer did not run because
 * the registry it needs is not configured (run->deps names the setting),
 * or a PETRI_ERR_* when the step could not run at all.
 */
static int
run_deps(struct run *run, char *msg, size_t msglen)
{
	struct api *a = run->a;
	struct ipc_call *call;
	struct ipc_msg m;
	json_t *req, *res = NULL;
	char xid[PETRI_ID_MAX];
	int64_t t0 = petri_mono_ms();
	int e, code = -1, stream;

	msg[0] = '\0';
	if (petri_id_new("ex_", xid, sizeof(xid)) != 0)
		return PETRI_ERR_INVAL;
	pthread_mutex_lock(&run->lock);
	petri_strlcpy(run->deps_xid, xid, sizeof(run->deps_xid));
	pthread_mutex_unlock(&run->lock);
	req = json_pack("{s:s, s:O, s:O, s:O, s:O, s:I, s:I, s:b, s:b, s:I, "
	                "s:I, s:O, s:b}",
	    "exec", xid, "sandbox", json_object_get(run->req, "sandbox"),
	    "container", json_object_get(run->req, "container"), "argv",
	    run->deps_argv, "cwd", json_object_get(run->req, "cwd"),
	    "timeout_ms", (json_int_t)EXEC_INSTALL_TIMEOUT_MS, "output_max",
	    (json_int_t)EXEC_INSTALL_LOG_MAX, "fresh", 0, "background", 0,
	    "uid", json_integer_value(json_object_get(run->req, "uid")), "gid",
	    json_integer_value(json_object_get(run->req, "gid")), "env",
	    run->deps_env, "has_stdin", 0);
	if (req == NULL)
		return PETRI_ERR_NOMEM;
	if (api_egress_exec_begin(a, run->sb) != 0)
		log_warn(
		    "exec %s: the proxy did not restart its counters", run->id);
	call = ipc_call_start(a->engine, MSG_ENG_EXEC, req, NULL, 0, &e);
	json_decref(req);
	if (call == NULL)
		return e;
	for (;;) {
		if ((e = ipc_call_next(
		         call, EXEC_INSTALL_TIMEOUT_MS + 30000, &m)) != 0)
			break;
		if (m.type == MSG_ENG_OUTPUT) {
			stream = (int)json_integer_value(
			    json_object_get(m.json, "stream"));
			if (stream == 1 || stream == 2) {
				pthread_mutex_lock(&run->lock);
				run_install_output(run, m.data, m.datalen);
				pthread_cond_broadcast(&run->cond);
				pthread_mutex_unlock(&run->lock);
			}
			ipc_msg_clear(&m);
			continue;
		}
		if (m.type == MSG_ENG_EXEC_STARTED) {
			ipc_msg_clear(&m);
			continue;
		}
		if ((e = proto_result(&m, msg, msglen)) == 0) {
			code = (int)json_integer_value(
			    json_object_get(m.json, "exit_code"));
			if (json_is_true(json_object_get(m.json, "timed_out")))
				snprintf(msg, msglen, "the install timed out");
		}
		ipc_msg_clear(&m);
		break;
	}
	ipc_call_free(call);
	if (e != 0)
		return e;
	/* every call the proxy reported for the install is the install's */
	api_egress_sync(a);
	pthread_mutex_lock(&run->lock);
	if (run->net != NULL)
		json_array_clear(run->net);
	pthread_mutex_unlock(&run->lock);
	if ((e = api_deps_finish(a, run->sb, run->deps_key, &run->inst,
	         &run->inst_tail, code, petri_mono_ms() - t0, &res)) != 0)
		return e;
	pthread_mutex_lock(&run->lock);
	json_decref(run->deps);
	run->deps = res;
	pthread_mutex_unlock(&run->lock);
	if (json_object_get(res, "setting") != NULL)
		return 2;
	return json_is_true(json_object_get(res, "failed")) ? 1 : 0;
}

/*
 * The answer when the registry the install step needs is not configured:
 * the setting, the imports that need it, where the documentation says
 * how; the program did not run.
 */
static void
run_finish_unset(struct run *run)
{
	char msg[512], names[256];
	const char *setting;
	json_t *missing, *v;
	size_t i, off = 0;
	int n;

	pthread_mutex_lock(&run->lock);
	setting = json_string_value(json_object_get(run->deps, "setting"));
	missing = json_object_get(run->deps, "missing_imports");
	names[0] = '\0';
	json_array_foreach (missing, i, v) {
		n = snprintf(names + off, sizeof(names) - off, "%s%s",
		    i > 0 ? ", " : "", json_string_value(v));
		if (n < 0 || (size_t)n >= sizeof(names) - off) {
			names[off] = '\0';
			break;
		}
		off += (size_t)n;
	}
	snprintf(msg, sizeof(msg),
	    "no package registry is configured: set %s in the configuration "
	    "(docs/deps.md#registries), or vendor the packages in the "
	    "project; needed by: %s",
	    setting != NULL ? setting : "registries",
	    names[0] != '\0' ? names : "(the manifest)");
	pthread_mutex_unlock(&run->lock);
	run_finish(run, NULL, MHD_HTTP_OK, "registry_not_configured", msg);
}

static void *
run_main(void *arg)
{
	struct run *run = arg;
	struct ipc_msg m;
	char msg[256];
	int e, stream;

	if (run->deps_argv != NULL) {
		e = run_deps(run, msg, sizeof(msg));
		if (e == 2) {
			run_finish_unset(run);
			goto done;
		}
		if (e == 1) {
			run_finish(run, NULL, MHD_HTTP_OK, "install_failed",
			    "the install step failed: the program did not run "
			    "(see install.log)");
			goto done;
		}
		if (e == PETRI_ERR_UNAVAIL || e == PETRI_ERR_TIMEOUT) {
			run_finish(run, NULL, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "unavailable",
			    msg[0] != '\0'
			        ? msg
			        : "the container engine is unavailable");
			goto done;
		}
		if (e != 0) {
			run_finish(run, NULL, MHD_HTTP_INTERNAL_SERVER_ERROR,
			    "install_error",
			    msg[0] != '\0' ? msg
			                   : "the install step could not run");
			goto done;
		}
	}
	if (run->req != NULL) {
		struct ipc_call *call;
		int eof;

		if (api_egress_exec_begin(run->a, run->sb) != 0)
			log_warn("exec %s: the proxy did not restart its "
			         "counters",
			    run->id);
		/* stdin that came during the install goes first */
		pthread_mutex_lock(&run->lock);
		if (run->killed) {
			pthread_mutex_unlock(&run->lock);
			run_finish(run, NULL, MHD_HTTP_OK, "killed",
			    "killed before the program started");
			goto done;
		}
		call = ipc_call_start(run->a->engine, MSG_ENG_EXEC, run->req,
		    run->stdin_data, run->stdin_len, &e);
		run->call = call;
		eof = run->stdin_eof;
		pthread_mutex_unlock(&run->lock);
		if (call == NULL) {
			run_finish(run, NULL, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "unavailable", "the engine is unavailable");
			goto done;
		}
		if (eof) {
			json_t *j =
			    json_pack("{s:s, s:b}", "exec", run->id, "eof", 1);

			if (ipc_send(run->a->engine, MSG_ENG_EXEC_STDIN,
			        ipc_call_id(call), j, NULL, 0) != 0)
				log_warn(
				    "exec %s: cannot close stdin", run->id);
			json_decref(j);
		}
	}
	for (;;) {
		e = ipc_call_next(run->call, (int)run->wait_ms, &m);
		if (e != 0) {
			run_finish(run, NULL, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "unavailable",
			    e == PETRI_ERR_TIMEOUT
			        ? "the engine did not answer in time"
			        : "the engine is unavailable");
			break;
		}
		if (m.type == MSG_ENG_OUTPUT) {
			stream = (int)json_integer_value(
			    json_object_get(m.json, "stream"));
			if (stream == 1 || stream == 2) {
				pthread_mutex_lock(&run->lock);
				run_output(run, stream, m.data, m.datalen);
				pthread_cond_broadcast(&run->cond);
				pthread_mutex_unlock(&run->lock);
			}
			ipc_msg_clear(&m);
			continue;
		}
		if (m.type == MSG_ENG_EXEC_STARTED) {
			ipc_msg_clear(&m);
			continue;
		}
		if ((e = proto_result(&m, msg, sizeof(msg))) == 0)
			run_finish(run, m.json, MHD_HTTP_OK, NULL, NULL);
		else if (e == PETRI_ERR_UNAVAIL || e == PETRI_ERR_TIMEOUT)
			run_finish(run, NULL, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "unavailable", msg);
		else if (e == PETRI_ERR_NOTFOUND)
			run_finish(run, NULL, MHD_HTTP_CONFLICT, "conflict",
			    "the sandbox container is gone");
		else
			run_finish(run, NULL, MHD_HTTP_INTERNAL_SERVER_ERROR,
			    "internal", msg);
		ipc_msg_clear(&m);
		break;
	}
done:
	run_unlink(run);
	run_unref(run);
	return NULL;
}

/* --- request parsing ------------------------------------------------------- */

/* A workspace-relative path without "..", absolute forms under /sandbox. */
static int
exec_rel_path(const char *in, char *out, size_t outlen)
{
	const char *p = in;
	size_t n;

	if (strncmp(p, "/sandbox/", 9) == 0)
		p += 9;
	else if (strcmp(p, "/sandbox") == 0)
		p += 8;
	else if (*p == '/')
		return PETRI_ERR_PATH;
	n = strlen(p);
	if (n >= outlen || n > WS_MAX_PATH)
		return PETRI_ERR_PATH;
	/* no "..", no control characters, no empty leading component */
	{
		const char *c = p;

		while (*c != '\0') {
			size_t m = strcspn(c, "/");

			if ((m == 2 && c[0] == '.' && c[1] == '.'))
				return PETRI_ERR_PATH;
			c += m;
			if (*c == '/')
				c++;
		}
		for (c = p; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f ||
			    *c == '\\')
				return PETRI_ERR_PATH;
	}
	memcpy(out, p, n + 1);
	return 0;
}

/* The shell program that builds and runs a Java source file ($1). */
static const char java_runner[] =
    "set -e\n"
    "f=$1\n"
    "d=$(mktemp -d /tmp/petri-java.XXXXXX)\n"
    "find . -maxdepth 16 -name '*.java' -not -path './.petri/*' "
    "-not -path './deps/*' -not -path './.m2/*' > \"$d/sources\"\n"
    "grep -qxF \"./${f#./}\" \"$d/sources\" || echo \"$f\" >> \"$d/sources\"\n"
    "javac -nowarn -d \"$d\" @\"$d/sources\"\n"
    "pkg=$(sed -n 's/^[[:space:]]*package[[:space:]][[:space:]]*"
    "\\([A-Za-z0-9_.]*\\)[[:space:]]*;.*/\\1/p' \"$f\" | head -n 1)\n"
    "c=$(basename \"$f\" .java)\n"
    "exec java -cp \"$d${CLASSPATH:+:$CLASSPATH}\" \"${pkg:+$pkg.}$c\"\n";

/* argv for running a file of the sandbox's language. */
static json_t *
exec_file_argv(const char *lang, const char *file)
{
	if (strcmp(lang, "python") == 0)
		return json_pack("[s, s]", "python3", file);
	if (strcmp(lang, "node") == 0)
		return json_pack("[s, s]", "node", file);
	if (strcmp(lang, "go") == 0)
		return json_pack("[s, s, s]", "go", "run", file);
	if (strcmp(lang, "java") == 0)
		return json_pack("[s, s, s, s, s]", "/bin/sh", "-c",
		    java_runner, "petri-java", file);
	return NULL;
}

/*
 * argv for a workspace file: relative when the command runs at the
 * workspace root (how the first releases ran "filename"), else absolute.
 */
static json_t *
exec_run_file(const char *lang, const char *cwd, const char *rel)
{
	char abs[WS_MAX_PATH + 16];

	if (strcmp(cwd, "/sandbox") == 0)
		return exec_file_argv(lang, rel);
	if ((size_t)snprintf(abs, sizeof(abs), "/sandbox/%s", rel) >=
	    sizeof(abs))
		return NULL;
	return exec_file_argv(lang, abs);
}

/* The file name for a "code" program: Java wants its public class name. */
static void
exec_code_name(const char *lang, const char *code, char *out, size_t outlen)
{
	const char *p;
	size_t n;

	if (strcmp(lang, "python") == 0)
		petri_strlcpy(out, "main.py", outlen);
	else if (strcmp(lang, "node") == 0)
		petri_strlcpy(out, "main.js", outlen);
	else if (strcmp(lang, "go") == 0)
		petri_strlcpy(out, "main.go", outlen);
	else {
		petri_strlcpy(out, "Main.java", outlen);
		if ((p = strstr(code, "public class ")) == NULL)
			return;
		p += 13;
		for (n = 0; (p[n] >= 'A' && p[n] <= 'Z') ||
		     (p[n] >= 'a' && p[n] <= 'z') ||
		     (p[n] >= '0' && p[n] <= '9') || p[n] == '_';
		     n++)
			;
		if (n > 0 && n < 128 && n + 6 <= outlen)
			snprintf(out, outlen, "%.*s.java", (int)n, p);
	}
}

/* Writes an internal file into the workspace (under .petri/). */
static int
exec_write_code(struct api *a, const char *sandbox, const char *path,
    const char *code, size_t len)
{
	json_t *j;
	struct ipc_msg m;
	int e, stage;

	j = json_pack("{s:s, s:b}", "sandbox", sandbox, "internal", 1);
	e = ipc_request(a->ws, MSG_WS_STAGE_OPEN, j, NULL, 0, 30000, &m);
	json_decref(j);
	if (e != 0)
		return e;
	if ((e = proto_result(&m, NULL, 0)) != 0) {
		ipc_msg_clear(&m);
		return e;
	}
	stage = (int)json_integer_value(json_object_get(m.json, "stage"));
	ipc_msg_clear(&m);
	j = json_pack("{s:i, s:s, s:i, s:b}", "stage", stage, "path", path,
	    "mode", 0644, "more", 0);
	e = ipc_request(a->ws, MSG_WS_STAGE_FILE, j, code, len, 30000, &m);
	json_decref(j);
	if (e == 0) {
		e = proto_result(&m, NULL, 0);
		ipc_msg_clear(&m);
	}
	j = json_pack("{s:i, s:b}", "stage", stage, "replace", 0);
	if (e == 0 &&
	    (e = ipc_request(
	         a->ws, MSG_WS_STAGE_COMMIT, j, NULL, 0, 30000, &m)) == 0) {
		e = proto_result(&m, NULL, 0);
		ipc_msg_clear(&m);
	} else if (e != 0) {
		json_t *ab = json_pack("{s:i}", "stage", stage);

		if (ipc_request(
		        a->ws, MSG_WS_STAGE_ABORT, ab, NULL, 0, 30000, &m) == 0)
			ipc_msg_clear(&m);
		json_decref(ab);
	}
	json_decref(j);
	return e;
}

/* --- what the record says of the code -------------------------------------- */

#define MANIFEST_BLOB_MAX (4UL << 20) /* larger files: hash only */
#define MANIFEST_COPY_MAX (32UL << 20) /* bytes copied to blobs per exec */

/* Copies one workspace file into a blob; 1 when stored with hash sha. */
static int
exec_copy_blob(struct api *a, const char *sandbox, json_t *f, const char *sha,
    json_int_t size)
{
	struct ipc_msg m;
	json_t *req;
	char got[65];
	int stored = 0;

	req = json_pack("{s:s, s:O, s:I, s:I}", "sandbox", sandbox, "path",
	    json_object_get(f, "path"), "offset", (json_int_t)0, "length",
	    (json_int_t)(size > 0 ? size : 1));
	if (ipc_request(a->ws, MSG_WS_READ, req, NULL, 0, 60000, &m) == 0) {
		if (proto_result(&m, NULL, 0) == 0 &&
		    api_audit_blob(a,
		        m.data != NULL ? m.data : (const unsigned char *)"",
		        m.datalen, got) == 0 &&
		    strcmp(got, sha) == 0)
			stored = 1;
		ipc_msg_clear(&m);
	}
	json_decref(req);
	return stored;
}

/*
 * The manifest of the workspace's code files (ws), with the contents the
 * audit store lacks copied into blobs, so that the record's references can
 * be produced later.  Never fails the execution: on trouble the manifest
 * says what is missing.
 */
static json_t *
exec_code_manifest(struct api *a, const char *sandbox)
{
	json_t *req, *files, *want, *f, *x, *missing = NULL, *man;
	struct ipc_msg m;
	size_t i, j;
	uint64_t copied = 0;
	int e;

	req = json_pack("{s:s}", "sandbox", sandbox);
	e = ipc_request(a->ws, MSG_WS_MANIFEST, req, NULL, 0, 60000, &m);
	json_decref(req);
	if (e != 0)
		return json_pack(
		    "{s:[], s:s}", "files", "error", "unavailable");
	if (proto_result(&m, NULL, 0) != 0) {
		ipc_msg_clear(&m);
		return json_pack(
		    "{s:[], s:s}", "files", "error", "unavailable");
	}
	man = json_incref(m.json);
	ipc_msg_clear(&m);
	files = json_object_get(man, "files");
	want = json_array();
	json_array_foreach (files, i, f)
		if (json_integer_value(json_object_get(f, "size")) <=
		    (json_int_t)MANIFEST_BLOB_MAX)
			json_array_append(want, json_object_get(f, "sha256"));
	req = json_pack("{s:o}", "sha256", want);
	if (ipc_request(a->keeper, MSG_KPR_BLOB_MISSING, req, NULL, 0, 60000,
	        &m) == 0) {
		if (proto_result(&m, NULL, 0) == 0)
			missing =
			    json_incref(json_object_get(m.json, "missing"));
		ipc_msg_clear(&m);
	}
	json_decref(req);
	json_array_foreach (files, i, f) {
		const char *sha =
		    json_string_value(json_object_get(f, "sha256"));
		json_int_t size =
		    json_integer_value(json_object_get(f, "size"));
		int need = 0, stored;

		if (size > (json_int_t)MANIFEST_BLOB_MAX || missing == NULL ||
		    sha == NULL)
			continue;
		json_array_foreach (missing, j, x)
			if (strcmp(json_string_value(x), sha) == 0)
				need = 1;
		stored = !need;
		if (need && copied + (uint64_t)size <= MANIFEST_COPY_MAX &&
		    (stored = exec_copy_blob(a, sandbox, f, sha, size)))
			copied += (uint64_t)size;
		if (stored)
			json_object_set_new(f, "blob", json_true());
	}
	json_decref(missing);
	return man;
}

/* --- handlers ---------------------------------------------------------------- */

struct sse {
	struct run *run;
	struct run_chunk *next; /* next chunk to send; NULL: from head */
	int started;
	int sent_exit;
	struct buf pending;
	size_t off;
};

static int
sse_event(struct buf *b, const char *event, json_t *data)
{
	char *text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
	int r;

	if (text == NULL)
		return PETRI_ERR_NOMEM;
	r = buf_printf(b, "event: %s\ndata: %s\n\n", event, text);
	free(text);
	return r;
}

static ssize_t
sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct sse *s = cls;
	struct run *run = s->run;
	struct run_chunk *c;
	size_t n;

	(void)pos;
	for (;;) {
		if (s->off < s->pending.len) {
			n = s->pending.len - s->off;
			if (n > max)
				n = max;
			memcpy(out, s->pending.data + s->off, n);
			s->off += n;
			return (ssize_t)n;
		}
		buf_reset(&s->pending);
		s->off = 0;
		if (s->sent_exit)
			return MHD_CONTENT_READER_END_OF_STREAM;
		pthread_mutex_lock(&run->lock);
		for (;;) {
			c = s->started
			    ? (s->next != NULL ? s->next->next : NULL)
			    : run->head;
			if (c != NULL || run->done)
				break;
			pthread_cond_wait(&run->cond, &run->lock);
		}
		if (c != NULL) {
			json_t *d = json_stringn((const char *)c->data, c->len);
			struct buf raw;

			if (d == NULL) {
				/* not UTF-8: send it sanitised */
				buf_init(&raw, c->len * 3 + 1);
				if (petri_utf8_sanitize(
				        c->data, c->len, &raw) == 0)
					d = json_stringn(raw.data != NULL
					        ? (const char *)raw.data
					        : "",
					    raw.len);
				buf_free(&raw);
			}
			s->started = 1;
			s->next = c;
			pthread_mutex_unlock(&run->lock);
			if (d != NULL)
				(void)sse_event(&s->pending,
				    c->stream == 1       ? "stdout"
				        : c->stream == 2 ? "stderr"
				                         : "install",
				    d);
			json_decref(d);
			continue;
		}
		/* done and every chunk sent: wait for the final document */
		while (run->doc == NULL)
			pthread_cond_wait(&run->cond, &run->lock);
		{
			json_t *d = json_deep_copy(run->doc);

			pthread_mutex_unlock(&run->lock);
			json_object_del(d, "stdout");
			json_object_del(d, "stderr");
			json_object_del(d, "output");
			(void)sse_event(&s->pending, "exit", d);
			json_decref(d);
		}
		s->sent_exit = 1;
	}
}

static void
sse_free(void *cls)
{
	struct sse *s = cls;

	buf_free(&s->pending);
	run_unref(s->run);
	free(s);
}

static enum MHD_Result
exec_reply_sse(struct api_req *r, struct run *run)
{
	struct MHD_Response *resp;
	struct sse *s;
	enum MHD_Result ret;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		run_unref(run);
		return MHD_NO;
	}
	s->run = run;
	buf_init(&s->pending, 64UL << 20);
	resp = MHD_create_response_from_callback(
	    MHD_SIZE_UNKNOWN, 16384, sse_read, s, sse_free);
	if (resp == NULL) {
		sse_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "text/event-stream");
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	r->answered = 1;
	return ret;
}

static int
wants_sse(struct api_req *r)
{
	const char *acc = api_header(r, MHD_HTTP_HEADER_ACCEPT);

	return acc != NULL && strstr(acc, "text/event-stream") != NULL;
}

static enum MHD_Result
exec_reply_wait(struct api_req *r, struct run *run)
{
	json_t *doc;
	unsigned int status;

	pthread_mutex_lock(&run->lock);
	while (run->doc == NULL)
		pthread_cond_wait(&run->cond, &run->lock);
	doc = json_incref(run->doc);
	status = run->status;
	pthread_mutex_unlock(&run->lock);
	run_unref(run);
	if (status != MHD_HTTP_OK) {
		json_t *err = json_object_get(doc, "error");
		const char *code =
		    json_string_value(json_object_get(err, "code"));
		const char *msg =
		    json_string_value(json_object_get(err, "message"));
		enum MHD_Result ret =
		    api_reply_error(r, status, code != NULL ? code : "internal",
		        "%s", msg != NULL ? msg : "exec failed");

		json_decref(doc);
		return ret;
	}
	return api_reply_json(r, MHD_HTTP_OK, doc);
}

enum MHD_Result
api_exec(struct api_req *r)
{
	struct api *a = r->api;
	json_t *body = NULL, *sb = NULL, *x, *argv = NULL, *env = NULL;
	json_t *req = NULL;
	json_t *limits, *rec, *spec = NULL;
	const char *lang, *kind = NULL, *s;
	char msg[256], path[WS_MAX_PATH + 1], cwd[WS_MAX_PATH + 16];
	char id[PETRI_ID_MAX], codepath[WS_MAX_PATH + 1], name[160];
	json_int_t timeout;
	struct run *run = NULL;
	pthread_t t;
	int nkinds = 0, e, background, fresh;
	const char *const kinds[] = {"command", "argv", "filename", "code"};
	const char *install = "auto";
	int test = 0;
	json_t *deps_argv = NULL, *deps_cached = NULL;
	char deps_key[PETRI_SHA256_HEX] = "";
	size_t i;
	enum MHD_Result ret;

	if ((body = api_body_json(r)) == NULL)
		return MHD_YES;
	msg[0] = '\0';
	codepath[0] = '\0';
	if (api_valid_keys(body, exec_keys, msg, sizeof(msg)) != 0)
		goto invalid;
	for (i = 0; i < 4; i++)
		if (json_object_get(body, kinds[i]) != NULL) {
			kind = kinds[i];
			nkinds++;
		}
	if ((x = json_object_get(body, "test")) != NULL) {
		if (!json_is_boolean(x)) {
			snprintf(
			    msg, sizeof(msg), "test: must be true or false");
			goto invalid;
		}
		test = json_is_true(x);
	}
	if (test) {
		/* the app to start, if any, is the command */
		if (nkinds > 1 ||
		    (nkinds == 1 && strcmp(kind, "command") != 0)) {
			snprintf(msg, sizeof(msg),
			    "test: the app to start is given as \"command\" "
			    "(or nothing: the tests alone)");
			goto invalid;
		}
		if (json_is_true(json_object_get(body, "background")) ||
		    json_is_true(json_object_get(body, "fresh"))) {
			snprintf(msg, sizeof(msg),
			    "test: not with background or fresh");
			goto invalid;
		}
	} else if (nkinds != 1) {
		snprintf(msg, sizeof(msg),
		    "exactly one of command, argv, "
		    "filename or code is required");
		goto invalid;
	}
	if ((x = json_object_get(body, "install")) != NULL) {
		if (!json_is_string(x) ||
		    (strcmp(json_string_value(x), "auto") != 0 &&
		        strcmp(json_string_value(x), "skip") != 0 &&
		        strcmp(json_string_value(x), "only") != 0)) {
			snprintf(msg, sizeof(msg),
			    "install: must be \"auto\", \"skip\" or \"only\"");
			goto invalid;
		}
		install = json_string_value(x);
	}
	x = json_object_get(body, "background");
	if (x != NULL && !json_is_boolean(x)) {
		snprintf(msg, sizeof(msg), "background: must be true or false");
		goto invalid;
	}
	background = json_is_true(x);
	x = json_object_get(body, "fresh");
	if (x != NULL && !json_is_boolean(x)) {
		snprintf(msg, sizeof(msg), "fresh: must be true or false");
		goto invalid;
	}
	fresh = json_is_true(x);
	if (fresh && background) {
		snprintf(msg, sizeof(msg),
		    "fresh: a background process needs "
		    "the sandbox's long-lived container");
		goto invalid;
	}
	x = json_object_get(body, "prompt");
	if (x != NULL &&
	    (!json_is_string(x) || json_string_length(x) > API_MAX_PROMPT)) {
		snprintf(msg, sizeof(msg),
		    "prompt: must be a string of at most "
		    "%d bytes",
		    API_MAX_PROMPT);
		goto invalid;
	}
	x = json_object_get(body, "model");
	if (x != NULL && (!json_is_string(x) || json_string_length(x) > 256)) {
		snprintf(msg, sizeof(msg), "model: must be a short string");
		goto invalid;
	}
	if ((x = json_object_get(body, "labels")) != NULL &&
	    api_valid_strmap(
	        x, API_MAX_LABELS, 256, 0, "labels", msg, sizeof(msg)) != 0)
		goto invalid;
	x = json_object_get(body, "stdin");
	if (x != NULL &&
	    (!json_is_string(x) || json_string_length(x) > API_MAX_STDIN)) {
		snprintf(msg, sizeof(msg),
		    "stdin: must be a string of at most "
		    "%lu bytes",
		    API_MAX_STDIN);
		goto invalid;
	}
	if ((sb = api_sb_load(r, 0)) == NULL) {
		ret = MHD_YES;
		goto out;
	}
	lang = json_string_value(json_object_get(sb, "language"));
	limits = json_object_get(sb, "limits");
	timeout = json_integer_value(json_object_get(limits, "timeout_ms"));
	if ((x = json_object_get(body, "timeout_ms")) != NULL) {
		if (!json_is_integer(x) || json_integer_value(x) < 1 ||
		    json_integer_value(x) > EXEC_MAX_TIMEOUT_MS) {
			snprintf(msg, sizeof(msg),
			    "timeout_ms: must be an "
			    "integer in [1, %d]",
			    EXEC_MAX_TIMEOUT_MS);
			goto invalid;
		}
		timeout = json_integer_value(x);
	} else if (background)
		timeout = 0; /* a server runs until it is killed */
	petri_strlcpy(cwd, "/sandbox", sizeof(cwd));
	if ((x = json_object_get(body, "cwd")) != NULL) {
		if (!json_is_string(x) ||
		    exec_rel_path(json_string_value(x), path, sizeof(path)) !=
		        0) {
			snprintf(msg, sizeof(msg),
			    "cwd: must be a directory "
			    "inside /sandbox");
			goto invalid;
		}
		if (path[0] != '\0')
			snprintf(cwd, sizeof(cwd), "/sandbox/%s", path);
	}
	env = json_deep_copy(json_object_get(sb, "env"));
	if (env == NULL)
		env = json_object();
	if ((x = json_object_get(body, "env")) != NULL) {
		if (api_valid_strmap(
		        x, API_MAX_ENV, 32768, 1, "env", msg, sizeof(msg)) != 0)
			goto invalid;
		json_object_update(env, x);
	}
	if (petri_id_new("ex_", id, sizeof(id)) != 0)
		goto internal;

	x = kind != NULL ? json_object_get(body, kind) : NULL;
	if (test) {
		if (x != NULL &&
		    (!json_is_string(x) || json_string_length(x) == 0 ||
		        json_string_length(x) > API_MAX_STR ||
		        strlen(json_string_value(x)) !=
		            json_string_length(x))) {
			snprintf(msg, sizeof(msg),
			    "command: must be a non-empty string without NUL");
			goto invalid;
		}
		argv = json_pack("[s, s, s, s]", "/bin/sh",
		    "/usr/local/lib/petri/test.sh", lang,
		    x != NULL ? json_string_value(x) : "");
		kind = "test";
	} else if (strcmp(kind, "command") == 0) {
		if (!json_is_string(x) || json_string_length(x) == 0 ||
		    json_string_length(x) > API_MAX_STR ||
		    strlen(json_string_value(x)) != json_string_length(x)) {
			snprintf(msg, sizeof(msg),
			    "command: must be a non-empty "
			    "string without NUL, at most %d bytes",
			    API_MAX_STR);
			goto invalid;
		}
		argv = json_pack("[s, s, O]", "/bin/sh", "-c", x);
	} else if (strcmp(kind, "argv") == 0) {
		json_t *v;

		if (!json_is_array(x) || json_array_size(x) == 0 ||
		    json_array_size(x) > API_MAX_ARGV) {
			snprintf(msg, sizeof(msg),
			    "argv: must be a non-empty "
			    "array of at most %d strings",
			    API_MAX_ARGV);
			goto invalid;
		}
		json_array_foreach (x, i, v) {
			if (!json_is_string(v) ||
			    json_string_length(v) > 4096 ||
			    strlen(json_string_value(v)) !=
			        json_string_length(v) ||
			    (i == 0 && json_string_length(v) == 0)) {
				snprintf(msg, sizeof(msg),
				    "argv[%zu]: must be a "
				    "string without NUL of at most 4096 bytes",
				    i);
				goto invalid;
			}
		}
		argv = json_incref(x);
	} else if (strcmp(kind, "filename") == 0) {
		if (!json_is_string(x) ||
		    exec_rel_path(json_string_value(x), path, sizeof(path)) !=
		        0 ||
		    path[0] == '\0') {
			snprintf(msg, sizeof(msg),
			    "filename: must be a file "
			    "path inside /sandbox");
			goto invalid;
		}
		argv = exec_run_file(lang, cwd, path);
	} else {
		if (!json_is_string(x) ||
		    json_string_length(x) > API_MAX_CODE) {
			snprintf(msg, sizeof(msg),
			    "code: must be a string of at "
			    "most %lu bytes",
			    API_MAX_CODE);
			goto invalid;
		}
		exec_code_name(lang, json_string_value(x), name, sizeof(name));
		snprintf(codepath, sizeof(codepath), ".petri/run/%s", id);
		snprintf(path, sizeof(path), "%s/%s", codepath, name);
		if ((e = exec_write_code(a,
		         json_string_value(json_object_get(sb, "id")), path,
		         json_string_value(x), json_string_length(x))) != 0) {
			ret = api_reply_err(r, e, "code");
			goto out;
		}
		argv = exec_run_file(lang, cwd, path);
	}
	if (argv == NULL)
		goto internal;

	/* what the audit record says of this request */
	rec = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:s}", "sandbox",
	    json_object_get(sb, "id"), "language",
	    json_object_get(sb, "language"), "image",
	    json_object_get(sb, "image"), "runtime",
	    json_object_get(sb, "runtime"), "limits", limits, "policy",
	    json_object_get(sb, "policy"), "cwd", cwd);
	json_object_set_new(rec, "policy", api_policy_ref(sb));
	json_object_set_new(rec, "image_id",
	    json_string(
	        (s = json_string_value(json_object_get(sb, "image_id"))) != NULL
	            ? s
	            : ""));
	if ((x = json_object_get(body, "prompt")) != NULL) {
		char sha[65];

		petri_sha256_hex(
		    json_string_value(x), json_string_length(x), sha);
		json_object_set_new(rec, "prompt",
		    json_pack("{s:O, s:s}", "text", x, "sha256", sha));
	}
	if ((x = json_object_get(body, "model")) != NULL)
		json_object_set(rec, "model", x);
	if (strcmp(kind, "code") == 0) {
		char sha[65];

		/* the program itself, as a blob the record refers to */
		x = json_object_get(body, "code");
		if (api_audit_blob(a, json_string_value(x),
		        json_string_length(x), sha) != 0) {
			ret = api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "unavailable", "the audit log is unavailable");
			json_decref(rec);
			goto out;
		}
		json_object_set_new(rec, "program",
		    json_pack("{s:s, s:I, s:b}", "sha256", sha, "size",
		        (json_int_t)json_string_length(x), "blob", 1));
	} else
		json_object_set(rec,
		    strcmp(kind, "test") == 0 ? "command" : kind,
		    json_object_get(
		        body, strcmp(kind, "test") == 0 ? "command" : kind));
	json_object_set_new(rec, "test", json_boolean(test));
	json_object_set_new(rec, "code",
	    exec_code_manifest(
	        a, json_string_value(json_object_get(sb, "id"))));
	json_object_set(rec, "argv", argv);
	{
		json_t *names = json_array(), *v;
		const char *k;

		json_object_foreach (env, k, v)
			json_array_append_new(names, json_string(k));
		json_object_set_new(rec, "env", names);
	}
	json_object_set_new(rec, "fresh", json_boolean(fresh));
	json_object_set_new(rec, "background", json_boolean(background));
	if ((x = json_object_get(body, "labels")) != NULL)
		json_object_set(rec, "labels", x);

	/* the run */
	if ((run = calloc(1, sizeof(*run))) == NULL)
		goto internal;
	pthread_mutex_init(&run->lock, NULL);
	pthread_cond_init(&run->cond, NULL);
	run->a = a;
	run->refs = 1;
	petri_strlcpy(run->id, id, sizeof(run->id));
	petri_strlcpy(run->sandbox,
	    json_string_value(json_object_get(sb, "id")), sizeof(run->sandbox));
	petri_strlcpy(run->tenant, r->auth.tenant, sizeof(run->tenant));
	run->auth = r->auth;
	petri_strlcpy(run->source_ip, r->source_ip, sizeof(run->source_ip));
	petri_strlcpy(run->code_dir, codepath, sizeof(run->code_dir));
	run->sb = json_incref(sb);
	run->rec = rec;
	run->out_max = a->cfg->output_max;
	buf_init(&run->out[0], run->out_max);
	buf_init(&run->out[1], run->out_max);
	buf_init(&run->all, 2 * run->out_max);
	run->background = background;
	run->test = test;
	run->started_usec = petri_now_usec();
	run->wait_ms = timeout + RUN_GRACE_MS;
	if (background)
		run->wait_ms = -1;

	req = json_pack("{s:s, s:O, s:O, s:O, s:s, s:I, s:I, s:b, s:b, s:I, "
	                "s:I}",
	    "exec", id, "sandbox", json_object_get(sb, "id"), "container",
	    json_object_get(sb, "container"), "argv", argv, "cwd", cwd,
	    "timeout_ms", timeout, "output_max", (json_int_t)run->out_max,
	    "fresh", fresh, "background", background, "uid",
	    (json_int_t)a->ctx->sandbox_uid, "gid",
	    (json_int_t)a->ctx->sandbox_gid);
	if (!fresh) {
		api_egress_env(
		    a, sb, env); /* fresh containers have no network */
		api_deps_env(a, lang, cwd, env);
		/* the install step: needed, reused, or not asked for */
		if (strcmp(install, "skip") != 0) {
			char prog[PATH_MAX];
			json_t *prev = json_object_get(sb, "deps");

			snprintf(prog, sizeof(prog), "/sandbox/%s", path);
			api_deps_key(lang, cwd, json_object_get(rec, "code"),
			    strcmp(kind, "code") == 0
			        ? json_string_value(json_object_get(
			              json_object_get(rec, "program"),
			              "sha256"))
			        : NULL,
			    install, deps_key);
			if (strcmp(install, "auto") == 0 && prev != NULL &&
			    json_is_string(json_object_get(prev, "key")) &&
			    strcmp(
			        json_string_value(json_object_get(prev, "key")),
			        deps_key) == 0)
				deps_cached = json_pack("{s:O, s:O}", "sbom",
				    json_object_get(prev, "sbom"),
				    "missing_imports",
				    json_object_get(prev, "missing_imports"));
			else if (!api_deps_has_manifest(
			             lang, cwd, json_object_get(rec, "code")) &&
			    json_integer_value(json_object_get(
			        json_object_get(prev, "sbom"), "components")) ==
			        0 &&
			    (strcmp(lang, "java") == 0 ||
			        (strcmp(kind, "code") != 0 &&
			            !api_deps_has_sources(
			                lang, json_object_get(rec, "code"))))) {
				/* nothing to install: Java without a build
				 * file, or no manifest and no source to scan
				 * (and no tree installed before); the SBOM says
				 * so, without running anything */
				static const char none[] =
				    "\n@@PETRI-DEPS@@ {\"ran\":false,"
				    "\"exit_code\":0,\"components\":[]}\n";
				struct buf b;

				buf_init(&b, sizeof(none) + 8);
				if (buf_append(&b, none, sizeof(none) - 1) ==
				        0 &&
				    api_deps_finish(a, sb, deps_key, &b, NULL,
				        0, 0, &deps_cached) == 0)
					json_object_del(deps_cached, "install");
				buf_free(&b);
			} else
				deps_argv = api_deps_argv(lang, install,
				    strcmp(kind, "code") == 0 ? prog : NULL);
		} else if (json_object_get(sb, "deps") != NULL)
			deps_cached = json_pack("{s:O}", "sbom",
			    json_object_get(
			        json_object_get(sb, "deps"), "sbom"));
	}
	json_object_set(req, "env", env);
	if (fresh) {
		spec = json_pack("{s:O, s:O, s:O, s:O, s:I}", "image",
		    json_object_get(sb, "image"), "limits", limits, "runtime",
		    json_object_get(sb, "runtime"), "language",
		    json_object_get(sb, "language"), "tmp_mb",
		    (json_int_t)a->cfg->limits.tmp_mb);
		json_object_set_new(req, "spec", spec);
	}
	x = json_object_get(body, "stdin");
	json_object_set_new(
	    req, "has_stdin", json_boolean(x != NULL || background));
	run->net = json_array();
	buf_init(&run->inst, EXEC_INSTALL_LOG_MAX + 64);
	buf_init(&run->inst_tail, EXEC_INSTALL_TAIL_MAX);
	if (deps_argv != NULL) {
		/* the install step first (run_main), then the program */
		run->deps_argv = deps_argv;
		deps_argv = NULL;
		run->deps_env = json_deep_copy(env);
		api_deps_env_install(a, lang, run->deps_env);
		petri_strlcpy(run->deps_key, deps_key, sizeof(run->deps_key));
		run->req = req;
		req = NULL;
		if (x != NULL && json_string_length(x) > 0) {
			if ((run->stdin_data = malloc(json_string_length(x))) ==
			    NULL)
				goto internal;
			memcpy(run->stdin_data, json_string_value(x),
			    json_string_length(x));
			run->stdin_len = json_string_length(x);
		}
	} else {
		if (!fresh && api_egress_exec_begin(a, sb) != 0)
			log_warn("exec %s: the proxy did not restart its "
			         "counters",
			    id);
		run->call = ipc_call_start(a->engine, MSG_ENG_EXEC, req,
		    x != NULL ? json_string_value(x) : NULL,
		    x != NULL ? json_string_length(x) : 0, &e);
		json_decref(req);
		req = NULL;
		if (run->call == NULL) {
			ret = api_reply_err(r, e, "exec");
			goto out;
		}
	}
	run->deps = deps_cached;
	deps_cached = NULL;
	api_sb_touch(a, sb);
	pthread_mutex_lock(&a->runs_lock);
	run->next = a->runs;
	a->runs = run;
	pthread_mutex_unlock(&a->runs_lock);
	run->refs++; /* the runner's */
	if (pthread_create(&t, NULL, run_main, run) != 0) {
		run_unlink(run);
		run->refs--;
		goto internal;
	}
	pthread_detach(t);
	if (background) {
		ret = api_reply_json(r, MHD_HTTP_ACCEPTED,
		    json_pack("{s:s, s:s}", "id", id, "status", "running"));
		run_unref(run);
	} else if (wants_sse(r))
		ret = exec_reply_sse(r, run);
	else
		ret = exec_reply_wait(r, run);
	run = NULL;
	goto out;
invalid:
	ret = api_reply_error(r, 422, "invalid_request", "%s", msg);
	goto out;
internal:
	ret = api_reply_error(
	    r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "exec failed");
out:
	run_unref(run);
	json_decref(req);
	json_decref(deps_argv);
	json_decref(deps_cached);
	json_decref(argv);
	json_decref(env);
	json_decref(sb);
	json_decref(body);
	return ret;
}

enum MHD_Result
api_exec_list(struct api_req *r)
{
	json_t *sb, *list = NULL, *x;
	size_t i;
	int e;

	if ((sb = api_sb_load(r, 0)) == NULL)
		return MHD_YES;
	e = db_exec_list(r->api->db, r->segs[0], r->auth.tenant, 100, &list);
	json_decref(sb);
	if (e != 0)
		return api_reply_err(r, e, "exec registry");
	json_array_foreach (list, i, x) {
		json_object_del(x, "stdout");
		json_object_del(x, "stderr");
		json_object_del(x, "output");
	}
	return api_reply_json(
	    r, MHD_HTTP_OK, json_pack("{s:o}", "execs", list));
}

/* Loads a finished exec of the caller's tenant or a live run of it. */
static int
exec_lookup(struct api_req *r, struct run **runp, json_t **docp)
{
	const char *id = r->segs[0];

	*runp = NULL;
	*docp = NULL;
	if (!petri_id_valid(id, "ex_"))
		return PETRI_ERR_NOTFOUND;
	if ((*runp = run_find(r->api, id, r->auth.tenant)) != NULL)
		return 0;
	return db_exec_get(r->api->db, id, r->auth.tenant, docp);
}

enum MHD_Result
api_exec_get(struct api_req *r)
{
	struct run *run;
	json_t *doc;

	if (exec_lookup(r, &run, &doc) != 0)
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		    "exec %.40s not found", r->segs[0]);
	if (run != NULL) {
		pthread_mutex_lock(&run->lock);
		if (run->doc != NULL)
			doc = json_incref(run->doc);
		else {
			/* still running, or finishing: no result yet */
			doc = run_doc(run, NULL, 1);
			json_object_set_new(
			    doc, "status", json_string("running"));
		}
		pthread_mutex_unlock(&run->lock);
		run_unref(run);
	}
	return api_reply_json(r, MHD_HTTP_OK, doc);
}

enum MHD_Result
api_exec_stream(struct api_req *r)
{
	struct run *run;
	json_t *doc;
	struct buf b;
	const char *k[] = {"stdout", "stderr"};
	enum MHD_Result ret;
	int i;

	if (exec_lookup(r, &run, &doc) != 0)
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		    "exec %.40s not found", r->segs[0]);
	if (run != NULL)
		return exec_reply_sse(r, run);
	/* finished: replay what was kept, then the exit event */
	buf_init(&b, 64UL << 20);
	for (i = 0; i < 2; i++) {
		json_t *o = json_object_get(doc, k[i]);

		if (o != NULL && json_string_length(o) > 0)
			(void)sse_event(&b, k[i], o);
	}
	json_object_del(doc, "stdout");
	json_object_del(doc, "stderr");
	json_object_del(doc, "output");
	(void)sse_event(&b, "exit", doc);
	json_decref(doc);
	ret =
	    api_reply_bytes(r, MHD_HTTP_OK, "text/event-stream", b.data, b.len);
	buf_free(&b);
	return ret;
}

enum MHD_Result
api_exec_kill(struct api_req *r)
{
	static const char *const keys[] = {NULL};
	struct run *run;
	json_t *doc, *body, *j;
	struct ipc_msg m;
	char msg[128];
	int e, started;

	if ((body = api_body_json(r)) == NULL)
		return MHD_YES;
	e = api_valid_keys(body, keys, msg, sizeof(msg));
	json_decref(body);
	if (e != 0)
		return api_reply_error(r, 422, "invalid_request", "%s", msg);
	if (exec_lookup(r, &run, &doc) != 0)
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		    "exec %.40s not found", r->segs[0]);
	if (run == NULL) {
		json_decref(doc);
		return api_reply_error(r, MHD_HTTP_CONFLICT, "conflict",
		    "exec %.40s has already finished", r->segs[0]);
	}
	/* before the program started: the install step is killed and the
	 * program never starts */
	pthread_mutex_lock(&run->lock);
	started = run->call != NULL;
	if (!started)
		run->killed = 1;
	pthread_mutex_unlock(&run->lock);
	j = json_pack("{s:s}", "exec", started ? run->id : run->deps_xid);
	e = ipc_request(
	    r->api->engine, MSG_ENG_EXEC_KILL, j, NULL, 0, 30000, &m);
	json_decref(j);
	if (e == 0) {
		e = proto_result(&m, NULL, 0);
		ipc_msg_clear(&m);
	}
	if (!started)
		e = 0;
	run_unref(run);
	if (e != 0)
		return api_reply_err(r, e, "kill");
	return api_reply_json(r, MHD_HTTP_ACCEPTED,
	    json_pack("{s:s, s:s}", "id", r->segs[0], "status", "killing"));
}

enum MHD_Result
api_exec_stdin(struct api_req *r)
{
	static const char *const keys[] = {"data", "eof", NULL};
	struct run *run;
	json_t *doc, *body, *d, *eof, *j;
	char msg[128];
	int e;

	if ((body = api_body_json(r)) == NULL)
		return MHD_YES;
	if (api_valid_keys(body, keys, msg, sizeof(msg)) != 0) {
		json_decref(body);
		return api_reply_error(r, 422, "invalid_request", "%s", msg);
	}
	d = json_object_get(body, "data");
	eof = json_object_get(body, "eof");
	if ((d != NULL &&
	        (!json_is_string(d) ||
	            json_string_length(d) > API_MAX_STDIN)) ||
	    (eof != NULL && !json_is_boolean(eof))) {
		json_decref(body);
		return api_reply_error(r, 422, "invalid_request",
		    "data must be "
		    "a string (at most %lu bytes), eof a boolean",
		    API_MAX_STDIN);
	}
	if (exec_lookup(r, &run, &doc) != 0) {
		json_decref(body);
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		    "exec %.40s not found", r->segs[0]);
	}
	if (run == NULL) {
		json_decref(doc);
		json_decref(body);
		return api_reply_error(r, MHD_HTTP_CONFLICT, "conflict",
		    "exec %.40s has already finished", r->segs[0]);
	}
	pthread_mutex_lock(&run->lock);
	if (run->call == NULL) {
		/* the install step is running: kept for the program */
		size_t n = d != NULL ? json_string_length(d) : 0;
		unsigned char *nb;

		e = 0;
		if (run->stdin_len + n > API_MAX_STDIN)
			e = PETRI_ERR_TOOBIG;
		else if (n > 0) {
			if ((nb = realloc(
			         run->stdin_data, run->stdin_len + n)) == NULL)
				e = PETRI_ERR_NOMEM;
			else {
				memcpy(nb + run->stdin_len,
				    json_string_value(d), n);
				run->stdin_data = nb;
				run->stdin_len += n;
			}
		}
		if (e == 0 && json_is_true(eof))
			run->stdin_eof = 1;
		pthread_mutex_unlock(&run->lock);
	} else {
		uint32_t cid = ipc_call_id(run->call);

		pthread_mutex_unlock(&run->lock);
		j = json_pack(
		    "{s:s, s:b}", "exec", run->id, "eof", json_is_true(eof));
		e = ipc_send(r->api->engine, MSG_ENG_EXEC_STDIN, cid, j,
		    d != NULL ? json_string_value(d) : NULL,
		    d != NULL ? json_string_length(d) : 0);
		json_decref(j);
	}
	json_decref(body);
	run_unref(run);
	if (e != 0)
		return api_reply_err(r, e, "stdin");
	return api_reply_json(
	    r, MHD_HTTP_ACCEPTED, json_pack("{s:s}", "id", r->segs[0]));
}

void
api_exec_kill_sandbox(struct api *a, const char *sandbox)
{
	struct run *run;
	char ids[EXEC_MAX_BACKGROUND * 4][PETRI_ID_MAX];
	int n = 0, i;
	struct ipc_msg m;

	pthread_mutex_lock(&a->runs_lock);
	for (run = a->runs; run != NULL && n < EXEC_MAX_BACKGROUND * 4;
	     run = run->next)
		if (strcmp(run->sandbox, sandbox) == 0) {
			pthread_mutex_lock(&run->lock);
			if (run->call == NULL)
				run->killed = 1;
			petri_strlcpy(ids[n++],
			    run->call == NULL && run->deps_xid[0] != '\0'
			        ? run->deps_xid
			        : run->id,
			    PETRI_ID_MAX);
			pthread_mutex_unlock(&run->lock);
		}
	pthread_mutex_unlock(&a->runs_lock);
	for (i = 0; i < n; i++) {
		json_t *j = json_pack("{s:s}", "exec", ids[i]);

		if (ipc_request(a->engine, MSG_ENG_EXEC_KILL, j, NULL, 0, 30000,
		        &m) == 0)
			ipc_msg_clear(&m);
		json_decref(j);
	}
}

void
api_exec_network(struct api *a, const char *sandbox, json_t *call)
{
	struct run *run;

	pthread_mutex_lock(&a->runs_lock);
	for (run = a->runs; run != NULL; run = run->next) {
		if (strcmp(run->sandbox, sandbox) != 0)
			continue;
		pthread_mutex_lock(&run->lock);
		if (!run->done && run->net != NULL) {
			if (json_array_size(run->net) < API_NETWORK_MAX)
				json_array_append(run->net, call);
			else
				run->net_dropped++;
		}
		pthread_mutex_unlock(&run->lock);
	}
	pthread_mutex_unlock(&a->runs_lock);
}

void
api_metrics_exec(struct api *a, int64_t ms, int failed)
{
	static const int64_t bounds[12] = {10, 25, 50, 100, 250, 500, 1000,
	    2500, 5000, 10000, 30000, INT64_MAX};
	int i;

	pthread_mutex_lock(&a->metrics.lock);
	a->metrics.execs++;
	if (failed)
		a->metrics.exec_errors++;
	for (i = 0; i < 12; i++)
		if (ms <= bounds[i])
			a->metrics.exec_ms_buckets[i]++;
	a->metrics.exec_ms_sum += (uint64_t)(ms > 0 ? ms : 0);
	pthread_mutex_unlock(&a->metrics.lock);
}
