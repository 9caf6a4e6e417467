/*
 * petrid_main.c: the parent process of petrid and the entry of its children.
 *
 * The parent holds the configuration, the listening socket and the
 * socketpairs; it parses no hostile input.  It prepares the data directory,
 * starts api, engine, ws (workspace worker), proxy and keeper by re-executing
 * itself, supervises them and shuts everything down when one dies or on
 * SIGTERM/SIGINT.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "bounds.h"
#include "config.h"
#include "datadir.h"
#include "hostfw.h"
#include "dispatch.h"
#include "notify.h"
#include "log.h"
#include "procs.h"
#include "proto.h"
#include "util.h"
#include "disk.h"
#include "preview_conf.h"

/* Where a package installs petri-spawn and petri-deps/ (docs/operations.md). */
#ifndef PETRI_HELPERS_DIR
#define PETRI_HELPERS_DIR "/usr/lib/petri"
#endif

#define NPROCS 6

struct child {
	const char *name;
	const char *user; /* drops to this user when run as root */
	const char *group; /* extra supplementary group, or NULL */
	int (*main)(struct proc_ctx *);
	pid_t pid;
	int ctl; /* parent end of the control socket */
	int fds[8]; /* descriptors handed over, at 4, 5, ... */
	int nfds;
};

static struct child children[NPROCS] = {
    {"keeper", "_petri_kpr", NULL, keeper_main, -1, -1, {0}, 0},
    {"ws", "_petri_sb", NULL, ws_main, -1, -1, {0}, 0},
    {"engine", "_petri_eng", "docker", engine_main, -1, -1, {0}, 0},
    {"proxy", "_petri_prx", NULL, proxy_main, -1, -1, {0}, 0},
    {"preview", "_petri_pvw", NULL, preview_main, -1, -1, {0}, 0},
    {"api", "_petri_api", NULL, api_main, -1, -1, {0}, 0},
};

static void PETRI_NORETURN
usage(void)
{
	fprintf(stderr,
	    "usage: petrid [--listen ADDR:PORT] [--data-dir DIR] "
	    "[--config FILE] [--debug]\n");
	exit(2);
}

static void
join(char *out, size_t len, const char *dir, const char *name)
{
	if (petri_path_join(out, len, dir, name) != 0)
		fatal("path too long: %s/%s", dir, name);
}

static struct child *
child_by_name(const char *name)
{
	int i;

	for (i = 0; i < NPROCS; i++)
		if (strcmp(children[i].name, name) == 0)
			return &children[i];
	return NULL;
}

/* --- child side ---------------------------------------------------------- */

static int PETRI_NORETURN
child_run(const char *name)
{
	struct child *ch = child_by_name(name);
	struct proc_ctx ctx;
	struct ipc_msg msg;
	json_t *cj = NULL;
	json_int_t uid = -1, gid = -1;
	char err[256];
	const char *inst = NULL, *exe_dir = NULL, *admin = NULL;
	int r;

	if (ch == NULL)
		usage();
	log_init(name, 0);
	proc_signals_block();
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		fatal("prctl: %s", strerror(errno));
	if (getppid() == 1)
		fatal("parent is gone");
	memset(&ctx, 0, sizeof(ctx));
	ctx.name = ch->name;
	if ((r = ipc_recv_sync(PROC_FD_CTL, proto_child_from_parent,
	         proto_child_from_parent_n, &msg)) != 0)
		fatal(
		    "no configuration from the parent: %s", petri_strerror(r));
	/* as parent_children_start() sends it */
	dispatch_read(&msg, name, "{s:o, s:s, s:s, s:I, s:I, s?s}", "config",
	    &cj, "instance", &inst, "exe_dir", &exe_dir, "sandbox_uid", &uid,
	    "sandbox_gid", &gid, "admin_hash", &admin);
	if (config_parse(cj, &ctx.cfg, err, sizeof(err)) != 0)
		fatal("bad configuration from the parent");
	log_init(name, ctx.cfg.debug);
	log_format_set(ctx.cfg.log_format);
	if (petri_strlcpy(ctx.instance, inst, sizeof(ctx.instance)) >=
	    sizeof(ctx.instance))
		fatal("bad instance id from the parent");
	if (admin != NULL)
		petri_strlcpy(ctx.admin_hash, admin, sizeof(ctx.admin_hash));
	petri_strlcpy(ctx.exe_dir, exe_dir, sizeof(ctx.exe_dir));
	ctx.sandbox_uid = (uid_t)uid;
	ctx.sandbox_gid = (gid_t)gid;
	ctx.boot = json_incref(msg.json);
	ipc_msg_clear(&msg);
	if (sodium_init() < 0)
		fatal("libsodium failed to initialise");
	if (priv_drop(ch->user, ch->group) != 0)
		fatal("cannot drop privileges to %s", ch->user);
	r = ch->main(&ctx);
	json_decref(ctx.boot);
	config_free(&ctx.cfg);
	exit(r);
}

