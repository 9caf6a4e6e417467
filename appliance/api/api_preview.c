/*
 * api_preview.c: serve mode.  POST /v1/sandboxes/{id}/serve starts an app
 * as a background execution (install step first), waits until it listens,
 * and opens a preview: a URL whose unguessable token the preview gateway
 * (appliance/preview/) routes to the app's address on the sandbox network.
 * The token is handed out once, in the answer; state.db and the gateway
 * know its hash only.  Previews close on DELETE, at their expiry, when the
 * app stops, with their sandbox, and when petrid restarts; every opening
 * and closing is an audit record, and the gateway's request summaries are
 * records too (preview.requests).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"
#include "bounds.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define PREVIEW_PER_SANDBOX_MAX 8
#define PREVIEW_READY_DEFAULT 60 /* seconds serve.sh waits for a listener */
#define PREVIEW_READY_MAX 300
#define PREVIEW_INSTALL_GRACE_MS 900000 /* the install step before that */
#define PREVIEW_OUTPUT_TAIL 4096 /* of the app's output, in a failure */
#define PREVIEW_GW_TIMEOUT_MS 10000
#define PREVIEW_MARK "@@PETRI-SERVE@@ port="

static const char *const serve_keys[] = {"command", "port", "ttl_seconds",
    "install", "auth", "ready_timeout_seconds", NULL};

/* One close at a time: a preview is closed (and recorded) once. */
static pthread_mutex_t preview_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *
pv_str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

/* --- closing ----------------------------------------------------------------- */

/*
 * Closes preview id (of tenant; NULL: any) for reason: the gateway forgets
 * its route (the URL stops answering now), the app is stopped, state.db
 * and the audit log say so.  r is the actor (NULL: the appliance).
 * *doc (may be NULL) gets the closed document.  Returns 0 or a PETRI_ERR_*.
 */
static int
preview_close(struct api *a, const char *id, const char *tenant,
    const char *reason, struct api_req *r, json_t **docp)
{
	json_t *doc = NULL, *ev;
	char ts[PETRI_TIME_MAX], msg[128];
	int e;

	if (docp != NULL)
		*docp = NULL;
	pthread_mutex_lock(&preview_lock);
	if ((e = db_preview_get(a->db, id, tenant, &doc)) != 0)
		goto out;
	if (json_object_get(doc, "closed_at") != NULL)
		goto done; /* closed already: nothing more to say */
	e = api_ask(a->preview, MSG_PVW_ROUTE_DEL,
	    json_pack("{s:s}", "preview", id), NULL, 0, PREVIEW_GW_TIMEOUT_MS,
	    NULL, msg, sizeof(msg));
	if (e != 0 && e != PETRI_ERR_NOTFOUND) {
		log_warn("%s: the gateway did not drop its route: %s", id, msg);
		goto out;
	}
	(void)api_runs_kill(a, pv_str(doc, "exec"), pv_str(doc, "tenant"));
	petri_time_rfc3339(petri_now_usec(), ts);
	json_object_set_new(doc, "status", json_string("closed"));
	json_object_set_new(doc, "closed_at", json_string(ts));
	json_object_set_new(doc, "close_reason", json_string(reason));
	if ((e = db_preview_update(a->db, id, doc)) != 0)
		goto out;
	ev = json_pack("{s:s, s:s, s:O, s:O, s:s}", "preview", id, "sandbox",
	    pv_str(doc, "sandbox"), "exec", json_object_get(doc, "exec"),
	    "port", json_object_get(doc, "port"), "reason", reason);
	if (r == NULL)
		json_object_set_new(
		    ev, "tenant", json_string(pv_str(doc, "tenant")));
	e = r != NULL
	    ? api_audit(a, r, "preview.closed", ev, NULL)
	    : wrap_keeper_append(a, NULL, NULL, "preview.closed", ev, NULL);
	if (e != 0)
		log_warn(
		    "%s: closed, but the audit log did not take the record",
		    id);
	log_info("preview %s closed (%s)", id, reason);
done:
	if (docp != NULL) {
		*docp = doc;
		doc = NULL;
	}
out:
	pthread_mutex_unlock(&preview_lock);
	json_decref(doc);
	return e;
}

