/*
 * api_admin.c: the operator's routes on the audit log (docs/api.md,
 * docs/operations.md): rotating the signing key and blob retention by
 * age.  Both are done by the keeper, which records them itself (a
 * log.key_rotated record signed by the old key; one blob.deleted record
 * before each erasure); the api adds who asked.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define ADMIN_TIMEOUT_MS 60000
#define ADMIN_RETAIN_TIMEOUT_MS 600000
#define ADMIN_RETAIN_DAYS_MAX 36500

/* POST /v1/audit/rotate-key: {} -> {seq, key_id, new_key_id, audit} */
enum MHD_Result
api_admin_rotate_key(struct api_req *r)
{
	json_t *body, *ans = NULL, *ev, *rec = NULL;
	char msg[160];
	int e;

	if ((body = api_body_json(r)) == NULL)
		return MHD_YES;
	if (json_object_size(body) != 0) {
		json_decref(body);
		return api_reply_error(
		    r, 422, "invalid_request", "the body must be {}");
	}
	json_decref(body);
	if ((e = wrap_keeper_rotate_key(
	         r->api, ADMIN_TIMEOUT_MS, &ans, msg, sizeof(msg))) != 0)
		return api_reply_err(r, e, "signing key");
	ev = json_pack("{s:O, s:O, s:O}", "rotation_seq",
	    json_object_get(ans, "seq"), "key_id",
	    json_object_get(ans, "key_id"), "new_key_id",
	    json_object_get(ans, "new_key_id"));
	if ((e = api_audit(r->api, r, "audit.key_rotation", ev, &rec)) != 0) {
		json_decref(ans);
		return api_reply_err(r, e, "audit log");
	}
	json_object_set_new(ans, "audit", rec);
	return api_reply_json(r, MHD_HTTP_OK, ans);
}

/*
 * POST /v1/audit/retention {"older_than_days": N, "reason": "..."}:
 * erases the blobs that only records older than N days name.
 */
enum MHD_Result
api_admin_retention(struct api_req *r)
{
	static const char *const keys[] = {"older_than_days", "reason", NULL};
	json_t *body, *ans = NULL, *ev, *rec = NULL;
	const char *reason;
	json_int_t days;
	char msg[160];
	int e;

	if ((body = api_body_json(r)) == NULL)
		return MHD_YES;
	if (api_valid_keys(body, keys, msg, sizeof(msg)) != 0) {
		json_decref(body);
		return api_reply_error(r, 422, "invalid_request", "%s", msg);
	}
	days = json_integer_value(json_object_get(body, "older_than_days"));
	reason = json_string_value(json_object_get(body, "reason"));
	if (!json_is_integer(json_object_get(body, "older_than_days")) ||
	    days < 1 || days > ADMIN_RETAIN_DAYS_MAX ||
	    (json_object_get(body, "reason") != NULL &&
	        (reason == NULL || strlen(reason) > 200))) {
		json_decref(body);
		return api_reply_error(r, 422, "invalid_request",
		    "older_than_days: 1 to %d; reason: a string of at most "
		    "200 bytes",
		    ADMIN_RETAIN_DAYS_MAX);
	}
	e = wrap_keeper_blob_retain(r->api,
	    petri_now_usec() - days * 86400LL * 1000000LL,
	    reason != NULL ? reason : "retention", ADMIN_RETAIN_TIMEOUT_MS,
	    &ans, msg, sizeof(msg));
	json_decref(body);
	if (e != 0)
		return api_reply_err(r, e, "retention");
	ev = json_pack("{s:I, s:O}", "older_than_days", days, "erased",
	    json_object_get(ans, "erased"));
	if ((e = api_audit(r->api, r, "audit.retention", ev, &rec)) != 0) {
		json_decref(ans);
		return api_reply_err(r, e, "audit log");
	}
	json_object_set_new(ans, "audit", rec);
	return api_reply_json(r, MHD_HTTP_OK, ans);
}

void
api_admin_record_migration(struct api *a)
{
	int from, to;

	if (!db_schema_migrated(a->db, &from, &to))
		return;
	log_info("state.db: schema migrated from %d to %d", from, to);
	if (wrap_keeper_append(a, NULL, NULL, "api.schema_migrated",
	        json_pack("{s:s, s:i, s:i}", "db", "state.db", "from", from,
	            "to", to),
	        NULL) != 0)
		log_warn("state.db: the migration was not recorded");
}
