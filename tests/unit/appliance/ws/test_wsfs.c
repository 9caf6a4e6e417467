/*
 * test_wsfs.c: workspace file operations in a temporary directory.
 *
 * Layout: <base>/ws is the workspace, <base>/staging the staging area,
 * <base>/sb_other another sandbox's workspace holding a secret.  "The
 * container" is this test calling mkdir/symlink/mkfifo/chmod directly in
 * ws.  Permission cases run in a child that drops to uid 65534 when the
 * test runs as root (root ignores mode 000).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "unit.h"
#include "util.h"
#include "upload_archive.h"
#include "wsfs.h"

#define SECRET "TOP SECRET of sb_other\n"
#define NOBODY 65534

struct env {
	char base[64];
	int base_fd;
	int ws; /* workspace root fd */
	int staging; /* staging dir fd */
	int other; /* sb_other fd */
};

static int
put(int dfd, const char *path, const char *data)
{
	int fd =
	    openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	if (petri_write_all(fd, data, strlen(data)) != 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Reads a file of the test's own (no policy), "" when absent. */
static const char *
get(int dfd, const char *path)
{
	static char buf[4096];
	ssize_t n;
	int fd = openat(dfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

static int
exists(int dfd, const char *path)
{
	struct stat st;

	return fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int
env_new(struct env *e)
{
	memset(e, 0, sizeof(*e));
	e->base_fd = e->ws = e->staging = e->other = -1;
	petri_strlcpy(e->base, "/tmp/petri-wsfs-XXXXXX", sizeof(e->base));
	if (mkdtemp(e->base) == NULL)
		return -1;
	if ((e->base_fd = open(e->base, O_RDONLY | O_DIRECTORY)) < 0 ||
	    mkdirat(e->base_fd, "ws", 0755) != 0 ||
	    mkdirat(e->base_fd, "staging", 0700) != 0 ||
	    mkdirat(e->base_fd, "sb_other", 0755) != 0)
		return -1;
	e->ws = openat(e->base_fd, "ws", O_RDONLY | O_DIRECTORY);
	e->staging = openat(e->base_fd, "staging", O_RDONLY | O_DIRECTORY);
	e->other = openat(e->base_fd, "sb_other", O_RDONLY | O_DIRECTORY);
	if (e->ws < 0 || e->staging < 0 || e->other < 0)
		return -1;
	return put(e->other, "secret", SECRET);
}

static void
env_free(struct env *e)
{
	int tmp;

	if (e->ws >= 0)
		close(e->ws);
	if (e->staging >= 0)
		close(e->staging);
	if (e->other >= 0)
		close(e->other);
	if (e->base_fd >= 0)
		close(e->base_fd);
	if ((tmp = open("/tmp", O_RDONLY | O_DIRECTORY)) >= 0) {
		if (wsfs_remove_tree(tmp, e->base + 5) != 0)
			fprintf(stderr, "cannot remove %s\n", e->base);
		close(tmp);
	}
}

/* Entries in a directory, "." and ".." not counted. */
static int
count_dir(int dfd, const char *path)
{
	DIR *d;
	struct dirent *de;
	int fd, n = 0;

	if ((fd = openat(dfd, path, O_RDONLY | O_DIRECTORY)) < 0)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* A listing kept by the callback. */
struct listing {
	int n;
	int stop_at; /* return an error at this entry (when > 0) */
	int max_depth;
	struct {
		char path[WS_MAX_PATH + 1];
		enum wsfs_type type;
		uint64_t size;
		int has_sha;
		char sha[PETRI_SHA256_HEX];
		char mtime[PETRI_TIME_MAX];
	} e[64];
	struct buf all; /* "path type sha\n" of every entry */
};

static int
keep(void *arg, const struct wsfs_entry *e)
{
	struct listing *l = arg;
	int i, depth = 1;
	const char *p;

	if (l->stop_at > 0 && l->n + 1 == l->stop_at)
		return PETRI_ERR_LIMIT;
	for (p = e->path; *p != '\0'; p++)
		depth += *p == '/';
	if (depth > l->max_depth)
		l->max_depth = depth;
	if (l->all.max != 0 &&
	    buf_printf(&l->all, "%s %d %s\n", e->path, (int)e->type,
	        e->has_sha256 ? e->sha256 : "-") != 0)
		return PETRI_ERR_NOMEM;
	if (l->n < (int)(sizeof(l->e) / sizeof(l->e[0]))) {
		i = l->n;
		petri_strlcpy(l->e[i].path, e->path, sizeof(l->e[i].path));
		l->e[i].type = e->type;
		l->e[i].size = e->size;
		l->e[i].has_sha = e->has_sha256;
		petri_strlcpy(l->e[i].sha, e->sha256, sizeof(l->e[i].sha));
		petri_strlcpy(l->e[i].mtime, e->mtime, sizeof(l->e[i].mtime));
	}
	l->n++;
	return 0;
}

static int
lfind(const struct listing *l, const char *path)
{
	int i;

	for (i = 0; i < l->n && i < (int)(sizeof(l->e) / sizeof(l->e[0])); i++)
		if (strcmp(l->e[i].path, path) == 0)
			return i;
	return -1;
}

/* A snapshot of the whole workspace (paths, types, hashes), sorted. */
static int
cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
snapshot(int ws)
{
	struct listing *l = calloc(1, sizeof(*l));
	char *lines[512], *s, *p, *out;
	size_t n = 0, i, len;

	buf_init(&l->all, 1 << 20);
	if (wsfs_list(ws, "", WSFS_LIST_RECURSIVE, keep, l, NULL) < 0 ||
	    (s = buf_cstr(&l->all)) == NULL) {
		buf_free(&l->all);
		free(l);
		return strdup("error");
	}
	for (p = strtok_r(s, "\n", &out); p != NULL && n < 512;
	     p = strtok_r(NULL, "\n", &out))
		lines[n++] = p;
	qsort(lines, n, sizeof(lines[0]), cmp_lines);
	len = 1;
	for (i = 0; i < n; i++)
		len += strlen(lines[i]) + 1;
	out = calloc(1, len);
	for (i = 0, p = out; i < n; i++)
		p += snprintf(p, len - (size_t)(p - out), "%s\n", lines[i]);
	buf_free(&l->all);
	free(l);
	return out;
}

static void
test_write_read(void)
{
	struct env e;
	struct buf b;
	struct stat st;
	int fd;

	CHECK_EQ(env_new(&e), 0);
	CHECK_EQ(wsfs_write(e.ws, "a.txt", "hello", 5, 0644), 0);
	CHECK_EQ(wsfs_read(e.ws, "a.txt", 100, &b), 0);
	CHECK(b.len == 5 && memcmp(b.data, "hello", 5) == 0);
	buf_free(&b);
	/* overwrite, parents, modes */
	CHECK_EQ(wsfs_write(e.ws, "a.txt", "bye", 3, 0600), 0);
	CHECK_STR(get(e.ws, "a.txt"), "bye");
	CHECK_EQ(
	    wsfs_write(e.ws, "deep/er/run.sh", "#!/bin/sh\n", 10, 0700), 0);
	CHECK(fstatat(e.ws, "deep/er/run.sh", &st, 0) == 0 &&
	    (st.st_mode & 07777) == 0755);
	CHECK(fstatat(e.ws, "a.txt", &st, 0) == 0 &&
	    (st.st_mode & 07777) == 0644);
	CHECK_EQ(wsfs_write(e.ws, "/sandbox/c.txt", "c", 1, 0644), 0);
	CHECK_STR(get(e.ws, "c.txt"), "c");
	CHECK_EQ(wsfs_write(e.ws, "empty", NULL, 0, 0644), 0);
	CHECK(exists(e.ws, "empty"));
	/* refused */
	CHECK_EQ(wsfs_write(e.ws, "../escape", "x", 1, 0644), PETRI_ERR_PATH);
	CHECK(!exists(e.base_fd, "escape"));
	CHECK_EQ(wsfs_write(e.ws, ".petri/x", "x", 1, 0644), PETRI_ERR_PATH);
	CHECK_EQ(wsfs_write(e.ws, "", "x", 1, 0644), PETRI_ERR_PATH);
	CHECK_EQ(wsfs_write(e.ws, "dir/", "x", 1, 0644), PETRI_ERR_PATH);
	CHECK_EQ(wsfs_write(e.ws, "deep", "x", 1, 0644), PETRI_ERR_EXISTS);
	CHECK_EQ(wsfs_write(e.ws, "a.txt/x", "x", 1, 0644), PETRI_ERR_PATH);
	CHECK_EQ(wsfs_write(e.ws, "big", "x", WS_MAX_FILE + 1, 0644),
	    PETRI_ERR_TOOBIG);
	CHECK_EQ(wsfs_write(e.ws, NULL, "x", 1, 0644), PETRI_ERR_INVAL);
	/* reads */
	CHECK_EQ(wsfs_read(e.ws, "nope", 100, &b), PETRI_ERR_NOTFOUND);
	buf_free(&b);
	CHECK_EQ(wsfs_read(e.ws, "deep", 100, &b), PETRI_ERR_INVAL);
	buf_free(&b);
	CHECK_EQ(wsfs_read(e.ws, "a.txt", 2, &b), PETRI_ERR_TOOBIG);
	CHECK_EQ(b.len, 0);
	buf_free(&b);
	CHECK_EQ(wsfs_read(e.ws, "a.txt", 3, &b), 0);
	buf_free(&b);
	CHECK_EQ(wsfs_read(e.ws, "a.txt/x", 3, &b), PETRI_ERR_PATH);
	buf_free(&b);
	CHECK_EQ(
	    wsfs_read(e.ws, "../sb_other/secret", 100, &b), PETRI_ERR_PATH);
	buf_free(&b);
	CHECK_EQ(wsfs_open_file(e.ws, "deep/er/run.sh", &fd, &st), 0);
	CHECK(fd >= 0 && st.st_size == 10);
	if (fd >= 0)
		close(fd);
	/* no temporary file left behind */
	CHECK_EQ(count_dir(e.ws, "."), 4); /* a.txt deep c.txt empty */
	CHECK_EQ(count_dir(e.ws, "deep/er"), 1);
	env_free(&e);
}

static void
test_symlinks_not_followed(void)
{
	struct listing *l = calloc(1, sizeof(*l));
	struct wsfs_stage *s = NULL;
	struct env e;
	struct buf b;
	struct stat st;
	char *before, *after;
	int i, fd;

	CHECK_EQ(env_new(&e), 0);
	CHECK_EQ(put(e.ws, "a.txt", "mine"), 0);
	/* the container plants links */
	CHECK_EQ(symlinkat("../sb_other", e.ws, "evil"), 0);
	CHECK_EQ(symlinkat("../sb_other/secret", e.ws, "evilf"), 0);
	CHECK_EQ(symlinkat("/etc", e.ws, "abs"), 0);
	CHECK_EQ(symlinkat("a.txt", e.ws, "inner"), 0);
	CHECK_EQ(mkdirat(e.ws, "d", 0755), 0);
	CHECK_EQ(symlinkat(".", e.ws, "d/loop"), 0);

	/* reading through or at a link: refused, even inside */
	CHECK_EQ(wsfs_read(e.ws, "evilf", 100, &b), PETRI_ERR_PATH);
	buf_free(&b);
	CHECK_EQ(wsfs_read(e.ws, "evil/secret", 100, &b), PETRI_ERR_PATH);
	buf_free(&b);
	CHECK_EQ(wsfs_read(e.ws, "abs/passwd", 100, &b), PETRI_ERR_PATH);
	buf_free(&b);
	CHECK_EQ(wsfs_read(e.ws, "inner", 100, &b), PETRI_ERR_PATH);
	buf_free(&b);
	CHECK_EQ(wsfs_read(e.ws, "d/loop/loop/a", 100, &b), PETRI_ERR_PATH);
	buf_free(&b);
	CHECK_EQ(wsfs_open_file(e.ws, "evilf", &fd, &st), PETRI_ERR_PATH);
	CHECK_EQ(fd, -1);

	/* writing through a link: refused; at a link: the link goes */
	CHECK_EQ(wsfs_write(e.ws, "evil/x", "pwn", 3, 0644), PETRI_ERR_PATH);
	CHECK(!exists(e.other, "x"));
	CHECK_EQ(wsfs_write(e.ws, "abs/x", "pwn", 3, 0644), PETRI_ERR_PATH);
	CHECK_EQ(wsfs_write(e.ws, "evilf", "replaced", 8, 0644), 0);
	CHECK_STR(get(e.other, "secret"), SECRET);
	CHECK(fstatat(e.ws, "evilf", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode));

	/* listing shows links as links and never walks into them */
	CHECK(wsfs_list(e.ws, "", WSFS_LIST_RECURSIVE, keep, l, NULL) > 0);
	CHECK((i = lfind(l, "evil")) >= 0);
	if (i >= 0)
		CHECK_EQ(l->e[i].type, WSFS_SYMLINK);
	CHECK((i = lfind(l, "abs")) >= 0);
	if (i >= 0)
		CHECK(l->e[i].type == WSFS_SYMLINK && !l->e[i].has_sha);
	CHECK((i = lfind(l, "d/loop")) >= 0);
	CHECK_EQ(lfind(l, "evil/secret"), -1);
	CHECK_EQ(lfind(l, "d/loop/loop"), -1);
	for (i = 0; i < l->n; i++)
		CHECK(strstr(l->e[i].path, "secret") == NULL);
	memset(l, 0, sizeof(*l));
	CHECK_EQ(
	    wsfs_list(e.ws, "evil", WSFS_LIST_RECURSIVE, keep, l, NULL), 1);
	CHECK_EQ(l->e[0].type, WSFS_SYMLINK);
	CHECK_EQ(wsfs_list(e.ws, "evil/", 0, keep, l, NULL), 1);
	CHECK_EQ(wsfs_list(e.ws, "abs/", 0, NULL, NULL, NULL), 1);
	CHECK_EQ(wsfs_list(e.ws, "evil/secret", 0, NULL, NULL, NULL),
	    PETRI_ERR_PATH);

	/* a staged upload through a link fails, and changes nothing */
	before = snapshot(e.ws);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file(s, "evil/planted", 0644, "x", 1), 0);
	CHECK_EQ(wsfs_stage_commit(s, 0), PETRI_ERR_PATH);
	CHECK(strstr(wsfs_stage_error(s), "'evil'") != NULL);
	CHECK(strstr(wsfs_stage_error(s), "symbolic link") != NULL);
	wsfs_stage_free(s);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file(s, "abs/passwd", 0644, "x", 1), 0);
	CHECK_EQ(wsfs_stage_commit(s, 0), PETRI_ERR_PATH);
	wsfs_stage_free(s);
	after = snapshot(e.ws);
	CHECK_STR(before, after);
	CHECK(!exists(e.other, "planted"));
	free(before);
	free(after);

	/* deleting: the link, never what it points at */
	CHECK_EQ(wsfs_delete(e.ws, "evil/secret"), PETRI_ERR_PATH);
	CHECK_EQ(wsfs_delete(e.ws, "evil"), 0);
	CHECK_EQ(wsfs_delete(e.ws, "abs/"), 0);
	CHECK(!exists(e.ws, "evil"));
	CHECK_STR(get(e.other, "secret"), SECRET);
	/* removing a workspace with links out leaves the targets */
	CHECK_EQ(symlinkat("../sb_other", e.ws, "evil2"), 0);
	CHECK_EQ(symlinkat("../../sb_other/secret", e.ws, "d/evil3"), 0);
	CHECK_EQ(wsfs_remove_tree(e.base_fd, "ws"), 0);
	CHECK(!exists(e.base_fd, "ws"));
	CHECK_STR(get(e.other, "secret"), SECRET);
	CHECK_EQ(count_dir(e.other, "."), 1);
	free(l);
	env_free(&e);
}

static void
on_alarm(int sig)
{
	(void)sig;
	fprintf(stderr, "blocked on a fifo\n");
	_exit(2);
}

static void
test_fifo_and_socket(void)
{
	struct listing *l = calloc(1, sizeof(*l));
	struct sockaddr_un sun;
	struct wsfs_stage *s = NULL;
	struct env e;
	struct buf b;
	struct stat st;
	int i, fd, sock;

	CHECK_EQ(env_new(&e), 0);
	signal(SIGALRM, on_alarm);
	alarm(20);
	CHECK_EQ(mkfifoat(e.ws, "pipe", 0644), 0);
	CHECK_EQ(wsfs_read(e.ws, "pipe", 100, &b), PETRI_ERR_INVAL);
	buf_free(&b);
	CHECK_EQ(wsfs_open_file(e.ws, "pipe", &fd, &st), PETRI_ERR_INVAL);
	/* a unix socket */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/ws/sock", e.base);
	CHECK((sock = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	CHECK_EQ(bind(sock, (struct sockaddr *)&sun, sizeof(sun)), 0);
	CHECK_EQ(wsfs_read(e.ws, "sock", 100, &b), PETRI_ERR_INVAL);
	buf_free(&b);
	CHECK(wsfs_list(e.ws, "", WSFS_LIST_RECURSIVE, keep, l, NULL) == 2);
	CHECK((i = lfind(l, "pipe")) >= 0);
	if (i >= 0)
		CHECK_EQ(l->e[i].type, WSFS_OTHER);
	CHECK((i = lfind(l, "sock")) >= 0);
	if (i >= 0)
		CHECK_EQ(l->e[i].type, WSFS_OTHER);
	/* an upload replaces a fifo without opening it */
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file(s, "pipe", 0644, "data", 4), 0);
	CHECK_EQ(wsfs_stage_commit(s, 0), 0);
	wsfs_stage_free(s);
	CHECK_STR(get(e.ws, "pipe"), "data");
	CHECK_EQ(wsfs_write(e.ws, "sock", "s", 1, 0644), 0);
	CHECK_EQ(mkfifoat(e.ws, "pipe2", 0644), 0);
	CHECK_EQ(wsfs_delete(e.ws, "pipe2"), 0);
	alarm(0);
	close(sock);
	free(l);
	env_free(&e);
}

/* A directory "many" of WS_MAX_LIST_ENTRIES + 1 files; returns its fd. */
static int
many_files(char *dir, size_t n)
{
	char name[32];
	int base, fd, f, i;

	petri_strlcpy(dir, "/dev/shm/petri-wsfs-XXXXXX", n);
	if (mkdtemp(dir) == NULL) {
		petri_strlcpy(dir, "/tmp/petri-wsfs-XXXXXX", n);
		if (mkdtemp(dir) == NULL)
			return -1;
	}
	if ((base = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		return -1;
	if (mkdirat(base, "many", 0755) != 0 ||
	    (fd = openat(base, "many", O_RDONLY | O_DIRECTORY)) < 0) {
		close(base);
		return -1;
	}
	close(base);
	for (i = 0; i <= WS_MAX_LIST_ENTRIES; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		if ((f = openat(fd, name, O_WRONLY | O_CREAT, 0644)) < 0)
			break;
		close(f);
	}
	return fd;
}

static void
test_list(void)
{
	struct listing *l = calloc(1, sizeof(*l));
	struct timespec ts[2];
	char sha[PETRI_SHA256_HEX], many[64];
	struct env e;
	int64_t usec;
	int i, j, trunc, fd;

	CHECK_EQ(env_new(&e), 0);
	CHECK_EQ(put(e.ws, "a.txt", "hello"), 0);
	CHECK_EQ(mkdirat(e.ws, "src", 0755), 0);
	CHECK_EQ(put(e.ws, "src/main.py", "print(1)\n"), 0);
	CHECK_EQ(mkdirat(e.ws, "src/pkg", 0755), 0);
	CHECK_EQ(put(e.ws, "src/pkg/x.py", ""), 0);
	CHECK_EQ(mkdirat(e.ws, "e", 0755), 0);
	CHECK_EQ(mkdirat(e.ws, ".petri", 0700), 0);
	CHECK_EQ(put(e.ws, ".petri/state", "meta"), 0);
	CHECK_EQ(put(e.ws, "src/.PETRI", "hidden too"), 0);

	CHECK_EQ(wsfs_list(e.ws, "", 0, keep, l, &trunc), 3);
	CHECK_EQ(trunc, 0);
	memset(l, 0, sizeof(*l));
	CHECK_EQ(
	    wsfs_list(e.ws, "/sandbox/", WSFS_LIST_RECURSIVE, keep, l, &trunc),
	    6);
	CHECK_EQ(trunc, 0);
	CHECK((i = lfind(l, "a.txt")) >= 0);
	if (i >= 0) {
		petri_sha256_hex("hello", 5, sha);
		CHECK_EQ(l->e[i].type, WSFS_FILE);
		CHECK_EQ(l->e[i].size, 5);
		CHECK(l->e[i].has_sha);
		CHECK_STR(l->e[i].sha, sha);
		CHECK_EQ(strlen(l->e[i].mtime), 27);
		CHECK_EQ(l->e[i].mtime[26], 'Z');
	}
	CHECK((i = lfind(l, "src")) >= 0);
	CHECK((j = lfind(l, "src/pkg/x.py")) >= 0);
	CHECK(i >= 0 && j > i); /* a directory before its contents */
	if (i >= 0)
		CHECK(l->e[i].type == WSFS_DIR && !l->e[i].has_sha);
	CHECK_EQ(lfind(l, ".petri"), -1);
	CHECK_EQ(lfind(l, ".petri/state"), -1);
	CHECK_EQ(lfind(l, "src/.PETRI"), -1);
	/* a sub-directory, a single file */
	memset(l, 0, sizeof(*l));
	CHECK_EQ(wsfs_list(e.ws, "src", 0, keep, l, NULL), 2);
	CHECK(lfind(l, "src/main.py") >= 0 && lfind(l, "src/pkg") >= 0);
	memset(l, 0, sizeof(*l));
	CHECK_EQ(
	    wsfs_list(e.ws, "src/main.py", WSFS_LIST_RECURSIVE, keep, l, NULL),
	    1);
	CHECK_STR(l->e[0].path, "src/main.py");
	CHECK_EQ(
	    wsfs_list(e.ws, "nope", 0, NULL, NULL, NULL), PETRI_ERR_NOTFOUND);
	CHECK_EQ(wsfs_list(e.ws, "../ws", 0, NULL, NULL, NULL), PETRI_ERR_PATH);
	CHECK_EQ(
	    wsfs_list(e.ws, ".petri", 0, NULL, NULL, NULL), PETRI_ERR_PATH);
	/* the callback can stop it */
	memset(l, 0, sizeof(*l));
	l->stop_at = 2;
	CHECK_EQ(wsfs_list(e.ws, "", WSFS_LIST_RECURSIVE, keep, l, NULL),
	    PETRI_ERR_LIMIT);

	/* names wspath refuses are skipped and flagged */
	CHECK_EQ(put(e.ws, "bad\nname", "x"), 0);
	CHECK_EQ(put(e.ws, "back\\slash", "x"), 0);
	CHECK_EQ(put(e.ws, "bad\xff", "x"), 0);
	memset(l, 0, sizeof(*l));
	CHECK_EQ(wsfs_list(e.ws, "", 0, keep, l, &trunc), 3);
	CHECK_EQ(trunc, 1);

	/* odd mtimes do not break the format */
	CHECK_EQ(put(e.ws, "e/old", "x"), 0);
	CHECK_EQ(put(e.ws, "e/future", "x"), 0);
	ts[0].tv_sec = ts[1].tv_sec = -1000000;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	CHECK_EQ(utimensat(e.ws, "e/old", ts, 0), 0);
	ts[0].tv_sec = ts[1].tv_sec = (time_t)1 << 40;
	CHECK_EQ(utimensat(e.ws, "e/future", ts, 0), 0);
	memset(l, 0, sizeof(*l));
	CHECK_EQ(wsfs_list(e.ws, "e", 0, keep, l, NULL), 2);
	CHECK((i = lfind(l, "e/old")) >= 0);
	if (i >= 0)
		CHECK_STR(l->e[i].mtime, "1970-01-01T00:00:00.000000Z");
	CHECK((i = lfind(l, "e/future")) >= 0);
	if (i >= 0) /* what the file system keeps, within 0000..9999 */
		CHECK(strlen(l->e[i].mtime) == 27 &&
		    petri_time_parse(l->e[i].mtime, &usec) == 0 && usec > 0);

	/* a file past WS_MAX_FILE has no hash (sparse, costs nothing) */
	CHECK((fd = openat(e.ws, "e/huge", O_WRONLY | O_CREAT, 0644)) >= 0);
	CHECK_EQ(ftruncate(fd, (off_t)WS_MAX_FILE + 1), 0);
	close(fd);
	memset(l, 0, sizeof(*l));
	CHECK_EQ(wsfs_list(e.ws, "e/huge", 0, keep, l, NULL), 1);
	CHECK(!l->e[0].has_sha && l->e[0].size == WS_MAX_FILE + 1);

	/* deeper than WS_MAX_DEPTH: flagged, not listed */
	CHECK((fd = dup(e.ws)) >= 0);
	for (i = 0; i < WS_MAX_DEPTH + 6; i++) {
		int nfd;

		CHECK_EQ(mkdirat(fd, "z", 0755), 0);
		nfd = openat(fd, "z", O_RDONLY | O_DIRECTORY);
		close(fd);
		fd = nfd;
	}
	close(fd);
	memset(l, 0, sizeof(*l));
	CHECK(wsfs_list(e.ws, "z", WSFS_LIST_RECURSIVE, keep, l, &trunc) > 0);
	CHECK_EQ(trunc, 1);
	CHECK_EQ(l->max_depth, WS_MAX_DEPTH);

	/*
	 * At most WS_MAX_LIST_ENTRIES.  10001 files cost seconds to create
	 * on a journaling disk: tmpfs when there is one.
	 */
	CHECK((fd = many_files(many, sizeof(many))) >= 0);
	CHECK_EQ(wsfs_list(fd, "", 0, NULL, NULL, &trunc), WS_MAX_LIST_ENTRIES);
	CHECK_EQ(trunc, 1);
	CHECK_EQ(wsfs_list(fd, "", WSFS_LIST_RECURSIVE, NULL, NULL, &trunc),
	    WS_MAX_LIST_ENTRIES);
	close(fd);
	if ((fd = open(many, O_RDONLY | O_DIRECTORY)) >= 0) {
		CHECK_EQ(wsfs_remove_tree(fd, "many"), 0);
		close(fd);
	}
	CHECK_EQ(rmdir(many), 0);
	free(l);
	env_free(&e);
}

static void
test_delete(void)
{
	struct env e;

	CHECK_EQ(env_new(&e), 0);
	CHECK_EQ(put(e.ws, "f", "x"), 0);
	CHECK_EQ(mkdirat(e.ws, "d", 0755), 0);
	CHECK_EQ(mkdirat(e.ws, "d/e", 0755), 0);
	CHECK_EQ(put(e.ws, "d/e/g", "x"), 0);
	CHECK_EQ(mkdirat(e.ws, ".petri", 0755), 0);
	CHECK_EQ(wsfs_delete(e.ws, "f"), 0);
	CHECK(!exists(e.ws, "f"));
	CHECK_EQ(wsfs_delete(e.ws, "f"), PETRI_ERR_NOTFOUND);
	CHECK_EQ(wsfs_delete(e.ws, "/sandbox/d/"), 0);
	CHECK(!exists(e.ws, "d"));
	CHECK_EQ(wsfs_delete(e.ws, ""), PETRI_ERR_PATH);
	CHECK_EQ(wsfs_delete(e.ws, "/sandbox"), PETRI_ERR_PATH);
	CHECK_EQ(wsfs_delete(e.ws, ".petri"), PETRI_ERR_PATH);
	CHECK_EQ(wsfs_delete(e.ws, "../sb_other"), PETRI_ERR_PATH);
	CHECK_EQ(wsfs_delete(e.ws, "nope/x"), PETRI_ERR_NOTFOUND);
	CHECK(exists(e.ws, ".petri"));
	CHECK(exists(e.other, "secret"));
	CHECK_EQ(wsfs_remove_tree(e.base_fd, "../x"), PETRI_ERR_PATH);
	CHECK_EQ(wsfs_remove_tree(e.base_fd, ".."), PETRI_ERR_PATH);
	CHECK_EQ(wsfs_remove_tree(e.base_fd, ""), PETRI_ERR_PATH);
	CHECK_EQ(wsfs_remove_tree(e.base_fd, "nope"), PETRI_ERR_NOTFOUND);
	env_free(&e);
}

static int
entries_cb(void *arg, const struct wsfs_entry *e)
{
	struct listing *l = arg;

	return keep(l, e);
}

static void
test_commit(void)
{
	static const char main_py[] = "print('main')\n";
	struct listing *l = calloc(1, sizeof(*l));
	struct wsfs_stage *s = NULL;
	char sha[PETRI_SHA256_HEX], target[64];
	struct env e;
	struct stat st;
	ssize_t n;
	int i;

	CHECK_EQ(env_new(&e), 0);
	CHECK_EQ(put(e.ws, "old.txt", "untouched"), 0);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file(s, "a.txt", 0644, "A1", 2), 0);
	CHECK_EQ(wsfs_stage_file_begin(s, "src/main.py", 0644), 0);
	CHECK_EQ(wsfs_stage_file_write(s, main_py, 6), 0);
	CHECK_EQ(wsfs_stage_file_write(s, main_py + 6, sizeof(main_py) - 7), 0);
	CHECK_EQ(wsfs_stage_file_end(s), 0);
	CHECK_EQ(wsfs_stage_mkdir(s, "empty/"), 0);
	CHECK_EQ(wsfs_stage_mkdir(s, "src"), 0); /* known: no-op */
	CHECK_EQ(wsfs_stage_symlink(s, "src/link", "./main.py"), 0);
	CHECK_EQ(wsfs_stage_copy(s, "copy.py", "src/main.py", 0644), 0);
	CHECK_EQ(wsfs_stage_file(s, "a.txt", 0644, "A2", 2), 0); /* wins */
	CHECK_EQ(wsfs_stage_file(s, "/sandbox/run.sh", 0755, "#!", 2), 0);
	CHECK_EQ(wsfs_stage_foreach(s, entries_cb, l), 6);
	CHECK((i = lfind(l, "a.txt")) >= 0);
	petri_sha256_hex("A2", 2, sha);
	if (i >= 0)
		CHECK(l->e[i].has_sha && strcmp(l->e[i].sha, sha) == 0);
	CHECK((i = lfind(l, "src/link")) >= 0);
	if (i >= 0)
		CHECK(l->e[i].type == WSFS_SYMLINK && l->e[i].size == 7);
	CHECK_STR(wsfs_stage_error(s), "");
	/* nothing is in the workspace before the commit */
	CHECK(!exists(e.ws, "a.txt"));
	CHECK_EQ(wsfs_stage_commit(s, 0), 0);
	CHECK_STR(get(e.ws, "a.txt"), "A2");
	CHECK_STR(get(e.ws, "src/main.py"), main_py);
	CHECK_STR(get(e.ws, "copy.py"), main_py);
	CHECK_STR(get(e.ws, "old.txt"), "untouched");
	CHECK((n = readlinkat(e.ws, "src/link", target, sizeof(target))) > 0);
	if (n > 0) {
		target[n] = '\0';
		CHECK_STR(target, "main.py");
	}
	CHECK(fstatat(e.ws, "empty", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode));
	CHECK(fstatat(e.ws, "run.sh", &st, 0) == 0 &&
	    (st.st_mode & 07777) == 0755);
	/* once committed, a stage takes nothing more */
	CHECK_EQ(wsfs_stage_commit(s, 0), PETRI_ERR_STATE);
	CHECK_EQ(wsfs_stage_file(s, "more", 0644, "x", 1), PETRI_ERR_STATE);
	wsfs_stage_free(s);
	CHECK_EQ(count_dir(e.staging, "."), 0);

	/* an upload over existing files swaps them */
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file(s, "src/main.py", 0644, "v2", 2), 0);
	CHECK_EQ(wsfs_stage_file(s, "src/link", 0644, "now a file", 10), 0);
	CHECK_EQ(wsfs_stage_commit(s, 0), 0);
	wsfs_stage_free(s);
	CHECK_STR(get(e.ws, "src/main.py"), "v2");
	CHECK_STR(get(e.ws, "src/link"), "now a file");
	CHECK_EQ(count_dir(e.staging, "."), 0);
	wsfs_stage_free(NULL);
	free(l);
	env_free(&e);
}

static void
test_stage_errors(void)
{
	struct wsfs_stage *s = NULL;
	struct env e;

	CHECK_EQ(env_new(&e), 0);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file(s, "../x", 0644, "x", 1), PETRI_ERR_PATH);
	CHECK(strstr(wsfs_stage_error(s), "'../x'") != NULL);
	/* the first error is final */
	CHECK_EQ(wsfs_stage_file(s, "ok", 0644, "x", 1), PETRI_ERR_PATH);
	CHECK_EQ(wsfs_stage_commit(s, 0), PETRI_ERR_PATH);
	wsfs_stage_free(s);

	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file(s, "x", 0644, "x", 1), 0);
	CHECK_EQ(wsfs_stage_mkdir(s, "x/"), PETRI_ERR_EXISTS);
	wsfs_stage_free(s);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file(s, "a/b", 0644, "x", 1), 0);
	CHECK_EQ(wsfs_stage_file(s, "a", 0644, "x", 1), PETRI_ERR_EXISTS);
	wsfs_stage_free(s);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_symlink(s, "l", "sub"), 0);
	CHECK_EQ(wsfs_stage_file(s, "l/x", 0644, "x", 1), PETRI_ERR_PATH);
	wsfs_stage_free(s);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_symlink(s, "l", "../../sb_other"), PETRI_ERR_PATH);
	CHECK(strstr(wsfs_stage_error(s), "leaves") != NULL);
	wsfs_stage_free(s);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_symlink(s, "l", "/etc/passwd"), PETRI_ERR_PATH);
	wsfs_stage_free(s);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_copy(s, "c", "missing", 0644), PETRI_ERR_PATH);
	wsfs_stage_free(s);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file_write(s, "x", 1), PETRI_ERR_STATE);
	wsfs_stage_free(s);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file_begin(s, "f", 0644), 0);
	CHECK_EQ(wsfs_stage_commit(s, 0), PETRI_ERR_STATE); /* still open */
	wsfs_stage_free(s);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file_begin(s, "f", 0644), 0);
	CHECK_EQ(
	    wsfs_stage_file_write(s, "x", WS_MAX_FILE + 1), PETRI_ERR_TOOBIG);
	wsfs_stage_free(s);
	CHECK_EQ(count_dir(e.staging, "."), 0);
	CHECK_EQ(count_dir(e.ws, "."), 0);
	env_free(&e);
}

