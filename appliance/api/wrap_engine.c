/*
 * wrap_engine.c: the api's calling side of the engine protocol: sandbox
 * containers, the sandbox network, executions and their streamed answers.
 */
#include <string.h>

#include "api.h"
#include "bounds.h"
#include "proto.h"
#include "util.h"
#include "wrap.h"

#define ENGINE_TIMEOUT_MS 120000
#define ENGINE_PING_TIMEOUT_MS 5000 /* readiness answers quickly */
#define ENGINE_KILL_TIMEOUT_MS 30000
#define ENGINE_RECOVER_TIMEOUT_MS 60000

static int
eng_ask(struct api *a, uint32_t type, json_t *req, json_t **reply, char *msg,
    size_t msglen)
{
	return api_ask(a->engine, type, req, NULL, 0, ENGINE_TIMEOUT_MS, reply,
	    msg, msglen);
}

/* Copies the string field key of o (absent: ""); PETRI_ERR_PROTO when it
 * is not a string or does not fit. */
static int
eng_str(json_t *o, const char *key, char *out, size_t outlen)
{
	const char *s = NULL;

	out[0] = '\0';
	if (json_unpack(o, "{s?s}", key, &s) != 0)
		return PETRI_ERR_PROTO;
	if (s != NULL && petri_strlcpy(out, s, outlen) >= outlen)
		return PETRI_ERR_PROTO;
	return 0;
}

int
wrap_engine_ping(struct api *a, json_t **info)
{
	json_t *rep = NULL;
	int e;

	e = api_ask(a->engine, MSG_ENG_PING, json_object(), NULL, 0,
	    ENGINE_PING_TIMEOUT_MS, &rep, NULL, 0);
	if (info != NULL)
		*info = rep;
	else
		json_decref(rep);
	return e;
}

int
wrap_engine_info(struct api *a, char *gateway, size_t gwlen, char *bridge,
    size_t brlen, char *msg, size_t msglen)
{
	json_t *rep = NULL;
	int e;

	if ((e = eng_ask(a, MSG_ENG_INFO, json_object(), &rep, msg, msglen)) !=
	    0)
		return e;
	if ((e = eng_str(rep, "gateway", gateway, gwlen)) == 0)
		e = eng_str(rep, "bridge", bridge, brlen);
	json_decref(rep);
	return e;
}

int
wrap_engine_sb_create(struct api *a, json_t *spec, struct wrap_container *out,
    char *msg, size_t msglen)
{
	json_t *rep = NULL;
	int e;

	memset(out, 0, sizeof(*out));
	if ((e = eng_ask(a, MSG_ENG_SB_CREATE, spec, &rep, msg, msglen)) != 0)
		return e;
	if ((e = eng_str(rep, "container", out->container,
	         sizeof(out->container))) == 0 &&
	    (e = eng_str(
	         rep, "image_id", out->image_id, sizeof(out->image_id))) == 0)
		e = eng_str(rep, "ip", out->ip, sizeof(out->ip));
	if (e == 0 && out->container[0] == '\0')
		e = PETRI_ERR_PROTO;
	json_decref(rep);
	return e;
}

int
wrap_engine_sb_delete(struct api *a, const char *sandbox, const char *container,
    char *msg, size_t msglen)
{
	json_t *req = json_pack("{s:s}", "sandbox", sandbox);

	if (req != NULL && container != NULL)
		json_object_set_new(req, "container", json_string(container));
	return eng_ask(a, MSG_ENG_SB_DELETE, req, NULL, msg, msglen);
}

int
wrap_engine_sb_update(struct api *a, const char *container, json_t *limits,
    char *msg, size_t msglen)
{
	return eng_ask(a, MSG_ENG_SB_UPDATE,
	    json_pack("{s:s, s:O}", "container", container, "limits", limits),
	    NULL, msg, msglen);
}

int
wrap_engine_sb_recover(struct api *a, const char *sandbox,
    const char *container, json_t **reply, char *msg, size_t msglen)
{
	json_t *killed = NULL, *method = NULL;
	int e;

	*reply = NULL;
	if ((e = api_ask(a->engine, MSG_ENG_SB_RECOVER,
	         json_pack(
	             "{s:s, s:s}", "sandbox", sandbox, "container", container),
	         NULL, 0, ENGINE_RECOVER_TIMEOUT_MS, reply, msg, msglen)) != 0)
		return e;
	if (json_unpack(*reply, "{s:o, s:o}", "killed", &killed, "method",
	        &method) != 0) {
		json_decref(*reply);
		*reply = NULL;
		return PETRI_ERR_PROTO;
	}
	return 0;
}

