/*
 * api_exec.c: one execution, POST /v1/sandboxes/{id}/exec, as a pipeline
 * whose steps follow in this file:
 *
 *   1. validate  exec_validate()   the request alone (exec_spec_parse())
 *   2. resolve   exec_resolve()    the caller's sandbox, its timeout, env
 *   3. prepare   exec_prepare()    the program (a "code" text written by
 *                                  ws), the record's request part with
 *                                  the code manifest (ws, keeper blobs),
 *                                  the install step, egress env, the
 *                                  engine request
 *   4. run       exec_run()        the engine call and the runner thread
 *                run_main()        install step, program, output kept
 *   5. record    run_finish()      result, "exec.finished" record (keeper),
 *                                  state.db row
 *   6. answer    exec_answer()     202 for background, else the stream or
 *                                  the result once recorded
 *
 * Every execution is a "run" (run.h): the runner thread writes the record
 * and the registry row whatever happens to the client that asked (it may
 * wait for JSON, follow Server-Sent Events, or have gone).  Below this
 * file: exec_spec.c, exec_code.c, exec_result.c, exec_answer.c, runs.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bounds.h"
#include "exec.h"
#include "exec_spec.h"
#include "log.h"
#include "proto.h"
#include "run.h"
#include "util.h"

#define RUN_GRACE_MS 60000 /* beyond the exec timeout, for the engine */

static void run_finish(struct run *run, json_t *res, unsigned int status,
    const char *errcode, const char *errmsg);
static void *run_main(void *arg);

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

/* --- 1. validate ------------------------------------------------------------ */

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

/* --- 2. resolve ------------------------------------------------------------- */

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

