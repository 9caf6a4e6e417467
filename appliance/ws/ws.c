/*
 * ws.c: the workspace worker process.  It runs as the sandbox uid (the
 * same uid as the code in the containers, no more) and performs the file
 * operations the api validated: staged uploads, listings, downloads,
 * deletes, creating and removing whole workspaces.  It holds no secret and
 * parses nothing from outside but the workspaces themselves, which wsfs.c
 * treats as hostile.  Requests are served one at a time.
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "bounds.h"
#include "dispatch.h"
#include "log.h"
#include "procs.h"
#include "proto.h"
#include "util.h"
#include "wsfs.h"

#define WS_MAX_STAGES 64
#define WS_READ_MAX (4UL << 20)
#define WS_INTERNAL ".petri"

struct ws_stage {
	int used;
	int id;
	char sandbox[PETRI_ID_MAX];
	int internal;
	struct wsfs_stage *st;
};

struct ws {
	struct proc_ctx *ctx;
	struct ipc_chan *api;
	int root_fd; /* the workspace root directory */
	int next_stage;
	struct ws_stage stages[WS_MAX_STAGES];
};

/* Reads m strictly (dispatch_read()): a malformed message is fatal. */
#define ws_read(m, ...) dispatch_read((m), "ws", __VA_ARGS__)

static void
ws_ok(struct ws *w, uint32_t id, json_t *j, const void *data, size_t len)
{
	if (ipc_send(w->api, MSG_OK, id, j, data, len) != 0)
		log_warn("cannot answer the api");
	json_decref(j);
}

static void
ws_err(struct ws *w, uint32_t id, int code, const char *msg)
{
	if (proto_send_err(w->api, id, code, msg) != 0)
		log_warn("cannot answer the api");
}

/*
 * Opens a directory beneath dfd without following any link.  A sandbox's
 * directory is the mount point of its own file system, so crossing into a
 * mount is allowed here (one component, never a link); wsfs does not allow
 * it below.
 */
static int
ws_open_dir(int dfd, const char *name)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	how.resolve =
	    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, dfd, name, &how, sizeof(how));
}

/*
 * A sandbox's directory holds its own disk (mounted there by the
 * parent): "ws", the container's /sandbox, and "stage", the staging area
 * of uploads, on the same disk but out of the container's sight.
 */
#define WS_DIR "ws"
#define WS_STAGE "stage"

/* Opens <sandbox>/<sub>.  Returns an fd or a negative PETRI_ERR_*. */
static int
ws_open_sub(struct ws *w, const char *sandbox, const char *sub)
{
	int sfd, fd;

	if (sandbox == NULL || !petri_id_valid(sandbox, "sb_"))
		return PETRI_ERR_INVAL;
	if ((sfd = ws_open_dir(w->root_fd, sandbox)) < 0)
		return errno == ENOENT ? PETRI_ERR_NOTFOUND : PETRI_ERR_IO;
	fd = ws_open_dir(sfd, sub);
	close(sfd);
	if (fd < 0)
		return errno == ENOENT ? PETRI_ERR_NOTFOUND : PETRI_ERR_PATH;
	return fd;
}

/*
 * Opens the workspace of sandbox (or its internal ".petri" directory,
 * created on demand).  Returns an fd or a negative PETRI_ERR_*.
 */
static int
ws_open(struct ws *w, const char *sandbox, int internal)
{
	int fd, ifd;

	if ((fd = ws_open_sub(w, sandbox, WS_DIR)) < 0 || !internal)
		return fd;
	if (mkdirat(fd, WS_INTERNAL, 0700) != 0 && errno != EEXIST) {
		close(fd);
		return PETRI_ERR_IO;
	}
	ifd = ws_open_dir(fd, WS_INTERNAL);
	close(fd);
	return ifd < 0 ? PETRI_ERR_PATH : ifd;
}

/* For internal operations the path is given as ".petri/..." */
static const char *
ws_path(const char *p, int internal)
{
	if (!internal)
		return p;
	if (strncmp(p, WS_INTERNAL "/", sizeof(WS_INTERNAL)) != 0)
		return NULL;
	return p + sizeof(WS_INTERNAL);
}