static void
test_commit_conflicts(void)
{
	struct wsfs_stage *s = NULL;
	struct env e;
	char *before, *after;

	CHECK_EQ(env_new(&e), 0);
	CHECK_EQ(put(e.ws, "src", "a file"), 0);
	CHECK_EQ(mkdirat(e.ws, "docs", 0755), 0);
	CHECK_EQ(put(e.ws, "docs/x", "x"), 0);
	before = snapshot(e.ws);

	/* a file where a directory is needed */
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file(s, "aaa-first.txt", 0644, "1", 1), 0);
	CHECK_EQ(wsfs_stage_file(s, "src/main.py", 0644, "x", 1), 0);
	CHECK_EQ(wsfs_stage_commit(s, 0), PETRI_ERR_PATH);
	CHECK(strstr(wsfs_stage_error(s), "'src'") != NULL);
	wsfs_stage_free(s);
	/* a file cannot replace a directory */
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file(s, "docs", 0644, "x", 1), 0);
	CHECK_EQ(wsfs_stage_commit(s, 0), PETRI_ERR_EXISTS);
	CHECK(strstr(wsfs_stage_error(s), "'docs'") != NULL);
	wsfs_stage_free(s);
	/* nor a directory a file */
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_mkdir(s, "src/"), 0);
	CHECK_EQ(wsfs_stage_commit(s, 0), PETRI_ERR_EXISTS);
	wsfs_stage_free(s);
	/* nor a link a directory */
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_symlink(s, "docs", "src"), 0);
	CHECK_EQ(wsfs_stage_commit(s, 0), PETRI_ERR_EXISTS);
	wsfs_stage_free(s);

	after = snapshot(e.ws);
	CHECK_STR(before, after);
	CHECK(!exists(e.ws, "aaa-first.txt"));
	CHECK_EQ(count_dir(e.staging, "."), 0);
	free(before);
	free(after);
	env_free(&e);
}

