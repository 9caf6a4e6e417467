/*
 * api_sandbox.c: sandbox routes (create, list, get, delete, keepalive),
 * the TTL reaper and the start-up reconciliation with Docker.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "bounds.h"
#include "log.h"
#include "policy.h"
#include "proxy_bounds.h"
#include "proto.h"
#include "util.h"

static const char *const sb_create_keys[] = {"language", "policy",
    "ttl_seconds", "limits", "env", "secrets", "labels", "runtime", NULL};
static const char *const sb_limit_keys[] = {
    "memory_mb", "cpus", "pids", "timeout_ms", "disk_mb", NULL};

static const char *
sb_str(json_t *sb, const char *key)
{
	const char *s = json_string_value(json_object_get(sb, key));

	return s != NULL ? s : "";
}

/* The public view of a sandbox document. */
static json_t *
sb_view(json_t *sb)
{
	static const char *const pub[] = {"id", "language", "state",
	    "created_at", "last_active_at", "expires_at", "ttl_seconds",
	    "policy", "limits", "labels", "runtime", "image", NULL};
	const char *const *k;
	json_t *v = json_object(), *env, *names;
	const char *name;
	json_t *val;

	for (k = pub; *k != NULL; k++) {
		json_t *x = json_object_get(sb, *k);

		if (x != NULL)
			json_object_set(v, *k, x);
	}
	/* environment values may be sensitive: names only */
	names = json_array();
	if ((env = json_object_get(sb, "env")) != NULL)
		json_object_foreach (env, name, val)
			json_array_append_new(names, json_string(name));
	json_object_set_new(v, "env", names);
	if ((env = json_object_get(sb, "secrets")) != NULL)
		json_object_set(v, "secrets", env);
	if ((env = json_object_get(sb, "policy_ref")) != NULL)
		json_object_set(
		    v, "policy_version", json_object_get(env, "version"));
	return v;
}

static int
sb_limit_int(json_t *l, const char *key, long long min, long long max,
    json_int_t *v, char *msg, size_t msglen)
{
	json_t *x = json_object_get(l, key);

	if (x == NULL)
		return 0;
	if (!json_is_integer(x) || json_integer_value(x) < min ||
	    json_integer_value(x) > max) {
		snprintf(msg, msglen,
		    "limits.%s: must be an integer in "
		    "[%lld, %lld]",
		    key, min, max);
		return PETRI_ERR_INVAL;
	}
	*v = json_integer_value(x);
	return 0;
}

/* Validates the limits object and returns the effective limits. */
static json_t *
sb_limits(struct api *a, json_t *in, char *msg, size_t msglen)
{
	const struct config_limits *d = &a->cfg->limits;
	json_int_t mem = d->memory_mb, pids = d->pids, tmo = d->timeout_ms,
	           disk = d->disk_mb;
	double cpus = d->cpus;
	json_t *x;

	if (in != NULL) {
		if (!json_is_object(in)) {
			snprintf(msg, msglen, "limits: must be an object");
			return NULL;
		}
		if (api_valid_keys(in, sb_limit_keys, msg, msglen) != 0)
			return NULL;
		if (sb_limit_int(in, "memory_mb", SB_MIN_MEMORY_MB,
		        SB_MAX_MEMORY_MB, &mem, msg, msglen) != 0 ||
		    sb_limit_int(in, "pids", SB_MIN_PIDS, SB_MAX_PIDS, &pids,
		        msg, msglen) != 0 ||
		    sb_limit_int(in, "timeout_ms", 1, EXEC_MAX_TIMEOUT_MS, &tmo,
		        msg, msglen) != 0 ||
		    sb_limit_int(in, "disk_mb", SB_MIN_DISK_MB, SB_MAX_DISK_MB,
		        &disk, msg, msglen) != 0)
			return NULL;
		if ((x = json_object_get(in, "cpus")) != NULL) {
			if (!json_is_number(x) || json_number_value(x) < 0.01 ||
			    json_number_value(x) > SB_MAX_CPUS) {
				snprintf(msg, msglen,
				    "limits.cpus: must be a "
				    "number in [0.01, %g]",
				    SB_MAX_CPUS);
				return NULL;
			}
			cpus = json_number_value(x);
		}
	}
	return json_pack("{s:I, s:f, s:I, s:I, s:I}", "memory_mb", mem, "cpus",
	    cpus, "pids", pids, "timeout_ms", tmo, "disk_mb", disk);
}

