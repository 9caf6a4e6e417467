/*
 * preview_conn.c: one caller connection of the preview gateway.  Reads a
 * request head (bounded in size and time), finds its preview by the Host
 * field, checks a Petri key when the preview asks for one, and passes the
 * request to the app over a connection of its own into the sandbox
 * network, re-framing both bodies; a WebSocket upgrade becomes a two-way
 * byte pipe.  Keep-alive on both sides; a revoked preview's connections
 * are cut by the route removal (shutdown()).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "preview.h"
#include "util.h"

struct pv_sock {
	int *fd;
	unsigned char *buf; /* PV_SOCK_BUF */
	size_t len, off;
};

/* What one exchange came to, for the summary and the next request. */
struct pv_xchg {
	struct pv_route rt;
	struct pv_hit hit;
	int keep; /* the caller's connection goes on */
};

/* --- bounded I/O --------------------------------------------------------- */

static int
pv_wait(int fd, short ev, int64_t deadline)
{
	struct pollfd p = {fd, ev, 0};
	int64_t left;
	int r;

	for (;;) {
		if (fd < 0)
			return PETRI_ERR_IO;
		left = deadline - petri_mono_ms();
		if (left <= 0)
			return PETRI_ERR_TIMEOUT;
		r = poll(&p, 1, (int)(left > 1000000 ? 1000000 : left));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return PETRI_ERR_IO;
	}
}

