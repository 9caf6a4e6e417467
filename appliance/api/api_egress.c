/*
 * api_egress.c: the api's side of egress (docs/egress.md): stored
 * policies, the secret routes (values go to the keeper and never come
 * back), and what a sandbox needs to reach the proxy: its identity at the
 * proxy (source address, proxy token, policy, secret names), its grants
 * in the vault, and the environment of its executions.  Reports of the
 * proxy end up in the execution answers and records, and each denial in
 * an "egress.denied" record.
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

#define EGRESS_TIMEOUT_MS 15000
#define DENIAL_QUEUE 256

/* The built-in policy, which needs no storing. */
#define POLICY_BUILTIN "deny-all"

static int
eg_ask(struct ipc_chan *c, uint32_t type, json_t *req, const void *data,
    size_t datalen, json_t **reply, char *msg, size_t msglen)
{
	return api_ask(
	    c, type, req, data, datalen, EGRESS_TIMEOUT_MS, reply, msg, msglen);
}

static const char *
eg_str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* --- policies ---------------------------------------------------------------- */

/*
 * Parses a policy document and gives its canonical text (caller frees)
 * and hash.  Returns 0 or the error of policy_parse() with msg set.
 */
static int
policy_canon(const char *text, size_t len, char **canon, size_t *clen,
    char sha[PETRI_SHA256_HEX], char *msg, size_t msglen)
{
	struct policy *p = NULL;
	int e;

	*canon = NULL;
	if ((e = policy_parse(text, len, NULL, &p, msg, msglen)) != 0)
		return e;
	e = policy_canonical(p, canon, clen);
	policy_free(p);
	if (e != 0) {
		snprintf(msg, msglen, "cannot canonicalise the policy");
		return e;
	}
	petri_sha256_hex(*canon, *clen, sha);
	return 0;
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

/* The API's view of a stored policy. */
static json_t *
policy_view(json_t *row)
{
	json_t *v = json_pack("{s:O, s:O, s:O, s:O}", "name",
	    json_object_get(row, "name"), "version",
	    json_object_get(row, "version"), "sha256",
	    json_object_get(row, "sha256"), "created_at",
	    json_object_get(row, "created_at"));
	const char *c = eg_str(row, "canonical");

	if (v != NULL && c != NULL)
		json_object_set_new(v, "policy", json_loads(c, 0, NULL));
	return v;
}

static int
policy_name_ok(const char *n)
{
	size_t i, len = strlen(n);

	if (len == 0 || len > POLICY_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') ||
		        (n[i] >= 'A' && n[i] <= 'Z') ||
		        (n[i] >= '0' && n[i] <= '9') || n[i] == '-' ||
		        n[i] == '_' || n[i] == '.'))
			return 0;
	return 1;
}

enum MHD_Result
api_policies_list(struct api_req *r)
{
	json_t *rows = NULL, *out, *row, *ref;
	char *canon = NULL;
	size_t i;
	int e;

	if ((e = db_policy_list(r->api->db, r->auth.tenant, &rows)) != 0)
		return api_reply_err(r, e, "policies");
	out = json_array();
	if (api_policy_lookup(
	        r->api, r->auth.tenant, POLICY_BUILTIN, &ref, &canon) == 0) {
		json_object_set_new(ref, "builtin", json_true());
		json_object_set_new(ref, "policy", json_loads(canon, 0, NULL));
		json_array_append_new(out, ref);
	}
	free(canon);
	json_array_foreach (rows, i, row)
		json_array_append_new(out, policy_view(row));
	json_decref(rows);
	return api_reply_json(
	    r, MHD_HTTP_OK, json_pack("{s:o}", "policies", out));
}

