/*
 * api_egress.c: the egress routes (docs/egress.md): stored policies and
 * secrets (values go to the keeper and never come back).  What a sandbox
 * needs to reach the proxy is the egress service's (egress.c).
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
	json_t *body, *value = NULL, *binding = NULL;
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
	e = wrap_keeper_secret_put(r->api, r->auth.tenant, name, !create, value,
	    binding, &meta, msg, sizeof(msg));
	wipe_json_string(value);
	json_decref(value);
	json_decref(binding);
	if (e != 0) {
		json_decref(body);
		return secret_reply_err(r, e, msg);
	}
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
	json_t *rep = NULL;
	char msg[256];
	int e;

	if ((e = wrap_keeper_secret_list(r->api, r->auth.tenant,
	         r->nsegs > 0 ? r->segs[0] : NULL, &rep, msg, sizeof(msg))) !=
	    0)
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

	if ((e = wrap_keeper_secret_del(
	         r->api, r->auth.tenant, r->segs[0], msg, sizeof(msg))) != 0)
		return secret_reply_err(r, e, msg);
	if (api_audit(r->api, r, "secret.deleted",
	        json_pack("{s:s}", "name", r->segs[0]), NULL) != 0)
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable", "the audit log is unavailable");
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}
