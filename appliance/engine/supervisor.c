/* supervisor.c: sockets to the sandboxes' petri-init (see supervisor.h). */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "log.h"
#include "supervisor.h"
#include "util.h"

#define SUP_PATH_MAX 4096
#define SUP_IN_MAX 256 /* what the supervisor may have sent, unparsed */
#define SUP_INSPECT_EVERY_MS 500 /* rate of peer-check look-ups */

/* One connection; shared by the calls sent on it. */
struct sup_link {
	uint64_t id; /* its epoll key */
	uint8_t in[SUP_IN_MAX]; /* received, not yet parsed */
	size_t inlen;
	int fd;
	int refs;
	int dead;
	pthread_mutex_t wlock; /* one frame at a time */
};

struct sup_box {
	struct sup_box *next;
	uint64_t key;
	char sandbox[PETRI_ID_MAX];
	char container[80];
	int lfd;
	struct sup_link *link; /* NULL until a supervisor said HELLO */
	struct sup_link *pending; /* accepted, no HELLO yet */
	int64_t since_ms; /* listening since */
	int64_t inspected_ms;
	long init_pid;
	int killed; /* KILLED answers seen */
	int killed_count;
};

struct sup_call {
	struct sup_call *next;
	struct sup_hub *h;
	struct sup_link *link;
	uint64_t box;
	uint32_t seq;
	int evfd;
	struct sup_call_state st;
};

struct sup_hub {
	pthread_mutex_t lock;
	pthread_mutex_t mk; /* one sup_sandbox_listen() at a time */
	pthread_cond_t cond;
	char dir[SUP_PATH_MAX];
	sup_pid_fn pid_of;
	void *arg;
	int epfd;
	int stopfd;
	pthread_t thread;
	int running;
	struct sup_box *boxes;
	struct sup_call *calls;
	uint64_t next_key;
	uint32_t next_seq;
};

static void
sup_link_unref(struct sup_link *l)
{
	if (l == NULL || --l->refs > 0)
		return;
	close(l->fd);
	pthread_mutex_destroy(&l->wlock);
	free(l);
}

static struct sup_box *
sup_box_by_key(struct sup_hub *h, uint64_t key)
{
	struct sup_box *b;

	for (b = h->boxes; b != NULL; b = b->next)
		if (b->key == key)
			return b;
	return NULL;
}

static struct sup_box *
sup_box_find(struct sup_hub *h, const char *sandbox)
{
	struct sup_box *b;

	for (b = h->boxes; b != NULL; b = b->next)
		if (strcmp(b->sandbox, sandbox) == 0)
			return b;
	return NULL;
}

