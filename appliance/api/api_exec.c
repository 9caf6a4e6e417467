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
#include "exec_spec.h"
#include "run.h"
#include "testparse.h"
#include "util.h"

#define RUN_GRACE_MS 60000 /* beyond the exec timeout, for the engine */

/* --- output ---------------------------------------------------------------- */

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
 * so; the program does not run), or a PETRI_ERR_* when the step could not
 * run at all.
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
	return json_is_true(json_object_get(res, "failed")) ? 1 : 0;
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

/* --- one execution: validate, resolve, prepare, run, record, answer -------- */

/*
 * What the steps of one execution hand on.  Each step either fills its
 * part and returns 0, or queues the answer (in ret) and returns -1.
 */
struct exec_job {
	struct api_req *r;
	enum MHD_Result ret;
	json_t *body; /* the request document */
	struct exec_spec spec; /* validate: borrows from body */
	json_t *sb; /* resolve: the sandbox document */
	const char *lang;
	long long timeout_ms;
	json_t *env; /* the sandbox's env, the request's over it */
	char id[PETRI_ID_MAX];
	char code_dir[64]; /* prepare: ".petri/run/ex_..." for "code" */
	char prog[WS_MAX_PATH + 1]; /* the "code" program, workspace-relative */
	json_t *argv;
	json_t *rec; /* what the record will say of the request */
	json_t *req; /* the program's engine request */
	json_t *deps_argv; /* the install step, NULL when none runs */
	json_t *deps_cached; /* what an earlier step found, when reused */
	char deps_key[PETRI_SHA256_HEX];
};

static int
exec_fail(struct exec_job *j, enum MHD_Result ret)
{
	j->ret = ret;
	return -1;
}

static int
exec_internal(struct exec_job *j)
{
	return exec_fail(j,
	    api_reply_error(j->r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
	        "exec failed"));
}

/* 1. validate: the request alone, before anything is looked up. */
static int
exec_validate(struct exec_job *j)
{
	char msg[256];

	if ((j->body = api_body_json(j->r)) == NULL)
		return exec_fail(j, MHD_YES);
	if (exec_spec_parse(j->body, &j->spec, msg, sizeof(msg)) != 0)
		return exec_fail(j,
		    api_reply_error(j->r, 422, "invalid_request", "%s", msg));
	return 0;
}

/* 2. resolve: the caller's sandbox, and what it sets for the run. */
static int
exec_resolve(struct exec_job *j)
{
	json_t *limits;

	if ((j->sb = api_sb_load(j->r, 0)) == NULL)
		return exec_fail(j, MHD_YES);
	j->lang = json_string_value(json_object_get(j->sb, "language"));
	limits = json_object_get(j->sb, "limits");
	j->timeout_ms = j->spec.timeout_ms;
	if (j->timeout_ms == 0)
		j->timeout_ms = j->spec.background
		    ? 0 /* a server runs until it is killed */
		    : json_integer_value(json_object_get(limits, "timeout_ms"));
	if ((j->env = json_deep_copy(json_object_get(j->sb, "env"))) == NULL)
		j->env = json_object();
	if (j->env == NULL ||
	    (j->spec.env != NULL && json_object_update(j->env, j->spec.env)))
		return exec_internal(j);
	if (j->lang == NULL || petri_id_new("ex_", j->id, sizeof(j->id)) != 0)
		return exec_internal(j);
	return 0;
}

/* 3a. prepare the program: its argv, a "code" text written to the
 * workspace. */
