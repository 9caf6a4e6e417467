/*
 * engine.c: the engine process, the only one that talks to Docker.
 *
 * It creates, adopts and removes sandbox containers through the container
 * backend (backend.h; Docker today), runs executions in them through their
 * supervisor (petri-init, supervisor.h) or else through the backend's exec
 * and petri-spawn (so a timeout or a kill takes the whole process tree),
 * and streams their output back to the api.  The backend's replies and
 * the supervisors' frames are untrusted input.  Each request from the api
 * runs on its own thread.
 */
#include <sys/eventfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "buf.h"
#include "backend.h"
#include "dispatch.h"
#include "engine_msg.h"
#include "log.h"
#include "procs.h"
#include "proto.h"
#include "supervisor.h"
#include "util.h"

#define SPAWN_PATH "/usr/local/bin/petri-spawn"
#define INIT_PATH "/usr/local/bin/petri-init"
#define SUP_READ_CHUNK 65536 /* one read of a pipe */
#define SUP_DRAIN_MS 300 /* output after a foreground exit */
#define ENGINE_MAX_EXECS 1024
#define STDIN_MAX (4UL << 20)

struct engine {
	struct proc_ctx *ctx;
	struct backend *be; /* the container backend (Docker today) */
	struct ipc_chan *api;
	char network[64];
	char net_id[BACKEND_ID_MAX];
	pthread_mutex_t lock;
	struct xexec *execs;
	int nexecs;
	int net_ready;
	struct sup_hub *sup; /* NULL: every execution through docker exec */
};

/* One execution in flight. */
struct xexec {
	struct xexec *next;
	char id[PETRI_ID_MAX];
	char container[BACKEND_ID_MAX];
	int evfd; /* wakes the exec's poll loop */
	int kill; /* asked to stop */
	struct buf in; /* stdin waiting to be written */
	int in_eof; /* close stdin once in is empty */
	int refs;
};

struct job {
	struct engine *e;
	dispatch_fn fn;
	struct ipc_msg msg;
};

static struct engine *the_engine;

/* --- helpers ----------------------------------------------------------------- */

static int reply_err(struct engine *e, uint32_t id, int code, const char *fmt,
    ...) PETRI_PRINTF(4, 5);

static int
reply_err(struct engine *e, uint32_t id, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return proto_send_err(e->api, id, code, msg);
}

static void
reply_ok(struct engine *e, uint32_t id, json_t *j)
{
	if (ipc_send(e->api, MSG_OK, id, j, NULL, 0) != 0)
		log_warn("cannot answer the api");
	json_decref(j);
}

static const char *
str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Env array "K=V" from an object of strings. */
static json_t *
env_array(json_t *env)
{
	json_t *a = json_array(), *v;
	const char *k;
	char *kv;

	json_object_foreach (env, k, v) {
		const char *s = json_string_value(v);

		if (s == NULL)
			continue;
		if (asprintf(&kv, "%s=%s", k, s) < 0)
			continue;
		json_array_append_new(a, json_string(kv));
		free(kv);
	}
	return a;
}

/*
 * OOM kills counted by the container's memory cgroup (v1 memory.oom_control
 * or v2 memory.events, "oom_kill N"), or -1 when unknown.  cgroup files
 * report a size of 0, so they are read line by line.
 */
static long
oom_kills(const char *cid)
{
	static const char *const pre[] = {"/sys/fs/cgroup/memory/docker/",
	    "/sys/fs/cgroup/system.slice/docker-", "/sys/fs/cgroup/docker/"};
	static const char *const suf[] = {
	    "/memory.oom_control", ".scope/memory.events", "/memory.events"};
	char path[256], line[128];
	long long v;
	size_t i;
	long n = -1;
	FILE *f;

	for (i = 0; i < sizeof(pre) / sizeof(pre[0]) && n < 0; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", pre[i], cid,
		        suf[i]) >= sizeof(path))
			continue;
		if ((f = fopen(path, "re")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (strncmp(line, "oom_kill ", 9) == 0 &&
			    petri_strtonum(line + 9, 0, LLONG_MAX, &v) == 0)
				n = (long)v;
		}
		fclose(f);
	}
	return n;
}

static const char *
signame(int sig)
{
	static const char *const names[] = {NULL, "SIGHUP", "SIGINT", "SIGQUIT",
	    "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
	    "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM",
	    "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN",
	    "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF",
	    "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"};

	if (sig > 0 && sig < (int)(sizeof(names) / sizeof(names[0])))
		return names[sig];
	return NULL;
}

/* --- network and containers ---------------------------------------------------- */

static int
engine_network(struct engine *e)
{
	json_t *cfg, *net = NULL;
	int r;

	if (e->net_ready)
		return 0;
	r = backend_network_inspect(e->be, e->network, &net);
	if (r == 0) {
		const char *id = str(net, "Id");

		if (id != NULL)
			petri_strlcpy(e->net_id, id, sizeof(e->net_id));
		if (json_is_string(
		        json_object_get(json_object_get(net, "Options"),
		            "com.docker.network.bridge.enable_icc")) &&
		    strcmp(json_string_value(
		               json_object_get(json_object_get(net, "Options"),
		                   "com.docker.network.bridge.enable_icc")),
		        "false") != 0)
			log_warn("network %s lets its containers reach one "
			         "another (icc): recreate it to isolate "
			         "sandboxes",
			    e->network);
		if (!json_is_true(json_object_get(net, "Internal"))) {
			log_warn("network %s exists but is not internal: "
			         "refusing to use it",
			    e->network);
			json_decref(net);
			return PETRI_ERR_STATE;
		}
		json_decref(net);
		e->net_ready = 1;
		return 0;
	}
	if (r != PETRI_ERR_NOTFOUND)
		return r;
	/* no way out (internal), no NAT, and no way to one another (icc) */
	cfg = json_pack("{s:b, s:s, s:{s:s}, s:{s:s, s:s}}", "Internal", 1,
	    "Driver", "bridge", "Labels", "petri.instance", e->ctx->instance,
	    "Options", "com.docker.network.bridge.enable_ip_masquerade",
	    "false", "com.docker.network.bridge.enable_icc", "false");
	r = backend_network_create(e->be, e->network, cfg, e->net_id);
	json_decref(cfg);
	if (r == PETRI_ERR_EXISTS)
		r = 0;
	if (r == 0) {
		e->net_ready = 1;
		log_info("created the internal sandbox network %s", e->network);
	}
	return r;
}

/*
 * The address of a container on the sandbox network, into ip (the proxy
 * knows a sandbox by it).  Returns 0, or PETRI_ERR_NOTFOUND when it has
 * none (not running), or the error of the inspection.
 */
static int
container_ip(struct engine *e, const char *cid, char ip[64])
{
	json_t *ins = NULL;
	const char *a;
	int r;

	ip[0] = '\0';
	if ((r = backend_container_inspect(e->be, cid, &ins)) != 0)
		return r;
	a = str(json_object_get(
	            json_object_get(
	                json_object_get(ins, "NetworkSettings"), "Networks"),
	            e->network),
	    "IPAddress");
	r = a != NULL && a[0] != '\0' && petri_strlcpy(ip, a, 64) < 64
	    ? 0
	    : PETRI_ERR_NOTFOUND;
	json_decref(ins);
	return r;
}

/*
 * Whether a sandbox of this runtime gets petri-init as its PID 1.  gVisor
 * (runsc) does not: a unix socket bind-mounted from the host cannot be
 * dialled from inside it without the runtime's host-UDS option, so its
 * executions take docker exec (docs/architecture.md).
 */
static int
engine_supervised(struct engine *e, const char *runtime)
{
	return e->sup != NULL &&
	    (runtime == NULL || strcmp(runtime, "runsc") != 0);
}

static int bind_add(json_t *binds, const char *fmt, ...) PETRI_PRINTF(2, 3);