static struct ws_stage *
ws_stage_get(struct ws *w, json_int_t id)
{
	int i;

	for (i = 0; i < WS_MAX_STAGES; i++)
		if (w->stages[i].used && w->stages[i].id == id)
			return &w->stages[i];
	return NULL;
}

static void
ws_stage_drop(struct ws_stage *s)
{
	wsfs_stage_free(s->st);
	memset(s, 0, sizeof(*s));
}

static void
ws_stage_fail(struct ws *w, uint32_t id, struct ws_stage *s, int e)
{
	const char *why = wsfs_stage_error(s->st);

	ws_err(
	    w, id, e, why != NULL && why[0] != '\0' ? why : petri_strerror(e));
}

static void
do_stage_open(void *arg, struct ipc_msg *m)
{
	struct ws *w = arg;
	const char *sb = NULL;
	int internal = 0, fd, sfd, i, e;

	ws_read(m, "{s:s, s?b}", "sandbox", &sb, "internal", &internal);
	for (i = 0; i < WS_MAX_STAGES && w->stages[i].used; i++)
		;
	if (i == WS_MAX_STAGES) {
		ws_err(w, m->id, PETRI_ERR_LIMIT, "too many uploads at once");
		return;
	}
	if ((fd = ws_open(w, sb, internal)) < 0) {
		ws_err(w, m->id, fd, "no such workspace");
		return;
	}
	if ((sfd = ws_open_sub(w, sb, WS_STAGE)) < 0) {
		close(fd);
		ws_err(w, m->id, sfd, "no staging area");
		return;
	}
	e = wsfs_stage_open(fd, sfd, &w->stages[i].st);
	close(fd);
	close(sfd);
	if (e != 0) {
		ws_err(w, m->id, e, "cannot stage the upload");
		return;
	}
	w->stages[i].used = 1;
	w->stages[i].id = ++w->next_stage;
	w->stages[i].internal = internal;
	petri_strlcpy(w->stages[i].sandbox, sb, sizeof(w->stages[i].sandbox));
	ws_ok(w, m->id, json_pack("{s:i}", "stage", w->stages[i].id), NULL, 0);
}

/* The fields of one MSG_WS_STAGE_* message (wrap_ws.c sends them). */
struct ws_stage_msg {
	json_int_t stage;
	const char *path; /* FILE, MKDIR, SYMLINK, REMOVE */
	const char *target; /* SYMLINK */
	const char *copy_from; /* FILE, optional */
	int mode, append, more; /* FILE */
	int replace; /* COMMIT */
};

/* Reads a MSG_WS_STAGE_* message strictly into *sm. */
static void
ws_stage_msg_read(const struct ipc_msg *m, struct ws_stage_msg *sm)
{
	memset(sm, 0, sizeof(*sm));
	switch (m->type) {
	case MSG_WS_STAGE_FILE:
		ws_read(m, "{s:I, s:s, s:i, s:b, s:b, s?s}", "stage",
		    &sm->stage, "path", &sm->path, "mode", &sm->mode, "append",
		    &sm->append, "more", &sm->more, "copy_from",
		    &sm->copy_from);
		break;
	case MSG_WS_STAGE_SYMLINK:
		ws_read(m, "{s:I, s:s, s:s}", "stage", &sm->stage, "path",
		    &sm->path, "target", &sm->target);
		break;
	case MSG_WS_STAGE_MKDIR:
	case MSG_WS_STAGE_REMOVE:
		ws_read(
		    m, "{s:I, s:s}", "stage", &sm->stage, "path", &sm->path);
		break;
	case MSG_WS_STAGE_COMMIT:
		ws_read(m, "{s:I, s:b}", "stage", &sm->stage, "replace",
		    &sm->replace);
		break;
	default: /* MSG_WS_STAGE_ABORT */
		ws_read(m, "{s:I}", "stage", &sm->stage);
	}
}

