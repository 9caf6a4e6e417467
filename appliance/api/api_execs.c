/*
 * api_execs.c: the routes on executions that exist: list, result, stream,
 * kill, stdin, SBOM.  A run in flight answers from memory (runs.c), a
 * finished one from state.db.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bounds.h"
#include "exec.h"
#include "log.h"
#include "proto.h"
#include "run.h"
#include "util.h"

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

	if (exec_lookup(r, &run, &doc) != 0)
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		    "exec %.40s not found", r->segs[0]);
	if (run != NULL)
		return exec_reply_sse(r, run);
	return exec_reply_sse_doc(r, doc);
}

enum MHD_Result
api_exec_kill(struct api_req *r)
{
	static const char *const keys[] = {NULL};
	struct run *run;
	json_t *doc, *body;
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
	e = wrap_engine_exec_kill(r->api, started ? run->id : run->deps_xid);
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
	json_t *doc, *body, *d, *eof;
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
		e = wrap_engine_exec_stdin(r->api, cid, run->id,
		    d != NULL ? json_string_value(d) : NULL,
		    d != NULL ? json_string_length(d) : 0, json_is_true(eof));
	}
	json_decref(body);
	run_unref(run);
	if (e != 0)
		return api_reply_err(r, e, "stdin");
	return api_reply_json(
	    r, MHD_HTTP_ACCEPTED, json_pack("{s:s}", "id", r->segs[0]));
}

enum MHD_Result
api_exec_sbom(struct api_req *r)
{
	json_t *doc = NULL;
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
	e = wrap_keeper_blob_get(r->api, sha, &m, NULL, 0);
	json_decref(doc);
	if (e != 0)
		return api_reply_err(r, e, "SBOM");
	ret = api_reply_bytes(r, MHD_HTTP_OK, "application/vnd.cyclonedx+json",
	    m.data, m.datalen);
	ipc_msg_clear(&m);
	return ret;
}