static void
sup_call_wake(struct sup_call *c)
{
	uint64_t one = 1;

	if (write(c->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("eventfd: %s", strerror(errno));
}

/* Drops a link: its calls are lost, writers are woken.  h->lock held. */
static void
sup_link_drop(struct sup_hub *h, struct sup_box *b, struct sup_link *l)
{
	struct sup_call *c;

	if (l == NULL)
		return;
	l->dead = 1;
	(void)epoll_ctl(h->epfd, EPOLL_CTL_DEL, l->fd, NULL);
	(void)shutdown(l->fd, SHUT_RDWR);
	for (c = h->calls; c != NULL; c = c->next)
		if (c->link == l && !c->st.exited) {
			c->st.lost = 1;
			sup_call_wake(c);
		}
	if (b->link == l)
		b->link = NULL;
	if (b->pending == l)
		b->pending = NULL;
	pthread_cond_broadcast(&h->cond);
	sup_link_unref(l);
}

int
sup_sandbox_dir(struct sup_hub *h, const char *sandbox, char *out, size_t len)
{
	if (!petri_id_valid(sandbox, "sb_"))
		return PETRI_ERR_INVAL;
	return petri_path_join(out, len, h->dir, sandbox) == 0
	    ? 0
	    : PETRI_ERR_TOOBIG;
}

/* Binds and listens on DIR/<sb>/sock; the descriptor, or -1. */
static int
sup_listen_fd(struct sup_hub *h, const char *sandbox)
{
	char dir[SUP_PATH_MAX], path[SUP_PATH_MAX];
	struct sockaddr_un sa;
	int fd = -1, dfd = -1, ok = 0;

	if (sup_sandbox_dir(h, sandbox, dir, sizeof(dir)) != 0 ||
	    petri_path_join(path, sizeof(path), dir, "sock") != 0)
		return -1;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		goto out;
	if (chmod(dir, 0755) != 0)
		goto out;
	if (unlink(path) != 0 && errno != ENOENT)
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (petri_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) >=
	    sizeof(sa.sun_path)) {
		/* a long data directory: reach it through its descriptor */
		if ((dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			goto out;
		snprintf(sa.sun_path, sizeof(sa.sun_path),
		    "/proc/self/fd/%d/sock", dfd);
	}
	if ((fd = socket(
	         AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		goto out;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, 0666) != 0 || listen(fd, 8) != 0)
		goto out;
	ok = 1;
out:
	if (!ok) {
		log_warn(
		    "supervisor socket of %s: %s", sandbox, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (dfd >= 0)
		close(dfd);
	return fd;
}

/* sup_sandbox_listen() with h->mk held. */
static int
sup_sandbox_listen_locked(
    struct sup_hub *h, const char *sandbox, const char *container)
{
	struct epoll_event ev;
	struct sup_box *b;
	int fd;

	pthread_mutex_lock(&h->lock);
	if ((b = sup_box_find(h, sandbox)) != NULL) {
		if (container != NULL && strcmp(b->container, container) != 0) {
			petri_strlcpy(
			    b->container, container, sizeof(b->container));
			b->init_pid = 0;
			b->since_ms = petri_mono_ms();
		}
		pthread_mutex_unlock(&h->lock);
		return 0;
	}
	pthread_mutex_unlock(&h->lock);
	if ((fd = sup_listen_fd(h, sandbox)) < 0)
		return PETRI_ERR_IO;
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		close(fd);
		return PETRI_ERR_NOMEM;
	}
	petri_strlcpy(b->sandbox, sandbox, sizeof(b->sandbox));
	if (container != NULL)
		petri_strlcpy(b->container, container, sizeof(b->container));
	b->lfd = fd;
	b->since_ms = petri_mono_ms();
	pthread_mutex_lock(&h->lock);
	b->key = ++h->next_key;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = b->key << 1;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		pthread_mutex_unlock(&h->lock);
		close(fd);
		free(b);
		return PETRI_ERR_IO;
	}
	b->next = h->boxes;
	h->boxes = b;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

int
sup_sandbox_listen(
    struct sup_hub *h, const char *sandbox, const char *container)
{
	int r;

	if (!petri_id_valid(sandbox, "sb_"))
		return PETRI_ERR_INVAL;
	/* two callers must not both replace the socket file */
	pthread_mutex_lock(&h->mk);
	r = sup_sandbox_listen_locked(h, sandbox, container);
	pthread_mutex_unlock(&h->mk);
	return r;
}

void
sup_sandbox_forget(struct sup_hub *h, const char *sandbox)
{
	char dir[SUP_PATH_MAX], path[SUP_PATH_MAX];
	struct sup_box **pp, *b = NULL;

	pthread_mutex_lock(&h->lock);
	for (pp = &h->boxes; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->sandbox, sandbox) == 0) {
			b = *pp;
			*pp = b->next;
			break;
		}
	if (b != NULL) {
		sup_link_drop(h, b, b->link);
		sup_link_drop(h, b, b->pending);
		(void)epoll_ctl(h->epfd, EPOLL_CTL_DEL, b->lfd, NULL);
		close(b->lfd);
	}
	pthread_mutex_unlock(&h->lock);
	free(b);
	if (sup_sandbox_dir(h, sandbox, dir, sizeof(dir)) == 0 &&
	    petri_path_join(path, sizeof(path), dir, "sock") == 0) {
		(void)unlink(path);
		(void)rmdir(dir);
	}
}

int
sup_sandbox_connected(struct sup_hub *h, const char *sandbox)
{
	struct sup_box *b;
	int r;

	pthread_mutex_lock(&h->lock);
	b = sup_box_find(h, sandbox);
	r = b != NULL && b->link != NULL;
	pthread_mutex_unlock(&h->lock);
	return r;
}

/*
 * Whether pid is the init of box key's container, looked up again (at
 * most every SUP_INSPECT_EVERY_MS) when it does not match.  h->lock held;
 * dropped during the look-up.  Returns 1, or 0 (also when the box went).
 */
static int
sup_peer_ok(struct sup_hub *h, uint64_t key, long pid)
{
	struct sup_box *b = sup_box_by_key(h, key);
	char container[80];
	long cur = 0;
	int r;

	if (b == NULL || pid <= 0)
		return 0;
	if (b->init_pid == pid)
		return 1;
	if (b->container[0] == '\0' ||
	    petri_mono_ms() - b->inspected_ms < SUP_INSPECT_EVERY_MS)
		return 0;
	b->inspected_ms = petri_mono_ms();
	petri_strlcpy(container, b->container, sizeof(container));
	pthread_mutex_unlock(&h->lock);
	r = h->pid_of(h->arg, container, &cur);
	pthread_mutex_lock(&h->lock);
	if ((b = sup_box_by_key(h, key)) == NULL || r != 0 ||
	    strcmp(container, b->container) != 0)
		return 0;
	b->init_pid = cur;
	return cur == pid;
}

static void
sup_accept(struct sup_hub *h, uint64_t key)
{
	struct epoll_event ev;
	struct sup_box *b = sup_box_by_key(h, key);
	struct sup_link *l;
	struct ucred cr = {0, 0, 0};
	socklen_t crlen = sizeof(cr);
	int fd;

	if (b == NULL)
		return;
	fd = accept4(b->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0 ||
	    !sup_peer_ok(h, key, (long)cr.pid) ||
	    (b = sup_box_by_key(h, key)) == NULL) {
		b = sup_box_by_key(h, key);
		log_warn("refused a connection to the supervisor socket of "
		         "%s from pid %ld uid %ld: not the container's init",
		    b != NULL ? b->sandbox : "?", (long)cr.pid, (long)cr.uid);
		close(fd);
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		close(fd);
		return;
	}
	l->fd = fd;
	l->refs = 1;
	l->id = ++h->next_key;
	pthread_mutex_init(&l->wlock, NULL);
	sup_link_drop(h, b, b->pending);
	b->pending = l;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.u64 = l->id << 1 | 1;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
		sup_link_drop(h, b, l);
}

static struct sup_call *
sup_call_find(struct sup_hub *h, struct sup_link *l, uint32_t seq)
{
	struct sup_call *c;

	for (c = h->calls; c != NULL; c = c->next)
		if (c->link == l && c->seq == seq)
			return c;
	return NULL;
}

/* One frame from box b's supervisor; 0, or -1 to drop the link. */
static int
sup_frame(struct sup_hub *h, struct sup_box *b, struct sup_link *l,
    const struct sup_frame *f)
{
	struct sup_call *c;
	uint32_t v[3];

	if (f->type == SUP_START || f->type == SUP_SIGNAL ||
	    sup_words_decode(f, v, sup_words_count(f->type)) != 0)
		return -1;
	if (f->type == SUP_HELLO) {
		if (l != b->pending || v[0] != SUP_PROTO_VERSION)
			return -1;
		/* the one supervisor of this sandbox from now on */
		b->pending = NULL;
		if (b->link != NULL)
			sup_link_drop(h, b, b->link);
		b->link = l;
		pthread_cond_broadcast(&h->cond);
		log_debug("supervisor of %s connected", b->sandbox);
		return 0;
	}
	if (l != b->link)
		return -1;
	if (f->type == SUP_KILLED) {
		b->killed++;
		b->killed_count = (int)v[1];
		pthread_cond_broadcast(&h->cond);
		return 0;
	}
	if ((c = sup_call_find(h, l, v[0])) == NULL)
		return 0; /* a call given up on */
	if (f->type == SUP_STARTED && !c->st.started) {
		c->st.started = 1;
		c->st.err = (int)v[1];
		c->st.pid = (long)v[2];
	} else if (f->type == SUP_EXITED && c->st.started) {
		c->st.exited = 1;
		c->st.code = (int)v[1];
	} else
		return -1;
	sup_call_wake(c);
	return 0;
}

static void
sup_readable(struct sup_hub *h, uint64_t id)
{
	struct sup_box *b;
	struct sup_link *l = NULL;
	struct sup_frame f;
	size_t used;
	ssize_t n;
	int r;

	for (b = h->boxes; b != NULL && l == NULL; b = b->next)
		if (b->link != NULL && b->link->id == id)
			l = b->link;
		else if (b->pending != NULL && b->pending->id == id)
			l = b->pending;
	if (l == NULL)
		return;
	/* the loop went one past the box */
	for (b = h->boxes; b->link != l && b->pending != l; b = b->next)
		;
	n = recv(
	    l->fd, l->in + l->inlen, sizeof(l->in) - l->inlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		log_info("supervisor of %s disconnected", b->sandbox);
		sup_link_drop(h, b, l);
		return;
	}
	l->inlen += (size_t)n;
	while ((r = sup_frame_parse(l->in, l->inlen, &f, &used)) == 1) {
		if (sup_frame(h, b, l, &f) != 0) {
			r = -1;
			break;
		}
		memmove(l->in, l->in + used, l->inlen - used);
		l->inlen -= used;
	}
	if (r < 0 || l->inlen == sizeof(l->in)) {
		log_warn("supervisor of %s broke the protocol: disconnected",
		    b->sandbox);
		sup_link_drop(h, b, l);
	}
}

static void *
sup_thread(void *arg)
{
	struct sup_hub *h = arg;
	struct epoll_event ev[32];
	int n, i;

	for (;;) {
		n = epoll_wait(h->epfd, ev, 32, -1);
		if (n < 0 && errno != EINTR)
			break;
		pthread_mutex_lock(&h->lock);
		for (i = 0; i < n; i++) {
			uint64_t key = ev[i].data.u64 >> 1;

			if (ev[i].data.u64 == 0) {
				pthread_mutex_unlock(&h->lock);
				return NULL;
			}
			if (ev[i].data.u64 & 1)
				sup_readable(h, key);
			else
				sup_accept(h, key);
		}
		pthread_mutex_unlock(&h->lock);
	}
	return NULL;
}

int
sup_hub_new(const char *dir, sup_pid_fn pid_of, void *arg, struct sup_hub **out)
{
	struct epoll_event ev;
	struct sup_hub *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return PETRI_ERR_NOMEM;
	h->epfd = h->stopfd = -1;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->mk, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->pid_of = pid_of;
	h->arg = arg;
	if (petri_strlcpy(h->dir, dir, sizeof(h->dir)) >= sizeof(h->dir) - 80) {
		sup_hub_free(h);
		return PETRI_ERR_TOOBIG;
	}
	/* traversable, not listable: the sandbox ids stay private */
	if ((mkdir(dir, 0711) != 0 && errno != EEXIST) ||
	    chmod(dir, 0711) != 0 ||
	    (h->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (h->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		goto fail;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = 0;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->stopfd, &ev) != 0 ||
	    pthread_create(&h->thread, NULL, sup_thread, h) != 0)
		goto fail;
	h->running = 1;
	*out = h;
	return 0;
fail:
	log_warn("supervisor hub in %s: %s", dir, strerror(errno));
	sup_hub_free(h);
	return PETRI_ERR_IO;
}

void
sup_hub_free(struct sup_hub *h)
{
	struct sup_box *b;
	uint64_t one = 1;

	if (h == NULL)
		return;
	if (h->running) {
		if (write(h->stopfd, &one, sizeof(one)) < 0)
			log_warn("cannot stop the supervisor hub");
		pthread_join(h->thread, NULL);
	}
	while ((b = h->boxes) != NULL) {
		h->boxes = b->next;
		sup_link_drop(h, b, b->link);
		sup_link_drop(h, b, b->pending);
		close(b->lfd);
		free(b);
	}
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->stopfd >= 0)
		close(h->stopfd);
	free(h);
}

/* Writes len bytes (the first sendmsg carrying fds) within the timeout. */
static int
sup_send(struct sup_link *l, const uint8_t *p, size_t len, const int *fds)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(3 * sizeof(int))];
	} cm;
	int64_t deadline = petri_mono_ms() + SUP_SEND_TIMEOUT_MS;
	size_t off = 0;
	int r = 0;

	pthread_mutex_lock(&l->wlock);
	while (off < len) {
		struct iovec iov = {(void *)(p + off), len - off};
		struct msghdr mh;
		struct pollfd pfd = {l->fd, POLLOUT, 0};
		ssize_t n;

		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (off == 0 && fds != NULL) {
			struct cmsghdr *c;

			memset(&cm, 0, sizeof(cm));
			mh.msg_control = cm.b;
			mh.msg_controllen = sizeof(cm.b);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(3 * sizeof(int));
			memcpy(CMSG_DATA(c), fds, 3 * sizeof(int));
		}
		n = sendmsg(l->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			r = PETRI_ERR_UNAVAIL;
			break;
		}
		if (petri_mono_ms() >= deadline) {
			r = PETRI_ERR_TIMEOUT;
			break;
		}
		(void)poll(&pfd, 1, 100);
	}
	/* a frame cut short would desynchronise the stream: the hub's
	 * thread sees the end and drops the link */
	if (r != 0)
		(void)shutdown(l->fd, SHUT_RDWR);
	pthread_mutex_unlock(&l->wlock);
	return r;
}

/*
 * The connected link of sandbox's supervisor, waiting for it within its
 * connect window; referenced for the caller.  h->lock held.
 */
static struct sup_link *
sup_link_get(struct sup_hub *h, const char *sandbox, const char *container)
{
	struct sup_box *b;
	struct timespec ts;

	for (;;) {
		int64_t left;

		b = sup_box_find(h, sandbox);
		if (b == NULL ||
		    (container != NULL && strcmp(b->container, container) != 0))
			return NULL;
		if (b->link != NULL && !b->link->dead) {
			b->link->refs++;
			return b->link;
		}
		left = b->since_ms + SUP_CONNECT_WAIT_MS - petri_mono_ms();
		if (left <= 0)
			return NULL;
		if (left > 50)
			left = 50;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)left * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		(void)pthread_cond_timedwait(&h->cond, &h->lock, &ts);
	}
}