static void
do_stage_op(void *arg, struct ipc_msg *m)
{
	struct ws *w = arg;
	struct ws_stage_msg sm;
	struct ws_stage *s;
	const char *path = NULL;
	int e = 0;

	ws_stage_msg_read(m, &sm);
	if ((s = ws_stage_get(w, sm.stage)) == NULL) {
		ws_err(w, m->id, PETRI_ERR_NOTFOUND, "no such stage");
		return;
	}
	if (sm.path != NULL)
		path = ws_path(sm.path, s->internal);
	switch (m->type) {
	case MSG_WS_STAGE_FILE:
		if (path == NULL) {
			e = PETRI_ERR_PATH;
			break;
		}
		if (sm.copy_from != NULL) {
			e = wsfs_stage_copy(s->st, path, sm.copy_from, sm.mode);
			break;
		}
		if (!sm.append)
			e = wsfs_stage_file_begin(s->st, path, sm.mode);
		if (e == 0 && m->datalen > 0)
			e = wsfs_stage_file_write(s->st, m->data, m->datalen);
		if (e == 0 && !sm.more)
			e = wsfs_stage_file_end(s->st);
		break;
	case MSG_WS_STAGE_MKDIR:
		e = path == NULL ? PETRI_ERR_PATH
		                 : wsfs_stage_mkdir(s->st, path);
		break;
	case MSG_WS_STAGE_SYMLINK:
		e = path == NULL ? PETRI_ERR_PATH
		                 : wsfs_stage_symlink(s->st, path, sm.target);
		break;
	case MSG_WS_STAGE_REMOVE:
		e = path == NULL ? PETRI_ERR_PATH
		                 : wsfs_stage_remove(s->st, path);
		break;
	case MSG_WS_STAGE_COMMIT:
		e = wsfs_stage_commit(s->st, sm.replace);
		if (e != 0) {
			ws_stage_fail(w, m->id, s, e);
			ws_stage_drop(s);
			return;
		}
		ws_stage_drop(s);
		ws_ok(w, m->id, json_object(), NULL, 0);
		return;
	case MSG_WS_STAGE_ABORT:
		ws_stage_drop(s);
		ws_ok(w, m->id, json_object(), NULL, 0);
		return;
	default:
		e = PETRI_ERR_PROTO;
	}
	if (e != 0)
		ws_stage_fail(w, m->id, s, e);
	else
		ws_ok(w, m->id, json_object(), NULL, 0);
}

static int
list_cb(void *arg, const struct wsfs_entry *en)
{
	static const char *const types[] = {
	    "?", "file", "dir", "symlink", "other"};
	json_t *a = arg, *o;

	o = json_pack("{s:s, s:s, s:I}", "path", en->path, "type",
	    types[en->type <= WSFS_OTHER ? en->type : 0], "size",
	    (json_int_t)en->size);
	if (o == NULL)
		return PETRI_ERR_NOMEM;
	if (en->has_sha256)
		json_object_set_new(o, "sha256", json_string(en->sha256));
	if (en->mtime[0] != '\0')
		json_object_set_new(o, "mtime", json_string(en->mtime));
	json_array_append_new(a, o);
	return 0;
}

static void
do_list(void *arg, struct ipc_msg *m)
{
	struct ws *w = arg;
	const char *sb = NULL, *path = NULL;
	json_t *a;
	int recursive = 0, fd, n, trunc = 0;

	ws_read(m, "{s:s, s:s, s:b}", "sandbox", &sb, "path", &path,
	    "recursive", &recursive);
	if ((fd = ws_open(w, sb, 0)) < 0) {
		ws_err(w, m->id, fd, "no such workspace");
		return;
	}
	a = json_array();
	n = wsfs_list(
	    fd, path, recursive ? WSFS_LIST_RECURSIVE : 0, list_cb, a, &trunc);
	close(fd);
	if (n < 0) {
		json_decref(a);
		ws_err(w, m->id, n,
		    n == PETRI_ERR_NOTFOUND ? "no such directory"
		                            : "cannot list");
		return;
	}
	ws_ok(w, m->id, json_pack("{s:o, s:b}", "files", a, "truncated", trunc),
	    NULL, 0);
}

