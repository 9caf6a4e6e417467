/* wsfs.c: workspace file operations that never follow a link. */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <linux/openat2.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "wsfs.h"
#include "wspath.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452 /* Linux 6.6, the same number on every arch */
#endif

#define WSFS_IOBUF (64 * 1024)
#define WSFS_NAME_TRIES 16 /* fresh random names tried */
#define WSFS_MSG 256
#define WSFS_QUOTE 120 /* bytes of a path quoted in a message */
#define WSFS_MTIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
/*
 * A running container can add entries as fast as they are removed or
 * moved: the passes over a directory are bounded.  Removing a chain of
 * directories needs about one pass per WS_MAX_DEPTH levels.
 */
#define WSFS_RM_MAX_PASSES 65536
#define WSFS_ASIDE_MAX_PASSES 64
/* Entries a listing may look at (skipped ones too) before it stops. */
#define WSFS_LIST_MAX_SEEN (10 * WS_MAX_LIST_ENTRIES)

/* Maps errno to a PETRI_ERR_* code. */
static int
wsfs_err(int e)
{
	switch (e) {
	case ENOENT:
		return PETRI_ERR_NOTFOUND;
	case ELOOP:
	case EXDEV:
	case ENOTDIR:
	case ENAMETOOLONG:
		return PETRI_ERR_PATH;
	case EACCES:
	case EPERM:
	case EROFS:
		return PETRI_ERR_PERM;
	case EEXIST:
	case ENOTEMPTY:
	case EISDIR:
		return PETRI_ERR_EXISTS;
	case ENOSPC:
	case EDQUOT:
		return PETRI_ERR_LIMIT;
	case EFBIG:
		return PETRI_ERR_TOOBIG;
	case ENOMEM:
		return PETRI_ERR_NOMEM;
	default:
		return PETRI_ERR_IO;
	}
}

/*
 * openat2() beneath dirfd: no symbolic link (not even the last component,
 * unless O_PATH asks for the link itself), no magic link, no mount
 * crossing, no "..".
 */
static int
wsfs_openat2(int dirfd, const char *path, int flags, mode_t mode)
{
	struct open_how how;
	int fd, tries = 0;

	memset(&how, 0, sizeof(how));
	if (!(flags & O_PATH))
		flags |= O_NOFOLLOW;
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.mode = (flags & O_CREAT) ? mode : 0;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	do
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (fd < 0 && (errno == EINTR || errno == EAGAIN) && ++tries < 8);
	return fd;
}

static void
wsfs_close(int *fdp)
{
	if (*fdp >= 0)
		close(*fdp);
	*fdp = -1;
}

/*
 * Splits the non-empty normalised wp: dir gets the parent ("." for the
 * root), the last component is returned.
 */
static const char *
wsfs_split(const struct wspath *wp, char dir[WS_MAX_PATH + 1])
{
	const char *slash = strrchr(wp->path, '/');
	size_t n;

	if (slash == NULL) {
		dir[0] = '.';
		dir[1] = '\0';
		return wp->path;
	}
	n = (size_t)(slash - wp->path);
	memcpy(dir, wp->path, n);
	dir[n] = '\0';
	return slash + 1;
}

/* Opens the parent directory of wp (O_PATH); *basep is the last name. */
static int
wsfs_parent(int root_fd, const struct wspath *wp, const char **basep)
{
	char dir[WS_MAX_PATH + 1];
	int fd;

	*basep = wsfs_split(wp, dir);
	if ((fd = wsfs_openat2(root_fd, dir, O_PATH | O_DIRECTORY, 0)) < 0)
		return wsfs_err(errno);
	return fd;
}

static int
wsfs_norm(struct wspath *wp, const char *path, unsigned int flags)
{
	if (path == NULL)
		return PETRI_ERR_INVAL;
	if (wspath_normalise(
	        wp, path, strlen(path), flags | WSPATH_SANDBOX, 0) < 0)
		return PETRI_ERR_PATH;
	return 0;
}

static int
wsfs_mode(int mode)
{
	return (mode & 0111) ? 0755 : 0644;
}

/* Last-modified time as RFC 3339, clamped to years 1970..9999. */
static void
wsfs_mtime(const struct stat *st, char out[PETRI_TIME_MAX])
{
	int64_t sec = (int64_t)st->st_mtim.tv_sec;
	int64_t nsec = (int64_t)st->st_mtim.tv_nsec;

	if (sec < 0)
		sec = 0;
	if (sec > WSFS_MTIME_MAX)
		sec = WSFS_MTIME_MAX;
	if (nsec < 0 || nsec > 999999999)
		nsec = 0;
	petri_time_rfc3339(sec * 1000000 + nsec / 1000, out);
}

/*
 * chmod of name in dfd without following a link: fchmodat2() where the
 * kernel has it, else through an O_PATH fd of the directory.
 */