/* The engine's view of a sandbox: what it needs to (re)create it. */
static json_t *
sb_engine_spec(struct api *a, json_t *sb)
{
	const char *id = json_string_value(json_object_get(sb, "id"));
	const char *lang = json_string_value(json_object_get(sb, "language"));
	char ws[4096];
	int li = config_language_index(lang != NULL ? lang : "");

	if (id == NULL || li < 0 ||
	    (size_t)snprintf(ws, sizeof(ws), "%s/%s/ws", a->cfg->workspace_root,
	        id) >= sizeof(ws))
		return NULL;
	/* no environment: every execution carries the sandbox's own */
	return json_pack("{s:s, s:s, s:s, s:O, s:s, s:s, s:I, s:I, s:I}",
	    "sandbox", id, "language", lang, "image", a->cfg->images[li],
	    "limits", json_object_get(sb, "limits"), "runtime",
	    json_string_value(json_object_get(sb, "runtime")), "workspace", ws,
	    "uid", (json_int_t)a->ctx->sandbox_uid, "gid",
	    (json_int_t)a->ctx->sandbox_gid, "tmp_mb",
	    (json_int_t)a->cfg->limits.tmp_mb);
}

/* Takes a provisioned sandbox apart again (disk, workspace, container). */
static void
sb_unprovision(struct api *a, const char *id, const char *container)
{
	if (container != NULL) {
		if (wrap_engine_sb_delete(a, id, container, NULL, 0) != 0)
			log_warn("could not remove the container of %s", id);
	}
	if (wrap_parent_ws_release(a, id, NULL, 0) != 0)
		log_warn("could not release the disk of %s", id);
	if (wrap_ws_remove(a, id, NULL, 0) != 0)
		log_warn("could not remove the workspace of %s", id);
}

/*
 * Gives the sandbox document sb its disk (the parent makes and mounts it),
 * its workspace on that disk (the ws worker) and its container (the
 * engine), and records the container's id and image in sb.  On failure
 * undoes what was done and returns the error, with a message in msg.
 */
static int
sb_provision(struct api *a, json_t *sb, char *msg, size_t msglen)
{
	const char *id = json_string_value(json_object_get(sb, "id"));
	json_t *spec;
	struct wrap_container c;
	int e;

	msg[0] = '\0';
	if ((e = wrap_parent_ws_prepare(a, id,
	         json_integer_value(
	             json_object_get(json_object_get(sb, "limits"), "disk_mb")),
	         1, msg, msglen)) != 0)
		return e;
	if ((e = wrap_ws_create(a, id, msg, msglen)) != 0) {
		sb_unprovision(a, id, NULL);
		return e;
	}
	if ((spec = sb_engine_spec(a, sb)) == NULL) {
		sb_unprovision(a, id, NULL);
		return PETRI_ERR_NOMEM;
	}
	if ((e = wrap_engine_sb_create(a, spec, &c, msg, msglen)) != 0) {
		sb_unprovision(a, id, NULL);
		return e;
	}
	json_object_set_new(sb, "container", json_string(c.container));
	if (c.image_id[0] != '\0')
		json_object_set_new(sb, "image_id", json_string(c.image_id));
	if (c.ip[0] != '\0')
		json_object_set_new(sb, "ip", json_string(c.ip));
	return 0;
}

/* --- background threads: the warm pool and the reaper ------------------------- */

static pthread_mutex_t nap_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nap_cond = PTHREAD_COND_INITIALIZER;
static pthread_t reaper_thread, pool_thread;
static int reaper_started, pool_started;

/* Sleeps up to seconds; returns 1 when the api is stopping. */
static int
api_nap(struct api *a, int seconds)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += seconds;
	pthread_mutex_lock(&nap_lock);
	while (!a->stopping &&
	    pthread_cond_timedwait(&nap_cond, &nap_lock, &ts) == 0)
		;
	pthread_mutex_unlock(&nap_lock);
	return a->stopping;
}

/*
 * Sandboxes of default shape are made ahead of time, owned by the
 * reserved tenant SB_POOL_TENANT, so that creating one is a claim: a
 * change of owner in state.db (and of limits when asked).  A claimed
 * sandbox is recorded ("sandbox.created", "pooled": true) when claimed.
 * Only the default disk size and runtime are pooled.
 */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;

static int
pool_count(struct api *a, const char *lang)
{
	json_t *all = NULL, *sb;
	size_t i;
	int n = 0;

	if (db_sandbox_list(a->db, SB_POOL_TENANT, &all) != 0)
		return -1;
	json_array_foreach (all, i, sb)
		if (strcmp(sb_str(sb, "language"), lang) == 0)
			n++;
	json_decref(all);
	return n;
}