static int
exec_prepare_program(struct exec_job *j)
{
	struct api *a = j->r->api;
	const struct exec_spec *s = &j->spec;
	const char *sandbox = json_string_value(json_object_get(j->sb, "id"));
	char name[160];
	int e;

	switch (s->kind) {
	case EXEC_KIND_TEST:
		j->argv = json_pack("[s, s, s, s]", "/bin/sh",
		    "/usr/local/lib/petri/test.sh", j->lang,
		    s->program != NULL ? json_string_value(s->program) : "");
		break;
	case EXEC_KIND_COMMAND:
		j->argv = json_pack("[s, s, O]", "/bin/sh", "-c", s->program);
		break;
	case EXEC_KIND_ARGV:
		j->argv = json_incref(s->program);
		break;
	case EXEC_KIND_FILENAME:
		j->argv = exec_run_file(j->lang, s->cwd, s->file);
		break;
	case EXEC_KIND_CODE:
		exec_code_name(
		    j->lang, json_string_value(s->program), name, sizeof(name));
		snprintf(
		    j->code_dir, sizeof(j->code_dir), ".petri/run/%s", j->id);
		snprintf(j->prog, sizeof(j->prog), "%s/%s", j->code_dir, name);
		if ((e = exec_write_code(a, sandbox, j->prog,
		         json_string_value(s->program),
		         json_string_length(s->program))) != 0)
			return exec_fail(j, api_reply_err(j->r, e, "code"));
		j->argv = exec_run_file(j->lang, s->cwd, j->prog);
		break;
	}
	return j->argv != NULL ? 0 : exec_internal(j);
}

/* The request's own part of the record: prompt, model, the program. */
static int
exec_record_request(struct exec_job *j)
{
	struct api *a = j->r->api;
	const struct exec_spec *s = &j->spec;
	char sha[65];

	if (s->prompt != NULL) {
		petri_sha256_hex(json_string_value(s->prompt),
		    json_string_length(s->prompt), sha);
		json_object_set_new(j->rec, "prompt",
		    json_pack("{s:O, s:s}", "text", s->prompt, "sha256", sha));
	}
	if (s->model != NULL)
		json_object_set(j->rec, "model", s->model);
	if (s->kind == EXEC_KIND_CODE) {
		/* the program itself, as a blob the record refers to */
		if (api_audit_blob(a, json_string_value(s->program),
		        json_string_length(s->program), sha) != 0)
			return exec_fail(j,
			    api_reply_error(j->r, MHD_HTTP_SERVICE_UNAVAILABLE,
			        "unavailable", "the audit log is unavailable"));
		json_object_set_new(j->rec, "program",
		    json_pack("{s:s, s:I, s:b}", "sha256", sha, "size",
		        (json_int_t)json_string_length(s->program), "blob", 1));
	} else if (s->program != NULL)
		json_object_set(j->rec,
		    s->kind == EXEC_KIND_TEST ? "command" : s->kind_name,
		    s->program);
	if (s->labels != NULL)
		json_object_set(j->rec, "labels", s->labels);
	return 0;
}

/* 3b. prepare the record: what ran, where, with which code (ws). */
static int
exec_prepare_record(struct exec_job *j)
{
	struct api *a = j->r->api;
	json_t *sb = j->sb, *names, *v;
	const char *k, *image_id;

	j->rec = json_pack("{s:O, s:O, s:O, s:O, s:O, s:o, s:s}", "sandbox",
	    json_object_get(sb, "id"), "language",
	    json_object_get(sb, "language"), "image",
	    json_object_get(sb, "image"), "runtime",
	    json_object_get(sb, "runtime"), "limits",
	    json_object_get(sb, "limits"), "policy", api_policy_ref(sb), "cwd",
	    j->spec.cwd);
	if (j->rec == NULL)
		return exec_internal(j);
	image_id = json_string_value(json_object_get(sb, "image_id"));
	json_object_set_new(
	    j->rec, "image_id", json_string(image_id != NULL ? image_id : ""));
	if (exec_record_request(j) != 0)
		return -1;
	json_object_set_new(j->rec, "test", json_boolean(j->spec.test));
	json_object_set_new(j->rec, "code",
	    exec_code_manifest(
	        a, json_string_value(json_object_get(sb, "id"))));
	json_object_set(j->rec, "argv", j->argv);
	names = json_array();
	json_object_foreach (j->env, k, v)
		json_array_append_new(names, json_string(k));
	json_object_set_new(j->rec, "env", names);
	json_object_set_new(j->rec, "fresh", json_boolean(j->spec.fresh));
	json_object_set_new(
	    j->rec, "background", json_boolean(j->spec.background));
	return 0;
}

