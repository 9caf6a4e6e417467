/*
 * engine_msg.c: strict readers of the api's messages to the engine, one
 * per type (engine_msg.h).  Each format lists exactly what the matching
 * stub of api/wrap_engine.c packs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "engine_msg.h"
#include "util.h"

/* The limits object inside a format: what api_sandbox.c sb_limits() packs
 * (cpus a real there; an integer is a number too). */
#define LIMITS_FMT "{s:I, s:F, s:I, s:I, s:I}"
#define LIMITS_ARGS(l)                                                         \
	"memory_mb", &(l)->memory_mb, "cpus", &(l)->cpus, "pids", &(l)->pids,  \
	    "timeout_ms", &(l)->timeout_ms, "disk_mb", &(l)->disk_mb

static int
msg_fail_text(const char *text, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		petri_strlcpy(err, text, errlen);
	return PETRI_ERR_PROTO;
}

/* dispatch_vread() of j by fmt; what names the message in err. */
static int
msg_unpack(
    json_t *j, const char *what, char *err, size_t errlen, const char *fmt, ...)
{
	char why[JSON_ERROR_TEXT_LENGTH];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = dispatch_vread(j, why, sizeof(why), fmt, ap);
	va_end(ap);
	if (r != 0 && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", what, why);
	return r;
}

/* Whether v is an array of strings (want_array) or an object of them. */
static int
msg_strings(json_t *v, int want_array)
{
	json_t *s;
	const char *k;
	size_t i;

	if (want_array) {
		if (!json_is_array(v))
			return 0;
		json_array_foreach (v, i, s)
			if (!json_is_string(s))
				return 0;
		return 1;
	}
	if (!json_is_object(v))
		return 0;
	json_object_foreach (v, k, s)
		if (!json_is_string(s))
			return 0;
	return 1;
}

int
engine_msg_empty_read(json_t *j, char *err, size_t errlen)
{
	return msg_unpack(j, "message", err, errlen, "{}");
}

/* One sandbox spec; with_container: an entry of a reconciliation. */
static int
msg_sb_read(json_t *j, int with_container, struct engine_msg_sb *out, char *err,
    size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (with_container)
		return msg_unpack(j, "sandbox spec", err, errlen,
		    "{s:s, s?s, s:s, s:s, s:s, s:s, s:" LIMITS_FMT
		    ", s:I, s:I, s:I}",
		    "sandbox", &out->sandbox, "container", &out->container,
		    "language", &out->language, "image", &out->image, "runtime",
		    &out->runtime, "workspace", &out->workspace, "limits",
		    LIMITS_ARGS(&out->limits), "uid", &out->uid, "gid",
		    &out->gid, "tmp_mb", &out->tmp_mb);
	return msg_unpack(j, "sandbox spec", err, errlen,
	    "{s:s, s:s, s:s, s:s, s:s, s:" LIMITS_FMT ", s:I, s:I, s:I}",
	    "sandbox", &out->sandbox, "language", &out->language, "image",
	    &out->image, "runtime", &out->runtime, "workspace", &out->workspace,
	    "limits", LIMITS_ARGS(&out->limits), "uid", &out->uid, "gid",
	    &out->gid, "tmp_mb", &out->tmp_mb);
}

int
engine_msg_sb_read(
    json_t *j, struct engine_msg_sb *out, char *err, size_t errlen)
{
	return msg_sb_read(j, 0, out, err, errlen);
}

int
engine_msg_sb_delete_read(
    json_t *j, struct engine_msg_sb_delete *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	return msg_unpack(j, "sandbox delete", err, errlen, "{s:s, s?s}",
	    "sandbox", &out->sandbox, "container", &out->container);
}

int
engine_msg_sb_update_read(
    json_t *j, struct engine_msg_sb_update *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	return msg_unpack(j, "sandbox update", err, errlen,
	    "{s:s, s:" LIMITS_FMT "}", "container", &out->container, "limits",
	    LIMITS_ARGS(&out->limits));
}

int
engine_msg_sb_recover_read(
    json_t *j, struct engine_msg_sb_recover *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	return msg_unpack(j, "sandbox recover", err, errlen, "{s:s, s:s}",
	    "sandbox", &out->sandbox, "container", &out->container);
}

int
engine_msg_reconcile_read(
    json_t *j, struct engine_msg_reconcile *out, char *err, size_t errlen)
{
	json_t *list = NULL, *v;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = msg_unpack(j, "reconcile", err, errlen, "{s:o}", "sandboxes",
	         &list)) != 0)
		return r;
	if (!json_is_array(list))
		return msg_fail_text(
		    "reconcile: sandboxes is not an array", err, errlen);
	if (json_array_size(list) > 0 &&
	    (out->sb = calloc(json_array_size(list), sizeof(*out->sb))) == NULL)
		return PETRI_ERR_NOMEM;
	json_array_foreach (list, i, v) {
		if ((r = msg_sb_read(v, 1, &out->sb[i], err, errlen)) != 0)
			return r;
		out->n++;
	}
	return 0;
}

