/*
 * init_main.c: petri-init, the supervisor of a sandbox container.
 *
 * Docker starts it as the container's PID 1, as the sandbox uid, inside
 * every restriction the container has (it is bind-mounted read-only and
 * linked statically: no library of the image is used).  It reaps every
 * orphan like an init and connects out to the engine's socket,
 * SUP_SOCKET, a directory the engine mounted read-only into the
 * container.  For each START frame (supproto.h) it forks a child that
 * makes a new session, takes the three descriptors that came with the
 * frame as its stdin, stdout and stderr, and execs the program; it answers
 * STARTED, and EXITED with the status once the child is reaped.  When a
 * foreground execution's main process ends, everything left in its
 * session is killed before EXITED goes out, so a finished execution
 * leaves nothing behind; a background execution keeps its leftovers until
 * a SIGNAL frame.  SIGNAL with seq 0 kills every process but this one.
 *
 * It reads only frames from the engine: nothing a program in the sandbox
 * says reaches it.  The programs share its uid, so it is not a boundary
 * between them; it is non-dumpable (no ptrace, no /proc/1/mem) and, as a
 * namespace's init, receives no signal it does not handle (it handles
 * none but SIGCHLD).  When the connection drops (engine restart) it
 * reconnects, with backoff, forever.
 */
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "supproto.h"

#define SUP_SOCKET "/run/petri/sock"
#define SUP_EXECS_MAX 256 /* executions tracked at once */
#define SUP_FDQ_MAX 48 /* descriptor triples received, not yet used */
#define SUP_SCAN_MAX 65536 /* processes looked at by one sweep */
#define SUP_BACKOFF_MIN_MS 20
#define SUP_BACKOFF_MAX_MS 500

struct sup_exec {
	uint32_t seq;
	pid_t pid; /* the main process, its session and group id */
	int background;
	int exited; /* main process reaped */
	int used;
};

static struct sup_exec execs[SUP_EXECS_MAX];
static uint8_t rbuf[SUP_HDR_LEN + SUP_FRAME_MAX];
static size_t rlen;
static char arena[SUP_ARENA_MAX];
static struct sup_start start;
static int fdq[SUP_FDQ_MAX][3];
static int nfdq;
static int sock = -1;
static pid_t scan_pid[SUP_SCAN_MAX], scan_ppid[SUP_SCAN_MAX];
static pid_t scan_sid[SUP_SCAN_MAX], scan_pgrp[SUP_SCAN_MAX];
static char scan_mark[SUP_SCAN_MAX];

static long long
init_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends a frame of words; a failure drops the connection. */
static void
init_send(int type, const uint32_t *v, size_t nv)
{
	uint8_t out[SUP_HDR_LEN + 16];
	size_t len, off = 0;
	ssize_t n;

	if (sock < 0 || sup_words_encode(type, v, nv, out, sizeof(out), &len))
		return;
	while (off < len) {
		n = send(sock, out + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(sock);
			sock = -1;
			return;
		}
		off += (size_t)n;
	}
}

static void
init_fdq_clear(void)
{
	int i, k;

	for (i = 0; i < nfdq; i++)
		for (k = 0; k < 3; k++)
			close(fdq[i][k]);
	nfdq = 0;
}

static void
init_disconnect(void)
{
	if (sock >= 0)
		close(sock);
	sock = -1;
	rlen = 0;
	init_fdq_clear();
}

/* Parses "/proc/PID/stat" fields ppid, pgrp and session; 0 or -1. */
static int
init_stat(pid_t pid, pid_t *ppid, pid_t *pgrp, pid_t *sid)
{
	char path[64], buf[512], *p, *end;
	long v[3];
	ssize_t n;
	int fd, i;

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
	p += 4;
	for (i = 0; i < 3; i++) {
		errno = 0;
		v[i] = strtol(p, &end, 10);
		if (errno != 0 || end == p || v[i] < 0)
			return -1;
		p = end;
	}
	*ppid = (pid_t)v[0];
	*pgrp = (pid_t)v[1];
	*sid = (pid_t)v[2];
	return 0;
}

/* Reads the process table; returns how many entries it has. */
static int
init_scan(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < SUP_SCAN_MAX) {
		char *end;
		long v = strtol(de->d_name, &end, 10);

		if (*end != '\0' || v <= 1)
			continue;
		scan_pid[n] = (pid_t)v;
		if (init_stat((pid_t)v, &scan_ppid[n], &scan_pgrp[n],
		        &scan_sid[n]) != 0)
			continue;
		scan_mark[n] = 0;
		n++;
	}
	closedir(d);
	return n;
}