/* Claims a warm sandbox of lang; fills *id and returns its document. */
static json_t *
pool_claim(struct api *a, const char *lang, const char *tenant, json_t *doc)
{
	json_t *all = NULL, *sb, *got = NULL;
	size_t i;

	pthread_mutex_lock(&pool_lock);
	if (db_sandbox_list(a->db, SB_POOL_TENANT, &all) != 0) {
		pthread_mutex_unlock(&pool_lock);
		return NULL;
	}
	json_array_foreach (all, i, sb) {
		if (strcmp(sb_str(sb, "language"), lang) != 0 ||
		    strcmp(sb_str(sb, "state"), "pooled") != 0)
			continue;
		json_object_set(doc, "id", json_object_get(sb, "id"));
		json_object_set(
		    doc, "container", json_object_get(sb, "container"));
		json_object_set(
		    doc, "image_id", json_object_get(sb, "image_id"));
		json_object_set(doc, "ip", json_object_get(sb, "ip"));
		if (db_sandbox_claim(a->db, sb_str(sb, "id"), SB_POOL_TENANT,
		        tenant, doc) == 0) {
			got = json_incref(sb);
			break;
		}
	}
	pthread_cond_signal(&pool_cond); /* make another */
	pthread_mutex_unlock(&pool_lock);
	json_decref(all);
	return got;
}

static void *
pool_filler(void *arg)
{
	struct api *a = arg;
	struct timespec ts;
	char msg[256], id[PETRI_ID_MAX], now[PETRI_TIME_MAX];
	int i, n, failures = 0;

	for (;;) {
		int made = 0;

		for (i = 0; i < CONFIG_NLANG && !a->stopping; i++) {
			json_t *sb, *limits;

			if (a->cfg->pool[i] <= 0 ||
			    (n = pool_count(a, config_languages[i])) < 0 ||
			    n >= a->cfg->pool[i])
				continue;
			if (petri_id_new("sb_", id, sizeof(id)) != 0)
				continue;
			petri_time_rfc3339(petri_now_usec(), now);
			limits = sb_limits(a, NULL, msg, sizeof(msg));
			sb = json_pack(
			    "{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s}", "id",
			    id, "tenant", SB_POOL_TENANT, "language",
			    config_languages[i], "state", "pooled",
			    "created_at", now, "limits", limits, "runtime",
			    "runc", "image", a->cfg->images[i]);
			if (sb_provision(a, sb, msg, sizeof(msg)) == 0) {
				if (db_sandbox_insert(a->db, sb) == 0) {
					made++;
					failures = 0;
				} else
					sb_unprovision(a, id,
					    json_string_value(json_object_get(
					        sb, "container")));
			} else if (failures++ < 3 || failures % 60 == 0)
				log_warn("warm pool: cannot make a %s sandbox: "
				         "%s",
				    config_languages[i], msg);
			json_decref(sb);
		}
		if (a->stopping)
			break;
		if (made > 0)
			continue;
		/* wait for a claim, or retry a failure later */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += failures > 0 ? 10 : 5;
		pthread_mutex_lock(&pool_lock);
		if (!a->stopping)
			pthread_cond_timedwait(&pool_cond, &pool_lock, &ts);
		pthread_mutex_unlock(&pool_lock);
	}
	return NULL;
}

int
api_pool_start(struct api *a)
{
	int i, any = 0;

	for (i = 0; i < CONFIG_NLANG; i++)
		any |= a->cfg->pool[i] > 0;
	if (!any)
		return 0;
	if (pthread_create(&pool_thread, NULL, pool_filler, a) != 0)
		return PETRI_ERR_IO;
	pool_started = 1;
	return 0;
}

/*
 * What the steps of one sandbox creation hand on.  Each step either fills
 * its part and returns 0, or queues the answer (in ret) and returns -1;
 * undo says what the way out must take apart again.
 */
struct sb_job {
	struct api_req *r;
	enum MHD_Result ret;
	json_t *body;
	const char *lang, *runtime, *policy;
	json_int_t ttl;
	json_t *labels, *env; /* borrowed from body, or NULL */
	json_t *secrets; /* names (own reference) */
	json_t *limits;
	json_t *pref; /* the policy's {name, sha256, version} */
	char *pcanon; /* and its canonical text */
	json_t *sb; /* the new sandbox document */
	json_t *pooled; /* the warm sandbox it took over, if any */
	int provisioned; /* undo: container, disk, workspace */
	int egress; /* undo: identity at the proxy, grants */
};

static int
sb_fail(struct sb_job *j, enum MHD_Result ret)
{
	j->ret = ret;
	return -1;
}

static int
sb_invalid(struct sb_job *j, const char *msg)
{
	return sb_fail(
	    j, api_reply_error(j->r, 422, "invalid_request", "%s", msg));
}

/* secrets: at most PROXY_SECRETS_MAX distinct names. */
static int
sb_valid_secrets(json_t *secrets, char *msg, size_t msglen)
{
	size_t i, k;
	json_t *x;

	if (!json_is_array(secrets) ||
	    json_array_size(secrets) > PROXY_SECRETS_MAX) {
		snprintf(msg, msglen,
		    "secrets: an array of at most %d secret names",
		    PROXY_SECRETS_MAX);
		return PETRI_ERR_INVAL;
	}
	json_array_foreach (secrets, i, x) {
		if (!json_is_string(x) || json_string_length(x) == 0 ||
		    json_string_length(x) > PROXY_SECRET_NAME_MAX) {
			snprintf(msg, msglen, "secrets[%zu]: a secret name", i);
			return PETRI_ERR_INVAL;
		}
		for (k = 0; k < i; k++)
			if (json_equal(json_array_get(secrets, k), x)) {
				snprintf(msg, msglen,
				    "secrets[%zu]: named twice", i);
				return PETRI_ERR_INVAL;
			}
	}
	return 0;
}