static void
do_read(void *arg, struct ipc_msg *m)
{
	struct ws *w = arg;
	struct stat st;
	const char *sb = NULL, *path = NULL;
	json_int_t off = 0, len = 0;
	int internal = 0;
	unsigned char *p = NULL;
	ssize_t got = 0;
	int fd, ffd = -1, e;

	ws_read(m, "{s:s, s:s, s:I, s:I, s?b}", "sandbox", &sb, "path", &path,
	    "offset", &off, "length", &len, "internal", &internal);
	if (off < 0 || len <= 0 || (size_t)len > WS_READ_MAX) {
		ws_err(w, m->id, PETRI_ERR_INVAL, "bad read");
		return;
	}
	if ((fd = ws_open(w, sb, internal)) < 0) {
		ws_err(w, m->id, fd, "no such workspace");
		return;
	}
	path = ws_path(path, internal);
	e = path == NULL ? PETRI_ERR_PATH : wsfs_open_file(fd, path, &ffd, &st);
	close(fd);
	if (e != 0) {
		ws_err(w, m->id, e == PETRI_ERR_INVAL ? PETRI_ERR_NOTFOUND : e,
		    e == PETRI_ERR_INVAL ? "not a regular file"
		                         : "no such file");
		return;
	}
	if ((uint64_t)st.st_size > WS_MAX_DOWNLOAD) {
		close(ffd);
		ws_err(w, m->id, PETRI_ERR_TOOBIG,
		    "file larger than the "
		    "download limit");
		return;
	}
	if ((p = malloc((size_t)len)) == NULL) {
		close(ffd);
		ws_err(w, m->id, PETRI_ERR_NOMEM, "out of memory");
		return;
	}
	while (got < len) {
		ssize_t r =
		    pread(ffd, p + got, (size_t)(len - got), (off_t)off + got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	close(ffd);
	ws_ok(w, m->id, json_pack("{s:I}", "size", (json_int_t)st.st_size), p,
	    (size_t)got);
	free(p);
}

static void
do_delete(void *arg, struct ipc_msg *m)
{
	struct ws *w = arg;
	const char *sb = NULL, *path = NULL;
	int internal = 0, fd, e;

	ws_read(m, "{s:s, s:s, s?b}", "sandbox", &sb, "path", &path, "internal",
	    &internal);
	path = ws_path(path, internal);
	if ((fd = ws_open(w, sb, internal)) < 0) {
		ws_err(w, m->id, fd, "no such workspace");
		return;
	}
	e = path == NULL ? PETRI_ERR_PATH : wsfs_delete(fd, path);
	close(fd);
	if (e != 0)
		ws_err(w, m->id, e,
		    e == PETRI_ERR_NOTFOUND ? "no such file" : "cannot delete");
	else
		ws_ok(w, m->id, json_object(), NULL, 0);
}

static void
do_create(void *arg, struct ipc_msg *m)
{
	struct ws *w = arg;
	const char *sb = NULL;
	int sfd = -1, e = PETRI_ERR_IO;

	ws_read(m, "{s:s}", "sandbox", &sb);
	if (!petri_id_valid(sb, "sb_")) {
		ws_err(w, m->id, PETRI_ERR_INVAL, "bad sandbox id");
		return;
	}
	/* the parent made (and mounted) the sandbox's directory */
	if ((sfd = ws_open_dir(w->root_fd, sb)) < 0) {
		ws_err(w, m->id, PETRI_ERR_NOTFOUND, "no sandbox directory");
		return;
	}
	if (mkdirat(sfd, WS_DIR, 0700) != 0 ||
	    mkdirat(sfd, WS_STAGE, 0700) != 0) {
		e = errno == EEXIST ? PETRI_ERR_EXISTS : PETRI_ERR_IO;
		close(sfd);
		ws_err(w, m->id, e, "cannot create the workspace");
		return;
	}
	close(sfd);
	ws_ok(w, m->id, json_object(), NULL, 0);
}

static void
do_remove(void *arg, struct ipc_msg *m)
{
	struct ws *w = arg;
	const char *sb = NULL;
	int e, i;

	ws_read(m, "{s:s}", "sandbox", &sb);
	if (!petri_id_valid(sb, "sb_")) {
		ws_err(w, m->id, PETRI_ERR_INVAL, "bad sandbox id");
		return;
	}
	for (i = 0; i < WS_MAX_STAGES; i++)
		if (w->stages[i].used && strcmp(w->stages[i].sandbox, sb) == 0)
			ws_stage_drop(&w->stages[i]);
	e = wsfs_remove_tree(w->root_fd, sb);
	if (e != 0 && e != PETRI_ERR_NOTFOUND)
		ws_err(w, m->id, e, "cannot remove the workspace");
	else
		ws_ok(w, m->id, json_object(), NULL, 0);
}

static void
do_inventory(void *arg, struct ipc_msg *m)
{
	struct ws *w = arg;
	json_t *a = json_array();
	struct dirent *de;
	DIR *d;
	int fd;

	ws_read(m, "{}");
	if ((fd = dup(w->root_fd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		json_decref(a);
		ws_err(
		    w, m->id, PETRI_ERR_IO, "cannot read the workspace root");
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL && json_array_size(a) < 100000)
		if (petri_id_valid(de->d_name, "sb_"))
			json_array_append_new(a, json_string(de->d_name));
	closedir(d);
	ws_ok(w, m->id, json_pack("{s:o}", "sandboxes", a), NULL, 0);
}

/* --- code manifest ---------------------------------------------------------- */

/*
 * What an execution's record lists of the code it ran: the workspace's
 * regular files, not below directories of installed dependencies, caches
 * or version control, with their SHA-256.  Bounded: files, bytes hashed,
 * depth; what is past a bound is left out and the manifest says so.
 */
#define MANIFEST_MAX_FILES 2000
#define MANIFEST_MAX_HASHED (64UL << 20)
#define MANIFEST_MAX_DEPTH 16

static const char *const manifest_skip[] = {".petri", ".git", ".hg", ".svn",
    "node_modules", "deps", "__pycache__", ".cache", ".venv", "venv", ".m2",
    ".gradle", ".go", ".npm", "target", NULL};

struct manifest {
	json_t *files;
	uint64_t hashed;
	int truncated;
};

static int
manifest_skipped(const char *name)
{
	const char *const *k;

	for (k = manifest_skip; *k != NULL; k++)
		if (strcmp(*k, name) == 0)
			return 1;
	return 0;
}

static int
manifest_hash(int fd, uint64_t size, char sha[PETRI_SHA256_HEX])
{
	crypto_hash_sha256_state h;
	unsigned char buf[65536], dig[32];
	uint64_t got = 0;
	ssize_t n;

	crypto_hash_sha256_init(&h);
	while (got < size && (n = read(fd, buf, sizeof(buf))) > 0) {
		crypto_hash_sha256_update(&h, buf, (size_t)n);
		got += (uint64_t)n;
	}
	if (got != size)
		return PETRI_ERR_IO; /* changed under us: left out */
	crypto_hash_sha256_final(&h, dig);
	petri_hex(dig, sizeof(dig), sha);
	return 0;
}

static void
manifest_walk(struct manifest *mf, int dfd, const char *prefix, int depth)
{
	struct dirent *de;
	struct stat st;
	char path[WS_MAX_PATH + 1], sha[PETRI_SHA256_HEX];
	DIR *d;
	int fd;

	if (depth > MANIFEST_MAX_DEPTH) {
		mf->truncated = 1;
		return;
	}
	if ((fd = dup(dfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    manifest_skipped(de->d_name))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", prefix,
		        prefix[0] != '\0' ? "/" : "",
		        de->d_name) >= sizeof(path)) {
			mf->truncated = 1;
			continue;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) !=
		    0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = ws_open_dir(dirfd(d), de->d_name);

			if (sub >= 0) {
				manifest_walk(mf, sub, path, depth + 1);
				close(sub);
			}
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (json_array_size(mf->files) >= MANIFEST_MAX_FILES ||
		    mf->hashed + (uint64_t)st.st_size > MANIFEST_MAX_HASHED) {
			mf->truncated = 1;
			continue;
		}
		fd = openat(dirfd(d), de->d_name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    manifest_hash(fd, (uint64_t)st.st_size, sha) == 0) {
			mf->hashed += (uint64_t)st.st_size;
			json_array_append_new(mf->files,
			    json_pack("{s:s, s:I, "
			              "s:s}",
			        "path", path, "size", (json_int_t)st.st_size,
			        "sha256", sha));
		}
		close(fd);
	}
	closedir(d);
}

static void
do_manifest(void *arg, struct ipc_msg *m)
{
	struct ws *w = arg;
	struct manifest mf;
	const char *sb = NULL;
	int fd;

	ws_read(m, "{s:s}", "sandbox", &sb);
	if ((fd = ws_open(w, sb, 0)) < 0) {
		ws_err(w, m->id, fd, "no such workspace");
		return;
	}
	memset(&mf, 0, sizeof(mf));
	mf.files = json_array();
	manifest_walk(&mf, fd, "", 0);
	close(fd);
	ws_ok(w, m->id,
	    json_pack(
	        "{s:o, s:b}", "files", mf.files, "truncated", mf.truncated),
	    NULL, 0);
}

/* What the ws worker does, for whom: its one peer is the api. */
static const struct dispatch_entry ws_handlers[] = {
    {MSG_WS_CREATE, PEER_API, do_create, 0},
    {MSG_WS_REMOVE, PEER_API, do_remove, 0},
    {MSG_WS_STAGE_OPEN, PEER_API, do_stage_open, 0},
    {MSG_WS_STAGE_FILE, PEER_API, do_stage_op, 0},
    {MSG_WS_STAGE_MKDIR, PEER_API, do_stage_op, 0},
    {MSG_WS_STAGE_SYMLINK, PEER_API, do_stage_op, 0},
    {MSG_WS_STAGE_COMMIT, PEER_API, do_stage_op, 0},
    {MSG_WS_STAGE_ABORT, PEER_API, do_stage_op, 0},
    {MSG_WS_STAGE_REMOVE, PEER_API, do_stage_op, 0},
    {MSG_WS_LIST, PEER_API, do_list, 0},
    {MSG_WS_READ, PEER_API, do_read, 0},
    {MSG_WS_DELETE, PEER_API, do_delete, 0},
    {MSG_WS_INVENTORY, PEER_API, do_inventory, 0},
    {MSG_WS_MANIFEST, PEER_API, do_manifest, 0},
};
#define WS_NHANDLERS (sizeof(ws_handlers) / sizeof(ws_handlers[0]))

static void
ws_request(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	(void)c;
	if (m == NULL)
		fatal("the api went away");
	dispatch_get(ws_handlers, WS_NHANDLERS, "ws", "api", PEER_API, m)
	    ->fn(arg, m);
	ipc_msg_clear(m);
}

int
ws_main(struct proc_ctx *ctx)
{
	struct ws w;
	struct dirent *de;
	DIR *d;
	int fd;

	memset(&w, 0, sizeof(w));
	w.ctx = ctx;
	umask(022);
	if ((w.root_fd = open(ctx->cfg.workspace_root,
	         O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		fatal("%s: %s", ctx->cfg.workspace_root, strerror(errno));
	/* stages a crash left behind */
	if ((fd = dup(w.root_fd)) >= 0 && (d = fdopendir(fd)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			struct dirent *se;
			DIR *sd;
			int sfd;

			if (!petri_id_valid(de->d_name, "sb_") ||
			    (sfd = ws_open_sub(&w, de->d_name, WS_STAGE)) < 0)
				continue;
			if ((sd = fdopendir(sfd)) == NULL) {
				close(sfd);
				continue;
			}
			while ((se = readdir(sd)) != NULL)
				if (se->d_name[0] != '.' &&
				    wsfs_remove_tree(dirfd(sd), se->d_name) !=
				        0)
					log_warn(
					    "cannot remove a stale stage of "
					    "%s",
					    de->d_name);
			closedir(sd);
		}
		closedir(d);
	}
	dispatch_require(ws_handlers, WS_NHANDLERS, "ws", "api", PEER_API,
	    proto_ws_from_api, proto_ws_from_api_n);
	w.api = ipc_chan_new(PROC_FD_PEER_API, "api", 1, proto_ws_from_api,
	    proto_ws_from_api_n, ws_request, &w);
	if (w.api == NULL || ipc_chan_start(w.api) != 0)
		fatal("cannot start the api channel");
	log_info("workspace worker ready");
	proc_wait_term();
	return 0;
}