/* An SBOM that says "nothing installed", without running anything. */
static json_t *
exec_install_none(struct api *a, json_t *sb, const char *key)
{
	static const char none[] = "\n@@PETRI-DEPS@@ {\"ran\":false,"
	                           "\"exit_code\":0,\"components\":[]}\n";
	json_t *res = NULL;
	struct buf b;

	buf_init(&b, sizeof(none) + 8);
	if (buf_append(&b, none, sizeof(none) - 1) == 0 &&
	    api_deps_finish(a, sb, key, &b, NULL, 0, 0, &res) == 0)
		json_object_del(res, "install");
	buf_free(&b);
	return res;
}

/* 3c. prepare the install step: needed, reused, or not asked for. */
static void
exec_prepare_install(struct exec_job *j)
{
	struct api *a = j->r->api;
	const struct exec_spec *s = &j->spec;
	json_t *prev = json_object_get(j->sb, "deps");
	json_t *code = json_object_get(j->rec, "code");
	const char *pkey = json_string_value(json_object_get(prev, "key"));
	int is_code = s->kind == EXEC_KIND_CODE;
	char prog[WS_MAX_PATH + 16];

	if (s->install == EXEC_INSTALL_SKIP) {
		if (prev != NULL)
			j->deps_cached = json_pack(
			    "{s:O}", "sbom", json_object_get(prev, "sbom"));
		return;
	}
	snprintf(prog, sizeof(prog), "/sandbox/%s", j->prog);
	api_deps_key(j->lang, s->cwd, code,
	    is_code ? json_string_value(json_object_get(
	                  json_object_get(j->rec, "program"), "sha256"))
	            : NULL,
	    s->install_name, j->deps_key);
	if (s->install == EXEC_INSTALL_AUTO && pkey != NULL &&
	    strcmp(pkey, j->deps_key) == 0)
		j->deps_cached = json_pack("{s:O, s:O}", "sbom",
		    json_object_get(prev, "sbom"), "missing_imports",
		    json_object_get(prev, "missing_imports"));
	else if (!api_deps_has_manifest(j->lang, s->cwd, code) &&
	    json_integer_value(json_object_get(
	        json_object_get(prev, "sbom"), "components")) == 0 &&
	    (strcmp(j->lang, "java") == 0 ||
	        (!is_code && !api_deps_has_sources(j->lang, code))))
		/* nothing to install: Java without a build file, or no
		 * manifest and no source to scan (and no tree installed
		 * before); the SBOM says so */
		j->deps_cached = exec_install_none(a, j->sb, j->deps_key);
	else
		j->deps_argv = api_deps_argv(
		    j->lang, s->install_name, is_code ? prog : NULL);
}

/* 3d. prepare the engine request, with egress and registries in env. */
static int
exec_prepare_engine(struct exec_job *j)
{
	struct api *a = j->r->api;
	const struct exec_spec *s = &j->spec;
	json_t *sb = j->sb;

	j->req = json_pack("{s:s, s:O, s:O, s:O, s:s, s:I, s:I, s:b, s:b, "
	                   "s:I, s:I, s:b}",
	    "exec", j->id, "sandbox", json_object_get(sb, "id"), "container",
	    json_object_get(sb, "container"), "argv", j->argv, "cwd", s->cwd,
	    "timeout_ms", (json_int_t)j->timeout_ms, "output_max",
	    (json_int_t)a->cfg->output_max, "fresh", s->fresh, "background",
	    s->background, "uid", (json_int_t)a->ctx->sandbox_uid, "gid",
	    (json_int_t)a->ctx->sandbox_gid, "has_stdin",
	    s->stdin_text != NULL || s->background);
	if (j->req == NULL)
		return exec_internal(j);
	if (s->fresh) {
		/* a fresh container has no network and no installed tree */
		json_object_set_new(j->req, "spec",
		    json_pack("{s:O, s:O, s:O, s:O, s:I}", "image",
		        json_object_get(sb, "image"), "limits",
		        json_object_get(sb, "limits"), "runtime",
		        json_object_get(sb, "runtime"), "language",
		        json_object_get(sb, "language"), "tmp_mb",
		        (json_int_t)a->cfg->limits.tmp_mb));
	} else {
		api_egress_env(a, sb, j->env);
		api_deps_env(a, j->lang, s->cwd, j->env);
		exec_prepare_install(j);
	}
	json_object_set(j->req, "env", j->env);
	return 0;
}