/* Deletes the staged links of the one stage in staging (a lost object). */
static int
sabotage_links(int staging)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	if ((fd = dup(staging)) < 0 || (d = fdopendir(fd)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		DIR *sd;
		struct dirent *se;
		int sfd;

		if (strncmp(de->d_name, "stage-", 6) != 0)
			continue;
		sfd = openat(staging, de->d_name, O_RDONLY | O_DIRECTORY);
		if (sfd < 0 || (sd = fdopendir(sfd)) == NULL)
			continue;
		while ((se = readdir(sd)) != NULL)
			if (se->d_name[0] == 'l' &&
			    unlinkat(dirfd(sd), se->d_name, 0) == 0)
				n++;
		closedir(sd);
	}
	closedir(d);
	return n;
}

static void
check_rollback(int replace)
{
	struct wsfs_stage *s = NULL;
	struct env e;
	char *before, *after;

	CHECK_EQ(env_new(&e), 0);
	CHECK_EQ(put(e.ws, "a.txt", "old"), 0);
	CHECK_EQ(mkdirat(e.ws, "keep", 0755), 0);
	CHECK_EQ(put(e.ws, "keep/k", "k"), 0);
	CHECK_EQ(mkdirat(e.ws, ".petri", 0755), 0);
	CHECK_EQ(put(e.ws, ".petri/meta", "m"), 0);
	before = snapshot(e.ws);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file(s, "a.txt", 0644, "new", 3), 0);
	CHECK_EQ(wsfs_stage_file(s, "b/c/new.txt", 0644, "n", 1), 0);
	CHECK_EQ(wsfs_stage_mkdir(s, "keep/sub"), 0);
	CHECK_EQ(wsfs_stage_symlink(s, "zz-last", "a.txt"), 0);
	/* the last object vanishes: the rename phase fails at the end */
	CHECK_EQ(sabotage_links(e.staging), 1);
	CHECK(wsfs_stage_commit(s, replace) < 0);
	CHECK(strstr(wsfs_stage_error(s), "'zz-last'") != NULL);
	after = snapshot(e.ws);
	CHECK_STR(before, after);
	CHECK_STR(get(e.ws, "a.txt"), "old");
	CHECK_STR(get(e.ws, ".petri/meta"), "m");
	CHECK(!exists(e.ws, "b"));
	CHECK(!exists(e.ws, "keep/sub"));
	wsfs_stage_free(s);
	CHECK_EQ(count_dir(e.staging, "."), 0);
	free(before);
	free(after);
	env_free(&e);
}

