/* proxy.c: the egress proxy engine (proxy.h). */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "path.h"
#include "policy.h"
#include "proxy.h"
#include "proxy_http.h"
#include "proxy_scan.h"
#include "proxy_tls.h"
#include "util.h"

/* Buffers of one connection. */
#define CONN_IN_MAX (PROXY_HTTP_HEAD_MAX + PROXY_IO_CHUNK)
#define CONN_OUT_MAX                                                           \
	(2 * PROXY_HTTP_HEAD_MAX + 4 * PROXY_IO_CHUNK +                        \
	    PROXY_SECRETS_MAX *                                                \
	        (PROXY_CRED_VALUE_MAX + PROXY_HTTP_NAME_MAX + 8))
#define CONN_SNI_MAX (POLICY_HOST_INPUT_MAX + 1)

/* read_head() results besides PETRI_ERR_*. */
#define HEAD_EOF 1 /* the peer closed before sending a byte */

/* What went wrong while relaying a response. */
#define RELAY_OK 0
#define RELAY_BEFORE_HEAD 1 /* nothing sent yet: answer 502 */
#define RELAY_AFTER_HEAD 2 /* the client got part of it: close */

struct proxy_io {
	int fd;
	SSL *ssl;
};

struct conn {
	struct proxy *p;
	struct conn *prev, *next;
	struct addr src;
	char srctext[ADDR_TEXT_MAX];
	struct proxy_io cli;
	struct proxy_io up;
	struct proxy_ident *id;
	struct buf in; /* from the client, not yet handled */
	struct buf uin; /* from the upstream, not yet handled */
	struct buf out; /* being written */
	struct buf tmp; /* scanned response bytes */
	struct proxy_secmem smem; /* credentials and scan patterns */
	int close; /* close the client after this exchange */
	int reported; /* this request's record went to the keeper */

	/* the upstream connection: the destination it was opened for */
	struct host up_host;
	uint16_t up_port;

	/* the tunnel, once a CONNECT succeeded */
	int tunnel;
	struct host t_host;
	uint16_t t_port;
	int sni_mismatch;
	size_t t_naddrs;
	struct addr t_addrs[PROXY_RESOLVE_MAX];
};

struct src_count {
	struct addr a;
	unsigned int n;
};

struct proxy {
	const struct proxy_config *cfg;
	struct proxy_tls *tls;
	struct proxy_resolver resolver;
	struct proxy_dialer dialer;
	unsigned int max_conns, max_per_src;
	int io_ms;
	int lfd;
	struct addr laddr;
	uint16_t lport;
	pthread_t acceptor;
	int started;
	atomic_int stopping;

	pthread_mutex_t mu; /* guards what follows */
	pthread_cond_t cv; /* signalled when a connection ends */
	struct conn *conns;
	uint64_t nconns, total, refused;
	size_t nsrc;
	struct src_count src[PROXY_SRC_TABLE_MAX];
};

/* Credentials */

/* n bytes copied from p into mem, or into fresh sodium_malloc memory. */
static unsigned char *
cred_mem_copy(struct proxy_secmem *mem, const void *p, size_t n)
{
	unsigned char *d = NULL;

	if (mem != NULL)
		d = proxy_secmem_alloc(mem, n + 1);
	if (d == NULL && (d = sodium_malloc(n + 1)) == NULL)
		return NULL;
	memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

int
proxy_cred_set(struct proxy_cred *c, const char *header, const void *value,
    size_t value_len, const void *raw, size_t raw_len, const void *expect,
    size_t expect_len)
{
	struct proxy_secmem *mem = c->mem;
	size_t i, n;

	memset(c, 0, sizeof(*c));
	c->mem = mem;
	if (header == NULL || value == NULL || raw == NULL || raw_len == 0)
		return PETRI_ERR_INVAL;
	n = strnlen(header, PROXY_HTTP_NAME_MAX + 1);
	if (n == 0 || n > PROXY_HTTP_NAME_MAX)
		return PETRI_ERR_INVAL;
	if (value_len > PROXY_CRED_VALUE_MAX || raw_len > PROXY_CRED_RAW_MAX ||
	    (expect != NULL && expect_len > PROXY_CRED_VALUE_MAX))
		return PETRI_ERR_TOOBIG;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)header[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		        (ch >= '0' && ch <= '9') ||
		        strchr("!#$%&'*+-.^_`|~", ch) != NULL))
			return PETRI_ERR_INVAL;
	}
	memcpy(c->header, header, n + 1);
	if ((c->value = cred_mem_copy(mem, value, value_len)) == NULL ||
	    (c->raw = cred_mem_copy(mem, raw, raw_len)) == NULL ||
	    (expect != NULL &&
	        (c->expect = cred_mem_copy(mem, expect, expect_len)) == NULL)) {
		proxy_cred_wipe(c);
		return PETRI_ERR_NOMEM;
	}
	c->value_len = value_len;
	c->raw_len = raw_len;
	c->expect_len = expect != NULL ? expect_len : 0;
	return 0;
}

/* Wipes n bytes at p and frees them unless they belong to mem. */
static void
cred_mem_wipe(struct proxy_secmem *mem, void *p, size_t n)
{
	if (p == NULL)
		return;
	if (mem != NULL && proxy_secmem_owns(mem, p))
		sodium_memzero(p, n);
	else
		sodium_free(p); /* wipes */
}

void
proxy_cred_wipe(struct proxy_cred *c)
{
	struct proxy_secmem *mem = c->mem;

	cred_mem_wipe(mem, c->value, c->value_len + 1);
	cred_mem_wipe(mem, c->raw, c->raw_len + 1);
	cred_mem_wipe(mem, c->expect, c->expect_len + 1);
	memset(c, 0, sizeof(*c));
	c->mem = mem;
}

/* Resolution and dialling */

int
proxy_resolve_map_add(struct proxy_resolve_map *m, size_t max, const char *name,
    const char *address)
{
	struct proxy_resolve_entry *e;
	struct host h;
	const char *why;

	if (m->n >= max)
		return PETRI_ERR_TOOBIG;
	if (name == NULL || address == NULL ||
	    host_canon(name, strlen(name), &h, &why) != 0 ||
	    h.kind != HOST_KIND_NAME)
		return PETRI_ERR_INVAL;
	e = &m->v[m->n];
	if (addr_parse(address, strlen(address), &e->addr) != 0 ||
	    e->addr.zoned)
		return PETRI_ERR_INVAL;
	petri_strlcpy(e->name, h.name, sizeof(e->name));
	m->n++;
	return 0;
}

static void
sockaddr_to_addr(const struct sockaddr_storage *ss, struct addr *a)
{
	static const uint8_t mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		a->family = ADDR_V4;
		memcpy(a->b, &s4->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		/* A dual-stack socket shows IPv4 peers as ::ffff:a.b.c.d */
		if (memcmp(s6->sin6_addr.s6_addr, mapped, 12) == 0) {
			a->family = ADDR_V4;
			memcpy(a->b, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			a->family = ADDR_V6;
			memcpy(a->b, s6->sin6_addr.s6_addr, 16);
		}
	}
}

static socklen_t
addr_to_sockaddr(
    const struct addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == ADDR_V4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->b, 4);
		return sizeof(*s4);
	}
	if (a->family == ADDR_V6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->b, 16);
		return sizeof(*s6);
	}
	return 0;
}