enum MHD_Result
api_policies_get(struct api_req *r)
{
	const char *name = r->segs[0];
	json_t *row = NULL, *ref;
	char *canon = NULL;
	int e;

	if (strcmp(name, POLICY_BUILTIN) == 0) {
		if ((e = api_policy_lookup(
		         r->api, r->auth.tenant, name, &ref, &canon)) != 0)
			return api_reply_err(r, e, "policy");
		json_object_set_new(ref, "builtin", json_true());
		json_object_set_new(ref, "policy", json_loads(canon, 0, NULL));
		free(canon);
		return api_reply_json(r, MHD_HTTP_OK, ref);
	}
	if ((e = db_policy_get(r->api->db, r->auth.tenant, name, &row)) != 0)
		return api_reply_err(r, e, "policy");
	ref = policy_view(row);
	json_decref(row);
	return api_reply_json(r, MHD_HTTP_OK, ref);
}

enum MHD_Result
api_policies_put(struct api_req *r)
{
	const char *name = r->segs[0];
	json_t *body, *x, *row = NULL, *ev;
	char msg[POLICY_ERR_MAX + 64], sha[PETRI_SHA256_HEX];
	char ts[PETRI_TIME_MAX], *text = NULL, *canon = NULL;
	size_t clen;
	int64_t version = 0;
	int e;
	enum MHD_Result ret;

	if (!policy_name_ok(name))
		return api_reply_error(r, 422, "invalid_request",
		    "name: 1 to %d characters of [A-Za-z0-9._-]",
		    POLICY_NAME_MAX);
	if (strcmp(name, POLICY_BUILTIN) == 0)
		return api_reply_error(r, 409, "conflict",
		    "%s is built in and cannot be replaced", POLICY_BUILTIN);
	if ((body = api_body_json(r)) == NULL)
		return MHD_YES;
	/* the document names itself; the path decides */
	x = json_object_get(body, "name");
	if (x != NULL &&
	    (!json_is_string(x) || strcmp(json_string_value(x), name) != 0)) {
		json_decref(body);
		return api_reply_error(r, 422, "invalid_request",
		    "name: must be the name of the path (%s)", name);
	}
	json_object_set_new(body, "name", json_string(name));
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL) {
		json_decref(body);
		return api_reply_err(r, PETRI_ERR_NOMEM, "policy");
	}
	json_decref(body);
	if (strlen(text) > API_POLICY_MAX) {
		free(text);
		return api_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE,
		    "too_large", "policy: at most %d bytes", API_POLICY_MAX);
	}
	e = policy_canon(
	    text, strlen(text), &canon, &clen, sha, msg, sizeof(msg));
	free(text);
	if (e != 0) {
		free(canon);
		return api_reply_error(r, 422, "invalid_request", "%s", msg);
	}
	petri_time_rfc3339(petri_now_usec(), ts);
	row = json_pack("{s:s, s:s, s:s, s:s}", "name", name, "sha256", sha,
	    "created_at", ts, "canonical", canon);
	free(canon);
	if (row == NULL)
		return api_reply_err(r, PETRI_ERR_NOMEM, "policy");
	e = db_policy_put(
	    r->api->db, r->auth.tenant, name, row, petri_now_usec(), &version);
	if (e == PETRI_ERR_LIMIT) {
		json_decref(row);
		return api_reply_error(r, 422, "limit_reached",
		    "at most %d policies of %d versions each", API_POLICIES_MAX,
		    API_POLICY_VERSIONS);
	}
	if (e != 0) {
		json_decref(row);
		return api_reply_err(r, e, "policy");
	}
	ev = json_pack("{s:s, s:s, s:I, s:s}", "action", "put", "name", name,
	    "version", (json_int_t)version, "sha256", sha);
	if (api_audit(r->api, r, "policy.changed", ev, NULL) != 0) {
		json_decref(row);
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable", "the audit log is unavailable");
	}
	ret = api_reply_json(
	    r, version == 1 ? MHD_HTTP_CREATED : MHD_HTTP_OK, policy_view(row));
	json_decref(row);
	return ret;
}