void
api_preview_close_sandbox(struct api *a, const char *sandbox)
{
	json_t *list = NULL, *d;
	size_t i;

	if (db_preview_list(a->db, sandbox, NULL, 1, 1000, &list) != 0)
		return;
	json_array_foreach (list, i, d)
		(void)preview_close(
		    a, pv_str(d, "id"), NULL, "sandbox_removed", NULL, NULL);
	json_decref(list);
}

void
api_preview_reap(struct api *a)
{
	json_t *list = NULL, *d;
	struct buf o, e;
	int64_t exp, now = petri_now_usec();
	size_t i;
	int running;

	if (db_preview_list(a->db, NULL, NULL, 1, 1000, &list) != 0)
		return;
	buf_init(&o, 1);
	buf_init(&e, 1);
	json_array_foreach (list, i, d) {
		const char *why = NULL;

		if (petri_time_parse(pv_str(d, "expires_at"), &exp) != 0 ||
		    exp <= now)
			why = "expired";
		else if (api_runs_peek(a, pv_str(d, "exec"),
		             pv_str(d, "tenant"), &o, &e, &running) != 0 ||
		    !running)
			why = "app_exited";
		if (why != NULL)
			(void)preview_close(
			    a, pv_str(d, "id"), NULL, why, NULL, NULL);
	}
	buf_free(&o);
	buf_free(&e);
	json_decref(list);
}

/* --- the gateway's requests ----------------------------------------------------- */

/* Is key_hash a live key of the preview's tenant (any role)? */
static int
preview_auth(struct api *a, json_t *m)
{
	const char *id = json_string_value(json_object_get(m, "preview"));
	const char *kh = json_string_value(json_object_get(m, "key_hash"));
	unsigned char raw[32];
	struct db_key k;
	json_t *doc = NULL;
	int e = PETRI_ERR_PERM;

	if (id == NULL || !petri_id_valid(id, "pv_") || kh == NULL ||
	    strlen(kh) != 64 || petri_unhex(kh, raw, sizeof(raw)) != 0)
		fatal("a malformed key check from the preview gateway");
	if (db_preview_get(a->db, id, NULL, &doc) == 0 &&
	    json_object_get(doc, "closed_at") == NULL &&
	    db_key_by_hash(a->db, kh, &k) == 0 &&
	    strcmp(k.tenant, pv_str(doc, "tenant")) == 0)
		e = 0;
	json_decref(doc);
	sodium_memzero(&k, sizeof(k));
	return e;
}

/* Someone is looking at the app: that is activity of its sandbox. */
static void
preview_activity(struct api *a, const char *sandbox, const char *tenant)
{
	json_t *sb = NULL;
	json_int_t ttl;
	int64_t now = petri_now_usec();

	if (db_sandbox_get(a->db, sandbox, tenant, &sb) != 0)
		return;
	if ((ttl = json_integer_value(json_object_get(sb, "ttl_seconds"))) <= 0)
		ttl = a->cfg->ttl_seconds;
	if (db_sandbox_touch(
	        a->db, sandbox, now, now + (int64_t)ttl * 1000000) != 0)
		log_warn("state.db: cannot record activity of %s", sandbox);
	json_decref(sb);
}

/* A summary of a preview's requests becomes a record of its own. */
static void
preview_report(struct api *a, json_t *m)
{
	const char *id = json_string_value(json_object_get(m, "preview"));
	json_t *doc = NULL, *ev;

	if (id == NULL || !petri_id_valid(id, "pv_") ||
	    !json_is_array(json_object_get(m, "requests")))
		fatal("a malformed report from the preview gateway");
	if (db_preview_get(a->db, id, NULL, &doc) != 0) {
		log_warn("a report of unknown preview %s", id);
		return;
	}
	ev = json_deep_copy(m);
	json_object_set_new(ev, "tenant", json_string(pv_str(doc, "tenant")));
	json_object_set_new(ev, "sandbox", json_string(pv_str(doc, "sandbox")));
	if (wrap_keeper_append(a, NULL, NULL, "preview.requests", ev, NULL) !=
	    0)
		log_warn(
		    "%s: the audit log did not take a request summary", id);
	preview_activity(a, pv_str(doc, "sandbox"), pv_str(doc, "tenant"));
	json_decref(doc);
}