/* 3. prepare: program, record, install step, engine request. */
static int
exec_prepare(struct exec_job *j)
{
	if (exec_prepare_program(j) != 0 || exec_prepare_record(j) != 0 ||
	    exec_prepare_engine(j) != 0)
		return -1;
	return 0;
}

/* A run for the job, not yet registered nor started. */
static struct run *
exec_run_new(struct exec_job *j)
{
	struct api *a = j->r->api;
	struct run *run;

	if ((run = calloc(1, sizeof(*run))) == NULL)
		return NULL;
	pthread_mutex_init(&run->lock, NULL);
	pthread_cond_init(&run->cond, NULL);
	run->a = a;
	run->refs = 1;
	petri_strlcpy(run->id, j->id, sizeof(run->id));
	petri_strlcpy(run->sandbox,
	    json_string_value(json_object_get(j->sb, "id")),
	    sizeof(run->sandbox));
	petri_strlcpy(run->tenant, j->r->auth.tenant, sizeof(run->tenant));
	run->auth = j->r->auth;
	petri_strlcpy(run->source_ip, j->r->source_ip, sizeof(run->source_ip));
	petri_strlcpy(run->code_dir, j->code_dir, sizeof(run->code_dir));
	run->sb = json_incref(j->sb);
	run->rec = j->rec;
	j->rec = NULL;
	run->out_max = a->cfg->output_max;
	buf_init(&run->out[0], run->out_max);
	buf_init(&run->out[1], run->out_max);
	buf_init(&run->all, 2 * run->out_max);
	buf_init(&run->inst, EXEC_INSTALL_LOG_MAX + 64);
	buf_init(&run->inst_tail, EXEC_INSTALL_TAIL_MAX);
	run->background = j->spec.background;
	run->test = j->spec.test;
	run->started_usec = petri_now_usec();
	run->wait_ms = j->spec.background ? -1 : j->timeout_ms + RUN_GRACE_MS;
	run->net = json_array();
	run->deps = j->deps_cached;
	j->deps_cached = NULL;
	return run;
}

/*
 * The first engine call of a run: the install step's comes from the
 * runner (run_main), which sends the program after it; else the program
 * starts here, with its stdin.
 */
static int
exec_run_start(struct exec_job *j, struct run *run)
{
	struct api *a = j->r->api;
	json_t *in = j->spec.stdin_text;
	int e;

	if (j->deps_argv != NULL) {
		run->deps_argv = j->deps_argv;
		j->deps_argv = NULL;
		run->deps_env = json_deep_copy(j->env);
		petri_strlcpy(
		    run->deps_key, j->deps_key, sizeof(run->deps_key));
		run->req = j->req;
		j->req = NULL;
		if (in != NULL && json_string_length(in) > 0) {
			if ((run->stdin_data =
			            malloc(json_string_length(in))) == NULL)
				return exec_internal(j);
			memcpy(run->stdin_data, json_string_value(in),
			    json_string_length(in));
			run->stdin_len = json_string_length(in);
		}
		return 0;
	}
	if (!j->spec.fresh && api_egress_exec_begin(a, j->sb) != 0)
		log_warn(
		    "exec %s: the proxy did not restart its counters", j->id);
	run->call = ipc_call_start(a->engine, MSG_ENG_EXEC, j->req,
	    in != NULL ? json_string_value(in) : NULL,
	    in != NULL ? json_string_length(in) : 0, &e);
	if (run->call == NULL)
		return exec_fail(j, api_reply_err(j->r, e, "exec"));
	return 0;
}

