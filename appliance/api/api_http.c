/*
 * api_http.c: the api process: the route table, libmicrohttpd front,
 * routing, bounded body collection, authentication, and the process main
 * loop.  It is the top of the api: it calls the handlers (through the
 * table) and the services' start and stop; nothing calls back into it.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"
#include "api_upload.h"
#include "bounds.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define ROLES_AGENT "admin,agent"
#define ROLES_ADMIN "admin"
#define ROLES_AUDIT "admin,auditor"

static const struct api_route api_routes[] = {
    {"GET", "/healthz", "", API_BODY_NONE, api_healthz},
    {"GET", "/readyz", "", API_BODY_NONE, api_readyz},
    {"GET", "/metrics", "", API_BODY_NONE, api_metrics},
    {"GET", "/console/", "", API_BODY_NONE, api_console_get},
    {"GET", "/console/{*}", "", API_BODY_NONE, api_console_get},
    {"POST", "/v1/sandboxes", ROLES_AGENT, API_BODY_JSON, api_sb_create},
    {"GET", "/v1/sandboxes", ROLES_AGENT, API_BODY_NONE, api_sb_list},
    {"GET", "/v1/sandboxes/{}", ROLES_AGENT, API_BODY_NONE, api_sb_get},
    {"DELETE", "/v1/sandboxes/{}", ROLES_AGENT, API_BODY_NONE, api_sb_delete},
    {"POST", "/v1/sandboxes/{}/keepalive", ROLES_AGENT, API_BODY_JSON,
        api_sb_keepalive},
    {"POST", "/v1/sandboxes/{}/recover", ROLES_AGENT, API_BODY_JSON,
        api_sb_recover},
    {"POST", "/v1/sandboxes/{}/files", ROLES_AGENT, API_BODY_FILE,
        api_files_post},
    {"GET", "/v1/sandboxes/{}/files", ROLES_AGENT, API_BODY_NONE,
        api_files_list},
    {"PUT", "/v1/sandboxes/{}/files/{*}", ROLES_AGENT, API_BODY_FILE,
        api_files_put},
    {"GET", "/v1/sandboxes/{}/files/{*}", ROLES_AGENT, API_BODY_NONE,
        api_files_get},
    {"DELETE", "/v1/sandboxes/{}/files/{*}", ROLES_AGENT, API_BODY_NONE,
        api_files_delete},
    {"POST", "/v1/sandboxes/{}/upload", ROLES_AGENT, API_BODY_FILE,
        api_files_upload},
    {"POST", "/v1/sandboxes/{}/sync", ROLES_AGENT, API_BODY_JSON,
        api_sync_plan},
    {"PUT", "/v1/sandboxes/{}/sync/{}", ROLES_AGENT, API_BODY_FILE,
        api_sync_commit},
    {"POST", "/v1/sandboxes/{}/exec", ROLES_AGENT, API_BODY_JSON, api_exec},
    {"GET", "/v1/sandboxes/{}/execs", ROLES_AGENT, API_BODY_NONE,
        api_exec_list},
    {"POST", "/v1/sandboxes/{}/serve", ROLES_AGENT, API_BODY_JSON, api_serve},
    {"GET", "/v1/sandboxes/{}/previews", ROLES_AGENT, API_BODY_NONE,
        api_preview_list},
    {"GET", "/v1/previews/{}", ROLES_AGENT, API_BODY_NONE, api_preview_get},
    {"DELETE", "/v1/previews/{}", ROLES_AGENT, API_BODY_NONE,
        api_preview_delete},
    {"GET", "/v1/execs/{}", ROLES_AGENT, API_BODY_NONE, api_exec_get},
    {"GET", "/v1/execs/{}/stream", ROLES_AGENT, API_BODY_NONE, api_exec_stream},
    {"GET", "/v1/execs/{}/sbom", ROLES_AGENT, API_BODY_NONE, api_exec_sbom},
    {"POST", "/v1/execs/{}/kill", ROLES_AGENT, API_BODY_JSON, api_exec_kill},
    {"POST", "/v1/execs/{}/stdin", ROLES_AGENT, API_BODY_JSON, api_exec_stdin},
    {"POST", "/v1/keys", ROLES_ADMIN, API_BODY_JSON, api_keys_create},
    {"GET", "/v1/keys", ROLES_ADMIN, API_BODY_NONE, api_keys_list},
    {"DELETE", "/v1/keys/{}", ROLES_ADMIN, API_BODY_NONE, api_keys_delete},
    {"GET", "/v1/audit/{*}", ROLES_AUDIT, API_BODY_NONE, api_audit_route},
    {"POST", "/v1/audit/rotate-key", ROLES_ADMIN, API_BODY_JSON,
        api_admin_rotate_key},
    {"POST", "/v1/audit/retention", ROLES_ADMIN, API_BODY_JSON,
        api_admin_retention},
    {"GET", "/v1/policies", ROLES_ADMIN, API_BODY_NONE, api_policies_list},
    {"GET", "/v1/policies/{}", ROLES_ADMIN, API_BODY_NONE, api_policies_get},
    {"PUT", "/v1/policies/{}", ROLES_ADMIN, API_BODY_JSON, api_policies_put},
    {"DELETE", "/v1/policies/{}", ROLES_ADMIN, API_BODY_NONE,
        api_policies_delete},
    {"POST", "/v1/secrets", ROLES_ADMIN, API_BODY_JSON, api_secrets_create},
    {"GET", "/v1/secrets", ROLES_ADMIN, API_BODY_NONE, api_secrets_list},
    {"GET", "/v1/secrets/{}", ROLES_ADMIN, API_BODY_NONE, api_secrets_list},
    {"PUT", "/v1/secrets/{}", ROLES_ADMIN, API_BODY_JSON, api_secrets_rotate},
    {"DELETE", "/v1/secrets/{}", ROLES_ADMIN, API_BODY_NONE,
        api_secrets_delete},
    {NULL, NULL, NULL, API_BODY_NONE, NULL},
};

/* --- routing and authentication ------------------------------------------- */