static void
test_commit_rollback(void)
{
	check_rollback(0);
	check_rollback(1);
}

static void
test_replace(void)
{
	struct wsfs_stage *s = NULL;
	struct env e;

	CHECK_EQ(env_new(&e), 0);
	CHECK_EQ(put(e.ws, "old1.txt", "1"), 0);
	CHECK_EQ(mkdirat(e.ws, "olddir", 0755), 0);
	CHECK_EQ(put(e.ws, "olddir/x", "x"), 0);
	CHECK_EQ(symlinkat("../sb_other", e.ws, "evil"), 0);
	CHECK_EQ(mkdirat(e.ws, ".petri", 0755), 0);
	CHECK_EQ(put(e.ws, ".petri/meta", "m"), 0);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file(s, "olddir", 0644, "now a file", 10), 0);
	CHECK_EQ(wsfs_stage_file(s, "new.txt", 0644, "new", 3), 0);
	CHECK_EQ(wsfs_stage_commit(s, 1), 0);
	wsfs_stage_free(s);
	CHECK_EQ(count_dir(e.ws, "."), 3); /* olddir new.txt .petri */
	CHECK_STR(get(e.ws, "olddir"), "now a file");
	CHECK_STR(get(e.ws, ".petri/meta"), "m");
	CHECK(!exists(e.ws, "old1.txt"));
	CHECK_STR(get(e.other, "secret"), SECRET);
	CHECK_EQ(count_dir(e.staging, "."), 0);
	/* an empty stage with replace empties the workspace */
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_commit(s, 1), 0);
	wsfs_stage_free(s);
	CHECK_EQ(count_dir(e.ws, "."), 1);
	env_free(&e);
}