/*
 * Kills with sig an execution's processes (sid > 0: its session, its
 * process group and their descendants) or, sid 0, every process but this
 * one.  SIGKILL sweeps stop them first so none forks past the sweep, in a
 * few rounds.  Returns how many processes were signalled in total.
 */
static int
init_kill(pid_t sid, int sig)
{
	int round, rounds = sig == SIGKILL ? 4 : 1, n, i, j, changed;
	int count = 0;

	if (sid > 0)
		(void)kill(-sid, sig);
	for (round = 0; round < rounds; round++) {
		n = init_scan();
		for (i = 0; i < n; i++)
			scan_mark[i] = sid == 0 || scan_sid[i] == sid ||
			    scan_pgrp[i] == sid || scan_pid[i] == sid;
		do {
			changed = 0;
			for (i = 0; i < n; i++) {
				if (scan_mark[i])
					continue;
				for (j = 0; j < n; j++)
					if (scan_mark[j] &&
					    scan_ppid[i] == scan_pid[j]) {
						scan_mark[i] = 1;
						changed = 1;
						break;
					}
			}
		} while (changed);
		if (sig == SIGKILL)
			for (i = 0; i < n; i++)
				if (scan_mark[i])
					(void)kill(scan_pid[i], SIGSTOP);
		for (i = 0; i < n; i++)
			if (scan_mark[i] && kill(scan_pid[i], sig) == 0 &&
			    round == 0)
				count++;
	}
	return count;
}

/* Frees background slots whose session has no process left. */
static void
init_gc(void)
{
	int i;

	for (i = 0; i < SUP_EXECS_MAX; i++)
		if (execs[i].used && execs[i].exited &&
		    kill(-execs[i].pid, 0) != 0 && errno == ESRCH)
			execs[i].used = 0;
}

static struct sup_exec *
init_exec_find(uint32_t seq)
{
	int i;

	for (i = 0; i < SUP_EXECS_MAX; i++)
		if (execs[i].used && seq != 0 && execs[i].seq == seq)
			return &execs[i];
	return NULL;
}

static void __attribute__((noreturn))
init_child(const struct sup_start *s, const int fds[3])
{
	sigset_t none;
	int i;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	(void)setsid();
	for (i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			_exit(126);
	(void)syscall(SYS_close_range, 3U, ~0U, 0U);
	if (chdir(s->cwd) != 0) {
		fprintf(stderr, "petri: cannot enter %s: %s\n", s->cwd,
		    strerror(errno));
		_exit(126);
	}
	/* the container's environment (the image's), then the request's */
	for (i = 0; s->env[i] != NULL; i++)
		if (putenv(s->env[i]) != 0)
			_exit(126);
	execvp(s->argv[0], s->argv);
	fprintf(
	    stderr, "petri: cannot run %s: %s\n", s->argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

static void
init_start(const struct sup_frame *f)
{
	struct sup_exec *x = NULL;
	uint32_t v[3];
	int fds[3], i;
	pid_t pid;

	if (sup_start_decode(f, &start, arena, sizeof(arena)) != 0 ||
	    nfdq == 0) {
		init_disconnect(); /* the engine is broken: start over */
		return;
	}
	memcpy(fds, fdq[0], sizeof(fds));
	memmove(fdq[0], fdq[1], (size_t)(nfdq - 1) * sizeof(fdq[0]));
	nfdq--;
	init_gc();
	for (i = 0; i < SUP_EXECS_MAX && x == NULL; i++)
		if (!execs[i].used)
			x = &execs[i];
	v[0] = start.seq;
	v[2] = 0;
	if (x == NULL || init_exec_find(start.seq) != NULL) {
		v[1] = (uint32_t)EAGAIN;
	} else if ((pid = fork()) < 0) {
		v[1] = (uint32_t)errno;
	} else if (pid == 0) {
		init_child(&start, fds);
	} else {
		x->used = 1;
		x->seq = start.seq;
		x->pid = pid;
		x->exited = 0;
		x->background = (start.flags & SUP_START_BACKGROUND) != 0;
		v[1] = 0;
		v[2] = (uint32_t)pid;
	}
	for (i = 0; i < 3; i++)
		close(fds[i]);
	init_send(SUP_STARTED, v, 3);
}

static void
init_signal(const struct sup_frame *f)
{
	struct sup_exec *x;
	uint32_t v[2];
	int sig;

	if (sup_words_decode(f, v, 2) != 0 || v[1] == 0 || v[1] > 64) {
		init_disconnect();
		return;
	}
	sig = (int)v[1];
	if (v[0] == 0) {
		v[1] = (uint32_t)init_kill(0, sig);
		init_send(SUP_KILLED, v, 2);
		return;
	}
	if ((x = init_exec_find(v[0])) != NULL)
		(void)init_kill(x->pid, sig);
}

/* Takes the descriptors of a received message into the queue. */
static int
init_take_fds(struct msghdr *mh)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		size_t n, i;
		int *p;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		p = (int *)(void *)CMSG_DATA(c);
		if (n != 3 || nfdq >= SUP_FDQ_MAX) {
			for (i = 0; i < n; i++)
				close(p[i]);
			return -1;
		}
		memcpy(fdq[nfdq++], p, 3 * sizeof(int));
	}
	return (mh->msg_flags & MSG_CTRUNC) ? -1 : 0;
}

static void
init_read(void)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(3 * sizeof(int))];
	} cm;
	struct sup_frame f;
	struct msghdr mh;
	struct iovec iov;
	size_t used;
	ssize_t n;
	int r;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = rbuf + rlen;
	iov.iov_len = sizeof(rbuf) - rlen;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.b;
	mh.msg_controllen = sizeof(cm.b);
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0 || init_take_fds(&mh) != 0) {
		init_disconnect();
		return;
	}
	rlen += (size_t)n;
	while (sock >= 0 && (r = sup_frame_parse(rbuf, rlen, &f, &used)) == 1) {
		if (f.type == SUP_START)
			init_start(&f);
		else if (f.type == SUP_SIGNAL)
			init_signal(&f);
		else {
			init_disconnect();
			return;
		}
		if (sock < 0)
			return;
		memmove(rbuf, rbuf + used, rlen - used);
		rlen -= used;
	}
	if (sock >= 0 && r < 0)
		init_disconnect();
}

