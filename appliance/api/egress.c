/*
 * egress.c: the api's egress service (docs/egress.md), below the handlers:
 * the policy a sandbox gets, what a sandbox needs to reach the proxy (its
 * identity at the proxy: source address, proxy token, policy, secret
 * names; its grants in the vault; the environment of its executions), and
 * the proxy's reports, which end up in the execution answers and records,
 * and each denial in an "egress.denied" record.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api.h"
#include "bounds.h"
#include "log.h"
#include "policy.h"
#include "proto.h"
#include "proxy_bounds.h"
#include "util.h"

#define DENIAL_QUEUE 256

static const char *
eg_str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/*
 * The policy a sandbox of tenant would get by name: *ref (caller
 * json_decref()s) is {name, sha256, version} and *canon (caller frees)
 * its canonical text, which the proxy parses.  Returns 0,
 * PETRI_ERR_NOTFOUND or another PETRI_ERR_*.
 */
int
api_policy_lookup(struct api *a, const char *tenant, const char *name,
    json_t **ref, char **canon)
{
	json_t *row = NULL;
	struct policy *p = NULL;
	const char *c;
	size_t len;
	char sha[PETRI_SHA256_HEX];
	int e;

	*ref = NULL;
	*canon = NULL;
	if (strcmp(name, POLICY_BUILTIN) == 0) {
		if ((e = policy_default_new(&p)) != 0)
			return e;
		e = policy_canonical(p, canon, &len);
		policy_free(p);
		if (e != 0)
			return e;
		petri_sha256_hex(*canon, len, sha);
		*ref = json_pack("{s:s, s:s, s:i}", "name", POLICY_BUILTIN,
		    "sha256", sha, "version", 0);
		goto done;
	}
	if ((e = db_policy_get(a->db, tenant, name, &row)) != 0)
		return e;
	if ((c = eg_str(row, "canonical")) == NULL ||
	    (*canon = strdup(c)) == NULL) {
		json_decref(row);
		return PETRI_ERR_DB;
	}
	*ref = json_pack("{s:s, s:O, s:O}", "name", name, "sha256",
	    json_object_get(row, "sha256"), "version",
	    json_object_get(row, "version"));
	json_decref(row);
done:
	if (*ref == NULL) {
		free(*canon);
		*canon = NULL;
		return PETRI_ERR_NOMEM;
	}
	return 0;
}

json_t *
api_policy_ref(json_t *sb)
{
	json_t *r = json_object_get(sb, "policy_ref");

	if (r != NULL)
		return json_incref(r);
	return json_pack("{s:s, s:n}", "name",
	    eg_str(sb, "policy") != NULL ? eg_str(sb, "policy")
	                                 : POLICY_BUILTIN,
	    "sha256");
}

/* --- sandboxes at the proxy ------------------------------------------------------ */

static pthread_mutex_t eg_lock = PTHREAD_MUTEX_INITIALIZER;

int
api_egress_start(struct api *a)
{
	char msg[256], gw[sizeof(a->egress_gw)], bridge[64];
	int e, port = 0;

	pthread_mutex_lock(&eg_lock);
	if (a->egress_port > 0) {
		pthread_mutex_unlock(&eg_lock);
		return 0;
	}
	if ((e = wrap_engine_info(a, gw, sizeof(gw), bridge, sizeof(bridge),
	         msg, sizeof(msg))) != 0 ||
	    gw[0] == '\0') {
		log_warn("egress: no sandbox network gateway yet: %s",
		    e != 0 ? msg : "none");
		pthread_mutex_unlock(&eg_lock);
		return e != 0 ? e : PETRI_ERR_UNAVAIL;
	}
	petri_strlcpy(a->egress_gw, gw, sizeof(a->egress_gw));
	if ((e = wrap_proxy_listen(a, a->egress_gw, &port, msg, sizeof(msg))) !=
	    0) {
		log_warn("egress: the proxy cannot listen on %s: %s",
		    a->egress_gw, msg);
		pthread_mutex_unlock(&eg_lock);
		return e;
	}
	/* the host answers nothing else on that bridge */
	if ((e = wrap_parent_firewall(
	         a, bridge, a->egress_gw, port, msg, sizeof(msg))) != 0) {
		log_warn("egress: %s: sandboxes get no egress until it is "
		         "fixed",
		    msg);
		pthread_mutex_unlock(&eg_lock);
		return e;
	}
	a->egress_port = port;
	pthread_mutex_unlock(&eg_lock);
	log_info("egress: sandboxes reach the proxy at %s:%d", a->egress_gw,
	    a->egress_port);
	return 0;
}