/* Reads what comes into s (room permitting).  >0 bytes, 0 at EOF, or <0. */
static ssize_t
pv_fill(struct pv_sock *s, int64_t deadline)
{
	ssize_t n;
	int r;

	if (s->off > 0 && s->off == s->len)
		s->off = s->len = 0;
	if (s->len == PV_SOCK_BUF)
		return PETRI_ERR_TOOBIG;
	for (;;) {
		n = recv(*s->fd, s->buf + s->len, PV_SOCK_BUF - s->len, 0);
		if (n >= 0) {
			s->len += (size_t)n;
			return n;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return PETRI_ERR_IO;
		if ((r = pv_wait(*s->fd, POLLIN, deadline)) != 0)
			return r;
	}
}

/*
 * Sends all n bytes within PV_IO_MS of the last progress.  more: more
 * bytes follow at once (MSG_MORE: a head and its body leave in one
 * segment instead of meeting Nagle and a delayed ACK).
 */
static int
pv_send_more(int fd, const void *p, size_t n, int more)
{
	const unsigned char *b = p;
	int64_t deadline = petri_mono_ms() + PV_IO_MS;
	ssize_t w;
	int r;

	while (n > 0) {
		w = send(fd, b, n, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
		if (w > 0) {
			b += w;
			n -= (size_t)w;
			deadline = petri_mono_ms() + PV_IO_MS;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return PETRI_ERR_IO;
		if ((r = pv_wait(fd, POLLOUT, deadline)) != 0)
			return r;
	}
	return 0;
}

static int
pv_send(int fd, const void *p, size_t n)
{
	return pv_send_more(fd, p, n, 0);
}

/*
 * Reads a head into s->buf from its start (what remains of the previous
 * message moves there first): the first byte within first_ms, the whole
 * head within PV_HEAD_MS of it.  Returns 0 with *hlen set, PETRI_ERR_NOTFOUND
 * for a close or an idle timeout before any byte, or the error of the head.
 */
static int
pv_head_read(struct pv_sock *s, int first_ms, size_t *hlen, const char **why)
{
	int64_t deadline = petri_mono_ms() + first_ms;
	size_t scanned = 0;
	ssize_t n;
	int r, started = 0;

	memmove(s->buf, s->buf + s->off, s->len - s->off);
	s->len -= s->off;
	s->off = 0;
	for (;;) {
		if (s->len > 0) {
			if (!started) {
				started = 1;
				deadline = petri_mono_ms() + PV_HEAD_MS;
			}
			r = proxy_http_head_end(
			    (const char *)s->buf, s->len, &scanned, hlen, why);
			if (r != PETRI_ERR_TRUNCATED)
				return r;
		}
		n = pv_fill(s, deadline);
		if (n == 0 || (n < 0 && !started))
			return started ? PETRI_ERR_TRUNCATED
			               : PETRI_ERR_NOTFOUND;
		if (n < 0)
			return (int)n;
	}
}

/* Copies a body from src to dst, framed as out.  *n counts payload bytes. */
static int
pv_body_copy(struct pv_sock *src, int dst, struct proxy_http_body *b,
    enum preview_framing out, uint64_t *n)
{
	size_t used, doff, dlen;
	const char *why = NULL;
	char line[24];
	ssize_t got;
	int r;

	while (!proxy_http_body_done(b)) {
		if (src->off == src->len) {
			got = pv_fill(src, petri_mono_ms() + PV_IO_MS);
			if (got == 0) {
				if (proxy_http_body_eof(b) != 0)
					return PETRI_ERR_TRUNCATED;
				break;
			}
			if (got < 0)
				return (int)got;
		}
		r = proxy_http_body_feed(b, src->buf + src->off,
		    src->len - src->off, &used, &doff, &dlen, &why);
		if (r < 0)
			return r;
		if (dlen > 0) {
			const unsigned char *d = src->buf + src->off + doff;

			if (out == PREVIEW_FRAME_CHUNKED) {
				snprintf(line, sizeof(line), "%zx\r\n", dlen);
				if ((r = pv_send(dst, line, strlen(line))) !=
				        0 ||
				    (r = pv_send(dst, d, dlen)) != 0 ||
				    (r = pv_send(dst, "\r\n", 2)) != 0)
					return r;
			} else if ((r = pv_send(dst, d, dlen)) != 0)
				return r;
			*n += dlen;
		}
		src->off += used;
		if (r == 1)
			break;
	}
	if (out == PREVIEW_FRAME_CHUNKED)
		return pv_send(dst, "0\r\n\r\n", 5);
	return 0;
}

/* --- answers of the gateway's own ------------------------------------------- */

static void
pv_error(struct pv_conn *c, struct pv_xchg *xc, int status, const char *reason,
    const char *text, const char *extra)
{
	char head[512];
	int n;

	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n%sConnection: close\r\n\r\n",
	    status, reason, strlen(text) + 1, extra != NULL ? extra : "");
	if (n > 0 && (size_t)n < sizeof(head) &&
	    pv_send(c->cfd, head, (size_t)n) == 0 &&
	    pv_send(c->cfd, text, strlen(text)) == 0)
		(void)pv_send(c->cfd, "\n", 1);
	xc->hit.status = status;
	xc->keep = 0;
}

/* Maps a head error to an answer. */
static void
pv_head_error(struct pv_conn *c, struct pv_xchg *xc, int e, const char *why)
{
	if (e == PETRI_ERR_TIMEOUT)
		pv_error(c, xc, 408, "Request Timeout",
		    "the request head did not arrive in time", NULL);
	else if (e == PETRI_ERR_TOOBIG)
		pv_error(c, xc, 431, "Request Header Fields Too Large",
		    why != NULL ? why : "request head too large", NULL);
	else if (e == PETRI_ERR_UNSUPPORTED)
		pv_error(c, xc, 505, "HTTP Version Not Supported",
		    why != NULL ? why : "not supported", NULL);
	else
		pv_error(c, xc, 400, "Bad Request",
		    why != NULL ? why : "malformed request", NULL);
}

/* --- the route and the caller's key ------------------------------------------- */

/*
 * The Petri key a caller presents: "Authorization: Bearer KEY" (scripts) or
 * Basic with the key as the password (browsers ask for it after a 401).
 * key (sodium memory of PV_KEY_MAX) gets it.  Returns its length or 0.
 */
#define PV_KEY_MAX 256
static size_t
pv_key_get(const char *p, const struct proxy_http_head *h, char *key)
{
	struct proxy_http_span v, w;
	unsigned char *raw = NULL;
	size_t rawlen = 0, n = 0, i;
	int f = proxy_http_field_find(h, p, "authorization", 0);

	if (f < 0 ||
	    proxy_http_field_find(h, p, "authorization", (size_t)f + 1) >= 0)
		return 0;
	v = h->fields[f].value;
	w.off = v.off;
	w.len = v.len >= 7 ? 7 : 0;
	if (w.len == 7 && proxy_http_span_eq(p, w, "bearer ")) {
		if (v.len - 7 >= PV_KEY_MAX)
			return 0;
		memcpy(key, p + v.off + 7, v.len - 7);
		return v.len - 7;
	}
	w.len = v.len >= 6 ? 6 : 0;
	if (w.len != 6 || !proxy_http_span_eq(p, w, "basic ") ||
	    v.len - 6 > 2 * PV_KEY_MAX ||
	    (raw = sodium_malloc(2 * PV_KEY_MAX)) == NULL)
		return 0;
	if (sodium_base642bin(raw, 2 * PV_KEY_MAX, p + v.off + 6, v.len - 6,
	        NULL, &rawlen, NULL, sodium_base64_VARIANT_ORIGINAL) == 0) {
		for (i = 0; i < rawlen && raw[i] != ':'; i++)
			;
		if (i < rawlen && rawlen - i - 1 < PV_KEY_MAX) {
			n = rawlen - i - 1;
			memcpy(key, raw + i + 1, n);
		}
	}
	sodium_free(raw);
	return n;
}

static int
pv_authorize(struct pv_conn *c, const char *p, const struct proxy_http_head *h,
    struct pv_xchg *xc)
{
	char *key;
	size_t n;
	int r = PETRI_ERR_PERM;

	if (!xc->rt.auth_key)
		return 0;
	if ((key = sodium_malloc(PV_KEY_MAX)) == NULL)
		return PETRI_ERR_NOMEM;
	if ((n = pv_key_get(p, h, key)) > 0)
		r = pv_auth_check(c->x, xc->rt.id, key, n);
	sodium_free(key);
	if (r != 0)
		pv_error(c, xc, 401, "Unauthorized",
		    "this preview needs a Petri API key of its tenant",
		    "WWW-Authenticate: Basic realm=\"Petri preview\", "
		    "charset=\"UTF-8\"\r\n");
	return r;
}

/* Finds the preview the request names.  Answers 400/404 itself. */
static int
pv_resolve(struct pv_conn *c, const char *p, const struct proxy_http_head *h,
    struct pv_xchg *xc)
{
	char token[PREVIEW_TOKEN_HEX + 1];
	struct proxy_http_span v;
	int r;

	if (h->form != PROXY_HTTP_FORM_ORIGIN || h->host < 0) {
		pv_error(c, xc, 400, "Bad Request",
		    "a preview request has an origin-form target and a Host",
		    NULL);
		return PETRI_ERR_INVAL;
	}
	v = h->fields[h->host].value;
	r = preview_host_token(p + v.off, v.len, c->x->conf.domain, token);
	if (r == 0)
		r = pv_route_lookup(c->x, token, &xc->rt);
	sodium_memzero(token, sizeof(token));
	if (r != 0)
		pv_error(c, xc, 404, "Not Found", "no such preview", NULL);
	return r;
}

/* --- the app's side ------------------------------------------------------------- */

static int
pv_connect(const struct pv_route *rt)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, e = 0;
	socklen_t el = sizeof(e);

	memset(&ss, 0, sizeof(ss));
	if (rt->addr.family == ADDR_V4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)rt->port);
		memcpy(&s4->sin_addr, rt->addr.b, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)rt->port);
		memcpy(&s6->sin6_addr, rt->addr.b, 16);
		sl = sizeof(*s6);
	}
	if ((fd = socket(ss.ss_family,
	         SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return PETRI_ERR_IO;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0 &&
	    (errno != EINPROGRESS ||
	        pv_wait(fd, POLLOUT, petri_mono_ms() + PV_CONNECT_MS) != 0 ||
	        getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e != 0)) {
		close(fd);
		return PETRI_ERR_UNAVAIL;
	}
	return fd;
}

/* Sends the head and body of the request to the app. */
static int
pv_forward_request(struct pv_conn *c, struct pv_sock *cs, const char *p,
    const struct proxy_http_head *h, struct pv_xchg *xc, int ws)
{
	enum preview_framing body = h->framing == PROXY_HTTP_BODY_LENGTH
	    ? PREVIEW_FRAME_LENGTH
	    : h->framing == PROXY_HTTP_BODY_CHUNKED ? PREVIEW_FRAME_CHUNKED
	                                            : PREVIEW_FRAME_NONE;
	struct proxy_http_body b;
	struct buf out;
	int r;

	buf_init(&out, PROXY_HTTP_HEAD_MAX + 1024);
	r = preview_request_head(p, h, xc->rt.upstream, body, ws, &out);
	if (r == 0)
		r = pv_send_more(c->ufd, out.data, out.len,
		    body != PREVIEW_FRAME_NONE && h->content_length != 0);
	buf_free(&out);
	if (r != 0)
		return r;
	if ((h->flags & PROXY_HTTP_M_CONTINUE) != 0 &&
	    (r = pv_send(c->cfd, "HTTP/1.1 100 Continue\r\n\r\n", 25)) != 0)
		return r;
	proxy_http_body_init(&b, h);
	return pv_body_copy(cs, c->ufd, &b, body, &xc->hit.bytes_in);
}

/* Two-way copy of an upgraded connection until one side ends. */
static void
pv_pipe(struct pv_conn *c, struct pv_sock *cs, struct pv_sock *us,
    struct pv_xchg *xc)
{
	struct pollfd p[2];
	unsigned char b[16384];
	ssize_t n;
	int i;

	if ((cs->len > cs->off &&
	        pv_send(c->ufd, cs->buf + cs->off, cs->len - cs->off) != 0) ||
	    (us->len > us->off &&
	        pv_send(c->cfd, us->buf + us->off, us->len - us->off) != 0))
		return;
	xc->hit.bytes_in += cs->len - cs->off;
	xc->hit.bytes_out += us->len - us->off;
	cs->off = cs->len = us->off = us->len = 0;
	for (;;) {
		p[0].fd = c->cfd;
		p[1].fd = c->ufd;
		p[0].events = p[1].events = POLLIN;
		p[0].revents = p[1].revents = 0;
		if ((n = poll(p, 2, PV_WS_IDLE_MS)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return;
		}
		for (i = 0; i < 2; i++) {
			if (p[i].revents == 0)
				continue;
			n = recv(p[i].fd, b, sizeof(b), 0);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0 || pv_send(p[1 - i].fd, b, (size_t)n) != 0)
				return;
			if (i == 0)
				xc->hit.bytes_in += (size_t)n;
			else
				xc->hit.bytes_out += (size_t)n;
		}
	}
}

/* Reads the app's answer head, skipping interim 1xx (but 101). */
static int
pv_answer_head(
    struct pv_sock *us, const char *method, struct proxy_http_head *rh)
{
	const char *why = NULL;
	size_t hl;
	int r;

	for (;;) {
		if ((r = pv_head_read(us, PV_ANSWER_MS, &hl, &why)) != 0)
			return r;
		if ((r = proxy_http_response_parse(
		         (const char *)us->buf, hl, method, rh, &why)) != 0)
			return r;
		us->off = hl;
		if (rh->status >= 200 || rh->status == 101)
			return 0;
	}
}

/* Passes the app's answer to the caller.  Returns 0 or an error. */
static int
pv_forward_answer(struct pv_conn *c, struct pv_sock *cs, struct pv_sock *us,
    const struct proxy_http_head *h, struct pv_xchg *xc, int ws)
{
	struct proxy_http_head *rh;
	struct proxy_http_body b;
	enum preview_framing out;
	struct buf head;
	int r, close_up;

	/* h's spans may point at body bytes by now: only its values count */
	if ((rh = malloc(sizeof(*rh))) == NULL)
		return PETRI_ERR_NOMEM;
	if ((r = pv_answer_head(us, xc->hit.method, rh)) != 0) {
		free(rh);
		pv_error(c, xc, 502, "Bad Gateway",
		    "the app did not answer (or not in HTTP/1.x)", NULL);
		return r;
	}
	xc->hit.status = rh->status;
	if (rh->status == 101 && !ws) {
		free(rh);
		pv_error(c, xc, 502, "Bad Gateway",
		    "the app switched protocols unasked", NULL);
		return PETRI_ERR_PROTO;
	}
	out = rh->framing == PROXY_HTTP_BODY_LENGTH ? PREVIEW_FRAME_LENGTH
	    : rh->framing == PROXY_HTTP_BODY_NONE   ? PREVIEW_FRAME_NONE
	    : h->minor == 1                         ? PREVIEW_FRAME_CHUNKED
	                                            : PREVIEW_FRAME_CLOSE;
	if (out == PREVIEW_FRAME_CLOSE || (h->flags & PROXY_HTTP_M_CLOSE))
		xc->keep = 0;
	close_up = (rh->flags & PROXY_HTTP_M_CLOSE) != 0 ||
	    rh->framing == PROXY_HTTP_BODY_CLOSE;
	buf_init(&head, PROXY_HTTP_HEAD_MAX + 1024);
	r = preview_response_head(
	    (const char *)us->buf, rh, out, !xc->keep, &head);
	if (r == 0)
		r = pv_send_more(c->cfd, head.data, head.len,
		    out != PREVIEW_FRAME_NONE && rh->status != 101 &&
		        !(out == PREVIEW_FRAME_LENGTH &&
		            rh->content_length == 0));
	buf_free(&head);
	if (r == 0 && rh->status == 101) {
		pv_pipe(c, cs, us, xc);
		xc->keep = 0;
		close_up = 1;
	} else if (r == 0) {
		proxy_http_body_init(&b, rh);
		r = pv_body_copy(us, c->cfd, &b, out, &xc->hit.bytes_out);
	}
	free(rh);
	if (close_up || r != 0) {
		pv_conn_fd_close(c, &c->ufd);
		us->off = us->len = 0;
	}
	if (r != 0)
		xc->keep = 0;
	return r;
}

/* --- one exchange ---------------------------------------------------------------- */

static void
pv_hit_start(const char *p, const struct proxy_http_head *h, struct pv_xchg *xc)
{
	snprintf(xc->hit.method, sizeof(xc->hit.method), "%.*s",
	    (int)h->method.len, p + h->method.off);
	(void)preview_path_redact(p + h->target.off, h->target.len,
	    xc->hit.path, sizeof(xc->hit.path));
	xc->keep = (h->flags & PROXY_HTTP_M_CLOSE) == 0;
}

/* Makes sure c has a connection to xc's app (keeping one to the same). */
static int
pv_upstream(struct pv_conn *c, struct pv_sock *us, struct pv_xchg *xc)
{
	int fd;

	if (c->ufd >= 0 && strcmp(c->route, xc->rt.id) == 0) {
		/* the app may have closed it while idle (its keep-alive
		 * timeout): anything readable before a request is that */
		struct pollfd p = {c->ufd, POLLIN | POLLRDHUP, 0};

		if (poll(&p, 1, 0) == 0)
			return 0;
	}
	pv_conn_fd_close(c, &c->ufd);
	us->off = us->len = 0;
	if ((fd = pv_connect(&xc->rt)) < 0)
		return fd;
	pv_conn_fd_set(c, fd, xc->rt.id);
	return 0;
}

/* One request and its answer.  Returns whether the connection goes on. */
static int
pv_exchange(struct pv_conn *c, struct pv_sock *cs, struct pv_sock *us,
    struct proxy_http_head *h)
{
	struct pv_xchg xc;
	const char *why = NULL, *p = (const char *)cs->buf;
	int64_t t0;
	size_t hl;
	int r, ws;

	memset(&xc, 0, sizeof(xc));
	if ((r = pv_head_read(cs, PV_IDLE_MS, &hl, &why)) == PETRI_ERR_NOTFOUND)
		return 0;
	t0 = petri_mono_ms();
	xc.hit.time_usec = petri_now_usec();
	xc.hit.src = c->src;
	if (r != 0 || (r = proxy_http_request_parse(p, hl, h, &why)) != 0) {
		pv_head_error(c, &xc, r, why);
		return 0;
	}
	cs->off = hl;
	pv_hit_start(p, h, &xc);
	if (pv_resolve(c, p, h, &xc) != 0)
		return 0; /* unknown previews are not anybody's to record */
	ws = preview_is_websocket(p, h);
	if ((h->flags & PROXY_HTTP_M_EXPECT_BAD) != 0)
		pv_error(c, &xc, 417, "Expectation Failed",
		    "only 100-continue is understood", NULL);
	else if (pv_authorize(c, p, h, &xc) != 0)
		;
	else if (pv_upstream(c, us, &xc) != 0)
		pv_error(c, &xc, 502, "Bad Gateway",
		    "the app does not accept connections", NULL);
	else if (pv_forward_request(c, cs, p, h, &xc, ws) != 0) {
		pv_error(c, &xc, 502, "Bad Gateway",
		    "the request could not be passed to the app", NULL);
		pv_conn_fd_close(c, &c->ufd);
	} else
		(void)pv_forward_answer(c, cs, us, h, &xc, ws);
	xc.hit.ms = petri_mono_ms() - t0;
	pv_route_hit(c->x, xc.rt.id, &xc.hit);
	return xc.keep && pv_route_alive(c->x, xc.rt.id);
}

void *
pv_conn_main(void *arg)
{
	struct pv_conn *c = arg;
	struct pv_sock cs = {&c->cfd, NULL, 0, 0};
	struct pv_sock us = {&c->ufd, NULL, 0, 0};
	struct proxy_http_head *h = malloc(sizeof(*h));

	cs.buf = malloc(PV_SOCK_BUF);
	us.buf = malloc(PV_SOCK_BUF);
	if (h != NULL && cs.buf != NULL && us.buf != NULL)
		while (pv_exchange(c, &cs, &us, h))
			;
	free(h);
	free(cs.buf);
	free(us.buf);
	pv_conn_done(c);
	return NULL;
}
