/* ipc.c: typed, bounded frames between petrid processes. */
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "ipc.h"
#include "log.h"
#include "util.h"

struct ipc_frame {
	struct ipc_msg msg;
	struct ipc_frame *next;
};

struct ipc_call {
	struct ipc_chan *chan;
	uint32_t id;
	struct ipc_frame *head, *tail;
	pthread_cond_t cond;
	struct ipc_call *next;
};

struct ipc_chan {
	int fd;
	char peer[16];
	const struct ipc_permit *permits;
	size_t npermits;
	ipc_request_fn on_request;
	void *arg;
	uint32_t side; /* high bit of the ids of our calls */
	pthread_mutex_t send_lock;
	pthread_mutex_t lock;
	uint32_t next_id;
	size_t ncalls;
	struct ipc_call *calls;
	int dead;
	pthread_t reader;
	int started;
};

static uint32_t
ipc_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
ipc_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

int
ipc_hdr_decode(const unsigned char buf[IPC_HDR_LEN], struct ipc_hdr *h)
{
	h->type = ipc_get32(buf);
	h->id = ipc_get32(buf + 4);
	h->len = ipc_get32(buf + 8);
	h->jlen = ipc_get32(buf + 12);
	if (h->type == 0 || h->len > IPC_MAX_FRAME || h->jlen > h->len ||
	    h->jlen > IPC_MAX_JSON)
		return PETRI_ERR_PROTO;
	return 0;
}

void
ipc_hdr_encode(const struct ipc_hdr *h, unsigned char buf[IPC_HDR_LEN])
{
	ipc_put32(buf, h->type);
	ipc_put32(buf + 4, h->id);
	ipc_put32(buf + 8, h->len);
	ipc_put32(buf + 12, h->jlen);
}

int
ipc_permit_check(
    const struct ipc_permit *permits, size_t n, const struct ipc_hdr *h)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (permits[i].type != h->type)
			continue;
		if (h->len > permits[i].max_len)
			return PETRI_ERR_TOOBIG;
		return 0;
	}
	return PETRI_ERR_PERM;
}

int
ipc_payload_parse(
    const struct ipc_hdr *h, const unsigned char *payload, struct ipc_msg *msg)
{
	json_error_t jerr;

	memset(msg, 0, sizeof(*msg));
	msg->type = h->type;
	msg->id = h->id;
	if (h->jlen == 0)
		msg->json = json_object();
	else
		msg->json = json_loadb((const char *)payload, h->jlen,
		    JSON_REJECT_DUPLICATES, &jerr);
	if (msg->json == NULL)
		return PETRI_ERR_PROTO;
	if (!json_is_object(msg->json)) {
		json_decref(msg->json);
		msg->json = NULL;
		return PETRI_ERR_PROTO;
	}
	if (h->len > h->jlen) {
		msg->data = (unsigned char *)payload + h->jlen;
		msg->datalen = h->len - h->jlen;
	}
	return 0;
}

void
ipc_msg_clear(struct ipc_msg *msg)
{
	if (msg == NULL)
		return;
	if (msg->json != NULL)
		json_decref(msg->json);
	free(msg->payload);
	memset(msg, 0, sizeof(*msg));
}

static int
ipc_read_full(int fd, void *p, size_t n)
{
	unsigned char *c = p;
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, c + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return PETRI_ERR_IO;
		if (r == 0)
			return got == 0 ? PETRI_ERR_UNAVAIL
			                : PETRI_ERR_TRUNCATED;
		got += (size_t)r;
	}
	return 0;
}

/*
 * Reads one frame.  Returns 0, PETRI_ERR_UNAVAIL on a clean EOF before a
 * frame, or another error (all of which mean a broken peer).
 */
static int
ipc_read_frame(int fd, const struct ipc_permit *permits, size_t npermits,
    struct ipc_msg *msg)
{
	unsigned char hb[IPC_HDR_LEN];
	struct ipc_hdr h;
	unsigned char *payload = NULL;
	int r;

	memset(msg, 0, sizeof(*msg));
	if ((r = ipc_read_full(fd, hb, sizeof(hb))) != 0)
		return r;
	if ((r = ipc_hdr_decode(hb, &h)) != 0)
		return r;
	if ((r = ipc_permit_check(permits, npermits, &h)) != 0)
		return r;
	if ((payload = malloc(h.len + 1)) == NULL)
		return PETRI_ERR_NOMEM;
	if (h.len > 0 && (r = ipc_read_full(fd, payload, h.len)) != 0) {
		free(payload);
		return r == PETRI_ERR_UNAVAIL ? PETRI_ERR_TRUNCATED : r;
	}
	payload[h.len] = '\0';
	if ((r = ipc_payload_parse(&h, payload, msg)) != 0) {
		free(payload);
		return r;
	}
	msg->payload = payload;
	return 0;
}

