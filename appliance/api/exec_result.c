/*
 * exec_result.c: the result document of a run (the answer, what the
 * stream's "exit" event and the record are built from), with the test
 * summary taken out of a test run's output, and the kept streams as
 * blobs for the record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bounds.h"
#include "exec.h"
#include "log.h"
#include "proto.h"
#include "run.h"
#include "testparse.h"
#include "util.h"

json_t *
run_stream_ref(struct api *a, struct buf *b, int truncated, int *err)
{
	char sha[65];
	int e;

	if ((e = wrap_keeper_blob_put(a,
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

/* Builds the answer document from the engine's result.  run->lock held. */
json_t *
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
		if (json_object_get(res, "path") != NULL) /* which way ran */
			json_object_set(
			    d, "path", json_object_get(res, "path"));
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
json_t *
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
void
run_test_summary(struct run *run, json_t *t, int *err)
{
	struct api *a = run->a;
	struct test_counts c;
	struct ipc_msg m;
	const char *runner = json_string_value(json_object_get(t, "runner"));
	uint64_t size;
	char sha[PETRI_SHA256_HEX];
	const char *fmt = "text";
	int e, got = -1;

	memset(&c, 0, sizeof(c));
	if (runner != NULL && strcmp(runner, "pytest") == 0) {
		/* at most the ws worker's read cap */
		if (wrap_ws_read(a, run->sandbox, ".petri/test/junit.xml", 1, 0,
		        TESTPARSE_MAX, &m, &size, NULL, 0) == 0) {
			if (testparse_junit(
			        (const char *)m.data, m.datalen, &c) == 0 &&
			    (e = wrap_keeper_blob_put(
			         a, m.data, m.datalen, sha)) == 0) {
				got = 0;
				fmt = "junit";
			}
			ipc_msg_clear(&m);
		}
	}
	if (got != 0) {
		got = testparse_text(
		    runner, (const char *)run->all.data, run->all.len, &c);
		if ((e = wrap_keeper_blob_put(a,
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
