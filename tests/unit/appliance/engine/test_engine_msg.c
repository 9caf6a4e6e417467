/*
 * test_engine_msg.c: the engine's strict readers of the api's messages,
 * fed what the api's stubs send (wrap_engine_exec_req(), the install
 * step's request, and the bodies wrap_engine.c and api_sandbox.c pack),
 * and refusing a key too many, one missing and a value of another type.
 */
#include <string.h>

#include "engine_msg.h"
#include "petri_err.h"
#include "unit.h"
#include "wrap.h"

/* The limits api_sandbox.c sb_limits() packs. */
static json_t *
limits(void)
{
	return json_pack("{s:I, s:f, s:I, s:I, s:I}", "memory_mb",
	    (json_int_t)512, "cpus", 1.0, "pids", (json_int_t)256, "timeout_ms",
	    (json_int_t)30000, "disk_mb", (json_int_t)1024);
}

/* The sandbox spec api_sandbox.c sb_engine_spec() packs. */
static json_t *
sb_spec(void)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:I}",
	    "sandbox", "sb_0123456789abcdef", "language", "python", "image",
	    "petri/python:1", "limits", limits(), "runtime", "runc",
	    "workspace", "/srv/ws/sb_0123456789abcdef/ws", "uid",
	    (json_int_t)1000, "gid", (json_int_t)1000, "tmp_mb",
	    (json_int_t)64);
}

static json_t *
exec_req(int fresh)
{
	struct wrap_exec x;
	json_t *argv = json_pack("[s, s]", "python3", "main.py");
	json_t *env = json_pack("{s:s}", "LANG", "C.UTF-8");
	json_t *container = json_string("c0ffee");
	json_t *spec = NULL, *req;

	if (fresh)
		spec = json_pack("{s:s, s:o, s:s, s:s, s:I}", "image",
		    "petri/python:1", "limits", limits(), "runtime", "runc",
		    "language", "python", "tmp_mb", (json_int_t)64);
	memset(&x, 0, sizeof(x));
	x.exec = "ex_0123456789abcdef";
	x.sandbox = "sb_0123456789abcdef";
	x.container = container;
	x.argv = argv;
	x.cwd = "/sandbox";
	x.timeout_ms = 5000;
	x.output_max = 1 << 20;
	x.fresh = fresh;
	x.has_stdin = 1;
	x.uid = 1000;
	x.gid = 1001;
	x.env = env;
	x.spec = spec;
	req = wrap_engine_exec_req(&x);
	json_decref(argv);
	json_decref(env);
	json_decref(container);
	json_decref(spec);
	return req;
}

static void
test_exec(void)
{
	struct engine_msg_exec q;
	struct engine_msg_sb sb;
	json_t *req = exec_req(0);
	char err[256];

	CHECK(req != NULL);
	CHECK_EQ(engine_msg_exec_read(req, &q, err, sizeof(err)), 0);
	CHECK_STR(q.exec, "ex_0123456789abcdef");
	CHECK_STR(q.container, "c0ffee");
	CHECK_STR(q.cwd, "/sandbox");
	CHECK_EQ(json_array_size(q.argv), 2);
	CHECK(q.env != NULL && q.spec == NULL);
	CHECK(q.timeout_ms == 5000 && q.output_max == 1 << 20);
	CHECK(q.uid == 1000 && q.gid == 1001);
	CHECK(!q.fresh && !q.background && q.has_stdin);
	json_decref(req);

	req = exec_req(1);
	CHECK_EQ(engine_msg_exec_read(req, &q, err, sizeof(err)), 0);
	CHECK(q.fresh && q.spec != NULL);
	CHECK_EQ(engine_msg_exec_fresh_sb(&q, &sb, err, sizeof(err)), 0);
	CHECK_STR(sb.image, "petri/python:1");
	CHECK_STR(sb.sandbox, "sb_0123456789abcdef");
	CHECK(sb.limits.memory_mb == 512 && sb.limits.pids == 256);
	CHECK(sb.limits.cpus == 1.0 && sb.tmp_mb == 64);
	CHECK(sb.uid == 1000 && sb.gid == 1001 && sb.env == q.env);
	CHECK(sb.workspace == NULL);
	json_decref(req);
}