/* --- parent side --------------------------------------------------------- */

/* What the parent keeps for answering the api's privileged requests. */
struct parent_ws {
	char workspace_root[PATH_MAX];
	char disks[PATH_MAX];
	uid_t uid;
	gid_t gid;
};

static struct parent_ws pws;

static void
parent_ws_reply(struct ipc_chan *c, uint32_t id, int e, const char *msg)
{
	int r;

	if (e == 0)
		r = ipc_send(c, MSG_OK, id, NULL, NULL, 0);
	else
		r = proto_send_err(c, id, e, msg);
	if (r != 0)
		log_warn("cannot answer the api");
}

/* MSG_PAR_FIREWALL: the host answers nothing else on the sandbox bridge. */
static void
parent_firewall(void *arg, struct ipc_msg *m)
{
	struct ipc_chan *c = arg;
	const char *br = NULL, *gw = NULL;
	json_int_t port = 0;
	int e;

	dispatch_read(m, "parent", "{s:s, s:s, s:I}", "bridge", &br, "gateway",
	    &gw, "port", &port);
	if (geteuid() != 0) {
		log_warn("development mode: the host is not closed to "
		         "the sandbox network");
		e = 0;
	} else
		e = port < 1 || port > 65535
		    ? PETRI_ERR_INVAL
		    : hostfw_sandbox_input(br, gw, (int)port);
	parent_ws_reply(c, m->id, e, "cannot close the host");
}

/*
 * The directory and disk image of sandbox sb, built here from its id
 * alone.  Returns 0, or -1 once the error is answered.
 */
static int
parent_ws_paths(struct ipc_chan *c, struct ipc_msg *m, const char *sb,
    char dir[PATH_MAX], char img[PATH_MAX])
{
	char name[64];

	if (!petri_id_valid(sb, "sb_")) {
		parent_ws_reply(c, m->id, PETRI_ERR_INVAL, "bad sandbox id");
		return -1;
	}
	snprintf(name, sizeof(name), "%s.img", sb);
	if (petri_path_join(dir, PATH_MAX, pws.workspace_root, sb) != 0 ||
	    petri_path_join(img, PATH_MAX, pws.disks, name) != 0) {
		parent_ws_reply(c, m->id, PETRI_ERR_TOOBIG, "path too long");
		return -1;
	}
	return 0;
}

/* MSG_PAR_WS_RELEASE: the workspace's file system goes away. */
static void
parent_ws_release(void *arg, struct ipc_msg *m)
{
	struct ipc_chan *c = arg;
	const char *sb = NULL;
	char dir[PATH_MAX], img[PATH_MAX];
	int e;

	dispatch_read(m, "parent", "{s:s}", "sandbox", &sb);
	if (parent_ws_paths(c, m, sb, dir, img) != 0)
		return;
	if (geteuid() != 0) {
		/* development mode: no mounts, no disk */
		parent_ws_reply(c, m->id, 0, "");
		return;
	}
	e = disk_umount(dir);
	if (e == 0 && unlink(img) != 0 && errno != ENOENT)
		e = PETRI_ERR_IO;
	parent_ws_reply(c, m->id, e, "cannot release the workspace disk");
}