enum MHD_Result
api_policies_delete(struct api_req *r)
{
	const char *name = r->segs[0];
	int e;

	if (strcmp(name, POLICY_BUILTIN) == 0)
		return api_reply_error(r, 409, "conflict",
		    "%s is built in and cannot be deleted", POLICY_BUILTIN);
	if ((e = db_policy_delete(r->api->db, r->auth.tenant, name)) != 0)
		return api_reply_err(r, e, "policy");
	if (api_audit(r->api, r, "policy.changed",
	        json_pack("{s:s, s:s}", "action", "delete", "name", name),
	        NULL) != 0)
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable", "the audit log is unavailable");
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* --- secrets ------------------------------------------------------------------- */

static const char *const secret_binding_keys[] = {
    "hosts", "methods", "paths", "port", "inject", NULL};

/* Answers an error of the keeper's vault. */
static enum MHD_Result
secret_reply_err(struct api_req *r, int e, const char *msg)
{
	switch (e) {
	case PETRI_ERR_INVAL:
	case PETRI_ERR_PERM:
	case PETRI_ERR_TOOBIG:
		return api_reply_error(r, 422, "invalid_request", "%s", msg);
	case PETRI_ERR_EXISTS:
		return api_reply_error(
		    r, 409, "conflict", "a secret of that name exists");
	case PETRI_ERR_LIMIT:
		return api_reply_error(r, 422, "limit_reached",
		    "this tenant has the most secrets it may have");
	case PETRI_ERR_NOTFOUND:
		return api_reply_error(
		    r, MHD_HTTP_NOT_FOUND, "not_found", "secret not found");
	default:
		return api_reply_err(r, e, "vault");
	}
}

/*
 * Splits a secret request body into value and binding (the other keys).
 * Wipes the value from body on every path.  Returns 0 or
 * PETRI_ERR_INVAL with msg.
 */
static int
secret_split(json_t *body, int create, json_t **value, json_t **binding,
    char *msg, size_t msglen)
{
	const char *k;
	json_t *v, *b;
	size_t i;

	*value = NULL;
	*binding = NULL;
	b = json_object();
	json_object_foreach (body, k, v) {
		if (strcmp(k, "value") == 0 || strcmp(k, "name") == 0)
			continue;
		for (i = 0; secret_binding_keys[i] != NULL; i++)
			if (strcmp(k, secret_binding_keys[i]) == 0)
				break;
		if (secret_binding_keys[i] == NULL) {
			snprintf(msg, msglen, "unknown field \"%.64s\"", k);
			json_decref(b);
			return PETRI_ERR_INVAL;
		}
		json_object_set(b, k, v);
	}
	v = json_object_get(body, "value");
	if (v != NULL && !json_is_string(v)) {
		snprintf(msg, msglen, "value: must be a string");
		json_decref(b);
		return PETRI_ERR_INVAL;
	}
	if (create && (v == NULL || json_object_size(b) == 0)) {
		snprintf(
		    msg, msglen, "name, value, hosts and inject are required");
		json_decref(b);
		return PETRI_ERR_INVAL;
	}
	if (!create && v == NULL && json_object_size(b) == 0) {
		snprintf(msg, msglen, "a new value and/or binding is required");
		json_decref(b);
		return PETRI_ERR_INVAL;
	}
	*value = v != NULL ? json_incref(v) : NULL;
	if (json_object_size(b) > 0)
		*binding = b;
	else
		json_decref(b);
	return 0;
}

static void
wipe_json_string(json_t *v)
{
	if (json_is_string(v) && json_string_length(v) > 0)
		sodium_memzero((char *)(uintptr_t)json_string_value(v),
		    json_string_length(v));
}

static enum MHD_Result
secret_put(struct api_req *r, const char *name, int create)
{
	json_t *body, *value = NULL, *binding = NULL, *req, *rep = NULL;
	json_t *meta;
	char msg[256];
	int e;
	enum MHD_Result ret;

	if ((body = api_body_json(r)) == NULL)
		return MHD_YES;
	if (create) {
		name = eg_str(body, "name");
		if (name == NULL) {
			wipe_json_string(json_object_get(body, "value"));
			json_decref(body);
			return api_reply_error(
			    r, 422, "invalid_request", "name: required");
		}
	} else if (json_object_get(body, "name") != NULL &&
	    (eg_str(body, "name") == NULL ||
	        strcmp(eg_str(body, "name"), name) != 0)) {
		wipe_json_string(json_object_get(body, "value"));
		json_decref(body);
		return api_reply_error(r, 422, "invalid_request",
		    "name: must be the name of the path");
	}
	if (secret_split(body, create, &value, &binding, msg, sizeof(msg)) !=
	    0) {
		wipe_json_string(json_object_get(body, "value"));
		json_decref(body);
		return api_reply_error(r, 422, "invalid_request", "%s", msg);
	}
	req = json_pack("{s:s, s:s, s:b}", "tenant", r->auth.tenant, "name",
	    name, "rotate", !create);
	if (value != NULL)
		json_object_set(req, "value", value);
	if (binding != NULL)
		json_object_set(req, "binding", binding);
	e = eg_ask(r->api->keeper, MSG_KPR_SECRET_PUT, req, NULL, 0, &rep, msg,
	    sizeof(msg));
	wipe_json_string(value);
	json_decref(value);
	json_decref(binding);
	if (e != 0) {
		json_decref(body);
		return secret_reply_err(r, e, msg);
	}
	meta = json_incref(json_object_get(rep, "secret"));
	json_decref(rep);
	if (api_audit(r->api, r, create ? "secret.created" : "secret.rotated",
	        json_pack("{s:O, s:O, s:O}", "name",
	            json_object_get(meta, "name"), "secret",
	            json_object_get(meta, "id"), "version",
	            json_object_get(meta, "version")),
	        NULL) != 0) {
		json_decref(meta);
		json_decref(body);
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable", "the audit log is unavailable");
	}
	ret = api_reply_json(r, create ? MHD_HTTP_CREATED : MHD_HTTP_OK, meta);
	json_decref(body);
	return ret;
}

enum MHD_Result
api_secrets_create(struct api_req *r)
{
	return secret_put(r, NULL, 1);
}

enum MHD_Result
api_secrets_rotate(struct api_req *r)
{
	return secret_put(r, r->segs[0], 0);
}

enum MHD_Result
api_secrets_list(struct api_req *r)
{
	json_t *rep = NULL, *req;
	char msg[256];
	int e;

	req = json_pack("{s:s}", "tenant", r->auth.tenant);
	if (r->nsegs > 0)
		json_object_set_new(req, "name", json_string(r->segs[0]));
	if ((e = eg_ask(r->api->keeper, MSG_KPR_SECRET_LIST, req, NULL, 0, &rep,
	         msg, sizeof(msg))) != 0)
		return secret_reply_err(r, e, msg);
	if (r->nsegs > 0) {
		json_t *one = json_incref(
		    json_array_get(json_object_get(rep, "secrets"), 0));

		json_decref(rep);
		if (one == NULL)
			return secret_reply_err(r, PETRI_ERR_NOTFOUND, "");
		return api_reply_json(r, MHD_HTTP_OK, one);
	}
	return api_reply_json(r, MHD_HTTP_OK, rep);
}

enum MHD_Result
api_secrets_delete(struct api_req *r)
{
	char msg[256];
	int e;

	if ((e = eg_ask(r->api->keeper, MSG_KPR_SECRET_DEL,
	         json_pack("{s:s, s:s}", "tenant", r->auth.tenant, "name",
	             r->segs[0]),
	         NULL, 0, NULL, msg, sizeof(msg))) != 0)
		return secret_reply_err(r, e, msg);
	if (api_audit(r->api, r, "secret.deleted",
	        json_pack("{s:s}", "name", r->segs[0]), NULL) != 0)
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable", "the audit log is unavailable");
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

/* --- sandboxes at the proxy ------------------------------------------------------ */

static pthread_mutex_t eg_lock = PTHREAD_MUTEX_INITIALIZER;

int
api_egress_start(struct api *a)
{
	json_t *info = NULL, *rep = NULL;
	const char *gw;
	char msg[256];
	int e, port;

	pthread_mutex_lock(&eg_lock);
	if (a->egress_port > 0) {
		pthread_mutex_unlock(&eg_lock);
		return 0;
	}
	if ((e = eg_ask(a->engine, MSG_ENG_INFO, json_object(), NULL, 0, &info,
	         msg, sizeof(msg))) != 0 ||
	    (gw = eg_str(info, "gateway")) == NULL || gw[0] == '\0') {
		log_warn("egress: no sandbox network gateway yet: %s",
		    e != 0 ? msg : "none");
		json_decref(info);
		pthread_mutex_unlock(&eg_lock);
		return e != 0 ? e : PETRI_ERR_UNAVAIL;
	}
	petri_strlcpy(a->egress_gw, gw, sizeof(a->egress_gw));
	if ((e = eg_ask(a->proxy, MSG_PRX_LISTEN,
	         json_pack("{s:s}", "address", a->egress_gw), NULL, 0, &rep,
	         msg, sizeof(msg))) != 0) {
		log_warn("egress: the proxy cannot listen on %s: %s",
		    a->egress_gw, msg);
		json_decref(info);
		pthread_mutex_unlock(&eg_lock);
		return e;
	}
	port = (int)json_integer_value(json_object_get(rep, "port"));
	json_decref(rep);
	/* the host answers nothing else on that bridge */
	if ((e = eg_ask(a->parent, MSG_PAR_FIREWALL,
	         json_pack("{s:s, s:s, s:i}", "bridge",
	             eg_str(info, "bridge") != NULL ? eg_str(info, "bridge")
	                                            : "",
	             "gateway", a->egress_gw, "port", port),
	         NULL, 0, NULL, msg, sizeof(msg))) != 0) {
		log_warn("egress: %s: sandboxes get no egress until it is "
		         "fixed",
		    msg);
		json_decref(info);
		pthread_mutex_unlock(&eg_lock);
		return e;
	}
	json_decref(info);
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
	e = eg_ask(a->proxy, MSG_PRX_IDENT_SET,
	    json_pack("{s:s, s:s, s:O, s:o}", "sandbox", eg_str(sb, "id"),
	        "src", ip, "token", json_object_get(eg, "token"), "secrets",
	        secrets),
	    policy, strlen(policy), NULL, msg, sizeof(msg));
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
	json_t *rep = NULL, *grants;
	int e;

	msg[0] = '\0';
	if (json_array_size(secrets) > 0) {
		if ((e = eg_ask(a->keeper, MSG_KPR_GRANT,
		         json_pack("{s:s, s:O, s:O}", "tenant", tenant,
		             "sandbox", json_object_get(sb, "id"), "names",
		             secrets),
		         NULL, 0, &rep, msg, msglen)) != 0)
			return e;
		grants = json_incref(json_object_get(rep, "grants"));
		json_decref(rep);
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
	e = eg_ask(a->proxy, MSG_PRX_IDENT_DEL,
	    json_pack("{s:s}", "sandbox", sandbox), NULL, 0, NULL, NULL, 0);
	if (e != 0 && e != PETRI_ERR_NOTFOUND)
		log_warn("%s: cannot end its identity at the proxy", sandbox);
	if (eg_ask(a->keeper, MSG_KPR_REVOKE,
	        json_pack("{s:s}", "sandbox", sandbox), NULL, 0, NULL, NULL,
	        0) != 0)
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
	return eg_ask(a->proxy, MSG_PRX_EXEC_BEGIN,
	    json_pack("{s:s}", "sandbox", eg_str(sb, "id")), NULL, 0, NULL,
	    NULL, 0);
}

void
api_egress_sync(struct api *a)
{
	if (a->egress_port <= 0)
		return;
	if (eg_ask(a->proxy, MSG_PRX_SYNC, json_object(), NULL, 0, NULL, NULL,
	        0) != 0)
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
		if (api_audit_as(a, NULL, NULL, "egress.denied", ev, NULL) != 0)
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
		api_exec_network(a, sb, call);
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