void
engine_msg_reconcile_free(struct engine_msg_reconcile *r)
{
	if (r == NULL)
		return;
	free(r->sb);
	r->sb = NULL;
	r->n = 0;
}

int
engine_msg_exec_read(
    json_t *j, struct engine_msg_exec *out, char *err, size_t errlen)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = msg_unpack(j, "exec", err, errlen,
	         "{s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:b, s:b, s:I, s:I, "
	         "s:b, s?o, s?o}",
	         "exec", &out->exec, "sandbox", &out->sandbox, "container",
	         &out->container, "argv", &out->argv, "cwd", &out->cwd,
	         "timeout_ms", &out->timeout_ms, "output_max", &out->output_max,
	         "fresh", &out->fresh, "background", &out->background, "uid",
	         &out->uid, "gid", &out->gid, "has_stdin", &out->has_stdin,
	         "env", &out->env, "spec", &out->spec)) != 0)
		return r;
	if (!msg_strings(out->argv, 1))
		return msg_fail_text(
		    "exec: argv is not an array of strings", err, errlen);
	if (out->env != NULL && !msg_strings(out->env, 0))
		return msg_fail_text(
		    "exec: env is not an object of strings", err, errlen);
	if ((out->spec != NULL) != (out->fresh != 0))
		return msg_fail_text(out->fresh ? "exec: fresh without a spec"
		                                : "exec: a spec but not fresh",
		    err, errlen);
	if (out->fresh) {
		struct engine_msg_sb sb;

		return engine_msg_exec_fresh_sb(out, &sb, err, errlen);
	}
	return 0;
}

int
engine_msg_exec_fresh_sb(const struct engine_msg_exec *x,
    struct engine_msg_sb *out, char *err, size_t errlen)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = msg_unpack(x->spec, "exec spec", err, errlen,
	         "{s:s, s:" LIMITS_FMT ", s:s, s:s, s:I}", "image", &out->image,
	         "limits", LIMITS_ARGS(&out->limits), "runtime", &out->runtime,
	         "language", &out->language, "tmp_mb", &out->tmp_mb)) != 0)
		return r;
	out->sandbox = x->sandbox;
	out->uid = x->uid;
	out->gid = x->gid;
	out->env = x->env;
	return 0;
}

int
engine_msg_exec_stdin_read(
    json_t *j, struct engine_msg_exec_stdin *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	return msg_unpack(j, "exec stdin", err, errlen, "{s:s, s:b}", "exec",
	    &out->exec, "eof", &out->eof);
}

int
engine_msg_exec_kill_read(
    json_t *j, struct engine_msg_exec_kill *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	return msg_unpack(
	    j, "exec kill", err, errlen, "{s:s}", "exec", &out->exec);
}