static void
test_exec_install(void)
{
	struct engine_msg_exec q;
	json_t *prog = exec_req(0), *argv = json_pack("[s]", "true");
	json_t *env = json_object(), *req;
	char err[256];

	req = wrap_engine_install_req(prog, "ex_fedcba9876543210", argv, env);
	CHECK(req != NULL);
	CHECK_EQ(engine_msg_exec_read(req, &q, err, sizeof(err)), 0);
	CHECK_STR(q.exec, "ex_fedcba9876543210");
	json_decref(req);
	json_decref(prog);
	json_decref(argv);
	json_decref(env);
}

static void
test_exec_refused(void)
{
	struct engine_msg_exec q;
	json_t *req = exec_req(0);
	char err[256];

	json_object_set_new(req, "extra", json_true());
	CHECK_EQ(
	    engine_msg_exec_read(req, &q, err, sizeof(err)), PETRI_ERR_PROTO);
	CHECK(strstr(err, "extra") != NULL);
	json_object_del(req, "extra");
	json_object_set_new(req, "timeout_ms", json_string("5000"));
	CHECK_EQ(
	    engine_msg_exec_read(req, &q, err, sizeof(err)), PETRI_ERR_PROTO);
	json_object_set_new(req, "timeout_ms", json_integer(5000));
	json_object_del(req, "cwd");
	CHECK_EQ(
	    engine_msg_exec_read(req, &q, err, sizeof(err)), PETRI_ERR_PROTO);
	CHECK(strstr(err, "cwd") != NULL);
	json_object_set_new(req, "cwd", json_string("/sandbox"));
	CHECK_EQ(engine_msg_exec_read(req, &q, err, sizeof(err)), 0);
	json_object_set_new(req, "argv", json_pack("[s, i]", "a", 1));
	CHECK_EQ(
	    engine_msg_exec_read(req, &q, err, sizeof(err)), PETRI_ERR_PROTO);
	json_object_set_new(req, "argv", json_pack("[s]", "a"));
	json_object_set_new(req, "env", json_pack("{s:i}", "A", 1));
	CHECK_EQ(
	    engine_msg_exec_read(req, &q, err, sizeof(err)), PETRI_ERR_PROTO);
	json_object_del(req, "env");
	CHECK_EQ(engine_msg_exec_read(req, &q, err, sizeof(err)), 0);
	/* fresh and spec go together */
	json_object_set_new(req, "fresh", json_true());
	CHECK_EQ(
	    engine_msg_exec_read(req, &q, err, sizeof(err)), PETRI_ERR_PROTO);
	json_decref(req);
	req = exec_req(1);
	json_object_set_new(
	    json_object_get(req, "spec"), "workspace", json_string("/x"));
	CHECK_EQ(
	    engine_msg_exec_read(req, &q, err, sizeof(err)), PETRI_ERR_PROTO);
	json_decref(req);
}

static void
test_sb(void)
{
	struct engine_msg_sb sb;
	struct engine_msg_reconcile rc;
	json_t *spec = sb_spec(), *known, *j;
	char err[256];

	CHECK_EQ(engine_msg_sb_read(spec, &sb, err, sizeof(err)), 0);
	CHECK_STR(sb.sandbox, "sb_0123456789abcdef");
	CHECK_STR(sb.runtime, "runc");
	CHECK(sb.container == NULL && sb.env == NULL);
	/* a container is for reconciliation only */
	json_object_set_new(spec, "container", json_string("c0ffee"));
	CHECK_EQ(
	    engine_msg_sb_read(spec, &sb, err, sizeof(err)), PETRI_ERR_PROTO);
	known = json_pack("[o, o]", spec, sb_spec());
	j = json_pack("{s:o}", "sandboxes", known);
	CHECK_EQ(engine_msg_reconcile_read(j, &rc, err, sizeof(err)), 0);
	CHECK_EQ(rc.n, 2);
	CHECK_STR(rc.sb[0].container, "c0ffee");
	CHECK(rc.sb[1].container == NULL);
	engine_msg_reconcile_free(&rc);
	/* an unknown limit */
	json_object_set_new(json_object_get(json_array_get(known, 1), "limits"),
	    "swap_mb", json_integer(1));
	CHECK_EQ(engine_msg_reconcile_read(j, &rc, err, sizeof(err)),
	    PETRI_ERR_PROTO);
	CHECK(strstr(err, "swap_mb") != NULL);
	engine_msg_reconcile_free(&rc);
	json_decref(j);
	j = json_pack("{s:{}}", "sandboxes");
	CHECK_EQ(engine_msg_reconcile_read(j, &rc, err, sizeof(err)),
	    PETRI_ERR_PROTO);
	engine_msg_reconcile_free(&rc);
	json_decref(j);
	engine_msg_reconcile_free(NULL);
}

