/*
 * preview.c: the preview gateway process: its routes, the api channel,
 * the listener and the request summaries (preview.h).  The connections
 * themselves are preview_conn.c's.
 */
#include <sys/prctl.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "dispatch.h"
#include "log.h"
#include "preview.h"
#include "proto.h"
#include "util.h"

/* --- routes ----------------------------------------------------------------- */

static struct pv_route *
pv_route_find(struct pv *x, const char *id)
{
	size_t i;

	for (i = 0; i < PV_ROUTES_MAX; i++)
		if (x->routes[i].used && strcmp(x->routes[i].id, id) == 0)
			return &x->routes[i];
	return NULL;
}

int
pv_route_lookup(struct pv *x, const char *token, struct pv_route *out)
{
	char hash[PETRI_SHA256_HEX];
	int64_t now = petri_now_usec();
	size_t i;
	int r = PETRI_ERR_NOTFOUND;

	petri_sha256_hex(token, strlen(token), hash);
	pthread_mutex_lock(&x->lock);
	for (i = 0; i < PV_ROUTES_MAX; i++) {
		struct pv_route *rt = &x->routes[i];

		if (rt->used && sodium_memcmp(rt->hash, hash, 64) == 0 &&
		    rt->expires_usec > now) {
			*out = *rt;
			out->requests = NULL;
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&x->lock);
	sodium_memzero(hash, sizeof(hash));
	return r;
}

int
pv_route_alive(struct pv *x, const char *route)
{
	struct pv_route *rt;
	int alive;

	pthread_mutex_lock(&x->lock);
	rt = pv_route_find(x, route);
	alive = rt != NULL && rt->expires_usec > petri_now_usec();
	pthread_mutex_unlock(&x->lock);
	return alive;
}

void
pv_route_hit(struct pv *x, const char *route, const struct pv_hit *h)
{
	struct pv_route *rt;
	char ts[PETRI_TIME_MAX];

	petri_time_rfc3339(h->time_usec, ts);
	pthread_mutex_lock(&x->lock);
	if ((rt = pv_route_find(x, route)) != NULL) {
		if (rt->count == 0)
			rt->from_usec = h->time_usec;
		rt->count++;
		rt->bytes_in += h->bytes_in;
		rt->bytes_out += h->bytes_out;
		if (json_array_size(rt->requests) < PV_REPORT_REQS_MAX)
			json_array_append_new(rt->requests,
			    json_pack(
			        "{s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:I}",
			        "time", ts, "src", h->src, "method", h->method,
			        "path", h->path, "status", h->status,
			        "bytes_in", (json_int_t)h->bytes_in,
			        "bytes_out", (json_int_t)h->bytes_out, "ms",
			        (json_int_t)h->ms));
		else
			rt->dropped++;
	}
	pthread_mutex_unlock(&x->lock);
}

/* Sends the summary of rt (x->lock held) and starts a new one. */
static void
pv_route_report(struct pv *x, struct pv_route *rt, int64_t now)
{
	char from[PETRI_TIME_MAX], to[PETRI_TIME_MAX];
	json_t *j;

	if (rt->count == 0)
		return;
	petri_time_rfc3339(rt->from_usec, from);
	petri_time_rfc3339(now, to);
	j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:o}",
	    "preview", rt->id, "sandbox", rt->sandbox, "from", from, "to", to,
	    "count", (json_int_t)rt->count, "dropped", (json_int_t)rt->dropped,
	    "bytes_in", (json_int_t)rt->bytes_in, "bytes_out",
	    (json_int_t)rt->bytes_out, "requests", rt->requests);
	rt->requests = json_array();
	rt->count = rt->dropped = rt->bytes_in = rt->bytes_out = 0;
	if (j == NULL ||
	    ipc_send(x->api, MSG_PVW_REPORT, IPC_ID_SIDE_BIT, j, NULL, 0) != 0)
		log_warn("%s: cannot report its requests to the api", rt->id);
	json_decref(j);
}