static void
preview_peer(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	struct api *a = arg;
	int e;

	if (m == NULL)
		fatal("the preview gateway went away");
	if (m->type == MSG_PVW_AUTH) {
		e = preview_auth(a, m->json);
		if ((e == 0 ? ipc_send(c, MSG_OK, m->id, NULL, NULL, 0)
		            : proto_send_err(c, m->id, e,
		                  "not a key of the "
		                  "tenant")) != 0)
			log_warn("cannot answer the preview gateway");
	} else if (m->type == MSG_PVW_REPORT)
		preview_report(a, m->json);
	ipc_msg_clear(m);
}

int
api_preview_open(struct api *a)
{
	json_t *list = NULL, *d;
	char err[256];
	size_t i;

	if ((a->preview_conf = calloc(1, sizeof(*a->preview_conf))) == NULL ||
	    preview_conf_parse(json_object_get(a->cfg->raw, "preview"),
	        a->preview_conf, err, sizeof(err)) != 0)
		return PETRI_ERR_INVAL;
	a->preview = ipc_chan_new(PROC_FD_API_PREVIEW, "preview", 0,
	    proto_api_from_preview, proto_api_from_preview_n, preview_peer, a);
	if (a->preview == NULL || ipc_chan_start(a->preview) != 0)
		return PETRI_ERR_IO;
	/* the gateway starts with no route: what was open is closed */
	if (db_preview_list(a->db, NULL, NULL, 1, 100000, &list) == 0) {
		json_array_foreach (list, i, d)
			(void)preview_close(
			    a, pv_str(d, "id"), NULL, "restart", NULL, NULL);
		json_decref(list);
	}
	return 0;
}

/* --- the routes ---------------------------------------------------------------- */

/* The public view of a stored preview. */
static json_t *
preview_public(json_t *doc)
{
	json_t *v = json_deep_copy(doc);

	json_object_del(v, "tenant");
	return v;
}

enum MHD_Result
api_preview_list(struct api_req *r)
{
	json_t *sb, *list = NULL, *out, *d;
	size_t i;
	int e;

	if ((sb = api_sb_load(r, 0)) == NULL)
		return MHD_YES;
	json_decref(sb);
	if ((e = db_preview_list(
	         r->api->db, r->segs[0], r->auth.tenant, 0, 100, &list)) != 0)
		return api_reply_err(r, e, "preview registry");
	out = json_array();
	json_array_foreach (list, i, d)
		json_array_append_new(out, preview_public(d));
	json_decref(list);
	return api_reply_json(
	    r, MHD_HTTP_OK, json_pack("{s:o}", "previews", out));
}

enum MHD_Result
api_preview_get(struct api_req *r)
{
	json_t *doc = NULL;

	if (!petri_id_valid(r->segs[0], "pv_") ||
	    db_preview_get(r->api->db, r->segs[0], r->auth.tenant, &doc) != 0)
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		    "preview %.40s not found", r->segs[0]);
	return api_reply_json(r, MHD_HTTP_OK, preview_public(doc));
}

enum MHD_Result
api_preview_delete(struct api_req *r)
{
	json_t *doc = NULL, *pub;
	int e;

	if (!petri_id_valid(r->segs[0], "pv_"))
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		    "preview %.40s not found", r->segs[0]);
	e = preview_close(
	    r->api, r->segs[0], r->auth.tenant, "revoked", r, &doc);
	if (e == PETRI_ERR_NOTFOUND)
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		    "preview %.40s not found", r->segs[0]);
	if (e != 0)
		return api_reply_err(r, e, "preview");
	pub = preview_public(doc);
	json_decref(doc);
	return api_reply_json(r, MHD_HTTP_OK, pub);
}

/* --- POST /v1/sandboxes/{id}/serve ----------------------------------------------- */

struct serve_req {
	const char *command;
	int port; /* 0: the first new listening socket */
	int ttl;
	const char *install;
	int auth_key;
	int ready;
	char exec[PETRI_ID_MAX];
	int listening; /* the port found */
};