/*
 * Matches path against a pattern; fills r->segs with the "{}" segments and,
 * for a trailing "{*}", the rest of the path.  Pure but for r.
 */
static int
api_route_match(const char *pattern, const char *path, struct api_req *r)
{
	const char *p = pattern, *u = path;
	char *out = r->segbuf;
	size_t room = sizeof(r->segbuf);

	r->nsegs = 0;
	while (*p != '\0') {
		if (strncmp(p, "{*}", 3) == 0) {
			size_t n = strlen(u);

			if (n == 0 || n >= room || r->nsegs >= 8)
				return 0;
			memcpy(out, u, n + 1);
			r->segs[r->nsegs++] = out;
			return 1;
		}
		if (strncmp(p, "{}", 2) == 0) {
			size_t n = strcspn(u, "/");

			if (n == 0 || n >= room || r->nsegs >= 8)
				return 0;
			memcpy(out, u, n);
			out[n] = '\0';
			r->segs[r->nsegs++] = out;
			out += n + 1;
			room -= n + 1;
			u += n;
			p += 2;
			continue;
		}
		if (*p != *u)
			return 0;
		p++;
		u++;
	}
	return *u == '\0';
}

static int
api_role_allowed(const char *roles, const char *role)
{
	size_t n = strlen(role);
	const char *p = roles;

	while (*p != '\0') {
		size_t m = strcspn(p, ",");

		if (m == n && strncmp(p, role, n) == 0)
			return 1;
		p += m;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int
api_authenticate(struct api_req *r)
{
	const char *h = api_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	struct db_key k;
	char hash[65];

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
		return PETRI_ERR_PERM;
	h += 7;
	if (strlen(h) == 0 || strlen(h) > 256)
		return PETRI_ERR_PERM;
	petri_sha256_hex(h, strlen(h), hash);
	if (db_key_by_hash(r->api->db, hash, &k) != 0)
		return PETRI_ERR_PERM;
	petri_strlcpy(r->auth.key_id, k.id, sizeof(r->auth.key_id));
	petri_strlcpy(r->auth.tenant, k.tenant, sizeof(r->auth.tenant));
	petri_strlcpy(r->auth.role, k.role, sizeof(r->auth.role));
	r->authed = 1;
	return 0;
}

static void
api_source_ip(struct api_req *r)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	petri_strlcpy(r->source_ip, "unknown", sizeof(r->source_ip));
	ci = MHD_get_connection_info(
	    r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    r->source_ip, sizeof(r->source_ip));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    r->source_ip, sizeof(r->source_ip));
}