/* language, ttl_seconds, runtime, policy: the sandbox's kind. */
static int
sb_valid_kind(struct sb_job *j, char *msg, size_t msglen)
{
	json_t *x, *b = j->body;

	x = json_object_get(b, "language");
	if (!json_is_string(x) ||
	    config_language_index(json_string_value(x)) < 0) {
		snprintf(msg, msglen,
		    "language: must be one of python, node, go, java");
		return PETRI_ERR_INVAL;
	}
	j->lang = json_string_value(x);
	if ((x = json_object_get(b, "ttl_seconds")) != NULL) {
		if (!json_is_integer(x) || json_integer_value(x) < 10 ||
		    json_integer_value(x) > SB_MAX_TTL_SEC) {
			snprintf(msg, msglen,
			    "ttl_seconds: must be an integer in [10, %d]",
			    SB_MAX_TTL_SEC);
			return PETRI_ERR_INVAL;
		}
		j->ttl = json_integer_value(x);
	}
	if ((x = json_object_get(b, "runtime")) != NULL) {
		if (!json_is_string(x) ||
		    (strcmp(json_string_value(x), "runc") != 0 &&
		        strcmp(json_string_value(x), "runsc") != 0)) {
			snprintf(msg, msglen,
			    "runtime: must be \"runc\" or \"runsc\"");
			return PETRI_ERR_INVAL;
		}
		j->runtime = json_string_value(x);
	}
	if ((x = json_object_get(b, "policy")) != NULL) {
		if (!json_is_string(x)) {
			snprintf(msg, msglen, "policy: must be a name");
			return PETRI_ERR_INVAL;
		}
		j->policy = json_string_value(x);
	}
	return 0;
}

/* 1. validate: the request alone. */
static int
sb_validate(struct sb_job *j)
{
	struct api *a = j->r->api;
	char msg[256];

	if ((j->body = api_body_json(j->r)) == NULL)
		return sb_fail(j, MHD_YES);
	msg[0] = '\0';
	if (api_valid_keys(j->body, sb_create_keys, msg, sizeof(msg)) != 0 ||
	    sb_valid_kind(j, msg, sizeof(msg)) != 0)
		return sb_invalid(j, msg);
	/* our own reference from here on: every path out drops it */
	if ((j->secrets = json_incref(json_object_get(j->body, "secrets"))) ==
	    NULL)
		j->secrets = json_array();
	else if (sb_valid_secrets(j->secrets, msg, sizeof(msg)) != 0)
		return sb_invalid(j, msg);
	j->labels = json_object_get(j->body, "labels");
	j->env = json_object_get(j->body, "env");
	if ((j->labels != NULL &&
	        api_valid_strmap(j->labels, API_MAX_LABELS, 256, 0, "labels",
	            msg, sizeof(msg)) != 0) ||
	    (j->env != NULL &&
	        api_valid_strmap(j->env, API_MAX_ENV, 32768, 1, "env", msg,
	            sizeof(msg)) != 0))
		return sb_invalid(j, msg);
	if ((j->limits = sb_limits(a, json_object_get(j->body, "limits"), msg,
	         sizeof(msg))) == NULL)
		return sb_invalid(j, msg);
	return 0;
}

/* 2. resolve: the named policy, and room in the tenant's quota. */
static int
sb_resolve(struct sb_job *j)
{
	struct api *a = j->r->api;
	char msg[256];
	int64_t count = 0;
	int e;

	if ((e = api_policy_lookup(
	         a, j->r->auth.tenant, j->policy, &j->pref, &j->pcanon)) != 0) {
		if (e != PETRI_ERR_NOTFOUND)
			return sb_fail(j, api_reply_err(j->r, e, "policy"));
		snprintf(msg, sizeof(msg),
		    "policy: no policy named \"%.64s\" (PUT /v1/policies/NAME "
		    "first; \"deny-all\" is built in)",
		    j->policy);
		return sb_invalid(j, msg);
	}
	if (db_sandbox_count(a->db, j->r->auth.tenant, &count) != 0)
		return sb_fail(
		    j, api_reply_err(j->r, PETRI_ERR_DB, "sandbox registry"));
	if (count >= SB_MAX_PER_TENANT)
		return sb_fail(j,
		    api_reply_error(j->r, MHD_HTTP_TOO_MANY_REQUESTS,
		        "limit_reached", "this tenant already has %d sandboxes",
		        SB_MAX_PER_TENANT));
	return 0;
}

