/* api_keys.c: API keys (admin): create (shown once), list, revoke. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "api.h"
#include "bounds.h"
#include "log.h"
#include "util.h"

static int
keys_valid_tenant(const char *t)
{
	size_t i, n = strlen(t);

	/* names starting with '_' are Petri's own (the warm pool's) */
	if (n == 0 || n > 63 || t[0] == '_')
		return 0;
	for (i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') ||
		        (t[i] >= '0' && t[i] <= '9') || t[i] == '-' ||
		        t[i] == '_'))
			return 0;
	return 1;
}

/* role, tenant (the caller's when absent) and name of a new key. */
static int
keys_parse(json_t *body, const char *own_tenant, const char **rolep,
    const char **tenantp, const char **namep, char *msg, size_t msglen)
{
	static const char *const keys[] = {"role", "tenant", "name", NULL};
	const char *role, *tenant, *name;
	json_t *x;

	if (api_valid_keys(body, keys, msg, msglen) != 0)
		return PETRI_ERR_INVAL;
	role = json_string_value(json_object_get(body, "role"));
	if (role == NULL ||
	    (strcmp(role, "admin") != 0 && strcmp(role, "agent") != 0 &&
	        strcmp(role, "auditor") != 0)) {
		snprintf(msg, msglen, "role: must be admin, agent or auditor");
		return PETRI_ERR_INVAL;
	}
	if ((tenant = json_string_value(json_object_get(body, "tenant"))) ==
	    NULL)
		tenant = own_tenant;
	if (!keys_valid_tenant(tenant)) {
		snprintf(
		    msg, msglen, "tenant: 1 to 63 characters of [a-z0-9_-]");
		return PETRI_ERR_INVAL;
	}
	x = json_object_get(body, "name");
	name = x != NULL ? json_string_value(x) : "";
	if (name == NULL || strlen(name) > 127) {
		snprintf(msg, msglen, "name: a string of at most 127 bytes");
		return PETRI_ERR_INVAL;
	}
	*rolep = role;
	*tenantp = tenant;
	*namep = name;
	return 0;
}

enum MHD_Result
api_keys_create(struct api_req *r)
{
	unsigned char rnd[KEY_TOKEN_BYTES];
	char token[2 * KEY_TOKEN_BYTES + 8], hash[65], msg[160];
	char ts[PETRI_TIME_MAX];
	struct db_key k;
	json_t *body, *ev, *ans;
	const char *role, *tenant, *name;
	int e;
	enum MHD_Result ret;

	if ((body = api_body_json(r)) == NULL)
		return MHD_YES;
	if (keys_parse(body, r->auth.tenant, &role, &tenant, &name, msg,
	        sizeof(msg)) != 0)
		goto invalid;
	memset(&k, 0, sizeof(k));
	if (petri_id_new("key_", k.id, sizeof(k.id)) != 0)
		goto invalid;
	petri_strlcpy(k.tenant, tenant, sizeof(k.tenant));
	petri_strlcpy(k.role, role, sizeof(k.role));
	petri_strlcpy(k.name, name, sizeof(k.name));
	k.created_at = petri_now_usec();
	randombytes_buf(rnd, sizeof(rnd));
	memcpy(token, "petri_", 6);
	petri_hex(rnd, sizeof(rnd), token + 6);
	sodium_memzero(rnd, sizeof(rnd));
	petri_sha256_hex(token, strlen(token), hash);
	if ((e = db_key_insert(r->api->db, &k, hash)) != 0) {
		sodium_memzero(token, sizeof(token));
		json_decref(body);
		return api_reply_err(r, e, "key registry");
	}
	ev = json_pack("{s:s, s:s, s:s, s:s}", "key", k.id, "role", role,
	    "key_tenant", tenant, "name", name);
	if (api_audit(r->api, r, "key.created", ev, NULL) != 0) {
		if (db_key_revoke(r->api->db, k.id, NULL) != 0)
			log_warn("state.db: cannot roll back key %s", k.id);
		sodium_memzero(token, sizeof(token));
		json_decref(body);
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable", "the audit log is unavailable");
	}
	petri_time_rfc3339(k.created_at, ts);
	ans = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", k.id, "role",
	    role, "tenant", tenant, "name", name, "created_at", ts, "key",
	    token);
	sodium_memzero(token, sizeof(token));
	json_decref(body);
	ret = api_reply_json(r, MHD_HTTP_CREATED, ans);
	return ret;
invalid:
	json_decref(body);
	return api_reply_error(r, 422, "invalid_request", "%s", msg);
}

enum MHD_Result
api_keys_list(struct api_req *r)
{
	json_t *list;
	int e;

	if ((e = db_key_list(r->api->db, NULL, &list)) != 0)
		return api_reply_err(r, e, "key registry");
	return api_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "keys", list));
}

enum MHD_Result
api_keys_delete(struct api_req *r)
{
	int e;

	if (!petri_id_valid(r->segs[0], "key_"))
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
		    "key %.40s not found", r->segs[0]);
	if ((e = db_key_revoke(r->api->db, r->segs[0], NULL)) != 0)
		return api_reply_err(r, e, "key");
	if (api_audit(r->api, r, "key.revoked",
	        json_pack("{s:s}", "key", r->segs[0]), NULL) != 0)
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "unavailable",
		    "the key is revoked but the audit log is "
		    "unavailable");
	return api_reply_empty(r, MHD_HTTP_NO_CONTENT);
}