static void
api_req_free(struct api_req *r)
{
	if (r == NULL)
		return;
	if (r->pp != NULL)
		MHD_destroy_post_processor(r->pp);
	api_upload_free(r->upload);
	if (r->body_fd >= 0)
		close(r->body_fd);
	buf_free(&r->body);
	free(r);
}

static void
api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	api_req_free(*con_cls);
	*con_cls = NULL;
}

static int
api_begin_fail(enum MHD_Result *ret, enum MHD_Result answer)
{
	*ret = answer;
	return -1;
}

/* Routes and authenticates a request; 0, or -1 with *ret the answer. */
static int
api_begin_route(struct api *a, struct api_req *r, const char *url,
    const char *method, enum MHD_Result *ret)
{
	const struct api_route *rt;
	int path_matched = 0;

	*ret = MHD_YES;
	petri_strlcpy(r->method, method, sizeof(r->method));
	if (strlen(url) > API_MAX_URL)
		return api_begin_fail(ret,
		    api_reply_error(r, MHD_HTTP_URI_TOO_LONG, "too_large",
		        "request URL longer than %d bytes", API_MAX_URL));
	petri_strlcpy(r->path, url, sizeof(r->path));
	for (rt = api_routes; rt->method != NULL; rt++) {
		if (!api_route_match(rt->pattern, r->path, r))
			continue;
		path_matched = 1;
		if (strcmp(rt->method, method) == 0)
			break;
	}
	if (rt->method == NULL) {
		if (path_matched)
			return api_begin_fail(ret,
			    api_reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED,
			        "method_not_allowed", "%s is not allowed on %s",
			        method, r->path));
		return api_begin_fail(ret,
		    api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		        "no such route: %s %s", method, r->path));
	}
	/* re-run the match of the chosen route to fill its segments */
	(void)api_route_match(rt->pattern, r->path, r);
	r->route = rt;
	pthread_mutex_lock(&a->metrics.lock);
	a->metrics.requests++;
	pthread_mutex_unlock(&a->metrics.lock);
	if (rt->roles[0] != '\0') {
		if (api_authenticate(r) != 0)
			return api_begin_fail(ret,
			    api_reply_error(r, MHD_HTTP_UNAUTHORIZED,
			        "unauthorized", "missing or invalid API key"));
		if (!api_role_allowed(rt->roles, r->auth.role))
			return api_begin_fail(ret,
			    api_reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
			        "role %s may not call %s %s", r->auth.role,
			        method, rt->pattern));
	}
	return 0;
}