/* 3. the sandbox document. */
static int
sb_document(struct sb_job *j)
{
	struct api *a = j->r->api;
	char id[PETRI_ID_MAX], ts[PETRI_TIME_MAX], exp[PETRI_TIME_MAX];
	int64_t now;

	if (petri_id_new("sb_", id, sizeof(id)) != 0)
		return sb_fail(j, api_reply_err(j->r, PETRI_ERR_INVAL, "id"));
	now = petri_now_usec();
	petri_time_rfc3339(now, ts);
	petri_time_rfc3339(now + (int64_t)j->ttl * 1000000, exp);
	j->sb = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:O, "
	                  "s:o, s:o, s:s, s:s}",
	    "id", id, "tenant", j->r->auth.tenant, "language", j->lang, "state",
	    "running", "created_at", ts, "last_active_at", ts, "expires_at",
	    exp, "ttl_seconds", j->ttl, "policy", j->policy, "limits",
	    j->limits, "labels",
	    j->labels != NULL ? json_incref(j->labels) : json_object(), "env",
	    j->env != NULL ? json_incref(j->env) : json_object(), "runtime",
	    j->runtime, "image",
	    a->cfg->images[config_language_index(j->lang)]);
	if (j->sb == NULL)
		return sb_fail(
		    j, api_reply_err(j->r, PETRI_ERR_NOMEM, "sandbox"));
	json_object_set(j->sb, "policy_ref", j->pref);
	json_object_set(j->sb, "secrets", j->secrets);
	return 0;
}

/* A warm sandbox of the pool, when the shape is the pool's: 1 taken,
 * 0 none, -1 answered. */
static int
sb_place_pooled(struct sb_job *j)
{
	struct api *a = j->r->api;
	char msg[256];
	int e;

	if (strcmp(j->runtime, "runc") != 0 ||
	    json_integer_value(json_object_get(j->limits, "disk_mb")) !=
	        a->cfg->limits.disk_mb ||
	    (j->pooled = pool_claim(a, j->lang, j->r->auth.tenant, j->sb)) ==
	        NULL)
		return 0;
	if (json_equal(json_object_get(j->pooled, "limits"), j->limits))
		return 1;
	if ((e = wrap_engine_sb_update(a, sb_str(j->sb, "container"), j->limits,
	         msg, sizeof(msg))) != 0) {
		log_warn("claimed %s: cannot set its limits: %s",
		    sb_str(j->sb, "id"), msg);
		/* do not hand out other limits than asked */
		j->provisioned = 1;
		return sb_fail(j, api_reply_err(j->r, e, "sandbox limits"));
	}
	return 1;
}

/* 4. place: a warm sandbox, else disk, workspace and container. */
static int
sb_place(struct sb_job *j)
{
	struct api *a = j->r->api;
	char msg[256];
	int e;

	if ((e = sb_place_pooled(j)) != 0)
		return e > 0 ? 0 : -1;
	if ((e = sb_provision(a, j->sb, msg, sizeof(msg))) != 0) {
		if (e == PETRI_ERR_UNAVAIL || e == PETRI_ERR_TIMEOUT)
			return sb_fail(j,
			    api_reply_error(j->r, MHD_HTTP_SERVICE_UNAVAILABLE,
			        "unavailable",
			        "the container engine is unavailable: %s",
			        msg));
		if (e == PETRI_ERR_UNSUPPORTED)
			return sb_invalid(j, msg);
		return sb_fail(j,
		    api_reply_error(j->r, MHD_HTTP_INTERNAL_SERVER_ERROR,
		        "internal", "cannot start the sandbox: %s", msg));
	}
	j->provisioned = 1;
	if ((e = db_sandbox_insert(a->db, j->sb)) != 0)
		return sb_fail(j, api_reply_err(j->r, e, "sandbox registry"));
	return 0;
}

/* 5. egress: grants, proxy token, identity at the proxy. */
static int
sb_egress(struct sb_job *j)
{
	struct api *a = j->r->api;
	char msg[256];
	int e;

	if ((e = api_egress_attach(a, j->sb, j->r->auth.tenant, j->secrets,
	         j->pcanon, msg, sizeof(msg))) != 0) {
		j->provisioned = 1;
		if (e == PETRI_ERR_NOTFOUND || e == PETRI_ERR_INVAL ||
		    e == PETRI_ERR_PERM)
			return sb_invalid(j, msg);
		return sb_fail(j,
		    api_reply_error(j->r, MHD_HTTP_SERVICE_UNAVAILABLE,
		        "unavailable", "egress: %s", msg));
	}
	j->egress = 1;
	return 0;
}