/* Reaps every child; reports the main processes of executions. */
static void
init_reap(void)
{
	uint32_t v[2];
	int st, i;
	pid_t w;

	while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < SUP_EXECS_MAX; i++)
			if (execs[i].used && !execs[i].exited &&
			    execs[i].pid == w)
				break;
		if (i == SUP_EXECS_MAX)
			continue;
		execs[i].exited = 1;
		if (!execs[i].background) {
			(void)init_kill(w, SIGKILL);
			execs[i].used = 0;
		}
		if ((v[0] = execs[i].seq) == 0)
			continue; /* started for an engine that is gone */
		v[1] = WIFSIGNALED(st) ? (uint32_t)(128 + WTERMSIG(st))
		                       : (uint32_t)WEXITSTATUS(st);
		init_send(SUP_EXITED, v, 2);
	}
}

static void
init_connect(void)
{
	struct sockaddr_un sa;
	uint32_t v[2];
	int i;

	if ((sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, SUP_SOCKET, sizeof(SUP_SOCKET));
	if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(sock);
		sock = -1;
		return;
	}
	rlen = 0;
	/* a new engine numbers its executions afresh: forget the old ones */
	for (i = 0; i < SUP_EXECS_MAX; i++)
		execs[i].seq = 0;
	v[0] = SUP_PROTO_VERSION;
	v[1] = (uint32_t)getpid();
	init_send(SUP_HELLO, v, 2);
}

int
main(void)
{
	struct pollfd pfd[2];
	struct signalfd_siginfo si;
	long long next_try = 0;
	int backoff = SUP_BACKOFF_MIN_MS, sfd;
	sigset_t set;

	(void)prctl(PR_SET_DUMPABLE, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return 1;
	for (;;) {
		int tmo = -1;

		if (sock < 0 && init_mono_ms() >= next_try) {
			init_connect();
			if (sock < 0) {
				next_try = init_mono_ms() + backoff;
				backoff = backoff * 2 > SUP_BACKOFF_MAX_MS
				    ? SUP_BACKOFF_MAX_MS
				    : backoff * 2;
			} else
				backoff = SUP_BACKOFF_MIN_MS;
		}
		if (sock < 0)
			tmo = (int)(next_try - init_mono_ms()) + 1;
		pfd[0].fd = sfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = sock;
		pfd[1].events = POLLIN;
		if (poll(pfd, sock >= 0 ? 2 : 1, tmo) < 0 && errno != EINTR)
			continue;
		if (pfd[0].revents & POLLIN) {
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			init_reap();
		}
		if (sock >= 0 &&
		    (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			init_read();
	}
}