/* The body a route takes: its limit, and where it goes. */
static enum MHD_Result
api_begin_body(struct api *a, struct api_req *r)
{
	const struct api_route *rt = r->route;
	const char *cl, *ct;

	r->body_kind = rt->body;
	r->body_max = rt->body == API_BODY_JSON ? API_MAX_JSON_BODY
	    : rt->body == API_BODY_FILE         ? API_MAX_UPLOAD_BODY
	                                        : 0;
	cl = api_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL) {
		long long n;

		if (petri_strtonum(cl, 0, LLONG_MAX, &n) != 0)
			return api_reply_error(r, MHD_HTTP_BAD_REQUEST,
			    "invalid_request", "bad Content-Length");
		if ((unsigned long long)n > r->body_max)
			return api_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE,
			    "too_large",
			    "request body of %lld bytes exceeds "
			    "the limit of %zu bytes",
			    n, r->body_max);
	}
	buf_init(&r->body, r->body_max);
	if (rt->body == API_BODY_FILE) {
		ct = api_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
		if (ct != NULL &&
		    strncasecmp(ct, "multipart/form-data", 19) == 0) {
			if ((r->upload = api_upload_new(
			         a->tmp_dir, r->body_max)) == NULL)
				return api_reply_error(r,
				    MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				    "cannot spool the upload");
			r->pp = MHD_create_post_processor(
			    r->conn, 65536, api_upload_iterate, r->upload);
			if (r->pp == NULL)
				return api_reply_error(r, MHD_HTTP_BAD_REQUEST,
				    "invalid_request",
				    "malformed multipart "
				    "form (boundary missing?)");
		} else if ((r->body_fd = open(a->tmp_dir,
		                O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0)
			return api_reply_error(r,
			    MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
			    "cannot spool the upload");
	}
	return MHD_YES;
}

/* First call of a request: route, authenticate, size limits. */
static enum MHD_Result
api_begin(struct api *a, struct api_req *r, const char *url, const char *method)
{
	enum MHD_Result ret;

	if (api_begin_route(a, r, url, method, &ret) != 0)
		return ret;
	return api_begin_body(a, r);
}

/* Takes a chunk of the body.  Returns 0, or PETRI_ERR_TOOBIG/_IO/_INVAL. */
static int
api_take_body(struct api_req *r, const char *data, size_t n)
{
	if (r->body_kind == API_BODY_NONE)
		return n == 0 ? 0 : PETRI_ERR_INVAL;
	if (n > r->body_max - r->body_len)
		return PETRI_ERR_TOOBIG;
	r->body_len += n;
	if (r->body_kind == API_BODY_JSON)
		return buf_append(&r->body, data, n);
	if (r->pp != NULL) {
		if (MHD_post_process(r->pp, data, n) != MHD_YES)
			return api_upload_error(r->upload) != 0
			    ? api_upload_error(r->upload)
			    : PETRI_ERR_INVAL;
		return 0;
	}
	return petri_write_all(r->body_fd, data, n);
}

static enum MHD_Result
api_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct api *a = cls;
	struct api_req *r = *con_cls;
	int e;

	(void)version;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		r->api = a;
		r->conn = conn;
		r->body_fd = -1;
		buf_init(&r->body, 0);
		if (petri_id_new(
		        "req_", r->request_id, sizeof(r->request_id)) != 0)
			return MHD_NO;
		api_source_ip(r);
		*con_cls = r;
		return api_begin(a, r, url, method);
	}
	if (r->answered) {
		/* an early answer is queued: drop what the client still sends */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!r->too_big &&
		    (e = api_take_body(r, upload_data, *upload_data_size)) !=
		        0) {
			*upload_data_size = 0;
			if (e == PETRI_ERR_TOOBIG)
				return api_reply_error(r,
				    MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
				    "request body exceeds the limit of %zu "
				    "bytes",
				    r->body_max);
			if (r->body_kind == API_BODY_NONE)
				return api_reply_error(r, MHD_HTTP_BAD_REQUEST,
				    "invalid_request",
				    "this route takes no "
				    "request body");
			return api_reply_error(r, MHD_HTTP_BAD_REQUEST,
			    "invalid_request", "malformed request body");
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->pp != NULL && api_upload_finish(r->upload) != 0)
		return api_reply_error(r, MHD_HTTP_BAD_REQUEST,
		    "invalid_request", "malformed multipart form");
	return r->route->fn(r);
}

/* --- the process ------------------------------------------------------------- */

static void
api_peer_event(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	(void)c;
	(void)arg;
	if (m == NULL)
		fatal("a peer process went away");
	fatal("unexpected request %u from a peer", m->type);
}

