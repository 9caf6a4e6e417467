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

enum MHD_Result
api_sb_create(struct api_req *r)
{
	struct api *a = r->api;
	json_t *body, *sb = NULL, *limits = NULL, *x, *labels, *env, *ev;
	json_t *pooled = NULL, *pref = NULL, *secrets = NULL;
	char *pcanon = NULL;
	const char *lang, *runtime = a->cfg->default_runtime;
	const char *policy = "deny-all";
	char msg[256], id[PETRI_ID_MAX], ts[PETRI_TIME_MAX],
	    exp[PETRI_TIME_MAX];
	json_int_t ttl = a->cfg->ttl_seconds;
	int64_t now, count = 0;
	int e, provisioned = 0, egress = 0;
	enum MHD_Result ret;

	if ((body = api_body_json(r)) == NULL)
		return MHD_YES;
	msg[0] = '\0';
	if (api_valid_keys(body, sb_create_keys, msg, sizeof(msg)) != 0)
		goto invalid;
	x = json_object_get(body, "language");
	if (!json_is_string(x) ||
	    config_language_index(json_string_value(x)) < 0) {
		snprintf(msg, sizeof(msg),
		    "language: must be one of python, node, go, java");
		goto invalid;
	}
	lang = json_string_value(x);
	if ((x = json_object_get(body, "ttl_seconds")) != NULL) {
		if (!json_is_integer(x) || json_integer_value(x) < 10 ||
		    json_integer_value(x) > SB_MAX_TTL_SEC) {
			snprintf(msg, sizeof(msg),
			    "ttl_seconds: must be an integer in [10, %d]",
			    SB_MAX_TTL_SEC);
			goto invalid;
		}
		ttl = json_integer_value(x);
	}
	if ((x = json_object_get(body, "runtime")) != NULL) {
		if (!json_is_string(x) ||
		    (strcmp(json_string_value(x), "runc") != 0 &&
		        strcmp(json_string_value(x), "runsc") != 0)) {
			snprintf(msg, sizeof(msg),
			    "runtime: must be \"runc\" or \"runsc\"");
			goto invalid;
		}
		runtime = json_string_value(x);
	}
	if ((x = json_object_get(body, "policy")) != NULL) {
		if (!json_is_string(x)) {
			snprintf(msg, sizeof(msg), "policy: must be a name");
			goto invalid;
		}
		policy = json_string_value(x);
	}
	if ((e = api_policy_lookup(
	         a, r->auth.tenant, policy, &pref, &pcanon)) != 0) {
		if (e != PETRI_ERR_NOTFOUND) {
			ret = api_reply_err(r, e, "policy");
			goto out;
		}
		snprintf(msg, sizeof(msg),
		    "policy: no policy named \"%.64s\" (PUT /v1/policies/NAME "
		    "first; \"deny-all\" is built in)",
		    policy);
		goto invalid;
	}
	/* our own reference from here on: every path out drops it */
	if ((secrets = json_incref(json_object_get(body, "secrets"))) != NULL) {
		size_t i, j;

		if (!json_is_array(secrets) ||
		    json_array_size(secrets) > PROXY_SECRETS_MAX) {
			snprintf(msg, sizeof(msg),
			    "secrets: an array of at most %d secret names",
			    PROXY_SECRETS_MAX);
			goto invalid;
		}
		json_array_foreach (secrets, i, x) {
			if (!json_is_string(x) || json_string_length(x) == 0 ||
			    json_string_length(x) > PROXY_SECRET_NAME_MAX) {
				snprintf(msg, sizeof(msg),
				    "secrets[%zu]: a secret name", i);
				goto invalid;
			}
			for (j = 0; j < i; j++)
				if (json_equal(json_array_get(secrets, j), x)) {
					snprintf(msg, sizeof(msg),
					    "secrets[%zu]: named twice", i);
					goto invalid;
				}
		}
	} else
		secrets = json_array();
	labels = json_object_get(body, "labels");
	if (labels != NULL &&
	    api_valid_strmap(labels, API_MAX_LABELS, 256, 0, "labels", msg,
	        sizeof(msg)) != 0)
		goto invalid;
	env = json_object_get(body, "env");
	if (env != NULL &&
	    api_valid_strmap(
	        env, API_MAX_ENV, 32768, 1, "env", msg, sizeof(msg)) != 0)
		goto invalid;
	if ((limits = sb_limits(
	         a, json_object_get(body, "limits"), msg, sizeof(msg))) == NULL)
		goto invalid;

	if (db_sandbox_count(a->db, r->auth.tenant, &count) != 0) {
		ret = api_reply_err(r, PETRI_ERR_DB, "sandbox registry");
		goto out;
	}
	if (count >= SB_MAX_PER_TENANT) {
		ret = api_reply_error(r, MHD_HTTP_TOO_MANY_REQUESTS,
		    "limit_reached", "this tenant already has %d sandboxes",
		    SB_MAX_PER_TENANT);
		goto out;
	}
	if (petri_id_new("sb_", id, sizeof(id)) != 0) {
		ret = api_reply_err(r, PETRI_ERR_INVAL, "id");
		goto out;
	}
	now = petri_now_usec();
	petri_time_rfc3339(now, ts);
	petri_time_rfc3339(now + (int64_t)ttl * 1000000, exp);
	sb = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:O, "
	               "s:o, s:o, s:s, s:s}",
	    "id", id, "tenant", r->auth.tenant, "language", lang, "state",
	    "running", "created_at", ts, "last_active_at", ts, "expires_at",
	    exp, "ttl_seconds", ttl, "policy", policy, "limits", limits,
	    "labels", labels != NULL ? json_incref(labels) : json_object(),
	    "env", env != NULL ? json_incref(env) : json_object(), "runtime",
	    runtime, "image", a->cfg->images[config_language_index(lang)]);
	if (sb == NULL) {
		ret = api_reply_err(r, PETRI_ERR_NOMEM, "sandbox");
		goto out;
	}
	json_object_set(sb, "policy_ref", pref);
	json_object_set(sb, "secrets", secrets);
	/* a warm one when the shape is the pool's, else a new one */
	if (strcmp(runtime, "runc") == 0 &&
	    json_integer_value(json_object_get(limits, "disk_mb")) ==
	        a->cfg->limits.disk_mb &&
	    (pooled = pool_claim(a, lang, r->auth.tenant, sb)) != NULL) {
		x = json_object_get(pooled, "limits");
		if (!json_equal(x, limits)) {
			if ((e = wrap_engine_sb_update(a,
			         sb_str(sb, "container"), limits, msg,
			         sizeof(msg))) != 0)
				log_warn(
				    "claimed %s: cannot set its limits: %s",
				    sb_str(sb, "id"), msg);
			if (e != 0) {
				/* do not hand out other limits than asked */
				provisioned = 1;
				ret = api_reply_err(r, e, "sandbox limits");
				goto out;
			}
		}
	} else {
		if ((e = sb_provision(a, sb, msg, sizeof(msg))) != 0) {
			if (e == PETRI_ERR_UNAVAIL || e == PETRI_ERR_TIMEOUT)
				ret = api_reply_error(r,
				    MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
				    "the container engine is unavailable: %s",
				    msg);
			else if (e == PETRI_ERR_UNSUPPORTED)
				ret = api_reply_error(
				    r, 422, "invalid_request", "%s", msg);
			else
				ret = api_reply_error(r,
				    MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
				    "cannot start the sandbox: %s", msg);
			goto out;
		}
		provisioned = 1;
		if ((e = db_sandbox_insert(a->db, sb)) != 0) {
			ret = api_reply_err(r, e, "sandbox registry");
			goto out;
		}
	}
	/* its way out: grants, proxy token, identity at the proxy */
	if ((e = api_egress_attach(a, sb, r->auth.tenant, secrets, pcanon, msg,
	         sizeof(msg))) != 0) {
		provisioned = 1;
		if (e == PETRI_ERR_NOTFOUND || e == PETRI_ERR_INVAL ||
		    e == PETRI_ERR_PERM)
			ret = api_reply_error(
			    r, 422, "invalid_request", "%s", msg);
		else
			ret = api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "unavailable", "egress: %s", msg);
		goto out;
	}
	egress = 1;
	if ((e = db_sandbox_update(a->db, sb)) != 0) {
		provisioned = 1;
		ret = api_reply_err(r, e, "sandbox registry");
		goto out;
	}
	ev = json_pack("{s:O, s:s, s:O, s:s, s:s, s:O, s:o, s:b}", "sandbox",
	    json_object_get(sb, "id"), "language", lang, "image",
	    json_object_get(sb, "image"), "image_id", sb_str(sb, "image_id"),
	    "runtime", runtime, "limits", limits, "policy", api_policy_ref(sb),
	    "pooled", pooled != NULL);
	json_object_set(ev, "secrets", secrets);
	if ((e = api_audit(a, r, "sandbox.created", ev, NULL)) != 0) {
		if (db_sandbox_delete(a->db, sb_str(sb, "id")) != 0)
			log_warn(
			    "state.db: cannot roll back %s", sb_str(sb, "id"));
		provisioned = 1;
		ret = api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable", "the audit log is unavailable");
		goto out;
	}
	provisioned = 0;
	pthread_mutex_lock(&a->metrics.lock);
	a->metrics.sandboxes_created++;
	pthread_mutex_unlock(&a->metrics.lock);
	ret = api_reply_json(r, MHD_HTTP_CREATED, sb_view(sb));
	goto out;