int
api_egress_register(struct api *a, json_t *sb)
{
	json_t *eg = json_object_get(sb, "egress"), *secrets, *g;
	const char *policy = eg_str(eg, "policy");
	const char *ip = eg_str(sb, "ip");
	char msg[256];
	size_t i;
	int e;

	if (eg == NULL || policy == NULL)
		return 0; /* a warm sandbox: nobody's yet, no identity */
	if (ip == NULL || ip[0] == '\0') {
		log_warn("%s: no address on the sandbox network: it has no "
		         "egress",
		    eg_str(sb, "id"));
		return PETRI_ERR_UNAVAIL;
	}
	if ((e = api_egress_start(a)) != 0)
		return e;
	secrets = json_array();
	json_array_foreach (json_object_get(eg, "grants"), i, g)
		json_array_append_new(secrets,
		    json_pack("{s:O, s:O, s:O}", "name",
		        json_object_get(g, "name"), "header",
		        json_object_get(g, "header"), "placeholder",
		        json_object_get(g, "placeholder")));
	e = wrap_proxy_ident_set(a, eg_str(sb, "id"), ip,
	    json_object_get(eg, "token"), secrets, policy, msg, sizeof(msg));
	if (e != 0)
		log_warn("%s: the proxy refused its identity: %s",
		    eg_str(sb, "id"), msg);
	return e;
}

int
api_egress_attach(struct api *a, json_t *sb, const char *tenant,
    json_t *secrets, const char *canon, char *msg, size_t msglen)
{
	unsigned char rnd[SB_PROXY_TOKEN_BYTES];
	char token[2 * SB_PROXY_TOKEN_BYTES + 1];
	json_t *grants;
	int e;

	msg[0] = '\0';
	if (json_array_size(secrets) > 0) {
		if ((e = wrap_keeper_grant(a, tenant, eg_str(sb, "id"), secrets,
		         &grants, msg, msglen)) != 0)
			return e;
	} else
		grants = json_array();
	randombytes_buf(rnd, sizeof(rnd));
	petri_hex(rnd, sizeof(rnd), token);
	sodium_memzero(rnd, sizeof(rnd));
	json_object_set_new(sb, "egress",
	    json_pack("{s:s, s:s, s:o}", "token", token, "policy", canon,
	        "grants", grants));
	sodium_memzero(token, sizeof(token));
	if ((e = api_egress_register(a, sb)) != 0) {
		snprintf(msg, msglen,
		    a->egress_port > 0
		        ? "the egress proxy refused the sandbox (see petrid's "
		          "log)"
		        : "the egress proxy is not running: the sandbox "
		          "network "
		          "or the host firewall could not be set up (see "
		          "petrid's log)");
		api_egress_detach(a, eg_str(sb, "id"));
		json_object_del(sb, "egress");
	}
	return e;
}

void
api_egress_detach(struct api *a, const char *sandbox)
{
	int e;

	if (sandbox == NULL)
		return;
	e = wrap_proxy_ident_del(a, sandbox);
	if (e != 0 && e != PETRI_ERR_NOTFOUND)
		log_warn("%s: cannot end its identity at the proxy", sandbox);
	if (wrap_keeper_revoke(a, sandbox) != 0)
		log_warn("%s: cannot end its grants", sandbox);
}

void
api_egress_env(struct api *a, json_t *sb, json_t *env)
{
	static const char *const proxy_vars[] = {
	    "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", NULL};
	static const char *const ca_vars[] = {"SSL_CERT_FILE",
	    "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PIP_CERT",
	    "NODE_EXTRA_CA_CERTS", "npm_config_cafile", "GIT_SSL_CAINFO", NULL};
	json_t *eg = json_object_get(sb, "egress"), *g;
	char url[256];
	size_t i;

	if (eg == NULL || a->egress_port <= 0)
		return;
	snprintf(url, sizeof(url), "http://sb:%s@%s:%d",
	    eg_str(eg, "token") != NULL ? eg_str(eg, "token") : "",
	    a->egress_gw, a->egress_port);
	for (i = 0; proxy_vars[i] != NULL; i++)
		json_object_set_new(env, proxy_vars[i], json_string(url));
	for (i = 0; ca_vars[i] != NULL; i++)
		json_object_set_new(
		    env, ca_vars[i], json_string(SANDBOX_CA_FILE));
	/* the container's own loopback is not egress */
	json_object_set_new(env, "NO_PROXY", json_string(SANDBOX_NO_PROXY));
	json_object_set_new(env, "no_proxy", json_string(SANDBOX_NO_PROXY));
	json_array_foreach (json_object_get(eg, "grants"), i, g)
		if (eg_str(g, "env") != NULL && eg_str(g, "env")[0] != '\0')
			json_object_set(env, eg_str(g, "env"),
			    json_object_get(g, "placeholder"));
	sodium_memzero(url, sizeof(url));
}