static int
ipc_write_frame(int fd, uint32_t type, uint32_t id, json_t *json,
    const void *data, size_t datalen)
{
	unsigned char hb[IPC_HDR_LEN];
	struct ipc_hdr h;
	char *js = NULL;
	size_t jlen = 0;
	int r = PETRI_ERR_NOMEM;

	if (json != NULL) {
		if ((js = json_dumps(json, JSON_COMPACT)) == NULL)
			return PETRI_ERR_NOMEM;
		jlen = strlen(js);
	}
	if (jlen > IPC_MAX_JSON || datalen > IPC_MAX_FRAME ||
	    jlen + datalen > IPC_MAX_FRAME) {
		r = PETRI_ERR_TOOBIG;
		goto out;
	}
	h.type = type;
	h.id = id;
	h.len = (uint32_t)(jlen + datalen);
	h.jlen = (uint32_t)jlen;
	ipc_hdr_encode(&h, hb);
	if ((r = petri_write_all(fd, hb, sizeof(hb))) != 0)
		goto out;
	if (jlen > 0 && (r = petri_write_all(fd, js, jlen)) != 0)
		goto out;
	if (datalen > 0)
		r = petri_write_all(fd, data, datalen);
out:
	free(js);
	return r;
}

int
ipc_recv_sync(int fd, const struct ipc_permit *permits, size_t npermits,
    struct ipc_msg *msg)
{
	return ipc_read_frame(fd, permits, npermits, msg);
}

int
ipc_send_sync(int fd, uint32_t type, uint32_t id, json_t *json,
    const void *data, size_t datalen)
{
	return ipc_write_frame(fd, type, id, json, data, datalen);
}