/* 6. record: the registry row, then "sandbox.created". */
static int
sb_record(struct sb_job *j)
{
	struct api *a = j->r->api;
	json_t *sb = j->sb, *ev;
	int e;

	if ((e = db_sandbox_update(a->db, sb)) != 0) {
		j->provisioned = 1;
		return sb_fail(j, api_reply_err(j->r, e, "sandbox registry"));
	}
	ev = json_pack("{s:O, s:s, s:O, s:s, s:s, s:O, s:o, s:b}", "sandbox",
	    json_object_get(sb, "id"), "language", j->lang, "image",
	    json_object_get(sb, "image"), "image_id", sb_str(sb, "image_id"),
	    "runtime", j->runtime, "limits", j->limits, "policy",
	    api_policy_ref(sb), "pooled", j->pooled != NULL);
	json_object_set(ev, "secrets", j->secrets);
	if (api_audit(a, j->r, "sandbox.created", ev, NULL) != 0) {
		if (db_sandbox_delete(a->db, sb_str(sb, "id")) != 0)
			log_warn(
			    "state.db: cannot roll back %s", sb_str(sb, "id"));
		j->provisioned = 1;
		return sb_fail(j,
		    api_reply_error(j->r, MHD_HTTP_SERVICE_UNAVAILABLE,
		        "unavailable", "the audit log is unavailable"));
	}
	return 0;
}

/* The way out of a failed creation: what was made is taken apart. */
static void
sb_undo(struct sb_job *j)
{
	struct api *a = j->r->api;
	const char *id = sb_str(j->sb, "id");

	if (!j->provisioned)
		return;
	if (j->egress)
		api_egress_detach(a, id);
	if (j->pooled != NULL && db_sandbox_delete(a->db, id) != 0)
		log_warn("state.db: cannot drop %s", id);
	sb_unprovision(
	    a, id, json_string_value(json_object_get(j->sb, "container")));
}

/*
 * POST /v1/sandboxes: validate -> resolve (policy, quota) -> document ->
 * place (warm pool or new) -> egress -> record -> answer.
 */
enum MHD_Result
api_sb_create(struct api_req *r)
{
	struct api *a = r->api;
	struct sb_job j;

	memset(&j, 0, sizeof(j));
	j.r = r;
	j.runtime = a->cfg->default_runtime;
	j.policy = POLICY_BUILTIN;
	j.ttl = a->cfg->ttl_seconds;
	if (sb_validate(&j) == 0 && sb_resolve(&j) == 0 &&
	    sb_document(&j) == 0 && sb_place(&j) == 0 && sb_egress(&j) == 0 &&
	    sb_record(&j) == 0) {
		pthread_mutex_lock(&a->metrics.lock);
		a->metrics.sandboxes_created++;
		pthread_mutex_unlock(&a->metrics.lock);
		j.ret = api_reply_json(r, MHD_HTTP_CREATED, sb_view(j.sb));
	} else
		sb_undo(&j);
	json_decref(j.pooled);
	json_decref(j.sb);
	json_decref(j.limits);
	json_decref(j.body);
	json_decref(j.pref);
	json_decref(j.secrets);
	free(j.pcanon);
	return j.ret;
}

enum MHD_Result
api_sb_list(struct api_req *r)
{
	json_t *all = NULL, *out, *sb, *labels;
	const char *lf = api_query(r, "label"), *state = api_query(r, "state");
	char lk[API_MAX_KEY_LEN + 1], lv[257];
	size_t i;
	int e;

	if (lf != NULL &&
	    api_valid_label_filter(lf, lk, sizeof(lk), lv, sizeof(lv)) != 0)
		return api_reply_error(
		    r, 422, "invalid_request", "label: expected key:value");
	if ((e = db_sandbox_list(r->api->db, r->auth.tenant, &all)) != 0)
		return api_reply_err(r, e, "sandbox registry");
	out = json_array();
	json_array_foreach (all, i, sb) {
		if (lf != NULL) {
			const char *v;

			labels = json_object_get(sb, "labels");
			v = json_string_value(json_object_get(labels, lk));
			if (v == NULL || strcmp(v, lv) != 0)
				continue;
		}
		if (state != NULL && strcmp(state, sb_str(sb, "state")) != 0)
			continue;
		json_array_append_new(out, sb_view(sb));
	}
	json_decref(all);
	return api_reply_json(
	    r, MHD_HTTP_OK, json_pack("{s:o}", "sandboxes", out));
}

enum MHD_Result
api_sb_get(struct api_req *r)
{
	json_t *sb;
	enum MHD_Result ret;

	if ((sb = api_sb_load(r, 0)) == NULL)
		return MHD_YES;
	ret = api_reply_json(r, MHD_HTTP_OK, sb_view(sb));
	json_decref(sb);
	return ret;
}