int
api_egress_exec_begin(struct api *a, json_t *sb)
{
	if (json_object_get(sb, "egress") == NULL || a->egress_port <= 0)
		return 0;
	if (eg_str(sb, "id") == NULL)
		return PETRI_ERR_INVAL;
	return wrap_proxy_exec_begin(a, eg_str(sb, "id"));
}

void
api_egress_sync(struct api *a)
{
	if (a->egress_port <= 0)
		return;
	if (wrap_proxy_sync(a) != 0)
		log_warn("egress: the proxy did not answer a sync");
}

/* --- reports ------------------------------------------------------------------------ */

static pthread_mutex_t dq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dq_cond = PTHREAD_COND_INITIALIZER;
static json_t *dq[DENIAL_QUEUE];
static size_t dq_head, dq_len;
static uint64_t dq_dropped;
static pthread_t dq_thread;
static int dq_started;

/* Writes "egress.denied" records, off the channel's reader thread. */
static void *
denial_writer(void *arg)
{
	struct api *a = arg;
	json_t *ev, *sb = NULL;
	uint64_t dropped;
	const char *id;

	for (;;) {
		pthread_mutex_lock(&dq_lock);
		while (dq_len == 0 && !a->stopping)
			pthread_cond_wait(&dq_cond, &dq_lock);
		if (dq_len == 0) {
			pthread_mutex_unlock(&dq_lock);
			break;
		}
		ev = dq[dq_head];
		dq_head = (dq_head + 1) % DENIAL_QUEUE;
		dq_len--;
		dropped = dq_dropped;
		dq_dropped = 0;
		pthread_mutex_unlock(&dq_lock);
		id = eg_str(ev, "sandbox");
		if (id != NULL && id[0] != '\0' &&
		    db_sandbox_get(a->db, id, NULL, &sb) == 0) {
			json_object_set(
			    ev, "tenant", json_object_get(sb, "tenant"));
			json_object_set_new(ev, "policy", api_policy_ref(sb));
			json_decref(sb);
			sb = NULL;
		}
		if (dropped > 0)
			json_object_set_new(ev, "dropped_before",
			    json_integer((json_int_t)dropped));
		if (wrap_keeper_append(
		        a, NULL, NULL, "egress.denied", ev, NULL) != 0)
			log_warn("egress: cannot record a denial");
	}
	return NULL;
}

static void
api_proxy_event(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	struct api *a = arg;
	json_t *call, *ev;
	const char *sb, *decision;

	(void)c;
	if (m == NULL)
		fatal("the proxy went away");
	if (m->type != MSG_PRX_REPORT)
		fatal("unexpected request %u from the proxy", m->type);
	sb = eg_str(m->json, "sandbox");
	call = json_object_get(m->json, "call");
	decision = eg_str(call, "decision");
	if (sb == NULL || !json_is_object(call) || decision == NULL)
		fatal("malformed report from the proxy");
	if (sb[0] != '\0')
		api_runs_network(a, sb, call);
	if (strcmp(decision, "allow") != 0) {
		ev = json_pack("{s:s, s:O}", "sandbox", sb, "call", call);
		pthread_mutex_lock(&dq_lock);
		if (ev != NULL && dq_len < DENIAL_QUEUE) {
			dq[(dq_head + dq_len) % DENIAL_QUEUE] = ev;
			dq_len++;
			pthread_cond_signal(&dq_cond);
		} else {
			dq_dropped++;
			json_decref(ev);
		}
		pthread_mutex_unlock(&dq_lock);
	}
	ipc_msg_clear(m);
}

int
api_egress_open(struct api *a)
{
	a->proxy = ipc_chan_new(PROC_FD_API_PROXY, "proxy", 0,
	    proto_api_from_proxy, proto_api_from_proxy_n, api_proxy_event, a);
	if (a->proxy == NULL || ipc_chan_start(a->proxy) != 0)
		return PETRI_ERR_IO;
	if (pthread_create(&dq_thread, NULL, denial_writer, a) != 0)
		return PETRI_ERR_IO;
	dq_started = 1;
	return 0;
}

void
api_egress_stop(struct api *a)
{
	(void)a;
	if (!dq_started)
		return;
	pthread_mutex_lock(&dq_lock);
	pthread_cond_broadcast(&dq_cond);
	pthread_mutex_unlock(&dq_lock);
	pthread_join(dq_thread, NULL);
	dq_started = 0;
}