/* Appends one bind to binds; PETRI_ERR_TOOBIG when it does not fit. */
static int
bind_add(json_t *binds, const char *fmt, ...)
{
	char bind[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(bind, sizeof(bind), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(bind))
		return PETRI_ERR_TOOBIG;
	json_array_append_new(binds, json_string(bind));
	return 0;
}

/* The binds of a supervised sandbox: petri-init and its socket's dir. */
static int
container_config_sup(struct engine *e, const char *sandbox, json_t *binds)
{
	char dir[4096];

	if (sup_sandbox_dir(e->sup, sandbox, dir, sizeof(dir)) != 0 ||
	    bind_add(binds, "%s/petri-init:%s:ro", e->ctx->exe_dir,
	        INIT_PATH) != 0 ||
	    bind_add(binds, "%s:%s:ro", dir, SUP_MOUNT_DIR) != 0)
		return PETRI_ERR_TOOBIG;
	return 0;
}

/* The binds of a container: its workspace, petri-spawn and, for a
 * sandbox, the install scripts, our CA and the supervisor's. */
static json_t *
container_binds(struct engine *e, const struct engine_msg_sb *sb, int oneshot,
    int supervised)
{
	json_t *binds = json_array();

	if (bind_add(binds, "%s:/sandbox:rw", sb->workspace) != 0 ||
	    bind_add(binds, "%s/petri-spawn:%s:ro", e->ctx->exe_dir,
	        SPAWN_PATH) != 0 ||
	    /* the install scripts (docs/deps.md), read-only */
	    (!oneshot &&
	        bind_add(binds, "%s/petri-deps:/usr/local/lib/petri:ro",
	            e->ctx->exe_dir) != 0) ||
	    /* the interception CA, the only thing of ours they may read */
	    (!oneshot &&
	        bind_add(binds, "%s/public:%s:ro", e->ctx->cfg.data_dir,
	            SANDBOX_PETRI_DIR) != 0) ||
	    (supervised && container_config_sup(e, sb->sandbox, binds) != 0)) {
		json_decref(binds);
		return NULL;
	}
	return binds;
}

/* The HostConfig of a container, binds taken over (also on failure). */
static json_t *
container_host_config(struct engine *e, const struct engine_msg_sb *sb,
    json_t *binds, int oneshot, int supervised)
{
	const struct engine_msg_limits *l = &sb->limits;
	json_int_t tmp = sb->tmp_mb > 0 ? sb->tmp_mb : SB_DEFAULT_TMP_MB;
	char tmpfs[128];
	json_t *hc;

	snprintf(tmpfs, sizeof(tmpfs),
	    "rw,exec,nosuid,nodev,size=%lldm,mode=1777", (long long)tmp);
	hc = json_pack("{s:o, s:s, s:[s], s:[s], s:b, s:{s:s}, s:I, s:I, s:I, "
	               "s:I, s:b, s:s, s:[s], s:{s:s}, s:[{s:s, s:i, s:i}]}",
	    "Binds", binds, "NetworkMode", oneshot ? "none" : e->network,
	    "CapDrop", "ALL", "SecurityOpt", "no-new-privileges:true",
	    "ReadonlyRootfs", 1, "Tmpfs", "/tmp", tmpfs, "Memory",
	    l->memory_mb * 1024 * 1024, "MemorySwap",
	    l->memory_mb * 1024 * 1024, "PidsLimit", l->pids, "NanoCpus",
	    (json_int_t)(l->cpus * 1e9), "Init", 1, "IpcMode", "private", "Dns",
	    "127.0.0.1", "LogConfig", "Type", "none", "Ulimits", "Name",
	    "nofile", "Soft", 4096, "Hard", 4096);
	if (hc == NULL)
		return NULL;
	if (!oneshot)
		json_object_set_new(hc, "RestartPolicy",
		    json_pack("{s:s}", "Name", "unless-stopped"));
	if (sb->runtime != NULL && strcmp(sb->runtime, "runsc") == 0)
		json_object_set_new(hc, "Runtime", json_string("runsc"));
	if (supervised) /* petri-init is the init: no docker-init */
		json_object_set_new(hc, "Init", json_false());
	return hc;
}

/* The create body shared by sandbox and one-shot containers. */
static json_t *
container_config(struct engine *e, const struct engine_msg_sb *sb, json_t *cmd,
    int oneshot, int with_stdin)
{
	const struct engine_msg_limits *l = &sb->limits;
	int supervised = !oneshot && engine_supervised(e, sb->runtime);
	json_t *binds, *hc, *cfg;
	char user[64];

	if (l->memory_mb <= 0 || l->pids <= 0 || l->cpus <= 0 ||
	    sb->workspace == NULL)
		return NULL;
	snprintf(user, sizeof(user), "%lld:%lld", (long long)sb->uid,
	    (long long)sb->gid);
	if ((binds = container_binds(e, sb, oneshot, supervised)) == NULL ||
	    (hc = container_host_config(e, sb, binds, oneshot, supervised)) ==
	        NULL)
		return NULL;
	cfg = json_pack("{s:s, s:O, s:s, s:s, s:o, s:{s:s, s:s, s:s}, s:b, "
	                "s:b, s:b, s:b, s:b, s:b}",
	    "Image", sb->image, "Cmd", cmd, "User", user, "WorkingDir",
	    "/sandbox", "HostConfig", hc, "Labels", "petri.instance",
	    e->ctx->instance, "petri.sandbox", sb->sandbox, "petri.kind",
	    oneshot ? "oneshot" : "sandbox", "Tty", 0, "AttachStdout", 1,
	    "AttachStderr", 1, "AttachStdin", with_stdin, "OpenStdin",
	    with_stdin, "StdinOnce", with_stdin);
	if (cfg != NULL && sb->env != NULL)
		json_object_set_new(cfg, "Env", env_array(sb->env));
	if (cfg != NULL && supervised) {
		json_object_set_new(cfg, "Cmd", json_pack("[s]", INIT_PATH));
		json_object_set_new(json_object_get(cfg, "Labels"),
		    "petri.init", json_string("1"));
	}
	return cfg;
}

static int
check_image(struct engine *e, const char *img,
    char image_id[BACKEND_IMAGE_ID_MAX], char *msg, size_t msglen)
{
	int r;

	if (img == NULL)
		return PETRI_ERR_INVAL;
	r = backend_image_id(e->be, img, image_id);
	if (r == PETRI_ERR_NOTFOUND) {
		snprintf(msg, msglen,
		    "image %s is not built on this host "
		    "(run `make images`)",
		    img);
		return PETRI_ERR_UNSUPPORTED;
	}
	if (r != 0)
		snprintf(
		    msg, msglen, "image %s: %s", img, backend_errmsg(e->be));
	return r;
}

/* Whether Docker knows the runtime (runc always). */
static int
runtime_available(struct engine *e, const char *runtime)
{
	json_t *info = NULL;
	int ok;

	if (runtime == NULL || strcmp(runtime, "runc") == 0)
		return 1;
	if (backend_info(e->be, &info) != 0)
		return 1; /* cannot tell: keep Docker's own error */
	ok =
	    json_object_get(json_object_get(info, "Runtimes"), runtime) != NULL;
	json_decref(info);
	return ok;
}

/* Creates the container of sandbox sb under name, its id into id. */
static int
sandbox_container_create(struct engine *e, const struct engine_msg_sb *sb,
    const char *name, char id[BACKEND_ID_MAX])
{
	json_t *cfg, *cmd;
	int r;

	cmd = json_pack("[s, s]", "sleep", "infinity");
	cfg = container_config(e, sb, cmd, 0, 0);
	json_decref(cmd);
	if (cfg == NULL)
		return PETRI_ERR_INVAL;
	r = backend_container_create(e->be, name, cfg, id);
	json_decref(cfg);
	return r;
}

static int
sandbox_create(struct engine *e, const struct engine_msg_sb *sb,
    char id[BACKEND_ID_MAX], char image_id[BACKEND_IMAGE_ID_MAX], char *msg,
    size_t msglen)
{
	char name[128];
	int r;

	if (!petri_id_valid(sb->sandbox, "sb_"))
		return PETRI_ERR_INVAL;
	if ((r = engine_network(e)) != 0) {
		snprintf(
		    msg, msglen, "sandbox network: %s", backend_errmsg(e->be));
		return r;
	}
	if ((r = check_image(e, sb->image, image_id, msg, msglen)) != 0)
		return r;
	snprintf(
	    name, sizeof(name), "petri-%.8s-%s", e->ctx->instance, sb->sandbox);
	/* the supervisor's socket exists before its container starts */
	if (engine_supervised(e, sb->runtime) &&
	    (r = sup_sandbox_listen(e->sup, sb->sandbox, NULL)) != 0) {
		snprintf(
		    msg, msglen, "supervisor socket: %s", petri_strerror(r));
		return r;
	}
	r = sandbox_container_create(e, sb, name, id);
	if (r == PETRI_ERR_EXISTS) {
		/* a leftover of ours with this name: replace it */
		(void)backend_container_remove(e->be, name, 1, 1);
		r = sandbox_container_create(e, sb, name, id);
	}
	if (r != 0) {
		snprintf(msg, msglen, "create: %s", backend_errmsg(e->be));
		if (!runtime_available(e, sb->runtime)) {
			snprintf(msg, msglen,
			    "runtime %s is not installed on "
			    "this host",
			    sb->runtime);
			return PETRI_ERR_UNSUPPORTED;
		}
		return r;
	}
	if (engine_supervised(e, sb->runtime))
		(void)sup_sandbox_listen(e->sup, sb->sandbox, id);
	if ((r = backend_container_start(e->be, id)) != 0) {
		snprintf(msg, msglen, "start: %s", backend_errmsg(e->be));
		(void)backend_container_remove(e->be, id, 1, 1);
		return r;
	}
	return 0;
}

/*
 * Reads message m with rd's result r: a malformed message from the api is
 * fatal (dispatch.h).  Returns r when it is another error (out of memory).
 */
static int
msg_read_check(const struct ipc_msg *m, int r, const char *err)
{
	if (r == PETRI_ERR_PROTO)
		fatal("malformed message %u from the api: %s", m->type, err);
	return r;
}

static void
do_sb_create(void *arg, struct ipc_msg *m)
{
	struct engine *e = arg;
	struct engine_msg_sb sb;
	char id[BACKEND_ID_MAX], image_id[BACKEND_IMAGE_ID_MAX], msg[512] = "";
	char ip[64], err[256];
	int r;

	(void)msg_read_check(
	    m, engine_msg_sb_read(m->json, &sb, err, sizeof(err)), err);
	r = sandbox_create(e, &sb, id, image_id, msg, sizeof(msg));
	if (r != 0) {
		(void)reply_err(
		    e, m->id, r, "%s", msg[0] ? msg : petri_strerror(r));
		return;
	}
	if (container_ip(e, id, ip) != 0)
		log_warn(
		    "container %.12s has no address on %s", id, e->network);
	reply_ok(e, m->id,
	    json_pack("{s:s, s:s, s:s}", "container", id, "image_id", image_id,
	        "ip", ip));
}

static void
do_sb_delete(void *arg, struct ipc_msg *m)
{
	struct engine *e = arg;
	struct engine_msg_sb_delete q;
	char err[256];
	int r;

	(void)msg_read_check(
	    m, engine_msg_sb_delete_read(m->json, &q, err, sizeof(err)), err);
	if (q.container == NULL ||
	    (r = backend_container_remove(e->be, q.container, 1, 1)) ==
	        PETRI_ERR_NOTFOUND) {
		(void)reply_err(e, m->id, PETRI_ERR_NOTFOUND, "no container");
		return;
	}
	if (r != 0) {
		(void)reply_err(
		    e, m->id, r, "remove: %s", backend_errmsg(e->be));
		return;
	}
	if (e->sup != NULL)
		sup_sandbox_forget(e->sup, q.sandbox);
	reply_ok(e, m->id, json_object());
}

/* New resource limits for a running sandbox container (a claimed one). */
static void
do_sb_update(void *arg, struct ipc_msg *m)
{
	struct engine *e = arg;
	struct engine_msg_sb_update q;
	const struct engine_msg_limits *l = &q.limits;
	char err[256];
	json_t *body;
	int r;

	(void)msg_read_check(
	    m, engine_msg_sb_update_read(m->json, &q, err, sizeof(err)), err);
	if (l->memory_mb <= 0 || l->pids <= 0 || l->cpus <= 0) {
		(void)reply_err(e, m->id, PETRI_ERR_INVAL, "bad update");
		return;
	}
	body = json_pack("{s:I, s:I, s:I, s:I}", "Memory",
	    l->memory_mb * 1024 * 1024, "MemorySwap",
	    l->memory_mb * 1024 * 1024, "PidsLimit", l->pids, "NanoCpus",
	    (json_int_t)(l->cpus * 1e9));
	r = backend_container_update(e->be, q.container, body);
	json_decref(body);
	if (r != 0) {
		(void)reply_err(
		    e, m->id, r, "update: %s", backend_errmsg(e->be));
		return;
	}
	reply_ok(e, m->id, json_object());
}

/*
 * Kills every process of an exhausted sandbox, its workspace kept: through
 * its supervisor, or by restarting its container when it has none (or the
 * supervisor does not answer).
 */
static void
do_sb_recover(void *arg, struct ipc_msg *m)
{
	struct engine *e = arg;
	struct engine_msg_sb_recover q;
	char err[256];
	int killed = 0, r = PETRI_ERR_NOTFOUND;

	(void)msg_read_check(
	    m, engine_msg_sb_recover_read(m->json, &q, err, sizeof(err)), err);
	if (e->sup != NULL)
		r = sup_kill_all(
		    e->sup, q.sandbox, SUP_KILL_TIMEOUT_MS, &killed);
	if (r == 0) {
		log_info("recovered %s: %d processes killed by its supervisor",
		    q.sandbox, killed);
		reply_ok(e, m->id,
		    json_pack("{s:i, s:s}", "killed", killed, "method",
		        "supervisor"));
		return;
	}
	/* no supervisor: the container restarts, its processes with it */
	if ((r = backend_container_kill(e->be, q.container, "KILL")) != 0 &&
	    r != PETRI_ERR_STATE) {
		(void)reply_err(
		    e, m->id, r, "recover: %s", backend_errmsg(e->be));
		return;
	}
	if ((r = backend_container_start(e->be, q.container)) != 0) {
		(void)reply_err(
		    e, m->id, r, "recover: %s", backend_errmsg(e->be));
		return;
	}
	log_info("recovered %s by restarting its container", q.sandbox);
	reply_ok(e, m->id,
	    json_pack("{s:i, s:s}", "killed", -1, "method", "restart"));
}

static void
do_ping(void *arg, struct ipc_msg *m)
{
	struct engine *e = arg;
	json_t *v = NULL;
	char err[256];
	int r;

	(void)msg_read_check(
	    m, engine_msg_empty_read(m->json, err, sizeof(err)), err);
	if ((r = backend_ping(e->be)) != 0 ||
	    (r = backend_version(e->be, &v)) != 0) {
		(void)reply_err(e, m->id, PETRI_ERR_UNAVAIL, "docker: %s",
		    backend_errmsg(e->be));
		return;
	}
	reply_ok(e, m->id,
	    json_pack("{s:s}", "docker_version",
	        str(v, "Version") != NULL ? str(v, "Version") : "unknown"));
	json_decref(v);
}

static void
do_info(void *arg, struct ipc_msg *m)
{
	struct engine *e = arg;
	json_t *net = NULL, *cfg;
	const char *gw = NULL, *subnet = NULL, *br;
	char bridge[32] = "", err[256];
	int r;

	(void)msg_read_check(
	    m, engine_msg_empty_read(m->json, err, sizeof(err)), err);
	if ((r = engine_network(e)) != 0 ||
	    (r = backend_network_inspect(e->be, e->network, &net)) != 0) {
		(void)reply_err(
		    e, m->id, r, "network: %s", backend_errmsg(e->be));
		return;
	}
	cfg = json_array_get(
	    json_object_get(json_object_get(net, "IPAM"), "Config"), 0);
	gw = str(cfg, "Gateway");
	subnet = str(cfg, "Subnet");
	/* the host side of the bridge: Docker's name unless one was set */
	br = str(
	    json_object_get(net, "Options"), "com.docker.network.bridge.name");
	if (br != NULL)
		petri_strlcpy(bridge, br, sizeof(bridge));
	else if (str(net, "Id") != NULL)
		snprintf(bridge, sizeof(bridge), "br-%.12s", str(net, "Id"));
	reply_ok(e, m->id,
	    json_pack("{s:s, s:s, s:s, s:s}", "network", e->network, "gateway",
	        gw != NULL ? gw : "", "subnet", subnet != NULL ? subnet : "",
	        "bridge", bridge));
	json_decref(net);
}

/* Whether container kc of the list carries petri-init (label petri.init). */
static int
kc_supervised(json_t *list, const char *kc)
{
	json_t *c;
	size_t i;

	json_array_foreach (list, i, c)
		if (str(c, "Id") != NULL && strcmp(str(c, "Id"), kc) == 0)
			return str(json_object_get(c, "Labels"),
			           "petri.init") != NULL;
	return 0;
}

/* Removes the containers of Docker's list that are ours but no longer
 * known (one-shot leftovers too).  Returns how many went. */
static int
reconcile_orphans(
    struct engine *e, const struct engine_msg_reconcile *q, json_t *list)
{
	json_t *c;
	size_t i, j;
	int removed = 0;

	json_array_foreach (list, i, c) {
		const char *cid = str(c, "Id");
		const char *sb =
		    str(json_object_get(c, "Labels"), "petri.sandbox");
		const char *kind =
		    str(json_object_get(c, "Labels"), "petri.kind");
		int live = 0;

		if (cid == NULL)
			continue;
		for (j = 0; j < q->n; j++) {
			const char *kc = q->sb[j].container;

			if (kc != NULL && strcmp(kc, cid) == 0 && sb != NULL &&
			    strcmp(sb, q->sb[j].sandbox) == 0)
				live = 1;
		}
		if (live && (kind == NULL || strcmp(kind, "sandbox") == 0))
			continue;
		log_info("removing orphan container %.12s (sandbox %s)", cid,
		    sb != NULL ? sb : "?");
		if (backend_container_remove(e->be, cid, 1, 1) == 0)
			removed++;
	}
	return removed;
}

/* Adopts the known container kc of sb (started if needed), its address
 * into ips.  Returns 1 when it runs. */
static int
reconcile_adopt(
    struct engine *e, const struct engine_msg_sb *sb, json_t *list, json_t *ips)
{
	const char *kc = sb->container;
	char ip[64];
	int adopted = 0;

	if (e->sup != NULL && kc_supervised(list, kc))
		(void)sup_sandbox_listen(e->sup, sb->sandbox, kc);
	if (backend_container_start(e->be, kc) == 0)
		adopted = 1;
	else
		log_warn("cannot start container %.12s: %s", kc,
		    backend_errmsg(e->be));
	if (container_ip(e, kc, ip) == 0)
		json_object_set_new(ips, sb->sandbox, json_string(ip));
	return adopted;
}

/* Re-creates the container of sb, gone from Docker: its new id into
 * recreated and its address into ips. */
static void
reconcile_recreate(struct engine *e, const struct engine_msg_sb *sb,
    json_t *recreated, json_t *ips)
{
	char id[BACKEND_ID_MAX], image_id[BACKEND_IMAGE_ID_MAX];
	char msg[256] = "", ip[64];

	if (sandbox_create(e, sb, id, image_id, msg, sizeof(msg)) != 0) {
		log_warn("cannot re-create the container of %s: %s",
		    sb->sandbox, msg);
		return;
	}
	json_object_set_new(recreated, sb->sandbox, json_string(id));
	if (container_ip(e, id, ip) == 0)
		json_object_set_new(ips, sb->sandbox, json_string(ip));
}

/* Whether Docker's list holds container kc. */
static int
reconcile_listed(json_t *list, const char *kc)
{
	json_t *c;
	size_t i;
	int found = 0;

	json_array_foreach (list, i, c)
		if (kc != NULL && str(c, "Id") != NULL &&
		    strcmp(str(c, "Id"), kc) == 0)
			found = 1;
	return found;
}

static void
do_reconcile(void *arg, struct ipc_msg *m)
{
	struct engine *e = arg;
	struct engine_msg_reconcile q;
	json_t *list = NULL, *recreated, *ips;
	char label[128], err[256];
	size_t j;
	int adopted = 0, removed, r;

	if ((r = msg_read_check(m,
	         engine_msg_reconcile_read(m->json, &q, err, sizeof(err)),
	         err)) != 0) {
		(void)reply_err(
		    e, m->id, r, "reconcile: %s", petri_strerror(r));
		goto out;
	}
	snprintf(label, sizeof(label), "petri.instance=%s", e->ctx->instance);
	if ((r = backend_container_list(e->be, label, &list)) != 0) {
		(void)reply_err(e, m->id, PETRI_ERR_UNAVAIL, "docker: %s",
		    backend_errmsg(e->be));
		goto out;
	}
	removed = reconcile_orphans(e, &q, list);
	/* known: adopt (start if needed), or re-create when gone */
	recreated = json_object();
	ips = json_object();
	for (j = 0; j < q.n; j++) {
		if (reconcile_listed(list, q.sb[j].container))
			adopted += reconcile_adopt(e, &q.sb[j], list, ips);
		else
			reconcile_recreate(e, &q.sb[j], recreated, ips);
	}
	reply_ok(e, m->id,
	    json_pack("{s:i, s:i, s:o, s:o}", "adopted", adopted, "removed",
	        removed, "recreated", recreated, "ips", ips));
out:
	json_decref(list);
	engine_msg_reconcile_free(&q);
}

/* --- executions ---------------------------------------------------------------- */

static struct xexec *
xexec_find(struct engine *e, const char *id)
{
	struct xexec *x;

	for (x = e->execs; x != NULL; x = x->next)
		if (strcmp(x->id, id) == 0)
			return x;
	return NULL;
}

/* xexec_find() under the table's lock. */
static struct xexec *
xexec_get(struct engine *e, const char *id)
{
	struct xexec *x;

	pthread_mutex_lock(&e->lock);
	x = xexec_find(e, id);
	pthread_mutex_unlock(&e->lock);
	return x;
}

static void
xexec_wake(struct xexec *x)
{
	uint64_t one = 1;

	if (write(x->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("eventfd: %s", strerror(errno));
}

static struct xexec *
xexec_add(struct engine *e, const char *id, const char *container)
{
	struct xexec *x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	if ((x->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		free(x);
		return NULL;
	}
	petri_strlcpy(x->id, id, sizeof(x->id));
	petri_strlcpy(x->container, container, sizeof(x->container));
	buf_init(&x->in, STDIN_MAX);
	x->refs = 1;
	pthread_mutex_lock(&e->lock);
	if (e->nexecs >= ENGINE_MAX_EXECS || xexec_find(e, id) != NULL) {
		pthread_mutex_unlock(&e->lock);
		close(x->evfd);
		free(x);
		return NULL;
	}
	x->next = e->execs;
	e->execs = x;
	e->nexecs++;
	pthread_mutex_unlock(&e->lock);
	return x;
}

static void
xexec_remove(struct engine *e, struct xexec *x)
{
	struct xexec **pp;

	pthread_mutex_lock(&e->lock);
	for (pp = &e->execs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			e->nexecs--;
			break;
		}
	pthread_mutex_unlock(&e->lock);
	close(x->evfd);
	buf_free(&x->in);
	free(x);
}

/* Runs `petri-spawn --kill ID` in the container: the whole process tree. */
static void
kill_tree(
    struct engine *e, const char *container, const char *id, const char *user)
{
	char xid[BACKEND_ID_MAX];
	struct backend_stream *s = NULL;
	struct buf junk;
	json_t *spec;
	int64_t deadline;
	int which, r;

	spec = json_pack("{s:[s, s, s], s:s, s:b, s:b}", "Cmd", SPAWN_PATH,
	    "--kill", id, "User", user, "AttachStdout", 1, "AttachStderr", 1);
	r = backend_exec_create(e->be, container, spec, xid);
	json_decref(spec);
	if (r != 0 || backend_exec_start(e->be, xid, 0, &s) != 0) {
		log_warn("cannot kill exec %s: %s", id, backend_errmsg(e->be));
		return;
	}
	buf_init(&junk, 4096);
	deadline = petri_mono_ms() + EXEC_KILL_GRACE_MS;
	while (petri_mono_ms() < deadline) {
		r = backend_stream_read(e->be, s, 200, &which, &junk);
		if (r != 1 && r != PETRI_ERR_TIMEOUT)
			break;
	}
	buf_free(&junk);
	backend_stream_free(e->be, s);
}

struct xrun {
	struct engine *e;
	struct xexec *x;
	struct backend_stream *s;
	uint32_t reply_id;
	size_t out_max;
	size_t sent[2];
	int truncated;
	int timed_out;
	int killed;
	int flood;
	/* docker exec: a first chunk that may be the sandbox failing to
	 * start a process (not program output), held until the exit */
	char held[512];
	size_t heldlen;
	int heldk;
	int hold; /* look for them (docker exec of a sandbox) */
};

/* The texts of a sandbox that cannot start a process, docker exec path:
 * runc's (exit 126, on stdout) and petri-spawn's (exit 127, on stderr). */
#define EXHAUSTED_RUNC "OCI runtime exec failed"
#define EXHAUSTED_SPAWN "petri: cannot start (fork: "

/* Whether this would be the run's first output and looks like one. */
static int
xrun_hold(struct xrun *xr, int k, const void *p, size_t n)
{
	const char *want = k == 0 ? EXHAUSTED_RUNC : EXHAUSTED_SPAWN;
	size_t wl = strlen(want);

	if (xr->sent[0] != 0 || xr->sent[1] != 0 || xr->heldlen != 0 ||
	    n < wl || n > sizeof(xr->held) || memcmp(p, want, wl) != 0)
		return 0;
	memcpy(xr->held, p, n);
	xr->heldlen = n;
	xr->heldk = k;
	return 1;
}

/* Sends held output on as the program's after all. */
static void
xrun_flush(struct xrun *xr)
{
	json_t *j;

	if (xr->heldlen == 0)
		return;
	j = json_pack("{s:i}", "stream", xr->heldk + 1);
	if (ipc_send(xr->e->api, MSG_ENG_OUTPUT, xr->reply_id, j, xr->held,
	        xr->heldlen) != 0)
		log_warn("cannot stream output");
	json_decref(j);
	xr->sent[xr->heldk] += xr->heldlen;
	xr->heldlen = 0;
}

/*
 * Forwards n bytes of stream k (0 stdout, 1 stderr) to the api under the
 * output cap; going over it truncates the output and floods the run (it
 * is stopped).
 */
static void
xrun_send(struct xrun *xr, int k, const void *p, size_t n)
{
	json_t *j;

	if (xr->sent[k] + n > xr->out_max) {
		n = xr->out_max - xr->sent[k];
		xr->truncated = 1;
		xr->flood = 1;
	}
	if (n == 0)
		return;
	j = json_pack("{s:i}", "stream", k + 1);
	if (ipc_send(xr->e->api, MSG_ENG_OUTPUT, xr->reply_id, j, p, n) != 0)
		log_warn("cannot stream output");
	json_decref(j);
	xr->sent[k] += n;
}

/*
 * Whether the run must stop now: a kill was asked, its output flooded or
 * its deadline (0: none) passed; notes which in xr.  With e->lock held.
 */
static int
xrun_must_stop(struct xrun *xr, int64_t deadline_ms, int64_t now)
{
	struct xexec *x = xr->x;

	if (!x->kill && !xr->flood && !(deadline_ms > 0 && now >= deadline_ms))
		return 0;
	xr->timed_out = !x->kill && !xr->flood;
	xr->killed = x->kill;
	return 1;
}

/* Empties the eventfd of an execution after a wake-up. */
static void
xexec_drain(struct xexec *x)
{
	uint64_t v;

	if (read(x->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("eventfd read");
}

/* Writes queued stdin into the stream as far as it takes it now
 * (writable), and closes its write side once the queue is done. */
static void
pump_stdin(struct xrun *xr, int writable, int *in_open)
{
	struct xexec *x = xr->x;
	size_t done = 0;

	pthread_mutex_lock(&xr->e->lock);
	if (writable) {
		if (backend_stream_write_some(
		        xr->e->be, xr->s, x->in.data, x->in.len, &done) == 0)
			buf_consume(&x->in, done);
		else
			buf_reset(&x->in);
	}
	if (*in_open && x->in_eof && x->in.len == 0) {
		*in_open = 0;
		if (backend_stream_close_write(xr->e->be, xr->s) != 0)
			log_warn("stdin close failed");
	}
	pthread_mutex_unlock(&xr->e->lock);
}

/*
 * Waits up to a second (or to the deadline) for the stream, readable or
 * writable when want_out, or a wake-up, and writes stdin when it can.
 * Returns 1 when the stream has something to read, 0 when not, or
 * PETRI_ERR_IO.
 */
static int
pump_wait(struct xrun *xr, int64_t deadline_ms, int64_t now, int stopping,
    int want_out, int *in_open)
{
	struct xexec *x = xr->x;
	struct pollfd pfd[2];
	int tmo = 1000;

	memset(pfd, 0, sizeof(pfd));
	pfd[0].fd = backend_stream_fd(xr->e->be, xr->s);
	pfd[0].events = POLLIN | (want_out ? POLLOUT : 0);
	pfd[1].fd = x->evfd;
	pfd[1].events = POLLIN;
	if (deadline_ms > 0 && !stopping && deadline_ms - now < tmo)
		tmo = (int)(deadline_ms - now) + 1;
	if (poll(pfd, 2, tmo) < 0 && errno != EINTR)
		return PETRI_ERR_IO;
	if (pfd[1].revents & POLLIN)
		xexec_drain(x);
	pump_stdin(xr, (pfd[0].revents & POLLOUT) != 0, in_open);
	return (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

/* Forwards one chunk of the stream's output; the first may be held
 * back (xrun_hold()). */
static void
pump_output(struct xrun *xr, int which, const struct buf *chunk)
{
	int k;

	if (which != BACKEND_STREAM_STDOUT && which != BACKEND_STREAM_STDERR &&
	    which != BACKEND_STREAM_SYSERR)
		return;
	k = which == BACKEND_STREAM_STDOUT ? 0 : 1;
	if (xr->s != NULL && xr->hold &&
	    xrun_hold(xr, k, chunk->data, chunk->len))
		return;
	xrun_flush(xr);
	xrun_send(xr, k, chunk->data, chunk->len);
}

/*
 * Pumps output to the api and stdin into the process until the stream
 * ends.  deadline_ms 0: none.  on_kill runs once when the run must stop
 * (timeout, kill request, output flood).  Returns 0 at a clean end of
 * stream, else a PETRI_ERR_*.
 */
static int
pump(struct xrun *xr, int64_t deadline_ms,
    void (*on_kill)(struct xrun *, void *), void *arg)
{
	struct xexec *x = xr->x;
	struct buf chunk;
	int64_t now, hard = 0;
	int which, r, stopping = 0, in_open = 1;

	buf_init(&chunk, xr->e->be->max_chunk);
	for (;;) {
		int want_out;

		now = petri_mono_ms();
		pthread_mutex_lock(&xr->e->lock);
		if (!stopping && xrun_must_stop(xr, deadline_ms, now))
			stopping = 1;
		want_out = in_open && x->in.len > 0;
		pthread_mutex_unlock(&xr->e->lock);
		if (stopping == 1) {
			stopping = 2;
			on_kill(xr, arg);
			hard = petri_mono_ms() + EXEC_KILL_GRACE_MS;
		}
		if (stopping && petri_mono_ms() > hard) {
			r = PETRI_ERR_TIMEOUT;
			break;
		}
		/* output already buffered inside the stream first */
		if (!backend_stream_pending(xr->e->be, xr->s)) {
			r = pump_wait(
			    xr, deadline_ms, now, stopping, want_out, &in_open);
			if (r < 0)
				break;
			if (r == 0)
				continue;
		}
		r = backend_stream_read(xr->e->be, xr->s, 0, &which, &chunk);
		if (r == PETRI_ERR_TIMEOUT)
			continue;
		if (r <= 0)
			break;
		pump_output(xr, which, &chunk);
	}
	buf_free(&chunk);
	return r;
}

static void
exec_kill_cb(struct xrun *xr, void *arg)
{
	const char *user = arg;

	kill_tree(xr->e, xr->x->container, xr->x->id, user);
}

static void
oneshot_kill_cb(struct xrun *xr, void *arg)
{
	(void)arg;
	(void)backend_container_kill(xr->e->be, xr->x->container, "KILL");
}

/* Fills the common result fields. */
static json_t *
exec_result(struct xrun *xr, int code, int oom, int64_t started)
{
	const char *sig =
	    code > 128 && code < 128 + 65 ? signame(code - 128) : NULL;

	return json_pack("{s:i, s:s?, s:b, s:b, s:b, s:b, s:I}", "exit_code",
	    code, "signal", sig, "timed_out", xr->timed_out, "oom_killed", oom,
	    "truncated", xr->truncated, "killed", xr->killed, "duration_ms",
	    (json_int_t)(petri_mono_ms() - started));
}

static int
exec_feed_initial_stdin(
    struct engine *e, struct xexec *x, struct ipc_msg *m, int keep_open)
{
	int r = 0;

	pthread_mutex_lock(&e->lock);
	if (m->datalen > 0)
		r = buf_append(&x->in, m->data, m->datalen);
	if (!keep_open)
		x->in_eof = 1;
	pthread_mutex_unlock(&e->lock);
	return r;
}

/*
 * Tells the api the program runs and readies xr for the pump: the run,
 * its output cap and the stdin that came with the request (its end too
 * unless keep_open).  Returns 0, or PETRI_ERR_TOOBIG when that stdin does
 * not fit.
 */
static int
exec_begin(struct engine *e, struct ipc_msg *m, const struct engine_msg_exec *q,
    struct xexec *x, struct xrun *xr, int keep_open)
{
	if (ipc_send(e->api, MSG_ENG_EXEC_STARTED, m->id, NULL, NULL, 0) != 0)
		log_warn("cannot tell the api that %s started", x->id);
	xr->e = e;
	xr->x = x;
	xr->reply_id = m->id;
	xr->out_max = (size_t)q->output_max;
	if (exec_feed_initial_stdin(e, x, m, keep_open) != 0)
		return PETRI_ERR_TOOBIG;
	return 0;
}

/* Answers a one-shot container's run once its stream ended: its exit
 * code (waited for) and whether the kernel killed it for memory. */
static void
exec_fresh_answer(struct engine *e, struct ipc_msg *m, struct xrun *xr,
    const char *cid, int64_t started)
{
	json_t *ins = NULL, *res;
	int code = -1, oom = 0;

	if (backend_container_wait(e->be, cid, 10000, &code) != 0)
		code = -1;
	if (backend_container_inspect(e->be, cid, &ins) == 0) {
		oom = json_is_true(json_object_get(
		    json_object_get(ins, "State"), "OOMKilled"));
		json_decref(ins);
	}
	res = exec_result(xr, code, oom, started);
	json_object_set_new(res, "path", json_string("docker_run"));
	reply_ok(e, m->id, res);
}

/* Runs an execution in a one-shot container of its own (fresh). */
static void
exec_fresh(struct engine *e, struct ipc_msg *m, const struct engine_msg_exec *q,
    struct xexec *x)
{
	struct engine_msg_sb sb;
	json_t *cfg = NULL;
	char cid[BACKEND_ID_MAX], image_id[BACKEND_IMAGE_ID_MAX], msg[512] = "";
	char ws[4096], err[256];
	struct xrun xr;
	int64_t started = petri_mono_ms();
	int r = PETRI_ERR_IO;

	memset(&xr, 0, sizeof(xr));
	cid[0] = '\0';
	(void)msg_read_check(
	    m, engine_msg_exec_fresh_sb(q, &sb, err, sizeof(err)), err);
	if ((size_t)snprintf(ws, sizeof(ws), "%s/%s/ws",
	        e->ctx->cfg.workspace_root, q->sandbox) >= sizeof(ws))
		goto fail;
	sb.workspace = ws;
	if ((r = engine_network(e)) != 0 ||
	    (r = check_image(e, sb.image, image_id, msg, sizeof(msg))) != 0)
		goto fail;
	if ((cfg = container_config(e, &sb, q->argv, 1, q->has_stdin)) ==
	    NULL) {
		r = PETRI_ERR_INVAL;
		goto fail;
	}
	json_object_set_new(cfg, "WorkingDir", json_string(q->cwd));
	if ((r = backend_container_create(e->be, NULL, cfg, cid)) != 0) {
		snprintf(msg, sizeof(msg), "create: %s", backend_errmsg(e->be));
		goto fail;
	}
	petri_strlcpy(x->container, cid, sizeof(x->container));
	if ((r = backend_container_attach(e->be, cid, q->has_stdin, &xr.s)) !=
	        0 ||
	    (r = backend_container_start(e->be, cid)) != 0) {
		snprintf(msg, sizeof(msg), "start: %s", backend_errmsg(e->be));
		goto fail;
	}
	if ((r = exec_begin(e, m, q, x, &xr, 0)) != 0)
		goto fail;
	(void)pump(&xr, q->timeout_ms > 0 ? started + q->timeout_ms : 0,
	    oneshot_kill_cb, NULL);
	exec_fresh_answer(e, m, &xr, cid, started);
	goto out;
fail:
	(void)reply_err(e, m->id, r == 0 ? PETRI_ERR_IO : r, "%s",
	    msg[0] ? msg : petri_strerror(r));
out:
	backend_stream_free(e->be, xr.s);
	if (cid[0] != '\0')
		(void)backend_container_remove(e->be, cid, 1, 1);
	json_decref(cfg);
}

/* --- executions through the supervisor ---------------------------------------- */

/* The state of one execution over pipes. */
struct spipe {
	int out[2]; /* read ends of stdout, stderr; -1 at EOF */
	int in; /* write end of stdin, -1 once closed */
	int exited;
	int code;
	int64_t drain_until; /* after the exit: stop waiting for EOF */
};

/* Reads what one pipe has and forwards it under the output cap. */
static void
spipe_read(struct xrun *xr, struct spipe *sp, int k, uint8_t *chunk)
{
	ssize_t got = read(sp->out[k], chunk, SUP_READ_CHUNK);

	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got <= 0) {
		close(sp->out[k]);
		sp->out[k] = -1;
		return;
	}
	xrun_send(xr, k, chunk, (size_t)got);
}

/* Writes queued stdin; closes it at its end or when the reader left. */
static void
spipe_write(struct xrun *xr, struct spipe *sp)
{
	struct xexec *x = xr->x;
	ssize_t n;

	pthread_mutex_lock(&xr->e->lock);
	if (sp->in >= 0 && x->in.len > 0) {
		n = write(sp->in, x->in.data, x->in.len);
		if (n > 0)
			buf_consume(&x->in, (size_t)n);
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			buf_reset(&x->in); /* EPIPE: nobody reads it */
	}
	if (sp->in >= 0 && x->in_eof && x->in.len == 0) {
		close(sp->in);
		sp->in = -1;
	}
	pthread_mutex_unlock(&xr->e->lock);
}

/*
 * Notes the program's exit from the call's state st.  Returns 1 when the
 * pump is done (exited, and its output ended or its drain time passed),
 * PETRI_ERR_UNAVAIL when the supervisor went away first, else 0.
 */
static int
spipe_exit_check(struct spipe *sp, const struct sup_call_state *st, int64_t now,
    int background)
{
	if (st->exited && !sp->exited) {
		sp->exited = 1;
		sp->code = st->code;
		sp->drain_until = now + (background ? 0 : SUP_DRAIN_MS);
	}
	if (sp->exited &&
	    ((sp->out[0] < 0 && sp->out[1] < 0) ||
	        (!background && now >= sp->drain_until)))
		return 1;
	if (st->lost && !sp->exited)
		return PETRI_ERR_UNAVAIL;
	return 0;
}

/* After a kill the tree did not obey: stop the sandbox's container as a
 * last resort; Docker restarts it. */
static void
spipe_kill_hard(struct xrun *xr, struct spipe *sp)
{
	struct xexec *x = xr->x;

	if (sp->exited)
		return;
	log_warn("exec %s did not stop after a kill; restarting %.12s", x->id,
	    x->container);
	(void)backend_container_kill(xr->e->be, x->container, "KILL");
	sp->code = -1;
}

/* What to wait for: the open output pipes, the wake-up, the call and,
 * when stdin is queued, its pipe.  Returns the count in pfd. */
static nfds_t
spipe_pollfds(struct xrun *xr, struct sup_call *call, struct spipe *sp,
    struct pollfd pfd[5])
{
	struct xexec *x = xr->x;
	nfds_t np = 0;
	int i;

	memset(pfd, 0, 5 * sizeof(pfd[0]));
	for (i = 0; i < 2; i++)
		if (sp->out[i] >= 0) {
			pfd[np].fd = sp->out[i];
			pfd[np++].events = POLLIN;
		}
	pfd[np].fd = x->evfd;
	pfd[np++].events = POLLIN;
	pfd[np].fd = sup_call_fd(call);
	pfd[np++].events = POLLIN;
	pthread_mutex_lock(&xr->e->lock);
	if (sp->in >= 0 && x->in.len > 0) {
		pfd[np].fd = sp->in;
		pfd[np++].events = POLLOUT;
	}
	pthread_mutex_unlock(&xr->e->lock);
	return np;
}

/* How long one poll waits: a second at most, to the next time the pump
 * has something to do (the deadline, the drain's end, the kill's). */
static int
spipe_poll_ms(const struct spipe *sp, int64_t deadline_ms, int64_t hard,
    int64_t now, int stopping, int background)
{
	int tmo = 1000;

	if (deadline_ms > 0 && !stopping && deadline_ms - now < tmo)
		tmo = (int)(deadline_ms - now) + 1;
	if (sp->exited && !background && sp->drain_until - now < tmo)
		tmo = (int)(sp->drain_until - now) + 1;
	if (stopping && hard - now < tmo)
		tmo = (int)(hard - now) + 1;
	return tmo < 0 ? 0 : tmo;
}

/*
 * Pumps the pipes until the program exited and its output ended (or its
 * drain time passed).  Kills go through the supervisor first, through
 * Docker (the container, as a last resort) when it does not answer.
 * Returns 0, or PETRI_ERR_UNAVAIL when the supervisor went away first.
 */
static int
spipe_pump(struct xrun *xr, struct sup_call *call, struct spipe *sp,
    int64_t deadline_ms, int background)
{
	struct xexec *x = xr->x;
	struct sup_call_state st;
	struct pollfd pfd[5];
	uint8_t *chunk;
	int64_t now, hard = 0;
	int stopping = 0, i, r = 0;
	nfds_t np, k;

	if ((chunk = malloc(SUP_READ_CHUNK)) == NULL)
		return PETRI_ERR_NOMEM;
	for (;;) {
		int want_in;

		now = petri_mono_ms();
		sup_call_get(call, &st);
		if ((r = spipe_exit_check(sp, &st, now, background)) != 0) {
			r = r > 0 ? 0 : r;
			break;
		}
		pthread_mutex_lock(&xr->e->lock);
		if (!stopping && xrun_must_stop(xr, deadline_ms, now))
			stopping = 1;
		want_in = sp->in >= 0 && (x->in.len > 0 || x->in_eof);
		pthread_mutex_unlock(&xr->e->lock);
		if (stopping == 1) {
			stopping = 2;
			if (sup_call_signal(call, SIGKILL) != 0)
				log_warn("exec %s: the supervisor did not take "
				         "the kill",
				    x->id);
			hard = now + EXEC_KILL_GRACE_MS;
		}
		if (stopping && now > hard) {
			spipe_kill_hard(xr, sp);
			break;
		}
		if (want_in)
			spipe_write(xr, sp);
		np = spipe_pollfds(xr, call, sp, pfd);
		if (poll(pfd, np,
		        spipe_poll_ms(sp, deadline_ms, hard, now, stopping,
		            background)) < 0 &&
		    errno != EINTR) {
			r = PETRI_ERR_IO;
			break;
		}
		for (k = 0; k < np; k++)
			if (pfd[k].fd == x->evfd && (pfd[k].revents & POLLIN))
				xexec_drain(x);
		for (i = 0; i < 2; i++)
			if (sp->out[i] >= 0)
				spipe_read(xr, sp, i, chunk);
	}
	free(chunk);
	return r;
}

static void
spipe_close(struct spipe *sp)
{
	if (sp->out[0] >= 0)
		close(sp->out[0]);
	if (sp->out[1] >= 0)
		close(sp->out[1]);
	if (sp->in >= 0)
		close(sp->in);
	sp->out[0] = sp->out[1] = sp->in = -1;
}

/*
 * Makes the pipes of an execution: ours non-blocking in sp, the child's
 * ends in child[3].  Returns 0 or PETRI_ERR_IO.
 */
static int
spipe_open(struct spipe *sp, int child[3])
{
	int p[3][2], i, k;

	memset(sp, 0, sizeof(*sp));
	sp->out[0] = sp->out[1] = sp->in = -1;
	for (i = 0; i < 3; i++)
		if (pipe2(p[i], O_CLOEXEC) != 0) {
			for (k = 0; k < i; k++) {
				close(p[k][0]);
				close(p[k][1]);
			}
			return PETRI_ERR_IO;
		}
	sp->in = p[0][1];
	child[0] = p[0][0];
	sp->out[0] = p[1][0];
	child[1] = p[1][1];
	sp->out[1] = p[2][0];
	child[2] = p[2][1];
	for (i = 0; i < 3; i++)
		(void)fcntl(
		    i == 0 ? sp->in : sp->out[i - 1], F_SETFL, O_NONBLOCK);
	return 0;
}

/* The pids limit of a container, for the exhausted answer; -1 unknown. */
static long long
container_pids_limit(struct engine *e, const char *cid)
{
	json_t *ins = NULL;
	long long n = -1;

	if (backend_container_inspect(e->be, cid, &ins) == 0) {
		n = json_integer_value(json_object_get(
		    json_object_get(ins, "HostConfig"), "PidsLimit"));
		json_decref(ins);
	}
	return n;
}

/*
 * Sends START and waits for STARTED (a kill request meanwhile is kept for
 * the pump).  Returns 0 when the program runs; 1 when the caller should
 * take docker exec (no supervisor, or nothing reached it); or a
 * PETRI_ERR_* already answered to the api.
 */
static int
exec_sup_start(struct engine *e, struct ipc_msg *m,
    const struct engine_msg_exec *q, struct xexec *x, struct spipe *sp,
    struct sup_call **call)
{
	json_t *env, *v;
	const char *av[API_MAX_ARGV + 1], *ev[API_MAX_ENV + 64];
	struct sup_call_state st;
	struct pollfd pfd;
	int64_t until = petri_mono_ms() + SUP_START_TIMEOUT_MS;
	int child[3], r, i;
	size_t k, na = 0, ne = 0;

	env = env_array(q->env);
	json_array_foreach (q->argv, k, v)
		if (na < API_MAX_ARGV && json_is_string(v))
			av[na++] = json_string_value(v);
	json_array_foreach (env, k, v)
		if (ne < sizeof(ev) / sizeof(ev[0]))
			ev[ne++] = json_string_value(v);
	if (na != json_array_size(q->argv) || ne != json_array_size(env) ||
	    spipe_open(sp, child) != 0) {
		json_decref(env);
		return 1;
	}
	r = sup_call_start(e->sup, q->sandbox, x->container,
	    q->background ? SUP_START_BACKGROUND : 0, q->cwd, av, na, ev, ne,
	    child, call);
	json_decref(env);
	for (i = 0; i < 3; i++)
		close(child[i]);
	if (r != 0) {
		spipe_close(sp);
		return 1; /* not started: docker exec runs it */
	}
	for (;;) {
		sup_call_get(*call, &st);
		if (st.started || st.lost || petri_mono_ms() >= until)
			break;
		pfd.fd = sup_call_fd(*call);
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, 100);
	}
	if (st.started && st.err == 0)
		return 0;
	if (st.started && (st.err == EAGAIN || st.err == ENOMEM)) {
		long long lim = container_pids_limit(e, x->container);

		r = PETRI_ERR_EXHAUSTED;
		(void)reply_err(e, m->id, r,
		    "the sandbox cannot start a process: its %s (%lld "
		    "processes) is reached; kill its background executions "
		    "or POST /v1/sandboxes/%s/recover",
		    st.err == EAGAIN ? "pids limit" : "memory limit", lim,
		    q->sandbox);
	} else {
		if (!st.started && !st.lost) {
			log_warn(
			    "the supervisor of %s did not answer in %d ms: "
			    "disconnected",
			    q->sandbox, SUP_START_TIMEOUT_MS);
			sup_call_abandon(*call);
		}
		r = PETRI_ERR_UNAVAIL;
		(void)reply_err(e, m->id, r, "the sandbox's supervisor %s",
		    st.started ? "could not start the program"
		               : "did not answer; retry");
	}
	sup_call_free(*call);
	*call = NULL;
	spipe_close(sp);
	return r;
}

/*
 * Runs an execution through the sandbox's supervisor.  Returns 1 when it
 * answered the api (result or error), 0 when docker exec should run it.
 */
static int
exec_sup(struct engine *e, struct ipc_msg *m, const struct engine_msg_exec *q,
    struct xexec *x)
{
	struct sup_call *call = NULL;
	struct spipe sp;
	struct xrun xr;
	json_t *res;
	int64_t started = petri_mono_ms();
	int r;
	long oom0, oom1;

	if (e->sup == NULL)
		return 0;
	oom0 = oom_kills(x->container);
	r = exec_sup_start(e, m, q, x, &sp, &call);
	if (r == 1)
		return 0;
	if (r != 0)
		return 1;
	memset(&xr, 0, sizeof(xr));
	if (exec_begin(e, m, q, x, &xr, q->background) != 0) {
		(void)sup_call_signal(call, SIGKILL);
		(void)reply_err(e, m->id, PETRI_ERR_TOOBIG, "stdin too large");
		goto out;
	}
	r = spipe_pump(&xr, call, &sp,
	    q->timeout_ms > 0 ? started + q->timeout_ms : 0, q->background);
	if (r != 0) {
		(void)reply_err(e, m->id, PETRI_ERR_UNAVAIL,
		    "the sandbox's supervisor went away during the execution");
		goto out;
	}
	oom1 = oom_kills(x->container);
	res = exec_result(
	    &xr, sp.code, oom0 >= 0 && oom1 > oom0 && sp.code == 137, started);
	json_object_set_new(res, "path", json_string("supervisor"));
	log_debug("exec %s: done through the supervisor in %lld ms", x->id,
	    (long long)(petri_mono_ms() - started));
	reply_ok(e, m->id, res);
out:
	spipe_close(&sp);
	sup_call_free(call);
	return 1;
}

/* Creates the docker exec of q (petri-spawn running its argv), starting
 * a stopped container once.  Its id into xid. */
static int
exec_docker_create(struct engine *e, const struct engine_msg_exec *q,
    const char *user, char xid[BACKEND_ID_MAX])
{
	json_t *cmd, *spec, *a;
	size_t k;
	int r;

	cmd = json_pack("[s, s]", SPAWN_PATH, q->exec);
	json_array_foreach (q->argv, k, a)
		json_array_append(cmd, a);
	spec = json_pack("{s:o, s:o, s:s, s:s, s:b, s:b, s:b, s:b}", "Cmd", cmd,
	    "Env", env_array(q->env), "User", user, "WorkingDir", q->cwd,
	    "AttachStdin", q->has_stdin, "AttachStdout", 1, "AttachStderr", 1,
	    "Tty", 0);
	r = backend_exec_create(e->be, q->container, spec, xid);
	if (r == PETRI_ERR_STATE) {
		/* stopped (Docker restarted?): bring it back once */
		if (backend_container_start(e->be, q->container) == 0)
			r = backend_exec_create(e->be, q->container, spec, xid);
	}
	json_decref(spec);
	return r;
}

/* Waits (a second at most) for the exit code that follows the end of a
 * docker exec's stream.  Returns the inspections made. */
static int
exec_docker_wait(struct engine *e, const char *xid, int *running, int *code)
{
	int i;

	for (i = 0; i < 50; i++) {
		if (backend_exec_inspect(e->be, xid, running, code, NULL) !=
		        0 ||
		    !*running)
			break;
		usleep(20000);
	}
	return i;
}

/* Whether the held first output and the exit code say the sandbox could
 * not start a process at all (not the program's output). */
static int
xrun_exhausted(const struct xrun *xr, int running, int code)
{
	return xr->heldlen > 0 && !running &&
	    ((xr->heldk == 0 && code == 126) ||
	        (xr->heldk == 1 && code == 127));
}

/* Runs an execution through docker exec and petri-spawn. */
static void
exec_docker(struct engine *e, struct ipc_msg *m,
    const struct engine_msg_exec *q, struct xexec *x)
{
	char xid[BACKEND_ID_MAX], user[64], msg[512] = "";
	struct xrun xr;
	json_t *res;
	int64_t started = petri_mono_ms();
	int r, running = 0, code = -1, polls;
	long oom0, oom1;

	memset(&xr, 0, sizeof(xr));
	snprintf(user, sizeof(user), "%lld:%lld", (long long)q->uid,
	    (long long)q->gid);
	oom0 = oom_kills(q->container);
	if ((r = exec_docker_create(e, q, user, xid)) != 0 ||
	    (r = backend_exec_start(e->be, xid, q->has_stdin, &xr.s)) != 0) {
		snprintf(msg, sizeof(msg), "%s", backend_errmsg(e->be));
		goto fail;
	}
	if ((r = exec_begin(e, m, q, x, &xr, q->background)) != 0)
		goto fail;
	xr.hold = 1;
	xexec_wake(x);
	log_debug("exec %s: started after %lld ms", q->exec,
	    (long long)(petri_mono_ms() - started));
	r = pump(&xr, q->timeout_ms > 0 ? started + q->timeout_ms : 0,
	    exec_kill_cb, user);
	log_debug("exec %s: stream ended after %lld ms", q->exec,
	    (long long)(petri_mono_ms() - started));
	if (r == PETRI_ERR_TIMEOUT) {
		/* the tree would not die in the grace time: stop the sandbox's
		 * container as a last resort; Docker restarts it */
		log_warn("exec %s did not stop after a kill; restarting %.12s",
		    q->exec, q->container);
		(void)backend_container_kill(e->be, q->container, "KILL");
	}
	/* the stream ended: the exit code follows shortly */
	polls = exec_docker_wait(e, xid, &running, &code);
	oom1 = oom_kills(q->container);
	log_debug("exec %s: inspected after %lld ms (%d polls)", q->exec,
	    (long long)(petri_mono_ms() - started), polls);
	if (xrun_exhausted(&xr, running, code)) {
		(void)reply_err(e, m->id, PETRI_ERR_EXHAUSTED,
		    "the sandbox cannot start a process: its pids limit "
		    "(%lld processes) or memory limit is reached; kill its "
		    "background executions or POST /v1/sandboxes/%s/recover",
		    container_pids_limit(e, q->container), q->sandbox);
		goto out;
	}
	xrun_flush(&xr);
	res = exec_result(&xr, running ? -1 : code,
	    oom0 >= 0 && oom1 > oom0 && code == 137, started);
	json_object_set_new(res, "path", json_string("docker_exec"));
	reply_ok(e, m->id, res);
	goto out;
fail:
	if (r == PETRI_ERR_NOTFOUND)
		(void)reply_err(e, m->id, r, "the sandbox container is gone");
	else
		(void)reply_err(e, m->id,
		    r == PETRI_ERR_STATE ? PETRI_ERR_UNAVAIL : r, "%s",
		    msg[0] ? msg : petri_strerror(r));
out:
	backend_stream_free(e->be, xr.s);
}

static void
do_exec(void *arg, struct ipc_msg *m)
{
	struct engine *e = arg;
	struct engine_msg_exec q;
	struct xexec *x;
	char err[256];

	(void)msg_read_check(
	    m, engine_msg_exec_read(m->json, &q, err, sizeof(err)), err);
	/* registered by exec_register() on the reader thread */
	if ((x = xexec_get(e, q.exec)) == NULL) {
		(void)reply_err(e, m->id, PETRI_ERR_INVAL, "bad exec request");
		return;
	}
	if (json_array_size(q.argv) == 0)
		(void)reply_err(e, m->id, PETRI_ERR_INVAL, "bad exec request");
	else if (q.fresh)
		exec_fresh(e, m, &q, x);
	else if (!exec_sup(e, m, &q, x))
		exec_docker(e, m, &q, x);
	xexec_remove(e, x);
}

static void
do_exec_kill(void *arg, struct ipc_msg *m)
{
	struct engine *e = arg;
	struct engine_msg_exec_kill q;
	struct xexec *x;
	char err[256];

	(void)msg_read_check(
	    m, engine_msg_exec_kill_read(m->json, &q, err, sizeof(err)), err);
	pthread_mutex_lock(&e->lock);
	x = xexec_find(e, q.exec);
	if (x != NULL) {
		x->kill = 1;
		xexec_wake(x);
	}
	pthread_mutex_unlock(&e->lock);
	if (x == NULL)
		(void)reply_err(e, m->id, PETRI_ERR_NOTFOUND, "no such exec");
	else
		reply_ok(e, m->id, json_object());
}

/* Stdin for a running exec: queued, no answer (the api does not wait). */
static void
do_exec_stdin(void *arg, struct ipc_msg *m)
{
	struct engine *e = arg;
	struct engine_msg_exec_stdin q;
	struct xexec *x;
	char err[256];

	(void)msg_read_check(
	    m, engine_msg_exec_stdin_read(m->json, &q, err, sizeof(err)), err);
	pthread_mutex_lock(&e->lock);
	x = xexec_find(e, q.exec);
	if (x != NULL) {
		if (m->datalen > 0 &&
		    buf_append(&x->in, m->data, m->datalen) != 0)
			log_warn("exec %s: stdin buffer full, input dropped",
			    q.exec);
		if (q.eof)
			x->in_eof = 1;
		xexec_wake(x);
	}
	pthread_mutex_unlock(&e->lock);
}

/* --- dispatch ------------------------------------------------------------------ */

/* How a request runs: on a job thread of its own, or on the reader thread
 * (quick ones, which only touch the exec table). */
#define ENG_JOB 0
#define ENG_INLINE 1

/* What the engine does, for whom: its one peer is the api. */
static const struct dispatch_entry engine_handlers[] = {
    {MSG_ENG_PING, PEER_API, do_ping, ENG_JOB},
    {MSG_ENG_SB_CREATE, PEER_API, do_sb_create, ENG_JOB},
    {MSG_ENG_SB_ENSURE, PEER_API, do_sb_create, ENG_JOB},
    {MSG_ENG_SB_DELETE, PEER_API, do_sb_delete, ENG_JOB},
    {MSG_ENG_SB_UPDATE, PEER_API, do_sb_update, ENG_JOB},
    {MSG_ENG_EXEC, PEER_API, do_exec, ENG_JOB},
    {MSG_ENG_EXEC_STDIN, PEER_API, do_exec_stdin, ENG_INLINE},
    {MSG_ENG_EXEC_KILL, PEER_API, do_exec_kill, ENG_INLINE},
    {MSG_ENG_RECONCILE, PEER_API, do_reconcile, ENG_JOB},
    {MSG_ENG_INFO, PEER_API, do_info, ENG_JOB},
    {MSG_ENG_SB_RECOVER, PEER_API, do_sb_recover, ENG_JOB},
};
#define ENG_NHANDLERS (sizeof(engine_handlers) / sizeof(engine_handlers[0]))

static void *
job_main(void *arg)
{
	struct job *j = arg;

	j->fn(j->e, &j->msg);
	ipc_msg_clear(&j->msg);
	free(j);
	return NULL;
}

/*
 * Enters an execution in the exec table before its job thread starts, on
 * the reader thread: stdin and kill frames the api sends right after the
 * request (it answers a background execution at once) then find it.
 * Returns 0, or -1 with the error answered.
 */
static int
exec_register(struct engine *e, struct ipc_msg *m)
{
	struct engine_msg_exec q;
	char err[256];

	(void)msg_read_check(
	    m, engine_msg_exec_read(m->json, &q, err, sizeof(err)), err);
	if (!petri_id_valid(q.exec, "ex_")) {
		(void)reply_err(e, m->id, PETRI_ERR_INVAL, "bad exec request");
		return -1;
	}
	if (xexec_add(e, q.exec, q.container) == NULL) {
		(void)reply_err(e, m->id, PETRI_ERR_LIMIT, "too many execs");
		return -1;
	}
	return 0;
}

/* Takes an execution exec_register() entered out again: its job did not
 * start. */
static void
exec_unregister(struct engine *e, struct ipc_msg *m)
{
	struct engine_msg_exec q;
	struct xexec *x;
	char err[256];

	(void)msg_read_check(
	    m, engine_msg_exec_read(m->json, &q, err, sizeof(err)), err);
	if ((x = xexec_get(e, q.exec)) != NULL)
		xexec_remove(e, x);
}

static void
engine_request(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	const struct dispatch_entry *d;
	struct engine *e = arg;
	struct job *j;
	pthread_t t;
	pthread_attr_t at;

	(void)c;
	if (m == NULL)
		fatal("the api went away");
	d = dispatch_get(
	    engine_handlers, ENG_NHANDLERS, "engine", "api", PEER_API, m);
	if (d->how == ENG_INLINE) {
		d->fn(e, m);
		ipc_msg_clear(m);
		return;
	}
	if (m->type == MSG_ENG_EXEC && exec_register(e, m) != 0) {
		ipc_msg_clear(m);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		fatal("out of memory");
	j->e = e;
	j->fn = d->fn;
	j->msg = *m;
	memset(m, 0, sizeof(*m));
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 * 1024);
	if (pthread_create(&t, &at, job_main, j) != 0) {
		(void)reply_err(e, j->msg.id, PETRI_ERR_LIMIT, "engine busy");
		if (j->msg.type == MSG_ENG_EXEC)
			exec_unregister(e, &j->msg);
		ipc_msg_clear(&j->msg);
		free(j);
	}
	pthread_attr_destroy(&at);
}

/* The hub's peer check: the host pid of the container's init. */
static int
engine_init_pid(void *arg, const char *container, long *pid)
{
	struct engine *e = arg;
	json_t *ins = NULL;
	int r;

	*pid = 0;
	if ((r = backend_container_inspect(e->be, container, &ins)) != 0)
		return r;
	*pid = (long)json_integer_value(
	    json_object_get(json_object_get(ins, "State"), "Pid"));
	json_decref(ins);
	return *pid > 0 ? 0 : PETRI_ERR_STATE;
}

/* Starts the supervisor hub unless the configuration turned it off. */
static void
engine_sup_init(struct engine *e)
{
	char dir[4096];

	if (!e->ctx->cfg.supervisor) {
		log_info("the sandbox supervisor is off: executions take "
		         "docker exec");
		return;
	}
	if (petri_path_join(
	        dir, sizeof(dir), e->ctx->cfg.data_dir, "engine/sup") != 0 ||
	    sup_hub_new(dir, engine_init_pid, e, &e->sup) != 0) {
		log_warn("no sandbox supervisor: executions take docker exec");
		e->sup = NULL;
	}
}

int
engine_main(struct proc_ctx *ctx)
{
	struct engine e;

	memset(&e, 0, sizeof(e));
	e.ctx = ctx;
	pthread_mutex_init(&e.lock, NULL);
	the_engine = &e;
	if (ctx->cfg.network[0] != '\0')
		petri_strlcpy(e.network, ctx->cfg.network, sizeof(e.network));
	else
		snprintf(
		    e.network, sizeof(e.network), "petri-%.8s", ctx->instance);
	if (backend_docker_new(ctx->cfg.docker_socket, &e.be) != 0)
		fatal("cannot set up the Docker client");
	if (engine_network(&e) != 0)
		log_warn("Docker is not reachable yet (%s); will retry",
		    backend_errmsg(e.be));
	engine_sup_init(&e);
	dispatch_require(engine_handlers, ENG_NHANDLERS, "engine", "api",
	    PEER_API, proto_engine_from_api, proto_engine_from_api_n);
	e.api = ipc_chan_new(PROC_FD_PEER_API, "api", 1, proto_engine_from_api,
	    proto_engine_from_api_n, engine_request, &e);
	if (e.api == NULL || ipc_chan_start(e.api) != 0)
		fatal("cannot start the api channel");
	log_info("engine ready (network %s)", e.network);
	proc_wait_term();
	log_info("engine stopping");
	return 0;
}