/* Makes the sandbox's directory and its disk of mb MiB; 0 or answered. */
static int
parent_ws_create(struct ipc_chan *c, struct ipc_msg *m, const char *dir,
    const char *img, json_int_t mb)
{
	int e;

	if (mb < SB_MIN_DISK_MB || mb > SB_MAX_DISK_MB) {
		parent_ws_reply(c, m->id, PETRI_ERR_INVAL, "bad disk size");
		return -1;
	}
	/* the sandbox's directory, the mount point of its disk */
	if (mkdir(dir, 0700) != 0 || chown(dir, pws.uid, pws.gid) != 0) {
		parent_ws_reply(c, m->id,
		    errno == EEXIST ? PETRI_ERR_EXISTS : PETRI_ERR_IO,
		    "cannot create the sandbox directory");
		return -1;
	}
	if ((e = disk_create(img, (int)mb, pws.uid, pws.gid)) != 0) {
		(void)rmdir(dir);
		parent_ws_reply(
		    c, m->id, e, "cannot create the workspace disk");
		return -1;
	}
	return 0;
}

/*
 * MSG_PAR_WS_PREPARE: gives a workspace its own file system (created at
 * sandbox creation, mounted again after a reboot).
 */
static void
parent_ws_prepare(void *arg, struct ipc_msg *m)
{
	struct ipc_chan *c = arg;
	const char *sb = NULL;
	char dir[PATH_MAX], img[PATH_MAX];
	json_int_t mb = -1;
	int create = 0, e;

	/* as wrap_parent.c sends it: disk_mb only when known */
	dispatch_read(m, "parent", "{s:s, s:b, s?I}", "sandbox", &sb, "create",
	    &create, "disk_mb", &mb);
	if (parent_ws_paths(c, m, sb, dir, img) != 0)
		return;
	if (geteuid() != 0) {
		/* development mode: no mounts, no disk cap */
		e = create && mkdir(dir, 0700) != 0 ? PETRI_ERR_IO : 0;
		parent_ws_reply(
		    c, m->id, e, "cannot create the sandbox directory");
		return;
	}
	if (create && parent_ws_create(c, m, dir, img, mb) != 0)
		return;
	e = disk_mount(img, dir);
	if (e == PETRI_ERR_NOTFOUND && !create)
		e = 0; /* a workspace from before disks: as it is */
	else if (e != 0 && create) {
		(void)unlink(img);
		(void)rmdir(dir);
	}
	parent_ws_reply(c, m->id, e, "cannot mount the workspace disk");
}

/* The api's privileged requests; every path is built here. */
static const struct dispatch_entry parent_handlers[] = {
    {MSG_PAR_WS_PREPARE, PEER_API, parent_ws_prepare, 0},
    {MSG_PAR_WS_RELEASE, PEER_API, parent_ws_release, 0},
    {MSG_PAR_FIREWALL, PEER_API, parent_firewall, 0},
};
#define PARENT_NHANDLERS (sizeof(parent_handlers) / sizeof(parent_handlers[0]))

static void
parent_request(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	(void)arg;
	if (m == NULL)
		return; /* the api is gone; SIGCHLD tells the rest */
	dispatch_get(
	    parent_handlers, PARENT_NHANDLERS, "parent", "api", PEER_API, m)
	    ->fn(c, m);
	ipc_msg_clear(m);
}

static int
lookup_user(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		*uid = getuid();
		*gid = getgid();
		return 0;
	}
	if ((pw = getpwnam(user)) == NULL)
		return PETRI_ERR_NOTFOUND;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* Creates dir (mode) and, as root, gives it to user. */
static void
prepare_dir(const char *path, int mode, const char *user)
{
	uid_t uid;
	gid_t gid;

	if (mkdir(path, (mode_t)mode) != 0 && errno != EEXIST)
		fatal("mkdir %s: %s", path, strerror(errno));
	if (geteuid() == 0 && user != NULL) {
		if (lookup_user(user, &uid, &gid) != 0)
			fatal("user %s does not exist: run packaging/setup.sh "
			      "(or `make setup`) as root first",
			    user);
		if (chown(path, uid, gid) != 0)
			fatal("chown %s: %s", path, strerror(errno));
	}
	if (chmod(path, (mode_t)mode) != 0)
		fatal("chmod %s: %s", path, strerror(errno));
}

