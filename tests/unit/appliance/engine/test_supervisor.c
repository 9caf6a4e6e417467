/*
 * test_supervisor.c: the engine's supervisor hub against a fake petri-init
 * in this process: the peer check, START with its descriptors, STARTED and
 * EXITED, SIGNAL, a refused peer, a protocol violation.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervisor.h"
#include "unit.h"

#define SB "sb_aaaaaaaaaaaaaaaaaaaaaaaa"

static long peer_pid;
static char dir[256];

static int
fake_pid_of(void *arg, const char *container, long *pid)
{
	(void)arg;
	if (strcmp(container, "c1") != 0)
		return PETRI_ERR_NOTFOUND;
	*pid = peer_pid;
	return 0;
}

static int
dial(void)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%.64s/%s/sock",
	        dir, SB) >= sizeof(sa.sun_path) ||
	    fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void
send_words(int fd, int type, uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t v[3] = {a, b, c};
	uint8_t out[32];
	size_t len;

	if (sup_words_encode(
	        type, v, sup_words_count(type), out, sizeof(out), &len) == 0)
		CHECK_EQ(write(fd, out, len), (ssize_t)len);
}

/* Reads one frame (and its descriptors) as petri-init would. */
static int
recv_frame(int fd, uint8_t *buf, size_t cap, struct sup_frame *f, int fds[3])
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(3 * sizeof(int))];
	} cm;
	size_t have = 0, used;
	int r, got = 0;

	for (;;) {
		struct iovec iov = {buf + have, cap - have};
		struct msghdr mh;
		struct pollfd pfd = {fd, POLLIN, 0};
		ssize_t n;

		if (poll(&pfd, 1, 3000) != 1)
			return -1;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
		if ((n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC)) <= 0)
			return -1;
		if (!got && CMSG_FIRSTHDR(&mh) != NULL && fds != NULL) {
			memcpy(fds, CMSG_DATA(CMSG_FIRSTHDR(&mh)),
			    3 * sizeof(int));
			got = 1;
		}
		have += (size_t)n;
		if ((r = sup_frame_parse(buf, have, f, &used)) != 0)
			return r == 1 ? 0 : -1;
	}
}

static void
wait_state(struct sup_call *c, struct sup_call_state *st, int what)
{
	int i;

	for (i = 0; i < 300; i++) {
		struct pollfd pfd = {sup_call_fd(c), POLLIN, 0};

		sup_call_get(c, st);
		if ((what == 0 && st->started) || (what == 1 && st->exited) ||
		    st->lost)
			return;
		(void)poll(&pfd, 1, 10);
	}
}

static void
test_hub(void)
{
	static uint8_t buf[SUP_HDR_LEN + SUP_FRAME_MAX];
	static char arena[SUP_ARENA_MAX];
	static struct sup_start st;
	const char *argv[] = {"echo", "hi"}, *env[] = {"A=1"};
	struct sup_hub *h = NULL;
	struct sup_call *call = NULL;
	struct sup_call_state cs;
	struct sup_frame f;
	int p[3][2], child[3], got[3] = {-1, -1, -1}, sup, bad, i;
	uint32_t v[2];
	char out[8];

	snprintf(dir, sizeof(dir), "/tmp/petri-unit-sup-%d", (int)getpid());
	CHECK_EQ(sup_hub_new(dir, fake_pid_of, NULL, &h), 0);
	if (h == NULL)
		return;
	CHECK_EQ(sup_sandbox_listen(h, "bad id", NULL), PETRI_ERR_INVAL);
	CHECK_EQ(sup_sandbox_listen(h, SB, "c1"), 0);
	/* a peer that is not the container's init is refused */
	peer_pid = (long)getpid() + 1;
	bad = dial();
	CHECK(bad >= 0);
	send_words(bad, SUP_HELLO, SUP_PROTO_VERSION, 1, 0);
	CHECK(recv_frame(bad, buf, sizeof(buf), &f, NULL) != 0);
	close(bad);
	CHECK(!sup_sandbox_connected(h, SB));
	/* the init (this process, as the fake's answer says) is taken; the
	 * backend is asked again at most every SUP_INSPECT_EVERY_MS */
	peer_pid = (long)getpid();
	usleep(600 * 1000);
	sup = dial();
	CHECK(sup >= 0);
	send_words(sup, SUP_HELLO, SUP_PROTO_VERSION, 1, 0);
	for (i = 0; i < 300 && !sup_sandbox_connected(h, SB); i++)
		usleep(10000);
	CHECK(sup_sandbox_connected(h, SB));
	for (i = 0; i < 3; i++)
		CHECK_EQ(pipe(p[i]), 0);
	child[0] = p[0][0];
	child[1] = p[1][1];
	child[2] = p[2][1];
	CHECK_EQ(
	    sup_call_start(h, SB, "c2", 0, "/", argv, 2, env, 1, child, &call),
	    PETRI_ERR_NOTFOUND); /* another container */
	CHECK_EQ(sup_call_start(
	             h, SB, "c1", 0, "/sandbox", argv, 2, env, 1, child, &call),
	    0);
	if (call == NULL || recv_frame(sup, buf, sizeof(buf), &f, got) != 0 ||
	    f.type != SUP_START ||
	    sup_start_decode(&f, &st, arena, sizeof(arena)) != 0) {
		CHECK(!"no START");
		return;
	}
	CHECK_STR(st.cwd, "/sandbox");
	CHECK_STR(st.argv[1], "hi");
	CHECK_STR(st.env[0], "A=1");
	/* the passed stdout reaches the engine's pipe */
	CHECK(got[1] >= 0);
	CHECK_EQ(write(got[1], "out", 3), 3);
	CHECK_EQ(read(p[1][0], out, sizeof(out)), 3);
	send_words(sup, SUP_STARTED, st.seq, 0, 77);
	wait_state(call, &cs, 0);
	CHECK(cs.started && cs.err == 0 && cs.pid == 77);
	CHECK_EQ(sup_call_signal(call, 9), 0);
	CHECK_EQ(recv_frame(sup, buf, sizeof(buf), &f, NULL), 0);
	CHECK(f.type == SUP_SIGNAL && sup_words_decode(&f, v, 2) == 0 &&
	    v[0] == st.seq && v[1] == 9);
	send_words(sup, SUP_EXITED, st.seq, 137, 0);
	wait_state(call, &cs, 1);
	CHECK(cs.exited && cs.code == 137 && !cs.lost);
	sup_call_free(call);
	/* a frame the supervisor may not send drops it */
	send_words(sup, SUP_SIGNAL, 1, 9, 0);
	for (i = 0; i < 300 && sup_sandbox_connected(h, SB); i++)
		usleep(10000);
	CHECK(!sup_sandbox_connected(h, SB));
	close(sup);
	for (i = 0; i < 3; i++) {
		close(p[i][0]);
		close(p[i][1]);
		if (got[i] >= 0)
			close(got[i]);
	}
	sup_sandbox_forget(h, SB);
	sup_hub_free(h);
	CHECK(rmdir(dir) == 0);
}

int
main(void)
{
	UNIT_RUN(test_hub);
	return UNIT_DONE();
}