static int
wsfs_chmod_dir(int dfd, const char *name, mode_t mode)
{
	char proc[64];
	struct stat st;
	int fd, rc;

	if (syscall(SYS_fchmodat2, dfd, name, mode, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	if ((fd = openat(
	         dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	rc = -1;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (size_t)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd) <
	        sizeof(proc))
		rc = chmod(proc, mode);
	close(fd);
	return rc;
}

/* Writes "<prefix><16 hex digits>" into out (size n). */
static void
wsfs_random_name(char *out, size_t n, const char *prefix)
{
	unsigned char r[8];
	char hex[sizeof(r) * 2 + 1];

	randombytes_buf(r, sizeof(r));
	petri_hex(r, sizeof(r), hex);
	(void)snprintf(out, n, "%s%s", prefix, hex);
}

/*
 * Removing trees.
 */

struct wsfs_rm_level {
	DIR *d;
	int progress; /* something was removed in this pass */
	char name[WS_MAX_NAME + 1];
};

/*
 * Opens directory name in dfd for removal, giving it u+rwx when needed.
 * Returns 0, PETRI_ERR_STATE when it is no longer a directory (raced), or
 * another code.
 */
static int
wsfs_rm_open(int dfd, const char *name, const dev_t *dev, DIR **dp, dev_t *devp)
{
	struct stat st;
	int fd, tries;

	*dp = NULL;
	for (tries = 0;; tries++) {
		fd = openat(dfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK |
		        O_CLOEXEC);
		if (fd >= 0)
			break;
		if (errno == ENOTDIR || errno == ELOOP)
			return PETRI_ERR_STATE;
		if (errno != EACCES || tries > 0)
			return wsfs_err(errno);
		if (wsfs_chmod_dir(dfd, name, 0700) != 0)
			return PETRI_ERR_PERM;
	}
	if (fstat(fd, &st) != 0) {
		close(fd);
		return PETRI_ERR_IO;
	}
	if (dev != NULL && st.st_dev != *dev) {
		close(fd);
		return PETRI_ERR_PERM; /* a mount point: leave it */
	}
	if ((st.st_mode & 0700) != 0700 &&
	    fchmod(fd, (st.st_mode & 07777) | 0700) != 0) {
		close(fd);
		return PETRI_ERR_PERM;
	}
	if ((*dp = fdopendir(fd)) == NULL) {
		close(fd);
		return PETRI_ERR_NOMEM;
	}
	if (devp != NULL)
		*devp = st.st_dev;
	return 0;
}

/* Moves directory name out of dfd to the top of the tree (too deep). */
static int
wsfs_rm_hoist(int dfd, const char *name, int topfd)
{
	char fresh[32];
	int i;

	for (i = 0; i < WSFS_NAME_TRIES; i++) {
		wsfs_random_name(fresh, sizeof(fresh), ".petri-rm-");
		if (renameat2(dfd, name, topfd, fresh, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return wsfs_err(errno);
	}
	return PETRI_ERR_EXISTS;
}

/* A removal in progress: the directories open from the top down. */
struct wsfs_rm_walk {
	struct wsfs_rm_level *lv; /* WS_MAX_DEPTH of them */
	size_t depth; /* lv[depth - 1] is being read */
	int parent_fd; /* holds lv[0] */
	dev_t dev; /* the tree's file system: no crossing into a mount */
	int passes; /* re-reads of a directory that kept changing */
};

/*
 * The directory being read is read through: removes it and goes up, or
 * reads it again if entries came or moved in.  Returns 0 or an error.
 */
static int
wsfs_rm_leave(struct wsfs_rm_walk *w)
{
	struct wsfs_rm_level *cur = &w->lv[w->depth - 1];
	int pfd = w->depth > 1 ? dirfd(w->lv[w->depth - 2].d) : w->parent_fd;

	if (unlinkat(pfd, cur->name, AT_REMOVEDIR) == 0 || errno == ENOENT) {
		closedir(cur->d);
		cur->d = NULL;
		w->depth--;
		if (w->depth > 0)
			w->lv[w->depth - 1].progress = 1;
		return 0;
	}
	if ((errno == ENOTEMPTY || errno == EEXIST) && cur->progress &&
	    ++w->passes <= WSFS_RM_MAX_PASSES) {
		/* entries came or moved in: another pass */
		cur->progress = 0;
		rewinddir(cur->d);
		return 0;
	}
	/* still not empty: it keeps changing */
	return errno == ENOTEMPTY || errno == EEXIST ? PETRI_ERR_STATE
	                                             : wsfs_err(errno);
}

/*
 * One entry of the directory being read: unlinked, or a directory
 * descended into (hoisted to the top when the tree is too deep).
 * Returns 0 or an error.
 */
static int
wsfs_rm_entry(struct wsfs_rm_walk *w, const char *name)
{
	struct wsfs_rm_level *cur = &w->lv[w->depth - 1];
	int dfd = dirfd(cur->d), rc;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT) {
		cur->progress = 1;
		return 0;
	}
	if (errno != EISDIR)
		return wsfs_err(errno);
	cur->progress = 1;
	if (w->depth == WS_MAX_DEPTH) {
		w->lv[0].progress = 1;
		return wsfs_rm_hoist(dfd, name, dirfd(w->lv[0].d));
	}
	rc = wsfs_rm_open(dfd, name, &w->dev, &w->lv[w->depth].d, NULL);
	if (rc == PETRI_ERR_STATE)
		return 0; /* no longer a directory: next pass */
	if (rc != 0)
		return rc;
	petri_strlcpy(w->lv[w->depth].name, name, sizeof(w->lv[w->depth].name));
	w->lv[w->depth].progress = 0;
	w->depth++;
	return 0;
}

int
wsfs_remove_tree(int parent_fd, const char *name)
{
	struct wsfs_rm_walk w;
	struct dirent *de;
	int rc = 0;

	if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strlen(name) > WS_MAX_NAME)
		return PETRI_ERR_PATH;
	if (unlinkat(parent_fd, name, 0) == 0)
		return 0;
	if (errno != EISDIR)
		return wsfs_err(errno);
	memset(&w, 0, sizeof(w));
	w.parent_fd = parent_fd;
	if ((w.lv = calloc(WS_MAX_DEPTH, sizeof(*w.lv))) == NULL)
		return PETRI_ERR_NOMEM;
	if ((rc = wsfs_rm_open(parent_fd, name, NULL, &w.lv[0].d, &w.dev)) != 0)
		goto out;
	petri_strlcpy(w.lv[0].name, name, sizeof(w.lv[0].name));
	w.depth = 1;

	while (w.depth > 0) {
		errno = 0;
		if ((de = readdir(w.lv[w.depth - 1].d)) == NULL) {
			rc = errno != 0 ? PETRI_ERR_IO : wsfs_rm_leave(&w);
		} else if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		else
			rc = wsfs_rm_entry(&w, de->d_name);
		if (rc != 0)
			goto out;
	}
out:
	while (w.depth > 0) {
		w.depth--;
		if (w.lv[w.depth].d != NULL)
			closedir(w.lv[w.depth].d);
	}
	free(w.lv);
	return rc;
}

int
wsfs_delete(int root_fd, const char *path)
{
	struct wspath wp;
	const char *base;
	int pfd, rc;

	if ((rc = wsfs_norm(&wp, path, WSPATH_DIR)) != 0)
		return rc;
	if ((pfd = wsfs_parent(root_fd, &wp, &base)) < 0)
		return pfd;
	rc = wsfs_remove_tree(pfd, base);
	close(pfd);
	return rc;
}

/*
 * Reading.
 */

int
wsfs_open_file(int root_fd, const char *path, int *fdp, struct stat *st)
{
	struct wspath wp;
	int fd, rc;

	*fdp = -1;
	if ((rc = wsfs_norm(&wp, path, 0)) != 0)
		return rc;
	fd =
	    wsfs_openat2(root_fd, wp.path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
	if (fd < 0)
		return errno == ENXIO ? PETRI_ERR_INVAL : wsfs_err(errno);
	if (fstat(fd, st) != 0) {
		close(fd);
		return PETRI_ERR_IO;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return PETRI_ERR_INVAL;
	}
	*fdp = fd;
	return 0;
}

int
wsfs_read(int root_fd, const char *path, size_t max, struct buf *b)
{
	struct stat st;
	ssize_t n;
	char extra;
	int fd = -1, rc;

	buf_init(b, max);
	if ((rc = wsfs_open_file(root_fd, path, &fd, &st)) != 0)
		return rc;
	if ((uint64_t)st.st_size > max) {
		rc = PETRI_ERR_TOOBIG;
		goto out;
	}
	for (;;) {
		size_t want = max - b->len;

		if (want > WSFS_IOBUF)
			want = WSFS_IOBUF;
		if (want == 0) {
			/* full: anything more means the file grew */
			do
				n = read(fd, &extra, 1);
			while (n < 0 && errno == EINTR);
			rc = n == 0 ? 0
			    : n > 0 ? PETRI_ERR_TOOBIG
			            : PETRI_ERR_IO;
			break;
		}
		if ((rc = buf_reserve(b, want)) != 0)
			break;
		do
			n = read(fd, b->data + b->len, want);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			rc = PETRI_ERR_IO;
			break;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
	}
out:
	if (rc != 0)
		buf_free(b);
	close(fd);
	return rc;
}

/*
 * Hashes the regular file fd if it holds at most max bytes.  Returns 0
 * (*sizep, hex set), 1 when it holds more (*sizep: bytes read), or -1.
 */
static int
wsfs_hash_fd(int fd, uint64_t max, unsigned char *iobuf, uint64_t *sizep,
    char hex[PETRI_SHA256_HEX])
{
	crypto_hash_sha256_state h;
	unsigned char md[crypto_hash_sha256_BYTES];
	uint64_t got = 0;
	ssize_t n;

	crypto_hash_sha256_init(&h);
	for (;;) {
		do
			n = read(fd, iobuf, WSFS_IOBUF);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (uint64_t)n;
		*sizep = got;
		if (got > max)
			return 1;
		crypto_hash_sha256_update(&h, iobuf, (unsigned long long)n);
	}
	crypto_hash_sha256_final(&h, md);
	petri_hex(md, sizeof(md), hex);
	*sizep = got;
	return 0;
}

/*
 * Listing.
 */

struct wsfs_lister {
	wsfs_entry_fn *fn;
	void *arg;
	dev_t dev;
	unsigned int flags;
	int truncated;
	int count;
	int seen; /* entries looked at, skipped ones included */
	uint64_t budget; /* bytes that may still be hashed */
	unsigned char *iobuf;
	char path[WS_MAX_PATH + 1];
	size_t len;
	size_t depth;
};

/*
 * Gives the object name of dirfd (st: its lstat), whose path is l->path,
 * to the callback.  Returns 0, 1 when the listing is full, or a negative
 * code.
 */
static int
wsfs_list_emit(
    struct wsfs_lister *l, int dirfd, const char *name, const struct stat *st)
{
	struct wsfs_entry e;
	struct stat fst;
	uint64_t size;
	int fd, rc;

	if (l->count >= WS_MAX_LIST_ENTRIES) {
		l->truncated = 1;
		return 1;
	}
	memset(&e, 0, sizeof(e));
	e.path = l->path;
	if (S_ISREG(st->st_mode)) {
		e.type = WSFS_FILE;
		e.size = (uint64_t)st->st_size;
		if (e.size <= WS_MAX_FILE && e.size <= l->budget &&
		    (fd = openat(dirfd, name,
		         O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
		             O_CLOEXEC)) >= 0) {
			size = 0;
			if (fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode) &&
			    fst.st_ino == st->st_ino &&
			    fst.st_dev == st->st_dev) {
				rc = wsfs_hash_fd(fd,
				    l->budget < WS_MAX_FILE ? l->budget
				                            : WS_MAX_FILE,
				    l->iobuf, &size, e.sha256);
				if (rc == 0) {
					e.has_sha256 = 1;
					e.size = size;
				} else
					e.sha256[0] = '\0';
				l->budget -=
				    size < l->budget ? size : l->budget;
			}
			close(fd);
		}
	} else if (S_ISDIR(st->st_mode))
		e.type = WSFS_DIR;
	else if (S_ISLNK(st->st_mode)) {
		e.type = WSFS_SYMLINK;
		e.size = (uint64_t)st->st_size;
	} else
		e.type = WSFS_OTHER;
	wsfs_mtime(st, e.mtime);
	if (l->fn != NULL && (rc = l->fn(l->arg, &e)) < 0)
		return rc;
	l->count++;
	return 0;
}

/*
 * Appends name to l->path when the result is a valid workspace path.
 * Returns 0, or -1 (l->path unchanged).
 */
static int
wsfs_list_push(struct wsfs_lister *l, const char *name)
{
	struct wspath wp;
	size_t n = strlen(name), sep = l->len > 0;

	if (wspath_normalise(&wp, name, n, 0, 0) != (int)n || wp.depth != 1)
		return -1;
	if (l->depth >= WS_MAX_DEPTH || n > WS_MAX_PATH - l->len - sep)
		return -1;
	if (sep)
		l->path[l->len++] = '/';
	memcpy(l->path + l->len, name, n + 1);
	l->len += n;
	l->depth++;
	return 0;
}

/*
 * For a recursive listing, opens the directory name beneath dfd that
 * fstatat() described in *sb (room: the walk can go one deeper) into
 * *cdp, never following a link, refusing one swapped in since and a
 * mount.  *cdp stays NULL for an entry not descended into (l->truncated
 * set when one should have been).  Returns 0 or PETRI_ERR_NOMEM.
 */
static int
wsfs_list_descend(struct wsfs_lister *l, int dfd, const char *name,
    const struct stat *sb, int room, DIR **cdp)
{
	struct stat cs;
	int cfd;

	*cdp = NULL;
	if (!(l->flags & WSFS_LIST_RECURSIVE) || !S_ISDIR(sb->st_mode))
		return 0;
	if (!room || l->depth >= WS_MAX_DEPTH) {
		l->truncated = 1;
		return 0;
	}
	cfd = openat(dfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (cfd < 0) {
		l->truncated = 1; /* unreadable, or raced */
		return 0;
	}
	if (fstat(cfd, &cs) != 0 || cs.st_ino != sb->st_ino ||
	    cs.st_dev != sb->st_dev || cs.st_dev != l->dev) {
		close(cfd);
		l->truncated = 1;
		return 0;
	}
	if ((*cdp = fdopendir(cfd)) == NULL) {
		close(cfd);
		return PETRI_ERR_NOMEM;
	}
	return 0;
}

/* Lists the directory fd (taken over) whose path is l->path. */
static int
wsfs_list_dir(struct wsfs_lister *l, int fd)
{
	struct {
		DIR *d;
		size_t len;
		size_t depth;
	} st[WS_MAX_DEPTH + 1];
	struct dirent *de;
	struct stat sb;
	int top = 0, rc = 0;
	DIR *cd;

	if ((st[0].d = fdopendir(fd)) == NULL) {
		close(fd);
		return PETRI_ERR_NOMEM;
	}
	st[0].len = l->len;
	st[0].depth = l->depth;
	while (top >= 0) {
		errno = 0;
		if ((de = readdir(st[top].d)) == NULL) {
			if (errno != 0) {
				rc = PETRI_ERR_IO;
				goto out;
			}
			closedir(st[top].d);
			top--;
			continue;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (++l->seen > WSFS_LIST_MAX_SEEN) {
			l->truncated = 1;
			goto out;
		}
		if (wspath_name_reserved(de->d_name, strlen(de->d_name)))
			continue;
		l->len = st[top].len;
		l->depth = st[top].depth;
		l->path[l->len] = '\0';
		if (wsfs_list_push(l, de->d_name) != 0) {
			l->truncated = 1;
			continue;
		}
		if (fstatat(dirfd(st[top].d), de->d_name, &sb,
		        AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				continue; /* removed meanwhile */
			rc = wsfs_err(errno);
			goto out;
		}
		if ((rc = wsfs_list_emit(
		         l, dirfd(st[top].d), de->d_name, &sb)) != 0) {
			if (rc == 1)
				rc = 0;
			goto out;
		}
		if ((rc = wsfs_list_descend(l, dirfd(st[top].d), de->d_name,
		         &sb, top + 1 <= WS_MAX_DEPTH, &cd)) != 0)
			goto out;
		if (cd == NULL)
			continue;
		top++;
		st[top].d = cd;
		st[top].len = l->len;
		st[top].depth = l->depth;
	}
out:
	while (top >= 0)
		closedir(st[top--].d);
	return rc;
}

int
wsfs_list(int root_fd, const char *path, unsigned int flags, wsfs_entry_fn *fn,
    void *arg, int *truncatedp)
{
	struct wsfs_lister *l = NULL;
	struct wspath wp;
	struct stat st, rst;
	const char *base;
	int rc, pfd = -1, fd = -1;

	if (truncatedp != NULL)
		*truncatedp = 0;
	if ((rc = wsfs_norm(&wp, path, WSPATH_ROOT | WSPATH_DIR)) != 0)
		return rc;
	if (fstat(root_fd, &rst) != 0)
		return PETRI_ERR_IO;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->iobuf = malloc(WSFS_IOBUF)) == NULL) {
		rc = PETRI_ERR_NOMEM;
		goto out;
	}
	l->fn = fn;
	l->arg = arg;
	l->flags = flags;
	l->dev = rst.st_dev;
	l->budget = WSFS_LIST_HASH_BUDGET;
	memcpy(l->path, wp.path, wp.len + 1);
	l->len = wp.len;
	l->depth = wp.depth;

	if (wp.len == 0)
		fd = wsfs_openat2(
		    root_fd, ".", O_RDONLY | O_DIRECTORY | O_NONBLOCK, 0);
	else {
		if ((pfd = wsfs_parent(root_fd, &wp, &base)) < 0) {
			rc = pfd;
			goto out;
		}
		if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			rc = wsfs_err(errno);
			goto out;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc = wsfs_list_emit(l, pfd, base, &st);
			goto out;
		}
		fd = openat(pfd, base,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK |
		        O_CLOEXEC);
	}
	if (fd < 0) {
		rc = wsfs_err(errno);
		goto out;
	}
	if (fstat(fd, &st) != 0 || st.st_dev != l->dev) {
		close(fd);
		rc = PETRI_ERR_PATH;
		goto out;
	}
	rc = wsfs_list_dir(l, fd);
out:
	wsfs_close(&pfd);
	if (rc >= 0 && l != NULL) {
		rc = l->count;
		if (truncatedp != NULL)
			*truncatedp = l->truncated;
	}
	if (l != NULL)
		free(l->iobuf);
	free(l);
	return rc;
}

/*
 * Writing.
 */

struct wsfs_stage;
static int wsfs_stage_logdir(struct wsfs_stage *, const char *, size_t);
static int wsfs_stage_fail(struct wsfs_stage *, int, const char *, ...)
    PETRI_PRINTF(3, 4);

/*
 * Opens (O_PATH) the directory named by the first n bytes of the
 * normalised path p (n == 0: the root) beneath root_fd, one component at a
 * time.  With create, missing directories are made (0755) and, when s is
 * not NULL, remembered so that a failed commit can remove them.  Returns
 * the fd or a negative PETRI_ERR_* code (PETRI_ERR_NOTFOUND when a
 * component is missing and create is off; the message goes to s).
 */
static int
wsfs_walk(
    struct wsfs_stage *s, int root_fd, const char *p, size_t n, int create)
{
	char comp[WS_MAX_NAME + 1];
	size_t i = 0, j;
	int fd, nfd, e = 0, rc, tries;

	if ((fd = wsfs_openat2(root_fd, ".", O_PATH | O_DIRECTORY, 0)) < 0)
		return wsfs_err(errno);
	while (i < n) {
		for (j = i; j < n && p[j] != '/'; j++)
			;
		if (j - i > WS_MAX_NAME) {
			close(fd);
			return PETRI_ERR_PATH;
		}
		memcpy(comp, p + i, j - i);
		comp[j - i] = '\0';
		for (tries = 0;; tries++) {
			if ((nfd = wsfs_openat2(
			         fd, comp, O_PATH | O_DIRECTORY, 0)) >= 0)
				break;
			e = errno;
			if (e != ENOENT || !create || tries == 2)
				break;
			if (mkdirat(fd, comp, 0755) == 0) {
				if (s != NULL &&
				    (rc = wsfs_stage_logdir(s, p, j)) != 0) {
					close(fd);
					return rc;
				}
			} else if (errno != EEXIST) {
				e = errno;
				break;
			}
		}
		if (nfd < 0) {
			close(fd);
			rc = wsfs_err(e);
			if (s != NULL && (e != ENOENT || create))
				return wsfs_stage_fail(s, rc,
				    "'%.*s' in the workspace %s%s", (int)j, p,
				    e == ELOOP         ? "is a symbolic link"
				        : e == ENOTDIR ? "is not a directory"
				                       : "cannot be used: ",
				    e == ELOOP || e == ENOTDIR ? ""
				                               : strerror(e));
			return rc;
		}
		close(fd);
		fd = nfd;
		i = j + 1;
	}
	return fd;
}

/* fsync of the directory behind the O_PATH fd pfd, best effort. */
static void
wsfs_sync_dir(int pfd)
{
	int fd;

	if ((fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

int
wsfs_write(
    int root_fd, const char *path, const void *data, size_t len, int mode)
{
	struct wspath wp;
	struct stat st;
	char tmp[40];
	const char *base, *slash;
	int pfd = -1, fd = -1, rc, i;

	tmp[0] = '\0';
	if ((rc = wsfs_norm(&wp, path, 0)) != 0)
		return rc;
	if (len > WS_MAX_FILE || (data == NULL && len > 0))
		return len > WS_MAX_FILE ? PETRI_ERR_TOOBIG : PETRI_ERR_INVAL;
	slash = strrchr(wp.path, '/');
	base = slash != NULL ? slash + 1 : wp.path;
	pfd = wsfs_walk(NULL, root_fd, wp.path,
	    slash != NULL ? (size_t)(slash - wp.path) : 0, 1);
	if (pfd < 0)
		return pfd;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode)) {
		rc = PETRI_ERR_EXISTS;
		goto out;
	}
	for (i = 0; i < WSFS_NAME_TRIES && fd < 0; i++) {
		wsfs_random_name(tmp, sizeof(tmp), ".petri-tmp-");
		fd = openat(pfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			rc = wsfs_err(errno);
			tmp[0] = '\0';
			goto out;
		}
	}
	if (fd < 0) {
		rc = PETRI_ERR_EXISTS;
		tmp[0] = '\0';
		goto out;
	}
	if (petri_write_all(fd, data, len) != 0 ||
	    fchmod(fd, (mode_t)wsfs_mode(mode)) != 0 || fsync(fd) != 0) {
		rc = wsfs_err(errno);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = wsfs_err(errno);
		goto out;
	}
	fd = -1;
	if (renameat(pfd, tmp, pfd, base) != 0) {
		rc = wsfs_err(errno);
		goto out;
	}
	tmp[0] = '\0';
	wsfs_sync_dir(pfd);
	rc = 0;
out:
	wsfs_close(&fd);
	if (tmp[0] != '\0')
		(void)unlinkat(pfd, tmp, 0);
	wsfs_close(&pfd);
	return rc;
}

/*
 * Staging.
 */

#define WSFS_DONE_PLACED 1 /* renamed into an empty place */
#define WSFS_DONE_SWAPPED 2 /* exchanged: the old object is in the stage */
#define WSFS_DONE_MKDIR 3 /* directory item created */

struct wsfs_item {
	char *path;
	char *target; /* symbolic links */
	enum wsfs_type type;
	int mode;
	int live;
	int done; /* WSFS_DONE_*, during the commit */
	uint64_t size;
	char sha256[PETRI_SHA256_HEX];
};

struct wsfs_stage {
	int root_fd;
	int staging_fd;
	int dir_fd; /* our directory in staging_fd */
	int old_fd; /* dir_fd/old: what replace moved aside */
	int gone_fd; /* dir_fd/gone: what removals moved aside */
	char **rms; /* paths to remove at the commit (normalised) */
	unsigned char *rmdone; /* per removal: moved into gone/ */
	size_t nrms;
	size_t caprms;
	char dir_name[40];
	struct wspath_tree *tree;
	struct wsfs_item *items;
	size_t nitems;
	size_t capitems;
	char **mkdirs; /* parents the commit created, in order */
	size_t nmkdirs;
	size_t capmkdirs;
	uint64_t total;
	int cur_fd;
	size_t cur;
	crypto_hash_sha256_state cur_hash;
	int failed;
	int committed;
	int keep; /* old/ could not be restored: do not remove it */
	char msg[WSFS_MSG];
};

static int
wsfs_stage_fail(struct wsfs_stage *s, int code, const char *fmt, ...)
{
	va_list ap;

	if (s->failed != 0)
		return s->failed;
	s->failed = code;
	va_start(ap, fmt);
	vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* Remembers that the commit created directory p[0..n). */
static int
wsfs_stage_logdir(struct wsfs_stage *s, const char *p, size_t n)
{
	char *d;

	if (s->nmkdirs == s->capmkdirs) {
		size_t ncap = s->capmkdirs ? s->capmkdirs * 2 : 16;
		char **m;

		if ((m = reallocarray(s->mkdirs, ncap, sizeof(*m))) == NULL)
			return wsfs_stage_fail(
			    s, PETRI_ERR_NOMEM, "out of memory");
		s->mkdirs = m;
		s->capmkdirs = ncap;
	}
	if ((d = strndup(p, n)) == NULL)
		return wsfs_stage_fail(s, PETRI_ERR_NOMEM, "out of memory");
	s->mkdirs[s->nmkdirs++] = d;
	return 0;
}

/* The name of item i's object in the stage directory. */
static void
wsfs_stage_name(const struct wsfs_stage *s, size_t i, char out[32])
{
	(void)snprintf(
	    out, 32, "%c%zu", s->items[i].type == WSFS_SYMLINK ? 'l' : 'f', i);
}

int
wsfs_stage_open(int root_fd, int staging_dir_fd, struct wsfs_stage **sp)
{
	struct wsfs_stage *s;
	int rc, i;

	*sp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PETRI_ERR_NOMEM;
	s->root_fd = s->staging_fd = s->dir_fd = s->old_fd = s->cur_fd = -1;
	s->gone_fd = -1;
	if ((s->root_fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 0)) < 0 ||
	    (s->staging_fd = fcntl(staging_dir_fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		rc = PETRI_ERR_INVAL;
		goto fail;
	}
	if ((s->tree = wspath_tree_new(
	         WS_MAX_ARCHIVE_ENTRIES * WS_MAX_DEPTH)) == NULL) {
		rc = PETRI_ERR_NOMEM;
		goto fail;
	}
	for (i = 0; i < WSFS_NAME_TRIES; i++) {
		wsfs_random_name(s->dir_name, sizeof(s->dir_name), "stage-");
		if (mkdirat(s->staging_fd, s->dir_name, 0700) == 0)
			break;
		if (errno != EEXIST) {
			rc = wsfs_err(errno);
			s->dir_name[0] = '\0';
			goto fail;
		}
	}
	if (i == WSFS_NAME_TRIES) {
		s->dir_name[0] = '\0';
		rc = PETRI_ERR_EXISTS;
		goto fail;
	}
	if ((s->dir_fd = openat(s->staging_fd, s->dir_name,
	         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = wsfs_err(errno);
		goto fail;
	}
	*sp = s;
	return 0;
fail:
	wsfs_stage_free(s);
	return rc;
}

void
wsfs_stage_free(struct wsfs_stage *s)
{
	size_t i;
	int rc;

	if (s == NULL)
		return;
	wsfs_close(&s->cur_fd);
	wsfs_close(&s->old_fd);
	wsfs_close(&s->gone_fd);
	wsfs_close(&s->dir_fd);
	if (s->keep)
		log_warn("wsfs: staging area %s keeps what a failed replace "
		         "could not restore",
		    s->dir_name);
	else if (s->dir_name[0] != '\0' && s->staging_fd >= 0 &&
	    (rc = wsfs_remove_tree(s->staging_fd, s->dir_name)) != 0)
		log_warn("wsfs: cannot remove staging area %s: %s", s->dir_name,
		    petri_strerror(rc));
	wsfs_close(&s->staging_fd);
	wsfs_close(&s->root_fd);
	for (i = 0; i < s->nitems; i++) {
		free(s->items[i].path);
		free(s->items[i].target);
	}
	free(s->items);
	for (i = 0; i < s->nmkdirs; i++)
		free(s->mkdirs[i]);
	free(s->mkdirs);
	for (i = 0; i < s->nrms; i++)
		free(s->rms[i]);
	free(s->rms);
	free(s->rmdone);
	wspath_tree_free(s->tree);
	free(s);
}

const char *
wsfs_stage_error(const struct wsfs_stage *s)
{
	return s->failed != 0 ? s->msg : "";
}

/* Returns 0 when s takes a new item or a commit, else its error. */
static int
wsfs_stage_ready(struct wsfs_stage *s)
{
	if (s->failed != 0)
		return s->failed;
	if (s->committed || s->cur_fd >= 0)
		return wsfs_stage_fail(s, PETRI_ERR_STATE,
		    "the stage is committed or has a file open");
	return 0;
}

/*
 * Normalises path and records it as a new item of the given type.  *idxp
 * gets its index, or SIZE_MAX for a directory already known.  A file or
 * link staged earlier at the same path is dropped.
 */
static int
wsfs_stage_add(struct wsfs_stage *s, const char *path, enum wsfs_type type,
    struct wspath *wp, size_t *idxp)
{
	enum wspath_kind kind;
	struct wsfs_item *it;
	char q[WSFS_QUOTE + 4], name[32];
	const char *why = NULL;
	uint64_t old = 0;
	int rc;

	*idxp = SIZE_MAX;
	if ((rc = wsfs_stage_ready(s)) != 0)
		return rc;
	if (path == NULL)
		return wsfs_stage_fail(s, PETRI_ERR_INVAL, "no path");
	if (wspath_normalise(wp, path, strlen(path),
	        WSPATH_SANDBOX | (type == WSFS_DIR ? WSPATH_DIR : 0), 0) < 0) {
		wspath_quote(q, sizeof(q), path, WSFS_QUOTE);
		return wsfs_stage_fail(
		    s, PETRI_ERR_PATH, "path '%s' %s", q, wp->why);
	}
	kind = type == WSFS_DIR    ? WSPATH_KIND_DIR
	    : type == WSFS_SYMLINK ? WSPATH_KIND_LINK
	                           : WSPATH_KIND_FILE;
	if (kind == WSPATH_KIND_DIR &&
	    wspath_tree_get(s->tree, wp, NULL) == WSPATH_KIND_DIR)
		return 0;
	if (s->nitems >= WS_MAX_ARCHIVE_ENTRIES)
		return wsfs_stage_fail(s, PETRI_ERR_TOOBIG,
		    "more than %d entries", WS_MAX_ARCHIVE_ENTRIES);
	if (s->nitems == s->capitems) {
		size_t ncap = s->capitems ? s->capitems * 2 : 64;

		if ((it = reallocarray(s->items, ncap, sizeof(*it))) == NULL)
			return wsfs_stage_fail(
			    s, PETRI_ERR_NOMEM, "out of memory");
		s->items = it;
		s->capitems = ncap;
	}
	rc = wspath_tree_add(s->tree, wp, kind, s->nitems, &old, &why);
	if (rc < 0)
		return wsfs_stage_fail(s, rc, "'%s' %s", wp->path, why);
	if (rc == 1 && old < s->nitems) {
		s->items[old].live = 0;
		wsfs_stage_name(s, (size_t)old, name);
		(void)unlinkat(s->dir_fd, name, 0);
	}
	it = &s->items[s->nitems];
	memset(it, 0, sizeof(*it));
	if ((it->path = strdup(wp->path)) == NULL)
		return wsfs_stage_fail(s, PETRI_ERR_NOMEM, "out of memory");
	it->type = type;
	it->mode = type == WSFS_DIR ? 0755 : 0644;
	it->live = 1;
	*idxp = s->nitems++;
	return 0;
}

int
wsfs_stage_mkdir(struct wsfs_stage *s, const char *path)
{
	struct wspath wp;
	size_t idx;

	return wsfs_stage_add(s, path, WSFS_DIR, &wp, &idx);
}

int
wsfs_stage_symlink(struct wsfs_stage *s, const char *path, const char *target)
{
	struct wspath wp, lt;
	struct wsfs_item *it;
	char name[32], q[WSFS_QUOTE + 4];
	size_t idx;
	int rc;

	if ((rc = wsfs_stage_add(s, path, WSFS_SYMLINK, &wp, &idx)) != 0)
		return rc;
	it = &s->items[idx];
	if (target == NULL ||
	    wspath_link_target(&wp, target, strlen(target), &lt) < 0) {
		wspath_quote(q, sizeof(q), target, WSFS_QUOTE);
		return wsfs_stage_fail(s, PETRI_ERR_PATH,
		    "'%s': symbolic link target '%s' %s", wp.path, q,
		    target == NULL ? "is missing" : lt.why);
	}
	if ((it->target = strdup(lt.path)) == NULL)
		return wsfs_stage_fail(s, PETRI_ERR_NOMEM, "out of memory");
	it->size = lt.len;
	wsfs_stage_name(s, idx, name);
	if (symlinkat(lt.path, s->dir_fd, name) != 0)
		return wsfs_stage_fail(s, wsfs_err(errno),
		    "'%s': cannot stage the link: %s", wp.path,
		    strerror(errno));
	return 0;
}

int
wsfs_stage_file_begin(struct wsfs_stage *s, const char *path, int mode)
{
	struct wspath wp;
	char name[32];
	size_t idx;
	int rc;

	if ((rc = wsfs_stage_add(s, path, WSFS_FILE, &wp, &idx)) != 0)
		return rc;
	s->items[idx].mode = wsfs_mode(mode);
	wsfs_stage_name(s, idx, name);
	if ((s->cur_fd = openat(s->dir_fd, name,
	         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) <
	    0)
		return wsfs_stage_fail(s, wsfs_err(errno),
		    "'%s': cannot stage the file: %s", wp.path,
		    strerror(errno));
	s->cur = idx;
	crypto_hash_sha256_init(&s->cur_hash);
	return 0;
}

int
wsfs_stage_file_write(struct wsfs_stage *s, const void *data, size_t len)
{
	struct wsfs_item *it;

	if (s->failed != 0)
		return s->failed;
	if (s->cur_fd < 0)
		return wsfs_stage_fail(s, PETRI_ERR_STATE, "no file is open");
	it = &s->items[s->cur];
	if (len > WS_MAX_FILE - it->size)
		return wsfs_stage_fail(s, PETRI_ERR_TOOBIG,
		    "'%s' is larger than %lu bytes", it->path, WS_MAX_FILE);
	if (len > WS_MAX_ARCHIVE_TOTAL - s->total)
		return wsfs_stage_fail(s, PETRI_ERR_TOOBIG,
		    "the upload is larger than %lu bytes",
		    WS_MAX_ARCHIVE_TOTAL);
	if (len == 0)
		return 0;
	if (data == NULL)
		return wsfs_stage_fail(s, PETRI_ERR_INVAL, "no data");
	if (petri_write_all(s->cur_fd, data, len) != 0)
		return wsfs_stage_fail(s, wsfs_err(errno),
		    "'%s': cannot stage the file: %s", it->path,
		    strerror(errno));
	crypto_hash_sha256_update(&s->cur_hash, data, len);
	it->size += len;
	s->total += len;
	return 0;
}

int
wsfs_stage_file_end(struct wsfs_stage *s)
{
	unsigned char md[crypto_hash_sha256_BYTES];
	struct wsfs_item *it;
	int fd;

	if (s->failed != 0)
		return s->failed;
	if (s->cur_fd < 0)
		return wsfs_stage_fail(s, PETRI_ERR_STATE, "no file is open");
	it = &s->items[s->cur];
	fd = s->cur_fd;
	s->cur_fd = -1;
	if (fchmod(fd, (mode_t)it->mode) != 0) {
		close(fd);
		return wsfs_stage_fail(s, wsfs_err(errno),
		    "'%s': cannot stage the file: %s", it->path,
		    strerror(errno));
	}
	/* start write-back now; the commit waits for it (fdatasync) */
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	if (close(fd) != 0)
		return wsfs_stage_fail(s, wsfs_err(errno),
		    "'%s': cannot stage the file: %s", it->path,
		    strerror(errno));
	crypto_hash_sha256_final(&s->cur_hash, md);
	petri_hex(md, sizeof(md), it->sha256);
	return 0;
}

int
wsfs_stage_file(struct wsfs_stage *s, const char *path, int mode,
    const void *data, size_t len)
{
	int rc;

	if ((rc = wsfs_stage_file_begin(s, path, mode)) != 0 ||
	    (rc = wsfs_stage_file_write(s, data, len)) != 0)
		return rc;
	return wsfs_stage_file_end(s);
}

int
wsfs_stage_copy(
    struct wsfs_stage *s, const char *path, const char *from, int mode)
{
	unsigned char *iobuf = NULL;
	struct wspath wp;
	char name[32], q[WSFS_QUOTE + 4];
	uint64_t idx;
	ssize_t n;
	int fd = -1, rc;

	if (s->failed != 0)
		return s->failed;
	if (from == NULL ||
	    wspath_normalise(&wp, from, strlen(from), WSPATH_SANDBOX, 0) < 0 ||
	    wspath_tree_get(s->tree, &wp, &idx) != WSPATH_KIND_FILE ||
	    idx >= s->nitems || !s->items[idx].live ||
	    s->items[idx].type != WSFS_FILE ||
	    (s->cur_fd >= 0 && s->cur == idx)) {
		wspath_quote(q, sizeof(q), from, WSFS_QUOTE);
		return wsfs_stage_fail(
		    s, PETRI_ERR_PATH, "'%s' is not a file of this upload", q);
	}
	wsfs_stage_name(s, (size_t)idx, name);
	if ((fd = openat(s->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) <
	    0)
		return wsfs_stage_fail(s, wsfs_err(errno),
		    "'%s': cannot read the staged file", wp.path);
	if ((iobuf = malloc(WSFS_IOBUF)) == NULL) {
		rc = wsfs_stage_fail(s, PETRI_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = wsfs_stage_file_begin(s, path, mode)) != 0)
		goto out;
	for (;;) {
		do
			n = read(fd, iobuf, WSFS_IOBUF);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			rc = wsfs_stage_fail(
			    s, PETRI_ERR_IO, "cannot copy '%s'", wp.path);
			goto out;
		}
		if (n == 0)
			break;
		if ((rc = wsfs_stage_file_write(s, iobuf, (size_t)n)) != 0)
			goto out;
	}
	rc = wsfs_stage_file_end(s);
out:
	free(iobuf);
	wsfs_close(&fd);
	return rc;
}

int
wsfs_stage_foreach(const struct wsfs_stage *s, wsfs_entry_fn *fn, void *arg)
{
	struct wsfs_entry e;
	size_t i;
	int n = 0, rc;

	for (i = 0; i < s->nitems; i++) {
		const struct wsfs_item *it = &s->items[i];

		if (!it->live)
			continue;
		memset(&e, 0, sizeof(e));
		e.path = it->path;
		e.type = it->type;
		e.size = it->size;
		if (it->type == WSFS_FILE) {
			e.has_sha256 = 1;
			memcpy(e.sha256, it->sha256, sizeof(e.sha256));
		}
		if (fn != NULL && (rc = fn(arg, &e)) < 0)
			return rc;
		n++;
	}
	return n;
}

/* Length of the parent part of a normalised path (0 at the root). */
static size_t
wsfs_dirlen(const char *p)
{
	const char *slash = strrchr(p, '/');

	return slash != NULL ? (size_t)(slash - p) : 0;
}

static const char *
wsfs_base(const char *p)
{
	const char *slash = strrchr(p, '/');

	return slash != NULL ? slash + 1 : p;
}

/* --- removals: paths a commit takes out of the workspace ----------------- */

int
wsfs_stage_remove(struct wsfs_stage *s, const char *path)
{
	struct wspath wp;
	char q[WSFS_QUOTE + 4];
	size_t ncap;
	char **np;
	unsigned char *nd;
	int rc;

	if ((rc = wsfs_stage_ready(s)) != 0)
		return rc;
	if (wsfs_norm(&wp, path, 0) != 0) {
		wspath_quote(q, sizeof(q), path, WSFS_QUOTE);
		return wsfs_stage_fail(s, PETRI_ERR_PATH, "'%s': %s", q,
		    wp.why != NULL ? wp.why : "invalid path");
	}
	if (s->nitems + s->nrms >= WS_MAX_ARCHIVE_ENTRIES)
		return wsfs_stage_fail(s, PETRI_ERR_TOOBIG,
		    "more than %d entries in one upload",
		    WS_MAX_ARCHIVE_ENTRIES);
	if (s->nrms == s->caprms) {
		ncap = s->caprms ? s->caprms * 2 : 64;
		if ((np = reallocarray(s->rms, ncap, sizeof(*np))) == NULL)
			return wsfs_stage_fail(
			    s, PETRI_ERR_NOMEM, "out of memory");
		s->rms = np;
		if ((nd = realloc(s->rmdone, ncap)) == NULL)
			return wsfs_stage_fail(
			    s, PETRI_ERR_NOMEM, "out of memory");
		s->rmdone = nd;
		s->caprms = ncap;
	}
	if ((s->rms[s->nrms] = strdup(wp.path)) == NULL)
		return wsfs_stage_fail(s, PETRI_ERR_NOMEM, "out of memory");
	s->rmdone[s->nrms++] = 0;
	return 0;
}

/*
 * Checks that removal i takes no directory: what is missing already is
 * fine (nothing to remove).
 */
static int
wsfs_stage_rm_check(struct wsfs_stage *s, size_t i)
{
	const char *p = s->rms[i];
	struct stat st;
	int pfd, rc = 0;

	pfd = wsfs_walk(s, s->root_fd, p, wsfs_dirlen(p), 0);
	if (pfd == PETRI_ERR_NOTFOUND)
		return 0;
	if (pfd < 0)
		return s->failed != 0
		    ? s->failed
		    : wsfs_stage_fail(
		          s, pfd, "'%s': cannot reach its directory", p);
	if (fstatat(pfd, wsfs_base(p), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode))
		rc = wsfs_stage_fail(s, PETRI_ERR_EXISTS,
		    "'%s' is a directory in the workspace: only files are "
		    "removed",
		    p);
	close(pfd);
	return rc;
}

/* Moves what each removal names into the stage's gone/ directory. */
static int
wsfs_stage_rm_apply(struct wsfs_stage *s)
{
	struct stat st;
	char name[32];
	const char *p;
	size_t i;
	int pfd, rc = 0;

	if (s->nrms == 0)
		return 0;
	if (mkdirat(s->dir_fd, "gone", 0700) != 0 ||
	    (s->gone_fd = openat(s->dir_fd, "gone",
	         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return wsfs_stage_fail(s, wsfs_err(errno),
		    "cannot prepare the removals: %s", strerror(errno));
	for (i = 0; i < s->nrms && rc == 0; i++) {
		p = s->rms[i];
		(void)snprintf(name, sizeof(name), "r%zu", i);
		if ((pfd = wsfs_walk(NULL, s->root_fd, p, wsfs_dirlen(p), 0)) <
		    0) {
			if (pfd != PETRI_ERR_NOTFOUND)
				rc = wsfs_stage_fail(s, pfd,
				    "'%s': cannot reach its directory", p);
			continue;
		}
		if (renameat2(pfd, wsfs_base(p), s->gone_fd, name,
		        RENAME_NOREPLACE) == 0)
			s->rmdone[i] = 1;
		else if (errno != ENOENT)
			rc = wsfs_stage_fail(s, wsfs_err(errno),
			    "'%s' cannot be removed: %s", p, strerror(errno));
		close(pfd);
		/* a directory swapped in meanwhile is not ours to remove */
		if (rc == 0 && s->rmdone[i] &&
		    fstatat(s->gone_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode))
			rc = wsfs_stage_fail(s, PETRI_ERR_EXISTS,
			    "'%s' is a directory in the workspace: only files "
			    "are removed",
			    p);
	}
	return rc;
}

/* Puts back what wsfs_stage_rm_apply() moved, last first. */
static void
wsfs_stage_rm_undo(struct wsfs_stage *s)
{
	char name[32];
	const char *p;
	size_t i;
	int pfd;

	for (i = s->nrms; i-- > 0;) {
		if (!s->rmdone[i])
			continue;
		p = s->rms[i];
		(void)snprintf(name, sizeof(name), "r%zu", i);
		pfd = wsfs_walk(NULL, s->root_fd, p, wsfs_dirlen(p), 0);
		if (pfd < 0 ||
		    renameat2(s->gone_fd, name, pfd, wsfs_base(p),
		        RENAME_NOREPLACE) != 0) {
			s->keep = 1;
			log_warn("wsfs: cannot put back '%s'", p);
		} else
			s->rmdone[i] = 0;
		if (pfd >= 0)
			close(pfd);
	}
}

/* fsync of the directories removals changed, best effort. */
static void
wsfs_stage_rm_sync(struct wsfs_stage *s)
{
	size_t i;
	int pfd;

	for (i = 0; i < s->nrms; i++) {
		if (!s->rmdone[i] ||
		    (pfd = wsfs_walk(NULL, s->root_fd, s->rms[i],
		         wsfs_dirlen(s->rms[i]), 0)) < 0)
			continue;
		wsfs_sync_dir(pfd);
		close(pfd);
	}
}

/* Sorts by (parent, name): parents before children, siblings together. */
static int
wsfs_item_cmp(const void *a, const void *b)
{
	const struct wsfs_item *x = *(const struct wsfs_item *const *)a;
	const struct wsfs_item *y = *(const struct wsfs_item *const *)b;
	size_t xl = wsfs_dirlen(x->path), yl = wsfs_dirlen(y->path);
	int c;

	if ((c = memcmp(x->path, y->path, xl < yl ? xl : yl)) != 0)
		return c;
	if (xl != yl)
		return xl < yl ? -1 : 1;
	return strcmp(wsfs_base(x->path), wsfs_base(y->path));
}

/* Checks that item it can go into the workspace as it is now. */
static int
wsfs_stage_check(struct wsfs_stage *s, const struct wsfs_item *it)
{
	struct stat st;
	const char *base = wsfs_base(it->path);
	int pfd, rc = 0;

	pfd = wsfs_walk(s, s->root_fd, it->path, wsfs_dirlen(it->path), 0);
	if (pfd == PETRI_ERR_NOTFOUND)
		return 0; /* a parent is missing: all new */
	if (pfd < 0)
		return s->failed != 0
		    ? s->failed
		    : wsfs_stage_fail(
		          s, pfd, "'%s': cannot reach its directory", it->path);
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno != ENOENT)
			rc = wsfs_stage_fail(s, wsfs_err(errno),
			    "'%s' in the workspace: %s", it->path,
			    strerror(errno));
	} else if (it->type == WSFS_DIR && !S_ISDIR(st.st_mode))
		rc = wsfs_stage_fail(s, PETRI_ERR_EXISTS,
		    "'%s' exists in the workspace and is not a directory",
		    it->path);
	else if (it->type != WSFS_DIR && S_ISDIR(st.st_mode))
		rc = wsfs_stage_fail(s, PETRI_ERR_EXISTS,
		    "'%s' is a directory in the workspace: a file cannot "
		    "replace it",
		    it->path);
	close(pfd);
	return rc;
}

/* Waits until the staged file of it is on disk. */
static int
wsfs_stage_flush(struct wsfs_stage *s, const struct wsfs_item *it)
{
	char name[32];
	int fd, rc = 0;

	wsfs_stage_name(s, (size_t)(it - s->items), name);
	if ((fd = openat(s->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) <
	    0)
		return wsfs_stage_fail(
		    s, wsfs_err(errno), "'%s': staged file lost", it->path);
	if (fdatasync(fd) != 0)
		rc = wsfs_stage_fail(s, wsfs_err(errno),
		    "'%s': cannot flush: %s", it->path, strerror(errno));
	close(fd);
	return rc;
}

/*
 * Moves name from the directory srcfd to dstfd under the same name, never
 * over an existing one.  Moving a directory to another parent needs write
 * permission on it (its ".." changes): one the container made read-only
 * gets u+w for the move and its mode back after.
 */
static int
wsfs_move(int srcfd, const char *name, int dstfd)
{
	struct stat st;
	int e;

	if (renameat2(srcfd, name, dstfd, name, RENAME_NOREPLACE) == 0)
		return 0;
	e = errno;
	if (e != EACCES ||
	    fstatat(srcfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISDIR(st.st_mode) || (st.st_mode & 0200) != 0) {
		errno = e;
		return -1;
	}
	if (wsfs_chmod_dir(srcfd, name, (st.st_mode & 07777) | 0700) != 0)
		return -1;
	if (renameat2(srcfd, name, dstfd, name, RENAME_NOREPLACE) != 0) {
		e = errno;
		(void)wsfs_chmod_dir(srcfd, name, st.st_mode & 07777);
		errno = e;
		return -1;
	}
	(void)wsfs_chmod_dir(dstfd, name, st.st_mode & 07777);
	return 0;
}

/*
 * replace: moves every entry of the workspace root but ".petri" into the
 * stage's old/ directory, pass after pass until the root is empty.
 */
static int
wsfs_stage_aside(struct wsfs_stage *s)
{
	struct dirent *de;
	DIR *d = NULL;
	int fd, moved, passes = 0;

	if (mkdirat(s->dir_fd, "old", 0700) != 0 ||
	    (s->old_fd = openat(s->dir_fd, "old",
	         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return wsfs_stage_fail(s, wsfs_err(errno),
		    "cannot prepare the replace: %s", strerror(errno));
	if ((fd = wsfs_openat2(s->root_fd, ".", O_RDONLY | O_DIRECTORY, 0)) < 0)
		return wsfs_stage_fail(s, wsfs_err(errno),
		    "cannot read the workspace: %s", strerror(errno));
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return wsfs_stage_fail(s, PETRI_ERR_NOMEM, "out of memory");
	}
	do {
		moved = 0;
		rewinddir(d);
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0 ||
			    wspath_name_reserved(
			        de->d_name, strlen(de->d_name)))
				continue;
			if (wsfs_move(s->root_fd, de->d_name, s->old_fd) == 0)
				moved = 1;
			else if (errno != ENOENT) {
				closedir(d);
				return wsfs_stage_fail(s, wsfs_err(errno),
				    "cannot empty the workspace: %s",
				    strerror(errno));
			}
		}
	} while (moved && ++passes < WSFS_ASIDE_MAX_PASSES);
	closedir(d);
	if (moved)
		return wsfs_stage_fail(s, PETRI_ERR_STATE,
		    "cannot empty the workspace: it keeps changing");
	return 0;
}

/* Renames (or creates) item it into place, recording how. */
static int
wsfs_stage_place(struct wsfs_stage *s, struct wsfs_item *it)
{
	struct stat st;
	const char *base = wsfs_base(it->path);
	char name[32];
	int pfd, rc = 0;

	if ((pfd = wsfs_walk(
	         s, s->root_fd, it->path, wsfs_dirlen(it->path), 1)) < 0)
		return s->failed != 0
		    ? s->failed
		    : wsfs_stage_fail(
		          s, pfd, "'%s': cannot make its directory", it->path);
	if (it->type == WSFS_DIR) {
		if (mkdirat(pfd, base, 0755) == 0)
			it->done = WSFS_DONE_MKDIR;
		else if (errno != EEXIST ||
		    fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISDIR(st.st_mode))
			rc = wsfs_stage_fail(s, PETRI_ERR_EXISTS,
			    "'%s' exists in the workspace and is not a "
			    "directory",
			    it->path);
		goto out;
	}
	wsfs_stage_name(s, (size_t)(it - s->items), name);
	if (renameat2(s->dir_fd, name, pfd, base, RENAME_NOREPLACE) == 0) {
		it->done = WSFS_DONE_PLACED;
		goto out;
	}
	if (errno != EEXIST) {
		rc = wsfs_stage_fail(s,
		    errno == EINVAL ? PETRI_ERR_UNSUPPORTED : wsfs_err(errno),
		    "'%s' cannot be put in place: %s", it->path,
		    strerror(errno));
		goto out;
	}
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode)) {
		rc = wsfs_stage_fail(s, PETRI_ERR_EXISTS,
		    "'%s' is a directory in the workspace: a file cannot "
		    "replace it",
		    it->path);
		goto out;
	}
	if (renameat2(s->dir_fd, name, pfd, base, RENAME_EXCHANGE) != 0) {
		rc = wsfs_stage_fail(s,
		    errno == EINVAL ? PETRI_ERR_UNSUPPORTED : wsfs_err(errno),
		    "'%s' cannot be replaced: %s", it->path, strerror(errno));
		goto out;
	}
	it->done = WSFS_DONE_SWAPPED;
	/* a directory swapped in meanwhile is not ours to replace */
	if (fstatat(s->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode))
		rc = wsfs_stage_fail(s, PETRI_ERR_EXISTS,
		    "'%s' is a directory in the workspace: a file cannot "
		    "replace it",
		    it->path);
out:
	close(pfd);
	return rc;
}

/* Undoes the first n placed items of order, the directories, replace. */
static void
wsfs_stage_undo(struct wsfs_stage *s, struct wsfs_item **order, size_t n)
{
	struct dirent *de;
	char name[32];
	size_t i;
	int pfd, fd, ok;
	DIR *d;

	for (i = n; i-- > 0;) {
		struct wsfs_item *it = order[i];
		const char *base = wsfs_base(it->path);

		if (it->done == 0)
			continue;
		pfd = wsfs_walk(
		    NULL, s->root_fd, it->path, wsfs_dirlen(it->path), 0);
		wsfs_stage_name(s, (size_t)(it - s->items), name);
		ok = pfd >= 0;
		if (ok && it->done == WSFS_DONE_MKDIR)
			ok = unlinkat(pfd, base, AT_REMOVEDIR) == 0;
		else if (ok && it->done == WSFS_DONE_PLACED)
			ok = renameat2(pfd, base, s->dir_fd, name,
			         RENAME_NOREPLACE) == 0;
		else if (ok && it->done == WSFS_DONE_SWAPPED)
			ok = renameat2(s->dir_fd, name, pfd, base,
			         RENAME_EXCHANGE) == 0;
		if (!ok)
			log_warn("wsfs: cannot undo '%s'", it->path);
		it->done = 0;
		if (pfd >= 0)
			close(pfd);
	}
	wsfs_stage_rm_undo(s);
	for (i = s->nmkdirs; i-- > 0;) {
		const char *p = s->mkdirs[i];

		pfd = wsfs_walk(NULL, s->root_fd, p, wsfs_dirlen(p), 0);
		if (pfd < 0 || unlinkat(pfd, wsfs_base(p), AT_REMOVEDIR) != 0)
			log_warn("wsfs: cannot remove directory '%s'", p);
		if (pfd >= 0)
			close(pfd);
		free(s->mkdirs[i]);
	}
	s->nmkdirs = 0;
	if (s->old_fd < 0)
		return;
	if ((fd = openat(s->old_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
	        0 ||
	    (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		s->keep = 1;
		log_warn("wsfs: cannot restore the replaced workspace");
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (wsfs_move(s->old_fd, de->d_name, s->root_fd) != 0) {
			s->keep = 1;
			log_warn("wsfs: cannot restore '%s': %s", de->d_name,
			    strerror(errno));
		}
	}
	closedir(d);
}

/* fsync of every directory the commit changed, best effort. */
static void
wsfs_stage_sync(
    struct wsfs_stage *s, struct wsfs_item **order, size_t n, int replace)
{
	const char *prev = NULL, *p;
	size_t i, len, prevlen = 0;
	int pfd;

	for (i = 0; i < n + s->nmkdirs; i++) {
		p = i < n ? order[i]->path : s->mkdirs[i - n];
		len = wsfs_dirlen(p);
		if (prev != NULL && len == prevlen && memcmp(p, prev, len) == 0)
			continue;
		prev = p;
		prevlen = len;
		if ((pfd = wsfs_walk(NULL, s->root_fd, p, len, 0)) >= 0) {
			wsfs_sync_dir(pfd);
			close(pfd);
		}
	}
	if (replace)
		wsfs_sync_dir(s->root_fd);
}

int
wsfs_stage_commit(struct wsfs_stage *s, int replace)
{
	struct wsfs_item **order = NULL;
	size_t n = 0, i, done = 0;
	int rc;

	if ((rc = wsfs_stage_ready(s)) != 0)
		return rc;
	if ((order = reallocarray(NULL, s->nitems + 1, sizeof(*order))) == NULL)
		return wsfs_stage_fail(s, PETRI_ERR_NOMEM, "out of memory");
	for (i = 0; i < s->nitems; i++)
		if (s->items[i].live)
			order[n++] = &s->items[i];
	qsort(order, n, sizeof(*order), wsfs_item_cmp);

	/* 1. nothing changes until every target was checked and flushed */
	for (i = 0; i < n && !replace; i++)
		if ((rc = wsfs_stage_check(s, order[i])) != 0)
			goto out;
	for (i = 0; i < s->nrms && !replace; i++)
		if ((rc = wsfs_stage_rm_check(s, i)) != 0)
			goto out;
	for (i = 0; i < n; i++)
		if (order[i]->type == WSFS_FILE &&
		    (rc = wsfs_stage_flush(s, order[i])) != 0)
			goto out;

	/* 2. the rename phase, undone on any failure */
	if (replace && (rc = wsfs_stage_aside(s)) != 0)
		goto undo;
	if ((rc = wsfs_stage_rm_apply(s)) != 0)
		goto undo;
	for (done = 0; done < n; done++)
		if ((rc = wsfs_stage_place(s, order[done])) != 0)
			goto undo;
	wsfs_stage_sync(s, order, n, replace);
	wsfs_stage_rm_sync(s);
	s->committed = 1;
	rc = 0;
	goto out;
undo:
	wsfs_stage_undo(s, order, n);
out:
	free(order);
	return rc;
}