/* Reads a small secret file, creating it with fresh random content. */
static void
read_or_create(const char *path, const char *prefix, size_t nbytes, char *out,
    size_t outlen)
{
	unsigned char rnd[64];
	char hex[129];
	char *text = NULL;
	size_t len;
	int r;

	if ((r = petri_file_read(path, 4096, &text, &len)) == 0) {
		while (
		    len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
			text[--len] = '\0';
		if (len == 0 || petri_strlcpy(out, text, outlen) >= outlen)
			fatal("%s: unexpected content", path);
		sodium_memzero(text, len);
		free(text);
		return;
	}
	if (r != PETRI_ERR_NOTFOUND)
		fatal("%s: %s", path, petri_strerror(r));
	if (nbytes > sizeof(rnd))
		fatal("internal: secret too long");
	randombytes_buf(rnd, nbytes);
	petri_hex(rnd, nbytes, hex);
	if ((size_t)snprintf(out, outlen, "%s%s", prefix, hex) >= outlen)
		fatal("internal: secret buffer too small");
	sodium_memzero(rnd, sizeof(rnd));
	sodium_memzero(hex, sizeof(hex));
	if (petri_file_write_atomic(path, out, strlen(out), 0600) != 0)
		fatal("%s: cannot write", path);
}

static int
listen_on(const char *host, int port)
{
	struct addrinfo hints, *res = NULL;
	char portstr[16];
	int fd, one = 1, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((r = getaddrinfo(host, portstr, &hints, &res)) != 0)
		fatal("listen address %s: %s", host, gai_strerror(r));
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		fatal("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0)
		fatal(
		    "cannot listen on %s:%d: %s", host, port, strerror(errno));
	if (listen(fd, 512) != 0)
		fatal("listen: %s", strerror(errno));
	freeaddrinfo(res);
	return fd;
}

static void
pair(int *a, int *b)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		fatal("socketpair: %s", strerror(errno));
	*a = sv[0];
	*b = sv[1];
}

static void
spawn(struct child *ch, int *all_fds, int nall)
{
	int ctl[2], i;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) != 0)
		fatal("socketpair: %s", strerror(errno));
	if ((pid = fork()) < 0)
		fatal("fork: %s", strerror(errno));
	if (pid == 0) {
		sigset_t set;
		int tmp[9], n = 0;

		/* Move our descriptors out of the way, then into place. */
		tmp[n++] = fcntl(ctl[1], F_DUPFD_CLOEXEC, 64);
		for (i = 0; i < ch->nfds; i++)
			tmp[n++] = fcntl(ch->fds[i], F_DUPFD_CLOEXEC, 64);
		for (i = 0; i < n; i++) {
			if (tmp[i] < 0 || dup2(tmp[i], PROC_FD_CTL + i) < 0)
				_exit(127);
		}
		for (i = 0; i < nall; i++)
			if (all_fds[i] >= PROC_FD_CTL + n)
				close(all_fds[i]);
		close_range(PROC_FD_CTL + (unsigned)n, ~0U, 0);
		sigemptyset(&set);
		sigprocmask(SIG_SETMASK, &set, NULL);
		execl("/proc/self/exe", "petrid", "--proc", ch->name,
		    (char *)NULL);
		_exit(127);
	}
	close(ctl[1]);
	ch->ctl = ctl[0];
	ch->pid = pid;
}

static void
stop_children(void)
{
	int i, status, left;
	int64_t deadline;

	/* api first (stops taking requests), keeper last (seals the log) */
	for (i = NPROCS - 1; i >= 0; i--) {
		if (children[i].pid <= 0)
			continue;
		kill(children[i].pid, SIGTERM);
		deadline = petri_mono_ms() + 10000;
		while (petri_mono_ms() < deadline) {
			pid_t p = waitpid(children[i].pid, &status, WNOHANG);

			if (p == children[i].pid || (p < 0 && errno == ECHILD))
				break;
			usleep(20000);
		}
		if (waitpid(children[i].pid, &status, WNOHANG) == 0) {
			log_warn("%s did not stop in time: killing it",
			    children[i].name);
			kill(children[i].pid, SIGKILL);
			waitpid(children[i].pid, &status, 0);
		}
		children[i].pid = -1;
	}
	left = 0;
	(void)left;
}