struct ipc_chan *
ipc_chan_new(int fd, const char *peer, int side,
    const struct ipc_permit *permits, size_t npermits,
    ipc_request_fn on_request, void *arg)
{
	struct ipc_chan *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = fd;
	petri_strlcpy(c->peer, peer, sizeof(c->peer));
	c->permits = permits;
	c->npermits = npermits;
	c->on_request = on_request;
	c->arg = arg;
	c->next_id = 1;
	c->side = side ? IPC_ID_SIDE_BIT : 0;
	pthread_mutex_init(&c->send_lock, NULL);
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

static struct ipc_call *
ipc_call_find(struct ipc_chan *c, uint32_t id)
{
	struct ipc_call *call;

	for (call = c->calls; call != NULL; call = call->next)
		if (call->id == id)
			return call;
	return NULL;
}

static void *
ipc_reader(void *arg)
{
	struct ipc_chan *c = arg;
	struct ipc_call *call;
	struct ipc_frame *f;
	struct ipc_msg msg;
	int r;

	for (;;) {
		r = ipc_read_frame(c->fd, c->permits, c->npermits, &msg);
		if (r == PETRI_ERR_UNAVAIL) {
			log_warn("peer %s closed its channel", c->peer);
			break;
		}
		if (r != 0)
			fatal("peer %s sent a bad frame (%s): closing down",
			    c->peer, petri_strerror(r));
		if ((msg.id & IPC_ID_SIDE_BIT) != c->side) {
			/* the peer's own request */
			if (c->on_request == NULL)
				fatal("peer %s sent unexpected request %u",
				    c->peer, msg.type);
			c->on_request(c, &msg, c->arg);
			continue;
		}
		pthread_mutex_lock(&c->lock);
		if ((call = ipc_call_find(c, msg.id)) == NULL) {
			/* a late answer to a call its caller gave up on */
			pthread_mutex_unlock(&c->lock);
			ipc_msg_clear(&msg);
			continue;
		}
		if ((f = calloc(1, sizeof(*f))) == NULL)
			fatal("out of memory");
		f->msg = msg;
		if (call->tail != NULL)
			call->tail->next = f;
		else
			call->head = f;
		call->tail = f;
		pthread_cond_signal(&call->cond);
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_lock(&c->lock);
	c->dead = 1;
	for (call = c->calls; call != NULL; call = call->next)
		pthread_cond_signal(&call->cond);
	pthread_mutex_unlock(&c->lock);
	/* A dead peer means the daemon is going down; the parent decides. */
	if (c->on_request != NULL)
		c->on_request(c, NULL, c->arg);
	return NULL;
}

int
ipc_chan_start(struct ipc_chan *c)
{
	if (pthread_create(&c->reader, NULL, ipc_reader, c) != 0)
		return PETRI_ERR_IO;
	c->started = 1;
	return 0;
}

void
ipc_chan_free(struct ipc_chan *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	pthread_mutex_destroy(&c->send_lock);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int
ipc_send(struct ipc_chan *c, uint32_t type, uint32_t id, json_t *json,
    const void *data, size_t datalen)
{
	int r;

	pthread_mutex_lock(&c->send_lock);
	r = ipc_write_frame(c->fd, type, id, json, data, datalen);
	pthread_mutex_unlock(&c->send_lock);
	return r;
}

struct ipc_call *
ipc_call_start(struct ipc_chan *c, uint32_t type, json_t *json,
    const void *data, size_t datalen, int *err)
{
	struct ipc_call *call;
	int r;

	if ((call = calloc(1, sizeof(*call))) == NULL) {
		*err = PETRI_ERR_NOMEM;
		return NULL;
	}
	pthread_cond_init(&call->cond, NULL);
	call->chan = c;
	pthread_mutex_lock(&c->lock);
	if (c->dead || c->ncalls >= IPC_MAX_PENDING) {
		pthread_mutex_unlock(&c->lock);
		pthread_cond_destroy(&call->cond);
		free(call);
		*err = c->dead ? PETRI_ERR_UNAVAIL : PETRI_ERR_LIMIT;
		return NULL;
	}
	do {
		call->id = (c->next_id++ & ~IPC_ID_SIDE_BIT) | c->side;
	} while ((call->id & ~IPC_ID_SIDE_BIT) == 0 ||
	    ipc_call_find(c, call->id) != NULL);
	call->next = c->calls;
	c->calls = call;
	c->ncalls++;
	pthread_mutex_unlock(&c->lock);
	if ((r = ipc_send(c, type, call->id, json, data, datalen)) != 0) {
		ipc_call_free(call);
		*err = r;
		return NULL;
	}
	return call;
}

uint32_t
ipc_call_id(const struct ipc_call *call)
{
	return call->id;
}

int
ipc_call_next(struct ipc_call *call, int timeout_ms, struct ipc_msg *msg)
{
	struct ipc_chan *c = call->chan;
	struct ipc_frame *f;
	struct timespec ts;
	int r = 0;

	if (timeout_ms >= 0)
		petri_deadline(CLOCK_REALTIME, timeout_ms, &ts);
	pthread_mutex_lock(&c->lock);
	while (call->head == NULL && !c->dead && r == 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&call->cond, &c->lock);
		else if (pthread_cond_timedwait(&call->cond, &c->lock, &ts) ==
		    ETIMEDOUT)
			r = PETRI_ERR_TIMEOUT;
	}
	if ((f = call->head) != NULL) {
		call->head = f->next;
		if (call->head == NULL)
			call->tail = NULL;
		*msg = f->msg;
		free(f);
		r = 0;
	} else if (r == 0)
		r = PETRI_ERR_UNAVAIL;
	pthread_mutex_unlock(&c->lock);
	return r;
}

void
ipc_call_free(struct ipc_call *call)
{
	struct ipc_chan *c;
	struct ipc_call **pp;
	struct ipc_frame *f;

	if (call == NULL)
		return;
	c = call->chan;
	pthread_mutex_lock(&c->lock);
	for (pp = &c->calls; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == call) {
			*pp = call->next;
			c->ncalls--;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	while ((f = call->head) != NULL) {
		call->head = f->next;
		ipc_msg_clear(&f->msg);
		free(f);
	}
	pthread_cond_destroy(&call->cond);
	free(call);
}

int
ipc_request(struct ipc_chan *c, uint32_t type, json_t *json, const void *data,
    size_t datalen, int timeout_ms, struct ipc_msg *reply)
{
	struct ipc_call *call;
	int r;

	if ((call = ipc_call_start(c, type, json, data, datalen, &r)) == NULL)
		return r;
	r = ipc_call_next(call, timeout_ms, reply);
	ipc_call_free(call);
	return r;
}