/* Removals staged with files go in the same commit; links are not followed. */
static void
test_stage_remove(void)
{
	struct wsfs_stage *s = NULL;
	struct env e;

	CHECK_EQ(env_new(&e), 0);
	CHECK_EQ(put(e.ws, "a.txt", "a"), 0);
	CHECK_EQ(mkdirat(e.ws, "d", 0755), 0);
	CHECK_EQ(put(e.ws, "d/b.txt", "b"), 0);
	CHECK_EQ(put(e.ws, "d/c.txt", "c"), 0);
	CHECK_EQ(symlinkat("../sb_other/secret", e.ws, "ln"), 0);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file(s, "new.txt", 0644, "n", 1), 0);
	CHECK_EQ(wsfs_stage_remove(s, "a.txt"), 0);
	CHECK_EQ(wsfs_stage_remove(s, "/sandbox/d/b.txt"), 0);
	CHECK_EQ(wsfs_stage_remove(s, "ln"), 0);
	CHECK_EQ(wsfs_stage_remove(s, "missing/x.txt"), 0);
	CHECK_EQ(wsfs_stage_commit(s, 0), 0);
	wsfs_stage_free(s);
	CHECK(!exists(e.ws, "a.txt"));
	CHECK(!exists(e.ws, "d/b.txt"));
	CHECK(!exists(e.ws, "ln"));
	CHECK_STR(get(e.ws, "d/c.txt"), "c");
	CHECK_STR(get(e.ws, "new.txt"), "n");
	CHECK_STR(get(e.other, "secret"), SECRET);
	CHECK_EQ(count_dir(e.staging, "."), 0);

	/* a directory is not removed: the commit fails, nothing changes */
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_file(s, "other.txt", 0644, "o", 1), 0);
	CHECK_EQ(wsfs_stage_remove(s, "new.txt"), 0);
	CHECK_EQ(wsfs_stage_remove(s, "d"), 0);
	CHECK_EQ(wsfs_stage_commit(s, 0), PETRI_ERR_EXISTS);
	wsfs_stage_free(s);
	CHECK_STR(get(e.ws, "new.txt"), "n");
	CHECK_STR(get(e.ws, "d/c.txt"), "c");
	CHECK(!exists(e.ws, "other.txt"));

	/* path rules */
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_remove(s, "../sb_other/secret"), PETRI_ERR_PATH);
	CHECK_EQ(wsfs_stage_commit(s, 0), PETRI_ERR_PATH);
	wsfs_stage_free(s);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(wsfs_stage_remove(s, ".petri/x"), PETRI_ERR_PATH);
	wsfs_stage_free(s);
	CHECK_STR(get(e.other, "secret"), SECRET);
	env_free(&e);
}

