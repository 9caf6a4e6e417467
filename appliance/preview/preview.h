/*
 * preview.h: the preview gateway process (user _petri_pvw).
 *
 * Holds: the routes the api gave it (token hash -> the app's address on the
 * sandbox network, expiry, whether a Petri key is required) and request
 * summaries not yet reported.  No long-term secret: tokens are known by
 * their hash only; a Petri key a caller presents is hashed, checked by the
 * api and wiped.
 * Hostile input it parses: callers' HTTP (requests, WebSocket frames passed
 * through unread) and the apps' HTTP answers.
 * Talks to: the api (routes in; key checks and request summaries out).  It
 * opens connections into the sandbox network, never the other way.
 */
#ifndef PETRI_PREVIEW_H
#define PETRI_PREVIEW_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "addr.h"
#include "bounds.h"
#include "ipc.h"
#include "preview_conf.h"
#include "preview_http.h"
#include "procs.h"

#define PV_ROUTES_MAX 1024 /* previews open at once */
#define PV_CONNS_MAX 256 /* caller connections at once */
#define PV_REPORT_REQS_MAX 100 /* requests listed in one summary */
#define PV_IDLE_MS 30000 /* between requests of a keep-alive connection */
#define PV_HEAD_MS 10000 /* a whole request head, from its first byte */
#define PV_IO_MS 30000 /* any read or write of a body that stalls */
#define PV_CONNECT_MS 5000 /* connecting to the app */
#define PV_ANSWER_MS 60000 /* the app's response head */
#define PV_WS_IDLE_MS 600000 /* a WebSocket with no traffic */
#define PV_AUTH_MS 5000 /* the api's answer to a key check */
#define PV_SOCK_BUF (PROXY_HTTP_HEAD_MAX + 16384)

struct pv_route {
	int used;
	char id[PETRI_ID_MAX];
	char hash[65]; /* SHA-256 hex of the token */
	char sandbox[PETRI_ID_MAX];
	char upstream[ADDR_TEXT_MAX + 8]; /* "addr:port" (Host for the app) */
	struct addr addr;
	int port;
	int64_t expires_usec;
	int auth_key; /* a Petri key of the tenant is required */
	/* the summary being collected */
	int64_t from_usec;
	uint64_t count, dropped, bytes_in, bytes_out;
	json_t *requests;
};

struct pv_conn {
	struct pv_conn *next;
	int cfd; /* the caller; -1 once closed */
	int ufd; /* the app; -1 when none */
	char route[PETRI_ID_MAX]; /* the preview it is talking to */
	char src[ADDR_TEXT_MAX];
	struct pv *x;
};

struct pv {
	struct proc_ctx *ctx;
	struct preview_conf conf;
	struct ipc_chan *api;
	pthread_mutex_t lock; /* routes, conns */
	struct pv_route routes[PV_ROUTES_MAX];
	struct pv_conn *conns;
	int nconns;
};

/* One request as the gateway saw it, for the summaries. */
struct pv_hit {
	int64_t time_usec;
	const char *src;
	char method[POLICY_METHOD_MAX + 1];
	char path[PREVIEW_PATH_MAX + 1];
	int status;
	uint64_t bytes_in; /* from the caller (body) */
	uint64_t bytes_out; /* to the caller (body) */
	int64_t ms;
};

/*
 * Looks up the live route of a token (hex) and copies it to *out.  Returns 0
 * or PETRI_ERR_NOTFOUND (unknown or expired).  Takes x->lock.
 */
int pv_route_lookup(struct pv *x, const char *token, struct pv_route *out);

/* Adds a request to its route's summary.  Takes x->lock. */
void pv_route_hit(struct pv *x, const char *route, const struct pv_hit *hit);

/* Whether the route still exists (not revoked).  Takes x->lock. */
int pv_route_alive(struct pv *x, const char *route);

/*
 * Asks the api whether key (len bytes) is a live Petri key of the tenant
 * of preview.  Returns 0 or PETRI_ERR_PERM (or the channel's error).
 */
int pv_auth_check(
    struct pv *x, const char *preview, const char *key, size_t len) PETRI_WUR;

/*
 * Serves one caller connection (cfd) to its end, then closes it and frees
 * c; runs on a thread of its own (pv_conn_main's argument is c).
 */
void *pv_conn_main(void *c);

/*
 * Closes *fd of c under x->lock (so a revocation never shuts a descriptor
 * number that was reused).
 */
void pv_conn_fd_close(struct pv_conn *c, int *fd);

/* Sets c's app descriptor (under x->lock). */
void pv_conn_fd_set(struct pv_conn *c, int fd, const char *route);

/* Closes c's descriptors, unlinks and frees it: a connection's last act. */
void pv_conn_done(struct pv_conn *c);

#endif /* PETRI_PREVIEW_H */