static int
serve_int(json_t *body, const char *k, int lo, int hi, int *out, char *msg,
    size_t msglen)
{
	json_t *v = json_object_get(body, k);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi) {
		snprintf(msg, msglen, "%s: must be an integer in [%d, %d]", k,
		    lo, hi);
		return PETRI_ERR_INVAL;
	}
	*out = (int)json_integer_value(v);
	return 0;
}

static int
serve_parse(
    struct api *a, json_t *body, struct serve_req *s, char *msg, size_t msglen)
{
	json_t *v;
	const char *t;

	memset(s, 0, sizeof(*s));
	s->ttl = a->preview_conf->ttl_seconds;
	s->ready = PREVIEW_READY_DEFAULT;
	s->install = "auto";
	if (api_valid_keys(body, serve_keys, msg, msglen) != 0)
		return PETRI_ERR_INVAL;
	v = json_object_get(body, "command");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > API_MAX_STR ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(msg, msglen,
		    "command: a non-empty string without NUL is required");
		return PETRI_ERR_INVAL;
	}
	s->command = json_string_value(v);
	if (serve_int(body, "port", 1, 65535, &s->port, msg, msglen) != 0 ||
	    serve_int(body, "ttl_seconds", 1, a->preview_conf->max_ttl_seconds,
	        &s->ttl, msg, msglen) != 0 ||
	    serve_int(body, "ready_timeout_seconds", 1, PREVIEW_READY_MAX,
	        &s->ready, msg, msglen) != 0)
		return PETRI_ERR_INVAL;
	if ((v = json_object_get(body, "install")) != NULL) {
		t = json_string_value(v);
		if (t == NULL ||
		    (strcmp(t, "auto") != 0 && strcmp(t, "skip") != 0)) {
			snprintf(msg, msglen,
			    "install: must be \"auto\" or \"skip\"");
			return PETRI_ERR_INVAL;
		}
		s->install = t;
	}
	if ((v = json_object_get(body, "auth")) != NULL) {
		t = json_string_value(v);
		if (t == NULL ||
		    (strcmp(t, "token") != 0 && strcmp(t, "key") != 0)) {
			snprintf(
			    msg, msglen, "auth: must be \"token\" or \"key\"");
			return PETRI_ERR_INVAL;
		}
		s->auth_key = strcmp(t, "key") == 0;
	}
	return 0;
}

/*
 * Starts serve.sh as a background execution through api_exec() (the
 * install step, the audit record and the registry row are the exec's).
 * On failure queues api_exec()'s own answer and returns its status.
 */
static unsigned int
serve_start(struct api_req *r, struct serve_req *s)
{
	char port[16], ready[16];
	json_t *id;
	unsigned int st;

	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(ready, sizeof(ready), "%d", s->ready);
	r->inner_body = json_pack("{s:[s, s, s, s, s], s:b, s:s}", "argv",
	    "/bin/sh", "/usr/local/lib/petri/serve.sh", port, ready, s->command,
	    "background", 1, "install", s->install);
	if (r->inner_body == NULL)
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	(void)api_exec(r);
	json_decref(r->inner_body);
	r->inner_body = NULL;
	st = r->inner_status;
	id = json_object_get(r->inner_reply, "id");
	if (st == MHD_HTTP_ACCEPTED && json_is_string(id))
		petri_strlcpy(s->exec, json_string_value(id), sizeof(s->exec));
	else {
		if (st == 0 || r->inner_reply == NULL)
			(void)api_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
			    "internal", "serve failed");
		else
			(void)api_reply_json(
			    r, st, json_incref(r->inner_reply));
		if (st == MHD_HTTP_ACCEPTED)
			st = MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	json_decref(r->inner_reply);
	r->inner_reply = NULL;
	return st;
}

/* The port serve.sh found, from its marker line on stderr; 0 if none. */
static int
serve_marker(const struct buf *err)
{
	const char *p, *end = (const char *)err->data + err->len;
	size_t ml = sizeof(PREVIEW_MARK) - 1;
	long long port = 0;
	char digits[8];
	size_t n = 0;

	for (p = (const char *)err->data; p != NULL && p + ml <= end;
	     p = memchr(p, '\n', (size_t)(end - p)),
	    p = p != NULL ? p + 1 : p) {
		if (memcmp(p, PREVIEW_MARK, ml) != 0)
			continue;
		for (p += ml; p < end && n < sizeof(digits) - 1 && *p >= '0' &&
		     *p <= '9';)
			digits[n++] = *p++;
		digits[n] = '\0';
		if (petri_strtonum(digits, 1, 65535, &port) != 0)
			port = 0;
		break;
	}
	return (int)port;
}