/* Options, then the configuration they name or override. */
static void
parent_args_parse(int argc, char **argv, struct petri_config *cfg)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"data-dir", required_argument, NULL, 'd'},
	    {"config", required_argument, NULL, 'c'},
	    {"debug", no_argument, NULL, 'D'},
	    {"proc", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *listen_arg = NULL, *data_arg = NULL, *config_arg = NULL;
	char err[512];
	int debug = 0, ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			listen_arg = optarg;
			break;
		case 'd':
			data_arg = optarg;
			break;
		case 'c':
			config_arg = optarg;
			break;
		case 'D':
			debug = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (sodium_init() < 0)
		fatal("libsodium failed to initialise");
	if (config_arg != NULL) {
		if (config_load(config_arg, cfg, err, sizeof(err)) != 0)
			fatal("configuration: %s", err);
	} else if (config_parse(NULL, cfg, err, sizeof(err)) != 0)
		fatal("configuration: %s", err);
	if (listen_arg != NULL) {
		json_t *doc = json_deep_copy(cfg->raw);

		json_object_set_new(doc, "listen", json_string(listen_arg));
		config_free(cfg);
		if (config_parse(doc, cfg, err, sizeof(err)) != 0)
			fatal("--listen: %s", err);
		json_decref(doc);
	}
	if (data_arg != NULL)
		petri_strlcpy(cfg->data_dir, data_arg, sizeof(cfg->data_dir));
	cfg->debug |= debug;
}

/*
 * The data directory and who owns what in it; its real path goes to
 * dd[PATH_MAX] and cfg->data_dir.  Fills pws and the sandbox ids.
 */
static void
parent_data_dir_prepare(
    struct petri_config *cfg, char *dd, uid_t *sb_uid, gid_t *sb_gid)
{
	char path[PATH_MAX];
	int lockfd = -1; /* held (close-on-exec) until petrid exits */

	if (mkdir(cfg->data_dir, 0755) != 0 && errno != EEXIST)
		fatal("mkdir %s: %s", cfg->data_dir, strerror(errno));
	if (realpath(cfg->data_dir, dd) == NULL)
		fatal("%s: %s", cfg->data_dir, strerror(errno));
	petri_strlcpy(cfg->data_dir, dd, sizeof(cfg->data_dir));
	/* one petrid per data directory; petri admin restore waits for none */
	if (datadir_lock(dd, &lockfd) != 0)
		fatal("%s: another petrid runs on it (%s is locked)", dd,
		    DATADIR_LOCK_NAME);
	if (chmod(dd, 0755) != 0)
		fatal("chmod %s: %s", dd, strerror(errno));
	join(path, sizeof(path), dd, "api");
	prepare_dir(path, 0700, "_petri_api");
	join(path, sizeof(path), dd, "keeper");
	prepare_dir(path, 0700, "_petri_kpr");
	/* the engine's: the sandboxes' supervisor sockets (engine/sup/SB) */
	join(path, sizeof(path), dd, "engine");
	prepare_dir(path, 0711, "_petri_eng");
	/* what containers may read: the interception CA certificate */
	join(path, sizeof(path), dd, "public");
	prepare_dir(path, 0755, "_petri_kpr");
	if (cfg->workspace_root[0] == '\0')
		join(cfg->workspace_root, sizeof(cfg->workspace_root), dd,
		    "workspaces");
	prepare_dir(cfg->workspace_root, 0711, "_petri_sb");
	if (realpath(cfg->workspace_root, path) == NULL)
		fatal("%s: %s", cfg->workspace_root, strerror(errno));
	petri_strlcpy(cfg->workspace_root, path, sizeof(cfg->workspace_root));
	if (lookup_user("_petri_sb", sb_uid, sb_gid) != 0)
		fatal("user _petri_sb does not exist: run packaging/setup.sh");
	join(path, sizeof(path), dd, "disks");
	prepare_dir(path, 0700, NULL);
	petri_strlcpy(pws.disks, path, sizeof(pws.disks));
	petri_strlcpy(pws.workspace_root, cfg->workspace_root,
	    sizeof(pws.workspace_root));
	pws.uid = *sb_uid;
	pws.gid = *sb_gid;
}