/* Summaries: one per preview per report interval, when it had requests. */
static void *
pv_reporter(void *arg)
{
	struct pv *x = arg;
	int64_t now, every = (int64_t)x->conf.report_seconds * 1000000;
	size_t i;

	for (;;) {
		sleep(1);
		now = petri_now_usec();
		pthread_mutex_lock(&x->lock);
		for (i = 0; i < PV_ROUTES_MAX; i++) {
			struct pv_route *rt = &x->routes[i];

			if (rt->used && rt->count > 0 &&
			    now - rt->from_usec >= every)
				pv_route_report(x, rt, now);
		}
		pthread_mutex_unlock(&x->lock);
	}
	return NULL;
}

/* --- the api's requests ------------------------------------------------------ */

static void
pv_answer(struct pv *x, uint32_t id, int e, const char *msg)
{
	int r = e == 0 ? ipc_send(x->api, MSG_OK, id, NULL, NULL, 0)
	               : proto_send_err(x->api, id, e, msg);

	if (r != 0)
		log_warn("cannot answer the api");
}

/* Reads m strictly (dispatch_read()): a malformed message is fatal. */
#define pv_read(m, ...) dispatch_read((m), "preview", __VA_ARGS__)

/* MSG_PVW_ROUTE_SET's fields (api_preview.c sends them) into *rt. */
static int
pv_route_parse(const struct ipc_msg *m, struct pv_route *rt)
{
	const char *id = NULL, *hash = NULL, *sb = NULL, *addr = NULL;
	json_int_t port = 0, exp = 0;
	int auth_key = 0;
	char text[ADDR_TEXT_MAX];
	unsigned char raw[32];

	memset(rt, 0, sizeof(*rt));
	pv_read(m, "{s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "preview", &id,
	    "hash", &hash, "sandbox", &sb, "addr", &addr, "port", &port,
	    "expires_usec", &exp, "auth_key", &auth_key);
	if (!petri_id_valid(id, "pv_") || strlen(hash) != 64 ||
	    petri_unhex(hash, raw, sizeof(raw)) != 0 ||
	    !petri_id_valid(sb, "sb_") ||
	    addr_parse(addr, strlen(addr), &rt->addr) != 0 ||
	    addr_format(&rt->addr, text, sizeof(text)) != 0 || port < 1 ||
	    port > 65535 || exp <= 0)
		return PETRI_ERR_PROTO;
	petri_strlcpy(rt->id, id, sizeof(rt->id));
	petri_strlcpy(rt->hash, hash, sizeof(rt->hash));
	petri_strlcpy(rt->sandbox, sb, sizeof(rt->sandbox));
	snprintf(rt->upstream, sizeof(rt->upstream),
	    rt->addr.family == ADDR_V6 ? "[%s]:%d" : "%s:%d", text, (int)port);
	rt->port = (int)port;
	rt->expires_usec = (int64_t)exp;
	rt->auth_key = auth_key;
	rt->used = 1;
	return 0;
}

static void
pv_do_route_set(void *arg, struct ipc_msg *m)
{
	struct pv *x = arg;
	struct pv_route rt, *slot = NULL;
	size_t i;

	if (pv_route_parse(m, &rt) != 0)
		fatal("a malformed route from the api");
	pthread_mutex_lock(&x->lock);
	if (pv_route_find(x, rt.id) != NULL) {
		pthread_mutex_unlock(&x->lock);
		pv_answer(x, m->id, PETRI_ERR_EXISTS, "the preview exists");
		return;
	}
	for (i = 0; i < PV_ROUTES_MAX && slot == NULL; i++)
		if (!x->routes[i].used)
			slot = &x->routes[i];
	if (slot != NULL) {
		*slot = rt;
		slot->requests = json_array();
	}
	pthread_mutex_unlock(&x->lock);
	if (slot == NULL) {
		pv_answer(x, m->id, PETRI_ERR_LIMIT, "too many previews");
		return;
	}
	log_debug("route %s -> %s", rt.id, rt.upstream);
	pv_answer(x, m->id, 0, NULL);
}

