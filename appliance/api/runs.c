/*
 * runs.c: the executions in flight, below the handlers: their lifetime
 * (references), the registry the exec routes look them up in, their kept
 * output, and what the sandbox removal and the proxy's reports do to
 * them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bounds.h"
#include "log.h"
#include "proto.h"
#include "run.h"
#include "util.h"

void
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

struct run *
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

void
run_link(struct run *run)
{
	struct api *a = run->a;

	pthread_mutex_lock(&a->runs_lock);
	run->next = a->runs;
	a->runs = run;
	pthread_mutex_unlock(&a->runs_lock);
}

void
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

void
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

void
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

void
api_runs_kill_sandbox(struct api *a, const char *sandbox)
{
	struct run *run;
	char ids[EXEC_MAX_BACKGROUND * 4][PETRI_ID_MAX];
	int n = 0, i;
	int e;

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
	for (i = 0; i < n; i++)
		if ((e = wrap_engine_exec_kill(a, ids[i])) != 0 &&
		    e != PETRI_ERR_NOTFOUND)
			log_warn("exec %s: the engine did not kill it", ids[i]);
}

void
api_runs_network(struct api *a, const char *sandbox, json_t *call)
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

/* --- serve mode (api_preview.c) ------------------------------------------------ */

int
api_runs_peek(struct api *a, const char *id, const char *tenant,
    struct buf *out, struct buf *err, int *running)
{
	struct run *run;
	int r = 0;

	*running = 0;
	if ((run = run_find(a, id, tenant)) == NULL)
		return PETRI_ERR_NOTFOUND;
	pthread_mutex_lock(&run->lock);
	*running = !run->done;
	buf_reset(out);
	buf_reset(err);
	/* the tail of each: the last lines say why an app stopped */
	if (run->out[0].len > 0)
		r = buf_append(out,
		    run->out[0].data +
		        (run->out[0].len > out->max ? run->out[0].len - out->max
		                                    : 0),
		    run->out[0].len < out->max ? run->out[0].len : out->max);
	if (r == 0 && run->out[1].len > 0)
		r = buf_append(err,
		    run->out[1].data +
		        (run->out[1].len > err->max ? run->out[1].len - err->max
		                                    : 0),
		    run->out[1].len < err->max ? run->out[1].len : err->max);
	pthread_mutex_unlock(&run->lock);
	run_unref(run);
	return r;
}

int
api_runs_kill(struct api *a, const char *id, const char *tenant)
{
	struct run *run;
	char xid[PETRI_ID_MAX];
	int e;

	if ((run = run_find(a, id, tenant)) == NULL)
		return PETRI_ERR_NOTFOUND;
	pthread_mutex_lock(&run->lock);
	if (run->call == NULL)
		run->killed = 1;
	petri_strlcpy(xid,
	    run->call == NULL && run->deps_xid[0] != '\0' ? run->deps_xid
	                                                  : run->id,
	    sizeof(xid));
	pthread_mutex_unlock(&run->lock);
	e = wrap_engine_exec_kill(a, xid);
	run_unref(run);
	return e;
}