int
api_sb_remove(struct api *a, json_t *sb, const char *reason, struct api_req *r)
{
	const char *id = json_string_value(json_object_get(sb, "id"));
	json_t *ev;
	char msg[256];
	int e, ea;

	api_preview_close_sandbox(a, id);
	api_runs_kill_sandbox(a, id);
	api_egress_detach(a, id);
	e = wrap_engine_sb_delete(a, id,
	    json_string_value(json_object_get(sb, "container")), msg,
	    sizeof(msg));
	if (e != 0 && e != PETRI_ERR_NOTFOUND) {
		log_warn("cannot remove the container of %s: %s", id, msg);
		return e;
	}
	if ((e = wrap_parent_ws_release(a, id, msg, sizeof(msg))) != 0) {
		log_warn("cannot release the disk of %s: %s", id, msg);
		return e;
	}
	if ((e = wrap_ws_remove(a, id, msg, sizeof(msg))) != 0 &&
	    e != PETRI_ERR_NOTFOUND) {
		log_warn("cannot remove the workspace of %s: %s", id, msg);
		return e;
	}
	/*
	 * The record before the row: once a GET answers 404 the removal is
	 * on the record (the reaper has no client waiting for it).
	 */
	ev = json_pack("{s:s, s:s}", "sandbox", id, "reason", reason);
	if ((ea = api_audit(a, r,
	         strcmp(reason, "expired") == 0 ? "sandbox.expired"
	                                        : "sandbox.deleted",
	         ev, NULL)) != 0)
		log_warn("audit log unavailable while removing %s", id);
	if ((e = db_sandbox_delete(a->db, id)) != 0)
		return e;
	e = ea;
	pthread_mutex_lock(&a->metrics.lock);
	a->metrics.sandboxes_deleted++;
	pthread_mutex_unlock(&a->metrics.lock);
	return e;
}