/*
 * Ends a route: no new request finds it, the connections talking to it
 * are cut now (shutdown wakes their threads), its last summary goes out
 * before the answer.
 */
static void
pv_do_route_del(void *arg, struct ipc_msg *m)
{
	struct pv *x = arg;
	const char *id = NULL;
	struct pv_route *rt;
	struct pv_conn *c;
	int cut = 0;

	pv_read(m, "{s:s}", "preview", &id);
	if (!petri_id_valid(id, "pv_"))
		fatal("a malformed route removal from the api");
	pthread_mutex_lock(&x->lock);
	if ((rt = pv_route_find(x, id)) == NULL) {
		pthread_mutex_unlock(&x->lock);
		pv_answer(x, m->id, PETRI_ERR_NOTFOUND, "no such preview");
		return;
	}
	rt->expires_usec = 0; /* dead to lookups from here on */
	for (c = x->conns; c != NULL; c = c->next)
		if (strcmp(c->route, id) == 0) {
			if (c->cfd >= 0)
				(void)shutdown(c->cfd, SHUT_RDWR);
			if (c->ufd >= 0)
				(void)shutdown(c->ufd, SHUT_RDWR);
			cut++;
		}
	pv_route_report(x, rt, petri_now_usec());
	json_decref(rt->requests);
	sodium_memzero(rt, sizeof(*rt));
	pthread_mutex_unlock(&x->lock);
	log_debug("route %s removed, %d connection(s) cut", id, cut);
	pv_answer(x, m->id, 0, NULL);
}

/* What the gateway does, for whom: its one peer is the api. */
static const struct dispatch_entry pv_handlers[] = {
    {MSG_PVW_ROUTE_SET, PEER_API, pv_do_route_set, 0},
    {MSG_PVW_ROUTE_DEL, PEER_API, pv_do_route_del, 0},
    {MSG_OK, PEER_API, dispatch_ignore, 0},
    {MSG_ERR, PEER_API, dispatch_ignore, 0},
};
#define PV_NHANDLERS (sizeof(pv_handlers) / sizeof(pv_handlers[0]))

static void
pv_request(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	(void)c;
	if (m == NULL)
		return; /* the api is gone: the daemon is stopping */
	dispatch_get(pv_handlers, PV_NHANDLERS, "preview", "api", PEER_API, m)
	    ->fn(arg, m);
	ipc_msg_clear(m);
}

int
pv_auth_check(struct pv *x, const char *preview, const char *key, size_t len)
{
	char hash[PETRI_SHA256_HEX];
	struct ipc_msg m;
	int r;

	petri_sha256_hex(key, len, hash);
	r = ipc_request(x->api, MSG_PVW_AUTH,
	    json_pack("{s:s, s:s}", "preview", preview, "key_hash", hash), NULL,
	    0, PV_AUTH_MS, &m);
	sodium_memzero(hash, sizeof(hash));
	if (r != 0)
		return r;
	r = proto_result(&m, NULL, 0);
	ipc_msg_clear(&m);
	return r == 0 ? 0 : PETRI_ERR_PERM;
}

/* --- connections ---------------------------------------------------------------- */

void
pv_conn_fd_close(struct pv_conn *c, int *fd)
{
	pthread_mutex_lock(&c->x->lock);
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	pthread_mutex_unlock(&c->x->lock);
}

void
pv_conn_fd_set(struct pv_conn *c, int fd, const char *route)
{
	pthread_mutex_lock(&c->x->lock);
	c->ufd = fd;
	petri_strlcpy(c->route, route, sizeof(c->route));
	pthread_mutex_unlock(&c->x->lock);
}