int
sup_call_start(struct sup_hub *h, const char *sandbox, const char *container,
    uint32_t flags, const char *cwd, const char *const *argv, size_t nargv,
    const char *const *env, size_t nenv, const int fds[3],
    struct sup_call **out)
{
	struct sup_call *c = NULL;
	struct sup_link *l;
	uint8_t *frame = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	pthread_mutex_lock(&h->lock);
	l = sup_link_get(h, sandbox, container);
	pthread_mutex_unlock(&h->lock);
	if (l == NULL)
		return PETRI_ERR_NOTFOUND;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (frame = malloc(SUP_HDR_LEN + SUP_FRAME_MAX)) == NULL) {
		r = PETRI_ERR_NOMEM;
		goto fail;
	}
	c->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->evfd < 0) {
		r = PETRI_ERR_IO;
		goto fail;
	}
	c->h = h;
	c->link = l;
	pthread_mutex_lock(&h->lock);
	if (++h->next_seq == 0)
		h->next_seq = 1;
	c->seq = h->next_seq;
	c->next = h->calls;
	h->calls = c;
	pthread_mutex_unlock(&h->lock);
	r = sup_start_encode(c->seq, flags, cwd, argv, nargv, env, nenv, frame,
	    SUP_HDR_LEN + SUP_FRAME_MAX, &len);
	if (r != 0) {
		r = r == SUP_ERR_TOOBIG ? PETRI_ERR_TOOBIG : PETRI_ERR_INVAL;
		goto fail;
	}
	if ((r = sup_send(l, frame, len, fds)) != 0) {
		r = PETRI_ERR_UNAVAIL;
		goto fail;
	}
	free(frame);
	*out = c;
	return 0;