static void
api_bootstrap_admin(struct api *a)
{
	struct db_key k;
	int64_t n = 0;

	if (a->ctx->admin_hash[0] == '\0')
		fatal("no admin key from the parent");
	if (db_key_count(a->db, &n) != 0)
		fatal("state.db: cannot count keys");
	if (n > 0)
		return;
	memset(&k, 0, sizeof(k));
	if (petri_id_new("key_", k.id, sizeof(k.id)) != 0)
		fatal("internal: id");
	petri_strlcpy(k.tenant, "default", sizeof(k.tenant));
	petri_strlcpy(k.role, "admin", sizeof(k.role));
	petri_strlcpy(k.name, "bootstrap admin", sizeof(k.name));
	k.created_at = petri_now_usec();
	if (db_key_insert(a->db, &k, a->ctx->admin_hash) != 0)
		fatal("state.db: cannot store the admin key");
	log_info("created the bootstrap admin key %s", k.id);
}

int
api_main(struct proc_ctx *ctx)
{
	struct api a;
	char path[4096];

	memset(&a, 0, sizeof(a));
	a.ctx = ctx;
	a.cfg = &ctx->cfg;
	pthread_mutex_init(&a.metrics.lock, NULL);
	pthread_mutex_init(&a.runs_lock, NULL);
	pthread_mutex_init(&a.sb_lock, NULL);
	if (petri_path_join(
	        path, sizeof(path), ctx->cfg.data_dir, "api/state.db") != 0 ||
	    db_open(path, &a.db) != 0)
		fatal("cannot open state.db");
	if (petri_path_join(
	        a.tmp_dir, sizeof(a.tmp_dir), ctx->cfg.data_dir, "api") != 0)
		fatal("path too long");
	api_bootstrap_admin(&a);

	a.parent = ipc_chan_new(PROC_FD_CTL, "parent", 1, proto_api_from_parent,
	    proto_api_from_parent_n, api_peer_event, &a);
	if (a.parent == NULL || ipc_chan_start(a.parent) != 0)
		fatal("cannot start the parent channel");
	a.engine = ipc_chan_new(PROC_FD_API_ENGINE, "engine", 0,
	    proto_api_from_engine, proto_api_from_engine_n, api_peer_event, &a);
	a.ws = ipc_chan_new(PROC_FD_API_WS, "ws", 0, proto_api_from_ws,
	    proto_api_from_ws_n, api_peer_event, &a);
	a.keeper = ipc_chan_new(PROC_FD_API_KEEPER, "keeper", 0,
	    proto_api_from_keeper, proto_api_from_keeper_n, api_peer_event, &a);
	if (a.engine == NULL || a.ws == NULL || a.keeper == NULL ||
	    ipc_chan_start(a.engine) != 0 || ipc_chan_start(a.ws) != 0 ||
	    ipc_chan_start(a.keeper) != 0)
		fatal("cannot start the peer channels");
	if (api_egress_open(&a) != 0)
		fatal("cannot start the proxy channel");
	if (api_preview_open(&a) != 0)
		fatal("cannot start the preview gateway channel");
	{
		char err[256];

		if ((a.registries = calloc(1, sizeof(*a.registries))) == NULL ||
		    registries_parse(
		        json_object_get(ctx->cfg.raw, "registries"),
		        a.registries, err, sizeof(err)) != 0)
			fatal("registries: bad configuration");
		api_deps_registries_log(&a);
		api_admin_record_migration(&a);
	}

	api_sb_reconcile(&a);
	if (api_reaper_start(&a) != 0)
		fatal("cannot start the reaper");
	if (api_pool_start(&a) != 0)
		fatal("cannot start the warm pool");

	a.mhd = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
	    NULL, NULL, api_access, &a, MHD_OPTION_LISTEN_SOCKET,
	    (MHD_socket)PROC_FD_API_LISTEN, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)API_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)API_CONN_TIMEOUT_SEC,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
	    MHD_OPTION_NOTIFY_COMPLETED, api_completed, &a, MHD_OPTION_END);
	if (a.mhd == NULL)
		fatal("cannot start the HTTP server");
	log_info("api ready");
	proc_wait_term();
	log_info("api stopping");
	MHD_stop_daemon(a.mhd);
	api_background_stop(&a);
	api_egress_stop(&a);
	db_close(a.db);
	return 0;
}
