/*
 * spawn_main.c: petri-spawn, the helper every execution starts through
 * inside a sandbox container (bind-mounted read-only; static, no library).
 *
 *   petri-spawn EXEC_ID PROGRAM [ARG ...]
 *	Starts PROGRAM in a new session, as a child subreaper, so that every
 *	process it starts stays in this process's tree while it lives, and
 *	records the session id in /tmp/.petri/EXEC_ID.  Exits with PROGRAM's
 *	status, or 128 + N when PROGRAM was killed by signal N.  Processes
 *	PROGRAM left running in the background keep the session's process
 *	group, so a later --kill still finds them; the record is removed by
 *	a later petri-spawn once no process of that group is left.
 *
 *   petri-spawn --kill EXEC_ID
 *	Kills the whole tree of that execution with SIGKILL: its session,
 *	and every process descending from the helper.
 *
 * The container's processes all run as one uid: this is a convenience for
 * timeouts and kills, not a security boundary.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPAWN_DIR "/tmp/.petri"
#define SPAWN_MAX_PROCS 65536

static int
spawn_valid_id(const char *id)
{
	size_t i, n = strlen(id);

	if (n < 4 || n > 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
		        (id[i] >= '0' && id[i] <= '9') || id[i] == '_'))
			return 0;
	return 1;
}

static int
spawn_pidfile(const char *id, char *path, size_t len)
{
	int n = snprintf(path, len, "%s/%s", SPAWN_DIR, id);

	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* Parent pid of pid from /proc/PID/stat, or -1. */
static pid_t
spawn_ppid(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;
	long pp;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* the command name may hold anything: skip to its last ')' */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == '\0' ||
	    p[3] != ' ')
		return -1;
	errno = 0;
	pp = strtol(p + 4, NULL, 10);
	if (errno != 0 || pp < 0)
		return -1;
	return (pid_t)pp;
}

/* Kills every process that descends from root (root included). */
static void
spawn_kill_tree(pid_t root)
{
	static pid_t pids[SPAWN_MAX_PROCS], ppids[SPAWN_MAX_PROCS];
	static char mark[SPAWN_MAX_PROCS];
	struct dirent *de;
	DIR *d;
	int n = 0, i, changed, round;

	for (round = 0; round < 4; round++) {
		if ((d = opendir("/proc")) == NULL)
			return;
		n = 0;
		while ((de = readdir(d)) != NULL && n < SPAWN_MAX_PROCS) {
			char *end;
			long v = strtol(de->d_name, &end, 10);

			if (*end != '\0' || v <= 1)
				continue;
			pids[n] = (pid_t)v;
			ppids[n] = spawn_ppid((pid_t)v);
			mark[n] = pids[n] == root;
			n++;
		}
		closedir(d);
		do {
			changed = 0;
			for (i = 0; i < n; i++) {
				int j;

				if (mark[i])
					continue;
				for (j = 0; j < n; j++)
					if (mark[j] && ppids[i] == pids[j]) {
						mark[i] = 1;
						changed = 1;
						break;
					}
			}
		} while (changed);
		/* stop them all first so none can fork past the sweep */
		for (i = 0; i < n; i++)
			if (mark[i] && pids[i] != getpid())
				kill(pids[i], SIGSTOP);
		for (i = 0; i < n; i++)
			if (mark[i] && pids[i] != getpid())
				kill(pids[i], SIGKILL);
	}
}

/* Removes the records of executions whose process group is gone. */
static void
spawn_gc(void)
{
	struct dirent *de;
	char path[128], buf[32];
	DIR *d;
	int fd, n = 0;

	if ((d = opendir(SPAWN_DIR)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && n++ < 4096) {
		ssize_t len;
		long pid;
		char *end;

		if (!spawn_valid_id(de->d_name) ||
		    spawn_pidfile(de->d_name, path, sizeof(path)) != 0)
			continue;
		if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		pid = strtol(buf, &end, 10);
		if (pid > 1 && kill(-(pid_t)pid, 0) != 0 && errno == ESRCH)
			unlink(path);
	}
	closedir(d);
}

static int
spawn_kill(const char *id)
{
	char path[128], buf[32];
	ssize_t n;
	long pid;
	char *end;
	int fd;

	if (spawn_pidfile(id, path, sizeof(path)) != 0)
		return 2;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	if (pid <= 1 || (*end != '\n' && *end != '\0'))
		return 1;
	/* the session's process group, then everything below the helper */
	kill(-(pid_t)pid, SIGKILL);
	spawn_kill_tree((pid_t)pid);
	return 0;
}

static int
spawn_fail(const char *what)
{
	fprintf(
	    stderr, "petri: cannot start (%s: %s)\n", what, strerror(errno));
	return 127;
}

int
main(int argc, char **argv)
{
	char path[128], num[32];
	pid_t child, w;
	int status, fd, n;

	if (argc == 3 && strcmp(argv[1], "--kill") == 0) {
		if (!spawn_valid_id(argv[2]))
			return 2;
		return spawn_kill(argv[2]);
	}
	if (argc < 3 || !spawn_valid_id(argv[1])) {
		fprintf(
		    stderr, "usage: petri-spawn EXEC_ID PROGRAM [ARG ...]\n");
		return 127;
	}
	(void)setsid();
	/*
	 * Without a subreaper (gVisor lacks it) the session's process group
	 * still takes every process that stays in it; only a descendant that
	 * makes a session of its own escapes a kill.
	 */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (mkdir(SPAWN_DIR, 0700) != 0 && errno != EEXIST)
		return spawn_fail(SPAWN_DIR);
	spawn_gc();
	if (spawn_pidfile(argv[1], path, sizeof(path)) != 0)
		return spawn_fail(argv[1]);
	fd = open(
	    path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return spawn_fail(path);
	n = snprintf(num, sizeof(num), "%d\n", (int)getpid());
	if (n <= 0 || write(fd, num, (size_t)n) != n) {
		close(fd);
		return spawn_fail(path);
	}
	close(fd);
	if ((child = fork()) < 0)
		return spawn_fail("fork");
	if (child == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "petri: cannot run %s: %s\n", argv[2],
		    strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	/* reap everything; the answer is the main child's status */
	status = 0;
	for (;;) {
		int st;

		w = waitpid(-1, &st, 0);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (w == child) {
			status = st;
			break;
		}
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