/*
 * Everything below runs as the owner of the files, not as root: builds a
 * hostile tree (mode 000 and 0500 directories, mode 000 files, a chain
 * deeper than WS_MAX_DEPTH, a fifo, links out) and removes it; replaces a
 * workspace holding a read-only directory.  Returns a bit mask of the
 * failed steps.
 */
static int
hostile_child(const char *dir)
{
	struct wsfs_stage *s = NULL;
	int base, fd, nfd, i, bad = 0;

	if ((base = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		return 1;
	if (mkdirat(base, "ws2", 0755) != 0 || mkdirat(base, "out", 0755) ||
	    put(base, "out/keep", "keep") != 0 ||
	    mkdirat(base, "ws2/d000", 0755) != 0 ||
	    mkdirat(base, "ws2/d000/sub", 0755) != 0 ||
	    put(base, "ws2/d000/sub/f", "f") != 0 ||
	    mkdirat(base, "ws2/d500", 0755) != 0 ||
	    put(base, "ws2/d500/f", "f") != 0 ||
	    put(base, "ws2/f000", "f") != 0 ||
	    mkfifoat(base, "ws2/fifo", 0600) != 0 ||
	    symlinkat("../out", base, "ws2/out") != 0 ||
	    symlinkat("../../out/keep", base, "ws2/d500/k") != 0)
		return 2;
	/* a chain deeper than the fds remove_tree keeps open */
	if ((fd = openat(base, "ws2", O_RDONLY | O_DIRECTORY)) < 0)
		return 2;
	for (i = 0; i < 3 * WS_MAX_DEPTH; i++) {
		if (mkdirat(fd, "deep", 0755) != 0 ||
		    (nfd = openat(fd, "deep", O_RDONLY | O_DIRECTORY)) < 0)
			return 2;
		close(fd);
		fd = nfd;
	}
	if (put(fd, "bottom", "b") != 0 || fchmod(fd, 0) != 0)
		return 2;
	close(fd);
	if (fchmodat(base, "ws2/d000/sub", 0, 0) != 0 ||
	    fchmodat(base, "ws2/d000", 0, 0) != 0 ||
	    fchmodat(base, "ws2/d500", 0500, 0) != 0 ||
	    fchmodat(base, "ws2/f000", 0, 0) != 0)
		return 2;
	/* the ws worker cannot even look into it by plain means */
	if (openat(base, "ws2/d000/sub", O_RDONLY) >= 0 || errno != EACCES)
		return 4;
	if (wsfs_remove_tree(base, "ws2") != 0)
		bad |= 8;
	if (exists(base, "ws2"))
		bad |= 16;
	if (strcmp(get(base, "out/keep"), "keep") != 0)
		bad |= 32;

	/* replace over a read-only top-level directory, then abort */
	if (mkdirat(base, "ws3", 0755) != 0 ||
	    mkdirat(base, "st3", 0700) != 0 ||
	    mkdirat(base, "ws3/ro", 0755) != 0 ||
	    put(base, "ws3/ro/f", "f") != 0 ||
	    put(base, "ws3/a.txt", "a") != 0 ||
	    fchmodat(base, "ws3/ro", 0555, 0) != 0)
		return bad | 2;
	fd = openat(base, "ws3", O_RDONLY | O_DIRECTORY);
	nfd = openat(base, "st3", O_RDONLY | O_DIRECTORY);
	if (wsfs_stage_open(fd, nfd, &s) != 0 ||
	    wsfs_stage_file(s, "new.txt", 0644, "n", 1) != 0 ||
	    wsfs_stage_symlink(s, "zz", "new.txt") != 0 ||
	    sabotage_links(nfd) != 1 || wsfs_stage_commit(s, 1) == 0)
		bad |= 64;
	wsfs_stage_free(s);
	if (strcmp(get(fd, "ro/f"), "f") != 0 || exists(fd, "new.txt") ||
	    count_dir(nfd, ".") != 0)
		bad |= 128;
	/* and for real: the read-only directory goes */
	s = NULL;
	if (wsfs_stage_open(fd, nfd, &s) != 0 ||
	    wsfs_stage_file(s, "new.txt", 0644, "n", 1) != 0 ||
	    wsfs_stage_commit(s, 1) != 0)
		bad |= 256;
	wsfs_stage_free(s);
	if (exists(fd, "ro") || count_dir(fd, ".") != 1 ||
	    count_dir(nfd, ".") != 0)
		bad |= 512;
	/* a commit into a directory the container made unwritable */
	if (fchmodat(fd, ".", 0755, 0) != 0 || mkdirat(fd, "locked", 0755) ||
	    put(fd, "locked/f", "old") != 0 ||
	    fchmodat(fd, "locked", 0555, 0) != 0)
		return bad | 2;
	s = NULL;
	if (wsfs_stage_open(fd, nfd, &s) != 0 ||
	    wsfs_stage_file(s, "locked/f", 0644, "new", 3) != 0 ||
	    wsfs_stage_commit(s, 0) != PETRI_ERR_PERM ||
	    strcmp(get(fd, "locked/f"), "old") != 0)
		bad |= 1024;
	wsfs_stage_free(s);
	close(fd);
	close(nfd);
	if (wsfs_remove_tree(base, "ws3") != 0)
		bad |= 2048;
	close(base);
	return bad;
}

static void
test_hostile_tree(void)
{
	char dir[] = "/tmp/petri-wsfs-h-XXXXXX";
	pid_t pid;
	int status = -1, tmp;

	CHECK(mkdtemp(dir) != NULL);
	if (geteuid() == 0)
		CHECK_EQ(chown(dir, NOBODY, NOBODY), 0);
	if ((pid = fork()) == 0) {
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) != 0 ||
		        setresgid(NOBODY, NOBODY, NOBODY) != 0 ||
		        setresuid(NOBODY, NOBODY, NOBODY) != 0))
			_exit(255);
		status = hostile_child(dir);
		if (status != 0) /* exit codes keep 8 bits: say it here */
			fprintf(stderr, "hostile_child: failed steps 0x%x\n",
			    (unsigned int)status);
		_exit(status != 0);
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	if ((tmp = open("/tmp", O_RDONLY | O_DIRECTORY)) >= 0) {
		CHECK_EQ(wsfs_remove_tree(tmp, dir + 5), 0);
		close(tmp);
	}
}