int
wrap_engine_reconcile(
    struct api *a, json_t *known, json_t **reply, char *msg, size_t msglen)
{
	return eng_ask(a, MSG_ENG_RECONCILE,
	    json_pack("{s:o}", "sandboxes", known), reply, msg, msglen);
}

json_t *
wrap_engine_exec_req(const struct wrap_exec *x)
{
	json_t *req;

	req = json_pack("{s:s, s:s, s:O, s:O, s:s, s:I, s:I, s:b, s:b, s:I, "
	                "s:I, s:b}",
	    "exec", x->exec, "sandbox", x->sandbox, "container", x->container,
	    "argv", x->argv, "cwd", x->cwd, "timeout_ms",
	    (json_int_t)x->timeout_ms, "output_max", (json_int_t)x->output_max,
	    "fresh", x->fresh != 0, "background", x->background != 0, "uid",
	    (json_int_t)x->uid, "gid", (json_int_t)x->gid, "has_stdin",
	    x->has_stdin != 0);
	if (req == NULL)
		return NULL;
	if ((x->env != NULL && json_object_set(req, "env", x->env) != 0) ||
	    (x->spec != NULL && json_object_set(req, "spec", x->spec) != 0)) {
		json_decref(req);
		return NULL;
	}
	return req;
}

json_t *
wrap_engine_install_req(
    json_t *prog, const char *exec, json_t *argv, json_t *env)
{
	const char *sandbox = NULL, *cwd = NULL;
	json_t *container = NULL;
	json_int_t uid = 0, gid = 0;
	struct wrap_exec x;

	if (json_unpack(prog, "{s:s, s:o, s:s, s:I, s:I}", "sandbox", &sandbox,
	        "container", &container, "cwd", &cwd, "uid", &uid, "gid",
	        &gid) != 0)
		return NULL;
	memset(&x, 0, sizeof(x));
	x.exec = exec;
	x.sandbox = sandbox;
	x.container = container;
	x.argv = argv;
	x.cwd = cwd;
	x.timeout_ms = EXEC_INSTALL_TIMEOUT_MS;
	x.output_max = EXEC_INSTALL_LOG_MAX;
	x.uid = uid;
	x.gid = gid;
	x.env = env;
	return wrap_engine_exec_req(&x);
}

struct ipc_call *
wrap_engine_exec_start(
    struct api *a, json_t *req, const void *in, size_t inlen, int *err)
{
	return ipc_call_start(a->engine, MSG_ENG_EXEC, req, in, inlen, err);
}

int
wrap_engine_exec_next(struct ipc_call *call, int timeout_ms, struct ipc_msg *m,
    enum wrap_exec_frame *kind, int *stream)
{
	int e;

	*stream = 0;
	if ((e = ipc_call_next(call, timeout_ms, m)) != 0)
		return e;
	switch (m->type) {
	case MSG_ENG_EXEC_STARTED:
		*kind = WRAP_EXEC_STARTED;
		break;
	case MSG_ENG_OUTPUT:
		*kind = WRAP_EXEC_OUTPUT;
		if (json_unpack(m->json, "{s:i}", "stream", stream) != 0)
			*stream = 0;
		break;
	default:
		*kind = WRAP_EXEC_END;
		break;
	}
	return 0;
}

int
wrap_engine_exec_stdin(struct api *a, uint32_t call, const char *exec,
    const void *p, size_t n, int eof)
{
	json_t *j = json_pack("{s:s, s:b}", "exec", exec, "eof", eof != 0);
	int e;

	if (j == NULL)
		return PETRI_ERR_NOMEM;
	e = ipc_send(a->engine, MSG_ENG_EXEC_STDIN, call, j, p, n);
	json_decref(j);
	return e;
}

int
wrap_engine_exec_kill(struct api *a, const char *exec)
{
	return api_ask(a->engine, MSG_ENG_EXEC_KILL,
	    json_pack("{s:s}", "exec", exec), NULL, 0, ENGINE_KILL_TIMEOUT_MS,
	    NULL, NULL, 0);
}
