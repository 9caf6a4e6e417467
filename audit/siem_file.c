/*
 * siem_file.c: the file transport: one event per line appended to path
 * (O_APPEND, mode from the configuration), rotated by size: when the next
 * line would take the file past rotate_bytes, path.(k) becomes path.(k+1)
 * for k = keep-1..1 (path.keep is dropped), path becomes path.1 and a new
 * path is started; the directory is synced after the renames.  A batch
 * is split on line boundaries, so a file exceeds rotate_bytes only when
 * one line alone is longer.  With fsync on
 * (the default) a batch is on disk (fdatasync) before the cursor moves, so
 * a host crash loses no line; off, lines are in the page cache only.
 * A failed write is cut back (ftruncate) so no half line stays behind.
 * A file renamed or removed by someone else (logrotate) is noticed at
 * the next batch and a new one started.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "siem_int.h"
#include "util.h"

struct file_tp {
	int fd;
	uint64_t size;
	dev_t dev;
	ino_t ino;
};

static int
file_open(struct siem_sink *sk, char *err, size_t errlen)
{
	struct file_tp *t = sk->tpdata;
	struct stat st;
	int fd;

	fd = open(sk->cfg.path,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
	    sk->cfg.mode);
	if (fd < 0) {
		jsonv_err_set(
		    err, errlen, "open %s: %s", sk->cfg.path, strerror(errno));
		return PETRI_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    fchmod(fd, (mode_t)sk->cfg.mode) != 0) {
		jsonv_err_set(
		    err, errlen, "%s: not a regular file I own", sk->cfg.path);
		close(fd);
		return PETRI_ERR_IO;
	}
	t->fd = fd;
	t->size = (uint64_t)st.st_size;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	return 0;
}

static void
file_close(struct file_tp *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static void
dir_sync(const char *path)
{
	char dir[PATH_MAX];
	int dfd;

	if (petri_strlcpy(dir, path, sizeof(dir)) >= sizeof(dir))
		return;
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >=
	    0) {
		(void)fsync(dfd);
		close(dfd);
	}
}

static int
file_rotate(struct siem_sink *sk, char *err, size_t errlen)
{
	struct file_tp *t = sk->tpdata;
	char from[PATH_MAX], to[PATH_MAX];
	int k;

	if (sk->cfg.fsync && fdatasync(t->fd) != 0) {
		jsonv_err_set(
		    err, errlen, "fsync %s: %s", sk->cfg.path, strerror(errno));
		return PETRI_ERR_IO;
	}
	file_close(t);
	for (k = sk->cfg.rotate_keep - 1; k >= 1; k--) {
		snprintf(from, sizeof(from), "%s.%d", sk->cfg.path, k);
		snprintf(to, sizeof(to), "%s.%d", sk->cfg.path, k + 1);
		if (rename(from, to) != 0 && errno != ENOENT) {
			jsonv_err_set(err, errlen, "rotate %s: %s", from,
			    strerror(errno));
			return PETRI_ERR_IO;
		}
	}
	snprintf(to, sizeof(to), "%s.1", sk->cfg.path);
	if (rename(sk->cfg.path, to) != 0 && errno != ENOENT) {
		jsonv_err_set(err, errlen, "rotate %s: %s", sk->cfg.path,
		    strerror(errno));
		return PETRI_ERR_IO;
	}
	dir_sync(sk->cfg.path);
	return file_open(sk, err, errlen);
}

/* Reopens when the file was renamed or removed behind our back. */
static int
file_check(struct siem_sink *sk, char *err, size_t errlen)
{
	struct file_tp *t = sk->tpdata;
	struct stat st;

	if (t->fd >= 0 && stat(sk->cfg.path, &st) == 0 && st.st_dev == t->dev &&
	    st.st_ino == t->ino)
		return 0;
	file_close(t);
	return file_open(sk, err, errlen);
}

/*
 * The longest prefix of p[0..len) made of whole lines that fits in room
 * bytes; at least one line when first is set (a line longer than the
 * room alone in a fresh file).
 */
static size_t
lines_fitting(const unsigned char *p, size_t len, uint64_t room, int first)
{
	const unsigned char *nl;
	size_t n = 0, end;

	while (n < len) {
		nl = memchr(p + n, '\n', len - n);
		end = nl != NULL ? (size_t)(nl - p) + 1 : len;
		if (end > room && !(first && n == 0))
			break;
		n = end;
	}
	return n;
}

static int
file_send(struct siem_sink *sk, const unsigned char *p, size_t len,
    uint64_t first, size_t count, char *err, size_t errlen)
{
	struct file_tp *t = sk->tpdata;
	uint64_t max = sk->cfg.rotate_bytes;
	size_t off = 0, n;
	int r;

	(void)first;
	(void)count;
	if ((r = file_check(sk, err, errlen)) != 0)
		return r;
	while (off < len) {
		/* whole lines up to rotate_bytes; then a new file */
		n = max == 0
		    ? len - off
		    : lines_fitting(p + off, len - off,
		          t->size < max ? max - t->size : 0, t->size == 0);
		if (n == 0) {
			if ((r = file_rotate(sk, err, errlen)) != 0)
				return r;
			continue;
		}
		if (petri_write_all(t->fd, p + off, n) != 0 ||
		    (sk->cfg.fsync && fdatasync(t->fd) != 0)) {
			jsonv_err_set(err, errlen, "write %s: %s", sk->cfg.path,
			    strerror(errno));
			/* no half line: cut back to what was there */
			if (ftruncate(t->fd, (off_t)t->size) != 0)
				file_close(t);
			return PETRI_ERR_IO;
		}
		t->size += n;
		off += n;
	}
	return 0;
}

static int
file_init(struct siem_sink *sk, char *err, size_t errlen)
{
	struct file_tp *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return PETRI_ERR_NOMEM;
	t->fd = -1;
	sk->tpdata = t;
	return file_open(sk, err, errlen);
}

static void
file_fini(struct siem_sink *sk)
{
	struct file_tp *t = sk->tpdata;

	if (t == NULL)
		return;
	file_close(t);
	free(t);
	sk->tpdata = NULL;
}

const struct siem_transport siem_file_transport = {
    file_init,
    file_send,
    NULL,
    file_fini,
};
