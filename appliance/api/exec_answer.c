/*
 * exec_answer.c: answering with a run, for the exec routes: its result
 * once it ends (JSON), or its output as it comes (Server-Sent Events:
 * "stdout", "stderr", "install" chunks, then "exit" with the result).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "exec.h"
#include "run.h"
#include "util.h"

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

enum MHD_Result
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

int
exec_wants_sse(struct api_req *r)
{
	const char *acc = api_header(r, MHD_HTTP_HEADER_ACCEPT);

	return acc != NULL && strstr(acc, "text/event-stream") != NULL;
}

enum MHD_Result
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
exec_reply_sse_doc(struct api_req *r, json_t *doc)
{
	const char *k[] = {"stdout", "stderr"};
	enum MHD_Result ret;
	struct buf b;
	int i;

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