/*
 * An archive read straight into a stage: the glue the ws worker needs.
 */

static int
stage_entry(void *arg, const struct upload_archive_entry *e,
    struct upload_archive_reader *r)
{
	struct wsfs_stage *s = arg;
	unsigned char buf[16384];
	ssize_t n;
	int rc;

	switch (e->type) {
	case UPLOAD_ARCHIVE_DIR:
		return wsfs_stage_mkdir(s, e->path);
	case UPLOAD_ARCHIVE_SYMLINK:
		return wsfs_stage_symlink(s, e->path, e->link);
	case UPLOAD_ARCHIVE_HARDLINK:
		return wsfs_stage_copy(s, e->path, e->link, e->mode);
	case UPLOAD_ARCHIVE_FILE:
		if ((rc = wsfs_stage_file_begin(s, e->path, e->mode)) != 0)
			return rc;
		while ((n = upload_archive_data_read(r, buf, sizeof(buf))) > 0)
			if ((rc = wsfs_stage_file_write(s, buf, (size_t)n)) !=
			    0)
				return rc;
		if (n < 0)
			return (int)n;
		return wsfs_stage_file_end(s);
	}
	return PETRI_ERR_INVAL;
}

static la_ssize_t
tgz_write(struct archive *a, void *arg, const void *p, size_t n)
{
	(void)a;
	return buf_append(arg, p, n) == 0 ? (la_ssize_t)n : -1;
}