/* The instance id and the admin key's hash (the key stays in its file). */
static void
parent_identity_read(const char *dd, char instance[33], char hash[65])
{
	char path[PATH_MAX], token[128];

	join(path, sizeof(path), dd, "instance");
	read_or_create(path, "", 8, instance, 33);
	if (strlen(instance) != 16)
		fatal("%s: unexpected content", path);
	join(path, sizeof(path), dd, "admin.token");
	read_or_create(path, "petri_", 32, token, sizeof(token));
	petri_sha256_hex(token, strlen(token), hash);
	sodium_memzero(token, sizeof(token));
}

/* Gives a child its descriptors, in the order it expects them. */
static void
parent_child_fds(const char *name, const int *fds, int n)
{
	struct child *ch = child_by_name(name);
	int i;

	for (i = 0; i < n; i++)
		ch->fds[i] = fds[i];
	ch->nfds = n;
}

/*
 * Sockets: two listening (api, preview gateway), one pair per channel,
 * each end handed to its child.  all[16] receives every descriptor (closed
 * once spawned).
 */
static int
parent_sockets_make(const struct petri_config *cfg, int *all)
{
	int api_eng, eng_api, api_ws, ws_api, api_kpr, kpr_api;
	int api_prx, prx_api, kpr_prx, prx_kpr, lfd;
	int api_pvw, pvw_api, pvw_lfd;
	struct preview_conf pvc;
	char err[256];

	lfd = listen_on(cfg->listen_host, cfg->listen_port);
	/* the preview gateway's own listener (preview_conf.h) */
	if (preview_conf_parse(json_object_get(cfg->raw, "preview"), &pvc, err,
	        sizeof(err)) != 0)
		fatal("configuration: %s", err);
	pvw_lfd = listen_on(pvc.listen_host, pvc.listen_port);
	pair(&api_eng, &eng_api);
	pair(&api_ws, &ws_api);
	pair(&api_kpr, &kpr_api);
	pair(&api_prx, &prx_api);
	pair(&kpr_prx, &prx_kpr);
	pair(&api_pvw, &pvw_api);
	parent_child_fds("api",
	    (const int[]){lfd, api_eng, api_ws, api_kpr, api_prx, api_pvw}, 6);
	parent_child_fds("proxy", (const int[]){prx_api, prx_kpr}, 2);
	parent_child_fds("engine", (const int[]){eng_api}, 1);
	parent_child_fds("ws", (const int[]){ws_api}, 1);
	parent_child_fds("keeper", (const int[]){kpr_api, kpr_prx}, 2);
	parent_child_fds("preview", (const int[]){pvw_api, pvw_lfd}, 2);
	{
		const int mine[] = {api_prx, prx_api, kpr_prx, prx_kpr, lfd,
		    api_eng, eng_api, api_ws, ws_api, api_kpr, kpr_api, api_pvw,
		    pvw_api, pvw_lfd};

		memcpy(all, mine, sizeof(mine));
		return (int)(sizeof(mine) / sizeof(mine[0]));
	}
}

/*
 * The in-sandbox helpers' directory into dir (which holds petrid's own):
 * helpers_dir when configured, else beside petrid (a build tree), else
 * PETRI_HELPERS_DIR (the package's).
 */
static void
parent_helpers_dir(const struct petri_config *cfg, char *dir, size_t len)
{
	char path[PATH_MAX];

	join(path, sizeof(path), dir, "petri-spawn");
	if (cfg->helpers_dir[0] != '\0')
		petri_strlcpy(dir, cfg->helpers_dir, len);
	else if (access(path, R_OK) != 0)
		petri_strlcpy(dir, PETRI_HELPERS_DIR, len);
	join(path, sizeof(path), dir, "petri-spawn");
	if (access(path, R_OK) != 0)
		fatal("%s: missing (helpers_dir)", path);
}