enum MHD_Result
api_sb_delete(struct api_req *r)
{
	json_t *sb;
	int e;

	if ((sb = api_sb_load(r, 0)) == NULL)
		return MHD_YES;
	pthread_mutex_lock(&r->api->sb_lock);
	e = api_sb_remove(r->api, sb, "deleted", r);
	pthread_mutex_unlock(&r->api->sb_lock);
	json_decref(sb);
	if (e != 0)
		return api_reply_err(r, e, "sandbox removal");
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result
api_sb_keepalive(struct api_req *r)
{
	static const char *const keys[] = {"ttl_seconds", NULL};
	json_t *body, *sb, *x;
	char msg[128];
	enum MHD_Result ret;

	if ((body = api_body_json(r)) == NULL)
		return MHD_YES;
	if (api_valid_keys(body, keys, msg, sizeof(msg)) != 0) {
		json_decref(body);
		return api_reply_error(r, 422, "invalid_request", "%s", msg);
	}
	x = json_object_get(body, "ttl_seconds");
	if (x != NULL &&
	    (!json_is_integer(x) || json_integer_value(x) < 10 ||
	        json_integer_value(x) > SB_MAX_TTL_SEC)) {
		json_decref(body);
		return api_reply_error(r, 422, "invalid_request",
		    "ttl_seconds: must be an integer in [10, %d]",
		    SB_MAX_TTL_SEC);
	}
	if ((sb = api_sb_load(r, 0)) == NULL) {
		json_decref(body);
		return MHD_YES;
	}
	if (x != NULL)
		json_object_set(sb, "ttl_seconds", x);
	api_sb_touch(r->api, sb);
	ret = api_reply_json(r, MHD_HTTP_OK,
	    json_pack("{s:O, s:O, s:O}", "id", json_object_get(sb, "id"),
	        "expires_at", json_object_get(sb, "expires_at"), "ttl_seconds",
	        json_object_get(sb, "ttl_seconds")));
	json_decref(sb);
	json_decref(body);
	return ret;
}

/* --- reconciliation and reaper --------------------------------------------- */

static int reconciled;

/* The engine's view of every sandbox, their disks mounted again (after a
 * reboot the workspace file systems are unmounted). */
static json_t *
reconcile_known(struct api *a, json_t *all)
{
	json_t *known = json_array(), *sb, *spec;
	char msg[256];
	size_t i;

	json_array_foreach (all, i, sb) {
		if (sb_str(sb, "id")[0] != '\0' &&
		    wrap_parent_ws_prepare(
		        a, sb_str(sb, "id"), -1, 0, msg, sizeof(msg)) != 0)
			log_warn("cannot mount the workspace of %s: %s",
			    sb_str(sb, "id"), msg);
		if ((spec = sb_engine_spec(a, sb)) == NULL)
			continue;
		json_object_set(
		    spec, "container", json_object_get(sb, "container"));
		json_array_append_new(known, spec);
	}
	return known;
}

/* Containers the engine had to re-create get their new id and address. */
static void
reconcile_adopt(struct api *a, json_t *all, json_t *rep)
{
	json_t *recreated = json_object_get(rep, "recreated");
	json_t *ips = json_object_get(rep, "ips"), *sb, *c, *ip;
	const char *id;
	size_t i;

	json_array_foreach (all, i, sb) {
		id = sb_str(sb, "id");
		c = json_object_get(recreated, id);
		ip = json_object_get(ips, id);
		if (c == NULL &&
		    (ip == NULL || json_equal(ip, json_object_get(sb, "ip"))))
			continue;
		if (c != NULL)
			json_object_set(sb, "container", c);
		if (ip != NULL)
			json_object_set(sb, "ip", ip);
		if (db_sandbox_update(a->db, sb) != 0)
			log_warn("state.db: cannot record the new container "
			         "of %s",
			    id);
	}
}

/* Workspaces without a live sandbox are orphans. */
static void
reconcile_orphans(struct api *a)
{
	json_t *inv = NULL, *n, *found;
	size_t i;

	if (wrap_ws_inventory(a, &inv) != 0)
		return;
	json_array_foreach (inv, i, n) {
		found = NULL;
		if (!json_is_string(n) ||
		    db_sandbox_get(a->db, json_string_value(n), NULL, &found) ==
		        0) {
			json_decref(found);
			continue;
		}
		log_info("removing orphan workspace %s", json_string_value(n));
		if (wrap_ws_remove(a, json_string_value(n), NULL, 0) != 0)
			log_warn("cannot remove the orphan workspace %s",
			    json_string_value(n));
	}
	json_decref(inv);
}

void
api_sb_reconcile(struct api *a)
{
	json_t *all = NULL, *rep = NULL, *sb;
	char msg[256];
	size_t i;
	int e;

	if (db_sandbox_list(a->db, NULL, &all) != 0)
		return;
	e = wrap_engine_reconcile(
	    a, reconcile_known(a, all), &rep, msg, sizeof(msg));
	if (e != 0) {
		log_warn("reconciliation with Docker postponed: %s",
		    msg[0] ? msg : petri_strerror(e));
		json_decref(all);
		return;
	}
	reconcile_adopt(a, all, rep);
	/* the proxy starts empty: tell it who every sandbox is */
	if (api_egress_start(a) == 0)
		json_array_foreach (all, i, sb)
			if (api_egress_register(a, sb) != 0)
				log_warn("%s: no egress until it is "
				         "re-created",
				    sb_str(sb, "id"));
	log_info("reconciled with Docker: %d adopted, %d re-created, %d "
	         "orphans removed",
	    (int)json_integer_value(json_object_get(rep, "adopted")),
	    (int)json_object_size(json_object_get(rep, "recreated")),
	    (int)json_integer_value(json_object_get(rep, "removed")));
	reconcile_orphans(a);
	reconciled = 1;
	json_decref(rep);
	json_decref(all);
}

static void *
api_reaper(void *arg)
{
	struct api *a = arg;
	json_t *all, *sb;
	size_t i;

	for (;;) {
		if (api_nap(a, a->cfg->reaper_interval))
			break;
		if (!reconciled)
			api_sb_reconcile(a);
		api_preview_reap(a);
		if (db_sandbox_list(a->db, NULL, &all) != 0)
			continue;
		json_array_foreach (all, i, sb) {
			int64_t exp;
			const char *s = json_string_value(
			    json_object_get(sb, "expires_at"));

			if (strcmp(sb_str(sb, "state"), "pooled") == 0 ||
			    s == NULL || petri_time_parse(s, &exp) != 0 ||
			    exp > petri_now_usec())
				continue;
			log_info("sandbox %s expired",
			    json_string_value(json_object_get(sb, "id")));
			pthread_mutex_lock(&a->sb_lock);
			if (api_sb_remove(a, sb, "expired", NULL) != 0)
				log_warn("could not remove expired sandbox %s; "
				         "will retry",
				    json_string_value(
				        json_object_get(sb, "id")));
			pthread_mutex_unlock(&a->sb_lock);
		}
		json_decref(all);
	}
	return NULL;
}

int
api_reaper_start(struct api *a)
{
	if (pthread_create(&reaper_thread, NULL, api_reaper, a) != 0)
		return PETRI_ERR_IO;
	reaper_started = 1;
	return 0;
}

void
api_background_stop(struct api *a)
{
	pthread_mutex_lock(&nap_lock);
	a->stopping = 1;
	pthread_cond_broadcast(&nap_cond);
	pthread_mutex_unlock(&nap_lock);
	pthread_mutex_lock(&pool_lock);
	pthread_cond_broadcast(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
	/* each finishes the sandbox it is working on, then returns */
	if (reaper_started)
		pthread_join(reaper_thread, NULL);
	if (pool_started)
		pthread_join(pool_thread, NULL);
	reaper_started = pool_started = 0;
}