static void
test_small(void)
{
	struct engine_msg_sb_delete d;
	struct engine_msg_sb_update u;
	struct engine_msg_sb_recover rv;
	struct engine_msg_exec_stdin in;
	struct engine_msg_exec_kill k;
	json_t *j;
	char err[256];

	j = json_object();
	CHECK_EQ(engine_msg_empty_read(j, err, sizeof(err)), 0);
	json_object_set_new(j, "x", json_null());
	CHECK_EQ(engine_msg_empty_read(j, err, sizeof(err)), PETRI_ERR_PROTO);
	json_decref(j);

	j = json_pack("{s:s}", "sandbox", "sb_1");
	CHECK_EQ(engine_msg_sb_delete_read(j, &d, err, sizeof(err)), 0);
	CHECK(d.container == NULL);
	json_object_set_new(j, "container", json_string("c1"));
	CHECK_EQ(engine_msg_sb_delete_read(j, &d, err, sizeof(err)), 0);
	CHECK_STR(d.container, "c1");
	json_decref(j);

	j = json_pack("{s:s, s:o}", "container", "c1", "limits", limits());
	CHECK_EQ(engine_msg_sb_update_read(j, &u, err, sizeof(err)), 0);
	CHECK(u.limits.memory_mb == 512 && u.limits.cpus == 1.0);
	/* cpus an integer is a number too */
	json_object_set_new(
	    json_object_get(j, "limits"), "cpus", json_integer(2));
	CHECK_EQ(engine_msg_sb_update_read(j, &u, err, sizeof(err)), 0);
	CHECK(u.limits.cpus == 2.0);
	json_object_del(json_object_get(j, "limits"), "pids");
	CHECK_EQ(engine_msg_sb_update_read(j, &u, err, sizeof(err)),
	    PETRI_ERR_PROTO);
	json_decref(j);

	j = json_pack("{s:s, s:s}", "sandbox", "sb_1", "container", "c1");
	CHECK_EQ(engine_msg_sb_recover_read(j, &rv, err, sizeof(err)), 0);
	json_object_del(j, "container");
	CHECK_EQ(engine_msg_sb_recover_read(j, &rv, err, sizeof(err)),
	    PETRI_ERR_PROTO);
	json_decref(j);

	j = json_pack("{s:s, s:b}", "exec", "ex_1", "eof", 1);
	CHECK_EQ(engine_msg_exec_stdin_read(j, &in, err, sizeof(err)), 0);
	CHECK(in.eof == 1);
	json_object_set_new(j, "eof", json_integer(1));
	CHECK_EQ(engine_msg_exec_stdin_read(j, &in, err, sizeof(err)),
	    PETRI_ERR_PROTO);
	json_decref(j);

	j = json_pack("{s:s}", "exec", "ex_1");
	CHECK_EQ(engine_msg_exec_kill_read(j, &k, err, sizeof(err)), 0);
	CHECK_STR(k.exec, "ex_1");
	json_decref(j);
	j = json_pack("[]");
	CHECK_EQ(engine_msg_exec_kill_read(j, &k, err, sizeof(err)),
	    PETRI_ERR_PROTO);
	json_decref(j);
}

int
main(void)
{
	UNIT_RUN(test_exec);
	UNIT_RUN(test_exec_install);
	UNIT_RUN(test_exec_refused);
	UNIT_RUN(test_sb);
	UNIT_RUN(test_small);
	return UNIT_DONE();
}