/* Spawns every child and sends it its configuration. */
static void
parent_children_start(const struct petri_config *cfg, const char *instance,
    const char *hash, uid_t sb_uid, gid_t sb_gid, int *all, int nall)
{
	char exe[PATH_MAX], exe_dir[PATH_MAX];
	json_t *cj, *boot;
	ssize_t n;
	int i;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0)
		fatal("readlink /proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	petri_strlcpy(exe_dir, dirname(exe), sizeof(exe_dir));
	parent_helpers_dir(cfg, exe_dir, sizeof(exe_dir));
	if ((cj = config_to_json(cfg)) == NULL)
		fatal("out of memory");
	for (i = 0; i < NPROCS; i++) {
		spawn(&children[i], all, nall);
		boot = json_pack("{s:O, s:s, s:s, s:I, s:I}", "config", cj,
		    "instance", instance, "exe_dir", exe_dir, "sandbox_uid",
		    (json_int_t)sb_uid, "sandbox_gid", (json_int_t)sb_gid);
		if (boot == NULL)
			fatal("out of memory");
		if (strcmp(children[i].name, "api") == 0)
			json_object_set_new(
			    boot, "admin_hash", json_string(hash));
		if (ipc_send_sync(
		        children[i].ctl, MSG_CONFIG, 0, boot, NULL, 0) != 0)
			fatal("cannot configure %s", children[i].name);
		json_decref(boot);
	}
	json_decref(cj);
}

/* Waits for a termination signal or a child's exit; returns the status. */
static int
parent_wait(const sigset_t *set)
{
	int sig, wst, i, status = 0;
	pid_t p;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("shutting down");
			(void)notify_send("STOPPING=1");
			return 0;
		}
		if (sig != SIGCHLD)
			continue;
		/*
		 * Only our children's pids: other threads wait for the helpers
		 * they spawn (mkfs) themselves.
		 */
		for (i = 0; i < NPROCS; i++) {
			if (children[i].pid <= 0 ||
			    (p = waitpid(children[i].pid, &wst, WNOHANG)) !=
			        children[i].pid)
				continue;
			children[i].pid = -1;
			log_warn("%s exited (%s %d): shutting down",
			    children[i].name,
			    WIFSIGNALED(wst) ? "signal" : "status",
			    WIFSIGNALED(wst) ? WTERMSIG(wst)
			                     : WEXITSTATUS(wst));
			status = 1;
		}
		if (status != 0)
			return status;
	}
}

int
main(int argc, char **argv)
{
	struct petri_config cfg;
	char dd[PATH_MAX], instance[33], hash[65];
	int i, all[16], nall, status;
	struct ipc_chan *api_ctl = NULL;
	uid_t sb_uid;
	gid_t sb_gid;
	sigset_t set;

	if (argc == 3 && strcmp(argv[1], "--proc") == 0)
		child_run(argv[2]);
	notify_init();
	log_init("parent", 0);
	parent_args_parse(argc, argv, &cfg);
	log_init("parent", cfg.debug);
	log_format_set(cfg.log_format);
	parent_data_dir_prepare(&cfg, dd, &sb_uid, &sb_gid);
	parent_identity_read(dd, instance, hash);
	nall = parent_sockets_make(&cfg, all);

	/* SIGCHLD and the termination signals are taken with sigwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	parent_children_start(&cfg, instance, hash, sb_uid, sb_gid, all, nall);
	for (i = 0; i < nall; i++)
		close(all[i]);
	/* the api's control socket now carries its privileged requests */
	dispatch_require(parent_handlers, PARENT_NHANDLERS, "parent", "api",
	    PEER_API, proto_parent_from_api, proto_parent_from_api_n);
	api_ctl = ipc_chan_new(child_by_name("api")->ctl, "api", 0,
	    proto_parent_from_api, proto_parent_from_api_n, parent_request,
	    NULL);
	if (api_ctl == NULL || ipc_chan_start(api_ctl) != 0)
		fatal("cannot serve the api's control socket");
	child_by_name("api")->ctl = -1;

	log_info("petrid listening on http://%s:%d/ (data in %s)",
	    cfg.listen_host, cfg.listen_port, dd);
	log_info("admin API key: %s/admin.token", dd);
	log_info("try: curl -H \"Authorization: Bearer $(cat %s/admin.token)\" "
	         "-d '{\"language\":\"python\"}' http://%s:%d/v1/sandboxes",
	    dd, cfg.listen_host, cfg.listen_port);

	/* systemd (Type=notify): the API socket accepts from now on */
	if (notify_send("READY=1") != 0)
		log_warn("cannot notify systemd of readiness");
	status = parent_wait(&set);
	stop_children();
	for (i = 0; i < NPROCS; i++)
		if (children[i].ctl >= 0)
			close(children[i].ctl);
	config_free(&cfg);
	log_info("stopped");
	return status;
}