/* Waits until the app listens (1) or its execution ended (0). */
static int
serve_wait(struct api *a, struct serve_req *s, const char *tenant,
    struct buf *out, struct buf *err)
{
	int64_t deadline = petri_mono_ms() + PREVIEW_INSTALL_GRACE_MS +
	    (int64_t)s->ready * 1000;
	int running = 0;

	while (petri_mono_ms() < deadline) {
		if (api_runs_peek(a, s->exec, tenant, out, err, &running) != 0)
			return 0;
		if ((s->listening = serve_marker(err)) > 0)
			return 1;
		if (!running)
			return 0;
		usleep(100000);
	}
	return 0;
}

/* The app never listened: its last output, and no URL. */
static enum MHD_Result
serve_fail(
    struct api_req *r, struct serve_req *s, struct buf *out, struct buf *err)
{
	json_t *doc = NULL, *body;
	const char *o, *e;

	(void)api_runs_kill(r->api, s->exec, r->auth.tenant);
	if (db_exec_get(r->api->db, s->exec, r->auth.tenant, &doc) == 0) {
		o = pv_str(doc, "stdout");
		e = pv_str(doc, "stderr");
	} else {
		o = buf_cstr(out) != NULL ? buf_cstr(out) : "";
		e = buf_cstr(err) != NULL ? buf_cstr(err) : "";
	}
	if (strlen(o) > PREVIEW_OUTPUT_TAIL)
		o += strlen(o) - PREVIEW_OUTPUT_TAIL;
	body = json_pack("{s:{s:s, s:s, s:s}, s:s, s:s, s:s}", "error", "code",
	    "app_not_listening", "message",
	    "the app exited or did not listen in time: no preview was opened",
	    "request_id", r->request_id, "exec", s->exec, "output", o, "stderr",
	    e);
	if (body != NULL && doc != NULL && json_object_get(doc, "install"))
		json_object_set(
		    body, "install", json_object_get(doc, "install"));
	json_decref(doc);
	return api_reply_json(r, 422, body);
}

/* The URL of a token: scheme://token.domain[:port]/. */
static void
serve_url(struct api *a, const char *token, char *url, size_t len)
{
	const struct preview_conf *c = a->preview_conf;
	char port[16] = "";

	if (c->public_port > 0)
		snprintf(port, sizeof(port), ":%d", c->public_port);
	snprintf(url, len, "%s://%s.%s%s/", c->scheme, token, c->domain, port);
}