static void
tgz_add(struct archive *a, const char *path, unsigned int type,
    const char *data, const char *hardlink)
{
	struct archive_entry *ae = archive_entry_new();
	size_t len = data != NULL && type == AE_IFREG ? strlen(data) : 0;

	archive_entry_set_pathname(ae, path);
	archive_entry_set_filetype(ae, type);
	archive_entry_set_perm(ae, 0644);
	if (type == AE_IFLNK)
		archive_entry_set_symlink(ae, data);
	if (hardlink != NULL)
		archive_entry_set_hardlink(ae, hardlink);
	archive_entry_set_size(ae, (la_int64_t)len);
	if (archive_write_header(a, ae) == ARCHIVE_OK && len > 0)
		(void)archive_write_data(a, data, len);
	archive_entry_free(ae);
}

static void
test_archive_to_stage(void)
{
	struct archive *a;
	struct upload_archive_opts o;
	struct upload_archive_err err;
	struct wsfs_stage *s = NULL;
	struct env e;
	struct buf b;
	char *before;

	CHECK_EQ(env_new(&e), 0);
	buf_init(&b, 1 << 20);
	a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	archive_write_open(a, &b, NULL, tgz_write, NULL);
	tgz_add(a, "proj/", AE_IFDIR, NULL, NULL);
	tgz_add(a, "proj/src/app.py", AE_IFREG, "app\n", NULL);
	tgz_add(a, "proj/src/same.py", AE_IFREG, NULL, "proj/src/app.py");
	tgz_add(a, "proj/lib", AE_IFLNK, "src", NULL);
	tgz_add(a, "proj/README", AE_IFREG, "read me\n", NULL);
	archive_write_close(a);
	archive_write_free(a);

	memset(&o, 0, sizeof(o));
	o.strip = 1;
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(
	    upload_archive_read_mem(b.data, b.len, &o, stage_entry, s, &err),
	    0);
	CHECK_EQ(wsfs_stage_commit(s, 0), 0);
	wsfs_stage_free(s);
	CHECK_STR(get(e.ws, "src/app.py"), "app\n");
	CHECK_STR(get(e.ws, "src/same.py"), "app\n");
	CHECK_STR(get(e.ws, "README"), "read me\n");
	CHECK(exists(e.ws, "lib"));

	/* the same archive over a workspace where "src" is a file */
	CHECK_EQ(wsfs_delete(e.ws, "src"), 0);
	CHECK_EQ(put(e.ws, "src", "in the way"), 0);
	before = snapshot(e.ws);
	CHECK_EQ(wsfs_stage_open(e.ws, e.staging, &s), 0);
	CHECK_EQ(
	    upload_archive_read_mem(b.data, b.len, &o, stage_entry, s, &err),
	    0);
	CHECK_EQ(wsfs_stage_commit(s, 0), PETRI_ERR_PATH);
	wsfs_stage_free(s);
	CHECK(before != NULL && strcmp(before, "error") != 0);
	if (before != NULL) {
		char *after = snapshot(e.ws);

		CHECK_STR(before, after);
		free(after);
	}
	free(before);
	CHECK_EQ(count_dir(e.staging, "."), 0);
	buf_free(&b);
	env_free(&e);
}

int
main(void)
{
	umask(022);
	UNIT_RUN(test_write_read);
	UNIT_RUN(test_symlinks_not_followed);
	UNIT_RUN(test_fifo_and_socket);
	UNIT_RUN(test_list);
	UNIT_RUN(test_delete);
	UNIT_RUN(test_commit);
	UNIT_RUN(test_stage_errors);
	UNIT_RUN(test_commit_conflicts);
	UNIT_RUN(test_commit_rollback);
	UNIT_RUN(test_replace);
	UNIT_RUN(test_stage_remove);
	UNIT_RUN(test_hostile_tree);
	UNIT_RUN(test_archive_to_stage);
	return UNIT_DONE();
}