static const char pv_busy[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
    "Content-Length: 31\r\nConnection: close\r\nRetry-After: 5\r\n\r\n"
    "too many preview connections\r\n\r\n";

static void
pv_accept_one(struct pv *x, int fd, const struct sockaddr_storage *ss)
{
	struct pv_conn *c;
	pthread_attr_t at;
	pthread_t t;
	char text[ADDR_TEXT_MAX] = "?";
	int one = 1;

	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr,
		    text, sizeof(text));
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)ss)->sin6_addr, text,
		    sizeof(text));
	pthread_mutex_lock(&x->lock);
	if (x->nconns >= PV_CONNS_MAX || (c = calloc(1, sizeof(*c))) == NULL) {
		pthread_mutex_unlock(&x->lock);
		(void)send(fd, pv_busy, sizeof(pv_busy) - 1,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->cfd = fd;
	c->ufd = -1;
	c->x = x;
	petri_strlcpy(c->src, text, sizeof(c->src));
	c->next = x->conns;
	x->conns = c;
	x->nconns++;
	pthread_mutex_unlock(&x->lock);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 * 1024);
	if (pthread_create(&t, &at, pv_conn_main, c) != 0) {
		log_warn("cannot start a connection thread");
		pthread_mutex_lock(&x->lock);
		x->conns = c->next;
		x->nconns--;
		pthread_mutex_unlock(&x->lock);
		close(fd);
		free(c);
	}
	pthread_attr_destroy(&at);
}

/* Unlinks and frees c (its descriptors are closed). */
static void
pv_conn_unlink(struct pv *x, struct pv_conn *c)
{
	struct pv_conn **pp;

	pthread_mutex_lock(&x->lock);
	for (pp = &x->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			x->nconns--;
			break;
		}
	pthread_mutex_unlock(&x->lock);
	free(c);
}

void
pv_conn_done(struct pv_conn *c)
{
	pv_conn_fd_close(c, &c->ufd);
	pv_conn_fd_close(c, &c->cfd);
	pv_conn_unlink(c->x, c);
}

static void *
pv_acceptor(void *arg)
{
	struct pv *x = arg;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;

	for (;;) {
		sl = sizeof(ss);
		fd = accept4(PROC_FD_PREVIEW_LISTEN, (struct sockaddr *)&ss,
		    &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno != EINTR && errno != ECONNABORTED &&
			    errno != EMFILE && errno != ENFILE)
				fatal("accept: %s", strerror(errno));
			if (errno == EMFILE || errno == ENFILE)
				usleep(100000);
			continue;
		}
		pv_accept_one(x, fd, &ss);
	}
	return NULL;
}

int
preview_main(struct proc_ctx *ctx)
{
	struct pv *x;
	pthread_t t;
	char err[256];

	if ((x = calloc(1, sizeof(*x))) == NULL)
		fatal("out of memory");
	x->ctx = ctx;
	pthread_mutex_init(&x->lock, NULL);
	if (prctl(PR_SET_DUMPABLE, 0) != 0)
		fatal("prctl(PR_SET_DUMPABLE): cannot protect the gateway");
	if (preview_conf_parse(json_object_get(ctx->cfg.raw, "preview"),
	        &x->conf, err, sizeof(err)) != 0)
		fatal("configuration: %s", err);
	dispatch_require(pv_handlers, PV_NHANDLERS, "preview", "api", PEER_API,
	    proto_preview_from_api, proto_preview_from_api_n);
	x->api = ipc_chan_new(PROC_FD_PEER_API, "api", 1,
	    proto_preview_from_api, proto_preview_from_api_n, pv_request, x);
	if (x->api == NULL || ipc_chan_start(x->api) != 0)
		fatal("cannot start the api channel");
	if (pthread_create(&t, NULL, pv_reporter, x) != 0 ||
	    pthread_detach(t) != 0 ||
	    pthread_create(&t, NULL, pv_acceptor, x) != 0 ||
	    pthread_detach(t) != 0)
		fatal("cannot start the gateway threads");
	log_info("preview gateway listening on %s:%d (*.%s)",
	    x->conf.listen_host, x->conf.listen_port, x->conf.domain);
	proc_wait_term();
	log_info("preview gateway stopping");
	return 0;
}