/* Records, routes and answers an app that listens. */
static enum MHD_Result
serve_open(struct api_req *r, struct serve_req *s, json_t *sb)
{
	struct api *a = r->api;
	unsigned char raw[PREVIEW_TOKEN_BYTES];
	char token[PREVIEW_TOKEN_HEX + 1], hash[PETRI_SHA256_HEX];
	char id[PETRI_ID_MAX], now[PETRI_TIME_MAX], exp[PETRI_TIME_MAX];
	char url[PREVIEW_TOKEN_HEX + PREVIEW_DOMAIN_MAX + 32], msg[128];
	int64_t t = petri_now_usec(), until = t + (int64_t)s->ttl * 1000000;
	json_t *doc = NULL, *ans;
	int e;

	randombytes_buf(raw, sizeof(raw));
	petri_hex(raw, sizeof(raw), token);
	sodium_memzero(raw, sizeof(raw));
	petri_sha256_hex(token, strlen(token), hash);
	if (petri_id_new("pv_", id, sizeof(id)) != 0)
		goto internal;
	petri_time_rfc3339(t, now);
	petri_time_rfc3339(until, exp);
	doc = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s}",
	    "id", id, "sandbox", pv_str(sb, "id"), "tenant", r->auth.tenant,
	    "exec", s->exec, "port", s->listening, "command", s->command,
	    "auth", s->auth_key ? "key" : "token", "status", "open",
	    "created_at", now, "expires_at", exp);
	if (doc == NULL ||
	    (e = db_preview_put(
	         a->db, id, pv_str(sb, "id"), r->auth.tenant, hash, doc)) != 0)
		goto internal;
	if ((e = api_ask(a->preview, MSG_PVW_ROUTE_SET,
	         json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:b}", "preview", id,
	             "hash", hash, "sandbox", pv_str(sb, "id"), "addr",
	             pv_str(sb, "ip"), "port", s->listening, "expires_usec",
	             (json_int_t)until, "auth_key", s->auth_key),
	         NULL, 0, PREVIEW_GW_TIMEOUT_MS, NULL, msg, sizeof(msg))) !=
	    0) {
		log_warn("%s: the gateway refused the route: %s", id, msg);
		goto unavailable;
	}
	if (api_audit(a, r, "preview.opened",
	        json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "preview",
	            id, "sandbox", pv_str(sb, "id"), "exec", s->exec, "port",
	            s->listening, "command", s->command, "auth",
	            s->auth_key ? "key" : "token", "expires_at", exp, "domain",
	            a->preview_conf->domain),
	        NULL) != 0)
		goto unavailable;
	log_info("preview %s of %s open on port %d until %s", id,
	    pv_str(sb, "id"), s->listening, exp);
	serve_url(a, token, url, sizeof(url));
	sodium_memzero(token, sizeof(token));
	ans = preview_public(doc);
	json_object_set_new(ans, "url", json_string(url));
	sodium_memzero(url, sizeof(url));
	json_decref(doc);
	return api_reply_json(r, MHD_HTTP_CREATED, ans);
unavailable:
	sodium_memzero(token, sizeof(token));
	json_decref(doc);
	(void)preview_close(a, id, NULL, "failed", NULL, NULL);
	return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
	    "the preview could not be opened: the gateway or the audit log "
	    "is unavailable");
internal:
	sodium_memzero(token, sizeof(token));
	json_decref(doc);
	(void)api_runs_kill(a, s->exec, r->auth.tenant);
	return api_reply_error(
	    r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "serve failed");
}

enum MHD_Result
api_serve(struct api_req *r)
{
	struct serve_req s;
	json_t *body, *sb = NULL, *open = NULL;
	struct buf out, err;
	char msg[256];
	enum MHD_Result ret = MHD_YES;

	buf_init(&out, PREVIEW_OUTPUT_TAIL);
	buf_init(&err, PREVIEW_OUTPUT_TAIL);
	if ((body = api_body_json(r)) == NULL)
		return MHD_YES;
	if (serve_parse(r->api, body, &s, msg, sizeof(msg)) != 0) {
		ret = api_reply_error(r, 422, "invalid_request", "%s", msg);
		goto out;
	}
	if ((sb = api_sb_load(r, 0)) == NULL)
		goto out;
	if (pv_str(sb, "ip")[0] == '\0') {
		ret = api_reply_error(r, MHD_HTTP_CONFLICT, "conflict",
		    "the sandbox has no address on the sandbox network");
		goto out;
	}
	if (db_preview_list(r->api->db, pv_str(sb, "id"), NULL, 1,
	        PREVIEW_PER_SANDBOX_MAX, &open) != 0 ||
	    json_array_size(open) >= PREVIEW_PER_SANDBOX_MAX) {
		ret = api_reply_error(r, MHD_HTTP_TOO_MANY_REQUESTS,
		    "limit_reached", "at most %d open previews per sandbox",
		    PREVIEW_PER_SANDBOX_MAX);
		goto out;
	}
	if (serve_start(r, &s) != MHD_HTTP_ACCEPTED)
		goto out; /* api_exec()'s answer is queued */
	if (!serve_wait(r->api, &s, r->auth.tenant, &out, &err))
		ret = serve_fail(r, &s, &out, &err);
	else
		ret = serve_open(r, &s, sb);
out:
	buf_free(&out);
	buf_free(&err);
	json_decref(open);
	json_decref(sb);
	json_decref(body);
	return ret;
}