invalid:
	ret = api_reply_error(r, 422, "invalid_request", "%s", msg);
out:
	if (provisioned && egress)
		api_egress_detach(a, sb_str(sb, "id"));
	if (provisioned) {
		if (pooled != NULL &&
		    db_sandbox_delete(a->db, sb_str(sb, "id")) != 0)
			log_warn("state.db: cannot drop %s", sb_str(sb, "id"));
		sb_unprovision(a, sb_str(sb, "id"),
		    json_string_value(json_object_get(sb, "container")));
	}
	json_decref(pooled);
	json_decref(sb);
	json_decref(limits);
	json_decref(body);
	json_decref(pref);
	json_decref(secrets);
	free(pcanon);
	return ret;
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
	int e;

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
	if ((e = db_sandbox_delete(a->db, id)) != 0)
		return e;
	ev = json_pack("{s:s, s:s}", "sandbox", id, "reason", reason);
	if ((e = api_audit(a, r,
	         strcmp(reason, "expired") == 0 ? "sandbox.expired"
	                                        : "sandbox.deleted",
	         ev, NULL)) != 0)
		log_warn("audit log unavailable while removing %s", id);
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

void
api_sb_reconcile(struct api *a)
{
	json_t *all = NULL, *known, *rep = NULL, *sb, *inv = NULL, *x;
	char msg[256];
	size_t i;
	int e;

	if (db_sandbox_list(a->db, NULL, &all) != 0)
		return;
	known = json_array();
	json_array_foreach (all, i, sb) {
		json_t *spec = sb_engine_spec(a, sb);

		/* after a reboot the workspace file systems are unmounted */
		if (sb_str(sb, "id")[0] != '\0' &&
		    (e = wrap_parent_ws_prepare(
		         a, sb_str(sb, "id"), -1, 0, msg, sizeof(msg))) != 0)
			log_warn("cannot mount the workspace of %s: %s",
			    json_string_value(json_object_get(sb, "id")), msg);

		if (spec == NULL)
			continue;
		json_object_set(
		    spec, "container", json_object_get(sb, "container"));
		json_array_append_new(known, spec);
	}
	e = wrap_engine_reconcile(a, known, &rep, msg, sizeof(msg));
	if (e != 0) {
		log_warn("reconciliation with Docker postponed: %s",
		    msg[0] ? msg : petri_strerror(e));
		json_decref(all);
		return;
	}
	/* containers the engine had to re-create get their new id */
	x = json_object_get(rep, "recreated");
	json_array_foreach (all, i, sb) {
		const char *id = json_string_value(json_object_get(sb, "id"));
		json_t *c = json_object_get(x, id != NULL ? id : "");
		json_t *ip = json_object_get(
		    json_object_get(rep, "ips"), id != NULL ? id : "");

		if (c != NULL ||
		    (ip != NULL &&
		        !json_equal(ip, json_object_get(sb, "ip")))) {
			if (c != NULL)
				json_object_set(sb, "container", c);
			if (ip != NULL)
				json_object_set(sb, "ip", ip);
			if (db_sandbox_update(a->db, sb) != 0)
				log_warn("state.db: cannot record the new "
				         "container of %s",
				    id);
		}
	}
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
	    (int)json_object_size(x),
	    (int)json_integer_value(json_object_get(rep, "removed")));
	/* workspaces without a live sandbox are orphans */
	if (wrap_ws_inventory(a, &inv) == 0) {
		json_t *n;

		json_array_foreach (inv, i, n) {
			json_t *found = NULL;

			if (db_sandbox_get(a->db, json_string_value(n), NULL,
			        &found) == 0) {
				json_decref(found);
				continue;
			}
			log_info("removing orphan workspace %s",
			    json_string_value(n));
			if (json_is_string(n) &&
			    wrap_ws_remove(a, json_string_value(n), NULL, 0) !=
			        0)
				log_warn("cannot remove the orphan workspace "
				         "%s",
				    json_string_value(n));
		}
	}
	reconciled = 1;
	json_decref(inv);
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