int
proxy_resolve_default(
    void *ctx, const char *name, struct addr *out, size_t max, size_t *n)
{
	const struct proxy_resolve_map *m = ctx;
	struct addrinfo hints, *res = NULL, *ai;
	size_t i;

	*n = 0;
	if (m != NULL) {
		for (i = 0; i < m->n && *n < max; i++)
			if (strcmp(m->v[i].name, name) == 0)
				out[(*n)++] = m->v[i].addr;
		if (*n > 0)
			return 0;
		if (m->no_system)
			return PETRI_ERR_NOTFOUND;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return PETRI_ERR_NOTFOUND;
	for (ai = res; ai != NULL && *n < max; ai = ai->ai_next) {
		struct sockaddr_storage ss;

		if (ai->ai_addrlen > sizeof(ss))
			continue;
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		sockaddr_to_addr(&ss, &out[*n]);
		if (out[*n].family != 0)
			(*n)++;
	}
	freeaddrinfo(res);
	return *n > 0 ? 0 : PETRI_ERR_NOTFOUND;
}

int
proxy_dial_tcp(void *ctx, const struct addr *a, uint16_t port, int timeout_ms)
{
	struct sockaddr_storage ss;
	struct pollfd pfd;
	socklen_t sl, el = sizeof(int);
	int fd, flags, err = 0, r;

	(void)ctx;
	if ((sl = addr_to_sockaddr(a, port, &ss)) == 0)
		return PETRI_ERR_INVAL;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return PETRI_ERR_IO;
	if ((flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
		goto fail;
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
		if (errno != EINPROGRESS)
			goto fail;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			r = poll(&pfd, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r <= 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
		    err != 0)
			goto fail;
	}
	if (fcntl(fd, F_SETFL, flags) != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return PETRI_ERR_IO;
}

/* Sockets and I/O */

static void
sock_setup(int fd, int io_ms)
{
	struct timeval tv;
	int one = 1;

	tv.tv_sec = io_ms / 1000;
	tv.tv_usec = (io_ms % 1000) * 1000;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Reads up to n bytes: > 0 bytes, 0 at the end of the stream, < 0 error. */
static ssize_t
io_read(struct proxy_io *io, void *p, size_t n)
{
	ssize_t r;
	int e;

	if (n > INT32_MAX)
		n = INT32_MAX;
	if (io->ssl != NULL) {
		ERR_clear_error();
		if ((e = SSL_read(io->ssl, p, (int)n)) > 0)
			return e;
		e = SSL_get_error(io->ssl, e);
		ERR_clear_error();
		return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	}
	do
		r = recv(io->fd, p, n, 0);
	while (r < 0 && errno == EINTR);
	return r;
}

static int
io_write(struct proxy_io *io, const void *p, size_t n)
{
	const unsigned char *s = p;
	ssize_t r;

	while (n > 0) {
		size_t k = n > INT32_MAX ? INT32_MAX : n;

		if (io->ssl != NULL) {
			ERR_clear_error();
			if ((r = SSL_write(io->ssl, s, (int)k)) <= 0) {
				ERR_clear_error();
				return PETRI_ERR_IO;
			}
		} else {
			do
				r = send(io->fd, s, k, MSG_NOSIGNAL);
			while (r < 0 && errno == EINTR);
			if (r <= 0)
				return PETRI_ERR_IO;
		}
		s += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Reads once more into b (at most PROXY_IO_CHUNK bytes, within its max). */
static ssize_t
io_fill(struct proxy_io *io, struct buf *b)
{
	size_t room = b->max - b->len;
	ssize_t r;

	if (room == 0)
		return PETRI_ERR_TOOBIG;
	if (room > PROXY_IO_CHUNK)
		room = PROXY_IO_CHUNK;
	if (buf_reserve(b, room) != 0)
		return PETRI_ERR_NOMEM;
	if ((r = io_read(io, b->data + b->len, room)) > 0)
		b->len += (size_t)r;
	return r;
}

/* Writes b out and empties it, wiping what it held. */
static int
io_flush(struct proxy_io *io, struct buf *b)
{
	int r = 0;

	if (b->len > 0) {
		r = io_write(io, b->data, b->len);
		sodium_memzero(b->data, b->len);
	}
	buf_reset(b);
	return r;
}

/*
 * Reads until b holds a complete head.  Returns 0 (*head_len set),
 * HEAD_EOF when the peer closed before a byte, or a PETRI_ERR_* code with
 * *why.
 */
static int
read_head(
    struct proxy_io *io, struct buf *b, size_t *head_len, const char **why)
{
	size_t scanned = 0;
	ssize_t n;
	int r;

	for (;;) {
		r = proxy_http_head_end(
		    (const char *)b->data, b->len, &scanned, head_len, why);
		if (r != PETRI_ERR_TRUNCATED)
			return r;
		if ((n = io_fill(io, b)) == 0 && b->len == 0)
			return HEAD_EOF;
		if (n <= 0) {
			*why = "connection closed in the middle of a head";
			return PETRI_ERR_TRUNCATED;
		}
	}
}

/* Answers and reports */

static const char *
status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 407:
		return "Proxy Authentication Required";
	case 413:
		return "Content Too Large";
	case 417:
		return "Expectation Failed";
	case 421:
		return "Misdirected Request";
	case 429:
		return "Too Many Requests";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

/* Appends s as the contents of a JSON string (ASCII control bytes, '"' and
 * '\\' escaped; other bytes kept). */
static int
json_str(struct buf *b, const char *s)
{
	int r = 0;

	for (; *s != '\0' && r == 0; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			r = buf_printf(b, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			r = buf_printf(b, "\\u%04x", ch);
		else
			r = buf_append(b, s, 1);
	}
	return r;
}

static void
rec_init(struct conn *c, struct proxy_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->time_usec = petri_now_usec();
	petri_strlcpy(rec->src, c->srctext, sizeof(rec->src));
	if (c->id != NULL) {
		petri_strlcpy(rec->sandbox, proxy_ident_sandbox(c->id),
		    sizeof(rec->sandbox));
		rec->policy_hash = proxy_ident_policy(c->id)->hash;
	} else
		rec->policy_hash = "";
	rec->decision = PROXY_DECISION_ERROR;
	rec->reason = "";
	rec->rule = -1;
}

static void
rec_method(struct proxy_record *rec, const struct conn *c,
    const struct proxy_http_head *h)
{
	memcpy(rec->method, c->in.data + h->method.off, h->method.len);
	rec->method[h->method.len] = '\0';
}

/*
 * Hands the request's record to the keeper, once.  Called before the last
 * byte of the answer is written, so the sandbox never sees an answer that
 * has no record.
 */
static void
rec_emit(struct conn *c, struct proxy_record *rec)
{
	if (c->reported)
		return;
	c->reported = 1;
	c->p->cfg->keeper.report(c->p->cfg->keeper.ctx, rec);
}

/*
 * Answers the client with status and a short JSON body naming the error
 * class and the reason (static text), and fills the record.  extra is
 * more header lines (CRLF-terminated) or NULL.
 */
static void
conn_answer(struct conn *c, struct proxy_record *rec, int status,
    const char *error, const char *reason, const char *extra)
{
	struct buf body, head;
	int r;

	buf_init(&body, 2048);
	buf_init(&head, 4096);
	r = buf_printf(&body, "{\"error\":\"%s\",\"reason\":\"", error);
	if (r == 0)
		r = json_str(&body, reason);
	if (r == 0 && rec->host[0] != '\0') {
		r = buf_append_str(&body, "\",\"host\":\"");
		if (r == 0)
			r = json_str(&body, rec->host);
	}
	if (r == 0)
		r = buf_append_str(&body, "\"");
	if (r == 0 && rec->rule >= 0)
		r = buf_printf(&body, ",\"rule\":%ld", rec->rule);
	if (r == 0)
		r = buf_append_str(&body, "}\n");
	if (r == 0)
		r = buf_printf(&head,
		    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
		    "X-Petri-Egress: %s\r\n%s%s\r\n",
		    status, status_text(status), body.len, error,
		    extra != NULL ? extra : "",
		    c->close ? "Connection: close\r\n" : "");
	if (r == 0)
		r = buf_append(&head, body.data, body.len);
	rec->status = status;
	rec->reason = reason;
	if (status == 403 || status == 407 || status == 413 || status == 421 ||
	    status == 429)
		rec->decision = PROXY_DECISION_DENY;
	else
		rec->decision = PROXY_DECISION_ERROR;
	if (r == 0)
		rec->bytes_in += head.len;
	rec_emit(c, rec);
	if (r != 0 || io_write(&c->cli, head.data, head.len) != 0)
		c->close = 1;
	buf_free(&body);
	buf_free(&head);
}

/*
 * Fills rec->path: the normalised path (or the raw one when it could not
 * be normalised), then the query's parameter names without their values.
 */
static void
rec_path(struct proxy_record *rec, const char *path, size_t plen,
    const char *query, size_t qlen)
{
	struct buf b;
	size_t i = 0, s;

	buf_init(&b, PROXY_REPORT_PATH_MAX);
	if (buf_append(&b, path, plen) != 0)
		goto out;
	if (query != NULL) {
		if (buf_append(&b, "?", 1) != 0)
			goto out;
		while (i <= qlen) {
			s = i;
			while (i < qlen && query[i] != '&' && query[i] != '=')
				i++;
			if (buf_append(&b, query + s, i - s) != 0)
				goto out;
			if (i < qlen && query[i] == '=') {
				if (buf_append(&b, "=", 1) != 0)
					goto out;
				while (i < qlen && query[i] != '&')
					i++;
			}
			if (i < qlen && buf_append(&b, "&", 1) != 0)
				goto out;
			i++;
		}
	}
out:
	if (b.len > 0)
		memcpy(rec->path, b.data, b.len);
	rec->path[b.len] = '\0';
	buf_free(&b);
}

/* Destinations */

/* The static reason a class of address is refused. */
static const char *
dest_why(enum addr_class cl)
{
	switch (cl) {
	case ADDR_CLASS_LOOPBACK:
		return "destination is a loopback address";
	case ADDR_CLASS_PRIVATE:
		return "destination is a private address";
	case ADDR_CLASS_LINK_LOCAL:
		return "destination is a link-local address";
	case ADDR_CLASS_CGNAT:
		return "destination is a CGNAT address";
	case ADDR_CLASS_METADATA:
		return "destination is a cloud metadata address";
	case ADDR_CLASS_MULTICAST:
	case ADDR_CLASS_BROADCAST:
		return "destination is a multicast or broadcast address";
	case ADDR_CLASS_UNSPECIFIED:
		return "destination is an unspecified address";
	default:
		return "destination address is not public";
	}
}

static int
addr_eq(const struct addr *a, const struct addr *b)
{
	return a->family == b->family &&
	    memcmp(a->b, b->b, a->family == ADDR_V4 ? 4 : 16) == 0;
}

/*
 * Resolves (names only) and checks the destination: every address must
 * pass addr_is_denied() and none may be the proxy's own listener.  Fills
 * addrs (PROXY_RESOLVE_MAX) with what may be dialled.  Returns 0, or an
 * error with *why and the *status to answer.
 */
static int
dest_check(struct conn *c, const struct host *h, uint16_t port,
    struct addr *addrs, size_t *n, const char **why, int *status)
{
	struct proxy *p = c->p;
	size_t i;
	int r;

	*n = 0;
	if (h->kind == HOST_KIND_ADDR) {
		addrs[0] = h->addr;
		*n = 1;
	} else {
		if (addr_name_is_denied(h->name)) {
			*why = "host name is always denied";
			*status = 403;
			return PETRI_ERR_PERM;
		}
		r = p->resolver.resolve(
		    p->resolver.ctx, h->name, addrs, PROXY_RESOLVE_MAX, n);
		if (r != 0 || *n == 0 || *n > PROXY_RESOLVE_MAX) {
			*n = 0;
			*why = "host name could not be resolved";
			*status = 502;
			return r != 0 ? r : PETRI_ERR_NOTFOUND;
		}
	}
	for (i = 0; i < *n; i++) {
		if (addr_is_denied(&addrs[i], p->cfg->allow)) {
			*why = dest_why(addr_classify(&addrs[i]));
			*status = 403;
			*n = 0;
			return PETRI_ERR_PERM;
		}
		if (port == p->lport && addr_eq(&addrs[i], &p->laddr)) {
			*why = "destination is the proxy itself";
			*status = 403;
			*n = 0;
			return PETRI_ERR_PERM;
		}
	}
	return 0;
}

static void
upstream_close(struct conn *c)
{
	if (c->up.ssl != NULL) {
		SSL_free(c->up.ssl);
		c->up.ssl = NULL;
	}
	pthread_mutex_lock(&c->p->mu);
	if (c->up.fd >= 0)
		close(c->up.fd);
	c->up.fd = -1;
	pthread_mutex_unlock(&c->p->mu);
	buf_reset(&c->uin);
}

/*
 * Dials the first of addrs that answers and, for tls, verifies the
 * upstream.  Returns 0 or an error with *why and *status.
 */
static int
upstream_open(struct conn *c, const struct host *h, uint16_t port,
    const struct addr *addrs, size_t n, int tls, const char **why, int *status)
{
	struct proxy *p = c->p;
	size_t i;
	int fd = -1, r;

	upstream_close(c);
	for (i = 0; i < n && fd < 0; i++)
		fd = p->dialer.dial(
		    p->dialer.ctx, &addrs[i], port, PROXY_DIAL_TIMEOUT_MS);
	if (fd < 0) {
		*why = "could not connect to the upstream";
		*status = 502;
		return PETRI_ERR_UNAVAIL;
	}
	sock_setup(fd, p->io_ms);
	pthread_mutex_lock(&p->mu);
	c->up.fd = fd;
	pthread_mutex_unlock(&p->mu);
	if (tls &&
	    (r = proxy_tls_connect(p->tls, fd, h, &c->up.ssl, why)) != 0) {
		upstream_close(c);
		*status = 502;
		return r;
	}
	c->up_host = *h;
	c->up_port = port;
	return 0;
}

/*
 * Returns 1 when a kept-alive upstream connection cannot take a request:
 * the upstream closed it (or sent bytes nobody asked for) while idle.
 */
static int
upstream_stale(struct conn *c)
{
	struct pollfd pfd;

	char ch;
	int flags, n, err;

	pfd.fd = c->up.fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) == 0)
		return 0;
	/* TLS 1.3 servers send session tickets after the handshake: those
	 * records are readable but no reason to drop the connection. */
	if (c->up.ssl != NULL && (flags = fcntl(c->up.fd, F_GETFL)) >= 0 &&
	    fcntl(c->up.fd, F_SETFL, flags | O_NONBLOCK) == 0) {
		ERR_clear_error();
		n = SSL_peek(c->up.ssl, &ch, 1);
		err = SSL_get_error(c->up.ssl, n);
		ERR_clear_error();
		if (fcntl(c->up.fd, F_SETFL, flags) == 0 && n <= 0 &&
		    (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE))
			return 0;
	}
	upstream_close(c);
	return 1;
}

/* Wipes and empties the output buffer (it may hold a credential). */
static void
out_wipe(struct conn *c)
{
	if (c->out.data != NULL)
		sodium_memzero(c->out.data, c->out.cap);
	buf_reset(&c->out);
}

/* Authentication */

/*
 * Identifies the caller from the Proxy-Authorization field (Basic, the
 * password is the proxy token) and its source address.  A connection that
 * is identified may omit the field later; if it sends one, it must name
 * the same identity.  Returns 0 or PETRI_ERR_PERM with *why.
 */
static int
conn_auth(struct conn *c, const struct proxy_http_head *h, const char **why)
{
	const char *p = (const char *)c->in.data;
	unsigned char dec[PROXY_AUTH_MAX];
	struct proxy_ident *id = NULL;
	const char *v, *colon;
	size_t vlen, declen = 0;
	int i, r = PETRI_ERR_PERM;

	i = proxy_http_field_find(h, p, "proxy-authorization", 0);
	if (i < 0) {
		if (c->id != NULL)
			return 0;
		*why = "proxy credentials required";
		return PETRI_ERR_PERM;
	}
	*why = "proxy credentials not valid";
	if (proxy_http_field_find(h, p, "proxy-authorization", (size_t)i + 1) >=
	    0)
		goto out;
	v = p + h->fields[i].value.off;
	vlen = h->fields[i].value.len;
	if (vlen < 7 || strncasecmp(v, "Basic ", 6) != 0)
		goto out;
	v += 6;
	vlen -= 6;
	while (vlen > 0 && *v == ' ') {
		v++;
		vlen--;
	}
	if (sodium_base642bin(dec, sizeof(dec), v, vlen, NULL, &declen, NULL,
	        sodium_base64_VARIANT_ORIGINAL) != 0)
		goto out;
	if ((colon = memchr(dec, ':', declen)) == NULL)
		goto out;
	colon++;
	if (proxy_ident_table_lookup(c->p->cfg->idents, &c->src, colon,
	        declen - (size_t)(colon - (const char *)dec), &id) != 0)
		goto out;
	if (c->id != NULL && id != c->id) {
		*why = "proxy credentials of another sandbox";
		goto out;
	}
	if (c->id == NULL) {
		c->id = id;
		id = NULL;
	}
	r = 0;
	*why = NULL;
out:
	proxy_ident_release(id);
	sodium_memzero(dec, sizeof(dec));
	return r;
}

/* Requests */

/* Appends s to the string in dst (dsz bytes), truncating. */
static void
str_append(char *dst, size_t dsz, const char *s)
{
	size_t n = strnlen(dst, dsz);

	if (n + 1 < dsz)
		petri_strlcpy(dst + n, s, dsz - n);
}

static int
host_append(struct buf *b, const struct host *h, uint16_t port, int tls)
{
	int r;

	if (h->kind == HOST_KIND_ADDR && h->addr.family == ADDR_V6)
		r = buf_printf(b, "[%s]", h->name);
	else
		r = buf_append_str(b, h->name);
	if (r == 0 && port != (tls ? 443 : 80))
		r = buf_printf(b, ":%u", (unsigned int)port);
	return r;
}

/* 1 when a and b are the same canonical host and port. */
static int
authority_eq(
    const struct host *a, uint16_t ap, const struct host *b, uint16_t bp)
{
	return ap == bp && a->kind == b->kind && strcmp(a->name, b->name) == 0;
}

/*
 * 1 when a credential may be sent: a value without control bytes, in a
 * header that is not one the proxy writes itself (Host, framing,
 * hop-by-hop, Proxy-*).
 */
static int
cred_value_ok(const struct proxy_cred *cr)
{
	static const char *const reserved[] = {"host", "content-length",
	    "transfer-encoding", "connection", "keep-alive", "te", "trailer",
	    "upgrade", "expect", "http2-settings", "accept-encoding", NULL};
	size_t i;

	if (cr->value == NULL || cr->raw == NULL || cr->header[0] == '\0' ||
	    strncasecmp(cr->header, "proxy-", 6) == 0)
		return 0;
	for (i = 0; reserved[i] != NULL; i++)
		if (strcasecmp(cr->header, reserved[i]) == 0)
			return 0;
	for (i = 0; i < cr->value_len; i++)
		if (cr->value[i] != '\t' &&
		    (cr->value[i] < 0x20 || cr->value[i] == 0x7f))
			return 0;
	return 1;
}

/* One request's credentials. */
struct req_creds {
	size_t n;
	struct proxy_cred v[PROXY_SECRETS_MAX];
	const char *names[PROXY_SECRETS_MAX];
};

static void
creds_wipe(struct req_creds *cr)
{
	size_t i;

	for (i = 0; i < cr->n; i++)
		proxy_cred_wipe(&cr->v[i]);
	cr->n = 0;
}

/*
 * 1 when cred may join the request's credentials: no other credential sets
 * the same header, and a placeholder secret's credential goes in the
 * header the placeholder was declared for.
 */
static int
creds_header_ok(const struct req_creds *cr, const struct proxy_secret_ref *s,
    const struct proxy_cred *cred)
{
	size_t i;

	for (i = 0; i < cr->n; i++)
		if (strcasecmp(cr->v[i].header, cred->header) == 0)
			return 0;
	return s->header[0] == '\0' || strcasecmp(s->header, cred->header) == 0;
}

/* The vault's placeholder form: the prefix and 32 base32 characters. */
#define PH_PREFIX "petri_ph_"
#define PH_PREFIX_LEN (sizeof(PH_PREFIX) - 1)
#define PH_LEN (PH_PREFIX_LEN + 32)

static int
ph_b32(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '2' && ch <= '7');
}

/*
 * Finds a placeholder in the len bytes of v: known when the identity
 * carries one, else any token of the vault's form.  Returns its start
 * (*n bytes) or NULL.
 */
static const char *
ph_find(const char *v, size_t len, const char *known, size_t *n)
{
	const char *p, *end = v + len;
	size_t i;

	if (known[0] != '\0') {
		*n = strlen(known);
		return memmem(v, len, known, *n);
	}
	for (p = v; (p = memmem(p, (size_t)(end - p), PH_PREFIX,
	                 PH_PREFIX_LEN)) != NULL;
	     p++) {
		if ((size_t)(end - p) < PH_LEN)
			return NULL;
		for (i = PH_PREFIX_LEN; i < PH_LEN && ph_b32(p[i]); i++)
			;
		if (i == PH_LEN && (p + PH_LEN == end || !ph_b32(p[PH_LEN]))) {
			*n = PH_LEN;
			return p;
		}
	}
	return NULL;
}

/*
 * Finds the placeholder of secret s in its header of the request (sent
 * once at most): returns 1 with it in ph and its field in *field, 0 when
 * none is sent, or an error with *why and *status.
 */
static int
creds_placeholder_find(struct conn *c, const struct proxy_http_head *h,
    const struct proxy_secret_ref *s, int tls, char *ph, int *field,
    const char **why, int *status)
{
	const char *p = (const char *)c->in.data, *t, *found = NULL;
	size_t n, phlen = 0;
	int f;

	*field = -1;
	for (f = proxy_http_field_find(h, p, s->header, 0); f >= 0;
	     f = proxy_http_field_find(h, p, s->header, (size_t)f + 1)) {
		t = ph_find(p + h->fields[f].value.off, h->fields[f].value.len,
		    s->placeholder, &n);
		if (t == NULL)
			continue;
		if (found != NULL || n > PROXY_PLACEHOLDER_MAX) {
			*why = "placeholder header sent twice";
			*status = 400;
			return PETRI_ERR_INVAL;
		}
		found = t;
		phlen = n;
		*field = f;
	}
	if (found == NULL)
		return 0; /* forwarded as the text it is */
	if (!tls) {
		*why = "credentials are never sent over plain http";
		*status = 403;
		return PETRI_ERR_PERM;
	}
	memcpy(ph, found, phlen);
	ph[phlen] = '\0';
	return 1;
}

/*
 * Judges the keeper's answer r for secret s: returns 0 (with *skip set
 * when the secret is not bound to this request: go on without it), or
 * the error with *why and *status.  cred is wiped unless it is used.
 */
static int
creds_answer_check(struct conn *c, const struct proxy_http_head *h,
    struct req_creds *cr, const struct proxy_secret_ref *s,
    struct proxy_cred *cred, int r, int field, int *skip, const char **why,
    int *status)
{
	const char *p = (const char *)c->in.data;

	*skip = 0;
	if (r == PETRI_ERR_NOTFOUND || r == PETRI_ERR_PERM) {
		proxy_cred_wipe(cred);
		*skip = field < 0;
		if (field < 0)
			return 0;
		*why = "placeholder not valid for this sandbox and destination";
		*status = 403;
		return PETRI_ERR_PERM;
	}
	if (r == 0 && (!cred_value_ok(cred) || !creds_header_ok(cr, s, cred)))
		r = PETRI_ERR_INVAL;
	if (r == 0 && field >= 0 &&
	    (cred->expect == NULL ||
	        cred->expect_len != h->fields[field].value.len ||
	        sodium_memcmp(cred->expect, p + h->fields[field].value.off,
	            cred->expect_len) != 0)) {
		proxy_cred_wipe(cred);
		*why = "placeholder header not in the secret's format";
		*status = 403;
		return PETRI_ERR_PERM;
	}
	if (r != 0) {
		proxy_cred_wipe(cred);
		*why = r == PETRI_ERR_INVAL
		    ? "credential not valid in a header"
		    : "the keeper did not release a credential";
		*status = 502;
		return r;
	}
	return 0;
}

/*
 * Decides which secrets this request gets and asks the keeper for them.
 * Placeholder secrets: only when a placeholder is in a value of the
 * declared header (cases 11-13: never in a body, the target or another
 * header), and only when that value is exactly what the keeper expects
 * (the format around the placeholder); refused (403) when the keeper
 * releases nothing for it (case 1: not bound there; case 18: another
 * sandbox's placeholder) or the request is plain http (case 9).  Header
 * secrets: asked for on every TLS request; the keeper answers for bound
 * destinations only.  Returns 0, or an error with *why and *status.
 */
static int
creds_get(struct conn *c, const struct proxy_http_head *h, int tls,
    const struct host *host, uint16_t port, const char *method,
    const char *path, struct req_creds *cr, const char **why, int *status)
{
	const struct proxy_keeper *k = &c->p->cfg->keeper;
	char ph[PROXY_PLACEHOLDER_MAX + 1];
	struct proxy_cred_req req;
	struct proxy_cred *cred;
	size_t i;
	int field, r, skip;

	cr->n = 0;
	req.sandbox = proxy_ident_sandbox(c->id);
	req.scheme = tls ? "https" : "http";
	req.host = host->name;
	req.port = port;
	req.method = method;
	req.path = path;
	for (i = 0; i < proxy_ident_nsecrets(c->id); i++) {
		const struct proxy_secret_ref *s = proxy_ident_secret(c->id, i);

		req.secret = s->name;
		req.placeholder = NULL;
		field = -1;
		if (s->header[0] != '\0') {
			r = creds_placeholder_find(
			    c, h, s, tls, ph, &field, why, status);
			if (r < 0)
				return r;
			if (r == 0)
				continue;
			req.placeholder = ph;
		} else if (!tls)
			continue;
		cred = &cr->v[cr->n];
		memset(cred, 0, sizeof(*cred));
		cred->mem = &c->smem;
		r = k->cred_get(k->ctx, &req, cred);
		if ((r = creds_answer_check(
		         c, h, cr, s, cred, r, field, &skip, why, status)) != 0)
			return r;
		if (skip)
			continue;
		cr->names[cr->n] = s->name;
		cr->n++;
	}
	return 0;
}

/* Builds the head sent upstream into c->out. */
static int
req_head_build(struct conn *c, const struct proxy_http_head *h,
    const char *target, size_t tlen, const struct host *host, uint16_t port,
    int tls, const struct req_creds *cr)
{
	const char *p = (const char *)c->in.data;
	struct buf *b = &c->out;
	size_t i, j;
	int r, skip;

	r = buf_append(b, p + h->method.off, h->method.len);
	if (r == 0)
		r = buf_append(b, " ", 1);
	if (r == 0)
		r = buf_append(b, target, tlen);
	if (r == 0)
		r = buf_append_str(b, " HTTP/1.1\r\nHost: ");
	if (r == 0)
		r = host_append(b, host, port, tls);
	if (r == 0)
		r = buf_append(b, "\r\n", 2);
	for (i = 0; i < h->nfields && r == 0; i++) {
		const struct proxy_http_field *f = &h->fields[i];

		if (f->flags & PROXY_HTTP_F_STRIP)
			continue;
		skip = 0;
		for (j = 0; j < cr->n; j++)
			if (proxy_http_span_eq(p, f->name, cr->v[j].header))
				skip = 1; /* case 16: never two */
		if (cr->n > 0 &&
		    proxy_http_span_eq(p, f->name, "accept-encoding"))
			skip = 1;
		if (skip)
			continue;
		r = buf_append(b, p + f->name.off, f->name.len);
		if (r == 0)
			r = buf_append(b, ": ", 2);
		if (r == 0)
			r = buf_append(b, p + f->value.off, f->value.len);
		if (r == 0)
			r = buf_append(b, "\r\n", 2);
	}
	if (r == 0 && h->framing == PROXY_HTTP_BODY_LENGTH)
		r = buf_printf(
		    b, "Content-Length: %" PRIu64 "\r\n", h->content_length);
	if (r == 0 && h->framing == PROXY_HTTP_BODY_CHUNKED)
		r = buf_append_str(b, "Transfer-Encoding: chunked\r\n");
	for (j = 0; j < cr->n && r == 0; j++) {
		r = buf_append_str(b, cr->v[j].header);
		if (r == 0)
			r = buf_append(b, ": ", 2);
		if (r == 0)
			r = buf_append(b, cr->v[j].value, cr->v[j].value_len);
		if (r == 0)
			r = buf_append(b, "\r\n", 2);
	}
	/* Responses to a request with a credential are scanned: no coding. */
	if (r == 0 && cr->n > 0)
		r = buf_append_str(b, "Accept-Encoding: identity\r\n");
	if (r == 0)
		r = buf_append(b, "\r\n", 2);
	return r;
}

/*
 * Sends c->out and then the request body upstream, writing its own framing.
 * Returns 0, or an error with *why and *status (0 when the upstream write
 * failed: the caller tries to read an early response).
 */
static int
req_body_forward(struct conn *c, const struct proxy_http_head *h,
    uint64_t head_counted, struct proxy_record *rec, const char **why,
    int *status)
{
	const struct policy_limits *lim = &proxy_ident_policy(c->id)->limits;
	struct proxy_http_body b;
	size_t used, off, dlen;
	int r, done;

	proxy_http_body_init(&b, h);
	done = proxy_http_body_done(&b);
	while (!done) {
		if (c->in.len == 0) {
			if (io_fill(&c->cli, &c->in) <= 0) {
				*why = "request body ended early";
				*status = 400;
				return PETRI_ERR_TRUNCATED;
			}
		}
		r = proxy_http_body_feed(
		    &b, c->in.data, c->in.len, &used, &off, &dlen, why);
		if (r < 0) {
			*status = r == PETRI_ERR_TOOBIG ? 413 : 400;
			return r;
		}
		if (b.total > lim->max_body_bytes) {
			*why = "request body over max_body_bytes";
			*status = 413;
			return PETRI_ERR_TOOBIG;
		}
		if (dlen > 0 && h->framing == PROXY_HTTP_BODY_CHUNKED &&
		    buf_printf(&c->out, "%zx\r\n", dlen) != 0)
			return PETRI_ERR_NOMEM;
		if (dlen > 0 &&
		    buf_append(&c->out, c->in.data + off, dlen) != 0)
			return PETRI_ERR_NOMEM;
		if (dlen > 0 && h->framing == PROXY_HTTP_BODY_CHUNKED &&
		    buf_append(&c->out, "\r\n", 2) != 0)
			return PETRI_ERR_NOMEM;
		buf_consume(&c->in, used);
		done = r == 1;
		if (done && h->framing == PROXY_HTTP_BODY_CHUNKED &&
		    buf_append_str(&c->out, "0\r\n\r\n") != 0)
			return PETRI_ERR_NOMEM;
		if (c->out.len >= PROXY_IO_CHUNK || done) {
			uint64_t count = c->out.len;

			if (head_counted >= count) {
				head_counted -= count;
				count = 0;
			} else {
				count -= head_counted;
				head_counted = 0;
			}
			if (count > 0 &&
			    proxy_ident_bytes_out(c->id, count) != 0) {
				*why =
				    "max_bytes_out reached for this execution";
				*status = 429;
				return PETRI_ERR_LIMIT;
			}
			rec->bytes_out += c->out.len;
			if (io_flush(&c->up, &c->out) != 0) {
				*why = "upstream closed the connection";
				*status = 0;
				return PETRI_ERR_IO;
			}
		}
	}
	if (c->out.len > 0) {
		rec->bytes_out += c->out.len;
		if (io_flush(&c->up, &c->out) != 0) {
			*why = "upstream closed the connection";
			*status = 0;
			return PETRI_ERR_IO;
		}
	}
	return 0;
}

/* Builds the head sent to the client into c->out. */
static int
resp_head_build(struct conn *c, const struct proxy_http_head *rh,
    int keep_length, int chunk_out)
{
	const char *p = (const char *)c->uin.data;
	struct buf *b = &c->out;
	size_t i;
	int r;

	r = buf_printf(b, "HTTP/1.1 %d ", rh->status);
	if (r == 0)
		r = buf_append(b, p + rh->reason.off, rh->reason.len);
	if (r == 0)
		r = buf_append(b, "\r\n", 2);
	for (i = 0; i < rh->nfields && r == 0; i++) {
		const struct proxy_http_field *f = &rh->fields[i];

		if (f->flags & (PROXY_HTTP_F_HOP | PROXY_HTTP_F_PROXY))
			continue;
		if ((f->flags & PROXY_HTTP_F_FRAMING) &&
		    !(keep_length &&
		        proxy_http_span_eq(p, f->name, "content-length")))
			continue;
		r = buf_append(b, p + f->name.off, f->name.len);
		if (r == 0)
			r = buf_append(b, ": ", 2);
		if (r == 0)
			r = buf_append(b, p + f->value.off, f->value.len);
		if (r == 0)
			r = buf_append(b, "\r\n", 2);
	}
	if (r == 0 && rh->framing == PROXY_HTTP_BODY_LENGTH)
		r = buf_printf(
		    b, "Content-Length: %" PRIu64 "\r\n", rh->content_length);
	if (r == 0 && chunk_out)
		r = buf_append_str(b, "Transfer-Encoding: chunked\r\n");
	if (r == 0 && c->close)
		r = buf_append_str(b, "Connection: close\r\n");
	if (r == 0)
		r = buf_append(b, "\r\n", 2);
	return r;
}

/* Appends n relayed body bytes to c->out, scanned and (re)chunked. */
static int
resp_body_append(struct conn *c, struct proxy_scan *scan, int chunk_out,
    const unsigned char *d, size_t n, int last)
{
	const unsigned char *src = d;
	size_t len = n;
	int r = 0;

	if (proxy_scan_active(scan)) {
		buf_reset(&c->tmp);
		r = proxy_scan_feed(scan, d, n, &c->tmp);
		if (r == 0 && last)
			r = proxy_scan_flush(scan, &c->tmp);
		src = c->tmp.data;
		len = c->tmp.len;
	}
	if (r == 0 && len > 0 && chunk_out)
		r = buf_printf(&c->out, "%zx\r\n", len);
	if (r == 0 && len > 0)
		r = buf_append(&c->out, src, len);
	if (r == 0 && len > 0 && chunk_out)
		r = buf_append(&c->out, "\r\n", 2);
	if (r == 0 && last && chunk_out)
		r = buf_append_str(&c->out, "0\r\n\r\n");
	return r;
}

/*
 * Reads the upstream's final response head into rh (its length in *hl,
 * still in c->uin); interim (1xx) responses are dropped.  Returns 0 or -1
 * with *why set.
 */
static int
resp_head_read(struct conn *c, const char *method, struct proxy_http_head *rh,
    size_t *hl, const char **why)
{
	int r, interim = 0;

	for (;;) {
		if ((r = read_head(&c->up, &c->uin, hl, why)) != 0) {
			if (r == HEAD_EOF)
				*why = "upstream closed without answering";
			return -1;
		}
		if (proxy_http_response_parse(
		        (const char *)c->uin.data, *hl, method, rh, why) != 0)
			return -1;
		if (rh->status == 101) {
			*why = "upstream switched protocols";
			return -1;
		}
		if (rh->status >= 200)
			return 0;
		if (++interim > 8) {
			*why = "too many interim responses";
			return -1;
		}
		buf_consume(&c->uin, *hl); /* 1xx: drop, read on */
	}
}

/* The body ended: the record goes out with the last bytes. */
static int
resp_body_end(struct conn *c, struct proxy_scan *scan, struct proxy_record *rec)
{
	rec->bytes_in += c->out.len;
	rec->redactions = scan->redactions;
	rec_emit(c, rec);
	return io_flush(&c->cli, &c->out);
}

/*
 * Relays the response body after its head (already in c->out), as it
 * arrives, masked.  Returns 0 when it is complete, -1 when it broke off.
 */
static int
resp_body_relay(struct conn *c, const struct proxy_http_head *rh, int chunk_out,
    struct proxy_scan *scan, struct proxy_record *rec, const char **why)
{
	struct proxy_http_body b;
	size_t used, off, dlen;
	int r, done;
	ssize_t n;

	proxy_http_body_init(&b, rh);
	for (;;) {
		done = proxy_http_body_done(&b);
		while (!done && c->uin.len > 0) {
			r = proxy_http_body_feed(&b, c->uin.data, c->uin.len,
			    &used, &off, &dlen, why);
			if (r < 0)
				return -1;
			done = r == 1;
			if (resp_body_append(c, scan, chunk_out,
			        c->uin.data + off, dlen, done) != 0)
				return -1;
			buf_consume(&c->uin, used);
		}
		if (b.total > PROXY_RESP_BODY_MAX)
			return -1;
		if (done && rh->framing == PROXY_HTTP_BODY_NONE &&
		    resp_body_append(c, scan, 0, NULL, 0, 1) != 0)
			return -1;
		if (done)
			return resp_body_end(c, scan, rec);
		rec->bytes_in += c->out.len;
		if (io_flush(&c->cli, &c->out) != 0)
			return -1;
		if ((n = io_fill(&c->up, &c->uin)) < 0)
			return -1;
		if (n == 0) {
			if (proxy_http_body_eof(&b) != 0)
				return -1; /* truncated: the client must see it */
			if (resp_body_append(c, scan, chunk_out, NULL, 0, 1) !=
			    0)
				return -1;
			return resp_body_end(c, scan, rec);
		}
	}
}

/*
 * Reads the upstream's response to method and relays it to the client,
 * masking the scanner's patterns.  Interim (1xx) responses are dropped.
 * Returns RELAY_OK, RELAY_BEFORE_HEAD (*why set) or RELAY_AFTER_HEAD.
 */
static int
resp_relay(struct conn *c, const char *method, int client_minor,
    struct proxy_scan *scan, struct proxy_record *rec, const char **why)
{
	struct proxy_http_head *rh = NULL;
	int chunk_out, keep_length, ret = RELAY_BEFORE_HEAD, up_close;
	size_t hl;

	if ((rh = malloc(sizeof(*rh))) == NULL) {
		*why = "out of memory";
		goto out;
	}
	if (resp_head_read(c, method, rh, &hl, why) != 0)
		goto out;
	up_close = (rh->flags & PROXY_HTTP_M_CLOSE) ||
	    rh->framing == PROXY_HTTP_BODY_CLOSE;
	chunk_out = (rh->framing == PROXY_HTTP_BODY_CHUNKED ||
	                rh->framing == PROXY_HTTP_BODY_CLOSE) &&
	    client_minor == 1;
	if ((rh->framing == PROXY_HTTP_BODY_CHUNKED ||
	        rh->framing == PROXY_HTTP_BODY_CLOSE) &&
	    !chunk_out)
		c->close = 1; /* an HTTP/1.0 client reads until close */
	keep_length = rh->framing == PROXY_HTTP_BODY_NONE &&
	    (strcmp(method, "HEAD") == 0 || rh->status == 304);
	buf_reset(&c->out);
	if (resp_head_build(c, rh, keep_length, chunk_out) != 0) {
		*why = "response head too large";
		goto out;
	}
	if (proxy_scan_active(scan))
		(void)proxy_scan_redact(scan, c->out.data, c->out.len);
	rec->status = rh->status;
	buf_consume(&c->uin, hl);
	ret = RELAY_AFTER_HEAD;
	if (resp_body_relay(c, rh, chunk_out, scan, rec, why) != 0)
		goto out;
	/* Bytes after the response were not asked for: a broken upstream. */
	if (up_close || c->uin.len > 0)
		upstream_close(c);
	ret = RELAY_OK;
out:
	free(rh);
	if (ret != RELAY_OK)
		upstream_close(c);
	return ret;
}

/* Splits the target path into path and query; "" path means "/". */
static void
target_split(const char *p, size_t len, const char **path, size_t *plen,
    const char **query, size_t *qlen)
{
	const char *q = memchr(p, '?', len);

	*path = len == 0 || p[0] == '?' ? "/" : p;
	*plen =
	    len == 0 || p[0] == '?' ? 1 : (q != NULL ? (size_t)(q - p) : len);
	*query = q != NULL ? q + 1 : NULL;
	*qlen = q != NULL ? len - (size_t)(q - p) - 1 : 0;
}

/* One request as request_handle carries it through its steps. */
struct req_state {
	const struct proxy_http_head *h;
	struct proxy_record *rec;
	const struct policy *pol;
	const char *p; /* the head in c->in */
	char method[POLICY_METHOD_MAX + 1];
	struct host host; /* where it goes */
	uint16_t port;
	int tls;
	const char *path, *query; /* as sent, into p */
	size_t plen, qlen;
	char *norm; /* the normalised path, or NULL */
	const char *why; /* a refusal's reason */
	int status; /* a refusal's status */
};

/* Records a refusal; returns -1 for the step to return. */
static int
req_refuse(struct req_state *q, int status, const char *why)
{
	q->status = status;
	q->why = why;
	return -1;
}

/* Inside a tunnel: the request must name the tunnel's host, if any. */
static int
req_target_tunnel(struct conn *c, struct req_state *q)
{
	const struct proxy_http_head *h = q->h;
	struct host hh;
	uint16_t hport;

	q->tls = 1;
	q->host = c->t_host;
	q->port = c->t_port;
	petri_strlcpy(q->rec->host, q->host.name, sizeof(q->rec->host));
	q->rec->port = q->port;
	if (h->form == PROXY_HTTP_FORM_ABSOLUTE &&
	    (h->scheme != PROXY_HTTP_SCHEME_HTTPS ||
	        host_authority_parse(q->p + h->authority.off, h->authority.len,
	            "https", &hh, &hport, &q->why) != 0 ||
	        !authority_eq(&hh, hport, &q->host, q->port)))
		return req_refuse(q, 421,
		    "request target names another host than the tunnel");
	if (h->form != PROXY_HTTP_FORM_ABSOLUTE &&
	    h->form != PROXY_HTTP_FORM_ORIGIN)
		return req_refuse(
		    q, 400, "request target form not allowed in a tunnel");
	return 0;
}

/* Outside a tunnel: an absolute http:// target names the host. */
static int
req_target_plain(struct req_state *q)
{
	const struct proxy_http_head *h = q->h;

	q->tls = 0;
	if (h->form != PROXY_HTTP_FORM_ABSOLUTE ||
	    h->scheme != PROXY_HTTP_SCHEME_HTTP)
		return req_refuse(q, 400,
		    h->scheme == PROXY_HTTP_SCHEME_HTTPS
		        ? "https goes through CONNECT"
		        : "this is a proxy: send an absolute http:// target or "
		          "CONNECT");
	if (host_authority_parse(q->p + h->authority.off, h->authority.len,
	        "http", &q->host, &q->port, &q->why) != 0) {
		q->status = 400;
		return -1;
	}
	petri_strlcpy(q->rec->host, q->host.name, sizeof(q->rec->host));
	q->rec->port = q->port;
	return 0;
}

/* Where does it go?  The target, the Host header and the SNI agree. */
static int
req_target_resolve(struct conn *c, struct req_state *q)
{
	const struct proxy_http_head *h = q->h;
	struct host hh;
	uint16_t hport;

	if ((c->tunnel ? req_target_tunnel(c, q) : req_target_plain(q)) != 0)
		return -1;
	petri_strlcpy(
	    q->rec->scheme, q->tls ? "https" : "http", sizeof(q->rec->scheme));
	if (h->host < 0 && h->minor == 1)
		return req_refuse(q, 400, "Host header required");
	if (h->host >= 0 &&
	    (host_authority_parse(q->p + h->fields[h->host].value.off,
	         h->fields[h->host].value.len, q->tls ? "https" : "http", &hh,
	         &hport, &q->why) != 0 ||
	        !authority_eq(&hh, hport, &q->host, q->port)))
		return req_refuse(q, c->tunnel ? 421 : 400,
		    c->tunnel ? "Host names another host than the tunnel"
		              : "Host disagrees with the request target");
	if (c->tunnel && c->sni_mismatch)
		return req_refuse(
		    q, 421, "TLS server name differs from the CONNECT host");
	return 0;
}

/* The path, normalised (NULL when it cannot be); the query kept as sent. */
static int
req_path_set(struct req_state *q)
{
	const struct proxy_http_head *h = q->h;
	size_t nlen;

	target_split(q->p + h->path.off, h->path.len, &q->path, &q->plen,
	    &q->query, &q->qlen);
	nlen = q->plen + 2;
	if ((q->norm = malloc(nlen)) == NULL)
		return req_refuse(q, 502, "out of memory");
	if (q->plen > POLICY_REQ_PATH_MAX ||
	    path_normalize(q->path, q->plen, q->norm, nlen, NULL) != 0) {
		rec_path(q->rec, q->path, q->plen, q->query, q->qlen);
		free(q->norm);
		q->norm = NULL;
	} else
		rec_path(q->rec, q->norm, strlen(q->norm), q->query, q->qlen);
	return 0;
}

/* Decide: the policy, the head's own refusals, the sandbox's limits. */
static int
req_decide(struct conn *c, struct req_state *q)
{
	const struct proxy_http_head *h = q->h;
	struct policy_decision d;
	struct egress_request er;
	uint64_t head_count;

	er.scheme = q->tls ? "https" : "http";
	er.host = &q->host;
	er.port = q->port;
	er.method = q->method;
	er.path = q->norm;
	if (policy_eval(q->pol, &er, &d) != 0)
		return req_refuse(
		    q, 403, d.why != NULL ? d.why : "denied by policy");
	q->rec->rule = d.rule;
	if (h->flags & PROXY_HTTP_M_UPGRADE)
		return req_refuse(
		    q, 403, "protocol upgrades (WebSocket, h2c) are refused");
	if (h->flags & PROXY_HTTP_M_EXPECT_BAD)
		return req_refuse(
		    q, 417, "only Expect: 100-continue is understood");
	if (h->framing == PROXY_HTTP_BODY_LENGTH &&
	    h->content_length > q->pol->limits.max_body_bytes)
		return req_refuse(q, 413, "request body over max_body_bytes");
	if (proxy_ident_admit(c->id, &q->host, petri_mono_ms(), &q->why) != 0) {
		q->status = 429;
		return -1;
	}
	/* Cases 32, 33: the sandbox's byte budget, before anything is sent
	 * (the head as the sandbox sent it, and a known-length body). */
	head_count = h->head_len +
	    (h->framing == PROXY_HTTP_BODY_LENGTH ? h->content_length : 0);
	if (proxy_ident_bytes_out(c->id, head_count) != 0)
		return req_refuse(
		    q, 429, "max_bytes_out reached for this execution");
	return 0;
}

/* The upstream, before any credential is asked for (case 9, 31). */
static int
req_upstream_ready(struct conn *c, struct req_state *q)
{
	struct addr addrs[PROXY_RESOLVE_MAX];
	size_t naddrs = 0;

	if (!c->tunnel &&
	    (c->up.fd < 0 || upstream_stale(c) ||
	        !authority_eq(&c->up_host, c->up_port, &q->host, q->port))) {
		if (dest_check(c, &q->host, q->port, addrs, &naddrs, &q->why,
		        &q->status) != 0 ||
		    upstream_open(c, &q->host, q->port, addrs, naddrs, 0,
		        &q->why, &q->status) != 0)
			return -1;
	} else if (c->tunnel && (c->up.fd < 0 || upstream_stale(c)) &&
	    upstream_open(c, &c->t_host, c->t_port, c->t_addrs, c->t_naddrs, 1,
	        &q->why, &q->status) != 0)
		return -1;
	return 0;
}

/* Credentials, then the head into c->out; the values are wiped after. */
static int
req_head_prepare(struct conn *c, struct req_state *q, struct proxy_scan *scan,
    struct req_creds *cr)
{
	struct buf target;
	size_t i;
	int r;

	if (creds_get(c, q->h, q->tls, &q->host, q->port, q->method, q->norm,
	        cr, &q->why, &q->status) != 0)
		return -1;
	for (i = 0; i < cr->n; i++)
		if (proxy_scan_add_secret(
		        scan, cr->v[i].raw, cr->v[i].raw_len) != 0)
			return req_refuse(
			    q, 502, "could not set up response scanning");
	for (i = 0; i < cr->n; i++) {
		if (i > 0)
			str_append(
			    q->rec->secrets, sizeof(q->rec->secrets), ",");
		str_append(
		    q->rec->secrets, sizeof(q->rec->secrets), cr->names[i]);
	}
	/* The normalised path goes upstream; a path that could not be
	 * normalised only matched a rule without paths: it goes as sent. */
	buf_init(&target, PROXY_HTTP_LINE_MAX);
	r = q->norm != NULL ? buf_append_str(&target, q->norm)
	                    : buf_append(&target, q->path, q->plen);
	if (r == 0 && q->query != NULL)
		r = buf_printf(&target, "?%.*s", (int)q->qlen, q->query);
	out_wipe(c);
	if (r == 0)
		r = req_head_build(c, q->h, (const char *)target.data,
		    target.len, &q->host, q->port, q->tls, cr);
	creds_wipe(cr); /* the value is in c->out only, until written */
	buf_free(&target);
	if (r != 0)
		return req_refuse(q, 413, "request head too large");
	return 0;
}

/*
 * Sends the head (the request's own head leaves c->in) and the body, then
 * relays the answer.  Returns 0 when the exchange is over, -1 when an
 * answer is still owed (q->status set).
 */
static int
req_forward(struct conn *c, struct req_state *q, struct proxy_scan *scan)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	const struct proxy_http_head *h = q->h;
	int r;

	if ((h->flags & PROXY_HTTP_M_CONTINUE) &&
	    io_write(&c->cli, cont, sizeof(cont) - 1) != 0) {
		out_wipe(c);
		c->close = 1;
		return 0;
	}
	buf_consume(&c->in, h->head_len);
	q->p = NULL;
	if (h->flags & PROXY_HTTP_M_CLOSE)
		c->close = 1;
	r = req_body_forward(c, h,
	    c->out.len +
	        (h->framing == PROXY_HTTP_BODY_LENGTH ? h->content_length : 0),
	    q->rec, &q->why, &q->status);
	out_wipe(c);
	if (r != 0 && q->status != 0) {
		upstream_close(c);
		c->close = 1;
		return -1;
	}
	if (r != 0)
		c->close = 1; /* the upstream may still have answered */
	q->rec->decision = PROXY_DECISION_ALLOW;
	r = resp_relay(c, q->method, h->minor, scan, q->rec, &q->why);
	q->rec->redactions = scan->redactions;
	if (r == RELAY_BEFORE_HEAD) {
		c->close = 1;
		q->status = 502;
		return -1;
	}
	if (r == RELAY_AFTER_HEAD) {
		c->close = 1;
		q->rec->reason = "upstream response broken off";
	}
	return 0;
}

/* Answers a refusal of q (the head already out of c->in). */
static void
req_answer(struct conn *c, struct req_state *q, struct req_creds *cr)
{
	int s = q->status;

	creds_wipe(cr);
	conn_answer(c, q->rec, s,
	    s == 403       ? "denied"
	        : s == 407 ? "auth"
	        : s == 413 ? "too_large"
	        : s == 421 ? "misdirected"
	        : s == 429 ? "limit"
	        : s >= 500 ? "upstream"
	                   : "bad_request",
	    q->why != NULL ? q->why : "error", NULL);
}

/*
 * Handles one request that is not CONNECT: plain http (absolute-form)
 * outside a tunnel, or any request inside one.  The head is in c->in.
 * Steps: where it goes, its path, the decision, the upstream, the head
 * with credentials, then forwarding and relaying the answer.
 */
static void
request_handle(
    struct conn *c, const struct proxy_http_head *h, struct proxy_record *rec)
{
	struct proxy_scan scan;
	struct req_creds cr;
	struct req_state q;

	memset(&q, 0, sizeof(q));
	q.h = h;
	q.rec = rec;
	q.pol = proxy_ident_policy(c->id);
	q.p = (const char *)c->in.data;
	memcpy(q.method, q.p + h->method.off, h->method.len);
	q.method[h->method.len] = '\0';
	proxy_scan_init(&scan, &c->smem);
	memset(&cr, 0, sizeof(cr));
	if (req_target_resolve(c, &q) != 0 || req_path_set(&q) != 0 ||
	    req_decide(c, &q) != 0 || req_upstream_ready(c, &q) != 0 ||
	    req_head_prepare(c, &q, &scan, &cr) != 0) {
		/* An unread body cannot be skipped safely: close after. */
		if (h->framing != PROXY_HTTP_BODY_NONE)
			c->close = 1;
		out_wipe(c);
		buf_consume(&c->in, h->head_len);
		req_answer(c, &q, &cr);
	} else if (req_forward(c, &q, &scan) != 0)
		req_answer(c, &q, &cr);
	rec->redactions = scan.redactions;
	proxy_scan_free(&scan);
	proxy_secmem_reset(&c->smem);
	free(q.norm);
}

/*
 * Where a CONNECT goes, checked: not inside a tunnel, no body, a target
 * the Host header agrees with, a rule for the host (cases 3, 9, 28: no
 * tunnel and no lookup without one).  Returns 0 or -1 with *status set.
 */
static int
connect_target(struct conn *c, const struct proxy_http_head *h,
    struct proxy_record *rec, struct host *host, uint16_t *port,
    const char **why, int *status)
{
	const char *p = (const char *)c->in.data;
	struct policy_decision d;
	struct egress_request er;
	struct host hh;
	uint16_t hport;

	*status = 400;
	if (c->tunnel) {
		*why = "CONNECT inside a tunnel";
		return -1;
	}
	if (h->framing != PROXY_HTTP_BODY_NONE) {
		*why = "CONNECT with a body";
		return -1;
	}
	if (host_authority_parse(p + h->authority.off, h->authority.len, NULL,
	        host, port, why) != 0)
		return -1;
	petri_strlcpy(rec->host, host->name, sizeof(rec->host));
	rec->port = *port;
	if (h->host >= 0 &&
	    (host_authority_parse(p + h->fields[h->host].value.off,
	         h->fields[h->host].value.len, "https", &hh, &hport,
	         why) != 0 ||
	        !authority_eq(&hh, hport, host, *port))) {
		*why = "Host disagrees with the CONNECT target";
		return -1;
	}
	er.scheme = "https";
	er.host = host;
	er.port = *port;
	er.method = NULL;
	er.path = NULL;
	if (policy_eval(proxy_ident_policy(c->id), &er, &d) != 0) {
		*status = 403;
		*why = d.why != NULL ? d.why : "denied by policy";
		return -1;
	}
	rec->rule = d.rule;
	*status = 0;
	return 0;
}

/*
 * Answers 200, accepts the client's TLS with leaf and makes c a tunnel
 * to host:port.  Returns 0, or -1 with the record saying why.
 */
static int
connect_tunnel_start(struct conn *c, SSL_CTX *leaf, const struct host *host,
    uint16_t port, struct proxy_record *rec)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	char sni[CONN_SNI_MAX];
	const char *why = NULL;
	struct host hh;
	SSL *ssl = NULL;

	if (io_write(&c->cli, ok, sizeof(ok) - 1) != 0 ||
	    proxy_tls_accept(leaf, c->cli.fd, &ssl, sni, sizeof(sni)) != 0) {
		rec->status = 200;
		rec->reason = "client TLS handshake failed (does the sandbox "
		              "trust the Petri CA?)";
		return -1;
	}
	/* Case 4: an SNI, when sent, names the CONNECT host. */
	if (sni[0] != '\0' &&
	    (host_canon(sni, strlen(sni), &hh, &why) != 0 ||
	        strcmp(hh.name, host->name) != 0))
		c->sni_mismatch = 1;
	c->cli.ssl = ssl;
	c->tunnel = 1;
	c->t_host = *host;
	c->t_port = port;
	c->close = 0;
	return 0;
}

/*
 * Handles CONNECT: decides, resolves, checks, dials and verifies the
 * upstream, then answers 200 and accepts the client's TLS with a leaf for
 * the host.  Returns 0 when the tunnel is up, else an error (the record is
 * filled; the connection must end).
 */
static int
connect_handle(
    struct conn *c, const struct proxy_http_head *h, struct proxy_record *rec)
{
	const char *why = NULL;
	struct host host;
	SSL_CTX *leaf = NULL;
	uint16_t port = 0;
	int status = 0, consumed = 0, r;

	c->close = 1; /* until the tunnel is up */
	petri_strlcpy(rec->scheme, "https", sizeof(rec->scheme));
	if (connect_target(c, h, rec, &host, &port, &why, &status) != 0)
		goto answer;
	/* Cases 21-26: every address checked before any connect. */
	if (dest_check(
	        c, &host, port, c->t_addrs, &c->t_naddrs, &why, &status) != 0)
		goto answer;
	/* Case 31: the upstream is verified before the client hears back. */
	if (upstream_open(
	        c, &host, port, c->t_addrs, c->t_naddrs, 1, &why, &status) != 0)
		goto answer;
	if (proxy_tls_leaf(c->p->tls, &host, &leaf, &why) != 0) {
		status = 502;
		goto answer;
	}
	buf_consume(&c->in, h->head_len);
	consumed = 1;
	if (c->in.len > 0) {
		status = 400;
		why = "bytes sent before the tunnel was established";
		goto answer;
	}
	r = connect_tunnel_start(c, leaf, &host, port, rec);
	SSL_CTX_free(leaf);
	if (r == 0)
		return 0;
	upstream_close(c);
	return PETRI_ERR_PERM;

answer:
	if (!consumed)
		buf_consume(&c->in, h->head_len);
	conn_answer(c, rec, status,
	    status == 403       ? "denied"
	        : status == 400 ? "bad_request"
	                        : "upstream",
	    why != NULL ? why : "error", NULL);
	SSL_CTX_free(leaf);
	upstream_close(c);
	return PETRI_ERR_PERM;
}

/* A new connection for the accepted socket fd, or NULL. */
static struct conn *
conn_new(struct proxy *p, int fd, const struct addr *src)
{
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->p = p;
	c->src = *src;
	if (addr_format(src, c->srctext, sizeof(c->srctext)) != 0)
		petri_strlcpy(c->srctext, "?", sizeof(c->srctext));
	c->cli.fd = fd;
	c->up.fd = -1;
	buf_init(&c->in, CONN_IN_MAX);
	buf_init(&c->uin, CONN_IN_MAX);
	buf_init(&c->out, CONN_OUT_MAX);
	buf_init(&c->tmp, PROXY_SCAN_PATTERN_MAX + PROXY_IO_CHUNK);
	proxy_secmem_init(&c->smem);
	return c;
}

/* Frees what conn_new() made and the connection's buffers. */
static void
conn_free(struct conn *c)
{
	proxy_ident_release(c->id);
	proxy_secmem_free(&c->smem);
	buf_free(&c->in);
	buf_free(&c->uin);
	buf_free(&c->out);
	buf_free(&c->tmp);
	free(c);
}

/* Ends a connection: its sockets, its identity, its place in the counts. */
static void
conn_end(struct conn *c)
{
	struct proxy *p = c->p;
	size_t i;

	if (c->cli.ssl != NULL) {
		(void)SSL_shutdown(c->cli.ssl);
		SSL_free(c->cli.ssl);
		ERR_clear_error();
	}
	upstream_close(c);
	pthread_mutex_lock(&p->mu);
	close(c->cli.fd);
	c->cli.fd = -1;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	for (i = 0; i < p->nsrc; i++)
		if (addr_eq(&p->src[i].a, &c->src)) {
			if (--p->src[i].n == 0)
				p->src[i] = p->src[--p->nsrc];
			break;
		}
	p->nconns--;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	conn_free(c);
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	struct proxy_http_head *h;
	struct proxy_record rec;
	const char *why;
	size_t hl;
	int r, status;

	if ((h = malloc(sizeof(*h))) == NULL)
		goto out;
	while (!atomic_load(&c->p->stopping)) {
		why = NULL;
		r = read_head(&c->cli, &c->in, &hl, &why);
		if (r == HEAD_EOF || r == PETRI_ERR_TRUNCATED)
			break; /* closed or timed out: nobody to answer */
		c->reported = 0;
		rec_init(c, &rec);
		if (r == 0)
			r = proxy_http_request_parse(
			    (const char *)c->in.data, hl, h, &why);
		if (r != 0) {
			status = r == PETRI_ERR_TOOBIG ? 413
			    : r == PETRI_ERR_UNSUPPORTED
			    ? (why == proxy_http_why_version ? 505 : 501)
			    : 400;
			c->close = 1;
			conn_answer(c, &rec, status,
			    status == 413 ? "too_large" : "bad_request", why,
			    NULL);
			break;
		}
		rec_method(&rec, c, h);
		if (!c->tunnel && conn_auth(c, h, &why) != 0) {
			c->close = 1;
			conn_answer(c, &rec, 407, "auth", why,
			    "Proxy-Authenticate: Basic realm=\"petri\"\r\n");
			break;
		}
		if (rec.sandbox[0] == '\0') {
			/* identified by this request */
			rec_init(c, &rec);
			rec_method(&rec, c, h);
		}
		if (proxy_ident_revoked(c->id)) {
			c->close = 1;
			conn_answer(c, &rec, 407, "auth",
			    "the sandbox no longer exists", NULL);
			break;
		}
		if (proxy_http_span_eq(
		        (const char *)c->in.data, h->method, "CONNECT")) {
			if (connect_handle(c, h, &rec) != 0) {
				rec_emit(c, &rec);
				break;
			}
			continue;
		}
		request_handle(c, h, &rec);
		rec_emit(c, &rec);
		if (c->close)
			break;
	}
out:
	free(h);
	conn_end(c);
	return NULL;
}

/* Refuses a connection at accept time with a canned answer. */
static void
accept_refuse(int fd, int status, const char *reason)
{
	char msg[512];
	char body[256];
	int bl, ml;

	bl = snprintf(body, sizeof(body),
	    "{\"error\":\"limit\",\"reason\":\"%s\"}\n", reason);
	ml = snprintf(msg, sizeof(msg),
	    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
	    status, status_text(status), bl, body);
	if (bl > 0 && ml > 0 && (size_t)ml < sizeof(msg))
		(void)send(fd, msg, (size_t)ml, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

static void *
accept_main(void *arg)
{
	struct proxy *p = arg;
	struct sockaddr_storage ss;
	pthread_attr_t attr;
	struct conn *c;
	struct addr src;
	const char *why;
	socklen_t sl;
	pthread_t th;
	size_t i;
	int fd, status;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, PROXY_THREAD_STACK);
	for (;;) {
		sl = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		fd = accept4(p->lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (atomic_load(&p->stopping)) {
			if (fd >= 0)
				close(fd);
			break;
		}
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				usleep(10000);
			continue;
		}
		sockaddr_to_addr(&ss, &src);
		if ((c = conn_new(p, fd, &src)) == NULL) {
			close(fd);
			continue;
		}
		/* One critical section: conn_end() reorders the table. */
		pthread_mutex_lock(&p->mu);
		for (i = 0; i < p->nsrc; i++)
			if (addr_eq(&p->src[i].a, &src))
				break;
		why = NULL;
		status = 429;
		if (p->nconns >= p->max_conns) {
			why = "too many connections to the proxy";
			status = 503;
		} else if ((i < p->nsrc && p->src[i].n >= p->max_per_src) ||
		    (i == p->nsrc && p->nsrc == PROXY_SRC_TABLE_MAX))
			why = "too many connections from this sandbox";
		if (why != NULL) {
			p->refused++;
			pthread_mutex_unlock(&p->mu);
			conn_free(c);
			accept_refuse(fd, status, why);
			continue;
		}
		if (i == p->nsrc) {
			p->src[p->nsrc].a = src;
			p->src[p->nsrc++].n = 0;
		}
		p->src[i].n++;
		p->nconns++;
		p->total++;
		c->next = p->conns;
		if (p->conns != NULL)
			p->conns->prev = c;
		p->conns = c;
		pthread_mutex_unlock(&p->mu);
		sock_setup(fd, p->io_ms);
		if (pthread_create(&th, &attr, conn_main, c) != 0)
			conn_end(c);
	}
	pthread_attr_destroy(&attr);
	return NULL;
}

int
proxy_new(const struct proxy_config *cfg, struct proxy **out)
{
	struct sockaddr_storage ss;
	struct proxy *p = NULL;
	socklen_t sl;
	int one = 1, r = PETRI_ERR_INVAL;

	*out = NULL;
	if (sodium_init() < 0)
		return PETRI_ERR_CRYPTO;
	if (cfg == NULL || cfg->idents == NULL || cfg->listen_addr == NULL ||
	    cfg->keeper.leaf_sign == NULL || cfg->keeper.cred_get == NULL ||
	    cfg->keeper.report == NULL)
		return PETRI_ERR_INVAL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return PETRI_ERR_NOMEM;
	p->lfd = -1;
	p->cfg = cfg;
	if (addr_parse(cfg->listen_addr, strlen(cfg->listen_addr), &p->laddr) !=
	        0 ||
	    p->laddr.zoned)
		goto fail;
	p->resolver = cfg->resolver;
	if (p->resolver.resolve == NULL)
		p->resolver.resolve = proxy_resolve_default;
	p->dialer = cfg->dialer;
	if (p->dialer.dial == NULL)
		p->dialer.dial = proxy_dial_tcp;
	p->max_conns = cfg->max_conns == 0 || cfg->max_conns > PROXY_CONNS_MAX
	    ? PROXY_CONNS_MAX
	    : cfg->max_conns;
	p->max_per_src = cfg->max_conns_per_src == 0 ||
	        cfg->max_conns_per_src > PROXY_CONNS_PER_SRC_MAX
	    ? PROXY_CONNS_PER_SRC_MAX
	    : cfg->max_conns_per_src;
	p->io_ms =
	    cfg->io_timeout_ms > 0 && cfg->io_timeout_ms < PROXY_IO_TIMEOUT_MS
	    ? cfg->io_timeout_ms
	    : PROXY_IO_TIMEOUT_MS;
	if ((r = proxy_tls_new(cfg->upstream_ca_file, cfg->no_system_roots,
	         &cfg->keeper, &p->tls)) != 0)
		goto fail;
	r = PETRI_ERR_IO;
	if ((sl = addr_to_sockaddr(&p->laddr, cfg->listen_port, &ss)) == 0 ||
	    (p->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) <
	        0 ||
	    setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) !=
	        0 ||
	    bind(p->lfd, (struct sockaddr *)&ss, sl) != 0 ||
	    listen(p->lfd, 512) != 0)
		goto fail;
	sl = sizeof(ss);
	if (getsockname(p->lfd, (struct sockaddr *)&ss, &sl) != 0)
		goto fail;
	p->lport = ntohs(ss.ss_family == AF_INET
	        ? ((struct sockaddr_in *)&ss)->sin_port
	        : ((struct sockaddr_in6 *)&ss)->sin6_port);
	if (pthread_mutex_init(&p->mu, NULL) != 0 ||
	    pthread_cond_init(&p->cv, NULL) != 0) {
		r = PETRI_ERR_NOMEM;
		goto fail;
	}
	atomic_init(&p->stopping, 0);
	*out = p;
	return 0;
fail:
	if (p->lfd >= 0)
		close(p->lfd);
	proxy_tls_free(p->tls);
	free(p);
	return r;
}

uint16_t
proxy_port(const struct proxy *p)
{
	return p->lport;
}

int
proxy_start(struct proxy *p)
{
	sigset_t set, old;
	int r;

	if (p->started)
		return 0;
	/*
	 * OpenSSL writes with write(2): a peer that went away raises
	 * SIGPIPE.  The acceptor and every connection thread (they inherit
	 * the mask) keep it blocked and see EPIPE instead.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	r = pthread_create(&p->acceptor, NULL, accept_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return PETRI_ERR_IO;
	p->started = 1;
	return 0;
}

void
proxy_stats(struct proxy *p, struct proxy_stats *st)
{
	pthread_mutex_lock(&p->mu);
	st->conns_open = p->nconns;
	st->conns_total = p->total;
	st->conns_refused = p->refused;
	pthread_mutex_unlock(&p->mu);
	st->leaves_signed = proxy_tls_leaves_signed(p->tls);
}

void
proxy_free(struct proxy *p)
{
	struct conn *c;

	if (p == NULL)
		return;
	atomic_store(&p->stopping, 1);
	(void)shutdown(p->lfd, SHUT_RDWR);
	if (p->started)
		pthread_join(p->acceptor, NULL);
	pthread_mutex_lock(&p->mu);
	for (c = p->conns; c != NULL; c = c->next) {
		(void)shutdown(c->cli.fd, SHUT_RDWR);
		if (c->up.fd >= 0)
			(void)shutdown(c->up.fd, SHUT_RDWR);
	}
	while (p->nconns > 0)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	close(p->lfd);
	proxy_tls_free(p->tls);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}