fail:
	free(frame);
	if (c != NULL && c->h != NULL)
		sup_call_free(c);
	else {
		if (c != NULL && c->evfd >= 0)
			close(c->evfd);
		free(c);
		pthread_mutex_lock(&h->lock);
		sup_link_unref(l);
		pthread_mutex_unlock(&h->lock);
	}
	return r;
}

int
sup_call_fd(const struct sup_call *c)
{
	return c->evfd;
}

void
sup_call_get(struct sup_call *c, struct sup_call_state *st)
{
	uint64_t v;

	if (read(c->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("eventfd: %s", strerror(errno));
	pthread_mutex_lock(&c->h->lock);
	*st = c->st;
	if (c->link->dead && !c->st.exited)
		st->lost = 1;
	pthread_mutex_unlock(&c->h->lock);
}

int
sup_call_signal(struct sup_call *c, int sig)
{
	uint8_t frame[SUP_HDR_LEN + 8];
	uint32_t v[2] = {c->seq, (uint32_t)sig};
	size_t len;
	int dead;

	pthread_mutex_lock(&c->h->lock);
	dead = c->link->dead;
	pthread_mutex_unlock(&c->h->lock);
	if (dead ||
	    sup_words_encode(SUP_SIGNAL, v, 2, frame, sizeof(frame), &len) != 0)
		return PETRI_ERR_UNAVAIL;
	return sup_send(c->link, frame, len, NULL) == 0 ? 0 : PETRI_ERR_UNAVAIL;
}

void
sup_call_abandon(struct sup_call *c)
{
	/* the hub's thread sees the end and drops the link */
	(void)shutdown(c->link->fd, SHUT_RDWR);
}

void
sup_call_free(struct sup_call *c)
{
	struct sup_call **pp;
	struct sup_hub *h;

	if (c == NULL)
		return;
	h = c->h;
	pthread_mutex_lock(&h->lock);
	for (pp = &h->calls; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	sup_link_unref(c->link);
	pthread_mutex_unlock(&h->lock);
	close(c->evfd);
	free(c);
}

int
sup_kill_all(struct sup_hub *h, const char *sandbox, int timeout_ms, int *count)
{
	uint8_t frame[SUP_HDR_LEN + 8];
	uint32_t v[2] = {0, 9 /* SIGKILL */};
	struct sup_link *l;
	struct sup_box *b;
	struct timespec ts;
	int64_t deadline = petri_mono_ms() + timeout_ms;
	size_t len;
	int seen, r = PETRI_ERR_TIMEOUT;

	*count = 0;
	pthread_mutex_lock(&h->lock);
	if ((l = sup_link_get(h, sandbox, NULL)) == NULL ||
	    (b = sup_box_find(h, sandbox)) == NULL) {
		sup_link_unref(l);
		pthread_mutex_unlock(&h->lock);
		return PETRI_ERR_NOTFOUND;
	}
	seen = b->killed;
	pthread_mutex_unlock(&h->lock);
	if (sup_words_encode(SUP_SIGNAL, v, 2, frame, sizeof(frame), &len) !=
	        0 ||
	    sup_send(l, frame, len, NULL) != 0) {
		pthread_mutex_lock(&h->lock);
		sup_link_unref(l);
		pthread_mutex_unlock(&h->lock);
		return PETRI_ERR_UNAVAIL;
	}
	pthread_mutex_lock(&h->lock);
	while (petri_mono_ms() < deadline) {
		if ((b = sup_box_find(h, sandbox)) == NULL || l->dead) {
			r = PETRI_ERR_UNAVAIL;
			break;
		}
		if (b->killed != seen) {
			*count = b->killed_count;
			r = 0;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		(void)pthread_cond_timedwait(&h->cond, &h->lock, &ts);
	}
	sup_link_unref(l);
	pthread_mutex_unlock(&h->lock);
	return r;
}