/* --- 3. prepare ------------------------------------------------------------- */

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
		if (wrap_keeper_blob_put(a, json_string_value(s->program),
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

	struct wrap_exec x;
	json_t *spec = NULL;

	if (s->fresh) {
		/* a fresh container has no network and no installed tree */
		if ((spec = json_pack("{s:O, s:O, s:O, s:O, s:I}", "image",
		         json_object_get(sb, "image"), "limits",
		         json_object_get(sb, "limits"), "runtime",
		         json_object_get(sb, "runtime"), "language",
		         json_object_get(sb, "language"), "tmp_mb",
		         (json_int_t)a->cfg->limits.tmp_mb)) == NULL)
			return exec_internal(j);
	} else {
		api_egress_env(a, sb, j->env);
		api_deps_env(a, j->lang, s->cwd, j->env);
		exec_prepare_install(j);
	}
	memset(&x, 0, sizeof(x));
	x.exec = j->id;
	x.sandbox = json_string_value(json_object_get(sb, "id"));
	x.container = json_object_get(sb, "container");
	x.argv = j->argv;
	x.cwd = s->cwd;
	x.timeout_ms = j->timeout_ms;
	x.output_max = (long long)a->cfg->output_max;
	x.fresh = s->fresh;
	x.background = s->background;
	x.has_stdin = s->stdin_text != NULL || s->background;
	x.uid = a->ctx->sandbox_uid;
	x.gid = a->ctx->sandbox_gid;
	x.env = j->env;
	x.spec = spec;
	j->req = wrap_engine_exec_req(&x);
	json_decref(spec);
	return j->req != NULL ? 0 : exec_internal(j);
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

/* --- 4. run ----------------------------------------------------------------- */

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
		api_deps_env_install(run->a, j->lang, run->deps_env);
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
	run->call = wrap_engine_exec_start(a, j->req,
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

/* --- 4. run: the runner thread ------------------------------------------------ */

/*
 * Reads one engine exec call to its end: output chunks go to out (the
 * program's streams 1 and 2, or, for the install step, its log), the
 * final answer to *m.  Returns 0 with *m to be cleared, or the
 * PETRI_ERR_* of the channel.
 */
static int
run_consume(struct run *run, struct ipc_call *call, int wait_ms, int install,
    struct ipc_msg *m)
{
	enum wrap_exec_frame kind;
	int e, stream;

	for (;;) {
		if ((e = wrap_engine_exec_next(
		         call, wait_ms, m, &kind, &stream)) != 0)
			return e;
		if (kind == WRAP_EXEC_END)
			return 0;
		if (kind == WRAP_EXEC_OUTPUT && (stream == 1 || stream == 2)) {
			pthread_mutex_lock(&run->lock);
			if (install)
				run_install_output(run, m->data, m->datalen);
			else
				run_output(run, stream, m->data, m->datalen);
			pthread_cond_broadcast(&run->cond);
			pthread_mutex_unlock(&run->lock);
		}
		ipc_msg_clear(m);
	}
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
	int e, code = -1;

	msg[0] = '\0';
	if (petri_id_new("ex_", xid, sizeof(xid)) != 0)
		return PETRI_ERR_INVAL;
	pthread_mutex_lock(&run->lock);
	petri_strlcpy(run->deps_xid, xid, sizeof(run->deps_xid));
	pthread_mutex_unlock(&run->lock);
	if ((req = wrap_engine_install_req(
	         run->req, xid, run->deps_argv, run->deps_env)) == NULL)
		return PETRI_ERR_NOMEM;
	if (api_egress_exec_begin(a, run->sb) != 0)
		log_warn(
		    "exec %s: the proxy did not restart its counters", run->id);
	call = wrap_engine_exec_start(a, req, NULL, 0, &e);
	json_decref(req);
	if (call == NULL)
		return e;
	e = run_consume(run, call, EXEC_INSTALL_TIMEOUT_MS + 30000, 1, &m);
	if (e == 0) {
		if ((e = proto_result(&m, msg, msglen)) == 0) {
			code = (int)json_integer_value(
			    json_object_get(m.json, "exit_code"));
			if (json_is_true(json_object_get(m.json, "timed_out")))
				snprintf(msg, msglen, "the install timed out");
		}
		ipc_msg_clear(&m);
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

/* Runs the install step; 0 when the program may follow, else the run is
 * finished. */
static int
run_install(struct run *run)
{
	char msg[256];
	int e;

	e = run_deps(run, msg, sizeof(msg));
	if (e == 0)
		return 0;
	if (e == 2)
		run_finish_unset(run);
	else if (e == 1)
		run_finish(run, NULL, MHD_HTTP_OK, "install_failed",
		    "the install step failed: the program did not run "
		    "(see install.log)");
	else if (e == PETRI_ERR_UNAVAIL || e == PETRI_ERR_TIMEOUT)
		run_finish(run, NULL, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable",
		    msg[0] != '\0' ? msg
		                   : "the container engine is unavailable");
	else
		run_finish(run, NULL, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "install_error",
		    msg[0] != '\0' ? msg : "the install step could not run");
	return -1;
}

/* Starts the program after the install step, with the stdin that came
 * meanwhile; 0, or -1 when the run is finished. */
static int
run_program_start(struct run *run)
{
	struct ipc_call *call;
	int e, eof;

	if (api_egress_exec_begin(run->a, run->sb) != 0)
		log_warn(
		    "exec %s: the proxy did not restart its counters", run->id);
	pthread_mutex_lock(&run->lock);
	if (run->killed) {
		pthread_mutex_unlock(&run->lock);
		run_finish(run, NULL, MHD_HTTP_OK, "killed",
		    "killed before the program started");
		return -1;
	}
	call = wrap_engine_exec_start(
	    run->a, run->req, run->stdin_data, run->stdin_len, &e);
	run->call = call;
	eof = run->stdin_eof;
	pthread_mutex_unlock(&run->lock);
	if (call == NULL) {
		run_finish(run, NULL, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable", "the engine is unavailable");
		return -1;
	}
	if (eof &&
	    wrap_engine_exec_stdin(
	        run->a, ipc_call_id(call), run->id, NULL, 0, 1) != 0)
		log_warn("exec %s: cannot close stdin", run->id);
	return 0;
}

/* Reads the program's output and result, and finishes the run with it. */
static void
run_program(struct run *run)
{
	struct ipc_msg m;
	char msg[256];
	int e;

	e = run_consume(run, run->call, (int)run->wait_ms, 0, &m);
	if (e != 0) {
		run_finish(run, NULL, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable",
		    e == PETRI_ERR_TIMEOUT ? "the engine did not answer in time"
		                           : "the engine is unavailable");
		return;
	}
	if ((e = proto_result(&m, msg, sizeof(msg))) == 0)
		run_finish(run, m.json, MHD_HTTP_OK, NULL, NULL);
	else if (e == PETRI_ERR_UNAVAIL || e == PETRI_ERR_TIMEOUT)
		run_finish(run, NULL, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable", msg);
	else if (e == PETRI_ERR_NOTFOUND)
		run_finish(run, NULL, MHD_HTTP_CONFLICT, "conflict",
		    "the sandbox container is gone");
	else if (e == PETRI_ERR_EXHAUSTED)
		run_finish(
		    run, NULL, MHD_HTTP_CONFLICT, "sandbox_exhausted", msg);
	else
		run_finish(
		    run, NULL, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", msg);
	ipc_msg_clear(&m);
}

/* The runner thread: install step, program, record; holds a reference. */
static void *
run_main(void *arg)
{
	struct run *run = arg;

	if (run->deps_argv != NULL && run_install(run) != 0)
		goto done;
	if (run->req != NULL && run_program_start(run) != 0)
		goto done;
	run_program(run);
done:
	run_unlink(run);
	run_unref(run);
	return NULL;
}

/* --- 5. record (the runner thread, through the keeper) ---------------------- */

/* The result document, with the test summary and the error, if any. */
static json_t *
run_result(struct run *run, json_t *res, const char *errcode,
    const char *errmsg, json_t **testp, int *err)
{
	json_t *doc, *test = NULL;
	char ts[PETRI_TIME_MAX];

	/* every call the proxy reported before the program ended */
	api_egress_sync(run->a);
	pthread_mutex_lock(&run->lock);
	run->done = 1;
	if (run->test)
		test = run_test_strip(run);
	doc = run_doc(run, res, 1);
	pthread_mutex_unlock(&run->lock);
	if (test != NULL) {
		run_test_summary(run, test, err);
		json_object_set(doc, "test", test);
	}
	if (errcode != NULL) {
		json_object_set_new(doc, "error",
		    json_pack(
		        "{s:s, s:s}", "code", errcode, "message", errmsg));
		if (json_object_get(run->deps, "setting") != NULL) {
			/* registry_not_configured: what to set, and where */
			json_t *x = json_object_get(doc, "error");

			json_object_set(x, "setting",
			    json_object_get(run->deps, "setting"));
			json_object_set_new(
			    x, "doc", json_string("docs/deps.md#registries"));
		}
	}
	petri_time_rfc3339(petri_now_usec(), ts);
	json_object_set_new(doc, "finished_at", json_string(ts));
	*testp = test;
	return doc;
}

/* What the install step and the SBOM add to the record. */
static void
run_event_deps(json_t *ev, json_t *doc)
{
	json_t *x;

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
}

/* The record: what ran, where, for whom, and what came out. */
static json_t *
run_event(struct run *run, json_t *doc, json_t *res, json_t *test,
    const char *errcode, int64_t ms, int *err)
{
	static const char *const copied[] = {
	    "exit_code", "signal", "timed_out", "oom_killed", NULL};
	json_t *ev = json_deep_copy(run->rec), *x;
	size_t i;

	json_object_set_new(ev, "exec", json_string(run->id));
	for (i = 0; copied[i] != NULL; i++)
		json_object_set(ev, copied[i], json_object_get(doc, copied[i]));
	x = json_object_get(doc, "duration_ms");
	json_object_set_new(
	    ev, "duration_ms", x != NULL ? json_incref(x) : json_integer(ms));
	if ((x = json_object_get(res, "usage")) != NULL)
		json_object_set(ev, "usage", x);
	if ((x = json_object_get(res, "path")) != NULL) /* which way ran */
		json_object_set(ev, "path", x);
	json_object_set_new(ev, "stdout",
	    run_stream_ref(run->a, &run->out[0], run->truncated, err));
	json_object_set_new(ev, "stderr",
	    run_stream_ref(run->a, &run->out[1], run->truncated, err));
	json_object_set(ev, "network", json_object_get(doc, "network"));
	run_event_deps(ev, doc);
	if (test != NULL)
		json_object_set(ev, "test", test);
	if ((x = json_object_get(doc, "network_dropped")) != NULL)
		json_object_set(ev, "network_dropped", x);
	if (errcode != NULL)
		json_object_set_new(ev, "error", json_string(errcode));
	return ev;
}

/*
 * Appends the record (unless err says its blobs could not be stored);
 * without it the result is not acknowledged: the answer says so and the
 * status becomes 503.
 */
static void
run_record(struct run *run, json_t *doc, json_t *ev, const char *errcode,
    int *err, unsigned int *status)
{
	json_t *audit = NULL;

	if (*err == 0)
		*err = wrap_keeper_append(run->a, &run->auth, run->source_ip,
		    "exec.finished", ev, &audit);
	else
		json_decref(ev);
	if (*err == 0) {
		json_object_set_new(doc, "audit", audit);
		return;
	}
	log_warn("exec %s: audit log unavailable (%s)", run->id,
	    petri_strerror(*err));
	if (errcode == NULL) {
		json_object_set_new(doc, "error",
		    json_pack("{s:s, s:s}", "code", "unavailable", "message",
		        "the audit log is unavailable; the result is not "
		        "acknowledged"));
		*status = MHD_HTTP_SERVICE_UNAVAILABLE;
	}
}

/* Keeps the result in state.db and removes a "code" program's files. */
static void
run_store(struct run *run, json_t *doc)
{
	struct api *a = run->a;
	int e;

	if ((e = db_exec_put(a->db, run->id, run->sandbox, run->tenant, doc)) !=
	    0)
		log_warn("exec %s: cannot store the result (%s)", run->id,
		    petri_strerror(e));
	if (run->code_dir[0] == '\0')
		return;
	if (wrap_ws_delete(a, run->sandbox, run->code_dir, 1, NULL, 0) != 0)
		log_warn("exec %s: cannot remove %s", run->id, run->code_dir);
}

/*
 * Ends a run: its result document, the record, the registry row, then
 * the answer to whoever waits (status: HTTP status of a failed run).
 */
static void
run_finish(struct run *run, json_t *res, unsigned int status,
    const char *errcode, const char *errmsg)
{
	int64_t ms = (petri_now_usec() - run->started_usec) / 1000;
	json_t *doc, *ev, *test = NULL;
	int err = 0;

	doc = run_result(run, res, errcode, errmsg, &test, &err);
	ev = run_event(run, doc, res, test, errcode, ms, &err);
	run_record(run, doc, ev, errcode, &err, &status);
	run_store(run, doc);
	api_metrics_exec(run->a, ms, errcode != NULL || err != 0);
	json_decref(test);
	pthread_mutex_lock(&run->lock);
	run->doc = doc;
	run->status = status;
	pthread_cond_broadcast(&run->cond);
	pthread_mutex_unlock(&run->lock);
}

/* --- 6. answer -------------------------------------------------------------- */

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
	if (exec_wants_sse(j->r))
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