/* 4. run: the engine call, then the runner thread, which records (5). */
static int
exec_run(struct exec_job *j, struct run **runp)
{
	struct api *a = j->r->api;
	struct run *run;
	pthread_t t;

	if ((run = *runp = exec_run_new(j)) == NULL)
		return exec_internal(j);
	if (exec_run_start(j, run) != 0)
		return -1;
	api_sb_touch(a, j->sb);
	run_link(run);
	run->refs++; /* the runner's */
	if (pthread_create(&t, NULL, run_main, run) != 0) {
		run_unlink(run);
		run->refs--;
		return exec_internal(j);
	}
	pthread_detach(t);
	return 0;
}

/*
 * 6. answer: at once for a background run, else its stream or result.
 * Takes the caller's reference to run.
 */
static enum MHD_Result
exec_answer(struct exec_job *j, struct run *run)
{
	enum MHD_Result ret;

	if (j->spec.background) {
		ret = api_reply_json(j->r, MHD_HTTP_ACCEPTED,
		    json_pack("{s:s, s:s}", "id", j->id, "status", "running"));
		run_unref(run);
		return ret;
	}
	if (wants_sse(j->r))
		return exec_reply_sse(j->r, run);
	return exec_reply_wait(j->r, run);
}

/*
 * POST /v1/sandboxes/{id}/exec.  The record (step 5) is written by the
 * runner thread when the engine's answer ends (run_finish()), whatever
 * happens to the client meanwhile.
 */
enum MHD_Result
api_exec(struct api_req *r)
{
	struct exec_job j;
	struct run *run = NULL;

	memset(&j, 0, sizeof(j));
	j.r = r;
	if (exec_validate(&j) == 0 && exec_resolve(&j) == 0 &&
	    exec_prepare(&j) == 0 && exec_run(&j, &run) == 0) {
		j.ret = exec_answer(&j, run);
		run = NULL;
	}
	run_unref(run);
	json_decref(j.req);
	json_decref(j.deps_argv);
	json_decref(j.deps_cached);
	json_decref(j.rec);
	json_decref(j.argv);
	json_decref(j.env);
	json_decref(j.sb);
	json_decref(j.body);
	return j.ret;
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

enum MHD_Result
api_exec_sbom(struct api_req *r)
{
	json_t *doc = NULL, *req;
	const char *sha;
	struct ipc_msg m;
	int e;
	enum MHD_Result ret;

	if ((e = db_exec_get(r->api->db, r->segs[0], r->auth.tenant, &doc)) !=
	    0)
		return api_reply_err(r, e, "execution");
	sha = json_string_value(
	    json_object_get(json_object_get(doc, "sbom"), "sha256"));
	if (sha == NULL) {
		json_decref(doc);
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		    "this execution has no SBOM");
	}
	req = json_pack("{s:s}", "sha256", sha);
	e = ipc_request(
	    r->api->keeper, MSG_KPR_BLOB_GET, req, NULL, 0, 60000, &m);
	json_decref(req);
	json_decref(doc);
	if (e != 0)
		return api_reply_err(r, e, "SBOM");
	if ((e = proto_result(&m, NULL, 0)) != 0) {
		ipc_msg_clear(&m);
		return api_reply_err(r, e, "SBOM");
	}
	ret = api_reply_bytes(r, MHD_HTTP_OK, "application/vnd.cyclonedx+json",
	    m.data, m.datalen);
	ipc_msg_clear(&m);
	return ret;
}
